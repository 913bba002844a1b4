//! What a step kind cannot do on a browser: the table `flows check --browser NAME` warns from
//! (a warning, never an error: the step still runs, and fails if its effect does not happen).

use super::{CheckedFlow, Suite};
use crate::flowfile::diagnostic::{token_len, Diagnostic};

/// Why `kind` (a step kind as written, `parse::STEP_KINDS`) may not work on `browser`
/// (`chromium`, `firefox`), found in testing; `None` when nothing is known against it.
pub fn limitation(kind: &str, browser: &str) -> Option<&'static str> {
    match (kind, browser) {
        // geckodriver's pointer actions fire pointer and mouse events but never start a native
        // drag session (mozilla/geckodriver#1450): `dragstart`/`drop` never come. Drags coded
        // with pointer or mouse events (sliders, sortable lists) work.
        ("drag", "firefox") => Some(
            "on firefox a `drag` does not start HTML5 drag and drop (`draggable` elements: \
             geckodriver's actions send pointer and mouse events only, so `dragstart` and `drop` \
             never fire); a drag coded with pointer or mouse events works",
        ),
        _ => None,
    }
}

/// A warning for every step of `suite` that may not work on `browser`, at the step (in its
/// group's file for a step of a step group), each place once.
pub fn browser_warnings(suite: &Suite, browser: &str) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for flow in &suite.flows {
        for planned in &flow.steps {
            let kind = planned.step.value.kind();
            let Some(why) = limitation(kind, browser) else {
                continue;
            };
            let (file, source) = place(flow, planned.call);
            let loc = planned.step.loc;
            if out.iter().any(|d| d.file == file && d.loc == Some(loc)) {
                continue; // a data-driven flow's rows, or a group used twice
            }
            out.push(
                Diagnostic::new(file, format!("`{kind}` may not work on {browser}"))
                    .at(loc, token_len(source, loc))
                    .label(why)
                    .hint(
                        "run this flow on chromium (`--browser chromium`) if it drags a \
                         `draggable` element (a later step that checks the drop fails); \
                         docs/flow-format.md lists what each browser cannot do",
                    )
                    .as_warning(),
            );
        }
    }
    out
}

/// Where a planned step is written: the flow's file, or its step group's.
fn place(flow: &CheckedFlow, call: Option<usize>) -> (std::path::PathBuf, &str) {
    match call.and_then(|c| flow.calls.get(c)) {
        Some(group) => (group.file.clone(), &*group.source),
        None => (flow.file.clone(), &*flow.source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowfile::parse::STEP_KINDS;

    /// Every step kind on every browser: only a drag on Firefox has a known limitation.
    #[test]
    fn the_table_of_step_kinds_by_browser() {
        for browser in ["chromium", "firefox"] {
            for kind in STEP_KINDS {
                let got = limitation(kind, browser);
                let expected = (*kind, browser) == ("drag", "firefox");
                assert_eq!(got.is_some(), expected, "{kind} on {browser}: {got:?}");
            }
        }
    }
}
