//! Every message one mailbox received in a window, in order of arrival: what a `mails` step
//! compares with the subjects a flow expects.
//!
//! Owns listing and ordering. Does not own the comparison or its wording (the step does), nor
//! waiting for a single message (`wait.rs`).

use std::time::Duration;

use time::OffsetDateTime;

use super::source::Arrival;
use super::wait::{arrival_of, fetch};
use super::{MailError, MailSource};

/// Raw sources are fetched only for messages the listing shows without a subject; one that is
/// slow gets this long.
const FETCH_BUDGET: Duration = Duration::from_secs(10);

/// One message in the window. Its subject may hold a code: mask it before showing it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub subject: String,
    /// The best arrival time known (see `wait.rs`), else when the runner first saw it.
    pub when: OffsetDateTime,
}

/// The messages to `mailbox` that arrived at or after `since` (widened by `clock_skew` for
/// times by another clock), oldest first (the listing's order breaks ties: whole-second
/// `Date:` headers often do). A message the runner saw before `since` is before it, whatever
/// its times say. A message whose source cannot be parsed counts with the subject the source
/// reports.
pub async fn arrivals(
    source: &dyn MailSource,
    mailbox: &str,
    since: OffsetDateTime,
    clock_skew: Duration,
) -> Result<Vec<Received>, MailError> {
    let list = source
        .list(mailbox, Some(since - clock_skew - Duration::from_secs(1)))
        .await?;
    let mut out = Vec::with_capacity(list.len());
    for l in list {
        let sighting = source.cache().sighted(&l.id);
        let arrival = arrival_of(&l, source);
        let before = sighting.wall < since
            || match arrival {
                Some(Arrival::Announced(t)) => t < since,
                Some(Arrival::Received(t)) => t < since - clock_skew,
                // A Date header is truncated to the second.
                Some(Arrival::Dated(t)) => t + Duration::from_secs(1) <= since - clock_skew,
                None => false,
            };
        if before {
            continue;
        }
        let subject = match l.subject.clone() {
            Some(s) => s,
            None => match fetch(source, &l, FETCH_BUDGET).await?.parsed {
                Ok(p) => p.subject.clone(),
                Err(_) => "(unparsable)".to_owned(),
            },
        };
        out.push(Received {
            id: l.id,
            subject,
            when: arrival.map_or(sighting.wall, Arrival::at),
        });
    }
    // Stable: equal times keep the listing's order.
    out.sort_by_key(|a| a.when);
    Ok(out)
}
