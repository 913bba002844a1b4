//! Waiting for a message: list the mailbox until a message to it that arrived in the step's
//! window matches, or the deadline passes. Between listings the wait sleeps on the source's
//! event stream when it has one that is up (MailDev's socket.io, Mailpit's websocket), else
//! polls with backoff; the evidence says which.
//!
//! The window starts at the query's `since` (the start of the step that triggered the mail).
//! A message's arrival is the best time known for it, in this order: the stream's
//! announcement (runner clock), the catcher's receive time (widened by the allowed clock
//! skew), its `Date:` header (sender clock, whole seconds, also widened). A message the runner
//! saw before the window started is before it, whatever its times say.
//!
//! Only the listing is read on every pass; raw sources are fetched for candidates only (a
//! subject the listing shows must match), newest first, and parsed once per run (the source's
//! [`MailCache`](super::MailCache)). When several messages match, the newest wins (a second
//! "send code" click makes the first code stale).

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::error::WindowNote;
use super::extract::{find_otp, otp_candidates, Ambiguity, OtpRule, Pick};
use super::links::{find_link, LinkChoice, LinkRule};
use super::parse::{parse_message, ParsedMail};
use super::{Arrival, Fetched, Listed, MailError, MailSource, Matcher, RawMail, Sighting};
use crate::events::{Evidence, MailExtraction};

/// Clock skew allowed by default between the runner and the mail source: none (the local
/// profile runs both on one machine). A staging profile may allow a few seconds.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::ZERO;

const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_millis(250);
/// A poll that starts just before the deadline still gets this long to answer.
const MIN_FETCH_TIME: Duration = Duration::from_secs(2);
/// While waiting on an event stream, the mailbox is still listed this often, in case an
/// announcement was lost.
const STREAM_RELIST: Duration = Duration::from_secs(2);
/// Messages matched but before the window that a failure names at most (each is fetched).
const BEFORE_WINDOW_SHOWN: usize = 5;

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
    /// The best arrival time known for the message (see the module docs).
    pub arrival: Option<Arrival>,
    /// Delivered after the action: from the trigger to [`arrival`](Self::arrival), in
    /// milliseconds but only as precise as `latency_source_resolution_ms` (1000 for a Date
    /// header, rounded to whole seconds); `None` when no time is known, or a receive time puts
    /// the arrival before the trigger (clock skew).
    pub latency_source_ms: Option<u64>,
    pub latency_source_resolution_ms: Option<u64>,
    /// Seen by the runner: from the trigger to the runner first seeing the message (includes
    /// the steps between the trigger and this one).
    pub latency_seen_ms: u64,
    /// How many times the source was listed.
    pub polls: u32,
    /// What the wait listened to: the source's event stream, or polling (and why).
    pub waited_on: String,
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
            latency_source_resolution_ms: self.latency_source_resolution_ms,
            latency_source_basis: self.arrival.map(|a| a.basis().to_owned()),
            latency_seen_ms: self.latency_seen_ms,
            waited_on: Some(self.waited_on.clone()),
            extracted,
        }
    }

    /// "delivered after 1 s (Date header, whole seconds), seen after 1240 ms": both
    /// latencies as precisely as they are known.
    pub fn latency_text(&self) -> String {
        let seen = format!("seen after {} ms", self.latency_seen_ms);
        match (self.latency_source_ms, self.arrival) {
            (Some(ms), Some(a @ Arrival::Dated(_))) => format!(
                "delivered after {} s ({}, whole seconds), {seen}",
                ms / 1000,
                basis_text(a)
            ),
            (Some(ms), Some(a)) => format!("delivered after {ms} ms ({}), {seen}", basis_text(a)),
            _ => format!("{seen} (the source records no delivery time)"),
        }
    }
}

fn basis_text(a: Arrival) -> &'static str {
    match a {
        Arrival::Received(_) => "the source's receive time",
        Arrival::Announced(_) => "announced on the source's event stream",
        Arrival::Dated(_) => "by its Date header",
    }
}

