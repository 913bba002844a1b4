//! MailDev's REST API (MailDev 2.x): `GET /email` lists every message with its envelope and
//! parsed headers; `GET /email/:id/source` is the raw message. MailDev's `time` is the message's
//! Date header when it has one (second precision, sender's clock), else the arrival time.

use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use time::OffsetDateTime;

use super::http;
use super::{MailSource, RawMail, SourceHints};
use crate::mail::MailError;

const NAME: &str = "maildev";

/// Reads a MailDev web API (`http://host:1080`).
pub struct MailDevSource {
    http: crate::net::Http,
    url: String,
    /// Raw sources by id: messages never change.
    raw: http::RawCache,
}

impl MailDevSource {
    pub fn new(http: impl Into<crate::net::Http>, url: impl Into<String>) -> MailDevSource {
        MailDevSource {
            http: http.into(),
            url: url.into(),
            raw: http::RawCache::default(),
        }
    }

    async fn list(
        &self,
        mailbox: &str,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<RawMail>, MailError> {
        let url = http::join(NAME, &self.url, "/email")?;
        let body = http::get(&self.http, NAME, &url, HeaderMap::new()).await?;
        let all: Vec<Email> = http::json(NAME, &url, &body)?;
        let mut out = Vec::new();
        for e in all {
            let to_us = e
                .envelope
                .as_ref()
                .map(|env| env.to.iter().flatten())
                .into_iter()
                .flatten()
                .chain(e.to.iter().flatten())
                .chain(e.cc.iter().flatten())
                .any(|a| a.address.eq_ignore_ascii_case(mailbox));
            if !to_us {
                continue;
            }
            let received_at = http::timestamp(e.time.as_deref());
            if http::before_window(since, received_at) {
                continue;
            }
            let path = format!("/email/{}/source", urlencode(&e.id));
            let raw = self
                .raw
                .get_or_fetch(&self.http, NAME, &self.url, &path, &e.id)
                .await?;
            out.push(RawMail {
                id: e.id,
                to: mailbox.to_owned(),
                subject: e.subject,
                received_at,
                raw,
                hints: SourceHints::default(),
            });
        }
        Ok(out)
    }
}

impl MailSource for MailDevSource {
    fn name(&self) -> &str {
        NAME
    }

    fn time_resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn fetch<'a>(
        &'a self,
        mailbox: &'a str,
        since: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, Result<Vec<RawMail>, MailError>> {
        Box::pin(self.list(mailbox, since))
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
struct Email {
    id: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    to: Option<Vec<Address>>,
    #[serde(default)]
    cc: Option<Vec<Address>>,
    #[serde(default)]
    envelope: Option<Envelope>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    to: Option<Vec<Address>>,
}

#[derive(Deserialize)]
struct Address {
    #[serde(default)]
    address: String,
}
