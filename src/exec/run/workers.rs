//! Several flows at once (`--workers N`, N > 1). Each worker is a [`Flows`] of its own: its own
//! driver and browser (a BiDi user context per user inside it), its own variables, its own
//! emitter feeding the run's one event stream. What they share sits on a [`Board`] behind one
//! lock, never held across an await: the [`ReadyOrder`] schedule, how each finished flow went,
//! and what a finished flow left for the flows that need it (its captures and marks, and its
//! users' cookies and localStorage).
//!
//! Before a flow runs, each of its users starts from the state the latest of its needs (in
//! completion order) that acted as that user left. When this worker's context of the user
//! already carries that need's effects (the need ran here, or the context was restored from
//! it), the live context is reused as it is, flows run here since included, as in a serial
//! run; otherwise the need's state is put into the user's context
//! (`saved_state::restore_into`), or into the session when it opens. A flow that needs no flow acting as a user takes that
//! user's context as the worker has it. Captures reach exactly the flows whose needs closure
//! holds their producer.
//!
//! Limits: the first reason to end (max failures, run timeout, a broken part, a signal) stops
//! the handing out; flows already running finish (a signal or the run timeout cuts them short,
//! as in a serial run), the rest are `not_run`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::flows::Flows;
use super::outcome::{RunEnd, RunFacts};
use super::resources::{Emitter, Resources};
use super::schedule::{Handout, ReadyOrder, Schedule};
use super::startup::{self, cancelled};
use super::RunOptions;
use crate::config::Config;
use crate::events::*;
use crate::exec::saved_state::{self, Preflight};
use crate::exec::vars::FlowVars;
use crate::flowfile::ast::SessionMode;
use crate::flowfile::check::{CheckedFlow, Suite};
use crate::net::Http;
use crate::redact::Redactor;
use crate::state::SavedSession;

/// What the workers of a run share.
pub(super) struct Board<'a> {
    schedule: ReadyOrder<'a>,
    /// How each finished flow went, by id.
    done: HashMap<String, FlowStatus>,
    /// Finish order, by id (which need acted last as a user).
    order: HashMap<String, u64>,
    /// Captures and marks of finished flows.
    vars: HashMap<String, FlowVars>,
    /// What each passed flow left in its users' sessions.
    left: HashMap<String, HashMap<String, SavedSession>>,
    /// Flows that failed after their last retry, over all workers.
    failures: u32,
    /// The first reason the run must end; no flow is handed out after it.
    stop: Option<RunEnd>,
}

impl Board<'_> {
    fn stop(&mut self, end: RunEnd) {
        self.stop.get_or_insert(end);
    }
}

fn lock<'b, 'a>(board: &'b Mutex<Board<'a>>) -> MutexGuard<'b, Board<'a>> {
    // A worker that panicked left the board as it was: the others read on.
    board.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one worker leaves for the run's tally.
struct Tally {
    totals: Totals,
    finished: BTreeSet<String>,
    infra_failure: bool,
    reporter_failed: Option<String>,
}

/// What the workers did, as the serial loop reports it.
pub(super) struct WorkersEnd {
    pub(super) end: RunEnd,
    pub(super) facts: RunFacts,
    pub(super) finished: BTreeSet<String>,
    pub(super) reporter_failed: Option<String>,
}

/// The parts of a run every worker reads.
pub(super) struct Shared<'a> {
    pub(super) config: &'a Config,
    pub(super) suite: &'a Suite,
    pub(super) redactor: &'a Redactor,
    pub(super) http: &'a Http,
    pub(super) base: &'a str,
    pub(super) logs_dir: &'a std::path::Path,
    pub(super) pre: &'a Preflight,
}

