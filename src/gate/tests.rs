//! The gate against synthetic run directories: verdicts, and the property that no sequence of
//! edits or deletions of a run's files yields a PASS whose evidence is absent or altered.

use std::path::Path;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::events::Proof;

/// The files of the synthetic run, relative to its directory.
const FILES: &[&str] = &[
    "events.jsonl",
    "health-pre-check.json",
    "a/shot.png",
    "b/trace.html",
    "b/downloads/report.pdf",
    "extra.txt",
];

fn flow(
    id: &str,
    status: &str,
    artifacts: serde_json::Value,
    steps: serde_json::Value,
) -> serde_json::Value {
    json!({
        "id": id, "title": id.to_uppercase(), "file": format!("{id}.yaml"), "user": null,
        "needs": [], "tags": [], "status": status, "attempts": 1, "duration_ms": 5,
        "reason": if status == "passed" { serde_json::Value::Null } else { json!("step 2 failed") },
        "failed_step": null, "steps": steps, "artifacts": artifacts, "criteria": [],
        "earlier_attempts": []
    })
}

fn criterion(flow: Option<&str>, name: &str, verdict: &str, proves: &str) -> serde_json::Value {
    json!({"flow": flow, "name": name, "verdict": verdict, "evidence": [], "note": null, "proves": proves})
}

/// A sealed run in a temp dir: flow `a` (a screenshot, an OTP mail criterion), flow `b` (a
/// trace, a download, a realtime criterion), the health pre-check, and `extra.txt`.
fn run_dir(a_status: &str, otp_verdict: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in FILES {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, format!("original {f}")).expect("write");
    }
    let download_step = json!([{
        "index": 0, "kind": "download", "line": 3, "summary": "download report", "status": "passed",
        "duration_ms": 1, "error": null, "artifacts": [], "round_trips": 1,
        "evidence": [{"type": "download", "file_name": "report.pdf", "path": "b/downloads/report.pdf",
                      "bytes": 1, "media_type": "application/pdf", "sha256": "x"}]
    }]);
    let report = json!({
        "schema_version": 3, "run_id": "r1", "started_at": null, "finished_at": null,
        "duration_ms": 1, "outcome": "completed", "outcome_reason": null,
        "environment": {"profile": "local", "base_url": "http://x", "runner_version": "0",
                        "browsers": [], "output_dir": "/x"},
        "health": {"passed": true, "skipped": false, "failing": [], "summary": "healthy"},
        "totals": {"passed": 2, "failed": 0, "flaky": 0, "skipped": 0, "not_run": 0},
        "criteria_totals": {"pass": 3, "failed": 0, "unverified": 0},
        "flows": [
            flow("a", a_status, json!([{"kind": "screenshot", "path": "a/shot.png", "bytes": 1}]), json!([])),
            flow("b", "passed", json!([{"kind": "trace", "path": "b/trace.html", "bytes": 1}]), download_step),
        ],
        "criteria": [
            criterion(None, "http://x/health answers healthy", "PASS", "health"),
            criterion(Some("a"), "sign-in code delivered", otp_verdict, "mail_code"),
            criterion(Some("b"), "event received", "PASS", "realtime_event"),
        ],
        "mail": {"messages": [], "latency_p50_ms": null, "latency_max_ms": null,
                 "latency_source_p50_ms": null, "latency_source_max_ms": null},
        "realtime": {"frames": []},
        "artifacts": [{"kind": "report", "path": "health-pre-check.json", "bytes": 1}],
        "notices": []
    });
    std::fs::write(
        dir.path().join(REPORT_FILE),
        serde_json::to_vec_pretty(&report).expect("json"),
    )
    .expect("write report");
    crate::report::seal(dir.path()).expect("seal");
    dir
}

fn read_report(dir: &Path) -> StagingRunReport {
    serde_json::from_slice(&std::fs::read(dir.join(REPORT_FILE)).expect("report")).expect("parse")
}

/// Criteria that together cite every file of the synthetic run.
fn all_files_criteria(may_be_unverified: bool) -> Vec<GateCriterion> {
    let c = |id: &str| GateCriterion {
        id: id.into(),
        required: true,
        may_be_unverified,
        ..GateCriterion::default()
    };
    vec![
        GateCriterion {
            health: true,
            ..c("health")
        },
        GateCriterion {
            flows: vec!["*".into()],
            ..c("flows")
        },
        GateCriterion {
            proves: vec![Proof::MailCode],
            ..c("otp")
        },
        GateCriterion {
            proves: vec![Proof::RealtimeEvent],
            ..c("realtime")
        },
        GateCriterion {
            evidence: vec!["extra.txt".into()],
            ..c("extra")
        },
        GateCriterion {
            step_kinds: vec!["guard".into()],
            required: false,
            ..c("contract")
        },
    ]
}

