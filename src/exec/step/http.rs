//! The `http` step: a request with expectations, optionally carrying a user's browser cookies.

use std::time::Instant;

use serde_json::Value;

use super::context::{Fail, StepContext, StepFailure, StepOutcome, StepResult};
use crate::events::Evidence;
use crate::flowfile::ast::{HttpExpect, HttpStep};
use crate::flowfile::template::Resolved;
use crate::flowfile::text::TextPattern;

/// The request as built from the step: ready to send, and as it is shown (secrets redacted).
struct Prepared {
    request: reqwest::RequestBuilder,
    /// For messages: `METHOD url` with variables shown redacted.
    summary: String,
    method: String,
    url: String,
    shown_url: String,
    /// The request as the trace shows it.
    text: String,
}

/// The answer, read whole.
struct Received {
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
    duration_ms: u64,
}

pub async fn run(ctx: &mut StepContext<'_>, s: &HttpStep) -> StepResult {
    let prepared = prepare(ctx, s).await?;
    let fail = Fail(&prepared.summary);
    let received = send(ctx, s, prepared.request, &prepared.url, &fail).await?;
    register_secret_captures(ctx, s, &received.body);
    ctx.measured.exchange = Some(crate::events::Exchange {
        request: ctx.redactor.redact(&prepared.text),
        response: response_text(ctx, &received),
    });
    let evidence = Evidence::Http {
        method: prepared.method.clone(),
        url: ctx.redactor.redact(&prepared.shown_url),
        status: received.status.as_u16(),
        duration_ms: received.duration_ms,
    };
    let snippet = || {
        let t = ctx.redactor.redact(&received.body);
        let t: String = t.chars().take(300).collect();
        t.replace('\n', " ")
    };
    let expect = s.expect.clone().unwrap_or_default();
    check_status(&expect, received.status, &fail, &snippet)?;
    check_headers(ctx, &expect, &received.headers, &fail)?;
    check_body(ctx, &expect, &received.body, &fail, &snippet)?;
    let needs_json = !expect.json.is_empty() || !s.capture.is_empty();
    let json: Value = if needs_json {
        serde_json::from_str(&received.body)
            .map_err(|e| fail.mismatch(format!("the response is not JSON ({e}): {}", snippet())))?
    } else {
        Value::Null
    };
    check_json(ctx, &expect, &json, &fail)?;
    let captured = capture(ctx, s, &json, &fail)?;
    let mut summary = format!("{} → {}", prepared.summary, received.status.as_u16());
    if !captured.is_empty() {
        summary = format!("{summary}; captured {}", captured.join(", "));
    }
    Ok(StepOutcome {
        summary,
        artifacts: vec![],
        evidence: vec![evidence],
    })
}

/// Renders the step into a request: method, URL, the step's own headers (they replace the
/// client's: an `Authorization` of the flow wins over the target's basic auth), a user's
/// browser cookies, and the body.
async fn prepare(ctx: &mut StepContext<'_>, s: &HttpStep) -> Result<Prepared, StepFailure> {
    let method_text = s
        .method
        .as_ref()
        .map(|m| m.value.to_ascii_uppercase())
        .unwrap_or_else(|| "GET".into());
    let (url, shown_url) = ctx
        .render_shown(&s.url.value)
        .map_err(|e| Fail("http").with(e))?;
    let url = ctx.resolve_url(&url, true);
    let shown_url = ctx.resolve_url(&shown_url, true);
    let summary = format!("http {method_text} {shown_url}");
    let fail = Fail(&summary);
    let method = reqwest::Method::from_bytes(method_text.as_bytes())
        .map_err(|_| fail.input(format!("unknown method {method_text}")))?;
    let mut text = format!("{method_text} {shown_url}\n");
    let mut req = ctx
        .http
        .request(method, &url)
        .timeout(ctx.timeout(s.timeout.as_ref()));
    let mut own = reqwest::header::HeaderMap::new();
    for (k, v) in &s.headers {
        let (value, shown) = ctx.render_shown(&v.value).map_err(|e| fail.with(e))?;
        text.push_str(&format!("{k}: {shown}\n"));
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| fail.input(format!("`{k}` is not a valid header name")))?;
        let value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
            fail.input(format!(
                "the value of header `{k}` is not a valid header value"
            ))
        })?;
        own.append(name, value);
    }
    req = req.headers(own);
    if let Some(user) = &s.as_user {
        let cookies = ctx
            .cookies_of(&user.value)
            .await
            .map_err(|e| fail.with(e))?;
        req = req.header("Cookie", cookies);
        text.push_str(&format!(
            "Cookie: [redacted] (the browser session of {})\n",
            user.value
        ));
    }
    if let Some(json) = &s.json {
        let body = ctx.render_json(json).map_err(|e| fail.with(e))?;
        text.push_str(&format!("\n{}", ctx.redactor.redact(&body.to_string())));
        req = req.json(&body);
    } else if !s.form.is_empty() {
        let mut pairs = Vec::new();
        for (k, v) in &s.form {
            let (value, _) = ctx.render_shown(&v.value).map_err(|e| fail.with(e))?;
            pairs.push((k.clone(), value));
        }
        req = req.form(&pairs);
    } else if let Some(body) = &s.body {
        let (value, _) = ctx.render_shown(&body.value).map_err(|e| fail.with(e))?;
        req = req.body(value);
    }
    Ok(Prepared {
        request: req,
        summary,
        method: method_text,
        url,
        shown_url,
        text,
    })
}

