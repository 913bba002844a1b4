//! The default path, as users take it: no `--skip-web-server`, so the runner starts the demo
//! helpdesk binary itself from `[web_server]` on a port it picks, with a secret it generates
//! (`generate_secret = true`), runs the health pre-check and a flow against it, and stops it —
//! after a pass, a failure, the run timeout and Ctrl-C. Each time no process of the run is left
//! (its session is walked in /proc; the runner is started as a session leader) and the generated
//! secret is in no file the run wrote nor on the terminal.
//!
//! The test learns where the run is, and the secret, without timing: the flow's third step is an
//! HTTP request to a server of the test that answers only when the test says so; while it waits,
//! the test reads the processes of the run (the positive control: the helpdesk, chromedriver and
//! Chromium must be found there, or "none left" would prove nothing) and the helpdesk's
//! environment, where the runner put the secret.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::support::*;

/// A test-side gate: `GET /hold` answers 200 once the test opens it (never, if it does not).
struct Hold {
    url: String,
    open: Arc<watch::Sender<bool>>,
}

impl Hold {
    async fn start() -> Hold {
        let open = Arc::new(watch::channel(false).0);
        let gate = open.clone();
        let app = Router::new().route(
            "/hold",
            get(move || {
                let mut rx = gate.subscribe();
                async move {
                    let _ = rx.wait_for(|open| *open).await;
                    "released"
                }
            }),
        );
        let url = serve(app).await;
        Hold { url, open }
    }

    fn release(&self) {
        self.open.send_replace(true);
    }
}

/// How the run under test ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    Pass,
    Fail,
    RunTimeout,
    CtrlC,
}

fn suite(hold: &Hold, ending: Ending) -> tempfile::TempDir {
    let last = match ending {
        Ending::Fail => "  - expect: { text: This text is not on the page, timeout: 1s }\n",
        _ => "  - expect: { role: button, name: Send code }\n",
    };
    // The secret is typed into the page and sent as a header, so it reaches the DOM
    // snapshots, the frames' page and the HTTP exchange of the trace (`--trace on`).
    let flow = format!(
        r#"id: signs-in
title: The login page of the helpdesk the runner started
user: requester
steps:
  - goto: /login
  - http:
      url: /staging/e2e/health
      headers: {{ X-Staging-E2E-Secret: "{{{{ secret }}}}" }}
      expect: {{ status: 200 }}
  - http: {{ url: "{}/hold", timeout: 10m }}
  - fill: {{ label: Email, value: "{{{{ secret }}}}@example.test" }}
{last}"#,
        hold.url
    );
    let dir = temp_suite(&[("signs-in.yaml", &flow)]);
    add_config(
        dir.path(),
        &format!(
            r#"
[web_server]
command = "{} --listen 127.0.0.1:{{port}} --staging"
ready_path = "/up"
startup_timeout = "30s"
env = {{ STAGING_E2E_ENABLED = "true", STAGING_E2E_SECRET = "{{secret}}" }}
"#,
            helpdesk_binary().display()
        ),
    );
    // temp_suite's [target] takes the secret from the environment; here the runner makes it.
    let config = dir.path().join("flows/flows.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace("[target]\n", "[target]\ngenerate_secret = true\n"),
    )
    .expect("write config");
    dir
}

