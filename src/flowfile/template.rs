//! `{{ name }}` templates inside flow file strings.
//!
//! Owns the template syntax (what a variable reference looks like, how to write a literal `{{`)
//! and rendering with redaction. Does not know which names exist: `check/` decides that before
//! a run, the executor's resolver at run time.
//!
//! Syntax: `{{ name }}` where `name` is `[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*` (spaces
//! inside the braces are optional); `{{ "text" }}` is the literal `text` (the way to write `{{`:
//! `{{ "{{" }}`), with `\"` and `\\` escapes. A lone `}}` is plain text. `{{ name | regex }}`
//! inserts the value escaped for use inside a `/regex/`.

use std::fmt;

/// A parsed template: literal text and variable references, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text copied as is (including text from `{{ "literal" }}`).
    Lit(String),
    /// A `{{ name }}` reference.
    Var(VarRef),
}

/// One `{{ name }}` in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// The dotted name, e.g. `users.head.email`.
    pub name: String,
    /// Byte offset of the name in the template text.
    pub offset: usize,
    /// `{{ name | filter }}`: how the value is transformed when inserted.
    pub filter: Option<Filter>,
}

/// A filter applied to a variable's value: `{{ name | regex }}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Escapes the value for use inside a `/regex/`, so that it matches itself (a URL's
    /// dots match dots only).
    Regex,
}

/// The filters `{{ name | filter }}` knows, by name.
pub const FILTERS: &[(&str, Filter)] = &[("regex", Filter::Regex)];

impl Filter {
    pub fn apply(self, value: &str) -> String {
        match self {
            Filter::Regex => escape_regex(value),
        }
    }
}

/// Escapes the characters that are special in a regex, the same way for the runner's regexes
/// and the browser's (no escape that JavaScript's `u` flag would refuse).
pub fn escape_regex(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A syntax error at a byte offset of the template text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// Byte offset in the template text where the problem starts.
    pub offset: usize,
    /// Length in bytes of the offending text (at least 1).
    pub len: usize,
    /// A lowercase fragment, e.g. "unclosed `{{`".
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// A value for a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub value: String,
    /// Redact this value in every report and log.
    pub secret: bool,
}

impl Resolved {
    pub fn plain(value: impl Into<String>) -> Self {
        Resolved {
            value: value.into(),
            secret: false,
        }
    }
    pub fn secret(value: impl Into<String>) -> Self {
        Resolved {
            value: value.into(),
            secret: true,
        }
    }
}

/// The text shown in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// A rendered template: the real value (to send) and a redacted one (to show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub value: String,
    pub redacted: String,
    pub has_secret: bool,
}

/// A variable the resolver did not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown variable `{name}`")]
pub struct UnknownVariable {
    pub name: String,
    /// Byte offset of the name in the template text.
    pub offset: usize,
}

/// Parsing or rendering failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Syntax(#[from] TemplateError),
    #[error(transparent)]
    Unknown(#[from] UnknownVariable),
}

/// Whether `s` contains anything template syntax (`{{`) would act on.
pub fn has_template(s: &str) -> bool {
    s.contains("{{")
}

