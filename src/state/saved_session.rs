//! Saved browser sessions: one user's cookies and localStorage, saved after a flow passes and
//! restored by a later run that does not run the flows that logged the user in (`--no-deps`).
//!
//! One file per user: `<state dir>/state/<profile>/<user>.json`, mode 0600 in a 0700 directory,
//! written atomically. The values are secrets: `Debug` never prints them, and whoever loads or
//! saves one registers them with the run's redactor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::StateError;

/// Version of the file's shape; a file with another version is ignored (and replaced on save).
pub const SESSION_FORMAT_VERSION: u32 = 1;

/// One cookie as WebDriver's Get All Cookies returns it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCookie {
    pub name: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    #[serde(default, rename = "httpOnly", skip_serializing_if = "Option::is_none")]
    pub http_only: Option<bool>,
    /// Seconds since the Unix epoch; none for a session cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<u64>,
    #[serde(default, rename = "sameSite", skip_serializing_if = "Option::is_none")]
    pub same_site: Option<String>,
}

impl std::fmt::Debug for SavedCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SavedCookie({}=[redacted])", self.name)
    }
}

impl SavedCookie {
    /// From one entry of WebDriver's Get All Cookies.
    pub fn from_webdriver(v: &Value) -> Option<SavedCookie> {
        serde_json::from_value(v.clone()).ok()
    }

    /// The body of WebDriver's Add Cookie. A host-only cookie (domain without a leading dot, as
    /// Chrome reports them) is added without `domain`, so it stays host-only for the page's
    /// host: chromedriver turns an explicit domain into a domain cookie, which an IP host
    /// cannot have.
    pub fn to_webdriver(&self) -> Value {
        let mut c = json!({ "name": self.name, "value": self.value });
        if let Some(p) = &self.path {
            c["path"] = json!(p);
        }
        if let Some(d) = self.domain.as_deref().filter(|d| d.starts_with('.')) {
            c["domain"] = json!(d);
        }
        if let Some(s) = self.secure {
            c["secure"] = json!(s);
        }
        if let Some(h) = self.http_only {
            c["httpOnly"] = json!(h);
        }
        if let Some(e) = self.expiry {
            c["expiry"] = json!(e);
        }
        if let Some(s) = &self.same_site {
            c["sameSite"] = json!(s);
        }
        c
    }

    pub fn expired(&self, now_unix: u64) -> bool {
        self.expiry.is_some_and(|e| e <= now_unix)
    }
}

/// One user's browser state, as saved after a flow passed.
#[derive(Clone, Serialize, Deserialize)]
pub struct SavedSession {
    pub version: u32,
    /// The user key (`[users.KEY]`).
    pub user: String,
    /// The user's e-mail when saved: a session of another account is not reused.
    pub email: String,
    /// `scheme://host:port` of the base URL the cookies belong to.
    pub origin: String,
    /// RFC 3339.
    pub saved_at: String,
    pub run_id: String,
    /// The flow after which it was saved.
    pub flow: String,
    pub cookies: Vec<SavedCookie>,
    #[serde(default)]
    pub local_storage: BTreeMap<String, String>,
}

impl std::fmt::Debug for SavedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SavedSession")
            .field("user", &self.user)
            .field("origin", &self.origin)
            .field("saved_at", &self.saved_at)
            .field("flow", &self.flow)
            .field("cookies", &self.cookies)
            .field("local_storage_keys", &self.local_storage.keys())
            .finish()
    }
}

impl SavedSession {
    /// Values to register with the redactor: every cookie value, and localStorage values long
    /// enough to be tokens (short ones such as `dark` or `true` would mangle ordinary text).
    pub fn secrets(&self) -> Vec<&str> {
        self.cookies
            .iter()
            .map(|c| c.value.as_str())
            .chain(
                self.local_storage
                    .values()
                    .map(String::as_str)
                    .filter(|v| v.len() >= 16),
            )
            .collect()
    }

    /// `name=value; …` of the cookies that have not expired.
    pub fn cookie_header(&self, now_unix: u64) -> String {
        self.cookies
            .iter()
            .filter(|c| !c.expired(now_unix))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Same cookies and storage (what decides whether a save would change anything).
    pub fn same_state(&self, other: &SavedSession) -> bool {
        self.origin == other.origin
            && self.email == other.email
            && self.cookies == other.cookies
            && self.local_storage == other.local_storage
    }
}

/// The saved sessions of one profile: `<state dir>/state/<profile>/`.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
}

