//! The fault matrix of issue 17: signals at any moment, children killed, infrastructure that
//! is not there. Each test asserts the exit code, the report's outcome and reason, the flows'
//! statuses, and that no process of the run is alive afterwards (found by walking /proc from the
//! runner's pid, and by the marker every child of a run carries: other runs may be on this
//! machine).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::run_without_health_check;
use crate::support::*;

/// One process as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    /// Start time in clock ticks since boot: with the pid, names the process uniquely.
    pub start: u64,
    pub cmdline: String,
}

/// `(ppid, start time)` of a live (not zombie) process.
fn stat_of(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&"Z" | &"X")) {
        return None;
    }
    Some((fields.get(1)?.parse().ok()?, fields.get(19)?.parse().ok()?))
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn proc_info(pid: u32) -> Option<Proc> {
    let (_, start) = stat_of(pid)?;
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    Some(Proc {
        pid,
        start,
        cmdline: String::from_utf8_lossy(&raw).replace('\0', " "),
    })
}

/// Every live process below `root` in the process tree, now.
pub fn descendants(root: u32) -> Vec<Proc> {
    let parents: Vec<(u32, u32)> = all_pids()
        .into_iter()
        .filter_map(|pid| stat_of(pid).map(|(ppid, _)| (pid, ppid)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|&&(_, ppid)| ppid == parent)
                .map(|&(pid, _)| pid),
        );
        i += 1;
    }
    found.into_iter().skip(1).filter_map(proc_info).collect()
}

/// Live processes whose environment carries the marker of runner `runner_pid`'s run (its
/// children, and what they started without clearing their environment).
pub fn marked_children_of(runner_pid: u32) -> Vec<Proc> {
    let suffix = format!(":{runner_pid}");
    all_pids()
        .into_iter()
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0).any(|var| {
                    let var = String::from_utf8_lossy(var);
                    var.starts_with("FLOWS_RUN_MARK=") && var.ends_with(&suffix)
                })
            })
        })
        .filter_map(proc_info)
        .collect()
}

/// Of `seen`, the processes still alive (same pid and start time), plus any process still
/// marked as a child of `runner_pid` or mentioning `marker` on its command line, polled until
/// none is left or `limit` (a hang guard, not a timing claim).
pub async fn left_alive(
    seen: &[Proc],
    runner_pid: u32,
    marker: &str,
    limit: Duration,
) -> Vec<Proc> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let mut alive: Vec<Proc> = seen
            .iter()
            .filter(|p| stat_of(p.pid).is_some_and(|(_, start)| start == p.start))
            .cloned()
            .collect();
        alive.extend(marked_children_of(runner_pid));
        alive.extend(
            processes_mentioning(marker)
                .into_iter()
                .filter_map(|(pid, _)| proc_info(pid)),
        );
        alive.sort_by_key(|p| p.pid);
        alive.dedup();
        if alive.is_empty() || tokio::time::Instant::now() >= deadline {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The demo helpdesk's binary, built beside `flows`.
fn helpdesk_bin() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_flows")).with_file_name("helpdesk")
}

/// `[web_server]` that starts the demo helpdesk from its binary (the runner's own child).
fn own_web_server(suite: &Path) {
    add_config(
        suite,
        &format!(
            "[web_server]\ncommand = \"{} --listen 127.0.0.1:{{port}} --staging\"\nready_path = \"/up\"\nstartup_timeout = \"20s\"\nenv = {{ STAGING_E2E_ENABLED = \"true\", STAGING_E2E_SECRET = \"{{secret}}\" }}\n",
            helpdesk_bin().display()
        ),
    );
}

const WAITS_FOREVER: &str = r#"
id: waits
title: Waits for something that never appears
user: requester
steps:
  - goto: /login
  - expect: { text: This text never appears, timeout: 60s }
"#;

const SECOND: &str = r#"
id: second
title: Never reached
user: requester
needs: [waits]
steps:
  - goto: /login
"#;

