//! `flows merge-reports DIR…`: the output directories of a sharded run (`flows run --shard
//! i/n`, one per machine) put back together as one run.
//!
//! Each shard leaves `staging-run-report.json` and `events.jsonl`. The shards are checked to be
//! parts of one run (same report schema, same suite fingerprint, same partition, each shard once,
//! no flow twice, none missing unless `--allow-partial`), their event logs are merged into one
//! stream (one `RunStarted` listing the unsharded plan, one health check, each shard's flow
//! events, one `RunFinished` with the outcome of the whole), and that stream is fed to the same
//! reporters a run has, so JUnit, HTML, CTRF, GitHub summary, the JSON report and the merged
//! `events.jsonl` (which `flows gate` cross-checks) are rebuilt rather than stitched. Flow
//! directories (screenshots, traces, downloads) are copied beside them so the HTML report opens
//! offline; a shard's run-level files (health pre-check, logs) go under `shards/<i>-of-<n>/`.
//! The report's evidence digests are taken afresh over the copies.
//!
//! Does not own: the partition (`plan::shard`), the reporters (`report`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::events::{
    Criterion, MergeInfo, MergedShard, PlannedFlow, RunEvent, RunEventKind, RunOutcome, RunScope,
    ShardInfo, Totals, Verdict,
};
use crate::exit_code;
use crate::report::{StagingRunReport, EVENT_LOG_FILE, REPORT_FILE, SCHEMA_VERSION};

#[derive(Debug, Args, Clone)]
pub struct MergeReportsArgs {
    /// The shards' output directories (each holds staging-run-report.json and events.jsonl).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged run goes (a new or empty directory).
    #[arg(long, short = 'o', default_value = "merged-report")]
    pub output: PathBuf,
    /// Reporters: list (terminal), json (always written), junit, html, github, ctrf.
    #[arg(long, value_delimiter = ',', default_value = "list")]
    pub reporter: Vec<String>,
    /// Merge even when shards are missing: their flows are `not_run` and the merged run is
    /// incomplete (outcome `aborted`, exit 4).
    #[arg(long)]
    pub allow_partial: bool,
    /// Exit 1 when a flow passed only on a retry (as `flows run --fail-on-flaky`).
    #[arg(long)]
    pub fail_on_flaky: bool,
    /// Also check that the merged run has exactly the flows of this report (an unsharded run's
    /// staging-run-report.json), in the same order; exit 1 when not.
    #[arg(long, value_name = "REPORT")]
    pub expect_flows_of: Option<PathBuf>,
}

/// Why shards cannot be merged. Each message says what, where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{dir}: no {file} here\n  = hint: give the output directory of a run (artifacts/<run id>), one per shard")]
    Missing { dir: String, file: &'static str },
    #[error("{dir}: cannot read {file}: {source}")]
    Read {
        dir: String,
        file: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir}: {file} is not a run report: {why}")]
    NotAReport {
        dir: String,
        file: &'static str,
        why: String,
    },
    #[error("{dir}: report schema {found}, but this flows merges schema {expected}\n  = hint: merge reports written by the same flows version as the one merging them")]
    Schema {
        dir: String,
        found: u64,
        expected: u32,
    },
    #[error("{dir}: {file}: {why}")]
    EventLog {
        dir: String,
        file: &'static str,
        why: String,
    },
    #[error("{dir}: not a shard (the run was not started with --shard INDEX/COUNT), so there is nothing to merge it with")]
    NotAShard { dir: String },
    #[error("different suites: {a} ran suite {fa} and {b} ran suite {fb} (the config, profile or flow files differ)\n  = hint: run every shard from the same commit, config and --profile")]
    DifferentSuites {
        a: String,
        fa: String,
        b: String,
        fb: String,
    },
    #[error("different partitions: {a}, {b}\n  = hint: every shard must split the same plan the same way: same selection, same COUNT, and --shard-by steps unless every machine has the same run history")]
    DifferentPartitions {
        a: Box<ShardSide>,
        b: Box<ShardSide>,
    },
    #[error("shard {shard} is given twice: {a} and {b}")]
    Twice { shard: String, a: String, b: String },
    #[error("flow `{flow}` is in two shards: {a} and {b}")]
    Overlap { flow: String, a: String, b: String },
    #[error("flow `{flow}` in {dir} is not in the plan the shards were cut from")]
    Unplanned { flow: String, dir: String },
    #[error("{count} missing: {missing} (given: {given})\n  = hint: pass every shard's output directory, or --allow-partial to merge what there is (the merged run is then incomplete)")]
    ShardsMissing {
        count: String,
        missing: String,
        given: String,
    },
    #[error("{dir} is not empty\n  = hint: give --output a new or empty directory")]
    OutputNotEmpty { dir: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One side of [`MergeError::DifferentPartitions`].
#[derive(Debug)]
pub struct ShardSide {
    dir: String,
    shard: String,
    key: String,
    partition: String,
}

impl std::fmt::Display for ShardSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is shard {} balanced by {} (partition {})",
            self.dir, self.shard, self.key, self.partition
        )
    }
}

