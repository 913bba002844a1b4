//! The page and its windows: `goto`, `dialog`, `window` (switch, close, URL patterns).

use std::time::Instant;

use serde_json::Value;

use super::context::*;
use crate::events::Evidence;
use crate::exec::bidi::Topic;
use crate::exec::browser::BrowserSession;
use crate::flowfile::ast::*;
use crate::flowfile::span::Sp;
use crate::flowfile::text::TextPattern;

pub(super) async fn goto(ctx: &mut StepContext<'_>, url: &Sp<String>) -> StepResult {
    let (value, shown) = ctx
        .render_shown(&url.value)
        .map_err(|e| Fail("goto").with(e))?;
    let target = ctx.resolve_url(&value, false);
    let shown_target = ctx.resolve_url(&shown, false);
    let summary = format!("goto {shown_target}");
    let fail = Fail(&summary);
    let nav_timeout = ctx.config.timeouts.navigation;
    let session = ctx.browser(&fail).await?;
    match tokio::time::timeout(nav_timeout, session.goto(&target)).await {
        Ok(Ok(())) => ok(summary),
        Ok(Err(e)) => Err(fail.browser(e)),
        Err(_) => Err(fail.timeout(format!(
            "the page did not load within {}",
            crate::human::duration(nav_timeout)
        ))),
    }
}

pub(super) async fn dialog(ctx: &mut StepContext<'_>, s: &DialogStep) -> StepResult {
    let accept = s.action.unwrap_or_default() == DialogAction::Accept;
    let expected = match &s.text {
        Some(t) => {
            let (v, shown) = ctx
                .render_shown(&t.value)
                .map_err(|e| Fail("dialog").with(e))?;
            Some((
                TextPattern::from_rendered(&t.value, &v, false)
                    .map_err(|e| Fail("dialog").input(e))?,
                shown,
            ))
        }
        None => None,
    };
    let prompt = match &s.prompt {
        Some(p) => Some(
            ctx.render_shown(&p.value)
                .map_err(|e| Fail("dialog").with(e))?,
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
            return Err(fail.timeout(format!(
                "no dialog opened within {}; a dialog step answers the alert/confirm/prompt that the step before it opened",
                crate::human::duration(limit)
            )));
        }
        news.next(deadline.into()).await;
    };
    let shown_message = redactor.redact(&message);
    if let Some((pattern, shown)) = &expected {
        if !pattern.matches(&message) {
            return Err(fail.mismatch(format!(
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

pub(super) async fn window(ctx: &mut StepContext<'_>, w: &WindowStep) -> StepResult {
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
            let (v, shown) = ctx.render_shown(&u.value).map_err(|e| fail_plain.with(e))?;
            Some((
                UrlPattern::parse(&u.value, &v).map_err(|e| fail_plain.input(e))?,
                shown,
            ))
        }
        None => None,
    };
    let title = match title {
        Some(t) => {
            let (v, shown) = ctx.render_shown(&t.value).map_err(|e| fail_plain.with(e))?;
            Some((
                TextPattern::from_rendered(&t.value, &v, false).map_err(|e| fail_plain.input(e))?,
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
        close_popup(session, &main, &fail).await?;
        return ok(summary);
    }
    if url.is_none() && title.is_none() {
        session
            .switch_window(&main)
            .await
            .map_err(|e| fail.browser(e))?;
        return ok(summary);
    }
    let matches = |href: &str, t: &str| {
        url.as_ref().is_none_or(|(p, _)| p.matches(href, &base))
            && title.as_ref().is_none_or(|(p, _)| p.matches(t))
    };
    let href = switch_to_match(session, &main, &matches, limit, redactor, &fail).await?;
    ok(format!("{summary}: {}", redactor.redact(&href)))
}

/// Closes the current window, a popup, and goes back to the flow's main window.
async fn close_popup(
    session: &BrowserSession,
    main: &str,
    fail: &Fail<'_>,
) -> Result<(), StepFailure> {
    let current = session
        .current_window()
        .await
        .map_err(|e| fail.browser(e))?;
    if current == main {
        return Err(fail.input("this is the flow's main window; `window: { close: true }` closes a popup after switching to it"));
    }
    session.close_window().await.map_err(|e| fail.browser(e))?;
    session
        .switch_window(main)
        .await
        .map_err(|e| fail.browser(e))
}

/// Switches to the newest window whose URL and title match, waiting for one to open until
/// `limit`; its URL. Failing, it lists the windows it saw and stays in the main window.
async fn switch_to_match(
    session: &BrowserSession,
    main: &str,
    matches: &dyn Fn(&str, &str) -> bool,
    limit: std::time::Duration,
    redactor: &crate::redact::Redactor,
    fail: &Fail<'_>,
) -> Result<String, StepFailure> {
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
            let text = |i: usize| {
                v.get(i)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let (href, title) = (text(0), text(1));
            if matches(&href, &title) {
                return Ok(href);
            }
            seen.push((href, title));
        }
        session
            .switch_window(main)
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
    Err(fail.timeout(format!(
        "no window matched within {}; open windows: {}",
        crate::human::duration(limit),
        list.join(", ")
    )))
}

/// A window's URL as `expect: { url }` reads it: a path (compared with path+query, or path),
/// a full URL, or `/regex/` against the full URL.
pub(super) enum UrlPattern {
    Regex(TextPattern),
    Path(String),
    Full(String),
}

impl UrlPattern {
    /// `written` is the value as in the flow file (it alone decides whether it is a regex),
    /// `v` the rendered one.
    pub(super) fn parse(written: &str, v: &str) -> Result<UrlPattern, String> {
        let p = TextPattern::from_rendered(written, v, true)?;
        Ok(match p {
            TextPattern::Regex { .. } => UrlPattern::Regex(p),
            _ if v.starts_with('/') => UrlPattern::Path(v.to_owned()),
            _ => UrlPattern::Full(v.to_owned()),
        })
    }

    pub(super) fn matches(&self, href: &str, _base: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::UrlPattern;

    fn pattern(written: &str) -> UrlPattern {
        UrlPattern::parse(written, written).unwrap_or_else(|e| panic!("{written}: {e}"))
    }

    #[test]
    fn a_path_matches_the_path_with_or_without_its_query() {
        let p = pattern("/tickets/42");
        assert!(p.matches("https://app.test/tickets/42", ""));
        assert!(p.matches("https://app.test/tickets/42?tab=notes", ""));
        assert!(!p.matches("https://app.test/tickets/420", ""));
        assert!(!p.matches("https://app.test/x/tickets/42", ""));
        let q = pattern("/search?q=printer");
        assert!(q.matches("https://app.test/search?q=printer", ""));
        assert!(!q.matches("https://app.test/search?q=scanner", ""));
    }

    #[test]
    fn a_full_url_matches_whole_ignoring_a_trailing_slash() {
        let p = pattern("https://docs.test/guide");
        assert!(p.matches("https://docs.test/guide/", ""));
        assert!(!p.matches("https://docs.test/guide/intro", ""));
        assert!(!p.matches("http://docs.test/guide", ""));
    }

    #[test]
    fn a_regex_only_when_written_as_one() {
        let p = pattern("/\\/tickets\\/\\d+$/");
        assert!(p.matches("https://app.test/tickets/7", ""));
        assert!(!p.matches("https://app.test/tickets/new", ""));
        // A variable's value that looks like a regex is a path, its dots are dots.
        let v = UrlPattern::parse("{{ next }}", "/a.b/").expect("a path");
        assert!(v.matches("https://app.test/a.b/", ""));
        assert!(!v.matches("https://app.test/aXb/", ""));
    }
}
