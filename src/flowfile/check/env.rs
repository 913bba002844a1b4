//! What a check runs against, and the small rules and text helpers every checker shares: the
//! names the configuration defines ([`CheckEnv`], [`EachLimits`]), the reserved variable names,
//! what an id or a variable name may be, and how values and paths are measured and shown.
//!
//! A leaf of `check/`: it imports nothing from its siblings, so every checker may import it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::flowfile::diagnostic::token_len;
use crate::flowfile::locate::SourceText;
use crate::flowfile::span::Loc;

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

impl std::fmt::Debug for CheckEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckEnv")
            .field("users", &self.users)
            .field("vars", &self.vars)
            .field("has_secret", &self.has_secret)
            .field("passwords", &self.passwords)
            .finish_non_exhaustive()
    }
}

/// How much an `each:` source may hold (`[suite] each_max_bytes`, `each_max_rows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EachLimits {
    /// Largest `each:` file read, in bytes.
    pub max_bytes: u64,
    /// Most rows (each one a flow) an `each:` may give.
    pub max_rows: usize,
}

impl EachLimits {
    /// 1 MiB: a thousand rows of a kilobyte each.
    pub const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;
    /// A thousand flows from one file is already a long nightly run.
    pub const DEFAULT_MAX_ROWS: usize = 1000;
}

impl Default for EachLimits {
    fn default() -> Self {
        EachLimits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_rows: Self::DEFAULT_MAX_ROWS,
        }
    }
}

/// Names a flow may not capture into: they would hide built-in variables.
pub const RESERVED_NAMES: &[&str] = &[
    "base_url", "api_url", "run", "user", "users", "vars", "secret", "env", "params", "row",
];

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

/// A path as shown in messages (forward slashes).
pub(super) fn shown(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

pub(super) fn count(s: &str) -> u32 {
    u32::try_from(s.chars().count()).unwrap_or(u32::MAX)
}

/// The characters a value covers at `loc`: its own length when the source shows it as written
/// (quotes included), else the YAML token there.
pub(super) fn value_len(source: &str, loc: Loc, value: &str) -> usize {
    value_len_in(&SourceText::new(source), source, loc, value)
}

pub(super) fn value_len_in(text: &SourceText<'_>, source: &str, loc: Loc, value: &str) -> usize {
    if let Some(rest) = text.rest_at(loc) {
        if !value.is_empty() && !value.contains('\n') {
            if rest.starts_with(value) {
                return value.chars().count();
            }
            if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
                if rest[1..].starts_with(value) && rest[1 + value.len()..].starts_with(q) {
                    return value.chars().count() + 2;
                }
            }
        }
    }
    token_len(source, loc)
}

/// `Create Ticket!` → `create-ticket`.
pub(super) fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}
