//! Mail: the parser on sample messages, and every mail source against a real server — the demo
//! helpdesk's staging endpoint (in-process), MailDev (started from `tests/maildev`, installed on
//! first use by `npm_clients`) — and, for Mailpit, a STUB of its REST API (Mailpit itself is not
//! installable here; the `mailpit_stub_*` tests prove the runner follows the documented API of
//! Mailpit v1.30, not that it works with a running Mailpit; docs/testing.md says so).
//!
//! No sleeps as synchronisation: waits are on the code under test (`wait_for_mail`), on a
//! server's ready line, or on the stub's own "a search was served" signal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flows::mail::{
    extract_otp, find_link, parse_message, wait_for_mail, FoundMail, LinkRule, MailDevSource,
    MailError, MailQuery, MailpitSource, Matcher, OtpRule, StagingSource, Trigger,
    DEFAULT_STAGING_HEADER, DEFAULT_STAGING_PATH,
};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use regex::Regex;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use serde::Serialize;
use time::OffsetDateTime;

/// The E2E secret of every helpdesk these tests start.
pub(crate) const SECRET: &str = "mail-test-secret-8c41f2";
pub(crate) const REQUESTER: &str = "requester@helpdesk.test";
pub(crate) const HEAD: &str = "head@helpdesk.test";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail")
}

/// Insta settings shared by the error snapshots: ports and measured durations vary per run.
pub(crate) fn stable_snapshots() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"since=[0-9A-Za-z%.-]+", "since=[time]");
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    s.add_filter(r"\b\d+(\.\d)?(ms|s)\b", "[duration]");
    s
}

// ----- Sample messages ---------------------------------------------------------------------

/// 2026-05-31T10:00:00Z: every sample has this Date, so the files are stable.
fn sample_date() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_780_221_600)
}

fn mailbox(s: &str) -> Mailbox {
    s.parse().expect("valid mailbox")
}

fn builder(name: &str, to: &str, subject: &str) -> lettre::message::MessageBuilder {
    Message::builder()
        .from(mailbox("Demo Helpdesk <no-reply@helpdesk.test>"))
        .to(mailbox(to))
        .subject(subject)
        .date(sample_date())
        .message_id(Some(format!("<{name}@helpdesk.test>")))
}

fn part(content_type: &str, body: Body) -> SinglePart {
    SinglePart::builder()
        .header(ContentType::parse(content_type).expect("content type"))
        .body(body)
}

fn encoded(text: impl Into<String>, encoding: ContentTransferEncoding) -> Body {
    Body::new_with_encoding(text.into(), encoding).expect("encodable")
}

const MAGIC: &str = "3f9a0c5e7b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a";

