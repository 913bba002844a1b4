//! The suite check as a user meets it: flows in, every problem out, each with its message and hint.

use super::*;

fn env() -> CheckEnv {
    let mut env = CheckEnv::new(["requester", "head", "collaborator"], ["portal_slug"]);
    env.env_is_set = Box::new(|n| n == "HOME_SET");
    env
}

fn files(list: &[(&str, &str)]) -> Vec<(PathBuf, Arc<str>, FlowFile)> {
    list.iter()
        .map(|(name, src)| {
            let path = PathBuf::from(name);
            let ast =
                parse_flow(&path, src).unwrap_or_else(|d| panic!("{}", d.render(Some(src), false)));
            (path, Arc::from(*src), ast)
        })
        .collect()
}

/// `file:line:col [the text under the carets] message`.
fn messages(list: &[(&str, &str)]) -> Vec<String> {
    let sources: BTreeMap<&str, &str> = list.iter().copied().collect();
    match check_flows(files(list), &env()) {
        Ok(_) => Vec::new(),
        Err(d) => d
            .iter()
            .map(|d| {
                let file = d.file.display().to_string();
                let under = d.loc.map_or_else(String::new, |l| {
                    let line = crate::flowfile::diagnostic::line_of(sources[file.as_str()], l.line)
                        .unwrap_or("");
                    let text: String = line.chars().skip(l.col as usize - 1).take(d.len).collect();
                    format!("{l} [{text}]")
                });
                format!("{file}:{under} {}", d.message)
            })
            .collect(),
    }
}

