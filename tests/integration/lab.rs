//! The conformance lab (`/lab/...` in the demo helpdesk, staging mode): pages that do to
//! locators what real apps do. Here: the runner's accessible name and role computation agrees
//! with Chromium's own (W3C WebDriver Get Computed Label / Get Computed Role) on every element
//! of the lab, the lab's flows pass, and each ambiguity fails naming what was found.

use std::time::Duration;

use flows::config::BrowserConfig;
use flows::exec::browser::{BrowserSession, Driver};
use serde_json::{json, Value};

use crate::support::*;

/// The lab's pages, from its index.
async fn lab_pages(base: &str) -> Vec<String> {
    let index = reqwest::get(format!("{base}/lab"))
        .await
        .expect("GET /lab")
        .text()
        .await
        .expect("lab index");
    let re = regex::Regex::new(r#"href="(/lab/[a-z0-9-]+)""#).expect("regex");
    let mut pages: Vec<String> = re.captures_iter(&index).map(|c| c[1].to_owned()).collect();
    pages.dedup();
    pages
}

/// Text as locators compare it: whitespace collapsed, icon-font glyphs dropped.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !('\u{E000}'..='\u{F8FF}').contains(c) && !('\u{F0000}'..='\u{10FFFF}').contains(c)
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_names_and_roles_agree_with_chromium_on_every_lab_element() {
    let app = helpdesk().await;
    let base = app.url();
    let pages = lab_pages(&base).await;
    assert!(
        pages.len() >= 20,
        "the lab index lists its pages: {pages:?}"
    );
    let logs = tempfile::tempdir().expect("tempdir");
    let cfg = BrowserConfig::default();
    let mut driver = Driver::start(&cfg, &logs.path().join("chromedriver.log"))
        .await
        .expect("chromedriver starts");
    let session = BrowserSession::open(&driver, &cfg, "conformance")
        .await
        .expect("a browser session");
    let mut checked = 0;
    let mut differences = Vec::new();
    for page in &pages {
        if page == "/lab/basic-auth" {
            continue; // behind HTTP auth; its content is one line of text
        }
        session
            .goto(&format!("{base}{page}"))
            .await
            .expect("page loads");
        let r = session
            .page(json!({"op": "names"}), Duration::ZERO)
            .await
            .expect("the page script answers");
        assert!(r.ok, "{page}: {:?}", r.reason);
        let elements = r.value["elements"].as_array().cloned().unwrap_or_default();
        assert!(!elements.is_empty(), "{page} has elements with roles");
        for e in elements {
            let (ours_role, ours_name) = (
                e["role"].as_str().unwrap_or_default().to_owned(),
                e["name"].as_str().unwrap_or_default().to_owned(),
            );
            let element: Value = e["element"].clone();
            let label = session
                .computed_label(&element)
                .await
                .expect("computed label");
            let role = session
                .computed_role(&element)
                .await
                .expect("computed role");
            checked += 1;
            if norm(&label) != norm(&ours_name) || role != ours_role {
                differences.push(format!(
                    "{page}: {}\n    runner: role={ours_role} name={:?}\n  chromium: role={role} name={:?}",
                    e["html"].as_str().unwrap_or_default(),
                    norm(&ours_name),
                    norm(&label)
                ));
            }
        }
    }
    session.close().await;
    driver.stop().await;
    assert!(checked > 100, "checked {checked} elements");
    assert!(
        differences.is_empty(),
        "{} of {checked} elements differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
