//! The app's side of a run: the configured web server starting, the target answering, its
//! health endpoints, the staging E2E secret being accepted, and the mail source answering.

use std::time::{Duration, Instant};

use super::{Area, CheckLine, Status};
use crate::config::{Config, MailSourceKind};
use crate::exec::health::{CheckKind, EndpointCheck};
use crate::exec::webserver;
use crate::net::Http;

/// The target lines, in order: web server (when configured), target, health, secret, mail.
pub(super) async fn check(config: &Config, needs_target: bool) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let mut http = Http::for_target(concat!("flows-doctor/", env!("CARGO_PKG_VERSION")), config);
    // Kept alive until the checks are done; dropping it stops the app's process group.
    let mut server = None;
    let logs = tempfile::Builder::new().prefix("flows-doctor-").tempdir();
    let base_url = match (&config.base_url, &config.web_server) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(ws)) => {
            let secret = config.secret.as_ref().map(|s| s.value.as_str());
            let log = match &logs {
                Ok(d) => d.path().join("web-server.log"),
                Err(_) => std::env::temp_dir().join("flows-doctor-web-server.log"),
            };
            match webserver::start(ws, None, secret, &log, &http).await {
                Ok(s) => {
                    lines.push(CheckLine::pass(
                        "web server",
                        Area::Infrastructure,
                        format!(
                            "`{}` started and answered at {}",
                            ws.command.join(" "),
                            s.base_url
                        ),
                    ));
                    http = http.with_origin(&s.base_url);
                    let url = s.base_url.clone();
                    server = Some(s);
                    Some(url)
                }
                Err(e) => {
                    lines.push(CheckLine::fail(
                        "web server",
                        Area::Infrastructure,
                        e.to_string(),
                        "fix [web_server] in flows.toml, or run against an app that is already up: --base-url URL (or --skip-web-server with PLAYWRIGHT_BASE_URL)",
                    ));
                    None
                }
            }
        }
        (None, None) => {
            if needs_target {
                lines.push(CheckLine::fail(
                    "target",
                    Area::Config,
                    "no base URL",
                    "pass --base-url URL, set PLAYWRIGHT_BASE_URL, or set target.base_url in flows.toml",
                ));
            } else {
                lines.push(CheckLine::pass(
                    "target",
                    Area::Target,
                    "none needed: every step reads mail from a mail catcher",
                ));
            }
            None
        }
    };
    match &base_url {
        Some(base) => {
            let answered = target_line(&http, base).await;
            let up = answered.status == Status::Pass;
            lines.push(answered);
            if up {
                lines.extend(health_lines(config, base, &http).await);
                lines.push(mail_line(config, base, &http).await);
            } else {
                for name in ["health", "secret", "mail source"] {
                    lines.push(CheckLine::skip(
                        name,
                        Area::Target,
                        "the target does not answer",
                    ));
                }
            }
        }
        None => {
            // A suite without a target can still read a mail catcher.
            if config.mail.source != MailSourceKind::StagingEndpoint {
                lines.push(mail_line(config, "", &http).await);
            }
        }
    }
    if let Some(s) = server {
        s.stop(false).await;
    }
    lines
}

/// The base URL answers at all (a 4xx is an answer: a login wall or no page at `/`).
async fn target_line(http: &Http, base: &str) -> CheckLine {
    let started = Instant::now();
    match http.get(base).timeout(Duration::from_secs(15)).send().await {
        Ok(resp) if resp.status().is_server_error() => CheckLine::fail(
            "target",
            Area::Target,
            format!("{base} answered {}", resp.status()),
            "the app is up but failing: see its logs",
        ),
        Ok(resp) => CheckLine::pass(
            "target",
            Area::Target,
            format!(
                "{base} answered {} in {}",
                resp.status(),
                crate::human::elapsed(started.elapsed().as_millis() as u64)
            ),
        ),
        Err(e) => CheckLine::fail(
            "target",
            Area::Target,
            crate::net::describe_error(base, &e),
            "start the app, or correct --base-url / PLAYWRIGHT_BASE_URL / target.base_url",
        ),
    }
}

