//! `expect_screenshot`: a screenshot compared with its baseline (`flows/__screenshots__/`).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::flowfile::span::Sp;

use super::{DurationText, Locator};

/// `expect_screenshot: { name: ticket-page, full_page: true, mask: [{ test_id: created-at }] }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectScreenshotStep {
    /// The baseline's name, `[a-z0-9-_]`: `flows/__screenshots__/<flow>/<name>-<browser>.png`.
    pub name: Sp<String>,
    /// Compare the whole scrollable page rather than the viewport.
    #[serde(default)]
    pub full_page: bool,
    /// Compare only this element (it must match exactly one visible element).
    #[serde(default)]
    pub element: Option<Sp<Locator>>,
    /// Elements painted over (magenta) before comparing: clocks, avatars, anything that changes
    /// on every load.
    #[serde(default)]
    pub mask: Vec<Sp<Locator>>,
    /// How many pixels may differ (default 0).
    #[serde(default)]
    pub max_diff_pixels: Option<Sp<u64>>,
    /// Which share of the pixels may differ, 0 to 1 (with `max_diff_pixels`, the stricter holds).
    #[serde(default)]
    pub max_diff_ratio: Option<Sp<f64>>,
    /// Per-pixel colour distance (YIQ, as pixelmatch) under which two pixels count as equal,
    /// 0 to 1; default 0.2.
    #[serde(default)]
    pub threshold: Option<Sp<f64>>,
    /// `disabled` (default): finite CSS animations and transitions are finished, infinite ones
    /// cancelled, the text caret hidden, before each screenshot. `allow`: left as they are.
    #[serde(default)]
    pub animations: Option<Animations>,
    /// How long the page may take to settle and match (default: the step timeout).
    #[serde(default)]
    pub timeout: Option<Sp<DurationText>>,
    /// Save this step's start time under this name (see `mark` on other steps).
    #[serde(default)]
    pub mark: Option<Sp<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Animations {
    Disabled,
    Allow,
}
