//! Small pieces of text every human-facing reporter draws the same way: a step's one-line
//! description, status words (durations and sizes: `crate::human`).

use std::path::Path;

use crate::events::{ArtifactKind, FlowStatus, RunOutcome, StepRecord, Verdict};

/// `step 5 (flows/create-ticket.yaml:12) click role=button ~"create ticket"`; steps are
/// numbered from 1 for people, the index in the report stays 0-based.
pub(crate) fn step_line(file: &Path, step: &StepRecord) -> String {
    // A step of a step group is located in the group's file.
    let file = step.file.as_deref().unwrap_or(file);
    let location = if file.as_os_str().is_empty() {
        format!("line {}", step.line)
    } else {
        format!("{}:{}", file.display(), step.line)
    };
    format!("step {} ({location}) {}", step.index + 1, step.summary)
}

/// `slow: step 3 (file:line) goto /login took 4.1s, its median is 0.1s over 5 runs`, for a
/// step flagged slow.
pub(crate) fn slow_step_line(file: &Path, step: &StepRecord) -> Option<String> {
    let slow = step.slow?;
    Some(format!(
        "slow: {} took {}, its median is {} over {} run{}",
        step_line(file, step),
        crate::human::elapsed(step.duration_ms),
        crate::human::elapsed(slow.median_ms),
        slow.runs,
        if slow.runs == 1 { "" } else { "s" }
    ))
}

/// The failing step with its error, or the flow's reason when no step failed.
pub(crate) fn failure_headline(
    file: &Path,
    failed: Option<&StepRecord>,
    reason: Option<&str>,
) -> String {
    match failed {
        Some(step) => {
            let error = step.error.as_deref().or(reason).unwrap_or("failed");
            format!("{}: {error}", step_line(file, step))
        }
        None => reason.unwrap_or("failed").to_owned(),
    }
}

/// What the page reported going wrong during a step (console errors, requests that failed or
/// got an error status), a few of each, for the lines under a failure. From the step's trace:
/// nothing when the step was not traced or the driver has no BiDi.
pub(crate) fn page_problems(step: &StepRecord) -> Vec<String> {
    const SHOWN: usize = 3;
    let Some(trace) = &step.trace else {
        return Vec::new();
    };
    let errors: Vec<String> = trace
        .console
        .iter()
        .flatten()
        .filter(|c| c.level == "error")
        .map(|c| format!("console error: {}", c.text))
        .collect();
    let failed: Vec<String> = trace
        .network
        .iter()
        .flatten()
        .filter_map(|n| {
            let outcome = match (n.status, &n.error) {
                (Some(s), _) if s >= 400 => s.to_string(),
                (None, Some(e)) => e.clone(),
                _ => return None,
            };
            Some(format!(
                "request failed: {} {} → {outcome}",
                n.method, n.url
            ))
        })
        .collect();
    let mut lines = Vec::new();
    for list in [errors, failed] {
        let more = list.len().saturating_sub(SHOWN);
        lines.extend(list.into_iter().take(SHOWN));
        if more > 0 {
            lines.push(format!("… and {more} more in the trace"));
        }
    }
    lines
}

pub(crate) fn status_word(status: FlowStatus) -> &'static str {
    match status {
        FlowStatus::Passed => "passed",
        FlowStatus::Failed => "failed",
        FlowStatus::Flaky => "flaky",
        FlowStatus::Skipped => "skipped",
        FlowStatus::NotRun => "not run",
        FlowStatus::TimedOut => "timed out",
    }
}

/// What stopped a run early, in words, for headlines: `run timed out: run timeout (30m)
/// reached`. `None` for a completed run.
pub(crate) fn outcome_phrase(
    outcome: Option<crate::events::RunOutcome>,
    reason: Option<&str>,
) -> Option<String> {
    use crate::events::RunOutcome;
    let (word, default) = match outcome {
        None => ("run interrupted", "no final event"),
        Some(RunOutcome::Completed) => return None,
        Some(RunOutcome::Interrupted) => ("run interrupted", ""),
        Some(RunOutcome::Aborted) => ("run aborted", ""),
        Some(RunOutcome::TimedOut) => ("run timed out", "the run timeout was reached"),
        Some(RunOutcome::MaxFailuresReached) => {
            ("run stopped early", "the --max-failures limit was reached")
        }
    };
    let detail = reason.filter(|r| !r.is_empty()).unwrap_or(default);
    Some(if detail.is_empty() {
        word.to_owned()
    } else {
        format!("{word} ({detail})")
    })
}

pub(crate) fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "PASS",
        Verdict::Failed => "FAILED",
        Verdict::Unverified => "UNVERIFIED",
    }
}

