//! `[sessions]`: whether users' sessions are saved after a flow passes and how a saved one is
//! validated before it is reused.

use super::super::env::nonempty;
use super::super::file::SessionsFile;

/// Saved sessions (`[sessions]`): what `--no-deps` reuses instead of logging in again.
#[derive(Debug, Clone)]
pub struct SessionsConfig {
    /// Save users' cookies and storage after a flow passes.
    pub save: bool,
    /// Answers 2xx only when signed in (`/api/me`); `None`: saved sessions are not validated.
    pub check_url: Option<String>,
}

pub(super) fn sessions(file: SessionsFile) -> SessionsConfig {
    SessionsConfig {
        save: file.save.unwrap_or(true),
        check_url: nonempty(file.check_url),
    }
}
