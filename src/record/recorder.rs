//! Turns the page's messages into steps: a click, a fill (the final value; a secret field's
//! value as an env placeholder, the user's address as `{{ user.email }}`), a select, a check,
//! an upload, Enter pressed in a field, an assertion; a navigation the person typed becomes a
//! `goto`, one an action caused becomes `expect: { url }`. Writes the file atomically after
//! every step. Does not talk to the browser (`record::browser` does).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::flow_file::{regex_escape as escape, RecordedFlow, RecordedStep, Step, UrlMatch, Value};
use super::locator::{candidates_from_json, choose, Locator, Text};

pub struct Recorder {
    pub flow: RecordedFlow,
    out: PathBuf,
    /// The base URL: URLs on its origin are written as paths.
    base: String,
    user_email: Option<String>,
    /// Loads to leave out: the recorder's own first `goto` is already a step.
    skip_loads: u32,
}

impl Recorder {
    pub fn new(flow: RecordedFlow, out: &Path, base: &str, user_email: Option<String>) -> Recorder {
        Recorder {
            flow,
            out: out.to_owned(),
            base: base.trim_end_matches('/').to_owned(),
            user_email,
            skip_loads: 0,
        }
    }

    /// The recorder navigated itself (the first page): that load is the `goto` already written.
    pub fn add_goto(&mut self, url: &str) -> std::io::Result<RecordedStep> {
        self.skip_loads += 1;
        self.push(RecordedStep {
            step: Step::Goto(url.to_owned()),
            note: None,
        })
    }

    /// Writes the file as it is now (atomically: a reader never sees half a file).
    pub fn write(&self) -> std::io::Result<()> {
        crate::artifact::write_atomic(&self.out, self.flow.to_yaml().as_bytes())
    }

    fn push(&mut self, step: RecordedStep) -> std::io::Result<RecordedStep> {
        self.flow.steps.push(step.clone());
        self.write()?;
        Ok(step)
    }

