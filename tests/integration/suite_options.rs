//! Suite-level options: `.env`, the run timeout, `--max-failures`, browser viewport / locale /
//! user agent (suite-wide and per flow), HTTP basic auth, and self-signed certificates. Browser
//! tests drive real Chromium; the small servers here stand in for a staging site (one behind
//! basic auth, one with a self-signed certificate, one that shows what the browser sent).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::support::*;

// ------------------------------------------------------------------------------------------
// .env

const USES_ENV: &str = r#"
id: uses-env
title: Uses a value from .env
steps:
  - http: { url: "/up", headers: { X-Greeting: "{{ env.FLOWS_TEST_GREETING }}" }, expect: { status: 200 } }
"#;

/// `.env` beside flows.toml feeds the runner's environment: the base URL, the E2E secret (a
/// secret as before: it opens the staging health check and is redacted) and `{{ env.NAME }}`;
/// a real environment variable wins over the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_env_beside_flows_toml_feeds_the_run_and_the_real_env_wins() {
    let app = helpdesk().await;
    let suite = temp_suite(&[("uses-env.yaml", USES_ENV)]);
    std::fs::write(
        suite.path().join("flows/.env"),
        format!(
            "# local staging settings\nPLAYWRIGHT_BASE_URL={}\nSTAGING_E2E_SECRET={SECRET}\nFLOWS_TEST_GREETING=\"hello from .env\"\n",
            app.url()
        ),
    )
    .expect("write .env");
    // `check` sees `env.FLOWS_TEST_GREETING` only through the .env file.
    let out = FlowsCmd::new()
        .env_remove("STAGING_E2E_SECRET")
        .cwd(suite.path())
        .args(["check"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());

    let out = FlowsCmd::new()
        .env_remove("STAGING_E2E_SECRET")
        .cwd(suite.path())
        .args(["run", "--all"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let health = read_json(&run.join("health-pre-check.json"));
    assert_eq!(
        health["checks"][1]["verdict"], "PASS",
        "the staging health check got the secret from .env: {health:#}"
    );
    assert_eq!(health["base_url"], app.url());
    let leaks = any_file_contains(&run, SECRET);
    assert!(
        leaks.is_empty(),
        "the secret from .env leaked into {leaks:?}"
    );

    // A real (wrong) secret in the environment wins over the file's: the staging check fails.
    let out = FlowsCmd::new()
        .env("STAGING_E2E_SECRET", "a-real-env-value-that-is-wrong")
        .cwd(suite.path())
        .args(["run", "--all"])
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    app.shutdown().await;
}

/// A malformed line of `.env` is a config error naming file and line, before anything starts;
/// the value (possibly a secret) is not shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_dot_env_line_is_a_config_error_with_file_and_line() {
    let suite = temp_suite(&[("uses-env.yaml", USES_ENV)]);
    std::fs::write(
        suite.path().join("flows/.env"),
        "A=1\n\nSTAGING_BASIC_AUTH_PASSWORD=open sesame 42\n",
    )
    .expect("write .env");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["run", "--all", "--base-url", "http://127.0.0.1:9"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("flows/.env:3: cannot parse the line of `STAGING_BASIC_AUTH_PASSWORD`"),
        "{}",
        out.all()
    );
    assert!(!out.all().contains("sesame"), "{}", out.all());
    assert!(
        !suite.path().join("artifacts").exists(),
        "nothing was started or written"
    );
}

// ------------------------------------------------------------------------------------------
// Run timeout and --max-failures

const WAITS_FOREVER: &str = r#"
id: a-waits
title: Waits for something that never appears
user: requester
steps:
  - goto: /login
  - expect: { text: This text never appears, timeout: 10m }
"#;

const AFTER: &str = r#"
id: b-after
title: Would run after the one that waits
steps:
  - http: { url: /up, expect: { status: 200 } }
"#;

/// The run timeout stops the flow that is running (`timed_out`, its current step failed naming
/// the run timeout), leaves the rest `not_run`, writes every report, stops every process and
/// exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_timeout_times_out_the_running_flow_and_leaves_the_rest_not_run() {
    let app = helpdesk().await;
    let suite = temp_suite(&[("a-waits.yaml", WAITS_FOREVER), ("b-after.yaml", AFTER)]);
    add_config(suite.path(), "[suite]\nname = \"timeout\"\n");
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().to_str().expect("utf-8").to_owned();
    let mut child = FlowsCmd::new()
        .cwd(suite.path())
        .env("TMPDIR", &marker)
        .run_all(&app.url())
        .args(["--skip-health-check"])
        .args(["--run-timeout", "15s", "--reporter", "list,junit,html"])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn flows");
    let stdout = tokio::spawn(read_all(child.stdout.take().expect("stdout")));
    let stderr = tokio::spawn(read_all(child.stderr.take().expect("stderr")));
    // Positive control for the "nothing left" check below: while the flow waits, its browser
    // and chromedriver are found by the same markers (else an empty list would prove nothing).
    step_started(
        &suite.path().join("artifacts"),
        "a-waits",
        1,
        Duration::from_secs(60),
    )
    .await;
    let running = processes_mentioning(&marker);
    assert!(
        running
            .iter()
            .any(|(_, cmd)| cmd.contains("--user-data-dir=")),
        "the browser of this run is found by its TMPDIR: {running:?}"
    );
    let running = processes_mentioning(suite.path().to_str().expect("utf-8"));
    assert!(
        running.iter().any(|(_, cmd)| cmd.contains("chromedriver")),
        "chromedriver of this run is found by its log path: {running:?}"
    );
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("flows ends at the run timeout")
        .expect("wait");
    let out = Output {
        code: exit.code().unwrap_or(-1),
        stdout: stdout.await.expect("stdout"),
        stderr: stderr.await.expect("stderr"),
    };
    assert_eq!(out.code, 1, "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["schema_version"], 3);
    assert_eq!(report["outcome"], "timed_out");
    assert_eq!(report["outcome_reason"], "run timeout (15s) reached");
    assert_eq!(report["totals"]["timed_out"], 1);
    assert_eq!(report["totals"]["not_run"], 1);
    let waits = flow(&report, "a-waits");
    assert_eq!(waits["status"], "timed_out", "{waits:#}");
    let failed = waits["failed_step"].as_u64().expect("a failed step") as usize;
    let step = &waits["steps"][failed];
    assert_eq!(step["status"], "failed");
    assert_eq!(
        step["error"],
        "the run timeout (15s) was reached while this step ran"
    );
    let after = flow(&report, "b-after");
    assert_eq!(after["status"], "not_run");
    assert_eq!(after["reason"], "run timeout (15s) reached");

    assert!(out.stdout.contains("TIMED OUT  a-waits"), "{}", out.all());
    assert!(
        out.stdout
            .contains("run timed out: run timeout (15s) reached; 1 flow did not run"),
        "{}",
        out.all()
    );
    let junit = std::fs::read_to_string(run.join("junit.xml")).expect("junit");
    assert!(junit.contains(r#"type="timed_out""#), "{junit}");
    assert!(junit.contains("run timeout (15s) reached"), "{junit}");
    let html = std::fs::read_to_string(run.join("index.html")).expect("html");
    assert!(html.contains("outcome-timed-out"), "html outcome badge");
    assert!(html.contains("run timeout (15s) reached"), "html reason");
    // The browser (its profile under TMPDIR) and chromedriver (its log under the suite) are gone.
    let mut left = processes_mentioning(&marker);
    left.extend(processes_mentioning(suite.path().to_str().expect("utf-8")));
    assert!(left.is_empty(), "processes left behind: {left:?}");
    app.shutdown().await;
}

const FAILS_A: &str = r#"
id: a-fails
title: Fails at once
steps:
  - http: { url: /up, expect: { status: 599 } }
"#;

const FAILS_B: &str = r#"
id: b-fails
title: Would fail too
steps:
  - http: { url: /up, expect: { status: 599 } }
"#;

const PASSES_C: &str = r#"
id: c-passes
title: Would pass
steps:
  - http: { url: /up, expect: { status: 200 } }
"#;

/// After N failed flows (after their retries) no more flows start: the rest are `not_run` with
/// the reason, the outcome says `max_failures_reached`, exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_failures_stops_starting_flows_after_the_last_retry() {
    let app = helpdesk().await;
    let suite = temp_suite(&[
        ("a-fails.yaml", FAILS_A),
        ("b-fails.yaml", FAILS_B),
        ("c-passes.yaml", PASSES_C),
    ]);
    add_config(suite.path(), "[suite]\nmax_failures = 2\n");
    let mut summary = tempfile::NamedTempFile::new().expect("summary file");
    let summary_path = summary.path().to_str().expect("utf-8").to_owned();
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("GITHUB_STEP_SUMMARY", &summary_path)
        .run_all(&app.url())
        .args(["--skip-health-check"])
        .args(["--max-failures", "1", "--retries", "1"])
        .args(["--reporter", "list,junit,github"])
        .output()
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["outcome"], "max_failures_reached");
    assert_eq!(
        report["outcome_reason"],
        "stopped after 1 failure (--max-failures 1)"
    );
    let a = flow(&report, "a-fails");
    assert_eq!(a["status"], "failed");
    assert_eq!(a["attempts"], 2, "counted only after its retry: {a:#}");
    for id in ["b-fails", "c-passes"] {
        let f = flow(&report, id);
        assert_eq!(f["status"], "not_run", "{f:#}");
        assert_eq!(f["reason"], "stopped after 1 failure (--max-failures 1)");
    }
    assert!(
        out.stdout.contains(
            "run stopped early: stopped after 1 failure (--max-failures 1); 2 flows did not run"
        ),
        "{}",
        out.all()
    );
    let junit = std::fs::read_to_string(run.join("junit.xml")).expect("junit");
    assert!(junit.contains("max_failures_reached"), "{junit}");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut summary, &mut text).expect("summary");
    assert!(
        text.contains("run stopped early (stopped after 1 failure (--max-failures 1))"),
        "{text}"
    );

    // Without the flag the config's limit applies: both failing flows run, c does not.
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&app.url())
        .args(["--skip-health-check"])
        .output()
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("0 passed, 2 failed, 0 skipped, 1 not run"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout
            .contains("run stopped early: stopped after 2 failures (--max-failures 2)"),
        "{}",
        out.all()
    );
    app.shutdown().await;
}

