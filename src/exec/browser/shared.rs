//! One browser shared by the users of a run (`[browser] isolation = "context"`): one WebDriver
//! session, and per user a WebDriver BiDi user context (its own cookies, storage, cache, HTTP
//! auth, downloads and emulated viewport, locale and user agent) with a tab in it.
//!
//! Classic commands act on the session's current window, so a user's command first switches
//! to that user's window: one Switch To Window, only when another user acted last. The switch
//! and the command hold one lock, so two users never interleave. Each user has a BiDi
//! connection of its own, subscribed to its user context only: its waits and traces hear
//! nothing of the others. The browser itself is closed by its [`Driver`].
//!
//! What cannot be set per user context (a flow whose `browser:` settings differ in anything but
//! viewport, locale and user agent from the shared browser's) gets a browser of its own, said
//! in the debug log.

use super::open::{connect, temp_dir, Connected};
use super::*;

/// The browser the users share: its WebDriver session and a BiDi connection for commands.
pub struct SharedBrowser {
    client: Client,
    /// Its settings, less those set per user context ([`browser_wide`]).
    settings: BrowserConfig,
    ws_url: String,
    bidi: Bidi,
    browser_name: String,
    browser_version: String,
    _profile_dir: Option<tempfile::TempDir>,
    /// The window the WebDriver session is switched to (classic commands act there), `None`
    /// when unknown.
    current: tokio::sync::Mutex<Option<String>>,
    /// The tab the session started with, outside every user context: closed once a user's tab
    /// exists (a browser closes when its last tab does), as nothing ever runs in it.
    first_tab: std::sync::Mutex<Option<String>>,
    local: bool,
    /// Where the Grid node has the browser save downloads (`se:downloadsEnabled`), on the
    /// node's machine: user contexts are told to save there too, and the files are fetched
    /// through the session's `/se/files`.
    grid_download_dir: Option<String>,
    /// The driver started for this browser alone (a second local geckodriver).
    _own_driver: Option<Driver>,
}

/// The settings a browser is started with; the rest is set per user context (viewport,
/// locale, user agent). With a viewport, the window size is the browser's default (the
/// viewport is emulated per context, whatever the window).
pub(super) fn browser_wide(cfg: &BrowserConfig) -> BrowserConfig {
    let mut wide = cfg.clone();
    wide.locale = None;
    wide.user_agent = None;
    if wide.viewport.take().is_some() {
        wide.window = BrowserConfig::default().window;
    }
    wide
}

