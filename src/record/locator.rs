//! The locators the recorder writes, and which one it picks for an element: the page offers
//! every candidate (built and resolved by the runner's own page.js, see `recorder.js`), each
//! marked whether it resolves to that element alone; [`choose`] takes the first unique one in
//! the documented order. Does not talk to the browser.

use serde_json::Value;

/// Text in a locator, as a flow file writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// Case-insensitive substring (the flow format's plain string).
    Contains(String),
    /// Equality as the browser computes it (`exact: true`).
    Exact(String),
    /// A regex (`/source/`): text with numbers, which change between runs.
    Regex(String),
}

impl Text {
    /// From page.js's pattern JSON (`{kind, value}` / `{kind: "regex", source}`).
    fn from_json(v: &Value) -> Option<Text> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        match v.get("kind")?.as_str()? {
            "regex" => text("source").map(Text::Regex),
            "exact" => text("value").map(Text::Exact),
            _ => text("value").map(Text::Contains),
        }
    }

    /// Whether the text had to become a regex (it holds numbers).
    fn volatile(&self) -> bool {
        matches!(self, Text::Regex(_))
    }
}

/// A locator of the flow format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    Role { role: String, name: Text },
    Label(Text),
    Placeholder(Text),
    Text(Text),
    TestId(String),
    Css(String),
}

impl Locator {
    /// From page.js's locator JSON; `None` for shapes the recorder does not write.
    pub fn from_json(v: &Value) -> Option<Locator> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        if let Some(role) = s("role") {
            return Some(Locator::Role {
                role,
                name: Text::from_json(v.get("name")?)?,
            });
        }
        if let Some(p) = v.get("label") {
            return Text::from_json(p).map(Locator::Label);
        }
        if let Some(p) = v.get("placeholder") {
            return Text::from_json(p).map(Locator::Placeholder);
        }
        if let Some(p) = v.get("text") {
            return Text::from_json(p).map(Locator::Text);
        }
        if let Some(id) = s("test_id") {
            return Some(Locator::TestId(id));
        }
        s("css").map(Locator::Css)
    }

    pub fn is_css(&self) -> bool {
        matches!(self, Locator::Css(_))
    }

    /// Sort key of the choice order: user-facing kinds first (role + name, label, placeholder,
    /// text, test id), a plain name before `exact: true`; text with numbers (a regex) only
    /// after the test id, since a test id says what the element is and a number says which;
    /// CSS last of all.
    fn rank(&self) -> (bool, bool, u8, bool) {
        let (kind, text) = match self {
            Locator::Role { name, .. } => (0, Some(name)),
            Locator::Label(t) => (1, Some(t)),
            Locator::Placeholder(t) => (2, Some(t)),
            Locator::Text(t) => (3, Some(t)),
            Locator::TestId(_) => (4, None),
            Locator::Css(_) => (5, None),
        };
        (
            self.is_css(),
            text.is_some_and(Text::volatile),
            kind,
            matches!(text, Some(Text::Exact(_))),
        )
    }
}

/// A locator the page offered, and whether the runner resolves it to the element alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub locator: Locator,
    pub unique: bool,
}

