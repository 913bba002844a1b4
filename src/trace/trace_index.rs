//! Which flows the trace writer folded, and where their kept traces are: shared with the
//! reporters that point at traces (the JSON and HTML reports, the terminal).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A kept trace: `<flow id>/trace.html`, relative to the run's output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceFile {
    pub path: PathBuf,
    pub bytes: u64,
}

/// What the trace writer did with one flow's recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedFlow {
    /// The trace file, when the trace mode keeps this flow's trace.
    pub kept: Option<TraceFile>,
    /// The flow finished but its trace is written once its last frames are on disk
    /// (`trace_pending`): `kept` names where it will be, its size is not known yet.
    pub pending: bool,
}

/// The trace writer's results, by flow id. Cheap to clone; every clone sees the same map.
///
/// The writer is fed each event before the JSON report, the HTML report and the terminal (see
/// [`crate::report::Reporters`]), so when one of them handles a `FlowFinished` (or writes its
/// file at `RunFinished`), the trace of that flow is listed here: written, or, when the flow's
/// last frames were still on their way, `pending` until its `TraceSettled` (always before
/// `RunFinished`).
#[derive(Debug, Clone, Default)]
pub struct TraceIndex(Arc<Mutex<BTreeMap<String, FoldedFlow>>>);

impl TraceIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records what became of `flow`'s recording (its raw parts are gone either way).
    pub fn record(&self, flow: &str, kept: Option<TraceFile>) {
        self.lock().insert(
            flow.to_owned(),
            FoldedFlow {
                kept,
                pending: false,
            },
        );
    }

    /// `flow`'s trace will be written at `path` once its parts are on disk.
    pub fn record_pending(&self, flow: &str, path: PathBuf) {
        self.lock().insert(
            flow.to_owned(),
            FoldedFlow {
                kept: Some(TraceFile { path, bytes: 0 }),
                pending: true,
            },
        );
    }

    /// Whether `flow`'s kept trace is still to be written (its size is not known).
    pub fn pending(&self, flow: &str) -> bool {
        self.lock().get(flow).is_some_and(|f| f.pending)
    }

    /// The kept trace of `flow`, if any.
    pub fn trace_of(&self, flow: &str) -> Option<TraceFile> {
        self.lock().get(flow).and_then(|f| f.kept.clone())
    }

    /// Whether the writer folded `flow`'s recording, so the per-step part paths in its events
    /// (`StepTrace::dom_snapshot`, `screenshot_*`) no longer exist on disk.
    pub fn folded(&self, flow: &str) -> bool {
        self.lock().get(flow).is_some_and(|f| !f.pending)
    }

    /// Every kept trace, by flow id.
    pub fn kept(&self) -> Vec<(String, TraceFile)> {
        self.lock()
            .iter()
            .filter_map(|(id, f)| f.kept.clone().map(|t| (id.clone(), t)))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, FoldedFlow>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_map() {
        let index = TraceIndex::new();
        let other = index.clone();
        index.record(
            "a",
            Some(TraceFile {
                path: "a/trace.html".into(),
                bytes: 10,
            }),
        );
        index.record("b", None);
        assert_eq!(other.trace_of("a").map(|t| t.bytes), Some(10));
        assert!(other.folded("b") && other.trace_of("b").is_none());
        assert!(!other.folded("c"));
        assert_eq!(other.kept().len(), 1);
        index.record_pending("c", "c/trace.html".into());
        assert!(other.pending("c") && !other.folded("c"));
        index.record("c", None);
        assert!(!other.pending("c") && other.folded("c"));
    }
}
