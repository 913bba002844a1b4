//! Atomic artifact writes: a file is either absent or complete, never half-written.
//!
//! Every report, screenshot and trace goes through here: write to a temp file in the same
//! directory, fsync, then rename over the target. A write that fails leaves no temp file, and
//! the first failure of a run is remembered ([`first_failure`]) so that the run can go on
//! without that artifact and still say, at the end, that its artifacts are incomplete. Space for
//! the report itself is set aside at the start ([`reserve`]) and given back if the disk fills.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The first failed write of this process, as `disk full at <path>` or `<error> at <path>`.
static FIRST_FAILURE: Mutex<Option<String>> = Mutex::new(None);
/// The file holding space for the report (see [`reserve`]).
static RESERVE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The first artifact write that failed in this process, in words.
pub fn first_failure() -> Option<String> {
    FIRST_FAILURE.lock().ok().and_then(|f| f.clone())
}

/// Remembers that writing `path` failed (the first failure only).
pub fn note_failure(path: &Path, error: &std::io::Error) {
    let what = if is_disk_full(error) {
        format!("disk full at {}", path.display())
    } else {
        format!("{error} at {}", path.display())
    };
    if let Ok(mut first) = FIRST_FAILURE.lock() {
        if first.is_none() {
            tracing::warn!("artifact not written: {what}; the run goes on without it");
            *first = Some(what);
        } else {
            tracing::debug!("artifact not written: {what}");
        }
    }
}

/// No space left (ENOSPC), over quota (EDQUOT) or over the file-size limit (EFBIG).
pub fn is_disk_full(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::FileTooLarge
        || matches!(error.raw_os_error(), Some(27 | 28 | 122))
}

/// Sets aside `bytes` of real disk blocks in `dir` (a hidden file of zeros), so the report can
/// still be written when the disk fills during the run: [`write_atomic_reserved`] frees it.
pub fn reserve(dir: &Path, bytes: usize) {
    let path = dir.join(".flows-reserve");
    // Zeros, not `set_len`: a sparse file reserves nothing.
    match std::fs::write(&path, vec![0u8; bytes]) {
        Ok(()) => {
            if let Ok(mut r) = RESERVE.lock() {
                *r = Some(path);
            }
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            tracing::warn!(
                "cannot set space aside for the report in {}: {e}",
                dir.display()
            );
        }
    }
}

/// Gives the reserved space back (at the end of a run, or when the disk is full).
pub fn release_reserve() {
    if let Some(path) = RESERVE.lock().ok().and_then(|mut r| r.take()) {
        let _ = std::fs::remove_file(path);
    }
}

/// [`write_atomic`] for the report: when the disk is full, the reserved space is given back
/// and the write tried once more.
pub fn write_atomic_reserved(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match write_atomic(path, bytes) {
        Err(e) if is_disk_full(&e) && RESERVE.lock().is_ok_and(|r| r.is_some()) => {
            release_reserve();
            write_atomic(path, bytes)
        }
        other => other,
    }
}

/// Writes `bytes` to `path` atomically, creating parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, None)
}

/// Like [`write_atomic`], but the file is readable and writable by its owner only (mode 0600 on
/// Unix) from the moment its temp file exists: for secrets such as saved browser sessions.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, Some(0o600))
}

fn write_atomic_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    write_via_temp(path, mode, |f| {
        f.write_all(bytes)?;
        f.sync_all()
    })
}

/// Like [`write_atomic`] (readers see the whole file or none) but without waiting for the disk:
/// for transient parts a run folds into another artifact (trace snapshots and frames), whose
/// fsync per step would cost the traced run more than its budget.
pub fn write_transient(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_via_temp(path, None, |f| f.write_all(bytes))
}

/// Creates the parent directories, lets `write` fill a uniquely named temp file beside `path`
/// (tempfile: two writers of one path, in threads or processes, never share one), and renames
/// it over `path`; the temp file is removed when anything fails. The temp file is created
/// owner-only; `mode` is what the artifact gets (default: 0644, readable by all).
fn write_via_temp(
    path: &Path,
    mode: Option<u32>,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let result = (|| {
        std::fs::create_dir_all(dir)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "artifact".to_owned());
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".tmp")
            .tempfile_in(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = mode.unwrap_or(0o644);
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        write(tmp.as_file_mut())?;
        tmp.persist(path).map(drop).map_err(|e| e.error)
    })();
    if let Err(e) = &result {
        note_failure(path, e);
    }
    result
}

/// Serializes `value` as pretty JSON and writes it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("nested/report.json");
        write_atomic(&target, b"first").expect("write");
        write_atomic(&target, b"second").expect("overwrite");
        assert_eq!(std::fs::read(&target).expect("read"), b"second");
        let names: Vec<_> = std::fs::read_dir(target.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("secret.json");
        write_atomic_private(&target, b"{}").expect("write");
        let mode = std::fs::metadata(&target)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