impl Shard {
    fn side(&self) -> Box<ShardSide> {
        Box::new(ShardSide {
            dir: self.dir.display().to_string(),
            shard: self.name(),
            key: self.info.key.clone(),
            partition: self.info.partition.clone(),
        })
    }
}

impl MergeError {
    fn exit_code(&self) -> u8 {
        match self {
            MergeError::Write { .. } => exit_code::INFRASTRUCTURE,
            _ => exit_code::USAGE,
        }
    }
}

/// One shard's output directory, read.
struct Shard {
    dir: PathBuf,
    report: StagingRunReport,
    info: ShardInfo,
    fingerprint: String,
    events: Vec<RunEvent>,
}

impl Shard {
    fn name(&self) -> String {
        format!("{}/{}", self.info.index, self.info.count)
    }

    /// Where its run-level files go in the merged directory.
    fn files_dir(&self) -> PathBuf {
        Path::new("shards").join(format!("{}-of-{}", self.info.index, self.info.count))
    }
}

pub fn merge_reports(args: &MergeReportsArgs) -> u8 {
    let kinds = match crate::report::parse_reporters(&args.reporter) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_code::USAGE;
        }
    };
    let shards = match args
        .dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|shards| check(shards, args.allow_partial))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    match merge(&shards, args, &kinds) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<MergeError>() {
                Some(m) => m.exit_code(),
                None => exit_code::INFRASTRUCTURE,
            }
        }
    }
}

fn read_shard(dir: &Path) -> Result<Shard, MergeError> {
    let name = dir.display().to_string();
    let read = |file: &'static str| match std::fs::read_to_string(dir.join(file)) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(MergeError::Missing {
            dir: name.clone(),
            file,
        }),
        Err(source) => Err(MergeError::Read {
            dir: name.clone(),
            file,
            source,
        }),
    };
    let text = read(REPORT_FILE)?;
    let not_a_report = |why: String| MergeError::NotAReport {
        dir: name.clone(),
        file: REPORT_FILE,
        why,
    };
    // The version first: a report of another shape may not even parse as this one.
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| not_a_report(e.to_string()))?;
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| not_a_report("it has no schema_version".to_owned()))?;
    if found != u64::from(SCHEMA_VERSION) {
        return Err(MergeError::Schema {
            dir: name,
            found,
            expected: SCHEMA_VERSION,
        });
    }
    let report: StagingRunReport =
        serde_json::from_value(value).map_err(|e| not_a_report(e.to_string()))?;
    let (Some(info), Some(fingerprint)) = (
        report.shard.clone(),
        report.environment.suite_fingerprint.clone(),
    ) else {
        return Err(MergeError::NotAShard { dir: name });
    };
    let log = read(EVENT_LOG_FILE)?;
    let mut events = Vec::new();
    for (n, line) in log.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: RunEvent = serde_json::from_str(line).map_err(|e| MergeError::EventLog {
            dir: name.clone(),
            file: EVENT_LOG_FILE,
            why: format!("line {} is not an event: {e}", n + 1),
        })?;
        events.push(event);
    }
    if !matches!(
        events.first().map(|e| &e.kind),
        Some(RunEventKind::RunStarted { .. })
    ) {
        return Err(MergeError::EventLog {
            dir: name,
            file: EVENT_LOG_FILE,
            why: "it does not start with the run's start".to_owned(),
        });
    }
    Ok(Shard {
        dir: dir.to_owned(),
        report,
        info,
        fingerprint,
        events,
    })
}

