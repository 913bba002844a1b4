//! Which flow runs next. A worker asks one question, [`Schedule::next`], whenever it is free,
//! so how flows are spread over workers never touches how a flow or an attempt runs.
//! [`PlanOrder`] is the serial answer: the plan's order, skipping a flow whose needs did not
//! pass. [`ReadyOrder`] is the answer for several workers (`--workers`): of the flows whose
//! needs have all finished and whose users are free, the one whose users have the most work
//! left (ties: plan order, so a run is deterministic in what it hands out); handed out as
//! skipped when a need did not pass.

use std::collections::{BTreeSet, HashMap};

use crate::events::FlowStatus;
use crate::exec::saved_state::users_of;
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

/// The schedule's answer to a free worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Handout {
    Run(Next),
    /// Every flow left needs one still running: ask again when a flow finishes.
    Wait,
    /// Every flow has been handed out.
    Done,
}

/// Hands out the flows of a run, given how the finished ones went (by flow id).
pub(super) trait Schedule {
    fn next(&mut self, done: &HashMap<String, FlowStatus>) -> Handout;
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
    fn next(&mut self, done: &HashMap<String, FlowStatus>) -> Handout {
        let Some(&i) = self.plan.order.get(self.at) else {
            return Handout::Done;
        };
        self.at += 1;
        Handout::Run(Next {
            flow: i,
            blocked: blocked_by_needs(self.suite, self.plan, i, done),
        })
    }
}

/// Flows for several workers: a flow is ready once every flow it needs that is in the plan has
/// finished (passed, or not: then it is handed out as skipped, so a failure propagates down
/// its chain whichever worker ran it), and none of the users it acts as is acting in a flow
/// still running: a user is one account with one session on the server (the workers share its
/// cookies), so two of its flows at once would see each other's flash messages, carts and
/// sign-outs.
///
/// So a user's flows form one line whatever their needs say, and the run lasts at least as long
/// as its busiest user's line. Among ready flows the one whose users have the most steps left
/// (in flows not handed out yet) goes first: the longest lines start early and the workers
/// finish together, instead of a light user's flows filling the workers while the heaviest
/// user's line waits for the end. Ties go to the plan's order; a flow to hand out as skipped
/// goes before all (it takes no time).
pub(super) struct ReadyOrder<'a> {
    suite: &'a Suite,
    plan: &'a Plan,
    /// Not handed out yet, in plan order.
    pending: Vec<usize>,
    /// Handed out to run (not as skipped) and not finished when last asked.
    running: Vec<usize>,
    /// The users each flow acts as (by index into `suite.flows`).
    users: HashMap<usize, BTreeSet<String>>,
    /// Steps of each user's flows not handed out yet.
    work_left: HashMap<String, usize>,
}

/// What a flow weighs when choosing among ready ones: its steps (group steps expanded, each
/// data-driven row its own flow), at least one.
fn weight(suite: &Suite, flow: usize) -> usize {
    suite.flows[flow].steps.len().max(1)
}

impl<'a> ReadyOrder<'a> {
    pub(super) fn new(suite: &'a Suite, plan: &'a Plan) -> ReadyOrder<'a> {
        let users: HashMap<usize, BTreeSet<String>> = plan
            .order
            .iter()
            .map(|&i| (i, users_of(&suite.flows[i])))
            .collect();
        let mut work_left: HashMap<String, usize> = HashMap::new();
        for &i in &plan.order {
            for u in &users[&i] {
                *work_left.entry(u.clone()).or_default() += weight(suite, i);
            }
        }
        ReadyOrder {
            suite,
            plan,
            pending: plan.order.clone(),
            running: Vec::new(),
            users,
            work_left,
        }
    }

    /// Steps left in the lines of `flow`'s users (its own when it acts as nobody).
    fn work_left_of(&self, flow: usize) -> usize {
        let users = &self.users[&flow];
        match users.is_empty() {
            true => weight(self.suite, flow),
            false => users.iter().map(|u| self.work_left[u]).sum(),
        }
    }

    /// Every need of `flow` that this run runs has finished.
    fn needs_settled(&self, flow: usize, done: &HashMap<String, FlowStatus>) -> bool {
        self.suite.flows[flow].ast.needs.iter().all(|n| {
            done.contains_key(&n.value)
                || !self
                    .plan
                    .order
                    .iter()
                    .any(|&j| self.suite.flows[j].ast.id.value == n.value)
        })
    }
}

