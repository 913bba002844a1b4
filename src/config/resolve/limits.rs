//! How long and how much: `[timeouts]`, `[suite] max_failures`, `[suite] workers` and the
//! bounds of an `each:` file (`each_max_bytes`, `each_max_rows`).

use std::time::Duration;

use super::super::file::{SuiteFile, TimeoutsFile, WorkersSetting};
use super::super::{CliOverrides, ConfigError};
use super::duration;
use crate::flowfile::check::EachLimits;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub step: Duration,
    pub navigation: Duration,
    pub flow: Duration,
    pub mail: Duration,
    /// The whole run; `None`: no limit.
    pub run: Option<Duration>,
}

/// Each timeout as written or its default; the run timeout from `--run-timeout` first.
pub(super) fn timeouts(file: &TimeoutsFile, cli: &CliOverrides) -> Result<Timeouts, ConfigError> {
    Ok(Timeouts {
        step: duration(
            "timeouts.step",
            file.step.as_deref(),
            Duration::from_secs(10),
        )?,
        navigation: duration(
            "timeouts.navigation",
            file.navigation.as_deref(),
            Duration::from_secs(30),
        )?,
        flow: duration(
            "timeouts.flow",
            file.flow.as_deref(),
            Duration::from_secs(120),
        )?,
        mail: duration(
            "timeouts.mail",
            file.mail.as_deref(),
            Duration::from_secs(30),
        )?,
        run: match (cli.run_timeout, file.run.as_deref()) {
            (Some(d), _) => Some(d),
            (None, Some(text)) => Some(duration("timeouts.run", Some(text), Duration::ZERO)?),
            (None, None) => None,
        },
    })
}

/// `--max-failures` over `[suite] max_failures`; 0 means no limit.
pub(super) fn max_failures(suite: &SuiteFile, cli: &CliOverrides) -> Option<u32> {
    cli.max_failures.or(suite.max_failures).filter(|&n| n > 0)
}

/// How many flows run side by side, as asked: a count or one per core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    Count(usize),
    /// One per core (`std::thread::available_parallelism`).
    Auto,
}

impl Workers {
    /// The number of workers this machine gets.
    pub fn resolve(self) -> usize {
        match self {
            Workers::Count(n) => n.max(1),
            Workers::Auto => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl std::str::FromStr for Workers {
    type Err = String;

    /// `--workers`: `auto` or a count of at least 1.
    fn from_str(text: &str) -> Result<Workers, String> {
        if text.eq_ignore_ascii_case("auto") {
            return Ok(Workers::Auto);
        }
        match text.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Workers::Count(n)),
            _ => Err(format!(
                "`{text}` is not a number of workers: give a count of at least 1, or `auto` (one per core)"
            )),
        }
    }
}

/// `--workers` over `[suite] workers`; default 1.
pub(super) fn workers(suite: &SuiteFile, cli: &CliOverrides) -> Result<usize, ConfigError> {
    if let Some(w) = cli.workers {
        return Ok(w.resolve());
    }
    let invalid = |shown: String| {
        ConfigError::Invalid {
        what: "suite.workers".to_owned(),
        message: format!(
            "{shown} is not a number of workers: give a count of at least 1, or \"auto\" (one per core)"
        ),
    }
    };
    match &suite.workers {
        None => Ok(1),
        Some(WorkersSetting::Count(n)) => usize::try_from(*n)
            .ok()
            .filter(|&n| n >= 1)
            .map(|n| Workers::Count(n).resolve())
            .ok_or_else(|| invalid(n.to_string())),
        Some(WorkersSetting::Word(w)) => w
            .parse::<Workers>()
            .map(Workers::resolve)
            .map_err(|_| invalid(format!("\"{w}\""))),
    }
}

/// The bounds of an `each:` file; each at least 1.
pub(super) fn each_limits(suite: &SuiteFile) -> Result<EachLimits, ConfigError> {
    let mut each_limits = EachLimits::default();
    for (key, zero) in [
        ("suite.each_max_bytes", suite.each_max_bytes == Some(0)),
        ("suite.each_max_rows", suite.each_max_rows == Some(0)),
    ] {
        if zero {
            return Err(ConfigError::Invalid {
                what: key.to_owned(),
                message: "must be at least 1 (it bounds what an `each:` file may hold)".to_owned(),
            });
        }
    }
    if let Some(n) = suite.each_max_bytes {
        each_limits.max_bytes = n;
    }
    if let Some(n) = suite.each_max_rows {
        each_limits.max_rows = n;
    }
    Ok(each_limits)
}
