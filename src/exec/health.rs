//! The health pre-check (seeds 000 and 001): before any browser starts, ask the target's
//! aggregate `/health`, the guarded `/staging/e2e/health` (when a secret is configured) and any
//! `[health.extra]` endpoints, write `health-pre-check.json`, and say which services are down.
//!
//! An app without the staging contract is checked as far as it goes: a 2xx that is not JSON
//! means "reachable, no service breakdown", and a missing endpoint says which setting to change.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::Config;
use crate::events::Verdict;
use crate::redact::Redactor;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub schema_version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    pub base_url: String,
    pub passed: bool,
    /// Services reported as not ok, or endpoints that did not answer as expected.
    pub failing: Vec<String>,
    pub checks: Vec<EndpointCheck>,
}

/// Which endpoint a check asked, for what its failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckKind {
    /// `[health] path`, on the target.
    #[default]
    Aggregate,
    /// `[health] staging_path`, guarded by the staging secret.
    Staging,
    /// One of `[health.extra]`.
    Extra,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointCheck {
    #[serde(skip)]
    pub kind: CheckKind,
    pub name: String,
    pub url: String,
    /// PASS or FAILED in health-pre-check.json (serialized as the report's verdicts are).
    pub verdict: Verdict,
    pub status: Option<u16>,
    pub duration_ms: u64,
    pub services: Vec<ServiceStatus>,
    pub error: Option<String>,
    /// The response body (redacted), as evidence.
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub name: String,
    pub status: String,
    pub latency_ms: Option<f64>,
}

impl HealthReport {
    pub fn summary(&self) -> String {
        if !self.passed {
            return format!("unhealthy: {}", self.failing.join(", "));
        }
        let target = self.checks.iter().filter(|c| c.kind != CheckKind::Extra);
        let n = target.clone().map(|c| c.services.len()).max().unwrap_or(0);
        let mut out = if n > 0 {
            format!("healthy ({n} services ok)")
        } else {
            // A 2xx without a list of services (plain text, or JSON without one): the app is
            // up, nothing more is known.
            let status = target
                .clone()
                .find_map(|c| c.status)
                .map_or_else(String::new, |s| format!("{s}, "));
            format!("reachable ({status}no service breakdown)")
        };
        for c in self.checks.iter().filter(|c| c.kind == CheckKind::Extra) {
            if c.services.is_empty() {
                let status = c.status.map_or_else(String::new, |s| format!(" ({s})"));
                out.push_str(&format!("; {} reachable{status}", c.name));
            } else {
                out.push_str(&format!(
                    "; {} healthy ({} services ok)",
                    c.name,
                    c.services.len()
                ));
            }
        }
        out
    }
}

pub async fn run(
    config: &Config,
    base_url: &str,
    http: &crate::net::Http,
    redactor: &Redactor,
) -> HealthReport {
    let mut checks = Vec::new();
    let aggregate_url = format!("{base_url}{}", config.health.path);
    checks.push(
        check(
            http,
            (CheckKind::Aggregate, "health"),
            &aggregate_url,
            None,
            config.health.timeout,
            redactor,
        )
        .await,
    );
    // The guarded endpoint is part of the staging contract: without a secret there is
    // nothing to call it with, and an app without the contract has no such endpoint, so it is
    // left out rather than reported UNVERIFIED in every run.
    if let Some(secret) = &config.secret {
        let staging_url = format!("{base_url}{}", config.health.staging_path);
        let header = (config.secret_header.as_str(), secret.value.as_str());
        checks.push(
            check(
                http,
                (CheckKind::Staging, "staging-e2e-health"),
                &staging_url,
                Some(header),
                config.health.timeout,
                redactor,
            )
            .await,
        );
    }
    for (name, url) in &config.health.extra {
        checks.push(
            check(
                http,
                (CheckKind::Extra, name),
                url,
                None,
                config.health.timeout,
                redactor,
            )
            .await,
        );
    }
    let mut failing = Vec::new();
    for c in &checks {
        if c.verdict == Verdict::Failed {
            let down: Vec<String> = c
                .services
                .iter()
                .filter(|s| !is_ok(&s.status))
                .map(|s| format!("{} ({})", s.name, s.status))
                .collect();
            if down.is_empty() {
                failing.push(format!(
                    "{}: {}",
                    c.name,
                    c.error.clone().unwrap_or_else(|| "failed".into())
                ));
            } else {
                for d in down {
                    if !failing.contains(&d) {
                        failing.push(d);
                    }
                }
            }
        }
    }
    HealthReport {
        schema_version: SCHEMA_VERSION,
        checked_at: OffsetDateTime::now_utc(),
        base_url: base_url.to_owned(),
        passed: failing.is_empty(),
        failing,
        checks,
    }
}

