//! Integration tests: one binary, a module per area.
mod browser_events;
mod cli;
mod debug;
mod e2e;
mod flowfile_check;
mod lab;
mod mail;
mod mail_corpus;
mod realtime;
mod realtime_clients;
mod report;
mod suite_options;
mod support;
mod trace;