/// One run of the default path ending as `ending`; checks everything this module promises.
async fn run(ending: Ending) {
    let hold = Hold::start().await;
    let suite = suite(&hold, ending);
    let artifacts = suite.path().join("artifacts");
    let mut cmd = FlowsCmd::new()
        .cwd(suite.path())
        .own_session()
        .env_remove("STAGING_E2E_SECRET")
        .args([
            "run",
            "--all",
            "--trace",
            "on",
            "--reporter",
            "list,junit,html",
        ]);
    if ending == Ending::RunTimeout {
        cmd = cmd.args(["--run-timeout", "25s"]);
    }
    let mut child = cmd
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn flows");
    let pid = child.id().expect("pid");
    let stdout = tokio::spawn(read_all(child.stdout.take().expect("stdout")));
    let stderr = tokio::spawn(read_all(child.stderr.take().expect("stderr")));

    // The flow waits at step 2 (the hold): look at the run's processes now.
    step_started(&artifacts, "signs-in", 2, Duration::from_secs(120)).await;
    let running = processes_in_session(pid);
    let show = |ps: &[Proc]| {
        ps.iter()
            .map(|p| {
                format!(
                    "{} (parent {}, group {}) {}",
                    p.pid, p.ppid, p.pgid, p.cmdline
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        running.iter().any(|p| p.pid == pid),
        "the runner leads its own session:\n{}",
        show(&running)
    );
    // Nothing the runner started left its session (by calling setsid): else "no process of
    // the session is left" would miss it.
    let escaped: Vec<Proc> = descendants(pid)
        .into_iter()
        .filter(|d| !running.iter().any(|p| p.pid == d.pid))
        .collect();
    assert!(
        escaped.is_empty(),
        "left the run's session:\n{}",
        show(&escaped)
    );
    let helpdesk_bin = helpdesk_binary().display().to_string();
    let server = running
        .iter()
        .find(|p| p.cmdline.starts_with(&helpdesk_bin))
        .unwrap_or_else(|| panic!("the runner started the helpdesk:\n{}", show(&running)));
    assert!(
        running.iter().any(|p| p.cmdline.contains("chromedriver")),
        "chromedriver is in the run's session:\n{}",
        show(&running)
    );
    assert!(
        running
            .iter()
            .any(|p| p.cmdline.contains("chrom") && p.cmdline.contains("--user-data-dir=")),
        "Chromium is in the run's session:\n{}",
        show(&running)
    );
    // The secret the runner generated and gave the web server (and nobody else).
    let environ = std::fs::read(format!("/proc/{}/environ", server.pid)).expect("environ");
    let secret = environ
        .split(|b| *b == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok())
        .find_map(|kv| kv.strip_prefix("STAGING_E2E_SECRET="))
        .expect("the web server got STAGING_E2E_SECRET")
        .to_owned();
    assert!(
        secret.len() >= 16 && secret != SECRET,
        "a generated secret: {secret:?}"
    );

    match ending {
        Ending::Pass | Ending::Fail => hold.release(),
        Ending::RunTimeout => {}
        Ending::CtrlC => {
            let status = std::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
        }
    }
    let exit = tokio::time::timeout(Duration::from_secs(120), child.wait())
        .await
        .expect("flows exits")
        .expect("wait");
    let out = Output {
        code: exit.code().unwrap_or(-1),
        stdout: stdout.await.expect("stdout"),
        stderr: stderr.await.expect("stderr"),
    };

    // Nothing of the run is left: not the helpdesk, chromedriver, Chromium or a helper of one.
    let left = processes_in_session(pid);
    assert!(
        left.is_empty(),
        "{ending:?}: processes left behind:\n{}\n{}",
        show(&left),
        out.all()
    );

    let (code, outcome, status) = match ending {
        Ending::Pass => (0, "completed", "passed"),
        Ending::Fail => (1, "completed", "failed"),
        Ending::RunTimeout => (1, "timed_out", "timed_out"),
        Ending::CtrlC => (130, "interrupted", "not_run"),
    };
    assert_eq!(out.code, code, "{ending:?}\n{}", out.all());
    let run = run_dir(&artifacts);
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["outcome"], outcome, "{report:#}");
    assert_eq!(flow(&report, "signs-in")["status"], status, "{report:#}");
    assert!(
        !std::fs::read_to_string(run.join("logs/web-server.log"))
            .expect("the web server's log is kept")
            .is_empty(),
        "the helpdesk wrote its log"
    );

    // The generated secret is in no file of the suite dir (the run's artifacts, and the
    // runner's own state under .flows/) and not on the terminal.
    let leaks = any_file_contains(suite.path(), &secret);
    assert!(leaks.is_empty(), "{ending:?}: the secret is in {leaks:#?}");
    assert!(
        !out.all().contains(&secret),
        "{ending:?}: the secret is on the terminal\n{}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_server_started_by_the_runner_is_stopped_after_a_pass() {
    run(Ending::Pass).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_server_started_by_the_runner_is_stopped_after_a_failure() {
    run(Ending::Fail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_server_started_by_the_runner_is_stopped_at_the_run_timeout() {
    run(Ending::RunTimeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_server_started_by_the_runner_is_stopped_on_ctrl_c() {
    run(Ending::CtrlC).await;
}
