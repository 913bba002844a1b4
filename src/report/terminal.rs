//! The `list` reporter: a line per flow as it ends, the failing step and its artifacts under a
//! failure, notes as they come, then the criteria that are not proven and the totals.
//!
//! Plain text unless `color`; on a TTY a live line shows the flows running (redrawn in place,
//! cleared before any other line). The closing line is exactly
//! `N passed, N failed, N skipped` (`, N flaky` / `, N not run` when non-zero), followed by
//! `report: <output dir>/staging-run-report.json` (then `html: <output dir>/index.html` with the
//! html reporter). A kept trace is printed under its flow's line: `trace: <path> (1.2 MiB)`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anstyle::{AnsiColor, Style};
use unicode_width::UnicodeWidthChar;

use super::json::REPORT_FILE;
use super::run_state::{FlowState, RunState};
use super::shared_writer::SharedWriter;
use super::{text, ReportError};
use crate::events::{
    EventSink, FlowStatus, RunEvent, RunEventKind, RunOutcome, StepStatus, Verdict,
};
use crate::human;
use crate::trace::TraceIndex;

const CLEAR_LINE: &str = "\r\x1b[2K";
/// The live line is cut to this many columns so it never wraps on a common terminal.
const LIVE_LINE_WIDTH: usize = 100;

pub(crate) struct TerminalReporter {
    out: SharedWriter,
    color: bool,
    is_tty: bool,
    verbose: bool,
    output_dir: PathBuf,
    /// Printed under the header (e.g. a requested reporter that is not available).
    notes: Vec<String>,
    state: RunState,
    /// The live line as last drawn (on a TTY, while flows run).
    live_line: Option<String>,
    closed: bool,
    /// The JSON report failed to write: say so instead of pointing at it.
    report_unwritten: bool,
    /// Kept traces, printed under their flow's line (`trace: path (size)`).
    traces: TraceIndex,
    /// `index.html`, printed after the report line when the html reporter is on.
    html_report: Option<PathBuf>,
}

impl TerminalReporter {
    pub fn new(
        out: SharedWriter,
        output_dir: &Path,
        color: bool,
        is_tty: bool,
        verbose: bool,
        notes: Vec<String>,
    ) -> Self {
        Self {
            out,
            color,
            is_tty,
            verbose,
            output_dir: output_dir.to_owned(),
            notes,
            state: RunState::default(),
            live_line: None,
            closed: false,
            report_unwritten: false,
            traces: TraceIndex::new(),
            html_report: None,
        }
    }

    /// Prints each kept trace (from the trace writer's `traces`) under its flow's line, and
    /// `html: <path>` after the report line when there is an HTML report.
    pub fn show_traces(&mut self, traces: TraceIndex, html_report: Option<PathBuf>) {
        self.traces = traces;
        self.html_report = html_report;
    }

