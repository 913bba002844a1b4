//! YAML text → [`FlowFile`], with errors turned into our own [`Diagnostic`]s.
//!
//! serde-saphyr stops at the first problem in a file and words it for a Rust developer
//! ("unknown variant `clik`, expected one of …"); this module rewords it for the person who
//! wrote the flow ("unknown step `clik`", "did you mean `click`?") and keeps the location.
//! Checks that need the whole tree (or the whole suite) live in `check/`.

use std::borrow::Cow;
use std::path::Path;

use serde_saphyr::{DefaultMessageFormatter, Error as YamlError, MessageFormatter};

use super::ast::FlowFile;
use super::diagnostic::Diagnostic;
use super::locate::SourceText;
use super::span::Loc;
use super::suggest::{did_you_mean, did_you_mean_prefix};

/// The step kinds, as written in YAML (the order of [`super::ast::Step`]).
pub const STEP_KINDS: &[&str] = &[
    "goto",
    "click",
    "fill",
    "select",
    "check",
    "upload",
    "press",
    "expect",
    "wait_for",
    "screenshot",
    "expect_screenshot",
    "capture",
    "http",
    "mail",
    "mails",
    "subscribe",
    "expect_event",
    "hover",
    "drag",
    "download",
    "dialog",
    "window",
    "use",
    "guard",
    "forbidden",
    "download_headers",
    "sse",
    "routes",
    "metrics",
];

/// Parses one flow file. `file` is only used to label the diagnostic.
#[expect(
    clippy::result_large_err,
    reason = "one diagnostic per file, on the cold path"
)]
pub fn parse_flow(file: &Path, source: &str) -> Result<FlowFile, Diagnostic> {
    if is_blank(source) {
        return Err(Diagnostic::new(file, "empty flow file")
            .hint("a flow needs at least `id`, `title` and `steps`; see docs/flow-format.md"));
    }
    serde_saphyr::from_str::<FlowFile>(source).map_err(|e| to_diagnostic(file, source, &e))
}

/// Parses a step group file (`groups/NAME.yaml`).
#[expect(
    clippy::result_large_err,
    reason = "one diagnostic per file, on the cold path"
)]
pub fn parse_group(file: &Path, source: &str) -> Result<super::ast::GroupFile, Diagnostic> {
    if is_blank(source) {
        return Err(Diagnostic::new(file, "empty step group file")
            .hint("a group needs `group: NAME` and `steps`; see docs/flow-format.md"));
    }
    serde_saphyr::from_str::<super::ast::GroupFile>(source)
        .map_err(|e| to_diagnostic(file, source, &e))
}

fn is_blank(source: &str) -> bool {
    source.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

/// Where a YAML error is, and the source around it, for wording the error.
struct Site<'a> {
    file: &'a Path,
    source: &'a str,
    text: SourceText<'a>,
    loc: Option<Loc>,
    /// How many characters the parser's span covers (1 when it has none).
    span_len: usize,
}

impl<'a> Site<'a> {
    fn of(file: &'a Path, source: &'a str, err: &YamlError) -> Self {
        let (loc, span_len) = match err.location() {
            Some(l) if l.line() > 0 => (
                Some(Loc {
                    line: u32::try_from(l.line()).unwrap_or(u32::MAX),
                    col: u32::try_from(l.column()).unwrap_or(u32::MAX),
                }),
                usize::try_from(l.span().len()).unwrap_or(1),
            ),
            _ => (None, 1),
        };
        Site {
            file,
            source,
            text: SourceText::new(source),
            loc,
            span_len,
        }
    }

    /// `d` at the error, `len` characters long (without a location: the file).
    fn at(&self, d: Diagnostic, len: usize) -> Diagnostic {
        match self.loc {
            Some(l) => d.at(l, len),
            None => d,
        }
    }

    /// The key whose value the error is in.
    fn key_of_value(&self) -> Option<String> {
        self.loc.and_then(|l| self.text.key_of_value(l))
    }

