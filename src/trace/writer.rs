//! The trace writer: a consumer of the event stream that turns a flow's recorded parts into one
//! self-contained `<output>/<flow id>/trace.html`.
//!
//! While a flow records, the executor writes raw parts under `<output>/<flow id>/trace/` (a DOM
//! snapshot per browser step, JPEG frames in `--trace on` mode) and names them in each step's
//! [`StepTrace`](crate::events::StepTrace). The writer reads a step's parts when its
//! `StepFinished` arrives (a retry reuses the same file names), and at the flow's
//! `FlowFinished` (or, when that says `trace_pending`, at the flow's `TraceSettled`: its last
//! frames were still being written while the next flow started; until then the index lists
//! the trace as pending):
//!
//! - writes `trace.html` if the run's trace mode keeps this flow: `on` every flow,
//!   `retain-on-failure` a flow that did not pass (failed, flaky, or cut short by the end of the
//!   run), `on-first-retry` a flow that was retried;
//! - deletes `<flow id>/trace/` whether the trace was kept or not (and the flow's directory if
//!   that leaves it empty), so each flow leaves at most one trace file;
//! - records the result in the shared [`TraceIndex`], which the JSON report (a `trace`
//!   artifact of the flow), the HTML report and the terminal read.
//!
//! It emits no events (reporters never reach back into the executor). It reads the flow file
//! named by `RunStarted` to show each step's YAML. A flow the run never finished is written by
//! [`EventSink::finish`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::dom_snapshot::make_inert;
use super::flow_trace::{
    is_failure_screenshot, read_source, FlowTrace, RunMeta, TraceParts, TracedAttempt, TracedStep,
};
use super::trace_index::{TraceFile, TraceIndex};
use super::viewer;
use crate::events::{
    Criterion, EventSink, FlowStatus, PlannedFlow, RunEvent, RunEventKind, StepRecord,
};

/// The trace file's name inside `<output>/<flow id>/`.
pub const TRACE_FILE: &str = "trace.html";
/// Where the executor puts a flow's raw parts, inside `<output>/<flow id>/`.
const RAW_PARTS_DIR: &str = "trace";

/// Which flows keep their trace (the run's `trace_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeepPolicy {
    Off,
    On,
    RetainOnFailure,
    OnFirstRetry,
}

impl KeepPolicy {
    fn from_mode(mode: &str) -> KeepPolicy {
        match mode {
            "off" => KeepPolicy::Off,
            "on" => KeepPolicy::On,
            "on-first-retry" => KeepPolicy::OnFirstRetry,
            // The default mode; also what an event log without a mode gets.
            _ => KeepPolicy::RetainOnFailure,
        }
    }

    fn keeps(self, status: Option<FlowStatus>, attempts: &[TracedAttempt]) -> bool {
        match self {
            KeepPolicy::Off => false,
            KeepPolicy::On => true,
            KeepPolicy::RetainOnFailure => {
                !matches!(status, Some(FlowStatus::Passed) | Some(FlowStatus::Skipped))
            }
            KeepPolicy::OnFirstRetry => attempts.iter().any(|a| a.attempt >= 2),
        }
    }
}

/// One flow's recording so far.
#[derive(Default)]
struct Recording {
    attempts: Vec<TracedAttempt>,
    parts: TraceParts,
    criteria: Vec<Criterion>,
    /// Some step carried a `StepTrace`: the flow recorded.
    recorded: bool,
    /// Steps whose parts are not read yet: the executor writes parts on background threads and
    /// waits for them only before the flow (attempt) ends, so they are read then.
    unread: Vec<(StepRecord, u64)>,
}

pub struct TraceWriter {
    output_dir: PathBuf,
    index: TraceIndex,
    policy: KeepPolicy,
    run: RunMeta,
    plans: HashMap<String, PlannedFlow>,
    recordings: HashMap<String, Recording>,
    /// Flows finished with `trace_pending`: folded at their `TraceSettled` (or at the end).
    settling: HashMap<String, FlowEnd>,
}

