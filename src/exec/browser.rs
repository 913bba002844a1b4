//! The browser: a chromedriver process (or a remote WebDriver server) and one session per user.
//!
//! Every WebDriver command goes through [`BrowserSession::cmd`], which counts round trips so a
//! step can report how many it made. Actions follow the two-round-trip shape: one script that
//! locates the element and checks it is actionable (waiting inside the page), then one command
//! that acts (W3C Perform Actions, or Chrome's `Input.insertText` when the driver offers it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use super::bidi::{Bidi, EventWatch, PageEvent, Topic};
use super::process::{find_executable, free_port, ManagedChild};
use crate::config::BrowserConfig;
use crate::flowfile::keys::{key_names, parse_chord, Key};

const PAGE_JS: &str = include_str!("page.js");
const W3C_ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("chromedriver not found ({}); install it (Debian/Ubuntu, as root: apt-get install -y chromium chromium-driver) or set browser.chromedriver in flows.toml", where_looked(.0))]
    DriverNotFound(String),
    #[error("no Chromium to drive (looked for {0} on PATH); install it (Debian/Ubuntu, as root: apt-get install -y chromium chromium-driver) or set browser.binary in flows.toml")]
    BrowserNotFound(String),
    #[error("browser.binary `{0}` does not exist; install Chromium (Debian/Ubuntu, as root: apt-get install -y chromium chromium-driver) or correct browser.binary in flows.toml")]
    BrowserBinaryMissing(String),
    #[error("the WebDriver server at {url} does not answer: {error}; check --webdriver-url / browser.webdriver_url and that the server runs")]
    RemoteUnreachable { url: String, error: String },
    #[error("could not start chromedriver: {0}")]
    DriverSpawn(#[source] std::io::Error),
    #[error("chromedriver did not become ready within {0:?} (log: {1})")]
    DriverNotReady(Duration, PathBuf),
    #[error("could not open a browser session: {0}")]
    Session(String),
    #[error("webdriver: {0}")]
    Command(String),
    #[error("the browser is gone: {0}")]
    Lost(String),
}

impl BrowserError {
    fn from_cmd(e: fantoccini::error::CmdError) -> BrowserError {
        use fantoccini::error::CmdError;
        match &e {
            // The driver cannot be reached or dropped the connection: infrastructure, not a
            // failure of the app (the executor then names a child that died, if one did).
            CmdError::Lost(_) | CmdError::Failed(_) | CmdError::FailedC(_) => {
                BrowserError::Lost(e.to_string())
            }
            _ if e.is_invalid_session_id() => BrowserError::Lost(e.to_string()),
            CmdError::Standard(wd) if e.is_unexpected_alert_open() => {
                BrowserError::Command(format!(
                    "a dialog is open ({}); handle it with a `dialog` step",
                    wd.message.lines().next().unwrap_or_default()
                ))
            }
            _ => BrowserError::Command(e.to_string()),
        }
    }
}

/// The names a local Chromium goes by, looked for on PATH when `browser.binary` is unset.
const BROWSER_NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The browser a local chromedriver is to start: `browser.binary` when set (it must exist),
/// else the first of [`BROWSER_NAMES`] on PATH.
pub fn local_browser_binary(cfg: &BrowserConfig) -> Result<Option<PathBuf>, BrowserError> {
    match &cfg.binary {
        Some(b) => find_executable(b)
            .map(Some)
            .ok_or_else(|| BrowserError::BrowserBinaryMissing(b.clone())),
        None => BROWSER_NAMES
            .iter()
            .find_map(|n| find_executable(n))
            .map(Some)
            .ok_or_else(|| BrowserError::BrowserNotFound(BROWSER_NAMES.join(", "))),
    }
}

/// Where `chromedriver = "…"` was looked for: the path itself, or PATH for a bare name.
fn where_looked(name: &str) -> String {
    if name.contains('/') {
        format!("no executable file at {name}")
    } else {
        format!("looked for `{name}` on PATH")
    }
}