/// The shards, checked to be parts of one run, in shard order.
fn check(mut shards: Vec<Shard>, allow_partial: bool) -> Result<Vec<Shard>, MergeError> {
    shards.sort_by_key(|s| s.info.index);
    let Some(first) = shards.first() else {
        return Err(MergeError::ShardsMissing {
            count: "every shard is".to_owned(),
            missing: "all".to_owned(),
            given: "none".to_owned(),
        });
    };
    for s in &shards[1..] {
        if s.fingerprint != first.fingerprint {
            return Err(MergeError::DifferentSuites {
                a: first.dir.display().to_string(),
                fa: short(&first.fingerprint),
                b: s.dir.display().to_string(),
                fb: short(&s.fingerprint),
            });
        }
        if s.info.count != first.info.count
            || s.info.partition != first.info.partition
            || s.info.plan != first.info.plan
        {
            return Err(MergeError::DifferentPartitions {
                a: first.side(),
                b: s.side(),
            });
        }
    }
    for pair in shards.windows(2) {
        if pair[0].info.index == pair[1].info.index {
            return Err(MergeError::Twice {
                shard: pair[0].name(),
                a: pair[0].dir.display().to_string(),
                b: pair[1].dir.display().to_string(),
            });
        }
    }
    let planned: BTreeSet<&str> = first.info.plan.iter().map(String::as_str).collect();
    let mut owner: HashMap<&str, &Path> = HashMap::new();
    for s in &shards {
        for f in &s.report.flows {
            if !planned.contains(f.id.as_str()) {
                return Err(MergeError::Unplanned {
                    flow: f.id.clone(),
                    dir: s.dir.display().to_string(),
                });
            }
            if let Some(other) = owner.insert(&f.id, &s.dir) {
                return Err(MergeError::Overlap {
                    flow: f.id.clone(),
                    a: other.display().to_string(),
                    b: s.dir.display().to_string(),
                });
            }
        }
    }
    let missing = missing_shards(&shards);
    if !missing.is_empty() && !allow_partial {
        let given: Vec<String> = shards.iter().map(Shard::name).collect();
        return Err(MergeError::ShardsMissing {
            count: if missing.len() == 1 {
                "1 shard is".to_owned()
            } else {
                format!("{} shards are", missing.len())
            },
            missing: missing.join(", "),
            given: given.join(", "),
        });
    }
    Ok(shards)
}

fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(12).collect()
}

/// The shards `i/n` of the count that were not given.
fn missing_shards(shards: &[Shard]) -> Vec<String> {
    let Some(count) = shards.first().map(|s| s.info.count) else {
        return vec![];
    };
    let given: BTreeSet<u32> = shards.iter().map(|s| s.info.index).collect();
    (1..=count)
        .filter(|i| !given.contains(i))
        .map(|i| format!("{i}/{count}"))
        .collect()
}

fn merge(
    shards: &[Shard],
    args: &MergeReportsArgs,
    kinds: &[crate::report::ReporterKind],
) -> anyhow::Result<u8> {
    let out = &args.output;
    prepare_output(out)?;
    let traces = crate::trace::TraceIndex::new();
    for s in shards {
        copy_shard_files(s, out)?;
        for f in &s.report.flows {
            let kept = f
                .artifacts
                .iter()
                .find(|a| a.kind == crate::events::ArtifactKind::Trace)
                .map(|a| crate::trace::TraceFile {
                    path: a.path.clone(),
                    bytes: a.bytes,
                });
            // Every flow counts as folded: its trace parts are gone whether a trace was kept
            // or not, so the merged report must not point at them.
            traces.record(&f.id, kept);
        }
    }
    copy_health_file(shards, out)?;
    let run_id = format!("merged-{}", super::new_run_id());
    let (events, decision) = merged_events(shards, &run_id, out, args.fail_on_flaky);

    let is_tty = std::io::stdout().is_terminal();
    let color =
        is_tty && std::env::var_os("NO_COLOR").is_none() && std::env::var_os("CI").is_none();
    let mut reporters = crate::report::build_replay_reporters(
        kinds,
        crate::report::ReportOptions {
            output_dir: out.clone(),
            color,
            is_tty: false,
            progress: false,
            verbose: false,
            github_step_summary: std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            writer: Box::new(std::io::stdout()),
            // The shards' events were redacted when they were written.
            redactor: crate::redact::Redactor::new(),
        },
        traces,
    );
    let mut fed = Ok(());
    for event in &events {
        fed = reporters.on_event(event);
        if fed.is_err() {
            break;
        }
    }
    let finished = reporters.finish();
    fed.and(finished)
        .map_err(|e| e.context("writing the merged reports"))?;

    let mut code = decision;
    if let Some(expected) = &args.expect_flows_of {
        let ours: Vec<String> = shards[0].info.plan.clone();
        match expected_flows(expected) {
            Ok(theirs) if theirs == ours => {
                say!(
                    "flows: the merged run has the {} flows of {}",
                    ours.len(),
                    expected.display()
                );
            }
            Ok(theirs) => {
                let ours_set: BTreeSet<&String> = ours.iter().collect();
                let theirs_set: BTreeSet<&String> = theirs.iter().collect();
                let only_merged: Vec<&str> = ours_set
                    .difference(&theirs_set)
                    .map(|s| s.as_str())
                    .collect();
                let only_expected: Vec<&str> = theirs_set
                    .difference(&ours_set)
                    .map(|s| s.as_str())
                    .collect();
                eprintln!(
                    "error: the merged run's flows differ from {}: only merged: [{}]; only there: [{}]{}",
                    expected.display(),
                    only_merged.join(", "),
                    only_expected.join(", "),
                    if only_merged.is_empty() && only_expected.is_empty() {
                        " (same flows, another order)"
                    } else {
                        ""
                    }
                );
                code = code.max(exit_code::FLOW_FAILED);
            }
            Err(e) => {
                eprintln!("error: --expect-flows-of {}: {e}", expected.display());
                return Ok(exit_code::USAGE);
            }
        }
    }
    Ok(code)
}

