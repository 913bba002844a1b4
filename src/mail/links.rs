//! Which link in a message the flow means, ranked, with the reason for the choice.
//!
//! Every link (HTML anchors, bare URLs in the text part and in the HTML) is a candidate, after
//! unwrapping well-known click-tracking redirects whose real URL is a parameter
//! (`https://click.mailer.example/?url=https%3A%2F%2Fapp.example%2F…`). Candidates are then
//! narrowed step by step, each step applied only when it leaves something:
//! 1. what the flow asks for: `text:` on the link's text, `regex:` on its URL;
//! 2. not boilerplate (unsubscribe, preferences, privacy, terms, "view in browser") unless only
//!    boilerplate matched what was asked;
//! 3. on the target's origin (the base URL, `[mail] link_origins`);
//! 4. carrying a token (a long random path segment or query value: a one-time link);
//! 5. present in the text part (senders rarely wrap the plain-text copy in tracking).
//!
//! One URL left is the choice; several make the step fail listing them ([`Ambiguity`]).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::extract::{Ambiguity, Place};
use super::parse::{Link, LinkOrigin, ParsedMail};

/// What the flow asks of a link.
#[derive(Clone, Copy, Default)]
pub struct LinkRule<'a> {
    /// Tested on the link's text.
    pub text: Option<&'a dyn Fn(&str) -> bool>,
    /// Tested on the link's URL (the tracking URL and the unwrapped one).
    pub url: Option<&'a Regex>,
    /// Origins (`https://app.example`) whose links win over others.
    pub origins: &'a [String],
}

/// The chosen link and where it was. `url` is a secret; `Debug` hides it.
#[derive(Clone, Serialize)]
pub struct LinkChoice {
    #[serde(skip)]
    pub url: String,
    /// The click-tracking URL it was unwrapped from, if any (a secret too).
    #[serde(skip)]
    pub wrapped: Option<String>,
    /// The link's text.
    pub text: String,
    pub place: Place,
    /// Index of the link among the message's links (HTML anchors first, then bare URLs).
    pub position: usize,
    /// The URL with its path hidden: `https://app.example/…`.
    pub shown: String,
}

impl std::fmt::Debug for LinkChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkChoice")
            .field("url", &"<redacted>")
            .field("text", &self.text)
            .field("place", &self.place)
            .field("position", &self.position)
            .finish()
    }
}

impl LinkChoice {
    /// `"Sign in" https://app.example/… in the text part (link 3), unwrapped from a tracking redirect`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{:?} {} in {} (link {})",
            self.text,
            self.shown,
            self.place,
            self.position + 1
        );
        if self.wrapped.is_some() {
            s.push_str(", unwrapped from a click-tracking redirect");
        }
        s
    }
}

static BOILERPLATE_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)unsubscribe|opt[- ]?out|abmelden|abbestellen|désinscri|désabonn|darse de baja|cancelar (?:la )?suscripci|preferences|präferenzen|préférences|preferencias|e-?mail settings|notification settings|manage (?:your )?(?:e-?mail|subscription|notification)|privacy|datenschutz|confidentialité|privacidad|terms of|\bterms\b|\bagb\b|view (?:it |this (?:e-?mail|message) )?(?:in|on) (?:your |a )?browser|web ?version|im browser (?:an|öffnen)|version en ligne|ver en (?:el )?navegador",
    )
    .expect("boilerplate regex")
});
static BOILERPLATE_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)unsubscribe|opt-?out|/preferences|/privacy|/terms|/settings|/mail/view|webversion|list-manage\.com/profile")
        .expect("boilerplate path regex")
});

