//! `--trace on` frames from Chrome's screencast instead of one capture per step.
//!
//! A capture costs ~50 ms of Chrome drawing its next frame, and an act cannot start before it
//! is drawn (docs/performance.md). A screencast (`Page.startScreencast`) pushes a JPEG whenever
//! the page repaints, with the time it was painted; nothing on a step's path waits for it.
//!
//! A step boundary (the "after" of one step, the "before" of the next) is a *mark*: opened
//! when a step ends, stamped with a time when the page is next allowed to change (the next
//! command that can change the page, see `BrowserSession::settle`) or when the next step
//! ends without changing it. Its frame is the last one painted before that time: the page as
//! it was then. Frames arrive in paint order, so a mark is settled as soon as a later frame
//! arrives; a mark no later frame settles (the page did not repaint) is settled with the last
//! frame once frames in transit must have arrived (`max lag`, measured per frame).
//!
//! This module only keeps the bookkeeping (no I/O, no clock): the caller passes times and
//! writes what [`Settled`] names.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// How long after a step's end a mark that nothing else stamps is taken, at most: what the
/// step did is painted within a frame or two.
pub const PAINT_GRACE_S: f64 = 0.05;
/// Frames in transit take this long at least to count as lost (lag is also measured).
const MIN_LAG_S: f64 = 0.02;
const MAX_LAG_S: f64 = 0.25;
/// A frame whose paint time is this far from its arrival means the browser's clock is not
/// ours (a remote browser): its times cannot be compared with the runner's.
const CLOCK_SKEW_S: f64 = 2.0;

/// One screencast (one top-level page): its last frame and the marks waiting for a frame.
#[derive(Default)]
pub struct Film {
    reel: Mutex<Reel>,
}

#[derive(Default)]
struct Reel {
    /// The last frame received: paint time (epoch seconds) and base64 JPEG as Chrome sent it.
    latest: Option<(f64, Arc<str>)>,
    marks: Vec<Mark>,
    /// The largest arrival lag seen recently (seconds).
    lag: f64,
    /// Frames painted from this time on are dropped (a secret may be on the page).
    stopped_at: Option<f64>,
    /// Frames painted before this time are dropped (the screencast was resumed then).
    resumed_at: Option<f64>,
    /// The browser's clock disagrees with ours: marks cannot be placed.
    skewed: bool,
    frames: u64,
}

struct Mark {
    path: PathBuf,
    opened_at: f64,
    stamp: Option<f64>,
    done: oneshot::Sender<()>,
}

/// A mark's frame: write `jpeg_base64` (decoded) to `path`, then send on `done`.
pub struct Settled {
    pub path: PathBuf,
    pub jpeg_base64: Arc<str>,
    pub done: oneshot::Sender<()>,
}

impl Film {
    pub fn new() -> Arc<Film> {
        Arc::new(Film::default())
    }

    fn reel(&self) -> std::sync::MutexGuard<'_, Reel> {
        self.reel.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether marks can be placed on this film: it has frames on our clock and was not stopped.
    pub fn usable(&self) -> bool {
        let r = self.reel();
        !r.skewed && r.stopped_at.is_none()
    }

    /// Opens a mark at `now` whose frame goes to `path`; the receiver fires once it is
    /// written (or is dropped when no frame could be given).
    pub fn open(&self, path: PathBuf, now: f64) -> oneshot::Receiver<()> {
        let (done, rx) = oneshot::channel();
        self.reel().marks.push(Mark {
            path,
            opened_at: now,
            stamp: None,
            done,
        });
        rx
    }

    /// The page may change from `now` on: every open mark shows the page as it is before.
    pub fn stamp_open(&self, now: f64) {
        for m in self.reel().marks.iter_mut().filter(|m| m.stamp.is_none()) {
            m.stamp = Some(now);
        }
    }

