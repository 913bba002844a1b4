//! Checking one flow (or one step group's steps) on its own: its id, title and user, and each
//! step's shape, locators, patterns, durations, files and captured variables. Collects the
//! strings that use variables and the variables the flow captures ([`FlowFacts`]), for the
//! suite-wide checks in `check/mod.rs` and `check/vars.rs`.
//!
//! This file holds the checker, its location helpers and the step dispatch; each step family's
//! checks are in a file of their own (strings, locators, assertions, page, use_group, http,
//! mail, realtime, contract).
//!
//! Adding a step kind: add its arm to `FlowChecker::step` below (or a method in its family's
//! file): which strings it holds (and how they match), which users, durations, variables it
//! captures, and whether it needs a browser.

mod assertions;
mod contract;
pub(super) mod http;
mod locators;
mod mail;
mod page;
mod realtime;
mod strings;
#[cfg(test)]
mod tests;
mod use_group;
mod visual;

use std::collections::BTreeMap;
use std::path::Path;

use crate::flowfile::ast::{DialogAction, DurationText, FlowFile, Step};
use crate::flowfile::diagnostic::Diagnostic;
use crate::flowfile::locate::SourceText;
use crate::flowfile::span::{Loc, Sp};
use crate::flowfile::suggest::{did_you_mean_prefix, list};

use super::env::{
    count, is_capture_name, is_flow_id, slugify, value_len_in, CheckEnv, RESERVED_NAMES,
};
use super::facts::{Capture, FlowFacts, GroupInfo};

/// How a string value is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Sent or typed as is.
    Plain,
    /// Must not be empty either (selectors, URLs, names).
    NonEmpty,
    /// A text pattern (`exact` applies when true).
    Text { exact: bool },
    /// A URL pattern: a path, a full URL, or `/regex/`.
    Url,
    /// A raw regular expression (no slashes).
    Regex,
    /// Any text; checked only when written `/regex/` (expected JSON values).
    MaybeRegex,
}

/// Checks one flow on its own, collecting what the suite-wide checks need.
pub(super) struct FlowChecker<'a> {
    file: &'a Path,
    source: &'a str,
    text: SourceText<'a>,
    flow: &'a FlowFile,
    env: &'a CheckEnv,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) facts: FlowFacts,
    /// The last line of each step (its first line is its `loc`).
    step_end: Vec<u32>,
    subscriptions: BTreeMap<String, (usize, Loc)>,
    screenshots: BTreeMap<String, usize>,
    pub(super) browser_without_user: Option<usize>,
    /// Step groups a `use` step may call.
    groups: &'a BTreeMap<String, GroupInfo>,
    /// Checking a step group's steps rather than a flow (no id, title or user of its own).
    in_group: bool,
}

impl<'a> FlowChecker<'a> {
    pub(super) fn new(
        file: &'a Path,
        source: &'a str,
        flow: &'a FlowFile,
        env: &'a CheckEnv,
        groups: &'a BTreeMap<String, GroupInfo>,
        in_group: bool,
    ) -> Self {
        let text = SourceText::new(source);
        let last = text.line_count();
        let step_end = (0..flow.steps.len())
            .map(|i| {
                flow.steps.get(i + 1).map_or(last, |next| {
                    next.loc.line.saturating_sub(1).max(flow.steps[i].loc.line)
                })
            })
            .collect();
        FlowChecker {
            file,
            source,
            text,
            flow,
            env,
            diags: Vec::new(),
            facts: FlowFacts::default(),
            step_end,
            subscriptions: BTreeMap::new(),
            screenshots: BTreeMap::new(),
            browser_without_user: None,
            groups,
            in_group,
        }
    }

    fn error(&mut self, loc: Loc, len: usize, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::new(self.file, message).at(loc, len));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn len_at(&self, loc: Loc, value: &str) -> usize {
        value_len_in(&self.text, self.source, loc, value)
    }