// ------------------------------------------------------------------------------------------
// Viewport, locale, user agent

/// What the browser is and sent: navigator.language, userAgent, inner size, and the
/// Accept-Language / User-Agent headers of the page request.
async fn whoami(headers: HeaderMap) -> Html<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .replace('<', "&lt;")
    };
    Html(format!(
        r#"<!doctype html><html><head><title>whoami</title></head><body>
<p>language: <span data-testid="language"></span></p>
<p>agent: <span data-testid="agent"></span></p>
<p>viewport: <span data-testid="viewport"></span></p>
<p>accept-language header: <span data-testid="accept-language">{}</span></p>
<p>user-agent header: <span data-testid="user-agent">{}</span></p>
<script>
  const set = (id, v) => document.querySelector(`[data-testid=${{id}}]`).textContent = v;
  set("language", navigator.language);
  set("agent", navigator.userAgent);
  const size = () => set("viewport", `${{innerWidth}}x${{innerHeight}}`);
  size(); addEventListener("resize", size);
</script></body></html>"#,
        header("accept-language"),
        header("user-agent")
    ))
}

const SUITE_BROWSER: &str = r#"
id: a-suite-browser
title: The suite's browser settings
user: requester
steps:
  - goto: /whoami
  - expect: { test_id: viewport, has_text: "/^1000x700$/" }
  - expect: { test_id: language, has_text: "/^de-DE$/" }
  - expect: { test_id: accept-language, has_text: "/^de-DE/" }
  - expect: { test_id: agent, has_text: "flows-suite-agent/1.0" }
  - expect: { test_id: user-agent, has_text: "flows-suite-agent/1.0" }
  - screenshot: suite
