//! Suite configuration: `flows/flows.toml` + a profile + environment + CLI → [`Config`].
//!
//! Precedence, highest first: CLI flags, environment variables, the selected profile's table,
//! the file's top-level tables, built-in defaults. Owns nothing that runs.
//!
//! Profiles work like cargo-nextest's: `[profiles.staging]` is deep-merged over the top-level
//! tables when `--profile staging` (or `PLAYWRIGHT_STAGING=1`) selects it.
//!
//! Passes, each in its own file: the text is parsed with spans and the profile laid over it
//! (`located`), deserialized into the file's types (`file`), then each concern is resolved with
//! env and CLI (`resolve/`); environment names and their reading are in `env`, the `.env` file
//! in `env_file`. A bad value is shown at its place in flows.toml.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::flowfile::diagnostic::Diagnostic;

mod env;
mod env_file;
mod file;
mod located;
mod resolve;
#[cfg(test)]
mod tests;

pub use crate::flowfile::browser_settings::{accept_languages, check_locale, Viewport};
pub use env::{
    env_bool, parse_bool, EnvLookup, ENV_ACCEPT_INVALID_CERTS, ENV_API_URL, ENV_BASE_URL,
    ENV_BASIC_AUTH_PASSWORD, ENV_BASIC_AUTH_USER, ENV_E2E_SECRET, ENV_FIXED_OTP,
    ENV_SKIP_WEBSERVER, ENV_STAGING_PROFILE,
};
pub use env_file::{EnvFile, ENV_FILE_NAME};
pub use resolve::{
    random_token, BasicAuth, BrowserConfig, BrowserName, HealthConfig, Isolation, MailConfig,
    MailSourceKind, Secret, SessionsConfig, Timeouts, TraceMode, User, WebServer, Workers,
};

use file::FileConfig;
use located::{located, located_toml_error, merge, value_span};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: unknown profile `{profile}`; profiles in this file: {known}")]
    UnknownProfile {
        path: PathBuf,
        profile: String,
        known: String,
    },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    /// A malformed line of the `.env` file (`path:line`).
    #[error("{location}: {message}")]
    EnvFile { location: String, message: String },
    /// A problem at a place in flows.toml: rendered with file:line:col and a caret by
    /// [`ConfigError::render`].
    #[error("{}:{}: {}", .0.file.display(), .0.loc.map(|l| l.to_string()).unwrap_or_default(), .0.message)]
    Located(Box<Diagnostic>, std::sync::Arc<str>),
}

impl ConfigError {
    /// The error as the user reads it: through the flow files' renderer (`--> file:line:col`,
    /// the line, a caret, the hint) when it has a place, else `error: …`.
    pub fn render(&self, color: bool) -> String {
        match self {
            ConfigError::Located(d, source) => d.render(Some(source), color),
            other => format!("error: {other}\n"),
        }
    }
}

/// Overrides from the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub profile: Option<String>,
    pub base_url: Option<String>,
    pub output_dir: Option<PathBuf>,
    pub headed: bool,
    pub webdriver_url: Option<String>,
    /// `--isolation`.
    pub isolation: Option<Isolation>,
    /// `--browser`.
    pub browser: Option<BrowserName>,
    pub skip_web_server: bool,
    pub skip_health_check: bool,
    pub trace: Option<TraceMode>,
    /// `--run-timeout`.
    pub run_timeout: Option<Duration>,
    /// `--max-failures`.
    pub max_failures: Option<u32>,
    /// `--workers` (a count or `auto`).
    pub workers: Option<Workers>,
    /// `flows check` / `list` / `flaky`: nothing will be run, so credentials that only a run
    /// needs (the basic-auth password) may be missing.
    pub checking_only: bool,
}

/// The resolved configuration the rest of the runner uses.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub root: PathBuf,
    pub suite_name: String,
    pub profile: String,
    pub flows_dir: PathBuf,
    /// `None` until the web server picks a port (then filled in by the runner).
    pub base_url: Option<String>,
    pub api_url: Option<String>,
    pub secret: Option<Secret>,
    pub secret_header: String,
    pub users: BTreeMap<String, User>,
    pub vars: BTreeMap<String, String>,
    pub timeouts: Timeouts,
    pub web_server: Option<WebServer>,
    pub browser: BrowserConfig,
    pub mail: MailConfig,
    pub health: HealthConfig,
    pub output_root: PathBuf,
    pub trace: TraceMode,
    /// The runner's local state: `<state_dir>/state/<profile>/` (saved sessions),
    /// `<state_dir>/history.jsonl` (run history). Git-ignored, never under `output_root`.
    pub state_dir: PathBuf,
    pub sessions: SessionsConfig,
    /// HTTP basic auth for the target's origins (base_url, api_url).
    pub basic_auth: Option<BasicAuth>,
    /// Take the target's TLS certificates as they are (self-signed staging).
    pub accept_invalid_certs: bool,
    /// Stop starting flows after this many failed; `None`: no limit.
    pub max_failures: Option<u32>,
    /// How many flows run side by side (`--workers`, `[suite] workers`; `auto` resolved to
    /// the number of cores). At least 1.
    pub workers: usize,
    /// `[suite] each_max_bytes`, `each_max_rows`.
    pub each_limits: crate::flowfile::check::EachLimits,
    /// The `.env` file beside flows.toml, when there is one.
    pub env_file: Option<EnvFile>,
    /// `[secrets] env`: environment variables whose values are secrets (`{{ env.NAME }}`).
    pub secret_env: Vec<String>,
    /// `flows run --update-snapshots`: which `expect_screenshot` baselines the run writes.
    pub update_snapshots: crate::visual::UpdateSnapshots,
    /// `flows routes --update-baseline`: `routes` steps write what they see to their baseline
    /// instead of comparing with it.
    pub update_routes_baseline: bool,
}

