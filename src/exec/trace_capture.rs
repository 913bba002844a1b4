//! What the executor records for a flow's trace: per step the page URL and title, a DOM
//! snapshot (one round trip, redacted), and in `--trace on` mode JPEG frames before and after.
//!
//! Frames come from Chrome's screencast where it runs (`exec::film`: no capture on a step's
//! path; a boundary between steps is a mark that the next page-changing command stamps).
//! Elsewhere, or while a typed secret may be on the page, a frame costs one capture in the browser
//! (~40–60 ms; see docs/performance.md), so each is taken once and shown as often as it is
//! true: a step's "after" is the next step's "before" when that step follows in the same page,
//! and a step that only looks at an unchanged DOM shows the frame before it. Chrome encodes the
//! JPEG itself; parts are written off the async runtime. The trace writer (a reporter) folds
//! these into one self-contained HTML file per flow.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::browser::{BrowserSession, Frame};
use super::film::{self, Film};
use crate::artifact;
use crate::events::StepTrace;
use crate::redact::Redactor;

pub struct TraceCapture {
    /// Screenshots before and after each step (`--trace on`).
    pub screenshots: bool,
    /// The last frame written: its content hash and path.
    last_frame: Option<(u64, PathBuf)>,
    /// The last frame taken at a step's end, while it still shows that user's page as it is:
    /// the next step's "before" when that step follows directly.
    current: Option<ShownFrame>,
    /// The frame a step named as its "after", to be taken at the next step's end.
    deferred: Option<ShownFrame>,
    /// Hash of the DOM snapshot recorded last for this attempt (see [`Self::record`]).
    last_dom: Option<u64>,
    /// Parts being encoded and written on blocking threads; the flow waits for them (`flush`)
    /// before it ends, so the trace writer finds them, but no step waits for the disk.
    pending: Vec<tokio::task::JoinHandle<()>>,
    /// Frames taken and frames reused (shown in the debug log at the end of the attempt).
    taken: u32,
    reused: u32,
    /// Screencast mode: the mark of the last step's "after", the next step's "before" when
    /// that step follows directly in the same page.
    film_after: Option<FilmMark>,
    /// The films marks were placed on in this attempt, and a receiver per mark that fires
    /// once its frame is on disk.
    films: Vec<Arc<Film>>,
    marks: Vec<tokio::sync::oneshot::Receiver<()>>,
}

struct FilmMark {
    user: String,
    index: usize,
    rel: PathBuf,
    film: Arc<Film>,
}

/// A frame that shows a user's page as it was at the end of step `index`.
struct ShownFrame {
    user: String,
    index: usize,
    rel: PathBuf,
    /// The DOM snapshot the page had then, when the step recorded one.
    dom: Option<u64>,
}

