//! What one `expect_screenshot` comparison costs, part by part, in real Chromium against the
//! demo helpdesk's `/lab/visual` (issue 22): the screenshot, decoding it, comparing it with an
//! equal baseline (the passing case) and with a changed one (the failing case, diff image
//! drawn), and encoding the diff PNG kept as evidence. Prints the median and spread of each;
//! asserts nothing (times are not test material).
//!
//! `cargo run --release --example visual_compare`

use std::time::{Duration, Instant};

use flows::config::BrowserConfig;
use flows::exec::browser::{BrowserSession, Driver};
use flows::visual::{self, Limits};

const ROUNDS: usize = 15;

fn row(what: &str, mut times: Vec<Duration>, extra: &str) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} {:>8.2} ({:.2}–{:.2}) {extra}",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let app = helpdesk::serve(helpdesk::Config {
        staging: true,
        ..Default::default()
    })
    .await?;
    let logs = tempfile::tempdir()?;
    let cfg = BrowserConfig::default();
    let mut driver = Driver::start(&cfg, &logs.path().join("chromedriver.log")).await?;
    let session = BrowserSession::open(&driver, &cfg, "bench").await?;
    session.goto(&format!("{}/lab/visual", app.url())).await?;
    println!(
        "{} {} (window {}x{}), {ROUNDS} rounds per figure: median (min–max) ms",
        session.browser_name, session.browser_version, cfg.window.0, cfg.window.1
    );

    let (mut shoot, mut decode) = (Vec::new(), Vec::new());
    let mut png = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        png = session.visual_png(None, false).await?.0;
        shoot.push(t.elapsed());
        let t = Instant::now();
        let _ = visual::decode(&png)?;
        decode.push(t.elapsed());
    }
    let baseline = visual::decode(&png)?;
    let pixels = u64::from(baseline.width()) * u64::from(baseline.height());
    row(
        "screenshot (viewport PNG over WebDriver/CDP)",
        shoot,
        &format!("{} KiB", png.len() / 1024),
    );
    row("decode PNG to RGBA", decode, &format!("{pixels} px"));

    let mut changed = baseline.clone();
    for (x, y, p) in changed.enumerate_pixels_mut() {
        if x % 7 == 0 && y < 200 {
            *p = image::Rgba([200, 30, 30, 255]);
        }
    }
    let limits = Limits::default();
    let (mut same, mut differ, mut encode) = (Vec::new(), Vec::new(), Vec::new());
    let mut figures = String::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let v = visual::compare(&baseline, &baseline.clone(), &limits);
        same.push(t.elapsed());
        assert!(v.matches());
        let t = Instant::now();
        let v = visual::compare(&baseline, &changed, &limits);
        differ.push(t.elapsed());
        figures = v.figures();
        if let visual::Verdict::Mismatch { diff, .. } = v {
            let t = Instant::now();
            let _ = visual::encode_png(&diff.image)?;
            encode.push(t.elapsed());
        }
    }
    row("compare with an equal baseline (passes)", same, "");
    row("compare with a changed one (diff image)", differ, &figures);
    row("encode the diff PNG (evidence, on failure)", encode, "");
    println!(
        "a passing step takes one screenshot when the page already matches, else one more per \
         settling round; each adds the screenshot, decode and compare above plus the page \
         preparation round trips (freeze, masks, clean-up)"
    );

    session.close().await;
    driver.stop(false).await;
    Ok(())
}
