//! `flows record` (issue 22 part 2), in real Chromium against the in-process demo helpdesk: the
//! test drives the recording browser over WebDriver (the session the recorder prints), then
//! checks the file the recorder wrote and replays it with `flows run`.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

use crate::support::*;

/// A temp suite with the repository's sign-in and portal flows (the recorded flow's needs).
fn suite() -> tempfile::TempDir {
    let dir = temp_suite::<&str, &str>(&[]);
    for name in ["01-otp-login.yaml", "03-department-portal-open.yaml"] {
        std::fs::copy(
            repo_root().join("flows").join(name),
            dir.path().join("flows").join(name),
        )
        .unwrap_or_else(|e| panic!("copy {name}: {e}"));
    }
    add_config(dir.path(), "\n[sessions]\ncheck_url = \"/api/me\"\n");
    dir
}

/// A running `flows record`, its WebDriver session, and what it has printed so far.
struct Recording {
    child: tokio::process::Child,
    webdriver: String,
    session: String,
    printed: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl Recording {
    /// Starts the recorder without a display (it starts Xvfb) and waits for its session line.
    async fn start(suite: &Path, args: &[&str], envs: &[(&str, &str)]) -> Recording {
        require_on_path("Xvfb", "apt-get install -y xvfb");
        let mut cmd = FlowsCmd::new()
            .cwd(suite)
            .env("TMPDIR", suite.to_str().expect("utf-8"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .args(["record"])
            .args(args);
        for (k, v) in envs {
            cmd = cmd.env(k, v);
        }
        let mut child = cmd
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A failed assertion must not leave the recorder (and its browser) running.
            .kill_on_drop(true)
            .spawn()
            .expect("flows record starts");
        let printed = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout");
        let keep = printed.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                keep.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let mut err = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut session_line = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while session_line.is_none() {
            let line = tokio::time::timeout_at(deadline, err.next_line())
                .await
                .unwrap_or_else(|_| {
                    panic!("no session line within 60s: {}", printed.lock().unwrap())
                })
                .expect("read stderr");
            let Some(line) = line else {
                panic!(
                    "the recorder ended before recording: {}",
                    printed.lock().unwrap()
                );
            };
            printed.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(rest) = line.strip_prefix("recording: webdriver ") {
                session_line = Some(rest.to_owned());
            }
        }
        let keep = printed.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = err.next_line().await {
                keep.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let line = session_line.expect("session line");
        let (webdriver, session) = line.split_once(" session ").expect("url and session");
        let rec = Recording {
            child,
            webdriver: webdriver.to_owned(),
            session: session.to_owned(),
            printed,
            http: reqwest::Client::new(),
        };
        // Finding an element waits for it (a page that is still loading).
        rec.wd("POST", "timeouts", json!({ "implicit": 15000 }))
            .await;
        rec
    }

    /// One classic WebDriver command on the recording session.
    async fn wd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.webdriver, self.session);
        let req = match method {
            "GET" => self.http.get(&url),
            _ => self.http.post(&url).json(&body),
        };
        let answer: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        assert!(
            answer["value"].get("error").is_none(),
            "{method} {path}: {answer}"
        );
        answer["value"].clone()
    }

    async fn find(&self, using: &str, value: &str) -> String {
        let el = self
            .wd("POST", "element", json!({ "using": using, "value": value }))
            .await;
        el.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("element id")
            .to_owned()
    }

    async fn click(&self, using: &str, value: &str) {
        let id = self.find(using, value).await;
        self.wd("POST", &format!("element/{id}/click"), json!({}))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find("css selector", css).await;
        self.wd(
            "POST",
            &format!("element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Alt+Shift+A: the recorder's assert-mode key.
    async fn toggle_assert_mode(&self) {
        let keys = |kind: &str| {
            ["\u{E00A}", "\u{E008}", "A"]
                .iter()
                .map(|k| json!({ "type": kind, "value": k }))
                .collect::<Vec<_>>()
        };
        let mut actions = keys("keyDown");
        actions.extend(keys("keyUp").into_iter().rev());
        self.wd(
            "POST",
            "actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .await;
    }

    /// SIGINT, as Ctrl-C; the exit code and everything printed.
    async fn stop(self) -> (i32, String) {
        let pid = self.child.id().expect("pid");
        let sent = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        self.exit().await
    }

    /// Closes the browser window (WebDriver Close Window), as a person would.
    async fn close_window(self) -> (i32, String) {
        let url = format!("{}/session/{}/window", self.webdriver, self.session);
        let closed = self.http.delete(&url).send().await.expect("close window");
        assert!(closed.status().is_success(), "{closed:?}");
        self.exit().await
    }

    /// Waits for the recorder to end; its exit code and everything printed.
    async fn exit(mut self) -> (i32, String) {
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the recorder stops within 60s")
            .expect("wait");
        // The readers drain what was printed before the pipes closed.
        tokio::time::timeout(Duration::from_secs(5), async {
            while Arc::strong_count(&self.printed) > 1 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .ok();
        let printed = self.printed.lock().unwrap().clone();
        (status.code().unwrap_or(-1), printed)
    }
}

/// Waits until the recorder has printed `needle`.
async fn wait_for_printed(printed: &Arc<Mutex<String>>, needle: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !printed.lock().unwrap().contains(needle) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the recorder did not print {needle:?} within 30s:\n{}",
            printed.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the flow file has `n` steps (it is rewritten after each); its text.
async fn wait_for_steps(file: &Path, n: usize, printed: &Arc<Mutex<String>>) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.lines().filter(|l| l.starts_with("  - ")).count() >= n {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} did not reach {n} steps within 30s:\n{text}\n--- printed\n{}",
            file.display(),
            printed.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_create_ticket_flow_is_check_clean_user_facing_and_replays() {
    let app = helpdesk().await;
    let suite = suite();
    let dir = suite.path();
    let out = FlowsCmd::new()
        .cwd(dir)
        .env("TMPDIR", dir.to_str().expect("utf-8"))
        .args(["run", "department-portal-open", "--base-url", &app.url()])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());

    let file = dir.join("flows/new-ticket.yaml");
    let rec = Recording::start(
        dir,
        &[
            "/d/it-support",
            "--user",
            "requester",
            "--out",
            "flows/new-ticket.yaml",
            "--base-url",
            &app.url(),
        ],
        &[],
    )
    .await;
    wait_for_steps(&file, 1, &rec.printed).await;
    rec.click("link text", "New ticket").await;
    wait_for_steps(&file, 3, &rec.printed).await;
    rec.type_into("#subject", "Printer on fire").await;
    rec.type_into("#description", "Smoke on floor 2.").await;
    rec.click("xpath", "//button[normalize-space()='Create ticket']")
        .await;
    wait_for_steps(&file, 7, &rec.printed).await;
    // The ticket page is there (finding waits for it) before the key goes to it.
    let number = rec
        .find("css selector", "[data-testid=ticket-number]")
        .await;
    rec.toggle_assert_mode().await;
    wait_for_printed(&rec.printed, "assert mode on").await;
    rec.wd("POST", &format!("element/{number}/click"), json!({}))
        .await;
    wait_for_steps(&file, 8, &rec.printed).await;
    let (code, printed) = rec.stop().await;
    let text = std::fs::read_to_string(&file).expect("the recorded flow");
    assert_eq!(code, 0, "{printed}\n--- file\n{text}");
    assert!(printed.contains("started Xvfb on :"), "{printed}");
    assert!(printed.contains("is check-clean"), "{printed}");
    // Nothing it started is left: chromedriver logs and Chromium's profile are under the suite.
    let left = processes_mentioning(dir.to_str().expect("utf-8"));
    assert!(left.is_empty(), "still running: {left:?}");
    // Each step was shown as it landed.
    assert!(
        printed.contains("  + click: { role: link, name: New ticket }"),
        "{printed}"
    );

    assert!(text.contains("user: requester\n"), "{text}");
    // The flow after which the requester's session was saved (the sign-in).
    assert!(text.contains("needs: [otp-login]\n"), "{text}");
    assert!(!text.contains("css:") && !text.contains("xpath:"), "{text}");
    let steps: Vec<&str> = text.lines().filter(|l| l.starts_with("  - ")).collect();
    assert_eq!(
        steps,
        vec![
            "  - goto: /d/it-support",
            "  - click: { role: link, name: New ticket }",
            "  - expect: { url: /d/it-support/tickets/new }",
            "  - fill: { role: textbox, name: Subject, value: Printer on fire }",
            "  - fill: { role: textbox, name: Description, value: Smoke on floor 2. }",
            "  - click: { role: button, name: Create ticket }",
            r"  - expect: { url: '/\/tickets\/\d+$/' }",
            r"  - expect: { test_id: ticket-number, has_text: '/^#\d+$/' }",
        ],
        "{text}"
    );

    let replay = FlowsCmd::new()
        .cwd(dir)
        .env("TMPDIR", dir.to_str().expect("utf-8"))
        .args(["run", "new-ticket", "--base-url", &app.url()])
        .output()
        .await;
    assert_eq!(replay.code, 0, "{}\n--- file\n{text}", replay.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_password_and_code_become_env_placeholders_never_text() {
    const PASSWORD: &str = "Pw-Zq8vN3xK7mP2wL9rT4yB-record";
    const CODE: &str = "738201";
    let app = helpdesk().await;
    let suite = suite();
    let dir = suite.path();
    let file = dir.join("flows/sign-in.yaml");
    // The placeholders' variables are set (to other values), so the file checks clean.
    let rec = Recording::start(
        dir,
        &[
            "/lab/sign-in-form",
            "--out",
            "flows/sign-in.yaml",
            "--base-url",
            &app.url(),
        ],
        &[("PASSWORD", "replay-password"), ("CODE", "000000")],
    )
    .await;
    wait_for_steps(&file, 1, &rec.printed).await;
    rec.type_into("#email", "someone@example.test").await;
    rec.type_into("#password", PASSWORD).await;
    rec.type_into("#code", CODE).await;
    rec.click("css selector", "#remember").await;
    rec.click("xpath", "//button[normalize-space()='Sign in']")
        .await;
    let text = wait_for_steps(&file, 6, &rec.printed).await;
    // Closing the window ends the recording as Ctrl-C does.
    let (code, printed) = rec.close_window().await;
    assert_eq!(code, 0, "{printed}\n--- file\n{text}");
    assert!(
        printed.contains("the window was closed") || printed.contains("the browser is gone"),
        "{printed}"
    );
    assert!(printed.contains("is check-clean"), "{printed}");
    let text = std::fs::read_to_string(&file).expect("file");
    assert!(
        text.contains("fill: { role: textbox, name: Password, value: \"{{ env.PASSWORD }}\" }"),
        "{text}"
    );
    assert!(
        text.contains("name: Code, value: \"{{ env.CODE }}\" }"),
        "{text}"
    );
    assert!(
        text.contains("#   PASSWORD: typed into \"Password\""),
        "{text}"
    );
    assert!(
        text.contains("check: { role: checkbox, name: Remember me }"),
        "{text}"
    );
    for secret in [PASSWORD, CODE] {
        assert!(!text.contains(secret), "{secret} in the file:\n{text}");
        assert!(
            !printed.contains(secret),
            "{secret} in the output:\n{printed}"
        );
        let leaks = any_file_contains(dir, secret);
        assert!(leaks.is_empty(), "{secret} written to {leaks:?}");
    }
}

#[tokio::test]
async fn refusals_come_before_anything_starts() {
    let suite = suite();
    let dir = suite.path();
    // No saved session: which flow to run first.
    let out = FlowsCmd::new()
        .cwd(dir)
        .args([
            "record",
            "/d/it-support",
            "--user",
            "requester",
            "--out",
            "flows/x.yaml",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("no saved session"), "{}", out.all());
    assert!(out.stderr.contains("flows run otp-login"), "{}", out.all());
    // --out outside the flow directory, and over an existing flow.
    let out = FlowsCmd::new()
        .cwd(dir)
        .args([
            "record",
            "/",
            "--out",
            "x.yaml",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("not in the suite's flow directory"),
        "{}",
        out.all()
    );
    let out = FlowsCmd::new()
        .cwd(dir)
        .args([
            "record",
            "/",
            "--out",
            "flows/01-otp-login.yaml",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("never overwrites"), "{}", out.all());
    // No display and no Xvfb.
    let out = FlowsCmd::new()
        .cwd(dir)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("PATH", "/nonexistent")
        .args([
            "record",
            "/",
            "--out",
            "flows/x.yaml",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .output()
        .await;
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(
        out.stderr.contains("apt-get install -y xvfb"),
        "{}",
        out.all()
    );
    assert!(!dir.join("flows/x.yaml").exists());
}

/// With a `[web_server]` and no running target, the recorder starts the app as `flows run`
/// does, records against it, and stops it with everything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_starts_the_configured_web_server_and_stops_it() {
    let suite = suite();
    let dir = suite.path();
    add_config(
        dir,
        &format!(
            "\n[web_server]\ncommand = \"{} --listen 127.0.0.1:{{port}} --staging\"\nready_path = \"/up\"\nstartup_timeout = \"20s\"\nenv = {{ STAGING_E2E_ENABLED = \"true\", STAGING_E2E_SECRET = \"{{secret}}\" }}\n",
            helpdesk_binary().display()
        ),
    );
    let file = dir.join("flows/keyboard-page.yaml");
    let rec = Recording::start(
        dir,
        &["/lab/sign-in-form", "--out", "flows/keyboard-page.yaml"],
        &[],
    )
    .await;
    let printed = rec.printed.lock().unwrap().clone();
    let url = printed
        .lines()
        .find_map(|l| l.strip_prefix("started the web server at "))
        .unwrap_or_else(|| panic!("no web server started: {printed}"))
        .to_owned();
    let listen = url.trim_start_matches("http://").to_owned();
    // The positive control: the app the recorder started is running now.
    assert!(
        !processes_mentioning(&listen).is_empty(),
        "no process listens on {listen}"
    );
    wait_for_steps(&file, 1, &rec.printed).await;
    rec.click("xpath", "//button[normalize-space()='Sign in']")
        .await;
    let text = wait_for_steps(&file, 2, &rec.printed).await;
    let (code, printed) = rec.stop().await;
    assert_eq!(code, 0, "{printed}\n--- file\n{text}");
    assert!(
        text.contains("  - click: { role: button, name: Sign in }"),
        "{text}"
    );
    // The first user by name (head, requester), signed out: check-clean without --user.
    assert!(
        text.contains("user: head\n") && !text.contains("needs:"),
        "{text}"
    );
    let left = processes_mentioning(&listen);
    assert!(left.is_empty(), "the web server is still running: {left:?}");
}
