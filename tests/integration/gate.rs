//! `flows gate` and `flows run --gate` on real runs of the repository's flows against the demo
//! helpdesk in real Chromium: GO for a clean run, NO-GO when evidence is deleted or edited
//! afterwards, NO-GO naming the criterion for a failed flow, CONDITIONAL GO for a fixed OTP
//! allowed to stay unverified.

use std::path::Path;

use crate::support::*;

fn gate(run: &Path, criteria: Option<&Path>) -> FlowsCmd {
    let mut cmd = FlowsCmd::new().args(["gate", "--run", run.to_str().expect("utf-8")]);
    if let Some(c) = criteria {
        cmd = cmd.args(["--criteria", c.to_str().expect("utf-8")]);
    }
    cmd
}

fn criterion<'a>(g: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    g["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no criterion {id}: {g:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_run_is_go_and_deleted_or_edited_evidence_is_no_go() {
    let app = helpdesk().await;
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = FlowsCmd::new()
        .args(["run", "--all", "--skip-web-server", "--gate"])
        .args(["--base-url", &app.url(), "--output"])
        .args([out_dir.path().to_str().expect("utf-8 path")])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("gate: GO"), "{}", out.all());
    let run = run_dir(out_dir.path());
    let g = read_json(&run.join("go-no-go.json"));
    assert_eq!(g["verdict"], "GO", "{g:#}");
    assert_eq!(g["schema_version"], 1);
    for id in [
        "health",
        "flows",
        "mail-otp",
        "mail-link",
        "mail-notification",
        "realtime",
    ] {
        assert_eq!(criterion(&g, id)["verdict"], "PASS", "{id}: {g:#}");
    }
    // The demo suite has no contract steps: not applicable, not PASS.
    assert_eq!(
        criterion(&g, "contract")["verdict"],
        serde_json::Value::Null
    );
    let md = std::fs::read_to_string(run.join("go-no-go.md")).expect("go-no-go.md");
    for part in [
        "**Final verdict:** **GO**",
        "## 2. Health check result",
        "## 3. E2E flow results (14 flows)",
        "## 4. Mail result",
        "## 5. Realtime result",
        "## 6. Release criteria",
        "[health-pre-check.json](health-pre-check.json)",
    ] {
        assert!(md.contains(part), "{part} not in:\n{md}");
    }
    let report = read_json(&run.join("staging-run-report.json"));
    assert_eq!(report["schema_version"], 3);

    // Edit a screenshot the flows criterion cites: NO-GO, naming the file as altered.
    let shot = run.join("create-ticket/11-ticket-created.png");
    let original = std::fs::read(&shot).expect("screenshot");
    let mut edited = original.clone();
    edited.extend_from_slice(b"retouched");
    std::fs::write(&shot, &edited).expect("edit");
    let out = gate(&run, None).output().await;
    assert_eq!(out.code, 1, "{}", out.all());
    let g = read_json(&run.join("go-no-go.json"));
    assert_eq!(g["verdict"], "NO_GO");
    assert_eq!(g["blocking"][0], "flows", "{g:#}");
    assert!(
        out.stdout
            .contains("create-ticket/11-ticket-created.png: changed since the run"),
        "{}",
        out.all()
    );

    // Put it back: GO again (the verdict is the files', not sticky).
    std::fs::write(&shot, &original).expect("restore");
    let out = gate(&run, None).output().await;
    assert_eq!(out.code, 0, "{}", out.all());

    // Delete the health evidence: NO-GO on health.
    std::fs::remove_file(run.join("health-pre-check.json")).expect("delete");
    let out = gate(&run, None).output().await;
    assert_eq!(out.code, 1, "{}", out.all());
    let g = read_json(&run.join("go-no-go.json"));
    assert_eq!(g["blocking"][0], "health", "{g:#}");
    assert!(
        out.stdout
            .contains("health-pre-check.json: recorded by the run, now missing"),
        "{}",
        out.all()
    );

    // Edit the report itself (a flow's status): it disagrees with the event log it was built
    // from, so nothing passes.
    std::fs::write(run.join("health-pre-check.json"), b"{}").expect("recreate");
    let path = run.join("staging-run-report.json");
    let text = std::fs::read_to_string(&path).expect("report");
    let forged = text.replacen("\"status\": \"passed\"", "\"status\": \"flaky\"", 1);
    assert_ne!(forged, text);
    std::fs::write(&path, forged).expect("forge");
    let out = gate(&run, None).output().await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("disagrees with the event log"),
        "{}",
        out.all()
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flow_is_no_go_naming_the_criterion() {
    let app = helpdesk().await;
    fault(
        &app.url(),
        serde_json::json!({"kind": "route_error", "path": "/d/it-support", "status": 500}),
    )
    .await;
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = FlowsCmd::new()
        .args([
            "run",
            "department-portal-open",
            "--skip-web-server",
            "--gate",
        ])
        .args(["--base-url", &app.url(), "--output"])
        .args([out_dir.path().to_str().expect("utf-8 path")])
        .output()
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let run = run_dir(out_dir.path());
    let g = read_json(&run.join("go-no-go.json"));
    assert_eq!(g["verdict"], "NO_GO");
    let first = &g["criteria"][0];
    assert_eq!(first["id"], "flows", "{g:#}");
    assert_eq!(first["verdict"], "FAILED");
    assert!(
        first["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("FAILED: flow department-portal-open")),
        "{first:#}"
    );
    assert!(
        out.stdout
            .contains("FAILED     Every selected flow passed  blocking"),
        "{}",
        out.all()
    );
    let md = std::fs::read_to_string(run.join("go-no-go.md")).expect("md");
    assert!(md.contains("**Final verdict:** **NO-GO**"), "{md}");
    assert!(
        md.contains("1. **Every selected flow passed** (`flows`)"),
        "{md}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_otp_run_is_unverified_and_conditional_when_allowed() {
    const FIXED: &str = "731946";
    let app = helpdesk::serve(helpdesk::Config {
        staging: true,
        secret: Some(SECRET.to_owned()),
        fixed_otp: Some(FIXED.to_owned()),
        ..Default::default()
    })
    .await
    .expect("helpdesk");
    let dir = tempfile::tempdir().expect("tempdir");
    let criteria = dir.path().join("gate.toml");
    std::fs::write(
        &criteria,
        r#"
[[criterion]]
id = "health"
health = true

[[criterion]]
id = "flows"
flows = ["*"]

[[criterion]]
id = "mail-otp"
name = "Sign-in code delivered by mail"
proves = ["mail_code"]
may_be_unverified = true
"#,
    )
    .expect("gate.toml");
    let out_dir = dir.path().join("out");
    let out = FlowsCmd::new()
        .env("STAGING_E2E_FIXED_OTP", FIXED)
        .args([
            "run",
            "otp-login",
            "--skip-web-server",
            "--gate",
            "--gate-criteria",
        ])
        .args([criteria.to_str().expect("utf-8")])
        .args(["--base-url", &app.url(), "--output"])
        .args([out_dir.to_str().expect("utf-8 path")])
        .output()
        .await;
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(out.stdout.contains("gate: CONDITIONAL GO"), "{}", out.all());
    let run = run_dir(&out_dir);
    let g = read_json(&run.join("go-no-go.json"));
    assert_eq!(g["verdict"], "CONDITIONAL_GO");
    let otp = criterion(&g, "mail-otp");
    assert_eq!(otp["verdict"], "UNVERIFIED");
    assert_eq!(otp["blocking"], false);
    assert!(otp.to_string().contains("fixed OTP"), "{otp:#}");

    // The default checklist does not allow it: NO-GO with the OTP criterion UNVERIFIED.
    let out = gate(&run, None).output().await;
    assert_eq!(out.code, 1, "{}", out.all());
    let g = read_json(&run.join("go-no-go.json"));
    assert_eq!(criterion(&g, "mail-otp")["verdict"], "UNVERIFIED");
    assert!(g["blocking"]
        .as_array()
        .expect("blocking")
        .iter()
        .any(|b| b == "mail-otp"));

    // A broken gate.toml is a usage error before anything runs.
    std::fs::write(&criteria, "[[criterion]]\nid = \"x\"\n").expect("bad gate.toml");
    let out = gate(&run, Some(&criteria)).output().await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("needs nothing"), "{}", out.all());
    app.shutdown().await;
}
