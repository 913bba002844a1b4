//! Shards: one plan split over `n` machines (`flows run --shard i/n`), deterministically, so
//! that every machine computes the same partition from the same suite and run history.
//!
//! A needs-chain is never split: the flows of one weakly connected component of the needs
//! graph (a flow and everything it needs or that needs it, within the plan) run on one shard,
//! since a flow relies on the browser state and captures its needs leave behind. Components are
//! balanced by weight (recorded durations, else step counts) greedily: heaviest first, each onto
//! the lightest shard so far; equal weights go in order of their smallest flow id, equal loads to
//! the lower shard. So the partition depends on the graph and the weights only, never on the
//! order flows were listed in. Within a shard, flows keep the plan's order.
//!
//! Does not own: which flows are planned (`plan`), running a shard (the executor runs the plan
//! it is given), putting shards' reports back together (`cli::merge_reports`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use sha2::Digest;

/// `--shard i/n`: the `index`-th (1-based) of `count` shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

/// What makes `--shard` text unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardSpecError {
    #[error("`{0}` is not of the form INDEX/COUNT (e.g. 1/4)")]
    Form(String),
    #[error("`{text}`: {part} `{value}` is not a whole number")]
    Number {
        text: String,
        part: &'static str,
        value: String,
    },
    #[error("`{0}`: the shard count must be at least 1")]
    NoShards(String),
    #[error("`{text}`: the shard index counts from 1 to {count}")]
    OutOfRange { text: String, count: u32 },
}

impl FromStr for ShardSpec {
    type Err = ShardSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| ShardSpecError::Form(text.to_owned()))?;
        let number = |part: &'static str, value: &str| {
            value
                .trim()
                .parse::<u32>()
                .map_err(|_| ShardSpecError::Number {
                    text: text.to_owned(),
                    part,
                    value: value.to_owned(),
                })
        };
        let index = number("the index", i)?;
        let count = number("the count", n)?;
        if count == 0 {
            return Err(ShardSpecError::NoShards(text.to_owned()));
        }
        if index == 0 || index > count {
            return Err(ShardSpecError::OutOfRange {
                text: text.to_owned(),
                count,
            });
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What the partition balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardKey {
    /// Each flow's duration in the last recorded run that ran it (`.flows/history.jsonl`).
    History,
    /// Each flow's step count (group steps expanded; a data-driven row is a flow of its own).
    Steps,
}

impl ShardKey {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardKey::History => "history",
            ShardKey::Steps => "steps",
        }
    }
}

/// The flows a partition is made of: ids, needs (as indices into the same list, edges to flows
/// outside the list left out) and weights, one per flow.
#[derive(Debug, Clone)]
pub struct ShardInput<'a> {
    pub ids: &'a [String],
    pub needs: &'a [Vec<usize>],
    pub weights: &'a [u64],
}

/// The shard (0-based) of every flow of `input`, in `input` order, over `count` shards (at
/// least 1).
pub fn partition(input: &ShardInput<'_>, count: u32) -> Vec<u32> {
    let n = input.ids.len();
    let components = components(n, input.needs);
    // Per component: its flows, weight and smallest id (the tie-breaker).
    let mut groups: BTreeMap<usize, (Vec<usize>, u64, &str)> = BTreeMap::new();
    for (flow, &root) in components.iter().enumerate() {
        let weight = input.weights.get(flow).copied().unwrap_or(1);
        let id = input.ids[flow].as_str();
        let entry = groups.entry(root).or_insert((Vec::new(), 0, id));
        entry.0.push(flow);
        entry.1 = entry.1.saturating_add(weight);
        if id < entry.2 {
            entry.2 = id;
        }
    }
    let mut groups: Vec<(Vec<usize>, u64, &str)> = groups.into_values().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.2.cmp(b.2)));
    let count = count.max(1) as usize;
    let mut loads = vec![0u64; count];
    let mut out = vec![0u32; n];
    for (flows, weight, _) in groups {
        // The lightest shard; the first of equals (`min_by_key` keeps the first minimum).
        let (shard, _) = loads
            .iter()
            .enumerate()
            .min_by_key(|&(_, load)| *load)
            .unwrap_or((0, &0));
        loads[shard] = loads[shard].saturating_add(weight);
        for f in flows {
            out[f] = u32::try_from(shard).unwrap_or(0);
        }
    }
    out
}

/// The weakly connected components of the needs graph: for each flow, a representative flow
/// of its component (union-find, smallest index as the root).
fn components(n: usize, needs: &[Vec<usize>]) -> Vec<usize> {
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut parent: Vec<usize> = (0..n).collect();
    for (flow, its_needs) in needs.iter().enumerate().take(n) {
        for &need in its_needs {
            if need >= n {
                continue;
            }
            let (a, b) = (find(&mut parent, flow), find(&mut parent, need));
            if a != b {
                let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                parent[hi] = lo;
            }
        }
    }
    (0..n).map(|x| find(&mut parent, x)).collect()
}

