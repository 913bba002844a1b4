//! The executor: runs a plan and emits the event stream. It never formats output for people;
//! reporters do that from the events.
//!
//! Life cycle of a run: web server (start or reuse) → health pre-check → flows in plan order
//! (browser sessions opened per user on first need) → shutdown of everything started. The
//! `RunFinished` event is emitted on every path: success, failure, abort and interrupt.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::watch;

use super::bidi::PageEvent;
use super::browser::{BrowserSession, Driver};
use super::claims;
use super::health;
use super::interaction::{DebugCommand, FailurePoint, Interaction, StepPoint};
use super::outcome::{self, run_timeout_reached, RunFacts, Stop, INTERRUPTED};
use super::process::{unexpected_exits, ChildExit};
use super::saved_state::{self, SessionSaver};
use super::steps::{StepContext, StepFailure, StepOutcome};
use super::trace_capture::TraceCapture;
use super::vars::Vars;
use super::webserver::{self, RunningWebServer};
use crate::artifact;
use crate::config::{Config, TraceMode};
use crate::events::*;
use crate::exit_code;
use crate::flowfile::ast::SessionMode;
use crate::flowfile::check::{CheckedFlow, Suite};
use crate::flowfile::duration::format_duration;
use crate::flowfile::groups::{GroupCall, PlannedStep};
use crate::flowfile::template::Resolved;
use crate::plan::Plan;
use crate::redact::Redactor;
use crate::state::{SavedSession, StepBaseline};

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

struct Emitter<'a> {
    sink: Emit<'a>,
    started: Instant,
    failed: Option<String>,
}

