//! The flow file as written: the typed syntax tree that YAML deserializes into.
//!
//! Owns the shape of a flow file (and therefore the JSON Schema, which is derived from these
//! types). Does not own checking (`check/`), variables (`template.rs`) or running anything.
//! Every value a checker may complain about carries its source location (`Sp<T>`).
//!
//! Adding a step kind: add a variant to [`Step`] with its own struct, give it a `kind()` name,
//! then teach `check/flow/` which templates/locators it holds and `exec/step` how to run it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::span::Sp;

/// One flow file: one flow.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    /// Unique id, lowercase words joined by `-` (e.g. `create-ticket`). Used by `needs`,
    /// `flows run ID` and in every report.
    pub id: Sp<String>,
    /// Human title shown in reports (e.g. "Create ticket (portal)").
    pub title: Sp<String>,
    /// What the flow proves, for the reader of a report.
    #[serde(default)]
    pub description: Option<String>,
    /// The user (a key of `[users]` in flows.toml) whose browser session the flow runs in.
    pub user: Option<Sp<String>>,
    /// Flows that must pass before this one runs. Their captured variables are visible here.
    #[serde(default)]
    pub needs: Vec<Sp<String>>,
    /// Free-form tags for selection (`flows run --tag mail`).
    #[serde(default)]
    pub tags: Vec<Sp<String>>,
    /// `shared` (default): reuse the user's browser session for the run, so a login done by an
    /// earlier flow carries over. `fresh`: a new browser session for this flow alone.
    #[serde(default)]
    pub session: SessionMode,
    /// Deadline for each step unless the step sets its own (e.g. `10s`, `500ms`).
    #[serde(default)]
    pub step_timeout: Option<Sp<DurationText>>,
    /// Browser settings for this flow alone (`{ viewport: 390x844, locale: de-DE }`): the
    /// flow's user gets a fresh browser session with them, closed after the flow.
    #[serde(default)]
    pub browser: Option<FlowBrowser>,
    /// Run the flow once per row (`{{ row.KEY }}`): inline rows or a CSV file.
    #[serde(default)]
    pub each: Option<EachSource>,
    /// The steps, run in order; the first failure fails the flow.
    pub steps: Vec<Sp<Step>>,
}

/// A flow's own browser settings; unset ones come from `[browser]` in flows.toml.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowBrowser {
    /// The page's content size, `WIDTHxHEIGHT` in CSS pixels (e.g. `390x844`).
    #[serde(default)]
    #[schemars(extend("pattern" = "^[0-9]+x[0-9]+$"))]
    pub viewport: Option<Sp<String>>,
    /// The browser's language, a BCP 47 tag (`de-DE`): `navigator.language` and the
    /// `Accept-Language` header.
    #[serde(default)]
    pub locale: Option<Sp<String>>,
    /// The `User-Agent` the browser sends and `navigator.userAgent` shows.
    #[serde(default)]
    pub user_agent: Option<Sp<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    #[default]
    Shared,
    Fresh,
}

/// A duration written as text: `250ms`, `5s`, `2m`, `1m30s`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("pattern" = "^([0-9]+(ms|s|m|h|d))+$"))]
pub struct DurationText(pub String);

