//! Step groups: `groups/NAME.yaml` beside the flows, steps written once and used by many flows
//! with `use:`. Loading and checking them (before the flows, which need to know what each group
//! takes and captures), and expanding `use` steps into the steps that run.
//!
//! A group's steps are checked once, in the group's own file and scope (`params.*`, suite-wide
//! variables, its own captures); a call is checked at the calling step (known group, params).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::flowfile::ast::{FlowFile, GroupFile, SessionMode, Step};
use crate::flowfile::diagnostic::Diagnostic;
use crate::flowfile::parse::parse_group;
use crate::flowfile::span::{Loc, Sp};

use super::env::{is_flow_id, value_len, CheckEnv};
use super::facts::GroupInfo;
use super::files::yaml_entries;
use super::flow::FlowChecker;
use super::vars::VarScope;

/// A checked step group.
#[derive(Debug, Clone)]
pub struct CheckedGroup {
    pub file: PathBuf,
    pub source: Arc<str>,
    pub ast: GroupFile,
}

/// The groups of a suite, by name.
pub type Groups = BTreeMap<String, CheckedGroup>;

/// One step as it runs: a flow's own step, or a step of a group it uses.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub step: Sp<Step>,
    /// The group call this step belongs to (an index into [`Expanded::calls`]).
    pub call: Option<usize>,
    /// `after_step: N` resolved to a 0-based index into the expanded steps.
    pub after: Option<usize>,
}

/// A `use` of a group, for rendering `{{ params.* }}` while its steps run.
#[derive(Debug, Clone)]
pub struct GroupCall {
    pub group: String,
    /// Where the group's steps are written.
    pub file: PathBuf,
    pub source: Arc<str>,
    /// Param → template text, rendered in the caller's scope (the parent call's params).
    pub params: Vec<(String, String)>,
    pub parent: Option<usize>,
}

impl GroupCall {
    /// `outer › inner`, the groups a step is nested in.
    pub fn path(calls: &[GroupCall], mut call: Option<usize>) -> String {
        let mut names = Vec::new();
        while let Some(c) = call {
            names.push(calls[c].group.as_str());
            call = calls[c].parent;
        }
        names.reverse();
        names.join(" › ")
    }
}

/// At most this many steps (and group calls) in one expanded flow: groups that `use` each
/// other ten times over would otherwise grow without bound.
pub const MAX_EXPANDED_STEPS: usize = 10_000;
/// At most this many groups inside one another.
pub const MAX_GROUP_DEPTH: usize = 16;

#[derive(Debug, Clone, Default)]
pub struct Expanded {
    pub steps: Vec<PlannedStep>,
    pub calls: Vec<GroupCall>,
    /// Expansion stopped at a limit: where in the flow's own steps, and why.
    pub too_big: Option<(Loc, String)>,
}

/// Reads and checks `dir/groups/*.yaml`. A missing directory means no groups.
pub(super) fn load_groups(
    dir: &Path,
    env: &CheckEnv,
) -> (Groups, BTreeMap<String, GroupInfo>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let gdir = dir.join("groups");
    let paths: Vec<PathBuf> = match std::fs::read_dir(&gdir) {
        Ok(entries) => {
            let (paths, mut problems) = yaml_entries(entries, "step group");
            diags.append(&mut problems);
            paths
        }
        Err(_) => Vec::new(),
    };
    let mut parsed: Vec<ParsedGroup> = Vec::new();
    for path in paths {
        let source = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                diags.push(Diagnostic::new(
                    &path,
                    format!("cannot read the step group file: {e}"),
                ));
                continue;
            }
        };
        match parse_group(&path, &source) {
            Ok(g) => parsed.push((path, Arc::from(source), g)),
            Err(d) => diags.push(d),
        }
    }
    check_groups(parsed, env, diags)
}

/// A parsed group: its file, its source, its tree.
type ParsedGroup = (PathBuf, Arc<str>, GroupFile);