"#;

const FLOW_BROWSER: &str = r#"
id: b-flow-browser
title: A flow's own browser settings
user: requester
browser: { viewport: 390x844, locale: fr-FR, user_agent: "flows-phone-agent/2.0" }
steps:
  - goto: /whoami
  - expect: { test_id: viewport, has_text: "/^390x844$/" }
  - expect: { test_id: language, has_text: "/^fr-FR$/" }
  - expect: { test_id: accept-language, has_text: "/^fr-FR/" }
  - expect: { test_id: user-agent, has_text: "flows-phone-agent/2.0" }
  - screenshot: phone
"#;

const BACK_TO_SUITE: &str = r#"
id: c-back-to-suite
title: The user's shared session is back after the flow with its own settings
user: requester
steps:
  - goto: /whoami
  - expect: { test_id: viewport, has_text: "/^1000x700$/" }
  - expect: { test_id: agent, has_text: "flows-suite-agent/1.0" }
"#;

/// `[browser] viewport/locale/user_agent` apply exactly (innerWidth × innerHeight, both
/// navigator.language and Accept-Language, navigator.userAgent and User-Agent); a flow's own
/// `browser:` runs it in its own session with its settings, and the next flow is back in the
/// user's shared session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewport_locale_and_user_agent_apply_suite_wide_and_per_flow() {
    let base = serve(
        Router::new()
            .route("/whoami", get(whoami))
            .route("/up", get(|| async { "ok" })),
    )
    .await;
    let suite = temp_suite(&[
        ("a.yaml", SUITE_BROWSER),
        ("b.yaml", FLOW_BROWSER),
        ("c.yaml", BACK_TO_SUITE),
    ]);
    add_config(
        suite.path(),
        "[browser]\nviewport = \"1000x700\"\nlocale = \"de-DE\"\nuser_agent = \"flows-suite-agent/1.0\"\n",
    );
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&base)
        .args(["--skip-health-check"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let suite_shot = image::open(run.join("a-suite-browser/07-suite.png")).expect("png");
    assert_eq!(
        (suite_shot.width(), suite_shot.height()),
        (1000, 700),
        "the screenshot is the viewport"
    );
    let phone = image::open(run.join("b-flow-browser/06-phone.png")).expect("png");
    assert_eq!((phone.width(), phone.height()), (390, 844));
    let report = read_json(&run.join("staging-run-report.json"));
    let browsers = report["environment"]["browsers"]
        .as_array()
        .expect("browsers");
    assert_eq!(
        browsers.len(),
        2,
        "the shared session and the flow's own: {browsers:#?}"
    );
}

/// An invalid viewport in a flow file is a diagnostic with file:line:col, before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_flow_viewport_is_reported_with_file_line_col() {
    let suite = temp_suite(&[(
        "bad.yaml",
        "id: bad\ntitle: Bad viewport\nuser: requester\nbrowser: { viewport: 390by844 }\nsteps:\n  - goto: /\n",
    )]);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["check"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("bad.yaml:4:22"),
        "file:line:col of the value: {}",
        out.all()
    );
    assert!(
        out.stderr.contains("`390by844` is not a viewport"),
        "{}",
        out.all()
    );
}

