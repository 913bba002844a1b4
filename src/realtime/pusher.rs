//! A Pusher channels protocol client, as Laravel Reverb (and pusher-js) speak it.
//!
//! Connect to `ws://host/app/KEY?protocol=7&client=flows&version=…`, read
//! `pusher:connection_established` (its `data` is JSON text carrying `socket_id` and
//! `activity_timeout`), authorise `private-`/`presence-` channels by POSTing `socket_id` and
//! `channel_name` to the app's auth endpoint with the user's cookies (answer
//! `{"auth": "key:signature"}`), send `pusher:subscribe`, and wait for
//! `pusher_internal:subscription_succeeded` or `pusher:error`. The reader task answers
//! `pusher:ping` with `pusher:pong`, pings the server itself after `activity_timeout` of
//! silence, and records every frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, COOKIE};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{self, Message};

use super::buffer::Buffer;
use super::error::ConnectionClosed;
use super::event::data_value;
use super::subscription::{SubscriptionKind, WaitEnd};
use super::{RealtimeError, Subscription};

/// Pusher protocol version spoken.
const PROTOCOL: &str = "7";
/// Silence after which the client pings, until the server announces its own figure.
const DEFAULT_ACTIVITY: Duration = Duration::from_secs(120);
/// The auth request may take this long at most (it is bounded by the deadline too).
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// How to open a Pusher subscription.
#[derive(Clone)]
pub struct PusherOptions {
    /// The subscription's name in the flow (`subscribe: { id: bell }`).
    pub name: String,
    /// `ws://host/app/KEY` (an `http(s)://` URL is taken as `ws(s)://`). Protocol query
    /// parameters are added when missing.
    pub url: url::Url,
    pub channel: String,
    /// Needed for `private-`/`presence-` channels (`https://app/broadcasting/auth`).
    pub auth_endpoint: Option<url::Url>,
    /// The user's cookies as a `Cookie` header value (`a=1; b=2`), sent to the auth endpoint.
    pub cookie: Option<String>,
    /// Extra headers for the auth request, e.g. `X-CSRF-TOKEN` / `X-XSRF-TOKEN`.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for PusherOptions {
    // Cookies and CSRF tokens are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PusherOptions")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("channel", &self.channel)
            .field(
                "auth_endpoint",
                &self.auth_endpoint.as_ref().map(url::Url::as_str),
            )
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

/// Connects, authorises and subscribes; returns once the server confirmed the subscription.
/// Every frame from the first one on is in the subscription's buffer.
pub async fn subscribe_pusher(
    opts: PusherOptions,
    http: &crate::net::Http,
    deadline: Instant,
) -> Result<Subscription, RealtimeError> {
    let url = websocket_url(&opts.url)?;
    let shown = redacted_url(&url);
    let opened_at = Instant::now();
    // Basic auth for the target's origins, and the target's certificate policy.
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(url.as_str())
        .map_err(|error| RealtimeError::Connect {
            url: shown.clone(),
            error,
        })?;
    if let Some(value) = http.authorization_for(url.as_str()) {
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
    }
    let connect = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        false,
        http.websocket_connector(),
    );
    let budget = deadline.saturating_duration_since(opened_at);
    let (ws, _response) = match tokio::time::timeout(budget, connect).await {
        Err(_) => {
            return Err(RealtimeError::ConnectTimeout {
                url: shown,
                waited: budget,
            })
        }
        Ok(Err(tungstenite::Error::Http(resp))) => {
            return Err(RealtimeError::Upgrade {
                url: shown,
                status: resp.status().as_u16(),
            })
        }
        Ok(Err(tungstenite::Error::Url(tungstenite::error::UrlError::TlsFeatureNotEnabled))) => {
            return Err(RealtimeError::BadUrl {
                url: shown,
                reason: "wss:// needs websocket TLS support, which this build of flows lacks"
                    .into(),
            })
        }
        Ok(Err(error)) if crate::net::is_untrusted_certificate(&error) => {
            return Err(RealtimeError::UntrustedCertificate {
                message: crate::net::untrusted_certificate_message(&shown),
            })
        }
        Ok(Err(error)) => return Err(RealtimeError::Connect { url: shown, error }),
        Ok(Ok(pair)) => pair,
    };
    tracing::debug!(url = %shown, channel = %opts.channel, "pusher websocket open");

