//! `junit.xml`: one test suite per run, one test case per flow, for CI test tabs.
//!
//! A case's class name is the flow file and its name the flow id (stable across runs, so CI
//! history lines up; the title is a property). A failed flow carries the failing step's message;
//! its steps, artifacts and criteria go to `system-out`. Skipped and not-run flows are skipped
//! cases with their reason. A flaky flow passes, with a `flaky` property and its failed attempts
//! as `flakyFailure` elements (a flow failed after retries: `rerunFailure`s, Surefire's
//! dialect). For GitLab each case has a `file` attribute; for Jenkins' attachments plugin each
//! artifact (screenshots, failure pages) is also named on a `[[ATTACHMENT|path]]` line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{
    FlakyOrRerun, NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::run_state::{EarlierAttempt, FlowState, RunState};
use super::{text, ReportError};
use crate::events::{EventSink, FlowStatus, RunEvent, RunEventKind, RunOutcome, StepStatus};
use crate::human;

/// The JUnit file's name inside the output directory.
pub const JUNIT_FILE: &str = "junit.xml";

/// Writes `junit.xml` into the output directory at `RunFinished` (or at `finish` when the run
/// never finished).
pub struct JunitReporter {
    path: PathBuf,
    output_dir: PathBuf,
    state: RunState,
    dirty: bool,
}

impl JunitReporter {
    pub fn new(output_dir: &Path) -> Self {
        Self {
            path: output_dir.join(JUNIT_FILE),
            output_dir: output_dir.to_owned(),
            state: RunState::default(),
            dirty: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The JUnit report the events so far add up to.
    pub fn report(&self) -> Report {
        build_report(&self.state, &self.output_dir)
    }

    fn write(&self) -> Result<(), ReportError> {
        let xml = self.report().to_string().map_err(ReportError::Junit)?;
        crate::artifact::write_atomic(&self.path, xml.as_bytes()).map_err(|source| {
            ReportError::Write {
                path: self.path.clone(),
                source,
            }
        })
    }
}

impl EventSink for JunitReporter {
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

fn build_report(state: &RunState, output_dir: &Path) -> Report {
    let run = state.run.as_ref();
    let outcome = state.outcome_or(RunOutcome::Interrupted);
    let mut suite = TestSuite::new(run.map_or("flows", |r| r.profile.as_str()));
    suite.add_property(Property::new("run_id", state.run_id()));
    if let Some(run) = run {
        suite.add_property(Property::new("profile", run.profile.as_str()));
        suite.add_property(Property::new("base_url", run.base_url.as_str()));
        suite.add_property(Property::new("runner_version", run.runner_version.as_str()));
    }
    suite.add_property(Property::new("outcome", text::outcome_word(outcome)));
    let duration_ms = state
        .end
        .as_ref()
        .map_or(state.last_elapsed_ms, |e| e.duration_ms);
    suite.set_time(Duration::from_millis(duration_ms));

    for flow in &state.flows {
        suite.add_test_case(test_case(flow, state, output_dir));
    }

    let mut out = String::new();
    if state.end.is_none() {
        out.push_str("the run ended without a final event; results are from the events received\n");
    } else if outcome != RunOutcome::Completed {
        match state.end.as_ref().and_then(|e| e.reason.as_deref()) {
            Some(reason) => {
                let _ = writeln!(out, "run {}: {reason}", text::outcome_word(outcome));
            }
            None => {
                let _ = writeln!(out, "run {}", text::outcome_word(outcome));
            }
        }
    }
    if let Some(reason) = state.end.as_ref().and_then(|e| e.reason.as_deref()) {
        suite.add_property(Property::new("outcome_reason", reason));
    }
    if !state.criteria.is_empty() {
        out.push_str("criteria:\n");
        for c in &state.criteria {
            let _ = write!(
                out,
                "  {} {}",
                text::verdict_word(c.criterion.verdict),
                c.criterion.name
            );
            if let Some(flow) = &c.flow {
                let _ = write!(out, " ({flow})");
            }
            out.push('\n');
            criterion_details(&mut out, &c.criterion, "    ");
        }
    }
    // A flow's notes go with its test case; the run's stay here.
    for n in state.notices.iter().filter(|n| n.flow.is_none()) {
        let _ = writeln!(out, "note: {}", n.message);
    }
    if !out.is_empty() {
        suite.set_system_out(out);
    }

    let mut report = Report::new("flows");
    report.set_time(Duration::from_millis(duration_ms));
    report.add_test_suite(suite);
    report
}

fn test_case(flow: &FlowState, state: &RunState, output_dir: &Path) -> TestCase {
    let file = flow.plan.file.as_path();
    let reason = flow.reason(state.outcome());
    let status = match flow.status() {
        FlowStatus::Passed => TestCaseStatus::success(),
        FlowStatus::Flaky => {
            let mut status = TestCaseStatus::success();
            for earlier in &flow.earlier_attempts {
                status.add_rerun(rerun(earlier, file));
            }
            if flow.earlier_attempts.is_empty() {
                // The executor did not replay the failed attempts' steps: say they happened.
                for attempt in 1..flow.attempt {
                    let mut rerun = TestRerun::new(NonSuccessKind::Failure);
                    rerun.set_message(format!("attempt {attempt} failed"));
                    rerun.set_type("flow failed");
                    status.add_rerun(rerun);
                }
            }
            status
        }
        FlowStatus::Failed => {
            let failed = flow.failed_step();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(text::failure_headline(file, failed, reason.as_deref()));
            status.set_type(failed.map_or("flow failed", |s| s.kind.as_str()));
            if let Some(error) = failed
                .and_then(|s| s.error.as_deref())
                .or(reason.as_deref())
            {
                status.set_description(error);
            }
            for earlier in &flow.earlier_attempts {
                status.add_rerun(rerun(earlier, file));
            }
            status.set_rerun_kind(FlakyOrRerun::Rerun);
            status
        }
        FlowStatus::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.as_deref().unwrap_or("skipped"));
            status.set_type("skipped");
            status
        }
        FlowStatus::TimedOut => {
            let failed = flow.failed_step();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(text::failure_headline(file, failed, reason.as_deref()));
            status.set_type("timed_out");
            if let Some(reason) = &reason {
                status.set_description(reason.as_str());
            }
            status
        }
        FlowStatus::NotRun => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!(
                "not run: {}",
                reason.as_deref().unwrap_or("the run ended first")
            ));
            status.set_type("not_run");
            status
        }
    };

    let mut case = TestCase::new(flow.plan.id.as_str(), status);
    if !file.as_os_str().is_empty() {
        case.set_classname(file.display().to_string());
        // GitLab shows (and links) a case's `file`; classname + name stay unique per flow.
        case.extra
            .insert("file".into(), file.display().to_string().into());
    }
    if let Some(end) = flow
        .end
        .as_ref()
        .filter(|e| !matches!(e.status, FlowStatus::Skipped | FlowStatus::NotRun))
    {
        case.set_time(Duration::from_millis(end.duration_ms));
    }
    case.add_property(Property::new("title", flow.plan.title.as_str()));
    if flow.attempt > 0 {
        case.add_property(Property::new("attempts", flow.attempt.to_string()));
    }
    if flow.status() == FlowStatus::Flaky {
        case.add_property(Property::new("flaky", "true"));
    }

    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", flow.plan.id, flow.plan.title);
    step_list(&mut out, file, &flow.steps);
    if !flow.artifacts.is_empty() {
        out.push_str("artifacts:\n");
        for a in &flow.artifacts {
            let _ = writeln!(
                out,
                "  {}: {}",
                text::artifact_label(a.kind),
                output_dir.join(&a.path).display()
            );
        }
        // Jenkins' JUnit Attachments plugin attaches each file named on such a line.
        for a in &flow.artifacts {
            let _ = writeln!(out, "[[ATTACHMENT|{}]]", output_dir.join(&a.path).display());
        }
    }
    let criteria: Vec<_> = state
        .criteria
        .iter()
        .filter(|c| c.flow.as_deref() == Some(flow.id()))
        .collect();
    if !criteria.is_empty() {
        out.push_str("criteria:\n");
        for c in criteria {
            let _ = writeln!(
                out,
                "  {} {}",
                text::verdict_word(c.criterion.verdict),
                c.criterion.name
            );
            criterion_details(&mut out, &c.criterion, "    ");
        }
    }
    for n in state
        .notices
        .iter()
        .filter(|n| n.flow.as_deref() == Some(flow.id()))
    {
        let _ = writeln!(out, "note: {}", n.message);
    }
    case.set_system_out(out);
    case
}