/// The best arrival time known for a listed message (see the module docs).
pub(crate) fn arrival_of(l: &Listed, source: &dyn MailSource) -> Option<Arrival> {
    source
        .watch()
        .and_then(|w| w.announced(&l.id))
        .map(Arrival::Announced)
        .or(l.received_at.map(Arrival::Received))
        .or(l.dated.map(Arrival::Dated))
}

/// Did the message arrive before the window? Unknown times are kept (they may be the one).
fn before_window(q: &MailQuery, arrival: Option<Arrival>, sighting: Sighting) -> bool {
    if sighting.wall < q.since {
        // The runner saw it before the triggering step started.
        return true;
    }
    match arrival {
        Some(Arrival::Announced(t)) => t < q.since,
        Some(Arrival::Received(t)) => t < q.since - q.clock_skew - Duration::from_millis(1),
        // A Date header is truncated to the second.
        Some(Arrival::Dated(t)) => t + Duration::from_secs(1) <= q.since - q.clock_skew,
        None => false,
    }
}

/// Delivered after the action, as precisely as `arrival` knows it.
fn source_latency(arrival: Option<Arrival>, trigger: Trigger) -> (Option<u64>, Option<u64>) {
    match arrival {
        None => (None, None),
        Some(Arrival::Dated(t)) => {
            // Sent somewhere in [Date, Date + 1 s): its middle, to the nearest second.
            let ms = (t + Duration::from_millis(500) - trigger.wall)
                .whole_milliseconds()
                .max(0);
            let secs = (ms + 500) / 1000;
            (u64::try_from(secs * 1000).ok(), Some(1000))
        }
        Some(a) => (
            u64::try_from((a.at() - trigger.wall).whole_milliseconds()).ok(),
            Some(a.resolution_ms()),
        ),
    }
}

/// The raw source and parse of `l`, from the run's cache or fetched (within `budget`).
pub(crate) async fn fetch(
    source: &dyn MailSource,
    l: &Listed,
    budget: Duration,
) -> Result<Fetched, MailError> {
    if let Some(f) = source.cache().get(&l.id) {
        return Ok(f);
    }
    let raw = match &l.raw {
        Some(raw) => raw.clone(),
        None => tokio::time::timeout(budget, source.raw(l))
            .await
            .map_err(|_| MailError::Unresponsive {
                source_name: source.name().to_owned(),
                waited: budget,
            })??,
    };
    let parsed = parse_message(&raw).map(Arc::new).map_err(|e| match e {
        MailError::Malformed { reason, .. } => reason,
        other => other.to_string(),
    });
    // Ids and sizes only: a subject can hold the code, and nothing about a message is logged
    // before the step has extracted (and so registered as secret) what it takes from it.
    tracing::debug!(source = source.name(), id = %l.id, bytes = raw.len(), "mail fetched");
    let f = Fetched {
        raw: Arc::new(raw),
        parsed,
    };
    source.cache().put(&l.id, f.clone());
    Ok(f)
}

/// Could a message whose listing shows `subject` be the one? (A listing without subjects
/// leaves the question to the parsed message.)
fn subject_may_match(q: &MailQuery, subject: Option<&str>) -> bool {
    match (&q.subject, subject) {
        (Some(m), Some(s)) => m.is_match(s),
        _ => true,
    }
}

struct Candidate {
    listed: Listed,
    arrival: Option<Arrival>,
    sighting: Sighting,
    /// For "newest wins": the arrival, else the first sighting.
    when: OffsetDateTime,
}

