//! Finding elements: the locate request, waiting in the page, frames, the request the next
//! step will send (prefetch), and `--debug`'s locator probe.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::context::*;
use crate::exec::browser::{BrowserError, BrowserSession, PageResult};
use crate::flowfile::ast::*;
use crate::flowfile::span::Sp;
use crate::flowfile::text::TextPattern;

/// What a locator, written as a YAML inline map (`{ role: button, name: Save }`), matches on
/// `user`'s page right now, with the same in-page resolver as the steps (the `--debug`
/// prompt's `l`). Never waits and never acts.
pub async fn probe_locator(ctx: &mut StepContext<'_>, user: &str, yaml: &str) -> String {
    let loc: Locator = match serde_saphyr::from_str(yaml.trim()) {
        Ok(l) => l,
        Err(e) => {
            return format!(
                "not a locator ({}); write it as in a flow, e.g. {{ role: button, name: Save }}",
                e.to_string().lines().next().unwrap_or("parse error")
            )
        }
    };
    if loc.role.is_none()
        && loc.label.is_none()
        && loc.text.is_none()
        && loc.placeholder.is_none()
        && loc.test_id.is_none()
        && loc.css.is_none()
        && loc.xpath.is_none()
    {
        return "a locator needs one of role, label, text, placeholder, test_id, css, xpath"
            .to_owned();
    }
    let (spec, shown) = match ctx.locator_spec(&loc) {
        Ok(v) => v,
        Err(e) => return e.to_string(),
    };
    let Some(session) = ctx.sessions.get(user) else {
        return format!("{user} has no browser session yet: step past the first browser step");
    };
    let r = match session
        .page(json!({"op": "probe", "locator": spec}), Duration::ZERO)
        .await
    {
        Ok(r) => r,
        Err(e) => return format!("the page did not answer: {e}"),
    };
    if !r.ok {
        return r
            .reason
            .unwrap_or_else(|| "the page did not answer".to_owned());
    }
    let count = r.value.get("count").and_then(Value::as_u64).unwrap_or(0);
    let mut out = format!(
        "{count} {} {shown}",
        if count == 1 {
            "element matches"
        } else {
            "elements match"
        }
    );
    if let Some(matches) = r.value.get("matches").and_then(Value::as_array) {
        for (i, m) in matches.iter().filter_map(Value::as_str).enumerate() {
            out.push_str(&format!("\n  {}. {m}", i + 1));
        }
        if count > matches.len() as u64 {
            out.push_str("\n  …");
        }
    }
    if let Some(v) = r.value.get("verdict").and_then(Value::as_str) {
        out.push_str(&format!("\n  {v}"));
    }
    ctx.redactor.redact(&out)
}

