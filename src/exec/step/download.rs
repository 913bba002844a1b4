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
                .map_err(|e| Fail("download").msg(e))?;
            Some((
                TextPattern::from_rendered(&n.value, &v, false)
                    .map_err(|e| Fail("download").msg(e))?,
                shown,
            ))
        }
        None => None,
    };
    let dir = {
        let session = ctx.browser(&Fail("download")).await?;
        session.download_dir().map(Path::to_path_buf).ok_or_else(|| {
            Fail("download").msg("downloads are checked with a local browser only (a remote WebDriver server keeps its files)")
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
    let deadline = Instant::now() + limit;
    // Chrome writes a hidden temp file, then `NAME.crdownload`, and renames that to NAME when
    // done: wait for a new finished file.
    let in_progress = |p: &PathBuf| {
        p.extension().is_some_and(|e| e == "crdownload")
            || p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
    };
    let (mut ended, mut settle) = (false, EventWatch::polling());
    let file = loop {
        let now = list_dir(&dir);
        let partial = now.iter().any(in_progress);
        let fresh: Vec<&PathBuf> = now
            .iter()
            .filter(|p| !before.contains(*p) && !in_progress(p))
            .collect();
        if let (Some(f), false) = (fresh.first(), partial) {
            break (*f).clone();
        }
        if Instant::now() >= deadline {
            return Err(fail.msg(if partial {
                format!("the download did not finish within {}", human(limit))
            } else {
                format!("no download started within {} of the click", human(limit))
            }));
        }
        if partial && ended {
            // The browser says a download ended but its files are not settled yet.
            settle.next(deadline.into()).await;
        } else {
            ended |= news.next(deadline.into()).await;
        }
    };
    // The download dir belongs to the browser session: move the file out, so a later download
    // of the same name is seen as new.
    let bytes =
        std::fs::read(&file).map_err(|e| fail.msg(format!("cannot read the download: {e}")))?;
    let _ = std::fs::remove_file(&file);
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rel = PathBuf::from(ctx.flow_id())
        .join("downloads")
        .join(&file_name);
    let saved = ctx.output_dir.join(&rel);
    artifact::write_atomic(&saved, &bytes)
        .map_err(|e| fail.msg(format!("cannot keep the download: {e}")))?;
    let sha256 = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&bytes);
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let media_type = media_type_of(&bytes, &file_name);
    let size = bytes.len() as u64;
    let mut problems = Vec::new();
    if let Some((p, shown)) = &name_pattern {
        if !p.matches(&file_name) {
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
    let summary = format!("{summary}: {file_name} ({size} bytes, {media_type})");
    if !problems.is_empty() {
        return Err(Fail(&summary).msg(format!(
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
