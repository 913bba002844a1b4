//! Raw RFC 5322 bytes → [`ParsedMail`]: decoded subject and addresses, the text and HTML bodies
//! (transfer encodings and charsets undone by mailparse), a text rendering of HTML-only mail,
//! and every link with its text.
//!
//! mailparse is forgiving by design; a mail step is better served by a clear "this message is
//! broken" than by matching against garbage, so [`parse_message`] adds a few checks of its own
//! (header lines, multipart boundaries, undecodable bodies).

use std::fmt;
use std::sync::LazyLock;

use mailparse::{MailHeaderMap, MailParseError};
use regex::Regex;
use serde::Serialize;
use time::OffsetDateTime;

use super::html::{anchors, decode_entities, html_to_text, tidy_lines};
use super::MailError;

/// A parsed message. Its bodies and links are secrets: `Debug` shows their sizes only.
#[derive(Clone, Serialize)]
pub struct ParsedMail {
    /// Subject, RFC 2047 encoded words decoded.
    pub subject: String,
    /// The first From address (bare address).
    pub from: Option<String>,
    /// To addresses (bare addresses).
    pub to: Vec<String>,
    /// Message-ID without the angle brackets.
    pub message_id: Option<String>,
    /// The Date header.
    #[serde(with = "time::serde::rfc3339::option")]
    pub date: Option<OffsetDateTime>,
    /// The plain-text body; for HTML-only mail, the rendering of the HTML.
    pub text: String,
    /// The HTML body as sent, if there is one.
    pub html: Option<String>,
    /// The text rendering of the HTML body, if there is one.
    pub html_text: Option<String>,
    /// `text` was rendered from HTML (the message had no text/plain part).
    pub text_from_html: bool,
    /// Every http(s) link: HTML anchors first in document order, then bare URLs from the text.
    pub links: Vec<Link>,
}

impl ParsedMail {
    /// The texts to match a body pattern against or to search for a code: the plain text, then
    /// the HTML rendering when it is a separate part.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        let html = match (&self.html_text, self.text_from_html) {
            (Some(h), false) => Some(h.as_str()),
            _ => None,
        };
        std::iter::once(self.text.as_str()).chain(html)
    }
}

impl fmt::Debug for ParsedMail {
    // Bodies, codes and links are secrets; ids and subjects are not.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedMail")
            .field("subject", &self.subject)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("message_id", &self.message_id)
            .field("date", &self.date)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field(
                "html",
                &self.html.as_ref().map(|h| format!("<{} bytes>", h.len())),
            )
            .field("text_from_html", &self.text_from_html)
            .field("links", &format_args!("<{} links>", self.links.len()))
            .finish()
    }
}

/// A link found in a message.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The URL, entities decoded, trailing punctuation and `<…>` wrappers removed.
    pub url: String,
    /// For an HTML anchor, its text. For a bare URL, the words before it on its line (or the
    /// line before, when the URL stands alone): "Sign in: https://…" gives "Sign in".
    pub text: String,
    pub origin: LinkOrigin,
    /// The URL is written in the text/plain part (senders rarely wrap that copy in tracking).
    pub in_text_part: bool,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("url", &"<redacted>")
            .field("text", &self.text)
            .field("origin", &self.origin)
            .field("in_text_part", &self.in_text_part)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkOrigin {
    /// An `<a href>` in the HTML body.
    Html,
    /// A bare URL in the text (or in the HTML's text).
    Text,
}

