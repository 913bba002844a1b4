//! Where the browser comes from: a local driver the runner starts (chromedriver and the
//! Chromium it finds, or geckodriver and Firefox), or a remote WebDriver server.

use super::grid::GridStatus;
use super::*;

/// The names a local Chromium goes by, looked for on PATH when `browser.binary` is unset.
const BROWSER_NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The names a local Firefox goes by (Debian's ESR first).
const FIREFOX_NAMES: [&str; 2] = ["firefox-esr", "firefox"];

/// The browser a local chromedriver is to start: `browser.binary` when set (it must exist),
/// else the first of [`BROWSER_NAMES`] on PATH.
pub fn local_browser_binary(cfg: &BrowserConfig) -> Result<Option<PathBuf>, BrowserError> {
    match &cfg.binary {
        Some(b) => find_executable(b)
            .map(Some)
            .ok_or_else(|| BrowserError::BrowserBinaryMissing(b.clone())),
        None if cfg.name == BrowserName::Firefox => FIREFOX_NAMES
            .iter()
            .find_map(|n| find_executable(n))
            .map(Some)
            .ok_or_else(|| BrowserError::FirefoxNotFound(FIREFOX_NAMES.join(", "))),
        None => BROWSER_NAMES
            .iter()
            .find_map(|n| find_executable(n))
            .map(Some)
            .ok_or_else(|| BrowserError::BrowserNotFound(BROWSER_NAMES.join(", "))),
    }
}

/// Where `chromedriver = "…"` was looked for: the path itself, or PATH for a bare name.
pub(super) fn where_looked(name: &str) -> String {
    if name.contains('/') {
        format!("no executable file at {name}")
    } else {
        format!("looked for `{name}` on PATH")
    }
}

/// The WebDriver server: a chromedriver we started, or a remote one; and the browser its
/// users share (`isolation = "context"`), once started.
pub struct Driver {
    pub url: String,
    process: Option<ManagedChild>,
    shared: tokio::sync::Mutex<SharedState>,
    /// A remote server's `/status` as it was when the run started (`None`: our chromedriver).
    grid: Option<GridStatus>,
    /// Where the local driver logs (more geckodrivers log beside it).
    log_path: Option<PathBuf>,
    /// A local geckodriver runs one session: set once its one session is taken.
    taken: std::sync::atomic::AtomicBool,
}

/// The shared browser of a driver.
enum SharedState {
    NotStarted,
    Running(Arc<SharedBrowser>),
    /// The server gives no BiDi: every user gets a browser of its own.
    Unavailable,
}

/// How long a remote server may take to say ready: a Grid just started registers its node
/// within seconds.
const REMOTE_READY_WITHIN: Duration = Duration::from_secs(10);

/// Asks a remote WebDriver server's `/status` until it says ready (or [`REMOTE_READY_WITHIN`]
/// runs out): the point is to fail before the first flow, naming the URL and what the server
/// said, rather than have every session request wait in a Grid's queue.
async fn remote_status(url: &str) -> Result<GridStatus, BrowserError> {
    let status_url = format!("{url}/status");
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let answer = http
            .get(&status_url)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let resp = match answer {
            Ok(r) => r,
            Err(e) => {
                return Err(BrowserError::RemoteUnreachable {
                    error: crate::net::describe_error(&status_url, &e),
                    url: url.to_owned(),
                })
            }
        };
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let status = GridStatus::parse(&body);
        if status.ready != Some(false) || started.elapsed() >= REMOTE_READY_WITHIN {
            return match status.refusal(url, "", 0) {
                Some(why) if status.ready != Some(true) => Err(BrowserError::RemoteRefused(why)),
                _ => Ok(status),
            };
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

impl Driver {
    /// Where a new session goes: this driver, or (a local geckodriver, which runs one session
    /// per process, already has its one) a geckodriver of the session's own, returned with it.
    pub(super) async fn for_session(
        &self,
        cfg: &BrowserConfig,
    ) -> Result<(String, Option<Driver>), BrowserError> {
        let one_session = cfg.name == BrowserName::Firefox && self.process.is_some();
        if !one_session || !self.taken.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Ok((self.url.clone(), None));
        }
        let log = self
            .log_path
            .as_ref()
            .map(|p| p.with_file_name(format!("geckodriver-{}.log", free_port().unwrap_or(0))))
            .unwrap_or_else(|| std::env::temp_dir().join("flows-geckodriver.log"));
        let own = Box::pin(Driver::start(cfg, &log)).await?;
        Ok((own.url.clone(), Some(own)))
    }

    /// Whether the remote server keeps `browser`'s downloads for the client to fetch (a Grid
    /// whose nodes run with `--enable-managed-downloads true`).
    pub fn managed_downloads(&self, browser: &str) -> bool {
        self.grid
            .as_ref()
            .and_then(|g| g.capacity(browser))
            .is_some_and(|c| c.downloads)
    }

    /// Fails when the remote server cannot hold `needed` sessions of `browser` at once (a Grid
    /// with too few slots, or none for the browser), saying what to change; warns when the
    /// slots exist but others hold them now (the run's requests will wait in the Grid's queue).
    pub fn check_capacity(&self, browser: &str, needed: usize) -> Result<(), BrowserError> {
        let Some(grid) = &self.grid else {
            return Ok(());
        };
        if let Some(why) = grid.refusal(&self.url, browser, needed) {
            return Err(BrowserError::RemoteRefused(why));
        }
        if let Some(cap) = grid.capacity(browser) {
            tracing::debug!(
                browser,
                slots = cap.all,
                free = cap.free,
                needed,
                downloads = cap.downloads,
                "grid capacity"
            );
            if cap.free < needed {
                tracing::warn!(
                    "the Grid at {} has {} free {browser} slot(s) of {}; this run needs {needed} \
                     sessions: its session requests wait in the Grid's queue until slots free up",
                    self.url,
                    cap.free,
                    cap.all
                );
            }
        }
        Ok(())
    }

    /// Starts chromedriver on a free port and waits until `/status` says ready.
    pub async fn start(cfg: &BrowserConfig, log_path: &Path) -> Result<Driver, BrowserError> {
        if let Some(url) = &cfg.webdriver_url {
            let url = url.trim_end_matches('/').to_owned();
            let status = remote_status(&url).await?;
            return Ok(Driver {
                url,
                process: None,
                shared: tokio::sync::Mutex::new(SharedState::NotStarted),
                grid: Some(status),
                log_path: None,
                taken: std::sync::atomic::AtomicBool::new(false),
            });
        }
        let firefox = cfg.name == BrowserName::Firefox;
        let exe = if firefox {
            find_executable(&cfg.geckodriver)
                .ok_or_else(|| BrowserError::GeckodriverNotFound(cfg.geckodriver.clone()))?
        } else {
            find_executable(&cfg.chromedriver)
                .ok_or_else(|| BrowserError::DriverNotFound(cfg.chromedriver.clone()))?
        };
        // A chromedriver without a browser would fail each session request with its own words;
        // say what to install before anything starts.
        local_browser_binary(cfg)?;
        let port = free_port().map_err(BrowserError::DriverSpawn)?;
        if let Some(parent) = log_path.parent() {
            std::fs::create_dir_all(parent).map_err(BrowserError::DriverSpawn)?;
        }
        let process = if firefox {
            ManagedChild::spawn(
                "geckodriver",
                &exe,
                &[
                    format!("--port={port}"),
                    "--host=127.0.0.1".to_owned(),
                    // Each Firefox gets a BiDi port of its own (the default, 9222, is one for
                    // all: a second browser per user could not start).
                    "--websocket-port=0".to_owned(),
                    // warn keeps command payloads (typed codes, opened links) out of the log.
                    "--log=warn".to_owned(),
                ],
                None,
                &[],
                Some(log_path),
            )
        } else {
            ManagedChild::spawn(
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
        }
        .map_err(BrowserError::DriverSpawn)?;
        let url = format!("http://127.0.0.1:{port}");
        let mut driver = Driver {
            url,
            process: Some(process),
            shared: tokio::sync::Mutex::new(SharedState::NotStarted),
            grid: None,
            log_path: Some(log_path.to_owned()),
            taken: std::sync::atomic::AtomicBool::new(false),
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
                        "{} {} during start-up; see {}",
                        cfg.name.driver(),
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

    /// The browser users share, started on first use with `cfg`; `None` when there is none for
    /// `cfg` (no BiDi, or settings that differ from the shared browser's in more than what a
    /// user context sets: the user then gets a browser of its own, said in the debug log).
    pub async fn shared_browser(
        &self,
        cfg: &BrowserConfig,
    ) -> Result<Option<Arc<SharedBrowser>>, BrowserError> {
        let mut state = self.shared.lock().await;
        if matches!(*state, SharedState::NotStarted) {
            *state = match SharedBrowser::start(self, cfg).await? {
                Some(b) => SharedState::Running(Arc::new(b)),
                None => SharedState::Unavailable,
            };
        }
        match &*state {
            SharedState::Running(b) if b.takes(cfg) => Ok(Some(b.clone())),
            SharedState::Running(_) => {
                tracing::debug!(
                    "these browser settings differ from the shared browser's beyond viewport, \
                     locale and user agent: a browser of its own for this user"
                );
                Ok(None)
            }
            SharedState::NotStarted | SharedState::Unavailable => Ok(None),
        }
    }

    /// Stops chromedriver and its browsers; `hurry` shortens the grace after SIGTERM.
    pub async fn stop(&mut self, hurry: bool) {
        let shared = std::mem::replace(self.shared.get_mut(), SharedState::Unavailable);
        if let SharedState::Running(b) = shared {
            // SIGTERM to chromedriver leaves its browsers running: end the session first.
            b.close(Duration::from_secs(if hurry { 1 } else { 5 }))
                .await;
        }
        if let Some(mut p) = self.process.take() {
            let grace = if hurry { 300 } else { 2000 };
            p.stop(Duration::from_millis(grace)).await;
        }
    }
}
