//! `routes`: route drift. Each route of a committed baseline (and of the step's `paths` and
//! the app's own route list) is requested with GET, redirects not followed, once signed out
//! (`anonymous`) and once per role the step names; the statuses are compared with the
//! baseline's, and every added, removed or changed row that no `allow:` pattern covers fails
//! the step, shown as a table. Under `flows routes --update-baseline` the step writes what it
//! saw to the baseline instead (atomically) and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::{get, no_redirect_client, Row};
use crate::events::{Evidence, Exchange};
use crate::exec::step::context::{Fail, StepContext, StepOutcome, StepResult};
use crate::flowfile::ast::RoutesStep;
use crate::flowfile::text::TextPattern;

/// The role of a request without cookies.
pub const ANONYMOUS: &str = "anonymous";

/// `routes.baseline.json`, as committed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteBaseline {
    /// The file format's version (1).
    pub version: u32,
    /// The roles the statuses are given for, `anonymous` first.
    pub roles: Vec<String>,
    /// Path → role → status.
    pub routes: BTreeMap<String, BTreeMap<String, u16>>,
    /// The app's GET routes (`GET /d/{slug}`), when the step reads its route list.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub app_routes: BTreeSet<String>,
}

/// One difference from the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub change: Change,
    /// A path, or `GET /route` for the app's route list.
    pub route: String,
    pub role: Option<String>,
    pub before: Option<u16>,
    pub now: Option<u16>,
    pub allowed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    fn word(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

pub(in crate::exec::step) async fn routes(ctx: &mut StepContext<'_>, s: &RoutesStep) -> StepResult {
    let (baseline_rel, _) = ctx
        .render_shown(&s.baseline.value)
        .map_err(|e| Fail("routes").with(e))?;
    let path = baseline_path(ctx, &baseline_rel);
    let summary = format!("routes against {baseline_rel}");
    let fail = Fail(&summary);
    let update = ctx.config.update_routes_baseline;
    let baseline = match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str::<RouteBaseline>(&text).map_err(|e| {
            fail.input(format!(
                "{} is not a route baseline: {e}; rewrite it with `flows routes --update-baseline`",
                path.display()
            ))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && update => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail.input(format!(
                "no route baseline at {}; write it with `flows routes --update-baseline`",
                path.display()
            )))
        }
        Err(e) => return Err(fail.file(format!("cannot read {}: {e}", path.display()))),
    };
    let timeout = ctx.timeout(s.timeout.as_ref());
    let client = no_redirect_client(ctx, timeout);
    let app_routes = match &s.list {
        Some(l) => Some(route_list(ctx, &client, &l.value, timeout, &fail).await?),
        None => None,
    };
    let mut roles = vec![(ANONYMOUS.to_owned(), None)];
    for u in &s.as_users {
        let cookie = ctx.cookies_of(&u.value).await.map_err(|e| fail.with(e))?;
        roles.push((u.value.clone(), Some(cookie)));
    }
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for p in &s.paths {
        paths.insert(ctx.render_shown(&p.value).map_err(|e| fail.with(e))?.0);
    }
    if let Some(list) = &app_routes {
        paths.extend(list.iter().filter_map(|r| concrete_path(r)));
    }
    let listed = paths.clone();
    if let Some(b) = &baseline {
        // Under an update with a route list, a baseline path the app no longer lists (and
        // the step does not name) is dropped rather than kept as a 404.
        paths.extend(
            b.routes
                .keys()
                .filter(|p| !(update && app_routes.is_some() && !listed.contains(*p)))
                .cloned(),
        );
    }
    let mut seen: BTreeMap<String, BTreeMap<String, u16>> = BTreeMap::new();
    for p in &paths {
        let url = ctx.resolve_url(p, false);
        for (role, cookie) in &roles {
            let resp = get(
                ctx,
                &client,
                &url,
                cookie.as_deref(),
                HeaderMap::new(),
                timeout,
                &fail,
            )
            .await?;
            seen.entry(p.clone())
                .or_default()
                .insert(role.clone(), resp.status().as_u16());
        }
    }
    let now = RouteBaseline {
        version: 1,
        roles: roles.iter().map(|(r, _)| r.clone()).collect(),
        routes: seen,
        app_routes: app_routes.unwrap_or_default(),
    };
    let checked = format!(
        "{} paths × {} roles ({})",
        now.routes.len(),
        now.roles.len(),
        now.roles.join(", ")
    );
    if update {
        let mut text = serde_json::to_string_pretty(&now)
            .map_err(|e| fail.file(format!("cannot encode the baseline: {e}")))?;
        text.push('\n');
        crate::artifact::write_atomic(&path, text.as_bytes())
            .map_err(|e| fail.file(format!("cannot write {}: {e}", path.display())))?;
        ctx.measured.exchange = Some(Exchange {
            request: format!("GET {checked}\n"),
            response: text.clone(),
        });
        return Ok(StepOutcome {
            summary: format!("routes: wrote {} ({checked})", path.display()),
            artifacts: vec![],
            evidence: vec![Evidence::Contract {
                check: "routes".into(),
                subject: format!("baseline {baseline_rel}"),
                expected: "written by --update-baseline".into(),
                actual: checked,
                passed: true,
            }],
        });
    }
    let baseline = baseline.unwrap_or_default();
    let mut allow = Vec::new();
    for a in &s.allow {
        let (rendered, _) = ctx.render_shown(&a.value).map_err(|e| fail.with(e))?;
        allow.push(AllowPattern::new(&a.value, &rendered).map_err(|e| fail.input(e))?);
    }
    let drift = compare(&baseline, &now, &allow);
    let table = drift_table(&drift);
    ctx.measured.exchange = Some(Exchange {
        request: format!("GET {checked}\n"),
        response: if drift.is_empty() {
            "no drift\n".to_owned()
        } else {
            table.clone()
        },
    });
    let blocking = drift.iter().filter(|d| !d.allowed).count();
    if blocking > 0 {
        return Err(fail.mismatch(format!(
            "route drift against {baseline_rel}: {blocking} change{} not in `allow:` ({checked})\n{table}  = hint: if the change is intended, add it to `allow:` or run `flows routes --update-baseline` and commit the file",
            if blocking == 1 { "" } else { "s" }
        )));
    }
    let mut rows: Vec<Row> = now
        .routes
        .iter()
        .map(|(p, by_role)| {
            let statuses = by_role
                .iter()
                .map(|(r, s)| format!("{r} {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            Row::new(format!("GET {p}"), "as in the baseline", statuses, true)
        })
        .collect();
    for d in &drift {
        rows.push(Row::new(
            format!("{} {}", d.change.word(), d.route),
            "allowed drift",
            drift_line(d),
            true,
        ));
    }
    super::conclude(
        ctx,
        "routes",
        &fail,
        format!("{summary}: {checked}, {} allowed drift", drift.len()),
        format!("GET {checked}\n"),
        rows,
        vec![],
    )
}

/// The baseline file: relative to the file the step is written in (a flow or a group).
fn baseline_path(ctx: &StepContext<'_>, rel: &str) -> PathBuf {
    let file = ctx
        .flow
        .steps
        .get(ctx.index)
        .and_then(|p| p.call)
        .and_then(|c| ctx.flow.calls.get(c))
        .map_or(ctx.flow.file.as_path(), |c| c.file.as_path());
    file.parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(rel)
}

/// The app's GET routes from its route list (requested with the staging E2E secret):
/// `{"routes": [{"method": "GET", "path": "/x"}, "GET /y", "/z"]}` or the list alone.
async fn route_list(
    ctx: &StepContext<'_>,
    client: &crate::net::Http,
    list: &str,
    timeout: std::time::Duration,
    fail: &Fail<'_>,
) -> Result<BTreeSet<String>, crate::exec::step::StepFailure> {
    let (url, shown) = ctx.render_shown(list).map_err(|e| fail.with(e))?;
    let url = ctx.resolve_url(&url, false);
    let mut headers = HeaderMap::new();
    if let Some(secret) = &ctx.config.secret {
        if let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(ctx.config.secret_header.as_bytes()),
            HeaderValue::from_str(&secret.value),
        ) {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
    let resp = get(ctx, client, &url, None, headers, timeout, fail).await?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(fail.mismatch(format!(
            "the route list {shown} answered {} (expected 2xx)",
            status.as_u16()
        )));
    }
    parse_route_list(&body).map_err(|e| fail.mismatch(format!("the route list {shown}: {e}")))
}

fn parse_route_list(body: &str) -> Result<BTreeSet<String>, String> {
    let json: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("not JSON ({e})"))?;
    let items = json
        .get("routes")
        .unwrap_or(&json)
        .as_array()
        .ok_or("expected `{\"routes\": [...]}` or a list")?;
    let mut out = BTreeSet::new();
    for item in items {
        let (method, path) = match item {
            serde_json::Value::String(s) => match s.split_once(' ') {
                Some((m, p)) => (m.to_ascii_uppercase(), p.trim().to_owned()),
                None => ("GET".to_owned(), s.clone()),
            },
            serde_json::Value::Object(o) => (
                o.get("method")
                    .and_then(|m| m.as_str())
                    .unwrap_or("GET")
                    .to_ascii_uppercase(),
                o.get("path")
                    .and_then(|p| p.as_str())
                    .ok_or_else(|| format!("a route without `path`: {item}"))?
                    .to_owned(),
            ),
            other => return Err(format!("a route is neither text nor an object: {other}")),
        };
        // GET (and HEAD) only: the step never sends a request that could change anything.
        if method == "GET" || method == "HEAD" {
            out.insert(format!("GET {path}"));
        }
    }
    Ok(out)
}

/// `GET /inbox` → `/inbox`; a templated route (`/d/{slug}`) is not requested.
fn concrete_path(route: &str) -> Option<String> {
    let path = route.strip_prefix("GET ")?;
    (!path.contains('{') && !path.contains(':') && !path.contains('*')).then(|| path.to_owned())
}

/// A path pattern of `allow:`: `/regex/`, or a path where `*` is anything and `{name}` one
/// segment.
pub enum AllowPattern {
    Regex(TextPattern),
    Glob(regex::Regex),
}

impl AllowPattern {
    pub fn new(written: &str, rendered: &str) -> Result<AllowPattern, String> {
        if let Ok(p @ TextPattern::Regex { .. }) =
            TextPattern::from_rendered(written, rendered, true)
        {
            return Ok(AllowPattern::Regex(p));
        }
        let mut re = String::from("^");
        let mut rest = rendered;
        while let Some(c) = rest.chars().next() {
            if c == '*' {
                re.push_str(".*");
                rest = &rest[1..];
            } else if c == '{' {
                let end = rest.find('}').unwrap_or(rest.len() - 1);
                re.push_str("[^/]+");
                rest = &rest[end + 1..];
            } else {
                re.push_str(&regex::escape(&c.to_string()));
                rest = &rest[c.len_utf8()..];
            }
        }
        re.push('$');
        regex::Regex::new(&re)
            .map(AllowPattern::Glob)
            .map_err(|e| format!("`allow` pattern {rendered:?}: {e}"))
    }

    fn covers(&self, route: &str) -> bool {
        let path = route.strip_prefix("GET ").unwrap_or(route);
        match self {
            AllowPattern::Regex(p) => p.matches(path),
            AllowPattern::Glob(re) => re.is_match(path),
        }
    }
}

/// Every difference between the baseline and what was seen now, added/removed/changed.
pub fn compare(
    baseline: &RouteBaseline,
    now: &RouteBaseline,
    allow: &[AllowPattern],
) -> Vec<Drift> {
    let allowed = |route: &str| allow.iter().any(|a| a.covers(route));
    let mut out = Vec::new();
    let mut push = |change, route: &str, role: Option<&str>, before, now| {
        out.push(Drift {
            change,
            route: route.to_owned(),
            role: role.map(str::to_owned),
            before,
            now,
            allowed: allowed(route),
        });
    };
    if !now.app_routes.is_empty() || !baseline.app_routes.is_empty() {
        for r in now.app_routes.difference(&baseline.app_routes) {
            push(Change::Added, r, None, None, None);
        }
        for r in baseline.app_routes.difference(&now.app_routes) {
            push(Change::Removed, r, None, None, None);
        }
    }
    for (path, by_role) in &now.routes {
        let before = baseline.routes.get(path);
        for (role, status) in by_role {
            match before.and_then(|b| b.get(role)) {
                None => push(Change::Added, path, Some(role), None, Some(*status)),
                Some(was) if was != status => {
                    push(Change::Changed, path, Some(role), Some(*was), Some(*status));
                }
                Some(_) => {}
            }
        }
    }
    for (path, by_role) in &baseline.routes {
        for (role, was) in by_role {
            let still = now.routes.get(path).is_some_and(|n| n.contains_key(role));
            // A role the step no longer asks for is not drift of the app; a path not requested
            // at all is (it was in the baseline, so it is always requested).
            if !still && now.roles.contains(role) {
                push(Change::Removed, path, Some(role), Some(*was), None);
            }
        }
    }
    out
}

fn drift_line(d: &Drift) -> String {
    let n = |s: Option<u16>| s.map_or("-".to_owned(), |s| s.to_string());
    format!(
        "{} {}: {} → {}",
        d.role.as_deref().unwrap_or("route list"),
        d.route,
        n(d.before),
        n(d.now)
    )
}

/// The drift as an aligned table: change, route, role, baseline status, status now.
pub fn drift_table(drift: &[Drift]) -> String {
    let n = |s: Option<u16>| s.map_or("-".to_owned(), |s| s.to_string());
    let rows: Vec<[String; 5]> = drift
        .iter()
        .map(|d| {
            [
                if d.allowed {
                    format!("{} (allowed)", d.change.word())
                } else {
                    d.change.word().to_owned()
                },
                d.route.clone(),
                d.role.clone().unwrap_or_else(|| "-".to_owned()),
                n(d.before),
                n(d.now),
            ]
        })
        .collect();
    let head = ["change", "route", "role", "baseline", "now"].map(str::to_owned);
    let mut w = [0usize; 5];
    for r in std::iter::once(&head).chain(&rows) {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&head).chain(&rows) {
        out.push_str("  ");
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(routes: &[(&str, &[(&str, u16)])]) -> RouteBaseline {
        RouteBaseline {
            version: 1,
            roles: vec!["anonymous".into(), "requester".into()],
            routes: routes
                .iter()
                .map(|(p, r)| {
                    (
                        (*p).to_owned(),
                        r.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
                    )
                })
                .collect(),
            app_routes: BTreeSet::new(),
        }
    }

    #[test]
    fn added_removed_and_changed_rows_and_what_allow_covers() {
        let mut before = base(&[
            ("/inbox", &[("anonymous", 303), ("requester", 403)]),
            ("/dashboard", &[("anonymous", 303), ("requester", 200)]),
        ]);
        before.app_routes = ["GET /inbox", "GET /old"].map(str::to_owned).into();
        let mut now = base(&[
            ("/inbox", &[("anonymous", 303), ("requester", 500)]),
            ("/dashboard", &[("anonymous", 303), ("requester", 200)]),
            ("/lab/new", &[("anonymous", 200), ("requester", 200)]),
        ]);
        now.app_routes = ["GET /inbox", "GET /lab/new"].map(str::to_owned).into();
        let allow = [AllowPattern::new("/lab/*", "/lab/*").expect("pattern")];
        let drift = compare(&before, &now, &allow);
        let blocking: Vec<String> = drift
            .iter()
            .filter(|d| !d.allowed)
            .map(drift_line)
            .collect();
        assert_eq!(
            blocking,
            ["route list GET /old: - → -", "requester /inbox: 403 → 500"]
        );
        assert_eq!(drift.iter().filter(|d| d.allowed).count(), 3);
        let table = drift_table(&drift);
        assert!(table.contains("changed"), "{table}");
        assert!(table.contains("added (allowed)"), "{table}");
        assert!(compare(&now, &now, &[]).is_empty());
    }

    #[test]
    fn allow_patterns_take_globs_segments_and_regexes() {
        let seg = AllowPattern::new("/d/{slug}", "/d/{slug}").expect("pattern");
        assert!(seg.covers("/d/it-support"));
        assert!(!seg.covers("/d/it-support/tickets/new"));
        let re = AllowPattern::new("/^\\/api\\//", "/^\\/api\\//").expect("regex");
        assert!(re.covers("GET /api/me"));
        assert!(!re.covers("/inbox"));
    }

    #[test]
    fn route_lists_keep_get_routes_only() {
        let list = parse_route_list(
            r#"{"routes":[{"method":"GET","path":"/a"},{"method":"POST","path":"/b"},"GET /c/{id}","/d","HEAD /e"]}"#,
        )
        .expect("list");
        assert_eq!(
            list.into_iter().collect::<Vec<_>>(),
            ["GET /a", "GET /c/{id}", "GET /d", "GET /e"]
        );
        assert_eq!(concrete_path("GET /c/{id}"), None);
        assert_eq!(concrete_path("GET /d").as_deref(), Some("/d"));
    }
}
