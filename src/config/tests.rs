//! flows.toml + env + CLI → `Config`, end to end through `Config::from_str`.

use std::collections::BTreeMap;
use std::path::Path;

use super::resolve::clean_path;
use super::*;

const FILE: &str = r#"
[target]
base_url = "http://file.example"
generate_secret = true

[users.requester]
email = "file@x.test"
email_env = "PLAYWRIGHT_STAGING_EMAIL"

[vars]
portal_slug = { value = "it-support", env = "PLAYWRIGHT_STAGING_PORTAL_SLUG" }

[web_server]
command = "helpdesk --listen 127.0.0.1:{port}"

[profiles.staging]
web_server = { enabled = false }
target = { generate_secret = false }
"#;

fn load(env: &[(&str, &str)], cli: &CliOverrides) -> Result<Config, ConfigError> {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_str(
        Path::new("flows/flows.toml"),
        FILE,
        &|k| env.get(k).cloned(),
        cli,
    )
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    Config::from_str(
        Path::new("flows/flows.toml"),
        text,
        &|_| None,
        &CliOverrides::default(),
    )
}

#[test]
fn a_user_without_a_key_is_refused() {
    let err =
        load_text("[target]\nbase_url = \"http://x.test\"\n[users.\"\"]\nemail = \"a@x.test\"\n")
            .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("users.\"\""), "{text}");
    assert!(text.contains("[users.requester]"), "{text}");
}

