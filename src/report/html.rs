//! `index.html` (`--reporter html`): the run for people, readable offline from `file://`.
//!
//! Drawn from the same model as `staging-run-report.json` ([`StagingRunReport`], built from the
//! events, pointed at the kept traces by the trace writer's [`TraceIndex`]), so the two never
//! disagree: the run (id, base URL, profile, outcome, totals), health, a table of flows (status,
//! duration, a link to each trace with its size, failure screenshots as thumbnails), criteria
//! with their verdicts and evidence, mail latencies (per message, p50 and max) and realtime
//! frames. Links are relative to the output directory, so the directory can be moved or
//! uploaded whole. Inline CSS and a few lines of JS (image load marks and an error box); no
//! external assets. Written atomically at `RunFinished`, or by `finish` when the run ended
//! without it.

use std::path::{Path, PathBuf};

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::json::{FlowReport, StagingRunReport, REPORT_FILE};
use super::run_state::RunState;
use super::{text, EVENT_LOG_FILE};
use crate::events::{
    Artifact, ArtifactKind, EventSink, FlowStatus, RunEvent, RunEventKind, RunOutcome, Verdict,
};
use crate::human;
use crate::trace::TraceIndex;

/// The HTML report's file name inside the output directory.
pub const HTML_REPORT_FILE: &str = "index.html";

const CSS: &str = include_str!("html.css");

/// Inline styles and scripts only; images from the output directory (`file:` or the server
/// that serves it) or `data:`; nothing else loads.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self' file: data:; \
     style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Marks loaded images (`data-loaded`) and shows any error in `#report-errors`.
const JS: &str = r#"(function () {
  "use strict";
  var box = document.getElementById("report-errors");
  function fail(message) {
    box.hidden = false;
    var li = document.createElement("li");
    li.textContent = String(message);
    box.querySelector("ul").appendChild(li);
  }
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) fail("could not load " + (t.getAttribute("src") || t.tagName));
    else fail((e.message || "error") + (e.lineno ? " (line " + e.lineno + ")" : ""));
  }, true);
  Array.prototype.forEach.call(document.querySelectorAll("img"), function (img) {
    function loaded() { img.setAttribute("data-loaded", "true"); }
    if (img.complete && img.naturalWidth > 0) loaded(); else img.addEventListener("load", loaded);
  });
  // expect_screenshot's slider: the actual image covers the expected one up to the handle.
  Array.prototype.forEach.call(document.querySelectorAll(".visual"), function (v) {
    var range = v.querySelector("input[type=range]"), top = v.querySelector(".visual-top");
    if (!range || !top) return;
    function wipe() { top.style.width = range.value + "%"; }
    range.addEventListener("input", wipe);
    wipe();
  });
  document.body.setAttribute("data-ready", "true");
})();"#;

pub struct HtmlReporter {
    path: PathBuf,
    state: RunState,
    traces: TraceIndex,
    trace_mode: String,
    dirty: bool,
}

impl HtmlReporter {
    pub fn new(output_dir: &Path, traces: TraceIndex) -> Self {
        Self {
            path: output_dir.join(HTML_REPORT_FILE),
            state: RunState::default(),
            traces,
            trace_mode: String::new(),
            dirty: false,
        }
    }

    /// Where `index.html` is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self) -> anyhow::Result<()> {
        let report = StagingRunReport::from_state(&self.state, RunOutcome::Interrupted)
            .with_traces(&self.traces);
        let html = render(&report, &self.trace_mode, self.state.end.is_some());
        crate::artifact::write_atomic(&self.path, html.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.path.display()))
    }
}

impl EventSink for HtmlReporter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        if let RunEventKind::RunStarted { trace_mode, .. } = &event.kind {
            self.trace_mode.clone_from(trace_mode);
        }
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

/// The report as one HTML document; `finished` is false when the run never sent its final
/// event.
pub(crate) fn render(r: &StagingRunReport, trace_mode: &str, finished: bool) -> String {
    let outcome = outcome_word(r.outcome);
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CONTENT_SECURITY_POLICY);
                meta name="referrer" content="no-referrer";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "flows run " (r.run_id) " · " (text::totals_line(&r.totals)) }
                style { (PreEscaped(CSS)) }
            }
            body data-outcome=(outcome) {
                div #report-errors .errors role="alert" hidden {
                    strong { "The report page hit an error:" } ul {}
                }
                (run_header(r, trace_mode, finished))
                main {
                    (health(r))
                    (flows(r))
                    (criteria(r))
                    (mail(r))
                    (realtime(r))
                    (notices(r))
                }
                script { (PreEscaped(JS)) }
            }
        }
    };
    markup.into_string()
}

