//! WebDriver BiDi events in real Chromium: `dialog` and `window` steps wake when the browser
//! reports a prompt or a window instead of polling, and traces keep the page's console messages
//! and network requests, redacted. With `[browser] bidi = false` the same flow passes by
//! polling, and the trace says console and network were not captured.

use axum::response::{Html, IntoResponse, Response};
use axum::Router;

use crate::support::*;

async fn site(uri: axum::http::Uri) -> Response {
    match uri.path() {
        "/health" | "/staging/e2e/health" => healthy(),
        "/api/ping" => "pong".into_response(),
        // A widget that asks a broken endpoint six times at once and logs each failure (the
        // endpoint, `broken_site`'s, answers when the test opens its gate).
        "/broken" => Html(
            r#"<!doctype html><title>broken</title><h1>Dashboard</h1>
<script>
for (let i = 0; i < 6; i++) fetch('/api/broken?n=' + i).then(r => { if (!r.ok) console.error('poll failed: HTTP ' + r.status); });
</script>"#,
        )
        .into_response(),
        "/popup" => Html("<!doctype html><title>Popup</title><h1>Popup page</h1>").into_response(),
        // The alert and the popup come a while after the click, as after a slow request.
        "/events" => Html(format!(
            r#"<!doctype html><title>events</title><h1>Events</h1>
<p data-testid="api">api pending</p>
<button onclick="setTimeout(() => alert('Later!'), 1500)">Alert later</button>
<button onclick="setTimeout(() => window.open('/popup'), 1500)">Popup later</button>
<script>
console.error('widget failed for key {SECRET}');
fetch('/api/ping?key={SECRET}').then(r => r.text()).then(t => document.querySelector('[data-testid=api]').textContent = 'api ' + t);
fetch('http://127.0.0.1:1/unreachable').catch(() => {{}});
</script>"#
        ))
        .into_response(),
        _ => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

const WAITS: &str = r#"
id: waits
title: Waits that wake on browser events
user: requester
steps:
  - goto: /events
  - expect: { test_id: api, has_text: api pong }
  - click: { role: button, name: Alert later }
  - dialog: { text: Later! }
  - click: { role: button, name: Popup later }
  - window: { title: Popup }
  - expect: { role: heading, name: Popup page }
  - window: main
"#;

struct Run {
    report: serde_json::Value,
    dir: std::path::PathBuf,
    _suite: tempfile::TempDir,
}

impl Run {
    fn steps(&self) -> Vec<serde_json::Value> {
        flow(&self.report, "waits")["steps"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn step(&self, kind: &str) -> serde_json::Value {
        self.steps()
            .into_iter()
            .find(|s| s["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind} step in {:#}", self.report))
    }

    fn trace_entries(&self, key: &str) -> Vec<serde_json::Value> {
        self.steps()
            .iter()
            .filter_map(|s| s["trace"][key].as_array().cloned())
            .flatten()
            .collect()
    }
}

async fn run_waits(config: &str) -> Run {
    let base = serve(Router::new().fallback(site)).await;
    let suite = temp_suite(&[("waits.yaml", WAITS)]);
    add_config(suite.path(), config);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["run", "--all", "--base-url", &base, "--trace", "on"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!out.all().contains(SECRET), "{}", out.all());
    let dir = run_dir(&suite.path().join("artifacts"));
    let report = read_json(&dir.join("staging-run-report.json"));
    let leaks = any_file_contains(&dir, SECRET);
    assert!(leaks.is_empty(), "the secret leaked into {leaks:?}");
    Run {
        report,
        dir,
        _suite: suite,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_wake_on_browser_events_and_traces_keep_console_and_network() {
    let events = run_waits("").await;
    let browsers = events.report["environment"]["browsers"].clone();
    assert_eq!(browsers[0]["bidi"], true, "{browsers:#}");

    // The dialog step asks once, is woken by the prompt, reads it and answers it: no polling
    // through the 1.5 s the page takes.
    let dialog = events.step("dialog");
    let dialog_trips = dialog["round_trips"].as_u64().expect("round trips");

    let console = events.trace_entries("console");
    assert!(
        console
            .iter()
            .any(|c| c["level"] == "error" && c["text"] == "widget failed for key [redacted]"),
        "{console:#?}"
    );
    let network = events.trace_entries("network");
    assert!(
        network.iter().any(|n| n["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/api/ping?key=[redacted]"))
            && n["status"] == 200
            && n["method"] == "GET"),
        "{network:#?}"
    );
    assert!(
        network
            .iter()
            .any(|n| n["url"] == "http://127.0.0.1:1/unreachable"
                && n["status"].is_null()
                && n["error"].as_str().is_some_and(|e| e.starts_with("net::"))),
        "a request that got no response shows its error: {network:#?}"
    );
    let trace = std::fs::read_to_string(events.dir.join("waits/trace.html")).expect("trace");
    assert!(trace.contains("widget failed for key [redacted]"));

    // The same flow without BiDi: it passes by polling, with more round trips, and the trace
    // says console and network were not captured rather than showing empty lists.
    let polling = run_waits("[browser]\nbidi = false\n").await;
    let browsers = polling.report["environment"]["browsers"].clone();
    assert_eq!(browsers[0]["bidi"], false, "{browsers:#}");
    let polled = polling.step("dialog");
    let polled_trips = polled["round_trips"].as_u64().expect("round trips");
    // A ratio, not a count: polling asks every 10 → 100 ms through the 1.5 s the page takes,
    // the event-driven step asks before and after the one prompt event. Load slows both alike
    // (fewer polls, but never fewer than one per 100 ms plus a round trip).
    assert!(
        polled_trips >= 2 * dialog_trips,
        "polling asks again and again, events ask once: {polled_trips} vs {dialog_trips} round trips\n{dialog:#}"
    );
    assert!(polling.trace_entries("console").is_empty());
    assert!(polling
        .steps()
        .iter()
        .all(|s| s["trace"]["console"].is_null()));
    let trace = std::fs::read_to_string(polling.dir.join("waits/trace.html")).expect("trace");
    assert!(trace.contains("not captured"));
}

const BROKEN: &str = r#"
id: broken
title: A page whose widget keeps failing
user: requester
steps:
  - goto: /broken
  - expect: { text: All systems go, timeout: 2s }
"#;

/// A failed step is followed, on the terminal, by what the page reported going wrong while it
/// ran: console errors and failed requests, a few of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_shows_the_console_errors_and_failed_requests_of_its_step() {
    // The six failures must happen while the failing step runs, whatever the load: the broken
    // endpoint holds its answers until the test sees that step start.
    let gate = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
    let opened = gate.clone();
    let broken = axum::routing::get(move || {
        let mut rx = opened.subscribe();
        async move {
            let _ = rx.wait_for(|open| *open).await;
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        }
    });
    let base = serve(Router::new().route("/api/broken", broken).fallback(site)).await;
    let suite = temp_suite(&[("broken.yaml", BROKEN)]);
    let child = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&base)
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn flows");
    step_started(
        &suite.path().join("artifacts"),
        "broken",
        1,
        std::time::Duration::from_secs(60),
    )
    .await;
    gate.send_replace(true);
    let done = child.wait_with_output().await.expect("flows runs");
    let out = Output {
        code: done.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&done.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&done.stderr).into_owned(),
    };
    assert_eq!(out.code, 1, "{}", out.all());
    let lines: Vec<&str> = out.stdout.lines().collect();
    let headline = lines
        .iter()
        .position(|l| l.contains("expect text~\"all systems go\""))
        .unwrap_or_else(|| panic!("the failing step: {}", out.all()));
    let below = &lines[headline + 1..];
    assert!(
        below[0].trim() == "console error: poll failed: HTTP 500",
        "{}",
        out.all()
    );
    assert!(
        below.iter().any(|l| l
            .trim()
            .starts_with(&format!("request failed: GET {base}/api/broken?n="))
            && l.trim().ends_with(" → 500")),
        "{}",
        out.all()
    );
    // Three of each are shown, then how many more: six console errors, so three more; the
    // requests, six or more (Chrome may also report an aborted one), at least three more.
    let more: Vec<&str> = below
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("… and "))
        .collect();
    assert_eq!(more.len(), 2, "{}", out.all());
    assert_eq!(more[0], "… and 3 more in the trace", "{}", out.all());
    let requests_more: usize = more[1]
        .trim_start_matches("… and ")
        .trim_end_matches(" more in the trace")
        .parse()
        .unwrap_or_else(|_| panic!("{}", out.all()));
    assert!(requests_more >= 3, "{}", out.all());
}