/// Runs every case (a flow's steps, or a whole flow when it starts with `id:`), then fails
/// listing every case whose diagnostics differ.
fn cases(cases: &[(&str, &[&str])]) {
    let mut failures = Vec::new();
    for (src, expected) in cases {
        let got = if src.starts_with("id:") {
            one(src)
        } else {
            steps(src)
        };
        if got != *expected {
            failures.push(format!(
                "case {src:?}\n  expected {expected:?}\n  got      {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn one(src: &str) -> Vec<String> {
    messages(&[("a.yaml", src)])
}

const HEAD: &str = "id: a\ntitle: A\nuser: requester\nsteps:\n";

fn steps(s: &str) -> Vec<String> {
    one(&format!("{HEAD}{s}"))
}

#[test]
fn a_good_flow_checks_clean() {
    let suite = check_flows(
        files(&[
            (
                "a.yaml",
                "id: create-ticket\ntitle: Create\nuser: requester\nsteps:\n  - goto: /d/{{ vars.portal_slug }}\n  - fill: { label: Subject, value: \"x ({{ run.id }})\" }\n  - capture: { var: ticket, from: url, regex: '/tickets/(\\d+)' }\n  - expect: { test_id: n, has_text: \"#{{ ticket }}\" }\n",
            ),
            ("b.yaml", "id: view\ntitle: View\nuser: head\nneeds: [create-ticket]\nsteps:\n  - goto: /tickets/{{ ticket }}\n"),
        ]),
        &env(),
    )
    .unwrap();
    assert_eq!(suite.flows.len(), 2);
    assert_eq!(
        suite.flows[0].captures["ticket"],
        CaptureInfo {
            secret: false,
            loc: Loc { line: 7, col: 21 }
        }
    );
    assert_eq!(
        suite.get("view").unwrap().needs_closure,
        BTreeSet::from(["create-ticket".to_string()])
    );
}

#[test]
fn ids_titles_users() {
    cases(&[
        ("id: Bad Id\ntitle: ' '\nuser: requestr\nsteps:\n  - goto: /\n", &[
            "a.yaml:1:5 [Bad Id] invalid flow id `Bad Id`",
            "a.yaml:2:8 [' '] empty title",
            "a.yaml:3:7 [requestr] unknown user `requestr` in `user`",
        ]),
        ("id: a\ntitle: A\nsteps:\n  - goto: /\n", &["a.yaml:4:5 [goto] this flow has browser steps but no `user`"]),
        ("id: a\ntitle: A\nsteps:\n  - goto: { url: /, as: head }\n  - click: { css: x, as: headd }\n", &[
            "a.yaml:5:26 [headd] unknown user `headd` in `as`",
        ]),
        ("id: a\ntitle: A\nsteps:\n  - goto: { url: /, as: hed }\n", &["a.yaml:4:25 [hed] unknown user `hed` in `as`"]),
        ("id: a\ntitle: A\nsteps: []\n", &["a.yaml:3:1 [steps] a flow needs at least one step"]),
    ]);
}

#[test]
fn duplicate_ids_and_needs() {
    let m = messages(&[
        (
            "a.yaml",
            "id: x\ntitle: A\nneeds: [y, nope, x, y]\nsteps:\n  - http: { url: /a }\n",
        ),
        ("b.yaml", "id: x\ntitle: B\nsteps:\n  - http: { url: /a }\n"),
        ("c.yaml", "id: y\ntitle: C\nsteps:\n  - http: { url: /a }\n"),
    ]);
    assert_eq!(
        m,
        [
            "a.yaml:3:12 [nope] unknown flow `nope` in `needs`",
            "a.yaml:3:18 [x] flow `x` needs itself",
            "a.yaml:3:21 [y] `y` is listed twice in `needs`",
            "b.yaml:1:5 [x] duplicate flow id `x`",
        ]
    );
}

#[test]
fn cycles_are_reported_once() {
    let m = messages(&[
        (
            "a.yaml",
            "id: a\ntitle: A\nneeds: [b]\nsteps:\n  - http: { url: /a }\n",
        ),
        (
            "b.yaml",
            "id: b\ntitle: B\nneeds: [c]\nsteps:\n  - http: { url: /a }\n",
        ),
        (
            "c.yaml",
            "id: c\ntitle: C\nneeds: [a, d]\nsteps:\n  - http: { url: /a }\n",
        ),
        ("d.yaml", "id: d\ntitle: D\nsteps:\n  - http: { url: /a }\n"),
    ]);
    assert_eq!(m, ["a.yaml:3:9 [b] needs cycle: a → b → c → a"]);
    let m = messages(&[
        (
            "a.yaml",
            "id: a\ntitle: A\nneeds: [b]\nsteps:\n  - http: { url: /a }\n",
        ),
        (
            "b.yaml",
            "id: b\ntitle: B\nneeds: [a]\nsteps:\n  - http: { url: /a }\n",
        ),
        (
            "c.yaml",
            "id: c\ntitle: C\nneeds: [d]\nsteps:\n  - http: { url: /a }\n",
        ),
        (
            "d.yaml",
            "id: d\ntitle: D\nneeds: [c]\nsteps:\n  - http: { url: /a }\n",
        ),
    ]);
    assert_eq!(
        m,
        [
            "a.yaml:3:9 [b] needs cycle: a → b → a",
            "c.yaml:3:9 [d] needs cycle: c → d → c"
        ]
    );
}

#[test]
fn locators() {
    cases(&[
        ("  - click: {}\n", &["a.yaml:5:5 [click] `click` needs a locator"]),
        ("  - click: { role: button, text: Save }\n", &[
            "a.yaml:5:28 [text] a locator takes one of role, label, text, placeholder, test_id, css, xpath; this one has `role` and `text`",
        ]),
        ("  - click: { text: Save, name: x }\n", &["a.yaml:5:32 [x] `name` refines `role`, and this locator has no `role`"]),
        ("  - click: { css: a, exact: true }\n", &[
            "a.yaml:5:22 [exact] `exact` applies to name, text, label or placeholder, and this locator has none",
        ]),
        ("  - click: { role: buton }\n", &["a.yaml:5:20 [buton] unknown ARIA role `buton`"]),
        ("  - click: { role: button, name: '/(x/' }\n", &["a.yaml:5:36 [(] invalid regex `/(x/`: unclosed group"]),
        ("  - click: { css: '' }\n", &["a.yaml:5:19 [''] `css` is empty"]),
        ("  - click: { css: a, within: { name: x } }\n", &["a.yaml:5:30 [{] `within` needs a locator"]),
        ("  - press: { key: Enter }\n  - press: { key: 'Control+' }\n", &["a.yaml:6:19 ['Control+'] invalid key `Control+`: a chord has an empty part (`Control+`): keys are joined by single `+`"]),
    ]);
}

#[test]
fn expects_and_waits() {
    cases(&[
        ("  - expect: { url: /a, css: b }\n", &["a.yaml:5:15 [url] `url` checks the page and cannot be combined with a locator"]),
        ("  - expect: { has_text: a }\n", &["a.yaml:5:15 [has_text] `has_text` needs a locator"]),
        // With `count`, `has_text` narrows what is counted; `has_value` checks one element.
        ("  - expect: { css: a, has_text: b, count: 2 }\n", &[]),
        ("  - expect: { css: a, has_value: b, count: 2 }\n", &[
            "a.yaml:5:23 [has_value] an `expect` checks one thing; this one has `count` and `has_value`",
        ]),
        ("  - expect: { css: a, has_value: '' }\n", &[]),
        ("  - expect: {}\n", &["a.yaml:5:5 [expect] `expect` needs a locator, `url`, `title` or `value`"]),
        ("  - expect: { url: '/(a/' }\n", &["a.yaml:5:22 [(] invalid regex `/(a/`: unclosed group"]),
        ("  - expect: { url: /tickets/new }\n", &[]),
        ("  - wait_for: { url: /a, css: b }\n", &["a.yaml:5:17 [url] `wait_for` waits for an element or a `url`, not both"]),
        ("  - wait_for: { url: /a, state: hidden }\n", &["a.yaml:5:26 [state] `state` applies to an element, not to `url`"]),
        ("  - wait_for: { timeout: 5 }\n", &[
            "a.yaml:5:5 [wait_for] `wait_for` needs a locator or `url`",
            "a.yaml:5:26 [5] missing unit in duration `5`",
        ]),
    ]);
}

#[test]
fn captures() {
    cases(&[
        ("  - capture: { var: Ticket, from: url }\n", &["a.yaml:5:21 [Ticket] invalid variable name `Ticket`"]),
        ("  - capture: { var: user, from: url }\n", &["a.yaml:5:21 [user] `user` is a reserved variable name"]),
        ("  - capture: { var: t, from: url, css: a }\n", &[
            "a.yaml:5:24 [from] `from: url` reads the page, and this capture also has a locator",
        ]),
        ("  - capture: { var: t }\n", &["a.yaml:5:5 [capture] `capture` needs `from: url`, `from: title` or a locator"]),
        ("  - capture: { var: t, from: url, regex: 'a(b' }\n", &["a.yaml:5:44 [(] invalid regex in `regex`: unclosed group"]),
    ]);
}

#[test]
fn a_capture_sent_as_a_credential_is_secret_from_its_capture_on() {
    let suite = check_flows(
        files(&[
            (
                "a.yaml",
                "id: a\ntitle: A\nuser: requester\nsteps:\n  - http: { url: /config, capture: { csrf: /csrf, channel: /channel, api: /api, n: /n } }\n  - http: { url: /x, headers: { Accept: '{{ channel }}' } }\n",
            ),
            (
                "b.yaml",
                "id: b\ntitle: B\nuser: requester\nneeds: [a]\nsteps:\n  - subscribe: { id: s, pusher: { url: /app/k, channel: '{{ channel }}', auth_headers: { X-CSRF-TOKEN: '{{ csrf }}' } } }\n  - http: { url: /y, method: POST, headers: { Authorization: 'Bearer {{ api }}' }, form: { page: '{{ n }}' } }\n",
            ),
        ]),
        &env(),
    )
    .unwrap();
    let secret = |name: &str| suite.flows[0].captures[name].secret;
    assert!(secret("csrf"), "sent in a subscribe's auth_headers");
    assert!(secret("api"), "sent in an Authorization header");
    assert!(!secret("channel"), "sent in a header that is no credential");
    assert!(!secret("n"), "sent in a form field that is no credential");
}

#[test]
fn credential_fields_and_group_params_mark_captures_secret() {
    for name in [
        "X-CSRF-TOKEN",
        "X-XSRF-Token",
        "Authorization",
        "Cookie",
        "X-Api-Key",
        "_token",
        "password",
    ] {
        assert!(super::flow::http::is_credential_name(name), "{name}");
    }
    for name in [
        "Accept",
        "Content-Type",
        "X-Request-Id",
        "page",
        "author",
        "footprint",
    ] {
        assert!(!super::flow::http::is_credential_name(name), "{name}");
    }
    let suite = check_flows(
        files(&[(
            "a.yaml",
            "id: a\ntitle: A\nuser: requester\nsteps:\n  - http: { url: /config, capture: { t: /t, u: /u } }\n  - http: { url: /x, method: POST, json: { data: { _token: '{{ t }}', name: '{{ u }}' } } }\n",
        )]),
        &env(),
    )
    .unwrap();
    assert!(suite.flows[0].captures["t"].secret, "a `_token` JSON field");
    assert!(!suite.flows[0].captures["u"].secret);
}

#[test]
fn a_users_password_needs_its_env_var() {
    let mut e = env();
    e.passwords
        .insert("requester".into(), ("REQUESTER_PASSWORD".into(), true));
    e.passwords
        .insert("head".into(), ("HEAD_PASSWORD".into(), false));
    let check = |src: &str| match check_flows(files(&[("a.yaml", src)]), &e) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(|d| d.message.clone()).collect::<Vec<_>>(),
    };
    assert_eq!(
        check("id: a\ntitle: A\nuser: requester\nsteps:\n  - fill: { label: P, value: '{{ user.password }}' }\n  - fill: { label: Q, value: '{{ users.requester.password }}' }\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("id: a\ntitle: A\nuser: head\nsteps:\n  - fill: { label: P, value: '{{ user.password }}' }\n  - fill: { label: Q, value: '{{ users.collaborator.password }}' }\n"),
        vec![
            "`user.password`: the password of user `head` is not set".to_string(),
            "`users.collaborator.password`: user `collaborator` has no password configured".to_string(),
        ]
    );
}

#[test]
fn http_mail_realtime() {
    cases(&[
        ("  - http: { method: get, url: /a, json: {a: 1}, body: x }\n", &[
            "a.yaml:5:21 [get] unknown HTTP method `get`",
            "a.yaml:5:49 [body] a request has one body; this one has `json` and `body`",
        ]),
        ("  - http: { url: /a, capture: { n: unread }, expect: { json: { unread: 1 } } }\n", &[
            "a.yaml:5:36 [unread] `unread` is not a JSON pointer",
            "a.yaml:5:64 [unread] `unread` is not a JSON pointer",
        ]),
        ("  - http: { url: /a, as: nobody }\n", &["a.yaml:5:26 [nobody] unknown user `nobody` in `as`"]),
        ("  - mail: { to: someone, after_step: 1 }\n", &[
            "a.yaml:5:17 [someone] `someone` is neither a configured user nor an e-mail address",
            "a.yaml:5:38 [1] `after_step: 1` must name an earlier step; this is step 1",
        ]),
        ("  - goto: /\n  - mail: { to: a@b.c, after_step: 1, otp: { var: code } }\n  - fill: { label: C, value: '{{ code }}' }\n", &[]),
        ("  - subscribe: { id: bell, sse: /e }\n  - subscribe: { id: bell, sse: /e }\n", &[
            "a.yaml:6:22 [bell] subscription id `bell` is already used by step 1",
        ]),
        ("  - subscribe: { id: bell }\n", &["a.yaml:5:5 [subscribe] `subscribe` needs `pusher` or `sse`"]),
        ("  - expect_event: { on: bel, event: x }\n  - subscribe: { id: bel, sse: /e }\n", &[
            "a.yaml:5:25 [bel] no subscription `bel` before this step",
        ]),
    ]);
}

#[test]
fn variables() {
    cases(&[
        ("  - goto: /{{ nope }}\n", &["a.yaml:5:15 [nope] unknown variable `nope`"]),
        ("  - goto: /{{ user.emial }}\n", &["a.yaml:5:15 [user.emial] unknown variable `user.emial`"]),
        ("  - goto: /{{ users.hed.email }}\n", &["a.yaml:5:15 [users.hed.email] unknown user `hed` in `users.hed.email`"]),
        ("  - goto: /{{ vars.slug }}\n", &["a.yaml:5:15 [vars.slug] unknown variable `vars.slug`"]),
        ("  - goto: /{{ secret }}\n", &["a.yaml:5:15 [secret] no secret configured; set STAGING_E2E_SECRET"]),
        ("  - goto: /{{ env.NOPE }}{{ env.HOME_SET }}\n", &["a.yaml:5:15 [env.NOPE] environment variable `NOPE` is not set"]),
        ("  - goto: /{{ t }}\n  - capture: { var: t, from: url }\n", &["a.yaml:5:15 [t] `t` is captured by step 2, after this one"]),
        ("  - goto: '/{{ x'\n", &["a.yaml:5:13 [{{] unclosed `{{`"]),
        ("  - http: { url: /a, json: { a: [\"{{ nope }}\"] } }\n", &["a.yaml:5:38 [nope] unknown variable `nope`"]),
        ("  - fill:\n      label: x\n      value: |\n        line one\n        {{ nope }}\n", &["a.yaml:9:12 [nope] unknown variable `nope`"]),
        ("id: a\ntitle: A\nsteps:\n  - http: { url: '/{{ user.email }}' }\n", &[
            "a.yaml:4:23 [user.email] `user.email` needs the flow's `user`, and this flow has none",
        ]),
    ]);
    let two = [
        (
            "a.yaml",
            "id: a\ntitle: A\nsteps:\n  - http: { url: /a, capture: { ticket: /id } }\n",
        ),
        (
            "b.yaml",
            "id: b\ntitle: B\nsteps:\n  - http: { url: '/t/{{ ticket }}' }\n",
        ),
    ];
    assert_eq!(
        messages(&two),
        ["b.yaml:4:25 [ticket] unknown variable `ticket`"]
    );
    let d = check_flows(files(&two), &env()).unwrap_err();
    assert_eq!(
        d.0[0].hint.as_deref(),
        Some("`ticket` is captured by flow `a`: add `a` to this flow's `needs`")
    );
}

#[test]
fn durations_and_uploads() {
    cases(&[
        (
            "id: a\ntitle: A\nstep_timeout: 10 s\nsteps:\n  - http: { url: /a, timeout: 1.5s }\n",
            &[
                "a.yaml:3:15 [10 s] unexpected space in duration `10 s`",
                "a.yaml:5:31 [1.5s] fractions are not supported in duration `1.5s`",
            ],
        ),
        (
            "  - upload: { label: F, files: [nope.pdf] }\n",
            &["a.yaml:5:33 [nope.pdf] upload file `nope.pdf` not found"],
        ),
        (
            "  - screenshot: Big Shot\n  - screenshot: a\n  - screenshot: { name: a }\n",
            &[
                "a.yaml:5:17 [Big Shot] invalid screenshot name `Big Shot`",
                "a.yaml:7:20 [a] screenshot name `a` is already used by step 2",
            ],
        ),
    ]);
}

/// `load_suite` reads the directory's visible `*.yaml` / `*.yml` files only: not a hidden
/// one, not `flows.toml` or other files beside the flows; a file that is not UTF-8 is called
/// that. (A directory named like a flow is an error: `faults::odd_entries_named_like_flows_…`.)
#[test]
fn load_suite_reads_only_visible_yaml_files() {
    let dir = tempfile::tempdir().unwrap();
    let flow = |id: &str| format!("id: {id}\ntitle: T\nsteps:\n  - http: {{ url: /up }}\n");
    std::fs::write(dir.path().join("a.yaml"), flow("a")).unwrap();
    std::fs::write(dir.path().join("b.yml"), flow("b")).unwrap();
    std::fs::write(dir.path().join(".hidden.yaml"), flow("hidden")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), flow("notes")).unwrap();
    std::fs::write(dir.path().join("flows.toml"), "not: [a flow").unwrap();
    let suite = load_suite(dir.path(), &env()).unwrap();
    let ids: Vec<&str> = suite.flows.iter().map(CheckedFlow::id).collect();
    assert_eq!(ids, ["a", "b"]);

    std::fs::write(dir.path().join("c.yaml"), b"id: c\ntitle: \xff\n").unwrap();
    let err = load_suite(dir.path(), &env())
        .unwrap_err()
        .render_all_from_disk(false);
    assert!(
        err.contains("cannot read the flow file: not UTF-8 text"),
        "{err}"
    );
}

#[test]
fn unreadable_flow_files_and_directories_are_named() {
    use crate::test_access::{chmod, without_root_file_access};
    let dir = tempfile::tempdir().unwrap();
    let flow = dir.path().join("a.yaml");
    std::fs::write(&flow, "id: a\ntitle: T\nsteps:\n  - http: { url: /up }\n").unwrap();
    chmod(&flow, 0o000);
    let err = without_root_file_access(|| load_suite(dir.path(), &env()))
        .unwrap_err()
        .render_all_from_disk(false);
    chmod(&flow, 0o644);
    assert!(
        err.contains("cannot read the flow file: permission denied\n"),
        "{err}"
    );
    // Listed (read) but not searchable (no x): each entry's metadata is refused.
    chmod(dir.path(), 0o444);
    let err = without_root_file_access(|| load_suite(dir.path(), &env()))
        .unwrap_err()
        .render_all_from_disk(false);
    assert!(
        err.contains("error: cannot read this flow file: permission denied\n"),
        "{err}"
    );
    chmod(dir.path(), 0o000);
    let err = without_root_file_access(|| load_suite(dir.path(), &env()))
        .unwrap_err()
        .render_all_from_disk(false);
    chmod(dir.path(), 0o755);
    assert!(
        err.contains("cannot read the flow directory: permission denied\n"),
        "{err}"
    );
}

/// `load_suite` over files written in a new directory: each diagnostic as `file: message`.
fn loaded(files: &[(&str, &str)], prepare: impl FnOnce(&Path)) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    prepare(dir.path());
    match load_suite(dir.path(), &env()) {
        Ok(suite) => suite.flows.iter().map(|f| f.id().to_string()).collect(),
        Err(d) => d
            .iter()
            .map(|d| {
                let name = d.file.file_name().unwrap_or_default().to_string_lossy();
                format!("{name}: {}", d.message)
            })
            .collect(),
    }
}

#[test]
fn flow_entries_that_are_not_regular_files_are_errors_not_skipped() {
    let flow = "id: a\ntitle: T\nsteps:\n  - http: { url: /up }\n";
    let elsewhere = tempfile::tempdir().unwrap();
    let linked = elsewhere.path().join("b.yaml");
    std::fs::write(&linked, flow.replace("id: a", "id: b")).unwrap();
    let got = loaded(&[("a.yaml", flow)], |dir| {
        std::fs::create_dir(dir.join("sub.yaml")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("gone.YML")).unwrap();
        std::os::unix::fs::symlink(&linked, dir.join("link.yaml")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(dir.join("pipe.yml"))
            .status()
            .expect("mkfifo");
        assert!(fifo.success());
    });
    assert_eq!(
        got,
        [
            "gone.YML: this flow file is a symlink to nothing (not found)",
            "pipe.yml: this flow file is not a regular file (a FIFO, socket or device)",
            "sub.yaml: this flow file is a directory",
        ]
    );
    // A link to a flow is that flow.
    let got = loaded(&[("a.yaml", flow)], |dir| {
        std::os::unix::fs::symlink(&linked, dir.join("link.yaml")).unwrap();
    });
    assert_eq!(got, ["a", "b"]);
    // A directory alone is still named, not "no flow files here".
    let got = loaded(&[], |dir| {
        std::fs::create_dir(dir.join("sub.yaml")).unwrap()
    });
    assert_eq!(got, ["sub.yaml: this flow file is a directory"]);
    let got = loaded(&[("notes.txt", "x")], |_| {});
    assert!(
        got.len() == 1 && got[0].ends_with(": no flow files here"),
        "{got:?}"
    );
}

#[test]
fn a_flow_that_does_not_parse_gives_its_dependants_no_follow_on_errors() {
    let broken = "id: 'broken' # a comment\ntitle: T\nsteps:\n  - goto: /a\n    click: { css: x }\n  - capture: { var: ticket_from_broken, from: url }\n";
    let needs = "id: needs\ntitle: T\nuser: requester\nneeds: [broken]\nsteps:\n  - goto: /t/{{ ticket_from_broken }}/{{ ticket_nowhere }}\n";
    let got = loaded(&[("a.yaml", broken), ("b.yaml", needs)], |_| {});
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("a.yaml: "), "{got:?}");
    assert_eq!(got[1], "b.yaml: unknown variable `ticket_nowhere`");
    // Without a guessable id, the need is unknown.
    let got = loaded(
        &[
            ("a.yaml", &broken.replace("'broken'", "Broken One")),
            ("b.yaml", needs),
        ],
        |_| {},
    );
    assert_eq!(
        got[1], "b.yaml: unknown flow `broken` in `needs`",
        "{got:?}"
    );
}

/// `file:line:col message | hint` of each diagnostic of these flows.
fn hinted(list: &[(&str, &str)]) -> Vec<String> {
    match check_flows(files(list), &env()) {
        Ok(_) => Vec::new(),
        Err(d) => d
            .iter()
            .map(|d| {
                let at = d.loc.map_or_else(String::new, |l| l.to_string());
                let hint = d.hint.as_deref().unwrap_or("-");
                format!("{}:{at} {} | {hint}", d.file.display(), d.message)
            })
            .collect(),
    }
}

#[test]
fn unknown_needs_are_hinted_with_the_other_flows_and_silence_variable_checks() {
    let flow = |id: &str, needs: &str, url: &str| {
        format!("id: {id}\ntitle: T\nneeds: [{needs}]\nsteps:\n  - http: {{ url: '{url}' }}\n")
    };
    assert_eq!(
        hinted(&[("a.yaml", &flow("a", "nope", "/a"))]),
        ["a.yaml:3:9 unknown flow `nope` in `needs` | no other flow is defined in this suite"]
    );
    // `a` needs `b`, whose own need is unknown: what `a` uses may come from there.
    assert_eq!(
        hinted(&[
            ("a.yaml", &flow("a", "b", "/{{ x }}")),
            ("b.yaml", &flow("b", "nope", "/{{ y }}")),
        ]),
        ["b.yaml:3:9 unknown flow `nope` in `needs` | flows are: a"]
    );
}

#[test]
fn a_window_starts_at_a_mark_this_flow_sees() {
    let flow = |id: &str, needs: &str, steps: &str| {
        format!("id: {id}\ntitle: T\nuser: requester\nneeds: [{needs}]\nsteps:\n{steps}")
    };
    let mail = "  - mail: { to: head, since: opened }\n";
    let mark = "  - http: { url: /a, mark: opened }\n";
    assert_eq!(
        hinted(&[("a.yaml", &flow("a", "", &format!("{mail}{mark}")))]),
        ["a.yaml:6:30 no mark `opened` before this step | step 2 sets `opened`, after this one (step 1): a window starts at an earlier moment"]
    );
    assert_eq!(
        hinted(&[("a.yaml", &flow("a", "", &format!("{mark}{mail}")))]),
        Vec::<String>::new()
    );
    // A step's own mark is not before it.
    assert_eq!(
        hinted(&[(
            "a.yaml",
            &flow("a", "", "  - mail: { to: head, since: opened, mark: opened }\n")
        )]),
        ["a.yaml:6:30 no mark `opened` before this step | step 1 sets `opened`, after this one (step 1): a window starts at an earlier moment"]
    );
    assert_eq!(
        hinted(&[
            ("a.yaml", &flow("a", "", mail)),
            ("b.yaml", &flow("b", "", mark)),
        ]),
        ["a.yaml:6:30 no mark `opened` before this step | flow `b` sets it, but `a` does not need `b`: add `needs: [b]` (a mark is seen by the flow that sets it and the flows that need that one)"]
    );
    assert_eq!(
        hinted(&[
            ("a.yaml", &flow("a", "b", mail)),
            ("b.yaml", &flow("b", "", mark))
        ]),
        Vec::<String>::new()
    );
    assert_eq!(
        hinted(&[("a.yaml", &flow("a", "", &mail.replace("opened", "opend"))), ("b.yaml", &flow("b", "", mark))]),
        ["a.yaml:6:30 no mark `opend` before this step | did you mean `opened`? set it with `mark: opend` on the step that triggers the mail"]
    );
}

#[test]
fn a_variable_captured_twice_is_secret_if_either_capture_is() {
    let suite = check_flows(
        files(&[(
            "a.yaml",
            "id: a\ntitle: T\nuser: requester\nsteps:\n  - capture: { var: t, from: url }\n  - mail: { to: head, otp: { var: t } }\n",
        )]),
        &env(),
    )
    .unwrap_or_else(|d| panic!("{}", d.render_all_from_disk(false)));
    assert!(suite.flows[0].captures["t"].secret);
}
