//! One flow with its retries, and one attempt of it: the attempt races `timeouts.flow`, the
//! run timeout, a signal and a child process that dies; how the race ended becomes the flow's
//! status and reason (and, for a run timeout or a broken part, the run's [`RunEnd`]). Between
//! attempts the users' browser state is put back; after the last one the flow's criteria and
//! `FlowFinished` are emitted, and `--pause-on-failure` holds a failed flow open.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::evidence::{failure_point, redact_criterion};
use super::flow_runner::{FailedStep, FlowRunner};
use super::flows::Flows;
use super::outcome::{run_timeout_reached, RunEnd, QUIT};
use super::startup::cancelled;
use crate::config::TraceMode;
use crate::events::*;
use crate::exec::browser::BrowserSession;
use crate::exec::claims;
use crate::exec::process::ChildExit;
use crate::exec::saved_state;
use crate::exec::trace_capture::{PendingParts, TraceCapture};
use crate::exec::webserver;
use crate::flowfile::check::CheckedFlow;
use crate::flowfile::duration::format_duration;
use crate::flowfile::template::Resolved;
use crate::redact::Redactor;

/// How one attempt of a flow ended.
enum AttemptEnd {
    Finished(Result<(), String>),
    /// `timeouts.flow`.
    FlowTimeout,
    /// The run timeout.
    RunTimeout,
    /// The driver or the web server exited while the flow ran.
    ChildDied(ChildExit),
    /// A signal: SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT.
    Interrupted,
}

/// What one attempt left: the flow's status and reason if it stays, and what the run needs.
struct Attempt {
    status: FlowStatus,
    reason: Option<String>,
    /// The run must end after this flow (run timeout, infrastructure, `q`).
    end: Option<RunEnd>,
    failed_step: Option<FailedStep>,
    criteria: Vec<Criterion>,
    /// A step failed because of the browser or driver.
    infra: bool,
    /// Trace parts still on their way to disk (see [`Flows::settle_traces`]).
    parts: Option<PendingParts>,
}

