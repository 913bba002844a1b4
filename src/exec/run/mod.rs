//! The executor: runs a plan and emits the event stream. It never formats output for people;
//! reporters do that from the events.
//!
//! A run, as [`run`] reads: start-up (`startup`: the app, the `--no-deps` preflight,
//! `RunStarted`, the health pre-check, the browsers) → the flows, one after another as the
//! [`schedule::Schedule`] hands them out (`flows`), each with its retries and its race against
//! the timeouts and signals (`attempt`), step by step (`flow_runner`, `evidence`) → why the run
//! ended ([`outcome::RunEnd`]) decided into outcome, exit code and reason (`outcome`) → every
//! process stopped, then `RunFinished` (`resources::finish`), on every path: success, failure,
//! abort and interrupt.

mod attempt;
mod evidence;
mod flow_runner;
mod flows;
pub(crate) mod outcome;
mod resources;
mod schedule;
mod startup;
mod workers;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use self::flows::Flows;
use self::outcome::RunEnd;
use self::resources::{end_early, finish, Emitter, Resources};
use self::schedule::PlanOrder;
use crate::artifact;
use crate::config::Config;
use crate::events::*;
use crate::exec::interaction::Interaction;
use crate::exit_code;
use crate::flowfile::check::{CheckedFlow, Suite};
use crate::plan::Plan;
use crate::redact::Redactor;
use crate::state::StepBaseline;

/// Runs `plan` and emits its events into `sink`; returns the exit code.
pub async fn run(
    config: &Config,
    suite: &Suite,
    plan: &Plan,
    mut opts: RunOptions,
    redactor: Redactor,
    sink: Emit<'_>,
) -> RunResult {
    let mut em = Emitter {
        sink,
        started: Instant::now(),
        failed: None,
    };
    startup::register_secrets(config, &redactor);
    let logs_dir = opts.output_dir.join("logs");
    // Room for the report even if the disk fills during the run (given back by the CLI).
    artifact::reserve(&opts.output_dir, 256 * 1024);
    let mut res = Resources {
        web_server: None,
        driver: None,
        sessions: HashMap::new(),
        mail_sources: Default::default(),
        logs_dir: logs_dir.clone(),
        redactor: redactor.clone(),
    };
    // 1. The app: reuse it if the configured URL answers, else start it.
    let app = startup::start_app(config, &mut opts.cancel, &mut res).await;
    // 2. Flows the plan leaves out (--no-deps): reuse saved sessions, or run them after all.
    let pre = startup::preflight(config, suite, plan, &app, &mut opts.cancel, &redactor).await;
    let planned = startup::announce(&mut em, config, suite, &opts, &app, &pre, &res);
    if let Some(err) = &app.error {
        em.emit(RunEventKind::Notice {
            flow: None,
            message: redactor.redact(err),
        });
        let end = if *opts.cancel.borrow() {
            RunEnd::Interrupted
        } else {
            RunEnd::Infrastructure("the web server did not start".into())
        };
        return end_early(&mut em, &mut res, &planned, end).await;
    }
    if *opts.cancel.borrow() {
        return end_early(&mut em, &mut res, &planned, RunEnd::Interrupted).await;
    }
    // 3. The health pre-check, mail sources that watch, the basic-auth notice, the browsers.
    if let Err(end) =
        startup::health_check(config, suite, &app, &mut opts, &mut em, &redactor).await
    {
        return end_early(&mut em, &mut res, &planned, end).await;
    }
    startup::watch_mail_sources(config, suite, &pre.plan, &app, &mut res).await;
    startup::basic_auth_notice(config, &app.base, &mut opts.cancel, &mut em, &redactor).await;
    let browsers = startup::start_browsers(
        config,
        suite,
        &pre,
        &app.base,
        &mut opts.cancel,
        &mut res,
        &mut em,
    );
    if let Err(end) = browsers.await {
        return end_early(&mut em, &mut res, &planned, end).await;
    }
    // 4. The flows: in the plan's order, or side by side on several workers.
    let (loop_end, facts, finished, reporter_failed) = if config.workers > 1 {
        let shared = workers::Shared {
            config,
            suite,
            redactor: &redactor,
            http: &app.http,
            base: &app.base,
            logs_dir: &logs_dir,
            pre: &pre,
        };
        let w = workers::run_workers(&shared, &opts, &mut em, &mut res).await;
        (w.end, w.facts, w.finished, w.reporter_failed)
    } else {
        let mut flows = Flows::new(
            config, suite, &mut opts, &redactor, &mut em, &app.http, &mut res, &app.base,
            &logs_dir, &pre,
        );
        let loop_end = flows.run_all(&mut PlanOrder::new(suite, &pre.plan)).await;
        let facts = flows.facts();
        let finished = std::mem::take(&mut flows.finished);
        let reporter_failed = flows.em.failed.clone();
        (loop_end, facts, finished, reporter_failed)
    };
    if em.failed.is_none() {
        em.failed = reporter_failed;
    }
    // 5. Why it ended, and what that makes of the run.
    if let Some(reason) = loop_end.stop_reason() {
        let not_run = pre.plan.order.len().saturating_sub(finished.len());
        em.emit(RunEventKind::Notice {
            flow: None,
            message: format!(
                "{reason}: {not_run} flow{} not started",
                if not_run == 1 { "" } else { "s" }
            ),
        });
    }
    let reporter_failed = em
        .failed
        .as_ref()
        .map(|e| format!("a reporter failed: {e}"));
    let end = loop_end.settle(*opts.cancel.borrow(), reporter_failed);
    let decision = outcome::decide(&end, &facts);
    if decision.flaky_fail {
        em.emit(RunEventKind::Notice {
            flow: None,
            message: format!(
                "{} flaky flow{} (passed only on a retry) and --fail-on-flaky: exit {}",
                facts.totals.flaky,
                if facts.totals.flaky == 1 { "" } else { "s" },
                exit_code::FLOW_FAILED
            ),
        });
    }
    finish(
        &mut em,
        &mut res,
        &planned,
        &finished,
        facts.totals,
        &decision,
    )
    .await
}

