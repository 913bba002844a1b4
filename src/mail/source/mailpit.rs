//! Mailpit's REST API (v1): `GET /api/v1/search?query=to:ADDR` lists matching messages newest
//! first (`messages[]` with `ID`, `To`/`Cc`/`Bcc`, `Subject`, `Created` = when Mailpit received
//! it); `GET /api/v1/message/{ID}/raw` is the raw message. Mailpit's `to:` search matches
//! substrings, so recipients are checked again here. `Created` is Mailpit's own receive time
//! (milliseconds). The websocket `/api/events` announces new messages; while it is up a
//! waiting step wakes on it instead of polling.

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use time::OffsetDateTime;

use super::cache::MailCache;
use super::http;
use super::watch::{Protocol, Watch};
use super::{Listed, MailSource, SourceHints};
use crate::mail::MailError;

const NAME: &str = "mailpit";

/// How many search results to ask for; a mailbox under test holds far fewer.
const LIMIT: &str = "200";

/// Reads a Mailpit web API (`http://host:8025`).
pub struct MailpitSource {
    http: crate::net::Http,
    url: String,
    cache: MailCache,
    watch: Option<Watch>,
}

impl MailpitSource {
    pub fn new(http: impl Into<crate::net::Http>, url: impl Into<String>) -> MailpitSource {
        MailpitSource {
            http: http.into(),
            url: url.into(),
            cache: MailCache::default(),
            watch: None,
        }
    }

    /// A source that also watches Mailpit's `/api/events` websocket (falling back to polling
    /// while it is down).
    pub async fn watching(http: impl Into<crate::net::Http>, url: impl Into<String>) -> Self {
        let mut source = MailpitSource::new(http, url);
        if let Ok(mut ws) = http::join(NAME, &source.url, "/api/events") {
            let scheme = if ws.scheme() == "https" { "wss" } else { "ws" };
            if ws.set_scheme(scheme).is_ok() {
                source.watch = Some(Watch::start(Protocol::MailpitEvents, ws).await);
            }
        }
        source
    }

    async fn raw_of(&self, id: &str) -> Result<Vec<u8>, MailError> {
        let url = http::join(
            NAME,
            &self.url,
            &format!("/api/v1/message/{}/raw", urlencode(id)),
        )?;
        http::get(&self.http, NAME, &url, HeaderMap::new()).await
    }

    async fn search(
        &self,
        mailbox: &str,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<Listed>, MailError> {
        let mut url = http::join(NAME, &self.url, "/api/v1/search")?;
        url.query_pairs_mut()
            .append_pair("query", &format!("to:\"{mailbox}\""))
            .append_pair("limit", LIMIT);
        let body = http::get(&self.http, NAME, &url, HeaderMap::new()).await?;
        let summary: Summary = http::json(NAME, &url, &body)?;
        let mut out = Vec::new();
        // Newest first from Mailpit; oldest first here, as the other sources.
        for m in summary.messages.into_iter().rev() {
            let to_us = [&m.to, &m.cc, &m.bcc]
                .into_iter()
                .flatten()
                .flatten()
                .any(|a| a.address.eq_ignore_ascii_case(mailbox));
            if !to_us {
                continue;
            }
            let received_at = http::timestamp(m.created.as_deref());
            if matches!((since, received_at), (Some(since), Some(at)) if at < since) {
                continue;
            }
            out.push(Listed {
                id: m.id,
                to: mailbox.to_owned(),
                subject: m.subject,
                received_at,
                dated: None,
                size: m.size,
                raw: None,
                hints: SourceHints::default(),
            });
        }
        Ok(out)
    }
}

impl MailSource for MailpitSource {
    fn name(&self) -> &str {
        NAME
    }

    fn list<'a>(
        &'a self,
        mailbox: &'a str,
        since: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, Result<Vec<Listed>, MailError>> {
        Box::pin(self.search(mailbox, since))
    }

    fn raw<'a>(&'a self, listed: &'a Listed) -> BoxFuture<'a, Result<Vec<u8>, MailError>> {
        Box::pin(self.raw_of(&listed.id))
    }

    fn watch(&self) -> Option<&Watch> {
        self.watch.as_ref()
    }

    fn cache(&self) -> &MailCache {
        &self.cache
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "To", default)]
    to: Option<Vec<Address>>,
    #[serde(rename = "Cc", default)]
    cc: Option<Vec<Address>>,
    #[serde(rename = "Bcc", default)]
    bcc: Option<Vec<Address>>,
    #[serde(rename = "Subject", default)]
    subject: Option<String>,
    #[serde(rename = "Created", default)]
    created: Option<String>,
    #[serde(rename = "Size", default)]
    size: Option<u64>,
}

#[derive(Deserialize)]
struct Address {
    #[serde(rename = "Address", default)]
    address: String,
}
