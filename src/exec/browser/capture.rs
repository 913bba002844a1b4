//! Screenshots and trace frames: secrets masked first, frames as JPEG, a trace frame captured
//! over BiDi while the flow goes on (any command that can change the page waits for it).

use super::*;

/// Chrome flags that make screenshots the same from machine to machine (with the same
/// Chromium and fonts): one device pixel per CSS pixel whatever the display, and no
/// scrollbars, whose look and width differ between platforms and themes.
pub const STABLE_RENDERING_ARGS: &[&str] = &["--force-device-scale-factor=1", "--hide-scrollbars"];

impl BrowserSession {
    /// From now on, mask the values of `redactor` in this session's screenshots (a secret
    /// was typed into one of its pages). Costs one round trip per screenshot, two when
    /// something was masked.
    pub async fn mask_secrets_in_screenshots(&self, redactor: &crate::redact::Redactor) {
        let _ = self.secret_mask.set(redactor.clone());
        // A screencast cannot mask: its frames stop here, trace frames are captured masked
        // until a capture finds no secret on the page (`trace_frame`). A mark no frame has
        // served yet gets a frame taken now, while the page does not show the secret (one
        // capture, only in a traced flow that types a secret).
        self.frames_masked
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let Some(bidi) = &self.bidi else { return };
        let now = crate::exec::film::now();
        let look = match bidi.films_waiting() {
            true => self.cdp_jpeg(TRACE_JPEG_QUALITY).await.map(|jpeg| {
                use base64::Engine;
                std::sync::Arc::from(base64::engine::general_purpose::STANDARD.encode(jpeg))
            }),
            false => None,
        };
        let context = self.top_context().await;
        bidi.stop_films(now, context.as_deref(), look);
    }

    /// The screencast of the current page that `--trace on` takes its frames from (Chrome
    /// over BiDi, started on first use), while the page shows no secret typed in this session.
    /// `FLOWS_TRACE_SCREENCAST=0` turns it off (frames are then captured per step).
    pub(crate) async fn film(&self) -> Option<std::sync::Arc<crate::exec::film::Film>> {
        let masked = self.frames_masked.load(std::sync::atomic::Ordering::SeqCst);
        if !self.chrome_cdp || masked || !screencast_allowed() {
            return None;
        }
        let bidi = self.bidi.as_ref()?;
        let context = self.top_context().await?;
        let film = bidi.film(&context, TRACE_JPEG_QUALITY).await?;
        film.usable().then_some(film)
    }

    /// The page no longer shows the secret typed into it: the screencast, stopped when it was
    /// typed, takes the trace frames again (saves a capture per step for the rest of the run).
    async fn resume_film(&self) {
        use std::sync::atomic::Ordering;
        if !self.frames_masked.load(Ordering::SeqCst) || !screencast_allowed() {
            return;
        }
        let (Some(bidi), Some(context)) = (&self.bidi, self.top_context().await) else {
            return;
        };
        if bidi.resume_film(&context, TRACE_JPEG_QUALITY).await {
            tracing::debug!(user = %self.user, "no secret on the page: screencast resumed");
            self.frames_masked.store(false, Ordering::SeqCst);
        }
    }

    /// Masks the secrets the page shows; `true` when something was masked (then call
    /// [`Self::unmask_secrets`] after the screenshot). A failure masks nothing.
    pub(super) async fn mask_secrets(&self) -> bool {
        self.mask_secrets_counted().await.is_some_and(|n| n > 0)
    }

    /// How many things showing a secret were masked (`Some(0)`: the page shows none, or no
    /// secret was typed); `None` when the page could not be asked.
    async fn mask_secrets_counted(&self) -> Option<u64> {
        let Some(redactor) = self.secret_mask.get() else {
            return Some(0);
        };
        let secrets = redactor.secrets();
        self.execute_value(SECRET_MASK_JS, vec![json!("mask"), json!(secrets)])
            .await
            .ok()
            .and_then(|v| v.as_u64())
    }

