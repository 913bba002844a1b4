//! Everything that can go wrong while waiting for, reading or parsing mail.
//!
//! Messages say what a person needs to act on: which mailbox, which source, how long, what did
//! arrive instead. They never contain bodies, codes or links (only ids and subjects).

use std::time::Duration;

/// The window a wait searched, for its "no message" error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowNote {
    /// E.g. "after step 3 (click) started at 10:00:01.120 UTC"; empty when the caller did not
    /// say.
    pub description: String,
    /// Subjects of messages that matched everything but arrived before the window.
    pub before_window: Vec<String>,
}

/// A mail error.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The deadline passed without a matching message.
    #[error("{}", no_message(mailbox, criteria, *waited, source_name, arrived, window))]
    NoMessage {
        mailbox: String,
        /// The source's name ("staging endpoint", "maildev", "mailpit").
        source_name: String,
        waited: Duration,
        /// What was asked for, e.g. `subject ~"sign-in code"`; empty when nothing was.
        criteria: String,
        /// Subjects of the messages that did arrive in the window but did not match.
        arrived: Vec<String>,
        /// The window searched and what matched before it (boxed: errors stay small).
        window: Box<WindowNote>,
    },
    /// The message is not valid MIME.
    #[error("message {id} is not valid MIME: {reason}")]
    Malformed { id: String, reason: String },
    /// The message arrived but no code fits; `passed_over` says (masked) what was set aside.
    #[error(
        "no code found in message {id} (subject {subject:?}){}",
        listed("set aside", passed_over)
    )]
    NoCode {
        id: String,
        subject: String,
        passed_over: Vec<String>,
    },
    /// The message arrived but no link fits; `passed_over` lists its links (paths hidden).
    #[error(
        "no link found in message {id} (subject {subject:?}){}",
        listed("its links", passed_over)
    )]
    NoLink {
        id: String,
        subject: String,
        passed_over: Vec<String>,
    },
    /// Several values fit equally well: the runner does not guess. Candidates are masked.
    #[error(
        "{} {what} could be the one in message {id}: {}; {advice}",
        candidates.len(),
        first_few(candidates)
    )]
    Ambiguous {
        id: String,
        /// "codes" or "links".
        what: &'static str,
        candidates: Vec<String>,
        /// What to add to the step, e.g. "add `regex:` or `near:` to `otp:`".
        advice: &'static str,
    },
    /// The source answered 401 or 403.
    #[error("the mail source ({source_name}) rejected the secret ({status})")]
    Rejected { source_name: String, status: u16 },
    /// The staging endpoint answered 404: the app's staging E2E mode is off (or the path is
    /// wrong).
    #[error(
        "the mail source ({source_name}) answered 404 for {url}: is the app's staging E2E mode \
         enabled, and is the path right?"
    )]
    NotEnabled { source_name: String, url: String },
    /// Any other unexpected HTTP status.
    #[error(
        "the mail source ({source_name}) answered {status} for {url}{}",
        excerpt(body)
    )]
    Status {
        source_name: String,
        url: String,
        status: u16,
        /// The start of the response body (error responses carry no mail).
        body: String,
    },
    /// The request did not complete (connection refused, timeout, broken body).
    #[error("could not reach the mail source ({source_name}) at {url}")]
    Request {
        source_name: String,
        url: String,
        #[source]
        error: reqwest::Error,
    },
    /// No answer from the source before the deadline.
    #[error("the mail source ({source_name}) did not answer within {}", crate::human::duration(*waited))]
    Unresponsive {
        source_name: String,
        waited: Duration,
    },
    /// The source answered 200 with something its API does not document.
    #[error("the mail source ({source_name}) sent an unexpected response from {url}: {reason}")]
    Response {
        source_name: String,
        url: String,
        reason: String,
    },
    /// The configured URL cannot be used.
    #[error("the mail source ({source_name}) has an invalid url {url:?}: {reason}")]
    BadUrl {
        source_name: String,
        url: String,
        reason: String,
    },
}