/// The link `rule` picks, or why there is not exactly one.
pub fn find_link(mail: &ParsedMail, rule: &LinkRule<'_>) -> Result<LinkChoice, Ambiguity> {
    let mut groups: Vec<Group> = Vec::new();
    // URL → index in `groups`: a newsletter has tens of thousands of links.
    let mut by_url: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let origins = Origins::new(rule.origins);
    for (position, link) in mail.links.iter().enumerate() {
        // Each URL is parsed once: a newsletter's 28,000 links made parsing the cost.
        let parsed = url::Url::parse(&link.url).ok();
        let real = parsed.as_ref().and_then(|u| unwrap_parsed(u, &origins));
        let url = real
            .as_ref()
            .map_or_else(|| link.url.clone(), |(s, _)| s.clone());
        let real_is_some = real.is_some();
        let asked = rule.text.is_none_or(|t| t(&link.text))
            && rule
                .url
                .is_none_or(|re| re.is_match(&url) || re.is_match(&link.url));
        match by_url.get(&url).and_then(|&i| groups.get_mut(i)) {
            Some(g) => {
                g.asked |= asked;
                g.in_text_part |= link.in_text_part;
                g.boilerplate |= is_boilerplate(link);
            }
            None => {
                let target = match real {
                    Some((_, u)) => Some(u),
                    None => parsed,
                };
                by_url.insert(url.clone(), groups.len());
                groups.push(Group {
                    on_origin: target.as_ref().is_some_and(|u| origins.contains(u)),
                    token: target.as_ref().is_some_and(has_token),
                    shown: target
                        .as_ref()
                        .map_or_else(|| "(a link)".to_owned(), shown_url),
                    in_text_part: link.in_text_part,
                    boilerplate: is_boilerplate(link) || BOILERPLATE_PATH.is_match(path_of(&url)),
                    asked,
                    wrapped: real_is_some.then(|| link.url.clone()),
                    url,
                    position,
                    link,
                });
            }
        }
    }
    if groups.is_empty() {
        return Err(Ambiguity::None {
            passed_over: Vec::new(),
        });
    }
    let all: Vec<&Group> = groups.iter().collect();
    let asked: Vec<&Group> = all.iter().copied().filter(|g| g.asked).collect();
    if asked.is_empty() {
        return Err(Ambiguity::None {
            passed_over: all.iter().map(|g| g.describe()).collect(),
        });
    }
    let mut left = asked;
    let not_boilerplate: Vec<&Group> = left.iter().copied().filter(|g| !g.boilerplate).collect();
    let anything_asked = rule.text.is_some() || rule.url.is_some();
    if !not_boilerplate.is_empty() {
        left = not_boilerplate;
    } else if !anything_asked {
        return Err(Ambiguity::None {
            passed_over: left
                .iter()
                .map(|g| format!("{} (unsubscribe, preferences or the like)", g.describe()))
                .collect(),
        });
    }
    for keep in [
        (|g: &Group| g.on_origin) as fn(&Group) -> bool,
        |g| g.token,
        |g| g.in_text_part,
    ] {
        let narrowed: Vec<&Group> = left.iter().copied().filter(|g| keep(g)).collect();
        if !narrowed.is_empty() {
            left = narrowed;
        }
    }
    match left.as_slice() {
        [one] => Ok(one.choice()),
        several => Err(Ambiguity::Several {
            candidates: several.iter().map(|g| g.describe()).collect(),
        }),
    }
}

/// The links of a message that share one (unwrapped) URL.
struct Group<'a> {
    url: String,
    /// [`shown`] of `url`.
    shown: String,
    wrapped: Option<String>,
    link: &'a Link,
    position: usize,
    on_origin: bool,
    token: bool,
    in_text_part: bool,
    boilerplate: bool,
    asked: bool,
}

impl Group<'_> {
    fn place(&self) -> Place {
        match self.link.origin {
            LinkOrigin::Text if self.link.in_text_part => Place::TextPart,
            _ => Place::HtmlPart,
        }
    }

    fn choice(&self) -> LinkChoice {
        LinkChoice {
            url: self.url.clone(),
            wrapped: self.wrapped.clone(),
            text: self.link.text.clone(),
            place: self.place(),
            position: self.position,
            shown: self.shown.clone(),
        }
    }

    fn describe(&self) -> String {
        format!("{:?} {} ({})", self.link.text, self.shown, self.place())
    }
}

/// A URL for messages: origin and `/…`, the path (which may carry a token) hidden.
pub fn shown(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| "(a link)".to_owned(), |u| shown_url(&u))
}

fn shown_url(u: &url::Url) -> String {
    if u.path() == "/" && u.query().is_none() {
        u.origin().ascii_serialization() + "/"
    } else {
        u.origin().ascii_serialization() + "/…"
    }
}

fn is_boilerplate(link: &Link) -> bool {
    BOILERPLATE_TEXT.is_match(&link.text) || BOILERPLATE_PATH.is_match(path_of(&link.url))
}

fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme.find('/').map_or("", |i| &after_scheme[i..])
}

/// The target's origins, parsed once per extraction.
struct Origins(Vec<url::Origin>);

impl Origins {
    fn new(origins: &[String]) -> Origins {
        Origins(
            origins
                .iter()
                .filter_map(|o| url::Url::parse(o).ok())
                .map(|o| o.origin())
                .collect(),
        )
    }

    fn contains(&self, u: &url::Url) -> bool {
        let origin = u.origin();
        self.0.contains(&origin)
    }
}