/// One step. Written as a one-key map: `- click: { role: button, name: Send code }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Open a URL. A path (`/login`) is resolved against `base_url`.
    Goto(GotoStep),
    /// Click an element once it is actionable.
    Click(ClickStep),
    /// Replace the value of a text field.
    Fill(FillStep),
    /// Choose an option of a `<select>` by its visible label (or `value`).
    Select(SelectStep),
    /// Check (or, with `checked: false`, uncheck) a checkbox or radio button.
    Check(CheckStep),
    /// Set the files of an `<input type=file>`; paths are relative to the flow file.
    Upload(UploadStep),
    /// Press a key or chord (`Enter`, `Control+A`), in the focused element or a located one.
    Press(PressStep),
    /// Assert something about the page or an element, retrying until the deadline.
    Expect(ExpectStep),
    /// Wait until an element reaches a state (or the URL matches) without asserting content.
    WaitFor(WaitForStep),
    /// Save a screenshot (PNG) under the flow's artifact directory.
    Screenshot(ScreenshotStep),
    /// Capture a value from the URL, the title or an element's text into a variable.
    Capture(CaptureStep),
    /// Call an HTTP endpoint, optionally with a user's browser cookies.
    Http(HttpStep),
    /// Wait for an e-mail to a user; check it, extract a code or a link from it.
    Mail(MailStep),
    /// Check the exact sequence of subjects one address received in a window.
    Mails(MailsStep),
    /// Open a realtime subscription (Pusher-protocol websocket or SSE stream).
    Subscribe(SubscribeStep),
    /// Expect an event on an open subscription within the deadline.
    ExpectEvent(ExpectEventStep),
    /// Move the pointer over an element (menus that open on hover).
    Hover(HoverStep),
    /// Drag an element onto another one (`to:`).
    Drag(DragStep),
    /// Click an element that starts a download; wait for it and check the file.
    Download(DownloadStep),
    /// Handle the open JavaScript dialog (alert, confirm, prompt).
    Dialog(DialogStep),
    /// Switch to another window of the session (a popup), back to `main`, or close one.
    Window(WindowStep),
    /// Run the steps of a step group (`flows/groups/NAME.yaml`) here.
    Use(UseStep),
}

