//! Cycles of the `needs` graph: Tarjan's strongly connected components, then the shortest way
//! round each one, so that each cycle is one short error.
//!
//! A leaf of `check/`.

use std::collections::{BTreeMap, BTreeSet};

use crate::flowfile::span::Loc;

/// Simple cycles of the `needs` graph, one per strongly connected component, each starting at
/// its smallest id and ending where it started (`[a, b, a]`).
pub(super) fn find_cycles<'a>(
    ids: &[&'a str],
    edges: &BTreeMap<&'a str, Vec<(&'a str, Loc)>>,
) -> Vec<Vec<&'a str>> {
    // Tarjan's algorithm, iteratively small enough for suites: recursion depth = chain length.
    struct Tarjan<'a, 'e> {
        edges: &'e BTreeMap<&'a str, Vec<(&'a str, Loc)>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        on_stack: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        next: usize,
        sccs: Vec<Vec<&'a str>>,
    }
    impl<'a> Tarjan<'a, '_> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            let edges = self.edges;
            for (w, _) in edges.get(v).map(Vec::as_slice).unwrap_or(&[]) {
                let reach = if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.get(w).copied()
                } else if self.on_stack.contains(w) {
                    self.index.get(w).copied()
                } else {
                    None
                };
                if let (Some(r), Some(lv)) = (reach, self.low.get_mut(v)) {
                    *lv = (*lv).min(r);
                }
            }
            if self.low[v] == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                self.sccs.push(scc);
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        sccs: Vec::new(),
    };
    for id in ids {
        if !t.index.contains_key(id) {
            t.visit(id);
        }
    }
    let mut cycles = Vec::new();
    for scc in t.sccs {
        if scc.len() < 2 {
            continue;
        }
        let members: BTreeSet<&str> = scc.iter().copied().collect();
        let Some(&start) = members.iter().next() else {
            continue;
        };
        // Shortest way back to `start` inside the component (BFS), so the message is short.
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut end = None;
        'bfs: while let Some(cur) = queue.pop_front() {
            for (n, _) in edges.get(cur).map(Vec::as_slice).unwrap_or(&[]) {
                if !members.contains(n) {
                    continue;
                }
                if *n == start {
                    end = Some(cur);
                    break 'bfs;
                }
                if !prev.contains_key(n) {
                    prev.insert(n, cur);
                    queue.push_back(n);
                }
            }
        }
        let Some(mut cur) = end else { continue };
        let mut path = vec![cur];
        while cur != start {
            cur = prev[cur];
            path.push(cur);
        }
        path.reverse();
        path.push(start);
        cycles.push(path);
    }
    cycles.sort();
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_cycles_shortest() {
        let l = Loc::default();
        let mut edges: BTreeMap<&str, Vec<(&str, Loc)>> = BTreeMap::new();
        edges.insert("a", vec![("b", l)]);
        edges.insert("b", vec![("c", l), ("a", l)]);
        edges.insert("c", vec![("a", l)]);
        assert_eq!(
            find_cycles(&["a", "b", "c"], &edges),
            vec![vec!["a", "b", "a"]]
        );
        edges.insert("b", vec![("c", l)]);
        assert_eq!(
            find_cycles(&["a", "b", "c"], &edges),
            vec![vec!["a", "b", "c", "a"]]
        );
        edges.clear();
        assert!(find_cycles(&["a"], &edges).is_empty());
    }
}
