//! One frame as a subscription received it.

use std::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;

/// A received event (Pusher frame or SSE event), with when it arrived.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedEvent {
    /// Position in the subscription's buffer (0, 1, 2, …).
    pub seq: u64,
    /// The event name: `notification.created`, `pusher:ping`, `message` (SSE default),
    /// `sse:heartbeat` for an SSE comment line.
    pub event: String,
    /// The Pusher channel, when the frame names one.
    pub channel: Option<String>,
    /// The data: parsed when it is JSON text (Pusher sends it as a string), else a string.
    pub data: serde_json::Value,
    /// The SSE event id (`id:`), if any.
    pub id: Option<String>,
    #[serde(skip)]
    pub received_at: Instant,
    #[serde(with = "time::serde::rfc3339")]
    pub received_wall: OffsetDateTime,
    /// Size of the frame (or SSE event block) on the wire, in bytes.
    pub size: usize,
}

impl ReceivedEvent {
    /// Pusher's own protocol frames and SSE heartbeats, as opposed to the app's events.
    pub fn is_protocol(&self) -> bool {
        self.event.starts_with("pusher:")
            || self.event.starts_with("pusher_internal:")
            || self.event == "sse:heartbeat"
    }
}

/// Data as the wire carried it: JSON text is parsed, anything else stays a string.
pub(crate) fn data_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}
