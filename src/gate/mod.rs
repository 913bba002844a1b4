//! `flows gate`: the Go/No-Go verdict of a finished run, built only from evidence.
//!
//! Reads a run directory (its `staging-run-report.json`, `events.jsonl` and the files they
//! cite), judges each release criterion ([`criteria`]: `gate.toml` or seed 000's checklist) and
//! writes `go-no-go.json` and `go-no-go.md` beside the report ([`markdown`]).
//!
//! A criterion is PASS only when every check it needs passed in the run AND every file it
//! cites is still there with the SHA-256 the report recorded when the run ended; FAILED when a
//! flow or check it needs failed; UNVERIFIED otherwise (not run, skipped, a fixed OTP, evidence
//! missing or altered). The report itself is cross-checked against the event log it was built
//! from. Evidence that was recorded and is now missing or altered blocks the release even for
//! a criterion that `may_be_unverified`: a conditional GO is for checks a run could not make,
//! never for evidence that changed afterwards (seed 003).
//!
//! It does not run flows; `flows run --gate` runs, then calls this.

pub mod criteria;
pub mod markdown;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use criteria::{default_criteria, GateCriterion, CONTRACT_STEP_KINDS};

use crate::events::{FlowStatus, RunOutcome, StepStatus, Verdict};
use crate::flowfile::text::TextPattern;
use crate::report::{flow_files, is_inside, sha256_file, StagingRunReport, REPORT_FILE};

/// Version of `go-no-go.json`'s shape.
pub const GATE_SCHEMA_VERSION: u32 = 1;
pub const GO_NO_GO_JSON: &str = "go-no-go.json";
pub const GO_NO_GO_MD: &str = "go-no-go.md";
const HEALTH_FILE: &str = "health-pre-check.json";

/// The release decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GateVerdict {
    /// Every criterion PASS.
    Go,
    /// No criterion FAILED; the only ones not PASS are UNVERIFIED and allowed to be.
    ConditionalGo,
    /// At least one blocking criterion.
    NoGo,
}

impl GateVerdict {
    pub fn words(self) -> &'static str {
        match self {
            GateVerdict::Go => "GO",
            GateVerdict::ConditionalGo => "CONDITIONAL GO",
            GateVerdict::NoGo => "NO-GO",
        }
    }

    /// 0 GO, 1 NO-GO, 5 CONDITIONAL GO.
    pub fn exit_code(self) -> u8 {
        match self {
            GateVerdict::Go => crate::exit_code::SUCCESS,
            GateVerdict::NoGo => crate::exit_code::FLOW_FAILED,
            GateVerdict::ConditionalGo => crate::exit_code::CONDITIONAL_GO,
        }
    }
}

/// `go-no-go.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "flows go/no-go verdict")]
pub struct GoNoGo {
    /// Version of this file's shape (1).
    pub schema_version: u32,
    pub verdict: GateVerdict,
    pub run_id: String,
    /// When the gate judged the run (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub generated_at: String,
    /// The `flows` that judged it.
    pub gate_version: String,
    /// `built-in (seed 000 checklist)` or the gate.toml path.
    pub criteria_source: String,
    pub run: RunSummary,
    /// Ids of the criteria that block the release, in the order of `criteria`.
    pub blocking: Vec<String>,
    /// Blocking criteria first, then the rest, each group in the order the criteria file gives.
    pub criteria: Vec<CriterionResult>,
}