/// Lists the mailbox until a message matching `q` arrives or `deadline` passes, waking on the
/// source's event stream when it is up, else polling (50 ms doubling to 250 ms: mail is
/// awaited on the hot path of a login). Errors: `NoMessage` (saying what arrived instead, and
/// what matched but arrived before the window), `Malformed` (a message in the window is broken
/// MIME: at once when its subject matches, else at the deadline when nothing matched), the
/// source's HTTP errors (401/403/404 at once; connection errors and 5xx are retried, the last
/// one is returned if the source never answered). Each request may use what is left of the
/// step's budget.
pub async fn wait_for_mail(
    source: &dyn MailSource,
    q: &MailQuery,
    deadline: Instant,
) -> Result<FoundMail, MailError> {
    let started = Instant::now();
    let list_since = q.since - q.clock_skew - Duration::from_secs(1);
    let mut arrived: Vec<(OffsetDateTime, String)> = Vec::new();
    let mut before: Vec<Listed> = Vec::new();
    let mut malformed: Option<(String, String)> = None;
    let mut last_error: Option<MailError> = None;
    let mut answered = false;
    let mut polls = 0u32;
    let mut delay = FIRST_DELAY;
    let watch = source.watch();
    let mut ticks = watch.map(super::Watch::ticks);
    // Did the wait ever have to poll while the source has a stream?
    let mut stream_was_down = false;

    loop {
        polls += 1;
        if let Some(t) = ticks.as_mut() {
            // Announcements up to now are covered by the listing that follows.
            t.borrow_and_update();
        }
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .max(MIN_FETCH_TIME);
        let listed =
            match tokio::time::timeout(budget, source.list(&q.mailbox, Some(list_since))).await {
                Err(_) => Err(MailError::Unresponsive {
                    source_name: source.name().to_owned(),
                    waited: budget,
                }),
                Ok(r) => r,
            };
        let list = match listed {
            Err(e) if e.is_transient() => {
                tracing::debug!(source = source.name(), error = %e, "mail source poll failed; retrying");
                last_error = Some(e);
                Vec::new()
            }
            Err(e) => return Err(e),
            Ok(list) => {
                answered = true;
                list
            }
        };
        let mut candidates: Vec<Candidate> = Vec::new();
        for l in list {
            let sighting = source.cache().sighted(&l.id);
            let arrival = arrival_of(&l, source);
            if before_window(q, arrival, sighting) {
                if subject_may_match(q, l.subject.as_deref())
                    && !before.iter().any(|b| b.id == l.id)
                {
                    before.push(l);
                }
                continue;
            }
            if !subject_may_match(q, l.subject.as_deref()) {
                // Not the one, and not worth its raw source.
                remember(
                    &mut arrived,
                    arrival.map_or(sighting.wall, Arrival::at),
                    &l.id,
                    l.subject.as_deref().unwrap_or_default(),
                );
                continue;
            }
            let when = arrival.map_or(sighting.wall, Arrival::at);
            candidates.push(Candidate {
                listed: l,
                arrival,
                sighting,
                when,
            });
        }
        // Newest first: once one matches, older ones cannot win and are never fetched.
        candidates.sort_by_key(|c| std::cmp::Reverse(c.when));
        let mut found: Option<(Candidate, Arc<Vec<u8>>, Arc<ParsedMail>)> = None;
        for c in candidates {
            if found.as_ref().is_some_and(|(f, _, _)| c.when < f.when) {
                break;
            }
            let budget = deadline
                .saturating_duration_since(Instant::now())
                .max(MIN_FETCH_TIME);
            let fetched = match fetch(source, &c.listed, budget).await {
                Ok(f) => f,
                Err(e) if e.is_transient() => {
                    last_error = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            };
            match &fetched.parsed {
                Err(reason) => {
                    // It could be the one: with no criteria any message to the mailbox is,
                    // else the subject the source reports must match.
                    let subject_matches = match (&q.subject, &c.listed.subject) {
                        (None, _) => q.body.is_none(),
                        (Some(m), Some(s)) => m.is_match(s),
                        (Some(_), None) => false,
                    };
                    if subject_matches {
                        return Err(MailError::Malformed {
                            id: c.listed.id.clone(),
                            reason: reason.clone(),
                        });
                    }
                    if malformed.as_ref().is_none_or(|(id, _)| *id != c.listed.id) {
                        malformed = Some((c.listed.id.clone(), reason.clone()));
                    }
                    remember(
                        &mut arrived,
                        c.when,
                        &c.listed.id,
                        c.listed.subject.as_deref().unwrap_or("(unparsable)"),
                    );
                }
                Ok(p) if q.matches(p) => {
                    if found.is_none() {
                        let (raw, parsed) = (fetched.raw.clone(), p.clone());
                        found = Some((c, raw, parsed));
                    }
                }
                Ok(p) => remember(&mut arrived, c.when, &c.listed.id, &p.subject),
            }
        }
        if let Some((c, raw, parsed)) = found {
            let (latency_source_ms, latency_source_resolution_ms) =
                source_latency(c.arrival, q.trigger);
            let latency_seen_ms = u64::try_from(
                c.sighting
                    .at
                    .saturating_duration_since(q.trigger.at)
                    .as_millis(),
            )
            .unwrap_or(u64::MAX);
            let waited_on = match watch {
                None => "polling".to_owned(),
                Some(w) if stream_was_down || w.up_since().is_none() => format!(
                    "polling (the event stream, {}, was down)",
                    w.protocol().describe()
                ),
                Some(w) => w.protocol().describe().to_owned(),
            };
            tracing::info!(source = source.name(), id = %c.listed.id, polls, %waited_on, "mail found");
            let l = c.listed;
            return Ok(FoundMail {
                first_seen: c.sighting.wall,
                source: source.name().to_owned(),
                raw: RawMail {
                    id: l.id,
                    to: l.to,
                    subject: l.subject,
                    received_at: l.received_at,
                    raw: Arc::unwrap_or_clone(raw),
                    hints: l.hints,
                },
                parsed: Arc::unwrap_or_clone(parsed),
                arrival: c.arrival,
                latency_source_ms,
                latency_source_resolution_ms,
                latency_seen_ms,
                polls,
                waited_on,
            });
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        match (watch, ticks.as_mut()) {
            (Some(w), Some(t)) if w.up_since().is_some() => {
                let next = (now + STREAM_RELIST).min(deadline);
                tokio::select! {
                    _ = t.changed() => {}
                    () = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {}
                }
            }
            _ => {
                stream_was_down |= watch.is_some();
                let next = (now + delay).min(deadline);
                tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
                delay = (delay * 2).min(MAX_DELAY);
            }
        }
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
    let before_window = matching_before_window(source, q, before).await;
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

/// Subjects of messages that match `q` but arrived before the window, so that "nothing
/// arrived" is never said while the catcher holds the mail (a sender clock behind, a replayed
/// fixture with an old `Date:`, a mail sent before the step the window starts at). Asked
/// once, when a wait has failed; a source that filtered old messages out of its listings is
/// listed once more without the window.
async fn matching_before_window(
    source: &dyn MailSource,
    q: &MailQuery,
    mut before: Vec<Listed>,
) -> Vec<String> {
    if before.is_empty() {
        let listed = tokio::time::timeout(MIN_FETCH_TIME, source.list(&q.mailbox, None)).await;
        if let Ok(Ok(list)) = listed {
            before = list
                .into_iter()
                .filter(|l| {
                    let sighting = source.cache().sighted(&l.id);
                    before_window(q, arrival_of(l, source), sighting)
                        && subject_may_match(q, l.subject.as_deref())
                })
                .collect();
        }
    }
    let mut subjects = Vec::new();
    for l in before.iter().rev().take(BEFORE_WINDOW_SHOWN) {
        let Ok(f) = fetch(source, l, MIN_FETCH_TIME).await else {
            continue;
        };
        if let Ok(p) = &f.parsed {
            if q.matches(p) {
                subjects.push(p.subject.clone());
            }
        }
    }
    subjects
}

/// Keeps `id\0subject` entries once each, with their arrival (listed in that order).
fn remember(
    arrived: &mut Vec<(OffsetDateTime, String)>,
    when: OffsetDateTime,
    id: &str,
    subject: &str,
) {
    let key = format!("{id}\0{subject}");
    if !arrived.iter().any(|(_, k)| *k == key) {
        arrived.push((when, key));
    }
}

fn arrived_subjects(arrived: &[(OffsetDateTime, String)]) -> Vec<String> {
    let mut sorted: Vec<&(OffsetDateTime, String)> = arrived.iter().collect();
    sorted.sort_by_key(|(when, _)| *when);
    sorted
        .iter()
        .map(|(_, k)| k.split_once('\0').map_or(k.as_str(), |(_, s)| s).to_owned())
        .collect()
}
