//! Why a run ended ([`RunEnd`], one enum, like nextest's `CancelReason`) and what follows from
//! it: the `RunOutcome`, the exit code and the reason, decided by one `match` ([`decide`]).
//! Pure, so every branch is tested here (and mutation-tested, docs/testing.md). Does not own:
//! noticing the end (the executor does, where it happens).

use std::time::Duration;

use crate::events::{RunOutcome, Totals};
use crate::exit_code;
use crate::flowfile::duration::format_duration;

/// The reason of a run stopped by a signal.
pub(crate) const INTERRUPTED: &str = "interrupted (SIGINT, SIGTERM, SIGHUP or SIGQUIT)";

/// The reason of a run the person stopped from `--debug`.
pub(crate) const QUIT: &str = "stopped from the debugger (q)";

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunEnd {
    /// Every planned flow ran or was skipped; how they went decides the rest.
    Completed,
    /// SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGQUIT, at any point of the run.
    Interrupted,
    /// `q` in `--debug`.
    Quit,
    /// A reporter failed while the run went on: `a reporter failed: …`.
    ReporterFailed(String),
    /// `--run-timeout` / `[timeouts] run`.
    RunTimeout(Duration),
    /// `--max-failures N` / `[suite] max_failures`.
    MaxFailures(u32),
    /// The driver, a browser or the web server failed (or did not start): not the app's
    /// fault, so no later flow could say anything about the app.
    Infrastructure(String),
    /// The health pre-check found these URLs failing; no flow ran.
    HealthCheckFailed(Vec<String>),
}

impl RunEnd {
    /// The reason of a stop that leaves flows unstarted for a limit or a broken part (the
    /// notice "…: N flows not started"); `None` for the other ends, which say so themselves.
    pub(crate) fn stop_reason(&self) -> Option<String> {
        match self {
            RunEnd::RunTimeout(_) | RunEnd::MaxFailures(_) | RunEnd::Infrastructure(_) => {
                Some(decide(self, &RunFacts::default()).why)
            }
            RunEnd::Completed
            | RunEnd::Interrupted
            | RunEnd::Quit
            | RunEnd::ReporterFailed(_)
            | RunEnd::HealthCheckFailed(_) => None,
        }
    }

    /// How the flow loop's own end (`self`) gives way to what happened around it: a signal
    /// wins over everything, then `q`, then a reporter that failed.
    pub(crate) fn settle(self, signalled: bool, reporter_failed: Option<String>) -> RunEnd {
        match (signalled, self, reporter_failed) {
            (true, _, _) => RunEnd::Interrupted,
            (false, RunEnd::Quit, _) => RunEnd::Quit,
            (false, _, Some(failed)) => RunEnd::ReporterFailed(failed),
            (false, end, None) => end,
        }
    }
}

/// `run timeout (30m) reached`: the reason of every flow the run timeout left unstarted.
pub(crate) fn run_timeout_reached(limit: Duration) -> String {
    format!("run timeout ({}) reached", format_duration(limit))
}

/// What the flows that ran tell, as far as the exit code depends on it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunFacts {
    /// A flow failed because of the infrastructure (browser, driver), not the app.
    pub infra_failure: bool,
    /// An artifact could not be written (disk full): `artifacts incomplete: …`.
    pub artifacts_incomplete: Option<String>,
    pub totals: Totals,
    /// `--fail-on-flaky`.
    pub fail_on_flaky: bool,
}

/// The decision: outcome, exit code, and why (empty for a completed run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub outcome: RunOutcome,
    pub code: u8,
    pub why: String,
    /// Flaky flows turned the exit code to 1 (`--fail-on-flaky`): the run says so.
    pub flaky_fail: bool,
}

