//! Checking a suite of flows before anything runs: every rule that can be decided from the
//! files and the configuration, with every problem reported at once (not just the first).
//!
//! Owns the rules of docs/flow-format.md that the YAML types cannot express: ids and `needs`
//! (unknown, cycles), users, locators (one kind, known ARIA roles, valid patterns), the shape of
//! each step, durations, upload files, and variables (every `{{ name }}` must be known at that
//! point of the flow). Does not parse YAML (`parse.rs`) nor run anything.
//!
//! This file holds the suite: loading, ids, `needs` and cycles, and putting the results
//! together. Its parts, each importing only the ones below it:
//!
//! - `env.rs`, `facts.rs`, `files.rs`, `cycles.rs`: leaves (the configuration's names and
//!   shared helpers; what a flow check finds out; the directory's files; `needs` cycles).
//! - `flow/`: one flow (or step group) on its own, step family by step family.
//! - `vars.rs` (which `{{ names }}` a step may use), `groups.rs` (step groups: loading, checking,
//!   expanding `use`), `rows.rs` (`each:` rows).

mod cycles;
mod env;
mod facts;
mod files;
mod flow;
pub mod groups;
pub mod rows;
mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::flowfile::ast::FlowFile;
use crate::flowfile::diagnostic::{Diagnostic, Diagnostics};
use crate::flowfile::parse::parse_flow;
use crate::flowfile::span::{Loc, Sp};
use crate::flowfile::suggest::{did_you_mean_prefix, list};

use cycles::find_cycles;
// The configuration a check runs against: named by every caller of `load_suite`.
use env::{is_flow_id, shown, value_len};
pub use env::{CheckEnv, EachLimits};
use facts::{FlowFacts, GroupInfo};
use files::{io_words, yaml_entries};
use flow::FlowChecker;
use groups::{expand, load_groups, GroupCall, Groups, PlannedStep};
use rows::{rows_of, Row};
use vars::VarScope;

/// A checked suite: every flow is well-formed and every name in it resolves.
#[derive(Debug, Clone)]
pub struct Suite {
    /// In file name order.
    pub flows: Vec<CheckedFlow>,
}

impl Suite {
    /// The flow with this id.
    pub fn get(&self, id: &str) -> Option<&CheckedFlow> {
        self.flows.iter().find(|f| f.ast.id.value == id)
    }
}

/// One checked flow.
#[derive(Debug, Clone)]
pub struct CheckedFlow {
    pub file: PathBuf,
    pub source: Arc<str>,
    /// The flow as written; for a data-driven flow's row, `id` is `id[row]`.
    pub ast: FlowFile,
    /// The steps that run: the flow's own, with `use` steps replaced by their group's steps.
    pub steps: Vec<PlannedStep>,
    /// The group calls `steps` refer to.
    pub calls: Vec<GroupCall>,
    /// This run's row of a data-driven flow (`{{ row.KEY }}`).
    pub row: Option<Arc<Row>>,
    /// The variables this flow captures (capture, http capture, mail otp/link).
    pub captures: BTreeMap<String, CaptureInfo>,
    /// Every flow this one needs, directly or through others (not itself).
    pub needs_closure: BTreeSet<String>,
}

impl CheckedFlow {
    pub fn id(&self) -> &str {
        &self.ast.id.value
    }
}

/// A variable a flow captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureInfo {
    /// Mail extractions, `capture … secret: true`, and variables some flow sends as a
    /// credential (an auth header, a `_token` field): redacted everywhere from the capture on.
    pub secret: bool,
    /// Where it is captured (the first place, if several steps capture it).
    pub loc: Loc,
}

/// Reads every `*.yaml` / `*.yml` file directly in `dir` (sorted by name), parses and checks
/// them all, and reports every problem found.
pub fn load_suite(dir: &Path, env: &CheckEnv) -> Result<Suite, Diagnostics> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostics::from(
            Diagnostic::new(
                dir,
                format!("cannot read the flow directory: {}", io_words(&e)),
            )
            .hint("flows are the `*.yaml` files next to flows.toml"),
        )
    })?;
    let (paths, mut diags) = yaml_entries(entries, "flow");
    if paths.is_empty() && diags.is_empty() {
        return Err(Diagnostic::new(dir, "no flow files here")
            .hint("a flow is a `*.yaml` file in this directory; see docs/flow-format.md")
            .into());
    }

    let mut parsed = Vec::new();
    // Flows that did not parse: their id and the words in them (the variables they may
    // capture), so that flows needing them get no follow-on errors.
    let mut broken: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in paths {
        let source = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                diags.push(Diagnostic::new(
                    &path,
                    format!("cannot read the flow file: {}", io_words(&e)),
                ));
                continue;
            }
        };
        match parse_flow(&path, &source) {
            Ok(ast) => parsed.push((path, Arc::<str>::from(source), ast)),
            Err(d) => {
                if let Some(id) = guess_id(&source) {
                    broken.insert(id, words(&source));
                }
                diags.push(d);
            }
        }
    }
    let (groups, infos, mut group_diags) = load_groups(dir, env);
    diags.append(&mut group_diags);
    check_all(parsed, &broken, env, diags, (&groups, &infos))
}

