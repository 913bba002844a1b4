//! Acts with a verified effect (click, fill, select, check, upload, press, hover, drag): locate,
//! arm the hit-target check, act, read the verdict (docs/architecture.md, "How a browser action
//! runs").

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::context::*;
use super::locate::*;
use crate::exec::browser::{BrowserSession, PageGone, PageResult};
use crate::flowfile::ast::*;
use crate::flowfile::span::Sp;

/// An act whose events must reach the located element (the hit-target check).
pub(super) enum Act<'v> {
    /// A left click at the element's point.
    Click,
    /// The pointer moved onto the element.
    Hover,
    /// Press on the element, move to the drop target (`tx`, `ty`), release.
    Drag,
    /// Text typed into the element that the locate script focused.
    Type(&'v str),
}

impl Act<'_> {
    /// Which events page.js listens for (its `HIT_EVENTS`).
    pub(super) fn events(&self) -> &'static str {
        match self {
            Act::Click | Act::Drag => "click",
            Act::Hover => "hover",
            Act::Type(_) => "input",
        }
    }

    /// Performs the act (one round trip); returns the point it used, if it used one.
    pub(super) async fn perform(
        &self,
        session: &BrowserSession,
        r: &PageResult,
        fail: &Fail<'_>,
    ) -> Result<Option<(f64, f64)>, StepFailure> {
        let at =
            || point(session, r).ok_or_else(|| fail.not_actionable("the page returned no point"));
        match self {
            Act::Click => {
                let (x, y) = at()?;
                session
                    .click_at(x, y, 1)
                    .await
                    .map_err(|e| fail.browser(e))?;
                Ok(Some((x, y)))
            }
            Act::Hover => {
                let (x, y) = at()?;
                session.hover_at(x, y).await.map_err(|e| fail.browser(e))?;
                Ok(Some((x, y)))
            }
            Act::Drag => {
                let from = at()?;
                let to = point_at(session, r, "tx", "ty")
                    .ok_or_else(|| fail.not_actionable("the page returned no drop point"))?;
                session.drag(from, to).await.map_err(|e| fail.browser(e))?;
                Ok(Some(from))
            }
            Act::Type(text) => {
                session
                    .insert_text(text)
                    .await
                    .map_err(|e| fail.browser(e))?;
                Ok(None)
            }
        }
    }

    /// What a miss says: where the act's first event went instead of the element.
    pub(super) fn miss(&self, at: Option<(f64, f64)>, v: &Value) -> String {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
        let target = text("target");
        let flag = |k: &str| v.get(k).and_then(Value::as_bool) == Some(true);
        let what = match (self, at) {
            (Act::Type(_), _) => "the typed text".to_owned(),
            (Act::Click, Some((x, y))) => format!("the click at ({x:.0}, {y:.0})"),
            (Act::Hover, Some((x, y))) => format!("the pointer at ({x:.0}, {y:.0})"),
            (Act::Drag, Some((x, y))) => format!("the drag from ({x:.0}, {y:.0})"),
            (_, None) => "the act".to_owned(),
        };
        if v.get("hit").and_then(Value::as_str) == Some("none") {
            if matches!(self, Act::Type(_)) {
                return format!("typing into {target} changed nothing (no input event)");
            }
            return format!("{what} reached no element of the page (target {target})");
        }
        let on = text("on");
        if matches!(self, Act::Type(_)) {
            return format!("{what} went to {on} instead of {target} (the focus moved)");
        }
        if flag("replaced") {
            return format!("{what} landed on {on} instead of the target, and the page changed");
        }
        if flag("detached") {
            format!("{what} landed on {on} while {target} was being removed from the page")
        } else if flag("moved") {
            format!("{what} landed on {on} while {target} was moving")
        } else {
            format!("{what} landed on {on} instead of {target}, which it covered at that moment")
        }
    }
}