    /// The key of the mapping the error is in.
    fn enclosing(&self) -> Option<String> {
        self.loc.and_then(|l| self.text.enclosing_key(l))
    }

    /// The characters of the YAML token at the error.
    fn token_len(&self) -> usize {
        self.loc
            .map_or(1, |l| super::diagnostic::token_len(self.source, l))
    }

    /// An unknown step kind, or an unknown value of an enum field.
    fn unknown_variant(&self, variant: &str, expected: &[&str]) -> Diagnostic {
        if is_step_list(expected) {
            let hint = format!(
                "{}steps are: {}",
                did_you_mean_prefix(variant, expected.iter().copied()),
                STEP_KINDS.join(", ")
            );
            self.at(
                Diagnostic::new(self.file, format!("unknown step `{variant}`")),
                variant.chars().count(),
            )
            .label("unknown step")
            .hint(hint)
        } else {
            let field = self
                .key_of_value()
                .map_or_else(String::new, |k| format!(" for `{k}`"));
            let hint = format!(
                "{}expected one of: {}",
                did_you_mean_prefix(variant, expected.iter().copied()),
                expected.join(", ")
            );
            self.at(
                Diagnostic::new(self.file, format!("unknown value `{variant}`{field}")),
                variant.chars().count(),
            )
            .label("unknown value")
            .hint(hint)
        }
    }

    /// A field the step or mapping does not take.
    fn unknown_field(&self, field: &str, expected: &[&str]) -> Diagnostic {
        let owner = self.enclosing();
        let (message, takes) = match owner.as_deref() {
            Some(k) if STEP_KINDS.contains(&k) => (
                format!("unknown field `{field}` in `{k}` step"),
                format!("`{k}` takes"),
            ),
            Some(k) => (
                format!("unknown field `{field}` in `{k}`"),
                format!("`{k}` takes"),
            ),
            None => (
                format!("unknown field `{field}` in the flow"),
                "a flow has".to_string(),
            ),
        };
        let mut hint = format!(
            "{}{takes}: {}",
            did_you_mean_prefix(field, expected.iter().copied()),
            expected.join(", ")
        );
        if owner.is_none() && STEP_KINDS.contains(&field) {
            hint =
                format!("`{field}` is a step: put it in the list under `steps:` as `- {field}: …`");
        }
        self.at(Diagnostic::new(self.file, message), field.chars().count())
            .label("unknown field")
            .hint(hint)
    }

    /// A required field is not there.
    fn missing_field(&self, field: &str) -> Diagnostic {
        let owner_at = self.loc.and_then(|l| self.text.enclosing_key_at(l));
        let owner = owner_at.as_ref().map(|(k, _)| k.clone());
        let message = match owner.as_deref() {
            Some(k) if STEP_KINDS.contains(&k) => {
                format!("missing field `{field}` in `{k}` step")
            }
            Some(k) => format!("missing field `{field}` in `{k}`"),
            None => format!("missing field `{field}` in the flow"),
        };
        let label = match owner.as_deref() {
            Some(k) => format!("this `{k}` has no `{field}`"),
            None => format!("this flow has no `{field}`"),
        };
        let d = Diagnostic::new(self.file, message).hint(missing_field_hint(field));
        // serde-saphyr points at a key of the mapping; for the flow itself that is some
        // unrelated top-level key, so point at the file instead.
        match owner_at {
            None => d,
            // Point at the key of the mapping that lacks the field (`fill`), not at
            // whichever of its keys serde-saphyr stopped on.
            Some((key, key_loc)) => d.at(key_loc, key.chars().count()).label(label),
        }
    }

