//! The plan: which flows run, in which order. Immutable once built.
//!
//! Selection (ids, `--grep`, `--tag`) picks flows; their `needs` are added (a flow cannot run
//! without what it needs, unless `--no-deps`), and the result is ordered so every flow comes
//! after its needs, keeping file order otherwise. With `--shard i/n`, [`Plan::shard`] keeps
//! the part of it one machine runs ([`shard`]).

pub mod shard;

use std::collections::{BTreeSet, HashMap};

use crate::events::ShardInfo;
use shard::{ShardInput, ShardKey, ShardSpec};

use crate::flowfile::check::Suite;

#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Flow ids named on the command line (empty with `--all`).
    pub ids: Vec<String>,
    pub grep: Option<regex::Regex>,
    pub tags: Vec<String>,
    /// Do not add needed flows.
    pub no_deps: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Indices into `suite.flows`, in run order.
    pub order: Vec<usize>,
    /// Flows added only because a selected flow needs them.
    pub added_as_dependency: BTreeSet<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("no flow with id `{id}`{hint}")]
    UnknownFlow { id: String, hint: String },
    #[error("no flow matches the selection ({0})")]
    Empty(String),
}

pub fn build(suite: &Suite, selection: &Selection) -> Result<Plan, PlanError> {
    let index = id_index(suite);
    let mut selected = BTreeSet::new();
    for id in &selection.ids {
        match index.get(id.as_str()) {
            Some(&i) => {
                selected.insert(i);
            }
            None => {
                let close = suite
                    .flows
                    .iter()
                    .map(|f| f.ast.id.value.as_str())
                    .min_by_key(|known| strsim::levenshtein(known, id));
                let hint = match close {
                    Some(c) if strsim::levenshtein(c, id) <= 3 => {
                        format!("; did you mean `{c}`? (`flows list` shows all)")
                    }
                    _ => "; `flows list` shows the flows".to_owned(),
                };
                return Err(PlanError::UnknownFlow {
                    id: id.clone(),
                    hint,
                });
            }
        }
    }
    let filtering = selection.grep.is_some() || !selection.tags.is_empty();
    if selection.ids.is_empty() {
        for (i, f) in suite.flows.iter().enumerate() {
            let grep_ok = selection
                .grep
                .as_ref()
                .is_none_or(|re| re.is_match(&f.ast.id.value) || re.is_match(&f.ast.title.value));
            let tags_ok = selection.tags.is_empty()
                || selection
                    .tags
                    .iter()
                    .any(|t| f.ast.tags.iter().any(|ft| ft.value == *t));
            if grep_ok && tags_ok {
                selected.insert(i);
            }
        }
    }
    if selected.is_empty() {
        let mut what = Vec::new();
        if let Some(g) = &selection.grep {
            what.push(format!("--grep {}", g.as_str()));
        }
        if !selection.tags.is_empty() {
            what.push(format!("--tag {}", selection.tags.join(",")));
        }
        if !filtering {
            what.push("the suite has no flows".to_owned());
        }
        return Err(PlanError::Empty(what.join(", ")));
    }
    let mut included = selected.clone();
    let mut added = BTreeSet::new();
    if !selection.no_deps {
        let mut stack: Vec<usize> = selected.iter().copied().collect();
        while let Some(i) = stack.pop() {
            for need in &suite.flows[i].ast.needs {
                if let Some(&j) = index.get(need.value.as_str()) {
                    if included.insert(j) {
                        added.insert(j);
                        stack.push(j);
                    }
                }
            }
        }
    }
    Ok(Plan {
        order: topological(suite, &index, &included),
        added_as_dependency: added,
    })
}

/// Stable topological order: repeatedly take the first (in file order) flow whose needs are all
/// placed. The checker has ruled out cycles.
fn topological(
    suite: &Suite,
    index: &HashMap<&str, usize>,
    included: &BTreeSet<usize>,
) -> Vec<usize> {
    let mut order = Vec::with_capacity(included.len());
    let mut placed = BTreeSet::new();
    while order.len() < included.len() {
        let next = included.iter().copied().find(|&i| {
            !placed.contains(&i)
                && suite.flows[i].ast.needs.iter().all(|n| {
                    index
                        .get(n.value.as_str())
                        .is_none_or(|j| placed.contains(j) || !included.contains(j))
                })
        });
        match next {
            Some(i) => {
                placed.insert(i);
                order.push(i);
            }
            None => break, // unreachable with a checked suite; never loop forever
        }
    }
    order
}

fn id_index(suite: &Suite) -> HashMap<&str, usize> {
    suite
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| (f.ast.id.value.as_str(), i))
        .collect()
}

