//! `guard` (paths closed when signed out, open for a user) and `forbidden` (the 403 contract).

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{conclude, get, no_redirect_client, redirect_target, status_text, Row};
use crate::exec::step::context::{Fail, StepContext, StepResult};
use crate::exec::step::http::json_matches;
use crate::flowfile::ast::{ForbiddenStep, GuardStep};
use crate::flowfile::text::TextPattern;

pub(in crate::exec::step) async fn guard(ctx: &mut StepContext<'_>, s: &GuardStep) -> StepResult {
    let summary = format!(
        "guard {} path{}",
        s.paths.len(),
        if s.paths.len() == 1 { "" } else { "s" }
    );
    let fail = Fail(&summary);
    let sign_in = match &s.sign_in {
        Some(p) => ctx.render_shown(&p.value).map_err(|e| fail.with(e))?.0,
        None => "/login".to_owned(),
    };
    let timeout = ctx.timeout(s.timeout.as_ref());
    let client = no_redirect_client(ctx, timeout);
    let cookie = match &s.as_user {
        Some(u) => Some(ctx.cookies_of(&u.value).await.map_err(|e| fail.with(e))?),
        None => None,
    };
    let closed = format!("a redirect to {sign_in}, or 401/403");
    let mut rows = Vec::new();
    let mut asked = String::new();
    for p in &s.paths {
        let (url, shown) = ctx.render_shown(&p.value).map_err(|e| fail.with(e))?;
        let url = ctx.resolve_url(&url, false);
        asked.push_str(&format!("GET {shown} (signed out)\n"));
        let resp = get(ctx, &client, &url, None, HeaderMap::new(), timeout, &fail).await?;
        let status = resp.status().as_u16();
        let to_sign_in = redirect_target(&resp).is_some_and(|to| leads_to(&to, &sign_in));
        rows.push(Row::new(
            format!("GET {shown} signed out"),
            closed.clone(),
            status_text(&resp),
            matches!(status, 401 | 403) || to_sign_in,
        ));
        if let (Some(cookie), Some(user)) = (&cookie, &s.as_user) {
            asked.push_str(&format!("GET {shown} (as {})\n", user.value));
            let resp = get(
                ctx,
                &client,
                &url,
                Some(cookie),
                HeaderMap::new(),
                timeout,
                &fail,
            )
            .await?;
            rows.push(Row::new(
                format!("GET {shown} as {}", user.value),
                "2xx (open)",
                status_text(&resp),
                resp.status().is_success(),
            ));
        }
    }
    conclude(ctx, "guard", &fail, summary.clone(), asked, rows, vec![])
}

/// Whether a redirect target is the sign-in page: the same path or one below it
/// (`/login?next=/inbox`, `/login/code`), or a full URL whose path is.
fn leads_to(target: &str, sign_in: &str) -> bool {
    let path = url::Url::parse(target)
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| target.split(['?', '#']).next().unwrap_or("").to_owned());
    let want = url::Url::parse(sign_in)
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| sign_in.to_owned());
    let want = want.trim_end_matches('/');
    path == want || path.starts_with(&format!("{want}/")) || (want.is_empty() && path == "/")
}

pub(in crate::exec::step) async fn forbidden(
    ctx: &mut StepContext<'_>,
    s: &ForbiddenStep,
) -> StepResult {
    let (url, shown) = ctx
        .render_shown(&s.path.value)
        .map_err(|e| Fail("forbidden").with(e))?;
    let user = s.as_user.value.clone();
    let summary = format!("forbidden {shown} as {user}");
    let fail = Fail(&summary);
    let url = ctx.resolve_url(&url, false);
    let want = s.status.unwrap_or(403);
    let timeout = ctx.timeout(s.timeout.as_ref());
    let client = no_redirect_client(ctx, timeout);
    let cookie = ctx.cookies_of(&user).await.map_err(|e| fail.with(e))?;
    let mut headers = HeaderMap::new();
    let mut asked = format!("GET {shown} (as {user})\n");
    for (k, v) in &s.headers {
        let (value, shown_value) = ctx.render_shown(&v.value).map_err(|e| fail.with(e))?;
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| fail.input(format!("`{k}` is not a valid header name")))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| fail.input(format!("the value of header `{k}` is not valid")))?;
        headers.insert(name, value);
        asked.push_str(&format!("{k}: {shown_value}\n"));
    }
    let resp = get(ctx, &client, &url, Some(&cookie), headers, timeout, &fail).await?;
    let status = resp.status().as_u16();
    let mut status_seen = status_text(&resp);
    if resp.status().is_redirection() {
        status_seen.push_str(" (a redirect, not a refusal: is the user signed in?)");
    }
    let mut rows = vec![Row::new(
        format!("GET {shown} as {user}: status"),
        want.to_string(),
        status_seen,
        status == want,
    )];
    let body = resp.text().await.unwrap_or_default();
    if let Some(b) = &s.body {
        let (rendered, _) = ctx.render_shown(&b.value).map_err(|e| fail.with(e))?;
        let pattern =
            TextPattern::from_rendered_raw(&b.value, &rendered).map_err(|e| fail.input(e))?;
        rows.push(Row::new(
            "body",
            format!("contains {pattern}"),
            snippet(&body),
            pattern.matches_raw(&body),
        ));
    }
    if !s.json.is_empty() {
        let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        for (pointer, written) in &s.json {
            let want = ctx.render_json(written).map_err(|e| fail.with(e))?;
            let got = json.as_ref().and_then(|j| j.pointer(pointer));
            let actual = match (&json, got) {
                (None, _) => format!("not JSON: {}", snippet(&body)),
                (Some(_), None) => "nothing".to_owned(),
                (Some(_), Some(g)) => g.to_string(),
            };
            rows.push(Row::new(
                format!("body {pointer}"),
                want.to_string(),
                actual,
                json_matches(written, &want, got),
            ));
        }
    }
    conclude(
        ctx,
        "forbidden",
        &fail,
        summary.clone(),
        asked,
        rows,
        vec![],
    )
}

/// The first 200 characters of a body, on one line.
fn snippet(body: &str) -> String {
    let t: String = body.chars().take(200).collect();
    t.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::leads_to;

    #[test]
    fn a_redirect_leads_to_sign_in_by_path_not_by_prefix_of_a_word() {
        assert!(leads_to("/login", "/login"));
        assert!(leads_to("/login?next=%2Finbox", "/login"));
        assert!(leads_to("/login/code", "/login"));
        assert!(leads_to("https://sso.example/login", "/login"));
        assert!(!leads_to("/loginx", "/login"));
        assert!(!leads_to("/dashboard", "/login"));
    }
}
