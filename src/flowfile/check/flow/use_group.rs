//! `use:` steps: a known step group, the params it takes, and what calling it brings into the flow
//! (its captures, its credentials, a browser user).

use std::collections::BTreeMap;

use crate::flowfile::ast::UseStep;
use crate::flowfile::check::facts::Capture;
use crate::flowfile::span::Sp;
use crate::flowfile::suggest::{did_you_mean_prefix, list};

use super::{FlowChecker, Kind};

impl FlowChecker<'_> {
    pub(super) fn use_group(&mut self, i: usize, u: &UseStep) {
        let name = u.group();
        let loc = self.fix_loc(i, name).unwrap_or(self.flow.steps[i].loc);
        let len = self.len_at(loc, &name.value);
        let Some(info) = self.groups.get(&name.value).cloned() else {
            let known: Vec<&str> = self.groups.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                "a step group is a file `groups/NAME.yaml` beside the flows, with `group: NAME`, `params` and `steps`".to_string()
            } else {
                format!(
                    "{}groups are: {}",
                    did_you_mean_prefix(&name.value, known.iter().copied()),
                    list(known.iter().copied(), 12)
                )
            };
            let d = self.error(loc, len, format!("unknown step group `{}`", name.value));
            d.label = Some("no group has this name".to_string());
            d.hint = Some(hint);
            return;
        };
        let empty = BTreeMap::new();
        let given = u.params().unwrap_or(&empty);
        for (key, value) in given {
            if !info.params.contains_key(key) {
                let kloc = self.key_loc(i, key);
                let known: Vec<&str> = info.params.keys().map(String::as_str).collect();
                let hint = if known.is_empty() {
                    format!("group `{}` takes no params", name.value)
                } else {
                    format!(
                        "{}group `{}` takes: {}",
                        did_you_mean_prefix(key, known.iter().copied()),
                        name.value,
                        list(known.iter().copied(), 12)
                    )
                };
                let klen = self.key_len(kloc, key);
                let d = self.error(
                    kloc,
                    klen,
                    format!("unknown param `{key}` for group `{}`", name.value),
                );
                d.hint = Some(hint);
                d.note = Some((
                    info.file.clone(),
                    info.name_loc,
                    "the group is defined here".to_string(),
                ));
            }
            let value = Sp::new(value.value.0.clone(), value.loc);
            self.sp_string(i, &value, Kind::Plain, "with");
        }
        let missing: Vec<&str> = info
            .params
            .iter()
            .filter(|(k, required)| **required && !given.contains_key(*k))
            .map(|(k, _)| k.as_str())
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
            let example: Vec<String> = missing.iter().map(|m| format!("{m}: …")).collect();
            let d = self.error(
                loc,
                len,
                format!("group `{}` needs {}", name.value, names.join(", ")),
            );
            d.label = Some("missing params".to_string());
            d.hint = Some(format!(
                "pass them: `use: {{ group: {}, with: {{ {} }} }}`",
                name.value,
                example.join(", ")
            ));
            d.note = Some((
                info.file.clone(),
                info.name_loc,
                "the group is defined here".to_string(),
            ));
        }
        for name in &info.sent_as_credentials {
            match name.strip_prefix("params.") {
                Some(param) => {
                    if let Some(v) = given.get(param) {
                        self.sent_as_credential(&v.value.0.clone());
                    }
                }
                None => {
                    self.facts.sent_as_credentials.insert(name.clone());
                }
            }
        }
        for (capture, secret) in &info.captures {
            self.facts.captures.push(Capture {
                step: i,
                name: capture.clone(),
                secret: *secret,
                loc,
            });
        }
        if info.browser {
            self.browser(i, None);
        }
    }
}