// ------------------------------------------------------------------------------------------
// HTTP basic auth

const LAB_USER: &str = "lab";
const LAB_PASSWORD: &str = "lab-Pw-9fK2xQ7mZ4";

#[derive(Clone, Default)]
struct Seen {
    /// (path, had valid credentials)
    requests: Arc<Mutex<Vec<(String, bool)>>>,
}

fn authorized(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{LAB_USER}:{LAB_PASSWORD}"))
    );
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == want)
}

/// Everything behind basic auth (realm "lab"), as a staging site behind a password is.
async fn behind_basic_auth(
    State(seen): State<Seen>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_owned();
    if path == "/api/own-auth" {
        // A flow's own Authorization replaces the basic auth: exactly one, the flow's.
        let values: Vec<&[u8]> = headers
            .get_all("authorization")
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        return if values == [b"Bearer flow-token".as_slice()] {
            StatusCode::OK.into_response()
        } else {
            StatusCode::BAD_REQUEST.into_response()
        };
    }
    let ok = authorized(&headers);
    seen.requests.lock().expect("lock").push((path.clone(), ok));
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", r#"Basic realm="lab""#)],
            "credentials needed",
        )
            .into_response();
    }
    match path.as_str() {
        "/health" | "/staging/e2e/health" => healthy(),
        "/up" => "ok".into_response(),
        "/api/data" => (
            [("content-type", "application/json")],
            r#"{"secret_area":"opened"}"#,
        )
            .into_response(),
        "/pixel.svg" => (
            [("content-type", "image/svg+xml")],
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#,
        )
            .into_response(),
        // The paragraphs come first: the image's load event may fire before the parser has
        // reached anything after it.
        "/lab/area/page" => Html(
            r#"<!doctype html><title>lab</title><h1>Lab area</h1>
<p data-testid="img">image pending</p><p data-testid="api">api pending</p>
<img src="/pixel.svg" alt="pixel" onload="document.querySelector('[data-testid=img]').textContent = 'image ' + this.naturalWidth" onerror="document.querySelector('[data-testid=img]').textContent = 'image failed to load'">
<script>fetch("/api/data").then(r => r.json()).then(j => document.querySelector('[data-testid=api]').textContent = 'api ' + j.secret_area);</script>"#,
        )
        .into_response(),
        _ => Html("<!doctype html><title>home</title><h1>Behind basic auth</h1>").into_response(),
    }
}