/// A long random-looking path segment or query value: a one-time link's token.
fn has_token(u: &url::Url) -> bool {
    let tokenish = |s: &str| {
        s.len() >= 16
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '='))
            && s.chars().any(|c| c.is_ascii_digit())
            && s.chars().any(|c| c.is_ascii_alphabetic())
    };
    u.path_segments().into_iter().flatten().any(tokenish)
        || u.query_pairs().any(|(_, v)| tokenish(&v))
}

/// Hosts that only redirect (click tracking, link protection).
static TRACKER_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\.)(?:(?:click|clicks|links?|track|tracking|trk|email|e|go|r|t|lnk|url|redirect|em)\.[^.]+\..+|sendgrid\.net|list-manage\.com|mandrillapp\.com|awstrack\.me|safelinks\.protection\.outlook\.com|mailchi\.mp|hubspotlinks\.com|mjt\.lu|sparkpostmail\.com|mailgun\.org|rs6\.net|exct\.net|google\.com)$")
        .expect("tracker regex")
});
const TARGET_PARAMS: &[&str] = &[
    "url",
    "u",
    "q",
    "redirect",
    "redirect_url",
    "redirect_to",
    "target",
    "dest",
    "destination",
    "link",
    "href",
    "r",
    "to",
    "goto",
];

/// The real URL behind a click-tracking redirect: a query parameter (or, as Amazon SES writes
/// it, a path segment) holding an absolute http(s) URL on another host. Only for hosts that
/// look like trackers and never for the target's own origins: a sign-in link's `?next=` must
/// stay as it is.
pub fn unwrap_redirect(url: &str, origins: &[String]) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    unwrap_parsed(&u, &Origins::new(origins)).map(|(s, _)| s)
}

/// [`unwrap_redirect`] of a parsed URL: the real URL as text and parsed.
fn unwrap_parsed(url: &url::Url, origins: &Origins) -> Option<(String, url::Url)> {
    let mut current = url.clone();
    let mut unwrapped = None;
    for _ in 0..3 {
        let u = &current;
        let host = u.host_str()?.to_owned();
        if origins.contains(u) || !TRACKER_HOST.is_match(&host) {
            break;
        }
        let from_query = u
            .query_pairs()
            .filter(|(k, _)| TARGET_PARAMS.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(_, v)| v.into_owned());
        let from_path = u.path_segments().into_iter().flatten().map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        });
        let next = from_query.chain(from_path).find_map(|v| {
            let lower = v.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://")) {
                return None;
            }
            let t = url::Url::parse(&v).ok()?;
            t.host_str().is_some_and(|h| h != host).then_some((v, t))
        });
        match next {
            Some((text, parsed)) => {
                current = parsed.clone();
                unwrapped = Some((text, parsed));
            }
            None => break,
        }
    }
    unwrapped
}

