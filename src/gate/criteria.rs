//! `gate.toml`: the release criteria a finished run is judged against, and the built-in default
//! (seed 000's GO checklist expressed over the run).
//!
//! A criterion names what it needs from the run; every need must hold for a PASS:
//! ```toml
//! [[criterion]]
//! id = "mail-otp"                 # short, unique; the JSON and the Markdown use it
//! name = "Sign-in code delivered by mail"
//! proves = ["mail_code"]          # criteria of these kinds the run recorded
//! flows = ["otp-login"]           # these flows passed ("*": every flow of the run)
//! health = true                   # the health pre-check ran and was green
//! criteria = ["/unread/i"]        # run criteria whose names match (text or /regex/)
//! step_kinds = ["http"]           # every step of these kinds passed
//! evidence = ["otp-login/dashboard.png"]  # these files exist, unchanged since the run
//! may_be_unverified = true        # UNVERIFIED here gives CONDITIONAL GO, not NO-GO
//! required = false                # nothing of it in the run: not applicable (not UNVERIFIED)
//! ```
//!
//! It does not read runs; [`super::evaluate`] does.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::events::Proof;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateFile {
    #[serde(rename = "criterion", default)]
    pub criteria: Vec<GateCriterion>,
}

/// One release criterion, as `gate.toml` writes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateCriterion {
    pub id: String,
    /// In words; defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub health: bool,
    #[serde(default)]
    pub flows: Vec<String>,
    #[serde(default)]
    pub proves: Vec<Proof>,
    #[serde(default)]
    pub criteria: Vec<String>,
    #[serde(default)]
    pub step_kinds: Vec<String>,
    #[serde(default)]
    pub evidence: Vec<PathBuf>,
    #[serde(default)]
    pub may_be_unverified: bool,
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

impl GateCriterion {
    pub fn title(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// Seed 000's GO checklist over a run: health green; every selected flow passed; the sign-in
/// code, a link and a notification delivered by mail; a realtime event received; contract
/// steps passed where the suite has them.
pub fn default_criteria() -> Vec<GateCriterion> {
    let c = |id: &str, name: &str| GateCriterion {
        id: id.to_owned(),
        name: Some(name.to_owned()),
        required: true,
        ..GateCriterion::default()
    };
    vec![
        GateCriterion {
            health: true,
            ..c("health", "Health pre-check green")
        },
        GateCriterion {
            flows: vec!["*".to_owned()],
            ..c("flows", "Every selected flow passed")
        },
        GateCriterion {
            proves: vec![Proof::MailCode],
            ..c("mail-otp", "Sign-in code (OTP) delivered by mail")
        },
        GateCriterion {
            proves: vec![Proof::MailLink],
            ..c("mail-link", "Sign-in or invitation link delivered by mail")
        },
        GateCriterion {
            proves: vec![Proof::MailDelivered],
            ..c("mail-notification", "Notification delivered by mail")
        },
        GateCriterion {
            proves: vec![Proof::RealtimeEvent],
            ..c("realtime", "Realtime event received")
        },
        GateCriterion {
            step_kinds: CONTRACT_STEP_KINDS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
            required: false,
            ..c("contract", "No-break contract steps passed")
        },
    ]
}

/// The step kinds of the no-break contract (seed 002), as the report names them: defined
/// beside the steps themselves (`flowfile::ast::contract`).
pub const CONTRACT_STEP_KINDS: &[&str] = crate::flowfile::ast::CONTRACT_STEP_KINDS;

/// Reads `gate.toml`; the error says where and what (exit 2 at the CLI).
pub fn load(path: &Path) -> Result<Vec<GateCriterion>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses and checks the text of a `gate.toml`.
pub fn parse(text: &str) -> Result<Vec<GateCriterion>, String> {
    let file: GateFile = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.criteria.is_empty() {
        return Err("no [[criterion]]: a gate with nothing to check would always say GO".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &file.criteria {
        if c.id.trim().is_empty() {
            return Err("a criterion has an empty `id`".into());
        }
        if !seen.insert(c.id.clone()) {
            return Err(format!("criterion id `{}` is used twice", c.id));
        }
        if !c.health
            && c.flows.is_empty()
            && c.proves.is_empty()
            && c.criteria.is_empty()
            && c.step_kinds.is_empty()
            && c.evidence.is_empty()
        {
            return Err(format!(
                "criterion `{}` needs nothing: give it `health`, `flows`, `proves`, `criteria`, \
                 `step_kinds` or `evidence`",
                c.id
            ));
        }
        for pattern in &c.criteria {
            crate::flowfile::text::TextPattern::parse_raw(pattern).map_err(|e| {
                format!("criterion `{}`: `criteria` pattern {pattern:?}: {e}", c.id)
            })?;
        }
        if let Some(bad) = c.evidence.iter().find(|p| !crate::report::is_inside(p)) {
            return Err(format!(
                "criterion `{}`: evidence {} must be a path inside the run directory",
                c.id,
                bad.display()
            ));
        }
    }
    Ok(file.criteria)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_file_and_says_what_is_wrong() {
        let ok = parse(
            "[[criterion]]\nid = \"otp\"\nproves = [\"mail_code\"]\nmay_be_unverified = true\n",
        )
        .expect("valid");
        assert_eq!(ok[0].proves, [Proof::MailCode]);
        assert!(ok[0].required);
        let err = parse("[[criterion]]\nid = \"x\"\n").expect_err("needs nothing");
        assert!(err.contains("needs nothing"), "{err}");
        let err = parse("[[criterion]]\nid = \"x\"\nproves = [\"mail_cod\"]\n").expect_err("kind");
        assert!(err.contains("mail_code"), "{err}");
        let err = parse("[[criterion]]\nid = \"x\"\nevidence = [\"../etc/passwd\"]\n")
            .expect_err("outside");
        assert!(err.contains("inside the run directory"), "{err}");
        assert!(parse("").expect_err("empty").contains("no [[criterion]]"));
    }
}
