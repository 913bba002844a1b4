//! The run's event stream: everything the executor tells the outside world.
//!
//! The executor emits [`RunEvent`]s in order; every reporter (terminal, JSON report, JUnit,
//! HTML, trace writer, event log) is a consumer of this one stream and never reaches back into
//! the executor. Every output can be rebuilt from the saved event log (`events.jsonl`).
//!
//! Values in events are already redacted: the executor redacts secrets at the source, before an
//! event is built.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One thing that happened during a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunEvent {
    /// Wall-clock time the event was emitted.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
    pub kind: RunEventKind,
}

// `StepFinished` carries a whole `StepRecord`; events are built once and passed by reference,
// so boxing it would only add an allocation per step. (`allow`, not `expect`: older clippy
// versions do not fire here.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEventKind {
    RunStarted {
        run_id: String,
        profile: String,
        base_url: String,
        runner_version: String,
        output_dir: PathBuf,
        flows: Vec<PlannedFlow>,
        /// `off`, `on`, `retain-on-failure` (default) or `on-first-retry`.
        #[serde(default)]
        trace_mode: String,
        /// The suite this run belongs to, the shard it is, the shards it merges; absent in
        /// logs written before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<RunScope>,
    },
    /// The health pre-check ran (or was skipped, with `skipped: true`).
    HealthChecked {
        passed: bool,
        skipped: bool,
        failing: Vec<String>,
        summary: String,
    },
    /// A browser session was opened for a user.
    BrowserStarted {
        user: String,
        browser: String,
        version: String,
        bidi: bool,
    },
    FlowStarted {
        flow: String,
        attempt: u32,
        /// The worker running it (`--workers` above 1: 1, 2, …); absent in a serial run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<u32>,
    },
    StepStarted {
        flow: String,
        index: usize,
        kind: String,
        line: u32,
    },
    StepFinished {
        flow: String,
        step: StepRecord,
    },
    /// A verdict on something the run was meant to prove ("OTP delivered by mail").
    CriterionRecorded {
        flow: Option<String>,
        criterion: Criterion,
    },
    ArtifactWritten {
        flow: Option<String>,
        artifact: Artifact,
    },
    FlowFinished {
        flow: String,
        status: FlowStatus,
        attempt: u32,
        duration_ms: u64,
        /// Why it was skipped or not run; the failing step's error when failed.
        reason: Option<String>,
        /// Trace frames of the flow are still being written: its trace is complete at its
        /// `TraceSettled` (or at the run's end).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        trace_pending: bool,
    },
    /// Every trace part of a flow whose `FlowFinished` said `trace_pending` is on disk.
    TraceSettled {
        flow: String,
        attempt: u32,
    },
    /// Something the person running should know that is not a flow result (a fixed OTP was
    /// used, a retry happened, the web server was started).
    Notice {
        flow: Option<String>,
        message: String,
    },
    RunFinished {
        outcome: RunOutcome,
        totals: Totals,
        duration_ms: u64,
        /// Why the run stopped early, in words ("run timeout (30m) reached"); none when it
        /// completed.
        #[serde(default)]
        reason: Option<String>,
    },
}

/// What a run covers beyond its own flows, so that shards of one run can be put back together
/// (`flows run --shard`, `flows merge-reports`).
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
pub struct RunScope {
    /// SHA-256 (hex) of the suite: the config file, the profile and every flow file's text.
    /// Shards of one suite share it; `flows merge-reports` refuses runs whose fingerprints differ.
    pub suite_fingerprint: String,
    /// Set when this run is one shard of a larger plan (`--shard i/n`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// Set when this run was merged from shards (`flows merge-reports`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergeInfo>,
}

/// Which part of the plan a sharded run ran.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
pub struct ShardInfo {
    /// 1-based.
    pub index: u32,
    pub count: u32,
    /// What the partition balanced: `history` (durations from the run history) or `steps`
    /// (step counts, data-driven rows counted separately).
    pub key: String,
    /// SHA-256 (hex, 16 digits) of the whole partition (every flow and its shard): shards that
    /// partitioned differently (e.g. different run histories) differ here.
    pub partition: String,
    /// Every flow of the unsharded plan, in plan order: what the shards run together.
    pub plan: Vec<String>,
}

/// The shards a merged run was put together from.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
pub struct MergeInfo {
    pub shards: Vec<MergedShard>,
    /// Shards (`i/n`) that were not given (`--allow-partial`); their flows are `not_run` and
    /// the merged run is incomplete (`aborted`).
    pub missing: Vec<String>,
}

