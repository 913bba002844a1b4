//! `flows run --shard i/n` and `flows merge-reports`, on real runs in real Chromium against the
//! demo helpdesk: two shards of a suite with chains merged into one run (same flows, order,
//! outcome and exit code as the unsharded run; JUnit, HTML and the evidence seal rebuilt;
//! `flows gate` accepts it), a failing flow in shard 2 failing the merged run, the refusals
//! (snapshotted), an empty shard, and bad `--shard` values.

use std::path::{Path, PathBuf};

use crate::support::*;

/// Chain A (`a-open` ← `a-next`, 3 steps, a browser), chain B (`b-up` ← `b-more`, 2 steps) and
/// `c-login` (1 step): over 2 shards by steps, A is shard 1, B and C shard 2.
const A_OPEN: &str = r#"
id: a-open
title: Opens the sign-in page
user: requester
steps:
  - goto: /login
  - screenshot: login
"#;
const A_NEXT: &str = r#"
id: a-next
title: After the sign-in page
needs: [a-open]
steps:
  - http: { url: /up, expect: { status: 200 } }
"#;
const B_UP: &str = r#"
id: b-up
title: Up
steps:
  - http: { url: /up, expect: { status: 200 } }
"#;
const B_MORE: &str = r#"
id: b-more
title: Up again
needs: [b-up]
steps:
  - http: { url: /up, expect: { status: 200 } }
"#;
const C_LOGIN: &str = r#"
id: c-login
title: The sign-in page answers
steps:
  - http: { url: /login, expect: { status: 200 } }
"#;

const PLAN: [&str; 5] = ["a-open", "a-next", "b-up", "b-more", "c-login"];