impl SessionStore {
    pub fn new(state_dir: &Path, profile: &str) -> SessionStore {
        SessionStore {
            dir: state_dir.join("state").join(file_safe(profile)),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_safe(user)))
    }

    /// The saved session of `user`; `None` when there is none or it has another format version.
    pub fn load(&self, user: &str) -> Result<Option<SavedSession>, StateError> {
        let path = self.path_of(user);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        let value: Value = serde_json::from_str(&text).map_err(|source| StateError::Format {
            path: path.clone(),
            source,
        })?;
        if value.get("version").and_then(Value::as_u64) != Some(u64::from(SESSION_FORMAT_VERSION)) {
            return Ok(None);
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|source| StateError::Format { path, source })
    }

    /// Writes the session (0600, atomically) and returns its path.
    pub fn save(&self, session: &SavedSession) -> Result<PathBuf, StateError> {
        let path = self.path_of(&session.user);
        let write_err = |source| StateError::Write {
            path: path.clone(),
            source,
        };
        private_dir(&self.dir).map_err(write_err)?;
        let mut bytes =
            serde_json::to_vec_pretty(session).map_err(|e| write_err(std::io::Error::other(e)))?;
        bytes.push(b'\n');
        crate::artifact::write_atomic_private(&path, &bytes).map_err(write_err)?;
        Ok(path)
    }

    /// Removes the saved session of `user`; `true` if there was one.
    pub fn remove(&self, user: &str) -> Result<bool, StateError> {
        let path = self.path_of(user);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StateError::Write { path, source }),
        }
    }
}

/// Creates `dir` (and missing parents) readable by the owner only, and tightens `dir` itself if
/// it already existed.
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// A user key or profile name as a file name: anything but `[A-Za-z0-9_-]` becomes `_`.
fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "_".to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> SavedSession {
        SavedSession {
            version: SESSION_FORMAT_VERSION,
            user: "requester".into(),
            email: "r@x.test".into(),
            origin: "http://127.0.0.1:8080".into(),
            saved_at: "2026-01-01T00:00:00Z".into(),
            run_id: "run".into(),
            flow: "otp-login".into(),
            cookies: vec![SavedCookie {
                name: "helpdesk_session".into(),
                value: "c0ffee-secret-value-0123456789".into(),
                path: Some("/".into()),
                domain: Some("127.0.0.1".into()),
                secure: Some(false),
                http_only: Some(true),
                expiry: None,
                same_site: Some("Lax".into()),
            }],
            local_storage: BTreeMap::from([
                ("theme".into(), "dark".into()),
                ("token".into(), "abcdefghijklmnopqrstuvwxyz".into()),
            ]),
        }
    }

    #[cfg(unix)]
    #[test]
    fn saves_owner_only_and_loads_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SessionStore::new(dir.path(), "local");
        assert!(store.load("requester").expect("load").is_none());
        let path = store.save(&session()).expect("save");
        assert_eq!(path, dir.path().join("state/local/requester.json"));
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
        let back = store.load("requester").expect("load").expect("saved");
        assert!(back.same_state(&session()));
        assert!(store.remove("requester").expect("remove"));
        assert!(!store.remove("requester").expect("remove again"));
    }

    #[test]
    fn debug_never_prints_values() {
        let text = format!("{:?}", session());
        assert!(!text.contains("c0ffee"), "{text}");
        assert!(!text.contains("abcdefghij"), "{text}");
    }

    #[test]
    fn secrets_are_cookie_values_and_long_storage_values() {
        let s = session();
        assert_eq!(
            s.secrets(),
            vec![
                "c0ffee-secret-value-0123456789",
                "abcdefghijklmnopqrstuvwxyz"
            ]
        );
    }

    #[test]
    fn host_only_cookies_are_added_without_a_domain() {
        let mut c = session().cookies[0].clone();
        assert!(c.to_webdriver().get("domain").is_none());
        c.domain = Some(".example.com".into());
        assert_eq!(c.to_webdriver()["domain"], ".example.com");
        c.expiry = Some(10);
        assert!(c.expired(10) && !c.expired(9));
    }

    #[test]
    fn names_are_made_file_safe() {
        assert_eq!(file_safe("../etc"), "___etc");
        assert_eq!(file_safe("head-1_b"), "head-1_b");
    }
}