/// One shard of a merged run.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
pub struct MergedShard {
    /// `i/n`.
    pub shard: String,
    pub run_id: String,
    pub outcome: RunOutcome,
    /// Where its run-level files (health pre-check, logs) went, relative to the merged
    /// output directory.
    pub dir: PathBuf,
}

/// A flow as the plan lists it, before it runs.
#[derive(Debug, Clone, JsonSchema, Serialize, Deserialize)]
pub struct PlannedFlow {
    pub id: String,
    pub title: String,
    pub file: PathBuf,
    pub user: Option<String>,
    pub needs: Vec<String>,
    pub tags: Vec<String>,
}

/// How one step went.
#[derive(Debug, Clone, JsonSchema, Serialize, Deserialize)]
pub struct StepRecord {
    /// 0-based position in the flow.
    pub index: usize,
    pub kind: String,
    /// Line of the step in its flow file (or in `file`).
    pub line: u32,
    /// The step group file the step is written in, when it is not the flow's own file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// One line saying what the step does, variables resolved and secrets redacted.
    pub summary: String,
    pub status: StepStatus,
    pub duration_ms: u64,
    pub error: Option<String>,
    pub artifacts: Vec<Artifact>,
    pub evidence: Vec<Evidence>,
    /// WebDriver / BiDi round trips this step made.
    pub round_trips: u32,
    /// Where the step's time went (browser steps), so a slow step explains itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<StepTime>,
    /// What the trace keeps of this step (when tracing is on for the flow).
    #[serde(default)]
    pub trace: Option<StepTrace>,
    /// Set when the step passed but took far longer than it usually does (see
    /// `state::StepBaseline`): a route delayed within its timeouts shows up here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<SlowStep>,
}

/// A step that passed far slower than its median over the recent runs of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
pub struct SlowStep {
    /// The median duration of this step (same flow, position and kind) when it passed in the
    /// recent runs.
    pub median_ms: u64,
    /// How many recent runs the median is taken over.
    pub runs: u32,
}

/// A step's duration split by who spent it: `driver_ms + page_ms + runner_ms + evidence_ms`
/// is the step's `duration_ms` (within rounding).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
pub struct StepTime {
    /// In WebDriver calls (the driver and the browser acting), not counting `page_ms`.
    pub driver_ms: u64,
    /// Inside the page script: locating the element, checking it is actionable, and waiting
    /// in the page for it (or for an assertion) to hold.
    pub page_ms: u64,
    /// Everything else: the runner itself, HTTP, mail and realtime I/O, and pauses between
    /// polls (dialogs, windows, downloads).
    pub runner_ms: u64,
    /// After the step: its trace (DOM snapshot, screenshots) and, on failure, its evidence.
    pub evidence_ms: u64,
}

impl StepTime {
    /// Splits a step that took `step` (and `total` with its trace and evidence), of which
    /// `driver_us` in WebDriver calls and `page_us` of those inside the page script.
    pub fn split(step: Duration, total: Duration, driver_us: u64, page_us: u64) -> StepTime {
        let ms = |us: u64| us / 1000;
        let step_ms = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
        let total_ms = u64::try_from(total.as_millis()).unwrap_or(u64::MAX);
        let page_ms = ms(page_us).min(step_ms);
        let driver_ms = ms(driver_us.saturating_sub(page_us)).min(step_ms - page_ms);
        StepTime {
            driver_ms,
            page_ms,
            runner_ms: step_ms - page_ms - driver_ms,
            evidence_ms: total_ms.saturating_sub(step_ms),
        }
    }
}

/// The trace's view of one step. Paths are relative to the run's output directory; the trace
/// writer folds them into one self-contained file per flow.
#[derive(Debug, Clone, Default, JsonSchema, Serialize, Deserialize)]
pub struct StepTrace {
    /// Milliseconds since the run started, when the step started.
    pub started_ms: u64,
    /// The page URL after the step (redacted), for browser steps.
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    /// The page's DOM after the step (redacted HTML).
    pub dom_snapshot: Option<PathBuf>,
    /// No snapshot of its own: the next step (an `expect` or `wait_for` in the same page) brings
    /// the DOM back with its answer, and the trace shows that one for this step too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dom_from_next_step: bool,
    /// Screenshots before / after the step (JPEG), in `--trace on` mode.
    pub screenshot_before: Option<PathBuf>,
    pub screenshot_after: Option<PathBuf>,
    /// Browser console messages during the step. `None`: not captured (the driver offers no
    /// WebDriver BiDi log events, or they are not wired) — never an invented empty list.
    pub console: Option<Vec<ConsoleEntry>>,
    /// Network requests during the step; `None` as for `console`.
    pub network: Option<Vec<NetworkEntry>>,
    /// HTTP, mail and realtime steps: the exchange (redacted).
    pub exchange: Option<Exchange>,
}

