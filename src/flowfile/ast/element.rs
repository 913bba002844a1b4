//! Steps on an element: the [`Locator`] (one kind, refinements, `within`, `frame`), the
//! `located_step!` structs that start with its fields (click, fill, select, check, upload, press,
//! hover, drag, download, expect, wait_for, capture), and what `expect` checks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::flowfile::span::Sp;

use super::DurationText;

/// Declares a step struct whose fields start with the locator fields, so a step reads
/// `click: { role: button, name: Save }` rather than nesting a `locator:` map. (serde's
/// `flatten` would lose both `deny_unknown_fields` and source locations.)
macro_rules! located_step {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// ARIA role (`button`, `link`, `textbox`, `heading`, `checkbox`, …), usually with `name`.
            #[serde(default)]
            pub role: Option<Sp<String>>,
            /// Accessible name for `role`: case-insensitive substring, `exact: true` for equality,
            /// or `/regex/i`.
            #[serde(default)]
            pub name: Option<Sp<String>>,
            /// With `name` or `text`: match the whole string as the browser computes it
            /// (whitespace collapsed, icon-font glyphs kept), case-sensitively.
            #[serde(default)]
            pub exact: Option<bool>,
            /// A form control by its label (`<label for>`, a wrapping label, aria-label(ledby)).
            #[serde(default)]
            pub label: Option<Sp<String>>,
            /// An element by its visible text (substring, `exact`, or `/regex/i`): the smallest
            /// element containing it.
            #[serde(default)]
            pub text: Option<Sp<String>>,
            /// An input by its placeholder.
            #[serde(default)]
            pub placeholder: Option<Sp<String>>,
            /// An element by its `data-testid`.
            #[serde(default)]
            pub test_id: Option<Sp<String>>,
            /// Escape hatch: a CSS selector.
            #[serde(default)]
            pub css: Option<Sp<String>>,
            /// Escape hatch: an XPath expression.
            #[serde(default)]
            pub xpath: Option<Sp<String>>,
            /// Look only inside the (unique) element this locator finds.
            #[serde(default)]
            pub within: Option<Box<Sp<Locator>>>,
            /// Only elements whose text, including the text of everything inside them, contains
            /// this (or matches `/regex/i`). In `expect` without `count`/`hidden`: the assertion
            /// that the element's text contains it.
            #[serde(default)]
            pub has_text: Option<Sp<String>>,
            /// Only elements whose own text (without nested elements of the same role, e.g. a
            /// list item without its sub-items) contains this (or matches `/regex/i`).
            #[serde(default)]
            pub has_own_text: Option<Sp<String>>,
            /// Only elements whose text (everything inside them) does not contain this.
            #[serde(default)]
            pub has_not_text: Option<Sp<String>>,
            /// Only elements that contain an element this locator finds.
            #[serde(default)]
            pub has: Option<Box<Sp<Locator>>>,
            /// Only elements that contain no element this locator finds.
            #[serde(default)]
            pub has_not: Option<Box<Sp<Locator>>>,
            /// Only checked (`true`) or unchecked (`false`) checkboxes, radios, switches. In
            /// `expect`: the assertion; in `check`: the state to set.
            #[serde(default)]
            pub checked: Option<bool>,
            /// Only selected (`true`) or unselected options, tabs, rows. In `expect`: the
            /// assertion (an `<option>` is checked inside its `<select>`).
            #[serde(default)]
            pub selected: Option<bool>,
            /// Only disabled (`true`) or enabled (`false`) elements. In `expect`: the assertion.
            #[serde(default)]
            pub disabled: Option<bool>,
            /// Only expanded (`true`) or collapsed (`false`) elements (`aria-expanded`,
            /// `<details>`). In `expect`: the assertion.
            #[serde(default)]
            pub expanded: Option<bool>,
            /// Only pressed (`true`) or unpressed toggle buttons (`aria-pressed`). In `expect`:
            /// the assertion.
            #[serde(default)]
            pub pressed: Option<bool>,
            /// Only headings of this level (`<h2>` is 2, or `aria-level`). In `expect`: the
            /// assertion.
            #[serde(default)]
            pub level: Option<Sp<u32>>,
            /// Look inside an `<iframe>`: its `title` or `name`, or a locator for the frame element.
            #[serde(default)]
            pub frame: Option<Box<Sp<FrameRef>>>,
            /// Pick the n-th match (0-based; -1 for the last) instead of requiring a unique one.
            #[serde(default)]
            pub nth: Option<i64>,
            /// This step's deadline (default: the flow's `step_timeout`, then the config's).
            #[serde(default)]
            pub timeout: Option<Sp<DurationText>>,
            /// Run this step in another user's browser session (a key of `[users]`), e.g. a
            /// department head replying while the flow watches the requester's notifications.
            #[serde(default, rename = "as")]
            pub as_user: Option<Sp<String>>,
            /// Save this step's start time under this name (`mark: ticket_opened`): a later
            /// `mail` or `mails` step, in this flow or one that needs it, looks from there
            /// with `since:`.
            #[serde(default)]
            pub mark: Option<Sp<String>>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            /// The locator part of this step.
            pub fn locator(&self) -> Locator {
                Locator {
                    role: self.role.clone(),
                    name: self.name.clone(),
                    exact: self.exact,
                    label: self.label.clone(),
                    text: self.text.clone(),
                    placeholder: self.placeholder.clone(),
                    test_id: self.test_id.clone(),
                    css: self.css.clone(),
                    xpath: self.xpath.clone(),
                    within: self.within.clone(),
                    frame: self.frame.clone(),
                    nth: self.nth,
                    has_text: self.has_text.clone(),
                    has_own_text: self.has_own_text.clone(),
                    has_not_text: self.has_not_text.clone(),
                    has: self.has.clone(),
                    has_not: self.has_not.clone(),
                    checked: self.checked,
                    selected: self.selected,
                    disabled: self.disabled,
                    expanded: self.expanded,
                    pressed: self.pressed,
                    level: self.level.clone(),
                }
            }
        }
    };
}