impl Config {
    /// Does `suite` reach the target app? Not when every step is a `mail` step reading a mail
    /// catcher (MailDev, Mailpit): such a suite needs neither a base URL nor the health
    /// pre-check. The staging endpoint is on the app itself, so reading it counts.
    pub fn needs_target(&self, suite: &crate::flowfile::check::Suite) -> bool {
        let catcher = matches!(
            self.mail.source,
            MailSourceKind::MailDev | MailSourceKind::Mailpit
        );
        suite
            .flows
            .iter()
            .flat_map(|f| &f.steps)
            .any(|p| !matches!(p.step.value, crate::flowfile::ast::Step::Mail(_)) || !catcher)
    }

    /// The base URL, when `suite` needs the target: given (or a web server's) or an error
    /// saying how to give it.
    pub fn require_target(&self, suite: &crate::flowfile::check::Suite) -> Result<(), ConfigError> {
        if self.web_server.is_none() && self.base_url.is_none() && self.needs_target(suite) {
            return Err(ConfigError::Invalid {
                what: "base URL".to_owned(),
                message: "not set: pass --base-url, set PLAYWRIGHT_BASE_URL (or STAGING_BASE_URL), or set target.base_url in flows.toml (a suite whose steps only read mail from MailDev or Mailpit needs none)".to_owned(),
            });
        }
        Ok(())
    }

    /// Loads `path` and resolves it with `env` and `cli`. A `.env` file beside `path` supplies
    /// environment values the real environment does not set.
    pub fn load(
        path: &Path,
        env: EnvLookup<'_>,
        cli: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let env_file = EnvFile::load_beside(path)?;
        let mut config = match &env_file {
            Some(file) => Self::from_str(path, &text, &|name| file.lookup(env, name), cli)?,
            None => Self::from_str(path, &text, env, cli)?,
        };
        config.env_file = env_file;
        Ok(config)
    }

    pub fn from_str(
        path: &Path,
        text: &str,
        env: EnvLookup<'_>,
        cli: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            path: path.to_owned(),
            message,
        };
        // Parsed with spans, so every error points at its place in the file: a syntax error,
        // an unknown field or a wrong type (from serde), and a bad value found later (`resolve`).
        let mut doc =
            toml::de::DeTable::parse(text).map_err(|e| located_toml_error(path, text, &e, None))?;
        let table = doc.get_mut();
        let profiles = match table.remove("profiles") {
            Some(v) => match v.into_inner() {
                toml::de::DeValue::Table(t) => t,
                _ => return Err(parse_err("`profiles` must be a table of tables".into())),
            },
            None => toml::de::DeTable::default(),
        };
        let profile = match cli.profile.clone() {
            Some(p) => p,
            None if env::env_bool(env, ENV_STAGING_PROFILE)?.unwrap_or(false) => {
                "staging".to_owned()
            }
            None => "local".to_owned(),
        };
        match profiles.get(profile.as_str()).map(|v| v.get_ref()) {
            Some(toml::de::DeValue::Table(overlay)) => merge(table, overlay),
            Some(_) => return Err(parse_err(format!("`profiles.{profile}` must be a table"))),
            None if profile == "local" => {}
            None => {
                return Err(ConfigError::UnknownProfile {
                    path: path.to_owned(),
                    profile,
                    known: if profiles.is_empty() {
                        "none (define [profiles.NAME])".to_owned()
                    } else {
                        profiles
                            .keys()
                            .map(|k| k.get_ref().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                });
            }
        }
        let spans = doc.clone();
        let file = FileConfig::deserialize(toml::de::Deserializer::from(doc))
            .map_err(|e| located_toml_error(path, text, &e, None))?;
        let root = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        resolve::resolve(path, root, profile, file, env, cli).map_err(|e| match e {
            // A setting's bad value, at the value (or, set by a profile, at the profile's).
            ConfigError::Invalid { what, message } => match value_span(spans.get_ref(), &what) {
                Some(span) => located(path, text, span, message, Some(&what)),
                None => ConfigError::Invalid { what, message },
            },
            other => other,
        })
    }

    /// The user with this key; the checker guarantees flows name only configured users.
    pub fn user(&self, key: &str) -> Option<&User> {
        self.users.get(key)
    }
}