/// Another origin: records whether anything sent it an Authorization header.
async fn other_origin(State(seen): State<Seen>, headers: HeaderMap) -> &'static str {
    seen.requests
        .lock()
        .expect("lock")
        .push(("/other".into(), headers.contains_key("authorization")));
    "other"
}

const BEHIND_AUTH: &str = r#"
id: behind-auth
title: Pages, subresources and API calls behind basic auth
user: requester
steps:
  - goto: /lab/area/page
  - expect: { role: heading, name: Lab area }
  - expect: { test_id: img, has_text: image 10 }
  - expect: { test_id: api, has_text: api opened }
  - goto: /another/path
  - expect: { role: heading, name: Behind basic auth }
  - http: { url: /api/data, expect: { status: 200 } }
  - http: { url: /api/own-auth, headers: { Authorization: Bearer flow-token }, expect: { status: 200 } }
  - http: { url: "{{ env.OTHER_ORIGIN }}/other", expect: { status: 200 } }
"#;

/// Basic auth: the health pre-check and `http` steps send it to the target's origin (and only
/// there); the browser, signed in once at session start, opens other pages, images and fetches
/// of that origin; the password is in no artifact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_opens_the_site_for_browser_and_http_and_stays_secret() {
    let seen = Seen::default();
    let base = serve(
        Router::new()
            .fallback(behind_basic_auth)
            .with_state(seen.clone()),
    )
    .await;
    let other_seen = Seen::default();
    let other = serve(
        Router::new()
            .route("/other", get(other_origin))
            .with_state(other_seen.clone()),
    )
    .await;
    let suite = temp_suite(&[("behind-auth.yaml", BEHIND_AUTH)]);
    add_config(
        suite.path(),
        "[target.basic_auth]\nusername = \"lab\"\npassword_env = \"LAB_PASSWORD\"\n",
    );
    // Without the password: a config error before anything starts.
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("OTHER_ORIGIN", &other)
        .run_all(&base)
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("LAB_PASSWORD"), "{}", out.all());

    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("OTHER_ORIGIN", &other)
        .env("LAB_PASSWORD", LAB_PASSWORD)
        .env("GITHUB_ACTIONS", "true")
        .args(["run", "--all", "--base-url", &base, "--trace", "on"])
        .output()
        .await;
    let requests = seen.requests.lock().expect("lock").clone();
    assert_eq!(out.code, 0, "{}\nrequests: {requests:?}", out.all());
    assert!(
        out.stdout
            .lines()
            .any(|l| l == format!("::add-mask::{LAB_PASSWORD}")),
        "the password is masked in the GitHub Actions log: {}",
        out.all()
    );
    for path in [
        "/health",
        "/lab/area/page",
        "/pixel.svg",
        "/api/data",
        "/another/path",
    ] {
        assert!(
            requests.iter().any(|(p, ok)| p == path && *ok),
            "{path} was reached with the credentials: {requests:?}"
        );
    }
    let other_requests = other_seen.requests.lock().expect("lock").clone();
    assert_eq!(
        other_requests,
        vec![("/other".to_owned(), false)],
        "another origin never gets the credentials"
    );
    let run = run_dir(&suite.path().join("artifacts"));
    let leaks = any_file_contains(&run, LAB_PASSWORD);
    assert!(leaks.is_empty(), "the password leaked into {leaks:?}");
    assert!(!out
        .all()
        .replace(&format!("::add-mask::{LAB_PASSWORD}"), "")
        .contains(LAB_PASSWORD));
}