/// Checks parsed groups: names, cycles, each group's steps and variables.
pub(super) fn check_groups(
    parsed: Vec<ParsedGroup>,
    env: &CheckEnv,
    mut diags: Vec<Diagnostic>,
) -> (Groups, BTreeMap<String, GroupInfo>, Vec<Diagnostic>) {
    let by_name = index_by_name(&parsed, &mut diags);
    let order = use_order(&parsed, &by_name, &mut diags);
    // Every group is known (with its params) before any is checked, so a group in a cycle is
    // not also reported unknown; checked groups then fill in what they capture.
    let mut infos: BTreeMap<String, GroupInfo> = by_name
        .iter()
        .map(|(name, &i)| {
            let (file, _, g) = &parsed[i];
            (
                name.clone(),
                GroupInfo {
                    file: file.clone(),
                    name_loc: g.group.loc,
                    params: required_params(g),
                    captures: Vec::new(),
                    browser: false,
                    sent_as_credentials: BTreeSet::new(),
                },
            )
        })
        .collect();
    for &i in &order {
        let info = check_group(&parsed[i], env, &infos, &mut diags);
        infos.insert(parsed[i].2.group.value.clone(), info);
    }
    let groups = parsed
        .into_iter()
        .filter(|(_, _, g)| by_name.contains_key(&g.group.value))
        .map(|(file, source, ast)| (ast.group.value.clone(), CheckedGroup { file, source, ast }))
        .collect();
    (groups, infos, diags)
}

/// Each group name → its first group (an index into `parsed`), reporting invalid names, empty
/// groups and duplicates.
fn index_by_name(parsed: &[ParsedGroup], diags: &mut Vec<Diagnostic>) -> BTreeMap<String, usize> {
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (path, source, g)) in parsed.iter().enumerate() {
        let name = g.group.value.as_str();
        let len = value_len(source, g.group.loc, name);
        if !is_flow_id(name) {
            diags.push(
                Diagnostic::new(path, format!("invalid group name `{name}`"))
                    .at(g.group.loc, len)
                    .hint("use lowercase letters, digits and `-`, e.g. `sign-in-by-otp`"),
            );
        }
        if g.steps.is_empty() {
            diags.push(
                Diagnostic::new(path, "a step group needs at least one step")
                    .at(g.group.loc, len)
                    .hint("add steps under `steps:`"),
            );
        }
        if let Some(&j) = by_name.get(name) {
            diags.push(
                Diagnostic::new(path, format!("duplicate step group `{name}`"))
                    .at(g.group.loc, len)
                    .note(&parsed[j].0, parsed[j].2.group.loc, "first defined here")
                    .hint("each group needs its own name"),
            );
            continue;
        }
        by_name.insert(name.to_owned(), i);
    }
    by_name
}

/// The order to check groups in: a group after the groups it uses; a cycle is an error at the
/// `use` that closes it.
fn use_order(
    parsed: &[ParsedGroup],
    by_name: &BTreeMap<String, usize>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    let mut state: BTreeMap<usize, u8> = BTreeMap::new(); // 1 visiting, 2 done
    for &i in by_name.values() {
        if !state.contains_key(&i) {
            visit(i, parsed, by_name, &mut state, &mut order, diags);
        }
    }
    order
}

/// Depth-first through the groups group `i` uses, then `i` itself.
fn visit(
    i: usize,
    parsed: &[ParsedGroup],
    by_name: &BTreeMap<String, usize>,
    state: &mut BTreeMap<usize, u8>,
    order: &mut Vec<usize>,
    diags: &mut Vec<Diagnostic>,
) {
    state.insert(i, 1);
    for (name, loc) in uses(&parsed[i].2) {
        let Some(&j) = by_name.get(&name) else {
            continue;
        };
        match state.get(&j) {
            Some(1) => {
                let me = &parsed[i].2.group.value;
                diags.push(
                    Diagnostic::new(
                        &parsed[i].0,
                        format!("step group `{me}` uses `{name}`, which uses `{me}` again"),
                    )
                    .at(loc, 3)
                    .hint("a group cannot use itself, directly or through another group"),
                );
            }
            Some(_) => {}
            None => visit(j, parsed, by_name, state, order, diags),
        }
    }
    state.insert(i, 2);
    order.push(i);
}

/// The groups a group's steps `use`, with where.
fn uses(g: &GroupFile) -> Vec<(String, Loc)> {
    g.steps
        .iter()
        .filter_map(|s| match &s.value {
            Step::Use(u) => Some((u.group().value.clone(), s.loc)),
            _ => None,
        })
        .collect()
}

/// Param name → whether a call must pass it (no default).
fn required_params(g: &GroupFile) -> BTreeMap<String, bool> {
    g.params
        .iter()
        .map(|(k, p)| (k.clone(), p.value.default.is_none()))
        .collect()
}

