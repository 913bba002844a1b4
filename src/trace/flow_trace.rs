//! What one flow's trace holds: its attempts and steps, with every frame, failure screenshot
//! and DOM snapshot read into memory once (the writer reads a step's parts when its
//! `StepFinished` arrives, before a retry can overwrite the files of the same name).

use std::path::{Path, PathBuf};

use crate::events::{ArtifactKind, Criterion, FlowStatus, PlannedFlow, StepRecord, StepStatus};

/// An image folded into the trace (a JPEG frame or a failure PNG), stored once.
#[derive(Debug, Clone)]
pub struct Blob {
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

/// Frames and DOM snapshots, each stored once however many steps show it (identical frames
/// share a file already; identical snapshots are common: an `expect` after a `click`).
#[derive(Debug, Clone, Default)]
pub struct TraceParts {
    pub frames: Vec<Blob>,
    pub doms: Vec<String>,
}

impl TraceParts {
    pub fn add_frame(&mut self, mime: &'static str, bytes: Vec<u8>) -> usize {
        if let Some(i) = self
            .frames
            .iter()
            .position(|f| f.mime == mime && f.bytes == bytes)
        {
            return i;
        }
        self.frames.push(Blob { mime, bytes });
        self.frames.len() - 1
    }

    pub fn add_dom(&mut self, html: String) -> usize {
        if let Some(i) = self.doms.iter().position(|d| *d == html) {
            return i;
        }
        self.doms.push(html);
        self.doms.len() - 1
    }
}

/// A step as the trace shows it: its record plus the ids of its parts in [`TraceParts`].
#[derive(Debug, Clone)]
pub struct TracedStep {
    pub record: StepRecord,
    pub before: Option<usize>,
    pub after: Option<usize>,
    pub dom: Option<usize>,
    pub failure_shot: Option<usize>,
    /// `expect_screenshot`'s evidence: ("expected" | "actual" | "diff", frame id).
    pub visual: Vec<(&'static str, usize)>,
    /// Parts the event named that could not be read (shown, never silently dropped).
    pub missing: Vec<PathBuf>,
}

impl TracedStep {
    /// The frame the film strip shows for this step: after, else before, else the failure
    /// screenshot (the only picture a `retain-on-failure` trace has).
    pub fn strip_frame(&self) -> Option<usize> {
        self.after.or(self.before).or(self.failure_shot)
    }

    /// Artifacts of the step other than the failure screenshot folded into the trace.
    pub fn linked_artifacts(&self) -> impl Iterator<Item = &crate::events::Artifact> {
        self.record
            .artifacts
            .iter()
            .filter(|a| !(self.failure_shot.is_some() && is_failure_screenshot(a)))
            .filter(|a| self.visual.is_empty() || visual_label(a.kind).is_none())
    }
}

/// The label of an `expect_screenshot` evidence file, `None` for other artifacts.
pub(crate) fn visual_label(kind: ArtifactKind) -> Option<&'static str> {
    match kind {
        ArtifactKind::ScreenshotExpected => Some("expected"),
        ArtifactKind::ScreenshotActual => Some("actual"),
        ArtifactKind::ScreenshotDiff => Some("diff"),
        ArtifactKind::Screenshot
        | ArtifactKind::PageHtml
        | ArtifactKind::Trace
        | ArtifactKind::Log
        | ArtifactKind::Report
        | ArtifactKind::Download
        | ArtifactKind::Attachment => None,
    }
}

pub(crate) fn is_failure_screenshot(a: &crate::events::Artifact) -> bool {
    a.kind == ArtifactKind::Screenshot
        && a.path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("-failure.png"))
}

#[derive(Debug, Clone)]
pub struct TracedAttempt {
    pub attempt: u32,
    /// Milliseconds since the run started, when the attempt started.
    pub started_ms: u64,
    pub steps: Vec<TracedStep>,
}

impl TracedAttempt {
    pub fn failed_step(&self) -> Option<&TracedStep> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.record.status == StepStatus::Failed)
    }
}

/// What `RunStarted` said that a trace shows.
#[derive(Debug, Clone, Default)]
pub struct RunMeta {
    pub run_id: String,
    pub base_url: String,
    pub profile: String,
    pub trace_mode: String,
}

/// Everything one `trace.html` shows.
#[derive(Debug, Clone)]
pub struct FlowTrace {
    pub run: RunMeta,
    pub plan: PlannedFlow,
    /// `None` when the flow never finished (the run ended first).
    pub status: Option<FlowStatus>,
    pub duration_ms: Option<u64>,
    pub reason: Option<String>,
    pub attempts: Vec<TracedAttempt>,
    pub parts: TraceParts,
    /// The flow file's lines, or why they could not be read.
    pub source: Result<Vec<String>, String>,
    /// The lines of each step group file the flow's steps came from (`StepRecord.file`).
    pub group_sources: std::collections::BTreeMap<PathBuf, Result<Vec<String>, String>>,
    pub criteria: Vec<Criterion>,
}

