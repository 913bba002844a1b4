//! `[browser]`: which WebDriver server and browser, headless or not, the window or exact
//! viewport, locale, user agent, BiDi, how users are kept apart (`isolation`); and a flow's own
//! `browser:` laid over them.

use super::super::env::nonempty;
use super::super::file::BrowserFile;
use super::super::{CliOverrides, ConfigError};
use crate::flowfile::browser_settings::{check_locale, Viewport};

/// How the users of a run are kept apart (`[browser] isolation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// One browser for the run, a WebDriver BiDi user context (own cookies, storage, cache,
    /// downloads) per user: the default when BiDi is on.
    Context,
    /// A browser (its own Chromium process tree) per user: the default with `bidi = false`.
    Process,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Context => "context",
            Isolation::Process => "process",
        }
    }
}

impl std::str::FromStr for Isolation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "context" => Ok(Isolation::Context),
            "process" => Ok(Isolation::Process),
            other => Err(format!(
                "unknown isolation `{other}`; use `context` (one browser, a user context per \
                 user) or `process` (a browser per user)"
            )),
        }
    }
}

/// Which browser the runner drives (`[browser] name`, `--browser`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BrowserName {
    /// Chromium (or Chrome) through chromedriver: the default.
    #[default]
    Chromium,
    /// Firefox through geckodriver.
    Firefox,
}

impl BrowserName {
    pub fn as_str(self) -> &'static str {
        match self {
            BrowserName::Chromium => "chromium",
            BrowserName::Firefox => "firefox",
        }
    }

    /// The W3C `browserName` (what a Selenium Grid's slots say).
    pub fn w3c(self) -> &'static str {
        match self {
            BrowserName::Chromium => "chrome",
            BrowserName::Firefox => "firefox",
        }
    }

    /// The WebDriver server the runner starts for it.
    pub fn driver(self) -> &'static str {
        match self {
            BrowserName::Chromium => "chromedriver",
            BrowserName::Firefox => "geckodriver",
        }
    }
}

impl std::str::FromStr for BrowserName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "chromium" | "chrome" => Ok(BrowserName::Chromium),
            "firefox" => Ok(BrowserName::Firefox),
            other => Err(format!(
                "unknown browser `{other}`; use `chromium` (through chromedriver) or `firefox` \
                 (through geckodriver)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BrowserConfig {
    /// Which browser.
    pub name: BrowserName,
    pub chromedriver: String,
    /// Path or name of geckodriver (Firefox).
    pub geckodriver: String,
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
    /// One browser with a user context per user, or a browser per user.
    pub isolation: Isolation,
    pub args: Vec<String>,
}

impl Default for BrowserConfig {
    /// A local headless Chromium through `chromedriver` on PATH, as flows.toml's defaults say.
    fn default() -> Self {
        BrowserConfig {
            name: BrowserName::Chromium,
            chromedriver: "chromedriver".to_owned(),
            geckodriver: "geckodriver".to_owned(),
            binary: None,
            webdriver_url: None,
            headless: true,
            window: (1280, 900),
            viewport: None,
            locale: None,
            user_agent: None,
            accept_insecure_certs: false,
            bidi: true,
            isolation: Isolation::Context,
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

/// The suite's browser settings; `accept_insecure_certs` comes from `[target]`.
pub(super) fn browser(
    file: BrowserFile,
    accept_insecure_certs: bool,
    cli: &CliOverrides,
) -> Result<BrowserConfig, ConfigError> {
    let viewport = file
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
    let locale = nonempty(file.locale)
        .map(|l| {
            check_locale(&l).map_err(|message| ConfigError::Invalid {
                what: "browser.locale".to_owned(),
                message,
            })?;
            Ok::<_, ConfigError>(l)
        })
        .transpose()?;
    let bidi = file.bidi.unwrap_or(true);
    let name = match (cli.browser, file.name.as_deref()) {
        (Some(n), _) => n,
        (None, Some(text)) => text.parse().map_err(|message| ConfigError::Invalid {
            what: "browser.name".to_owned(),
            message,
        })?,
        (None, None) => BrowserName::Chromium,
    };
    let chosen = match cli.isolation {
        Some(i) => Some(Ok(i)),
        None => file.isolation.as_deref().map(str::parse::<Isolation>),
    };
    let isolation = match chosen {
        Some(Err(message)) => {
            return Err(ConfigError::Invalid {
                what: "browser.isolation".to_owned(),
                message,
            })
        }
        // User contexts are made over BiDi: without it there is no other way.
        Some(Ok(Isolation::Context)) if !bidi => {
            return Err(ConfigError::Invalid {
                what: "browser.isolation".to_owned(),
                message: "`context` needs WebDriver BiDi, and `bidi = false` turns it off; set \
                          `isolation = \"process\"` or remove `bidi = false`"
                    .to_owned(),
            })
        }
        Some(Ok(i)) => i,
        // Firefox in a user context does not yet pass the 14 flows (README "Firefox").
        None if bidi && name != BrowserName::Firefox => Isolation::Context,
        None => Isolation::Process,
    };
    Ok(BrowserConfig {
        name,
        geckodriver: file.geckodriver.unwrap_or_else(|| "geckodriver".to_owned()),
        chromedriver: file
            .chromedriver
            .unwrap_or_else(|| "chromedriver".to_owned()),
        binary: file.binary,
        webdriver_url: nonempty(cli.webdriver_url.clone()).or(file.webdriver_url),
        headless: !cli.headed && file.headless.unwrap_or(true),
        window: viewport.map_or(
            (
                file.window_width.unwrap_or(1280),
                file.window_height.unwrap_or(900),
            ),
            |v| (v.width, v.height),
        ),
        viewport,
        locale,
        user_agent: nonempty(file.user_agent),
        accept_insecure_certs,
        bidi,
        isolation,
        args: file.args,
    })
}