/// Checks flows that are already parsed (e.g. from memory); same rules as [`load_suite`].
pub fn check_flows(
    files: Vec<(PathBuf, Arc<str>, FlowFile)>,
    env: &CheckEnv,
) -> Result<Suite, Diagnostics> {
    check_all(
        files,
        &BTreeMap::new(),
        env,
        Vec::new(),
        (&Groups::new(), &BTreeMap::new()),
    )
}

/// The `id:` of a file that failed to parse, so that flows needing it are not told it does not
/// exist (its own error is reported already).
fn guess_id(source: &str) -> Option<String> {
    source.lines().find_map(|l| {
        let rest = l.strip_prefix("id:")?;
        let rest = rest
            .split(" #")
            .next()
            .unwrap_or(rest)
            .trim()
            .trim_matches(['"', '\'']);
        is_flow_id(rest).then(|| rest.to_string())
    })
}

/// The identifier-like words of a text.
fn words(source: &str) -> BTreeSet<String> {
    source
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_all(
    mut files: Vec<(PathBuf, Arc<str>, FlowFile)>,
    broken: &BTreeMap<String, BTreeSet<String>>,
    env: &CheckEnv,
    mut diags: Vec<Diagnostic>,
    (groups, group_infos): (&Groups, &BTreeMap<String, GroupInfo>),
) -> Result<Suite, Diagnostics> {
    files.sort_by(|a, b| a.0.cmp(&b.0));

    // 1. Each flow on its own (and the rows of data-driven ones).
    let mut facts: Vec<FlowFacts> = Vec::with_capacity(files.len());
    let mut rows: Vec<Option<Vec<Row>>> = Vec::with_capacity(files.len());
    for (path, source, ast) in &files {
        let mut checker = FlowChecker::new(path, source, ast, env, group_infos, false);
        checker.run();
        diags.append(&mut checker.diags);
        facts.push(checker.facts);
        match rows_of(path, source, ast, &env.each_limits) {
            Ok(r) => rows.push(r),
            Err(mut d) => {
                diags.append(&mut d);
                // Still data-driven: its `row.*` uses are not reported on top.
                rows.push(ast.each.as_ref().map(|_| Vec::new()));
            }
        }
    }

    // 2. Across flows: ids, needs, cycles.
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
    let known_ids: Vec<&str> = first_of.keys().copied().collect();
    let mut edges: BTreeMap<&str, Vec<(&str, Loc)>> = BTreeMap::new();
    // Flows with a `needs` entry that is unknown (`lenient`) or that did not parse.
    let mut lenient: BTreeSet<&str> = BTreeSet::new();
    let mut needs_broken: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, (path, source, ast)) in files.iter().enumerate() {
        let id = ast.id.value.as_str();
        let own = first_of.get(id) == Some(&i);
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
            if !first_of.contains_key(n) {
                if let Some((broken_id, _)) = broken.get_key_value(n) {
                    needs_broken.entry(id).or_default().push(broken_id.as_str());
                } else {
                    let others: Vec<&str> =
                        known_ids.iter().copied().filter(|k| *k != id).collect();
                    let hint = if others.is_empty() {
                        "no other flow is defined in this suite".to_string()
                    } else {
                        format!(
                            "{}flows are: {}",
                            did_you_mean_prefix(n, others.iter().copied()),
                            list(others.iter().copied(), 12)
                        )
                    };
                    diags.push(
                        Diagnostic::new(path, format!("unknown flow `{n}` in `needs`"))
                            .at(need.loc, len)
                            .label("no flow has this id")
                            .hint(hint),
                    );
                    lenient.insert(id);
                }
                continue;
            }
            if own {
                edges.entry(id).or_default().push((n, need.loc));
            }
        }
    }
    for cycle in find_cycles(&known_ids, &edges) {
        let start = cycle[0];
        let next = cycle[1];
        let i = first_of[start];
        let (path, source, _) = &files[i];
        let loc = edges[start]
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

    // 3. Closures and who captures what.
    let closure_of = |id: &str| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            for (n, _) in edges.get(cur).map(Vec::as_slice).unwrap_or(&[]) {
                if *n != id && out.insert(n.to_string()) {
                    stack.push(n);
                }
            }
        }
        out
    };
    let mut captured_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, (_, _, ast)) in files.iter().enumerate() {
        if first_of.get(ast.id.value.as_str()) != Some(&i) {
            continue;
        }
        for c in &facts[i].captures {
            let who = captured_by.entry(c.name.as_str()).or_default();
            if !who.contains(&ast.id.value.as_str()) {
                who.push(ast.id.value.as_str());
            }
        }
    }

    // 4. Variables, flow by flow.
    let mut closures = Vec::with_capacity(files.len());
    for (i, (path, source, ast)) in files.iter().enumerate() {
        let id = ast.id.value.as_str();
        let closure = closure_of(id);
        let is_lenient =
            lenient.contains(id) || closure.iter().any(|n| lenient.contains(n.as_str()));
        let mut maybe_from_broken: BTreeSet<&str> = BTreeSet::new();
        for who in std::iter::once(id).chain(closure.iter().map(String::as_str)) {
            for b in needs_broken.get(who).map(Vec::as_slice).unwrap_or(&[]) {
                maybe_from_broken.extend(broken[*b].iter().map(String::as_str));
            }
        }
        let mut from_needs: BTreeMap<&str, &str> = BTreeMap::new();
        for n in &closure {
            if let Some(&j) = first_of.get(n.as_str()) {
                for c in &facts[j].captures {
                    from_needs
                        .entry(c.name.as_str())
                        .or_insert(files[j].2.id.value.as_str());
                }
            }
        }
        let row_keys: Option<BTreeSet<String>> = rows[i].as_ref().map(|r| match r.first() {
            Some(first) => first.values.keys().cloned().collect(),
            None => words(source),
        });
        let scope = VarScope {
            env,
            flow: ast,
            own: &facts[i].captures,
            from_needs: &from_needs,
            captured_by: &captured_by,
            lenient: is_lenient,
            maybe_from_broken: &maybe_from_broken,
            params: None,
            row: row_keys.as_ref(),
        };
        scope.report_unknown(path, source, &facts[i].uses, &mut diags);
        check_since(path, source, ast, i, &facts, &files, &closure, &mut diags);
        closures.push(closure);
    }

    if !diags.is_empty() {
        let mut d = Diagnostics(diags);
        d.sort();
        d.0.dedup();
        return Err(d);
    }
    // A variable any flow sends as a credential is secret wherever it is captured, from the
    // capture on (names are matched suite-wide: a flow may capture what its dependants send).
    let credentials: BTreeSet<String> = facts
        .iter()
        .flat_map(|f| f.sent_as_credentials.iter().cloned())
        .collect();
    let mut flows: Vec<CheckedFlow> = Vec::with_capacity(files.len());
    for (((file, source, ast), facts), needs_closure) in files.into_iter().zip(facts).zip(closures)
    {
        let mut captures: BTreeMap<String, CaptureInfo> = BTreeMap::new();
        for c in facts.captures {
            let secret = c.secret || credentials.contains(&c.name);
            captures
                .entry(c.name)
                .and_modify(|info| info.secret |= secret)
                .or_insert(CaptureInfo { secret, loc: c.loc });
        }
        let expanded = expand(&ast.steps, groups);
        if let Some((loc, message)) = expanded.too_big {
            diags.push(
                Diagnostic::new(file.clone(), message)
                    .at(loc, 1)
                    .label("expands too far")
                    .hint("split the flow, or have groups use fewer groups"),
            );
            continue;
        }
        flows.push(CheckedFlow {
            file,
            source,
            ast,
            steps: expanded.steps,
            calls: expanded.calls,
            row: None,
            captures,
            needs_closure,
        });
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    Ok(Suite {
        flows: expand_rows(flows, rows),
    })
}