#[derive(Debug, Clone, JsonSchema, Serialize, Deserialize)]
pub struct ConsoleEntry {
    pub level: String,
    pub text: String,
}

#[derive(Debug, Clone, JsonSchema, Serialize, Deserialize)]
pub struct NetworkEntry {
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    pub duration_ms: Option<u64>,
    /// Why the request failed without a response (`net::ERR_CONNECTION_REFUSED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A request and its response as a step saw them (secrets already redacted).
#[derive(Debug, Clone, JsonSchema, Serialize, Deserialize)]
pub struct Exchange {
    pub request: String,
    pub response: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Passed,
    Failed,
    /// Not run because an earlier step failed.
    Skipped,
}

/// A value a mail step took from a message, and where it was; the value itself is never here.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
pub struct MailExtraction {
    /// The variable the value went into.
    pub var: String,
    /// `code` or `link`.
    pub kind: String,
    /// `subject`, `text_part` or `html_part`.
    pub place: String,
    /// Codes: the character offset in that place's text. Links: the link's index (0-based)
    /// among the message's links.
    pub position: usize,
    /// Codes: the words around the value, the value masked. Links: the link's text and its
    /// origin, the path hidden (and whether a click-tracking redirect was unwrapped).
    pub context: String,
}

/// What a step observed that backs a claim.
#[derive(Debug, Clone, JsonSchema, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Evidence {
    Mail {
        to: String,
        subject: String,
        message_id: String,
        source: String,
        /// Delivered after the action: from the start of the triggering step to the best
        /// arrival time known (see `latency_source_basis`); null when none is known.
        latency_source_ms: Option<u64>,
        /// How precise `latency_source_ms` is: 1 (milliseconds) or 1000 (a Date header: whole
        /// seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_source_resolution_ms: Option<u64>,
        /// What the arrival time is: `received` (the source's receive time), `announced` (the
        /// runner's clock when the source's event stream announced it) or `date_header`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_source_basis: Option<String>,
        /// Seen by the runner: from the start of the triggering step to the runner first
        /// seeing the message (includes any steps in between).
        latency_seen_ms: u64,
        /// What the wait listened to: the source's event stream (e.g. `maildev socket.io
        /// newMail events`) or `polling`, with the reason when the stream was down.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waited_on: Option<String>,
        /// What the step took from the message and where it was (never the value itself).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        extracted: Vec<MailExtraction>,
    },
    RealtimeFrame {
        subscription: String,
        channel: Option<String>,
        event: String,
        /// The event's data, redacted.
        data: serde_json::Value,
        /// Milliseconds since the run started.
        received_ms: u64,
    },
    Http {
        method: String,
        url: String,
        status: u16,
        duration_ms: u64,
    },
    /// A file the browser downloaded, kept under the flow's `downloads/`.
    Download {
        file_name: String,
        /// Relative to the run's output directory.
        path: PathBuf,
        bytes: u64,
        /// Sniffed from the content, else from the file name.
        media_type: String,
        sha256: String,
    },
    /// A mail attachment a `mail` step checked, kept under the flow's `attachments/`.
    Attachment {
        message_id: String,
        /// The name the sender gave it.
        file_name: String,
        /// Relative to the run's output directory.
        path: PathBuf,
        bytes: u64,
        /// As the message declares it.
        media_type: String,
        sha256: String,
    },
    /// A JavaScript dialog the flow answered.
    Dialog {
        message: String,
        /// `accepted` or `dismissed`.
        answer: String,
    },
    /// One thing a no-break contract step (`guard`, `forbidden`, `download_headers`, `sse`,
    /// `routes`, `metrics`) checked: what, what it must be, what it was.
    Contract {
        /// The step kind.
        check: String,
        /// What was asked, e.g. `GET /inbox signed out`, `Content-Length`, `up{job="api"}`.
        subject: String,
        expected: String,
        actual: String,
        passed: bool,
    },
}