/// Whether `name` is a valid (dotted) variable name.
pub fn is_var_name(name: &str) -> bool {
    let mut segments = name.split('.');
    let Some(first) = segments.next() else {
        return false;
    };
    let mut chars = first.chars();
    let head_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    head_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && segments
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

const LITERAL_HINT: &str = "to write `{{` as text, use `{{ \"{{\" }}`";

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts: Vec<Part> = Vec::new();
        let mut lit = String::new();
        let mut rest_start = 0;
        while let Some(rel) = text[rest_start..].find("{{") {
            let open = rest_start + rel;
            lit.push_str(&text[rest_start..open]);
            let inner_start = open + 2;
            let after_ws = skip_ws(text, inner_start);
            if text[after_ws..].starts_with('"') {
                let (value, end_quote) = parse_string_literal(text, after_ws)?;
                let close_at = skip_ws(text, end_quote);
                if !text[close_at..].starts_with("}}") {
                    return Err(TemplateError {
                        offset: close_at,
                        len: 1,
                        message: "expected `}}` after the string literal".to_string(),
                        hint: Some("a literal is written `{{ \"text\" }}`".to_string()),
                    });
                }
                lit.push_str(&value);
                rest_start = close_at + 2;
                continue;
            }
            let Some(close_rel) = text[inner_start..].find("}}") else {
                return Err(TemplateError {
                    offset: open,
                    len: 2,
                    message: "unclosed `{{`".to_string(),
                    hint: Some(format!(
                        "close it with `}}}}`, e.g. `{{{{ run.id }}}}`; {LITERAL_HINT}"
                    )),
                });
            };
            let close = inner_start + close_rel;
            let whole = &text[inner_start..close];
            // `{{ name | filter }}`
            let (inner, filter) = match whole.split_once('|') {
                Some((name_part, filter_part)) if !name_part.trim().is_empty() => {
                    let f = filter_part.trim();
                    let Some((_, filter)) = FILTERS.iter().find(|(n, _)| *n == f) else {
                        let filter_offset = inner_start
                            + name_part.len()
                            + 1
                            + (filter_part.len() - filter_part.trim_start().len());
                        let names: Vec<String> =
                            FILTERS.iter().map(|(n, _)| format!("`{n}`")).collect();
                        return Err(TemplateError {
                            offset: filter_offset,
                            len: f.len().max(1),
                            message: format!("unknown filter `{}`", shorten(f)),
                            hint: Some(format!(
                                "filters are: {} (`{{{{ name | regex }}}}` escapes a value for use inside `/…/`)",
                                names.join(", ")
                            )),
                        });
                    };
                    (name_part, Some(*filter))
                }
                _ => (whole, None),
            };
            let name = inner.trim();
            if name.is_empty() {
                return Err(TemplateError {
                    offset: open,
                    len: close + 2 - open,
                    message: "empty `{{ }}`".to_string(),
                    hint: Some(format!(
                        "write a variable name inside, e.g. `{{{{ run.id }}}}`; {LITERAL_HINT}"
                    )),
                });
            }
            let name_offset = inner_start + (inner.len() - inner.trim_start().len());
            if !is_var_name(name) {
                let hint = if name.contains("{{") {
                    format!("a `{{{{` is not closed before this one; {LITERAL_HINT}")
                } else if name.contains('(') {
                    "templates hold a variable name and an optional filter (`{{ name | regex }}`); calls are not supported"
                        .to_string()
                } else {
                    "a name is letters, digits and `_`, in parts joined by `.` (e.g. `users.head.email`)"
                        .to_string()
                };
                return Err(TemplateError {
                    offset: name_offset,
                    len: name.len(),
                    message: format!("`{}` is not a variable name", shorten(name)),
                    hint: Some(hint),
                });
            }
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var(VarRef {
                name: name.to_string(),
                offset: name_offset,
                filter,
            }));
            rest_start = close + 2;
        }
        lit.push_str(&text[rest_start..]);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The variable references, in order (with repeats).
    pub fn vars(&self) -> impl Iterator<Item = &VarRef> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v),
            Part::Lit(_) => None,
        })
    }

    /// The variable names, in order (with repeats).
    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.vars().map(|v| v.name.as_str())
    }

    /// The text, when the template has no variables.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(_) => return None,
            }
        }
        Some(out)
    }

    /// Substitutes every variable; secrets show as [`REDACTED`] in `redacted`.
    pub fn render(
        &self,
        resolve: &dyn Fn(&str) -> Option<Resolved>,
    ) -> Result<Rendered, UnknownVariable> {
        let mut value = String::new();
        let mut redacted = String::new();
        let mut has_secret = false;
        for p in &self.parts {
            match p {
                Part::Lit(s) => {
                    value.push_str(s);
                    redacted.push_str(s);
                }
                Part::Var(v) => {
                    let r = resolve(&v.name).ok_or_else(|| UnknownVariable {
                        name: v.name.clone(),
                        offset: v.offset,
                    })?;
                    let text = match v.filter {
                        Some(f) => f.apply(&r.value),
                        None => r.value,
                    };
                    if r.secret {
                        has_secret = true;
                        redacted.push_str(REDACTED);
                    } else {
                        redacted.push_str(&text);
                    }
                    value.push_str(&text);
                }
            }
        }
        Ok(Rendered {
            value,
            redacted,
            has_secret,
        })
    }
}

impl fmt::Display for Template {
    /// The template written back (`{{ name }}` with single spaces; literals that need it quoted).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Lit(s) => {
                    let mut rest = s.as_str();
                    while let Some(i) = rest.find("{{") {
                        f.write_str(&rest[..i])?;
                        f.write_str("{{ \"{{\" }}")?;
                        rest = &rest[i + 2..];
                    }
                    f.write_str(rest)?;
                }
                Part::Var(v) => match v.filter {
                    Some(filter) => {
                        let name = FILTERS
                            .iter()
                            .find(|(_, x)| *x == filter)
                            .map_or("?", |(n, _)| *n);
                        write!(f, "{{{{ {} | {name} }}}}", v.name)?;
                    }
                    None => write!(f, "{{{{ {} }}}}", v.name)?,
                },
            }
        }
        Ok(())
    }
}

