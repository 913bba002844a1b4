//! The mail corpus: messages as real senders send them (`fixtures/mail/corpus/*.eml`, built
//! here with lettre), each with the value the plainest `mail:` step must take from it — or the
//! error it must fail with when no single value fits. Each case is sent over SMTP into a real
//! MailDev and read by the runner's own `mail:` step in a flow; the value the step took is
//! posted back to this test by a following `http` step.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flows::mail::{find_link, find_otp, parse_message, LinkRule, MailError, OtpRule};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::mail::{send_raw_smtp, start_maildev};
use crate::support::{add_config, flow, healthy, read_json, run_dir, serve, temp_suite, FlowsCmd};

/// The app the corpus's links point at (the flow's target origin).
pub(crate) const APP: &str = "https://app.example";
const TOKEN: &str = "9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d";

/// What the plain `mail:` step must do with a case.
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    /// `otp: { var }` takes this code.
    Code(&'static str),
    /// `link: { var }` takes this URL.
    Link(String),
    /// `otp: { var }` fails; the error contains this.
    CodeError(&'static str),
    /// `link: { var }` fails; the error contains this.
    LinkError(&'static str),
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail/corpus")
}

/// 2026-05-31T10:00:00Z: fixed, so regenerating gives the same bytes.
fn date() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_780_221_600)
}

fn mailbox(s: &str) -> Mailbox {
    s.parse().expect("valid mailbox")
}

/// Every case is addressed to `<case>@corpus.test`, so cases never see each other's mail.
pub(crate) fn address(case: &str) -> String {
    format!("{case}@corpus.test")
}

fn builder(case: &str, subject: &str) -> lettre::message::MessageBuilder {
    Message::builder()
        .from(mailbox("Example App <no-reply@app.example>"))
        .to(mailbox(&address(case)))
        .subject(subject)
        .date(date())
        .message_id(Some(format!("<{case}@corpus.app.example>")))
}

fn part(content_type: &str, body: Body) -> SinglePart {
    SinglePart::builder()
        .header(ContentType::parse(content_type).expect("content type"))
        .body(body)
}

fn encoded(bytes: impl Into<Vec<u8>>, encoding: ContentTransferEncoding) -> Body {
    Body::new_with_encoding(bytes.into(), encoding).expect("encodable")
}

fn alternative(boundary: &str, text: String, html: String) -> MultiPart {
    MultiPart::alternative()
        .boundary(boundary)
        .singlepart(SinglePart::plain(text))
        .singlepart(SinglePart::html(html))
}

/// A deterministic, incompressible-looking but git-friendly payload: a repeated block.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    let block: Vec<u8> = (0u16..4096)
        .map(|i| u8::try_from((u32::from(i) * 31 + u32::from(seed) * 17) % 251).expect("byte"))
        .collect();
    block.iter().copied().cycle().take(len).collect()
}