#[test]
fn an_output_dir_holding_the_suite_is_refused() {
    for dir in [".", "./", "../flows"] {
        let err = load_text(&format!(
            "[target]\nbase_url = \"http://x.test\"\n[artifacts]\ndir = \"{dir}\"\n"
        ))
        .expect_err(dir);
        let text = err.to_string();
        assert!(text.contains("artifacts.dir"), "{dir}: {text}");
        assert!(text.contains("holds the suite"), "{dir}: {text}");
    }
    let ok = load_text("[target]\nbase_url = \"http://x.test\"\n[artifacts]\ndir = \"../out\"\n");
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn precedence_is_cli_then_env_then_file() {
    let c = load(&[], &CliOverrides::default()).expect("config");
    assert_eq!(c.base_url.as_deref(), Some("http://file.example"));
    assert_eq!(c.users["requester"].email, "file@x.test");
    assert_eq!(c.vars["portal_slug"], "it-support");
    assert_eq!(c.profile, "local");
    assert!(c.web_server.is_some());
    assert_eq!(c.secret.as_ref().map(|s| s.value.len()), Some(32));

    let env = [
        ("PLAYWRIGHT_BASE_URL", "http://env.example/"),
        ("PLAYWRIGHT_STAGING_EMAIL", "env@x.test"),
        ("PLAYWRIGHT_STAGING_PORTAL_SLUG", "facilities"),
        ("STAGING_E2E_SECRET", "from-env-secret"),
    ];
    let c = load(&env, &CliOverrides::default()).expect("config");
    assert_eq!(c.base_url.as_deref(), Some("http://env.example"));
    assert_eq!(c.users["requester"].email, "env@x.test");
    assert_eq!(c.vars["portal_slug"], "facilities");
    assert_eq!(
        c.secret.as_ref().map(|s| s.value.as_str()),
        Some("from-env-secret")
    );

    let cli = CliOverrides {
        base_url: Some("http://cli.example".into()),
        ..Default::default()
    };
    let c = load(&env, &cli).expect("config");
    assert_eq!(c.base_url.as_deref(), Some("http://cli.example"));
}

#[test]
fn staging_profile_from_env_disables_web_server() {
    let c = load(&[("PLAYWRIGHT_STAGING", "1")], &CliOverrides::default()).expect("config");
    assert_eq!(c.profile, "staging");
    assert!(c.web_server.is_none());
    assert!(c.secret.is_none());
    let c = load(
        &[("PLAYWRIGHT_SKIP_WEBSERVER", "1")],
        &CliOverrides::default(),
    )
    .expect("config");
    assert!(c.web_server.is_none());
}

/// Every yes/no variable reads the same spellings; `no` and `off` used to select the staging
/// profile and skip the web server (anything non-empty but `0`/`false` counted as yes).
#[test]
fn yes_no_env_vars_read_no_and_off_as_no_and_refuse_other_words() {
    for no in ["no", "off", "0", "false", "NO", ""] {
        let c = load(
            &[
                ("PLAYWRIGHT_STAGING", no),
                ("PLAYWRIGHT_SKIP_WEBSERVER", no),
            ],
            &CliOverrides::default(),
        )
        .expect("config");
        assert_eq!(c.profile, "local", "{no:?}");
        assert!(c.web_server.is_some(), "{no:?}");
    }
    for yes in ["yes", "on", "true", "1"] {
        let c = load(&[("PLAYWRIGHT_STAGING", yes)], &CliOverrides::default()).expect("config");
        assert_eq!(c.profile, "staging", "{yes:?}");
        let c = load(
            &[("PLAYWRIGHT_SKIP_WEBSERVER", yes)],
            &CliOverrides::default(),
        )
        .expect("config");
        assert!(c.web_server.is_none(), "{yes:?}");
    }
    for name in [
        "PLAYWRIGHT_STAGING",
        "PLAYWRIGHT_SKIP_WEBSERVER",
        "STAGING_ACCEPT_INVALID_CERTS",
    ] {
        let err = load(&[(name, "staging")], &CliOverrides::default()).expect_err(name);
        assert_eq!(
            err.to_string(),
            format!(
                "env {name}: `staging` is not a yes or no; use 1 or 0 (true/false, yes/no, on/off)"
            )
        );
    }
}

#[test]
fn extra_health_endpoints_need_a_name_and_a_whole_url() {
    let with = |extra: &str| {
        Config::from_str(
            Path::new("flows/flows.toml"),
            &format!("{FILE}\n[health.extra]\n{extra}\n"),
            &|_| None,
            &CliOverrides::default(),
        )
    };
    let c = with("mailcatcher = \"http://127.0.0.1:1080/healthz\"").expect("config");
    assert_eq!(
        c.health.extra,
        [(
            "mailcatcher".to_string(),
            "http://127.0.0.1:1080/healthz".to_string()
        )]
    );
    let err = with("mailcatcher = \"/healthz\"").expect_err("a path");
    // Located at the value (see `config_errors_point_at_their_place_in_flows_toml`).
    assert_eq!(
        err.to_string(),
        "flows/flows.toml:21:15: `health.extra.mailcatcher`: `/healthz` is not an absolute http(s) URL; write the whole URL, e.g. `http://127.0.0.1:1080/healthz`"
    );
    let err = with("\"mail catcher\" = \"http://x/h\"").expect_err("a bad name");
    assert!(
        err.to_string()
            .contains(": `health.extra.mail catcher`: name the endpoint"),
        "{err}"
    );
}

#[test]
fn unknown_profile_names_the_known_ones() {
    let cli = CliOverrides {
        profile: Some("prod".into()),
        ..Default::default()
    };
    let err = load(&[], &cli).expect_err("unknown profile");
    assert_eq!(
        err.to_string(),
        "flows/flows.toml: unknown profile `prod`; profiles in this file: staging"
    );
}

#[test]
fn paths_are_shown_as_written() {
    assert_eq!(
        clean_path(Path::new("flows/../artifacts")),
        PathBuf::from("artifacts")
    );
    assert_eq!(clean_path(Path::new("./flows/.")), PathBuf::from("flows"));
    assert_eq!(clean_path(Path::new("../x")), PathBuf::from("../x"));
    assert_eq!(clean_path(Path::new("flows/..")), PathBuf::from("."));
}

#[test]
fn state_dir_defaults_beside_artifacts_and_never_inside_them() {
    let c = load(&[], &CliOverrides::default()).expect("config");
    assert_eq!(c.state_dir, PathBuf::from(".flows"));
    assert!(c.sessions.save);
    assert_eq!(c.sessions.check_url, None);
    let cli = CliOverrides {
        output_dir: Some(PathBuf::from(".")),
        ..Default::default()
    };
    let err = load(&[], &cli).expect_err("state inside output");
    assert!(err.to_string().contains("state.dir"), "{err}");
    let text = format!("{FILE}\n[sessions]\ncheck_url = \"/api/me\"\n");
    let c = Config::from_str(
        Path::new("flows/flows.toml"),
        &text,
        &|_| None,
        &CliOverrides::default(),
    )
    .expect("config");
    assert_eq!(c.sessions.check_url.as_deref(), Some("/api/me"));
}

fn load_with(extra: &str, env: &[(&str, &str)], cli: &CliOverrides) -> Result<Config, ConfigError> {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_str(
        Path::new("flows/flows.toml"),
        &format!("{FILE}\n{extra}"),
        &|k| env.get(k).cloned(),
        cli,
    )
}

#[test]
fn run_timeout_and_max_failures_from_file_and_cli() {
    let c = load(&[], &CliOverrides::default()).expect("config");
    assert_eq!(c.timeouts.run, None);
    assert_eq!(c.max_failures, None);
    let text = "[timeouts]\nrun = \"30m\"\n";
    let c = load_with(text, &[], &CliOverrides::default()).expect("config");
    assert_eq!(c.timeouts.run, Some(Duration::from_secs(1800)));
    let cli = CliOverrides {
        run_timeout: Some(Duration::from_secs(60)),
        max_failures: Some(3),
        ..Default::default()
    };
    let c = load_with(text, &[], &cli).expect("config");
    assert_eq!(c.timeouts.run, Some(Duration::from_secs(60)));
    assert_eq!(c.max_failures, Some(3));
    // The profile's table is merged over the file's, so [suite] is written there.
    let c = load_with(
        "[profiles.local.suite]\nmax_failures = 2\n",
        &[],
        &CliOverrides::default(),
    );
    assert_eq!(c.expect("config").max_failures, Some(2));
    let zero = CliOverrides {
        max_failures: Some(0),
        ..Default::default()
    };
    assert_eq!(load(&[], &zero).expect("config").max_failures, None);
    let err = load_with(
        "[timeouts]\nrun = \"half an hour\"\n",
        &[],
        &CliOverrides::default(),
    )
    .expect_err("bad duration");
    assert!(err.to_string().contains(": `timeouts.run`: "), "{err}");
}

#[test]
fn basic_auth_from_file_and_env_with_the_password_only_from_env() {
    assert!(load(&[], &CliOverrides::default())
        .expect("config")
        .basic_auth
        .is_none());
    // Both env names alone turn it on.
    let env = [
        ("STAGING_BASIC_AUTH_USER", "env-user"),
        ("STAGING_BASIC_AUTH_PASSWORD", "env-password-1"),
    ];
    let c = load(&env, &CliOverrides::default()).expect("config");
    let auth = c.basic_auth.expect("basic auth");
    assert_eq!(auth.username, "env-user");
    assert_eq!(auth.password.value, "env-password-1");
    assert!(!format!("{:?}", auth).contains("env-password-1"));
    // The file names the user and the password's env var; the user's env var wins.
    let text = "[target.basic_auth]\nusername = \"file-user\"\npassword_env = \"LAB_PW\"\n";
    let c =
        load_with(text, &[("LAB_PW", "pw-from-env")], &CliOverrides::default()).expect("config");
    let auth = c.basic_auth.expect("basic auth");
    assert_eq!(auth.username, "file-user");
    assert_eq!(auth.password.origin, "env LAB_PW");
    let c = load_with(
        text,
        &[("LAB_PW", "pw"), ("STAGING_BASIC_AUTH_USER", "env-user")],
        &CliOverrides::default(),
    )
    .expect("config");
    assert_eq!(c.basic_auth.expect("auth").username, "env-user");
    // Configured without its password: a config error naming the env var, except for
    // commands that run nothing.
    let err = load_with(text, &[], &CliOverrides::default()).expect_err("no password");
    assert!(err.to_string().contains("LAB_PW"), "{err}");
    assert!(
        err.to_string().contains(
            "(in the environment or the .env file beside flows.toml; never in flows.toml)"
        ),
        "{err}"
    );
    let checking = CliOverrides {
        checking_only: true,
        ..Default::default()
    };
    assert!(load_with(text, &[], &checking)
        .expect("config")
        .basic_auth
        .is_none());
    let err = load(
        &[("STAGING_BASIC_AUTH_PASSWORD", "pw")],
        &CliOverrides::default(),
    )
    .expect_err("no user");
    assert!(err.to_string().contains("STAGING_BASIC_AUTH_USER"), "{err}");
}

#[test]
fn certificates_viewport_and_locale() {
    let c = load(&[], &CliOverrides::default()).expect("config");
    assert!(!c.accept_invalid_certs && !c.browser.accept_insecure_certs);
    assert_eq!(c.browser.window, (1280, 900));
    let text = "[profiles.local.target]\naccept_invalid_certs = true\n[browser]\nviewport = \"390x844\"\nlocale = \"de-DE\"\nuser_agent = \"ua/1\"\n";
    let c = load_with(text, &[], &CliOverrides::default()).expect("config");
    assert!(c.accept_invalid_certs && c.browser.accept_insecure_certs);
    assert_eq!(
        c.browser.viewport.map(|v| v.to_string()).as_deref(),
        Some("390x844")
    );
    assert_eq!(c.browser.window, (390, 844));
    assert_eq!(c.browser.locale.as_deref(), Some("de-DE"));
    assert_eq!(c.browser.user_agent.as_deref(), Some("ua/1"));
    let c = load_with(
        text,
        &[("STAGING_ACCEPT_INVALID_CERTS", "0")],
        &CliOverrides::default(),
    )
    .expect("config");
    assert!(!c.accept_invalid_certs, "the env var wins over the file");
    let c = load(
        &[("STAGING_ACCEPT_INVALID_CERTS", "1")],
        &CliOverrides::default(),
    )
    .expect("config");
    assert!(c.accept_invalid_certs);
    let err = load(
        &[("STAGING_ACCEPT_INVALID_CERTS", "maybe")],
        &CliOverrides::default(),
    )
    .expect_err("not a flag");
    assert!(
        err.to_string().contains("STAGING_ACCEPT_INVALID_CERTS"),
        "{err}"
    );
    let err = load_with(
        "[browser]\nviewport = \"big\"\n",
        &[],
        &CliOverrides::default(),
    )
    .expect_err("bad viewport");
    assert!(
        err.to_string()
            .contains(": `browser.viewport`: `big` is not a viewport"),
        "{err}"
    );
    let err = load_with(
        "[browser]\nlocale = \"de_DE\"\n",
        &[],
        &CliOverrides::default(),
    )
    .expect_err("bad locale");
    assert!(err.to_string().contains(": `browser.locale`: "), "{err}");
}

#[test]
fn dot_env_values_feed_the_config_and_the_real_env_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("flows.toml");
    std::fs::write(&path, FILE).expect("write");
    std::fs::write(
        dir.path().join(".env"),
        "PLAYWRIGHT_STAGING_EMAIL=dotenv@x.test\nSTAGING_E2E_SECRET=dotenv-secret\n",
    )
    .expect("write");
    let c = Config::load(&path, &|_| None, &CliOverrides::default()).expect("config");
    assert_eq!(c.users["requester"].email, "dotenv@x.test");
    assert_eq!(
        c.secret.as_ref().map(|s| s.value.as_str()),
        Some("dotenv-secret")
    );
    assert!(c.env_file.is_some());
    let real = |k: &str| (k == "PLAYWRIGHT_STAGING_EMAIL").then(|| "real@x.test".to_owned());
    let c = Config::load(&path, &real, &CliOverrides::default()).expect("config");
    assert_eq!(c.users["requester"].email, "real@x.test");
    std::fs::write(dir.path().join(".env"), "A=1\nB C\n").expect("write");
    let err = Config::load(&path, &|_| None, &CliOverrides::default()).expect_err("bad line");
    assert!(err.to_string().contains(".env:2: "), "{err}");
}

