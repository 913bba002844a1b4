//! A Server-Sent Events client over reqwest's streaming body.
//!
//! The stream must answer 200 with `Content-Type: text/event-stream`; anything else is an
//! error that says what came instead (a redirect to a login page is the usual one). Events are
//! parsed as the WHATWG spec says: `event:`, multi-line `data:`, `id:`, `retry:`, and comment
//! lines (`: heartbeat`), which are recorded as `sse:heartbeat` so a waiting step can tell a
//! silent app from a dead stream.

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, COOKIE,
};
use serde_json::Value;
use tokio::sync::oneshot;

use super::buffer::Buffer;
use super::event::data_value;
use super::subscription::SubscriptionKind;
use super::{RealtimeError, Subscription};

/// How to open an SSE subscription.
#[derive(Clone)]
pub struct SseOptions {
    /// The subscription's name in the flow.
    pub name: String,
    pub url: url::Url,
    /// The user's cookies as a `Cookie` header value.
    pub cookie: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for SseOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseOptions")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("cookie", &self.cookie.as_ref().map(|_| "<redacted>"))
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Opens the stream and checks status and content type; events are recorded from then on.
pub async fn subscribe_sse(
    opts: SseOptions,
    http: &crate::net::Http,
    deadline: Instant,
) -> Result<Subscription, RealtimeError> {
    let shown = opts.url.as_str().to_owned();
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(cookie) = &opts.cookie {
        let mut v = HeaderValue::from_str(cookie).map_err(|_| RealtimeError::BadUrl {
            url: shown.clone(),
            reason: "the cookies are not a valid header value".into(),
        })?;
        v.set_sensitive(true);
        headers.insert(COOKIE, v);
    }
    for (k, v) in &opts.headers {
        let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) else {
            return Err(RealtimeError::BadUrl {
                url: shown,
                reason: format!("header {k:?} is not a valid header"),
            });
        };
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let opened_at = Instant::now();
    let budget = deadline.saturating_duration_since(opened_at);
    // No reqwest timeout here: it would cut the stream itself. Only the headers are bounded.
    let send = http.get(opts.url.clone()).headers(headers).send();
    let resp = match tokio::time::timeout(budget, send).await {
        Err(_) => {
            return Err(RealtimeError::ConnectTimeout {
                url: shown,
                waited: budget,
            })
        }
        Ok(Err(error)) if crate::net::is_untrusted_certificate(&error) => {
            return Err(RealtimeError::UntrustedCertificate {
                message: crate::net::untrusted_certificate_message(&shown),
            })
        }
        Ok(Err(error)) => return Err(RealtimeError::SseRequest { url: shown, error }),
        Ok(Ok(resp)) => resp,
    };
    let hint = if resp.url().path() != opts.url.path() {
        format!(" (redirected to {}: not logged in?)", resp.url().path())
    } else {
        String::new()
    };
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(RealtimeError::SseStatus {
            url: shown,
            status,
            hint,
        });
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "text/event-stream" {
        return Err(RealtimeError::SseContentType {
            url: shown,
            content_type,
            hint,
        });
    }
    tracing::debug!(url = %shown, "sse stream open");

    let buffer = Arc::new(Buffer::new());
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(read_loop(resp, buffer.clone(), stop_rx));
    Ok(Subscription::new(
        opts.name,
        SubscriptionKind::Sse,
        opts.url.path().to_owned(),
        buffer,
        opened_at,
        stop_tx,
        task,
    ))
}

async fn read_loop(resp: reqwest::Response, buffer: Arc<Buffer>, mut stop: oneshot::Receiver<()>) {
    let mut body = resp.bytes_stream();
    let mut parser = SseParser::default();
    loop {
        tokio::select! {
            _ = &mut stop => {
                buffer.close("closed by the runner".into());
                return;
            }
            chunk = body.next() => match chunk {
                Some(Ok(bytes)) => {
                    for item in parser.feed(&bytes) {
                        match item {
                            SseItem::Event { event, data, id, size } => {
                                buffer.push(event, None, data_value(&data), id, size);
                            }
                            SseItem::Comment { text, size } => {
                                buffer.push("sse:heartbeat".into(), None, Value::String(text), None, size);
                            }
                        }
                    }
                }
                Some(Err(e)) => {
                    buffer.close(format!("the stream failed: {e}"));
                    return;
                }
                None => {
                    buffer.close("end of stream".into());
                    return;
                }
            }
        }
    }
}

/// What the parser hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SseItem {
    Event {
        event: String,
        data: String,
        id: Option<String>,
        /// Bytes of the event block on the wire.
        size: usize,
    },
    Comment {
        text: String,
        size: usize,
    },
}

