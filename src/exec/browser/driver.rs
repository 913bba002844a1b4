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
