//! Waiting for a message: poll the source with backoff until a message to the mailbox that
//! arrived in the step's window matches, or the deadline passes.
//!
//! The window starts at the query's `since` (the start of the step that triggered the mail),
//! widened by the clock skew allowed between runner and source and by the source's time
//! resolution. When several messages match, the newest wins (a second "send code" click makes
//! the first code stale). Each message's first sighting is remembered: the delivery latency
//! the report shows is measured to it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::error::WindowNote;
use super::extract::{find_otp, otp_candidates, Ambiguity, OtpRule, Pick};
use super::links::{find_link, LinkChoice, LinkRule};
use super::parse::{parse_message, ParsedMail};
use super::{MailError, MailSource, Matcher, RawMail};
use crate::events::{Evidence, MailExtraction};

/// Clock skew allowed by default between the runner and the mail source: none (the local
/// profile runs both on one machine). A staging profile may allow a few seconds.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::ZERO;

const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_millis(250);
/// A poll that starts just before the deadline still gets this long to answer.
const MIN_FETCH_TIME: Duration = Duration::from_secs(2);

/// The moment a step started, on both clocks: the monotonic one for latencies, the wall one to
/// compare with the source's arrival times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    pub at: Instant,
    pub wall: OffsetDateTime,
}

impl Trigger {
    pub fn now() -> Trigger {
        Trigger {
            at: Instant::now(),
            wall: OffsetDateTime::now_utc(),
        }
    }
}

/// What a mail step waits for.
#[derive(Debug, Clone)]
pub struct MailQuery {
    /// The recipient address.
    pub mailbox: String,
    pub subject: Option<Matcher>,
    /// Tested on the text body and on the HTML's text.
    pub body: Option<Matcher>,
    /// Only messages received after this (by the source's clock).
    pub since: OffsetDateTime,
    /// The start of the step that triggered the mail; latencies are measured from it.
    pub trigger: Trigger,
    /// How far the source's clock may be behind the runner's.
    pub clock_skew: Duration,
    /// How errors name the window, e.g. "after step 3 (click) started at 10:00:01.120 UTC".
    pub window: String,
}

impl MailQuery {
    /// Messages to `mailbox` received after `trigger`.
    pub fn new(mailbox: impl Into<String>, trigger: Trigger) -> MailQuery {
        MailQuery {
            mailbox: mailbox.into(),
            subject: None,
            body: None,
            since: trigger.wall,
            trigger,
            clock_skew: DEFAULT_CLOCK_SKEW,
            window: String::new(),
        }
    }

    /// How errors name the window.
    pub fn window(mut self, description: impl Into<String>) -> MailQuery {
        self.window = description.into();
        self
    }

    pub fn subject(mut self, m: Matcher) -> MailQuery {
        self.subject = Some(m);
        self
    }

    pub fn body(mut self, m: Matcher) -> MailQuery {
        self.body = Some(m);
        self
    }

    pub fn since(mut self, since: OffsetDateTime) -> MailQuery {
        self.since = since;
        self
    }

    pub fn clock_skew(mut self, skew: Duration) -> MailQuery {
        self.clock_skew = skew;
        self
    }

    /// `subject ~"sign-in code" and body ~"123"`, for errors.
    pub fn criteria(&self) -> String {
        let parts: Vec<String> = [("subject", &self.subject), ("body", &self.body)]
            .into_iter()
            .filter_map(|(what, m)| m.as_ref().map(|m| format!("{what} {}", m.description())))
            .collect();
        parts.join(" and ")
    }

    fn matches(&self, m: &ParsedMail) -> bool {
        self.subject.as_ref().is_none_or(|s| s.is_match(&m.subject))
            && self
                .body
                .as_ref()
                .is_none_or(|b| m.texts().any(|t| b.is_match(t)))
    }
}

/// The message a wait found.
#[derive(Debug, Clone)]
pub struct FoundMail {
    pub raw: RawMail,
    pub parsed: ParsedMail,
    /// The source's name.
    pub source: String,
    /// When this runner first saw the message.
    pub first_seen: OffsetDateTime,
    /// From the trigger to the arrival the source recorded; `None` when the source records no
    /// time or its clock puts the arrival before the trigger (skew, whole-second dates).
    pub latency_source_ms: Option<u64>,
    /// From the trigger to the runner first seeing the message.
    pub latency_seen_ms: u64,
    /// How many times the source was asked.
    pub polls: u32,
}

impl FoundMail {
    /// The message id for reports: the Message-ID header, else the source's id.
    pub fn message_id(&self) -> &str {
        self.parsed.message_id.as_deref().unwrap_or(&self.raw.id)
    }

