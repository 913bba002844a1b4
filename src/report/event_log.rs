//! `events.jsonl`: every event of the run, one JSON object per line, appended as it arrives.
//!
//! It is a log, not an artifact written whole: each line is written and flushed when its event
//! arrives, so a crash leaves a valid prefix. Every other output can be rebuilt from it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ReportError;
use crate::events::{EventSink, RunEvent};

/// The event log's file name inside the output directory.
pub const EVENT_LOG_FILE: &str = "events.jsonl";

pub struct EventLogWriter {
    path: PathBuf,
    file: Option<BufWriter<File>>,
}

impl EventLogWriter {
    pub fn new(output_dir: &Path) -> Self {
        Self {
            path: output_dir.join(EVENT_LOG_FILE),
            file: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_line(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        let mut line = serde_json::to_vec(event).map_err(ReportError::Json)?;
        line.push(b'\n');
        let path = &self.path;
        let err = |source| ReportError::Write {
            path: path.clone(),
            source,
        };
        if self.file.is_none() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(err)?;
            }
            self.file = Some(BufWriter::new(File::create(path).map_err(err)?));
        }
        if let Some(file) = self.file.as_mut() {
            file.write_all(&line).map_err(err)?;
            file.flush().map_err(err)?;
        }
        Ok(())
    }
}

impl EventSink for EventLogWriter {
    fn on_event(&mut self, event: &RunEvent) -> anyhow::Result<()> {
        self.write_line(event)?;
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(mut file) = self.file.take() {
            let err = |source| ReportError::Write {
                path: self.path.clone(),
                source,
            };
            file.flush().map_err(err)?;
            file.get_ref().sync_all().map_err(err)?;
        }
        Ok(())
    }
}
