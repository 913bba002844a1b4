//! Reporters fed a synthetic but realistic event stream: the terminal lines, the JSON report,
//! JUnit, the GitHub summary and the event log, as files in a temp dir.
//!
//! The stream is what the executor would send for a small helpdesk run: a fixed-OTP login that
//! passes with its mail criterion UNVERIFIED, a magic-link login proven by a mail, a portal flow
//! that passes on its second attempt, a ticket flow that fails with a screenshot, a flow skipped
//! because of it, and a flow the run never started (Ctrl-C). Times are fixed, so the snapshots
//! only need the temp dir filtered out.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use flows::events::{
    Artifact, ArtifactKind, Criterion, EventSink, Evidence, FlowStatus, PlannedFlow, RunEvent,
    RunEventKind, RunOutcome, StepRecord, StepStatus, Totals, Verdict,
};
use flows::report::{
    build_reporters, parse_reporters, report_schema_json, LatencySummary, ReportOptions,
    ReporterKind, Reporters, StagingRunReport, CTRF_FILE, EVENT_LOG_FILE, JUNIT_FILE, REPORT_FILE,
};
use time::macros::datetime;

const RUN_ID: &str = "20260531-020000-ab12";

/// A writer the test can read back (the terminal, in production stdout).
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("screen").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("screen").clone()).expect("utf-8 output")
    }
}

fn ev(elapsed_ms: u64, kind: RunEventKind) -> RunEvent {
    let elapsed = i64::try_from(elapsed_ms).expect("small elapsed");
    RunEvent {
        at: datetime!(2026-05-31 02:00:00 UTC) + time::Duration::milliseconds(elapsed),
        elapsed_ms,
        kind,
    }
}

