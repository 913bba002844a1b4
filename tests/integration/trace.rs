//! Traces and the HTML report, dogfooded: a flow that fails on purpose runs in real Chromium
//! against the demo helpdesk with `--trace on --reporter list,html`; then `flows` itself opens
//! the trace viewer and the HTML report in headless Chromium (flows in
//! `cases/trace/viewer/`) and asserts what a person would see. No mocks, no sleeps.
//!
//! The run directory is served by a tiny static server that records every request, so the
//! test also proves that a trace loads nothing but itself (frames, snapshots, CSS and JS are
//! inline). (`goto` takes only http(s) URLs and `--base-url` must be http(s), so the viewer
//! flows cannot open `file://` yet.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use flows::report::StagingRunReport;

use crate::support::*;

const TRACED_SUITE: &str = "tests/integration/cases/trace/traced/flows.toml";
const VIEWER_SUITE: &str = "tests/integration/cases/trace/viewer/flows.toml";
const FLOW: &str = "failing-login";

/// Runs the failing flow with `--trace on --reporter list,html`; returns the output root (kept
/// alive by the caller), the run directory and the command's output.
async fn run_failing_flow(base_url: &str) -> (tempfile::TempDir, PathBuf, Output) {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = FlowsCmd::new()
        .args(["run", "--all", "--config", TRACED_SUITE, "--trace", "on"])
        .args([
            "--reporter",
            "list,html",
            "--base-url",
            base_url,
            "--output",
        ])
        .args([out_dir.path().to_str().expect("utf-8 path")])
        .output()
        .await;
    assert_eq!(out.code, 1, "the flow fails on purpose\n{}", out.all());
    let run = run_dir(out_dir.path());
    (out_dir, run, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_reads_its_own_trace_viewer_and_html_report_in_chromium() {
    let app = helpdesk().await;
    let (_out_dir, run, out) = run_failing_flow(&app.url()).await;
    app.shutdown().await;

    // One trace file for the flow, its raw parts gone, its size on the terminal.
    let trace = run.join(FLOW).join("trace.html");
    let trace_bytes = std::fs::metadata(&trace).expect("trace.html").len();
    assert!(!run.join(FLOW).join("trace").exists(), "raw parts removed");
    assert!(
        out.stdout
            .contains(&format!("    trace: {} (", trace.display())),
        "{}",
        out.all()
    );
    assert!(
        out.stdout
            .contains(&format!("html: {}", run.join("index.html").display())),
        "{}",
        out.all()
    );

    // The JSON report is still valid, points at the trace, and at no deleted part.
    let text = std::fs::read_to_string(run.join("staging-run-report.json")).expect("report");
    let report: StagingRunReport = serde_json::from_str(&text).expect("the report's own type");
    let flow = report
        .flows
        .iter()
        .find(|f| f.id == FLOW)
        .expect("the flow");
    let traces: Vec<_> = flow
        .artifacts
        .iter()
        .filter(|a| a.kind == flows::events::ArtifactKind::Trace)
        .collect();
    assert_eq!(traces.len(), 1, "{:?}", flow.artifacts);
    assert_eq!(traces[0].path, Path::new(FLOW).join("trace.html"));
    assert_eq!(traces[0].bytes, trace_bytes);
    for step in &flow.steps {
        if let Some(t) = &step.trace {
            assert!(
                t.dom_snapshot.is_none()
                    && t.screenshot_before.is_none()
                    && t.screenshot_after.is_none(),
                "step {} points at a deleted part: {t:?}",
                step.index
            );
        }
    }
    for a in &flow.artifacts {
        assert!(run.join(&a.path).is_file(), "{} exists", a.path.display());
    }

    // flows opens the viewer and the report in headless Chromium.
    let server = StaticServer::start(&run).await;
    let viewer_out = tempfile::tempdir().expect("tempdir");
    let dogfood = FlowsCmd::new()
        .args([
            "run",
            "--all",
            "--config",
            VIEWER_SUITE,
            "--skip-health-check",
        ])
        .args(["--base-url", &server.url, "--output"])
        .args([viewer_out.path().to_str().expect("utf-8 path")])
        .output()
        .await;
    assert_eq!(dogfood.code, 0, "{}", dogfood.all());
    assert!(
        dogfood.stdout.contains("2 passed, 0 failed, 0 skipped"),
        "{}",
        dogfood.all()
    );
    // The trace loaded nothing but itself; the report, itself, the trace it links to and the
    // failure screenshot it shows.
    let expected: BTreeSet<String> = [
        "/failing-login/trace.html",
        "/index.html",
        "/failing-login/06-failure.png",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(server.requested(), expected);

    // The same views read without `flows`: plain WebDriver queries from this test, so a runner
    // whose `expect` answers "ok" without looking cannot make the viewer or the report pass.
    independent_check_of_both_views(&server.url).await;
}

/// The trace viewer and the HTML report, checked by WebDriver element queries (fantoccini,
/// chromedriver, headless Chromium) with nothing of the runner's page script or assertions:
/// one check per view of what the dogfood flows assert through `flows`.
async fn independent_check_of_both_views(base: &str) {
    use fantoccini::{ClientBuilder, Locator};

    let logs = tempfile::tempdir().expect("tempdir");
    let mut driver = flows::exec::browser::Driver::start(
        &flows::config::BrowserConfig::default(),
        &logs.path().join("chromedriver.log"),
    )
    .await
    .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("tempdir");
    let mut chrome = serde_json::json!({
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            format!("--user-data-dir={}", profile.path().display()),
        ],
    });
    // chromedriver wants a path, not a name to look up.
    if let Some(binary) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|b| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join(b))
                .find(|p| p.is_file())
        })
    {
        chrome["binary"] = serde_json::json!(binary.display().to_string());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), serde_json::json!("chrome"));
    caps.insert("goog:chromeOptions".into(), chrome);
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session");
    let count = |css: &'static str| {
        let client = &client;
        async move {
            client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .len()
        }
    };
    let text = |css: &'static str| {
        let client = &client;
        async move {
            let el = client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"));
            el.text().await.unwrap_or_else(|e| panic!("{css}: {e}"))
        }
    };

    // The trace viewer: the step list, the failed step selected, the film strip.
    client
        .goto(&format!("{base}/{FLOW}/trace.html"))
        .await
        .expect("the trace opens");
    client
        .wait()
        .for_element(Locator::Css("body[data-ready]"))
        .await
        .expect("the viewer is ready");
    assert_eq!(
        client.title().await.expect("title"),
        "Trace · failing-login · failed"
    );
    assert_eq!(count(".steps .step").await, 7, "one entry per step");
    assert_eq!(count(r#".steps .step[data-status="passed"]"#).await, 5);
    let failed = text(r#".steps .step[data-status="failed"][aria-current="step"]"#).await;
    assert!(
        failed.contains("carrier pigeon"),
        "the failed step is selected: {failed:?}"
    );
    let error = text(".detail:not([hidden]) .error").await;
    assert!(error.contains("no element matches"), "its error: {error:?}");
    assert_eq!(
        count(".filmstrip .frame").await,
        5,
        "a frame per browser step"
    );
    let errors = client
        .find(Locator::Css("#viewer-errors"))
        .await
        .expect("#viewer-errors");
    assert!(
        !errors.is_displayed().await.expect("displayed"),
        "the viewer reports no error of its own: {:?}",
        errors.text().await
    );

    // The HTML report: the outcome, the totals, one row for the failed flow, the trace link.
    client
        .goto(&format!("{base}/index.html"))
        .await
        .expect("the report opens");
    client
        .wait()
        .for_element(Locator::Css("body[data-ready]"))
        .await
        .expect("the report is ready");
    assert!(text("#outcome").await.contains("completed"));
    let totals = text("#totals").await;
    assert!(totals.contains("1 failed"), "{totals:?}");
    assert_eq!(count("#flows tbody tr").await, 1);
    let row = text(r#"tr[data-flow="failing-login"][data-status="failed"]"#).await;
    assert!(row.contains("carrier pigeon"), "{row:?}");
    let link = client
        .find(Locator::LinkText("trace"))
        .await
        .expect("a link to the trace");
    let href = link.attr("href").await.expect("href").unwrap_or_default();
    assert!(href.ends_with("failing-login/trace.html"), "{href}");

    client.close().await.expect("the session ends");
    driver.stop(false).await;
}

/// The secret is typed into the page and sent as a header by the traced flow: no byte of the
/// trace, the reports or any other file of the run holds it, not even inside the trace's
/// escaped DOM snapshots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_byte_of_the_trace_or_the_reports_holds_the_secret() {
    let app = helpdesk().await;
    let (_out_dir, run, out) = run_failing_flow(&app.url()).await;
    app.shutdown().await;

    let trace = std::fs::read_to_string(run.join(FLOW).join("trace.html")).expect("the kept trace");
    // The secret did reach the page and the wire: the trace shows where, redacted.
    assert!(
        trace.contains("[redacted]@example.test"),
        "the snapshot shows the typed value, redacted"
    );
    assert!(trace.contains("X-Staging-E2E-Secret: [redacted]"));
    // Frames are taken once and shared between steps (a step's "after" is the next one's
    // "before"; a click's "after" is the assertion's that follows it): every frame a step
    // names was taken, even those captured in flight while the next step ran.
    assert!(
        !trace.contains("missing when the trace was written"),
        "no frame or snapshot a step names is missing"
    );

    let whole = regex::Regex::new(&format!(
        r"(^|[^0-9A-Za-z]){}([^0-9A-Za-z]|$)",
        regex::escape(SECRET)
    ))
    .expect("regex");
    // Any 12 characters of it would be a leak too (a truncated summary, a wrapped line).
    let core = &SECRET[SECRET.len() - 12..];
    let mut leaks = Vec::new();
    for file in files_under(&run) {
        let bytes = std::fs::read(&file).expect("read");
        let mut views = vec![String::from_utf8_lossy(&bytes).into_owned()];
        if file.extension().is_some_and(|e| e == "html") {
            views.push(unescape_html(&views[0]));
        }
        for text in &views {
            if whole.is_match(text) || text.contains(core) {
                leaks.push(file.display().to_string());
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}\n{}", out.all());
}

/// The text of an HTML file as the browser reads attributes (`srcdoc`): entities decoded.
fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Serves a directory's files over HTTP and records every path asked for (the browser's own
/// `/favicon.ico` aside).
struct StaticServer {
    url: String,
    requested: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StaticServer {
    async fn start(root: &Path) -> StaticServer {
        use axum::http::{header, StatusCode, Uri};
        use axum::response::IntoResponse;

        let requested = Arc::new(Mutex::new(BTreeSet::new()));
        let (root, seen) = (root.to_owned(), requested.clone());
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let (root, seen) = (root.clone(), seen.clone());
            async move {
                let path = uri.path().to_owned();
                if path != "/favicon.ico" {
                    seen.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(path.clone());
                }
                let rel = path.trim_start_matches('/');
                if rel.split('/').any(|part| part == "..") {
                    return StatusCode::FORBIDDEN.into_response();
                }
                let kind = match Path::new(rel).extension().and_then(|e| e.to_str()) {
                    Some("html") => "text/html; charset=utf-8",
                    Some("png") => "image/png",
                    Some("json") => "application/json",
                    _ => "application/octet-stream",
                };
                match tokio::fs::read(root.join(rel)).await {
                    Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
                    Err(_) => StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("static server");
        });
        StaticServer {
            url,
            requested,
            task,
        }
    }

    fn requested(&self) -> BTreeSet<String> {
        self.requested
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The viewer's details: a passing flow opens at its first step and a failing one at its
/// failing step; a step from a step group shows the group file's own lines; a DOM snapshot
/// carries the page's same-origin stylesheet (a `<link>` the trace file could never load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_opens_where_it_should_and_shows_group_lines_and_page_styles() {
    let app = helpdesk().await;
    let opening = "group: open-page\ndescription: Opens a page.\nparams:\n  path: {}\nsteps:\n  - goto: \"/{{ params.path }}\"  # group line 6\n  - expect: { role: heading, name: Locator conformance lab }\n";
    let passing = "id: passing\ntitle: passing\nuser: requester\nsteps:\n  - use: { group: open-page, with: { path: lab } }\n  - click: { role: link, name: Overlay covers the button }\n";
    let failing = "id: failing\ntitle: failing\nuser: requester\nstep_timeout: 1s\nsteps:\n  - goto: /lab\n  - click: { role: button, name: No such button }\n  - goto: /lab\n";
    let suite = temp_suite(&[("passing.yaml", passing), ("failing.yaml", failing)]);
    let groups = suite.path().join("flows/groups");
    std::fs::create_dir_all(&groups).expect("mkdir");
    std::fs::write(groups.join("open-page.yaml"), opening).expect("write group");
    let out = tempfile::tempdir().expect("tempdir");
    let config = suite.path().join("flows/flows.toml");
    let output = FlowsCmd::new()
        .args(["run", "--all", "--skip-web-server", "--skip-health-check"])
        .args(["--trace", "on", "--config", config.to_str().expect("utf-8")])
        .args(["--base-url", &app.url(), "--output"])
        .args([out.path().to_str().expect("utf-8 path")])
        .output()
        .await;
    assert_eq!(output.code, 1, "the failing flow fails\n{}", output.all());
    let run = run_dir(out.path());
    let read = |flow: &str| {
        std::fs::read_to_string(run.join(flow).join("trace.html"))
            .unwrap_or_else(|e| panic!("{flow}'s trace: {e}\n{}", output.all()))
    };
    let passing_trace = read("passing");
    let failing_trace = read("failing");

    // Where each opens (the step index the viewer selects first).
    assert!(
        passing_trace.contains("data-initial=\"0\""),
        "opens at step 1"
    );
    assert!(
        failing_trace.contains("data-initial=\"1\""),
        "opens at the failing step 2"
    );

    // The group's steps show the group file's lines, not the flow file's at that line number.
    assert!(
        passing_trace.contains("# group line 6"),
        "the group file's line 6 is shown"
    );

    // The snapshot of /lab carries /lab/theme.css inline.
    assert!(
        passing_trace.contains("data-flows-inlined")
            && passing_trace.contains("ol.index code.lab-path"),
        "the page's stylesheet is inlined in its snapshot"
    );
}

/// Each step's frames show the page as it was painted at that step, whether they come from
/// Chrome's screencast (the default) or from one capture per step (`FLOWS_TRACE_SCREENCAST=0`):
/// `/lab/paint` says "Painted red" only once red is on screen, so the frame after the click
/// (stamped when the next step acts) must be red, the one before it must not, and the last
/// must be blue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_frames_show_what_each_step_painted() {
    let app = helpdesk().await;
    let flow = "id: paint\ntitle: paint\nuser: requester\nsteps:\n  - goto: /lab/paint\n  - click: { role: button, name: Paint it red }\n  - expect: { test_id: painted, has_text: Painted red }\n  - click: { role: button, name: Paint it blue }\n  - expect: { test_id: painted, has_text: Painted blue }\n";
    let suite = temp_suite(&[("paint.yaml", flow)]);
    let config = suite.path().join("flows/flows.toml");
    let filmed_log =
        regex::Regex::new(r"screencast frames received.*frames=([1-9]\d*)").expect("regex");
    for screencast in ["1", "0"] {
        let out = tempfile::tempdir().expect("tempdir");
        let output = FlowsCmd::new()
            .args(["run", "--all", "--skip-web-server", "--skip-health-check"])
            .args(["--trace", "on", "--config", config.to_str().expect("utf-8")])
            .args(["--base-url", &app.url(), "--output"])
            .args([out.path().to_str().expect("utf-8 path")])
            .env("FLOWS_TRACE_SCREENCAST", screencast)
            .env("RUST_LOG", "flows::exec::trace_capture=debug")
            .output()
            .await;
        assert_eq!(output.code, 0, "{}", output.all());
        let filmed = filmed_log.is_match(&output.all());
        assert_eq!(
            filmed,
            screencast == "1",
            "screencast={screencast}: frames came from the screencast only when it is on\n{}",
            output.all()
        );
        let trace = std::fs::read_to_string(run_dir(out.path()).join("paint").join("trace.html"))
            .expect("the kept trace");
        let colour = |when: &str, step: usize| {
            let frame = frame_of(&trace, when, step).unwrap_or_else(|| {
                panic!("screencast={screencast}: no {when} frame for step {step}")
            });
            centre_colour(&frame)
        };
        let red = |(r, g, b): (u8, u8, u8)| r > 150 && g < 90 && b < 90;
        let blue = |(r, g, b): (u8, u8, u8)| b > 150 && r < 90 && g < 110;
        let ctx = format!("screencast={screencast}");
        assert!(
            !red(colour("before", 2)),
            "{ctx}: before the red click: {:?}",
            colour("before", 2)
        );
        assert!(
            red(colour("after", 2)),
            "{ctx}: after the red click: {:?}",
            colour("after", 2)
        );
        assert!(
            red(colour("before", 4)),
            "{ctx}: before the blue click: {:?}",
            colour("before", 4)
        );
        assert!(
            blue(colour("after", 5)),
            "{ctx}: at the end: {:?}",
            colour("after", 5)
        );
    }
    app.shutdown().await;
}

/// The JPEG a trace shows as step `step`'s `when` ("before"/"after") frame.
fn frame_of(trace: &str, when: &str, step: usize) -> Option<Vec<u8>> {
    let img = regex::Regex::new(&format!(
        r#"<img data-frame="(f\d+)" alt="the page {when} step {step}">"#
    ))
    .expect("regex");
    let id = img.captures(trace)?.get(1)?.as_str().to_owned();
    let frames =
        regex::Regex::new(r#"(?s)<script id="frames" type="application/json">(.*?)</script>"#)
            .expect("regex");
    let json: serde_json::Value =
        serde_json::from_str(frames.captures(trace)?.get(1)?.as_str()).ok()?;
    let url = json.get(&id)?.as_str()?;
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(url.split_once(',')?.1)
        .ok()
}

/// The colour at the page's centre below the lab's header (the body's background there).
fn centre_colour(jpeg: &[u8]) -> (u8, u8, u8) {
    let img = image::load_from_memory(jpeg)
        .expect("a JPEG frame")
        .to_rgb8();
    let p = img.get_pixel(img.width() - 20, img.height() - 20);
    (p[0], p[1], p[2])
}