/// `since: MARK` names a mark set on an earlier step of the flow, or in a flow it needs
/// (directly or through others): a window cannot start at a moment this flow never sees.
#[expect(
    clippy::too_many_arguments,
    reason = "one suite-wide check over the parts check_all holds"
)]
fn check_since(
    path: &Path,
    source: &str,
    ast: &FlowFile,
    i: usize,
    facts: &[FlowFacts],
    files: &[(PathBuf, Arc<str>, FlowFile)],
    closure: &BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
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

/// Replaces each data-driven flow by one flow per row (`id[name]`); a `needs` of it becomes a
/// need of every row.
fn expand_rows(flows: Vec<CheckedFlow>, rows: Vec<Option<Vec<Row>>>) -> Vec<CheckedFlow> {
    let mut row_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = Vec::with_capacity(flows.len());
    for (flow, rows) in flows.into_iter().zip(rows) {
        match rows {
            Some(rows) => {
                let base = flow.ast.id.value.clone();
                let ids = row_ids.entry(base.clone()).or_default();
                for row in rows {
                    let mut f = flow.clone();
                    f.ast.id.value = format!("{base}[{}]", row.name);
                    f.ast.title.value = format!("{} [{}]", flow.ast.title.value, row.name);
                    ids.push(f.ast.id.value.clone());
                    f.row = Some(Arc::new(row));
                    out.push(f);
                }
            }
            None => out.push(flow),
        }
    }
    if row_ids.is_empty() {
        return out;
    }
    for f in &mut out {
        let needs = std::mem::take(&mut f.ast.needs);
        for n in needs {
            match row_ids.get(&n.value) {
                Some(ids) => f
                    .ast
                    .needs
                    .extend(ids.iter().map(|id| Sp::new(id.clone(), n.loc))),
                None => f.ast.needs.push(n),
            }
        }
        let closure = std::mem::take(&mut f.needs_closure);
        for n in closure {
            match row_ids.get(&n) {
                Some(ids) => f.needs_closure.extend(ids.iter().cloned()),
                None => {
                    f.needs_closure.insert(n);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
