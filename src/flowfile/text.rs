//! Text patterns: how `name`, `text`, `label`, `placeholder`, `has_text`, `title`, mail subjects
//! and the like match text.
//!
//! A plain value matches case-insensitively as a substring; with `exact: true` it must equal
//! the text (case-sensitively); a value written `/…/flags` (flags among `i`, `m`, `s`, `u`) is a
//! regular expression. Both sides are normalized first: whitespace collapsed and trimmed,
//! icon-font glyphs (Unicode private-use characters) dropped — except for `exact: true`, which
//! compares the text as the browser computes it, glyphs kept. The browser side receives the
//! same pattern as JSON (`to_js`) and applies the same rules. An `http` body is matched as
//! received (`parse_raw` / `matches_raw`).

use std::fmt;

use regex::Regex;

/// A way to match a piece of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextPattern {
    /// Case-insensitive substring of the normalized text (stored normalized, as written).
    Substring(String),
    /// Equality with the text as the browser computes it (whitespace collapsed and trimmed,
    /// icon-font glyphs kept), case-sensitive (stored so).
    Exact(String),
    /// A regular expression (JavaScript-compatible subset) with its flags.
    Regex { source: String, flags: String },
}

/// A regex that does not compile, with where in its source the problem is (when known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RegexError {
    /// A lowercase fragment, e.g. "unclosed group".
    pub message: String,
    /// Byte offset of the problem in the regex source.
    pub offset: Option<usize>,
    /// Length in bytes of the problem (at least 1).
    pub len: usize,
}

/// The regex flags a `/…/flags` literal may carry.
pub const REGEX_FLAGS: &str = "imsu";

impl TextPattern {
    /// Reads a pattern as written in a flow file. `exact` is the locator's `exact: true` (it has
    /// no effect on a regex).
    pub fn parse(s: &str, exact: bool) -> Result<TextPattern, String> {
        match split_regex_literal(s) {
            RegexLiteral::Regex { source, flags } => {
                compile_regex(source, flags).map_err(|e| format!("invalid regex `{s}`: {e}"))?;
                Ok(TextPattern::Regex {
                    source: source.to_string(),
                    flags: flags.to_string(),
                })
            }
            RegexLiteral::BadFlag { flag } => Err(format!(
                "unsupported regex flag `{flag}` in `{s}`; flags are i, m, s and u"
            )),
            RegexLiteral::Empty => Err("empty regex `//`".to_string()),
            RegexLiteral::NotRegex if exact => Ok(TextPattern::Exact(collapse_whitespace(s))),
            RegexLiteral::NotRegex => Ok(TextPattern::Substring(normalize(s))),
        }
    }

    /// The pattern of a value written with `{{ variables }}`, once rendered. Whether it is a
    /// regex is decided by the text as written, never by a variable's value: a URL or a name
    /// taken from a variable is literal text (its dots match dots), and in `/…{{ x }}…/` the
    /// value is inserted into the regex as it is (`{{ x | regex }}` escapes it).
    pub fn from_rendered(
        written: &str,
        rendered: &str,
        exact: bool,
    ) -> Result<TextPattern, String> {
        match split_regex_literal(written) {
            RegexLiteral::Regex { flags, .. } => {
                let source = rendered
                    .strip_prefix('/')
                    .and_then(|r| r.strip_suffix(flags))
                    .and_then(|r| r.strip_suffix('/'));
                match source {
                    Some(source) if !source.is_empty() => {
                        compile_regex(source, flags)
                            .map_err(|e| format!("invalid regex `{rendered}`: {e}"))?;
                        Ok(TextPattern::Regex {
                            source: source.to_string(),
                            flags: flags.to_string(),
                        })
                    }
                    _ => TextPattern::parse(rendered, exact),
                }
            }
            RegexLiteral::BadFlag { .. } | RegexLiteral::Empty => {
                TextPattern::parse(written, exact)
            }
            RegexLiteral::NotRegex if exact => {
                Ok(TextPattern::Exact(collapse_whitespace(rendered)))
            }
            RegexLiteral::NotRegex => Ok(TextPattern::Substring(normalize(rendered))),
        }
    }