fn judge_dir(dir: &Path, criteria: &[GateCriterion]) -> GoNoGo {
    let report = read_report(dir);
    judge(&report, dir, criteria, "test", vec![])
}

#[test]
fn sealing_records_every_cited_file() {
    let dir = run_dir("passed", "PASS");
    let report = read_report(dir.path());
    let recorded: Vec<String> = report
        .evidence_files
        .iter()
        .map(|e| e.path.display().to_string())
        .collect();
    for f in FILES.iter().filter(|f| **f != "extra.txt") {
        assert!(
            recorded.contains(&(*f).to_owned()),
            "{f} not in {recorded:?}"
        );
    }
    let (_, sha) = sha256_file(&dir.path().join("a/shot.png")).expect("hash");
    assert_eq!(
        report
            .evidence_file(Path::new("a/shot.png"))
            .map(|e| e.sha256.clone()),
        Some(sha)
    );
}

#[test]
fn a_clean_run_is_go_and_a_missing_contract_is_not_applicable() {
    let dir = run_dir("passed", "PASS");
    let mut criteria = all_files_criteria(false);
    // extra.txt is not cited by the report, so it was never recorded: UNVERIFIED.
    criteria.retain(|c| c.id != "extra");
    let g = judge_dir(dir.path(), &criteria);
    assert_eq!(g.verdict, GateVerdict::Go, "{g:#?}");
    let contract = g
        .criteria
        .iter()
        .find(|c| c.id == "contract")
        .expect("contract");
    assert_eq!(contract.verdict, None);
    assert!(!contract.blocking);
    assert_eq!(g.verdict.exit_code(), 0);
}

#[test]
fn a_failed_flow_is_no_go_naming_it_first() {
    let dir = run_dir("failed", "PASS");
    let mut criteria = all_files_criteria(false);
    criteria.retain(|c| c.id != "extra");
    criteria.rotate_left(2); // "flows" no longer first in the file
    let g = judge_dir(dir.path(), &criteria);
    assert_eq!(g.verdict, GateVerdict::NoGo);
    assert_eq!(g.blocking, ["flows"]);
    assert_eq!(g.criteria[0].id, "flows");
    assert_eq!(g.criteria[0].verdict, Some(Verdict::Failed));
    assert!(
        g.criteria[0].reasons[0].contains("FAILED: flow a"),
        "{:?}",
        g.criteria[0].reasons
    );
    assert_eq!(g.verdict.exit_code(), 1);
}

#[test]
fn a_fixed_otp_is_unverified_no_go_unless_allowed_then_conditional() {
    let dir = run_dir("passed", "UNVERIFIED");
    let mut criteria = all_files_criteria(false);
    criteria.retain(|c| c.id != "extra");
    let g = judge_dir(dir.path(), &criteria);
    assert_eq!(g.verdict, GateVerdict::NoGo);
    assert_eq!(g.blocking, ["otp"]);
    for c in &mut criteria {
        c.may_be_unverified = c.id == "otp";
    }
    let g = judge_dir(dir.path(), &criteria);
    assert_eq!(g.verdict, GateVerdict::ConditionalGo, "{g:#?}");
    assert_eq!(g.verdict.exit_code(), 5);
    // A kind the run never recorded is UNVERIFIED ("not run"), not PASS.
    let g = judge_dir(
        dir.path(),
        &[GateCriterion {
            id: "link".into(),
            proves: vec![Proof::MailLink],
            required: true,
            ..GateCriterion::default()
        }],
    );
    assert_eq!(g.criteria[0].verdict, Some(Verdict::Unverified));
    assert!(g.criteria[0].reasons[0].starts_with("not run:"));
}

#[test]
fn altered_evidence_blocks_even_where_unverified_is_allowed() {
    let dir = run_dir("passed", "PASS");
    std::fs::write(dir.path().join("b/trace.html"), "edited").expect("edit");
    let mut criteria = all_files_criteria(true);
    criteria.retain(|c| c.id != "extra");
    let g = judge_dir(dir.path(), &criteria);
    assert_eq!(g.verdict, GateVerdict::NoGo);
    // flows (cites b's trace) and realtime (recorded by b).
    assert_eq!(g.blocking, ["flows", "realtime"], "{g:#?}");
    let flows = &g.criteria[0];
    assert!(flows
        .evidence
        .iter()
        .any(|e| e.path == Path::new("b/trace.html") && e.state == EvidenceState::Altered));
}