impl Flows<'_, '_> {
    /// Runs `flow`, retrying a failed attempt up to `--retries` times. Returns its final status
    /// and, when the run must end after it, why.
    pub(super) async fn run_flow(&mut self, flow: &CheckedFlow) -> (FlowStatus, Option<RunEnd>) {
        let id = flow.ast.id.value.clone();
        let reset = if self.opts.retries > 0 {
            Some(
                saved_state::AttemptReset::capture(
                    self.config,
                    flow,
                    &self.res.sessions,
                    &self.restore,
                    self.base,
                    self.redactor,
                )
                .await,
            )
        } else {
            None
        };
        // A flow with its own browser settings runs in its own session, opened with them on
        // first use and closed after each attempt; the user's shared session waits aside.
        let own_session_user = flow
            .ast
            .browser
            .as_ref()
            .and(flow.ast.user.as_ref())
            .map(|u| u.value.clone());
        let mut attempt = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                if let Some(reset) = &reset {
                    reset
                        .apply(&mut self.res.sessions, &mut self.restore, self.base)
                        .await;
                }
            }
            let set_aside = own_session_user
                .as_ref()
                .and_then(|u| self.res.sessions.remove(u).map(|s| (u.clone(), s)));
            let started = Instant::now();
            let mut a = self.attempt(flow, attempt).await;
            self.infra_failure |= a.infra;
            let infra_stop = matches!(a.end, Some(RunEnd::Infrastructure(_)));
            let retry = a.status == FlowStatus::Failed
                && attempt <= self.opts.retries
                && !*self.opts.cancel.borrow()
                && !infra_stop;
            // The last frames of a passed flow settle while the next flow runs (a wait of about
            // a frame's lag per flow otherwise). A failure's trace is written before its
            // result is shown (the terminal names it with its size); a page closed after the
            // attempt (a flow with its own session) or a retry on the same pages waits here.
            let mut trace_pending = false;
            if let Some(parts) = a.parts.take().filter(|p| !p.is_empty()) {
                let defer = a.status == FlowStatus::Passed
                    && !retry
                    && own_session_user.is_none()
                    && a.end.is_none();
                if defer {
                    self.traces_settling
                        .push((id.clone(), attempt, tokio::spawn(parts.settle())));
                    trace_pending = true;
                } else {
                    parts.settle().await;
                }
            }
            if retry {
                put_back_shared_session(
                    &mut self.res.sessions,
                    own_session_user.as_deref(),
                    set_aside,
                )
                .await;
                self.em.emit(RunEventKind::Notice {
                    flow: Some(id.clone()),
                    message: format!("attempt {attempt} failed; retrying"),
                });
                continue;
            }
            // A retried attempt's criteria went with it; these are the flow's.
            for criterion in claims::settle(a.criteria, a.status, a.reason.as_deref()) {
                self.em.emit(RunEventKind::CriterionRecorded {
                    flow: Some(id.clone()),
                    criterion: redact_criterion(self.redactor, criterion),
                });
            }
            self.em.emit(RunEventKind::FlowFinished {
                flow: id.clone(),
                status: a.status,
                attempt,
                duration_ms: started.elapsed().as_millis() as u64,
                reason: a.reason.clone().map(|r| self.redactor.redact(&r)),
                trace_pending,
            });
            if a.status == FlowStatus::Failed && self.opts.pause_on_failure {
                self.pause_on_failure(flow, a.failed_step, a.reason.as_deref())
                    .await;
            }
            put_back_shared_session(
                &mut self.res.sessions,
                own_session_user.as_deref(),
                set_aside,
            )
            .await;
            return (a.status, a.end);
        }
    }

    /// `--pause-on-failure`: keeps everything running until the person is done (or a signal).
    async fn pause_on_failure(
        &mut self,
        flow: &CheckedFlow,
        failed_step: Option<FailedStep>,
        reason: Option<&str>,
    ) {
        let Some(i) = self.interaction.as_mut() else {
            return;
        };
        let point = failure_point(
            flow,
            failed_step,
            reason.unwrap_or("failed"),
            &self.res.sessions,
            &self.opts.output_dir,
            self.redactor,
        )
        .await;
        tokio::select! {
            _ = i.paused(&point) => {}
            _ = cancelled(&mut self.opts.cancel) => {}
        }
    }

    /// One attempt of `flow`, raced against its deadlines, a signal and a dying child.
    async fn attempt(&mut self, flow: &CheckedFlow, attempt: u32) -> Attempt {
        let id = flow.ast.id.value.clone();
        self.vars.clear_flow(&id);
        if let Some(row) = &flow.row {
            for (k, v) in &row.values {
                self.vars
                    .set_capture(&id, &format!("row.{k}"), Resolved::plain(v.clone()));
            }
        }
        self.em.emit(RunEventKind::FlowStarted {
            flow: id.clone(),
            attempt,
            worker: self.worker,
        });
        let config = self.config;
        let mut runner = FlowRunner {
            config,
            flow,
            base_url: self.base,
            output_dir: &self.opts.output_dir,
            logs_dir: self.logs_dir,
            http: self.http,
            redactor: self.redactor,
            vars: &mut self.vars,
            res: &mut *self.res,
            em: &mut *self.em,
            infra_failure: false,
            step_start: Vec::new(),
            subscriptions: HashMap::new(),
            capture: config
                .trace
                .records(attempt)
                .then(|| TraceCapture::new(config.trace == TraceMode::On)),
            restore: &mut self.restore,
            interaction: &mut self.interaction,
            stepping: &mut self.stepping,
            slow_mo: self.opts.slow_mo,
            baseline: &self.opts.step_baseline,
            attempt,
            failed_step: None,
            quit: false,
            current_step: None,
            criteria: Vec::new(),
            metrics_at_start: Default::default(),
        };
        let flow_deadline = config.timeouts.flow;
        // While a person steps through a flow, its deadline (and the run's) would only
        // measure them.
        let debugging = *runner.stepping;
        let run_deadline = self.run_deadline.filter(|_| !debugging);
        let exits = &mut self.exits;
        let result = race(
            runner.run(),
            (!debugging).then_some(flow_deadline),
            run_deadline,
            &mut self.opts.cancel,
            exits,
        )
        .await;
        let infra = runner.infra_failure;
        let parts = runner.capture.as_mut().map(TraceCapture::close);
        let (status, reason, end) = judge(
            result,
            attempt,
            infra,
            &mut runner,
            exits,
            self.logs_dir,
            self.redactor,
        )
        .await;
        let failed_step = runner.failed_step.take();
        let criteria = std::mem::take(&mut runner.criteria);
        // `q` in the debugger: the flow did not run to its end, and neither will the run.
        let (status, reason, end) = if runner.quit {
            (FlowStatus::NotRun, Some(QUIT.into()), Some(RunEnd::Quit))
        } else {
            (status, reason, end)
        };
        Attempt {
            status,
            reason,
            end,
            failed_step,
            criteria,
            infra,
            parts,
        }
    }
}