/// The flow ids of a report, in its order.
fn expected_flows(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let report: StagingRunReport =
        serde_json::from_str(&text).map_err(|e| format!("not a staging-run-report.json: {e}"))?;
    Ok(report.flows.into_iter().map(|f| f.id).collect())
}

fn prepare_output(out: &Path) -> Result<(), MergeError> {
    let write_err = |source| MergeError::Write {
        path: out.display().to_string(),
        source,
    };
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(MergeError::OutputNotEmpty {
                    dir: out.display().to_string(),
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(out).map_err(write_err)
        }
        Err(e) => Err(write_err(e)),
    }
}

/// The health pre-check's file, which the run's criteria (and `flows gate`) cite at the top of
/// the output directory.
const HEALTH_FILE: &str = "health-pre-check.json";

/// The merged run's `health-pre-check.json`: a failing shard's when one failed (the merged check
/// failed), else the first shard's. Every shard's own stays under `shards/<i>-of-<n>/`.
fn copy_health_file(shards: &[Shard], out: &Path) -> Result<(), MergeError> {
    let checked: Vec<&Shard> = shards
        .iter()
        .filter(|s| s.dir.join(HEALTH_FILE).is_file())
        .collect();
    let chosen = checked
        .iter()
        .find(|s| s.report.health.as_ref().is_some_and(|h| !h.passed))
        .or(checked.first());
    match chosen {
        Some(s) => copy_tree(&s.dir.join(HEALTH_FILE), &out.join(HEALTH_FILE)),
        None => Ok(()),
    }
}

/// What a run writes about itself: rebuilt from the merged events, never copied.
fn is_report_file(name: &str) -> bool {
    [
        REPORT_FILE,
        EVENT_LOG_FILE,
        crate::report::JUNIT_FILE,
        crate::report::CTRF_FILE,
        crate::report::HTML_REPORT_FILE,
        crate::gate::GO_NO_GO_JSON,
        crate::gate::GO_NO_GO_MD,
    ]
    .contains(&name)
}