impl TraceCapture {
    pub fn new(screenshots: bool) -> TraceCapture {
        TraceCapture {
            screenshots,
            last_frame: None,
            current: None,
            deferred: None,
            last_dom: None,
            pending: Vec::new(),
            taken: 0,
            reused: 0,
            film_after: None,
            films: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Whether `session`'s frames come from its screencast (then no step defers its frame).
    pub async fn films(&self, session: &BrowserSession) -> bool {
        self.screenshots && session.film().await.is_some()
    }

    /// A mark on `film` whose frame goes to `rel`.
    fn mark(&mut self, film: &Arc<Film>, output_dir: &Path, rel: &Path) {
        self.taken += 1;
        self.marks
            .push(film.open(output_dir.join(rel), film::now()));
        if !self.films.iter().any(|f| Arc::ptr_eq(f, film)) {
            self.films.push(film.clone());
        }
    }

    /// The last "after" mark will not be stamped by a next step of its page: it shows the page
    /// shortly after its step.
    fn close_film_after(&mut self) {
        if let Some(m) = self.film_after.take() {
            m.film.close(film::now());
        }
    }

    /// Ends the attempt's capture: the last marks are stamped now, and what is still on its
    /// way to disk (frames painted before a stamp may be in transit, parts being written) is
    /// handed over, to be waited for while the run goes on ([`PendingParts::settle`]).
    pub fn close(&mut self) -> PendingParts {
        self.close_film_after();
        let closed_at = film::now();
        let mut by = closed_at;
        for f in &self.films {
            f.close(closed_at);
            by = f.settle_by().map_or(by, |s| by.max(s));
        }
        PendingParts {
            films: std::mem::take(&mut self.films),
            marks: std::mem::take(&mut self.marks),
            writes: std::mem::take(&mut self.pending),
            closed_at,
            settle_by: by,
            counts: self.screenshots.then_some((self.taken, self.reused)),
        }
    }

    /// The "before" frame of step `index` in `user`'s page: the previous step's "after" when
    /// that step ran in the same page directly before (`adjacent`: nothing else ran between,
    /// no pause), else a new frame.
    pub async fn before(
        &mut self,
        session: &BrowserSession,
        output_dir: &Path,
        index: usize,
        adjacent: bool,
        rel: PathBuf,
    ) -> Option<PathBuf> {
        if let Some(film) = session.film().await {
            if let Some(m) = self.film_after.as_ref().filter(|m| {
                adjacent
                    && m.user == session.user
                    && m.index + 1 == index
                    && Arc::ptr_eq(&m.film, &film)
            }) {
                self.reused += 1;
                return Some(m.rel.clone());
            }
            self.close_film_after();
            // The step before was captured (the screencast resumed after it): its frame is
            // this step's "before", as without a screencast.
            if let Some(shown) = self
                .current
                .take()
                .filter(|c| adjacent && c.user == session.user && c.index + 1 == index)
            {
                self.reused += 1;
                return Some(shown.rel);
            }
            self.mark(&film, output_dir, &rel);
            return Some(rel);
        }
        self.close_film_after();
        if let Some(shown) = self
            .current
            .as_ref()
            .or(self.deferred.as_ref())
            .filter(|c| adjacent && c.user == session.user && c.index + 1 == index)
        {
            self.reused += 1;
            return Some(shown.rel.clone());
        }
        self.frame(session, output_dir, rel, false).await
    }

    /// Step `index` shows as its "after" the frame the next step (which only reads the page)
    /// will take at its end, at `rel`: an action followed by an assertion is one frame.
    pub fn defer_after(&mut self, session: &BrowserSession, index: usize, rel: PathBuf) -> PathBuf {
        self.reused += 1;
        self.current = None;
        self.deferred = Some(ShownFrame {
            user: session.user.clone(),
            index,
            rel: rel.clone(),
            dom: None,
        });
        rel
    }

    /// The "after" frame of step `index`. A step that only looks (`looks_only`: an
    /// assertion, a wait, a capture) and found the same DOM as the frame before it shows that
    /// frame again: it changed nothing, and the page did not change under it.
    pub async fn after(
        &mut self,
        session: &BrowserSession,
        output_dir: &Path,
        index: usize,
        looks_only: bool,
        dom_recorded: bool,
        rel: PathBuf,
    ) -> Option<PathBuf> {
        if let Some(film) = session.film().await {
            // What this step did not stamp (it changed nothing) shows the page as it is now.
            film.stamp_open(film::now());
            // Frames taken before the screencast resumed are no step's after this one.
            self.current = None;
            self.deferred = None;
            self.close_film_after();
            self.mark(&film, output_dir, &rel);
            self.film_after = Some(FilmMark {
                user: session.user.clone(),
                index,
                rel: rel.clone(),
                film,
            });
            return Some(rel);
        }
        self.close_film_after();
        let dom = self.last_dom.filter(|_| dom_recorded);
        // The step before showed this step's frame as its own "after": it must be taken, at
        // the path that step named.
        if let Some(d) = self.deferred.take() {
            if d.user == session.user && d.index + 1 == index {
                let taken = self.frame(session, output_dir, d.rel.clone(), true).await;
                self.current = taken.as_ref().map(|rel| ShownFrame {
                    user: session.user.clone(),
                    index,
                    rel: rel.clone(),
                    dom,
                });
                return taken;
            }
        }
        let unchanged = self.current.as_ref().filter(|c| {
            looks_only
                && c.user == session.user
                && c.index + 1 == index
                && c.dom.is_some()
                && c.dom == dom
        });
        let rel = match unchanged {
            Some(c) => {
                self.reused += 1;
                c.rel.clone()
            }
            None => match self.frame(session, output_dir, rel, false).await {
                Some(rel) => rel,
                None => {
                    self.current = None;
                    return None;
                }
            },
        };
        self.current = Some(ShownFrame {
            user: session.user.clone(),
            index,
            rel: rel.clone(),
            dom,
        });
        Some(rel)
    }

    /// A JPEG of the page at `rel` (`None` on any failure: a trace never fails a step), or the
    /// last frame's path when the bytes are the same, unless `at_rel` (another step names
    /// `rel` already). Over BiDi it is captured while the flow goes on; else Chrome encodes it
    /// over CDP, and another browser's PNG is re-encoded on a blocking thread.
    async fn frame(
        &mut self,
        session: &BrowserSession,
        output_dir: &Path,
        rel: PathBuf,
        at_rel: bool,
    ) -> Option<PathBuf> {
        let started = std::time::Instant::now();
        let frame = tokio::time::timeout(Duration::from_secs(5), session.trace_frame())
            .await
            .ok()?
            .ok()?;
        self.taken += 1;
        let bytes = match frame {
            Frame::InFlight(capture) => {
                // Written when it arrives. The trace writer folds identical frames into one,
                // so no hash is needed here.
                let path = output_dir.join(&rel);
                self.pending.push(tokio::spawn(async move {
                    if let Ok(Some(jpeg)) = capture.await {
                        tracing::debug!(
                            ms = started.elapsed().as_millis() as u64,
                            bytes = jpeg.len(),
                            "trace frame captured over BiDi"
                        );
                        let _ = tokio::task::spawn_blocking(move || {
                            artifact::write_transient(&path, &jpeg)
                        })
                        .await;
                    }
                }));
                self.last_frame = None;
                return Some(rel);
            }
            Frame::Jpeg(ref b) | Frame::Png(ref b) => b,
        };
        let hash = fnv(bytes);
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            bytes = bytes.len(),
            jpeg = matches!(frame, Frame::Jpeg(_)),
            "trace frame captured"
        );
        if let Some((h, path)) = self.last_frame.as_ref().filter(|_| !at_rel) {
            if *h == hash {
                return Some(path.clone());
            }
        }
        let path = output_dir.join(&rel);
        self.pending.push(tokio::task::spawn_blocking(move || {
            let jpeg = match frame {
                Frame::Jpeg(jpeg) => Some(jpeg),
                Frame::Png(png) => to_jpeg(&png),
                Frame::InFlight(_) => None,
            };
            if let Some(jpeg) = jpeg {
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
        self.last_dom = self.screenshots.then(|| fnv(v.to_string().as_bytes()));
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

/// What an ended attempt still waits for: frames of its last marks and parts being written.
/// The trace writer folds the flow's trace once they are on disk.
pub struct PendingParts {
    films: Vec<Arc<Film>>,
    marks: Vec<tokio::sync::oneshot::Receiver<()>>,
    writes: Vec<tokio::task::JoinHandle<()>>,
    /// When the attempt's marks were last stamped.
    closed_at: f64,
    /// When every frame painted before a stamp must have arrived.
    settle_by: f64,
    /// Frames taken and reused (`--trace on`), for the debug log.
    counts: Option<(u32, u32)>,
}

impl PendingParts {
    /// Nothing is on its way: the trace can be folded at once.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty() && self.writes.iter().all(|w| w.is_finished())
    }

    /// Waits until every mark has its frame on disk: frames painted before a mark's stamp may
    /// still be in transit (their measured lag); after that the page did not repaint, and the
    /// last frame is the mark's. Then waits for the parts being written.
    pub async fn settle(mut self) {
        let started = std::time::Instant::now();
        let wait = (self.settle_by - film::now()).max(0.0);
        let until = tokio::time::Instant::now() + Duration::from_secs_f64(wait);
        if tokio::time::timeout_at(until, wait_all(&mut self.marks))
            .await
            .is_err()
        {
            for f in &self.films {
                film::write(f.expire_stamped_by(self.closed_at));
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), wait_all(&mut self.marks)).await;
        for handle in self.writes.drain(..) {
            let _ = handle.await;
        }
        if let Some((taken, reused)) = self.counts {
            let frames: u64 = self.films.iter().map(|f| f.frames()).sum();
            let waited_ms = started.elapsed().as_millis() as u64;
            tracing::debug!(
                taken,
                reused,
                frames,
                waited_ms,
                "trace frames of the attempt; screencast frames received (all pages so far)"
            );
        }
    }
}

/// Waits for each receiver in turn, dropping those done (so a timeout can resume the wait).
async fn wait_all(marks: &mut Vec<tokio::sync::oneshot::Receiver<()>>) {
    while let Some(rx) = marks.last_mut() {
        let _ = rx.await;
        marks.pop();
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
