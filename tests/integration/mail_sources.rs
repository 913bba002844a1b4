//! Mail sources that hold up (issue 15 §4), through a real MailDev: a 5 MB newsletter in the
//! mailbox costs no raw download when the step asks for another subject; the step waits on
//! MailDev's socket.io stream and says so, or polls when the stream is unreachable and says
//! that; a message with an old `Date:` sent during the run is found by its announced arrival;
//! a message the runner saw before the window is named in the failure; a suite of `mail`
//! steps alone needs no base URL and no health pre-check.

use std::sync::{Arc, Mutex};

use lettre::message::{Mailbox, SinglePart};
use lettre::Message;

use crate::mail::{send_raw_smtp, start_maildev};
use crate::support::{add_config, flow, healthy, read_json, run_dir, serve, temp_suite, FlowsCmd};

fn mailbox(s: &str) -> Mailbox {
    s.parse().expect("valid mailbox")
}

/// A message dated now (or `date`), plain text.
fn plain(to: &str, subject: &str, text: &str, date: Option<std::time::SystemTime>) -> Vec<u8> {
    let b = Message::builder()
        .from(mailbox("Example App <no-reply@app.example>"))
        .to(mailbox(to))
        .subject(subject);
    let b = match date {
        Some(d) => b.date(d),
        None => b.date_now(),
    };
    b.singlepart(SinglePart::plain(text.to_owned()))
        .expect("builds")
        .formatted()
}

/// An HTML-only newsletter of about 5 MB: ~28k links and ~65k `<style>` tags.
pub(crate) fn big_newsletter(to: &str) -> Vec<u8> {
    let mut html = String::from("<!DOCTYPE html><html><head>");
    for i in 0..65_000 {
        html.push_str(&format!(
            "<style>.c{i}{{color:#{:06x}}}</style>",
            i * 97 % 0xffffff
        ));
    }
    html.push_str("</head><body><table>");
    for i in 0..28_000 {
        html.push_str(&format!(
            "<tr><td class=\"c{}\"><a href=\"https://app.example/articles/{i}?utm_source=newsletter\">Article {i}</a></td></tr>",
            i % 65_000
        ));
    }
    html.push_str("</table></body></html>");
    Message::builder()
        .from(mailbox("Example App <news@app.example>"))
        .to(mailbox(to))
        .subject("This month at Example App")
        .date_now()
        .singlepart(SinglePart::html(html))
        .expect("builds")
        .formatted()
}

/// What a recording proxy in front of MailDev's web API saw, and a message it sends over SMTP
/// when the runner first lists the mailbox (so that it arrives inside the step's window).
type MessageAt = Box<dyn Fn() -> Vec<u8> + Send>;

#[derive(Default)]
struct Proxy {
    requests: Mutex<Vec<String>>,
    /// A message to send over SMTP when the first listing arrives, built then (so its `Date:`
    /// is the moment it is sent, after the step started).
    on_first_list: Mutex<Option<(u16, String, MessageAt)>>,
}

/// Serves a proxy to MailDev's web API on `web`. Websocket upgrades are not forwarded, so the
/// runner's event stream through it fails (and the wait polls).
async fn recording_proxy(web: u16, proxy: Arc<Proxy>) -> String {
    use axum::extract::{Request, State};
    let app = axum::Router::new()
        .fallback(
            move |State(p): State<Arc<Proxy>>, req: Request| async move {
                let path = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                p.requests.lock().expect("lock").push(path.clone());
                if path.starts_with("/email?") {
                    let send = p.on_first_list.lock().expect("lock").take();
                    if let Some((smtp, to, build)) = send {
                        send_raw_smtp(smtp, &to, &build()).await;
                    }
                }
                let resp = reqwest::get(format!("http://127.0.0.1:{web}{path}"))
                    .await
                    .expect("maildev answers");
                let status = resp.status().as_u16();
                let body = resp.bytes().await.expect("body").to_vec();
                axum::response::Response::builder()
                    .status(status)
                    .body(axum::body::Body::from(body))
                    .expect("response")
            },
        )
        .with_state(proxy);
    serve(app).await
}

/// MailDev's id of the message with `subject`, asked directly.
async fn maildev_id(web: u16, subject: &str) -> String {
    let all: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{web}/email"))
        .await
        .expect("maildev")
        .json()
        .await
        .expect("json");
    all.as_array()
        .expect("array")
        .iter()
        .find(|m| m["subject"] == subject)
        .and_then(|m| m["id"].as_str())
        .unwrap_or_else(|| panic!("no message {subject:?} in {all:#}"))
        .to_owned()
}

