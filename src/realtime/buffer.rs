//! The frames a subscription received, shared between its reader task and waiters. Every push
//! bumps a watch channel, so waiters sleep until something arrives instead of polling.

use std::sync::Mutex;
use std::time::Instant;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::event::ReceivedEvent;

/// Frames kept per subscription; older ones are dropped first (a flow never needs thousands).
const MAX_FRAMES: usize = 10_000;

pub(crate) struct Buffer {
    state: Mutex<State>,
    version: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    frames: Vec<ReceivedEvent>,
    next_seq: u64,
    dropped: u64,
    closed: Option<Closed>,
}

/// How and when the connection ended.
#[derive(Debug, Clone)]
pub(crate) struct Closed {
    pub at: Instant,
    /// e.g. `code 4200: Server closed the connection`.
    pub reason: String,
}

impl Buffer {
    pub fn new() -> Buffer {
        Buffer {
            state: Mutex::new(State::default()),
            version: watch::channel(0).0,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut g = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    pub fn push(
        &self,
        event: String,
        channel: Option<String>,
        data: serde_json::Value,
        id: Option<String>,
        size: usize,
    ) {
        self.with(|s| {
            let seq = s.next_seq;
            s.next_seq += 1;
            if s.frames.len() >= MAX_FRAMES {
                s.frames.remove(0);
                s.dropped += 1;
            }
            s.frames.push(ReceivedEvent {
                seq,
                event,
                channel,
                data,
                id,
                received_at: Instant::now(),
                received_wall: OffsetDateTime::now_utc(),
                size,
            });
        });
        self.version.send_modify(|v| *v += 1);
    }

    /// Records the end of the connection (the first reason wins).
    pub fn close(&self, reason: String) {
        self.with(|s| {
            if s.closed.is_none() {
                s.closed = Some(Closed {
                    at: Instant::now(),
                    reason,
                });
            }
        });
        self.version.send_modify(|v| *v += 1);
    }

    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    pub fn frames(&self) -> Vec<ReceivedEvent> {
        self.with(|s| s.frames.clone())
    }

    pub fn closed(&self) -> Option<Closed> {
        self.with(|s| s.closed.clone())
    }

    /// The first frame received at or after `since` that `pred` accepts.
    pub fn find(
        &self,
        since: Instant,
        mut pred: impl FnMut(&ReceivedEvent) -> bool,
    ) -> Option<ReceivedEvent> {
        self.with(|s| {
            s.frames
                .iter()
                .filter(|f| f.received_at >= since)
                .find(|f| pred(f))
                .cloned()
        })
    }
}