fn run_header(r: &StagingRunReport, trace_mode: &str, finished: bool) -> Markup {
    let t = &r.totals;
    let c = &r.criteria_totals;
    let env = &r.environment;
    let outcome = outcome_word(r.outcome);
    html! {
        header .run {
            div .headline {
                h1 { "flows run " code #run-id { (r.run_id) } }
                span class=(format!("badge outcome-{outcome}")) #outcome { (outcome) }
                @if t.failed > 0 || t.timed_out > 0 { span .badge.status-failed { "FAILED" } }
                @else if r.outcome == RunOutcome::Completed { span .badge.status-passed { "PASSED" } }
            }
            @if !finished {
                p .warning { "The run ended without its final event; this page shows the events received." }
            }
            @if let Some(reason) = &r.outcome_reason {
                p .warning #outcome-reason { (reason) }
            }
            dl .facts {
                dt { "base URL" } dd #base-url { (env.base_url) }
                dt { "profile" } dd #profile { (env.profile) }
                dt { "started" } dd { (shown_time(r.started_at.as_deref())) }
                dt { "finished" } dd { (shown_time(r.finished_at.as_deref())) }
                dt { "duration" } dd { (human::elapsed(r.duration_ms)) }
                dt { "runner" } dd { "flows " (env.runner_version) }
                @if !trace_mode.is_empty() { dt { "traces" } dd { code { (trace_mode) } } }
                @for b in &env.browsers {
                    dt { "browser" } dd { (b.user) ": " (b.browser) " " (b.version)
                        @if b.bidi { " (BiDi)" } }
                }
            }
            ul #totals .chips {
                li .status-passed data-count=(t.passed) { (t.passed) " passed" }
                li .status-failed data-count=(t.failed) { (t.failed) " failed" }
                li .status-flaky data-count=(t.flaky) { (t.flaky) " flaky" }
                li .status-skipped data-count=(t.skipped) { (t.skipped) " skipped" }
                @if t.timed_out > 0 {
                    li .status-timed-out data-count=(t.timed_out) { (t.timed_out) " timed out" }
                }
                li .status-not-run data-count=(t.not_run) { (t.not_run) " not run" }
                li .sep {}
                li .verdict-pass { (c.pass) " PASS" }
                li .verdict-failed { (c.failed) " FAILED" }
                li .verdict-unverified { (c.unverified) " UNVERIFIED" }
            }
            p .files {
                a href=(REPORT_FILE) { (REPORT_FILE) } " · " a href=(EVENT_LOG_FILE) { (EVENT_LOG_FILE) }
                @for a in &r.artifacts { " · " a href=(href(&a.path)) { (a.path.display()) } }
            }
        }
    }
}

fn health(r: &StagingRunReport) -> Markup {
    html! {
        section #health {
            h2 { "Health pre-check" }
            @match &r.health {
                None => p .dim { "did not run" },
                Some(h) => p {
                    @if h.skipped { span .badge.status-skipped { "SKIPPED" } }
                    @else if h.passed { span .badge.status-passed { "OK" } }
                    @else { span .badge.status-failed { "FAILING" } }
                    " " (h.summary)
                    @if !h.failing.is_empty() { " — failing: " strong { (h.failing.join(", ")) } }
                },
            }
        }
    }
}

fn flows(r: &StagingRunReport) -> Markup {
    html! {
        section {
            h2 { "Flows" }
            table #flows {
                thead { tr { th { "status" } th { "flow" } th { "duration" } th { "trace" } th { "failure" } } }
                tbody { @for f in &r.flows { (flow_row(f)) } }
            }
        }
    }
}