/// A 16-digit digest of a partition (each flow id with its shard, in the given order, and the
/// key): shards of one run must agree on it.
pub fn partition_digest(ids: &[String], shards: &[u32], key: ShardKey) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(key.as_str().as_bytes());
    hasher.update(b"\n");
    for (id, shard) in ids.iter().zip(shards) {
        hasher.update(format!("{id}\t{shard}\n").as_bytes());
    }
    let hex = format!("{:x}", hasher.finalize());
    hex[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i:02}")).collect()
    }

    #[test]
    fn shard_specs_parse_and_bad_ones_say_what_is_wrong() {
        assert_eq!(
            "2/3".parse::<ShardSpec>(),
            Ok(ShardSpec { index: 2, count: 3 })
        );
        assert_eq!(
            "1/1".parse::<ShardSpec>().map(|s| s.to_string()),
            Ok("1/1".into())
        );
        let err = |t: &str| t.parse::<ShardSpec>().expect_err(t).to_string();
        assert_eq!(err("3"), "`3` is not of the form INDEX/COUNT (e.g. 1/4)");
        assert_eq!(err("0/2"), "`0/2`: the shard index counts from 1 to 2");
        assert_eq!(err("3/2"), "`3/2`: the shard index counts from 1 to 2");
        assert_eq!(err("1/0"), "`1/0`: the shard count must be at least 1");
        assert_eq!(err("a/2"), "`a/2`: the index `a` is not a whole number");
        assert_eq!(err("1/-2"), "`1/-2`: the count `-2` is not a whole number");
    }

    #[test]
    fn chains_stay_together_and_heaviest_go_first_onto_the_lightest_shard() {
        // a ← b ← c (weight 3), d ← e (2), f (2), g (1): over 2 shards, the chain of 3 goes to
        // shard 0, then d-e (2) and f (2) by their smallest id: d-e to shard 1, f to shard 1
        // (2 < 3), g to shard 0 (3 < 4).
        let ids: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let needs = vec![vec![], vec![0], vec![1], vec![], vec![3], vec![], vec![]];
        let weights = vec![1; 7];
        let input = ShardInput {
            ids: &ids,
            needs: &needs,
            weights: &weights,
        };
        assert_eq!(partition(&input, 2), [0, 0, 0, 1, 1, 1, 0]);
        // More shards than components: the last one is empty.
        let five = partition(&input, 5);
        assert_eq!(five, [0, 0, 0, 1, 1, 2, 3]);
        assert!(!five.contains(&4));
    }

    #[test]
    fn the_digest_changes_with_the_partition_and_the_key() {
        let ids = ids(3);
        let a = partition_digest(&ids, &[0, 1, 0], ShardKey::Steps);
        assert_eq!(a.len(), 16);
        assert_eq!(a, partition_digest(&ids, &[0, 1, 0], ShardKey::Steps));
        assert_ne!(a, partition_digest(&ids, &[0, 0, 1], ShardKey::Steps));
        assert_ne!(a, partition_digest(&ids, &[0, 1, 0], ShardKey::History));
    }

    /// A random DAG: each flow needs some of the flows before it.
    fn graph() -> impl Strategy<Value = (Vec<Vec<usize>>, Vec<u64>, u32)> {
        (1usize..30).prop_flat_map(|n| {
            let needs = (0..n)
                .map(|i| proptest::collection::vec(0..i.max(1), 0..3.min(i + 1)))
                .collect::<Vec<_>>();
            (
                needs.prop_map(move |mut needs| {
                    for (i, ns) in needs.iter_mut().enumerate() {
                        ns.retain(|&j| j < i);
                    }
                    needs
                }),
                proptest::collection::vec(1u64..1000, n),
                1u32..8,
            )
        })
    }

    proptest! {
        #[test]
        fn every_flow_in_one_shard_no_edge_across_deterministic_and_balanced(
            (needs, weights, count) in graph(),
            seed in any::<u64>(),
        ) {
            let n = needs.len();
            let ids = ids(n);
            let input = ShardInput { ids: &ids, needs: &needs, weights: &weights };
            let shards = partition(&input, count);
            // Exactly one shard each, within range.
            prop_assert_eq!(shards.len(), n);
            prop_assert!(shards.iter().all(|&s| s < count));
            // No needs edge crosses shards.
            for (i, ns) in needs.iter().enumerate() {
                for &j in ns {
                    prop_assert_eq!(shards[i], shards[j]);
                }
            }
            // Deterministic.
            prop_assert_eq!(&shards, &partition(&input, count));
            // Independent of the order the flows are listed in: a permutation of the input
            // gives each flow the same shard.
            let mut perm: Vec<usize> = (0..n).collect();
            let mut state = seed;
            for i in (1..n).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = usize::try_from(state >> 33).unwrap_or(0) % (i + 1);
                perm.swap(i, j);
            }
            // new position p holds old flow perm[p]
            let mut new_of = vec![0; n];
            for (p, &old) in perm.iter().enumerate() {
                new_of[old] = p;
            }
            let p_ids: Vec<String> = perm.iter().map(|&o| ids[o].clone()).collect();
            let p_needs: Vec<Vec<usize>> =
                perm.iter().map(|&o| needs[o].iter().map(|&j| new_of[j]).collect()).collect();
            let p_weights: Vec<u64> = perm.iter().map(|&o| weights[o]).collect();
            let permuted = partition(
                &ShardInput { ids: &p_ids, needs: &p_needs, weights: &p_weights },
                count,
            );
            for (old, &shard) in shards.iter().enumerate() {
                prop_assert_eq!(permuted[new_of[old]], shard);
            }
            // Greedy bound: no shard carries more than an even share plus the heaviest
            // component (list scheduling's guarantee).
            let roots = components(n, &needs);
            let mut component_weight: BTreeMap<usize, u64> = BTreeMap::new();
            for (f, &r) in roots.iter().enumerate() {
                *component_weight.entry(r).or_default() += weights[f];
            }
            let heaviest = component_weight.values().copied().max().unwrap_or(0);
            let total: u64 = weights.iter().sum();
            let mut loads = vec![0u64; count as usize];
            for (f, &s) in shards.iter().enumerate() {
                loads[s as usize] += weights[f];
            }
            let max = loads.iter().copied().max().unwrap_or(0);
            prop_assert!(
                max * u64::from(count) <= total + heaviest * u64::from(count),
                "max load {} over {} shards of total {} (heaviest component {})",
                max, count, total, heaviest
            );
        }
    }
}
