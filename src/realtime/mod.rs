//! Realtime: subscribe to an app's notifications and wait for events.
//!
//! Owns two clients that feed one timestamped buffer per [`Subscription`]: the Pusher channels
//! protocol as Laravel Reverb speaks it ([`subscribe_pusher`]: connect, private-channel auth
//! through the app's auth endpoint with the user's cookies, subscribe, ping/pong) and
//! Server-Sent Events ([`subscribe_sse`]). A background task per subscription records every
//! frame; [`Subscription::wait_for`] wakes on each new frame (no polling). Does not own: which
//! user's cookies to send, URL resolution against `base_url`, or redaction of event data (the
//! executor's job before evidence is emitted).

mod buffer;
mod data_match;
mod error;
mod event;
mod pusher;
mod sse;
mod subscription;

pub use error::{ConnectionClosed, RealtimeError, WaitTimedOut};
pub use event::ReceivedEvent;
pub use pusher::{subscribe_pusher, PusherOptions};
pub use sse::{subscribe_sse, SseOptions};
pub(crate) use subscription::WaitEnd;
pub use subscription::{Subscription, SubscriptionKind};