/// The sample messages under `fixtures/mail/`, built with lettre the way an app builds mail.
/// Dates, Message-IDs and boundaries are fixed so that regenerating gives the same bytes.
fn samples() -> Vec<(&'static str, Message)> {
    let magic = format!("https://helpdesk.test/login/magic/{MAGIC}?next=%2Fdashboard&utm=mail");
    let mut out = Vec::new();

    // multipart/alternative, an RFC 2047 subject, the same link in both parts.
    let text = format!(
        "Hello Riley,\n\nYour sign-in code is 482913. It is valid for 10 minutes.\n\n\
         Or sign in with one click: {magic}\n\nTicket #100123 · Demo Helpdesk\n"
    );
    let html = format!(
        "<p>Hello Riley,</p><p>Your sign-in code is <strong>482913</strong>. It is valid for \
         10 minutes.</p><p><a href=\"{}\" class=\"button\">Sign in to <b>Demo Helpdesk</b></a></p>\
         <p style=\"color:#888\">Ticket #100123 &middot; Demo Helpdesk</p>",
        magic.replace('&', "&amp;")
    );
    out.push((
        "multipart-alternative",
        builder(
            "multipart-alternative",
            "Riley Requester <requester@helpdesk.test>",
            "Your sign-in code — Demo Helpdesk",
        )
        .multipart(
            MultiPart::alternative()
                .boundary("alt-boundary-1")
                .singlepart(SinglePart::plain(text))
                .singlepart(SinglePart::html(html)),
        )
        .expect("builds"),
    ));

    // quoted-printable: non-ASCII text and a link longer than a line (soft breaks, `=3D`).
    let text = format!(
        "Grüße, Riley!\n\nYour sign-in link (valid 15 minutes):\n\
         https://helpdesk.test/login/magic/{MAGIC}?next=/tickets/1001&utm_source=mail&utm_campaign=sign-in\n\n\
         If you did not ask for it, ignore this message.\n"
    );
    out.push((
        "quoted-printable",
        builder("quoted-printable", REQUESTER, "Your sign-in link")
            .singlepart(part(
                "text/plain; charset=utf-8",
                encoded(text, ContentTransferEncoding::QuotedPrintable),
            ))
            .expect("builds"),
    ));

    // base64 in both parts; no code in it.
    let text = "Harper Head added you to ticket #1001 \"Printer on fire\".\n\n\
                Open ticket #1001: https://helpdesk.test/tickets/1001\n";
    let html = "<p>Harper Head added you to ticket #1001 &ldquo;Printer on fire&rdquo;.</p>\
                <p><a href=\"https://helpdesk.test/tickets/1001\">Open ticket #1001</a></p>";
    out.push((
        "base64",
        builder(
            "base64",
            "Casey Collaborator <collaborator@helpdesk.test>",
            "You were added to ticket #1001",
        )
        .multipart(
            MultiPart::alternative()
                .boundary("alt-boundary-2")
                .singlepart(part(
                    "text/plain; charset=utf-8",
                    encoded(text, ContentTransferEncoding::Base64),
                ))
                .singlepart(part(
                    "text/html; charset=utf-8",
                    encoded(html, ContentTransferEncoding::Base64),
                )),
        )
        .expect("builds"),
    ));

    // ISO-8859-1 text (bytes, not UTF-8), quoted-printable.
    let latin1: Vec<u8> =
        "Café Zürich\r\n\r\nIhr Anmeldecode lautet 705218.\r\nMit freundlichen Grüßen\r\n"
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("latin-1 character"))
            .collect();
    out.push((
        "iso-8859-1",
        builder("iso-8859-1", REQUESTER, "Ihr Anmeldecode")
            .singlepart(part(
                "text/plain; charset=ISO-8859-1",
                Body::new_with_encoding(latin1, ContentTransferEncoding::QuotedPrintable)
                    .expect("encodable"),
            ))
            .expect("builds"),
    ));

    // HTML only: styles, a title, entities, nested tags, a "view in browser" link first.
    let html = format!(
        "<!DOCTYPE html><html><head><title>Sign in</title><style>td {{ width: 600px; }} \
         .code {{ font-size: 24px; }}</style></head><body><table role=\"presentation\"><tr><td>\
         <p><a href=\"https://helpdesk.test/mail/view?id=42&amp;sig=9f\">View in browser</a></p>\
         <h1>Sign in</h1><p>Use this code:&nbsp;<span class=\"code\"><strong>317654</strong></span></p>\
         <p>or <a href=\"https://helpdesk.test/login/magic/{MAGIC}\">sign&nbsp;in to <em>Demo \
         Helpdesk</em></a>.</p><p>&copy; 2026 Demo Helpdesk &middot; \
         <a href=\"https://helpdesk.test/unsubscribe?u=1&amp;t=abc\">Unsubscribe</a></p>\
         </td></tr></table></body></html>"
    );
    out.push((
        "html-only",
        builder("html-only", REQUESTER, "Sign in to Demo Helpdesk")
            .singlepart(SinglePart::html(html))
            .expect("builds"),
    ));

    // Plain-text links wrapped in <…>, followed by punctuation, with &amp; and parentheses.
    let text = format!(
        "Hi Riley,\n\nYour sign-in link: <https://helpdesk.test/login/magic/{MAGIC}>.\n\
         Having trouble? Read https://helpdesk.test/help/sign-in (it takes a minute).\n\
         Manage e-mail settings at https://helpdesk.test/settings?tab=mail&amp;from=digest, or reply.\n\
         Background: (https://en.wikipedia.org/wiki/Magic_link_(authentication)).\n"
    );
    out.push((
        "text-links",
        builder("text-links", REQUESTER, "Your sign-in link")
            .singlepart(SinglePart::plain(text))
            .expect("builds"),
    ));

    // A code that is not six digits, next to a six-digit reference number.
    let text = "Your verification code is ABCD-EFGH.\n\nReference: ticket #100123, sent 2026-05-31 10:00.\n";
    let html = "<p>Your verification code is <code>ABCD-EFGH</code>.</p>\
                <p>Reference: ticket #100123, sent 2026-05-31 10:00.</p>";
    out.push((
        "non-6-digit-code",
        builder("non-6-digit-code", REQUESTER, "Your verification code")
            .multipart(
                MultiPart::alternative()
                    .boundary("alt-boundary-3")
                    .singlepart(SinglePart::plain(text.to_owned()))
                    .singlepart(SinglePart::html(html.to_owned())),
            )
            .expect("builds"),
    ));
    out
}

