//! `staging-run-report.json`: the product's main artifact, always written.
//!
//! The report is built from the event stream only ([`RunState`]) and written atomically when
//! `RunFinished` arrives. A run that ends without `RunFinished` (a crash, a second Ctrl-C) still
//! gets a report from [`JsonReporter::finish`], saying `"outcome": "interrupted"`; the CLI can
//! also write one mid-run with [`JsonReporter::write_partial`].
//!
//! The report's shape is versioned by [`SCHEMA_VERSION`]; [`report_schema_json`] prints its
//! JSON Schema. Adding an optional field keeps the version; renaming or removing one bumps it.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::latency::LatencySummary;
use super::run_state::{FlowState, RunState};
use super::ReportError;
use crate::events::{
    Artifact, ArtifactKind, Criterion, EventSink, Evidence, FlowStatus, MergeInfo, Proof, RunEvent,
    RunEventKind, RunOutcome, ShardInfo, StepRecord, Totals, Verdict,
};
use crate::trace::TraceIndex;

/// The report's file name inside the output directory.
pub const REPORT_FILE: &str = "staging-run-report.json";

/// Version of the report's shape; see the module docs for when it changes.
///
/// 2: flow status `timed_out`, run outcomes `timed_out` and `max_failures_reached`,
/// `outcome_reason`, `totals.timed_out`.
/// 3: `evidence_files` (each cited file's SHA-256, for `flows gate`), criteria's `proves`.
/// Added since, within 3 (a reader must ignore what it does not know): the artifact kinds of
/// `expect_screenshot` (expected, actual, diff) and the `contract` evidence rows;
/// `environment.suite_fingerprint`, `shard` (`--shard i/n`) and `merged` (`flows merge-reports`).
pub const SCHEMA_VERSION: u32 = 3;

/// What a run did and what it proved: one file per run, `staging-run-report.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "flows staging run report")]
pub struct StagingRunReport {
    /// Version of this report's shape (3).
    pub schema_version: u32,
    pub run_id: String,
    /// When the run started (RFC 3339); null if the run never said it started.
    #[schemars(extend("format" = "date-time"))]
    pub started_at: Option<String>,
    /// When the run finished, or the time of the last event when it never said so (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub finished_at: Option<String>,
    pub duration_ms: u64,
    /// `completed`, `interrupted` (a signal: Ctrl-C, SIGTERM, SIGHUP, SIGQUIT; or the run ended without finishing),
    /// `aborted` (health pre-check or infrastructure failure), `timed_out` (the run timeout was
    /// reached) or `max_failures_reached` (`--max-failures` flows failed; no more were started).
    pub outcome: RunOutcome,
    /// Why the run stopped early, in words (`run timeout (30m) reached`); null when it
    /// completed.
    pub outcome_reason: Option<String>,
    pub environment: EnvironmentReport,
    /// The health pre-check; null when it did not run.
    pub health: Option<HealthReport>,
    /// Flow totals, counted from `flows`.
    pub totals: Totals,
    /// Criterion totals, counted from `criteria`.
    pub criteria_totals: CriteriaTotals,
    /// Every flow the plan listed, in plan order; a flow that never started is `not_run`.
    pub flows: Vec<FlowReport>,
    /// Every criterion of the run, with the flow that recorded it.
    pub criteria: Vec<CriterionReport>,
    pub mail: MailReport,
    pub realtime: RealtimeReport,
    /// Artifacts that belong to no flow (paths relative to the output directory).
    pub artifacts: Vec<Artifact>,
    /// What the person running should know that is not a flow result.
    pub notices: Vec<NoticeReport>,
    /// Every file this report cites (artifacts, downloads, attachments, the event log), with
    /// its size and SHA-256 as the run left it (taken after the last redaction pass).
    /// `flows gate` passes a criterion only while its files still match.
    #[serde(default)]
    pub evidence_files: Vec<EvidenceFile>,
    /// Set when this run is one shard of a larger plan (`flows run --shard i/n`): which one,
    /// what the partition balanced, and the whole plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// Set when this run was merged from shards (`flows merge-reports`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergeInfo>,
}

