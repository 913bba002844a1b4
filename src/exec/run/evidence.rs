//! What a failed or interrupted step leaves behind and what the debugger shows: the failure
//! screenshot and page HTML, a step cut short by a timeout, `--debug`'s prompt and screenshots,
//! and the failure point `--pause-on-failure` shows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::flow_runner::{source_line, FailedStep, FlowRunner};
use crate::artifact;
use crate::events::*;
use crate::exec::browser::BrowserSession;
use crate::exec::claims;
use crate::exec::interaction::{DebugCommand, FailurePoint, StepPoint};
use crate::flowfile::check::CheckedFlow;
use crate::redact::Redactor;

/// A criterion as it may be shown: names and evidence come from the flow file and from what
/// the steps saw, so secrets learnt since are taken out.
pub(super) fn redact_criterion(redactor: &Redactor, c: Criterion) -> Criterion {
    Criterion {
        name: redactor.redact(&c.name),
        verdict: c.verdict,
        evidence: c.evidence.iter().map(|e| redactor.redact(e)).collect(),
        note: c.note.map(|n| redactor.redact(&n)),
        proves: c.proves,
    }
}

/// Gathers what a person needs to act on a failed flow kept open by `--pause-on-failure`.
pub(super) async fn failure_point(
    flow: &CheckedFlow,
    failed: Option<FailedStep>,
    reason: &str,
    sessions: &HashMap<String, BrowserSession>,
    output_dir: &Path,
    redactor: &Redactor,
) -> FailurePoint {
    let id = flow.ast.id.value.clone();
    let artifact = |kind: ArtifactKind| {
        failed.as_ref().and_then(|f| {
            f.artifacts
                .iter()
                .find(|a| a.kind == kind)
                .map(|a| output_dir.join(&a.path))
        })
    };
    let trace = output_dir.join(&id).join("trace.html");
    let actor = failed
        .as_ref()
        .and_then(|f| f.actor.clone())
        .or_else(|| flow.ast.user.as_ref().map(|u| u.value.clone()));
    let page_url = match actor.as_deref().and_then(|u| sessions.get(u)) {
        Some(session) => tokio::time::timeout(Duration::from_secs(5), session.current_url())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|u| redactor.redact(&u)),
        None => None,
    };
    FailurePoint {
        step: failed
            .as_ref()
            .map(|f| (f.index, f.line, source_line(flow, f.line))),
        screenshot: artifact(ArtifactKind::Screenshot),
        page_html: artifact(ArtifactKind::PageHtml),
        trace: trace.is_file().then_some(trace),
        file: flow.file.clone(),
        error: failed
            .as_ref()
            .map_or_else(|| redactor.redact(reason), |f| f.message.clone()),
        page_url,
        user: actor,
        flow: id,
    }
}

impl FlowRunner<'_, '_> {
    /// A timeout stopped the attempt in the middle of a step: that step fails with `why` (with
    /// the usual failure screenshot and page HTML), the steps after it are skipped, and the
    /// flow's subscriptions are closed. Returns the flow's reason (`step 2 (file:line) …: why`),
    /// or `None` when no step was running.
    pub(super) async fn cut_short(&mut self, why: &str) -> Option<String> {
        for (_, sub) in self.subscriptions.drain() {
            sub.close().await;
        }
        let (index, started) = self.current_step.take()?;
        let flow_id = self.flow.ast.id.value.clone();
        let steps = &self.flow.steps;
        let planned = steps.get(index)?;
        let step = &planned.step;
        let file = self.step_file(planned).to_path_buf();
        let actor = step
            .value
            .page_user()
            .map(|u| u.value.clone())
            .or_else(|| self.flow.ast.user.as_ref().map(|u| u.value.clone()));
        let artifacts = self.failure_evidence(index, actor.as_deref()).await;
        let summary = self
            .redactor
            .redact(&self.in_group(planned, step.value.kind()));
        let located = self.redactor.redact(&format!(
            "step {} ({}:{}) {}: {why}",
            index + 1,
            file.display(),
            step.loc.line,
            step.value.kind()
        ));
        self.failed_step = Some(FailedStep {
            index,
            line: step.loc.line,
            message: why.to_owned(),
            actor,
            artifacts: artifacts.clone(),
        });
        self.em.emit(RunEventKind::StepFinished {
            flow: flow_id.clone(),
            step: StepRecord {
                file: planned.call.map(|_| file.clone()),
                index,
                kind: step.value.kind().to_owned(),
                line: step.loc.line,
                summary,
                status: StepStatus::Failed,
                duration_ms: started.elapsed().as_millis() as u64,
                error: Some(why.to_owned()),
                artifacts,
                evidence: vec![],
                round_trips: 0,
                time: None,
                trace: None,
                slow: None,
            },
        });
        if let Some(claim) = claims::claim_of(&step.value) {
            self.criteria.push(claims::failed(claim, &located));
        }
        for (later, p) in steps.iter().enumerate().skip(index + 1) {
            if let Some(claim) = claims::claim_of(&p.step.value) {
                self.criteria
                    .push(claims::not_reached(claim, later + 1, &located));
            }
            self.em.emit(RunEventKind::StepFinished {
                flow: flow_id.clone(),
                step: self.skipped_step(p, later),
            });
        }
        Some(located)
    }