/// What the gate read about the run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunSummary {
    pub report_file: PathBuf,
    pub report_schema_version: u32,
    pub outcome: RunOutcome,
    pub profile: String,
    pub base_url: String,
    pub runner_version: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Problems with the report as a whole: it disagrees with its event log, records no
    /// digests, … Each makes every criterion UNVERIFIED and blocking.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CriterionResult {
    pub id: String,
    pub name: String,
    /// PASS, FAILED or UNVERIFIED; null when nothing it needs is in the run and it is not
    /// `required` (not applicable).
    pub verdict: Option<Verdict>,
    pub blocking: bool,
    pub may_be_unverified: bool,
    /// Why it is not PASS (first the failures, then what could not be verified).
    pub reasons: Vec<String>,
    /// The run's checks it rests on.
    pub checks: Vec<CheckResult>,
    /// The files it cites and what the gate found.
    pub evidence: Vec<EvidenceResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// What was checked, in words (`flow otp-login`, a criterion's name, `step 3 of x (guard)`).
    pub what: String,
    pub verdict: Verdict,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceResult {
    /// Relative to the run directory.
    pub path: PathBuf,
    pub state: EvidenceState,
    pub recorded_sha256: Option<String>,
    pub found_sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceState {
    /// There, with the recorded SHA-256.
    Ok,
    /// Recorded by the run, not there now.
    Missing,
    /// There, with another SHA-256 than recorded.
    Altered,
    /// The report records no digest for it (never written, or written by an older flows).
    NotRecorded,
}

impl EvidenceState {
    /// Recorded evidence that changed after the run.
    fn tampered(self) -> bool {
        matches!(self, EvidenceState::Missing | EvidenceState::Altered)
    }
}

/// Why the gate could not judge a run at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("no {REPORT_FILE} in {}: point --run at a run directory (e.g. artifacts/latest)", .0.display())]
    NoReport(PathBuf),
    #[error("cannot read {}: {message}", .path.display())]
    BadReport { path: PathBuf, message: String },
    #[error("cannot write {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Judges the run in `run_dir` against `criteria` (`criteria_source` says where they came
/// from) and writes `go-no-go.json` and `go-no-go.md` beside the report.
pub fn gate_run(
    run_dir: &Path,
    criteria: &[GateCriterion],
    criteria_source: &str,
) -> Result<GoNoGo, GateError> {
    let report_path = run_dir.join(REPORT_FILE);
    let text = match std::fs::read(&report_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(GateError::NoReport(run_dir.to_owned()))
        }
        Err(e) => {
            return Err(GateError::BadReport {
                path: report_path,
                message: e.to_string(),
            })
        }
    };
    let report: StagingRunReport =
        serde_json::from_slice(&text).map_err(|e| GateError::BadReport {
            path: report_path.clone(),
            message: e.to_string(),
        })?;
    let problems = report_problems(&report, run_dir);
    let verdict = judge(&report, run_dir, criteria, criteria_source, problems);
    let mut json = serde_json::to_vec_pretty(&verdict).map_err(|e| GateError::Write {
        path: run_dir.join(GO_NO_GO_JSON),
        source: std::io::Error::other(e),
    })?;
    json.push(b'\n');
    for (name, bytes) in [
        (GO_NO_GO_JSON, json),
        (
            GO_NO_GO_MD,
            markdown::render(&verdict, &report, run_dir).into_bytes(),
        ),
    ] {
        let path = run_dir.join(name);
        crate::artifact::write_atomic(&path, &bytes)
            .map_err(|source| GateError::Write { path, source })?;
    }
    Ok(verdict)
}

/// Problems with the report as a whole, each of which leaves no criterion PASS: it records no
/// digests, or it says something its event log does not.
pub fn report_problems(report: &StagingRunReport, run_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    if report.schema_version < 3 || report.evidence_files.is_empty() {
        problems.push(format!(
            "the report records no evidence digests (schema {}; written by flows before schema \
             3, or the run ended before its files were sealed): nothing it cites can be verified",
            report.schema_version
        ));
    }
    let log_path = run_dir.join(crate::report::EVENT_LOG_FILE);
    match std::fs::read_to_string(&log_path) {
        Err(e) => problems.push(format!(
            "cannot read the event log {}: {e}",
            crate::report::EVENT_LOG_FILE
        )),
        Ok(text) => match crate::report::report_from_event_log(&text) {
            Err(e) => problems.push(format!("the event log is not readable: {e}")),
            Ok(rebuilt) => problems.extend(disagreements(report, &rebuilt)),
        },
    }
    problems
}

/// Where the report says something other than the report its event log rebuilds.
fn disagreements(report: &StagingRunReport, rebuilt: &StagingRunReport) -> Vec<String> {
    let mut out = Vec::new();
    if report.outcome != rebuilt.outcome {
        out.push(format!(
            "the report says the run ended {:?}, its event log {:?}",
            report.outcome, rebuilt.outcome
        ));
    }
    let flows = |r: &StagingRunReport| -> Vec<(String, FlowStatus)> {
        r.flows.iter().map(|f| (f.id.clone(), f.status)).collect()
    };
    if flows(report) != flows(rebuilt) {
        out.push(format!(
            "the report's flow results {:?} differ from its event log's {:?}",
            flows(report),
            flows(rebuilt)
        ));
    }
    let criteria = |r: &StagingRunReport| -> Vec<(Option<String>, String, Verdict)> {
        r.criteria
            .iter()
            .map(|c| (c.flow.clone(), c.name.clone(), c.verdict))
            .collect()
    };
    if criteria(report) != criteria(rebuilt) {
        out.push("the report's criteria differ from its event log's".to_owned());
    }
    let health = |r: &StagingRunReport| r.health.as_ref().map(|h| (h.passed, h.skipped));
    if health(report) != health(rebuilt) {
        out.push("the report's health pre-check differs from its event log's".to_owned());
    }
    if !out.is_empty() {
        out.insert(
            0,
            "the report disagrees with the event log it was built from (edited after the run?)"
                .to_owned(),
        );
    }
    out
}