async fn send(
    ctx: &StepContext<'_>,
    s: &HttpStep,
    request: reqwest::RequestBuilder,
    url: &str,
    fail: &Fail<'_>,
) -> Result<Received, StepFailure> {
    let started = Instant::now();
    let resp = request.send().await.map_err(|e| {
        if e.is_timeout() {
            fail.timeout(format!(
                "no response within {}",
                crate::human::duration(ctx.timeout(s.timeout.as_ref()))
            ))
        } else {
            fail.unreachable(format!(
                "request failed: {}",
                ctx.redactor.redact(&crate::net::describe_error(url, &e))
            ))
        }
    })?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap_or_default();
    Ok(Received {
        status,
        headers,
        body,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// The response as the trace shows it: status, headers (cookies set redacted), the body's
/// first 4096 characters, redacted.
fn response_text(ctx: &StepContext<'_>, r: &Received) -> String {
    let mut text = format!("{}\n", r.status.as_u16());
    for (k, v) in &r.headers {
        let v = if k.as_str().eq_ignore_ascii_case("set-cookie") {
            "[redacted]"
        } else {
            v.to_str().unwrap_or("…")
        };
        text.push_str(&format!("{k}: {v}\n"));
    }
    let body_shown: String = r.body.chars().take(4096).collect();
    text.push_str(&format!("\n{}", ctx.redactor.redact(&body_shown)));
    text
}

/// The expected status, or any 2xx when the step names none.
fn check_status(
    expect: &HttpExpect,
    status: reqwest::StatusCode,
    fail: &Fail<'_>,
    snippet: &dyn Fn() -> String,
) -> Result<(), StepFailure> {
    let wanted = match expect.status {
        Some(want) if status.as_u16() != want => want.to_string(),
        None if !status.is_success() => "2xx".to_owned(),
        _ => return Ok(()),
    };
    Err(fail.mismatch(format!(
        "status {} (expected {wanted}); body: {}",
        status.as_u16(),
        snippet()
    )))
}

fn check_headers(
    ctx: &StepContext<'_>,
    expect: &HttpExpect,
    headers: &reqwest::header::HeaderMap,
    fail: &Fail<'_>,
) -> Result<(), StepFailure> {
    for (name, want) in &expect.headers {
        let (rendered, _) = ctx.render_shown(&want.value).map_err(|e| fail.with(e))?;
        // Only the flow's own text can make it a regex, never a variable's value.
        let pattern =
            TextPattern::from_rendered(&want.value, &rendered, false).map_err(|e| fail.input(e))?;
        match headers.get(name.as_str()).and_then(|v| v.to_str().ok()) {
            Some(g) if pattern.matches(g) => {}
            Some(g) => {
                return Err(fail.mismatch(format!("header {name} is \"{g}\", expected {pattern}")))
            }
            None => return Err(fail.mismatch(format!("header {name} is missing"))),
        }
    }
    Ok(())
}

/// A body is matched as received: no whitespace collapsed, nothing trimmed.
fn check_body(
    ctx: &StepContext<'_>,
    expect: &HttpExpect,
    body: &str,
    fail: &Fail<'_>,
    snippet: &dyn Fn() -> String,
) -> Result<(), StepFailure> {
    let Some(b) = &expect.body else {
        return Ok(());
    };
    let (rendered, _) = ctx.render_shown(&b.value).map_err(|e| fail.with(e))?;
    let pattern = TextPattern::from_rendered_raw(&b.value, &rendered).map_err(|e| fail.input(e))?;
    if pattern.matches_raw(body) {
        Ok(())
    } else {
        Err(fail.mismatch(format!("body does not match {pattern}: {}", snippet())))
    }
}

fn check_json(
    ctx: &StepContext<'_>,
    expect: &HttpExpect,
    json: &Value,
    fail: &Fail<'_>,
) -> Result<(), StepFailure> {
    for (pointer, written) in &expect.json {
        let want = ctx.render_json(written).map_err(|e| fail.with(e))?;
        let got = json.pointer(pointer);
        if !json_matches(written, &want, got) {
            let got_text = got.map_or("nothing".to_owned(), |g| {
                ctx.redactor.redact(&g.to_string())
            });
            return Err(fail.mismatch(format!("{pointer} is {got_text}, expected {want}")));
        }
    }
    Ok(())
}

/// Whether `got` is what the step expects: `want` is `written` rendered. A string is a regex
/// only when the flow wrote `/…/`, never because of a variable's value; a regex may test a
/// number or boolean by its JSON text (`/^[1-9]/` for a count).
pub(super) fn json_matches(written: &Value, want: &Value, got: Option<&Value>) -> bool {
    let regex = |w: &str| match written {
        Value::String(text) => match TextPattern::from_rendered(text, w, true) {
            Ok(p @ TextPattern::Regex { .. }) => Some(p),
            _ => None,
        },
        _ => None,
    };
    match (want, got) {
        (Value::String(w), Some(Value::String(g))) => match regex(w) {
            Some(p) => p.matches(g),
            None => w == g,
        },
        (Value::String(w), Some(g @ (Value::Number(_) | Value::Bool(_)))) => {
            regex(w).is_some_and(|p| p.matches(&g.to_string()))
        }
        (w, Some(g)) => w == g,
        (_, None) => false,
    }
}

/// Sets the step's captures from the JSON answer; returns them as shown (secrets redacted).
fn capture(
    ctx: &mut StepContext<'_>,
    s: &HttpStep,
    json: &Value,
    fail: &Fail<'_>,
) -> Result<Vec<String>, StepFailure> {
    let mut captured = Vec::new();
    for (var, pointer) in &s.capture {
        let got = json.pointer(&pointer.value).ok_or_else(|| {
            fail.mismatch(format!(
                "cannot capture {var}: the response has nothing at {}",
                pointer.value
            ))
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
    Ok(captured)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::json_matches;

    #[test]
    fn a_json_string_is_a_regex_only_when_the_flow_wrote_one() {
        // Written as a regex: matches by pattern, also a number by its text.
        assert!(json_matches(
            &json!("/^T-\\d+$/"),
            &json!("/^T-\\d+$/"),
            Some(&json!("T-42"))
        ));
        assert!(json_matches(
            &json!("/^[1-9]/"),
            &json!("/^[1-9]/"),
            Some(&json!(3))
        ));
        assert!(!json_matches(
            &json!("/^[1-9]/"),
            &json!("/^[1-9]/"),
            Some(&json!(0))
        ));
        // A variable whose value looks like a regex is compared as text.
        assert!(!json_matches(
            &json!("{{ v }}"),
            &json!("/.*/"),
            Some(&json!("anything"))
        ));
        assert!(json_matches(
            &json!("{{ v }}"),
            &json!("/.*/"),
            Some(&json!("/.*/"))
        ));
        // Other values compare equal; nothing there never matches.
        assert!(json_matches(&json!(3), &json!(3), Some(&json!(3))));
        assert!(!json_matches(&json!("3"), &json!("3"), Some(&json!(3))));
        assert!(!json_matches(&json!(null), &json!(null), None));
    }
}
