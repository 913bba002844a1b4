//! Where in flows.toml a problem is: profiles laid over the base tables with their places
//! kept, a dotted key's value found by its span, and a message at a span turned into a
//! [`Diagnostic`] (file:line:col, the line, a caret). Decides nothing about values.

use std::path::Path;

use super::ConfigError;
use crate::flowfile::diagnostic::Diagnostic;
use crate::flowfile::span::Loc;

/// Lays a profile's tables over the base ones, key by key; values keep their places in the
/// file, so an error in a profile's value points there.
pub(super) fn merge<'i>(base: &mut toml::de::DeTable<'i>, overlay: &toml::de::DeTable<'i>) {
    for (k, v) in overlay {
        let existing = base.get_mut(k.get_ref().as_ref());
        match (existing.map(|e| e.get_mut()), v.get_ref()) {
            (Some(toml::de::DeValue::Table(b)), toml::de::DeValue::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Where the value of the dotted key `path` (`timeouts.step`) is written, if it is.
pub(super) fn value_span(
    table: &toml::de::DeTable<'_>,
    path: &str,
) -> Option<std::ops::Range<usize>> {
    let mut parts = path.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        match value.get_ref() {
            toml::de::DeValue::Table(t) => value = t.get(part)?,
            _ => return None,
        }
    }
    Some(value.span())
}

/// A toml error (syntax, unknown field, wrong type) at its place in the file.
pub(super) fn located_toml_error(
    path: &Path,
    text: &str,
    e: &toml::de::Error,
    what: Option<&str>,
) -> ConfigError {
    let message = e.message().trim_end().to_owned();
    match e.span() {
        Some(span) => located(path, text, span, message, what),
        None => ConfigError::Parse {
            path: path.to_owned(),
            message,
        },
    }
}

/// `message` at the bytes `span` of flows.toml.
pub(super) fn located(
    path: &Path,
    text: &str,
    span: std::ops::Range<usize>,
    message: String,
    what: Option<&str>,
) -> ConfigError {
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let col = before[line_start..].chars().count() + 1;
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let end = span.end.clamp(start, line_end);
    let len = text.get(start..end).map_or(1, |t| t.chars().count());
    let message = match what {
        Some(key) => format!("`{key}`: {message}"),
        None => message,
    };
    let diagnostic = Diagnostic::new(path, message).at(
        Loc {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        },
        len,
    );
    ConfigError::Located(Box::new(diagnostic), std::sync::Arc::from(text))
}
