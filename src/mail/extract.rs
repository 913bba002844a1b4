//! One-time codes out of a parsed message, ranked, with the reason for the choice.
//!
//! Every place a code can be is searched: the subject, the text part and the HTML part
//! rendered as text. Each match is a candidate, classified by what surrounds it:
//! - *anchored*: a code word ("code", "OTP", "passcode", "Bestätigungscode", "código", …) is
//!   near and no "reference"-like word is nearer;
//! - *plain*: nothing says what it is;
//! - *passed over*: it is in a link, after `#`, part of a longer number (a date, a time, a
//!   phone number, an amount), a year, or a word like "reference", "order", "invoice" is nearer
//!   to it than any code word.
//!
//! The one anchored value wins; with none, the one plain value. Two or more distinct values in
//! the deciding class make the extraction fail with the candidates listed, masked ([`Ambiguity`]),
//! rather than guess. `near:` narrows the search to values next to the flow's phrase.
//!
//! Does not own: links (see `links.rs`) or what the step does with the value.

use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::parse::ParsedMail;

/// The default code: six digits standing alone (or written spaced: `7 7 2 2 0 4`, `772 204`).
pub const DEFAULT_OTP_PATTERN: &str = r"\b\d{6}\b";

static DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(DEFAULT_OTP_PATTERN).expect("otp regex"));
/// Six digits written one by one or in two threes, separated by spaces (or a hyphen).
static SPACED_DIGITS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:\d(?:[ \u{a0}]\d){5}|\d{3}[ \u{a0}-]\d{3})\b").expect("spaced regex")
});
static ALNUM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b").expect("alnum regex"));

/// Words that say "the code is here", in English, German, French and Spanish. German compounds
/// (`Anmeldecode`, `Bestätigungscode`) end in "code", hence `\w*code`.
static CODE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:\w*codes?|c[oó]digo|otp|passcodes?|pin|tan|one[- ]time|einmal\w*|verification|verify|vérification|verificaci[oó]n|verifizierung\w*|sign[- ]?in|log[- ]?in|anmeld\w*|connexion|inicio de sesi[oó]n|security|sicherheits\w*|sécurité|seguridad|passwor[dt]|kennwort|mot de passe|contraseña|clave)\b",
    )
    .expect("code-word regex")
});
/// "code" words that name something else: a postcode is not a sign-in code.
static NOT_A_CODE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:post|zip|bar|qr|promo|discount|coupon|voucher|gift|postal)\w*code")
        .expect("regex")
});
/// Words that say "this number is something else".
static OTHER_NUMBER_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:ref|reference|référence|referencia|referenz|order|orders|bestellung\w*|bestellnummer|commande|pedido|invoice|rechnung\w*|facture|factura|ticket|case|account|konto|compte|cuenta|customer|kunde\w*|kundennummer|client|cliente|tracking|sendung\w*|phone|tel|telefon|téléphone|tel[eé]fono|fax|call|mobile|iban|bic|amount|total|betrag|montant|importe|booking|buchung\w*|réservation|reserva|transaction|id|postcode|zip|postal|plz|code postal|c[oó]digo postal|promo|coupon|voucher)\b",
    )
    .expect("other-number regex")
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\bhttps?://[^\s<>"'`]+"#).expect("url regex"));

/// How far (in characters) a code word may be from a value and still anchor it.
const NEAR: usize = 80;

/// Where in a message a value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    TextPart,
    HtmlPart,
    Subject,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Place::Subject => "the subject",
            Place::TextPart => "the text part",
            Place::HtmlPart => "the HTML part",
        })
    }
}

/// What a code looks like.
#[derive(Debug, Clone, Default)]
pub enum OtpPattern {
    /// Six digits (the default), also written spaced.
    #[default]
    Digits,
    /// Letters and digits: `ABCD-EFGH`, `X7K9Q2`, `AB12-CD34` (groups of three or more).
    Alnum,
    /// The flow's regex: its first group, else the whole match.
    Regex(Regex),
}

/// How to look for a code.
#[derive(Debug, Clone, Default)]
pub struct OtpRule {
    pub pattern: OtpPattern,
    /// Only values next to this phrase (case-insensitive, spaces collapsed).
    pub near: Option<String>,
}