    /// `--debug`: asks what to do before step `index` until the answer is to run it. Returns
    /// `false` when the person quits.
    pub(super) async fn debug_prompt(
        &mut self,
        index: usize,
        line: u32,
        actor: Option<&str>,
    ) -> bool {
        let point = StepPoint {
            flow: self.flow.ast.id.value.clone(),
            attempt: self.attempt,
            index,
            total: self.flow.steps.len(),
            file: self.flow.file.clone(),
            line,
            source: source_line(self.flow, line),
            user: actor.map(str::to_owned),
        };
        let mut shots = 0;
        loop {
            let Some(interaction) = self.interaction.as_mut() else {
                return true;
            };
            let command = interaction.before_step(&point).await;
            match command {
                DebugCommand::Step => return true,
                DebugCommand::Continue => {
                    *self.stepping = false;
                    return true;
                }
                DebugCommand::Quit => return false,
                DebugCommand::Screenshot => {
                    shots += 1;
                    let answer = self.debug_screenshot(index, shots, actor).await;
                    if let Some(i) = self.interaction.as_mut() {
                        i.tell(&answer);
                    }
                }
                DebugCommand::Locator(text) => {
                    let answer = match actor {
                        Some(user) => {
                            let mut ctx = self.step_context(index, Some(user.to_owned()), false);
                            crate::exec::step::probe_locator(&mut ctx, user, &text).await
                        }
                        None => "this step has no browser session to look in".to_owned(),
                    };
                    if let Some(i) = self.interaction.as_mut() {
                        i.tell(&answer);
                    }
                }
            }
        }
    }

    /// `--debug`'s `s`: a screenshot of the acting user's page, kept as an artifact.
    async fn debug_screenshot(&mut self, index: usize, n: u32, actor: Option<&str>) -> String {
        let Some(session) = actor.and_then(|u| self.res.sessions.get(u)) else {
            return "no browser session yet: step past the first browser step".to_owned();
        };
        let png = match tokio::time::timeout(Duration::from_secs(10), session.screenshot()).await {
            Ok(Ok(png)) => png,
            Ok(Err(e)) => return format!("no screenshot: {e}"),
            Err(_) => return "no screenshot: the browser did not answer within 10s".to_owned(),
        };
        let rel =
            PathBuf::from(&self.flow.ast.id.value).join(format!("{:02}-debug-{n}.png", index + 1));
        let path = self.output_dir.join(&rel);
        if let Err(e) = artifact::write_atomic(&path, &png) {
            return format!("cannot write {}: {e}", path.display());
        }
        self.em.emit(RunEventKind::ArtifactWritten {
            flow: Some(self.flow.ast.id.value.clone()),
            artifact: Artifact {
                kind: ArtifactKind::Screenshot,
                path: rel,
                bytes: png.len() as u64,
            },
        });
        format!("screenshot: {}", path.display())
    }

    /// A failing step always leaves a screenshot and the page's HTML (when a browser is open).
    pub(super) async fn failure_evidence(
        &mut self,
        index: usize,
        user: Option<&str>,
    ) -> Vec<Artifact> {
        let Some(session) = user.and_then(|u| self.res.sessions.get(u)) else {
            return vec![];
        };
        let flow_id = &self.flow.ast.id.value;
        let mut out = Vec::new();
        let base = format!("{:02}-failure", index + 1);
        if let Ok(Ok(png)) =
            tokio::time::timeout(Duration::from_secs(10), session.screenshot()).await
        {
            let rel = PathBuf::from(flow_id).join(format!("{base}.png"));
            if artifact::write_atomic(&self.output_dir.join(&rel), &png).is_ok() {
                out.push(Artifact {
                    kind: ArtifactKind::Screenshot,
                    path: rel,
                    bytes: png.len() as u64,
                });
            }
        }
        if let Ok(Ok(html)) =
            tokio::time::timeout(Duration::from_secs(10), session.page_source()).await
        {
            let html = self.redactor.redact(&html);
            let rel = PathBuf::from(flow_id).join(format!("{base}.html"));
            if artifact::write_atomic(&self.output_dir.join(&rel), html.as_bytes()).is_ok() {
                out.push(Artifact {
                    kind: ArtifactKind::PageHtml,
                    path: rel,
                    bytes: html.len() as u64,
                });
            }
        }
        for a in &out {
            self.em.emit(RunEventKind::ArtifactWritten {
                flow: Some(flow_id.clone()),
                artifact: a.clone(),
            });
        }
        out
    }
}