    /// Nothing will stamp the open marks (the flow ends, or another user acts next): each
    /// shows the page as it was shortly after it opened.
    pub fn close(&self, now: f64) {
        for m in self.reel().marks.iter_mut().filter(|m| m.stamp.is_none()) {
            m.stamp = Some(now.min(m.opened_at + PAINT_GRACE_S));
        }
    }

    /// Stops taking frames from `now` (a secret is about to be typed): open marks show the
    /// page as it is, frames painted later are dropped. `look` is a frame of the page taken
    /// now (before the secret is typed), for the marks no frame has served yet.
    pub fn stop(&self, now: f64, look: Option<Arc<str>>) -> Vec<Settled> {
        self.stamp_open(now);
        let mut settled = match look {
            Some(shot) => self.frame(now, now, shot),
            None => Vec::new(),
        };
        let mut r = self.reel();
        settled.extend(r.settle_all());
        r.stopped_at = Some(now);
        settled
    }

    /// The screencast runs again from `now` (the page no longer shows a secret): frames
    /// painted before are dropped, and the last frame, from before the stop, serves no mark.
    pub fn resume(&self, now: f64) {
        let mut r = self.reel();
        r.stopped_at = None;
        r.resumed_at = Some(now);
        r.latest = None;
    }

    /// A frame painted at `painted` arrived at `arrived`: settles every mark stamped at or
    /// before its paint time with the frame before it.
    pub fn frame(&self, painted: f64, arrived: f64, jpeg_base64: Arc<str>) -> Vec<Settled> {
        let mut r = self.reel();
        let lag = arrived - painted;
        if lag.abs() > CLOCK_SKEW_S {
            r.skewed = true;
            return r.settle_all();
        }
        if r.stopped_at.is_some_and(|t| painted >= t) {
            return r.settle_all();
        }
        if r.resumed_at.is_some_and(|t| painted < t) {
            return Vec::new();
        }
        r.frames += 1;
        // A lag decays slowly: one slow frame under load keeps the wait long for a while.
        r.lag = lag.max(r.lag * 0.9);
        let latest = r.latest.clone();
        let mut settled = Vec::new();
        let mut kept = Vec::with_capacity(r.marks.len());
        for m in r.marks.drain(..) {
            match m.stamp {
                Some(stamp) if stamp <= painted => {
                    // Nothing painted before the mark: this frame is the page's first.
                    let shot = latest.as_ref().map_or(&jpeg_base64, |(_, b)| b).clone();
                    settled.push(m.settled(shot));
                }
                _ => kept.push(m),
            }
        }
        r.marks = kept;
        r.latest = Some((painted, jpeg_base64));
        settled
    }

    /// The time after which every stamped mark can be settled by [`Self::expire`]: a frame
    /// painted before its stamp would have arrived. `None` when no mark is stamped.
    pub fn settle_by(&self) -> Option<f64> {
        let r = self.reel();
        let lag = r.lag.clamp(MIN_LAG_S, MAX_LAG_S);
        r.marks
            .iter()
            .filter_map(|m| m.stamp)
            .fold(None, |acc: Option<f64>, s| {
                Some(acc.map_or(s, |a| a.max(s)))
            })
            .map(|s| s + lag)
    }

    /// Settles every stamped mark with the last frame (the page did not repaint since).
    pub fn expire(&self) -> Vec<Settled> {
        self.reel().settle_all()
    }

    /// Settles the marks stamped at or before `t` with the last frame; marks stamped later
    /// (the next flow's, on the same page) wait for their own frame.
    pub fn expire_stamped_by(&self, t: f64) -> Vec<Settled> {
        let mut r = self.reel();
        let (due, later): (Vec<Mark>, Vec<Mark>) = std::mem::take(&mut r.marks)
            .into_iter()
            .partition(|m| m.stamp.is_some_and(|s| s <= t));
        r.marks = due;
        let settled = r.settle_all();
        r.marks.extend(later);
        settled
    }

    /// Whether any mark still waits for a frame.
    pub fn waiting(&self) -> bool {
        !self.reel().marks.is_empty()
    }