/// Options of one run that are not suite configuration.
pub struct RunOptions {
    pub run_id: String,
    /// `<output root>/<run id>`.
    pub output_dir: PathBuf,
    /// Becomes `true` on SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT.
    pub cancel: watch::Receiver<bool>,
    pub retries: u32,
    /// Exit 1 when a flow is flaky (passed only on a retry).
    pub fail_on_flaky: bool,
    /// Pause after each browser step (`--slow-mo`), to watch a headed run.
    pub slow_mo: Option<Duration>,
    /// Stop before each step and ask the interaction what to do (`--debug`).
    pub debug: bool,
    /// After a flow fails, keep everything running until the interaction returns
    /// (`--pause-on-failure`).
    pub pause_on_failure: bool,
    /// The person at the terminal; required by `debug` and `pause_on_failure`.
    pub interaction: Option<Box<dyn Interaction>>,
    /// How long each step usually takes (from the run history), to flag slow steps.
    pub step_baseline: StepBaseline,
    /// The suite and shard this run belongs to, stated in `RunStarted` (the CLI decides it).
    pub scope: Option<crate::events::RunScope>,
}

impl RunOptions {
    /// Options for a plain run: no retries, no debugging.
    pub fn new(run_id: String, output_dir: PathBuf, cancel: watch::Receiver<bool>) -> RunOptions {
        RunOptions {
            run_id,
            output_dir,
            cancel,
            retries: 0,
            fail_on_flaky: false,
            slow_mo: None,
            debug: false,
            pause_on_failure: false,
            interaction: None,
            step_baseline: StepBaseline::default(),
            scope: None,
        }
    }
}

/// Where the event stream goes. An error from the sink stops the run.
pub type Emit<'a> = &'a mut (dyn FnMut(&RunEvent) -> anyhow::Result<()> + Send);

pub struct RunResult {
    pub exit_code: u8,
    pub outcome: RunOutcome,
    pub totals: Totals,
}

/// What the report says about a flow before it runs.
pub fn planned_flow(f: &CheckedFlow) -> PlannedFlow {
    PlannedFlow {
        id: f.ast.id.value.clone(),
        title: f.ast.title.value.clone(),
        file: f.file.clone(),
        user: f.ast.user.as_ref().map(|u| u.value.clone()),
        needs: f.ast.needs.iter().map(|n| n.value.clone()).collect(),
        tags: f.ast.tags.iter().map(|t| t.value.clone()).collect(),
    }
}
