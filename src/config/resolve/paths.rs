//! Where things are: the flow files, the output directory and the runner's local state,
//! relative to flows.toml, shown as people write them, and kept apart (state never inside
//! the output, the output never holding the suite).

use std::path::{Path, PathBuf};

use super::super::file::{ArtifactsFile, StateFile, SuiteFile};
use super::super::{CliOverrides, ConfigError};

pub(super) struct Paths {
    pub(super) output_root: PathBuf,
    pub(super) flows_dir: PathBuf,
    pub(super) state_dir: PathBuf,
}

pub(super) fn paths(
    root: &Path,
    suite: &mut SuiteFile,
    artifacts: ArtifactsFile,
    state: StateFile,
    cli: &CliOverrides,
) -> Result<Paths, ConfigError> {
    let output_root = cli.output_dir.clone().unwrap_or_else(|| {
        clean_path(
            &artifacts
                .dir
                .map(|d| root.join(d))
                .unwrap_or_else(|| root.join("../artifacts")),
        )
    });
    let flows_dir = clean_path(&root.join(suite.flows_dir.take().unwrap_or_default()));
    let state_dir = clean_path(
        &state
            .dir
            .map(|d| root.join(d))
            .unwrap_or_else(|| root.join("../.flows")),
    );
    if is_within(&state_dir, &output_root) {
        return Err(ConfigError::Invalid {
            what: "state.dir".to_owned(),
            message: format!(
                "{} is inside the output directory {}; saved sessions hold cookies and must never \
                 land where reports are uploaded: choose another directory (default ../.flows)",
                state_dir.display(),
                output_root.display()
            ),
        });
    }
    // Runs write (and a nightly job uploads, then may delete) the whole output dir: it must
    // not be the suite's own folder or one that holds it.
    if is_within(root, &output_root) || is_within(&flows_dir, &output_root) {
        return Err(ConfigError::Invalid {
            what: "artifacts.dir".to_owned(),
            message: format!(
                "the output directory {} holds the suite itself ({}); run output would land among the flow files: choose a directory of its own (default ../artifacts)",
                output_root.display(),
                root.display()
            ),
        });
    }
    Ok(Paths {
        output_root,
        flows_dir,
        state_dir,
    })
}

/// Is `inner` the directory `outer` or inside it (compared as absolute paths)?
fn is_within(inner: &Path, outer: &Path) -> bool {
    let abs = |p: &Path| {
        if p.is_absolute() {
            clean_path(p)
        } else {
            std::env::current_dir()
                .map(|cwd| clean_path(&cwd.join(p)))
                .unwrap_or_else(|_| clean_path(p))
        }
    };
    abs(inner).starts_with(abs(outer))
}

/// `flows/../artifacts` → `artifacts`: paths shown to people read as they would write them.
pub(in crate::config) fn clean_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}
