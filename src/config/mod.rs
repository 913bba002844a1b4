//! Suite configuration: `flows/flows.toml` + a profile + environment + CLI → [`Config`].
//!
//! Precedence, highest first: CLI flags, environment variables, the selected profile's table,
//! the file's top-level tables, built-in defaults. Owns nothing that runs.
//!
//! Profiles work like cargo-nextest's: `[profiles.staging]` is deep-merged over the top-level
//! tables when `--profile staging` (or `PLAYWRIGHT_STAGING=1`) selects it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::flowfile::diagnostic::Diagnostic;
use crate::flowfile::duration::parse_duration;
use crate::flowfile::span::Loc;

mod env_file;

pub use crate::flowfile::browser_settings::{accept_languages, check_locale, Viewport};
pub use env_file::{EnvFile, ENV_FILE_NAME};

/// Environment lookups go through this, so tests can supply their own environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

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

/// The file as written. Every table is optional; defaults fill the rest.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    suite: SuiteFile,
    #[serde(default)]
    target: TargetFile,
    #[serde(default)]
    users: BTreeMap<String, UserFile>,
    #[serde(default)]
    vars: BTreeMap<String, VarFile>,
    #[serde(default)]
    timeouts: TimeoutsFile,
    #[serde(default)]
    web_server: Option<WebServerFile>,
    #[serde(default)]
    browser: BrowserFile,
    #[serde(default)]
    mail: MailFile,
    #[serde(default)]
    health: HealthFile,
    #[serde(default)]
    artifacts: ArtifactsFile,
    #[serde(default)]
    trace: TraceFile,
    #[serde(default)]
    state: StateFile,
    #[serde(default)]
    sessions: SessionsFile,
    #[serde(default)]
    secrets: SecretsFile,
}

