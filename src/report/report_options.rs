//! What the CLI decides for the reporters: where files go, colour, TTY, verbosity.

use std::io::Write;
use std::path::PathBuf;

use crate::redact::Redactor;

/// Options for [`super::build_reporters`]. The CLI fills them in; reporters never look at the
/// environment or the terminal themselves, so tests can drive them with a buffer.
pub struct ReportOptions {
    /// The run's output directory (`artifacts/<run>/`): every report file is written here.
    pub output_dir: PathBuf,
    /// Colour the terminal output (the CLI decides from the TTY, `NO_COLOR` and `CI`).
    pub color: bool,
    /// The writer is a terminal: keep a live line showing the running flows.
    pub is_tty: bool,
    /// Draw the progress line (flows done/total, flow and step, elapsed) on stderr; the CLI
    /// asks for it when stdout and stderr are terminals and `CI` is unset. It replaces the
    /// terminal reporter's own live line.
    pub progress: bool,
    /// Print every step of every flow, passing criteria and browsers too.
    pub verbose: bool,
    /// `$GITHUB_STEP_SUMMARY`, for the `github` reporter.
    pub github_step_summary: Option<PathBuf>,
    /// Where the terminal lines (and GitHub annotations) go: stdout in production, a buffer in
    /// tests.
    pub writer: Box<dyn Write + Send>,
    /// The run's redactor (the executor's): what is printed is redacted again as it is
    /// printed, and when the run ends every file in `output_dir` is redacted with every secret
    /// the run learned ([`Redactor::redact_tree`]), so artifacts written before a secret became
    /// known do not keep it.
    pub redactor: Redactor,
}

impl ReportOptions {
    /// Plain output (no colour, no TTY, not verbose, no step summary) to `writer`.
    pub fn new(output_dir: impl Into<PathBuf>, writer: Box<dyn Write + Send>) -> Self {
        Self {
            output_dir: output_dir.into(),
            color: false,
            is_tty: false,
            progress: false,
            verbose: false,
            github_step_summary: None,
            writer,
            redactor: Redactor::new(),
        }
    }
}