/// Checks one group's steps and variables (in its own scope: `params.*`, suite-wide variables,
/// its own captures); returns what a flow using it needs to know.
fn check_group(
    (path, source, g): &ParsedGroup,
    env: &CheckEnv,
    infos: &BTreeMap<String, GroupInfo>,
    diags: &mut Vec<Diagnostic>,
) -> GroupInfo {
    let pseudo = as_flow(g);
    let mut checker = FlowChecker::new(path, source, &pseudo, env, infos, true);
    checker.run();
    let browser = checker.browser_without_user.is_some();
    let mut group_diags = std::mem::take(&mut checker.diags);
    let facts = std::mem::take(&mut checker.facts);
    drop(checker);
    let params: BTreeSet<String> = g.params.keys().cloned().collect();
    let none = BTreeMap::new();
    let no_words = BTreeSet::new();
    let scope = VarScope {
        env,
        flow: &pseudo,
        own: &facts.captures,
        from_needs: &none,
        captured_by: &BTreeMap::new(),
        lenient: false,
        maybe_from_broken: &no_words,
        params: Some(&params),
        row: None,
    };
    scope.report_unknown(path, source, &facts.uses, &mut group_diags);
    diags.append(&mut group_diags);
    let mut captures: Vec<(String, bool)> = Vec::new();
    for c in &facts.captures {
        if !captures.iter().any(|(n, _)| *n == c.name) {
            captures.push((c.name.clone(), c.secret));
        }
    }
    GroupInfo {
        file: path.clone(),
        name_loc: g.group.loc,
        params: required_params(g),
        captures,
        browser,
        sent_as_credentials: facts.sent_as_credentials.clone(),
    }
}

/// A group seen as a flow, so the flow checker can check its steps.
fn as_flow(g: &GroupFile) -> FlowFile {
    FlowFile {
        id: g.group.clone(),
        title: g.group.clone(),
        description: g.description.clone(),
        user: None,
        needs: Vec::new(),
        tags: Vec::new(),
        session: SessionMode::Shared,
        step_timeout: None,
        browser: None,
        each: None,
        steps: g.steps.clone(),
    }
}

/// Expands `use` steps (recursively) into the steps that run.
/// Stops at [`MAX_EXPANDED_STEPS`] or [`MAX_GROUP_DEPTH`] with `too_big` set.
pub fn expand(steps: &[Sp<Step>], groups: &Groups) -> Expanded {
    let mut out = Expanded::default();
    expand_into(steps, None, 0, None, groups, &mut out);
    out
}

/// `depth`: groups around these steps; `top`: the flow's own `use` step they come from.
fn expand_into(
    steps: &[Sp<Step>],
    call: Option<usize>,
    depth: usize,
    top: Option<Loc>,
    groups: &Groups,
    out: &mut Expanded,
) {
    // Where each written step starts among the expanded ones, for `after_step: N`.
    let mut first: Vec<usize> = Vec::with_capacity(steps.len());
    let mut pending: Vec<(usize, u32)> = Vec::new();
    for step in steps {
        if out.too_big.is_some() {
            return;
        }
        let at = top.unwrap_or(step.loc);
        if out.steps.len() + out.calls.len() >= MAX_EXPANDED_STEPS {
            out.too_big = Some((
                at,
                format!(
                    "this flow expands to more than {MAX_EXPANDED_STEPS} steps (groups that use groups)"
                ),
            ));
            return;
        }
        first.push(out.steps.len());
        match &step.value {
            Step::Use(u) => {
                let Some(g) = groups.get(&u.group().value) else {
                    continue;
                };
                if depth >= MAX_GROUP_DEPTH {
                    out.too_big = Some((
                        at,
                        format!(
                            "groups nest more than {MAX_GROUP_DEPTH} deep here (`{}` inside {})",
                            g.ast.group.value,
                            GroupCall::path(&out.calls, call)
                        ),
                    ));
                    return;
                }
                let given = u.params();
                let params = g
                    .ast
                    .params
                    .iter()
                    .filter_map(|(name, spec)| {
                        let v = given
                            .and_then(|p| p.get(name))
                            .map(|v| v.value.0.clone())
                            .or_else(|| spec.value.default.as_ref().map(|d| literal(d)))?;
                        Some((name.clone(), v))
                    })
                    .collect();
                out.calls.push(GroupCall {
                    group: g.ast.group.value.clone(),
                    file: g.file.clone(),
                    source: g.source.clone(),
                    params,
                    parent: call,
                });
                let id = out.calls.len() - 1;
                expand_into(&g.ast.steps, Some(id), depth + 1, Some(at), groups, out);
            }
            other => {
                if let Some(n) = other.after_step().map(|a| a.value) {
                    pending.push((out.steps.len(), n));
                }
                out.steps.push(PlannedStep {
                    step: step.clone(),
                    call,
                    after: None,
                });
            }
        }
    }
    for (at, n) in pending {
        out.steps[at].after = (n as usize)
            .checked_sub(1)
            .and_then(|k| first.get(k).copied());
    }
}

/// A default is literal text: `{{` in it is written as a template literal.
fn literal(s: &str) -> String {
    s.replace("{{", "{{ \"{{\" }}")
}
