//! The command line: clap arguments, one function per subcommand, exit codes.
//!
//! Turns arguments into config overrides and a selection; the executor never sees clap.

/// `println!` that ignores a closed pipe (`flows list | head`): a reader that stops early is
/// not an error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod console;
mod doctor;
mod gate;
mod generate;
mod health;
mod init;
mod install_deps;
mod merge_reports;
mod record;
mod shard;
mod show_trace;

pub use generate::{long_version, man_page, subcommand_names, TESTED_BROWSERS};

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::config::{CliOverrides, Config};
use crate::exit_code;
use crate::flowfile::check::{load_suite, CheckEnv, Suite};
use crate::plan::{self, Selection};

#[derive(Debug, Parser)]
#[command(
    name = "flows",
    version,
    long_version = generate::long_version(),
    about = "Declarative end-to-end flows: a real browser, real mail, real evidence"
)]
pub struct Cli {
    /// More logging (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of `RunArgs` does not matter. (`allow`, not `expect`: older
// clippy versions do not fire here.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run flows (with the flows they need) and write the reports.
    Run(RunArgs),
    /// Write a flow while you use the app: opens a headed browser at URL (under Xvfb when there
    /// is no display), records clicks, fills, selects, checks, uploads and navigations as
    /// steps with the locators the runner resolves; Alt+Shift+A turns the next click into an
    /// `expect`. Ctrl-C or closing the window stops; the file is then checked.
    Record(record::RecordArgs),
    /// List the flows: id, title, user, needs, tags.
    List(SuiteArgs),
    /// Parse and check every flow and the config; start nothing.
    Check(CheckArgs),
    /// List flows that flipped between pass and fail (or passed only on a retry) in recent runs.
    Flaky(FlakyArgs),
    /// Check the set-up, one line per check with the fix: browser, chromedriver (and that its
    /// version drives the browser), a headless start, the target, health, secret, mail source,
    /// WebDriver server, disk, and the config as `flows check` sees it.
    Doctor(doctor::DoctorArgs),
    /// Scaffold a suite for a new app: flows.toml with comments, an example flow, the flow
    /// schema for editors, .gitignore entries. Asks on a terminal; never overwrites.
    Init(init::InitArgs),
    /// Install Chromium and chromedriver with apt (Debian/Ubuntu, as root); elsewhere print
    /// the command to run.
    InstallDeps(install_deps::InstallDepsArgs),
    /// Print a shell completion script: `flows completions bash > /etc/bash_completion.d/flows`.
    Completions(generate::CompletionsArgs),
    /// Print the man page (roff): `flows man > flows.1 && man ./flows.1`.
    Man,
    /// Open a trace (`<output>/<flow id>/trace.html`) or a run's HTML report in the desktop's
    /// browser; without a display, print where it is and how to open it.
    ShowTrace {
        /// A trace.html or index.html, or a directory holding one (a flow's or a run's output).
        path: PathBuf,
    },
    /// Poll the target's health endpoints (`[health]`) until all are healthy or --wait runs
    /// out; write health-pre-check.json. Exit 0 healthy, 3 not healthy, 2 config error.
    Health(health::HealthArgs),
    /// Rewrite route baselines: run the flows that have `routes` steps (with the flows they
    /// need), each `routes` step writing the status every role gets on every route to its
    /// baseline file (`flows/routes.baseline.json`) instead of comparing. Review and commit it.
    Routes(RoutesArgs),
    /// Judge a finished run against release criteria: write go-no-go.md and go-no-go.json
    /// beside its report. Exit 0 GO, 1 NO-GO, 5 CONDITIONAL GO.
    Gate(gate::GateArgs),
    /// Merge the output directories of a sharded run (`flows run --shard i/n` on each machine)
    /// into one run: one report, JUnit, HTML, CTRF and GitHub summary, flows in plan order, the
    /// exit code as if the shards had run together.
    MergeReports(merge_reports::MergeReportsArgs),
    /// Print the JSON Schema of flow files (or of step groups with --group, the run report with
    /// --report).
    Schema {
        /// The schema of staging-run-report.json instead.
        #[arg(long, conflicts_with_all = ["group", "gate"])]
        report: bool,
        /// The schema of go-no-go.json (`flows gate`) instead.
        #[arg(long, conflicts_with = "group")]
        gate: bool,
        /// The schema of step group files (`groups/NAME.yaml`) instead.
        #[arg(long)]
        group: bool,
    },
}