impl Step {
    /// The name used in YAML and in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Goto(_) => "goto",
            Step::Click(_) => "click",
            Step::Fill(_) => "fill",
            Step::Select(_) => "select",
            Step::Check(_) => "check",
            Step::Upload(_) => "upload",
            Step::Press(_) => "press",
            Step::Expect(_) => "expect",
            Step::WaitFor(_) => "wait_for",
            Step::Screenshot(_) => "screenshot",
            Step::Capture(_) => "capture",
            Step::Http(_) => "http",
            Step::Mail(_) => "mail",
            Step::Mails(_) => "mails",
            Step::Subscribe(_) => "subscribe",
            Step::ExpectEvent(_) => "expect_event",
            Step::Hover(_) => "hover",
            Step::Drag(_) => "drag",
            Step::Download(_) => "download",
            Step::Dialog(_) => "dialog",
            Step::Window(_) => "window",
            Step::Use(_) => "use",
        }
    }

    /// The step's `mark:`, if it saves its start time under a name. A step written in its
    /// short form (`goto: /x`, `window: main`) and `use` have none.
    pub fn mark(&self) -> Option<&Sp<String>> {
        match self {
            Step::Goto(GotoStep::Options(o)) => o.mark.as_ref(),
            Step::Goto(GotoStep::Url(_)) => None,
            Step::Click(s) => s.mark.as_ref(),
            Step::Fill(s) => s.mark.as_ref(),
            Step::Select(s) => s.mark.as_ref(),
            Step::Check(s) => s.mark.as_ref(),
            Step::Upload(s) => s.mark.as_ref(),
            Step::Press(s) => s.mark.as_ref(),
            Step::Expect(s) => s.mark.as_ref(),
            Step::WaitFor(s) => s.mark.as_ref(),
            Step::Screenshot(ScreenshotStep::Options(o)) => o.mark.as_ref(),
            Step::Screenshot(ScreenshotStep::Name(_)) => None,
            Step::Capture(s) => s.mark.as_ref(),
            Step::Http(s) => s.mark.as_ref(),
            Step::Mail(s) => s.mark.as_ref(),
            Step::Mails(s) => s.mark.as_ref(),
            Step::Subscribe(s) => s.mark.as_ref(),
            Step::ExpectEvent(s) => s.mark.as_ref(),
            Step::Hover(s) => s.mark.as_ref(),
            Step::Drag(s) => s.mark.as_ref(),
            Step::Download(s) => s.mark.as_ref(),
            Step::Dialog(s) => s.mark.as_ref(),
            Step::Window(WindowStep::Options(o)) => o.mark.as_ref(),
            Step::Window(WindowStep::Main(_)) | Step::Use(_) => None,
        }
    }

    /// The mark a `mail`/`mails` step's window starts at (`since:`).
    pub fn since(&self) -> Option<&Sp<String>> {
        match self {
            Step::Mail(m) => m.since.as_ref(),
            Step::Mails(m) => m.since.as_ref(),
            _ => None,
        }
    }
}

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
    fn boxed(l: Locator) -> FrameRef {
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

/// Waits for the open JavaScript dialog, checks its message, answers it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialogStep {
    /// `accept` (default) or `dismiss`.
    #[serde(default)]
    pub action: Option<DialogAction>,
    /// The dialog's message: substring, `/regex/i`.
    #[serde(default)]
    pub text: Option<Sp<String>>,
    /// Text to type into a `prompt()` before accepting.
    #[serde(default)]
    pub prompt: Option<Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// The dialog in this user's browser session.
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DialogAction {
    #[default]
    Accept,
    Dismiss,
}

/// `window: main`, `window: { title: Help }`, `window: { url: /help }`, `window: { close: true }`.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum WindowStep {
    /// `main`: the window the flow started in.
    Main(Sp<String>),
    Options(WindowOptions),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowOptions {
    /// Switch to the window whose URL matches (as in `expect`: a path, a full URL, `/regex/`).
    #[serde(default)]
    pub url: Option<Sp<String>>,
    /// Switch to the window whose title matches (substring or `/regex/i`).
    #[serde(default)]
    pub title: Option<Sp<String>>,
    /// Close the current window and go back to the main one.
    #[serde(default)]
    pub close: bool,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// In this user's browser session.
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

impl WindowStep {
    pub fn as_user(&self) -> Option<&Sp<String>> {
        match self {
            WindowStep::Main(_) => None,
            WindowStep::Options(o) => o.as_user.as_ref(),
        }
    }
}

/// `use: sign-in` or `use: { group: sign-in, with: { email: "{{ user.email }}" } }`.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum UseStep {
    Name(Sp<String>),
    Call(UseCall),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UseCall {
    /// The group's name (`group:` in `flows/groups/NAME.yaml`).
    pub group: Sp<String>,
    /// Values for the group's params; may use `{{ variables }}` of the calling flow.
    #[serde(default, rename = "with")]
    pub with_params: BTreeMap<String, Sp<ScalarText>>,
}

impl UseStep {
    pub fn group(&self) -> &Sp<String> {
        match self {
            UseStep::Name(n) => n,
            UseStep::Call(c) => &c.group,
        }
    }
    pub fn params(&self) -> Option<&BTreeMap<String, Sp<ScalarText>>> {
        match self {
            UseStep::Name(_) => None,
            UseStep::Call(c) => Some(&c.with_params),
        }
    }
}

/// A step group: `flows/groups/NAME.yaml`, steps written once and used by many flows.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// The name flows use: `use: NAME`. Lowercase words joined by `-`.
    pub group: Sp<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The values a call passes (`with:`), used as `{{ params.NAME }}`.
    #[serde(default)]
    pub params: BTreeMap<String, Sp<ParamSpec>>,
    pub steps: Vec<Sp<Step>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    #[serde(default)]
    pub description: Option<String>,
    /// Used when a call does not pass this param; without a default the param is required.
    #[serde(default)]
    pub default: Option<String>,
}

/// `each:` of a data-driven flow: rows written inline, or a CSV file (header row first).
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum EachSource {
    /// A CSV file, relative to the flow file.
    File(Sp<String>),
    /// Rows: maps of the same keys; `name` (if present) names the row.
    Rows(Vec<Sp<BTreeMap<String, ScalarText>>>),
}

/// A scalar written in YAML (text, number or boolean), taken as its text: `level: 1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("type" = ["string", "number", "boolean"]))]
pub struct ScalarText(pub String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a text, number or boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserializes a value written either as a plain scalar or as a map (or a list), keeping the
/// inner type's own error messages (serde's `untagged` would replace them with "did not match
/// any variant").
macro_rules! scalar_or {
    ($ty:ident, $expecting:literal, str => $from_str:expr, $kind:ident => $variant:path) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        let f: fn(Sp<String>) -> $ty = $from_str;
                        Ok(f(Sp::new(v.to_owned(), super::span::Loc::default())))
                    }
                    scalar_or!(@$kind $variant);
                }
                d.deserialize_any(V)
            }
        }
    };
    (@map $variant:path) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map($variant)
        }
    };
    (@seq $variant:path) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map($variant)
        }
    };
}

