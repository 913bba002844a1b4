//! The trace viewer: one self-contained HTML file per flow, opened from `file://` with no
//! server and no network.
//!
//! Layout: the flow's header (status, file, run, reason, criteria), a film strip of frames, the
//! step list (status, kind, summary, duration) and the selected step's details: its YAML lines,
//! timings and round trips, URL and title, frames before and after, the failure screenshot, the
//! DOM snapshot in a sandboxed `srcdoc` frame, console and network entries (or "not captured"),
//! the HTTP exchange, evidence and the error. The failing step is selected on open (in a passing
//! flow, its first step); up/down (or j/k) move between steps.
//!
//! Everything is inline: CSS and plain JS (`assets/viewer.{css,js}`), frames as `data:` URLs in
//! one JSON block (each stored once, shown by id), DOM snapshots HTML-escaped in attributes
//! (each stored once, put into the frame's `srcdoc` when its step is selected). A
//! Content-Security-Policy forbids every load that is not inline or `data:`; the `srcdoc`
//! frames inherit it and run no scripts (`sandbox` without `allow-scripts`). Errors the page
//! hits are written into `#viewer-errors`, so a test can assert there are none.

use std::fmt::Write as _;

use base64::Engine as _;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::flow_trace::{FlowTrace, TracedAttempt, TracedStep};
use crate::events::{
    ConsoleEntry, Evidence, FlowStatus, NetworkEntry, StepStatus, StepTrace, Verdict,
};
use crate::human;

const CSS: &str = include_str!("assets/viewer.css");
const JS: &str = include_str!("assets/viewer.js");

/// No network, no plugins, no navigation: inline styles and scripts, `data:` images only. The
/// sandboxed snapshot frames inherit this policy.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src data:; \
     style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Said wherever console or network entries were not captured.
pub const NOT_CAPTURED: &str =
    "not captured (this driver session has no WebDriver BiDi log/network events)";

/// The trace file of `trace`, as one HTML document.
pub fn render(trace: &FlowTrace) -> String {
    let opening = trace.opening_attempt();
    let status = flow_status_word(trace.status);
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CONTENT_SECURITY_POLICY);
                meta name="referrer" content="no-referrer";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Trace · " (trace.plan.id) " · " (status) }
                style { (PreEscaped(CSS)) }
            }
            body data-flow=(trace.plan.id) data-status=(status) {
                div #viewer-errors .viewer-errors role="alert" hidden {
                    strong { "The trace viewer hit an error:" }
                    ul {}
                }
                (header(trace, status))
                @if trace.attempts.len() > 1 {
                    nav .attempt-tabs aria-label="Attempts" {
                        @for (i, a) in trace.attempts.iter().enumerate() {
                            button .attempt-tab type="button" data-attempt=(a.attempt)
                                aria-pressed=(if i == opening { "true" } else { "false" }) {
                                "attempt " (a.attempt) " · " (attempt_word(trace, i, a))
                            }
                        }
                    }
                }
                @if trace.attempts.is_empty() {
                    p .empty { "No step of this flow finished." }
                }
                @for (i, a) in trace.attempts.iter().enumerate() {
                    (attempt_view(trace, a, i == opening))
                }
                div #doms hidden {
                    @for (i, dom) in trace.parts.doms.iter().enumerate() {
                        template id=(format!("dom-{i}")) data-srcdoc=(dom) {}
                    }
                }
                script #frames type="application/json" { (PreEscaped(frames_json(trace))) }
                script { (PreEscaped(JS)) }
            }
        }
    };
    markup.into_string()
}

fn header(trace: &FlowTrace, status: &str) -> Markup {
    let plan = &trace.plan;
    html! {
        header .top {
            div .headline {
                span class=(format!("badge status-{status}")) { (status.to_uppercase()) }
                h1 { (plan.id) span .title { " · " (plan.title) } }
            }
            p .meta {
                @if !plan.file.as_os_str().is_empty() {
                    "file " code { (plan.file.display()) } " · "
                }
                @if let Some(user) = &plan.user { "user " code { (user) } " · " }
                @if let Some(ms) = trace.duration_ms { (human::elapsed(ms)) " · " }
                (trace.attempts.len()) (if trace.attempts.len() == 1 { " attempt" } else { " attempts" })
                " · run " code { (trace.run.run_id) }
                " · profile " (trace.run.profile)
                " · " (trace.run.base_url)
                " · trace mode " code { (trace.run.trace_mode) }
            }
            @if let Some(reason) = &trace.reason {
                pre .reason { (reason) }
            }
            @if let Err(why) = &trace.source {
                p .note { "Step source not shown: " (why) }
            }
            @if !trace.criteria.is_empty() {
                ul .criteria {
                    @for c in &trace.criteria {
                        li {
                            span class=(format!("verdict verdict-{}", verdict_class(c.verdict))) { (verdict_word(c.verdict)) }
                            " " (c.name)
                            @if let Some(note) = &c.note { span .dim { " — " (note) } }
                        }
                    }
                }
            }
            p .help { "↑/↓ (or j/k) move between steps · click a step or a frame to select it" }
        }
    }
}

