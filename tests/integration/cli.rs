//! The command line without a browser: usage errors, selection, infrastructure errors.

use std::path::Path;

use crate::support::*;

#[tokio::test]
async fn run_without_a_selection_says_how_to_choose() {
    let out = FlowsCmd::new().args(["run"]).output().await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("flows run --all"), "{}", out.all());
}

#[tokio::test]
async fn unknown_flow_id_suggests_the_close_one() {
    let out = FlowsCmd::new().args(["run", "create-tiket"]).output().await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("no flow with id `create-tiket`; did you mean `create-ticket`?"),
        "{}",
        out.all()
    );
}

#[tokio::test]
async fn missing_config_says_where_to_run_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = FlowsCmd::new()
        .cwd(dir.path())
        .args(["check"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("no suite config at flows/flows.toml"),
        "{}",
        out.all()
    );
}

#[tokio::test]
async fn check_and_list_cover_the_repository_suite() {
    let out = FlowsCmd::new().args(["check"]).output().await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.starts_with("ok: 14 flows"), "{}", out.all());
    let out = FlowsCmd::new().args(["list"]).output().await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout.lines().count(), 14, "{}", out.all());
    assert!(
        out.stdout.contains("close-ticket") && out.stdout.contains("[needs: status-update]"),
        "{}",
        out.all()
    );
}

#[tokio::test]
async fn a_bad_flow_stops_the_run_before_anything_starts() {
    let suite = temp_suite(&[(
        "bad.yaml",
        "id: bad\ntitle: Bad\nuser: requester\nsteps:\n  - clik: { role: button }\n",
    )]);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["run", "--all", "--base-url", "http://127.0.0.1:9"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("flows/bad.yaml:5:5"), "{}", out.all());
    assert!(out.stderr.contains("did you mean `click`"), "{}", out.all());
    assert!(
        !suite.path().join("artifacts").exists(),
        "nothing was started or written"
    );
}

