//! `--workers`: flows side by side on several workers (each its own chromedriver and Chromium),
//! against the demo helpdesk. What is asserted comes from the event log and the reports (which
//! worker ran a flow, what finished before what), never from timings.

use std::path::Path;
use std::time::Duration;

use crate::support::*;

const SIGN_IN: &str = "  - goto: /login
  - fill: { label: Email, value: \"{{ user.email }}\" }
  - click: { role: button, name: Send code }
  - expect: { role: heading, name: Enter your code }
  - mail: { to: USER, subject: Your sign-in code, otp: { var: code } }
  - fill: { label: Code, value: \"{{ code }}\" }
  - click: { role: button, name: Verify }
  - expect: { url: /dashboard }
";

/// The requester signs in and opens a ticket (its number captured); the head signs in beside
/// it; a flow as the head needs both: whichever worker runs it, one of its needs ran on the
/// other one. Beside them a chain whose head fails, and a flow that stands alone.
fn suite() -> tempfile::TempDir {
    let p1 = format!(
        "id: p1-requester-ticket\ntitle: Requester opens a ticket\nuser: requester\nsteps:\n{}{}",
        SIGN_IN.replace("USER", "requester"),
        "  - goto: /d/{{ vars.portal_slug }}
  - click: { role: link, name: New ticket }
  - fill: { label: Subject, value: \"Workers ticket ({{ run.id }})\" }
  - fill: { label: Description, value: Opened on one worker. }
  - click: { role: button, name: Create ticket }
  - expect: { url: '/\\/tickets\\/\\d+$/' }
  - capture: { var: ticket, from: url, regex: '/tickets/(\\d+)' }
"
    );
    let p2 = format!(
        "id: p2-head-signs-in\ntitle: Head signs in\nuser: head\nsteps:\n{}",
        SIGN_IN.replace("USER", "head")
    );
    let consumer = "id: q-head-opens-the-ticket
title: Head opens the requester's ticket
user: head
needs: [p1-requester-ticket, p2-head-signs-in]
steps:
  - goto: /tickets/{{ ticket }}
  - expect: { test_id: ticket-number, has_text: \"#{{ ticket }}\" }
  - expect: { role: heading, name: \"Workers ticket ({{ run.id }})\" }
";
    let fails = "id: r-fails
title: Fails
user: requester
steps:
  - goto: /login
  - expect: { role: heading, name: No such heading, timeout: 1s }
";
    let skipped = "id: s-needs-the-failure\ntitle: Needs the failure\nuser: requester\nneeds: [r-fails]\nsteps:\n  - goto: /login\n";
    let skipped_too = "id: t-needs-the-skipped\ntitle: Needs the skipped\nuser: head\nneeds: [s-needs-the-failure]\nsteps:\n  - goto: /login\n";
    let alone = "id: u-alone\ntitle: Stands alone\nsteps:\n  - http: { url: /up, expect: { status: 200 } }\n";
    temp_suite(&[
        ("p1.yaml", p1.as_str()),
        ("p2.yaml", p2.as_str()),
        ("q.yaml", consumer),
        ("r.yaml", fails),
        ("s.yaml", skipped),
        ("t.yaml", skipped_too),
        ("u.yaml", alone),
    ])
}

fn events(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event"))
        .collect()
}

/// Index in the event log of the first event of `kind` for `flow`.
fn at(events: &[serde_json::Value], kind: &str, flow: &str) -> usize {
    events
        .iter()
        .position(|e| e["kind"]["type"] == kind && e["kind"]["flow"] == flow)
        .unwrap_or_else(|| panic!("no {kind} for {flow}"))
}

fn worker_of(events: &[serde_json::Value], flow: &str) -> u64 {
    events[at(events, "flow_started", flow)]["kind"]["worker"]
        .as_u64()
        .unwrap_or_else(|| panic!("{flow} started without a worker"))
}

fn ids_and_statuses(report: &serde_json::Value) -> Vec<(String, String)> {
    report["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().expect("id").to_owned(),
                f["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

/// Under two workers: a flow starts only after every flow it needs finished (the event log's
/// order), a capture and a signed-in user reach a dependant across workers, a failed need skips
/// its chain with the reasons a serial run gives, and the reports list the flows in plan order
/// with the same flows, statuses and reasons as a serial run of the same suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_respect_needs_share_captures_and_sessions_and_report_in_plan_order() {
    let app = helpdesk().await;
    let suite = suite();
    let artifacts = suite.path().join("artifacts");
    // The two needs of q must run on different workers for this test to prove anything. Which
    // worker takes a flow depends on when each is ready: a worker whose browser starts late
    // (a loaded machine) may find both taken by the other. Up to three runs.
    let mut tries = 0;
    let (out, run, ev) = loop {
        tries += 1;
        let _ = std::fs::remove_dir_all(&artifacts);
        let out = FlowsCmd::new()
            .cwd(suite.path())
            .run_all(&app.url())
            .args(["--workers", "2", "--reporter", "list,junit"])
            .output()
            .await;
        assert_eq!(out.code, 1, "r-fails fails: {}", out.all());
        let run = run_dir(&artifacts);
        let ev = events(&run);
        let apart = worker_of(&ev, "p1-requester-ticket") != worker_of(&ev, "p2-head-signs-in");
        if apart {
            break (out, run, ev);
        }
        assert!(
            tries < 3,
            "three runs, and the needs of q ran on one worker each time:\n{}",
            out.all()
        );
    };
    for need in ["p1-requester-ticket", "p2-head-signs-in"] {
        assert!(
            at(&ev, "flow_finished", need) < at(&ev, "flow_started", "q-head-opens-the-ticket"),
            "q started before {need} finished"
        );
    }
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(
        flow(&report, "q-head-opens-the-ticket")["status"],
        "passed",
        "the ticket number and the head's session reached q: {}",
        out.all()
    );
    assert_eq!(flow(&report, "r-fails")["status"], "failed");
    let s = flow(&report, "s-needs-the-failure");
    assert_eq!(s["status"], "skipped");
    assert_eq!(s["reason"], "needs r-fails, which failed");
    let t = flow(&report, "t-needs-the-skipped");
    assert_eq!(t["status"], "skipped");
    assert_eq!(t["reason"], "needs s-needs-the-failure, which was skipped");
    assert!(at(&ev, "flow_finished", "r-fails") < at(&ev, "flow_finished", "s-needs-the-failure"));
    // Terminal lines say which worker ran the flow.
    assert!(out.stdout.contains("[w1] "), "{}", out.stdout);
    assert!(out.stdout.contains("[w2] "), "{}", out.stdout);
    let parallel = ids_and_statuses(&report);
    let junit = std::fs::read_to_string(run.join("junit.xml")).expect("junit");

    // The same suite, serially: the same flows in the same (plan) order, the same verdicts.
    std::fs::remove_dir_all(&artifacts).expect("clear artifacts");
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&app.url())
        .args(["--reporter", "list,junit"])
        .output()
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let serial_run = run_dir(&artifacts);
    let serial = read_json(&serial_run.join("staging-run-report.json"));
    assert_eq!(parallel, ids_and_statuses(&serial));
    assert!(!out.stdout.contains("[w1]"), "{}", out.stdout);
    let serial_junit = std::fs::read_to_string(serial_run.join("junit.xml")).expect("junit");
    let names = |xml: &str| -> Vec<String> {
        xml.split("<testcase ")
            .skip(1)
            .filter_map(|t| t.split("name=\"").nth(1))
            .filter_map(|t| t.split('"').next())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(names(&junit), names(&serial_junit));
    assert_eq!(names(&junit).len(), 7, "{junit}");
    app.shutdown().await;
}

/// `--max-failures 1` over two workers: after the first failure no flow is handed out; the one
/// already running on the other worker finishes; the rest are `not_run` with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_failures_holds_across_workers() {
    let app = helpdesk().await;
    let failing: Vec<(String, String)> = (1..=5)
        .map(|i| {
            (
                format!("f{i}.yaml"),
                format!(
                    "id: f{i}\ntitle: Fails {i}\nsteps:\n  - http: {{ url: /no-such-page-{i}, expect: {{ status: 200 }} }}\n"
                ),
            )
        })
        .collect();
    let suite = temp_suite(&failing);
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .run_all(&app.url())
        .args([
            "--skip-health-check",
            "--workers",
            "2",
            "--max-failures",
            "1",
        ])
        .output()
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let run = run_dir(&suite.path().join("artifacts"));
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["outcome"], "max_failures_reached");
    let statuses = ids_and_statuses(&report);
    let failed = statuses.iter().filter(|(_, s)| s == "failed").count();
    let not_run: Vec<_> = statuses.iter().filter(|(_, s)| s == "not_run").collect();
    // One failure stops the handing out; at most one other flow was running then.
    assert!((1..=2).contains(&failed), "{statuses:?}");
    assert_eq!(failed + not_run.len(), 5, "{statuses:?}");
    let started = events(&run)
        .iter()
        .filter(|e| e["kind"]["type"] == "flow_started")
        .count();
    assert_eq!(started, failed, "no flow started after the limit");
    for (id, _) in not_run {
        assert_eq!(
            flow(&report, id)["reason"],
            "stopped after 1 failure (--max-failures 1)"
        );
    }
    app.shutdown().await;
}

const WAITS: &str = "title: Waits for something that never appears
user: requester
steps:
  - goto: /login
  - expect: { text: This text never appears, timeout: 60s }
";

/// Ctrl-C while two workers each run a flow: exit 130, the report says interrupted with both
/// flows `not_run`, and no chromedriver or Chromium of either worker is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_every_worker_and_still_writes_the_report() {
    let app = helpdesk().await;
    let a = format!("id: waits-a\n{WAITS}");
    // Another user: one user's flows never run side by side.
    let b = format!(
        "id: waits-b\n{}",
        WAITS.replace("user: requester", "user: head")
    );
    let suite = temp_suite(&[("a.yaml", a.as_str()), ("b.yaml", b.as_str())]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().to_str().expect("utf-8").to_owned();
    let artifacts = suite.path().join("artifacts");
    let mut child = FlowsCmd::new()
        .cwd(suite.path())
        .env("TMPDIR", &marker)
        .run_all(&app.url())
        .args(["--skip-health-check", "--workers", "2"])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn flows");
    // Wait (observing the event log, bounded) until both flows run their second step.
    let started = std::time::Instant::now();
    loop {
        let log = std::fs::read_dir(&artifacts)
            .ok()
            .and_then(|mut d| {
                d.find_map(|e| e.ok().map(|e| e.path()).filter(|p| !p.ends_with("latest")))
            })
            .and_then(|run| std::fs::read_to_string(run.join("events.jsonl")).ok())
            .unwrap_or_default();
        let second_steps = log
            .lines()
            .filter(|l| l.contains(r#""type":"step_started""#) && l.contains(r#""index":1"#))
            .count();
        if second_steps == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the two flows never both reached their second step"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let suite_marker = suite.path().to_str().expect("utf-8").to_owned();
    let drivers = processes_mentioning(&suite_marker)
        .into_iter()
        .filter(|(_, cmd)| cmd.contains("chromedriver"))
        .count();
    assert_eq!(drivers, 2, "one chromedriver per worker");
    let pid = child.id().expect("pid");
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let stdout = read_all(child.stdout.take().expect("stdout")).await;
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("flows exits after Ctrl-C")
        .expect("wait");
    assert_eq!(exit.code(), Some(130), "{stdout}");
    let mut left = processes_mentioning(&marker);
    left.extend(processes_mentioning(&suite_marker));
    assert!(left.is_empty(), "processes left behind: {left:?}");
    let report = read_json(&run_dir(&artifacts).join("staging-run-report.json"));
    assert_eq!(report["outcome"], "interrupted");
    for id in ["waits-a", "waits-b"] {
        assert_eq!(flow(&report, id)["status"], "not_run");
    }
    app.shutdown().await;
}
