//! The `http` step: a request with expectations, optionally carrying a user's browser cookies.

use std::time::Instant;

use serde_json::Value;

use super::context::{human, StepContext, StepFailure, StepOutcome};
use crate::events::Evidence;
use crate::flowfile::ast::HttpStep;
use crate::flowfile::template::Resolved;
use crate::flowfile::text::TextPattern;

fn fail(summary: &str, message: impl Into<String>) -> StepFailure {
    StepFailure {
        summary: summary.to_owned(),
        message: message.into(),
        infrastructure: false,
    }
}

pub async fn run(ctx: &mut StepContext<'_>, s: &HttpStep) -> Result<StepOutcome, StepFailure> {
    let method_text = s
        .method
        .as_ref()
        .map(|m| m.value.to_ascii_uppercase())
        .unwrap_or_else(|| "GET".into());
    let (url, shown_url) = ctx
        .render_shown(&s.url.value)
        .map_err(|e| fail("http", e))?;
    let url = ctx.resolve_url(&url, true);
    let shown_url = ctx.resolve_url(&shown_url, true);
    let summary = format!("http {method_text} {shown_url}");
    let method = reqwest::Method::from_bytes(method_text.as_bytes())
        .map_err(|_| fail(&summary, format!("unknown method {method_text}")))?;
    let mut request_text = format!("{method_text} {shown_url}\n");
    let mut req = ctx
        .http
        .request(method, &url)
        .timeout(ctx.timeout(s.timeout.as_ref()));
    // The step's own headers replace the client's (an `Authorization` of the flow wins over
    // the target's basic auth).
    let mut own = reqwest::header::HeaderMap::new();
    for (k, v) in &s.headers {
        let (value, shown) = ctx.render_shown(&v.value).map_err(|e| fail(&summary, e))?;
        request_text.push_str(&format!("{k}: {shown}\n"));
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| fail(&summary, format!("`{k}` is not a valid header name")))?;
        let value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
            fail(
                &summary,
                format!("the value of header `{k}` is not a valid header value"),
            )
        })?;
        own.append(name, value);
    }
    req = req.headers(own);
    if let Some(user) = &s.as_user {
        let cookies = ctx
            .cookies_of(&user.value)
            .await
            .map_err(|e| fail(&summary, e))?;
        for c in cookies.split("; ") {
            if let Some((_, v)) = c.split_once('=') {
                ctx.redactor.add(v);
            }
        }
        req = req.header("Cookie", cookies);
        request_text.push_str(&format!(
            "Cookie: [redacted] (the browser session of {})\n",
            user.value
        ));
    }
    if let Some(json) = &s.json {
        let body = ctx.render_json(json).map_err(|e| fail(&summary, e))?;
        request_text.push_str(&format!("\n{}", ctx.redactor.redact(&body.to_string())));
        req = req.json(&body);
    } else if !s.form.is_empty() {
        let mut pairs = Vec::new();
        for (k, v) in &s.form {
            let (value, _) = ctx.render_shown(&v.value).map_err(|e| fail(&summary, e))?;
            pairs.push((k.clone(), value));
        }
        req = req.form(&pairs);
    } else if let Some(body) = &s.body {
        let (value, _) = ctx
            .render_shown(&body.value)
            .map_err(|e| fail(&summary, e))?;
        req = req.body(value);
    }
    let started = Instant::now();
    let resp = req.send().await.map_err(|e| {
        fail(
            &summary,
            if e.is_timeout() {
                format!(
                    "no response within {}",
                    human(ctx.timeout(s.timeout.as_ref()))
                )
            } else {
                format!(
                    "request failed: {}",
                    ctx.redactor.redact(&crate::net::describe_error(&url, &e))
                )
            },
        )
    })?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let duration_ms = started.elapsed().as_millis() as u64;
    register_secret_captures(ctx, s, &text);
    let mut response_text = format!("{}\n", status.as_u16());
    for (k, v) in &headers {
        let v = if k.as_str().eq_ignore_ascii_case("set-cookie") {
            "[redacted]"
        } else {
            v.to_str().unwrap_or("…")
        };
        response_text.push_str(&format!("{k}: {v}\n"));
    }
    let body_shown: String = text.chars().take(4096).collect();
    response_text.push_str(&format!("\n{}", ctx.redactor.redact(&body_shown)));
    ctx.measured.exchange = Some(crate::events::Exchange {
        request: ctx.redactor.redact(&request_text),
        response: response_text,
    });
    let evidence = Evidence::Http {
        method: method_text.clone(),
        url: ctx.redactor.redact(&shown_url),
        status: status.as_u16(),
        duration_ms,
    };
    let snippet = || {
        let t = ctx.redactor.redact(&text);
        let t: String = t.chars().take(300).collect();
        t.replace('\n', " ")
    };
    let expect = s.expect.clone().unwrap_or_default();
    match expect.status {
        Some(want) if status.as_u16() != want => {
            return Err(fail(
                &summary,
                format!(
                    "status {} (expected {want}); body: {}",
                    status.as_u16(),
                    snippet()
                ),
            ));
        }
        None if !status.is_success() => {
            return Err(fail(
                &summary,
                format!(
                    "status {} (expected 2xx); body: {}",
                    status.as_u16(),
                    snippet()
                ),
            ));
        }
        _ => {}
    }
    for (name, want) in &expect.headers {
        let (rendered, _) = ctx
            .render_shown(&want.value)
            .map_err(|e| fail(&summary, e))?;
        // Only the flow's own text can make it a regex, never a variable's value.
        let pattern = TextPattern::from_rendered(&want.value, &rendered, false)
            .map_err(|e| fail(&summary, e))?;
        let got = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
        match got {
            Some(g) if pattern.matches(g) => {}
            Some(g) => {
                return Err(fail(
                    &summary,
                    format!("header {name} is \"{g}\", expected {pattern}"),
                ))
            }
            None => return Err(fail(&summary, format!("header {name} is missing"))),
        }
    }
    if let Some(b) = &expect.body {
        // A body is matched as received: no whitespace collapsed, nothing trimmed.
        let (rendered, _) = ctx.render_shown(&b.value).map_err(|e| fail(&summary, e))?;
        let pattern =
            TextPattern::from_rendered_raw(&b.value, &rendered).map_err(|e| fail(&summary, e))?;
        if !pattern.matches_raw(&text) {
            return Err(fail(
                &summary,
                format!("body does not match {pattern}: {}", snippet()),
            ));
        }
    }
    let needs_json = !expect.json.is_empty() || !s.capture.is_empty();
    let json: Value = if needs_json {
        serde_json::from_str(&text).map_err(|e| {
            fail(
                &summary,
                format!("the response is not JSON ({e}): {}", snippet()),
            )
        })?
    } else {
        Value::Null
    };
    for (pointer, written) in &expect.json {
        let want = ctx.render_json(written).map_err(|e| fail(&summary, e))?;
        let got = json.pointer(pointer);
        // A regex only when the flow wrote `/…/`, never because of a variable's value.
        let regex = |w: &str| match written {
            Value::String(text) => match TextPattern::from_rendered(text, w, true) {
                Ok(p @ TextPattern::Regex { .. }) => Some(p),
                _ => None,
            },
            _ => None,
        };
        let matches = match (&want, got) {
            (Value::String(w), Some(Value::String(g))) => match regex(w) {
                Some(p) => p.matches(g),
                None => w == g,
            },
            // A regex may test a number or boolean by its JSON text (`/^[1-9]/` for a count).
            (Value::String(w), Some(g @ (Value::Number(_) | Value::Bool(_)))) => {
                regex(w).is_some_and(|p| p.matches(&g.to_string()))
            }
            (w, Some(g)) => w == g,
            (_, None) => false,
        };
        if !matches {
            let got_text = got.map_or("nothing".to_owned(), |g| {
                ctx.redactor.redact(&g.to_string())
            });
            return Err(fail(
                &summary,
                format!("{pointer} is {got_text}, expected {want}"),
            ));
        }
    }
    let mut captured = Vec::new();
    for (var, pointer) in &s.capture {
        let got = json.pointer(&pointer.value).ok_or_else(|| {
            fail(
                &summary,
                format!(
                    "cannot capture {var}: the response has nothing at {}",
                    pointer.value
                ),
            )
        })?;
        let value = match got {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // Registered before it is shown: a capture the checker marked secret (e.g. a CSRF
        // token a later step sends as a header) is never printed.
        ctx.set_capture(
            var,
            Resolved {
                value: value.clone(),
                secret: false,
            },
        );
        captured.push(format!("{var}={}", ctx.redactor.redact(&value)));
    }
    let mut summary = format!("{summary} → {}", status.as_u16());
    if !captured.is_empty() {
        summary = format!("{summary}; captured {}", captured.join(", "));
    }
    Ok(StepOutcome {
        summary,
        artifacts: vec![],
        evidence: vec![evidence],
    })
}

/// Registers the values of this step's secret captures (the checker's decision: e.g. a CSRF
/// token a later step sends as a header) before anything shows the response.
fn register_secret_captures(ctx: &StepContext<'_>, s: &HttpStep, body: &str) {
    if !s.capture.keys().any(|var| ctx.capture_is_secret(var)) {
        return;
    }
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        return;
    };
    for (var, pointer) in &s.capture {
        if let Some(got) = json
            .pointer(&pointer.value)
            .filter(|_| ctx.capture_is_secret(var))
        {
            match got {
                Value::String(v) => ctx.redactor.add(v),
                other => ctx.redactor.add(&other.to_string()),
            }
        }
    }
}
