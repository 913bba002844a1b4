//! `go-no-go.md`: the verdict as the seed reports read (environment, health, flows, mail,
//! realtime, criteria with evidence links, verdict), generated from `go-no-go.json`'s data and
//! the run report. Every claim in it links to a file in the run directory; it is never edited
//! by hand.

use std::fmt::Write as _;
use std::path::Path;

use super::{EvidenceState, GoNoGo};
use crate::events::{FlowStatus, Verdict};
use crate::report::StagingRunReport;

/// A table cell: pipes and line breaks would break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// `[path](path)` with spaces escaped, for a link that opens beside the file.
fn link(path: &Path) -> String {
    let shown = path.display().to_string();
    format!("[{}]({})", cell(&shown), shown.replace(' ', "%20"))
}

fn verdict_word(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Pass) => "✅ PASS",
        Some(Verdict::Failed) => "❌ FAILED",
        Some(Verdict::Unverified) => "⏳ UNVERIFIED",
        None => "n/a",
    }
}

fn status_word(s: FlowStatus) -> &'static str {
    match s {
        FlowStatus::Passed => "✅ passed",
        FlowStatus::Flaky => "⚠️ flaky (passed on a retry)",
        FlowStatus::Failed => "❌ failed",
        FlowStatus::TimedOut => "❌ timed out",
        FlowStatus::Skipped => "⏳ skipped",
        FlowStatus::NotRun => "⏳ not run",
    }
}