fn attempt_view(trace: &FlowTrace, a: &TracedAttempt, open: bool) -> Markup {
    // A failing attempt opens at its failing step; a passing one at its first step.
    let initial = a
        .failed_step()
        .or(a.steps.first())
        .map_or(0, |s| s.record.index);
    let strip: Vec<&TracedStep> = a
        .steps
        .iter()
        .filter(|s| s.strip_frame().is_some())
        .collect();
    html! {
        section .attempt id=(format!("attempt-{}", a.attempt)) data-attempt=(a.attempt)
            data-initial=(initial) data-opening=[open.then_some("true")] hidden[!open] {
            div .filmstrip aria-label=(format!("Frames of attempt {}", a.attempt)) {
                @if strip.is_empty() {
                    p .empty { "No frames: screenshots before and after each step are taken with "
                        code { "--trace on" } "; a failing step leaves a failure screenshot." }
                }
                @for s in &strip {
                    button .frame type="button" data-index=(s.record.index)
                        data-status=(step_status_word(s.record.status))
                        title=(format!("step {}: {}", s.record.index + 1, trace.summary_of(&s.record))) {
                        img data-frame=(frame_id(s.strip_frame().unwrap_or_default()))
                            alt=(format!("the page at step {}", s.record.index + 1));
                        span .n { (s.record.index + 1) }
                    }
                }
            }
            div .panes {
                ol .steps role="listbox" tabindex="0"
                    aria-label=(format!("Steps of attempt {}", a.attempt)) {
                    @for s in &a.steps {
                        @let r = &s.record;
                        li .step id=(format!("a{}-s{}", a.attempt, r.index + 1)) role="option"
                            aria-selected="false" data-index=(r.index) data-kind=(r.kind)
                            data-status=(step_status_word(r.status)) {
                            span .num { (r.index + 1) }
                            span .kind { (r.kind) }
                            span .summary { (trace.summary_of(r)) }
                            span .dur {
                                @if r.status != StepStatus::Skipped { (human::elapsed(r.duration_ms)) }
                            }
                        }
                    }
                }
                div .details {
                    @for s in &a.steps {
                        (step_detail(trace, a, s))
                    }
                }
            }
        }
    }
}

fn step_detail(trace: &FlowTrace, a: &TracedAttempt, s: &TracedStep) -> Markup {
    let r = &s.record;
    let status = step_status_word(r.status);
    let source = trace.step_source(r);
    html! {
        section .detail data-index=(r.index) hidden {
            h2 {
                span class=(format!("badge status-{status}")) { (status.to_uppercase()) }
                " Step " (r.index + 1) " · " (r.kind)
            }
            p .summary { (trace.summary_of(r)) }
            @if let Some(error) = &r.error {
                pre .error { (error) }
            }
            dl .facts {
                dt { "line" } dd {
                    @if let Some(f) = &r.file { (f.display()) ":" (r.line) }
                    @else if trace.plan.file.as_os_str().is_empty() { (r.line) }
                    @else { (trace.plan.file.display()) ":" (r.line) }
                }
                @if r.status != StepStatus::Skipped {
                    dt { "duration" } dd { (human::elapsed(r.duration_ms)) " (" (r.duration_ms) " ms)" }
                    dt { "round trips" } dd { (r.round_trips) }
                    @if let Some(t) = &r.time {
                        dt { "time spent" } dd {
                            "driver " (t.driver_ms) " ms · in the page " (t.page_ms) " ms · runner "
                            (t.runner_ms) " ms · trace and evidence " (t.evidence_ms) " ms"
                        }
                    }
                }
                @if let Some(t) = &r.trace {
                    dt { "started" } dd { "+" (human::elapsed(t.started_ms.saturating_sub(a.started_ms))) " into the attempt" }
                    @if let Some(url) = &t.page_url { dt { "URL" } dd .url { (url) } }
                    @if let Some(title) = &t.page_title { dt { "title" } dd { (title) } }
                }
            }
            @if !source.is_empty() {
                h3 { "Source" }
                pre .source {
                    @for (n, text) in &source {
                        span .ln { (format!("{n:>4}")) } " " (text) "\n"
                    }
                }
            }
            @if r.status == StepStatus::Skipped {
                p .note { "Not run: an earlier step failed." }
            } @else {
                (step_trace(s))
            }
        }
    }
}

