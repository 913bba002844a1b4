//! The `mails` step: the exact sequence of subjects one address received in a window.

use std::time::Instant;

use super::context::{Fail, StepContext, StepFailure, StepOutcome, StepResult};
use super::mail::{mail_source, mailbox_of, window_of};
use super::mail_checks::mail_failure;
use crate::events::{Criterion, RunEventKind, Verdict};
use crate::flowfile::ast::MailsStep;
use crate::flowfile::duration::parse_duration;
use crate::flowfile::text::TextPattern;
use crate::mail::{MailSource, Received, Trigger};

/// `mails: { to, subjects, since }`: the exact sequence of subjects the address received in the
/// window, oldest first. Passes as soon as the messages so far are exactly the expected ones;
/// fails at once when more arrived than expected, else at the deadline, showing what arrived.
pub async fn run_sequence(ctx: &mut StepContext<'_>, s: &MailsStep) -> StepResult {
    let mailbox = mailbox_of(ctx, &s.to.value)?;
    let mut expected = Vec::new();
    for p in &s.subjects {
        let (v, _) = ctx
            .render_shown(&p.value)
            .map_err(|e| Fail("mails").with(e))?;
        expected.push(
            TextPattern::from_rendered(&p.value, &v, false).map_err(|e| Fail("mails").input(e))?,
        );
    }
    let summary = format!("{} mails to {mailbox}", expected.len());
    let source = mail_source(ctx, &summary).await?;
    let after = s.after_step.as_ref().map(|n| n.value);
    let (trigger, window) = window_of(ctx, s.since.as_ref(), after, &summary)?;
    let limit = s
        .timeout
        .as_ref()
        .and_then(|t| parse_duration(&t.value.0).ok())
        .unwrap_or(ctx.config.timeouts.mail);
    let list = poll(
        ctx,
        source.as_ref(),
        &mailbox,
        &trigger,
        &expected,
        limit,
        &summary,
    )
    .await?;
    // Subjects may hold codes no step extracted: masked, then redacted.
    let shown = |subject: &str| ctx.redactor.redact(&crate::mail::mask_code_like(subject));
    let ok = list.len() == expected.len()
        && list
            .iter()
            .zip(&expected)
            .all(|(a, p)| p.matches(&a.subject));
    if ok {
        let subjects: Vec<String> = list
            .iter()
            .map(|a| format!("\"{}\"", shown(&a.subject)))
            .collect();
        let evidence = format!(
            "{} messages to {mailbox} {window}, in order: {}",
            list.len(),
            subjects.join(", ")
        );
        ctx.measured.events.push(RunEventKind::CriterionRecorded {
            flow: Some(ctx.flow.ast.id.value.clone()),
            criterion: Criterion {
                name: format!("mail sequence to {mailbox}"),
                verdict: Verdict::Pass,
                evidence: vec![ctx.redactor.redact(&format!(
                    "{evidence} (message ids {})",
                    list.iter()
                        .map(|a| a.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))],
                note: None,
                proves: None,
            },
        });
        return Ok(StepOutcome {
            summary: ctx.redactor.redact(&format!("{summary}: {evidence}")),
            artifacts: vec![],
            evidence: vec![],
        });
    }
    Err(mismatch(
        ctx, &list, &expected, &mailbox, &window, limit, &summary,
    ))
}

/// Reads the window's arrivals until they are exactly the expected ones, more arrived than
/// expected, or the deadline passed; the last list read.
async fn poll(
    ctx: &StepContext<'_>,
    source: &dyn MailSource,
    mailbox: &str,
    trigger: &Trigger,
    expected: &[TextPattern],
    limit: std::time::Duration,
    summary: &str,
) -> Result<Vec<Received>, StepFailure> {
    let deadline = Instant::now() + limit;
    let mut delay = std::time::Duration::from_millis(50);
    let mut seen: Option<Vec<crate::mail::Received>> = None;
    let mut last_error = None;
    loop {
        match crate::mail::arrivals(source, mailbox, trigger.wall, ctx.config.mail.clock_skew).await
        {
            Ok(list) => {
                let same = list.len() == expected.len()
                    && list
                        .iter()
                        .zip(expected)
                        .all(|(a, p)| p.matches(&a.subject));
                let too_many = list.len() > expected.len();
                seen = Some(list);
                if same || too_many {
                    break;
                }
            }
            Err(e) if e.is_transient() => last_error = Some(e),
            Err(e) => return Err(mail_failure(ctx, summary, &e)),
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std((now + delay).min(deadline))).await;
        delay = (delay * 2).min(std::time::Duration::from_millis(250));
    }
    match seen {
        Some(list) => Ok(list),
        None => Err(match last_error {
            Some(e) => mail_failure(ctx, summary, &e),
            None => Fail(summary).unreachable("the mail source never answered"),
        }),
    }
}

/// The failure that shows, row by row, what arrived against what was expected.
fn mismatch(
    ctx: &StepContext<'_>,
    list: &[Received],
    expected: &[TextPattern],
    mailbox: &str,
    window: &str,
    limit: std::time::Duration,
    summary: &str,
) -> StepFailure {
    let shown = |subject: &str| ctx.redactor.redact(&crate::mail::mask_code_like(subject));
    let rows: Vec<String> = (0..list.len().max(expected.len()))
        .map(|i| {
            let got = list.get(i).map(|a| a.subject.as_str());
            let want = expected.get(i);
            let mark = match (got, want) {
                (Some(g), Some(p)) if p.matches(g) => "ok",
                (Some(_), Some(_)) => "differs",
                (Some(_), None) => "not expected",
                (None, _) => "missing",
            };
            let got = got.map_or_else(|| "(none)".to_owned(), |g| format!("\"{}\"", shown(g)));
            let want = want.map_or_else(|| "(nothing more)".to_owned(), ToString::to_string);
            format!("{}. {got}, expected {want}: {mark}", i + 1)
        })
        .collect();
    let waited = crate::human::duration(limit);
    let when = if list.len() > expected.len() {
        "".to_owned()
    } else {
        format!(" within {waited}")
    };
    let text = ctx.redactor.redact(&format!(
        "{} messages to {mailbox} arrived {window}{when}, expected {}: {}",
        list.len(),
        expected.len(),
        rows.join("; ")
    ));
    // More than expected is a wrong answer; fewer by the deadline, a wait that ran out.
    if list.len() > expected.len() {
        Fail(summary).mismatch(text)
    } else {
        Fail(summary).timeout(text)
    }
}
