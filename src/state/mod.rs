//! The runner's local state between runs, under `[state] dir` (default `.flows/`, git-ignored):
//! saved sessions and captured values (`state/<profile>/`), and the run history
//! (`history.jsonl`).
//!
//! Owns the files and their formats; does not run anything. The executor decides when to save
//! and restore (exec::saved_state); the CLI reads the history for `--last-failed` and
//! `flows flaky`. Nothing here is ever written under the output directory: saved sessions hold
//! cookies, and the output directory is what a nightly job uploads.

mod flakiness;
mod run_history;
mod saved_captures;
mod saved_session;
mod state_error;
mod step_baseline;

pub use flakiness::{flaky_flows, FlakyFlow};
pub use run_history::{
    HistoryEntry, HistoryFlow, HistoryStep, HistoryWriter, RunHistory, HISTORY_FILE,
};
pub use saved_captures::{CaptureStore, FlowCaptures, SavedCaptures};
pub use saved_session::{SavedCookie, SavedSession, SessionStore};
pub use state_error::StateError;
pub use step_baseline::{StepBaseline, BASELINE_RUNS};