scalar_or!(FrameRef, "a frame's title or name, or a locator", str => FrameRef::Name, map => FrameRef::boxed);
scalar_or!(UseStep, "a group name, or { group, with }", str => UseStep::Name, map => UseStep::Call);
scalar_or!(WindowStep, "`main`, or { url, title, close }", str => WindowStep::Main, map => WindowStep::Options);
scalar_or!(EachSource, "a CSV file, or a list of rows", str => EachSource::File, seq => EachSource::Rows);
scalar_or!(MailBody, "a text, or { contains, not_contains, regex }", str => MailBody::Filter, map => MailBody::Checks);
scalar_or!(TextList, "a text, or a list of texts", str => TextList::One, seq => TextList::Many);

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

/// `goto: /login` or `goto: { url: /login, as: head }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum GotoStep {
    Url(Sp<String>),
    Options(GotoOptions),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GotoOptions {
    pub url: Sp<String>,
    /// Open it in this user's browser session instead of the flow's user.
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

impl GotoStep {
    pub fn url(&self) -> &Sp<String> {
        match self {
            GotoStep::Url(u) => u,
            GotoStep::Options(o) => &o.url,
        }
    }
    pub fn as_user(&self) -> Option<&Sp<String>> {
        match self {
            GotoStep::Url(_) => None,
            GotoStep::Options(o) => o.as_user.as_ref(),
        }
    }
}

/// `screenshot: ticket-created` or `screenshot: { name: ticket-created, full_page: true }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScreenshotStep {
    Name(Sp<String>),
    Options(ScreenshotOptions),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenshotOptions {
    /// File name without extension; `[a-z0-9-_]`.
    pub name: Sp<String>,
    /// Capture the whole scrollable page rather than the viewport.
    #[serde(default)]
    pub full_page: bool,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
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

/// An HTTP request with expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    /// `GET` (default), `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`.
    #[serde(default)]
    pub method: Option<Sp<String>>,
    /// Absolute URL, or a path resolved against `api_url` (then `base_url`).
    pub url: Sp<String>,
    /// Send the cookies of this user's browser session (a key of `[users]`).
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Sp<String>>,
    /// A JSON body (values may use `{{ variables }}` in strings).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// A form body (`application/x-www-form-urlencoded`).
    #[serde(default)]
    pub form: BTreeMap<String, Sp<String>>,
    /// A raw text body.
    #[serde(default)]
    pub body: Option<Sp<String>>,
    #[serde(default)]
    pub expect: Option<HttpExpect>,
    /// Variables from the JSON response: `{ var_name: "/json/pointer" }` (RFC 6901).
    #[serde(default)]
    pub capture: BTreeMap<String, Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpExpect {
    /// Expected status code (default: any 2xx).
    #[serde(default)]
    pub status: Option<u16>,
    /// Expected response headers: value substring, or `/regex/i`.
    #[serde(default)]
    pub headers: BTreeMap<String, Sp<String>>,
    /// Expected JSON values by RFC 6901 pointer: `{ "/unread": 1 }`. A string value may be
    /// `/regex/`.
    #[serde(default)]
    pub json: BTreeMap<String, serde_json::Value>,
    /// The body contains this text (or matches `/regex/`).
    #[serde(default)]
    pub body: Option<Sp<String>>,
}

/// Wait for a message to a user, check it, and extract from it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailStep {
    /// A user key of `[users]`, or an e-mail address.
    pub to: Sp<String>,
    /// The subject contains this (or matches `/regex/i`).
    #[serde(default)]
    pub subject: Option<Sp<String>>,
    /// A text: only a message whose text (or HTML-as-text) body contains it (or matches
    /// `/regex/i`). A map (`{ contains, not_contains, regex }`): assertions on the body of the
    /// message the step picked; the step fails saying what the body lacks or has.
    #[serde(default)]
    pub body: Option<Sp<MailBody>>,
    /// Assertions on the HTML part as sent (markup included): `{ contains, not_contains, regex }`.
    #[serde(default)]
    pub html: Option<Sp<TextChecks>>,
    /// Assertions on one attachment of the picked message; the attachment is kept under the
    /// flow's `attachments/` in the run directory.
    #[serde(default)]
    pub attachment: Option<Sp<AttachmentCheck>>,
    /// Only messages that arrived after this earlier step (1-based number) started.
    /// Default: after the last acting step before it (click, fill, goto, http…) started.
    #[serde(default)]
    pub after_step: Option<Sp<u32>>,
    /// Only messages that arrived after the step marked with this name (`mark:`) started, in
    /// this flow or in a flow it needs.
    #[serde(default)]
    pub since: Option<Sp<String>>,
    /// `true`: the step passes when NO matching message arrives within `within` (adding a CC
    /// sends nothing; an internal note is not mailed to the customer).
    #[serde(default)]
    pub absent: Option<Sp<bool>>,
    /// With `absent: true`: how long to watch for the message (e.g. `3s`).
    #[serde(default)]
    pub within: Option<Sp<DurationText>>,
    /// Extract a one-time code into a (secret) variable.
    #[serde(default)]
    pub otp: Option<OtpExtract>,
    /// Extract a link into a (secret) variable.
    #[serde(default)]
    pub link: Option<LinkExtract>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

/// `body:` of a mail step: a text picks the message, a map asserts on the picked one.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum MailBody {
    /// Only a message whose body contains this (or matches `/regex/i`).
    Filter(Sp<String>),
    /// Assertions on the body of the message the step picked.
    Checks(TextChecks),
}

/// Assertions on a text: what it must contain, must not contain, and a regex it must match.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextChecks {
    /// Contains this (case-insensitive, spaces collapsed) or matches `/regex/i`; a list: each.
    #[serde(default)]
    pub contains: Option<TextList>,
    /// Contains none of these (same matching as `contains`).
    #[serde(default)]
    pub not_contains: Option<TextList>,
    /// Matches this regular expression (as written, case-sensitive; `(?i)` for not).
    #[serde(default)]
    pub regex: Option<Sp<String>>,
}

