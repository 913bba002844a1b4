//! The progress line on a terminal (indicatif): flows done/total, the flow and step running,
//! elapsed time. A consumer of the event stream like every reporter (it never sees the
//! executor); the lines the other reporters print go through the shared writer, which clears
//! the bar around each write ([`indicatif::ProgressBar::suspend`]) so a line never lands on it.
//! The CLI turns it on only when stdout and stderr are terminals and `CI` is unset.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::events::{EventSink, RunEvent, RunEventKind};

/// The bar, drawn on stderr (stdout keeps the reporters' lines). Log lines (`tracing`, also
/// on stderr) clear it around themselves while it is drawn: see [`LogWriter`].
pub(crate) fn stderr_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{elapsed:>5} [{pos}/{len} flows] {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Elapsed time moves between events too.
    bar.enable_steady_tick(Duration::from_millis(500));
    set_drawn(Some(bar.clone()));
    bar
}

/// The bar on stderr now, for the log writer (logging starts before any bar exists).
static DRAWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn set_drawn(bar: Option<ProgressBar>) {
    *DRAWN.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// Where `tracing` writes: stderr, with the progress bar (when one is drawn) cleared around
/// each log line and redrawn after, so a warning never lands on the bar or splits it.
pub(crate) struct LogWriter<W = std::io::Stderr>(W);

impl LogWriter {
    pub(crate) fn stderr() -> LogWriter {
        LogWriter(std::io::stderr())
    }
}

impl<W: Write> Write for LogWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = DRAWN.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // One formatted event is one write: it goes out whole while the bar is cleared.
        match bar {
            Some(bar) => bar.suspend(|| self.0.write_all(buf)),
            None => self.0.write_all(buf),
        }?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
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
            RunEventKind::FlowStarted { flow, attempt, .. } => {
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
            RunEventKind::RunFinished { .. } => {
                self.bar.finish_and_clear();
                set_drawn(None);
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.bar.finish_and_clear();
        set_drawn(None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_goes_out_whole_while_a_bar_is_drawn_and_after() {
        let bar = ProgressBar::hidden();
        bar.set_length(3);
        set_drawn(Some(bar.clone()));
        let mut log = LogWriter(Vec::new());
        let line = b"WARN a warning in the middle of a run\n";
        assert_eq!(log.write(line).expect("write"), line.len());
        set_drawn(None);
        log.write_all(b"after\n").expect("write");
        assert_eq!(
            log.0,
            b"WARN a warning in the middle of a run\nafter\n".to_vec()
        );
    }
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
            worker: None,
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
                trace_pending: false,
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