/// A 5 MB newsletter and a small code mail in one mailbox: the step lists the mailbox, fetches
/// the raw source of the code mail only, and takes its code. The proxy does not forward the
/// socket.io stream, so the wait polls and its evidence says so.
#[tokio::test]
async fn a_big_newsletter_is_never_downloaded_for_another_subject() {
    let md = start_maildev().await;
    let proxy = Arc::new(Proxy::default());
    let proxied = recording_proxy(md.web, proxy.clone()).await;
    let to = "reader@sources.test";
    let taken: Arc<Mutex<Option<String>>> = Arc::default();
    let smtp = md.smtp;
    let app = {
        use axum::routing::{get, post};
        let taken = taken.clone();
        axum::Router::new()
            .route("/health", get(|| async { healthy() }))
            .route("/staging/e2e/health", get(|| async { healthy() }))
            .route(
                "/send",
                // Queued, as an app sends mail: 5 MB over SMTP can outlast the http step's
                // timeout on a loaded machine, and the mail step is what waits for it.
                post(move || async move {
                    tokio::spawn(async move {
                        send_raw_smtp(smtp, to, &big_newsletter(to)).await;
                        let code = plain(
                            to,
                            "Your sign-in code",
                            "Your sign-in code is 318604.\n",
                            None,
                        );
                        send_raw_smtp(smtp, to, &code).await;
                    });
                    "queued"
                }),
            )
            .route(
                "/taken",
                post(move |body: String| async move {
                    *taken.lock().expect("lock") = Some(body);
                    "ok"
                }),
            )
    };
    let base = serve(app).await;
    let suite = temp_suite(&[(
        "otp.yaml",
        "id: otp\ntitle: code beside a newsletter\nsteps:\n  - http: { method: POST, url: /send }\n  \
         - mail: { to: reader@sources.test, subject: sign-in code, otp: { var: code } }\n  \
         - http: { method: POST, url: /taken, body: \"{{ code }}\" }\n",
    )]);
    add_config(
        suite.path(),
        &format!("[mail]\nsource = \"maildev\"\nurl = \"{proxied}\"\n"),
    );
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&base)
        .output()
        .await;
    let report =
        read_json(&run_dir(&suite.path().join("artifacts")).join("staging-run-report.json"));
    let f = flow(&report, "otp");
    assert_eq!(f["status"], "passed", "{f:#}\n{}", out.all());
    assert_eq!(taken.lock().expect("lock").as_deref(), Some("318604"));

    let news = maildev_id(md.web, "This month at Example App").await;
    let code = maildev_id(md.web, "Your sign-in code").await;
    let requests = proxy.requests.lock().expect("lock").clone();
    assert!(
        requests.contains(&format!("/email/{code}/source")),
        "the code mail's source was read: {requests:#?}"
    );
    assert!(
        !requests.iter().any(|r| r.contains(&news)),
        "the newsletter's source was never fetched: {requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/email?envelope.to.address=reader%40sources.test")),
        "the listing asked for the mailbox only: {requests:#?}"
    );
    let waited_on = f["steps"][1]["evidence"][0]["waited_on"]
        .as_str()
        .unwrap_or_default();
    assert!(
        waited_on.starts_with("polling (the event stream, maildev socket.io"),
        "{waited_on}"
    );
}

