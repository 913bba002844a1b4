//! The browser: a chromedriver process (or a remote WebDriver server) and one session per user.
//! A user's session is a BiDi user context in the run's one shared browser (`shared.rs`,
//! `isolation = "context"`) or a browser of its own (`isolation = "process"`); the rest of
//! the runner sees the same [`BrowserSession`] either way.
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
use crate::config::{BrowserConfig, BrowserName};
use crate::flowfile::keys::{key_names, parse_chord, Key};
use driver::where_looked;

mod capture;
mod driver;
pub mod grid;
mod input;
mod open;
pub mod recording;
mod shared;
mod storage;
mod windows;

pub use driver::{local_browser_binary, Driver};
pub use shared::SharedBrowser;

const PAGE_JS: &str = include_str!("page.js");
const W3C_ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("chromedriver not found ({}); install it (Debian/Ubuntu, as root: apt-get install -y chromium chromium-driver) or set browser.chromedriver in flows.toml", where_looked(.0))]
    DriverNotFound(String),
    #[error("geckodriver not found ({}); install it (cargo install geckodriver --locked) or set browser.geckodriver in flows.toml", where_looked(.0))]
    GeckodriverNotFound(String),
    #[error("no Firefox to drive (looked for {0} on PATH); install it (Debian/Ubuntu, as root: apt-get install -y firefox-esr) or set browser.binary in flows.toml")]
    FirefoxNotFound(String),
    #[error("no Chromium to drive (looked for {0} on PATH); install it (Debian/Ubuntu, as root: apt-get install -y chromium chromium-driver) or set browser.binary in flows.toml")]
    BrowserNotFound(String),
    #[error("browser.binary `{0}` does not exist; install Chromium (Debian/Ubuntu, as root: apt-get install -y chromium chromium-driver) or correct browser.binary in flows.toml")]
    BrowserBinaryMissing(String),
    #[error("the WebDriver server at {url} does not answer: {error}; check --webdriver-url / browser.webdriver_url and that the server runs")]
    RemoteUnreachable { url: String, error: String },
    /// A remote server that answers but cannot run the flows (not ready, no slot).
    #[error("{0}")]
    RemoteRefused(String),
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

/// Where a session's downloads land.
#[derive(Debug, Clone, Copy)]
pub enum Downloads<'a> {
    /// A dir of the runner's machine (a local browser).
    Dir(&'a Path),
    /// A Selenium Grid node, which lists them and hands them out (`/session/{id}/se/files`).
    Grid,
    /// A remote server that does not hand them out.
    Nowhere,
}

/// The W3C `browserName` of the configured browser, as a Grid's slots name it.
pub fn w3c_name(cfg: &BrowserConfig) -> &'static str {
    cfg.name.w3c()
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
    /// The remote Grid keeps this session's downloads (`se:downloadsEnabled`): they are listed
    /// and fetched through the session's `/se/files` endpoints.
    managed_downloads: bool,
    /// The driver started for this session alone (a second local geckodriver), stopped when
    /// the session closes.
    own_driver: tokio::sync::Mutex<Option<Driver>>,
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
    /// A secret was typed and the page may still show it: trace frames are captured, masked,
    /// instead of coming from the screencast (cleared once a capture finds none on the page).
    frames_masked: std::sync::atomic::AtomicBool,
    /// The next step's first page request and its answer, brought back by an act's hit-target
    /// verdict (`exec::step::prefetch_request`). Any other command to the browser drops it: the answer is
    /// used only when nothing came between.
    prefetched: std::sync::Mutex<Option<(Value, PageResult)>>,
    /// A trace frame being captured over BiDi (see [`Self::start_trace_frame`]).
    frame_in_flight: std::sync::Mutex<Option<tokio::sync::watch::Receiver<bool>>>,
    /// The current top-level window's handle (= its BiDi context), once asked.
    top_context: std::sync::Mutex<Option<String>>,
    /// The user's part of a shared browser (`None`: the browser is the user's own).
    in_context: Option<shared::InContext>,
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