/// The corpus: (name, raw message, what the plain step must do).
pub(crate) fn corpus() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let magic = format!("{APP}/login/magic/{TOKEN}");
    let mut out: Vec<(&'static str, Vec<u8>, Expect)> = Vec::new();
    let mut add = |name: &'static str, msg: Message, expect: Expect| {
        out.push((name, msg.formatted(), expect));
    };

    // A signed link (Laravel's `signature=`), quoted-printable: soft line breaks and `=3D`.
    let signed = format!(
        "{APP}/login/magic/{TOKEN}?expires=1780222500&redirect=%2Fdashboard&signature=4c1f0e9b7a2d3c5e8f6a1b0d9c7e5f3a2b4d6c8e0f1a3b5c7d9e2f4a6b8c0d1e"
    );
    add(
        "qp-signed-link",
        builder("qp-signed-link", "Sign in to Example App")
            .singlepart(part(
                "text/plain; charset=utf-8",
                encoded(
                    format!(
                        "Hi Riley,\n\nClick to sign in (the link works once, for 15 minutes):\n\n{signed}\n\n\
                         Didn't ask for it? Ignore this message.\n\n-- \nExample App · Preferences: {APP}/settings/notifications\n"
                    ),
                    ContentTransferEncoding::QuotedPrintable,
                ),
            ))
            .expect("builds"),
        Expect::Link(signed.clone()),
    );

    // HTML only; the code is split over spans (digit styling), a second copy in table cells.
    add(
        "html-split-spans",
        builder("html-split-spans", "Your verification code")
            .singlepart(SinglePart::html(
                "<html><head><style>.d{font:32px monospace;letter-spacing:4px}</style></head><body>\
                 <table role=\"presentation\"><tr><td><h1>Verify your e-mail</h1>\
                 <p>Enter this verification code:</p>\
                 <p class=\"code\"><span class=\"d\">4</span><span class=\"d\">8</span><span class=\"d\">2</span>\
                 <span class=\"d\">9</span><span class=\"d\">1</span><span class=\"d\">3</span></p>\
                 <p>It expires in 10 minutes. Order #A-1042 is unaffected.</p></td></tr></table></body></html>"
                    .to_owned(),
            ))
            .expect("builds"),
        Expect::Code("482913"),
    );

    // ISO-8859-1, quoted-printable, German; an order number comes first.
    let latin1: Vec<u8> = "Guten Tag,\r\n\r\nIhre Bestellung 556677 ist unterwegs. Zum Anmelden \
         geben Sie diesen Bestätigungscode ein: 705218\r\n\r\nMit freundlichen Grüßen\r\n"
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1 character"))
        .collect();
    add(
        "latin1",
        builder("latin1", "Ihr Bestätigungscode")
            .singlepart(part(
                "text/plain; charset=ISO-8859-1",
                encoded(latin1, ContentTransferEncoding::QuotedPrintable),
            ))
            .expect("builds"),
        Expect::Code("705218"),
    );

    // A date and a time (and a six-digit date stamp) before the code.
    add(
        "date-before-code",
        builder("date-before-code", "Sign-in attempt")
            .multipart(alternative(
                "corpus-alt-date",
                "On 31/05/2026 at 10:00:15 (batch 2026-05-31 100015) someone asked to sign in.\n\n\
                 Your one-time passcode: 731905\n"
                    .to_owned(),
                "<p>On 31/05/2026 at 10:00:15 (batch 2026-05-31 100015) someone asked to sign in.</p>\
                 <p>Your one-time passcode: <b>731905</b></p>"
                    .to_owned(),
            ))
            .expect("builds"),
        Expect::Code("731905"),
    );

    // multipart/mixed > multipart/related > multipart/alternative, an inline logo and a PDF.
    let related = MultiPart::related()
        .boundary("rel-7f3a")
        .multipart(alternative(
            "alt-9c1b",
            "Your security code is 264058.\n".to_owned(),
            "<img src=\"cid:logo\"><p>Your security code is <b>264058</b>.</p>".to_owned(),
        ))
        .singlepart(Attachment::new_inline("logo".to_owned()).body(
            payload(2_000, 1),
            ContentType::parse("image/png").expect("type"),
        ));
    add(
        "nested-related",
        builder("nested-related", "Security code")
            .multipart(
                MultiPart::mixed()
                    .boundary("corpus-mixed")
                    .multipart(related)
                    .singlepart(Attachment::new("terms-000123.pdf".to_owned()).body(
                        payload(3_000, 2),
                        ContentType::parse("application/pdf").expect("type"),
                    )),
            )
            .expect("builds"),
        Expect::Code("264058"),
    );

    // Click tracking on the HTML button, the real link in the text part, an unsubscribe link.
    let tracker = format!("https://click.mailer.example/ls/click?upn={TOKEN}-2F3kQ9xZ7&c=91");
    add(
        "tracking-redirect",
        builder("tracking-redirect", "Your sign-in link")
            .multipart(alternative(
                "corpus-alt-tracking",
                format!(
                    "Sign in: {magic}\n\nUnsubscribe: {APP}/unsubscribe?u=17&t=8a7c6e5f4d3b2a19\n"
                ),
                format!(
                    "<p><a href=\"{tracker}\">Sign in</a></p>\
                     <p><a href=\"https://click.mailer.example/ls/click?upn=unsub-8a7c6e5f4d3b2a19\">Unsubscribe</a> · \
                     <a href=\"{APP}/privacy\">Privacy</a></p>"
                ),
            ))
            .expect("builds"),
        Expect::Link(magic.clone()),
    );

    // HTML only; the button goes through a redirect whose real URL is a parameter.
    let wrapped = format!(
        "https://links.mailer.example/c?url={}&id=77",
        url::form_urlencoded::byte_serialize(magic.as_bytes()).collect::<String>()
    );
    add(
        "tracking-parameter",
        builder("tracking-parameter", "Your sign-in link")
            .singlepart(SinglePart::html(format!(
                "<p><a href=\"https://links.mailer.example/c?url=https%3A%2F%2Fapp.example%2Fmail%2Fview%2F42\">View in browser</a></p>\
                 <p><a href=\"{}\">Sign in</a></p><p><a href=\"{APP}/settings/notifications\">Notification settings</a></p>",
                wrapped.replace('&', "&amp;")
            )))
            .expect("builds"),
        Expect::Link(magic.clone()),
    );

    add(
        "spaced-digits",
        builder("spaced-digits", "Your code")
            .singlepart(SinglePart::plain(
                "Your sign-in code:\n\n    7 7 2 2 0 4\n\nCall +1 555 010 2030 if this wasn't you.\n".to_owned(),
            ))
            .expect("builds"),
        Expect::Code("772204"),
    );

    // The issue's first silent failure: the code is only in the subject.
    add(
        "subject-only-code",
        builder("subject-only-code", "772204 is your sign-in code")
            .singlepart(SinglePart::plain(
                "Hello,\n\nsomeone (hopefully you) asked to sign in.\n\nReference 000001\n"
                    .to_owned(),
            ))
            .expect("builds"),
        Expect::Code("772204"),
    );

    // Two codes, both plausible: the step must not guess.
    add(
        "two-codes",
        builder("two-codes", "Your codes")
            .singlepart(SinglePart::plain(
                "Your sign-in code is 482913.\nYour recovery code is 771204; keep it safe.\n"
                    .to_owned(),
            ))
            .expect("builds"),
        Expect::CodeError("2 codes could be the one"),
    );

    add(
        "empty-body",
        builder("empty-body", "Your sign-in code")
            .singlepart(SinglePart::plain(String::new()))
            .expect("builds"),
        Expect::CodeError("no code found"),
    );

    // 5 MB with two attachments; the code is in the small text part.
    add(
        "large-attachments",
        builder("large-attachments", "Your code and this month's statements")
            .multipart(
                MultiPart::mixed()
                    .boundary("corpus-large")
                    .singlepart(SinglePart::plain(
                        "Your verification code is 918273.\nStatements attached.\n".to_owned(),
                    ))
                    .singlepart(Attachment::new("statement-123456.pdf".to_owned()).body(
                        payload(2_400_000, 3),
                        ContentType::parse("application/pdf").expect("type"),
                    ))
                    .singlepart(Attachment::new("export-654321.zip".to_owned()).body(
                        payload(1_400_000, 4),
                        ContentType::parse("application/zip").expect("type"),
                    )),
            )
            .expect("builds"),
        Expect::Code("918273"),
    );

    // The label says UTF-16; the bytes are UTF-8.
    add(
        "lying-charset",
        builder("lying-charset", "Code de vérification")
            .singlepart(part(
                "text/plain; charset=utf-16",
                Body::new_with_encoding(
                    "Bonjour,\n\nVotre code de vérification : 135790\n\nÀ bientôt !\n".to_owned(),
                    ContentTransferEncoding::EightBit,
                )
                .expect("8bit"),
            ))
            .expect("builds"),
        Expect::Code("135790"),
    );

    // An HTML-only newsletter at the scale that once took 3.2 s of CPU (issue 15): 65,000
    // `<style>` blocks and 28,000 links, none of them the one a step means. CRLF lines of at
    // most 76 characters keep it 7bit (lettre quoted-printable-encodes anything else), < 2 MiB.
    let mut html = String::from("<!DOCTYPE html><html><head>\r\n");
    for i in 0..65_000 {
        html.push_str("<style></style>");
        if i % 4 == 3 {
            html.push_str("\r\n");
        }
    }
    html.push_str("</head><body>\r\n");
    for i in 0..28_000 {
        // Another origin than the target's, and no text: short lines; still 28,000 equal links.
        html.push_str(&format!("<a href=http://x.test/{i}></a>\r\n"));
    }
    html.push_str(&format!(
        "<p><a href={APP}/unsubscribe?u=17>Unsubscribe</a></p>\r\n</body></html>\r\n"
    ));
    add(
        "newsletter",
        builder("newsletter", "This month at Example App")
            .singlepart(part(
                "text/html; charset=utf-8",
                Body::new_with_encoding(html, ContentTransferEncoding::SevenBit).expect("7bit"),
            ))
            .expect("builds"),
        Expect::LinkError("28000 links could be the one"),
    );

    // lettre writes valid MIME only: this case is generated whole, then cut in the middle of its
    // base64 attachment, as a relay that dropped the connection leaves it.
    let whole = builder("truncated-base64", "Your sign-in code")
        .multipart(
            MultiPart::mixed()
                .boundary("corpus-truncated")
                .singlepart(SinglePart::plain(
                    "Your sign-in code is 550132.\n".to_owned(),
                ))
                .singlepart(Attachment::new("receipt.pdf".to_owned()).body(
                    payload(6_000, 5),
                    ContentType::parse("application/pdf").expect("type"),
                )),
        )
        .expect("builds")
        .formatted();
    // Cut at a line end two thirds in: the attachment's base64 stops, no closing boundary.
    let cut = whole.len() * 2 / 3;
    let cut = cut
        + whole[cut..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a line end")
        + 2;
    out.push((
        "truncated-base64",
        whole[..cut].to_vec(),
        Expect::CodeError("is not valid MIME"),
    ));
    out
}

