//! The npm clients some tests hold the runner to (MailDev, pusher-js, eventsource), installed on
//! first use so that `cargo nextest run` is the whole set-up: `npm ci --prefer-offline` in the
//! client's folder, once, under a file lock so that parallel test processes do not race. A stamp
//! in `node_modules/` records the SHA-256 of the `package-lock.json` it was installed from, so a
//! changed lock file installs again.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::support::repo_root;

const STAMP: &str = ".flows-installed-from";

/// Makes sure the npm packages of `tests/<folder>` are installed and returns that folder.
/// Panics (the test fails) with the command to run when npm is missing or `npm ci` fails.
pub fn installed(folder: &str) -> PathBuf {
    let dir = repo_root().join("tests").join(folder);
    let want = lock_digest(&dir);
    if stamp(&dir).as_deref() == Some(want.as_str()) {
        return dir;
    }
    // One installer at a time; the others wait here and then find the stamp.
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".npm-install.lock"))
        .unwrap_or_else(|e| panic!("cannot open the install lock in {}: {e}", dir.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", dir.display()));
    if stamp(&dir).as_deref() != Some(want.as_str()) {
        npm_ci("npm", &dir, folder);
        std::fs::write(dir.join("node_modules").join(STAMP), &want)
            .unwrap_or_else(|e| panic!("cannot write the install stamp in {}: {e}", dir.display()));
    }
    drop::<File>(lock);
    dir
}

fn npm_ci(npm: &str, dir: &Path, folder: &str) {
    let command = format!("npm ci --prefer-offline --prefix tests/{folder}");
    let out = Command::new(npm)
        .args([
            "ci",
            "--prefer-offline",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(dir)
        // MailDev and the bench's Playwright never need a browser of their own.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .output();
    match out {
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "npm is not installed, and this test needs the npm packages of tests/{folder}: \
             install Node.js >= 20 with npm (Debian: apt-get install -y nodejs npm), then run \
             the tests again (they run `{command}` themselves)"
        ),
        Err(e) => panic!("`{command}` could not start: {e}"),
        Ok(out) if !out.status.success() => panic!(
            "`{command}` failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(_) => {}
    }
}

fn lock_digest(dir: &Path) -> String {
    let lock = std::fs::read(dir.join("package-lock.json"))
        .unwrap_or_else(|e| panic!("{}/package-lock.json: {e}", dir.display()));
    format!("{:x}", Sha256::digest(&lock))
}

fn stamp(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("node_modules").join(STAMP)).ok()
}

#[test]
fn the_realtime_clients_are_installed_on_first_use() {
    let dir = installed("realtime-clients");
    for package in ["pusher-js", "eventsource"] {
        assert!(
            dir.join("node_modules")
                .join(package)
                .join("package.json")
                .is_file(),
            "{package} is not installed in {}",
            dir.display()
        );
    }
    assert_eq!(stamp(&dir), Some(lock_digest(&dir)));
}

#[test]
fn a_missing_npm_is_named_with_what_to_install_and_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let panic = std::panic::catch_unwind(|| npm_ci("/nonexistent/npm", dir.path(), "maildev"))
        .expect_err("no npm: the install fails");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with("npm is not installed")
            && message.contains("Node.js >= 20")
            && message.contains("`npm ci --prefer-offline --prefix tests/maildev`"),
        "{message}"
    );
}