#[derive(Debug, Args, Clone)]
pub struct SuiteArgs {
    /// The suite config.
    #[arg(
        long,
        short = 'c',
        default_value = "flows/flows.toml",
        env = "FLOWS_CONFIG"
    )]
    pub config: PathBuf,
    /// Config profile (`local`, `staging`, …). PLAYWRIGHT_STAGING=1 selects `staging`.
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct RoutesArgs {
    /// Write the baselines (the only action: say it, so a typo never rewrites them).
    #[arg(long, required = true)]
    pub update_baseline: bool,
    /// Which flows to run, as `flows run` takes them; none: every flow with a `routes` step.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Warn about steps that may not work on this browser (default: `[browser] name`).
    #[arg(long)]
    pub browser: Option<crate::config::BrowserName>,
}

#[derive(Debug, Args, Clone)]
pub struct FlakyArgs {
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// How many recent runs of this suite to look at.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Flow ids to run (their `needs` run first).
    pub flows: Vec<String>,
    /// Run every flow.
    #[arg(long, conflicts_with = "flows")]
    pub all: bool,
    /// Only flows whose id or title matches this regex.
    #[arg(long)]
    pub grep: Option<String>,
    /// Only flows with one of these tags (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tag: Vec<String>,
    /// Exactly the flows that failed in the last run of this suite (plus their needs, unless
    /// --no-deps), from the run history in .flows/history.jsonl.
    #[arg(long, conflicts_with_all = ["flows", "all", "grep", "tag"])]
    pub last_failed: bool,
    /// Run only shard INDEX of COUNT (1-based, e.g. 2/4) of the selected flows: a deterministic
    /// part that never splits a needs-chain; merge the shards' output with `flows merge-reports`.
    #[arg(long, value_name = "INDEX/COUNT", value_parser = shard::parse_shard)]
    pub shard: Option<crate::plan::shard::ShardSpec>,
    /// What --shard balances: auto (durations from the run history when it has every planned
    /// flow, else step counts), history, steps (the same on every machine).
    #[arg(long, value_name = "KEY", default_value = "auto", requires = "shard")]
    pub shard_by: shard::ShardBy,
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Root of run output (a directory per run is created inside).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Target URL (overrides PLAYWRIGHT_BASE_URL and the config).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Show the browser window.
    #[arg(long)]
    pub headed: bool,
    /// Use this WebDriver server (e.g. a Selenium Grid) instead of starting chromedriver.
    #[arg(long)]
    pub webdriver_url: Option<String>,
    /// How users are kept apart: context (one browser, a user context per user) or process
    /// (a browser per user). Overrides `[browser] isolation`.
    #[arg(long)]
    pub isolation: Option<crate::config::Isolation>,
    /// The browser: chromium (through chromedriver) or firefox (through geckodriver).
    /// Overrides `[browser] name`.
    #[arg(long)]
    pub browser: Option<crate::config::BrowserName>,
    /// Do not start the configured web server (same as PLAYWRIGHT_SKIP_WEBSERVER=1).
    #[arg(long)]
    pub skip_web_server: bool,
    /// Skip the health pre-check.
    #[arg(long)]
    pub skip_health_check: bool,
    /// Do not run the flows that selected flows need: start their users from the sessions saved
    /// by an earlier run (.flows/state/), and run the needed flows after all if those are missing
    /// or no longer valid.
    #[arg(long)]
    pub no_deps: bool,
    /// Retry a failed flow up to N times; one that then passes is `flaky`.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Exit 1 when a flow passed only on a retry.
    #[arg(long)]
    pub fail_on_flaky: bool,
    /// Pause this many milliseconds after each browser step (to watch a --headed run).
    #[arg(long, value_name = "MS")]
    pub slow_mo: Option<u64>,
    /// When a flow fails, keep the browser, the app and the driver running, say what failed and
    /// wait for Enter (needs a terminal).
    #[arg(long)]
    pub pause_on_failure: bool,
    /// Stop before each step: [Enter] step, c continue, s screenshot, l LOCATOR (what it
    /// matches), q quit (needs a terminal).
    #[arg(long)]
    pub debug: bool,
    /// Traces: off, on (screenshots before/after every step), retain-on-failure (default), on-first-retry.
    #[arg(long)]
    pub trace: Option<crate::config::TraceMode>,
    /// Stop the run after this long (e.g. 30m, 1h30m): the running flow is `timed_out`, the
    /// rest `not_run` (config: [timeouts] run).
    #[arg(long, value_name = "DURATION", value_parser = parse_run_timeout)]
    pub run_timeout: Option<std::time::Duration>,
    /// Stop starting flows after N failed (after their retries); the rest are `not_run`
    /// (config: [suite] max_failures; 0: no limit).
    #[arg(long, value_name = "N")]
    pub max_failures: Option<u32>,
    /// Run up to N flows side by side, each worker with its own browser; `auto`: one per core.
    /// A flow starts once every flow it needs has passed (config: [suite] workers; default 1).
    #[arg(long, value_name = "N|auto")]
    pub workers: Option<crate::config::Workers>,
    /// Reporters: list (terminal), json (always written), junit, html, github, ctrf.
    #[arg(long, value_delimiter = ',', default_value = "list")]
    pub reporter: Vec<String>,
    /// After the run, judge it as `flows gate` does (go-no-go.md/.json beside the report); the
    /// exit code is then the gate's (0 GO, 1 NO-GO, 5 CONDITIONAL GO), except 2, 4 and 130.
    #[arg(long)]
    pub gate: bool,
    /// The release criteria for --gate (default: the built-in seed-000 checklist).
    #[arg(long, value_name = "FILE", requires = "gate")]
    pub gate_criteria: Option<PathBuf>,
    /// Write `expect_screenshot` baselines: `all` (the default when given without a value)
    /// wherever the screenshot differs or none exists, `missing` only where none exists.
    #[arg(long, value_name = "WHICH", num_args = 0..=1, default_missing_value = "all")]
    pub update_snapshots: Option<crate::visual::UpdateSnapshots>,
}

