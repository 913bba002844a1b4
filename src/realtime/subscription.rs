//! A live subscription: its buffer of received frames, the task that fills it, and waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::buffer::{Buffer, Closed};
use super::data_match::{compact, compile, Expectation};
use super::error::{ConnectionClosed, WaitTimedOut};
use super::{RealtimeError, ReceivedEvent};
use crate::events::Evidence;

/// How many groups of frames an error lists before "… and N more".
const SUMMARY_GROUPS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// A Pusher-protocol websocket channel.
    Pusher,
    /// A Server-Sent Events stream.
    Sse,
}

/// An open subscription. Frames are recorded from the moment it connects until it is closed
/// (or dropped, which stops its task).
pub struct Subscription {
    name: String,
    kind: SubscriptionKind,
    target: String,
    socket_id: Option<String>,
    pub(crate) buffer: Arc<Buffer>,
    opened_at: Instant,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Why a wait ended without its event.
pub(crate) enum WaitEnd {
    Deadline,
    Closed(Closed),
}

impl Subscription {
    pub(crate) fn new(
        name: String,
        kind: SubscriptionKind,
        target: String,
        buffer: Arc<Buffer>,
        opened_at: Instant,
        stop: oneshot::Sender<()>,
        task: JoinHandle<()>,
    ) -> Subscription {
        Subscription {
            name,
            kind,
            target,
            socket_id: None,
            buffer,
            opened_at,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub(crate) fn set_socket_id(&mut self, id: String) {
        self.socket_id = Some(id);
    }

    /// The flow's name for it (`subscribe: { id: bell }`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> SubscriptionKind {
        self.kind
    }

    /// The channel (Pusher) or the stream URL (SSE).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Pusher's socket id for this connection.
    pub fn socket_id(&self) -> Option<&str> {
        self.socket_id.as_deref()
    }

    pub fn opened_at(&self) -> Instant {
        self.opened_at
    }

    /// Everything received so far, in order (protocol frames included), for evidence.
    pub fn frames(&self) -> Vec<ReceivedEvent> {
        self.buffer.frames()
    }

    /// Has the connection ended?
    pub fn is_closed(&self) -> bool {
        self.buffer.closed().is_some()
    }

    /// Waits for the first `event` received at or after `since` whose data holds every
    /// expectation (`(json pointer, expected)`; a string `/re/flags` is a regex). Returns at
    /// once if it already arrived. Errors say what arrived instead, or when the server hung up.
    pub async fn wait_for(
        &self,
        event: &str,
        data: &[(String, Value)],
        since: Instant,
        deadline: Instant,
    ) -> Result<ReceivedEvent, RealtimeError> {
        let expectations = compile(data)?;
        let started = Instant::now();
        let found = self
            .wait_until(since, deadline, |f| {
                f.event == event && expectations.iter().all(|e| e.mismatch(&f.data).is_none())
            })
            .await;
        let end = match found {
            Ok(ev) => return Ok(ev),
            Err(end) => end,
        };
        let criteria = expectations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" and ");
        let received = self.summary(since, event, &expectations);
        Err(match end {
            WaitEnd::Closed(c) => RealtimeError::Closed(Box::new(ConnectionClosed {
                what: match self.kind {
                    SubscriptionKind::Pusher => "connection",
                    SubscriptionKind::Sse => "stream",
                },
                after: c.at.saturating_duration_since(self.opened_at),
                reason: c.reason,
                event: event.to_owned(),
                target: self.target.clone(),
                received,
            })),
            WaitEnd::Deadline => RealtimeError::Timeout(Box::new(WaitTimedOut {
                event: event.to_owned(),
                criteria,
                target: self.target.clone(),
                waited: started.elapsed(),
                received,
            })),
        })
    }

    /// The first frame at or after `since` that `pred` accepts; wakes on every new frame.
    pub(crate) async fn wait_until(
        &self,
        since: Instant,
        deadline: Instant,
        mut pred: impl FnMut(&ReceivedEvent) -> bool,
    ) -> Result<ReceivedEvent, WaitEnd> {
        let mut changes = self.buffer.watch();
        let sleep_until = tokio::time::Instant::from_std(deadline);
        loop {
            // Mark the current version seen before looking, so nothing slips between.
            changes.borrow_and_update();
            if let Some(ev) = self.buffer.find(since, &mut pred) {
                return Ok(ev);
            }
            if let Some(closed) = self.buffer.closed() {
                return Err(WaitEnd::Closed(closed));
            }
            if Instant::now() >= deadline {
                return Err(WaitEnd::Deadline);
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        // The buffer is gone: nothing more can arrive.
                        tokio::time::sleep_until(sleep_until).await;
                    }
                }
                () = tokio::time::sleep_until(sleep_until) => {}
            }
        }
    }

    /// `pusher:ping ×2, ticket.updated {id:1001}`: what arrived at or after `since`.
    fn summary(&self, since: Instant, wanted: &str, expectations: &[Expectation]) -> String {
        let frames = self.buffer.frames();
        let mut groups: Vec<(String, usize)> = Vec::new();
        for f in frames.iter().filter(|f| f.received_at >= since) {
            let label = if f.is_protocol() {
                f.event.clone()
            } else if f.event == wanted && !expectations.is_empty() {
                let why: Vec<String> = expectations
                    .iter()
                    .filter_map(|e| e.mismatch(&f.data))
                    .collect();
                format!("{} ({})", f.event, why.join(", "))
            } else {
                match &f.data {
                    Value::Null => f.event.clone(),
                    Value::Object(m) if m.is_empty() => f.event.clone(),
                    Value::String(s) if s.is_empty() => f.event.clone(),
                    d => format!("{} {}", f.event, compact(d, 60)),
                }
            };
            match groups.last_mut() {
                Some((l, n)) if *l == label => *n += 1,
                _ => groups.push((label, 1)),
            }
        }
        let mut parts: Vec<String> = groups
            .iter()
            .take(SUMMARY_GROUPS)
            .map(|(l, n)| {
                if *n > 1 {
                    format!("{l} ×{n}")
                } else {
                    l.clone()
                }
            })
            .collect();
        if groups.len() > SUMMARY_GROUPS {
            parts.push(format!("… and {} more", groups.len() - SUMMARY_GROUPS));
        }
        let mut s = if parts.is_empty() {
            "nothing".to_owned()
        } else {
            parts.join(", ")
        };
        let early = frames
            .iter()
            .filter(|f| {
                f.received_at < since
                    && f.event == wanted
                    && expectations.iter().all(|e| e.mismatch(&f.data).is_none())
            })
            .count();
        if early > 0 {
            s.push_str(&format!(
                " ({early} matching {wanted} arrived before the step started)"
            ));
        }
        s
    }

    /// The evidence record of one received event; `run_started` anchors `received_ms`.
    /// The executor redacts `data` before emitting it.
    pub fn evidence(&self, ev: &ReceivedEvent, run_started: Instant) -> Evidence {
        Evidence::RealtimeFrame {
            subscription: self.name.clone(),
            channel: ev.channel.clone(),
            event: ev.event.clone(),
            data: ev.data.clone(),
            received_ms: u64::try_from(
                ev.received_at
                    .saturating_duration_since(run_started)
                    .as_millis(),
            )
            .unwrap_or(u64::MAX),
        }
    }

    /// Closes the connection politely and waits (briefly) for the reader task to finish.
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        self.buffer.close("closed by the runner".into());
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("target", &self.target)
            .field("socket_id", &self.socket_id)
            .finish_non_exhaustive()
    }
}