/// The URL of [`find_link`]'s choice, when there is exactly one.
pub fn extract_link(mail: &ParsedMail, rule: &LinkRule<'_>) -> Option<String> {
    find_link(mail, rule).ok().map(|c| c.url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse_message;

    fn mail(raw: &str) -> ParsedMail {
        parse_message(raw.as_bytes()).expect("parses")
    }

    const TOKEN: &str = "3f9a0c5e7b2d4f6a8c0e1b3d5f7a9c2e";

    fn tracked() -> ParsedMail {
        mail(&format!(concat!(
            "From: a@x.test\r\nSubject: Sign in\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nSign in: https://app.example/login/magic/{t}\r\nUnsubscribe: https://app.example/unsubscribe?u=1\r\n",
            "--b\r\nContent-Type: text/html\r\n\r\n<a href=\"https://click.mailer.example/ls/click?upn={t}xyz\">Sign in</a> ",
            "<a href=\"https://app.example/unsubscribe?u=1\">Unsubscribe</a>\r\n",
            "--b--\r\n"
        ), t = TOKEN))
    }

    #[test]
    fn the_real_link_beats_an_opaque_tracking_redirect() {
        let m = tracked();
        let origins = vec!["https://app.example".to_owned()];
        let sign_in = |t: &str| t.contains("Sign in");
        for rule in [
            LinkRule::default(),
            LinkRule {
                origins: &origins,
                ..LinkRule::default()
            },
            LinkRule {
                text: Some(&sign_in),
                ..LinkRule::default()
            },
        ] {
            let c = find_link(&m, &rule).expect("one link");
            assert_eq!(c.url, format!("https://app.example/login/magic/{TOKEN}"));
            assert_eq!(c.place, Place::TextPart);
        }
        let unsub = |t: &str| t.contains("Unsubscribe");
        let c = find_link(
            &m,
            &LinkRule {
                text: Some(&unsub),
                ..LinkRule::default()
            },
        )
        .expect("asked for");
        assert_eq!(c.url, "https://app.example/unsubscribe?u=1");
    }

    #[test]
    fn tracking_redirects_with_the_url_as_a_parameter_are_unwrapped() {
        let origins = vec!["https://app.example".to_owned()];
        assert_eq!(
            unwrap_redirect(
                "https://click.mailer.example/c?url=https%3A%2F%2Fapp.example%2Flogin%3Ft%3D1&id=9",
                &[]
            )
            .as_deref(),
            Some("https://app.example/login?t=1")
        );
        assert_eq!(
            unwrap_redirect(
                "https://abc.r.us-east-1.awstrack.me/L0/https:%2F%2Fapp.example%2Fx/1/0100",
                &[]
            )
            .as_deref(),
            Some("https://app.example/x")
        );
        // A sign-in link's own `next` is not a redirect to unwrap.
        assert_eq!(
            unwrap_redirect(
                "https://app.example/login?next=https://other.example/",
                &origins
            ),
            None
        );
        assert_eq!(
            unwrap_redirect("https://auth.example/?to=https://x.example/", &[]),
            None
        );
    }

    #[test]
    fn two_sign_in_links_are_ambiguous() {
        let m = mail(&format!(
            "From: a@x.test\r\nSubject: s\r\n\r\nSign in: https://app.example/login/magic/{TOKEN}\r\nReset: https://app.example/reset/{TOKEN}\r\n"
        ));
        let err = find_link(&m, &LinkRule::default()).expect_err("two");
        assert_eq!(
            err,
            Ambiguity::Several {
                candidates: vec![
                    "\"Sign in\" https://app.example/… (the text part)".into(),
                    "\"Reset\" https://app.example/… (the text part)".into()
                ]
            }
        );
    }

    #[test]
    fn only_boilerplate_is_no_link() {
        let m = mail("From: a@x.test\r\nSubject: s\r\n\r\nUnsubscribe: https://app.example/unsubscribe?u=1\r\n");
        assert!(matches!(
            find_link(&m, &LinkRule::default()),
            Err(Ambiguity::None { .. })
        ));
    }

    /// A two-part message: `text` as its text/plain part, `html` as its text/html part.
    fn alternative(text: &str, html: &str) -> ParsedMail {
        mail(&format!(concat!(
            "From: a@x.test\r\nSubject: s\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\n{}\r\n",
            "--b\r\nContent-Type: text/html\r\n\r\n{}\r\n",
            "--b--\r\n"
        ), text, html))
    }

    const OTHER: &str = "7c1e9b3a5d2f4e6a8b0c2d4e6f8a0b1c";

    #[test]
    fn a_choice_describes_itself_without_its_path_and_debug_hides_its_url() {
        let m = alternative(
            "Hello",
            &format!("<a href=\"https://click.mailer.example/c?url=https%3A%2F%2Fapp.example%2Fmagic%2F{TOKEN}\">Sign in</a>"),
        );
        let c = find_link(&m, &LinkRule::default()).expect("one link");
        assert_eq!(c.url, format!("https://app.example/magic/{TOKEN}"));
        assert_eq!(
            c.describe(),
            "\"Sign in\" https://app.example/… in the HTML part (link 1), unwrapped from a click-tracking redirect"
        );
        assert_eq!(
            format!("{c:?}"),
            "LinkChoice { url: \"<redacted>\", text: \"Sign in\", place: HtmlPart, position: 0 }"
        );
        assert_eq!(
            extract_link(&m, &LinkRule::default()),
            Some(format!("https://app.example/magic/{TOKEN}"))
        );
        let bare = mail(&format!(
            "From: a@x.test\r\nSubject: s\r\n\r\nHome: https://app.example/\r\nSign in: https://app.example/magic/{TOKEN}\r\n"
        ));
        let c = find_link(&bare, &LinkRule::default()).expect("one link");
        assert_eq!(
            c.describe(),
            "\"Sign in\" https://app.example/… in the text part (link 2)"
        );
    }

    #[test]
    fn shown_hides_the_path_and_query_only() {
        assert_eq!(shown("https://app.example/"), "https://app.example/");
        assert_eq!(shown("https://app.example/?t=1"), "https://app.example/…");
        assert_eq!(
            shown("https://app.example:8443/x"),
            "https://app.example:8443/…"
        );
        assert_eq!(shown("not a url"), "(a link)");
    }

    #[test]
    fn a_bare_url_in_the_html_is_in_the_html_part() {
        let m = alternative(
            "Hello",
            &format!("<p>Sign in: https://app.example/magic/{TOKEN}</p>"),
        );
        let c = find_link(&m, &LinkRule::default()).expect("one link");
        assert_eq!((c.place, c.text.as_str()), (Place::HtmlPart, "Sign in"));
    }

    #[test]
    fn links_to_one_url_are_one_candidate_with_what_each_says() {
        let tracked = |path: &str| {
            format!("https://click.mailer.example/c?url=https%3A%2F%2Fapp.example%2F{path}")
        };
        // Asked for by the text of its second appearance.
        let m = alternative(
            &format!("Sign in: https://app.example/magic/{TOKEN}"),
            &format!(
                "<a href=\"{}\">Click here</a>",
                tracked(&format!("magic%2F{TOKEN}"))
            ),
        );
        let sign_in = |t: &str| t == "Sign in";
        let rule = LinkRule {
            text: Some(&sign_in),
            ..LinkRule::default()
        };
        assert_eq!(
            extract_link(&m, &rule),
            Some(format!("https://app.example/magic/{TOKEN}"))
        );
        // In the text part through its second appearance.
        let m = alternative(
            &format!("Sign in: https://app.example/magic/{TOKEN}"),
            &format!(
                "<a href=\"{}\">Sign in</a> <a href=\"https://app.example/reset/{OTHER}\">Reset</a>",
                tracked(&format!("magic%2F{TOKEN}"))
            ),
        );
        assert_eq!(
            extract_link(&m, &LinkRule::default()),
            Some(format!("https://app.example/magic/{TOKEN}"))
        );
        // Boilerplate through its second appearance.
        let m = alternative(
            &format!("Unsubscribe: https://app.example/u/{OTHER}"),
            &format!(
                "<a href=\"{}\">here</a> <a href=\"https://app.example/magic/{TOKEN}\">Sign in</a>",
                tracked(&format!("u%2F{OTHER}"))
            ),
        );
        assert_eq!(
            extract_link(&m, &LinkRule::default()),
            Some(format!("https://app.example/magic/{TOKEN}"))
        );
    }

    #[test]
    fn boilerplate_by_text_or_by_the_unwrapped_path() {
        let m = alternative(
            "Hello",
            &format!(
                "<a href=\"https://app.example/magic/{TOKEN}\">Sign in</a> \
                 <a href=\"https://click.mailer.example/c?url=https%3A%2F%2Fapp.example%2Funsubscribe%2F{OTHER}\">Click</a> \
                 <a href=\"https://app.example/p/{OTHER}\">Manage preferences</a>"
            ),
        );
        assert_eq!(
            extract_link(&m, &LinkRule::default()),
            Some(format!("https://app.example/magic/{TOKEN}"))
        );
    }

    #[test]
    fn a_url_rule_matches_the_real_or_the_tracking_url() {
        let m = alternative(
            "Hello",
            &format!(
                "<a href=\"https://click.mailer.example/c?url=https%3A%2F%2Fapp.example%2Fmagic%2F{TOKEN}\">A</a> \
                 <a href=\"https://app.example/reset/{OTHER}\">B</a>"
            ),
        );
        for pattern in ["app\\.example/magic/", "click\\.mailer\\.example"] {
            let re = Regex::new(pattern).expect("regex");
            let rule = LinkRule {
                url: Some(&re),
                ..LinkRule::default()
            };
            assert_eq!(
                extract_link(&m, &rule),
                Some(format!("https://app.example/magic/{TOKEN}")),
                "{pattern}"
            );
        }
    }

    #[test]
    fn the_targets_origin_then_a_token_narrow_the_choice() {
        let m = mail(&format!(
            "From: a@x.test\r\nSubject: s\r\n\r\nSign in: https://app.example/magic/{TOKEN}\r\nPartner: https://partner.example/offer/{OTHER}\r\n"
        ));
        let origins = vec!["https://app.example".to_owned()];
        let rule = LinkRule {
            origins: &origins,
            ..LinkRule::default()
        };
        assert_eq!(
            extract_link(&m, &rule),
            Some(format!("https://app.example/magic/{TOKEN}"))
        );
        let m = mail(&format!(
            "From: a@x.test\r\nSubject: s\r\n\r\nSign in: https://app.example/login?t={TOKEN}\r\nHelp: https://app.example/help/v2\r\n"
        ));
        assert_eq!(
            extract_link(&m, &LinkRule::default()),
            Some(format!("https://app.example/login?t={TOKEN}"))
        );
    }

    #[test]
    fn a_tracker_pointing_at_itself_is_not_unwrapped() {
        assert_eq!(
            unwrap_redirect(
                "https://click.mailer.example/c?url=https%3A%2F%2Fclick.mailer.example%2Fx",
                &[]
            ),
            None
        );
    }
}
