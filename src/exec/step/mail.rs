//! The `mail` step: wait for a message to a user, parse it ourselves, extract a code or a link.
//!
//! With a fixed OTP configured (`STAGING_E2E_FIXED_OTP`), an `otp:` extraction takes the fixed
//! code instead of waiting for mail; the step passes, but the criterion "delivered by mail" is
//! recorded UNVERIFIED, never PASS, because nothing proved delivery.

use std::time::Instant;

use super::context::{
    trigger_index, trigger_time, Fail, StepContext, StepFailure, StepOutcome, StepResult,
};
use super::error::StepError;
use super::mail_checks::{check_attachment, check_text, mail_failure};
use crate::config::MailSourceKind;
use crate::events::{Criterion, Evidence, MailExtraction, RunEventKind, Verdict};
use crate::flowfile::ast::{LinkExtract, MailBody, MailStep, OtpExtract};
use crate::flowfile::duration::parse_duration;
use crate::flowfile::template::Resolved;
use crate::flowfile::text::TextPattern;
use crate::mail::{
    wait_for_mail, FoundMail, LinkRule, MailError, MailQuery, MailSource, MailSourceConfig,
    Matcher, OtpPattern, OtpRule, Place, Trigger,
};

/// "after step 3 (click) started at 10:00:01.120 UTC": the window a failure names.
fn window_description(ctx: &StepContext<'_>, index: usize, wall: time::OffsetDateTime) -> String {
    let kind = ctx
        .flow
        .steps
        .get(index)
        .map_or("step", |p| p.step.value.kind());
    let at = wall
        .format(time::macros::format_description!(
            "[hour]:[minute]:[second].[subsecond digits:3]"
        ))
        .unwrap_or_default();
    format!("after step {} ({kind}) started at {at} UTC", index + 1)
}

/// `absent: true`: watch the mailbox for `within`; pass when no matching message arrived,
/// saying what did; fail naming the one that did.
async fn expect_absent(
    ctx: &mut StepContext<'_>,
    source: &dyn MailSource,
    query: &MailQuery,
    within: std::time::Duration,
    summary: &str,
    window: &str,
) -> Result<StepOutcome, StepFailure> {
    let flow = ctx.flow.ast.id.value.clone();
    let secs = crate::human::duration(within);
    let criteria = match query.criteria() {
        c if c.is_empty() => String::new(),
        c => format!(" matching {c}"),
    };
    let summary = format!("{summary} absent for {secs}");
    match wait_for_mail(source, query, Instant::now() + within).await {
        Ok(found) => {
            // Nothing is extracted from it, so its code-like numbers are masked.
            let subject = crate::mail::mask_code_like(&found.parsed.subject);
            Err(Fail(&summary).mismatch(ctx.redactor.redact(&format!(
                    "a message to {}{criteria} arrived (\"{subject}\", message {}) within {secs} {window}; \
                     the step expects none",
                    query.mailbox,
                    found.message_id()
                ))))
        }
        Err(MailError::NoMessage { arrived, .. }) => {
            let others = match arrived.len() {
                0 => "no other message arrived".to_owned(),
                1 => "1 other message arrived".to_owned(),
                n => format!("{n} other messages arrived"),
            };
            let evidence = format!(
                "no message to {}{criteria} in {secs} {window}; {others}",
                query.mailbox
            );
            ctx.measured.events.push(RunEventKind::CriterionRecorded {
                flow: Some(flow),
                criterion: Criterion {
                    name: format!("no mail to {}{criteria}", query.mailbox),
                    verdict: Verdict::Pass,
                    evidence: vec![ctx.redactor.redact(&evidence)],
                    note: None,
                    proves: None,
                },
            });
            Ok(StepOutcome {
                summary: ctx.redactor.redact(&format!("{summary}: {evidence}")),
                artifacts: vec![],
                evidence: vec![],
            })
        }
        Err(e) => Err(mail_failure(ctx, &summary, &e)),
    }
}

fn place_name(p: Place) -> &'static str {
    match p {
        Place::Subject => "subject",
        Place::TextPart => "text_part",
        Place::HtmlPart => "html_part",
    }
}

