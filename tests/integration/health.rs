//! The health pre-check against apps without the staging contract: no `/health`, a plain-text
//! `/up`, a mail catcher with its own health endpoint on another origin.

use axum::response::Html;
use axum::routing::get;
use axum::Router;

use crate::support::*;

/// An app with a home page and a plain-text `/up`, and nothing of the staging contract.
async fn plain_app() -> String {
    serve(
        Router::new()
            .route(
                "/",
                get(|| async { Html("<!doctype html><title>plain</title><h1>Plain app</h1>") }),
            )
            .route("/up", get(|| async { "ok" })),
    )
    .await
}

/// A flow that needs no browser, so the test is about the pre-check alone.
const PING: &str = r#"
id: ping
title: The app answers
steps:
  - http: { url: /up, expect: { status: 200, body: ok } }
"#;

/// With the defaults, the missing `/health` stops the run (exit 3) with what to set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_health_endpoint_says_what_to_set() {
    let base = plain_app().await;
    let suite = temp_suite(&[("ping.yaml", PING)]);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env_remove("STAGING_E2E_SECRET")
        .run_all(&base)
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    let expected = format!(
        "health: 404: {base}/health does not exist; if the app has no aggregate health endpoint, \
         set `[health] path` in flows.toml to one it has (e.g. `path = \"/up\"`, any page that \
         answers 200), or `[health] enabled = false` (or --skip-health-check) to run without the \
         pre-check"
    );
    let health = read_json(&run_dir(&suite.path().join("artifacts")).join("health-pre-check.json"));
    assert_eq!(health["failing"][0], expected, "{health:#}");
    assert!(out.stdout.contains("`[health] path`"), "{}", out.all());
}

/// `[health] path` to a plain-text endpoint and an extra endpoint on another origin: the run
/// goes on, the summary says what is known, and no staging criterion appears without a secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_without_the_contract_is_reachable_and_extra_endpoints_are_named() {
    let base = plain_app().await;
    let catcher = serve(Router::new().route("/healthz", get(|| async { "OK" }))).await;
    let suite = temp_suite(&[("ping.yaml", PING)]);
    add_config(
        suite.path(),
        &format!("[health]\npath = \"/up\"\n[health.extra]\nmailcatcher = \"{catcher}/healthz\"\n"),
    );
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env_remove("STAGING_E2E_SECRET")
        .run_all(&base)
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(
        report["health"]["summary"],
        "reachable (200, no service breakdown); mailcatcher reachable (200)",
        "{:#}",
        report["health"]
    );
    let health = read_json(&run.join("health-pre-check.json"));
    let names: Vec<&str> = health["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["health", "mailcatcher"]);
    let criteria = report.to_string();
    assert!(!criteria.contains("staging/e2e/health"), "{criteria}");

    // The extra endpoint down: exit 3, naming it and the setting.
    let suite = temp_suite(&[("ping.yaml", PING)]);
    add_config(
        suite.path(),
        &format!("[health]\npath = \"/up\"\n[health.extra]\nmailcatcher = \"{catcher}/gone\"\n"),
    );
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env_remove("STAGING_E2E_SECRET")
        .run_all(&base)
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    let health = read_json(&run_dir(&suite.path().join("artifacts")).join("health-pre-check.json"));
    assert_eq!(
        health["failing"][0],
        format!(
            "mailcatcher: 404: {catcher}/gone does not exist; fix `[health.extra] mailcatcher` in flows.toml"
        )
    );
}

