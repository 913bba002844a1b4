//! Which `{{ names }}` a flow may use at a given step, and what to say about the others.
//!
//! Built-ins (`base_url`, `api_url`, `run.*`, `user.*`, `users.KEY.*`, `vars.NAME`, `secret`,
//! `env.NAME`) are checked against the configuration; a bare name must be captured by an
//! earlier step of the flow or by a flow in its `needs` (transitively).

use std::collections::{BTreeMap, BTreeSet};

use crate::flowfile::ast::FlowFile;
use crate::flowfile::diagnostic::Diagnostic;
use crate::flowfile::locate::SourceText;
use crate::flowfile::suggest::{did_you_mean, did_you_mean_prefix, list};

use super::env::{CheckEnv, RESERVED_NAMES};
use super::facts::{Capture, StrUse};

/// What names a flow may use at a step.
pub(super) struct VarScope<'a> {
    pub(super) env: &'a CheckEnv,
    pub(super) flow: &'a FlowFile,
    pub(super) own: &'a [Capture],
    /// Captured by a flow in the `needs` closure: name → that flow.
    pub(super) from_needs: &'a BTreeMap<&'a str, &'a str>,
    /// Every flow that captures a name.
    pub(super) captured_by: &'a BTreeMap<&'a str, Vec<&'a str>>,
    /// A `needs` entry is unknown: do not report unknown bare names (they follow from it).
    pub(super) lenient: bool,
    /// Words of needed flows that did not parse: a bare name among them may be captured there.
    pub(super) maybe_from_broken: &'a BTreeSet<&'a str>,
    /// Inside a step group: its params (`params.NAME`); the calling flow's `user` is assumed.
    pub(super) params: Option<&'a BTreeSet<String>>,
    /// In a data-driven flow: the keys of its rows (`row.KEY`).
    pub(super) row: Option<&'a BTreeSet<String>>,
}