/// The page's `candidates` array (shapes the recorder does not know are left out).
pub fn candidates_from_json(v: &Value) -> Vec<Candidate> {
    v.as_array()
        .map(|all| {
            all.iter()
                .filter_map(|c| {
                    Some(Candidate {
                        locator: Locator::from_json(c.get("locator")?)?,
                        unique: c.get("unique").and_then(Value::as_bool).unwrap_or(false),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the recorder writes for an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub locator: Locator,
    /// Why it is not a user-facing locator, or not a unique one (a YAML comment on the step).
    pub note: Option<String>,
}

/// The best candidate: the first in [`Locator::rank`] order that resolves to the element
/// alone. When only CSS does, it says so; when nothing does, the CSS path is written with a
/// note that it may match several elements (the replay then fails saying which).
pub fn choose(candidates: &[Candidate]) -> Option<Choice> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by_key(|c| c.locator.rank());
    if let Some(best) = sorted.iter().find(|c| c.unique) {
        let note = best.locator.is_css().then(|| {
            "css: no role, label, placeholder, text or test id resolves to this element alone"
                .to_owned()
        });
        return Some(Choice {
            locator: best.locator.clone(),
            note,
        });
    }
    let css = sorted.iter().find(|c| c.locator.is_css())?;
    Some(Choice {
        locator: css.locator.clone(),
        note: Some(
            "css: no locator, not even this CSS path, resolved to this element alone when it \
             was recorded; make it specific"
                .to_owned(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(locator: Value, unique: bool) -> Value {
        json!({ "locator": locator, "unique": unique })
    }

    fn pick(all: Value) -> Choice {
        choose(&candidates_from_json(&all)).expect("a choice")
    }

    #[test]
    fn role_and_name_come_first_when_unique() {
        let all = json!([
            c(json!({ "css": "#new" }), true),
            c(json!({ "test_id": "new" }), true),
            c(
                json!({ "text": { "kind": "contains", "value": "New ticket" } }),
                true
            ),
            c(
                json!({ "role": "link", "name": { "kind": "contains", "value": "New ticket" } }),
                true
            ),
        ]);
        assert_eq!(
            pick(all).locator,
            Locator::Role {
                role: "link".into(),
                name: Text::Contains("New ticket".into())
            }
        );
    }

    #[test]
    fn the_order_is_role_label_placeholder_text_test_id_then_css() {
        let all = [
            json!({ "role": "textbox", "name": { "kind": "contains", "value": "Subject" } }),
            json!({ "label": { "kind": "contains", "value": "Subject" } }),
            json!({ "placeholder": { "kind": "contains", "value": "Short summary" } }),
            json!({ "text": { "kind": "contains", "value": "Subject" } }),
            json!({ "test_id": "subject" }),
            json!({ "css": "#subject" }),
        ];
        // Each in turn is the first unique one: it is chosen, whatever comes after it.
        for first in 0..all.len() {
            let offered: Vec<Value> = all
                .iter()
                .enumerate()
                .rev()
                .map(|(i, l)| c(l.clone(), i >= first))
                .collect();
            let chosen = pick(Value::Array(offered));
            assert_eq!(chosen.locator, Locator::from_json(&all[first]).unwrap());
            assert_eq!(chosen.note.is_some(), first == all.len() - 1, "{first}");
        }
    }

    #[test]
    fn a_plain_name_beats_exact_and_exact_is_used_when_only_it_is_unique() {
        let plain = json!({ "role": "button", "name": { "kind": "contains", "value": "Save" } });
        let exact = json!({ "role": "button", "name": { "kind": "exact", "value": "Save" } });
        let both = pick(json!([c(exact.clone(), true), c(plain.clone(), true)]));
        assert_eq!(both.locator, Locator::from_json(&plain).unwrap());
        let only_exact = pick(json!([c(plain, false), c(exact.clone(), true)]));
        assert_eq!(only_exact.locator, Locator::from_json(&exact).unwrap());
    }

    #[test]
    fn text_with_numbers_comes_after_the_test_id_but_before_css() {
        let number = json!({ "text": { "kind": "regex", "source": "^#\\d+$", "flags": "" } });
        let test_id = json!({ "test_id": "ticket-number" });
        let css = json!({ "css": "span.number" });
        let with_id = pick(json!([
            c(number.clone(), true),
            c(test_id, true),
            c(css.clone(), true)
        ]));
        assert_eq!(with_id.locator, Locator::TestId("ticket-number".into()));
        let without = pick(json!([c(css, true), c(number.clone(), true)]));
        assert_eq!(without.locator, Locator::from_json(&number).unwrap());
        assert_eq!(without.note, None);
    }

    #[test]
    fn nothing_unique_writes_the_css_path_and_says_so() {
        let chosen = pick(json!([
            c(
                json!({ "text": { "kind": "contains", "value": "Edit" } }),
                false
            ),
            c(json!({ "css": "li:nth-of-type(2) > button" }), false),
        ]));
        assert!(chosen.locator.is_css());
        assert!(chosen.note.unwrap().contains("make it specific"));
        assert_eq!(choose(&[]), None);
    }
}
