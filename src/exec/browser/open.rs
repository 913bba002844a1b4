//! Opening a user's session: Chrome's capabilities (profile, downloads, locale, flags), the
//! WebDriver and BiDi connections, the viewport, basic auth; what the session says it is.

use super::*;

/// A WebDriver session just opened, before it is made a user's (or shared by users).
pub(super) struct Connected {
    pub(super) client: Client,
    pub(super) profile_dir: Option<tempfile::TempDir>,
    pub(super) download_dir: Option<tempfile::TempDir>,
    /// The session's BiDi endpoint, when asked for and given.
    pub(super) ws_url: Option<String>,
    pub(super) browser_name: String,
    pub(super) browser_version: String,
    /// The Grid keeps the session's downloads (it accepted `se:downloadsEnabled`).
    pub(super) managed_downloads: bool,
    /// The driver started for this session alone (a second local geckodriver).
    pub(super) own_driver: Option<Driver>,
}

/// A fresh temporary dir, named for what it holds.
pub(super) fn temp_dir(prefix: &str, what: &str) -> Result<tempfile::TempDir, BrowserError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| BrowserError::Session(format!("cannot create a {what}: {e}")))
}

/// Starts a browser (a new WebDriver session) with `cfg`'s capabilities; `downloads`: give it
/// a download dir of its own (a browser per user; a shared one sets it per user context).
pub(super) async fn connect(
    driver: &Driver,
    cfg: &BrowserConfig,
    downloads: bool,
) -> Result<Connected, BrowserError> {
    let local = cfg.webdriver_url.is_none();
    // geckodriver makes a fresh profile per session itself.
    let profile_dir = if local && cfg.name == BrowserName::Chromium {
        Some(temp_dir("flows-profile-", "browser profile dir")?)
    } else {
        None
    };
    let download_dir = if local && downloads {
        Some(temp_dir("flows-downloads-", "download dir")?)
    } else {
        None
    };
    let mut caps = capabilities(
        cfg,
        local,
        profile_dir.as_ref().map(|d| d.path()),
        download_dir.as_ref().map(|d| d.path()),
    );
    // A Grid node sets the download dir itself, and only a node started with managed downloads
    // matches this capability: ask for it only where the Grid's /status offers it (a request no
    // slot matches would wait in the Grid's queue).
    if !local && driver.managed_downloads(w3c_name(cfg)) {
        caps.insert("se:downloadsEnabled".into(), json!(true));
    }
    let (url, own_driver) = driver.for_session(cfg).await?;
    let connect = |caps: serde_json::Map<String, Value>| async {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&url)
            .await
            .map_err(|e| BrowserError::Session(e.to_string()))
    };
    let client = if cfg.bidi {
        let mut with_bidi = caps.clone();
        with_bidi.insert("webSocketUrl".into(), json!(true));
        match connect(with_bidi).await {
            // An older server may refuse the capability: go on without events.
            Err(BrowserError::Session(m)) if m.contains("webSocketUrl") => {
                tracing::warn!("the WebDriver server refused webSocketUrl ({m}); waits poll");
                connect(caps).await?
            }
            other => other?,
        }
    } else {
        connect(caps).await?
    };
    let returned = client.capabilities().cloned().unwrap_or_default();
    let text = |k: &str, default: &str| {
        returned
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    Ok(Connected {
        ws_url: returned
            .get("webSocketUrl")
            .and_then(Value::as_str)
            .filter(|_| cfg.bidi)
            .map(str::to_owned),
        browser_name: text("browserName", "chrome"),
        browser_version: text("browserVersion", "unknown"),
        managed_downloads: !local && returned.get("se:downloadsEnabled") == Some(&json!(true)),
        own_driver,
        client,
        profile_dir,
        download_dir,
    })
}

impl BrowserSession {
    /// Opens `user`'s session: a user context in the run's shared browser when
    /// `isolation = "context"` (started on first use), else, or when that browser cannot take
    /// `cfg` per user context, a browser of the user's own.
    pub async fn open(
        driver: &Driver,
        cfg: &BrowserConfig,
        user: &str,
    ) -> Result<BrowserSession, BrowserError> {
        if cfg.isolation == crate::config::Isolation::Context && cfg.bidi {
            // The first user's start includes the shared browser's.
            let opening = Instant::now();
            if let Some(shared) = driver.shared_browser(cfg).await? {
                match shared.open_user(cfg, user).await {
                    Ok(session) => {
                        // bench/run reads this line for the session start figure.
                        tracing::debug!(
                            user,
                            ms = opening.elapsed().as_millis() as u64,
                            bidi = true,
                            isolation = "context",
                            "browser session started"
                        );
                        return Ok(session);
                    }
                    Err(BrowserError::Lost(e)) => return Err(BrowserError::Lost(e)),
                    // A setting the browser will not set per context (or a context it will not
                    // make): a browser of the user's own takes the settings as Chrome flags.
                    Err(e) => tracing::debug!(
                        "{user}: not in a user context of the shared browser ({e}); a browser of \
                         its own"
                    ),
                }
            }
        }
        BrowserSession::open_own_browser(driver, cfg, user).await
    }

