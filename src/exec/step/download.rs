//! The `download` step: click, wait for the file, check its name, type, size and digest.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use super::context::*;
use super::pointer::*;
use crate::artifact;
use crate::events::{Artifact, ArtifactKind, Evidence};
use crate::exec::bidi::{EventWatch, Topic};
use crate::flowfile::ast::*;
use crate::flowfile::template::Resolved;
use crate::flowfile::text::TextPattern;

pub(super) async fn download(ctx: &mut StepContext<'_>, s: &DownloadStep) -> StepResult {
    let name_pattern = match &s.file_name {
        Some(n) => {
            let (v, shown) = ctx
                .render_shown(&n.value)
                .map_err(|e| Fail("download").with(e))?;
            Some((
                TextPattern::from_rendered(&n.value, &v, false)
                    .map_err(|e| Fail("download").input(e))?,
                shown,
            ))
        }
        None => None,
    };
    let dir = {
        let session = ctx.browser(&Fail("download")).await?;
        session.download_dir().map(Path::to_path_buf).ok_or_else(|| {
            Fail("download").input("downloads are checked with a local browser only (a remote WebDriver server keeps its files)")
        })?
    };
    let before: std::collections::BTreeSet<PathBuf> = list_dir(&dir);
    // Watching starts before the click, so a download that ends at once is not missed.
    let mut news = ctx.browser(&Fail("download")).await?.watch(Topic::Download);
    let (_, _, summary) = act_verified(
        ctx,
        "act",
        &s.locator(),
        json!({}),
        s.timeout.as_ref(),
        "download",
        &Act::Click,
        None,
    )
    .await?;
    let fail = Fail(&summary);
    let limit = ctx.timeout(s.timeout.as_ref());
    let file = await_file(&dir, &before, &mut news, limit, &fail).await?;
    let kept = keep(ctx, &file, &fail)?;
    let problems = problems_of(s, &kept, name_pattern.as_ref());
    let Kept {
        file_name,
        rel,
        saved,
        size,
        media_type,
        sha256,
    } = kept;
    let summary = format!("{summary}: {file_name} ({size} bytes, {media_type})");
    if !problems.is_empty() {
        return Err(Fail(&summary).mismatch(format!(
            "{} (kept as {})",
            problems.join("; "),
            rel.display()
        )));
    }
    if let Some(var) = &s.var {
        ctx.set_capture(&var.value, Resolved::plain(saved.display().to_string()));
    }
    Ok(StepOutcome {
        summary,
        artifacts: vec![Artifact {
            kind: ArtifactKind::Download,
            path: rel.clone(),
            bytes: size,
        }],
        evidence: vec![Evidence::Download {
            file_name,
            path: rel,
            bytes: size,
            media_type,
            sha256,
        }],
    })
}

/// Waits for a new finished file in the browser's download dir. Chrome writes a hidden temp
/// file, then `NAME.crdownload`, and renames that to NAME when done.
async fn await_file(
    dir: &Path,
    before: &std::collections::BTreeSet<PathBuf>,
    news: &mut EventWatch,
    limit: std::time::Duration,
    fail: &Fail<'_>,
) -> Result<PathBuf, StepFailure> {
    let deadline = Instant::now() + limit;
    let in_progress = |p: &PathBuf| {
        p.extension().is_some_and(|e| e == "crdownload")
            || p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
    };
    let (mut ended, mut settle) = (false, EventWatch::polling());
    loop {
        let now = list_dir(dir);
        let partial = now.iter().any(in_progress);
        let fresh: Vec<&PathBuf> = now
            .iter()
            .filter(|p| !before.contains(*p) && !in_progress(p))
            .collect();
        if let (Some(f), false) = (fresh.first(), partial) {
            return Ok((*f).clone());
        }
        if Instant::now() >= deadline {
            let limit = crate::human::duration(limit);
            return Err(fail.timeout(if partial {
                format!("the download did not finish within {limit}")
            } else {
                format!("no download started within {limit} of the click")
            }));
        }
        if partial && ended {
            // The browser says a download ended but its files are not settled yet.
            settle.next(deadline.into()).await;
        } else {
            ended |= news.next(deadline.into()).await;
        }
    }
}