/// Writes `fixtures/mail/*.eml` from [`samples`]. Run after changing a sample:
/// `cargo test --test integration mail::regenerate_mail_fixtures -- --ignored`.
#[test]
#[ignore = "writes fixtures/mail; run by hand after changing a sample"]
fn regenerate_mail_fixtures() {
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    for (name, msg) in samples() {
        std::fs::write(dir.join(format!("{name}.eml")), msg.formatted()).expect("write sample");
    }
}

#[test]
fn mail_fixtures_match_their_generator() {
    for (name, msg) in samples() {
        let path = fixtures_dir().join(format!("{name}.eml"));
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == msg.formatted(),
            "{name}.eml differs from its generator; run the ignored test regenerate_mail_fixtures"
        );
    }
}

#[derive(Serialize)]
struct ParsedSnapshot {
    subject: String,
    from: Option<String>,
    to: Vec<String>,
    message_id: Option<String>,
    date: Option<String>,
    text_from_html: bool,
    text: String,
    links: Vec<LinkSnapshot>,
    otp: Option<String>,
}

#[derive(Serialize)]
struct LinkSnapshot {
    url: String,
    text: String,
    origin: String,
}

fn snapshot_of(raw: &[u8]) -> ParsedSnapshot {
    let m = parse_message(raw).expect("sample parses");
    ParsedSnapshot {
        subject: m.subject.clone(),
        from: m.from.clone(),
        to: m.to.clone(),
        message_id: m.message_id.clone(),
        date: m.date.and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
        text_from_html: m.text_from_html,
        text: m.text.chars().take(400).collect(),
        links: m
            .links
            .iter()
            .map(|l| LinkSnapshot {
                url: l.url.clone(),
                text: l.text.clone(),
                origin: format!("{:?}", l.origin).to_lowercase(),
            })
            .collect(),
        otp: extract_otp(&m, None),
    }
}

#[test]
fn parses_every_sample_message() {
    for (name, _) in samples() {
        let raw = std::fs::read(fixtures_dir().join(format!("{name}.eml"))).expect("sample");
        insta::assert_yaml_snapshot!(format!("parsed-{name}"), snapshot_of(&raw));
    }
}

#[test]
fn extraction_prefers_what_the_flow_asks_for() {
    let read = |name: &str| {
        let raw = std::fs::read(fixtures_dir().join(format!("{name}.eml"))).expect("sample");
        parse_message(&raw).expect("parses")
    };
    // A non-6-digit code needs the flow's regex; the default never takes `#100123`.
    let m = read("non-6-digit-code");
    assert_eq!(extract_otp(&m, None), None);
    let re = Regex::new(r"\b([A-Z]{4}-[A-Z]{4})\b").expect("regex");
    assert_eq!(extract_otp(&m, Some(&re)).as_deref(), Some("ABCD-EFGH"));

    // HTML-only: "View in browser" comes first and "Unsubscribe" last; both are boilerplate,
    // so the plain `link:` takes the sign-in link.
    let m = read("html-only");
    let magic = format!("https://helpdesk.test/login/magic/{MAGIC}");
    let plain = find_link(&m, &LinkRule::default()).expect("one link");
    assert_eq!(plain.url, magic);
    let sign_in = Matcher::contains("sign in");
    let by_text = |t: &str| sign_in.is_match(t);
    let rule = LinkRule {
        text: Some(&by_text),
        ..LinkRule::default()
    };
    assert_eq!(find_link(&m, &rule).expect("links").url, magic);
    let by_url = Regex::new("/login/magic/").expect("regex");
    let rule = LinkRule {
        url: Some(&by_url),
        ..LinkRule::default()
    };
    assert_eq!(find_link(&m, &rule).expect("links").url, magic);
    let nothing = Matcher::contains("reset password");
    let by_nothing = |t: &str| nothing.is_match(t);
    let rule = LinkRule {
        text: Some(&by_nothing),
        ..LinkRule::default()
    };
    let err = find_link(&m, &rule).expect_err("no link matches");
    assert!(
        matches!(&err, flows::mail::Ambiguity::None { passed_over } if passed_over.len() == 3),
        "names the links it has: {err:?}"
    );
}

