//! What each step kind means to the runner, answered in one place.
//!
//! Every question here is an exhaustive `match` over [`Step`] without a `_` arm: adding a step
//! kind does not compile until it is classified here (which user, which frame, whether it uses
//! the browser, whether it triggers mail/events, whether it reads the page, its `after_step`).
//! The checks of a step's own fields live in `check::flow`; running it lives in `exec::step`.

use super::ast::{FrameRef, Step};
use super::span::Sp;

impl Step {
    /// The step's `as:`: the user whose session it uses, whether it drives that user's page or
    /// only borrows its cookies (`http`, `subscribe`). This is every user a flow needs a
    /// session for (saved sessions, `--no-deps` preflight).
    pub fn as_user(&self) -> Option<&Sp<String>> {
        match self {
            Step::Http(s) => s.as_user.as_ref(),
            Step::Subscribe(s) => s.as_user.as_ref(),
            Step::Guard(s) => s.as_user.as_ref(),
            Step::Forbidden(s) => Some(&s.as_user),
            Step::DownloadHeaders(s) => s.as_user.as_ref(),
            Step::Sse(s) => s.as_user.as_ref(),
            // Its first role; every role is a user the flow's sessions must have signed in.
            Step::Routes(s) => s.as_users.first(),
            Step::Metrics(_) => None,
            Step::Goto(_)
            | Step::Click(_)
            | Step::Fill(_)
            | Step::Select(_)
            | Step::Check(_)
            | Step::Upload(_)
            | Step::Press(_)
            | Step::Expect(_)
            | Step::WaitFor(_)
            | Step::Capture(_)
            | Step::Screenshot(_)
            | Step::ExpectScreenshot(_)
            | Step::Mail(_)
            | Step::Mails(_)
            | Step::ExpectEvent(_)
            | Step::Use(_)
            | Step::Hover(_)
            | Step::Drag(_)
            | Step::Download(_)
            | Step::Dialog(_)
            | Step::Window(_) => self.page_user(),
        }
    }

    /// The `as:` that picks whose browser page the step works in (its "actor"; `None`: the
    /// flow's user). Differs from [`Step::as_user`] for `http` and `subscribe`: their `as:`
    /// lends that user's cookies to a request, while the page that a failure screenshot,
    /// a trace or the round-trip count looks at stays the flow user's.
    pub fn page_user(&self) -> Option<&Sp<String>> {
        match self {
            Step::Goto(g) => g.as_user(),
            Step::Click(s) => s.as_user.as_ref(),
            Step::Fill(s) => s.as_user.as_ref(),
            Step::Select(s) => s.as_user.as_ref(),
            Step::Check(s) => s.as_user.as_ref(),
            Step::Upload(s) => s.as_user.as_ref(),
            Step::Press(s) => s.as_user.as_ref(),
            Step::Expect(s) => s.as_user.as_ref(),
            Step::WaitFor(s) => s.as_user.as_ref(),
            Step::Capture(s) => s.as_user.as_ref(),
            Step::Hover(s) => s.as_user.as_ref(),
            Step::Drag(s) => s.as_user.as_ref(),
            Step::Download(s) => s.as_user.as_ref(),
            Step::Dialog(s) => s.as_user.as_ref(),
            Step::Window(w) => w.as_user(),
            Step::Screenshot(_)
            | Step::ExpectScreenshot(_)
            | Step::Http(_)
            | Step::Mail(_)
            | Step::Mails(_)
            | Step::Subscribe(_)
            | Step::ExpectEvent(_)
            | Step::Use(_)
            | Step::Guard(_)
            | Step::Forbidden(_)
            | Step::DownloadHeaders(_)
            | Step::Sse(_)
            | Step::Routes(_)
            | Step::Metrics(_) => None,
        }
    }

