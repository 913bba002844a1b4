//! The no-break contract steps (seed 002): `guard`, `forbidden`, `download_headers`, `sse`,
//! `routes` and `metrics`. Each asks the app one precise question over HTTP, never mutating
//! (GET only), and leaves a row of evidence per thing it checked.

use std::collections::BTreeMap;

/// The names (`Step::kind`) of the contract steps: the gate's `contract` criterion selects
/// steps by these (`gate::CONTRACT_STEP_KINDS` is this list).
pub const CONTRACT_STEP_KINDS: &[&str] = &[
    "guard",
    "forbidden",
    "download_headers",
    "sse",
    "routes",
    "metrics",
];

use schemars::JsonSchema;
use serde::Deserialize;

use crate::flowfile::span::Sp;

use super::DurationText;

/// Paths closed to a signed-out visitor (a redirect to sign-in, or 401/403) and open (2xx) to
/// a signed-in user. Redirects are not followed: a sign-in page answering 200 after a redirect
/// must not count as "open".
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardStep {
    /// The guarded paths (or URLs), each requested with GET.
    pub paths: Vec<Sp<String>>,
    /// The user (a key of `[users]`) for whom every path must open, with their browser
    /// session's cookies. Without it only the signed-out side is checked.
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    /// Where a signed-out visitor must be redirected (default `/login`); a path prefix.
    #[serde(default)]
    pub sign_in: Option<Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: NAME`) for a later `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

/// The 403 contract: a signed-in user without the right gets exactly this answer, not a
/// redirect, not a 404, not the page.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForbiddenStep {
    /// The user (a key of `[users]`) whose browser cookies are sent.
    #[serde(rename = "as")]
    pub as_user: Sp<String>,
    /// The path (or URL) requested with GET.
    pub path: Sp<String>,
    /// The status the app must answer (default 403).
    #[serde(default)]
    pub status: Option<u16>,
    /// Request headers (e.g. `Accept: application/json` for an API's error shape).
    #[serde(default)]
    pub headers: BTreeMap<String, Sp<String>>,
    /// The body's shape: JSON values by RFC 6901 pointer (`{ "/error": "/forbidden/i" }`).
    #[serde(default)]
    pub json: BTreeMap<String, serde_json::Value>,
    /// The body contains this text (or matches `/regex/`).
    #[serde(default)]
    pub body: Option<Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

/// A binary download's headers checked against its bytes: the status, `Content-Type`,
/// `Content-Disposition` with a file name, `Content-Length` equal to the bytes received, and
/// the type sniffed from the bytes agreeing with the declared one.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadHeadersStep {
    /// The path (or URL) requested with GET.
    pub url: Sp<String>,
    /// Send this user's browser cookies.
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    /// Expected status (default 200).
    #[serde(default)]
    pub status: Option<u16>,
    /// The declared media type (`application/pdf`); parameters such as `charset` are ignored.
    #[serde(default)]
    pub content_type: Option<Sp<String>>,
    /// The file name `Content-Disposition` gives (text, or `/regex/`).
    #[serde(default)]
    pub filename: Option<Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

/// An SSE stream that stays open and is alive: it must answer as an event stream, deliver an
/// event or a heartbeat within `within`, and not close before `open_for`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SseStep {
    /// The stream's path (or URL).
    pub url: Sp<String>,
    /// Open it with this user's browser cookies.
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    /// How long the stream must stay open (e.g. `5s`).
    pub open_for: Sp<DurationText>,
    /// The first event or heartbeat must arrive within this (default: `open_for`).
    #[serde(default)]
    pub within: Option<Sp<DurationText>>,
    /// Deadline for the stream to answer (default: the step timeout).
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

/// Route drift: the status each role gets on each route, against a committed baseline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutesStep {
    /// The baseline file, relative to the flow file (`routes.baseline.json`); written by
    /// `flows routes --update-baseline`.
    pub baseline: Sp<String>,
    /// Roles besides the signed-out visitor (`anonymous`): users whose browser cookies are
    /// sent.
    #[serde(default, rename = "as")]
    pub as_users: Vec<Sp<String>>,
    /// Paths to request besides the baseline's (concrete paths, GET only).
    #[serde(default)]
    pub paths: Vec<Sp<String>>,
    /// The app's own route list: a path answering JSON `{"routes": [{"method", "path"}]}`
    /// (or a list of paths), requested with the staging E2E secret header. Its GET routes
    /// are compared with the baseline's list; its concrete ones are requested.
    #[serde(default)]
    pub list: Option<Sp<String>>,
    /// Drift that is expected: path patterns (`/lab/*`, `/d/{slug}`, or `/regex/`) whose
    /// added, removed or changed rows do not fail the step.
    #[serde(default)]
    pub allow: Vec<Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

/// A Prometheus text endpoint: series values and their increase over the flow.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsStep {
    /// The endpoint's path (or URL); default `/metrics`.
    #[serde(default)]
    pub url: Option<Sp<String>>,
    /// Assertions, one a line: `up{job="api"} == 1`, `errors_total{status="500"} increase
    /// < 5`. Series matching the labels are summed; `increase` compares with the value read
    /// when the flow started. Operators: `==`, `!=`, `<`, `<=`, `>`, `>=`.
    pub expect: Vec<Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}