/// Locates the element, acts, and verifies in the round trip after the act that the act's
/// first event reached the element (or inside it, or its label): page.js arms a capturing
/// listener when it locates, blocks a missed event in the page, and reports the verdict to
/// `verify`. A miss changed nothing, so it is retried from locate until the step's deadline;
/// a step that keeps missing fails naming what received the event. With `want_checked`, an
/// element already in that state is not clicked. Returns the locate and verify results.
#[expect(clippy::too_many_arguments, reason = "one call per verified step kind")]
pub(super) async fn act_verified(
    ctx: &mut StepContext<'_>,
    op: &str,
    loc: &Locator,
    extra: Value,
    timeout: Option<&Sp<DurationText>>,
    verb: &str,
    act: &Act<'_>,
    want_checked: Option<bool>,
) -> Result<(PageResult, Option<PageResult>, String), StepFailure> {
    let (spec, shown) = ctx.locator_spec(loc).map_err(|e| Fail(verb).with(e))?;
    let summary = format!("{verb} {shown}");
    let fail = Fail(&summary);
    let limit = ctx.timeout(timeout);
    let deadline = Instant::now() + limit;
    let dom_after_act = ctx.dom_after_act;
    let prefetch = ctx.prefetch.take();
    let mut misses: Vec<String> = Vec::new();
    loop {
        let located = locate(
            ctx,
            op,
            &spec,
            &extra,
            Some(act.events()),
            deadline,
            limit,
            &summary,
        );
        let r = match located.await {
            Ok(r) => r,
            Err(f) => {
                let Some(last) = misses.last() else {
                    return Err(f);
                };
                return Err(fail.not_actionable(format!(
                    "{last} ({}; then {})",
                    tries_missed(misses.len()),
                    f.message()
                )));
            }
        };
        if want_checked.is_some() && r.value.get("checked").and_then(Value::as_bool) == want_checked
        {
            return Ok((r, None, summary));
        }
        let session = ctx.browser(&fail).await?;
        let at = act.perform(session, &r, &fail).await?;
        let token = r
            .value
            .get("hit")
            .and_then(Value::as_str)
            .ok_or_else(|| fail.not_actionable("the page did not arm the hit-target check"))?;
        let mut request = json!({"op": "verify", "token": token});
        if dom_after_act {
            request["snapshot"] = json!(true);
        }
        if let Some(next) = &prefetch {
            let mut then = next.clone();
            then["slice_ms"] = json!(PREFETCH_WAIT.as_millis() as u64);
            request["then"] = then;
        }
        let Some(mut v) = verdict(session, request, deadline, verb, &fail).await? else {
            return Ok((r, None, summary));
        };
        match v.value.get("hit").and_then(Value::as_str) {
            Some("landed" | "navigated") => {
                if let (Some(next), Some(then)) = (prefetch, v.value.get_mut("then")) {
                    let then = then.take();
                    session.keep_prefetched(
                        next,
                        PageResult {
                            ok: then.get("ok").and_then(Value::as_bool).unwrap_or(false),
                            fatal: then.get("fatal").and_then(Value::as_bool).unwrap_or(false),
                            reason: then
                                .get("reason")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                            value: then,
                        },
                    );
                }
                ctx.measured.dom_snapshot = v.value.get_mut("snapshot").map(Value::take);
                return Ok((r, Some(v), summary));
            }
            _ => {
                let miss = ctx.redactor.redact(&act.miss(at, &v.value));
                tracing::debug!("{summary}: {miss}; retrying from locate");
                misses.push(miss);
                if Instant::now() >= deadline {
                    let n = misses.len();
                    let last = misses.pop().unwrap_or_default();
                    return Err(fail.not_actionable(if n > 1 {
                        format!("{last} ({})", tries_missed(n))
                    } else {
                        last
                    }));
                }
            }
        }
    }
}

