//! The flow loop: asks the [`Schedule`] for the next flow, stops before it when the run must
//! end (a signal, a reporter that failed, a child that died, the run timeout), runs it with its
//! retries (`attempt.rs`), saves its users' sessions when it passed, and keeps the tally that
//! decides the run's outcome. Returns why the loop ended as a [`RunEnd`].

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::outcome::{RunEnd, RunFacts};
use super::resources::{Emitter, Resources};
use super::schedule::{Handout, Next, Schedule};
use super::RunOptions;
use crate::config::Config;
use crate::events::*;
use crate::exec::interaction::Interaction;
use crate::exec::process::{unexpected_exits, ChildExit};
use crate::exec::saved_state::{Preflight, SessionSaver};
use crate::exec::vars::Vars;
use crate::flowfile::check::{CheckedFlow, Suite};
use crate::flowfile::template::Resolved;
use crate::net::Http;
use crate::redact::Redactor;
use crate::state::SavedSession;

/// Everything the flows of a run share, and the tally of how they went.
pub(super) struct Flows<'a, 'e> {
    pub(super) config: &'a Config,
    pub(super) suite: &'a Suite,
    pub(super) opts: &'a mut RunOptions,
    pub(super) redactor: &'a Redactor,
    pub(super) em: &'a mut Emitter<'e>,
    pub(super) http: &'a Http,
    pub(super) res: &'a mut Resources,
    pub(super) base: &'a str,
    pub(super) logs_dir: &'a Path,
    pub(super) vars: Vars,
    /// Users whose browser starts from a saved session (taken on first use).
    pub(super) restore: HashMap<String, SavedSession>,
    pub(super) saver: Option<SessionSaver>,
    /// The person at the terminal (`--debug`, `--pause-on-failure`).
    pub(super) interaction: Option<Box<dyn Interaction>>,
    /// `--debug` and not yet told to continue: stop before each step.
    pub(super) stepping: bool,
    /// The run timeout counts from the start of the run.
    pub(super) run_deadline: Option<tokio::time::Instant>,
    /// The driver or the web server dying is noticed when it happens, not at the next command.
    pub(super) exits: watch::Receiver<Vec<ChildExit>>,
    /// How each finished flow went, by id (what `needs` asks).
    pub(super) done: HashMap<String, FlowStatus>,
    /// Flows reported finished (the rest are `not_run` at the end).
    pub(super) finished: BTreeSet<String>,
    pub(super) totals: Totals,
    /// Some flow failed because of the infrastructure.
    pub(super) infra_failure: bool,
    /// Flows that failed after their last retry (for `--max-failures`).
    pub(super) failures: u32,
    /// Which worker these flows run on (`--workers` above 1), for the events.
    pub(super) worker: Option<u32>,
    /// Finished flows whose last trace frames are still settling: flow, attempt, the wait.
    pub(super) traces_settling: Vec<(String, u32, tokio::task::JoinHandle<()>)>,
}

