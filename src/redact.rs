//! Secrets out of every artifact and log line.
//!
//! The executor registers every secret value as soon as it knows it (the E2E secret, users'
//! passwords and `[secrets] env` values at start, an OTP or magic link the moment it is
//! extracted, a capture the checker marked secret, cookies when read) and runs every string it
//! puts into an event, a report or a log through [`Redactor::redact`]. Redacting at the source
//! means reporters never see a secret, so no reporter can leak one.
//!
//! A secret can become known after it was already seen (a token in a URL that a click opened,
//! captured by a later step). What was written before that moment is put right by
//! [`Redactor::redact_tree`], which the reporters run over the output directory when the run
//! ends: every text artifact (event log, traces, reports, logs) is redacted again with every
//! secret the run learned, JSON files keeping their syntax (a number equal to a secret becomes
//! the string `"[redacted]"`) and `data:…;base64,` runs (trace frames) left alone.
//!
//! Matching is one Aho-Corasick pass (leftmost-longest, so a secret containing another is
//! replaced whole) over every registered form of every secret: as written, URL-encoded,
//! JSON-escaped and HTML/XML-escaped. A secret made only of digits (an OTP) matches only where
//! it is not part of a longer number, so a timestamp that happens to contain it stays intact.
//!
//! Not everything in a mailed link is secret: [`Redactor::add_link`] registers the link and the
//! parts that look like tokens ([`looks_like_token`]); values registered as public
//! ([`Redactor::add_public`]: the configured users' addresses, the base URL) never are.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are never registered: redacting them would mangle ordinary text,
/// and no real secret is that short.
const MIN_SECRET_LEN: usize = 4;

/// A shared, growing set of secret values. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
    /// Under GitHub Actions every secret is also masked in the job log (`::add-mask::`), the
    /// moment it is known, so even output that escapes redaction stays hidden.
    github_mask: bool,
}

