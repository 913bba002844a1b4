//! `[mail]`: where mail is read (the staging endpoint, MailDev, Mailpit), the fixed OTP from
//! the environment, the app's clock skew, the origins a link extraction prefers.

use std::time::Duration;

use super::super::env::{nonempty, EnvLookup, ENV_FIXED_OTP};
use super::super::file::MailFile;
use super::super::ConfigError;
use super::{duration, Secret};

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub source: MailSourceKind,
    pub url: Option<String>,
    pub report_path: String,
    pub fixed_otp: Option<Secret>,
    pub clock_skew: Duration,
    /// `[mail] link_origins`, each an origin (`https://app.example`).
    pub link_origins: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailSourceKind {
    StagingEndpoint,
    MailDev,
    Mailpit,
}

pub(super) fn mail(file: MailFile, env: EnvLookup<'_>) -> Result<MailConfig, ConfigError> {
    let source = match file.source.as_deref().unwrap_or("staging_endpoint") {
        "staging_endpoint" => MailSourceKind::StagingEndpoint,
        "maildev" => MailSourceKind::MailDev,
        "mailpit" => MailSourceKind::Mailpit,
        other => {
            return Err(ConfigError::Invalid {
                what: "mail.source".to_owned(),
                message: format!(
                    "unknown source `{other}`; use staging_endpoint, maildev or mailpit"
                ),
            })
        }
    };
    if source != MailSourceKind::StagingEndpoint && file.url.is_none() {
        return Err(ConfigError::Invalid {
            what: "mail.url".to_owned(),
            message: "the maildev and mailpit sources need the catcher's base URL".to_owned(),
        });
    }
    let fixed_otp_env = file
        .fixed_otp_env
        .unwrap_or_else(|| ENV_FIXED_OTP.to_owned());
    let mut link_origins = Vec::new();
    for o in &file.link_origins {
        match url::Url::parse(o) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                link_origins.push(u.origin().ascii_serialization());
            }
            _ => {
                return Err(ConfigError::Invalid {
                    what: "mail.link_origins".to_owned(),
                    message: format!("`{o}` is not an origin; write it as `https://app.example`"),
                })
            }
        }
    }
    Ok(MailConfig {
        link_origins,
        source,
        url: file.url,
        report_path: file
            .report_path
            .unwrap_or_else(|| "/staging/e2e/mail-report".to_owned()),
        fixed_otp: nonempty(env(&fixed_otp_env)).map(|value| Secret {
            value,
            origin: format!("env {fixed_otp_env}"),
        }),
        clock_skew: duration(
            "mail.clock_skew",
            file.clock_skew.as_deref(),
            Duration::ZERO,
        )?,
    })
}