/// Outcome, exit code and reason of a run that ended as `end`. For a completed run: artifacts
/// that could not be written, then failures (infrastructure ones exit 4), then flaky flows
/// under `--fail-on-flaky`, then success.
pub(crate) fn decide(end: &RunEnd, f: &RunFacts) -> Decision {
    let d = |outcome, code, why: &str| Decision {
        outcome,
        code,
        why: why.to_owned(),
        flaky_fail: false,
    };
    match end {
        RunEnd::Interrupted => d(RunOutcome::Interrupted, exit_code::INTERRUPTED, INTERRUPTED),
        RunEnd::Quit => d(RunOutcome::Interrupted, exit_code::INTERRUPTED, QUIT),
        RunEnd::ReporterFailed(failed) => d(RunOutcome::Aborted, exit_code::INFRASTRUCTURE, failed),
        RunEnd::RunTimeout(limit) => d(
            RunOutcome::TimedOut,
            exit_code::FLOW_FAILED,
            &run_timeout_reached(*limit),
        ),
        RunEnd::MaxFailures(n) => d(
            RunOutcome::MaxFailuresReached,
            // The failures that stopped it were the infrastructure's.
            if f.infra_failure {
                exit_code::INFRASTRUCTURE
            } else {
                exit_code::FLOW_FAILED
            },
            &format!(
                "stopped after {n} failure{} (--max-failures {n})",
                if *n == 1 { "" } else { "s" }
            ),
        ),
        RunEnd::Infrastructure(why) => d(RunOutcome::Aborted, exit_code::INFRASTRUCTURE, why),
        RunEnd::HealthCheckFailed(failing) => d(
            RunOutcome::Aborted,
            exit_code::HEALTH_CHECK_FAILED,
            &format!("health pre-check failed: {}", failing.join(", ")),
        ),
        RunEnd::Completed => {
            if let Some(incomplete) = &f.artifacts_incomplete {
                // The run went on without the artifacts it could not write; the nightly job
                // must not take it for a complete one.
                d(RunOutcome::Aborted, exit_code::INFRASTRUCTURE, incomplete)
            } else if f.totals.failed > 0 && f.infra_failure {
                d(RunOutcome::Completed, exit_code::INFRASTRUCTURE, "")
            } else if f.totals.failed > 0 {
                d(RunOutcome::Completed, exit_code::FLOW_FAILED, "")
            } else if f.fail_on_flaky && f.totals.flaky > 0 {
                Decision {
                    flaky_fail: true,
                    ..d(RunOutcome::Completed, exit_code::FLOW_FAILED, "")
                }
            } else {
                d(RunOutcome::Completed, exit_code::SUCCESS, "")
            }
        }
    }
}

