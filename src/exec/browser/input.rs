//! The act of an action: pointer (W3C Perform Actions), text (Chrome's `Input.insertText` when
//! it can, else key actions), key chords, files for an upload.

use super::*;

impl BrowserSession {
    /// Moves the pointer to top-level viewport coordinates (one round trip).
    pub async fn hover_at(&self, x: f64, y: f64) -> Result<(), BrowserError> {
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": [
                {"type": "pointerMove", "duration": 0, "origin": "viewport",
                 "x": x.round() as i64, "y": y.round() as i64}]}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Presses at `from`, moves to `to` in small steps, releases (one round trip). The pause
    /// after pressing and the many small moves let Chrome start an HTML5 drag as it does for a
    /// person; pointer-event drag code sees the same moves.
    pub async fn drag(&self, from: (f64, f64), to: (f64, f64)) -> Result<(), BrowserError> {
        let at = |x: f64, y: f64, duration: u64| {
            json!({"type": "pointerMove", "duration": duration, "origin": "viewport",
                   "x": x.round() as i64, "y": y.round() as i64})
        };
        let mut actions = vec![
            at(from.0, from.1, 0),
            json!({"type": "pointerDown", "button": 0}),
            json!({"type": "pause", "duration": 100}),
        ];
        const STEPS: u32 = 20;
        for i in 1..=STEPS {
            let t = f64::from(i) / f64::from(STEPS);
            actions.push(at(
                from.0 + (to.0 - from.0) * t,
                from.1 + (to.1 - from.1) * t,
                15,
            ));
        }
        actions.push(json!({"type": "pause", "duration": 100}));
        actions.push(json!({"type": "pointerUp", "button": 0}));
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// A pointer click at viewport coordinates (one round trip).
    pub async fn click_at(&self, x: f64, y: f64, clicks: u32) -> Result<(), BrowserError> {
        let mut actions = vec![
            json!({"type": "pointerMove", "duration": 0, "origin": "viewport",
            "x": x.round() as i64, "y": y.round() as i64}),
        ];
        for _ in 0..clicks.max(1) {
            actions.push(json!({"type": "pointerDown", "button": 0}));
            actions.push(json!({"type": "pointerUp", "button": 0}));
        }
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Types text into the focused element: Chrome's `Input.insertText` (one round trip, any
    /// length) when available, else W3C key actions.
    pub async fn insert_text(&self, text: &str) -> Result<(), BrowserError> {
        if self.chrome_cdp {
            let body = json!({"cmd": "Input.insertText", "params": {"text": text}});
            match self
                .cmd(http::Method::POST, "goog/cdp/execute", Some(body))
                .await
            {
                Ok(_) => return Ok(()),
                Err(BrowserError::Lost(e)) => return Err(BrowserError::Lost(e)),
                Err(e) => tracing::debug!("cdp insertText unavailable, using key actions: {e}"),
            }
        }
        let mut actions = Vec::new();
        for ch in text.chars() {
            actions.push(json!({"type": "keyDown", "value": ch.to_string()}));
            actions.push(json!({"type": "keyUp", "value": ch.to_string()}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Presses a key or chord (`Control+A`) with W3C key actions.
    pub async fn press(&self, chord: &str) -> Result<(), BrowserError> {
        // `flows check` refuses a written chord it cannot parse; one from a variable ends here.
        let parsed = parse_chord(chord).map_err(|e| {
            BrowserError::Command(format!(
                "cannot press `{chord}`: {e}; keys are {}",
                key_names()
            ))
        })?;
        let shift = parsed
            .iter()
            .any(|k| matches!(k, Key::Named { name: "Shift", .. }));
        let mut keys: Vec<String> = parsed.iter().map(|k| k.value().to_string()).collect();
        // `Control+K` means the K key, not Shift+k: drivers type an upper-case letter with Shift.
        if let (true, false, Some(last)) = (parsed.len() > 1, shift, keys.last_mut()) {
            if last.chars().count() == 1 && last.chars().all(|c| c.is_ascii_uppercase()) {
                *last = last.to_ascii_lowercase();
            }
        }
        let mut actions = Vec::new();
        for k in &keys {
            actions.push(json!({"type": "keyDown", "value": k}));
        }
        for k in keys.iter().rev() {
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd(http::Method::POST, "actions", Some(body)).await?;
        Ok(())
    }

    /// Sets the files of a file input (W3C Element Send Keys with newline-separated paths).
    pub async fn set_files(&self, element: &Value, files: &[PathBuf]) -> Result<(), BrowserError> {
        let id = element
            .get(W3C_ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                BrowserError::Command(format!(
                    "the page returned no element reference (got {element})"
                ))
            })?;
        let text = files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        self.cmd(
            http::Method::POST,
            &format!("element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await?;
        Ok(())
    }
}
