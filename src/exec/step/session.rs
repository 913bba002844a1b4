//! A step's access to the browser: its user's session (opened on first use, restored from a
//! saved session), page-script round trips counted and timed, variables rendered for it.

use std::time::Duration;

use serde_json::{json, Value};

use super::context::*;
use super::error::StepError;
use crate::config::Config;
use crate::events::RunEventKind;
use crate::exec::browser::{BrowserError, BrowserSession, Driver};
use crate::flowfile::ast::*;
use crate::flowfile::duration::parse_duration;
use crate::flowfile::span::Sp;
use crate::flowfile::template::Resolved;
use crate::flowfile::text::TextPattern;

impl StepContext<'_> {
    pub(super) fn flow_id(&self) -> &str {
        &self.flow.ast.id.value
    }

    /// Renders, and returns (value, text safe to show).
    pub(crate) fn render_shown(&self, text: &str) -> Result<(String, String), StepError> {
        let r = self
            .vars
            .render(text, self.flow_id(), &self.flow.needs_closure, self.user)
            .map_err(StepError::Input)?;
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
    pub(crate) fn render_json(&self, v: &Value) -> Result<Value, StepError> {
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
                    .collect::<Result<_, StepError>>()?,
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
    pub(crate) async fn cookies_of(&mut self, user: &str) -> Result<String, StepError> {
        if !self.sessions.contains_key(user) && self.restore.contains_key(user) {
            // A saved session stands in for the login flow that did not run: open it now.
            self.session_for(user).await?;
        }
        let session = self.sessions.get(user).ok_or_else(|| {
            StepError::Input(format!("user `{user}` has no browser session yet; a browser step (e.g. a login flow in `needs`) must run as `{user}` first"))
        })?;
        let header = session.cookie_header().await?;
        for pair in header.split("; ") {
            if let Some((_, value)) = pair.split_once('=') {
                self.redactor.add(value);
            }
        }
        Ok(header)
    }

    /// The browser session of `user`, opened (and the driver started) on first use.
    pub(super) async fn session_for(
        &mut self,
        user: &str,
    ) -> Result<&BrowserSession, BrowserError> {
        if !self.sessions.contains_key(user) {
            if self.driver.is_none() {
                *self.driver = Some(
                    Driver::start(
                        &self.config.browser,
                        &self
                            .logs_dir
                            .join(format!("{}.log", self.config.browser.name.driver())),
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
            self.measured.events.push(session.started_event());
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
                    crate::exec::saved_state::restore_into(&session, &saved, self.base_url).await
                {
                    session.close().await;
                    return Err(BrowserError::Session(format!(
                        "could not start {user}'s browser from the saved session: {e}; run \
                         without --no-deps to log in again"
                    )));
                }
                self.measured.events.push(RunEventKind::Notice {
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

    pub(super) async fn browser(
        &mut self,
        fail: &Fail<'_>,
    ) -> Result<&BrowserSession, StepFailure> {
        let Some(user) = self.actor.clone() else {
            return Err(fail.input("this flow has no `user`, so it has no browser session"));
        };
        self.session_for(&user).await.map_err(|e| fail.browser(e))
    }

    /// Turns a locator into the JSON spec page.js understands, rendering variables.
    pub(super) fn locator_spec(&self, loc: &Locator) -> Result<(Value, String), StepError> {
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
    pub(super) fn pattern(
        &self,
        s: &Sp<String>,
        exact: bool,
    ) -> Result<(Value, String), StepError> {
        let (value, redacted) = self.render_shown(&s.value)?;
        let p = TextPattern::from_rendered(&s.value, &value, exact).map_err(StepError::Input)?;
        let shown = TextPattern::from_rendered(&s.value, &redacted, exact)
            .map(|p| p.to_string())
            .unwrap_or(redacted);
        Ok((p.to_js(), shown))
    }

    /// The locator's filters (`has_text`, `has`, states…) into `spec`.
    pub(super) fn filter_spec(
        &self,
        loc: &Locator,
        spec: &mut serde_json::Map<String, Value>,
        shown: &mut Vec<String>,
    ) -> Result<(), StepError> {
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

/// Opens a user's browser session as every flow expects it: signed in to a basic-auth site,
/// and keeping console and network events when the run is traced.
pub(crate) async fn open_user_session(
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
