//! Visual comparison for `expect_screenshot`: where a baseline lives, when `--update-snapshots`
//! writes one, and how two screenshots compare (`diff`: a pixelmatch-style perceptual diff
//! with anti-aliasing detection) against the step's limits, with the figures a failure
//! states. Pure: no browser and no files (the step in `exec::step::visual` does both).

pub mod diff;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::RgbaImage;

pub use self::diff::{Diff, DiffOptions, SizeMismatch};

/// `--update-snapshots [all|missing]`: which baselines a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum UpdateSnapshots {
    /// Compare only; a missing baseline fails the step (the screenshot is kept as a candidate).
    #[default]
    None,
    /// Write a baseline wherever the screenshot differs from it or it is missing.
    All,
    /// Write only missing baselines; compare against the others.
    Missing,
}

/// The baseline of screenshot `name` of flow `flow` in `browser`:
/// `<flows dir>/__screenshots__/<flow>/<name>-<browser>.png`.
pub fn baseline_path(flows_dir: &Path, flow: &str, name: &str, browser: &str) -> PathBuf {
    flows_dir
        .join("__screenshots__")
        .join(flow)
        .join(format!("{name}-{}.png", file_word(browser)))
}

/// A browser name as a file-name word (`chrome`, `MicrosoftEdge` → `microsoftedge`).
fn file_word(browser: &str) -> String {
    let w: String = browser
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if w.is_empty() {
        "browser".to_owned()
    } else {
        w
    }
}

/// What may differ before a comparison fails; by default nothing (beyond the per-pixel
/// `threshold` and anti-aliasing), as in Playwright.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub max_diff_pixels: Option<u64>,
    pub max_diff_ratio: Option<f64>,
    pub diff: DiffOptions,
}

impl Limits {
    /// How many pixels may differ in an image of `total` pixels: the stricter of the two
    /// limits when both are given (Playwright's rule), 0 when neither is.
    pub fn allowed(&self, total: u64) -> u64 {
        let by_ratio = self
            .max_diff_ratio
            .map(|r| (r * total as f64).floor() as u64);
        match (self.max_diff_pixels, by_ratio) {
            (Some(p), Some(r)) => p.min(r),
            (Some(p), None) => p,
            (None, Some(r)) => r,
            (None, None) => 0,
        }
    }
}

/// The verdict of one comparison with a baseline.
#[derive(Debug)]
pub enum Verdict {
    /// Within the limits (`different` may be above 0 when the limits allow it).
    Match { different: u64, total: u64 },
    /// Too many pixels differ: the figures and the diff image.
    Mismatch { diff: Diff, allowed: u64 },
    /// The sizes differ (a changed viewport, a grown element).
    Size(SizeMismatch),
}

impl Verdict {
    pub fn matches(&self) -> bool {
        matches!(self, Verdict::Match { .. })
    }

    /// The figures, as a failure message states them.
    pub fn figures(&self) -> String {
        match self {
            Verdict::Match { different, total } => {
                format!("{different} of {total} pixels differ, within the limits")
            }
            Verdict::Mismatch { diff, allowed } => format!(
                "{} of {} pixels differ ({:.4} %), more than the {allowed} allowed{}",
                diff.different,
                diff.total,
                diff.ratio() * 100.0,
                if diff.anti_aliased > 0 {
                    format!("; {} anti-aliased pixels not counted", diff.anti_aliased)
                } else {
                    String::new()
                }
            ),
            Verdict::Size(s) => format!(
                "the screenshot is {}x{} but the baseline is {}x{}",
                s.actual.0, s.actual.1, s.expected.0, s.expected.1
            ),
        }
    }
}

/// Compares `actual` with `expected` under `limits`.
pub fn compare(expected: &RgbaImage, actual: &RgbaImage, limits: &Limits) -> Verdict {
    match diff::diff(expected, actual, limits.diff) {
        Err(size) => Verdict::Size(size),
        Ok(d) => {
            let allowed = limits.allowed(d.total);
            if d.different <= allowed {
                Verdict::Match {
                    different: d.different,
                    total: d.total,
                }
            } else {
                Verdict::Mismatch { diff: d, allowed }
            }
        }
    }
}

/// Decodes a PNG (or any format `image` was built with) to RGBA.
pub fn decode(bytes: &[u8]) -> Result<RgbaImage, image::ImageError> {
    Ok(image::load_from_memory(bytes)?.to_rgba8())
}

/// Encodes RGBA as PNG.
pub fn encode_png(img: &RgbaImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// The part of `img` inside `(x, y, w, h)`, clipped to the image; `None` when nothing is left.
pub fn crop(img: &RgbaImage, (x, y, w, h): (u32, u32, u32, u32)) -> Option<RgbaImage> {
    let (iw, ih) = img.dimensions();
    if x >= iw || y >= ih {
        return None;
    }
    let (w, h) = (w.min(iw - x), h.min(ih - y));
    if w == 0 || h == 0 {
        return None;
    }
    Some(image::imageops::crop_imm(img, x, y, w, h).to_image())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn baselines_live_beside_the_flows_per_flow_and_browser() {
        assert_eq!(
            baseline_path(Path::new("flows"), "ticket", "ticket-page", "chrome"),
            Path::new("flows/__screenshots__/ticket/ticket-page-chrome.png")
        );
        assert_eq!(
            baseline_path(Path::new("f"), "x", "n", "Microsoft Edge"),
            Path::new("f/__screenshots__/x/n-microsoftedge.png")
        );
    }

    #[test]
    fn both_limits_given_the_stricter_one_holds() {
        let mut l = Limits::default();
        assert_eq!(l.allowed(10_000), 0);
        l.max_diff_pixels = Some(50);
        assert_eq!(l.allowed(10_000), 50);
        l.max_diff_ratio = Some(0.001);
        assert_eq!(l.allowed(10_000), 10);
        l.max_diff_pixels = None;
        assert_eq!(l.allowed(100_000), 100);
    }

    #[test]
    fn a_mismatch_states_its_figures_and_limits_can_allow_it() {
        let a = RgbaImage::from_pixel(10, 10, Rgba([255, 255, 255, 255]));
        let mut b = a.clone();
        for x in 0..3 {
            b.put_pixel(x, 5, Rgba([0, 0, 0, 255]));
        }
        let strict = compare(&a, &b, &Limits::default());
        assert!(!strict.matches());
        assert_eq!(
            strict.figures(),
            "3 of 100 pixels differ (3.0000 %), more than the 0 allowed"
        );
        let lenient = Limits {
            max_diff_pixels: Some(3),
            ..Limits::default()
        };
        assert!(compare(&a, &b, &lenient).matches());
        let size = compare(&a, &RgbaImage::new(10, 11), &Limits::default());
        assert_eq!(
            size.figures(),
            "the screenshot is 10x11 but the baseline is 10x10"
        );
    }

    #[test]
    fn png_round_trips_and_crops_clip_to_the_image() {
        let a = RgbaImage::from_pixel(4, 3, Rgba([1, 2, 3, 255]));
        let back = decode(&encode_png(&a).expect("encodes")).expect("decodes");
        assert_eq!(back, a);
        assert_eq!(
            crop(&a, (2, 1, 10, 10)).map(|c| c.dimensions()),
            Some((2, 2))
        );
        assert!(crop(&a, (4, 0, 1, 1)).is_none());
    }
}
