//! MailDev's REST API (MailDev 2.x): `GET /email?envelope.to.address=ADDR` lists the messages
//! delivered to one address (MailDev filters on the SMTP envelope, exact text) with their
//! parsed headers; `GET /email/:id/source` is the raw message, fetched only for candidates.
//!
//! MailDev records no receive time for a message that has a `Date:` header: its `time` is that
//! header (sender's clock, whole seconds). The runner therefore also watches MailDev's
//! socket.io stream (`newMail`): a message announced there has its arrival by the runner's
//! own clock, whatever its Date says.

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use time::OffsetDateTime;

use super::cache::MailCache;
use super::http;
use super::watch::{Protocol, Watch};
use super::{Listed, MailSource, SourceHints};
use crate::mail::MailError;

const NAME: &str = "maildev";

/// Reads a MailDev web API (`http://host:1080`).
pub struct MailDevSource {
    http: crate::net::Http,
    url: String,
    cache: MailCache,
    watch: Option<Watch>,
}

impl MailDevSource {
    /// A source that polls only.
    pub fn new(http: impl Into<crate::net::Http>, url: impl Into<String>) -> MailDevSource {
        MailDevSource {
            http: http.into(),
            url: url.into(),
            cache: MailCache::default(),
            watch: None,
        }
    }

    /// A source that also watches MailDev's socket.io stream (falling back to polling while
    /// the stream is down).
    pub async fn watching(http: impl Into<crate::net::Http>, url: impl Into<String>) -> Self {
        let mut source = MailDevSource::new(http, url);
        if let Ok(mut ws) = http::join(NAME, &source.url, "/socket.io/") {
            let scheme = if ws.scheme() == "https" { "wss" } else { "ws" };
            if ws.set_scheme(scheme).is_ok() {
                ws.query_pairs_mut()
                    .append_pair("EIO", "4")
                    .append_pair("transport", "websocket");
                source.watch = Some(Watch::start(Protocol::SocketIo, ws).await);
            }
        }
        source
    }

    async fn list_to(&self, mailbox: &str) -> Result<Vec<Listed>, MailError> {
        // MailDev's filter compares exact text; an address written with capitals is also
        // asked for in lower case (what most senders put on the envelope).
        let mut asked = vec![mailbox.to_owned()];
        let lower = mailbox.to_lowercase();
        if lower != mailbox {
            asked.push(lower);
        }
        let mut out: Vec<Listed> = Vec::new();
        for address in asked {
            let mut url = http::join(NAME, &self.url, "/email")?;
            url.query_pairs_mut()
                .append_pair("envelope.to.address", &address);
            let body = http::get(&self.http, NAME, &url, HeaderMap::new()).await?;
            let all: Vec<Email> = http::json(NAME, &url, &body)?;
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
                if !to_us || out.iter().any(|l| l.id == e.id) {
                    continue;
                }
                let time = http::timestamp(e.time.as_deref());
                // `time` is the Date header when the message has one, else the arrival.
                let (received_at, dated) = if e.date.is_some() {
                    (None, time)
                } else {
                    (time, None)
                };
                out.push(Listed {
                    id: e.id,
                    to: mailbox.to_owned(),
                    subject: e.subject,
                    received_at,
                    dated,
                    size: e.size,
                    raw: None,
                    hints: SourceHints::default(),
                });
            }
        }
        Ok(out)
    }

    async fn source_of(&self, id: &str) -> Result<Vec<u8>, MailError> {
        let url = http::join(NAME, &self.url, &format!("/email/{}/source", urlencode(id)))?;
        http::get(&self.http, NAME, &url, HeaderMap::new()).await
    }
}

impl MailSource for MailDevSource {
    fn name(&self) -> &str {
        NAME
    }

    fn list<'a>(
        &'a self,
        mailbox: &'a str,
        _since: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, Result<Vec<Listed>, MailError>> {
        Box::pin(self.list_to(mailbox))
    }

    fn raw<'a>(&'a self, listed: &'a Listed) -> BoxFuture<'a, Result<Vec<u8>, MailError>> {
        Box::pin(self.source_of(&listed.id))
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
struct Email {
    id: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    time: Option<String>,
    /// Present when the message has a Date header (then `time` is that header).
    #[serde(default)]
    date: Option<serde_json::Value>,
    #[serde(default)]
    size: Option<u64>,
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