/// Writes `fixtures/mail/corpus/*.eml` from [`corpus`]. Run after changing a case:
/// `cargo test --test integration mail_corpus::regenerate_mail_corpus -- --ignored`.
#[test]
#[ignore = "writes fixtures/mail/corpus; run by hand after changing a case"]
fn regenerate_mail_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).expect("corpus dir");
    for (name, raw, _) in corpus() {
        std::fs::write(dir.join(format!("{name}.eml")), raw).expect("write case");
    }
}

#[test]
fn mail_corpus_matches_its_generator() {
    for (name, raw, _) in corpus() {
        let path = corpus_dir().join(format!("{name}.eml"));
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == raw,
            "{name}.eml differs from its generator; run the ignored test regenerate_mail_corpus"
        );
    }
}

/// The extraction alone, without a mail server: quick to read when a case fails.
#[test]
fn every_corpus_case_gives_its_expected_value_or_error() {
    let origins = vec![APP.to_owned()];
    for (name, _, expect) in corpus() {
        let raw = std::fs::read(corpus_dir().join(format!("{name}.eml"))).expect("case");
        let parsed = parse_message(&raw);
        match (&expect, parsed) {
            (Expect::Code(code), Ok(m)) => {
                let pick =
                    find_otp(&m, &OtpRule::default()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert_eq!(pick.value, *code, "{name}");
            }
            (Expect::Link(url), Ok(m)) => {
                let rule = LinkRule {
                    origins: &origins,
                    ..LinkRule::default()
                };
                let c = find_link(&m, &rule).unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert_eq!(&c.url, url, "{name}");
            }
            (Expect::CodeError(_), Ok(m)) => {
                assert!(find_otp(&m, &OtpRule::default()).is_err(), "{name}");
            }
            (Expect::LinkError(_), Ok(m)) => {
                let rule = LinkRule {
                    origins: &origins,
                    ..LinkRule::default()
                };
                assert!(find_link(&m, &rule).is_err(), "{name}");
            }
            (Expect::CodeError(e), Err(err)) => {
                assert!(matches!(err, MailError::Malformed { .. }), "{name}: {err}");
                assert!(err.to_string().contains(e), "{name}: {err}");
            }
            (_, Err(err)) => panic!("{name}: {err}"),
        }
    }
}

/// Every case through SMTP into a real MailDev, read by the plain `mail:` step of a flow run by
/// the runner. The Date header is set to the moment of sending, as a sender does.
#[tokio::test]
async fn every_corpus_case_through_maildev_and_the_plain_mail_step() {
    let md = start_maildev().await;
    let cases = corpus();
    let raws: Arc<HashMap<String, Vec<u8>>> = Arc::new(
        cases
            .iter()
            .map(|(n, raw, _)| ((*n).to_owned(), raw.clone()))
            .collect(),
    );
    let taken: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let base = serve(mail_app(md.smtp, raws, taken.clone())).await;

    let flows: Vec<(String, String)> = cases
        .iter()
        .map(|(name, _, expect)| {
            let extract = match expect {
                Expect::Code(_) | Expect::CodeError(_) => "otp: { var: value }",
                Expect::Link(_) | Expect::LinkError(_) => "link: { var: value }",
            };
            (
                format!("{name}.yaml"),
                format!(
                    "id: {name}\ntitle: corpus {name}\nsteps:\n  - http: {{ method: POST, url: /send/{name} }}\n  \
                     - mail: {{ to: \"{to}\", {extract} }}\n  \
                     - http: {{ method: POST, url: /taken/{name}, body: \"{{{{ value }}}}\" }}\n",
                    to = address(name)
                ),
            )
        })
        .collect();
    let suite = temp_suite(&flows);
    add_config(
        suite.path(),
        &format!(
            "[mail]\nsource = \"maildev\"\nurl = \"http://127.0.0.1:{}\"\nlink_origins = [\"{APP}\"]\n",
            md.web
        ),
    );
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("STAGING_E2E_SECRET", "corpus-secret-5d1e")
        .run_all(&base)
        .output()
        .await;
    let report =
        read_json(&run_dir(&suite.path().join("artifacts")).join("staging-run-report.json"));
    let taken = taken.lock().expect("lock").clone();
    for (name, _, expect) in &cases {
        let f = flow(&report, name);
        let mail_step = &f["steps"][1];
        match expect {
            Expect::Code(v) => {
                assert_eq!(f["status"], "passed", "{name}: {f:#}\n{}", out.all());
                assert_eq!(taken.get(*name).map(String::as_str), Some(*v), "{name}");
            }
            Expect::Link(v) => {
                assert_eq!(f["status"], "passed", "{name}: {f:#}\n{}", out.all());
                assert_eq!(taken.get(*name), Some(v), "{name}");
            }
            Expect::CodeError(e) | Expect::LinkError(e) => {
                assert_eq!(f["status"], "failed", "{name}: {f:#}");
                let error = mail_step["error"].as_str().unwrap_or_default();
                assert!(error.contains(e), "{name}: {error}");
                assert!(!taken.contains_key(*name), "{name}");
            }
        }
        if matches!(expect, Expect::Code(_) | Expect::Link(_)) {
            let ev = &mail_step["evidence"][0]["extracted"][0];
            assert!(
                ev["place"].is_string(),
                "{name}: evidence says where: {mail_step:#}"
            );
            assert_eq!(
                mail_step["evidence"][0]["waited_on"], "maildev socket.io newMail events",
                "{name}: the wait slept on MailDev's stream: {mail_step:#}"
            );
        }
    }
}

/// The app the corpus flows act on: `POST /send/{case}` sends that case's message over SMTP
/// (dated now), `POST /taken/{case}` records the value the flow took; plus health endpoints.
fn mail_app(
    smtp: u16,
    raws: Arc<HashMap<String, Vec<u8>>>,
    taken: Arc<Mutex<HashMap<String, String>>>,
) -> axum::Router {
    use axum::extract::{Path as UrlPath, State};
    use axum::routing::{get, post};
    type Shared = (
        Arc<HashMap<String, Vec<u8>>>,
        Arc<Mutex<HashMap<String, String>>>,
    );
    axum::Router::new()
        .route("/health", get(|| async { healthy() }))
        .route("/staging/e2e/health", get(|| async { healthy() }))
        .route(
            "/send/{case}",
            post(
                move |State((raws, _)): State<Shared>, UrlPath(case): UrlPath<String>| async move {
                    let raw = raws.get(&case).expect("known case").clone();
                    send_raw_smtp(smtp, &address(&case), &dated_now(&raw)).await;
                    "sent"
                },
            ),
        )
        .route(
            "/send-as-is/{case}",
            post(
                move |State((raws, _)): State<Shared>, UrlPath(case): UrlPath<String>| async move {
                    let raw = raws.get(&case).expect("known case").clone();
                    send_raw_smtp(smtp, &address(&case), &raw).await;
                    "sent"
                },
            ),
        )
        .route(
            "/taken/{case}",
            post(
                |State((_, taken)): State<Shared>,
                 UrlPath(case): UrlPath<String>,
                 body: String| async move {
                    taken.lock().expect("lock").insert(case, body);
                    "ok"
                },
            ),
        )
        .with_state((raws, taken))
}

/// Issue 15 §2: a code that is only in the subject ("NNNNNN is your sign-in code") reaches no
/// artifact and no log line: not the report (evidence, criterion, `mail.messages`), events,
/// JUnit, HTML, trace, GitHub summary or `-v` output — nor when another step fails listing
/// that message among those that arrived, nor when extraction fails as ambiguous.
#[tokio::test]
async fn a_code_in_the_subject_reaches_no_artifact_and_no_log() {
    let md = start_maildev().await;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    // Codes from the clock, with a leading 9 or 8 (never all zeros).
    let code = format!("9{:05}", nanos % 100_000);
    let other = format!("8{:05}", (nanos / 7) % 100_000);
    let backup = format!("7{:05}", (nanos / 13) % 100_000);
    let msg = |case: &str, subject: &str| {
        builder(case, subject)
            .date_now()
            .singlepart(SinglePart::plain(
                "Hello,\n\nsomeone (hopefully you) asked to sign in.\n\nReference 000001\n"
                    .to_owned(),
            ))
            .expect("builds")
            .formatted()
    };
    let raws: HashMap<String, Vec<u8>> = [
        (
            "in-subject".to_owned(),
            msg("in-subject", &format!("{code} is your sign-in code")),
        ),
        (
            "two-in-subject".to_owned(),
            msg(
                "two-in-subject",
                &format!("Sign-in code {other}, backup code {backup}"),
            ),
        ),
    ]
    .into_iter()
    .collect();
    let taken: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let base = serve(mail_app(md.smtp, Arc::new(raws), taken.clone())).await;
    let suite = temp_suite(&[
        (
            "in-subject.yaml",
            "id: in-subject\ntitle: code in the subject\nsteps:\n  - http: { method: POST, url: /send/in-subject }\n  \
             - mail: { to: in-subject@corpus.test, subject: sign-in code, otp: { var: code } }\n  \
             - http: { method: POST, url: /taken/in-subject, body: \"{{ code }}\" }\n  \
             - mail: { to: in-subject@corpus.test, subject: never sent, after_step: 1, timeout: 1s }\n",
        ),
        (
            "two-in-subject.yaml",
            "id: two-in-subject\ntitle: two codes in the subject\nsteps:\n  - http: { method: POST, url: /send/two-in-subject }\n  \
             - mail: { to: two-in-subject@corpus.test, otp: { var: code } }\n",
        ),
    ]);
    add_config(
        suite.path(),
        &format!(
            "[mail]\nsource = \"maildev\"\nurl = \"http://127.0.0.1:{}\"\n",
            md.web
        ),
    );
    let summary = suite.path().join("artifacts/github-summary.md");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8"))
        .args(["-vv"])
        .run_all(&base)
        .args(["--reporter", "list,junit,html,github", "--trace", "on"])
        .output()
        .await;
    // The code was taken (so it was in the run), and the failures are the expected ones.
    assert_eq!(
        taken.lock().expect("lock").get("in-subject"),
        Some(&code),
        "{}",
        out.all()
    );
    let report =
        read_json(&run_dir(&suite.path().join("artifacts")).join("staging-run-report.json"));
    let f = flow(&report, "in-subject");
    let error = f["steps"][3]["error"].as_str().unwrap_or_default();
    assert!(error.contains("1 other message arrived"), "{error}");
    let f = flow(&report, "two-in-subject");
    let error = f["steps"][1]["error"].as_str().unwrap_or_default();
    assert!(error.contains("2 codes could be the one"), "{error}");

    let whole = |c: &str| regex::Regex::new(&format!(r"(^|[^0-9]){c}([^0-9]|$)")).expect("regex");
    let secrets = [whole(&code), whole(&other), whole(&backup)];
    let mut leaks = Vec::new();
    for file in crate::support::files_under(suite.path()) {
        if file.extension().is_some_and(|e| e == "yaml" || e == "toml") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&file).expect("read")).into_owned();
        if secrets.iter().any(|re| re.is_match(&text)) {
            leaks.push(file.display().to_string());
        }
    }
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if secrets.iter().any(|re| re.is_match(text)) {
            leaks.push(name.to_owned());
        }
    }
    assert!(summary.exists(), "the github reporter wrote its summary");
    assert!(leaks.is_empty(), "{leaks:#?}\n{}", out.all());
}