/// The flow's `otp:` as an extraction rule (`regex:` beats `pattern:`; `flows check` refuses
/// both at once).
fn otp_rule(ctx: &StepContext<'_>, otp: &OtpExtract) -> Result<OtpRule, StepError> {
    let pattern = match (&otp.regex, otp.pattern.as_ref().map(|p| p.value.as_str())) {
        (Some(r), _) => {
            let (v, _) = ctx.render_shown(&r.value)?;
            OtpPattern::Regex(
                regex::Regex::new(&v)
                    .map_err(|e| StepError::Input(format!("bad otp regex: {e}")))?,
            )
        }
        (None, Some("alnum")) => OtpPattern::Alnum,
        (None, _) => OtpPattern::Digits,
    };
    let near = match &otp.near {
        Some(n) => Some(ctx.render_shown(&n.value)?.0),
        None => None,
    };
    Ok(OtpRule { pattern, near })
}

fn matcher(pattern: TextPattern) -> Matcher {
    Matcher::new(pattern.to_string(), move |hay| pattern.matches(hay))
}

/// A user key or an address → the address.
pub(super) fn mailbox_of(ctx: &StepContext<'_>, to: &str) -> Result<String, StepFailure> {
    let (to, _) = ctx.render_shown(to).map_err(|e| Fail("mail").with(e))?;
    if to.contains('@') {
        return Ok(to);
    }
    match ctx.config.user(&to) {
        Some(u) => Ok(u.email.clone()),
        None => Err(Fail("mail").input(format!("unknown user `{to}`"))),
    }
}

/// The mail source the suite's config names (the staging endpoint on the API URL, else the
/// base URL); `Err` says what is missing.
pub fn source_config(
    config: &crate::config::Config,
    base_url: &str,
) -> Result<MailSourceConfig, String> {
    Ok(match config.mail.source {
        MailSourceKind::StagingEndpoint => {
            let secret = config
                .secret
                .as_ref()
                .ok_or("the staging mail report needs the E2E secret: set STAGING_E2E_SECRET")?;
            MailSourceConfig::StagingEndpoint {
                base_url: config
                    .api_url
                    .clone()
                    .unwrap_or_else(|| base_url.to_owned()),
                path: config.mail.report_path.clone(),
                header: config.secret_header.clone(),
                secret: secret.value.clone(),
            }
        }
        MailSourceKind::MailDev => MailSourceConfig::MailDev {
            url: config.mail.url.clone().unwrap_or_default(),
        },
        MailSourceKind::Mailpit => MailSourceConfig::Mailpit {
            url: config.mail.url.clone().unwrap_or_default(),
        },
    })
}

/// The run's instance of the configured mail source (its cache and event stream are shared by
/// every mail step of the run).
pub(super) async fn mail_source(
    ctx: &StepContext<'_>,
    summary: &str,
) -> Result<std::sync::Arc<dyn MailSource>, StepFailure> {
    let cfg = source_config(ctx.config, ctx.base_url).map_err(|e| Fail(summary).input(e))?;
    Ok(ctx.mail_sources.get(&cfg, ctx.http).await)
}

fn clock(wall: time::OffsetDateTime) -> String {
    wall.format(time::macros::format_description!(
        "[hour]:[minute]:[second].[subsecond digits:3]"
    ))
    .unwrap_or_default()
}

/// Where a mail step's window starts, and how failures name it: `since: MARK`, else
/// `after_step: N`, else the last acting step before this one.
pub(super) fn window_of(
    ctx: &StepContext<'_>,
    since: Option<&crate::flowfile::span::Sp<String>>,
    after_step: Option<u32>,
    summary: &str,
) -> Result<(Trigger, String), StepFailure> {
    if let Some(mark) = since {
        let flow = ctx.flow.ast.id.value.as_str();
        let Some((wall, at)) = ctx.vars.mark(flow, &ctx.flow.needs_closure, &mark.value) else {
            return Err(Fail(summary).input(format!(
                "mark `{}` was not set in this run: the step that sets it did not run",
                mark.value
            )));
        };
        let description = format!("since mark `{}` ({} UTC)", mark.value, clock(wall));
        return Ok((Trigger { at, wall }, description));
    }
    let (wall, at) = trigger_time(ctx, after_step);
    let description = window_description(ctx, trigger_index(ctx, after_step), wall);
    Ok((Trigger { at, wall }, description))
}

