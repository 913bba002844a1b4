//! Where the browser comes from: a local chromedriver the runner starts (and the Chromium it
//! finds), or a remote WebDriver server.

use super::*;

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
}

/// The shared browser of a driver.
enum SharedState {
    NotStarted,
    Running(Arc<SharedBrowser>),
    /// The server gives no BiDi: every user gets a browser of its own.
    Unavailable,
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
            return Ok(Driver {
                url,
                process: None,
                shared: tokio::sync::Mutex::new(SharedState::NotStarted),
            });
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
            shared: tokio::sync::Mutex::new(SharedState::NotStarted),
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
