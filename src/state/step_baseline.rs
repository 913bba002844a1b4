//! How long each step usually takes, from the run history, and which steps of this run were
//! far slower than that (a route delayed 15 s within its timeouts passes, but is flagged).
//!
//! A step is known by its flow, its position and its kind: an edited flow whose steps moved
//! starts a fresh baseline for the steps that moved. A step is flagged slow when it passed and
//! took more than [`SLOW_FACTOR`] × its median AND at least [`SLOW_FLOOR_MS`] more than the
//! median, the median taken over the runs (at most [`BASELINE_RUNS`] recent ones of the same
//! suite) in which it passed, and only once it passed in [`MIN_RUNS`] of them. The floor keeps
//! a 20 ms step that took 150 ms (a GC pause) from being flagged; the minimum keeps the first
//! runs of a new suite quiet.
//!
//! Owns the judgement only; the executor marks the step record and reporters show it.

use std::collections::HashMap;

use super::HistoryEntry;
use crate::events::SlowStep;

/// A step is slow above this many times its median…
pub const SLOW_FACTOR: u64 = 5;
/// …and at least this much above it.
pub const SLOW_FLOOR_MS: u64 = 2_000;
/// Runs with the step passed before it can be judged.
pub const MIN_RUNS: usize = 3;
/// How many recent runs of the suite the baseline reads.
pub const BASELINE_RUNS: usize = 20;

/// The usual duration of each step of a suite.
#[derive(Debug, Clone, Default)]
pub struct StepBaseline {
    /// (flow, index, kind) → durations of the passed step, one per run.
    samples: HashMap<(String, usize, String), Vec<u64>>,
}

impl StepBaseline {
    /// The baseline of `runs` (the suite's recent runs, any order).
    pub fn from_history(runs: &[HistoryEntry]) -> StepBaseline {
        let mut samples: HashMap<(String, usize, String), Vec<u64>> = HashMap::new();
        for run in runs {
            for flow in &run.flows {
                for step in &flow.steps {
                    samples
                        .entry((flow.id.clone(), step.index, step.kind.clone()))
                        .or_default()
                        .push(step.ms);
                }
            }
        }
        StepBaseline { samples }
    }

    /// Whether a step that passed in `ms` was slow for it.
    pub fn judge(&self, flow: &str, index: usize, kind: &str, ms: u64) -> Option<SlowStep> {
        let samples = self
            .samples
            .get(&(flow.to_owned(), index, kind.to_owned()))?;
        if samples.len() < MIN_RUNS {
            return None;
        }
        let median = median(samples);
        let slow =
            ms > median.saturating_mul(SLOW_FACTOR) && ms.saturating_sub(median) >= SLOW_FLOOR_MS;
        slow.then(|| SlowStep {
            median_ms: median,
            runs: u32::try_from(samples.len()).unwrap_or(u32::MAX),
        })
    }
}

/// The median (the lower middle one for an even count) of a non-empty list.
fn median(samples: &[u64]) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted[(sorted.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{FlowStatus, RunOutcome, Totals};
    use crate::state::{HistoryFlow, HistoryStep};

    fn run(ms: &[(usize, &str, u64)]) -> HistoryEntry {
        HistoryEntry {
            version: 1,
            run_id: "r".into(),
            started_at: None,
            finished_at: None,
            suite: "/s/flows.toml".into(),
            profile: "local".into(),
            base_url: "http://x".into(),
            outcome: RunOutcome::Completed,
            totals: Totals::default(),
            flows: vec![HistoryFlow {
                id: "f".into(),
                status: FlowStatus::Passed,
                attempts: 1,
                steps: ms
                    .iter()
                    .map(|&(index, kind, ms)| HistoryStep {
                        index,
                        kind: kind.into(),
                        ms,
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn slow_means_five_times_the_median_and_two_seconds_over_it() {
        let runs: Vec<HistoryEntry> = [100, 120, 80]
            .iter()
            .map(|&ms| run(&[(0, "goto", ms), (1, "click", 10)]))
            .collect();
        let b = StepBaseline::from_history(&runs);
        assert_eq!(
            b.judge("f", 0, "goto", 2_101),
            Some(SlowStep {
                median_ms: 100,
                runs: 3
            })
        );
        // Five times the median but not two seconds over it: a small step is never flagged.
        assert_eq!(b.judge("f", 0, "goto", 2_099), None);
        assert_eq!(b.judge("f", 1, "click", 1_900), None);
        // Two seconds over but not five times (a step that usually takes seconds).
        let runs: Vec<HistoryEntry> = [1_000, 1_000, 1_000]
            .iter()
            .map(|&ms| run(&[(0, "mail", ms)]))
            .collect();
        let b = StepBaseline::from_history(&runs);
        assert_eq!(b.judge("f", 0, "mail", 4_000), None);
        assert!(b.judge("f", 0, "mail", 5_001).is_some());
    }

    #[test]
    fn too_few_runs_or_another_step_at_that_place_judge_nothing() {
        let runs = vec![run(&[(0, "goto", 100)]), run(&[(0, "goto", 100)])];
        let b = StepBaseline::from_history(&runs);
        assert_eq!(b.judge("f", 0, "goto", 60_000), None);
        let runs: Vec<HistoryEntry> = (0..3).map(|_| run(&[(0, "goto", 100)])).collect();
        let b = StepBaseline::from_history(&runs);
        assert_eq!(b.judge("f", 0, "click", 60_000), None);
        assert_eq!(b.judge("g", 0, "goto", 60_000), None);
        assert!(b.judge("f", 0, "goto", 60_000).is_some());
    }
}
