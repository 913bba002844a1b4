//! Start-up of a run, before the first flow: the run's secrets, the app (reuse or start the
//! web server), the `--no-deps` preflight, `RunStarted`, the health pre-check, mail sources
//! that watch for arrivals, the basic-auth notice, and the browsers (driver, sessions opened
//! together). Every await races the cancel flag ([`unless_cancelled`]). Each step that can end
//! the run early returns the [`RunEnd`] for the orchestrator to finish with.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use tokio::sync::watch;

use super::outcome::RunEnd;
use super::resources::{file_len, Emitter, Resources};
use super::{planned_flow, RunOptions};
use crate::artifact;
use crate::config::Config;
use crate::events::*;
use crate::exec::browser::Driver;
use crate::exec::health;
use crate::exec::saved_state::{self, Preflight};
use crate::exec::webserver;
use crate::flowfile::ast::SessionMode;
use crate::flowfile::check::Suite;
use crate::net::Http;
use crate::plan::Plan;
use crate::redact::Redactor;

/// Registers every secret known before the run starts: the E2E secret, the basic-auth
/// password, the fixed OTP, users' passwords and `[secrets] env` values; users' addresses as
/// public values.
pub(super) fn register_secrets(config: &Config, redactor: &Redactor) {
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
}

/// The app under test, as start-up found it.
pub(super) struct App {
    /// Where the flows go (empty for a mail-only suite).
    pub base: String,
    /// The run's HTTP client; basic auth goes to the target's origins only (base_url, api_url,
    /// and the web server's URL once it is known).
    pub http: Http,
    /// Why the app could not be reached or started.
    pub error: Option<String>,
}