/// A file of the run as it was when the run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceFile {
    /// Relative to the run's output directory.
    pub path: PathBuf,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EnvironmentReport {
    pub profile: String,
    pub base_url: String,
    pub runner_version: String,
    /// One entry per browser session opened.
    pub browsers: Vec<BrowserReport>,
    /// The run's output directory; artifact paths are relative to it.
    pub output_dir: PathBuf,
    /// SHA-256 of the suite (config file, profile, flow files): runs of the same suite share
    /// it. Absent in reports of runs that did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite_fingerprint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BrowserReport {
    pub user: String,
    pub browser: String,
    pub version: String,
    /// Whether the session speaks WebDriver BiDi.
    pub bidi: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HealthReport {
    pub passed: bool,
    pub skipped: bool,
    /// Services reported unhealthy.
    pub failing: Vec<String>,
    pub summary: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CriteriaTotals {
    pub pass: u32,
    pub failed: u32,
    pub unverified: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FlowReport {
    pub id: String,
    pub title: String,
    /// The flow file, as the plan named it.
    pub file: PathBuf,
    pub user: Option<String>,
    pub needs: Vec<String>,
    pub tags: Vec<String>,
    pub status: FlowStatus,
    /// Attempts made; 0 when the flow never started.
    pub attempts: u32,
    /// Null when the flow did not run (skipped, not run).
    pub duration_ms: Option<u64>,
    /// Why the flow was skipped or not run; the failing step's error when it failed.
    pub reason: Option<String>,
    /// Index of the step that failed the flow.
    pub failed_step: Option<usize>,
    /// The steps of the last attempt. Once the trace writer has folded the flow's trace parts
    /// into `trace.html`, a step's `trace` keeps its URL, title, console, network and exchange,
    /// and its part paths (`dom_snapshot`, `screenshot_before`, `screenshot_after`) are null.
    pub steps: Vec<StepRecord>,
    /// Every artifact of the flow, its steps' included, and its kept trace (`kind: trace`,
    /// `<flow id>/trace.html`); paths are relative to the output directory.
    pub artifacts: Vec<Artifact>,
    pub criteria: Vec<Criterion>,
    /// Attempts a retry replaced (a flaky flow's failures).
    pub earlier_attempts: Vec<AttemptReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AttemptReport {
    pub attempt: u32,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CriterionReport {
    /// The flow that recorded it; null for a run-level criterion (e.g. health).
    pub flow: Option<String>,
    pub name: String,
    pub verdict: Verdict,
    pub evidence: Vec<String>,
    pub note: Option<String>,
    /// What kind of claim it is (`mail_code`, `realtime_event`, `health`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proves: Option<Proof>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MailReport {
    /// Every message a step read, in run order.
    pub messages: Vec<MailMessageReport>,
    /// Median (nearest rank) of `latency_seen_ms`; null when no message was read.
    pub latency_p50_ms: Option<u64>,
    /// Maximum of `latency_seen_ms`; null when no message was read.
    pub latency_max_ms: Option<u64>,
    /// Median (nearest rank) of the `latency_source_ms` the mail source recorded; null when
    /// the source recorded none.
    pub latency_source_p50_ms: Option<u64>,
    pub latency_source_max_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MailMessageReport {
    pub flow: String,
    /// Index of the step that read it (0-based, as `flows[].steps[].index`).
    pub step: usize,
    /// Line of that step in its flow file.
    pub line: u32,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    /// The mail source that delivered it (mail-report endpoint, Mailpit, ...).
    pub source: String,
    /// Delivered after the action: from the start of the triggering step to the best
    /// arrival time known (see `latency_source_basis`); null when none is known.
    pub latency_source_ms: Option<u64>,
    /// How precise `latency_source_ms` is: 1 (milliseconds) or 1000 (a Date header: whole
    /// seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_source_resolution_ms: Option<u64>,
    /// `received` (the source's receive time), `announced` (the source's event stream, runner
    /// clock) or `date_header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_source_basis: Option<String>,
    /// Seen by the runner: from the start of the triggering step to the runner first seeing
    /// the message (includes any steps in between).
    pub latency_seen_ms: u64,
    /// What the wait listened to: the source's event stream, or `polling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited_on: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RealtimeReport {
    /// Every realtime frame a step kept as evidence, in run order.
    pub frames: Vec<RealtimeFrameReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RealtimeFrameReport {
    pub flow: String,
    /// Index of the step that received it (0-based).
    pub step: usize,
    pub subscription: String,
    pub channel: Option<String>,
    pub event: String,
    /// The event's data, redacted.
    pub data: serde_json::Value,
    /// Milliseconds since the run started.
    pub received_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NoticeReport {
    pub flow: Option<String>,
    pub message: String,
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
}

/// The JSON Schema of [`StagingRunReport`], pretty-printed, for `flows schema --report` and for
/// consumers of the report.
pub fn report_schema_json() -> String {
    let mut schema = schemars::schema_for!(StagingRunReport);
    schema.insert(
        "$id".to_owned(),
        format!("urn:flows:staging-run-report:{SCHEMA_VERSION}").into(),
    );
    let mut text = serde_json::to_string_pretty(&schema)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the schema: {e}\"}}"));
    text.push('\n');
    text
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

impl StagingRunReport {
    /// The report the events so far add up to; `outcome_if_unfinished` is the outcome to state
    /// when `RunFinished` never came.
    pub(crate) fn from_state(state: &RunState, outcome_if_unfinished: RunOutcome) -> Self {
        let outcome = state.outcome_or(outcome_if_unfinished);
        let run = state.run.as_ref();
        let scope = run.and_then(|r| r.scope.as_ref());
        let mut notices: Vec<NoticeReport> = state
            .notices
            .iter()
            .map(|n| NoticeReport {
                flow: n.flow.clone(),
                message: n.message.clone(),
                elapsed_ms: n.elapsed_ms,
            })
            .collect();
        if state.end.is_none() {
            notices.push(NoticeReport {
                flow: None,
                message: format!(
                    "the run ended without a final event; this report was written from the {} \
                     events received",
                    state.events_seen
                ),
                elapsed_ms: state.last_elapsed_ms,
            });
        }

        let flows: Vec<FlowReport> = state.flows.iter().map(|f| flow_report(f, state)).collect();

        let mut criteria_totals = CriteriaTotals::default();
        let criteria = state
            .criteria
            .iter()
            .map(|c| {
                match c.criterion.verdict {
                    Verdict::Pass => criteria_totals.pass += 1,
                    Verdict::Failed => criteria_totals.failed += 1,
                    Verdict::Unverified => criteria_totals.unverified += 1,
                }
                CriterionReport {
                    flow: c.flow.clone(),
                    name: c.criterion.name.clone(),
                    verdict: c.criterion.verdict,
                    evidence: c.criterion.evidence.clone(),
                    note: c.criterion.note.clone(),
                    proves: c.criterion.proves,
                }
            })
            .collect();

        let (mail, realtime) = evidence_reports(state);

        Self {
            schema_version: SCHEMA_VERSION,
            run_id: state.run_id().to_owned(),
            started_at: run.map(|r| rfc3339(r.at)),
            finished_at: state
                .end
                .as_ref()
                .map(|e| e.at)
                .or(state.last_at)
                .map(rfc3339),
            duration_ms: state
                .end
                .as_ref()
                .map_or(state.last_elapsed_ms, |e| e.duration_ms),
            outcome,
            outcome_reason: state.end.as_ref().and_then(|e| e.reason.clone()),
            environment: EnvironmentReport {
                profile: run.map(|r| r.profile.clone()).unwrap_or_default(),
                base_url: run.map(|r| r.base_url.clone()).unwrap_or_default(),
                runner_version: run.map(|r| r.runner_version.clone()).unwrap_or_default(),
                browsers: state
                    .browsers
                    .iter()
                    .map(|b| BrowserReport {
                        user: b.user.clone(),
                        browser: b.browser.clone(),
                        version: b.version.clone(),
                        bidi: b.bidi,
                    })
                    .collect(),
                output_dir: run.map(|r| r.output_dir.clone()).unwrap_or_default(),
                suite_fingerprint: scope.map(|s| s.suite_fingerprint.clone()),
            },
            health: state.health.as_ref().map(|h| HealthReport {
                passed: h.passed,
                skipped: h.skipped,
                failing: h.failing.clone(),
                summary: h.summary.clone(),
            }),
            totals: state.totals(),
            criteria_totals,
            flows,
            criteria,
            mail,
            realtime,
            artifacts: state.run_artifacts.clone(),
            notices,
            evidence_files: vec![],
            shard: scope.and_then(|s| s.shard.clone()),
            merged: scope.and_then(|s| s.merged.clone()),
        }
    }
}

impl StagingRunReport {
    /// Points the report at the traces the trace writer kept: a `trace` artifact per kept
    /// trace (`<flow>/trace.html`, with its size). For every flow the writer folded, the steps'
    /// raw part paths (`trace.dom_snapshot`, `trace.screenshot_before/after`) are cleared: those
    /// files were folded into the trace and deleted, and a report must not point at files that
    /// are not there. URL, title, console, network and exchange stay.
    pub(crate) fn with_traces(mut self, traces: &TraceIndex) -> Self {
        for flow in &mut self.flows {
            if !traces.folded(&flow.id) {
                continue;
            }
            let steps = flow.steps.iter_mut().chain(
                flow.earlier_attempts
                    .iter_mut()
                    .flat_map(|a| a.steps.iter_mut()),
            );
            for step in steps {
                if let Some(t) = step.trace.as_mut() {
                    t.dom_snapshot = None;
                    t.screenshot_before = None;
                    t.screenshot_after = None;
                }
            }
            if let Some(trace) = traces.trace_of(&flow.id) {
                match flow.artifacts.iter_mut().find(|a| a.path == trace.path) {
                    Some(a) => a.bytes = trace.bytes,
                    None => flow.artifacts.push(Artifact {
                        kind: ArtifactKind::Trace,
                        path: trace.path,
                        bytes: trace.bytes,
                    }),
                }
            }
        }
        self
    }
}

fn flow_report(f: &FlowState, state: &RunState) -> FlowReport {
    let status = f.status();
    let reason = match status {
        FlowStatus::Passed | FlowStatus::Flaky => f.end.as_ref().and_then(|e| e.reason.clone()),
        _ => f.reason(state.outcome()),
    };
    FlowReport {
        id: f.plan.id.clone(),
        title: f.plan.title.clone(),
        file: f.plan.file.clone(),
        user: f.plan.user.clone(),
        needs: f.plan.needs.clone(),
        tags: f.plan.tags.clone(),
        status,
        attempts: f.attempt,
        duration_ms: f
            .end
            .as_ref()
            .filter(|_| !matches!(status, FlowStatus::Skipped | FlowStatus::NotRun))
            .map(|e| e.duration_ms),
        reason,
        failed_step: f.failed_step().map(|s| s.index),
        steps: f.steps.clone(),
        artifacts: f.artifacts.clone(),
        criteria: state
            .criteria
            .iter()
            .filter(|c| c.flow.as_deref() == Some(f.id()))
            .map(|c| c.criterion.clone())
            .collect(),
        earlier_attempts: f
            .earlier_attempts
            .iter()
            .map(|a| AttemptReport {
                attempt: a.attempt,
                duration_ms: a.duration_ms,
                error: a.error.clone(),
                steps: a.steps.clone(),
            })
            .collect(),
    }
}

fn evidence_reports(state: &RunState) -> (MailReport, RealtimeReport) {
    let mut messages = Vec::new();
    let mut frames = Vec::new();
    for f in &state.flows {
        for step in &f.steps {
            for evidence in &step.evidence {
                match evidence {
                    Evidence::Mail {
                        to,
                        subject,
                        message_id,
                        source,
                        latency_source_ms,
                        latency_source_resolution_ms,
                        latency_source_basis,
                        latency_seen_ms,
                        waited_on,
                        ..
                    } => messages.push(MailMessageReport {
                        flow: f.plan.id.clone(),
                        step: step.index,
                        line: step.line,
                        to: to.clone(),
                        subject: subject.clone(),
                        message_id: message_id.clone(),
                        source: source.clone(),
                        latency_source_ms: *latency_source_ms,
                        latency_source_resolution_ms: *latency_source_resolution_ms,
                        latency_source_basis: latency_source_basis.clone(),
                        latency_seen_ms: *latency_seen_ms,
                        waited_on: waited_on.clone(),
                    }),
                    Evidence::RealtimeFrame {
                        subscription,
                        channel,
                        event,
                        data,
                        received_ms,
                    } => frames.push(RealtimeFrameReport {
                        flow: f.plan.id.clone(),
                        step: step.index,
                        subscription: subscription.clone(),
                        channel: channel.clone(),
                        event: event.clone(),
                        data: data.clone(),
                        received_ms: *received_ms,
                    }),
                    Evidence::Http { .. }
                    | Evidence::Download { .. }
                    | Evidence::Attachment { .. }
                    | Evidence::Dialog { .. }
                    | Evidence::Contract { .. } => {}
                }
            }
        }
    }
    let seen: Vec<u64> = messages.iter().map(|m| m.latency_seen_ms).collect();
    let source: Vec<u64> = messages
        .iter()
        .filter_map(|m| m.latency_source_ms)
        .collect();
    let seen = LatencySummary::of(&seen);
    let source = LatencySummary::of(&source);
    let mail = MailReport {
        messages,
        latency_p50_ms: seen.map(|l| l.p50_ms),
        latency_max_ms: seen.map(|l| l.max_ms),
        latency_source_p50_ms: source.map(|l| l.p50_ms),
        latency_source_max_ms: source.map(|l| l.max_ms),
    };
    (mail, RealtimeReport { frames })
}

impl StagingRunReport {
    /// Every file the report cites, relative to the output directory, in report order without
    /// repeats: the event log, run artifacts, each flow's and step's artifacts, downloads and
    /// mail attachments.
    pub fn cited_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = vec![PathBuf::from(super::event_log::EVENT_LOG_FILE)];
        let mut add = |p: &Path| {
            if !out.iter().any(|o| o == p) {
                out.push(p.to_owned());
            }
        };
        for a in &self.artifacts {
            add(&a.path);
        }
        for f in &self.flows {
            for p in flow_files(f) {
                add(&p);
            }
        }
        out
    }

    /// The recorded digest of `path`, if the report recorded one.
    pub fn evidence_file(&self, path: &Path) -> Option<&EvidenceFile> {
        self.evidence_files.iter().find(|e| e.path == path)
    }
}

/// The files one flow's entry cites: its artifacts, its steps' artifacts, downloads and
/// attachments (last attempt only; earlier attempts prove nothing).
pub fn flow_files(f: &FlowReport) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut add = |p: &Path| {
        if !out.iter().any(|o| o == p) {
            out.push(p.to_owned());
        }
    };
    for a in &f.artifacts {
        add(&a.path);
    }
    for s in &f.steps {
        for a in &s.artifacts {
            add(&a.path);
        }
        for e in &s.evidence {
            match e {
                Evidence::Download { path, .. } | Evidence::Attachment { path, .. } => add(path),
                Evidence::Mail { .. }
                | Evidence::RealtimeFrame { .. }
                | Evidence::Http { .. }
                | Evidence::Dialog { .. }
                | Evidence::Contract { .. } => {}
            }
        }
    }
    out
}

/// SHA-256 of a file, lowercase hex, and its size; streamed (a download may be large).
pub fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((bytes, format!("{:x}", hasher.finalize())))
}

/// Whether `path` stays inside the directory it is relative to (no root, no `..`).
pub fn is_inside(path: &Path) -> bool {
    use std::path::Component;
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Records the SHA-256 of every file the report in `output_dir` cites into its
/// `evidence_files`, and writes it again (atomically). Run last, after every file of the run
/// is final (the redaction sweep rewrites files). A cited file that is not there is left out:
/// the gate then says it was never recorded. No report: nothing to do.
pub fn seal(output_dir: &Path) -> Result<(), ReportError> {
    let path = output_dir.join(REPORT_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(ReportError::Write { path, source }),
    };
    let mut report: StagingRunReport = serde_json::from_slice(&text).map_err(ReportError::Json)?;
    report.evidence_files = report
        .cited_files()
        .into_iter()
        .filter(|p| is_inside(p))
        .filter_map(|p| {
            let (bytes, sha256) = sha256_file(&output_dir.join(&p)).ok()?;
            Some(EvidenceFile {
                path: p,
                bytes,
                sha256,
            })
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&report).map_err(ReportError::Json)?;
    bytes.push(b'\n');
    crate::artifact::write_atomic_reserved(&path, &bytes)
        .map_err(|source| ReportError::Write { path, source })
}

/// The report the event log `text` (`events.jsonl`) adds up to, as the JSON reporter would have
/// built it (without trace folding or digests): a cross-check of a report read from disk. A
/// line that is not an event is an error, naming its number.
pub fn report_from_event_log(text: &str) -> Result<StagingRunReport, String> {
    let mut state = RunState::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: RunEvent = serde_json::from_str(line)
            .map_err(|e| format!("line {} is not an event: {e}", n + 1))?;
        state.apply(&event);
    }
    Ok(StagingRunReport::from_state(
        &state,
        RunOutcome::Interrupted,
    ))
}

/// Writes `staging-run-report.json` into the output directory.
pub struct JsonReporter {
    path: PathBuf,
    state: RunState,
    /// The traces kept so far (see [`StagingRunReport::with_traces`]).
    traces: TraceIndex,
    /// Events arrived since the report was last written.
    dirty: bool,
}

impl JsonReporter {
    pub fn new(output_dir: &Path) -> Self {
        Self {
            path: output_dir.join(REPORT_FILE),
            state: RunState::default(),
            traces: TraceIndex::new(),
            dirty: false,
        }
    }

    /// Reads kept traces from `traces` (the trace writer's index) when writing the report.
    pub fn with_traces(mut self, traces: TraceIndex) -> Self {
        self.traces = traces;
        self
    }

    /// The traces the report points at.
    pub fn traces(&self) -> &TraceIndex {
        &self.traces
    }

    /// Where the report is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The report the events so far add up to, stating `outcome` if the run has not finished.
    pub fn report(&self, outcome: RunOutcome) -> StagingRunReport {
        StagingRunReport::from_state(&self.state, outcome).with_traces(&self.traces)
    }

    /// Writes the report now, from the events so far, stating `outcome` if the run has not
    /// finished (a `RunFinished` already received wins). Returns the file written.
    pub fn write_partial(&self, outcome: RunOutcome) -> Result<PathBuf, ReportError> {
        self.write(&self.report(outcome))?;
        Ok(self.path.clone())
    }

    fn write(&self, report: &StagingRunReport) -> Result<(), ReportError> {
        let mut bytes = serde_json::to_vec_pretty(report).map_err(ReportError::Json)?;
        bytes.push(b'\n');
        crate::artifact::write_atomic_reserved(&self.path, &bytes).map_err(|source| {
            ReportError::Write {
                path: self.path.clone(),
                source,
            }
        })
    }
}

impl EventSink for JsonReporter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        self.state.apply(event);
        self.dirty = true;
        if matches!(event.kind, RunEventKind::RunFinished { .. }) {
            self.write(&self.report(RunOutcome::Interrupted))?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Writes the report if anything arrived since it was last written: a run that never sent
    /// `RunFinished` gets a report saying `interrupted`.
    fn finish(&mut self) -> anyhow::Result<()> {
        if self.dirty {
            self.write(&self.report(RunOutcome::Interrupted))?;
            self.dirty = false;
        }
        Ok(())
    }
}
