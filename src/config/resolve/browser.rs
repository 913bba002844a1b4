//! `[browser]`: which WebDriver server and browser, headless or not, the window or exact
//! viewport, locale, user agent, BiDi; and a flow's own `browser:` laid over them.

use super::super::env::nonempty;
use super::super::file::BrowserFile;
use super::super::{CliOverrides, ConfigError};
use crate::flowfile::browser_settings::{check_locale, Viewport};

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
    Ok(BrowserConfig {
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
        bidi: file.bidi.unwrap_or(true),
        args: file.args,
    })
}
