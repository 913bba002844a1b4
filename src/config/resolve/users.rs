//! `[users]` (who a flow acts as: e-mail, name, password from the environment) and `[vars]`
//! (suite variables, each from its env var or its written value).

use std::collections::BTreeMap;

use super::super::env::{nonempty, EnvLookup};
use super::super::file::{UserFile, VarFile};
use super::super::ConfigError;
use super::Secret;

#[derive(Debug, Clone)]
pub struct User {
    pub key: String,
    pub email: String,
    pub name: String,
    /// The env var named by `password_env`, when configured.
    pub password_env: Option<String>,
    /// Its value, when set (a secret: registered with the redactor when the run starts).
    pub password: Option<Secret>,
}

/// Every user by key; the e-mail's env var wins over the written e-mail, one is required.
pub(super) fn users(
    file: BTreeMap<String, UserFile>,
    env: EnvLookup<'_>,
) -> Result<BTreeMap<String, User>, ConfigError> {
    let mut users = BTreeMap::new();
    for (key, u) in file {
        if key.trim().is_empty() {
            return Err(ConfigError::Invalid {
                what: format!("users.{key:?}"),
                message: "a user needs a key that flows can name (`user: requester`): write `[users.requester]`"
                    .to_owned(),
            });
        }
        let email = u
            .email_env
            .as_deref()
            .and_then(|n| nonempty(env(n)))
            .or(u.email)
            .ok_or_else(|| ConfigError::Invalid {
                what: format!("users.{key}"),
                message: match &u.email_env {
                    Some(n) => format!("no e-mail: set `email` in flows.toml or the env var {n}"),
                    None => "no e-mail: set `email = \"…\"`".to_owned(),
                },
            })?;
        let name = u.name.unwrap_or_else(|| key.clone());
        let password = u
            .password_env
            .as_deref()
            .and_then(|n| nonempty(env(n)).map(|value| (n, value)))
            .map(|(n, value)| Secret {
                value,
                origin: format!("env {n}"),
            });
        users.insert(
            key.clone(),
            User {
                key,
                email,
                name,
                password_env: u.password_env,
                password,
            },
        );
    }
    Ok(users)
}

/// Every suite variable's value: its env var when set, else the written value; one is required.
pub(super) fn vars(
    file: BTreeMap<String, VarFile>,
    env: EnvLookup<'_>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut vars = BTreeMap::new();
    for (name, v) in file {
        let value = match v {
            VarFile::Plain(s) => Some(s),
            VarFile::WithEnv {
                value,
                env: var_env,
            } => var_env.as_deref().and_then(|n| nonempty(env(n))).or(value),
        };
        let value = value.ok_or_else(|| ConfigError::Invalid {
            what: format!("vars.{name}"),
            message: "no value: give `value` or set its env var".to_owned(),
        })?;
        vars.insert(name, value);
    }
    Ok(vars)
}
