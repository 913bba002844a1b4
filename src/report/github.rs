//! The `github` reporter: annotations as flows end, and a Markdown summary appended to
//! `$GITHUB_STEP_SUMMARY` when the run ends.
//!
//! Annotations (`::error file=…,line=…::…`) go to the terminal writer, where the Actions runner
//! picks them up: an error for a failed flow at its failing step, a warning for a flaky flow,
//! an error or a warning for a criterion FAILED or UNVERIFIED. The summary is appended, not
//! written atomically: the file is the runner's and other steps append to it too; it is
//! written with a single `write` so a crash leaves it without our part rather than with half.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::latency::LatencySummary;
use super::run_state::RunState;
use super::shared_writer::SharedWriter;
use super::{text, ReportError};
use crate::events::{EventSink, Evidence, FlowStatus, RunEvent, RunEventKind, Verdict};
use crate::human;

pub(crate) struct GithubReporter {
    summary_path: Option<PathBuf>,
    out: SharedWriter,
    state: RunState,
    /// The summary was appended (once per run).
    summary_written: bool,
}

impl GithubReporter {
    pub fn new(summary_path: Option<PathBuf>, out: SharedWriter) -> Self {
        Self {
            summary_path,
            out,
            state: RunState::default(),
            summary_written: false,
        }
    }

    fn annotations(&self, event: &RunEvent) -> String {
        let mut out = String::new();
        match &event.kind {
            RunEventKind::FlowFinished { flow, .. } => {
                let Some(f) = self.state.flow(flow) else {
                    return out;
                };
                let file = f.plan.file.as_path();
                match f.status() {
                    status @ (FlowStatus::Failed | FlowStatus::TimedOut) => {
                        let failed = f.failed_step();
                        let reason = f.reason(self.state.outcome());
                        let message = text::failure_headline(file, failed, reason.as_deref());
                        let what = if status == FlowStatus::TimedOut {
                            "timed out"
                        } else {
                            "failed"
                        };
                        // A step of a step group is annotated in the group's file.
                        let at = failed.and_then(|s| s.file.as_deref()).unwrap_or(file);
                        annotation(
                            &mut out,
                            "error",
                            at,
                            failed.map(|s| s.line),
                            &format!("{} {what}", f.plan.id),
                            &message,
                        );
                    }
                    FlowStatus::Flaky => annotation(
                        &mut out,
                        "warning",
                        file,
                        None,
                        &format!("{} is flaky", f.plan.id),
                        &format!("passed on attempt {}", f.attempt),
                    ),
                    FlowStatus::Passed | FlowStatus::Skipped | FlowStatus::NotRun => {}
                }
            }
            RunEventKind::CriterionRecorded { flow, criterion } => {
                let level = match criterion.verdict {
                    Verdict::Pass => return out,
                    Verdict::Failed => "error",
                    Verdict::Unverified => "warning",
                };
                let file = flow
                    .as_deref()
                    .and_then(|id| self.state.flow(id))
                    .map_or(Path::new(""), |f| f.plan.file.as_path());
                let mut message = criterion.name.clone();
                if let Some(note) = &criterion.note {
                    let _ = write!(message, ": {note}");
                }
                annotation(
                    &mut out,
                    level,
                    file,
                    None,
                    &format!("criterion {}", text::verdict_word(criterion.verdict)),
                    &message,
                );
            }
            _ => {}
        }
        out
    }

    fn append_summary(&mut self) -> Result<(), ReportError> {
        self.summary_written = true;
        let Some(path) = &self.summary_path else {
            return Ok(());
        };
        let summary = self.out.redacted(&step_summary(&self.state));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(summary.as_bytes())?;
            file.flush()
        };
        write().map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })
    }
}

impl EventSink for GithubReporter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        self.state.apply(event);
        let annotations = self.annotations(event);
        self.out
            .write_str(&annotations)
            .map_err(ReportError::Terminal)?;
        if matches!(event.kind, RunEventKind::RunFinished { .. }) {
            self.append_summary()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        if !self.summary_written && self.state.events_seen > 0 {
            self.append_summary()?;
        }
        Ok(())
    }
}

