//! `download_headers`: a binary download's status and headers checked against its bytes.

use reqwest::header::{HeaderMap, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};

use super::{conclude, get, Row};
use crate::exec::step::context::{Fail, StepContext, StepResult};
use crate::flowfile::ast::DownloadHeadersStep;
use crate::flowfile::text::TextPattern;

pub(in crate::exec::step) async fn download_headers(
    ctx: &mut StepContext<'_>,
    s: &DownloadHeadersStep,
) -> StepResult {
    let (url, shown) = ctx
        .render_shown(&s.url.value)
        .map_err(|e| Fail("download_headers").with(e))?;
    let summary = format!("download_headers {shown}");
    let fail = Fail(&summary);
    let url = ctx.resolve_url(&url, false);
    let timeout = ctx.timeout(s.timeout.as_ref());
    let cookie = match &s.as_user {
        Some(u) => Some(ctx.cookies_of(&u.value).await.map_err(|e| fail.with(e))?),
        None => None,
    };
    // Redirects are followed: downloads are often served from storage behind a redirect.
    let http = ctx.http;
    let resp = get(
        ctx,
        http,
        &url,
        cookie.as_deref(),
        HeaderMap::new(),
        timeout,
        &fail,
    )
    .await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.map_err(|e| {
        fail.unreachable(format!(
            "the body could not be read whole: {}",
            ctx.redactor.redact(&crate::net::describe_error(&url, &e))
        ))
    })?;
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let want_status = s.status.unwrap_or(200);
    let mut rows = vec![Row::new(
        "status",
        want_status.to_string(),
        status.to_string(),
        status == want_status,
    )];

    // Content-Type: present, and the declared type when the step names one.
    let declared = header(CONTENT_TYPE).map(essence);
    let want_type = match &s.content_type {
        Some(t) => Some(essence(
            &ctx.render_shown(&t.value).map_err(|e| fail.with(e))?.0,
        )),
        None => None,
    };
    rows.push(Row::new(
        "Content-Type",
        want_type.clone().unwrap_or_else(|| "present".to_owned()),
        declared.clone().unwrap_or_else(|| "missing".to_owned()),
        match (&declared, &want_type) {
            (Some(d), Some(w)) => d == w,
            (Some(_), None) => true,
            (None, _) => false,
        },
    ));

    // Content-Disposition: a file name, and the expected one when the step names it.
    let disposition = header(CONTENT_DISPOSITION);
    let filename = disposition.and_then(disposition_filename);
    let name_pattern = match &s.filename {
        Some(f) => {
            let (rendered, _) = ctx.render_shown(&f.value).map_err(|e| fail.with(e))?;
            let pattern =
                TextPattern::from_rendered(&f.value, &rendered, true).map_err(|e| fail.input(e))?;
            // Shown as written: `"report.pdf"`, or the `/regex/`.
            let shown = match &pattern {
                TextPattern::Regex { .. } => pattern.to_string(),
                TextPattern::Substring(_) | TextPattern::Exact(_) => format!("{rendered:?}"),
            };
            Some((pattern, shown))
        }
        None => None,
    };
    rows.push(Row::new(
        "Content-Disposition filename",
        name_pattern
            .as_ref()
            .map_or_else(|| "a file name".to_owned(), |(_, shown)| shown.clone()),
        match (disposition, &filename) {
            (None, _) => "no Content-Disposition".to_owned(),
            (Some(d), None) => format!("no file name in {d:?}"),
            (Some(_), Some(n)) => format!("{n:?}"),
        },
        match (&filename, &name_pattern) {
            (Some(n), Some((p, _))) => p.matches(n),
            (Some(_), None) => true,
            (None, _) => false,
        },
    ));

    // Content-Length: the bytes the body really had.
    let length = header(CONTENT_LENGTH);
    rows.push(Row::new(
        "Content-Length",
        format!("{} (bytes received)", bytes.len()),
        length.unwrap_or("missing").to_owned(),
        length.and_then(|l| l.trim().parse::<usize>().ok()) == Some(bytes.len()),
    ));

    // The bytes' own type against the declared one.
    let sniffed = sniff(&bytes);
    let declared_text = declared.clone().unwrap_or_default();
    rows.push(Row::new(
        "sniffed type",
        format!("the declared {}", declared.as_deref().unwrap_or("(none)")),
        sniffed.describe(),
        declared.is_some() && sniffed.agrees_with(&declared_text),
    ));
    let asked = format!("GET {shown}\n");
    conclude(
        ctx,
        "download_headers",
        &fail,
        summary.clone(),
        asked,
        rows,
        vec![],
    )
}

