//! Why a step failed, as a type. The variant says what kind of failure it is (what the run
//! does with it: an infrastructure failure changes the exit code, see `is_infrastructure`);
//! the text is the sentence the person reads, composed where the knowledge is, already
//! redacted by whoever put a value in it.

use crate::exec::browser::BrowserError;

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The step could not be prepared: a `{{ variable }}`, a locator or a pattern that is
    /// only wrong once rendered, a file the flow names. The flow's fault, found at run time.
    #[error("{0}")]
    Input(String),
    /// What the step waits for did not happen within its time limit; the text says what was
    /// seen last.
    #[error("{0}")]
    Timeout(String),
    /// The target was found but could not be acted on, or the act could not be verified:
    /// covered, disabled, not unique, moved, hit something else.
    #[error("{0}")]
    NotActionable(String),
    /// The app answered, and the answer is not what the step expects.
    #[error("{0}")]
    Mismatch(String),
    /// A service the step talks to (the app over HTTP, the mail catcher, a realtime channel)
    /// could not be reached or gave nothing usable.
    #[error("{0}")]
    Unreachable(String),
    /// A file the step reads or writes on this machine (a download, an evidence file).
    #[error("{0}")]
    File(String),
    /// The browser or its driver.
    #[error(transparent)]
    Browser(#[from] BrowserError),
}

impl StepError {
    /// The browser or driver failed, not the app: a run that ends on it exits 4, and a
    /// retry may get past it.
    pub fn is_infrastructure(&self) -> bool {
        match self {
            // A WebDriver command the page refused (stale element, bad selector…) is about
            // the page; anything else means the driver or browser is not there to ask.
            StepError::Browser(e) => !matches!(e, BrowserError::Command(_)),
            StepError::Input(_)
            | StepError::Timeout(_)
            | StepError::NotActionable(_)
            | StepError::Mismatch(_)
            | StepError::Unreachable(_)
            | StepError::File(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_browser_that_is_not_there_is_infrastructure() {
        assert!(StepError::Browser(BrowserError::Lost("gone".into())).is_infrastructure());
        assert!(StepError::Browser(BrowserError::Session("no session".into())).is_infrastructure());
        assert!(!StepError::Browser(BrowserError::Command("stale".into())).is_infrastructure());
        for e in [
            StepError::Input("x".into()),
            StepError::Timeout("x".into()),
            StepError::NotActionable("x".into()),
            StepError::Mismatch("x".into()),
            StepError::Unreachable("x".into()),
            StepError::File("x".into()),
        ] {
            assert!(!e.is_infrastructure(), "{e:?}");
        }
    }

    #[test]
    fn the_text_is_the_sentence_given() {
        assert_eq!(
            StepError::Mismatch("status 500 (expected 200)".into()).to_string(),
            "status 500 (expected 200)"
        );
        assert_eq!(
            StepError::Browser(BrowserError::Lost("crashed".into())).to_string(),
            "the browser is gone: crashed"
        );
    }
}
