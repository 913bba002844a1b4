//! Locators: exactly one kind (role, label, text, …), known ARIA roles and the states and levels
//! they have, the filters that refine a match (`has`, `nth`, …), `within` and `frame`.

use crate::flowfile::ast::{FrameRef, Locator};
use crate::flowfile::diagnostic::token_len;
use crate::flowfile::roles::{is_aria_role, role_for_alias, ARIA_ROLES};
use crate::flowfile::span::{Loc, Sp};
use crate::flowfile::suggest::did_you_mean;

use super::{FlowChecker, Kind};

pub(super) const LOCATOR_KINDS: &[&str] = &[
    "role",
    "label",
    "text",
    "placeholder",
    "test_id",
    "css",
    "xpath",
];

/// Roles that have a `checked` state (ARIA `aria-checked`, native checkboxes and radios).
pub(super) const CHECKABLE_ROLES: &[&str] = &[
    "checkbox",
    "radio",
    "switch",
    "menuitemcheckbox",
    "menuitemradio",
    "treeitem",
];

/// Roles that have a `selected` state (`aria-selected`, `<option>`).
pub(super) const SELECTABLE_ROLES: &[&str] = &[
    "option",
    "tab",
    "row",
    "gridcell",
    "treeitem",
    "columnheader",
    "rowheader",
];

/// Roles that have a level (`heading` first).
pub(super) const LEVEL_ROLES: &[&str] = &["heading", "treeitem", "listitem", "row"];

impl FlowChecker<'_> {
    /// Checks a locator; `required`: the step must have one. Returns whether it has a kind.
    pub(super) fn located(&mut self, step: usize, l: &Locator, required: bool) -> bool {
        self.locator(step, l, required, None)
    }

    pub(super) fn locator(
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
        if kinds.is_empty() {
            self.no_locator_kind(step, l, required, nested);
            if let Some(w) = &l.within {
                self.locator(step, &w.value, true, Some((w.loc, "within")));
            }
            return false;
        }
        if kinds.len() > 1 {
            self.two_locator_kinds(l, &kinds);
        }
        self.name_and_exact(step, l);
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

    /// A locator without a kind: an error when the step needs one, when it has refinements
    /// (`name`, `nth`, …) with nothing to refine, or when it is nested.
    fn no_locator_kind(
        &mut self,
        step: usize,
        l: &Locator,
        required: bool,
        nested: Option<(Loc, &'static str)>,
    ) {
        let kind_name = self.flow.steps[step].value.kind();
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
            d.label = Some("no role, label, text, placeholder, test_id, css or xpath".to_string());
            d.hint = Some(match nested {
                Some((_, "frame")) => "name the frame by its title or name (`frame: Payment`), or give a locator for the `<iframe>` (`frame: { css: \"iframe.checkout\" }`)".to_string(),
                _ => "add exactly one of role, label, text, placeholder, test_id, css, xpath, e.g. `role: button, name: Save`".to_string(),
            });
        }
    }

    /// More than one locator kind: the second one is the error.
    fn two_locator_kinds(&mut self, l: &Locator, kinds: &[(&str, &Sp<String>)]) {
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

    /// `name` refines a `role`; `exact` applies to a name or text.
    fn name_and_exact(&mut self, step: usize, l: &Locator) {
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
    }

    /// The filters of a locator: texts, `has`/`has_not` locators, and states that its role
    /// can have.
    pub(super) fn filters(&mut self, step: usize, l: &Locator) {
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
    pub(super) fn check_level(&mut self, step: usize, level: &Sp<u32>, role: Option<&str>) {
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

    pub(super) fn frame(&mut self, step: usize, l: &Locator) {
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

    pub(super) fn check_role(&mut self, role: &Sp<String>) {
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
}

/// Whether a locator has keys that refine a locator kind (reported when the kind is missing).
pub(super) fn has_refinement(l: &Locator) -> bool {
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
