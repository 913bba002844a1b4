//! The `http` step: a request and what its response must be.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::flowfile::span::Sp;

use super::DurationText;

/// An HTTP request with expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    /// `GET` (default), `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`.
    #[serde(default)]
    pub method: Option<Sp<String>>,
    /// Absolute URL, or a path resolved against `api_url` (then `base_url`).
    pub url: Sp<String>,
    /// Send the cookies of this user's browser session (a key of `[users]`).
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Sp<String>>,
    /// A JSON body (values may use `{{ variables }}` in strings).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// A form body (`application/x-www-form-urlencoded`).
    #[serde(default)]
    pub form: BTreeMap<String, Sp<String>>,
    /// A raw text body.
    #[serde(default)]
    pub body: Option<Sp<String>>,
    #[serde(default)]
    pub expect: Option<HttpExpect>,
    /// Variables from the JSON response: `{ var_name: "/json/pointer" }` (RFC 6901).
    #[serde(default)]
    pub capture: BTreeMap<String, Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpExpect {
    /// Expected status code (default: any 2xx).
    #[serde(default)]
    pub status: Option<u16>,
    /// Expected response headers: value substring, or `/regex/i`.
    #[serde(default)]
    pub headers: BTreeMap<String, Sp<String>>,
    /// Expected JSON values by RFC 6901 pointer: `{ "/unread": 1 }`. A string value may be
    /// `/regex/`.
    #[serde(default)]
    pub json: BTreeMap<String, serde_json::Value>,
    /// The body contains this text (or matches `/regex/`).
    #[serde(default)]
    pub body: Option<Sp<String>>,
}
