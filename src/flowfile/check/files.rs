//! Finding the flow and step group files in a directory (which entries count, and which are
//! errors rather than skipped), and how an I/O error is worded in a message.
//!
//! A leaf of `check/`.

use std::path::PathBuf;

use crate::flowfile::diagnostic::Diagnostic;

/// The entries of a directory that are flow (or step group) files: every name ending in `.yaml`
/// or `.yml`, in any case, that does not start with a dot, sorted. Such an entry that is not a
/// regular file (a directory, a FIFO, a device, a symlink to nothing) is an error, never skipped:
/// a flow must not drop out of the gate unnoticed, and a FIFO would block the read forever.
pub(super) fn yaml_entries(
    entries: std::fs::ReadDir,
    what: &str,
) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut paths = Vec::new();
    let mut diags = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if hidden || !yaml {
            continue;
        }
        // `metadata` follows symlinks: a link to a flow elsewhere is that flow.
        let problem = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => None,
            Ok(m) if m.is_dir() => Some(format!("this {what} file is a directory")),
            Ok(_) => Some(format!(
                "this {what} file is not a regular file (a FIFO, socket or device)"
            )),
            Err(e) if path.is_symlink() => Some(format!(
                "this {what} file is a symlink to nothing ({})",
                io_words(&e)
            )),
            Err(e) => Some(format!("cannot read this {what} file: {}", io_words(&e))),
        };
        match problem {
            None => paths.push(path),
            Some(message) => diags.push(Diagnostic::new(&path, message).hint(format!(
                "every `*.yaml` / `*.yml` entry (any case) here is read as a {what}: make it a \
                 file, or rename it (e.g. to a name starting with `.`) to leave it out"
            ))),
        }
    }
    paths.sort();
    (paths, diags)
}

pub(super) fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
        _ => e.to_string().to_lowercase(),
    }
}