/// Parses one raw message. `Malformed` errors carry an empty id; callers that know the source
/// id put it in (see [`MailError::Malformed`]).
pub fn parse_message(raw: &[u8]) -> Result<ParsedMail, MailError> {
    let malformed = |reason: String| MailError::Malformed {
        id: String::new(),
        reason,
    };
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("the message is empty".into()));
    }
    let mail = mailparse::parse_mail(raw).map_err(|e| malformed(describe(&e)))?;
    check_headers(&mail).map_err(malformed)?;

    let headers = &mail.headers;
    let subject = headers
        .get_first_value("Subject")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let from = headers
        .get_first_header("From")
        .and_then(|h| mailparse::addrparse_header(h).ok())
        .and_then(|list| bare_addresses(&list).into_iter().next());
    let to = headers
        .get_all_headers("To")
        .into_iter()
        .filter_map(|h| mailparse::addrparse_header(h).ok())
        .flat_map(|list| bare_addresses(&list))
        .collect();
    let message_id = headers.get_first_value("Message-ID").map(|id| {
        id.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    });
    let date = headers
        .get_first_value("Date")
        .and_then(|d| mailparse::dateparse(&d).ok())
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok());

    let mut plain: Vec<String> = Vec::new();
    let mut html: Vec<String> = Vec::new();
    for part in mail.parts() {
        let mimetype = part.ctype.mimetype.to_ascii_lowercase();
        if mimetype.starts_with("multipart/") {
            check_multipart(part).map_err(malformed)?;
            continue;
        }
        if is_attachment(part) {
            continue;
        }
        let target = match mimetype.as_str() {
            "text/plain" => &mut plain,
            "text/html" => &mut html,
            _ => continue,
        };
        let body = decode_text(part).map_err(|e| {
            malformed(format!(
                "its {mimetype} part does not decode: {}",
                describe(&e)
            ))
        })?;
        target.push(body);
    }

    let html = (!html.is_empty()).then(|| html.join("\n"));
    let html_text = html.as_deref().map(html_to_text);
    let (text, text_from_html) = if plain.is_empty() {
        (html_text.clone().unwrap_or_default(), html_text.is_some())
    } else {
        (normalise_text(&plain.join("\n")), false)
    };

    let mut links: Vec<Link> = Vec::new();
    // URL → index in `links` (a newsletter has tens of thousands).
    let mut known: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut push = |link: Link| match known.get(&link.url).and_then(|&i| links.get_mut(i)) {
        Some(l) => l.in_text_part |= link.in_text_part,
        None => {
            known.insert(link.url.clone(), links.len());
            links.push(link);
        }
    };
    if let Some(h) = &html {
        for (href, text) in anchors(h) {
            if is_web_url(&href) {
                push(Link {
                    url: href,
                    text,
                    origin: LinkOrigin::Html,
                    in_text_part: false,
                });
            }
        }
    }
    let text_part = (!text_from_html).then_some(text.as_str());
    for (t, in_text_part) in [(text_part, true), (html_text.as_deref(), false)] {
        for mut link in t.map(bare_links).unwrap_or_default() {
            link.in_text_part = in_text_part;
            push(link);
        }
    }

    Ok(ParsedMail {
        subject,
        from,
        to,
        message_id,
        date,
        text,
        html,
        html_text,
        text_from_html,
        links,
    })
}

/// A text part's body in its charset, unless the label lies: a part labelled UTF-16 (or one
/// whose declared charset gives replacement characters) whose bytes are valid UTF-8 is read as
/// UTF-8, as mail clients do.
fn decode_text(part: &mailparse::ParsedMail<'_>) -> Result<String, MailParseError> {
    let declared = part.get_body()?;
    let label = part.ctype.charset.to_ascii_lowercase();
    let wide = ["utf-16", "utf16", "ucs-2", "ucs2", "utf-32", "utf32"]
        .iter()
        .any(|w| label.starts_with(w));
    // No charset (us-ascii by default) but 8-bit bytes: senders that omit the label send UTF-8.
    let unlabelled = label == "us-ascii" && !declared.is_ascii();
    if wide || unlabelled || declared.contains('\u{fffd}') {
        let raw = part.get_body_raw()?;
        if let Ok(utf8) = std::str::from_utf8(&raw) {
            let has_bom = raw.starts_with(&[0xff, 0xfe]) || raw.starts_with(&[0xfe, 0xff]);
            // Real UTF-16 of mostly ASCII text is valid UTF-8 too: its NUL bytes tell it apart.
            let read_as_utf8 = if wide {
                !has_bom && !raw.contains(&0)
            } else {
                !utf8.contains('\u{fffd}')
            };
            if read_as_utf8 {
                return Ok(utf8.to_owned());
            }
        }
    }
    Ok(declared)
}

fn describe(e: &MailParseError) -> String {
    match e {
        MailParseError::Base64DecodeError(d) => format!("invalid base64 ({d})"),
        MailParseError::QuotedPrintableDecodeError(q) => format!("invalid quoted-printable ({q})"),
        MailParseError::EncodingError(c) => format!("undecodable text ({c})"),
        MailParseError::Generic(g) => g.to_lowercase(),
    }
}

