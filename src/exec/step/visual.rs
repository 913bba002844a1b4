//! `expect_screenshot`: prepare the page (animations frozen, caret hidden, masks painted), take
//! screenshots until two in a row agree (the page settled) or one matches the baseline,
//! compare with `flows/__screenshots__/<flow>/<name>-<browser>.png`, and on a mismatch keep
//! expected, actual and diff PNGs as evidence. `--update-snapshots` writes baselines instead
//! of failing. The comparison itself is `crate::visual`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbaImage;
use serde_json::{json, Value};

use super::context::*;
use super::locate::wait_in_page;
use crate::artifact;
use crate::events::{Artifact, ArtifactKind, RunEventKind};
use crate::exec::browser::BrowserSession;
use crate::flowfile::ast::{Animations, ExpectScreenshotStep};
use crate::visual::{self, DiffOptions, Limits, UpdateSnapshots, Verdict};

const VISUAL_JS: &str = include_str!("visual.js");

/// How one screenshot is taken: what to capture and what to paint over first.
struct ShotSpec {
    element: Option<Value>,
    masks: Vec<Value>,
    full_page: bool,
    freeze: bool,
}

pub(super) async fn expect_screenshot(
    ctx: &mut StepContext<'_>,
    s: &ExpectScreenshotStep,
) -> StepResult {
    let name = s.name.value.clone();
    let summary = format!("expect_screenshot {name}");
    let fail = Fail(&summary);
    let spec = ShotSpec {
        element: s
            .element
            .as_ref()
            .map(|e| ctx.locator_spec(&e.value).map(|(spec, _)| spec))
            .transpose()
            .map_err(|e| fail.with(e))?,
        masks: s
            .mask
            .iter()
            .map(|m| ctx.locator_spec(&m.value).map(|(spec, _)| spec))
            .collect::<Result<_, _>>()
            .map_err(|e| fail.with(e))?,
        full_page: s.full_page,
        freeze: s.animations != Some(Animations::Allow),
    };
    let limits = Limits {
        max_diff_pixels: s.max_diff_pixels.as_ref().map(|v| v.value),
        max_diff_ratio: s.max_diff_ratio.as_ref().map(|v| v.value),
        diff: DiffOptions {
            threshold: s.threshold.as_ref().map_or(0.2, |v| v.value),
            include_aa: false,
        },
    };
    let limit = ctx.timeout(s.timeout.as_ref());
    let deadline = Instant::now() + limit;
    let mode = ctx.config.update_snapshots;
    let flows_dir = ctx.config.flows_dir.clone();
    let flow = ctx.flow_id().to_owned();
    let evidence_stem = PathBuf::from(&flow).join(format!("{:02}-{name}", ctx.index + 1));

    let session = ctx.browser(&fail).await?;
    let baseline_path = visual::baseline_path(&flows_dir, &flow, &name, &session.browser_name);
    let baseline = read_baseline(&baseline_path).map_err(|e| fail.file(e))?;
    // With `--update-snapshots all` a matching first shot is not enough: the baseline is
    // rewritten only from a settled page, and kept when that page still matches it.
    let compare_early = baseline.as_ref().filter(|_| mode != UpdateSnapshots::All);
    let mut prev: Option<RgbaImage> = None;
    let mut shots = 0u32;
    let (actual, settled) = loop {
        let shot = take_shot(session, &spec, deadline)
            .await
            .map_err(|e| fail.with(e))?;
        shots += 1;
        if let Some(b) = compare_early {
            if let v @ Verdict::Match { .. } = visual::compare(b, &shot, &limits) {
                return Ok(outcome(format!(
                    "{summary}: matches {} ({})",
                    baseline_path.display(),
                    v.figures()
                )));
            }
        }
        if prev.as_ref() == Some(&shot) {
            break (shot, true);
        }
        if Instant::now() >= deadline {
            break (shot, false);
        }
        prev = Some(shot);
    };

    let verdict = baseline
        .as_ref()
        .map(|b| visual::compare(b, &actual, &limits));
    if !settled {
        let mut message = format!(
            "the page did not settle within {}: {shots} screenshots, no two in a row alike \
             (mask what changes by itself, or keep `animations: disabled`)",
            crate::human::duration(limit)
        );
        if let Some(v) = &verdict {
            message.push_str(&format!(
                "; the last one against the baseline: {}",
                v.figures()
            ));
        }
        let kept = keep_evidence(
            ctx,
            &evidence_stem,
            baseline.as_ref(),
            &actual,
            verdict.as_ref(),
        )
        .map_err(|e| fail.file(e))?;
        return Err(fail.mismatch(format!("{message}; {kept}")));
    }
    match (verdict, mode) {
        (None, UpdateSnapshots::All | UpdateSnapshots::Missing) => {
            write_baseline(&baseline_path, &actual).map_err(|e| fail.file(e))?;
            Ok(outcome(format!(
                "{summary}: no baseline; wrote {}",
                baseline_path.display()
            )))
        }
        (None, UpdateSnapshots::None) => {
            let kept = keep_evidence(ctx, &evidence_stem, None, &actual, None)
                .map_err(|e| fail.file(e))?;
            Err(fail.mismatch(format!(
                "no baseline {}; {kept}: look at it, then run with `--update-snapshots missing` \
                 to adopt it (or copy it there)",
                baseline_path.display()
            )))
        }
        (Some(v @ Verdict::Match { .. }), _) => Ok(outcome(format!(
            "{summary}: matches {} ({})",
            baseline_path.display(),
            v.figures()
        ))),
        (Some(v), UpdateSnapshots::All) => {
            write_baseline(&baseline_path, &actual).map_err(|e| fail.file(e))?;
            Ok(outcome(format!(
                "{summary}: updated {} ({} before)",
                baseline_path.display(),
                v.figures()
            )))
        }
        (Some(v), UpdateSnapshots::None | UpdateSnapshots::Missing) => {
            let kept = keep_evidence(ctx, &evidence_stem, baseline.as_ref(), &actual, Some(&v))
                .map_err(|e| fail.file(e))?;
            Err(fail.mismatch(format!(
                "screenshot differs from {}: {}; {kept}; if the change is intended, run with \
                 `--update-snapshots`",
                baseline_path.display(),
                v.figures()
            )))
        }
    }
}

