//! `sse`: a Server-Sent Events stream that answers as one, sends an event or a heartbeat
//! within `within`, and stays open for `open_for`. (`subscribe: { sse: … }` only connects and
//! keeps the stream for `expect_event`; this step judges the stream itself, then closes it.)

use std::time::Instant;

use super::{conclude, Row};
use crate::exec::step::context::{Fail, StepContext, StepResult};
use crate::flowfile::ast::SseStep;
use crate::flowfile::duration::parse_duration;
use crate::realtime::{subscribe_sse, SseOptions};

pub(in crate::exec::step) async fn sse(ctx: &mut StepContext<'_>, s: &SseStep) -> StepResult {
    let (url, shown) = ctx
        .render_shown(&s.url.value)
        .map_err(|e| Fail("sse").with(e))?;
    let summary = format!("sse {shown}");
    let fail = Fail(&summary);
    let open_for = parse_duration(&s.open_for.value.0).map_err(|e| fail.input(e.message))?;
    let within = match &s.within {
        Some(w) => parse_duration(&w.value.0).map_err(|e| fail.input(e.message))?,
        None => open_for,
    };
    let cookie = match &s.as_user {
        Some(u) => Some(ctx.cookies_of(&u.value).await.map_err(|e| fail.with(e))?),
        None => None,
    };
    let url = url::Url::parse(&ctx.resolve_url(&url, false))
        .map_err(|e| fail.input(format!("`{shown}` is not a URL: {e}")))?;
    let opts = SseOptions {
        name: "sse".to_owned(),
        url,
        cookie,
        headers: vec![],
    };
    let connect_deadline = Instant::now() + ctx.timeout(s.timeout.as_ref());
    let sub = subscribe_sse(opts, ctx.http, connect_deadline)
        .await
        .map_err(|e| fail.unreachable(ctx.redactor.redact(&e.to_string())))?;
    let opened = sub.opened_at();
    let human = crate::human::duration;
    let mut rows = vec![Row::new(
        "stream",
        "200 text/event-stream",
        "200 text/event-stream",
        true,
    )];

    // The first event or heartbeat.
    let first = sub.wait_until(opened, opened + within, |_| true).await;
    let first_row = match &first {
        Ok(ev) => Row::new(
            format!("first event or heartbeat within {}", human(within)),
            format!("≤ {}", human(within)),
            format!(
                "{} after {} ms",
                ev.event,
                ev.received_at.saturating_duration_since(opened).as_millis()
            ),
            true,
        ),
        Err(crate::realtime::WaitEnd::Closed(c)) => Row::new(
            format!("first event or heartbeat within {}", human(within)),
            format!("≤ {}", human(within)),
            format!(
                "nothing: the stream closed after {} ms ({})",
                c.at.saturating_duration_since(opened).as_millis(),
                c.reason
            ),
            false,
        ),
        Err(crate::realtime::WaitEnd::Deadline) => Row::new(
            format!("first event or heartbeat within {}", human(within)),
            format!("≤ {}", human(within)),
            format!("nothing in {}", human(within)),
            false,
        ),
    };
    rows.push(first_row);

    // Held open: no frame is awaited, only the end of the stream or of `open_for`.
    let held = sub.wait_until(opened, opened + open_for, |_| false).await;
    let frames = sub.frames().len();
    rows.push(match held {
        Err(crate::realtime::WaitEnd::Closed(c)) => Row::new(
            "stays open",
            format!("≥ {}", human(open_for)),
            format!(
                "closed after {} ms ({})",
                c.at.saturating_duration_since(opened).as_millis(),
                c.reason
            ),
            false,
        ),
        Err(crate::realtime::WaitEnd::Deadline) | Ok(_) => Row::new(
            "stays open",
            format!("≥ {}", human(open_for)),
            format!("open for {} ({frames} frames)", human(opened.elapsed())),
            true,
        ),
    });
    sub.close().await;
    let asked = format!("GET {shown} (Accept: text/event-stream)\n");
    conclude(ctx, "sse", &fail, summary.clone(), asked, rows, vec![])
}
