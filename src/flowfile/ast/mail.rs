//! The `mail` and `mails` steps: which message, what it must contain, what to extract from it.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::flowfile::span::Sp;

use super::{DurationText, ScalarText};

/// Wait for a message to a user, check it, and extract from it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailStep {
    /// A user key of `[users]`, or an e-mail address.
    pub to: Sp<String>,
    /// The subject contains this (or matches `/regex/i`).
    #[serde(default)]
    pub subject: Option<Sp<String>>,
    /// A text: only a message whose text (or HTML-as-text) body contains it (or matches
    /// `/regex/i`). A map (`{ contains, not_contains, regex }`): assertions on the body of the
    /// message the step picked; the step fails saying what the body lacks or has.
    #[serde(default)]
    pub body: Option<Sp<MailBody>>,
    /// Assertions on the HTML part as sent (markup included): `{ contains, not_contains, regex }`.
    #[serde(default)]
    pub html: Option<Sp<TextChecks>>,
    /// Assertions on one attachment of the picked message; the attachment is kept under the
    /// flow's `attachments/` in the run directory.
    #[serde(default)]
    pub attachment: Option<Sp<AttachmentCheck>>,
    /// Only messages that arrived after this earlier step (1-based number) started.
    /// Default: after the last acting step before it (click, fill, goto, http…) started.
    #[serde(default)]
    pub after_step: Option<Sp<u32>>,
    /// Only messages that arrived after the step marked with this name (`mark:`) started, in
    /// this flow or in a flow it needs.
    #[serde(default)]
    pub since: Option<Sp<String>>,
    /// `true`: the step passes when NO matching message arrives within `within` (adding a CC
    /// sends nothing; an internal note is not mailed to the customer).
    #[serde(default)]
    pub absent: Option<Sp<bool>>,
    /// With `absent: true`: how long to watch for the message (e.g. `3s`).
    #[serde(default)]
    pub within: Option<Sp<DurationText>>,
    /// Extract a one-time code into a (secret) variable.
    #[serde(default)]
    pub otp: Option<OtpExtract>,
    /// Extract a link into a (secret) variable.
    #[serde(default)]
    pub link: Option<LinkExtract>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

/// `body:` of a mail step: a text picks the message, a map asserts on the picked one.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum MailBody {
    /// Only a message whose body contains this (or matches `/regex/i`).
    Filter(Sp<String>),
    /// Assertions on the body of the message the step picked.
    Checks(TextChecks),
}

/// Assertions on a text: what it must contain, must not contain, and a regex it must match.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextChecks {
    /// Contains this (case-insensitive, spaces collapsed) or matches `/regex/i`; a list: each.
    #[serde(default)]
    pub contains: Option<TextList>,
    /// Contains none of these (same matching as `contains`).
    #[serde(default)]
    pub not_contains: Option<TextList>,
    /// Matches this regular expression (as written, case-sensitive; `(?i)` for not).
    #[serde(default)]
    pub regex: Option<Sp<String>>,
}

/// One text or a list of texts.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum TextList {
    One(Sp<String>),
    Many(Vec<Sp<String>>),
}

impl TextList {
    pub fn items(&self) -> Vec<&Sp<String>> {
        match self {
            TextList::One(s) => vec![s],
            TextList::Many(v) => v.iter().collect(),
        }
    }
}

/// Which attachment of the picked message, and what it must be.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentCheck {
    /// Its file name contains this (case-insensitive) or matches `/regex/i`. Needed when the
    /// message has more than one attachment of the kind asked for.
    #[serde(default)]
    pub name: Option<Sp<String>>,
    /// Its media type as sent (`text/csv`), parameters ignored.
    #[serde(default, rename = "type")]
    pub media_type: Option<Sp<String>>,
    /// Its decoded size: bytes (`2048`), with a unit (`2 KB`, `1.5 MiB`), or a range
    /// (`1KB..2MB`, `..10MB`, `100..`), bounds included.
    #[serde(default)]
    pub size: Option<Sp<ScalarText>>,
    /// The SHA-256 of its decoded bytes, in hex.
    #[serde(default)]
    pub sha256: Option<Sp<String>>,
    /// A text attachment (`text/*`, JSON, CSV…) contains these, as `body: { contains }`.
    #[serde(default)]
    pub contains: Option<TextList>,
}

/// The exact, ordered sequence of subjects one address received in a window.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailsStep {
    /// A user key of `[users]`, or an e-mail address.
    pub to: Sp<String>,
    /// The subjects in order of arrival, one per message: each contains its text (or matches
    /// `/regex/i`). Every message to the address in the window counts.
    pub subjects: Vec<Sp<String>>,
    /// The window starts when the step marked with this name started (`mark:`).
    #[serde(default)]
    pub since: Option<Sp<String>>,
    /// The window starts when this earlier step (1-based) started. Default: the last acting
    /// step before this one.
    #[serde(default)]
    pub after_step: Option<Sp<u32>>,
    /// How long to wait for the sequence (default: `timeouts.mail`).
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpExtract {
    /// Variable name to hold the code.
    pub var: Sp<String>,
    /// Regex for the code (first group or whole match). Default: a standalone 6-digit number.
    #[serde(default)]
    pub regex: Option<Sp<String>>,
    /// What codes look like when no `regex` is given: `digits` (six, the default; also written
    /// spaced) or `alnum` (letters and digits such as `ABCD-EFGH` or `X7K9Q2`).
    #[serde(default)]
    pub pattern: Option<Sp<String>>,
    /// Only a code next to this phrase (e.g. `"sign-in code"`): settles a message with more
    /// than one plausible code.
    #[serde(default)]
    pub near: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkExtract {
    /// Variable name to hold the URL.
    pub var: Sp<String>,
    /// Prefer the link whose text contains this (or matches `/regex/i`).
    #[serde(default)]
    pub text: Option<Sp<String>>,
    /// Prefer the link whose URL matches this regex.
    #[serde(default)]
    pub regex: Option<Sp<String>>,
}
