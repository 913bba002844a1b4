//! Test help: running code without root's power to read any file, so that a `chmod 000` file
//! or directory is unreadable even when the tests run as root (as they do in CI).

/// Runs `f` on a thread of its own without `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH`.
/// Capabilities belong to a thread: the rest of the test binary keeps them.
pub(crate) fn without_root_file_access<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet};
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut caps = capabilities(None).expect("capget");
            caps.effective -= CapabilitySet::DAC_OVERRIDE | CapabilitySet::DAC_READ_SEARCH;
            set_capabilities(None, caps).expect("capset");
            f()
        })
        .join()
        .expect("thread")
    })
}

/// Sets a file's or directory's mode (`0o000`: unreadable without root's capabilities).
pub(crate) fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
