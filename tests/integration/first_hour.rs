//! The first hour with a new app: `flows init` → `flows check` → `flows doctor` → `flows run`,
//! against the demo helpdesk and real Chromium; `install-deps --dry-run`, completions, the man
//! page and `--version`.

use std::path::Path;

use crate::support::*;

/// A suite that opens the helpdesk's home page, with the test secret from the env; `browser`
/// is laid under `[browser]`.
fn doctor_suite(browser: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("flows")).expect("mkdir");
    std::fs::write(
        dir.path().join("flows/flows.toml"),
        format!(
            r#"
[target]
secret_env = "STAGING_E2E_SECRET"
[users.requester]
email = "requester@helpdesk.test"
[browser]
{browser}
[artifacts]
dir = "{}"
"#,
            dir.path().join("artifacts").display()
        ),
    )
    .expect("write config");
    std::fs::write(
        dir.path().join("flows/home.yaml"),
        "id: home\ntitle: Home\nuser: requester\nsteps:\n  - goto: /\n  - expect: { title: Helpdesk }\n",
    )
    .expect("write flow");
    dir
}

/// The line of `stdout` for check `name` (`✔ name …`, `✘ name …` or `- name …`).
fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| {
            let rest = l.get(l.find(' ').map_or(0, |i| i + 1)..).unwrap_or("");
            rest.starts_with(&format!("{name} "))
        })
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{stdout}"))
}

/// Every check passes against the demo helpdesk with the right secret (exit 0), each on its own
/// ✔ line; the config line is `flows check`'s verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_every_check_against_the_demo_helpdesk() {
    let app = helpdesk().await;
    let url = app.url();
    let suite = doctor_suite("");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["doctor", "--base-url", url.as_str()])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    for name in [
        "config",
        "browser",
        "chromedriver",
        "headless start",
        "target",
        "health",
        "secret",
        "mail source",
        "disk",
    ] {
        assert!(line(&out.stdout, name).starts_with('✔'), "{}", out.all());
    }
    assert!(
        line(&out.stdout, "chromedriver").contains("matches the browser"),
        "{}",
        out.all()
    );
    assert!(
        line(&out.stdout, "secret").contains("accepted"),
        "{}",
        out.all()
    );
    assert!(out.stdout.contains("checks passed"), "{}", out.all());
    // The secret itself is never printed.
    assert!(!out.all().contains(SECRET), "{}", out.all());
}

/// A wrong secret: the guarded endpoint answers 403 and doctor says the app rejected it and
/// what to set; a header the app does not read: 401, explained as such. Exit 3 (the target).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_explains_a_wrong_secret_and_a_wrong_secret_header() {
    let app = helpdesk().await;
    let url = app.url();
    let suite = doctor_suite("");
    let wrong = "wrong-secret-Hq7Lp2Vx9Rk4Tz8M";
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("STAGING_E2E_SECRET", wrong)
        .args(["doctor", "--base-url", url.as_str()])
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    let secret = line(&out.stdout, "secret");
    assert!(secret.starts_with('✘'), "{}", out.all());
    assert!(
        secret.contains("403") && secret.contains("rejected the secret"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains("fix: set the secret to the value"),
        "{}",
        out.all()
    );
    assert!(
        line(&out.stdout, "mail source").starts_with('✘'),
        "{}",
        out.all()
    );
    assert!(
        line(&out.stdout, "target").starts_with('✔'),
        "{}",
        out.all()
    );
    assert!(
        !out.all().contains(wrong),
        "the secret was printed:\n{}",
        out.all()
    );

    let config = std::fs::read_to_string(suite.path().join("flows/flows.toml")).expect("read");
    std::fs::write(
        suite.path().join("flows/flows.toml"),
        config.replace(
            "secret_env = \"STAGING_E2E_SECRET\"",
            "secret_env = \"STAGING_E2E_SECRET\"\nsecret_header = \"X-Some-Other-Header\"",
        ),
    )
    .expect("write");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["doctor", "--base-url", url.as_str()])
        .output()
        .await;
    assert_eq!(out.code, 3, "{}", out.all());
    let secret = line(&out.stdout, "secret");
    assert!(
        secret.starts_with('✘') && secret.contains("401") && secret.contains("saw no secret"),
        "{}",
        out.all()
    );
    assert!(out.stdout.contains("target.secret_header"), "{}", out.all());
}

