//! The progress line on a terminal (indicatif): flows done/total, the flow and step running,
//! elapsed time. A consumer of the event stream like every reporter (it never sees the
//! executor); the lines the other reporters print go through the shared writer, which clears
//! the bar around each write ([`indicatif::ProgressBar::suspend`]) so a line never lands on it.
//! The CLI turns it on only when stdout and stderr are terminals and `CI` is unset.

use std::collections::BTreeSet;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::events::{EventSink, RunEvent, RunEventKind};

/// The bar, drawn on stderr (stdout keeps the reporters' lines).
pub(crate) fn stderr_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{elapsed:>5} [{pos}/{len} flows] {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Elapsed time moves between events too.
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

pub struct ProgressReporter {
    bar: ProgressBar,
    /// Flows that finished (a retried flow counts once).
    done: BTreeSet<String>,
}

impl ProgressReporter {
    pub(crate) fn new(bar: ProgressBar) -> Self {
        ProgressReporter {
            bar,
            done: BTreeSet::new(),
        }
    }
}

impl EventSink for ProgressReporter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        match &event.kind {
            RunEventKind::RunStarted { flows, .. } => {
                self.bar.set_length(flows.len() as u64);
                self.bar.set_message("starting");
            }
            RunEventKind::FlowStarted { flow, attempt } => {
                let retry = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                self.bar.set_message(format!("{flow}{retry}"));
            }
            RunEventKind::StepStarted {
                flow, index, kind, ..
            } => {
                self.bar
                    .set_message(format!("{flow} › step {} {kind}", index + 1));
            }
            RunEventKind::FlowFinished { flow, .. } => {
                self.done.insert(flow.clone());
                self.bar.set_position(self.done.len() as u64);
            }
            RunEventKind::RunFinished { .. } => self.bar.finish_and_clear(),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.bar.finish_and_clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{FlowStatus, PlannedFlow};

    fn event(kind: RunEventKind) -> RunEvent {
        RunEvent {
            at: time::OffsetDateTime::now_utc(),
            elapsed_ms: 0,
            kind,
        }
    }

    fn planned(id: &str) -> PlannedFlow {
        PlannedFlow {
            id: id.into(),
            title: id.into(),
            file: "x.yaml".into(),
            user: None,
            needs: vec![],
            tags: vec![],
        }
    }

    #[test]
    fn the_line_counts_finished_flows_once_and_names_the_running_step() {
        let bar = ProgressBar::hidden();
        let mut p = ProgressReporter::new(bar.clone());
        p.on_event(&event(RunEventKind::RunStarted {
            run_id: "r".into(),
            profile: "local".into(),
            base_url: "http://x".into(),
            runner_version: "0".into(),
            output_dir: "out".into(),
            flows: vec![planned("login"), planned("ticket")],
            trace_mode: "off".into(),
            scope: None,
        }))
        .expect("ok");
        assert_eq!(bar.length(), Some(2));
        p.on_event(&event(RunEventKind::FlowStarted {
            flow: "login".into(),
            attempt: 1,
        }))
        .expect("ok");
        p.on_event(&event(RunEventKind::StepStarted {
            flow: "login".into(),
            index: 2,
            kind: "click".into(),
            line: 9,
        }))
        .expect("ok");
        assert_eq!(bar.message(), "login › step 3 click");
        for attempt in [1, 2] {
            p.on_event(&event(RunEventKind::FlowFinished {
                flow: "login".into(),
                status: FlowStatus::Failed,
                attempt,
                duration_ms: 1,
                reason: None,
            }))
            .expect("ok");
        }
        assert_eq!(bar.position(), 1, "a retried flow is one flow done");
        p.finish().expect("ok");
        assert!(bar.is_finished());
    }
}
