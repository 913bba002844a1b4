//! Saved captured values: what a flow captured (a ticket number), kept so that a later run that
//! skips that flow (`--no-deps`) can still resolve `{{ ticket }}` in the flows that need it.
//!
//! One file per profile: `<state dir>/state/<profile>/captures.json`, mode 0600. Secret
//! captures (mail codes, links, `secret: true`) are never saved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::saved_session::private_dir;
use super::StateError;

const CAPTURES_FILE: &str = "captures.json";
const CAPTURES_FORMAT_VERSION: u32 = 1;

/// Every flow's last saved captures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SavedCaptures {
    pub version: u32,
    pub flows: BTreeMap<String, FlowCaptures>,
}

/// What one flow captured in its last passing run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowCaptures {
    /// `scheme://host:port` of the base URL the values belong to.
    pub origin: String,
    pub saved_at: String,
    pub run_id: String,
    pub values: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct CaptureStore {
    path: PathBuf,
}

impl CaptureStore {
    /// The store beside the saved sessions of the same profile (`SessionStore::dir`).
    pub fn new(profile_dir: &Path) -> CaptureStore {
        CaptureStore {
            path: profile_dir.join(CAPTURES_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<SavedCaptures, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SavedCaptures::default())
            }
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let saved: SavedCaptures =
            serde_json::from_str(&text).map_err(|source| StateError::Format {
                path: self.path.clone(),
                source,
            })?;
        if saved.version != CAPTURES_FORMAT_VERSION {
            return Ok(SavedCaptures::default());
        }
        Ok(saved)
    }

    /// Replaces one flow's saved values (read, modify, write atomically).
    pub fn save_flow(&self, flow: &str, captures: FlowCaptures) -> Result<(), StateError> {
        let mut all = self.load().unwrap_or_default();
        all.version = CAPTURES_FORMAT_VERSION;
        all.flows.insert(flow.to_owned(), captures);
        let write_err = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            private_dir(dir).map_err(write_err)?;
        }
        let mut bytes =
            serde_json::to_vec_pretty(&all).map_err(|e| write_err(std::io::Error::other(e)))?;
        bytes.push(b'\n');
        crate::artifact::write_atomic_private(&self.path, &bytes).map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_one_flow_without_losing_the_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CaptureStore::new(dir.path());
        assert!(store.load().expect("load").flows.is_empty());
        let one = |v: &str| FlowCaptures {
            origin: "http://x".into(),
            saved_at: "t".into(),
            run_id: "r".into(),
            values: BTreeMap::from([("ticket".to_owned(), v.to_owned())]),
        };
        store.save_flow("create-ticket", one("1001")).expect("save");
        store.save_flow("other", one("7")).expect("save");
        store.save_flow("create-ticket", one("1002")).expect("save");
        let all = store.load().expect("load");
        assert_eq!(all.flows["create-ticket"].values["ticket"], "1002");
        assert_eq!(all.flows["other"].values["ticket"], "7");
    }
}