/// Masks and unmasks secrets in the page around a screenshot (`exec/browser/secret_mask.js`).
const SECRET_MASK_JS: &str = include_str!("secret_mask.js");

impl BrowserSession {
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

    /// Where this session's downloads can be read: a local dir, the Grid's managed downloads,
    /// or nowhere (a remote server that keeps them to itself).
    pub fn downloads(&self) -> Downloads<'_> {
        match (&self.download_dir, self.managed_downloads) {
            (Some(d), _) => Downloads::Dir(d.path()),
            (None, true) => Downloads::Grid,
            (None, false) => Downloads::Nowhere,
        }
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
        if path == "window" && method == http::Method::POST {
            if let Some(ctx) = &self.in_context {
                return ctx.switch_window(self, body).await;
            }
        }
        let closes_window = path == "window" && method == http::Method::DELETE;
        let turn = self.enter().await?;
        let _timed = self.tick();
        let result = self
            .client
            .issue_cmd(RawCmd {
                method,
                path: path.to_owned(),
                body,
            })
            .await;
        if let Some(mut current) = turn.filter(|_| closes_window) {
            // The session's current window is gone: the next command switches again (and
            // fails with `no such window`, as it would in a browser of its own, until a
            // `window` step picks another).
            *current = None;
        }
        result
    }

    /// In a shared browser, makes the WebDriver session's current window this user's (one
    /// Switch To Window, only when another user acted last) and keeps it so until the returned
    /// guard drops. `None` for a browser of the user's own.
    async fn enter(
        &self,
    ) -> Result<Option<tokio::sync::MutexGuard<'_, Option<String>>>, fantoccini::error::CmdError>
    {
        match &self.in_context {
            Some(ctx) => ctx.enter(self).await.map(Some),
            None => Ok(None),
        }
    }

    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.settle().await;
        let _turn = self.enter().await.map_err(BrowserError::from_cmd)?;
        let _timed = self.tick();
        self.client.goto(url).await.map_err(BrowserError::from_cmd)
    }

    pub async fn current_url(&self) -> Result<String, BrowserError> {
        let _turn = self.enter().await.map_err(BrowserError::from_cmd)?;
        let _timed = self.tick();
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .map_err(BrowserError::from_cmd)
    }

    pub async fn title(&self) -> Result<String, BrowserError> {
        let _turn = self.enter().await.map_err(BrowserError::from_cmd)?;
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
        let _turn = self.enter().await?;
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
                        // A lost answer (Firefox, document unloaded as the script answered)
                        // took the whole script timeout: a caller near its deadline may try
                        // once more.
                        value: json!({ "script_timeout": e.is_script_timeout() }),
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

    /// A plain synchronous script (one round trip).
    pub async fn execute_value(
        &self,
        script: &str,
        args: Vec<Value>,
    ) -> Result<Value, BrowserError> {
        self.settle().await;
        let _turn = self.enter().await.map_err(BrowserError::from_cmd)?;
        let _timed = self.tick();
        self.client
            .execute(script, args)
            .await
            .map_err(BrowserError::from_cmd)
    }

    pub async fn page_source(&self) -> Result<String, BrowserError> {
        let _turn = self.enter().await.map_err(BrowserError::from_cmd)?;
        let _timed = self.tick();
        self.client.source().await.map_err(BrowserError::from_cmd)
    }

    /// Ends the user's session: closes the browser, or in a shared browser removes the user's
    /// context (its windows, cookies and storage go with it).
    pub async fn close(self) {
        match &self.in_context {
            Some(ctx) => ctx.close().await,
            None => {
                let _ = tokio::time::timeout(Duration::from_secs(5), self.client.close()).await;
            }
        }
        if let Some(mut own) = self.own_driver.lock().await.take() {
            own.stop(false).await;
        }
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
