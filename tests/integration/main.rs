//! Integration tests: one binary, a module per area.
mod e2e;
mod flowfile_check;
mod report;
mod support;
