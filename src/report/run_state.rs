//! What the events of a run add up to so far: the one model every reporter folds the stream
//! into.
//!
//! Each reporter keeps its own `RunState` and applies every event to it before drawing its own
//! output (reporters share nothing but the event stream). The state never fails on an odd event:
//! events for a flow the plan did not list create that flow, a second `FlowStarted` for a flow
//! starts a retry, and whatever never arrived (a `FlowFinished`, the `RunFinished`) is answered
//! by [`FlowState::status`] and [`RunState::outcome_or`].

use std::collections::HashMap;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::events::{
    Artifact, Criterion, FlowStatus, PlannedFlow, RunEvent, RunEventKind, RunOutcome, StepRecord,
    StepStatus, Totals,
};

/// What `RunStarted` said about the run.
#[derive(Debug, Clone)]
pub(crate) struct RunInfo {
    pub at: OffsetDateTime,
    pub run_id: String,
    pub profile: String,
    pub base_url: String,
    pub runner_version: String,
    pub output_dir: PathBuf,
    pub scope: Option<crate::events::RunScope>,
}

/// What `RunFinished` said.
#[derive(Debug, Clone)]
pub(crate) struct RunEnd {
    pub at: OffsetDateTime,
    pub outcome: RunOutcome,
    pub duration_ms: u64,
    /// Why the run stopped early (`RunFinished`'s reason).
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct HealthInfo {
    pub passed: bool,
    pub skipped: bool,
    pub failing: Vec<String>,
    pub summary: String,
}

#[derive(Debug, Clone)]
pub(crate) struct BrowserInfo {
    pub user: String,
    pub browser: String,
    pub version: String,
    pub bidi: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct CriterionEntry {
    pub flow: Option<String>,
    pub criterion: Criterion,
}

#[derive(Debug, Clone)]
pub(crate) struct NoticeEntry {
    pub flow: Option<String>,
    pub message: String,
    pub elapsed_ms: u64,
}

/// The step a flow is in the middle of.
#[derive(Debug, Clone)]
pub(crate) struct RunningStep {
    pub index: usize,
    pub line: u32,
    pub kind: String,
}

/// How a flow ended, as `FlowFinished` said.
#[derive(Debug, Clone)]
pub(crate) struct FlowEnd {
    pub status: FlowStatus,
    pub duration_ms: u64,
    pub reason: Option<String>,
}

/// An attempt of a flow that a retry replaced.
#[derive(Debug, Clone)]
pub(crate) struct EarlierAttempt {
    pub attempt: u32,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone)]
pub(crate) struct FlowState {
    pub plan: PlannedFlow,
    /// Listed by `RunStarted` (false for a flow only seen in later events).
    pub planned: bool,
    /// The latest attempt started; 0 when the flow never started.
    pub attempt: u32,
    pub steps: Vec<StepRecord>,
    pub running_step: Option<RunningStep>,
    /// Every artifact of the flow, its steps' included, once per path.
    pub artifacts: Vec<Artifact>,
    pub earlier_attempts: Vec<EarlierAttempt>,
    pub end: Option<FlowEnd>,
    /// The worker that ran its latest attempt (`--workers` above 1).
    pub worker: Option<u32>,
}

impl FlowState {
    fn new(plan: PlannedFlow, planned: bool) -> Self {
        Self {
            plan,
            planned,
            attempt: 0,
            steps: Vec::new(),
            running_step: None,
            artifacts: Vec::new(),
            earlier_attempts: Vec::new(),
            end: None,
            worker: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.plan.id
    }

    /// The status `FlowFinished` gave, or `not_run` when it never came.
    pub fn status(&self) -> FlowStatus {
        self.end.as_ref().map_or(FlowStatus::NotRun, |e| e.status)
    }

    pub fn is_running(&self) -> bool {
        self.attempt > 0 && self.end.is_none()
    }

    /// The step that failed the flow (the last failed one, should there be several).
    pub fn failed_step(&self) -> Option<&StepRecord> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.status == StepStatus::Failed)
    }