/// The WebDriver server: a chromedriver we started, or a remote one.
pub struct Driver {
    pub url: String,
    process: Option<ManagedChild>,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until `/status` says ready.
    pub async fn start(cfg: &BrowserConfig, log_path: &Path) -> Result<Driver, BrowserError> {
        if let Some(url) = &cfg.webdriver_url {
            let url = url.trim_end_matches('/').to_owned();
            // Any answer will do (a busy Grid says not ready): the point is to fail before the
            // first flow, naming the URL, when nothing listens there.
            let status = reqwest::Client::new()
                .get(format!("{url}/status"))
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            if let Err(e) = status {
                return Err(BrowserError::RemoteUnreachable {
                    error: crate::net::describe_error(&format!("{url}/status"), &e),
                    url,
                });
            }
            return Ok(Driver { url, process: None });
        }
        let exe = find_executable(&cfg.chromedriver)
            .ok_or_else(|| BrowserError::DriverNotFound(cfg.chromedriver.clone()))?;
        // A chromedriver without a browser would fail each session request with its own words;
        // say what to install before anything starts.
        local_browser_binary(cfg)?;
        let port = free_port().map_err(BrowserError::DriverSpawn)?;
        if let Some(parent) = log_path.parent() {
            std::fs::create_dir_all(parent).map_err(BrowserError::DriverSpawn)?;
        }
        let process = ManagedChild::spawn(
            "chromedriver",
            &exe,
            &[
                format!("--port={port}"),
                "--allowed-ips=127.0.0.1".to_owned(),
                // The log path also marks the process as this run's (tests look for it).
                // WARNING keeps command payloads (typed codes, opened links) out of the log.
                format!("--log-path={}", log_path.display()),
                "--log-level=WARNING".to_owned(),
            ],
            None,
            &[],
            None,
        )
        .map_err(BrowserError::DriverSpawn)?;
        let url = format!("http://127.0.0.1:{port}");
        let mut driver = Driver {
            url,
            process: Some(process),
        };
        let ready_within = Duration::from_secs(10);
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(resp) = http.get(format!("{}/status", driver.url)).send().await {
                if let Ok(v) = resp.json::<Value>().await {
                    if v.pointer("/value/ready").and_then(Value::as_bool) == Some(true) {
                        return Ok(driver);
                    }
                }
            }
            if let Some(p) = driver.process.as_mut() {
                if let Some(status) = p.exited() {
                    return Err(BrowserError::Session(format!(
                        "chromedriver {} during start-up; see {}",
                        status.how,
                        log_path.display()
                    )));
                }
            }
            if started.elapsed() > ready_within {
                driver.stop(false).await;
                return Err(BrowserError::DriverNotReady(
                    ready_within,
                    log_path.to_owned(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops chromedriver and its browsers; `hurry` shortens the grace after SIGTERM.
    pub async fn stop(&mut self, hurry: bool) {
        if let Some(mut p) = self.process.take() {
            let grace = if hurry { 300 } else { 2000 };
            p.stop(Duration::from_millis(grace)).await;
        }
    }
}

/// A WebDriver command given as method + path (relative to the session) + JSON body.
#[derive(Debug)]
struct RawCmd {
    method: http::Method,
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for RawCmd {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let sid = session.unwrap_or_default();
        base.join(&format!("session/{sid}/{}", self.path))
    }
    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// Outcome of one in-page locate/check/assert attempt.
#[derive(Debug, Clone)]
pub struct PageResult {
    pub ok: bool,
    /// Non-retryable (wrong element type, script error).
    pub fatal: bool,
    pub reason: Option<String>,
    pub value: Value,
}

/// What an act did that leaves no page to run a script in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageGone {
    /// An alert/confirm/prompt is open.
    DialogOpened,
    /// The window the act happened in is closed.
    WindowClosed,
}

/// One browser session (one user's cookies and storage).
pub struct BrowserSession {
    client: Client,
    pub user: String,
    pub browser_name: String,
    pub browser_version: String,
    round_trips: Arc<AtomicU32>,
    driver_us: AtomicU64,
    page_us: AtomicU64,
    chrome_cdp: bool,
    _profile_dir: Option<tempfile::TempDir>,
    /// Where the browser saves downloads (a local browser only).
    download_dir: Option<tempfile::TempDir>,
    /// Offset of the current frame's viewport in the top-level viewport (pointer actions are
    /// in top-level coordinates; the page script measures inside the frame).
    frame_offset: std::sync::Mutex<(f64, f64)>,
    /// The window the session started in (known once a `window` step asks).
    main_window: std::sync::Mutex<Option<String>>,
    /// The session's WebDriver BiDi events, when the driver offers them.
    bidi: Option<Bidi>,
    /// Set once a secret was typed into this session's pages: from then on every screenshot
    /// first masks the fields (and page text) that show a secret, and unmasks them after.
    secret_mask: std::sync::OnceLock<crate::redact::Redactor>,
    /// The next step's first page request and its answer, brought back by an act's hit-target
    /// verdict (`exec::step::prefetch_request`). Any other command to the browser drops it: the answer is
    /// used only when nothing came between.
    prefetched: std::sync::Mutex<Option<(Value, PageResult)>>,
    /// A trace frame being captured over BiDi (see [`Self::start_trace_frame`]).
    frame_in_flight: std::sync::Mutex<Option<tokio::sync::watch::Receiver<bool>>>,
    /// The current top-level window's handle (= its BiDi context), once asked.
    top_context: std::sync::Mutex<Option<String>>,
}

/// JPEG quality of trace frames: text stays legible at a third of the bytes of PNG.
pub const TRACE_JPEG_QUALITY: u8 = 70;

/// A trace frame as the browser gave it.
pub enum Frame {
    /// Being captured over BiDi while the flow goes on (JPEG; `None` if it failed).
    InFlight(tokio::task::JoinHandle<Option<Vec<u8>>>),
    /// Already JPEG (Chrome's CDP capture).
    Jpeg(Vec<u8>),
    /// WebDriver's PNG, to be re-encoded off the async runtime.
    Png(Vec<u8>),
}

/// Masks and unmasks secrets in the page around a screenshot (`exec/secret_mask.js`).
const SECRET_MASK_JS: &str = include_str!("secret_mask.js");

impl BrowserSession {
    pub async fn open(
        driver: &Driver,
        cfg: &BrowserConfig,
        user: &str,
    ) -> Result<BrowserSession, BrowserError> {
        let opening = Instant::now();
        let local = cfg.webdriver_url.is_none();
        let profile_dir = if local {
            Some(
                tempfile::Builder::new()
                    .prefix("flows-profile-")
                    .tempdir()
                    .map_err(|e| {
                        BrowserError::Session(format!("cannot create a browser profile dir: {e}"))
                    })?,
            )
        } else {
            None
        };
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
            "--disable-features=Translate,OptimizationHints,MediaRouter,PasswordLeakDetection,RenderDocument"
                .into(),
            "--password-store=basic".into(),
            format!("--window-size={},{}", cfg.window.0, cfg.window.1),
        ];
        if cfg.headless {
            args.push("--headless=new".into());
        }
        if let Some(locale) = &cfg.locale {
            args.push(format!("--lang={locale}"));
        }
        if let Some(ua) = &cfg.user_agent {
            args.push(format!("--user-agent={ua}"));
        }
        if let Some(dir) = &profile_dir {
            args.push(format!("--user-data-dir={}", dir.path().display()));
        }
        args.extend(cfg.args.iter().cloned());
        let download_dir = if local {
            Some(
                tempfile::Builder::new()
                    .prefix("flows-downloads-")
                    .tempdir()
                    .map_err(|e| {
                        BrowserError::Session(format!("cannot create a download dir: {e}"))
                    })?,
            )
        } else {
            None
        };
        let mut prefs = json!({
            "credentials_enable_service": false,
            "profile.password_manager_enabled": false,
            "download.prompt_for_download": false,
        });
        if let Some(d) = &download_dir {
            prefs["download.default_directory"] = json!(d.path().display().to_string());
        }
        if let Some(locale) = &cfg.locale {
            // `--lang` sets navigator.language; this pref sets the Accept-Language header.
            prefs["intl.accept_languages"] = json!(crate::config::accept_languages(locale));
        }
        let mut chrome_options = json!({ "args": args, "prefs": prefs });
        let binary = match &cfg.binary {
            Some(b) => Some(b.clone()),
            None if local => local_browser_binary(cfg)
                .ok()
                .flatten()
                .map(|p| p.display().to_string()),
            None => None,
        };
        if let Some(b) = binary {
            chrome_options["binary"] = json!(b);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome_options);
        caps.insert("pageLoadStrategy".into(), json!("normal"));
        caps.insert("unhandledPromptBehavior".into(), json!("ignore"));
        if cfg.accept_insecure_certs {
            caps.insert("acceptInsecureCerts".into(), json!(true));
        }
        caps.insert(
            "timeouts".into(),
            json!({ "script": 60_000, "pageLoad": 60_000, "implicit": 0 }),
        );
        let connect = |caps: serde_json::Map<String, Value>| async {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&driver.url)
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
        let bidi = match returned.get("webSocketUrl").and_then(Value::as_str) {
            Some(url) if cfg.bidi => match Bidi::connect(url).await {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::warn!("no WebDriver BiDi events ({e}); waits poll");
                    None
                }
            },
            _ => None,
        };
        let browser_name = returned
            .get("browserName")
            .and_then(Value::as_str)
            .unwrap_or("chrome")
            .to_owned();
        let browser_version = returned
            .get("browserVersion")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
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
            frame_offset: std::sync::Mutex::new((0.0, 0.0)),
            main_window: std::sync::Mutex::new(None),
            bidi,
            secret_mask: std::sync::OnceLock::new(),
            prefetched: std::sync::Mutex::new(None),
            frame_in_flight: std::sync::Mutex::new(None),
            top_context: std::sync::Mutex::new(None),
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
        let got = self.inner_size().await?;
        if got == want {
            tracing::debug!("viewport {viewport}: set by device-metrics emulation");
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

    /// Whether the browser reports events over WebDriver BiDi.
    pub fn has_bidi(&self) -> bool {
        self.bidi.is_some()
    }

    /// Wakes a waiting step on news about `topic` (polls, backing off, without BiDi). Make it
    /// before the action that causes the event.
    pub fn watch(&self, topic: Topic) -> EventWatch {
        self.bidi
            .as_ref()
            .map_or_else(EventWatch::polling, |b| b.watch(topic))
    }

    /// Keeps console messages and network responses for traces; false without BiDi.
    pub async fn capture_page_events(&self) -> bool {
        match &self.bidi {
            Some(b) => match b.capture_page_events().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("console and network are not captured: {e}");
                    false
                }
            },
            None => false,
        }
    }

    /// Forgets the console messages and requests so far (a flow starts).
    pub fn skip_page_events(&self) {
        if let Some(b) = &self.bidi {
            b.skip_page_events();
        }
    }

    /// Console messages and finished requests since the last take; `None` when not captured.
    pub fn take_page_events(&self) -> Option<Vec<PageEvent>> {
        self.bidi.as_ref()?.take_page_events()
    }

    pub fn download_dir(&self) -> Option<&Path> {
        self.download_dir.as_ref().map(tempfile::TempDir::path)
    }

    /// Where the current frame's viewport starts in the top-level one, as measured when the
    /// frame was entered (for cross-origin frames, whose page script cannot measure it).
    pub fn frame_offset(&self) -> (f64, f64) {
        self.frame_offset.lock().map(|o| *o).unwrap_or((0.0, 0.0))
    }

    /// Enters the frame `element` (an element reference from the page script) whose viewport
    /// starts at (`dx`, `dy`) in the current frame's viewport.
    pub async fn enter_frame(&self, element: &Value, dx: f64, dy: f64) -> Result<(), BrowserError> {
        self.cmd(http::Method::POST, "frame", Some(json!({ "id": element })))
            .await?;
        if let Ok(mut o) = self.frame_offset.lock() {
            o.0 += dx;
            o.1 += dy;
        }
        Ok(())
    }

    /// Back to the top-level document (after a step that worked in a frame).
    pub async fn leave_frames(&self) -> Result<(), BrowserError> {
        if let Ok(mut o) = self.frame_offset.lock() {
            *o = (0.0, 0.0);
        }
        self.cmd(http::Method::POST, "frame", Some(json!({ "id": null })))
            .await?;
        Ok(())
    }

    /// The browser's own accessible name of an element (W3C WebDriver Get Computed Label).
    pub async fn computed_label(&self, element: &Value) -> Result<String, BrowserError> {
        let id = element_id(element)?;
        let v = self
            .cmd(
                http::Method::GET,
                &format!("element/{id}/computedlabel"),
                None,
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The browser's own role of an element (W3C WebDriver Get Computed Role).
    pub async fn computed_role(&self, element: &Value) -> Result<String, BrowserError> {
        let id = element_id(element)?;
        let v = self
            .cmd(
                http::Method::GET,
                &format!("element/{id}/computedrole"),
                None,
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The session's main window: the current one when first asked (before any switch).
    pub async fn main_window(&self) -> Result<String, BrowserError> {
        if let Some(h) = self.main_window.lock().ok().and_then(|m| m.clone()) {
            return Ok(h);
        }
        let h = self.current_window().await?;
        if let Ok(mut m) = self.main_window.lock() {
            *m = Some(h.clone());
        }
        Ok(h)
    }

    /// Closes every window but the main one and switches to it, if a `window` step was used.
    pub async fn reset_windows(&self) -> Result<(), BrowserError> {
        let Some(main) = self.main_window.lock().ok().and_then(|m| m.clone()) else {
            return Ok(());
        };
        for h in self.window_handles().await? {
            if h != main {
                self.switch_window(&h).await?;
                self.close_window().await?;
            }
        }
        self.switch_window(&main).await
    }

    /// Handles of the session's windows, and the current one.
    pub async fn window_handles(&self) -> Result<Vec<String>, BrowserError> {
        let v = self.cmd(http::Method::GET, "window/handles", None).await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn current_window(&self) -> Result<String, BrowserError> {
        let v = self.cmd(http::Method::GET, "window", None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    pub async fn switch_window(&self, handle: &str) -> Result<(), BrowserError> {
        self.cmd(
            http::Method::POST,
            "window",
            Some(json!({ "handle": handle })),
        )
        .await?;
        Ok(())
    }

    /// Closes the current window.
    pub async fn close_window(&self) -> Result<(), BrowserError> {
        self.cmd(http::Method::DELETE, "window", None).await?;
        Ok(())
    }

    /// The open dialog's message, `None` when no dialog is open.
    pub async fn dialog_text(&self) -> Result<Option<String>, BrowserError> {
        match self.raw_cmd(http::Method::GET, "alert/text", None).await {
            Ok(v) => Ok(Some(v.as_str().unwrap_or_default().to_owned())),
            Err(e) if e.is_no_such_alert() => Ok(None),
            Err(e) => Err(BrowserError::from_cmd(e)),
        }
    }

    /// Answers the open dialog: types `prompt` (if any), then accepts or dismisses.
    pub async fn answer_dialog(
        &self,
        accept: bool,
        prompt: Option<&str>,
    ) -> Result<(), BrowserError> {
        if let Some(text) = prompt {
            self.cmd(
                http::Method::POST,
                "alert/text",
                Some(json!({ "text": text })),
            )
            .await?;
        }
        let path = if accept {
            "alert/accept"
        } else {
            "alert/dismiss"
        };
        self.cmd(http::Method::POST, path, Some(json!({}))).await?;
        Ok(())
    }

    /// Moves the pointer to top-level viewport coordinates (one round trip).
    pub async fn hover_at(&self, x: f64, y: f64) -> Result<(), BrowserError> {
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": [
                {"type": "pointerMove", "duration": 0, "origin": "viewport",
                 "x": x.round() as i64, "y": y.round() as i64}]}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Presses at `from`, moves to `to` in small steps, releases (one round trip). The pause
    /// after pressing and the many small moves let Chrome start an HTML5 drag as it does for a
    /// person; pointer-event drag code sees the same moves.
    pub async fn drag(&self, from: (f64, f64), to: (f64, f64)) -> Result<(), BrowserError> {
        let at = |x: f64, y: f64, duration: u64| {
            json!({"type": "pointerMove", "duration": duration, "origin": "viewport",
                   "x": x.round() as i64, "y": y.round() as i64})
        };
        let mut actions = vec![
            at(from.0, from.1, 0),
            json!({"type": "pointerDown", "button": 0}),
            json!({"type": "pause", "duration": 100}),
        ];
        const STEPS: u32 = 20;
        for i in 1..=STEPS {
            let t = f64::from(i) / f64::from(STEPS);
            actions.push(at(
                from.0 + (to.0 - from.0) * t,
                from.1 + (to.1 - from.1) * t,
                15,
            ));
        }
        actions.push(json!({"type": "pause", "duration": 100}));
        actions.push(json!({"type": "pointerUp", "button": 0}));
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Round trips made so far (a step takes the difference).
    pub fn round_trips(&self) -> u32 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Counts a round trip and times it until the returned guard drops.
    fn tick(&self) -> Timed<'_> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.drop_prefetched();
        Timed {
            started: Instant::now(),
            total: &self.driver_us,
        }
    }

    /// Keeps the answer to `request` that an act's verdict round trip brought back.
    pub fn keep_prefetched(&self, request: Value, answer: PageResult) {
        if let Ok(mut slot) = self.prefetched.lock() {
            *slot = Some((request, answer));
        }
    }

    /// The kept answer, when it answers this very request and nothing was sent since.
    pub fn take_prefetched(&self, request: &Value) -> Option<PageResult> {
        let (kept, answer) = self.prefetched.lock().ok()?.take()?;
        (kept == *request).then_some(answer)
    }

    fn drop_prefetched(&self) {
        if let Ok(mut slot) = self.prefetched.lock() {
            slot.take();
        }
    }

    /// Microseconds spent so far in WebDriver calls, and inside the page script (its part of
    /// those calls: locating, checking and waiting for the page). A step takes the differences.
    pub fn time_spent(&self) -> (u64, u64) {
        (
            self.driver_us.load(Ordering::Relaxed),
            self.page_us.load(Ordering::Relaxed),
        )
    }

    async fn cmd(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, BrowserError> {
        self.raw_cmd(method, path, body)
            .await
            .map_err(BrowserError::from_cmd)
    }

    /// [`Self::cmd`] with fantoccini's error, for a caller that tells an expected error
    /// (`no such alert`) by its status.
    async fn raw_cmd(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, fantoccini::error::CmdError> {
        // Anything but a read may change the page a trace frame is being taken of; answering
        // a dialog may not wait (a capture can hang behind it).
        if method != http::Method::GET && !path.starts_with("alert/") {
            self.settle().await;
        }
        if path == "window" && method != http::Method::GET {
            self.forget_top_context();
        }
        let _timed = self.tick();
        self.client
            .issue_cmd(RawCmd {
                method,
                path: path.to_owned(),
                body,
            })
            .await
    }

    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.settle().await;
        let _timed = self.tick();
        self.client.goto(url).await.map_err(BrowserError::from_cmd)
    }

    pub async fn current_url(&self) -> Result<String, BrowserError> {
        let _timed = self.tick();
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .map_err(BrowserError::from_cmd)
    }

    pub async fn title(&self) -> Result<String, BrowserError> {
        let _timed = self.tick();
        self.client.title().await.map_err(BrowserError::from_cmd)
    }

    /// Runs one in-page request (see page.js), waiting inside the page up to `slice`.
    pub async fn page(&self, request: Value, slice: Duration) -> Result<PageResult, BrowserError> {
        self.run_page(request, slice)
            .await
            .map_err(BrowserError::from_cmd)
    }

    /// `page` right after an act, when the act itself may have left no page to ask: it opened
    /// a dialog (no script runs until it is answered) or closed its window.
    pub async fn page_after_act(
        &self,
        request: Value,
        slice: Duration,
    ) -> Result<Result<PageResult, PageGone>, BrowserError> {
        match self.run_page(request, slice).await {
            Ok(r) => Ok(Ok(r)),
            Err(e) if e.is_unexpected_alert_open() => Ok(Err(PageGone::DialogOpened)),
            Err(e) if e.is_no_such_window() => Ok(Err(PageGone::WindowClosed)),
            Err(e) => Err(BrowserError::from_cmd(e)),
        }
    }

    async fn run_page(
        &self,
        mut request: Value,
        slice: Duration,
    ) -> Result<PageResult, fantoccini::error::CmdError> {
        request["slice_ms"] = json!(u64::try_from(slice.as_millis()).unwrap_or(u64::MAX));
        // Reads and locates may run beside a trace frame's capture (a locate may scroll the
        // element into view before the frame is drawn); what types, focuses or selects waits.
        let reads = matches!(
            request.get("op").and_then(Value::as_str),
            Some("expect" | "wait" | "text" | "names" | "snapshot" | "act" | "hover" | "frame")
        );
        if !reads {
            self.settle().await;
        }
        let _timed = self.tick();
        let result = self.client.execute_async(PAGE_JS, vec![request]).await;
        let v = match result {
            Ok(v) => v,
            Err(e) => {
                let msg = e.to_string();
                // A navigation replaced the document mid-script: not a failure, try again.
                // Chrome reports it as a `javascript error` or `unknown error` whose only mark
                // is its message, so that part reads the text; a script timeout is a status.
                if e.is_script_timeout()
                    || msg.contains("unload")
                    || msg.contains("navigat")
                    || msg.contains("execution context")
                    || msg.contains("detached")
                {
                    return Ok(PageResult {
                        ok: false,
                        fatal: false,
                        reason: Some("the page was navigating".to_owned()),
                        value: Value::Null,
                    });
                }
                return Err(e);
            }
        };
        if let Some(ms) = v.get("page_ms").and_then(Value::as_f64) {
            self.page_us
                .fetch_add((ms * 1000.0) as u64, Ordering::Relaxed);
        }
        Ok(PageResult {
            ok: v.get("ok").and_then(Value::as_bool).unwrap_or(false),
            fatal: v.get("fatal").and_then(Value::as_bool).unwrap_or(false),
            reason: v.get("reason").and_then(Value::as_str).map(str::to_owned),
            value: v,
        })
    }

    /// A pointer click at viewport coordinates (one round trip).
    pub async fn click_at(&self, x: f64, y: f64, clicks: u32) -> Result<(), BrowserError> {
        let mut actions = vec![
            json!({"type": "pointerMove", "duration": 0, "origin": "viewport",
            "x": x.round() as i64, "y": y.round() as i64}),
        ];
        for _ in 0..clicks.max(1) {
            actions.push(json!({"type": "pointerDown", "button": 0}));
            actions.push(json!({"type": "pointerUp", "button": 0}));
        }
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Types text into the focused element: Chrome's `Input.insertText` (one round trip, any
    /// length) when available, else W3C key actions.
    pub async fn insert_text(&self, text: &str) -> Result<(), BrowserError> {
        if self.chrome_cdp {
            let body = json!({"cmd": "Input.insertText", "params": {"text": text}});
            match self
                .cmd(http::Method::POST, "goog/cdp/execute", Some(body))
                .await
            {
                Ok(_) => return Ok(()),
                Err(BrowserError::Lost(e)) => return Err(BrowserError::Lost(e)),
                Err(e) => tracing::debug!("cdp insertText unavailable, using key actions: {e}"),
            }
        }
        let mut actions = Vec::new();
        for ch in text.chars() {
            actions.push(json!({"type": "keyDown", "value": ch.to_string()}));
            actions.push(json!({"type": "keyUp", "value": ch.to_string()}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Presses a key or chord (`Control+A`) with W3C key actions.
    pub async fn press(&self, chord: &str) -> Result<(), BrowserError> {
        // `flows check` refuses a written chord it cannot parse; one from a variable ends here.
        let parsed = parse_chord(chord).map_err(|e| {
            BrowserError::Command(format!(
                "cannot press `{chord}`: {e}; keys are {}",
                key_names()
            ))
        })?;
        let shift = parsed
            .iter()
            .any(|k| matches!(k, Key::Named { name: "Shift", .. }));
        let mut keys: Vec<String> = parsed.iter().map(|k| k.value().to_string()).collect();
        // `Control+K` means the K key, not Shift+k: drivers type an upper-case letter with Shift.
        if let (true, false, Some(last)) = (parsed.len() > 1, shift, keys.last_mut()) {
            if last.chars().count() == 1 && last.chars().all(|c| c.is_ascii_uppercase()) {
                *last = last.to_ascii_lowercase();
            }
        }
        let mut actions = Vec::new();
        for k in &keys {
            actions.push(json!({"type": "keyDown", "value": k}));
        }
        for k in keys.iter().rev() {
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Sets the files of a file input (W3C Element Send Keys with newline-separated paths).
    pub async fn set_files(&self, element: &Value, files: &[PathBuf]) -> Result<(), BrowserError> {
        let id = element
            .get(W3C_ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                BrowserError::Command(format!(
                    "the page returned no element reference (got {element})"
                ))
            })?;
        let text = files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        self.cmd(
            http::Method::POST,
            &format!("element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await?;
        Ok(())
    }

    /// From now on, mask the values of `redactor` in this session's screenshots (a secret
    /// was typed into one of its pages). Costs one round trip per screenshot, two when
    /// something was masked.
    pub fn mask_secrets_in_screenshots(&self, redactor: &crate::redact::Redactor) {
        let _ = self.secret_mask.set(redactor.clone());
    }

    /// Masks the secrets the page shows; `true` when something was masked (then call
    /// [`Self::unmask_secrets`] after the screenshot). A failure masks nothing.
    async fn mask_secrets(&self) -> bool {
        let Some(redactor) = self.secret_mask.get() else {
            return false;
        };
        let secrets = redactor.secrets();
        self.execute_value(SECRET_MASK_JS, vec![json!("mask"), json!(secrets)])
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .is_some_and(|n| n > 0)
    }

    async fn unmask_secrets(&self) {
        let _ = self
            .execute_value(SECRET_MASK_JS, vec![json!("unmask")])
            .await;
    }

    /// PNG bytes of the viewport, secrets masked (see [`Self::mask_secrets_in_screenshots`]).
    pub async fn screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        let masked = self.mask_secrets().await;
        let shot = self.viewport_png().await;
        if masked {
            self.unmask_secrets().await;
        }
        shot
    }

    /// A trace frame of the viewport, secrets masked: JPEG encoded by the browser where it can,
    /// in flight over BiDi when no secret had to be masked, else CDP `Page.captureScreenshot`
    /// (one round trip, no PNG encoded or decoded anywhere), else WebDriver's PNG for the
    /// caller to re-encode.
    pub async fn trace_frame(&self) -> Result<Frame, BrowserError> {
        let masked = self.mask_secrets().await;
        if !masked {
            // Nothing on the page shows a secret: the capture need not be awaited.
            if let Some(capture) = self.start_trace_frame().await {
                return Ok(Frame::InFlight(capture));
            }
        }
        let shot = match self.cdp_jpeg(TRACE_JPEG_QUALITY).await {
            Some(jpeg) => Ok(Frame::Jpeg(jpeg)),
            None => self.viewport_png().await.map(Frame::Png),
        };
        if masked {
            self.unmask_secrets().await;
        }
        shot
    }

    /// The viewport as JPEG through Chrome's CDP passthrough; `None` when the browser or the
    /// driver cannot (then the W3C screenshot is the fallback).
    pub async fn cdp_jpeg(&self, quality: u8) -> Option<Vec<u8>> {
        self.cdp_capture(json!({"format": "jpeg", "quality": quality, "optimizeForSpeed": true}))
            .await
    }

    /// CDP `Page.captureScreenshot` with these parameters (decoded bytes), Chrome only.
    pub async fn cdp_capture(&self, params: Value) -> Option<Vec<u8>> {
        if !self.chrome_cdp {
            return None;
        }
        let body = json!({"cmd": "Page.captureScreenshot", "params": params});
        match self
            .cmd(http::Method::POST, "goog/cdp/execute", Some(body))
            .await
        {
            Ok(v) => {
                use base64::Engine;
                let data = v.get("data").and_then(Value::as_str)?;
                base64::engine::general_purpose::STANDARD.decode(data).ok()
            }
            Err(e) => {
                tracing::debug!("cdp captureScreenshot unavailable: {e}");
                None
            }
        }
    }

    /// The viewport through WebDriver BiDi `browsingContext.captureScreenshot` in the given
    /// image format (`"image/jpeg"`), for the current window; `None` without BiDi.
    pub async fn bidi_screenshot(&self, mime: &str, quality: f64) -> Option<Vec<u8>> {
        let bidi = self.bidi.as_ref()?;
        let context = self.current_window().await.ok()?;
        bidi.capture_screenshot_owned(context, mime, quality)
            .await
            .ok()
    }

    /// Starts a trace frame (JPEG) of the top-level page over WebDriver BiDi and returns at
    /// once: the capture waits for the browser's next frame while the runner goes on, and
    /// every command that may change the page first waits for it (see [`Self::settle`]), so
    /// the frame shows the page as it was when asked. `None` without BiDi.
    async fn start_trace_frame(&self) -> Option<tokio::task::JoinHandle<Option<Vec<u8>>>> {
        let bidi = self.bidi.as_ref()?;
        let context = self.top_context().await?;
        // One capture in flight at a time.
        self.settle().await;
        let capture = bidi.capture_screenshot_owned(
            context,
            "image/jpeg",
            f64::from(TRACE_JPEG_QUALITY) / 100.0,
        );
        let (done, in_flight) = tokio::sync::watch::channel(false);
        if let Ok(mut slot) = self.frame_in_flight.lock() {
            *slot = Some(in_flight);
        }
        Some(tokio::spawn(async move {
            let shot = capture.await;
            let _ = done.send(true);
            match shot {
                Ok(jpeg) => Some(jpeg),
                Err(e) => {
                    tracing::debug!("trace frame over BiDi failed: {e}");
                    None
                }
            }
        }))
    }

    /// Waits for a trace frame still being captured (at most 2 s: a capture that hangs, say
    /// behind a dialog, must not hold the flow).
    async fn settle(&self) {
        let in_flight = self.frame_in_flight.lock().ok().and_then(|mut s| s.take());
        if let Some(mut rx) = in_flight {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|done| *done)).await;
        }
    }

    /// The BiDi browsing context of the current top-level window (its WebDriver window
    /// handle), asked once and kept until the session switches or closes windows.
    async fn top_context(&self) -> Option<String> {
        if let Some(c) = self.top_context.lock().ok().and_then(|c| c.clone()) {
            return Some(c);
        }
        let handle = self.current_window().await.ok()?;
        if let Ok(mut c) = self.top_context.lock() {
            *c = Some(handle.clone());
        }
        Some(handle)
    }

    fn forget_top_context(&self) {
        if let Ok(mut c) = self.top_context.lock() {
            *c = None;
        }
    }

    async fn viewport_png(&self) -> Result<Vec<u8>, BrowserError> {
        let _timed = self.tick();
        self.client
            .screenshot()
            .await
            .map_err(BrowserError::from_cmd)
    }

    /// PNG bytes of the whole page (Chrome: CDP `Page.captureScreenshot` beyond the viewport),
    /// secrets masked.
    pub async fn full_page_screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        let masked = self.mask_secrets().await;
        let shot = self.full_page_png().await;
        if masked {
            self.unmask_secrets().await;
        }
        shot
    }

    async fn full_page_png(&self) -> Result<Vec<u8>, BrowserError> {
        if self.chrome_cdp {
            let body = json!({"cmd": "Page.captureScreenshot", "params": {"format": "png", "captureBeyondViewport": true}});
            if let Ok(v) = self
                .cmd(http::Method::POST, "goog/cdp/execute", Some(body))
                .await
            {
                if let Some(data) = v.get("data").and_then(Value::as_str) {
                    use base64::Engine;
                    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) {
                        return Ok(bytes);
                    }
                }
            }
        }
        self.viewport_png().await
    }

    /// A plain synchronous script (one round trip).
    pub async fn execute_value(
        &self,
        script: &str,
        args: Vec<Value>,
    ) -> Result<Value, BrowserError> {
        self.settle().await;
        let _timed = self.tick();
        self.client
            .execute(script, args)
            .await
            .map_err(BrowserError::from_cmd)
    }

    pub async fn page_source(&self) -> Result<String, BrowserError> {
        let _timed = self.tick();
        self.client.source().await.map_err(BrowserError::from_cmd)
    }

    /// The session's cookies as a `Cookie:` header value for `url`'s host.
    pub async fn cookie_header(&self) -> Result<String, BrowserError> {
        let v = self.cmd(http::Method::GET, "cookie", None).await?;
        let pairs: Vec<String> = v
            .as_array()
            .map(|cookies| {
                cookies
                    .iter()
                    .filter_map(|c| {
                        Some(format!(
                            "{}={}",
                            c.get("name")?.as_str()?,
                            c.get("value")?.as_str()?
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(pairs.join("; "))
    }

    /// Every cookie of the current page (WebDriver Get All Cookies), as the driver returns them.
    pub async fn all_cookies(&self) -> Result<Vec<Value>, BrowserError> {
        let v = self.cmd(http::Method::GET, "cookie", None).await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Adds one cookie for the current page's domain (WebDriver Add Cookie).
    pub async fn add_cookie(&self, cookie: Value) -> Result<(), BrowserError> {
        self.cmd(
            http::Method::POST,
            "cookie",
            Some(json!({ "cookie": cookie })),
        )
        .await?;
        Ok(())
    }

    /// Deletes every cookie of the current page's domain.
    pub async fn delete_all_cookies(&self) -> Result<(), BrowserError> {
        self.cmd(http::Method::DELETE, "cookie", None).await?;
        Ok(())
    }

    /// The page's URL and its origin's localStorage as key → value (one round trip).
    pub async fn url_and_local_storage(
        &self,
    ) -> Result<(String, Vec<(String, String)>), BrowserError> {
        let v = self
            .execute_value(
                "const o = []; try { for (let i = 0; i < localStorage.length; i++) { \
                 const k = localStorage.key(i); o.push([k, localStorage.getItem(k)]); } } \
                 catch (e) {} return [location.href, o];",
                vec![],
            )
            .await?;
        let url = v
            .get(0)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let items = v
            .get(1)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|kv| {
                        Some((
                            kv.get(0)?.as_str()?.to_owned(),
                            kv.get(1)?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((url, items))
    }

    /// Replaces the current origin's localStorage with `items` (one round trip).
    pub async fn set_local_storage(&self, items: &[(String, String)]) -> Result<(), BrowserError> {
        let pairs: Vec<Value> = items.iter().map(|(k, v)| json!([k, v])).collect();
        self.execute_value(
            "localStorage.clear(); for (const [k, v] of arguments[0]) localStorage.setItem(k, v);",
            vec![Value::Array(pairs)],
        )
        .await?;
        Ok(())
    }

    /// Ends the WebDriver session (closes the browser).
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.client.close()).await;
    }
}

/// Adds the time from its creation to its drop to a total (a WebDriver call's duration).
struct Timed<'a> {
    started: Instant,
    total: &'a AtomicU64,
}

impl Drop for Timed<'_> {
    fn drop(&mut self) {
        let us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.total.fetch_add(us, Ordering::Relaxed);
    }
}

/// The id in a W3C element reference (`{"element-6066-…": id}`).
fn element_id(element: &Value) -> Result<&str, BrowserError> {
    element
        .get(W3C_ELEMENT_KEY)
        .and_then(Value::as_str)
        .ok_or_else(|| BrowserError::Command(format!("not an element reference: {element}")))
}
