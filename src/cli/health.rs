//! `flows health [--wait 120s] [--interval 2s]`: the post-deploy health gate as a command for
//! deploy scripts. Polls the endpoints the health pre-check asks (`[health]` in flows.toml)
//! until all are healthy or the deadline passes, printing each service as its state changes,
//! and writes `health-pre-check.json` (the run's schema). Exit 0 healthy, 3 not healthy by the
//! deadline, 2 config error, 130 interrupted.
//!
//! The polling itself is [`crate::exec::health`]'s; this module only shows it.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use super::{color_stderr, env_lookup, SuiteArgs};
use crate::config::{CliOverrides, Config};
use crate::exec::health::{self, StatusLine, WaitOptions};
use crate::exit_code;
use crate::human::duration as human_duration;

#[derive(Debug, Args, Clone)]
pub struct HealthArgs {
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Target URL (overrides PLAYWRIGHT_BASE_URL and the config).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Keep polling until healthy or this long has passed (e.g. 120s, 5m); without it, one poll.
    #[arg(long, value_name = "DURATION", value_parser = super::parse_run_timeout)]
    pub wait: Option<Duration>,
    /// Pause between polls.
    #[arg(long, value_name = "DURATION", value_parser = super::parse_run_timeout, default_value = "2s")]
    pub interval: Duration,
    /// Directory for health-pre-check.json (default: the config's artifacts directory).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

pub(super) async fn health(args: HealthArgs) -> u8 {
    // Registered first: Ctrl-C at any moment exits at once, with nothing left to stop.
    let mut signals = super::Signals::register();
    let config = match load_config(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(base_url) = config.base_url.clone() else {
        eprintln!(
            "error: flows health needs the URL of a running app: pass --base-url, set \
             PLAYWRIGHT_BASE_URL (or STAGING_BASE_URL), or set target.base_url in {}\n  = hint: \
             the local profile's web server is started only by `flows run`",
            args.suite.config.display()
        );
        return exit_code::USAGE;
    };
    let http = crate::net::Http::new(
        concat!("flows/", env!("CARGO_PKG_VERSION")),
        &[Some(base_url.as_str()), config.api_url.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
        config.basic_auth.as_ref(),
        config.accept_invalid_certs,
    );
    let redactor = crate::redact::Redactor::new();
    if let Some(s) = &config.secret {
        redactor.add(&s.value);
    }
    let opts = WaitOptions {
        deadline: args.wait.unwrap_or(Duration::ZERO),
        interval: args.interval,
    };
    say!(
        "health: {base_url}{}",
        match args.wait {
            Some(w) => format!(
                " (waiting up to {}, every {})",
                human_duration(w),
                human_duration(args.interval)
            ),
            None => String::new(),
        }
    );
    let started = Instant::now();
    let mut board = Board::default();
    let wait = health::wait_until_healthy(&config, &base_url, &http, &redactor, opts, |r| {
        board.show(&health::status_lines(r), started.elapsed());
    });
    let report = tokio::select! {
        r = wait => r,
        () = signals.recv() => {
            let _ = writeln!(std::io::stderr(), "\ninterrupted: health not known");
            return exit_code::INTERRUPTED;
        }
    };
    let dir = args.output.clone().unwrap_or(config.output_root.clone());
    let path = dir.join("health-pre-check.json");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| crate::artifact::write_json_atomic(&path, &report));
    if let Err(e) = written {
        eprintln!("error: cannot write {}: {e}", path.display());
    }
    let after = crate::human::elapsed(started.elapsed().as_millis() as u64);
    if report.passed {
        say!("healthy after {after}: {}", report.summary());
        say!("wrote {}", path.display());
        exit_code::SUCCESS
    } else {
        say!(
            "not healthy after {after}; failing: {}",
            report.failing.join(", ")
        );
        say!("wrote {}", path.display());
        exit_code::HEALTH_CHECK_FAILED
    }
}

/// The config, with the command line's URL; a secret the runner would make up for an app it
/// starts is dropped (no running app knows it), so the guarded endpoint is asked only with a
/// real one.
fn load_config(args: &HealthArgs) -> Result<Config, u8> {
    if !args.suite.config.exists() {
        eprintln!(
            "error: no suite config at {}\n  = hint: run from the project root (where flows/flows.toml is) or pass --config PATH",
            args.suite.config.display()
        );
        return Err(exit_code::USAGE);
    }
    let cli = CliOverrides {
        profile: args.suite.profile.clone(),
        base_url: args.base_url.clone(),
        output_dir: None,
        checking_only: true,
        ..Default::default()
    };
    match Config::load(&args.suite.config, &env_lookup, &cli) {
        Ok(mut c) => {
            if c.secret
                .as_ref()
                .is_some_and(crate::config::Secret::is_generated)
            {
                c.secret = None;
            }
            Ok(c)
        }
        Err(e) => {
            eprint!("{}", e.render(color_stderr()));
            Err(exit_code::USAGE)
        }
    }
}

/// What was last shown for each row, so that a row is printed again only when its state
/// changes (latency alone changes every poll).
#[derive(Default)]
struct Board {
    shown: HashMap<String, String>,
}

impl Board {
    fn show(&mut self, lines: &[StatusLine], elapsed: Duration) {
        let width = lines
            .iter()
            .map(|l| l.key.chars().count())
            .max()
            .unwrap_or(0);
        for l in lines {
            if self.shown.get(&l.key) == Some(&l.state) {
                continue;
            }
            self.shown.insert(l.key.clone(), l.state.clone());
            let latency = l
                .latency_ms
                .map_or_else(String::new, |ms| format!("  {ms:.1} ms"));
            say!(
                "  {:>6}  {}  {:<width$}  {}{latency}",
                crate::human::elapsed(elapsed.as_millis() as u64),
                if l.ok { "ok  " } else { "FAIL" },
                l.key,
                l.state,
            );
        }
    }
}