/// The health pre-check a run does (`exec::health::run`), shown as two lines: the health
/// endpoints, and the secret (the guarded staging endpoint's answer).
async fn health_lines(config: &Config, base: &str, http: &Http) -> Vec<CheckLine> {
    let redactor = crate::redact::Redactor::new();
    if let Some(s) = &config.secret {
        redactor.add(&s.value);
    }
    let report = crate::exec::health::run(config, base, http, &redactor).await;
    let endpoints: Vec<&EndpointCheck> = report
        .checks
        .iter()
        .filter(|c| c.kind != CheckKind::Staging)
        .collect();
    let failing: Vec<String> = endpoints
        .iter()
        .filter(|c| c.verdict != crate::events::Verdict::Pass)
        .map(|c| {
            let down: Vec<String> = c
                .services
                .iter()
                .filter(|s| {
                    !matches!(
                        s.status.to_ascii_lowercase().as_str(),
                        "ok" | "up" | "healthy" | "pass" | "passing"
                    )
                })
                .map(|s| format!("{} ({})", s.name, s.status))
                .collect();
            if down.is_empty() {
                format!(
                    "{}: {}",
                    c.url,
                    c.error.clone().unwrap_or_else(|| "failed".into())
                )
            } else {
                format!("{}: {}", c.url, down.join(", "))
            }
        })
        .collect();
    let mut lines = Vec::new();
    lines.push(if !config.health.enabled {
        CheckLine::skip(
            "health",
            Area::Target,
            "[health] enabled = false: runs skip the pre-check",
        )
    } else if failing.is_empty() {
        let urls: Vec<&str> = endpoints.iter().map(|c| c.url.as_str()).collect();
        CheckLine::pass(
            "health",
            Area::Target,
            format!("{} ({})", health_summary(&report), urls.join(", ")),
        )
    } else {
        CheckLine::fail(
            "health",
            Area::Target,
            failing.join("; "),
            "bring the failing services up; an app without an aggregate health endpoint sets [health] path to a page that answers 200",
        )
    });
    lines.push(secret_line(config, &report.checks));
    lines
}

/// The summary without the staging check's part (it has its own line).
fn health_summary(report: &crate::exec::health::HealthReport) -> String {
    let mut without_staging = report.clone();
    without_staging
        .checks
        .retain(|c| c.kind != CheckKind::Staging);
    without_staging.summary()
}

/// The staging E2E secret: set, and accepted by the guarded health endpoint; each refusal
/// explained (401 no header arrived, 403 wrong value, 404 staging mode off or another path).
fn secret_line(config: &Config, checks: &[EndpointCheck]) -> CheckLine {
    let Some(secret) = &config.secret else {
        return if config.mail.source == MailSourceKind::StagingEndpoint {
            CheckLine::fail(
                "secret",
                Area::Config,
                "the staging E2E secret is not set, and the mail source is the staging endpoint, which needs it",
                "export STAGING_E2E_SECRET (or the variable target.secret_env names) with the value the app's staging E2E mode was deployed with, or put it in flows/.env; an app without the staging contract sets [mail] source = \"maildev\" or \"mailpit\"",
            )
        } else {
            CheckLine::skip(
                "secret",
                Area::Target,
                "not set: the staging E2E endpoints are not used",
            )
        };
    };
    let Some(check) = checks.iter().find(|c| c.kind == CheckKind::Staging) else {
        return CheckLine::skip("secret", Area::Target, "the health check did not run");
    };
    let header = &config.secret_header;
    let origin = &secret.origin;
    match check.status {
        Some(code) if (200..300).contains(&code) => CheckLine::pass(
            "secret",
            Area::Target,
            format!("accepted by {} ({header}, from {origin})", check.url),
        ),
        Some(401) => CheckLine::fail(
            "secret",
            Area::Target,
            format!("401 from {}: the app saw no secret in its header", check.url),
            format!("the app must read the header flows sends (`{header}`): set target.secret_header to the app's name for it; a proxy in front of the app may strip unknown headers"),
        ),
        Some(403) => CheckLine::fail(
            "secret",
            Area::Target,
            format!("403 from {}: the app rejected the secret ({origin})", check.url),
            "set the secret to the value the app's staging E2E mode was deployed with (STAGING_E2E_SECRET, or flows/.env)",
        ),
        Some(404) => CheckLine::fail(
            "secret",
            Area::Target,
            format!("404 from {}: no staging E2E endpoint there", check.url),
            "turn on the app's staging E2E mode (the demo helpdesk: --staging / STAGING_E2E_ENABLED=true), or set [health] staging_path to its path",
        ),
        _ => CheckLine::fail(
            "secret",
            Area::Target,
            format!(
                "{}: {}",
                check.url,
                check.error.clone().unwrap_or_else(|| "no answer".into())
            ),
            "see whether the app's staging E2E endpoint is healthy",
        ),
    }
}