    /// Reads a pattern that is matched against text as received (`matches_raw`): a regex as
    /// in `parse`, anything else kept exactly as written.
    pub fn parse_raw(s: &str) -> Result<TextPattern, String> {
        match split_regex_literal(s) {
            RegexLiteral::NotRegex => Ok(TextPattern::Substring(s.to_owned())),
            _ => TextPattern::parse(s, false),
        }
    }

    /// [`Self::parse_raw`] for a value written with `{{ variables }}`: as in
    /// [`Self::from_rendered`], only the text as written can make it a regex.
    pub fn from_rendered_raw(written: &str, rendered: &str) -> Result<TextPattern, String> {
        match split_regex_literal(written) {
            RegexLiteral::NotRegex => Ok(TextPattern::Substring(rendered.to_owned())),
            _ => TextPattern::from_rendered(written, rendered, false),
        }
    }

    /// Whether `text` (normalized first) matches.
    pub fn matches(&self, text: &str) -> bool {
        if let TextPattern::Exact(p) = self {
            return collapse_whitespace(text) == *p;
        }
        let text = normalize(text);
        match self {
            TextPattern::Substring(p) => text.to_lowercase().contains(&p.to_lowercase()),
            TextPattern::Exact(p) => text == *p,
            TextPattern::Regex { source, flags } => compile_regex(source, flags)
                .map(|re| re.is_match(&text))
                .unwrap_or(false),
        }
    }

    /// Whether text as received matches, with nothing normalized (whitespace, line endings and
    /// glyphs kept, nothing trimmed): a regex sees the exact text (`^`/`$` at its very start
    /// and end), a plain value is a case-insensitive substring of it, an exact one the whole.
    pub fn matches_raw(&self, text: &str) -> bool {
        match self {
            TextPattern::Substring(p) => text.to_lowercase().contains(&p.to_lowercase()),
            TextPattern::Exact(p) => text == p,
            TextPattern::Regex { source, flags } => compile_regex(source, flags)
                .map(|re| re.is_match(text))
                .unwrap_or(false),
        }
    }

    /// The compiled regex, for a `Regex` pattern.
    pub fn to_regex(&self) -> Option<Result<Regex, RegexError>> {
        match self {
            TextPattern::Regex { source, flags } => Some(compile_regex(source, flags)),
            _ => None,
        }
    }

    /// The pattern as the in-page script takes it.
    pub fn to_js(&self) -> serde_json::Value {
        match self {
            TextPattern::Substring(v) => serde_json::json!({ "kind": "substring", "value": v }),
            TextPattern::Exact(v) => serde_json::json!({ "kind": "exact", "value": v }),
            TextPattern::Regex { source, flags } => {
                serde_json::json!({ "kind": "regex", "source": source, "flags": flags })
            }
        }
    }
}

impl fmt::Display for TextPattern {
    /// `~"send code"` (substring, shown lowercase), `="Send code"` (exact), `/x/i` (regex).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextPattern::Substring(v) => write!(f, "~{:?}", v.to_lowercase()),
            TextPattern::Exact(v) => write!(f, "={v:?}"),
            TextPattern::Regex { source, flags } => write!(f, "/{source}/{flags}"),
        }
    }
}

/// How a value reads as a regex literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexLiteral<'a> {
    /// `/source/flags` with valid flags.
    Regex { source: &'a str, flags: &'a str },
    /// Looks like `/…/g`: a regex with a flag we do not support (JavaScript's g, y, d, v).
    BadFlag { flag: char },
    /// `//`.
    Empty,
    /// Not a regex: plain text (a path such as `/login` is plain text).
    NotRegex,
}

/// Splits `/source/flags`. A value is a regex when it starts with `/`, has another `/` later,
/// and everything after the last `/` is flags among `imsu`.
pub fn split_regex_literal(s: &str) -> RegexLiteral<'_> {
    let Some(body) = s.strip_prefix('/') else {
        return RegexLiteral::NotRegex;
    };
    let Some(last) = body.rfind('/') else {
        return RegexLiteral::NotRegex;
    };
    let (source, flags) = (&body[..last], &body[last + 1..]);
    if flags.chars().all(|c| REGEX_FLAGS.contains(c)) && !has_repeat(flags) {
        if source.is_empty() {
            return RegexLiteral::Empty;
        }
        return RegexLiteral::Regex { source, flags };
    }
    // JavaScript-only flags, alone or mixed with ours: surely meant as a regex.
    if !flags.is_empty()
        && flags.len() <= 4
        && flags.chars().all(|c| "gimsuydv".contains(c))
        && !has_repeat(flags)
        && !source.is_empty()
    {
        if let Some(flag) = flags.chars().find(|c| !REGEX_FLAGS.contains(*c)) {
            return RegexLiteral::BadFlag { flag };
        }
    }
    RegexLiteral::NotRegex
}

