//! Criteria and the flows that prove them: which step kinds prove a criterion, and what the
//! criteria of one attempt add up to once the attempt's status is known.
//!
//! A step that proves something (a mail delivered, a realtime event received) records its own
//! PASS with the evidence when it succeeds. This module answers the other cases, so that no
//! criterion reads PASS while the flow that proved it failed or did not finish:
//! - the step itself failed → its claim is FAILED, the failing step (file:line, error) as evidence;
//! - the flow stopped before the step → its claim is UNVERIFIED ("not reached");
//! - the step passed but its flow then failed, timed out or was interrupted → the PASS becomes
//!   UNVERIFIED, saying why (the evidence is kept, but a flow that did not pass proves nothing).
//!
//! The executor collects an attempt's criteria here and emits them once the attempt ends; a
//! retried attempt's criteria are dropped with it (the flow's verdict is its last attempt's).
//! It does not run steps or decide flow statuses.

use crate::events::{Criterion, FlowStatus, Proof, Verdict};
use crate::flowfile::ast::Step;

/// A claim a step makes: its words and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    pub proves: Proof,
}

/// The claim a step of this kind proves, in words taken from the flow file (templates are
/// left as written: the step may not have rendered them), or `None` for a step that proves
/// nothing beyond its own success. Every kind is named, so a new one must be classified.
pub fn claim_of(step: &Step) -> Option<Claim> {
    let name = claim_words(step)?;
    let proves = match step {
        Step::Mail(m) if m.absent.as_ref().is_some_and(|a| a.value) => Proof::MailAbsent,
        Step::Mail(m) if m.otp.is_some() => Proof::MailCode,
        Step::Mail(m) if m.link.is_some() => Proof::MailLink,
        Step::Mail(_) => Proof::MailDelivered,
        Step::Mails(_) => Proof::MailSequence,
        _ => Proof::RealtimeEvent,
    };
    Some(Claim { name, proves })
}

