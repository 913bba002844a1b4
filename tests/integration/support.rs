//! Shared test support: the demo helpdesk in-process, and a fluent `FlowsCmd` for the binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

pub const SECRET: &str = "test-secret-Zq8vN3xK7mP2wL9rT4yB";

/// The repository root (where flows/ and fixtures/ live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts the demo helpdesk in staging mode with the test secret, on a free port.
pub async fn helpdesk() -> helpdesk::RunningHelpdesk {
    helpdesk::serve(helpdesk::Config {
        staging: true,
        secret: Some(SECRET.to_owned()),
        ..Default::default()
    })
    .await
    .expect("the demo helpdesk starts")
}

/// Sets a fault switch on a running helpdesk.
pub async fn fault(base_url: &str, body: serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base_url}/staging/e2e/faults"))
        .header("X-Staging-E2E-Secret", SECRET)
        .json(&body)
        .send()
        .await
        .expect("fault request");
    assert!(
        resp.status().is_success(),
        "fault switch refused: {}",
        resp.status()
    );
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn all(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// The `flows` binary with a test environment: no inherited staging variables, the test
/// secret, and artifacts under a temp dir.
pub struct FlowsCmd {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    removed: Vec<String>,
    cwd: PathBuf,
    own_session: bool,
}

impl FlowsCmd {
    pub fn new() -> FlowsCmd {
        FlowsCmd {
            args: vec![],
            envs: vec![("STAGING_E2E_SECRET".into(), SECRET.into())],
            removed: vec![],
            cwd: repo_root(),
            own_session: false,
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `run --all --base-url URL`: every flow of the suite against an app the test started.
    pub fn run_all(self, base_url: &str) -> Self {
        self.args(["run", "--all", "--base-url", base_url])
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.push((k.into(), v.into()));
        self
    }

    /// Leaves `k` out of the environment (also one this builder set, such as the secret).
    pub fn env_remove(mut self, k: &str) -> Self {
        self.envs.retain(|(name, _)| name != k);
        self.removed.push(k.to_owned());
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = dir.to_owned();
        self
    }

    /// Runs the binary as the leader of a new session (`setsid`, util-linux; it execs, so the
    /// child's pid is the runner's and the session id): see [`processes_in_session`].
    pub fn own_session(mut self) -> Self {
        self.own_session = true;
        self
    }

    pub fn command(&self) -> tokio::process::Command {
        let mut cmd = if self.own_session {
            require_on_path("setsid", "apt-get install -y util-linux");
            let mut c = tokio::process::Command::new("setsid");
            c.arg(env!("CARGO_BIN_EXE_flows"));
            c
        } else {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_flows"))
        };
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("PLAYWRIGHT_")
                || k.starts_with("STAGING_")
                || k == "GITHUB_STEP_SUMMARY"
            {
                cmd.env_remove(k);
            }
        }
        cmd.env("NO_COLOR", "1");
        for k in &self.removed {
            cmd.env_remove(k);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// The command line as one shell word list (`'flows' 'run' …`), for wrappers that take a
    /// command string such as `script -c`.
    pub fn shell_line(&self) -> String {
        std::iter::once(env!("CARGO_BIN_EXE_flows").to_owned())
            .chain(self.args.iter().cloned())
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `program args… ` with this command's environment and working directory, for running the
    /// binary through a wrapper (`xvfb-run -a <flows…>`, `script -qfec "<flows…>" /dev/null`).
    pub fn wrapped(&self, program: &str, args: &[String]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args).current_dir(&self.cwd).stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("PLAYWRIGHT_")
                || k.starts_with("STAGING_")
                || k == "GITHUB_STEP_SUMMARY"
            {
                cmd.env_remove(k);
            }
        }
        cmd.env("NO_COLOR", "1");
        for k in &self.removed {
            cmd.env_remove(k);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// The binary's path and arguments.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(env!("CARGO_BIN_EXE_flows").to_owned())
            .chain(self.args.iter().cloned())
            .collect()
    }

    pub async fn output(&self) -> Output {
        let out = tokio::time::timeout(Duration::from_secs(300), self.command().output())
            .await
            .expect("flows finished within 5 minutes")
            .expect("flows binary runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Reads a child's whole stdout.
pub async fn read_all(mut r: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s).await;
    s
}

/// The single run directory under an output root.
pub fn run_dir(output_root: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(output_root)
        .expect("output root exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.ends_with("latest"))
        .collect();
    dirs.sort();
    dirs.pop().expect("a run directory")
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Pids of processes whose command line mentions `marker` (a unique temp path).
pub fn processes_mentioning(marker: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(raw) = std::fs::read(e.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmdline.contains(marker) {
                // Zombies have an empty cmdline, so anything here is alive.
                out.push((pid, cmdline));
            }
        }
    }
    out
}

/// One process as `/proc/<pid>/stat` and `cmdline` describe it.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    /// `R`, `S`, `D`, `Z` (zombie), … as in `ps`.
    pub state: char,
    pub cmdline: String,
}

impl Proc {
    /// Still running: not a zombie (exited, waiting for its parent to reap it) nor dead.
    pub fn alive(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Every process on the machine that could be read (some vanish while /proc is walked).
pub fn all_processes() -> Vec<Proc> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp session …`; comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        let num = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let cmdline = std::fs::read(e.path().join("cmdline"))
            .map(|raw| {
                String::from_utf8_lossy(&raw)
                    .replace('\0', " ")
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default();
        out.push(Proc {
            pid,
            state: fields.first().and_then(|f| f.chars().next()).unwrap_or('?'),
            ppid: num(1),
            pgid: num(2),
            sid: num(3),
            cmdline,
        });
    }
    out
}

/// Live processes of session `sid`. A command started with [`FlowsCmd::own_session`] is the
/// leader of its own session (sid = its pid), and every process it starts stays in it (process
/// groups do not leave a session) even after being orphaned, unless it calls `setsid` itself:
/// "nothing left" of one run is "no live process in its session", whatever else runs here.
pub fn processes_in_session(sid: u32) -> Vec<Proc> {
    all_processes()
        .into_iter()
        .filter(|p| p.sid == sid && p.alive())
        .collect()
}

/// Live descendants of `pid` (children, their children, …), by parent pid: processes that were
/// orphaned (re-parented to init) are no longer found this way; use the session for those.
pub fn descendants(pid: u32) -> Vec<Proc> {
    let all = all_processes();
    let mut out: Vec<Proc> = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for p in all.iter().filter(|p| p.ppid == parent && p.alive()) {
            parents.push(p.pid);
            out.push(p.clone());
        }
    }
    out
}

/// The newest run directory's `events.jsonl` under `artifacts`, as far as it is written.
pub fn event_log(artifacts: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(artifacts) else {
        return String::new();
    };
    let mut runs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.ends_with("latest"))
        .collect();
    runs.sort();
    runs.pop()
        .and_then(|run| std::fs::read_to_string(run.join("events.jsonl")).ok())
        .unwrap_or_default()
}

/// Waits, reading the event log as the runner writes it (bounded by `within`), until step
/// `index` (0-based) of `flow` has started: how a test knows where a running `flows` is.
pub async fn step_started(artifacts: &Path, flow: &str, index: usize, within: Duration) {
    let started = std::time::Instant::now();
    loop {
        let log = event_log(artifacts);
        let seen = log.lines().any(|l| {
            serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| {
                let k = &v["kind"];
                k["type"] == "step_started" && k["flow"] == flow && k["index"] == index
            })
        });
        if seen {
            return;
        }
        assert!(
            started.elapsed() < within,
            "step {index} of {flow} did not start within {within:?}; the event log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A suite of `(file name, flow text)` in a temp dir, reusing the repository's users.
pub fn temp_suite<N: AsRef<str>, B: AsRef<str>>(flows: &[(N, B)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        r#"
[target]
secret_env = "STAGING_E2E_SECRET"
[users.requester]
email = "requester@helpdesk.test"
[users.head]
email = "head@helpdesk.test"
[vars]
portal_slug = "it-support"
[timeouts]
step = "3s"
[artifacts]
dir = "{}"
"#,
        dir.path().join("artifacts").display()
    );
    std::fs::create_dir_all(dir.path().join("flows")).expect("mkdir");
    std::fs::write(dir.path().join("flows/flows.toml"), config).expect("write config");
    for (name, body) in flows {
        std::fs::write(dir.path().join("flows").join(name.as_ref()), body.as_ref())
            .expect("write flow");
    }
    dir
}

/// Whether `program` is on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Fails the test when a tool it drives is missing: a test that returns green without running
/// would hide a broken feature (CI installs every tool the tests need).
pub fn require_on_path(program: &str, install: &str) {
    assert!(
        on_path(program),
        "`{program}` is not on PATH, so this test cannot run; install it ({install})"
    );
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A server on a free loopback port; dropped with the test's runtime.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Appends `text` to the suite's flows.toml.
pub fn add_config(suite: &Path, text: &str) {
    let path = suite.join("flows/flows.toml");
    let mut config = std::fs::read_to_string(&path).expect("config");
    config.push_str(text);
    std::fs::write(&path, config).expect("write config");
}

pub fn flow<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["flows"]
        .as_array()
        .and_then(|flows| flows.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("{id} in the report: {report:#}"))
}

pub fn any_file_contains(dir: &Path, needle: &str) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
        })
        .map(|p| p.display().to_string())
        .collect()
}

/// The answer of a healthy app's `/health` and `/staging/e2e/health`.
pub fn healthy() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [("content-type", "application/json")],
        r#"{"status":"ok","services":[{"name":"database","status":"ok"}]}"#,
    )
        .into_response()
}

/// Each flow of a `staging-run-report.json` as (id, status), in report order.
pub fn flow_statuses(report: &serde_json::Value) -> Vec<(String, String)> {
    report["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_owned(),
                f["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A path as a command-line argument.
pub fn path_arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The demo helpdesk binary, built beside the test binary (`cargo build --release --workspace`,
/// which the tests' own build does too: the helpdesk crate has tests of its own).
pub fn helpdesk_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/integration-HASH → target/<profile>/helpdesk
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("helpdesk"))
        .expect("a target dir");
    assert!(
        bin.is_file(),
        "{} is missing: build the workspace first (cargo build --release --workspace)",
        bin.display()
    );
    bin
}