    /// The one code in the message under `rule` (see [`find_otp`]): `NoCode` when none fits,
    /// `Ambiguous` when several do.
    pub fn otp(&self, rule: &OtpRule) -> Result<Pick, MailError> {
        find_otp(&self.parsed, rule).map_err(|a| match a {
            Ambiguity::None { passed_over } => MailError::NoCode {
                id: self.message_id().to_owned(),
                subject: self.parsed.subject.clone(),
                passed_over,
            },
            Ambiguity::Several { candidates } => MailError::Ambiguous {
                id: self.message_id().to_owned(),
                what: "codes",
                candidates,
                advice: "add `regex:` or `near:` to `otp:`",
            },
        })
    }

    /// The one link the flow means (see [`find_link`]): `NoLink` when none fits, `Ambiguous`
    /// when several do.
    pub fn link(&self, rule: &LinkRule<'_>) -> Result<LinkChoice, MailError> {
        find_link(&self.parsed, rule).map_err(|a| match a {
            Ambiguity::None { passed_over } => MailError::NoLink {
                id: self.message_id().to_owned(),
                subject: self.parsed.subject.clone(),
                passed_over,
            },
            Ambiguity::Several { candidates } => MailError::Ambiguous {
                id: self.message_id().to_owned(),
                what: "links",
                candidates,
                advice: "add `text:` or `regex:` to `link:`, or list the app's origins in `[mail] link_origins`",
            },
        })
    }

    /// Every code `rule` matches in this message, whatever its rank: secrets to register
    /// before a failure about the message is written (one of them may be the real code).
    pub fn candidate_codes(&self, rule: &OtpRule) -> Vec<String> {
        otp_candidates(&self.parsed, rule)
    }

    /// Does the source's own extraction agree with ours? `None` when it offered none.
    pub fn source_agrees_on_otp(&self, ours: &str) -> Option<bool> {
        self.raw.hints.otp.as_deref().map(|theirs| theirs == ours)
    }

    /// Does the source's own magic link agree with ours? `None` when it offered none.
    pub fn source_agrees_on_link(&self, ours: &str) -> Option<bool> {
        self.raw
            .hints
            .magic_url
            .as_deref()
            .map(|theirs| theirs == ours)
    }

    /// The evidence record for the step (no body, code or link in it); `extracted` says what
    /// the step took and where.
    pub fn evidence(&self, extracted: Vec<MailExtraction>) -> Evidence {
        Evidence::Mail {
            to: self.raw.to.clone(),
            subject: self.parsed.subject.clone(),
            message_id: self.message_id().to_owned(),
            source: self.source.clone(),
            latency_source_ms: self.latency_source_ms,
            latency_seen_ms: self.latency_seen_ms,
            extracted,
        }
    }
}

struct Candidate {
    /// Arrival by the source's clock (else the Date header, else first sighting).
    when: OffsetDateTime,
    raw: RawMail,
    parsed: ParsedMail,
    first_seen: Instant,
    first_seen_wall: OffsetDateTime,
}

struct Seen {
    at: Instant,
    wall: OffsetDateTime,
    parsed: Result<ParsedMail, String>,
}