/// The dir a Grid node set as Chrome's download dir (`download.default_directory`), read from
/// Chrome's own preferences page in the session's first tab: a user context saves nothing
/// unless told where, and the Grid does not say. `None` (said in the log: a download step in a
/// user context then fails saying so) when the page is not there (not Chrome).
async fn grid_download_dir(client: &Client) -> Option<String> {
    let read = async {
        client.goto("chrome://prefs-internals").await.ok()?;
        let text = client
            .execute("return document.body.innerText;", vec![])
            .await
            .ok()?;
        let prefs: Value = serde_json::from_str(text.as_str()?).ok()?;
        prefs
            .pointer("/download/default_directory/value")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let dir = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()
        .flatten();
    let _ = client.goto("about:blank").await;
    match &dir {
        Some(d) => tracing::debug!("the Grid node saves this browser's downloads in {d}"),
        None => tracing::warn!(
            "the Grid keeps downloads, but its download dir is unknown to the runner: download \
             steps fail in user contexts; use isolation = \"process\" for them"
        ),
    }
    dir
}

impl SharedBrowser {
    /// Starts the browser for `cfg`; `Ok(None)` (said in the log) when the WebDriver server
    /// gives no BiDi connection, without which there are no user contexts.
    pub(super) async fn start(
        driver: &Driver,
        cfg: &BrowserConfig,
    ) -> Result<Option<SharedBrowser>, BrowserError> {
        let opening = Instant::now();
        let settings = browser_wide(cfg);
        let Connected {
            client,
            profile_dir,
            download_dir: _,
            ws_url,
            browser_name,
            browser_version,
            managed_downloads,
            own_driver,
        } = connect(driver, &settings, false).await?;
        let why_not = match ws_url {
            Some(url) => match Bidi::connect_quiet(&url, None).await {
                Ok(bidi) => {
                    let first_tab = client.window().await.ok().map(String::from);
                    let grid_download_dir = if managed_downloads {
                        grid_download_dir(&client).await
                    } else {
                        None
                    };
                    tracing::debug!(
                        ms = opening.elapsed().as_millis() as u64,
                        "shared browser started (isolation = \"context\")"
                    );
                    return Ok(Some(SharedBrowser {
                        client,
                        local: settings.webdriver_url.is_none(),
                        settings,
                        ws_url: url,
                        bidi,
                        browser_name,
                        browser_version,
                        _profile_dir: profile_dir,
                        current: tokio::sync::Mutex::new(None),
                        first_tab: std::sync::Mutex::new(first_tab),
                        grid_download_dir,
                        _own_driver: own_driver,
                    }));
                }
                Err(e) => format!("its BiDi connection failed: {e}"),
            },
            None => "the WebDriver server gave no BiDi connection (webSocketUrl)".to_owned(),
        };
        tracing::warn!(
            "no user contexts: {why_not}; each user gets a browser of its own (isolation = \
             \"process\")"
        );
        let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
        Ok(None)
    }

    /// Whether a user with `cfg` can live here (all that differs is set per user context).
    pub(super) fn takes(&self, cfg: &BrowserConfig) -> bool {
        browser_wide(cfg) == self.settings
    }

    /// Ends the browser's WebDriver session (its Chromium exits).
    pub(super) async fn close(&self, within: Duration) {
        let _ = tokio::time::timeout(within, self.client.clone().close()).await;
    }

    async fn command(&self, method: &str, params: Value) -> Result<Value, BrowserError> {
        self.bidi
            .command(method, params)
            .await
            .map_err(BrowserError::Session)
    }

    /// Opens `user`'s session: a new user context with `cfg`'s viewport, locale and user agent,
    /// downloads into a dir of its own, and a tab.
    pub(super) async fn open_user(
        self: &Arc<Self>,
        cfg: &BrowserConfig,
        user: &str,
    ) -> Result<BrowserSession, BrowserError> {
        let mut params = json!({});
        if cfg.accept_insecure_certs {
            params["acceptInsecureCerts"] = json!(true);
        }
        let created = self.command("browser.createUserContext", params).await?;
        let user_context = created
            .get("userContext")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                BrowserError::Session(format!("browser.createUserContext answered {created}"))
            })?
            .to_owned();
        match self.prepare_user(cfg, user, &user_context).await {
            Ok(session) => Ok(session),
            Err(e) => {
                let _ = self
                    .command(
                        "browser.removeUserContext",
                        json!({ "userContext": user_context }),
                    )
                    .await;
                Err(e)
            }
        }
    }

    /// Closes the session's first tab (a renderer's worth of memory), once: the classic
    /// session is switched to a user's window before any command (`current` starts unknown).
    async fn close_first_tab(&self) {
        let first = self.first_tab.lock().ok().and_then(|mut t| t.take());
        if let Some(context) = first {
            if let Err(e) = self
                .command("browsingContext.close", json!({ "context": context }))
                .await
            {
                tracing::debug!("the session's first tab stays open: {e}");
            }
        }
    }

    async fn prepare_user(
        self: &Arc<Self>,
        cfg: &BrowserConfig,
        user: &str,
        user_context: &str,
    ) -> Result<BrowserSession, BrowserError> {
        let only = json!([user_context]);
        let bidi = Bidi::connect_for_user_context(&self.ws_url, user_context)
            .await
            .map_err(|e| {
                BrowserError::Session(format!("no BiDi connection for {user}'s context: {e}"))
            })?;
        let download_dir = if self.local {
            let dir = temp_dir("flows-downloads-", "download dir")?;
            self.command(
                "browser.setDownloadBehavior",
                json!({
                    "downloadBehavior": {
                        "type": "allowed",
                        "destinationFolder": dir.path().display().to_string(),
                    },
                    "userContexts": only,
                }),
            )
            .await?;
            Some(dir)
        } else {
            if let Some(dir) = &self.grid_download_dir {
                self.command(
                    "browser.setDownloadBehavior",
                    json!({
                        "downloadBehavior": { "type": "allowed", "destinationFolder": dir },
                        "userContexts": only,
                    }),
                )
                .await?;
            }
            None
        };
        if let Some(v) = cfg.viewport {
            self.command(
                "browsingContext.setViewport",
                json!({ "viewport": { "width": v.width, "height": v.height }, "userContexts": only }),
            )
            .await?;
        }
        if let Some(locale) = &cfg.locale {
            // The locale override sets navigator.language; the header is set beside it.
            self.command(
                "emulation.setLocaleOverride",
                json!({ "locale": locale, "userContexts": only }),
            )
            .await?;
            self.command(
                "network.setExtraHeaders",
                json!({
                    "headers": [{
                        "name": "Accept-Language",
                        "value": { "type": "string", "value": crate::config::accept_languages(locale) },
                    }],
                    "userContexts": only,
                }),
            )
            .await?;
        }
        if let Some(ua) = &cfg.user_agent {
            self.command(
                "emulation.setUserAgentOverride",
                json!({ "userAgent": ua, "userContexts": only }),
            )
            .await?;
        }
        let tab = self
            .command(
                "browsingContext.create",
                json!({ "type": "tab", "userContext": user_context }),
            )
            .await?;
        let window = tab
            .get("context")
            .and_then(Value::as_str)
            .ok_or_else(|| BrowserError::Session(format!("browsingContext.create answered {tab}")))?
            .to_owned();
        self.close_first_tab().await;
        let session = BrowserSession {
            client: self.client.clone(),
            user: user.to_owned(),
            chrome_cdp: self.browser_name.contains("chrom"),
            browser_name: self.browser_name.clone(),
            browser_version: self.browser_version.clone(),
            round_trips: Arc::new(AtomicU32::new(0)),
            driver_us: AtomicU64::new(0),
            page_us: AtomicU64::new(0),
            _profile_dir: None,
            download_dir,
            managed_downloads: self.grid_download_dir.is_some(),
            own_driver: tokio::sync::Mutex::new(None),
            frame_offset: std::sync::Mutex::new((0.0, 0.0)),
            main_window: std::sync::Mutex::new(None),
            bidi: Some(bidi),
            secret_mask: std::sync::OnceLock::new(),
            frames_masked: std::sync::atomic::AtomicBool::new(false),
            prefetched: std::sync::Mutex::new(None),
            frame_in_flight: std::sync::Mutex::new(None),
            top_context: std::sync::Mutex::new(None),
            in_context: Some(InContext {
                browser: self.clone(),
                user_context: user_context.to_owned(),
                window: std::sync::Mutex::new(window),
            }),
        };
        if let Some(want) = cfg.viewport {
            // Never a setting silently lost: the page must measure what was asked.
            let got = session.inner_size().await?;
            if got != (want.width, want.height) {
                return Err(BrowserError::Session(format!(
                    "{user}'s pages measure {}x{}, not the configured viewport {want}",
                    got.0, got.1
                )));
            }
        }
        Ok(session)
    }
}