impl Emitter<'_> {
    fn emit(&mut self, kind: RunEventKind) {
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
struct Resources {
    web_server: Option<RunningWebServer>,
    driver: Option<Driver>,
    sessions: HashMap<String, BrowserSession>,
    /// The run's mail sources: what they learnt serves every step (and their event streams
    /// stay open).
    mail_sources: crate::mail::MailSources,
    /// Logs of the processes we started, scrubbed of secrets once they have stopped.
    logs_dir: PathBuf,
    redactor: Redactor,
}

impl Resources {
    /// `hurry`: a signal stopped the run (a container's stop grace is often 10 s): sessions
    /// get a second to close before their driver's process group is killed anyway.
    async fn shutdown(&mut self, hurry: bool) {
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

/// Does any flow the plan runs have a `mail` step?
fn planned_reads_mail(suite: &Suite, plan: &Plan) -> bool {
    plan.order
        .iter()
        .filter_map(|&i| suite.flows.get(i))
        .any(|f| {
            f.steps
                .iter()
                .any(|p| matches!(p.step.value, crate::flowfile::ast::Step::Mail(_)))
        })
}

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
    // Basic auth goes to the target's origins only: base_url and api_url (and the web
    // server's URL once it is known).
    let mut http = crate::net::Http::new(
        concat!("flows/", env!("CARGO_PKG_VERSION")),
        &[config.base_url.as_deref(), config.api_url.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
        config.basic_auth.as_ref(),
        config.accept_invalid_certs,
    );
    if let Some(s) = &config.secret {
        redactor.add(&s.value);
    }
    if let Some(auth) = &config.basic_auth {
        redactor.add(&auth.password.value);
    }
    if let Some(s) = &config.mail.fixed_otp {
        redactor.add(&s.value);
    }
    for user in config.users.values() {
        if let Some(p) = &user.password {
            redactor.add(&p.value);
        }
        // A user's own address is never a secret, even inside a mailed link.
        redactor.add_public(&user.email);
    }
    for name in &config.secret_env {
        let value = std::env::var(name).ok().or_else(|| {
            config
                .env_file
                .as_ref()
                .and_then(|f| f.values.get(name).cloned())
        });
        if let Some(value) = value {
            redactor.add(&value);
        }
    }
    let logs_dir = opts.output_dir.join("logs");
    // Room for the report even if the disk fills during the run (given back by the CLI).
    artifact::reserve(&opts.output_dir, 256 * 1024);
    let mut res = Resources {
        web_server: None,
        driver: None,
        sessions: HashMap::new(),
        mail_sources: crate::mail::MailSources::default(),
        logs_dir: logs_dir.clone(),
        redactor: redactor.clone(),
    };
    // 1. The app: reuse it if the configured URL answers, else start it.
    let mut base_url = config.base_url.clone();
    let mut startup_error = None;
    if let Some(ws) = &config.web_server {
        let reuse = match &base_url {
            Some(u) => unless_cancelled(&mut opts.cancel, webserver::answers(&http, u))
                .await
                .unwrap_or(false),
            None => false,
        };
        // A base URL that was given but does not answer: start the server there when it is on
        // this machine; a remote one cannot be served from here, and testing some other URL
        // instead would be a lie.
        let port = match (&base_url, reuse) {
            (Some(u), false) => match webserver::local_port(u) {
                Ok(p) => Some(p),
                Err(e) => {
                    startup_error = Some(e);
                    None
                }
            },
            _ => None,
        };
        if !reuse && startup_error.is_none() && !*opts.cancel.borrow() {
            let secret = config.secret.as_ref().map(|s| s.value.as_str());
            let log = logs_dir.join("web-server.log");
            let started = tokio::select! {
                r = webserver::start(ws, port, secret, &log, &http) => Some(r),
                _ = cancelled(&mut opts.cancel) => None,
            };
            match started {
                Some(Ok(server)) => {
                    base_url = Some(server.base_url.clone());
                    http = http.with_origin(&server.base_url);
                    res.web_server = Some(server);
                }
                Some(Err(e)) => startup_error = Some(e.to_string()),
                None => startup_error = Some("interrupted while starting the web server".into()),
            }
        }
    }
    let base = base_url.clone().unwrap_or_default();
    // 2. Flows the plan leaves out (--no-deps): reuse saved sessions, or run them after all.
    let pre = match startup_error {
        None => {
            unless_cancelled(
                &mut opts.cancel,
                saved_state::preflight(config, suite, plan, &base, &redactor),
            )
            .await
        }
        Some(_) => None,
    };
    let pre = pre.unwrap_or_else(|| saved_state::Preflight {
        plan: plan.clone(),
        restore: HashMap::new(),
        captures: Vec::new(),
        notices: Vec::new(),
    });
    let plan = &pre.plan;
    let planned: Vec<PlannedFlow> = plan
        .order
        .iter()
        .map(|&i| planned_flow(&suite.flows[i]))
        .collect();
    em.emit(RunEventKind::RunStarted {
        run_id: opts.run_id.clone(),
        profile: config.profile.clone(),
        base_url: base.clone(),
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        output_dir: opts.output_dir.clone(),
        flows: planned.clone(),
        trace_mode: config.trace.as_str().to_owned(),
    });
    for (flow, message) in &pre.notices {
        em.emit(RunEventKind::Notice {
            flow: flow.clone(),
            message: redactor.redact(message),
        });
    }
    if res.web_server.is_some() {
        em.emit(RunEventKind::Notice {
            flow: None,
            message: format!(
                "started the web server at {base} (log: {})",
                logs_dir.join("web-server.log").display()
            ),
        });
    }
    if let Some(err) = startup_error {
        let interrupted = *opts.cancel.borrow();
        em.emit(RunEventKind::Notice {
            flow: None,
            message: redactor.redact(&err),
        });
        return finish(
            &mut em,
            &mut res,
            &planned,
            &BTreeSet::new(),
            Totals::default(),
            if interrupted {
                RunOutcome::Interrupted
            } else {
                RunOutcome::Aborted
            },
            if interrupted {
                exit_code::INTERRUPTED
            } else {
                exit_code::INFRASTRUCTURE
            },
            if interrupted {
                INTERRUPTED
            } else {
                "the web server did not start"
            },
        )
        .await;
    }
    if *opts.cancel.borrow() {
        return interrupted(&mut em, &mut res, &planned).await;
    }

    // 3. Health pre-check, before any browser starts; a suite that only reads a mail
    // catcher never reaches the target, so there is nothing to check.
    let needs_target = config.needs_target(suite);
    if config.health.enabled && needs_target {
        let Some(report) = unless_cancelled(
            &mut opts.cancel,
            health::run(config, &base, &http, &redactor),
        )
        .await
        else {
            return interrupted(&mut em, &mut res, &planned).await;
        };
        let path = opts.output_dir.join("health-pre-check.json");
        if let Err(e) = artifact::write_json_atomic(&path, &report) {
            tracing::error!("cannot write {}: {e}", path.display());
        } else {
            em.emit(RunEventKind::ArtifactWritten {
                flow: None,
                artifact: Artifact {
                    kind: ArtifactKind::Report,
                    path: PathBuf::from("health-pre-check.json"),
                    bytes: file_len(&path),
                },
            });
        }
        em.emit(RunEventKind::HealthChecked {
            passed: report.passed,
            skipped: false,
            failing: report.failing.clone(),
            summary: report.summary(),
        });
        for c in &report.checks {
            em.emit(RunEventKind::CriterionRecorded {
                flow: None,
                criterion: Criterion {
                    name: format!("{} answers healthy", c.url),
                    verdict: match c.verdict {
                        "PASS" => Verdict::Pass,
                        "FAILED" => Verdict::Failed,
                        _ => Verdict::Unverified,
                    },
                    evidence: vec![format!(
                        "health-pre-check.json: {} → {}",
                        c.name,
                        c.status.map_or("no answer".to_owned(), |s| s.to_string())
                    )],
                    note: c.error.clone(),
                },
            });
        }
        if !report.passed {
            return finish(
                &mut em,
                &mut res,
                &planned,
                &BTreeSet::new(),
                Totals::default(),
                RunOutcome::Aborted,
                exit_code::HEALTH_CHECK_FAILED,
                &format!("health pre-check failed: {}", report.failing.join(", ")),
            )
            .await;
        }
    } else {
        em.emit(RunEventKind::HealthChecked {
            passed: true,
            skipped: true,
            failing: vec![],
            summary: if needs_target {
                "skipped (--skip-health-check)".into()
            } else {
                "skipped: every step reads mail from the catcher; none reaches the target app"
                    .into()
            },
        });
    }

    // Mail sources with an event stream start watching now, so that a message sent by the
    // first flow's first step is announced (its arrival known by the runner's clock).
    let reads_mail = planned_reads_mail(suite, plan);
    if reads_mail {
        if let Ok(cfg) = super::mail_step::source_config(config, &base) {
            if !matches!(cfg, crate::mail::MailSourceConfig::StagingEndpoint { .. }) {
                res.mail_sources.get(&cfg, &http).await;
            }
        }
    }

    // Basic auth: the browser keeps the credentials only from a page that asks for them.
    if let Some(auth) = &config.basic_auth {
        let page = match &auth.sign_in_path {
            Some(path) => format!("{}{path}", base.trim_end_matches('/')),
            None => base.clone(),
        };
        let challenge = unless_cancelled(
            &mut opts.cancel,
            crate::net::challenges_basic_auth(&page, config.accept_invalid_certs),
        )
        .await;
        if let Some(Err(what)) = challenge {
            em.emit(RunEventKind::Notice {
                flow: None,
                message: redactor.redact(&format!(
                    "basic auth: {page} {what}, so browsers signing in there will not keep the \
                     credentials; if only some pages ask for them, set sign_in_path under \
                     [target.basic_auth] to one of those"
                )),
            });
        }
    }

    // 4. The flows.
    let now = OffsetDateTime::now_utc();
    let run_date = format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let mut vars = Vars::new(config, &base, &opts.run_id, &run_date);
    vars.register_secrets(&redactor);
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
    let mut restore: HashMap<String, SavedSession> = pre.restore.clone();
    let mut saver = SessionSaver::new(config, &base);
    if let Some(saver) = saver.as_mut() {
        for saved in restore.values() {
            saver.seed(saved);
        }
    }
    // The driver (or the remote WebDriver server) before the first flow: a driver that is not
    // there is an infrastructure error of the run, not a failure of the flow that needed it.
    let needs_browser = plan
        .order
        .iter()
        .any(|&i| !saved_state::users_of(&suite.flows[i]).is_empty());
    if needs_browser && res.driver.is_none() {
        let log = logs_dir.join("chromedriver.log");
        match unless_cancelled(&mut opts.cancel, Driver::start(&config.browser, &log)).await {
            None => return interrupted(&mut em, &mut res, &planned).await,
            Some(Ok(driver)) => res.driver = Some(driver),
            Some(Err(e)) => {
                let why = redactor.redact(&e.to_string());
                return finish(
                    &mut em,
                    &mut res,
                    &planned,
                    &BTreeSet::new(),
                    Totals::default(),
                    RunOutcome::Aborted,
                    exit_code::INFRASTRUCTURE,
                    &why,
                )
                .await;
            }
        }
    }
    if restore.is_empty() && !*opts.cancel.borrow() {
        let prestart = prestart_sessions(config, suite, plan, &base, &mut res, &logs_dir, &mut em);
        if unless_cancelled(&mut opts.cancel, prestart).await.is_none() {
            return interrupted(&mut em, &mut res, &planned).await;
        }
    }
    let mut interaction = opts.interaction.take();
    let mut stepping = opts.debug && interaction.is_some();
    let mut quit = false;
    let mut totals = Totals::default();
    let mut outcomes: HashMap<String, FlowStatus> = HashMap::new();
    let mut finished_ids = BTreeSet::new();
    let mut infra_failure = false;
    // The run timeout counts from the start of the run; --max-failures counts flows that failed
    // after their last retry.
    let run_deadline = config
        .timeouts
        .run
        .map(|d| tokio::time::Instant::from_std(em.started) + d);
    let mut failures: u32 = 0;
    let mut stop: Option<Stop> = None;
    // The driver or the web server dying is noticed when it happens, not at the next command.
    let mut exits = unexpected_exits();
    for &i in &plan.order {
        let flow = &suite.flows[i];
        let id = flow.ast.id.value.clone();
        if *opts.cancel.borrow() || em.failed.is_some() || quit {
            break;
        }
        if let Some(exit) = exits.borrow().first() {
            stop = Some(Stop::Infrastructure(child_exit_reason(
                exit, &logs_dir, &redactor,
            )));
            break;
        }
        if let (Some(at), Some(limit)) = (run_deadline, config.timeouts.run) {
            if tokio::time::Instant::now() >= at {
                stop = Some(Stop::RunTimeout(limit));
                break;
            }
        }
        // A needed flow that did not pass (or was not part of this run and has no state).
        let blocked = flow
            .ast
            .needs
            .iter()
            .find_map(|n| match outcomes.get(&n.value) {
                Some(FlowStatus::Passed | FlowStatus::Flaky) => None,
                Some(other) => Some(format!(
                    "needs {}, which {}",
                    n.value,
                    status_phrase(*other)
                )),
                None if plan
                    .order
                    .iter()
                    .any(|&j| suite.flows[j].ast.id.value == n.value) =>
                {
                    Some(format!("needs {}, which did not run", n.value))
                }
                None => None, // --no-deps: saved state stands in for it (see preflight)
            });
        if let Some(reason) = blocked {
            em.emit(RunEventKind::FlowFinished {
                flow: id.clone(),
                status: FlowStatus::Skipped,
                attempt: 0,
                duration_ms: 0,
                reason: Some(reason),
            });
            totals.add(FlowStatus::Skipped);
            outcomes.insert(id.clone(), FlowStatus::Skipped);
            finished_ids.insert(id);
            continue;
        }
        let reset = if opts.retries > 0 {
            Some(
                saved_state::AttemptReset::capture(
                    config,
                    flow,
                    &res.sessions,
                    &restore,
                    &base,
                    &redactor,
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
        let status = loop {
            attempt += 1;
            if attempt > 1 {
                if let Some(reset) = &reset {
                    reset.apply(&mut res.sessions, &mut restore, &base).await;
                }
            }
            let mut set_aside = own_session_user
                .as_ref()
                .and_then(|u| res.sessions.remove(u).map(|s| (u.clone(), s)));
            vars.clear_flow(&id);
            if let Some(row) = &flow.row {
                for (k, v) in &row.values {
                    vars.set_capture(&id, &format!("row.{k}"), Resolved::plain(v.clone()));
                }
            }
            let started = Instant::now();
            em.emit(RunEventKind::FlowStarted {
                flow: id.clone(),
                attempt,
            });
            let mut runner = FlowRunner {
                config,
                flow,
                base_url: &base,
                output_dir: &opts.output_dir,
                logs_dir: &logs_dir,
                http: &http,
                redactor: &redactor,
                vars: &mut vars,
                res: &mut res,
                em: &mut em,
                infra_failure: false,
                step_start: Vec::new(),
                subscriptions: HashMap::new(),
                capture: config
                    .trace
                    .records(attempt)
                    .then(|| TraceCapture::new(config.trace == TraceMode::On)),
                restore: &mut restore,
                interaction: &mut interaction,
                stepping: &mut stepping,
                slow_mo: opts.slow_mo,
                baseline: &opts.step_baseline,
                attempt,
                failed_step: None,
                quit: false,
                current_step: None,
                criteria: Vec::new(),
            };
            let flow_deadline = config.timeouts.flow;
            // While a person steps through a flow, its deadline (and the run's) would only
            // measure them.
            let debugging = *runner.stepping;
            let result = {
                let attempt_run = runner.run();
                let run_deadline = run_deadline.filter(|_| !debugging);
                let run_timeout = async move {
                    match run_deadline {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending::<()>().await,
                    }
                };
                if debugging {
                    tokio::select! {
                        r = attempt_run => AttemptEnd::Finished(r),
                        _ = cancelled(&mut opts.cancel) => AttemptEnd::Interrupted,
                        exit = child_died(&mut exits) => AttemptEnd::ChildDied(exit),
                    }
                } else {
                    tokio::select! {
                        r = tokio::time::timeout(flow_deadline, attempt_run) => match r {
                            Ok(r) => AttemptEnd::Finished(r),
                            Err(_) => AttemptEnd::FlowTimeout,
                        },
                        _ = cancelled(&mut opts.cancel) => AttemptEnd::Interrupted,
                        _ = run_timeout => AttemptEnd::RunTimeout,
                        exit = child_died(&mut exits) => AttemptEnd::ChildDied(exit),
                    }
                }
            };
            let infra = runner.infra_failure;
            if let Some(cap) = runner.capture.as_mut() {
                cap.flush().await;
            }
            let (st, reason) = match result {
                AttemptEnd::Finished(Ok(())) => (
                    if attempt > 1 {
                        FlowStatus::Flaky
                    } else {
                        FlowStatus::Passed
                    },
                    None,
                ),
                AttemptEnd::Finished(Err(msg)) if infra => {
                    // A step saw the browser or driver fail. If a child died, that is the
                    // reason (its exit may be reported a moment after the refused connection);
                    // else the session that failed is.
                    let exit = tokio::time::timeout(Duration::from_secs(1), child_died(&mut exits))
                        .await
                        .ok();
                    let why = match (exit, &runner.failed_step) {
                        (Some(exit), _) => child_exit_reason(&exit, &logs_dir, &redactor),
                        (None, Some(step)) => format!(
                            "the browser session of {} failed: {}",
                            step.actor.as_deref().unwrap_or("the flow's user"),
                            step.message
                        ),
                        (None, None) => msg.clone(),
                    };
                    stop = Some(Stop::Infrastructure(why.clone()));
                    (FlowStatus::Failed, Some(format!("{why} — {msg}")))
                }
                AttemptEnd::Finished(Err(msg)) => (FlowStatus::Failed, Some(msg)),
                AttemptEnd::ChildDied(exit) => {
                    let why = child_exit_reason(&exit, &logs_dir, &redactor);
                    stop = Some(Stop::Infrastructure(why.clone()));
                    let at = runner.cut_short(&why).await;
                    (FlowStatus::Failed, Some(at.unwrap_or(why)))
                }
                AttemptEnd::FlowTimeout => {
                    let why = format!(
                        "the flow did not finish within timeouts.flow ({})",
                        format_duration(flow_deadline)
                    );
                    let at = runner.cut_short(&why).await;
                    (FlowStatus::Failed, Some(at.unwrap_or(why)))
                }
                AttemptEnd::RunTimeout => {
                    let limit = config.timeouts.run.unwrap_or_default();
                    stop = Some(Stop::RunTimeout(limit));
                    let why = format!(
                        "the run timeout ({}) was reached while this step ran",
                        format_duration(limit)
                    );
                    let at = runner.cut_short(&why).await;
                    (
                        FlowStatus::TimedOut,
                        Some(at.unwrap_or_else(|| run_timeout_reached(limit))),
                    )
                }
                AttemptEnd::Interrupted => {
                    (FlowStatus::NotRun, Some("interrupted while running".into()))
                }
            };
            let failed_step = runner.failed_step.take();
            let criteria = std::mem::take(&mut runner.criteria);
            if runner.quit {
                quit = true;
            }
            let (st, reason) = if quit {
                (
                    FlowStatus::NotRun,
                    Some("stopped from the debugger (q)".into()),
                )
            } else {
                (st, reason)
            };
            infra_failure |= infra;
            let infra_stop = matches!(stop, Some(Stop::Infrastructure(_)));
            if st == FlowStatus::Failed
                && attempt <= opts.retries
                && !*opts.cancel.borrow()
                && !infra_stop
            {
                put_back_shared_session(
                    &mut res.sessions,
                    own_session_user.as_deref(),
                    set_aside.take(),
                )
                .await;
                em.emit(RunEventKind::Notice {
                    flow: Some(id.clone()),
                    message: format!("attempt {attempt} failed; retrying"),
                });
                continue;
            }
            // A retried attempt's criteria went with it; these are the flow's.
            for criterion in claims::settle(criteria, st, reason.as_deref()) {
                em.emit(RunEventKind::CriterionRecorded {
                    flow: Some(id.clone()),
                    criterion: redact_criterion(&redactor, criterion),
                });
            }
            em.emit(RunEventKind::FlowFinished {
                flow: id.clone(),
                status: st,
                attempt,
                duration_ms: started.elapsed().as_millis() as u64,
                reason: reason.clone().map(|r| redactor.redact(&r)),
            });
            if st == FlowStatus::Failed && opts.pause_on_failure {
                if let Some(i) = interaction.as_mut() {
                    let point = failure_point(
                        flow,
                        failed_step,
                        reason.as_deref().unwrap_or("failed"),
                        &res.sessions,
                        &opts.output_dir,
                        &redactor,
                    )
                    .await;
                    tokio::select! {
                        _ = i.paused(&point) => {}
                        _ = cancelled(&mut opts.cancel) => {}
                    }
                }
            }
            put_back_shared_session(
                &mut res.sessions,
                own_session_user.as_deref(),
                set_aside.take(),
            )
            .await;
            break st;
        };
        if matches!(status, FlowStatus::Passed | FlowStatus::Flaky) {
            if let Some(saver) = saver.as_mut() {
                let notes = saver
                    .after_flow(config, flow, &res.sessions, &vars, &redactor, &opts.run_id)
                    .await;
                for message in notes {
                    em.emit(RunEventKind::Notice {
                        flow: Some(id.clone()),
                        message: redactor.redact(&message),
                    });
                }
            }
        }
        if status == FlowStatus::NotRun {
            // Reported once, here; `finish` reports the flows after it.
            totals.add(status);
            finished_ids.insert(id);
            if quit {
                em.emit(RunEventKind::Notice {
                    flow: None,
                    message: "stopped from the debugger (q): the rest of the run is not run"
                        .to_owned(),
                });
            }
            break;
        }
        totals.add(status);
        outcomes.insert(id.clone(), status);
        finished_ids.insert(id);
        if status == FlowStatus::TimedOut || matches!(stop, Some(Stop::Infrastructure(_))) {
            break;
        }
        if status == FlowStatus::Failed {
            failures += 1;
            if let Some(limit) = config.max_failures.filter(|&n| failures >= n) {
                stop = Some(Stop::MaxFailures(limit));
                break;
            }
        }
    }
    let interrupted = *opts.cancel.borrow();
    let stop_reason = stop.as_ref().map(Stop::reason);
    if let Some(reason) = &stop_reason {
        let not_run = plan.order.len().saturating_sub(finished_ids.len());
        em.emit(RunEventKind::Notice {
            flow: None,
            message: format!(
                "{reason}: {not_run} flow{} not started",
                if not_run == 1 { "" } else { "s" }
            ),
        });
    }
    let decision = outcome::decide(&RunFacts {
        interrupted,
        quit,
        reporter_failed: em
            .failed
            .as_ref()
            .map(|e| format!("a reporter failed: {e}")),
        stop,
        artifacts_incomplete: artifact::first_failure()
            .map(|what| format!("artifacts incomplete: {what}")),
        infra_failure,
        totals,
        fail_on_flaky: opts.fail_on_flaky,
    });
    if decision.flaky_fail {
        em.emit(RunEventKind::Notice {
            flow: None,
            message: format!(
                "{} flaky flow{} (passed only on a retry) and --fail-on-flaky: exit {}",
                totals.flaky,
                if totals.flaky == 1 { "" } else { "s" },
                exit_code::FLOW_FAILED
            ),
        });
    }
    let (outcome, code, why) = (decision.outcome, decision.code, decision.why.as_str());
    finish(
        &mut em,
        &mut res,
        &planned,
        &finished_ids,
        totals,
        outcome,
        code,
        why,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    em: &mut Emitter<'_>,
    res: &mut Resources,
    planned: &[PlannedFlow],
    finished: &BTreeSet<String>,
    mut totals: Totals,
    outcome: RunOutcome,
    code: u8,
    why: &str,
) -> RunResult {
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
    let code = outcome::final_code(code, em.failed.is_some());
    RunResult {
        exit_code: code,
        outcome,
        totals,
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

/// `chromedriver (pid 42) exited (signal 9)`; for the web server, with the last lines of its
/// log (redacted).
fn child_exit_reason(exit: &ChildExit, logs_dir: &Path, redactor: &Redactor) -> String {
    if exit.name == "web-server" {
        let tail = webserver::tail(&logs_dir.join("web-server.log"), 5);
        let tail = tail.lines().map(str::trim).collect::<Vec<_>>().join(" | ");
        redactor.redact(&format!(
            "the web server (pid {}) {}, last log lines: {}",
            exit.pid,
            exit.how,
            if tail.is_empty() { "(none)" } else { &tail }
        ))
    } else {
        exit.to_string()
    }
}

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

fn status_phrase(s: FlowStatus) -> &'static str {
    match s {
        FlowStatus::Failed => "failed",
        FlowStatus::Skipped => "was skipped",
        FlowStatus::NotRun => "did not run",
        FlowStatus::TimedOut => "timed out",
        FlowStatus::Passed | FlowStatus::Flaky => "passed",
    }
}

/// Runs `fut` unless the run is cancelled first (then `None`). Every await of start-up goes
/// through here, so a signal is acted on at once, not when every browser has started.
async fn unless_cancelled<T>(
    cancel: &mut watch::Receiver<bool>,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        biased;
        () = cancelled(cancel) => None,
        v = fut => Some(v),
    }
}

/// Ends a run that a signal stopped before its first flow.
async fn interrupted(
    em: &mut Emitter<'_>,
    res: &mut Resources,
    planned: &[PlannedFlow],
) -> RunResult {
    finish(
        em,
        res,
        planned,
        &BTreeSet::new(),
        Totals::default(),
        RunOutcome::Interrupted,
        exit_code::INTERRUPTED,
        INTERRUPTED,
    )
    .await
}

async fn cancelled(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow() {
            return;
        }
        if rx.changed().await.is_err() {
            // Sender gone: never cancelled.
            std::future::pending::<()>().await;
        }
    }
}

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

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Runs the steps of one flow attempt.
struct FlowRunner<'a, 'e> {
    config: &'a Config,
    flow: &'a CheckedFlow,
    base_url: &'a str,
    output_dir: &'a Path,
    logs_dir: &'a Path,
    http: &'a crate::net::Http,
    redactor: &'a Redactor,
    vars: &'a mut Vars,
    res: &'a mut Resources,
    em: &'a mut Emitter<'e>,
    infra_failure: bool,
    /// Start time of each step run so far (wall clock and monotonic), for `after_step`.
    step_start: Vec<(OffsetDateTime, Instant)>,
    subscriptions: HashMap<String, crate::realtime::Subscription>,
    /// Set when this attempt records a trace.
    capture: Option<TraceCapture>,
    /// Users whose browser starts from a saved session (taken on first use).
    restore: &'a mut HashMap<String, SavedSession>,
    /// The person at the terminal (`--debug`, `--pause-on-failure`).
    interaction: &'a mut Option<Box<dyn Interaction>>,
    /// `--debug` and not yet told to continue: stop before each step.
    stepping: &'a mut bool,
    slow_mo: Option<Duration>,
    baseline: &'a StepBaseline,
    attempt: u32,
    /// The step that failed this attempt, for `--pause-on-failure`.
    failed_step: Option<FailedStep>,
    /// The person quit from the debugger.
    quit: bool,
    /// The step running now (index, start), so a timeout can fail it (see `cut_short`).
    current_step: Option<(usize, Instant)>,
    /// The criteria of this attempt, emitted when it ends (see `claims::settle`).
    criteria: Vec<Criterion>,
}

/// A criterion as it may be shown: names and evidence come from the flow file and from what
/// the steps saw, so secrets learnt since are taken out.
fn redact_criterion(redactor: &Redactor, c: Criterion) -> Criterion {
    Criterion {
        name: redactor.redact(&c.name),
        verdict: c.verdict,
        evidence: c.evidence.iter().map(|e| redactor.redact(e)).collect(),
        note: c.note.map(|n| redactor.redact(&n)),
    }
}

/// What `--pause-on-failure` shows about the failing step.
struct FailedStep {
    index: usize,
    line: u32,
    /// The step's own error (expected vs found), redacted.
    message: String,
    actor: Option<String>,
    artifacts: Vec<Artifact>,
}

/// Gathers what a person needs to act on a failed flow kept open by `--pause-on-failure`.
async fn failure_point(
    flow: &CheckedFlow,
    failed: Option<FailedStep>,
    reason: &str,
    sessions: &HashMap<String, BrowserSession>,
    output_dir: &Path,
    redactor: &Redactor,
) -> FailurePoint {
    let id = flow.ast.id.value.clone();
    let artifact = |kind: ArtifactKind| {
        failed.as_ref().and_then(|f| {
            f.artifacts
                .iter()
                .find(|a| a.kind == kind)
                .map(|a| output_dir.join(&a.path))
        })
    };
    let trace = output_dir.join(&id).join("trace.html");
    let actor = failed
        .as_ref()
        .and_then(|f| f.actor.clone())
        .or_else(|| flow.ast.user.as_ref().map(|u| u.value.clone()));
    let page_url = match actor.as_deref().and_then(|u| sessions.get(u)) {
        Some(session) => tokio::time::timeout(Duration::from_secs(5), session.current_url())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|u| redactor.redact(&u)),
        None => None,
    };
    FailurePoint {
        step: failed
            .as_ref()
            .map(|f| (f.index, f.line, source_line(flow, f.line))),
        screenshot: artifact(ArtifactKind::Screenshot),
        page_html: artifact(ArtifactKind::PageHtml),
        trace: trace.is_file().then_some(trace),
        file: flow.file.clone(),
        error: failed
            .as_ref()
            .map_or_else(|| redactor.redact(reason), |f| f.message.clone()),
        page_url,
        user: actor,
        flow: id,
    }
}

/// Opens the browser session of every user the plan will need, all at once: a browser takes
/// most of a second to start, and starting them one after another on first use made a third
/// of a run. A user whose first flow asks for a `fresh` session (or its own `browser:`
/// settings) is left to that flow. With basic auth each session signs in as it opens. Any
/// failure here is left for the flow that needs the session to report.
async fn prestart_sessions(
    config: &Config,
    suite: &Suite,
    plan: &Plan,
    base_url: &str,
    res: &mut Resources,
    logs_dir: &Path,
    em: &mut Emitter<'_>,
) {
    let mut users: Vec<String> = Vec::new();
    let mut decided: BTreeSet<String> = BTreeSet::new();
    for &i in &plan.order {
        let flow = &suite.flows[i];
        let own = flow.ast.user.as_ref().map(|u| u.value.as_str());
        let fresh = flow.ast.session == SessionMode::Fresh || flow.ast.browser.is_some();
        for user in saved_state::users_of(flow) {
            if decided.insert(user.clone()) && !(fresh && own == Some(user.as_str())) {
                users.push(user);
            }
        }
    }
    users.retain(|u| !res.sessions.contains_key(u));
    if users.is_empty() {
        return;
    }
    if res.driver.is_none() {
        match Driver::start(&config.browser, &logs_dir.join("chromedriver.log")).await {
            Ok(d) => res.driver = Some(d),
            Err(_) => return,
        }
    }
    let Some(driver) = res.driver.as_ref() else {
        return;
    };
    let opened = futures_util::future::join_all(users.iter().map(|u| async move {
        super::steps::open_user_session(driver, &config.browser, config, base_url, u).await
    }))
    .await;
    for (user, session) in users.into_iter().zip(opened) {
        if let Ok(session) = session {
            em.emit(session.started_event());
            res.sessions.insert(user, session);
        }
    }
}

/// The browser's console messages and finished requests during a step, redacted, into its
/// trace.
fn record_page_events(t: &mut StepTrace, events: Vec<PageEvent>, redactor: &Redactor) {
    let (mut console, mut network) = (Vec::new(), Vec::new());
    for event in events {
        match event {
            PageEvent::Console(mut c) => {
                c.text = redactor.redact(&c.text);
                console.push(c);
            }
            PageEvent::Network(mut n) => {
                n.url = redactor.redact(&n.url);
                network.push(n);
            }
        }
    }
    t.console = Some(console);
    t.network = Some(network);
}

/// Line `line` (1-based) of the flow file, trimmed.
fn source_line(flow: &CheckedFlow, line: u32) -> String {
    flow.source
        .lines()
        .nth((line as usize).saturating_sub(1))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Whether `next` is a read-only page step (`expect`, `wait_for` on an element or URL) in the
/// same session and top-level page as `step`, which returns the DOM snapshot with its answer.
fn reads_page_after(next: &PlannedStep, step: &PlannedStep, user: &Option<String>) -> bool {
    next.step.value.reads_page_after() && actor(next, user) == actor(step, user)
}

/// Whose browser page a step works in: its `as:`, else the flow's user.
fn actor(step: &PlannedStep, user: &Option<String>) -> Option<String> {
    step.step
        .value
        .page_user()
        .map(|u| u.value.clone())
        .or_else(|| user.clone())
}

/// Whether `next` runs in the same session and top-level page as `step`, with the same
/// group parameters: then the request `next` will send can be known while `step` runs.
fn same_page(next: &PlannedStep, step: &PlannedStep, user: &Option<String>) -> bool {
    next.call == step.call
        && next.step.value.frame().is_none()
        && step.step.value.frame().is_none()
        && actor(next, user) == actor(step, user)
}

impl FlowRunner<'_, '_> {
    async fn run(&mut self) -> Result<(), String> {
        let flow_id = self.flow.ast.id.value.clone();
        let fresh = self.flow.ast.session == SessionMode::Fresh;
        let user = self.flow.ast.user.as_ref().map(|u| u.value.clone());
        // A fresh session replaces the user's shared one for this flow and later ones, so a
        // second login method starts logged out.
        if fresh {
            if let Some(u) = &user {
                if let Some(old) = self.res.sessions.remove(u) {
                    old.close().await;
                }
            }
        }
        let steps = &self.flow.steps;
        let mut failure: Option<String> = None;
        let mut params_of: Option<usize> = None;
        for (index, planned) in steps.iter().enumerate() {
            let step = &planned.step;
            if failure.is_none() && *self.stepping {
                let actor = step
                    .value
                    .page_user()
                    .map(|u| u.value.clone())
                    .or_else(|| user.clone());
                if !self
                    .debug_prompt(index, step.loc.line, actor.as_deref())
                    .await
                {
                    self.quit = true;
                    failure = Some("stopped from the debugger (q)".into());
                }
            }
            if let Some(why) = &failure {
                if let Some(claim) = claims::claim_of(&step.value) {
                    self.criteria
                        .push(claims::not_reached(claim, index + 1, why));
                }
                self.em.emit(RunEventKind::StepFinished {
                    flow: flow_id.clone(),
                    step: self.skipped_step(planned, index),
                });
                continue;
            }
            let actor = step
                .value
                .page_user()
                .map(|u| u.value.clone())
                .or_else(|| user.clone());
            if planned.call != params_of {
                if let Err(e) = self.set_params(planned.call, user.as_deref()) {
                    failure = Some(self.redactor.redact(&format!(
                        "step {} ({}): {e}",
                        index + 1,
                        self.step_file(planned).display()
                    )));
                }
                params_of = planned.call;
            }
            let started = Instant::now();
            self.current_step = Some((index, started));
            let start = (OffsetDateTime::now_utc(), started);
            self.step_start.push(start);
            if let Some(mark) = step.value.mark() {
                // Saved as the step starts, like `after_step`: the mail it triggers comes later.
                self.vars.set_mark(&flow_id, &mark.value, start);
            }
            let browser_step = step.value.uses_browser();
            let mut trace = self.capture.as_ref().map(|_| StepTrace {
                started_ms: self.em.started.elapsed().as_millis() as u64,
                ..Default::default()
            });
            if let (Some(cap), Some(t), true) =
                (self.capture.as_mut(), trace.as_mut(), browser_step)
            {
                if cap.screenshots {
                    if let Some(session) = actor.as_deref().and_then(|u| self.res.sessions.get(u)) {
                        let rel = PathBuf::from(&flow_id)
                            .join("trace")
                            .join(format!("{:02}-before.jpg", index + 1));
                        t.screenshot_before = cap.frame(session, self.output_dir, rel).await;
                    }
                }
            }
            if index == 0 {
                // What the browsers did before this flow is no step's.
                for session in self.res.sessions.values() {
                    session.skip_page_events();
                }
            }
            self.em.emit(RunEventKind::StepStarted {
                flow: flow_id.clone(),
                index,
                kind: step.value.kind().to_owned(),
                line: step.loc.line,
            });
            let next_reads_page = steps
                .get(index + 1)
                .is_some_and(|next| reads_page_after(next, planned, &user));
            let prefetch_next = !*self.stepping && self.slow_mo.is_none();
            let mut ctx = self.step_context(index, None, self.capture.is_some());
            // An act's verdict round trip brings the trace's DOM when no later step will, and
            // the next step's first request when it can be known now.
            ctx.dom_after_act = ctx.trace_dom && !next_reads_page;
            ctx.prefetch = steps
                .get(index + 1)
                .filter(|next| prefetch_next && same_page(next, planned, &user))
                .and_then(|next| super::steps::prefetch_request(&ctx, &next.step.value));
            let result = super::steps::run_step(&mut ctx, &step.value).await;
            let (round_trips, extra_events) = (ctx.round_trips, std::mem::take(&mut ctx.events));
            let (driver_us, page_us) = (ctx.driver_us, ctx.page_us);
            let step_elapsed = started.elapsed();
            let exchange = ctx.exchange.take();
            let own_snapshot = ctx.dom_snapshot.take();
            if let (Some(cap), Some(t)) = (self.capture.as_mut(), trace.as_mut()) {
                t.exchange = exchange;
                if let Some(session) = actor.as_deref().and_then(|u| self.res.sessions.get(u)) {
                    if let Some(events) = session.take_page_events() {
                        record_page_events(t, events, self.redactor);
                    }
                }
                if browser_step {
                    if let Some(session) = actor.as_deref().and_then(|u| self.res.sessions.get(u)) {
                        let dir = PathBuf::from(&flow_id).join("trace");
                        let rel = dir.join(format!("{:02}-dom.html", index + 1));
                        let next_reads = result.is_ok() && next_reads_page;
                        match &own_snapshot {
                            Some(v) => cap.record(v, self.output_dir, rel, self.redactor, t),
                            // The next step brings the DOM back with its answer: a snapshot
                            // here would only wait for the page this step navigated to.
                            None if next_reads => t.dom_from_next_step = true,
                            None => {
                                cap.snapshot(session, self.output_dir, rel, self.redactor, t)
                                    .await;
                            }
                        }
                        if cap.screenshots {
                            t.screenshot_after = cap
                                .frame(
                                    session,
                                    self.output_dir,
                                    dir.join(format!("{:02}-after.jpg", index + 1)),
                                )
                                .await;
                        }
                    }
                }
            }
            for kind in extra_events {
                match kind {
                    // Held until the attempt ends: whether a PASS stands depends on the flow.
                    RunEventKind::CriterionRecorded {
                        flow: Some(_),
                        criterion,
                    } => self.criteria.push(criterion),
                    other => self.em.emit(other),
                }
            }
            let (status, summary, error, artifacts, evidence) = match result {
                Ok(StepOutcome {
                    summary,
                    artifacts,
                    evidence,
                }) => (StepStatus::Passed, summary, None, artifacts, evidence),
                Err(StepFailure {
                    summary,
                    message,
                    infrastructure,
                }) => {
                    self.infra_failure |= infrastructure;
                    let artifacts = self.failure_evidence(index, actor.as_deref()).await;
                    self.failed_step = Some(FailedStep {
                        index,
                        line: step.loc.line,
                        message: self.redactor.redact(&message),
                        actor: actor.clone(),
                        artifacts: artifacts.clone(),
                    });
                    let msg = message;
                    let located = format!(
                        "step {} ({}:{}) {}: {}",
                        index + 1,
                        self.step_file(planned).display(),
                        step.loc.line,
                        self.in_group(planned, &summary),
                        msg
                    );
                    let located = self.redactor.redact(&located);
                    if let Some(claim) = claims::claim_of(&step.value) {
                        self.criteria.push(claims::failed(claim, &located));
                    }
                    failure = Some(located);
                    (StepStatus::Failed, summary, Some(msg), artifacts, vec![])
                }
            };
            let duration_ms = started.elapsed().as_millis() as u64;
            let slow = (status == StepStatus::Passed)
                .then(|| {
                    self.baseline
                        .judge(&flow_id, index, step.value.kind(), duration_ms)
                })
                .flatten();
            let record = StepRecord {
                file: planned.call.map(|_| self.step_file(planned).to_path_buf()),
                index,
                kind: step.value.kind().to_owned(),
                line: step.loc.line,
                summary: self.redactor.redact(&self.in_group(planned, &summary)),
                status,
                duration_ms,
                error: error.map(|e| self.redactor.redact(&e)),
                artifacts,
                evidence,
                round_trips,
                time: Some(StepTime::split(
                    step_elapsed,
                    started.elapsed(),
                    driver_us,
                    page_us,
                )),
                trace,
                slow,
            };
            if *self.stepping {
                if let Some(i) = self.interaction.as_mut() {
                    i.step_finished(&record);
                }
            }
            self.em.emit(RunEventKind::StepFinished {
                flow: flow_id.clone(),
                step: record,
            });
            self.current_step = None;
            if let (Some(pause), true) = (self.slow_mo, browser_step) {
                tokio::time::sleep(pause).await;
            }
        }
        for (_, sub) in self.subscriptions.drain() {
            sub.close().await;
        }
        // Popups the flow switched to are closed, so the user's next flow starts in its main
        // window; a dialog a failed flow left open is dismissed, or it would fail every later
        // command of that user.
        let mut notices = Vec::new();
        for (user, session) in &self.res.sessions {
            if failure.is_some() {
                if let Ok(Some(message)) = session.dialog_text().await {
                    let _ = session.answer_dialog(false, None).await;
                    notices.push(format!(
                        "dismissed the dialog \"{}\" that {flow_id} left open in {user}'s browser",
                        self.redactor.redact(&message)
                    ));
                }
            }
            if let Err(e) = session.reset_windows().await {
                tracing::debug!("closing popups: {e}");
            }
        }
        for message in notices {
            self.em.emit(RunEventKind::Notice {
                flow: Some(flow_id.clone()),
                message,
            });
        }
        match failure {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// What step `index` runs with; `actor` is set by `run_step` from the step itself unless
    /// given (the debugger's locator probe); `trace_dom`: the flow is traced.
    /// The record of a step that did not run because an earlier one failed.
    fn skipped_step(&self, planned: &PlannedStep, index: usize) -> StepRecord {
        StepRecord {
            file: planned.call.map(|_| self.step_file(planned).to_path_buf()),
            index,
            kind: planned.step.value.kind().to_owned(),
            line: planned.step.loc.line,
            summary: String::new(),
            status: StepStatus::Skipped,
            duration_ms: 0,
            error: None,
            artifacts: vec![],
            evidence: vec![],
            round_trips: 0,
            time: None,
            trace: None,
            slow: None,
        }
    }

    fn step_context(
        &mut self,
        index: usize,
        actor: Option<String>,
        trace_dom: bool,
    ) -> StepContext<'_> {
        StepContext {
            config: self.config,
            flow: self.flow,
            index,
            base_url: self.base_url,
            output_dir: self.output_dir,
            logs_dir: self.logs_dir,
            http: self.http,
            redactor: self.redactor,
            vars: self.vars,
            sessions: &mut self.res.sessions,
            driver: &mut self.res.driver,
            mail_sources: &self.res.mail_sources,
            user: self.flow.ast.user.as_ref().map(|u| u.value.as_str()),
            actor,
            step_start: &self.step_start,
            subscriptions: &mut self.subscriptions,
            run_started: self.em.started,
            events: Vec::new(),
            round_trips: 0,
            driver_us: 0,
            page_us: 0,
            trace_dom,
            dom_snapshot: None,
            dom_after_act: false,
            exchange: None,
            restore: self.restore,
            prefetch: None,
        }
    }

    /// The file a step is written in: the flow's, or its group's.
    fn step_file(&self, planned: &PlannedStep) -> &std::path::Path {
        planned
            .call
            .and_then(|c| self.flow.calls.get(c))
            .map_or(self.flow.file.as_path(), |c| c.file.as_path())
    }

    /// `group › summary` for a step of a group.
    fn in_group(&self, planned: &PlannedStep, summary: &str) -> String {
        match planned.call {
            Some(_) => format!(
                "{} › {summary}",
                GroupCall::path(&self.flow.calls, planned.call)
            ),
            None => summary.to_owned(),
        }
    }

    /// Makes `{{ params.* }}` those of `call` (rendered in the caller's scope), or none.
    fn set_params(&mut self, call: Option<usize>, user: Option<&str>) -> Result<(), String> {
        let flow_id = self.flow.ast.id.value.clone();
        // The chain of calls, outermost first: each call's values are rendered with its
        // caller's params in place.
        let mut chain = Vec::new();
        let mut c = call;
        while let Some(i) = c {
            chain.push(i);
            c = self.flow.calls.get(i).and_then(|g| g.parent);
        }
        chain.reverse();
        self.vars.clear_params(&flow_id);
        for i in chain {
            let Some(g) = self.flow.calls.get(i) else {
                break;
            };
            let mut rendered = Vec::with_capacity(g.params.len());
            for (name, template) in &g.params {
                let r = self
                    .vars
                    .render(template, &flow_id, &self.flow.needs_closure, user)
                    .map_err(|e| format!("param `{name}` of group `{}`: {e}", g.group))?;
                rendered.push((
                    name.clone(),
                    Resolved {
                        value: r.value,
                        secret: r.has_secret,
                    },
                ));
            }
            self.vars.clear_params(&flow_id);
            for (name, value) in rendered {
                self.vars
                    .set_capture(&flow_id, &format!("params.{name}"), value);
            }
        }
        Ok(())
    }

    /// A timeout stopped the attempt in the middle of a step: that step fails with `why` (with
    /// the usual failure screenshot and page HTML), the steps after it are skipped, and the
    /// flow's subscriptions are closed. Returns the flow's reason (`step 2 (file:line) …: why`),
    /// or `None` when no step was running.
    async fn cut_short(&mut self, why: &str) -> Option<String> {
        for (_, sub) in self.subscriptions.drain() {
            sub.close().await;
        }
        let (index, started) = self.current_step.take()?;
        let flow_id = self.flow.ast.id.value.clone();
        let steps = &self.flow.steps;
        let planned = steps.get(index)?;
        let step = &planned.step;
        let file = self.step_file(planned).to_path_buf();
        let actor = step
            .value
            .page_user()
            .map(|u| u.value.clone())
            .or_else(|| self.flow.ast.user.as_ref().map(|u| u.value.clone()));
        let artifacts = self.failure_evidence(index, actor.as_deref()).await;
        let summary = self
            .redactor
            .redact(&self.in_group(planned, step.value.kind()));
        let located = self.redactor.redact(&format!(
            "step {} ({}:{}) {}: {why}",
            index + 1,
            file.display(),
            step.loc.line,
            step.value.kind()
        ));
        self.failed_step = Some(FailedStep {
            index,
            line: step.loc.line,
            message: why.to_owned(),
            actor,
            artifacts: artifacts.clone(),
        });
        self.em.emit(RunEventKind::StepFinished {
            flow: flow_id.clone(),
            step: StepRecord {
                file: planned.call.map(|_| file.clone()),
                index,
                kind: step.value.kind().to_owned(),
                line: step.loc.line,
                summary,
                status: StepStatus::Failed,
                duration_ms: started.elapsed().as_millis() as u64,
                error: Some(why.to_owned()),
                artifacts,
                evidence: vec![],
                round_trips: 0,
                time: None,
                trace: None,
                slow: None,
            },
        });
        if let Some(claim) = claims::claim_of(&step.value) {
            self.criteria.push(claims::failed(claim, &located));
        }
        for (later, p) in steps.iter().enumerate().skip(index + 1) {
            if let Some(claim) = claims::claim_of(&p.step.value) {
                self.criteria
                    .push(claims::not_reached(claim, later + 1, &located));
            }
            self.em.emit(RunEventKind::StepFinished {
                flow: flow_id.clone(),
                step: self.skipped_step(p, later),
            });
        }
        Some(located)
    }

    /// `--debug`: asks what to do before step `index` until the answer is to run it. Returns
    /// `false` when the person quits.
    async fn debug_prompt(&mut self, index: usize, line: u32, actor: Option<&str>) -> bool {
        let point = StepPoint {
            flow: self.flow.ast.id.value.clone(),
            attempt: self.attempt,
            index,
            total: self.flow.steps.len(),
            file: self.flow.file.clone(),
            line,
            source: source_line(self.flow, line),
            user: actor.map(str::to_owned),
        };
        let mut shots = 0;
        loop {
            let Some(interaction) = self.interaction.as_mut() else {
                return true;
            };
            let command = interaction.before_step(&point).await;
            match command {
                DebugCommand::Step => return true,
                DebugCommand::Continue => {
                    *self.stepping = false;
                    return true;
                }
                DebugCommand::Quit => return false,
                DebugCommand::Screenshot => {
                    shots += 1;
                    let answer = self.debug_screenshot(index, shots, actor).await;
                    if let Some(i) = self.interaction.as_mut() {
                        i.tell(&answer);
                    }
                }
                DebugCommand::Locator(text) => {
                    let answer = match actor {
                        Some(user) => {
                            let mut ctx = self.step_context(index, Some(user.to_owned()), false);
                            super::steps::probe_locator(&mut ctx, user, &text).await
                        }
                        None => "this step has no browser session to look in".to_owned(),
                    };
                    if let Some(i) = self.interaction.as_mut() {
                        i.tell(&answer);
                    }
                }
            }
        }
    }

    /// `--debug`'s `s`: a screenshot of the acting user's page, kept as an artifact.
    async fn debug_screenshot(&mut self, index: usize, n: u32, actor: Option<&str>) -> String {
        let Some(session) = actor.and_then(|u| self.res.sessions.get(u)) else {
            return "no browser session yet: step past the first browser step".to_owned();
        };
        let png = match tokio::time::timeout(Duration::from_secs(10), session.screenshot()).await {
            Ok(Ok(png)) => png,
            Ok(Err(e)) => return format!("no screenshot: {e}"),
            Err(_) => return "no screenshot: the browser did not answer within 10s".to_owned(),
        };
        let rel =
            PathBuf::from(&self.flow.ast.id.value).join(format!("{:02}-debug-{n}.png", index + 1));
        let path = self.output_dir.join(&rel);
        if let Err(e) = artifact::write_atomic(&path, &png) {
            return format!("cannot write {}: {e}", path.display());
        }
        self.em.emit(RunEventKind::ArtifactWritten {
            flow: Some(self.flow.ast.id.value.clone()),
            artifact: Artifact {
                kind: ArtifactKind::Screenshot,
                path: rel,
                bytes: png.len() as u64,
            },
        });
        format!("screenshot: {}", path.display())
    }

    /// A failing step always leaves a screenshot and the page's HTML (when a browser is open).
    async fn failure_evidence(&mut self, index: usize, user: Option<&str>) -> Vec<Artifact> {
        let Some(session) = user.and_then(|u| self.res.sessions.get(u)) else {
            return vec![];
        };
        let flow_id = &self.flow.ast.id.value;
        let mut out = Vec::new();
        let base = format!("{:02}-failure", index + 1);
        if let Ok(Ok(png)) =
            tokio::time::timeout(Duration::from_secs(10), session.screenshot()).await
        {
            let rel = PathBuf::from(flow_id).join(format!("{base}.png"));
            if artifact::write_atomic(&self.output_dir.join(&rel), &png).is_ok() {
                out.push(Artifact {
                    kind: ArtifactKind::Screenshot,
                    path: rel,
                    bytes: png.len() as u64,
                });
            }
        }
        if let Ok(Ok(html)) =
            tokio::time::timeout(Duration::from_secs(10), session.page_source()).await
        {
            let html = self.redactor.redact(&html);
            let rel = PathBuf::from(flow_id).join(format!("{base}.html"));
            if artifact::write_atomic(&self.output_dir.join(&rel), html.as_bytes()).is_ok() {
                out.push(Artifact {
                    kind: ArtifactKind::PageHtml,
                    path: rel,
                    bytes: html.len() as u64,
                });
            }
        }
        for a in &out {
            self.em.emit(RunEventKind::ArtifactWritten {
                flow: Some(flow_id.clone()),
                artifact: a.clone(),
            });
        }
        out
    }
}