// ------------------------------------------------------------------------------------------
// Self-signed certificates

/// A TLS listener with a fresh self-signed certificate for 127.0.0.1 and localhost.
struct SelfSignedListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl SelfSignedListener {
    async fn bind() -> SelfSignedListener {
        let cert = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("self-signed certificate");
        let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
            cert.signing_key.serialize_der().into(),
        );
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("tls versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .expect("server config");
        SelfSignedListener {
            tcp: tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        }
    }
}

impl axum::serve::Listener for SelfSignedListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A client that refuses the certificate fails its handshake: wait for the next.
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn serve_self_signed(app: Router) -> String {
    let listener = SelfSignedListener::bind().await;
    let addr = axum::serve::Listener::local_addr(&listener).expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("https://{addr}")
}

const ON_TLS: &str = r#"
id: on-tls
title: A page and an API call on a self-signed site
user: requester
steps:
  - goto: /
  - expect: { role: heading, name: Self-signed staging }
  - http: { url: /up, expect: { status: 200 } }
"#;

/// Without `accept_invalid_certs` an untrusted certificate fails the health pre-check (exit 3)
/// with a message saying what to set; with `STAGING_ACCEPT_INVALID_CERTS=1` the browser and the
/// HTTP client accept it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_is_refused_clearly_and_accepted_on_request() {
    let health = || async { healthy() };
    let base = serve_self_signed(
        Router::new()
            .route(
                "/",
                get(|| async {
                    Html("<!doctype html><title>tls</title><h1>Self-signed staging</h1>")
                }),
            )
            .route("/up", get(|| async { "ok" }))
            .route("/health", get(health))
            .route("/staging/e2e/health", get(health)),
    )
    .await;
    let suite = temp_suite(&[("on-tls.yaml", ON_TLS)]);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&base)
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stdout.contains(&format!(
            "the certificate of {base} is not trusted (self-signed?); set accept_invalid_certs = true"
        )),
        "{}",
        out.all()
    );

    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("STAGING_ACCEPT_INVALID_CERTS", "1")
        .run_all(&base)
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
}