/// The events of the single run under `artifacts`, so far.
fn events_so_far(artifacts: &Path) -> String {
    std::fs::read_dir(artifacts)
        .ok()
        .and_then(|mut d| {
            d.find_map(|e| {
                e.ok()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir() && !p.ends_with("latest"))
            })
        })
        .and_then(|run| std::fs::read_to_string(run.join("events.jsonl")).ok())
        .unwrap_or_default()
}

/// Waits (bounded, observing the event log) until the flow `waits` runs its second step.
async fn until_second_step(artifacts: &Path, child: &mut tokio::process::Child) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let log = events_so_far(artifacts);
        if log
            .lines()
            .any(|l| l.contains(r#""type":"step_started""#) && l.contains(r#""index":1"#))
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("flows exited ({status}) before the second step:\n{log}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the flow never reached its second step:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn send(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

struct Spawned {
    child: tokio::process::Child,
    pid: u32,
    /// A private TMPDIR: Chromium's profile dirs live there, so it marks this run's browsers.
    tmp: tempfile::TempDir,
}

fn spawn_runner(cmd: FlowsCmd) -> Spawned {
    let tmp = tempfile::tempdir().expect("tempdir");
    let child = cmd
        .env("TMPDIR", tmp.path().to_str().expect("utf-8"))
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn flows");
    let pid = child.id().expect("pid");
    Spawned { child, pid, tmp }
}

/// Waits for the runner's exit (a hang guard, not a timing claim) and its output.
async fn finished(mut s: Spawned) -> (Option<i32>, String, String, Spawned) {
    let stdout = s.child.stdout.take().expect("stdout");
    let stderr = s.child.stderr.take().expect("stderr");
    let (out, err) = tokio::join!(read_all(stdout), read_all(stderr));
    let status = tokio::time::timeout(Duration::from_secs(120), s.child.wait())
        .await
        .expect("flows exits")
        .expect("wait");
    (status.code(), out, err, s)
}

/// SIGKILL of the runner mid-flow (it cannot be caught): chromedriver, every Chromium process
/// and the web server it started all die with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_runner_mid_flow_leaves_no_process_behind() {
    let suite = temp_suite(&[("waits.yaml", WAITS_FOREVER)]);
    own_web_server(suite.path());
    let artifacts = suite.path().join("artifacts");
    let mut run = spawn_runner(FlowsCmd::new().cwd(suite.path()).args([
        "run",
        "--all",
        "--skip-health-check",
    ]));
    until_second_step(&artifacts, &mut run.child).await;
    let tree = descendants(run.pid);
    let names: Vec<&str> = tree.iter().map(|p| p.cmdline.as_str()).collect();
    assert!(
        names.iter().any(|c| c.contains("chromedriver")),
        "chromedriver runs: {names:#?}"
    );
    assert!(
        names.iter().any(|c| c.contains("helpdesk")),
        "the web server runs: {names:#?}"
    );
    assert!(
        names
            .iter()
            .any(|c| c.contains("chrom") && c.contains("--user-data-dir")),
        "a browser runs: {names:#?}"
    );
    send(run.pid, "KILL");
    let status = run.child.wait().await.expect("wait");
    assert_eq!(status.code(), None, "killed by a signal");
    let marker = run.tmp.path().to_str().expect("utf-8").to_owned();
    let left = left_alive(&tree, run.pid, &marker, Duration::from_secs(20)).await;
    assert!(left.is_empty(), "processes outlived the runner: {left:#?}");
}

/// SIGHUP (terminal closed) and SIGQUIT are handled like SIGTERM: exit 130, the report says
/// `interrupted`, a history line, `latest` points at a folder with a report, nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_sigquit_stop_the_run_like_sigterm() {
    let app = helpdesk().await;
    for signal in ["HUP", "QUIT"] {
        let suite = temp_suite(&[("waits.yaml", WAITS_FOREVER), ("second.yaml", SECOND)]);
        let artifacts = suite.path().join("artifacts");
        let mut run = spawn_runner(
            FlowsCmd::new()
                .cwd(suite.path())
                .run_all(&app.url())
                .args(["--skip-health-check"]),
        );
        until_second_step(&artifacts, &mut run.child).await;
        let tree = descendants(run.pid);
        send(run.pid, signal);
        let (code, stdout, stderr, run) = finished(run).await;
        assert_eq!(code, Some(130), "SIG{signal}\n{stdout}\n{stderr}");
        let report = read_json(&artifacts.join("latest/staging-run-report.json"));
        assert_eq!(report["outcome"], "interrupted", "SIG{signal}");
        assert!(
            report["outcome_reason"]
                .as_str()
                .is_some_and(|r| r.contains("SIGHUP")),
            "{}",
            report["outcome_reason"]
        );
        assert_eq!(flow(&report, "waits")["status"], "not_run");
        assert_eq!(flow(&report, "second")["status"], "not_run");
        let history = std::fs::read_to_string(suite.path().join("flows/.flows/history.jsonl"))
            .or_else(|_| std::fs::read_to_string(suite.path().join(".flows/history.jsonl")))
            .expect("a history line");
        assert!(
            history.contains("interrupted"),
            "SIG{signal}: the history records the run: {history}"
        );
        let marker = run.tmp.path().to_str().expect("utf-8").to_owned();
        let left = left_alive(&tree, run.pid, &marker, Duration::from_secs(20)).await;
        assert!(left.is_empty(), "SIG{signal}: left behind: {left:#?}");
    }
    app.shutdown().await;
}

/// A signal during start-up (0.2 s in: the web server is starting, or its health check, or the
/// browsers) is acted on there, not once every browser has started: exit 130, a report saying
/// `interrupted`, every flow `not_run`, nothing left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_start_up_stops_the_run_there() {
    for after_ms in [200, 700] {
        let suite = temp_suite(&[("waits.yaml", WAITS_FOREVER), ("second.yaml", SECOND)]);
        own_web_server(suite.path());
        let artifacts = suite.path().join("artifacts");
        let run = spawn_runner(FlowsCmd::new().cwd(suite.path()).args(["run", "--all"]));
        // The moment of the signal is the scenario, not a synchronisation.
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        let tree = descendants(run.pid);
        send(run.pid, "TERM");
        let pid = run.pid;
        let (code, stdout, stderr, run) = finished(run).await;
        assert_eq!(code, Some(130), "after {after_ms} ms\n{stdout}\n{stderr}");
        let report = read_json(&artifacts.join("latest/staging-run-report.json"));
        assert_eq!(report["outcome"], "interrupted");
        assert_eq!(flow(&report, "second")["status"], "not_run");
        let marker = run.tmp.path().to_str().expect("utf-8").to_owned();
        let left = left_alive(&tree, pid, &marker, Duration::from_secs(20)).await;
        assert!(
            left.is_empty(),
            "after {after_ms} ms: left behind: {left:#?}"
        );
    }
}