/// How long `flows health --wait` keeps asking, and how often.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Give up (not healthy) once this long has passed since the first poll started.
    pub deadline: Duration,
    /// Pause between the end of one poll and the start of the next.
    pub interval: Duration,
}

/// Polls [`run`] until every endpoint is healthy or `opts.deadline` has passed, calling
/// `on_poll` with each poll's report (to show what changed). Returns the last report: passed
/// when the target went green in time. Cancelling is dropping the future.
pub async fn wait_until_healthy(
    config: &Config,
    base_url: &str,
    http: &crate::net::Http,
    redactor: &Redactor,
    opts: WaitOptions,
    mut on_poll: impl FnMut(&HealthReport),
) -> HealthReport {
    let started = Instant::now();
    loop {
        let report = run(config, base_url, http, redactor).await;
        on_poll(&report);
        let left = opts.deadline.saturating_sub(started.elapsed());
        if report.passed || left.is_zero() {
            return report;
        }
        tokio::time::sleep(opts.interval.min(left)).await;
    }
}

/// One row of what a health poll saw: an endpoint (`health`) or one of its services
/// (`health › cache`), the words for its state, whether that is healthy, and its latency.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusLine {
    /// Unique within a report: the endpoint's name, or `endpoint › service`.
    pub key: String,
    /// `ok`, `down`, `HTTP 503`, `no answer within 10s`, … (the service's own word when it
    /// gave one).
    pub state: String,
    pub ok: bool,
    /// Milliseconds: the service's own figure, or the endpoint's round trip.
    pub latency_ms: Option<f64>,
}

/// The rows of a report, endpoints first, each followed by its services (for `flows health`
/// and anything else that shows a poll as a table).
pub fn status_lines(report: &HealthReport) -> Vec<StatusLine> {
    let mut out = Vec::new();
    for c in &report.checks {
        let endpoint_ok = c.verdict == Verdict::Pass;
        let state = match (&c.error, c.status) {
            (None, Some(code)) => format!("{code} ok"),
            (None, None) => "ok".to_owned(),
            (Some(e), _) => e.clone(),
        };
        out.push(StatusLine {
            key: c.name.clone(),
            state,
            ok: endpoint_ok,
            latency_ms: Some(c.duration_ms as f64),
        });
        for s in &c.services {
            out.push(StatusLine {
                key: format!("{} › {}", c.name, s.name),
                state: s.status.clone(),
                ok: is_ok(&s.status),
                latency_ms: s.latency_ms,
            });
        }
    }
    out
}

fn is_ok(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "ok" | "up" | "healthy" | "pass" | "passing"
    )
}

async fn check(
    http: &crate::net::Http,
    (kind, name): (CheckKind, &str),
    url: &str,
    header: Option<(&str, &str)>,
    timeout: Duration,
    redactor: &Redactor,
) -> EndpointCheck {
    let started = Instant::now();
    let mut req = http
        .get(url)
        .timeout(timeout)
        .header("Accept", "application/json");
    if let Some((k, v)) = header {
        req = req.header(k, v);
    }
    let mut result = EndpointCheck {
        kind,
        name: name.to_owned(),
        url: url.to_owned(),
        verdict: Verdict::Failed,
        status: None,
        duration_ms: 0,
        services: vec![],
        error: None,
        body: None,
    };
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            result.duration_ms = started.elapsed().as_millis() as u64;
            result.error = Some(if e.is_timeout() {
                format!("no answer within {timeout:?}")
            } else {
                format!(
                    "request failed: {}",
                    redactor.redact(&crate::net::describe_error(url, &e))
                )
            });
            return result;
        }
    };
    let status = resp.status();
    result.status = Some(status.as_u16());
    let body: Option<Value> = resp.json().await.ok();
    result.duration_ms = started.elapsed().as_millis() as u64;
    if let Some(b) = &body {
        result.services = services_of(b);
    }
    result.body = body.as_ref().map(|b| redactor.redact_json(b));
    let overall_ok = body
        .as_ref()
        .and_then(|b| b.get("status"))
        .and_then(Value::as_str)
        .map(is_ok)
        .unwrap_or(status.is_success());
    let services_ok = result.services.iter().all(|s| is_ok(&s.status));
    if status.is_success() && overall_ok && services_ok {
        result.verdict = Verdict::Pass;
    } else {
        result.error = Some(match status.as_u16() {
            401 => "401: the secret header was missing".to_owned(),
            403 => "403: the staging E2E secret was rejected".to_owned(),
            404 => not_found(kind, name, url),
            code if !status.is_success() => format!("HTTP {code}"),
            _ => "reported unhealthy".to_owned(),
        });
    }
    result
}