/// The websocket client takes a self-signed certificate only with `accept_invalid_certs`, and
/// says what to set otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_accepts_a_self_signed_certificate_only_when_told() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let listener = SelfSignedListener::bind().await;
    let addr = axum::serve::Listener::local_addr(&listener).expect("addr");
    let mut listener = listener;
    tokio::spawn(async move {
        loop {
            let (tls, _) = axum::serve::Listener::accept(&mut listener).await;
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                let hello = r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.1\",\"activity_timeout\":30}"}"#;
                let _ = ws.send(Message::text(hello)).await;
                while let Some(Ok(msg)) = ws.next().await {
                    let Ok(text) = msg.to_text() else { continue };
                    if text.contains("pusher:subscribe") {
                        let ok = r#"{"event":"pusher_internal:subscription_succeeded","channel":"public-news","data":"{}"}"#;
                        let _ = ws.send(Message::text(ok)).await;
                    }
                }
            });
        }
    });
    let opts = || flows::realtime::PusherOptions {
        name: "news".into(),
        url: url::Url::parse(&format!("wss://{addr}/app/key")).expect("url"),
        channel: "public-news".into(),
        auth_endpoint: None,
        cookie: None,
        headers: vec![],
    };
    let deadline = || std::time::Instant::now() + std::time::Duration::from_secs(20);
    let refused =
        flows::realtime::subscribe_pusher(opts(), &flows::net::Http::default(), deadline())
            .await
            .expect_err("untrusted");
    assert!(
        refused
            .to_string()
            .contains("is not trusted (self-signed?); set accept_invalid_certs = true"),
        "{refused}"
    );
    let accepting = flows::net::Http::new("test", &[], None, true);
    let sub = flows::realtime::subscribe_pusher(opts(), &accepting, deadline())
        .await
        .expect("subscribed over wss with a self-signed certificate");
    sub.close().await;
}

/// The demo helpdesk over HTTPS with a self-signed certificate (`tls_self_signed`): with
/// `STAGING_ACCEPT_INVALID_CERTS=1` the flows that need a browser, HTTP calls, the mail report,
/// the Pusher websocket (wss) and SSE all pass; without it the health pre-check fails, exit 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_over_self_signed_https_passes_with_accept_invalid_certs() {
    let app = helpdesk::serve(helpdesk::Config {
        staging: true,
        secret: Some(SECRET.to_owned()),
        tls_self_signed: true,
        ..Default::default()
    })
    .await
    .expect("the demo helpdesk starts with TLS");
    let url = app.url();
    assert!(url.starts_with("https://"), "{url}");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let output = out_dir.path().to_str().expect("utf-8").to_owned();
    let out = FlowsCmd::new()
        .args(["run", "notification-received", "--skip-web-server"])
        .args(["--base-url", &url, "--output", &output])
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    assert!(
        out.stdout.contains("is not trusted (self-signed?)"),
        "{}",
        out.all()
    );

    let out_dir = tempfile::tempdir().expect("tempdir");
    let output = out_dir.path().to_str().expect("utf-8").to_owned();
    let out = FlowsCmd::new()
        .env("STAGING_ACCEPT_INVALID_CERTS", "1")
        .args(["run", "notification-received", "--skip-web-server"])
        .args(["--base-url", &url, "--output", &output])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = read_json(&run_dir(out_dir.path()).join("staging-run-report.json"));
    let frames = report["realtime"]["frames"].as_array().expect("frames");
    assert!(
        frames.iter().any(|f| f["subscription"] == "bell"),
        "a Pusher frame over wss: {frames:#?}"
    );
    assert!(
        frames.iter().any(|f| f["subscription"] == "stream"),
        "an SSE event over https: {frames:#?}"
    );
    app.shutdown().await;
}

/// Only `/members/…` asks for the credentials (realm "members").
async fn partly_protected(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path.starts_with("/members/") {
        if !authorized(&headers) {
            return (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", r#"Basic realm="members""#)],
                "credentials needed",
            )
                .into_response();
        }
        return Html(format!(
            "<!doctype html><title>members</title><h1>Members only</h1><p>{path}</p>"
        ))
        .into_response();
    }
    match path {
        "/health" | "/staging/e2e/health" => healthy(),
        _ => Html("<!doctype html><title>public</title><h1>Public home</h1>").into_response(),
    }
}

const MEMBERS: &str = r#"
id: members
title: A site that asks for basic auth on some pages only
user: requester
steps:
  - goto: /
  - expect: { role: heading, name: Public home }
  - goto: /members/reports
  - expect: { role: heading, name: Members only }
  - http: { url: /members/api, expect: { status: 200 } }