/// The runner's child (or grandchild) whose command line matches `is_it`, while it runs.
fn find_below(runner: u32, what: &str, is_it: impl Fn(&str) -> bool) -> Proc {
    let tree = descendants(runner);
    tree.iter()
        .find(|p| is_it(&p.cmdline))
        .cloned()
        .unwrap_or_else(|| panic!("no {what} below the runner: {tree:#?}"))
}

/// Runs the two-flow suite, waits until `waits` is in its second step, kills the process that
/// `pick` chooses with SIGKILL, and returns (exit code, report, killed pid, output).
async fn kill_mid_run(
    own_server: bool,
    pick: impl Fn(u32) -> Proc,
) -> (Option<i32>, serde_json::Value, u32, String) {
    let app = helpdesk().await;
    let suite = temp_suite(&[("waits.yaml", WAITS_FOREVER), ("second.yaml", SECOND)]);
    let cmd = if own_server {
        own_web_server(suite.path());
        FlowsCmd::new().cwd(suite.path()).args(["run", "--all"])
    } else {
        FlowsCmd::new().cwd(suite.path()).run_all(&app.url())
    };
    let artifacts = suite.path().join("artifacts");
    let mut run = spawn_runner(cmd.args(["--skip-health-check"]));
    until_second_step(&artifacts, &mut run.child).await;
    let tree = descendants(run.pid);
    let victim = pick(run.pid);
    send(victim.pid, "KILL");
    let pid = run.pid;
    let (code, stdout, stderr, run) = finished(run).await;
    let marker = run.tmp.path().to_str().expect("utf-8").to_owned();
    let left = left_alive(&tree, pid, &marker, Duration::from_secs(20)).await;
    assert!(left.is_empty(), "left behind: {left:#?}");
    let report = read_json(&artifacts.join("latest/staging-run-report.json"));
    assert!(
        files_under(&artifacts)
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".tmp")),
        "temp files left"
    );
    app.shutdown().await;
    (code, report, victim.pid, format!("{stdout}\n{stderr}"))
}