/// `flows health --wait` against the demo helpdesk with `cache` switched down: the first poll
/// prints cache as failing; the test clears the switch only then (an HTTP call, no sleep), and
/// the command goes green, prints the change and writes health-pre-check.json (exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_wait_goes_green_when_the_fault_is_cleared_mid_wait() {
    use tokio::io::AsyncBufReadExt;
    let app = helpdesk().await;
    fault(
        &app.url(),
        serde_json::json!({"kind": "service_down", "service": "cache"}),
    )
    .await;
    let out_dir = tempfile::tempdir().expect("tempdir");
    let mut child = FlowsCmd::new()
        .args([
            "health",
            "--base-url",
            &app.url(),
            "--wait",
            "2m",
            "--interval",
            "100ms",
        ])
        .args(["--output", &out_dir.path().display().to_string()])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("flows health starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    // Read until the command says cache is failing; only then clear the switch.
    loop {
        let line = lines
            .next_line()
            .await
            .expect("read stdout")
            .unwrap_or_else(|| panic!("flows health ended before showing cache down: {seen:#?}"));
        seen.push(line.clone());
        if line.contains("FAIL") && line.contains("› cache") && line.contains("error") {
            break;
        }
    }
    let cleared = reqwest::Client::new()
        .delete(format!("{}/staging/e2e/faults", app.url()))
        .header("X-Staging-E2E-Secret", SECRET)
        .send()
        .await
        .expect("clear faults");
    assert!(cleared.status().is_success());
    while let Some(line) = lines.next_line().await.expect("read stdout") {
        seen.push(line);
    }
    let status = child.wait().await.expect("wait");
    let all = seen.join("\n");
    assert_eq!(status.code(), Some(0), "{all}");
    // The change is printed: cache ok after having failed.
    let cache_ok = seen
        .iter()
        .position(|l| l.contains("› cache") && l.contains("ok  ") && !l.contains("FAIL"));
    assert!(cache_ok.is_some(), "{all}");
    assert!(
        seen.last().is_some_and(|l| l.starts_with("wrote ")),
        "{all}"
    );
    assert!(all.contains("healthy after"), "{all}");
    let report = read_json(&out_dir.path().join("health-pre-check.json"));
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(report["schema_version"], 1);
    // With the secret in the environment, the guarded endpoint is asked too.
    let names: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["health", "staging-e2e-health"]);
}

/// Still down at the deadline: exit 3, the failing service named at the end and in the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_wait_is_red_naming_the_service_when_not_cleared() {
    let app = helpdesk().await;
    fault(
        &app.url(),
        serde_json::json!({"kind": "service_down", "service": "database"}),
    )
    .await;
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = FlowsCmd::new()
        .args([
            "health",
            "--base-url",
            &app.url(),
            "--wait",
            "1s",
            "--interval",
            "200ms",
        ])
        .args(["--output", &out_dir.path().display().to_string()])
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    let last_verdict = out
        .stdout
        .lines()
        .find(|l| l.starts_with("not healthy after"))
        .unwrap_or_else(|| panic!("no verdict line: {}", out.all()));
    assert!(last_verdict.contains("database (error)"), "{last_verdict}");
    let report = read_json(&out_dir.path().join("health-pre-check.json"));
    assert_eq!(report["passed"], false);
    assert!(
        report["failing"]
            .as_array()
            .expect("failing")
            .iter()
            .any(|f| f == "database (error)"),
        "{report:#}"
    );
}

/// No URL to ask (the local profile starts its own app only in `flows run`): a config error,
/// exit 2, saying how to give one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_without_a_url_is_a_config_error() {
    let out = FlowsCmd::new().args(["health"]).output().await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("--base-url"), "{}", out.all());
}

/// Ctrl-C while waiting: exit 130 at once, not at the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_wait_exits_130_on_ctrl_c() {
    use tokio::io::AsyncBufReadExt;
    let app = helpdesk().await;
    fault(
        &app.url(),
        serde_json::json!({"kind": "service_down", "service": "cache"}),
    )
    .await;
    let out_dir = tempfile::tempdir().expect("tempdir");
    let mut child = FlowsCmd::new()
        .args([
            "health",
            "--base-url",
            &app.url(),
            "--wait",
            "10m",
            "--interval",
            "100ms",
        ])
        .args(["--output", &out_dir.path().display().to_string()])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("flows health starts");
    let pid = child.id().expect("pid");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    while let Some(line) = lines.next_line().await.expect("read") {
        if line.contains("FAIL") {
            break;
        }
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    // Well inside the 10-minute deadline: a hang here would fail the test by its own timeout.
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait())
        .await
        .expect("exited after SIGINT")
        .expect("wait");
    assert_eq!(status.code(), Some(130));
}
