//! One-time codes and links out of a parsed message.
//!
//! Codes: by default a standalone 6-digit number (never one written `#100123`: that is a
//! reference); a flow may give its own regex (first group, else the whole match) for codes such
//! as `ABCD-EFGH`. Either way a candidate near a word like "code" wins over one that is not,
//! and matches inside URLs come last. Links: the one whose text or URL matches what the flow asks for wins over the first.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::parse::{Link, ParsedMail};

/// The default code: six digits standing alone.
pub const DEFAULT_OTP_PATTERN: &str = r"\b\d{6}\b";

static DEFAULT_OTP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(DEFAULT_OTP_PATTERN).expect("otp regex"));
static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(code|otp|passcode|pin|verification|one-time|one time)\b")
        .expect("keyword regex")
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\bhttps?://[^\s<>"'`]+"#).expect("url regex"));

/// The one-time code in a message: searched in the text, the HTML rendering, then the subject.
pub fn extract_otp(mail: &ParsedMail, pattern: Option<&Regex>) -> Option<String> {
    let re = pattern.unwrap_or(&DEFAULT_OTP);
    let subject = [mail.subject.as_str()];
    // Outside URLs first, then closest to a word like "code", then earlier texts and places.
    let mut best: Option<((u8, usize, usize, usize), String)> = None;
    for (order, hay) in mail.texts().chain(subject).enumerate() {
        for (tier, near, pos, code) in candidates(hay, re, pattern.is_none()) {
            let key = (tier, near, order, pos);
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                best = Some((key, code));
            }
        }
    }
    best.map(|(_, code)| code)
}

/// Every match in one text as (tier, distance to the nearest keyword, position, value); lower
/// is better. A keyword after the code counts double ("482913 is your code" is rarer than
/// "your code: 482913"). With the default pattern, `#100123` is a reference, never a code.
fn candidates(hay: &str, re: &Regex, default: bool) -> Vec<(u8, usize, usize, String)> {
    let urls: Vec<Range<usize>> = URL.find_iter(hay).map(|m| m.range()).collect();
    let keywords: Vec<Range<usize>> = KEYWORD.find_iter(hay).map(|m| m.range()).collect();
    re.captures_iter(hay)
        .filter_map(|c| {
            let m = c.get(1).or_else(|| c.get(0))?;
            let value = m.as_str().trim();
            if value.is_empty() {
                return None;
            }
            let r = m.range();
            let in_url = urls.iter().any(|u| u.start <= r.start && r.end <= u.end);
            let after_hash = hay[..r.start].ends_with('#');
            if default && after_hash {
                return None;
            }
            let near = keywords
                .iter()
                .map(|k| distance(k, &r))
                .min()
                .unwrap_or(usize::MAX);
            Some((
                u8::from(in_url || after_hash),
                near,
                r.start,
                value.to_owned(),
            ))
        })
        .collect()
}

/// Bytes between a keyword `k` and a code `c`.
fn distance(k: &Range<usize>, c: &Range<usize>) -> usize {
    if k.end <= c.start {
        c.start - k.end
    } else if c.end <= k.start {
        (k.start - c.end).saturating_mul(2)
    } else {
        0
    }
}

/// The chosen link and whether it matched what was asked for (`false`: no link matched, this
/// is the first link as a fallback; the runner may say so).
#[derive(Debug, Clone, Copy)]
pub struct LinkPick<'a> {
    pub link: &'a Link,
    pub matched: bool,
}

