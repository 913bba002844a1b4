//! The machine's side of a run: the browser binary and its version, chromedriver and whether
//! its major version drives that browser, a headless session actually opening, and a remote
//! WebDriver server (a Selenium Grid) answering `/status` with free slots.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::{Area, CheckLine};
use crate::config::BrowserConfig;
use crate::exec::browser::grid::GridStatus;
use crate::exec::browser::{local_browser_binary, BrowserSession, Driver};
use crate::exec::process::find_executable;

const INSTALL_FIX: &str = "install them: `flows install-deps` (Debian/Ubuntu: apt-get install -y chromium chromium-driver)";

/// The browser lines, in order: browser, chromedriver, WebDriver server, headless start.
pub(super) async fn check(cfg: &BrowserConfig) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    if let Some(url) = &cfg.webdriver_url {
        let why = format!("a WebDriver server is configured ({url}); its browsers are its own");
        lines.push(CheckLine::skip(
            "browser",
            Area::Infrastructure,
            why.clone(),
        ));
        lines.push(CheckLine::skip("chromedriver", Area::Infrastructure, why));
        let server = webdriver_status(url, cfg).await;
        let reachable = server.status != super::Status::Fail;
        lines.push(server);
        lines.push(if reachable {
            headless_start(cfg).await
        } else {
            CheckLine::skip(
                "headless start",
                Area::Infrastructure,
                "the WebDriver server did not answer",
            )
        });
        return lines;
    }
    let browser = browser_line(cfg).await;
    let browser_major = browser.1;
    lines.push(browser.0);
    let driver = driver_line(cfg, browser_major).await;
    let driver_ok = driver.status == super::Status::Pass;
    lines.push(driver);
    lines.push(CheckLine::skip(
        "webdriver server",
        Area::Infrastructure,
        "none configured: flows starts chromedriver (set browser.webdriver_url or --webdriver-url for a Grid)",
    ));
    lines.push(if browser_major.is_some() && driver_ok {
        headless_start(cfg).await
    } else {
        CheckLine::skip(
            "headless start",
            Area::Infrastructure,
            "needs a browser and a matching chromedriver (above)",
        )
    });
    lines
}

/// The browser's line and its major version (when found and it said one).
async fn browser_line(cfg: &BrowserConfig) -> (CheckLine, Option<u32>) {
    let path = match local_browser_binary(cfg) {
        Ok(Some(p)) => p,
        Ok(None) | Err(_) => {
            let detail = match &cfg.binary {
                Some(b) => format!("browser.binary `{b}` is not an executable file"),
                None if cfg.name == crate::config::BrowserName::Firefox => {
                    "no firefox-esr or firefox on PATH".to_owned()
                }
                None => "no chromium, chromium-browser or google-chrome on PATH".to_owned(),
            };
            let fix = format!("{INSTALL_FIX}, or set browser.binary in flows.toml");
            return (
                CheckLine::fail("browser", Area::Infrastructure, detail, fix),
                None,
            );
        }
    };
    match version_of(&path).await {
        Ok(text) => {
            let major = major_version(&text);
            let line = match major {
                Some(_) => CheckLine::pass(
                    "browser",
                    Area::Infrastructure,
                    format!("{} ({})", version_line(&text), path.display()),
                ),
                None => CheckLine::fail(
                    "browser",
                    Area::Infrastructure,
                    format!(
                        "{} --version said no version: `{}`",
                        path.display(),
                        version_line(&text)
                    ),
                    "point browser.binary at a Chromium or Chrome executable",
                ),
            };
            (line, major)
        }
        Err(e) => (
            CheckLine::fail(
                "browser",
                Area::Infrastructure,
                format!("{} --version failed: {e}", path.display()),
                format!("{INSTALL_FIX}, or point browser.binary at a working Chromium"),
            ),
            None,
        ),
    }
}

