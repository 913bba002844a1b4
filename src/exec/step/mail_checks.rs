//! What the picked message must hold: `body:`/`html:` text checks and attachments, and how a
//! failure quotes the message (secrets redacted, codes and links masked).

use super::context::{Fail, StepContext, StepFailure};
use super::error::StepError;
use crate::artifact;
use crate::events::{Artifact, ArtifactKind, Evidence, RunEventKind};
use crate::flowfile::ast::{AttachmentCheck, TextChecks};
use crate::flowfile::size::SizeRange;
use crate::flowfile::text::TextPattern;
use crate::mail::{Attachment, FoundMail, MailError, OtpPattern, OtpRule};

/// A mail source's error as a step failure, redacted: no matching message in time is a
/// timeout; a message without one fitting value (or not valid MIME) is a mismatch; a source
/// that cannot be asked is unreachable.
pub(super) fn mail_failure(ctx: &StepContext<'_>, summary: &str, e: &MailError) -> StepFailure {
    let text = ctx.redactor.redact(&e.to_string());
    let fail = Fail(summary);
    match e {
        MailError::NoMessage { .. } => fail.timeout(text),
        MailError::Malformed { .. }
        | MailError::NoCode { .. }
        | MailError::NoLink { .. }
        | MailError::Ambiguous { .. } => fail.mismatch(text),
        MailError::Rejected { .. }
        | MailError::NotEnabled { .. }
        | MailError::Status { .. }
        | MailError::Request { .. }
        | MailError::Unresponsive { .. }
        | MailError::Response { .. }
        | MailError::BadUrl { .. } => fail.unreachable(text),
    }
}

/// A text quoted from a message in a failure: the run's secrets redacted, and what could be a
/// secret the step did not extract masked too (codes, alphanumeric codes, link paths).
pub(super) fn quote(ctx: &StepContext<'_>, found: &FoundMail, text: &str) -> String {
    let mut out = ctx.redactor.redact(text);
    for pattern in [OtpPattern::Digits, OtpPattern::Alnum] {
        let rule = OtpRule {
            pattern,
            near: None,
        };
        for c in found.candidate_codes(&rule) {
            out = out.replace(&c, &crate::mail::mask(&c));
        }
    }
    static URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?i)\bhttps?://[^\s<>"'`]+"#).expect("url regex")
    });
    let out = URL.replace_all(&out, |c: &regex::Captures<'_>| crate::mail::shown(&c[0]));
    crate::mail::mask_code_like(&out)
}

/// Up to `n` characters of `text` on one line, with an ellipsis when cut.
pub(super) fn excerpt(text: &str, n: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    }
}

/// The patterns of `contains`/`not_contains`, rendered; a list item may use variables.
pub(super) fn patterns(
    ctx: &StepContext<'_>,
    list: Option<&crate::flowfile::ast::TextList>,
) -> Result<Vec<TextPattern>, StepError> {
    let mut out = Vec::new();
    for item in list.map(|l| l.items()).unwrap_or_default() {
        let (v, _) = ctx.render_shown(&item.value)?;
        out.push(TextPattern::from_rendered(&item.value, &v, false).map_err(StepError::Input)?);
    }
    Ok(out)
}

/// `contains` / `not_contains` / `regex` on one text of the message; the problems found, each
/// quoting the message only through [`quote`].
pub(super) fn check_text(
    ctx: &StepContext<'_>,
    found: &FoundMail,
    what: &str,
    text: &str,
    checks: &TextChecks,
) -> Result<Vec<String>, StepFailure> {
    let bad = |e: StepError| Fail("mail").with(e);
    let mut problems = Vec::new();
    let mut missing = false;
    for p in patterns(ctx, checks.contains.as_ref()).map_err(bad)? {
        if !p.matches(text) {
            problems.push(format!("{what} does not contain {p}"));
            missing = true;
        }
    }
    for p in patterns(ctx, checks.not_contains.as_ref()).map_err(bad)? {
        if p.matches(text) {
            let line = text
                .lines()
                .find(|l| p.matches(l))
                .map(|l| format!(" (\"{}\")", quote(ctx, found, &excerpt(l, 120))))
                .unwrap_or_default();
            problems.push(format!("{what} contains {p}{line}, expected not"));
        }
    }
    if let Some(r) = &checks.regex {
        let (v, shown) = ctx.render_shown(&r.value).map_err(bad)?;
        let re =
            regex::Regex::new(&v).map_err(|e| Fail("mail").input(format!("bad regex: {e}")))?;
        if !re.is_match(text) {
            problems.push(format!("{what} does not match /{shown}/"));
            missing = true;
        }
    }
    if missing {
        problems.push(format!(
            "{what} has {} characters and begins \"{}\"",
            text.chars().count(),
            quote(ctx, found, &excerpt(text, 160))
        ));
    }
    Ok(problems)
}

/// An attachment kept in the run directory: its artifact and its evidence.
type KeptAttachment = (Artifact, Evidence);

