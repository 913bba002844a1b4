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

/// Whether Chromium's computed role is one a locator could ask for: a WAI-ARIA role other than
/// the ones that mean "no role" (`generic`, `none`, `presentation`). Chromium answers with its
/// internal names (`LabelText`, `DescriptionList`, …, capitalised) for elements ARIA gives no
/// role, and with "" when it has none.
fn names_a_role(chromium: &str) -> bool {
    chromium.starts_with(|c: char| c.is_ascii_lowercase())
        && !matches!(chromium, "generic" | "none" | "presentation")
}

/// Chromium's role and the runner's are the same; Chromium says `image` for the role WAI-ARIA 1.2
/// calls `img` (1.3 makes them synonyms; locators take `img`, as Playwright's do).
fn same_role(chromium: &str, ours: &str) -> bool {
    chromium == ours || (chromium == "image" && ours == "img")
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
    let mut with_no_role = 0;
    let mut differences = Vec::new();
    for page in &pages {
        if page == "/lab/basic-auth" {
            continue; // behind HTTP auth; its content is one line of text
        }
        session
            .goto(&format!("{base}{page}"))
            .await
            .expect("page loads");
        // Every visible element, not only those the runner gives a role: an element it wrongly
        // leaves without one (`nav` not a navigation) would otherwise never be compared.
        let r = session
            .page(json!({"op": "names", "all": true}), Duration::ZERO)
            .await
            .expect("the page script answers");
        assert!(r.ok, "{page}: {:?}", r.reason);
        assert_eq!(r.value["truncated"], false, "{page}: every element listed");
        let elements = r.value["elements"].as_array().cloned().unwrap_or_default();
        assert!(
            elements.iter().any(|e| e["role"].is_string()),
            "{page} has elements with roles"
        );
        for e in elements {
            let element: Value = e["element"].clone();
            let role = session
                .computed_role(&element)
                .await
                .expect("computed role");
            checked += 1;
            let Some(ours_role) = e["role"].as_str() else {
                with_no_role += 1;
                if names_a_role(&role) {
                    differences.push(format!(
                        "{page}: {}\n    runner: no role\n  chromium: role={role}",
                        e["html"].as_str().unwrap_or_default(),
                    ));
                }
                continue;
            };
            let ours_name = e["name"].as_str().unwrap_or_default();
            let label = session
                .computed_label(&element)
                .await
                .expect("computed label");
            if norm(&label) != norm(ours_name) || !same_role(&role, ours_role) {
                differences.push(format!(
                    "{page}: {}\n    runner: role={ours_role} name={:?}\n  chromium: role={role} name={:?}",
                    e["html"].as_str().unwrap_or_default(),
                    norm(ours_name),
                    norm(&label)
                ));
            }
        }
    }
    session.close().await;
    driver.stop().await;
    assert!(checked > 100, "checked {checked} elements");
    assert!(
        with_no_role > 50,
        "elements the runner gives no role were compared too: {with_no_role}"
    );
    assert!(
        differences.is_empty(),
        "{} of {checked} elements differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// Runs a suite against the in-process helpdesk; returns the output and the report.
async fn run_suite(config: &std::path::Path, base: &str, out: &std::path::Path) -> (Output, Value) {
    let output = FlowsCmd::new()
        .args(["run", "--all", "--skip-web-server", "--skip-health-check"])
        .args(["--config", config.to_str().expect("utf-8 path")])
        .args([
            "--base-url",
            base,
            "--output",
            out.to_str().expect("utf-8 path"),
        ])
        .output()
        .await;
    let report = read_json(&run_dir(out).join("staging-run-report.json"));
    (output, report)
}

fn flow<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["flows"]
        .as_array()
        .and_then(|flows| flows.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no flow {id} in the report"))
}

/// Every lab page has a flow written with user-facing locators, and they all pass: frames,
/// popups, dialogs, downloads, hover, drag and drop, shortcuts, shadow DOM, step groups and a
/// data-driven flow included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lab_page_has_a_passing_flow() {
    let app = helpdesk().await;
    let out = tempfile::tempdir().expect("tempdir");
    let config = repo_root().join("tests/lab/flows.toml");
    let (output, report) = run_suite(&config, &app.url(), out.path()).await;
    assert_eq!(output.code, 0, "{}", output.all());

    // One flow (or row of a flow) per lab page, except the basic-auth page, which needs a
    // suite with credentials (suite_options.rs runs it).
    let pages = lab_pages(&app.url()).await;
    let ids: Vec<String> = report["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    for page in pages.iter().filter(|p| *p != "/lab/basic-auth") {
        let name = page.trim_start_matches("/lab/");
        assert!(
            ids.iter()
                .any(|id| id == name || id.starts_with(&format!("{name}["))),
            "no lab flow for {page}: {ids:?}"
        );
    }
    // The data-driven flow ran once per row.
    assert_eq!(flow(&report, "combobox[berlin]")["status"], "passed");
    assert_eq!(flow(&report, "combobox[lisbon]")["status"], "passed");
    // A step group's steps are reported in place, under the group's name.
    let first = &flow(&report, "icon-names")["steps"][0];
    assert!(
        first["summary"]
            .as_str()
            .unwrap_or_default()
            .starts_with("open-lab-page › goto"),
        "{first}"
    );

    // A `label for` that points at an id two elements share is not silently resolved: the
    // step says which elements share it and which one was used.
    let email = flow(&report, "labels")["steps"]
        .as_array()
        .and_then(|steps| {
            steps.iter().find(|s| {
                s["summary"]
                    .as_str()
                    .unwrap_or("")
                    .contains("label~\"email\"")
            })
        })
        .cloned()
        .expect("the Email step");
    let summary = email["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("points at id \"email\", which 2 elements share")
            && summary.contains("[hidden]")
            && summary.contains("the visible one is used"),
        "{summary}"
    );
    assert!(
        output.stdout.contains("which 2 elements share"),
        "the notice is printed: {}",
        output.all()
    );

    // Each step's time is split by who spent it, and the parts add up to its duration.
    let delayed = &flow(&report, "delayed-content")["steps"][1];
    assert_eq!(delayed["kind"], "click");
    let t = &delayed["time"];
    let part = |k: &str| {
        t[k].as_u64()
            .unwrap_or_else(|| panic!("time.{k} in {delayed}"))
    };
    let sum = part("driver_ms") + part("page_ms") + part("runner_ms") + part("evidence_ms");
    let duration = delayed["duration_ms"].as_u64().expect("duration");
    assert!(
        sum <= duration && duration - sum <= 2,
        "{t} vs {duration} ms"
    );
    // The button appears after the XHR: the wait happened inside the page.
    assert!(part("page_ms") > 0, "{t}");

    // Downloads are kept, with what was checked as evidence.
    let downloads: Vec<&Value> = flow(&report, "download")["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["evidence"].as_array())
        .flatten()
        .filter(|e| e["type"] == "download")
        .collect();
    let names: Vec<&str> = downloads
        .iter()
        .filter_map(|d| d["file_name"].as_str())
        .collect();
    assert_eq!(names, ["tickets.csv", "report.pdf", "notes.txt"]);
    assert_eq!(downloads[1]["media_type"], "application/pdf");
    let kept = run_dir(out.path()).join(downloads[0]["path"].as_str().expect("path"));
    let csv = std::fs::read(&kept).expect("the download is kept");
    assert_eq!(csv.len(), 232);

    // Dialog messages are evidence.
    let dialogs: Vec<String> = flow(&report, "dialogs")["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|s| s["evidence"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["type"] == "dialog")
        .map(|e| {
            format!(
                "{} {}",
                e["message"].as_str().unwrap_or(""),
                e["answer"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        dialogs,
        [
            "Saved! accepted",
            "Delete this ticket? dismissed",
            "Your name? accepted"
        ]
    );
}

/// Each trap, written the naive way, fails with an error that names what was found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ambiguity_fails_naming_what_was_found() {
    let app = helpdesk().await;
    let case = |id: &str, steps: &str| {
        (
            format!("{id}.yaml"),
            format!("id: {id}\ntitle: {id}\nuser: requester\nstep_timeout: 1s\nsteps:\n{steps}"),
        )
    };
    let cases = [
        case(
            "substring-is-ambiguous",
            "  - goto: /lab/icon-names\n  - click: { role: button, name: Save }\n",
        ),
        case(
            "same-name-in-two-regions",
            "  - goto: /lab/same-names\n  - click: { role: button, name: Delete }\n",
        ),
        case(
            "covered-by-overlay",
            "  - goto: /lab/overlay?overlay_ms=30000\n  - click: { role: button, name: Continue }\n",
        ),
        case(
            "still-disabled",
            "  - goto: /lab/disabled-then-enabled?enable_after_ms=30000\n  - click: { role: button, name: Submit }\n",
        ),
        case(
            "field-in-closed-tab",
            "  - goto: /lab/tabs\n  - fill: { label: Digest email, value: x }\n",
        ),
        case(
            "form-in-a-frame",
            "  - goto: /lab/iframe\n  - fill: { label: Card number, value: '4242' }\n",
        ),
        case(
            "wrong-dialog",
            "  - goto: /lab/dialogs\n  - click: { role: button, name: Show alert }\n  - dialog: { text: Deleted }\n",
        ),
        case(
            "wrong-download",
            "  - goto: /lab/download\n  - download: { role: link, name: Download notes, size: 81 }\n",
        ),
        case(
            "no-such-window",
            "  - goto: /lab/popup\n  - click: { role: link, name: Open help }\n  - window: { title: Billing }\n",
        ),
    ];
    let files: Vec<(&str, &str)> = cases
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_str()))
        .collect();
    let suite = temp_suite(&files);
    let out = tempfile::tempdir().expect("tempdir");
    let (output, report) = run_suite(
        &suite.path().join("flows/flows.toml"),
        &app.url(),
        out.path(),
    )
    .await;
    assert_eq!(output.code, 1, "{}", output.all());
    let error = |id: &str| -> String {
        let f = flow(&report, id);
        assert_eq!(f["status"], "failed", "{id}: {f}");
        f["steps"]
            .as_array()
            .and_then(|s| s.iter().find_map(|s| s["error"].as_str()))
            .unwrap_or_default()
            .to_owned()
    };
    let expectations: [(&str, &[&str]); 9] = [
        (
            "substring-is-ambiguous",
            &["2 elements match", "\"Save\"", "\"Save as draft\""],
        ),
        (
            "same-name-in-two-regions",
            &["2 elements match", "\"Drafts\"", "\"Sent\"", "within"],
        ),
        (
            "covered-by-overlay",
            &[
                "does not receive pointer events",
                "covered by <div",
                "overlay",
            ],
        ),
        (
            "still-disabled",
            &["found but disabled", "<button", "Submit"],
        ),
        ("field-in-closed-tab", &["found but hidden", "Digest email"]),
        (
            "form-in-a-frame",
            &["no element matches label~\"card number\"", "/lab/iframe"],
        ),
        (
            "wrong-dialog",
            &["the dialog says \"Saved!\"", "expected ~\"Deleted\""],
        ),
        (
            "wrong-download",
            &[
                "notes.txt",
                "it has 80 bytes, expected 81",
                "downloads/notes.txt",
            ],
        ),
        (
            "no-such-window",
            &["no window matched", "Help · Lab", "/lab/popup/help"],
        ),
    ];
    for (id, needles) in expectations {
        let e = error(id);
        for needle in needles {
            assert!(e.contains(needle), "{id}: {needle:?} not in: {e}");
        }
    }
}
