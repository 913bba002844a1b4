//! Room for a run's artifacts: the artifacts dir (or the nearest folder above it that exists,
//! where the run would create it) is writable and has space for screenshots and traces.

use std::path::{Path, PathBuf};

use super::{Area, CheckLine};

/// Below this a run with traces and failure screenshots may fill the disk halfway through
/// (the run then ends `aborted: artifacts incomplete`).
const MIN_FREE_BYTES: u64 = 500 * 1024 * 1024;

pub(super) fn check(output_root: &Path) -> CheckLine {
    let Some(existing) = nearest_existing(output_root) else {
        return CheckLine::fail(
            "disk",
            Area::Infrastructure,
            format!("no folder of {} exists", output_root.display()),
            "set [artifacts] dir (or --output) to a folder on a mounted disk",
        );
    };
    if let Err(e) = tempfile::tempfile_in(&existing) {
        return CheckLine::fail(
            "disk",
            Area::Infrastructure,
            format!("cannot write in {}: {e}", existing.display()),
            "make the artifacts dir writable for this user, or set [artifacts] dir / --output elsewhere",
        );
    }
    match rustix::fs::statvfs(&existing) {
        Ok(st) => {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            let shown = format!(
                "{} free for {}",
                crate::human::size(free),
                output_root.display()
            );
            if free < MIN_FREE_BYTES {
                CheckLine::fail(
                    "disk",
                    Area::Infrastructure,
                    format!("{shown} (a run with traces may need {})", crate::human::size(MIN_FREE_BYTES)),
                    "free some space (old runs under the artifacts dir), or set [artifacts] dir / --output on a larger disk",
                )
            } else {
                CheckLine::pass("disk", Area::Infrastructure, shown)
            }
        }
        Err(e) => CheckLine::fail(
            "disk",
            Area::Infrastructure,
            format!("cannot read the free space of {}: {e}", existing.display()),
            "set [artifacts] dir / --output to a folder on a local disk",
        ),
    }
}

/// `path` or its nearest ancestor that exists (a relative path's ancestors end at `.`).
fn nearest_existing(path: &Path) -> Option<PathBuf> {
    let mut p = path.to_path_buf();
    loop {
        if p.is_dir() {
            return Some(p);
        }
        if !p.pop() || p.as_os_str().is_empty() {
            return Path::new(".").is_dir().then(|| PathBuf::from("."));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_artifacts_dir_not_made_yet_is_judged_by_the_folder_it_would_go_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let later = dir.path().join("artifacts/nightly");
        assert_eq!(nearest_existing(&later).as_deref(), Some(dir.path()));
        let line = check(&later);
        // A temp dir on this machine has room for a run; the line names the configured dir.
        assert!(line.detail.contains("artifacts/nightly"), "{line:?}");
    }
}