fn planned(id: &str, title: &str, needs: &[&str], tags: &[&str]) -> PlannedFlow {
    PlannedFlow {
        id: id.into(),
        title: title.into(),
        file: format!("flows/{id}.yaml").into(),
        user: Some("requester".into()),
        needs: needs.iter().map(|s| (*s).to_owned()).collect(),
        tags: tags.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn step(index: usize, kind: &str, line: u32, summary: &str, ms: u64) -> StepRecord {
    StepRecord {
        file: None,
        index,
        kind: kind.into(),
        line,
        summary: summary.into(),
        status: StepStatus::Passed,
        duration_ms: ms,
        error: None,
        artifacts: vec![],
        evidence: vec![],
        round_trips: 2,
        time: None,
        trace: None,
        slow: None,
    }
}

fn finished(flow: &str, step: StepRecord) -> RunEventKind {
    RunEventKind::StepFinished {
        flow: flow.into(),
        step,
    }
}

/// Built from its JSON form (as read back from `events.jsonl`), so that the test does not
/// depend on which descriptive fields the event carries beside these.
fn started(flow: &str, index: usize, kind: &str, line: u32) -> RunEventKind {
    serde_json::from_value(serde_json::json!({
        "type": "step_started", "flow": flow, "index": index, "kind": kind, "line": line,
        "summary": format!("{kind} …"),
    }))
    .expect("a step_started event")
}

fn screenshot() -> Artifact {
    Artifact {
        kind: ArtifactKind::Screenshot,
        path: "create-ticket/step-05-failure.jpg".into(),
        bytes: 48_213,
    }
}

/// The whole run, `RunFinished` included.
fn run_events() -> Vec<RunEvent> {
    let mut e = Vec::new();
    e.push(ev(
        0,
        RunEventKind::RunStarted {
            run_id: RUN_ID.into(),
            profile: "local".into(),
            base_url: "http://127.0.0.1:8080".into(),
            runner_version: "0.1.0".into(),
            output_dir: format!("artifacts/{RUN_ID}").into(),
            trace_mode: "retain-on-failure".into(),
            scope: None,
            flows: vec![
                planned("otp-login", "OTP login", &[], &["auth", "smoke"]),
                planned("magic-link-login", "Magic link login", &[], &["auth"]),
                planned(
                    "department-portal-open",
                    "Department portal open",
                    &["otp-login"],
                    &["portal"],
                ),
                planned(
                    "create-ticket",
                    "Create ticket (portal)",
                    &["department-portal-open"],
                    &["ticket", "smoke"],
                ),
                planned(
                    "assign-ticket",
                    "Assign ticket",
                    &["create-ticket"],
                    &["ticket"],
                ),
                planned("logout", "Logout", &["otp-login"], &["auth"]),
            ],
        },
    ));
    e.push(ev(
        40,
        RunEventKind::HealthChecked {
            passed: true,
            skipped: false,
            failing: vec![],
            summary: "6 of 6 services healthy".into(),
        },
    ));
    e.push(ev(
        760,
        RunEventKind::BrowserStarted {
            user: "requester".into(),
            browser: "chrome".into(),
            version: "156.0.7000.0".into(),
            bidi: true,
        },
    ));

    // otp-login: passes with the fixed OTP, so its mail criterion stays UNVERIFIED.
    e.push(ev(
        770,
        RunEventKind::FlowStarted {
            flow: "otp-login".into(),
            attempt: 1,
            worker: None,
        },
    ));
    e.push(ev(
        770,
        RunEventKind::Notice {
            flow: Some("otp-login".into()),
            message: "logging in with STAGING_E2E_FIXED_OTP: the OTP mail is not read".into(),
        },
    ));
    e.push(ev(770, started("otp-login", 0, "goto", 7)));
    e.push(ev(
        1_120,
        finished("otp-login", step(0, "goto", 7, "goto /login", 350)),
    ));
    e.push(ev(
        1_500,
        finished(
            "otp-login",
            step(
                1,
                "fill",
                8,
                "fill label=\"Email\" value=\"requester@helpdesk.test\"",
                380,
            ),
        ),
    ));
    e.push(ev(
        2_000,
        finished(
            "otp-login",
            step(
                2,
                "fill",
                10,
                "fill label=\"Code\" value=\"[redacted]\"",
                500,
            ),
        ),
    ));
    e.push(ev(
        2_570,
        finished(
            "otp-login",
            step(3, "expect", 11, "expect url ~/\\/tickets$/", 570),
        ),
    ));
    e.push(ev(
        2_571,
        RunEventKind::CriterionRecorded {
            flow: Some("otp-login".into()),
            criterion: Criterion {
                name: "OTP delivered by mail".into(),
                verdict: Verdict::Unverified,
                evidence: vec![],
                note: Some(
                    "logged in with STAGING_E2E_FIXED_OTP; the login is proven, the mail is not"
                        .into(),
                ),
                proves: Some(flows::events::Proof::MailCode),
            },
        },
    ));
    e.push(ev(
        2_572,
        RunEventKind::FlowFinished {
            trace_pending: false,
            flow: "otp-login".into(),
            status: FlowStatus::Passed,
            attempt: 1,
            duration_ms: 1_800,
            reason: None,
        },
    ));

    // magic-link-login: proven by the mail it read.
    e.push(ev(
        2_600,
        RunEventKind::FlowStarted {
            flow: "magic-link-login".into(),
            attempt: 1,
            worker: None,
        },
    ));
    e.push(ev(
        2_900,
        finished("magic-link-login", step(0, "goto", 6, "goto /login", 300)),
    ));
    e.push(ev(
        3_300,
        finished(
            "magic-link-login",
            step(1, "click", 8, "click role=button ~\"email me a link\"", 400),
        ),
    ));
    let mut mail_step = step(
        2,
        "mail",
        9,
        "wait for mail to requester@helpdesk.test subject ~\"sign in\"; extract link",
        1_350,
    );
    mail_step.round_trips = 0;
    mail_step.evidence.push(Evidence::Mail {
        to: "requester@helpdesk.test".into(),
        subject: "Your sign-in link".into(),
        message_id: "<20260531020003.1@helpdesk.test>".into(),
        source: "mail-report".into(),
        latency_source_ms: Some(850),
        latency_source_resolution_ms: Some(1),
        latency_source_basis: Some("received".into()),
        latency_seen_ms: 1_200,
        waited_on: Some("polling".into()),
        extracted: vec![],
    });
    e.push(ev(4_650, finished("magic-link-login", mail_step)));
    e.push(ev(
        5_100,
        finished(
            "magic-link-login",
            step(3, "goto", 12, "goto {{ mail.link }} ([redacted])", 450),
        ),
    ));
    e.push(ev(
        5_101,
        RunEventKind::CriterionRecorded {
            flow: Some("magic-link-login".into()),
            criterion: Criterion {
                name: "Magic link delivered by mail".into(),
                verdict: Verdict::Pass,
                evidence: vec![
                    "message <20260531020003.1@helpdesk.test> to requester@helpdesk.test, seen after 1.2s"
                        .into(),
                ],
                note: None,
                proves: Some(flows::events::Proof::MailLink),
            },
        },
    ));
    e.push(ev(
        5_102,
        RunEventKind::FlowFinished {
            trace_pending: false,
            flow: "magic-link-login".into(),
            status: FlowStatus::Passed,
            attempt: 1,
            duration_ms: 2_500,
            reason: None,
        },
    ));

    // department-portal-open: a 503 on the first attempt, passes on the retry.
    e.push(ev(
        5_110,
        RunEventKind::FlowStarted {
            flow: "department-portal-open".into(),
            attempt: 1,
            worker: None,
        },
    ));
    let mut failed = step(0, "goto", 6, "goto /d/it", 200);
    failed.status = StepStatus::Failed;
    failed.error = Some("GET /d/it answered 503 Service Unavailable".into());
    e.push(ev(5_310, finished("department-portal-open", failed)));
    e.push(ev(
        5_311,
        RunEventKind::Notice {
            flow: Some("department-portal-open".into()),
            message: "retrying (attempt 2 of 2)".into(),
        },
    ));
    e.push(ev(
        5_320,
        RunEventKind::FlowStarted {
            flow: "department-portal-open".into(),
            attempt: 2,
            worker: None,
        },
    ));
    e.push(ev(
        5_600,
        finished(
            "department-portal-open",
            step(0, "goto", 6, "goto /d/it", 280),
        ),
    ));
    let mut frame_step = step(
        1,
        "realtime",
        8,
        "wait for event portal.opened on private-department.it",
        420,
    );
    frame_step.evidence.push(Evidence::RealtimeFrame {
        subscription: "reverb".into(),
        channel: Some("private-department.it".into()),
        event: "portal.opened".into(),
        data: serde_json::json!({"department": "it", "user": "requester@helpdesk.test"}),
        received_ms: 5_990,
    });
    e.push(ev(6_020, finished("department-portal-open", frame_step)));
    e.push(ev(
        6_021,
        RunEventKind::FlowFinished {
            trace_pending: false,
            flow: "department-portal-open".into(),
            status: FlowStatus::Flaky,
            attempt: 2,
            duration_ms: 910,
            reason: None,
        },
    ));

    // create-ticket: the submit button is not found; screenshot and trace written.
    e.push(ev(
        6_030,
        RunEventKind::FlowStarted {
            flow: "create-ticket".into(),
            attempt: 1,
            worker: None,
        },
    ));
    e.push(ev(
        6_330,
        finished("create-ticket", step(0, "goto", 7, "goto /d/it", 300)),
    ));
    e.push(ev(
        6_730,
        finished(
            "create-ticket",
            step(1, "click", 8, "click role=link ~\"new ticket\"", 400),
        ),
    ));
    e.push(ev(
        7_030,
        finished(
            "create-ticket",
            step(
                2,
                "fill",
                9,
                "fill label=\"Subject\" value=\"Printer on fire (20260531-020000-ab12)\"",
                300,
            ),
        ),
    ));
    e.push(ev(
        7_330,
        finished(
            "create-ticket",
            step(
                3,
                "fill",
                10,
                "fill label=\"Description\" value=\"Created by flows\"",
                300,
            ),
        ),
    ));
    e.push(ev(7_330, started("create-ticket", 4, "click", 12)));
    let error = "no element matches role=button name~\"create ticket\" within 10s; \
                 page is /d/it/tickets/new; closest: button \"Submit ticket\"";
    let mut click = step(
        4,
        "click",
        12,
        "click role=button ~\"create ticket\"",
        10_000,
    );
    click.status = StepStatus::Failed;
    click.error = Some(error.into());
    click.round_trips = 41;
    click.artifacts.push(screenshot());
    e.push(ev(
        17_330,
        RunEventKind::ArtifactWritten {
            flow: Some("create-ticket".into()),
            artifact: screenshot(),
        },
    ));
    e.push(ev(17_331, finished("create-ticket", click)));
    for (index, line, kind, summary) in [
        (5, 13, "expect", "expect url ~/\\/tickets\\/\\d+$/"),
        (6, 14, "capture", "capture ticket from url /tickets/(\\d+)"),
    ] {
        let mut skipped = step(index, kind, line, summary, 0);
        skipped.status = StepStatus::Skipped;
        skipped.round_trips = 0;
        e.push(ev(17_331, finished("create-ticket", skipped)));
    }
    e.push(ev(
        17_400,
        RunEventKind::ArtifactWritten {
            flow: Some("create-ticket".into()),
            artifact: Artifact {
                kind: ArtifactKind::Trace,
                path: "create-ticket/trace.html".into(),
                bytes: 201_550,
            },
        },
    ));
    e.push(ev(
        17_401,
        RunEventKind::FlowFinished {
            trace_pending: false,
            flow: "create-ticket".into(),
            status: FlowStatus::Failed,
            attempt: 1,
            duration_ms: 10_200,
            reason: Some(error.into()),
        },
    ));

    // assign-ticket: skipped because its need failed.
    e.push(ev(
        17_402,
        RunEventKind::FlowFinished {
            trace_pending: false,
            flow: "assign-ticket".into(),
            status: FlowStatus::Skipped,
            attempt: 0,
            duration_ms: 0,
            reason: Some("needs create-ticket, which failed".into()),
        },
    ));

    // Ctrl-C before logout starts: logout never gets an event.
    e.push(ev(
        17_500,
        RunEventKind::RunFinished {
            outcome: RunOutcome::Interrupted,
            totals: Totals {
                passed: 2,
                failed: 1,
                flaky: 1,
                skipped: 1,
                not_run: 1,
                timed_out: 0,
            },
            duration_ms: 17_500,
            reason: None,
        },
    ));
    e
}

/// Feeds `events` to the reporters `kinds` asks for, then `finish`; returns the output dir and
/// what the terminal showed.
fn run_reporters(
    kinds: &[ReporterKind],
    events: &[RunEvent],
    summary: bool,
) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let screen = Screen::default();
    let mut opts = ReportOptions::new(dir.path().join("out"), Box::new(screen.clone()));
    if summary {
        opts.github_step_summary = Some(dir.path().join("step-summary.md"));
    }
    let mut reporters: Reporters = build_reporters(kinds, opts);
    for event in events {
        reporters
            .on_event(event)
            .expect("reporters accept the event");
    }
    reporters.finish().expect("reporters finish");
    (dir, screen.text())
}

fn all_kinds() -> Vec<ReporterKind> {
    parse_reporters(&["list,json", "junit,github"]).expect("reporter names")
}

/// The temp dir's path, as a regex, for insta filters.
fn dir_filter(dir: &Path) -> String {
    regex::escape(&dir.display().to_string())
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("out").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn terminal_output_plain() {
    let (dir, screen) = run_reporters(&all_kinds(), &run_events(), false);
    assert!(!screen.contains('\x1b'), "plain output has no escape codes");
    let (annotations, lines): (Vec<&str>, Vec<&str>) =
        screen.lines().partition(|l| l.starts_with("::"));
    assert_eq!(annotations.len(), 3, "{annotations:?}");
    let lines = lines.join("\n");
    assert!(lines.ends_with(&format!(
        "2 passed, 1 failed, 1 skipped, 1 flaky, 1 not run\nreport: {}",
        dir.path().join("out").join(REPORT_FILE).display()
    )));
    insta::with_settings!({filters => vec![(dir_filter(dir.path()).as_str(), "[TMP]")]}, {
        insta::assert_snapshot!(lines);
    });
}

#[test]
fn github_annotations_and_step_summary() {
    let (dir, screen) = run_reporters(&all_kinds(), &run_events(), true);
    let annotations: Vec<&str> = screen.lines().filter(|l| l.starts_with("::")).collect();
    insta::assert_snapshot!("github_annotations", annotations.join("\n"));
    let summary =
        std::fs::read_to_string(dir.path().join("step-summary.md")).expect("step summary");
    insta::assert_snapshot!("github_step_summary", summary);
}

#[test]
fn json_report_snapshot() {
    let (dir, _) = run_reporters(&all_kinds(), &run_events(), false);
    let text = read(dir.path(), REPORT_FILE);
    let value: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
    assert_eq!(value["schema_version"], 3);
    assert_eq!(value["started_at"], "2026-05-31T02:00:00Z");
    assert_eq!(value["finished_at"], "2026-05-31T02:00:17.5Z");
    assert_eq!(value["outcome"], "interrupted");
    let statuses: Vec<&str> = value["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| f["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        ["passed", "passed", "flaky", "failed", "skipped", "not_run"]
    );
    // The report reads back into its own type (what the schema describes), losslessly; the
    // snapshot is taken from the type so that it keeps the file's field order.
    let report: StagingRunReport = serde_json::from_str(&text).expect("report type");
    assert_eq!(serde_json::to_value(&report).expect("to value"), value);
    assert_eq!(report.mail.latency_p50_ms, Some(1_200));
    assert_eq!(report.criteria_totals.unverified, 1);
    insta::with_settings!({redactions => vec![
        (".started_at", insta::dynamic_redaction(|v, _| {
            assert!(v.as_str().is_some_and(|s| s.ends_with('Z')), "rfc 3339 time");
            "[time]"
        })),
        (".finished_at", "[time]".into()),
        // The event log holds the temp directory's path: its digest differs per run.
        (".evidence_files[].sha256", insta::dynamic_redaction(|v, _| {
            assert!(
                v.as_str().is_some_and(|s| s.len() == 64
                    && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())),
                "lowercase hex SHA-256"
            );
            "[sha256]"
        })),
        (".evidence_files[].bytes", "[bytes]".into()),
    ]}, {
        insta::assert_json_snapshot!("staging_run_report", report);
    });
}

#[test]
fn junit_snapshot_and_counts() {
    let (dir, _) = run_reporters(&all_kinds(), &run_events(), false);
    let xml = read(dir.path(), JUNIT_FILE);
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("junit.xml parses");
    assert_eq!(report.tests, 6);
    assert_eq!(report.failures, 1);
    assert_eq!(report.errors, 0);
    let suite = &report.test_suites[0];
    assert_eq!(report.test_suites.len(), 1);
    assert_eq!(suite.name.as_str(), "local");
    assert_eq!((suite.tests, suite.failures, suite.skipped), (6, 1, 2));
    let flaky = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "department-portal-open")
        .expect("flaky case");
    match &flaky.status {
        quick_junit::TestCaseStatus::Success { flaky_runs } => assert_eq!(flaky_runs.len(), 1),
        other => panic!("flaky flow should pass with a flaky run: {other:?}"),
    }
    assert!(flaky
        .properties
        .iter()
        .any(|p| p.name.as_str() == "flaky" && p.value.as_str() == "true"));
    // GitLab: classname + name unique, and a `file` attribute naming the flow file.
    let mut keys = std::collections::BTreeSet::new();
    for case in &suite.test_cases {
        let classname = case.classname.as_ref().map(|c| c.as_str().to_owned());
        assert!(
            keys.insert((classname.clone(), case.name.as_str().to_owned())),
            "classname + name repeated: {:?} {}",
            classname,
            case.name.as_str()
        );
        assert_eq!(
            case.extra.get("file").map(|f| f.as_str().to_owned()),
            classname,
            "file attribute of {}",
            case.name.as_str()
        );
    }
    // Jenkins: every artifact listed is also an attachment line.
    let screenshots: Vec<&str> = xml
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("screenshot: "))
        .collect();
    assert!(!screenshots.is_empty(), "{xml}");
    for path in screenshots {
        assert!(
            xml.contains(&format!("[[ATTACHMENT|{path}]]")),
            "{path} not attached:\n{xml}"
        );
    }
    insta::with_settings!({filters => vec![(dir_filter(dir.path()).as_str(), "[TMP]")]}, {
        insta::assert_snapshot!("junit_xml", xml);
    });
}

