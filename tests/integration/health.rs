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
