//! `mail` and `mails` steps: recipient, text checks, attachments and extractions; and where their
//! time window starts (`after_step`, `mark`, `since`).

use crate::flowfile::ast::{AttachmentCheck, MailBody, MailStep, MailsStep, TextChecks};
use crate::flowfile::check::env::{is_capture_name, slugify};
use crate::flowfile::diagnostic::token_len;
use crate::flowfile::span::Sp;
use crate::flowfile::suggest::{did_you_mean_prefix, list};

use super::{FlowChecker, Kind};

impl FlowChecker<'_> {
    pub(super) fn after_step(&mut self, i: usize, after: Option<&Sp<u32>>) {
        let Some(a) = after else { return };
        let n = a.value;
        let this = i + 1;
        if n == 0 || n as usize >= this {
            let len = token_len(self.source, a.loc);
            let message = if n == 0 {
                "`after_step` counts steps from 1".to_string()
            } else {
                format!("`after_step: {n}` must name an earlier step; this is step {this}")
            };
            let d = self.error(a.loc, len, message);
            d.hint = Some(if this > 1 {
                if this == 2 {
                    "the only earlier step is step 1".to_string()
                } else {
                    format!("use a number from 1 to {}", this - 1)
                }
            } else {
                "the first step has no earlier step: remove `after_step`".to_string()
            });
        }
    }

    pub(super) fn mail(&mut self, i: usize, m: &MailStep) {
        self.mail_recipient(i, &m.to);
        if let Some(s) = &m.subject {
            self.sp_string(i, s, Kind::Text { exact: false }, "subject");
        }
        match m.body.as_ref().map(|b| &b.value) {
            Some(MailBody::Filter(b)) => {
                self.sp_string(i, b, Kind::Text { exact: false }, "body");
            }
            Some(MailBody::Checks(c)) => self.text_checks(i, c, "body"),
            None => {}
        }
        if let Some(h) = &m.html {
            self.text_checks(i, &h.value, "html");
        }
        if let Some(a) = &m.attachment {
            self.attachment(i, a);
        }
        self.after_step(i, m.after_step.as_ref());
        self.since(i, m.since.as_ref(), m.after_step.as_ref());
        let absent = m.absent.as_ref().filter(|a| a.value);
        if let Some(a) = absent {
            let checks = [
                (
                    "body",
                    matches!(m.body.as_ref().map(|b| &b.value), Some(MailBody::Checks(_))),
                ),
                ("html", m.html.is_some()),
                ("attachment", m.attachment.is_some()),
            ];
            for (what, _) in checks.iter().filter(|(_, set)| *set) {
                let loc = self.key_loc(i, what);
                self.error(
                    loc,
                    what.len(),
                    format!("`absent: true` has no message to check `{what}` on"),
                )
                .hint = Some(
                    "to pick which message must not arrive, use `subject:` or `body: \"text\"`; \
                     to check a message that does arrive, use a step without `absent`"
                        .to_owned(),
                );
            }
            if m.within.is_none() {
                self.error(a.loc, 4, "`absent: true` needs `within`").hint =
                    Some("say how long to watch for the message, e.g. `within: 3s`".into());
            }
            if m.otp.is_some() || m.link.is_some() {
                self.error(a.loc, 4, "`absent: true` cannot extract `otp` or `link`")
                    .hint = Some(
                    "a message that must not arrive has nothing to extract: use two steps".into(),
                );
            }
        }
        if let Some(w) = &m.within {
            if absent.is_none() {
                let loc = self.key_loc(i, "within");
                self.error(loc, 6, "`within` is only for `absent: true`")
                    .hint = Some("to wait longer for a message, use `timeout`".into());
            }
            self.check_duration(w);
        }
        if let Some(otp) = &m.otp {
            if let Some(re) = &otp.regex {
                self.sp_string(i, re, Kind::Regex, "regex");
            }
            if let Some(p) = &otp.pattern {
                if otp.regex.is_some() {
                    let len = self.len_at(p.loc, &p.value);
                    self.error(
                        p.loc,
                        len,
                        "`pattern` and `regex` both say what a code looks like",
                    )
                    .hint = Some("keep one: `regex` when the code has a shape of its own".into());
                } else if !matches!(p.value.as_str(), "digits" | "alnum") {
                    let len = self.len_at(p.loc, &p.value);
                    let hint = format!(
                        "{}use `digits` (six digits, the default) or `alnum` (letters and digits, \
                         e.g. ABCD-EFGH), or give a `regex`",
                        did_you_mean_prefix(&p.value, ["digits", "alnum"].into_iter())
                    );
                    self.error(p.loc, len, format!("unknown code pattern `{}`", p.value))
                        .hint = Some(hint);
                }
            }
            if let Some(n) = &otp.near {
                self.sp_string(i, n, Kind::NonEmpty, "near");
            }
            self.add_capture(i, &otp.var.value, otp.var.loc, true);
        }
        if let Some(link) = &m.link {
            if let Some(t) = &link.text {
                self.sp_string(i, t, Kind::Text { exact: false }, "text");
            }
            if let Some(re) = &link.regex {
                self.sp_string(i, re, Kind::Regex, "regex");
            }
            self.add_capture(i, &link.var.value, link.var.loc, true);
        }
        if let Some(t) = &m.timeout {
            self.check_duration(t);
        }
    }

    /// `mails: { to, subjects, since | after_step, timeout }`.
    pub(super) fn mails(&mut self, i: usize, m: &MailsStep) {
        self.mail_recipient(i, &m.to);
        if m.subjects.is_empty() {
            let loc = self.key_loc(i, "subjects");
            self.error(loc, "subjects".len(), "`subjects` is empty").hint = Some(
                "list the subjects in the order they arrive, e.g. `subjects: [\"/opened/\", \"/updated/\"]`; \
                 for \"no mail\", use `mail: { absent: true, within: 3s }`"
                    .into(),
            );
        }
        for s in &m.subjects {
            self.sp_string(i, s, Kind::Text { exact: false }, "subjects");
        }
        self.after_step(i, m.after_step.as_ref());
        self.since(i, m.since.as_ref(), m.after_step.as_ref());
        if let Some(t) = &m.timeout {
            self.check_duration(t);
        }
    }

    /// `to:` of a mail step: a user key, an address, or a template.
    pub(super) fn mail_recipient(&mut self, i: usize, to: &Sp<String>) {
        if to.value.contains("{{") {
            self.sp_string(i, to, Kind::NonEmpty, "to");
        } else if !to.value.contains('@') && !self.env.users.contains(&to.value) {
            let len = self.len_at(to.loc, &to.value);
            let users = self.env.users.iter().map(String::as_str);
            let hint = format!(
                "{}write a user key ({}) or an e-mail address",
                did_you_mean_prefix(&to.value, users),
                list(self.env.users.iter().map(String::as_str), 8)
            );
            let d = self.error(
                to.loc,
                len,
                format!(
                    "`{}` is neither a configured user nor an e-mail address",
                    to.value
                ),
            );
            d.hint = Some(hint);
        }
    }

    /// `body: { … }` / `html: { … }`: at least one assertion, each a valid pattern.
    pub(super) fn text_checks(&mut self, i: usize, c: &TextChecks, what: &str) {
        if c.contains.is_none() && c.not_contains.is_none() && c.regex.is_none() {
            let loc = self.key_loc(i, what);
            self.error(loc, what.len(), format!("`{what}` checks nothing"))
                .hint = Some(format!(
                "give `{what}` `contains`, `not_contains` or `regex`, e.g. `{what}: {{ contains: \"Ticket #\" }}`"
            ));
        }
        for list in [&c.contains, &c.not_contains].into_iter().flatten() {
            for t in list.items() {
                self.sp_string(i, t, Kind::Text { exact: false }, what);
            }
        }
        if let Some(re) = &c.regex {
            self.sp_string(i, re, Kind::Regex, "regex");
        }
    }

    /// `attachment: { name, type, size, sha256, contains }`.
    pub(super) fn attachment(&mut self, i: usize, a: &Sp<AttachmentCheck>) {
        let a_loc = a.loc;
        let a = &a.value;
        if let Some(n) = &a.name {
            self.sp_string(i, n, Kind::Text { exact: false }, "name");
        }
        if let Some(t) = &a.media_type {
            self.sp_string(i, t, Kind::NonEmpty, "type");
            if !t.value.contains("{{") && !t.value.contains('/') {
                let loc = self.fix_loc(i, t).unwrap_or(a_loc);
                let len = self.len_at(loc, &t.value);
                self.error(loc, len, format!("`{}` is not a media type", t.value))
                    .hint =
                    Some("write a type and subtype, e.g. `text/csv` or `application/pdf`".into());
            }
        }
        if let Some(size) = &a.size {
            if let Err(message) = crate::flowfile::size::SizeRange::parse(&size.value.0) {
                let loc = if size.loc.line > 0 {
                    size.loc
                } else {
                    self.key_loc(i, "size")
                };
                let len = self.len_at(loc, &size.value.0).max(1);
                self.error(loc, len, message).hint = Some(
                    "bytes (`2048`), with a unit (`2 KB`, `1.5 MiB`), or a range (`1KB..2MB`, `..10MB`, `100..`)"
                        .into(),
                );
            }
        }
        if let Some(h) = &a.sha256 {
            let v = h.value.trim();
            if !v.contains("{{") && (v.len() != 64 || !v.chars().all(|c| c.is_ascii_hexdigit())) {
                let loc = self.fix_loc(i, h).unwrap_or(a_loc);
                let len = self.len_at(loc, &h.value).max(1);
                self.error(loc, len, "`sha256` is not a SHA-256 in hex")
                    .hint = Some("64 hex digits, as `sha256sum FILE` prints them".into());
            }
        }
        if let Some(list) = &a.contains {
            for t in list.items() {
                self.sp_string(i, t, Kind::Text { exact: false }, "contains");
            }
        }
    }

    /// `mark: NAME`: a name like a variable's, once per flow.
    pub(super) fn mark(&mut self, i: usize, m: &Sp<String>) {
        // Inside `goto: { … }`, `screenshot: { … }` and `window: { … }` values have no span.
        let m = &Sp::new(
            m.value.clone(),
            if m.loc.line == 0 {
                self.value_after_key(i, "mark")
            } else {
                m.loc
            },
        );
        let len = self.len_at(m.loc, &m.value).max(1);
        if !is_capture_name(&m.value) {
            let suggestion = slugify(&m.value).replace('-', "_");
            self.error(m.loc, len, format!("invalid mark name `{}`", m.value))
                .hint = Some(if suggestion.is_empty() || !is_capture_name(&suggestion) {
                "use lowercase letters, digits and `_`, e.g. `ticket_opened`".to_string()
            } else {
                format!("use lowercase letters, digits and `_`, e.g. `{suggestion}`")
            });
            return;
        }
        if let Some((first, _)) = self.facts.marks.iter().find(|(_, n)| n.value == m.value) {
            let first = first + 1;
            self.error(
                m.loc,
                len,
                format!("mark `{}` is already set by step {first}", m.value),
            )
            .hint = Some("each mark names one moment: give this one another name".into());
            return;
        }
        self.facts.marks.push((i, m.clone()));
    }

    /// `since: NAME`: not with `after_step`; the mark itself is looked up suite-wide (a flow
    /// it needs may set it) in `check/mod.rs`.
    pub(super) fn since(&mut self, i: usize, since: Option<&Sp<String>>, after: Option<&Sp<u32>>) {
        let Some(s) = since else { return };
        if after.is_some() {
            let len = self.len_at(s.loc, &s.value).max(1);
            self.error(s.loc, len, "`since` and `after_step` both say where the window starts")
                .hint = Some("keep one: `since: MARK` for a moment marked in this flow or a flow it needs, `after_step: N` for a step of this flow".into());
            return;
        }
        self.facts.since.push((i, s.clone()));
    }
}
