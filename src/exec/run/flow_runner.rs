//! One attempt of one flow, step by step: the debugger's question before each step, group
//! parameters, the step itself (`exec::step`), what the trace keeps of it, and its
//! `StepFinished`; after the last step, the flow's subscriptions, popups and dialogs are
//! cleaned up. Evidence on failure and the debugger's answers live in `evidence.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::resources::{Emitter, Resources};
use crate::config::Config;
use crate::events::*;
use crate::exec::bidi::PageEvent;
use crate::exec::claims;
use crate::exec::interaction::Interaction;
use crate::exec::step::{Measured, StepContext, StepFailure, StepOutcome};
use crate::exec::trace_capture::TraceCapture;
use crate::exec::vars::Vars;
use crate::flowfile::ast::SessionMode;
use crate::flowfile::check::groups::{GroupCall, PlannedStep};
use crate::flowfile::check::CheckedFlow;
use crate::flowfile::template::Resolved;
use crate::redact::Redactor;
use crate::state::{SavedSession, StepBaseline};

/// Runs the steps of one flow attempt.
pub(super) struct FlowRunner<'a, 'e> {
    pub(super) config: &'a Config,
    pub(super) flow: &'a CheckedFlow,
    pub(super) base_url: &'a str,
    pub(super) output_dir: &'a Path,
    pub(super) logs_dir: &'a Path,
    pub(super) http: &'a crate::net::Http,
    pub(super) redactor: &'a Redactor,
    pub(super) vars: &'a mut Vars,
    pub(super) res: &'a mut Resources,
    pub(super) em: &'a mut Emitter<'e>,
    pub(super) infra_failure: bool,
    /// Start time of each step run so far (wall clock and monotonic), for `after_step`.
    pub(super) step_start: Vec<(OffsetDateTime, Instant)>,
    pub(super) subscriptions: HashMap<String, crate::realtime::Subscription>,
    /// Set when this attempt records a trace.
    pub(super) capture: Option<TraceCapture>,
    /// Users whose browser starts from a saved session (taken on first use).
    pub(super) restore: &'a mut HashMap<String, SavedSession>,
    /// The person at the terminal (`--debug`, `--pause-on-failure`).
    pub(super) interaction: &'a mut Option<Box<dyn Interaction>>,
    /// `--debug` and not yet told to continue: stop before each step.
    pub(super) stepping: &'a mut bool,
    pub(super) slow_mo: Option<Duration>,
    pub(super) baseline: &'a StepBaseline,
    pub(super) attempt: u32,
    /// The step that failed this attempt, for `--pause-on-failure`.
    pub(super) failed_step: Option<FailedStep>,
    /// The person quit from the debugger.
    pub(super) quit: bool,
    /// The step running now (index, start), so a timeout can fail it (see `cut_short`).
    pub(super) current_step: Option<(usize, Instant)>,
    /// The criteria of this attempt, emitted when it ends (see `claims::settle`).
    pub(super) criteria: Vec<Criterion>,
    /// The flow's metrics endpoints as they were before its first step (`metrics` steps'
    /// `increase` assertions compare with them).
    pub(super) metrics_at_start: crate::exec::step::MetricsAtStart,
}

/// A step's verdict and what it measured, for its trace and record.
struct Ran {
    result: Result<StepOutcome, StepFailure>,
    measured: Measured,
    /// The step itself, without the trace and evidence taken after it.
    elapsed: Duration,
}

