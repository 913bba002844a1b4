//! A perceptual image diff in the manner of pixelmatch: per pixel, the YIQ colour distance
//! against a threshold, with anti-aliased pixels (detected as Vyšniauskas, 2009, describes)
//! left out of the count. Written on `image`'s RGBA buffers; no I/O.

use image::{Rgba, RgbaImage};

/// How close two pixels must be to count as the same.
#[derive(Debug, Clone, Copy)]
pub struct DiffOptions {
    /// Per-pixel YIQ distance, 0 (exact) to 1 (anything goes); pixelmatch's and Playwright's
    /// default is 0.2.
    pub threshold: f64,
    /// Count anti-aliased pixels as differences too (off: they are drawn yellow, not counted).
    pub include_aa: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            threshold: 0.2,
            include_aa: false,
        }
    }
}

/// What a comparison found; `image` shows it (red: differs, yellow: anti-aliasing, faded
/// grey: the expected image).
#[derive(Debug)]
pub struct Diff {
    pub different: u64,
    pub anti_aliased: u64,
    pub total: u64,
    pub image: RgbaImage,
}

impl Diff {
    pub fn ratio(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.different as f64 / self.total as f64
        }
    }
}

/// The two images differ in size: nothing pixel by pixel to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeMismatch {
    pub expected: (u32, u32),
    pub actual: (u32, u32),
}

/// Compares `actual` with `expected`, pixel by pixel.
pub fn diff(
    expected: &RgbaImage,
    actual: &RgbaImage,
    opts: DiffOptions,
) -> Result<Diff, SizeMismatch> {
    if expected.dimensions() != actual.dimensions() {
        return Err(SizeMismatch {
            expected: expected.dimensions(),
            actual: actual.dimensions(),
        });
    }
    let (w, h) = expected.dimensions();
    // The largest YIQ distance is 35215 (black against white).
    let max_delta = 35215.0 * opts.threshold * opts.threshold;
    let mut out = RgbaImage::new(w, h);
    let (mut different, mut anti_aliased) = (0u64, 0u64);
    for y in 0..h {
        for x in 0..w {
            let a = *expected.get_pixel(x, y);
            let b = *actual.get_pixel(x, y);
            let delta = if a == b {
                0.0
            } else {
                color_delta(a, b, false)
            };
            if delta.abs() > max_delta {
                if !opts.include_aa
                    && (antialiased(expected, x, y, actual) || antialiased(actual, x, y, expected))
                {
                    anti_aliased += 1;
                    out.put_pixel(x, y, Rgba([255, 255, 0, 255]));
                } else {
                    different += 1;
                    out.put_pixel(x, y, Rgba([255, 0, 0, 255]));
                }
            } else {
                // The expected image, faded, so the red stands out where it is.
                let yv = rgb2y(blend(a)).clamp(0.0, 255.0);
                let v = (255.0 + (yv - 255.0) * 0.1) as u8;
                out.put_pixel(x, y, Rgba([v, v, v, 255]));
            }
        }
    }
    Ok(Diff {
        different,
        anti_aliased,
        total: u64::from(w) * u64::from(h),
        image: out,
    })
}

/// A pixel blended over white (a translucent pixel looks as it would on a white page).
fn blend(p: Rgba<u8>) -> (f64, f64, f64) {
    let a = f64::from(p[3]) / 255.0;
    let c = |v: u8| 255.0 + (f64::from(v) - 255.0) * a;
    (c(p[0]), c(p[1]), c(p[2]))
}

fn rgb2y((r, g, b): (f64, f64, f64)) -> f64 {
    r * 0.298_895_31 + g * 0.586_622_47 + b * 0.114_482_23
}
fn rgb2i((r, g, b): (f64, f64, f64)) -> f64 {
    r * 0.595_977_99 - g * 0.274_176_10 - b * 0.321_801_89
}
fn rgb2q((r, g, b): (f64, f64, f64)) -> f64 {
    r * 0.211_470_17 - g * 0.522_617_11 + b * 0.311_146_94
}

/// The squared YIQ distance of two pixels (negative when the second is lighter); only the
/// brightness difference with `y_only`.
fn color_delta(a: Rgba<u8>, b: Rgba<u8>, y_only: bool) -> f64 {
    let (p, q) = (blend(a), blend(b));
    let y = rgb2y(p) - rgb2y(q);
    if y_only {
        return y;
    }
    let i = rgb2i(p) - rgb2i(q);
    let qq = rgb2q(p) - rgb2q(q);
    let delta = 0.5053 * y * y + 0.299 * i * i + 0.1957 * qq * qq;
    if rgb2y(p) > rgb2y(q) {
        -delta
    } else {
        delta
    }
}

/// The 3×3 neighbourhood of (x, y), clipped to the image, and whether (x, y) is on its edge.
fn neighbourhood(img: &RgbaImage, x: u32, y: u32) -> (u32, u32, u32, u32, bool) {
    let (w, h) = img.dimensions();
    let (x0, y0) = (x.saturating_sub(1), y.saturating_sub(1));
    let (x2, y2) = ((x + 1).min(w - 1), (y + 1).min(h - 1));
    let edge = x == x0 || x == x2 || y == y0 || y == y2;
    (x0, y0, x2, y2, edge)
}

