//! The one trait every mail source implements, and what it hands back.

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use time::OffsetDateTime;

use crate::mail::MailError;

/// A place captured mail can be read from.
///
/// `fetch` lists the messages delivered to `mailbox` (compared case-insensitively), oldest or
/// newest first as the source likes; with `since`, a source leaves out messages it knows
/// arrived earlier. It is called repeatedly while a step waits, so sources cache what does not
/// change (a message's raw source).
pub trait MailSource: Send + Sync {
    /// How errors and evidence name this source ("staging endpoint", "maildev", "mailpit").
    fn name(&self) -> &str;

    fn fetch<'a>(
        &'a self,
        mailbox: &'a str,
        since: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, Result<Vec<RawMail>, MailError>>;

    /// How coarse this source's `received_at` is: a message can look this much older than it
    /// is, so waiting widens its window by this much. Most sources record milliseconds (a mail
    /// captured in the same millisecond as the trigger must still count); MailDev reports the
    /// Date header, in whole seconds.
    fn time_resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
}

/// One message as a source delivered it. `raw` and `hints` are secrets: `Debug` hides them.
#[derive(Clone)]
pub struct RawMail {
    /// The source's id for the message.
    pub id: String,
    /// The mailbox it was delivered to.
    pub to: String,
    /// The subject as the source reports it (used to say what arrived when parsing fails).
    pub subject: Option<String>,
    /// When the source received it, by the source's clock.
    pub received_at: Option<OffsetDateTime>,
    /// The RFC 5322 source.
    pub raw: Vec<u8>,
    /// Values the source extracted itself; never trusted alone, only compared.
    pub hints: SourceHints,
}

impl fmt::Debug for RawMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawMail")
            .field("id", &self.id)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("received_at", &self.received_at)
            .field("raw", &format_args!("<{} bytes>", self.raw.len()))
            .field("hints", &self.hints)
            .finish()
    }
}

/// Pre-extracted values some sources offer (the staging endpoint's `otp` and `magic_url`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceHints {
    pub otp: Option<String>,
    pub magic_url: Option<String>,
}

impl fmt::Debug for SourceHints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("SourceHints")
            .field("otp", &shown(&self.otp))
            .field("magic_url", &shown(&self.magic_url))
            .finish()
    }
}