/// One text or a list of texts.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum TextList {
    One(Sp<String>),
    Many(Vec<Sp<String>>),
}

impl TextList {
    pub fn items(&self) -> Vec<&Sp<String>> {
        match self {
            TextList::One(s) => vec![s],
            TextList::Many(v) => v.iter().collect(),
        }
    }
}

/// Which attachment of the picked message, and what it must be.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentCheck {
    /// Its file name contains this (case-insensitive) or matches `/regex/i`. Needed when the
    /// message has more than one attachment of the kind asked for.
    #[serde(default)]
    pub name: Option<Sp<String>>,
    /// Its media type as sent (`text/csv`), parameters ignored.
    #[serde(default, rename = "type")]
    pub media_type: Option<Sp<String>>,
    /// Its decoded size: bytes (`2048`), with a unit (`2 KB`, `1.5 MiB`), or a range
    /// (`1KB..2MB`, `..10MB`, `100..`), bounds included.
    #[serde(default)]
    pub size: Option<Sp<ScalarText>>,
    /// The SHA-256 of its decoded bytes, in hex.
    #[serde(default)]
    pub sha256: Option<Sp<String>>,
    /// A text attachment (`text/*`, JSON, CSV…) contains these, as `body: { contains }`.
    #[serde(default)]
    pub contains: Option<TextList>,
}

