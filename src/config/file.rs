//! The serde types of flows.toml, as written: every table optional, unknown keys refused.
//! What a value means, its default and its checks are [`super::resolve`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The file as written. Every table is optional; defaults fill the rest.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    #[serde(default)]
    pub(super) suite: SuiteFile,
    #[serde(default)]
    pub(super) target: TargetFile,
    #[serde(default)]
    pub(super) users: BTreeMap<String, UserFile>,
    #[serde(default)]
    pub(super) vars: BTreeMap<String, VarFile>,
    #[serde(default)]
    pub(super) timeouts: TimeoutsFile,
    #[serde(default)]
    pub(super) web_server: Option<WebServerFile>,
    #[serde(default)]
    pub(super) browser: BrowserFile,
    #[serde(default)]
    pub(super) mail: MailFile,
    #[serde(default)]
    pub(super) health: HealthFile,
    #[serde(default)]
    pub(super) artifacts: ArtifactsFile,
    #[serde(default)]
    pub(super) trace: TraceFile,
    #[serde(default)]
    pub(super) state: StateFile,
    #[serde(default)]
    pub(super) sessions: SessionsFile,
    #[serde(default)]
    pub(super) secrets: SecretsFile,
}

/// `[secrets]`: environment variables whose values are secrets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SecretsFile {
    /// Names of environment variables (or `.env` entries) whose values are redacted wherever
    /// they appear, e.g. `env = ["API_TOKEN"]` for `{{ env.API_TOKEN }}`.
    #[serde(default)]
    pub(super) env: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateFile {
    /// The runner's local state (saved sessions, run history), relative to the config file.
    /// Default `../.flows` (beside the default `../artifacts`). Never inside the output dir.
    pub(super) dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionsFile {
    /// Save each user's cookies and localStorage after a flow passes (default true).
    pub(super) save: Option<bool>,
    /// A path (or URL) that answers 2xx only with a signed-in user's cookies, e.g. `/api/me`.
    /// Used to validate a saved session before reusing it and before saving it.
    pub(super) check_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TraceFile {
    /// `off`, `on`, `retain-on-failure` (default), `on-first-retry`.
    pub(super) mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SuiteFile {
    pub(super) name: Option<String>,
    /// Directory of flow files, relative to the config file (default: its own directory).
    pub(super) flows_dir: Option<PathBuf>,
    /// Stop starting flows after this many failed (0: no limit).
    pub(super) max_failures: Option<u32>,
    /// Flows run side by side: a count, or `"auto"` (one per core). Default 1.
    pub(super) workers: Option<WorkersSetting>,
    /// Largest `each:` file read, in bytes (default 1 MiB).
    pub(super) each_max_bytes: Option<u64>,
    /// Most rows an `each:` may give, each one a flow (default 1000).
    pub(super) each_max_rows: Option<usize>,
}

/// `[suite] workers` as written: `2` or `"auto"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum WorkersSetting {
    Count(i64),
    Word(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetFile {
    pub(super) base_url: Option<String>,
    pub(super) api_url: Option<String>,
    /// Name of the env var holding the staging E2E secret.
    pub(super) secret_env: Option<String>,
    /// Header the secret travels in.
    pub(super) secret_header: Option<String>,
    /// Generate a random secret for this run when the env var is unset (local profile: the
    /// runner starts the app and hands it the secret).
    pub(super) generate_secret: Option<bool>,
    /// HTTP basic auth in front of the target (a staging site behind a password).
    pub(super) basic_auth: Option<BasicAuthFile>,
    /// Take the target's certificate as it is (self-signed staging).
    pub(super) accept_invalid_certs: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BasicAuthFile {
    pub(super) username: Option<String>,
    /// Env var holding the user name (default STAGING_BASIC_AUTH_USER); it wins over `username`.
    pub(super) username_env: Option<String>,
    /// Env var holding the password (default STAGING_BASIC_AUTH_PASSWORD). The password is
    /// never written in flows.toml.
    pub(super) password_env: Option<String>,
    /// The page (a path under the base URL) the browser opens with the credentials when a
    /// session starts; it must ask for them. Default: the base URL itself.
    pub(super) sign_in_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserFile {
    pub(super) email: Option<String>,
    /// Env var that overrides the e-mail (seed 000: PLAYWRIGHT_STAGING_EMAIL, …).
    pub(super) email_env: Option<String>,
    pub(super) name: Option<String>,
    /// Env var holding the user's password (`{{ user.password }}`, `{{ users.KEY.password }}`):
    /// a secret, never written in flows.toml.
    pub(super) password_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum VarFile {
    Plain(String),
    WithEnv {
        value: Option<String>,
        env: Option<String>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TimeoutsFile {
    pub(super) step: Option<String>,
    pub(super) navigation: Option<String>,
    pub(super) flow: Option<String>,
    pub(super) mail: Option<String>,
    /// The whole run (e.g. `30m`); unset: no limit.
    pub(super) run: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebServerFile {
    /// Shell-free command line; `{port}` is replaced by a free port the runner picked.
    pub(super) command: Option<String>,
    /// Working directory, relative to the config file's directory.
    pub(super) cwd: Option<PathBuf>,
    /// Path probed until it answers 2xx (default `/up`).
    pub(super) ready_path: Option<String>,
    pub(super) startup_timeout: Option<String>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, String>,
    /// `false` disables the web server (as the staging profile does).
    pub(super) enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BrowserFile {
    /// `chromium` (default) or `firefox`.
    pub(super) name: Option<String>,
    /// Path or name of geckodriver, for `name = "firefox"` (default: `geckodriver` on PATH).
    pub(super) geckodriver: Option<String>,
    /// Path or name of chromedriver (default: `chromedriver` on PATH).
    pub(super) chromedriver: Option<String>,
    /// The browser binary (default: chromedriver's choice; `/usr/bin/chromium` if present).
    pub(super) binary: Option<String>,
    /// Connect to this WebDriver server (a Selenium Grid) instead of starting chromedriver.
    pub(super) webdriver_url: Option<String>,
    pub(super) headless: Option<bool>,
    pub(super) window_width: Option<u32>,
    pub(super) window_height: Option<u32>,
    /// The page's content size, `WIDTHxHEIGHT` (e.g. `1280x800`); wins over window_width/height.
    pub(super) viewport: Option<String>,
    /// The browser's language (`de-DE`): navigator.language and the Accept-Language header.
    pub(super) locale: Option<String>,
    pub(super) user_agent: Option<String>,
    /// Ask for a WebDriver BiDi websocket (default true): waits wake on browser events, traces
    /// get console and network. `false` for a WebDriver server that rejects `webSocketUrl`.
    pub(super) bidi: Option<bool>,
    /// `context` (default with BiDi): one browser, a user context per user; `process`: a
    /// browser per user.
    pub(super) isolation: Option<String>,
    #[serde(default)]
    pub(super) args: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MailFile {
    /// `staging_endpoint` (default), `maildev`, `mailpit`.
    pub(super) source: Option<String>,
    /// Base URL of MailDev / Mailpit.
    pub(super) url: Option<String>,
    /// Path of the staging mail report.
    pub(super) report_path: Option<String>,
    /// Env var whose value, when set, is used as every OTP instead of reading mail.
    pub(super) fixed_otp_env: Option<String>,
    /// How far the app's clock may be behind the runner's (a remote staging server).
    pub(super) clock_skew: Option<String>,
    /// Origins whose links a `link:` extraction prefers (besides the base URL's).
    #[serde(default)]
    pub(super) link_origins: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HealthFile {
    pub(super) enabled: Option<bool>,
    pub(super) path: Option<String>,
    pub(super) staging_path: Option<String>,
    pub(super) timeout: Option<String>,
    /// More health endpoints, on any origin, by name: `[health.extra] mailcatcher = "http://…"`.
    #[serde(default)]
    pub(super) extra: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArtifactsFile {
    pub(super) dir: Option<PathBuf>,
}