/// The verdict on `report` (already cross-checked: `problems`) against `criteria`. Pure but for
/// reading the cited files, so that it can be tested with any sequence of edits.
pub fn judge(
    report: &StagingRunReport,
    run_dir: &Path,
    criteria: &[GateCriterion],
    criteria_source: &str,
    problems: Vec<String>,
) -> GoNoGo {
    let mut files = EvidenceCache::new(report, run_dir);
    let mut results: Vec<CriterionResult> = criteria
        .iter()
        .map(|c| judge_one(report, c, &mut files, &problems))
        .collect();
    // Blocking first; a stable sort keeps the file's order within each group.
    results.sort_by_key(|r| !r.blocking);
    let blocking: Vec<String> = results
        .iter()
        .filter(|r| r.blocking)
        .map(|r| r.id.clone())
        .collect();
    let applicable: Vec<&CriterionResult> =
        results.iter().filter(|r| r.verdict.is_some()).collect();
    let verdict = if !blocking.is_empty() || applicable.is_empty() {
        GateVerdict::NoGo
    } else if applicable.iter().all(|r| r.verdict == Some(Verdict::Pass)) {
        GateVerdict::Go
    } else {
        GateVerdict::ConditionalGo
    };
    let mut blocking = blocking;
    if applicable.is_empty() {
        blocking.push("(no criterion applies to this run: nothing was verified)".to_owned());
    }
    GoNoGo {
        schema_version: GATE_SCHEMA_VERSION,
        verdict,
        run_id: report.run_id.clone(),
        generated_at: now_rfc3339(),
        gate_version: env!("CARGO_PKG_VERSION").to_owned(),
        criteria_source: criteria_source.to_owned(),
        run: RunSummary {
            report_file: PathBuf::from(REPORT_FILE),
            report_schema_version: report.schema_version,
            outcome: report.outcome,
            profile: report.environment.profile.clone(),
            base_url: report.environment.base_url.clone(),
            runner_version: report.environment.runner_version.clone(),
            started_at: report.started_at.clone(),
            finished_at: report.finished_at.clone(),
            problems,
        },
        blocking,
        criteria: results,
    }
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.to_string())
}

/// Each cited file checked once per gate run.
struct EvidenceCache<'a> {
    report: &'a StagingRunReport,
    run_dir: &'a Path,
    seen: HashMap<PathBuf, EvidenceResult>,
}

impl<'a> EvidenceCache<'a> {
    fn new(report: &'a StagingRunReport, run_dir: &'a Path) -> Self {
        Self {
            report,
            run_dir,
            seen: HashMap::new(),
        }
    }

    fn check(&mut self, path: &Path) -> EvidenceResult {
        if let Some(r) = self.seen.get(path) {
            return r.clone();
        }
        let recorded = self
            .report
            .evidence_file(path)
            .filter(|_| is_inside(path))
            .map(|e| e.sha256.clone());
        let found = if is_inside(path) {
            sha256_file(&self.run_dir.join(path)).ok().map(|(_, h)| h)
        } else {
            None
        };
        let state = match (&recorded, &found) {
            (None, _) => EvidenceState::NotRecorded,
            (Some(_), None) => EvidenceState::Missing,
            (Some(r), Some(f)) if r == f => EvidenceState::Ok,
            (Some(_), Some(_)) => EvidenceState::Altered,
        };
        let result = EvidenceResult {
            path: path.to_owned(),
            state,
            recorded_sha256: recorded,
            found_sha256: found,
        };
        self.seen.insert(path.to_owned(), result.clone());
        result
    }
}

/// The checks one criterion needs, the files they cite, and the needs the run has nothing for.
#[derive(Default)]
struct Gathered {
    checks: Vec<CheckResult>,
    files: Vec<PathBuf>,
    /// Needs with nothing in the run, in words.
    absent: Vec<String>,
    /// Needs with something in the run.
    present: usize,
}