    /// Why the flow did not pass: the reason `FlowFinished` gave, the failing step's error, or,
    /// when the flow never finished, what the run's outcome says about it.
    pub fn reason(&self, run_outcome: Option<RunOutcome>) -> Option<String> {
        if let Some(end) = &self.end {
            if let Some(reason) = &end.reason {
                return Some(reason.clone());
            }
            return self.failed_step().and_then(|s| s.error.clone());
        }
        if self.attempt > 0 {
            let mut reason = String::from("the run ended while this flow was running");
            if let Some(step) = &self.running_step {
                reason.push_str(&format!(
                    ", at step {}: {} on line {}",
                    step.index + 1,
                    step.kind,
                    step.line
                ));
            }
            return Some(reason);
        }
        Some(
            match run_outcome {
                Some(RunOutcome::Interrupted) | None => {
                    "the run was interrupted before this flow started"
                }
                Some(RunOutcome::Aborted) => "the run was aborted before this flow started",
                Some(RunOutcome::TimedOut) => {
                    "the run timeout was reached before this flow started"
                }
                Some(RunOutcome::MaxFailuresReached) => {
                    "the run stopped (--max-failures) before this flow started"
                }
                Some(RunOutcome::Completed) => "the run ended before this flow started",
            }
            .to_owned(),
        )
    }
}

/// The run as far as the events received tell it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunState {
    pub run: Option<RunInfo>,
    /// In plan order, then in the order unplanned flows first appeared.
    pub flows: Vec<FlowState>,
    index: HashMap<String, usize>,
    pub health: Option<HealthInfo>,
    pub browsers: Vec<BrowserInfo>,
    pub criteria: Vec<CriterionEntry>,
    /// Artifacts that belong to no flow.
    pub run_artifacts: Vec<Artifact>,
    pub notices: Vec<NoticeEntry>,
    pub end: Option<RunEnd>,
    pub last_at: Option<OffsetDateTime>,
    pub last_elapsed_ms: u64,
    pub events_seen: u64,
}