    /// A value of the wrong YAML kind (a list for a mapping, …).
    fn unexpected(&self, expected: &str) -> Diagnostic {
        let at_top =
            self.loc.is_some_and(|l| l.line == 1 && l.col == 1) || self.key_of_value().is_none();
        if at_top && expected.contains("mapping") {
            let found = if self.source.trim_start().starts_with('-') {
                "a list"
            } else {
                "a single value"
            };
            return self
                .at(
                    Diagnostic::new(
                        self.file,
                        format!("a flow file must be a mapping, not {found}"),
                    ),
                    self.span_len,
                )
                .hint("start with `id: …`, `title: …` and `steps:`; see docs/flow-format.md");
        }
        let what = expected_words(expected);
        match self.key_of_value() {
            Some(k) if STEP_KINDS.contains(&k.as_str()) => self
                .at(
                    Diagnostic::new(self.file, format!("`{k}` takes {what}")),
                    self.span_len,
                )
                .label(format!("expected {what}"))
                .hint(step_example(&k)),
            Some(k) => self
                .at(
                    Diagnostic::new(self.file, format!("`{k}` must be {what}")),
                    self.span_len,
                )
                .label(format!("expected {what}")),
            None => self.at(
                Diagnostic::new(self.file, format!("expected {what}")),
                self.span_len,
            ),
        }
    }

    /// A second `---` document.
    fn multiple_documents(&self) -> Diagnostic {
        // Point at the `---` that starts the second document, not at its first key.
        let marker = self.loc.and_then(|l| {
            (1..=l.line)
                .rev()
                .find(|n| self.text.line(*n).is_some_and(|t| t.starts_with("---")))
        });
        let d = Diagnostic::new(self.file, "more than one YAML document in a flow file");
        let d = match marker {
            Some(line) => d.at(Loc { line, col: 1 }, 3),
            None => self.at(d, 1),
        };
        d.label("a second document starts here")
            .hint("one flow per file: move what follows `---` into a file of its own")
    }

    /// Any other error: YAML syntax (with a hint), or the parser's own words.
    fn other(&self, other: &YamlError) -> Diagnostic {
        let message = message_text(other);
        let syntax = matches!(other, YamlError::ExternalMessage { .. });
        let hint = syntax.then(|| syntax_hint(&message).to_string());
        let message = if syntax {
            format!("yaml syntax error: {message}")
        } else {
            message
        };
        self.at(Diagnostic::new(self.file, message), self.span_len.max(1))
            .maybe_hint(hint)
    }
}