/// A download kept in the run directory, with what the step checks of it.
struct Kept {
    file_name: String,
    /// Under the run directory.
    rel: PathBuf,
    /// Where it is on disk.
    saved: PathBuf,
    size: u64,
    media_type: String,
    sha256: String,
}

/// Moves the file out of the browser's download dir (so a later download of the same name is
/// seen as new) into the run directory.
fn keep(ctx: &StepContext<'_>, file: &Path, fail: &Fail<'_>) -> Result<Kept, StepFailure> {
    let bytes =
        std::fs::read(file).map_err(|e| fail.file(format!("cannot read the download: {e}")))?;
    let _ = std::fs::remove_file(file);
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rel = PathBuf::from(ctx.flow_id())
        .join("downloads")
        .join(&file_name);
    let saved = ctx.output_dir.join(&rel);
    artifact::write_atomic(&saved, &bytes)
        .map_err(|e| fail.file(format!("cannot keep the download: {e}")))?;
    let sha256 = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&bytes);
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    Ok(Kept {
        media_type: media_type_of(&bytes, &file_name),
        size: bytes.len() as u64,
        file_name,
        rel,
        saved,
        sha256,
    })
}

/// What differs from the step's expectations: name, type, size, digest.
fn problems_of(
    s: &DownloadStep,
    kept: &Kept,
    name_pattern: Option<&(TextPattern, String)>,
) -> Vec<String> {
    let Kept {
        file_name,
        size,
        media_type,
        sha256,
        ..
    } = kept;
    let size = *size;
    let mut problems = Vec::new();
    if let Some((p, shown)) = name_pattern {
        if !p.matches(file_name) {
            problems.push(format!(
                "the file is named \"{file_name}\", expected ~\"{shown}\""
            ));
        }
    }
    if let Some(t) = &s.media_type {
        if !media_type.eq_ignore_ascii_case(t.value.trim()) {
            problems.push(format!(
                "its type is {media_type}, expected {}",
                t.value.trim()
            ));
        }
    }
    if let Some(want) = s.size {
        if size != want {
            problems.push(format!("it has {size} bytes, expected {want}"));
        }
    }
    if let Some(min) = s.min_size {
        if size < min {
            problems.push(format!("it has {size} bytes, expected at least {min}"));
        }
    }
    if let Some(want) = &s.sha256 {
        if !sha256.eq_ignore_ascii_case(want.value.trim()) {
            problems.push(format!(
                "its sha256 is {sha256}, expected {}",
                want.value.trim()
            ));
        }
    }
    problems
}

pub(super) fn list_dir(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The media type of a download: sniffed from its first bytes, else from its extension.
pub(super) fn media_type_of(bytes: &[u8], name: &str) -> String {
    if let Some(t) = infer::get(bytes) {
        return t.mime_type().to_owned();
    }
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => "text/csv",
        "txt" | "log" => "text/plain",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "md" => "text/markdown",
        "ics" => "text/calendar",
        _ if std::str::from_utf8(bytes).is_ok() => "text/plain",
        _ => "application/octet-stream",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::media_type_of;

    #[test]
    fn the_media_type_is_sniffed_from_the_bytes_before_the_name() {
        // A PDF named .csv is a PDF; a PNG without an extension is a PNG.
        assert_eq!(
            media_type_of(b"%PDF-1.7\n%\xe2\xe3", "report.csv"),
            "application/pdf"
        );
        assert_eq!(
            media_type_of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image"),
            "image/png"
        );
        assert_eq!(
            media_type_of(b"PK\x03\x04\x14\0\0\0", "export.zip"),
            "application/zip"
        );
    }

    #[test]
    fn without_magic_bytes_the_extension_decides_then_whether_it_is_text() {
        assert_eq!(media_type_of(b"id,title\n1,a\n", "tickets.CSV"), "text/csv");
        assert_eq!(
            media_type_of(b"{\"a\": 1}", "data.json"),
            "application/json"
        );
        assert_eq!(
            media_type_of(b"BEGIN:VCALENDAR", "invite.ics"),
            "text/calendar"
        );
        assert_eq!(media_type_of(b"plain words", "notes"), "text/plain");
        assert_eq!(
            media_type_of(&[0x13, 0x37, 0xff, 0xfe], "blob.bin"),
            "application/octet-stream"
        );
    }
}