impl RunState {
    pub fn apply(&mut self, event: &RunEvent) {
        self.events_seen += 1;
        self.last_at = Some(event.at);
        self.last_elapsed_ms = self.last_elapsed_ms.max(event.elapsed_ms);
        match &event.kind {
            RunEventKind::RunStarted {
                run_id,
                profile,
                base_url,
                runner_version,
                output_dir,
                flows,
                scope,
                ..
            } => {
                self.run = Some(RunInfo {
                    scope: scope.clone(),
                    at: event.at,
                    run_id: run_id.clone(),
                    profile: profile.clone(),
                    base_url: base_url.clone(),
                    runner_version: runner_version.clone(),
                    output_dir: output_dir.clone(),
                });
                for plan in flows {
                    match self.index.get(&plan.id) {
                        Some(&i) => {
                            self.flows[i].plan = plan.clone();
                            self.flows[i].planned = true;
                        }
                        None => self.insert(FlowState::new(plan.clone(), true)),
                    }
                }
            }
            RunEventKind::HealthChecked {
                passed,
                skipped,
                failing,
                summary,
            } => {
                self.health = Some(HealthInfo {
                    passed: *passed,
                    skipped: *skipped,
                    failing: failing.clone(),
                    summary: summary.clone(),
                });
            }
            RunEventKind::BrowserStarted {
                user,
                browser,
                version,
                bidi,
            } => self.browsers.push(BrowserInfo {
                user: user.clone(),
                browser: browser.clone(),
                version: version.clone(),
                bidi: *bidi,
            }),
            RunEventKind::FlowStarted {
                flow,
                attempt,
                worker,
            } => {
                let f = self.flow_mut(flow);
                f.worker = *worker;
                let retry = f.attempt > 0 && (!f.steps.is_empty() || f.end.is_some());
                if retry {
                    let error = f
                        .end
                        .as_ref()
                        .and_then(|e| e.reason.clone())
                        .or_else(|| f.failed_step().and_then(|s| s.error.clone()));
                    let earlier = EarlierAttempt {
                        attempt: f.attempt,
                        duration_ms: f.end.as_ref().map(|e| e.duration_ms),
                        error,
                        steps: std::mem::take(&mut f.steps),
                    };
                    f.earlier_attempts.push(earlier);
                    f.end = None;
                }
                f.attempt = (*attempt).max(f.attempt + u32::from(retry)).max(1);
                f.running_step = None;
            }
            RunEventKind::StepStarted {
                flow,
                index,
                kind,
                line,
                ..
            } => {
                let f = self.flow_mut(flow);
                if f.attempt == 0 {
                    f.attempt = 1;
                }
                f.running_step = Some(RunningStep {
                    index: *index,
                    line: *line,
                    kind: kind.clone(),
                });
            }
            RunEventKind::StepFinished { flow, step } => {
                let f = self.flow_mut(flow);
                if f.attempt == 0 {
                    f.attempt = 1;
                }
                f.running_step = None;
                for artifact in &step.artifacts {
                    push_artifact(&mut f.artifacts, artifact);
                }
                match f.steps.iter_mut().find(|s| s.index == step.index) {
                    Some(existing) => *existing = step.clone(),
                    None => f.steps.push(step.clone()),
                }
            }
            RunEventKind::CriterionRecorded { flow, criterion } => {
                if let Some(flow) = flow {
                    self.flow_mut(flow);
                }
                self.criteria.push(CriterionEntry {
                    flow: flow.clone(),
                    criterion: criterion.clone(),
                });
            }
            RunEventKind::ArtifactWritten { flow, artifact } => match flow {
                Some(flow) => push_artifact(&mut self.flow_mut(flow).artifacts, artifact),
                None => push_artifact(&mut self.run_artifacts, artifact),
            },
            RunEventKind::FlowFinished {
                flow,
                status,
                attempt,
                duration_ms,
                reason,
                ..
            } => {
                let f = self.flow_mut(flow);
                f.attempt = f.attempt.max(*attempt);
                f.running_step = None;
                f.end = Some(FlowEnd {
                    status: *status,
                    duration_ms: *duration_ms,
                    reason: reason.clone(),
                });
            }
            RunEventKind::Notice { flow, message } => self.notices.push(NoticeEntry {
                flow: flow.clone(),
                message: message.clone(),
                elapsed_ms: event.elapsed_ms,
            }),
            RunEventKind::RunFinished {
                outcome,
                duration_ms,
                reason,
                ..
            } => {
                // The totals are recounted from the flows (see `totals`), so the report's
                // totals always agree with its list of flows.
                self.end = Some(RunEnd {
                    at: event.at,
                    outcome: *outcome,
                    duration_ms: *duration_ms,
                    reason: reason.clone(),
                });
            }
            // The trace writer's business: a flow's result does not change.
            RunEventKind::TraceSettled { .. } => {}
        }
    }

    fn insert(&mut self, flow: FlowState) {
        self.index.insert(flow.plan.id.clone(), self.flows.len());
        self.flows.push(flow);
    }

    fn flow_mut(&mut self, id: &str) -> &mut FlowState {
        let i = match self.index.get(id) {
            Some(&i) => i,
            None => {
                let plan = PlannedFlow {
                    id: id.to_owned(),
                    title: id.to_owned(),
                    file: PathBuf::new(),
                    user: None,
                    needs: Vec::new(),
                    tags: Vec::new(),
                };
                self.insert(FlowState::new(plan, false));
                self.flows.len() - 1
            }
        };
        &mut self.flows[i]
    }

    pub fn flow(&self, id: &str) -> Option<&FlowState> {
        self.index.get(id).map(|&i| &self.flows[i])
    }

