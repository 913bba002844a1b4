//! What flows know of each other: ids (one flow each), `needs` (known, not twice, not itself,
//! no cycles), and what follows from them: the flows each one needs (directly or through
//! others), who captures which variable, and which marks a flow sees (`since:`).
//!
//! Built once every flow is checked on its own (from its [`FlowFacts`]); imports only the
//! leaves of `check/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::flowfile::ast::FlowFile;
use crate::flowfile::diagnostic::Diagnostic;
use crate::flowfile::span::Loc;
use crate::flowfile::suggest::{did_you_mean_prefix, list};

use super::cycles::find_cycles;
use super::env::{shown, value_len};
use super::facts::FlowFacts;

/// A parsed flow: its file, its source, its tree.
pub(super) type Parsed = (PathBuf, Arc<str>, FlowFile);

/// The `needs` graph of a suite, with what each flow found out about itself.
pub(super) struct Needs<'a> {
    pub(super) files: &'a [Parsed],
    pub(super) facts: &'a [FlowFacts],
    /// Flows that did not parse: their id → the words in them.
    broken: &'a BTreeMap<String, BTreeSet<String>>,
    /// Each id → the first flow with it (an index into `files`).
    pub(super) first_of: BTreeMap<&'a str, usize>,
    /// `needs` of the flows that own their id: id → (needed id, where).
    edges: BTreeMap<&'a str, Vec<(&'a str, Loc)>>,
    /// Flows with a `needs` entry that is unknown.
    lenient: BTreeSet<&'a str>,
    /// Flows with `needs` entries that did not parse.
    needs_broken: BTreeMap<&'a str, Vec<&'a str>>,
}

impl<'a> Needs<'a> {
    /// Reads ids and `needs` of every flow, reporting duplicate ids, bad `needs` entries and
    /// cycles.
    pub(super) fn of(
        files: &'a [Parsed],
        facts: &'a [FlowFacts],
        broken: &'a BTreeMap<String, BTreeSet<String>>,
        diags: &mut Vec<Diagnostic>,
    ) -> Self {
        let mut needs = Needs {
            files,
            facts,
            broken,
            first_of: first_of_ids(files, diags),
            edges: BTreeMap::new(),
            lenient: BTreeSet::new(),
            needs_broken: BTreeMap::new(),
        };
        needs.read_needs(diags);
        needs.report_cycles(diags);
        needs
    }

    fn read_needs(&mut self, diags: &mut Vec<Diagnostic>) {
        let files = self.files;
        let known_ids: Vec<&str> = self.first_of.keys().copied().collect();
        for (i, (path, source, ast)) in files.iter().enumerate() {
            let id = ast.id.value.as_str();
            let own = self.first_of.get(id) == Some(&i);
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            for need in &ast.needs {
                let n = need.value.as_str();
                let len = value_len(source, need.loc, n);
                if !seen.insert(n) {
                    diags.push(
                        Diagnostic::new(path, format!("`{n}` is listed twice in `needs`"))
                            .at(need.loc, len)
                            .hint("remove the second one"),
                    );
                    continue;
                }
                if n == id {
                    diags.push(
                        Diagnostic::new(path, format!("flow `{id}` needs itself"))
                            .at(need.loc, len)
                            .label("this flow's own id")
                            .hint("remove it from `needs`"),
                    );
                    continue;
                }
                if !self.first_of.contains_key(n) {
                    if let Some((broken_id, _)) = self.broken.get_key_value(n) {
                        self.needs_broken
                            .entry(id)
                            .or_default()
                            .push(broken_id.as_str());
                    } else {
                        diags.push(unknown_need(path, (need.loc, len), n, id, &known_ids));
                        self.lenient.insert(id);
                    }
                    continue;
                }
                if own {
                    self.edges.entry(id).or_default().push((n, need.loc));
                }
            }
        }
    }

    fn report_cycles(&self, diags: &mut Vec<Diagnostic>) {
        let known_ids: Vec<&str> = self.first_of.keys().copied().collect();
        for cycle in find_cycles(&known_ids, &self.edges) {
            let start = cycle[0];
            let next = cycle[1];
            let i = self.first_of[start];
            let (path, source, _) = &self.files[i];
            let loc = self.edges[start]
                .iter()
                .find(|(n, _)| *n == next)
                .map(|(_, l)| *l)
                .unwrap_or_default();
            diags.push(
                Diagnostic::new(path, format!("needs cycle: {}", cycle.join(" → ")))
                    .at(loc, value_len(source, loc, next))
                    .label(format!("`{start}` needs `{next}`"))
                    .hint("flows in a cycle can never run: remove one of these `needs`"),
            );
        }
    }

