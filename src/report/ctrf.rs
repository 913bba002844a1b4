//! `ctrf-report.json`: the run in the Common Test Report Format (<https://ctrf.io>, spec 0.0),
//! so the CTRF tools (GitHub summary and PR comments, Jenkins, Slack) read a `flows` run.
//!
//! One test per flow, in plan order. What CTRF has no field for goes under `extra` (the run's
//! outcome and criteria, a flow's criteria and title): a consumer that knows only CTRF sees the
//! flows; one that reads `extra` sees what the run proved.
//!
//! Status mapping: passed → `passed`; flaky → `passed` with `flaky: true` and the failed
//! attempts in `retryAttempts`; failed → `failed`; timed out → `failed` (`rawStatus:
//! timed_out`); skipped → `skipped`; not run (the run ended first) → `other` (`rawStatus:
//! not_run`): a flow nobody ran is not a deliberate skip.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::run_state::{FlowState, RunState};
use super::{text, ReportError};
use crate::events::{
    ArtifactKind, EventSink, FlowStatus, RunEvent, RunEventKind, RunOutcome, StepStatus,
};

/// The CTRF file's name inside the output directory.
pub const CTRF_FILE: &str = "ctrf-report.json";
/// The CTRF specification version written.
pub const CTRF_SPEC_VERSION: &str = "0.0.0";

/// Writes `ctrf-report.json` at `RunFinished` (or at `finish` when the run never finished).
pub struct CtrfReporter {
    path: PathBuf,
    state: RunState,
    dirty: bool,
}

