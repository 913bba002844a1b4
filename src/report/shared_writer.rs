//! One terminal writer shared by the reporters that print (the list lines and the GitHub
//! annotations), so their lines never interleave mid-line. Every line goes through the run's
//! redactor on its way out: a line drawn from an event that was emitted before one of its
//! values became a known secret (a step summary, a failure printed again in the closing
//! summary) is redacted with what is known when it is printed.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::redact::Redactor;

#[derive(Clone)]
pub(crate) struct SharedWriter(
    Arc<Mutex<Box<dyn Write + Send>>>,
    Redactor,
    /// The progress line, when one is drawn: cleared around each write and redrawn after.
    Option<indicatif::ProgressBar>,
);

impl SharedWriter {
    pub fn new(writer: Box<dyn Write + Send>, redactor: Redactor) -> Self {
        Self(Arc::new(Mutex::new(writer)), redactor, None)
    }

    /// Every write from now on clears `bar` first and redraws it after.
    pub fn around_progress(mut self, bar: indicatif::ProgressBar) -> Self {
        self.2 = Some(bar);
        self
    }

    /// `text` redacted with every secret known now (for outputs written beside the terminal,
    /// such as the GitHub step summary).
    pub fn redacted(&self, text: &str) -> String {
        self.1.redact(text)
    }

    /// Writes `text` whole and flushes, so a line is on screen when its event is handled.
    pub fn write_str(&self, text: &str) -> std::io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let text = self.1.redact(text);
        let write = || {
            let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
            w.write_all(text.as_bytes())?;
            w.flush()
        };
        match &self.2 {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}