impl Plan {
    /// For each planned flow, the flows it directly needs that are not in the plan (what
    /// `--no-deps` left out), in plan order.
    pub fn missing_needs(&self, suite: &Suite) -> Vec<(usize, Vec<usize>)> {
        let index = id_index(suite);
        self.order
            .iter()
            .filter_map(|&i| {
                let missing: Vec<usize> = suite.flows[i]
                    .ast
                    .needs
                    .iter()
                    .filter_map(|n| index.get(n.value.as_str()).copied())
                    .filter(|j| !self.order.contains(j))
                    .collect();
                (!missing.is_empty()).then_some((i, missing))
            })
            .collect()
    }

    /// `flows` and everything they need, transitively (not including flows already planned).
    pub fn closure_outside(&self, suite: &Suite, flows: &[usize]) -> BTreeSet<usize> {
        let index = id_index(suite);
        let mut out = BTreeSet::new();
        let mut stack: Vec<usize> = flows.to_vec();
        while let Some(i) = stack.pop() {
            if self.order.contains(&i) || !out.insert(i) {
                continue;
            }
            for need in &suite.flows[i].ast.needs {
                if let Some(&j) = index.get(need.value.as_str()) {
                    stack.push(j);
                }
            }
        }
        out
    }

    /// This plan with `flows` and their needs added back (a saved session that cannot be
    /// reused falls back to running the flows that log the user in).
    pub fn with_added(&self, suite: &Suite, flows: &[usize]) -> Plan {
        let index = id_index(suite);
        let added = self.closure_outside(suite, flows);
        let mut included: BTreeSet<usize> = self.order.iter().copied().collect();
        included.extend(added.iter().copied());
        let mut added_as_dependency = self.added_as_dependency.clone();
        added_as_dependency.extend(added);
        Plan {
            order: topological(suite, &index, &included),
            added_as_dependency,
        }
    }
}