fn flow_row(f: &FlowReport) -> Markup {
    let status = status_word(f.status);
    let trace = f.artifacts.iter().find(|a| a.kind == ArtifactKind::Trace);
    let shots: Vec<&Artifact> = f
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Screenshot && is_failure_shot(a))
        .collect();
    let failed_step = f
        .failed_step
        .and_then(|i| f.steps.iter().find(|s| s.index == i));
    html! {
        tr .flow data-flow=(f.id) data-status=(status) {
            td { span class=(format!("badge status-{status}")) { (status.to_uppercase().replace('-', " ")) } }
            td {
                strong { (f.id) } " " span .dim { (f.title) }
                br;
                span .small {
                    @if !f.file.as_os_str().is_empty() { code { (f.file.display()) } }
                    @if let Some(u) = &f.user { " · user " (u) }
                    @if f.attempts > 1 { " · " (f.attempts) " attempts" }
                }
            }
            td .num { @if let Some(ms) = f.duration_ms { (human::elapsed(ms)) } @else { "—" } }
            td {
                @if let Some(t) = trace {
                    a .trace-link href=(href(&t.path)) { "trace" } " " span .dim { "(" (human::size(t.bytes)) ")" }
                } @else { span .dim { "—" } }
            }
            td .failure {
                @if let Some(s) = failed_step {
                    div .small { "step " (s.index + 1) " (" (s.kind) ", " @if let Some(f) = &s.file { (f.display()) ":" (s.line) } @else { "line " (s.line) } "): " }
                }
                @if let Some(reason) = &f.reason {
                    @if f.status != FlowStatus::Passed { pre .reason { (reason) } }
                }
                @for e in &f.earlier_attempts {
                    div .small { "attempt " (e.attempt) ": " (e.error.as_deref().unwrap_or("failed")) }
                }
                @for a in &shots {
                    a .thumb href=(href(&a.path)) title=(a.path.display().to_string()) {
                        img src=(href(&a.path)) alt=(format!("failure screenshot of {}", f.id)) loading="lazy";
                    }
                }
                @for c in visual_comparisons(&f.artifacts) { (c) }
                @for a in f.artifacts.iter().filter(|a| a.kind == ArtifactKind::PageHtml) {
                    " " a .small href=(href(&a.path)) { "page HTML" }
                }
            }
        }
    }
}

/// `expect_screenshot` evidence, one block per compared screenshot: expected, actual and diff
/// side by side, and a slider that wipes from expected to actual (a candidate without a
/// baseline shows alone).
fn visual_comparisons(artifacts: &[Artifact]) -> Vec<Markup> {
    let stem = |a: &Artifact, suffix: &str| {
        a.path
            .to_str()
            .and_then(|p| p.strip_suffix(suffix))
            .map(str::to_owned)
    };
    artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::ScreenshotActual)
        .filter_map(|actual| {
            let base = stem(actual, "-actual.png")?;
            let find = |kind: ArtifactKind, suffix: &str| {
                artifacts
                    .iter()
                    .find(|a| a.kind == kind && stem(a, suffix).as_deref() == Some(base.as_str()))
            };
            let expected = find(ArtifactKind::ScreenshotExpected, "-expected.png");
            let diff = find(ArtifactKind::ScreenshotDiff, "-diff.png");
            Some(html! {
                div .visual data-visual=(base) {
                    div .small { "screenshot comparison " code { (base) } }
                    div .visual-row {
                        @for (label, a) in [("expected", expected), ("actual", Some(actual)), ("diff", diff)] {
                            @if let Some(a) = a {
                                figure {
                                    a href=(href(&a.path)) { img src=(href(&a.path)) alt=(format!("{label} screenshot")) loading="lazy"; }
                                    figcaption { (label) }
                                }
                            }
                        }
                    }
                    @if let Some(e) = expected {
                        div .visual-slider {
                            img src=(href(&e.path)) alt="expected (under the slider)";
                            div .visual-top { img src=(href(&actual.path)) alt="actual (over the slider)"; }
                        }
                        input type="range" min="0" max="100" value="50" aria-label="expected ← → actual";
                    }
                }
            })
        })
        .collect()
}

