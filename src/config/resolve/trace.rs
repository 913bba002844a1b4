//! `[trace] mode` (or `--trace`): which flows record a trace and which keep it.

use super::super::file::TraceFile;
use super::super::{CliOverrides, ConfigError};

/// When a flow keeps a trace (one self-contained HTML file with every step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceMode {
    Off,
    /// Every flow, with screenshots before and after each step.
    On,
    /// Every flow records; only failed flows keep their trace.
    #[default]
    RetainOnFailure,
    /// Only retries record (needs --retries).
    OnFirstRetry,
}

impl TraceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceMode::Off => "off",
            TraceMode::On => "on",
            TraceMode::RetainOnFailure => "retain-on-failure",
            TraceMode::OnFirstRetry => "on-first-retry",
        }
    }

    /// Does attempt `attempt` (1-based) of a flow record a trace?
    pub fn records(self, attempt: u32) -> bool {
        match self {
            TraceMode::Off => false,
            TraceMode::On | TraceMode::RetainOnFailure => true,
            TraceMode::OnFirstRetry => attempt == 2,
        }
    }
}

impl std::str::FromStr for TraceMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(TraceMode::Off),
            "on" => Ok(TraceMode::On),
            "retain-on-failure" => Ok(TraceMode::RetainOnFailure),
            "on-first-retry" => Ok(TraceMode::OnFirstRetry),
            other => Err(format!(
                "unknown trace mode `{other}`; use off, on, retain-on-failure or on-first-retry"
            )),
        }
    }
}

/// `--trace` over `[trace] mode`, default retain-on-failure.
pub(super) fn trace(file: &TraceFile, cli: &CliOverrides) -> Result<TraceMode, ConfigError> {
    match (cli.trace, file.mode.as_deref()) {
        (Some(t), _) => Ok(t),
        (None, Some(text)) => text.parse().map_err(|message| ConfigError::Invalid {
            what: "trace.mode".to_owned(),
            message,
        }),
        (None, None) => Ok(TraceMode::default()),
    }
}