/// Runs the plan on `config.workers` workers; worker 1 uses the run's own resources (the
/// browser start-up already opened), the others start their own driver and browser.
pub(super) async fn run_workers(
    sh: &Shared<'_>,
    opts: &RunOptions,
    em: &mut Emitter<'_>,
    res: &mut Resources,
) -> WorkersEnd {
    let n = sh.config.workers.max(1);
    let board = Mutex::new(Board {
        schedule: ReadyOrder::new(sh.suite, &sh.pre.plan),
        done: HashMap::new(),
        order: HashMap::new(),
        vars: HashMap::new(),
        left: HashMap::new(),
        failures: 0,
        stop: None,
    });
    let (wake, _) = watch::channel(0u64);
    let mut extra: Vec<Resources> = (2..=n)
        .map(|w| Resources {
            web_server: None,
            driver: None,
            sessions: HashMap::new(),
            mail_sources: res.mail_sources.clone(),
            // Each worker's driver writes its own log.
            logs_dir: res.logs_dir.join(format!("w{w}")),
            redactor: res.redactor.clone(),
        })
        .collect();
    let started = em.started;
    let sink = Mutex::new(&mut *em);
    let tallies = {
        let board = &board;
        let wake = &wake;
        let sink = &sink;
        let mut workers = Vec::new();
        let mut resources: Vec<&mut Resources> = vec![&mut *res];
        resources.extend(extra.iter_mut());
        for (k, res) in resources.into_iter().enumerate() {
            let me = k as u32 + 1;
            workers.push(async move {
                let mut forward = |e: &RunEvent| {
                    let mut em = sink.lock().unwrap_or_else(PoisonError::into_inner);
                    (em.sink)(e)
                };
                let mut wem = Emitter {
                    sink: &mut forward,
                    started,
                    failed: None,
                };
                let mut wopts = worker_options(opts);
                work(sh, &mut wopts, &mut wem, res, board, wake, me).await
            });
        }
        futures_util::future::join_all(workers).await
    };
    // Every worker's processes stop together, so a signal is answered within its budget.
    let hurry = *opts.cancel.borrow();
    let mut all: Vec<&mut Resources> = extra.iter_mut().collect();
    if hurry {
        all.push(res);
    }
    futures_util::future::join_all(all.into_iter().map(|r| r.shutdown(hurry))).await;
    let board = board.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut totals = Totals::default();
    let mut finished = BTreeSet::new();
    let mut infra_failure = false;
    let mut reporter_failed = None;
    for t in tallies {
        for (status, count) in [
            (FlowStatus::Passed, t.totals.passed),
            (FlowStatus::Failed, t.totals.failed),
            (FlowStatus::Flaky, t.totals.flaky),
            (FlowStatus::Skipped, t.totals.skipped),
            (FlowStatus::NotRun, t.totals.not_run),
            (FlowStatus::TimedOut, t.totals.timed_out),
        ] {
            for _ in 0..count {
                totals.add(status);
            }
        }
        finished.extend(t.finished);
        infra_failure |= t.infra_failure;
        reporter_failed = reporter_failed.or(t.reporter_failed);
    }
    WorkersEnd {
        end: board.stop.unwrap_or(RunEnd::Completed),
        facts: RunFacts {
            infra_failure,
            artifacts_incomplete: crate::artifact::first_failure()
                .map(|what| format!("artifacts incomplete: {what}")),
            totals,
            fail_on_flaky: opts.fail_on_flaky,
        },
        finished,
        reporter_failed,
    }
}

/// A worker's copy of the run's options: no person at the terminal (`--debug` and
/// `--pause-on-failure` run one worker).
fn worker_options(opts: &RunOptions) -> RunOptions {
    let mut w = RunOptions::new(
        opts.run_id.clone(),
        opts.output_dir.clone(),
        opts.cancel.clone(),
    );
    w.retries = opts.retries;
    w.fail_on_flaky = opts.fail_on_flaky;
    w.slow_mo = opts.slow_mo;
    w.step_baseline = opts.step_baseline.clone();
    w
}