/// chromedriver killed mid-flow: exit 4, `aborted` with "chromedriver (pid N) exited (signal
/// 9)", the running flow failed with that reason, the rest `not_run`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromedriver_killed_mid_flow_aborts_the_run_naming_it() {
    let (code, report, pid, out) = kill_mid_run(false, |runner| {
        find_below(runner, "chromedriver", |c| {
            c.contains("chromedriver --port")
        })
    })
    .await;
    assert_eq!(code, Some(4), "{out}");
    assert_eq!(report["outcome"], "aborted");
    let why = format!("chromedriver (pid {pid}) exited (signal 9)");
    assert_eq!(report["outcome_reason"], why.as_str());
    let waits = flow(&report, "waits");
    assert_eq!(waits["status"], "failed");
    assert!(
        waits["reason"].as_str().is_some_and(|r| r.contains(&why)),
        "{}",
        waits["reason"]
    );
    assert_eq!(flow(&report, "second")["status"], "not_run");
}

/// The web server the runner started dies mid-flow: noticed when it happens; the running flow
/// fails with its exit and last log lines; exit 4, `aborted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_server_dying_mid_flow_aborts_the_run_naming_it() {
    let (code, report, pid, out) = kill_mid_run(true, |runner| {
        find_below(runner, "the web server", |c| {
            c.contains("helpdesk --listen")
        })
    })
    .await;
    assert_eq!(code, Some(4), "{out}");
    assert_eq!(report["outcome"], "aborted");
    let why = format!("the web server (pid {pid}) exited (signal 9), last log lines:");
    let reason = report["outcome_reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with(&why), "{reason}");
    let waits = flow(&report, "waits");
    assert_eq!(waits["status"], "failed");
    assert!(
        waits["reason"].as_str().is_some_and(|r| r.contains(&why)),
        "{}",
        waits["reason"]
    );
    assert_eq!(flow(&report, "second")["status"], "not_run");
}

/// The browser itself killed mid-flow: the report agrees with exit 4 (`aborted`), and says
/// whose session it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_killed_mid_flow_aborts_the_run_naming_the_session() {
    let (code, report, _pid, out) = kill_mid_run(false, |runner| {
        find_below(runner, "the browser", |c| {
            c.contains("--user-data-dir") && !c.contains("--type=")
        })
    })
    .await;
    assert_eq!(code, Some(4), "{out}");
    assert_eq!(report["outcome"], "aborted", "{out}");
    let reason = report["outcome_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("the browser session of requester failed"),
        "{reason}"
    );
    assert_eq!(flow(&report, "waits")["status"], "failed");
    assert_eq!(flow(&report, "second")["status"], "not_run");
}

/// No driver: an infrastructure error before any flow, naming what was tried; every flow
/// `not_run`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_driver_or_refusing_webdriver_url_aborts_before_any_flow() {
    let app = helpdesk().await;
    // A port nothing listens on (bound, then released).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let refused = format!("http://127.0.0.1:{closed}");
    for (config, args, named) in [
        (
            "[browser]\nchromedriver = \"/nonexistent/bin/chromedriver\"\n",
            vec![],
            "/nonexistent/bin/chromedriver",
        ),
        (
            "",
            vec!["--webdriver-url", refused.as_str()],
            refused.as_str(),
        ),
    ] {
        let suite = temp_suite(&[("waits.yaml", WAITS_FOREVER), ("second.yaml", SECOND)]);
        add_config(suite.path(), config);
        let out = FlowsCmd::new()
            .cwd(suite.path())
            .run_all(&app.url())
            .args(["--skip-health-check"])
            .args(&args)
            .output()
            .await;
        assert_eq!(out.code, 4, "{}", out.all());
        let report = read_json(
            &suite
                .path()
                .join("artifacts/latest/staging-run-report.json"),
        );
        assert_eq!(report["outcome"], "aborted");
        let reason = report["outcome_reason"].as_str().unwrap_or_default();
        assert!(reason.contains(named), "{reason}");
        assert!(!reason.contains("on PATH"), "{reason}");
        assert_eq!(flow(&report, "waits")["status"], "not_run");
        assert_eq!(flow(&report, "second")["status"], "not_run");
        assert_eq!(report["totals"]["failed"], 0, "{report:#}");
    }
    app.shutdown().await;
}