    let buffer = Arc::new(Buffer::new());
    let (out_tx, out_rx) = mpsc::unbounded_channel::<String>();
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(read_loop(ws, buffer.clone(), out_rx, stop_rx));
    let mut sub = Subscription::new(
        opts.name.clone(),
        SubscriptionKind::Pusher,
        opts.channel.clone(),
        buffer,
        opened_at,
        stop_tx,
        task,
    );

    // 1. The greeting.
    let hello = sub
        .wait_until(opened_at, deadline, |f| {
            f.event == "pusher:connection_established" || f.event == "pusher:error"
        })
        .await
        .map_err(|end| handshake_failed(&sub, end, "pusher:connection_established", &shown))?;
    if hello.event == "pusher:error" {
        return Err(pusher_error("the connection".into(), &hello.data));
    }
    let Some(socket_id) = hello.data.get("socket_id").and_then(Value::as_str) else {
        return Err(RealtimeError::Protocol(format!(
            "pusher:connection_established from {shown} carries no socket_id"
        )));
    };
    let socket_id = socket_id.to_owned();
    sub.set_socket_id(socket_id.clone());

    // 2. Channel auth for private and presence channels.
    let mut subscribe = json!({ "channel": opts.channel });
    if opts.channel.starts_with("private-") || opts.channel.starts_with("presence-") {
        let (auth, channel_data) = authorise(&opts, http, &socket_id, deadline).await?;
        subscribe["auth"] = Value::String(auth);
        if let Some(cd) = channel_data {
            subscribe["channel_data"] = Value::String(cd);
        }
    }

    // 3. Subscribe and wait for the answer.
    let asked = Instant::now();
    let frame = json!({ "event": "pusher:subscribe", "data": subscribe }).to_string();
    if out_tx.send(frame).is_err() {
        return Err(handshake_failed(
            &sub,
            WaitEnd::Deadline,
            "pusher_internal:subscription_succeeded",
            &shown,
        ));
    }
    let channel = opts.channel.clone();
    let answer = sub
        .wait_until(asked, deadline, |f| {
            (f.event == "pusher_internal:subscription_succeeded"
                && f.channel.as_deref() == Some(channel.as_str()))
                || f.event == "pusher:error"
                || (f.event == "pusher:subscription_error"
                    && f.channel.as_deref().is_none_or(|c| c == channel))
        })
        .await
        .map_err(|end| {
            handshake_failed(&sub, end, "pusher_internal:subscription_succeeded", &shown)
        })?;
    if answer.event != "pusher_internal:subscription_succeeded" {
        return Err(pusher_error(
            format!("the subscription to {}", opts.channel),
            &answer.data,
        ));
    }
    tracing::info!(channel = %opts.channel, "pusher channel subscribed");
    // Nothing more to send from here; the task answers pings on its own.
    drop(out_tx);
    Ok(sub)
}

/// `ws(s)://…?protocol=7&client=flows&version=…` from what the caller gave.
fn websocket_url(given: &url::Url) -> Result<url::Url, RealtimeError> {
    let mut url = given.clone();
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => {
            return Err(RealtimeError::BadUrl {
                url: given.as_str().to_owned(),
                reason: format!("scheme {other:?} is not ws, wss, http or https"),
            })
        }
    };
    if url.set_scheme(scheme).is_err() {
        return Err(RealtimeError::BadUrl {
            url: given.as_str().to_owned(),
            reason: "cannot use it as a websocket url".into(),
        });
    }
    if !url.query_pairs().any(|(k, _)| k == "protocol") {
        url.query_pairs_mut()
            .append_pair("protocol", PROTOCOL)
            .append_pair("client", "flows")
            .append_pair("version", env!("CARGO_PKG_VERSION"));
    }
    Ok(url)
}