pub fn render(g: &GoNoGo, report: &StagingRunReport, run_dir: &Path) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Production Go / No-Go Report\n");
    let _ = writeln!(w, "**Run:** `{}`  ", g.run_id);
    let _ = writeln!(
        w,
        "**Judged:** {} by flows {}  ",
        g.generated_at, g.gate_version
    );
    let _ = writeln!(w, "**Criteria:** {}  ", cell(&g.criteria_source));
    let _ = writeln!(w, "**Final verdict:** **{}**\n", g.verdict.words());
    let _ = writeln!(
        w,
        "Generated from [{}]({}) and the files it cites; do not edit by hand.\n",
        super::REPORT_FILE,
        super::REPORT_FILE
    );
    if !g.run.problems.is_empty() {
        let _ = writeln!(w, "> **The report cannot be trusted as it is:**");
        for p in &g.run.problems {
            let _ = writeln!(w, "> - {}", cell(p));
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "---\n\n## 1. Environment\n");
    let _ = writeln!(w, "| Item | Value |\n|------|-------|");
    let _ = writeln!(w, "| Base URL | `{}` |", cell(&g.run.base_url));
    let _ = writeln!(w, "| Profile | {} |", cell(&g.run.profile));
    let _ = writeln!(w, "| Runner | flows {} |", cell(&g.run.runner_version));
    for b in &report.environment.browsers {
        let _ = writeln!(
            w,
            "| Browser ({}) | {} {}{} |",
            cell(&b.user),
            cell(&b.browser),
            cell(&b.version),
            if b.bidi { ", BiDi" } else { "" }
        );
    }
    let _ = writeln!(
        w,
        "| Started | {} |\n| Finished | {} |\n| Outcome | {:?}{} |",
        g.run.started_at.as_deref().unwrap_or("unknown"),
        g.run.finished_at.as_deref().unwrap_or("unknown"),
        g.run.outcome,
        report
            .outcome_reason
            .as_deref()
            .map_or_else(String::new, |r| format!(": {}", cell(r)))
    );

    let _ = writeln!(w, "\n## 2. Health check result\n");
    health_table(w, report, run_dir);

    let _ = writeln!(
        w,
        "\n## 3. E2E flow results ({} flows)\n",
        report.flows.len()
    );
    let _ = writeln!(
        w,
        "| # | Flow | Status | Duration | Evidence |\n|---|------|--------|----------|----------|"
    );
    for (i, f) in report.flows.iter().enumerate() {
        let files = crate::report::flow_files(f);
        let evidence = if files.is_empty() {
            format!(
                "steps in {}",
                link(Path::new(crate::report::EVENT_LOG_FILE))
            )
        } else {
            files.iter().map(|p| link(p)).collect::<Vec<_>>().join(", ")
        };
        let mut status = status_word(f.status).to_owned();
        if let Some(r) = f
            .reason
            .as_deref()
            .filter(|_| !matches!(f.status, FlowStatus::Passed | FlowStatus::Flaky))
        {
            status.push_str(&format!(": {r}"));
        }
        let _ = writeln!(
            w,
            "| {} | {} (`{}`) | {} | {} | {} |",
            i + 1,
            cell(&f.title),
            cell(&f.id),
            cell(&status),
            f.duration_ms
                .map_or_else(|| "—".to_owned(), crate::human::elapsed),
            evidence
        );
    }

    let _ = writeln!(w, "\n## 4. Mail result\n");
    let mail: Vec<_> = report
        .criteria
        .iter()
        .filter(|c| {
            c.proves.is_some_and(|p| {
                matches!(
                    p,
                    crate::events::Proof::MailCode
                        | crate::events::Proof::MailLink
                        | crate::events::Proof::MailDelivered
                        | crate::events::Proof::MailAbsent
                        | crate::events::Proof::MailSequence
                )
            })
        })
        .collect();
    criteria_table(w, &mail, "no step of this run read mail");
    if !report.mail.messages.is_empty() {
        let _ = writeln!(w, "\n| Flow | To | Subject | Source | Seen after |\n|------|----|---------|--------|------------|");
        for m in &report.mail.messages {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} |",
                cell(&m.flow),
                cell(&m.to),
                cell(&m.subject),
                cell(&m.source),
                crate::human::elapsed(m.latency_seen_ms)
            );
        }
    }

    let _ = writeln!(w, "\n## 5. Realtime result\n");
    let realtime: Vec<_> = report
        .criteria
        .iter()
        .filter(|c| c.proves == Some(crate::events::Proof::RealtimeEvent))
        .collect();
    criteria_table(
        w,
        &realtime,
        "no step of this run waited for a realtime event",
    );
    if !report.realtime.frames.is_empty() {
        let _ = writeln!(w, "\n| Flow | Subscription | Channel | Event | At |\n|------|--------------|---------|-------|----|");
        for f in &report.realtime.frames {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | +{} |",
                cell(&f.flow),
                cell(&f.subscription),
                cell(f.channel.as_deref().unwrap_or("—")),
                cell(&f.event),
                crate::human::elapsed(f.received_ms)
            );
        }
    }

    let _ = writeln!(w, "\n## 6. Release criteria\n");
    let _ = writeln!(w, "| Criterion | Verdict | Blocking | Evidence | Why |\n|-----------|---------|----------|----------|-----|");
    for c in &g.criteria {
        let evidence = c
            .evidence
            .iter()
            .map(|e| {
                let mark = match e.state {
                    EvidenceState::Ok => "",
                    EvidenceState::Missing => " (missing)",
                    EvidenceState::Altered => " (altered)",
                    EvidenceState::NotRecorded => " (not recorded)",
                };
                format!("{}{mark}", link(&e.path))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let why = if c.reasons.is_empty() {
            format!("{} check(s) passed", c.checks.len())
        } else {
            c.reasons.join("; ")
        };
        let _ = writeln!(
            w,
            "| {} (`{}`){} | {} | {} | {} | {} |",
            cell(&c.name),
            cell(&c.id),
            if c.may_be_unverified {
                " — may be unverified"
            } else {
                ""
            },
            verdict_word(c.verdict),
            if c.blocking { "**yes**" } else { "no" },
            evidence,
            cell(&why)
        );
    }

    let _ = writeln!(w, "\n## 7. Verdict\n");
    let _ = writeln!(w, "**{}**\n", g.verdict.words());
    match g.verdict {
        super::GateVerdict::Go => {
            let _ = writeln!(
                w,
                "Every criterion PASSED, each on evidence that is in this directory unchanged since the run."
            );
        }
        super::GateVerdict::ConditionalGo => {
            let _ = writeln!(w, "No criterion failed. Not verified, and allowed to be:");
            for c in g
                .criteria
                .iter()
                .filter(|c| c.verdict == Some(Verdict::Unverified))
            {
                let _ = writeln!(
                    w,
                    "- {} (`{}`): {}",
                    cell(&c.name),
                    c.id,
                    cell(&c.reasons.join("; "))
                );
            }
        }
        super::GateVerdict::NoGo => {
            let _ = writeln!(w, "Blocking:");
            for c in g.criteria.iter().filter(|c| c.blocking) {
                let _ = writeln!(
                    w,
                    "1. **{}** (`{}`) — {}: {}",
                    cell(&c.name),
                    c.id,
                    verdict_word(c.verdict),
                    cell(&c.reasons.join("; "))
                );
            }
            if g.criteria.iter().all(|c| !c.blocking) {
                for b in &g.blocking {
                    let _ = writeln!(w, "1. {}", cell(b));
                }
            }
        }
    }
    md
}

fn criteria_table(w: &mut String, rows: &[&crate::report::CriterionReport], none: &str) {
    if rows.is_empty() {
        let _ = writeln!(w, "_{none}._");
        return;
    }
    let _ = writeln!(
        w,
        "| Check | Flow | Status | Evidence / note |\n|-------|------|--------|-----------------|"
    );
    for c in rows {
        let mut what = c.evidence.join("; ");
        if let Some(n) = &c.note {
            if !what.is_empty() {
                what.push_str("; ");
            }
            what.push_str(n);
        }
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} |",
            cell(&c.name),
            cell(c.flow.as_deref().unwrap_or("—")),
            verdict_word(Some(c.verdict)),
            cell(&what)
        );
    }
}