/// A chromedriver whose major is not the browser's (a fake one printing ChromeDriver 99), put
/// first on PATH or named by `browser.chromedriver`: doctor names both versions, skips the
/// headless start, and exits 4 (infrastructure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_a_chromedriver_that_does_not_match_the_browser() {
    let app = helpdesk().await;
    let url = app.url();
    let fake = tempfile::tempdir().expect("tempdir");
    let driver = fake.path().join("chromedriver");
    std::fs::write(
        &driver,
        "#!/bin/sh\necho 'ChromeDriver 99.0.4844.51 (fake-for-a-test)'\n",
    )
    .expect("write fake driver");
    make_executable(&driver);

    let by_config = doctor_suite(&format!("chromedriver = \"{}\"", driver.display()));
    let path = format!(
        "{}:{}",
        fake.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let by_path = doctor_suite("");
    for (suite, path) in [(&by_config, None), (&by_path, Some(path.as_str()))] {
        let mut cmd =
            FlowsCmd::new()
                .cwd(suite.path())
                .args(["doctor", "--base-url", url.as_str()]);
        if let Some(p) = path {
            cmd = cmd.env("PATH", p);
        }
        let out = cmd.output().await;
        assert_eq!(out.code, 4, "{}", out.all());
        let browser_major = line(&out.stdout, "browser")
            .split_whitespace()
            .find_map(|w| w.split_once('.').and_then(|(m, _)| m.parse::<u32>().ok()))
            .expect("the browser line names its version");
        let driver_line = line(&out.stdout, "chromedriver");
        assert!(driver_line.starts_with('✘'), "{}", out.all());
        assert!(
            driver_line.contains(&format!(
                "chromedriver 99 only drives Chrome/Chromium 99, the browser is {browser_major}"
            )),
            "{}",
            out.all()
        );
        assert!(
            line(&out.stdout, "headless start").starts_with('-'),
            "{}",
            out.all()
        );
        // The rest is still checked: the target is fine.
        assert!(
            line(&out.stdout, "target").starts_with('✔'),
            "{}",
            out.all()
        );
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).expect("stat").permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}

/// `flows init` in an empty folder: `flows check` accepts the suite, its example flow passes
/// against the demo helpdesk in real Chromium, the .gitignore has the entries; a second init
/// is refused (exit 2) and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_scaffolds_a_suite_that_checks_and_passes_and_never_overwrites() {
    let app = helpdesk().await;
    let url = app.url();
    let project = tempfile::tempdir().expect("tempdir");
    let out = FlowsCmd::new()
        .cwd(project.path())
        .args([
            "init",
            "--base-url",
            url.as_str(),
            "--user",
            "requester=requester@helpdesk.test",
        ])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let config = std::fs::read_to_string(project.path().join("flows/flows.toml")).expect("config");
    assert!(
        config.contains(&format!("base_url = \"{url}\"")),
        "{config}"
    );
    assert!(config.contains("[users.requester]"), "{config}");
    let flow = std::fs::read_to_string(project.path().join("flows/home-page.yaml")).expect("flow");
    assert!(
        flow.starts_with("# yaml-language-server: $schema=./flow.schema.json"),
        "{flow}"
    );
    // The title was read from the app's page (the helpdesk's sign-in page).
    assert!(flow.contains("Demo Helpdesk"), "{flow}");
    let schema = read_json(&project.path().join("flows/flow.schema.json"));
    assert!(schema.get("$schema").is_some() || schema.get("properties").is_some());
    let ignore = std::fs::read_to_string(project.path().join(".gitignore")).expect(".gitignore");
    for entry in [".flows/", ".env", "artifacts/"] {
        assert!(ignore.lines().any(|l| l == entry), "{entry} in:\n{ignore}");
    }

    let check = FlowsCmd::new()
        .cwd(project.path())
        .args(["check"])
        .output()
        .await;
    assert_eq!(check.code, 0, "{}", check.all());

    let run = FlowsCmd::new()
        .cwd(project.path())
        .args(["run", "--all"])
        .output()
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("1 passed, 0 failed"), "{}", run.all());
    assert!(
        project
            .path()
            .join("artifacts/latest/staging-run-report.json")
            .is_file(),
        "the run's report is under the scaffold's artifacts dir"
    );

    let again = FlowsCmd::new()
        .cwd(project.path())
        .args(["init", "--base-url", "http://127.0.0.1:9"])
        .output()
        .await;
    assert_eq!(again.code, 2, "{}", again.all());
    assert!(again.stderr.contains("already exists"), "{}", again.all());
    assert_eq!(
        std::fs::read_to_string(project.path().join("flows/flows.toml")).expect("config"),
        config,
        "the second init changed flows.toml"
    );
}

