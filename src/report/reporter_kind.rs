//! The names `--reporter` accepts.

use std::fmt;
use std::str::FromStr;

use super::ReportError;

/// An output format of a run. `json` (staging-run-report.json) and the event log are always
/// written and the `list` lines always printed, whatever is asked; the others are added beside
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReporterKind {
    /// A line per flow on the terminal (the default).
    List,
    /// `staging-run-report.json`, always written.
    Json,
    /// `junit.xml`.
    Junit,
    /// A Markdown summary appended to `$GITHUB_STEP_SUMMARY`, and annotations on stdout.
    Github,
    /// `index.html`: the run, its flows (with links to their traces and failure screenshots),
    /// criteria, mail latencies and realtime frames, readable offline from `file://`.
    Html,
    /// `ctrf-report.json`: the Common Test Report Format, for the CTRF tools.
    Ctrf,
}

impl ReporterKind {
    pub const ALL: [ReporterKind; 6] = [
        ReporterKind::List,
        ReporterKind::Json,
        ReporterKind::Junit,
        ReporterKind::Github,
        ReporterKind::Html,
        ReporterKind::Ctrf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReporterKind::List => "list",
            ReporterKind::Json => "json",
            ReporterKind::Junit => "junit",
            ReporterKind::Github => "github",
            ReporterKind::Html => "html",
            ReporterKind::Ctrf => "ctrf",
        }
    }

    /// Parses a comma-separated list such as `list,json,junit`; blanks are ignored and
    /// repeated names kept once.
    pub fn parse_list(list: &str) -> Result<Vec<ReporterKind>, ReportError> {
        let mut kinds = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let kind = name.parse()?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }
}

/// Parses `--reporter` values: each may itself be a comma-separated list
/// (`--reporter list,junit --reporter github`).
pub fn parse_reporters<S: AsRef<str>>(values: &[S]) -> Result<Vec<ReporterKind>, ReportError> {
    let mut kinds = Vec::new();
    for value in values {
        for kind in ReporterKind::parse_list(value.as_ref())? {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    Ok(kinds)
}

impl FromStr for ReporterKind {
    type Err = ReportError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let name = name.trim();
        ReporterKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| ReportError::UnknownReporter {
                name: name.to_owned(),
            })
    }
}

impl fmt::Display for ReporterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_comma_separated_list_once_per_name() {
        assert_eq!(
            ReporterKind::parse_list("list, junit,,JUNIT,github,html").expect("parse"),
            vec![
                ReporterKind::List,
                ReporterKind::Junit,
                ReporterKind::Github,
                ReporterKind::Html
            ]
        );
    }

    #[test]
    fn unknown_name_is_an_error_listing_the_known_ones() {
        let err = ReporterKind::parse_list("list,junt").expect_err("junt is unknown");
        assert_eq!(
            err.to_string(),
            "unknown reporter `junt`; expected one of: list, json, junit, github, html"
        );
    }
}