    /// The frame a located step works in, if it names one.
    pub fn frame(&self) -> Option<&Sp<FrameRef>> {
        let frame = match self {
            Step::Click(s) => &s.frame,
            Step::Fill(s) => &s.frame,
            Step::Select(s) => &s.frame,
            Step::Check(s) => &s.frame,
            Step::Upload(s) => &s.frame,
            Step::Press(s) => &s.frame,
            Step::Expect(s) => &s.frame,
            Step::WaitFor(s) => &s.frame,
            Step::Capture(s) => &s.frame,
            Step::Hover(s) => &s.frame,
            Step::Drag(s) => &s.frame,
            Step::Download(s) => &s.frame,
            Step::Goto(_)
            | Step::Screenshot(_)
            | Step::ExpectScreenshot(_)
            | Step::Http(_)
            | Step::Mail(_)
            | Step::Mails(_)
            | Step::Subscribe(_)
            | Step::ExpectEvent(_)
            | Step::Dialog(_)
            | Step::Window(_)
            | Step::Use(_)
            | Step::Guard(_)
            | Step::Forbidden(_)
            | Step::DownloadHeaders(_)
            | Step::Sse(_)
            | Step::Routes(_)
            | Step::Metrics(_) => return None,
        };
        frame.as_deref()
    }

    /// Whether the step acts on or reads a browser page (and so has a page state worth
    /// tracing). `use` counts as one: it is expanded into its group's steps before a run, and
    /// whether the group needs a browser is decided by checking the group.
    pub fn uses_browser(&self) -> bool {
        match self {
            // `expect: { value, equals }` compares two values; no page is involved.
            Step::Expect(e) => e.value.is_none(),
            Step::Goto(_)
            | Step::Click(_)
            | Step::Fill(_)
            | Step::Select(_)
            | Step::Check(_)
            | Step::Upload(_)
            | Step::Press(_)
            | Step::WaitFor(_)
            | Step::Screenshot(_)
            | Step::ExpectScreenshot(_)
            | Step::Capture(_)
            | Step::Hover(_)
            | Step::Drag(_)
            | Step::Download(_)
            | Step::Dialog(_)
            | Step::Window(_)
            | Step::Use(_) => true,
            Step::Http(_)
            | Step::Mail(_)
            | Step::Mails(_)
            | Step::Subscribe(_)
            | Step::ExpectEvent(_)
            | Step::Guard(_)
            | Step::Forbidden(_)
            | Step::DownloadHeaders(_)
            | Step::Sse(_)
            | Step::Routes(_)
            | Step::Metrics(_) => false,
        }
    }

    /// Whether the step can cause a mail or a realtime event (a click, a fill, a goto, an
    /// http call…): a `mail`/`mails`/`expect_event` window starts at the last step that acts.
    /// Assertions, waits, screenshots, captures and the mail and event steps themselves only
    /// look, so they never start a window.
    pub fn acts(&self) -> bool {
        match self {
            Step::Goto(_)
            | Step::Click(_)
            | Step::Fill(_)
            | Step::Select(_)
            | Step::Check(_)
            | Step::Upload(_)
            | Step::Press(_)
            | Step::Http(_)
            | Step::Hover(_)
            | Step::Drag(_)
            | Step::Download(_)
            | Step::Dialog(_)
            | Step::Window(_)
            | Step::Use(_) => true,
            Step::Expect(_)
            | Step::WaitFor(_)
            | Step::Screenshot(_)
            | Step::ExpectScreenshot(_)
            | Step::Capture(_)
            | Step::Mail(_)
            | Step::Mails(_)
            | Step::Subscribe(_)
            | Step::ExpectEvent(_)
            // GET requests only: they look, they never act.
            | Step::Guard(_)
            | Step::Forbidden(_)
            | Step::DownloadHeaders(_)
            | Step::Sse(_)
            | Step::Routes(_)
            | Step::Metrics(_) => false,
        }
    }

    /// Whether the step only reads its session's top-level page and returns the DOM snapshot
    /// with its answer (`expect`, `wait_for` outside a frame): the step before it then need
    /// not fetch one for the trace.
    pub fn reads_page_after(&self) -> bool {
        match self {
            Step::Expect(e) => e.frame.is_none() && e.value.is_none(),
            Step::WaitFor(w) => w.frame.is_none(),
            Step::Goto(_)
            | Step::Click(_)
            | Step::Fill(_)
            | Step::Select(_)
            | Step::Check(_)
            | Step::Upload(_)
            | Step::Press(_)
            | Step::Screenshot(_)
            | Step::ExpectScreenshot(_)
            | Step::Capture(_)
            | Step::Http(_)
            | Step::Mail(_)
            | Step::Mails(_)
            | Step::Subscribe(_)
            | Step::ExpectEvent(_)
            | Step::Hover(_)
            | Step::Drag(_)
            | Step::Download(_)
            | Step::Dialog(_)
            | Step::Window(_)
            | Step::Use(_)
            | Step::Guard(_)
            | Step::Forbidden(_)
            | Step::DownloadHeaders(_)
            | Step::Sse(_)
            | Step::Routes(_)
            | Step::Metrics(_) => false,
        }
    }