fn criteria(r: &StagingRunReport) -> Markup {
    html! {
        section {
            h2 { "Criteria" }
            @if r.criteria.is_empty() {
                p .dim { "No criteria were recorded." }
            } @else {
                table #criteria {
                    thead { tr { th { "verdict" } th { "criterion" } th { "evidence" } } }
                    tbody {
                        @for c in &r.criteria {
                            @let v = verdict_class(c.verdict);
                            tr data-verdict=(text::verdict_word(c.verdict)) {
                                td { span class=(format!("verdict verdict-{v}")) { (text::verdict_word(c.verdict)) } }
                                td {
                                    @if let Some(flow) = &c.flow { code { (flow) } ": " }
                                    (c.name)
                                    @if let Some(note) = &c.note { div .small.dim { (note) } }
                                }
                                td {
                                    @if c.evidence.is_empty() { span .dim { "no evidence" } }
                                    ul .evidence { @for e in &c.evidence { li { (e) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn mail(r: &StagingRunReport) -> Markup {
    let m = &r.mail;
    let ms = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v} ms"));
    html! {
        section #mail {
            h2 { "Mail latency" }
            @if m.messages.is_empty() {
                p .dim { "No mail was read." }
            } @else {
                p #mail-summary {
                    "seen by the runner: p50 " strong { (ms(m.latency_p50_ms)) } ", max " strong { (ms(m.latency_max_ms)) }
                    " · recorded by the source: p50 " (ms(m.latency_source_p50_ms)) ", max " (ms(m.latency_source_max_ms))
                }
                table {
                    thead { tr { th { "flow" } th { "step" } th { "to" } th { "subject" } th { "source" } th { "seen by the runner" } th { "delivered after the action" } } }
                    tbody {
                        @for msg in &m.messages {
                            tr {
                                td { code { (msg.flow) } } td .num { (msg.step + 1) }
                                td { (msg.to) } td { (msg.subject) br; span .small.dim { (msg.message_id) } }
                                td { (msg.source) } td .num { (msg.latency_seen_ms) " ms" }
                                td .num {
                                    @match (msg.latency_source_ms, msg.latency_source_resolution_ms) {
                                        (Some(v), Some(1000)) => { (v / 1000) " s" span .small.dim { " (Date header)" } }
                                        (v, _) => { (ms(v)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn realtime(r: &StagingRunReport) -> Markup {
    html! {
        section #realtime {
            h2 { "Realtime frames" }
            @if r.realtime.frames.is_empty() {
                p .dim { "No realtime frame was kept." }
            } @else {
                table {
                    thead { tr { th { "flow" } th { "step" } th { "subscription" } th { "channel" } th { "event" } th { "received (run time)" } th { "data" } } }
                    tbody {
                        @for f in &r.realtime.frames {
                            tr {
                                td { code { (f.flow) } } td .num { (f.step + 1) }
                                td { (f.subscription) } td { (f.channel.as_deref().unwrap_or("—")) }
                                td { code { (f.event) } } td .num { "+" (human::elapsed(f.received_ms)) }
                                td { pre { (serde_json::to_string(&f.data).unwrap_or_default()) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn notices(r: &StagingRunReport) -> Markup {
    html! {
        @if !r.notices.is_empty() {
            section #notices {
                h2 { "Notes" }
                ul {
                    @for n in &r.notices {
                        li { @if let Some(flow) = &n.flow { code { (flow) } ": " } (n.message) }
                    }
                }
            }
        }
    }
}

/// `2026-11-30 03:46:45 UTC` from the report's RFC 3339 time (to the second).
fn shown_time(rfc3339: Option<&str>) -> String {
    let Some(t) = rfc3339 else {
        return "—".to_owned();
    };
    match t.strip_suffix('Z') {
        Some(utc) => {
            let seconds = utc.split('.').next().unwrap_or(utc);
            format!("{} UTC", seconds.replacen('T', " ", 1))
        }
        None => t.to_owned(),
    }
}

fn is_failure_shot(a: &Artifact) -> bool {
    a.path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("-failure.png"))
}

/// A relative link from `index.html` (in the output directory) to an artifact path, `/`
/// separated and with the characters a URL path cannot hold percent-encoded.
fn href(path: &Path) -> String {
    let mut out = String::new();
    for (i, part) in path.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        let part = part.as_os_str().to_string_lossy();
        for b in part.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn status_word(s: FlowStatus) -> &'static str {
    match s {
        FlowStatus::Passed => "passed",
        FlowStatus::Failed => "failed",
        FlowStatus::Flaky => "flaky",
        FlowStatus::Skipped => "skipped",
        FlowStatus::NotRun => "not-run",
        FlowStatus::TimedOut => "timed-out",
    }
}

fn outcome_word(o: RunOutcome) -> &'static str {
    match o {
        RunOutcome::Completed => "completed",
        RunOutcome::Interrupted => "interrupted",
        RunOutcome::Aborted => "aborted",
        RunOutcome::TimedOut => "timed-out",
        RunOutcome::MaxFailuresReached => "max-failures-reached",
    }
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Failed => "failed",
        Verdict::Unverified => "unverified",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_to_the_second() {
        assert_eq!(
            shown_time(Some("2026-11-30T03:46:45.523461369Z")),
            "2026-11-30 03:46:45 UTC"
        );
        assert_eq!(
            shown_time(Some("2026-05-31T02:00:00Z")),
            "2026-05-31 02:00:00 UTC"
        );
        assert_eq!(shown_time(None), "—");
    }

    #[test]
    fn hrefs_are_relative_and_encoded() {
        assert_eq!(
            href(Path::new("create-ticket/02-failure.png")),
            "create-ticket/02-failure.png"
        );
        assert_eq!(href(Path::new("a b/#1.png")), "a%20b/%231.png");
    }
}
