//! flows.toml as written ([`super::file`]) + env + CLI → [`Config`]: one file per concern,
//! each owning its resolved type, its defaults and its checks. A bad value is a
//! `ConfigError::Invalid` named by its dotted key, which [`Config::from_str`] then points at
//! in the file. Concerns are resolved in a fixed order, so the first error found is stable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::env::EnvLookup;
use super::file::FileConfig;
use super::{CliOverrides, Config, ConfigError};
use crate::flowfile::duration::parse_duration;

mod browser;
mod health;
mod limits;
mod mail;
mod paths;
mod sessions;
mod target;
mod trace;
mod users;
mod web_server;

pub use browser::{BrowserConfig, BrowserName, Isolation};
pub use health::HealthConfig;
pub use limits::{Timeouts, Workers};
pub use mail::{MailConfig, MailSourceKind};
pub use sessions::SessionsConfig;
pub use target::{random_token, BasicAuth, Secret};
pub use trace::TraceMode;
pub use users::User;
pub use web_server::WebServer;

pub(super) use paths::clean_path;

pub(super) fn resolve(
    path: &Path,
    root: PathBuf,
    profile: String,
    mut file: FileConfig,
    env: EnvLookup<'_>,
    cli: &CliOverrides,
) -> Result<Config, ConfigError> {
    let (base_url, api_url) = target::urls(&mut file.target, env, cli)?;
    let secret = target::secret(&mut file.target, env);
    let users = users::users(file.users, env)?;
    let vars = users::vars(file.vars, env)?;
    let timeouts = limits::timeouts(&file.timeouts, cli)?;
    let max_failures = limits::max_failures(&file.suite, cli);
    let workers = limits::workers(&file.suite, cli)?;
    let each_limits = limits::each_limits(&file.suite)?;
    // With a web server the base URL is the server's; without one, it must be given, unless
    // the suite never reaches the target (see `Config::require_target`, once flows are read).
    let web_server = web_server::web_server(file.web_server, &root, env, cli)?;
    let accept_invalid_certs = target::accept_invalid_certs(&file.target, env)?;
    let basic_auth = match target::basic_auth(file.target.basic_auth.take(), env) {
        Err(_) if cli.checking_only => None,
        other => other?,
    };
    let browser = browser::browser(file.browser, accept_invalid_certs, cli)?;
    let mail = mail::mail(file.mail, env)?;
    let health = health::health(file.health, cli)?;
    let paths = paths::paths(&root, &mut file.suite, file.artifacts, file.state, cli)?;
    let sessions = sessions::sessions(file.sessions);
    let trace = trace::trace(&file.trace, cli)?;

    Ok(Config {
        file: path.to_owned(),
        suite_name: file.suite.name.unwrap_or_else(|| "flows".to_owned()),
        profile,
        flows_dir: paths.flows_dir,
        base_url,
        api_url,
        secret,
        secret_header: file
            .target
            .secret_header
            .unwrap_or_else(|| "X-Staging-E2E-Secret".to_owned()),
        users,
        vars,
        timeouts,
        web_server,
        browser,
        mail,
        health,
        output_root: paths.output_root,
        root,
        trace,
        state_dir: paths.state_dir,
        sessions,
        basic_auth,
        accept_invalid_certs,
        max_failures,
        workers,
        each_limits,
        env_file: None,
        secret_env: file.secrets.env,
        update_snapshots: crate::visual::UpdateSnapshots::None,
        update_routes_baseline: false,
    })
}

/// The duration written for the key `what`, or `default` when it is not written.
fn duration(what: &str, text: Option<&str>, default: Duration) -> Result<Duration, ConfigError> {
    match text {
        None => Ok(default),
        Some(t) => parse_duration(t).map_err(|e| ConfigError::Invalid {
            what: what.to_owned(),
            message: format!("{}: {}", e.message, e.hint),
        }),
    }
}
