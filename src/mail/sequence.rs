//! Every message one mailbox received in a window, in order of arrival: what a `mails` step
//! compares with the subjects a flow expects.
//!
//! Owns listing and ordering. Does not own the comparison or its wording (the step does), nor
//! waiting for a single message (`wait.rs`).

use time::OffsetDateTime;

use super::parse::parse_message;
use super::{MailError, MailSource};

/// One message in the window. Its subject may hold a code: mask it before showing it.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub id: String,
    pub subject: String,
    /// By the source's clock (else the Date header); `None` when neither is known.
    pub when: Option<OffsetDateTime>,
}

/// The messages to `mailbox` that arrived at or after `window_start`, oldest first (the
/// source's listing order breaks ties: whole-second `Date:` headers often do). A message whose
/// source cannot be parsed counts with the subject the source reports.
pub async fn arrivals(
    source: &dyn MailSource,
    mailbox: &str,
    window_start: OffsetDateTime,
) -> Result<Vec<Arrival>, MailError> {
    let list = source.fetch(mailbox, Some(window_start)).await?;
    let mut out: Vec<Arrival> = list
        .into_iter()
        .filter_map(|raw| {
            let parsed = parse_message(&raw.raw).ok();
            let when = raw.received_at.or(parsed.as_ref().and_then(|p| p.date));
            if when.is_some_and(|t| t < window_start) {
                return None;
            }
            let subject = match parsed {
                Some(p) => p.subject,
                None => raw.subject.unwrap_or_else(|| "(unparsable)".to_owned()),
            };
            Some(Arrival {
                id: raw.id,
                subject,
                when,
            })
        })
        .collect();
    // Stable: equal times keep the listing's order.
    out.sort_by_key(|a| a.when);
    Ok(out)
}
