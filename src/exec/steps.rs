//! How each step kind runs. One function per kind; `run_step` dispatches.
//!
//! Adding a step kind: its AST struct (flowfile/ast.rs), its checks (flowfile/check.rs), and a
//! function here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::bidi::{EventWatch, Topic};
use super::browser::{BrowserError, BrowserSession, Driver, PageGone, PageResult};
use super::vars::Vars;
use crate::artifact;
use crate::config::Config;
use crate::events::{Artifact, ArtifactKind, Evidence, RunEventKind};
use crate::flowfile::ast::*;
use crate::flowfile::check::CheckedFlow;
use crate::flowfile::duration::parse_duration;
use crate::flowfile::span::Sp;
use crate::flowfile::template::Resolved;
use crate::flowfile::text::{split_regex_literal, RegexLiteral, TextPattern};
use crate::redact::Redactor;

pub struct StepContext<'a> {
    pub config: &'a Config,
    pub flow: &'a CheckedFlow,
    pub index: usize,
    pub base_url: &'a str,
    pub output_dir: &'a Path,
    pub logs_dir: &'a Path,
    pub http: &'a crate::net::Http,
    pub redactor: &'a Redactor,
    pub vars: &'a mut Vars,
    pub sessions: &'a mut HashMap<String, BrowserSession>,
    pub driver: &'a mut Option<Driver>,
    /// The run's mail sources (kept across steps: caches and event streams).
    pub mail_sources: &'a crate::mail::MailSources,
    /// The flow's user (for `{{ user.* }}`).
    pub user: Option<&'a str>,
    /// Whose browser session this step acts in: its `as:`, else the flow's user.
    pub actor: Option<String>,
    pub step_start: &'a [(OffsetDateTime, Instant)],
    /// Realtime subscriptions opened by this flow attempt, by id.
    pub subscriptions: &'a mut HashMap<String, crate::realtime::Subscription>,
    pub run_started: Instant,
    /// The request/response an http, mail or realtime step saw (redacted), for the trace.
    pub exchange: Option<crate::events::Exchange>,
    /// Events the step wants emitted before its StepFinished (browser started, artifacts…).
    pub events: Vec<RunEventKind>,
    pub round_trips: u32,
    /// Microseconds this step spent in WebDriver calls, and inside the page script.
    pub driver_us: u64,
    pub page_us: u64,
    /// The flow is traced: read-only steps bring the DOM back with their answer.
    pub trace_dom: bool,
    /// `[url, title, html, css, …]` of the page after the step, when the step's own script
    /// sent it.
    pub dom_snapshot: Option<Value>,
    /// The trace wants the page after this step and no later step brings it: an act's
    /// hit-target verdict brings it back in the same round trip.
    pub dom_after_act: bool,
    /// Users whose browser session starts from a saved session (`--no-deps`), taken on use.
    pub restore: &'a mut HashMap<String, crate::state::SavedSession>,
    /// The next step's first page request (see [`prefetch_request`]): an act's verdict round
    /// trip runs it too, so that the hit-target check costs no round trip of its own.
    pub prefetch: Option<Value>,
}

pub struct StepOutcome {
    pub summary: String,
    pub artifacts: Vec<Artifact>,
    pub evidence: Vec<Evidence>,
}

pub struct StepFailure {
    pub summary: String,
    pub message: String,
    /// The browser or driver failed, not the app.
    pub infrastructure: bool,
}

type StepResult = Result<StepOutcome, StepFailure>;

/// Builds failures that carry the step's summary.
struct Fail<'s>(&'s str);

impl Fail<'_> {
    fn msg(&self, message: impl Into<String>) -> StepFailure {
        StepFailure {
            summary: self.0.to_owned(),
            message: message.into(),
            infrastructure: false,
        }
    }
    fn browser(&self, e: BrowserError) -> StepFailure {
        let infrastructure = !matches!(e, BrowserError::Command(_));
        StepFailure {
            summary: self.0.to_owned(),
            message: e.to_string(),
            infrastructure,
        }
    }
}

fn ok(summary: String) -> StepResult {
    Ok(StepOutcome {
        summary,
        artifacts: vec![],
        evidence: vec![],
    })
}

