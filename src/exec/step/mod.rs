//! How each step kind runs: `run_step` dispatches to one function per kind, grouped by family
//! (`locate`, `pointer`, `assert`, `window`, `download`, `http`, `mail`, `realtime`,
//! `contract`); what a
//! step runs with is `context`, its access to the browser `session`.
//!
//! Adding a step kind: its AST struct (flowfile/ast/), its classification
//! (flowfile/classify.rs, which does not compile until it is there), its checks
//! (flowfile/check/flow/), and a function in its family here, failing with a [`StepError`]
//! (docs/architecture.md "Where to add…").

mod assert;
mod context;
mod contract;
mod download;
mod error;
pub(crate) mod http;
mod locate;
pub(crate) mod mail;
mod mail_checks;
mod mails;
mod pointer;
pub(crate) mod realtime;
mod session;
mod visual;
mod window;

use std::time::Instant;

use serde_json::{json, Value};

use self::assert::*;
use self::context::*;
use self::download::*;
use self::locate::*;
use self::pointer::*;
use self::visual::*;
use self::window::*;
use crate::flowfile::ast::*;

pub use self::context::{
    trigger_index, trigger_time, Measured, StepContext, StepFailure, StepOutcome,
};
pub(crate) use self::contract::{read_flow_start_metrics, MetricsAtStart};
pub use self::error::StepError;
pub use self::locate::probe_locator;
pub(crate) use self::session::open_user_session;

/// Runs `step` and hands back, beside its verdict, what it measured and saw (round trips, time
/// in the driver and the page, events to emit, the DOM it brought back, its HTTP exchange).
pub async fn run_step(ctx: &mut StepContext<'_>, step: &Step) -> (StepResult, Measured) {
    let result = run_counted(ctx, step).await;
    (result, std::mem::take(&mut ctx.measured))
}

/// Runs `step` in its frame and counts the round trips of its actor's session.
async fn run_counted(ctx: &mut StepContext<'_>, step: &Step) -> StepResult {
    ctx.actor = step
        .page_user()
        .map(|u| u.value.clone())
        .or_else(|| ctx.user.map(str::to_owned));
    let actor = ctx.actor.clone();
    let before = actor
        .as_deref()
        .and_then(|u| ctx.sessions.get(u))
        .map(|s| (s.round_trips(), s.time_spent()));
    let mut in_frame = false;
    if let Some(frame) = step.frame() {
        let deadline = Instant::now() + ctx.timeout(None);
        in_frame = true;
        if let Err(e) = enter_frames(ctx, &frame.value, deadline).await {
            leave_frames(ctx).await;
            return Err(e);
        }
    }
    let result = match step {
        Step::Goto(g) => goto(ctx, g.url()).await,
        Step::Click(s) => click(ctx, &s.locator(), s.timeout.as_ref()).await,
        Step::Fill(s) => fill(ctx, s).await,
        Step::Select(s) => select(ctx, s).await,
        Step::Check(s) => check(ctx, s).await,
        Step::Upload(s) => upload(ctx, s).await,
        Step::Press(s) => press(ctx, s).await,
        Step::Expect(s) => expect(ctx, s).await,
        Step::WaitFor(s) => wait_for(ctx, s).await,
        Step::Screenshot(s) => screenshot(ctx, s).await,
        Step::ExpectScreenshot(s) => expect_screenshot(ctx, s).await,
        Step::Capture(s) => capture(ctx, s).await,
        Step::Http(s) => self::http::run(ctx, s).await,
        Step::Mail(s) => self::mail::run(ctx, s).await,
        Step::Mails(s) => self::mails::run_sequence(ctx, s).await,
        Step::Subscribe(s) => self::realtime::subscribe(ctx, s).await,
        Step::ExpectEvent(s) => self::realtime::expect_event(ctx, s).await,
        Step::Hover(s) => hover(ctx, s).await,
        Step::Drag(s) => drag(ctx, s).await,
        Step::Download(s) => download(ctx, s).await,
        Step::Dialog(s) => dialog(ctx, s).await,
        Step::Window(w) => window(ctx, w).await,
        // Expanded into the group's steps before the run.
        Step::Use(u) => ok(format!("use {}", u.group().value)),
        Step::Guard(s) => self::contract::guard(ctx, s).await,
        Step::Forbidden(s) => self::contract::forbidden(ctx, s).await,
        Step::DownloadHeaders(s) => self::contract::download_headers(ctx, s).await,
        Step::Sse(s) => self::contract::sse(ctx, s).await,
        Step::Routes(s) => self::contract::routes(ctx, s).await,
        Step::Metrics(s) => self::contract::metrics(ctx, s).await,
    };
    if in_frame {
        leave_frames(ctx).await;
    }
    let after = actor
        .as_deref()
        .and_then(|u| ctx.sessions.get(u))
        .map(|s| (s.round_trips(), s.time_spent()));
    let ((trips_before, (driver_before, page_before)), after) = match (before, after) {
        (Some(b), Some(a)) => (b, Some(a)),
        (None, Some(a)) => ((0, (0, 0)), Some(a)),
        _ => ((0, (0, 0)), None),
    };
    if let Some((trips, (driver, page))) = after {
        ctx.measured.round_trips += trips.saturating_sub(trips_before);
        ctx.measured.driver_us += driver.saturating_sub(driver_before);
        ctx.measured.page_us += page.saturating_sub(page_before);
    }
    result
}

/// The first page request `step` will send, when it can be known before the step runs: a
/// locate for `click`, `fill`, `check` and `hover`, the assertion of `expect` and `wait_for`.
/// The step before it sends it along with its act's verdict (page.js `then`) and the answer is
/// kept in the session; the step uses it only if it sends exactly this request with nothing
/// in between (`BrowserSession::take_prefetched`), so a wrong guess costs nothing but is
/// never used.
pub fn prefetch_request(ctx: &StepContext<'_>, step: &Step) -> Option<Value> {
    let act = |op: &str, loc: &Locator, arm: &str| {
        let (spec, _) = ctx.locator_spec(loc).ok()?;
        Some(act_request(op, &spec, &json!({}), Some(arm)))
    };
    match step {
        Step::Click(c) => act("act", &c.locator(), Act::Click.events()),
        Step::Hover(h) => act("hover", &h.locator(), Act::Hover.events()),
        Step::Check(c) => act("act", &check_locator(c), Act::Click.events()),
        Step::Fill(f) => {
            let (value, _) = ctx.render_shown(&f.value.value).ok()?;
            if value.is_empty() {
                return None;
            }
            act("fill", &f.locator(), Act::Type("").events())
        }
        Step::Expect(e) => expect_request(ctx, e)
            .ok()
            .map(|(r, _)| read_request(ctx, r)),
        Step::WaitFor(w) => wait_request(ctx, w).ok().map(|(r, _)| read_request(ctx, r)),
        // Their first request depends on what the act before them did, or is not a page
        // request at all.
        Step::Goto(_)
        | Step::Select(_)
        | Step::Upload(_)
        | Step::Press(_)
        | Step::Screenshot(_)
        | Step::ExpectScreenshot(_)
        | Step::Capture(_)
        | Step::Http(_)
        | Step::Mail(_)
        | Step::Mails(_)
        | Step::Subscribe(_)
        | Step::ExpectEvent(_)
        | Step::Drag(_)
        | Step::Download(_)
        | Step::Dialog(_)
        | Step::Window(_)
        | Step::Use(_)
        | Step::Guard(_)
        | Step::Forbidden(_)
        | Step::DownloadHeaders(_)
        | Step::Sse(_)
        | Step::Routes(_)
        | Step::Metrics(_) => None,
    }
}
