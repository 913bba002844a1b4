//! The executor's questions to the person at the terminal: `--debug` (stop before each step)
//! and `--pause-on-failure` (keep everything running after a failure until they say so).
//!
//! The executor never prints for people; it hands these points to an [`Interaction`] that the
//! CLI implements on the terminal (`cli::console`), and acts on the answer.

use std::path::PathBuf;

use futures_util::future::BoxFuture;

use crate::events::StepRecord;

/// What the person asked for at a `--debug` prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugCommand {
    /// Run this step and stop before the next one.
    Step,
    /// Run the rest without stopping.
    Continue,
    /// Save a screenshot of the acting user's page now.
    Screenshot,
    /// Show what a locator (a YAML inline map, `{ role: button, name: Save }`) matches now.
    Locator(String),
    /// Stop the run (the rest is `not_run`).
    Quit,
}

/// Where a `--debug` run stopped: before this step.
#[derive(Debug, Clone)]
pub struct StepPoint {
    pub flow: String,
    pub attempt: u32,
    /// 0-based.
    pub index: usize,
    pub total: usize,
    pub file: PathBuf,
    pub line: u32,
    /// The step's line in the flow file, as written.
    pub source: String,
    /// Whose browser the step acts in.
    pub user: Option<String>,
}

/// A failed flow, kept open by `--pause-on-failure`.
#[derive(Debug, Clone)]
pub struct FailurePoint {
    pub flow: String,
    pub file: PathBuf,
    /// The failing step: 0-based index, line, its source line.
    pub step: Option<(usize, u32, String)>,
    /// What failed (expected vs found), redacted.
    pub error: String,
    pub screenshot: Option<PathBuf>,
    pub page_html: Option<PathBuf>,
    /// `<run>/<flow>/trace.html` when the trace of this attempt is kept.
    pub trace: Option<PathBuf>,
    /// The acting user's page when the flow failed (redacted).
    pub page_url: Option<String>,
    pub user: Option<String>,
}

/// The terminal side of `--debug` and `--pause-on-failure`.
pub trait Interaction: Send {
    /// Before a step: what to do (asked again after `Screenshot` and `Locator`).
    fn before_step<'a>(&'a mut self, at: &'a StepPoint) -> BoxFuture<'a, DebugCommand>;
    /// An answer to show (a screenshot path, what a locator matched).
    fn tell(&mut self, text: &str);
    /// `--debug`: how the step just run went, so the next prompt follows its result.
    fn step_finished(&mut self, step: &StepRecord);
    /// A flow failed: say what and where, and return when the person wants the run to go on.
    fn paused<'a>(&'a mut self, at: &'a FailurePoint) -> BoxFuture<'a, ()>;
}