/// What a 404 from an endpoint means, and which setting to change.
fn not_found(kind: CheckKind, name: &str, url: &str) -> String {
    match kind {
        CheckKind::Aggregate => format!(
            "404: {url} does not exist; if the app has no aggregate health endpoint, set \
             `[health] path` in flows.toml to one it has (e.g. `path = \"/up\"`, any page \
             that answers 200), or `[health] enabled = false` (or --skip-health-check) to run \
             without the pre-check"
        ),
        CheckKind::Staging => format!(
            "404: {url} does not exist; enable the app's staging E2E mode, or set \
             `[health] staging_path` in flows.toml to its path"
        ),
        CheckKind::Extra => {
            format!("404: {url} does not exist; fix `[health.extra] {name}` in flows.toml")
        }
    }
}

/// Services from `{"services": {"db": {"status": "ok", "latency_ms": 1.2}}}` or a list of
/// `{"name": .., "status": ..}`.
fn services_of(body: &Value) -> Vec<ServiceStatus> {
    let entry = |name: &str, v: &Value| ServiceStatus {
        name: name.to_owned(),
        status: v
            .get("status")
            .and_then(Value::as_str)
            .or_else(|| v.as_str())
            .unwrap_or("unknown")
            .to_owned(),
        latency_ms: v.get("latency_ms").and_then(Value::as_f64),
    };
    match body.get("services").or_else(|| body.get("checks")) {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| entry(k, v)).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| Some(entry(v.get("name")?.as_str()?, v)))
            .collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(kind: CheckKind, name: &str, status: u16, services: usize) -> EndpointCheck {
        EndpointCheck {
            kind,
            name: name.into(),
            url: format!("http://x/{name}"),
            verdict: Verdict::Pass,
            status: Some(status),
            duration_ms: 1,
            services: (0..services)
                .map(|i| ServiceStatus {
                    name: format!("s{i}"),
                    status: "ok".into(),
                    latency_ms: None,
                })
                .collect(),
            error: None,
            body: None,
        }
    }

    fn report(checks: Vec<EndpointCheck>) -> HealthReport {
        HealthReport {
            schema_version: SCHEMA_VERSION,
            checked_at: OffsetDateTime::UNIX_EPOCH,
            base_url: "http://x".into(),
            passed: true,
            failing: vec![],
            checks,
        }
    }

    #[test]
    fn summary_says_what_is_known() {
        let r = report(vec![endpoint(CheckKind::Aggregate, "health", 200, 0)]);
        assert_eq!(r.summary(), "reachable (200, no service breakdown)");
        let r = report(vec![
            endpoint(CheckKind::Aggregate, "health", 200, 6),
            endpoint(CheckKind::Staging, "staging-e2e-health", 200, 6),
            endpoint(CheckKind::Extra, "mailcatcher", 200, 0),
        ]);
        assert_eq!(
            r.summary(),
            "healthy (6 services ok); mailcatcher reachable (200)"
        );
        assert!(not_found(CheckKind::Aggregate, "health", "http://x/health")
            .contains("`[health] path`"));
    }

    /// The typed verdict is written into health-pre-check.json as the words it always was.
    #[test]
    fn verdicts_serialize_as_the_report_words() {
        let mut c = endpoint(CheckKind::Aggregate, "health", 200, 0);
        assert_eq!(serde_json::to_value(&c).unwrap()["verdict"], "PASS");
        c.verdict = Verdict::Failed;
        assert_eq!(serde_json::to_value(&c).unwrap()["verdict"], "FAILED");
    }

    #[test]
    fn reads_services_as_map_or_list() {
        let m = serde_json::json!({"status":"error","services":{"db":{"status":"ok","latency_ms":0.4},"mail":{"status":"down"}}});
        let s = services_of(&m);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].name, "mail");
        assert!(!is_ok(&s[1].status));
        let l = serde_json::json!({"checks":[{"name":"queue","status":"ok"}]});
        assert_eq!(services_of(&l)[0].name, "queue");
    }
}