    /// The step's `after_step: N` (1-based, as written), for the steps that wait on a window.
    pub fn after_step(&self) -> Option<&Sp<u32>> {
        match self {
            Step::Mail(m) => m.after_step.as_ref(),
            Step::Mails(m) => m.after_step.as_ref(),
            Step::ExpectEvent(e) => e.after_step.as_ref(),
            Step::Goto(_)
            | Step::Click(_)
            | Step::Fill(_)
            | Step::Select(_)
            | Step::Check(_)
            | Step::Upload(_)
            | Step::Press(_)
            | Step::Expect(_)
            | Step::WaitFor(_)
            | Step::Screenshot(_)
            | Step::ExpectScreenshot(_)
            | Step::Capture(_)
            | Step::Http(_)
            | Step::Subscribe(_)
            | Step::Hover(_)
            | Step::Drag(_)
            | Step::Download(_)
            | Step::Dialog(_)
            | Step::Window(_)
            | Step::Use(_)
            | Step::Guard(_)
            | Step::Forbidden(_)
            | Step::DownloadHeaders(_)
            | Step::Sse(_)
            | Step::Routes(_)
            | Step::Metrics(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse::parse_flow;
    use super::*;

    /// One step of every kind (some twice: with `as:` / `frame:` / `value` and without).
    const FLOW: &str = r##"
id: all-kinds
title: every step kind
steps:
  - goto: /
  - goto: { url: /x, as: bob }
  - click: { role: button, name: Save, as: bob }
  - click: { css: "#b", frame: { css: iframe } }
  - fill: { label: Name, value: x }
  - select: { label: Pick, option: A }
  - check: { label: Agree }
  - upload: { label: File, files: [a.txt] }
  - press: { key: Enter }
  - expect: { text: Saved }
  - expect: { text: Saved, frame: { css: iframe } }
  - expect: { value: "a", equals: "a" }
  - wait_for: { url: /done }
  - wait_for: { css: "#x", frame: { css: iframe } }
  - screenshot: shot
  - expect_screenshot: { name: page }
  - capture: { var: t, from: url, regex: "/t/(\\d+)" }
  - http: { url: /api, as: bob }
  - mail: { to: bob, after_step: 2 }
  - mails: { to: bob, after_step: 3, subjects: [A] }
  - subscribe: { id: s, sse: /events, as: bob }
  - expect_event: { on: s, event: e, after_step: 4 }
  - hover: { text: Menu }
  - drag: { text: A, to: { text: B } }
  - download: { text: CSV, frame: { css: iframe } }
  - dialog: { text: Sure? }
  - window: main
  - window: { title: Help, as: bob }
  - use: sign-in
  - guard: { paths: [/inbox], as: bob }
  - forbidden: { as: bob, path: /inbox }
  - download_headers: { url: /f.pdf }
  - sse: { url: /events, open_for: 2s, as: bob }
  - routes: { baseline: routes.json, as: [bob] }
  - metrics: { expect: ["up == 1"] }
"##;

    fn steps() -> Vec<Step> {
        let flow = parse_flow(Path::new("all.yaml"), FLOW).expect("the test flow parses");
        flow.steps.into_iter().map(|s| s.value).collect()
    }

    #[test]
    fn the_parsers_list_of_kinds_is_every_kind() {
        let kinds: Vec<&str> = steps().iter().map(Step::kind).collect();
        let mut listed: Vec<&str> = crate::flowfile::parse::STEP_KINDS.to_vec();
        let mut all = kinds.clone();
        listed.sort_unstable();
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            listed, all,
            "parse::STEP_KINDS (hints, unknown-field messages) must name every step kind"
        );
    }

    #[test]
    fn the_contract_kinds_are_the_contract_steps() {
        let contract: Vec<&str> = steps()
            .iter()
            .filter(|s| {
                matches!(
                    s,
                    Step::Guard(_)
                        | Step::Forbidden(_)
                        | Step::DownloadHeaders(_)
                        | Step::Sse(_)
                        | Step::Routes(_)
                        | Step::Metrics(_)
                )
            })
            .map(Step::kind)
            .collect();
        assert_eq!(contract, crate::flowfile::ast::CONTRACT_STEP_KINDS);
    }

    #[test]
    fn the_table_covers_every_kind() {
        let kinds: std::collections::BTreeSet<&str> = steps().iter().map(Step::kind).collect();
        let all: std::collections::BTreeSet<&str> = [
            "goto",
            "click",
            "fill",
            "select",
            "check",
            "upload",
            "press",
            "expect",
            "wait_for",
            "screenshot",
            "expect_screenshot",
            "capture",
            "http",
            "mail",
            "mails",
            "subscribe",
            "expect_event",
            "hover",
            "drag",
            "download",
            "dialog",
            "window",
            "use",
            "guard",
            "forbidden",
            "download_headers",
            "sse",
            "routes",
            "metrics",
        ]
        .into();
        assert_eq!(kinds, all);
    }

    #[test]
    fn classification_of_every_kind() {
        // kind, as_user, page_user, frame, uses_browser, acts, reads_page_after, after_step
        type Row = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            bool,
            bool,
            bool,
            bool,
            Option<u32>,
        );
        let expected: Vec<Row> = vec![
            ("goto", None, None, false, true, true, false, None),
            (
                "goto",
                Some("bob"),
                Some("bob"),
                false,
                true,
                true,
                false,
                None,
            ),
            (
                "click",
                Some("bob"),
                Some("bob"),
                false,
                true,
                true,
                false,
                None,
            ),
            ("click", None, None, true, true, true, false, None),
            ("fill", None, None, false, true, true, false, None),
            ("select", None, None, false, true, true, false, None),
            ("check", None, None, false, true, true, false, None),
            ("upload", None, None, false, true, true, false, None),
            ("press", None, None, false, true, true, false, None),
            ("expect", None, None, false, true, false, true, None),
            ("expect", None, None, true, true, false, false, None),
            ("expect", None, None, false, false, false, false, None),
            ("wait_for", None, None, false, true, false, true, None),
            ("wait_for", None, None, true, true, false, false, None),
            ("screenshot", None, None, false, true, false, false, None),
            (
                "expect_screenshot",
                None,
                None,
                false,
                true,
                false,
                false,
                None,
            ),
            ("capture", None, None, false, true, false, false, None),
            ("http", Some("bob"), None, false, false, true, false, None),
            ("mail", None, None, false, false, false, false, Some(2)),
            ("mails", None, None, false, false, false, false, Some(3)),
            (
                "subscribe",
                Some("bob"),
                None,
                false,
                false,
                false,
                false,
                None,
            ),
            (
                "expect_event",
                None,
                None,
                false,
                false,
                false,
                false,
                Some(4),
            ),
            ("hover", None, None, false, true, true, false, None),
            ("drag", None, None, false, true, true, false, None),
            ("download", None, None, true, true, true, false, None),
            ("dialog", None, None, false, true, true, false, None),
            ("window", None, None, false, true, true, false, None),
            (
                "window",
                Some("bob"),
                Some("bob"),
                false,
                true,
                true,
                false,
                None,
            ),
            ("use", None, None, false, true, true, false, None),
            ("guard", Some("bob"), None, false, false, false, false, None),
            (
                "forbidden",
                Some("bob"),
                None,
                false,
                false,
                false,
                false,
                None,
            ),
            (
                "download_headers",
                None,
                None,
                false,
                false,
                false,
                false,
                None,
            ),
            ("sse", Some("bob"), None, false, false, false, false, None),
            (
                "routes",
                Some("bob"),
                None,
                false,
                false,
                false,
                false,
                None,
            ),
            ("metrics", None, None, false, false, false, false, None),
        ];
        let actual: Vec<Row> = steps()
            .iter()
            .map(|s| {
                let name = |u: Option<&Sp<String>>| {
                    u.map(|u| {
                        if u.value == "bob" {
                            "bob"
                        } else {
                            "someone else"
                        }
                    })
                };
                (
                    s.kind(),
                    name(s.as_user()),
                    name(s.page_user()),
                    s.frame().is_some(),
                    s.uses_browser(),
                    s.acts(),
                    s.reads_page_after(),
                    s.after_step().map(|a| a.value),
                )
            })
            .collect();
        assert_eq!(actual, expected);
    }
}