fn outcome(summary: String) -> StepOutcome {
    StepOutcome {
        summary,
        artifacts: vec![],
        evidence: vec![],
    }
}

/// One screenshot as the comparison sees it: animations frozen and masks painted first (and
/// taken away after), the element or page captured, decoded to RGBA.
async fn take_shot(
    session: &BrowserSession,
    spec: &ShotSpec,
    deadline: Instant,
) -> Result<RgbaImage, super::StepError> {
    use super::StepError;
    if spec.freeze {
        session
            .execute_value(VISUAL_JS, vec![json!("freeze")])
            .await?;
    }
    let mut clip = None;
    let mut scroll = (0.0, 0.0);
    if spec.element.is_some() || !spec.masks.is_empty() {
        let request = json!({"op": "rects", "locator": spec.element, "masks": spec.masks});
        let r = wait_in_page(session, request, deadline).await?;
        if !r.ok {
            cleanup(session).await;
            let why = r.reason.unwrap_or_else(|| "no detail".to_owned());
            return Err(if r.fatal {
                StepError::NotActionable(why)
            } else {
                StepError::Timeout(format!("the element to capture is not there: {why}"))
            });
        }
        let masks = r.value.get("masks").cloned().unwrap_or(json!([]));
        if masks.as_array().is_some_and(|m| !m.is_empty()) {
            session
                .execute_value(VISUAL_JS, vec![json!("mask"), masks])
                .await?;
        }
        clip = r.value.get("element").and_then(rect);
        if let Some(s) = r.value.get("scroll").and_then(Value::as_array) {
            scroll = (
                s.first().and_then(Value::as_f64).unwrap_or(0.0),
                s.get(1).and_then(Value::as_f64).unwrap_or(0.0),
            );
        }
    }
    let shot = session.visual_png(clip, spec.full_page).await;
    if spec.freeze || !spec.masks.is_empty() {
        cleanup(session).await;
    }
    let (png, clipped) = shot?;
    let img = visual::decode(&png)
        .map_err(|e| StepError::File(format!("the browser's screenshot does not decode: {e}")))?;
    match clip {
        // The browser could not clip: cut the element out of the viewport.
        Some([x, y, w, h]) if !clipped => {
            let px = |v: f64| v.max(0.0).round() as u32;
            visual::crop(&img, (px(x - scroll.0), px(y - scroll.1), px(w), px(h))).ok_or_else(
                || {
                    StepError::NotActionable(
                        "the element to capture is outside the viewport".into(),
                    )
                },
            )
        }
        _ => Ok(img),
    }
}

