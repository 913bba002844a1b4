//! Checking a suite of flows before anything runs: every rule that can be decided from the
//! files and the configuration, with every problem reported at once (not just the first).
//!
//! Owns the rules of docs/flow-format.md that the YAML types cannot express: ids and `needs`
//! (unknown, cycles), users, locators (one kind, known ARIA roles, valid patterns), the shape of
//! each step, durations, upload files, and variables (every `{{ name }}` must be known at that
//! point of the flow). Does not parse YAML (`parse.rs`) nor run anything.
//!
//! One flow on its own is checked in `flow_check.rs`, variables in `var_scope.rs`; this file
//! holds the suite: loading, ids, `needs` and cycles, and putting the results together.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ast::FlowFile;
use super::diagnostic::{Diagnostic, Diagnostics};
use super::each::{rows_of, EachLimits, Row};
use super::flow_check::{shown, value_len, FlowChecker, FlowFacts, GroupInfo};
use super::groups::{expand, load_groups, GroupCall, Groups, PlannedStep};
use super::parse::parse_flow;
use super::span::Loc;
use super::suggest::{did_you_mean_prefix, list};
use super::var_scope::VarScope;

/// What the configuration says exists, for checking names against it.
pub struct CheckEnv {
    /// Keys of `[users]`.
    pub users: BTreeSet<String>,
    /// Keys of `[vars]`.
    pub vars: BTreeSet<String>,
    /// Whether a staging E2E secret is configured (for `{{ secret }}`).
    pub has_secret: bool,
    /// Whether an environment variable is set (for `{{ env.NAME }}`).
    pub env_is_set: Box<dyn Fn(&str) -> bool + Send + Sync>,
    /// Users with a `password_env` (for `{{ user.password }}`): key → that env var's name and
    /// whether it is set.
    pub passwords: BTreeMap<String, (String, bool)>,
    /// How much an `each:` source may hold.
    pub each_limits: EachLimits,
}

impl CheckEnv {
    /// Users and vars as given, no secret, environment variables from this process.
    pub fn new<U, V>(users: U, vars: V) -> Self
    where
        U: IntoIterator,
        U::Item: Into<String>,
        V: IntoIterator,
        V::Item: Into<String>,
    {
        CheckEnv {
            users: users.into_iter().map(Into::into).collect(),
            vars: vars.into_iter().map(Into::into).collect(),
            has_secret: false,
            env_is_set: Box::new(|name| std::env::var_os(name).is_some()),
            passwords: BTreeMap::new(),
            each_limits: EachLimits::default(),
        }
    }
}

impl Default for CheckEnv {
    fn default() -> Self {
        CheckEnv::new(Vec::<String>::new(), Vec::<String>::new())
    }
}

impl fmt::Debug for CheckEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckEnv")
            .field("users", &self.users)
            .field("vars", &self.vars)
            .field("has_secret", &self.has_secret)
            .field("passwords", &self.passwords)
            .finish_non_exhaustive()
    }
}

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

/// Names a flow may not capture into: they would hide built-in variables.
pub const RESERVED_NAMES: &[&str] = &[
    "base_url", "api_url", "run", "user", "users", "vars", "secret", "env", "params", "row",
];

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

/// The entries of a directory that are flow (or step group) files: every name ending in `.yaml`
/// or `.yml`, in any case, that does not start with a dot, sorted. Such an entry that is not a
/// regular file (a directory, a FIFO, a device, a symlink to nothing) is an error, never skipped:
/// a flow must not drop out of the gate unnoticed, and a FIFO would block the read forever.
pub(super) fn yaml_entries(
    entries: std::fs::ReadDir,
    what: &str,
) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut paths = Vec::new();
    let mut diags = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if hidden || !yaml {
            continue;
        }
        // `metadata` follows symlinks: a link to a flow elsewhere is that flow.
        let problem = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => None,
            Ok(m) if m.is_dir() => Some(format!("this {what} file is a directory")),
            Ok(_) => Some(format!(
                "this {what} file is not a regular file (a FIFO, socket or device)"
            )),
            Err(e) if path.is_symlink() => Some(format!(
                "this {what} file is a symlink to nothing ({})",
                io_words(&e)
            )),
            Err(e) => Some(format!("cannot read this {what} file: {}", io_words(&e))),
        };
        match problem {
            None => paths.push(path),
            Some(message) => diags.push(Diagnostic::new(&path, message).hint(format!(
                "every `*.yaml` / `*.yml` entry (any case) here is read as a {what}: make it a \
                 file, or rename it (e.g. to a name starting with `.`) to leave it out"
            ))),
        }
    }
    paths.sort();
    (paths, diags)
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

fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
        _ => e.to_string().to_lowercase(),
    }
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

pub(super) fn is_flow_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub(super) fn is_capture_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
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
                    .extend(ids.iter().map(|id| super::span::Sp::new(id.clone(), n.loc))),
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

/// Simple cycles of the `needs` graph, one per strongly connected component, each starting at
/// its smallest id and ending where it started (`[a, b, a]`).
fn find_cycles<'a>(
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

    fn env() -> CheckEnv {
        let mut env = CheckEnv::new(["requester", "head", "collaborator"], ["portal_slug"]);
        env.env_is_set = Box::new(|n| n == "HOME_SET");
        env
    }

    fn files(list: &[(&str, &str)]) -> Vec<(PathBuf, Arc<str>, FlowFile)> {
        list.iter()
            .map(|(name, src)| {
                let path = PathBuf::from(name);
                let ast = parse_flow(&path, src)
                    .unwrap_or_else(|d| panic!("{}", d.render(Some(src), false)));
                (path, Arc::from(*src), ast)
            })
            .collect()
    }

    /// `file:line:col [the text under the carets] message`.
    fn messages(list: &[(&str, &str)]) -> Vec<String> {
        let sources: BTreeMap<&str, &str> = list.iter().copied().collect();
        match check_flows(files(list), &env()) {
            Ok(_) => Vec::new(),
            Err(d) => d
                .iter()
                .map(|d| {
                    let file = d.file.display().to_string();
                    let under = d.loc.map_or_else(String::new, |l| {
                        let line =
                            crate::flowfile::diagnostic::line_of(sources[file.as_str()], l.line)
                                .unwrap_or("");
                        let text: String =
                            line.chars().skip(l.col as usize - 1).take(d.len).collect();
                        format!("{l} [{text}]")
                    });
                    format!("{file}:{under} {}", d.message)
                })
                .collect(),
        }
    }

    /// Runs every case (a flow's steps, or a whole flow when it starts with `id:`), then fails
    /// listing every case whose diagnostics differ.
    fn cases(cases: &[(&str, &[&str])]) {
        let mut failures = Vec::new();
        for (src, expected) in cases {
            let got = if src.starts_with("id:") {
                one(src)
            } else {
                steps(src)
            };
            if got != *expected {
                failures.push(format!(
                    "case {src:?}\n  expected {expected:?}\n  got      {got:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    fn one(src: &str) -> Vec<String> {
        messages(&[("a.yaml", src)])
    }

    const HEAD: &str = "id: a\ntitle: A\nuser: requester\nsteps:\n";

    fn steps(s: &str) -> Vec<String> {
        one(&format!("{HEAD}{s}"))
    }

    #[test]
    fn a_good_flow_checks_clean() {
        let suite = check_flows(
            files(&[
                (
                    "a.yaml",
                    "id: create-ticket\ntitle: Create\nuser: requester\nsteps:\n  - goto: /d/{{ vars.portal_slug }}\n  - fill: { label: Subject, value: \"x ({{ run.id }})\" }\n  - capture: { var: ticket, from: url, regex: '/tickets/(\\d+)' }\n  - expect: { test_id: n, has_text: \"#{{ ticket }}\" }\n",
                ),
                ("b.yaml", "id: view\ntitle: View\nuser: head\nneeds: [create-ticket]\nsteps:\n  - goto: /tickets/{{ ticket }}\n"),
            ]),
            &env(),
        )
        .unwrap();
        assert_eq!(suite.flows.len(), 2);
        assert_eq!(
            suite.flows[0].captures["ticket"],
            CaptureInfo {
                secret: false,
                loc: Loc { line: 7, col: 21 }
            }
        );
        assert_eq!(
            suite.get("view").unwrap().needs_closure,
            BTreeSet::from(["create-ticket".to_string()])
        );
    }

    #[test]
    fn ids_titles_users() {
        cases(&[
            ("id: Bad Id\ntitle: ' '\nuser: requestr\nsteps:\n  - goto: /\n", &[
                "a.yaml:1:5 [Bad Id] invalid flow id `Bad Id`",
                "a.yaml:2:8 [' '] empty title",
                "a.yaml:3:7 [requestr] unknown user `requestr` in `user`",
            ]),
            ("id: a\ntitle: A\nsteps:\n  - goto: /\n", &["a.yaml:4:5 [goto] this flow has browser steps but no `user`"]),
            ("id: a\ntitle: A\nsteps:\n  - goto: { url: /, as: head }\n  - click: { css: x, as: headd }\n", &[
                "a.yaml:5:26 [headd] unknown user `headd` in `as`",
            ]),
            ("id: a\ntitle: A\nsteps:\n  - goto: { url: /, as: hed }\n", &["a.yaml:4:25 [hed] unknown user `hed` in `as`"]),
            ("id: a\ntitle: A\nsteps: []\n", &["a.yaml:3:1 [steps] a flow needs at least one step"]),
        ]);
    }

    #[test]
    fn duplicate_ids_and_needs() {
        let m = messages(&[
            (
                "a.yaml",
                "id: x\ntitle: A\nneeds: [y, nope, x, y]\nsteps:\n  - http: { url: /a }\n",
            ),
            ("b.yaml", "id: x\ntitle: B\nsteps:\n  - http: { url: /a }\n"),
            ("c.yaml", "id: y\ntitle: C\nsteps:\n  - http: { url: /a }\n"),
        ]);
        assert_eq!(
            m,
            [
                "a.yaml:3:12 [nope] unknown flow `nope` in `needs`",
                "a.yaml:3:18 [x] flow `x` needs itself",
                "a.yaml:3:21 [y] `y` is listed twice in `needs`",
                "b.yaml:1:5 [x] duplicate flow id `x`",
            ]
        );
    }

    #[test]
    fn cycles_are_reported_once() {
        let m = messages(&[
            (
                "a.yaml",
                "id: a\ntitle: A\nneeds: [b]\nsteps:\n  - http: { url: /a }\n",
            ),
            (
                "b.yaml",
                "id: b\ntitle: B\nneeds: [c]\nsteps:\n  - http: { url: /a }\n",
            ),
            (
                "c.yaml",
                "id: c\ntitle: C\nneeds: [a, d]\nsteps:\n  - http: { url: /a }\n",
            ),
            ("d.yaml", "id: d\ntitle: D\nsteps:\n  - http: { url: /a }\n"),
        ]);
        assert_eq!(m, ["a.yaml:3:9 [b] needs cycle: a → b → c → a"]);
        let m = messages(&[
            (
                "a.yaml",
                "id: a\ntitle: A\nneeds: [b]\nsteps:\n  - http: { url: /a }\n",
            ),
            (
                "b.yaml",
                "id: b\ntitle: B\nneeds: [a]\nsteps:\n  - http: { url: /a }\n",
            ),
            (
                "c.yaml",
                "id: c\ntitle: C\nneeds: [d]\nsteps:\n  - http: { url: /a }\n",
            ),
            (
                "d.yaml",
                "id: d\ntitle: D\nneeds: [c]\nsteps:\n  - http: { url: /a }\n",
            ),
        ]);
        assert_eq!(
            m,
            [
                "a.yaml:3:9 [b] needs cycle: a → b → a",
                "c.yaml:3:9 [d] needs cycle: c → d → c"
            ]
        );
    }

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

    #[test]
    fn locators() {
        cases(&[
            ("  - click: {}\n", &["a.yaml:5:5 [click] `click` needs a locator"]),
            ("  - click: { role: button, text: Save }\n", &[
                "a.yaml:5:28 [text] a locator takes one of role, label, text, placeholder, test_id, css, xpath; this one has `role` and `text`",
            ]),
            ("  - click: { text: Save, name: x }\n", &["a.yaml:5:32 [x] `name` refines `role`, and this locator has no `role`"]),
            ("  - click: { css: a, exact: true }\n", &[
                "a.yaml:5:22 [exact] `exact` applies to name, text, label or placeholder, and this locator has none",
            ]),
            ("  - click: { role: buton }\n", &["a.yaml:5:20 [buton] unknown ARIA role `buton`"]),
            ("  - click: { role: button, name: '/(x/' }\n", &["a.yaml:5:36 [(] invalid regex `/(x/`: unclosed group"]),
            ("  - click: { css: '' }\n", &["a.yaml:5:19 [''] `css` is empty"]),
            ("  - click: { css: a, within: { name: x } }\n", &["a.yaml:5:30 [{] `within` needs a locator"]),
            ("  - press: { key: Enter }\n  - press: { key: 'Control+' }\n", &["a.yaml:6:19 ['Control+'] invalid key `Control+`: a chord has an empty part (`Control+`): keys are joined by single `+`"]),
        ]);
    }

    #[test]
    fn expects_and_waits() {
        cases(&[
            ("  - expect: { url: /a, css: b }\n", &["a.yaml:5:15 [url] `url` checks the page and cannot be combined with a locator"]),
            ("  - expect: { has_text: a }\n", &["a.yaml:5:15 [has_text] `has_text` needs a locator"]),
            // With `count`, `has_text` narrows what is counted; `has_value` checks one element.
            ("  - expect: { css: a, has_text: b, count: 2 }\n", &[]),
            ("  - expect: { css: a, has_value: b, count: 2 }\n", &[
                "a.yaml:5:23 [has_value] an `expect` checks one thing; this one has `count` and `has_value`",
            ]),
            ("  - expect: { css: a, has_value: '' }\n", &[]),
            ("  - expect: {}\n", &["a.yaml:5:5 [expect] `expect` needs a locator, `url`, `title` or `value`"]),
            ("  - expect: { url: '/(a/' }\n", &["a.yaml:5:22 [(] invalid regex `/(a/`: unclosed group"]),
            ("  - expect: { url: /tickets/new }\n", &[]),
            ("  - wait_for: { url: /a, css: b }\n", &["a.yaml:5:17 [url] `wait_for` waits for an element or a `url`, not both"]),
            ("  - wait_for: { url: /a, state: hidden }\n", &["a.yaml:5:26 [state] `state` applies to an element, not to `url`"]),
            ("  - wait_for: { timeout: 5 }\n", &[
                "a.yaml:5:5 [wait_for] `wait_for` needs a locator or `url`",
                "a.yaml:5:26 [5] missing unit in duration `5`",
            ]),
        ]);
    }

    #[test]
    fn captures() {
        cases(&[
            ("  - capture: { var: Ticket, from: url }\n", &["a.yaml:5:21 [Ticket] invalid variable name `Ticket`"]),
            ("  - capture: { var: user, from: url }\n", &["a.yaml:5:21 [user] `user` is a reserved variable name"]),
            ("  - capture: { var: t, from: url, css: a }\n", &[
                "a.yaml:5:24 [from] `from: url` reads the page, and this capture also has a locator",
            ]),
            ("  - capture: { var: t }\n", &["a.yaml:5:5 [capture] `capture` needs `from: url`, `from: title` or a locator"]),
            ("  - capture: { var: t, from: url, regex: 'a(b' }\n", &["a.yaml:5:44 [(] invalid regex in `regex`: unclosed group"]),
        ]);
    }

    #[test]
    fn a_capture_sent_as_a_credential_is_secret_from_its_capture_on() {
        let suite = check_flows(
            files(&[
                (
                    "a.yaml",
                    "id: a\ntitle: A\nuser: requester\nsteps:\n  - http: { url: /config, capture: { csrf: /csrf, channel: /channel, api: /api, n: /n } }\n  - http: { url: /x, headers: { Accept: '{{ channel }}' } }\n",
                ),
                (
                    "b.yaml",
                    "id: b\ntitle: B\nuser: requester\nneeds: [a]\nsteps:\n  - subscribe: { id: s, pusher: { url: /app/k, channel: '{{ channel }}', auth_headers: { X-CSRF-TOKEN: '{{ csrf }}' } } }\n  - http: { url: /y, method: POST, headers: { Authorization: 'Bearer {{ api }}' }, form: { page: '{{ n }}' } }\n",
                ),
            ]),
            &env(),
        )
        .unwrap();
        let secret = |name: &str| suite.flows[0].captures[name].secret;
        assert!(secret("csrf"), "sent in a subscribe's auth_headers");
        assert!(secret("api"), "sent in an Authorization header");
        assert!(!secret("channel"), "sent in a header that is no credential");
        assert!(!secret("n"), "sent in a form field that is no credential");
    }

    #[test]
    fn credential_fields_and_group_params_mark_captures_secret() {
        for name in [
            "X-CSRF-TOKEN",
            "X-XSRF-Token",
            "Authorization",
            "Cookie",
            "X-Api-Key",
            "_token",
            "password",
        ] {
            assert!(
                crate::flowfile::flow_check::is_credential_name(name),
                "{name}"
            );
        }
        for name in [
            "Accept",
            "Content-Type",
            "X-Request-Id",
            "page",
            "author",
            "footprint",
        ] {
            assert!(
                !crate::flowfile::flow_check::is_credential_name(name),
                "{name}"
            );
        }
        let suite = check_flows(
            files(&[(
                "a.yaml",
                "id: a\ntitle: A\nuser: requester\nsteps:\n  - http: { url: /config, capture: { t: /t, u: /u } }\n  - http: { url: /x, method: POST, json: { data: { _token: '{{ t }}', name: '{{ u }}' } } }\n",
            )]),
            &env(),
        )
        .unwrap();
        assert!(suite.flows[0].captures["t"].secret, "a `_token` JSON field");
        assert!(!suite.flows[0].captures["u"].secret);
    }

    #[test]
    fn a_users_password_needs_its_env_var() {
        let mut e = env();
        e.passwords
            .insert("requester".into(), ("REQUESTER_PASSWORD".into(), true));
        e.passwords
            .insert("head".into(), ("HEAD_PASSWORD".into(), false));
        let check = |src: &str| match check_flows(files(&[("a.yaml", src)]), &e) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(|d| d.message.clone()).collect::<Vec<_>>(),
        };
        assert_eq!(
            check("id: a\ntitle: A\nuser: requester\nsteps:\n  - fill: { label: P, value: '{{ user.password }}' }\n  - fill: { label: Q, value: '{{ users.requester.password }}' }\n"),
            Vec::<String>::new()
        );
        assert_eq!(
            check("id: a\ntitle: A\nuser: head\nsteps:\n  - fill: { label: P, value: '{{ user.password }}' }\n  - fill: { label: Q, value: '{{ users.collaborator.password }}' }\n"),
            vec![
                "`user.password`: the password of user `head` is not set".to_string(),
                "`users.collaborator.password`: user `collaborator` has no password configured".to_string(),
            ]
        );
    }

    #[test]
    fn http_mail_realtime() {
        cases(&[
            ("  - http: { method: get, url: /a, json: {a: 1}, body: x }\n", &[
                "a.yaml:5:21 [get] unknown HTTP method `get`",
                "a.yaml:5:49 [body] a request has one body; this one has `json` and `body`",
            ]),
            ("  - http: { url: /a, capture: { n: unread }, expect: { json: { unread: 1 } } }\n", &[
                "a.yaml:5:36 [unread] `unread` is not a JSON pointer",
                "a.yaml:5:64 [unread] `unread` is not a JSON pointer",
            ]),
            ("  - http: { url: /a, as: nobody }\n", &["a.yaml:5:26 [nobody] unknown user `nobody` in `as`"]),
            ("  - mail: { to: someone, after_step: 1 }\n", &[
                "a.yaml:5:17 [someone] `someone` is neither a configured user nor an e-mail address",
                "a.yaml:5:38 [1] `after_step: 1` must name an earlier step; this is step 1",
            ]),
            ("  - goto: /\n  - mail: { to: a@b.c, after_step: 1, otp: { var: code } }\n  - fill: { label: C, value: '{{ code }}' }\n", &[]),
            ("  - subscribe: { id: bell, sse: /e }\n  - subscribe: { id: bell, sse: /e }\n", &[
                "a.yaml:6:22 [bell] subscription id `bell` is already used by step 1",
            ]),
            ("  - subscribe: { id: bell }\n", &["a.yaml:5:5 [subscribe] `subscribe` needs `pusher` or `sse`"]),
            ("  - expect_event: { on: bel, event: x }\n  - subscribe: { id: bel, sse: /e }\n", &[
                "a.yaml:5:25 [bel] no subscription `bel` before this step",
            ]),
        ]);
    }

    #[test]
    fn variables() {
        cases(&[
            ("  - goto: /{{ nope }}\n", &["a.yaml:5:15 [nope] unknown variable `nope`"]),
            ("  - goto: /{{ user.emial }}\n", &["a.yaml:5:15 [user.emial] unknown variable `user.emial`"]),
            ("  - goto: /{{ users.hed.email }}\n", &["a.yaml:5:15 [users.hed.email] unknown user `hed` in `users.hed.email`"]),
            ("  - goto: /{{ vars.slug }}\n", &["a.yaml:5:15 [vars.slug] unknown variable `vars.slug`"]),
            ("  - goto: /{{ secret }}\n", &["a.yaml:5:15 [secret] no secret configured; set STAGING_E2E_SECRET"]),
            ("  - goto: /{{ env.NOPE }}{{ env.HOME_SET }}\n", &["a.yaml:5:15 [env.NOPE] environment variable `NOPE` is not set"]),
            ("  - goto: /{{ t }}\n  - capture: { var: t, from: url }\n", &["a.yaml:5:15 [t] `t` is captured by step 2, after this one"]),
            ("  - goto: '/{{ x'\n", &["a.yaml:5:13 [{{] unclosed `{{`"]),
            ("  - http: { url: /a, json: { a: [\"{{ nope }}\"] } }\n", &["a.yaml:5:38 [nope] unknown variable `nope`"]),
            ("  - fill:\n      label: x\n      value: |\n        line one\n        {{ nope }}\n", &["a.yaml:9:12 [nope] unknown variable `nope`"]),
            ("id: a\ntitle: A\nsteps:\n  - http: { url: '/{{ user.email }}' }\n", &[
                "a.yaml:4:23 [user.email] `user.email` needs the flow's `user`, and this flow has none",
            ]),
        ]);
        let two = [
            (
                "a.yaml",
                "id: a\ntitle: A\nsteps:\n  - http: { url: /a, capture: { ticket: /id } }\n",
            ),
            (
                "b.yaml",
                "id: b\ntitle: B\nsteps:\n  - http: { url: '/t/{{ ticket }}' }\n",
            ),
        ];
        assert_eq!(
            messages(&two),
            ["b.yaml:4:25 [ticket] unknown variable `ticket`"]
        );
        let d = check_flows(files(&two), &env()).unwrap_err();
        assert_eq!(
            d.0[0].hint.as_deref(),
            Some("`ticket` is captured by flow `a`: add `a` to this flow's `needs`")
        );
    }

    #[test]
    fn durations_and_uploads() {
        cases(&[
            ("id: a\ntitle: A\nstep_timeout: 10 s\nsteps:\n  - http: { url: /a, timeout: 1.5s }\n", &[
                "a.yaml:3:15 [10 s] unexpected space in duration `10 s`",
                "a.yaml:5:31 [1.5s] fractions are not supported in duration `1.5s`",
            ]),
            ("  - upload: { label: F, files: [nope.pdf] }\n", &["a.yaml:5:33 [nope.pdf] upload file `nope.pdf` not found"]),
            ("  - screenshot: Big Shot\n  - screenshot: a\n  - screenshot: { name: a }\n", &[
                "a.yaml:5:17 [Big Shot] invalid screenshot name `Big Shot`",
                "a.yaml:7:20 [a] screenshot name `a` is already used by step 2",
            ]),
        ]);
    }

    /// `load_suite` reads the directory's visible `*.yaml` / `*.yml` files only: not a hidden
    /// one, not `flows.toml` or other files beside the flows; a file that is not UTF-8 is called
    /// that. (A directory named like a flow is an error: `faults::odd_entries_named_like_flows_…`.)
    #[test]
    fn load_suite_reads_only_visible_yaml_files() {
        let dir = tempfile::tempdir().unwrap();
        let flow = |id: &str| format!("id: {id}\ntitle: T\nsteps:\n  - http: {{ url: /up }}\n");
        std::fs::write(dir.path().join("a.yaml"), flow("a")).unwrap();
        std::fs::write(dir.path().join("b.yml"), flow("b")).unwrap();
        std::fs::write(dir.path().join(".hidden.yaml"), flow("hidden")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), flow("notes")).unwrap();
        std::fs::write(dir.path().join("flows.toml"), "not: [a flow").unwrap();
        let suite = load_suite(dir.path(), &env()).unwrap();
        let ids: Vec<&str> = suite.flows.iter().map(CheckedFlow::id).collect();
        assert_eq!(ids, ["a", "b"]);

        std::fs::write(dir.path().join("c.yaml"), b"id: c\ntitle: \xff\n").unwrap();
        let err = load_suite(dir.path(), &env())
            .unwrap_err()
            .render_all_from_disk(false);
        assert!(
            err.contains("cannot read the flow file: not UTF-8 text"),
            "{err}"
        );
    }

    #[test]
    fn unreadable_flow_files_and_directories_are_named() {
        use crate::test_access::{chmod, without_root_file_access};
        let dir = tempfile::tempdir().unwrap();
        let flow = dir.path().join("a.yaml");
        std::fs::write(&flow, "id: a\ntitle: T\nsteps:\n  - http: { url: /up }\n").unwrap();
        chmod(&flow, 0o000);
        let err = without_root_file_access(|| load_suite(dir.path(), &env()))
            .unwrap_err()
            .render_all_from_disk(false);
        chmod(&flow, 0o644);
        assert!(
            err.contains("cannot read the flow file: permission denied\n"),
            "{err}"
        );
        // Listed (read) but not searchable (no x): each entry's metadata is refused.
        chmod(dir.path(), 0o444);
        let err = without_root_file_access(|| load_suite(dir.path(), &env()))
            .unwrap_err()
            .render_all_from_disk(false);
        assert!(
            err.contains("error: cannot read this flow file: permission denied\n"),
            "{err}"
        );
        chmod(dir.path(), 0o000);
        let err = without_root_file_access(|| load_suite(dir.path(), &env()))
            .unwrap_err()
            .render_all_from_disk(false);
        chmod(dir.path(), 0o755);
        assert!(
            err.contains("cannot read the flow directory: permission denied\n"),
            "{err}"
        );
    }

    /// `load_suite` over files written in a new directory: each diagnostic as `file: message`.
    fn loaded(files: &[(&str, &str)], prepare: impl FnOnce(&Path)) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        prepare(dir.path());
        match load_suite(dir.path(), &env()) {
            Ok(suite) => suite.flows.iter().map(|f| f.id().to_string()).collect(),
            Err(d) => d
                .iter()
                .map(|d| {
                    let name = d.file.file_name().unwrap_or_default().to_string_lossy();
                    format!("{name}: {}", d.message)
                })
                .collect(),
        }
    }

    #[test]
    fn flow_entries_that_are_not_regular_files_are_errors_not_skipped() {
        let flow = "id: a\ntitle: T\nsteps:\n  - http: { url: /up }\n";
        let elsewhere = tempfile::tempdir().unwrap();
        let linked = elsewhere.path().join("b.yaml");
        std::fs::write(&linked, flow.replace("id: a", "id: b")).unwrap();
        let got = loaded(&[("a.yaml", flow)], |dir| {
            std::fs::create_dir(dir.join("sub.yaml")).unwrap();
            std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("gone.YML")).unwrap();
            std::os::unix::fs::symlink(&linked, dir.join("link.yaml")).unwrap();
            let fifo = std::process::Command::new("mkfifo")
                .arg(dir.join("pipe.yml"))
                .status()
                .expect("mkfifo");
            assert!(fifo.success());
        });
        assert_eq!(
            got,
            [
                "gone.YML: this flow file is a symlink to nothing (not found)",
                "pipe.yml: this flow file is not a regular file (a FIFO, socket or device)",
                "sub.yaml: this flow file is a directory",
            ]
        );
        // A link to a flow is that flow.
        let got = loaded(&[("a.yaml", flow)], |dir| {
            std::os::unix::fs::symlink(&linked, dir.join("link.yaml")).unwrap();
        });
        assert_eq!(got, ["a", "b"]);
        // A directory alone is still named, not "no flow files here".
        let got = loaded(&[], |dir| {
            std::fs::create_dir(dir.join("sub.yaml")).unwrap()
        });
        assert_eq!(got, ["sub.yaml: this flow file is a directory"]);
        let got = loaded(&[("notes.txt", "x")], |_| {});
        assert!(
            got.len() == 1 && got[0].ends_with(": no flow files here"),
            "{got:?}"
        );
    }

    #[test]
    fn a_flow_that_does_not_parse_gives_its_dependants_no_follow_on_errors() {
        let broken = "id: 'broken' # a comment\ntitle: T\nsteps:\n  - goto: /a\n    click: { css: x }\n  - capture: { var: ticket_from_broken, from: url }\n";
        let needs = "id: needs\ntitle: T\nuser: requester\nneeds: [broken]\nsteps:\n  - goto: /t/{{ ticket_from_broken }}/{{ ticket_nowhere }}\n";
        let got = loaded(&[("a.yaml", broken), ("b.yaml", needs)], |_| {});
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("a.yaml: "), "{got:?}");
        assert_eq!(got[1], "b.yaml: unknown variable `ticket_nowhere`");
        // Without a guessable id, the need is unknown.
        let got = loaded(
            &[
                ("a.yaml", &broken.replace("'broken'", "Broken One")),
                ("b.yaml", needs),
            ],
            |_| {},
        );
        assert_eq!(
            got[1], "b.yaml: unknown flow `broken` in `needs`",
            "{got:?}"
        );
    }

    /// `file:line:col message | hint` of each diagnostic of these flows.
    fn hinted(list: &[(&str, &str)]) -> Vec<String> {
        match check_flows(files(list), &env()) {
            Ok(_) => Vec::new(),
            Err(d) => d
                .iter()
                .map(|d| {
                    let at = d.loc.map_or_else(String::new, |l| l.to_string());
                    let hint = d.hint.as_deref().unwrap_or("-");
                    format!("{}:{at} {} | {hint}", d.file.display(), d.message)
                })
                .collect(),
        }
    }

    #[test]
    fn unknown_needs_are_hinted_with_the_other_flows_and_silence_variable_checks() {
        let flow = |id: &str, needs: &str, url: &str| {
            format!("id: {id}\ntitle: T\nneeds: [{needs}]\nsteps:\n  - http: {{ url: '{url}' }}\n")
        };
        assert_eq!(
            hinted(&[("a.yaml", &flow("a", "nope", "/a"))]),
            ["a.yaml:3:9 unknown flow `nope` in `needs` | no other flow is defined in this suite"]
        );
        // `a` needs `b`, whose own need is unknown: what `a` uses may come from there.
        assert_eq!(
            hinted(&[
                ("a.yaml", &flow("a", "b", "/{{ x }}")),
                ("b.yaml", &flow("b", "nope", "/{{ y }}")),
            ]),
            ["b.yaml:3:9 unknown flow `nope` in `needs` | flows are: a"]
        );
    }

    #[test]
    fn a_window_starts_at_a_mark_this_flow_sees() {
        let flow = |id: &str, needs: &str, steps: &str| {
            format!("id: {id}\ntitle: T\nuser: requester\nneeds: [{needs}]\nsteps:\n{steps}")
        };
        let mail = "  - mail: { to: head, since: opened }\n";
        let mark = "  - http: { url: /a, mark: opened }\n";
        assert_eq!(
            hinted(&[("a.yaml", &flow("a", "", &format!("{mail}{mark}")))]),
            ["a.yaml:6:30 no mark `opened` before this step | step 2 sets `opened`, after this one (step 1): a window starts at an earlier moment"]
        );
        assert_eq!(
            hinted(&[("a.yaml", &flow("a", "", &format!("{mark}{mail}")))]),
            Vec::<String>::new()
        );
        // A step's own mark is not before it.
        assert_eq!(
            hinted(&[(
                "a.yaml",
                &flow("a", "", "  - mail: { to: head, since: opened, mark: opened }\n")
            )]),
            ["a.yaml:6:30 no mark `opened` before this step | step 1 sets `opened`, after this one (step 1): a window starts at an earlier moment"]
        );
        assert_eq!(
            hinted(&[
                ("a.yaml", &flow("a", "", mail)),
                ("b.yaml", &flow("b", "", mark)),
            ]),
            ["a.yaml:6:30 no mark `opened` before this step | flow `b` sets it, but `a` does not need `b`: add `needs: [b]` (a mark is seen by the flow that sets it and the flows that need that one)"]
        );
        assert_eq!(
            hinted(&[
                ("a.yaml", &flow("a", "b", mail)),
                ("b.yaml", &flow("b", "", mark))
            ]),
            Vec::<String>::new()
        );
        assert_eq!(
            hinted(&[("a.yaml", &flow("a", "", &mail.replace("opened", "opend"))), ("b.yaml", &flow("b", "", mark))]),
            ["a.yaml:6:30 no mark `opend` before this step | did you mean `opened`? set it with `mark: opend` on the step that triggers the mail"]
        );
    }

    #[test]
    fn a_variable_captured_twice_is_secret_if_either_capture_is() {
        let suite = check_flows(
            files(&[(
                "a.yaml",
                "id: a\ntitle: T\nuser: requester\nsteps:\n  - capture: { var: t, from: url }\n  - mail: { to: head, otp: { var: t } }\n",
            )]),
            &env(),
        )
        .unwrap_or_else(|d| panic!("{}", d.render_all_from_disk(false)));
        assert!(suite.flows[0].captures["t"].secret);
    }
}
