//! Mail: read captured messages from a mail source, parse them as MIME, wait for the one a flow
//! asks for, and extract a one-time code or a link from it.
//!
//! Owns: the parser over mailparse ([`parse_message`]), ranked extraction that explains
//! itself or refuses to guess ([`find_otp`], [`find_link`]), the mail sources behind one trait ([`MailSource`]: the staging endpoint,
//! MailDev, Mailpit; listing first, raw sources for candidates only, event streams where the
//! source has one), the wait ([`wait_for_mail`]: on the event stream, else polling), a
//! mailbox's arrivals in a window ([`arrivals`], for sequences) and attachments decoded on
//! demand ([`attachments`]). Does not own: flow-file syntax,
//! variables, redaction of values in reports (the executor marks extracted values secret) or
//! the `mail` step itself (src/exec/step/mail.rs calls into this module).
//!
//! Message bodies, codes and links are secrets: nothing here logs them or prints them in
//! `Debug` output. Logs carry message ids only: a subject can hold the code ("772204 is your
//! code"), so subjects reach reports only through the step, redacted after extraction.

mod attachment;
mod error;
mod extract;
mod html;
mod links;
mod matcher;
mod parse;
mod sequence;
mod source;
mod wait;

pub use attachment::{attachments, Attachment};
pub use error::{mask_code_like, MailError};
pub use extract::{
    extract_otp, find_otp, mask, Ambiguity, OtpPattern, OtpRule, Pick, Place, DEFAULT_OTP_PATTERN,
};
pub use links::{extract_link, find_link, shown, unwrap_redirect, LinkChoice, LinkRule};
pub use matcher::Matcher;
pub use parse::{parse_message, Link, LinkOrigin, ParsedMail};
pub use sequence::{arrivals, Received};
pub use source::{
    build_source, Arrival, Fetched, Listed, MailCache, MailDevSource, MailSource, MailSourceConfig,
    MailSources, MailpitSource, Protocol, RawMail, Sighting, SourceHints, StagingSource, Watch,
    DEFAULT_STAGING_HEADER, DEFAULT_STAGING_PATH,
};
pub use wait::{wait_for_mail, FoundMail, MailQuery, Trigger, DEFAULT_CLOCK_SKEW};