    /// Opens `user`'s session in a browser of its own (`isolation = "process"`).
    pub async fn open_own_browser(
        driver: &Driver,
        cfg: &BrowserConfig,
        user: &str,
    ) -> Result<BrowserSession, BrowserError> {
        let opening = Instant::now();
        let Connected {
            client,
            profile_dir,
            download_dir,
            ws_url,
            browser_name,
            browser_version,
            managed_downloads,
            own_driver,
        } = connect(driver, cfg, true).await?;
        let bidi = match ws_url {
            Some(url) => match Bidi::connect(&url).await {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::warn!("no WebDriver BiDi events ({e}); waits poll");
                    None
                }
            },
            None => None,
        };
        let session = BrowserSession {
            client,
            user: user.to_owned(),
            chrome_cdp: browser_name.contains("chrom"),
            browser_name,
            browser_version,
            round_trips: Arc::new(AtomicU32::new(0)),
            driver_us: AtomicU64::new(0),
            page_us: AtomicU64::new(0),
            _profile_dir: profile_dir,
            download_dir,
            managed_downloads,
            own_driver: tokio::sync::Mutex::new(own_driver),
            frame_offset: std::sync::Mutex::new((0.0, 0.0)),
            main_window: std::sync::Mutex::new(None),
            bidi,
            secret_mask: std::sync::OnceLock::new(),
            frames_masked: std::sync::atomic::AtomicBool::new(false),
            prefetched: std::sync::Mutex::new(None),
            frame_in_flight: std::sync::Mutex::new(None),
            top_context: std::sync::Mutex::new(None),
            in_context: None,
        };
        if let Some(viewport) = cfg.viewport {
            if let Err(e) = session.set_viewport(viewport).await {
                session.close().await;
                return Err(e);
            }
        }
        // bench/run reads this line for the session start figure.
        tracing::debug!(
            user,
            ms = opening.elapsed().as_millis() as u64,
            bidi = session.bidi.is_some(),
            isolation = "process",
            "browser session started"
        );
        Ok(session)
    }

    /// `window.innerWidth` × `window.innerHeight` of the current page.
    pub async fn inner_size(&self) -> Result<(u32, u32), BrowserError> {
        let v = self
            .execute_value("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        let dim = |i: usize| {
            v.get(i)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        Ok((dim(0), dim(1)))
    }

    /// Makes the page's content exactly `viewport`: the window is sized so that its content
    /// fits (W3C Set Window Rect, corrected by what `innerWidth/innerHeight` measure), and where
    /// the window cannot get there (a headless screen smaller than the window) Chrome's
    /// `Emulation.setDeviceMetricsOverride` sets the content size itself.
    pub async fn set_viewport(
        &self,
        viewport: crate::config::Viewport,
    ) -> Result<(), BrowserError> {
        let want = (viewport.width, viewport.height);
        for _ in 0..3 {
            let (w, h) = self.inner_size().await?;
            if (w, h) == want {
                tracing::debug!("viewport {viewport}: the window is sized to it");
                return Ok(());
            }
            let rect = match self.cmd(http::Method::GET, "window/rect", None).await {
                Ok(r) => r,
                Err(BrowserError::Lost(e)) => return Err(BrowserError::Lost(e)),
                Err(_) => break,
            };
            let outer = |k: &str| rect.get(k).and_then(Value::as_i64).unwrap_or(0);
            let width = outer("width") + i64::from(want.0) - i64::from(w);
            let height = outer("height") + i64::from(want.1) - i64::from(h);
            if width <= 0 || height <= 0 {
                break;
            }
            let body = json!({ "width": width, "height": height });
            match self
                .cmd(http::Method::POST, "window/rect", Some(body))
                .await
            {
                Ok(_) => {}
                Err(BrowserError::Lost(e)) => return Err(BrowserError::Lost(e)),
                Err(_) => break,
            }
        }
        if self.chrome_cdp {
            let body = json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": want.0, "height": want.1, "deviceScaleFactor": 0, "mobile": false }});
            match self
                .cmd(http::Method::POST, "goog/cdp/execute", Some(body))
                .await
            {
                Ok(_) => {}
                Err(BrowserError::Lost(e)) => return Err(BrowserError::Lost(e)),
                Err(e) => tracing::debug!("cdp setDeviceMetricsOverride unavailable: {e}"),
            }
        }
        if !self.chrome_cdp {
            // Elsewhere (Firefox) the standard way: BiDi viewport emulation of the top context.
            if let (Some(bidi), Some(context)) = (&self.bidi, self.top_context().await) {
                let params = json!({ "context": context,
                    "viewport": { "width": want.0, "height": want.1 } });
                if let Err(e) = bidi.command("browsingContext.setViewport", params).await {
                    tracing::debug!("browsingContext.setViewport unavailable: {e}");
                }
            }
        }
        let got = self.inner_size().await?;
        if got == want {
            tracing::debug!("viewport {viewport}: set by emulation");
            Ok(())
        } else {
            Err(BrowserError::Session(format!(
                "the browser's viewport is {}x{}, not the configured {viewport}; this browser                  could not be sized to it (a window larger than the screen?): choose a smaller                  viewport",
                got.0, got.1
            )))
        }
    }

    /// HTTP basic auth for the target: loads `base_url` (or the configured sign-in path under
    /// it) once with the credentials in the URL, so the browser keeps them in its auth cache for
    /// that origin and realm (later pages and their subresources are answered from it), then
    /// leaves the page so no URL with credentials stays in the session. The page must ask for
    /// the credentials (answer 401 with a Basic challenge): Chrome keeps URL credentials only
    /// when a challenge takes them. The password is a secret registered with the redactor;
    /// errors never carry the URL with it.
    pub async fn sign_in_basic_auth(
        &self,
        base_url: &str,
        auth: &crate::config::BasicAuth,
    ) -> Result<(), BrowserError> {
        let page = match &auth.sign_in_path {
            Some(path) => format!("{}{path}", base_url.trim_end_matches('/')),
            None => base_url.to_owned(),
        };
        let mut url = url::Url::parse(&page).map_err(|e| {
            BrowserError::Session(format!("the sign-in page {page} is not a URL: {e}"))
        })?;
        if url.set_username(&auth.username).is_err()
            || url.set_password(Some(&auth.password.value)).is_err()
        {
            return Err(BrowserError::Session(format!(
                "cannot put basic-auth credentials into {base_url}"
            )));
        }
        let result = self.goto(url.as_str()).await;
        // Whatever happened, the credentials must not stay in the page's URL.
        let blank = self.goto("about:blank").await;
        match result {
            Ok(()) => blank,
            Err(BrowserError::Lost(_)) => Err(BrowserError::Lost(format!(
                "the browser was lost while signing in to {page} with basic auth"
            ))),
            Err(_) => Err(BrowserError::Session(format!(
                "could not open {page} with the basic-auth credentials of {}",
                auth.username
            ))),
        }
    }

    /// The directory the browser downloads into (`None` with a remote WebDriver server).
    /// The event that says this session is ready.
    pub fn started_event(&self) -> crate::events::RunEventKind {
        crate::events::RunEventKind::BrowserStarted {
            user: self.user.clone(),
            browser: self.browser_name.clone(),
            version: self.browser_version.clone(),
            bidi: self.has_bidi(),
        }
    }
}