/// Incremental `text/event-stream` parser (WHATWG HTML, "Server-sent events").
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    pending: Vec<u8>,
    started: bool,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    /// The last `retry:` value in milliseconds (kept; reconnecting is not this client's job).
    pub retry_ms: Option<u64>,
    block_bytes: usize,
}

impl SseParser {
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseItem> {
        self.pending.extend_from_slice(chunk);
        if !self.started && self.pending.len() >= 3 {
            self.started = true;
            if self.pending.starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.pending.drain(..3);
            }
        }
        let mut out = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let mut consumed = end + 1;
            if self.pending[end] == b'\r' {
                match self.pending.get(end + 1) {
                    Some(b'\n') => consumed += 1,
                    Some(_) => {}
                    // A `\r` at the end of a chunk may be half of `\r\n`: wait for more.
                    None => break,
                }
            }
            let line = String::from_utf8_lossy(&self.pending[..end]).into_owned();
            self.pending.drain(..consumed);
            self.block_bytes += consumed;
            self.line(&line, consumed, &mut out);
        }
        out
    }

    fn line(&mut self, line: &str, wire_bytes: usize, out: &mut Vec<SseItem>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            out.push(SseItem::Comment {
                text: comment.trim().to_owned(),
                size: wire_bytes,
            });
            if !self.has_data && self.event.is_empty() {
                // A comment outside an event does not count towards the next event's size.
                self.block_bytes = 0;
            }
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => {
                self.last_id = (!value.is_empty()).then(|| value.to_owned());
            }
            "retry" => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseItem>) {
        let size = std::mem::take(&mut self.block_bytes);
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(SseItem::Event {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            size,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<SseItem> {
        let mut p = SseParser::default();
        chunks.iter().flat_map(|c| p.feed(c)).collect()
    }

    #[test]
    fn parses_events_across_chunks_and_line_endings() {
        let items = events(&[
            b"\xEF\xBB\xBFevent: ready\ndata: {\"unread\":0}\n\n",
            b": heartbeat\r\n\r\nid: 7\r\nevent: notification.created\r\ndata: line one\r",
            b"\ndata:line two\r\n\r\ndata: plain\n\nevent: nodata\n\n",
        ]);
        assert_eq!(
            items,
            vec![
                SseItem::Event {
                    event: "ready".into(),
                    data: "{\"unread\":0}".into(),
                    id: None,
                    size: 33,
                },
                SseItem::Comment {
                    text: "heartbeat".into(),
                    size: 13,
                },
                SseItem::Event {
                    event: "notification.created".into(),
                    data: "line one\nline two".into(),
                    id: Some("7".into()),
                    size: 69,
                },
                SseItem::Event {
                    event: "message".into(),
                    data: "plain".into(),
                    id: Some("7".into()),
                    size: 13,
                },
            ]
        );
    }

    #[test]
    fn keeps_retry_and_ignores_unknown_fields() {
        let mut p = SseParser::default();
        let items = p.feed(b"retry: 3000\nfoo: bar\ndata\n\n");
        assert_eq!(p.retry_ms, Some(3000));
        assert_eq!(
            items,
            vec![SseItem::Event {
                event: "message".into(),
                data: String::new(),
                id: None,
                size: 27,
            }]
        );
    }
}
