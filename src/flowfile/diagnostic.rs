//! Diagnostics: one problem in a flow file, with where it is and what to do about it.
//!
//! Owns the one renderer for `--> file:line:col`, the source line, the carets (sized by unicode
//! width, as just's `token.rs` draws them) and the `= hint:` line, plain or in ANSI colour (the
//! caller decides from the TTY and `NO_COLOR`). Does not decide what is wrong: `parse.rs` and
//! `check/` build these.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use unicode_width::UnicodeWidthChar;

use super::span::Loc;

/// One problem, located in a file (and, optionally, a related place elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user should see it (relative to where `flows` runs when possible).
    pub file: PathBuf,
    /// Where in `file`; `None` for problems with the file as a whole (unreadable, empty dir).
    pub loc: Option<Loc>,
    /// How many characters the carets cover, from `loc` (at least 1).
    pub len: usize,
    /// What is wrong: a lowercase fragment, e.g. "unknown step `clik`".
    pub message: String,
    /// A few words printed after the carets, e.g. "unknown step".
    pub label: Option<String>,
    /// What to do about it, e.g. "did you mean `click`?".
    pub hint: Option<String>,
    /// A related place, e.g. `(other.yaml, 1:5, "first defined here")`.
    pub note: Option<(PathBuf, Loc, String)>,
    /// A warning (the step may not work), not an error: said, never a reason to stop.
    pub warning: bool,
}

impl Diagnostic {
    /// A diagnostic for `file` with no location yet.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            loc: None,
            len: 1,
            message: message.into(),
            label: None,
            hint: None,
            note: None,
            warning: false,
        }
    }

    /// Makes this a warning: rendered as `warning:`, never a reason to stop.
    #[must_use]
    pub fn as_warning(mut self) -> Self {
        self.warning = true;
        self
    }

    /// Points at `len` characters from `loc`.
    #[must_use]
    pub fn at(mut self, loc: Loc, len: usize) -> Self {
        self.loc = Some(loc);
        self.len = len.max(1);
        self
    }

    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    #[must_use]
    pub fn note(mut self, file: impl Into<PathBuf>, loc: Loc, message: impl Into<String>) -> Self {
        self.note = Some((file.into(), loc, message.into()));
        self
    }

    /// Renders this diagnostic; `source` is the text of `self.file` (a note in another file is
    /// then shown by location only).
    pub fn render(&self, source: Option<&str>, color: bool) -> String {
        let own: Option<Arc<str>> = source.map(Arc::from);
        let lookup = |path: &Path| if path == self.file { own.clone() } else { None };
        self.render_with(&lookup, color)
    }

    /// Renders this diagnostic, looking up the text of any file it mentions.
    pub fn render_with(&self, sources: &dyn Fn(&Path) -> Option<Arc<str>>, color: bool) -> String {
        let style = Style::new(color);
        let own = sources(&self.file);
        let note_source = self.note.as_ref().and_then(|(file, _, _)| sources(file));

        // The gutter is as wide as the largest line number shown.
        let mut max_line = self.loc.map_or(0, |l| l.line);
        if let (Some((_, loc, _)), Some(_)) = (&self.note, &note_source) {
            max_line = max_line.max(loc.line);
        }
        let width = max_line.to_string().len();
        let pad = " ".repeat(width + 1);

        // One line per message, whatever the values quoted in it contain.
        let message = self.message.replace('\r', "").replace('\n', "⏎");
        let mut out = String::new();
        let severity = if self.warning {
            style.warning("warning")
        } else {
            style.error("error")
        };
        let _ = writeln!(out, "{severity}: {}", style.bold(&message));
        let _ = writeln!(
            out,
            "{pad}{} {}",
            style.blue("-->"),
            location(&self.file, self.loc)
        );
        if let (Some(loc), Some(text)) = (self.loc, own.as_deref()) {
            snippet(
                &mut out,
                &style,
                &pad,
                text,
                loc,
                self.len,
                self.label.as_deref(),
                true,
            );
        }
        if let Some((file, loc, message)) = &self.note {
            match note_source.as_deref() {
                Some(text) if line_of(text, loc.line).is_some() => {
                    let _ = writeln!(out, "{pad} {}", style.blue("|"));
                    let _ = writeln!(out, "{}: {}", style.note("note"), message);
                    let _ = writeln!(
                        out,
                        "{pad}{} {}",
                        style.blue("-->"),
                        location(file, Some(*loc))
                    );
                    let len = token_len(text, *loc);
                    snippet(&mut out, &style, &pad, text, *loc, len, None, false);
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "{pad} {} {}: {} ({})",
                        style.blue("="),
                        style.note("note"),
                        message,
                        location(file, Some(*loc))
                    );
                }
            }
        }
        if let Some(hint) = &self.hint {
            if self.loc.is_some() && own.is_some() {
                let _ = writeln!(out, "{pad} {}", style.blue("|"));
            }
            let mut lines = hint.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(
                    out,
                    "{pad} {} {}: {first}",
                    style.blue("="),
                    style.hint("hint")
                );
            }
            for more in lines {
                let _ = writeln!(out, "{pad}         {more}");
            }
        }
        out
    }
}

