//! How each step kind runs. One function per kind; `run_step` dispatches.
//!
//! Adding a step kind: its AST struct (flowfile/ast.rs), its checks (flowfile/check.rs), and a
//! function here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::browser::{BrowserError, BrowserSession, Driver, PageResult};
use super::vars::Vars;
use crate::artifact;
use crate::config::Config;
use crate::events::{Artifact, ArtifactKind, Evidence, RunEventKind};
use crate::flowfile::ast::*;
use crate::flowfile::check::CheckedFlow;
use crate::flowfile::duration::parse_duration;
use crate::flowfile::span::Sp;
use crate::flowfile::template::Resolved;
use crate::flowfile::text::TextPattern;
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
    /// Users whose browser session starts from a saved session (`--no-deps`), taken on use.
    pub restore: &'a mut HashMap<String, crate::state::SavedSession>,
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

    pub(crate) fn set_capture(&mut self, var: &str, value: Resolved) {
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
            let session =
                BrowserSession::open(driver, own.as_ref().unwrap_or(&self.config.browser), user)
                    .await?;
            if let Some(auth) = &self.config.basic_auth {
                if let Err(e) = session.sign_in_basic_auth(self.base_url, auth).await {
                    session.close().await;
                    return Err(e);
                }
            }
            self.events.push(RunEventKind::BrowserStarted {
                user: user.to_owned(),
                browser: session.browser_name.clone(),
                version: session.browser_version.clone(),
                bidi: false,
            });
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
        let pattern = |s: &Sp<String>, exact: bool| -> Result<(Value, String), String> {
            let (value, redacted) = self.render_shown(&s.value)?;
            let p = TextPattern::parse(&value, exact)?;
            let shown = TextPattern::parse(&redacted, exact)
                .map(|p| p.to_string())
                .unwrap_or(redacted);
            Ok((p.to_js(), shown))
        };
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
        if let Some(n) = loc.nth {
            spec.insert("nth".into(), json!(n));
            shown.push(format!("nth={n}"));
        }
        Ok((Value::Object(spec), shown.join(" ")))
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

/// The `as:` of a browser step, if it has one.
pub fn acting_user(step: &Step) -> Option<&Sp<String>> {
    match step {
        Step::Goto(g) => g.as_user(),
        Step::Click(s) => s.as_user.as_ref(),
        Step::Fill(s) => s.as_user.as_ref(),
        Step::Select(s) => s.as_user.as_ref(),
        Step::Check(s) => s.as_user.as_ref(),
        Step::Upload(s) => s.as_user.as_ref(),
        Step::Press(s) => s.as_user.as_ref(),
        Step::Expect(s) => s.as_user.as_ref(),
        Step::WaitFor(s) => s.as_user.as_ref(),
        Step::Capture(s) => s.as_user.as_ref(),
        Step::Screenshot(_)
        | Step::Http(_)
        | Step::Mail(_)
        | Step::Subscribe(_)
        | Step::ExpectEvent(_) => None,
    }
}

pub async fn run_step(ctx: &mut StepContext<'_>, step: &Step) -> StepResult {
    ctx.actor = acting_user(step)
        .map(|u| u.value.clone())
        .or_else(|| ctx.user.map(str::to_owned));
    let actor = ctx.actor.clone();
    let before = actor
        .as_deref()
        .and_then(|u| ctx.sessions.get(u))
        .map(BrowserSession::round_trips);
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
        Step::Subscribe(s) => super::realtime_step::subscribe(ctx, s).await,
        Step::ExpectEvent(s) => super::realtime_step::expect_event(ctx, s).await,
    };
    let after = actor
        .as_deref()
        .and_then(|u| ctx.sessions.get(u))
        .map(BrowserSession::round_trips);
    ctx.round_trips += match (before, after) {
        (Some(b), Some(a)) => a.saturating_sub(b),
        (None, Some(a)) => a,
        _ => 0,
    };
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

/// Locates an actionable element (op: act/fill/focus) and returns its page result.
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
    let fail = Fail(&summary);
    let limit = ctx.timeout(timeout);
    let deadline = Instant::now() + limit;
    let mut request = json!({"op": op, "locator": spec});
    if let (Value::Object(req), Value::Object(extra)) = (&mut request, extra) {
        req.extend(extra);
    }
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
    Ok((r, summary))
}

