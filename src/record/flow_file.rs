//! The flow a recording makes, and its YAML: `id`, `title`, `user`, `needs`, `steps`, one
//! inline mapping per step, comments where a person should look (a CSS locator, an env var to
//! set). Rendered whole after every step, so the file on disk is always valid YAML. Knows
//! nothing of browsers.

use super::locator::{Locator, Text};

/// A typed value as the flow writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Literal(String),
    /// A secret the person typed: `{{ env.NAME }}`, never the text itself.
    Env(String),
    /// The flow's user's address: `{{ user.email }}`.
    UserEmail,
}

/// Where a navigation landed, for `expect: { url }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlMatch {
    /// Path and query, compared as they are.
    Path(String),
    /// A regex over the URL (ids in the path became `\d+`).
    Regex(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Goto(String),
    Click(Locator),
    Fill(Locator, Value),
    Select(Locator, String),
    Check(Locator, bool),
    Upload(Locator, Vec<String>),
    Press(Locator, String),
    ExpectUrl(UrlMatch),
    ExpectVisible(Locator),
    ExpectText(Locator, Text),
}

/// A step and the comment written above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedStep {
    pub step: Step,
    pub note: Option<String>,
}

/// An env var a recorded secret is read from, and the field it was typed into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInput {
    pub env: String,
    pub field: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFlow {
    pub id: String,
    pub title: String,
    pub user: Option<String>,
    pub needs: Vec<String>,
    /// What was recorded, for the header comment (`/d/it-support as requester`).
    pub started_at: String,
    pub secrets: Vec<SecretInput>,
    pub steps: Vec<RecordedStep>,
}

impl RecordedFlow {
    /// A fresh env var name for a secret typed into `field`: the field's words in capitals
    /// (`Password` → `PASSWORD`), numbered when two fields would share it.
    pub fn secret_env(&mut self, field: &str) -> String {
        let mut base: String = field
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        base = base
            .split('_')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base = format!("SECRET_{base}").trim_end_matches('_').to_owned();
        }
        let mut name = base.clone();
        let mut n = 2;
        while self.secrets.iter().any(|s| s.env == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.secrets.push(SecretInput {
            env: name.clone(),
            field: field.to_owned(),
        });
        name
    }

    /// The whole file.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "# Recorded by `flows record` ({}).\n",
            one_line(&self.started_at)
        ));
        if !self.secrets.is_empty() {
            out.push_str(
                "# Secrets typed while recording are read from the environment; set these before a\n\
                 # run, and list them in flows.toml `[secrets] env` so every log shows [redacted]:\n",
            );
            for s in &self.secrets {
                out.push_str(&format!(
                    "#   {}: typed into \"{}\"\n",
                    s.env,
                    one_line(&s.field)
                ));
            }
        }
        out.push_str(&format!("id: {}\n", scalar(&self.id)));
        out.push_str(&format!("title: {}\n", scalar(&self.title)));
        if let Some(user) = &self.user {
            out.push_str(&format!("user: {}\n", scalar(user)));
        }
        if !self.needs.is_empty() {
            let needs: Vec<String> = self.needs.iter().map(|n| scalar(n)).collect();
            out.push_str(&format!("needs: [{}]\n", needs.join(", ")));
        }
        if self.steps.is_empty() {
            out.push_str("steps: []\n");
            return out;
        }
        out.push_str("steps:\n");
        for s in &self.steps {
            if let Some(note) = &s.note {
                out.push_str(&format!("  # {}\n", one_line(note)));
            }
            out.push_str(&format!("  - {}\n", step_yaml(&s.step)));
        }
        out
    }
}

/// One step as the terminal and the file show it: `click: { role: link, name: New ticket }`.
pub fn step_yaml(step: &Step) -> String {
    match step {
        Step::Goto(url) => format!("goto: {}", scalar(&template_safe(url))),
        Step::Click(l) => format!("click: {{ {} }}", locator(l)),
        Step::Fill(l, v) => format!("fill: {{ {}, value: {} }}", locator(l), value(v)),
        Step::Select(l, o) => format!(
            "select: {{ {}, option: {} }}",
            locator(l),
            scalar(&template_safe(o))
        ),
        Step::Check(l, true) => format!("check: {{ {} }}", locator(l)),
        Step::Check(l, false) => format!("check: {{ {}, checked: false }}", locator(l)),
        Step::Upload(l, files) => {
            let files: Vec<String> = files
                .iter()
                .map(|f| scalar(&format!("files/{f}")))
                .collect();
            format!(
                "upload: {{ {}, files: [{}] }}",
                locator(l),
                files.join(", ")
            )
        }
        Step::Press(l, key) => format!("press: {{ {}, key: {} }}", locator(l), scalar(key)),
        Step::ExpectUrl(UrlMatch::Path(p)) => {
            format!("expect: {{ url: {} }}", scalar(&template_safe(p)))
        }
        Step::ExpectUrl(UrlMatch::Regex(r)) => format!("expect: {{ url: {} }}", regex(r)),
        Step::ExpectVisible(l) => format!("expect: {{ {} }}", locator(l)),
        Step::ExpectText(l, t) => {
            format!("expect: {{ {}, has_text: {} }}", locator(l), text_value(t))
        }
    }
}

fn locator(l: &Locator) -> String {
    match l {
        Locator::Role { role, name } => format!("role: {}, {}", scalar(role), text("name", name)),
        Locator::Label(t) => text("label", t),
        Locator::Placeholder(t) => text("placeholder", t),
        Locator::Text(t) => text("text", t),
        Locator::TestId(id) => format!("test_id: {}", scalar(id)),
        Locator::Css(css) => format!("css: {}", scalar(css)),
    }
}