#[derive(Default)]
struct Inner {
    /// Secrets as registered (trimmed), to skip repeats.
    secrets: HashSet<String>,
    /// Every form searched for (a secret, its encodings), in matcher pattern order.
    patterns: Vec<String>,
    /// `patterns[i]` is all ASCII digits: it must not touch another digit.
    digits_only: Vec<bool>,
    /// Built from `patterns` when one is added; `None` while there are none.
    matcher: Option<AhoCorasick>,
    /// Values known not to be secrets (configured addresses, the base URL).
    public: HashSet<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { .. }")
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor {
            inner: Arc::default(),
            // GitHub sets `true`; read as every yes/no variable is.
            github_mask: std::env::var("GITHUB_ACTIONS")
                .ok()
                .and_then(|v| crate::config::parse_bool(&v))
                .unwrap_or(false),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a secret. Values shorter than 4 characters are ignored.
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let mut inner = self.write();
        if !inner.secrets.insert(secret.to_owned()) {
            return;
        }
        if self.github_mask {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "::add-mask::{secret}");
            let _ = out.flush();
        }
        let mut added = false;
        for form in encoded_forms(secret) {
            if form.len() >= MIN_SECRET_LEN && !inner.patterns.contains(&form) {
                inner
                    .digits_only
                    .push(form.bytes().all(|b| b.is_ascii_digit()));
                inner.patterns.push(form);
                added = true;
            }
        }
        if added {
            inner.matcher = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&inner.patterns)
                .ok();
        }
    }

    /// Marks a value as known not to be a secret (a configured user's address, the base URL):
    /// [`Redactor::add_link`] never registers it. It does not unregister a secret.
    pub fn add_public(&self, value: &str) {
        let value = value.trim();
        if !value.is_empty() {
            self.write().public.insert(value.to_owned());
        }
    }

    /// Registers a link taken from a mail: each query value, fragment value and path segment
    /// that looks like a token ([`looks_like_token`]) and is not a public value, and then the
    /// whole link. A link with no token-like part (`https://app/tickets/1`, an invitation to a
    /// ticket page) is an ordinary URL, not registered; query values such as the user's address
    /// or a number stay readable wherever they appear without the link around them. A link
    /// that does not parse as a URL is registered whole.
    pub fn add_link(&self, link: &str) {
        let Ok(url) = url::Url::parse(link.trim()) else {
            self.add(link);
            return;
        };
        let mut parts: Vec<String> = url
            .path_segments()
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect();
        parts.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
        if let Some(fragment) = url.fragment() {
            parts.extend(
                url::form_urlencoded::parse(fragment.as_bytes()).map(|(_, v)| v.into_owned()),
            );
        }
        let tokens: Vec<String> = {
            let inner = self.read();
            parts
                .into_iter()
                .filter(|p| looks_like_token(p) && !inner.public.contains(p.as_str()))
                .collect()
        };
        if tokens.is_empty() {
            return;
        }
        for t in tokens {
            self.add(&t);
        }
        self.add(link);
    }

    /// Whether any secret is registered.
    pub fn is_empty(&self) -> bool {
        self.read().matcher.is_none()
    }

    /// The registered secrets (each as registered, not its encoded forms), e.g. to mask them
    /// in a page before a screenshot. Never print them.
    pub fn secrets(&self) -> Vec<String> {
        self.read().secrets.iter().cloned().collect()
    }

    /// Whether `text` contains a registered secret.
    pub fn contains_secret(&self, text: &str) -> bool {
        let inner = self.read();
        let found = find_all(&inner, text).next().is_some();
        found
    }

    /// Replaces every registered secret in `text`.
    pub fn redact(&self, text: &str) -> String {
        let inner = self.read();
        replace(&inner, text, &[], |_| REDACTED)
    }

    /// Redacts every string inside a JSON value; a number (or a string) equal to a secret
    /// becomes the string `"[redacted]"` (a numeric OTP in a JSON body).
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        let inner = self.read();
        redact_value(&inner, value)
    }

    /// Redacts JSON text (a report, an event log line), keeping it valid JSON and its layout:
    /// a secret inside a string is replaced by `[redacted]`, a number equal to a secret by
    /// `"[redacted]"`.
    pub fn redact_json_text(&self, text: &str) -> String {
        let inner = self.read();
        let states = json_string_mask(text);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end) in find_all(&inner, text) {
            let in_string = states.get(start).copied().unwrap_or(false);
            let replacement = if in_string {
                REDACTED
            } else {
                // Outside strings only a whole number can match (keys are strings): anything
                // else would not be valid JSON anyway.
                let bytes = text.as_bytes();
                let number_char = |b: u8| b.is_ascii_digit() || b"+-.eE".contains(&b);
                let whole = (start == 0 || !number_char(bytes[start - 1]))
                    && (end == bytes.len() || !number_char(bytes[end]));
                if !whole {
                    continue;
                }
                "\"[redacted]\""
            };
            out.push_str(&text[last..start]);
            out.push_str(replacement);
            last = end;
        }
        out.push_str(&text[last..]);
        out
    }

    /// Redacts text that may embed `data:…;base64,` runs (trace frames): secrets are replaced
    /// everywhere except inside those runs, whose bytes are an image, not text.
    pub fn redact_embedding(&self, text: &str) -> String {
        let inner = self.read();
        let skip = base64_runs(text);
        replace(&inner, text, &skip, |_| REDACTED)
    }

    /// Redacts every text file under `dir` (recursively) with the secrets known now, in place
    /// and atomically; returns the files rewritten. JSON (`.json`, `.jsonl`) keeps its syntax,
    /// HTML keeps its embedded images; images and other binary files are left alone.
    ///
    /// Run at the end of a run over its output directory: artifacts written before a secret
    /// became known (an earlier step's event line, a finished flow's trace) are put right.
    ///
    /// A directory or file that cannot be read or rewritten does not stop the sweep (every other
    /// file is still redacted), but the sweep then fails naming it: a scan that skipped part of
    /// the tree cannot say the tree is clean. What was removed since it was listed is skipped:
    /// nothing is left in it to leak.
    pub fn redact_tree(&self, dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
        let mut rewritten = Vec::new();
        if self.is_empty() {
            return Ok(rewritten);
        }
        let mut failed: Vec<String> = Vec::new();
        let mut note = |path: &Path, e: std::io::Error| {
            if e.kind() != std::io::ErrorKind::NotFound {
                failed.push(format!("{} ({e})", path.display()));
            }
        };
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if d == dir => return Err(e),
                Err(e) => {
                    note(&d, e);
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        note(&d, e);
                        continue;
                    }
                };
                let path = entry.path();
                // Not followed: a symbolic link (the runner writes none) is left as it is.
                let kind = match entry.file_type() {
                    Ok(kind) => kind,
                    Err(e) => {
                        note(&path, e);
                        continue;
                    }
                };
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    match self.redact_file(&path) {
                        Ok(true) => rewritten.push(path),
                        Ok(false) => {}
                        Err(e) => note(&path, e),
                    }
                }
            }
        }
        if !failed.is_empty() {
            failed.sort();
            return Err(std::io::Error::other(format!(
                "cannot read or rewrite, secrets may remain in: {}",
                failed.join(", ")
            )));
        }
        rewritten.sort();
        Ok(rewritten)
    }

    /// Redacts one text artifact in place (atomically); `Ok(false)` when it held no secret or
    /// is not text this redactor knows how to rewrite.
    pub fn redact_file(&self, path: &Path) -> std::io::Result<bool> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let kind = match ext.as_str() {
            "json" | "jsonl" => TextKind::Json,
            "html" | "htm" => TextKind::Embedding,
            "xml" | "txt" | "log" | "md" | "csv" | "yaml" | "yml" | "svg" => TextKind::Plain,
            _ => return Ok(false),
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let Ok(text) = String::from_utf8(bytes) else {
            // Log files may carry stray bytes: redact their text form.
            let text = String::from_utf8_lossy(&std::fs::read(path)?).into_owned();
            if !self.contains_secret(&text) {
                return Ok(false);
            }
            crate::artifact::write_atomic(path, self.redact(&text).as_bytes())?;
            return Ok(true);
        };
        if !self.contains_secret(&text) {
            return Ok(false);
        }
        let clean = match kind {
            TextKind::Json => self.redact_json_text(&text),
            TextKind::Embedding => self.redact_embedding(&text),
            TextKind::Plain => self.redact(&text),
        };
        if clean == text {
            return Ok(false);
        }
        crate::artifact::write_atomic(path, clean.as_bytes())?;
        Ok(true)
    }
}

