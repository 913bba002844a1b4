//! The health pre-check (seeds 000 and 001): before any browser starts, ask the target's
//! aggregate `/health` and the guarded `/staging/e2e/health`, write `health-pre-check.json`,
//! and say which services are down.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::Config;
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

#[derive(Debug, Clone, Serialize)]
pub struct EndpointCheck {
    pub name: String,
    pub url: String,
    /// PASS, FAILED or UNVERIFIED (e.g. no secret to call the guarded endpoint).
    pub verdict: &'static str,
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
        if self.passed {
            let n = self
                .checks
                .iter()
                .map(|c| c.services.len())
                .max()
                .unwrap_or(0);
            format!("healthy ({n} services ok)")
        } else {
            format!("unhealthy: {}", self.failing.join(", "))
        }
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
            "health",
            &aggregate_url,
            None,
            config.health.timeout,
            redactor,
        )
        .await,
    );
    let staging_url = format!("{base_url}{}", config.health.staging_path);
    match &config.secret {
        Some(secret) => {
            let header = (config.secret_header.as_str(), secret.value.as_str());
            checks.push(
                check(
                    http,
                    "staging-e2e-health",
                    &staging_url,
                    Some(header),
                    config.health.timeout,
                    redactor,
                )
                .await,
            );
        }
        None => checks.push(EndpointCheck {
            name: "staging-e2e-health".into(),
            url: staging_url,
            verdict: "UNVERIFIED",
            status: None,
            duration_ms: 0,
            services: vec![],
            error: Some(
                "not called: no staging E2E secret configured (set STAGING_E2E_SECRET)".into(),
            ),
            body: None,
        }),
    }
    let mut failing = Vec::new();
    for c in &checks {
        if c.verdict == "FAILED" {
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

fn is_ok(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "ok" | "up" | "healthy" | "pass" | "passing"
    )
}

async fn check(
    http: &crate::net::Http,
    name: &str,
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
        name: name.to_owned(),
        url: url.to_owned(),
        verdict: "FAILED",
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
        result.verdict = "PASS";
    } else {
        result.error = Some(match status.as_u16() {
            401 => "401: the secret header was missing".to_owned(),
            403 => "403: the staging E2E secret was rejected".to_owned(),
            404 => "404: the endpoint does not exist (is staging E2E mode enabled on the target?)"
                .to_owned(),
            code if !status.is_success() => format!("HTTP {code}"),
            _ => "reported unhealthy".to_owned(),
        });
    }
    result
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