#[test]
fn bad_base_url_says_what_to_write() {
    let err = load(
        &[("PLAYWRIGHT_BASE_URL", "staging.example.com")],
        &CliOverrides::default(),
    )
    .expect_err("bad url");
    assert!(err.to_string().contains("is not a URL"), "{err}");
}

#[test]
fn isolation_defaults_to_context_with_bidi_and_process_without() {
    let cli = CliOverrides::default();
    let c = load_with("", &[], &cli).expect("config");
    assert_eq!(c.browser.isolation, crate::config::Isolation::Context);
    let c = load_with("[browser]\nbidi = false\n", &[], &cli).expect("config");
    assert_eq!(c.browser.isolation, crate::config::Isolation::Process);
    let c = load_with("[browser]\nisolation = \"process\"\n", &[], &cli).expect("config");
    assert_eq!(c.browser.isolation, crate::config::Isolation::Process);
    let err = load_with("[browser]\nisolation = \"tab\"\n", &[], &cli).expect_err("bad isolation");
    assert!(
        err.to_string()
            .contains(": `browser.isolation`: unknown isolation `tab`; use `context`"),
        "{err}"
    );
    let err = load_with(
        "[browser]\nisolation = \"context\"\nbidi = false\n",
        &[],
        &cli,
    )
    .expect_err("context without bidi");
    assert!(
        err.to_string().contains("`context` needs WebDriver BiDi"),
        "{err}"
    );
}

