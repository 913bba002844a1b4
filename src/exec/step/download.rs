//! The `download` step: click, wait for the file, check its name, type, size and digest.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use super::context::*;
use super::pointer::*;
use crate::artifact;
use crate::events::{Artifact, ArtifactKind, Evidence};
use crate::exec::bidi::{EventWatch, Topic};
use crate::exec::browser::Downloads;
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
    let place = match ctx.browser(&Fail("download")).await?.downloads() {
        Downloads::Dir(dir) => Place::Dir(dir.to_path_buf()),
        Downloads::Grid => Place::Grid,
        Downloads::Nowhere => {
            return Err(Fail("download").input(
                "the remote WebDriver server keeps this browser's downloads to itself: start \
                 the Selenium Grid with --enable-managed-downloads true (the runner then asks \
                 for se:downloadsEnabled and fetches the file), or run with a local browser",
            ))
        }
    };
    let before = names_in(ctx, &place, &Fail("download")).await?;
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
    let file = await_file(ctx, &place, &before, &mut news, limit, &fail).await?;
    let bytes = take(ctx, &place, &file, &fail).await?;
    let kept = keep(ctx, &file, &bytes, &fail)?;
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

/// Where the browser's downloads are read.
enum Place {
    /// A local dir.
    Dir(PathBuf),
    /// A Selenium Grid node's managed downloads.
    Grid,
}

/// The file names in the download place now.
async fn names_in(
    ctx: &mut StepContext<'_>,
    place: &Place,
    fail: &Fail<'_>,
) -> Result<std::collections::BTreeSet<String>, StepFailure> {
    match place {
        Place::Dir(dir) => Ok(list_dir(dir)
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect()),
        Place::Grid => ctx
            .browser(fail)
            .await?
            .grid_download_names()
            .await
            .map_err(|e| fail.browser(e)),
    }
}

/// Waits for a new finished file among the browser's downloads and returns its name. Chrome
/// writes a hidden temp file, then `NAME.crdownload`, and renames that to NAME when done.
async fn await_file(
    ctx: &mut StepContext<'_>,
    place: &Place,
    before: &std::collections::BTreeSet<String>,
    news: &mut EventWatch,
    limit: std::time::Duration,
    fail: &Fail<'_>,
) -> Result<String, StepFailure> {
    let deadline = Instant::now() + limit;
    let in_progress = |n: &String| n.ends_with(".crdownload") || n.starts_with('.');
    let (mut ended, mut settle) = (false, EventWatch::polling());
    loop {
        let now = names_in(ctx, place, fail).await?;
        let partial = now.iter().any(in_progress);
        let fresh: Vec<&String> = now
            .iter()
            .filter(|n| !before.contains(*n) && !in_progress(n))
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

/// The bytes of the download `name`, taken away from where the browser put it (so a later
/// download of the same name is seen as new rather than renamed by the browser).
async fn take(
    ctx: &mut StepContext<'_>,
    place: &Place,
    name: &str,
    fail: &Fail<'_>,
) -> Result<Vec<u8>, StepFailure> {
    match place {
        Place::Dir(dir) => {
            let file = dir.join(name);
            let bytes = std::fs::read(&file)
                .map_err(|e| fail.file(format!("cannot read the download: {e}")))?;
            let _ = std::fs::remove_file(&file);
            Ok(bytes)
        }
        Place::Grid => {
            let session = ctx.browser(fail).await?;
            let bytes = session
                .grid_download(name)
                .await
                .map_err(|e| fail.browser(e))?;
            if let Err(e) = session.grid_downloads_clear().await {
                tracing::debug!("the Grid's downloads were not cleared: {e}");
            }
            Ok(bytes)
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

/// Keeps the download `file_name` in the run directory.
fn keep(
    ctx: &StepContext<'_>,
    file_name: &str,
    bytes: &[u8],
    fail: &Fail<'_>,
) -> Result<Kept, StepFailure> {
    let file_name = file_name.to_owned();
    let rel = PathBuf::from(ctx.flow_id())
        .join("downloads")
        .join(&file_name);
    let saved = ctx.output_dir.join(&rel);
    artifact::write_atomic(&saved, bytes)
        .map_err(|e| fail.file(format!("cannot keep the download: {e}")))?;
    let sha256 = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes);
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    Ok(Kept {
        media_type: media_type_of(bytes, &file_name),
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