fn to_diagnostic(file: &Path, source: &str, err: &YamlError) -> Diagnostic {
    let err = innermost(err);
    let site = Site::of(file, source, err);
    match err {
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => site.unknown_variant(variant, expected),
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => site.unknown_field(field, expected),
        YamlError::SerdeMissingField { field, .. } => site.missing_field(field),
        YamlError::Unexpected { expected, .. } => site.unexpected(expected),
        YamlError::InvalidScalar { ty, .. } => {
            let what = scalar_words(ty);
            let key = site.key_of_value();
            let message = match &key {
                Some(k) => format!("invalid value for `{k}`: expected {what}"),
                None => format!("invalid value: expected {what}"),
            };
            let len = site.token_len();
            site.at(Diagnostic::new(site.file, message), len)
                .label(format!("expected {what}"))
        }
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => {
            let key = site.key_of_value();
            let message = match &key {
                Some(k) => {
                    format!("invalid value for `{k}`: expected {expected}, found {unexpected}")
                }
                None => format!("invalid value: expected {expected}, found {unexpected}"),
            };
            let len = site.token_len();
            site.at(Diagnostic::new(site.file, message), len)
        }
        YamlError::NullIntoString { .. } => {
            let key = site.key_of_value();
            let message = match &key {
                Some(k) => format!("`{k}` has no value"),
                None => "missing value".to_string(),
            };
            site.at(Diagnostic::new(site.file, message), 1)
                .hint("write a value after the colon, or remove the key")
        }
        YamlError::ExpectedMappingEndAfterEnumVariantValue { .. } => {
            let len = site.loc.and_then(|l| site.text.rest_at(l)).map_or(1, |r| {
                r.split(':')
                    .next()
                    .map_or(1, |k| k.trim_end().chars().count())
            });
            site.at(Diagnostic::new(site.file, "a step has exactly one key, its kind"), len)
                .label("a second key in the same step")
                .hint("start a new step with `- `, or move this option inside the step's value (`- click: { css: …, timeout: 5s }`)")
        }
        YamlError::ExpectedStringKeyForExternallyTaggedEnum { .. }
        | YamlError::ExternallyTaggedEnumExpectedScalarOrMapping { .. } => site
            .at(
                Diagnostic::new(
                    file,
                    "a step must be a one-key mapping such as `- click: { … }`",
                ),
                site.span_len,
            )
            .hint(format!("steps are: {}", STEP_KINDS.join(", "))),
        YamlError::DuplicateMappingKey { key, .. } => {
            let name = key.as_deref().unwrap_or("?");
            site.at(
                Diagnostic::new(site.file, format!("duplicate key `{name}`")),
                name.chars().count(),
            )
            .label("written twice in this mapping")
            .hint("a key can appear once per mapping; to run a step twice, add a second `- ` item")
        }
        YamlError::MultipleDocuments { .. } => site.multiple_documents(),
        YamlError::Eof { .. } => site
            .at(Diagnostic::new(site.file, "unexpected end of file"), 1)
            .hint("the file ends in the middle of a value; check for an unclosed quote or bracket"),
        YamlError::Message { msg, .. } if msg.contains("untagged enum GotoStep") => site
            .at(
                Diagnostic::new(site.file, "invalid `goto` step"),
                site.span_len,
            )
            .hint("write `goto: /path` or `goto: { url: /path, as: USER }`"),
        YamlError::Message { msg, .. } if msg.contains("untagged enum ScreenshotStep") => site
            .at(
                Diagnostic::new(site.file, "invalid `screenshot` step"),
                site.span_len,
            )
            .hint("write `screenshot: NAME` or `screenshot: { name: NAME, full_page: true }`"),
        other => site.other(other),
    }
}

/// The error inside alias and snippet wrappers.
fn innermost(err: &YamlError) -> &YamlError {
    match err.without_snippet() {
        YamlError::AliasError { error, .. } => innermost(error),
        other => other,
    }
}

/// serde-saphyr's words for an error, without its location suffix, safe to print.
fn message_text(err: &YamlError) -> String {
    let formatter = DefaultMessageFormatter;
    let text: Cow<'_, str> = formatter.format_message(err);
    // Keep the text on one line and free of terminal control characters.
    let text: String = text
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    let text = text.strip_prefix("error: ").unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && chars.next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text,
    }
}

fn syntax_hint(message: &str) -> &'static str {
    if message.contains("tab") {
        "indent with spaces: YAML does not allow tabs for indentation"
    } else if message.contains("quote") {
        "close the quote on the same line, or quote the whole value with the other kind of quote"
    } else if message.contains("bracket") || message.contains("brace") {
        "close the `{ … }` or `[ … ]` on the same line, or write the mapping or list in block style"
    } else if message.contains("indicator") || message.contains("indent") {
        "check the indentation: items of one list, and keys of one mapping, start in the same column"
    } else {
        "check the indentation and quoting here"
    }
}

fn is_step_list(expected: &[&str]) -> bool {
    expected.contains(&"goto") && expected.contains(&"expect_event")
}

fn expected_words(expected: &str) -> &'static str {
    if expected.contains("mapping") {
        "a mapping (`key: value` pairs)"
    } else if expected.contains("sequence") {
        "a list"
    } else if expected.contains("string") || expected.contains("scalar") {
        "a single value"
    } else {
        "something else"
    }
}

fn scalar_words(ty: &str) -> &'static str {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number (0 or more)",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "bool" => "`true` or `false`",
        "char" => "a single character",
        _ => "another kind of value",
    }
}

