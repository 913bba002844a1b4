//! What a step runs with and what it returns: `StepContext`, `StepOutcome`, `StepFailure`
//! (a summary and a [`StepError`]),
//! `Measured` (round trips, events, the DOM it brought back…), the
//! failure helper `Fail`, and where a mail/event window starts
//! (`trigger_time`, `trigger_index`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use time::OffsetDateTime;

use super::error::StepError;
use crate::config::Config;
use crate::events::{Artifact, Evidence, RunEventKind};
use crate::exec::browser::{BrowserError, BrowserSession, Driver};
use crate::exec::vars::Vars;
use crate::flowfile::check::CheckedFlow;
use crate::redact::Redactor;

pub struct StepContext<'a> {
    pub config: &'a Config,
    pub flow: &'a CheckedFlow,
    pub index: usize,
    pub base_url: &'a str,
    pub output_dir: &'a Path,
    pub logs_dir: &'a Path,
    pub http: &'a crate::net::Http,
    pub redactor: &'a Redactor,
    pub vars: &'a mut Vars,
    pub sessions: &'a mut HashMap<String, BrowserSession>,
    pub driver: &'a mut Option<Driver>,
    /// The run's mail sources (kept across steps: caches and event streams).
    pub mail_sources: &'a crate::mail::MailSources,
    /// The flow's user (for `{{ user.* }}`).
    pub user: Option<&'a str>,
    /// Whose browser session this step acts in: its `as:`, else the flow's user.
    pub actor: Option<String>,
    pub step_start: &'a [(OffsetDateTime, Instant)],
    /// Realtime subscriptions opened by this flow attempt, by id.
    pub subscriptions: &'a mut HashMap<String, crate::realtime::Subscription>,
    pub run_started: Instant,
    /// The flow is traced: read-only steps bring the DOM back with their answer.
    pub trace_dom: bool,
    /// The trace wants the page after this step and no later step brings it: an act's
    /// hit-target verdict brings it back in the same round trip.
    pub dom_after_act: bool,
    /// Users whose browser session starts from a saved session (`--no-deps`), taken on use.
    pub restore: &'a mut HashMap<String, crate::state::SavedSession>,
    /// The next step's first page request (see [`prefetch_request`]): an act's verdict round
    /// trip runs it too, so that the hit-target check costs no round trip of its own.
    pub prefetch: Option<Value>,
    /// What the flow's `metrics` endpoints said before its first step (for `increase`).
    pub(crate) metrics_at_start: &'a super::contract::MetricsAtStart,
    /// What the step measured and saw so far; [`super::run_step`] hands it back with the
    /// step's result, so the context itself stays what the step runs with.
    pub(crate) measured: Measured,
}

/// What a step measured and saw besides its verdict, returned by [`super::run_step`] whether it
/// passed or failed.
#[derive(Debug, Default)]
pub struct Measured {
    /// The request/response an http, mail or realtime step saw (redacted), for the trace.
    pub exchange: Option<crate::events::Exchange>,
    /// Events the step wants emitted before its StepFinished (browser started, artifacts…).
    pub events: Vec<RunEventKind>,
    pub round_trips: u32,
    /// Microseconds this step spent in WebDriver calls, and inside the page script.
    pub driver_us: u64,
    pub page_us: u64,
    /// `[url, title, html, css, …]` of the page after the step, when the step's own script
    /// sent it.
    pub dom_snapshot: Option<Value>,
}

pub struct StepOutcome {
    pub summary: String,
    pub artifacts: Vec<Artifact>,
    pub evidence: Vec<Evidence>,
}

/// A failed step: what it was doing (its summary) and why it failed.
#[derive(Debug)]
pub struct StepFailure {
    pub summary: String,
    pub error: StepError,
}

impl StepFailure {
    /// The sentence the person reads.
    pub fn message(&self) -> String {
        self.error.to_string()
    }
}

pub(super) type StepResult = Result<StepOutcome, StepFailure>;

/// Builds failures that carry the step's summary, one method per kind of failure.
pub(super) struct Fail<'s>(pub(super) &'s str);