fn suite() -> tempfile::TempDir {
    temp_suite(&[
        ("a-open.yaml", A_OPEN),
        ("a-next.yaml", A_NEXT),
        ("b-more.yaml", B_MORE),
        ("b-up.yaml", B_UP),
        ("c-login.yaml", C_LOGIN),
    ])
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs `flows run --all` (with `extra`) in `suite` against `base`, output under `out`;
/// returns the exit code and the run directory.
async fn run(suite: &Path, base: &str, out: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let output = FlowsCmd::new()
        .cwd(suite)
        .args(["run", "--all", "--reporter", "list,junit,html"])
        .args(["--base-url", base, "--output", s(out)])
        .args(extra)
        .output()
        .await;
    let dir = run_dir(out);
    (output, dir)
}

fn ids(report: &serde_json::Value) -> Vec<String> {
    report["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect()
}

fn merge(dirs: &[&Path], out: &Path, extra: &[&str]) -> FlowsCmd {
    let mut cmd = FlowsCmd::new().args(["merge-reports"]);
    for d in dirs {
        cmd = cmd.args([s(d)]);
    }
    cmd.args(["--output", s(out), "--reporter", "list,junit,html"])
        .args(extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_merged_are_the_unsharded_run_and_a_failure_in_shard_2_fails_it() {
    let app = helpdesk().await;
    let suite = suite();
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();

    let (whole, whole_dir) = run(suite.path(), &app.url(), &t.join("whole"), &[]).await;
    assert_eq!(whole.code, 0, "{}", whole.all());
    let (one, one_dir) = run(
        suite.path(),
        &app.url(),
        &t.join("one"),
        &["--shard", "1/2", "--shard-by", "steps"],
    )
    .await;
    assert_eq!(one.code, 0, "{}", one.all());
    assert!(
        one.stdout
            .contains("shard 1/2: 2 of the 5 planned flows (balanced by steps"),
        "{}",
        one.all()
    );
    let (two, two_dir) = run(
        suite.path(),
        &app.url(),
        &t.join("two"),
        &["--shard", "2/2", "--shard-by", "steps"],
    )
    .await;
    assert_eq!(two.code, 0, "{}", two.all());

    // The partition: chains whole, shard 1 the heavier chain.
    let r1 = read_json(&one_dir.join("staging-run-report.json"));
    let r2 = read_json(&two_dir.join("staging-run-report.json"));
    assert_eq!(ids(&r1), ["a-open", "a-next"]);
    assert_eq!(ids(&r2), ["b-up", "b-more", "c-login"]);
    assert_eq!(r1["shard"]["index"], 1);
    assert_eq!(r1["shard"]["key"], "steps");
    assert_eq!(r1["shard"]["partition"], r2["shard"]["partition"]);
    assert_eq!(
        r1["environment"]["suite_fingerprint"],
        r2["environment"]["suite_fingerprint"]
    );

    // Merged: the unsharded run's flows in its order, its outcome and exit code.
    let merged_dir = t.join("merged");
    let whole_report = whole_dir.join("staging-run-report.json");
    let out = merge(&[&two_dir, &one_dir], &merged_dir, &[])
        .args(["--expect-flows-of", s(&whole_report)])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("merged from shards 1/2, 2/2"),
        "{}",
        out.all()
    );
    let merged = read_json(&merged_dir.join("staging-run-report.json"));
    let whole_json = read_json(&whole_report);
    assert_eq!(ids(&merged), ids(&whole_json));
    let statuses = |r: &serde_json::Value| -> Vec<String> {
        r["flows"]
            .as_array()
            .expect("flows")
            .iter()
            .map(|f| f["status"].as_str().expect("status").to_owned())
            .collect()
    };
    assert_eq!(statuses(&merged), statuses(&whole_json));
    assert_eq!(merged["outcome"], whole_json["outcome"]);
    assert_eq!(merged["totals"], whole_json["totals"]);
    assert_eq!(merged["merged"]["missing"], serde_json::json!([]));
    assert_eq!(merged["merged"]["shards"][1]["shard"], "2/2");
    // The evidence came along and is sealed afresh: the screenshot of shard 1 is there.
    let sealed = merged["evidence_files"].as_array().expect("evidence_files");
    let shot = sealed
        .iter()
        .find(|e| e["path"].as_str().is_some_and(|p| p.starts_with("a-open/")))
        .unwrap_or_else(|| panic!("a-open's screenshot is sealed: {merged:#}"));
    assert!(merged_dir
        .join(shot["path"].as_str().expect("path"))
        .is_file());
    // JUnit and HTML rebuilt from the merged events, listing every flow.
    let junit = std::fs::read_to_string(merged_dir.join("junit.xml")).expect("junit.xml");
    let html = std::fs::read_to_string(merged_dir.join("index.html")).expect("index.html");
    for id in PLAN {
        assert!(junit.contains(id), "{id} in junit.xml:\n{junit}");
        assert!(html.contains(id), "{id} in index.html");
    }
    // Each shard's run-level files are kept apart.
    assert!(
        merged_dir.join("shards/1-of-2").is_dir() && merged_dir.join("shards/2-of-2").is_dir(),
        "{:?}",
        files_under(&merged_dir)
    );

    // `flows gate` accepts the merged run: its report and event log agree, its evidence holds,
    // and each criterion gets the verdict it gets on the unsharded run.
    let gate = |dir: PathBuf| async move {
        let out = FlowsCmd::new()
            .args(["gate", "--run", s(&dir)])
            .output()
            .await;
        (out, read_json(&dir.join("go-no-go.json")))
    };
    let (merged_gate, g) = gate(merged_dir.clone()).await;
    let (whole_gate, w) = gate(whole_dir.clone()).await;
    assert_eq!(g["run"]["problems"], serde_json::json!([]), "{g:#}");
    assert_eq!(merged_gate.code, whole_gate.code, "{}", merged_gate.all());
    let verdicts = |g: &serde_json::Value| -> Vec<(String, String)> {
        g["criteria"]
            .as_array()
            .expect("criteria")
            .iter()
            .map(|c| (c["id"].to_string(), c["verdict"].to_string()))
            .collect()
    };
    assert_eq!(verdicts(&g), verdicts(&w), "{g:#}");
    let flows_criterion = g["criteria"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "flows"))
        .expect("flows criterion");
    assert_eq!(flows_criterion["verdict"], "PASS", "{g:#}");

    // A flow of shard 2 fails: the merged run fails as the unsharded one would.
    fault(
        &app.url(),
        serde_json::json!({ "kind": "route_error", "path": "/login", "status": 500, "count": 1 }),
    )
    .await;
    let (red, red_dir) = run(
        suite.path(),
        &app.url(),
        &t.join("red"),
        &["--shard", "2/2", "--shard-by", "steps"],
    )
    .await;
    assert_eq!(red.code, 1, "{}", red.all());
    let red_merged = t.join("red-merged");
    let out = merge(&[&one_dir, &red_dir], &red_merged, &[])
        .output()
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = read_json(&red_merged.join("staging-run-report.json"));
    assert_eq!(ids(&report), PLAN);
    assert_eq!(flow(&report, "c-login")["status"], "failed");
    assert_eq!(flow(&report, "a-open")["status"], "passed");
    assert_eq!(report["totals"]["failed"], 1);
    let (red_gate, g) = gate(red_merged.clone()).await;
    assert_eq!(red_gate.code, 1, "NO-GO: {}", red_gate.all());
    assert_eq!(g["run"]["problems"], serde_json::json!([]), "{g:#}");
    let flows_criterion = g["criteria"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "flows"))
        .expect("flows criterion");
    assert_eq!(flows_criterion["verdict"], "FAILED", "{g:#}");

    let fingerprint = r1["environment"]["suite_fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    refusals(&fingerprint, t, &one_dir, &two_dir).await;
}

/// Copies a run directory (to tamper with the copy).
fn copy_dir(from: &Path, to: &Path) {
    for f in files_under(from) {
        let rel = f.strip_prefix(from).expect("under");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&f, &dest).expect("copy");
    }
}

fn edit_report(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("staging-run-report.json");
    let mut r = read_json(&path);
    f(&mut r);
    std::fs::write(&path, serde_json::to_vec_pretty(&r).expect("json")).expect("write");
}

/// Mismatched shards are refused with a message (exit 2), before anything is written.
async fn refusals(fingerprint: &str, t: &Path, one: &Path, two: &Path) {
    let refused = |name: &str| t.join(format!("refused-{name}"));
    let mut messages = Vec::new();
    let mut refuse = |label: &str, out: Output, dir: &Path| {
        assert_eq!(out.code, 2, "{label}: {}", out.all());
        assert!(!dir.join("staging-run-report.json").exists(), "{label}");
        let text = out
            .stderr
            .replace(s(t), "[tmp]")
            .replace(&run_id_of(one), "[shard-1]")
            .replace(&run_id_of(two), "[shard-2]")
            // The suite's config names its temp dir.
            .replace(&fingerprint[..12], "[suite]");
        messages.push(format!("--- {label}\n{text}"));
    };

    // A shard missing.
    let out = merge(&[one], &refused("missing"), &[]).output().await;
    refuse("a shard missing", out, &refused("missing"));

    // The same shard twice.
    let out = merge(&[one, one], &refused("twice"), &[]).output().await;
    refuse("the same shard twice", out, &refused("twice"));

    // Another suite.
    let other = t.join("other-suite");
    copy_dir(two, &other);
    edit_report(&other, |r| {
        r["environment"]["suite_fingerprint"] = "0123456789abcdef0123".into();
    });
    let out = merge(&[one, &other], &refused("suite"), &[]).output().await;
    refuse("another suite", out, &refused("suite"));

    // Another schema version.
    let old = t.join("old-schema");
    copy_dir(two, &old);
    edit_report(&old, |r| r["schema_version"] = 2.into());
    let out = merge(&[one, &old], &refused("schema"), &[]).output().await;
    refuse("another schema version", out, &refused("schema"));

    // A flow in two shards (a shard 2 that also claims shard 1's flow).
    let overlap = t.join("overlap");
    copy_dir(two, &overlap);
    edit_report(&overlap, |r| {
        let first = r["flows"][0].clone();
        let mut dup = first;
        dup["id"] = "a-open".into();
        r["flows"].as_array_mut().expect("flows").push(dup);
    });
    let out = merge(&[one, &overlap], &refused("overlap"), &[])
        .output()
        .await;
    refuse("a flow in two shards", out, &refused("overlap"));

    // Not a shard at all.
    let unsharded = t.join("unsharded");
    copy_dir(two, &unsharded);
    edit_report(&unsharded, |r| {
        r.as_object_mut().expect("object").remove("shard");
    });
    let out = merge(&[one, &unsharded], &refused("unsharded"), &[])
        .output()
        .await;
    refuse("not a shard", out, &refused("unsharded"));

    insta::assert_snapshot!("merge_refusals", messages.join("\n"));

    // --allow-partial: shard 2's flows are not_run, the merged run incomplete (exit 4).
    let partial = t.join("partial");
    let out = merge(&[one], &partial, &["--allow-partial"]).output().await;
    assert_eq!(out.code, 4, "{}", out.all());
    let report = read_json(&partial.join("staging-run-report.json"));
    assert_eq!(ids(&report), PLAN);
    assert_eq!(report["outcome"], "aborted");
    assert_eq!(flow(&report, "b-up")["status"], "not_run");
    assert!(
        report["outcome_reason"]
            .as_str()
            .is_some_and(|r| r.contains("incomplete: shard 2/2 not merged")),
        "{report:#}"
    );
    assert_eq!(report["merged"]["missing"], serde_json::json!(["2/2"]));
}

fn run_id_of(dir: &Path) -> String {
    dir.file_name()
        .and_then(|n| n.to_str())
        .expect("run id")
        .to_owned()
}

/// More shards than chains: the empty shard starts nothing, exits 0 and its report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_shard_runs_nothing_and_says_so() {
    let suite = suite();
    let out_root = suite.path().join("artifacts");
    // No target is reachable: an empty shard must not need one.
    let out = FlowsCmd::new()
        .cwd(suite.path())
        .args([
            "run",
            "--all",
            "--shard",
            "4/4",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .args(["--output", s(&out_root)])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = read_json(&run_dir(&out_root).join("staging-run-report.json"));
    assert_eq!(report["flows"], serde_json::json!([]));
    assert_eq!(report["outcome"], "completed");
    assert_eq!(report["shard"]["index"], 4);
    assert_eq!(report["shard"]["plan"].as_array().map(Vec::len), Some(5));
    let notices = report["notices"].to_string();
    assert!(notices.contains("shard 4/4 is empty"), "{report:#}");
}

/// Bad `--shard` values are usage errors (exit 2) found before anything starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_shard_values_are_refused_before_anything_starts() {
    let suite = suite();
    let mut seen = Vec::new();
    for value in ["0/2", "3/2", "1/0", "x/2", "2"] {
        let out = FlowsCmd::new()
            .cwd(suite.path())
            .args([
                "run",
                "--all",
                "--base-url",
                "http://127.0.0.1:9",
                "--shard",
                value,
            ])
            .output()
            .await;
        assert_eq!(out.code, 2, "{value}: {}", out.all());
        let first = out.stderr.lines().next().unwrap_or_default().to_owned();
        seen.push(first);
    }
    assert!(!suite.path().join("artifacts").exists(), "nothing started");
    insta::assert_snapshot!("bad_shard_values", seen.join("\n"));
}