/// One worker: takes the next ready flow from the board until none is left or the run must end.
async fn work(
    sh: &Shared<'_>,
    opts: &mut RunOptions,
    em: &mut Emitter<'_>,
    res: &mut Resources,
    board: &Mutex<Board<'_>>,
    wake: &watch::Sender<u64>,
    me: u32,
) -> Tally {
    let mut cancel = opts.cancel.clone();
    let mut woken = wake.subscribe();
    if me > 1 {
        if let Err(e) = std::fs::create_dir_all(&res.logs_dir) {
            tracing::warn!("cannot create {}: {e}", res.logs_dir.display());
        }
        let browsers =
            startup::start_browsers(sh.config, sh.suite, sh.pre, sh.base, &mut cancel, res, em)
                .await;
        if let Err(end) = browsers {
            lock(board).stop(end);
            wake.send_modify(|g| *g += 1);
            return Tally {
                totals: Totals::default(),
                finished: BTreeSet::new(),
                infra_failure: false,
                reporter_failed: em.failed.clone(),
            };
        }
    }
    let mut flows = Flows::new(
        sh.config,
        sh.suite,
        opts,
        sh.redactor,
        em,
        sh.http,
        res,
        sh.base,
        sh.logs_dir,
        sh.pre,
    );
    flows.worker = Some(me);
    // Per user: the flows whose effects this worker's context of the user carries (those that
    // ran here as the user, and the need it was last restored from).
    let mut live: HashMap<String, BTreeSet<String>> = HashMap::new();
    // Flows some planned flow needs: only what they leave is read back for other workers.
    let needed: BTreeSet<&str> = sh
        .pre
        .plan
        .order
        .iter()
        .flat_map(|&i| sh.suite.flows[i].needs_closure.iter().map(String::as_str))
        .collect();
    loop {
        woken.borrow_and_update();
        let handout = {
            let mut b = lock(board);
            if b.stop.is_some() {
                break;
            }
            let b = &mut *b;
            b.schedule.next(&b.done)
        };
        let next = match handout {
            Handout::Done => break,
            Handout::Wait => {
                tokio::select! {
                    changed = woken.changed() => if changed.is_err() { break },
                    () = cancelled(&mut cancel) => {
                        lock(board).stop(RunEnd::Interrupted);
                        break;
                    }
                }
                continue;
            }
            Handout::Run(next) => next,
        };
        if let Some(end) = flows.must_end() {
            lock(board).stop(end);
            wake.send_modify(|g| *g += 1);
            break;
        }
        let flow = &sh.suite.flows[next.flow];
        let id = flow.ast.id.value.clone();
        if next.blocked.is_none() {
            take_over(&mut flows, board, flow, &mut live).await;
        }
        let ran = next.blocked.is_none();
        flows.settle_traces(false).await;
        let (status, end) = flows.run_scheduled(next).await;
        let mut left = HashMap::new();
        if ran {
            for user in saved_state::users_of(flow) {
                live.entry(user.clone()).or_default().insert(id.clone());
                if !matches!(status, FlowStatus::Passed | FlowStatus::Flaky)
                    || !needed.contains(id.as_str())
                {
                    continue;
                }
                if let Some(session) = flows.res.sessions.get(&user) {
                    let state =
                        saved_state::left_by(sh.config, session, &user, sh.base, &id, sh.redactor)
                            .await;
                    if let Some(state) = state {
                        left.insert(user, state);
                    }
                }
            }
        }
        {
            let mut b = lock(board);
            let seq = b.order.len() as u64;
            b.order.insert(id.clone(), seq);
            b.vars.insert(id.clone(), flows.vars.export_flow(&id));
            b.left.insert(id.clone(), left);
            if status != FlowStatus::NotRun {
                b.done.insert(id.clone(), status);
            }
            if let Some(end) = end {
                b.stop(end);
            } else if status == FlowStatus::Failed {
                b.failures += 1;
                if let Some(limit) = sh.config.max_failures.filter(|&n| b.failures >= n) {
                    b.stop(RunEnd::MaxFailures(limit));
                }
            }
        }
        wake.send_modify(|g| *g += 1);
    }
    flows.settle_traces(true).await;
    Tally {
        totals: flows.totals,
        finished: std::mem::take(&mut flows.finished),
        infra_failure: flows.infra_failure,
        reporter_failed: flows.em.failed.clone(),
    }
}

/// Before `flow` runs on worker `me`: the captures of its needs, and for each of its users the
/// state the latest need acting as that user left (see the module header).
async fn take_over(
    flows: &mut Flows<'_, '_>,
    board: &Mutex<Board<'_>>,
    flow: &CheckedFlow,
    live: &mut HashMap<String, BTreeSet<String>>,
) {
    let own_user = flow.ast.user.as_ref().map(|u| u.value.as_str());
    // A fresh session, or a browser of the flow's own, starts signed out in a serial run too.
    let starts_clean = flow.ast.session == SessionMode::Fresh || flow.ast.browser.is_some();
    let mut states: Vec<(String, SavedSession)> = Vec::new();
    {
        let b = lock(board);
        for need in &flow.needs_closure {
            if let Some(vars) = b.vars.get(need) {
                flows.vars.import_flow(need, vars);
            }
        }
        for user in saved_state::users_of(flow) {
            if starts_clean && own_user == Some(user.as_str()) {
                continue;
            }
            let latest = flow
                .needs_closure
                .iter()
                .filter(|n| b.left.get(*n).is_some_and(|l| l.contains_key(&user)))
                .max_by_key(|n| b.order.get(*n).copied().unwrap_or_default());
            let Some(need) = latest else { continue };
            // This worker's context already carries what the need left (it ran here, or the
            // context was restored from it): use it as it is, as a serial run would.
            if live
                .get(&user)
                .is_some_and(|carried| carried.contains(need))
            {
                continue;
            }
            if let Some(state) = b.left.get(need).and_then(|l| l.get(&user)) {
                live.insert(user.clone(), BTreeSet::from([need.clone()]));
                states.push((user, state.clone()));
            }
        }
    }
    for (user, state) in states {
        match flows.res.sessions.get(&user) {
            Some(session) => {
                if saved_state::restore_into(session, &state, flows.base)
                    .await
                    .is_err()
                {
                    // Opened again on first use, from the state.
                    if let Some(session) = flows.res.sessions.remove(&user) {
                        session.close().await;
                    }
                    flows.restore.insert(user, state);
                }
            }
            None => {
                flows.restore.insert(user, state);
            }
        }
    }
}
