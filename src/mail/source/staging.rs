//! The app's own capture endpoint (the staging contract):
//! `GET {base}/staging/e2e/mail-report?emails=a@x&since=RFC3339` with the secret in
//! `X-Staging-E2E-Secret`, answering `{"mailboxes": {"a@x": [{id, to, subject, received_at,
//! raw, otp, magic_url}]}}`. The runner parses `raw` itself; `otp` and `magic_url` are kept as
//! hints to compare against, never as the answer.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::cache::MailCache;
use super::http;
use super::{Listed, MailSource, SourceHints};
use crate::mail::MailError;

const NAME: &str = "staging endpoint";

/// Reads `/staging/e2e/mail-report`.
pub struct StagingSource {
    http: crate::net::Http,
    base_url: String,
    path: String,
    header: String,
    secret: String,
    cache: MailCache,
}

impl StagingSource {
    pub fn new(
        http: impl Into<crate::net::Http>,
        base_url: impl Into<String>,
        path: impl Into<String>,
        header: impl Into<String>,
        secret: impl Into<String>,
    ) -> StagingSource {
        StagingSource {
            http: http.into(),
            base_url: base_url.into(),
            path: path.into(),
            header: header.into(),
            secret: secret.into(),
            cache: MailCache::default(),
        }
    }

    fn headers(&self) -> Result<HeaderMap, MailError> {
        let bad = |reason: &str| MailError::BadUrl {
            source_name: NAME.into(),
            url: self.base_url.clone(),
            reason: reason.into(),
        };
        let name = HeaderName::from_bytes(self.header.as_bytes())
            .map_err(|_| bad("the secret header name is not a valid HTTP header name"))?;
        let mut value = HeaderValue::from_str(&self.secret)
            .map_err(|_| bad("the secret is not a valid HTTP header value"))?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(headers)
    }

    async fn fetch_report(
        &self,
        mailbox: &str,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<Listed>, MailError> {
        let mut url = http::join(NAME, &self.base_url, &self.path)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("emails", mailbox);
            if let Some(since) = since.and_then(|s| s.format(&Rfc3339).ok()) {
                q.append_pair("since", &since);
            }
        }
        let body = match http::get(&self.http, NAME, &url, self.headers()?).await {
            Err(MailError::Status { status: 404, .. }) => {
                return Err(MailError::NotEnabled {
                    source_name: NAME.into(),
                    url: url.as_str().to_owned(),
                })
            }
            other => other?,
        };
        let report: Report = http::json(NAME, &url, &body)?;
        let entries = report
            .mailboxes
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(mailbox))
            .map(|(_, v)| v)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let id = match &e.id {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let Some(raw) = e.raw else {
                return Err(MailError::Response {
                    source_name: NAME.into(),
                    url: url.as_str().to_owned(),
                    reason: format!("message {id} has no `raw` source"),
                });
            };
            let received_at = http::timestamp(e.received_at.as_deref());
            if let (Some(since), Some(at)) = (since, received_at) {
                if at < since {
                    continue;
                }
            }
            out.push(Listed {
                id,
                to: e.to.unwrap_or_else(|| mailbox.to_owned()),
                subject: e.subject,
                received_at,
                dated: None,
                size: Some(raw.len() as u64),
                raw: Some(raw.into_bytes()),
                hints: SourceHints {
                    otp: e.otp.filter(|s| !s.is_empty()),
                    magic_url: e.magic_url.filter(|s| !s.is_empty()),
                },
            });
        }
        Ok(out)
    }
}

impl MailSource for StagingSource {
    fn name(&self) -> &str {
        NAME
    }

    fn list<'a>(
        &'a self,
        mailbox: &'a str,
        since: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, Result<Vec<Listed>, MailError>> {
        Box::pin(self.fetch_report(mailbox, since))
    }

    /// The report carries every message's raw source; a listed message without one was
    /// refused when the report was read.
    fn raw<'a>(&'a self, listed: &'a Listed) -> BoxFuture<'a, Result<Vec<u8>, MailError>> {
        let raw = listed.raw.clone().ok_or_else(|| MailError::Response {
            source_name: NAME.into(),
            url: self.base_url.clone(),
            reason: format!("message {} has no `raw` source", listed.id),
        });
        Box::pin(async move { raw })
    }

    fn cache(&self) -> &MailCache {
        &self.cache
    }
}

#[derive(Deserialize)]
struct Report {
    mailboxes: HashMap<String, Vec<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    id: serde_json::Value,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    received_at: Option<String>,
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    otp: Option<String>,
    #[serde(default)]
    magic_url: Option<String>,
}