#[test]
fn a_report_that_disagrees_with_its_event_log_passes_nothing() {
    let dir = run_dir("passed", "PASS");
    let report = read_report(dir.path());
    let mut edited = report.clone();
    edited.flows[0].status = FlowStatus::Failed;
    let problems = disagreements(&report, &edited);
    assert!(
        problems[0].contains("disagrees with the event log"),
        "{problems:?}"
    );
    let mut criteria = all_files_criteria(true);
    criteria.retain(|c| c.id != "extra");
    let g = judge(&report, dir.path(), &criteria, "test", problems);
    assert_eq!(g.verdict, GateVerdict::NoGo);
    assert!(g.criteria.iter().all(|c| c.verdict != Some(Verdict::Pass)));
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Overwrite(usize, Vec<u8>),
    Append(usize, u8),
    Restore(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let n = FILES.len();
    prop_oneof![
        (0..n).prop_map(Edit::Delete),
        (0..n, proptest::collection::vec(any::<u8>(), 0..24))
            .prop_map(|(i, b)| Edit::Overwrite(i, b)),
        (0..n, any::<u8>()).prop_map(|(i, b)| Edit::Append(i, b)),
        (0..n).prop_map(Edit::Restore),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// After any sequence of edits, deletions and restorations of a run's files: every file a
    /// PASS cites is there with the digest recorded when the run ended, and the verdict is GO
    /// only while every cited file is exactly as the run left it.
    #[test]
    fn no_edit_sequence_yields_a_pass_on_absent_or_altered_evidence(
        edits in proptest::collection::vec(edit(), 1..8),
        allow_unverified in any::<bool>(),
    ) {
        let dir = run_dir("passed", "PASS");
        // extra.txt was written after the report: a criterion citing it is never PASS.
        let criteria = all_files_criteria(allow_unverified);
        let original: Vec<Vec<u8>> = FILES
            .iter()
            .map(|f| std::fs::read(dir.path().join(f)).expect("read"))
            .collect();
        let report = read_report(dir.path());
        for e in edits {
            let path = |i: usize| dir.path().join(FILES[i]);
            match e {
                Edit::Delete(i) => { let _ = std::fs::remove_file(path(i)); }
                Edit::Overwrite(i, b) => std::fs::write(path(i), b).expect("overwrite"),
                Edit::Append(i, b) => {
                    let mut now = std::fs::read(path(i)).unwrap_or_default();
                    now.push(b);
                    std::fs::write(path(i), now).expect("append");
                }
                Edit::Restore(i) => std::fs::write(path(i), &original[i]).expect("restore"),
            }
            let g = judge(&report, dir.path(), &criteria, "test", vec![]);
            for c in g.criteria.iter().filter(|c| c.verdict == Some(Verdict::Pass)) {
                prop_assert!(!c.evidence.is_empty());
                for e in &c.evidence {
                    let recorded = report.evidence_file(&e.path).map(|r| r.sha256.clone());
                    let now = sha256_file(&dir.path().join(&e.path)).ok().map(|(_, h)| h);
                    prop_assert!(recorded.is_some(), "{} PASS cites unrecorded {:?}", c.id, e.path);
                    prop_assert_eq!(&now, &recorded, "{} PASS on changed {:?}", c.id, &e.path);
                }
            }
            let untouched = FILES.iter().enumerate().filter(|(_, f)| **f != "extra.txt").all(|(i, f)| {
                std::fs::read(dir.path().join(f)).ok().as_ref() == Some(&original[i])
            });
            // The "extra" criterion cites an unrecorded file, so the best is CONDITIONAL GO.
            prop_assert!(g.verdict != GateVerdict::Go);
            let extra = g.criteria.iter().find(|c| c.id == "extra").expect("extra");
            prop_assert_eq!(extra.verdict, Some(Verdict::Unverified));
            if untouched && allow_unverified {
                prop_assert_eq!(g.verdict, GateVerdict::ConditionalGo);
            }
            if !untouched {
                prop_assert_eq!(g.verdict, GateVerdict::NoGo);
            }
        }
    }
}