impl Fail<'_> {
    pub(super) fn with(&self, error: impl Into<StepError>) -> StepFailure {
        StepFailure {
            summary: self.0.to_owned(),
            error: error.into(),
        }
    }
    pub(super) fn input(&self, message: impl Into<String>) -> StepFailure {
        self.with(StepError::Input(message.into()))
    }
    pub(super) fn timeout(&self, message: impl Into<String>) -> StepFailure {
        self.with(StepError::Timeout(message.into()))
    }
    pub(super) fn not_actionable(&self, message: impl Into<String>) -> StepFailure {
        self.with(StepError::NotActionable(message.into()))
    }
    pub(super) fn mismatch(&self, message: impl Into<String>) -> StepFailure {
        self.with(StepError::Mismatch(message.into()))
    }
    pub(super) fn unreachable(&self, message: impl Into<String>) -> StepFailure {
        self.with(StepError::Unreachable(message.into()))
    }
    pub(super) fn file(&self, message: impl Into<String>) -> StepFailure {
        self.with(StepError::File(message.into()))
    }
    pub(super) fn browser(&self, e: BrowserError) -> StepFailure {
        self.with(StepError::Browser(e))
    }
}

pub(super) fn ok(summary: String) -> StepResult {
    Ok(StepOutcome {
        summary,
        artifacts: vec![],
        evidence: vec![],
    })
}

/// Resolves `after_step` (1-based) to a start time. By default: the most recent step before
/// this one that acts (a click, a fill, a goto, an http call…), skipping assertions, waits,
/// screenshots and captures, since those never trigger a mail or an event.
pub fn trigger_time(ctx: &StepContext<'_>, after_step: Option<u32>) -> (OffsetDateTime, Instant) {
    let idx = trigger_index(ctx, after_step);
    ctx.step_start
        .get(idx)
        .copied()
        .unwrap_or_else(|| (OffsetDateTime::now_utc(), Instant::now()))
}

/// The index (0-based, among the steps that run) of the step [`trigger_time`] measures from.
pub fn trigger_index(ctx: &StepContext<'_>, after_step: Option<u32>) -> usize {
    let resolved = ctx.flow.steps.get(ctx.index).and_then(|p| p.after);
    trigger_of(ctx.index, after_step, resolved, |i| {
        ctx.flow.steps[i].step.value.acts()
    })
}

/// `after_step: N` counts the steps as written (in a group: the group's), and the plan
/// resolved it to an index among the steps that run (`resolved`); without it, the most recent
/// step before `index` that `acts`, else the first.
fn trigger_of(
    index: usize,
    after_step: Option<u32>,
    resolved: Option<usize>,
    acts: impl Fn(usize) -> bool,
) -> usize {
    match (after_step, resolved) {
        (Some(_), Some(i)) => i,
        (Some(n), None) => (n as usize).saturating_sub(1),
        (None, _) => (0..index).rev().find(|&i| acts(i)).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::trigger_of;

    #[test]
    fn a_window_starts_at_the_last_step_that_acted() {
        // 0 goto, 1 click, 2 expect, 3 screenshot, 4 (this mail step)
        let acts = |i: usize| matches!(i, 0 | 1);
        assert_eq!(trigger_of(4, None, None, acts), 1);
        // Nothing acted before it: the first step.
        assert_eq!(trigger_of(3, None, None, |_| false), 0);
        assert_eq!(trigger_of(0, None, None, |_| true), 0);
    }

    #[test]
    fn after_step_is_1_based_as_written_unless_the_plan_resolved_it() {
        let acts = |_| true;
        assert_eq!(trigger_of(6, Some(3), None, acts), 2);
        // In a group, `after_step: 1` is the group's first step: the plan says where it ran.
        assert_eq!(trigger_of(6, Some(1), Some(4), acts), 4);
        // `after_step: 0` is not accepted by `flows check`; here it cannot underflow.
        assert_eq!(trigger_of(6, Some(0), None, acts), 0);
    }
}
