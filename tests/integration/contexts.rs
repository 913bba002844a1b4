//! Users of a run in one browser (`[browser] isolation = "context"`, the default): each user's
//! cookies and localStorage stay its own, `session: fresh` starts a clean user context, a flow
//! with its own viewport keeps it, `isolation = "process"` (a browser per user) still works, and
//! no browser process outlives the run. Real Chromium against a small app that shows what the
//! browser holds.

use std::time::Duration;

use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;

use crate::support::*;

/// Sets the cookie `who` (by the server) and localStorage `who` (by the page) to `name`.
async fn set(UrlPath(name): UrlPath<String>) -> impl IntoResponse {
    let name: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    (
        [(header::SET_COOKIE, format!("who={name}; Path=/"))],
        Html(format!(
            r#"<!doctype html><title>set</title><p data-testid="done"></p>
<script>localStorage.setItem("who", "{name}"); document.querySelector("[data-testid=done]").textContent = "set {name}";</script>"#
        )),
    )
}

/// What this browser sent (the `who` cookie) and holds (localStorage `who`, the viewport).
async fn show(headers: HeaderMap) -> Html<String> {
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|all| {
            all.split("; ")
                .find_map(|kv| kv.strip_prefix("who=").map(str::to_owned))
        })
        .unwrap_or_else(|| "none".to_owned());
    Html(format!(
        r#"<!doctype html><title>show</title>
<p>cookie: <span data-testid="cookie">{cookie}</span></p>
<p>storage: <span data-testid="storage"></span></p>
<p>viewport: <span data-testid="viewport"></span></p>
<script>
  const set = (id, v) => document.querySelector(`[data-testid=${{id}}]`).textContent = v;
  set("storage", localStorage.getItem("who") || "none");
  set("viewport", `${{innerWidth}}x${{innerHeight}}`);
</script>"#
    ))
}

async fn app() -> String {
    serve(
        Router::new()
            .route("/set/{name}", get(set))
            .route("/show", get(show))
            .route("/up", get(|| async { "ok" })),
    )
    .await
}

/// Flows in file order: two users, a fresh session, a flow with its own viewport, and the
/// second user again (untouched by all of it).
const FLOWS: &[(&str, &str)] = &[
    (
        "a.yaml",
        r#"
id: a-requester-signs
title: The requester gets a cookie and a stored value
user: requester
steps:
  - goto: /set/requester
  - expect: { test_id: done, has_text: "/^set requester$/" }
  - goto: /show
  - expect: { test_id: cookie, has_text: "/^requester$/" }
  - expect: { test_id: storage, has_text: "/^requester$/" }
"#,
    ),
    (
        "b.yaml",
        r#"
id: b-head-sees-nothing-of-it
title: The head starts with nothing of the requester's
user: head
steps:
  - goto: /show
  - expect: { test_id: cookie, has_text: "/^none$/" }
  - expect: { test_id: storage, has_text: "/^none$/" }
  - goto: /set/head
  - expect: { test_id: done, has_text: "/^set head$/" }
"#,
    ),
    (
        "c.yaml",
        r#"
id: c-requester-keeps-its-own
title: The requester still has its own cookie and value, not the head's
user: requester
steps:
  - goto: /show
  - expect: { test_id: cookie, has_text: "/^requester$/" }
  - expect: { test_id: storage, has_text: "/^requester$/" }
"#,
    ),
    (
        "d.yaml",
        r#"
id: d-fresh-requester
title: A fresh session starts clean
user: requester
session: fresh
steps:
  - goto: /show
  - expect: { test_id: cookie, has_text: "/^none$/" }
  - expect: { test_id: storage, has_text: "/^none$/" }
"#,
    ),
    (
        "e.yaml",
        r#"
id: e-phone
title: A flow with its own viewport keeps it
user: requester
browser: { viewport: 390x844 }
steps:
  - goto: /show
  - expect: { test_id: viewport, has_text: "/^390x844$/" }
  - screenshot: phone
"#,
    ),
    (
        "f.yaml",
        r#"
id: f-head-again
title: The head's session is as it left it, at the suite's size
user: head
steps:
  - goto: /show
  - expect: { test_id: cookie, has_text: "/^head$/" }
  - expect: { test_id: storage, has_text: "/^head$/" }
  - expect: { test_id: viewport, has_text: "/^1000x700$/" }
"#,
    ),
];

/// Runs the suite with `extra` config as its own session leader; returns the output, the
/// report and what was left of the run's processes.
async fn run_suite(extra: &str) -> (Output, serde_json::Value, Vec<Proc>) {
    let base = app().await;
    let suite = temp_suite(FLOWS);
    add_config(suite.path(), extra);
    let mut child = FlowsCmd::new()
        .cwd(suite.path())
        .own_session()
        .env("RUST_LOG", "warn,flows::exec::browser=debug")
        .run_all(&base)
        .args(["--skip-health-check"])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn flows");
    let pid = child.id().expect("pid");
    let stdout = tokio::spawn(read_all(child.stdout.take().expect("stdout")));
    let stderr = tokio::spawn(read_all(child.stderr.take().expect("stderr")));
    let exit = tokio::time::timeout(Duration::from_secs(240), child.wait())
        .await
        .expect("flows exits")
        .expect("wait");
    let out = Output {
        code: exit.code().unwrap_or(-1),
        stdout: stdout.await.expect("stdout"),
        stderr: stderr.await.expect("stderr"),
    };
    let left = processes_in_session(pid);
    let run = run_dir(&suite.path().join("artifacts"));
    let report = read_json(&run.join("staging-run-report.json"));
    let phone = image::open(run.join("e-phone/03-phone.png")).expect("the phone screenshot");
    assert_eq!(
        (phone.width(), phone.height()),
        (390, 844),
        "the flow's own viewport is the screenshot's size"
    );
    (out, report, left)
}

fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

fn assert_all_passed(out: &Output, report: &serde_json::Value, left: &[Proc]) {
    assert_eq!(out.code, 0, "{}", out.all());
    for (name, _) in FLOWS {
        let id = report["flows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["file"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("{name} in the report"));
        assert_eq!(id["status"], "passed", "{name}: {id:#}");
    }
    assert!(
        left.is_empty(),
        "processes left behind: {:#?}\n{}",
        left.iter().map(|p| &p.cmdline).collect::<Vec<_>>(),
        out.all()
    );
}

/// The default: one browser for the run, each user (and each fresh or own-settings session) a
/// user context in it, kept apart, with the viewport asked for; nothing left after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_share_one_browser_in_contexts_of_their_own() {
    let (out, report, left) = run_suite("[browser]\nviewport = \"1000x700\"\n").await;
    assert_all_passed(&out, &report, &left);
    assert_eq!(
        count(&out.stderr, "shared browser started"),
        1,
        "one browser for the run:\n{}",
        out.stderr
    );
    // requester, head, the fresh requester, the requester with a phone viewport.
    assert_eq!(
        count(&out.stderr, "isolation=\"context\""),
        4,
        "four user contexts:\n{}",
        out.stderr
    );
    assert_eq!(
        count(&out.stderr, "isolation=\"process\""),
        0,
        "{}",
        out.stderr
    );
}

/// `isolation = "process"`: the same suite passes with a browser per session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_isolation_gives_each_user_a_browser_of_its_own() {
    let (out, report, left) =
        run_suite("[browser]\nviewport = \"1000x700\"\nisolation = \"process\"\n").await;
    assert_all_passed(&out, &report, &left);
    assert_eq!(
        count(&out.stderr, "shared browser started"),
        0,
        "{}",
        out.stderr
    );
    assert_eq!(
        count(&out.stderr, "isolation=\"process\""),
        4,
        "four browsers:\n{}",
        out.stderr
    );
}

/// A bad `isolation` is a config error found by `flows check`, before any browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_isolation_is_a_config_error_in_check() {
    let suite = temp_suite(&[("a.yaml", FLOWS[0].1)]);
    add_config(suite.path(), "[browser]\nisolation = \"tabs\"\n");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["check"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("unknown isolation `tabs`; use `context`"),
        "{}",
        out.all()
    );
}

/// The shared browser starts no process its users do not need: with two users' pages open,
/// its renderers are theirs and the BiDi mapper's. Chrome 156 would also keep the session's
/// first tab, an omnibox-popup WebUI per user context and a spare renderer (seven in all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_browser_runs_only_the_renderers_its_users_need() {
    use std::sync::Arc;
    use tokio::sync::Notify;
    let arrived = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let hold = {
        let (arrived, release) = (arrived.clone(), release.clone());
        move || async move {
            arrived.notify_one();
            release.notified().await;
            "released"
        }
    };
    let base = serve(
        Router::new()
            .route("/set/{name}", get(set))
            .route("/show", get(show))
            .route("/hold", get(hold))
            .route("/up", get(|| async { "ok" })),
    )
    .await;
    let suite = temp_suite(&[
        (
            "a.yaml",
            "id: a\ntitle: requester's page\nuser: requester\nsteps:\n  - goto: /set/requester\n",
        ),
        (
            "b.yaml",
            "id: b\ntitle: head's page, then a held request\nuser: head\nsteps:\n  - goto: /show\n  - http: { url: /hold, expect: { status: 200 } }\n",
        ),
    ]);
    let mut child = FlowsCmd::new()
        .cwd(suite.path())
        .own_session()
        .run_all(&base)
        .args(["--skip-health-check"])
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn flows");
    let pid = child.id().expect("pid");
    tokio::time::timeout(Duration::from_secs(120), arrived.notified())
        .await
        .expect("the run reaches the held request");
    let renderers = || {
        processes_in_session(pid)
            .into_iter()
            .filter(|p| p.cmdline.contains("--type=renderer"))
            .map(|p| p.cmdline)
            .collect::<Vec<_>>()
    };
    // A closed tab's renderer takes a moment to exit: wait for the count, up to a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = renderers();
    while seen.len() > 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = renderers();
    }
    release.notify_one();
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("flows exits")
        .expect("wait");
    assert_eq!(
        seen.len(),
        3,
        "two users' renderers and the BiDi mapper's, no more: {seen:#?}"
    );
    assert_eq!(exit.code(), Some(0), "the run passes");
}