impl StepContext<'_> {
    fn flow_id(&self) -> &str {
        &self.flow.ast.id.value
    }

    /// Renders, and returns (value, text safe to show).
    pub(crate) fn render_shown(&self, text: &str) -> Result<(String, String), String> {
        let r = self
            .vars
            .render(text, self.flow_id(), &self.flow.needs_closure, self.user)?;
        Ok((r.value, r.redacted))
    }

    pub(crate) fn timeout(&self, own: Option<&Sp<DurationText>>) -> Duration {
        own.or(self.flow.ast.step_timeout.as_ref())
            .and_then(|d| parse_duration(&d.value.0).ok())
            .unwrap_or(self.config.timeouts.step)
    }

    pub(crate) fn resolve_url(&self, url: &str, api: bool) -> String {
        // Any absolute URL (http, ws, file for reports on disk, …) is taken as it is.
        if url::Url::parse(url).is_ok_and(|u| u.has_host() || u.scheme() == "file") {
            return url.to_owned();
        }
        let base = if api {
            self.config.api_url.as_deref().unwrap_or(self.base_url)
        } else {
            self.base_url
        };
        if url.starts_with('/') {
            format!("{base}{url}")
        } else {
            format!("{base}/{url}")
        }
    }

    /// Renders every string inside a JSON value.
    pub(crate) fn render_json(&self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => Value::String(self.render_shown(s)?.0),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.render_json(i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Whether the checker decided that `var` is a secret wherever this flow captures it
    /// (`secret: true`, a mail value, or sent as a credential by some flow).
    pub(crate) fn capture_is_secret(&self, var: &str) -> bool {
        self.flow.captures.get(var).is_some_and(|c| c.secret)
    }

    pub(crate) fn set_capture(&mut self, var: &str, mut value: Resolved) {
        value.secret |= self.capture_is_secret(var);
        if value.secret {
            self.redactor.add(&value.value);
        }
        let flow = self.flow.ast.id.value.clone();
        self.vars.set_capture(&flow, var, value);
    }

    /// The `Cookie` header of a user's browser session (which must exist: a browser step of
    /// this run has used it).
    pub(crate) async fn cookies_of(&mut self, user: &str) -> Result<String, String> {
        if !self.sessions.contains_key(user) && self.restore.contains_key(user) {
            // A saved session stands in for the login flow that did not run: open it now.
            self.session_for(user).await.map_err(|e| e.to_string())?;
        }
        let session = self.sessions.get(user).ok_or_else(|| {
            format!("user `{user}` has no browser session yet; a browser step (e.g. a login flow in `needs`) must run as `{user}` first")
        })?;
        let header = session.cookie_header().await.map_err(|e| e.to_string())?;
        for pair in header.split("; ") {
            if let Some((_, value)) = pair.split_once('=') {
                self.redactor.add(value);
            }
        }
        Ok(header)
    }

    /// The browser session of `user`, opened (and the driver started) on first use.
    async fn session_for(&mut self, user: &str) -> Result<&BrowserSession, BrowserError> {
        if !self.sessions.contains_key(user) {
            if self.driver.is_none() {
                *self.driver = Some(
                    Driver::start(
                        &self.config.browser,
                        &self.logs_dir.join("chromedriver.log"),
                    )
                    .await?,
                );
            }
            let driver = self
                .driver
                .as_ref()
                .ok_or_else(|| BrowserError::Session("no driver".into()))?;
            // A flow with its own `browser:` settings opens its user's session with them.
            let own = self
                .flow
                .ast
                .browser
                .as_ref()
                .filter(|_| self.user == Some(user))
                .map(|b| self.config.browser.for_flow(b));
            let session = open_user_session(
                driver,
                own.as_ref().unwrap_or(&self.config.browser),
                self.config,
                self.base_url,
                user,
            )
            .await?;
            self.events.push(session.started_event());
            // A `session: fresh` flow's own user starts logged out, whatever was saved.
            let fresh_own = (self.flow.ast.session == SessionMode::Fresh
                || self.flow.ast.browser.is_some())
                && self.user == Some(user);
            let saved = if fresh_own {
                None
            } else {
                self.restore.remove(user)
            };
            if let Some(saved) = saved {
                if let Err(e) =
                    super::saved_state::restore_into(&session, &saved, self.base_url).await
                {
                    session.close().await;
                    return Err(BrowserError::Session(format!(
                        "could not start {user}'s browser from the saved session: {e}; run \
                         without --no-deps to log in again"
                    )));
                }
                self.events.push(RunEventKind::Notice {
                    flow: Some(self.flow_id().to_owned()),
                    message: format!(
                        "started {user}'s browser from the saved session (saved {} after {})",
                        saved.saved_at, saved.flow
                    ),
                });
            }
            self.sessions.insert(user.to_owned(), session);
        }
        self.sessions
            .get(user)
            .ok_or_else(|| BrowserError::Session("session vanished".into()))
    }

    async fn browser(&mut self, fail: &Fail<'_>) -> Result<&BrowserSession, StepFailure> {
        let Some(user) = self.actor.clone() else {
            return Err(fail.msg("this flow has no `user`, so it has no browser session"));
        };
        self.session_for(&user).await.map_err(|e| fail.browser(e))
    }

    /// Turns a locator into the JSON spec page.js understands, rendering variables.
    fn locator_spec(&self, loc: &Locator) -> Result<(Value, String), String> {
        let exact = loc.exact.unwrap_or(false);
        let mut spec = serde_json::Map::new();
        let mut shown = Vec::new();
        let pattern = |s: &Sp<String>, exact: bool| self.pattern(s, exact);
        if let Some(w) = &loc.within {
            let (inner, inner_shown) = self.locator_spec(&w.value)?;
            spec.insert("within".into(), inner);
            shown.push(format!("{inner_shown} >>"));
        }
        if let Some(role) = &loc.role {
            spec.insert("role".into(), json!(role.value));
            shown.push(format!("role={}", role.value));
            if let Some(name) = &loc.name {
                let (v, s) = pattern(name, exact)?;
                spec.insert("name".into(), v);
                shown.push(format!("name{s}"));
            }
        }
        for (key, field) in [
            ("label", &loc.label),
            ("text", &loc.text),
            ("placeholder", &loc.placeholder),
        ] {
            if let Some(f) = field {
                let (v, s) = pattern(f, exact)?;
                spec.insert(key.into(), v);
                shown.push(format!("{key}{s}"));
            }
        }
        for (key, field) in [
            ("test_id", &loc.test_id),
            ("css", &loc.css),
            ("xpath", &loc.xpath),
        ] {
            if let Some(f) = field {
                let (v, s) = self.render_shown(&f.value)?;
                spec.insert(key.into(), json!(v));
                shown.push(format!("{key}={s}"));
            }
        }
        self.filter_spec(loc, &mut spec, &mut shown)?;
        if let Some(n) = loc.nth {
            spec.insert("nth".into(), json!(n));
            shown.push(format!("nth={n}"));
        }
        Ok((Value::Object(spec), shown.join(" ")))
    }

    /// A text pattern as page.js takes it, and as shown (secrets redacted). Whether it is a
    /// regex is read from the text as written, not from a variable's value.
    fn pattern(&self, s: &Sp<String>, exact: bool) -> Result<(Value, String), String> {
        let (value, redacted) = self.render_shown(&s.value)?;
        let p = TextPattern::from_rendered(&s.value, &value, exact)?;
        let shown = TextPattern::from_rendered(&s.value, &redacted, exact)
            .map(|p| p.to_string())
            .unwrap_or(redacted);
        Ok((p.to_js(), shown))
    }

    /// The locator's filters (`has_text`, `has`, states…) into `spec`.
    fn filter_spec(
        &self,
        loc: &Locator,
        spec: &mut serde_json::Map<String, Value>,
        shown: &mut Vec<String>,
    ) -> Result<(), String> {
        for (key, field) in [
            ("has_text", &loc.has_text),
            ("has_own_text", &loc.has_own_text),
            ("has_not_text", &loc.has_not_text),
        ] {
            if let Some(f) = field {
                let (v, s) = self.pattern(f, false)?;
                spec.insert(key.into(), v);
                shown.push(format!("{key}{s}"));
            }
        }
        for (key, inner) in [("has", &loc.has), ("has_not", &loc.has_not)] {
            if let Some(inner) = inner {
                let (v, s) = self.locator_spec(&inner.value)?;
                spec.insert(key.into(), v);
                shown.push(format!("{key}=({s})"));
            }
        }
        for (key, state) in [
            ("checked", loc.checked),
            ("selected", loc.selected),
            ("disabled", loc.disabled),
            ("expanded", loc.expanded),
            ("pressed", loc.pressed),
        ] {
            if let Some(b) = state {
                spec.insert(key.into(), json!(b));
                shown.push(format!("{key}={b}"));
            }
        }
        if let Some(level) = &loc.level {
            spec.insert("level".into(), json!(level.value));
            shown.push(format!("level={}", level.value));
        }
        Ok(())
    }
}

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
        Err(e) => return e,
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
async fn wait_in_page(
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

fn timeout_message(what: &str, timeout: Duration, r: &PageResult) -> String {
    if r.fatal {
        return r.reason.clone().unwrap_or_else(|| "failed".into());
    }
    format!(
        "{what} not met within {}: {}",
        human(timeout),
        r.reason.as_deref().unwrap_or("no detail")
    )
}

pub fn human(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Opens a user's browser session as every flow expects it: signed in to a basic-auth site,
/// and keeping console and network events when the run is traced.
pub(super) async fn open_user_session(
    driver: &Driver,
    browser: &crate::config::BrowserConfig,
    config: &Config,
    base_url: &str,
    user: &str,
) -> Result<BrowserSession, BrowserError> {
    let session = BrowserSession::open(driver, browser, user).await?;
    if let Some(auth) = &config.basic_auth {
        if let Err(e) = session.sign_in_basic_auth(base_url, auth).await {
            session.close().await;
            return Err(e);
        }
    }
    if config.trace != crate::config::TraceMode::Off {
        session.capture_page_events().await;
    }
    Ok(session)
}

pub async fn run_step(ctx: &mut StepContext<'_>, step: &Step) -> StepResult {
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
        Step::Capture(s) => capture(ctx, s).await,
        Step::Http(s) => super::http_step::run(ctx, s).await,
        Step::Mail(s) => super::mail_step::run(ctx, s).await,
        Step::Mails(s) => super::mail_step::run_sequence(ctx, s).await,
        Step::Subscribe(s) => super::realtime_step::subscribe(ctx, s).await,
        Step::ExpectEvent(s) => super::realtime_step::expect_event(ctx, s).await,
        Step::Hover(s) => hover(ctx, s).await,
        Step::Drag(s) => drag(ctx, s).await,
        Step::Download(s) => download(ctx, s).await,
        Step::Dialog(s) => dialog(ctx, s).await,
        Step::Window(w) => window(ctx, w).await,
        // Expanded into the group's steps before the run.
        Step::Use(u) => ok(format!("use {}", u.group().value)),
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
        ctx.round_trips += trips.saturating_sub(trips_before);
        ctx.driver_us += driver.saturating_sub(driver_before);
        ctx.page_us += page.saturating_sub(page_before);
    }
    result
}

async fn goto(ctx: &mut StepContext<'_>, url: &Sp<String>) -> StepResult {
    let (value, shown) = ctx
        .render_shown(&url.value)
        .map_err(|e| Fail("goto").msg(e))?;
    let target = ctx.resolve_url(&value, false);
    let shown_target = ctx.resolve_url(&shown, false);
    let summary = format!("goto {shown_target}");
    let fail = Fail(&summary);
    let nav_timeout = ctx.config.timeouts.navigation;
    let session = ctx.browser(&fail).await?;
    match tokio::time::timeout(nav_timeout, session.goto(&target)).await {
        Ok(Ok(())) => ok(summary),
        Ok(Err(e)) => Err(fail.browser(e)),
        Err(_) => Err(fail.msg(format!(
            "the page did not load within {}",
            human(nav_timeout)
        ))),
    }
}

/// Locates an actionable element (op: act/fill/focus/select/upload/setvalue/hover) and returns
/// its page result. An act that sends events to the element goes through `act_verified`.
async fn actionable(
    ctx: &mut StepContext<'_>,
    op: &str,
    loc: &Locator,
    extra: Value,
    timeout: Option<&Sp<DurationText>>,
    verb: &str,
) -> Result<(PageResult, String), StepFailure> {
    let (spec, shown) = ctx.locator_spec(loc).map_err(|e| Fail(verb).msg(e))?;
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
async fn locate(
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
        return Err(fail.msg(if r.fatal {
            r.reason.clone().unwrap_or_default()
        } else {
            format!(
                "element not actionable within {}: {}",
                human(limit),
                r.reason.as_deref().unwrap_or("no detail")
            )
        }));
    }
    Ok(r)
}

/// A locate request: `op` on the element `spec` finds, with the op's `extra` fields, arming
/// the hit-target check for an act of kind `arm`.
fn act_request(op: &str, spec: &Value, extra: &Value, arm: Option<&str>) -> Value {
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
const PREFETCH_WAIT: Duration = Duration::from_millis(100);

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
        _ => None,
    }
}

/// An act whose events must reach the located element (the hit-target check).
enum Act<'v> {
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
    fn events(&self) -> &'static str {
        match self {
            Act::Click | Act::Drag => "click",
            Act::Hover => "hover",
            Act::Type(_) => "input",
        }
    }

    /// Performs the act (one round trip); returns the point it used, if it used one.
    async fn perform(
        &self,
        session: &BrowserSession,
        r: &PageResult,
        fail: &Fail<'_>,
    ) -> Result<Option<(f64, f64)>, StepFailure> {
        let at = || point(session, r).ok_or_else(|| fail.msg("the page returned no point"));
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
                    .ok_or_else(|| fail.msg("the page returned no drop point"))?;
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
    fn miss(&self, at: Option<(f64, f64)>, v: &Value) -> String {
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
async fn act_verified(
    ctx: &mut StepContext<'_>,
    op: &str,
    loc: &Locator,
    extra: Value,
    timeout: Option<&Sp<DurationText>>,
    verb: &str,
    act: &Act<'_>,
    want_checked: Option<bool>,
) -> Result<(PageResult, Option<PageResult>, String), StepFailure> {
    let (spec, shown) = ctx.locator_spec(loc).map_err(|e| Fail(verb).msg(e))?;
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
                return Err(fail.msg(format!(
                    "{last} ({}; then {})",
                    tries_missed(misses.len()),
                    f.message
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
            .ok_or_else(|| fail.msg("the page did not arm the hit-target check"))?;
        let mut request = json!({"op": "verify", "token": token});
        if dom_after_act {
            request["snapshot"] = json!(true);
        }
        if let Some(next) = &prefetch {
            let mut then = next.clone();
            then["slice_ms"] = json!(PREFETCH_WAIT.as_millis() as u64);
            request["then"] = then;
        }
        // A navigation the act started is waited for (the verdict is read in the new
        // document), at least a few seconds even when the step's deadline is near.
        let verify_deadline = deadline.max(Instant::now() + Duration::from_secs(5));
        let mut v = loop {
            let answer = session
                .page_after_act(request.clone(), Duration::ZERO)
                .await
                .map_err(|e| fail.browser(e))?;
            match answer {
                Ok(a) if a.ok || a.fatal || Instant::now() >= verify_deadline => break a,
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                // The act opened a dialog or closed its window: a missed event is blocked in the
                // page, so only the act reaching its element can have done that.
                Err(PageGone::DialogOpened | PageGone::WindowClosed) => {
                    return Ok((r, None, summary));
                }
            }
        };
        if !v.ok {
            return Err(fail.msg(format!(
                "could not confirm that the {verb} reached the element: {}",
                v.reason.as_deref().unwrap_or("the page did not answer")
            )));
        }
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
                ctx.dom_snapshot = v.value.get_mut("snapshot").map(Value::take);
                return Ok((r, Some(v), summary));
            }
            _ => {
                let miss = ctx.redactor.redact(&act.miss(at, &v.value));
                tracing::debug!("{summary}: {miss}; retrying from locate");
                misses.push(miss);
                if Instant::now() >= deadline {
                    let n = misses.len();
                    let last = misses.pop().unwrap_or_default();
                    return Err(fail.msg(if n > 1 {
                        format!("{last} ({})", tries_missed(n))
                    } else {
                        last
                    }));
                }
            }
        }
    }
}

fn tries_missed(n: usize) -> String {
    if n == 1 {
        "1 try missed".to_owned()
    } else {
        format!("{n} tries missed")
    }
}

/// The page's point `(xk, yk)` in top-level viewport coordinates, which pointer actions use:
/// the page script converts it itself when it can see its frames (`top`); inside a cross-origin
/// frame the offset measured on entering the frame is added.
fn point_at(session: &BrowserSession, r: &PageResult, xk: &str, yk: &str) -> Option<(f64, f64)> {
    let (x, y) = (r.value.get(xk)?.as_f64()?, r.value.get(yk)?.as_f64()?);
    if r.value.get("top").and_then(Value::as_bool) == Some(true) {
        return Some((x, y));
    }
    let (ox, oy) = session.frame_offset();
    Some((x + ox, y + oy))
}

fn point(session: &BrowserSession, r: &PageResult) -> Option<(f64, f64)> {
    point_at(session, r, "x", "y")
}

async fn click(
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

async fn fill(ctx: &mut StepContext<'_>, s: &FillStep) -> StepResult {
    let (value, shown_value) = ctx
        .render_shown(&s.value.value)
        .map_err(|e| Fail("fill").msg(e))?;
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
            .mask_secrets_in_screenshots(redactor);
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

async fn select(ctx: &mut StepContext<'_>, s: &SelectStep) -> StepResult {
    let (option, shown) = ctx
        .render_shown(&s.option.value)
        .map_err(|e| Fail("select").msg(e))?;
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
fn check_locator(s: &CheckStep) -> Locator {
    let mut loc = s.locator();
    loc.checked = None;
    loc
}

async fn check(ctx: &mut StepContext<'_>, s: &CheckStep) -> StepResult {
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
        return Err(Fail(&summary).msg(format!(
            "clicked, but the element is still {}",
            if want { "unchecked" } else { "checked" }
        )));
    }
    ok(summary)
}

async fn upload(ctx: &mut StepContext<'_>, s: &UploadStep) -> StepResult {
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
            .map_err(|e| Fail("upload").msg(e))?;
        let p = dir.join(&v);
        let abs = std::fs::canonicalize(&p)
            .map_err(|e| Fail("upload").msg(format!("cannot read {}: {e}", p.display())))?;
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

async fn press(ctx: &mut StepContext<'_>, s: &PressStep) -> StepResult {
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

async fn expect(ctx: &mut StepContext<'_>, s: &ExpectStep) -> StepResult {
    if let Some(value) = &s.value {
        return compare_values(ctx, value, s);
    }
    let (request, summary) = expect_request(ctx, s).map_err(|e| Fail("expect").msg(e))?;
    await_in_page(ctx, summary, request, s.timeout.as_ref(), "expectation").await
}

/// The in-page request of an `expect` on the page (not `value:`), and its summary.
fn expect_request(ctx: &StepContext<'_>, s: &ExpectStep) -> Result<(Value, String), String> {
    if s.value.is_some() {
        return Err("compares values; no page request".into());
    }
    let mut assert = serde_json::Map::new();
    let mut what;
    if let Some(url) = &s.url {
        let (value, shown) = ctx.render_shown(&url.value)?;
        // A regex only when written `/…/` in the flow: a URL from a variable is compared as
        // it is (its dots are dots).
        let p = if matches!(split_regex_literal(&url.value), RegexLiteral::Regex { .. }) {
            TextPattern::from_rendered(&url.value, &value, false)?.to_js()
        } else {
            json!({"kind": "exact", "value": value})
        };
        assert.insert("url".into(), p);
        what = format!("url {shown}");
    } else if let Some(title) = &s.title {
        let (v, shown) = ctx.pattern(title, s.exact.unwrap_or(false))?;
        assert.insert("title".into(), v);
        what = format!("title{shown}");
    } else {
        what = String::new();
    }
    let has_locator = what.is_empty();
    let mut spec = Value::Null;
    if has_locator {
        let check = s.element_checks().into_iter().next();
        let loc = match check {
            Some((key, _)) => s.locator_without(key),
            None => s.locator(),
        };
        let (sp, shown) = ctx.locator_spec(&loc)?;
        spec = sp;
        what = shown;
        if let Some(n) = s.count {
            assert.insert("count".into(), json!(n));
            what = format!("{what} count={n}");
        } else if s.hidden == Some(true) || s.visible == Some(false) {
            assert.insert("hidden".into(), json!(true));
            what = format!("{what} hidden");
        } else {
            match check {
                Some((_, ElementCheck::HasText(t))) => {
                    let (v, shown) = ctx.pattern(t, false)?;
                    assert.insert("has_text".into(), v);
                    what = format!("{what} has_text{shown}");
                }
                Some((_, ElementCheck::HasValue(t))) => {
                    let (v, shown) = value_pattern(ctx, t)?;
                    assert.insert("has_value".into(), v);
                    what = format!("{what} has_value{shown}");
                }
                Some((key, ElementCheck::State(_, want))) => {
                    assert.insert("state".into(), json!(key));
                    assert.insert("want".into(), json!(want));
                    what = format!("{what} {key}={want}");
                }
                Some((_, ElementCheck::Level(l))) => {
                    assert.insert("state".into(), json!("level"));
                    assert.insert("want".into(), json!(l.value));
                    what = format!("{what} level={}", l.value);
                }
                None => what = format!("{what} visible"),
            }
        }
    }
    let request = json!({"op": "expect", "locator": spec, "assert": assert});
    Ok((request, format!("expect {what}")))
}

/// `has_value`: the field's value equals the text exactly (an empty text is an empty field),
/// or matches it when written `/…/`.
fn value_pattern(ctx: &StepContext<'_>, v: &Sp<String>) -> Result<(Value, String), String> {
    let (value, redacted) = ctx.render_shown(&v.value)?;
    if matches!(split_regex_literal(&v.value), RegexLiteral::Regex { .. }) {
        let p = TextPattern::from_rendered(&v.value, &value, false)?;
        let shown = TextPattern::from_rendered(&v.value, &redacted, false)
            .map_or(redacted, |p| p.to_string());
        return Ok((p.to_js(), shown));
    }
    Ok((
        json!({"kind": "equals", "value": value}),
        format!("={redacted:?}"),
    ))
}

/// `expect: { value, equals | matches }`: two values compared in the runner, no page.
fn compare_values(ctx: &StepContext<'_>, value: &Sp<String>, s: &ExpectStep) -> StepResult {
    let (actual, actual_shown) = ctx
        .render_shown(&value.value)
        .map_err(|e| Fail("expect").msg(e))?;
    if let Some(equals) = &s.equals {
        let (expected, expected_shown) = ctx
            .render_shown(&equals.value)
            .map_err(|e| Fail("expect").msg(e))?;
        let summary = format!("expect value {actual_shown:?} equals {expected_shown:?}");
        if actual == expected {
            return ok(summary);
        }
        return Err(Fail(&summary).msg(format!(
            "the value is {actual_shown:?}, expected it to equal {expected_shown:?}"
        )));
    }
    if let Some(matches) = &s.matches {
        let (_, shown) = ctx
            .pattern(matches, false)
            .map_err(|e| Fail("expect").msg(e))?;
        let (rendered, _) = ctx
            .render_shown(&matches.value)
            .map_err(|e| Fail("expect").msg(e))?;
        let pattern = TextPattern::from_rendered(&matches.value, &rendered, false)
            .map_err(|e| Fail("expect").msg(e))?;
        let summary = format!("expect value {actual_shown:?} matches {shown}");
        // The value as it is: a regex decides itself about whitespace and case.
        let hit = match pattern.to_regex() {
            Some(Ok(re)) => re.is_match(&actual),
            Some(Err(e)) => return Err(Fail(&summary).msg(format!("invalid regex: {e}"))),
            None => pattern.matches(&actual),
        };
        if hit {
            return ok(summary);
        }
        return Err(Fail(&summary).msg(format!(
            "the value is {actual_shown:?}, expected it to match {shown}"
        )));
    }
    Err(Fail("expect").msg("`value` needs `equals` or `matches`"))
}

/// Runs an in-page wait (`expect`, `wait_for`) to its deadline and turns the result into the
/// step's outcome.
/// A read-only step's request as sent: when traced, the page's DOM where the assertion held
/// comes back with the answer, so the trace needs no round trip of its own.
fn read_request(ctx: &StepContext<'_>, mut request: Value) -> Value {
    if ctx.trace_dom {
        request["snapshot"] = json!(true);
    }
    request
}

async fn await_in_page(
    ctx: &mut StepContext<'_>,
    summary: String,
    request: Value,
    timeout: Option<&Sp<DurationText>>,
    what: &str,
) -> StepResult {
    let fail = Fail(&summary);
    let limit = ctx.timeout(timeout);
    let request = read_request(ctx, request);
    let session = ctx.browser(&fail).await?;
    let mut r = wait_in_page(session, request, Instant::now() + limit)
        .await
        .map_err(|e| fail.browser(e))?;
    if r.ok {
        ctx.dom_snapshot = r.value.get_mut("snapshot").map(Value::take);
        ok(summary)
    } else {
        Err(fail.msg(timeout_message(what, limit, &r)))
    }
}

async fn wait_for(ctx: &mut StepContext<'_>, s: &WaitForStep) -> StepResult {
    if let Some(url) = &s.url {
        let e = ExpectStep {
            url: Some(url.clone()),
            timeout: s.timeout.clone(),
            ..Default::default()
        };
        return expect(ctx, &e).await.map(|mut o| {
            o.summary = o.summary.replacen("expect", "wait_for", 1);
            o
        });
    }
    let (request, summary) = wait_request(ctx, s).map_err(|e| Fail("wait_for").msg(e))?;
    let what = format!("state {}", request["state"].as_str().unwrap_or_default());
    await_in_page(ctx, summary, request, s.timeout.as_ref(), &what).await
}

/// The in-page request of a `wait_for` on an element, and its summary; one on a URL is an
/// `expect` on it.
fn wait_request(ctx: &StepContext<'_>, s: &WaitForStep) -> Result<(Value, String), String> {
    if let Some(url) = &s.url {
        let e = ExpectStep {
            url: Some(url.clone()),
            ..Default::default()
        };
        return expect_request(ctx, &e);
    }
    let state = match s.state.unwrap_or(ElementState::Visible) {
        ElementState::Visible => "visible",
        ElementState::Hidden => "hidden",
        ElementState::Attached => "attached",
        ElementState::Detached => "detached",
    };
    let (spec, shown) = ctx.locator_spec(&s.locator())?;
    let request = json!({"op": "wait", "state": state, "locator": spec});
    Ok((request, format!("wait_for {shown} {state}")))
}

async fn screenshot(ctx: &mut StepContext<'_>, s: &ScreenshotStep) -> StepResult {
    let (name, full) = match s {
        ScreenshotStep::Name(n) => (n.value.clone(), false),
        ScreenshotStep::Options(o) => (o.name.value.clone(), o.full_page),
    };
    let summary = format!("screenshot {name}");
    let fail = Fail(&summary);
    let session = ctx.browser(&fail).await?;
    let png = if full {
        session.full_page_screenshot().await
    } else {
        session.screenshot().await
    }
    .map_err(|e| fail.browser(e))?;
    let rel = PathBuf::from(ctx.flow_id()).join(format!("{:02}-{name}.png", ctx.index + 1));
    artifact::write_atomic(&ctx.output_dir.join(&rel), &png)
        .map_err(|e| fail.msg(format!("cannot write {}: {e}", rel.display())))?;
    let a = Artifact {
        kind: ArtifactKind::Screenshot,
        path: rel,
        bytes: png.len() as u64,
    };
    ctx.events.push(RunEventKind::ArtifactWritten {
        flow: Some(ctx.flow_id().to_owned()),
        artifact: a.clone(),
    });
    Ok(StepOutcome {
        summary,
        artifacts: vec![a],
        evidence: vec![],
    })
}

async fn capture(ctx: &mut StepContext<'_>, s: &CaptureStep) -> StepResult {
    let var = s.var.value.clone();
    let (source_text, from) = match s.from {
        Some(CaptureSource::Url) => {
            let fail = Fail("capture");
            let session = ctx.browser(&fail).await?;
            (
                session.current_url().await.map_err(|e| fail.browser(e))?,
                "url".to_owned(),
            )
        }
        Some(CaptureSource::Title) => {
            let fail = Fail("capture");
            let session = ctx.browser(&fail).await?;
            (
                session.title().await.map_err(|e| fail.browser(e))?,
                "title".to_owned(),
            )
        }
        None => {
            let (spec, shown) = ctx
                .locator_spec(&s.locator())
                .map_err(|e| Fail("capture").msg(e))?;
            let fail = Fail("capture");
            let limit = ctx.timeout(s.timeout.as_ref());
            let session = ctx.browser(&fail).await?;
            let attribute = s.attribute.as_ref().map(|a| a.value.clone());
            let r = wait_in_page(
                session,
                json!({"op": "text", "locator": spec, "attribute": attribute}),
                Instant::now() + limit,
            )
            .await
            .map_err(|e| fail.browser(e))?;
            if !r.ok {
                return Err(fail.msg(timeout_message("capture", limit, &r)));
            }
            (
                r.value
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                shown,
            )
        }
    };
    let summary = format!("capture {var} from {from}");
    let fail = Fail(&summary);
    let value = match &s.regex {
        Some(re) => {
            let (pattern, _) = ctx.render_shown(&re.value).map_err(|e| fail.msg(e))?;
            let re =
                regex::Regex::new(&pattern).map_err(|e| fail.msg(format!("bad regex: {e}")))?;
            let caps = re.captures(&source_text).ok_or_else(|| {
                let shown = if s.secret || ctx.capture_is_secret(&var) {
                    "[redacted]".to_owned()
                } else {
                    ctx.redactor.redact(&source_text)
                };
                fail.msg(format!("/{pattern}/ does not match \"{shown}\""))
            })?;
            caps.get(1)
                .or_else(|| caps.get(0))
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default()
        }
        None => source_text,
    };
    let secret = s.secret || ctx.capture_is_secret(&var);
    if secret {
        ctx.redactor.add(&value);
    }
    let shown = if secret {
        "[redacted]".to_owned()
    } else {
        value.clone()
    };
    ctx.vars
        .set_capture(&ctx.flow.ast.id.value, &var, Resolved { value, secret });
    ok(format!("{summary} = \"{shown}\""))
}

/// Switches the actor's session into `frame` (outermost first, for nested frames).
async fn enter_frames(
    ctx: &mut StepContext<'_>,
    frame: &FrameRef,
    deadline: Instant,
) -> Result<(), StepFailure> {
    let (spec, shown) = match frame {
        FrameRef::Name(n) => {
            let (value, redacted) = ctx
                .render_shown(&n.value)
                .map_err(|e| Fail("frame").msg(e))?;
            let p = TextPattern::from_rendered(&n.value, &value, false)
                .map_err(|e| Fail("frame").msg(e))?;
            (
                json!({ "frame_name": p.to_js() }),
                format!("frame~\"{redacted}\""),
            )
        }
        FrameRef::Locator(l) => {
            if let Some(outer) = &l.frame {
                Box::pin(enter_frames(ctx, &outer.value, deadline)).await?;
            }
            ctx.locator_spec(l).map_err(|e| Fail("frame").msg(e))?
        }
    };
    let summary = format!("enter {shown}");
    let fail = Fail(&summary);
    let session = ctx.browser(&fail).await?;
    let r = wait_in_page(session, json!({"op": "frame", "locator": spec}), deadline)
        .await
        .map_err(|e| fail.browser(e))?;
    if !r.ok {
        return Err(fail.msg(format!(
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

async fn leave_frames(ctx: &mut StepContext<'_>) {
    let Some(user) = ctx.actor.clone() else {
        return;
    };
    if let Some(session) = ctx.sessions.get(&user) {
        if let Err(e) = session.leave_frames().await {
            tracing::debug!("leaving frames: {e}");
        }
    }
}

async fn hover(ctx: &mut StepContext<'_>, s: &HoverStep) -> StepResult {
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

async fn drag(ctx: &mut StepContext<'_>, s: &DragStep) -> StepResult {
    let (target, target_shown) = ctx
        .locator_spec(&s.to.value)
        .map_err(|e| Fail("drag").msg(e))?;
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

async fn dialog(ctx: &mut StepContext<'_>, s: &DialogStep) -> StepResult {
    let accept = s.action.unwrap_or_default() == DialogAction::Accept;
    let expected = match &s.text {
        Some(t) => {
            let (v, shown) = ctx
                .render_shown(&t.value)
                .map_err(|e| Fail("dialog").msg(e))?;
            Some((
                TextPattern::from_rendered(&t.value, &v, false)
                    .map_err(|e| Fail("dialog").msg(e))?,
                shown,
            ))
        }
        None => None,
    };
    let prompt = match &s.prompt {
        Some(p) => Some(
            ctx.render_shown(&p.value)
                .map_err(|e| Fail("dialog").msg(e))?,
        ),
        None => None,
    };
    let redactor = ctx.redactor;
    let verb = if accept { "accept" } else { "dismiss" };
    let summary = match &expected {
        Some((_, shown)) => format!("{verb} dialog ~\"{shown}\""),
        None => format!("{verb} dialog"),
    };
    let fail = Fail(&summary);
    let limit = ctx.timeout(s.timeout.as_ref());
    let deadline = Instant::now() + limit;
    let session = ctx.browser(&fail).await?;
    // Ask once; then ask again each time the browser reports a prompt (BiDi), or backing off.
    let mut news = session.watch(Topic::Dialog);
    let message = loop {
        if let Some(m) = session.dialog_text().await.map_err(|e| fail.browser(e))? {
            break m;
        }
        if Instant::now() >= deadline {
            return Err(fail.msg(format!(
                "no dialog opened within {}; a dialog step answers the alert/confirm/prompt that the step before it opened",
                human(limit)
            )));
        }
        news.next(deadline.into()).await;
    };
    let shown_message = redactor.redact(&message);
    if let Some((pattern, shown)) = &expected {
        if !pattern.matches(&message) {
            return Err(fail.msg(format!(
                "the dialog says \"{shown_message}\", expected ~\"{shown}\" (it is still open)"
            )));
        }
    }
    session
        .answer_dialog(accept, prompt.as_ref().map(|(v, _)| v.as_str()))
        .await
        .map_err(|e| fail.browser(e))?;
    let mut summary = format!("{summary}: \"{shown_message}\"");
    if let Some((_, shown)) = &prompt {
        summary.push_str(&format!(" answered \"{shown}\""));
    }
    Ok(StepOutcome {
        summary,
        artifacts: vec![],
        evidence: vec![Evidence::Dialog {
            message: shown_message,
            answer: if accept { "accepted" } else { "dismissed" }.to_owned(),
        }],
    })
}

async fn window(ctx: &mut StepContext<'_>, w: &WindowStep) -> StepResult {
    let fail_plain = Fail("window");
    let (url, title, close, timeout) = match w {
        WindowStep::Main(_) => (None, None, false, None),
        WindowStep::Options(o) => (
            o.url.as_ref(),
            o.title.as_ref(),
            o.close,
            o.timeout.as_ref(),
        ),
    };
    let url = match url {
        Some(u) => {
            let (v, shown) = ctx.render_shown(&u.value).map_err(|e| fail_plain.msg(e))?;
            Some((
                UrlPattern::parse(&u.value, &v).map_err(|e| fail_plain.msg(e))?,
                shown,
            ))
        }
        None => None,
    };
    let title = match title {
        Some(t) => {
            let (v, shown) = ctx.render_shown(&t.value).map_err(|e| fail_plain.msg(e))?;
            Some((
                TextPattern::from_rendered(&t.value, &v, false).map_err(|e| fail_plain.msg(e))?,
                shown,
            ))
        }
        None => None,
    };
    let limit = ctx.timeout(timeout);
    let base = ctx.base_url.to_owned();
    let redactor = ctx.redactor;
    let summary = if close {
        "close window".to_owned()
    } else if url.is_none() && title.is_none() {
        "window main".to_owned()
    } else {
        let mut parts = vec!["window".to_owned()];
        if let Some((_, u)) = &url {
            parts.push(format!("url {u}"));
        }
        if let Some((_, t)) = &title {
            parts.push(format!("title~\"{t}\""));
        }
        parts.join(" ")
    };
    let fail = Fail(&summary);
    let session = ctx.browser(&fail).await?;
    let main = session.main_window().await.map_err(|e| fail.browser(e))?;
    if close {
        let current = session
            .current_window()
            .await
            .map_err(|e| fail.browser(e))?;
        if current == main {
            return Err(fail.msg("this is the flow's main window; `window: { close: true }` closes a popup after switching to it"));
        }
        session.close_window().await.map_err(|e| fail.browser(e))?;
        session
            .switch_window(&main)
            .await
            .map_err(|e| fail.browser(e))?;
        return ok(summary);
    }
    if url.is_none() && title.is_none() {
        session
            .switch_window(&main)
            .await
            .map_err(|e| fail.browser(e))?;
        return ok(summary);
    }
    let deadline = Instant::now() + limit;
    let mut news = session.watch(Topic::Window);
    let mut seen: Vec<(String, String)>;
    loop {
        let handles = session
            .window_handles()
            .await
            .map_err(|e| fail.browser(e))?;
        seen = Vec::new();
        // Newest first: the popup the last step opened.
        for h in handles.iter().rev() {
            session
                .switch_window(h)
                .await
                .map_err(|e| fail.browser(e))?;
            let v = session
                .execute_value("return [location.href, document.title];", vec![])
                .await
                .map_err(|e| fail.browser(e))?;
            let href = v
                .get(0)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let t = v
                .get(1)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let url_ok = url.as_ref().is_none_or(|(p, _)| p.matches(&href, &base));
            let title_ok = title.as_ref().is_none_or(|(p, _)| p.matches(&t));
            if url_ok && title_ok {
                return ok(format!("{summary}: {}", redactor.redact(&href)));
            }
            seen.push((href, t));
        }
        session
            .switch_window(&main)
            .await
            .map_err(|e| fail.browser(e))?;
        if Instant::now() >= deadline {
            break;
        }
        news.next(deadline.into()).await;
    }
    let list: Vec<String> = seen
        .iter()
        .map(|(u, t)| format!("{} (title \"{t}\")", redactor.redact(u)))
        .collect();
    Err(fail.msg(format!(
        "no window matched within {}; open windows: {}",
        human(limit),
        list.join(", ")
    )))
}

async fn download(ctx: &mut StepContext<'_>, s: &DownloadStep) -> StepResult {
    let name_pattern = match &s.file_name {
        Some(n) => {
            let (v, shown) = ctx
                .render_shown(&n.value)
                .map_err(|e| Fail("download").msg(e))?;
            Some((
                TextPattern::from_rendered(&n.value, &v, false)
                    .map_err(|e| Fail("download").msg(e))?,
                shown,
            ))
        }
        None => None,
    };
    let dir = {
        let session = ctx.browser(&Fail("download")).await?;
        session.download_dir().map(Path::to_path_buf).ok_or_else(|| {
            Fail("download").msg("downloads are checked with a local browser only (a remote WebDriver server keeps its files)")
        })?
    };
    let before: std::collections::BTreeSet<PathBuf> = list_dir(&dir);
    // Watching starts before the click, so a download that ends at once is not missed.
    let mut news = ctx.browser(&Fail("download")).await?.watch(Topic::Download);
    let (_, _, summary) = act_verified(
        ctx,
        "act",
        &s.locator(),
        json!({}),
        s.timeout.as_ref(),
        "download",
        &Act::Click,
        None,
    )
    .await?;
    let fail = Fail(&summary);
    let limit = ctx.timeout(s.timeout.as_ref());
    let deadline = Instant::now() + limit;
    // Chrome writes a hidden temp file, then `NAME.crdownload`, and renames that to NAME when
    // done: wait for a new finished file.
    let in_progress = |p: &PathBuf| {
        p.extension().is_some_and(|e| e == "crdownload")
            || p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
    };
    let (mut ended, mut settle) = (false, EventWatch::polling());
    let file = loop {
        let now = list_dir(&dir);
        let partial = now.iter().any(in_progress);
        let fresh: Vec<&PathBuf> = now
            .iter()
            .filter(|p| !before.contains(*p) && !in_progress(p))
            .collect();
        if let (Some(f), false) = (fresh.first(), partial) {
            break (*f).clone();
        }
        if Instant::now() >= deadline {
            return Err(fail.msg(if partial {
                format!("the download did not finish within {}", human(limit))
            } else {
                format!("no download started within {} of the click", human(limit))
            }));
        }
        if partial && ended {
            // The browser says a download ended but its files are not settled yet.
            settle.next(deadline.into()).await;
        } else {
            ended |= news.next(deadline.into()).await;
        }
    };
    // The download dir belongs to the browser session: move the file out, so a later download
    // of the same name is seen as new.
    let bytes =
        std::fs::read(&file).map_err(|e| fail.msg(format!("cannot read the download: {e}")))?;
    let _ = std::fs::remove_file(&file);
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rel = PathBuf::from(ctx.flow_id())
        .join("downloads")
        .join(&file_name);
    let saved = ctx.output_dir.join(&rel);
    artifact::write_atomic(&saved, &bytes)
        .map_err(|e| fail.msg(format!("cannot keep the download: {e}")))?;
    let sha256 = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&bytes);
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let media_type = media_type_of(&bytes, &file_name);
    let size = bytes.len() as u64;
    let mut problems = Vec::new();
    if let Some((p, shown)) = &name_pattern {
        if !p.matches(&file_name) {
            problems.push(format!(
                "the file is named \"{file_name}\", expected ~\"{shown}\""
            ));
        }
    }
    if let Some(t) = &s.media_type {
        if !media_type.eq_ignore_ascii_case(t.value.trim()) {
            problems.push(format!(
                "its type is {media_type}, expected {}",
                t.value.trim()
            ));
        }
    }
    if let Some(want) = s.size {
        if size != want {
            problems.push(format!("it has {size} bytes, expected {want}"));
        }
    }
    if let Some(min) = s.min_size {
        if size < min {
            problems.push(format!("it has {size} bytes, expected at least {min}"));
        }
    }
    if let Some(want) = &s.sha256 {
        if !sha256.eq_ignore_ascii_case(want.value.trim()) {
            problems.push(format!(
                "its sha256 is {sha256}, expected {}",
                want.value.trim()
            ));
        }
    }
    let summary = format!("{summary}: {file_name} ({size} bytes, {media_type})");
    if !problems.is_empty() {
        return Err(Fail(&summary).msg(format!(
            "{} (kept as {})",
            problems.join("; "),
            rel.display()
        )));
    }
    if let Some(var) = &s.var {
        ctx.set_capture(&var.value, Resolved::plain(saved.display().to_string()));
    }
    Ok(StepOutcome {
        summary,
        artifacts: vec![Artifact {
            kind: ArtifactKind::Download,
            path: rel.clone(),
            bytes: size,
        }],
        evidence: vec![Evidence::Download {
            file_name,
            path: rel,
            bytes: size,
            media_type,
            sha256,
        }],
    })
}

/// A window's URL as `expect: { url }` reads it: a path (compared with path+query, or path),
/// a full URL, or `/regex/` against the full URL.
enum UrlPattern {
    Regex(TextPattern),
    Path(String),
    Full(String),
}

impl UrlPattern {
    /// `written` is the value as in the flow file (it alone decides whether it is a regex),
    /// `v` the rendered one.
    fn parse(written: &str, v: &str) -> Result<UrlPattern, String> {
        let p = TextPattern::from_rendered(written, v, true)?;
        Ok(match p {
            TextPattern::Regex { .. } => UrlPattern::Regex(p),
            _ if v.starts_with('/') => UrlPattern::Path(v.to_owned()),
            _ => UrlPattern::Full(v.to_owned()),
        })
    }

    fn matches(&self, href: &str, _base: &str) -> bool {
        match self {
            UrlPattern::Regex(p) => p.matches(href),
            UrlPattern::Path(want) => url::Url::parse(href).is_ok_and(|u| {
                let path = u.path();
                let with_query = match u.query() {
                    Some(q) => format!("{path}?{q}"),
                    None => path.to_owned(),
                };
                with_query == *want || path == want
            }),
            UrlPattern::Full(want) => href.trim_end_matches('/') == want.trim_end_matches('/'),
        }
    }
}

fn list_dir(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The media type of a download: sniffed from its first bytes, else from its extension.
fn media_type_of(bytes: &[u8], name: &str) -> String {
    if let Some(t) = infer::get(bytes) {
        return t.mime_type().to_owned();
    }
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => "text/csv",
        "txt" | "log" => "text/plain",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "md" => "text/markdown",
        "ics" => "text/calendar",
        _ if std::str::from_utf8(bytes).is_ok() => "text/plain",
        _ => "application/octet-stream",
    }
    .to_owned()
}

/// Resolves `after_step` (1-based) to a start time. By default: the most recent step before
/// this one that acts (a click, a fill, a goto, an http call…), skipping assertions, waits,
/// screenshots and captures, since those never trigger a mail or an event.
pub fn trigger_time(ctx: &StepContext<'_>, after_step: Option<u32>) -> (OffsetDateTime, Instant) {
    let idx = trigger_index(ctx, after_step);
    ctx.step_start
        .get(idx)
        .copied()
        .unwrap_or_else(|| (OffsetDateTime::now_utc(), Instant::now()))
}

/// The index (0-based, among the steps that run) of the step [`trigger_time`] measures from.
pub fn trigger_index(ctx: &StepContext<'_>, after_step: Option<u32>) -> usize {
    // `after_step: N` counts the steps as written (in a group: the group's); the plan resolved
    // it to an index among the steps that run.
    let resolved = ctx.flow.steps.get(ctx.index).and_then(|p| p.after);
    match (after_step, resolved) {
        (Some(_), Some(i)) => i,
        (Some(n), None) => (n as usize).saturating_sub(1),
        (None, _) => (0..ctx.index)
            .rev()
            .find(|&i| ctx.flow.steps[i].step.value.acts())
            .unwrap_or(0),
    }
}
