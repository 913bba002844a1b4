//! `flows check` on small suites: one directory per case under `cases/check/`, each with one
//! problem (or, `good-suite`, none). The rendered errors are snapshots: what a user reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use flows::flowfile::check::{load_suite, CheckEnv};
use flows::flowfile::schema::schema_json;

const CASES: &str = "tests/integration/cases/check";

/// The configuration every case is checked against: three users, one var, a secret, and one
/// environment variable that is "set".
fn env() -> CheckEnv {
    let mut env = CheckEnv::new(["requester", "head", "collaborator"], ["portal_slug"]);
    env.has_secret = true;
    env.env_is_set = Box::new(|name| name == "PUSHER_KEY");
    env
}

fn case_dir(case: &str) -> PathBuf {
    Path::new(CASES).join(case)
}

/// Checks a case that must fail; returns its rendered errors with the case directory shown as
/// `flows/`, as a user running `flows check` in their repository sees it.
fn errors(case: &str) -> String {
    let dir = case_dir(case);
    match load_suite(&dir, &env()) {
        Ok(suite) => panic!("case {case} checked clean ({} flows)", suite.flows.len()),
        Err(diags) => {
            let prefix = format!("{}/", dir.display()).replace('\\', "/");
            diags.render_all_from_disk(false).replace(&prefix, "flows/")
        }
    }
}

macro_rules! error_cases {
    ($($test:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                insta::assert_snapshot!(stringify!($test), errors($case));
            }
        )*

        /// Every case directory has a test, and every test a directory.
        #[test]
        fn every_case_dir_is_tested() {
            let mut named: BTreeSet<&str> = [$($case),*].into_iter().collect();
            named.insert("good-suite");
            let on_disk: BTreeSet<String> = std::fs::read_dir(CASES)
                .expect("cases dir")
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            let on_disk: BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
            assert_eq!(named, on_disk);
        }
    };
}

error_cases! {
    check_yaml_syntax_error => "yaml-syntax-error",
    check_unknown_step => "unknown-step",
    check_unknown_field => "unknown-field",
    check_missing_field => "missing-field",
    check_unknown_user => "unknown-user",
    check_unknown_needs => "unknown-needs",
    check_needs_cycle => "needs-cycle",
    check_duplicate_id => "duplicate-id",
    check_two_locator_kinds => "two-locator-kinds",
    check_unknown_role => "unknown-role",
    check_bad_regex => "bad-regex",
    check_unknown_variable => "unknown-variable",
    check_template_syntax_error => "template-syntax-error",
    check_bad_duration => "bad-duration",
    check_unknown_subscription => "unknown-subscription",
    check_several_problems => "several-problems",
    check_group_errors => "group-errors",
    check_group_cycle => "group-cycle",
    check_each_errors => "each-errors",
    check_nested_locators_and_new_steps => "nested-locators",
    check_locator_filters_and_states => "locator-filters",
    check_value_comparisons => "value-compare",
    check_group_fan_out_is_bounded => "group-fan-out",
    check_group_depth_is_bounded => "group-depth",
    check_mail_options => "mail-options",
    check_mail_assertions => "mail-assertions",
    check_mail_marks => "mail-marks",
    check_press_keys_are_known => "bad-key",
    check_expect_screenshot => "expect-screenshot",
    check_contract_steps => "contract-steps",
}

#[test]
fn check_good_suite_is_clean() {
    let suite = match load_suite(&case_dir("good-suite"), &env()) {
        Ok(suite) => suite,
        Err(d) => panic!("{}", d.render_all_from_disk(false)),
    };
    let ids: Vec<&str> = suite.flows.iter().map(|f| f.id()).collect();
    assert_eq!(ids, ["otp-login", "create-ticket", "notifications"]);

    let login = suite.get("otp-login").expect("otp-login");
    assert!(login.captures["code"].secret, "mail codes are secrets");
    let create = suite.get("create-ticket").expect("create-ticket");
    assert!(!create.captures["ticket"].secret);
    let notify = suite.get("notifications").expect("notifications");
    assert_eq!(
        notify.needs_closure,
        BTreeSet::from(["create-ticket".to_string(), "otp-login".to_string()])
    );
    assert_eq!(notify.captures.keys().collect::<Vec<_>>(), ["me_id"]);
}

#[test]
fn check_errors_are_coloured_only_on_request() {
    let dir = case_dir("unknown-step");
    let diags = load_suite(&dir, &env()).expect_err("unknown step");
    assert!(!diags.render_all_from_disk(false).contains('\x1b'));
    assert!(diags
        .render_all_from_disk(true)
        .contains("\x1b[1;31merror\x1b[0m"));
}