/// Races an attempt against `timeouts.flow` (`None` while debugging), the run timeout, a
/// signal and a child that dies.
async fn race(
    attempt_run: impl std::future::Future<Output = Result<(), String>>,
    flow_deadline: Option<Duration>,
    run_deadline: Option<tokio::time::Instant>,
    cancel: &mut watch::Receiver<bool>,
    exits: &mut watch::Receiver<Vec<ChildExit>>,
) -> AttemptEnd {
    let run_timeout = async move {
        match run_deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending::<()>().await,
        }
    };
    let Some(flow_deadline) = flow_deadline else {
        tokio::select! {
            r = attempt_run => return AttemptEnd::Finished(r),
            _ = cancelled(cancel) => return AttemptEnd::Interrupted,
            exit = child_died(exits) => return AttemptEnd::ChildDied(exit),
        }
    };
    tokio::select! {
        r = tokio::time::timeout(flow_deadline, attempt_run) => match r {
            Ok(r) => AttemptEnd::Finished(r),
            Err(_) => AttemptEnd::FlowTimeout,
        },
        _ = cancelled(cancel) => AttemptEnd::Interrupted,
        _ = run_timeout => AttemptEnd::RunTimeout,
        exit = child_died(exits) => AttemptEnd::ChildDied(exit),
    }
}

/// The flow's status and reason after an attempt ended as `result`, and the run's end when
/// the run cannot go on (run timeout, a broken part). A timeout or a dying child fails the
/// step that was running (`cut_short`).
async fn judge(
    result: AttemptEnd,
    attempt: u32,
    infra: bool,
    runner: &mut FlowRunner<'_, '_>,
    exits: &mut watch::Receiver<Vec<ChildExit>>,
    logs_dir: &Path,
    redactor: &Redactor,
) -> (FlowStatus, Option<String>, Option<RunEnd>) {
    match result {
        AttemptEnd::Finished(Ok(())) => {
            let passed = if attempt > 1 {
                FlowStatus::Flaky
            } else {
                FlowStatus::Passed
            };
            (passed, None, None)
        }
        AttemptEnd::Finished(Err(msg)) if infra => {
            // A step saw the browser or driver fail. If a child died, that is the reason
            // (its exit may be reported a moment after the refused connection); else the
            // session that failed is.
            let exit = tokio::time::timeout(Duration::from_secs(1), child_died(exits))
                .await
                .ok();
            let why = match (exit, &runner.failed_step) {
                (Some(exit), _) => webserver::exit_reason(&exit, logs_dir, redactor),
                (None, Some(step)) => format!(
                    "the browser session of {} failed: {}",
                    step.actor.as_deref().unwrap_or("the flow's user"),
                    step.message
                ),
                (None, None) => msg.clone(),
            };
            let reason = format!("{why} — {msg}");
            (
                FlowStatus::Failed,
                Some(reason),
                Some(RunEnd::Infrastructure(why)),
            )
        }
        AttemptEnd::Finished(Err(msg)) => (FlowStatus::Failed, Some(msg), None),
        AttemptEnd::ChildDied(exit) => {
            let why = webserver::exit_reason(&exit, logs_dir, redactor);
            let at = runner.cut_short(&why).await;
            (
                FlowStatus::Failed,
                Some(at.unwrap_or_else(|| why.clone())),
                Some(RunEnd::Infrastructure(why)),
            )
        }
        AttemptEnd::FlowTimeout => {
            let why = format!(
                "the flow did not finish within timeouts.flow ({})",
                format_duration(runner.config.timeouts.flow)
            );
            let at = runner.cut_short(&why).await;
            (FlowStatus::Failed, Some(at.unwrap_or(why)), None)
        }
        AttemptEnd::RunTimeout => {
            let limit = runner.config.timeouts.run.unwrap_or_default();
            let why = format!(
                "the run timeout ({}) was reached while this step ran",
                format_duration(limit)
            );
            let at = runner.cut_short(&why).await;
            (
                FlowStatus::TimedOut,
                Some(at.unwrap_or_else(|| run_timeout_reached(limit))),
                Some(RunEnd::RunTimeout(limit)),
            )
        }
        AttemptEnd::Interrupted => (
            FlowStatus::NotRun,
            Some("interrupted while running".into()),
            None,
        ),
    }
}

/// The first child (driver, web server) that exited without being asked to.
async fn child_died(rx: &mut watch::Receiver<Vec<ChildExit>>) -> ChildExit {
    loop {
        if let Some(exit) = rx.borrow_and_update().first().cloned() {
            return exit;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// After an attempt of a flow with its own browser settings: its own session is closed and the
/// user's shared session (set aside before the attempt) is back for the flows after it.
async fn put_back_shared_session(
    sessions: &mut HashMap<String, BrowserSession>,
    own_session_user: Option<&str>,
    set_aside: Option<(String, BrowserSession)>,
) {
    let Some(user) = own_session_user else {
        return;
    };
    if let Some(own) = sessions.remove(user) {
        own.close().await;
    }
    if let Some((user, shared)) = set_aside {
        sessions.insert(user, shared);
    }
}
