//! `flows record`: writes a flow while a person uses the app in a headed browser.
//!
//! Owns the in-page recorder (`recorder.js`, run around the runner's own page.js so each
//! locator is one the runner resolves to the element alone), the choice among locators
//! (`locator`), the messages → steps logic (`recorder`) and the flow's YAML (`flow_file`).
//! Does not own starting things (Xvfb, the app, the driver, the browser: `cli::record`, through
//! `exec`) nor checking the result (`flowfile::check`, as `flows check` does).

pub mod browser;
pub mod flow_file;
pub mod locator;
pub mod recorder;

pub use flow_file::{RecordedFlow, RecordedStep};
pub use recorder::Recorder;