enum TextKind {
    Json,
    Embedding,
    Plain,
}

/// Whether a link's query value or path segment looks like a token: 16+ characters of a
/// token alphabet (letters, digits, `-_.~+/=%`), mixing at least two of lower case, upper
/// case and digits, with the character variety of random text (Shannon entropy ≥ 3 bits per
/// character). Not a number, not an address (`@`), not a path, not a word with a suffix.
pub fn looks_like_token(value: &str) -> bool {
    let v = value.trim();
    if v.len() < 16 || v.contains('@') || v.starts_with('/') || v.contains("://") {
        return false;
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=%".contains(&b))
    {
        return false;
    }
    if v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return false;
    }
    let classes = [
        v.bytes().any(|b| b.is_ascii_lowercase()),
        v.bytes().any(|b| b.is_ascii_uppercase()),
        v.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|c| **c)
    .count();
    classes >= 2 && shannon_bits_per_char(v) >= 3.0
}

fn shannon_bits_per_char(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The forms a secret takes in the places it can appear: as is, URL-encoded (query strings,
/// form bodies), JSON-escaped (event lines, reports) and HTML/XML-escaped once and twice (the
/// HTML report, junit.xml, DOM snapshots inside a trace's `srcdoc` attributes).
fn encoded_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    let mut push = |f: String| {
        if !forms.contains(&f) {
            forms.push(f);
        }
    };
    let form = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
    push(form.replace('+', "%20"));
    push(form);
    if let Ok(json) = serde_json::to_string(secret) {
        push(json[1..json.len() - 1].to_owned());
    }
    if secret.contains(['&', '<', '>', '"', '\'']) {
        for apos in ["&#39;", "&#x27;", "&apos;", "'"] {
            let once = html_escape(secret, apos);
            push(html_escape(&once, apos));
            push(once);
        }
    }
    forms
}

fn html_escape(s: &str, apos: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str(apos),
            c => out.push(c),
        }
    }
    out
}

/// Every match (byte range) of a registered form in `text`, leftmost-longest, without the
/// digits-only ones that touch another digit.
fn find_all<'a>(inner: &'a Inner, text: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    let bytes = text.as_bytes();
    inner
        .matcher
        .iter()
        .flat_map(move |m| m.find_iter(text))
        .filter(move |m| {
            if !inner.digits_only[m.pattern().as_usize()] {
                return true;
            }
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            !before.is_some_and(|b| b.is_ascii_digit())
                && !after.is_some_and(|b| b.is_ascii_digit())
        })
        .map(|m| (m.start(), m.end()))
}