/// Entry point: parses arguments, runs the command, returns the process exit code.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit_code::SUCCESS
                }
                _ => exit_code::USAGE,
            };
        }
    };
    init_logging(cli.verbose);
    match cli.command {
        Command::Schema {
            report,
            group,
            gate,
        } => {
            let schema = if report {
                crate::report::report_schema_json()
            } else if gate {
                crate::gate::gate_schema_json()
            } else if group {
                crate::flowfile::schema::group_schema_json()
            } else {
                crate::flowfile::schema::schema_json()
            };
            // A closed pipe (`flows schema | head`) is not an error worth a panic.
            use std::io::Write;
            let _ = writeln!(std::io::stdout().lock(), "{schema}");
            exit_code::SUCCESS
        }
        Command::ShowTrace { path } => show_trace::show_trace(&path),
        Command::Check(args) => check(&args),
        Command::Record(args) => record::record(&args),
        Command::Doctor(args) => doctor::doctor(&args),
        Command::Init(args) => init::init(&args),
        Command::InstallDeps(args) => install_deps::install_deps(&args),
        Command::Completions(args) => generate::completions(&args),
        Command::Man => generate::man(),
        Command::List(args) => list(&args),
        Command::Flaky(args) => flaky(&args),
        Command::Run(args) => match runtime() {
            Ok(rt) => rt.block_on(run(args, false)),
            Err(code) => code,
        },
        Command::Routes(args) => match runtime() {
            Ok(rt) => rt.block_on(run(args.run, args.update_baseline)),
            Err(code) => code,
        },
        Command::Gate(args) => gate::gate(&args),
        Command::MergeReports(args) => merge_reports::merge_reports(&args),
        Command::Health(args) => match runtime() {
            Ok(rt) => rt.block_on(health::health(args)),
            Err(code) => code,
        },
    }
}