    /// The characters a key found by [`Self::key_loc`] covers: its quotes too when it is
    /// quoted (the location is the opening quote's), one for a key named by nothing.
    fn key_len(&self, loc: Loc, key: &str) -> usize {
        if key.is_empty() {
            1
        } else {
            self.len_at(loc, key)
        }
    }

    /// Where a value without a usable span is: found in the step's lines, if it is written
    /// there as is (`None` otherwise; callers then search for the part they point at).
    fn fix_loc(&self, step: usize, sp: &Sp<String>) -> Option<Loc> {
        if sp.loc.line > 0 {
            return Some(sp.loc);
        }
        let start = self.flow.steps[step].loc;
        if sp.value.is_empty() || sp.value.contains('\n') {
            return None;
        }
        let l = self.text.find(start, self.step_end[step], &sp.value)?;
        // Include an opening quote, as serde-saphyr's spans do.
        let before = self
            .text
            .line(l.line)
            .and_then(|line| line.chars().nth((l.col as usize).checked_sub(2)?));
        Some(match before {
            Some('"' | '\'') => Loc {
                line: l.line,
                col: l.col - 1,
            },
            _ => l,
        })
    }

    /// Where `key:` is written in the step (for values without spans), else the step.
    fn key_loc(&self, step: usize, key: &str) -> Loc {
        let start = self.flow.steps[step].loc;
        self.text
            .find_key(start, self.step_end[step], key)
            .unwrap_or(start)
    }

    pub(super) fn run(&mut self) {
        let flow = self.flow;
        if self.in_group {
            for i in 0..flow.steps.len() {
                self.step(i);
            }
            return;
        }
        if !is_flow_id(&flow.id.value) {
            let slug = slugify(&flow.id.value);
            let hint = if slug.is_empty() || slug == flow.id.value {
                "use lowercase letters, digits and `-`, starting with a letter or digit (e.g. `create-ticket`)".to_string()
            } else {
                format!("use lowercase letters, digits and `-`, e.g. `{slug}`")
            };
            let len = self.len_at(flow.id.loc, &flow.id.value);
            self.error(
                flow.id.loc,
                len,
                format!("invalid flow id `{}`", flow.id.value),
            )
            .hint = Some(hint);
        }
        if flow.title.value.trim().is_empty() {
            let len = self.len_at(flow.title.loc, &flow.title.value);
            self.error(flow.title.loc, len, "empty title").hint = Some(
                "a title names the flow in reports, e.g. `title: Create ticket (portal)`"
                    .to_string(),
            );
        }
        if let Some(user) = &flow.user {
            self.check_user(user, "`user`");
        }
        if let Some(t) = &flow.step_timeout {
            self.check_duration(t);
        }
        if let Some(b) = &flow.browser {
            self.check_flow_browser(b);
        }
        if flow.steps.is_empty() {
            let loc = self
                .text
                .find_key(Loc { line: 1, col: 1 }, self.text.line_count(), "steps")
                .unwrap_or_default();
            self.error(loc, 5, "a flow needs at least one step").hint =
                Some("add steps under `steps:`, e.g. `- goto: /login`".to_string());
        }
        for i in 0..flow.steps.len() {
            self.step(i);
        }
        if flow.user.is_none() {
            if let Some(i) = self.browser_without_user {
                let step = &flow.steps[i];
                let kind = step.value.kind();
                let users = list(self.env.users.iter().map(String::as_str), 8);
                self.error(
                    step.loc,
                    kind.chars().count(),
                    "this flow has browser steps but no `user`",
                )
                .label = Some(format!("`{kind}` runs in a user's browser session"));
                let last = self.diags.len() - 1;
                self.diags[last].hint = Some(if users.is_empty() {
                    "add `user: KEY` to the flow (and the user to [users] in flows.toml)"
                        .to_string()
                } else {
                    format!("add `user: KEY` to the flow (one of: {users}), or `as: KEY` to each browser step")
                });
            }
        }
    }

