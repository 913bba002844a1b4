//! Which mail source a suite reads, as the config module embeds it (`[mail]` in flows.toml).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{MailDevSource, MailSource, MailpitSource, StagingSource};

/// The staging contract's mail report path.
pub const DEFAULT_STAGING_PATH: &str = "/staging/e2e/mail-report";
/// The staging contract's secret header.
pub const DEFAULT_STAGING_HEADER: &str = "X-Staging-E2E-Secret";

/// A mail source. Written with a `kind`:
///
/// ```toml
/// [mail]
/// kind = "staging_endpoint"      # or "maildev" / "mailpit"
/// base_url = "https://staging.example.com"
/// secret = "…"                   # usually from STAGING_E2E_SECRET
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailSourceConfig {
    /// The app's `GET /staging/e2e/mail-report`.
    StagingEndpoint {
        /// The app's (API) origin.
        base_url: String,
        #[serde(default = "default_path")]
        path: String,
        #[serde(default = "default_header")]
        header: String,
        secret: String,
    },
    /// A MailDev web API, e.g. `http://127.0.0.1:1080`.
    #[serde(rename = "maildev")]
    MailDev { url: String },
    /// A Mailpit web API, e.g. `http://127.0.0.1:8025`.
    Mailpit { url: String },
}

fn default_path() -> String {
    DEFAULT_STAGING_PATH.to_owned()
}

fn default_header() -> String {
    DEFAULT_STAGING_HEADER.to_owned()
}

impl fmt::Debug for MailSourceConfig {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailSourceConfig::StagingEndpoint {
                base_url,
                path,
                header,
                secret: _,
            } => f
                .debug_struct("StagingEndpoint")
                .field("base_url", base_url)
                .field("path", path)
                .field("header", header)
                .field("secret", &"<redacted>")
                .finish(),
            MailSourceConfig::MailDev { url } => {
                f.debug_struct("MailDev").field("url", url).finish()
            }
            MailSourceConfig::Mailpit { url } => {
                f.debug_struct("Mailpit").field("url", url).finish()
            }
        }
    }
}

/// The run's mail sources, one per configuration, kept for the whole run: what a source
/// learnt (when the runner first saw each message, the messages it parsed, its event stream)
/// serves every later poll and step.
#[derive(Default)]
pub struct MailSources(
    tokio::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<dyn MailSource>>>,
);

impl MailSources {
    /// The source `cfg` names, built (and its event stream started) on first use.
    pub async fn get(
        &self,
        cfg: &MailSourceConfig,
        http: &crate::net::Http,
    ) -> std::sync::Arc<dyn MailSource> {
        // The secret is left out of the key: a run has one.
        let key = match cfg {
            MailSourceConfig::StagingEndpoint {
                base_url,
                path,
                header,
                ..
            } => format!("staging\0{base_url}\0{path}\0{header}"),
            MailSourceConfig::MailDev { url } => format!("maildev\0{url}"),
            MailSourceConfig::Mailpit { url } => format!("mailpit\0{url}"),
        };
        let mut sources = self.0.lock().await;
        if let Some(s) = sources.get(&key) {
            return s.clone();
        }
        let source: std::sync::Arc<dyn MailSource> = match cfg {
            MailSourceConfig::MailDev { url } => {
                std::sync::Arc::new(MailDevSource::watching(http.clone(), url.clone()).await)
            }
            MailSourceConfig::Mailpit { url } => {
                std::sync::Arc::new(MailpitSource::watching(http.clone(), url.clone()).await)
            }
            MailSourceConfig::StagingEndpoint { .. } => build_source(cfg, http.clone()).into(),
        };
        sources.insert(key, source.clone());
        source
    }
}

/// The source a config names, polling only. URLs are checked on first use (errors name the
/// source).
pub fn build_source(cfg: &MailSourceConfig, http: crate::net::Http) -> Box<dyn MailSource> {
    match cfg {
        MailSourceConfig::StagingEndpoint {
            base_url,
            path,
            header,
            secret,
        } => Box::new(StagingSource::new(
            http,
            base_url.clone(),
            path.clone(),
            header.clone(),
            secret.clone(),
        )),
        MailSourceConfig::MailDev { url } => Box::new(MailDevSource::new(http, url.clone())),
        MailSourceConfig::Mailpit { url } => Box::new(MailpitSource::new(http, url.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserialises_each_kind_with_defaults() {
        let c: MailSourceConfig = toml::from_str(
            "kind = \"staging_endpoint\"\nbase_url = \"http://h\"\nsecret = \"s3cr3t\"\n",
        )
        .expect("staging");
        assert_eq!(
            c,
            MailSourceConfig::StagingEndpoint {
                base_url: "http://h".into(),
                path: DEFAULT_STAGING_PATH.into(),
                header: DEFAULT_STAGING_HEADER.into(),
                secret: "s3cr3t".into(),
            }
        );
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let c: MailSourceConfig =
            toml::from_str("kind = \"maildev\"\nurl = \"http://h:1080\"\n").expect("maildev");
        assert_eq!(
            c,
            MailSourceConfig::MailDev {
                url: "http://h:1080".into()
            }
        );
        let c: MailSourceConfig =
            toml::from_str("kind = \"mailpit\"\nurl = \"http://h:8025\"\n").expect("mailpit");
        assert_eq!(
            build_source(&c, crate::net::Http::default()).name(),
            "mailpit"
        );
    }
}