    /// Every flow `id` needs, directly or through others (not itself).
    pub(super) fn closure_of(&self, id: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            for (n, _) in self.edges.get(cur).map(Vec::as_slice).unwrap_or(&[]) {
                if *n != id && out.insert(n.to_string()) {
                    stack.push(n);
                }
            }
        }
        out
    }

    /// Whether unknown bare names in `id` follow from an unknown `needs` entry (its own or one
    /// of a flow it needs): those are not reported.
    pub(super) fn is_lenient(&self, id: &str, closure: &BTreeSet<String>) -> bool {
        self.lenient.contains(id) || closure.iter().any(|n| self.lenient.contains(n.as_str()))
    }

    /// The words of the flows that did not parse and that `id` needs (directly or through
    /// `closure`): a bare name among them may be captured there.
    pub(super) fn maybe_from_broken(
        &self,
        id: &'a str,
        closure: &BTreeSet<String>,
    ) -> BTreeSet<&'a str> {
        let mut words: BTreeSet<&str> = BTreeSet::new();
        for who in std::iter::once(id).chain(closure.iter().map(String::as_str)) {
            for b in self.needs_broken.get(who).map(Vec::as_slice).unwrap_or(&[]) {
                words.extend(self.broken[*b].iter().map(String::as_str));
            }
        }
        words
    }

    /// Variables captured by the flows in `closure`: name → the first of them (by id) that
    /// captures it.
    pub(super) fn captured_in_needs(
        &self,
        closure: &BTreeSet<String>,
    ) -> BTreeMap<&'a str, &'a str> {
        let mut from_needs: BTreeMap<&str, &str> = BTreeMap::new();
        for n in closure {
            if let Some(&j) = self.first_of.get(n.as_str()) {
                for c in &self.facts[j].captures {
                    from_needs
                        .entry(c.name.as_str())
                        .or_insert(self.files[j].2.id.value.as_str());
                }
            }
        }
        from_needs
    }

    /// `since: MARK` names a mark set on an earlier step of flow `i`, or in a flow it needs
    /// (directly or through others, `closure`): a window cannot start at a moment this flow
    /// never sees.
    pub(super) fn check_since(
        &self,
        i: usize,
        closure: &BTreeSet<String>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let (path, source, ast) = &self.files[i];
        let facts = self.facts;
        let files = self.files;
        for (step, name) in &facts[i].since {
            let own = facts[i].marks.iter().find(|(_, m)| m.value == name.value);
            if own.is_some_and(|(at, _)| at < step) {
                continue;
            }
            let setters: Vec<&str> = files
                .iter()
                .zip(facts)
                .filter(|(_, f)| f.marks.iter().any(|(_, m)| m.value == name.value))
                .map(|((_, _, a), _)| a.id.value.as_str())
                .filter(|id| *id != ast.id.value)
                .collect();
            if setters.iter().any(|id| closure.contains(*id)) {
                continue;
            }
            let len = value_len(source, name.loc, &name.value).max(1);
            let d = Diagnostic::new(path, format!("no mark `{}` before this step", name.value))
                .at(name.loc, len)
                .label("unknown mark");
            let d = if let Some((at, _)) = own {
                d.hint(format!(
                    "step {} sets `{}`, after this one (step {}): a window starts at an earlier moment",
                    at + 1,
                    name.value,
                    step + 1
                ))
            } else if let Some(other) = setters.first() {
                d.hint(format!(
                    "flow `{other}` sets it, but `{}` does not need `{other}`: add `needs: [{other}]` \
                     (a mark is seen by the flow that sets it and the flows that need that one)",
                    ast.id.value
                ))
            } else {
                let visible = facts[i]
                    .marks
                    .iter()
                    .filter(|(at, _)| at < step)
                    .map(|(_, m)| m.value.clone())
                    .chain(
                        facts
                            .iter()
                            .flat_map(|f| f.marks.iter().map(|(_, m)| m.value.clone())),
                    )
                    .collect::<Vec<_>>();
                d.hint(format!(
                    "{}set it with `mark: {}` on the step that triggers the mail",
                    did_you_mean_prefix(&name.value, visible.iter().map(String::as_str)),
                    name.value
                ))
            };
            diags.push(d);
        }
    }

    /// Every variable → the flows (owning their id) that capture it.
    pub(super) fn captured_by(&self) -> BTreeMap<&'a str, Vec<&'a str>> {
        let mut captured_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (i, (_, _, ast)) in self.files.iter().enumerate() {
            if self.first_of.get(ast.id.value.as_str()) != Some(&i) {
                continue;
            }
            for c in &self.facts[i].captures {
                let who = captured_by.entry(c.name.as_str()).or_default();
                if !who.contains(&ast.id.value.as_str()) {
                    who.push(ast.id.value.as_str());
                }
            }
        }
        captured_by
    }
}

/// Each id → its first flow (an index into `files`); later flows with the same id are errors.
fn first_of_ids<'a>(files: &'a [Parsed], diags: &mut Vec<Diagnostic>) -> BTreeMap<&'a str, usize> {
    let mut first_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (path, source, ast)) in files.iter().enumerate() {
        let id = ast.id.value.as_str();
        match first_of.get(id) {
            Some(&j) => {
                let (first_path, _, first_ast) = &files[j];
                diags.push(
                    Diagnostic::new(path, format!("duplicate flow id `{id}`"))
                        .at(ast.id.loc, value_len(source, ast.id.loc, id))
                        .label(format!("also the id of {}", shown(first_path)))
                        .note(first_path, first_ast.id.loc, "first defined here")
                        .hint("each flow needs its own id: rename one of them"),
                );
            }
            None => {
                first_of.insert(id, i);
            }
        }
    }
    first_of
}

/// `needs: [n]` names no flow of the suite (`id` is the flow that needs it).
fn unknown_need(
    path: &std::path::Path,
    (loc, len): (Loc, usize),
    n: &str,
    id: &str,
    known_ids: &[&str],
) -> Diagnostic {
    let others: Vec<&str> = known_ids.iter().copied().filter(|k| *k != id).collect();
    let hint = if others.is_empty() {
        "no other flow is defined in this suite".to_string()
    } else {
        format!(
            "{}flows are: {}",
            did_you_mean_prefix(n, others.iter().copied()),
            list(others.iter().copied(), 12)
        )
    };
    Diagnostic::new(path, format!("unknown flow `{n}` in `needs`"))
        .at(loc, len)
        .label("no flow has this id")
        .hint(hint)
}