    fn step(&mut self, i: usize) {
        let flow = self.flow;
        let step = &flow.steps[i];
        if let Some(m) = step.value.mark() {
            self.mark(i, m);
        }
        match &step.value {
            Step::Goto(g) => {
                let url = g.url();
                let loc = self.fix_loc(i, url);
                self.string(i, &url.value, loc, Kind::NonEmpty, "url");
                self.browser(i, g.as_user());
            }
            Step::Click(s) => {
                self.located(i, &s.locator(), true);
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Fill(s) => {
                self.located(i, &s.locator(), true);
                self.sp_string(i, &s.value, Kind::Plain, "value");
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Select(s) => {
                self.located(i, &s.locator(), true);
                self.sp_string(i, &s.option, Kind::NonEmpty, "option");
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Check(s) => {
                self.located(i, &s.locator(), true);
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Upload(s) => {
                self.located(i, &s.locator(), true);
                if s.files.is_empty() {
                    let loc = self.key_loc(i, "files");
                    self.error(loc, 5, "`files` is empty").hint =
                        Some("list at least one file, relative to the flow file: `files: [files/report.pdf]`".to_string());
                }
                for f in &s.files {
                    self.sp_string(i, f, Kind::NonEmpty, "files");
                    if !f.value.contains("{{") && !f.value.trim().is_empty() {
                        self.check_upload_file(f);
                    }
                }
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Press(s) => {
                self.located(i, &s.locator(), false);
                let key = &s.key;
                // A key from a variable is checked when it is pressed.
                if !key.value.contains("{{") {
                    if let Err(e) = crate::flowfile::keys::parse_chord(&key.value) {
                        let len = self.len_at(key.loc, &key.value);
                        let hint = match e {
                            crate::flowfile::keys::ChordError::Unknown(_) => {
                                format!(
                                    "keys are {}; join a chord with `+` (`Control+A`)",
                                    crate::flowfile::keys::key_names()
                                )
                            }
                            _ => {
                                "a key (`Enter`, `Tab`, `a`) or a chord joined by `+` (`Control+A`)"
                                    .to_string()
                            }
                        };
                        self.error(key.loc, len, format!("invalid key `{}`: {e}", key.value))
                            .hint = Some(hint);
                    }
                }
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Expect(s) => self.expect(i, s),
            Step::WaitFor(s) => self.wait_for(i, s),
            Step::Screenshot(s) => self.screenshot(i, s),
            Step::ExpectScreenshot(s) => self.expect_screenshot(i, s),
            Step::Capture(s) => self.capture(i, s),
            Step::Http(h) => self.http(i, h),
            Step::Mail(m) => self.mail(i, m),
            Step::Mails(m) => self.mails(i, m),
            Step::Subscribe(s) => self.subscribe(i, s),
            Step::ExpectEvent(e) => self.expect_event(i, e),
            Step::Hover(s) => {
                self.located(i, &s.locator(), true);
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Drag(s) => {
                self.located(i, &s.locator(), true);
                let to_loc = if s.to.loc.line == 0 {
                    self.key_loc(i, "to")
                } else {
                    s.to.loc
                };
                self.locator(i, &s.to.value, true, Some((to_loc, "to")));
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Download(s) => self.download(i, s),
            Step::Dialog(s) => {
                if let Some(t) = &s.text {
                    self.sp_string(i, t, Kind::Text { exact: false }, "text");
                }
                if let Some(p) = &s.prompt {
                    self.sp_string(i, p, Kind::Plain, "prompt");
                    if s.action == Some(DialogAction::Dismiss) {
                        let loc = self.key_loc(i, "prompt");
                        self.error(loc, 6, "`prompt` types into a prompt that is then accepted, and this step dismisses it")
                            .hint = Some("remove `prompt`, or use `action: accept`".to_string());
                    }
                }
                self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
            }
            Step::Window(w) => self.window(i, w),
            Step::Use(u) => self.use_group(i, u),
            Step::Guard(s) => self.guard(i, s),
            Step::Forbidden(s) => self.forbidden(i, s),
            Step::DownloadHeaders(s) => self.download_headers(i, s),
            Step::Sse(s) => self.sse(i, s),
            Step::Routes(s) => self.routes(i, s),
            Step::Metrics(s) => self.metrics(i, s),
        }
    }

    /// Marks step `i` as a browser step: it needs the flow's user unless it names its own.
    fn browser(&mut self, i: usize, as_user: Option<&Sp<String>>) {
        match as_user {
            Some(u) => {
                let loc = if u.loc.line == 0 {
                    self.value_after_key(i, "as")
                } else {
                    u.loc
                };
                self.check_user(&Sp::new(u.value.clone(), loc), "`as`");
            }
            None => {
                if self.browser_without_user.is_none() {
                    self.browser_without_user = Some(i);
                }
            }
        }
    }

    /// Where the value of `key:` starts in step `i` (for values without spans), else the step.
    fn value_after_key(&self, i: usize, key: &str) -> Loc {
        let k = self.key_loc(i, key);
        if k == self.flow.steps[i].loc {
            return k;
        }
        let rest = self.text.rest_at(k).unwrap_or("");
        let colon = rest.find(':').map_or(0, |c| c + 1);
        let spaces = rest[colon..].len() - rest[colon..].trim_start().len();
        Loc {
            line: k.line,
            col: k.col + count(&rest[..colon + spaces]),
        }
    }

    fn common(
        &mut self,
        i: usize,
        as_user: Option<&Sp<String>>,
        timeout: Option<&Sp<DurationText>>,
    ) {
        self.browser(i, as_user);
        if let Some(t) = timeout {
            self.check_duration(t);
        }
    }

    fn check_user(&mut self, user: &Sp<String>, what: &str) {
        if self.env.users.contains(&user.value) {
            return;
        }
        let users = list(self.env.users.iter().map(String::as_str), 12);
        let hint = if users.is_empty() {
            "no users are configured: add `[users.KEY]` to flows.toml".to_string()
        } else {
            format!(
                "{}users are: {users} (from [users] in flows.toml)",
                did_you_mean_prefix(&user.value, self.env.users.iter().map(String::as_str))
            )
        };
        let len = self.len_at(user.loc, &user.value);
        let d = self.error(
            user.loc,
            len,
            format!("unknown user `{}` in {what}", user.value),
        );
        d.label = Some("not a key of [users]".to_string());
        d.hint = Some(hint);
    }

    fn check_duration(&mut self, d: &Sp<DurationText>) {
        if let Err(e) = d.value.parse() {
            let len = self.len_at(d.loc, &d.value.0);
            let diag = self.error(d.loc, len, e.message);
            diag.hint = Some(e.hint);
        }
    }

    fn check_var_name(&mut self, name: &str, loc: Loc) -> bool {
        let len = self.len_at(loc, name);
        if !is_capture_name(name) {
            let suggestion = slugify(name).replace('-', "_");
            let d = self.error(loc, len, format!("invalid variable name `{name}`"));
            d.hint = Some(if suggestion.is_empty() || !is_capture_name(&suggestion) {
                "use lowercase letters, digits and `_`, starting with a letter or `_`".to_string()
            } else {
                format!("use lowercase letters, digits and `_`, e.g. `{suggestion}`")
            });
            return false;
        }
        if RESERVED_NAMES.contains(&name) {
            let d = self.error(loc, len, format!("`{name}` is a reserved variable name"));
            d.hint = Some(format!(
                "it would hide the built-in `{{{{ {name} }}}}` variables; choose another name, e.g. `{name}_value`"
            ));
            return false;
        }
        true
    }

    fn add_capture(&mut self, step: usize, name: &str, loc: Loc, secret: bool) {
        let mut names = vec![name.to_string()];
        if !self.check_var_name(name, loc) {
            // Reported; still known under the name as written and as the hint spells it, so
            // its uses are not reported again (the suite fails anyway).
            let fixed = slugify(name).replace('-', "_");
            if !fixed.is_empty() && fixed != name {
                names.push(fixed);
            }
        }
        for name in names {
            self.facts.captures.push(Capture {
                step,
                name,
                secret,
                loc,
            });
        }
    }
}
