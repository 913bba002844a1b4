//! `expect`, `wait_for`, `screenshot` and `capture`: what a step asserts about or reads from the
//! page, and the variables it captures.

use crate::flowfile::ast::{CaptureStep, ExpectStep, ScreenshotStep, WaitForStep};
use crate::flowfile::check::env::slugify;
use crate::flowfile::span::{Loc, Sp};
use crate::flowfile::text::{split_regex_literal, RegexLiteral};

use super::locators::has_refinement;
use super::{FlowChecker, Kind};

impl FlowChecker<'_> {
    pub(super) fn expect(&mut self, i: usize, s: &ExpectStep) {
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
    pub(super) fn expect_value(&mut self, i: usize, s: &ExpectStep, has_kind: bool) {
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

    pub(super) fn wait_for(&mut self, i: usize, s: &WaitForStep) {
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

    pub(super) fn screenshot(&mut self, i: usize, s: &ScreenshotStep) {
        let name = match s {
            ScreenshotStep::Name(n) => n,
            ScreenshotStep::Options(o) => &o.name,
        };
        self.screenshot_name(
            i,
            name,
            "becomes a file name",
            "each screenshot of a flow needs its own name, or it overwrites the earlier one",
        );
        self.browser(i, None);
    }

    /// A screenshot's name (`screenshot`, `expect_screenshot`): a file name, unique in the
    /// flow. `label` says what the name becomes; `why_unique` is the hint for a repeated one.
    pub(super) fn screenshot_name(
        &mut self,
        i: usize,
        name: &Sp<String>,
        label: &str,
        why_unique: &str,
    ) {
        let loc = self.fix_loc(i, name).unwrap_or(self.flow.steps[i].loc);
        let n = name.value.as_str();
        let valid = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        let len = self.len_at(loc, n);
        if !valid {
            let slug = slugify(n);
            let d = self.error(loc, len, format!("invalid screenshot name `{n}`"));
            d.label = Some(label.to_string());
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
            d.hint = Some(why_unique.to_string());
        } else {
            self.screenshots.insert(n.to_string(), i);
        }
    }

    pub(super) fn capture(&mut self, i: usize, s: &CaptureStep) {
        let l = s.locator();
        let has_kind = self.locator(i, &l, false, None);
        match (s.from, has_kind) {
            (Some(from), true) => {
                let loc = self.key_loc(i, "from");
                let what = match from {
                    crate::flowfile::ast::CaptureSource::Url => "url",
                    crate::flowfile::ast::CaptureSource::Title => "title",
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
}
