//! Starting the app under test (the `[web_server]` of flows.toml), as Playwright's `webServer`
//! does: reuse it if the URL already answers, otherwise start the command on a free port, wait
//! until its ready path answers, keep its output in the run's logs, stop it at the end.

use std::path::Path;
use std::time::{Duration, Instant};

use super::process::{find_executable, free_port, ManagedChild};
use crate::config::WebServer;

#[derive(Debug, thiserror::Error)]
pub enum WebServerError {
    #[error("web server command `{0}` not found; build it first (e.g. `cargo build --release --workspace`) or fix web_server.command in flows.toml")]
    NotFound(String),
    #[error("could not start the web server `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the web server exited during start-up ({status}); last lines of {log}:\n{tail}")]
    Exited {
        status: String,
        log: String,
        tail: String,
    },
    #[error("the web server did not answer {url} within {waited:?}; see {log}")]
    NotReady {
        url: String,
        waited: Duration,
        log: String,
    },
}

pub struct RunningWebServer {
    pub base_url: String,
    child: ManagedChild,
}

impl RunningWebServer {
    /// Stops the server's process group; `hurry` shortens the grace after SIGTERM.
    pub async fn stop(mut self, hurry: bool) {
        let grace = if hurry { 1 } else { 5 };
        self.child.stop(Duration::from_secs(grace)).await;
    }
}

/// The port of a base URL on this machine, where the web server can be started for it.
pub fn local_port(base_url: &str) -> Result<u16, String> {
    let url = url::Url::parse(base_url).map_err(|e| format!("bad base URL {base_url}: {e}"))?;
    let local = matches!(
        url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match (local, url.port_or_known_default()) {
        (true, Some(port)) => Ok(port),
        _ => Err(format!(
            "the base URL {base_url} does not answer, and it is not on this machine, so the configured web server cannot serve it; check the URL, or pass --skip-web-server to run against it anyway"
        )),
    }
}

/// Does `url` answer at all (any HTTP status)?
pub async fn answers(http: &crate::net::Http, url: &str) -> bool {
    http.get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .is_ok()
}

/// Starts the configured command on a free port. `{port}` and `{secret}` in the command and
/// its env values are replaced.
pub async fn start(
    ws: &WebServer,
    port: Option<u16>,
    secret: Option<&str>,
    log_path: &Path,
    http: &crate::net::Http,
) -> Result<RunningWebServer, WebServerError> {
    let port = match port {
        Some(p) => p,
        None => free_port().map_err(|source| WebServerError::Spawn {
            command: ws.command.join(" "),
            source,
        })?,
    };
    let fill = |s: &str| {
        let s = s.replace("{port}", &port.to_string());
        match secret {
            Some(sec) => s.replace("{secret}", sec),
            None => s,
        }
    };
    let args: Vec<String> = ws.command.iter().skip(1).map(|a| fill(a)).collect();
    let program_name = &ws.command[0];
    let program = if program_name.contains('/') {
        let p = ws.cwd.join(program_name);
        if !p.is_file() {
            return Err(WebServerError::NotFound(p.display().to_string()));
        }
        p
    } else {
        find_executable(program_name)
            .ok_or_else(|| WebServerError::NotFound(program_name.clone()))?
    };
    let env: Vec<(String, String)> = ws.env.iter().map(|(k, v)| (k.clone(), fill(v))).collect();
    let mut child = ManagedChild::spawn(
        "web-server",
        &program,
        &args,
        Some(&ws.cwd),
        &env,
        Some(log_path),
    )
    .map_err(|source| WebServerError::Spawn {
        command: ws.command.join(" "),
        source,
    })?;
    let base_url = format!("http://127.0.0.1:{port}");
    let ready_url = format!("{base_url}{}", ws.ready_path);
    let started = Instant::now();
    loop {
        if let Ok(resp) = http
            .get(&ready_url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            if resp.status().is_success() {
                tracing::info!(url = %base_url, ms = started.elapsed().as_millis() as u64, "web server ready");
                return Ok(RunningWebServer { base_url, child });
            }
        }
        if let Some(status) = child.exited() {
            child.stop(Duration::from_millis(100)).await;
            return Err(WebServerError::Exited {
                status: status.how,
                log: log_path.display().to_string(),
                tail: tail(log_path, 15),
            });
        }
        if started.elapsed() > ws.startup_timeout {
            child.stop(Duration::from_secs(2)).await;
            return Err(WebServerError::NotReady {
                url: ready_url,
                waited: ws.startup_timeout,
                log: log_path.display().to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The last `lines` lines of the log at `path`.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `chromedriver (pid 42) exited (signal 9)`; for the web server, with the last lines of its
/// log (redacted).
pub fn exit_reason(
    exit: &super::process::ChildExit,
    logs_dir: &Path,
    redactor: &crate::redact::Redactor,
) -> String {
    if exit.name == "web-server" {
        let tail = tail(&logs_dir.join("web-server.log"), 5);
        let tail = tail.lines().map(str::trim).collect::<Vec<_>>().join(" | ");
        redactor.redact(&format!(
            "the web server (pid {}) {}, last log lines: {}",
            exit.pid,
            exit.how,
            if tail.is_empty() { "(none)" } else { &tail }
        ))
    } else {
        exit.to_string()
    }
}