/// mailparse takes any line as a header; a mail step should not.
fn check_headers(mail: &mailparse::ParsedMail<'_>) -> Result<(), String> {
    const KNOWN: &[&str] = &[
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Content-Type",
    ];
    if !KNOWN
        .iter()
        .any(|k| mail.headers.get_first_header(k).is_some())
    {
        return Err("it has none of the headers From, To, Subject, Date, Message-ID".into());
    }
    for (i, h) in mail.headers.iter().enumerate() {
        let key = h.get_key_raw();
        let valid = !key.is_empty() && key.iter().all(|b| (33..=126).contains(b) && *b != b':');
        if !valid {
            return Err(format!(
                "header {} is not a `Name: value` line (is the header block broken?)",
                i + 1
            ));
        }
    }
    Ok(())
}

fn check_multipart(part: &mailparse::ParsedMail<'_>) -> Result<(), String> {
    let mimetype = &part.ctype.mimetype;
    let Some(boundary) = part.ctype.params.get("boundary") else {
        return Err(format!("its {mimetype} part has no boundary parameter"));
    };
    if part.subparts.is_empty() {
        return Err(format!(
            "its {mimetype} part declares boundary {boundary:?} but no line starts with it"
        ));
    }
    let closing = format!("--{boundary}--");
    if !contains(part.raw_bytes, closing.as_bytes()) {
        return Err(format!(
            "its {mimetype} part never closes boundary {boundary:?} (truncated message?)"
        ));
    }
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn is_attachment(part: &mailparse::ParsedMail<'_>) -> bool {
    part.get_content_disposition().disposition == mailparse::DispositionType::Attachment
}

fn bare_addresses(list: &mailparse::MailAddrList) -> Vec<String> {
    list.iter()
        .flat_map(|a| match a {
            mailparse::MailAddr::Single(s) => vec![s.addr.clone()],
            mailparse::MailAddr::Group(g) => g.addrs.iter().map(|s| s.addr.clone()).collect(),
        })
        .collect()
}

/// Line endings to `\n`, trailing spaces off, blank runs collapsed.
fn normalise_text(s: &str) -> String {
    tidy_lines(&s.replace("\r\n", "\n"))
}

fn is_web_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

static BARE_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\bhttps?://[^\s<>"'`]+"#).expect("url regex"));

/// Bare URLs in text, each with the words that introduce it.
fn bare_links(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let mut previous_line = "";
    for line in text.lines() {
        for m in BARE_URL.find_iter(line) {
            let Some(url) = clean_url(m.as_str()) else {
                continue;
            };
            let before = label(&line[..m.start()]);
            let text = if before.is_empty() {
                label(previous_line)
            } else {
                before
            };
            out.push(Link {
                url,
                text,
                origin: LinkOrigin::Text,
                in_text_part: false,
            });
        }
        if !line.trim().is_empty() {
            previous_line = line;
        }
    }
    out
}

/// A URL as written in text → the URL meant: entities decoded, cut at an escaped `>`, trailing
/// punctuation dropped (a closing bracket only when it has no partner inside the URL).
pub(crate) fn clean_url(raw: &str) -> Option<String> {
    let decoded = decode_entities(raw);
    let mut url = decoded
        .split(['<', '>', '"'])
        .next()
        .unwrap_or_default()
        .to_owned();
    while let Some(last) = url.chars().last() {
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_' => true,
            ')' => url.matches('(').count() < url.matches(')').count(),
            ']' => url.matches('[').count() < url.matches(']').count(),
            '}' => url.matches('{').count() < url.matches('}').count(),
            _ => false,
        };
        if !drop {
            break;
        }
        url.pop();
    }
    let host = url.split_once("://").map_or("", |(_, rest)| rest);
    (!host.is_empty()).then_some(url)
}