fn step_trace(s: &TracedStep) -> Markup {
    let r = &s.record;
    let pick = |l: &str| {
        s.visual
            .iter()
            .find(|(label, _)| *label == l)
            .map(|(_, f)| *f)
    };
    let slider = pick("expected").zip(pick("actual"));
    html! {
        @if s.before.is_some() || s.after.is_some() {
            h3 { "Frames" }
            div .frames {
                @for (label, frame) in [("before", s.before), ("after", s.after)] {
                    figure {
                        figcaption { (label) }
                        @if let Some(f) = frame {
                            img data-frame=(frame_id(f)) alt=(format!("the page {label} step {}", r.index + 1));
                        } @else {
                            p .note { "no frame" }
                        }
                    }
                }
            }
        }
        @if let Some(f) = s.failure_shot {
            h3 { "Failure screenshot" }
            figure .failure-shot {
                img data-frame=(frame_id(f)) alt=(format!("the page when step {} failed", r.index + 1));
            }
        }
        @if !s.visual.is_empty() {
            h3 { "Screenshot comparison" }
            div .frames .visual-row {
                @for (label, f) in &s.visual {
                    figure {
                        figcaption { (label) }
                        img data-frame=(frame_id(*f)) alt=(format!("{label} screenshot of step {}", r.index + 1));
                    }
                }
            }
            @if let Some((e, a)) = slider {
                div .visual-slider {
                    img data-frame=(frame_id(e)) alt="expected (under the slider)";
                    div .visual-top { img data-frame=(frame_id(a)) alt="actual (over the slider)"; }
                }
                input .visual-range type="range" min="0" max="100" value="50" aria-label="expected ← → actual";
            }
        }
        @if !s.missing.is_empty() {
            p .note {
                "Parts recorded for this step but missing when the trace was written: "
                @for (i, m) in s.missing.iter().enumerate() {
                    @if i > 0 { ", " } code { (m.display()) }
                }
            }
        }
        @match &r.trace {
            None => p .note { "Nothing was recorded for this step (this attempt ran without a trace)." },
            Some(t) => (recorded(s, t)),
        }
        @if !r.evidence.is_empty() {
            h3 { "Evidence" }
            ul .evidence { @for e in &r.evidence { li { (evidence(e)) } } }
        }
        @let links: Vec<_> = s.linked_artifacts().collect();
        @if !links.is_empty() {
            h3 { "Artifacts" }
            ul .artifacts {
                @for art in links {
                    li { a href=(format!("../{}", art.path.display())) { (art.path.display()) }
                        " (" (human::size(art.bytes)) ")" }
                }
            }
        }
    }
}

fn recorded(s: &TracedStep, t: &StepTrace) -> Markup {
    let browser_step = t.dom_snapshot.is_some() || t.page_url.is_some();
    html! {
        @if let Some(dom) = s.dom {
            h3 { "DOM snapshot" span .dim { " (after the step; scripts removed; the page's same-origin stylesheets inlined, up to 256 KiB; other external resources not loaded)" } }
            iframe .dom sandbox="" data-dom=(dom) referrerpolicy="no-referrer"
                title=(format!("DOM after step {}", s.record.index + 1)) {}
        } @else if browser_step {
            h3 { "DOM snapshot" }
            p .note { "not captured (the page could not be read after this step)" }
        }
        @if browser_step || t.console.is_some() {
            h3 { "Console" }
            (console(t.console.as_deref()))
        }
        @if browser_step || t.network.is_some() {
            h3 { "Network" }
            (network(t.network.as_deref()))
        }
        @if let Some(x) = &t.exchange {
            h3 { "HTTP exchange" }
            div .exchange {
                figure { figcaption { "request" } pre { (x.request) } }
                figure { figcaption { "response" } pre { (x.response) } }
            }
        }
    }
}

fn console(entries: Option<&[ConsoleEntry]>) -> Markup {
    html! {
        @match entries {
            None => p .not-captured { (NOT_CAPTURED) },
            Some([]) => p .note .console-empty { "no console messages during this step" },
            Some(list) => table .console {
                thead { tr { th { "level" } th { "message" } } }
                tbody { @for e in list { tr data-level=(e.level) { td { (e.level) } td { pre { (e.text) } } } } }
            },
        }
    }
}

