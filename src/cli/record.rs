//! `flows record URL`: starts what a recording needs (a virtual display when there is none,
//! the app when the suite has a `[web_server]`, chromedriver and a headed browser, signed in as
//! `--user` from the saved session), writes the flow as the person clicks (`crate::record`),
//! and on stop (Ctrl-C, or the window closed) stops everything it started and checks the file
//! as `flows check` does. Exit 0 when the file is check-clean.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{check_env, load, Signals, SuiteArgs};
use crate::config::{CliOverrides, Config, Isolation};
use crate::exec::browser::{BrowserSession, Driver};
use crate::exec::process::{find_executable, ManagedChild};
use crate::exec::{saved_state, webserver};
use crate::exit_code;
use crate::flowfile::check::{load_suite, Suite};
use crate::record::browser::{attach, news, PageNews};
use crate::record::flow_file::step_yaml;
use crate::record::{RecordedFlow, Recorder};
use crate::state::{SavedSession, SessionStore};

#[derive(Debug, Args, Clone)]
pub struct RecordArgs {
    /// Where to start: a path (`/d/it-support`, resolved against the suite's target, as `goto`
    /// does) or a full URL.
    pub url: String,
    /// The flow's user: the browser starts signed in as this user, from the session the last
    /// run saved, and the flow needs the flow that left it.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The flow file to write (in the suite's flow directory; never overwritten). Its name
    /// is the flow's id.
    #[arg(long, short = 'o', default_value = "flows/new-flow.yaml")]
    pub out: PathBuf,
    /// The flow's title (default: from its id).
    #[arg(long)]
    pub title: Option<String>,
    /// Record against this app instead of the configured target (when it answers, the
    /// configured web server is not started).
    #[arg(long)]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub suite: SuiteArgs,
}

/// What the checks before anything starts settled.
struct Plan {
    config: Config,
    out: PathBuf,
    flow: RecordedFlow,
    saved: Option<SavedSession>,
    user_email: Option<String>,
}

/// Everything started, stopped in reverse order on every way out.
#[derive(Default)]
struct Started {
    xvfb: Option<ManagedChild>,
    web_server: Option<webserver::RunningWebServer>,
    driver: Option<Driver>,
    session: Option<BrowserSession>,
}

impl Started {
    async fn stop(&mut self) {
        if let Some(s) = self.session.take() {
            s.close().await;
        }
        if let Some(mut d) = self.driver.take() {
            d.stop(false).await;
        }
        if let Some(w) = self.web_server.take() {
            w.stop(false).await;
        }
        if let Some(mut x) = self.xvfb.take() {
            x.stop(Duration::from_secs(2)).await;
        }
    }
}

pub fn record(args: &RecordArgs) -> u8 {
    let plan = match prepare(args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // Before the runtime's threads exist: chromedriver and its browser inherit DISPLAY.
    let display = if plan.config.browser.webdriver_url.is_none()
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        let Some(xvfb) = find_executable("Xvfb") else {
            eprintln!(
                "error: `flows record` shows a browser window, and there is no display (DISPLAY and WAYLAND_DISPLAY are unset) and no Xvfb to make one\n  = hint: install it (Debian/Ubuntu, as root: apt-get install -y xvfb), or run it where DISPLAY is set"
            );
            return exit_code::INFRASTRUCTURE;
        };
        let n = free_display();
        std::env::set_var("DISPLAY", format!(":{n}"));
        Some((xvfb, n))
    } else {
        None
    };
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(run(plan, args, display))
}