/// Where an element is: exactly one of `role`, `label`, `text`, `placeholder`, `test_id`,
/// `css`, `xpath` (with `name`/`exact` refining `role` and `text`), optionally `within` another
/// element and `nth`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Locator {
    #[serde(default)]
    pub role: Option<Sp<String>>,
    #[serde(default)]
    pub name: Option<Sp<String>>,
    #[serde(default)]
    pub exact: Option<bool>,
    #[serde(default)]
    pub label: Option<Sp<String>>,
    #[serde(default)]
    pub text: Option<Sp<String>>,
    #[serde(default)]
    pub placeholder: Option<Sp<String>>,
    #[serde(default)]
    pub test_id: Option<Sp<String>>,
    #[serde(default)]
    pub css: Option<Sp<String>>,
    #[serde(default)]
    pub xpath: Option<Sp<String>>,
    #[serde(default)]
    pub within: Option<Box<Sp<Locator>>>,
    #[serde(default)]
    pub frame: Option<Box<Sp<FrameRef>>>,
    #[serde(default)]
    pub nth: Option<i64>,
    /// Filters (see the step fields of the same names).
    #[serde(default)]
    pub has_text: Option<Sp<String>>,
    #[serde(default)]
    pub has_own_text: Option<Sp<String>>,
    #[serde(default)]
    pub has_not_text: Option<Sp<String>>,
    #[serde(default)]
    pub has: Option<Box<Sp<Locator>>>,
    #[serde(default)]
    pub has_not: Option<Box<Sp<Locator>>>,
    #[serde(default)]
    pub checked: Option<bool>,
    #[serde(default)]
    pub selected: Option<bool>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub expanded: Option<bool>,
    #[serde(default)]
    pub pressed: Option<bool>,
    #[serde(default)]
    pub level: Option<Sp<u32>>,
}

