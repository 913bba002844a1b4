//! Secrets out of every artifact and log line.
//!
//! The executor registers every secret value as soon as it knows it (the E2E secret at start,
//! an OTP or magic link the moment it is extracted, cookies when read) and runs every string it
//! puts into an event, a report or a log through [`Redactor::redact`]. Redacting at the source
//! means reporters never see a secret, so no reporter can leak one.

use std::sync::{Arc, RwLock};

pub const REDACTED: &str = "[redacted]";

/// A shared, growing set of secret values. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
    /// Under GitHub Actions every secret is also masked in the job log (`::add-mask::`), the
    /// moment it is known, so even output that escapes redaction stays hidden.
    github_mask: bool,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { .. }")
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor {
            secrets: Arc::default(),
            github_mask: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        }
    }

    /// Registers a secret. Values shorter than 4 characters are ignored: redacting them would
    /// mangle ordinary text, and no real secret is that short.
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < 4 {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        if !secrets.iter().any(|s| s == secret) {
            if self.github_mask {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "::add-mask::{secret}");
                let _ = out.flush();
            }
            secrets.push(secret.to_owned());
            // Longest first, so a secret containing another is replaced whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        // URL-encoded forms show up in logged URLs.
        let encoded = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
        if encoded != secret && !secrets.contains(&encoded) {
            secrets.push(encoded);
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Replaces every registered secret in `text`.
    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    /// Redacts every string inside a JSON value.
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.redact_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_registered_secrets_and_their_url_encoding() {
        let r = Redactor::new();
        r.add("s3cr3t/with+plus");
        r.add("ab"); // too short: ignored
        let line = "GET /x?token=s3cr3t%2Fwith%2Bplus header=s3cr3t/with+plus ab";
        assert_eq!(
            r.redact(line),
            "GET /x?token=[redacted] header=[redacted] ab"
        );
    }

    #[test]
    fn redacts_inside_json() {
        let r = Redactor::new();
        r.add("123456");
        let v = serde_json::json!({"a": ["code 123456"], "b": 123456});
        assert_eq!(
            r.redact_json(&v),
            serde_json::json!({"a": ["code [redacted]"], "b": 123456})
        );
    }
}
