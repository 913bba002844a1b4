//! How a run that got as far as running flows ended: its `RunOutcome`, exit code and reason,
//! decided once from what the executor loop saw. A pure function, so every branch is tested
//! here (and mutation-tested, docs/testing.md). Does not own: running flows, or the early ends
//! (bad config, failed health pre-check, a driver that does not start), which the executor
//! decides where they happen.

use std::time::Duration;

use crate::events::{RunOutcome, Totals};
use crate::exit_code;
use crate::flowfile::duration::format_duration;

/// The reason of a run stopped by a signal.
pub(crate) const INTERRUPTED: &str = "interrupted (SIGINT, SIGTERM, SIGHUP or SIGQUIT)";

/// What stopped the run before its plan was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `--run-timeout` / `[timeouts] run`.
    RunTimeout(Duration),
    /// `--max-failures N` / `[suite] max_failures`.
    MaxFailures(u32),
    /// The driver, a browser or the web server failed: not the app's fault, so no later flow
    /// could say anything about the app.
    Infrastructure(String),
}

impl Stop {
    pub(crate) fn reason(&self) -> String {
        match self {
            Stop::RunTimeout(limit) => run_timeout_reached(*limit),
            Stop::MaxFailures(n) => format!(
                "stopped after {n} failure{} (--max-failures {n})",
                if *n == 1 { "" } else { "s" }
            ),
            Stop::Infrastructure(why) => why.clone(),
        }
    }

    fn outcome(&self) -> RunOutcome {
        match self {
            Stop::RunTimeout(_) => RunOutcome::TimedOut,
            Stop::MaxFailures(_) => RunOutcome::MaxFailuresReached,
            Stop::Infrastructure(_) => RunOutcome::Aborted,
        }
    }
}

/// `run timeout (30m) reached`: the reason of every flow the run timeout left unstarted.
pub(crate) fn run_timeout_reached(limit: Duration) -> String {
    format!("run timeout ({}) reached", format_duration(limit))
}

/// What the executor loop saw, as far as the outcome depends on it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunFacts {
    /// Ctrl-C / SIGTERM.
    pub interrupted: bool,
    /// `q` in `--debug`.
    pub quit: bool,
    /// A reporter failed while the run went on: `a reporter failed: …`.
    pub reporter_failed: Option<String>,
    pub stop: Option<Stop>,
    /// An artifact could not be written (disk full): `artifacts incomplete: …`.
    pub artifacts_incomplete: Option<String>,
    /// A flow failed because of the infrastructure (browser, driver), not the app.
    pub infra_failure: bool,
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