/// Hand-made, because lettre only writes valid MIME: the boundary the header declares never
/// appears in the body, as happens when a template is edited by hand or a relay rewrites
/// boundaries. mailparse alone would accept it and find no text at all.
#[test]
fn malformed_sample_is_an_error_not_an_empty_message() {
    let raw = std::fs::read(fixtures_dir().join("malformed-boundary.eml")).expect("sample");
    let err = parse_message(&raw).expect_err("malformed");
    assert!(matches!(err, MailError::Malformed { .. }), "{err:?}");
    insta::assert_snapshot!(err.to_string(), @r#"message  is not valid MIME: its multipart/alternative part declares boundary "b1-declared" but no line starts with it"#);
}

// ----- The staging endpoint of the demo helpdesk ------------------------------------------

pub(crate) async fn start_helpdesk(config: helpdesk::Config) -> helpdesk::RunningHelpdesk {
    helpdesk::serve(helpdesk::Config {
        staging: true,
        secret: Some(SECRET.to_owned()),
        ..config
    })
    .await
    .expect("helpdesk starts")
}

pub(crate) fn staging_source(base: &str, secret: &str) -> StagingSource {
    StagingSource::new(
        reqwest::Client::new(),
        base,
        DEFAULT_STAGING_PATH,
        DEFAULT_STAGING_HEADER,
        secret,
    )
}

/// A signed-in browser-like HTTP session on the helpdesk.
pub(crate) struct Session {
    pub client: reqwest::Client,
    jar: Arc<Jar>,
    pub base: String,
}

impl Session {
    pub(crate) fn new(base: &str) -> Session {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .expect("client");
        Session {
            client,
            jar,
            base: base.to_owned(),
        }
    }

    /// The session's cookies as a `Cookie` header value.
    pub(crate) fn cookie(&self) -> String {
        let url = url::Url::parse(&self.base).expect("base url");
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    /// GETs a page and returns the CSRF token it carries.
    pub(crate) async fn csrf(&self, path: &str) -> String {
        let body = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        let marker = "<meta name=\"csrf-token\" content=\"";
        let start = body
            .find(marker)
            .map(|i| i + marker.len())
            .expect("page carries a csrf token");
        let len = body[start..].find('"').expect("closing quote");
        body[start..start + len].to_owned()
    }

    /// POSTs a form with the CSRF token of `page`; returns the status and `Location`.
    pub(crate) async fn post(
        &self,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String) {
        let token = self.csrf(page).await;
        let mut form = vec![("_token", token.as_str())];
        form.extend_from_slice(fields);
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .expect("POST");
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (resp.status().as_u16(), location)
    }
}

/// Signs `email` in through the real OTP flow, reading the code with the mail module.
pub(crate) async fn sign_in(base: &str, email: &str) -> Session {
    let session = Session::new(base);
    let trigger = Trigger::now();
    let (status, location) = session
        .post("/login", "/login", &[("email", email), ("action", "code")])
        .await;
    assert_eq!((status, location.as_str()), (303, "/login/code"));
    let found = wait_for_mail(
        &staging_source(base, SECRET),
        &MailQuery::new(email, trigger).subject(Matcher::contains("Your sign-in code")),
        Instant::now() + Duration::from_secs(10),
    )
    .await
    .expect("sign-in code mail");
    let code = found
        .otp(&OtpRule::default())
        .expect("code in the mail")
        .value;
    let (status, location) = session
        .post("/login/code", "/login/code", &[("code", &code)])
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/dashboard"),
        "sign in as {email}"
    );
    session
}

fn ten_seconds() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[tokio::test]
async fn staging_endpoint_delivers_a_code_that_signs_in() {
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let base = hd.url();
    let session = Session::new(&base);
    let trigger = Trigger::now();
    let (status, _) = session
        .post(
            "/login",
            "/login",
            &[("email", REQUESTER), ("action", "code")],
        )
        .await;
    assert_eq!(status, 303);

    let source = staging_source(&base, SECRET);
    let query = MailQuery::new(REQUESTER, trigger).subject(Matcher::contains("sign-in code"));
    let found = wait_for_mail(&source, &query, ten_seconds())
        .await
        .expect("mail");
    assert_eq!(found.parsed.subject, "Your sign-in code");
    assert_eq!(found.parsed.to, vec![REQUESTER.to_owned()]);
    assert!(
        found.raw.received_at.is_some(),
        "the endpoint reports arrival times"
    );
    assert!(found.latency_source_ms.is_some());
    let code = found.otp(&OtpRule::default()).expect("a code").value;
    assert_eq!(code.len(), 6);
    assert_eq!(
        found.source_agrees_on_otp(&code),
        Some(true),
        "our parse agrees with the app's"
    );
    assert_evidence(&found, "staging endpoint");

    let (status, location) = session
        .post("/login/code", "/login/code", &[("code", &code)])
        .await;
    assert_eq!((status, location.as_str()), (303, "/dashboard"));
    hd.shutdown().await;
}

fn assert_evidence(found: &FoundMail, source: &str) {
    match found.evidence(vec![]) {
        flows::events::Evidence::Mail {
            to,
            subject,
            message_id,
            source: s,
            latency_seen_ms,
            ..
        } => {
            assert_eq!(to, found.raw.to);
            assert_eq!(subject, found.parsed.subject);
            assert!(!message_id.is_empty());
            assert_eq!(s, source);
            assert_eq!(latency_seen_ms, found.latency_seen_ms);
        }
        other => panic!("not mail evidence: {other:?}"),
    }
}

#[tokio::test]
async fn staging_endpoint_magic_link_then_a_deadline_that_says_what_arrived() {
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let base = hd.url();
    let session = Session::new(&base);
    let source = staging_source(&base, SECRET);
    let trigger = Trigger::now();
    let (status, location) = session
        .post(
            "/login",
            "/login",
            &[("email", REQUESTER), ("action", "link")],
        )
        .await;
    assert_eq!((status, location.as_str()), (303, "/login/check-email"));

    let query = MailQuery::new(REQUESTER, trigger).subject(Matcher::contains("sign-in link"));
    let found = wait_for_mail(&source, &query, ten_seconds())
        .await
        .expect("mail");
    let wanted = Matcher::contains("Sign in to Demo Helpdesk");
    let magic = Regex::new("/login/magic/[0-9a-f]{64}$").expect("regex");
    let by_text = |t: &str| wanted.is_match(t);
    let pick = found
        .link(&LinkRule {
            text: Some(&by_text),
            url: Some(&magic),
            origins: std::slice::from_ref(&base),
        })
        .expect("a link");
    let url = pick.url.clone();
    assert_eq!(found.source_agrees_on_link(&url), Some(true));
    let resp = session
        .client
        .get(&url)
        .send()
        .await
        .expect("GET magic link");
    assert_eq!(resp.status().as_u16(), 303);

    // Only the link mail arrived since the trigger: waiting for a code names it.
    let query = MailQuery::new(REQUESTER, trigger).subject(Matcher::contains("sign-in code"));
    let err = wait_for_mail(&source, &query, Instant::now() + Duration::from_millis(300))
        .await
        .expect_err("no code mail");
    assert!(matches!(err, MailError::NoMessage { .. }), "{err:?}");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @r#"no message to requester@helpdesk.test matching subject ~"sign-in code" within [duration] from staging endpoint; 1 other message arrived: "Your sign-in link""#);
    });
    hd.shutdown().await;
}

