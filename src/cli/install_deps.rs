//! `flows install-deps`: the browser and driver from the system's package manager, as
//! Playwright's `install-deps` does; never a browser downloaded from anywhere else. Debian or
//! Ubuntu as root: `apt-get install -y chromium chromium-driver` (+ `firefox-esr`); otherwise
//! the exact command to run, and a non-zero exit.

use std::process::Command;

use clap::Args;

use crate::exec::process::find_executable;
use crate::exit_code;

#[derive(Debug, Args, Clone)]
pub struct InstallDepsArgs {
    /// Also install Firefox ESR (geckodriver is not in apt: `cargo install geckodriver`).
    #[arg(long)]
    pub firefox: bool,
    /// Print the commands that would run, run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// What install-deps does on this machine.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Run these commands (root, with apt).
    Run(Vec<Vec<String>>),
    /// Cannot run them here: say why and what to run instead.
    Refuse { why: String, instead: String },
}

/// The apt packages: the driver package is built from the same Chromium source, so its major
/// version always matches the browser's.
fn packages(firefox: bool) -> Vec<String> {
    let mut p = vec!["chromium".to_owned(), "chromium-driver".to_owned()];
    if firefox {
        p.push("firefox-esr".to_owned());
    }
    p
}

fn apt_commands(firefox: bool) -> Vec<Vec<String>> {
    let mut install = vec!["apt-get".to_owned(), "install".to_owned(), "-y".to_owned()];
    install.extend(packages(firefox));
    vec![vec!["apt-get".to_owned(), "update".to_owned()], install]
}

fn shell_line(commands: &[Vec<String>], sudo: bool) -> String {
    commands
        .iter()
        .map(|c| {
            let line = c.join(" ");
            if sudo {
                format!("sudo {line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

fn plan(root: bool, apt: bool, firefox: bool) -> Plan {
    let commands = apt_commands(firefox);
    match (apt, root) {
        (true, true) => Plan::Run(commands),
        (true, false) => Plan::Refuse {
            why: "installing packages needs root, and this user is not root".to_owned(),
            instead: shell_line(&commands, true),
        },
        (false, _) => Plan::Refuse {
            why: "this is not Debian or Ubuntu (no apt-get): flows installs only with apt".to_owned(),
            instead: format!(
                "install {} with your system's package manager, a chromedriver of the browser's own major version (Fedora: dnf install chromium chromedriver; macOS: brew install --cask chromium chromedriver); then `flows doctor`",
                if firefox { "Chromium and Firefox" } else { "Chromium" }
            ),
        },
    }
}

fn is_debian_like() -> bool {
    find_executable("apt-get").is_some()
        && std::fs::read_to_string("/etc/os-release").is_ok_and(|t| {
            t.lines().any(|l| {
                (l.starts_with("ID=") || l.starts_with("ID_LIKE="))
                    && (l.contains("debian") || l.contains("ubuntu"))
            })
        })
}

pub(super) fn install_deps(args: &InstallDepsArgs) -> u8 {
    let root = rustix::process::geteuid().is_root();
    let plan = plan(root, is_debian_like(), args.firefox);
    if args.firefox {
        eprintln!(
            "note: geckodriver is not packaged by apt; install it with `cargo install geckodriver`"
        );
    }
    match plan {
        Plan::Run(commands) if args.dry_run => {
            println!("would run: {}", shell_line(&commands, false));
            exit_code::SUCCESS
        }
        Plan::Run(commands) => {
            for c in &commands {
                eprintln!("running: {}", c.join(" "));
                let status = Command::new(&c[0])
                    .args(&c[1..])
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .status();
                match status {
                    Ok(s) if s.success() => {}
                    Ok(s) => {
                        eprintln!("error: `{}` failed ({s})", c.join(" "));
                        return exit_code::INFRASTRUCTURE;
                    }
                    Err(e) => {
                        eprintln!("error: cannot run `{}`: {e}", c.join(" "));
                        return exit_code::INFRASTRUCTURE;
                    }
                }
            }
            println!(
                "installed: {}; check them with `flows doctor`",
                packages(args.firefox).join(", ")
            );
            exit_code::SUCCESS
        }
        Plan::Refuse { why, instead } => {
            if args.dry_run {
                println!("would not run anything: {why}");
                println!("run instead: {instead}");
            } else {
                eprintln!("error: {why}\n  = run instead: {instead}");
            }
            exit_code::INFRASTRUCTURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_with_apt_runs_apt_and_others_are_told_the_exact_command() {
        assert_eq!(
            plan(true, true, false),
            Plan::Run(vec![
                vec!["apt-get".into(), "update".into()],
                vec![
                    "apt-get".into(),
                    "install".into(),
                    "-y".into(),
                    "chromium".into(),
                    "chromium-driver".into()
                ],
            ])
        );
        match plan(false, true, true) {
            Plan::Refuse { instead, .. } => assert_eq!(
                instead,
                "sudo apt-get update && sudo apt-get install -y chromium chromium-driver firefox-esr"
            ),
            other => panic!("not refused: {other:?}"),
        }
        assert!(
            matches!(plan(true, false, false), Plan::Refuse { why, .. } if why.contains("no apt-get"))
        );
    }
}