    /// Flow totals recounted from the flows; a flow that never finished counts as not run.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for f in &self.flows {
            totals.add(f.status());
        }
        totals
    }

    /// `RunFinished`'s outcome, or `fallback` when it never came.
    pub fn outcome_or(&self, fallback: RunOutcome) -> RunOutcome {
        self.end.as_ref().map_or(fallback, |e| e.outcome)
    }

    /// `RunFinished`'s outcome, if it came.
    pub fn outcome(&self) -> Option<RunOutcome> {
        self.end.as_ref().map(|e| e.outcome)
    }

    /// What stopped the run early, in words (see [`super::text::outcome_phrase`]).
    pub fn outcome_phrase(&self) -> Option<String> {
        super::text::outcome_phrase(
            self.outcome(),
            self.end.as_ref().and_then(|e| e.reason.as_deref()),
        )
    }

    pub fn run_id(&self) -> &str {
        self.run.as_ref().map_or("", |r| r.run_id.as_str())
    }
}

fn push_artifact(list: &mut Vec<Artifact>, artifact: &Artifact) {
    if !list.iter().any(|a| a.path == artifact.path) {
        list.push(artifact.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::StepStatus;

    fn ev(kind: RunEventKind) -> RunEvent {
        RunEvent {
            at: OffsetDateTime::UNIX_EPOCH,
            elapsed_ms: 0,
            kind,
        }
    }

    fn step(index: usize, status: StepStatus, error: Option<&str>) -> StepRecord {
        StepRecord {
            file: None,
            index,
            kind: "click".into(),
            line: 3,
            summary: "click something".into(),
            status,
            duration_ms: 5,
            error: error.map(str::to_owned),
            artifacts: Vec::new(),
            evidence: Vec::new(),
            round_trips: 2,
            time: None,
            trace: None,
            slow: None,
        }
    }

    #[test]
    fn a_second_flow_started_keeps_the_first_attempt_as_an_earlier_attempt() {
        let mut s = RunState::default();
        s.apply(&ev(RunEventKind::FlowStarted {
            flow: "a".into(),
            attempt: 1,
            worker: None,
        }));
        s.apply(&ev(RunEventKind::StepFinished {
            flow: "a".into(),
            step: step(0, StepStatus::Failed, Some("boom")),
        }));
        s.apply(&ev(RunEventKind::FlowStarted {
            flow: "a".into(),
            attempt: 2,
            worker: None,
        }));
        s.apply(&ev(RunEventKind::StepFinished {
            flow: "a".into(),
            step: step(0, StepStatus::Passed, None),
        }));
        s.apply(&ev(RunEventKind::FlowFinished {
            trace_pending: false,
            flow: "a".into(),
            status: FlowStatus::Flaky,
            attempt: 2,
            duration_ms: 10,
            reason: None,
        }));
        let f = s.flow("a").expect("flow a");
        assert_eq!(f.attempt, 2);
        assert_eq!(f.status(), FlowStatus::Flaky);
        assert_eq!(f.steps.len(), 1);
        assert_eq!(f.earlier_attempts.len(), 1);
        assert_eq!(f.earlier_attempts[0].error.as_deref(), Some("boom"));
        assert_eq!(s.totals().flaky, 1);
    }

    #[test]
    fn a_flow_that_never_finished_counts_as_not_run_with_a_reason() {
        let mut s = RunState::default();
        // From JSON, as the event log holds it: only the fields the state reads matter.
        let step_started: RunEventKind = serde_json::from_value(serde_json::json!({
            "type": "step_started", "flow": "b", "index": 2, "kind": "fill", "line": 9,
            "summary": "fill label=Subject",
        }))
        .expect("step_started");
        s.apply(&ev(step_started));
        let f = s.flow("b").expect("flow b");
        assert_eq!(f.status(), FlowStatus::NotRun);
        assert_eq!(
            f.reason(None).as_deref(),
            Some("the run ended while this flow was running, at step 3: fill on line 9")
        );
        assert_eq!(s.totals().not_run, 1);
    }
}
