//! What one `--trace on` frame and one DOM snapshot cost, call by call, in real Chromium against
//! the demo helpdesk (issue 18). Prints the median and spread of each; asserts nothing (times
//! are not test material).
//!
//! `cargo run --release --example trace_cost [-- PATH ...]` (default pages: `/login`, `/lab`)

use std::time::{Duration, Instant};

use flows::config::BrowserConfig;
use flows::exec::browser::{BrowserSession, Driver, TRACE_JPEG_QUALITY};
use serde_json::json;

const ROUNDS: usize = 15;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let paths = if paths.is_empty() {
        vec!["/login".to_owned(), "/lab".to_owned()]
    } else {
        paths
    };
    let app = helpdesk::serve(helpdesk::Config::default()).await?;
    let logs = tempfile::tempdir()?;
    let cfg = BrowserConfig::default();
    let mut driver = Driver::start(&cfg, &logs.path().join("chromedriver.log")).await?;
    let session = BrowserSession::open(&driver, &cfg, "bench").await?;
    println!(
        "{} {} (window {}x{}), {ROUNDS} rounds per figure: median (min–max) ms, size",
        session.browser_name, session.browser_version, cfg.window.0, cfg.window.1
    );
    let out = tempfile::tempdir()?;
    for path in &paths {
        session.goto(&format!("{}{path}", app.url())).await?;
        println!("\n{path}");
        report(
            "WebDriver Take Screenshot (PNG)",
            time(|| async { session.screenshot().await.map_or(0, |b| b.len()) }).await,
        );
        let png_now = session.screenshot().await.unwrap_or_default();
        report(
            "  + PNG decode + JPEG q70 encode (image crate)",
            time(|| async { to_jpeg(&png_now).len() }).await,
        );
        report(
            "CDP Page.captureScreenshot PNG",
            time(|| async { session.full_page_screenshot().await.map_or(0, |b| b.len()) }).await,
        );
        report(
            &format!("CDP Page.captureScreenshot JPEG q{TRACE_JPEG_QUALITY}"),
            time(|| async {
                session
                    .cdp_jpeg(TRACE_JPEG_QUALITY)
                    .await
                    .map_or(0, |b| b.len())
            })
            .await,
        );
        for (what, params) in [
            (
                "CDP JPEG q70, no optimizeForSpeed",
                json!({"format": "jpeg", "quality": 70}),
            ),
            (
                "CDP JPEG q50",
                json!({"format": "jpeg", "quality": 50, "optimizeForSpeed": true}),
            ),
            (
                "CDP JPEG q70, clip scale 0.5",
                json!({"format": "jpeg", "quality": 70, "optimizeForSpeed": true,
                "clip": {"x": 0, "y": 0, "width": cfg.window.0, "height": cfg.window.1, "scale": 0.5}}),
            ),
            (
                "CDP WebP q70",
                json!({"format": "webp", "quality": 70, "optimizeForSpeed": true}),
            ),
        ] {
            let p = params.clone();
            report(
                what,
                time(|| {
                    let p = p.clone();
                    let session = &session;
                    async move { session.cdp_capture(p).await.map_or(0, |b| b.len()) }
                })
                .await,
            );
        }
        report(
            "BiDi captureScreenshot JPEG q0.7 (+ Get Window Handle)",
            time(|| async {
                session
                    .bidi_screenshot("image/jpeg", 0.7)
                    .await
                    .map_or(0, |b| b.len())
            })
            .await,
        );
        report(
            "DOM snapshot (page script, styles inlined)",
            time(|| async {
                let r = session
                    .page(json!({"op": "snapshot", "snapshot": true}), Duration::ZERO)
                    .await;
                r.map_or(0, |r| r.value.to_string().len())
            })
            .await,
        );
        let jpeg = session
            .cdp_jpeg(TRACE_JPEG_QUALITY)
            .await
            .unwrap_or_default();
        let target = out.path().join("frame.jpg");
        report(
            "write a JPEG frame (artifact::write_transient)",
            time(|| async {
                flows::artifact::write_transient(&target, &jpeg).map_or(0, |_| jpeg.len())
            })
            .await,
        );
        report(
            "a trivial round trip (Get Title)",
            time(|| async { session.title().await.map_or(0, |t| t.len()) }).await,
        );
    }
    session.close().await;
    driver.stop(false).await;
    drop(app);
    Ok(())
}

/// Runs `f` ROUNDS times; returns the milliseconds of each and the last size.
async fn time<F, Fut>(mut f: F) -> (Vec<f64>, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut ms = Vec::with_capacity(ROUNDS);
    let mut size = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        size = f().await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (ms, size)
}

fn report(what: &str, (mut ms, size): (Vec<f64>, usize)) {
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    println!(
        "  {what:<56} {median:7.1} ({:.1}–{:.1}) ms  {:>7.1} KiB",
        ms[0],
        ms[ms.len() - 1],
        size as f64 / 1024.0
    );
}

fn to_jpeg(png: &[u8]) -> Vec<u8> {
    let Ok(img) = image::load_from_memory(png) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 70);
    let _ = enc.encode_image(&img.to_rgb8());
    out
}