fn location(file: &Path, loc: Option<Loc>) -> String {
    let shown = file.display().to_string().replace('\\', "/");
    match loc {
        Some(loc) if loc.line > 0 => format!("{shown}:{}:{}", loc.line, loc.col),
        _ => shown,
    }
}

#[expect(clippy::too_many_arguments, reason = "a private drawing helper")]
fn snippet(
    out: &mut String,
    style: &Style,
    pad: &str,
    text: &str,
    loc: Loc,
    len: usize,
    label: Option<&str>,
    primary: bool,
) {
    let Some(line) = line_of(text, loc.line) else {
        return;
    };
    let width = pad.len() - 1;
    let _ = writeln!(out, "{pad} {}", style.blue("|"));
    let _ = writeln!(
        out,
        " {} {}{}",
        style.blue(&format!("{:>width$}", loc.line)),
        style.blue("|"),
        if line.is_empty() {
            String::new()
        } else {
            format!(" {}", expand_tabs(line))
        }
    );
    let chars: Vec<char> = line.chars().collect();
    let start = (loc.col.max(1) as usize - 1).min(chars.len());
    let end = start.saturating_add(len.max(1)).min(chars.len());
    let indent: usize = chars[..start].iter().map(|c| char_width(*c)).sum();
    let under: usize = chars[start..end]
        .iter()
        .map(|c| char_width(*c))
        .sum::<usize>()
        .max(1);
    let carets = "^".repeat(under);
    let marks = if primary {
        style.error(&carets)
    } else {
        style.note(&carets)
    };
    let label = match label {
        Some(l) if primary => format!(" {}", style.error(l)),
        Some(l) => format!(" {l}"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "{pad} {} {}{marks}{label}",
        style.blue("|"),
        " ".repeat(indent)
    );
}

/// The text of 1-based `line` in `text`, without its line ending.
pub fn line_of(text: &str, line: u32) -> Option<&str> {
    if line == 0 {
        return None;
    }
    text.split('\n')
        .nth(line as usize - 1)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
}

fn char_width(c: char) -> usize {
    if c == '\t' {
        4
    } else {
        c.width().unwrap_or(0)
    }
}

fn expand_tabs(line: &str) -> String {
    line.replace('\t', "    ")
}

/// The length in characters of the YAML token that starts at `loc`: a quoted scalar up to its
/// closing quote, a flow collection up to its closing bracket (on the same line), otherwise a
/// plain scalar up to `,`, `}`, `]`, ` #` or the end of the line.
pub fn token_len(text: &str, loc: Loc) -> usize {
    let Some(line) = line_of(text, loc.line) else {
        return 1;
    };
    let chars: Vec<char> = line.chars().skip(loc.col.max(1) as usize - 1).collect();
    let Some(&first) = chars.first() else {
        return 1;
    };
    let n = match first {
        '"' | '\'' => {
            let mut i = 1;
            while i < chars.len() {
                if chars[i] == '\\' && first == '"' {
                    i += 2;
                    continue;
                }
                if chars[i] == first {
                    break;
                }
                i += 1;
            }
            (i + 1).min(chars.len())
        }
        '{' | '[' => {
            let close = if first == '{' { '}' } else { ']' };
            let mut depth = 0usize;
            let mut n = chars.len();
            for (i, c) in chars.iter().enumerate() {
                if *c == first {
                    depth += 1;
                } else if *c == close {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        n = i + 1;
                        break;
                    }
                }
            }
            n
        }
        _ => {
            let mut n = chars.len();
            for (i, c) in chars.iter().enumerate() {
                let comment = *c == '#' && i > 0 && chars[i - 1].is_whitespace();
                if matches!(c, ',' | '}' | ']') || comment {
                    n = i;
                    break;
                }
            }
            while n > 0 && chars[n - 1].is_whitespace() {
                n -= 1;
            }
            n
        }
    };
    n.max(1)
}