/// `[secrets]`: environment variables whose values are secrets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    /// Names of environment variables (or `.env` entries) whose values are redacted wherever
    /// they appear, e.g. `env = ["API_TOKEN"]` for `{{ env.API_TOKEN }}`.
    #[serde(default)]
    env: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    /// The runner's local state (saved sessions, run history), relative to the config file.
    /// Default `../.flows` (beside the default `../artifacts`). Never inside the output dir.
    dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsFile {
    /// Save each user's cookies and localStorage after a flow passes (default true).
    save: Option<bool>,
    /// A path (or URL) that answers 2xx only with a signed-in user's cookies, e.g. `/api/me`.
    /// Used to validate a saved session before reusing it and before saving it.
    check_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceFile {
    /// `off`, `on`, `retain-on-failure` (default), `on-first-retry`.
    mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    name: Option<String>,
    /// Directory of flow files, relative to the config file (default: its own directory).
    flows_dir: Option<PathBuf>,
    /// Stop starting flows after this many failed (0: no limit).
    max_failures: Option<u32>,
    /// Largest `each:` file read, in bytes (default 1 MiB).
    each_max_bytes: Option<u64>,
    /// Most rows an `each:` may give, each one a flow (default 1000).
    each_max_rows: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    base_url: Option<String>,
    api_url: Option<String>,
    /// Name of the env var holding the staging E2E secret.
    secret_env: Option<String>,
    /// Header the secret travels in.
    secret_header: Option<String>,
    /// Generate a random secret for this run when the env var is unset (local profile: the
    /// runner starts the app and hands it the secret).
    generate_secret: Option<bool>,
    /// HTTP basic auth in front of the target (a staging site behind a password).
    basic_auth: Option<BasicAuthFile>,
    /// Take the target's certificate as it is (self-signed staging).
    accept_invalid_certs: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicAuthFile {
    username: Option<String>,
    /// Env var holding the user name (default STAGING_BASIC_AUTH_USER); it wins over `username`.
    username_env: Option<String>,
    /// Env var holding the password (default STAGING_BASIC_AUTH_PASSWORD). The password is
    /// never written in flows.toml.
    password_env: Option<String>,
    /// The page (a path under the base URL) the browser opens with the credentials when a
    /// session starts; it must ask for them. Default: the base URL itself.
    sign_in_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    email: Option<String>,
    /// Env var that overrides the e-mail (seed 000: PLAYWRIGHT_STAGING_EMAIL, …).
    email_env: Option<String>,
    name: Option<String>,
    /// Env var holding the user's password (`{{ user.password }}`, `{{ users.KEY.password }}`):
    /// a secret, never written in flows.toml.
    password_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum VarFile {
    Plain(String),
    WithEnv {
        value: Option<String>,
        env: Option<String>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeoutsFile {
    step: Option<String>,
    navigation: Option<String>,
    flow: Option<String>,
    mail: Option<String>,
    /// The whole run (e.g. `30m`); unset: no limit.
    run: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebServerFile {
    /// Shell-free command line; `{port}` is replaced by a free port the runner picked.
    command: Option<String>,
    /// Working directory, relative to the config file's directory.
    cwd: Option<PathBuf>,
    /// Path probed until it answers 2xx (default `/up`).
    ready_path: Option<String>,
    startup_timeout: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// `false` disables the web server (as the staging profile does).
    enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BrowserFile {
    /// Path or name of chromedriver (default: `chromedriver` on PATH).
    chromedriver: Option<String>,
    /// The browser binary (default: chromedriver's choice; `/usr/bin/chromium` if present).
    binary: Option<String>,
    /// Connect to this WebDriver server (a Selenium Grid) instead of starting chromedriver.
    webdriver_url: Option<String>,
    headless: Option<bool>,
    window_width: Option<u32>,
    window_height: Option<u32>,
    /// The page's content size, `WIDTHxHEIGHT` (e.g. `1280x800`); wins over window_width/height.
    viewport: Option<String>,
    /// The browser's language (`de-DE`): navigator.language and the Accept-Language header.
    locale: Option<String>,
    user_agent: Option<String>,
    /// Ask for a WebDriver BiDi websocket (default true): waits wake on browser events, traces
    /// get console and network. `false` for a WebDriver server that rejects `webSocketUrl`.
    bidi: Option<bool>,
    #[serde(default)]
    args: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailFile {
    /// `staging_endpoint` (default), `maildev`, `mailpit`.
    source: Option<String>,
    /// Base URL of MailDev / Mailpit.
    url: Option<String>,
    /// Path of the staging mail report.
    report_path: Option<String>,
    /// Env var whose value, when set, is used as every OTP instead of reading mail.
    fixed_otp_env: Option<String>,
    /// How far the app's clock may be behind the runner's (a remote staging server).
    clock_skew: Option<String>,
    /// Origins whose links a `link:` extraction prefers (besides the base URL's).
    #[serde(default)]
    link_origins: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthFile {
    enabled: Option<bool>,
    path: Option<String>,
    staging_path: Option<String>,
    timeout: Option<String>,
    /// More health endpoints, on any origin, by name: `[health.extra] mailcatcher = "http://…"`.
    #[serde(default)]
    extra: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArtifactsFile {
    dir: Option<PathBuf>,
}

/// Overrides from the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub profile: Option<String>,
    pub base_url: Option<String>,
    pub output_dir: Option<PathBuf>,
    pub headed: bool,
    pub webdriver_url: Option<String>,
    pub skip_web_server: bool,
    pub skip_health_check: bool,
    pub trace: Option<TraceMode>,
    /// `--run-timeout`.
    pub run_timeout: Option<Duration>,
    /// `--max-failures`.
    pub max_failures: Option<u32>,
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
    /// `[suite] each_max_bytes`, `each_max_rows`.
    pub each_limits: crate::flowfile::each::EachLimits,
    /// The `.env` file beside flows.toml, when there is one.
    pub env_file: Option<EnvFile>,
    /// `[secrets] env`: environment variables whose values are secrets (`{{ env.NAME }}`).
    pub secret_env: Vec<String>,
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

/// Saved sessions (`[sessions]`): what `--no-deps` reuses instead of logging in again.
#[derive(Debug, Clone)]
pub struct SessionsConfig {
    /// Save users' cookies and storage after a flow passes.
    pub save: bool,
    /// Answers 2xx only when signed in (`/api/me`); `None`: saved sessions are not validated.
    pub check_url: Option<String>,
}

/// When a flow keeps a trace (one self-contained HTML file with every step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceMode {
    Off,
    /// Every flow, with screenshots before and after each step.
    On,
    /// Every flow records; only failed flows keep their trace.
    #[default]
    RetainOnFailure,
    /// Only retries record (needs --retries).
    OnFirstRetry,
}

impl TraceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceMode::Off => "off",
            TraceMode::On => "on",
            TraceMode::RetainOnFailure => "retain-on-failure",
            TraceMode::OnFirstRetry => "on-first-retry",
        }
    }

    /// Does attempt `attempt` (1-based) of a flow record a trace?
    pub fn records(self, attempt: u32) -> bool {
        match self {
            TraceMode::Off => false,
            TraceMode::On | TraceMode::RetainOnFailure => true,
            TraceMode::OnFirstRetry => attempt == 2,
        }
    }
}

impl std::str::FromStr for TraceMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(TraceMode::Off),
            "on" => Ok(TraceMode::On),
            "retain-on-failure" => Ok(TraceMode::RetainOnFailure),
            "on-first-retry" => Ok(TraceMode::OnFirstRetry),
            other => Err(format!(
                "unknown trace mode `{other}`; use off, on, retain-on-failure or on-first-retry"
            )),
        }
    }
}

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

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub step: Duration,
    pub navigation: Duration,
    pub flow: Duration,
    pub mail: Duration,
    /// The whole run; `None`: no limit.
    pub run: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct WebServer {
    pub command: Vec<String>,
    pub cwd: PathBuf,
    pub ready_path: String,
    pub startup_timeout: Duration,
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct BrowserConfig {
    pub chromedriver: String,
    pub binary: Option<String>,
    pub webdriver_url: Option<String>,
    pub headless: bool,
    /// The window size (`--window-size`); with `viewport`, the viewport's size.
    pub window: (u32, u32),
    /// The exact content size, when configured.
    pub viewport: Option<Viewport>,
    pub locale: Option<String>,
    pub user_agent: Option<String>,
    /// WebDriver `acceptInsecureCerts` (from `[target] accept_invalid_certs`).
    pub accept_insecure_certs: bool,
    /// Ask for a WebDriver BiDi connection (`webSocketUrl`).
    pub bidi: bool,
    pub args: Vec<String>,
}

impl Default for BrowserConfig {
    /// A local headless Chromium through `chromedriver` on PATH, as flows.toml's defaults say.
    fn default() -> Self {
        BrowserConfig {
            chromedriver: "chromedriver".to_owned(),
            binary: None,
            webdriver_url: None,
            headless: true,
            window: (1280, 900),
            viewport: None,
            locale: None,
            user_agent: None,
            accept_insecure_certs: false,
            bidi: true,
            args: Vec::new(),
        }
    }
}

impl BrowserConfig {
    /// These settings with a flow's own `browser:` over them (the checker has validated its
    /// values; one that does not parse keeps the suite's setting).
    pub fn for_flow(&self, own: &crate::flowfile::ast::FlowBrowser) -> BrowserConfig {
        let mut cfg = self.clone();
        if let Some(v) = own
            .viewport
            .as_ref()
            .and_then(|v| v.value.parse::<Viewport>().ok())
        {
            cfg.viewport = Some(v);
            cfg.window = (v.width, v.height);
        }
        if let Some(l) = own
            .locale
            .as_ref()
            .filter(|l| check_locale(&l.value).is_ok())
        {
            cfg.locale = Some(l.value.clone());
        }
        if let Some(ua) = own
            .user_agent
            .as_ref()
            .filter(|u| !u.value.trim().is_empty())
        {
            cfg.user_agent = Some(ua.value.clone());
        }
        cfg
    }
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub source: MailSourceKind,
    pub url: Option<String>,
    pub report_path: String,
    pub fixed_otp: Option<Secret>,
    pub clock_skew: Duration,
    /// `[mail] link_origins`, each an origin (`https://app.example`).
    pub link_origins: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailSourceKind {
    StagingEndpoint,
    MailDev,
    Mailpit,
}

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

/// Env names from seed 000 that work as they are.
pub const ENV_BASE_URL: [&str; 2] = ["PLAYWRIGHT_BASE_URL", "STAGING_BASE_URL"];
pub const ENV_API_URL: &str = "PLAYWRIGHT_STAGING_API_URL";
pub const ENV_SKIP_WEBSERVER: &str = "PLAYWRIGHT_SKIP_WEBSERVER";
pub const ENV_STAGING_PROFILE: &str = "PLAYWRIGHT_STAGING";
pub const ENV_BASIC_AUTH_USER: &str = "STAGING_BASIC_AUTH_USER";
pub const ENV_BASIC_AUTH_PASSWORD: &str = "STAGING_BASIC_AUTH_PASSWORD";
pub const ENV_ACCEPT_INVALID_CERTS: &str = "STAGING_ACCEPT_INVALID_CERTS";

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
        let env_true = |name: &str| {
            env(name).is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        };
        let profile = cli.profile.clone().unwrap_or_else(|| {
            if env_true(ENV_STAGING_PROFILE) {
                "staging".to_owned()
            } else {
                "local".to_owned()
            }
        });
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
        resolve(path, root, profile, file, env, cli).map_err(|e| match e {
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

/// Lays a profile's tables over the base ones, key by key; values keep their places in the
/// file, so an error in a profile's value points there.
fn merge<'i>(base: &mut toml::de::DeTable<'i>, overlay: &toml::de::DeTable<'i>) {
    for (k, v) in overlay {
        let existing = base.get_mut(k.get_ref().as_ref());
        match (existing.map(|e| e.get_mut()), v.get_ref()) {
            (Some(toml::de::DeValue::Table(b)), toml::de::DeValue::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Where the value of the dotted key `path` (`timeouts.step`) is written, if it is.
fn value_span(table: &toml::de::DeTable<'_>, path: &str) -> Option<std::ops::Range<usize>> {
    let mut parts = path.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        match value.get_ref() {
            toml::de::DeValue::Table(t) => value = t.get(part)?,
            _ => return None,
        }
    }
    Some(value.span())
}

/// A toml error (syntax, unknown field, wrong type) at its place in the file.
fn located_toml_error(
    path: &Path,
    text: &str,
    e: &toml::de::Error,
    what: Option<&str>,
) -> ConfigError {
    let message = e.message().trim_end().to_owned();
    match e.span() {
        Some(span) => located(path, text, span, message, what),
        None => ConfigError::Parse {
            path: path.to_owned(),
            message,
        },
    }
}

/// `message` at the bytes `span` of flows.toml.
fn located(
    path: &Path,
    text: &str,
    span: std::ops::Range<usize>,
    message: String,
    what: Option<&str>,
) -> ConfigError {
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let col = before[line_start..].chars().count() + 1;
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let end = span.end.clamp(start, line_end);
    let len = text.get(start..end).map_or(1, |t| t.chars().count());
    let message = match what {
        Some(key) => format!("`{key}`: {message}"),
        None => message,
    };
    let diagnostic = Diagnostic::new(path, message).at(
        Loc {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        },
        len,
    );
    ConfigError::Located(Box::new(diagnostic), std::sync::Arc::from(text))
}

fn duration(what: &str, text: Option<&str>, default: Duration) -> Result<Duration, ConfigError> {
    match text {
        None => Ok(default),
        Some(t) => parse_duration(t).map_err(|e| ConfigError::Invalid {
            what: what.to_owned(),
            message: format!("{}: {}", e.message, e.hint),
        }),
    }
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn resolve(
    path: &Path,
    root: PathBuf,
    profile: String,
    file: FileConfig,
    env: EnvLookup<'_>,
    cli: &CliOverrides,
) -> Result<Config, ConfigError> {
    let env_true = |name: &str| {
        env(name).is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
    };
    let base_url = nonempty(cli.base_url.clone())
        .or_else(|| ENV_BASE_URL.iter().find_map(|n| nonempty(env(n))))
        .or(nonempty(file.target.base_url))
        .map(|u| u.trim_end_matches('/').to_owned());
    let api_url = nonempty(env(ENV_API_URL))
        .or(nonempty(file.target.api_url))
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

    let secret_env = file
        .target
        .secret_env
        .unwrap_or_else(|| "STAGING_E2E_SECRET".to_owned());
    let secret = match nonempty(env(&secret_env)) {
        Some(value) => Some(Secret {
            value,
            origin: format!("env {secret_env}"),
        }),
        None if file.target.generate_secret.unwrap_or(false) => Some(Secret {
            value: random_token(32),
            origin: "generated for this run".to_owned(),
        }),
        None => None,
    };

    let mut users = BTreeMap::new();
    for (key, u) in file.users {
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

    let mut vars = BTreeMap::new();
    for (name, v) in file.vars {
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

    let timeouts = Timeouts {
        step: duration(
            "timeouts.step",
            file.timeouts.step.as_deref(),
            Duration::from_secs(10),
        )?,
        navigation: duration(
            "timeouts.navigation",
            file.timeouts.navigation.as_deref(),
            Duration::from_secs(30),
        )?,
        flow: duration(
            "timeouts.flow",
            file.timeouts.flow.as_deref(),
            Duration::from_secs(120),
        )?,
        mail: duration(
            "timeouts.mail",
            file.timeouts.mail.as_deref(),
            Duration::from_secs(30),
        )?,
        run: match (cli.run_timeout, file.timeouts.run.as_deref()) {
            (Some(d), _) => Some(d),
            (None, Some(text)) => Some(duration("timeouts.run", Some(text), Duration::ZERO)?),
            (None, None) => None,
        },
    };
    let max_failures = cli
        .max_failures
        .or(file.suite.max_failures)
        .filter(|&n| n > 0);
    let mut each_limits = crate::flowfile::each::EachLimits::default();
    for (key, zero) in [
        ("suite.each_max_bytes", file.suite.each_max_bytes == Some(0)),
        ("suite.each_max_rows", file.suite.each_max_rows == Some(0)),
    ] {
        if zero {
            return Err(ConfigError::Invalid {
                what: key.to_owned(),
                message: "must be at least 1 (it bounds what an `each:` file may hold)".to_owned(),
            });
        }
    }
    if let Some(n) = file.suite.each_max_bytes {
        each_limits.max_bytes = n;
    }
    if let Some(n) = file.suite.each_max_rows {
        each_limits.max_rows = n;
    }

    let skip_web_server = cli.skip_web_server || env_true(ENV_SKIP_WEBSERVER);
    let web_server = match file.web_server {
        Some(ws) if ws.enabled.unwrap_or(true) && !skip_web_server => {
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
            Some(WebServer {
                command,
                cwd: clean_path(&root.join(ws.cwd.unwrap_or_default())),
                ready_path: ws.ready_path.unwrap_or_else(|| "/up".to_owned()),
                startup_timeout: duration(
                    "web_server.startup_timeout",
                    ws.startup_timeout.as_deref(),
                    Duration::from_secs(30),
                )?,
                env: ws.env,
            })
        }
        _ => None,
    };
    // With a web server the base URL is the server's; without one, it must be given, unless
    // the suite never reaches the target (see `Config::require_target`, once flows are read).

    let accept_invalid_certs = match nonempty(env(ENV_ACCEPT_INVALID_CERTS)) {
        Some(v) => env_flag(ENV_ACCEPT_INVALID_CERTS, &v)?,
        None => file.target.accept_invalid_certs.unwrap_or(false),
    };
    let basic_auth = match basic_auth(file.target.basic_auth, env) {
        Err(_) if cli.checking_only => None,
        other => other?,
    };
    let viewport = file
        .browser
        .viewport
        .as_deref()
        .map(|text| {
            text.parse::<Viewport>()
                .map_err(|message| ConfigError::Invalid {
                    what: "browser.viewport".to_owned(),
                    message,
                })
        })
        .transpose()?;
    let locale = nonempty(file.browser.locale)
        .map(|l| {
            check_locale(&l).map_err(|message| ConfigError::Invalid {
                what: "browser.locale".to_owned(),
                message,
            })?;
            Ok::<_, ConfigError>(l)
        })
        .transpose()?;
    let user_agent = nonempty(file.browser.user_agent);
    let browser = BrowserConfig {
        chromedriver: file
            .browser
            .chromedriver
            .unwrap_or_else(|| "chromedriver".to_owned()),
        binary: file.browser.binary,
        webdriver_url: nonempty(cli.webdriver_url.clone()).or(file.browser.webdriver_url),
        headless: !cli.headed && file.browser.headless.unwrap_or(true),
        window: viewport.map_or(
            (
                file.browser.window_width.unwrap_or(1280),
                file.browser.window_height.unwrap_or(900),
            ),
            |v| (v.width, v.height),
        ),
        viewport,
        locale,
        user_agent,
        accept_insecure_certs: accept_invalid_certs,
        bidi: file.browser.bidi.unwrap_or(true),
        args: file.browser.args,
    };

    let source = match file.mail.source.as_deref().unwrap_or("staging_endpoint") {
        "staging_endpoint" => MailSourceKind::StagingEndpoint,
        "maildev" => MailSourceKind::MailDev,
        "mailpit" => MailSourceKind::Mailpit,
        other => {
            return Err(ConfigError::Invalid {
                what: "mail.source".to_owned(),
                message: format!(
                    "unknown source `{other}`; use staging_endpoint, maildev or mailpit"
                ),
            })
        }
    };
    if source != MailSourceKind::StagingEndpoint && file.mail.url.is_none() {
        return Err(ConfigError::Invalid {
            what: "mail.url".to_owned(),
            message: "the maildev and mailpit sources need the catcher's base URL".to_owned(),
        });
    }
    let fixed_otp_env = file
        .mail
        .fixed_otp_env
        .unwrap_or_else(|| "STAGING_E2E_FIXED_OTP".to_owned());
    let mut link_origins = Vec::new();
    for o in &file.mail.link_origins {
        match url::Url::parse(o) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                link_origins.push(u.origin().ascii_serialization());
            }
            _ => {
                return Err(ConfigError::Invalid {
                    what: "mail.link_origins".to_owned(),
                    message: format!("`{o}` is not an origin; write it as `https://app.example`"),
                })
            }
        }
    }
    let mail = MailConfig {
        link_origins,
        source,
        url: file.mail.url,
        report_path: file
            .mail
            .report_path
            .unwrap_or_else(|| "/staging/e2e/mail-report".to_owned()),
        fixed_otp: nonempty(env(&fixed_otp_env)).map(|value| Secret {
            value,
            origin: format!("env {fixed_otp_env}"),
        }),
        clock_skew: duration(
            "mail.clock_skew",
            file.mail.clock_skew.as_deref(),
            Duration::ZERO,
        )?,
    };

    let mut extra_health = Vec::new();
    for (name, u) in &file.health.extra {
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
    let health = HealthConfig {
        extra: extra_health,
        enabled: !cli.skip_health_check && file.health.enabled.unwrap_or(true),
        path: file.health.path.unwrap_or_else(|| "/health".to_owned()),
        staging_path: file
            .health
            .staging_path
            .unwrap_or_else(|| "/staging/e2e/health".to_owned()),
        timeout: duration(
            "health.timeout",
            file.health.timeout.as_deref(),
            Duration::from_secs(10),
        )?,
    };

    let output_root = cli.output_dir.clone().unwrap_or_else(|| {
        clean_path(
            &file
                .artifacts
                .dir
                .map(|d| root.join(d))
                .unwrap_or_else(|| root.join("../artifacts")),
        )
    });
    let flows_dir = clean_path(&root.join(file.suite.flows_dir.unwrap_or_default()));
    let state_dir = clean_path(
        &file
            .state
            .dir
            .map(|d| root.join(d))
            .unwrap_or_else(|| root.join("../.flows")),
    );
    if is_within(&state_dir, &output_root) {
        return Err(ConfigError::Invalid {
            what: "state.dir".to_owned(),
            message: format!(
                "{} is inside the output directory {}; saved sessions hold cookies and must never \
                 land where reports are uploaded: choose another directory (default ../.flows)",
                state_dir.display(),
                output_root.display()
            ),
        });
    }
    // Runs write (and a nightly job uploads, then may delete) the whole output dir: it must
    // not be the suite's own folder or one that holds it.
    if is_within(&root, &output_root) || is_within(&flows_dir, &output_root) {
        return Err(ConfigError::Invalid {
            what: "artifacts.dir".to_owned(),
            message: format!(
                "the output directory {} holds the suite itself ({}); run output would land among the flow files: choose a directory of its own (default ../artifacts)",
                output_root.display(),
                root.display()
            ),
        });
    }
    let sessions = SessionsConfig {
        save: file.sessions.save.unwrap_or(true),
        check_url: nonempty(file.sessions.check_url),
    };
    let trace = match (cli.trace, file.trace.mode.as_deref()) {
        (Some(t), _) => t,
        (None, Some(text)) => text.parse().map_err(|message| ConfigError::Invalid {
            what: "trace.mode".to_owned(),
            message,
        })?,
        (None, None) => TraceMode::default(),
    };

    Ok(Config {
        file: path.to_owned(),
        suite_name: file.suite.name.unwrap_or_else(|| "flows".to_owned()),
        profile,
        flows_dir,
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
        output_root,
        root,
        trace,
        state_dir,
        sessions,
        basic_auth,
        accept_invalid_certs,
        max_failures,
        each_limits,
        env_file: None,
        secret_env: file.secrets.env,
    })
}

/// `1`, `true`, `yes` / `0`, `false`, `no`.
fn env_flag(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(ConfigError::Invalid {
            what: format!("env {name}"),
            message: format!("`{other}` is not a yes or no; use 1 or 0"),
        }),
    }
}

/// `[target] basic_auth` and the env names: the user name from `username_env` (default
/// STAGING_BASIC_AUTH_USER) or `username`, the password from `password_env` (default
/// STAGING_BASIC_AUTH_PASSWORD). Without the table, setting both env vars turns it on.
fn basic_auth(
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
            "no password: set the env var {password_env} (in the environment or the .env file              beside flows.toml; never in flows.toml)"
        ))),
        (None, _) => Err(invalid(format!(
            "no user name: set `username = \"…\"` under [target.basic_auth] or the env var {user_env}"
        ))),
    }
}

/// Is `inner` the directory `outer` or inside it (compared as absolute paths)?
fn is_within(inner: &Path, outer: &Path) -> bool {
    let abs = |p: &Path| {
        if p.is_absolute() {
            clean_path(p)
        } else {
            std::env::current_dir()
                .map(|cwd| clean_path(&cwd.join(p)))
                .unwrap_or_else(|_| clean_path(p))
        }
    };
    abs(inner).starts_with(abs(outer))
}

/// `flows/../artifacts` → `artifacts`: paths shown to people read as they would write them.
fn clean_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[target]
base_url = "http://file.example"
generate_secret = true

[users.requester]
email = "file@x.test"
email_env = "PLAYWRIGHT_STAGING_EMAIL"

[vars]
portal_slug = { value = "it-support", env = "PLAYWRIGHT_STAGING_PORTAL_SLUG" }

[web_server]
command = "helpdesk --listen 127.0.0.1:{port}"

[profiles.staging]
web_server = { enabled = false }
target = { generate_secret = false }
"#;

    fn load(env: &[(&str, &str)], cli: &CliOverrides) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_str(
            Path::new("flows/flows.toml"),
            FILE,
            &|k| env.get(k).cloned(),
            cli,
        )
    }

    fn load_text(text: &str) -> Result<Config, ConfigError> {
        Config::from_str(
            Path::new("flows/flows.toml"),
            text,
            &|_| None,
            &CliOverrides::default(),
        )
    }

    #[test]
    fn a_user_without_a_key_is_refused() {
        let err = load_text(
            "[target]\nbase_url = \"http://x.test\"\n[users.\"\"]\nemail = \"a@x.test\"\n",
        )
        .expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("users.\"\""), "{text}");
        assert!(text.contains("[users.requester]"), "{text}");
    }

    #[test]
    fn an_output_dir_holding_the_suite_is_refused() {
        for dir in [".", "./", "../flows"] {
            let err = load_text(&format!(
                "[target]\nbase_url = \"http://x.test\"\n[artifacts]\ndir = \"{dir}\"\n"
            ))
            .expect_err(dir);
            let text = err.to_string();
            assert!(text.contains("artifacts.dir"), "{dir}: {text}");
            assert!(text.contains("holds the suite"), "{dir}: {text}");
        }
        let ok =
            load_text("[target]\nbase_url = \"http://x.test\"\n[artifacts]\ndir = \"../out\"\n");
        assert!(ok.is_ok(), "{:?}", ok.err());
    }

    #[test]
    fn precedence_is_cli_then_env_then_file() {
        let c = load(&[], &CliOverrides::default()).expect("config");
        assert_eq!(c.base_url.as_deref(), Some("http://file.example"));
        assert_eq!(c.users["requester"].email, "file@x.test");
        assert_eq!(c.vars["portal_slug"], "it-support");
        assert_eq!(c.profile, "local");
        assert!(c.web_server.is_some());
        assert_eq!(c.secret.as_ref().map(|s| s.value.len()), Some(32));

        let env = [
            ("PLAYWRIGHT_BASE_URL", "http://env.example/"),
            ("PLAYWRIGHT_STAGING_EMAIL", "env@x.test"),
            ("PLAYWRIGHT_STAGING_PORTAL_SLUG", "facilities"),
            ("STAGING_E2E_SECRET", "from-env-secret"),
        ];
        let c = load(&env, &CliOverrides::default()).expect("config");
        assert_eq!(c.base_url.as_deref(), Some("http://env.example"));
        assert_eq!(c.users["requester"].email, "env@x.test");
        assert_eq!(c.vars["portal_slug"], "facilities");
        assert_eq!(
            c.secret.as_ref().map(|s| s.value.as_str()),
            Some("from-env-secret")
        );

        let cli = CliOverrides {
            base_url: Some("http://cli.example".into()),
            ..Default::default()
        };
        let c = load(&env, &cli).expect("config");
        assert_eq!(c.base_url.as_deref(), Some("http://cli.example"));
    }

    #[test]
    fn staging_profile_from_env_disables_web_server() {
        let c = load(&[("PLAYWRIGHT_STAGING", "1")], &CliOverrides::default()).expect("config");
        assert_eq!(c.profile, "staging");
        assert!(c.web_server.is_none());
        assert!(c.secret.is_none());
        let c = load(
            &[("PLAYWRIGHT_SKIP_WEBSERVER", "1")],
            &CliOverrides::default(),
        )
        .expect("config");
        assert!(c.web_server.is_none());
    }

    #[test]
    fn extra_health_endpoints_need_a_name_and_a_whole_url() {
        let with = |extra: &str| {
            Config::from_str(
                Path::new("flows/flows.toml"),
                &format!("{FILE}\n[health.extra]\n{extra}\n"),
                &|_| None,
                &CliOverrides::default(),
            )
        };
        let c = with("mailcatcher = \"http://127.0.0.1:1080/healthz\"").expect("config");
        assert_eq!(
            c.health.extra,
            [(
                "mailcatcher".to_string(),
                "http://127.0.0.1:1080/healthz".to_string()
            )]
        );
        let err = with("mailcatcher = \"/healthz\"").expect_err("a path");
        // Located at the value (see `config_errors_point_at_their_place_in_flows_toml`).
        assert_eq!(
            err.to_string(),
            "flows/flows.toml:21:15: `health.extra.mailcatcher`: `/healthz` is not an absolute http(s) URL; write the whole URL, e.g. `http://127.0.0.1:1080/healthz`"
        );
        let err = with("\"mail catcher\" = \"http://x/h\"").expect_err("a bad name");
        assert!(
            err.to_string()
                .contains(": `health.extra.mail catcher`: name the endpoint"),
            "{err}"
        );
    }

    #[test]
    fn unknown_profile_names_the_known_ones() {
        let cli = CliOverrides {
            profile: Some("prod".into()),
            ..Default::default()
        };
        let err = load(&[], &cli).expect_err("unknown profile");
        assert_eq!(
            err.to_string(),
            "flows/flows.toml: unknown profile `prod`; profiles in this file: staging"
        );
    }

    #[test]
    fn paths_are_shown_as_written() {
        assert_eq!(
            clean_path(Path::new("flows/../artifacts")),
            PathBuf::from("artifacts")
        );
        assert_eq!(clean_path(Path::new("./flows/.")), PathBuf::from("flows"));
        assert_eq!(clean_path(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(clean_path(Path::new("flows/..")), PathBuf::from("."));
    }

    #[test]
    fn state_dir_defaults_beside_artifacts_and_never_inside_them() {
        let c = load(&[], &CliOverrides::default()).expect("config");
        assert_eq!(c.state_dir, PathBuf::from(".flows"));
        assert!(c.sessions.save);
        assert_eq!(c.sessions.check_url, None);
        let cli = CliOverrides {
            output_dir: Some(PathBuf::from(".")),
            ..Default::default()
        };
        let err = load(&[], &cli).expect_err("state inside output");
        assert!(err.to_string().contains("state.dir"), "{err}");
        let text = format!("{FILE}\n[sessions]\ncheck_url = \"/api/me\"\n");
        let c = Config::from_str(
            Path::new("flows/flows.toml"),
            &text,
            &|_| None,
            &CliOverrides::default(),
        )
        .expect("config");
        assert_eq!(c.sessions.check_url.as_deref(), Some("/api/me"));
    }

    fn load_with(
        extra: &str,
        env: &[(&str, &str)],
        cli: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_str(
            Path::new("flows/flows.toml"),
            &format!("{FILE}\n{extra}"),
            &|k| env.get(k).cloned(),
            cli,
        )
    }

    #[test]
    fn run_timeout_and_max_failures_from_file_and_cli() {
        let c = load(&[], &CliOverrides::default()).expect("config");
        assert_eq!(c.timeouts.run, None);
        assert_eq!(c.max_failures, None);
        let text = "[timeouts]\nrun = \"30m\"\n";
        let c = load_with(text, &[], &CliOverrides::default()).expect("config");
        assert_eq!(c.timeouts.run, Some(Duration::from_secs(1800)));
        let cli = CliOverrides {
            run_timeout: Some(Duration::from_secs(60)),
            max_failures: Some(3),
            ..Default::default()
        };
        let c = load_with(text, &[], &cli).expect("config");
        assert_eq!(c.timeouts.run, Some(Duration::from_secs(60)));
        assert_eq!(c.max_failures, Some(3));
        // The profile's table is merged over the file's, so [suite] is written there.
        let c = load_with(
            "[profiles.local.suite]\nmax_failures = 2\n",
            &[],
            &CliOverrides::default(),
        );
        assert_eq!(c.expect("config").max_failures, Some(2));
        let zero = CliOverrides {
            max_failures: Some(0),
            ..Default::default()
        };
        assert_eq!(load(&[], &zero).expect("config").max_failures, None);
        let err = load_with(
            "[timeouts]\nrun = \"half an hour\"\n",
            &[],
            &CliOverrides::default(),
        )
        .expect_err("bad duration");
        assert!(err.to_string().contains(": `timeouts.run`: "), "{err}");
    }

    #[test]
    fn basic_auth_from_file_and_env_with_the_password_only_from_env() {
        assert!(load(&[], &CliOverrides::default())
            .expect("config")
            .basic_auth
            .is_none());
        // Both env names alone turn it on.
        let env = [
            ("STAGING_BASIC_AUTH_USER", "env-user"),
            ("STAGING_BASIC_AUTH_PASSWORD", "env-password-1"),
        ];
        let c = load(&env, &CliOverrides::default()).expect("config");
        let auth = c.basic_auth.expect("basic auth");
        assert_eq!(auth.username, "env-user");
        assert_eq!(auth.password.value, "env-password-1");
        assert!(!format!("{:?}", auth).contains("env-password-1"));
        // The file names the user and the password's env var; the user's env var wins.
        let text = "[target.basic_auth]\nusername = \"file-user\"\npassword_env = \"LAB_PW\"\n";
        let c = load_with(text, &[("LAB_PW", "pw-from-env")], &CliOverrides::default())
            .expect("config");
        let auth = c.basic_auth.expect("basic auth");
        assert_eq!(auth.username, "file-user");
        assert_eq!(auth.password.origin, "env LAB_PW");
        let c = load_with(
            text,
            &[("LAB_PW", "pw"), ("STAGING_BASIC_AUTH_USER", "env-user")],
            &CliOverrides::default(),
        )
        .expect("config");
        assert_eq!(c.basic_auth.expect("auth").username, "env-user");
        // Configured without its password: a config error naming the env var, except for
        // commands that run nothing.
        let err = load_with(text, &[], &CliOverrides::default()).expect_err("no password");
        assert!(err.to_string().contains("LAB_PW"), "{err}");
        let checking = CliOverrides {
            checking_only: true,
            ..Default::default()
        };
        assert!(load_with(text, &[], &checking)
            .expect("config")
            .basic_auth
            .is_none());
        let err = load(
            &[("STAGING_BASIC_AUTH_PASSWORD", "pw")],
            &CliOverrides::default(),
        )
        .expect_err("no user");
        assert!(err.to_string().contains("STAGING_BASIC_AUTH_USER"), "{err}");
    }

    #[test]
    fn certificates_viewport_and_locale() {
        let c = load(&[], &CliOverrides::default()).expect("config");
        assert!(!c.accept_invalid_certs && !c.browser.accept_insecure_certs);
        assert_eq!(c.browser.window, (1280, 900));
        let text = "[profiles.local.target]\naccept_invalid_certs = true\n[browser]\nviewport = \"390x844\"\nlocale = \"de-DE\"\nuser_agent = \"ua/1\"\n";
        let c = load_with(text, &[], &CliOverrides::default()).expect("config");
        assert!(c.accept_invalid_certs && c.browser.accept_insecure_certs);
        assert_eq!(
            c.browser.viewport.map(|v| v.to_string()).as_deref(),
            Some("390x844")
        );
        assert_eq!(c.browser.window, (390, 844));
        assert_eq!(c.browser.locale.as_deref(), Some("de-DE"));
        assert_eq!(c.browser.user_agent.as_deref(), Some("ua/1"));
        let c = load_with(
            text,
            &[("STAGING_ACCEPT_INVALID_CERTS", "0")],
            &CliOverrides::default(),
        )
        .expect("config");
        assert!(!c.accept_invalid_certs, "the env var wins over the file");
        let c = load(
            &[("STAGING_ACCEPT_INVALID_CERTS", "1")],
            &CliOverrides::default(),
        )
        .expect("config");
        assert!(c.accept_invalid_certs);
        let err = load(
            &[("STAGING_ACCEPT_INVALID_CERTS", "maybe")],
            &CliOverrides::default(),
        )
        .expect_err("not a flag");
        assert!(
            err.to_string().contains("STAGING_ACCEPT_INVALID_CERTS"),
            "{err}"
        );
        let err = load_with(
            "[browser]\nviewport = \"big\"\n",
            &[],
            &CliOverrides::default(),
        )
        .expect_err("bad viewport");
        assert!(
            err.to_string()
                .contains(": `browser.viewport`: `big` is not a viewport"),
            "{err}"
        );
        let err = load_with(
            "[browser]\nlocale = \"de_DE\"\n",
            &[],
            &CliOverrides::default(),
        )
        .expect_err("bad locale");
        assert!(err.to_string().contains(": `browser.locale`: "), "{err}");
    }

    #[test]
    fn dot_env_values_feed_the_config_and_the_real_env_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("flows.toml");
        std::fs::write(&path, FILE).expect("write");
        std::fs::write(
            dir.path().join(".env"),
            "PLAYWRIGHT_STAGING_EMAIL=dotenv@x.test\nSTAGING_E2E_SECRET=dotenv-secret\n",
        )
        .expect("write");
        let c = Config::load(&path, &|_| None, &CliOverrides::default()).expect("config");
        assert_eq!(c.users["requester"].email, "dotenv@x.test");
        assert_eq!(
            c.secret.as_ref().map(|s| s.value.as_str()),
            Some("dotenv-secret")
        );
        assert!(c.env_file.is_some());
        let real = |k: &str| (k == "PLAYWRIGHT_STAGING_EMAIL").then(|| "real@x.test".to_owned());
        let c = Config::load(&path, &real, &CliOverrides::default()).expect("config");
        assert_eq!(c.users["requester"].email, "real@x.test");
        std::fs::write(dir.path().join(".env"), "A=1\nB C\n").expect("write");
        let err = Config::load(&path, &|_| None, &CliOverrides::default()).expect_err("bad line");
        assert!(err.to_string().contains(".env:2: "), "{err}");
    }

    #[test]
    fn bad_base_url_says_what_to_write() {
        let err = load(
            &[("PLAYWRIGHT_BASE_URL", "staging.example.com")],
            &CliOverrides::default(),
        )
        .expect_err("bad url");
        assert!(err.to_string().contains("is not a URL"), "{err}");
    }
}
