//! `expect_screenshot` on real Chromium against the demo helpdesk's `/lab/visual` page: a
//! missing baseline fails and leaves a candidate, `--update-snapshots missing` writes the
//! baselines, a page whose clock changes every few milliseconds then passes with the clock
//! masked, the `accent_color` fault switch makes it fail with expected/actual/diff PNGs as
//! evidence, and `--update-snapshots` adopts the change.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::*;

const FLOW: &str = r#"id: visual
title: The visual lab card
user: requester
steps:
  - goto: /lab/visual
  - expect_screenshot:
      name: page
      mask: [{ test_id: rendered-at }]
  - expect_screenshot:
      name: card
      element: { test_id: visual-card }
      mask: [{ test_id: rendered-at }]
"#;

struct Run {
    code: i32,
    all: String,
    dir: PathBuf,
    report: serde_json::Value,
}

async fn run(suite: &Path, base: &str, out: &str, extra: &[&str]) -> Run {
    let output = suite.join(out);
    let o = output.display().to_string();
    let mut args = vec!["--skip-health-check", "-o", o.as_str()];
    args.extend_from_slice(extra);
    let r = FlowsCmd::new()
        .cwd(suite)
        .run_all(base)
        .args(args)
        .output()
        .await;
    let dir = run_dir(&output);
    let report = read_json(&dir.join("staging-run-report.json"));
    Run {
        code: r.code,
        all: r.all(),
        dir,
        report,
    }
}

fn baseline(suite: &Path, name: &str) -> PathBuf {
    suite.join(format!("flows/__screenshots__/visual/{name}-chrome.png"))
}

fn step_error(report: &serde_json::Value, index: usize) -> String {
    flow(report, "visual")["steps"][index]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn artifacts_of_kind(report: &serde_json::Value, kind: &str) -> Vec<String> {
    flow(report, "visual")["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["kind"] == kind)
        .filter_map(|a| a["path"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_screenshot_masks_catches_a_colour_change_and_updates() {
    let app = helpdesk().await;
    let base = app.url();
    let suite = temp_suite(&[("visual.yaml", FLOW)]);
    let root = suite.path();

    // No baseline yet: the step fails and keeps what it saw as the candidate; nothing is
    // written into the suite.
    let first = run(root, &base, "out-1", &[]).await;
    assert_eq!(first.code, 1, "{}", first.all);
    let error = step_error(&first.report, 1);
    assert!(error.contains("no baseline"), "{error}");
    assert!(error.contains("--update-snapshots missing"), "{error}");
    let candidates = artifacts_of_kind(&first.report, "screenshot_actual");
    assert!(!candidates.is_empty(), "{:#}", first.report);
    assert!(first.dir.join(&candidates[0]).is_file());
    assert!(!baseline(root, "page").exists());

    // --update-snapshots missing writes both baselines and passes.
    let adopt = run(root, &base, "out-2", &["--update-snapshots", "missing"]).await;
    assert_eq!(adopt.code, 0, "{}", adopt.all);
    let card = std::fs::read(baseline(root, "card")).expect("card baseline written");
    assert!(baseline(root, "page").is_file());
    let card_img = image::load_from_memory(&card).expect("a PNG").to_rgba8();
    // The element screenshot is the card, not the viewport.
    assert!(
        card_img.width() < 1280 && card_img.height() < 900,
        "{:?}",
        card_img.dimensions()
    );
    // The mask is painted in magenta where the clock is.
    assert!(
        card_img.pixels().any(|p| p.0 == [255, 0, 255, 255]),
        "no masked pixels in the card baseline"
    );

    // The clock has moved on since; with it masked and animations frozen, both steps pass.
    let again = run(root, &base, "out-3", &[]).await;
    assert_eq!(again.code, 0, "{}", again.all);

    // The fault switch repaints the button: the comparison fails with figures and evidence.
    fault(
        &base,
        json!({"kind": "accent_color", "color": "#c0392b", "count": 1}),
    )
    .await;
    let broken = run(root, &base, "out-4", &[]).await;
    assert_eq!(broken.code, 1, "{}", broken.all);
    let error = step_error(&broken.report, 1);
    assert!(error.contains("pixels differ"), "{error}");
    assert!(error.contains("--update-snapshots"), "{error}");
    for kind in [
        "screenshot_expected",
        "screenshot_actual",
        "screenshot_diff",
    ] {
        let files = artifacts_of_kind(&broken.report, kind);
        assert_eq!(files.len(), 1, "{kind}: {:#}", broken.report);
        assert!(broken.dir.join(&files[0]).is_file(), "{kind}");
    }
    let diff_path = broken
        .dir
        .join(&artifacts_of_kind(&broken.report, "screenshot_diff")[0]);
    let diff = image::open(&diff_path).expect("diff PNG").to_rgba8();
    let red = diff.pixels().filter(|p| p.0 == [255, 0, 0, 255]).count();
    assert!(
        red > 100,
        "the diff marks the repainted button: {red} red pixels"
    );

    // --update-snapshots adopts the change: the run passes and the baseline is the new look.
    fault(
        &base,
        json!({"kind": "accent_color", "color": "#c0392b", "count": 1}),
    )
    .await;
    let update = run(root, &base, "out-5", &["--update-snapshots"]).await;
    assert_eq!(update.code, 0, "{}", update.all);
    assert_ne!(
        std::fs::read(baseline(root, "card")).expect("card baseline"),
        card,
        "the card baseline was rewritten"
    );
}