fn claim_words(step: &Step) -> Option<String> {
    match step {
        Step::Mail(m) => {
            let mut what = format!("mail to {}", m.to.value);
            if let Some(s) = &m.subject {
                what.push_str(&format!(" with subject ~ {:?}", s.value));
            }
            if let Some(b) = &m.body {
                what.push_str(&format!(" and body ~ {:?}", b.value));
            }
            if m.absent.as_ref().is_some_and(|a| a.value) {
                return Some(format!("no {what}"));
            }
            let mut extracted = Vec::new();
            if let Some(o) = &m.otp {
                extracted.push(format!("code → {}", o.var.value));
            }
            if let Some(l) = &m.link {
                extracted.push(format!("link → {}", l.var.value));
            }
            if extracted.is_empty() {
                Some(format!("{what} delivered"))
            } else {
                Some(format!("{what} delivered ({})", extracted.join(", ")))
            }
        }
        Step::Mails(m) => Some(format!(
            "mail sequence to {}: {}",
            m.to.value,
            m.subjects
                .iter()
                .map(|s| format!("{:?}", s.value))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Step::ExpectEvent(e) => Some(format!(
            "event {} received on subscription {}",
            e.event.value, e.on.value
        )),
        Step::Goto(_)
        | Step::Click(_)
        | Step::Fill(_)
        | Step::Select(_)
        | Step::Check(_)
        | Step::Upload(_)
        | Step::Press(_)
        | Step::Expect(_)
        | Step::WaitFor(_)
        | Step::Screenshot(_)
        | Step::ExpectScreenshot(_)
        | Step::Capture(_)
        | Step::Http(_)
        | Step::Subscribe(_)
        | Step::Hover(_)
        | Step::Drag(_)
        | Step::Download(_)
        | Step::Dialog(_)
        | Step::Window(_)
        | Step::Use(_)
        // The contract steps prove their own success; the gate reads them by kind.
        | Step::Guard(_)
        | Step::Forbidden(_)
        | Step::DownloadHeaders(_)
        | Step::Sse(_)
        | Step::Routes(_)
        | Step::Metrics(_) => None,
    }
}

/// The criterion of a step that failed: FAILED, the failure as evidence.
pub fn failed(claim: Claim, located_failure: &str) -> Criterion {
    Criterion {
        name: claim.name,
        verdict: Verdict::Failed,
        evidence: vec![format!("failed: {located_failure}")],
        note: None,
        proves: Some(claim.proves),
    }
}

/// The criterion of a step the flow never reached.
pub fn not_reached(claim: Claim, step_number: usize, why: &str) -> Criterion {
    Criterion {
        name: claim.name,
        verdict: Verdict::Unverified,
        evidence: vec![],
        note: Some(format!("step {step_number} was not reached: {why}")),
        proves: Some(claim.proves),
    }
}

/// The criteria of an attempt as they stand once it ended with `status` (`reason` saying why
/// it did not pass): a PASS of a flow that did not pass becomes UNVERIFIED.
pub fn settle(
    criteria: Vec<Criterion>,
    status: FlowStatus,
    reason: Option<&str>,
) -> Vec<Criterion> {
    let proven = match status {
        FlowStatus::Passed | FlowStatus::Flaky => true,
        FlowStatus::Failed | FlowStatus::TimedOut | FlowStatus::NotRun | FlowStatus::Skipped => {
            false
        }
    };
    criteria
        .into_iter()
        .map(|mut c| {
            if !proven && c.verdict == Verdict::Pass {
                c.verdict = Verdict::Unverified;
                let why = format!(
                    "its flow {}: {}",
                    match status {
                        FlowStatus::TimedOut => "timed out",
                        FlowStatus::NotRun | FlowStatus::Skipped => "did not finish",
                        _ => "failed afterwards",
                    },
                    reason.unwrap_or("no reason given")
                );
                c.note = Some(match c.note.take() {
                    Some(n) => format!("{why}; {n}"),
                    None => why,
                });
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(name: &str) -> Criterion {
        Criterion {
            name: name.into(),
            verdict: Verdict::Pass,
            evidence: vec!["message 1".into()],
            note: None,
            proves: None,
        }
    }

    #[test]
    fn a_pass_stands_only_when_the_flow_passed() {
        for status in [FlowStatus::Passed, FlowStatus::Flaky] {
            let c = settle(vec![pass("m")], status, None);
            assert_eq!(c[0].verdict, Verdict::Pass);
            assert_eq!(c[0].note, None);
        }
        for status in [
            FlowStatus::Failed,
            FlowStatus::TimedOut,
            FlowStatus::NotRun,
            FlowStatus::Skipped,
        ] {
            let c = settle(vec![pass("m")], status, Some("step 3 failed"));
            assert_eq!(c[0].verdict, Verdict::Unverified, "{status:?}");
            assert!(c[0]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("step 3 failed")));
            // The evidence that was taken stays visible.
            assert_eq!(c[0].evidence, ["message 1"]);
        }
    }

    #[test]
    fn failed_and_unverified_are_never_raised() {
        let claim = |name: &str| Claim {
            name: name.into(),
            proves: Proof::MailDelivered,
        };
        let mut f = failed(claim("m"), "step 2 (a.yaml:4) mail: no message");
        f.note = None;
        let n = not_reached(claim("e"), 5, "step 2 failed");
        let c = settle(vec![f, n], FlowStatus::Passed, None);
        assert_eq!(c[0].verdict, Verdict::Failed);
        assert_eq!(
            c[0].evidence,
            ["failed: step 2 (a.yaml:4) mail: no message"]
        );
        assert_eq!(c[1].verdict, Verdict::Unverified);
    }

    #[test]
    fn mail_and_event_steps_make_claims_and_ui_steps_do_not() {
        let yaml = r#"
- mail: { to: requester, subject: Your code, otp: { var: code } }
- mail: { to: head, subject: Note, absent: true, within: 2s }
- expect_event: { on: bell, event: notification.created }
- click: { role: button, name: Save }
"#;
        let steps: Vec<Step> = serde_saphyr::from_str(yaml).expect("steps");
        let claims: Vec<Option<String>> =
            steps.iter().map(|s| claim_of(s).map(|c| c.name)).collect();
        let kinds: Vec<Option<Proof>> = steps
            .iter()
            .map(|s| claim_of(s).map(|c| c.proves))
            .collect();
        assert_eq!(
            kinds,
            [
                Some(Proof::MailCode),
                Some(Proof::MailAbsent),
                Some(Proof::RealtimeEvent),
                None
            ]
        );
        assert_eq!(
            claims,
            [
                Some(
                    "mail to requester with subject ~ \"Your code\" delivered (code → code)".into()
                ),
                Some("no mail to head with subject ~ \"Note\"".into()),
                Some("event notification.created received on subscription bell".into()),
                None
            ]
        );
    }
}