/// The configured mail source answers a listing for the first user's mailbox.
async fn mail_line(config: &Config, base: &str, http: &Http) -> CheckLine {
    let cfg = match crate::exec::step::mail::source_config(config, base) {
        Ok(c) => c,
        Err(e) => return CheckLine::skip("mail source", Area::Target, e),
    };
    let source = crate::mail::build_source(&cfg, http.clone());
    let mailbox = config
        .users
        .values()
        .next()
        .map_or("doctor@flows.invalid", |u| u.email.as_str());
    let listed = tokio::time::timeout(Duration::from_secs(20), source.list(mailbox, None)).await;
    let fixed = config.mail.fixed_otp.as_ref().map_or(String::new(), |s| {
        format!(
            "; note: codes come from {} (mail not read for OTPs)",
            s.origin
        )
    });
    match listed {
        Ok(Ok(messages)) => CheckLine::pass(
            "mail source",
            Area::Target,
            format!(
                "{} answered for {mailbox} ({} message{}){fixed}",
                source.name(),
                messages.len(),
                if messages.len() == 1 { "" } else { "s" }
            ),
        ),
        Ok(Err(e)) => CheckLine::fail(
            "mail source",
            Area::Target,
            e.to_string(),
            match config.mail.source {
                MailSourceKind::StagingEndpoint => "the staging mail report needs the app's staging E2E mode and the secret (see `secret`); or set [mail] source to maildev/mailpit with its url",
                MailSourceKind::MailDev | MailSourceKind::Mailpit => "start the mail catcher, or correct [mail] url",
            },
        ),
        Err(_) => CheckLine::fail(
            "mail source",
            Area::Target,
            format!("{} did not answer within 20s", source.name()),
            "see whether the mail source is overloaded or behind a firewall",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secret: Option<&'static str>) -> Config {
        let env = move |name: &str| {
            (name == "STAGING_E2E_SECRET")
                .then(|| secret.map(str::to_owned))
                .flatten()
        };
        Config::from_str(
            std::path::Path::new("flows/flows.toml"),
            "[target]\nbase_url = \"http://app.test\"\n",
            &env,
            &crate::config::CliOverrides::default(),
        )
        .expect("config")
    }

    fn staging(status: Option<u16>) -> EndpointCheck {
        EndpointCheck {
            kind: CheckKind::Staging,
            name: "staging-e2e-health".into(),
            url: "http://app.test/staging/e2e/health".into(),
            verdict: crate::events::Verdict::Failed,
            status,
            duration_ms: 1,
            services: vec![],
            error: Some("no answer".into()),
            body: None,
        }
    }

    /// Each refusal of the guarded endpoint says what it means and what to change.
    #[test]
    fn every_refusal_of_the_secret_is_explained() {
        let with = config(Some("s3cret-value"));
        let cases = [
            (Some(401), "saw no secret", "target.secret_header"),
            (Some(403), "rejected the secret", "deployed with"),
            (Some(404), "no staging E2E endpoint", "staging_path"),
            (None, "no answer", "healthy"),
        ];
        for (status, detail, fix) in cases {
            let line = secret_line(&with, &[staging(status)]);
            assert_eq!(line.status, Status::Fail, "{status:?}");
            assert!(line.detail.contains(detail), "{status:?}: {line:?}");
            assert!(
                line.fix.as_deref().is_some_and(|f| f.contains(fix)),
                "{status:?}: {line:?}"
            );
            assert!(!line.detail.contains("s3cret-value"), "{line:?}");
        }
        let accepted = secret_line(&with, &[staging(Some(200))]);
        assert_eq!(accepted.status, Status::Pass, "{accepted:?}");
        // Unset while the mail source is the staging endpoint (the default): a config problem.
        let without = secret_line(&config(None), &[]);
        assert_eq!((without.status, without.area), (Status::Fail, Area::Config));
    }
}