/// The one attachment `check` points at, its problems, and the attachment kept as evidence.
pub(super) fn check_attachment(
    ctx: &mut StepContext<'_>,
    found: &FoundMail,
    check: &AttachmentCheck,
    summary: &str,
) -> Result<(Vec<String>, Option<KeptAttachment>), StepFailure> {
    let fail = Fail(summary);
    let list =
        crate::mail::attachments(&found.raw.raw).map_err(|e| mail_failure(ctx, summary, &e))?;
    let (index, a) = match pick_attachment(ctx, &list, check, &fail)? {
        Ok(picked) => picked,
        Err(problem) => return Ok((vec![problem], None)),
    };
    // Kept like a download, before it is judged: a failure points at the file.
    let file_name = a.safe_file_name(index);
    let rel = std::path::PathBuf::from(&ctx.flow.ast.id.value)
        .join("attachments")
        .join(&file_name);
    artifact::write_atomic(&ctx.output_dir.join(&rel), &a.bytes)
        .map_err(|e| fail.file(format!("cannot keep the attachment: {e}")))?;
    let sha256 = a.sha256();
    let mut problems = attachment_problems(ctx, a, &sha256, check, &fail)?;
    if !problems.is_empty() {
        problems = vec![format!(
            "attachment \"{}\": {} (kept as {})",
            a.name,
            problems.join(", "),
            rel.display()
        )];
    }
    let size = a.bytes.len() as u64;
    let artifact = Artifact {
        kind: ArtifactKind::Attachment,
        path: rel.clone(),
        bytes: size,
    };
    // Listed with the flow's artifacts even when the step then fails on it.
    ctx.measured.events.push(RunEventKind::ArtifactWritten {
        flow: Some(ctx.flow.ast.id.value.clone()),
        artifact: artifact.clone(),
    });
    let evidence = Evidence::Attachment {
        message_id: found.message_id().to_owned(),
        file_name: a.name.clone(),
        path: rel,
        bytes: size,
        media_type: a.media_type.clone(),
        sha256,
    };
    Ok((problems, Some((artifact, evidence))))
}

/// The one attachment `check` names (by name pattern and media type), or the problem: none
/// fits, or several do (the runner does not guess).
fn pick_attachment<'m>(
    ctx: &StepContext<'_>,
    list: &'m [Attachment],
    check: &AttachmentCheck,
    fail: &Fail<'_>,
) -> Result<Result<(usize, &'m Attachment), String>, StepFailure> {
    let name = match &check.name {
        Some(n) => {
            let (v, _) = ctx.render_shown(&n.value).map_err(|e| fail.with(e))?;
            Some(TextPattern::from_rendered(&n.value, &v, false).map_err(|e| fail.input(e))?)
        }
        None => None,
    };
    let media_type = check
        .media_type
        .as_ref()
        .map(|t| t.value.trim().to_ascii_lowercase());
    let describe =
        |a: &Attachment| format!("\"{}\" ({}, {} bytes)", a.name, a.media_type, a.bytes.len());
    let listed = || match list.len() {
        0 => "the message has no attachments".to_owned(),
        _ => format!(
            "its attachments: {}",
            list.iter().map(describe).collect::<Vec<_>>().join(", ")
        ),
    };
    let wanted: Vec<(usize, &Attachment)> = list
        .iter()
        .enumerate()
        .filter(|(_, a)| name.as_ref().is_none_or(|p| p.matches(&a.name)))
        .filter(|(_, a)| media_type.as_ref().is_none_or(|t| a.media_type == *t))
        .collect();
    let asked = match (&name, &media_type) {
        (Some(n), Some(t)) => format!("attachment named {n} of type {t}"),
        (Some(n), None) => format!("attachment named {n}"),
        (None, Some(t)) => format!("attachment of type {t}"),
        (None, None) => "attachment".to_owned(),
    };
    Ok(match wanted.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("no {asked}; {}", listed())),
        many => {
            let names: Vec<String> = many.iter().map(|(_, a)| describe(a)).collect();
            Err(format!(
                "{} attachments could be the one: {}; add `name:` (or `type:`)",
                many.len(),
                names.join(", ")
            ))
        }
    })
}

/// What is wrong with the picked attachment: its size, digest and text.
fn attachment_problems(
    ctx: &StepContext<'_>,
    a: &Attachment,
    sha256: &str,
    check: &AttachmentCheck,
    fail: &Fail<'_>,
) -> Result<Vec<String>, StepFailure> {
    let size = a.bytes.len() as u64;
    let mut problems = Vec::new();
    if let Some(s) = &check.size {
        match SizeRange::parse(&s.value.0) {
            Ok(range) if !range.contains(size) => {
                problems.push(format!("it has {size} bytes, expected {range}"));
            }
            Ok(_) => {}
            Err(e) => return Err(fail.input(e)),
        }
    }
    if let Some(want) = &check.sha256 {
        let (want, _) = ctx.render_shown(&want.value).map_err(|e| fail.with(e))?;
        if !sha256.eq_ignore_ascii_case(want.trim()) {
            problems.push(format!("its sha256 is {sha256}, expected {}", want.trim()));
        }
    }
    let wanted_text = patterns(ctx, check.contains.as_ref()).map_err(|e| fail.with(e))?;
    if !wanted_text.is_empty() {
        if a.is_text() {
            let text = a.text();
            for p in &wanted_text {
                if !p.matches(&text) {
                    problems.push(format!("its text does not contain {p}"));
                }
            }
        } else {
            problems.push(format!(
                "`contains` reads text attachments, and this one is {}",
                a.media_type
            ));
        }
    }
    Ok(problems)
}