/// Straight to MailDev: the wait sleeps on its socket.io stream. A message whose `Date:` is
/// ten days old, sent during the run, is found by its announced arrival (the evidence says
/// `announced`, milliseconds). A message the runner already saw before the window (a later
/// acting step moved it) is named in the failure, not silently ignored.
#[tokio::test]
async fn the_event_stream_gives_arrival_by_the_runners_clock() {
    let md = start_maildev().await;
    let smtp = md.smtp;
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(10 * 24 * 3600);
    let app = {
        use axum::routing::{get, post};
        axum::Router::new()
            .route("/health", get(|| async { healthy() }))
            .route("/staging/e2e/health", get(|| async { healthy() }))
            .route(
                "/send-old",
                post(move || async move {
                    let to = "old@sources.test";
                    let raw = plain(
                        to,
                        "Your sign-in code",
                        "Your sign-in code is 604218.\n",
                        Some(old),
                    );
                    send_raw_smtp(smtp, to, &raw).await;
                    "sent"
                }),
            )
            .route(
                "/send-early",
                post(move || async move {
                    let to = "early@sources.test";
                    let raw = plain(
                        to,
                        "Your sign-in code",
                        "Your sign-in code is 771920.\n",
                        None,
                    );
                    send_raw_smtp(smtp, to, &raw).await;
                    "sent"
                }),
            )
    };
    let base = serve(app).await;
    let suite = temp_suite(&[
        (
            "old-date.yaml",
            "id: old-date\ntitle: a sender clock ten days behind\nsteps:\n  - http: { method: POST, url: /send-old }\n  \
             - mail: { to: old@sources.test, subject: sign-in code, otp: { var: code } }\n",
        ),
        (
            "early.yaml",
            "id: early\ntitle: mail from before the window\nsteps:\n  - http: { method: POST, url: /send-early }\n  \
             - mail: { to: early@sources.test, subject: sign-in code }\n  \
             - http: { method: GET, url: /health }\n  \
             - mail: { to: early@sources.test, subject: sign-in code, timeout: 1s }\n",
        ),
    ]);
    add_config(
        suite.path(),
        &format!(
            "[mail]\nsource = \"maildev\"\nurl = \"http://127.0.0.1:{}\"\n",
            md.web
        ),
    );
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&base)
        .output()
        .await;
    let report =
        read_json(&run_dir(&suite.path().join("artifacts")).join("staging-run-report.json"));

    let f = flow(&report, "old-date");
    assert_eq!(f["status"], "passed", "{f:#}\n{}", out.all());
    let ev = &f["steps"][1]["evidence"][0];
    assert_eq!(
        ev["waited_on"], "maildev socket.io newMail events",
        "{ev:#}"
    );
    assert_eq!(ev["latency_source_basis"], "announced", "{ev:#}");
    assert_eq!(ev["latency_source_resolution_ms"], 1, "{ev:#}");
    assert!(ev["latency_source_ms"].is_u64(), "{ev:#}");

    let f = flow(&report, "early");
    assert_eq!(f["status"], "failed", "{f:#}");
    assert_eq!(f["steps"][1]["status"], "passed", "{f:#}");
    let error = f["steps"][3]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("1 matching message arrived before the window: \"Your sign-in code\""),
        "{error}"
    );
    assert!(error.contains("after step 3 (http) started at"), "{error}");
}

/// A suite whose steps only read mail from MailDev: no base URL, no health pre-check; the
/// message (sent when the runner first lists the mailbox) is found. A MailDev that records
/// whole seconds only (Date header, stream unreachable) is reported as such.
#[tokio::test]

async fn a_mail_only_suite_needs_no_base_url_and_no_health_check() {
    let md = start_maildev().await;
    let proxy = Arc::new(Proxy::default());
    let to = "only@sources.test";
    *proxy.on_first_list.lock().expect("lock") = Some((
        md.smtp,
        to.to_owned(),
        Box::new(move || plain(to, "Welcome aboard", "Hello.\n", None)),
    ));
    let proxied = recording_proxy(md.web, proxy.clone()).await;
    let suite = temp_suite(&[(
        "welcome.yaml",
        "id: welcome\ntitle: the welcome mail\nsteps:\n  - mail: { to: only@sources.test, subject: Welcome }\n",
    )]);
    add_config(
        suite.path(),
        &format!("[mail]\nsource = \"maildev\"\nurl = \"{proxied}\"\n"),
    );
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env_remove("PLAYWRIGHT_BASE_URL")
        .env_remove("STAGING_BASE_URL")
        .args(["run", "--all"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let dir = run_dir(&suite.path().join("artifacts"));
    assert!(
        !dir.join("health-pre-check.json").exists(),
        "no health pre-check ran"
    );
    let report = read_json(&dir.join("staging-run-report.json"));
    let f = flow(&report, "welcome");
    assert_eq!(f["status"], "passed", "{f:#}\n{}", out.all());
    let ev = &f["steps"][0]["evidence"][0];
    assert_eq!(ev["latency_source_basis"], "date_header", "{ev:#}");
    assert_eq!(ev["latency_source_resolution_ms"], 1000, "{ev:#}");
    assert_eq!(
        ev["latency_source_ms"].as_u64().map(|ms| ms % 1000),
        Some(0),
        "whole seconds: {ev:#}"
    );
    let summary = f["steps"][0]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("whole seconds"), "{summary}");

    // The same suite with a browser step needs the base URL, and says so before running.
    std::fs::write(
        suite.path().join("flows/page.yaml"),
        "id: page\ntitle: a page\nuser: requester\nsteps:\n  - goto: /\n",
    )
    .expect("write flow");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env_remove("PLAYWRIGHT_BASE_URL")
        .env_remove("STAGING_BASE_URL")
        .args(["run", "--all"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("base URL"), "{}", out.all());
}
