//! `[health]`: the pre-check's endpoints on the target, its timeout, and more endpoints by
//! name (`[health.extra]`).

use std::time::Duration;

use super::super::file::HealthFile;
use super::super::{CliOverrides, ConfigError};
use super::duration;

#[derive(Debug, Clone)]
pub struct HealthConfig {
    pub enabled: bool,
    pub path: String,
    pub staging_path: String,
    pub timeout: Duration,
    /// `[health.extra]`: (name, absolute URL) of more endpoints to check, e.g. the mail
    /// catcher's own health; each must answer 2xx (and healthy, when it answers JSON).
    pub extra: Vec<(String, String)>,
}

pub(super) fn health(file: HealthFile, cli: &CliOverrides) -> Result<HealthConfig, ConfigError> {
    let mut extra_health = Vec::new();
    for (name, u) in &file.extra {
        let what = format!("health.extra.{name}");
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name || name == "health" || name == "staging-e2e-health" {
            return Err(ConfigError::Invalid {
                what,
                message: "name the endpoint with letters, digits, `-` and `_`, other than `health` and `staging-e2e-health` (e.g. `mailcatcher`)".to_owned(),
            });
        }
        match url::Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                extra_health.push((name.clone(), u.clone()));
            }
            _ => {
                return Err(ConfigError::Invalid {
                    what,
                    message: format!(
                        "`{u}` is not an absolute http(s) URL; write the whole URL, e.g. `http://127.0.0.1:1080/healthz`"
                    ),
                })
            }
        }
    }
    Ok(HealthConfig {
        extra: extra_health,
        enabled: !cli.skip_health_check && file.enabled.unwrap_or(true),
        path: file.path.unwrap_or_else(|| "/health".to_owned()),
        staging_path: file
            .staging_path
            .unwrap_or_else(|| "/staging/e2e/health".to_owned()),
        timeout: duration(
            "health.timeout",
            file.timeout.as_deref(),
            Duration::from_secs(10),
        )?,
    })
}