#[tokio::test]
async fn staging_endpoint_errors_name_the_secret_and_the_mode() {
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let query = MailQuery::new(REQUESTER, Trigger::now());
    let err = wait_for_mail(
        &staging_source(&hd.url(), "wrong-secret"),
        &query,
        ten_seconds(),
    )
    .await
    .expect_err("rejected");
    assert_eq!(
        err.to_string(),
        "the mail source (staging endpoint) rejected the secret (403)"
    );
    hd.shutdown().await;

    let off = helpdesk::serve(helpdesk::Config::default())
        .await
        .expect("helpdesk starts");
    let err = wait_for_mail(&staging_source(&off.url(), SECRET), &query, ten_seconds())
        .await
        .expect_err("not enabled");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @"the mail source (staging endpoint) answered 404 for http://127.0.0.1:[port]/staging/e2e/mail-report?emails=requester%40helpdesk.test&since=[time]: is the app's staging E2E mode enabled, and is the path right?");
    });
    off.shutdown().await;
}

// ----- MailDev -----------------------------------------------------------------------------

pub(crate) struct MailDev {
    _child: tokio::process::Child,
    pub smtp: u16,
    pub web: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts MailDev on free ports and returns once it says both servers are listening.
///
/// A port found free can be taken by a parallel test before MailDev binds it; MailDev then
/// exits at once. That is retried on fresh ports; any other failure names what MailDev said.
pub(crate) async fn start_maildev() -> MailDev {
    let mut said = String::new();
    for _ in 0..5 {
        match try_start_maildev().await {
            Ok(maildev) => return maildev,
            Err(output) => said = output,
        }
    }
    panic!("maildev did not report ready after 5 tries; it said:\n{said}");
}

async fn try_start_maildev() -> Result<MailDev, String> {
    use tokio::io::AsyncBufReadExt;

    let bin = crate::npm_clients::installed("maildev").join("node_modules/.bin/maildev");
    assert!(
        bin.exists(),
        "MailDev is not in tests/maildev after `npm ci` ({} is missing)",
        bin.display()
    );
    // Both probes held at once, so the two ports differ.
    let (smtp, web) = {
        let a = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let b = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = |l: &std::net::TcpListener| l.local_addr().expect("bound").port();
        (port(&a), port(&b))
    };
    let mut child = tokio::process::Command::new(&bin)
        .args(["--smtp", &smtp.to_string(), "--web", &web.to_string()])
        .args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("maildev starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let ready = async {
        let (mut smtp_up, mut web_up) = (false, false);
        while let Ok(Some(line)) = lines.next_line().await {
            smtp_up |= line.contains("SMTP Server running at");
            web_up |= line.contains("webapp running at");
            seen.push(line);
            if smtp_up && web_up {
                return true;
            }
        }
        false
    };
    let up = tokio::time::timeout(Duration::from_secs(30), ready).await;
    if !matches!(up, Ok(true)) {
        let _ = child.kill().await;
        let mut err = String::new();
        let mut stderr = tokio::io::BufReader::new(stderr);
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err),
        )
        .await;
        return Err(format!(
            "ports {smtp}/{web}, {up:?}\nstdout:\n{}\nstderr:\n{err}",
            seen.join("\n")
        ));
    }
    // Keep draining its output so the pipes never fill.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    tokio::spawn(async move {
        let mut stderr = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(_)) = stderr.next_line().await {}
    });
    Ok(MailDev {
        _child: child,
        smtp,
        web,
    })
}

