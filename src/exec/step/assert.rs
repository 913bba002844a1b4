//! Steps that read the page: `expect`, `wait_for`, `screenshot`, `capture`.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};

use super::context::*;
use super::error::StepError;
use super::locate::*;
use crate::artifact;
use crate::events::{Artifact, ArtifactKind, RunEventKind};
use crate::flowfile::ast::*;
use crate::flowfile::span::Sp;
use crate::flowfile::template::Resolved;
use crate::flowfile::text::{split_regex_literal, RegexLiteral, TextPattern};

pub(super) async fn expect(ctx: &mut StepContext<'_>, s: &ExpectStep) -> StepResult {
    if let Some(value) = &s.value {
        return compare_values(ctx, value, s);
    }
    let (request, summary) = expect_request(ctx, s).map_err(|e| Fail("expect").with(e))?;
    await_in_page(ctx, summary, request, s.timeout.as_ref(), "expectation").await
}

/// The in-page request of an `expect` on the page (not `value:`), and its summary.
pub(super) fn expect_request(
    ctx: &StepContext<'_>,
    s: &ExpectStep,
) -> Result<(Value, String), StepError> {
    if s.value.is_some() {
        return Err(StepError::Input("compares values; no page request".into()));
    }
    let mut assert = serde_json::Map::new();
    let mut what;
    if let Some(url) = &s.url {
        let (value, shown) = ctx.render_shown(&url.value)?;
        // A regex only when written `/…/` in the flow: a URL from a variable is compared as
        // it is (its dots are dots).
        let p = if matches!(split_regex_literal(&url.value), RegexLiteral::Regex { .. }) {
            TextPattern::from_rendered(&url.value, &value, false)
                .map_err(StepError::Input)?
                .to_js()
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
pub(super) fn value_pattern(
    ctx: &StepContext<'_>,
    v: &Sp<String>,
) -> Result<(Value, String), StepError> {
    let (value, redacted) = ctx.render_shown(&v.value)?;
    if matches!(split_regex_literal(&v.value), RegexLiteral::Regex { .. }) {
        let p = TextPattern::from_rendered(&v.value, &value, false).map_err(StepError::Input)?;
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
pub(super) fn compare_values(
    ctx: &StepContext<'_>,
    value: &Sp<String>,
    s: &ExpectStep,
) -> StepResult {
    let (actual, actual_shown) = ctx
        .render_shown(&value.value)
        .map_err(|e| Fail("expect").with(e))?;
    if let Some(equals) = &s.equals {
        let (expected, expected_shown) = ctx
            .render_shown(&equals.value)
            .map_err(|e| Fail("expect").with(e))?;
        let summary = format!("expect value {actual_shown:?} equals {expected_shown:?}");
        if actual == expected {
            return ok(summary);
        }
        return Err(Fail(&summary).mismatch(format!(
            "the value is {actual_shown:?}, expected it to equal {expected_shown:?}"
        )));
    }
    if let Some(matches) = &s.matches {
        let (_, shown) = ctx
            .pattern(matches, false)
            .map_err(|e| Fail("expect").with(e))?;
        let (rendered, _) = ctx
            .render_shown(&matches.value)
            .map_err(|e| Fail("expect").with(e))?;
        let pattern = TextPattern::from_rendered(&matches.value, &rendered, false)
            .map_err(|e| Fail("expect").input(e))?;
        let summary = format!("expect value {actual_shown:?} matches {shown}");
        // The value as it is: a regex decides itself about whitespace and case.
        let hit = match pattern.to_regex() {
            Some(Ok(re)) => re.is_match(&actual),
            Some(Err(e)) => return Err(Fail(&summary).input(format!("invalid regex: {e}"))),
            None => pattern.matches(&actual),
        };
        if hit {
            return ok(summary);
        }
        return Err(Fail(&summary).mismatch(format!(
            "the value is {actual_shown:?}, expected it to match {shown}"
        )));
    }
    Err(Fail("expect").input("`value` needs `equals` or `matches`"))
}

/// Runs an in-page wait (`expect`, `wait_for`) to its deadline and turns the result into the
/// step's outcome.
/// A read-only step's request as sent: when traced, the page's DOM where the assertion held
/// comes back with the answer, so the trace needs no round trip of its own.
pub(super) fn read_request(ctx: &StepContext<'_>, mut request: Value) -> Value {
    if ctx.trace_dom {
        request["snapshot"] = json!(true);
    }
    request
}

pub(super) async fn await_in_page(
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
        ctx.measured.dom_snapshot = r.value.get_mut("snapshot").map(Value::take);
        ok(summary)
    } else {
        Err(fail.timeout(timeout_message(what, limit, &r)))
    }
}

pub(super) async fn wait_for(ctx: &mut StepContext<'_>, s: &WaitForStep) -> StepResult {
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
    let (request, summary) = wait_request(ctx, s).map_err(|e| Fail("wait_for").with(e))?;
    let what = format!("state {}", request["state"].as_str().unwrap_or_default());
    await_in_page(ctx, summary, request, s.timeout.as_ref(), &what).await
}

/// The in-page request of a `wait_for` on an element, and its summary; one on a URL is an
/// `expect` on it.
pub(super) fn wait_request(
    ctx: &StepContext<'_>,
    s: &WaitForStep,
) -> Result<(Value, String), StepError> {
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

pub(super) async fn screenshot(ctx: &mut StepContext<'_>, s: &ScreenshotStep) -> StepResult {
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
        .map_err(|e| fail.file(format!("cannot write {}: {e}", rel.display())))?;
    let a = Artifact {
        kind: ArtifactKind::Screenshot,
        path: rel,
        bytes: png.len() as u64,
    };
    ctx.measured.events.push(RunEventKind::ArtifactWritten {
        flow: Some(ctx.flow_id().to_owned()),
        artifact: a.clone(),
    });
    Ok(StepOutcome {
        summary,
        artifacts: vec![a],
        evidence: vec![],
    })
}

pub(super) async fn capture(ctx: &mut StepContext<'_>, s: &CaptureStep) -> StepResult {
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
                .map_err(|e| Fail("capture").with(e))?;
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
                return Err(fail.timeout(timeout_message("capture", limit, &r)));
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
            let (pattern, _) = ctx.render_shown(&re.value).map_err(|e| fail.with(e))?;
            let re =
                regex::Regex::new(&pattern).map_err(|e| fail.input(format!("bad regex: {e}")))?;
            let caps = re.captures(&source_text).ok_or_else(|| {
                let shown = if s.secret || ctx.capture_is_secret(&var) {
                    "[redacted]".to_owned()
                } else {
                    ctx.redactor.redact(&source_text)
                };
                fail.mismatch(format!("/{pattern}/ does not match \"{shown}\""))
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