/// Copies a shard's flow directories to the merged directory's top level (the paths in its
/// events stay true) and its other files under `shards/<i>-of-<n>/`.
fn copy_shard_files(shard: &Shard, out: &Path) -> Result<(), MergeError> {
    let flow_roots: BTreeSet<std::ffi::OsString> = shard
        .report
        .flows
        .iter()
        .flat_map(crate::report::flow_files)
        .filter(|p| crate::report::is_inside(p))
        .filter_map(|p| p.components().next().map(|c| c.as_os_str().to_owned()))
        .filter(|c| p_is_dir(&shard.dir.join(c)))
        .collect();
    let entries = std::fs::read_dir(&shard.dir).map_err(|source| MergeError::Read {
        dir: shard.dir.display().to_string(),
        file: "its directory",
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if is_report_file(&name.to_string_lossy()) {
            continue;
        }
        let to = if flow_roots.contains(&name) {
            out.join(&name)
        } else {
            out.join(shard.files_dir()).join(&name)
        };
        copy_tree(&entry.path(), &to)?;
    }
    Ok(())
}

fn p_is_dir(p: &Path) -> bool {
    p.is_dir()
}

/// Copies a file or a directory tree, each file written atomically; symlinks are skipped (a
/// run's output has none but `latest`, and following one could leave the directory).
fn copy_tree(from: &Path, to: &Path) -> Result<(), MergeError> {
    let write_err = |path: &Path, source| MergeError::Write {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::symlink_metadata(from).map_err(|e| write_err(from, e))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| write_err(to, e))?;
        let entries = std::fs::read_dir(from).map_err(|e| write_err(from, e))?;
        for entry in entries.flatten() {
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    let bytes = std::fs::read(from).map_err(|e| write_err(from, e))?;
    crate::artifact::write_atomic(to, &bytes).map_err(|e| write_err(to, e))
}

/// How bad an outcome is for the whole run: the merged run ends as its worst shard.
fn severity(outcome: RunOutcome) -> u8 {
    match outcome {
        RunOutcome::Completed => 0,
        RunOutcome::MaxFailuresReached => 1,
        RunOutcome::TimedOut => 2,
        RunOutcome::Aborted => 3,
        RunOutcome::Interrupted => 4,
    }
}

/// The merged event stream, and the exit code of the merged run (DESIGN.md: exit codes).
fn merged_events(
    shards: &[Shard],
    run_id: &str,
    out: &Path,
    fail_on_flaky: bool,
) -> (Vec<RunEvent>, u8) {
    let first = &shards[0];
    let missing = missing_shards(shards);
    let starts: Vec<&RunEvent> = shards.iter().filter_map(|s| s.events.first()).collect();
    let started_at = starts
        .iter()
        .map(|e| e.at)
        .min()
        .unwrap_or(first.events[0].at);
    let (profile, base_url, runner_version, trace_mode) = match &first.events[0].kind {
        RunEventKind::RunStarted {
            profile,
            base_url,
            runner_version,
            trace_mode,
            ..
        } => (
            profile.clone(),
            base_url.clone(),
            runner_version.clone(),
            trace_mode.clone(),
        ),
        _ => Default::default(),
    };
    // Each planned flow as the shard that ran it announced it.
    let mut planned: HashMap<String, PlannedFlow> = HashMap::new();
    for s in shards {
        if let Some(RunEventKind::RunStarted { flows, .. }) = s.events.first().map(|e| &e.kind) {
            for f in flows {
                planned.insert(f.id.clone(), f.clone());
            }
        }
    }
    let unmerged: Vec<String> = first
        .info
        .plan
        .iter()
        .filter(|id| !planned.contains_key(*id))
        .cloned()
        .collect();
    let flows: Vec<PlannedFlow> = first
        .info
        .plan
        .iter()
        .map(|id| {
            planned.get(id).cloned().unwrap_or_else(|| PlannedFlow {
                id: id.clone(),
                title: id.clone(),
                file: PathBuf::new(),
                user: None,
                needs: vec![],
                tags: vec![],
            })
        })
        .collect();
    let scope = RunScope {
        suite_fingerprint: first.fingerprint.clone(),
        shard: None,
        merged: Some(MergeInfo {
            shards: shards
                .iter()
                .map(|s| MergedShard {
                    shard: s.name(),
                    run_id: s.report.run_id.clone(),
                    outcome: s.report.outcome,
                    dir: s.files_dir(),
                })
                .collect(),
            missing: missing.clone(),
        }),
    };
    let mut events = vec![RunEvent {
        at: started_at,
        elapsed_ms: 0,
        kind: RunEventKind::RunStarted {
            run_id: run_id.to_owned(),
            profile,
            base_url,
            runner_version,
            output_dir: out.to_owned(),
            flows,
            trace_mode,
            scope: Some(scope),
        },
    }];

    // One health check: it passed if every shard's passed.
    let checks: Vec<(&Shard, &RunEvent)> = shards
        .iter()
        .flat_map(|s| {
            s.events
                .iter()
                .filter(|e| matches!(e.kind, RunEventKind::HealthChecked { .. }))
                .map(move |e| (s, e))
        })
        .collect();
    if let Some(&(_, at)) = checks.first() {
        let mut passed = true;
        let mut skipped = true;
        let mut failing: Vec<String> = Vec::new();
        let mut summaries: Vec<(String, String)> = Vec::new();
        for (s, e) in &checks {
            if let RunEventKind::HealthChecked {
                passed: p,
                skipped: k,
                failing: f,
                summary,
            } = &e.kind
            {
                passed &= *p;
                skipped &= *k;
                for x in f {
                    if !failing.contains(x) {
                        failing.push(x.clone());
                    }
                }
                summaries.push((s.name(), summary.clone()));
            }
        }
        let summary = if summaries.iter().all(|(_, t)| *t == summaries[0].1) {
            summaries[0].1.clone()
        } else {
            summaries
                .iter()
                .map(|(n, t)| format!("shard {n}: {t}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if let Ok(meta) = std::fs::metadata(out.join(HEALTH_FILE)) {
            events.push(RunEvent {
                at: at.at,
                elapsed_ms: at.elapsed_ms,
                kind: RunEventKind::ArtifactWritten {
                    flow: None,
                    artifact: crate::events::Artifact {
                        kind: crate::events::ArtifactKind::Report,
                        path: PathBuf::from(HEALTH_FILE),
                        bytes: meta.len(),
                    },
                },
            });
        }
        events.push(RunEvent {
            at: at.at,
            elapsed_ms: at.elapsed_ms,
            kind: RunEventKind::HealthChecked {
                passed,
                skipped,
                failing,
                summary,
            },
        });
    }

    // Run-level criteria (health): one per name, the worst verdict, every shard's evidence.
    let mut run_criteria: BTreeMap<String, (RunEvent, Criterion)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for s in shards {
        for e in &s.events {
            if let RunEventKind::CriterionRecorded {
                flow: None,
                criterion,
            } = &e.kind
            {
                let mut c = criterion.clone();
                c.evidence = c.evidence.iter().map(|p| moved(s, p)).collect();
                match run_criteria.get_mut(&c.name) {
                    Some((_, kept)) => {
                        if verdict_rank(c.verdict) > verdict_rank(kept.verdict) {
                            kept.verdict = c.verdict;
                            kept.note = c.note.clone();
                        }
                        kept.evidence.extend(c.evidence);
                    }
                    None => {
                        order.push(c.name.clone());
                        run_criteria.insert(c.name.clone(), (e.clone(), c));
                    }
                }
            }
        }
    }
    for name in order {
        if let Some((e, criterion)) = run_criteria.remove(&name) {
            events.push(RunEvent {
                kind: RunEventKind::CriterionRecorded {
                    flow: None,
                    criterion,
                },
                ..e
            });
        }
    }

    // Each shard's own events, run-level paths moved to where its files went.
    for s in shards {
        for e in &s.events {
            let kind = match &e.kind {
                RunEventKind::RunStarted { .. }
                | RunEventKind::HealthChecked { .. }
                | RunEventKind::RunFinished { .. }
                | RunEventKind::CriterionRecorded { flow: None, .. } => continue,
                RunEventKind::ArtifactWritten {
                    flow: None,
                    artifact,
                } => {
                    let mut artifact = artifact.clone();
                    artifact.path = PathBuf::from(moved(s, &artifact.path.display().to_string()));
                    RunEventKind::ArtifactWritten {
                        flow: None,
                        artifact,
                    }
                }
                RunEventKind::Notice {
                    flow: None,
                    message,
                } => RunEventKind::Notice {
                    flow: None,
                    // An empty shard's notice names its shard already.
                    message: if message.starts_with(&format!("shard {} ", s.name())) {
                        message.clone()
                    } else {
                        format!("shard {}: {message}", s.name())
                    },
                },
                other => other.clone(),
            };
            events.push(RunEvent {
                at: e.at,
                elapsed_ms: e.elapsed_ms,
                kind,
            });
        }
    }

    // The flows of shards not given.
    let last_at = shards
        .iter()
        .filter_map(|s| s.events.last())
        .map(|e| e.at)
        .max()
        .unwrap_or(started_at);
    let duration_ms = shards
        .iter()
        .map(|s| s.report.duration_ms)
        .max()
        .unwrap_or(0);
    let missing_reason = format!("its shard was not merged (missing: {})", missing.join(", "));
    for id in &unmerged {
        events.push(RunEvent {
            at: last_at,
            elapsed_ms: duration_ms,
            kind: RunEventKind::FlowFinished {
                flow: id.clone(),
                status: crate::events::FlowStatus::NotRun,
                attempt: 0,
                duration_ms: 0,
                reason: Some(missing_reason.clone()),
                trace_pending: false,
            },
        });
    }

    // One end: the worst shard's outcome, every shard's reason.
    let mut totals = Totals::default();
    for s in shards {
        for f in &s.report.flows {
            totals.add(f.status);
        }
    }
    totals.not_run += u32::try_from(unmerged.len()).unwrap_or(u32::MAX);
    let worst = shards
        .iter()
        .max_by_key(|s| severity(s.report.outcome))
        .map_or(RunOutcome::Completed, |s| s.report.outcome);
    let mut reasons: Vec<String> = shards
        .iter()
        .filter_map(|s| {
            s.report
                .outcome_reason
                .as_ref()
                .map(|r| format!("shard {}: {r}", s.name()))
        })
        .collect();
    let (outcome, code) = if !missing.is_empty() && severity(worst) < severity(RunOutcome::Aborted)
    {
        reasons.insert(
            0,
            format!(
                "incomplete: shard{} {} not merged",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        );
        (RunOutcome::Aborted, exit_code::INFRASTRUCTURE)
    } else {
        (worst, exit_code_of(worst, shards, &totals, fail_on_flaky))
    };
    events.push(RunEvent {
        at: last_at,
        elapsed_ms: duration_ms,
        kind: RunEventKind::RunFinished {
            outcome,
            totals,
            duration_ms,
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        },
    });
    (events, code)
}

/// The exit code the shards would have had as one run ending `outcome`.
fn exit_code_of(outcome: RunOutcome, shards: &[Shard], totals: &Totals, fail_on_flaky: bool) -> u8 {
    match outcome {
        RunOutcome::Interrupted => exit_code::INTERRUPTED,
        RunOutcome::Aborted => {
            let health_failed = shards.iter().any(|s| {
                s.report.outcome == RunOutcome::Aborted
                    && s.report
                        .health
                        .as_ref()
                        .is_some_and(|h| !h.passed && !h.skipped)
            });
            if health_failed {
                exit_code::HEALTH_CHECK_FAILED
            } else {
                exit_code::INFRASTRUCTURE
            }
        }
        RunOutcome::TimedOut | RunOutcome::MaxFailuresReached => exit_code::FLOW_FAILED,
        RunOutcome::Completed => {
            if totals.failed > 0 || totals.timed_out > 0 || (fail_on_flaky && totals.flaky > 0) {
                exit_code::FLOW_FAILED
            } else {
                exit_code::SUCCESS
            }
        }
    }
}

fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Pass => 0,
        Verdict::Unverified => 1,
        Verdict::Failed => 2,
    }
}

/// Where a shard's run-level file `path` went in the merged directory (a path of a flow's
/// directory, or not a file of the run, is kept as it is).
fn moved(shard: &Shard, path: &str) -> String {
    let p = Path::new(path);
    let top = p.components().next().map(|c| c.as_os_str().to_owned());
    let is_run_file = crate::report::is_inside(p)
        && top.is_some_and(|t| {
            shard.dir.join(&t).exists()
                && !is_report_file(&t.to_string_lossy())
                && !shard
                    .report
                    .flows
                    .iter()
                    .flat_map(crate::report::flow_files)
                    .any(|f| f.components().next().map(|c| c.as_os_str()) == Some(t.as_os_str()))
        });
    if is_run_file {
        shard.files_dir().join(p).display().to_string()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_outcome_wins_and_sets_the_exit_code() {
        assert!(severity(RunOutcome::Interrupted) > severity(RunOutcome::Aborted));
        assert!(severity(RunOutcome::Aborted) > severity(RunOutcome::TimedOut));
        assert!(severity(RunOutcome::TimedOut) > severity(RunOutcome::Completed));
        let failed = Totals {
            failed: 1,
            ..Totals::default()
        };
        let flaky = Totals {
            flaky: 1,
            passed: 3,
            ..Totals::default()
        };
        assert_eq!(exit_code_of(RunOutcome::Completed, &[], &failed, false), 1);
        assert_eq!(exit_code_of(RunOutcome::Completed, &[], &flaky, false), 0);
        assert_eq!(exit_code_of(RunOutcome::Completed, &[], &flaky, true), 1);
        assert_eq!(
            exit_code_of(RunOutcome::Interrupted, &[], &flaky, false),
            130
        );
        assert_eq!(exit_code_of(RunOutcome::Aborted, &[], &flaky, false), 4);
    }
}