/// The exit code after the last event: a reporter that failed while finishing (writing its
/// file) turns a success into an infrastructure error; any other code already says "not green".
pub(crate) fn final_code(code: u8, reporter_failed: bool) -> u8 {
    if reporter_failed && code == exit_code::SUCCESS {
        exit_code::INFRASTRUCTURE
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(failed: u32, flaky: u32) -> Totals {
        Totals {
            passed: 2,
            failed,
            flaky,
            ..Totals::default()
        }
    }

    fn facts() -> RunFacts {
        RunFacts {
            totals: totals(0, 0),
            ..RunFacts::default()
        }
    }

    fn decided(end: RunEnd, f: RunFacts) -> (RunOutcome, u8, String, bool) {
        let d = decide(&end, &f);
        (d.outcome, d.code, d.why, d.flaky_fail)
    }

    /// Every way a run can end, with facts that would change the code if they were looked at.
    #[test]
    fn every_end_has_its_outcome_exit_code_and_reason() {
        let busy = RunFacts {
            infra_failure: false,
            artifacts_incomplete: Some("artifacts incomplete: disk full".into()),
            totals: totals(1, 1),
            fail_on_flaky: true,
        };
        let table: Vec<(RunEnd, RunOutcome, u8, &str)> = vec![
            (
                RunEnd::Interrupted,
                RunOutcome::Interrupted,
                130,
                INTERRUPTED,
            ),
            (RunEnd::Quit, RunOutcome::Interrupted, 130, QUIT),
            (
                RunEnd::ReporterFailed("a reporter failed: disk full".into()),
                RunOutcome::Aborted,
                4,
                "a reporter failed: disk full",
            ),
            (
                RunEnd::RunTimeout(Duration::from_secs(4)),
                RunOutcome::TimedOut,
                1,
                "run timeout (4s) reached",
            ),
            (
                RunEnd::MaxFailures(2),
                RunOutcome::MaxFailuresReached,
                1,
                "stopped after 2 failures (--max-failures 2)",
            ),
            (
                RunEnd::MaxFailures(1),
                RunOutcome::MaxFailuresReached,
                1,
                "stopped after 1 failure (--max-failures 1)",
            ),
            (
                RunEnd::Infrastructure("chromedriver (pid 42) exited (signal 9)".into()),
                RunOutcome::Aborted,
                4,
                "chromedriver (pid 42) exited (signal 9)",
            ),
            (
                RunEnd::HealthCheckFailed(vec!["/health".into(), "/ready".into()]),
                RunOutcome::Aborted,
                3,
                "health pre-check failed: /health, /ready",
            ),
            // Missing artifacts come before the failures of a completed run.
            (
                RunEnd::Completed,
                RunOutcome::Aborted,
                4,
                "artifacts incomplete: disk full",
            ),
        ];
        for (end, outcome, code, why) in table {
            assert_eq!(
                decided(end.clone(), busy.clone()),
                (outcome, code, why.to_owned(), false),
                "{end:?}"
            );
        }
    }

    #[test]
    fn all_passed_is_success() {
        assert_eq!(
            decided(RunEnd::Completed, facts()),
            (RunOutcome::Completed, 0, String::new(), false)
        );
    }

    #[test]
    fn a_failed_flow_is_exit_1_and_an_infrastructure_failure_exit_4() {
        let failed = RunFacts {
            totals: totals(1, 0),
            ..facts()
        };
        assert_eq!(
            decided(RunEnd::Completed, failed.clone()),
            (RunOutcome::Completed, 1, String::new(), false)
        );
        let infra = RunFacts {
            infra_failure: true,
            ..failed
        };
        assert_eq!(
            decided(RunEnd::Completed, infra),
            (RunOutcome::Completed, 4, String::new(), false)
        );
        // An infrastructure hiccup that a retry got past is not a failed run.
        assert_eq!(
            decided(
                RunEnd::Completed,
                RunFacts {
                    infra_failure: true,
                    ..facts()
                }
            ),
            (RunOutcome::Completed, 0, String::new(), false)
        );
    }

    #[test]
    fn flaky_flows_fail_the_run_only_with_fail_on_flaky() {
        let flaky = RunFacts {
            totals: totals(0, 2),
            ..facts()
        };
        assert_eq!(
            decided(RunEnd::Completed, flaky.clone()),
            (RunOutcome::Completed, 0, String::new(), false)
        );
        assert_eq!(
            decided(
                RunEnd::Completed,
                RunFacts {
                    fail_on_flaky: true,
                    ..flaky
                }
            ),
            (RunOutcome::Completed, 1, String::new(), true)
        );
        // --fail-on-flaky with no flaky flow changes nothing.
        assert_eq!(
            decided(
                RunEnd::Completed,
                RunFacts {
                    fail_on_flaky: true,
                    ..facts()
                }
            ),
            (RunOutcome::Completed, 0, String::new(), false)
        );
        // A failure is a failure, not a flaky notice.
        assert_eq!(
            decided(
                RunEnd::Completed,
                RunFacts {
                    fail_on_flaky: true,
                    totals: totals(1, 2),
                    ..facts()
                }
            ),
            (RunOutcome::Completed, 1, String::new(), false)
        );
    }

    #[test]
    fn infrastructure_failures_change_the_code_of_max_failures_only() {
        let infra = RunFacts {
            infra_failure: true,
            totals: totals(2, 0),
            ..facts()
        };
        // The failures that stopped it were the infrastructure's: exit 4.
        assert_eq!(decided(RunEnd::MaxFailures(2), infra.clone()).1, 4);
        // Timed out with an infrastructure failure behind it is still "timed out", exit 1.
        assert_eq!(
            decided(RunEnd::RunTimeout(Duration::from_secs(4)), infra).1,
            1
        );
    }

    #[test]
    fn a_signal_wins_then_quit_then_a_reporter_failure_then_the_loops_own_end() {
        let failed = || Some("a reporter failed: disk full".to_owned());
        assert_eq!(
            RunEnd::MaxFailures(1).settle(true, failed()),
            RunEnd::Interrupted
        );
        assert_eq!(RunEnd::Quit.settle(true, None), RunEnd::Interrupted);
        assert_eq!(RunEnd::Quit.settle(false, failed()), RunEnd::Quit);
        assert_eq!(
            RunEnd::MaxFailures(1).settle(false, failed()),
            RunEnd::ReporterFailed("a reporter failed: disk full".into())
        );
        assert_eq!(
            RunEnd::Completed.settle(false, failed()),
            RunEnd::ReporterFailed("a reporter failed: disk full".into())
        );
        assert_eq!(
            RunEnd::MaxFailures(1).settle(false, None),
            RunEnd::MaxFailures(1)
        );
        assert_eq!(RunEnd::Completed.settle(false, None), RunEnd::Completed);
    }

    #[test]
    fn only_limits_and_broken_parts_announce_the_flows_they_leave_unstarted() {
        assert_eq!(
            RunEnd::RunTimeout(Duration::from_secs(4))
                .stop_reason()
                .as_deref(),
            Some("run timeout (4s) reached")
        );
        assert_eq!(
            RunEnd::MaxFailures(3).stop_reason().as_deref(),
            Some("stopped after 3 failures (--max-failures 3)")
        );
        assert_eq!(
            RunEnd::Infrastructure("gone".into())
                .stop_reason()
                .as_deref(),
            Some("gone")
        );
        for end in [
            RunEnd::Completed,
            RunEnd::Interrupted,
            RunEnd::Quit,
            RunEnd::ReporterFailed("x".into()),
            RunEnd::HealthCheckFailed(vec![]),
        ] {
            assert_eq!(end.stop_reason(), None, "{end:?}");
        }
    }

    #[test]
    fn a_reporter_failing_at_the_end_turns_only_success_into_exit_4() {
        assert_eq!(final_code(0, true), 4);
        assert_eq!(final_code(0, false), 0);
        assert_eq!(final_code(1, true), 1);
        assert_eq!(final_code(130, true), 130);
        assert_eq!(final_code(3, false), 3);
    }
}