impl VarScope<'_> {
    /// Reports every `{{ name }}` of `uses` that is not known where it is used.
    pub(super) fn report_unknown(
        &self,
        path: &std::path::Path,
        source: &str,
        uses: &[StrUse],
        diags: &mut Vec<Diagnostic>,
    ) {
        let text = SourceText::new(source);
        for use_ in uses {
            for var in use_.template.vars() {
                if let Some((message, hint)) = self.check(&var.name, use_.step) {
                    let loc = use_.loc_of(&text, var.offset);
                    diags.push(
                        Diagnostic::new(path, message)
                            .at(loc, var.name.chars().count())
                            .label("unknown here")
                            .maybe_hint(hint),
                    );
                }
            }
        }
    }

    /// `None` when `name` is known at `step`; else the message and a hint.
    pub(super) fn check(&self, name: &str, step: usize) -> Option<(String, Option<String>)> {
        let parts: Vec<&str> = name.split('.').collect();
        let unknown = || format!("unknown variable `{name}`");
        match parts.as_slice() {
            ["base_url"] | ["api_url"] => None,
            ["secret"] => (!self.env.has_secret).then(|| {
                (
                    "no secret configured; set STAGING_E2E_SECRET".to_string(),
                    Some("`{{ secret }}` is the staging E2E secret, read from the environment variable named by `secret_env` in flows.toml".to_string()),
                )
            }),
            ["run", "id" | "date"] => None,
            ["params", p] => self.check_param(p, name),
            ["row", key] => self.check_row(key, name),
            ["run", ..] => Some((unknown(), Some("`run` has `run.id` and `run.date`".to_string()))),
            ["user", field] => self.check_user_field(field, name),
            ["users", key, field] => self.check_users_field(key, field, name),
            ["vars", var] => self.check_config_var(var, name),
            ["env", var] => (!(self.env.env_is_set)(var)).then(|| {
                (
                    format!("environment variable `{var}` is not set"),
                    Some(format!("set `{var}` before running flows (it is read when the run starts)")),
                )
            }),
            [ns, ..] if parts.len() == 1 && RESERVED_NAMES.contains(ns) => {
                let hint = namespace_hint(ns);
                Some((format!("`{name}` is a namespace, not a variable"), Some(hint.to_string())))
            }
            [ns, ..] if RESERVED_NAMES.contains(ns) => {
                let hint = namespace_fields_hint(ns);
                Some((unknown(), Some(hint.to_string())))
            }
            [bare] => self.check_bare(bare, step),
            _ => Some((
                unknown(),
                Some("variables are base_url, api_url, run.*, user.*, users.KEY.*, vars.NAME, secret, env.NAME, and captured names".to_string()),
            )),
        }
    }

    /// `params.P` inside a step group: one of its params.
    fn check_param(&self, p: &str, name: &str) -> Option<(String, Option<String>)> {
        match self.params {
            Some(params) if params.contains(p) => None,
            Some(params) => Some((
                format!("unknown param `{p}`"),
                Some(if params.is_empty() {
                    "this group declares no `params`".to_string()
                } else {
                    format!(
                        "{}this group's params are: {}",
                        did_you_mean_prefix(p, params.iter().map(String::as_str)),
                        list(params.iter().map(String::as_str), 12)
                    )
                }),
            )),
            None => Some((
                format!("`{name}` is only known inside a step group"),
                Some("params belong to step groups (`groups/NAME.yaml`); a flow passes them with `use: { group: NAME, with: { … } }`".to_string()),
            )),
        }
    }

    /// `row.KEY` in a data-driven flow: a key of its rows.
    fn check_row(&self, key: &str, name: &str) -> Option<(String, Option<String>)> {
        match self.row {
            Some(keys) if keys.contains(key) => None,
            Some(keys) => Some((
                format!("unknown row key `{key}`"),
                Some(format!(
                    "{}the rows of `each` have: {}",
                    did_you_mean_prefix(key, keys.iter().map(String::as_str)),
                    list(keys.iter().map(String::as_str), 12)
                )),
            )),
            None => Some((
                format!("`{name}` is only known in a data-driven flow"),
                Some(
                    "add `each:` rows to the flow (see docs/flow-format.md, Data-driven flows)"
                        .to_string(),
                ),
            )),
        }
    }

    /// `user.FIELD`: a known field, and the flow has a user (with a password, for that one).
    fn check_user_field(&self, field: &str, name: &str) -> Option<(String, Option<String>)> {
        let unknown = || format!("unknown variable `{name}`");
        if !matches!(field, "email" | "name" | "key" | "password") {
            let hint = format!(
                "{}`user` has `user.email`, `user.name`, `user.key` and `user.password`",
                did_you_mean_prefix(
                    name,
                    ["user.email", "user.name", "user.key", "user.password"]
                )
            );
            return Some((unknown(), Some(hint)));
        }
        if field == "password" {
            if let Some(user) = &self.flow.user {
                return self.password_problem(&user.value, name);
            }
        }
        (self.flow.user.is_none() && self.params.is_none()).then(|| {
            (
                format!("`{name}` needs the flow's `user`, and this flow has none"),
                Some("add `user: KEY` to the flow, or use `users.KEY.email`".to_string()),
            )
        })
    }

    /// `users.KEY.FIELD`: a configured user, a known field.
    fn check_users_field(
        &self,
        key: &str,
        field: &str,
        name: &str,
    ) -> Option<(String, Option<String>)> {
        let unknown = || format!("unknown variable `{name}`");
        if !self.env.users.contains(key) {
            let hint = format!(
                "{}users are: {}",
                did_you_mean_prefix(key, self.env.users.iter().map(String::as_str)),
                list(self.env.users.iter().map(String::as_str), 12)
            );
            return Some((format!("unknown user `{key}` in `{name}`"), Some(hint)));
        }
        if field == "password" {
            return self.password_problem(key, name);
        }
        (!matches!(field, "email" | "name")).then(|| {
            (
                unknown(),
                Some(format!(
                    "{}a user has `users.{key}.email` and `users.{key}.name`",
                    did_you_mean_prefix(
                        name,
                        [format!("users.{key}.email"), format!("users.{key}.name")]
                            .iter()
                            .map(String::as_str)
                    )
                )),
            )
        })
    }

    /// `vars.NAME`: a key of `[vars]`.
    fn check_config_var(&self, var: &str, name: &str) -> Option<(String, Option<String>)> {
        (!self.env.vars.contains(var)).then(|| {
            let hint = if self.env.vars.is_empty() {
                "no [vars] are configured in flows.toml".to_string()
            } else {
                format!(
                    "{}[vars] in flows.toml has: {}",
                    did_you_mean_prefix(var, self.env.vars.iter().map(String::as_str)),
                    list(self.env.vars.iter().map(String::as_str), 12)
                )
            };
            (format!("unknown variable `{name}`"), Some(hint))
        })
    }

    /// `None` when user `key` has a password to put in `{{ name }}`; else why not.
    fn password_problem(&self, key: &str, name: &str) -> Option<(String, Option<String>)> {
        match self.env.passwords.get(key) {
            Some((_, true)) => None,
            Some((env, false)) => Some((
                format!("`{name}`: the password of user `{key}` is not set"),
                Some(format!("set the environment variable `{env}` (named by `password_env` of [users.{key}] in flows.toml), or put it in the .env file")),
            )),
            None => Some((
                format!("`{name}`: user `{key}` has no password configured"),
                Some(format!("add `password_env = \"ENV_VAR_NAME\"` to [users.{key}] in flows.toml; the password is read from that environment variable and redacted everywhere")),
            )),
        }
    }

    fn check_bare(&self, name: &str, step: usize) -> Option<(String, Option<String>)> {
        if self.own.iter().any(|c| c.name == name && c.step < step)
            || self.from_needs.contains_key(name)
        {
            return None;
        }
        if let Some(later) = self.own.iter().find(|c| c.name == name) {
            let message = if later.step == step {
                format!("`{name}` is captured by this same step, so it is not known yet")
            } else {
                format!(
                    "`{name}` is captured by step {}, after this one",
                    later.step + 1
                )
            };
            return Some((
                message,
                Some("a variable can be used only after the step that captures it".to_string()),
            ));
        }
        if self.lenient || self.maybe_from_broken.contains(name) {
            return None;
        }
        let own_id = self.flow.id.value.as_str();
        if let Some(flows) = self.captured_by.get(name) {
            if let Some(other) = flows.iter().find(|f| **f != own_id) {
                return Some((
                    format!("unknown variable `{name}`"),
                    Some(format!("`{name}` is captured by flow `{other}`: add `{other}` to this flow's `needs`")),
                ));
            }
        }
        let mut known: Vec<String> = vec![
            "base_url".into(),
            "api_url".into(),
            "run.id".into(),
            "run.date".into(),
        ];
        if self.flow.user.is_some() {
            known.extend(["user.email", "user.name", "user.key"].map(String::from));
        }
        known.extend(self.env.vars.iter().map(|v| format!("vars.{v}")));
        if self.env.has_secret {
            known.push("secret".into());
        }
        let visible: Vec<String> = self
            .own
            .iter()
            .filter(|c| c.step < step)
            .map(|c| c.name.clone())
            .chain(self.from_needs.keys().map(|k| k.to_string()))
            .collect();
        let suggestion = did_you_mean(name, visible.iter().chain(known.iter()).map(String::as_str))
            .or_else(|| did_you_mean(name, self.env.vars.iter().map(String::as_str)));
        let hint = match suggestion {
            Some(s) if self.env.vars.contains(s) && !visible.iter().any(|v| v == s) => {
                format!("did you mean `vars.{s}`?")
            }
            Some(s) => format!("did you mean `{s}`?"),
            None if visible.is_empty() => {
                "no variable is captured before this step; names come from `capture`, `http` `capture`, `mail` `otp`/`link`, or flows in `needs`".to_string()
            }
            None => format!("captured before this step: {}", list(visible.iter().map(String::as_str), 10)),
        };
        Some((format!("unknown variable `{name}`"), Some(hint)))
    }
}

/// What to write instead of a bare namespace (`{{ user }}`).
fn namespace_hint(ns: &str) -> &'static str {
    match ns {
        "user" => "use `user.email`, `user.name`, `user.key` or `user.password`",
        "users" => "use `users.KEY.email` or `users.KEY.name`",
        "vars" => "use `vars.NAME`",
        "env" => "use `env.NAME`",
        "params" => "use `params.NAME`",
        "row" => "use `row.KEY`",
        _ => "use `run.id` or `run.date`",
    }
}

/// What a namespace has, for an unknown field of it (`{{ vars }}` has `vars.NAME`).
fn namespace_fields_hint(ns: &str) -> &'static str {
    match ns {
        "user" => "`user` has `user.email`, `user.name`, `user.key` and `user.password`",
        "users" => "write `users.KEY.email` or `users.KEY.name`",
        "vars" => "write `vars.NAME`",
        "env" => "write `env.NAME`",
        "params" => "write `params.NAME`",
        "row" => "write `row.KEY`",
        _ => "`base_url`, `api_url` and `secret` have no fields",
    }
}
