//! The fan-out: one event in, every reporter fed, in a fixed order.

use std::path::{Path, PathBuf};

use super::ctrf::CtrfReporter;
use super::event_log::EventLogWriter;
use super::github::GithubReporter;
use super::html::HtmlReporter;
use super::json::JsonReporter;
use super::junit::JunitReporter;
use super::shared_writer::SharedWriter;
use super::terminal::TerminalReporter;
use super::{ReportError, ReportOptions, ReporterKind};
use crate::events::{EventSink, RunEvent, RunOutcome};
use crate::redact::Redactor;
use crate::trace::{TraceIndex, TraceWriter};

/// Every reporter of a run behind one [`EventSink`].
///
/// Order: the event log, the trace writer, the JSON report, the other file reporters (JUnit,
/// CTRF, GitHub, HTML, sinks added with [`Reporters::push`]), the terminal last, so that the
/// `report:` line is printed after the report was written.
///
/// The trace writer comes before every reporter that points at traces: when one of them
/// handles a `FlowFinished`, that flow's `trace.html` is written (or dropped) and listed in the
/// shared [`TraceIndex`] they read. It acts on the run's `trace_mode` (from `RunStarted`) and
/// does nothing when it is `off`.
///
/// Every sink sees every event even when another one failed; the first error is returned (the
/// CLI reports it once and cancels the run).
pub struct Reporters {
    event_log: EventLogWriter,
    /// None when replaying a finished run whose traces are already written
    /// ([`build_replay_reporters`]).
    trace: Option<TraceWriter>,
    json: JsonReporter,
    sinks: Vec<(String, Box<dyn EventSink>)>,
    terminal: TerminalReporter,
    output_dir: PathBuf,
    redactor: Redactor,
}

/// Builds the reporters `kinds` asks for, beside the ones always on: the event log
/// (`events.jsonl`), the trace writer (`<flow>/trace.html`, as `--trace` says), the JSON report
/// (`staging-run-report.json`) and the terminal lines.
pub fn build_reporters(kinds: &[ReporterKind], opts: ReportOptions) -> Reporters {
    build(kinds, opts, TraceIndex::new(), true)
}

/// The reporters of a run rebuilt from its events (`flows merge-reports`): the same as
/// [`build_reporters`] but without the trace writer, since the traces were written when the
/// run ran; `traces` lists them (every flow of the run recorded, so the reports never point at
/// trace parts that were folded away).
pub fn build_replay_reporters(
    kinds: &[ReporterKind],
    opts: ReportOptions,
    traces: TraceIndex,
) -> Reporters {
    build(kinds, opts, traces, false)
}

fn build(
    kinds: &[ReporterKind],
    opts: ReportOptions,
    traces: TraceIndex,
    trace_writer: bool,
) -> Reporters {
    let mut out = SharedWriter::new(opts.writer, opts.redactor.clone());
    let mut progress = None;
    if opts.progress {
        let bar = super::progress::stderr_bar();
        out = out.around_progress(bar.clone());
        progress = Some(super::progress::ProgressReporter::new(bar));
    }
    let dir = opts.output_dir.as_path();
    let mut sinks: Vec<(String, Box<dyn EventSink>)> = Vec::new();
    let notes = Vec::new();
    let mut html_report = None;
    let mut seen = Vec::new();
    for &kind in kinds {
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        match kind {
            ReporterKind::List | ReporterKind::Json => {}
            ReporterKind::Junit => {
                sinks.push((kind.to_string(), Box::new(JunitReporter::new(dir))));
            }
            ReporterKind::Ctrf => {
                sinks.push((kind.to_string(), Box::new(CtrfReporter::new(dir))));
            }
            ReporterKind::Github => sinks.push((
                kind.to_string(),
                Box::new(GithubReporter::new(
                    opts.github_step_summary.clone(),
                    out.clone(),
                )),
            )),
            ReporterKind::Html => {
                let html = HtmlReporter::new(dir, traces.clone());
                html_report = Some(html.path().to_owned());
                sinks.push((kind.to_string(), Box::new(html)));
            }
        }
    }
    if let Some(p) = progress {
        sinks.push(("progress".to_owned(), Box::new(p)));
    }
    // With the progress line on, the terminal keeps no live line of its own.
    let live_line = opts.is_tty && !opts.progress;
    let mut terminal = TerminalReporter::new(out, dir, opts.color, live_line, opts.verbose, notes);
    terminal.show_traces(traces.clone(), html_report);
    Reporters {
        event_log: EventLogWriter::new(dir),
        trace: trace_writer.then(|| TraceWriter::new(dir, traces.clone())),
        json: JsonReporter::new(dir).with_traces(traces),
        sinks,
        terminal,
        output_dir: dir.to_owned(),
        redactor: opts.redactor,
    }
}