impl Plan {
    /// The part of this plan that shard `spec` runs, and what the report records of it.
    /// `durations` (milliseconds by flow id, from the run history) weigh the flows when `key`
    /// is [`ShardKey::History`]; a flow without one weighs as its step count would.
    pub fn shard(
        &self,
        suite: &Suite,
        spec: ShardSpec,
        key: ShardKey,
        durations: &HashMap<String, u64>,
    ) -> (Plan, ShardInfo) {
        let index = id_index(suite);
        let ids: Vec<String> = self
            .order
            .iter()
            .map(|&i| suite.flows[i].id().to_owned())
            .collect();
        let position: HashMap<usize, usize> = self
            .order
            .iter()
            .enumerate()
            .map(|(p, &i)| (i, p))
            .collect();
        let needs: Vec<Vec<usize>> = self
            .order
            .iter()
            .map(|&i| {
                suite.flows[i]
                    .ast
                    .needs
                    .iter()
                    .filter_map(|n| index.get(n.value.as_str()))
                    .filter_map(|j| position.get(j).copied())
                    .collect()
            })
            .collect();
        let weights: Vec<u64> = self
            .order
            .iter()
            .map(|&i| {
                let steps = u64::try_from(suite.flows[i].steps.len()).unwrap_or(u64::MAX);
                match key {
                    ShardKey::History => durations.get(suite.flows[i].id()).copied(),
                    ShardKey::Steps => None,
                }
                .unwrap_or(steps)
                .max(1)
            })
            .collect();
        let shards = shard::partition(
            &ShardInput {
                ids: &ids,
                needs: &needs,
                weights: &weights,
            },
            spec.count,
        );
        let mine = spec.index - 1;
        let order: Vec<usize> = self
            .order
            .iter()
            .zip(&shards)
            .filter(|(_, &s)| s == mine)
            .map(|(&i, _)| i)
            .collect();
        let added_as_dependency = self
            .added_as_dependency
            .iter()
            .copied()
            .filter(|i| order.contains(i))
            .collect();
        let info = ShardInfo {
            index: spec.index,
            count: spec.count,
            key: key.as_str().to_owned(),
            partition: shard::partition_digest(&ids, &shards, key),
            plan: ids,
        };
        (
            Plan {
                order,
                added_as_dependency,
            },
            info,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowfile::check::{load_suite, CheckEnv};

    /// login ← portal ← ticket; logout ← login; `smoke` on login and logout.
    fn suite() -> (tempfile::TempDir, Suite) {
        let dir = tempfile::tempdir().expect("tempdir");
        let flows = [
            ("1-login.yaml", "login", "Log in", "[]", "[auth, smoke]"),
            (
                "2-portal.yaml",
                "portal",
                "Open the portal",
                "[login]",
                "[]",
            ),
            (
                "3-ticket.yaml",
                "ticket",
                "Create a ticket",
                "[portal]",
                "[ticket]",
            ),
            (
                "4-logout.yaml",
                "logout",
                "Log out",
                "[login]",
                "[auth, smoke]",
            ),
        ];
        for (file, id, title, needs, tags) in flows {
            let text = format!(
                "id: {id}\ntitle: {title}\nuser: u\nneeds: {needs}\ntags: {tags}\nsteps:\n  - goto: /\n"
            );
            std::fs::write(dir.path().join(file), text).expect("write");
        }
        let suite = load_suite(dir.path(), &CheckEnv::new(["u"], Vec::<String>::new()))
            .expect("suite checks");
        (dir, suite)
    }

    fn ids(suite: &Suite, plan: &Plan) -> Vec<String> {
        plan.order
            .iter()
            .map(|&i| suite.flows[i].ast.id.value.clone())
            .collect()
    }

    fn select(suite: &Suite, f: impl FnOnce(&mut Selection)) -> Plan {
        let mut s = Selection::default();
        f(&mut s);
        build(suite, &s).expect("plan")
    }

    #[test]
    fn grep_and_tags_select_then_needs_are_added_in_order() {
        let (_dir, suite) = suite();
        let plan = select(&suite, |s| {
            s.grep = Some(regex::Regex::new("ticket").expect("re"))
        });
        assert_eq!(ids(&suite, &plan), ["login", "portal", "ticket"]);
        assert_eq!(plan.added_as_dependency.len(), 2);
        // The title matches too.
        let plan = select(&suite, |s| {
            s.grep = Some(regex::Regex::new("Log out").expect("re"))
        });
        assert_eq!(ids(&suite, &plan), ["login", "logout"]);
        let plan = select(&suite, |s| s.tags = vec!["smoke".into()]);
        assert_eq!(ids(&suite, &plan), ["login", "logout"]);
        let err = build(
            &suite,
            &Selection {
                tags: vec!["nope".into()],
                ..Default::default()
            },
        )
        .expect_err("no match");
        assert_eq!(
            err.to_string(),
            "no flow matches the selection (--tag nope)"
        );
    }

    #[test]
    fn no_deps_leaves_needs_out_and_with_added_puts_them_back() {
        let (_dir, suite) = suite();
        let plan = select(&suite, |s| {
            s.ids = vec!["ticket".into()];
            s.no_deps = true;
        });
        assert_eq!(ids(&suite, &plan), ["ticket"]);
        let missing = plan.missing_needs(&suite);
        assert_eq!(missing.len(), 1);
        let (flow, needs) = &missing[0];
        assert_eq!(suite.flows[*flow].ast.id.value, "ticket");
        let left_out = plan.closure_outside(&suite, needs);
        assert_eq!(left_out.len(), 2, "portal and, through it, login");
        let back = plan.with_added(&suite, needs);
        assert_eq!(ids(&suite, &back), ["login", "portal", "ticket"]);
        assert!(back.missing_needs(&suite).is_empty());
    }

    #[test]
    fn shards_of_a_plan_keep_chains_whole_and_plan_order() {
        let (_dir, suite) = suite();
        let plan = select(&suite, |s| s.ids = vec!["ticket".into(), "logout".into()]);
        // One component (login ← portal ← ticket, login ← logout): all on shard 1.
        let spec = |index| ShardSpec { index, count: 2 };
        let none = HashMap::new();
        let (one, info) = plan.shard(&suite, spec(1), ShardKey::Steps, &none);
        assert_eq!(ids(&suite, &one), ids(&suite, &plan));
        assert_eq!(one.added_as_dependency, plan.added_as_dependency);
        assert_eq!(info.plan, ids(&suite, &plan));
        assert_eq!((info.index, info.count, info.key.as_str()), (1, 2, "steps"));
        let (two, info2) = plan.shard(&suite, spec(2), ShardKey::Steps, &none);
        assert!(
            two.order.is_empty(),
            "more shards than chains: shard 2 is empty"
        );
        assert_eq!(
            info.partition, info2.partition,
            "both shards agree on the partition"
        );
        // Durations change the digest (another key), not the membership here.
        let durations = HashMap::from([("login".to_owned(), 5000)]);
        let (_, by_history) = plan.shard(&suite, spec(1), ShardKey::History, &durations);
        assert_ne!(by_history.partition, info.partition);
    }
}
