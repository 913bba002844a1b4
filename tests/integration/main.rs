//! Integration tests: one binary, a module per area.
mod browser_events;
mod cli;
mod debug;
mod e2e;
mod faults;
mod flowfile_check;
mod health;
mod lab;
mod mail;
mod npm_clients;
mod realtime;
mod realtime_clients;
mod report;
mod secrets;
mod suite_options;
mod support;
mod trace;