/// chromedriver found, its version, and that its major is the browser's: chromedriver N drives
/// Chrome N only ("This version of ChromeDriver only supports Chrome version N" at the first
/// session otherwise).
async fn driver_line(cfg: &BrowserConfig, browser_major: Option<u32>) -> CheckLine {
    if cfg.name == crate::config::BrowserName::Firefox {
        return geckodriver_line(cfg).await;
    }
    let Some(path) = find_executable(&cfg.chromedriver) else {
        let detail = if cfg.chromedriver.contains('/') {
            format!("browser.chromedriver `{}` is not a file", cfg.chromedriver)
        } else {
            format!("`{}` is not on PATH", cfg.chromedriver)
        };
        return CheckLine::fail(
            "chromedriver",
            Area::Infrastructure,
            detail,
            format!("{INSTALL_FIX}, or set browser.chromedriver in flows.toml"),
        );
    };
    let text = match version_of(&path).await {
        Ok(t) => t,
        Err(e) => {
            return CheckLine::fail(
                "chromedriver",
                Area::Infrastructure,
                format!("{} --version failed: {e}", path.display()),
                format!("{INSTALL_FIX}, or point browser.chromedriver at a working chromedriver"),
            )
        }
    };
    let shown = format!("{} ({})", version_line(&text), path.display());
    match (major_version(&text), browser_major) {
        (None, _) => CheckLine::fail(
            "chromedriver",
            Area::Infrastructure,
            format!("{shown}: no version in its --version output"),
            "point browser.chromedriver at a chromedriver executable",
        ),
        (Some(driver), Some(browser)) if driver != browser => CheckLine::fail(
            "chromedriver",
            Area::Infrastructure,
            format!(
                "{shown}: chromedriver {driver} only drives Chrome/Chromium {driver}, the browser is {browser}"
            ),
            format!(
                "install the chromedriver of the browser's version {browser} (Debian/Ubuntu: apt-get install -y chromium chromium-driver installs a matching pair), or point browser.chromedriver at one"
            ),
        ),
        (Some(driver), Some(_)) => CheckLine::pass(
            "chromedriver",
            Area::Infrastructure,
            format!("{shown}, major {driver} matches the browser"),
        ),
        // No browser to compare with: its own line failed already.
        (Some(_), None) => CheckLine::pass(
            "chromedriver",
            Area::Infrastructure,
            format!("{shown} (not compared: no browser version)"),
        ),
    }
}

/// geckodriver found and its version (one geckodriver drives a range of Firefox releases: the
/// headless start below proves the pair).
async fn geckodriver_line(cfg: &BrowserConfig) -> CheckLine {
    let fix =
        "install it: cargo install geckodriver --locked, or set browser.geckodriver in flows.toml";
    let Some(path) = find_executable(&cfg.geckodriver) else {
        return CheckLine::fail(
            "chromedriver",
            Area::Infrastructure,
            format!("`{}` (geckodriver) not found", cfg.geckodriver),
            fix,
        );
    };
    match version_of(&path).await {
        Ok(text) => CheckLine::pass(
            "chromedriver",
            Area::Infrastructure,
            format!("{} ({})", version_line(&text), path.display()),
        ),
        Err(e) => CheckLine::fail(
            "chromedriver",
            Area::Infrastructure,
            format!("{} --version failed: {e}", path.display()),
            fix,
        ),
    }
}

/// Starts the driver and opens one session exactly as a run does (same arguments, same
/// capabilities), then closes it.
async fn headless_start(cfg: &BrowserConfig) -> CheckLine {
    let root = rustix::process::geteuid().is_root();
    let root_note = if root {
        "; running as root: Chromium needs --no-sandbox, which flows passes"
    } else {
        ""
    };
    let logs = match tempfile::Builder::new().prefix("flows-doctor-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            return CheckLine::fail(
                "headless start",
                Area::Infrastructure,
                format!("cannot create a temp dir for the driver's log: {e}"),
                "make the temp dir ($TMPDIR or /tmp) writable",
            )
        }
    };
    let log = logs.path().join("chromedriver.log");
    let mode = if cfg.headless { "headless" } else { "headed" };
    let attempt = async {
        let mut driver = Driver::start(cfg, &log).await.map_err(|e| e.to_string())?;
        let session = BrowserSession::open(&driver, cfg, "doctor").await;
        let result = match session {
            Ok(s) => {
                let version = format!("{} {}", s.browser_name, s.browser_version);
                s.close().await;
                Ok(version)
            }
            Err(e) => Err(e.to_string()),
        };
        driver.stop(false).await;
        result
    };
    match tokio::time::timeout(Duration::from_secs(90), attempt).await {
        Ok(Ok(version)) => CheckLine::pass(
            "headless start",
            Area::Infrastructure,
            format!("a {mode} session of {version} opened and closed{root_note}"),
        ),
        Ok(Err(e)) => {
            let tail = crate::exec::webserver::tail(&log, 8);
            let detail = if tail.trim().is_empty() {
                e
            } else {
                format!("{e}\n    chromedriver's log ends:\n    {}", tail.replace('\n', "\n    "))
            };
            let fix = if root {
                "as root Chromium starts only with --no-sandbox (flows passes it; check that browser.args or a wrapper script does not drop it); a headed run needs a display (xvfb-run -a)"
            } else {
                "run the browser by hand (`chromium --headless=new --dump-dom about:blank`) to see why it does not start; a headed run needs a display (xvfb-run -a)"
            };
            CheckLine::fail("headless start", Area::Infrastructure, detail, fix)
        }
        Err(_) => CheckLine::fail(
            "headless start",
            Area::Infrastructure,
            "no session within 90s",
            "see whether the machine is overloaded, or run the browser by hand to see where it hangs",
        ),
    }
}