/// `install-deps --dry-run` names the exact apt command (run as root here, printed with sudo
/// otherwise) and runs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_deps_dry_run_names_the_apt_command() {
    let out = FlowsCmd::new()
        .args(["install-deps", "--dry-run", "--firefox"])
        .output()
        .await;
    assert!(
        out.stdout
            .contains("apt-get install -y chromium chromium-driver firefox-esr"),
        "{}",
        out.all()
    );
    assert!(out.stdout.contains("apt-get update"), "{}", out.all());
    assert!(
        out.stderr.contains("cargo install geckodriver"),
        "{}",
        out.all()
    );
}

/// `--version` names the report schema and the browsers CI tests with; completions and the man
/// page come out of the binary and name every subcommand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_completions_and_man_page_come_from_the_binary() {
    let out = FlowsCmd::new().args(["--version"]).output().await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains(&format!("report schema: {}", flows::report::SCHEMA_VERSION)),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains(flows::cli::TESTED_BROWSERS),
        "{}",
        out.all()
    );
    let bash = FlowsCmd::new().args(["completions", "bash"]).output().await;
    assert_eq!(bash.code, 0, "{}", bash.all());
    let man = FlowsCmd::new().args(["man"]).output().await;
    assert_eq!(man.code, 0, "{}", man.all());
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        man.all()
    );
    // Every subcommand, in both (the list is the CLI's own, so a new one is covered too).
    for sub in flows::cli::subcommand_names() {
        assert!(bash.stdout.contains(&sub), "bash completion lacks {sub}");
        assert!(
            man.stdout.contains(&sub.replace('-', "\\-")),
            "man page lacks {sub}"
        );
    }
}

/// On a terminal (a pseudo-terminal from `script`) a run draws the progress line, and the
/// reporter's lines stay whole: each PASS line is a line of its own once the bar's redraws
/// (`\r`, erase-line) are taken out. With CI set there is no progress line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_line_is_drawn_on_a_terminal_without_garbling_the_lines() {
    require_on_path("script", "apt-get install -y util-linux");
    let app = helpdesk().await;
    let url = app.url();
    let suite = doctor_suite("");
    std::fs::write(
        suite.path().join("flows/second.yaml"),
        "id: second\ntitle: Second\nuser: requester\nsteps:\n  - goto: /\n  - expect: { title: Helpdesk }\n",
    )
    .expect("write flow");
    let cmd = FlowsCmd::new().cwd(suite.path()).env_remove("CI").args([
        "run",
        "--all",
        "--base-url",
        url.as_str(),
    ]);
    let out = cmd
        .wrapped(
            "script",
            &["-qfec".to_owned(), cmd.shell_line(), "/dev/null".to_owned()],
        )
        .output()
        .await
        .expect("script runs");
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{all}");
    assert!(all.contains("/2 flows]"), "no progress line:\n{all:?}");
    let ansi = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("regex");
    let plain = ansi.replace_all(&all, "");
    let segments: Vec<&str> = plain.split(['\r', '\n']).collect();
    for flow in ["home", "second"] {
        assert!(
            segments
                .iter()
                .any(|s| s.starts_with(&format!("  PASS  {flow}")) && !s.contains("flows]")),
            "the PASS line of {flow} is not whole:\n{segments:#?}"
        );
    }

    let ci = FlowsCmd::new().cwd(suite.path()).env("CI", "true").args([
        "run",
        "--all",
        "--base-url",
        url.as_str(),
    ]);
    let out = ci
        .wrapped(
            "script",
            &["-qfec".to_owned(), ci.shell_line(), "/dev/null".to_owned()],
        )
        .output()
        .await
        .expect("script runs");
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{all}");
    assert!(
        !all.contains("flows]"),
        "a progress line under CI:\n{all:?}"
    );
}
