//! Debugging one flow locally (issue 7), in real Chromium against the in-process demo helpdesk:
//! saved sessions for `--no-deps`, retries and flaky flows, `--last-failed`, `flows flaky`,
//! `--headed` under Xvfb, and `--debug` / `--pause-on-failure` through a pseudo-terminal.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const REQUESTER: &str = "requester@helpdesk.test";

/// A temp suite with `flows` written out, `repo_flows` copied from the repository's `flows/`,
/// and `[sessions] check_url = "/api/me"`.
fn suite_with(flows: &[(&str, &str)], repo_flows: &[&str]) -> tempfile::TempDir {
    let dir = temp_suite(flows);
    for name in repo_flows {
        std::fs::copy(
            repo_root().join("flows").join(name),
            dir.path().join("flows").join(name),
        )
        .unwrap_or_else(|e| panic!("copy {name}: {e}"));
    }
    let config = dir.path().join("flows/flows.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str("\n[sessions]\ncheck_url = \"/api/me\"\n");
    std::fs::write(&config, text).expect("config");
    dir
}

/// `flows run ARGS… --base-url <app>` in the suite's directory, with the browser's temp files
/// (its profile) under the suite's directory too, so its processes can be found by that path.
fn flows_run(suite: &Path, app: &helpdesk::RunningHelpdesk, args: &[&str]) -> FlowsCmd {
    FlowsCmd::new()
        .cwd(suite)
        .env("TMPDIR", suite.to_str().expect("utf-8"))
        .args(["run"])
        .args(args)
        .args(["--base-url", &app.url()])
}

/// The newest run directory under the suite's artifacts.
fn last_run(suite: &Path) -> PathBuf {
    run_dir(&suite.join("artifacts"))
}

/// How many sign-in code mails the requester has received.
async fn sign_in_mails(base: &str) -> usize {
    let report: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/staging/e2e/mail-report?emails={REQUESTER}"))
        .header("X-Staging-E2E-Secret", SECRET)
        .send()
        .await
        .expect("mail report")
        .json()
        .await
        .expect("mail report json");
    report["mailboxes"][REQUESTER]
        .as_array()
        .expect("mailbox")
        .iter()
        .filter(|m| m["subject"] == "Your sign-in code")
        .count()
}

/// The saved session file of `user` and its cookies as `(name, value)`.
fn saved_cookies(suite: &Path, user: &str) -> (PathBuf, Vec<(String, String)>) {
    let path = suite
        .join(".flows/state/local")
        .join(format!("{user}.json"));
    let saved = read_json(&path);
    let cookies = saved["cookies"]
        .as_array()
        .expect("cookies")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name").to_owned(),
                c["value"].as_str().expect("value").to_owned(),
            )
        })
        .collect();
    (path, cookies)
}

/// Signs the saved session out on the server (the helpdesk's own logout form, with its CSRF
/// token), so the saved cookies are no longer valid.
async fn log_out_server_side(base: &str, cookies: &[(String, String)]) {
    let header = cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = client
        .get(format!("{base}/dashboard"))
        .header("Cookie", &header)
        .send()
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("dashboard body");
    let token = regex::Regex::new(r#"name="csrf-token" content="([^"]+)""#)
        .expect("regex")
        .captures(&page)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| panic!("the saved session is signed in (dashboard): {page}"));
    let out = client
        .post(format!("{base}/logout"))
        .header("Cookie", &header)
        .form(&[("_token", token)])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status().as_u16(), 303, "logout redirects");
    let me = client
        .get(format!("{base}/api/me"))
        .header("Cookie", &header)
        .send()
        .await
        .expect("api/me");
    assert_eq!(me.status().as_u16(), 401, "the saved session is signed out");
}

