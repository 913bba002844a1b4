//! Where captured mail comes from: one trait, one file per source, chosen by config.

mod cache;
mod config;
mod http;
mod mail_source;
mod maildev;
mod mailpit;
mod staging;
mod watch;

pub use cache::{Fetched, MailCache, Sighting};
pub use config::{
    build_source, MailSourceConfig, MailSources, DEFAULT_STAGING_HEADER, DEFAULT_STAGING_PATH,
};
pub use mail_source::{Arrival, Listed, MailSource, RawMail, SourceHints};
pub use maildev::MailDevSource;
pub use mailpit::MailpitSource;
pub use staging::StagingSource;
pub use watch::{Protocol, Watch};