/// Chrome features that only start processes a test browser never uses (unknown names are
/// ignored by older and newer Chromes alike).
const UNUSED_CHROME_PROCESSES: &[&str] = &[
    "WebUIOmniboxAimPopup",
    "WebUIOmniboxPopup",
    "PreloadTopChromeWebUI",
    "SpareRendererForSitePerProcess",
];

/// The W3C capabilities of a Chrome session: flags that keep a test browser quiet and
/// deterministic, its own profile and download dirs (a local browser), locale, user agent,
/// the binary, and the timeouts the runner relies on.
fn capabilities(
    cfg: &BrowserConfig,
    local: bool,
    profile_dir: Option<&Path>,
    download_dir: Option<&Path>,
) -> serde_json::Map<String, Value> {
    if cfg.name == BrowserName::Firefox {
        return firefox_capabilities(cfg, local, download_dir);
    }
    let mut args: Vec<String> = vec![
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-extensions".into(),
        // RenderDocument: with it, a screenshot taken just after a click that updates the
        // page sometimes hangs in the renderer until chromedriver gives up (10 s, Chrome 156).
        // The rest are processes a test browser never uses: the omnibox popups' WebUI, which
        // Chrome 156 preloads in a renderer per window and per user context (a third of the
        // browser's memory with four users), and the spare renderer kept warm for the next
        // site (docs/performance.md, "Browser memory").
        format!(
            "--disable-features=Translate,OptimizationHints,MediaRouter,PasswordLeakDetection,\
             RenderDocument,{}",
            UNUSED_CHROME_PROCESSES.join(",")
        ),
        "--password-store=basic".into(),
        format!("--window-size={},{}", cfg.window.0, cfg.window.1),
    ];
    if cfg.headless {
        args.push("--headless=new".into());
    }
    args.extend(
        super::capture::STABLE_RENDERING_ARGS
            .iter()
            .map(|a| (*a).to_owned()),
    );
    if let Some(locale) = &cfg.locale {
        args.push(format!("--lang={locale}"));
    }
    if let Some(ua) = &cfg.user_agent {
        args.push(format!("--user-agent={ua}"));
    }
    if let Some(dir) = profile_dir {
        args.push(format!("--user-data-dir={}", dir.display()));
    }
    args.extend(cfg.args.iter().cloned());
    let mut prefs = json!({
        "credentials_enable_service": false,
        "profile.password_manager_enabled": false,
        "download.prompt_for_download": false,
    });
    if let Some(d) = download_dir {
        prefs["download.default_directory"] = json!(d.display().to_string());
    }
    if let Some(locale) = &cfg.locale {
        // `--lang` sets navigator.language; this pref sets the Accept-Language header.
        prefs["intl.accept_languages"] = json!(crate::config::accept_languages(locale));
    }
    let chrome_options = json!({ "args": args, "prefs": prefs });
    w3c_capabilities(cfg, local, "chrome", "goog:chromeOptions", chrome_options)
}