#[tokio::test]
async fn staging_profile_without_a_base_url_is_a_config_error() {
    let out = FlowsCmd::new()
        .env("PLAYWRIGHT_STAGING", "1")
        .args(["run", "--all"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("PLAYWRIGHT_BASE_URL"), "{}", out.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_chromedriver_is_an_infrastructure_error() {
    let app = helpdesk().await;
    let suite = one_flow_suite();
    add_config(
        suite.path(),
        "\n[browser]\nchromedriver = \"/nonexistent/chromedriver\"\n",
    );
    let out = run_without_health_check(suite.path(), &app.url(), &[]).await;
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(
        out.stdout.contains("chromedriver not found"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout
            .contains("apt-get install -y chromium chromium-driver"),
        "the exact install command: {}",
        out.all()
    );
    app.shutdown().await;
}

/// A machine with chromedriver but no Chromium (PATH holds only chromedriver): the run stops
/// before any flow with the apt line, instead of failing flows with the driver's own words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_chromium_names_the_install_command() {
    let app = helpdesk().await;
    let suite = one_flow_suite();
    let bin = tempfile::tempdir().expect("tempdir");
    let driver = ["/usr/bin/chromedriver", "/usr/local/bin/chromedriver"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("chromedriver is installed (apt-get install -y chromium chromium-driver)");
    std::os::unix::fs::symlink(driver, bin.path().join("chromedriver")).expect("symlink");
    let path = bin.path().display().to_string();
    let out = run_without_health_check(suite.path(), &app.url(), &[("PATH", &path)]).await;
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(
        out.stdout.contains("no Chromium to drive")
            && out
                .stdout
                .contains("apt-get install -y chromium chromium-driver"),
        "{}",
        out.all()
    );
    assert!(
        !out.stdout.contains("1 failed"),
        "not a flow failure: {}",
        out.all()
    );
    assert!(
        out.stdout.contains("run aborted: no Chromium to drive"),
        "the closing line gives the reason: {}",
        out.all()
    );

    // A configured binary that does not exist is named.
    add_config(
        suite.path(),
        "\n[browser]\nbinary = \"/nonexistent/chromium\"\n",
    );
    let out = run_without_health_check(suite.path(), &app.url(), &[]).await;
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(
        out.stdout
            .contains("browser.binary `/nonexistent/chromium` does not exist"),
        "{}",
        out.all()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_web_server_that_cannot_start_is_an_infrastructure_error() {
    let suite = one_flow_suite();
    let cfg = suite.path().join("flows/flows.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(
        &cfg,
        format!("{text}\n[web_server]\ncommand = \"./no-such-server --port {{port}}\"\n"),
    )
    .expect("write");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args(["run", "--all"])
        .output()
        .await;
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(out.stdout.contains("no-such-server"), "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["outcome"], "aborted");
}

/// Under GitHub Actions the secret is masked in the job log before anything else is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_actions_masks_secrets_before_printing_anything() {
    let app = helpdesk().await;
    let suite = one_flow_suite();
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .env("GITHUB_ACTIONS", "true")
        .run_all(&app.url())
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let first = out.stdout.lines().next().unwrap_or_default();
    assert_eq!(first, format!("::add-mask::{SECRET}"), "{}", out.all());
    app.shutdown().await;
}

/// A suite of one browser flow (`goto /login` as the requester).
fn one_flow_suite() -> tempfile::TempDir {
    temp_suite(&[(
        "t.yaml",
        "id: t\ntitle: T\nuser: requester\nsteps:\n  - goto: /login\n",
    )])
}

/// `run --all --base-url URL --skip-health-check` in `suite`, with extra environment values.
pub(crate) async fn run_without_health_check(
    suite: &Path,
    base_url: &str,
    envs: &[(&str, &str)],
) -> Output {
    let mut cmd = FlowsCmd::new().cwd(suite);
    for (k, v) in envs {
        cmd = cmd.env(k, v);
    }
    cmd.run_all(base_url)
        .args(["--skip-health-check"])
        .output()
        .await
}

/// `flows check --browser firefox` warns, at the step, about a `drag` (HTML5 drag and drop
/// does not start on Firefox) and still exits 0; on Chromium (the lab's default) the same suite
/// checks clean, and `[browser] name = "firefox"` warns as the flag does.
#[tokio::test]
async fn check_warns_about_steps_a_browser_cannot_do() {
    let lab = ["check", "--config", "tests/lab/flows.toml"];
    let firefox = FlowsCmd::new()
        .args(lab)
        .args(["--browser", "firefox"])
        .output()
        .await;
    assert_eq!(firefox.code, 0, "{}", firefox.all());
    assert!(
        firefox.stdout.contains("; 2 warnings for firefox"),
        "{}",
        firefox.all()
    );
    insta::assert_snapshot!("check_warns_firefox_drag", firefox.stderr);

    let chromium = FlowsCmd::new().args(lab).output().await;
    assert_eq!(chromium.code, 0, "{}", chromium.all());
    assert!(!chromium.stderr.contains("warning"), "{}", chromium.all());
    assert!(!chromium.stdout.contains("warning"), "{}", chromium.all());

    let suite = temp_suite(&[(
        "drag.yaml",
        "id: drag\ntitle: drag\nuser: requester\nsteps:\n  - goto: /lab/drag-drop\n  \
         - drag: { text: Card A, to: { role: heading, name: Done } }\n",
    )]);
    let config = suite.path().join("flows/flows.toml");
    let toml = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{toml}\n[browser]\nname = \"firefox\"\n")).expect("write");
    let named = FlowsCmd::new()
        .args(["check", "--config", config.to_str().expect("utf-8")])
        .output()
        .await;
    assert_eq!(named.code, 0, "{}", named.all());
    assert!(
        named
            .stderr
            .contains("warning: `drag` may not work on firefox")
            && named.stderr.contains("drag.yaml:6:5"),
        "{}",
        named.all()
    );
}
