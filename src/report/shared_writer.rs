//! One terminal writer shared by the reporters that print (the list lines and the GitHub
//! annotations), so their lines never interleave mid-line.

use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub(crate) struct SharedWriter(Arc<Mutex<Box<dyn Write + Send>>>);

impl SharedWriter {
    pub fn new(writer: Box<dyn Write + Send>) -> Self {
        Self(Arc::new(Mutex::new(writer)))
    }

    /// Writes `text` whole and flushes, so a line is on screen when its event is handled.
    pub fn write_str(&self, text: &str) -> std::io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(text.as_bytes())?;
        w.flush()
    }
}