impl Schedule for ReadyOrder<'_> {
    fn next(&mut self, done: &HashMap<String, FlowStatus>) -> Handout {
        if self.pending.is_empty() {
            return Handout::Done;
        }
        let suite = self.suite;
        self.running
            .retain(|&i| !done.contains_key(&suite.flows[i].ast.id.value));
        let busy: BTreeSet<&String> = self
            .running
            .iter()
            .flat_map(|i| self.users[i].iter())
            .collect();
        let mut best: Option<(usize, usize)> = None;
        let mut chosen = None;
        for &i in &self.pending {
            if !self.needs_settled(i, done) {
                continue;
            }
            // A flow handed out as skipped acts as nobody, and goes first.
            if let Some(reason) = blocked_by_needs(suite, self.plan, i, done) {
                chosen = Some((i, Some(reason)));
                break;
            }
            if self.users[&i].iter().any(|u| busy.contains(u)) {
                continue;
            }
            let left = self.work_left_of(i);
            // Strictly more: among equals the first in plan order stays.
            if best.is_none_or(|(_, most)| left > most) {
                best = Some((i, left));
            }
        }
        let Some((flow, blocked)) = chosen.or(best.map(|(i, _)| (i, None))) else {
            return Handout::Wait;
        };
        self.pending.retain(|&i| i != flow);
        let w = weight(suite, flow);
        for u in &self.users[&flow] {
            if let Some(left) = self.work_left.get_mut(u) {
                *left = left.saturating_sub(w);
            }
        }
        if blocked.is_none() {
            self.running.push(flow);
        }
        Handout::Run(Next { flow, blocked })
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

    fn run(h: Handout) -> Option<Next> {
        match h {
            Handout::Run(next) => Some(next),
            Handout::Wait | Handout::Done => None,
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
        let first = run(order.next(&done)).expect("login");
        assert_eq!((id(&suite, &first), first.blocked), ("login".into(), None));
        done.insert("login".to_owned(), FlowStatus::Failed);
        let second = run(order.next(&done)).expect("portal");
        assert_eq!(id(&suite, &second), "portal");
        assert_eq!(second.blocked.as_deref(), Some("needs login, which failed"));
        let third = run(order.next(&done)).expect("other");
        assert_eq!((id(&suite, &third), third.blocked), ("other".into(), None));
        assert_eq!(order.next(&done), Handout::Done);
    }

    #[test]
    fn a_passed_or_flaky_need_lets_the_flow_run_and_one_left_out_is_saved_state() {
        let (_dir, suite) = suite();
        let both = plan(&suite, &["login", "portal"]);
        for status in [FlowStatus::Passed, FlowStatus::Flaky] {
            let done = HashMap::from([("login".to_owned(), status)]);
            let mut order = PlanOrder::new(&suite, &both);
            order.next(&done);
            assert_eq!(run(order.next(&done)).and_then(|n| n.blocked), None);
        }
        // In the plan but not finished: it did not run.
        let mut order = PlanOrder::new(&suite, &both);
        order.next(&HashMap::new());
        assert_eq!(
            run(order.next(&HashMap::new()))
                .and_then(|n| n.blocked)
                .as_deref(),
            Some("needs login, which did not run")
        );
        // --no-deps: a need outside the plan is stood in for by saved state.
        let alone = plan(&suite, &["portal"]);
        let mut order = PlanOrder::new(&suite, &alone);
        assert_eq!(
            run(order.next(&HashMap::new())).and_then(|n| n.blocked),
            None
        );
    }

    /// Flows as (id, needs, user).
    fn suite_of(flows: &[(&str, &str, &str)]) -> (tempfile::TempDir, Suite) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut users = BTreeSet::new();
        for (id, needs, user) in flows {
            let text = format!(
                "id: {id}\ntitle: {id}\nuser: {user}\nneeds: {needs}\nsteps:\n  - goto: /\n"
            );
            std::fs::write(dir.path().join(format!("{id}.yaml")), text).expect("write");
            users.insert(*user);
        }
        let env = CheckEnv::new(users, Vec::<String>::new());
        let suite = load_suite(dir.path(), &env).expect("suite checks");
        (dir, suite)
    }

    /// Two chains and a loner, a user each: a ← b ← c (u1), d ← e (u2), f (u3).
    fn chains() -> (tempfile::TempDir, Suite) {
        suite_of(&[
            ("a", "[]", "u1"),
            ("b", "[a]", "u1"),
            ("c", "[b]", "u1"),
            ("d", "[]", "u2"),
            ("e", "[d]", "u2"),
            ("f", "[]", "u3"),
        ])
    }

    #[test]
    fn ready_order_never_runs_two_flows_of_one_user_at_once() {
        // login ← portal (u), other (u) stands alone: other waits while login runs.
        let (_dir, suite) = suite();
        let plan = plan(&suite, &["login", "portal", "other"]);
        let mut order = ReadyOrder::new(&suite, &plan);
        let mut done = HashMap::new();
        assert_eq!(take(&suite, &mut order, &done), "login");
        assert_eq!(order.next(&done), Handout::Wait, "u is busy in login");
        done.insert("login".to_owned(), FlowStatus::Passed);
        assert_eq!(take(&suite, &mut order, &done), "portal");
        assert_eq!(order.next(&done), Handout::Wait, "u is busy in portal");
        done.insert("portal".to_owned(), FlowStatus::Failed);
        assert_eq!(take(&suite, &mut order, &done), "other");
        assert_eq!(order.next(&done), Handout::Done);
    }

    #[test]
    fn ready_order_hands_out_a_skipped_flow_while_its_user_is_busy() {
        // x1 (u) runs; y (v) fails; x2 (u) needs y: skipped at once, though u is busy in x1.
        let (_dir, suite) = suite_of(&[("x1", "[]", "u"), ("y", "[]", "v"), ("x2", "[y]", "u")]);
        let plan = plan(&suite, &["x1", "y", "x2"]);
        let mut order = ReadyOrder::new(&suite, &plan);
        let mut done = HashMap::new();
        assert_eq!(take(&suite, &mut order, &done), "x1");
        assert_eq!(take(&suite, &mut order, &done), "y");
        done.insert("y".to_owned(), FlowStatus::Failed);
        let x2 = run(order.next(&done)).expect("x2, skipped");
        assert_eq!(id(&suite, &x2), "x2");
        assert_eq!(x2.blocked.as_deref(), Some("needs y, which failed"));
    }

    fn take(
        suite: &Suite,
        order: &mut ReadyOrder<'_>,
        done: &HashMap<String, FlowStatus>,
    ) -> String {
        let next = run(order.next(done)).expect("a ready flow");
        assert_eq!(next.blocked, None, "{} is not blocked", id(suite, &next));
        id(suite, &next)
    }

    #[test]
    fn ready_order_hands_out_independent_chains_side_by_side_in_plan_order() {
        let (_dir, suite) = chains();
        let plan = plan(&suite, &["a", "b", "c", "d", "e", "f"]);
        let mut order = ReadyOrder::new(&suite, &plan);
        let mut done = HashMap::new();
        // Nothing finished: the chain heads and the loner, in plan order; b, c, e wait.
        assert_eq!(take(&suite, &mut order, &done), "a");
        assert_eq!(take(&suite, &mut order, &done), "d");
        assert_eq!(take(&suite, &mut order, &done), "f");
        assert_eq!(order.next(&done), Handout::Wait);
        // d passes first: e is ready, b still waits for a.
        done.insert("d".to_owned(), FlowStatus::Passed);
        assert_eq!(take(&suite, &mut order, &done), "e");
        assert_eq!(order.next(&done), Handout::Wait);
        done.insert("a".to_owned(), FlowStatus::Flaky);
        assert_eq!(take(&suite, &mut order, &done), "b");
        assert_eq!(order.next(&done), Handout::Wait);
        done.insert("b".to_owned(), FlowStatus::Passed);
        assert_eq!(take(&suite, &mut order, &done), "c");
        assert_eq!(order.next(&done), Handout::Done);
    }

    #[test]
    fn ready_order_starts_the_user_with_most_steps_left_and_breaks_ties_by_plan_order() {
        let (_dir, suite) = chains();
        // Plan order puts the loner and u2's chain first; u1 has the most steps left (a, b, c).
        let plan = plan(&suite, &["f", "d", "a", "e", "b", "c"]);
        let mut order = ReadyOrder::new(&suite, &plan);
        let done = HashMap::from([
            ("d".to_owned(), FlowStatus::Passed),
            ("a".to_owned(), FlowStatus::Passed),
        ]);
        assert_eq!(take(&suite, &mut order, &done), "a", "u1: 3 steps left");
        // u1 2 left (b, c), u2 2 (d, e): a tie, and d comes first in the plan.
        assert_eq!(take(&suite, &mut order, &done), "d");
        assert_eq!(
            take(&suite, &mut order, &done),
            "b",
            "u1: 2 left, u2 and u3: 1"
        );
        // f and e weigh 1 each: plan order (f before e), not file order.
        assert_eq!(take(&suite, &mut order, &done), "f");
        assert_eq!(take(&suite, &mut order, &done), "e");
    }

    #[test]
    fn ready_order_gives_the_heaviest_line_a_worker_first_so_workers_finish_together() {
        // light (1 step, 4 flows, user l) comes first in the plan; heavy (3 flows of 3 steps,
        // user h) later. With two workers both lines must start at once.
        let dir = tempfile::tempdir().expect("tempdir");
        let three = "steps:\n  - goto: /\n  - goto: /a\n  - goto: /b\n";
        for (id, needs, user, steps) in [
            ("l1", "[]", "l", "steps:\n  - goto: /\n"),
            ("l2", "[l1]", "l", "steps:\n  - goto: /\n"),
            ("h1", "[]", "h", three),
            ("h2", "[h1]", "h", three),
        ] {
            let text = format!("id: {id}\ntitle: {id}\nuser: {user}\nneeds: {needs}\n{steps}");
            std::fs::write(dir.path().join(format!("{id}.yaml")), text).expect("write");
        }
        let suite = load_suite(dir.path(), &CheckEnv::new(["l", "h"], Vec::<String>::new()))
            .expect("suite checks");
        let plan = plan(&suite, &["l1", "l2", "h1", "h2"]);
        let mut order = ReadyOrder::new(&suite, &plan);
        let mut done = HashMap::new();
        assert_eq!(
            take(&suite, &mut order, &done),
            "h1",
            "h has 6 steps left, l 2"
        );
        assert_eq!(take(&suite, &mut order, &done), "l1");
        assert_eq!(order.next(&done), Handout::Wait);
        done.insert("l1".to_owned(), FlowStatus::Passed);
        assert_eq!(take(&suite, &mut order, &done), "l2", "h is busy in h1");
        done.insert("h1".to_owned(), FlowStatus::Passed);
        assert_eq!(take(&suite, &mut order, &done), "h2");
        assert_eq!(order.next(&done), Handout::Done);
    }

    #[test]
    fn ready_order_skips_down_a_chain_whose_head_failed_and_leaves_the_rest() {
        let (_dir, suite) = chains();
        let plan = plan(&suite, &["a", "b", "c", "d", "e", "f"]);
        let mut order = ReadyOrder::new(&suite, &plan);
        let mut done = HashMap::new();
        for _ in 0..3 {
            run(order.next(&done)).expect("a, d, f");
        }
        done.insert("a".to_owned(), FlowStatus::Failed);
        let b = run(order.next(&done)).expect("b is settled");
        assert_eq!(id(&suite, &b), "b");
        assert_eq!(b.blocked.as_deref(), Some("needs a, which failed"));
        // Skipped propagates: c is handed out skipped once b is recorded as skipped.
        assert_eq!(order.next(&done), Handout::Wait);
        done.insert("b".to_owned(), FlowStatus::Skipped);
        let c = run(order.next(&done)).expect("c is settled");
        assert_eq!(c.blocked.as_deref(), Some("needs b, which was skipped"));
        // The other chain is untouched.
        done.insert("d".to_owned(), FlowStatus::TimedOut);
        let e = run(order.next(&done)).expect("e is settled");
        assert_eq!(e.blocked.as_deref(), Some("needs d, which timed out"));
        assert_eq!(order.next(&done), Handout::Done);
    }

    #[test]
    fn ready_order_does_not_wait_for_a_need_outside_the_plan() {
        let (_dir, suite) = chains();
        // --no-deps: b's need a is stood in for by saved state.
        let plan = plan(&suite, &["b", "c"]);
        let mut order = ReadyOrder::new(&suite, &plan);
        assert_eq!(take(&suite, &mut order, &HashMap::new()), "b");
        assert_eq!(order.next(&HashMap::new()), Handout::Wait);
    }
}