/// The hit-target verdict of an act: where the act's events landed. A navigation the act
/// started is waited for (the verdict is read in the new document), at least a few seconds
/// even when the step's deadline is near. `None`: the act opened a dialog or closed its
/// window; a missed event is blocked in the page, so only the act reaching its element can
/// have done that.
async fn verdict(
    session: &BrowserSession,
    request: Value,
    deadline: Instant,
    verb: &str,
    fail: &Fail<'_>,
) -> Result<Option<PageResult>, StepFailure> {
    let mut verify_deadline = deadline.max(Instant::now() + Duration::from_secs(5));
    let mut lost_answers = 0;
    let v = loop {
        let answer = session
            .page_after_act(request.clone(), Duration::ZERO)
            .await
            .map_err(|e| fail.browser(e))?;
        match answer {
            // The verdict's answer was lost as the act's navigation unloaded the document (it
            // took the script timeout): ask the new document, once, with a few seconds of its
            // own. The verdict still has to come from a page.
            Ok(a) if a.value.get("script_timeout") == Some(&json!(true)) && lost_answers == 0 => {
                lost_answers += 1;
                verify_deadline = verify_deadline.max(Instant::now() + Duration::from_secs(5));
            }
            Ok(a) if a.ok || a.fatal || Instant::now() >= verify_deadline => break a,
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(PageGone::DialogOpened | PageGone::WindowClosed) => return Ok(None),
        }
    };
    if !v.ok {
        return Err(fail.not_actionable(format!(
            "could not confirm that the {verb} reached the element: {}",
            v.reason.as_deref().unwrap_or("the page did not answer")
        )));
    }
    Ok(Some(v))
}

pub(super) fn tries_missed(n: usize) -> String {
    if n == 1 {
        "1 try missed".to_owned()
    } else {
        format!("{n} tries missed")
    }
}

/// The page's point `(xk, yk)` in the coordinates pointer actions use: top-level viewport
/// coordinates on Chrome (the page script converts it itself when it can see its frames,
/// `top`; inside a cross-origin frame the offset measured on entering the frame is added), the
/// current frame's own on Firefox.
pub(super) fn point_at(
    session: &BrowserSession,
    r: &PageResult,
    xk: &str,
    yk: &str,
) -> Option<(f64, f64)> {
    let (x, y) = (r.value.get(xk)?.as_f64()?, r.value.get(yk)?.as_f64()?);
    let top = r.value.get("top").and_then(Value::as_bool) == Some(true);
    let (ox, oy) = session.frame_offset();
    match (session.pointer_in_frame_coordinates(), top) {
        // Firefox takes the frame's own coordinates: undo the page script's conversion (the
        // offset measured on entering the frames is the same one, frame by frame).
        (true, true) => Some((x - ox, y - oy)),
        (true, false) | (false, true) => Some((x, y)),
        (false, false) => Some((x + ox, y + oy)),
    }
}

pub(super) fn point(session: &BrowserSession, r: &PageResult) -> Option<(f64, f64)> {
    point_at(session, r, "x", "y")
}

pub(super) async fn click(
    ctx: &mut StepContext<'_>,
    loc: &Locator,
    timeout: Option<&Sp<DurationText>>,
) -> StepResult {
    let (_, _, summary) = act_verified(
        ctx,
        "act",
        loc,
        json!({}),
        timeout,
        "click",
        &Act::Click,
        None,
    )
    .await?;
    ok(summary)
}

pub(super) async fn fill(ctx: &mut StepContext<'_>, s: &FillStep) -> StepResult {
    let (value, shown_value) = ctx
        .render_shown(&s.value.value)
        .map_err(|e| Fail("fill").with(e))?;
    if value.is_empty() {
        // Set in the page on the located element itself: no event can go elsewhere.
        let (_, summary) = actionable(
            ctx,
            "setvalue",
            &s.locator(),
            json!({"value": ""}),
            s.timeout.as_ref(),
            "fill",
        )
        .await?;
        return ok(format!("{summary} with \"\""));
    }
    let shows_secret = shown_value != value || ctx.redactor.contains_secret(&value);
    if shows_secret {
        // The field will show a secret: this session's screenshots mask it from here on (set
        // before typing, so the failure screenshot of a missed act is masked too).
        let redactor = ctx.redactor;
        let fail = Fail("fill");
        ctx.browser(&fail)
            .await?
            .mask_secrets_in_screenshots(redactor)
            .await;
    }
    let (_, _, summary) = act_verified(
        ctx,
        "fill",
        &s.locator(),
        json!({}),
        s.timeout.as_ref(),
        "fill",
        &Act::Type(&value),
        None,
    )
    .await?;
    ok(format!("{summary} with \"{shown_value}\""))
}