impl Gathered {
    fn cite(&mut self, files: impl IntoIterator<Item = PathBuf>) {
        for f in files {
            if !self.files.contains(&f) {
                self.files.push(f);
            }
        }
    }

    fn need(&mut self, found: bool, absent: impl FnOnce() -> String) {
        if found {
            self.present += 1;
        } else {
            self.absent.push(absent());
        }
    }
}

fn flow_verdict(status: FlowStatus) -> Verdict {
    match status {
        FlowStatus::Passed | FlowStatus::Flaky => Verdict::Pass,
        FlowStatus::Failed | FlowStatus::TimedOut => Verdict::Failed,
        FlowStatus::Skipped | FlowStatus::NotRun => Verdict::Unverified,
    }
}

fn gather(report: &StagingRunReport, c: &GateCriterion) -> Gathered {
    let mut g = Gathered::default();
    let flow_by_id = |id: &str| report.flows.iter().find(|f| f.id == id);
    if c.health {
        match &report.health {
            None => g.need(false, || "the health pre-check did not run".to_owned()),
            Some(h) => {
                g.need(true, String::new);
                let (verdict, note) = if h.skipped {
                    (Verdict::Unverified, format!("skipped: {}", h.summary))
                } else if h.passed {
                    (Verdict::Pass, h.summary.clone())
                } else {
                    (
                        Verdict::Failed,
                        format!("failing: {}", h.failing.join(", ")),
                    )
                };
                g.checks.push(CheckResult {
                    what: "health pre-check".to_owned(),
                    verdict,
                    note: Some(note),
                });
                if !h.skipped {
                    g.cite([PathBuf::from(HEALTH_FILE)]);
                }
            }
        }
    }
    for id in &c.flows {
        let flows: Vec<_> = if id == "*" {
            report.flows.iter().collect()
        } else {
            flow_by_id(id).into_iter().collect()
        };
        g.need(!flows.is_empty(), || {
            if id == "*" {
                "the run has no flows".to_owned()
            } else {
                format!("flow {id} was not in this run")
            }
        });
        for f in flows {
            g.checks.push(CheckResult {
                what: format!("flow {}", f.id),
                verdict: flow_verdict(f.status),
                note: match f.status {
                    FlowStatus::Passed => None,
                    FlowStatus::Flaky => Some("passed on a retry".to_owned()),
                    _ => Some(format!(
                        "{}{}",
                        serde_json::to_value(f.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        f.reason
                            .as_deref()
                            .map_or_else(String::new, |r| format!(": {r}"))
                    )),
                },
            });
            g.cite(flow_files(f));
        }
    }
    let by_criteria = |g: &mut Gathered,
                       matches: &dyn Fn(&crate::report::CriterionReport) -> bool,
                       what: String| {
        let found: Vec<_> = report.criteria.iter().filter(|rc| matches(rc)).collect();
        g.need(!found.is_empty(), || what);
        for rc in found {
            g.checks.push(CheckResult {
                what: match &rc.flow {
                    Some(f) => format!("{} (flow {f})", rc.name),
                    None => rc.name.clone(),
                },
                verdict: rc.verdict,
                note: rc.note.clone(),
            });
            match &rc.flow {
                Some(f) => {
                    if let Some(flow) = flow_by_id(f) {
                        g.cite(flow_files(flow));
                    }
                }
                None => g.cite([PathBuf::from(HEALTH_FILE)]),
            }
        }
    };
    for kind in &c.proves {
        let word = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        by_criteria(
            &mut g,
            &|rc| rc.proves == Some(*kind),
            format!(
                "no `{word}` criterion was recorded in this run (no step that proves it ran, \
                 or a fixed OTP stood in for the mail)"
            ),
        );
    }
    for pattern in &c.criteria {
        // Checked when the file was read; a pattern that does not parse matches nothing.
        let p = TextPattern::parse_raw(pattern).ok();
        by_criteria(
            &mut g,
            &|rc| p.as_ref().is_some_and(|p| p.matches_raw(&rc.name)),
            format!("no criterion of this run matches {pattern:?}"),
        );
    }
    if !c.step_kinds.is_empty() {
        let mut any = false;
        for f in &report.flows {
            for s in f.steps.iter().filter(|s| c.step_kinds.contains(&s.kind)) {
                any = true;
                g.checks.push(CheckResult {
                    what: format!(
                        "step {} of {} ({}: {})",
                        s.index + 1,
                        f.id,
                        s.kind,
                        s.summary
                    ),
                    verdict: match s.status {
                        StepStatus::Passed => Verdict::Pass,
                        StepStatus::Failed => Verdict::Failed,
                        _ => Verdict::Unverified,
                    },
                    note: s.error.clone(),
                });
                g.cite(s.artifacts.iter().map(|a| a.path.clone()));
            }
        }
        g.need(any, || {
            format!("no step of kind {} ran", c.step_kinds.join(" / "))
        });
    }
    if !c.evidence.is_empty() {
        g.need(true, String::new);
        g.cite(c.evidence.iter().cloned());
    }
    g
}

fn judge_one(
    report: &StagingRunReport,
    c: &GateCriterion,
    files: &mut EvidenceCache<'_>,
    problems: &[String],
) -> CriterionResult {
    let mut g = gather(report, c);
    let applicable = c.required || g.present > 0;
    if !applicable {
        return CriterionResult {
            id: c.id.clone(),
            name: c.title().to_owned(),
            verdict: None,
            blocking: false,
            may_be_unverified: c.may_be_unverified,
            reasons: g.absent,
            checks: vec![],
            evidence: vec![],
        };
    }
    if !c.required {
        // Not required: the needs the run has nothing for are simply not part of it.
        g.absent.clear();
    }
    // Every step verdict of a run is in its event log: every criterion rests on it.
    let mut cited = vec![PathBuf::from(crate::report::EVENT_LOG_FILE)];
    cited.extend(g.files.iter().cloned());
    let evidence: Vec<EvidenceResult> = cited.iter().map(|p| files.check(p)).collect();

    let mut reasons = Vec::new();
    for ch in g.checks.iter().filter(|ch| ch.verdict == Verdict::Failed) {
        reasons.push(format!(
            "FAILED: {}{}",
            ch.what,
            ch.note
                .as_deref()
                .map_or_else(String::new, |n| format!(": {n}"))
        ));
    }
    for ch in g
        .checks
        .iter()
        .filter(|ch| ch.verdict == Verdict::Unverified)
    {
        reasons.push(format!(
            "UNVERIFIED: {}{}",
            ch.what,
            ch.note
                .as_deref()
                .map_or_else(String::new, |n| format!(": {n}"))
        ));
    }
    reasons.extend(g.absent.iter().map(|a| format!("not run: {a}")));
    for e in evidence.iter().filter(|e| e.state != EvidenceState::Ok) {
        reasons.push(format!(
            "evidence {}: {}",
            e.path.display(),
            match e.state {
                EvidenceState::Missing => "recorded by the run, now missing",
                EvidenceState::Altered => "changed since the run (SHA-256 differs)",
                EvidenceState::NotRecorded => "not recorded by the run",
                EvidenceState::Ok => "ok",
            }
        ));
    }
    reasons.extend(problems.iter().map(|p| format!("report: {p}")));

    let failed = g.checks.iter().any(|ch| ch.verdict == Verdict::Failed);
    let tampered = evidence.iter().any(|e| e.state.tampered()) || !problems.is_empty();
    let all_pass = g.absent.is_empty()
        && (!g.checks.is_empty() || !c.evidence.is_empty())
        && g.checks.iter().all(|ch| ch.verdict == Verdict::Pass)
        && evidence.iter().all(|e| e.state == EvidenceState::Ok)
        && problems.is_empty();
    let verdict = if failed {
        Verdict::Failed
    } else if all_pass {
        Verdict::Pass
    } else {
        Verdict::Unverified
    };
    let blocking = match verdict {
        Verdict::Pass => false,
        Verdict::Failed => true,
        Verdict::Unverified => !c.may_be_unverified || tampered,
    };
    CriterionResult {
        id: c.id.clone(),
        name: c.title().to_owned(),
        verdict: Some(verdict),
        blocking,
        may_be_unverified: c.may_be_unverified,
        reasons,
        checks: g.checks,
        evidence,
    }
}

/// The JSON Schema of `go-no-go.json`, for `flows schema --gate`.
pub fn gate_schema_json() -> String {
    let mut schema = schemars::schema_for!(GoNoGo);
    schema.insert(
        "$id".to_owned(),
        format!("urn:flows:go-no-go:{GATE_SCHEMA_VERSION}").into(),
    );
    let mut text = serde_json::to_string_pretty(&schema)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the schema: {e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
