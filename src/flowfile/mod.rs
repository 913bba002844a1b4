//! Flow files: parse YAML into a typed tree with source locations, check it, render errors.
//!
//! Owns everything that can be known about a suite before anything runs. Knows nothing about
//! browsers, HTTP or reports (it could be its own crate, like hurl_core).

pub mod ast;
pub mod browser_settings;
pub mod check;
pub mod classify;
pub mod diagnostic;
pub mod duration;
pub mod keys;
pub mod locate;
pub mod metric_assertion;
pub mod parse;
pub mod roles;
pub mod schema;
pub mod size;
pub mod span;
pub mod suggest;
pub mod template;
pub mod text;