/// `::error file=F,line=L,title=T::message`, escaped as the Actions runner expects.
fn annotation(
    out: &mut String,
    level: &str,
    file: &Path,
    line: Option<u32>,
    title: &str,
    message: &str,
) {
    let mut props = Vec::new();
    if !file.as_os_str().is_empty() {
        props.push(format!(
            "file={}",
            escape_property(&file.display().to_string())
        ));
    }
    if let Some(line) = line {
        props.push(format!("line={line}"));
    }
    props.push(format!("title={}", escape_property(title)));
    let _ = writeln!(
        out,
        "::{level} {}::{}",
        props.join(","),
        escape_data(message)
    );
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A Markdown table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

/// The Markdown appended to `$GITHUB_STEP_SUMMARY`.
pub(crate) fn step_summary(state: &RunState) -> String {
    let mut md = String::new();
    let run = state.run.as_ref();
    let _ = writeln!(
        md,
        "## flows: {} run `{}`\n",
        run.map_or("", |r| r.profile.as_str()),
        state.run_id()
    );
    let totals = state.totals();
    let _ = write!(md, "**{}**", text::totals_line(&totals));
    let outcome = state
        .outcome_phrase()
        .map_or_else(String::new, |p| format!(" · {p}"));
    let duration = state
        .end
        .as_ref()
        .map_or(state.last_elapsed_ms, |e| e.duration_ms);
    let _ = write!(md, "{outcome} · {}", human::elapsed(duration));
    if let Some(run) = run {
        let _ = write!(md, " · {}", run.base_url);
    }
    md.push_str("\n\n");
    if let Some(h) = &state.health {
        let verdict = if h.skipped {
            "skipped"
        } else if h.passed {
            "ok"
        } else {
            "FAILING"
        };
        let _ = writeln!(md, "Health pre-check: {verdict} ({})\n", cell(&h.summary));
    }

    md.push_str("| Flow | Title | Status | Duration | Detail |\n");
    md.push_str("|---|---|---|---|---|\n");
    for f in &state.flows {
        let status = f.status();
        let icon = match status {
            FlowStatus::Passed => "✅",
            FlowStatus::Failed => "❌",
            FlowStatus::Flaky => "⚠️",
            FlowStatus::Skipped => "⏭️",
            FlowStatus::NotRun => "⏸️",
            FlowStatus::TimedOut => "⏱️",
        };
        let duration = f
            .end
            .as_ref()
            .filter(|_| {
                matches!(
                    status,
                    FlowStatus::Passed
                        | FlowStatus::Failed
                        | FlowStatus::Flaky
                        | FlowStatus::TimedOut
                )
            })
            .map_or_else(String::new, |e| human::elapsed(e.duration_ms));
        let detail = match status {
            FlowStatus::Passed => String::new(),
            FlowStatus::Flaky => format!("passed on attempt {}", f.attempt),
            FlowStatus::Failed | FlowStatus::TimedOut => {
                let reason = f.reason(state.outcome());
                text::failure_headline(&f.plan.file, f.failed_step(), reason.as_deref())
            }
            FlowStatus::Skipped | FlowStatus::NotRun => {
                f.reason(state.outcome()).unwrap_or_default()
            }
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {icon} {} | {duration} | {} |",
            f.plan.id,
            cell(&f.plan.title),
            text::status_word(status),
            cell(&detail)
        );
    }

    if !state.criteria.is_empty() {
        md.push_str(
            "\n### Criteria\n\n| Verdict | Criterion | Flow | Evidence |\n|---|---|---|---|\n",
        );
        for c in &state.criteria {
            let mut evidence = c.criterion.evidence.join("; ");
            if let Some(note) = &c.criterion.note {
                if !evidence.is_empty() {
                    evidence.push_str("; ");
                }
                evidence.push_str("note: ");
                evidence.push_str(note);
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                text::verdict_word(c.criterion.verdict),
                cell(&c.criterion.name),
                c.flow
                    .as_deref()
                    .map_or_else(String::new, |f| format!("`{f}`")),
                cell(&evidence)
            );
        }
    }

    let mut seen = Vec::new();
    let mut source = Vec::new();
    for f in &state.flows {
        for step in &f.steps {
            for e in &step.evidence {
                if let Evidence::Mail {
                    latency_seen_ms,
                    latency_source_ms,
                    ..
                } = e
                {
                    seen.push(*latency_seen_ms);
                    source.extend(*latency_source_ms);
                }
            }
        }
    }
    md.push_str("\n### Mail\n\n");
    match LatencySummary::of(&seen) {
        Some(l) => {
            let noun = if seen.len() == 1 {
                "message"
            } else {
                "messages"
            };
            let _ = write!(
                md,
                "{} {noun} read · latency p50 {} · max {}",
                seen.len(),
                human::elapsed(l.p50_ms),
                human::elapsed(l.max_ms)
            );
            if let Some(s) = LatencySummary::of(&source) {
                let _ = write!(
                    md,
                    " (at the source: p50 {} · max {})",
                    human::elapsed(s.p50_ms),
                    human::elapsed(s.max_ms)
                );
            }
            md.push('\n');
        }
        None => md.push_str("No message was read: mail delivery is not proven by this run.\n"),
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_escapes_data_and_properties() {
        let mut out = String::new();
        annotation(
            &mut out,
            "error",
            Path::new("flows/a,b.yaml"),
            Some(12),
            "a: failed",
            "100% broken\nsecond line",
        );
        assert_eq!(
            out,
            "::error file=flows/a%2Cb.yaml,line=12,title=a%3A failed::100%25 broken%0Asecond line\n"
        );
    }

    #[test]
    fn table_cells_stay_on_one_line() {
        assert_eq!(cell("a|b\nc <id>"), "a\\|b c &lt;id&gt;");
    }
}
