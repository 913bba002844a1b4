//! What checking one flow (or step group) finds out and hands on: the variables it captures and
//! the strings that use variables, what it sends as credentials, its marks; and what a flow must
//! know about a step group to check a `use` of it.
//!
//! A leaf of `check/`: data only, filled in by `flow/` and read by `vars.rs`, `groups.rs` and
//! `mod.rs`.

use std::collections::{BTreeMap, BTreeSet};

use crate::flowfile::locate::SourceText;
use crate::flowfile::span::{Loc, Sp};
use crate::flowfile::template::Template;

/// A variable captured by a step.
#[derive(Debug, Clone)]
pub(super) struct Capture {
    pub(super) step: usize,
    pub(super) name: String,
    pub(super) secret: bool,
    pub(super) loc: Loc,
}

/// A string that may hold `{{ variables }}`, with where it is.
pub(super) struct StrUse {
    pub(super) step: usize,
    pub(super) template: Template,
    pub(super) text: String,
    /// Where the value starts, when known exactly.
    pub(super) value_loc: Option<Loc>,
    /// Otherwise: the step (and the line to search up to).
    pub(super) fallback: Loc,
    pub(super) last_line: u32,
}

impl StrUse {
    pub(super) fn loc_of(&self, text: &SourceText<'_>, offset: usize) -> Loc {
        let base = self.value_loc.unwrap_or(self.fallback);
        text.loc_in_value_within(base, &self.text, offset, self.last_line)
    }
}

/// What a flow needs to know about a step group to check a `use` of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupInfo {
    pub(crate) file: std::path::PathBuf,
    pub(crate) name_loc: Loc,
    /// Param name → whether a call must pass it (no default).
    pub(crate) params: BTreeMap<String, bool>,
    /// Variables the group captures (its own and its groups'), with their secrecy.
    pub(crate) captures: Vec<(String, bool)>,
    /// It has browser steps without `as:`, so the calling flow needs a `user`.
    pub(crate) browser: bool,
    /// Variables (and `params.NAME`) its steps send as credentials ([`FlowFacts::sent_as_credentials`]).
    pub(crate) sent_as_credentials: BTreeSet<String>,
}

/// What checking one flow found out, for the suite-wide checks.
#[derive(Default)]
pub(super) struct FlowFacts {
    pub(super) captures: Vec<Capture>,
    pub(super) uses: Vec<StrUse>,
    /// Variables whose value the flow sends as a credential: in a request header named like
    /// one (`Authorization`, `Cookie`, `X-CSRF-TOKEN`, `X-API-Key`, …), in a `subscribe`'s
    /// `auth_headers`, or in a form/JSON field named like one (`_token`, `password`). A capture
    /// of such a variable is a secret from the moment it is captured.
    pub(super) sent_as_credentials: BTreeSet<String>,
    /// `mark: NAME` (step index, name): the start times the flow saves for later windows.
    pub(super) marks: Vec<(usize, Sp<String>)>,
    /// `since: NAME` (step index, name): marks the flow's mail windows start at.
    pub(super) since: Vec<(usize, Sp<String>)>,
}
