//! Key names and chords for `press:` (`Enter`, `Control+A`): the one table of named keys, used
//! by `flows check` to refuse a chord the browser could not press and by the runtime to turn
//! each key into its W3C WebDriver key value (WebDriver §17.4.2), so the two cannot drift.
//!
//! Owns names and parsing only; pressing is `exec::browser`'s.

/// Named keys: the name shown in messages, other spellings (all matched case-insensitively),
/// and the WebDriver key value.
pub const NAMED_KEYS: &[(&str, &[&str], char)] = &[
    ("Enter", &["Return"], '\u{E007}'),
    ("Tab", &[], '\u{E004}'),
    ("Escape", &["Esc"], '\u{E00C}'),
    ("Backspace", &[], '\u{E003}'),
    ("Delete", &[], '\u{E017}'),
    ("Insert", &[], '\u{E016}'),
    ("Space", &[], '\u{E00D}'),
    ("ArrowUp", &["Up"], '\u{E013}'),
    ("ArrowDown", &["Down"], '\u{E015}'),
    ("ArrowLeft", &["Left"], '\u{E012}'),
    ("ArrowRight", &["Right"], '\u{E014}'),
    ("Home", &[], '\u{E011}'),
    ("End", &[], '\u{E010}'),
    ("PageUp", &[], '\u{E00E}'),
    ("PageDown", &[], '\u{E00F}'),
    ("Shift", &[], '\u{E008}'),
    ("Control", &["Ctrl"], '\u{E009}'),
    ("Alt", &[], '\u{E00A}'),
    ("Meta", &["Command", "Cmd"], '\u{E03D}'),
    ("F1", &[], '\u{E031}'),
    ("F2", &[], '\u{E032}'),
    ("F3", &[], '\u{E033}'),
    ("F4", &[], '\u{E034}'),
    ("F5", &[], '\u{E035}'),
    ("F6", &[], '\u{E036}'),
    ("F7", &[], '\u{E037}'),
    ("F8", &[], '\u{E038}'),
    ("F9", &[], '\u{E039}'),
    ("F10", &[], '\u{E03A}'),
    ("F11", &[], '\u{E03B}'),
    ("F12", &[], '\u{E03C}'),
];

/// One key of a chord: a named key (its WebDriver value) or a single character typed as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Named { name: &'static str, value: char },
    Char(char),
}

impl Key {
    /// The W3C key action value.
    pub fn value(self) -> char {
        match self {
            Key::Named { value, .. } | Key::Char(value) => value,
        }
    }
}

/// What is wrong with a chord.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChordError {
    #[error("empty key")]
    Empty,
    #[error("a chord has an empty part (`{0}`): keys are joined by single `+`")]
    EmptyPart(String),
    #[error("unknown key{} {}", if .0.len() == 1 { "" } else { "s" }, quoted(.0))]
    Unknown(Vec<String>),
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The named key `name` (any spelling, any case).
pub fn named_key(name: &str) -> Option<Key> {
    NAMED_KEYS.iter().find_map(|&(canonical, aliases, value)| {
        (canonical.eq_ignore_ascii_case(name)
            || aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
        .then_some(Key::Named {
            name: canonical,
            value,
        })
    })
}

/// A key (`Enter`, `a`) or a chord joined by `+` (`Control+Shift+K`). A lone `+` is the plus
/// key; `Control++` is Control with it.
pub fn parse_chord(text: &str) -> Result<Vec<Key>, ChordError> {
    if text.is_empty() {
        return Err(ChordError::Empty);
    }
    if text == "+" {
        return Ok(vec![Key::Char('+')]);
    }
    let (body, plus) = match text.strip_suffix("++") {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let mut keys = Vec::new();
    let mut unknown = Vec::new();
    for part in body.split('+') {
        let part = part.trim();
        if part.is_empty() {
            return Err(ChordError::EmptyPart(text.to_owned()));
        }
        let mut chars = part.chars();
        match (chars.next(), chars.next(), named_key(part)) {
            (_, _, Some(key)) => keys.push(key),
            (Some(c), None, None) => keys.push(Key::Char(c)),
            _ => unknown.push(part.to_owned()),
        }
    }
    if plus {
        keys.push(Key::Char('+'));
    }
    if unknown.is_empty() {
        Ok(keys)
    } else {
        Err(ChordError::Unknown(unknown))
    }
}

/// Every key name `press` understands, for a hint.
pub fn key_names() -> String {
    let names: Vec<&str> = NAMED_KEYS.iter().map(|&(name, _, _)| name).collect();
    format!(
        "{}, or a single character (`a`, `7`, `/`)",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_keys_chars_and_chords_parse() {
        assert_eq!(
            parse_chord("Enter"),
            Ok(vec![Key::Named {
                name: "Enter",
                value: '\u{E007}'
            }])
        );
        assert_eq!(parse_chord("return"), parse_chord("ENTER"));
        assert_eq!(parse_chord("a"), Ok(vec![Key::Char('a')]));
        let chord = parse_chord("Control+Shift+K").expect("chord");
        let values: Vec<char> = chord.iter().map(|k| k.value()).collect();
        assert_eq!(values, ['\u{E009}', '\u{E008}', 'K']);
        assert_eq!(parse_chord("Ctrl + a").expect("spaces").len(), 2);
        assert_eq!(parse_chord("F12").expect("F12")[0].value(), '\u{E03C}');
    }

    #[test]
    fn the_plus_key_is_a_key() {
        assert_eq!(parse_chord("+"), Ok(vec![Key::Char('+')]));
        let chord = parse_chord("Control++").expect("chord");
        assert_eq!(chord.len(), 2);
        assert_eq!(chord[1], Key::Char('+'));
    }

    #[test]
    fn unknown_and_empty_parts_are_errors_naming_them() {
        assert_eq!(
            parse_chord("Control+Alt+Hyper+NoSuchKey"),
            Err(ChordError::Unknown(vec![
                "Hyper".into(),
                "NoSuchKey".into()
            ]))
        );
        assert_eq!(
            parse_chord("Control+Alt+Hyper+NoSuchKey")
                .expect_err("unknown")
                .to_string(),
            "unknown keys `Hyper`, `NoSuchKey`"
        );
        assert_eq!(parse_chord(""), Err(ChordError::Empty));
        assert_eq!(
            parse_chord("Control++a"),
            Err(ChordError::EmptyPart("Control++a".into()))
        );
        assert_eq!(
            parse_chord("Control+"),
            Err(ChordError::EmptyPart("Control+".into()))
        );
        assert!(matches!(parse_chord("ab"), Err(ChordError::Unknown(_))));
    }

    #[test]
    fn every_name_and_alias_is_found_and_values_are_distinct() {
        let mut values: Vec<char> = NAMED_KEYS.iter().map(|&(_, _, v)| v).collect();
        for &(name, aliases, value) in NAMED_KEYS {
            assert_eq!(named_key(name).map(Key::value), Some(value), "{name}");
            for a in aliases {
                assert_eq!(named_key(a).map(Key::value), Some(value), "{a}");
            }
        }
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), NAMED_KEYS.len());
        assert!(key_names().starts_with("Enter, Tab, Escape"));
    }
}
