//! Checking one flow on its own: its id, title and user, and each step's shape, locators,
//! patterns, durations, files and captured variables. Collects the strings that use variables
//! and the variables the flow captures, for the suite-wide checks in `check.rs`.
//!
//! Adding a step kind: add its arm to `FlowChecker::step`: which strings it holds (and how they
//! match), which users, durations, variables it captures, and whether it needs a browser.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::ast::{
    AttachmentCheck, CaptureStep, DialogAction, DownloadStep, DurationText, ExpectEventStep,
    ExpectStep, FlowFile, FrameRef, HttpStep, Locator, MailBody, MailStep, MailsStep,
    ScreenshotStep, Step, SubscribeStep, TextChecks, UseStep, WaitForStep, WindowStep,
};
use super::check::{is_capture_name, is_flow_id, CheckEnv, RESERVED_NAMES};
use super::diagnostic::{token_len, Diagnostic};
use super::locate::SourceText;
use super::roles::{is_aria_role, role_for_alias, ARIA_ROLES};
use super::span::{Loc, Sp};
use super::suggest::{did_you_mean, did_you_mean_prefix, list};
use super::template::Template;
use super::text::{compile_regex, split_regex_literal, RegexLiteral, TextPattern};

const LOCATOR_KINDS: &[&str] = &[
    "role",
    "label",
    "text",
    "placeholder",
    "test_id",
    "css",
    "xpath",
];

/// Roles that have a `checked` state (ARIA `aria-checked`, native checkboxes and radios).
const CHECKABLE_ROLES: &[&str] = &[
    "checkbox",
    "radio",
    "switch",
    "menuitemcheckbox",
    "menuitemradio",
    "treeitem",
];
/// Roles that have a `selected` state (`aria-selected`, `<option>`).
const SELECTABLE_ROLES: &[&str] = &[
    "option",
    "tab",
    "row",
    "gridcell",
    "treeitem",
    "columnheader",
    "rowheader",
];
/// Roles that have a level (`heading` first).
const LEVEL_ROLES: &[&str] = &["heading", "treeitem", "listitem", "row"];

const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// A path as shown in messages (forward slashes).
pub(super) fn shown(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

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
    text: String,
    /// Where the value starts, when known exactly.
    value_loc: Option<Loc>,
    /// Otherwise: the step (and the line to search up to).
    fallback: Loc,
    last_line: u32,
}

impl StrUse {
    pub(super) fn loc_of(&self, text: &SourceText<'_>, offset: usize) -> Loc {
        let base = self.value_loc.unwrap_or(self.fallback);
        text.loc_in_value_within(base, &self.text, offset, self.last_line)
    }
}

