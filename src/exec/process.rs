//! Child processes the runner starts (chromedriver and its browsers, the web server).
//!
//! Each child is started in its own process group, so that stopping it also stops everything it
//! started (chromedriver's Chromium, a web server's workers). Stopping is SIGTERM to the group,
//! a short grace period, then SIGKILL; `Drop` kills the group too, so a panic or an early return
//! leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A running child process that owns its process group.
pub struct ManagedChild {
    pub name: String,
    child: Option<Child>,
    pgid: Option<i32>,
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
        piped_stdout: bool,
    ) -> std::io::Result<ManagedChild> {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        for (k, v) in env {
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
        cmd.stdout(if piped_stdout { Stdio::piped() } else { out });
        cmd.stderr(err);
        cmd.process_group(0);
        let child = cmd.spawn()?;
        let pgid = child.id().and_then(|id| i32::try_from(id).ok());
        Ok(ManagedChild {
            name: name.to_owned(),
            child: Some(child),
            pgid,
        })
    }

    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Has the process exited? Returns its status description if so.
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// SIGTERM to the group, wait up to `grace`, then SIGKILL the group.
    pub async fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pgid) = self.pgid {
            signal_group(pgid, Signal::Term);
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            tracing::debug!(name = %self.name, "did not stop after SIGTERM; killing");
        }
        // Kill the rest of the group even if the leader exited (its children may not have).
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, Signal::Kill);
            let _ = child.kill().await;
            // A killed process lives on until the kernel gets to it, which under load is not
            // at once: "stopped" means gone, so the caller (and the user's next command) never
            // sees a browser of this run.
            wait_until_group_gone(pgid, Duration::from_secs(3)).await;
        } else {
            let _ = child.kill().await;
        }
    }
}

/// Waits until no live process (zombies do not count) is in process group `pgid`, or `limit`.
async fn wait_until_group_gone(pgid: i32, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while group_alive(pgid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether a live process is in process group `pgid` (Linux `/proc`; elsewhere: false).
fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        e.file_name().to_string_lossy().parse::<u32>().is_ok()
            && std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|stat| stat_state_and_group(&stat))
                .is_some_and(|(state, group)| group == pgid && state != 'Z' && state != 'X')
    })
}

/// State and process group from a `/proc/PID/stat` line: `pid (comm) state ppid pgrp …`;
/// `comm` may hold spaces and parentheses, so fields are counted after its last `)`.
fn stat_state_and_group(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((state, group))
}

impl Drop for ManagedChild {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, Signal::Kill);
        }
    }
}

#[derive(Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

fn signal_group(pgid: i32, signal: Signal) {
    // `kill -SIG -PGID` through /bin/kill keeps this crate free of unsafe libc calls.
    let sig = match signal {
        Signal::Term => "-TERM",
        Signal::Kill => "-KILL",
    };
    let _ = std::process::Command::new("kill")
        .arg(sig)
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
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

    #[test]
    fn stat_lines_give_state_and_group_even_with_odd_names() {
        assert_eq!(
            stat_state_and_group("4242 (chromium) S 4200 4100 4100 0 -1"),
            Some(('S', 4100))
        );
        assert_eq!(
            stat_state_and_group("7 (a (b) c) Z 1 99 99 0"),
            Some(('Z', 99))
        );
        assert_eq!(stat_state_and_group("garbage"), None);
    }

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
            false,
        )
        .expect("spawn");
        let pgid = child.pgid.expect("a process group");
        assert!(group_alive(pgid));
        child.stop(Duration::from_millis(500)).await;
        assert!(!group_alive(pgid), "a process of the group outlived stop");
    }
}