impl<'a, 'e> Flows<'a, 'e> {
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of a run the flows share, handed over once"
    )]
    pub(super) fn new(
        config: &'a Config,
        suite: &'a Suite,
        opts: &'a mut RunOptions,
        redactor: &'a Redactor,
        em: &'a mut Emitter<'e>,
        http: &'a Http,
        res: &'a mut Resources,
        base: &'a str,
        logs_dir: &'a Path,
        pre: &Preflight,
    ) -> Flows<'a, 'e> {
        let now = OffsetDateTime::now_utc();
        let run_date = format!(
            "{:04}-{:02}-{:02}",
            now.year(),
            u8::from(now.month()),
            now.day()
        );
        let mut vars = Vars::new(config, base, &opts.run_id, &run_date);
        vars.register_secrets(redactor);
        for (flow, var, value) in &pre.captures {
            vars.set_capture(
                flow,
                var,
                Resolved {
                    value: value.clone(),
                    secret: false,
                },
            );
        }
        let restore = pre.restore.clone();
        let mut saver = SessionSaver::new(config, base);
        if let Some(saver) = saver.as_mut() {
            for saved in restore.values() {
                saver.seed(saved);
            }
        }
        let interaction = opts.interaction.take();
        let stepping = opts.debug && interaction.is_some();
        let run_deadline = config
            .timeouts
            .run
            .map(|d| tokio::time::Instant::from_std(em.started) + d);
        Flows {
            config,
            suite,
            opts,
            redactor,
            em,
            http,
            res,
            base,
            logs_dir,
            vars,
            restore,
            saver,
            interaction,
            stepping,
            run_deadline,
            exits: unexpected_exits(),
            done: HashMap::new(),
            finished: BTreeSet::new(),
            totals: Totals::default(),
            infra_failure: false,
            failures: 0,
            worker: None,
            traces_settling: Vec::new(),
        }
    }

    /// Says `TraceSettled` for each finished flow whose trace parts are on disk; with
    /// `wait_all` (the end of the run), waits for the rest first.
    pub(super) async fn settle_traces(&mut self, wait_all: bool) {
        let settling = std::mem::take(&mut self.traces_settling);
        for (flow, attempt, wait) in settling {
            if !wait_all && !wait.is_finished() {
                self.traces_settling.push((flow, attempt, wait));
                continue;
            }
            let _ = wait.await;
            self.em.emit(RunEventKind::TraceSettled { flow, attempt });
        }
    }

    /// Runs flows one at a time until the schedule has none left or the run must end.
    pub(super) async fn run_all(&mut self, schedule: &mut dyn Schedule) -> RunEnd {
        let end = self.run_each(schedule).await;
        self.settle_traces(true).await;
        end
    }

    async fn run_each(&mut self, schedule: &mut dyn Schedule) -> RunEnd {
        // One worker: every need of the next flow has finished, so the schedule never waits.
        while let Handout::Run(next) = schedule.next(&self.done) {
            self.settle_traces(false).await;
            if let Some(end) = self.must_end() {
                return end;
            }
            let (status, end) = self.run_scheduled(next).await;
            if let Some(end) = end {
                return end;
            }
            if status == FlowStatus::Failed {
                self.failures += 1;
                if let Some(limit) = self.config.max_failures.filter(|&n| self.failures >= n) {
                    return RunEnd::MaxFailures(limit);
                }
            }
        }
        RunEnd::Completed
    }

    /// One flow the schedule handed out: skipped with its reason, or run with its retries,
    /// then tallied. Returns its status and, when the run must end after it, why.
    pub(super) async fn run_scheduled(&mut self, next: Next) -> (FlowStatus, Option<RunEnd>) {
        let Next { flow, blocked } = next;
        let suite = self.suite;
        let flow = &suite.flows[flow];
        let id = flow.ast.id.value.clone();
        if let Some(reason) = blocked {
            self.em.emit(RunEventKind::FlowFinished {
                flow: id.clone(),
                status: FlowStatus::Skipped,
                attempt: 0,
                duration_ms: 0,
                reason: Some(reason),
                trace_pending: false,
            });
            self.tally(id, FlowStatus::Skipped);
            return (FlowStatus::Skipped, None);
        }
        let (status, end) = self.run_flow(flow).await;
        if matches!(status, FlowStatus::Passed | FlowStatus::Flaky) {
            self.save_sessions(flow).await;
        }
        if status == FlowStatus::NotRun {
            // Reported once, here; `finish` reports the flows after it.
            self.totals.add(status);
            self.finished.insert(id);
            if end == Some(RunEnd::Quit) {
                self.em.emit(RunEventKind::Notice {
                    flow: None,
                    message: "stopped from the debugger (q): the rest of the run is not run"
                        .to_owned(),
                });
            }
            return (status, Some(end.unwrap_or(RunEnd::Interrupted)));
        }
        self.tally(id, status);
        (status, end)
    }

    /// Why the run must end before the next flow, if it must.
    pub(super) fn must_end(&self) -> Option<RunEnd> {
        if *self.opts.cancel.borrow() {
            return Some(RunEnd::Interrupted);
        }
        if let Some(e) = &self.em.failed {
            return Some(RunEnd::ReporterFailed(format!("a reporter failed: {e}")));
        }
        if let Some(exit) = self.exits.borrow().first() {
            return Some(RunEnd::Infrastructure(crate::exec::webserver::exit_reason(
                exit,
                self.logs_dir,
                self.redactor,
            )));
        }
        if let (Some(at), Some(limit)) = (self.run_deadline, self.config.timeouts.run) {
            if tokio::time::Instant::now() >= at {
                return Some(RunEnd::RunTimeout(limit));
            }
        }
        None
    }

    fn tally(&mut self, id: String, status: FlowStatus) {
        self.totals.add(status);
        self.done.insert(id.clone(), status);
        self.finished.insert(id);
    }

    /// After a flow passed: its users' sessions and captures are saved for `--no-deps`.
    async fn save_sessions(&mut self, flow: &CheckedFlow) {
        let Some(saver) = self.saver.as_mut() else {
            return;
        };
        let notes = saver
            .after_flow(
                self.config,
                flow,
                &self.res.sessions,
                &self.vars,
                self.redactor,
                &self.opts.run_id,
            )
            .await;
        for message in notes {
            self.em.emit(RunEventKind::Notice {
                flow: Some(flow.ast.id.value.clone()),
                message: self.redactor.redact(&message),
            });
        }
    }

    /// What the outcome depends on besides why the run ended.
    pub(super) fn facts(&self) -> RunFacts {
        RunFacts {
            infra_failure: self.infra_failure,
            artifacts_incomplete: crate::artifact::first_failure()
                .map(|what| format!("artifacts incomplete: {what}")),
            totals: self.totals,
            fail_on_flaky: self.opts.fail_on_flaky,
        }
    }
}