/// The async runtime of `run` and `health`; `Err` is the exit code after saying why.
fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            exit_code::INFRASTRUCTURE
        })
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "flows=info,info",
        _ => "flows=debug,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::report::LogWriter::stderr)
        // Colour codes only for a person at a terminal, never into a CI log or a file.
        .with_ansi(color_stderr())
        .with_target(false)
        .try_init();
}

fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `--run-timeout 30m`: a duration as flow files write them.
fn parse_run_timeout(text: &str) -> Result<std::time::Duration, String> {
    crate::flowfile::duration::parse_duration(text)
        .map_err(|e| format!("{}: {}", e.message, e.hint))
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Loads config + flows. Errors are printed; `Err` carries the exit code.
fn load(args: &SuiteArgs, cli: &CliOverrides) -> Result<(Config, Suite), u8> {
    if !args.config.exists() {
        eprintln!(
            "error: no suite config at {}\n  = hint: run from the project root (where flows/flows.toml is) or pass --config PATH",
            args.config.display()
        );
        return Err(exit_code::USAGE);
    }
    let config = match Config::load(&args.config, &env_lookup, cli) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.render(color_stderr()));
            return Err(exit_code::USAGE);
        }
    };
    match load_suite(&config.flows_dir, &check_env(&config)) {
        Ok(suite) => match config.require_target(&suite) {
            Ok(()) => Ok((config, suite)),
            Err(e) => {
                eprintln!("error: {e}");
                Err(exit_code::USAGE)
            }
        },
        Err(diags) => {
            let color = color_stderr();
            eprint!("{}", diags.render_all_from_disk(color));
            eprintln!(
                "error: {} problem{} in the flows under {}; nothing was run",
                diags.0.len(),
                if diags.0.len() == 1 { "" } else { "s" },
                config.flows_dir.display()
            );
            Err(exit_code::USAGE)
        }
    }
}

/// What the flow checker needs to know of the config (users, variables, secrets, env).
fn check_env(config: &Config) -> CheckEnv {
    let from_file: std::collections::BTreeSet<String> = config
        .env_file
        .as_ref()
        .map(|f| f.values.keys().cloned().collect())
        .unwrap_or_default();
    CheckEnv {
        users: config.users.keys().cloned().collect(),
        vars: config.vars.keys().cloned().collect(),
        has_secret: config.secret.is_some(),
        each_limits: config.each_limits,
        env_is_set: Box::new(move |n: &str| std::env::var_os(n).is_some() || from_file.contains(n)),
        passwords: config
            .users
            .iter()
            .filter_map(|(key, u)| {
                let env = u.password_env.clone()?;
                Some((key.clone(), (env, u.password.is_some())))
            })
            .collect(),
    }
}

fn overrides_for(args: &SuiteArgs) -> CliOverrides {
    CliOverrides {
        profile: args.profile.clone(),
        // `check` and `list` must work without a target: a placeholder keeps the base-URL
        // requirement from firing when no web server is configured.
        base_url: None,
        checking_only: true,
        ..Default::default()
    }
}

fn check(check_args: &CheckArgs) -> u8 {
    let started = Instant::now();
    let args = &check_args.suite;
    let mut cli = overrides_for(args);
    cli.base_url = Some("http://checking.invalid".into());
    cli.browser = check_args.browser;
    match load(args, &cli) {
        Ok((config, suite)) => {
            // Steps that may not work on the chosen browser: said, never a reason to stop.
            let warnings = crate::flowfile::check::browsers::browser_warnings(
                &suite,
                config.browser.name.as_str(),
            );
            let color = color_stderr();
            for w in &warnings {
                let read = |p: &Path| std::fs::read_to_string(p).ok().map(std::sync::Arc::from);
                eprint!("{}", w.render_with(&read, color));
            }
            let steps: usize = suite.flows.iter().map(|f| f.steps.len()).sum();
            let warned = match warnings.len() {
                0 => String::new(),
                1 => format!("; 1 warning for {}", config.browser.name.as_str()),
                n => format!("; {n} warnings for {}", config.browser.name.as_str()),
            };
            say!(
                "ok: {} flows, {} steps, {} users checked in {} ms ({}){warned}",
                suite.flows.len(),
                steps,
                config.users.len(),
                started.elapsed().as_millis(),
                config.flows_dir.display()
            );
            exit_code::SUCCESS
        }
        Err(code) => code,
    }
}