    pub(super) async fn unmask_secrets(&self) {
        let _ = self
            .execute_value(SECRET_MASK_JS, vec![json!("unmask")])
            .await;
    }

    /// PNG bytes of the viewport, secrets masked (see [`Self::mask_secrets_in_screenshots`]).
    pub async fn screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        let masked = self.mask_secrets().await;
        let shot = self.viewport_png().await;
        if masked {
            self.unmask_secrets().await;
        }
        shot
    }

    /// A trace frame of the viewport, secrets masked: JPEG encoded by the browser where it can,
    /// in flight over BiDi when no secret had to be masked, else CDP `Page.captureScreenshot`
    /// (one round trip, no PNG encoded or decoded anywhere), else WebDriver's PNG for the
    /// caller to re-encode.
    pub async fn trace_frame(&self) -> Result<Frame, BrowserError> {
        let counted = self.mask_secrets_counted().await;
        let masked = counted.is_some_and(|n| n > 0);
        if counted == Some(0) {
            // Nothing on the page shows a secret: the capture need not be awaited, and the
            // next frames can come from the screencast again.
            let capture = self.start_trace_frame().await;
            self.resume_film().await;
            if let Some(capture) = capture {
                return Ok(Frame::InFlight(capture));
            }
        }
        let shot = match self.cdp_jpeg(TRACE_JPEG_QUALITY).await {
            Some(jpeg) => Ok(Frame::Jpeg(jpeg)),
            None => self.viewport_png().await.map(Frame::Png),
        };
        if masked {
            self.unmask_secrets().await;
        }
        shot
    }

    /// The viewport as JPEG through Chrome's CDP passthrough; `None` when the browser or the
    /// driver cannot (then the W3C screenshot is the fallback).
    pub async fn cdp_jpeg(&self, quality: u8) -> Option<Vec<u8>> {
        self.cdp_capture(json!({"format": "jpeg", "quality": quality, "optimizeForSpeed": true}))
            .await
    }

    /// CDP `Page.captureScreenshot` with these parameters (decoded bytes), Chrome only.
    pub async fn cdp_capture(&self, params: Value) -> Option<Vec<u8>> {
        if !self.chrome_cdp {
            return None;
        }
        let body = json!({"cmd": "Page.captureScreenshot", "params": params});
        match self
            .cmd(http::Method::POST, "goog/cdp/execute", Some(body))
            .await
        {
            Ok(v) => {
                use base64::Engine;
                let data = v.get("data").and_then(Value::as_str)?;
                base64::engine::general_purpose::STANDARD.decode(data).ok()
            }
            Err(e) => {
                tracing::debug!("cdp captureScreenshot unavailable: {e}");
                None
            }
        }
    }

    /// The viewport through WebDriver BiDi `browsingContext.captureScreenshot` in the given
    /// image format (`"image/jpeg"`), for the current window; `None` without BiDi.
    pub async fn bidi_screenshot(&self, mime: &str, quality: f64) -> Option<Vec<u8>> {
        let bidi = self.bidi.as_ref()?;
        let context = self.current_window().await.ok()?;
        bidi.capture_screenshot_owned(context, mime, quality)
            .await
            .ok()
    }

    /// Starts a trace frame (JPEG) of the top-level page over WebDriver BiDi and returns at
    /// once: the capture waits for the browser's next frame while the runner goes on, and
    /// every command that may change the page first waits for it (see [`Self::settle`]), so
    /// the frame shows the page as it was when asked. `None` without BiDi.
    pub(super) async fn start_trace_frame(
        &self,
    ) -> Option<tokio::task::JoinHandle<Option<Vec<u8>>>> {
        let bidi = self.bidi.as_ref()?;
        let context = self.top_context().await?;
        // One capture in flight at a time.
        self.settle().await;
        let capture = bidi.capture_screenshot_owned(
            context,
            "image/jpeg",
            f64::from(TRACE_JPEG_QUALITY) / 100.0,
        );
        let (done, in_flight) = tokio::sync::watch::channel(false);
        if let Ok(mut slot) = self.frame_in_flight.lock() {
            *slot = Some(in_flight);
        }
        Some(tokio::spawn(async move {
            let shot = capture.await;
            let _ = done.send(true);
            match shot {
                Ok(jpeg) => Some(jpeg),
                Err(e) => {
                    tracing::debug!("trace frame over BiDi failed: {e}");
                    None
                }
            }
        }))
    }

    /// The page may change from here on: screencast marks are stamped (see `exec::film`), and
    /// a trace frame still being captured is waited for (at most 2 s: a capture that hangs, say
    /// behind a dialog, must not hold the flow).
    pub(super) async fn settle(&self) {
        if let Some(bidi) = &self.bidi {
            bidi.stamp_films();
        }
        let in_flight = self.frame_in_flight.lock().ok().and_then(|mut s| s.take());
        if let Some(mut rx) = in_flight {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|done| *done)).await;
        }
    }

    /// The BiDi browsing context of the current top-level window (its WebDriver window
    /// handle), asked once and kept until the session switches or closes windows.
    pub(super) async fn top_context(&self) -> Option<String> {
        if let Some(c) = self.top_context.lock().ok().and_then(|c| c.clone()) {
            return Some(c);
        }
        let handle = self.current_window().await.ok()?;
        if let Ok(mut c) = self.top_context.lock() {
            *c = Some(handle.clone());
        }
        Some(handle)
    }

    pub(super) fn forget_top_context(&self) {
        if let Ok(mut c) = self.top_context.lock() {
            *c = None;
        }
    }

    pub(super) async fn viewport_png(&self) -> Result<Vec<u8>, BrowserError> {
        let _turn = self.enter().await.map_err(BrowserError::from_cmd)?;
        let _timed = self.tick();
        self.client
            .screenshot()
            .await
            .map_err(BrowserError::from_cmd)
    }

    /// PNG bytes of the whole page (Chrome: CDP `Page.captureScreenshot` beyond the viewport),
    /// secrets masked.
    pub async fn full_page_screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        let masked = self.mask_secrets().await;
        let shot = self.full_page_png().await;
        if masked {
            self.unmask_secrets().await;
        }
        shot
    }

    pub(super) async fn full_page_png(&self) -> Result<Vec<u8>, BrowserError> {
        if self.chrome_cdp {
            let body = json!({"cmd": "Page.captureScreenshot", "params": {"format": "png", "captureBeyondViewport": true}});
            if let Ok(v) = self
                .cmd(http::Method::POST, "goog/cdp/execute", Some(body))
                .await
            {
                if let Some(data) = v.get("data").and_then(Value::as_str) {
                    use base64::Engine;
                    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) {
                        return Ok(bytes);
                    }
                }
            }
        }
        self.viewport_png().await
    }

    /// PNG for `expect_screenshot`, secrets masked: the viewport, the whole page, or `clip`
    /// (x, y, width, height in CSS pixels of the document). Chrome captures a clip itself
    /// (CDP, beyond the viewport too); elsewhere the viewport comes back whole and the
    /// second value is `false`, for the caller to crop.
    pub async fn visual_png(
        &self,
        clip: Option<[f64; 4]>,
        full_page: bool,
    ) -> Result<(Vec<u8>, bool), BrowserError> {
        let masked = self.mask_secrets().await;
        let shot = match clip {
            Some([x, y, width, height]) => {
                let params = json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1},
                });
                match self.cdp_capture(params).await {
                    Some(png) => Ok((png, true)),
                    None => self.viewport_png().await.map(|png| (png, false)),
                }
            }
            None if full_page => self.full_page_png().await.map(|png| (png, true)),
            None => self.viewport_png().await.map(|png| (png, true)),
        };
        if masked {
            self.unmask_secrets().await;
        }
        shot
    }
}

fn screencast_allowed() -> bool {
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOWED.get_or_init(|| std::env::var("FLOWS_TRACE_SCREENCAST").map_or(true, |v| v != "0"))
}
