//! Secrets in pixels: fields that hold a secret are masked in every screenshot and trace frame,
//! and put back as they were afterwards.

use std::path::Path;

use axum::response::Html;
use axum::routing::get;
use base64::Engine as _;

use crate::support::{
    add_config, files_under, read_json, run_dir, serve, temp_suite, FlowsCmd, Output,
};

const PASSWORD: &str = "Pw-7tQx2LmZ9vR4k";
const API_TOKEN: &str = "tok4Kp9ZxW2mQ7vN";

/// Where the fields of both test pages are: the boxes below measure inside them.
macro_rules! field_style {
    () => {
        r#"<style>
  body { margin: 0; background: #fff; }
  input { position: absolute; left: 40px; width: 600px; height: 80px; padding: 0 10px;
          font: bold 48px monospace; color: #000; background: #fff; border: 0; outline: 0; }
  label { position: absolute; left: 700px; }
  button { position: absolute; left: 700px; top: 400px; }
  #password { top: 40px; } #token { top: 160px; } #plain { top: 280px; }
</style>
"#
    };
}

/// Three big text fields at known places (device pixel ratio 1): the user's password shown in
/// clear (a "show password" field), an API token, and a plain value as the control.
const PAGE: &str = concat!(
    "<!doctype html><title>mask</title>\n",
    field_style!(),
    r#"<label for="password" style="top:40px">Password</label><input id="password" type="text">
<label for="token" style="top:160px">Token</label><input id="token" type="text">
<label for="plain" style="top:280px">Plain</label><input id="plain" type="text">
"#
);

/// The API token is a declared secret; the window is 1000 px wide (boxes below are in it).
const TOKEN_IS_SECRET: &str = "\n[secrets]\nenv = [\"FLOWS_TEST_API_TOKEN\"]\n[browser]\nwindow_width = 1000\nwindow_height = 800\n";

/// (left, top, width, height) of each field, inset so borders and anti-aliasing stay out.
const PASSWORD_BOX: (u32, u32, u32, u32) = (48, 48, 584, 64);
const TOKEN_BOX: (u32, u32, u32, u32) = (48, 168, 584, 64);
const PLAIN_BOX: (u32, u32, u32, u32) = (48, 288, 584, 64);

/// `flows run --all --trace on` of the suite at `root` against `base`, with `env`; it passes.
async fn run_traced(root: &Path, base: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = FlowsCmd::new().cwd(root);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out = cmd
        .args(["run", "--all", "--skip-web-server", "--skip-health-check"])
        .args(["--trace", "on", "--base-url", base])
        .output()
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    out
}

/// Share of dark pixels (luma < 80) in a box of an image.
fn dark_share(img: &image::RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> f64 {
    let mut dark = 0u32;
    for py in y..y + h {
        for px in x..x + w {
            let p = img.get_pixel(px, py).0;
            let luma =
                (u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000;
            if luma < 80 {
                dark += 1;
            }
        }
    }
    f64::from(dark) / f64::from(w * h)
}

/// A box of the 1000 px wide window in `img`: screencast frames are scaled down to fit
/// 800 px, captured frames are not.
fn scaled(img: &image::RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> (u32, u32, u32, u32) {
    let k = f64::from(img.width()) / 1000.0;
    let s = |v: u32| (f64::from(v) * k).round() as u32;
    // Inset by a pixel more, so scaled edges stay inside the field.
    (
        s(x) + 1,
        s(y) + 1,
        s(w).saturating_sub(2),
        s(h).saturating_sub(2),
    )
}

fn decode(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes).expect("an image").to_rgb8()
}

/// Every frame (JPEG/PNG) embedded in a trace file.
fn trace_frames(trace: &Path) -> Vec<image::RgbImage> {
    let html = std::fs::read_to_string(trace).expect("trace.html");
    let re = regex::Regex::new(r#"data:image/(?:jpeg|png);base64,([A-Za-z0-9+/=]+)"#).expect("re");
    re.captures_iter(&html)
        .map(|c| {
            decode(
                &base64::engine::general_purpose::STANDARD
                    .decode(&c[1])
                    .expect("base64"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_holding_a_secret_are_masked_in_screenshots_and_trace_frames() {
    let base = serve(axum::Router::new().route("/", get(|| async { Html(PAGE) }))).await;
    let suite = temp_suite(&[(
        "mask.yaml",
        r##"id: mask
title: Secrets are masked in pixels
user: requester
steps:
  - goto: /
  - fill: { label: Password, value: "{{ user.password }}" }
  - fill: { label: Token, value: "{{ env.FLOWS_TEST_API_TOKEN }}" }
  - fill: { label: Plain, value: "HELLO WORLD" }
  - screenshot: fields
  # The mask is taken off again: the field's style attribute is as the page left it.
  - expect: { css: "#password:not([style])" }
  - expect: { css: "#token:not([style])" }
"##,
    )]);
    // The requester's password comes from the environment; the API token is a declared secret.
    let config_path = suite.path().join("flows/flows.toml");
    let config = std::fs::read_to_string(&config_path).expect("config").replace(
        "[users.requester]\nemail = \"requester@helpdesk.test\"\n",
        "[users.requester]\nemail = \"requester@helpdesk.test\"\npassword_env = \"FLOWS_TEST_PASSWORD\"\n",
    );
    assert!(config.contains("password_env"), "{config}");
    std::fs::write(&config_path, config).expect("config");
    add_config(suite.path(), TOKEN_IS_SECRET);
    let out = run_traced(
        suite.path(),
        &base,
        &[
            ("FLOWS_TEST_PASSWORD", PASSWORD),
            ("FLOWS_TEST_API_TOKEN", API_TOKEN),
        ],
    )
    .await;
    let run = run_dir(&suite.path().join("artifacts"));

    // The screenshot step's PNG: both secret fields are solid boxes, the plain one shows text.
    let shot = files_under(&run)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("-fields.png"))
        .expect("the screenshot");
    let img = decode(&std::fs::read(&shot).expect("png"));
    assert!(
        dark_share(&img, PASSWORD_BOX) > 0.97,
        "the password field is masked: {}",
        dark_share(&img, PASSWORD_BOX)
    );
    assert!(
        dark_share(&img, TOKEN_BOX) > 0.97,
        "the token field is masked"
    );
    let plain = dark_share(&img, PLAIN_BOX);
    assert!(
        plain > 0.03 && plain < 0.6,
        "the control field shows its text (so the check can see text): {plain}"
    );

    // Trace frames: no frame shows text in a secret field (empty before the fill, masked
    // after), and some frame shows the masked box.
    let trace = run.join("mask/trace.html");
    let frames = trace_frames(&trace);
    assert!(frames.len() >= 3, "frames in the trace: {}", frames.len());
    let mut masked_frames = 0;
    for (i, f) in frames.iter().enumerate() {
        for (name, b) in [("password", PASSWORD_BOX), ("token", TOKEN_BOX)] {
            let share = dark_share(f, scaled(f, b));
            assert!(
                !(0.02..=0.9).contains(&share),
                "frame {i} shows text in the {name} field (dark share {share})"
            );
            if share > 0.9 {
                masked_frames += 1;
            }
        }
    }
    assert!(masked_frames >= 2, "the masked fields appear in the frames");

    // And no byte of any artifact holds either value.
    for file in files_under(&run) {
        let bytes = std::fs::read(&file).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        for s in [PASSWORD, API_TOKEN] {
            assert!(!text.contains(s), "{} holds a secret", file.display());
        }
    }
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
    let report = read_json(&run.join("staging-run-report.json"));
    let summaries: Vec<String> = report["flows"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["summary"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.contains("label~\"password\" with \"[redacted]\"")),
        "{summaries:?}"
    );
    assert!(
        summaries.iter().any(|s| s.contains("HELLO WORLD")),
        "{summaries:?}"
    );
}

/// A token field, a button that empties it, and a plain field: the token is typed, taken off
/// the page, typed again.
const CLEARED_PAGE: &str = concat!(
    "<!doctype html><title>clear</title>\n",
    field_style!(),
    r#"<label for="token" style="top:160px">Token</label><input id="token" type="text">
<label for="plain" style="top:280px">Plain</label><input id="plain" type="text">
<button onclick="document.getElementById('token').value = ''">Clear</button>
"#
);

/// Once a typed secret is no longer on the page, trace frames come from the screencast again
/// (a capture per step for the rest of the run was the cost of typing an OTP), and typing it
/// again masks again: no frame ever shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_frames_come_from_the_screencast_again_once_the_secret_is_off_the_page() {
    let base = serve(axum::Router::new().route("/", get(|| async { Html(CLEARED_PAGE) }))).await;
    let suite = temp_suite(&[(
        "cleared.yaml",
        r##"id: cleared
title: A secret typed, taken off the page, typed again
user: requester
steps:
  - goto: /
  - fill: { label: Token, value: "{{ env.FLOWS_TEST_API_TOKEN }}" }
  - expect: { label: Token, visible: true }
  - click: { role: button, name: Clear }
  - fill: { label: Plain, value: "HELLO WORLD" }
  - expect: { label: Plain, visible: true }
  - fill: { label: Token, value: "{{ env.FLOWS_TEST_API_TOKEN }}" }
  - expect: { label: Token, visible: true }
"##,
    )]);
    add_config(suite.path(), TOKEN_IS_SECRET);
    let out = run_traced(
        suite.path(),
        &base,
        &[
            ("FLOWS_TEST_API_TOKEN", API_TOKEN),
            ("RUST_LOG", "flows::exec=debug"),
        ],
    )
    .await;
    let resumed = out.stderr.matches("screencast resumed").count();
    assert_eq!(
        resumed,
        1,
        "resumed once, after Clear (not while the token is on the page):\n{}",
        out.all()
    );

    let run = run_dir(&suite.path().join("artifacts"));
    let frames = trace_frames(&run.join("cleared/trace.html"));
    assert!(frames.len() >= 4, "frames in the trace: {}", frames.len());
    let (mut masked, mut plain_shown) = (0, 0);
    for (i, f) in frames.iter().enumerate() {
        let share = dark_share(f, scaled(f, TOKEN_BOX));
        assert!(
            !(0.02..=0.9).contains(&share),
            "frame {i} shows text in the token field (dark share {share})"
        );
        masked += usize::from(share > 0.9);
        let plain = dark_share(f, scaled(f, PLAIN_BOX));
        plain_shown += usize::from(plain > 0.03 && plain < 0.6);
    }
    assert!(masked >= 2, "the masked token appears in frames: {masked}");
    assert!(
        plain_shown >= 1,
        "frames after the resume show the page (the plain text)"
    );
    for file in files_under(&run) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).expect("read")).into_owned();
        assert!(
            !text.contains(API_TOKEN),
            "{} holds the token",
            file.display()
        );
    }
    assert!(!out.all().contains(API_TOKEN), "the output holds the token");
}