fn network(entries: Option<&[NetworkEntry]>) -> Markup {
    html! {
        @match entries {
            None => p .not-captured { (NOT_CAPTURED) },
            Some([]) => p .note .network-empty { "no requests during this step" },
            Some(list) => table .network {
                thead { tr { th { "method" } th { "URL" } th { "status" } th { "time" } } }
                tbody {
                    @for e in list {
                        tr {
                            td { (e.method) } td .url { (e.url) }
                            td {
                                @if let Some(s) = e.status { (s) }
                                @else if let Some(err) = &e.error { span .failed { (err) } }
                                @else { "—" }
                            }
                            td { @if let Some(ms) = e.duration_ms { (ms) " ms" } @else { "—" } }
                        }
                    }
                }
            },
        }
    }
}

fn evidence(e: &Evidence) -> Markup {
    html! {
        @match e {
            Evidence::Mail { to, subject, message_id, source, latency_source_ms, latency_source_resolution_ms, latency_seen_ms, extracted, .. } => {
                "mail to " code { (to) } ": “" (subject) "” " span .dim { (message_id) " via " (source) }
                " — seen after " (latency_seen_ms) " ms"
                @if let Some(ms) = latency_source_ms {
                    @if *latency_source_resolution_ms == Some(1000) {
                        " (delivered after " (ms / 1000) " s by its Date header, whole seconds)"
                    } @else { " (delivered after " (ms) " ms)" }
                }
                @for x in extracted {
                    br; (x.kind) " → " code { (x.var) } " from " (x.place.replace('_', " ")) " at " (x.position) ": “" (x.context) "”"
                }
            }
            Evidence::RealtimeFrame { subscription, channel, event, data, received_ms } => {
                "realtime " code { (subscription) } " "
                @if let Some(c) = channel { code { (c) } " " }
                code { (event) } " at " (human::elapsed(*received_ms)) " into the run"
                pre { (serde_json::to_string_pretty(data).unwrap_or_default()) }
            }
            Evidence::Http { method, url, status, duration_ms } => {
                "HTTP " (method) " " span .url { (url) } " → " (status) " in " (duration_ms) " ms"
            }
            Evidence::Download { file_name, bytes, media_type, sha256, .. } => {
                "download " code { (file_name) } " — " (bytes) " bytes, " (media_type) ", sha256 " code { (sha256) }
            }
            Evidence::Attachment { file_name, bytes, media_type, sha256, message_id, .. } => {
                "mail attachment " code { (file_name) } " of " span .dim { (message_id) } " — " (bytes) " bytes, " (media_type) ", sha256 " code { (sha256) }
            }
            Evidence::Dialog { message, answer } => {
                "dialog “" (message) "” " (answer)
            }
            Evidence::Contract { check, subject, expected, actual, passed } => {
                (check) " " code { (subject) } ": " (actual)
                @if *passed { " ✓" } @else { " ✗ (expected " (expected) ")" }
            }
        }
    }
}

/// `{"f0": "data:image/jpeg;base64,…", …}`, safe inside `<script>`.
fn frames_json(trace: &FlowTrace) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out = String::from("{");
    for (i, f) in trace.parts.frames.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "\"{}\":\"data:{};base64,{}\"",
            frame_id(i),
            f.mime,
            engine.encode(&f.bytes)
        );
    }
    out.push('}');
    out
}

fn frame_id(i: usize) -> String {
    format!("f{i}")
}

fn attempt_word(trace: &FlowTrace, i: usize, a: &TracedAttempt) -> &'static str {
    if a.failed_step().is_some() {
        "failed"
    } else if i + 1 == trace.attempts.len() {
        match trace.status {
            // The flow is flaky; its last attempt passed.
            Some(FlowStatus::Flaky) => "passed",
            other => flow_status_word(other),
        }
    } else {
        "did not finish"
    }
}

pub(crate) fn flow_status_word(status: Option<FlowStatus>) -> &'static str {
    match status {
        Some(FlowStatus::Passed) => "passed",
        Some(FlowStatus::Failed) => "failed",
        Some(FlowStatus::Flaky) => "flaky",
        Some(FlowStatus::Skipped) => "skipped",
        Some(FlowStatus::TimedOut) => "timed-out",
        Some(FlowStatus::NotRun) | None => "not-run",
    }
}

fn step_status_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Failed => "FAILED",
        Verdict::Unverified => "UNVERIFIED",
    }
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Failed => "failed",
        Verdict::Unverified => "unverified",
    }
}