/// How long one script may run. The page script waits at most 5 s per round trip (a slice),
/// so this only bounds a script whose answer is lost: Firefox drops it when the document
/// unloads at the moment the script answers (a click that navigates, then the verdict's round
/// trip), and the command would otherwise hang for the whole timeout.
pub(super) const SCRIPT_TIMEOUT_MS: u64 = 15_000;

/// What every session asks for beside its browser's own options (`options_key`, which get the
/// binary: the configured one, else the local browser found): the page load strategy, prompts
/// left for the runner, certificates, and the timeouts the runner relies on.
fn w3c_capabilities(
    cfg: &BrowserConfig,
    local: bool,
    browser_name: &str,
    options_key: &str,
    mut options: Value,
) -> serde_json::Map<String, Value> {
    let binary = match &cfg.binary {
        Some(b) => Some(b.clone()),
        None if local => local_browser_binary(cfg)
            .ok()
            .flatten()
            .map(|p| p.display().to_string()),
        None => None,
    };
    if let Some(b) = binary {
        options["binary"] = json!(b);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!(browser_name));
    caps.insert(options_key.into(), options);
    caps.insert("pageLoadStrategy".into(), json!("normal"));
    caps.insert("unhandledPromptBehavior".into(), json!("ignore"));
    if cfg.accept_insecure_certs {
        caps.insert("acceptInsecureCerts".into(), json!(true));
    }
    caps.insert(
        "timeouts".into(),
        json!({ "script": SCRIPT_TIMEOUT_MS, "pageLoad": 60_000, "implicit": 0 }),
    );
    caps
}

/// The W3C capabilities of a Firefox session (`moz:firefoxOptions`): headless and window size
/// as arguments, quiet and deterministic preferences, downloads saved without asking into the
/// download dir (a local browser; PDFs too, not shown in the built-in viewer), locale, user
/// agent, the binary, and the timeouts the runner relies on.
fn firefox_capabilities(
    cfg: &BrowserConfig,
    local: bool,
    download_dir: Option<&Path>,
) -> serde_json::Map<String, Value> {
    let mut args: Vec<String> = vec![
        "-width".into(),
        cfg.window.0.to_string(),
        "-height".into(),
        cfg.window.1.to_string(),
    ];
    if cfg.headless {
        args.push("-headless".into());
    }
    args.extend(cfg.args.iter().cloned());
    let mut prefs = json!({
        "browser.shell.checkDefaultBrowser": false,
        "app.update.auto": false,
        "app.update.enabled": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "toolkit.telemetry.enabled": false,
        "signon.rememberSignons": false,
        "browser.download.manager.showWhenStarting": false,
        "browser.download.always_ask_before_handling_new_types": false,
        "browser.download.useDownloadDir": true,
        "browser.helperApps.neverAsk.saveToDisk":
            "text/csv,text/plain,application/pdf,application/octet-stream,application/zip,application/json",
        "pdfjs.disabled": true,
    });
    if let Some(d) = download_dir {
        prefs["browser.download.folderList"] = json!(2);
        prefs["browser.download.dir"] = json!(d.display().to_string());
    }
    if let Some(locale) = &cfg.locale {
        // Firefox takes navigator.language and the Accept-Language header from this one pref.
        prefs["intl.accept_languages"] = json!(crate::config::accept_languages(locale));
        prefs["intl.locale.requested"] = json!(locale);
    }
    if let Some(ua) = &cfg.user_agent {
        prefs["general.useragent.override"] = json!(ua);
    }
    let options = json!({ "args": args, "prefs": prefs });
    w3c_capabilities(cfg, local, "firefox", "moz:firefoxOptions", options)
}
