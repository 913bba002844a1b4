//! `expect_screenshot`: its baseline name, what it captures (page, full page or one element),
//! its masks and its limits.

use crate::flowfile::ast::ExpectScreenshotStep;
use crate::flowfile::span::{Loc, Sp};

use super::FlowChecker;

impl FlowChecker<'_> {
    pub(super) fn expect_screenshot(&mut self, i: usize, s: &ExpectScreenshotStep) {
        self.screenshot_name(
            i,
            &s.name,
            "names the baseline file",
            "each screenshot of a flow needs its own name: it names the baseline file",
        );
        if let Some(el) = &s.element {
            let at = self.nested_loc(i, el, "element");
            self.locator(i, &el.value, true, Some((at, "element")));
            self.no_frame(el, at, "element");
            if s.full_page {
                let k = self.key_loc(i, "full_page");
                let d = self.error(k, 9, "`full_page` and `element` both say what to capture");
                d.hint = Some("keep one: the whole page, or one element".to_string());
            }
        }
        for m in &s.mask {
            let at = self.nested_loc(i, m, "mask");
            self.locator(i, &m.value, true, Some((at, "mask")));
            self.no_frame(m, at, "mask");
        }
        for (key, value) in [
            ("max_diff_ratio", &s.max_diff_ratio),
            ("threshold", &s.threshold),
        ] {
            if let Some(v) = value.as_ref().filter(|v| !(0.0..=1.0).contains(&v.value)) {
                let k = self.key_loc(i, key);
                let d = self.error(
                    k,
                    key.len(),
                    format!("`{key}` is {}, outside 0 to 1", v.value),
                );
                d.hint = Some(if key == "threshold" {
                    "a per-pixel colour distance: 0 exact, 0.2 the default, 1 anything".to_string()
                } else {
                    "a share of the pixels: 0.001 is one pixel in a thousand".to_string()
                });
            }
        }
        if let Some(t) = &s.timeout {
            self.check_duration(t);
        }
        self.browser(i, None);
    }

    /// Where a nested locator is (its key when the value has no span).
    fn nested_loc<T>(&self, i: usize, sp: &Sp<T>, key: &str) -> Loc {
        if sp.loc.line == 0 {
            self.key_loc(i, key)
        } else {
            sp.loc
        }
    }

    /// Masks and the element are found in the page the step sees, not inside a frame.
    fn no_frame(&mut self, l: &Sp<crate::flowfile::ast::Locator>, at: Loc, key: &str) {
        if l.value.frame.is_some() {
            let d = self.error(
                at,
                key.len(),
                format!("`frame` inside `{key}` is not supported"),
            );
            d.hint = Some(
                "expect_screenshot captures the top page; locate the element without `frame:`"
                    .to_string(),
            );
        }
    }
}