impl MailError {
    /// Worth polling again: the source may answer next time (connection trouble, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Request { .. } | MailError::Unresponsive { .. } => true,
            MailError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

fn no_message(
    mailbox: &str,
    criteria: &str,
    waited: Duration,
    source_name: &str,
    arrived: &[String],
    note: &WindowNote,
) -> String {
    let (window, before_window) = (note.description.as_str(), &note.before_window);
    let mut s = format!("no message to {mailbox}");
    if !criteria.is_empty() {
        s.push_str(" matching ");
        s.push_str(criteria);
    }
    s.push_str(&format!(
        " within {} from {source_name}",
        crate::human::duration(waited)
    ));
    if !window.is_empty() {
        s.push_str(&format!(" (window: messages received {window})"));
    }
    s.push_str("; ");
    match arrived.len() {
        0 => s.push_str("no other message arrived"),
        n => {
            let list: Vec<String> = arrived
                .iter()
                .map(|a| format!("{:?}", mask_codes(a)))
                .collect();
            let noun = if n == 1 { "message" } else { "messages" };
            s.push_str(&format!("{n} other {noun} arrived: {}", list.join(", ")));
        }
    }
    if !before_window.is_empty() {
        let list: Vec<String> = before_window
            .iter()
            .map(|a| format!("{:?}", mask_codes(a)))
            .collect();
        let n = before_window.len();
        let noun = if n == 1 { "message" } else { "messages" };
        s.push_str(&format!(
            "; {n} matching {noun} arrived before the window: {} (its Date or arrival time is \
             earlier: a sender clock behind, a replayed message? set `after_step`, or \
             `[mail] clock_skew`)",
            list.join(", ")
        ));
    }
    s
}

/// A subject of a message the step did not take, its code-like numbers masked: nothing was
/// extracted from it, so nothing of it is registered as secret, yet "772204 is your code" is
/// a live code.
/// A subject with its code-like numbers (5 to 10 digits) masked.
pub fn mask_code_like(subject: &str) -> String {
    mask_codes(subject)
}

fn mask_codes(subject: &str) -> String {
    static CODE_LIKE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\b\d{5,10}\b").expect("regex"));
    CODE_LIKE
        .replace_all(subject, |c: &regex::Captures<'_>| {
            super::extract::mask(&c[0])
        })
        .into_owned()
}

fn listed(what: &str, items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!("; {what}: {}", first_few(items))
    }
}

/// The first five items, then how many more (a newsletter has thousands of links).
fn first_few(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items[..items.len().min(SHOWN)].join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

fn excerpt(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let mut cut: String = body.chars().take(200).collect();
    if cut.len() < body.len() {
        cut.push('…');
    }
    format!(": {cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_of_other_messages_have_their_codes_masked() {
        assert_eq!(
            mask_codes("772204 is your code (ticket #1001)"),
            "77•••• is your code (ticket #1001)"
        );
    }

    #[test]
    fn no_message_says_what_arrived_instead() {
        let e = MailError::NoMessage {
            mailbox: "requester@x".into(),
            source_name: "staging endpoint".into(),
            waited: Duration::from_secs(10),
            criteria: r#"subject ~"sign-in code""#.into(),
            arrived: vec!["Welcome".into(), "You were added to ticket #1001".into()],
            window: Box::default(),
        };
        assert_eq!(
            e.to_string(),
            r#"no message to requester@x matching subject ~"sign-in code" within 10s from staging endpoint; 2 other messages arrived: "Welcome", "You were added to ticket #1001""#
        );
        let e = MailError::NoMessage {
            mailbox: "a@x".into(),
            source_name: "maildev".into(),
            waited: Duration::from_millis(1500),
            criteria: String::new(),
            arrived: vec![],
            window: Box::default(),
        };
        assert_eq!(
            e.to_string(),
            "no message to a@x within 1.5s from maildev; no other message arrived"
        );
    }

    #[test]
    fn rejection_names_the_status() {
        let e = MailError::Rejected {
            source_name: "staging endpoint".into(),
            status: 403,
        };
        assert_eq!(
            e.to_string(),
            "the mail source (staging endpoint) rejected the secret (403)"
        );
    }
}