fn missing_field_hint(field: &str) -> String {
    match field {
        "id" => {
            "add `id: my-flow` (lowercase words joined by `-`), unique in the suite".to_string()
        }
        "title" => "add `title: …`, the name shown in reports".to_string(),
        "steps" => "add `steps:` followed by a list of steps (`- goto: /login`)".to_string(),
        "value" => "add `value: …`, the text to type".to_string(),
        "option" => "add `option: …`, the visible label of the option to choose".to_string(),
        "files" => "add `files: [path/to/file]`, relative to the flow file".to_string(),
        "key" => "add `key: Enter` (or a chord like `Control+A`)".to_string(),
        "var" => "add `var: name`, the variable to fill".to_string(),
        "url" => "add `url: …` (a path or a full URL)".to_string(),
        "to" => "add `to: USER` (a key of [users]) or `to: someone@example.com`".to_string(),
        _ => format!("add `{field}: …`"),
    }
}

fn step_example(kind: &str) -> String {
    let example = match kind {
        "click" => "- click: { role: button, name: Save }",
        "fill" => "- fill: { label: Email, value: \"{{ user.email }}\" }",
        "select" => "- select: { label: Status, option: Open }",
        "check" => "- check: { label: Remember me }",
        "upload" => "- upload: { label: Attachment, files: [files/report.pdf] }",
        "press" => "- press: { key: Enter }",
        "expect" => "- expect: { role: heading, name: Dashboard }",
        "wait_for" => "- wait_for: { text: Saved, state: hidden }",
        "capture" => "- capture: { var: ticket, from: url, regex: '/tickets/(\\d+)' }",
        "http" => "- http: { method: GET, url: /api/health }",
        "mail" => "- mail: { to: requester, otp: { var: code } }",
        "subscribe" => "- subscribe: { id: bell, sse: /events }",
        "expect_event" => "- expect_event: { on: bell, event: notification.created }",
        "goto" => "- goto: /login",
        "screenshot" => "- screenshot: ticket-created",
        _ => return format!("see `{kind}` in docs/flow-format.md"),
    };
    format!("for example `{example}`")
}