/// Reuses the app if the configured URL answers, else starts the web server.
pub(super) async fn start_app(
    config: &Config,
    cancel: &mut watch::Receiver<bool>,
    res: &mut Resources,
) -> App {
    let mut http = Http::for_target(concat!("flows/", env!("CARGO_PKG_VERSION")), config);
    let mut base_url = config.base_url.clone();
    let mut startup_error = None;
    if let Some(ws) = &config.web_server {
        let reuse = match &base_url {
            Some(u) => unless_cancelled(cancel, webserver::answers(&http, u))
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
        if !reuse && startup_error.is_none() && !*cancel.borrow() {
            let secret = config.secret.as_ref().map(|s| s.value.as_str());
            let log = res.logs_dir.join("web-server.log");
            let started = tokio::select! {
                r = webserver::start(ws, port, secret, &log, &http) => Some(r),
                _ = cancelled(cancel) => None,
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
    App {
        base: base_url.unwrap_or_default(),
        http,
        error: startup_error,
    }
}

/// Flows the plan leaves out (`--no-deps`): reuse saved sessions, or run them after all.
pub(super) async fn preflight(
    config: &Config,
    suite: &Suite,
    plan: &Plan,
    app: &App,
    cancel: &mut watch::Receiver<bool>,
    redactor: &Redactor,
) -> Preflight {
    let pre = match app.error {
        None => {
            unless_cancelled(
                cancel,
                saved_state::preflight(config, suite, plan, &app.base, redactor),
            )
            .await
        }
        Some(_) => None,
    };
    pre.unwrap_or_else(|| Preflight {
        plan: plan.clone(),
        restore: HashMap::new(),
        captures: Vec::new(),
        notices: Vec::new(),
    })
}

/// `RunStarted`, the preflight's notices and the web server's address; returns the flows the
/// run plans, as reported.
pub(super) fn announce(
    em: &mut Emitter<'_>,
    config: &Config,
    suite: &Suite,
    opts: &RunOptions,
    app: &App,
    pre: &Preflight,
    res: &Resources,
) -> Vec<PlannedFlow> {
    let planned: Vec<PlannedFlow> = pre
        .plan
        .order
        .iter()
        .map(|&i| planned_flow(&suite.flows[i]))
        .collect();
    em.emit(RunEventKind::RunStarted {
        run_id: opts.run_id.clone(),
        profile: config.profile.clone(),
        base_url: app.base.clone(),
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        output_dir: opts.output_dir.clone(),
        flows: planned.clone(),
        trace_mode: config.trace.as_str().to_owned(),
        scope: opts.scope.clone(),
    });
    for (flow, message) in &pre.notices {
        em.emit(RunEventKind::Notice {
            flow: flow.clone(),
            message: res.redactor.redact(message),
        });
    }
    if res.web_server.is_some() {
        em.emit(RunEventKind::Notice {
            flow: None,
            message: format!(
                "started the web server at {} (log: {})",
                app.base,
                res.logs_dir.join("web-server.log").display()
            ),
        });
    }
    planned
}

/// The health pre-check, before any browser starts; a suite that only reads a mail catcher
/// never reaches the target, so there is nothing to check.
pub(super) async fn health_check(
    config: &Config,
    suite: &Suite,
    app: &App,
    opts: &mut RunOptions,
    em: &mut Emitter<'_>,
    redactor: &Redactor,
) -> Result<(), RunEnd> {
    let needs_target = config.needs_target(suite);
    if !(config.health.enabled && needs_target) {
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
        return Ok(());
    }
    let Some(report) = unless_cancelled(
        &mut opts.cancel,
        health::run(config, &app.base, &app.http, redactor),
    )
    .await
    else {
        return Err(RunEnd::Interrupted);
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
                verdict: c.verdict,
                evidence: vec![format!(
                    "health-pre-check.json: {} → {}",
                    c.name,
                    c.status.map_or("no answer".to_owned(), |s| s.to_string())
                )],
                note: c.error.clone(),
                proves: Some(crate::events::Proof::Health),
            },
        });
    }
    if report.passed {
        Ok(())
    } else {
        Err(RunEnd::HealthCheckFailed(report.failing.clone()))
    }
}

/// Mail sources with an event stream start watching now, so that a message sent by the first
/// flow's first step is announced (its arrival known by the runner's clock).
pub(super) async fn watch_mail_sources(
    config: &Config,
    suite: &Suite,
    plan: &Plan,
    app: &App,
    res: &mut Resources,
) {
    if !planned_reads_mail(suite, plan) {
        return;
    }
    if let Ok(cfg) = crate::exec::step::mail::source_config(config, &app.base) {
        if !matches!(cfg, crate::mail::MailSourceConfig::StagingEndpoint { .. }) {
            res.mail_sources.get(&cfg, &app.http).await;
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

/// Basic auth: the browser keeps the credentials only from a page that asks for them; says so
/// when the sign-in page does not.
pub(super) async fn basic_auth_notice(
    config: &Config,
    base: &str,
    cancel: &mut watch::Receiver<bool>,
    em: &mut Emitter<'_>,
    redactor: &Redactor,
) {
    let Some(auth) = &config.basic_auth else {
        return;
    };
    let page = match &auth.sign_in_path {
        Some(path) => format!("{}{path}", base.trim_end_matches('/')),
        None => base.to_owned(),
    };
    let challenge = unless_cancelled(
        cancel,
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

/// The driver (or the remote WebDriver server) before the first flow: a driver that is not
/// there is an infrastructure error of the run, not a failure of the flow that needed it. Then
/// every user's session at once, unless saved sessions are restored.
pub(super) async fn start_browsers(
    config: &Config,
    suite: &Suite,
    pre: &Preflight,
    base: &str,
    cancel: &mut watch::Receiver<bool>,
    res: &mut Resources,
    em: &mut Emitter<'_>,
) -> Result<(), RunEnd> {
    let plan = &pre.plan;
    let needs_browser = plan
        .order
        .iter()
        .any(|&i| !saved_state::users_of(&suite.flows[i]).is_empty());
    let logs_dir = res.logs_dir.clone();
    if needs_browser && res.driver.is_none() {
        let log = logs_dir.join(format!("{}.log", config.browser.name.driver()));
        match unless_cancelled(cancel, Driver::start(&config.browser, &log)).await {
            None => return Err(RunEnd::Interrupted),
            Some(Ok(driver)) => {
                // A Grid must hold the run's sessions at once (see `sessions_at_once`).
                let needed = sessions_at_once(config, suite, plan);
                let browser = crate::exec::browser::w3c_name(&config.browser);
                if let Err(e) = driver.check_capacity(browser, needed) {
                    return Err(RunEnd::Infrastructure(res.redactor.redact(&e.to_string())));
                }
                res.driver = Some(driver);
            }
            Some(Err(e)) => {
                return Err(RunEnd::Infrastructure(res.redactor.redact(&e.to_string())));
            }
        }
    }
    if pre.restore.is_empty() && !*cancel.borrow() {
        let prestart = prestart_sessions(config, suite, plan, base, res, &logs_dir, em);
        if unless_cancelled(cancel, prestart).await.is_none() {
            return Err(RunEnd::Interrupted);
        }
    }
    Ok(())
}

/// How many browser sessions the run holds at once: one shared browser with a user context per
/// user (`isolation = "context"`), else a browser per user of the plan, all opened at start-up.
fn sessions_at_once(config: &Config, suite: &Suite, plan: &Plan) -> usize {
    if config.browser.isolation == crate::config::Isolation::Context && config.browser.bidi {
        return 1;
    }
    let users: BTreeSet<String> = plan
        .order
        .iter()
        .flat_map(|&i| saved_state::users_of(&suite.flows[i]))
        .collect();
    users.len().max(1)
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
        match Driver::start(
            &config.browser,
            &logs_dir.join(format!("{}.log", config.browser.name.driver())),
        )
        .await
        {
            Ok(d) => res.driver = Some(d),
            Err(_) => return,
        }
    }
    let Some(driver) = res.driver.as_ref() else {
        return;
    };
    let opened = futures_util::future::join_all(users.iter().map(|u| async move {
        crate::exec::step::open_user_session(driver, &config.browser, config, base_url, u).await
    }))
    .await;
    for (user, session) in users.into_iter().zip(opened) {
        if let Ok(session) = session {
            em.emit(session.started_event());
            res.sessions.insert(user, session);
        }
    }
}

/// Runs `fut` unless the run is cancelled first (then `None`). Every await of start-up goes
/// through here, so a signal is acted on at once, not when every browser has started.
pub(super) async fn unless_cancelled<T>(
    cancel: &mut watch::Receiver<bool>,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        biased;
        () = cancelled(cancel) => None,
        v = fut => Some(v),
    }
}

/// Returns once the run is cancelled (never, if the sender is gone).
pub(super) async fn cancelled(rx: &mut watch::Receiver<bool>) {
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