/// How a flow ended, kept for a fold that comes later.
struct FlowEnd {
    status: Option<FlowStatus>,
    duration_ms: Option<u64>,
    reason: Option<String>,
}

impl TraceWriter {
    /// A writer for the run whose output directory is `output_dir`, recording what it does in
    /// `index`.
    pub fn new(output_dir: &Path, index: TraceIndex) -> Self {
        Self {
            output_dir: output_dir.to_owned(),
            index,
            policy: KeepPolicy::RetainOnFailure,
            run: RunMeta::default(),
            plans: HashMap::new(),
            recordings: HashMap::new(),
            settling: HashMap::new(),
        }
    }

    pub fn index(&self) -> &TraceIndex {
        &self.index
    }

    fn recording(&mut self, flow: &str) -> &mut Recording {
        self.recordings.entry(flow.to_owned()).or_default()
    }

    /// Reads the parts of the steps finished so far (at the end of an attempt).
    fn read_steps(&mut self, flow: &str) {
        let unread = std::mem::take(&mut self.recording(flow).unread);
        for (step, elapsed_ms) in unread {
            self.on_step(flow, &step, elapsed_ms);
        }
    }

    fn on_step(&mut self, flow: &str, step: &StepRecord, elapsed_ms: u64) {
        let output_dir = self.output_dir.clone();
        let rec = self.recording(flow);
        if rec.attempts.is_empty() {
            rec.attempts.push(TracedAttempt {
                attempt: 1,
                started_ms: elapsed_ms.saturating_sub(step.duration_ms),
                steps: Vec::new(),
            });
        }
        let mut traced = TracedStep {
            record: step.clone(),
            before: None,
            after: None,
            dom: None,
            failure_shot: None,
            visual: vec![],
            missing: Vec::new(),
        };
        let read =
            |rel: &Path, missing: &mut Vec<PathBuf>| match std::fs::read(output_dir.join(rel)) {
                Ok(bytes) => Some(bytes),
                Err(_) => {
                    missing.push(rel.to_owned());
                    None
                }
            };
        if let Some(t) = &step.trace {
            rec.recorded = true;
            for (rel, slot) in [
                (&t.screenshot_before, &mut traced.before),
                (&t.screenshot_after, &mut traced.after),
            ] {
                if let Some(rel) = rel {
                    *slot = read(rel, &mut traced.missing)
                        .map(|bytes| rec.parts.add_frame(mime_of(rel), bytes));
                }
            }
            if let Some(rel) = &t.dom_snapshot {
                traced.dom = read(rel, &mut traced.missing).map(|bytes| {
                    rec.parts
                        .add_dom(make_inert(&String::from_utf8_lossy(&bytes)))
                });
            }
            if let Some(shot) = step.artifacts.iter().find(|a| is_failure_screenshot(a)) {
                traced.failure_shot = read(&shot.path, &mut traced.missing)
                    .map(|bytes| rec.parts.add_frame("image/png", bytes));
            }
        }
        // Screenshot comparisons are shown whether or not the step was traced: they are the
        // step's own evidence.
        for a in &step.artifacts {
            if let Some(label) = super::flow_trace::visual_label(a.kind) {
                if let Some(bytes) = read(&a.path, &mut traced.missing) {
                    traced
                        .visual
                        .push((label, rec.parts.add_frame("image/png", bytes)));
                }
            }
        }
        let attempt = rec
            .attempts
            .last_mut()
            .expect("an attempt was pushed above");
        match attempt
            .steps
            .iter_mut()
            .find(|s| s.record.index == step.index)
        {
            Some(existing) => *existing = traced,
            None => attempt.steps.push(traced),
        }
    }

