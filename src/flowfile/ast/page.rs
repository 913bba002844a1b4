//! Steps on the page or the browser rather than one element: `goto`, `screenshot`, `dialog`,
//! `window`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::flowfile::span::Sp;

use super::DurationText;

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