pub async fn run(ctx: &mut StepContext<'_>, s: &MailStep) -> StepResult {
    let mailbox = mailbox_of(ctx, &s.to.value)?;
    let subject = match &s.subject {
        Some(p) => Some(
            TextPattern::parse(
                &ctx.render_shown(&p.value)
                    .map_err(|e| Fail("mail").with(e))?
                    .0,
                false,
            )
            .map_err(|e| Fail("mail").input(e))?,
        ),
        None => None,
    };
    let mut summary = format!("mail to {mailbox}");
    if let Some(p) = &subject {
        summary.push_str(&format!(" subject{p}"));
    }
    if let Some(done) = fixed_otp(ctx, s, &mailbox, &summary) {
        return Ok(done);
    }
    let fail = Fail(&summary);
    let source = mail_source(ctx, &summary).await?;
    let after = s.after_step.as_ref().map(|n| n.value);
    let (trigger, window) = window_of(ctx, s.since.as_ref(), after, &summary)?;
    let mut query = MailQuery::new(mailbox.clone(), trigger)
        .clock_skew(ctx.config.mail.clock_skew)
        .window(window.clone());
    if let Some(p) = subject {
        query = query.subject(matcher(p));
    }
    if let Some(MailBody::Filter(b)) = s.body.as_ref().map(|b| &b.value) {
        let (v, _) = ctx.render_shown(&b.value).map_err(|e| fail.with(e))?;
        query = query.body(matcher(
            TextPattern::parse(&v, false).map_err(|e| fail.input(e))?,
        ));
    }
    let limit = s
        .timeout
        .as_ref()
        .and_then(|t| parse_duration(&t.value.0).ok())
        .unwrap_or(ctx.config.timeouts.mail);
    if s.absent.as_ref().is_some_and(|a| a.value) {
        let within = s
            .within
            .as_ref()
            .and_then(|t| parse_duration(&t.value.0).ok())
            .unwrap_or(limit);
        return expect_absent(ctx, source.as_ref(), &query, within, &summary, &window).await;
    }
    let found = wait_for_mail(source.as_ref(), &query, Instant::now() + limit)
        .await
        .map_err(|e| mail_failure(ctx, &summary, &e))?;

    let mut extracted = Vec::new();
    let mut picked: Vec<MailExtraction> = Vec::new();
    if let Some(otp) = &s.otp {
        let (extraction, place) = take_otp(ctx, &found, otp, &summary)?;
        picked.push(extraction);
        extracted.push(format!("code → {} from {place}", otp.var.value));
    }
    if let Some(link) = &s.link {
        let (extraction, place) = take_link(ctx, &found, link, &summary)?;
        picked.push(extraction);
        extracted.push(format!("link → {} from {place}", link.var.value));
    }
    // Assertions on the message, after extraction: the codes and links it took are secrets by
    // now, so what a failure quotes from the message is redacted.
    let (artifacts, attachment_evidence) = check_message(ctx, s, &found, &summary, &window)?;
    // What the summary says was checked, after what was extracted.
    if matches!(s.body.as_ref().map(|b| &b.value), Some(MailBody::Checks(_))) {
        extracted.push("body checked".to_owned());
    }
    if s.html.is_some() {
        extracted.push("html checked".to_owned());
    }
    if let Some(Evidence::Attachment {
        file_name, bytes, ..
    }) = &attachment_evidence
    {
        extracted.push(format!(
            "attachment \"{file_name}\" ({bytes} bytes) checked"
        ));
    }
    let (summary, evidence) = delivered(ctx, &found, picked, &mailbox, &summary, &extracted);
    let mut evidence = vec![evidence];
    evidence.extend(attachment_evidence);
    Ok(StepOutcome {
        summary,
        artifacts,
        evidence,
    })
}

