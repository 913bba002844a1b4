//! The flow checker's rules, each seen through the suite check as a user meets it.

use std::path::PathBuf;
use std::sync::Arc;

use crate::flowfile::check::{check_flows, Suite};
use crate::flowfile::parse::parse_flow;

use super::http::is_credential_name;
use super::*;

/// Checks one flow (user `requester`) with these steps: the suite, or each diagnostic's
/// message and hint.
fn check(steps: &str) -> Result<Suite, Vec<(String, Option<String>)>> {
    let src = format!("id: a\ntitle: A\nuser: requester\nsteps:\n{steps}");
    let path = PathBuf::from("a.yaml");
    let ast = parse_flow(&path, &src).unwrap_or_else(|d| panic!("{}", d.render(Some(&src), false)));
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
    let ast = parse_flow(&path, &src).unwrap_or_else(|d| panic!("{}", d.render(Some(&src), false)));
    let env = CheckEnv::new(["requester", "head"], Vec::<String>::new());
    let Err(diagnostics) = check_flows(vec![(path, Arc::from(src.as_str()), ast)], &env) else {
        return Vec::new();
    };
    diagnostics
        .iter()
        .map(|d| {
            let at = d.loc.map_or_else(String::new, |l| {
                let line = crate::flowfile::diagnostic::line_of(&src, l.line).unwrap_or("");
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
    match crate::flowfile::check::load_suite(dir.path(), &env) {
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
                    let line = crate::flowfile::diagnostic::line_of(&src, l.line).unwrap_or("");
                    let under: String = line.chars().skip(l.col as usize - 1).take(d.len).collect();
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
const API: &str = "group: api\nsteps:\n  - http: { url: /api, as: head, capture: { id: /id } }\n";

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