/// A remote WebDriver server: `/status` answers, says ready, and (a Selenium Grid) has slots
/// for the configured browser: how many are free, whether its nodes keep downloads.
async fn webdriver_status(url: &str, cfg: &BrowserConfig) -> CheckLine {
    let url = url.trim_end_matches('/');
    let status_url = format!("{url}/status");
    let resp = reqwest::Client::new()
        .get(&status_url)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            return CheckLine::fail(
                "webdriver server",
                Area::Infrastructure,
                crate::net::describe_error(&status_url, &e),
                "start the server, or correct browser.webdriver_url / --webdriver-url",
            )
        }
    };
    let code = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let status = GridStatus::parse(&body);
    let browser = crate::exec::browser::w3c_name(cfg);
    let slots_text = match status.capacity(browser) {
        Some(c) => format!(
            ", {} of {} {browser} slots free{}",
            c.free,
            c.all,
            if c.downloads {
                ", managed downloads on"
            } else {
                ", no managed downloads (download steps cannot run: --enable-managed-downloads true)"
            }
        ),
        None => String::new(),
    };
    if status.ready.is_none() {
        return CheckLine::fail(
            "webdriver server",
            Area::Infrastructure,
            format!("{status_url} answered {code} without a WebDriver status"),
            "point browser.webdriver_url at the WebDriver server's root (the Grid's URL, without /wd/hub unless it needs it)",
        );
    }
    match status.refusal(url, browser, 1) {
        None => CheckLine::pass(
            "webdriver server",
            Area::Infrastructure,
            format!("{status_url}: ready{slots_text}"),
        ),
        Some(why) => CheckLine::fail(
            "webdriver server",
            Area::Infrastructure,
            format!("{status_url}: {why}"),
            "wait for the Grid's nodes to register, or start a node with the browser (--detect-drivers true, the driver on PATH)",
        ),
    }
}

/// `PATH --version`'s output (stdout, else stderr), bounded in time.
async fn version_of(path: &Path) -> Result<String, String> {
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::process::Command::new(path)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| "no answer within 20s".to_owned())?
    .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let text = if stdout.is_empty() {
        String::from_utf8_lossy(&out.stderr).trim().to_owned()
    } else {
        stdout
    };
    if !out.status.success() {
        return Err(format!("exit {}: {}", out.status, version_line(&text)));
    }
    Ok(text)
}

/// The first non-empty line of a `--version` output.
pub fn version_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// The major version in `Chromium 156.0.7632.116 built on Debian`, `ChromeDriver 99.0.1 (…)`,
/// `Google Chrome 120.0.6099.109`: the number before the first dot of the first dotted number.
pub fn major_version(text: &str) -> Option<u32> {
    version_line(text).split_whitespace().find_map(|word| {
        let (major, rest) = word.split_once('.')?;
        let minor = rest.split('.').next()?;
        if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        major.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_come_from_browser_and_driver_version_lines() {
        assert_eq!(
            major_version("Chromium 156.0.7632.116 built on Debian GNU/Linux 13 (trixie)"),
            Some(156)
        );
        assert_eq!(
            major_version("ChromeDriver 99.0.4844.51 (d537ec02474b5afe23684e7963d538896c63ac77-refs/branch-heads/4844@{#875})"),
            Some(99)
        );
        assert_eq!(major_version("Google Chrome 120.0.6099.109 "), Some(120));
        assert_eq!(major_version("chromedriver: command not found"), None);
        assert_eq!(major_version(""), None);
    }
}
