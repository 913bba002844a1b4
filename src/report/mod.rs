//! Reporters: consumers of the run's event stream ([`crate::events`]), as cargo-nextest's are.
//!
//! Owns every output a run leaves for people and tools: the terminal lines (`list`),
//! the progress line on a terminal (`progress`), `staging-run-report.json` (always), `junit.xml`, `ctrf-report.json`, the GitHub step summary and annotations,
//! the HTML report `index.html`, and the event log `events.jsonl`; [`Reporters`] also feeds the
//! trace writer ([`crate::trace`]), whose kept traces the reports point at. Reads events only: never the executor, the config or the
//! environment (the CLI decides colour, TTY and paths and passes them in [`ReportOptions`]).
//! Each reporter folds the events into its own `RunState` and draws its output from it.
//!
//! Driving them (the CLI):
//! ```ignore
//! let mut reporters = build_reporters(&kinds, opts);
//! executor.run(|event| reporters.on_event(&event))?; // an error cancels the run
//! reporters.finish()?; // always, even after an error or an interrupt
//! ```

mod ctrf;
mod event_log;
mod github;
mod html;
mod json;
mod junit;
mod latency;
mod progress;
pub(crate) use progress::LogWriter;
mod report_error;
mod report_options;
mod reporter_kind;
mod reporters;
mod run_state;
mod shared_writer;
mod terminal;
mod text;

pub use ctrf::{CtrfReporter, CTRF_FILE, CTRF_SPEC_VERSION};
pub use event_log::{EventLogWriter, EVENT_LOG_FILE};
pub use html::{HtmlReporter, HTML_REPORT_FILE};
pub use json::{flow_files, is_inside, report_from_event_log, seal, sha256_file, EvidenceFile};
pub use json::{
    report_schema_json, AttemptReport, BrowserReport, CriteriaTotals, CriterionReport,
    EnvironmentReport, FlowReport, HealthReport, JsonReporter, MailMessageReport, MailReport,
    NoticeReport, RealtimeFrameReport, RealtimeReport, StagingRunReport, REPORT_FILE,
    SCHEMA_VERSION,
};
pub use junit::{JunitReporter, JUNIT_FILE};
pub use latency::LatencySummary;
pub use progress::ProgressReporter;
pub use report_error::ReportError;
pub use report_options::ReportOptions;
pub use reporter_kind::{parse_reporters, ReporterKind};
pub use reporters::{build_replay_reporters, build_reporters, Reporters};
