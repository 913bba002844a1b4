//! The no-break contract steps against the demo helpdesk (in-process, staging mode): the
//! contract suite (`tests/contract/`) passes on a healthy helpdesk, and each step fails with
//! its own clear message when a fault switch breaks what it guards (a guard removed, a 403
//! turned into a 404, a mislabelled download, a cut SSE stream, a changed route, a service
//! down); `flows routes --update-baseline` writes the committed baseline, and route drift is
//! reported as a table; a metric's increase is measured from the flow's start.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::*;

fn contract_dir() -> PathBuf {
    repo_root().join("tests/contract")
}

/// `flows run --all` of a contract suite against `base`; the report of the run.
async fn run_contract(config: &Path, base: &str, out: &Path, extra: &[&str]) -> (Output, Value) {
    let output = FlowsCmd::new()
        .args(["run", "--all", "--skip-web-server", "--skip-health-check"])
        .args(["--config", config.to_str().expect("utf-8 path")])
        .args(["--base-url", base, "--output"])
        .args([out.to_str().expect("utf-8 path")])
        .args(extra)
        .output()
        .await;
    let report = read_json(&run_dir(out).join("staging-run-report.json"));
    (output, report)
}

/// The step of `kind` in the contract flow.
fn step<'r>(report: &'r Value, kind: &str) -> &'r Value {
    flow(report, "no-break-contract")["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} step in {report:#}"))
}

