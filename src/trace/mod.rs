//! Traces: one self-contained HTML file per flow, `<output>/<flow id>/trace.html`.
//!
//! Owns the trace writer (a consumer of the event stream, like the reporters: it reads events
//! and the flow files, never the executor), the viewer it writes, and the [`TraceIndex`] through
//! which the reports learn which traces were kept. Does not record anything: the executor's
//! `trace_capture` records the raw parts and names them in each step's `StepTrace`.
//!
//! `flows show-trace PATH` (the CLI) opens a trace in the desktop's browser.

mod dom_snapshot;
mod flow_trace;
mod trace_index;
mod viewer;
mod writer;

pub use trace_index::{FoldedFlow, TraceFile, TraceIndex};
pub use viewer::{CONTENT_SECURITY_POLICY, NOT_CAPTURED};
pub use writer::{TraceWriter, TRACE_FILE};