fn list(args: &SuiteArgs) -> u8 {
    let mut cli = overrides_for(args);
    cli.base_url = Some("http://listing.invalid".into());
    let (_, suite) = match load(args, &cli) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let width = suite
        .flows
        .iter()
        .map(|f| f.ast.id.value.len())
        .max()
        .unwrap_or(2);
    for f in &suite.flows {
        let mut line = format!("{:width$}  {}", f.ast.id.value, f.ast.title.value);
        if let Some(u) = &f.ast.user {
            line.push_str(&format!("  [user: {}]", u.value));
        }
        if !f.ast.needs.is_empty() {
            let needs: Vec<&str> = f.ast.needs.iter().map(|n| n.value.as_str()).collect();
            line.push_str(&format!("  [needs: {}]", needs.join(", ")));
        }
        if !f.ast.tags.is_empty() {
            let tags: Vec<&str> = f.ast.tags.iter().map(|n| n.value.as_str()).collect();
            line.push_str(&format!("  [tags: {}]", tags.join(", ")));
        }
        say!("{line}");
    }
    exit_code::SUCCESS
}

/// How the run history names a suite: its config file as an absolute path.
fn suite_key(config: &Path) -> String {
    std::fs::canonicalize(config)
        .unwrap_or_else(|_| config.to_owned())
        .display()
        .to_string()
}

/// How long each step took in the recent runs of this suite and profile (staging and local
/// speeds differ); an unreadable history only means no step is flagged slow.
fn step_baseline(config: &Config, suite: &str) -> crate::state::StepBaseline {
    let history = crate::state::RunHistory::new(&config.state_dir);
    match history.recent(suite, crate::state::BASELINE_RUNS) {
        Ok(runs) => {
            let same_profile: Vec<_> = runs
                .into_iter()
                .filter(|r| r.profile == config.profile)
                .collect();
            crate::state::StepBaseline::from_history(&same_profile)
        }
        Err(e) => {
            tracing::warn!("no slow-step baseline: {e}");
            crate::state::StepBaseline::default()
        }
    }
}

fn flaky(args: &FlakyArgs) -> u8 {
    let mut cli = overrides_for(&args.suite);
    cli.base_url = Some("http://history.invalid".into());
    let (config, _) = match load(&args.suite, &cli) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let history = crate::state::RunHistory::new(&config.state_dir);
    let runs = match history.recent(&suite_key(&args.suite.config), args.runs.max(1)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_code::USAGE;
        }
    };
    if runs.is_empty() {
        say!(
            "no runs of {} recorded yet in {}",
            args.suite.config.display(),
            history.path().display()
        );
        return exit_code::SUCCESS;
    }
    let noun = if runs.len() == 1 { "run" } else { "runs" };
    let flaky = crate::state::flaky_flows(&runs);
    if flaky.is_empty() {
        say!(
            "no flow flipped between pass and fail in the last {} {noun}",
            runs.len()
        );
        return exit_code::SUCCESS;
    }
    say!(
        "flaky flows in the last {} {noun} (oldest first; P passed, F failed, f passed on a retry, - skipped, . not run):",
        runs.len()
    );
    let width = flaky.iter().map(|f| f.id.len()).max().unwrap_or(2);
    for f in &flaky {
        let mut why = Vec::new();
        if f.flips > 0 {
            why.push(format!(
                "{} flip{}",
                f.flips,
                if f.flips == 1 { "" } else { "s" }
            ));
        }
        if f.flaky_runs > 0 {
            why.push(format!("{} passed on a retry", f.flaky_runs));
        }
        let last = f.last_result().map_or("none", |s| match s {
            crate::events::FlowStatus::Passed => "passed",
            crate::events::FlowStatus::Failed => "failed",
            crate::events::FlowStatus::Flaky => "flaky",
            _ => "none",
        });
        say!(
            "  {:width$}  {}  {} (last: {last})",
            f.id,
            f.timeline(),
            why.join(", ")
        );
    }
    exit_code::SUCCESS
}