async fn cleanup(session: &BrowserSession) {
    let _ = session
        .execute_value(VISUAL_JS, vec![json!("cleanup")])
        .await;
}

fn rect(v: &Value) -> Option<[f64; 4]> {
    let a = v.as_array()?;
    let n = |i: usize| a.get(i).and_then(Value::as_f64);
    let (x, y, w, h) = (n(0)?, n(1)?, n(2)?, n(3)?);
    (w >= 1.0 && h >= 1.0).then_some([x, y, w, h])
}

fn read_baseline(path: &Path) -> Result<Option<RgbaImage>, String> {
    match std::fs::read(path) {
        Ok(bytes) => visual::decode(&bytes).map(Some).map_err(|e| {
            format!(
                "the baseline {} is not an image ({e}); delete it and run with \
                 `--update-snapshots missing`",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read the baseline {}: {e}", path.display())),
    }
}

fn write_baseline(path: &Path, img: &RgbaImage) -> Result<(), String> {
    let png = visual::encode_png(img).map_err(|e| format!("cannot encode the baseline: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    artifact::write_atomic(path, &png).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes the evidence of a failed comparison into the flow's output (expected, actual, and
/// the diff when the sizes allowed one) and emits them; returns the sentence naming them.
fn keep_evidence(
    ctx: &mut StepContext<'_>,
    stem: &Path,
    expected: Option<&RgbaImage>,
    actual: &RgbaImage,
    verdict: Option<&Verdict>,
) -> Result<String, String> {
    let mut files: Vec<(ArtifactKind, &str, Vec<u8>)> = Vec::new();
    let png = |img: &RgbaImage| {
        visual::encode_png(img).map_err(|e| format!("cannot encode the evidence: {e}"))
    };
    if let Some(e) = expected {
        files.push((ArtifactKind::ScreenshotExpected, "expected", png(e)?));
    }
    files.push((ArtifactKind::ScreenshotActual, "actual", png(actual)?));
    if let Some(Verdict::Mismatch { diff, .. }) = verdict {
        files.push((ArtifactKind::ScreenshotDiff, "diff", png(&diff.image)?));
    }
    let mut names = Vec::new();
    for (kind, suffix, bytes) in files {
        let rel = PathBuf::from(format!("{}-{suffix}.png", stem.display()));
        artifact::write_atomic(&ctx.output_dir.join(&rel), &bytes)
            .map_err(|e| format!("cannot write {}: {e}", rel.display()))?;
        let a = Artifact {
            kind,
            path: rel.clone(),
            bytes: bytes.len() as u64,
        };
        ctx.measured.events.push(RunEventKind::ArtifactWritten {
            flow: Some(ctx.flow_id().to_owned()),
            artifact: a,
        });
        names.push(format!("{suffix} {}", rel.display()));
    }
    Ok(format!("kept {}", names.join(", ")))
}
