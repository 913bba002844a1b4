//! End to end: the `flows` binary drives real headless Chromium against the real demo helpdesk.

use std::time::Duration;

use crate::support::*;

/// The repository's own flows (portal, create ticket, upload, logout, with their logins) pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_flows_pass_in_real_chromium() {
    let app = helpdesk().await;
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = FlowsCmd::new()
        .args(["run", "create-ticket", "upload-attachment", "logout", "--skip-web-server"])
        .args(["--base-url", &app.url(), "--output"])
        .args([out_dir.path().to_str().expect("utf-8 path")])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let run = run_dir(out_dir.path());
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["outcome"], "completed");
    let statuses: Vec<(String, String)> = report["flows"]
        .as_array()
        .expect("flows array")
        .iter()
        .map(|f| (f["id"].as_str().unwrap_or("").to_owned(), f["status"].as_str().unwrap_or("").to_owned()))
        .collect();
    for id in ["otp-login", "department-portal-open", "create-ticket", "upload-attachment", "logout"] {
        assert!(
            statuses.contains(&(id.to_owned(), "passed".to_owned())),
            "{id} did not pass: {statuses:?}\n{}",
            out.all()
        );
    }
    assert!(out.stdout.contains("5 passed, 0 failed, 0 skipped"), "{}", out.all());
    let shot = run.join("create-ticket").join("11-ticket-created.png");
    let img = image::open(&shot).unwrap_or_else(|e| panic!("{} is a PNG: {e}", shot.display()));
    assert!(img.width() > 0 && img.height() > 0);
    assert!(run.join("health-pre-check.json").is_file());
    app.shutdown().await;
}

const WRONG_LOCATOR: &str = r#"
id: wrong-locator
title: A button that does not exist
user: requester
steps:
  - goto: /login
  - click: { role: button, name: Sign in with carrier pigeon, timeout: 1500ms }
"#;

const AMBIGUOUS: &str = r#"
id: ambiguous
title: Two buttons match
user: requester
steps:
  - goto: /login
  - click: { role: button, timeout: 1500ms }
"#;

/// A wrong locator fails with what was found instead, a screenshot of the page and its HTML.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_locator_says_what_was_found_and_leaves_a_screenshot() {
    let app = helpdesk().await;
    let suite = temp_suite(&[("wrong.yaml", WRONG_LOCATOR), ("ambiguous.yaml", AMBIGUOUS)]);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["run", "--all", "--skip-health-check", "--base-url", &app.url()])
        .output()
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains(r#"no element matches role=button name~"sign in with carrier pigeon"; the page is /login"#),
        "{}",
        out.all()
    );
    assert!(out.stdout.contains("2 elements match role=button"), "{}", out.all());
    assert!(out.stdout.contains(r#""Send code""#), "{}", out.all());
    assert!(out.stdout.contains("0 passed, 2 failed, 0 skipped"), "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let shot = run.join("wrong-locator").join("02-failure.png");
    let img = image::open(&shot).unwrap_or_else(|e| panic!("{} is a PNG: {e}", shot.display()));
    // The viewport of the configured 1280-wide window.
    assert_eq!(img.width(), 1280, "screenshot width");
    assert!(img.height() > 100, "screenshot height {}", img.height());
    let html = std::fs::read_to_string(run.join("wrong-locator").join("02-failure.html")).expect("page html");
    assert!(html.contains("Send code"), "the failure HTML is the login page");
    let report = read_json(&run.join("staging-run-report.json"));
    let flow = report["flows"]
        .as_array()
        .and_then(|flows| flows.iter().find(|f| f["id"] == "wrong-locator"))
        .expect("wrong-locator in the report");
    assert_eq!(flow["status"], "failed");
    let step = &flow["steps"][1];
    assert_eq!(step["status"], "failed");
    // The click is on line 7 of the flow file (the constant starts with a newline).
    assert_eq!(step["line"], 7);
    app.shutdown().await;
}

const TRIVIAL: &str = r#"
id: trivial
title: Open the login page
user: requester
steps:
  - goto: /login
"#;

/// A service marked down stops the run before any browser starts, naming the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_precheck_fails_fast_naming_the_failing_service() {
    let app = helpdesk().await;
    fault(&app.url(), serde_json::json!({"kind": "service_down", "service": "mail"})).await;
    let suite = temp_suite(&[("trivial.yaml", TRIVIAL)]);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["run", "--all", "--base-url", &app.url()])
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(out.stdout.contains("mail"), "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let health = read_json(&run.join("health-pre-check.json"));
    assert_eq!(health["passed"], false);
    let failing = health["failing"].to_string();
    assert!(failing.contains("mail"), "{failing}");
    assert!(!run.join("logs/chromedriver.log").exists(), "no browser was started");
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["outcome"], "aborted");
    assert_eq!(report["flows"][0]["status"], "not_run");
    app.shutdown().await;
}

const WAITS_FOREVER: &str = r#"
id: waits
title: Waits for something that never appears
user: requester
steps:
  - goto: /login
  - expect: { text: This text never appears, timeout: 60s }
"#;

/// Ctrl-C in the middle of a step: exit 130, a report that says interrupted, nothing left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_everything_and_still_writes_the_report() {
    let app = helpdesk().await;
    let suite = temp_suite(&[("waits.yaml", WAITS_FOREVER)]);
    // A private TMPDIR marks every browser process of this run (its profile dir lives there).
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().to_str().expect("utf-8").to_owned();
    let artifacts = suite.path().join("artifacts");
    let mut child = FlowsCmd::new()
        .cwd(suite.path())
        .env("TMPDIR", &marker)
        .args(["run", "--all", "--skip-health-check", "--base-url", &app.url()])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn flows");
    // Wait (observing the event log, bounded) until the second step is running.
    let started = std::time::Instant::now();
    loop {
        let log = std::fs::read_dir(&artifacts)
            .ok()
            .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path()).filter(|p| !p.ends_with("latest"))))
            .and_then(|run| std::fs::read_to_string(run.join("events.jsonl")).ok())
            .unwrap_or_default();
        if log.lines().any(|l| l.contains(r#""type":"step_started""#) && l.contains(r#""index":1"#)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the flow never reached its second step");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let suite_marker = suite.path().to_str().expect("utf-8").to_owned();
    assert!(!processes_mentioning(&marker).is_empty(), "a browser runs for this flow");
    assert!(!processes_mentioning(&suite_marker).is_empty(), "chromedriver runs for this flow");
    let pid = child.id().expect("pid");
    let status = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill");
    assert!(status.success());
    let stdout = child.stdout.take().expect("stdout");
    let stdout = read_all(stdout).await;
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("flows exits after Ctrl-C")
        .expect("wait");
    assert_eq!(exit.code(), Some(130), "{stdout}");
    let mut left = processes_mentioning(&marker);
    left.extend(processes_mentioning(&suite_marker));
    assert!(left.is_empty(), "processes left behind: {left:?}");
    let run = run_dir(&artifacts);
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["outcome"], "interrupted");
    assert_eq!(report["flows"][0]["status"], "not_run");
    assert!(stdout.contains("interrupted"), "{stdout}");
    app.shutdown().await;
}
