//! The `mails` step: the exact sequence of subjects one address received in a window.

use std::time::Instant;

use super::context::{StepContext, StepFailure, StepOutcome};
use super::mail::{mail_source, mailbox_of, window_of};
use super::mail_checks::fail;
use crate::events::{Criterion, RunEventKind, Verdict};
use crate::flowfile::ast::MailsStep;
use crate::flowfile::duration::parse_duration;
use crate::flowfile::text::TextPattern;

/// `mails: { to, subjects, since }`: the exact sequence of subjects the address received in the
/// window, oldest first. Passes as soon as the messages so far are exactly the expected ones;
/// fails at once when more arrived than expected, else at the deadline, showing what arrived.
pub async fn run_sequence(
    ctx: &mut StepContext<'_>,
    s: &MailsStep,
) -> Result<StepOutcome, StepFailure> {
    let mailbox = mailbox_of(ctx, &s.to.value)?;
    let mut expected = Vec::new();
    for p in &s.subjects {
        let (v, _) = ctx.render_shown(&p.value).map_err(|e| fail("mails", e))?;
        expected
            .push(TextPattern::from_rendered(&p.value, &v, false).map_err(|e| fail("mails", e))?);
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
    let deadline = Instant::now() + limit;
    let mut delay = std::time::Duration::from_millis(50);
    let mut seen: Option<Vec<crate::mail::Received>> = None;
    let mut last_error = None;
    loop {
        match crate::mail::arrivals(
            source.as_ref(),
            &mailbox,
            trigger.wall,
            ctx.config.mail.clock_skew,
        )
        .await
        {
            Ok(list) => {
                let same = list.len() == expected.len()
                    && list
                        .iter()
                        .zip(&expected)
                        .all(|(a, p)| p.matches(&a.subject));
                let too_many = list.len() > expected.len();
                seen = Some(list);
                if same || too_many {
                    break;
                }
            }
            Err(e) if e.is_transient() => last_error = Some(e),
            Err(e) => return Err(fail(&summary, ctx.redactor.redact(&e.to_string()))),
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std((now + delay).min(deadline))).await;
        delay = (delay * 2).min(std::time::Duration::from_millis(250));
    }
    let Some(list) = seen else {
        let e = last_error.map_or_else(
            || "the mail source never answered".to_owned(),
            |e| e.to_string(),
        );
        return Err(fail(&summary, ctx.redactor.redact(&e)));
    };
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
    let waited = crate::mail::human_duration(limit);
    let when = if list.len() > expected.len() {
        "".to_owned()
    } else {
        format!(" within {waited}")
    };
    Err(fail(
        &summary,
        ctx.redactor.redact(&format!(
            "{} messages to {mailbox} arrived {window}{when}, expected {}: {}",
            list.len(),
            expected.len(),
            rows.join("; ")
        )),
    ))
}