/// An `<iframe>` (or `<frame>`): by its `title` or `name` (substring, case-insensitive), or a
/// locator for the frame element (which may have its own `frame:` for nested frames).
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum FrameRef {
    Name(Sp<String>),
    Locator(Box<Locator>),
}

impl FrameRef {
    pub(super) fn boxed(l: Locator) -> FrameRef {
        FrameRef::Locator(Box::new(l))
    }
}

located_step!(HoverStep {});

located_step!(DragStep {
    /// Where to drop: a locator (`{ test_id: column-done }`).
    to: Sp<Locator>,
});

located_step!(
    /// Clicks the element, waits for the finished download and checks the file.
    DownloadStep {
        /// The file name: substring, or `/regex/`.
        #[serde(default)]
        file_name: Option<Sp<String>>,
        /// The media type sniffed from the content (e.g. `application/pdf`, `text/csv`).
        #[serde(default, rename = "type")]
        media_type: Option<Sp<String>>,
        /// Exact size in bytes.
        #[serde(default)]
        size: Option<u64>,
        /// Minimum size in bytes.
        #[serde(default)]
        min_size: Option<u64>,
        /// SHA-256 of the content, hex.
        #[serde(default)]
        sha256: Option<Sp<String>>,
        /// Store the saved file's path in this variable.
        #[serde(default)]
        var: Option<Sp<String>>,
    }
);

located_step!(ClickStep {});

located_step!(FillStep {
    /// The text to type (replaces the current value). May use `{{ variables }}`.
    value: Sp<String>,
});

located_step!(SelectStep {
    /// The option's visible label (or its `value` attribute).
    option: Sp<String>,
});

located_step!(
    /// `checked:` (the locator field) is the state to set: `true` (default) checks, `false`
    /// unchecks.
    CheckStep {}
);

located_step!(UploadStep {
    /// Files to attach, relative to the flow file's directory.
    files: Vec<Sp<String>>,
});

located_step!(PressStep {
    /// A key (`Enter`, `Tab`, `Escape`, `a`) or a chord (`Control+Enter`).
    key: Sp<String>,
});

located_step!(
    /// Page-level assertions (`url`, `title`) need no locator; element assertions do.
    /// With a locator and no assertion, `visible: true` is implied.
    ExpectStep {
        /// The element is visible (`true`) or not (`false`, same as `hidden: true`).
        #[serde(default)]
        visible: Option<bool>,
        /// The element is absent or not visible.
        #[serde(default)]
        hidden: Option<bool>,
        /// A form control's current value equals this exactly (`""` for an empty field), or
        /// matches `/regex/`.
        #[serde(default)]
        has_value: Option<Sp<String>>,
        /// The element is enabled (`true`) or disabled (`false`).
        #[serde(default)]
        enabled: Option<bool>,
        /// A text field (or select) can be typed into: enabled and not read-only.
        #[serde(default)]
        editable: Option<bool>,
        /// The element has the keyboard focus.
        #[serde(default)]
        focused: Option<bool>,
        /// A field's value is empty, or an element has no text.
        #[serde(default)]
        empty: Option<bool>,
        /// A value to compare (`"{{ a }}"`) with `equals` or `matches`; no locator, no page.
        #[serde(default)]
        value: Option<Sp<String>>,
        /// `value` equals this exactly.
        #[serde(default)]
        equals: Option<Sp<String>>,
        /// `value` matches this `/regex/flags`; insert variables escaped with
        /// `{{ name | regex }}`.
        #[serde(default)]
        matches: Option<Sp<String>>,
        /// Exactly this many elements match the locator (no uniqueness required).
        #[serde(default)]
        count: Option<u32>,
        /// The page URL: a path (`/dashboard`, compared with path+query), a full URL, or
        /// `/regex/` matched against the full URL.
        #[serde(default)]
        url: Option<Sp<String>>,
        /// The page title: substring, or `/regex/i`.
        #[serde(default)]
        title: Option<Sp<String>>,
    }
);