/// Everything that can be refused before anything starts: the config and flows, `--out`,
/// `--user` and its saved session.
fn prepare(args: &RecordArgs) -> Result<Plan, u8> {
    let cli = CliOverrides {
        profile: args.suite.profile.clone(),
        base_url: args.base_url.clone(),
        headed: true,
        ..Default::default()
    };
    let (config, suite) = load(&args.suite, &cli)?;
    let usage = |msg: String| {
        eprintln!("error: {msg}");
        exit_code::USAGE
    };
    let out = args.out.clone();
    let id = out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();
    let yaml = out.extension().is_some_and(|e| e == "yaml");
    if id.is_empty()
        || !yaml
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(usage(format!(
            "--out {}: a flow file is NAME.yaml, its name (letters, digits, - and _) the flow's id\n  = hint: --out {}/new-flow.yaml",
            out.display(),
            config.flows_dir.display()
        )));
    }
    let same_dir = match (
        out.parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .and_then(|p| p.canonicalize().ok()),
        config.flows_dir.canonicalize().ok(),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    if !same_dir {
        return Err(usage(format!(
            "--out {} is not in the suite's flow directory {}: the recorded flow is checked, and replayed, with the suite's flows (its needs are among them)\n  = hint: --out {}/{id}.yaml",
            out.display(),
            config.flows_dir.display(),
            config.flows_dir.display()
        )));
    }
    if out.exists() {
        return Err(usage(format!(
            "{} exists; `flows record` never overwrites a flow\n  = hint: pick another --out, or remove that file",
            out.display()
        )));
    }
    if let Some(flow) = suite.get(&id) {
        return Err(usage(format!(
            "a flow with id `{id}` exists ({}); the recorded flow's id comes from its file name\n  = hint: pick another --out name",
            flow.file.display()
        )));
    }
    let (saved, user_email, needs, user) = match &args.user {
        // Browser steps run as a user: the first by name, signed out (no saved state).
        None => {
            let Some(first) = config.users.keys().next().cloned() else {
                return Err(usage(format!(
                    "{} has no [users]; a flow's browser steps run as one of them\n  = hint: add [users.NAME] with its email",
                    args.suite.config.display()
                )));
            };
            eprintln!("note: no --user: the flow acts as `{first}` (the first of [users] by name), starting signed out");
            (None, None, vec![], first)
        }
        Some(user) => {
            let Some(u) = config.user(user) else {
                let known: Vec<&str> = config.users.keys().map(String::as_str).collect();
                return Err(usage(format!(
                    "--user {user}: no such user in {} (users: {})",
                    args.suite.config.display(),
                    known.join(", ")
                )));
            };
            let store = SessionStore::new(&config.state_dir, &config.profile);
            let saved = match store.load(user) {
                Ok(Some(s)) => s,
                Ok(None) => {
                    return Err(usage(format!(
                        "--user {user}: no saved session ({} does not exist), so the browser cannot start signed in as {user}\n  = hint: run a flow that signs {user} in first: flows run {}",
                        store.path_of(user).display(),
                        sign_in_flow(&suite, user).unwrap_or("FLOW")
                    )))
                }
                Err(e) => return Err(usage(format!("--user {user}: {e}"))),
            };
            if !saved.email.is_empty() && saved.email != u.email {
                return Err(usage(format!(
                    "--user {user}: the saved session is of {}, not {}\n  = hint: run a flow that signs {user} in again: flows run {}",
                    saved.email,
                    u.email,
                    sign_in_flow(&suite, user).unwrap_or("FLOW")
                )));
            }
            let needs = if suite.get(&saved.flow).is_some() {
                vec![saved.flow.clone()]
            } else {
                vec![]
            };
            (Some(saved), Some(u.email.clone()), needs, user.clone())
        }
    };
    let title = args.title.clone().unwrap_or_else(|| {
        let words = id.replace(['-', '_'], " ");
        let mut c = words.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    });
    let flow = RecordedFlow {
        id,
        title,
        user: Some(user),
        needs,
        started_at: format!(
            "from {}{}",
            args.url,
            args.user
                .as_deref()
                .map(|u| format!(" as {u}"))
                .unwrap_or_default()
        ),
        secrets: vec![],
        steps: vec![],
    };
    Ok(Plan {
        config,
        out,
        flow,
        saved,
        user_email,
    })
}

/// The flow that leaves `user` signed in from nothing: theirs, with no needs.
fn sign_in_flow<'a>(suite: &'a Suite, user: &str) -> Option<&'a str> {
    suite
        .flows
        .iter()
        .find(|f| f.ast.user.as_ref().is_some_and(|u| u.value == user) && f.ast.needs.is_empty())
        .map(|f| f.id())
}

/// A display number no X server holds (no lock file, no socket), starting from a number of its
/// own (process id and clock): two recorders starting at once (parallel tests, two terminals)
/// would otherwise both pick the lowest free one. The Xvfb start then checks that the display
/// really is its own.
fn free_display() -> u32 {
    const FIRST: u32 = 1000;
    const SPAN: u32 = 29_000;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let start = std::process::id().wrapping_mul(7919).wrapping_add(nanos) % SPAN;
    (0..SPAN)
        .map(|i| FIRST + (start + i) % SPAN)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .unwrap_or(FIRST)
}

