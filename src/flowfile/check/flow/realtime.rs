//! `subscribe` and `expect_event` steps: a Pusher or SSE subscription, and the events expected on it.

use crate::flowfile::ast::{ExpectEventStep, Step, SubscribeStep};
use crate::flowfile::suggest::{did_you_mean_prefix, list};

use super::{FlowChecker, Kind};

impl FlowChecker<'_> {
    pub(super) fn subscribe(&mut self, i: usize, s: &SubscribeStep) {
        match (&s.pusher, &s.sse) {
            (Some(_), Some(_)) => {
                let loc = self.key_loc(i, "sse");
                self.error(
                    loc,
                    3,
                    "a subscription is either `pusher` or `sse`, not both",
                )
                .hint = Some("use two `subscribe` steps with different ids".to_string());
            }
            (None, None) => {
                let d = self.error(
                    self.flow.steps[i].loc,
                    "subscribe".len(),
                    "`subscribe` needs `pusher` or `sse`",
                );
                d.hint = Some(
                    "e.g. `sse: /events`, or `pusher: { url: /app/KEY, channel: private-… }`"
                        .to_string(),
                );
            }
            _ => {}
        }
        let id = &s.id;
        let len = self.len_at(id.loc, &id.value);
        if id.value.trim().is_empty() {
            self.error(id.loc, len, "empty subscription id").hint = Some(
                "name it, e.g. `id: bell`, to refer to it in `expect_event: { on: bell }`"
                    .to_string(),
            );
        } else if let Some(&(first, first_loc)) = self.subscriptions.get(&id.value) {
            let file = self.file.to_path_buf();
            let d = self.error(
                id.loc,
                len,
                format!(
                    "subscription id `{}` is already used by step {}",
                    id.value,
                    first + 1
                ),
            );
            d.note = Some((file, first_loc, "first used here".to_string()));
            d.hint = Some("give each subscription of a flow its own id".to_string());
        } else {
            self.subscriptions.insert(id.value.clone(), (i, id.loc));
        }
        if let Some(u) = &s.as_user {
            self.check_user(u, "`as`");
        }
        if let Some(p) = &s.pusher {
            self.sp_string(i, &p.url, Kind::NonEmpty, "url");
            self.sp_string(i, &p.channel, Kind::NonEmpty, "channel");
            if let Some(a) = &p.auth_endpoint {
                self.sp_string(i, a, Kind::NonEmpty, "auth_endpoint");
            }
            for (name, v) in &p.auth_headers {
                self.check_header_name(i, name);
                self.sp_string(i, v, Kind::Plain, "auth_headers");
                // Every auth header of a channel authorisation is a credential.
                self.sent_as_credential(&v.value);
            }
        }
        if let Some(sse) = &s.sse {
            self.sp_string(i, sse, Kind::NonEmpty, "sse");
        }
        if let Some(t) = &s.timeout {
            self.check_duration(t);
        }
    }

    pub(super) fn expect_event(&mut self, i: usize, e: &ExpectEventStep) {
        let on = &e.on;
        if !self.subscriptions.contains_key(&on.value) {
            let len = self.len_at(on.loc, &on.value);
            let later = self.flow.steps[i + 1..]
                .iter()
                .enumerate()
                .find_map(|(k, st)| match &st.value {
                    Step::Subscribe(s) if s.id.value == on.value => Some(i + 1 + k),
                    _ => None,
                });
            let known: Vec<&str> = self.subscriptions.keys().map(String::as_str).collect();
            let hint = match later {
                Some(k) => format!(
                    "it is opened later, by step {}: move that `subscribe` before this step",
                    k + 1
                ),
                None if known.is_empty() => {
                    "open one first with `- subscribe: { id: NAME, … }` earlier in this flow"
                        .to_string()
                }
                None => format!(
                    "{}subscriptions opened before this step: {}",
                    did_you_mean_prefix(&on.value, known.iter().copied()),
                    list(known.iter().copied(), 8)
                ),
            };
            let d = self.error(
                on.loc,
                len,
                format!("no subscription `{}` before this step", on.value),
            );
            d.label = Some("not opened by an earlier `subscribe`".to_string());
            d.hint = Some(hint);
        }
        self.sp_string(i, &e.event, Kind::NonEmpty, "event");
        for (pointer, v) in &e.data {
            self.check_pointer(i, pointer);
            self.json_expectation(i, v);
        }
        self.after_step(i, e.after_step.as_ref());
        if let Some(t) = &e.timeout {
            self.check_duration(t);
        }
    }
}