/// Several diagnostics, in a stable order (by file, then position).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Sorts by file, then line and column (problems without a location first); stable.
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.file, a.loc).cmp(&(&b.file, b.loc)));
    }

    /// Renders every diagnostic, separated by blank lines; `sources` gives a file's text.
    pub fn render_all(&self, sources: &dyn Fn(&Path) -> Option<Arc<str>>, color: bool) -> String {
        let rendered: Vec<String> = self
            .0
            .iter()
            .map(|d| d.render_with(sources, color))
            .collect();
        rendered.join("\n")
    }

    /// Renders every diagnostic, reading the files they mention from disk (once each).
    pub fn render_all_from_disk(&self, color: bool) -> String {
        let mut cache: BTreeMap<PathBuf, Option<Arc<str>>> = BTreeMap::new();
        for d in &self.0 {
            for file in std::iter::once(&d.file).chain(d.note.as_ref().map(|(f, _, _)| f)) {
                cache.entry(file.clone()).or_insert_with(|| {
                    // Never a FIFO or a device: reading one could block forever.
                    let regular = std::fs::metadata(file).is_ok_and(|m| m.is_file());
                    regular
                        .then(|| std::fs::read_to_string(file).ok().map(Arc::from))
                        .flatten()
                });
            }
        }
        self.render_all(&|path: &Path| cache.get(path).cloned().flatten(), color)
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(v: Vec<Diagnostic>) -> Self {
        Diagnostics(v)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::fmt::Display for Diagnostic {
    /// One line: `file:line:col: message`, for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", location(&self.file, self.loc), self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// ANSI styling, or none.
struct Style {
    color: bool,
}

impl Style {
    fn new(color: bool) -> Self {
        Style { color }
    }
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn error(&self, t: &str) -> String {
        self.paint("1;31", t)
    }
    fn warning(&self, t: &str) -> String {
        self.paint("1;33", t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    fn blue(&self, t: &str) -> String {
        self.paint("1;34", t)
    }
    fn hint(&self, t: &str) -> String {
        self.paint("1;36", t)
    }
    fn note(&self, t: &str) -> String {
        self.paint("1;32", t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(line: u32, col: u32) -> Loc {
        Loc { line, col }
    }

    #[test]
    fn renders_like_rustc() {
        let src = "id: otp-login\nsteps:\n  - clik: { role: button, name: Send code }\n";
        let d = Diagnostic::new("flows/otp-login.yaml", "unknown step `clik`")
            .at(loc(3, 5), 4)
            .label("unknown step")
            .hint("did you mean `click`?");
        assert_eq!(
            d.render(Some(src), false),
            "error: unknown step `clik`\n  --> flows/otp-login.yaml:3:5\n   |\n 3 |   - clik: { role: button, name: Send code }\n   |     ^^^^ unknown step\n   |\n   = hint: did you mean `click`?\n"
        );
    }

    #[test]
    fn carets_follow_unicode_width() {
        let src = "title: 日本語 x\n";
        let d = Diagnostic::new("a.yaml", "m").at(loc(1, 8), 3);
        let out = d.render(Some(src), false);
        assert!(out.contains("\n   |        ^^^^^^\n"), "{out}");
        let d = Diagnostic::new("a.yaml", "m").at(loc(1, 12), 1);
        let out = d.render(Some(src), false);
        assert!(out.contains("\n   |               ^\n"), "{out}");
    }

    #[test]
    fn wide_gutter_and_no_source() {
        let src = "a\n".repeat(120);
        let d = Diagnostic::new("a.yaml", "m").at(loc(110, 1), 1).hint("h");
        let out = d.render(Some(&src), false);
        assert!(
            out.starts_with("error: m\n    --> a.yaml:110:1\n     |\n 110 | a\n     | ^\n"),
            "{out}"
        );
        let out = d.render(None, false);
        assert_eq!(out, "error: m\n    --> a.yaml:110:1\n     = hint: h\n");
    }

    #[test]
    fn note_in_other_file() {
        let d = Diagnostic::new("b.yaml", "duplicate flow id `x`")
            .at(loc(1, 5), 1)
            .note("a.yaml", loc(1, 5), "first defined here");
        let a: Arc<str> = Arc::from("id: x\n");
        let b: Arc<str> = Arc::from("id: x\n");
        let out = d.render_with(
            &|p: &Path| {
                if p == Path::new("a.yaml") {
                    Some(a.clone())
                } else {
                    Some(b.clone())
                }
            },
            false,
        );
        assert!(
            out.contains(
                "note: first defined here\n  --> a.yaml:1:5\n   |\n 1 | id: x\n   |     ^\n"
            ),
            "{out}"
        );
        let out = d.render(Some("id: x\n"), false);
        assert!(
            out.contains("= note: first defined here (a.yaml:1:5)"),
            "{out}"
        );
    }

    #[test]
    fn messages_stay_on_one_line() {
        let d = Diagnostic::new("a.yaml", "invalid flow id `a\nb`");
        assert!(d
            .render(None, false)
            .starts_with("error: invalid flow id `a⏎b`\n"));
    }

    #[test]
    fn colour_only_when_asked() {
        let d = Diagnostic::new("a.yaml", "m").at(loc(1, 1), 1);
        assert!(!d.render(Some("x\n"), false).contains('\x1b'));
        assert!(d
            .render(Some("x\n"), true)
            .contains("\x1b[1;31merror\x1b[0m"));
    }

    #[test]
    fn token_lengths() {
        let src = "a: \"quo\\\"ted\" # c\nb: { x: 1 }\nc: plain words, next\nd: tail  # c\n";
        assert_eq!(token_len(src, loc(1, 4)), 10);
        assert_eq!(token_len(src, loc(2, 4)), 8);
        assert_eq!(token_len(src, loc(3, 4)), 11);
        assert_eq!(token_len(src, loc(4, 4)), 4);
        assert_eq!(token_len(src, loc(9, 4)), 1);
    }
}
