//! Every assertion step, both ways: for each `expect` kind and option and each `wait_for`
//! state, one case that passes and one that fails with its exact message, in real Chromium
//! against lab pages of the demo helpdesk. A runner whose check answers "ok" without looking
//! (or never answers "ok") fails here, not silently in every flow that relies on it.
//!
//! The pages: `/lab/hidden-text` (a visible and a display:none "Archive" button, two
//! "Read more" links, sections named by aria-label) and `/lab/overlay?overlay_ms=N` (a
//! "Loading…" overlay removed from the page after N ms).

use crate::support::*;

/// What a case's last step must do.
enum Want {
    Pass,
    /// Fail with exactly this error; `{base}` stands for the helpdesk's URL.
    Fail(&'static str),
}

/// One flow: open `page`, then run `step`.
struct Case {
    id: &'static str,
    page: &'static str,
    step: &'static str,
    want: Want,
}

const HIDDEN: &str = "/lab/hidden-text";
/// The overlay is removed 300 ms after load: waits for it to go pass.
const OVERLAY_GOES: &str = "/lab/overlay?overlay_ms=300";
/// The overlay stays for 30 s, longer than any failing case waits.
const OVERLAY_STAYS: &str = "/lab/overlay?overlay_ms=30000";

const fn pass(id: &'static str, page: &'static str, step: &'static str) -> Case {
    Case {
        id,
        page,
        step,
        want: Want::Pass,
    }
}

const fn fail(
    id: &'static str,
    page: &'static str,
    step: &'static str,
    error: &'static str,
) -> Case {
    Case {
        id,
        page,
        step,
        want: Want::Fail(error),
    }
}

/// Failing cases wait 500 ms: long enough to show the runner waits, short enough for a suite.
const CASES: &[Case] = &[
    // An element locator alone: visible is implied.
    pass("visible-implied", HIDDEN, "expect: { role: button, name: Close dialog }"),
    fail(
        "visible-implied-hidden",
        HIDDEN,
        "expect: { css: '#archive-hidden', timeout: 500ms }",
        r#"expectation not met within 500ms: found but hidden: <button#archive-hidden> "Archive" (in section "Archive")"#,
    ),
    fail(
        "visible-implied-absent",
        HIDDEN,
        "expect: { text: Nowhere on this page, timeout: 500ms }",
        r#"expectation not met within 500ms: no element matches text~"nowhere on this page"; the page is /lab/hidden-text (title "Visually hidden text · Lab")"#,
    ),
    fail(
        "visible-implied-ambiguous",
        HIDDEN,
        "expect: { role: link, name: Read more, timeout: 500ms }",
        r#"expectation not met within 500ms: 2 elements match role=link name~"read more": <a#billing> "Read more about billing" (in section "Articles"), <a#shipping> "Read more about shipping" (in section "Articles"); add `within:` or `nth:`, or make the name more specific"#,
    ),
    // A text locator.
    pass("text-visible", HIDDEN, "expect: { text: Subscribe to our newsletter }"),
    pass("text-exact", HIDDEN, "expect: { text: Subscribe to our newsletter for product news., exact: true }"),
    fail(
        "text-exact-partial",
        HIDDEN,
        "expect: { text: Subscribe to our newsletter, exact: true, timeout: 500ms }",
        r#"expectation not met within 500ms: no element matches text="Subscribe to our newsletter"; the page is /lab/hidden-text (title "Visually hidden text · Lab")"#,
    ),
    // visible: true / false.
    pass("visible-true", HIDDEN, "expect: { role: button, name: Archive, visible: true }"),
    fail(
        "visible-true-hidden",
        HIDDEN,
        "expect: { css: '#archive-hidden', visible: true, timeout: 500ms }",
        r#"expectation not met within 500ms: found but hidden: <button#archive-hidden> "Archive" (in section "Archive")"#,
    ),
    pass("visible-false", HIDDEN, "expect: { css: '#archive-hidden', visible: false }"),
    fail(
        "visible-false-shown",
        HIDDEN,
        "expect: { css: '#archive', visible: false, timeout: 500ms }",
        r#"expectation not met within 500ms: expected hidden, but visible: <button#archive> "Archive" (in section "Archive")"#,
    ),
    // hidden: true (absent counts as hidden).
    pass("hidden-display-none", HIDDEN, "expect: { css: '#archive-hidden', hidden: true }"),
    pass("hidden-absent", HIDDEN, "expect: { text: Nowhere on this page, hidden: true }"),
    fail(
        "hidden-shown",
        HIDDEN,
        "expect: { role: button, name: Close dialog, hidden: true, timeout: 500ms }",
        r#"expectation not met within 500ms: expected hidden, but visible: <button#close> "Close dialog" (in section "Newsletter")"#,
    ),
    // has_text: substring (case-insensitive) and /regex/.
    pass("has-text", HIDDEN, "expect: { css: 'section[aria-label=Newsletter] p', has_text: PRODUCT news }"),
    pass("has-text-regex", HIDDEN, "expect: { css: 'section[aria-label=Newsletter] p', has_text: '/^Subscribe .* news\\.$/' }"),
    fail(
        "has-text-other",
        HIDDEN,
        "expect: { css: 'section[aria-label=Newsletter] p', has_text: weather report, timeout: 500ms }",
        r#"expectation not met within 500ms: the text is "Subscribe to our newsletter for product news.", expected ~"weather report" (<p> "Subscribe to our newsletter for product " (in section "Newsletter"))"#,
    ),
    fail(
        "has-text-regex-other",
        HIDDEN,
        "expect: { css: 'section[aria-label=Newsletter] p', has_text: '/^news/', timeout: 500ms }",
        r#"expectation not met within 500ms: the text is "Subscribe to our newsletter for product news.", expected /^news/ (<p> "Subscribe to our newsletter for product " (in section "Newsletter"))"#,
    ),
    fail(
        "has-text-hidden",
        HIDDEN,
        "expect: { css: '#archive-hidden', has_text: Archive, timeout: 500ms }",
        r#"expectation not met within 500ms: found but hidden: <button#archive-hidden> "Archive" (in section "Archive")"#,
    ),
    // count: no uniqueness required; 0 means none.
    pass("count", HIDDEN, "expect: { role: link, name: Read more, count: 2 }"),
    pass("count-zero", HIDDEN, "expect: { text: Nowhere on this page, count: 0 }"),
    fail(
        "count-other",
        HIDDEN,
        "expect: { role: link, name: Read more, count: 3, timeout: 500ms }",
        r#"expectation not met within 500ms: 2 elements match role=link name~"read more", expected 3"#,
    ),
    fail(
        "count-zero-present",
        HIDDEN,
        "expect: { role: link, name: Read more, count: 0, timeout: 500ms }",
        r#"expectation not met within 500ms: 2 elements match role=link name~"read more", expected 0"#,
    ),
    // url: a path, a full URL, a /regex/.
    pass("url-path", HIDDEN, "expect: { url: /lab/hidden-text }"),
    pass("url-regex", HIDDEN, "expect: { url: '/hidden-te[x]t$/' }"),
    pass("url-full", HIDDEN, "expect: { url: '{{ base_url }}/lab/hidden-text' }"),
    fail(
        "url-path-other",
        HIDDEN,
        "expect: { url: /lab/overlay, timeout: 500ms }",
        "expectation not met within 500ms: the URL is {base}/lab/hidden-text, expected /lab/overlay",
    ),
    fail(
        "url-regex-other",
        HIDDEN,
        "expect: { url: '/overla[y]/', timeout: 500ms }",
        "expectation not met within 500ms: the URL is {base}/lab/hidden-text, expected /overla[y]/",
    ),
    // title: substring, /regex/.
    pass("title", HIDDEN, "expect: { title: visually HIDDEN }"),
    pass("title-regex", HIDDEN, "expect: { title: '/ · Lab$/' }"),
    fail(
        "title-other",
        HIDDEN,
        "expect: { title: Overlay, timeout: 500ms }",
        r#"expectation not met within 500ms: the title is "Visually hidden text · Lab", expected ~"overlay""#,
    ),
    // wait_for: visible (default), attached, hidden, detached, url.
    pass("wait-visible", HIDDEN, "wait_for: { role: button, name: Archive }"),
    fail(
        "wait-visible-hidden",
        HIDDEN,
        "wait_for: { css: '#archive-hidden', timeout: 500ms }",
        r#"state visible not met within 500ms: found but hidden: <button#archive-hidden> "Archive" (in section "Archive")"#,
    ),
    pass("wait-attached", HIDDEN, "wait_for: { css: '#archive-hidden', state: attached }"),
    fail(
        "wait-attached-absent",
        HIDDEN,
        "wait_for: { css: '#archived', state: attached, timeout: 500ms }",
        r#"state attached not met within 500ms: no element matches css=#archived; the page is /lab/hidden-text (title "Visually hidden text · Lab")"#,
    ),
    pass("wait-hidden", OVERLAY_GOES, "wait_for: { css: .overlay, state: hidden }"),
    fail(
        "wait-hidden-stays",
        OVERLAY_STAYS,
        "wait_for: { css: .overlay, state: hidden, timeout: 500ms }",
        r#"state hidden not met within 500ms: still visible: <div.overlay> "Loading…" (in main)"#,
    ),
    pass("wait-detached", OVERLAY_GOES, "wait_for: { css: .overlay, state: detached }"),
    pass("wait-detached-absent", HIDDEN, "wait_for: { css: '#no-such-id', state: detached }"),
    fail(
        "wait-detached-hidden-stays",
        HIDDEN,
        "wait_for: { css: '#archive-hidden', state: detached, timeout: 500ms }",
        r#"state detached not met within 500ms: 1 still attached: <button#archive-hidden> "Archive" (in section "Archive")"#,
    ),
    fail(
        "wait-detached-stays",
        OVERLAY_STAYS,
        "wait_for: { css: .overlay, state: detached, timeout: 500ms }",
        r#"state detached not met within 500ms: 1 still attached: <div.overlay> "Loading…" (in main)"#,
    ),
    pass("wait-url", HIDDEN, "wait_for: { url: /lab/hidden-text }"),
    fail(
        "wait-url-other",
        HIDDEN,
        "wait_for: { url: /lab/overlay, timeout: 500ms }",
        "expectation not met within 500ms: the URL is {base}/lab/hidden-text, expected /lab/overlay",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_assertion_passes_when_true_and_fails_with_its_message_when_false() {
    let app = helpdesk().await;
    let base = app.url();
    let flows: Vec<(String, String)> = CASES
        .iter()
        .map(|c| {
            (
                format!("{}.yaml", c.id),
                format!(
                    "id: {}\ntitle: {}\nuser: requester\nsteps:\n  - goto: {}\n  - {}\n",
                    c.id, c.id, c.page, c.step
                ),
            )
        })
        .collect();
    let suite = temp_suite(&flows);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&base)
        .args(["--skip-health-check"])
        .output()
        .await;
    assert_eq!(out.code, 1, "some cases fail on purpose\n{}", out.all());
    let report =
        read_json(&run_dir(&suite.path().join("artifacts")).join("staging-run-report.json"));

    let mut wrong = Vec::new();
    for c in CASES {
        let f = flow(&report, c.id);
        let last = &f["steps"][1];
        let (status, error) = (
            f["status"].as_str().unwrap_or_default(),
            last["error"].as_str().unwrap_or_default(),
        );
        match c.want {
            Want::Pass if status != "passed" || last["status"] != "passed" => {
                wrong.push(format!(
                    "{}: `{}` should pass, got {status}: {error}",
                    c.id, c.step
                ));
            }
            Want::Fail(message) => {
                let message = message.replace("{base}", &base);
                if status != "failed" || last["status"] != "failed" || error != message {
                    wrong.push(format!(
                        "{}: `{}` should fail with\n      {message}\n  got {status}:\n      {error}",
                        c.id, c.step
                    ));
                }
            }
            Want::Pass => {}
        }
    }
    assert!(wrong.is_empty(), "{}\n\n{}", wrong.join("\n"), out.all());
    app.shutdown().await;
}