/// Is (x, y) of `img` anti-aliasing: between a darkest and a lightest neighbour, one of which
/// sits in a flat area (3+ equal siblings) in both images?
fn antialiased(img: &RgbaImage, x: u32, y: u32, other: &RgbaImage) -> bool {
    let (x0, y0, x2, y2, edge) = neighbourhood(img, x, y);
    let centre = *img.get_pixel(x, y);
    let mut zeroes = u32::from(edge);
    let (mut min, mut max) = (0.0f64, 0.0f64);
    let (mut min_at, mut max_at) = ((0, 0), (0, 0));
    for nx in x0..=x2 {
        for ny in y0..=y2 {
            if nx == x && ny == y {
                continue;
            }
            let delta = color_delta(centre, *img.get_pixel(nx, ny), true);
            if delta == 0.0 {
                zeroes += 1;
                if zeroes > 2 {
                    return false;
                }
            } else if delta < min {
                min = delta;
                min_at = (nx, ny);
            } else if delta > max {
                max = delta;
                max_at = (nx, ny);
            }
        }
    }
    if min == 0.0 || max == 0.0 {
        return false;
    }
    let flat = |(px, py): (u32, u32)| many_siblings(img, px, py) && many_siblings(other, px, py);
    flat(min_at) || flat(max_at)
}

/// Does (x, y) have 3 or more neighbours of exactly its colour?
fn many_siblings(img: &RgbaImage, x: u32, y: u32) -> bool {
    let (x0, y0, x2, y2, edge) = neighbourhood(img, x, y);
    let centre = img.get_pixel(x, y);
    let mut zeroes = u32::from(edge);
    for nx in x0..=x2 {
        for ny in y0..=y2 {
            if (nx != x || ny != y) && img.get_pixel(nx, ny) == centre {
                zeroes += 1;
                if zeroes > 2 {
                    return true;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(w: u32, h: u32, c: [u8; 4]) -> RgbaImage {
        RgbaImage::from_pixel(w, h, Rgba(c))
    }

    #[test]
    fn identical_images_have_no_difference() {
        let a = filled(20, 10, [10, 20, 30, 255]);
        let d = diff(&a, &a.clone(), DiffOptions::default()).expect("same size");
        assert_eq!((d.different, d.anti_aliased, d.total), (0, 0, 200));
        assert!(d.ratio().abs() < f64::EPSILON);
    }

    #[test]
    fn a_changed_block_is_counted_pixel_by_pixel() {
        let a = filled(20, 20, [255, 255, 255, 255]);
        let mut b = a.clone();
        for x in 5..10 {
            for y in 5..9 {
                b.put_pixel(x, y, Rgba([200, 0, 0, 255]));
            }
        }
        let d = diff(&a, &b, DiffOptions::default()).expect("same size");
        assert_eq!(d.different, 20);
        assert_eq!(*d.image.get_pixel(6, 6), Rgba([255, 0, 0, 255]));
        assert_ne!(*d.image.get_pixel(0, 0), Rgba([255, 0, 0, 255]));
    }

    #[test]
    fn the_threshold_decides_what_a_small_shift_in_colour_is() {
        let a = filled(4, 4, [100, 100, 100, 255]);
        let b = filled(4, 4, [104, 100, 100, 255]);
        let lenient = diff(&a, &b, DiffOptions::default()).expect("same size");
        assert_eq!(lenient.different, 0);
        let exact = DiffOptions {
            threshold: 0.0,
            ..DiffOptions::default()
        };
        assert_eq!(diff(&a, &b, exact).expect("same size").different, 16);
    }

    #[test]
    fn an_anti_aliased_edge_is_not_a_difference_unless_asked() {
        // A black/white edge; the actual image has a grey pixel where the edge is smoothed.
        let mut a = filled(9, 9, [255, 255, 255, 255]);
        for x in 0..9 {
            for y in 0..4 {
                a.put_pixel(x, y, Rgba([0, 0, 0, 255]));
            }
        }
        let mut b = a.clone();
        b.put_pixel(4, 4, Rgba([128, 128, 128, 255]));
        let d = diff(&a, &b, DiffOptions::default()).expect("same size");
        assert_eq!((d.different, d.anti_aliased), (0, 1));
        let strict = DiffOptions {
            include_aa: true,
            ..DiffOptions::default()
        };
        assert_eq!(diff(&a, &b, strict).expect("same size").different, 1);
    }

    #[test]
    fn different_sizes_are_reported_not_compared() {
        let e = diff(
            &filled(3, 2, [0; 4]),
            &filled(2, 3, [0; 4]),
            DiffOptions::default(),
        )
        .expect_err("sizes differ");
        assert_eq!((e.expected, e.actual), ((3, 2), (2, 3)));
    }
}