/// `absent: true, within:` passes when only other mail arrives and fails when the message
/// does. (A message whose `Date:` is old: tests/integration/mail_sources.rs.)
#[tokio::test]
async fn absent_mail_and_the_window_through_maildev() {
    let md = start_maildev().await;
    let plain = |case: &str, subject: &str| {
        builder(case, subject)
            .singlepart(SinglePart::plain("Hello.\n".to_owned()))
            .expect("builds")
            .formatted()
    };
    let raws: HashMap<String, Vec<u8>> = [
        ("quiet".to_owned(), plain("quiet", "Welcome")),
        ("noisy".to_owned(), plain("noisy", "Ticket #1001 closed")),
    ]
    .into_iter()
    .collect();
    let base = serve(mail_app(md.smtp, Arc::new(raws), Arc::default())).await;
    let suite = temp_suite(&[
        (
            "quiet.yaml",
            "id: quiet\ntitle: nothing closed\nsteps:\n  - http: { method: POST, url: /send/quiet }\n  \
             - mail: { to: quiet@corpus.test, subject: closed, absent: true, within: 1s }\n",
        ),
        (
            "noisy.yaml",
            "id: noisy\ntitle: closed after all\nsteps:\n  - http: { method: POST, url: /send/noisy }\n  \
             - mail: { to: noisy@corpus.test, subject: closed, absent: true, within: 5s }\n",
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

    let quiet = flow(&report, "quiet");
    assert_eq!(quiet["status"], "passed", "{quiet:#}\n{}", out.all());
    let summary = quiet["steps"][1]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("no message to quiet@corpus.test matching subject")
            && summary.contains("in 1s after step 1 (http) started at")
            && summary.ends_with("; 1 other message arrived"),
        "{summary}"
    );
    let noisy = flow(&report, "noisy");
    assert_eq!(noisy["status"], "failed", "{noisy:#}");
    let error = noisy["steps"][1]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("arrived (\"Ticket #1001 closed\""),
        "{error}"
    );
    assert!(error.contains("the step expects none"), "{error}");
}

/// The raw message with its Date header replaced by now (RFC 2822), as a sender stamps it.
fn dated_now(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(4096)]).into_owned();
    let start = if text.starts_with("Date: ") {
        0
    } else {
        match text.find("\r\nDate: ") {
            Some(i) => i + 2,
            None => return raw.to_vec(),
        }
    };
    let end = start + text[start..].find("\r\n").expect("header line end");
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .expect("date");
    let mut out = raw[..start].to_vec();
    out.extend_from_slice(format!("Date: {now}").as_bytes());
    out.extend_from_slice(&raw[end..]);
    out
}