pub(crate) fn artifact_label(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Screenshot => "screenshot",
        ArtifactKind::PageHtml => "page html",
        ArtifactKind::Trace => "trace",
        ArtifactKind::Log => "log",
        ArtifactKind::Report => "report",
        ArtifactKind::Download => "download",
        ArtifactKind::Attachment => "mail attachment",
        ArtifactKind::ScreenshotExpected => "expected screenshot",
        ArtifactKind::ScreenshotActual => "actual screenshot",
        ArtifactKind::ScreenshotDiff => "screenshot diff",
    }
}

/// `N passed, N failed, N skipped`, then `, N flaky` and `, N not run` only when non-zero.
pub(crate) fn totals_line(totals: &crate::events::Totals) -> String {
    let mut line = format!(
        "{} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.skipped
    );
    if totals.flaky > 0 {
        line.push_str(&format!(", {} flaky", totals.flaky));
    }
    if totals.timed_out > 0 {
        line.push_str(&format!(", {} timed out", totals.timed_out));
    }
    if totals.not_run > 0 {
        line.push_str(&format!(", {} not run", totals.not_run));
    }
    line
}

/// The run's outcome as the machine-readable reports write it (`max_failures_reached`).
pub(crate) fn outcome_word(outcome: RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Completed => "completed",
        RunOutcome::Interrupted => "interrupted",
        RunOutcome::Aborted => "aborted",
        RunOutcome::TimedOut => "timed_out",
        RunOutcome::MaxFailuresReached => "max_failures_reached",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Totals;

    #[test]
    fn page_problems_list_console_errors_and_failed_requests_only() {
        use crate::events::{ConsoleEntry, NetworkEntry, StepStatus, StepTrace};
        let console = |level: &str, text: &str| ConsoleEntry {
            level: level.into(),
            text: text.into(),
        };
        let request = |url: &str, status: Option<u16>, error: Option<&str>| NetworkEntry {
            method: "GET".into(),
            url: url.into(),
            status,
            duration_ms: None,
            error: error.map(str::to_owned),
        };
        let mut step = StepRecord {
            file: None,
            index: 2,
            kind: "click".into(),
            line: 7,
            summary: "click".into(),
            status: StepStatus::Failed,
            duration_ms: 5,
            error: Some("no element".into()),
            artifacts: vec![],
            evidence: vec![],
            round_trips: 2,
            time: None,
            trace: None,
            slow: None,
        };
        assert!(
            page_problems(&step).is_empty(),
            "not traced: nothing to say"
        );
        let mut console_entries = vec![console("info", "ready"), console("warn", "slow")];
        console_entries.extend((1..=5).map(|i| console("error", &format!("boom {i}"))));
        step.trace = Some(StepTrace {
            console: Some(console_entries),
            network: Some(vec![
                request("http://a/ok", Some(200), None),
                request("http://a/moved", Some(303), None),
                request("http://a/api", Some(500), None),
                request("http://b/x", None, Some("net::ERR_CONNECTION_REFUSED")),
            ]),
            ..Default::default()
        });
        assert_eq!(
            page_problems(&step),
            [
                "console error: boom 1",
                "console error: boom 2",
                "console error: boom 3",
                "… and 2 more in the trace",
                "request failed: GET http://a/api → 500",
                "request failed: GET http://b/x → net::ERR_CONNECTION_REFUSED",
            ]
        );
    }

    #[test]
    fn totals_line_adds_flaky_and_not_run_only_when_non_zero() {
        let mut t = Totals {
            passed: 3,
            failed: 1,
            skipped: 2,
            ..Totals::default()
        };
        assert_eq!(totals_line(&t), "3 passed, 1 failed, 2 skipped");
        t.not_run = 4;
        assert_eq!(totals_line(&t), "3 passed, 1 failed, 2 skipped, 4 not run");
        t.flaky = 1;
        assert_eq!(
            totals_line(&t),
            "3 passed, 1 failed, 2 skipped, 1 flaky, 4 not run"
        );
        t.timed_out = 1;
        assert_eq!(
            totals_line(&t),
            "3 passed, 1 failed, 2 skipped, 1 flaky, 1 timed out, 4 not run"
        );
    }

    #[test]
    fn outcome_phrases_say_what_stopped_the_run() {
        use crate::events::RunOutcome;
        assert_eq!(outcome_phrase(Some(RunOutcome::Completed), None), None);
        assert_eq!(
            outcome_phrase(
                Some(RunOutcome::TimedOut),
                Some("run timeout (30m) reached")
            )
            .as_deref(),
            Some("run timed out (run timeout (30m) reached)")
        );
        assert_eq!(
            outcome_phrase(Some(RunOutcome::Interrupted), None).as_deref(),
            Some("run interrupted")
        );
        assert_eq!(
            outcome_phrase(None, None).as_deref(),
            Some("run interrupted (no final event)")
        );
    }
}
