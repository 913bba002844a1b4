//! String values of steps: template syntax first, then (when the value holds no template) the
//! syntax of what it is read as: a text pattern, a URL pattern, a regular expression.

use crate::flowfile::check::facts::StrUse;
use crate::flowfile::span::{Loc, Sp};
use crate::flowfile::template::Template;
use crate::flowfile::text::{compile_regex, split_regex_literal, RegexLiteral, TextPattern};

use super::{FlowChecker, Kind};

impl FlowChecker<'_> {
    /// A string value with a span.
    pub(super) fn sp_string(&mut self, step: usize, s: &Sp<String>, kind: Kind, what: &str) {
        let loc = self.fix_loc(step, s);
        self.string(step, &s.value, loc, kind, what);
    }

    /// Checks one string value: template syntax, then (without templates) its own syntax.
    pub(super) fn string(
        &mut self,
        step: usize,
        value: &str,
        loc: Option<Loc>,
        kind: Kind,
        what: &str,
    ) {
        let fallback = self
            .flow
            .steps
            .get(step)
            .map_or_else(Loc::default, |s| s.loc);
        let last_line = self.step_end.get(step).copied().unwrap_or(fallback.line);
        // A value without a span (inside JSON): find it in the step's lines.
        let loc = loc.or_else(|| {
            if value.is_empty() || value.contains('\n') {
                None
            } else {
                self.text.find(fallback, last_line, value)
            }
        });
        if value.contains("{{") {
            match Template::parse(value) {
                Ok(template) => {
                    if template.vars().next().is_some() {
                        self.facts.uses.push(StrUse {
                            step,
                            template,
                            text: value.to_string(),
                            value_loc: loc,
                            fallback,
                            last_line,
                        });
                        return;
                    }
                    // Only `{{ "literal" }}` parts: check the text it stands for below, at the value.
                    let literal = template.as_literal().unwrap_or_default();
                    self.check_string_syntax(&literal, loc.unwrap_or(fallback), None, kind, what);
                }
                Err(e) => {
                    let at = self.text.loc_in_value_within(
                        loc.unwrap_or(fallback),
                        value,
                        e.offset,
                        last_line,
                    );
                    let len = value
                        .get(e.offset..e.offset + e.len)
                        .map_or(1, |s| s.chars().count());
                    let d = self.error(at, len, e.message);
                    d.label = Some("template error".to_string());
                    d.hint = e.hint;
                }
            }
            return;
        }
        self.check_string_syntax(value, loc.unwrap_or(fallback), Some(value), kind, what);
    }

    /// `raw` is the value as written (for mapping offsets into the source), when it is.
    pub(super) fn check_string_syntax(
        &mut self,
        value: &str,
        loc: Loc,
        raw: Option<&str>,
        kind: Kind,
        what: &str,
    ) {
        let len = self.len_at(loc, raw.unwrap_or(value));
        match kind {
            Kind::Plain => {}
            Kind::NonEmpty => {
                if value.trim().is_empty() {
                    self.error(loc, len, format!("`{what}` is empty")).hint =
                        Some(format!("give `{what}` a value, or remove it"));
                }
            }
            Kind::Text { exact } => {
                if value.trim().is_empty() {
                    self.error(loc, len, format!("`{what}` is empty")).hint = Some(
                        "an empty text matches everything; write the text to look for".to_string(),
                    );
                    return;
                }
                if let Err(message) = TextPattern::parse(value, exact) {
                    self.regex_literal_error(value, loc, raw, len, message);
                }
            }
            Kind::Url | Kind::MaybeRegex => {
                if kind == Kind::Url && value.trim().is_empty() {
                    self.error(loc, len, format!("`{what}` is empty")).hint =
                        Some("write a path (`/dashboard`), a full URL, or `/regex/`".to_string());
                    return;
                }
                if matches!(
                    split_regex_literal(value),
                    RegexLiteral::Regex { .. } | RegexLiteral::BadFlag { .. } | RegexLiteral::Empty
                ) {
                    if let Err(message) = TextPattern::parse(value, false) {
                        self.regex_literal_error(value, loc, raw, len, message);
                    }
                }
            }
            Kind::Regex => {
                if value.is_empty() {
                    self.error(loc, len, format!("`{what}` is empty")).hint =
                        Some("write a regular expression, e.g. `(\\d+)`".to_string());
                    return;
                }
                if let Err(e) = compile_regex(value, "") {
                    let (at, l) = match (e.offset, raw) {
                        (Some(off), Some(raw)) => (
                            self.text.loc_in_value(loc, raw, off),
                            raw.get(off..off + e.len).map_or(1, |s| s.chars().count()),
                        ),
                        _ => (loc, len),
                    };
                    let d = self.error(at, l, format!("invalid regex in `{what}`: {}", e.message));
                    d.label = Some(e.message.clone());
                    let mut hint =
                        "the syntax is Rust's `regex` crate (no look-around or backreferences)"
                            .to_string();
                    let inner = value.get(1..value.len().saturating_sub(1)).unwrap_or("");
                    if value.starts_with('/')
                        && value.len() > 2
                        && value.ends_with('/')
                        && compile_regex(inner, "").is_ok()
                    {
                        hint = format!(
                            "`{what}` is a plain regex, without slashes: write `{}`",
                            &value[1..value.len() - 1]
                        );
                    }
                    d.hint = Some(hint);
                }
            }
        }
    }

    pub(super) fn regex_literal_error(
        &mut self,
        value: &str,
        loc: Loc,
        raw: Option<&str>,
        len: usize,
        message: String,
    ) {
        let (at, l, label) = match split_regex_literal(value) {
            RegexLiteral::Regex { source, flags } => match compile_regex(source, flags) {
                Err(e) => match (e.offset, raw) {
                    (Some(off), Some(raw)) => (
                        self.text.loc_in_value(loc, raw, off + 1),
                        raw.get(off + 1..off + 1 + e.len)
                            .map_or(1, |s| s.chars().count()),
                        e.message,
                    ),
                    _ => (loc, len, e.message),
                },
                Ok(_) => (loc, len, "invalid".to_string()),
            },
            RegexLiteral::BadFlag { .. } => (loc, len, "unsupported flag".to_string()),
            _ => (loc, len, "invalid".to_string()),
        };
        let d = self.error(at, l, message);
        d.label = Some(label);
        d.hint = Some(
            "a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"
                .to_string(),
        );
    }
}
