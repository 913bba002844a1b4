//! `data: { /type: ticket.reply, /ticket_id: 1001, /title: "/printer/i" }`: expected values by
//! RFC 6901 pointer. A string written `/…/flags` is a regular expression; scalars compare by
//! their text (`"1001"` matches `1001`, since flow variables are strings); an expected object
//! matches when each of its keys does (extra keys in the event are fine).

use std::fmt;

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::RealtimeError;

pub(crate) struct Expectation {
    pointer: String,
    want: Want,
}

enum Want {
    Regex(Regex, String),
    Value(Value),
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.want {
            Want::Regex(_, shown) => write!(f, "{} ~ {shown}", self.pointer),
            Want::Value(v) => write!(f, "{} = {}", self.pointer, compact(v, 60)),
        }
    }
}

/// Checks and compiles the expectations of one wait.
pub(crate) fn compile(data: &[(String, Value)]) -> Result<Vec<Expectation>, RealtimeError> {
    data.iter()
        .map(|(pointer, want)| {
            // `type: x` is taken as `/type: x`; the empty pointer is the whole data.
            let pointer = if pointer.is_empty() || pointer.starts_with('/') {
                pointer.clone()
            } else {
                format!("/{pointer}")
            };
            let want = match want.as_str().and_then(regex_literal) {
                Some((pattern, flags)) => {
                    let re = RegexBuilder::new(pattern)
                        .case_insensitive(flags.contains('i'))
                        .multi_line(flags.contains('m'))
                        .dot_matches_new_line(flags.contains('s'))
                        .ignore_whitespace(flags.contains('x'))
                        .build()
                        .map_err(|e| RealtimeError::BadExpectation {
                            pointer: pointer.clone(),
                            reason: e.to_string(),
                        })?;
                    Want::Regex(re, format!("/{pattern}/{flags}"))
                }
                None => Want::Value(want.clone()),
            };
            Ok(Expectation { pointer, want })
        })
        .collect()
}

/// `/pattern/flags` → (pattern, flags), flags from `imsx`.
fn regex_literal(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix('/')?;
    let end = rest.rfind('/')?;
    let (pattern, flags) = (&rest[..end], &rest[end + 1..]);
    if pattern.is_empty() || !flags.chars().all(|c| "imsx".contains(c)) {
        return None;
    }
    Some((pattern, flags))
}

impl Expectation {
    /// `None` when it holds; else what the data had there.
    pub fn mismatch(&self, data: &Value) -> Option<String> {
        let got = data.pointer(&self.pointer);
        let ok = match (&self.want, got) {
            (_, None) => false,
            (Want::Regex(re, _), Some(Value::String(s))) => re.is_match(s),
            (Want::Regex(re, _), Some(other)) => re.is_match(&other.to_string()),
            (Want::Value(want), Some(got)) => value_matches(want, got),
        };
        if ok {
            None
        } else {
            Some(match got {
                None => format!("{} missing", self.pointer),
                Some(v) => format!("{} = {}", self.pointer, compact(v, 40)),
            })
        }
    }
}

fn value_matches(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.trim().parse::<f64>().ok() == n.as_f64()
        }
        (Value::String(s), Value::Bool(b)) | (Value::Bool(b), Value::String(s)) => {
            s == if *b { "true" } else { "false" }
        }
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, wv)| g.get(k).is_some_and(|gv| value_matches(wv, gv))),
        (Value::Array(w), Value::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(a, b)| value_matches(a, b))
        }
        _ => want == got,
    }
}

/// Short JSON for messages: `{id:1001,type:"ticket.reply"}`, cut at `max` characters.
pub(crate) fn compact(v: &Value, max: usize) -> String {
    let mut s = String::new();
    write_compact(v, &mut s);
    if s.chars().count() > max {
        let mut cut: String = s.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        s
    }
}

fn write_compact(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(k);
                out.push(':');
                write_compact(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exp(pointer: &str, want: Value) -> Expectation {
        compile(&[(pointer.to_owned(), want)])
            .expect("compiles")
            .remove(0)
    }

    #[test]
    fn values_regexes_and_pointers() {
        let data = json!({"type": "ticket.reply", "ticket_id": 1001, "title": "Printer on fire", "meta": {"by": 3, "x": 1}});
        assert!(exp("/type", json!("ticket.reply"))
            .mismatch(&data)
            .is_none());
        assert!(exp("type", json!("ticket.reply")).mismatch(&data).is_none());
        assert!(exp("/ticket_id", json!("1001")).mismatch(&data).is_none());
        assert!(exp("/ticket_id", json!(1001.0)).mismatch(&data).is_none());
        assert!(exp("/title", json!("/printer/i")).mismatch(&data).is_none());
        assert!(exp("/meta", json!({"by": 3})).mismatch(&data).is_none());
        assert_eq!(
            exp("/type", json!("ticket.assigned"))
                .mismatch(&data)
                .as_deref(),
            Some("/type = \"ticket.reply\"")
        );
        assert_eq!(
            exp("/nope", json!(1)).mismatch(&data).as_deref(),
            Some("/nope missing")
        );
        assert!(exp("/title", json!("/printer/")).mismatch(&data).is_some());
        // A path is not a regex unless its flags are flags.
        assert!(exp("/p", json!("/tickets/1001"))
            .mismatch(&json!({"p": "/tickets/1001"}))
            .is_none());
    }

    #[test]
    fn bad_regexes_are_errors() {
        assert!(compile(&[("/a".into(), json!("/(/"))]).is_err());
    }

    #[test]
    fn compact_json_is_short() {
        assert_eq!(
            compact(&json!({"id": 1001, "t": "x"}), 60),
            "{id:1001,t:\"x\"}"
        );
        assert_eq!(compact(&json!("abcdef"), 3), "\"ab…");
    }
}