/// First match wins: interrupted, quit, a reporter failure, a stop (timeout, max failures,
/// infrastructure), artifacts that could not be written, failures (infrastructure ones exit 4), flaky flows under `--fail-on-flaky`, success.
pub(crate) fn decide(f: &RunFacts) -> Decision {
    let d = |outcome, code, why: &str| Decision {
        outcome,
        code,
        why: why.to_owned(),
        flaky_fail: false,
    };
    if f.interrupted {
        d(RunOutcome::Interrupted, exit_code::INTERRUPTED, INTERRUPTED)
    } else if f.quit {
        d(
            RunOutcome::Interrupted,
            exit_code::INTERRUPTED,
            "stopped from the debugger (q)",
        )
    } else if let Some(failed) = &f.reporter_failed {
        d(RunOutcome::Aborted, exit_code::INFRASTRUCTURE, failed)
    } else if let Some(s) = &f.stop {
        let code = if matches!(s, Stop::Infrastructure(_))
            || (f.infra_failure && matches!(s, Stop::MaxFailures(_)))
        {
            exit_code::INFRASTRUCTURE
        } else {
            exit_code::FLOW_FAILED
        };
        d(s.outcome(), code, &s.reason())
    } else if let Some(incomplete) = &f.artifacts_incomplete {
        // The run went on without the artifacts it could not write; the nightly job must not
        // take it for a complete one.
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

    fn decided(f: RunFacts) -> (RunOutcome, u8, String, bool) {
        let d = decide(&f);
        (d.outcome, d.code, d.why, d.flaky_fail)
    }

    #[test]
    fn all_passed_is_success() {
        assert_eq!(
            decided(facts()),
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
            decided(failed.clone()),
            (RunOutcome::Completed, 1, String::new(), false)
        );
        assert_eq!(
            decided(RunFacts {
                infra_failure: true,
                ..failed.clone()
            }),
            (RunOutcome::Completed, 4, String::new(), false)
        );
        // An infrastructure hiccup that a retry got past is not a failed run.
        assert_eq!(
            decided(RunFacts {
                infra_failure: true,
                ..facts()
            }),
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
            decided(flaky.clone()),
            (RunOutcome::Completed, 0, String::new(), false)
        );
        assert_eq!(
            decided(RunFacts {
                fail_on_flaky: true,
                ..flaky.clone()
            }),
            (RunOutcome::Completed, 1, String::new(), true)
        );
        // --fail-on-flaky with no flaky flow changes nothing.
        assert_eq!(
            decided(RunFacts {
                fail_on_flaky: true,
                ..facts()
            }),
            (RunOutcome::Completed, 0, String::new(), false)
        );
        // A failure is a failure, not a flaky notice.
        assert_eq!(
            decided(RunFacts {
                fail_on_flaky: true,
                totals: totals(1, 2),
                ..facts()
            }),
            (RunOutcome::Completed, 1, String::new(), false)
        );
    }

    #[test]
    fn run_timeout_and_max_failures_say_why() {
        let timeout = RunFacts {
            stop: Some(Stop::RunTimeout(Duration::from_secs(4))),
            totals: totals(0, 0),
            ..facts()
        };
        assert_eq!(
            decided(timeout.clone()),
            (
                RunOutcome::TimedOut,
                1,
                "run timeout (4s) reached".into(),
                false
            )
        );
        // Timed out with an infrastructure failure behind it is still "timed out", exit 1.
        assert_eq!(
            decided(RunFacts {
                infra_failure: true,
                ..timeout.clone()
            })
            .1,
            1
        );
        let max = RunFacts {
            stop: Some(Stop::MaxFailures(2)),
            totals: totals(2, 0),
            ..facts()
        };
        assert_eq!(
            decided(max.clone()),
            (
                RunOutcome::MaxFailuresReached,
                1,
                "stopped after 2 failures (--max-failures 2)".into(),
                false
            )
        );
        assert_eq!(
            decide(&RunFacts {
                stop: Some(Stop::MaxFailures(1)),
                ..max.clone()
            })
            .why,
            "stopped after 1 failure (--max-failures 1)"
        );
        // The failures that stopped it were the infrastructure's: exit 4.
        assert_eq!(
            decided(RunFacts {
                infra_failure: true,
                ..max.clone()
            })
            .1,
            4
        );
    }

    #[test]
    fn an_interruption_wins_over_everything_else() {
        let everything = RunFacts {
            interrupted: true,
            quit: true,
            reporter_failed: Some("a reporter failed: disk full".into()),
            artifacts_incomplete: None,
            stop: Some(Stop::MaxFailures(1)),
            infra_failure: true,
            totals: totals(1, 1),
            fail_on_flaky: true,
        };
        assert_eq!(
            decided(everything.clone()),
            (RunOutcome::Interrupted, 130, INTERRUPTED.into(), false)
        );
        let quit = RunFacts {
            interrupted: false,
            ..everything.clone()
        };
        assert_eq!(
            decided(quit.clone()),
            (
                RunOutcome::Interrupted,
                130,
                "stopped from the debugger (q)".into(),
                false
            )
        );
        let reporter = RunFacts {
            quit: false,
            ..quit.clone()
        };
        assert_eq!(
            decided(reporter.clone()),
            (
                RunOutcome::Aborted,
                4,
                "a reporter failed: disk full".into(),
                false
            )
        );
        // Then the stop, before the failures it was caused by.
        assert_eq!(
            decided(RunFacts {
                reporter_failed: None,
                ..reporter.clone()
            })
            .0,
            RunOutcome::MaxFailuresReached
        );
    }

    #[test]
    fn a_reporter_failing_at_the_end_turns_only_success_into_exit_4() {
        assert_eq!(final_code(0, true), 4);
        assert_eq!(final_code(0, false), 0);
        assert_eq!(final_code(1, true), 1);
        assert_eq!(final_code(130, true), 130);
        assert_eq!(final_code(3, false), 3);
    }

    #[test]
    fn infrastructure_stops_and_missing_artifacts_abort_with_exit_4() {
        let infra = RunFacts {
            stop: Some(Stop::Infrastructure(
                "chromedriver (pid 42) exited (signal 9)".into(),
            )),
            totals: totals(1, 0),
            ..facts()
        };
        assert_eq!(
            decided(infra.clone()),
            (
                RunOutcome::Aborted,
                4,
                "chromedriver (pid 42) exited (signal 9)".into(),
                false
            )
        );
        let incomplete = RunFacts {
            artifacts_incomplete: Some("artifacts incomplete: disk full at trace.html".into()),
            ..facts()
        };
        assert_eq!(
            decided(incomplete.clone()),
            (
                RunOutcome::Aborted,
                4,
                "artifacts incomplete: disk full at trace.html".into(),
                false
            )
        );
        // A stop says why before the artifacts do.
        assert_eq!(
            decided(RunFacts {
                artifacts_incomplete: incomplete.artifacts_incomplete.clone(),
                ..infra
            })
            .2,
            "chromedriver (pid 42) exited (signal 9)"
        );
    }
}