pub(super) async fn select(ctx: &mut StepContext<'_>, s: &SelectStep) -> StepResult {
    let (option, shown) = ctx
        .render_shown(&s.option.value)
        .map_err(|e| Fail("select").with(e))?;
    let (r, summary) = actionable(
        ctx,
        "select",
        &s.locator(),
        json!({"option": option}),
        s.timeout.as_ref(),
        "select",
    )
    .await?;
    let chosen = r
        .value
        .get("selected")
        .and_then(Value::as_str)
        .unwrap_or(&shown);
    ok(format!("{summary} option \"{chosen}\""))
}

/// The element a `check` step acts on: here `checked` is the state to set, not a filter.
pub(super) fn check_locator(s: &CheckStep) -> Locator {
    let mut loc = s.locator();
    loc.checked = None;
    loc
}

pub(super) async fn check(ctx: &mut StepContext<'_>, s: &CheckStep) -> StepResult {
    let want = s.checked.unwrap_or(true);
    let verb = if want { "check" } else { "uncheck" };
    let loc = check_locator(s);
    // The locate answer says whether it is checked already; the verdict after the click says
    // whether it is now.
    let (_, verdict, summary) = act_verified(
        ctx,
        "act",
        &loc,
        json!({}),
        s.timeout.as_ref(),
        verb,
        &Act::Click,
        Some(want),
    )
    .await?;
    let now = verdict.and_then(|v| v.value.get("checked").and_then(Value::as_bool));
    if now == Some(!want) {
        return Err(Fail(&summary).mismatch(format!(
            "clicked, but the element is still {}",
            if want { "unchecked" } else { "checked" }
        )));
    }
    ok(summary)
}

pub(super) async fn upload(ctx: &mut StepContext<'_>, s: &UploadStep) -> StepResult {
    let dir = ctx
        .flow
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut files = Vec::new();
    for f in &s.files {
        let (v, _) = ctx
            .render_shown(&f.value)
            .map_err(|e| Fail("upload").with(e))?;
        let p = dir.join(&v);
        let abs = std::fs::canonicalize(&p)
            .map_err(|e| Fail("upload").input(format!("cannot read {}: {e}", p.display())))?;
        files.push(abs);
    }
    let (r, summary) = actionable(
        ctx,
        "upload",
        &s.locator(),
        json!({}),
        s.timeout.as_ref(),
        "upload",
    )
    .await?;
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let summary = format!("{summary} files {}", names.join(", "));
    let fail = Fail(&summary);
    let element = r.value.get("element").cloned().unwrap_or(Value::Null);
    let session = ctx.browser(&fail).await?;
    session
        .set_files(&element, &files)
        .await
        .map_err(|e| fail.browser(e))?;
    ok(summary)
}

pub(super) async fn press(ctx: &mut StepContext<'_>, s: &PressStep) -> StepResult {
    let key = s.key.value.clone();
    let loc = s.locator();
    let has_locator = loc.role.is_some()
        || loc.label.is_some()
        || loc.text.is_some()
        || loc.placeholder.is_some()
        || loc.test_id.is_some()
        || loc.css.is_some()
        || loc.xpath.is_some();
    let summary = if has_locator {
        let (_, summary) =
            actionable(ctx, "focus", &loc, json!({}), s.timeout.as_ref(), "press").await?;
        format!("{summary} key {key}")
    } else {
        format!("press {key}")
    };
    let fail = Fail(&summary);
    let session = ctx.browser(&fail).await?;
    session.press(&key).await.map_err(|e| fail.browser(e))?;
    ok(summary)
}

pub(super) async fn hover(ctx: &mut StepContext<'_>, s: &HoverStep) -> StepResult {
    let (_, _, summary) = act_verified(
        ctx,
        "hover",
        &s.locator(),
        json!({}),
        s.timeout.as_ref(),
        "hover",
        &Act::Hover,
        None,
    )
    .await?;
    ok(summary)
}

pub(super) async fn drag(ctx: &mut StepContext<'_>, s: &DragStep) -> StepResult {
    let (target, target_shown) = ctx
        .locator_spec(&s.to.value)
        .map_err(|e| Fail("drag").with(e))?;
    let (_, _, summary) = act_verified(
        ctx,
        "act",
        &s.locator(),
        json!({ "target": target }),
        s.timeout.as_ref(),
        "drag",
        &Act::Drag,
        None,
    )
    .await?;
    ok(format!("{summary} to {target_shown}"))
}
