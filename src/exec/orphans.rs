//! What a run leaves behind if it dies: making sure it is nothing.
//!
//! SIGKILL (or a crash) cannot be caught, and `PR_SET_PDEATHSIG` (set on every child by
//! [`super::process`]) reaches only the direct child: chromedriver dies with the runner, the
//! Chromium it started would not. So a run also keeps:
//!
//! - **a watchman**: a small `sh` in its own process group (immune to the terminal's signals)
//!   that reads `+PGID` / `-PGID` lines from a pipe whose only writer is the runner. When the
//!   runner is gone, however it went, the pipe closes and the watchman SIGKILLs every group still
//!   listed, then exits;
//! - **a run file**, `<state dir>/running/<pid>.json`, naming the runner (pid + start time) and
//!   its children's process groups. If the watchman was killed too, the next `flows run` finds
//!   the file of a runner that is no longer alive and [`sweep`]s: it kills the groups that are
//!   still this run's (the group leader has the recorded start time, or a member still carries
//!   the run's marker in its environment), never someone else's that reused the number.
//!
//! Both are process-wide, as process groups and the runner's death are; a process runs one run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use super::signal::{signal_group, stat_state_and_group, Signal};

/// The environment variable that marks every child of a run (value: `<run id>:<runner pid>`).
pub const MARKER_VAR: &str = "FLOWS_RUN_MARK";

/// The shell program of the watchman: collects groups, and kills those still listed when its
/// stdin (the runner's end of the pipe) closes. `$0` names it in `ps`.
const WATCHMAN: &str = r#"trap '' HUP INT TERM QUIT PIPE
groups=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups${line#+} " ;;
    -*) keep=' '; for g in $groups; do [ "$g" = "${line#-}" ] || keep="$keep$g "; done; groups=$keep ;;
  esac
done
for g in $groups; do kill -9 "-$g" 2>/dev/null; done
exit 0"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunFile {
    run_id: String,
    pid: u32,
    /// The runner's start time (`/proc/PID/stat` field 22, clock ticks since boot), so a
    /// recycled pid is not taken for the runner.
    start_ticks: u64,
    marker: String,
    /// Process group → what it is (`chromedriver`, `web-server`) and its leader's start time.
    groups: BTreeMap<i32, Group>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    name: String,
    start_ticks: Option<u64>,
}

struct Tracker {
    file: PathBuf,
    run: RunFile,
    watchman: Option<(Child, ChildStdin)>,
}

fn tracker() -> &'static Mutex<Option<Tracker>> {
    static TRACKER: OnceLock<Mutex<Option<Tracker>>> = OnceLock::new();
    TRACKER.get_or_init(|| Mutex::new(None))
}

/// Keeps the run's children tracked until dropped (at the end of `flows run`): then the run
/// file is removed and the watchman told to leave.
pub struct RunTracking(());

/// Starts tracking the children of run `run_id`: the run file under `state_dir/running/` and
/// the watchman. Failures only lose this safety net, so they are logged, not fatal.
pub fn begin_run(state_dir: &Path, run_id: &str) -> RunTracking {
    let pid = std::process::id();
    let run = RunFile {
        run_id: run_id.to_owned(),
        pid,
        start_ticks: start_ticks(pid).unwrap_or_default(),
        marker: format!("{run_id}:{pid}"),
        groups: BTreeMap::new(),
    };
    let file = state_dir.join("running").join(format!("{pid}.json"));
    let watchman = match start_watchman() {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(
                "cannot start the watchman that kills this run's children if it dies: {e}"
            );
            None
        }
    };
    let t = Tracker {
        file,
        run,
        watchman,
    };
    save(&t);
    if let Ok(mut slot) = tracker().lock() {
        *slot = Some(t);
    }
    RunTracking(())
}

impl Drop for RunTracking {
    fn drop(&mut self) {
        let Some(t) = tracker().lock().ok().and_then(|mut slot| slot.take()) else {
            return;
        };
        let _ = std::fs::remove_file(&t.file);
        if let Some((mut child, stdin)) = t.watchman {
            // Closing the pipe ends it; every group was unregistered when it stopped.
            drop(stdin);
            let _ = child.wait();
        }
    }
}

fn start_watchman() -> std::io::Result<(Child, ChildStdin)> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sh")
        .args(["-c", WATCHMAN, "flows-watchman"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no pipe to the watchman"))?;
    Ok((child, stdin))
}

/// `(MARKER_VAR, value)` for the children of the tracked run, if one is tracked.
pub(super) fn marker() -> Option<(&'static str, String)> {
    let slot = tracker().lock().ok()?;
    slot.as_ref().map(|t| (MARKER_VAR, t.run.marker.clone()))
}

/// A child's process group now exists: the watchman and the run file know it.
pub(super) fn register(pgid: i32, name: &str) {
    update(|t| {
        t.run.groups.insert(
            pgid,
            Group {
                name: name.to_owned(),
                start_ticks: u32::try_from(pgid).ok().and_then(start_ticks),
            },
        );
        tell_watchman(t, &format!("+{pgid}\n"));
    });
}

/// A child's process group is gone (stopped by the runner).
pub(super) fn unregister(pgid: i32) {
    update(|t| {
        if t.run.groups.remove(&pgid).is_some() {
            tell_watchman(t, &format!("-{pgid}\n"));
        }
    });
}

fn update(f: impl FnOnce(&mut Tracker)) {
    let Ok(mut slot) = tracker().lock() else {
        return;
    };
    if let Some(t) = slot.as_mut() {
        f(t);
        save(t);
    }
}

fn tell_watchman(t: &mut Tracker, line: &str) {
    if let Some((_, stdin)) = t.watchman.as_mut() {
        if let Err(e) = stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
        {
            tracing::warn!("the watchman of this run's children is gone: {e}");
            t.watchman = None;
        }
    }
}

fn save(t: &Tracker) {
    match serde_json::to_vec_pretty(&t.run) {
        Ok(bytes) => {
            // Not through `artifact`: a failure here is not an artifact of the run.
            let written = t
                .file
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&t.file, &bytes));
            if let Err(e) = written {
                tracing::warn!("cannot write {}: {e}", t.file.display());
            }
        }
        Err(e) => tracing::warn!("cannot encode the run file: {e}"),
    }
}

