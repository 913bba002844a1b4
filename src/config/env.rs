//! The environment variables the runner reads itself (their names) and how a value is read:
//! [`parse_bool`] is the one reading of a yes/no variable. Variables that flows.toml names
//! (`email_env`, `password_env`, …) are looked up through the same [`EnvLookup`].

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

/// A yes/no value as people write it, case and surrounding blanks ignored: `1`, `true`, `yes`,
/// `on` are yes; `0`, `false`, `no`, `off` are no. Anything else (a blank too) is `None`: a
/// typo must not silently mean either.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The yes/no variable `name` ([`parse_bool`]): unset or blank is `None` (the caller's
/// default applies, as for every variable), a value that is neither yes nor no an error naming
/// the variable and what to write.
pub fn env_bool(env: EnvLookup<'_>, name: &str) -> Result<Option<bool>, ConfigError> {
    let Some(value) = nonempty(env(name)) else {
        return Ok(None);
    };
    match parse_bool(&value) {
        Some(b) => Ok(Some(b)),
        None => Err(ConfigError::Invalid {
            what: format!("env {name}"),
            message: format!(
                "`{}` is not a yes or no; use 1 or 0 (true/false, yes/no, on/off)",
                value.trim()
            ),
        }),
    }
}

/// The value, unless it is blank (an env var set to "" counts as unset).
pub(super) fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_and_no_in_every_accepted_spelling() {
        for yes in ["1", "true", "TRUE", "Yes", "on", " on "] {
            assert_eq!(parse_bool(yes), Some(true), "{yes:?}");
        }
        for no in ["0", "false", "False", "no", "NO", "off", " off "] {
            assert_eq!(parse_bool(no), Some(false), "{no:?}");
        }
        for neither in ["", "  ", "2", "y", "n", "enabled", "-1", "truee"] {
            assert_eq!(parse_bool(neither), None, "{neither:?}");
        }
    }

    #[test]
    fn unset_is_none_and_a_typo_names_the_variable() {
        let env = |name: &str| match name {
            "A" => Some("off".to_owned()),
            "B" => Some("maybe".to_owned()),
            "BLANK" => Some(" ".to_owned()),
            _ => None,
        };
        assert_eq!(env_bool(&env, "A").ok(), Some(Some(false)));
        assert_eq!(env_bool(&env, "UNSET").ok(), Some(None));
        assert_eq!(env_bool(&env, "BLANK").ok(), Some(None));
        let err = env_bool(&env, "B").expect_err("not a yes or no");
        let text = err.to_string();
        assert!(
            text.starts_with("env B: `maybe` is not a yes or no"),
            "{text}"
        );
    }
}
