//! `flows doctor`: loads the config and the flows as `flows check` does (that is its first
//! line), then prints the `doctor` module's checks one line each, ✔ or ✘ with the fix.

use std::io::Write;

use clap::Args;

use super::{check_env, color_stderr, env_lookup, SuiteArgs};
use crate::config::{CliOverrides, Config};
use crate::doctor::{self, Area, CheckLine, DoctorInput, Status};
use crate::exit_code;

#[derive(Debug, Args, Clone)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Check this target (overrides PLAYWRIGHT_BASE_URL and the config; no web server is
    /// started then).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Check this WebDriver server (e.g. a Selenium Grid) instead of a local chromedriver.
    #[arg(long)]
    pub webdriver_url: Option<String>,
    /// Do not start the configured web server (same as PLAYWRIGHT_SKIP_WEBSERVER=1).
    #[arg(long)]
    pub skip_web_server: bool,
}

pub(super) fn doctor(args: &DoctorArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit_code::INFRASTRUCTURE;
        }
    };
    let color = stdout_color();
    let mut lines = Vec::new();
    let (config, needs_target, config_line, details) = load(args);
    print_line(&config_line, color);
    if let Some(d) = details {
        // The checker's own rendering (file:line:col, caret, hint), as `flows check` shows it.
        eprint!("{d}");
    }
    lines.push(config_line);
    let found = runtime.block_on(doctor::run(
        DoctorInput {
            config: config.as_ref(),
            needs_target,
        },
        &mut |line| print_line(line, color),
    ));
    lines.extend(found);
    let failed = lines.iter().filter(|l| l.status == Status::Fail).count();
    let checked = lines.iter().filter(|l| l.status != Status::Skip).count();
    if failed == 0 {
        say(&format!("all {checked} checks passed"));
    } else {
        say(&format!(
            "{failed} of {checked} checks failed: fix them from the top (a later check often fails because of an earlier one)"
        ));
    }
    doctor::exit_code(&lines)
}

/// The config and the flows, as `flows check` loads them: `(config, needs_target, its line,
/// the rendered problems)`.
fn load(args: &DoctorArgs) -> (Option<Config>, bool, CheckLine, Option<String>) {
    let path = &args.suite.config;
    if !path.exists() {
        let line = CheckLine::fail(
            "config",
            Area::Config,
            format!("no suite config at {}", path.display()),
            "run from the project root (where flows/flows.toml is), pass --config PATH, or scaffold one with `flows init`",
        );
        return (None, true, line, None);
    }
    let cli = CliOverrides {
        profile: args.suite.profile.clone(),
        base_url: args.base_url.clone(),
        webdriver_url: args.webdriver_url.clone(),
        skip_web_server: args.skip_web_server,
        ..Default::default()
    };
    let config = match Config::load(path, &env_lookup, &cli) {
        Ok(c) => c,
        Err(e) => {
            let line = CheckLine::fail(
                "config",
                Area::Config,
                format!("{} does not load", path.display()),
                "fix the error below (`flows check` shows the same)",
            );
            return (None, true, line, Some(e.render(color_stderr())));
        }
    };
    let (line, details, needs_target) =
        match crate::flowfile::check::load_suite(&config.flows_dir, &check_env(&config)) {
            Ok(suite) => {
                let needs = config.needs_target(&suite);
                let steps: usize = suite.flows.iter().map(|f| f.steps.len()).sum();
                let line = CheckLine::pass(
                    "config",
                    Area::Config,
                    format!(
                        "{} (profile {}): {} flows, {} steps, {} users check clean",
                        path.display(),
                        config.profile,
                        suite.flows.len(),
                        steps,
                        config.users.len()
                    ),
                );
                (line, None, needs)
            }
            Err(diags) => {
                let n = diags.0.len();
                let line = CheckLine::fail(
                    "config",
                    Area::Config,
                    format!(
                        "{n} problem{} in the flows under {}",
                        if n == 1 { "" } else { "s" },
                        config.flows_dir.display()
                    ),
                    "fix them as shown below (`flows check` shows the same)",
                );
                (line, Some(diags.render_all_from_disk(color_stderr())), true)
            }
        };
    (Some(config), needs_target, line, details)
}

fn print_line(line: &CheckLine, color: bool) {
    let (mark, style) = match line.status {
        Status::Pass => ("✔", anstyle::AnsiColor::Green.on_default()),
        Status::Fail => ("✘", anstyle::AnsiColor::Red.on_default().bold()),
        Status::Skip => ("-", anstyle::Style::new().dimmed()),
    };
    let mark = if color {
        format!("{style}{mark}{style:#}")
    } else {
        mark.to_owned()
    };
    let detail = if line.status == Status::Skip {
        format!("skipped: {}", line.detail)
    } else {
        line.detail.clone()
    };
    let mut text = format!("{mark} {:<16} {detail}", line.name);
    if let Some(fix) = &line.fix {
        text.push_str(&format!("\n  {:<16} fix: {fix}", ""));
    }
    say(&text);
}

fn say(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Colour for a person at a terminal only, never into CI logs or a pipe.
fn stdout_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
        && std::env::var_os("CI").is_none()
}