impl OtpRule {
    pub fn regex(re: Regex) -> OtpRule {
        OtpRule {
            pattern: OtpPattern::Regex(re),
            near: None,
        }
    }
}

/// A value taken from a message and where it was: the evidence a reviewer reads. `value` is a
/// secret (`Debug` hides it); `context` has it masked.
#[derive(Clone, Serialize)]
pub struct Pick {
    #[serde(skip)]
    pub value: String,
    pub place: Place,
    /// Character offset of the value in that place's text.
    pub position: usize,
    /// The words around the value, the value masked: `your sign-in code is ••••••. It is`.
    pub context: String,
}

impl fmt::Debug for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pick")
            .field("value", &"<redacted>")
            .field("place", &self.place)
            .field("position", &self.position)
            .field("context", &self.context)
            .finish()
    }
}

impl Pick {
    /// `in the text part at 42: "…code is ••••••…"`.
    pub fn describe(&self) -> String {
        format!("{} at {}: \"{}\"", self.place, self.position, self.context)
    }
}

/// Why no single value could be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ambiguity {
    /// Nothing fits; `passed_over` describes (masked) the values that were set aside and why.
    None { passed_over: Vec<String> },
    /// Several values fit equally well; each described masked.
    Several { candidates: Vec<String> },
}

/// Masks a secret value for a message: its first two characters, then one `•` per character
/// left (a six-digit code keeps 2 of its digits; two candidates can still be told apart).
pub fn mask(value: &str) -> String {
    let shown = if value.chars().count() > 4 { 2 } else { 0 };
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i < shown || c == '-' { c } else { '•' })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Anchored,
    Plain,
    PassedOver,
}

struct Found {
    value: String,
    class: Class,
    /// Distance to the nearest code word (usize::MAX: none).
    near: usize,
    /// Why it was passed over, or what anchors it ("near \"code\"").
    why: String,
    place: Place,
    position: usize,
    context: String,
}

/// The code in a message under `rule`, or why there is not exactly one.
pub fn find_otp(mail: &ParsedMail, rule: &OtpRule) -> Result<Pick, Ambiguity> {
    let near = rule.near.as_deref().map(fold);
    let mut found: Vec<Found> = Vec::new();
    for (place, text) in places(mail) {
        found.extend(candidates(text, place, &rule.pattern, near.as_deref()));
    }
    // One entry per distinct value: its best occurrence.
    found.sort_by(|a, b| {
        (a.class, a.near, a.place, a.position).cmp(&(b.class, b.near, b.place, b.position))
    });
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<Found> = found
        .into_iter()
        .filter(|f| seen.insert(f.value.clone()))
        .collect();
    for class in [Class::Anchored, Class::Plain] {
        let fits: Vec<&Found> = distinct.iter().filter(|f| f.class == class).collect();
        match fits.as_slice() {
            [] => continue,
            [one] => {
                return Ok(Pick {
                    value: one.value.clone(),
                    place: one.place,
                    position: one.position,
                    context: one.context.clone(),
                })
            }
            several => {
                return Err(Ambiguity::Several {
                    candidates: several.iter().map(|f| describe(f)).collect(),
                })
            }
        }
    }
    Err(Ambiguity::None {
        passed_over: distinct.iter().map(describe).collect(),
    })
}

/// Every distinct value `rule` matches in the message, whatever its rank.
pub fn otp_candidates(mail: &ParsedMail, rule: &OtpRule) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (_, text) in places(mail) {
        for m in matches(text, &rule.pattern) {
            if seen.insert(m.value.clone()) {
                out.push(m.value);
            }
        }
    }
    out
}

/// The one code `pattern` finds (`None`: the default six digits), or `None` when there is not
/// exactly one plausible value. A shorthand of [`find_otp`] for tests and tools.
pub fn extract_otp(mail: &ParsedMail, pattern: Option<&Regex>) -> Option<String> {
    let rule = pattern.map_or_else(OtpRule::default, |re| OtpRule::regex(re.clone()));
    find_otp(mail, &rule).ok().map(|p| p.value)
}

