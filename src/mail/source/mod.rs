//! Where captured mail comes from: one trait, one file per source, chosen by config.

mod config;
mod http;
mod mail_source;
mod maildev;
mod mailpit;
mod staging;

pub use config::{build_source, MailSourceConfig, DEFAULT_STAGING_HEADER, DEFAULT_STAGING_PATH};
pub use mail_source::{MailSource, RawMail, SourceHints};
pub use maildev::MailDevSource;
pub use mailpit::MailpitSource;
pub use staging::StagingSource;