impl Reporters {
    /// Adds a sink (e.g. the trace writer), fed after the built-in file reporters and before
    /// the terminal.
    pub fn push(&mut self, name: impl Into<String>, sink: Box<dyn EventSink>) {
        self.sinks.push((name.into(), sink));
    }

    /// Where `staging-run-report.json` is written.
    pub fn report_path(&self) -> &Path {
        self.json.path()
    }

    /// Which flows' traces were kept, and where (shared with the reports).
    pub fn traces(&self) -> TraceIndex {
        self.json.traces().clone()
    }

    /// Where `events.jsonl` is written.
    pub fn event_log_path(&self) -> &Path {
        self.event_log.path()
    }

    /// Writes `staging-run-report.json` now from the events so far, stating `outcome` unless
    /// `RunFinished` already came (e.g. on a second Ctrl-C, before exiting hard).
    pub fn write_partial(&self, outcome: RunOutcome) -> Result<PathBuf, ReportError> {
        let path = self.json.write_partial(outcome)?;
        self.redactor
            .redact_file(&path)
            .map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }

    /// Feeds one event to every reporter (the same as [`EventSink::on_event`], callable without
    /// importing the trait).
    pub fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        self.each(|sink| sink.on_event(event))
    }

    /// Flushes every reporter (the same as [`EventSink::finish`]). Call it once, always, even
    /// after an error or an interrupt: a run that never sent `RunFinished` gets its report
    /// (saying `interrupted`), its JUnit file and its closing terminal lines here.
    ///
    /// Last, every text file of the output directory is redacted with every secret the run
    /// learned ([`Redactor::redact_tree`]): the event log's earlier lines, traces of earlier
    /// flows, reports, failure pages and process logs written before a secret became known.
    /// Then the report records each cited file's SHA-256 ([`super::json::seal`]).
    pub fn finish(&mut self) -> anyhow::Result<()> {
        let finished = self.each(|sink| sink.finish());
        let swept = self
            .redactor
            .redact_tree(&self.output_dir)
            .map(|_| ())
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot redact the artifacts in {}: {e}",
                    self.output_dir.display()
                )
            });
        // Last: the digests of the files as they now stay (after the sweep rewrote them).
        let sealed = super::json::seal(&self.output_dir)
            .map_err(|e| anyhow::anyhow!("cannot record the evidence digests: {e}"));
        finished.and(swept).and(sealed)
    }

    fn each(
        &mut self,
        mut f: impl FnMut(&mut dyn EventSink) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut first: Option<anyhow::Error> = None;
        let mut record = |name: &str, result: anyhow::Result<()>| {
            if let Err(e) = result {
                // A full disk costs that reporter's file, not the run (the JSON report has
                // space set aside); the run's outcome says its artifacts are incomplete.
                if name != "json" {
                    if let Some(io) = disk_full(&e) {
                        crate::artifact::note_failure(
                            Path::new(&format!("the {name} reporter's file")),
                            io,
                        );
                        return;
                    }
                }
                if first.is_none() {
                    first = Some(e.context(format!("{name} reporter")));
                }
            }
        };
        record("event log", f(&mut self.event_log));
        if let Some(trace) = self.trace.as_mut() {
            record("trace", f(trace));
        }
        let json = f(&mut self.json);
        let json_failed = json.is_err();
        record("json", json);
        for (name, sink) in &mut self.sinks {
            record(name, f(sink.as_mut()));
        }
        if json_failed {
            // The terminal, fed last, must not point at a report that is not there.
            self.terminal.report_unwritten();
        }
        // The terminal is for people: once it is gone (SIGHUP, a closed pipe), the run and its
        // files go on without it.
        match f(&mut self.terminal) {
            Err(e) if output_closed(&e) => tracing::debug!("terminal output lost: {e:#}"),
            other => record("list", other),
        }
        first.map_or(Ok(()), Err)
    }
}

/// The disk-full error in `e`'s chain, if that is what it is.
fn disk_full(e: &anyhow::Error) -> Option<&std::io::Error> {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .find(|io| crate::artifact::is_disk_full(io))
}

/// Whether `e` says the terminal or pipe we print to has gone away.
fn output_closed(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| {
            io.kind() == std::io::ErrorKind::BrokenPipe
                // EIO: writing to a terminal that was hung up.
                || io.raw_os_error() == Some(5)
        })
}

impl EventSink for Reporters {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        Reporters::on_event(self, event)
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        Reporters::finish(self)
    }
}