    pub fn report_unwritten(&mut self) {
        self.report_unwritten = true;
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    fn render_event(&self, event: &RunEvent, out: &mut String) {
        match &event.kind {
            RunEventKind::RunStarted {
                run_id,
                profile,
                base_url,
                flows,
                scope,
                ..
            } => {
                let noun = if flows.len() == 1 { "flow" } else { "flows" };
                let _ = writeln!(
                    out,
                    "{} {} {noun} against {base_url} (profile {profile}, run {run_id})",
                    self.paint(Style::new().bold(), "Starting"),
                    flows.len(),
                );
                if let Some(shard) = scope.as_ref().and_then(|s| s.shard.as_ref()) {
                    let _ = writeln!(
                        out,
                        "  shard {}/{}: {} of the {} planned flows (balanced by {}, partition {})",
                        shard.index,
                        shard.count,
                        flows.len(),
                        shard.plan.len(),
                        shard.key,
                        shard.partition
                    );
                }
                if let Some(merged) = scope.as_ref().and_then(|s| s.merged.as_ref()) {
                    let shards: Vec<&str> =
                        merged.shards.iter().map(|s| s.shard.as_str()).collect();
                    let _ = writeln!(out, "  merged from shards {}", shards.join(", "));
                    if !merged.missing.is_empty() {
                        let _ = writeln!(
                            out,
                            "  {}: {} shard{} missing ({})",
                            self.paint(fail_style(), "INCOMPLETE"),
                            merged.missing.len(),
                            if merged.missing.len() == 1 { "" } else { "s" },
                            merged.missing.join(", ")
                        );
                    }
                }
                for note in &self.notes {
                    let _ = writeln!(out, "  {} {note}", self.paint(note_style(), "note:"));
                }
            }
            RunEventKind::HealthChecked {
                passed,
                skipped,
                failing,
                summary,
            } => {
                let verdict = if *skipped {
                    self.paint(skip_style(), "skipped")
                } else if *passed {
                    self.paint(pass_style(), "ok")
                } else if failing.is_empty() {
                    self.paint(fail_style(), "FAILING")
                } else {
                    self.paint(fail_style(), &format!("FAILING {}", failing.join(", ")))
                };
                let _ = writeln!(out, "  health: {verdict} ({summary})");
            }
            RunEventKind::BrowserStarted {
                user,
                browser,
                version,
                bidi,
            } => {
                if self.verbose {
                    let bidi = if *bidi { ", BiDi" } else { "" };
                    let _ = writeln!(out, "  browser: {user} on {browser} {version}{bidi}");
                }
            }
            RunEventKind::FlowFinished { flow, .. } => {
                if let Some(f) = self.state.flow(flow) {
                    self.render_flow(f, out);
                }
            }
            RunEventKind::Notice { flow, message } => {
                let label = self.paint(note_style(), "note:");
                let message = indent_continuation(message, "        ");
                match flow {
                    Some(flow) => {
                        let _ = writeln!(out, "  {label} {flow}: {message}");
                    }
                    None => {
                        let _ = writeln!(out, "  {label} {message}");
                    }
                }
            }
            RunEventKind::RunFinished { .. } => self.render_closing(out),
            RunEventKind::FlowStarted { .. }
            | RunEventKind::StepStarted { .. }
            | RunEventKind::StepFinished { .. }
            | RunEventKind::CriterionRecorded { .. }
            | RunEventKind::ArtifactWritten { .. }
            | RunEventKind::TraceSettled { .. } => {}
        }
    }

    fn render_flow(&self, f: &FlowState, out: &mut String) {
        let status = f.status();
        let (label, style) = match status {
            FlowStatus::Passed => ("PASS", pass_style()),
            FlowStatus::Failed => ("FAIL", fail_style()),
            FlowStatus::Flaky => ("FLAKY", flaky_style()),
            FlowStatus::Skipped => ("SKIP", skip_style()),
            FlowStatus::NotRun => ("NOT RUN", not_run_style()),
            FlowStatus::TimedOut => ("TIMED OUT", fail_style()),
        };
        let reason = f.reason(self.state.outcome());
        let paren = match (status, &f.end) {
            (FlowStatus::Passed | FlowStatus::Failed, Some(end)) => human::elapsed(end.duration_ms),
            (FlowStatus::Flaky, Some(end)) => format!(
                "{}, passed on attempt {}",
                human::elapsed(end.duration_ms),
                f.attempt
            ),
            _ => reason
                .clone()
                .unwrap_or_else(|| text::status_word(status).to_owned()),
        };
        // Under workers, lines come in completion order: say which worker ran the flow.
        let worker = f.worker.map(|w| format!("[w{w}] ")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {worker}{}  {}  {} ({})",
            self.paint(style, label),
            f.plan.id,
            f.plan.title,
            indent_continuation(&paren, "      ")
        );

        let file = f.plan.file.as_path();
        if self.verbose {
            for step in &f.steps {
                let mark = match step.status {
                    StepStatus::Passed => self.paint(pass_style(), "ok  "),
                    StepStatus::Failed => self.paint(fail_style(), "FAIL"),
                    StepStatus::Skipped => self.paint(skip_style(), "skip"),
                };
                let _ = write!(out, "    {mark} {}", text::step_line(file, step));
                if step.status != StepStatus::Skipped {
                    let _ = write!(out, " ({})", human::elapsed(step.duration_ms));
                }
                if let Some(error) = &step.error {
                    let _ = write!(out, ": {}", indent_continuation(error, "      "));
                }
                out.push('\n');
            }
        } else if status == FlowStatus::Failed {
            let headline = text::failure_headline(file, f.failed_step(), reason.as_deref());
            let _ = writeln!(out, "    {}", indent_continuation(&headline, "      "));
        }
        if status == FlowStatus::Failed {
            for line in f.failed_step().map(text::page_problems).unwrap_or_default() {
                let _ = writeln!(out, "      {}", indent_continuation(&line, "        "));
            }
        }
        if matches!(status, FlowStatus::Flaky | FlowStatus::Failed) {
            for earlier in &f.earlier_attempts {
                let _ = writeln!(
                    out,
                    "    attempt {}: {}",
                    earlier.attempt,
                    indent_continuation(earlier.error.as_deref().unwrap_or("failed"), "      ")
                );
            }
        }
        // A step that passed far slower than usual (a delayed route within its timeouts).
        for line in f.steps.iter().filter_map(|s| text::slow_step_line(file, s)) {
            let _ = writeln!(
                out,
                "    {}",
                self.paint(flaky_style(), &indent_continuation(&line, "      "))
            );
        }
        if status == FlowStatus::Failed || self.verbose {
            for a in &f.artifacts {
                let path = self.output_dir.join(&a.path);
                let _ = writeln!(
                    out,
                    "    {}: {}",
                    text::artifact_label(a.kind),
                    self.paint(Style::new().dimmed(), &path.display().to_string())
                );
            }
        }
        if let Some(trace) = self.traces.trace_of(f.id()) {
            let already_listed = (status == FlowStatus::Failed || self.verbose)
                && f.artifacts.iter().any(|a| a.path == trace.path);
            if !already_listed {
                let path = self.output_dir.join(&trace.path);
                let path = self.paint(Style::new().dimmed(), &path.display().to_string());
                // Written once the flow's last frames are on disk: its size is not known yet.
                if self.traces.pending(f.id()) {
                    let _ = writeln!(out, "    trace: {path}");
                } else {
                    let _ = writeln!(out, "    trace: {path} ({})", human::size(trace.bytes));
                }
            }
        }
    }

    fn render_closing(&self, out: &mut String) {
        for f in self.state.flows.iter().filter(|f| f.end.is_none()) {
            self.render_flow(f, out);
        }

        let criteria = &self.state.criteria;
        if !criteria.is_empty() {
            let count = |v: Verdict| criteria.iter().filter(|c| c.criterion.verdict == v).count();
            let _ = writeln!(
                out,
                "\ncriteria: {} PASS, {} FAILED, {} UNVERIFIED",
                count(Verdict::Pass),
                count(Verdict::Failed),
                count(Verdict::Unverified)
            );
            for c in criteria {
                let verdict = c.criterion.verdict;
                if verdict == Verdict::Pass && !self.verbose {
                    continue;
                }
                let style = match verdict {
                    Verdict::Pass => pass_style(),
                    Verdict::Failed => fail_style(),
                    Verdict::Unverified => flaky_style(),
                };
                let word = format!("{:<10}", text::verdict_word(verdict));
                let subject = match &c.flow {
                    Some(flow) => format!("{flow}: {}", c.criterion.name),
                    None => c.criterion.name.clone(),
                };
                let _ = writeln!(out, "  {}  {subject}", self.paint(style, &word));
                for e in &c.criterion.evidence {
                    let _ = writeln!(out, "    evidence: {}", indent_continuation(e, "      "));
                }
                if let Some(note) = &c.criterion.note {
                    let _ = writeln!(out, "    note: {}", indent_continuation(note, "      "));
                }
            }
        }

        out.push('\n');
        let totals = self.state.totals();
        match self.state.end.as_ref().map(|e| e.outcome) {
            None => {
                let _ = writeln!(
                    out,
                    "{}: the run ended without a final event; results are from the events received",
                    self.paint(fail_style(), "run interrupted")
                );
            }
            Some(RunOutcome::Interrupted) => {
                let mut line =
                    String::from("stopped by a signal (Ctrl-C, SIGTERM, SIGHUP or SIGQUIT)");
                if totals.not_run > 0 {
                    let noun = if totals.not_run == 1 { "flow" } else { "flows" };
                    let _ = write!(line, "; {} {noun} did not run", totals.not_run);
                }
                let _ = writeln!(
                    out,
                    "{}: {line}",
                    self.paint(fail_style(), "run interrupted")
                );
            }
            Some(RunOutcome::Aborted) => {
                let why = match &self.state.health {
                    Some(h) if !h.passed && !h.skipped => {
                        if h.failing.is_empty() {
                            format!("health pre-check failed ({})", h.summary)
                        } else {
                            format!("health pre-check failed: {}", h.failing.join(", "))
                        }
                    }
                    // The run's own reason first: the last notice may be an unrelated one
                    // ("started the web server at …").
                    _ => match self.state.end.as_ref().and_then(|e| e.reason.clone()) {
                        Some(reason) => reason,
                        None => self
                            .state
                            .notices
                            .iter()
                            .rev()
                            .find(|n| n.flow.is_none())
                            .map_or_else(
                                || "infrastructure failure".to_owned(),
                                |n| n.message.clone(),
                            ),
                    },
                };
                let _ = writeln!(out, "{}: {why}", self.paint(fail_style(), "run aborted"));
            }
            Some(RunOutcome::TimedOut | RunOutcome::MaxFailuresReached) => {
                let word = if self.state.outcome() == Some(RunOutcome::TimedOut) {
                    "run timed out"
                } else {
                    "run stopped early"
                };
                let mut line = self
                    .state
                    .end
                    .as_ref()
                    .and_then(|e| e.reason.clone())
                    .unwrap_or_default();
                if totals.not_run > 0 {
                    let noun = if totals.not_run == 1 { "flow" } else { "flows" };
                    let _ = write!(line, "; {} {noun} did not run", totals.not_run);
                }
                let _ = writeln!(out, "{}: {line}", self.paint(fail_style(), word));
            }
            Some(RunOutcome::Completed) => {}
        }
        let _ = writeln!(out, "{}", text::totals_line(&totals));
        let report = self.output_dir.join(REPORT_FILE);
        if self.report_unwritten {
            let _ = writeln!(out, "report: NOT WRITTEN ({})", report.display());
        } else {
            let _ = writeln!(out, "report: {}", report.display());
        }
        if let Some(html) = &self.html_report {
            let _ = writeln!(out, "html: {}", html.display());
        }
    }

    /// The live line: which flows are running, and the step of the first one.
    fn live_line(&self) -> Option<String> {
        if !self.is_tty || self.closed {
            return None;
        }
        let running: Vec<&FlowState> = self.state.flows.iter().filter(|f| f.is_running()).collect();
        let first = running.first()?;
        let mut line = format!("  RUN   {}", first.plan.id);
        if running.len() > 1 {
            let others: Vec<&str> = running[1..].iter().map(|f| f.plan.id.as_str()).collect();
            let _ = write!(line, " (+{}: {})", others.len(), others.join(", "));
        }
        if let Some(step) = &first.running_step {
            let _ = write!(
                line,
                "  step {} ({}, line {})",
                step.index + 1,
                step.kind,
                step.line
            );
        }
        let line = truncate_to_width(&line.replace(['\n', '\r'], " "), LIVE_LINE_WIDTH);
        Some(self.paint(Style::new().dimmed(), &line))
    }

    /// Writes `text` in one go: clears the live line first, redraws it after.
    fn emit(&mut self, text: String) -> Result<(), ReportError> {
        let live = self.live_line();
        if text.is_empty() && live == self.live_line {
            return Ok(());
        }
        let mut buf = String::new();
        if self.live_line.is_some() {
            buf.push_str(CLEAR_LINE);
        }
        buf.push_str(&text);
        if let Some(live) = &live {
            buf.push_str(live);
        }
        self.live_line = live;
        self.out.write_str(&buf).map_err(ReportError::Terminal)
    }
}

impl EventSink for TerminalReporter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        self.state.apply(event);
        let mut text = String::new();
        self.render_event(event, &mut text);
        if matches!(event.kind, RunEventKind::RunFinished { .. }) {
            self.closed = true;
        }
        self.emit(text)?;
        Ok(())
    }

    /// A run that never sent `RunFinished` still gets its closing lines, saying so.
    fn finish(&mut self) -> anyhow::Result<()> {
        if self.closed || self.state.events_seen == 0 {
            return Ok(());
        }
        self.closed = true;
        let mut text = String::new();
        self.render_closing(&mut text);
        self.emit(text)?;
        Ok(())
    }
}

