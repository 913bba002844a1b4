//! `http` steps: method, URL, headers, body, JSON pointers and captures; and which header and field
//! names carry credentials (what is sent in them is secret from its capture on).

use crate::flowfile::ast::HttpStep;
use crate::flowfile::span::Loc;
use crate::flowfile::suggest::did_you_mean_prefix;
use crate::flowfile::template::Template;

use super::{FlowChecker, Kind};

pub(super) const HTTP_METHODS: &[&str] =
    &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl FlowChecker<'_> {
    pub(super) fn http(&mut self, i: usize, h: &HttpStep) {
        if let Some(m) = &h.method {
            if !HTTP_METHODS.contains(&m.value.as_str()) {
                let len = self.len_at(m.loc, &m.value);
                let upper = m.value.to_ascii_uppercase();
                let hint = if HTTP_METHODS.contains(&upper.as_str()) {
                    format!("write it in upper case: `{upper}`")
                } else {
                    format!(
                        "{}methods are: {}",
                        did_you_mean_prefix(&upper, HTTP_METHODS.iter().copied()),
                        HTTP_METHODS.join(", ")
                    )
                };
                self.error(m.loc, len, format!("unknown HTTP method `{}`", m.value))
                    .hint = Some(hint);
            }
        }
        self.sp_string(i, &h.url, Kind::NonEmpty, "url");
        if let Some(u) = &h.as_user {
            self.check_user(u, "`as`");
        }
        for (name, v) in &h.headers {
            self.check_header_name(i, name);
            self.sp_string(i, v, Kind::Plain, "headers");
            if is_credential_name(name) {
                self.sent_as_credential(&v.value);
            }
        }
        for (name, v) in &h.form {
            if is_credential_name(name) {
                self.sent_as_credential(&v.value);
            }
        }
        if let Some(json) = &h.json {
            self.json_credentials(json);
        }
        let bodies: Vec<&str> = [
            ("json", h.json.is_some()),
            ("form", !h.form.is_empty()),
            ("body", h.body.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, p)| p.then_some(k))
        .collect();
        if bodies.len() > 1 {
            let loc = self.key_loc(i, bodies[1]);
            let names: Vec<String> = bodies.iter().map(|b| format!("`{b}`")).collect();
            self.error(
                loc,
                bodies[1].len(),
                format!(
                    "a request has one body; this one has {}",
                    names.join(" and ")
                ),
            )
            .hint = Some("keep one of `json`, `form` and `body`".to_string());
        }
        if let Some(json) = &h.json {
            for (_, s) in crate::flowfile::template::json_strings(json) {
                self.string(i, s, None, Kind::Plain, "json");
            }
        }
        for v in h.form.values() {
            self.sp_string(i, v, Kind::Plain, "form");
        }
        if let Some(b) = &h.body {
            self.sp_string(i, b, Kind::Plain, "body");
        }
        if let Some(e) = &h.expect {
            if let Some(status) = e.status {
                if !(100..=599).contains(&status) {
                    let loc = self.key_loc(i, "status");
                    self.error(loc, 6, format!("`{status}` is not an HTTP status code"))
                        .hint = Some("status codes are 100 to 599, e.g. `200`".to_string());
                }
            }
            for (name, v) in &e.headers {
                self.check_header_name(i, name);
                self.sp_string(i, v, Kind::Text { exact: false }, "headers");
            }
            for (pointer, v) in &e.json {
                self.check_pointer(i, pointer);
                self.json_expectation(i, v);
            }
            if let Some(b) = &e.body {
                self.sp_string(i, b, Kind::Text { exact: false }, "body");
            }
        }
        for (var, pointer) in &h.capture {
            let loc = self.key_loc(i, var);
            self.add_capture(i, var, loc, false);
            let ploc = pointer.loc;
            if !pointer.value.starts_with('/') {
                let len = self.len_at(ploc, &pointer.value);
                self.error(
                    ploc,
                    len,
                    format!("`{}` is not a JSON pointer", pointer.value),
                )
                .hint = Some(format!(
                    "a JSON pointer starts with `/`, e.g. `/{}`",
                    pointer.value.trim_start_matches(['.', '$'])
                ));
            } else {
                self.check_pointer_escapes(ploc, &pointer.value);
            }
        }
        if let Some(t) = &h.timeout {
            self.check_duration(t);
        }
    }

    /// Marks the variables of `template` as sent as credentials.
    pub(super) fn sent_as_credential(&mut self, template: &str) {
        if let Ok(t) = Template::parse(template) {
            for var in t.vars() {
                self.facts.sent_as_credentials.insert(var.name.clone());
            }
        }
    }

    /// JSON body fields named like credentials (`{"_token": "{{ csrf }}"}`).
    pub(super) fn json_credentials(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(t) if is_credential_name(k) => {
                            self.sent_as_credential(t);
                        }
                        other => self.json_credentials(other),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    self.json_credentials(v);
                }
            }
            _ => {}
        }
    }

    pub(super) fn check_header_name(&mut self, i: usize, name: &str) {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid {
            let loc = self.key_loc(i, name);
            let len = self.key_len(loc, name);
            self.error(loc, len, format!("invalid header name `{name}`"))
                .hint =
                Some("header names are letters, digits and `-`, e.g. `Content-Type`".to_string());
        }
    }

    /// A key of `expect.json` or `data`: an RFC 6901 pointer.
    pub(super) fn check_pointer(&mut self, i: usize, pointer: &str) {
        let loc = self.key_loc(i, pointer);
        if !pointer.starts_with('/') {
            let len = self.key_len(loc, pointer);
            self.error(loc, len, format!("`{pointer}` is not a JSON pointer"))
                .hint = Some(format!(
                "a JSON pointer starts with `/`, e.g. `/{}`",
                pointer.trim_start_matches(['.', '$'])
            ));
            return;
        }
        self.check_pointer_escapes(loc, pointer);
    }

    pub(super) fn check_pointer_escapes(&mut self, loc: Loc, pointer: &str) {
        let bytes = pointer.as_bytes();
        let bad = bytes
            .iter()
            .enumerate()
            .any(|(k, b)| *b == b'~' && !matches!(bytes.get(k + 1), Some(b'0' | b'1')));
        if bad {
            let len = self.key_len(loc, pointer);
            self.error(
                loc,
                len,
                format!("invalid escape in JSON pointer `{pointer}`"),
            )
            .hint = Some("in a JSON pointer, `~0` stands for `~` and `~1` for `/`".to_string());
        }
    }

    /// An expected JSON value: strings may hold variables or be `/regex/`.
    pub(super) fn json_expectation(&mut self, i: usize, v: &serde_json::Value) {
        for (_, s) in crate::flowfile::template::json_strings(v) {
            self.string(i, s, None, Kind::MaybeRegex, "json");
        }
    }
}

/// Whether a header or field name says its value is a credential: one of its words (split at
/// `-`, `_`, spaces) is `auth`, `authorization`, `session`, `signature`, `bearer`, or `key` after
/// `api`; or it contains `token`, `csrf`, `xsrf`, `cookie`, `secret` or `passw`.
pub(crate) fn is_credential_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if [
        "token", "csrf", "xsrf", "cookie", "secret", "passw", "apikey",
    ]
    .iter()
    .any(|w| n.contains(w))
    {
        return true;
    }
    let words: Vec<&str> = n
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        matches!(
            *w,
            "auth" | "authorization" | "authentication" | "session" | "signature" | "bearer"
        ) || (*w == "key" && i > 0 && words[i - 1] == "api")
    })
}