    /// One message from the page (the JSON text it sent); the steps it added, already written.
    pub fn handle(&mut self, text: &str) -> std::io::Result<Vec<RecordedStep>> {
        let Ok(msg) = serde_json::from_str::<Json>(text) else {
            return Ok(vec![]);
        };
        let kind = msg.get("type").and_then(Json::as_str).unwrap_or_default();
        let s = |k: &str| msg.get(k).and_then(Json::as_str).map(str::to_owned);
        if kind == "load" {
            return match self.load(&msg) {
                Some(step) => Ok(vec![self.push(step)?]),
                None => Ok(vec![]),
            };
        }
        if kind == "assert_mode" {
            let on = msg.get("on").and_then(Json::as_bool) == Some(true);
            eprintln!(
                "assert mode {}",
                if on {
                    "on: the next click becomes an `expect`"
                } else {
                    "off"
                }
            );
            return Ok(vec![]);
        }
        let Some(choice) = choose(&candidates_from_json(&msg["candidates"])) else {
            return Ok(vec![]);
        };
        let l = choice.locator;
        let step = match kind {
            "click" => Step::Click(l),
            "fill" => {
                let value = if msg.get("secret").and_then(Json::as_bool) == Some(true) {
                    let field = s("hint").unwrap_or_else(|| "secret".to_owned());
                    Value::Env(self.flow.secret_env(&field))
                } else {
                    let typed = s("value").unwrap_or_default();
                    match &self.user_email {
                        Some(email) if typed.eq_ignore_ascii_case(email) => Value::UserEmail,
                        _ => Value::Literal(typed),
                    }
                };
                Step::Fill(l, value)
            }
            "select" => Step::Select(l, s("option").unwrap_or_default()),
            "check" => Step::Check(
                l,
                msg.get("checked").and_then(Json::as_bool).unwrap_or(true),
            ),
            "upload" => Step::Upload(
                l,
                msg["files"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter_map(Json::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            "press" => Step::Press(l, s("key").unwrap_or_else(|| "Enter".to_owned())),
            "expect" => expectation(l, &msg),
            _ => return Ok(vec![]),
        };
        let note = match (&step, choice.note) {
            (Step::Upload(..), None) => {
                Some("copy the uploaded files next to this flow, under files/".to_owned())
            }
            (_, note) => note,
        };
        Ok(vec![self.push(RecordedStep { step, note })?])
    }

    /// A new document: the effect of the last action (`expect: { url }`), or a navigation the
    /// person typed (`goto`).
    fn load(&mut self, msg: &Json) -> Option<RecordedStep> {
        let url = msg.get("url").and_then(Json::as_str)?;
        if self.skip_loads > 0 {
            self.skip_loads -= 1;
            return None;
        }
        let by_action = msg.get("by_action").and_then(Json::as_bool) == Some(true);
        let shown = self.relative(url);
        let step = if by_action {
            Step::ExpectUrl(url_match(&shown))
        } else {
            Step::Goto(shown)
        };
        Some(RecordedStep { step, note: None })
    }

    /// A URL on the base origin as its path (and query), as flows write them.
    fn relative(&self, url: &str) -> String {
        match url.strip_prefix(&self.base) {
            Some("") => "/".to_owned(),
            Some(rest) if rest.starts_with('/') || rest.starts_with('?') => rest.to_owned(),
            _ => url.to_owned(),
        }
    }
}

/// Assert mode's click: `has_text` when the element shows a short text (and the locator is not
/// that text already), else visibility.
fn expectation(l: Locator, msg: &Json) -> Step {
    let short = msg.get("text").and_then(Json::as_str).is_some() && !matches!(l, Locator::Text(_));
    match msg.get("text_pattern") {
        Some(p) if short => {
            let t = match p.get("kind").and_then(Json::as_str) {
                Some("regex") => p
                    .get("source")
                    .and_then(Json::as_str)
                    .map(|s| Text::Regex(s.into())),
                _ => p
                    .get("value")
                    .and_then(Json::as_str)
                    .map(|s| Text::Contains(s.into())),
            };
            match t {
                Some(t) => Step::ExpectText(l, t),
                None => Step::ExpectVisible(l),
            }
        }
        _ => Step::ExpectVisible(l),
    }
}

/// `expect: { url }` for where an action led: the path as it is, or, when a path segment or
/// query value is an id (digits, a UUID, a long hex string), a regex with those parts open.
pub fn url_match(path: &str) -> UrlMatch {
    let (path_part, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut any_id = false;
    let mut re = String::new();
    for (i, seg) in path_part.split('/').enumerate() {
        if i > 0 {
            re.push_str("\\/");
        }
        re.push_str(&open_id(seg, &mut any_id));
    }
    if let Some(q) = query {
        re.push_str("\\?");
        let pairs: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => format!("{}={}", escape(k), open_id(v, &mut any_id)),
                None => escape(kv),
            })
            .collect();
        re.push_str(&pairs.join("&"));
    }
    if !any_id {
        return UrlMatch::Path(path.to_owned());
    }
    // Anchored at the end only: the URL compared is a full one (scheme and host first).
    UrlMatch::Regex(format!("{re}$"))
}

fn open_id(seg: &str, any: &mut bool) -> String {
    let digits = !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit());
    let uuid = seg.len() == 36
        && seg.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    let hex = seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_hexdigit());
    if digits {
        *any = true;
        "\\d+".to_owned()
    } else if uuid || hex {
        *any = true;
        "[0-9a-fA-F-]+".to_owned()
    } else {
        escape(seg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recorder(dir: &Path) -> Recorder {
        Recorder::new(
            RecordedFlow {
                id: "t".into(),
                title: "T".into(),
                user: Some("requester".into()),
                needs: vec![],
                started_at: "test".into(),
                secrets: vec![],
                steps: vec![],
            },
            &dir.join("t.yaml"),
            "http://127.0.0.1:9/",
            Some("requester@helpdesk.test".into()),
        )
    }

    fn field(extra: Json) -> String {
        let mut m = json!({
            "type": "fill",
            "candidates": [{ "locator": { "label": { "kind": "contains", "value": "Password" } }, "unique": true }],
        });
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m.to_string()
    }

    #[test]
    fn ids_in_a_path_become_a_regex_and_plain_paths_stay() {
        assert_eq!(
            url_match("/tickets/42"),
            UrlMatch::Regex(r"\/tickets\/\d+$".into())
        );
        assert_eq!(
            url_match("/d/it-support/new"),
            UrlMatch::Path("/d/it-support/new".into())
        );
        assert_eq!(
            url_match("/t?id=7&tab=a"),
            UrlMatch::Regex(r"\/t\?id=\d+&tab=a$".into())
        );
    }

    #[test]
    fn secrets_become_env_placeholders_and_the_users_address_a_variable() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = recorder(dir.path());
        r.handle(&field(json!({ "secret": true, "hint": "Password" })))
            .unwrap();
        r.handle(&field(json!({ "value": "Requester@helpdesk.test" })))
            .unwrap();
        let file = std::fs::read_to_string(dir.path().join("t.yaml")).unwrap();
        assert!(file.contains("value: \"{{ env.PASSWORD }}\""), "{file}");
        assert!(file.contains("value: \"{{ user.email }}\""), "{file}");
        assert!(
            file.contains("#   PASSWORD: typed into \"Password\""),
            "{file}"
        );
    }

    #[test]
    fn the_first_load_is_the_goto_and_later_ones_are_gotos_or_url_checks() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = recorder(dir.path());
        r.add_goto("/d/it-support").unwrap();
        let load = |url: &str, by: bool| {
            json!({ "type": "load", "url": url, "by_action": by }).to_string()
        };
        assert!(r
            .handle(&load("http://127.0.0.1:9/d/it-support", false))
            .unwrap()
            .is_empty());
        let after_click = r
            .handle(&load("http://127.0.0.1:9/tickets/3", true))
            .unwrap();
        assert_eq!(
            after_click[0].step,
            Step::ExpectUrl(UrlMatch::Regex(r"\/tickets\/\d+$".into()))
        );
        let typed = r.handle(&load("http://127.0.0.1:9/inbox", false)).unwrap();
        assert_eq!(typed[0].step, Step::Goto("/inbox".into()));
        assert_eq!(r.flow.steps.len(), 3);
    }
}