    /// Writes (or drops) the trace of `flow` and removes its raw parts.
    fn fold(
        &mut self,
        flow: &str,
        status: Option<FlowStatus>,
        duration_ms: Option<u64>,
        reason: Option<String>,
    ) -> anyhow::Result<()> {
        self.read_steps(flow);
        let Some(mut rec) = self.recordings.remove(flow) else {
            return Ok(());
        };
        for attempt in &mut rec.attempts {
            borrow_next_dom(&mut attempt.steps);
        }
        if !rec.recorded {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let flow_dir = self.output_dir.join(flow);
        let kept = if self.policy.keeps(status, &rec.attempts) {
            let plan = self
                .plans
                .get(flow)
                .cloned()
                .unwrap_or_else(|| PlannedFlow {
                    id: flow.to_owned(),
                    title: flow.to_owned(),
                    file: PathBuf::new(),
                    user: None,
                    needs: Vec::new(),
                    tags: Vec::new(),
                });
            let trace = FlowTrace {
                run: self.run.clone(),
                source: read_source(&plan.file),
                group_sources: FlowTrace::read_group_sources(&rec.attempts),
                plan,
                status,
                duration_ms,
                reason,
                attempts: rec.attempts,
                parts: rec.parts,
                criteria: rec.criteria,
            };
            let html = viewer::render(&trace);
            let rel = PathBuf::from(flow).join(TRACE_FILE);
            let path = self.output_dir.join(&rel);
            // A trace that cannot be written is missing, not the end of the run: the failure
            // is remembered by `artifact` and the run's outcome says so.
            match crate::artifact::write_atomic(&path, html.as_bytes()) {
                Ok(()) => Some(TraceFile {
                    path: rel,
                    bytes: html.len() as u64,
                }),
                Err(e) => {
                    tracing::warn!("the trace {} is missing: {e}", path.display());
                    None
                }
            }
        } else {
            None
        };
        remove_raw_parts(&flow_dir);
        tracing::debug!(
            flow,
            bytes = kept.as_ref().map(|k| k.bytes),
            ms = started.elapsed().as_millis() as u64,
            "trace folded"
        );
        self.index.record(flow, kept);
        Ok(())
    }
}

fn mime_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("png") => "image/png",
        _ => "image/jpeg",
    }
}

/// Deletes `<flow dir>/trace/`, then the flow directory if nothing else is left in it.
fn remove_raw_parts(flow_dir: &Path) {
    let raw = flow_dir.join(RAW_PARTS_DIR);
    if let Err(e) = std::fs::remove_dir_all(&raw) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("cannot remove the raw trace parts {}: {e}", raw.display());
        }
    }
    // Fails (and is meant to) when screenshots or failure files are still there.
    let _ = std::fs::remove_dir(flow_dir);
}

/// A step that left its DOM snapshot to the next step shows the one that step took.
fn borrow_next_dom(steps: &mut [TracedStep]) {
    for i in (0..steps.len().saturating_sub(1)).rev() {
        let wants = steps[i].dom.is_none()
            && steps[i]
                .record
                .trace
                .as_ref()
                .is_some_and(|t| t.dom_from_next_step);
        if wants {
            steps[i].dom = steps[i + 1].dom;
        }
    }
}