impl FlowTrace {
    /// The attempt the viewer opens on: the last one with a failing step (the reason a trace
    /// is kept), else the last one.
    pub fn opening_attempt(&self) -> usize {
        self.attempts
            .iter()
            .rposition(|a| a.failed_step().is_some())
            .unwrap_or(self.attempts.len().saturating_sub(1))
    }

    /// What the step list says about a step: its summary, or for a step that never ran (whose
    /// summary is empty) its first YAML line.
    pub fn summary_of(&self, step: &StepRecord) -> String {
        if !step.summary.is_empty() {
            return step.summary.clone();
        }
        self.step_source(step)
            .first()
            .map(|(_, text)| text.trim().trim_start_matches('-').trim().to_owned())
            .unwrap_or_default()
    }

    /// The step's lines of the file it is written in (the flow file, or the step group's own
    /// file for a step that came from a group), numbered: from its own line, every following
    /// line indented deeper than its `-` (or blank), trailing blanks dropped.
    pub fn step_source(&self, step: &StepRecord) -> Vec<(u32, &str)> {
        let source = match &step.file {
            Some(file) => self.group_sources.get(file),
            None => Some(&self.source),
        };
        let Some(Ok(lines)) = source else {
            return Vec::new();
        };
        step_source(lines, step.line)
    }

    /// Reads the files of the step groups that `attempts` ran steps from.
    pub fn read_group_sources(
        attempts: &[TracedAttempt],
    ) -> std::collections::BTreeMap<PathBuf, Result<Vec<String>, String>> {
        let mut out = std::collections::BTreeMap::new();
        for step in attempts.iter().flat_map(|a| &a.steps) {
            if let Some(file) = &step.record.file {
                out.entry(file.clone()).or_insert_with(|| read_source(file));
            }
        }
        out
    }
}

pub(crate) fn step_source(lines: &[String], line: u32) -> Vec<(u32, &str)> {
    const MAX_LINES: usize = 60;
    let Some(first) = (line as usize).checked_sub(1).and_then(|i| lines.get(i)) else {
        return Vec::new();
    };
    let indent = |s: &str| s.len() - s.trim_start().len();
    let dash = first.find('-').filter(|&i| i == indent(first));
    let base = dash.unwrap_or_else(|| indent(first));
    let mut out = vec![(line, first.as_str())];
    for (i, text) in lines.iter().enumerate().skip(line as usize) {
        if out.len() >= MAX_LINES {
            break;
        }
        if !text.trim().is_empty() && indent(text) <= base {
            break;
        }
        out.push((u32::try_from(i + 1).unwrap_or(u32::MAX), text.as_str()));
    }
    while out.len() > 1 && out.last().is_some_and(|(_, t)| t.trim().is_empty()) {
        out.pop();
    }
    out
}

/// Reads the flow file, relative to the working directory as the plan names it.
pub(crate) fn read_source(file: &Path) -> Result<Vec<String>, String> {
    if file.as_os_str().is_empty() {
        return Err("the plan names no flow file".to_owned());
    }
    std::fs::read_to_string(file)
        .map(|text| text.lines().map(str::to_owned).collect())
        .map_err(|e| format!("cannot read {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_step_is_its_line_and_the_deeper_lines_below() {
        let src = lines(
            "id: x\nsteps:\n  - goto: /login\n  - http:\n      url: /up\n\n      expect: { status: 200 }\n\n  - click: { role: button }\n# end\n",
        );
        assert_eq!(step_source(&src, 3), vec![(3, "  - goto: /login")]);
        assert_eq!(
            step_source(&src, 4),
            vec![
                (4, "  - http:"),
                (5, "      url: /up"),
                (6, ""),
                (7, "      expect: { status: 200 }")
            ]
        );
        assert_eq!(
            step_source(&src, 9),
            vec![(9, "  - click: { role: button }")]
        );
        assert!(step_source(&src, 99).is_empty());
        assert!(step_source(&src, 0).is_empty());
    }

    #[test]
    fn parts_are_stored_once() {
        let mut parts = TraceParts::default();
        assert_eq!(parts.add_frame("image/jpeg", vec![1, 2]), 0);
        assert_eq!(parts.add_frame("image/jpeg", vec![3]), 1);
        assert_eq!(parts.add_frame("image/jpeg", vec![1, 2]), 0);
        assert_eq!(parts.add_dom("<p>a</p>".into()), 0);
        assert_eq!(parts.add_dom("<p>a</p>".into()), 0);
        assert_eq!(parts.frames.len(), 2);
        assert_eq!(parts.doms.len(), 1);
    }
}