/// Sends raw RFC 5322 bytes, as they are, to `to` over SMTP.
pub(crate) async fn send_raw_smtp(port: u16, to: &str, raw: &[u8]) {
    let envelope = lettre::address::Envelope::new(
        Some("no-reply@app.example".parse().expect("address")),
        vec![to.parse().expect("address")],
    )
    .expect("envelope");
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .build();
    transport.send_raw(&envelope, raw).await.expect("smtp send");
}

async fn send_smtp(port: u16, msg: Message) {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .build();
    transport.send(msg).await.expect("smtp send");
}

fn live_message(to: &str, subject: &str, text: &str) -> Message {
    Message::builder()
        .from(mailbox("Demo Helpdesk <no-reply@helpdesk.test>"))
        .to(mailbox(to))
        .subject(subject)
        .date_now()
        .multipart(MultiPart::alternative_plain_html(
            text.to_owned(),
            format!("<p>{text}</p><p><a href=\"https://helpdesk.test/login/magic/{MAGIC}\">Sign in</a></p>"),
        ))
        .expect("builds")
}

#[tokio::test]
async fn maildev_source_finds_mail_sent_over_smtp() {
    let md = start_maildev().await;
    let source = MailDevSource::new(
        reqwest::Client::new(),
        format!("http://127.0.0.1:{}", md.web),
    );
    let trigger = Trigger::now();
    send_smtp(
        md.smtp,
        live_message(REQUESTER, "Welcome", "Welcome to Demo Helpdesk."),
    )
    .await;
    send_smtp(
        md.smtp,
        live_message(HEAD, "Your sign-in code", "Your sign-in code is 111111."),
    )
    .await;

    let query = MailQuery::new(REQUESTER, trigger).subject(Matcher::contains("sign-in code"));
    // The code mail is sent while the wait is already polling.
    let (found, ()) = tokio::join!(wait_for_mail(&source, &query, ten_seconds()), async {
        send_smtp(
            md.smtp,
            live_message(
                REQUESTER,
                "Your sign-in code",
                "Your sign-in code is 604218.",
            ),
        )
        .await;
    });
    let found = found.expect("mail");
    assert_eq!(found.parsed.subject, "Your sign-in code");
    assert_eq!(
        found.otp(&OtpRule::default()).expect("code").value,
        "604218"
    );
    assert_eq!(
        found.link(&LinkRule::default()).expect("link").url,
        format!("https://helpdesk.test/login/magic/{MAGIC}")
    );
    assert_eq!(
        found.source_agrees_on_otp("604218"),
        None,
        "maildev offers no hints"
    );
    assert_evidence(&found, "maildev");

    // Nothing else for the requester matches a body it never had.
    let query = MailQuery::new(REQUESTER, trigger).body(Matcher::contains("password reset"));
    let err = wait_for_mail(&source, &query, Instant::now() + Duration::from_millis(300))
        .await
        .expect_err("no such mail");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @r#"no message to requester@helpdesk.test matching body ~"password reset" within [duration] from maildev; 2 other messages arrived: "Welcome", "Your sign-in code""#);
    });
}

// ----- Mailpit (stub) ----------------------------------------------------------------------