/// What an `expect` with a locator checks about the one element it finds (besides `visible`).
#[derive(Debug, Clone, Copy)]
pub enum ElementCheck<'a> {
    HasText(&'a Sp<String>),
    HasValue(&'a Sp<String>),
    /// `checked`, `selected`, `enabled`, `disabled`, `editable`, `focused`, `empty`,
    /// `expanded`, `pressed`, and the wanted state.
    State(&'static str, bool),
    Level(&'a Sp<u32>),
}

impl ExpectStep {
    /// The step checks the set of matches (`count`, `hidden: true`, `visible: false`): then
    /// `has_text` and the states are filters that narrow that set.
    pub fn checks_matches(&self) -> bool {
        self.count.is_some() || self.hidden == Some(true) || self.visible == Some(false)
    }

    /// The element checks written in this step, in a fixed order (`flows check` allows one;
    /// none when [`Self::checks_matches`]).
    pub fn element_checks(&self) -> Vec<(&'static str, ElementCheck<'_>)> {
        if self.checks_matches() {
            return vec![];
        }
        let mut out = Vec::new();
        if let Some(t) = &self.has_text {
            out.push(("has_text", ElementCheck::HasText(t)));
        }
        if let Some(v) = &self.has_value {
            out.push(("has_value", ElementCheck::HasValue(v)));
        }
        for (key, state) in [
            ("checked", self.checked),
            ("selected", self.selected),
            ("enabled", self.enabled),
            ("disabled", self.disabled),
            ("editable", self.editable),
            ("focused", self.focused),
            ("empty", self.empty),
            ("expanded", self.expanded),
            ("pressed", self.pressed),
        ] {
            if let Some(b) = state {
                out.push((key, ElementCheck::State(key, b)));
            }
        }
        if let Some(l) = &self.level {
            out.push(("level", ElementCheck::Level(l)));
        }
        out
    }

    /// The locator without the field that `check` (from [`Self::element_checks`]) reads, so
    /// that an assertion is not also a filter.
    pub fn locator_without(&self, check: &str) -> Locator {
        let mut l = self.locator();
        match check {
            "has_text" => l.has_text = None,
            "checked" => l.checked = None,
            "selected" => l.selected = None,
            "disabled" => l.disabled = None,
            "expanded" => l.expanded = None,
            "pressed" => l.pressed = None,
            "level" => l.level = None,
            _ => {}
        }
        l
    }
}

located_step!(WaitForStep {
    /// `visible` (default), `hidden`, `attached` or `detached`.
    #[serde(default)]
    state: Option<ElementState>,
    /// Instead of an element: wait until the URL matches (as in `expect`).
    #[serde(default)]
    url: Option<Sp<String>>,
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ElementState {
    Visible,
    Hidden,
    Attached,
    Detached,
}

located_step!(
    /// Captures into `var` the first group of `regex` (or the whole match) applied to the
    /// source: `from: url`, `from: title`, or the text of the located element.
    CaptureStep {
        /// Variable name, usable as `{{ name }}` later in this flow and in flows that need it.
        var: Sp<String>,
        /// `url`, `title`, or omit and give a locator for an element's text.
        #[serde(default)]
        from: Option<CaptureSource>,
        /// With a locator: read this attribute (e.g. `href`) instead of the element's text.
        #[serde(default)]
        attribute: Option<Sp<String>>,
        /// A regex; its first capture group (or whole match) is the value.
        #[serde(default)]
        regex: Option<Sp<String>>,
        /// Treat the value as a secret: redacted in every report and log.
        #[serde(default)]
        secret: bool,
    }
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    Url,
    Title,
}