/// PASS / FAILED / UNVERIFIED for a claim, with what backs it.
#[derive(Debug, Clone, JsonSchema, Serialize, Deserialize)]
pub struct Criterion {
    pub name: String,
    pub verdict: Verdict,
    /// Human-readable pointers to the evidence (a message id, an artifact path, a frame).
    pub evidence: Vec<String>,
    pub note: Option<String>,
    /// What kind of claim this is (set by the runner from the step that records it), so that a
    /// gate can ask for "the sign-in code by mail" without reading names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proves: Option<Proof>,
}

/// The kinds of claim a run records; `flows gate` criteria select them (`proves = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, JsonSchema, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// The target answered healthy (the health pre-check).
    Health,
    /// A sign-in code delivered by mail (`mail` with `otp:`).
    MailCode,
    /// A link delivered by mail (`mail` with `link:`).
    MailLink,
    /// A mail delivered, nothing taken from it (`mail` without `otp:`/`link:`: a notification).
    MailDelivered,
    /// No such mail arrived (`mail` with `absent: true`).
    MailAbsent,
    /// Mails arrived in order (`mails`).
    MailSequence,
    /// A realtime event received (`expect_event`).
    RealtimeEvent,
}

/// A criterion without evidence is UNVERIFIED, never PASS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Failed,
    Unverified,
}

#[derive(Debug, Clone, JsonSchema, Serialize, Deserialize)]
pub struct Artifact {
    pub kind: ArtifactKind,
    /// Relative to the run's output directory.
    pub path: PathBuf,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    Screenshot,
    PageHtml,
    Trace,
    Log,
    Report,
    Download,
    // A mail attachment a `mail` step checked (a plain comment: a doc comment would turn the
    // schema's string enum into a `oneOf`).
    Attachment,
    // expect_screenshot's evidence: the baseline it compared with, the screenshot taken (also
    // the candidate when no baseline exists) and the diff image.
    ScreenshotExpected,
    ScreenshotActual,
    ScreenshotDiff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowStatus {
    Passed,
    Failed,
    /// Passed on a retry.
    Flaky,
    /// Not attempted, with a reason (a needed flow failed, not selected…).
    Skipped,
    /// The run ended (interrupt, run timeout, --max-failures) before the flow could run.
    NotRun,
    /// Stopped by the run timeout while it was running (its current step failed).
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Completed,
    /// A signal: SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT.
    Interrupted,
    /// Stopped by the health pre-check or an infrastructure failure.
    Aborted,
    /// The run timeout (`--run-timeout`, `[timeouts] run`) was reached.
    TimedOut,
    /// `--max-failures` flows failed, so no more were started.
    MaxFailuresReached,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, JsonSchema, Serialize, Deserialize)]
pub struct Totals {
    pub passed: u32,
    pub failed: u32,
    pub flaky: u32,
    pub skipped: u32,
    pub not_run: u32,
    /// Flows the run timeout stopped while they ran.
    #[serde(default)]
    pub timed_out: u32,
}

impl Totals {
    pub fn add(&mut self, status: FlowStatus) {
        match status {
            FlowStatus::Passed => self.passed += 1,
            FlowStatus::Failed => self.failed += 1,
            FlowStatus::Flaky => self.flaky += 1,
            FlowStatus::Skipped => self.skipped += 1,
            FlowStatus::NotRun => self.not_run += 1,
            FlowStatus::TimedOut => self.timed_out += 1,
        }
    }
}

/// Something that consumes the event stream. A reporter error is reported once and cancels the
/// run (a half-written report is worse than none).
pub trait EventSink: Send {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()>;
    /// Called once after `RunFinished`, to flush and write final files.
    fn finish(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_time_parts_add_up_to_the_duration() {
        let t = StepTime::split(
            Duration::from_millis(120),
            Duration::from_millis(150),
            90_000,
            60_000,
        );
        assert_eq!(
            t,
            StepTime {
                driver_ms: 30,
                page_ms: 60,
                runner_ms: 30,
                evidence_ms: 30
            }
        );
        // Counters a little over the measured step (rounding) never make a part negative.
        let t = StepTime::split(
            Duration::from_millis(10),
            Duration::from_millis(10),
            12_000,
            11_000,
        );
        assert_eq!(t.page_ms + t.driver_ms + t.runner_ms, 10);
        assert_eq!(t.page_ms, 10);
    }
}