#[test]
fn workers_from_file_and_cli_with_auto_as_the_core_count() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(
        load(&[], &CliOverrides::default()).expect("config").workers,
        1
    );
    let c = load_with("[suite]\nworkers = 3\n", &[], &CliOverrides::default());
    assert_eq!(c.expect("config").workers, 3);
    let c = load_with(
        "[suite]\nworkers = \"auto\"\n",
        &[],
        &CliOverrides::default(),
    );
    assert_eq!(c.expect("config").workers, cores);
    let cli = CliOverrides {
        workers: Some("2".parse().expect("a count")),
        ..Default::default()
    };
    let c = load_with("[suite]\nworkers = \"auto\"\n", &[], &cli);
    assert_eq!(c.expect("config").workers, 2);
    for bad in ["0", "-1", "\"many\""] {
        let err = load_with(
            &format!("[suite]\nworkers = {bad}\n"),
            &[],
            &CliOverrides::default(),
        )
        .expect_err("bad workers");
        assert!(err.to_string().contains("suite.workers"), "{err}");
        assert!(err.to_string().contains("not a number of workers"), "{err}");
    }
    assert!("0".parse::<crate::config::Workers>().is_err());
    assert_eq!(
        "AUTO".parse::<crate::config::Workers>(),
        Ok(crate::config::Workers::Auto)
    );
}
