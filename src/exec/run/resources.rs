//! What a run holds from start to end: the event emitter and the processes and sessions it
//! started (`Resources`), and `finish`, the one way a run ends (unstarted flows reported
//! `not_run`, everything stopped, then `RunFinished`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::outcome::{self, Decision};
use super::{Emit, RunResult};
use crate::artifact;
use crate::events::*;
use crate::exec::browser::{BrowserSession, Driver};
use crate::exec::webserver::RunningWebServer;
use crate::redact::Redactor;

pub(super) struct Emitter<'a> {
    pub(super) sink: Emit<'a>,
    pub(super) started: Instant,
    pub(super) failed: Option<String>,
}

impl Emitter<'_> {
    pub(super) fn emit(&mut self, kind: RunEventKind) {
        let event = RunEvent {
            at: OffsetDateTime::now_utc(),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
            kind,
        };
        if let Err(e) = (self.sink)(&event) {
            if self.failed.is_none() {
                tracing::error!("a reporter failed: {e:#}");
                self.failed = Some(format!("{e:#}"));
            }
        }
    }
}

/// Everything started for this run, stopped in `shutdown` whatever happened.
pub(super) struct Resources {
    pub(super) web_server: Option<RunningWebServer>,
    pub(super) driver: Option<Driver>,
    pub(super) sessions: HashMap<String, BrowserSession>,
    /// The run's mail sources: what they learnt serves every step (and their event streams
    /// stay open).
    /// stay open). Shared by the workers of a run.
    pub(super) mail_sources: std::sync::Arc<crate::mail::MailSources>,
    /// Logs of the processes we started, scrubbed of secrets once they have stopped.
    pub(super) logs_dir: PathBuf,
    pub(super) redactor: Redactor,
}

impl Resources {
    /// `hurry`: a signal stopped the run (a container's stop grace is often 10 s): sessions
    /// get a second to close before their driver's process group is killed anyway.
    pub(super) async fn shutdown(&mut self, hurry: bool) {
        let closing = futures_util::future::join_all(self.sessions.drain().map(|(_, s)| s.close()));
        if hurry {
            let _ = tokio::time::timeout(Duration::from_secs(1), closing).await;
        } else {
            closing.await;
        }
        if let Some(mut d) = self.driver.take() {
            d.stop(hurry).await;
        }
        if let Some(ws) = self.web_server.take() {
            ws.stop(hurry).await;
        }
        redact_logs(&self.logs_dir, &self.redactor);
    }
}

/// Child processes write their own logs; once they have stopped, every secret the run learned
/// (OTPs typed, magic links opened) is scrubbed from them.
fn redact_logs(dir: &Path, redactor: &Redactor) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()).filter(|p| p.is_file()) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let clean = redactor.redact(&text);
        if clean != text {
            if let Err(e) = artifact::write_atomic(&path, clean.as_bytes()) {
                tracing::error!("cannot scrub {}: {e}", path.display());
            }
        }
    }
}
/// Ends the run as `decision` says: the planned flows that did not finish are `not_run` (with
/// the decision's reason), everything started is stopped, and `RunFinished` is emitted last.
pub(super) async fn finish(
    em: &mut Emitter<'_>,
    res: &mut Resources,
    planned: &[PlannedFlow],
    finished: &BTreeSet<String>,
    mut totals: Totals,
    decision: &Decision,
) -> RunResult {
    let (outcome, why) = (decision.outcome, decision.why.as_str());
    for f in planned.iter().filter(|f| !finished.contains(&f.id)) {
        em.emit(RunEventKind::FlowFinished {
            flow: f.id.clone(),
            status: FlowStatus::NotRun,
            attempt: 0,
            duration_ms: 0,
            reason: Some(if why.is_empty() {
                "not run".into()
            } else {
                why.to_owned()
            }),
            trace_pending: false,
        });
        totals.add(FlowStatus::NotRun);
    }
    // Stop everything before the final event, so "finished" means nothing is left running.
    res.shutdown(outcome == RunOutcome::Interrupted).await;
    em.emit(RunEventKind::RunFinished {
        outcome,
        totals,
        duration_ms: em.started.elapsed().as_millis() as u64,
        reason: (outcome != RunOutcome::Completed && !why.is_empty()).then(|| why.to_owned()),
    });
    let code = outcome::final_code(decision.code, em.failed.is_some());
    RunResult {
        exit_code: code,
        outcome,
        totals,
    }
}

/// Ends a run that stopped before its first flow (`end` decides how).
pub(super) async fn end_early(
    em: &mut Emitter<'_>,
    res: &mut Resources,
    planned: &[PlannedFlow],
    end: outcome::RunEnd,
) -> RunResult {
    let decision = outcome::decide(&end, &outcome::RunFacts::default());
    finish(
        em,
        res,
        planned,
        &BTreeSet::new(),
        Totals::default(),
        &decision,
    )
    .await
}

pub(super) fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}