/// `--no-deps` starts the user from the saved session (no second login, no new sign-in mail);
/// once that session is signed out on the server, it says so and logs in again. The saved
/// session is owner-only, lives in `.flows/state/`, and no cookie value reaches an artifact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_deps_reuses_a_saved_session_and_logs_in_again_when_it_is_signed_out() {
    let app = helpdesk().await;
    let suite = suite_with(
        &[],
        &["01-otp-login.yaml", "03-department-portal-open.yaml"],
    );
    let dir = suite.path();
    let mut cookie_values: Vec<String> = Vec::new();

    // 1. A normal run logs in (otp-login runs first) and saves the session.
    let out = flows_run(dir, &app, &["department-portal-open"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let (saved, cookies) = saved_cookies(dir, "requester");
    assert!(!cookies.is_empty(), "cookies were saved");
    cookie_values.extend(cookies.iter().map(|(_, v)| v.clone()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&saved), 0o600, "saved session mode");
        assert_eq!(
            mode(saved.parent().expect("dir")),
            0o700,
            "saved session dir mode"
        );
    }
    assert_eq!(sign_in_mails(&app.url()).await, 1);

    // 2. --no-deps: the saved session stands in for otp-login.
    let out = flows_run(dir, &app, &["department-portal-open", "--no-deps"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = read_json(&last_run(dir).join("staging-run-report.json"));
    assert_eq!(
        flow_statuses(&report),
        vec![("department-portal-open".to_owned(), "passed".to_owned())],
        "{}",
        out.all()
    );
    assert!(
        out.stdout
            .contains("started requester's browser from the saved session"),
        "{}",
        out.all()
    );
    assert_eq!(
        sign_in_mails(&app.url()).await,
        1,
        "no new sign-in mail: the login flow did not run"
    );

    // 3. The session is signed out on the server: the run says so and logs in again.
    let (_, cookies) = saved_cookies(dir, "requester");
    cookie_values.extend(cookies.iter().map(|(_, v)| v.clone()));
    log_out_server_side(&app.url(), &cookies).await;
    let out = flows_run(dir, &app, &["department-portal-open", "--no-deps"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("the saved session of requester is no longer valid (GET /api/me → 401"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains("running otp-login first"),
        "{}",
        out.all()
    );
    let report = read_json(&last_run(dir).join("staging-run-report.json"));
    assert_eq!(
        flow_statuses(&report),
        vec![
            ("otp-login".to_owned(), "passed".to_owned()),
            ("department-portal-open".to_owned(), "passed".to_owned())
        ]
    );
    assert_eq!(sign_in_mails(&app.url()).await, 2, "logged in again");
    let (_, cookies) = saved_cookies(dir, "requester");
    cookie_values.extend(cookies.iter().map(|(_, v)| v.clone()));

    // Saved sessions never reach the output: no artifact holds a cookie value.
    let artifacts = dir.join("artifacts");
    assert!(!saved.starts_with(&artifacts));
    let files = files_under(&artifacts);
    assert!(files.len() > 10, "the runs left artifacts: {files:?}");
    for file in files {
        let bytes = std::fs::read(&file).expect("read artifact");
        let text = String::from_utf8_lossy(&bytes);
        for value in &cookie_values {
            assert!(
                !text.contains(value.as_str()),
                "{} holds a saved cookie value",
                file.display()
            );
        }
    }
    app.shutdown().await;
}

const SIGN_IN_PAGE: &str = r#"
id: sign-in-page
title: The sign-in page
user: requester
steps:
  - goto: /login
  - expect: { role: heading, name: Sign in, timeout: 2s }
"#;

const APP_UP: &str = r#"
id: app-up
title: The app answers
steps:
  - http: { url: /up, expect: { status: 200 } }
"#;

async fn fail_next_login_page(base: &str) {
    fault(
        base,
        serde_json::json!({"kind": "route_error", "path": "/login", "status": 500, "count": 1}),
    )
    .await;
}

/// An injected first failure: `--last-failed` reruns exactly that flow, `flows flaky` lists it
/// as flipped, `--retries 1` turns it into `flaky` in the JSON report and JUnit, and
/// `--fail-on-flaky` exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_make_flaky_flows_and_the_history_remembers_them() {
    let app = helpdesk().await;
    let suite = suite_with(&[("sign-in.yaml", SIGN_IN_PAGE), ("up.yaml", APP_UP)], &[]);
    let dir = suite.path();

    // Without retries the injected failure fails the flow.
    fail_next_login_page(&app.url()).await;
    let out = flows_run(dir, &app, &["--all"]).output().await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = read_json(&last_run(dir).join("staging-run-report.json"));
    assert_eq!(
        flow_statuses(&report),
        vec![
            ("sign-in-page".to_owned(), "failed".to_owned()),
            ("app-up".to_owned(), "passed".to_owned())
        ]
    );

    // --last-failed: exactly the flow that failed.
    let out = flows_run(dir, &app, &["--last-failed"]).output().await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = read_json(&last_run(dir).join("staging-run-report.json"));
    assert_eq!(
        flow_statuses(&report),
        vec![("sign-in-page".to_owned(), "passed".to_owned())]
    );

    // It failed, then passed: flows flaky lists it, and only it.
    let out = FlowsCmd::new().cwd(dir).args(["flaky"]).output().await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("sign-in-page  FP  1 flip (last: passed)"),
        "{}",
        out.all()
    );
    assert!(!out.stdout.contains("app-up"), "{}", out.all());

    // --retries 1: the failure is retried and the flow is flaky in every report.
    fail_next_login_page(&app.url()).await;
    let out = flows_run(
        dir,
        &app,
        &["sign-in-page", "--retries", "1", "--reporter", "list,junit"],
    )
    .output()
    .await;
    assert_eq!(
        out.code,
        0,
        "flaky passes without --fail-on-flaky\n{}",
        out.all()
    );
    assert!(out.stdout.contains("FLAKY  sign-in-page"), "{}", out.all());
    let run = last_run(dir);
    let report = read_json(&run.join("staging-run-report.json"));
    let flow = &report["flows"][0];
    assert_eq!(flow["status"], "flaky");
    assert_eq!(flow["attempts"], 2);
    assert_eq!(report["totals"]["flaky"], 1);
    let junit = std::fs::read_to_string(run.join("junit.xml")).expect("junit.xml");
    assert!(
        junit.contains(r#"<property name="flaky" value="true"/>"#),
        "{junit}"
    );
    assert!(junit.contains("flakyFailure"), "{junit}");

    // --fail-on-flaky: the same flaky result exits 1.
    fail_next_login_page(&app.url()).await;
    let out = flows_run(
        dir,
        &app,
        &["sign-in-page", "--retries", "1", "--fail-on-flaky"],
    )
    .output()
    .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("--fail-on-flaky"), "{}", out.all());
    let report = read_json(&last_run(dir).join("staging-run-report.json"));
    assert_eq!(report["flows"][0]["status"], "flaky");

    let out = FlowsCmd::new()
        .cwd(dir)
        .args(["flaky", "--runs", "2"])
        .output()
        .await;
    assert!(
        out.stdout.contains("sign-in-page  ff  2 passed on a retry"),
        "{}",
        out.all()
    );
    app.shutdown().await;
}

/// `--headed` drives a visible browser under Xvfb; without a display it says how to get one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headed_runs_a_flow_under_xvfb() {
    let app = helpdesk().await;
    let suite = suite_with(&[("sign-in.yaml", SIGN_IN_PAGE)], &[]);
    let dir = suite.path();
    let mut no_display = flows_run(dir, &app, &["sign-in-page", "--headed"]).command();
    no_display
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    let out = no_display.output().await.expect("flows runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("xvfb-run -a flows run"), "{stderr}");

    require_on_path("xvfb-run", "apt-get install -y xvfb");
    let cmd = flows_run(dir, &app, &["sign-in-page", "--headed", "--slow-mo", "50"]);
    let mut args = vec!["-a".to_owned()];
    args.extend(cmd.argv());
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        cmd.wrapped("xvfb-run", &args).output(),
    )
    .await
    .expect("finished within 5 minutes")
    .expect("xvfb-run runs");
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("1 passed, 0 failed"), "{all}");
    app.shutdown().await;
}