fn pass_style() -> Style {
    Style::new().bold().fg_color(Some(AnsiColor::Green.into()))
}

fn fail_style() -> Style {
    Style::new().bold().fg_color(Some(AnsiColor::Red.into()))
}

fn flaky_style() -> Style {
    Style::new().bold().fg_color(Some(AnsiColor::Yellow.into()))
}

fn skip_style() -> Style {
    Style::new().fg_color(Some(AnsiColor::Yellow.into()))
}

fn not_run_style() -> Style {
    Style::new().fg_color(Some(AnsiColor::Magenta.into()))
}

fn note_style() -> Style {
    Style::new().fg_color(Some(AnsiColor::Cyan.into()))
}

/// Continuation lines of a multi-line message, indented under the first.
fn indent_continuation(text: &str, indent: &str) -> String {
    let text = text.trim_end();
    if !text.contains('\n') {
        return text.to_owned();
    }
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_owned()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn truncate_to_width(text: &str, width: usize) -> String {
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            out.push('…');
            return out;
        }
        used += w;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use time::OffsetDateTime;

    use super::*;
    use crate::events::PlannedFlow;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("buffer").clone()).expect("utf-8")
        }
    }

    fn ev(kind: RunEventKind) -> RunEvent {
        RunEvent {
            at: OffsetDateTime::UNIX_EPOCH,
            elapsed_ms: 0,
            kind,
        }
    }

    fn started() -> RunEvent {
        ev(RunEventKind::RunStarted {
            run_id: "r1".into(),
            profile: "local".into(),
            base_url: "http://127.0.0.1:1".into(),
            runner_version: "0".into(),
            output_dir: "out".into(),
            trace_mode: "off".into(),
            scope: None,
            flows: vec![PlannedFlow {
                id: "a".into(),
                title: "A".into(),
                file: "flows/a.yaml".into(),
                user: None,
                needs: vec![],
                tags: vec![],
            }],
        })
    }

    fn reporter(buf: &Buffer, color: bool, is_tty: bool) -> TerminalReporter {
        TerminalReporter::new(
            SharedWriter::new(Box::new(buf.clone()), crate::redact::Redactor::new()),
            Path::new("out"),
            color,
            is_tty,
            false,
            vec![],
        )
    }

    #[test]
    fn on_a_tty_the_live_line_is_cleared_before_the_flow_line() {
        let buf = Buffer::default();
        let mut r = reporter(&buf, false, true);
        r.on_event(&started()).expect("event");
        r.on_event(&ev(RunEventKind::FlowStarted {
            flow: "a".into(),
            attempt: 1,
            worker: None,
        }))
        .expect("event");
        assert!(buf.text().ends_with("  RUN   a"), "{:?}", buf.text());
        r.on_event(&ev(RunEventKind::FlowFinished {
            trace_pending: false,
            flow: "a".into(),
            status: FlowStatus::Passed,
            attempt: 1,
            duration_ms: 1800,
            reason: None,
        }))
        .expect("event");
        assert!(
            buf.text()
                .ends_with("  RUN   a\r\x1b[2K  PASS  a  A (1.8s)\n"),
            "{:?}",
            buf.text()
        );
    }

    #[test]
    fn plain_output_has_no_escape_codes_and_colour_output_has_them() {
        for color in [false, true] {
            let buf = Buffer::default();
            let mut r = reporter(&buf, color, false);
            r.on_event(&started()).expect("event");
            r.on_event(&ev(RunEventKind::FlowFinished {
                trace_pending: false,
                flow: "a".into(),
                status: FlowStatus::Failed,
                attempt: 1,
                duration_ms: 10,
                reason: Some("boom".into()),
            }))
            .expect("event");
            r.finish().expect("finish");
            assert_eq!(buf.text().contains('\x1b'), color, "{:?}", buf.text());
        }
    }

    #[test]
    fn live_line_is_cut_to_the_width() {
        let long = "x".repeat(300);
        let cut = truncate_to_width(&long, LIVE_LINE_WIDTH);
        assert_eq!(cut.chars().count(), LIVE_LINE_WIDTH);
        assert!(cut.ends_with('…'));
    }
}
