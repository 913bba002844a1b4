//! The `subscribe` and `expect_event` steps: a Pusher or SSE subscription and the events on it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::flowfile::span::Sp;

use super::DurationText;

/// Open a realtime subscription under a name used by later `expect_event` steps.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeStep {
    /// Name of this subscription, for `expect_event: { on: NAME }`.
    pub id: Sp<String>,
    /// A Pusher-protocol (Laravel Reverb) websocket channel.
    #[serde(default)]
    pub pusher: Option<PusherSubscribe>,
    /// A Server-Sent Events stream URL (path resolved against `base_url`).
    #[serde(default)]
    pub sse: Option<Sp<String>>,
    /// Authenticate (channel auth, SSE request) with this user's browser cookies.
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PusherSubscribe {
    /// Websocket URL (`ws://…/app/KEY` or a path resolved against `base_url`).
    pub url: Sp<String>,
    /// Channel name; `private-…` channels are authorised through `auth_endpoint`.
    pub channel: Sp<String>,
    /// Auth endpoint for private channels (default `/broadcasting/auth`).
    #[serde(default)]
    pub auth_endpoint: Option<Sp<String>>,
    /// Extra headers for the auth request, e.g. `X-CSRF-TOKEN` as Laravel Echo sends it.
    #[serde(default)]
    pub auth_headers: BTreeMap<String, Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectEventStep {
    /// The `id` of an earlier `subscribe` step.
    pub on: Sp<String>,
    /// Event name (`notification.created`).
    pub event: Sp<String>,
    /// Expected values in the event's JSON data by RFC 6901 pointer.
    #[serde(default)]
    pub data: BTreeMap<String, serde_json::Value>,
    /// Only events received after this earlier step (1-based number) started. Default: the
    /// previous step's start.
    #[serde(default)]
    pub after_step: Option<Sp<u32>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}
