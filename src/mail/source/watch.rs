//! A mail source's event stream, watched in the background so a waiting step wakes when mail
//! arrives instead of polling, and so a message's arrival is known by the runner's clock even
//! when the source records only the sender's `Date:` (MailDev).
//!
//! Two protocols: MailDev's socket.io (`/socket.io/?EIO=4&transport=websocket`, event
//! `newMail` with the message's listing entry) and Mailpit's websocket `/api/events`
//! (`{"Type":"new","Data":{"ID":…}}`). The task reconnects after a failure; while the stream
//! is down the wait polls, and its evidence says which it used.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use time::OffsetDateTime;
use tokio_tungstenite::tungstenite::Message;

/// How long the first connection may take before the first wait polls instead.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause before reconnecting a stream that failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// Announcements remembered (ids are small; a run reads far fewer messages).
const MAX_ANNOUNCED: usize = 10_000;

/// Which event protocol a source speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// MailDev 2.x: socket.io 4 (Engine.IO 4) over a websocket, event `newMail`.
    SocketIo,
    /// Mailpit: a websocket at `/api/events`, JSON `{"Type":"new","Data":{"ID":…}}`.
    MailpitEvents,
}

impl Protocol {
    /// For evidence: what the wait listened to.
    pub fn describe(self) -> &'static str {
        match self {
            Protocol::SocketIo => "maildev socket.io newMail events",
            Protocol::MailpitEvents => "mailpit /api/events websocket",
        }
    }
}

/// The shared state of one watched stream. Dropping the [`Watch`] ends its task.
#[derive(Debug)]
struct State {
    protocol: Protocol,
    up: AtomicBool,
    /// When the current connection was established (runner clock): every message that
    /// arrived since then has been announced.
    connected_at: Mutex<Option<OffsetDateTime>>,
    /// Message id → when its announcement arrived (runner clock).
    announced: Mutex<HashMap<String, OffsetDateTime>>,
    /// Bumped on every announcement and every change of `up`.
    tick: tokio::sync::watch::Sender<u64>,
}

/// A background watch of a source's event stream.
#[derive(Debug)]
pub struct Watch {
    state: Arc<State>,
}