pub(super) fn count(s: &str) -> u32 {
    u32::try_from(s.chars().count()).unwrap_or(u32::MAX)
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

/// Whether a header or field name says its value is a credential: one of its words (split at
/// `-`, `_`, spaces) is `auth`, `authorization`, `session`, `signature`, `bearer`, or `key` after
/// `api`; or it contains `token`, `csrf`, `xsrf`, `cookie`, `secret` or `passw`.
pub(crate) fn is_credential_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if [
        "token", "csrf", "xsrf", "cookie", "secret", "passw", "apikey",
    ]
    .iter()
    .any(|w| n.contains(w))
    {
        return true;
    }
    let words: Vec<&str> = n
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        matches!(
            *w,
            "auth" | "authorization" | "authentication" | "session" | "signature" | "bearer"
        ) || (*w == "key" && i > 0 && words[i - 1] == "api")
    })
}

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

    /// `browser: { viewport, locale, user_agent }`: values browsers can take.
    fn check_flow_browser(&mut self, b: &super::ast::FlowBrowser) {
        if let Some(v) = &b.viewport {
            if let Err(message) = v.value.parse::<super::browser_settings::Viewport>() {
                let len = self.len_at(v.loc, &v.value);
                self.error(v.loc, len, message).hint =
                    Some("e.g. `browser: { viewport: 390x844 }`".to_string());
            }
        }
        if let Some(l) = &b.locale {
            if let Err(message) = super::browser_settings::check_locale(&l.value) {
                let len = self.len_at(l.loc, &l.value);
                self.error(l.loc, len, message).hint =
                    Some("e.g. `browser: { locale: de-DE }`".to_string());
            }
        }
        if let Some(ua) = &b.user_agent {
            if ua.value.trim().is_empty() || ua.value.contains(['\n', '\r']) {
                let len = self.len_at(ua.loc, &ua.value).max(1);
                self.error(ua.loc, len, "the user agent must be one non-empty line")
                    .hint = Some("e.g. `user_agent: \"Mozilla/5.0 (iPhone; …)\"`".to_string());
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
                    if let Err(e) = super::keys::parse_chord(&key.value) {
                        let len = self.len_at(key.loc, &key.value);
                        let hint = match e {
                            super::keys::ChordError::Unknown(_) => {
                                format!(
                                    "keys are {}; join a chord with `+` (`Control+A`)",
                                    super::keys::key_names()
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
        }
    }

    fn download(&mut self, i: usize, s: &DownloadStep) {
        self.located(i, &s.locator(), true);
        if let Some(n) = &s.file_name {
            self.sp_string(i, n, Kind::Text { exact: false }, "file_name");
        }
        if let Some(t) = &s.media_type {
            self.sp_string(i, t, Kind::NonEmpty, "type");
            if !t.value.contains("{{") && !t.value.contains('/') {
                let loc = self.fix_loc(i, t).unwrap_or(self.flow.steps[i].loc);
                let len = self.len_at(loc, &t.value);
                self.error(loc, len, format!("`{}` is not a media type", t.value))
                    .hint =
                    Some("write `type/subtype`, e.g. `text/csv` or `application/pdf`".to_string());
            }
        }
        if let Some(h) = &s.sha256 {
            let v = h.value.trim();
            let hex64 = v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit());
            if !(v.contains("{{") || hex64) {
                let loc = self.fix_loc(i, h).unwrap_or(self.flow.steps[i].loc);
                let len = self.len_at(loc, &h.value);
                self.error(loc, len, "`sha256` is not a SHA-256 digest")
                    .hint =
                    Some("64 hexadecimal digits, as `sha256sum FILE` prints them".to_string());
            }
        }
        if let (Some(size), Some(min)) = (s.size, s.min_size) {
            if min > size {
                let loc = self.key_loc(i, "min_size");
                self.error(
                    loc,
                    8,
                    format!("`min_size` {min} is larger than `size` {size}"),
                )
                .hint = Some("keep one of them".to_string());
            }
        }
        if let Some(v) = &s.var {
            self.add_capture(i, &v.value, v.loc, false);
        }
        self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
    }

    fn use_group(&mut self, i: usize, u: &UseStep) {
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

    fn window(&mut self, i: usize, w: &WindowStep) {
        match w {
            WindowStep::Main(m) => {
                if m.value != "main" {
                    let loc = self.fix_loc(i, m).unwrap_or(self.flow.steps[i].loc);
                    let len = self.len_at(loc, &m.value);
                    self.error(loc, len, format!("unknown window `{}`", m.value)).hint = Some(
                        "write `window: main`, or `window: { title: … }` / `{ url: … }` to switch to another window"
                            .to_string(),
                    );
                }
                self.browser(i, None);
            }
            WindowStep::Options(o) => {
                let targets = usize::from(o.url.is_some()) + usize::from(o.title.is_some());
                if o.close && targets > 0 {
                    let loc = self.key_loc(i, "close");
                    self.error(
                        loc,
                        5,
                        "`close` closes the current window, so `url`/`title` do not apply",
                    )
                    .hint =
                        Some("switch to the window in one step, close it in the next".to_string());
                } else if !o.close && targets == 0 {
                    let loc = self.flow.steps[i].loc;
                    self.error(loc, "window".len(), "`window` needs `url`, `title` or `close: true`")
                        .hint = Some("e.g. `window: { title: Help }`, `window: main` or `window: { close: true }`".to_string());
                }
                if let Some(u) = &o.url {
                    self.sp_string(i, u, Kind::Url, "url");
                }
                if let Some(t) = &o.title {
                    self.sp_string(i, t, Kind::Text { exact: false }, "title");
                }
                self.common(i, o.as_user.as_ref(), o.timeout.as_ref());
            }
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

    fn check_upload_file(&mut self, f: &Sp<String>) {
        let dir = self.file.parent().unwrap_or(Path::new(""));
        let path = dir.join(&f.value);
        if path.is_file() {
            return;
        }
        let len = self.len_at(f.loc, &f.value);
        let message = if path.exists() {
            format!("upload file `{}` is a directory", f.value)
        } else {
            format!("upload file `{}` not found", f.value)
        };
        let d = self.error(f.loc, len, message);
        d.hint = Some(format!(
            "paths are relative to the flow file's directory; looked for `{}`",
            shown(&path)
        ));
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

    /// A string value with a span.
    fn sp_string(&mut self, step: usize, s: &Sp<String>, kind: Kind, what: &str) {
        let loc = self.fix_loc(step, s);
        self.string(step, &s.value, loc, kind, what);
    }

    /// Checks one string value: template syntax, then (without templates) its own syntax.
    fn string(&mut self, step: usize, value: &str, loc: Option<Loc>, kind: Kind, what: &str) {
        let fallback = self
            .flow
            .steps
            .get(step)
            .map_or_else(Loc::default, |s| s.loc);
        let last_line = self.step_end.get(step).copied().unwrap_or(fallback.line);
        // A value without a span (inside JSON): find it in the step's lines.
        let loc = loc.or_else(|| {
            if value.is_empty() || value.contains('\n') {
                None
            } else {
                self.text.find(fallback, last_line, value)
            }
        });
        if value.contains("{{") {
            match Template::parse(value) {
                Ok(template) => {
                    if template.vars().next().is_some() {
                        self.facts.uses.push(StrUse {
                            step,
                            template,
                            text: value.to_string(),
                            value_loc: loc,
                            fallback,
                            last_line,
                        });
                        return;
                    }
                    // Only `{{ "literal" }}` parts: check the text it stands for below, at the value.
                    let literal = template.as_literal().unwrap_or_default();
                    self.check_string_syntax(&literal, loc.unwrap_or(fallback), None, kind, what);
                }
                Err(e) => {
                    let at = self.text.loc_in_value_within(
                        loc.unwrap_or(fallback),
                        value,
                        e.offset,
                        last_line,
                    );
                    let len = value
                        .get(e.offset..e.offset + e.len)
                        .map_or(1, |s| s.chars().count());
                    let d = self.error(at, len, e.message);
                    d.label = Some("template error".to_string());
                    d.hint = e.hint;
                }
            }
            return;
        }
        self.check_string_syntax(value, loc.unwrap_or(fallback), Some(value), kind, what);
    }

    /// `raw` is the value as written (for mapping offsets into the source), when it is.
    fn check_string_syntax(
        &mut self,
        value: &str,
        loc: Loc,
        raw: Option<&str>,
        kind: Kind,
        what: &str,
    ) {
        let len = self.len_at(loc, raw.unwrap_or(value));
        match kind {
            Kind::Plain => {}
            Kind::NonEmpty => {
                if value.trim().is_empty() {
                    self.error(loc, len, format!("`{what}` is empty")).hint =
                        Some(format!("give `{what}` a value, or remove it"));
                }
            }
            Kind::Text { exact } => {
                if value.trim().is_empty() {
                    self.error(loc, len, format!("`{what}` is empty")).hint = Some(
                        "an empty text matches everything; write the text to look for".to_string(),
                    );
                    return;
                }
                if let Err(message) = TextPattern::parse(value, exact) {
                    self.regex_literal_error(value, loc, raw, len, message);
                }
            }
            Kind::Url | Kind::MaybeRegex => {
                if kind == Kind::Url && value.trim().is_empty() {
                    self.error(loc, len, format!("`{what}` is empty")).hint =
                        Some("write a path (`/dashboard`), a full URL, or `/regex/`".to_string());
                    return;
                }
                if matches!(
                    split_regex_literal(value),
                    RegexLiteral::Regex { .. } | RegexLiteral::BadFlag { .. } | RegexLiteral::Empty
                ) {
                    if let Err(message) = TextPattern::parse(value, false) {
                        self.regex_literal_error(value, loc, raw, len, message);
                    }
                }
            }
            Kind::Regex => {
                if value.is_empty() {
                    self.error(loc, len, format!("`{what}` is empty")).hint =
                        Some("write a regular expression, e.g. `(\\d+)`".to_string());
                    return;
                }
                if let Err(e) = compile_regex(value, "") {
                    let (at, l) = match (e.offset, raw) {
                        (Some(off), Some(raw)) => (
                            self.text.loc_in_value(loc, raw, off),
                            raw.get(off..off + e.len).map_or(1, |s| s.chars().count()),
                        ),
                        _ => (loc, len),
                    };
                    let d = self.error(at, l, format!("invalid regex in `{what}`: {}", e.message));
                    d.label = Some(e.message.clone());
                    let mut hint =
                        "the syntax is Rust's `regex` crate (no look-around or backreferences)"
                            .to_string();
                    let inner = value.get(1..value.len().saturating_sub(1)).unwrap_or("");
                    if value.starts_with('/')
                        && value.len() > 2
                        && value.ends_with('/')
                        && compile_regex(inner, "").is_ok()
                    {
                        hint = format!(
                            "`{what}` is a plain regex, without slashes: write `{}`",
                            &value[1..value.len() - 1]
                        );
                    }
                    d.hint = Some(hint);
                }
            }
        }
    }

    fn regex_literal_error(
        &mut self,
        value: &str,
        loc: Loc,
        raw: Option<&str>,
        len: usize,
        message: String,
    ) {
        let (at, l, label) = match split_regex_literal(value) {
            RegexLiteral::Regex { source, flags } => match compile_regex(source, flags) {
                Err(e) => match (e.offset, raw) {
                    (Some(off), Some(raw)) => (
                        self.text.loc_in_value(loc, raw, off + 1),
                        raw.get(off + 1..off + 1 + e.len)
                            .map_or(1, |s| s.chars().count()),
                        e.message,
                    ),
                    _ => (loc, len, e.message),
                },
                Ok(_) => (loc, len, "invalid".to_string()),
            },
            RegexLiteral::BadFlag { .. } => (loc, len, "unsupported flag".to_string()),
            _ => (loc, len, "invalid".to_string()),
        };
        let d = self.error(at, l, message);
        d.label = Some(label);
        d.hint = Some(
            "a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"
                .to_string(),
        );
    }

    /// Checks a locator; `required`: the step must have one. Returns whether it has a kind.
    fn located(&mut self, step: usize, l: &Locator, required: bool) -> bool {
        self.locator(step, l, required, None)
    }

    fn locator(
        &mut self,
        step: usize,
        l: &Locator,
        required: bool,
        // A locator inside another (`within`, `frame`, `to`): where it is and its key.
        nested: Option<(Loc, &'static str)>,
    ) -> bool {
        let kinds: Vec<(&str, &Sp<String>)> = [
            ("role", &l.role),
            ("label", &l.label),
            ("text", &l.text),
            ("placeholder", &l.placeholder),
            ("test_id", &l.test_id),
            ("css", &l.css),
            ("xpath", &l.xpath),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        let kind_name = self.flow.steps[step].value.kind();
        if kinds.is_empty() {
            let refinements: Vec<&str> = [
                ("name", l.name.is_some()),
                ("exact", l.exact.is_some()),
                ("within", l.within.is_some()),
                ("frame", l.frame.is_some()),
                ("nth", l.nth.is_some()),
                ("has", l.has.is_some()),
                ("has_not", l.has_not.is_some()),
                ("has_own_text", l.has_own_text.is_some()),
                ("has_not_text", l.has_not_text.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, present)| present.then_some(k))
            .collect();
            if required || !refinements.is_empty() || nested.is_some() {
                let (loc, len) = match nested {
                    Some((loc, _)) => (loc, 1),
                    None => (self.flow.steps[step].loc, kind_name.chars().count()),
                };
                let message = if let Some((_, key)) = nested {
                    format!("`{key}` needs a locator")
                } else if refinements.is_empty() || required {
                    format!("`{kind_name}` needs a locator")
                } else {
                    format!("`{}` needs a locator to refine", refinements[0])
                };
                let d = self.error(loc, len, message);
                d.label =
                    Some("no role, label, text, placeholder, test_id, css or xpath".to_string());
                d.hint = Some(match nested {
                    Some((_, "frame")) => "name the frame by its title or name (`frame: Payment`), or give a locator for the `<iframe>` (`frame: { css: \"iframe.checkout\" }`)".to_string(),
                    _ => "add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`".to_string(),
                });
            }
            if let Some(w) = &l.within {
                self.locator(step, &w.value, true, Some((w.loc, "within")));
            }
            return false;
        }
        if kinds.len() > 1 {
            let (second, sp) = kinds[1];
            let names: Vec<String> = kinds.iter().map(|(k, _)| format!("`{k}`")).collect();
            let len = second.len();
            let loc = self
                .text
                .find_key(
                    Loc {
                        line: sp.loc.line,
                        col: 1,
                    },
                    sp.loc.line,
                    second,
                )
                .unwrap_or(sp.loc);
            let d = self.error(loc, len, format!("a locator takes one of role, label, text, placeholder, test_id, css, xpath; this one has {}", names.join(" and ")));
            d.label = Some(format!("second locator kind `{second}`"));
            let names_only: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            d.hint = Some(match (names_only.as_slice(), kinds.iter().find(|(k, _)| *k != "role")) {
                (["role", ..], Some((other @ ("text" | "label"), v))) => format!(
                    "to match the accessible name of a `role`, use `name` instead of `{other}`: `role: {}, name: {}`",
                    l.role.as_ref().map_or("…", |r| r.value.as_str()),
                    v.value
                ),
                _ => format!(
                    "keep one; to search inside another element, put that one in `within: {{ {}: … }}`",
                    kinds[0].0
                ),
            });
        }
        if let Some(name) = &l.name {
            if l.role.is_none() {
                let loc = name.loc;
                let len = self.len_at(loc, &name.value);
                let d = self.error(
                    loc,
                    len,
                    "`name` refines `role`, and this locator has no `role`",
                );
                d.hint = Some(format!(
                    "add a role (`role: button, name: {0}`) or find the element by its text (`text: {0}`)",
                    name.value
                ));
            }
            self.sp_string(
                step,
                name,
                Kind::Text {
                    exact: l.exact == Some(true),
                },
                "name",
            );
        }
        if l.exact.is_some()
            && l.name.is_none()
            && l.text.is_none()
            && l.label.is_none()
            && l.placeholder.is_none()
        {
            let loc = self.key_loc(step, "exact");
            self.error(
                loc,
                5,
                "`exact` applies to name, text, label or placeholder, and this locator has none",
            )
            .hint = Some("remove `exact`, or match by `text`/`name` instead".to_string());
        }
        if let Some(role) = &l.role {
            self.check_role(role);
        }
        let exact = l.exact == Some(true);
        for (k, v) in &kinds {
            match *k {
                "role" => {}
                "label" | "text" | "placeholder" => {
                    self.sp_string(step, v, Kind::Text { exact }, k)
                }
                _ => self.sp_string(step, v, Kind::NonEmpty, k),
            }
        }
        if let Some(w) = &l.within {
            self.locator(step, &w.value, true, Some((w.loc, "within")));
        }
        self.frame(step, l);
        self.filters(step, l);
        true
    }

    /// The filters of a locator: texts, `has`/`has_not` locators, and states that its role
    /// can have.
    fn filters(&mut self, step: usize, l: &Locator) {
        for (key, field) in [
            ("has_text", &l.has_text),
            ("has_own_text", &l.has_own_text),
            ("has_not_text", &l.has_not_text),
        ] {
            if let Some(v) = field {
                self.sp_string(step, v, Kind::Text { exact: false }, key);
            }
        }
        for (key, inner) in [("has", &l.has), ("has_not", &l.has_not)] {
            let Some(inner) = inner else { continue };
            let loc = if inner.loc.line == 0 {
                self.key_loc(step, key)
            } else {
                inner.loc
            };
            self.locator(step, &inner.value, true, Some((loc, key)));
            let misplaced = [
                ("within", inner.value.within.is_some()),
                ("frame", inner.value.frame.is_some()),
                ("nth", inner.value.nth.is_some()),
            ]
            .into_iter()
            .find_map(|(k, present)| present.then_some(k));
            if let Some(k) = misplaced {
                let at = self
                    .text
                    .find_key(loc, self.step_end[step], k)
                    .unwrap_or(loc);
                self.error(
                    at,
                    k.len(),
                    format!("`{key}` looks inside each element the locator finds, so `{k}` does not apply in it"),
                )
                .hint = Some(format!(
                    "remove `{k}` from `{key}`; put `within`, `frame` and `nth` on the outer locator"
                ));
            }
        }
        let Some(role) = &l.role else {
            if let Some(level) = &l.level {
                self.check_level(step, level, None);
            }
            return;
        };
        let r = role.value.as_str();
        let states: [(&str, bool, &[&str]); 3] = [
            ("checked", l.checked.is_some(), CHECKABLE_ROLES),
            ("selected", l.selected.is_some(), SELECTABLE_ROLES),
            ("pressed", l.pressed.is_some(), &["button"]),
        ];
        for (key, present, roles) in states {
            if present && is_aria_role(r) && !roles.contains(&r) {
                let at = self.key_loc(step, key);
                let d = self.error(at, key.len(), format!("a `{r}` has no `{key}` state"));
                d.label = Some(format!("role `{r}`"));
                d.hint = Some(format!("`{key}` applies to the roles {}", roles.join(", ")));
            }
        }
        if let Some(level) = &l.level {
            self.check_level(step, level, Some(r));
        }
    }

    /// `level:` is 1 or more (1 to 6 for headings), on a role that has levels.
    fn check_level(&mut self, step: usize, level: &Sp<u32>, role: Option<&str>) {
        let loc = if level.loc.line == 0 {
            self.value_after_key(step, "level")
        } else {
            level.loc
        };
        let len = token_len(self.source, loc);
        if let Some(r) = role.filter(|r| is_aria_role(r) && !LEVEL_ROLES.contains(r)) {
            let d = self.error(loc, len, format!("a `{r}` has no `level`"));
            d.hint = Some(format!(
                "`level` applies to headings (`role: heading, level: 2`) and the roles {}",
                LEVEL_ROLES[1..].join(", ")
            ));
            return;
        }
        let heading = role.is_none_or(|r| r == "heading");
        let n = level.value;
        if n == 0 || (heading && n > 6) {
            let d = self.error(loc, len, format!("there is no level {n}"));
            d.hint = Some(if heading {
                "heading levels are 1 (`<h1>`) to 6 (`<h6>`)".to_string()
            } else {
                "levels count from 1".to_string()
            });
        }
    }

    fn frame(&mut self, step: usize, l: &Locator) {
        let Some(f) = &l.frame else { return };
        match &f.value {
            FrameRef::Name(n) => self.sp_string(step, n, Kind::Text { exact: false }, "frame"),
            FrameRef::Locator(inner) => {
                let loc = if f.loc.line == 0 {
                    self.key_loc(step, "frame")
                } else {
                    f.loc
                };
                self.locator(step, inner, true, Some((loc, "frame")));
            }
        }
    }

    fn check_role(&mut self, role: &Sp<String>) {
        let r = role.value.as_str();
        if is_aria_role(r) {
            return;
        }
        let len = self.len_at(role.loc, r);
        let lower = r.to_ascii_lowercase();
        let hint = if is_aria_role(&lower) {
            format!("roles are lower case: `{lower}`")
        } else if LOCATOR_KINDS.contains(&lower.as_str()) && lower != "role" {
            format!("to find an element by its {lower}, write `{lower}: …` instead of `role:`")
        } else if let Some(alias) = role_for_alias(r) {
            format!("did you mean `{alias}`? (the ARIA role of that element)")
        } else if let Some(s) = did_you_mean(r, ARIA_ROLES.iter().copied()) {
            format!("did you mean `{s}`? roles are WAI-ARIA 1.2 roles, e.g. button, link, textbox, heading, checkbox")
        } else {
            "roles are WAI-ARIA 1.2 roles, e.g. button, link, textbox, heading, checkbox, combobox, dialog, region".to_string()
        };
        let d = self.error(role.loc, len, format!("unknown ARIA role `{r}`"));
        d.label = Some("not a WAI-ARIA role".to_string());
        d.hint = Some(hint);
    }

    fn expect(&mut self, i: usize, s: &ExpectStep) {
        let l = s.locator();
        let has_kind = self.locator(i, &l, false, None);
        if s.value.is_some() || s.equals.is_some() || s.matches.is_some() {
            self.expect_value(i, s, has_kind);
            return;
        }
        // With `count`/`hidden`, `has_text` and the states filter the matches; otherwise one of
        // them is the check.
        let mut keys: Vec<&str> = vec![];
        for (k, present) in [
            ("visible", s.visible.is_some()),
            ("hidden", s.hidden.is_some()),
            ("count", s.count.is_some()),
        ] {
            if present {
                keys.push(k);
            }
        }
        if s.checks_matches() {
            // Checks of one element, which `count`/`hidden` do not make.
            for (k, present) in [
                ("has_value", s.has_value.is_some()),
                ("enabled", s.enabled.is_some()),
                ("editable", s.editable.is_some()),
                ("focused", s.focused.is_some()),
                ("empty", s.empty.is_some()),
            ] {
                if present {
                    keys.push(k);
                }
            }
        } else {
            keys.extend(s.element_checks().into_iter().map(|(k, _)| k));
        }
        let assertions: Vec<(&str, Loc)> =
            keys.into_iter().map(|k| (k, self.key_loc(i, k))).collect();
        let page: Vec<(&str, &Sp<String>)> = [("url", &s.url), ("title", &s.title)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
        if has_kind {
            for (k, _) in &page {
                let loc = self.key_loc(i, k);
                let d = self.error(
                    loc,
                    k.len(),
                    format!("`{k}` checks the page and cannot be combined with a locator"),
                );
                d.hint = Some(format!(
                    "split it into two steps: `- expect: {{ {k}: … }}` and one with the locator"
                ));
            }
        } else if let Some((k, loc)) = assertions.first() {
            let d = self.error(*loc, k.len(), format!("`{k}` needs a locator"));
            d.label = Some("checks an element".to_string());
            d.hint = Some(if page.is_empty() {
                "add the element: one of role, label, text, placeholder, test_id, css, xpath"
                    .to_string()
            } else {
                "add a locator in a step of its own; `url` and `title` check the page".to_string()
            });
        } else if page.is_empty() && !has_refinement(&l) {
            // (A refinement without a locator kind was reported by `locator` already.)
            let kind = "expect";
            let d = self.error(
                self.flow.steps[i].loc,
                kind.len(),
                "`expect` needs a locator, `url`, `title` or `value`",
            );
            d.hint = Some("e.g. `expect: { role: heading, name: Dashboard }` or `expect: { url: /dashboard }`".to_string());
        }
        if assertions.len() > 1 {
            let (k, loc) = assertions[1];
            let names: Vec<String> = assertions.iter().map(|(k, _)| format!("`{k}`")).collect();
            let d = self.error(
                loc,
                k.len(),
                format!(
                    "an `expect` checks one thing; this one has {}",
                    names.join(" and ")
                ),
            );
            d.hint = Some(if s.checks_matches() {
                "split it into one `expect` step per check".to_string()
            } else {
                "split it into one `expect` step per check; to narrow down which element is checked, use `has`, `has_not_text` or `within`".to_string()
            });
        }
        if s.count.is_some() && s.nth.is_some() {
            let loc = self.key_loc(i, "nth");
            self.error(
                loc,
                3,
                "`count` counts every match, so `nth` does not apply",
            )
            .hint = Some("remove `nth`".to_string());
        }
        if let Some(v) = &s.has_value {
            // Any text, the empty one included (an empty field); `/…/` is a regex.
            self.sp_string(i, v, Kind::MaybeRegex, "has_value");
        }
        if let Some(v) = &s.url {
            self.sp_string(i, v, Kind::Url, "url");
        }
        if let Some(v) = &s.title {
            self.sp_string(i, v, Kind::Text { exact: false }, "title");
        }
        self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
    }

    /// `expect: { value, equals | matches }`: two values compared by the runner; no locator,
    /// no page, no browser.
    fn expect_value(&mut self, i: usize, s: &ExpectStep, has_kind: bool) {
        let step_loc = self.flow.steps[i].loc;
        if has_kind {
            let loc = self.key_loc(i, "value");
            self.error(
                loc,
                5,
                "`value` compares two values and cannot be combined with a locator",
            )
            .hint = Some(
                "to check a field's value use `has_value`; to compare two values, use a step of its own".to_string(),
            );
        }
        for k in ["url", "title"] {
            let present = if k == "url" {
                s.url.is_some()
            } else {
                s.title.is_some()
            };
            if present {
                let loc = self.key_loc(i, k);
                self.error(
                    loc,
                    k.len(),
                    format!("`{k}` checks the page and cannot be combined with `value`"),
                )
                .hint = Some("split it into two `expect` steps".to_string());
            }
        }
        match (&s.value, &s.equals, &s.matches) {
            (None, _, _) => {
                let k = if s.equals.is_some() {
                    "equals"
                } else {
                    "matches"
                };
                let loc = self.key_loc(i, k);
                let d = self.error(loc, k.len(), format!("`{k}` needs `value`"));
                d.label = Some("compared with what?".to_string());
                d.hint = Some(format!(
                    "write the value to compare: `expect: {{ value: \"{{{{ a }}}}\", {k}: … }}`"
                ));
            }
            (Some(_), None, None) => {
                let loc = self.key_loc(i, "value");
                self.error(loc, 5, "`value` needs `equals` or `matches`")
                    .hint = Some(
                    "e.g. `expect: { value: \"{{ a }}\", equals: \"{{ b }}\" }`, or `matches: \"/^{{ b | regex }}/\"`".to_string(),
                );
            }
            (Some(_), Some(_), Some(_)) => {
                let loc = self.key_loc(i, "matches");
                self.error(
                    loc,
                    7,
                    "an `expect` checks one thing; this one has `equals` and `matches`",
                )
                .hint = Some("split it into two `expect` steps".to_string());
            }
            _ => {}
        }
        if let Some(v) = &s.value {
            self.sp_string(i, v, Kind::Plain, "value");
        }
        if let Some(v) = &s.equals {
            self.sp_string(i, v, Kind::Plain, "equals");
        }
        if let Some(m) = &s.matches {
            if matches!(split_regex_literal(&m.value), RegexLiteral::NotRegex) {
                let loc = self.fix_loc(i, m).unwrap_or(step_loc);
                let len = self.len_at(loc, &m.value).max(1);
                let d = self.error(loc, len, "`matches` takes a regex written `/…/`");
                d.label = Some("not a /regex/".to_string());
                d.hint = Some(
                    "write `/^…$/` (variables inside escaped with `{{ name | regex }}`), or use `equals` to compare exactly".to_string(),
                );
            } else {
                self.sp_string(i, m, Kind::MaybeRegex, "matches");
            }
        }
        // No browser: only the deadline's syntax.
        if let Some(u) = &s.as_user {
            self.check_user(u, "`as`");
        }
        if let Some(t) = &s.timeout {
            self.check_duration(t);
        }
    }

    fn wait_for(&mut self, i: usize, s: &WaitForStep) {
        let l = s.locator();
        let has_kind = self.locator(i, &l, false, None);
        match (&s.url, has_kind) {
            (Some(_), true) => {
                let loc = self.key_loc(i, "url");
                self.error(
                    loc,
                    3,
                    "`wait_for` waits for an element or a `url`, not both",
                )
                .hint = Some("split it into two `wait_for` steps".to_string());
            }
            (None, false) => {
                let d = self.error(
                    self.flow.steps[i].loc,
                    "wait_for".len(),
                    "`wait_for` needs a locator or `url`",
                );
                d.hint = Some("e.g. `wait_for: { text: Saved, state: hidden }` or `wait_for: { url: /dashboard }`".to_string());
            }
            (Some(_), false) => {
                if s.state.is_some() {
                    let loc = self.key_loc(i, "state");
                    self.error(loc, 5, "`state` applies to an element, not to `url`")
                        .hint = Some("remove `state`, or wait for an element instead".to_string());
                }
            }
            (None, true) => {}
        }
        if let Some(url) = &s.url {
            self.sp_string(i, url, Kind::Url, "url");
        }
        self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
    }

    fn screenshot(&mut self, i: usize, s: &ScreenshotStep) {
        let name = match s {
            ScreenshotStep::Name(n) => n,
            ScreenshotStep::Options(o) => &o.name,
        };
        let loc = self.fix_loc(i, name).unwrap_or(self.flow.steps[i].loc);
        let n = name.value.as_str();
        let valid = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        let len = self.len_at(loc, n);
        if !valid {
            let slug = slugify(n);
            let d = self.error(loc, len, format!("invalid screenshot name `{n}`"));
            d.label = Some("becomes a file name".to_string());
            d.hint = Some(if slug.is_empty() {
                "use lowercase letters, digits, `-` and `_`".to_string()
            } else {
                format!("use lowercase letters, digits, `-` and `_`, e.g. `{slug}`")
            });
        } else if let Some(&first) = self.screenshots.get(n) {
            let d = self.error(
                loc,
                len,
                format!(
                    "screenshot name `{n}` is already used by step {}",
                    first + 1
                ),
            );
            d.hint = Some(
                "each screenshot of a flow needs its own name, or it overwrites the earlier one"
                    .to_string(),
            );
        } else {
            self.screenshots.insert(n.to_string(), i);
        }
        self.browser(i, None);
    }

    fn capture(&mut self, i: usize, s: &CaptureStep) {
        let l = s.locator();
        let has_kind = self.locator(i, &l, false, None);
        match (s.from, has_kind) {
            (Some(from), true) => {
                let loc = self.key_loc(i, "from");
                let what = match from {
                    super::ast::CaptureSource::Url => "url",
                    super::ast::CaptureSource::Title => "title",
                };
                self.error(loc, 4, format!("`from: {what}` reads the page, and this capture also has a locator")).hint =
                    Some("use `from` to read the URL or title, or a locator to read an element's text: not both".to_string());
            }
            (None, false) => {
                let d = self.error(
                    self.flow.steps[i].loc,
                    "capture".len(),
                    "`capture` needs `from: url`, `from: title` or a locator",
                );
                d.hint = Some(
                    "e.g. `capture: { var: ticket, from: url, regex: '/tickets/(\\d+)' }`"
                        .to_string(),
                );
            }
            _ => {}
        }
        if let Some(attr) = &s.attribute {
            if !has_kind {
                let len = self.len_at(attr.loc, &attr.value);
                self.error(
                    attr.loc,
                    len,
                    "`attribute` reads an element, and this capture has no locator",
                )
                .hint = Some("add a locator for the element whose attribute to read".to_string());
            }
            self.sp_string(i, attr, Kind::NonEmpty, "attribute");
        }
        if let Some(re) = &s.regex {
            self.sp_string(i, re, Kind::Regex, "regex");
        }
        self.add_capture(i, &s.var.value, s.var.loc, s.secret);
        self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
    }

    fn http(&mut self, i: usize, h: &HttpStep) {
        if let Some(m) = &h.method {
            if !HTTP_METHODS.contains(&m.value.as_str()) {
                let len = self.len_at(m.loc, &m.value);
                let upper = m.value.to_ascii_uppercase();
                let hint = if HTTP_METHODS.contains(&upper.as_str()) {
                    format!("write it in upper case: `{upper}`")
                } else {
                    format!(
                        "{}methods are: {}",
                        did_you_mean_prefix(&upper, HTTP_METHODS.iter().copied()),
                        HTTP_METHODS.join(", ")
                    )
                };
                self.error(m.loc, len, format!("unknown HTTP method `{}`", m.value))
                    .hint = Some(hint);
            }
        }
        self.sp_string(i, &h.url, Kind::NonEmpty, "url");
        if let Some(u) = &h.as_user {
            self.check_user(u, "`as`");
        }
        for (name, v) in &h.headers {
            self.check_header_name(i, name);
            self.sp_string(i, v, Kind::Plain, "headers");
            if is_credential_name(name) {
                self.sent_as_credential(&v.value);
            }
        }
        for (name, v) in &h.form {
            if is_credential_name(name) {
                self.sent_as_credential(&v.value);
            }
        }
        if let Some(json) = &h.json {
            self.json_credentials(json);
        }
        let bodies: Vec<&str> = [
            ("json", h.json.is_some()),
            ("form", !h.form.is_empty()),
            ("body", h.body.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, p)| p.then_some(k))
        .collect();
        if bodies.len() > 1 {
            let loc = self.key_loc(i, bodies[1]);
            let names: Vec<String> = bodies.iter().map(|b| format!("`{b}`")).collect();
            self.error(
                loc,
                bodies[1].len(),
                format!(
                    "a request has one body; this one has {}",
                    names.join(" and ")
                ),
            )
            .hint = Some("keep one of `json`, `form` and `body`".to_string());
        }
        if let Some(json) = &h.json {
            for (_, s) in super::template::json_strings(json) {
                self.string(i, s, None, Kind::Plain, "json");
            }
        }
        for v in h.form.values() {
            self.sp_string(i, v, Kind::Plain, "form");
        }
        if let Some(b) = &h.body {
            self.sp_string(i, b, Kind::Plain, "body");
        }
        if let Some(e) = &h.expect {
            if let Some(status) = e.status {
                if !(100..=599).contains(&status) {
                    let loc = self.key_loc(i, "status");
                    self.error(loc, 6, format!("`{status}` is not an HTTP status code"))
                        .hint = Some("status codes are 100 to 599, e.g. `200`".to_string());
                }
            }
            for (name, v) in &e.headers {
                self.check_header_name(i, name);
                self.sp_string(i, v, Kind::Text { exact: false }, "headers");
            }
            for (pointer, v) in &e.json {
                self.check_pointer(i, pointer);
                self.json_expectation(i, v);
            }
            if let Some(b) = &e.body {
                self.sp_string(i, b, Kind::Text { exact: false }, "body");
            }
        }
        for (var, pointer) in &h.capture {
            let loc = self.key_loc(i, var);
            self.add_capture(i, var, loc, false);
            let ploc = pointer.loc;
            if !pointer.value.starts_with('/') {
                let len = self.len_at(ploc, &pointer.value);
                self.error(
                    ploc,
                    len,
                    format!("`{}` is not a JSON pointer", pointer.value),
                )
                .hint = Some(format!(
                    "a JSON pointer starts with `/`, e.g. `/{}`",
                    pointer.value.trim_start_matches(['.', '$'])
                ));
            } else {
                self.check_pointer_escapes(ploc, &pointer.value);
            }
        }
        if let Some(t) = &h.timeout {
            self.check_duration(t);
        }
    }

    /// Marks the variables of `template` as sent as credentials.
    fn sent_as_credential(&mut self, template: &str) {
        if let Ok(t) = Template::parse(template) {
            for var in t.vars() {
                self.facts.sent_as_credentials.insert(var.name.clone());
            }
        }
    }

    /// JSON body fields named like credentials (`{"_token": "{{ csrf }}"}`).
    fn json_credentials(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(t) if is_credential_name(k) => {
                            self.sent_as_credential(t);
                        }
                        other => self.json_credentials(other),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    self.json_credentials(v);
                }
            }
            _ => {}
        }
    }

    fn check_header_name(&mut self, i: usize, name: &str) {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid {
            let loc = self.key_loc(i, name);
            let len = self.key_len(loc, name);
            self.error(loc, len, format!("invalid header name `{name}`"))
                .hint =
                Some("header names are letters, digits and `-`, e.g. `Content-Type`".to_string());
        }
    }

    /// A key of `expect.json` or `data`: an RFC 6901 pointer.
    fn check_pointer(&mut self, i: usize, pointer: &str) {
        let loc = self.key_loc(i, pointer);
        if !pointer.starts_with('/') {
            let len = self.key_len(loc, pointer);
            self.error(loc, len, format!("`{pointer}` is not a JSON pointer"))
                .hint = Some(format!(
                "a JSON pointer starts with `/`, e.g. `/{}`",
                pointer.trim_start_matches(['.', '$'])
            ));
            return;
        }
        self.check_pointer_escapes(loc, pointer);
    }

    fn check_pointer_escapes(&mut self, loc: Loc, pointer: &str) {
        let bytes = pointer.as_bytes();
        let bad = bytes
            .iter()
            .enumerate()
            .any(|(k, b)| *b == b'~' && !matches!(bytes.get(k + 1), Some(b'0' | b'1')));
        if bad {
            let len = self.key_len(loc, pointer);
            self.error(
                loc,
                len,
                format!("invalid escape in JSON pointer `{pointer}`"),
            )
            .hint = Some("in a JSON pointer, `~0` stands for `~` and `~1` for `/`".to_string());
        }
    }

    /// An expected JSON value: strings may hold variables or be `/regex/`.
    fn json_expectation(&mut self, i: usize, v: &serde_json::Value) {
        for (_, s) in super::template::json_strings(v) {
            self.string(i, s, None, Kind::MaybeRegex, "json");
        }
    }

    fn after_step(&mut self, i: usize, after: Option<&Sp<u32>>) {
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

    fn mail(&mut self, i: usize, m: &MailStep) {
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
    fn mails(&mut self, i: usize, m: &MailsStep) {
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
    fn mail_recipient(&mut self, i: usize, to: &Sp<String>) {
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
    fn text_checks(&mut self, i: usize, c: &TextChecks, what: &str) {
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
    fn attachment(&mut self, i: usize, a: &Sp<AttachmentCheck>) {
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
            if let Err(message) = super::size::SizeRange::parse(&size.value.0) {
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
    fn mark(&mut self, i: usize, m: &Sp<String>) {
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
    /// it needs may set it) in `check.rs`.
    fn since(&mut self, i: usize, since: Option<&Sp<String>>, after: Option<&Sp<u32>>) {
        let Some(s) = since else { return };
        if after.is_some() {
            let len = self.len_at(s.loc, &s.value).max(1);
            self.error(s.loc, len, "`since` and `after_step` both say where the window starts")
                .hint = Some("keep one: `since: MARK` for a moment marked in this flow or a flow it needs, `after_step: N` for a step of this flow".into());
            return;
        }
        self.facts.since.push((i, s.clone()));
    }

    fn subscribe(&mut self, i: usize, s: &SubscribeStep) {
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

    fn expect_event(&mut self, i: usize, e: &ExpectEventStep) {
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

/// The characters a value covers at `loc`: its own length when the source shows it as written
/// (quotes included), else the YAML token there.
pub(super) fn value_len(source: &str, loc: Loc, value: &str) -> usize {
    value_len_in(&SourceText::new(source), source, loc, value)
}

fn value_len_in(text: &SourceText<'_>, source: &str, loc: Loc, value: &str) -> usize {
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

/// Whether a locator has keys that refine a locator kind (reported when the kind is missing).
fn has_refinement(l: &Locator) -> bool {
    l.name.is_some()
        || l.exact.is_some()
        || l.within.is_some()
        || l.frame.is_some()
        || l.nth.is_some()
        || l.has.is_some()
        || l.has_not.is_some()
        || l.has_own_text.is_some()
        || l.has_not_text.is_some()
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::super::check::{check_flows, Suite};
    use super::super::parse::parse_flow;
    use super::*;

    /// Checks one flow (user `requester`) with these steps: the suite, or each diagnostic's
    /// message and hint.
    fn check(steps: &str) -> Result<Suite, Vec<(String, Option<String>)>> {
        let src = format!("id: a\ntitle: A\nuser: requester\nsteps:\n{steps}");
        let path = PathBuf::from("a.yaml");
        let ast =
            parse_flow(&path, &src).unwrap_or_else(|d| panic!("{}", d.render(Some(&src), false)));
        let env = CheckEnv::new(["requester"], Vec::<String>::new());
        check_flows(vec![(path, Arc::from(src.as_str()), ast)], &env).map_err(|d| {
            d.iter()
                .map(|d| (d.message.clone(), d.hint.clone()))
                .collect()
        })
    }

    #[test]
    fn credential_names_by_word() {
        for name in [
            "Session-Id",
            "X-Signature",
            "X-Bearer",
            "X-APIKEY",
            "api_key",
            "x-auth",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        for name in ["Key", "X-Key", "X-Api-Version", "Keyboard", "monkey"] {
            assert!(!is_credential_name(name), "{name}");
        }
    }

    #[test]
    fn an_invalid_variable_name_is_hinted_with_a_fixed_spelling_when_there_is_one() {
        let diagnostics = |var: &str| {
            check(&format!("  - capture: {{ var: '{var}', from: url }}\n"))
                .err()
                .unwrap_or_else(|| panic!("`{var}` passed"))
        };
        let generic = "use lowercase letters, digits and `_`, starting with a letter or `_`";
        assert_eq!(
            diagnostics("Ticket"),
            [(
                "invalid variable name `Ticket`".to_string(),
                Some("use lowercase letters, digits and `_`, e.g. `ticket`".to_string())
            )]
        );
        assert_eq!(
            diagnostics("9 lives"),
            [(
                "invalid variable name `9 lives`".to_string(),
                Some(generic.to_string())
            )]
        );
        assert_eq!(
            diagnostics("--"),
            [(
                "invalid variable name `--`".to_string(),
                Some(generic.to_string())
            )]
        );
    }

    #[test]
    fn a_misspelt_capture_is_reported_once_not_again_at_its_uses() {
        assert_eq!(
            check("  - capture: { var: Ticket, from: url }\n  - goto: '/tickets/{{ ticket }}'\n")
                .err()
                .map(|d| d.into_iter().map(|(m, _)| m).collect::<Vec<_>>()),
            Some(vec!["invalid variable name `Ticket`".to_string()])
        );
    }

    #[test]
    fn credential_fields_inside_json_arrays_mark_captures_secret() {
        let suite = check(
            "  - http: { url: /config, capture: { t: /t, u: /u } }\n  - http: { url: /x, method: POST, json: [ { password: '{{ t }}' }, { name: '{{ u }}' } ] }\n",
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        assert!(suite.flows[0].captures["t"].secret);
        assert!(!suite.flows[0].captures["u"].secret);
    }

    /// Checks `src` as `flows/a.yaml` (a whole flow when it starts with `id:`, else steps of a
    /// flow with user `requester`); each diagnostic as
    /// `line:col [the text under the carets] message | label | hint`.
    fn diagnosed(src: &str) -> Vec<String> {
        let src = if src.starts_with("id:") {
            src.to_string()
        } else {
            format!("id: a\ntitle: A\nuser: requester\nsteps:\n{src}")
        };
        let path = PathBuf::from("flows/a.yaml");
        let ast =
            parse_flow(&path, &src).unwrap_or_else(|d| panic!("{}", d.render(Some(&src), false)));
        let env = CheckEnv::new(["requester", "head"], Vec::<String>::new());
        let Err(diagnostics) = check_flows(vec![(path, Arc::from(src.as_str()), ast)], &env) else {
            return Vec::new();
        };
        diagnostics
            .iter()
            .map(|d| {
                let at = d.loc.map_or_else(String::new, |l| {
                    let line = super::super::diagnostic::line_of(&src, l.line).unwrap_or("");
                    let under: String = line.chars().skip(l.col as usize - 1).take(d.len).collect();
                    format!("{l} [{under}] ")
                });
                let label = d.label.as_deref().unwrap_or("-");
                let hint = d.hint.as_deref().unwrap_or("-");
                format!("{at}{} | {label} | {hint}", d.message)
            })
            .collect()
    }

    /// Runs every case, then fails listing each one whose diagnostics differ.
    fn cases(cases: &[(&str, &[&str])]) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(src, expected)| {
                let got = diagnosed(src);
                (got != *expected)
                    .then(|| format!("case {src:?}\n  expected {expected:?}\n  got      {got:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn flow_ids_titles_and_browser_settings_are_hinted() {
        cases(&[
            ("id: Bad Id\ntitle: A\nuser: requester\nsteps:\n  - goto: /\n", &["1:5 [Bad Id] invalid flow id `Bad Id` | - | use lowercase letters, digits and `-`, e.g. `bad-id`"]),
            ("id: 'Bad  Id!'\ntitle: A\nuser: requester\nsteps:\n  - goto: /\n", &["1:5 ['Bad  Id!'] invalid flow id `Bad  Id!` | - | use lowercase letters, digits and `-`, e.g. `bad-id`"]),
            ("id: '--'\ntitle: A\nuser: requester\nsteps:\n  - goto: /\n", &["1:5 ['--'] invalid flow id `--` | - | use lowercase letters, digits and `-`, starting with a letter or digit (e.g. `create-ticket`)"]),
            ("id: a\ntitle: A\nuser: requester\nbrowser: { viewport: 10, locale: 'x y', user_agent: ' ' }\nsteps:\n  - goto: /\n", &["4:22 [10] `10` is not a viewport; write WIDTHxHEIGHT in CSS pixels, e.g. `1280x800` or `390x844` | - | e.g. `browser: { viewport: 390x844 }`", "4:34 ['x y'] `x y` is not a language tag; write one as browsers take it, e.g. `de-DE`, `en-GB` or `fr` | - | e.g. `browser: { locale: de-DE }`", "4:53 [' '] the user agent must be one non-empty line | - | e.g. `user_agent: \"Mozilla/5.0 (iPhone; …)\"`"]),
            ("id: a\ntitle: A\nuser: requester\nbrowser: { viewport: 390x844, locale: de-DE, user_agent: \"a\\nb\" }\nsteps:\n  - goto: /\n", &["4:58 [\"a\\nb\"] the user agent must be one non-empty line | - | e.g. `user_agent: \"Mozilla/5.0 (iPhone; …)\"`"]),
            ("id: a\ntitle: A\nuser: requester\nbrowser: { user_agent: 'Mozilla/5.0 (X11)' }\nsteps:\n  - goto: /\n", &[]),
            ("id: a\ntitle: A\nsteps:\n  - goto: /\n", &["4:5 [goto] this flow has browser steps but no `user` | `goto` runs in a user's browser session | add `user: KEY` to the flow (one of: head, requester), or `as: KEY` to each browser step"]),
        ]);
    }

    #[test]
    fn step_values_are_checked_where_they_are_written() {
        cases(&[
            ("  - goto: ''\n", &["5:5 [goto: ''] `url` is empty | - | give `url` a value, or remove it"]),
            ("  - window: 'mian'\n", &["5:13 ['mian'] unknown window `mian` | - | write `window: main`, or `window: { title: … }` / `{ url: … }` to switch to another window"]),
            ("  - window: mian\n", &["5:13 [mian] unknown window `mian` | - | write `window: main`, or `window: { title: … }` / `{ url: … }` to switch to another window"]),
            ("  - window: main\n", &[]),
            ("  - upload: { css: x, files: [files/nope.pdf] }\n", &["5:31 [files/nope.pdf] upload file `files/nope.pdf` not found | - | paths are relative to the flow file's directory; looked for `flows/files/nope.pdf`"]),
            ("  - upload: { css: x, files: [../src] }\n", &["5:31 [../src] upload file `../src` is a directory | - | paths are relative to the flow file's directory; looked for `flows/../src`"]),
            ("  - upload: { css: x, files: [../Cargo.toml] }\n", &[]),
            ("  - capture: { var: f, from: url }\n  - upload: { css: x, files: ['{{ f }}'] }\n", &[]),
            ("  - upload: { css: x, files: [''] }\n", &["5:31 [''] `files` is empty | - | give `files` a value, or remove it"]),
            ("  - press: { key: Entr }\n", &["5:19 [Entr] invalid key `Entr`: unknown key `Entr` | - | keys are Enter, Tab, Escape, Backspace, Delete, Insert, Space, ArrowUp, ArrowDown, ArrowLeft, ArrowRight, Home, End, PageUp, PageDown, Shift, Control, Alt, Meta, F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, or a single character (`a`, `7`, `/`); join a chord with `+` (`Control+A`)"]),
            ("  - dialog: { action: dismiss, prompt: hi }\n", &["5:32 [prompt] `prompt` types into a prompt that is then accepted, and this step dismisses it | - | remove `prompt`, or use `action: accept`"]),
            ("  - dialog: { action: accept, prompt: hi }\n", &[]),
            ("  - drag: { css: a, to: {} }\n", &["5:25 [{] `to` needs a locator | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - drag: { css: a, to: { css: '' } }\n", &["5:32 [''] `css` is empty | - | give `css` a value, or remove it"]),
        ]);
    }

    #[test]
    fn windows_and_downloads() {
        cases(&[
            ("  - window: {}\n", &["5:5 [window] `window` needs `url`, `title` or `close: true` | - | e.g. `window: { title: Help }`, `window: main` or `window: { close: true }`"]),
            ("  - window: { close: true }\n", &[]),
            ("  - window: { title: Help }\n", &[]),
            ("  - window: { url: /help }\n", &[]),
            ("  - window: { title: Help, close: true }\n", &["5:28 [close] `close` closes the current window, so `url`/`title` do not apply | - | switch to the window in one step, close it in the next"]),
            ("  - window: { url: /a, title: b, close: true }\n", &["5:34 [close] `close` closes the current window, so `url`/`title` do not apply | - | switch to the window in one step, close it in the next"]),
            ("  - download: { css: a, type: csv, sha256: abc, size: 10, min_size: 20 }\n", &["5:31 [csv] `csv` is not a media type | - | write `type/subtype`, e.g. `text/csv` or `application/pdf`", "5:44 [abc] `sha256` is not a SHA-256 digest | - | 64 hexadecimal digits, as `sha256sum FILE` prints them", "5:59 [min_size] `min_size` 20 is larger than `size` 10 | - | keep one of them"]),
            ("  - download: { css: a, type: text/csv, size: 10, min_size: 10, sha256: ' 0123456789abcdef0123456789abcdef0123456789ABCDEF0123456789abcdef ' }\n", &[]),
            ("  - download: { css: a, size: 10, min_size: 9, sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg }\n", &["5:56 [0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg] `sha256` is not a SHA-256 digest | - | 64 hexadecimal digits, as `sha256sum FILE` prints them"]),
            ("  - download: { css: a, sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde }\n", &["5:33 [0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde] `sha256` is not a SHA-256 digest | - | 64 hexadecimal digits, as `sha256sum FILE` prints them"]),
            ("  - capture: { var: t, from: url }\n  - download: { css: a, type: '{{ t }}', sha256: '{{ t }}' }\n", &[]),
        ]);
    }

    #[test]
    fn strings_templates_and_regexes_point_at_the_fault() {
        cases(&[
            ("  - goto: { url: /, as:  hed }\n", &["5:26 [hed] unknown user `hed` in `as` | not a key of [users] | did you mean `head`? users are: head, requester (from [users] in flows.toml)"]),
            ("  - goto: { url: '' }\n", &["5:5 [goto: { url: ''] `url` is empty | - | give `url` a value, or remove it"]),
            ("  - goto: '/t/{{ x y }}'\n", &["5:18 [x y] `x y` is not a variable name | template error | a name is letters, digits and `_`, in parts joined by `.` (e.g. `users.head.email`)"]),
            ("  - goto: '/t/{{ x | nope }}'\n", &["5:22 [nope] unknown filter `nope` | template error | filters are: `regex` (`{{ name | regex }}` escapes a value for use inside `/…/`)"]),
            ("  - capture: { var: t, from: url, regex: '*a/' }\n", &["5:43 [*] invalid regex in `regex`: repetition operator missing expression | repetition operator missing expression | the syntax is Rust's `regex` crate (no look-around or backreferences)"]),
            ("  - capture: { var: t, from: url, regex: '/a(' }\n", &["5:45 [(] invalid regex in `regex`: unclosed group | unclosed group | the syntax is Rust's `regex` crate (no look-around or backreferences)"]),
            ("  - capture: { var: t, from: url, regex: 'a{2,1}' }\n", &["5:44 [{2,1}] invalid regex in `regex`: invalid repetition count range, the start must be <= the end | invalid repetition count range, the start must be <= the end | the syntax is Rust's `regex` crate (no look-around or backreferences)"]),
            ("  - capture: { var: t, from: url, regex: 'a(' }\n", &["5:44 [(] invalid regex in `regex`: unclosed group | unclosed group | the syntax is Rust's `regex` crate (no look-around or backreferences)"]),
            ("  - capture: { var: t, from: url, regex: '/tickets/(\\d+)/' }\n", &[]),
            ("  - expect: { css: a, has_text: '/b{2,1}/' }\n", &["5:36 [{2,1}] invalid regex `/b{2,1}/`: invalid repetition count range, the start must be <= the end | invalid repetition count range, the start must be <= the end | a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"]),
            ("  - expect: { css: a, has_text: '/b/g' }\n", &["5:33 ['/b/g'] unsupported regex flag `g` in `/b/g`; flags are i, m, s and u | unsupported flag | a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"]),
        ]);
    }

    #[test]
    fn locator_faults_are_named_with_their_hint() {
        cases(&[
            ("  - click: { nth: 1 }\n", &["5:5 [click] `click` needs a locator | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - capture: { var: t, nth: 1 }\n", &["5:5 [capture] `nth` needs a locator to refine | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`", "5:5 [capture] `capture` needs `from: url`, `from: title` or a locator | - | e.g. `capture: { var: ticket, from: url, regex: '/tickets/(\\d+)' }`"]),
            ("  - capture: { var: t, css: a, from: url }\n", &["5:32 [from] `from: url` reads the page, and this capture also has a locator | - | use `from` to read the URL or title, or a locator to read an element's text: not both"]),
            ("  - capture: { var: t }\n", &["5:5 [capture] `capture` needs `from: url`, `from: title` or a locator | - | e.g. `capture: { var: ticket, from: url, regex: '/tickets/(\\d+)' }`"]),
            ("  - capture: { var: t, from: url, attribute: href }\n", &["5:46 [href] `attribute` reads an element, and this capture has no locator | - | add a locator for the element whose attribute to read"]),
            ("  - click: { css: a, frame: {} }\n", &["5:29 [{] `frame` needs a locator | no role, label, text, placeholder, test_id, css or xpath | name the frame by its title or name (`frame: Payment`), or give a locator for the `<iframe>` (`frame: { css: \"iframe.checkout\" }`)"]),
            ("  - click: { css: a, frame: { css: '' } }\n", &["5:36 [''] `css` is empty | - | give `css` a value, or remove it"]),
            ("  - click: { css: a, frame: Payment }\n", &[]),
            ("  - click: { css: a, within: {} }\n", &["5:30 [{] `within` needs a locator | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - click: { role: button, text: Save }\n", &["5:28 [text] a locator takes one of role, label, text, placeholder, test_id, css, xpath; this one has `role` and `text` | second locator kind `text` | to match the accessible name of a `role`, use `name` instead of `text`: `role: button, name: Save`"]),
            ("  - click: { css: a, xpath: b }\n", &["5:22 [xpath] a locator takes one of role, label, text, placeholder, test_id, css, xpath; this one has `css` and `xpath` | second locator kind `xpath` | keep one; to search inside another element, put that one in `within: { css: … }`"]),
            ("  - click: { text: Save, name: x }\n", &["5:32 [x] `name` refines `role`, and this locator has no `role` | - | add a role (`role: button, name: x`) or find the element by its text (`text: x`)"]),
            ("  - click: { css: a, exact: true }\n", &["5:22 [exact] `exact` applies to name, text, label or placeholder, and this locator has none | - | remove `exact`, or match by `text`/`name` instead"]),
            ("  - click: { css: a, has: { css: b, nth: 1 } }\n", &["5:37 [nth] `has` looks inside each element the locator finds, so `nth` does not apply in it | - | remove `nth` from `has`; put `within`, `frame` and `nth` on the outer locator"]),
            ("  - click: { css: a, has_not: { css: b, within: { css: c } } }\n", &["5:41 [within] `has_not` looks inside each element the locator finds, so `within` does not apply in it | - | remove `within` from `has_not`; put `within`, `frame` and `nth` on the outer locator"]),
            ("  - click: { css: a, has: {} }\n", &["5:27 [{] `has` needs a locator | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - click: { role: button, checked: true, selected: true, pressed: true }\n", &["5:28 [checked] a `button` has no `checked` state | role `button` | `checked` applies to the roles checkbox, radio, switch, menuitemcheckbox, menuitemradio, treeitem", "5:43 [selected] a `button` has no `selected` state | role `button` | `selected` applies to the roles option, tab, row, gridcell, treeitem, columnheader, rowheader"]),
            ("  - click: { role: checkbox, checked: true }\n", &[]),
            ("  - click: { role: heading, level: 7 }\n", &["5:36 [7] there is no level 7 | - | heading levels are 1 (`<h1>`) to 6 (`<h6>`)"]),
            ("  - click: { role: heading, level: 6 }\n", &[]),
            ("  - click: { role: row, level: 9 }\n", &[]),
            ("  - click: { role: row, level: 0 }\n", &["5:32 [0] there is no level 0 | - | levels count from 1"]),
            ("  - click: { role: button, level: 2 }\n", &["5:35 [2] a `button` has no `level` | - | `level` applies to headings (`role: heading, level: 2`) and the roles treeitem, listitem, row"]),
            ("  - click: { css: a, level: 7 }\n", &["5:29 [7] there is no level 7 | - | heading levels are 1 (`<h1>`) to 6 (`<h6>`)"]),
            ("  - click: { role: Button }\n", &["5:20 [Button] unknown ARIA role `Button` | not a WAI-ARIA role | roles are lower case: `button`"]),
            ("  - click: { role: text }\n", &["5:20 [text] unknown ARIA role `text` | not a WAI-ARIA role | to find an element by its text, write `text: …` instead of `role:`"]),
            ("  - click: { role: role }\n", &["5:20 [role] unknown ARIA role `role` | not a WAI-ARIA role | roles are WAI-ARIA 1.2 roles, e.g. button, link, textbox, heading, checkbox, combobox, dialog, region"]),
            ("  - click: { role: a }\n", &["5:20 [a] unknown ARIA role `a` | not a WAI-ARIA role | did you mean `link`? (the ARIA role of that element)"]),
            ("  - click: { role: buton }\n", &["5:20 [buton] unknown ARIA role `buton` | not a WAI-ARIA role | did you mean `button`? roles are WAI-ARIA 1.2 roles, e.g. button, link, textbox, heading, checkbox"]),
            ("  - click: { role: '' }\n", &["5:20 [''] unknown ARIA role `` | not a WAI-ARIA role | roles are WAI-ARIA 1.2 roles, e.g. button, link, textbox, heading, checkbox, combobox, dialog, region"]),
            ("  - click: { label: '' }\n", &["5:21 [''] `label` is empty | - | an empty text matches everything; write the text to look for"]),
            ("  - click: { text: '/(/' }\n", &["5:22 [(] invalid regex `/(/`: unclosed group | unclosed group | a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"]),
            ("  - click: { test_id: '' }\n", &["5:23 [''] `test_id` is empty | - | give `test_id` a value, or remove it"]),
            ("  - click: { css: a, within: { role: heading, level: 9 } }\n", &["5:54 [9] there is no level 9 | - | heading levels are 1 (`<h1>`) to 6 (`<h6>`)"]),
            ("  - goto: { url: /, as: head }\n  - click: { css: a, within: { css: b, level: 0 } }\n", &["6:47 [0] there is no level 0 | - | heading levels are 1 (`<h1>`) to 6 (`<h6>`)"]),
            ("  - click: { css: a, frame: { css: f, level:  0 } }\n", &["5:47 [0] there is no level 0 | - | heading levels are 1 (`<h1>`) to 6 (`<h6>`)"]),
            ("  - click: { role: heading, within: { role: heading, level: 2 }, level: 9 }\n", &["5:73 [9] there is no level 9 | - | heading levels are 1 (`<h1>`) to 6 (`<h6>`)"]),
            ("  - click: { role: zzzzzz }\n", &["5:20 [zzzzzz] unknown ARIA role `zzzzzz` | not a WAI-ARIA role | roles are WAI-ARIA 1.2 roles, e.g. button, link, textbox, heading, checkbox, combobox, dialog, region"]),
        ]);
    }

    #[test]
    fn expect_wait_for_and_screenshot_faults() {
        cases(&[
            ("  - expect: { css: a, url: /x, title: T }\n", &["5:23 [url] `url` checks the page and cannot be combined with a locator | - | split it into two steps: `- expect: { url: … }` and one with the locator", "5:32 [title] `title` checks the page and cannot be combined with a locator | - | split it into two steps: `- expect: { title: … }` and one with the locator"]),
            ("  - expect: { visible: true }\n", &["5:15 [visible] `visible` needs a locator | checks an element | add the element: one of role, label, text, placeholder, test_id, css, xpath"]),
            ("  - expect: { enabled: true, url: /x }\n", &["5:15 [enabled] `enabled` needs a locator | checks an element | add a locator in a step of its own; `url` and `title` check the page"]),
            ("  - expect: { css: a, count: 2, hidden: true }\n", &["5:23 [count] an `expect` checks one thing; this one has `hidden` and `count` | - | split it into one `expect` step per check"]),
            ("  - expect: { css: a, has_text: b, enabled: true }\n", &["5:36 [enabled] an `expect` checks one thing; this one has `has_text` and `enabled` | - | split it into one `expect` step per check; to narrow down which element is checked, use `has`, `has_not_text` or `within`"]),
            ("  - expect: { css: a, count: 2, enabled: true }\n", &["5:33 [enabled] an `expect` checks one thing; this one has `count` and `enabled` | - | split it into one `expect` step per check"]),
            ("  - expect: { css: a, count: 2, nth: 1 }\n", &["5:33 [nth] `count` counts every match, so `nth` does not apply | - | remove `nth`"]),
            ("  - expect: { css: a, hidden: true, has_text: b }\n", &[]),
            ("  - expect: { css: a, visible: false, focused: true }\n", &["5:39 [focused] an `expect` checks one thing; this one has `visible` and `focused` | - | split it into one `expect` step per check"]),
            ("  - expect: { css: a, has_value: '/(/' }\n", &["5:36 [(] invalid regex `/(/`: unclosed group | unclosed group | a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"]),
            ("  - expect: { url: '' }\n", &["5:20 [''] `url` is empty | - | write a path (`/dashboard`), a full URL, or `/regex/`"]),
            ("  - expect: { title: '' }\n", &["5:22 [''] `title` is empty | - | an empty text matches everything; write the text to look for"]),
            ("  - expect: { name: x }\n", &["5:5 [expect] `name` needs a locator to refine | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - expect: { exact: true }\n", &["5:5 [expect] `exact` needs a locator to refine | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - expect: { frame: f }\n", &["5:5 [expect] `frame` needs a locator to refine | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - expect: { has_not: { css: a } }\n", &["5:5 [expect] `has_not` needs a locator to refine | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - expect: { has_not_text: x }\n", &["5:5 [expect] `has_not_text` needs a locator to refine | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - expect: { nth: 1 }\n", &["5:5 [expect] `nth` needs a locator to refine | no role, label, text, placeholder, test_id, css or xpath | add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`"]),
            ("  - expect: { css: a, value: x, equals: y }\n", &["5:23 [value] `value` compares two values and cannot be combined with a locator | - | to check a field's value use `has_value`; to compare two values, use a step of its own"]),
            ("  - expect: { value: x, equals: y, url: /a, title: b }\n", &["5:36 [url] `url` checks the page and cannot be combined with `value` | - | split it into two `expect` steps", "5:45 [title] `title` checks the page and cannot be combined with `value` | - | split it into two `expect` steps"]),
            ("  - expect: { value: x, equals: y, url: /a }\n", &["5:36 [url] `url` checks the page and cannot be combined with `value` | - | split it into two `expect` steps"]),
            ("  - expect: { equals: y }\n", &["5:15 [equals] `equals` needs `value` | compared with what? | write the value to compare: `expect: { value: \"{{ a }}\", equals: … }`"]),
            ("  - expect: { matches: '/y/' }\n", &["5:15 [matches] `matches` needs `value` | compared with what? | write the value to compare: `expect: { value: \"{{ a }}\", matches: … }`"]),
            ("  - expect: { value: x }\n", &["5:15 [value] `value` needs `equals` or `matches` | - | e.g. `expect: { value: \"{{ a }}\", equals: \"{{ b }}\" }`, or `matches: \"/^{{ b | regex }}/\"`"]),
            ("  - expect: { value: x, equals: y, matches: '/y/' }\n", &["5:36 [matches] an `expect` checks one thing; this one has `equals` and `matches` | - | split it into two `expect` steps"]),
            ("  - expect: { value: x, matches: y }\n", &["5:34 [y] `matches` takes a regex written `/…/` | not a /regex/ | write `/^…$/` (variables inside escaped with `{{ name | regex }}`), or use `equals` to compare exactly"]),
            ("  - expect: { value: x, matches: '/(/' }\n", &["5:36 [(] invalid regex `/(/`: unclosed group | unclosed group | a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"]),
            ("  - expect: { value: x, equals: '{{ nope }}', as: hed, timeout: 5 }\n", &["5:37 [nope] unknown variable `nope` | unknown here | no variable is captured before this step; names come from `capture`, `http` `capture`, `mail` `otp`/`link`, or flows in `needs`", "5:51 [hed] unknown user `hed` in `as` | not a key of [users] | did you mean `head`? users are: head, requester (from [users] in flows.toml)", "5:65 [5] missing unit in duration `5` | - | write `5s` for seconds or `5ms` for milliseconds"]),
            ("  - expect: { value: x, equals: y, as: head, timeout: 5s }\n", &[]),
            ("  - wait_for: {}\n", &["5:5 [wait_for] `wait_for` needs a locator or `url` | - | e.g. `wait_for: { text: Saved, state: hidden }` or `wait_for: { url: /dashboard }`"]),
            ("  - wait_for: { url: /a, state: hidden }\n", &["5:26 [state] `state` applies to an element, not to `url` | - | remove `state`, or wait for an element instead"]),
            ("  - wait_for: { css: a, state: hidden }\n", &[]),
            ("  - wait_for: { url: '' }\n", &["5:22 [''] `url` is empty | - | write a path (`/dashboard`), a full URL, or `/regex/`"]),
            ("  - screenshot: Bad Name\n", &["5:17 [Bad Name] invalid screenshot name `Bad Name` | becomes a file name | use lowercase letters, digits, `-` and `_`, e.g. `bad-name`"]),
            ("  - screenshot: '!!'\n", &["5:17 ['!!'] invalid screenshot name `!!` | becomes a file name | use lowercase letters, digits, `-` and `_`"]),
            ("  - screenshot: { name: '' }\n", &["5:5 [screenshot: { name: ''] invalid screenshot name `` | becomes a file name | use lowercase letters, digits, `-` and `_`"]),
            ("  - screenshot: a-1_b\n  - screenshot: a-1_b\n", &["6:17 [a-1_b] screenshot name `a-1_b` is already used by step 1 | - | each screenshot of a flow needs its own name, or it overwrites the earlier one"]),
            ("  - screenshot: a\n  - screenshot: b\n", &[]),
        ]);
    }

    #[test]
    fn http_steps_and_json_pointers() {
        cases(&[
            ("  - http: { url: /a, method: post }\n", &["5:30 [post] unknown HTTP method `post` | - | write it in upper case: `POST`"]),
            ("  - http: { url: /a, method: PUTT }\n", &["5:30 [PUTT] unknown HTTP method `PUTT` | - | did you mean `PUT`? methods are: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"]),
            ("  - http: { url: /a, method: FETCH }\n", &["5:30 [FETCH] unknown HTTP method `FETCH` | - | methods are: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"]),
            ("  - http: { url: '', as: hed }\n", &["5:18 [''] `url` is empty | - | give `url` a value, or remove it", "5:26 [hed] unknown user `hed` in `as` | not a key of [users] | did you mean `head`? users are: head, requester (from [users] in flows.toml)"]),
            ("  - http: { url: /a, method: POST, json: { a: 1 }, form: { b: c }, body: d }\n", &["5:52 [form] a request has one body; this one has `json` and `form` and `body` | - | keep one of `json`, `form` and `body`"]),
            ("  - http: { url: /a, method: POST, form: { b: c }, body: d }\n", &["5:52 [body] a request has one body; this one has `form` and `body` | - | keep one of `json`, `form` and `body`"]),
            ("  - http: { url: /a, headers: { 'Bad Name': x, '': y, X-Ok: '{{ nope }}' } }\n", &["5:5 [h] invalid header name `` | - | header names are letters, digits and `-`, e.g. `Content-Type`", "5:33 ['Bad Name'] invalid header name `Bad Name` | - | header names are letters, digits and `-`, e.g. `Content-Type`", "5:65 [nope] unknown variable `nope` | unknown here | no variable is captured before this step; names come from `capture`, `http` `capture`, `mail` `otp`/`link`, or flows in `needs`"]),
            ("  - http: { url: /a, expect: { status: 99 } }\n", &["5:32 [status] `99` is not an HTTP status code | - | status codes are 100 to 599, e.g. `200`"]),
            ("  - http: { url: /a, expect: { status: 600 } }\n", &["5:32 [status] `600` is not an HTTP status code | - | status codes are 100 to 599, e.g. `200`"]),
            ("  - http: { url: /a, expect: { status: 100 } }\n  - http: { url: /a, expect: { status: 599 } }\n", &[]),
            ("  - http: { url: /a, expect: { headers: { 'a b': x }, json: { id: 1, '/a~2': 2, '/b~0~1': 3 }, body: '/(/' } }\n", &["5:43 ['a b'] invalid header name `a b` | - | header names are letters, digits and `-`, e.g. `Content-Type`", "5:63 [id] `id` is not a JSON pointer | - | a JSON pointer starts with `/`, e.g. `/id`", "5:70 ['/a~2'] invalid escape in JSON pointer `/a~2` | - | in a JSON pointer, `~0` stands for `~` and `~1` for `/`", "5:104 [(] invalid regex `/(/`: unclosed group | unclosed group | a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"]),
            ("  - http: { url: /a, expect: { json: { /a: '/(/' } } }\n", &["5:46 [(] invalid regex `/(/`: unclosed group | unclosed group | a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring"]),
            ("  - http: { url: /a, capture: { t: $.id, u: '/a~' }, timeout: 5 }\n", &["5:36 [$.id] `$.id` is not a JSON pointer | - | a JSON pointer starts with `/`, e.g. `/id`", "5:45 ['/a~'] invalid escape in JSON pointer `/a~` | - | in a JSON pointer, `~0` stands for `~` and `~1` for `/`", "5:63 [5] missing unit in duration `5` | - | write `5s` for seconds or `5ms` for milliseconds"]),
            ("  - http: { url: /a, method: POST, json: { a: '{{ nope }}' } }\n", &["5:51 [nope] unknown variable `nope` | unknown here | no variable is captured before this step; names come from `capture`, `http` `capture`, `mail` `otp`/`link`, or flows in `needs`"]),
            ("  - http: { url: /a, method: POST, form: { a: '{{ nope }}' }, }\n", &["5:51 [nope] unknown variable `nope` | unknown here | no variable is captured before this step; names come from `capture`, `http` `capture`, `mail` `otp`/`link`, or flows in `needs`"]),
            // Named by nothing: reported at the step (finding `'':` never ended).
            ("  - http: { url: /a, capture: { '': /id }, expect: { json: { '': 1 } } }\n", &["5:5 [h] `` is not a JSON pointer | - | a JSON pointer starts with `/`, e.g. `/`", "5:5 [http: { url: /a] invalid variable name `` | - | use lowercase letters, digits and `_`, starting with a letter or `_`"]),
        ]);
    }

    #[test]
    fn mail_steps() {
        cases(&[
            ("  - mail: { to: nobody }\n", &["5:17 [nobody] `nobody` is neither a configured user nor an e-mail address | - | write a user key (head, requester) or an e-mail address"]),
            ("  - mail: { to: requestr }\n", &["5:17 [requestr] `requestr` is neither a configured user nor an e-mail address | - | did you mean `requester`? write a user key (head, requester) or an e-mail address"]),
            ("  - mail: { to: a@example.com, subject: '', body: { regex: '(' } }\n", &["5:41 [''] `subject` is empty | - | an empty text matches everything; write the text to look for", "5:61 [(] invalid regex in `regex`: unclosed group | unclosed group | the syntax is Rust's `regex` crate (no look-around or backreferences)"]),
            ("  - mail: { to: '{{ nope }}' }\n", &["5:21 [nope] unknown variable `nope` | unknown here | no variable is captured before this step; names come from `capture`, `http` `capture`, `mail` `otp`/`link`, or flows in `needs`"]),
            ("  - mail: { to: head, body: {} }\n", &["5:23 [body] `body` checks nothing | - | give `body` `contains`, `not_contains` or `regex`, e.g. `body: { contains: \"Ticket #\" }`"]),
            ("  - mail: { to: head, html: {} }\n", &["5:23 [html] `html` checks nothing | - | give `html` `contains`, `not_contains` or `regex`, e.g. `html: { contains: \"Ticket #\" }`"]),
            ("  - mail: { to: head, html: { contains: [''] } }\n", &["5:42 [''] `html` is empty | - | an empty text matches everything; write the text to look for"]),
            ("  - mail: { to: head, absent: true, body: { contains: x }, html: { contains: why }, attachment: { name: z }, otp: { var: c } }\n", &["5:31 [true] `absent: true` needs `within` | - | say how long to watch for the message, e.g. `within: 3s`", "5:31 [true] `absent: true` cannot extract `otp` or `link` | - | a message that must not arrive has nothing to extract: use two steps", "5:37 [body] `absent: true` has no message to check `body` on | - | to pick which message must not arrive, use `subject:` or `body: \"text\"`; to check a message that does arrive, use a step without `absent`", "5:60 [html] `absent: true` has no message to check `html` on | - | to pick which message must not arrive, use `subject:` or `body: \"text\"`; to check a message that does arrive, use a step without `absent`", "5:85 [attachment] `absent: true` has no message to check `attachment` on | - | to pick which message must not arrive, use `subject:` or `body: \"text\"`; to check a message that does arrive, use a step without `absent`"]),
            ("  - mail: { to: head, absent: true, within: 3s, link: { var: l } }\n", &["5:31 [true] `absent: true` cannot extract `otp` or `link` | - | a message that must not arrive has nothing to extract: use two steps"]),
            ("  - mail: { to: head, absent: true, within: 3s, body: x }\n", &[]),
            ("  - mail: { to: head, within: 3 }\n", &["5:23 [within] `within` is only for `absent: true` | - | to wait longer for a message, use `timeout`", "5:31 [3] missing unit in duration `3` | - | write `3s` for seconds or `3ms` for milliseconds"]),
            ("  - mail: { to: head, absent: false, within: 3s }\n", &["5:38 [within] `within` is only for `absent: true` | - | to wait longer for a message, use `timeout`"]),
            ("  - mail: { to: head, otp: { var: c, regex: '(', pattern: digits } }\n", &["5:46 [(] invalid regex in `regex`: unclosed group | unclosed group | the syntax is Rust's `regex` crate (no look-around or backreferences)", "5:59 [digits] `pattern` and `regex` both say what a code looks like | - | keep one: `regex` when the code has a shape of its own"]),
            ("  - mail: { to: head, otp: { var: c, pattern: digts, near: '' } }\n", &["5:47 [digts] unknown code pattern `digts` | - | did you mean `digits`? use `digits` (six digits, the default) or `alnum` (letters and digits, e.g. ABCD-EFGH), or give a `regex`", "5:60 [''] `near` is empty | - | give `near` a value, or remove it"]),
            ("  - mail: { to: head, otp: { var: c, pattern: alnum } }\n", &[]),
            ("  - mail: { to: head, link: { var: l, text: '', regex: '(' }, timeout: 5 }\n", &["5:45 [''] `text` is empty | - | an empty text matches everything; write the text to look for", "5:57 [(] invalid regex in `regex`: unclosed group | unclosed group | the syntax is Rust's `regex` crate (no look-around or backreferences)", "5:72 [5] missing unit in duration `5` | - | write `5s` for seconds or `5ms` for milliseconds"]),
            ("  - mail: { to: head, attachment: { type: pdf, size: big, sha256: abc } }\n", &["5:43 [pdf] `pdf` is not a media type | - | write a type and subtype, e.g. `text/csv` or `application/pdf`", "5:54 [big] unknown size unit `big` in `big` | - | bytes (`2048`), with a unit (`2 KB`, `1.5 MiB`), or a range (`1KB..2MB`, `..10MB`, `100..`)", "5:67 [abc] `sha256` is not a SHA-256 in hex | - | 64 hex digits, as `sha256sum FILE` prints them"]),
            ("  - mail: { to: head, attachment: { type: application/pdf, size: 1KB..2MB, sha256: ' 0123456789abcdef0123456789abcdef0123456789ABCDEF0123456789abcdef ', contains: [''] } }\n", &["5:165 [''] `contains` is empty | - | an empty text matches everything; write the text to look for"]),
            ("  - mail: { to: head, attachment: { sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg } }\n", &["5:45 [0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg] `sha256` is not a SHA-256 in hex | - | 64 hex digits, as `sha256sum FILE` prints them"]),
            ("  - mail: { to: head, attachment: { sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde } }\n", &["5:45 [0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde] `sha256` is not a SHA-256 in hex | - | 64 hex digits, as `sha256sum FILE` prints them"]),
            ("  - mail: { to: head, attachment: { type: '{{ nope }}', sha256: '{{ nope }}' } }\n", &["5:47 [nope] unknown variable `nope` | unknown here | no variable is captured before this step; names come from `capture`, `http` `capture`, `mail` `otp`/`link`, or flows in `needs`"]),
            ("  - mail: { to: head, after_step: 0 }\n", &["5:35 [0] `after_step` counts steps from 1 | - | the first step has no earlier step: remove `after_step`"]),
            ("  - goto: /\n  - mail: { to: head, after_step: 2 }\n", &["6:35 [2] `after_step: 2` must name an earlier step; this is step 2 | - | the only earlier step is step 1"]),
            ("  - goto: /\n  - goto: /\n  - mail: { to: head, after_step: 3 }\n", &["7:35 [3] `after_step: 3` must name an earlier step; this is step 3 | - | use a number from 1 to 2"]),
            ("  - goto: /\n  - mail: { to: head, after_step: 1 }\n", &[]),
            ("  - mail: { to: head, after_step: 1, since: m }\n", &["5:35 [1] `after_step: 1` must name an earlier step; this is step 1 | - | the first step has no earlier step: remove `after_step`", "5:45 [m] `since` and `after_step` both say where the window starts | - | keep one: `since: MARK` for a moment marked in this flow or a flow it needs, `after_step: N` for a step of this flow"]),
            ("  - mails: { to: head, subjects: [] }\n", &["5:24 [subjects] `subjects` is empty | - | list the subjects in the order they arrive, e.g. `subjects: [\"/opened/\", \"/updated/\"]`; for \"no mail\", use `mail: { absent: true, within: 3s }`"]),
            ("  - mails: { to: head, subjects: [''], after_step: 1, timeout: 5 }\n", &["5:35 [''] `subjects` is empty | - | an empty text matches everything; write the text to look for", "5:52 [1] `after_step: 1` must name an earlier step; this is step 1 | - | the first step has no earlier step: remove `after_step`", "5:64 [5] missing unit in duration `5` | - | write `5s` for seconds or `5ms` for milliseconds"]),
            ("  - goto: { url: /, mark: Opened Now }\n", &["5:27 [Opened Now] invalid mark name `Opened Now` | - | use lowercase letters, digits and `_`, e.g. `opened_now`"]),
            ("  - goto: { url: /, mark: '!!' }\n", &["5:27 ['!!'] invalid mark name `!!` | - | use lowercase letters, digits and `_`, e.g. `ticket_opened`"]),
            ("  - goto: { url: /, mark: m }\n  - goto: { url: /, mark: m }\n", &["6:27 [m] mark `m` is already set by step 1 | - | each mark names one moment: give this one another name"]),
            ("  - click: { css: a, mark: m }\n  - screenshot: { name: s, mark: m }\n  - window: { title: t, mark: '9' }\n", &["6:34 [m] mark `m` is already set by step 1 | - | each mark names one moment: give this one another name", "7:31 ['9'] invalid mark name `9` | - | use lowercase letters, digits and `_`, e.g. `ticket_opened`"]),
        ]);
    }

    #[test]
    fn subscriptions_and_events() {
        cases(&[
            ("  - subscribe: { id: a, sse: /e, pusher: { url: /app/k, channel: c } }\n", &["5:25 [sse] a subscription is either `pusher` or `sse`, not both | - | use two `subscribe` steps with different ids"]),
            ("  - subscribe: { id: a }\n", &["5:5 [subscribe] `subscribe` needs `pusher` or `sse` | - | e.g. `sse: /events`, or `pusher: { url: /app/KEY, channel: private-… }`"]),
            ("  - subscribe: { id: ' ', sse: '' }\n", &["5:22 [' '] empty subscription id | - | name it, e.g. `id: bell`, to refer to it in `expect_event: { on: bell }`", "5:32 [''] `sse` is empty | - | give `sse` a value, or remove it"]),
            ("  - subscribe: { id: a, sse: /e }\n  - subscribe: { id: a, sse: /f, as: hed, timeout: 5 }\n", &["6:22 [a] subscription id `a` is already used by step 1 | - | give each subscription of a flow its own id", "6:38 [hed] unknown user `hed` in `as` | not a key of [users] | did you mean `head`? users are: head, requester (from [users] in flows.toml)", "6:52 [5] missing unit in duration `5` | - | write `5s` for seconds or `5ms` for milliseconds"]),
            ("  - subscribe: { id: a, pusher: { url: '', channel: '', auth_endpoint: '', auth_headers: { 'a b': x } } }\n", &["5:40 [''] `url` is empty | - | give `url` a value, or remove it", "5:53 [''] `channel` is empty | - | give `channel` a value, or remove it", "5:72 [''] `auth_endpoint` is empty | - | give `auth_endpoint` a value, or remove it", "5:92 ['a b'] invalid header name `a b` | - | header names are letters, digits and `-`, e.g. `Content-Type`"]),
            ("  - expect_event: { on: b, event: e }\n", &["5:25 [b] no subscription `b` before this step | not opened by an earlier `subscribe` | open one first with `- subscribe: { id: NAME, … }` earlier in this flow"]),
            ("  - expect_event: { on: b, event: e }\n  - subscribe: { id: b, sse: /e }\n", &["5:25 [b] no subscription `b` before this step | not opened by an earlier `subscribe` | it is opened later, by step 2: move that `subscribe` before this step"]),
            ("  - expect_event: { on: b, event: e }\n  - subscribe: { id: a, sse: /e }\n  - subscribe: { id: b, sse: /e }\n", &["5:25 [b] no subscription `b` before this step | not opened by an earlier `subscribe` | it is opened later, by step 3: move that `subscribe` before this step"]),
            ("  - subscribe: { id: bell, sse: /e }\n  - expect_event: { on: bel, event: '', data: { x: 1, /y: '/(/' }, after_step: 2, timeout: 5 }\n", &["6:25 [bel] no subscription `bel` before this step | not opened by an earlier `subscribe` | did you mean `bell`? subscriptions opened before this step: bell", "6:37 [''] `event` is empty | - | give `event` a value, or remove it", "6:49 [x] `x` is not a JSON pointer | - | a JSON pointer starts with `/`, e.g. `/x`", "6:61 [(] invalid regex `/(/`: unclosed group | unclosed group | a value written `/…/flags` is a regular expression (flags: i, m, s, u); write plain text to match a substring", "6:80 [2] `after_step: 2` must name an earlier step; this is step 2 | - | the only earlier step is step 1", "6:92 [5] missing unit in duration `5` | - | write `5s` for seconds or `5ms` for milliseconds"]),
        ]);
    }

    /// Checks `flows/a.yaml` (steps of a flow with user `requester`, or a whole flow) in a
    /// directory with these step groups, as `flows check` does: `line:col [under] message |
    /// label | hint` for the diagnostics of `a.yaml`, or the secret captures of a clean suite.
    fn with_groups(groups: &[(&str, &str)], src: &str) -> Result<Vec<String>, Vec<String>> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("groups")).expect("mkdir");
        for (name, text) in groups {
            std::fs::write(dir.path().join("groups").join(format!("{name}.yaml")), text)
                .expect("write");
        }
        let src = if src.starts_with("id:") {
            src.to_string()
        } else {
            format!("id: a\ntitle: A\nuser: requester\nsteps:\n{src}")
        };
        std::fs::write(dir.path().join("a.yaml"), &src).expect("write");
        let env = CheckEnv::new(["requester", "head"], Vec::<String>::new());
        match super::super::check::load_suite(dir.path(), &env) {
            Ok(suite) => Ok(suite.flows[0]
                .captures
                .iter()
                .map(|(name, c)| format!("{name}{}", if c.secret { " (secret)" } else { "" }))
                .collect()),
            Err(d) => Err(d
                .iter()
                .inspect(|d| assert!(d.file.ends_with("a.yaml"), "{d:?}"))
                .map(|d| {
                    let at = d.loc.map_or_else(String::new, |l| {
                        let line = super::super::diagnostic::line_of(&src, l.line).unwrap_or("");
                        let under: String =
                            line.chars().skip(l.col as usize - 1).take(d.len).collect();
                        format!("{l} [{under}] ")
                    });
                    let label = d.label.as_deref().unwrap_or("-");
                    let hint = d.hint.as_deref().unwrap_or("-");
                    let note = d.note.as_ref().map_or("-".to_string(), |(f, l, n)| {
                        format!(
                            "{}:{l} {n}",
                            f.file_name().unwrap_or_default().to_string_lossy()
                        )
                    });
                    format!("{at}{} | {label} | {hint} | {note}", d.message)
                })
                .collect()),
        }
    }

    const SIGN_IN: &str = "group: sign-in\nparams:\n  email: {}\n  token: { default: x }\nsteps:\n  - goto: /login\n  - http: { url: /api, headers: { X-Token: '{{ params.token }}' }, capture: { session: /s } }\n  - http: { url: /api, headers: { Cookie: '{{ session }}' } }\n  - mail: { to: '{{ params.email }}', otp: { var: code } }\n";
    const API: &str =
        "group: api\nsteps:\n  - http: { url: /api, as: head, capture: { id: /id } }\n";

    /// Groups on disk, a flow's steps, and what checking gives: its captures or its diagnostics.
    type GroupCase<'a> = (
        &'a [(&'a str, &'a str)],
        &'a str,
        Result<&'a [&'a str], &'a [&'a str]>,
    );

    #[test]
    fn step_groups_are_called_with_their_params() {
        let groups = [("sign-in", SIGN_IN), ("api", API)];
        let cases: &[GroupCase] = &[
            (&[], "  - use: nope\n", Err(&["5:10 [nope] unknown step group `nope` | no group has this name | a step group is a file `groups/NAME.yaml` beside the flows, with `group: NAME`, `params` and `steps` | -"])),
            (&groups, "  - use: sign-n\n", Err(&["5:10 [sign-n] unknown step group `sign-n` | no group has this name | did you mean `sign-in`? groups are: api, sign-in | -"])),
            (&groups, "  - use: { group: sign-in, with: { email: a@b.c, tokn: t, '': u } }\n", Err(&["5:5 [u] unknown param `` for group `sign-in` | - | group `sign-in` takes: email, token | sign-in.yaml:1:8 the group is defined here", "5:50 [tokn] unknown param `tokn` for group `sign-in` | - | did you mean `token`? group `sign-in` takes: email, token | sign-in.yaml:1:8 the group is defined here"])),
            (&groups, "  - use: { group: api, with: { x: y } }\n", Err(&["5:32 [x] unknown param `x` for group `api` | - | group `api` takes no params | api.yaml:1:8 the group is defined here"])),
            (&groups, "  - use: { group: sign-in, with: { token: '{{ nope }}' } }\n", Err(&["5:19 [sign-in] group `sign-in` needs `email` | missing params | pass them: `use: { group: sign-in, with: { email: … } }` | sign-in.yaml:1:8 the group is defined here", "5:47 [nope] unknown variable `nope` | unknown here | no variable is captured before this step; names come from `capture`, `http` `capture`, `mail` `otp`/`link`, or flows in `needs` | -"])),
            (&groups, "  - use: { group: sign-in, with: { email: a@b.c } }\n", Ok(&["code (secret)", "session (secret)"])),
            (&groups, "  - capture: { var: t, from: url }\n  - use: { group: sign-in, with: { email: a@b.c, token: '{{ t }}' } }\n  - capture: { var: session, from: title }\n  - capture: { var: u, from: title }\n", Ok(&["code (secret)", "session (secret)", "t (secret)", "u"])),
            (&groups, "id: a\ntitle: A\nsteps:\n  - use: api\n", Ok(&["id"])),
            (&groups, "id: a\ntitle: A\nsteps:\n  - use: { group: sign-in, with: { email: a@b.c } }\n", Err(&["4:5 [use] this flow has browser steps but no `user` | `use` runs in a user's browser session | add `user: KEY` to the flow (one of: head, requester), or `as: KEY` to each browser step | -"])),
        ];
        let mut failures = Vec::new();
        for (groups, src, expected) in cases {
            let got = with_groups(groups, src);
            let expected = expected
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
                .map_err(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>());
            if got != expected {
                failures.push(format!(
                    "case {src:?}\n  expected {expected:?}\n  got      {got:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
