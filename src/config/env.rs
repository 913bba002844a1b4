//! The environment variables the runner reads itself (their names) and how a value is read.
//! Variables that flows.toml names (`email_env`, `password_env`, …) are looked up through the
//! same [`EnvLookup`].

use super::ConfigError;

/// Environment lookups go through this, so tests can supply their own environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Env names from seed 000 that work as they are.
pub const ENV_BASE_URL: [&str; 2] = ["PLAYWRIGHT_BASE_URL", "STAGING_BASE_URL"];
pub const ENV_API_URL: &str = "PLAYWRIGHT_STAGING_API_URL";
pub const ENV_SKIP_WEBSERVER: &str = "PLAYWRIGHT_SKIP_WEBSERVER";
pub const ENV_STAGING_PROFILE: &str = "PLAYWRIGHT_STAGING";
pub const ENV_BASIC_AUTH_USER: &str = "STAGING_BASIC_AUTH_USER";
pub const ENV_BASIC_AUTH_PASSWORD: &str = "STAGING_BASIC_AUTH_PASSWORD";
pub const ENV_ACCEPT_INVALID_CERTS: &str = "STAGING_ACCEPT_INVALID_CERTS";
/// The staging E2E secret, unless `[target] secret_env` names another variable.
pub const ENV_E2E_SECRET: &str = "STAGING_E2E_SECRET";
/// A fixed OTP used instead of reading mail, unless `[mail] fixed_otp_env` names another.
pub const ENV_FIXED_OTP: &str = "STAGING_E2E_FIXED_OTP";

/// Is the variable set to something other than empty, `0` or `false`?
pub(super) fn env_true(env: EnvLookup<'_>, name: &str) -> bool {
    env(name).is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// `1`, `true`, `yes` / `0`, `false`, `no`.
pub(super) fn env_flag(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(ConfigError::Invalid {
            what: format!("env {name}"),
            message: format!("`{other}` is not a yes or no; use 1 or 0"),
        }),
    }
}

/// The value, unless it is blank (an env var set to "" counts as unset).
pub(super) fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}