/// A stub of Mailpit's REST API v1, written from Mailpit's API documentation and checked against
/// the Mailpit v1.30.5 source (`server/apiv1/messages.go` `MessagesSummary`,
/// `internal/storage` `MessageSummary`, routes in `server/server.go`); Mailpit is not installable
/// here: `GET /api/v1/search?query=…` (messages newest first; `to:` matches substrings, as
/// Mailpit's does) and `GET /api/v1/message/{ID}/raw`. When Mailpit's API changes, this stub
/// does not: re-check it against the version named here.
mod mailpit_stub {
    use std::sync::{Arc, Mutex};

    use axum::extract::{Path, Query, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use axum::{Json, Router};
    use serde_json::{json, Value};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;
    use tokio::sync::watch;

    pub struct StubMessage {
        pub id: String,
        pub to: String,
        pub subject: String,
        pub created: OffsetDateTime,
        pub raw: Vec<u8>,
    }

    #[derive(Clone)]
    struct Shared {
        messages: Arc<Mutex<Vec<StubMessage>>>,
        searches: Arc<watch::Sender<u64>>,
    }

    pub struct MailpitStub {
        pub url: String,
        shared: Shared,
        task: tokio::task::JoinHandle<()>,
    }

    impl MailpitStub {
        pub async fn start() -> MailpitStub {
            let shared = Shared {
                messages: Arc::new(Mutex::new(Vec::new())),
                searches: Arc::new(watch::channel(0).0),
            };
            let app = Router::new()
                .route("/api/v1/search", get(search))
                .route("/api/v1/message/{id}/raw", get(raw))
                .with_state(shared.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let url = format!("http://{}", listener.local_addr().expect("addr"));
            let task = tokio::spawn(async move {
                axum::serve(listener, app).await.expect("stub serves");
            });
            MailpitStub { url, shared, task }
        }

        pub fn add(&self, m: StubMessage) {
            self.shared
                .messages
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(m);
        }

        /// Resolves once the stub has answered at least `n` searches.
        pub async fn searched(&self, n: u64) {
            let mut rx = self.shared.searches.subscribe();
            rx.wait_for(|count| *count >= n).await.expect("stub alive");
        }
    }

    impl Drop for MailpitStub {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn search(
        State(s): State<Shared>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> Response {
        let Some(query) = q.get("query") else {
            return (StatusCode::BAD_REQUEST, "query is required").into_response();
        };
        let needle = query
            .strip_prefix("to:")
            .unwrap_or(query)
            .trim_matches('"')
            .to_lowercase();
        let messages = s
            .messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut found: Vec<Value> = messages
            .iter()
            .filter(|m| m.to.to_lowercase().contains(&needle))
            .map(|m| {
                json!({
                    "ID": m.id,
                    "MessageID": format!("{}@stub", m.id),
                    "Read": false,
                    "From": { "Name": "Demo Helpdesk", "Address": "no-reply@helpdesk.test" },
                    "To": [{ "Name": "", "Address": m.to }],
                    "Cc": [],
                    "Bcc": [],
                    "ReplyTo": [],
                    "Subject": m.subject,
                    "Created": m.created.format(&Rfc3339).expect("rfc3339"),
                    "Username": "",
                    "Tags": [],
                    "Size": m.raw.len(),
                    "Attachments": 0,
                    "Snippet": "",
                })
            })
            .collect();
        found.reverse(); // newest first
        let body = json!({
            "total": messages.len(),
            "unread": messages.len(),
            "messages_count": found.len(),
            "messages_unread": found.len(),
            "start": 0,
            "tags": [],
            "messages": found,
        });
        drop(messages);
        s.searches.send_modify(|n| *n += 1);
        Json(body).into_response()
    }

    async fn raw(State(s): State<Shared>, Path(id): Path<String>) -> Response {
        let messages = s
            .messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match messages.iter().find(|m| m.id == id) {
            Some(m) => (
                [("content-type", "text/plain; charset=utf-8")],
                m.raw.clone(),
            )
                .into_response(),
            None => (StatusCode::NOT_FOUND, "message not found").into_response(),
        }
    }
}

use mailpit_stub::{MailpitStub, StubMessage};

fn stub_message(
    id: &str,
    to: &str,
    subject: &str,
    created: OffsetDateTime,
    raw: Vec<u8>,
) -> StubMessage {
    StubMessage {
        id: id.to_owned(),
        to: to.to_owned(),
        subject: subject.to_owned(),
        created,
        raw,
    }
}

fn simple_raw(to: &str, subject: &str, body: &str) -> Vec<u8> {
    format!("From: no-reply@helpdesk.test\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}\r\n")
        .into_bytes()
}

#[tokio::test]
async fn mailpit_stub_source_finds_a_message_that_arrives_while_waiting() {
    let stub = MailpitStub::start().await;
    let source = MailpitSource::new(reqwest::Client::new(), stub.url.clone());
    let trigger = Trigger::now();
    // Mailpit's `to:` search is a substring search: another.requester@… also matches.
    stub.add(stub_message(
        "other",
        "another.requester@helpdesk.test",
        "Your sign-in code",
        OffsetDateTime::now_utc(),
        simple_raw(
            "another.requester@helpdesk.test",
            "Your sign-in code",
            "Your code is 999999.",
        ),
    ));
    let sample = std::fs::read(fixtures_dir().join("multipart-alternative.eml")).expect("sample");
    let query = MailQuery::new(REQUESTER, trigger).subject(Matcher::contains("sign-in code"));
    let (found, ()) = tokio::join!(wait_for_mail(&source, &query, ten_seconds()), async {
        stub.searched(1).await;
        stub.add(stub_message(
            "mine",
            REQUESTER,
            "Your sign-in code — Demo Helpdesk",
            OffsetDateTime::now_utc(),
            sample,
        ));
    });
    let found = found.expect("mail");
    assert_eq!(found.raw.id, "mine");
    assert!(found.polls >= 2, "found on a later poll");
    assert_eq!(
        found.otp(&OtpRule::default()).expect("code").value,
        "482913"
    );
    assert_evidence(&found, "mailpit");
}

#[tokio::test]
async fn mailpit_stub_deadline_error_names_what_arrived_instead() {
    let stub = MailpitStub::start().await;
    let source = MailpitSource::new(reqwest::Client::new(), stub.url.clone());
    let trigger = Trigger::now();
    let hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    // An old code mail (before the trigger) must not count, but is named.
    stub.add(stub_message(
        "old",
        REQUESTER,
        "Your sign-in code",
        hour_ago,
        simple_raw(REQUESTER, "Your sign-in code", "Your code is 123123."),
    ));
    let now = OffsetDateTime::now_utc();
    stub.add(stub_message(
        "w",
        REQUESTER,
        "Welcome",
        now,
        simple_raw(REQUESTER, "Welcome", "Hello."),
    ));
    stub.add(stub_message(
        "t",
        REQUESTER,
        "You were added to ticket #1001",
        now,
        simple_raw(REQUESTER, "You were added to ticket #1001", "Open it."),
    ));
    let query = MailQuery::new(REQUESTER, trigger).subject(Matcher::contains("sign-in code"));
    let err = wait_for_mail(&source, &query, Instant::now() + Duration::from_millis(300))
        .await
        .expect_err("nothing matches");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @r#"no message to requester@helpdesk.test matching subject ~"sign-in code" within [duration] from mailpit; 2 other messages arrived: "Welcome", "You were added to ticket #1001"; 1 matching message arrived before the window: "Your sign-in code" (its Date or arrival time is earlier: a sender clock behind, a replayed message? set `after_step`, or `[mail] clock_skew`)"#);
    });
}

#[tokio::test]
async fn mailpit_stub_malformed_message_is_reported_at_once() {
    let stub = MailpitStub::start().await;
    let source = MailpitSource::new(reqwest::Client::new(), stub.url.clone());
    let trigger = Trigger::now();
    let broken = std::fs::read(fixtures_dir().join("malformed-boundary.eml")).expect("sample");
    stub.add(stub_message(
        "broken-1",
        REQUESTER,
        "Your sign-in code",
        OffsetDateTime::now_utc(),
        broken,
    ));
    let query = MailQuery::new(REQUESTER, trigger).subject(Matcher::contains("sign-in code"));
    // A long deadline on purpose: the error comes as soon as the broken message is seen (the
    // subject the source reports matches), not when the deadline passes.
    let err = wait_for_mail(&source, &query, Instant::now() + Duration::from_secs(60))
        .await
        .expect_err("malformed");
    insta::assert_snapshot!(err.to_string(), @r#"message broken-1 is not valid MIME: its multipart/alternative part declares boundary "b1-declared" but no line starts with it"#);
}

#[tokio::test]
async fn mail_source_that_is_down_is_named() {
    let port = free_port();
    let source = MailpitSource::new(reqwest::Client::new(), format!("http://127.0.0.1:{port}"));
    let query = MailQuery::new(REQUESTER, Trigger::now());
    let err = wait_for_mail(&source, &query, Instant::now() + Duration::from_millis(200))
        .await
        .expect_err("nothing listens");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @r#"could not reach the mail source (mailpit) at http://127.0.0.1:[port]/api/v1/search?query=to%3A%22requester%40helpdesk.test%22&limit=200"#);
    });
}
