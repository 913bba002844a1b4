//! Running a plan: processes, the browser, steps, and the event stream.
//!
//! Owns everything that has side effects during a run. Reads config and checked flows; emits
//! events; never formats output for people.

pub mod bidi;
pub mod browser;
pub mod claims;
mod film;
pub mod health;
pub mod interaction;
pub mod orphans;
pub mod process;
pub mod run;
pub mod saved_state;
mod signal;
pub mod step;
mod trace_capture;
mod vars;
pub mod webserver;