/// Picks a link: the one matching both `text` (tested on the link's text) and `url` (on its
/// URL) beats one matching either, which beats the first link. `None` only when the message
/// has no link at all.
pub fn pick_link<'a>(
    mail: &'a ParsedMail,
    text: Option<&dyn Fn(&str) -> bool>,
    url: Option<&Regex>,
) -> Option<LinkPick<'a>> {
    let first = mail.links.first()?;
    if text.is_none() && url.is_none() {
        return Some(LinkPick {
            link: first,
            matched: true,
        });
    }
    let score = |l: &Link| {
        u8::from(text.is_some_and(|t| t(&l.text)))
            + u8::from(url.is_some_and(|u| u.is_match(&l.url)))
    };
    let mut best: Option<(u8, &Link)> = None;
    for l in &mail.links {
        let s = score(l);
        if s > 0 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, l));
        }
    }
    Some(match best {
        Some((_, link)) => LinkPick {
            link,
            matched: true,
        },
        None => LinkPick {
            link: first,
            matched: false,
        },
    })
}

/// The URL of [`pick_link`]'s choice.
pub fn extract_link(
    mail: &ParsedMail,
    text: Option<&dyn Fn(&str) -> bool>,
    url: Option<&Regex>,
) -> Option<String> {
    pick_link(mail, text, url).map(|p| p.link.url.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse_message;

    fn mail(body: &str) -> ParsedMail {
        let raw = format!("From: a@x.test\r\nSubject: Hello\r\n\r\n{body}\r\n");
        parse_message(raw.as_bytes()).expect("parses")
    }

    #[test]
    fn prefers_the_number_near_code() {
        let m = mail("Ticket #100123 was updated on 2026-05-31.\r\nOrder 777777 shipped.\r\n\r\nYour sign-in code: 482913");
        assert_eq!(extract_otp(&m, None).as_deref(), Some("482913"));
    }

    #[test]
    fn takes_a_lone_number_and_skips_urls_and_longer_runs() {
        let m = mail("See https://x.test/t/123456 and 12345678, then 654321.");
        assert_eq!(extract_otp(&m, None).as_deref(), Some("654321"));
        assert_eq!(extract_otp(&mail("nothing here 12345"), None), None);
        assert_eq!(extract_otp(&mail("Ticket #100123 was updated"), None), None);
    }

    #[test]
    fn custom_patterns_use_their_first_group() {
        let m = mail("Your code is ABCD-EFGH (valid 10 minutes).");
        let re = Regex::new(r"code is ([A-Z]{4}-[A-Z]{4})").expect("regex");
        assert_eq!(extract_otp(&m, Some(&re)).as_deref(), Some("ABCD-EFGH"));
        let whole = Regex::new(r"\b[A-Z]{4}-[A-Z]{4}\b").expect("regex");
        assert_eq!(extract_otp(&m, Some(&whole)).as_deref(), Some("ABCD-EFGH"));
    }

    #[test]
    fn finds_a_code_in_the_subject_last() {
        let raw = b"From: a@x.test\r\nSubject: 246810 is your code\r\n\r\nWelcome back.\r\n";
        let m = parse_message(raw).expect("parses");
        assert_eq!(extract_otp(&m, None).as_deref(), Some("246810"));
    }

    #[test]
    fn picks_the_link_that_matches() {
        let m = mail("Unsubscribe: https://x.test/unsub\r\nSign in: https://x.test/magic?t=1\r\nHelp: https://x.test/help");
        let sign_in = |t: &str| t.to_lowercase().contains("sign in");
        let magic = Regex::new("/magic").expect("regex");
        assert_eq!(
            extract_link(&m, None, None).as_deref(),
            Some("https://x.test/unsub")
        );
        assert_eq!(
            extract_link(&m, Some(&sign_in), None).as_deref(),
            Some("https://x.test/magic?t=1")
        );
        assert_eq!(
            extract_link(&m, None, Some(&magic)).as_deref(),
            Some("https://x.test/magic?t=1")
        );
        let nope = |t: &str| t.contains("nothing");
        let pick = pick_link(&m, Some(&nope), None).expect("a link");
        assert!(!pick.matched);
        assert_eq!(pick.link.url, "https://x.test/unsub");
        assert!(pick_link(&mail("no links"), None, None).is_none());
    }
}