impl CtrfReporter {
    pub fn new(output_dir: &Path) -> Self {
        Self {
            path: output_dir.join(CTRF_FILE),
            state: RunState::default(),
            dirty: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self) -> Result<(), ReportError> {
        let report = build_report(&self.state, time::OffsetDateTime::now_utc());
        let mut bytes = serde_json::to_vec_pretty(&report).map_err(ReportError::Json)?;
        bytes.push(b'\n');
        crate::artifact::write_atomic(&self.path, &bytes).map_err(|source| ReportError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

impl EventSink for CtrfReporter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        self.state.apply(event);
        self.dirty = true;
        if matches!(event.kind, RunEventKind::RunFinished { .. }) {
            self.write()?;
            self.dirty = false;
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        if self.dirty {
            self.write()?;
            self.dirty = false;
        }
        Ok(())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    report_format: &'static str,
    spec_version: &'static str,
    timestamp: String,
    generated_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
    results: Results,
}

#[derive(Serialize)]
struct Results {
    tool: Tool,
    summary: Summary,
    tests: Vec<Test>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Environment>,
    extra: Map<String, Value>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

#[derive(Serialize)]
struct Summary {
    tests: u32,
    passed: u32,
    failed: u32,
    skipped: u32,
    pending: u32,
    other: u32,
    flaky: u32,
    start: i64,
    stop: i64,
    duration: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Environment {
    test_environment: String,
    extra: Map<String, Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Test {
    name: String,
    status: &'static str,
    raw_status: &'static str,
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    flaky: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    retry_attempts: Vec<Attempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    browser: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<Step>,
    extra: Map<String, Value>,
}

#[derive(Serialize)]
struct Attempt {
    attempt: u32,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    name: String,
    content_type: &'static str,
    /// Relative to the report's directory (the run's output directory).
    path: String,
}

#[derive(Serialize)]
struct Step {
    name: String,
    status: &'static str,
}

fn epoch_ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn build_report(state: &RunState, now: time::OffsetDateTime) -> Report {
    let run = state.run.as_ref();
    let outcome = state.outcome_or(RunOutcome::Interrupted);
    let tests: Vec<Test> = state.flows.iter().map(|f| test(f, state)).collect();
    let count = |status: &str| u32::try_from(tests.iter().filter(|t| t.status == status).count());
    let start = run.map_or(now, |r| r.at);
    let stop = state
        .end
        .as_ref()
        .map(|e| e.at)
        .or(state.last_at)
        .unwrap_or(now);
    let summary = Summary {
        tests: u32::try_from(tests.len()).unwrap_or(u32::MAX),
        passed: count("passed").unwrap_or(0),
        failed: count("failed").unwrap_or(0),
        skipped: count("skipped").unwrap_or(0),
        pending: 0,
        other: count("other").unwrap_or(0),
        flaky: u32::try_from(tests.iter().filter(|t| t.flaky).count()).unwrap_or(0),
        start: epoch_ms(start),
        stop: epoch_ms(stop),
        duration: state
            .end
            .as_ref()
            .map_or(state.last_elapsed_ms, |e| e.duration_ms),
    };
    let mut extra = Map::new();
    extra.insert("outcome".into(), json!(text::outcome_word(outcome)));
    if state.end.is_none() {
        extra.insert(
            "note".into(),
            json!("the run ended without a final event; results are from the events received"),
        );
    }
    if let Some(reason) = state.end.as_ref().and_then(|e| e.reason.as_deref()) {
        extra.insert("outcome_reason".into(), json!(reason));
    }
    extra.insert("criteria".into(), criteria(state, None));
    let environment = run.map(|r| Environment {
        test_environment: r.profile.clone(),
        extra: Map::from_iter([("base_url".to_owned(), json!(r.base_url))]),
    });
    Report {
        report_format: "CTRF",
        spec_version: CTRF_SPEC_VERSION,
        timestamp: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        generated_by: format!("flows {}", env!("CARGO_PKG_VERSION")),
        run_id: run.map(|r| r.run_id.clone()).filter(|id| !id.is_empty()),
        results: Results {
            tool: Tool {
                name: "flows",
                version: run.map(|r| r.runner_version.clone()),
            },
            summary,
            tests,
            environment,
            extra,
        },
    }
}

/// The criteria of `flow` (or every criterion when `None`), with their verdicts.
fn criteria(state: &RunState, flow: Option<&str>) -> Value {
    Value::Array(
        state
            .criteria
            .iter()
            .filter(|c| flow.is_none() || c.flow.as_deref() == flow)
            .map(|c| {
                json!({
                    "name": c.criterion.name,
                    "verdict": text::verdict_word(c.criterion.verdict),
                    "flow": c.flow,
                    "evidence": c.criterion.evidence,
                })
            })
            .collect(),
    )
}

fn test(flow: &FlowState, state: &RunState) -> Test {
    let file = flow.plan.file.as_path();
    let reason = flow.reason(state.outcome());
    let (status, raw_status) = match flow.status() {
        FlowStatus::Passed => ("passed", "passed"),
        FlowStatus::Flaky => ("passed", "flaky"),
        FlowStatus::Failed => ("failed", "failed"),
        FlowStatus::TimedOut => ("failed", "timed_out"),
        FlowStatus::Skipped => ("skipped", "skipped"),
        FlowStatus::NotRun => ("other", "not_run"),
    };
    let failed_step = flow.failed_step();
    let message = match flow.status() {
        FlowStatus::Failed | FlowStatus::TimedOut => {
            Some(text::failure_headline(file, failed_step, reason.as_deref()))
        }
        FlowStatus::Skipped | FlowStatus::NotRun => reason.clone(),
        FlowStatus::Passed | FlowStatus::Flaky => None,
    };
    let trace = failed_step.and_then(|s| s.error.clone());
    let retry_attempts: Vec<Attempt> = flow
        .earlier_attempts
        .iter()
        .map(|a| Attempt {
            attempt: a.attempt.max(1),
            status: "failed",
            duration: a.duration_ms,
            message: a.error.clone(),
        })
        .collect();
    let browser = flow.plan.user.as_deref().and_then(|user| {
        state
            .browsers
            .iter()
            .find(|b| b.user == user)
            .map(|b| format!("{} {}", b.browser, b.version))
    });
    let mut extra = Map::new();
    extra.insert("id".into(), json!(flow.plan.id));
    extra.insert("title".into(), json!(flow.plan.title));
    if !flow.plan.needs.is_empty() {
        extra.insert("needs".into(), json!(flow.plan.needs));
    }
    extra.insert("criteria".into(), criteria(state, Some(flow.id())));
    Test {
        name: format!("{}: {}", flow.plan.id, flow.plan.title),
        status,
        raw_status,
        duration: flow
            .end
            .as_ref()
            .filter(|e| !matches!(e.status, FlowStatus::Skipped | FlowStatus::NotRun))
            .map_or(0, |e| e.duration_ms),
        message,
        trace,
        line: failed_step.map(|s| s.line),
        tags: flow.plan.tags.clone(),
        kind: "e2e",
        file_path: (!file.as_os_str().is_empty()).then(|| file.display().to_string()),
        retries: (flow.attempt > 1).then(|| flow.attempt - 1),
        flaky: flow.status() == FlowStatus::Flaky,
        retry_attempts,
        browser,
        attachments: flow
            .artifacts
            .iter()
            .map(|a| Attachment {
                name: format!(
                    "{}: {}",
                    text::artifact_label(a.kind),
                    a.path
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                ),
                content_type: content_type(a.kind, &a.path),
                path: a.path.display().to_string(),
            })
            .collect(),
        steps: flow
            .steps
            .iter()
            .map(|s| Step {
                name: text::step_line(file, s),
                status: match s.status {
                    StepStatus::Passed => "passed",
                    StepStatus::Failed => "failed",
                    StepStatus::Skipped => "skipped",
                },
            })
            .collect(),
        extra,
    }
}

fn content_type(kind: ArtifactKind, path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match (kind, ext.as_deref()) {
        (_, Some("png")) => "image/png",
        (_, Some("jpg" | "jpeg")) => "image/jpeg",
        (_, Some("html" | "htm")) => "text/html",
        (_, Some("json")) => "application/json",
        (_, Some("jsonl")) => "application/x-ndjson",
        (_, Some("txt" | "log")) => "text/plain",
        (_, Some("pdf")) => "application/pdf",
        (_, Some("zip")) => "application/zip",
        (_, Some("csv")) => "text/csv",
        (
            ArtifactKind::Screenshot
            | ArtifactKind::ScreenshotExpected
            | ArtifactKind::ScreenshotActual
            | ArtifactKind::ScreenshotDiff,
            _,
        ) => "image/png",
        (ArtifactKind::PageHtml | ArtifactKind::Trace | ArtifactKind::Report, _) => "text/html",
        (ArtifactKind::Log, _) => "text/plain",
        (ArtifactKind::Download | ArtifactKind::Attachment, _) => "application/octet-stream",
    }
}
