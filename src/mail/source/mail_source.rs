//! The one trait every mail source implements, and what it hands back.

use std::fmt;

use futures_util::future::BoxFuture;
use time::OffsetDateTime;

use super::cache::MailCache;
use super::watch::Watch;
use crate::mail::MailError;

/// A place captured mail can be read from.
///
/// Reading is two-phase so that a mailbox holding a 5 MB newsletter costs one listing, not a
/// download per poll: [`list`](MailSource::list) gives what the source knows without the raw
/// message (recipient, subject, times, size), and [`raw`](MailSource::raw) fetches one
/// message's RFC 5322 source, only for the candidates the wait could take.
pub trait MailSource: Send + Sync {
    /// How errors and evidence name this source ("staging endpoint", "maildev", "mailpit").
    fn name(&self) -> &str;

    /// The messages delivered to `mailbox` (compared case-insensitively), in any order; with
    /// `since`, a source may leave out messages it knows arrived earlier by its own clock.
    fn list<'a>(
        &'a self,
        mailbox: &'a str,
        since: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, Result<Vec<Listed>, MailError>>;

    /// The raw source of a listed message (sources whose listing carries it never get here).
    fn raw<'a>(&'a self, listed: &'a Listed) -> BoxFuture<'a, Result<Vec<u8>, MailError>>;

    /// The source's event stream (new-message notices), when it has one.
    fn watch(&self) -> Option<&Watch> {
        None
    }

    /// What the run remembers of this source's messages (sightings, parsed messages).
    fn cache(&self) -> &MailCache;
}

/// When a source says a message arrived, and how much that time is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The catcher's own receive time (Mailpit's `Created`, the staging endpoint's
    /// `received_at`), in milliseconds.
    Received(OffsetDateTime),
    /// The runner's clock when the source's event stream announced the message.
    Announced(OffsetDateTime),
    /// Only the message's `Date:` header is known: the sender's clock, whole seconds
    /// (MailDev's `time` for a message with a Date header).
    Dated(OffsetDateTime),
}

impl Arrival {
    pub fn at(self) -> OffsetDateTime {
        match self {
            Arrival::Received(t) | Arrival::Announced(t) | Arrival::Dated(t) => t,
        }
    }

    /// How coarse the time is: a Date header has whole seconds.
    pub fn resolution_ms(self) -> u64 {
        match self {
            Arrival::Dated(_) => 1000,
            Arrival::Received(_) | Arrival::Announced(_) => 1,
        }
    }

    /// What the time is, for evidence: `received`, `announced` or `date_header`.
    pub fn basis(self) -> &'static str {
        match self {
            Arrival::Received(_) => "received",
            Arrival::Announced(_) => "announced",
            Arrival::Dated(_) => "date_header",
        }
    }
}

/// One message as a source's listing shows it. `raw` and `hints` are secrets: `Debug` hides
/// them; the subject may hold a code, so nothing logs it.
#[derive(Clone, Default)]
pub struct Listed {
    /// The source's id for the message.
    pub id: String,
    /// The mailbox it was delivered to.
    pub to: String,
    /// The subject as the source decoded it; `None` when the listing does not carry one.
    pub subject: Option<String>,
    /// The catcher's receive time, when it records one.
    pub received_at: Option<OffsetDateTime>,
    /// The `Date:` header as the source reports it (sender's clock, whole seconds).
    pub dated: Option<OffsetDateTime>,
    /// The raw size in bytes, when the listing says.
    pub size: Option<u64>,
    /// The raw source, when the listing carries it (the staging endpoint).
    pub raw: Option<Vec<u8>>,
    /// Values the source extracted itself; never trusted alone, only compared.
    pub hints: SourceHints,
}

impl fmt::Debug for Listed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listed")
            .field("id", &self.id)
            .field("to", &self.to)
            .field("received_at", &self.received_at)
            .field("dated", &self.dated)
            .field("size", &self.size)
            .field(
                "raw",
                &self.raw.as_ref().map(|r| format!("<{} bytes>", r.len())),
            )
            .field("hints", &self.hints)
            .finish_non_exhaustive()
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
            .field("received_at", &self.received_at)
            .field("raw", &format_args!("<{} bytes>", self.raw.len()))
            .field("hints", &self.hints)
            .finish_non_exhaustive()
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