/// The endpoints and services of `health-pre-check.json` (as the run wrote it; the criteria
/// table says whether it is unchanged).
fn health_table(w: &mut String, report: &StagingRunReport, run_dir: &Path) {
    let Some(h) = &report.health else {
        let _ = writeln!(w, "_The health pre-check did not run._");
        return;
    };
    let _ = writeln!(
        w,
        "Pre-check: **{}** — {} (evidence: {})\n",
        if h.skipped {
            "SKIPPED"
        } else if h.passed {
            "PASS"
        } else {
            "FAILED"
        },
        cell(&h.summary),
        link(Path::new(super::HEALTH_FILE))
    );
    let file: Option<serde_json::Value> = std::fs::read(run_dir.join(super::HEALTH_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let Some(checks) = file
        .as_ref()
        .and_then(|f| f.get("checks"))
        .and_then(|c| c.as_array())
    else {
        return;
    };
    let _ = writeln!(
        w,
        "| Endpoint | Service | Status | Latency |\n|----------|---------|--------|---------|"
    );
    for c in checks {
        let name = c.get("name").and_then(|v| v.as_str()).unwrap_or("?");
        let status = match (c.get("verdict").and_then(|v| v.as_str()), c.get("status")) {
            (Some(v), Some(s)) if !s.is_null() => format!("{v} (HTTP {s})"),
            (Some(v), _) => v.to_owned(),
            _ => "?".to_owned(),
        };
        let ms = c.get("duration_ms").and_then(serde_json::Value::as_u64);
        let _ = writeln!(
            w,
            "| {} | — | {} | {} |",
            cell(name),
            cell(&status),
            ms.map_or_else(|| "—".to_owned(), |m| format!("{m} ms"))
        );
        for s in c
            .get("services")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let latency = s
                .get("latency_ms")
                .and_then(serde_json::Value::as_f64)
                .map_or_else(|| "—".to_owned(), |m| format!("{m:.1} ms"));
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} |",
                cell(name),
                cell(s.get("name").and_then(|v| v.as_str()).unwrap_or("?")),
                cell(s.get("status").and_then(|v| v.as_str()).unwrap_or("?")),
                latency
            );
        }
    }
}
