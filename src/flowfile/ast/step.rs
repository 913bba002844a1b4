//! [`Step`]: the one-key mapping a flow's steps are, and what every step kind shares (its name,
//! its `mark`, its `after_step`).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::flowfile::span::Sp;

use super::{
    CaptureStep, CheckStep, ClickStep, DialogStep, DownloadHeadersStep, DownloadStep, DragStep,
    ExpectEventStep, ExpectScreenshotStep, ExpectStep, FillStep, ForbiddenStep, GotoStep,
    GuardStep, HoverStep, HttpStep, MailStep, MailsStep, MetricsStep, PressStep, RoutesStep,
    ScreenshotStep, SelectStep, SseStep, SubscribeStep, UploadStep, UseStep, WaitForStep,
    WindowStep,
};

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
    /// Compare a screenshot (page, full page or element, masks painted over) with its baseline.
    ExpectScreenshot(ExpectScreenshotStep),
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
    // The no-break contract (ast/contract.rs), kept together.
    /// Paths closed when signed out (redirect to sign-in, 401/403) and open for a user.
    Guard(GuardStep),
    /// The 403 contract: a user, a path, the status and the body's shape.
    Forbidden(ForbiddenStep),
    /// A download's status, Content-Type, Content-Disposition, Content-Length and sniffed type.
    DownloadHeaders(DownloadHeadersStep),
    /// An SSE stream stays open and sends an event or heartbeat in time.
    Sse(SseStep),
    /// Route drift against a committed baseline of the status each role gets.
    Routes(RoutesStep),
    /// Prometheus series values and their increase over the flow.
    Metrics(MetricsStep),
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
            Step::ExpectScreenshot(_) => "expect_screenshot",
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
            Step::Guard(_) => "guard",
            Step::Forbidden(_) => "forbidden",
            Step::DownloadHeaders(_) => "download_headers",
            Step::Sse(_) => "sse",
            Step::Routes(_) => "routes",
            Step::Metrics(_) => "metrics",
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
            Step::ExpectScreenshot(s) => s.mark.as_ref(),
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
            Step::Guard(s) => s.mark.as_ref(),
            Step::Forbidden(s) => s.mark.as_ref(),
            Step::DownloadHeaders(s) => s.mark.as_ref(),
            Step::Sse(s) => s.mark.as_ref(),
            Step::Routes(s) => s.mark.as_ref(),
            Step::Metrics(s) => s.mark.as_ref(),
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