fn point(r: &PageResult) -> Option<(f64, f64)> {
    Some((r.value.get("x")?.as_f64()?, r.value.get("y")?.as_f64()?))
}

async fn click(
    ctx: &mut StepContext<'_>,
    loc: &Locator,
    timeout: Option<&Sp<DurationText>>,
) -> StepResult {
    let (r, summary) = actionable(ctx, "act", loc, json!({}), timeout, "click").await?;
    let fail = Fail(&summary);
    let (x, y) = point(&r).ok_or_else(|| fail.msg("the page returned no click point"))?;
    let session = ctx.browser(&fail).await?;
    session
        .click_at(x, y, 1)
        .await
        .map_err(|e| fail.browser(e))?;
    ok(summary)
}

async fn fill(ctx: &mut StepContext<'_>, s: &FillStep) -> StepResult {
    let (value, shown_value) = ctx
        .render_shown(&s.value.value)
        .map_err(|e| Fail("fill").msg(e))?;
    if value.is_empty() {
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
    let (_, summary) = actionable(
        ctx,
        "fill",
        &s.locator(),
        json!({}),
        s.timeout.as_ref(),
        "fill",
    )
    .await?;
    let summary = format!("{summary} with \"{shown_value}\"");
    let fail = Fail(&summary);
    let session = ctx.browser(&fail).await?;
    session
        .insert_text(&value)
        .await
        .map_err(|e| fail.browser(e))?;
    ok(summary)
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

async fn check(ctx: &mut StepContext<'_>, s: &CheckStep) -> StepResult {
    let want = s.checked.unwrap_or(true);
    let verb = if want { "check" } else { "uncheck" };
    let (r, summary) = actionable(
        ctx,
        "act",
        &s.locator(),
        json!({}),
        s.timeout.as_ref(),
        verb,
    )
    .await?;
    let fail = Fail(&summary);
    let element = r.value.get("element").cloned().unwrap_or(Value::Null);
    let session = ctx.browser(&fail).await?;
    let is_checked = session
        .execute_value("return !!arguments[0].checked;", vec![element.clone()])
        .await
        .map_err(|e| fail.browser(e))?;
    if is_checked.as_bool() != Some(want) {
        let (x, y) = point(&r).ok_or_else(|| fail.msg("the page returned no click point"))?;
        session
            .click_at(x, y, 1)
            .await
            .map_err(|e| fail.browser(e))?;
        let now = session
            .execute_value("return !!arguments[0].checked;", vec![element])
            .await
            .map_err(|e| fail.browser(e))?;
        if now.as_bool() != Some(want) {
            return Err(fail.msg(format!(
                "clicked, but the element is still {}",
                if want { "unchecked" } else { "checked" }
            )));
        }
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
    let pattern =
        |ctx: &StepContext<'_>, v: &Sp<String>, exact: bool| -> Result<(Value, String), String> {
            let (value, redacted) = ctx.render_shown(&v.value)?;
            let p = TextPattern::parse(&value, exact)?;
            let shown = TextPattern::parse(&redacted, exact)
                .map(|p| p.to_string())
                .unwrap_or(redacted);
            Ok((p.to_js(), shown))
        };
    let mut assert = serde_json::Map::new();
    let mut what;
    if let Some(url) = &s.url {
        let (value, shown) = ctx
            .render_shown(&url.value)
            .map_err(|e| Fail("expect").msg(e))?;
        let p = if value.starts_with('/')
            && value.len() > 1
            && value.rfind('/').is_some_and(|i| i > 0)
            && TextPattern::parse(&value, false)
                .is_ok_and(|p| matches!(p, TextPattern::Regex { .. }))
        {
            TextPattern::parse(&value, false)
                .map_err(|e| Fail("expect").msg(e))?
                .to_js()
        } else {
            json!({"kind": "exact", "value": value})
        };
        assert.insert("url".into(), p);
        what = format!("url {shown}");
    } else if let Some(title) = &s.title {
        let (v, shown) =
            pattern(ctx, title, s.exact.unwrap_or(false)).map_err(|e| Fail("expect").msg(e))?;
        assert.insert("title".into(), v);
        what = format!("title{shown}");
    } else {
        what = String::new();
    }
    let loc = s.locator();
    let has_locator = what.is_empty();
    let mut spec = Value::Null;
    if has_locator {
        let (sp, shown) = ctx.locator_spec(&loc).map_err(|e| Fail("expect").msg(e))?;
        spec = sp;
        what = shown;
        if let Some(n) = s.count {
            assert.insert("count".into(), json!(n));
            what = format!("{what} count={n}");
        } else if s.hidden == Some(true) || s.visible == Some(false) {
            assert.insert("hidden".into(), json!(true));
            what = format!("{what} hidden");
        } else if let Some(t) = &s.has_text {
            let (v, shown) = pattern(ctx, t, false).map_err(|e| Fail("expect").msg(e))?;
            assert.insert("has_text".into(), v);
            what = format!("{what} has_text{shown}");
        } else if let Some(t) = &s.has_value {
            let (v, shown) = pattern(ctx, t, false).map_err(|e| Fail("expect").msg(e))?;
            assert.insert("has_value".into(), v);
            what = format!("{what} has_value{shown}");
        } else {
            what = format!("{what} visible");
        }
    }
    let request = json!({"op": "expect", "locator": spec, "assert": assert});
    await_in_page(
        ctx,
        format!("expect {what}"),
        request,
        s.timeout.as_ref(),
        "expectation",
    )
    .await
}

/// Runs an in-page wait (`expect`, `wait_for`) to its deadline and turns the result into the
/// step's outcome.
async fn await_in_page(
    ctx: &mut StepContext<'_>,
    summary: String,
    request: Value,
    timeout: Option<&Sp<DurationText>>,
    what: &str,
) -> StepResult {
    let fail = Fail(&summary);
    let limit = ctx.timeout(timeout);
    let session = ctx.browser(&fail).await?;
    let r = wait_in_page(session, request, Instant::now() + limit)
        .await
        .map_err(|e| fail.browser(e))?;
    if r.ok {
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
    let state = match s.state.unwrap_or(ElementState::Visible) {
        ElementState::Visible => "visible",
        ElementState::Hidden => "hidden",
        ElementState::Attached => "attached",
        ElementState::Detached => "detached",
    };
    let (spec, shown) = ctx
        .locator_spec(&s.locator())
        .map_err(|e| Fail("wait_for").msg(e))?;
    let request = json!({"op": "wait", "state": state, "locator": spec});
    let what = format!("state {state}");
    await_in_page(
        ctx,
        format!("wait_for {shown} {state}"),
        request,
        s.timeout.as_ref(),
        &what,
    )
    .await
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
                let shown = if s.secret {
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
    if s.secret {
        ctx.redactor.add(&value);
    }
    let shown = if s.secret {
        "[redacted]".to_owned()
    } else {
        value.clone()
    };
    ctx.vars.set_capture(
        &ctx.flow.ast.id.value,
        &var,
        Resolved {
            value,
            secret: s.secret,
        },
    );
    ok(format!("{summary} = \"{shown}\""))
}

/// Resolves `after_step` (1-based) to a start time. By default: the most recent step before
/// this one that acts (a click, a fill, a goto, an http call…), skipping assertions, waits,
/// screenshots and captures, since those never trigger a mail or an event.
pub fn trigger_time(ctx: &StepContext<'_>, after_step: Option<u32>) -> (OffsetDateTime, Instant) {
    let idx = match after_step {
        Some(n) => (n as usize).saturating_sub(1),
        None => (0..ctx.index)
            .rev()
            .find(|&i| {
                !matches!(
                    ctx.flow.ast.steps[i].value,
                    Step::Expect(_)
                        | Step::WaitFor(_)
                        | Step::Screenshot(_)
                        | Step::Capture(_)
                        | Step::Mail(_)
                        | Step::Subscribe(_)
                        | Step::ExpectEvent(_)
                )
            })
            .unwrap_or(0),
    };
    ctx.step_start
        .get(idx)
        .copied()
        .unwrap_or_else(|| (OffsetDateTime::now_utc(), Instant::now()))
}