/// With a fixed OTP configured, an `otp:` extraction (without `link:`) takes it instead of
/// reading mail: the step passes, the criterion "delivered by mail" is UNVERIFIED.
fn fixed_otp(
    ctx: &mut StepContext<'_>,
    s: &MailStep,
    mailbox: &str,
    summary: &str,
) -> Option<StepOutcome> {
    let (Some(otp), Some(fixed)) = (&s.otp, &ctx.config.mail.fixed_otp) else {
        return None;
    };
    if s.link.is_some() {
        return None;
    }
    let flow = ctx.flow.ast.id.value.clone();
    ctx.redactor.add(&fixed.value);
    ctx.set_capture(
        &otp.var.value,
        Resolved {
            value: fixed.value.clone(),
            secret: true,
        },
    );
    ctx.measured.events.push(RunEventKind::Notice {
        flow: Some(flow.clone()),
        message: format!(
            "using the fixed OTP from {} for {mailbox}: this login does not prove mail delivery",
            fixed.origin
        ),
    });
    ctx.measured.events.push(RunEventKind::CriterionRecorded {
        flow: Some(flow),
        criterion: Criterion {
            name: format!("sign-in code delivered by mail to {mailbox}"),
            verdict: Verdict::Unverified,
            evidence: vec![],
            note: Some(format!(
                "a fixed OTP ({}) was used instead of reading mail",
                fixed.origin
            )),
            proves: None,
        },
    });
    Some(StepOutcome {
        summary: format!("{summary} (fixed OTP, mail not read)"),
        artifacts: vec![],
        evidence: vec![],
    })
}

/// Takes the one code the `otp:` rule finds in the message into its variable (a secret from
/// then on); several equally good candidates fail the step, with every candidate redacted.
fn take_otp(
    ctx: &mut StepContext<'_>,
    found: &FoundMail,
    otp: &OtpExtract,
    summary: &str,
) -> Result<(MailExtraction, Place), StepFailure> {
    let rule = otp_rule(ctx, otp).map_err(|e| Fail(summary).with(e))?;
    let pick = match found.otp(&rule) {
        Ok(p) => p,
        Err(e) => {
            // One of the candidates may be the live code: secret before anything is said.
            for c in found.candidate_codes(&rule) {
                ctx.redactor.add(&c);
            }
            return Err(mail_failure(ctx, summary, &e));
        }
    };
    let code = pick.value.clone();
    ctx.redactor.add(&code);
    if found.source_agrees_on_otp(&code) == Some(false) {
        ctx.measured.events.push(RunEventKind::Notice {
            flow: Some(ctx.flow.ast.id.value.clone()),
            message: format!("the mail source's pre-extracted code differs from the one parsed from message {}; using the parsed one", found.message_id()),
        });
    }
    ctx.set_capture(
        &otp.var.value,
        Resolved {
            value: code,
            secret: true,
        },
    );
    let extraction = MailExtraction {
        var: otp.var.value.clone(),
        kind: "code".into(),
        place: place_name(pick.place).into(),
        position: pick.position,
        context: pick.context.clone(),
    };
    Ok((extraction, pick.place))
}

/// Takes the one link the `link:` rule finds (on the app's origins, unwrapped from a
/// click-tracking redirect) into its variable.
fn take_link(
    ctx: &mut StepContext<'_>,
    found: &FoundMail,
    link: &LinkExtract,
    summary: &str,
) -> Result<(MailExtraction, Place), StepFailure> {
    let fail = Fail(summary);
    let text = match &link.text {
        Some(t) => Some(
            TextPattern::parse(
                &ctx.render_shown(&t.value).map_err(|e| fail.with(e))?.0,
                false,
            )
            .map_err(|e| fail.input(e))?,
        ),
        None => None,
    };
    let re = match &link.regex {
        Some(r) => {
            let (v, _) = ctx.render_shown(&r.value).map_err(|e| fail.with(e))?;
            Some(regex::Regex::new(&v).map_err(|e| fail.input(format!("bad link regex: {e}")))?)
        }
        None => None,
    };
    let text_fn = text.as_ref().map(|p| move |s: &str| p.matches(s));
    let mut origins = ctx.config.mail.link_origins.clone();
    for base in [Some(ctx.base_url), ctx.config.api_url.as_deref()]
        .into_iter()
        .flatten()
    {
        if let Ok(u) = url::Url::parse(base) {
            origins.push(u.origin().ascii_serialization());
        }
    }
    let rule = LinkRule {
        text: text_fn.as_ref().map(|f| f as &dyn Fn(&str) -> bool),
        url: re.as_ref(),
        origins: &origins,
    };
    let choice = found
        .link(&rule)
        .map_err(|e| mail_failure(ctx, summary, &e))?;
    // The link and its token-like parts; not the user's address or a ticket number in it.
    ctx.redactor.add_link(&choice.url);
    if let Some(w) = &choice.wrapped {
        ctx.redactor.add_link(w);
    }
    // Not `ctx.set_capture`: that would make the whole link a secret, and a link without a
    // token opens an ordinary URL. The variable itself is still shown as `[redacted]`
    // wherever a step renders it.
    let flow_id = ctx.flow.ast.id.value.clone();
    ctx.vars.set_capture(
        &flow_id,
        &link.var.value,
        Resolved {
            value: choice.url.clone(),
            secret: true,
        },
    );
    let mut context = format!("{:?} {}", choice.text, choice.shown);
    if choice.wrapped.is_some() {
        context.push_str(" (unwrapped from a click-tracking redirect)");
    }
    let extraction = MailExtraction {
        var: link.var.value.clone(),
        kind: "link".into(),
        place: place_name(choice.place).into(),
        position: choice.position,
        context,
    };
    Ok((extraction, choice.place))
}