const PASSES: &str = r#"
id: passes
title: A flow with enough steps to fill a small disk with its trace
user: requester
steps:
  - goto: /login
  - expect: { role: button, name: Send code }
  - goto: /login
  - expect: { role: button, name: Send code }
  - goto: /login
  - expect: { role: button, name: Send code }
"#;

const PASSES_TOO: &str = r#"
id: passes-too
title: Runs after the disk is full
user: requester
steps:
  - goto: /login
  - expect: { role: button, name: Send code }
"#;

/// A small tmpfs as the output dir.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).expect("mkdir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "this test mounts a small tmpfs for the output dir and needs root to do so"
        );
        SmallDisk(dir.to_owned())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Disk full with `--trace on`: the artifact that does not fit is missing, the run goes on
/// (every flow runs), the outcome says "artifacts incomplete: disk full at …" (exit 4), no temp
/// file or trace part is left, the report itself is written, and nothing on stderr is coloured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_costs_artifacts_not_the_run() {
    let app = helpdesk().await;
    let suite = temp_suite(&[("passes.yaml", PASSES), ("passes-too.yaml", PASSES_TOO)]);
    let artifacts = suite.path().join("artifacts");
    // 256 KiB of it are the report's reserve; a trace of ~50 KB (frames fit in 800 px) does not fit
    // beside the parts and logs.
    let disk = SmallDisk::mount(&artifacts, "320k");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&app.url())
        .args(["--skip-health-check", "--trace", "on"])
        .output()
        .await;
    assert_eq!(out.code, 4, "{}", out.all());
    let report = read_json(&artifacts.join("latest/staging-run-report.json"));
    assert_eq!(report["outcome"], "aborted");
    let reason = report["outcome_reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("artifacts incomplete: disk full at "),
        "{reason}"
    );
    assert_eq!(flow(&report, "passes")["status"], "passed", "{}", out.all());
    assert_eq!(flow(&report, "passes-too")["status"], "passed");
    let files = files_under(&artifacts);
    let leftovers: Vec<&PathBuf> = files
        .iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            s.ends_with(".tmp") || s.contains("/trace/") || s.contains(".flows-reserve")
        })
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:#?}");
    assert!(!out.stderr.contains('\u{1b}'), "{}", out.stderr);
    drop(disk);
    app.shutdown().await;
}

