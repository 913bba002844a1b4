//! A text test with a description for error messages. The runner builds one from the flow's
//! text pattern (substring or `/regex/i`, src/flowfile); this module only needs "does it
//! match" and "how do I say what was asked".

use std::fmt;
use std::sync::Arc;

use regex::Regex;

/// Tests a subject or body; cheap to clone.
#[derive(Clone)]
pub struct Matcher {
    description: String,
    test: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

impl Matcher {
    /// Any test. `description` is how errors show it, e.g. `~"sign-in code"` or `/code/i`.
    pub fn new(
        description: impl Into<String>,
        test: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Matcher {
        Matcher {
            description: description.into(),
            test: Arc::new(test),
        }
    }

    /// Case-insensitive substring, whitespace collapsed on both sides (the flow format's
    /// default for plain strings).
    pub fn contains(needle: &str) -> Matcher {
        let want = fold(needle);
        Matcher::new(format!("~{needle:?}"), move |hay| fold(hay).contains(&want))
    }

    /// A regular expression.
    pub fn regex(re: Regex) -> Matcher {
        Matcher::new(format!("/{}/", re.as_str()), move |hay| re.is_match(hay))
    }

    pub fn is_match(&self, haystack: &str) -> bool {
        (self.test)(haystack)
    }

    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_is_case_and_space_insensitive() {
        let m = Matcher::contains("Sign-in  code");
        assert!(m.is_match("Your sign-in code"));
        assert!(m.is_match("YOUR SIGN-IN\n CODE"));
        assert!(!m.is_match("Welcome"));
        assert_eq!(m.description(), "~\"Sign-in  code\"");
    }

    #[test]
    fn regex_matcher_describes_itself() {
        let m = Matcher::regex(Regex::new("(?i)ticket #\\d+").expect("regex"));
        assert!(m.is_match("You were added to Ticket #1001"));
        assert_eq!(m.description(), "/(?i)ticket #\\d+/");
    }
}
