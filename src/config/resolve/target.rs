//! `[target]`: the app's URLs, the staging E2E secret, HTTP basic auth in front of it, and
//! whether its certificates are taken as they are.

use super::super::env::{
    env_bool, nonempty, EnvLookup, ENV_ACCEPT_INVALID_CERTS, ENV_API_URL, ENV_BASE_URL,
    ENV_BASIC_AUTH_PASSWORD, ENV_BASIC_AUTH_USER, ENV_E2E_SECRET,
};
use super::super::file::{BasicAuthFile, TargetFile};
use super::super::{CliOverrides, ConfigError};

/// A secret value; `Debug` never prints it.
#[derive(Clone)]
pub struct Secret {
    pub value: String,
    /// Where it came from, for messages: `env STAGING_E2E_SECRET` or `generated`.
    pub origin: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.origin)
    }
}

/// HTTP basic auth (`[target] basic_auth`); the password is a secret.
#[derive(Debug, Clone)]
pub struct BasicAuth {
    pub username: String,
    pub password: Secret,
    /// What the browser opens with the credentials at session start (a path under the base
    /// URL); `None`: the base URL itself.
    pub sign_in_path: Option<String>,
}

/// The base URL and the API URL (CLI > env > file), without a trailing `/`, each an http(s) URL.
pub(super) fn urls(
    target: &mut TargetFile,
    env: EnvLookup<'_>,
    cli: &CliOverrides,
) -> Result<(Option<String>, Option<String>), ConfigError> {
    let base_url = nonempty(cli.base_url.clone())
        .or_else(|| ENV_BASE_URL.iter().find_map(|n| nonempty(env(n))))
        .or(nonempty(target.base_url.take()))
        .map(|u| u.trim_end_matches('/').to_owned());
    let api_url = nonempty(env(ENV_API_URL))
        .or(nonempty(target.api_url.take()))
        .map(|u| u.trim_end_matches('/').to_owned());
    for (what, url) in [("base URL", &base_url), ("API URL", &api_url)] {
        if let Some(u) = url {
            let parsed = url::Url::parse(u).map_err(|e| ConfigError::Invalid {
                what: what.to_owned(),
                message: format!("`{u}` is not a URL ({e}); write it as http(s)://host[:port]"),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid {
                    what: what.to_owned(),
                    message: format!("`{u}` must start with http:// or https://"),
                });
            }
        }
    }
    Ok((base_url, api_url))
}

/// [`Secret::origin`] of a secret the runner made up for the app it starts.
const GENERATED: &str = "generated for this run";

impl Secret {
    /// Made up by the runner for the app it starts: no app that is already running knows it.
    pub fn is_generated(&self) -> bool {
        self.origin == GENERATED
    }
}

/// The staging E2E secret: from its env var, else generated for this run when
/// `generate_secret` asks (the runner then hands it to the app it starts).
pub(super) fn secret(target: &mut TargetFile, env: EnvLookup<'_>) -> Option<Secret> {
    let secret_env = target
        .secret_env
        .take()
        .unwrap_or_else(|| ENV_E2E_SECRET.to_owned());
    match nonempty(env(&secret_env)) {
        Some(value) => Some(Secret {
            value,
            origin: format!("env {secret_env}"),
        }),
        None if target.generate_secret.unwrap_or(false) => Some(Secret {
            value: random_token(32),
            origin: GENERATED.to_owned(),
        }),
        None => None,
    }
}

/// STAGING_ACCEPT_INVALID_CERTS wins over `[target] accept_invalid_certs` (default no).
pub(super) fn accept_invalid_certs(
    target: &TargetFile,
    env: EnvLookup<'_>,
) -> Result<bool, ConfigError> {
    Ok(env_bool(env, ENV_ACCEPT_INVALID_CERTS)?
        .or(target.accept_invalid_certs)
        .unwrap_or(false))
}

/// `[target] basic_auth` and the env names: the user name from `username_env` (default
/// STAGING_BASIC_AUTH_USER) or `username`, the password from `password_env` (default
/// STAGING_BASIC_AUTH_PASSWORD). Without the table, setting both env vars turns it on.
pub(super) fn basic_auth(
    file: Option<BasicAuthFile>,
    env: EnvLookup<'_>,
) -> Result<Option<BasicAuth>, ConfigError> {
    let configured = file.is_some();
    let file = file.unwrap_or_default();
    let user_env = file
        .username_env
        .unwrap_or_else(|| ENV_BASIC_AUTH_USER.to_owned());
    let password_env = file
        .password_env
        .unwrap_or_else(|| ENV_BASIC_AUTH_PASSWORD.to_owned());
    let username = nonempty(env(&user_env)).or(nonempty(file.username));
    let password = nonempty(env(&password_env));
    let invalid = |message: String| ConfigError::Invalid {
        what: "target.basic_auth".to_owned(),
        message,
    };
    match (username, password) {
        (None, None) if !configured => Ok(None),
        (Some(username), Some(password)) => {
            if username.contains(':') {
                return Err(invalid(format!(
                    "the user name `{username}` contains `:`, which basic auth cannot carry"
                )));
            }
            let sign_in_path = nonempty(file.sign_in_path);
            if let Some(p) = sign_in_path.as_deref().filter(|p| !p.starts_with('/')) {
                return Err(invalid(format!(
                    "sign_in_path `{p}` must be a path starting with `/` (e.g. \"/login\")"
                )));
            }
            Ok(Some(BasicAuth {
                username,
                password: Secret {
                    value: password,
                    origin: format!("env {password_env}"),
                },
                sign_in_path,
            }))
        }
        (Some(_), None) => Err(invalid(format!(
            "no password: set the env var {password_env} (in the environment or the .env file beside flows.toml; never in flows.toml)"
        ))),
        (None, _) => Err(invalid(format!(
            "no user name: set `username = \"…\"` under [target.basic_auth] or the env var {user_env}"
        ))),
    }
}

/// A random URL-safe token (secrets generated for a run).
pub fn random_token(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}