/// The message's `body:`, `html:` and `attachment:` checks; every problem in one failure that
/// names the message. Passing: the attachment kept, as artifact and evidence.
fn check_message(
    ctx: &mut StepContext<'_>,
    s: &MailStep,
    found: &FoundMail,
    summary: &str,
    window: &str,
) -> Result<(Vec<crate::events::Artifact>, Option<Evidence>), StepFailure> {
    let mut artifacts = Vec::new();
    let mut attachment_evidence = None;
    let mut problems = Vec::new();
    if let Some(MailBody::Checks(c)) = s.body.as_ref().map(|b| &b.value) {
        let what = if found.parsed.text_from_html {
            "the body (its HTML as text; the message has no text part)"
        } else {
            "the body (text part)"
        };
        problems.extend(check_text(ctx, found, what, &found.parsed.text, c)?);
    }
    if let Some(h) = &s.html {
        match &found.parsed.html {
            Some(html) => problems.extend(check_text(ctx, found, "the HTML part", html, &h.value)?),
            None => problems.push("the message has no HTML part".to_owned()),
        }
    }
    if let Some(a) = &s.attachment {
        let (mut found_problems, kept) = check_attachment(ctx, found, &a.value, summary)?;
        problems.append(&mut found_problems);
        if let Some((artifact, evidence)) = kept {
            artifacts.push(artifact);
            attachment_evidence = Some(evidence);
        }
    }
    if problems.is_empty() {
        return Ok((artifacts, attachment_evidence));
    }
    let subject = crate::mail::mask_code_like(&ctx.redactor.redact(&found.parsed.subject));
    Err(
        Fail(&ctx.redactor.redact(summary)).mismatch(ctx.redactor.redact(&format!(
            "message {} (\"{subject}\") {window}: {}",
            found.message_id(),
            problems.join("; ")
        ))),
    )
}

/// The delivery criterion and the step's evidence and summary. Everything here derives from
/// the message: redacted now that its values are secrets (a subject such as "772204 is your
/// sign-in code" carries the code).
fn delivered(
    ctx: &mut StepContext<'_>,
    found: &FoundMail,
    mut picked: Vec<MailExtraction>,
    mailbox: &str,
    summary: &str,
    extracted: &[String],
) -> (String, Evidence) {
    let subject = ctx.redactor.redact(&found.parsed.subject);
    for p in &mut picked {
        p.context = ctx.redactor.redact(&p.context);
    }
    let mut evidence = found.evidence(picked);
    if let Evidence::Mail { subject: s, .. } = &mut evidence {
        s.clone_from(&subject);
    }
    let latency = found.latency_text();
    ctx.measured.events.push(RunEventKind::CriterionRecorded {
        flow: Some(ctx.flow.ast.id.value.clone()),
        criterion: Criterion {
            name: format!("mail \"{subject}\" delivered to {mailbox}"),
            verdict: Verdict::Pass,
            evidence: vec![format!(
                "message {} from {}: {latency}; waited on {}; parsed from its raw source",
                found.message_id(),
                found.source,
                found.waited_on
            )],
            note: None,
            proves: None,
        },
    });
    let mut summary = format!("{summary}: \"{subject}\" {latency}");
    if !extracted.is_empty() {
        summary.push_str(&format!(" ({})", extracted.join(", ")));
    }
    (ctx.redactor.redact(&summary), evidence)
}
