//! Everything that can go wrong with a realtime subscription. Messages say what arrived
//! instead, and when the server hung up.

use std::fmt;
use std::time::Duration;

use tokio_tungstenite::tungstenite;

/// A realtime error.
#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    /// The URL cannot be used.
    #[error("invalid realtime url {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// The websocket could not be opened.
    #[error("could not open the websocket {url}")]
    Connect {
        url: String,
        #[source]
        error: tungstenite::Error,
    },
    /// The server's TLS certificate was not trusted (see `net::untrusted_certificate_message`).
    #[error("{message}")]
    UntrustedCertificate { message: String },
    /// The server answered the upgrade request with a plain HTTP status.
    #[error("the websocket endpoint {url} answered {status} instead of switching protocols")]
    Upgrade { url: String, status: u16 },
    /// Nothing answered in time.
    #[error("no answer from {url} within {}", crate::human::duration(*waited))]
    ConnectTimeout { url: String, waited: Duration },
    /// The server sent `pusher:error`.
    #[error("the server refused {what}: pusher:error{}{}", code.map(|c| format!(" {c}")).unwrap_or_default(), if message.is_empty() { String::new() } else { format!(" {message}") })]
    Pusher {
        /// "the connection" or "the subscription to private-…".
        what: String,
        code: Option<i64>,
        message: String,
    },
    /// The auth endpoint refused to sign the channel.
    #[error(
        "the auth endpoint {url} refused channel {channel} ({status}); is the user logged in?"
    )]
    AuthRejected {
        url: String,
        channel: String,
        status: u16,
    },
    #[error("could not reach the auth endpoint {url}")]
    AuthRequest {
        url: String,
        #[source]
        error: reqwest::Error,
    },
    /// The auth endpoint answered, but not with `{"auth": "key:signature"}`.
    #[error("the auth endpoint {url} {reason}")]
    AuthResponse { url: String, reason: String },
    #[error("could not reach the SSE endpoint {url}")]
    SseRequest {
        url: String,
        #[source]
        error: reqwest::Error,
    },
    #[error("the SSE endpoint {url} answered {status}, expected 200{hint}")]
    SseStatus {
        url: String,
        status: u16,
        /// e.g. ` (redirected to /login: not logged in?)`.
        hint: String,
    },
    #[error("the SSE endpoint {url} answered content-type {content_type:?}, expected text/event-stream{hint}")]
    SseContentType {
        url: String,
        content_type: String,
        hint: String,
    },
    /// The deadline passed without a matching event.
    #[error("{0}")]
    Timeout(Box<WaitTimedOut>),
    /// The connection ended while waiting.
    #[error("{0}")]
    Closed(Box<ConnectionClosed>),
    /// An expected value in `data:` cannot be used.
    #[error("bad expected value at {pointer}: {reason}")]
    BadExpectation { pointer: String, reason: String },
    /// The server spoke, but not the protocol.
    #[error("{0}")]
    Protocol(String),
}

/// No matching event before the deadline.
#[derive(Debug, Clone)]
pub struct WaitTimedOut {
    pub event: String,
    /// e.g. `/type = "ticket.reply"`; empty when no data was asked for.
    pub criteria: String,
    /// The channel (Pusher) or stream path (SSE).
    pub target: String,
    pub waited: Duration,
    /// What did arrive, e.g. `pusher:ping ×2, ticket.updated {id:1001}`.
    pub received: String,
}

impl fmt::Display for WaitTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no {}", self.event)?;
        if !self.criteria.is_empty() {
            write!(f, " with {}", self.criteria)?;
        }
        write!(
            f,
            " on {} within {}; received: {}",
            self.target,
            crate::human::duration(self.waited),
            self.received
        )
    }
}

/// The server ended the connection (or stream) while a step waited.
#[derive(Debug, Clone)]
pub struct ConnectionClosed {
    /// "connection" (websocket) or "stream" (SSE).
    pub what: &'static str,
    /// Since the subscription opened.
    pub after: Duration,
    /// e.g. `code 4200: Server closed the connection`.
    pub reason: String,
    pub event: String,
    pub target: String,
    pub received: String,
}

impl fmt::Display for ConnectionClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server closed the {} after {} ({}) while waiting for {} on {}; received: {}",
            self.what,
            crate::human::duration(self.after),
            self.reason,
            self.event,
            self.target,
            self.received
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_says_what_arrived() {
        let e = RealtimeError::Timeout(Box::new(WaitTimedOut {
            event: "notification.created".into(),
            criteria: String::new(),
            target: "private-App.Models.User.3".into(),
            waited: Duration::from_secs(5),
            received: "pusher:ping ×2, ticket.updated {id:1001}".into(),
        }));
        assert_eq!(
            e.to_string(),
            "no notification.created on private-App.Models.User.3 within 5s; received: pusher:ping ×2, ticket.updated {id:1001}"
        );
        let e = RealtimeError::Closed(Box::new(ConnectionClosed {
            what: "connection",
            after: Duration::from_millis(1240),
            reason: "code 4200: Server closed the connection".into(),
            event: "x".into(),
            target: "c".into(),
            received: "nothing".into(),
        }));
        assert_eq!(
            e.to_string(),
            "the server closed the connection after 1.2s (code 4200: Server closed the connection) while waiting for x on c; received: nothing"
        );
        let e = RealtimeError::Pusher {
            what: "the subscription to private-a".into(),
            code: Some(4009),
            message: "Connection is unauthorized".into(),
        };
        assert_eq!(
            e.to_string(),
            "the server refused the subscription to private-a: pusher:error 4009 Connection is unauthorized"
        );
    }
}