fn has_repeat(flags: &str) -> bool {
    let mut seen = String::new();
    for c in flags.chars() {
        if seen.contains(c) {
            return true;
        }
        seen.push(c);
    }
    false
}

/// Compiles `source` with JavaScript-style `flags` (i: case-insensitive, m: multi-line,
/// s: dot matches newline, u: unicode, which is always on here).
pub fn compile_regex(source: &str, flags: &str) -> Result<Regex, RegexError> {
    let mut parser = regex_syntax::ParserBuilder::new();
    parser
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'));
    if let Err(e) = parser.build().parse(source) {
        let (message, span) = match &e {
            regex_syntax::Error::Parse(e) => (e.kind().to_string(), *e.span()),
            regex_syntax::Error::Translate(e) => (e.kind().to_string(), *e.span()),
            other => (
                other.to_string(),
                regex_syntax::ast::Span::splat(regex_syntax::ast::Position::new(0, 1, 1)),
            ),
        };
        let offset = span.start.offset.min(source.len());
        let len = span.end.offset.saturating_sub(span.start.offset).max(1);
        return Err(RegexError {
            message: first_line_lower(&message),
            offset: Some(offset),
            len,
        });
    }
    regex::RegexBuilder::new(source)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .build()
        .map_err(|e| RegexError {
            message: match e {
                regex::Error::CompiledTooBig(_) => "regex is too big once compiled".to_string(),
                other => first_line_lower(&other.to_string()),
            },
            offset: None,
            len: 1,
        })
}

fn first_line_lower(s: &str) -> String {
    let line = s.lines().next().unwrap_or(s).trim();
    let mut chars = line.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && chars.next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(line.chars().skip(1)).collect()
        }
        _ => line.to_string(),
    }
}

/// Whether `c` is a Unicode private-use character (icon-font glyphs live there).
pub fn is_private_use(c: char) -> bool {
    matches!(c as u32, 0xE000..=0xF8FF | 0xF_0000..=0xF_FFFD | 0x10_0000..=0x10_FFFD)
}