/// Kills what runs that died left behind (their run files under `state_dir/running/`), and
/// removes their files. Returns one line per run swept, for the user.
pub fn sweep(state_dir: &Path) -> Vec<String> {
    let dir = state_dir.join("running");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut said = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Ok(run) = std::fs::read(&path)
            .map_err(|_| ())
            .and_then(|b| serde_json::from_slice::<RunFile>(&b).map_err(|_| ()))
        else {
            continue;
        };
        if run.pid == std::process::id() || start_ticks(run.pid) == Some(run.start_ticks) {
            continue; // that runner is alive
        }
        let mut killed = Vec::new();
        for (&pgid, group) in &run.groups {
            if still_ours(pgid, group, &run.marker) {
                signal_group(pgid, Signal::Kill);
                killed.push(format!("{} (process group {pgid})", group.name));
            }
        }
        let _ = std::fs::remove_file(&path);
        if !killed.is_empty() {
            said.push(format!(
                "stopped what run {} (pid {}, no longer running) left behind: {}",
                run.run_id,
                run.pid,
                killed.join(", ")
            ));
        }
    }
    said
}

/// Whether process group `pgid` is still the one a dead run recorded: its leader is alive with
/// the recorded start time, or a live member carries the run's marker.
fn still_ours(pgid: i32, group: &Group, marker: &str) -> bool {
    let Ok(leader) = u32::try_from(pgid) else {
        return false;
    };
    if group.start_ticks.is_some() && start_ticks(leader) == group.start_ticks {
        return true;
    }
    let needle = format!("{MARKER_VAR}={marker}");
    group_members(pgid).into_iter().any(|pid| {
        std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == needle.as_bytes()))
    })
}

/// Live processes of group `pgid`.
fn group_members(pgid: i32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| stat_state_and_group(&s))
                .is_some_and(|(state, g)| g == pgid && state != 'Z' && state != 'X')
        })
        .collect()
}

/// A process's start time in clock ticks since boot (`/proc/PID/stat` field 22).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields after `comm`: state is field 3, so start time (22) is the 20th here.
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_ticks_of_this_process_is_stable() {
        let me = std::process::id();
        let t = start_ticks(me).expect("own start time");
        assert_eq!(start_ticks(me), Some(t));
        assert_eq!(start_ticks(u32::MAX), None);
    }

    /// A run file of a dead runner whose group leader is alive with the recorded start time:
    /// the sweep kills the group and removes the file; a file of a live runner is kept.
    #[test]
    fn sweep_kills_groups_of_dead_runs_only() {
        use std::os::unix::process::CommandExt;
        let state = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new("sh")
            .args(["-c", "sleep 300 & wait"])
            .process_group(0)
            .spawn()
            .expect("spawn");
        let pgid = i32::try_from(child.id()).expect("pid fits");
        let group = Group {
            name: "web-server".into(),
            start_ticks: start_ticks(child.id()),
        };
        let running = state.path().join("running");
        std::fs::create_dir_all(&running).expect("dir");
        let dead = RunFile {
            run_id: "r1".into(),
            pid: u32::MAX, // no such process
            start_ticks: 1,
            marker: "r1:0".into(),
            groups: BTreeMap::from([(pgid, group.clone())]),
        };
        let alive = RunFile {
            run_id: "r2".into(),
            pid: std::process::id(),
            start_ticks: start_ticks(std::process::id()).unwrap_or_default(),
            marker: "r2:0".into(),
            groups: BTreeMap::from([(pgid, group)]),
        };
        std::fs::write(
            running.join("1.json"),
            serde_json::to_vec(&dead).expect("json"),
        )
        .expect("write");
        std::fs::write(
            running.join("2.json"),
            serde_json::to_vec(&alive).expect("json"),
        )
        .expect("write");
        let said = sweep(state.path());
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("web-server (process group"), "{said:?}");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "the group leader was killed");
        assert!(!running.join("1.json").exists());
        assert!(
            running.join("2.json").exists(),
            "a live runner's file stays"
        );
    }

    #[test]
    fn a_recycled_group_number_is_left_alone() {
        let group = Group {
            name: "chromedriver".into(),
            start_ticks: Some(1), // not this process's start time
        };
        let me = i32::try_from(std::process::id()).expect("pid fits");
        assert!(!still_ours(me, &group, "no-such-run:1"));
    }
}