/// A user's part of a shared browser.
pub(super) struct InContext {
    browser: Arc<SharedBrowser>,
    /// The BiDi user context: its cookies, storage and windows are the user's.
    pub(super) user_context: String,
    /// The user's current top-level window: its tab, or the one a `window` step switched to.
    window: std::sync::Mutex<String>,
}

impl InContext {
    fn own_window(&self) -> String {
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Switches the session to the user's window unless it is there; the guard keeps it there.
    pub(super) async fn enter<'a>(
        &'a self,
        session: &BrowserSession,
    ) -> Result<tokio::sync::MutexGuard<'a, Option<String>>, fantoccini::error::CmdError> {
        let mut current = self.browser.current.lock().await;
        let mine = self.own_window();
        if current.as_deref() != Some(mine.as_str()) {
            // Unknown until the switch is answered (it may fail: the window was closed).
            *current = None;
            session.round_trips.fetch_add(1, Ordering::Relaxed);
            self.browser
                .client
                .issue_cmd(RawCmd {
                    method: http::Method::POST,
                    path: "window".to_owned(),
                    body: Some(json!({ "handle": mine })),
                })
                .await?;
            *current = Some(mine);
        }
        Ok(current)
    }

    /// A `window` step's Switch To Window: the window becomes the user's current one.
    pub(super) async fn switch_window(
        &self,
        session: &BrowserSession,
        body: Option<Value>,
    ) -> Result<Value, fantoccini::error::CmdError> {
        let handle = body
            .as_ref()
            .and_then(|b| b.get("handle"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut current = self.browser.current.lock().await;
        *current = None;
        let _timed = session.tick();
        let answer = self
            .browser
            .client
            .issue_cmd(RawCmd {
                method: http::Method::POST,
                path: "window".to_owned(),
                body,
            })
            .await?;
        *current = Some(handle.clone());
        *self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = handle;
        Ok(answer)
    }

    /// Of `handles` (the whole session's), those of this user's windows, in their order.
    pub(super) async fn own_windows(
        &self,
        handles: Vec<String>,
    ) -> Result<Vec<String>, BrowserError> {
        let tree = self
            .browser
            .command("browsingContext.getTree", json!({ "maxDepth": 0 }))
            .await?;
        let mine: std::collections::HashSet<&str> = tree
            .get("contexts")
            .and_then(Value::as_array)
            .map(|all| {
                all.iter()
                    .filter(|c| {
                        c.get("userContext").and_then(Value::as_str)
                            == Some(self.user_context.as_str())
                    })
                    .filter_map(|c| c.get("context").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        Ok(handles
            .into_iter()
            .filter(|h| mine.contains(h.as_str()))
            .collect())
    }

    /// Removes the user context (its windows go with it).
    pub(super) async fn close(&self) {
        let removed = tokio::time::timeout(
            Duration::from_secs(5),
            self.browser.command(
                "browser.removeUserContext",
                json!({ "userContext": self.user_context }),
            ),
        )
        .await;
        if !matches!(removed, Ok(Ok(_))) {
            tracing::debug!("the user context {} was not removed", self.user_context);
        }
        let mut current = self.browser.current.lock().await;
        if current.as_deref() == Some(self.own_window().as_str()) {
            *current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a user context sets (viewport, locale, user agent) does not need another browser;
    /// anything else the browser is started with does.
    #[test]
    fn a_user_context_takes_viewport_locale_and_user_agent_but_not_flags() {
        let suite = BrowserConfig::default();
        let mut phone = suite.clone();
        phone.viewport = Some(crate::config::Viewport {
            width: 390,
            height: 844,
        });
        phone.window = (390, 844);
        phone.locale = Some("de-DE".to_owned());
        phone.user_agent = Some("flows-phone/1".to_owned());
        assert_eq!(browser_wide(&phone), browser_wide(&suite));
        let mut flags = suite.clone();
        flags.args.push("--force-dark-mode".to_owned());
        assert_ne!(browser_wide(&flags), browser_wide(&suite));
        let mut headed = suite.clone();
        headed.headless = false;
        assert_ne!(browser_wide(&headed), browser_wide(&suite));
        let mut window = suite.clone();
        window.window = (800, 600);
        assert_ne!(
            browser_wide(&window),
            browser_wide(&suite),
            "without a viewport the window size is the browser's"
        );
    }
}
