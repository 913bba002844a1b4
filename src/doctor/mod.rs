//! `flows doctor`: what is wrong with this machine's or this suite's set-up, before a run finds
//! out. Owns the checks (browser, driver, headless start, WebDriver server, target, health,
//! secret, mail source, disk) and what each verdict means for the exit code.
//!
//! Each check reuses the code a run uses for the same thing (`exec::browser::Driver` and
//! `BrowserSession` for the headless start, `exec::health` for the health endpoints and the
//! secret, `exec::webserver` for a configured app, `mail::build_source` for the mail source), so
//! a doctor that is green means the run gets past the same doors. It does not print (the CLI
//! does, one line per [`CheckLine`] as it comes) and does not load the config (the CLI hands it
//! a loaded one).

mod browser;
mod disk;
mod target;

use crate::config::Config;
use crate::exit_code;

pub use browser::{major_version, version_line};

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Not checked, with the reason in `detail` (an earlier check failed, nothing configured).
    Skip,
}

/// What a failed check is about, for the exit code (DESIGN.md's one table): the config (2),
/// the machine's browser, driver or disk (4), or the target app (3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Config,
    Infrastructure,
    Target,
}

/// One line of `flows doctor`.
#[derive(Debug, Clone)]
pub struct CheckLine {
    /// Short name: `browser`, `chromedriver`, `headless start`, …
    pub name: &'static str,
    pub status: Status,
    /// What was found (a version, an answer, the free space).
    pub detail: String,
    /// What to do when it failed.
    pub fix: Option<String>,
    pub area: Area,
}

impl CheckLine {
    pub fn pass(name: &'static str, area: Area, detail: impl Into<String>) -> CheckLine {
        CheckLine {
            name,
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
            area,
        }
    }

    pub fn fail(
        name: &'static str,
        area: Area,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> CheckLine {
        CheckLine {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
            area,
        }
    }

    pub fn skip(name: &'static str, area: Area, why: impl Into<String>) -> CheckLine {
        CheckLine {
            name,
            status: Status::Skip,
            detail: why.into(),
            fix: None,
            area,
        }
    }
}

/// What the CLI hands the doctor.
pub struct DoctorInput<'a> {
    /// The resolved config; `None` when it did not load (its line is already failed): the
    /// machine is then checked with the default browser settings and the target is skipped.
    pub config: Option<&'a Config>,
    /// Whether the flows checked clean (the target check needs to know whether the suite
    /// reaches the app at all: a suite that only reads a mail catcher does not).
    pub needs_target: bool,
}

/// Runs every check in order, handing each line to `emit` as soon as it is known.
pub async fn run(input: DoctorInput<'_>, emit: &mut dyn FnMut(&CheckLine)) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let mut push = |line: CheckLine, lines: &mut Vec<CheckLine>| {
        emit(&line);
        lines.push(line);
    };
    let default_browser = crate::config::BrowserConfig::default();
    let browser_cfg = input.config.map_or(&default_browser, |c| &c.browser);
    for line in browser::check(browser_cfg).await {
        push(line, &mut lines);
    }
    match input.config {
        Some(config) => {
            for line in target::check(config, input.needs_target).await {
                push(line, &mut lines);
            }
            push(disk::check(&config.output_root), &mut lines);
        }
        None => push(
            CheckLine::skip(
                "target",
                Area::Target,
                "the config did not load (see above)",
            ),
            &mut lines,
        ),
    }
    lines
}

/// The exit code for a set of lines: 0 when none failed; else the most basic failure's code
/// from the one table: a config error (2) before a machine problem (4) before the target (3).
pub fn exit_code(lines: &[CheckLine]) -> u8 {
    let failed = |area| {
        lines
            .iter()
            .any(|l| l.status == Status::Fail && l.area == area)
    };
    if failed(Area::Config) {
        exit_code::USAGE
    } else if failed(Area::Infrastructure) {
        exit_code::INFRASTRUCTURE
    } else if failed(Area::Target) {
        exit_code::HEALTH_CHECK_FAILED
    } else {
        exit_code::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_names_the_most_basic_failure() {
        let ok = CheckLine::pass("browser", Area::Infrastructure, "Chromium 156");
        let skipped = CheckLine::skip("webdriver", Area::Infrastructure, "not configured");
        let target = CheckLine::fail("target", Area::Target, "no answer", "start it");
        let driver = CheckLine::fail("chromedriver", Area::Infrastructure, "99 ≠ 156", "x");
        let config = CheckLine::fail("config", Area::Config, "bad", "fix it");
        assert_eq!(
            exit_code(&[ok.clone(), skipped.clone()]),
            exit_code::SUCCESS
        );
        assert_eq!(
            exit_code(&[ok.clone(), target.clone()]),
            exit_code::HEALTH_CHECK_FAILED
        );
        assert_eq!(
            exit_code(&[target.clone(), driver.clone()]),
            exit_code::INFRASTRUCTURE
        );
        assert_eq!(exit_code(&[target, driver, config]), exit_code::USAGE);
    }
}
