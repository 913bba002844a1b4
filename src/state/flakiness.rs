//! Which flows flip between pass and fail across recent runs (`flows flaky`).

use crate::events::FlowStatus;

use super::HistoryEntry;

/// A flow that flipped, or passed only on a retry, in the runs looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlakyFlow {
    pub id: String,
    /// Its status in each run looked at, oldest first; `None` when it was not in that run.
    pub runs: Vec<Option<FlowStatus>>,
    /// Changes between a pass (passed or flaky) and a failure, skipping runs where it did not
    /// run.
    pub flips: u32,
    /// Runs where it passed only on a retry.
    pub flaky_runs: u32,
}

impl FlakyFlow {
    /// One character per run: `P` passed, `F` failed, `f` flaky (passed on a retry), `-`
    /// skipped or not run, `.` not planned.
    pub fn timeline(&self) -> String {
        self.runs
            .iter()
            .map(|s| match s {
                Some(FlowStatus::Passed) => 'P',
                Some(FlowStatus::Failed) => 'F',
                Some(FlowStatus::Flaky) => 'f',
                // Cut short by the run timeout: says nothing about the flow itself.
                Some(FlowStatus::Skipped | FlowStatus::NotRun | FlowStatus::TimedOut) => '-',
                None => '.',
            })
            .collect()
    }

    /// The last status it actually ran to (passed, flaky or failed).
    pub fn last_result(&self) -> Option<FlowStatus> {
        self.runs.iter().rev().flatten().copied().find(|s| {
            matches!(
                s,
                FlowStatus::Passed | FlowStatus::Failed | FlowStatus::Flaky
            )
        })
    }
}

/// The flaky flows of `runs` (oldest first): most flips first, then by id.
pub fn flaky_flows(runs: &[HistoryEntry]) -> Vec<FlakyFlow> {
    let mut ids: Vec<&str> = Vec::new();
    for run in runs {
        for f in &run.flows {
            if !ids.contains(&f.id.as_str()) {
                ids.push(&f.id);
            }
        }
    }
    let mut out: Vec<FlakyFlow> = ids
        .into_iter()
        .map(|id| {
            let statuses: Vec<Option<FlowStatus>> = runs
                .iter()
                .map(|r| r.flows.iter().find(|f| f.id == id).map(|f| f.status))
                .collect();
            let mut flips = 0;
            let mut previous: Option<bool> = None;
            for passed in statuses.iter().flatten().filter_map(|s| match s {
                FlowStatus::Passed | FlowStatus::Flaky => Some(true),
                FlowStatus::Failed => Some(false),
                FlowStatus::Skipped | FlowStatus::NotRun | FlowStatus::TimedOut => None,
            }) {
                if previous.is_some_and(|p| p != passed) {
                    flips += 1;
                }
                previous = Some(passed);
            }
            let flaky_runs = statuses
                .iter()
                .filter(|s| **s == Some(FlowStatus::Flaky))
                .count() as u32;
            FlakyFlow {
                id: id.to_owned(),
                runs: statuses,
                flips,
                flaky_runs,
            }
        })
        .filter(|f| f.flips > 0 || f.flaky_runs > 0)
        .collect();
    out.sort_by(|a, b| {
        (b.flips + b.flaky_runs)
            .cmp(&(a.flips + a.flaky_runs))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{RunOutcome, Totals};
    use crate::state::HistoryFlow;

    fn run(flows: &[(&str, FlowStatus)]) -> HistoryEntry {
        HistoryEntry {
            version: 1,
            run_id: "r".into(),
            started_at: None,
            finished_at: None,
            suite: "s".into(),
            profile: "local".into(),
            base_url: String::new(),
            outcome: RunOutcome::Completed,
            totals: Totals::default(),
            flows: flows
                .iter()
                .map(|(id, status)| HistoryFlow {
                    id: (*id).into(),
                    status: *status,
                    attempts: 1,
                    steps: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn counts_flips_ignoring_runs_it_did_not_run_in() {
        use FlowStatus::*;
        let runs = vec![
            run(&[("a", Passed), ("b", Passed), ("c", Passed)]),
            run(&[("a", Failed), ("b", Passed), ("c", Skipped)]),
            run(&[("b", Passed), ("c", Passed)]),
            run(&[("a", Passed), ("b", Flaky), ("c", Passed)]),
        ];
        let flaky = flaky_flows(&runs);
        assert_eq!(flaky.len(), 2, "{flaky:?}");
        assert_eq!(flaky[0].id, "a");
        assert_eq!(flaky[0].flips, 2);
        assert_eq!(flaky[0].timeline(), "PF.P");
        assert_eq!(flaky[0].last_result(), Some(Passed));
        assert_eq!(flaky[1].id, "b");
        assert_eq!((flaky[1].flips, flaky[1].flaky_runs), (0, 1));
        assert_eq!(flaky[1].timeline(), "PPPf");
    }
}