/// `application/pdf; charset=binary` → `application/pdf`.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The file name of a `Content-Disposition` value: `filename*` (RFC 5987/2231) before
/// `filename`.
fn disposition_filename(value: &str) -> Option<String> {
    let parsed = mailparse::parse_content_disposition(value);
    parsed
        .params
        .get("filename")
        .filter(|n| !n.trim().is_empty())
        .cloned()
}

/// What the bytes are by their content.
enum Sniffed {
    /// A signature `infer` knows.
    Known(&'static str),
    /// No known signature; valid UTF-8 text without NUL bytes.
    Text,
    /// No known signature, and not text.
    Unknown,
}

fn sniff(bytes: &[u8]) -> Sniffed {
    if let Some(t) = infer::get(bytes) {
        return Sniffed::Known(t.mime_type());
    }
    if std::str::from_utf8(bytes).is_ok_and(|t| !t.contains('\0')) {
        Sniffed::Text
    } else {
        Sniffed::Unknown
    }
}

impl Sniffed {
    fn describe(&self) -> String {
        match self {
            Sniffed::Known(m) => (*m).to_owned(),
            Sniffed::Text => "text (no binary signature)".to_owned(),
            Sniffed::Unknown => "unknown binary (no signature the runner knows)".to_owned(),
        }
    }

    /// Whether the content agrees with the declared type. Text formats have no signature, so
    /// text bytes agree with a textual type; unknown binary agrees with nothing (the runner
    /// cannot tell, so it does not pass).
    fn agrees_with(&self, declared: &str) -> bool {
        match self {
            Sniffed::Known(m) => *m == declared || same_format(m, declared),
            Sniffed::Text => is_textual(declared),
            Sniffed::Unknown => false,
        }
    }
}

/// Names that mean the same format (registered aliases).
fn same_format(a: &str, b: &str) -> bool {
    const ALIASES: &[&[&str]] = &[
        &["application/zip", "application/x-zip-compressed"],
        &["application/gzip", "application/x-gzip"],
        &["image/jpeg", "image/jpg", "image/pjpeg"],
        &["audio/mpeg", "audio/mp3"],
        &["application/x-7z-compressed", "application/x-7z"],
    ];
    ALIASES
        .iter()
        .any(|set| set.contains(&a) && set.contains(&b))
}

fn is_textual(media: &str) -> bool {
    media.starts_with("text/")
        || media.ends_with("+json")
        || media.ends_with("+xml")
        || matches!(
            media,
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-ndjson"
                | "application/yaml"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_either_parameter() {
        assert_eq!(
            disposition_filename("attachment; filename=\"report.pdf\"").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(
            disposition_filename("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf").as_deref(),
            Some("résumé.pdf")
        );
        assert_eq!(disposition_filename("attachment"), None);
    }

    #[test]
    fn sniffed_types_agree_only_with_what_they_are() {
        let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n";
        assert!(sniff(pdf).agrees_with("application/pdf"));
        assert!(!sniff(pdf).agrees_with("image/png"));
        assert!(!sniff(pdf).agrees_with("text/plain"));
        assert!(sniff(b"a,b\n1,2\n").agrees_with("text/csv"));
        assert!(!sniff(b"a,b\n1,2\n").agrees_with("application/pdf"));
        // Bytes the runner cannot name agree with nothing: never a pass by default.
        assert!(!sniff(&[0u8, 159, 146, 150, 0, 1]).agrees_with("application/octet-stream"));
    }
}