/// `YYYYMMDD-HHMMSS-xxxx`: sortable, unique enough per machine.
pub(crate) fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}-{}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        crate::config::random_token(4).to_lowercase()
    )
}

/// `flows run`, and `flows routes --update-baseline` (`update_routes`): the same run, whose
/// `routes` steps write their baselines.
async fn run(args: RunArgs, update_routes: bool) -> u8 {
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    // Registered first, so a signal at any moment is a cancel, not a death.
    let mut signals = Signals::register();
    tokio::spawn(async move {
        signals.recv().await;
        let _ = cancel_tx.send(true);
        // After SIGHUP the terminal may be gone: writing to it must neither panic nor matter.
        let mut err = std::io::stderr();
        let _ = writeln!(
            err,
            "\ninterrupted: stopping the browser and the web server, writing the report…"
        );
        signals.recv().await;
        let _ = writeln!(
            err,
            "still stopping (each process gets a few seconds; nothing is left running)…"
        );
    });
    let interactive = args.debug || args.pause_on_failure;
    if interactive && !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        let flag = if args.debug {
            "--debug"
        } else {
            "--pause-on-failure"
        };
        eprintln!(
            "error: {flag} needs a terminal (stdin and stdout are not both a TTY), to ask you what to do\n  = hint: run it from an interactive shell; in CI use --retries and --trace instead"
        );
        return exit_code::USAGE;
    }
    if args.headed
        && args.webdriver_url.is_none()
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        eprintln!(
            "error: --headed needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set\n  = hint: run it under a virtual display: xvfb-run -a flows run … --headed (Debian: apt-get install xvfb)"
        );
        return exit_code::USAGE;
    }
    let cli = CliOverrides {
        profile: args.suite.profile.clone(),
        base_url: args.base_url.clone(),
        output_dir: args.output.clone(),
        headed: args.headed,
        webdriver_url: args.webdriver_url.clone(),
        isolation: args.isolation,
        browser: args.browser,
        skip_web_server: args.skip_web_server,
        skip_health_check: args.skip_health_check,
        trace: args.trace,
        run_timeout: args.run_timeout,
        max_failures: args.max_failures,
        workers: args.workers,
        checking_only: false,
    };
    let (mut config, suite) = match load(&args.suite, &cli) {
        Ok(v) => v,
        Err(code) => return code,
    };
    config.update_snapshots = args.update_snapshots.unwrap_or_default();
    config.update_routes_baseline = update_routes;
    if interactive && config.workers > 1 {
        // A person answers one flow at a time; prompts of two flows would interleave.
        eprintln!(
            "note: {} runs one flow at a time: {} workers asked for, 1 used",
            if args.debug {
                "--debug"
            } else {
                "--pause-on-failure"
            },
            config.workers
        );
        config.workers = 1;
    }
    let grep = match args.grep.as_deref().map(regex::Regex::new).transpose() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: --grep is not a valid regex: {e}");
            return exit_code::USAGE;
        }
    };
    let mut ids = args.flows.clone();
    if args.last_failed {
        match last_failed(&config, &args.suite.config, &suite) {
            Ok(Some(failed)) => ids = failed,
            Ok(None) => return exit_code::SUCCESS,
            Err(code) => return code,
        }
    }
    if update_routes && ids.is_empty() && !args.all && grep.is_none() && args.tag.is_empty() {
        ids = suite
            .flows
            .iter()
            .filter(|f| {
                f.steps
                    .iter()
                    .any(|p| matches!(p.step.value, crate::flowfile::ast::Step::Routes(_)))
            })
            .map(|f| f.id().to_owned())
            .collect();
        if ids.is_empty() {
            eprintln!("error: no flow of this suite has a `routes` step, so there is no baseline to write\n  = hint: add `- routes: {{ baseline: routes.baseline.json, as: [USER] }}` to a flow");
            return exit_code::USAGE;
        }
    }
    if ids.is_empty() && !args.all && grep.is_none() && args.tag.is_empty() {
        eprintln!("error: say which flows to run: `flows run --all`, `flows run FLOW…`, `--grep RE` or `--tag T`\n  = hint: `flows list` shows the flows");
        return exit_code::USAGE;
    }
    let selection = Selection {
        ids,
        grep,
        tags: args.tag.clone(),
        no_deps: args.no_deps,
    };
    let plan = match plan::build(&suite, &selection) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_code::USAGE;
        }
    };
    let key = suite_key(&args.suite.config);
    let mut scope = crate::events::RunScope {
        suite_fingerprint: shard::suite_fingerprint(&args.suite.config, &config, &suite),
        shard: None,
        merged: None,
    };
    let plan = match args.shard {
        None => plan,
        Some(spec) => match shard::shard_plan(&plan, &suite, &config, &key, spec, args.shard_by) {
            Ok((part, info)) => {
                scope.shard = Some(info);
                part
            }
            Err(code) => return code,
        },
    };
    let kinds = match crate::report::parse_reporters(&args.reporter) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_code::USAGE;
        }
    };
    // Read before anything starts: a bad gate.toml fails in milliseconds, not after the run.
    let gate_criteria = if args.gate {
        match gate::load_criteria(args.gate_criteria.as_deref()) {
            Ok(c) => Some(c),
            Err(code) => return code,
        }
    } else {
        None
    };
    let run_id = new_run_id();
    let output_dir = config.output_root.join(&run_id);
    if let Err(e) = std::fs::create_dir_all(&output_dir) {
        eprintln!(
            "error: cannot create the output directory {}: {e}",
            output_dir.display()
        );
        return exit_code::USAGE;
    }
    point_latest(&config.output_root, &run_id);

    // Children of runs that died (SIGKILL, a crash) and whose watchman died too.
    for line in crate::exec::orphans::sweep(&config.state_dir) {
        eprintln!("note: {line}");
    }
    let _tracking = crate::exec::orphans::begin_run(&config.state_dir, &run_id);

    // A live status line would fight with the prompts of --debug / --pause-on-failure.
    let is_tty = std::io::stdout().is_terminal() && !interactive;
    let color =
        is_tty && std::env::var_os("NO_COLOR").is_none() && std::env::var_os("CI").is_none();
    // One redactor for the executor (redacting at the source) and the reporters (redacting
    // again what was written before a secret became known).
    let redactor = crate::redact::Redactor::new();
    let mut reporters = crate::report::build_reporters(
        &kinds,
        crate::report::ReportOptions {
            output_dir: output_dir.clone(),
            color,
            is_tty,
            // The progress line: a person at a terminal, never a CI log or a pipe.
            progress: is_tty && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
            verbose: false,
            github_step_summary: std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            writer: Box::new(std::io::stdout()),
            redactor: redactor.clone(),
        },
    );
    if plan.order.is_empty() {
        // An empty shard: nothing to start, a report that says so.
        let mut sink = |event: &crate::events::RunEvent| reporters.on_event(event);
        let ran = shard::run_empty_shard(&mut sink, &run_id, &config.profile, &output_dir, &scope);
        let finished = reporters.finish();
        if let Err(e) = ran.and(finished) {
            eprintln!("error: writing the reports failed: {e:#}");
            return exit_code::INFRASTRUCTURE;
        }
        return exit_code::SUCCESS;
    }
    reporters.push(
        "history",
        Box::new(crate::state::HistoryWriter::new(
            crate::state::RunHistory::new(&config.state_dir),
            key.clone(),
        )),
    );
    let mut opts = crate::exec::run::RunOptions::new(run_id, output_dir.clone(), cancel_rx);
    opts.retries = args.retries;
    opts.fail_on_flaky = args.fail_on_flaky;
    opts.slow_mo = args.slow_mo.map(std::time::Duration::from_millis);
    opts.debug = args.debug;
    opts.pause_on_failure = args.pause_on_failure;
    opts.step_baseline = step_baseline(&config, &key);
    opts.scope = Some(scope);
    if interactive {
        opts.interaction = Some(Box::new(console::Console::new()));
    }
    let mut sink = |event: &crate::events::RunEvent| reporters.on_event(event);
    let result = crate::exec::run::run(&config, &suite, &plan, opts, redactor, &mut sink).await;
    let finished = reporters.finish();
    crate::artifact::release_reserve();
    if let Err(e) = finished {
        eprintln!("error: writing the reports failed: {e:#}");
        return exit_code::INFRASTRUCTURE;
    }
    match gate_criteria {
        // A run that could not judge its target (infrastructure, interrupted) keeps its code;
        // the gate still writes its verdict for the record.
        Some((criteria, source)) => {
            let gated = gate::judge_and_say(&output_dir, &criteria, &source);
            match result.exit_code {
                exit_code::INFRASTRUCTURE | exit_code::INTERRUPTED | exit_code::USAGE => {
                    result.exit_code
                }
                _ => gated,
            }
        }
        None => result.exit_code,
    }
}