fn text(key: &str, t: &Text) -> String {
    match t {
        Text::Exact(s) => format!("{key}: {}, exact: true", scalar(&template_safe(s))),
        _ => format!("{key}: {}", text_value(t)),
    }
}

/// A text as a value (`has_text` has no `exact`: equality is a regex there).
fn text_value(t: &Text) -> String {
    match t {
        Text::Contains(s) => scalar(&template_safe(s)),
        Text::Exact(s) => regex(&format!("^{}$", regex_escape(s))),
        Text::Regex(r) => regex(r),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Literal(s) => scalar(&template_safe(s)),
        Value::Env(name) => format!("\"{{{{ env.{name} }}}}\""),
        Value::UserEmail => "\"{{ user.email }}\"".to_owned(),
    }
}

/// `'/source/'`: single-quoted, so backslashes stay as they are.
fn regex(source: &str) -> String {
    format!("'/{}/'", template_safe(source).replace('\'', "''"))
}

/// `s` as literal text inside a flow file's `/…/` regex.
pub(super) fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text the page showed or the person typed, with `{{` written so the template engine keeps it.
fn template_safe(s: &str) -> String {
    s.replace("{{", "{{ \"{{\" }}")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A YAML scalar that reads back as exactly `s`, inside a flow mapping: plain when that is
/// safe, else double-quoted (JSON string syntax is valid YAML).
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.trim() == s
        && s.chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '/')
        && s.chars()
            .all(|c| c.is_alphanumeric() || " _-./()@+=?&".contains(c))
        && !(s.starts_with('/') && s.ends_with('/') && s.len() > 1)
        && !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_owned()
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(r: &str, n: &str) -> Locator {
        Locator::Role {
            role: r.into(),
            name: Text::Contains(n.into()),
        }
    }

    fn step(step: Step) -> RecordedStep {
        RecordedStep { step, note: None }
    }

    fn create_ticket() -> RecordedFlow {
        let mut flow = RecordedFlow {
            id: "new-ticket".into(),
            title: "New ticket".into(),
            user: Some("requester".into()),
            needs: vec!["department-portal-open".into()],
            started_at: "from /d/it-support as requester".into(),
            secrets: vec![],
            steps: vec![],
        };
        let env = flow.secret_env("Password");
        flow.steps = vec![
            step(Step::Goto("/d/it-support".into())),
            step(Step::Click(role("link", "New ticket"))),
            step(Step::Fill(
                Locator::Label(Text::Contains("Subject".into())),
                Value::Literal("Printer: on fire, \"again\" {{ soon }}".into()),
            )),
            step(Step::Fill(
                Locator::Label(Text::Contains("Email".into())),
                Value::UserEmail,
            )),
            step(Step::Fill(
                Locator::Label(Text::Contains("Password".into())),
                Value::Env(env),
            )),
            step(Step::Select(
                Locator::Label(Text::Contains("Priority".into())),
                "High".into(),
            )),
            step(Step::Check(
                Locator::Label(Text::Contains("Urgent".into())),
                false,
            )),
            step(Step::Click(Locator::Role {
                role: "button".into(),
                name: Text::Exact("Create ticket".into()),
            })),
            step(Step::ExpectUrl(UrlMatch::Regex(r"\/tickets\/\d+$".into()))),
            step(Step::ExpectText(
                Locator::TestId("ticket-number".into()),
                Text::Regex(r"^#\d+$".into()),
            )),
            step(Step::ExpectUrl(UrlMatch::Path("/d/it-support/new".into()))),
            RecordedStep {
                step: Step::ExpectVisible(Locator::Css("main > div:nth-of-type(2)".into())),
                note: Some("css: no role, label, placeholder, text or test id".into()),
            },
        ];
        flow
    }

    #[test]
    fn a_recorded_flow_renders_as_yaml() {
        insta::assert_snapshot!(create_ticket().to_yaml());
    }

    #[test]
    fn the_yaml_reads_back_with_the_same_values() {
        let yaml = create_ticket().to_yaml();
        let doc: serde_json::Value = serde_saphyr::from_str(&yaml).expect("valid YAML");
        assert_eq!(doc["needs"][0], "department-portal-open");
        let steps = doc["steps"].as_array().unwrap();
        assert_eq!(
            steps[2]["fill"]["value"],
            "Printer: on fire, \"again\" {{ \"{{\" }} soon }}"
        );
        assert_eq!(steps[4]["fill"]["value"], "{{ env.PASSWORD }}");
        assert_eq!(steps[7]["click"]["exact"], true);
        assert_eq!(steps[8]["expect"]["url"], r"/\/tickets\/\d+$/");
    }

    #[test]
    fn scalars_that_yaml_would_misread_are_quoted() {
        for s in [
            "yes", "123", "a: b", "#1", "x, y", "", " lead", "/a/", "[x]", "null",
        ] {
            assert!(scalar(s).starts_with('"'), "{s}");
        }
        for s in ["New ticket", "/d/it-support", "requester", "a.b@c.d"] {
            assert_eq!(scalar(s), s);
        }
    }

    #[test]
    fn secret_env_names_come_from_the_field_and_never_clash() {
        let mut flow = create_ticket();
        assert_eq!(flow.secret_env("One-time code"), "ONE_TIME_CODE");
        assert_eq!(flow.secret_env("Password"), "PASSWORD_2");
        assert_eq!(flow.secret_env("2FA"), "SECRET_2FA");
    }
}
