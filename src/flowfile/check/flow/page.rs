//! The flow's browser settings, and the steps about the page or the browser rather than one
//! element: downloads, windows, and the files an upload sends.

use std::path::Path;

use crate::flowfile::ast::{DownloadStep, WindowStep};
use crate::flowfile::check::env::shown;
use crate::flowfile::span::Sp;

use super::{FlowChecker, Kind};

impl FlowChecker<'_> {
    /// `browser: { viewport, locale, user_agent }`: values browsers can take.
    pub(super) fn check_flow_browser(&mut self, b: &crate::flowfile::ast::FlowBrowser) {
        if let Some(v) = &b.viewport {
            if let Err(message) = v
                .value
                .parse::<crate::flowfile::browser_settings::Viewport>()
            {
                let len = self.len_at(v.loc, &v.value);
                self.error(v.loc, len, message).hint =
                    Some("e.g. `browser: { viewport: 390x844 }`".to_string());
            }
        }
        if let Some(l) = &b.locale {
            if let Err(message) = crate::flowfile::browser_settings::check_locale(&l.value) {
                let len = self.len_at(l.loc, &l.value);
                self.error(l.loc, len, message).hint =
                    Some("e.g. `browser: { locale: de-DE }`".to_string());
            }
        }
        if let Some(ua) = &b.user_agent {
            if ua.value.trim().is_empty() || ua.value.contains(['\n', '\r']) {
                let len = self.len_at(ua.loc, &ua.value).max(1);
                self.error(ua.loc, len, "the user agent must be one non-empty line")
                    .hint = Some("e.g. `user_agent: \"Mozilla/5.0 (iPhone; …)\"`".to_string());
            }
        }
    }

    pub(super) fn download(&mut self, i: usize, s: &DownloadStep) {
        self.located(i, &s.locator(), true);
        if let Some(n) = &s.file_name {
            self.sp_string(i, n, Kind::Text { exact: false }, "file_name");
        }
        if let Some(t) = &s.media_type {
            self.sp_string(i, t, Kind::NonEmpty, "type");
            if !t.value.contains("{{") && !t.value.contains('/') {
                let loc = self.fix_loc(i, t).unwrap_or(self.flow.steps[i].loc);
                let len = self.len_at(loc, &t.value);
                self.error(loc, len, format!("`{}` is not a media type", t.value))
                    .hint =
                    Some("write `type/subtype`, e.g. `text/csv` or `application/pdf`".to_string());
            }
        }
        if let Some(h) = &s.sha256 {
            let v = h.value.trim();
            let hex64 = v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit());
            if !(v.contains("{{") || hex64) {
                let loc = self.fix_loc(i, h).unwrap_or(self.flow.steps[i].loc);
                let len = self.len_at(loc, &h.value);
                self.error(loc, len, "`sha256` is not a SHA-256 digest")
                    .hint =
                    Some("64 hexadecimal digits, as `sha256sum FILE` prints them".to_string());
            }
        }
        if let (Some(size), Some(min)) = (s.size, s.min_size) {
            if min > size {
                let loc = self.key_loc(i, "min_size");
                self.error(
                    loc,
                    8,
                    format!("`min_size` {min} is larger than `size` {size}"),
                )
                .hint = Some("keep one of them".to_string());
            }
        }
        if let Some(v) = &s.var {
            self.add_capture(i, &v.value, v.loc, false);
        }
        self.common(i, s.as_user.as_ref(), s.timeout.as_ref());
    }

    pub(super) fn window(&mut self, i: usize, w: &WindowStep) {
        match w {
            WindowStep::Main(m) => {
                if m.value != "main" {
                    let loc = self.fix_loc(i, m).unwrap_or(self.flow.steps[i].loc);
                    let len = self.len_at(loc, &m.value);
                    self.error(loc, len, format!("unknown window `{}`", m.value)).hint = Some(
                        "write `window: main`, or `window: { title: … }` / `{ url: … }` to switch to another window"
                            .to_string(),
                    );
                }
                self.browser(i, None);
            }
            WindowStep::Options(o) => {
                let targets = usize::from(o.url.is_some()) + usize::from(o.title.is_some());
                if o.close && targets > 0 {
                    let loc = self.key_loc(i, "close");
                    self.error(
                        loc,
                        5,
                        "`close` closes the current window, so `url`/`title` do not apply",
                    )
                    .hint =
                        Some("switch to the window in one step, close it in the next".to_string());
                } else if !o.close && targets == 0 {
                    let loc = self.flow.steps[i].loc;
                    self.error(loc, "window".len(), "`window` needs `url`, `title` or `close: true`")
                        .hint = Some("e.g. `window: { title: Help }`, `window: main` or `window: { close: true }`".to_string());
                }
                if let Some(u) = &o.url {
                    self.sp_string(i, u, Kind::Url, "url");
                }
                if let Some(t) = &o.title {
                    self.sp_string(i, t, Kind::Text { exact: false }, "title");
                }
                self.common(i, o.as_user.as_ref(), o.timeout.as_ref());
            }
        }
    }

    pub(super) fn check_upload_file(&mut self, f: &Sp<String>) {
        let dir = self.file.parent().unwrap_or(Path::new(""));
        let path = dir.join(&f.value);
        if path.is_file() {
            return;
        }
        let len = self.len_at(f.loc, &f.value);
        let message = if path.exists() {
            format!("upload file `{}` is a directory", f.value)
        } else {
            format!("upload file `{}` not found", f.value)
        };
        let d = self.error(f.loc, len, message);
        d.hint = Some(format!(
            "paths are relative to the flow file's directory; looked for `{}`",
            shown(&path)
        ));
    }
}