/// Drops private-use characters, collapses whitespace runs to one space, trims.
/// Whitespace collapsed and trimmed, everything else kept: text as a browser computes an
/// accessible name (which `exact: true` compares).
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if is_private_use(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> TextPattern {
        TextPattern::parse(s, false).unwrap()
    }

    #[test]
    fn plain_is_a_case_insensitive_substring() {
        let pat = p("Send  code");
        assert_eq!(pat, TextPattern::Substring("Send code".into()));
        assert!(pat.matches("  \u{e0b0} SEND\n code now"));
        assert!(!pat.matches("Send the code"));
        assert_eq!(pat.to_string(), "~\"send code\"");
    }

    #[test]
    fn exact_is_equality_with_whitespace_collapsed() {
        let pat = TextPattern::parse("Send code", true).unwrap();
        assert!(pat.matches("  Send\tcode "));
        assert!(!pat.matches("\u{f101}  Send\tcode "));
        assert!(!pat.matches("send code"));
        assert!(!pat.matches("Send code now"));
        assert_eq!(pat.to_string(), "=\"Send code\"");
    }

    #[test]
    fn regex_literals() {
        let pat = p("/closed|resolved/i");
        assert_eq!(
            pat,
            TextPattern::Regex {
                source: "closed|resolved".into(),
                flags: "i".into()
            }
        );
        assert!(pat.matches("Status: RESOLVED"));
        assert!(!pat.matches("open"));
        assert_eq!(pat.to_string(), "/closed|resolved/i");
        assert_eq!(
            pat.to_js(),
            serde_json::json!({"kind": "regex", "source": "closed|resolved", "flags": "i"})
        );
        assert!(p(r"/\/tickets\/\d+$/").matches("/tickets/42"));
        assert!(TextPattern::parse("/^a$/", true).unwrap().matches(" a "));
        assert!(p("/a.b/s").matches("a b"));
    }

    #[test]
    fn paths_are_not_regexes() {
        assert_eq!(p("/login"), TextPattern::Substring("/login".into()));
        assert_eq!(
            p("/tickets/new"),
            TextPattern::Substring("/tickets/new".into())
        );
        assert_eq!(p("/"), TextPattern::Substring("/".into()));
        assert_eq!(
            split_regex_literal("/d/ms"),
            RegexLiteral::Regex {
                source: "d",
                flags: "ms"
            }
        );
    }

    #[test]
    fn bad_regexes_and_flags() {
        let e = TextPattern::parse("/(open/i", false).unwrap_err();
        assert_eq!(e, "invalid regex `/(open/i`: unclosed group");
        let e = TextPattern::parse("/open/g", false).unwrap_err();
        assert!(e.contains("unsupported regex flag `g`"), "{e}");
        assert!(TextPattern::parse("//", false).is_err());
        let e = compile_regex("ab[c", "").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (Some(2), "unclosed character class")
        );
        let e = compile_regex("a(?=b)", "").unwrap_err();
        assert!(e.message.contains("look-around"), "{}", e.message);
        assert!(compile_regex(r"\p{Greekk}", "").is_err());
    }

    #[test]
    fn variables_are_literal_unless_written_inside_a_regex() {
        // A URL from a variable: its dots are dots, and slashes do not make it a regex.
        let pat = TextPattern::from_rendered("{{ link }}", "/a.b/", true).unwrap();
        assert_eq!(pat, TextPattern::Exact("/a.b/".into()));
        let pat = TextPattern::from_rendered("{{ link }}", "/a.b/", false).unwrap();
        assert!(!pat.matches("/axb/"));
        // Written as a regex: the value goes in as it is, the flags come from the text.
        let pat = TextPattern::from_rendered("/^{{ x }}$/i", "/^A.B$/i", false).unwrap();
        assert_eq!(
            pat,
            TextPattern::Regex {
                source: "^A.B$".into(),
                flags: "i".into()
            }
        );
        assert!(pat.matches("axb"));
        let e = TextPattern::from_rendered("/{{ x }}/", "/(/", false).unwrap_err();
        assert!(e.contains("unclosed group"), "{e}");
    }

    #[test]
    fn js_shape() {
        assert_eq!(
            p("Save").to_js(),
            serde_json::json!({"kind": "substring", "value": "Save"})
        );
        assert_eq!(
            TextPattern::parse("Save", true).unwrap().to_js(),
            serde_json::json!({"kind": "exact", "value": "Save"})
        );
    }

    #[test]
    fn exact_keeps_glyphs_and_raw_keeps_everything() {
        let exact = TextPattern::parse("Save", true).expect("pattern");
        assert!(exact.matches("  Save \n"));
        assert!(
            !exact.matches("\u{e900} Save"),
            "the browser's name keeps the glyph"
        );
        assert!(TextPattern::parse("\u{e900} Save", true)
            .expect("pattern")
            .matches("\u{e900}  Save"));
        assert!(TextPattern::parse("Save", false)
            .expect("pattern")
            .matches("\u{e900} Save"));
        let body = TextPattern::parse_raw("/^a\\r\\nb\\r\\n$/").expect("regex");
        assert!(body.matches_raw("a\r\nb\r\n"));
        assert!(
            !body.matches("a\r\nb\r\n"),
            "normalized, the line ends are gone"
        );
        let plain = TextPattern::parse_raw("a  b").expect("plain");
        assert!(plain.matches_raw("xA  By"));
        assert!(!plain.matches_raw("a b"));
    }

    #[test]
    fn a_variable_that_looks_like_a_regex_stays_text_in_raw_matching() {
        let p = TextPattern::from_rendered_raw("{{ body }}", "/a.c/").expect("pattern");
        assert!(p.matches_raw("x /a.c/ y"));
        assert!(!p.matches_raw("abc"));
        let p = TextPattern::from_rendered_raw("/^a\\r\\nb/", "/^a\\r\\nb/").expect("regex");
        assert!(p.matches_raw("a\r\nb\r\n"));
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize("  a \u{a0}\n b\u{e001}c \u{10_0001}"), "a bc");
        assert_eq!(normalize("\u{e001}"), "");
        assert!(is_private_use('\u{f8ff}'));
        assert!(is_private_use('\u{f0000}'));
        assert!(!is_private_use('a'));
    }
}