fn describe(f: &Found) -> String {
    let masked = mask(&f.value);
    match f.place {
        Place::Subject if f.class != Class::PassedOver => format!("{masked} in the subject"),
        _ if f.why.is_empty() => format!("{masked} in {}", f.place),
        _ => format!("{masked} {} ({})", f.why, f.place),
    }
}

/// The texts searched, each with its place. An HTML-only message's text is its HTML rendering.
fn places(mail: &ParsedMail) -> Vec<(Place, &str)> {
    let mut out = vec![(Place::Subject, mail.subject.as_str())];
    if !mail.text_from_html {
        out.push((Place::TextPart, mail.text.as_str()));
    }
    if let Some(h) = &mail.html_text {
        out.push((Place::HtmlPart, h.as_str()));
    }
    out
}

/// One match: the value's range and the whole match's range (a regex's context counts).
struct Match {
    value: String,
    at: Range<usize>,
    whole: Range<usize>,
}

fn matches(hay: &str, pattern: &OtpPattern) -> Vec<Match> {
    let mut out: Vec<Match> = Vec::new();
    match pattern {
        OtpPattern::Digits => {
            for m in DIGITS.find_iter(hay).chain(SPACED_DIGITS.find_iter(hay)) {
                let value: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
                out.push(Match {
                    value,
                    at: m.range(),
                    whole: m.range(),
                });
            }
        }
        OtpPattern::Alnum => {
            for m in ALNUM.find_iter(hay) {
                if looks_alnum_code(m.as_str()) {
                    out.push(Match {
                        value: m.as_str().to_owned(),
                        at: m.range(),
                        whole: m.range(),
                    });
                }
            }
        }
        OtpPattern::Regex(re) => {
            for c in re.captures_iter(hay) {
                let (Some(whole), Some(m)) = (c.get(0), c.get(1).or_else(|| c.get(0))) else {
                    continue;
                };
                let value = m.as_str().trim();
                if !value.is_empty() {
                    out.push(Match {
                        value: value.to_owned(),
                        at: m.range(),
                        whole: whole.range(),
                    });
                }
            }
        }
    }
    out
}

/// An alphanumeric code, not a word: 6 to 16 letters and digits in groups of three or more,
/// with letters and digits mixed, or capitals in two or more groups (`ABCD-EFGH`), or six to
/// eight digits.
fn looks_alnum_code(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let core: String = groups.concat();
    let n = core.chars().count();
    if !(6..=16).contains(&n) || groups.iter().any(|g| g.len() < 3) {
        return false;
    }
    let digits = core.chars().filter(char::is_ascii_digit).count();
    let upper = core.chars().filter(char::is_ascii_uppercase).count();
    let letters = n - digits;
    match (digits, letters) {
        (d, 0) => (6..=8).contains(&d) && groups.len() == 1,
        (0, _) => upper == letters && groups.len() >= 2,
        // Mixed: all capitals, or lower case with digits (`x7k9q2`), not `Abc123` words.
        _ => upper == letters || upper == 0,
    }
}

