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
//! - `needs.rs`: across flows: ids, `needs`, what each flow sees through its needs.
//! - `vars.rs` (which `{{ names }}` a step may use), `groups.rs` (step groups: loading, checking,
//!   expanding `use`), `rows.rs` (`each:` rows).

pub mod browsers;
mod cycles;
mod env;
mod facts;
mod files;
mod flow;
pub mod groups;
mod needs;
pub mod rows;
mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::flowfile::ast::FlowFile;
use crate::flowfile::diagnostic::{Diagnostic, Diagnostics};
use crate::flowfile::parse::parse_flow;
use crate::flowfile::span::{Loc, Sp};

// The configuration a check runs against: named by every caller of `load_suite`.
use env::is_flow_id;
pub use env::{CheckEnv, EachLimits};
use facts::{FlowFacts, GroupInfo};
use files::{io_words, yaml_entries};
use flow::FlowChecker;
use groups::{expand, load_groups, GroupCall, Groups, PlannedStep};
use needs::{Needs, Parsed};
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

/// The whole check, in order: each flow on its own (and its rows), then across flows (ids,
/// `needs`, cycles), then variables flow by flow; with no problem, the checked flows.
fn check_all(
    mut files: Vec<Parsed>,
    broken: &BTreeMap<String, BTreeSet<String>>,
    env: &CheckEnv,
    mut diags: Vec<Diagnostic>,
    (groups, group_infos): (&Groups, &BTreeMap<String, GroupInfo>),
) -> Result<Suite, Diagnostics> {
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let (facts, rows) = check_each_flow(&files, env, group_infos, &mut diags);
    let needs = Needs::of(&files, &facts, broken, &mut diags);
    let closures = check_variables(&needs, &rows, env, &mut diags);
    if !diags.is_empty() {
        let mut d = Diagnostics(diags);
        d.sort();
        d.0.dedup();
        return Err(d);
    }
    let flows = checked_flows(files, facts, closures, groups, &mut diags);
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    Ok(Suite {
        flows: expand_rows(flows, rows),
    })
}

/// Each flow on its own, and the rows of data-driven ones (`None` for the others).
fn check_each_flow(
    files: &[Parsed],
    env: &CheckEnv,
    group_infos: &BTreeMap<String, GroupInfo>,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<FlowFacts>, Vec<Option<Vec<Row>>>) {
    let mut facts: Vec<FlowFacts> = Vec::with_capacity(files.len());
    let mut rows: Vec<Option<Vec<Row>>> = Vec::with_capacity(files.len());
    for (path, source, ast) in files {
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
    (facts, rows)
}

/// Every `{{ name }}` of every flow is known where it is used, and every `since:` mark is
/// seen; returns each flow's `needs` closure.
fn check_variables(
    needs: &Needs<'_>,
    rows: &[Option<Vec<Row>>],
    env: &CheckEnv,
    diags: &mut Vec<Diagnostic>,
) -> Vec<BTreeSet<String>> {
    let captured_by = needs.captured_by();
    let mut closures = Vec::with_capacity(needs.files.len());
    for (i, (path, source, ast)) in needs.files.iter().enumerate() {
        let id = ast.id.value.as_str();
        let closure = needs.closure_of(id);
        let maybe_from_broken = needs.maybe_from_broken(id, &closure);
        let from_needs = needs.captured_in_needs(&closure);
        let row_keys: Option<BTreeSet<String>> = rows[i].as_ref().map(|r| match r.first() {
            Some(first) => first.values.keys().cloned().collect(),
            None => words(source),
        });
        let scope = VarScope {
            env,
            flow: ast,
            own: &needs.facts[i].captures,
            from_needs: &from_needs,
            captured_by: &captured_by,
            lenient: needs.is_lenient(id, &closure),
            maybe_from_broken: &maybe_from_broken,
            params: None,
            row: row_keys.as_ref(),
        };
        scope.report_unknown(path, source, &needs.facts[i].uses, diags);
        needs.check_since(i, &closure, diags);
        closures.push(closure);
    }
    closures
}

/// The checked flows: captures with their secrecy, `use` steps expanded (too big an expansion
/// is an error).
fn checked_flows(
    files: Vec<Parsed>,
    facts: Vec<FlowFacts>,
    closures: Vec<BTreeSet<String>>,
    groups: &Groups,
    diags: &mut Vec<Diagnostic>,
) -> Vec<CheckedFlow> {
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
    flows
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
