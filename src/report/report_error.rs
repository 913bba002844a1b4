//! Errors of the reporters: a bad `--reporter` name, or an output that could not be written.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown reporter `{name}`; expected one of: list, json, junit, github, html")]
    UnknownReporter { name: String },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialize the json report")]
    Json(#[source] serde_json::Error),
    #[error("cannot serialize the junit report")]
    Junit(#[source] quick_junit::SerializeError),
    #[error("cannot write to the terminal")]
    Terminal(#[source] std::io::Error),
}