    pub fn frames(&self) -> u64 {
        self.reel().frames
    }
}

impl Reel {
    /// Settles stamped marks with the last frame; marks no frame can serve are dropped (their
    /// receivers see it).
    fn settle_all(&mut self) -> Vec<Settled> {
        let latest = self.latest.as_ref().map(|(_, b)| b.clone());
        let (stamped, open): (Vec<Mark>, Vec<Mark>) = std::mem::take(&mut self.marks)
            .into_iter()
            .partition(|m| m.stamp.is_some() || self.skewed);
        self.marks = open;
        match latest {
            Some(shot) if !self.skewed => stamped
                .into_iter()
                .map(|m| m.settled(shot.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl Mark {
    fn settled(self, jpeg_base64: Arc<str>) -> Settled {
        Settled {
            path: self.path,
            jpeg_base64,
            done: self.done,
        }
    }
}

/// Now, as the browser stamps frames: seconds since the Unix epoch.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes settled frames off the async runtime; each mark's receiver fires when its file is on
/// disk.
pub fn write(settled: Vec<Settled>) {
    for s in settled {
        tokio::task::spawn_blocking(move || {
            use base64::Engine;
            if let Ok(jpeg) = base64::engine::general_purpose::STANDARD.decode(&*s.jpeg_base64) {
                let _ = crate::artifact::write_transient(&s.path, &jpeg);
            }
            let _ = s.done.send(());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shot(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    fn names(settled: &[Settled]) -> Vec<(String, String)> {
        settled
            .iter()
            .map(|s| (s.path.display().to_string(), s.jpeg_base64.to_string()))
            .collect()
    }

    #[test]
    fn a_mark_shows_the_last_frame_painted_before_its_stamp() {
        let film = Film::default();
        assert!(film.frame(10.00, 10.01, shot("blank")).is_empty());
        let _rx = film.open("01-after".into(), 10.10);
        assert!(
            film.frame(10.12, 10.13, shot("typed")).is_empty(),
            "unstamped marks wait"
        );
        film.stamp_open(10.20);
        // Painted after the stamp: the next step's act shows here, not in the mark.
        let settled = film.frame(10.25, 10.26, shot("clicked"));
        assert_eq!(names(&settled), [("01-after".into(), "typed".into())]);
        assert!(!film.waiting());
    }

    #[test]
    fn a_mark_no_frame_follows_is_settled_by_expiry_with_the_last_frame() {
        let film = Film::default();
        film.frame(1.0, 1.01, shot("page"));
        let _rx = film.open("02-after".into(), 2.0);
        assert_eq!(film.settle_by(), None, "not stamped yet");
        film.close(2.01);
        let by = film.settle_by().expect("stamped");
        assert!(by > 2.01 && by <= 2.01 + MAX_LAG_S, "{by}");
        assert_eq!(names(&film.expire()), [("02-after".into(), "page".into())]);
    }

    #[test]
    fn close_takes_the_page_shortly_after_the_step_not_when_the_next_user_acts() {
        let film = Film::default();
        film.frame(1.0, 1.01, shot("before"));
        let _rx = film.open("03-after".into(), 2.0);
        film.close(9.0);
        film.frame(2.02, 2.03, shot("painted after the step"));
        // Painted at 3.0, after the grace: settles the mark with the frame before.
        let settled = film.frame(3.0, 3.01, shot("much later"));
        assert_eq!(
            names(&settled),
            [("03-after".into(), "painted after the step".into())]
        );
    }

    #[test]
    fn a_stop_settles_every_mark_before_the_secret_is_typed_and_drops_later_frames() {
        let film = Film::default();
        // A fresh page: no frame yet when the secret is about to be typed.
        let _rx = film.open("01-before".into(), 1.0);
        film.stamp_open(1.1);
        let _rx = film.open("01-after".into(), 1.5);
        let settled = film.stop(2.0, Some(shot("login form, taken now")));
        assert_eq!(
            names(&settled),
            [
                ("01-before".into(), "login form, taken now".into()),
                ("01-after".into(), "login form, taken now".into())
            ]
        );
        assert!(!film.usable());
        // The secret is typed and painted: that frame must never be written.
        assert!(film.frame(2.1, 2.11, shot("secret typed")).is_empty());
        let _rx = film.open("02-after".into(), 2.2);
        film.close(2.2);
        assert!(film
            .expire()
            .iter()
            .all(|s| &*s.jpeg_base64 != "secret typed"));
    }

    #[test]
    fn a_resumed_film_drops_frames_from_before_and_serves_marks_with_new_ones() {
        let film = Film::default();
        film.frame(1.0, 1.01, shot("login form"));
        film.stop(2.0, None);
        // In transit from before the stop or painted while stopped: never kept.
        assert!(film.frame(2.1, 2.11, shot("secret typed")).is_empty());
        film.resume(3.0);
        assert!(film.usable());
        let _rx = film.open("05-before".into(), 3.0);
        film.stamp_open(3.01);
        assert!(
            film.frame(2.5, 3.02, shot("painted before the resume"))
                .is_empty(),
            "dropped, and it settles nothing"
        );
        // The first frame after the resume is the page's first: no frame from before serves.
        let settled = film.frame(3.03, 3.04, shot("dashboard"));
        assert_eq!(names(&settled), [("05-before".into(), "dashboard".into())]);
        let _rx = film.open("05-after".into(), 3.1);
        film.close(3.1);
        assert_eq!(
            names(&film.expire()),
            [("05-after".into(), "dashboard".into())]
        );
    }

    #[test]
    fn a_stop_keeps_the_frame_painted_before_a_mark() {
        let film = Film::default();
        film.frame(1.0, 1.01, shot("dashboard"));
        let _rx = film.open("03-before".into(), 1.5);
        film.stamp_open(1.6);
        let settled = film.stop(2.0, Some(shot("login form")));
        assert_eq!(names(&settled), [("03-before".into(), "dashboard".into())]);
    }

    #[test]
    fn expiring_one_flows_marks_leaves_the_next_flows_waiting() {
        let film = Film::default();
        film.frame(1.0, 1.01, shot("end of flow 1"));
        let _rx = film.open("flow-1/05-after".into(), 2.0);
        film.close(2.0);
        // The next flow starts on the same page before flow 1's marks are expired.
        let _rx = film.open("flow-2/01-before".into(), 2.1);
        film.stamp_open(2.2);
        assert_eq!(
            names(&film.expire_stamped_by(2.0)),
            [("flow-1/05-after".into(), "end of flow 1".into())]
        );
        assert!(film.waiting(), "flow 2's mark waits for a frame of its own");
        let settled = film.frame(2.15, 2.16, shot("flow 2 before its act"));
        assert!(settled.is_empty(), "painted before its stamp: not yet");
        let settled = film.frame(2.3, 2.31, shot("after the act"));
        assert_eq!(
            names(&settled),
            [("flow-2/01-before".into(), "flow 2 before its act".into())]
        );
    }

    #[test]
    fn a_browser_on_another_clock_places_no_marks() {
        let film = Film::default();
        let _rx = film.open("06-after".into(), 100.0);
        film.stamp_open(100.0);
        assert!(film.frame(50.0, 100.1, shot("remote")).is_empty());
        assert!(!film.usable());
        assert!(!film.waiting(), "the mark is dropped, its receiver sees it");
    }

    #[test]
    fn the_first_frame_serves_a_mark_stamped_before_any_paint() {
        let film = Film::default();
        let _rx = film.open("01-before".into(), 1.0);
        film.stamp_open(1.0);
        let settled = film.frame(1.2, 1.21, shot("first paint"));
        assert_eq!(
            names(&settled),
            [("01-before".into(), "first paint".into())]
        );
    }
}
