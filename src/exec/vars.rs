//! Variable values during a run: built-ins from config, captures of earlier flows and steps.
//!
//! Which names a flow may use was settled by the checker; here we only look values up.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use time::OffsetDateTime;

use crate::config::Config;
use crate::flowfile::template::{Rendered, Resolved, Template};
use crate::redact::Redactor;

/// One flow's captures and marks, as another worker takes them in.
#[derive(Debug, Clone, Default)]
pub struct FlowVars {
    captures: HashMap<String, Resolved>,
    marks: HashMap<String, (OffsetDateTime, Instant)>,
}

#[derive(Default)]
pub struct Vars {
    builtins: HashMap<String, Resolved>,
    /// Captures by the flow that made them.
    by_flow: HashMap<String, HashMap<String, Resolved>>,
    /// The suite's `.env` values, for `{{ env.NAME }}` the real environment does not set.
    env_file: HashMap<String, String>,
    /// `[secrets] env`: `{{ env.NAME }}` values that are secrets.
    secret_env: BTreeSet<String>,
    /// `mark:` moments (a step's start, both clocks) by the flow that set them, by name.
    marks: HashMap<String, HashMap<String, (OffsetDateTime, Instant)>>,
}

impl Vars {
    pub fn new(config: &Config, base_url: &str, run_id: &str, run_date: &str) -> Vars {
        let mut b = HashMap::new();
        let plain = |v: &str| Resolved {
            value: v.to_owned(),
            secret: false,
        };
        b.insert("base_url".into(), plain(base_url));
        b.insert(
            "api_url".into(),
            plain(config.api_url.as_deref().unwrap_or(base_url)),
        );
        b.insert("run.id".into(), plain(run_id));
        b.insert("run.date".into(), plain(run_date));
        for (key, u) in &config.users {
            b.insert(format!("users.{key}.email"), plain(&u.email));
            b.insert(format!("users.{key}.name"), plain(&u.name));
            b.insert(format!("users.{key}.key"), plain(key));
            if let Some(p) = &u.password {
                b.insert(
                    format!("users.{key}.password"),
                    Resolved {
                        value: p.value.clone(),
                        secret: true,
                    },
                );
            }
        }
        for (k, v) in &config.vars {
            b.insert(format!("vars.{k}"), plain(v));
        }
        if let Some(s) = &config.secret {
            b.insert(
                "secret".into(),
                Resolved {
                    value: s.value.clone(),
                    secret: true,
                },
            );
        }
        Vars {
            builtins: b,
            by_flow: HashMap::new(),
            env_file: config
                .env_file
                .as_ref()
                .map(|f| f.values.clone().into_iter().collect())
                .unwrap_or_default(),
            secret_env: config.secret_env.iter().cloned().collect(),
            marks: HashMap::new(),
        }
    }

    /// Saves a `mark:` moment of `flow` (a later attempt or row overwrites it).
    pub fn set_mark(&mut self, flow: &str, name: &str, at: (OffsetDateTime, Instant)) {
        self.marks
            .entry(flow.to_owned())
            .or_default()
            .insert(name.to_owned(), at);
    }

    /// The mark `name` as `flow` sees it: its own, else the latest one set by a flow it needs
    /// (`flows check` made sure one of them sets it).
    pub fn mark(
        &self,
        flow: &str,
        needs: &BTreeSet<String>,
        name: &str,
    ) -> Option<(OffsetDateTime, Instant)> {
        let of = |f: &str| self.marks.get(f).and_then(|m| m.get(name)).copied();
        of(flow).or_else(|| {
            needs
                .iter()
                .filter_map(|f| of(f))
                .max_by_key(|(wall, _)| *wall)
        })
    }

    pub fn set_capture(&mut self, flow: &str, name: &str, value: Resolved) {
        self.by_flow
            .entry(flow.to_owned())
            .or_default()
            .insert(name.to_owned(), value);
    }

    /// The values a flow captured in this run, by name.
    pub fn captures_of(&self, flow: &str) -> Vec<(String, Resolved)> {
        self.by_flow
            .get(flow)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// What `flow` captured and marked in this run, to hand to another worker.
    pub fn export_flow(&self, flow: &str) -> FlowVars {
        FlowVars {
            captures: self.by_flow.get(flow).cloned().unwrap_or_default(),
            marks: self.marks.get(flow).cloned().unwrap_or_default(),
        }
    }

    /// Takes in what `flow` captured and marked on another worker.
    pub fn import_flow(&mut self, flow: &str, vars: &FlowVars) {
        self.by_flow.insert(flow.to_owned(), vars.captures.clone());
        self.marks.insert(flow.to_owned(), vars.marks.clone());
    }

    /// Forget the `params.*` of the group call a flow was in.
    pub fn clear_params(&mut self, flow: &str) {
        if let Some(m) = self.by_flow.get_mut(flow) {
            m.retain(|k, _| !k.starts_with("params."));
        }
    }

    /// Forget a flow's captures (before a retry).
    pub fn clear_flow(&mut self, flow: &str) {
        self.by_flow.remove(flow);
    }

    /// Looks a name up as seen from `flow` running as `user`.
    pub fn lookup(
        &self,
        flow: &str,
        needs: &BTreeSet<String>,
        user: Option<&str>,
        name: &str,
    ) -> Option<Resolved> {
        if let Some(v) = self.by_flow.get(flow).and_then(|m| m.get(name)) {
            return Some(v.clone());
        }
        for need in needs {
            if let Some(v) = self.by_flow.get(need).and_then(|m| m.get(name)) {
                return Some(v.clone());
            }
        }
        if let Some(rest) = name.strip_prefix("user.") {
            return self
                .builtins
                .get(&format!("users.{}.{rest}", user?))
                .cloned();
        }
        if let Some(env_name) = name.strip_prefix("env.") {
            return self.env_value(env_name).map(|value| Resolved {
                value,
                secret: self.secret_env.contains(env_name),
            });
        }
        self.builtins.get(name).cloned()
    }

    /// Renders a template string as seen from a flow; registers nothing (secrets are already
    /// registered with the redactor when they are captured).
    pub fn render(
        &self,
        text: &str,
        flow: &str,
        needs: &BTreeSet<String>,
        user: Option<&str>,
    ) -> Result<Rendered, String> {
        let template = Template::parse(text).map_err(|e| e.to_string())?;
        template
            .render(&|name| self.lookup(flow, needs, user, name))
            .map_err(|e| e.to_string())
    }

    /// `{{ env.NAME }}`: the environment, else the suite's `.env` file.
    fn env_value(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.env_file.get(name).cloned())
    }

    /// Registers every secret built-in (the E2E secret, users' passwords) and every
    /// `[secrets] env` value with the redactor, before anything runs.
    pub fn register_secrets(&self, redactor: &Redactor) {
        for v in self.builtins.values().filter(|v| v.secret) {
            redactor.add(&v.value);
        }
        for name in &self.secret_env {
            if let Some(value) = self.env_value(name) {
                redactor.add(&value);
            }
        }
    }
}
