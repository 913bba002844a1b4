//! Child processes the runner starts (chromedriver and its browsers, the web server).
//!
//! Each child is started in its own process group, so that stopping it also stops everything it
//! started (chromedriver's Chromium, a web server's workers). Stopping is SIGTERM to the group,
//! a short grace period, then SIGKILL; `Drop` kills the group too, so a panic or an early return
//! leaves nothing behind. On Linux each child also gets `PR_SET_PDEATHSIG(SIGKILL)`, and its
//! group is registered with [`super::orphans`], which kills it when the runner itself dies
//! (SIGKILL cannot be caught).
//!
//! A task waits on each child, so its exit is known the moment it happens: an exit that nobody
//! asked for (the driver or the web server died mid-run) is published on
//! [`unexpected_exits`], which the executor watches.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::watch;

use super::signal::{group_alive, signal_group, Signal};

/// How a child ended: `chromedriver (pid 42) exited (signal 9)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildExit {
    pub name: String,
    pub pid: u32,
    /// `exited with status 1`, `exited (signal 9)`.
    pub how: String,
}

impl std::fmt::Display for ChildExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {}) {}", self.name, self.pid, self.how)
    }
}

/// `exited with status N` or `exited (signal N)`.
fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("exited (signal {sig})");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "exited".to_owned(),
    }
}

/// Exits of children that were not being stopped, in the order they happened (process-wide:
/// a process runs one run).
pub fn unexpected_exits() -> watch::Receiver<Vec<ChildExit>> {
    exits_channel().subscribe()
}

fn exits_channel() -> &'static watch::Sender<Vec<ChildExit>> {
    static EXITS: OnceLock<watch::Sender<Vec<ChildExit>>> = OnceLock::new();
    EXITS.get_or_init(|| watch::channel(Vec::new()).0)
}

/// A running child process that owns its process group.
pub struct ManagedChild {
    pub name: String,
    pid: Option<u32>,
    pgid: Option<i32>,
    /// Set by the waiting task when the child has exited.
    exit: watch::Receiver<Option<ChildExit>>,
    /// Set before a stop, so that exit is not reported as unexpected.
    stopping: Arc<AtomicBool>,
}

impl ManagedChild {
    /// Spawns `program args…` in a new process group with stdout/stderr appended to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        cwd: Option<&Path>,
        env: &[(String, String)],
        log: Option<&Path>,
    ) -> std::io::Result<ManagedChild> {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Marks the child (and what it starts) as this run's, for the sweep of a dead run.
        if let Some((k, v)) = super::orphans::marker() {
            cmd.env(k, v);
        }
        let (out, err) = match log {
            Some(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                (Stdio::from(f.try_clone()?), Stdio::from(f))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        cmd.stdout(out);
        cmd.stderr(err);
        cmd.process_group(0);
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn()?;
        let pid = child.id();
        let pgid = pid.and_then(|id| i32::try_from(id).ok());
        if let Some(pgid) = pgid {
            super::orphans::register(pgid, name);
        }
        let (tx, exit) = watch::channel(None);
        let stopping = Arc::new(AtomicBool::new(false));
        let (watch_name, watch_stopping) = (name.to_owned(), stopping.clone());
        tokio::spawn(async move {
            let Ok(status) = child.wait().await else {
                return;
            };
            let end = ChildExit {
                name: watch_name,
                pid: pid.unwrap_or_default(),
                how: describe_exit(status),
            };
            if !watch_stopping.load(Ordering::SeqCst) {
                tracing::warn!("{end}");
                exits_channel().send_modify(|all| all.push(end.clone()));
            }
            let _ = tx.send(Some(end));
        });
        Ok(ManagedChild {
            name: name.to_owned(),
            pid,
            pgid,
            exit,
            stopping,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Has the process exited? How, if so.
    pub fn exited(&self) -> Option<ChildExit> {
        self.exit.borrow().clone()
    }

    /// SIGTERM to the group, wait up to `grace`, then SIGKILL the group.
    pub async fn stop(&mut self, grace: Duration) {
        let Some(pgid) = self.pgid.take() else {
            return;
        };
        self.stopping.store(true, Ordering::SeqCst);
        signal_group(pgid, Signal::Term);
        let mut exit = self.exit.clone();
        if tokio::time::timeout(grace, exit.wait_for(Option::is_some))
            .await
            .is_err()
        {
            tracing::debug!(name = %self.name, "did not stop after SIGTERM; killing");
        }
        // Kill the rest of the group even if the leader exited (its children may not have).
        signal_group(pgid, Signal::Kill);
        // A killed process lives on until the kernel gets to it, which under load is not at
        // once: "stopped" means gone, so the caller (and the user's next command) never sees a
        // browser of this run.
        wait_until_group_gone(pgid, Duration::from_secs(3)).await;
        super::orphans::unregister(pgid);
    }
}

/// Linux: the child gets SIGKILL when the runner dies, however it dies.
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "pre_exec is unsafe; the workspace's only unsafe block (see SAFETY below)"
)]
fn die_with_parent(cmd: &mut Command) {
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs between fork and exec, where only async-signal-safe calls are
    // allowed: it makes two raw syscalls (prctl, getppid) through rustix, no allocation, no
    // locks.
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            // The runner died between fork and prctl: the signal will never come.
            if rustix::process::getppid() != Some(parent) {
                return Err(std::io::Error::other("the runner exited"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Waits until no live process (zombies do not count) is in process group `pgid`, or `limit`.
async fn wait_until_group_gone(pgid: i32, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while group_alive(pgid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl Drop for ManagedChild {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            self.stopping.store(true, Ordering::SeqCst);
            signal_group(pgid, Signal::Kill);
            super::orphans::unregister(pgid);
        }
    }
}

/// Finds an executable: a path with a separator is taken as is; a bare name is looked up on
/// PATH.
pub fn find_executable(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A free TCP port on 127.0.0.1 (bound then released; the small race is acceptable for
/// children that bind it right away).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child that started children of its own (as chromedriver starts Chromium): when `stop`
    /// returns, nothing of its group is alive.
    #[tokio::test]
    async fn stop_returns_when_the_whole_group_is_gone() {
        let sh = find_executable("sh").expect("sh on PATH");
        let mut child = ManagedChild::spawn(
            "test",
            &sh,
            &["-c".to_owned(), "sleep 300 & sleep 300 & wait".to_owned()],
            None,
            &[],
            None,
        )
        .expect("spawn");
        let pgid = child.pgid.expect("a process group");
        assert!(group_alive(pgid));
        child.stop(Duration::from_millis(500)).await;
        assert!(!group_alive(pgid), "a process of the group outlived stop");
    }
}
