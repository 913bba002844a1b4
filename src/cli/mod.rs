//! The command line: clap arguments, one function per subcommand, exit codes.
//!
//! Turns arguments into config overrides and a selection; the executor never sees clap.

use std::io::IsTerminal;
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
    about = "Declarative end-to-end flows: a real browser, real mail, real evidence"
)]
pub struct Cli {
    /// More logging (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run flows (with the flows they need) and write the reports.
    Run(RunArgs),
    /// List the flows: id, title, user, needs, tags.
    List(SuiteArgs),
    /// Parse and check every flow and the config; start nothing.
    Check(SuiteArgs),
    /// Print the JSON Schema of flow files (or of the run report with --report).
    Schema {
        /// The schema of staging-run-report.json instead.
        #[arg(long)]
        report: bool,
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
    /// Do not start the configured web server (same as PLAYWRIGHT_SKIP_WEBSERVER=1).
    #[arg(long)]
    pub skip_web_server: bool,
    /// Skip the health pre-check.
    #[arg(long)]
    pub skip_health_check: bool,
    /// Do not add the flows that selected flows need.
    #[arg(long)]
    pub no_deps: bool,
    /// Retry a failed flow up to N times; one that then passes is `flaky`.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Traces: off, on (screenshots before/after every step), retain-on-failure (default), on-first-retry.
    #[arg(long)]
    pub trace: Option<crate::config::TraceMode>,
    /// Reporters: list (terminal), json (always written), junit, github.
    #[arg(long, value_delimiter = ',', default_value = "list")]
    pub reporter: Vec<String>,
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
        Command::Schema { report } => {
            if report {
                println!("{}", crate::report::report_schema_json());
            } else {
                println!("{}", crate::flowfile::schema::schema_json());
            }
            exit_code::SUCCESS
        }
        Command::Check(args) => check(&args),
        Command::List(args) => list(&args),
        Command::Run(args) => {
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
            runtime.block_on(run(args))
        }
    }
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
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
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
            eprintln!("error: {e}");
            return Err(exit_code::USAGE);
        }
    };
    let env = CheckEnv {
        users: config.users.keys().cloned().collect(),
        vars: config.vars.keys().cloned().collect(),
        has_secret: config.secret.is_some(),
        env_is_set: Box::new(|n: &str| std::env::var_os(n).is_some()),
    };
    match load_suite(&config.flows_dir, &env) {
        Ok(suite) => Ok((config, suite)),
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

fn overrides_for(args: &SuiteArgs) -> CliOverrides {
    CliOverrides {
        profile: args.profile.clone(),
        // `check` and `list` must work without a target: a placeholder keeps the base-URL
        // requirement from firing when no web server is configured.
        base_url: None,
        ..Default::default()
    }
}

fn check(args: &SuiteArgs) -> u8 {
    let started = Instant::now();
    let mut cli = overrides_for(args);
    cli.base_url = Some("http://checking.invalid".into());
    match load(args, &cli) {
        Ok((config, suite)) => {
            let steps: usize = suite.flows.iter().map(|f| f.ast.steps.len()).sum();
            println!(
                "ok: {} flows, {} steps, {} users checked in {} ms ({})",
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
        println!("{line}");
    }
    exit_code::SUCCESS
}

/// `YYYYMMDD-HHMMSS-xxxx`: sortable, unique enough per machine.
fn new_run_id() -> String {
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

async fn run(args: RunArgs) -> u8 {
    let cli = CliOverrides {
        profile: args.suite.profile.clone(),
        base_url: args.base_url.clone(),
        output_dir: args.output.clone(),
        headed: args.headed,
        webdriver_url: args.webdriver_url.clone(),
        skip_web_server: args.skip_web_server,
        skip_health_check: args.skip_health_check,
        trace: args.trace,
    };
    let (config, suite) = match load(&args.suite, &cli) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let grep = match args.grep.as_deref().map(regex::Regex::new).transpose() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: --grep is not a valid regex: {e}");
            return exit_code::USAGE;
        }
    };
    if args.flows.is_empty() && !args.all && grep.is_none() && args.tag.is_empty() {
        eprintln!("error: say which flows to run: `flows run --all`, `flows run FLOW…`, `--grep RE` or `--tag T`\n  = hint: `flows list` shows the flows");
        return exit_code::USAGE;
    }
    let selection = Selection {
        ids: args.flows.clone(),
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
    let kinds = match crate::report::parse_reporters(&args.reporter) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_code::USAGE;
        }
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

    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("\ninterrupted: stopping the browser and the web server, writing the report…");
        let _ = cancel_tx.send(true);
        wait_for_signal().await;
        eprintln!("still stopping (each process gets a few seconds; nothing is left running)…");
    });

    let is_tty = std::io::stdout().is_terminal();
    let color =
        is_tty && std::env::var_os("NO_COLOR").is_none() && std::env::var_os("CI").is_none();
    let mut reporters = crate::report::build_reporters(
        &kinds,
        crate::report::ReportOptions {
            output_dir: output_dir.clone(),
            color,
            is_tty,
            verbose: false,
            github_step_summary: std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            writer: Box::new(std::io::stdout()),
        },
    );
    let redactor = crate::redact::Redactor::new();
    let opts = crate::exec::executor::RunOptions {
        run_id,
        output_dir,
        cancel: cancel_rx,
        retries: args.retries,
    };
    let mut sink = |event: &crate::events::RunEvent| reporters.on_event(event);
    let result =
        crate::exec::executor::run(&config, &suite, &plan, opts, redactor, &mut sink).await;
    if let Err(e) = reporters.finish() {
        eprintln!("error: writing the reports failed: {e:#}");
        return exit_code::INFRASTRUCTURE;
    }
    result.exit_code
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

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            std::future::pending::<()>().await;
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
