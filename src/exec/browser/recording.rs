//! What `flows record` needs of a session beyond what flows use: its WebDriver session id (a
//! test drives the recording browser through it), its BiDi connection (the recorder's preload
//! script and its messages), and the in-page locate script it builds that script from. Owns no
//! recording logic (that is `crate::record`).

use super::{Bidi, BrowserError, BrowserSession, PAGE_JS};

impl BrowserSession {
    /// The WebDriver session id (`None` if the driver gave none).
    pub async fn webdriver_session_id(&self) -> Result<Option<String>, BrowserError> {
        self.client
            .session_id()
            .await
            .map_err(BrowserError::from_cmd)
    }

    /// The session's BiDi connection, when the driver offers one.
    pub fn bidi(&self) -> Option<&Bidi> {
        self.bidi.as_ref()
    }
}

/// The runner's in-page locate script (page.js) as a function expression `(request, done) =>
/// …` instead of a call with WebDriver's `arguments`: the recorder runs it in the page to pick
/// locators the runner resolves, rather than re-implementing roles and names.
pub fn page_script_function() -> &'static str {
    const CALL: &str = "(arguments[0], arguments[arguments.length - 1]);";
    let body = PAGE_JS.trim_end();
    match body.strip_suffix(CALL) {
        // `(function (request, done) { … })` stays: a parenthesised function expression.
        Some(function) => function,
        None => body,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_script_becomes_a_function_expression() {
        let f = super::page_script_function();
        assert!(f.trim_end().ends_with("})"), "{}", &f[f.len() - 80..]);
        assert!(!f.contains("arguments[arguments.length - 1]"));
    }
}