/// The binary inside a pseudo-terminal (util-linux `script`), read and written like a person
/// would: wait for a text, then type.
struct Pty {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::process::ChildStdout,
    seen: String,
    /// Where the next `expect` starts looking.
    pos: usize,
}

impl Pty {
    fn spawn(cmd: &FlowsCmd) -> Pty {
        let args = vec!["-qfec".to_owned(), cmd.shell_line(), "/dev/null".to_owned()];
        let mut child = cmd
            .wrapped("script", &args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn script");
        Pty {
            stdin: child.stdin.take().expect("stdin"),
            stdout: child.stdout.take().expect("stdout"),
            child,
            seen: String::new(),
            pos: 0,
        }
    }

    /// Reads until `text` appears after what was matched before; returns everything up to and
    /// including it. Bounded: a prompt that never comes fails the test with the output so far.
    async fn expect(&mut self, text: &str) -> String {
        let wait = async {
            loop {
                if let Some(at) = self.seen[self.pos..].find(text) {
                    let end = self.pos + at + text.len();
                    let got = self.seen[self.pos..end].to_owned();
                    self.pos = end;
                    return Some(got);
                }
                let mut buf = [0u8; 4096];
                match self.stdout.read(&mut buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(120), wait).await {
            Ok(Some(got)) => got,
            _ => panic!("never saw {text:?}; output so far:\n{}", self.seen),
        }
    }

    async fn type_line(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("type");
        self.stdin.flush().await.expect("flush");
    }

    /// Waits for the program to exit; returns its exit code and all its output.
    async fn finish(mut self) -> (Option<i32>, String) {
        let mut rest = String::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(120),
            self.stdout.read_to_string(&mut rest),
        )
        .await;
        self.seen.push_str(&rest);
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("exits")
            .expect("wait");
        (status.code(), self.seen)
    }
}

const THREE_STEPS: &str = r#"
id: sign-in-page
title: The sign-in page
user: requester
steps:
  - goto: /login
  - expect: { role: heading, name: Sign in }
  - click: { role: button, name: Send code }
"#;

/// `--debug` in a pseudo-terminal: step, try a locator, take a screenshot, step, quit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_steps_through_a_flow_in_a_terminal_and_quits() {
    require_on_path("script", "apt-get install -y util-linux");
    let app = helpdesk().await;
    let suite = suite_with(&[("sign-in.yaml", THREE_STEPS)], &[]);
    let dir = suite.path();

    // Without a terminal the flag is refused.
    let out = flows_run(dir, &app, &["sign-in-page", "--debug"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("--debug needs a terminal"),
        "{}",
        out.all()
    );

    let mut pty = Pty::spawn(&flows_run(dir, &app, &["sign-in-page", "--debug"]));
    pty.expect("sign-in-page step 1/3 (flows/sign-in.yaml:6) as requester")
        .await;
    pty.expect("- goto: /login").await;
    pty.expect("debug>").await;
    pty.type_line("").await;

    pty.expect("✓ step 1 goto http").await;
    pty.expect("step 2/3").await;
    pty.expect("debug>").await;
    pty.type_line("l { role: button, name: Send code }").await;
    let answer = pty.expect("debug>").await;
    assert!(
        answer.contains(r#"1 element matches role=button name~"send code""#),
        "{answer}"
    );
    assert!(answer.contains(r#"<button> "Send code""#), "{answer}");
    pty.type_line("l { role: button }").await;
    let answer = pty.expect("debug>").await;
    assert!(answer.contains("2 elements match role=button"), "{answer}");
    pty.type_line("s").await;
    let answer = pty.expect("debug>").await;
    let shot = answer
        .lines()
        .find_map(|l| l.trim().strip_prefix("screenshot: "))
        .unwrap_or_else(|| panic!("a screenshot path: {answer}"))
        .trim()
        .to_owned();
    let img = image::open(dir.join(&shot)).unwrap_or_else(|e| panic!("{shot} is a PNG: {e}"));
    assert!(img.width() > 0);
    pty.type_line("").await;

    pty.expect(r#"✓ step 2 expect role=heading name~"sign in" visible"#)
        .await;
    pty.expect("step 3/3").await;
    pty.expect("debug>").await;
    pty.type_line("q").await;
    let (code, all) = pty.finish().await;
    assert_eq!(code, Some(130), "{all}");
    let report = read_json(&last_run(dir).join("staging-run-report.json"));
    let flow = &report["flows"][0];
    assert_eq!(flow["status"], "not_run", "{all}");
    let steps: Vec<&str> = flow["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(steps, vec!["passed", "passed", "skipped"], "{all}");
    app.shutdown().await;
}

const MISSING_BUTTON: &str = r#"
id: missing-button
title: A button that is not there
user: requester
steps:
  - goto: /login
  - click: { role: button, name: Launch the rocket, timeout: 1s }
"#;

/// `--pause-on-failure`: the failure is explained (step, YAML line, page, screenshot) while the
/// browser stays up; Enter ends the run and nothing is left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_on_failure_keeps_the_browser_until_enter() {
    require_on_path("script", "apt-get install -y util-linux");
    let app = helpdesk().await;
    let suite = suite_with(&[("missing.yaml", MISSING_BUTTON)], &[]);
    let dir = suite.path();
    let marker = dir.to_str().expect("utf-8").to_owned();
    let mut pty = Pty::spawn(&flows_run(
        dir,
        &app,
        &["missing-button", "--pause-on-failure"],
    ));
    let paused = pty.expect("Press Enter").await;
    for want in [
        "paused: missing-button failed",
        "step 2 (flows/missing.yaml:7)",
        "- click: { role: button, name: Launch the rocket, timeout: 1s }",
        r#"no element matches role=button name~"launch the rocket""#,
        "/login (requester's browser)",
        "missing-button/02-failure.png",
    ] {
        assert!(paused.contains(want), "missing {want:?} in:\n{paused}");
    }
    assert!(
        !processes_mentioning(&marker).is_empty(),
        "the browser and the driver stay up while paused"
    );
    pty.type_line("").await;
    let (code, all) = pty.finish().await;
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("0 passed, 1 failed"), "{all}");
    let left = processes_mentioning(&marker);
    assert!(left.is_empty(), "processes left behind: {left:?}");
    app.shutdown().await;
}