impl Watch {
    /// Starts watching `url` (ws:// or wss://) and waits up to [`CONNECT_TIMEOUT`] for the
    /// first connection; a stream that is not up by then is retried in the background.
    pub async fn start(protocol: Protocol, url: url::Url) -> Watch {
        let (tick, _) = tokio::sync::watch::channel(0);
        let state = Arc::new(State {
            protocol,
            up: AtomicBool::new(false),
            connected_at: Mutex::new(None),
            announced: Mutex::new(HashMap::new()),
            tick,
        });
        let mut ticks = state.tick.subscribe();
        tokio::spawn(run(Arc::downgrade(&state), url));
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, async {
            while !state.up.load(Ordering::Acquire) {
                if ticks.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
        Watch { state }
    }

    pub fn protocol(&self) -> Protocol {
        self.state.protocol
    }

    /// Since when every arrival is announced; `None` while the stream is down.
    pub fn up_since(&self) -> Option<OffsetDateTime> {
        if !self.state.up.load(Ordering::Acquire) {
            return None;
        }
        *self
            .state
            .connected_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// When message `id` was announced, if it was.
    pub fn announced(&self, id: &str) -> Option<OffsetDateTime> {
        self.state
            .announced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .copied()
    }

    /// A receiver that changes on every announcement (subscribe before listing, so that an
    /// announcement between the listing and the wait is not missed).
    pub fn ticks(&self) -> tokio::sync::watch::Receiver<u64> {
        self.state.tick.subscribe()
    }
}

fn set_up(state: &State, up: bool) {
    if up {
        *state
            .connected_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(OffsetDateTime::now_utc());
    }
    state.up.store(up, Ordering::Release);
    state.tick.send_modify(|n| *n = n.wrapping_add(1));
}

fn announce(state: &State, id: String) {
    let now = OffsetDateTime::now_utc();
    {
        let mut announced = state
            .announced
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if announced.len() >= MAX_ANNOUNCED {
            // Forget the oldest half: they belong to steps long finished.
            let mut times: Vec<OffsetDateTime> = announced.values().copied().collect();
            times.sort();
            let cut = times[times.len() / 2];
            announced.retain(|_, t| *t > cut);
        }
        announced.entry(id).or_insert(now);
    }
    state.tick.send_modify(|n| *n = n.wrapping_add(1));
}

/// Connects, reads until the stream fails, reconnects; ends when the [`Watch`] is dropped.
async fn run(state: Weak<State>, url: url::Url) {
    loop {
        let Some(protocol) = state.upgrade().map(|s| s.protocol) else {
            return;
        };
        match session(&state, protocol, &url).await {
            Ok(()) => return,
            Err(reason) => {
                tracing::debug!(url = %url, %reason, "mail event stream down; polling meanwhile");
            }
        }
        match state.upgrade() {
            Some(s) => set_up(&s, false),
            None => return,
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

/// One connection. `Ok` when the watch was dropped, `Err` with a reason when the stream failed.
async fn session(state: &Weak<State>, protocol: Protocol, url: &url::Url) -> Result<(), String> {
    let (mut ws, _) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async(url.as_str()),
    )
    .await
    .map_err(|_| "connection timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    if protocol == Protocol::MailpitEvents {
        let Some(s) = state.upgrade() else {
            return Ok(());
        };
        set_up(&s, true);
    }
    loop {
        // Wake now and then to notice that the watch was dropped.
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
        let Some(s) = state.upgrade() else {
            return Ok(());
        };
        let msg = match next {
            Err(_) => continue,
            Ok(None) => return Err("the stream closed".into()),
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(Some(Ok(m))) => m,
        };
        let text = match msg {
            Message::Text(t) => t.to_string(),
            Message::Close(_) => return Err("the server closed the stream".into()),
            _ => continue,
        };
        match protocol {
            Protocol::SocketIo => {
                // Engine.IO: 0 open, 2 ping (answer 3), 4 message; socket.io inside a
                // message: 0 connect (ack), 2 event, 4 connect error.
                if text.starts_with('0') {
                    ws.send(Message::text("40"))
                        .await
                        .map_err(|e| e.to_string())?;
                } else if text == "2" {
                    ws.send(Message::text("3"))
                        .await
                        .map_err(|e| e.to_string())?;
                } else if text.starts_with("40") {
                    set_up(&s, true);
                } else if let Some(reason) = text.strip_prefix("44") {
                    return Err(format!("socket.io refused the connection: {reason}"));
                } else if let Some(event) = text.strip_prefix("42") {
                    if let Some(id) = socket_io_new_mail_id(event) {
                        announce(&s, id);
                    }
                }
            }
            Protocol::MailpitEvents => {
                if let Some(id) = mailpit_new_id(&text) {
                    announce(&s, id);
                }
            }
        }
    }
}

/// The id in `["newMail", {"id": …, …}]`.
fn socket_io_new_mail_id(event: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Mail {
        id: String,
    }
    let (name, mail): (String, Mail) = serde_json::from_str(event).ok()?;
    (name == "newMail").then_some(mail.id)
}

/// The id in `{"Type": "new", "Data": {"ID": …}}`.
fn mailpit_new_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Event {
        #[serde(rename = "Type")]
        kind: String,
        #[serde(rename = "Data")]
        data: Data,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        #[serde(rename = "ID")]
        id: String,
    }
    let e: Event = serde_json::from_str(text).ok()?;
    (e.kind == "new").then_some(e.data.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_message_id_of_each_protocol() {
        assert_eq!(
            socket_io_new_mail_id(r#"["newMail",{"id":"Ab3x","subject":"s","html":"<p>"}]"#),
            Some("Ab3x".into())
        );
        assert_eq!(
            socket_io_new_mail_id(r#"["deleteMail",{"id":"Ab3x"}]"#),
            None
        );
        assert_eq!(
            mailpit_new_id(r#"{"Type":"new","Data":{"ID":"q1","Subject":"s"}}"#),
            Some("q1".into())
        );
        assert_eq!(
            mailpit_new_id(r#"{"Type":"stats","Data":{"ID":"q1"}}"#),
            None
        );
    }
}
