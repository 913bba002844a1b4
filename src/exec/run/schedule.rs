//! Which flow runs next. The run asks one question, [`Schedule::next`], after each flow, so a
//! parallel scheduler (issue 19: several workers, shards) plugs in here without touching how a
//! flow or an attempt runs. [`PlanOrder`] is the serial answer: the plan's order, skipping a
//! flow whose needs did not pass.

use std::collections::HashMap;

use crate::events::FlowStatus;
use crate::flowfile::check::Suite;
use crate::plan::Plan;

/// The next flow to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Next {
    /// Index into `suite.flows`.
    pub flow: usize,
    /// Why it is skipped instead of run: a flow it needs did not pass.
    pub blocked: Option<String>,
}

/// Hands out the flows of a run, given how the finished ones went (by flow id).
pub(super) trait Schedule {
    /// `None`: every flow has been handed out.
    fn next(&mut self, done: &HashMap<String, FlowStatus>) -> Option<Next>;
}

/// The plan's order, one flow at a time.
pub(super) struct PlanOrder<'a> {
    suite: &'a Suite,
    plan: &'a Plan,
    at: usize,
}

impl<'a> PlanOrder<'a> {
    pub(super) fn new(suite: &'a Suite, plan: &'a Plan) -> PlanOrder<'a> {
        PlanOrder { suite, plan, at: 0 }
    }
}

impl Schedule for PlanOrder<'_> {
    fn next(&mut self, done: &HashMap<String, FlowStatus>) -> Option<Next> {
        let &i = self.plan.order.get(self.at)?;
        self.at += 1;
        Some(Next {
            flow: i,
            blocked: blocked_by_needs(self.suite, self.plan, i, done),
        })
    }
}

/// A needed flow that did not pass (or was part of this run and did not run). A need outside
/// the plan (`--no-deps`) is stood in for by saved state (see `saved_state::preflight`).
fn blocked_by_needs(
    suite: &Suite,
    plan: &Plan,
    flow: usize,
    done: &HashMap<String, FlowStatus>,
) -> Option<String> {
    suite.flows[flow]
        .ast
        .needs
        .iter()
        .find_map(|n| match done.get(&n.value) {
            Some(FlowStatus::Passed | FlowStatus::Flaky) => None,
            Some(other) => Some(format!(
                "needs {}, which {}",
                n.value,
                status_phrase(*other)
            )),
            None if plan
                .order
                .iter()
                .any(|&j| suite.flows[j].ast.id.value == n.value) =>
            {
                Some(format!("needs {}, which did not run", n.value))
            }
            None => None,
        })
}

fn status_phrase(s: FlowStatus) -> &'static str {
    match s {
        FlowStatus::Failed => "failed",
        FlowStatus::Skipped => "was skipped",
        FlowStatus::NotRun => "did not run",
        FlowStatus::TimedOut => "timed out",
        FlowStatus::Passed | FlowStatus::Flaky => "passed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowfile::check::{load_suite, CheckEnv};

    /// login ← portal; other stands alone.
    fn suite() -> (tempfile::TempDir, Suite) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (file, id, needs) in [
            ("1-login.yaml", "login", "[]"),
            ("2-portal.yaml", "portal", "[login]"),
            ("3-other.yaml", "other", "[]"),
        ] {
            let text =
                format!("id: {id}\ntitle: {id}\nuser: u\nneeds: {needs}\nsteps:\n  - goto: /\n");
            std::fs::write(dir.path().join(file), text).expect("write");
        }
        let suite = load_suite(dir.path(), &CheckEnv::new(["u"], Vec::<String>::new()))
            .expect("suite checks");
        (dir, suite)
    }

    fn plan(suite: &Suite, ids: &[&str]) -> Plan {
        Plan {
            order: ids
                .iter()
                .map(|id| {
                    suite
                        .flows
                        .iter()
                        .position(|f| f.ast.id.value == *id)
                        .expect("known flow")
                })
                .collect(),
            added_as_dependency: Default::default(),
        }
    }

    fn id(suite: &Suite, next: &Next) -> String {
        suite.flows[next.flow].ast.id.value.clone()
    }

    #[test]
    fn hands_out_the_plan_in_order_and_skips_a_flow_whose_need_did_not_pass() {
        let (_dir, suite) = suite();
        let plan = plan(&suite, &["login", "portal", "other"]);
        let mut order = PlanOrder::new(&suite, &plan);
        let mut done = HashMap::new();
        let first = order.next(&done).expect("login");
        assert_eq!((id(&suite, &first), first.blocked), ("login".into(), None));
        done.insert("login".to_owned(), FlowStatus::Failed);
        let second = order.next(&done).expect("portal");
        assert_eq!(id(&suite, &second), "portal");
        assert_eq!(second.blocked.as_deref(), Some("needs login, which failed"));
        let third = order.next(&done).expect("other");
        assert_eq!((id(&suite, &third), third.blocked), ("other".into(), None));
        assert_eq!(order.next(&done), None);
    }

    #[test]
    fn a_passed_or_flaky_need_lets_the_flow_run_and_one_left_out_is_saved_state() {
        let (_dir, suite) = suite();
        let both = plan(&suite, &["login", "portal"]);
        for status in [FlowStatus::Passed, FlowStatus::Flaky] {
            let done = HashMap::from([("login".to_owned(), status)]);
            let mut order = PlanOrder::new(&suite, &both);
            order.next(&done);
            assert_eq!(order.next(&done).and_then(|n| n.blocked), None);
        }
        // In the plan but not finished: it did not run.
        let mut order = PlanOrder::new(&suite, &both);
        order.next(&HashMap::new());
        assert_eq!(
            order
                .next(&HashMap::new())
                .and_then(|n| n.blocked)
                .as_deref(),
            Some("needs login, which did not run")
        );
        // --no-deps: a need outside the plan is stood in for by saved state.
        let alone = plan(&suite, &["portal"]);
        let mut order = PlanOrder::new(&suite, &alone);
        assert_eq!(order.next(&HashMap::new()).and_then(|n| n.blocked), None);
    }
}
