//! `flows show-trace PATH`: opens a trace (or a run's HTML report) in the desktop's browser.
//!
//! A trace is one self-contained HTML file, so "showing" it is opening a file: `xdg-open` (or
//! `open` on macOS) when there is a display, else a line saying where it is and how to open it
//! elsewhere. `PATH` may be the file, a flow's output directory (`<run>/<flow id>/`) or a run's
//! (`artifacts/latest`): a run directory with one kept trace opens it, with several lists them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::exit_code;
use crate::human;
use crate::trace::TRACE_FILE;

/// What `PATH` names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    File(PathBuf),
    /// A run directory with several kept traces (and maybe an HTML report).
    Several(Vec<PathBuf>),
    Nothing,
}

fn find(path: &Path) -> Target {
    if path.is_file() {
        return Target::File(path.to_owned());
    }
    if !path.is_dir() {
        return Target::Nothing;
    }
    let own = path.join(TRACE_FILE);
    if own.is_file() {
        return Target::File(own);
    }
    let mut traces: Vec<PathBuf> = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join(TRACE_FILE))
        .filter(|p| p.is_file())
        .collect();
    traces.sort();
    let report = path.join(crate::report::HTML_REPORT_FILE);
    match (traces.len(), report.is_file()) {
        (0, true) => Target::File(report),
        (0, false) => Target::Nothing,
        (1, false) => Target::File(traces.remove(0)),
        (_, has_report) => {
            if has_report {
                traces.insert(0, report);
            }
            Target::Several(traces)
        }
    }
}

fn has_display() -> bool {
    if cfg!(target_os = "macos") {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn file_url(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    url::Url::from_file_path(&abs).map_or_else(|()| abs.display().to_string(), String::from)
}

/// Opens `path` (see the module docs); returns the exit code.
pub fn show_trace(path: &Path) -> u8 {
    let file = match find(path) {
        Target::File(f) => f,
        Target::Several(files) => {
            println!(
                "{} holds more than one file to open; pass one of them:",
                path.display()
            );
            for f in files {
                println!("  {}", f.display());
            }
            return exit_code::USAGE;
        }
        Target::Nothing => {
            eprintln!(
                "error: no trace at {}\n  = hint: a kept trace is <output>/<flow id>/{TRACE_FILE} \
                 (every flow with --trace on; a failed flow with the default retain-on-failure); \
                 the HTML report is <output>/index.html with --reporter html",
                path.display()
            );
            return exit_code::USAGE;
        }
    };
    let size = std::fs::metadata(&file).map(|m| human::size(m.len()));
    let url = file_url(&file);
    println!(
        "trace: {} ({})",
        file.display(),
        size.as_deref().unwrap_or("size unknown")
    );
    if has_display() {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        let spawned = Command::new(opener)
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            Ok(_) => {
                println!("opened with {opener}");
                return exit_code::SUCCESS;
            }
            Err(e) => println!("could not run {opener} ({e})"),
        }
    } else {
        println!("no display here to open it on.");
    }
    println!(
        "open it in any browser (it needs no server and no network; copy the file if the \
         browser is on another machine):\n  {url}"
    );
    exit_code::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_a_trace_a_flow_dir_or_a_run_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = dir.path();
        assert_eq!(find(&run.join("nope")), Target::Nothing);
        assert_eq!(find(run), Target::Nothing);
        std::fs::create_dir_all(run.join("a")).expect("mkdir");
        std::fs::write(run.join("a").join(TRACE_FILE), "<html>").expect("write");
        assert_eq!(find(&run.join("a")), Target::File(run.join("a/trace.html")));
        assert_eq!(find(run), Target::File(run.join("a/trace.html")));
        std::fs::create_dir_all(run.join("b")).expect("mkdir");
        std::fs::write(run.join("b").join(TRACE_FILE), "<html>").expect("write");
        std::fs::write(run.join("index.html"), "<html>").expect("write");
        assert_eq!(
            find(run),
            Target::Several(vec![
                run.join("index.html"),
                run.join("a/trace.html"),
                run.join("b/trace.html")
            ])
        );
        assert_eq!(
            find(&run.join("index.html")),
            Target::File(run.join("index.html"))
        );
    }

    #[test]
    fn file_urls_are_absolute() {
        assert_eq!(
            file_url(Path::new("/tmp/run/a b/trace.html")),
            "file:///tmp/run/a%20b/trace.html"
        );
    }
}
