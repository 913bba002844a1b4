//! Mailpit's REST API (v1): `GET /api/v1/search?query=to:ADDR` lists matching messages newest
//! first (`messages[]` with `ID`, `To`/`Cc`/`Bcc`, `Subject`, `Created` = when Mailpit received
//! it); `GET /api/v1/message/{ID}/raw` is the raw message. Mailpit's `to:` search matches
//! substrings, so recipients are checked again here.

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use time::OffsetDateTime;

use super::http;
use super::{MailSource, RawMail, SourceHints};
use crate::mail::MailError;

const NAME: &str = "mailpit";

/// How many search results to ask for; a mailbox under test holds far fewer.
const LIMIT: &str = "200";

/// Reads a Mailpit web API (`http://host:8025`).
pub struct MailpitSource {
    http: crate::net::Http,
    url: String,
    raw: http::RawCache,
}

impl MailpitSource {
    pub fn new(http: impl Into<crate::net::Http>, url: impl Into<String>) -> MailpitSource {
        MailpitSource {
            http: http.into(),
            url: url.into(),
            raw: http::RawCache::default(),
        }
    }

    async fn search(
        &self,
        mailbox: &str,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<RawMail>, MailError> {
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
            if http::before_window(since, received_at) {
                continue;
            }
            let path = format!("/api/v1/message/{}/raw", urlencode(&m.id));
            let raw = self
                .raw
                .get_or_fetch(&self.http, NAME, &self.url, &path, &m.id)
                .await?;
            out.push(RawMail {
                id: m.id,
                to: mailbox.to_owned(),
                subject: m.subject,
                received_at,
                raw,
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

    fn fetch<'a>(
        &'a self,
        mailbox: &'a str,
        since: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, Result<Vec<RawMail>, MailError>> {
        Box::pin(self.search(mailbox, since))
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
}

#[derive(Deserialize)]
struct Address {
    #[serde(rename = "Address", default)]
    address: String,
}
