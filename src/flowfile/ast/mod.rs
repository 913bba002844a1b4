//! The flow file as written: the typed syntax tree that YAML deserializes into.
//!
//! Owns the shape of a flow file (and therefore the JSON Schema, which is derived from these
//! types). Does not own checking (`check/`), variables (`template.rs`) or running anything.
//! Every value a checker may complain about carries its source location (`Sp<T>`).
//!
//! Adding a step kind: add a variant to [`Step`] with its own struct, give it a `kind()` name,
//! then teach `check/flow/` which templates/locators it holds and `exec/step` how to run it.
//!
//! This file holds the flow and step group files themselves and the scalar-or-mapping
//! deserializers; the steps are in one file per family (`step.rs` the enum, `contract.rs`, `element.rs`,
//! `page.rs`, `http.rs`, `mail.rs`, `realtime.rs`), all re-exported here as `ast::X`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::span::Sp;

mod contract;
mod element;
mod http;
mod mail;
mod page;
mod realtime;
mod step;
mod visual;

pub use contract::*;
pub use element::*;
pub use http::*;
pub use mail::*;
pub use page::*;
pub use realtime::*;
pub use step::*;
pub use visual::*;

/// One flow file: one flow.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    /// Unique id, lowercase words joined by `-` (e.g. `create-ticket`). Used by `needs`,
    /// `flows run ID` and in every report.
    pub id: Sp<String>,
    /// Human title shown in reports (e.g. "Create ticket (portal)").
    pub title: Sp<String>,
    /// What the flow proves, for the reader of a report.
    #[serde(default)]
    pub description: Option<String>,
    /// The user (a key of `[users]` in flows.toml) whose browser session the flow runs in.
    pub user: Option<Sp<String>>,
    /// Flows that must pass before this one runs. Their captured variables are visible here.
    #[serde(default)]
    pub needs: Vec<Sp<String>>,
    /// Free-form tags for selection (`flows run --tag mail`).
    #[serde(default)]
    pub tags: Vec<Sp<String>>,
    /// `shared` (default): reuse the user's browser session for the run, so a login done by an
    /// earlier flow carries over. `fresh`: a new browser session for this flow alone.
    #[serde(default)]
    pub session: SessionMode,
    /// Deadline for each step unless the step sets its own (e.g. `10s`, `500ms`).
    #[serde(default)]
    pub step_timeout: Option<Sp<DurationText>>,
    /// Browser settings for this flow alone (`{ viewport: 390x844, locale: de-DE }`): the
    /// flow's user gets a fresh browser session with them, closed after the flow.
    #[serde(default)]
    pub browser: Option<FlowBrowser>,
    /// Run the flow once per row (`{{ row.KEY }}`): inline rows or a CSV file.
    #[serde(default)]
    pub each: Option<EachSource>,
    /// The steps, run in order; the first failure fails the flow.
    pub steps: Vec<Sp<Step>>,
}

/// A flow's own browser settings; unset ones come from `[browser]` in flows.toml.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowBrowser {
    /// The page's content size, `WIDTHxHEIGHT` in CSS pixels (e.g. `390x844`).
    #[serde(default)]
    #[schemars(extend("pattern" = "^[0-9]+x[0-9]+$"))]
    pub viewport: Option<Sp<String>>,
    /// The browser's language, a BCP 47 tag (`de-DE`): `navigator.language` and the
    /// `Accept-Language` header.
    #[serde(default)]
    pub locale: Option<Sp<String>>,
    /// The `User-Agent` the browser sends and `navigator.userAgent` shows.
    #[serde(default)]
    pub user_agent: Option<Sp<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    #[default]
    Shared,
    Fresh,
}

/// A duration written as text: `250ms`, `5s`, `2m`, `1m30s`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("pattern" = "^([0-9]+(ms|s|m|h|d))+$"))]
pub struct DurationText(pub String);

/// `use: sign-in` or `use: { group: sign-in, with: { email: "{{ user.email }}" } }`.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum UseStep {
    Name(Sp<String>),
    Call(UseCall),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UseCall {
    /// The group's name (`group:` in `flows/groups/NAME.yaml`).
    pub group: Sp<String>,
    /// Values for the group's params; may use `{{ variables }}` of the calling flow.
    #[serde(default, rename = "with")]
    pub with_params: BTreeMap<String, Sp<ScalarText>>,
}

impl UseStep {
    pub fn group(&self) -> &Sp<String> {
        match self {
            UseStep::Name(n) => n,
            UseStep::Call(c) => &c.group,
        }
    }
    pub fn params(&self) -> Option<&BTreeMap<String, Sp<ScalarText>>> {
        match self {
            UseStep::Name(_) => None,
            UseStep::Call(c) => Some(&c.with_params),
        }
    }
}

/// A step group: `flows/groups/NAME.yaml`, steps written once and used by many flows.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// The name flows use: `use: NAME`. Lowercase words joined by `-`.
    pub group: Sp<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The values a call passes (`with:`), used as `{{ params.NAME }}`.
    #[serde(default)]
    pub params: BTreeMap<String, Sp<ParamSpec>>,
    pub steps: Vec<Sp<Step>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    #[serde(default)]
    pub description: Option<String>,
    /// Used when a call does not pass this param; without a default the param is required.
    #[serde(default)]
    pub default: Option<String>,
}

/// `each:` of a data-driven flow: rows written inline, or a CSV file (header row first).
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum EachSource {
    /// A CSV file, relative to the flow file.
    File(Sp<String>),
    /// Rows: maps of the same keys; `name` (if present) names the row.
    Rows(Vec<Sp<BTreeMap<String, ScalarText>>>),
}

/// A scalar written in YAML (text, number or boolean), taken as its text: `level: 1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("type" = ["string", "number", "boolean"]))]
pub struct ScalarText(pub String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a text, number or boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserializes a value written either as a plain scalar or as a map (or a list), keeping the
/// inner type's own error messages (serde's `untagged` would replace them with "did not match
/// any variant").
macro_rules! scalar_or {
    ($ty:ident, $expecting:literal, str => $from_str:expr, $kind:ident => $variant:path) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        let f: fn(Sp<String>) -> $ty = $from_str;
                        Ok(f(Sp::new(v.to_owned(), super::span::Loc::default())))
                    }
                    scalar_or!(@$kind $variant);
                }
                d.deserialize_any(V)
            }
        }
    };
    (@map $variant:path) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map($variant)
        }
    };
    (@seq $variant:path) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map($variant)
        }
    };
}

scalar_or!(FrameRef, "a frame's title or name, or a locator", str => FrameRef::Name, map => FrameRef::boxed);
scalar_or!(UseStep, "a group name, or { group, with }", str => UseStep::Name, map => UseStep::Call);
scalar_or!(WindowStep, "`main`, or { url, title, close }", str => WindowStep::Main, map => WindowStep::Options);
scalar_or!(EachSource, "a CSV file, or a list of rows", str => EachSource::File, seq => EachSource::Rows);
scalar_or!(MailBody, "a text, or { contains, not_contains, regex }", str => MailBody::Filter, map => MailBody::Checks);
scalar_or!(TextList, "a text, or a list of texts", str => TextList::One, seq => TextList::Many);