/// `node tests/ctrf/validate.mjs FILE`: the CTRF reference implementation's verdict.
fn ctrf_validator_says(file: &Path) -> (bool, String) {
    let dir = crate::npm_clients::installed("ctrf");
    let out = std::process::Command::new("node")
        .arg(dir.join("validate.mjs"))
        .arg(file)
        .output()
        .expect("node runs (Node.js >= 20 is a test requirement)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn ctrf_report_validates_against_the_published_schema_and_maps_every_status() {
    let (dir, _) = run_reporters(
        &parse_reporters(&["list,ctrf"]).expect("names"),
        &run_events(),
        false,
    );
    let path = dir.path().join("out").join(CTRF_FILE);
    let report: serde_json::Value =
        serde_json::from_str(&read(dir.path(), CTRF_FILE)).expect("ctrf-report.json is JSON");
    let (valid, said) = ctrf_validator_says(&path);
    assert!(valid, "the CTRF validator refused the report: {said}");
    assert_eq!(said.trim(), "valid");

    assert_eq!(report["reportFormat"], "CTRF");
    let results = &report["results"];
    assert_eq!(results["tool"]["name"], "flows");
    let summary = &results["summary"];
    let tests = results["tests"].as_array().expect("tests");
    assert_eq!(summary["tests"], tests.len());
    let status_of = |id: &str| {
        let t = tests
            .iter()
            .find(|t| t["extra"]["id"] == id)
            .unwrap_or_else(|| panic!("no test for {id}: {tests:#?}"));
        (
            t["status"].as_str().unwrap_or_default().to_owned(),
            t["rawStatus"].as_str().unwrap_or_default().to_owned(),
        )
    };
    // Every flow status of the run, as the JSON report has it, maps as documented.
    let json: serde_json::Value = serde_json::from_str(&{
        let (d, _) = run_reporters(&all_kinds(), &run_events(), false);
        read(d.path(), REPORT_FILE)
    })
    .expect("report");
    let mut seen = std::collections::BTreeSet::new();
    for flow in json["flows"].as_array().expect("flows") {
        let id = flow["id"].as_str().expect("id");
        let want = match flow["status"].as_str().expect("status") {
            "passed" => ("passed", "passed"),
            "flaky" => ("passed", "flaky"),
            "failed" => ("failed", "failed"),
            "timed_out" => ("failed", "timed_out"),
            "skipped" => ("skipped", "skipped"),
            "not_run" => ("other", "not_run"),
            other => panic!("a status the test does not know: {other}"),
        };
        seen.insert(want.1);
        assert_eq!(
            status_of(id),
            (want.0.to_owned(), want.1.to_owned()),
            "{id}"
        );
    }
    assert!(
        ["passed", "flaky", "failed", "skipped", "not_run"]
            .iter()
            .all(|s| seen.contains(s)),
        "the events cover every status but timed_out: {seen:?}"
    );
    for (key, status) in [
        ("passed", "passed"),
        ("failed", "failed"),
        ("skipped", "skipped"),
        ("other", "other"),
    ] {
        let n = tests.iter().filter(|t| t["status"] == status).count();
        assert_eq!(summary[key], n, "summary.{key}");
    }
    let flaky = tests
        .iter()
        .find(|t| t["rawStatus"] == "flaky")
        .expect("a flaky test");
    assert_eq!(flaky["flaky"], true);
    assert_eq!(flaky["retryAttempts"][0]["status"], "failed");
    assert_eq!(summary["flaky"], 1);
    let failed = tests
        .iter()
        .find(|t| t["status"] == "failed")
        .expect("a failed test");
    assert!(
        failed["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{failed:#}"
    );
    assert!(failed["steps"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s["status"] == "failed")));
    // Criteria travel under extra: what CTRF cannot say, the run still proves.
    assert!(results["extra"]["criteria"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));

    // The validator is not a rubber stamp: a status CTRF does not know is refused.
    let mut wrong = report.clone();
    wrong["results"]["tests"][0]["status"] = "flaky".into();
    let wrong_path = dir.path().join("wrong-ctrf.json");
    std::fs::write(&wrong_path, wrong.to_string()).expect("write");
    let (valid, said) = ctrf_validator_says(&wrong_path);
    assert!(!valid, "a wrong status passed validation: {said}");
}

/// `xmllint --schema XSD FILE`: libxml2's verdict. Like every tool a test drives, a missing
/// xmllint fails the test with the line that installs it (.ci/run installs it): a validation
/// that did not run must never look like one that passed.
fn xsd_validator_says(xsd: &Path, file: &Path) -> (bool, String) {
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(file)
        .output();
    match out {
        Ok(out) => (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "xmllint is not installed, and this test validates junit.xml with it: \
             apt-get install -y libxml2-utils"
        ),
        Err(e) => panic!("xmllint did not run: {e}"),
    }
}

/// The run of `run_events`, with create-ticket failing twice (attempt 1, then the attempt the
/// events already have as 2): the case JUnit writes `rerunFailure` for.
fn run_events_with_a_failed_retry() -> Vec<RunEvent> {
    let events = run_events();
    let of_ticket = |e: &RunEvent| match &e.kind {
        RunEventKind::FlowStarted { flow, .. }
        | RunEventKind::StepStarted { flow, .. }
        | RunEventKind::StepFinished { flow, .. }
        | RunEventKind::FlowFinished { flow, .. } => flow == "create-ticket",
        _ => false,
    };
    let first = events
        .iter()
        .position(of_ticket)
        .expect("create-ticket starts");
    let last = events
        .iter()
        .rposition(of_ticket)
        .expect("create-ticket ends");
    let mut out = events[..=last].to_vec();
    for mut e in events[first..=last]
        .iter()
        .filter(|e| of_ticket(e))
        .cloned()
    {
        match &mut e.kind {
            RunEventKind::FlowStarted { attempt, .. }
            | RunEventKind::FlowFinished { attempt, .. } => {
                *attempt = 2;
            }
            _ => {}
        }
        out.push(e);
    }
    out.extend_from_slice(&events[last + 1..]);
    out
}

/// junit.xml against the JUnit schema of Jenkins' xUnit plugin (tests/schemas/junit-10.xsd,
/// which covers Surefire's `flakyFailure`/`rerunFailure`): passed, failed with attachments,
/// skipped, not run, flaky, and failed after a retry. Three documented extensions are outside
/// that schema and are taken out before validating, and only those: the `file` attribute of a
/// test case (GitLab), a test case's `<properties>` (title, attempts, flaky) and the
/// `skipped` count on `<testsuites>` (quick-junit writes it, as nextest does).
#[test]
fn junit_validates_against_the_jenkins_xunit_schema() {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit-10.xsd");
    let kinds = parse_reporters(&["junit"]).expect("names");
    let extensions: Vec<(regex::Regex, &str)> = [
        (r#"(<testsuites [^>]*?) skipped="\d+""#, "$1"),
        (r#"(<testcase [^>]*?) file="[^"]*""#, "$1"),
        (
            r"(?s)(<testcase [^>]*>)\s*<properties>.*?</properties>",
            "$1",
        ),
    ]
    .into_iter()
    .map(|(pattern, keep)| (regex::Regex::new(pattern).expect("pattern"), keep))
    .collect();
    let rerun_type =
        regex::Regex::new(r#"(<(?:flaky|rerun)Failure [^>]*?) type="[^"]*""#).expect("pattern");
    for (what, events) in [
        ("the sample run", run_events()),
        (
            "a flow failed after a retry",
            run_events_with_a_failed_retry(),
        ),
    ] {
        let (dir, _) = run_reporters(&kinds, &events, false);
        let xml = read(dir.path(), JUNIT_FILE);
        for element in ["<failure", "<skipped", "<flakyFailure", "[[ATTACHMENT|"] {
            assert!(xml.contains(element), "{what}: no {element} in\n{xml}");
        }
        if what.contains("retry") {
            assert!(xml.contains("<rerunFailure"), "{what}:\n{xml}");
        }
        let mut strict = xml.clone();
        for (re, keep) in &extensions {
            assert!(re.is_match(&strict), "{what}: {re} finds nothing");
            strict = re.replace_all(&strict, *keep).into_owned();
        }
        let path = dir.path().join("strict-junit.xml");
        std::fs::write(&path, &strict).expect("write");
        let (valid, said) = xsd_validator_says(&xsd, &path);
        assert!(valid, "{what}: the XSD refused junit.xml: {said}\n{strict}");

        // The validator is not a rubber stamp: a rerun without its required type is refused.
        let wrong = rerun_type.replace(&strict, "$1").into_owned();
        assert_ne!(wrong, strict);
        std::fs::write(&path, &wrong).expect("write");
        let (valid, said) = xsd_validator_says(&xsd, &path);
        assert!(!valid, "{what}: a rerun without type passed: {said}");
    }
}

#[test]
fn report_schema_snapshot() {
    let schema = report_schema_json();
    let value: serde_json::Value = serde_json::from_str(&schema).expect("schema is JSON");
    assert_eq!(value["$id"], "urn:flows:staging-run-report:3");
    insta::assert_snapshot!("staging_run_report_schema", schema);
}

/// `flows schema --gate`: the shape of go-no-go.json, versioned, and what the binary prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_schema_snapshot() {
    let schema = flows::gate::gate_schema_json();
    let value: serde_json::Value = serde_json::from_str(&schema).expect("schema is JSON");
    assert_eq!(value["$id"], "urn:flows:go-no-go:1");
    let verdicts = value.to_string();
    for word in ["GO", "CONDITIONAL_GO", "NO_GO", "altered", "missing"] {
        assert!(verdicts.contains(&format!("\"{word}\"")), "{word}");
    }
    let out = crate::support::FlowsCmd::new()
        .args(["schema", "--gate"])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout.trim_end(), schema.trim_end());
    insta::assert_snapshot!("go_no_go_schema", schema);
}

#[test]
fn event_log_is_written_as_events_arrive() {
    let events = run_events();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reporters = build_reporters(
        &[],
        ReportOptions::new(dir.path(), Box::new(std::io::sink())),
    );
    for event in &events[..5] {
        reporters.on_event(event).expect("event");
    }
    // No finish yet (as after a crash): the log already holds every event received.
    let log = std::fs::read_to_string(reporters.event_log_path()).expect("events.jsonl");
    assert_eq!(log.lines().count(), 5);
    assert!(log.ends_with('\n'));
}

#[test]
fn verbose_output_lists_every_step_and_the_passing_criteria() {
    let dir = tempfile::tempdir().expect("tempdir");
    let screen = Screen::default();
    let mut opts = ReportOptions::new(dir.path(), Box::new(screen.clone()));
    opts.verbose = true;
    let mut reporters = build_reporters(&[], opts);
    for event in &run_events() {
        reporters.on_event(event).expect("event");
    }
    reporters.finish().expect("finish");
    let text = screen.text();
    for expected in [
        "  browser: requester on chrome 156.0.7000.0, BiDi",
        "    ok   step 1 (flows/otp-login.yaml:7) goto /login (0.4s)",
        "    skip step 6 (flows/create-ticket.yaml:13) expect url ~/\\/tickets\\/\\d+$/",
        "  PASS        magic-link-login: Magic link delivered by mail",
        "    evidence: message <20260531020003.1@helpdesk.test> to requester@helpdesk.test",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn aborted_run_names_the_failing_services() {
    let events = vec![
        run_events().remove(0),
        ev(
            35,
            RunEventKind::HealthChecked {
                passed: false,
                skipped: false,
                failing: vec!["queue".into(), "reverb".into()],
                summary: "4 of 6 services healthy".into(),
            },
        ),
        ev(
            36,
            RunEventKind::RunFinished {
                outcome: RunOutcome::Aborted,
                totals: Totals::default(),
                duration_ms: 36,
                reason: None,
            },
        ),
    ];
    let (dir, screen) = run_reporters(&[], &events, false);
    assert!(
        screen.contains("  health: FAILING queue, reverb (4 of 6 services healthy)\n"),
        "{screen}"
    );
    assert!(
        screen.contains(
            "run aborted: health pre-check failed: queue, reverb\n0 passed, 0 failed, 0 skipped, 6 not run\n"
        ),
        "{screen}"
    );
    let report: StagingRunReport =
        serde_json::from_str(&read(dir.path(), REPORT_FILE)).expect("report");
    assert_eq!(report.outcome, RunOutcome::Aborted);
    assert!(report
        .flows
        .iter()
        .all(|f| f.reason.as_deref() == Some("the run was aborted before this flow started")));
}

#[test]
fn a_report_that_cannot_be_written_is_an_error_and_the_terminal_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The output "directory" is a file: nothing can be written under it.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"not a directory").expect("write");
    let screen = Screen::default();
    let mut reporters =
        build_reporters(&[], ReportOptions::new(&blocked, Box::new(screen.clone())));
    let events = run_events();
    let mut errors = Vec::new();
    for event in &events {
        if let Err(e) = reporters.on_event(event) {
            errors.push(format!("{e:#}"));
        }
    }
    assert!(!errors.is_empty());
    assert!(
        errors[0].starts_with("event log reporter: cannot write "),
        "{errors:?}"
    );
    assert!(
        errors
            .last()
            .is_some_and(|e| e.starts_with("event log reporter")),
        "{errors:?}"
    );
    assert!(
        screen.text().contains("report: NOT WRITTEN ("),
        "{}",
        screen.text()
    );
}

#[test]
fn event_log_holds_every_event_one_per_line() {
    let events = run_events();
    let (dir, _) = run_reporters(&[], &events, false);
    let log = read(dir.path(), EVENT_LOG_FILE);
    let parsed: Vec<RunEvent> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one event"))
        .collect();
    assert_eq!(parsed.len(), events.len());
    assert!(matches!(parsed[0].kind, RunEventKind::RunStarted { .. }));
    assert!(matches!(
        parsed.last().map(|e| &e.kind),
        Some(RunEventKind::RunFinished { .. })
    ));
    // Only the always-on outputs without --reporter junit.
    assert!(!dir.path().join("out").join(JUNIT_FILE).exists());
    assert!(dir.path().join("out").join(REPORT_FILE).exists());
}

/// The run dies mid-flow: no `FlowFinished` for create-ticket, no `RunFinished`.
#[test]
fn interrupted_sequence_without_run_finished_still_writes_report() {
    let events = run_events();
    let cut = events
        .iter()
        .position(|e| matches!(&e.kind, RunEventKind::StepStarted { flow, .. } if flow == "create-ticket"))
        .expect("create-ticket step started")
        + 1;
    let (dir, screen) = run_reporters(&all_kinds(), &events[..cut], false);

    let report: StagingRunReport =
        serde_json::from_str(&read(dir.path(), REPORT_FILE)).expect("report written");
    assert_eq!(report.outcome, RunOutcome::Interrupted);
    let create = report
        .flows
        .iter()
        .find(|f| f.id == "create-ticket")
        .expect("create-ticket");
    assert_eq!(create.status, FlowStatus::NotRun);
    assert_eq!(
        create.reason.as_deref(),
        Some("the run ended while this flow was running, at step 5: click on line 12")
    );
    assert_eq!(create.steps.len(), 4);
    assert_eq!(
        report.totals,
        Totals {
            passed: 2,
            failed: 0,
            flaky: 1,
            skipped: 0,
            not_run: 3,
            timed_out: 0,
        }
    );
    assert!(report
        .notices
        .iter()
        .any(|n| n.message.starts_with("the run ended without a final event")));
    // The JUnit file is written too, from what was received.
    let junit = quick_junit::Report::deserialize_from_str(&read(dir.path(), JUNIT_FILE))
        .expect("junit.xml parses");
    assert_eq!((junit.tests, junit.failures), (6, 0));

    let tail: Vec<&str> = screen
        .lines()
        .filter(|l| !l.starts_with("::"))
        .skip_while(|l| !l.contains("NOT RUN"))
        .collect();
    insta::with_settings!({filters => vec![(dir_filter(dir.path()).as_str(), "[TMP]")]}, {
        insta::assert_snapshot!("interrupted_terminal_tail", tail.join("\n"));
    });
}

#[test]
fn write_partial_mid_run_then_the_final_report_replaces_it() {
    let events = run_events();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reporters = build_reporters(
        &[ReporterKind::Json],
        ReportOptions::new(dir.path(), Box::new(std::io::sink())),
    );
    for event in &events[..10] {
        EventSink::on_event(&mut reporters, event).expect("event");
    }
    let path = reporters
        .write_partial(RunOutcome::Interrupted)
        .expect("partial report");
    assert_eq!(path, reporters.report_path());
    let partial: StagingRunReport =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(partial.outcome, RunOutcome::Interrupted);
    assert_eq!(partial.flows.len(), 6);

    for event in &events[10..] {
        EventSink::on_event(&mut reporters, event).expect("event");
    }
    EventSink::finish(&mut reporters).expect("finish");
    let last: StagingRunReport =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(last.totals.failed, 1);
    assert!(last
        .notices
        .iter()
        .all(|n| !n.message.starts_with("the run ended without a final event")));
}

#[test]
fn html_writes_index_html_and_unknown_names_are_refused() {
    let kinds = parse_reporters(&["junit,html"]).expect("html is accepted");
    let (dir, screen) = run_reporters(&kinds, &run_events(), false);
    assert!(!screen.contains("not available"), "{screen}");
    let html = read(dir.path(), "index.html");
    assert!(html.contains(r#"<tr class="flow" data-flow="create-ticket" data-status="failed">"#));
    assert!(
        html.contains(r#"href="create-ticket/trace.html""#),
        "the trace is linked"
    );
    assert!(
        screen.ends_with(&format!(
            "html: {}\n",
            dir.path().join("out/index.html").display()
        )),
        "{screen}"
    );
    let err = parse_reporters(&["list,htlm"]).expect_err("htlm is unknown");
    assert_eq!(
        err.to_string(),
        "unknown reporter `htlm`; expected one of: list, json, junit, github, html"
    );
}

#[test]
fn mail_latency_p50_and_max() {
    assert_eq!(LatencySummary::of(&[]), None);
    let summary = LatencySummary::of(&[1_200, 300, 9_000, 800]).expect("summary");
    assert_eq!((summary.p50_ms, summary.max_ms), (800, 9_000));

    // Through the report: three mails, p50 is the middle one.
    let mut events = run_events();
    let mut extra = Vec::new();
    for (i, seen) in [(4usize, 2_000u64), (5, 400)] {
        let mut s = step(
            i,
            "mail",
            20 + u32::try_from(i).expect("small"),
            "wait for mail",
            seen,
        );
        s.evidence.push(Evidence::Mail {
            to: "head@helpdesk.test".into(),
            subject: "New ticket".into(),
            message_id: format!("<m{i}@helpdesk.test>"),
            source: "mail-report".into(),
            latency_source_ms: None,
            latency_source_resolution_ms: None,
            latency_source_basis: None,
            latency_seen_ms: seen,
            waited_on: None,
            extracted: vec![],
        });
        extra.push(ev(5_000, finished("magic-link-login", s)));
    }
    let at = events
        .iter()
        .position(|e| matches!(&e.kind, RunEventKind::FlowFinished { flow, .. } if flow == "magic-link-login"))
        .expect("magic-link finished");
    events.splice(at..at, extra);
    let (dir, _) = run_reporters(&[ReporterKind::Json], &events, false);
    let report: StagingRunReport =
        serde_json::from_str(&read(dir.path(), REPORT_FILE)).expect("report");
    assert_eq!(report.mail.messages.len(), 3);
    assert_eq!(report.mail.latency_p50_ms, Some(1_200));
    assert_eq!(report.mail.latency_max_ms, Some(2_000));
    // Only one message carried a source time.
    assert_eq!(report.mail.latency_source_p50_ms, Some(850));
    assert_eq!(report.mail.latency_source_max_ms, Some(850));
}