/// `--last-failed`: the flows that failed in the last recorded run of this suite. `Ok(None)`:
/// nothing failed (said on stdout); `Err`: the exit code after an error was printed.
fn last_failed(
    config: &Config,
    config_path: &Path,
    suite: &Suite,
) -> Result<Option<Vec<String>>, u8> {
    let history = crate::state::RunHistory::new(&config.state_dir);
    let last = match history.last(&suite_key(config_path)) {
        Ok(Some(run)) => run,
        Ok(None) => {
            eprintln!(
                "error: --last-failed: no run of {} is recorded in {}\n  = hint: run the suite once (flows run --all), then --last-failed reruns what failed",
                config_path.display(),
                history.path().display()
            );
            return Err(exit_code::USAGE);
        }
        Err(e) => {
            eprintln!("error: --last-failed: {e}");
            return Err(exit_code::USAGE);
        }
    };
    let failed: Vec<String> = last.failed().into_iter().map(str::to_owned).collect();
    let (known, gone): (Vec<String>, Vec<String>) =
        failed.into_iter().partition(|id| suite.get(id).is_some());
    if !gone.is_empty() {
        eprintln!(
            "note: --last-failed: no longer in the suite: {}",
            gone.join(", ")
        );
    }
    if known.is_empty() {
        say!(
            "--last-failed: no flow failed in the last run ({}); nothing to run",
            last.run_id
        );
        return Ok(None);
    }
    eprintln!(
        "--last-failed: {} (failed in run {})",
        known.join(", "),
        last.run_id
    );
    Ok(Some(known))
}

/// `artifacts/latest` → the newest run directory (best effort; a convenience for people).
fn point_latest(root: &Path, run_id: &str) {
    #[cfg(unix)]
    {
        let link = root.join("latest");
        let tmp = root.join(format!(".latest.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        if std::os::unix::fs::symlink(run_id, &tmp).is_ok() && std::fs::rename(&tmp, &link).is_err()
        {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// SIGINT, SIGTERM, SIGHUP (terminal closed, SSH dropped) and SIGQUIT: each is a request to
/// stop, handled alike.
struct Signals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let streams = [
                SignalKind::interrupt(),
                SignalKind::terminate(),
                SignalKind::hangup(),
                SignalKind::quit(),
            ]
            .into_iter()
            .filter_map(|kind| match signal(kind) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!("cannot handle signal {kind:?}: {e}");
                    None
                }
            })
            .collect();
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Waits for the next of the signals.
    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.streams.is_empty() {
                std::future::pending::<()>().await;
            }
            let next = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
            let _ = futures_util::future::select_all(next).await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