/// The URL for messages: the app key in the path is public, but drop any query secrets.
fn redacted_url(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

fn handshake_failed(
    sub: &Subscription,
    end: WaitEnd,
    waiting_for: &str,
    url: &str,
) -> RealtimeError {
    match end {
        WaitEnd::Deadline => RealtimeError::ConnectTimeout {
            url: format!("{url} (waiting for {waiting_for})"),
            waited: Instant::now().saturating_duration_since(sub.opened_at()),
        },
        WaitEnd::Closed(c) => RealtimeError::Closed(Box::new(ConnectionClosed {
            what: "connection",
            after: c.at.saturating_duration_since(sub.opened_at()),
            reason: c.reason,
            event: waiting_for.to_owned(),
            target: sub.target().to_owned(),
            received: sub
                .frames()
                .iter()
                .map(|f| f.event.clone())
                .collect::<Vec<_>>()
                .join(", "),
        })),
    }
}

fn pusher_error(what: String, data: &Value) -> RealtimeError {
    RealtimeError::Pusher {
        what,
        code: data.get("code").and_then(Value::as_i64),
        message: data
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| data.as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

/// POSTs the channel auth request; returns `(auth, channel_data)`.
async fn authorise(
    opts: &PusherOptions,
    http: &crate::net::Http,
    socket_id: &str,
    deadline: Instant,
) -> Result<(String, Option<String>), RealtimeError> {
    let Some(endpoint) = &opts.auth_endpoint else {
        return Err(RealtimeError::Protocol(format!(
            "channel {} is private but no auth endpoint was given",
            opts.channel
        )));
    };
    let shown = endpoint.as_str().to_owned();
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(
        HeaderName::from_static("x-requested-with"),
        HeaderValue::from_static("XMLHttpRequest"),
    );
    if let Some(cookie) = &opts.cookie {
        let mut v = HeaderValue::from_str(cookie).map_err(|_| RealtimeError::AuthResponse {
            url: shown.clone(),
            reason: "cannot be sent the given cookies (not a valid header value)".into(),
        })?;
        v.set_sensitive(true);
        headers.insert(COOKIE, v);
    }
    for (k, v) in &opts.headers {
        let name = HeaderName::from_bytes(k.as_bytes());
        let value = HeaderValue::from_str(v);
        let (Ok(name), Ok(mut value)) = (name, value) else {
            return Err(RealtimeError::AuthResponse {
                url: shown,
                reason: format!("cannot be sent header {k:?} (not a valid header)"),
            });
        };
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let timeout = deadline
        .saturating_duration_since(Instant::now())
        .clamp(Duration::from_millis(500), AUTH_TIMEOUT);
    let resp = http
        .post(endpoint.clone())
        .headers(headers)
        .form(&[
            ("socket_id", socket_id),
            ("channel_name", opts.channel.as_str()),
        ])
        .timeout(timeout)
        .send()
        .await
        .map_err(|error| RealtimeError::AuthRequest {
            url: shown.clone(),
            error,
        })?;
    let status = resp.status().as_u16();
    let final_url = resp.url().clone();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp
        .bytes()
        .await
        .map_err(|error| RealtimeError::AuthRequest {
            url: shown.clone(),
            error,
        })?;
    if status == 401 || status == 403 || status == 419 {
        return Err(RealtimeError::AuthRejected {
            url: shown,
            channel: opts.channel.clone(),
            status,
        });
    }
    if !(200..300).contains(&status) {
        return Err(RealtimeError::AuthResponse {
            url: shown,
            reason: format!("answered {status}"),
        });
    }
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let Some(auth) = parsed
        .as_ref()
        .and_then(|v| v.get("auth"))
        .and_then(Value::as_str)
    else {
        let redirected = if final_url.path() != endpoint.path() {
            format!(" (redirected to {}: not logged in?)", final_url.path())
        } else {
            String::new()
        };
        return Err(RealtimeError::AuthResponse {
            url: shown,
            reason: format!(
                "answered {status} {content_type:?} without an \"auth\" value{redirected}"
            ),
        });
    };
    let channel_data = parsed
        .as_ref()
        .and_then(|v| v.get("channel_data"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((auth.to_owned(), channel_data))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads frames into the buffer until the connection ends or the runner stops it.
async fn read_loop(
    mut ws: Socket,
    buffer: Arc<Buffer>,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut activity = DEFAULT_ACTIVITY;
    let mut last_heard = tokio::time::Instant::now();
    let mut outgoing_open = true;
    loop {
        let ping_at = last_heard + activity;
        tokio::select! {
            _ = &mut stop => {
                let _ = ws.close(None).await;
                buffer.close("closed by the runner".into());
                return;
            }
            out = outgoing.recv(), if outgoing_open => match out {
                Some(text) => {
                    if let Err(e) = ws.send(Message::text(text)).await {
                        buffer.close(format!("sending failed: {e}"));
                        return;
                    }
                }
                None => outgoing_open = false,
            },
            () = tokio::time::sleep_until(ping_at) => {
                let ping = json!({ "event": "pusher:ping", "data": {} }).to_string();
                if let Err(e) = ws.send(Message::text(ping)).await {
                    buffer.close(format!("sending a ping failed: {e}"));
                    return;
                }
                last_heard = tokio::time::Instant::now();
            }
            msg = ws.next() => {
                last_heard = tokio::time::Instant::now();
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        let text = text.as_str();
                        let frame = data_value(text);
                        let event = frame
                            .get("event")
                            .and_then(Value::as_str)
                            .unwrap_or("(no event)")
                            .to_owned();
                        let channel = frame.get("channel").and_then(Value::as_str).map(str::to_owned);
                        let data = match frame.get("data") {
                            Some(Value::String(s)) => data_value(s),
                            Some(v) => v.clone(),
                            None => Value::Null,
                        };
                        if event == "pusher:ping" {
                            let pong = json!({ "event": "pusher:pong", "data": {} }).to_string();
                            if let Err(e) = ws.send(Message::text(pong)).await {
                                buffer.close(format!("answering a ping failed: {e}"));
                                return;
                            }
                        }
                        if event == "pusher:connection_established" {
                            if let Some(secs) = data.get("activity_timeout").and_then(Value::as_u64) {
                                activity = Duration::from_secs(secs.clamp(1, 3600));
                            }
                        }
                        tracing::trace!(event = %event, channel = channel.as_deref().unwrap_or(""), "pusher frame");
                        buffer.push(event, channel, data, None, text.len());
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        buffer.push("(binary frame)".into(), None, Value::Null, None, bytes.len());
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let reason = match frame {
                            Some(f) if f.reason.is_empty() => format!("code {}", u16::from(f.code)),
                            Some(f) => format!("code {}: {}", u16::from(f.code), f.reason),
                            None => "no close code".into(),
                        };
                        buffer.close(reason);
                        return;
                    }
                    // Websocket pings are answered by tungstenite itself.
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        buffer.close(format!("the connection failed: {e}"));
                        return;
                    }
                    None => {
                        buffer.close("the connection ended without a close frame".into());
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_get_protocol_parameters() {
        let u = websocket_url(&url::Url::parse("http://h:8080/app/key").expect("url")).expect("ok");
        assert_eq!(
            u.as_str(),
            format!(
                "ws://h:8080/app/key?protocol=7&client=flows&version={}",
                env!("CARGO_PKG_VERSION")
            )
        );
        let u = websocket_url(&url::Url::parse("wss://h/app/key?protocol=7").expect("url"))
            .expect("ok");
        assert_eq!(u.as_str(), "wss://h/app/key?protocol=7");
        assert!(websocket_url(&url::Url::parse("ftp://h/app/key").expect("url")).is_err());
    }

    #[test]
    fn options_debug_hides_cookies() {
        let o = PusherOptions {
            name: "bell".into(),
            url: url::Url::parse("ws://h/app/k").expect("url"),
            channel: "private-a".into(),
            auth_endpoint: None,
            cookie: Some("session=s3cr3t".into()),
            headers: vec![("X-CSRF-TOKEN".into(), "t0k3n".into())],
        };
        let s = format!("{o:?}");
        assert!(!s.contains("s3cr3t") && !s.contains("t0k3n"), "{s}");
    }
}