/// The words before a URL on its line, as a short label.
fn label(s: &str) -> String {
    let s = s
        .trim()
        .trim_end_matches(|c: char| c == '<' || c == '(' || c == '[' || c.is_whitespace())
        .trim_end_matches([':', '-', '–', '—', '='])
        .trim();
    let chars: Vec<char> = s.chars().collect();
    if chars.len() > 80 {
        chars[chars.len() - 80..]
            .iter()
            .collect::<String>()
            .trim()
            .to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ParsedMail {
        parse_message(s.as_bytes()).expect("parses")
    }

    fn reason(s: &str) -> String {
        match parse_message(s.as_bytes()) {
            Err(MailError::Malformed { reason, .. }) => reason,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn cleans_urls_written_in_text() {
        let c = |s: &str| clean_url(s).unwrap_or_default();
        assert_eq!(c("https://x.test/a."), "https://x.test/a");
        assert_eq!(
            c("https://x.test/a?b=1&amp;c=2),"),
            "https://x.test/a?b=1&c=2"
        );
        assert_eq!(
            c("https://en.wikipedia.org/wiki/Foo_(bar)"),
            "https://en.wikipedia.org/wiki/Foo_(bar)"
        );
        assert_eq!(c("https://x.test/a&gt;."), "https://x.test/a");
        assert_eq!(
            c("https://x.test/login?next=/a%20b!"),
            "https://x.test/login?next=/a%20b"
        );
        assert_eq!(clean_url("https://."), None);
    }

    #[test]
    fn text_links_carry_the_words_before_them() {
        let m = parse(
            "Subject: s\r\nFrom: a@x.test\r\n\r\nSign in: <https://x.test/magic?t=abc>.\r\n\r\nOr open this page:\r\nhttps://x.test/help, then relax.\r\n",
        );
        let links: Vec<(&str, &str)> = m
            .links
            .iter()
            .map(|l| (l.url.as_str(), l.text.as_str()))
            .collect();
        assert_eq!(
            links,
            vec![
                ("https://x.test/magic?t=abc", "Sign in"),
                ("https://x.test/help", "Or open this page"),
            ]
        );
    }

    #[test]
    fn html_anchor_wins_over_the_same_bare_url() {
        let m = parse(concat!(
            "From: a@x.test\r\nSubject: s\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nGo: https://x.test/go\r\n",
            "--b\r\nContent-Type: text/html\r\n\r\n<a href=\"https://x.test/go\">Open ticket</a> <a href=\"mailto:a@x.test\">mail</a>\r\n",
            "--b--\r\n"
        ));
        assert_eq!(m.links.len(), 1);
        assert_eq!(m.links[0].text, "Open ticket");
        assert_eq!(m.links[0].origin, LinkOrigin::Html);
        assert_eq!(m.text, "Go: https://x.test/go");
        assert!(!m.text_from_html);
    }

    #[test]
    fn attachments_are_not_bodies() {
        let m = parse(concat!(
            "From: a@x.test\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n",
            "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n123456\r\n",
            "--b--\r\n"
        ));
        assert_eq!(m.text, "body");
    }

    #[test]
    fn broken_messages_say_what_is_broken() {
        assert_eq!(reason(""), "the message is empty");
        assert!(reason("From: a@x.test\r\nContent-Type: multipart/alternative; boundary=one\r\n\r\n--two\r\n\r\nx\r\n--two--\r\n")
            .contains("declares boundary \"one\""));
        assert!(
            reason("From: a@x.test\r\nContent-Type: multipart/alternative\r\n\r\nx\r\n")
                .contains("no boundary parameter")
        );
        assert!(reason("From: a@x.test\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\nx\r\n")
            .contains("never closes"));
        assert!(reason(
            "From: a@x.test\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!! not base64 ****\r\n"
        )
        .contains("invalid base64"));
        assert!(reason("just some words\r\n\r\nand more\r\n").contains("none of the headers"));
        assert!(
            reason("From: a@x.test\r\nthis line is no header\r\n\r\nbody\r\n").contains("header 2")
        );
        assert!(reason(" From: a@x.test\r\n\r\nbody\r\n").contains("cannot start with a space"));
    }

    #[test]
    fn debug_output_hides_bodies_and_links() {
        let m = parse(
            "From: a@x.test\r\nSubject: Code\r\n\r\nYour code is 314159 https://x.test/secret\r\n",
        );
        let s = format!("{m:?}");
        assert!(!s.contains("314159"), "{s}");
        assert!(!s.contains("x.test/secret"), "{s}");
        assert!(s.contains("Code"));
    }

    fn alternative(text: &str, html: &str) -> ParsedMail {
        parse(&format!(concat!(
            "From: a@x.test\r\nSubject: s\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\n{}\r\n",
            "--b\r\nContent-Type: text/html\r\n\r\n{}\r\n",
            "--b--\r\n"
        ), text, html))
    }

    #[test]
    fn addresses_ids_dates_and_subjects_are_read() {
        let m = parse(concat!(
            "From: Alice Example <alice@x.test>\r\n",
            "To: a@x.test, Team: b@x.test, c@x.test;\r\n",
            "To: d@x.test\r\n",
            "Message-ID:  <abc.123@x.test> \r\n",
            "Date: Mon, 07 Dec 2026 10:31:41 +0000\r\n",
            "Subject:  =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= \r\n\r\nbody\r\n"
        ));
        assert_eq!(m.from.as_deref(), Some("alice@x.test"));
        assert_eq!(m.to, ["a@x.test", "b@x.test", "c@x.test", "d@x.test"]);
        assert_eq!(m.message_id.as_deref(), Some("abc.123@x.test"));
        assert_eq!(m.date.map(|d| d.unix_timestamp()), Some(1_796_639_501));
        assert_eq!(m.subject, "Grüße");
    }

    #[test]
    fn texts_are_the_text_then_a_separate_html_rendering() {
        let both = alternative("plain 1", "<p>html 2</p>");
        assert_eq!(both.texts().collect::<Vec<_>>(), ["plain 1", "html 2"]);
        let html_only = parse(
            "From: a@x.test\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n<p>html 2</p>\r\n",
        );
        assert_eq!(html_only.text, "html 2");
        assert_eq!(html_only.texts().collect::<Vec<_>>(), ["html 2"]);
    }

    #[test]
    fn an_anchor_also_written_in_the_text_part_is_marked_so() {
        let m = alternative(
            "Go: https://x.test/go",
            "<a href=\"https://x.test/go\">Open ticket</a>",
        );
        assert_eq!(
            format!("{:?}", m.links),
            "[Link { url: \"<redacted>\", text: \"Open ticket\", origin: Html, in_text_part: true }]"
        );
    }

    #[test]
    fn a_charset_label_that_lies_is_read_as_utf8() {
        let body = |ctype: &str, bytes: &[u8]| {
            let mut raw = format!(
                "From: a@x.test\r\nSubject: s\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            )
            .into_bytes();
            raw.extend_from_slice(bytes);
            raw.extend_from_slice(b"\r\n");
            parse_message(&raw).expect("parses").text
        };
        // Labelled UTF-16, the bytes UTF-8 (even with a U+FFFD of their own).
        assert_eq!(
            body(
                "text/plain; charset=utf-16",
                "Grün 482913 \u{fffd}".as_bytes()
            ),
            "Grün 482913 \u{fffd}"
        );
        // No label, 8-bit bytes: UTF-8.
        assert_eq!(body("text/plain", "Grün 482913".as_bytes()), "Grün 482913");
        // A label that decodes cleanly is believed, even where the bytes are UTF-8 too.
        assert_eq!(
            body("text/plain; charset=iso-8859-1", "Grün".as_bytes()),
            "GrÃ¼n"
        );
        assert_eq!(body("text/plain; charset=iso-8859-1", b"Gr\xfcn"), "Grün");
    }

    #[test]
    fn real_utf16_without_a_bom_is_read_as_utf16() {
        use base64::Engine as _;
        let utf16le: Vec<u8> = "Code 482913"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let raw = format!(
            "From: a@x.test\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-16le\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64::engine::general_purpose::STANDARD.encode(&utf16le)
        );
        assert_eq!(parse(&raw).text, "Code 482913");
    }

    #[test]
    fn closing_brackets_are_dropped_only_without_a_partner() {
        let c = |s: &str| clean_url(s).unwrap_or_default();
        assert_eq!(c("https://x.test/a[1]"), "https://x.test/a[1]");
        assert_eq!(c("https://x.test/a]"), "https://x.test/a");
        assert_eq!(c("https://x.test/{id}"), "https://x.test/{id}");
        assert_eq!(c("https://x.test/a}"), "https://x.test/a");
    }

    #[test]
    fn a_link_label_drops_brackets_and_keeps_its_last_80_characters() {
        let long = "word ".repeat(20);
        let m = parse(&format!(
            "From: a@x.test\r\nSubject: s\r\n\r\nSign in (https://x.test/a)\r\nReset [https://x.test/b]\r\n{long}https://x.test/c\r\n"
        ));
        let labels: Vec<&str> = m.links.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(labels, ["Sign in", "Reset", "word ".repeat(16).trim()]);
    }
}
