//! The local run history: `<state dir>/history.jsonl`, one JSON line per run, append-only.
//!
//! [`HistoryWriter`] is an event consumer like any reporter: it folds the run's events into a
//! [`HistoryEntry`] and appends it when the run finishes (or, if the run never says so, when
//! the reporters are finished). `--last-failed` reads the last entry of the same suite;
//! `flows flaky` reads the last N.
//!
//! A line:
//! `{"version":1,"run_id":"…","started_at":"…","finished_at":"…","suite":"/abs/flows/flows.toml",
//!   "profile":"local","base_url":"…","outcome":"completed","totals":{…},
//!   "flows":[{"id":"otp-login","status":"passed","attempts":1,
//!   "steps":[{"index":0,"kind":"goto","ms":84},…]},…]}`

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use super::saved_session::private_dir;
use super::StateError;
use crate::events::{
    EventSink, FlowStatus, RunEvent, RunEventKind, RunOutcome, StepStatus, Totals,
};

pub const HISTORY_FILE: &str = "history.jsonl";
const HISTORY_FORMAT_VERSION: u32 = 1;

/// One run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub version: u32,
    pub run_id: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The suite config, as an absolute path: runs of other suites sharing the state dir are
    /// told apart by it.
    pub suite: String,
    pub profile: String,
    pub base_url: String,
    pub outcome: RunOutcome,
    pub totals: Totals,
    /// Every planned flow, in plan order.
    pub flows: Vec<HistoryFlow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryFlow {
    pub id: String,
    pub status: FlowStatus,
    pub attempts: u32,
    /// How long each step of the last attempt took, for the steps that passed (the baseline of
    /// slow-step flags, see `StepBaseline`). Absent in lines written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<HistoryStep>,
}

/// One passed step of a flow's last attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryStep {
    /// 0-based position in the flow (its group steps expanded).
    pub index: usize,
    pub kind: String,
    pub ms: u64,
}

impl HistoryEntry {
    /// Flows that ended `failed`, in plan order.
    pub fn failed(&self) -> Vec<&str> {
        self.flows
            .iter()
            .filter(|f| matches!(f.status, FlowStatus::Failed | FlowStatus::TimedOut))
            .map(|f| f.id.as_str())
            .collect()
    }
}

/// The history file of a state dir.
#[derive(Debug, Clone)]
pub struct RunHistory {
    path: PathBuf,
}

impl RunHistory {
    pub fn new(state_dir: &Path) -> RunHistory {
        RunHistory {
            path: state_dir.join(HISTORY_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line with a single write (O_APPEND), so concurrent runs never interleave.
    pub fn append(&self, entry: &HistoryEntry) -> Result<(), StateError> {
        let write_err = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            if !dir.exists() {
                private_dir(dir).map_err(write_err)?;
            }
        }
        let mut line =
            serde_json::to_vec(entry).map_err(|e| write_err(std::io::Error::other(e)))?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(write_err)?;
        f.write_all(&line).map_err(write_err)
    }

    /// Every entry, oldest first. Lines that do not parse (a newer format, a torn write) are
    /// skipped.
    pub fn read(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str::<HistoryEntry>(l).ok())
            .filter(|e| e.version == HISTORY_FORMAT_VERSION)
            .collect())
    }

    /// The last `n` runs of `suite`, oldest first.
    pub fn recent(&self, suite: &str, n: usize) -> Result<Vec<HistoryEntry>, StateError> {
        let mut runs: Vec<HistoryEntry> = self
            .read()?
            .into_iter()
            .filter(|e| e.suite == suite)
            .collect();
        let skip = runs.len().saturating_sub(n);
        Ok(runs.split_off(skip))
    }

    /// The last run of `suite`.
    pub fn last(&self, suite: &str) -> Result<Option<HistoryEntry>, StateError> {
        Ok(self.recent(suite, 1)?.pop())
    }
}

/// The event consumer that appends a run to the history.
pub struct HistoryWriter {
    history: RunHistory,
    suite: String,
    entry: Option<HistoryEntry>,
    last_at: Option<String>,
    written: bool,
}

impl HistoryWriter {
    pub fn new(history: RunHistory, suite: impl Into<String>) -> HistoryWriter {
        HistoryWriter {
            history,
            suite: suite.into(),
            entry: None,
            last_at: None,
            written: false,
        }
    }

    fn flow_mut(&mut self, id: &str) -> Option<&mut HistoryFlow> {
        self.entry
            .as_mut()
            .and_then(|e| e.flows.iter_mut().find(|f| f.id == id))
    }

    fn write(&mut self, outcome: RunOutcome) {
        if self.written {
            return;
        }
        let Some(mut entry) = self.entry.clone() else {
            return;
        };
        self.written = true;
        entry.outcome = outcome;
        entry.finished_at = self.last_at.clone();
        let mut totals = Totals::default();
        for f in &entry.flows {
            totals.add(f.status);
        }
        entry.totals = totals;
        // The history is a convenience: failing to write it must not fail the run.
        if let Err(e) = self.history.append(&entry) {
            tracing::warn!("run history not updated: {e}");
        }
    }
}