/// `text` with every match outside the `skip` ranges (sorted) replaced.
fn replace(
    inner: &Inner,
    text: &str,
    skip: &[(usize, usize)],
    replacement: impl Fn(usize) -> &'static str,
) -> String {
    let mut out = String::new();
    let mut last = 0;
    for (start, end) in find_all(inner, text) {
        if skip.iter().any(|&(s, e)| start < e && end > s) {
            continue;
        }
        if last == 0 && out.is_empty() {
            out.reserve(text.len());
        }
        out.push_str(&text[last..start]);
        out.push_str(replacement(start));
        last = end;
    }
    if last == 0 {
        return text.to_owned();
    }
    out.push_str(&text[last..]);
    out
}

fn redact_value(inner: &Inner, value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(replace(inner, s, &[], |_| REDACTED)),
        Value::Number(n) => {
            let text = n.to_string();
            if find_all(inner, &text).any(|(s, e)| s == 0 && e == text.len()) {
                Value::String(REDACTED.to_owned())
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(inner, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_value(inner, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// For each byte of JSON text: whether it is inside a string literal (between its quotes).
fn json_string_mask(text: &str) -> Vec<bool> {
    let mut mask = Vec::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for b in text.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
                mask.push(false);
                continue;
            }
            mask.push(true);
        } else {
            if b == b'"' {
                in_string = true;
            }
            mask.push(false);
        }
    }
    mask
}

/// Byte ranges of the payloads of `;base64,` runs (up to the first non-base64 character).
fn base64_runs(text: &str) -> Vec<(usize, usize)> {
    const MARK: &str = ";base64,";
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(MARK) {
        let start = from + at + MARK.len();
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'+' | b'/' | b'='))
        {
            end += 1;
        }
        runs.push((start, end));
        from = end.max(start);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_registered_secrets_and_their_url_encoding() {
        let r = Redactor::new();
        r.add("s3cr3t/with+plus");
        r.add("ab"); // too short: ignored
        let line = "GET /x?token=s3cr3t%2Fwith%2Bplus header=s3cr3t/with+plus ab";
        assert_eq!(
            r.redact(line),
            "GET /x?token=[redacted] header=[redacted] ab"
        );
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let r = Redactor::new();
        r.add("abcd");
        r.add("xxabcdyy");
        assert_eq!(r.redact("1 xxabcdyy 2 abcd"), "1 [redacted] 2 [redacted]");
    }

    #[test]
    fn redacts_escaped_forms_in_json_html_and_xml() {
        let r = Redactor::new();
        r.add(r#"pa"ss<w>o&rd'"#);
        let json =
            serde_json::to_string(&serde_json::json!({ "v": r#"pa"ss<w>o&rd'"# })).expect("json");
        assert_eq!(r.redact(&json), r#"{"v":"[redacted]"}"#);
        assert_eq!(
            r.redact("<p title=\"pa&quot;ss&lt;w&gt;o&amp;rd&#39;\">"),
            "<p title=\"[redacted]\">"
        );
        assert_eq!(
            r.redact("<x a=\"pa&quot;ss&lt;w&gt;o&amp;rd&apos;\"/>"),
            "<x a=\"[redacted]\"/>"
        );
        // A DOM snapshot inside an attribute is escaped twice.
        assert_eq!(
            r.redact("pa&amp;quot;ss&amp;lt;w&amp;gt;o&amp;amp;rd&amp;#39;"),
            "[redacted]"
        );
    }

    #[test]
    fn a_numeric_secret_matches_only_a_whole_number() {
        let r = Redactor::new();
        r.add("314159");
        assert_eq!(
            r.redact("code 314159, at 2026-12-07T10:31:41.5314159Z id 13141590"),
            "code [redacted], at 2026-12-07T10:31:41.5314159Z id 13141590"
        );
    }

    #[test]
    fn redacts_inside_json_numbers_too() {
        let r = Redactor::new();
        r.add("123456");
        let v = serde_json::json!({"a": ["code 123456"], "b": 123456, "c": 1234567, "d": 1.5});
        assert_eq!(
            r.redact_json(&v),
            serde_json::json!({"a": ["code [redacted]"], "b": "[redacted]", "c": 1234567, "d": 1.5})
        );
    }

    #[test]
    fn redacts_json_text_keeping_it_valid() {
        let r = Redactor::new();
        r.add("123456");
        r.add("tok-\"quoted\"-value");
        let text = "{\n  \"otp\": 123456,\n  \"n\": [1123456, 123456],\n  \"s\": \"x 123456 y\",\n  \"t\": \"tok-\\\"quoted\\\"-value\"\n}\n{\"k\":123456}";
        let clean = r.redact_json_text(text);
        assert_eq!(
            clean,
            "{\n  \"otp\": \"[redacted]\",\n  \"n\": [1123456, \"[redacted]\"],\n  \"s\": \"x [redacted] y\",\n  \"t\": \"[redacted]\"\n}\n{\"k\":\"[redacted]\"}"
        );
        let first: serde_json::Value =
            serde_json::from_str(clean.split("\n{\"k\"").next().expect("first")).expect("valid");
        assert_eq!(first["otp"], "[redacted]");
    }

    #[test]
    fn leaves_base64_runs_alone() {
        let r = Redactor::new();
        r.add("AAAA");
        let text = "<img src=\"data:image/png;base64,AAAAAAAA==\"> AAAA";
        assert_eq!(
            r.redact_embedding(text),
            "<img src=\"data:image/png;base64,AAAAAAAA==\"> [redacted]"
        );
    }

    #[test]
    fn a_link_registers_its_tokens_but_not_addresses_numbers_or_paths() {
        let r = Redactor::new();
        r.add_public("head.of.department@helpdesk.test");
        let link = "https://app.test/login/magic/Q2hhbmdlTWUtOTg3NjU0MzIx?email=head.of.department%40helpdesk.test&expires=1765101234&signature=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08&next=%2Ftickets%2F1%2F";
        r.add_link(link);
        assert_eq!(r.redact(link), "[redacted]");
        assert_eq!(
            r.redact("/login/magic/Q2hhbmdlTWUtOTg3NjU0MzIx?x"),
            "/login/magic/[redacted]?x"
        );
        assert_eq!(
            r.redact("sig 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            "sig [redacted]"
        );
        for plain in [
            "head.of.department@helpdesk.test",
            "1765101234",
            "/tickets/1/",
            "https://app.test/login/magic",
        ] {
            assert_eq!(r.redact(plain), plain);
        }
        // A link without a token is an ordinary URL.
        r.add_link("https://app.test/tickets/12?tab=replies&from=collaborator%40helpdesk.test");
        assert_eq!(
            r.redact(
                "page https://app.test/tickets/12?tab=replies&from=collaborator%40helpdesk.test"
            ),
            "page https://app.test/tickets/12?tab=replies&from=collaborator%40helpdesk.test"
        );
    }

    #[test]
    fn what_looks_like_a_token() {
        for token in [
            "9f86d081884c7d659a2feaa0c55ad015",
            "Q2hhbmdlTWUtOTg3NjU0MzIx",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
            "3f2b8c1e-7a4d-4e5f-9b6a-1c2d3e4f5a6b",
        ] {
            assert!(looks_like_token(token), "{token}");
        }
        for plain in [
            "requester@helpdesk.test",
            "12345678901234567890",
            "/tickets/1/",
            "notification-settings",
            "2026-12-07T10:31:41",
            "short1A",
            "aaaaaaaaaaaaaaaa1",
            "https://app.test/x",
        ] {
            assert!(!looks_like_token(plain), "{plain}");
        }
    }

    /// Not a check (no timings in tests): a measurement, run by hand with
    /// `cargo nextest run --release --run-ignored only -E 'test(/measure_redaction/)' --no-capture`.
    /// Compares one Aho-Corasick pass with the former one `contains` + `replace` per form.
    #[test]
    #[ignore = "a measurement; prints figures"]
    fn measure_redaction() {
        let r = Redactor::new();
        let mut forms = Vec::new();
        for i in 0..30 {
            let s = format!("secret-{i:02}-Zq8vN3xK7mP2wL9r/{i}+x");
            r.add(&s);
            forms.extend(encoded_forms(&s));
        }
        let mut page = String::new();
        while page.len() < 200_000 {
            page.push_str("<div class=\"row\"><a href=\"/tickets/12\">Printer on fire</a> <span>2026-12-07 10:31</span></div>\n");
        }
        page.push_str("secret-07-Zq8vN3xK7mP2wL9r/7+x");
        let rounds = 200;
        let t = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(r.redact(std::hint::black_box(&page)));
        }
        let aho = t.elapsed() / rounds;
        let t = std::time::Instant::now();
        for _ in 0..rounds {
            let mut out = std::hint::black_box(&page).clone();
            for f in &forms {
                if out.contains(f.as_str()) {
                    out = out.replace(f.as_str(), REDACTED);
                }
            }
            std::hint::black_box(out);
        }
        let loop_ = t.elapsed() / rounds;
        println!(
            "200 KB page, 30 secrets ({} forms): aho-corasick {aho:?}, replace loop {loop_:?}",
            forms.len()
        );
    }

    #[test]
    fn redact_tree_rewrites_text_artifacts_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = Redactor::new();
        std::fs::write(
            dir.path().join("events.jsonl"),
            "{\"otp\":987654,\"u\":\"/x?t=late-token-1\"}\n",
        )
        .expect("w");
        std::fs::create_dir(dir.path().join("flow")).expect("mkdir");
        std::fs::write(dir.path().join("flow/trace.html"), "<p>late-token-1</p>").expect("w");
        std::fs::write(dir.path().join("flow/01.png"), b"late-token-1").expect("w");
        std::fs::write(dir.path().join("clean.json"), "{\"a\":1}").expect("w");
        r.add("987654");
        r.add("late-token-1");
        let rewritten = r.redact_tree(dir.path()).expect("tree");
        assert_eq!(
            rewritten,
            vec![
                dir.path().join("events.jsonl"),
                dir.path().join("flow/trace.html")
            ]
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("events.jsonl")).expect("r"),
            "{\"otp\":\"[redacted]\",\"u\":\"/x?t=[redacted]\"}\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("flow/trace.html")).expect("r"),
            "<p>[redacted]</p>"
        );
        assert_eq!(
            std::fs::read(dir.path().join("flow/01.png")).expect("r"),
            b"late-token-1"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let r = Redactor::new();
        r.add("hunter2-secret");
        assert_eq!(format!("{r:?}"), "Redactor { .. }");
    }

    #[test]
    fn secrets_lists_each_secret_once_as_registered() {
        let r = Redactor::new();
        assert!(r.is_empty());
        assert!(r.secrets().is_empty());
        assert!(!r.contains_secret("s3cr3t/with+plus"));
        r.add("  s3cr3t/with+plus \n");
        r.add("s3cr3t/with+plus");
        r.add("abc"); // too short: ignored
        assert!(!r.is_empty());
        assert_eq!(r.secrets(), vec!["s3cr3t/with+plus".to_owned()]);
        assert!(r.contains_secret("x s3cr3t%2Fwith%2Bplus y"));
        assert!(!r.contains_secret("x s3cr3t abc y"));
    }

    #[test]
    fn a_public_value_is_never_taken_from_a_link_even_if_it_looks_like_a_token() {
        let r = Redactor::new();
        // A configured user name that happens to look random.
        let user = "Xk7pQ2mZ9vB4nW8r";
        assert!(looks_like_token(user));
        r.add_public(&format!("  {user} "));
        r.add_public("   ");
        let token = "Q2hhbmdlTWUtOTg3NjU0MzIx";
        r.add_link(&format!("https://app.test/magic/{token}?user={user}"));
        assert_eq!(
            r.redact(&format!("user {user} token {token}")),
            format!("user {user} token [redacted]")
        );
    }

    #[test]
    fn a_token_has_16_characters_or_more_and_is_not_a_path() {
        assert!(looks_like_token("Ab3dE5gH7jK9mN1p"));
        assert!(!looks_like_token("Ab3dE5gH7jK9mN1"));
        assert!(!looks_like_token("/Ab3dE5gH7jK9mN1pQ"));
    }

    #[test]
    fn only_a_whole_number_equal_to_a_secret_is_replaced_in_json() {
        let r = Redactor::new();
        r.add("123456");
        assert_eq!(r.redact_json_text("123456"), "\"[redacted]\"");
        assert_eq!(
            r.redact_json_text("[0.123456, 123456.5, 123456e2, 1e123456, 123456]"),
            "[0.123456, 123456.5, 123456e2, 1e123456, \"[redacted]\"]"
        );
        assert_eq!(
            r.redact_json(&serde_json::json!([0.123456, 123456.5, 123456])),
            serde_json::json!([0.123456, 123456.5, "[redacted]"])
        );
    }

    #[test]
    fn a_base64_run_is_its_payload_only() {
        let r = Redactor::new();
        r.add("AAAA");
        // A run that ends the text.
        assert_eq!(
            r.redact_embedding("x AAAA data:image/png;base64,AAAAAAAA"),
            "x [redacted] data:image/png;base64,AAAAAAAA"
        );
        // A secret that ends where the payload starts, or starts where it ends, is replaced.
        r.add("k3y;base64,");
        r.add("-s3cr3t");
        assert_eq!(
            r.redact_embedding("data:k3y;base64,AAAA-s3cr3t"),
            "data:[redacted]AAAA[redacted]"
        );
    }

    #[test]
    fn redact_file_rewrites_every_text_kind_and_logs_with_stray_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = Redactor::new();
        r.add("late-token-1");
        for name in [
            "a.txt", "b.LOG", "c.md", "d.csv", "e.yaml", "f.yml", "g.xml", "h.svg", "i.htm",
            "j.jsonl", "k.json",
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, "\"late-token-1\"").expect("w");
            assert!(r.redact_file(&path).expect("redact"), "{name}");
            assert_eq!(
                std::fs::read_to_string(&path).expect("r"),
                "\"[redacted]\"",
                "{name}"
            );
        }
        let log = dir.path().join("raw.log");
        std::fs::write(&log, b"\xff late-token-1\n").expect("w");
        assert!(r.redact_file(&log).expect("redact"));
        assert_eq!(
            std::fs::read_to_string(&log).expect("r"),
            "\u{fffd} [redacted]\n"
        );
        let clean = dir.path().join("clean.log");
        std::fs::write(&clean, b"\xff nothing\n").expect("w");
        assert!(!r.redact_file(&clean).expect("redact"));
        assert_eq!(std::fs::read(&clean).expect("r"), b"\xff nothing\n");
        // A file gone since the directory was listed is not an error; other failures are.
        assert!(!r.redact_file(&dir.path().join("gone.json")).expect("gone"));
        std::fs::create_dir(dir.path().join("dir.json")).expect("mkdir");
        assert!(r.redact_file(&dir.path().join("dir.json")).is_err());
        assert!(r.redact_tree(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn redact_tree_fails_naming_what_it_could_not_read_after_sweeping_the_rest() {
        use crate::test_access::{chmod, without_root_file_access};
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for (path, text) in [
            ("a.json", "{\"t\":\"tok-123456\"}"),
            ("locked/b.log", "tok-123456"),
            ("z/c.log", "tok-123456"),
            ("z/unreadable.txt", "tok-123456"),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        }
        let mode = |path: &str, mode: u32| chmod(&root.join(path), mode);
        mode("locked", 0o000);
        mode("z/unreadable.txt", 0o000);
        let r = Redactor::new();
        r.add("tok-123456");
        let swept = without_root_file_access(|| r.redact_tree(root));
        mode("locked", 0o755);
        mode("z/unreadable.txt", 0o644);
        let err = swept.expect_err("a sweep that could not read everything passed");
        let message = err.to_string();
        assert!(
            message.starts_with("cannot read or rewrite, secrets may remain in: ")
                && message.contains(&format!("{} (", root.join("locked").display()))
                && message.contains(&format!("{} (", root.join("z/unreadable.txt").display())),
            "{message}"
        );
        // Everything it could read was redacted all the same.
        let read = |path: &str| std::fs::read_to_string(root.join(path)).expect("read");
        assert_eq!(read("a.json"), "{\"t\":\"[redacted]\"}");
        assert_eq!(read("z/c.log"), "[redacted]");
        assert_eq!(read("locked/b.log"), "tok-123456");
        // Readable again, the tree sweeps clean.
        assert_eq!(
            r.redact_tree(root).expect("sweep"),
            vec![root.join("locked/b.log"), root.join("z/unreadable.txt")]
        );
    }
}
