//! Frames, windows and dialogs of a session, and what the browser computes for an element
//! (accessible name and role).

use super::*;

impl BrowserSession {
    /// Where the current frame's viewport starts in the top-level one, as measured when the
    /// frame was entered (for cross-origin frames, whose page script cannot measure it).
    pub fn frame_offset(&self) -> (f64, f64) {
        self.frame_offset.lock().map(|o| *o).unwrap_or((0.0, 0.0))
    }

    /// Whether pointer actions take coordinates in the current frame's viewport (Firefox:
    /// geckodriver dispatches them in the frame the session is switched to) rather than in the
    /// top-level one (Chrome).
    pub fn pointer_in_frame_coordinates(&self) -> bool {
        self.browser_name.eq_ignore_ascii_case("firefox")
    }

    /// Enters the frame `element` (an element reference from the page script) whose viewport
    /// starts at (`dx`, `dy`) in the current frame's viewport.
    pub async fn enter_frame(&self, element: &Value, dx: f64, dy: f64) -> Result<(), BrowserError> {
        self.cmd(http::Method::POST, "frame", Some(json!({ "id": element })))
            .await?;
        if let Ok(mut o) = self.frame_offset.lock() {
            o.0 += dx;
            o.1 += dy;
        }
        Ok(())
    }

    /// Back to the top-level document (after a step that worked in a frame).
    pub async fn leave_frames(&self) -> Result<(), BrowserError> {
        if let Ok(mut o) = self.frame_offset.lock() {
            *o = (0.0, 0.0);
        }
        self.cmd(http::Method::POST, "frame", Some(json!({ "id": null })))
            .await?;
        Ok(())
    }

    /// The browser's own accessible name of an element (W3C WebDriver Get Computed Label).
    pub async fn computed_label(&self, element: &Value) -> Result<String, BrowserError> {
        let id = element_id(element)?;
        let v = self
            .cmd(
                http::Method::GET,
                &format!("element/{id}/computedlabel"),
                None,
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The browser's own role of an element (W3C WebDriver Get Computed Role).
    pub async fn computed_role(&self, element: &Value) -> Result<String, BrowserError> {
        let id = element_id(element)?;
        let v = self
            .cmd(
                http::Method::GET,
                &format!("element/{id}/computedrole"),
                None,
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The session's main window: the current one when first asked (before any switch).
    pub async fn main_window(&self) -> Result<String, BrowserError> {
        if let Some(h) = self.main_window.lock().ok().and_then(|m| m.clone()) {
            return Ok(h);
        }
        let h = self.current_window().await?;
        if let Ok(mut m) = self.main_window.lock() {
            *m = Some(h.clone());
        }
        Ok(h)
    }

    /// Closes every window but the main one and switches to it, if a `window` step was used.
    pub async fn reset_windows(&self) -> Result<(), BrowserError> {
        let Some(main) = self.main_window.lock().ok().and_then(|m| m.clone()) else {
            return Ok(());
        };
        for h in self.window_handles().await? {
            if h != main {
                self.switch_window(&h).await?;
                self.close_window().await?;
            }
        }
        self.switch_window(&main).await
    }

    /// Handles of the user's windows (in a shared browser, those of the user's context only).
    pub async fn window_handles(&self) -> Result<Vec<String>, BrowserError> {
        let v = self.cmd(http::Method::GET, "window/handles", None).await?;
        let all: Vec<String> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        match &self.in_context {
            Some(ctx) => ctx.own_windows(all).await,
            None => Ok(all),
        }
    }

    pub async fn current_window(&self) -> Result<String, BrowserError> {
        let v = self.cmd(http::Method::GET, "window", None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    pub async fn switch_window(&self, handle: &str) -> Result<(), BrowserError> {
        self.cmd(
            http::Method::POST,
            "window",
            Some(json!({ "handle": handle })),
        )
        .await?;
        Ok(())
    }

    /// Closes the current window.
    pub async fn close_window(&self) -> Result<(), BrowserError> {
        self.cmd(http::Method::DELETE, "window", None).await?;
        Ok(())
    }

    /// The open dialog's message, `None` when no dialog is open.
    pub async fn dialog_text(&self) -> Result<Option<String>, BrowserError> {
        match self.raw_cmd(http::Method::GET, "alert/text", None).await {
            Ok(v) => Ok(Some(v.as_str().unwrap_or_default().to_owned())),
            Err(e) if e.is_no_such_alert() => Ok(None),
            Err(e) => Err(BrowserError::from_cmd(e)),
        }
    }

    /// Answers the open dialog: types `prompt` (if any), then accepts or dismisses.
    pub async fn answer_dialog(
        &self,
        accept: bool,
        prompt: Option<&str>,
    ) -> Result<(), BrowserError> {
        if let Some(text) = prompt {
            self.cmd(
                http::Method::POST,
                "alert/text",
                Some(json!({ "text": text })),
            )
            .await?;
        }
        let path = if accept {
            "alert/accept"
        } else {
            "alert/dismiss"
        };
        self.cmd(http::Method::POST, path, Some(json!({}))).await?;
        Ok(())
    }
}