impl EventSink for TraceWriter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        match &event.kind {
            RunEventKind::RunStarted {
                run_id,
                profile,
                base_url,
                flows,
                trace_mode,
                ..
            } => {
                self.policy = KeepPolicy::from_mode(trace_mode);
                self.run = RunMeta {
                    run_id: run_id.clone(),
                    base_url: base_url.clone(),
                    profile: profile.clone(),
                    trace_mode: if trace_mode.is_empty() {
                        "retain-on-failure".to_owned()
                    } else {
                        trace_mode.clone()
                    },
                };
                self.plans = flows.iter().map(|f| (f.id.clone(), f.clone())).collect();
            }
            RunEventKind::FlowStarted { flow, attempt, .. } => {
                self.read_steps(flow);
                let rec = self.recording(flow);
                // A repeated FlowStarted for the same attempt adds nothing.
                if rec.attempts.last().is_none_or(|a| a.attempt != *attempt) {
                    rec.attempts.push(TracedAttempt {
                        attempt: *attempt,
                        started_ms: event.elapsed_ms,
                        steps: Vec::new(),
                    });
                }
            }
            RunEventKind::StepFinished { flow, step }
                if self.policy != KeepPolicy::Off || step.trace.is_some() =>
            {
                self.recording(flow)
                    .unread
                    .push((step.clone(), event.elapsed_ms));
            }
            RunEventKind::CriterionRecorded {
                flow: Some(flow),
                criterion,
            } => {
                if let Some(rec) = self.recordings.get_mut(flow) {
                    rec.criteria.push(criterion.clone());
                }
            }
            RunEventKind::FlowFinished {
                flow,
                status,
                duration_ms,
                reason,
                trace_pending: true,
                ..
            } => {
                // Its last frames are still being written: the trace is folded at its
                // `TraceSettled`; where it will be is known now.
                let keeps =
                    self.recordings.get(flow).is_some_and(|r| {
                        r.recorded || r.unread.iter().any(|(s, _)| s.trace.is_some())
                    }) && self.policy.keeps(
                        Some(*status),
                        self.recordings
                            .get(flow)
                            .map_or(&[][..], |r| &r.attempts[..]),
                    );
                if keeps {
                    self.index
                        .record_pending(flow, PathBuf::from(flow).join(TRACE_FILE));
                }
                self.settling.insert(
                    flow.clone(),
                    FlowEnd {
                        status: Some(*status),
                        duration_ms: Some(*duration_ms),
                        reason: reason.clone(),
                    },
                );
            }
            RunEventKind::FlowFinished {
                flow,
                status,
                duration_ms,
                reason,
                ..
            } => {
                self.fold(flow, Some(*status), Some(*duration_ms), reason.clone())?;
            }
            RunEventKind::TraceSettled { flow, .. } => {
                if let Some(end) = self.settling.remove(flow) {
                    self.fold(flow, end.status, end.duration_ms, end.reason)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Folds the flows the run never finished (an interrupt, a crash): their traces are kept
    /// unless the mode is `off` or `on-first-retry` without a retry.
    fn finish(&mut self) -> anyhow::Result<()> {
        let mut first = None;
        let mut settling: Vec<(String, FlowEnd)> = self.settling.drain().collect();
        settling.sort_by(|a, b| a.0.cmp(&b.0));
        for (flow, end) in settling {
            if let Err(e) = self.fold(&flow, end.status, end.duration_ms, end.reason) {
                first.get_or_insert(e);
            }
        }
        let mut pending: Vec<String> = self.recordings.keys().cloned().collect();
        pending.sort();
        for flow in pending {
            if let Err(e) = self.fold(&flow, None, None, None) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_that_left_its_dom_to_the_next_shows_the_next_steps() {
        let step = |index: usize, from_next: bool, dom: Option<usize>| TracedStep {
            record: StepRecord {
                file: None,
                index,
                kind: "click".into(),
                line: 1,
                summary: String::new(),
                status: StepStatus::Passed,
                duration_ms: 1,
                error: None,
                artifacts: vec![],
                evidence: vec![],
                round_trips: 2,
                time: None,
                trace: Some(StepTrace {
                    dom_from_next_step: from_next,
                    ..Default::default()
                }),
                slow: None,
            },
            before: None,
            after: None,
            dom,
            failure_shot: None,
            visual: vec![],
            missing: vec![],
        };
        // click (left to next) → expect (its own DOM) → click (own) → click (left, but last).
        let mut steps = vec![
            step(0, true, None),
            step(1, false, Some(7)),
            step(2, false, Some(8)),
            step(3, true, None),
        ];
        borrow_next_dom(&mut steps);
        let doms: Vec<Option<usize>> = steps.iter().map(|s| s.dom).collect();
        assert_eq!(doms, [Some(7), Some(7), Some(8), None]);
    }
    use crate::events::{Artifact, ArtifactKind, StepStatus, StepTrace};
    use time::OffsetDateTime;

    struct Run {
        dir: tempfile::TempDir,
        writer: TraceWriter,
    }

    impl Run {
        fn new(mode: &str, flows: &[&str]) -> Run {
            let dir = tempfile::tempdir().expect("tempdir");
            let writer = TraceWriter::new(dir.path(), TraceIndex::new());
            let flows = flows
                .iter()
                .map(|id| PlannedFlow {
                    id: (*id).to_owned(),
                    title: format!("title of {id}"),
                    file: PathBuf::new(),
                    user: None,
                    needs: vec![],
                    tags: vec![],
                })
                .collect();
            let mut run = Run { dir, writer };
            run.feed(RunEventKind::RunStarted {
                run_id: "r1".into(),
                profile: "local".into(),
                base_url: "http://app.test".into(),
                runner_version: "0".into(),
                output_dir: run.dir.path().to_owned(),
                flows,
                trace_mode: mode.into(),
                scope: None,
            });
            run
        }

        fn feed(&mut self, kind: RunEventKind) {
            self.writer
                .on_event(&RunEvent {
                    at: OffsetDateTime::UNIX_EPOCH,
                    elapsed_ms: 100,
                    kind,
                })
                .expect("the writer accepts the event");
        }

        fn part(&self, rel: &str, bytes: &[u8]) -> PathBuf {
            let path = self.dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, bytes).expect("write part");
            PathBuf::from(rel)
        }

        /// A browser step of `flow` with a DOM snapshot and, when given, frames.
        fn step(
            &mut self,
            flow: &str,
            index: usize,
            status: StepStatus,
            dom: &str,
            frame: Option<&[u8]>,
        ) {
            let dom_path = self.part(
                &format!("{flow}/trace/{:02}-dom.html", index + 1),
                dom.as_bytes(),
            );
            let after =
                frame.map(|f| self.part(&format!("{flow}/trace/{:02}-after.jpg", index + 1), f));
            let mut artifacts = vec![];
            if status == StepStatus::Failed {
                let png = self.part(
                    &format!("{flow}/{:02}-failure.png", index + 1),
                    b"png bytes",
                );
                artifacts.push(Artifact {
                    kind: ArtifactKind::Screenshot,
                    path: png,
                    bytes: 9,
                });
            }
            self.feed(RunEventKind::StepFinished {
                flow: flow.into(),
                step: StepRecord {
                    file: None,
                    index,
                    kind: "click".into(),
                    line: 3,
                    summary: format!("click number {index}"),
                    status,
                    duration_ms: 5,
                    error: (status == StepStatus::Failed).then(|| "no element".to_owned()),
                    artifacts,
                    evidence: vec![],
                    round_trips: 2,
                    time: None,
                    trace: Some(StepTrace {
                        started_ms: 50,
                        page_url: Some("http://app.test/x".into()),
                        page_title: Some("X".into()),
                        dom_snapshot: Some(dom_path),
                        dom_from_next_step: false,
                        screenshot_before: None,
                        screenshot_after: after,
                        console: None,
                        network: None,
                        exchange: None,
                    }),
                    slow: None,
                },
            });
        }

        fn started(&mut self, flow: &str, attempt: u32) {
            self.feed(RunEventKind::FlowStarted {
                flow: flow.into(),
                attempt,
                worker: None,
            });
        }

        fn finished(&mut self, flow: &str, status: FlowStatus, attempt: u32) {
            self.feed(RunEventKind::FlowFinished {
                trace_pending: false,
                flow: flow.into(),
                status,
                attempt,
                duration_ms: 10,
                reason: None,
            });
        }

        /// A passed step `index` of `flow` whose trace names the parts in `trace`.
        fn traced_step(&mut self, flow: &str, index: usize, trace: StepTrace) {
            self.feed(RunEventKind::StepFinished {
                flow: flow.into(),
                step: StepRecord {
                    file: None,
                    index,
                    kind: "goto".into(),
                    line: 4,
                    summary: format!("step {index}"),
                    status: StepStatus::Passed,
                    duration_ms: 1,
                    error: None,
                    artifacts: vec![],
                    evidence: vec![],
                    round_trips: 1,
                    time: None,
                    trace: Some(trace),
                    slow: None,
                },
            });
        }

        /// `flow` passed, its last frames still on their way.
        fn finished_pending(&mut self, flow: &str) {
            self.feed(RunEventKind::FlowFinished {
                trace_pending: true,
                flow: flow.into(),
                status: FlowStatus::Passed,
                attempt: 1,
                duration_ms: 10,
                reason: None,
            });
        }

        fn trace(&self, flow: &str) -> Option<String> {
            std::fs::read_to_string(self.dir.path().join(flow).join(TRACE_FILE)).ok()
        }

        fn raw_parts_left(&self, flow: &str) -> bool {
            self.dir.path().join(flow).join(RAW_PARTS_DIR).exists()
        }
    }

    #[test]
    fn on_keeps_every_flow_with_each_frame_once_and_removes_the_parts() {
        let mut run = Run::new("on", &["a"]);
        run.started("a", 1);
        run.step(
            "a",
            0,
            StepStatus::Passed,
            "<p>first page</p>",
            Some(b"frame-one"),
        );
        run.step(
            "a",
            1,
            StepStatus::Passed,
            "<p>first page</p>",
            Some(b"frame-one"),
        );
        run.finished("a", FlowStatus::Passed, 1);
        let html = run.trace("a").expect("a kept its trace");
        let frame =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b"frame-one");
        assert_eq!(
            html.matches(&frame).count(),
            1,
            "the shared frame is stored once"
        );
        assert_eq!(
            html.matches("&lt;p&gt;first page&lt;/p&gt;").count(),
            1,
            "the DOM once"
        );
        assert_eq!(html.matches(r#"class="step""#).count(), 2);
        assert!(!run.raw_parts_left("a"));
        let kept = run.writer.index().trace_of("a").expect("indexed");
        assert_eq!(kept.path, PathBuf::from("a/trace.html"));
        assert_eq!(kept.bytes, html.len() as u64);
    }

    /// A flow whose last frame is still being written when it finishes: its trace is folded
    /// at its `TraceSettled`, with the frame; the index says where it will be meanwhile.
    #[test]
    fn a_pending_trace_is_folded_once_its_frames_settled_with_the_late_frame() {
        let mut run = Run::new("on", &["a", "b"]);
        run.started("a", 1);
        run.step("a", 0, StepStatus::Passed, "<p>a</p>", None);
        // The step names its "after" frame; the file is not on disk yet.
        run.traced_step(
            "a",
            1,
            StepTrace {
                screenshot_after: Some("a/trace/02-after.jpg".into()),
                ..Default::default()
            },
        );
        run.finished_pending("a");
        assert!(
            run.trace("a").is_none(),
            "not folded while frames are pending"
        );
        assert!(run.writer.index().pending("a") && !run.writer.index().folded("a"));
        assert_eq!(
            run.writer.index().trace_of("a").map(|t| t.path),
            Some(PathBuf::from("a/trace.html"))
        );
        // The next flow runs meanwhile; then the frame lands and the flow settles.
        run.started("b", 1);
        run.part("a/trace/02-after.jpg", b"late-frame");
        run.feed(RunEventKind::TraceSettled {
            flow: "a".into(),
            attempt: 1,
        });
        let html = run.trace("a").expect("folded at TraceSettled");
        let late =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b"late-frame");
        assert!(html.contains(&late), "the late frame is in the trace");
        assert!(run.writer.index().folded("a") && !run.writer.index().pending("a"));
        assert!(!run.raw_parts_left("a"));
    }

    #[test]
    fn a_pending_trace_never_settled_is_folded_at_the_end_with_its_result() {
        let mut run = Run::new("on", &["a"]);
        run.started("a", 1);
        run.step("a", 0, StepStatus::Passed, "<p>a</p>", Some(b"frame"));
        run.finished_pending("a");
        assert!(run.trace("a").is_none());
        run.writer.finish().expect("finish");
        let html = run.trace("a").expect("folded at the end");
        assert!(html.contains(r#"data-status="passed""#), "with its result");
    }

    #[test]
    fn retain_on_failure_drops_passing_flows_and_keeps_the_failing_one() {
        let mut run = Run::new("retain-on-failure", &["ok", "bad"]);
        run.started("ok", 1);
        run.step("ok", 0, StepStatus::Passed, "<p>fine</p>", None);
        run.finished("ok", FlowStatus::Passed, 1);
        assert!(run.trace("ok").is_none());
        assert!(
            !run.dir.path().join("ok").exists(),
            "an empty flow dir is removed"
        );
        assert!(run.writer.index().folded("ok"));

        run.started("bad", 1);
        run.step("bad", 0, StepStatus::Failed, "<p>broken</p>", None);
        run.finished("bad", FlowStatus::Failed, 1);
        let html = run.trace("bad").expect("the failing flow keeps its trace");
        assert!(html.contains(r#"data-status="failed""#));
        let png = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b"png bytes");
        assert!(html.contains(&png), "the failure screenshot is folded in");
        assert!(!run.raw_parts_left("bad"));
        assert!(
            run.dir.path().join("bad/01-failure.png").exists(),
            "failure files stay"
        );
    }

    #[test]
    fn a_retry_keeps_both_attempts_although_it_reuses_the_file_names() {
        let mut run = Run::new("retain-on-failure", &["f"]);
        run.started("f", 1);
        run.step("f", 0, StepStatus::Failed, "<p>attempt one</p>", None);
        run.started("f", 2);
        run.step("f", 0, StepStatus::Passed, "<p>attempt two</p>", None);
        run.finished("f", FlowStatus::Flaky, 2);
        let html = run.trace("f").expect("a flaky flow keeps its trace");
        assert!(html.contains("attempt one") && html.contains("attempt two"));
        assert!(html.contains(r#"id="attempt-1""#) && html.contains(r#"id="attempt-2""#));
        assert!(
            html.contains(r#"data-attempt="1" data-initial="0" data-opening="true""#),
            "opens on the failure"
        );
    }

    #[test]
    fn on_first_retry_keeps_only_retried_flows_and_off_keeps_nothing() {
        let mut run = Run::new("on-first-retry", &["once"]);
        run.started("once", 1);
        run.step("once", 0, StepStatus::Failed, "<p>x</p>", None);
        run.finished("once", FlowStatus::Failed, 1);
        assert!(run.trace("once").is_none());
        assert!(!run.raw_parts_left("once"));

        let mut run = Run::new("off", &["a"]);
        run.started("a", 1);
        run.step("a", 0, StepStatus::Failed, "<p>x</p>", None);
        run.finished("a", FlowStatus::Failed, 1);
        assert!(run.trace("a").is_none());
    }

    #[test]
    fn a_flow_the_run_never_finished_is_written_by_finish() {
        let mut run = Run::new("retain-on-failure", &["cut"]);
        run.started("cut", 1);
        run.step("cut", 0, StepStatus::Passed, "<p>half way</p>", None);
        run.writer.finish().expect("finish");
        let html = run.trace("cut").expect("kept");
        assert!(html.contains(r#"data-status="not-run""#));
        assert!(!run.raw_parts_left("cut"));
    }

    #[test]
    fn a_missing_part_is_named_not_fatal() {
        let mut run = Run::new("on", &["m"]);
        run.started("m", 1);
        run.step("m", 0, StepStatus::Passed, "<p>x</p>", None);
        std::fs::remove_file(run.dir.path().join("m/trace/01-dom.html")).expect("rm");
        // The step's parts were read when it finished; a second step names a file that is gone.
        run.traced_step(
            "m",
            1,
            StepTrace {
                dom_snapshot: Some("m/trace/02-dom.html".into()),
                ..Default::default()
            },
        );
        run.finished("m", FlowStatus::Passed, 1);
        let html = run.trace("m").expect("kept");
        assert!(html.contains("missing when the trace was written"));
        assert!(html.contains("m/trace/02-dom.html"));
    }
}