/// Polls `source` (50 ms doubling to 250 ms: mail is awaited on the hot path of a login) until a message matching `q` arrives or `deadline`
/// passes. Errors: `NoMessage` (saying what arrived instead), `Malformed` (a message in the
/// window is broken MIME: at once when its subject matches, else at the deadline when nothing
/// matched), the source's HTTP errors (401/403/404 at once; connection errors and 5xx are
/// retried, the last one is returned if the source never answered).
pub async fn wait_for_mail(
    source: &dyn MailSource,
    q: &MailQuery,
    deadline: Instant,
) -> Result<FoundMail, MailError> {
    let window_start = q.since - q.clock_skew - source.time_resolution();
    let started = Instant::now();
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut arrived: Vec<String> = Vec::new();
    let mut malformed: Option<(String, String)> = None;
    let mut last_error: Option<MailError> = None;
    let mut answered = false;
    let mut polls = 0u32;
    let mut delay = FIRST_DELAY;

    loop {
        polls += 1;
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .max(MIN_FETCH_TIME);
        let fetched =
            tokio::time::timeout(budget, source.fetch(&q.mailbox, Some(window_start))).await;
        match fetched {
            Err(_) => {
                last_error = Some(MailError::Unresponsive {
                    source_name: source.name().to_owned(),
                    waited: budget,
                });
            }
            Ok(Err(e)) if e.is_transient() => {
                tracing::debug!(source = source.name(), error = %e, "mail source poll failed; retrying");
                last_error = Some(e);
            }
            Ok(Err(e)) => return Err(e),
            Ok(Ok(list)) => {
                answered = true;
                let mut matching: Vec<Candidate> = Vec::new();
                for raw in list {
                    let entry = seen.entry(raw.id.clone()).or_insert_with(|| {
                        let parsed = parse_message(&raw.raw).map_err(|e| match e {
                            MailError::Malformed { reason, .. } => reason,
                            other => other.to_string(),
                        });
                        // Ids and sizes only: a subject can hold the code, and nothing
                        // about a message is logged before the step has extracted (and so
                        // registered as secret) what it takes from it.
                        tracing::debug!(
                            source = source.name(),
                            id = %raw.id,
                            bytes = raw.raw.len(),
                            "mail seen"
                        );
                        Seen {
                            at: Instant::now(),
                            wall: OffsetDateTime::now_utc(),
                            parsed,
                        }
                    });
                    let date = entry.parsed.as_ref().ok().and_then(|p| p.date);
                    let when = raw.received_at.or(date);
                    if when.is_some_and(|t| t < window_start) {
                        continue;
                    }
                    match &entry.parsed {
                        Err(reason) => {
                            // It could be the one: with no criteria any message to the
                            // mailbox is, else the subject the source reports must match.
                            let subject_matches = match (&q.subject, &raw.subject) {
                                (None, _) => q.body.is_none(),
                                (Some(m), Some(s)) => m.is_match(s),
                                (Some(_), None) => false,
                            };
                            if subject_matches {
                                return Err(MailError::Malformed {
                                    id: raw.id.clone(),
                                    reason: reason.clone(),
                                });
                            }
                            if malformed.as_ref().is_none_or(|(id, _)| *id != raw.id) {
                                malformed = Some((raw.id.clone(), reason.clone()));
                            }
                            remember(
                                &mut arrived,
                                &raw.id,
                                raw.subject.as_deref().unwrap_or("(unparsable)"),
                            );
                        }
                        Ok(p) if q.matches(p) => matching.push(Candidate {
                            when: when.unwrap_or(entry.wall),
                            parsed: p.clone(),
                            first_seen: entry.at,
                            first_seen_wall: entry.wall,
                            raw,
                        }),
                        Ok(p) => remember(&mut arrived, &raw.id, &p.subject),
                    }
                }
                if let Some(c) = matching.into_iter().max_by_key(|c| c.when) {
                    let Candidate {
                        raw,
                        parsed,
                        first_seen,
                        first_seen_wall,
                        ..
                    } = c;
                    let latency_source_ms = raw
                        .received_at
                        .map(|t| (t - q.trigger.wall).whole_milliseconds())
                        .and_then(|ms| u64::try_from(ms).ok());
                    let latency_seen_ms = u64::try_from(
                        first_seen
                            .saturating_duration_since(q.trigger.at)
                            .as_millis(),
                    )
                    .unwrap_or(u64::MAX);
                    tracing::info!(source = source.name(), id = %raw.id, polls, "mail found");
                    return Ok(FoundMail {
                        first_seen: first_seen_wall,
                        source: source.name().to_owned(),
                        raw,
                        parsed,
                        latency_source_ms,
                        latency_seen_ms,
                        polls,
                    });
                }
            }
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let next = (now + delay).min(deadline);
        tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
        delay = (delay * 2).min(MAX_DELAY);
    }

    if let Some((id, reason)) = malformed {
        return Err(MailError::Malformed { id, reason });
    }
    if !answered {
        if let Some(e) = last_error {
            return Err(e);
        }
    }
    let waited = started.elapsed();
    let before_window = matching_before_window(source, q, window_start).await;
    Err(MailError::NoMessage {
        mailbox: q.mailbox.clone(),
        source_name: source.name().to_owned(),
        waited,
        criteria: q.criteria(),
        arrived: arrived_subjects(&arrived),
        window: Box::new(WindowNote {
            description: q.window.clone(),
            before_window,
        }),
    })
}

/// Subjects of messages that match `q` but arrived before `window_start`: asked once, when a
/// wait has failed, so that "nothing arrived" is never said while the catcher holds the mail
/// (a sender clock behind, a replayed fixture with an old `Date:`).
async fn matching_before_window(
    source: &dyn MailSource,
    q: &MailQuery,
    window_start: OffsetDateTime,
) -> Vec<String> {
    let fetched = tokio::time::timeout(MIN_FETCH_TIME, source.fetch(&q.mailbox, None)).await;
    let Ok(Ok(list)) = fetched else {
        return Vec::new();
    };
    list.into_iter()
        .filter_map(|raw| {
            let parsed = parse_message(&raw.raw).ok()?;
            let when = raw.received_at.or(parsed.date)?;
            (when < window_start && q.matches(&parsed)).then_some(parsed.subject)
        })
        .collect()
}

/// Keeps `id\0subject` entries once each, in arrival order.
fn remember(arrived: &mut Vec<String>, id: &str, subject: &str) {
    let key = format!("{id}\0{subject}");
    if !arrived.contains(&key) {
        arrived.push(key);
    }
}

fn arrived_subjects(arrived: &[String]) -> Vec<String> {
    arrived
        .iter()
        .map(|k| k.split_once('\0').map_or(k.as_str(), |(_, s)| s).to_owned())
        .collect()
}
