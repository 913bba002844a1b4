//! `flows gate [--criteria gate.toml] [--run DIR]`: judge a finished run and write
//! `go-no-go.md` / `go-no-go.json` beside its report. Exit 0 GO, 1 NO-GO, 5 CONDITIONAL GO,
//! 2 when the run or the criteria cannot be read. The judging is [`crate::gate`]'s.

use std::path::{Path, PathBuf};

use clap::Args;

use super::SuiteArgs;
use crate::exit_code;
use crate::gate::{self, GateCriterion, GoNoGo};

#[derive(Debug, Args, Clone)]
pub struct GateArgs {
    /// Release criteria (default: the built-in seed-000 checklist: health green, every flow
    /// passed, OTP / link / notification mail delivered, a realtime event received, contract
    /// steps passed where the suite has them).
    #[arg(long, value_name = "FILE")]
    pub criteria: Option<PathBuf>,
    /// The run directory (default: `latest` under the config's artifacts directory).
    #[arg(long, value_name = "DIR")]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub suite: SuiteArgs,
}

/// The criteria and where they came from; `Err` is the exit code after saying why.
pub(super) fn load_criteria(path: Option<&Path>) -> Result<(Vec<GateCriterion>, String), u8> {
    match path {
        None => Ok((
            gate::default_criteria(),
            "built-in (seed 000 GO checklist)".to_owned(),
        )),
        Some(p) => match gate::criteria::load(p) {
            Ok(c) => Ok((c, p.display().to_string())),
            Err(e) => {
                eprintln!("error: {e}");
                Err(exit_code::USAGE)
            }
        },
    }
}

pub(super) fn gate(args: &GateArgs) -> u8 {
    let (criteria, source) = match load_criteria(args.criteria.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let run_dir = match &args.run {
        Some(d) => d.clone(),
        None => match latest_run(&args.suite) {
            Ok(d) => d,
            Err(code) => return code,
        },
    };
    judge_and_say(&run_dir, &criteria, &source)
}

/// Judges `run_dir`, prints the verdict and the blocking criteria, returns the exit code.
pub(super) fn judge_and_say(run_dir: &Path, criteria: &[GateCriterion], source: &str) -> u8 {
    match gate::gate_run(run_dir, criteria, source) {
        Ok(g) => {
            say_verdict(&g, run_dir);
            g.verdict.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit_code::USAGE
        }
    }
}

fn say_verdict(g: &GoNoGo, run_dir: &Path) {
    say!("gate: {} (run {})", g.verdict.words(), g.run_id);
    for c in &g.criteria {
        let verdict = match c.verdict {
            Some(crate::events::Verdict::Pass) => "PASS",
            Some(crate::events::Verdict::Failed) => "FAILED",
            Some(crate::events::Verdict::Unverified) => "UNVERIFIED",
            None => "n/a",
        };
        let mark = if c.blocking { "  blocking" } else { "" };
        say!("  {verdict:<10} {}{mark}", c.name);
        if c.verdict != Some(crate::events::Verdict::Pass) {
            for r in c.reasons.iter().take(3) {
                say!("             {r}");
            }
            if c.reasons.len() > 3 {
                say!(
                    "             … {} more in go-no-go.json",
                    c.reasons.len() - 3
                );
            }
        }
    }
    say!("go-no-go: {}", run_dir.join(gate::GO_NO_GO_MD).display());
}

/// `<artifacts>/latest` of the suite's config.
fn latest_run(suite: &SuiteArgs) -> Result<PathBuf, u8> {
    let cli = crate::config::CliOverrides {
        profile: suite.profile.clone(),
        base_url: Some("http://gate.invalid".into()),
        checking_only: true,
        ..Default::default()
    };
    if !suite.config.exists() {
        eprintln!(
            "error: no run given and no suite config at {} to find the latest run\n  = hint: pass --run DIR (a run directory holding staging-run-report.json)",
            suite.config.display()
        );
        return Err(exit_code::USAGE);
    }
    match crate::config::Config::load(&suite.config, &super::env_lookup, &cli) {
        Ok(c) => Ok(c.output_root.join("latest")),
        Err(e) => {
            eprint!("{}", e.render(super::color_stderr()));
            Err(exit_code::USAGE)
        }
    }
}