impl FlowRunner<'_, '_> {
    /// Runs the attempt's steps; after the first failure the rest are skipped. Returns the
    /// failure, located (`step 2 (file:line) …: why`).
    pub(super) async fn run(&mut self) -> Result<(), String> {
        let fresh = self.flow.ast.session == SessionMode::Fresh;
        let user = self.flow.ast.user.as_ref().map(|u| u.value.clone());
        // A fresh session replaces the user's shared one for this flow and later ones, so a
        // second login method starts logged out.
        if fresh {
            if let Some(u) = &user {
                if let Some(old) = self.res.sessions.remove(u) {
                    old.close().await;
                }
            }
        }
        let at_start = {
            let ctx = self.step_context(0, None, false);
            crate::exec::step::read_flow_start_metrics(&ctx).await
        };
        self.metrics_at_start = at_start;
        let steps = &self.flow.steps;
        let mut failure: Option<String> = None;
        let mut params_of: Option<usize> = None;
        for (index, planned) in steps.iter().enumerate() {
            let step = &planned.step;
            if failure.is_none() && *self.stepping {
                let actor = actor(planned, &user);
                if !self
                    .debug_prompt(index, step.loc.line, actor.as_deref())
                    .await
                {
                    self.quit = true;
                    failure = Some(super::outcome::QUIT.into());
                }
            }
            if let Some(why) = &failure {
                if let Some(claim) = claims::claim_of(&step.value) {
                    self.criteria
                        .push(claims::not_reached(claim, index + 1, why));
                }
                self.em.emit(RunEventKind::StepFinished {
                    flow: self.flow.ast.id.value.clone(),
                    step: self.skipped_step(planned, index),
                });
                continue;
            }
            if planned.call != params_of {
                if let Err(e) = self.set_params(planned.call, user.as_deref()) {
                    failure = Some(self.redactor.redact(&format!(
                        "step {} ({}): {e}",
                        index + 1,
                        self.step_file(planned).display()
                    )));
                }
                params_of = planned.call;
            }
            if let Some(failed) = self.run_one(index, planned, &user).await {
                failure = Some(failed);
            }
        }
        self.clean_up(failure.is_some()).await;
        match failure {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// Runs step `index` with its trace and emits its `StepFinished`; returns its failure,
    /// located.
    async fn run_one(
        &mut self,
        index: usize,
        planned: &PlannedStep,
        user: &Option<String>,
    ) -> Option<String> {
        let flow_id = self.flow.ast.id.value.clone();
        let step = &planned.step;
        let actor = actor(planned, user);
        let started = Instant::now();
        self.current_step = Some((index, started));
        let start = (OffsetDateTime::now_utc(), started);
        self.step_start.push(start);
        if let Some(mark) = step.value.mark() {
            // Saved as the step starts, like `after_step`: the mail it triggers comes later.
            self.vars.set_mark(&flow_id, &mark.value, start);
        }
        let browser_step = step.value.uses_browser();
        let mut trace = self
            .trace_before(index, actor.as_deref(), browser_step)
            .await;
        if index == 0 {
            // What the browsers did before this flow is no step's.
            for session in self.res.sessions.values() {
                session.skip_page_events();
            }
        }
        self.em.emit(RunEventKind::StepStarted {
            flow: flow_id.clone(),
            index,
            kind: step.value.kind().to_owned(),
            line: step.loc.line,
        });
        let next = self.flow.steps.get(index + 1);
        let next_reads_page = next.is_some_and(|next| reads_page_after(next, planned, user));
        let mut ran = self
            .step(index, planned, next, user, next_reads_page, started)
            .await;
        if let Some(t) = trace.as_mut() {
            let next_reads = ran.result.is_ok() && next_reads_page;
            self.trace_after(
                t,
                &mut ran,
                index,
                actor.as_deref(),
                browser_step,
                next_reads,
            )
            .await;
        }
        // Files a failing step wrote as its evidence (expect_screenshot's expected, actual and
        // diff) belong to the step's record too, beside the failure screenshot.
        let mut written = Vec::new();
        for kind in std::mem::take(&mut ran.measured.events) {
            if let RunEventKind::ArtifactWritten { artifact, .. } = &kind {
                written.push(artifact.clone());
            }
            match kind {
                // Held until the attempt ends: whether a PASS stands depends on the flow.
                RunEventKind::CriterionRecorded {
                    flow: Some(_),
                    mut criterion,
                } => {
                    // The kind of claim comes from the step's kind, in one place.
                    if criterion.proves.is_none() {
                        criterion.proves = claims::claim_of(&step.value).map(|c| c.proves);
                    }
                    self.criteria.push(criterion);
                }
                other => self.em.emit(other),
            }
        }
        let (status, summary, error, artifacts, evidence, failure) = match ran.result {
            Ok(StepOutcome {
                summary,
                artifacts,
                evidence,
            }) => (StepStatus::Passed, summary, None, artifacts, evidence, None),
            Err(f) => {
                let (mut artifacts, located) = self.step_failed(index, planned, &actor, &f).await;
                artifacts.extend(written);
                let message = f.message();
                (
                    StepStatus::Failed,
                    f.summary,
                    Some(message),
                    artifacts,
                    vec![],
                    Some(located),
                )
            }
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let slow = (status == StepStatus::Passed)
            .then(|| {
                self.baseline
                    .judge(&flow_id, index, step.value.kind(), duration_ms)
            })
            .flatten();
        let record = StepRecord {
            file: planned.call.map(|_| self.step_file(planned).to_path_buf()),
            index,
            kind: step.value.kind().to_owned(),
            line: step.loc.line,
            summary: self.redactor.redact(&self.in_group(planned, &summary)),
            status,
            duration_ms,
            error: error.map(|e| self.redactor.redact(&e)),
            artifacts,
            evidence,
            round_trips: ran.measured.round_trips,
            time: Some(StepTime::split(
                ran.elapsed,
                started.elapsed(),
                ran.measured.driver_us,
                ran.measured.page_us,
            )),
            trace,
            slow,
        };
        if *self.stepping {
            if let Some(i) = self.interaction.as_mut() {
                i.step_finished(&record);
            }
        }
        self.em.emit(RunEventKind::StepFinished {
            flow: flow_id,
            step: record,
        });
        self.current_step = None;
        if let (Some(pause), true) = (self.slow_mo, browser_step) {
            tokio::time::sleep(pause).await;
        }
        failure
    }

    /// A failed step: its evidence (screenshot, page HTML), what `--pause-on-failure` shows,
    /// its claim failed; returns the evidence and the failure located
    /// (`step 2 (file:line) …: why`, redacted).
    async fn step_failed(
        &mut self,
        index: usize,
        planned: &PlannedStep,
        actor: &Option<String>,
        f: &StepFailure,
    ) -> (Vec<Artifact>, String) {
        let step = &planned.step;
        self.infra_failure |= f.error.is_infrastructure();
        let artifacts = self.failure_evidence(index, actor.as_deref()).await;
        self.failed_step = Some(FailedStep {
            index,
            line: step.loc.line,
            message: self.redactor.redact(&f.message()),
            actor: actor.clone(),
            artifacts: artifacts.clone(),
        });
        let located = format!(
            "step {} ({}:{}) {}: {}",
            index + 1,
            self.step_file(planned).display(),
            step.loc.line,
            self.in_group(planned, &f.summary),
            f.error
        );
        let located = self.redactor.redact(&located);
        if let Some(claim) = claims::claim_of(&step.value) {
            self.criteria.push(claims::failed(claim, &located));
        }
        (artifacts, located)
    }

    /// Runs the step itself. An act's verdict round trip brings the trace's DOM when no later
    /// step will, and the next step's first request when it can be known now.
    async fn step(
        &mut self,
        index: usize,
        planned: &PlannedStep,
        next: Option<&PlannedStep>,
        user: &Option<String>,
        next_reads_page: bool,
        started: Instant,
    ) -> Ran {
        let prefetch_next = !*self.stepping && self.slow_mo.is_none();
        let mut ctx = self.step_context(index, None, self.capture.is_some());
        ctx.dom_after_act = ctx.trace_dom && !next_reads_page;
        ctx.prefetch = next
            .filter(|next| prefetch_next && same_page(next, planned, user))
            .and_then(|next| crate::exec::step::prefetch_request(&ctx, &next.step.value));
        let (result, measured) = crate::exec::step::run_step(&mut ctx, &planned.step.value).await;
        Ran {
            result,
            measured,
            elapsed: started.elapsed(),
        }
    }

    /// A traced step's start, with the "before" frame of a browser step in `on` mode.
    async fn trace_before(
        &mut self,
        index: usize,
        actor: Option<&str>,
        browser_step: bool,
    ) -> Option<StepTrace> {
        let cap = self.capture.as_mut()?;
        let mut t = StepTrace {
            started_ms: self.em.started.elapsed().as_millis() as u64,
            ..Default::default()
        };
        if browser_step && cap.screenshots {
            if let Some(session) = actor.and_then(|u| self.res.sessions.get(u)) {
                let rel = PathBuf::from(&self.flow.ast.id.value)
                    .join("trace")
                    .join(format!("{:02}-before.jpg", index + 1));
                // With a pause or a person between steps, the page may change meanwhile.
                let adjacent = !*self.stepping && self.slow_mo.is_none();
                t.screenshot_before = cap
                    .before(session, self.output_dir, index, adjacent, rel)
                    .await;
            }
        }
        Some(t)
    }

    /// What the trace keeps after a step: its HTTP exchange, the page's console and network
    /// events, and for a browser step the DOM (its own, the next step's, or a snapshot) and
    /// the "after" frame.
    async fn trace_after(
        &mut self,
        t: &mut StepTrace,
        ran: &mut Ran,
        index: usize,
        actor: Option<&str>,
        browser_step: bool,
        next_reads: bool,
    ) {
        let Some(cap) = self.capture.as_mut() else {
            return;
        };
        t.exchange = ran.measured.exchange.take();
        let session = actor.and_then(|u| self.res.sessions.get(u));
        if let Some(events) = session.and_then(|s| s.take_page_events()) {
            record_page_events(t, events, self.redactor);
        }
        let Some(session) = session.filter(|_| browser_step) else {
            return;
        };
        let dir = PathBuf::from(&self.flow.ast.id.value).join("trace");
        let rel = dir.join(format!("{:02}-dom.html", index + 1));
        match &ran.measured.dom_snapshot {
            Some(v) => cap.record(v, self.output_dir, rel, self.redactor, t),
            // The next step brings the DOM back with its answer: a snapshot here would only
            // wait for the page this step navigated to.
            None if next_reads => t.dom_from_next_step = true,
            None => {
                cap.snapshot(session, self.output_dir, rel, self.redactor, t)
                    .await;
            }
        }
        let looks_only = self
            .flow
            .steps
            .get(index)
            .is_some_and(|p| !p.step.value.acts());
        // A screencast defers by itself: a mark waits for the next page-changing command.
        if cap.screenshots && t.dom_from_next_step && !cap.films(session).await {
            // Likewise the frame: the next step's "after" shows what this step led to.
            let rel = dir.join(format!("{:02}-after.jpg", index + 2));
            t.screenshot_after = Some(cap.defer_after(session, index, rel));
        } else if cap.screenshots {
            t.screenshot_after = cap
                .after(
                    session,
                    self.output_dir,
                    index,
                    looks_only,
                    t.dom_snapshot.is_some(),
                    dir.join(format!("{:02}-after.jpg", index + 1)),
                )
                .await;
        }
    }

    /// After the last step: subscriptions closed; popups the flow switched to are closed, so
    /// the user's next flow starts in its main window; a dialog a failed flow left open is
    /// dismissed, or it would fail every later command of that user.
    async fn clean_up(&mut self, failed: bool) {
        for (_, sub) in self.subscriptions.drain() {
            sub.close().await;
        }
        let flow_id = &self.flow.ast.id.value;
        let mut notices = Vec::new();
        for (user, session) in &self.res.sessions {
            if failed {
                if let Ok(Some(message)) = session.dialog_text().await {
                    let _ = session.answer_dialog(false, None).await;
                    notices.push(format!(
                        "dismissed the dialog \"{}\" that {flow_id} left open in {user}'s browser",
                        self.redactor.redact(&message)
                    ));
                }
            }
            if let Err(e) = session.reset_windows().await {
                tracing::debug!("closing popups: {e}");
            }
        }
        for message in notices {
            self.em.emit(RunEventKind::Notice {
                flow: Some(flow_id.clone()),
                message,
            });
        }
    }

    /// The record of a step that did not run because an earlier one failed.
    pub(super) fn skipped_step(&self, planned: &PlannedStep, index: usize) -> StepRecord {
        StepRecord {
            file: planned.call.map(|_| self.step_file(planned).to_path_buf()),
            index,
            kind: planned.step.value.kind().to_owned(),
            line: planned.step.loc.line,
            summary: String::new(),
            status: StepStatus::Skipped,
            duration_ms: 0,
            error: None,
            artifacts: vec![],
            evidence: vec![],
            round_trips: 0,
            time: None,
            trace: None,
            slow: None,
        }
    }

    /// What step `index` runs with; `actor` is set by `run_step` from the step itself unless
    /// given (the debugger's locator probe); `trace_dom`: the flow is traced.
    pub(super) fn step_context(
        &mut self,
        index: usize,
        actor: Option<String>,
        trace_dom: bool,
    ) -> StepContext<'_> {
        StepContext {
            config: self.config,
            flow: self.flow,
            index,
            base_url: self.base_url,
            output_dir: self.output_dir,
            logs_dir: self.logs_dir,
            http: self.http,
            redactor: self.redactor,
            vars: self.vars,
            sessions: &mut self.res.sessions,
            driver: &mut self.res.driver,
            mail_sources: &self.res.mail_sources,
            user: self.flow.ast.user.as_ref().map(|u| u.value.as_str()),
            actor,
            step_start: &self.step_start,
            subscriptions: &mut self.subscriptions,
            run_started: self.em.started,
            trace_dom,
            dom_after_act: false,
            restore: self.restore,
            prefetch: None,
            metrics_at_start: &self.metrics_at_start,
            measured: Default::default(),
        }
    }

    /// The file a step is written in: the flow's, or its group's.
    pub(super) fn step_file(&self, planned: &PlannedStep) -> &std::path::Path {
        planned
            .call
            .and_then(|c| self.flow.calls.get(c))
            .map_or(self.flow.file.as_path(), |c| c.file.as_path())
    }

    /// `group › summary` for a step of a group.
    pub(super) fn in_group(&self, planned: &PlannedStep, summary: &str) -> String {
        match planned.call {
            Some(_) => format!(
                "{} › {summary}",
                GroupCall::path(&self.flow.calls, planned.call)
            ),
            None => summary.to_owned(),
        }
    }

    /// Makes `{{ params.* }}` those of `call` (rendered in the caller's scope), or none.
    fn set_params(&mut self, call: Option<usize>, user: Option<&str>) -> Result<(), String> {
        let flow_id = self.flow.ast.id.value.clone();
        // The chain of calls, outermost first: each call's values are rendered with its
        // caller's params in place.
        let mut chain = Vec::new();
        let mut c = call;
        while let Some(i) = c {
            chain.push(i);
            c = self.flow.calls.get(i).and_then(|g| g.parent);
        }
        chain.reverse();
        self.vars.clear_params(&flow_id);
        for i in chain {
            let Some(g) = self.flow.calls.get(i) else {
                break;
            };
            let mut rendered = Vec::with_capacity(g.params.len());
            for (name, template) in &g.params {
                let r = self
                    .vars
                    .render(template, &flow_id, &self.flow.needs_closure, user)
                    .map_err(|e| format!("param `{name}` of group `{}`: {e}", g.group))?;
                rendered.push((
                    name.clone(),
                    Resolved {
                        value: r.value,
                        secret: r.has_secret,
                    },
                ));
            }
            self.vars.clear_params(&flow_id);
            for (name, value) in rendered {
                self.vars
                    .set_capture(&flow_id, &format!("params.{name}"), value);
            }
        }
        Ok(())
    }
}

/// The browser's console messages and finished requests during a step, redacted, into its
/// trace.
fn record_page_events(t: &mut StepTrace, events: Vec<PageEvent>, redactor: &Redactor) {
    let (mut console, mut network) = (Vec::new(), Vec::new());
    for event in events {
        match event {
            PageEvent::Console(mut c) => {
                c.text = redactor.redact(&c.text);
                console.push(c);
            }
            PageEvent::Network(mut n) => {
                n.url = redactor.redact(&n.url);
                network.push(n);
            }
        }
    }
    t.console = Some(console);
    t.network = Some(network);
}

/// What `--pause-on-failure` shows about the failing step.
pub(super) struct FailedStep {
    pub(super) index: usize,
    pub(super) line: u32,
    /// The step's own error (expected vs found), redacted.
    pub(super) message: String,
    pub(super) actor: Option<String>,
    pub(super) artifacts: Vec<Artifact>,
}

/// Line `line` (1-based) of the flow file, trimmed.
pub(super) fn source_line(flow: &CheckedFlow, line: u32) -> String {
    flow.source
        .lines()
        .nth((line as usize).saturating_sub(1))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Whether `next` is a read-only page step (`expect`, `wait_for` on an element or URL) in the
/// same session and top-level page as `step`, which returns the DOM snapshot with its answer.
fn reads_page_after(next: &PlannedStep, step: &PlannedStep, user: &Option<String>) -> bool {
    next.step.value.reads_page_after() && actor(next, user) == actor(step, user)
}

/// Whose browser page a step works in: its `as:`, else the flow's user.
fn actor(step: &PlannedStep, user: &Option<String>) -> Option<String> {
    step.step
        .value
        .page_user()
        .map(|u| u.value.clone())
        .or_else(|| user.clone())
}

/// Whether `next` runs in the same session and top-level page as `step`, with the same
/// group parameters: then the request `next` will send can be known while `step` runs.
fn same_page(next: &PlannedStep, step: &PlannedStep, user: &Option<String>) -> bool {
    next.call == step.call
        && next.step.value.frame().is_none()
        && step.step.value.frame().is_none()
        && actor(next, user) == actor(step, user)
}
