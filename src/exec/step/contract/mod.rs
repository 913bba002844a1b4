//! The no-break contract steps (seed 002), one file each: `guard` and `forbidden` (who may
//! open what), `download_headers`, `sse`, `routes` (drift against a baseline) and `metrics`.
//! Every request is a GET (or the SSE stream's GET); redirects are not followed where a
//! redirect is the answer being judged. Each step leaves one `Evidence::Contract` row per thing
//! it checked when it passes; when it fails, the failure message carries the rows that failed
//! and the trace's exchange carries all of them.

mod download_headers;
mod guard;
mod metrics;
mod routes;
mod sse;

pub(super) use download_headers::download_headers;
pub(super) use guard::{forbidden, guard};
pub(super) use metrics::metrics;
pub(crate) use metrics::{read_flow_start_metrics, MetricsAtStart};
pub(super) use routes::routes;
pub(super) use sse::sse;

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, COOKIE, LOCATION};

use super::context::{Fail, StepContext, StepFailure, StepOutcome};
use crate::events::{Evidence, Exchange};

/// One row of what a contract step checked.
pub(super) struct Row {
    pub subject: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
}

impl Row {
    pub fn new(
        subject: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        passed: bool,
    ) -> Row {
        Row {
            subject: subject.into(),
            expected: expected.into(),
            actual: actual.into(),
            passed,
        }
    }
}

/// A client that does not follow redirects (a redirect to a sign-in page that answers 200 must
/// not read as "open"), with the run's basic auth and certificate policy.
pub(super) fn no_redirect_client(ctx: &StepContext<'_>, timeout: Duration) -> crate::net::Http {
    crate::net::Http::with_builder(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(concat!("flows/", env!("CARGO_PKG_VERSION"))),
        &[Some(ctx.base_url), ctx.config.api_url.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
        ctx.config.basic_auth.as_ref(),
        ctx.config.accept_invalid_certs,
    )
}

/// The status and headers of a GET (the body is left unread unless the caller reads it).
pub(super) async fn get(
    ctx: &StepContext<'_>,
    client: &crate::net::Http,
    url: &str,
    cookie: Option<&str>,
    headers: HeaderMap,
    timeout: Duration,
    fail: &Fail<'_>,
) -> Result<reqwest::Response, StepFailure> {
    let mut req = client.get(url).headers(headers);
    if let Some(c) = cookie {
        let mut v = HeaderValue::from_str(c)
            .map_err(|_| fail.input("the user's cookies are not a valid header value"))?;
        v.set_sensitive(true);
        req = req.header(COOKIE, v);
    }
    match tokio::time::timeout(timeout, req.send()).await {
        Err(_) => Err(fail.timeout(format!(
            "GET {}: no response within {}",
            ctx.redactor.redact(url),
            crate::human::duration(timeout)
        ))),
        Ok(Err(e)) if e.is_timeout() => Err(fail.timeout(format!(
            "GET {}: no response within {}",
            ctx.redactor.redact(url),
            crate::human::duration(timeout)
        ))),
        Ok(Err(e)) => Err(fail.unreachable(format!(
            "request failed: {}",
            ctx.redactor.redact(&crate::net::describe_error(url, &e))
        ))),
        Ok(Ok(resp)) => Ok(resp),
    }
}

/// `303 → /login`, `200`: a status and, for a redirect, the path (and query) it points to.
pub(super) fn status_text(resp: &reqwest::Response) -> String {
    let status = resp.status().as_u16();
    match redirect_target(resp) {
        Some(to) => format!("{status} → {to}"),
        None => status.to_string(),
    }
}

/// Where a redirect points, relative to the request's origin when it stays on it.
pub(super) fn redirect_target(resp: &reqwest::Response) -> Option<String> {
    if !resp.status().is_redirection() {
        return None;
    }
    let location = resp.headers().get(LOCATION)?.to_str().ok()?;
    let target = resp.url().join(location).ok()?;
    if target.origin() == resp.url().origin() {
        let mut s = target.path().to_owned();
        if let Some(q) = target.query() {
            s.push('?');
            s.push_str(q);
        }
        Some(s)
    } else {
        Some(target.to_string())
    }
}

/// The step's verdict from its rows: every row passed, or a mismatch listing the ones that did
/// not. Either way the trace's exchange lists every row.
pub(super) fn conclude(
    ctx: &mut StepContext<'_>,
    kind: &str,
    fail: &Fail<'_>,
    summary: String,
    asked: String,
    rows: Vec<Row>,
    extra: Vec<Evidence>,
) -> Result<StepOutcome, StepFailure> {
    let table = rows_table(&rows);
    ctx.measured.exchange = Some(Exchange {
        request: ctx.redactor.redact(&asked),
        response: ctx.redactor.redact(&table),
    });
    let failed: Vec<&Row> = rows.iter().filter(|r| !r.passed).collect();
    if !failed.is_empty() {
        let lines: Vec<String> = failed
            .iter()
            .map(|r| format!("{}: {} (expected {})", r.subject, r.actual, r.expected))
            .collect();
        let head = if failed.len() == 1 {
            String::new()
        } else {
            format!("{} of {} checks failed:\n  ", failed.len(), rows.len())
        };
        return Err(fail.mismatch(
            ctx.redactor
                .redact(&format!("{head}{}", lines.join("\n  "))),
        ));
    }
    let mut evidence: Vec<Evidence> = rows
        .into_iter()
        .map(|r| Evidence::Contract {
            check: kind.to_owned(),
            subject: ctx.redactor.redact(&r.subject),
            expected: ctx.redactor.redact(&r.expected),
            actual: ctx.redactor.redact(&r.actual),
            passed: r.passed,
        })
        .collect();
    evidence.extend(extra);
    Ok(StepOutcome {
        summary,
        artifacts: vec![],
        evidence,
    })
}

/// The rows as an aligned text table (for the trace and for people).
pub(super) fn rows_table(rows: &[Row]) -> String {
    let mut w = [7usize, 8, 6];
    for r in rows {
        w[0] = w[0].max(r.subject.chars().count());
        w[1] = w[1].max(r.expected.chars().count());
        w[2] = w[2].max(r.actual.chars().count());
    }
    let mut out = format!(
        "   {:<a$}  {:<b$}  {}\n",
        "checked",
        "expected",
        "actual",
        a = w[0],
        b = w[1]
    );
    for r in rows {
        out.push_str(&format!(
            "{}  {:<a$}  {:<b$}  {}\n",
            if r.passed { "ok" } else { "!!" },
            r.subject,
            r.expected,
            r.actual,
            a = w[0],
            b = w[1]
        ));
    }
    out
}
