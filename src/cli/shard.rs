//! `flows run --shard i/n` on the command line's side: the weights the partition balances
//! (from the run history), the suite fingerprint every run records, and the run of an empty
//! shard (nothing to start; its report says so).
//!
//! The partition itself is `plan::shard`; putting shards back together is `merge_reports`.

use std::collections::HashMap;
use std::path::Path;

use sha2::Digest;

use crate::config::Config;
use crate::events::{RunEvent, RunEventKind, RunOutcome, RunScope, Totals};
use crate::flowfile::check::Suite;
use crate::plan::shard::{ShardKey, ShardSpec};
use crate::plan::Plan;

/// `--shard-by`: what the partition balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ShardBy {
    /// Recorded durations when the run history has one for every planned flow, else steps.
    #[default]
    Auto,
    /// Recorded durations (`.flows/history.jsonl`); every planned flow must have one.
    History,
    /// Step counts (group steps expanded, data-driven rows counted separately).
    Steps,
}

/// How many recent runs of the suite are searched for each flow's duration.
const HISTORY_RUNS: usize = 20;

/// SHA-256 (hex) of what makes a suite: the config file's bytes, the profile, and every flow
/// file's path (relative to the flows directory) and text. Shards of one run share it.
pub fn suite_fingerprint(config_path: &Path, config: &Config, suite: &Suite) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(std::fs::read(config_path).unwrap_or_default());
    hasher.update(b"\0profile\0");
    hasher.update(config.profile.as_bytes());
    let mut files: Vec<(String, &str)> = suite
        .flows
        .iter()
        .map(|f| {
            let rel = f.file.strip_prefix(&config.flows_dir).unwrap_or(&f.file);
            (rel.display().to_string(), &*f.source)
        })
        .collect();
    // A data-driven flow's rows share one file.
    files.sort();
    files.dedup();
    for (path, text) in files {
        hasher.update(b"\0file\0");
        hasher.update(path.as_bytes());
        hasher.update(b"\0");
        hasher.update(text.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

/// Each flow's duration (ms: the sum of its passed steps) in the latest recent run of this suite
/// and profile that ran it.
fn history_durations(config: &Config, suite_key: &str) -> HashMap<String, u64> {
    let history = crate::state::RunHistory::new(&config.state_dir);
    let runs = match history.recent(suite_key, HISTORY_RUNS) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("no durations for --shard: {e}");
            return HashMap::new();
        }
    };
    let mut out = HashMap::new();
    // Newest last: later runs overwrite earlier ones.
    for run in runs.iter().filter(|r| r.profile == config.profile) {
        for flow in run.flows.iter().filter(|f| !f.steps.is_empty()) {
            out.insert(flow.id.clone(), flow.steps.iter().map(|s| s.ms).sum());
        }
    }
    out
}

/// The part of `plan` this shard runs and the scope its report records; `Err` is the exit code
/// after saying why.
pub fn shard_plan(
    plan: &Plan,
    suite: &Suite,
    config: &Config,
    suite_key: &str,
    spec: ShardSpec,
    by: ShardBy,
) -> Result<(Plan, crate::events::ShardInfo), u8> {
    let durations = match by {
        ShardBy::Steps => HashMap::new(),
        ShardBy::Auto | ShardBy::History => history_durations(config, suite_key),
    };
    let missing: Vec<&str> = plan
        .order
        .iter()
        .map(|&i| suite.flows[i].id())
        .filter(|id| !durations.contains_key(*id))
        .collect();
    let key = match by {
        ShardBy::Steps => ShardKey::Steps,
        ShardBy::Auto if missing.is_empty() => ShardKey::History,
        ShardBy::Auto => ShardKey::Steps,
        ShardBy::History if missing.is_empty() => ShardKey::History,
        ShardBy::History => {
            eprintln!(
                "error: --shard-by history: the run history ({}) has no duration for {} of the {} planned flows ({})\n  = hint: run the suite once unsharded on this machine, or balance by step count with --shard-by steps",
                config.state_dir.join(crate::state::HISTORY_FILE).display(),
                missing.len(),
                plan.order.len(),
                missing.join(", ")
            );
            return Err(crate::exit_code::USAGE);
        }
    };
    Ok(plan.shard(suite, spec, key, &durations))
}

/// Runs an empty shard (more shards than needs-chains): starts nothing, and gives the reporters
/// a run of no flows that says why.
pub fn run_empty_shard(
    sink: &mut dyn FnMut(&RunEvent) -> anyhow::Result<()>,
    run_id: &str,
    profile: &str,
    output_dir: &Path,
    scope: &RunScope,
) -> anyhow::Result<()> {
    let at = time::OffsetDateTime::now_utc();
    let event = |kind| RunEvent {
        at,
        elapsed_ms: 0,
        kind,
    };
    let (shard, planned) = scope.shard.as_ref().map_or((String::new(), 0), |s| {
        (format!("{}/{}", s.index, s.count), s.plan.len())
    });
    sink(&event(RunEventKind::RunStarted {
        run_id: run_id.to_owned(),
        profile: profile.to_owned(),
        base_url: String::new(),
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        output_dir: output_dir.to_owned(),
        flows: vec![],
        trace_mode: "off".to_owned(),
        scope: Some(scope.clone()),
    }))?;
    sink(&event(RunEventKind::Notice {
        flow: None,
        message: format!(
            "shard {shard} is empty: the other shards hold all {planned} planned flows (a needs-chain is never split, so there are fewer chains than shards); nothing was started"
        ),
    }))?;
    sink(&event(RunEventKind::RunFinished {
        outcome: RunOutcome::Completed,
        totals: Totals::default(),
        duration_ms: 0,
        reason: None,
    }))
}

/// `ShardSpec` as clap reads it.
pub fn parse_shard(text: &str) -> Result<ShardSpec, String> {
    text.parse::<ShardSpec>().map_err(|e| e.to_string())
}