/// Every `*.yaml` / `*.yml` entry (any case) must load or be an error: a dangling symlink, a
/// directory or a FIFO named like a flow is not silently skipped (and a FIFO is never opened,
/// so `check` does not block); `*.YAML` is a flow too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_entries_named_like_flows_are_errors_not_skipped() {
    let suite = temp_suite(&[("upper.YAML", SECOND)]);
    let flows = suite.path().join("flows");
    std::os::unix::fs::symlink(flows.join("gone.txt"), flows.join("dangling.yaml"))
        .expect("symlink");
    std::fs::create_dir(flows.join("folder.yml")).expect("mkdir");
    let fifo = std::process::Command::new("mkfifo")
        .arg(flows.join("pipe.yaml"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["check"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    let all = out.all();
    for (name, says) in [
        ("dangling.yaml", "symlink to nothing"),
        ("folder.yml", "is a directory"),
        ("pipe.yaml", "not a regular file"),
    ] {
        assert!(
            all.lines().any(|l| l.contains(name)) && all.contains(says),
            "{name}: {all}"
        );
    }
    // upper.YAML was read: its `needs: [waits]` names a flow that is not in the suite.
    assert!(all.contains("waits"), "{all}");
}

/// Mail that never arrives: the mail step fails, and the criterion it was proving is FAILED
/// with the failing step as evidence (not missing, so the summary cannot read "0 FAILED"); a
/// claim the flow never reached is UNVERIFIED. A flow that proved delivery and then failed
/// keeps its evidence, but its criterion is not PASS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_criterion_whose_flow_failed_is_never_pass() {
    const LOGIN: &str = "  - goto: /login
  - fill: { label: Email, value: \"{{ user.email }}\" }
  - click: { role: button, name: Send code }
  - expect: { role: heading, name: Enter your code }
  - mail: { to: requester, subject: Your sign-in code, otp: { var: code }, timeout: 3s }
";
    let dropped = format!(
        "id: a-dropped\ntitle: Mail dropped\nuser: requester\nsteps:\n{LOGIN}{}",
        "  - fill: { label: Code, value: \"{{ code }}\" }
  - mail: { to: requester, subject: Never sent, absent: true, within: 1s }
"
    );
    let then_fails = format!(
        "id: b-then-fails\ntitle: Mail arrives, then a step fails\nuser: requester\nsteps:\n{LOGIN}{}",
        "  - expect: { role: heading, name: No such heading, timeout: 1s }\n"
    );
    let suite = temp_suite(&[("a.yaml", &dropped), ("b.yaml", &then_fails)]);
    let app = helpdesk().await;
    fault(
        &app.url(),
        serde_json::json!({ "kind": "mail_drop", "email": "requester@helpdesk.test", "count": 1 }),
    )
    .await;
    let out = run_without_health_check(suite.path(), &app.url(), &[]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report =
        read_json(&run_dir(&suite.path().join("artifacts")).join("staging-run-report.json"));
    let criteria = report["criteria"].as_array().expect("criteria");
    let of = |flow: &str| -> Vec<&serde_json::Value> {
        criteria.iter().filter(|c| c["flow"] == flow).collect()
    };

    // The step that failed: its claim FAILED, the step (file:line, error) as evidence.
    let a = of("a-dropped");
    assert_eq!(a.len(), 2, "{criteria:#?}");
    assert_eq!(a[0]["verdict"], "FAILED", "{criteria:#?}");
    let name = a[0]["name"].as_str().unwrap_or_default();
    assert!(
        name.contains("mail to requester") && name.contains("Your sign-in code"),
        "{name}"
    );
    let evidence = a[0]["evidence"][0].as_str().unwrap_or_default();
    assert!(
        evidence.contains("step 5 (")
            && evidence.contains("a.yaml:9")
            && evidence.contains("no message"),
        "{evidence}"
    );
    // The claim after it was never reached.
    assert_eq!(a[1]["verdict"], "UNVERIFIED", "{criteria:#?}");
    assert!(a[1]["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("no mail to requester")));
    assert!(a[1]["note"]
        .as_str()
        .is_some_and(|n| n.contains("step 7 was not reached")));

    // Delivery was seen, but the flow failed afterwards: the evidence stays, the PASS does not.
    let b = of("b-then-fails");
    assert_eq!(b.len(), 1, "{criteria:#?}");
    assert_eq!(b[0]["verdict"], "UNVERIFIED", "{criteria:#?}");
    assert!(b[0]["evidence"][0]
        .as_str()
        .is_some_and(|e| e.contains("message")));
    assert!(b[0]["note"]
        .as_str()
        .is_some_and(|n| n.contains("failed afterwards") && n.contains("step 6")));

    assert!(
        !criteria
            .iter()
            .any(|c| c["verdict"] == "PASS" && c["flow"].is_string()),
        "{criteria:#?}"
    );
    assert_eq!(report["criteria_totals"]["failed"], 1);
    assert!(out.stdout.contains("1 FAILED"), "{}", out.all());
    app.shutdown().await;
}

/// A route delayed within its timeouts passes, but after a history of normal runs its step is
/// flagged slow in the terminal and the report, and no other step is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_route_is_flagged_slow_against_the_run_history() {
    let suite = temp_suite(&[(
        "s.yaml",
        "id: s\ntitle: Three requests\nsteps:
  - http: { url: /up, expect: { status: 200 } }
  - http: { url: /login, expect: { status: 200 }, timeout: 30s }
  - http: { url: /up, expect: { status: 200 } }
",
    )]);
    let app = helpdesk().await;
    let slow_steps = |out: &Output| -> Vec<bool> {
        let report =
            read_json(&run_dir(&suite.path().join("artifacts")).join("staging-run-report.json"));
        assert_eq!(report["flows"][0]["status"], "passed", "{}", out.all());
        report["flows"][0]["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s.get("slow").is_some_and(|v| v.is_object()))
            .collect()
    };
    // The history: three normal runs, none flagged (too few runs to judge, then normal).
    for _ in 0..3 {
        let out = run_without_health_check(suite.path(), &app.url(), &[]).await;
        assert_eq!(out.code, 0, "{}", out.all());
        assert_eq!(slow_steps(&out), [false, false, false]);
        assert!(!out.stdout.contains("slow:"), "{}", out.all());
        // One run directory per second at most: the next run must not reuse this one's.
        std::fs::remove_dir_all(run_dir(&suite.path().join("artifacts"))).expect("rm run");
    }
    fault(
        &app.url(),
        serde_json::json!({ "kind": "route_delay", "path": "/login", "ms": 2500, "count": 1 }),
    )
    .await;
    let out = run_without_health_check(suite.path(), &app.url(), &[]).await;
    assert_eq!(
        out.code,
        0,
        "a delay within the timeouts passes: {}",
        out.all()
    );
    assert_eq!(slow_steps(&out), [false, true, false], "{}", out.all());
    let report =
        read_json(&run_dir(&suite.path().join("artifacts")).join("staging-run-report.json"));
    assert_eq!(report["flows"][0]["steps"][1]["slow"]["runs"], 3);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("slow: step 2") && l.contains("its median is")),
        "{}",
        out.all()
    );
    app.shutdown().await;
}

/// `flows check` on a flow whose `each:` file is a FIFO: exit 2 at once (the FIFO is never
/// opened, so nothing blocks), located at the `each:` value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_each_fifo_is_a_located_check_error() {
    let suite = temp_suite(&[(
        "f.yaml",
        "id: f\ntitle: F\nuser: requester\neach: rows.fifo\nsteps:\n  - goto: /x?p={{ row.p }}\n",
    )]);
    let fifo = std::process::Command::new("mkfifo")
        .arg(suite.path().join("flows/rows.fifo"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["check"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    let all = out.all();
    assert!(all.contains("f.yaml:4:1"), "{all}");
    assert!(
        all.contains("is a FIFO (named pipe), not a regular file"),
        "{all}"
    );
    assert!(all.contains("^^^^^^^^^"), "{all}");
}

/// A bad value in flows.toml is shown where it is written (file:line:col, the line, a caret),
/// through the flow files' renderer: an unknown field, a string for a bool, a zero duration, an
/// unknown browser isolation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_errors_point_at_their_place_in_flows_toml() {
    for (name, table) in [
        (
            "config_unknown_field",
            "[browser]\nheadless = true\nheadles = false\n",
        ),
        ("config_string_for_a_bool", "[sessions]\nsave = \"yes\"\n"),
        (
            "config_zero_duration",
            "[timeouts]\nflow = \"2m\"\nstep = \"0s\"\n",
        ),
        (
            "config_unknown_isolation",
            "[browser]\nisolation = \"tabs\"\n",
        ),
    ] {
        let suite = temp_suite(&[("t.yaml", "id: t\ntitle: T\nsteps:\n  - goto: /\n")]);
        std::fs::write(
            suite.path().join("flows/flows.toml"),
            format!("[target]\nsecret_env = \"STAGING_E2E_SECRET\"\n\n{table}"),
        )
        .expect("write config");
        let out = FlowsCmd::new()
            .cwd(suite.path())
            .args(["check"])
            .output()
            .await;
        assert_eq!(out.code, 2, "{name}: {}", out.all());
        insta::assert_snapshot!(name, out.stderr);
    }
}
