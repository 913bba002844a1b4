//! Integration tests: one binary, a module per area.
mod flowfile_check;
mod report;
mod e2e;
mod support;