"#;

/// When only some pages ask for the credentials, `sign_in_path` names one; the browser signs in
/// there and the other pages of that realm open too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_sign_in_path_for_a_site_protected_in_part() {
    let base = serve(Router::new().fallback(partly_protected)).await;
    let suite = temp_suite(&[("members.yaml", MEMBERS)]);
    add_config(suite.path(), "[target.basic_auth]\nusername = \"lab\"\n");
    // Without sign_in_path the run says that the base URL does not ask for the credentials.
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("STAGING_BASIC_AUTH_PASSWORD", LAB_PASSWORD)
        .run_all(&base)
        .output()
        .await;
    assert!(
        out.stdout.contains(&format!(
            "basic auth: {base} answered 200 without a Basic challenge, so browsers signing in \
             there will not keep the credentials; if only some pages ask for them, set \
             sign_in_path under [target.basic_auth] to one of those"
        )),
        "{}",
        out.all()
    );
    add_config(suite.path(), "sign_in_path = \"/members/\"\n");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("STAGING_BASIC_AUTH_PASSWORD", LAB_PASSWORD)
        .run_all(&base)
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let leaks = any_file_contains(&run, LAB_PASSWORD);
    assert!(leaks.is_empty(), "the password leaked into {leaks:?}");
}

/// A flow that overruns `timeouts.flow` fails at the step it was in (with the failure
/// screenshot), not somewhere unnamed; the run goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_timeout_fails_the_step_that_was_running() {
    let app = helpdesk().await;
    let suite = temp_suite(&[("a-waits.yaml", WAITS_FOREVER), ("b-after.yaml", AFTER)]);
    let config = suite.path().join("flows/flows.toml");
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("[timeouts]\n", "[timeouts]\nflow = \"3s\"\n");
    std::fs::write(&config, text).expect("config");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&app.url())
        .args(["--skip-health-check"])
        .output()
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["outcome"], "completed");
    let waits = flow(&report, "a-waits");
    assert_eq!(waits["status"], "failed");
    let failed = waits["failed_step"].as_u64().expect("a failed step") as usize;
    let step = &waits["steps"][failed];
    assert_eq!(
        step["error"],
        "the flow did not finish within timeouts.flow (3s)"
    );
    assert!(
        step["artifacts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["kind"] == "screenshot")),
        "{step:#}"
    );
    assert_eq!(flow(&report, "b-after")["status"], "passed");
    app.shutdown().await;
}

const LAB: &str = r#"
id: lab
title: The demo helpdesk's browser lab pages
user: requester
steps:
  - goto: /lab/whoami
  - expect: { test_id: viewport, has_text: "/^1024x640$/" }
  - expect: { test_id: browser-language, has_text: "/^de-DE$/" }
  - expect: { test_id: server-accept-language, has_text: "/^de-DE/" }
  - expect: { test_id: browser-user-agent, has_text: "flows-lab-agent/3.0" }
  - expect: { test_id: server-user-agent, has_text: "flows-lab-agent/3.0" }
  - goto: /lab/basic-auth
  - expect: { test_id: result, has_text: Authenticated as lab }
"#;

/// The same against the demo helpdesk's lab (`/lab/whoami`, `/lab/basic-auth`, which alone asks
/// for the credentials: `sign_in_path`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_lab_shows_the_configured_browser_and_lets_basic_auth_in() {
    let app = helpdesk().await;
    let suite = temp_suite(&[("lab.yaml", LAB)]);
    add_config(
        suite.path(),
        "[browser]\nviewport = \"1024x640\"\nlocale = \"de-DE\"\nuser_agent = \"flows-lab-agent/3.0\"\n\
         [target.basic_auth]\nusername = \"lab\"\nsign_in_path = \"/lab/basic-auth\"\n",
    );
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("STAGING_BASIC_AUTH_PASSWORD", "lab-password")
        .run_all(&app.url())
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        !out.stdout.contains("basic auth:"),
        "no notice: {}",
        out.all()
    );
    app.shutdown().await;
}
