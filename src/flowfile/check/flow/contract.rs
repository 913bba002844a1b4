//! The no-break contract steps (`guard`, `forbidden`, `download_headers`, `sse`, `routes`,
//! `metrics`): their users, paths, durations, statuses, patterns and metric assertions.

use crate::flowfile::ast::{
    DownloadHeadersStep, ForbiddenStep, GuardStep, MetricsStep, RoutesStep, SseStep,
};
use crate::flowfile::metric_assertion::MetricAssertion;
use crate::flowfile::span::{Loc, Sp};

use super::{FlowChecker, Kind};

impl FlowChecker<'_> {
    pub(super) fn guard(&mut self, i: usize, s: &GuardStep) {
        if s.paths.is_empty() {
            let loc = self.key_loc(i, "paths");
            self.error(loc, 5, "`paths` is empty").hint =
                Some("list the guarded paths: `paths: [/dashboard, /inbox]`".to_string());
        }
        for p in &s.paths {
            self.sp_string(i, p, Kind::NonEmpty, "paths");
        }
        if let Some(u) = &s.as_user {
            self.check_user(u, "`as`");
        }
        if let Some(p) = &s.sign_in {
            self.sp_string(i, p, Kind::NonEmpty, "sign_in");
        }
        self.contract_common(s.timeout.as_ref());
    }

    pub(super) fn forbidden(&mut self, i: usize, s: &ForbiddenStep) {
        self.check_user(&s.as_user, "`as`");
        self.sp_string(i, &s.path, Kind::NonEmpty, "path");
        self.contract_status(i, s.status);
        for (name, v) in &s.headers {
            self.check_header_name(i, name);
            self.sp_string(i, v, Kind::Plain, "headers");
        }
        for (pointer, v) in &s.json {
            self.check_pointer(i, pointer);
            self.json_expectation(i, v);
        }
        if let Some(b) = &s.body {
            self.sp_string(i, b, Kind::Text { exact: false }, "body");
        }
        self.contract_common(s.timeout.as_ref());
    }

    pub(super) fn download_headers(&mut self, i: usize, s: &DownloadHeadersStep) {
        self.sp_string(i, &s.url, Kind::NonEmpty, "url");
        if let Some(u) = &s.as_user {
            self.check_user(u, "`as`");
        }
        self.contract_status(i, s.status);
        if let Some(t) = &s.content_type {
            self.sp_string(i, t, Kind::NonEmpty, "content_type");
            let essence = t.value.split(';').next().unwrap_or("").trim();
            if !t.value.contains("{{") && !is_media_type(essence) {
                let loc = self.fix_loc(i, t).unwrap_or(t.loc);
                let len = self.len_at(loc, &t.value);
                self.error(loc, len, format!("`{}` is not a media type", t.value))
                    .hint = Some("write `type/subtype`, e.g. `application/pdf`".to_string());
            }
        }
        if let Some(f) = &s.filename {
            self.sp_string(i, f, Kind::Text { exact: true }, "filename");
        }
        self.contract_common(s.timeout.as_ref());
    }

    pub(super) fn sse(&mut self, i: usize, s: &SseStep) {
        self.sp_string(i, &s.url, Kind::NonEmpty, "url");
        if let Some(u) = &s.as_user {
            self.check_user(u, "`as`");
        }
        self.check_duration(&s.open_for);
        if let Some(w) = &s.within {
            self.check_duration(w);
            if let (Ok(within), Ok(open)) = (w.value.parse(), s.open_for.value.parse()) {
                if within > open {
                    let len = self.len_at(w.loc, &w.value.0);
                    self.error(
                        w.loc,
                        len,
                        format!(
                            "`within` ({}) is longer than `open_for` ({})",
                            w.value.0, s.open_for.value.0
                        ),
                    )
                    .hint = Some(
                        "the first event must come while the stream is held open: make `within` at most `open_for`"
                            .to_string(),
                    );
                }
            }
        }
        self.contract_common(s.timeout.as_ref());
    }

    pub(super) fn routes(&mut self, i: usize, s: &RoutesStep) {
        self.sp_string(i, &s.baseline, Kind::NonEmpty, "baseline");
        if !s.baseline.value.ends_with(".json") && !s.baseline.value.contains("{{") {
            let loc = self.fix_loc(i, &s.baseline).unwrap_or(s.baseline.loc);
            let len = self.len_at(loc, &s.baseline.value);
            self.error(loc, len, "the route baseline is a JSON file")
                .hint = Some("name it `….json`, e.g. `baseline: routes.baseline.json`".to_string());
        }
        for u in &s.as_users {
            self.check_user(u, "`as`");
        }
        for p in &s.paths {
            self.sp_string(i, p, Kind::NonEmpty, "paths");
            if !p.value.starts_with('/') && !p.value.contains("{{") {
                self.not_a_path(i, p, "paths");
            }
        }
        if let Some(l) = &s.list {
            self.sp_string(i, l, Kind::NonEmpty, "list");
        }
        for a in &s.allow {
            self.sp_string(i, a, Kind::NonEmpty, "allow");
            if a.value.starts_with('/') && a.value.len() > 1 && a.value.ends_with('/') {
                // `/regex/`: its syntax, like any text pattern's.
                self.sp_string(i, a, Kind::Text { exact: false }, "allow");
            }
        }
        self.contract_common(s.timeout.as_ref());
    }

    pub(super) fn metrics(&mut self, i: usize, s: &MetricsStep) {
        if let Some(u) = &s.url {
            self.sp_string(i, u, Kind::NonEmpty, "url");
        }
        if s.expect.is_empty() {
            let loc = self.key_loc(i, "expect");
            self.error(loc, 6, "`expect` is empty").hint =
                Some("list assertions, e.g. `expect: ['up{job=\"api\"} == 1']`".to_string());
        }
        for e in &s.expect {
            if let Err(err) = MetricAssertion::parse(&e.value) {
                let loc = self.fix_loc(i, e).unwrap_or(e.loc);
                // Inside a quoted scalar the text starts one column after the quote.
                let quoted = self
                    .text
                    .line(loc.line)
                    .and_then(|l| l.chars().nth((loc.col as usize).saturating_sub(1)))
                    .is_some_and(|c| c == '"' || c == '\'');
                let col = loc.col + u32::from(quoted) + err.column as u32;
                let d = self.error(
                    Loc {
                        line: loc.line,
                        col,
                    },
                    1,
                    format!("invalid metric assertion: {}", err.message),
                );
                d.hint = Some(
                    "write `NAME{label=\"value\"} OP NUMBER` or `NAME{…} increase OP NUMBER`, e.g. `up{job=\"api\"} == 1`"
                        .to_string(),
                );
            }
        }
        self.contract_common(s.timeout.as_ref());
    }

    fn contract_common(&mut self, timeout: Option<&Sp<crate::flowfile::ast::DurationText>>) {
        if let Some(t) = timeout {
            self.check_duration(t);
        }
    }

    fn contract_status(&mut self, i: usize, status: Option<u16>) {
        if let Some(status) = status {
            if !(100..=599).contains(&status) {
                let loc = self.key_loc(i, "status");
                self.error(loc, 6, format!("`{status}` is not an HTTP status code"))
                    .hint = Some("status codes are 100 to 599, e.g. `403`".to_string());
            }
        }
    }

    fn not_a_path(&mut self, i: usize, p: &Sp<String>, what: &str) {
        let loc = self.fix_loc(i, p).unwrap_or(p.loc);
        let len = self.len_at(loc, &p.value);
        self.error(loc, len, format!("`{}` in `{what}` is not a path", p.value))
            .hint = Some(format!("paths start with `/`, e.g. `/{}`", p.value));
    }
}

/// `type/subtype` with token characters on both sides.
fn is_media_type(s: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    matches!(s.split_once('/'), Some((a, b)) if token(a) && token(b))
}
