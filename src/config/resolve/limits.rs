//! How long and how much: `[timeouts]`, `[suite] max_failures` and the bounds of an `each:`
//! file (`each_max_bytes`, `each_max_rows`).

use std::time::Duration;

use super::super::file::{SuiteFile, TimeoutsFile};
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