/// A failed attempt that a retry replaced, as Surefire writes one: `type` is required by
/// Surefire's and Jenkins' schemas (the failing step's kind, as on `failure`); no `time`
/// attribute, which neither schema allows on these elements (the steps below carry times).
fn rerun(earlier: &EarlierAttempt, file: &Path) -> TestRerun {
    let mut rerun = TestRerun::new(NonSuccessKind::Failure);
    rerun.set_message(format!(
        "attempt {}: {}",
        earlier.attempt,
        earlier.error.as_deref().unwrap_or("failed")
    ));
    let failed = earlier
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed);
    rerun.set_type(failed.map_or("flow failed", |s| s.kind.as_str()));
    let mut steps = String::new();
    step_list(&mut steps, file, &earlier.steps);
    if !steps.is_empty() {
        rerun.set_system_out(steps);
    }
    rerun
}

fn step_list(out: &mut String, file: &Path, steps: &[crate::events::StepRecord]) {
    for step in steps {
        let mark = match step.status {
            StepStatus::Passed => "ok  ",
            StepStatus::Failed => "FAIL",
            StepStatus::Skipped => "skip",
        };
        let _ = write!(out, "{mark} {}", text::step_line(file, step));
        if step.status != StepStatus::Skipped {
            let _ = write!(out, " ({})", human::elapsed(step.duration_ms));
        }
        if let Some(error) = &step.error {
            let _ = write!(out, ": {error}");
        }
        out.push('\n');
    }
}

fn criterion_details(out: &mut String, c: &crate::events::Criterion, indent: &str) {
    for e in &c.evidence {
        let _ = writeln!(out, "{indent}evidence: {e}");
    }
    if let Some(note) = &c.note {
        let _ = writeln!(out, "{indent}note: {note}");
    }
}