#[test]
fn check_missing_directory() {
    let diags =
        load_suite(Path::new("tests/integration/cases/no-such-dir"), &env()).expect_err("no dir");
    assert_eq!(diags.len(), 1);
    assert_eq!(
        diags.0[0].message,
        "cannot read the flow directory: not found"
    );
}

#[test]
fn flow_schema() {
    insta::assert_snapshot!("flow_schema", schema_json());
}

#[test]
fn check_groups_and_rows_expand() {
    let dir = Path::new("tests/integration/cases/groups-and-rows");
    let suite = match load_suite(dir, &env()) {
        Ok(suite) => suite,
        Err(d) => panic!("{}", d.render_all_from_disk(false)),
    };
    let ids: Vec<&str> = suite.flows.iter().map(|f| f.id()).collect();
    assert_eq!(
        ids,
        [
            "login",
            "priorities[low]",
            "priorities[urgent]",
            "after-priorities[1]",
            "after-priorities[2]"
        ]
    );

    // `use` steps are replaced by the group's steps, nested groups included.
    let login = suite.get("login").expect("login");
    let kinds: Vec<&str> = login.steps.iter().map(|s| s.step.value.kind()).collect();
    assert_eq!(
        kinds,
        ["goto", "fill", "click", "mail", "fill", "click", "expect"]
    );
    let paths: Vec<String> = login
        .steps
        .iter()
        .map(|s| flows::flowfile::check::groups::GroupCall::path(&login.calls, s.call))
        .collect();
    assert_eq!(paths[0], "sign-in");
    assert_eq!(paths[4], "sign-in › enter-code");
    assert_eq!(paths[6], "");
    // The group's `after_step: 3` is its own third step, the click.
    assert_eq!(login.steps[3].after, Some(2));
    // A capture made in a group is the flow's, and a mail code stays secret.
    assert!(login.captures["code"].secret);
    // Params: the call's template, and a default (as literal text).
    let enter = &login.calls[1];
    assert_eq!(enter.parent, Some(0));
    assert_eq!(
        enter.params,
        [
            ("button".to_string(), "Sign in".to_string()),
            ("code".to_string(), "{{ code }}".to_string())
        ]
    );

    // Rows from a CSV file, named by their `name` column; others by their number.
    let low = suite.get("priorities[low]").expect("row low");
    let row = low.row.as_ref().expect("a row");
    assert_eq!(row.values["priority"], "Low");
    assert_eq!(low.ast.title.value, "Ticket priority [low]");
    // Needing a data-driven flow needs every row.
    let after = suite.get("after-priorities[2]").expect("row 2");
    let needs: Vec<&str> = after.ast.needs.iter().map(|n| n.value.as_str()).collect();
    assert_eq!(needs, ["priorities[low]", "priorities[urgent]"]);
    assert!(after.needs_closure.contains("login"));
    assert!(after.needs_closure.contains("priorities[urgent]"));
}

/// An `each:` file that is not a regular file (a FIFO would block, /dev/zero never ends) or is
/// over the configured size or row cap is a located error, found without reading it whole.
#[test]
fn check_each_files_are_regular_and_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flow = |id: &str, file: &str| {
        format!(
            "id: {id}\ntitle: Rows from {file}\nuser: requester\neach: {file}\nsteps:\n  - goto: /tickets?p={{{{ row.p }}}}\n"
        )
    };
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write("a-fifo.yaml", &flow("fifo", "rows.fifo"));
    write("b-zero.yaml", &flow("zero", "zero.csv"));
    write("c-folder.yaml", &flow("folder", "folder.csv"));
    write("d-rows.yaml", &flow("rows", "many-rows.csv"));
    write("e-bytes.yaml", &flow("bytes", "big.csv"));
    let fifo = std::process::Command::new("mkfifo")
        .arg(dir.path().join("rows.fifo"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.csv")).expect("symlink");
    std::fs::create_dir(dir.path().join("folder.csv")).expect("mkdir");
    write("many-rows.csv", "p\n1\n2\n3\n4\n");
    write("big.csv", &format!("p\n{}\n", "x".repeat(200)));
    let mut env = env();
    env.each_limits = flows::flowfile::check::EachLimits {
        max_bytes: 100,
        max_rows: 3,
    };
    let diags = load_suite(dir.path(), &env).expect_err("every flow is refused");
    let prefix = format!("{}/", dir.path().display());
    insta::assert_snapshot!(
        "check_each_files_are_regular_and_bounded",
        diags.render_all_from_disk(false).replace(&prefix, "flows/")
    );
}