/// Repeats an in-page request until it succeeds, fails fatally, or the deadline passes. Each
/// attempt waits inside the page (frames + mutations) for up to a slice, so a wait costs one
/// round trip per slice rather than one per poll.
pub(super) async fn wait_in_page(
    session: &BrowserSession,
    request: Value,
    deadline: Instant,
) -> Result<PageResult, BrowserError> {
    if let Some(r) = session.take_prefetched(&request) {
        if r.ok {
            return Ok(r);
        }
    }
    let mut last = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let slice = remaining.min(Duration::from_secs(5));
        let r = session.page(request.clone(), slice).await?;
        if r.ok || r.fatal {
            return Ok(r);
        }
        let navigating = r.reason.as_deref() == Some("the page was navigating");
        if !navigating || last.is_none() {
            last = Some(r);
        }
        if Instant::now() >= deadline {
            let mut r = last.unwrap_or(PageResult {
                ok: false,
                fatal: false,
                reason: Some("timed out".into()),
                value: Value::Null,
            });
            r.fatal = false;
            return Ok(r);
        }
        if navigating {
            // The document is being replaced: give the driver a moment to settle on the new one.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub(super) fn timeout_message(what: &str, timeout: Duration, r: &PageResult) -> String {
    if r.fatal {
        return r.reason.clone().unwrap_or_else(|| "failed".into());
    }
    format!(
        "{what} not met within {}: {}",
        crate::human::duration(timeout),
        r.reason.as_deref().unwrap_or("no detail")
    )
}

/// Locates an actionable element (op: act/fill/focus/select/upload/setvalue/hover) and returns
/// its page result. An act that sends events to the element goes through `act_verified`.
pub(super) async fn actionable(
    ctx: &mut StepContext<'_>,
    op: &str,
    loc: &Locator,
    extra: Value,
    timeout: Option<&Sp<DurationText>>,
    verb: &str,
) -> Result<(PageResult, String), StepFailure> {
    let (spec, shown) = ctx.locator_spec(loc).map_err(|e| Fail(verb).with(e))?;
    let summary = format!("{verb} {shown}");
    let limit = ctx.timeout(timeout);
    let r = locate(
        ctx,
        op,
        &spec,
        &extra,
        None,
        Instant::now() + limit,
        limit,
        &summary,
    )
    .await?;
    Ok((r, summary))
}

/// One locate round trip (or several slices of one wait), failing the step when the element
/// does not become actionable by `deadline`. `arm` asks the page to arm its hit-target check
/// for the act that follows; `limit` is the step's timeout, for the message.
#[expect(clippy::too_many_arguments, reason = "the parts of one locate request")]
pub(super) async fn locate(
    ctx: &mut StepContext<'_>,
    op: &str,
    spec: &Value,
    extra: &Value,
    arm: Option<&str>,
    deadline: Instant,
    limit: Duration,
    summary: &str,
) -> Result<PageResult, StepFailure> {
    let fail = Fail(summary);
    let request = act_request(op, spec, extra, arm);
    let session = ctx.browser(&fail).await?;
    let r = wait_in_page(session, request, deadline)
        .await
        .map_err(|e| fail.browser(e))?;
    if !r.ok {
        // Fatal: the page can tell it will never be (several elements match, a bad
        // selector); else the wait ran out.
        return Err(if r.fatal {
            fail.not_actionable(r.reason.clone().unwrap_or_default())
        } else {
            fail.timeout(format!(
                "element not actionable within {}: {}",
                crate::human::duration(limit),
                r.reason.as_deref().unwrap_or("no detail")
            ))
        });
    }
    Ok(r)
}

/// A locate request: `op` on the element `spec` finds, with the op's `extra` fields, arming
/// the hit-target check for an act of kind `arm`.
pub(super) fn act_request(op: &str, spec: &Value, extra: &Value, arm: Option<&str>) -> Value {
    let mut request = json!({"op": op, "locator": spec});
    if let (Value::Object(req), Value::Object(extra)) = (&mut request, extra) {
        req.extend(extra.clone());
    }
    if let Some(kind) = arm {
        request["arm"] = json!(kind);
    }
    request
}

/// How long the next step's request may wait in the page inside an act's verdict round trip:
/// long enough for the frames a stability check needs, short enough that a step's own time
/// stays its own. A request that is not answered by then is sent again by its step.
pub(super) const PREFETCH_WAIT: Duration = Duration::from_millis(100);

/// Switches the actor's session into `frame` (outermost first, for nested frames).
pub(super) async fn enter_frames(
    ctx: &mut StepContext<'_>,
    frame: &FrameRef,
    deadline: Instant,
) -> Result<(), StepFailure> {
    let (spec, shown) = match frame {
        FrameRef::Name(n) => {
            let (value, redacted) = ctx
                .render_shown(&n.value)
                .map_err(|e| Fail("frame").with(e))?;
            let p = TextPattern::from_rendered(&n.value, &value, false)
                .map_err(|e| Fail("frame").input(e))?;
            (
                json!({ "frame_name": p.to_js() }),
                format!("frame~\"{redacted}\""),
            )
        }
        FrameRef::Locator(l) => {
            if let Some(outer) = &l.frame {
                Box::pin(enter_frames(ctx, &outer.value, deadline)).await?;
            }
            ctx.locator_spec(l).map_err(|e| Fail("frame").with(e))?
        }
    };
    let summary = format!("enter {shown}");
    let fail = Fail(&summary);
    let session = ctx.browser(&fail).await?;
    let r = wait_in_page(session, json!({"op": "frame", "locator": spec}), deadline)
        .await
        .map_err(|e| fail.browser(e))?;
    if !r.ok {
        return Err(fail.timeout(format!(
            "frame not found: {}",
            r.reason.as_deref().unwrap_or("no detail")
        )));
    }
    let element = r.value.get("element").cloned().unwrap_or(Value::Null);
    let dx = r.value.get("dx").and_then(Value::as_f64).unwrap_or(0.0);
    let dy = r.value.get("dy").and_then(Value::as_f64).unwrap_or(0.0);
    session
        .enter_frame(&element, dx, dy)
        .await
        .map_err(|e| fail.browser(e))
}

pub(super) async fn leave_frames(ctx: &mut StepContext<'_>) {
    let Some(user) = ctx.actor.clone() else {
        return;
    };
    if let Some(session) = ctx.sessions.get(&user) {
        if let Err(e) = session.leave_frames().await {
            tracing::debug!("leaving frames: {e}");
        }
    }
}
