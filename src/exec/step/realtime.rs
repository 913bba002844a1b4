//! The `subscribe` and `expect_event` steps: a Pusher-protocol websocket or an SSE stream,
//! opened with a user's browser cookies, and events awaited on it.

use std::time::Instant;

use serde_json::Value;

use super::context::{trigger_time, Fail, StepContext, StepFailure, StepOutcome};
use crate::events::{Criterion, RunEventKind, Verdict};
use crate::flowfile::ast::{ExpectEventStep, SubscribeStep};
use crate::realtime::{subscribe_pusher, subscribe_sse, PusherOptions, RealtimeError, SseOptions};

/// A realtime error as a step failure, redacted: no matching event in time is a timeout, a
/// URL or expected value that is wrong once rendered is the flow's input, anything else means
/// the channel could not be used.
fn realtime_failure(ctx: &StepContext<'_>, summary: &str, e: &RealtimeError) -> StepFailure {
    let text = ctx.redactor.redact(&e.to_string());
    let fail = Fail(summary);
    match e {
        RealtimeError::Timeout(_) => fail.timeout(text),
        RealtimeError::BadUrl { .. } | RealtimeError::BadExpectation { .. } => fail.input(text),
        RealtimeError::Connect { .. }
        | RealtimeError::UntrustedCertificate { .. }
        | RealtimeError::Upgrade { .. }
        | RealtimeError::ConnectTimeout { .. }
        | RealtimeError::Pusher { .. }
        | RealtimeError::AuthRejected { .. }
        | RealtimeError::AuthRequest { .. }
        | RealtimeError::AuthResponse { .. }
        | RealtimeError::SseRequest { .. }
        | RealtimeError::SseStatus { .. }
        | RealtimeError::SseContentType { .. }
        | RealtimeError::Closed(_)
        | RealtimeError::Protocol(_) => fail.unreachable(text),
    }
}

fn parse_url(summary: &str, text: &str) -> Result<url::Url, StepFailure> {
    url::Url::parse(text).map_err(|e| Fail(summary).input(format!("`{text}` is not a URL: {e}")))
}

pub async fn subscribe(
    ctx: &mut StepContext<'_>,
    s: &SubscribeStep,
) -> Result<StepOutcome, StepFailure> {
    let id = s.id.value.clone();
    let deadline = Instant::now() + ctx.timeout(s.timeout.as_ref());
    let cookie = match &s.as_user {
        Some(u) => {
            let c = ctx
                .cookies_of(&u.value)
                .await
                .map_err(|e| Fail("subscribe").with(e))?;
            Some(c)
        }
        None => None,
    };
    let (subscription, summary) = if let Some(p) = &s.pusher {
        let (url, _) = ctx
            .render_shown(&p.url.value)
            .map_err(|e| Fail("subscribe").with(e))?;
        let (channel, _) = ctx
            .render_shown(&p.channel.value)
            .map_err(|e| Fail("subscribe").with(e))?;
        let url = ctx.resolve_url(&url, false);
        let summary = format!("subscribe {id}: pusher {channel}");
        let auth = match &p.auth_endpoint {
            Some(a) => {
                ctx.render_shown(&a.value)
                    .map_err(|e| Fail(&summary).with(e))?
                    .0
            }
            None => "/broadcasting/auth".to_owned(),
        };
        let mut headers = Vec::new();
        for (k, v) in &p.auth_headers {
            let (value, _) = ctx
                .render_shown(&v.value)
                .map_err(|e| Fail(&summary).with(e))?;
            ctx.redactor.add(&value);
            headers.push((k.clone(), value));
        }
        let opts = PusherOptions {
            name: id.clone(),
            url: parse_url(&summary, &url)?,
            channel,
            auth_endpoint: Some(parse_url(&summary, &ctx.resolve_url(&auth, false))?),
            cookie,
            headers,
        };
        let sub = subscribe_pusher(opts, ctx.http, deadline)
            .await
            .map_err(|e| realtime_failure(ctx, &summary, &e))?;
        (sub, summary)
    } else if let Some(path) = &s.sse {
        let (url, shown) = ctx
            .render_shown(&path.value)
            .map_err(|e| Fail("subscribe").with(e))?;
        let summary = format!("subscribe {id}: sse {shown}");
        let opts = SseOptions {
            name: id.clone(),
            url: parse_url(&summary, &ctx.resolve_url(&url, false))?,
            cookie,
            headers: vec![],
        };
        let sub = subscribe_sse(opts, ctx.http, deadline)
            .await
            .map_err(|e| realtime_failure(ctx, &summary, &e))?;
        (sub, summary)
    } else {
        return Err(Fail("subscribe").input("give `pusher:` or `sse:`"));
    };
    if let Some(old) = ctx.subscriptions.insert(id, subscription) {
        old.close().await;
    }
    Ok(StepOutcome {
        summary,
        artifacts: vec![],
        evidence: vec![],
    })
}

pub async fn expect_event(
    ctx: &mut StepContext<'_>,
    s: &ExpectEventStep,
) -> Result<StepOutcome, StepFailure> {
    let on = s.on.value.clone();
    let summary = format!("expect_event {} on {on}", s.event.value);
    let mut data = Vec::new();
    for (pointer, want) in &s.data {
        data.push((
            pointer.clone(),
            ctx.render_json(want).map_err(|e| Fail(&summary).with(e))?,
        ));
    }
    let limit = ctx.timeout(s.timeout.as_ref());
    let (_, since) = trigger_time(ctx, s.after_step.as_ref().map(|n| n.value));
    let sub = ctx
        .subscriptions
        .get(&on)
        .ok_or_else(|| Fail(&summary).input(format!("no open subscription `{on}` in this flow")))?;
    let event = sub
        .wait_for(&s.event.value, &data, since, Instant::now() + limit)
        .await
        .map_err(|e| realtime_failure(ctx, &summary, &e))?;
    let mut evidence = sub.evidence(&event, ctx.run_started);
    if let crate::events::Evidence::RealtimeFrame { data, .. } = &mut evidence {
        *data = ctx.redactor.redact_json(data);
    }
    let waited = event.received_at.saturating_duration_since(since);
    let target = sub.target().to_owned();
    let kind = format!("{:?}", sub.kind()).to_lowercase();
    let frames = sub.frames().len();
    ctx.measured.events.push(RunEventKind::CriterionRecorded {
        flow: Some(ctx.flow.ast.id.value.clone()),
        criterion: Criterion {
            name: format!(
                "{kind} event {} received on {}",
                s.event.value,
                ctx.redactor.redact(&target)
            ),
            verdict: Verdict::Pass,
            evidence: vec![format!(
                "frame {} on subscription {on}, {} after the trigger",
                compact(&event.data),
                crate::human::duration(waited)
            )],
            note: None,
            proves: None,
        },
    });
    Ok(StepOutcome {
        summary: format!(
            "{summary}: received after {} ({frames} frames on {on})",
            crate::human::duration(waited)
        ),
        artifacts: vec![],
        evidence: vec![evidence],
    })
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}