/// The suggestion for a misspelt step kind, if any (for other modules' messages).
pub fn suggest_step(kind: &str) -> Option<&'static str> {
    did_you_mean(kind, STEP_KINDS.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> Diagnostic {
        parse_flow(Path::new("f.yaml"), src).unwrap_err()
    }

    fn head(src: &str) -> String {
        let d = err(src);
        format!(
            "{} @{:?}+{} | {}",
            d.message,
            d.loc.map(|l| (l.line, l.col)),
            d.len,
            d.hint.unwrap_or_default()
        )
    }

    #[test]
    fn step_kinds_match_the_ast() {
        for kind in STEP_KINDS {
            let src = format!("id: a\ntitle: t\nsteps:\n  - {kind}: 1\n");
            let d = err(&src);
            assert!(
                !d.message.starts_with("unknown step"),
                "{kind}: {}",
                d.message
            );
        }
    }

    #[test]
    fn unknown_step() {
        let d = err("id: a\ntitle: t\nsteps:\n  - clik: { role: button, name: Send code }\n");
        assert_eq!(d.message, "unknown step `clik`");
        assert_eq!(d.loc, Some(Loc { line: 4, col: 5 }));
        assert_eq!(d.len, 4);
        assert!(d
            .hint
            .as_deref()
            .unwrap()
            .starts_with("did you mean `click`? steps are: goto, click,"));
    }

    #[test]
    fn unknown_fields() {
        let h = head("id: a\ntitle: t\nsteps:\n  - click: { rol: button, name: Send code }\n");
        assert!(h.starts_with("unknown field `rol` in `click` step @Some((4, 14))+3 | did you mean `role`? `click` takes: role,"), "{h}");
        let h = head("id: a\ntitle: t\nsteps: []\ntilte: x\n");
        assert!(
            h.starts_with(
                "unknown field `tilte` in the flow @Some((4, 1))+5 | did you mean `title`?"
            ),
            "{h}"
        );
        let h = head("id: a\ntitle: t\nclick: x\nsteps: []\n");
        assert!(h.contains("put it in the list under `steps:`"), "{h}");
        let h =
            head("id: a\ntitle: t\nsteps:\n  - click:\n      css: x\n      within: { rol: x }\n");
        assert!(
            h.starts_with("unknown field `rol` in `within` @Some((6, 17))"),
            "{h}"
        );
    }

    #[test]
    fn missing_fields() {
        let h = head("id: a\ntitle: t\nsteps:\n  - fill: { label: x }\n");
        assert!(
            h.starts_with("missing field `value` in `fill` step @Some((4, 5))+4"),
            "{h}"
        );
        let h = head("title: t\nsteps: []\n");
        assert!(h.starts_with("missing field `id` in the flow @None"), "{h}");
    }

    #[test]
    fn shapes_and_values() {
        assert!(head("- a\n").starts_with("a flow file must be a mapping, not a list"));
        assert!(head("hello\n").starts_with("a flow file must be a mapping, not a single value"));
        assert!(head("id: a\ntitle: t\nsteps: foo\n")
            .starts_with("`steps` must be a list @Some((3, 8))"));
        assert!(
            head("id: a\ntitle: t\nsteps:\n  - click: x\n").starts_with("`click` takes a mapping")
        );
        let h = head("id: a\ntitle: t\nsession: old\nsteps: []\n");
        assert!(h.starts_with("unknown value `old` for `session` @Some((3, 10))+3 | expected one of: shared, fresh"), "{h}");
        let h = head("id: a\ntitle: t\nsteps:\n  - mail: { to: x, after_step: -1 }\n");
        assert!(h.starts_with("invalid value for `after_step`: expected a whole number (0 or more) @Some((4, 32))+2"), "{h}");
        let h = head("id: a\ntitle: t\nsteps:\n  - goto: /a\n    click: {css: x}\n");
        assert!(
            h.starts_with("a step has exactly one key, its kind @Some((5, 5))+5"),
            "{h}"
        );
        let h = head("id: a\ntitle: t\nsteps:\n  - screenshot: { nam: x }\n");
        assert!(h.starts_with("invalid `screenshot` step"), "{h}");
        let h = head("id: a\nid: b\ntitle: t\nsteps: []\n");
        assert!(h.starts_with("duplicate key `id` @Some((2, 1))+2"), "{h}");
    }

    #[test]
    fn documents_and_syntax() {
        let d = err("");
        assert_eq!((d.message.as_str(), d.loc), ("empty flow file", None));
        assert_eq!(err("# nothing\n---\n").message, "empty flow file");
        let h = head("id: a\ntitle: t\nsteps: []\n---\nid: b\n");
        assert!(
            h.starts_with("more than one YAML document in a flow file @Some((4, 1))"),
            "{h}"
        );
        let h = head("id: a\ntitle: t\nsteps:\n  - goto: \"/a\n");
        assert!(h.starts_with("yaml syntax error: "), "{h}");
        let h = head("id: a\ntitle: t\nsteps:\n\t- goto: /a\n");
        assert!(h.starts_with("yaml syntax error: "), "{h}");
    }

    #[test]
    fn parses_a_flow() {
        let f = parse_flow(
            Path::new("f.yaml"),
            "id: create-ticket\ntitle: Create\nuser: requester\nsteps:\n  - goto: /d\n  - click: { role: link, name: New }\n",
        )
        .unwrap();
        assert_eq!(f.id.value, "create-ticket");
        assert_eq!(f.steps.len(), 2);
        assert_eq!(f.steps[1].loc, Loc { line: 6, col: 5 });
    }
}
