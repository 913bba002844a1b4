//! Process exit codes: the one place that defines them (see README "Exit codes").

/// All flows passed (flaky ones too, unless `--fail-on-flaky`).
pub const SUCCESS: u8 = 0;
/// At least one flow failed (`flows gate`: NO-GO).
pub const FLOW_FAILED: u8 = 1;
/// Usage, config or flow-file error: nothing was started.
pub const USAGE: u8 = 2;
/// The health pre-check found the target unhealthy.
pub const HEALTH_CHECK_FAILED: u8 = 3;
/// Infrastructure error: no browser or driver, browser crash, web server did not start.
pub const INFRASTRUCTURE: u8 = 4;
/// `flows gate`: CONDITIONAL GO — nothing failed, but criteria allowed to stay UNVERIFIED
/// did (`flows gate` exits 0 for GO and 1 for NO-GO).
pub const CONDITIONAL_GO: u8 = 5;
/// Interrupted by a signal: SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT.
pub const INTERRUPTED: u8 = 130;