/// The first line of `s`, at most 40 characters, for a message.
fn shorten(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    let mut out: String = line.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn skip_ws(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// Parses `"…"` starting at the quote at `start`; returns the value and the offset just past
/// the closing quote.
fn parse_string_literal(text: &str, start: usize) -> Result<(String, usize), TemplateError> {
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + 1 + i + 1)),
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((j, other)) => {
                    return Err(TemplateError {
                        offset: start + 1 + i,
                        len: 1 + other.len_utf8().max(j - i - 1),
                        message: format!("unknown escape `\\{other}` in a template string"),
                        hint: Some("only `\\\"` and `\\\\` are escapes".to_string()),
                    })
                }
                None => break,
            },
            _ => out.push(c),
        }
    }
    Err(TemplateError {
        offset: start,
        len: 1,
        message: "unclosed string literal in `{{ }}`".to_string(),
        hint: Some("a literal is written `{{ \"text\" }}`".to_string()),
    })
}

/// A JSON value whose strings were rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedJson {
    pub value: serde_json::Value,
    pub redacted: serde_json::Value,
    pub has_secret: bool,
}

/// Every string (not object key) in `value`, with the RFC 6901 pointer to it.
pub fn json_strings(value: &serde_json::Value) -> Vec<(String, &str)> {
    fn walk<'v>(v: &'v serde_json::Value, path: &mut String, out: &mut Vec<(String, &'v str)>) {
        match v {
            serde_json::Value::String(s) => out.push((path.clone(), s.as_str())),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("/{i}"));
                    walk(item, path, out);
                    path.truncate(len);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    walk(item, path, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut String::new(), &mut out);
    out
}

/// Renders every string inside `value` (object keys are left alone).
pub fn render_json(
    value: &serde_json::Value,
    resolve: &dyn Fn(&str) -> Option<Resolved>,
) -> Result<RenderedJson, RenderError> {
    fn walk(
        v: &serde_json::Value,
        resolve: &dyn Fn(&str) -> Option<Resolved>,
        secret: &mut bool,
    ) -> Result<(serde_json::Value, serde_json::Value), RenderError> {
        use serde_json::Value;
        Ok(match v {
            Value::String(s) if has_template(s) => {
                let r = Template::parse(s)?.render(resolve)?;
                *secret |= r.has_secret;
                (Value::String(r.value), Value::String(r.redacted))
            }
            Value::Array(items) => {
                let mut a = Vec::with_capacity(items.len());
                let mut b = Vec::with_capacity(items.len());
                for item in items {
                    let (x, y) = walk(item, resolve, secret)?;
                    a.push(x);
                    b.push(y);
                }
                (Value::Array(a), Value::Array(b))
            }
            Value::Object(map) => {
                let mut a = serde_json::Map::new();
                let mut b = serde_json::Map::new();
                for (k, item) in map {
                    let (x, y) = walk(item, resolve, secret)?;
                    a.insert(k.clone(), x);
                    b.insert(k.clone(), y);
                }
                (Value::Object(a), Value::Object(b))
            }
            other => (other.clone(), other.clone()),
        })
    }
    let mut has_secret = false;
    let (value, redacted) = walk(value, resolve, &mut has_secret)?;
    Ok(RenderedJson {
        value,
        redacted,
        has_secret,
    })
}

/// Parses and renders `text` in one go.
pub fn render_str(
    text: &str,
    resolve: &dyn Fn(&str) -> Option<Resolved>,
) -> Result<Rendered, RenderError> {
    Ok(Template::parse(text)?.render(resolve)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &str) -> Vec<String> {
        Template::parse(t)
            .unwrap()
            .var_names()
            .map(str::to_string)
            .collect()
    }

    fn resolver(name: &str) -> Option<Resolved> {
        match name {
            "run.id" => Some(Resolved::plain("20261130-021853-a3f")),
            "code" => Some(Resolved::secret("123456")),
            "users.head.email" => Some(Resolved::plain("head@example.test")),
            _ => None,
        }
    }

    #[test]
    fn parses_names_and_offsets() {
        assert_eq!(names("plain"), Vec::<String>::new());
        assert_eq!(names("{{run.id}}"), ["run.id"]);
        assert_eq!(
            names("a {{ users.head.email }} b {{ code }}"),
            ["users.head.email", "code"]
        );
        let t = Template::parse("ab {{  x_1 }}").unwrap();
        assert_eq!(t.vars().next().unwrap().offset, 7);
        assert_eq!(t.parts()[0], Part::Lit("ab ".into()));
        assert_eq!(names("{{ _a.0.b }}"), ["_a.0.b"]);
    }

    #[test]
    fn literals_and_lone_braces() {
        let t = Template::parse("a {{ \"{{\" }} b }} c").unwrap();
        assert_eq!(t.as_literal().as_deref(), Some("a {{ b }} c"));
        let t = Template::parse(r#"{{"say \"hi\" \\"}}"#).unwrap();
        assert_eq!(t.as_literal().as_deref(), Some(r#"say "hi" \"#));
        assert_eq!(t.to_string(), r#"say "hi" \"#);
        let t = Template::parse("x {{ \"{{\" }}").unwrap();
        assert_eq!(t.to_string(), "x {{ \"{{\" }}");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = Template::parse("ab {{ x").unwrap_err();
        assert_eq!(
            (e.offset, e.len, e.message.as_str()),
            (3, 2, "unclosed `{{`")
        );
        let e = Template::parse("{{ }}").unwrap_err();
        assert_eq!(
            (e.offset, e.len, e.message.as_str()),
            (0, 5, "empty `{{ }}`")
        );
        let e = Template::parse("x{{ a-b }}").unwrap_err();
        assert_eq!(
            (e.offset, e.len, e.message.as_str()),
            (4, 3, "`a-b` is not a variable name")
        );
        let e = Template::parse("{{ a\nb }}").unwrap_err();
        assert_eq!(e.message, "`a…` is not a variable name");
        let e = Template::parse("{{ 1a }}").unwrap_err();
        assert_eq!(e.offset, 3);
        let e = Template::parse("{{ a. }}").unwrap_err();
        assert!(e.message.contains("a."));
        let e = Template::parse("{{ x | upper }}").unwrap_err();
        assert_eq!(
            (e.offset, e.len, e.message.as_str()),
            (7, 5, "unknown filter `upper`")
        );
        assert!(e.hint.unwrap().contains("`regex`"));
        let e = Template::parse("{{ \"abc }}").unwrap_err();
        assert_eq!(e.message, "unclosed string literal in `{{ }}`");
        let e = Template::parse("{{ \"a\" x }}").unwrap_err();
        assert_eq!(e.message, "expected `}}` after the string literal");
        let e = Template::parse("{{ \"a\\n\" }}").unwrap_err();
        assert_eq!(e.message, "unknown escape `\\n` in a template string");
    }

    #[test]
    fn renders_with_redaction() {
        let t = Template::parse("{{ run.id }}: code {{code}}").unwrap();
        let r = t.render(&resolver).unwrap();
        assert_eq!(r.value, "20261130-021853-a3f: code 123456");
        assert_eq!(r.redacted, "20261130-021853-a3f: code [redacted]");
        assert!(r.has_secret);
        let r = render_str("no vars", &resolver).unwrap();
        assert!(!r.has_secret);
        let e = Template::parse("x {{ nope }}")
            .unwrap()
            .render(&resolver)
            .unwrap_err();
        assert_eq!(
            e,
            UnknownVariable {
                name: "nope".into(),
                offset: 5
            }
        );
        assert_eq!(e.to_string(), "unknown variable `nope`");
    }

    #[test]
    fn the_regex_filter_escapes_a_value() {
        let t = Template::parse("/^{{ users.head.email | regex }}$/").unwrap();
        assert_eq!(t.vars().next().unwrap().name, "users.head.email");
        assert_eq!(t.to_string(), "/^{{ users.head.email | regex }}$/");
        let r = t.render(&resolver).unwrap();
        assert_eq!(r.value, r"/^head@example\.test$/");
        assert_eq!(r.redacted, r.value);
        assert_eq!(
            escape_regex("a.b*(c)[d]{e}|f^g$h\\i?+"),
            r"a\.b\*\(c\)\[d\]\{e\}\|f\^g\$h\\i\?\+"
        );
        let r = Template::parse("{{ code | regex }}")
            .unwrap()
            .render(&resolver)
            .unwrap();
        assert_eq!(r.redacted, "[redacted]");
    }

    #[test]
    fn renders_json_strings() {
        let v = serde_json::json!({"to": "{{ users.head.email }}", "n": [1, "{{ code }}", {"k": "x"}], "t": true});
        let r = render_json(&v, &resolver).unwrap();
        assert_eq!(
            r.value,
            serde_json::json!({"to": "head@example.test", "n": [1, "123456", {"k": "x"}], "t": true})
        );
        assert_eq!(r.redacted["n"][1], "[redacted]");
        assert!(r.has_secret);
        let mut strings = json_strings(&v);
        strings.sort();
        assert_eq!(
            strings,
            vec![
                ("/n/1".to_string(), "{{ code }}"),
                ("/n/2/k".to_string(), "x"),
                ("/to".to_string(), "{{ users.head.email }}")
            ]
        );
        assert!(matches!(
            render_json(&serde_json::json!(["{{ x"]), &resolver),
            Err(RenderError::Syntax(_))
        ));
        assert!(matches!(
            render_json(&serde_json::json!(["{{ x }}"]), &resolver),
            Err(RenderError::Unknown(_))
        ));
    }

    #[test]
    fn var_name_rule() {
        for ok in ["a", "_", "a.b", "users.head.email", "A1_.2"] {
            assert!(is_var_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a..b", "a.", ".a", "a-b", "a b"] {
            assert!(!is_var_name(bad), "{bad}");
        }
    }
}