/// The exact, ordered sequence of subjects one address received in a window.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailsStep {
    /// A user key of `[users]`, or an e-mail address.
    pub to: Sp<String>,
    /// The subjects in order of arrival, one per message: each contains its text (or matches
    /// `/regex/i`). Every message to the address in the window counts.
    pub subjects: Vec<Sp<String>>,
    /// The window starts when the step marked with this name started (`mark:`).
    #[serde(default)]
    pub since: Option<Sp<String>>,
    /// The window starts when this earlier step (1-based) started. Default: the last acting
    /// step before this one.
    #[serde(default)]
    pub after_step: Option<Sp<u32>>,
    /// How long to wait for the sequence (default: `timeouts.mail`).
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpExtract {
    /// Variable name to hold the code.
    pub var: Sp<String>,
    /// Regex for the code (first group or whole match). Default: a standalone 6-digit number.
    #[serde(default)]
    pub regex: Option<Sp<String>>,
    /// What codes look like when no `regex` is given: `digits` (six, the default; also written
    /// spaced) or `alnum` (letters and digits such as `ABCD-EFGH` or `X7K9Q2`).
    #[serde(default)]
    pub pattern: Option<Sp<String>>,
    /// Only a code next to this phrase (e.g. `"sign-in code"`): settles a message with more
    /// than one plausible code.
    #[serde(default)]
    pub near: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkExtract {
    /// Variable name to hold the URL.
    pub var: Sp<String>,
    /// Prefer the link whose text contains this (or matches `/regex/i`).
    #[serde(default)]
    pub text: Option<Sp<String>>,
    /// Prefer the link whose URL matches this regex.
    #[serde(default)]
    pub regex: Option<Sp<String>>,
}

/// Open a realtime subscription under a name used by later `expect_event` steps.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeStep {
    /// Name of this subscription, for `expect_event: { on: NAME }`.
    pub id: Sp<String>,
    /// A Pusher-protocol (Laravel Reverb) websocket channel.
    #[serde(default)]
    pub pusher: Option<PusherSubscribe>,
    /// A Server-Sent Events stream URL (path resolved against `base_url`).
    #[serde(default)]
    pub sse: Option<Sp<String>>,
    /// Authenticate (channel auth, SSE request) with this user's browser cookies.
    #[serde(default, rename = "as")]
    pub as_user: Option<Sp<String>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PusherSubscribe {
    /// Websocket URL (`ws://…/app/KEY` or a path resolved against `base_url`).
    pub url: Sp<String>,
    /// Channel name; `private-…` channels are authorised through `auth_endpoint`.
    pub channel: Sp<String>,
    /// Auth endpoint for private channels (default `/broadcasting/auth`).
    #[serde(default)]
    pub auth_endpoint: Option<Sp<String>>,
    /// Extra headers for the auth request, e.g. `X-CSRF-TOKEN` as Laravel Echo sends it.
    #[serde(default)]
    pub auth_headers: BTreeMap<String, Sp<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectEventStep {
    /// The `id` of an earlier `subscribe` step.
    pub on: Sp<String>,
    /// Event name (`notification.created`).
    pub event: Sp<String>,
    /// Expected values in the event's JSON data by RFC 6901 pointer.
    #[serde(default)]
    pub data: BTreeMap<String, serde_json::Value>,
    /// Only events received after this earlier step (1-based number) started. Default: the
    /// previous step's start.
    #[serde(default)]
    pub after_step: Option<Sp<u32>>,
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (`mark: ticket_opened`): a later `mail` or
    /// `mails` step, in this flow or one that needs it, looks from there with `since:`.
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}