impl EventSink for HistoryWriter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        self.last_at = event.at.format(&Rfc3339).ok();
        match &event.kind {
            RunEventKind::RunStarted {
                run_id,
                profile,
                base_url,
                flows,
                ..
            } => {
                self.entry = Some(HistoryEntry {
                    version: HISTORY_FORMAT_VERSION,
                    run_id: run_id.clone(),
                    started_at: self.last_at.clone(),
                    finished_at: None,
                    suite: self.suite.clone(),
                    profile: profile.clone(),
                    base_url: base_url.clone(),
                    outcome: RunOutcome::Interrupted,
                    totals: Totals::default(),
                    flows: flows
                        .iter()
                        .map(|f| HistoryFlow {
                            id: f.id.clone(),
                            status: FlowStatus::NotRun,
                            attempts: 0,
                            steps: Vec::new(),
                        })
                        .collect(),
                });
            }
            RunEventKind::FlowFinished {
                flow,
                status,
                attempt,
                ..
            } => {
                if let Some(entry) = self.entry.as_mut() {
                    match entry.flows.iter_mut().find(|f| &f.id == flow) {
                        Some(f) => {
                            f.status = *status;
                            f.attempts = *attempt;
                        }
                        None => entry.flows.push(HistoryFlow {
                            id: flow.clone(),
                            status: *status,
                            attempts: *attempt,
                            steps: Vec::new(),
                        }),
                    }
                }
            }
            // A retry starts the flow's steps over: the last attempt's are kept.
            RunEventKind::FlowStarted { flow, .. } => {
                if let Some(f) = self.flow_mut(flow) {
                    f.steps.clear();
                }
            }
            RunEventKind::StepFinished { flow, step } if step.status == StepStatus::Passed => {
                if let Some(f) = self.flow_mut(flow) {
                    f.steps.retain(|s| s.index != step.index);
                    f.steps.push(HistoryStep {
                        index: step.index,
                        kind: step.kind.clone(),
                        ms: step.duration_ms,
                    });
                }
            }
            RunEventKind::RunFinished { outcome, .. } => self.write(*outcome),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.write(RunOutcome::Interrupted);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::PlannedFlow;

    fn event(kind: RunEventKind) -> RunEvent {
        RunEvent {
            at: time::OffsetDateTime::UNIX_EPOCH,
            elapsed_ms: 0,
            kind,
        }
    }

    fn run(writer: &mut HistoryWriter, id: &str, statuses: &[(&str, FlowStatus)]) {
        let flows = statuses
            .iter()
            .map(|(f, _)| PlannedFlow {
                id: (*f).to_owned(),
                title: String::new(),
                file: PathBuf::new(),
                user: None,
                needs: vec![],
                tags: vec![],
            })
            .collect();
        writer
            .on_event(&event(RunEventKind::RunStarted {
                run_id: id.into(),
                profile: "local".into(),
                base_url: "http://x".into(),
                runner_version: "0".into(),
                output_dir: PathBuf::new(),
                flows,
                trace_mode: "off".into(),
                scope: None,
            }))
            .expect("event");
        for (f, s) in statuses {
            writer
                .on_event(&event(RunEventKind::FlowFinished {
                    trace_pending: false,
                    flow: (*f).into(),
                    status: *s,
                    attempt: 1,
                    duration_ms: 0,
                    reason: None,
                }))
                .expect("event");
        }
        writer
            .on_event(&event(RunEventKind::RunFinished {
                reason: None,
                outcome: RunOutcome::Completed,
                totals: Totals::default(),
                duration_ms: 0,
            }))
            .expect("event");
        writer.finish().expect("finish");
    }

    #[test]
    fn appends_one_line_per_run_and_reads_the_suites_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let history = RunHistory::new(&dir.path().join(".flows"));
        let mut w = HistoryWriter::new(history.clone(), "/a/flows.toml");
        run(
            &mut w,
            "r1",
            &[("a", FlowStatus::Failed), ("b", FlowStatus::Passed)],
        );
        let mut w = HistoryWriter::new(history.clone(), "/other/flows.toml");
        run(&mut w, "r2", &[("a", FlowStatus::Passed)]);
        let text = std::fs::read_to_string(history.path()).expect("read");
        assert_eq!(text.lines().count(), 2);
        let last = history.last("/a/flows.toml").expect("read").expect("a run");
        assert_eq!(last.run_id, "r1");
        assert_eq!(last.failed(), vec!["a"]);
        assert_eq!(last.totals.failed, 1);
        assert_eq!(last.totals.passed, 1);
        assert_eq!(
            history.recent("/other/flows.toml", 5).expect("read").len(),
            1
        );
        assert!(history.last("/none").expect("read").is_none());
    }
}