/// Whether display `n` is held by the X server with process id `pid` (its lock file says so).
fn display_held_by(n: u32, pid: Option<u32>) -> bool {
    let Some(pid) = pid else { return false };
    std::fs::read_to_string(format!("/tmp/.X{n}-lock"))
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        == Some(pid)
}

async fn run(plan: Plan, args: &RecordArgs, display: Option<(PathBuf, u32)>) -> u8 {
    let mut signals = Signals::register();
    let mut started = Started::default();
    let logs = plan.config.output_root.join("record");
    let code = tokio::select! {
        code = record_in_browser(&plan, args, display, &logs, &mut started, &mut signals) => code,
    };
    started.stop().await;
    if code != exit_code::SUCCESS {
        return code;
    }
    check(&plan)
}

/// Starts everything, then records until Ctrl-C or the window closes.
async fn record_in_browser(
    plan: &Plan,
    args: &RecordArgs,
    display: Option<(PathBuf, u32)>,
    logs: &Path,
    started: &mut Started,
    signals: &mut Signals,
) -> u8 {
    let infra = |what: String| {
        eprintln!("error: {what} (logs: {})", logs.display());
        exit_code::INFRASTRUCTURE
    };
    macro_rules! or_interrupted {
        ($fut:expr) => {
            tokio::select! {
                r = $fut => r,
                _ = signals.recv() => {
                    eprintln!("interrupted while starting; stopping what was started");
                    return exit_code::INTERRUPTED;
                }
            }
        };
    }
    if let Some((xvfb, n)) = display {
        let child = ManagedChild::spawn(
            "Xvfb",
            &xvfb,
            &[
                format!(":{n}"),
                "-screen".into(),
                "0".into(),
                "1280x1024x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ],
            None,
            &[],
            Some(&logs.join("xvfb.log")),
        );
        match child {
            Ok(c) => started.xvfb = Some(c),
            Err(e) => return infra(format!("could not start Xvfb: {e}")),
        }
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let ready = or_interrupted!(async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let ours = started.xvfb.as_ref().and_then(|x| x.pid());
                if socket.exists() && display_held_by(n, ours) {
                    return true;
                }
                if started.xvfb.as_ref().is_some_and(|x| x.exited().is_some())
                    || tokio::time::Instant::now() > deadline
                {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        if !ready {
            // Another X server took the display first: never share it (it would go away
            // with its owner, taking this recording's browser with it).
            return infra(format!(
                "Xvfb did not open display :{n} within 10s (another X server may hold it; run again)"
            ));
        }
        eprintln!(
            "note: no display (DISPLAY and WAYLAND_DISPLAY are unset): started Xvfb on :{n}. Nobody can see that screen; it is useful only when something else drives the browser (a test). To record by hand, run this where you have a display."
        );
    }

    let config = &plan.config;
    let http = crate::net::Http::for_target(concat!("flows/", env!("CARGO_PKG_VERSION")), config);
    let mut base = config.base_url.clone();
    // As `flows run`: a target that answers is used; else the web server is started for it.
    if let Some(ws) = &config.web_server {
        let reuse = match &base {
            Some(u) => webserver::answers(&http, u).await,
            None => false,
        };
        if !reuse {
            let port = match base.as_deref().map(webserver::local_port) {
                Some(Ok(p)) => Some(p),
                Some(Err(e)) => return infra(e),
                None => None,
            };
            let secret = config.secret.as_ref().map(|s| s.value.as_str());
            let log = logs.join("web-server.log");
            match or_interrupted!(webserver::start(ws, port, secret, &log, &http)) {
                Ok(server) => {
                    eprintln!("started the web server at {}", server.base_url);
                    base = Some(server.base_url.clone());
                    started.web_server = Some(server);
                }
                Err(e) => return infra(e.to_string()),
            }
        }
    }
    let Some(base) = base.map(|b| b.trim_end_matches('/').to_owned()) else {
        eprintln!("error: no target URL: set [target] base_url, a [web_server], or --base-url");
        return exit_code::USAGE;
    };

    let mut cfg = config.browser.clone();
    cfg.headless = false;
    cfg.bidi = true;
    cfg.isolation = Isolation::Process;
    let driver_log = logs.join("chromedriver.log");
    let driver = match or_interrupted!(Driver::start(&cfg, &driver_log)) {
        Ok(d) => started.driver.insert(d),
        Err(e) => return infra(e.to_string()),
    };
    let user = plan
        .flow
        .user
        .clone()
        .unwrap_or_else(|| "recorder".to_owned());
    let session = match or_interrupted!(BrowserSession::open_own_browser(driver, &cfg, &user)) {
        Ok(s) => s,
        Err(e) => return infra(e.to_string()),
    };
    let driver_url = driver.url.clone();
    let session = started.session.insert(session);
    if let Some(saved) = &plan.saved {
        if saved_state::origin_of(&base).as_deref() != Some(saved.origin.as_str()) {
            eprintln!(
                "error: --user {user}: the saved session is for {}, and the target is {base}\n  = hint: run a flow that signs {user} in against this target first",
                saved.origin
            );
            return exit_code::USAGE;
        }
        if let Err(e) = or_interrupted!(saved_state::restore_into(session, saved, &base)) {
            return infra(format!("could not restore {user}'s saved session: {e}"));
        }
    }
    let mut rx = match or_interrupted!(attach(session)) {
        Ok(rx) => rx,
        Err(e) => return infra(format!("could not install the recorder in the page: {e}")),
    };
    let sid = session
        .webdriver_session_id()
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let full = if args.url.starts_with('/') {
        format!("{base}{}", args.url)
    } else {
        args.url.clone()
    };
    let mut recorder = Recorder::new(plan.flow.clone(), &plan.out, &base, plan.user_email.clone());
    match recorder.add_goto(&args.url) {
        Ok(step) => say!("  + {}", step_yaml(&step.step)),
        Err(e) => return infra(format!("cannot write {}: {e}", plan.out.display())),
    }
    if let Err(e) = or_interrupted!(session.goto(&full)) {
        return infra(format!("could not open {full}: {e}"));
    }
    // A test (or a tool) drives the recording browser through this session: said only once
    // the first page is open, since a command sent earlier (a find that waits) would queue the
    // recorder's own navigation behind it.
    eprintln!("recording: webdriver {driver_url} session {sid}");
    eprintln!(
        "recording to {}: use the page; Alt+Shift+A toggles assert mode (the next click becomes an `expect`); Ctrl-C or closing the window stops",
        plan.out.display()
    );
    loop {
        tokio::select! {
            _ = signals.recv() => {
                eprintln!("\nstopping: closing the browser and checking {}", plan.out.display());
                break;
            }
            event = rx.recv() => match event {
                None => {
                    eprintln!("the browser is gone; checking {}", plan.out.display());
                    break;
                }
                Some((method, params)) => match news(&method, &params) {
                    Some(PageNews::Message(text)) => match recorder.handle(&text) {
                        Ok(steps) => {
                            for s in steps {
                                if let Some(note) = &s.note {
                                    say!("    # {note}");
                                }
                                say!("  + {}", step_yaml(&s.step));
                            }
                        }
                        Err(e) => return infra(format!("cannot write {}: {e}", plan.out.display())),
                    },
                    Some(PageNews::WindowClosed) => {
                        eprintln!("the window was closed; checking {}", plan.out.display());
                        break;
                    }
                    None => {}
                },
            },
        }
    }
    exit_code::SUCCESS
}

/// The file as `flows check` sees it, with the rest of the suite.
fn check(plan: &Plan) -> u8 {
    match load_suite(&plan.config.flows_dir, &check_env(&plan.config)) {
        Ok(suite) => {
            let steps = suite.get(&plan.flow.id).map_or(0, |f| f.steps.len());
            say!(
                "ok: {} is check-clean ({steps} steps); replay it with: flows run {}",
                plan.out.display(),
                plan.flow.id
            );
            exit_code::SUCCESS
        }
        Err(diags) => {
            eprint!("{}", diags.render_all_from_disk(super::color_stderr()));
            eprintln!(
                "error: {} does not pass `flows check` as recorded; edit it as the messages say",
                plan.out.display()
            );
            exit_code::USAGE
        }
    }
}
