//! `[web_server]`: the command that starts the app for a local run, unless disabled (the
//! staging profile, `--skip-web-server`, PLAYWRIGHT_SKIP_WEBSERVER).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::env::{env_bool, EnvLookup, ENV_SKIP_WEBSERVER};
use super::super::file::WebServerFile;
use super::super::{CliOverrides, ConfigError};
use super::{clean_path, duration};

#[derive(Debug, Clone)]
pub struct WebServer {
    pub command: Vec<String>,
    pub cwd: PathBuf,
    pub ready_path: String,
    pub startup_timeout: Duration,
    pub env: BTreeMap<String, String>,
}

/// The web server to start, or `None` when there is none or it is switched off.
pub(super) fn web_server(
    file: Option<WebServerFile>,
    root: &Path,
    env: EnvLookup<'_>,
    cli: &CliOverrides,
) -> Result<Option<WebServer>, ConfigError> {
    let skip_web_server =
        cli.skip_web_server || env_bool(env, ENV_SKIP_WEBSERVER)?.unwrap_or(false);
    let ws = match file {
        Some(ws) if ws.enabled.unwrap_or(true) && !skip_web_server => ws,
        _ => return Ok(None),
    };
    let command_line = ws.command.ok_or_else(|| ConfigError::Invalid {
        what: "web_server.command".to_owned(),
        message: "missing: the command that starts the app, e.g. \"target/release/helpdesk --listen 127.0.0.1:{port}\"".to_owned(),
    })?;
    let command: Vec<String> = command_line.split_whitespace().map(str::to_owned).collect();
    if command.is_empty() {
        return Err(ConfigError::Invalid {
            what: "web_server.command".to_owned(),
            message: "is empty".to_owned(),
        });
    }
    Ok(Some(WebServer {
        command,
        cwd: clean_path(&root.join(ws.cwd.unwrap_or_default())),
        ready_path: ws.ready_path.unwrap_or_else(|| "/up".to_owned()),
        startup_timeout: duration(
            "web_server.startup_timeout",
            ws.startup_timeout.as_deref(),
            Duration::from_secs(30),
        )?,
        env: ws.env,
    }))
}
