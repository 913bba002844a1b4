//! What the executor records for a flow's trace: per step the page URL and title, a DOM
//! snapshot (one round trip, redacted), and in `--trace on` mode JPEG screenshots before and
//! after (encoded off the async runtime, identical frames skipped). The trace writer (a
//! reporter) folds these into one self-contained HTML file per flow.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::browser::BrowserSession;
use crate::artifact;
use crate::events::StepTrace;
use crate::redact::Redactor;

pub struct TraceCapture {
    /// Screenshots before and after each step (`--trace on`).
    pub screenshots: bool,
    last_frame: Option<(u64, PathBuf)>,
    /// Parts being encoded and written on blocking threads; the flow waits for them (`flush`)
    /// before it ends, so the trace writer finds them, but no step waits for the disk.
    pending: Vec<tokio::task::JoinHandle<()>>,
}

impl TraceCapture {
    pub fn new(screenshots: bool) -> TraceCapture {
        TraceCapture {
            screenshots,
            last_frame: None,
            pending: Vec::new(),
        }
    }

    /// Waits until every part of this attempt is on disk.
    pub async fn flush(&mut self) {
        for handle in self.pending.drain(..) {
            let _ = handle.await;
        }
    }

    /// A JPEG of the page (`None` on any failure: a trace never fails a step).
    pub async fn frame(
        &mut self,
        session: &BrowserSession,
        output_dir: &Path,
        rel: PathBuf,
    ) -> Option<PathBuf> {
        let png = tokio::time::timeout(Duration::from_secs(5), session.screenshot())
            .await
            .ok()?
            .ok()?;
        let hash = fnv(&png);
        if let Some((h, path)) = &self.last_frame {
            if *h == hash {
                return Some(path.clone());
            }
        }
        let path = output_dir.join(&rel);
        self.pending.push(tokio::task::spawn_blocking(move || {
            if let Some(jpeg) = to_jpeg(&png) {
                let _ = artifact::write_transient(&path, &jpeg);
            }
        }));
        self.last_frame = Some((hash, rel.clone()));
        Some(rel)
    }

    /// URL, title and DOM snapshot after a step.
    pub async fn snapshot(
        &mut self,
        session: &BrowserSession,
        output_dir: &Path,
        rel: PathBuf,
        redactor: &Redactor,
        trace: &mut StepTrace,
    ) {
        // The page script's snapshot (the same one `expect` brings back), styles included.
        let request = serde_json::json!({"op": "snapshot", "snapshot": true});
        let Ok(Ok(r)) = tokio::time::timeout(
            Duration::from_secs(5),
            session.page(request, Duration::ZERO),
        )
        .await
        else {
            return;
        };
        let Some(v) = r.value.get("snapshot") else {
            return;
        };
        self.record(v, output_dir, rel, redactor, trace);
    }

    /// Records a `[url, title, html, css, sheets left out]` snapshot (from the step's own page
    /// script, or the above).
    pub fn record(
        &mut self,
        v: &Value,
        output_dir: &Path,
        rel: PathBuf,
        redactor: &Redactor,
        trace: &mut StepTrace,
    ) {
        let get = |i: usize| v.get(i).and_then(Value::as_str).map(str::to_owned);
        trace.page_url = get(0).map(|u| redactor.redact(&u));
        trace.page_title = get(1).map(|t| redactor.redact(&t));
        if let Some(html) = get(2) {
            let css = get(3).unwrap_or_default();
            let left_out = v.get(4).and_then(Value::as_u64).unwrap_or(0);
            let html = with_styles(
                &strip_scripts(&redactor.redact(&html)),
                &redactor.redact(&css),
                left_out,
            );
            let path = output_dir.join(&rel);
            self.pending.push(tokio::task::spawn_blocking(move || {
                let _ = artifact::write_transient(&path, html.as_bytes());
            }));
            trace.dom_snapshot = Some(rel);
        }
    }
}

/// A snapshot is shown in a sandboxed frame; its scripts must not run there anyway.
fn strip_scripts(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</script>") {
            Some(end) => rest = &rest[start + end + "</script>".len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Puts the page's stylesheet text (read at capture time; the trace loads nothing) into the
/// snapshot's `<head>`, saying how many sheets were left out (cross-origin or over the budget).
fn with_styles(html: &str, css: &str, left_out: u64) -> String {
    if css.is_empty() && left_out == 0 {
        return html.to_owned();
    }
    // `</style` inside the text would end the element early; `\/` is the same character in CSS.
    let css = css.replace("</style", "<\\/style");
    let note = if left_out > 0 {
        format!("<!-- flows: {left_out} stylesheet(s) not inlined (cross-origin or over the 256 KiB budget) -->")
    } else {
        String::new()
    };
    let block = format!("{note}<style data-flows-inlined>{css}</style>");
    let at = html
        .find("</head>")
        .or_else(|| html.find("</HEAD>"))
        .or_else(|| html.find("<body"))
        .unwrap_or(0);
    let mut out = String::with_capacity(html.len() + block.len());
    out.push_str(&html[..at]);
    out.push_str(&block);
    out.push_str(&html[at..]);
    out
}

fn to_jpeg(png: &[u8]) -> Option<Vec<u8>> {
    let img = image::load_from_memory(png).ok()?.to_rgb8();
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 70);
    enc.encode_image(&img).ok()?;
    Some(out)
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_go_into_the_head_and_cannot_close_their_element() {
        assert_eq!(
            with_styles("<html><head><title>t</title></head><body>x</body></html>", "p{color:red}", 0),
            "<html><head><title>t</title><style data-flows-inlined>p{color:red}</style></head><body>x</body></html>"
        );
        let out = with_styles("<body>x</body>", "a::after{content:\"</style>\"}", 1);
        assert!(
            out.starts_with("<!-- flows: 1 stylesheet(s) not inlined"),
            "{out}"
        );
        assert!(!out.contains("</style>\"}"), "{out}");
        assert_eq!(with_styles("<p>x</p>", "", 0), "<p>x</p>");
    }

    #[test]
    fn scripts_are_stripped_from_snapshots() {
        assert_eq!(
            strip_scripts("<p>a</p><script>alert(1)</script><p>b</p><script src=x></script>"),
            "<p>a</p><p>b</p>"
        );
        assert_eq!(strip_scripts("<p>x</p><script>unterminated"), "<p>x</p>");
    }
}
