//! Makes a DOM snapshot inert before it is folded into a trace.
//!
//! The executor already strips `<script>` elements and redacts secrets. A trace is opened from
//! `file://` and must not reach the network (a staging app, a CDN) or navigate away, so the
//! writer also drops `<link>`, `<base>` and `<meta http-equiv=refresh>` and renames every
//! resource attribute (`src`, `srcset`, `poster`, `background`, `data`) that is not a `data:`
//! URL to `data-flows-*`. The viewer's Content-Security-Policy (inherited by the sandboxed
//! `srcdoc` frame) forbids whatever this best-effort pass misses.

use std::sync::LazyLock;

use regex::{Captures, Regex};

static DROPPED_TAGS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)<link\b(?:[^>"']|"[^"]*"|'[^']*')*>|<base\b(?:[^>"']|"[^"]*"|'[^']*')*>|<meta\b(?:[^>"']|"[^"]*"|'[^']*')*?http-equiv\s*=\s*(?:"refresh"|'refresh'|refresh\b)(?:[^>"']|"[^"]*"|'[^']*')*>"#,
    )
    .expect("valid regex")
});

/// An opening tag, quoted attribute values included (they may hold `>`).
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<[a-zA-Z][a-zA-Z0-9-]*(?:[^>"']|"[^"]*"|'[^']*')*>"#).expect("valid regex")
});

static RESOURCE_ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(\s)(src|srcset|poster|background|data)(\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)"#)
        .expect("valid regex")
});

/// The snapshot with its external resources and navigations neutralised (see the module docs).
pub fn make_inert(html: &str) -> String {
    let html = DROPPED_TAGS.replace_all(html, "");
    TAG.replace_all(&html, |tag: &Captures<'_>| {
        RESOURCE_ATTR
            .replace_all(&tag[0], |attr: &Captures<'_>| {
                let value = attr[4].trim_matches(|c| c == '"' || c == '\'');
                if value.trim_start().to_ascii_lowercase().starts_with("data:") {
                    attr[0].to_owned()
                } else {
                    format!(
                        "{}data-flows-{}{}{}",
                        &attr[1], &attr[2], &attr[3], &attr[4]
                    )
                }
            })
            .into_owned()
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_resources_are_neutralised_and_data_urls_kept() {
        let html = r#"<html><head><link rel="stylesheet" href="https://cdn.example/app.css"><base href="https://x/"><meta http-equiv="refresh" content="0;url=https://x"></head><body><img src="/avatar.png" alt="a > b"><img src='data:image/png;base64,AAAA'><video poster=/p.jpg></video><p>use src="x" in text</p></body></html>"#;
        assert_eq!(
            make_inert(html),
            r#"<html><head></head><body><img data-flows-src="/avatar.png" alt="a > b"><img src='data:image/png;base64,AAAA'><video data-flows-poster=/p.jpg></video><p>use src="x" in text</p></body></html>"#
        );
    }

    #[test]
    fn data_attributes_of_the_page_are_left_alone() {
        let html = r#"<div data-testid="x" data-src="y"><object data="movie.swf"></object></div>"#;
        assert_eq!(
            make_inert(html),
            r#"<div data-testid="x" data-src="y"><object data-flows-data="movie.swf"></object></div>"#
        );
    }
}
