//! `flows`: a declarative end-to-end flow runner.
//!
//! Data flows one way: config → flow files (parse + check) → plan → executor → event stream →
//! reporters. See docs/architecture.md.

// Not `forbid`: exec::process has the one unsafe block (pre_exec), allowed there by name; the
// workspace denies unsafe code everywhere else.
#![deny(unsafe_code)]

pub mod artifact;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod events;
pub mod exec;
pub mod exit_code;
pub mod flowfile;
pub mod gate;
pub mod human;
pub mod init;
pub mod mail;
pub mod net;
pub mod plan;
pub mod realtime;
pub mod record;
pub mod redact;
pub mod report;
pub mod state;
#[cfg(test)]
mod test_access;
pub mod trace;
pub mod visual;