fn candidates<'a>(
    hay: &'a str,
    place: Place,
    pattern: &OtpPattern,
    near: Option<&str>,
) -> Vec<Found> {
    let urls: Vec<Range<usize>> = URL.find_iter(hay).map(|m| m.range()).collect();
    let code_words: Vec<(Range<usize>, &'a str)> = CODE_WORD
        .find_iter(hay)
        .filter(|m| !NOT_A_CODE_WORD.is_match(m.as_str()))
        .map(|m| (m.range(), m.as_str()))
        .collect();
    let other_words: Vec<(Range<usize>, &'a str)> = OTHER_NUMBER_WORD
        .find_iter(hay)
        .map(|m| (m.range(), m.as_str()))
        .collect();
    let anchors: Vec<Range<usize>> = near
        .map(|phrase| find_folded(hay, phrase))
        .unwrap_or_default();
    let mut all = matches(hay, pattern);
    // In text order, so that positions are counted in one pass (a newsletter has thousands).
    all.sort_by_key(|m| m.at.start);
    // With `near:`, each occurrence of the phrase anchors only the value closest to it; values
    // equally close are all anchored, so the step lists them as ambiguous rather than as "not near".
    let closest: Vec<usize> = anchors
        .iter()
        .map(|a| {
            all.iter()
                .map(|m| distance(hay, a, &m.whole))
                .min()
                .unwrap_or(usize::MAX)
        })
        .collect();
    let anchored: Vec<bool> = all
        .iter()
        .map(|m| {
            anchors.iter().zip(&closest).any(|(a, &c)| {
                let d = distance(hay, a, &m.whole);
                d <= NEAR && d <= c
            })
        })
        .collect();
    let mut out = Vec::new();
    let (mut counted_to, mut chars_before) = (0usize, 0usize);
    for (m, anchored) in all.into_iter().zip(anchored) {
        chars_before += hay[counted_to..m.at.start].chars().count();
        counted_to = m.at.start;
        let nearest = |words: &[(Range<usize>, &'a str)]| -> Option<(usize, &'a str)> {
            words
                .iter()
                .map(|(r, w)| (distance(hay, r, &m.whole), *w))
                .min_by_key(|(d, _)| *d)
        };
        let code = nearest(&code_words).filter(|(d, _)| *d <= NEAR);
        let other = nearest(&other_words).filter(|(d, _)| *d <= NEAR);
        let shape = shape_problem(hay, &m, &urls);
        let (class, why) = if let Some(problem) = shape {
            (Class::PassedOver, problem)
        } else if let Some(phrase) = near {
            if anchored {
                (Class::Anchored, format!("near {phrase:?}"))
            } else {
                (Class::PassedOver, format!("not near {phrase:?}"))
            }
        } else {
            match (code, other) {
                (_, Some((od, ow))) if code.is_none_or(|(cd, _)| od < cd) => {
                    (Class::PassedOver, format!("near {:?}", capitalised(ow)))
                }
                (Some((_, cw)), _) => (Class::Anchored, format!("near {cw:?}")),
                (None, _) => (Class::Plain, String::new()),
            }
        };
        out.push(Found {
            value: m.value.clone(),
            class,
            near: code.map_or(usize::MAX, |(d, _)| d),
            why,
            place,
            position: chars_before,
            context: context(hay, &m.at),
        });
    }
    out
}

fn capitalised(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Why a match is not a code by its shape, if it is not.
fn shape_problem(hay: &str, m: &Match, urls: &[Range<usize>]) -> Option<String> {
    if urls
        .iter()
        .any(|u| u.start <= m.at.start && m.at.end <= u.end)
    {
        return Some("in a link".into());
    }
    let before = &hay[..m.at.start];
    let after = &hay[m.at.end..];
    if before.ends_with('#') || before.ends_with("# ") || before.ends_with("No. ") {
        return Some("after \"#\" (a reference)".into());
    }
    // A digit group right next to it (one separator between): a date, time, phone number,
    // IP address, amount or version.
    let mut b = before.chars().rev();
    let mut a = after.chars();
    let joined = |sep: Option<char>, next: Option<char>| {
        matches!(sep, Some(' ' | '-' | '.' | '/' | ':' | ',' | '\u{a0}'))
            && next.is_some_and(|c| c.is_ascii_digit())
    };
    let (b1, b2) = (b.next(), b.next());
    let (a1, a2) = (a.next(), a.next());
    let digit_start = m.value.starts_with(|c: char| c.is_ascii_digit());
    let digit_end = m.value.ends_with(|c: char| c.is_ascii_digit());
    if (digit_start && joined(b1, b2)) || (digit_end && joined(a1, a2)) {
        return Some("part of a longer number (a date, time or phone number?)".into());
    }
    if digit_start && matches!(b1, Some('+' | '(' | '$' | '€' | '£' | '¥')) {
        return Some("a phone number or an amount".into());
    }
    if m.value.len() == 4
        && (m.value.starts_with("19") || m.value.starts_with("20"))
        && m.value.chars().all(|c| c.is_ascii_digit())
    {
        return Some("a year".into());
    }
    None
}

/// Characters between a word `w` and a value `v`; a word after the value counts double ("code:
/// 482913" is more common than "482913 is your code"). Counted up to just past [`NEAR`]: a
/// farther word is only ever "not near" (so a long message costs no more per pair).
fn distance(hay: &str, w: &Range<usize>, v: &Range<usize>) -> usize {
    let chars = |r: Range<usize>| hay.get(r).map_or(0, |s| s.chars().take(NEAR + 1).count());
    if w.end <= v.start {
        chars(w.end..v.start)
    } else if v.end <= w.start {
        chars(v.end..w.start).saturating_mul(2)
    } else {
        0
    }
}

/// Ranges of `phrase` (already folded) in `hay`, compared case-insensitively with spaces
/// collapsed.
fn find_folded(hay: &str, phrase: &str) -> Vec<Range<usize>> {
    if phrase.is_empty() {
        return Vec::new();
    }
    let words: Vec<String> = phrase.split(' ').map(regex::escape).collect();
    let pattern = format!("(?i){}", words.join(r"\s+"));
    Regex::new(&pattern)
        .map(|re| re.find_iter(hay).map(|m| m.range()).collect())
        .unwrap_or_default()
}

/// Lower case, whitespace runs as one space.
pub(crate) fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Up to six words either side of `at`, the value itself masked.
fn context(hay: &str, at: &Range<usize>) -> String {
    const WORDS: usize = 6;
    let head = &hay[..at.start];
    let tail = &hay[at.end..];
    // Only the words shown are visited: from the value outwards (a long message costs no more).
    let mut before: Vec<&str> = head.split_whitespace().rev().take(WORDS + 1).collect();
    let more_before = before.len() > WORDS;
    before.truncate(WORDS);
    before.reverse();
    let after: Vec<&str> = tail.split_whitespace().take(WORDS + 1).collect();
    let mut s = String::new();
    if more_before {
        s.push('…');
    }
    s.push_str(&before.join(" "));
    if !before.is_empty() && head.ends_with(char::is_whitespace) {
        s.push(' ');
    }
    s.extend(
        hay[at.clone()]
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|_| '•'),
    );
    if !after.is_empty() && tail.starts_with(char::is_whitespace) {
        s.push(' ');
    }
    s.push_str(&after[..after.len().min(WORDS)].join(" "));
    if after.len() > WORDS {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse_message;

    fn mail_with(subject: &str, body: &str) -> ParsedMail {
        let raw = format!("From: a@x.test\r\nSubject: {subject}\r\n\r\n{body}\r\n");
        parse_message(raw.as_bytes()).expect("parses")
    }

    fn mail(body: &str) -> ParsedMail {
        mail_with("Hello", body)
    }

    fn otp(m: &ParsedMail) -> Result<String, Ambiguity> {
        find_otp(m, &OtpRule::default()).map(|p| p.value)
    }

    #[test]
    fn prefers_the_number_near_code() {
        let m = mail("Ticket #100123 was updated on 2026-05-31.\r\nOrder 777777 shipped.\r\n\r\nYour sign-in code: 482913");
        assert_eq!(otp(&m).as_deref(), Ok("482913"));
    }

    #[test]
    fn takes_a_lone_number_and_skips_urls_and_longer_runs() {
        let m = mail("See https://x.test/t/123456 and 12345678, then 654321.");
        assert_eq!(otp(&m).as_deref(), Ok("654321"));
        assert!(matches!(
            otp(&mail("nothing here 12345")),
            Err(Ambiguity::None { .. })
        ));
        assert_eq!(extract_otp(&mail("Ticket #100123 was updated"), None), None);
    }

    #[test]
    fn a_code_in_the_subject_beats_a_reference_in_the_body() {
        let m = mail_with(
            "772204 is your sign-in code",
            "Hello,\r\n\r\nReference 000001\r\n",
        );
        let pick = find_otp(&m, &OtpRule::default()).expect("one code");
        assert_eq!(pick.value, "772204");
        assert_eq!(pick.place, Place::Subject);
        assert_eq!(pick.context, "•••••• is your sign-in code");
    }

    #[test]
    fn two_plausible_codes_fail_listing_both_masked() {
        let m = mail("Your sign-in code is 482913.\r\nYour recovery code is 771204.\r\n");
        let err = otp(&m).expect_err("ambiguous");
        assert_eq!(
            err,
            Ambiguity::Several {
                candidates: vec![
                    "48•••• near \"code\" (the text part)".into(),
                    "77•••• near \"code\" (the text part)".into()
                ]
            }
        );
        let near = OtpRule {
            near: Some("sign-in  CODE".into()),
            ..OtpRule::default()
        };
        assert_eq!(
            find_otp(&m, &near).map(|p| p.value).as_deref(),
            Ok("482913")
        );
    }

    #[test]
    fn dates_times_phones_amounts_and_references_are_passed_over() {
        let m = mail("On 31.05.2026 10:00 we sent 123456-7 to +49 301234 56, costing $123456.\r\nInvoice 998877.");
        let err = otp(&m).expect_err("nothing fits");
        let Ambiguity::None { passed_over } = err else {
            panic!("{err:?}")
        };
        assert_eq!(passed_over.len(), 3, "{passed_over:?}");
        assert!(passed_over.iter().any(|p| p.contains("near \"Invoice\"")));
    }

    #[test]
    fn spaced_digits_and_languages() {
        assert_eq!(
            otp(&mail("Your code:\r\n7 7 2 2 0 4\r\n")).as_deref(),
            Ok("772204")
        );
        assert_eq!(otp(&mail("Code: 772 204")).as_deref(), Ok("772204"));
        let de = mail("Bestellung 123456 ist unterwegs. Ihr Bestätigungscode lautet 654321.");
        assert_eq!(otp(&de).as_deref(), Ok("654321"));
        let es = mail("Pedido 123456. Tu código de verificación es 246810.");
        assert_eq!(otp(&es).as_deref(), Ok("246810"));
        let fr = mail("Commande 123456. Votre code de vérification : 135790");
        assert_eq!(otp(&fr).as_deref(), Ok("135790"));
    }

    #[test]
    fn alnum_codes_and_regexes() {
        let m = mail("Your code is ABCD-EFGH (valid 10 MINUTES). SIGN-IN now. Ref AB12CD.");
        let alnum = OtpRule {
            pattern: OtpPattern::Alnum,
            near: None,
        };
        assert_eq!(
            find_otp(&m, &alnum).map(|p| p.value).as_deref(),
            Ok("ABCD-EFGH")
        );
        let re = Regex::new(r"code is ([A-Z]{4}-[A-Z]{4})").expect("regex");
        assert_eq!(extract_otp(&m, Some(&re)).as_deref(), Some("ABCD-EFGH"));
        assert!(!looks_alnum_code("MINUTES"));
        assert!(looks_alnum_code("X7K9Q2"));
        assert!(!looks_alnum_code("Abc123"));
    }

    #[test]
    fn masks_keep_two_characters() {
        assert_eq!(mask("772204"), "77••••");
        assert_eq!(mask("ABCD-EFGH"), "AB••-••••");
        assert_eq!(mask("1234"), "••••");
    }

    #[test]
    fn a_pick_describes_itself_masked_and_debug_hides_its_value() {
        let m = mail("Your sign-in code is 482913, valid ten minutes.");
        let pick = find_otp(&m, &OtpRule::default()).expect("one code");
        assert_eq!(
            pick.describe(),
            "the text part at 21: \"Your sign-in code is ••••••, valid ten minutes.\""
        );
        assert_eq!(
            format!("{pick:?}"),
            "Pick { value: \"<redacted>\", place: TextPart, position: 21, context: \"Your sign-in code is ••••••, valid ten minutes.\" }"
        );
    }

    #[test]
    fn candidates_are_every_distinct_value_whatever_its_rank() {
        let m = mail_with(
            "Code 111111",
            "Ticket 222222, code 111111, https://x.test/333333",
        );
        assert_eq!(
            otp_candidates(&m, &OtpRule::default()),
            vec!["111111", "222222", "333333"]
        );
    }

    #[test]
    fn ambiguities_describe_each_value_by_class_and_place() {
        // Plain values: where they are, no reason.
        assert_eq!(
            otp(&mail("Values 123456 and 654321.")),
            Err(Ambiguity::Several {
                candidates: vec![
                    "12•••• in the text part".into(),
                    "65•••• in the text part".into()
                ]
            })
        );
        // Anchored in the subject: the subject says it all.
        assert_eq!(
            otp(&mail_with("Code 482913 or code 771204", "Hello")),
            Err(Ambiguity::Several {
                candidates: vec![
                    "48•••• in the subject".into(),
                    "77•••• in the subject".into()
                ]
            })
        );
        // Passed over in the subject: why.
        assert_eq!(
            otp(&mail_with("Order 123456 confirmed", "Hello")),
            Err(Ambiguity::None {
                passed_over: vec!["12•••• near \"Order\" (the subject)".into()]
            })
        );
    }

    #[test]
    fn values_equally_near_the_phrase_are_ambiguous_not_passed_over() {
        let near = OtpRule {
            near: Some("code".into()),
            ..OtpRule::default()
        };
        assert_eq!(
            find_otp(&mail("482913 code  771204"), &near).map(|p| p.value),
            Err(Ambiguity::Several {
                candidates: vec![
                    "48•••• near \"code\" (the text part)".into(),
                    "77•••• near \"code\" (the text part)".into()
                ]
            })
        );
    }

    #[test]
    fn a_number_joined_to_another_on_either_side_is_part_of_a_longer_one() {
        let longer = "part of a longer number (a date, time or phone number?) (the text part)";
        for body in ["We sent 123456-7 today.", "Serial 7-123456 today."] {
            assert_eq!(
                otp(&mail(body)),
                Err(Ambiguity::None {
                    passed_over: vec![format!("12•••• {longer}")]
                }),
                "{body}"
            );
        }
    }

    #[test]
    fn a_code_word_as_near_as_a_reference_word_anchors() {
        assert_eq!(otp(&mail("Order: 482913 code")).as_deref(), Ok("482913"));
    }

    #[test]
    fn a_postcode_is_not_a_code_word() {
        assert_eq!(
            otp(&mail("Your postcode: 123456")),
            Err(Ambiguity::None {
                passed_over: vec!["12•••• near \"Postcode\" (the text part)".into()]
            })
        );
    }

    #[test]
    fn an_html_only_message_is_searched_once_as_the_html_part() {
        let m = parse_message(
            b"From: a@x.test\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n<p>Your code is <b>482913</b></p>\r\n",
        )
        .expect("parses");
        assert!(m.text_from_html);
        let pick = find_otp(&m, &OtpRule::default()).expect("one code");
        assert_eq!(
            (pick.value.as_str(), pick.place),
            ("482913", Place::HtmlPart)
        );
    }

    #[test]
    fn values_after_a_hash_or_no_are_references() {
        assert_eq!(
            otp(&mail(
                "Use 482913 to sign in, not #771204, # 556677 or No. 334455."
            ))
            .as_deref(),
            Ok("482913")
        );
    }

    #[test]
    fn a_regex_skips_empty_groups_and_years() {
        let re = Regex::new(r"(\d*)x").expect("regex");
        assert_eq!(
            extract_otp(&mail("x then 482913x"), Some(&re)).as_deref(),
            Some("482913")
        );
        let four = Regex::new(r"\b(\d{4})\b").expect("regex");
        assert_eq!(
            extract_otp(&mail("In 2026 your PIN is 4821."), Some(&four)).as_deref(),
            Some("4821")
        );
        assert_eq!(
            extract_otp(&mail("Since 1999 your PIN is 2000."), Some(&four)),
            None
        );
    }

    #[test]
    fn what_looks_like_an_alnum_code() {
        for code in [
            "AB1234",
            "ABCDEFGH12345678",
            "ABC-D12",
            "12345678",
            "x7k9q2",
            "ABC-DEF",
        ] {
            assert!(looks_alnum_code(code), "{code}");
        }
        for word in [
            "AB123",
            "ABCDEFGH123456789",
            "AB-CD12-EF34",
            "123456789",
            "123-456",
            "ABCDEF",
            "Abc-Def",
        ] {
            assert!(!looks_alnum_code(word), "{word}");
        }
    }

    #[test]
    fn context_keeps_six_words_either_side() {
        let hay = "a b c d e f g 482913 h i j k l m";
        assert_eq!(context(hay, &(14..20)), "…b c d e f g •••••• h i j k l m");
        assert_eq!(
            context("482913 h i j k l m n", &(0..6)),
            "•••••• h i j k l m…"
        );
        assert_eq!(context(" 482913 ", &(1..7)), "••••••");
        assert_eq!(context("Code: 772 204", &(6..13)), "Code: ••••••");
    }
}