/// Runs the contract suite with one fault switch set and returns the failed step's error,
/// after checking that this step, and no earlier one, failed.
async fn red(switch: Value, kind: &str) -> String {
    let app = helpdesk().await;
    fault(&app.url(), switch).await;
    let out = tempfile::tempdir().expect("tempdir");
    let (output, report) = run_contract(
        &contract_dir().join("flows.toml"),
        &app.url(),
        out.path(),
        &[],
    )
    .await;
    assert_eq!(output.code, 1, "{}", output.all());
    let failed: Vec<&Value> = flow(&report, "no-break-contract")["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["kind"], kind, "{report:#}");
    let error = failed[0]["error"].as_str().unwrap_or_default().to_owned();
    // The session cookie and the E2E secret never reach the report.
    let text = report.to_string();
    assert!(!text.contains(SECRET), "the secret leaked into the report");
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_passes_on_a_healthy_helpdesk_with_evidence_per_check() {
    let app = helpdesk().await;
    let out = tempfile::tempdir().expect("tempdir");
    let (output, report) = run_contract(
        &contract_dir().join("flows.toml"),
        &app.url(),
        out.path(),
        &[],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.all());
    assert_eq!(flow(&report, "no-break-contract")["status"], "passed");
    for kind in [
        "guard",
        "forbidden",
        "download_headers",
        "sse",
        "routes",
        "metrics",
    ] {
        let s = step(&report, kind);
        assert_eq!(s["status"], "passed", "{kind}: {s:#}");
        let evidence = s["evidence"].as_array().expect("evidence");
        assert!(
            !evidence.is_empty()
                && evidence
                    .iter()
                    .all(|e| e["type"] == "contract" && e["check"] == kind && e["passed"] == true),
            "{kind} leaves a passed contract row per check: {evidence:#?}"
        );
    }
    let guard = step(&report, "guard")["evidence"].to_string();
    assert!(guard.contains("GET /dashboard signed out"), "{guard}");
    assert!(guard.contains("303 → /login?next=/dashboard"), "{guard}");
    let download = step(&report, "download_headers")["evidence"].to_string();
    assert!(download.contains("application/pdf"), "{download}");
    let metrics = step(&report, "metrics")["evidence"].to_string();
    assert!(metrics.contains("increase 0"), "{metrics}");
    // No session cookie value in any artifact.
    let session_cookies = any_file_contains(out.path(), "helpdesk_session=");
    assert!(session_cookies.is_empty(), "{session_cookies:?}");

    // The gate's `contract` criterion reads these steps by kind: PASS.
    let run = run_dir(out.path());
    let gate = FlowsCmd::new()
        .args(["gate", "--config"])
        .args([contract_dir().join("flows.toml").to_str().expect("utf-8")])
        .args(["--run", run.to_str().expect("utf-8")])
        .output()
        .await;
    let verdict = read_json(&run.join("go-no-go.json"));
    let contract = verdict["criteria"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "contract"))
        .unwrap_or_else(|| panic!("a contract criterion: {verdict:#}\n{}", gate.all()));
    assert_eq!(contract["verdict"], "PASS", "{contract:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_fails_when_a_path_opens_to_signed_out_visitors() {
    let error = red(
        json!({"kind": "open_path", "path": "/notifications"}),
        "guard",
    )
    .await;
    assert!(
        error.contains(
            "GET /notifications signed out: 200 (expected a redirect to /login, or 401/403)"
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_fails_when_the_403_becomes_a_404() {
    let error = red(
        json!({"kind": "route_error", "path": "/inbox", "status": 404}),
        "forbidden",
    )
    .await;
    assert!(error.contains("2 of 2 checks failed"), "{error}");
    assert!(error.contains("status: 404 (expected 403)"), "{error}");
    assert!(
        error.contains("body /error: \"injected_fault\" (expected \"forbidden\")"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_headers_fail_when_the_pdf_is_served_as_an_image() {
    let error = red(
        json!({"kind": "response_header", "path": "/lab/download/report.pdf",
               "name": "content-type", "value": "image/png"}),
        "download_headers",
    )
    .await;
    assert!(
        error.contains("Content-Type: image/png (expected application/pdf)"),
        "{error}"
    );
    assert!(
        error.contains("sniffed type: application/pdf (expected the declared image/png)"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_headers_fail_without_a_content_disposition() {
    let error = red(
        json!({"kind": "response_header", "path": "/lab/download/report.pdf",
               "name": "content-disposition", "value": ""}),
        "download_headers",
    )
    .await;
    assert!(
        error.contains(
            "Content-Disposition filename: no Content-Disposition (expected \"report.pdf\")"
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_fails_when_the_stream_is_cut_before_open_for() {
    let error = red(json!({"kind": "sse_cut", "after_ms": 300}), "sse").await;
    assert!(error.contains("stays open: closed after"), "{error}");
    assert!(error.contains("(expected ≥ 2s)"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_fail_with_a_table_when_a_route_changes() {
    let error = red(
        json!({"kind": "route_error", "path": "/api/realtime-config", "status": 500}),
        "routes",
    )
    .await;
    assert!(
        error.contains("route drift against routes.baseline.json: 2 changes not in `allow:`"),
        "{error}"
    );
    assert!(error.contains("change   route"), "{error}");
    let changed: Vec<&str> = error
        .lines()
        .filter(|l| l.trim_start().starts_with("changed"))
        .collect();
    assert_eq!(changed.len(), 2, "{error}");
    assert!(
        changed
            .iter()
            .all(|l| l.contains("/api/realtime-config") && l.ends_with("500")),
        "{error}"
    );
    assert!(error.contains("flows routes --update-baseline"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_fail_when_a_service_is_down() {
    let error = red(
        json!({"kind": "service_down", "service": "database"}),
        "metrics",
    )
    .await;
    assert!(
        error.contains("helpdesk_up{service=\"database\"}: 0 (1 series) (expected == 1)"),
        "{error}"
    );
}

/// A copy of the contract suite in a temp dir (its baseline can be edited or removed).
fn contract_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["flows.toml", "contract.yaml", "routes.baseline.json"] {
        std::fs::copy(contract_dir().join(name), dir.path().join(name)).expect("copy");
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_baseline_writes_the_committed_baseline_and_drift_shows_removed_routes() {
    let app = helpdesk().await;
    let suite = contract_copy();
    let config = suite.path().join("flows.toml");
    let baseline = suite.path().join("routes.baseline.json");
    std::fs::remove_file(&baseline).expect("rm baseline");

    // Without a baseline the step says how to write one.
    let out = tempfile::tempdir().expect("tempdir");
    let (output, report) = run_contract(&config, &app.url(), out.path(), &[]).await;
    assert_eq!(output.code, 1, "{}", output.all());
    let error = step(&report, "routes")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains("no route baseline at"), "{error}");
    assert!(error.contains("flows routes --update-baseline"), "{error}");

    // `flows routes --update-baseline` (no flow named: the flows with a routes step).
    let out = tempfile::tempdir().expect("tempdir");
    let output = FlowsCmd::new()
        .args([
            "routes",
            "--update-baseline",
            "--skip-web-server",
            "--skip-health-check",
        ])
        .args(["--config", config.to_str().expect("utf-8")])
        .args(["--base-url", &app.url(), "--output"])
        .args([out.path().to_str().expect("utf-8")])
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.all());
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).expect("baseline written"))
            .expect("json");
    let committed = read_json(&contract_dir().join("routes.baseline.json"));
    assert_eq!(
        written, committed,
        "the committed baseline is what the helpdesk answers today"
    );
    assert_eq!(written["roles"], json!(["anonymous", "requester"]));
    assert_eq!(
        written["routes"]["/dashboard"],
        json!({"anonymous": 303, "requester": 200})
    );
    assert!(written["app_routes"]
        .as_array()
        .is_some_and(|r| r.contains(&json!("GET /d/{slug}"))));
    // POST routes are never in it: the step only sends GET.
    assert!(!written.to_string().contains("POST"), "{written}");

    // A route the baseline knows and the app no longer lists is "removed"; one only the app
    // lists is "added"; both fail the step with the table.
    let mut edited = written.clone();
    let routes = edited["app_routes"].as_array_mut().expect("app routes");
    routes.retain(|r| r != "GET /metrics");
    routes.push(json!("GET /reports/{id}"));
    std::fs::write(
        &baseline,
        serde_json::to_string_pretty(&edited).expect("json"),
    )
    .expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let (output, report) = run_contract(&config, &app.url(), out.path(), &[]).await;
    assert_eq!(output.code, 1, "{}", output.all());
    let error = step(&report, "routes")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let row = |change: &str, route: &str| {
        error
            .lines()
            .any(|l| l.trim_start().starts_with(change) && l.contains(route))
    };
    assert!(row("added", "GET /metrics"), "{error}");
    assert!(row("removed", "GET /reports/{id}"), "{error}");
}

/// A suite without a browser: two requests the helpdesk fails with 500 (fault switch), then a
/// `metrics` step comparing the 500s' increase since the flow started.
fn metrics_suite(assertion: &str) -> tempfile::TempDir {
    let flow = format!(
        r#"
id: five-hundreds
title: Failed requests are counted from the flow's start
steps:
  - http: {{ url: /boom, expect: {{ status: 500 }} }}
  - http: {{ url: /boom, expect: {{ status: 500 }} }}
  - metrics:
      expect:
        - '{assertion}'
"#
    );
    temp_suite(&[("metrics.yaml", flow)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metric_increase_is_measured_from_the_flow_start() {
    let app = helpdesk().await;
    // 500s before the flow do not count: only the two the flow causes.
    fault(
        &app.url(),
        json!({"kind": "route_error", "path": "/boom", "status": 500}),
    )
    .await;
    for _ in 0..3 {
        let _ = reqwest::get(format!("{}/boom", app.url())).await;
    }
    let green = metrics_suite(r#"helpdesk_http_requests_total{status="500"} increase == 2"#);
    let out = tempfile::tempdir().expect("tempdir");
    let (output, _) = run_contract(
        &green.path().join("flows/flows.toml"),
        &app.url(),
        out.path(),
        &[],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.all());

    let red = metrics_suite(r#"helpdesk_http_requests_total{status="500"} increase < 1"#);
    let out = tempfile::tempdir().expect("tempdir");
    let (output, report) = run_contract(
        &red.path().join("flows/flows.toml"),
        &app.url(),
        out.path(),
        &[],
    )
    .await;
    assert_eq!(output.code, 1, "{}", output.all());
    let error = flow(&report, "five-hundreds")["steps"][2]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains(": 5 → 7: increase 2 (expected increase < 1)"),
        "{error}"
    );

    // A misspelt metric is not read as zero.
    let typo = metrics_suite(r#"helpdesk_http_request_total{status="500"} increase < 1"#);
    let out = tempfile::tempdir().expect("tempdir");
    let (output, report) = run_contract(
        &typo.path().join("flows/flows.toml"),
        &app.url(),
        out.path(),
        &[],
    )
    .await;
    assert_eq!(output.code, 1, "{}", output.all());
    let error = flow(&report, "five-hundreds")["steps"][2]["error"].to_string();
    assert!(
        error.contains("no series named helpdesk_http_request_total"),
        "{error}"
    );
}
