//! A property test over `flows check`: the shipped flows, the lab flows and their configs,
//! mutated (truncated, bytes flipped, lines duplicated, deep nesting, huge numbers, unicode),
//! must never make `check` panic or hang: it exits 0 or 2. Each input's cost is bounded by
//! limits that kill the child (RLIMIT_CPU 2 s, RLIMIT_DATA 256 MiB through `prlimit`, and a
//! 10 s wall-clock kill for a child that blocks), not by a timing assertion. The case count
//! is fixed so the test fits in CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::support::{repo_root, require_on_path};

/// Cases per run: about 40 ms each.
const CASES: u32 = 128;

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(Index),
    FlipByte(Index, u8),
    DuplicateLine(Index),
    /// A value nested this deep, inserted after a line.
    Nest(Index, usize),
    HugeNumber(Index),
    Unicode(Index, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), 1usize..2_000).prop_map(|(i, d)| Mutation::Nest(i, d)),
        any::<Index>().prop_map(Mutation::HugeNumber),
        (any::<Index>(), any::<char>()).prop_map(|(i, c)| Mutation::Unicode(i, c)),
    ]
}

/// The start of each line of `text`.
fn line_starts(text: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|&i| i <= text.len())
        .collect()
}

fn apply(text: &mut Vec<u8>, m: &Mutation) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
    match m {
        Mutation::Truncate(i) => {
            let n = at(i, text.len());
            text.truncate(n);
        }
        Mutation::FlipByte(i, b) => {
            if !text.is_empty() {
                let n = i.index(text.len());
                text[n] ^= b | 1;
            }
        }
        Mutation::DuplicateLine(i) => {
            let starts = line_starts(text);
            let s = starts[i.index(starts.len())];
            let e = text[s..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(text.len(), |p| s + p + 1);
            let line = text[s..e].to_vec();
            text.splice(s..s, line);
        }
        Mutation::Nest(i, depth) => {
            let starts = line_starts(text);
            let s = starts[i.index(starts.len())];
            let nested = format!("  deep: {}1{}\n", "[".repeat(*depth), "]".repeat(*depth));
            text.splice(s..s, nested.into_bytes());
        }
        Mutation::HugeNumber(i) => {
            let n = at(i, text.len());
            text.splice(
                n..n,
                b"99999999999999999999999999999999999999e999"
                    .iter()
                    .copied(),
            );
        }
        Mutation::Unicode(i, c) => {
            let n = at(i, text.len());
            let mut buf = [0u8; 4];
            text.splice(n..n, c.encode_utf8(&mut buf).bytes());
        }
    }
}

/// `from` copied under `to` (small trees: the suite and the lab).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Runs `flows check --config CONFIG` under the limits; its exit code, or why it has none.
fn check_under_limits(config: &Path) -> Result<i32, String> {
    let mut child = Command::new("prlimit")
        .args(["--cpu=2", "--data=268435456", "--"])
        .arg(env!("CARGO_BIN_EXE_flows"))
        .arg("check")
        .arg("--config")
        .arg(config)
        .env("NO_COLOR", "1")
        // Fewer malloc arenas: each reserves address space the data limit would not see anyway.
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut err);
            }
            return status
                .code()
                .ok_or_else(|| format!("killed by a signal ({status}); stderr: {err}"))
                .and_then(|code| {
                    if err.contains("panicked") {
                        Err(format!("exit {code} after a panic: {err}"))
                    } else {
                        Ok(code)
                    }
                });
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("still running after 10 s: killed".to_owned());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn mutated_flows_and_configs_never_crash_or_hang_check() {
    require_on_path("prlimit", "apt-get install -y util-linux");
    let work = tempfile::tempdir().expect("tempdir");
    let suites: Vec<PathBuf> = [("flows", "flows"), ("lab", "tests/lab")]
        .iter()
        .map(|(name, from)| {
            let to = work.path().join(name);
            copy_tree(&repo_root().join(from), &to);
            to
        })
        .collect();
    // Every flow file and config of both suites: (suite dir, file).
    let mut seeds: Vec<(PathBuf, PathBuf)> = Vec::new();
    for suite in &suites {
        for e in std::fs::read_dir(suite).expect("read").flatten() {
            let p = e.path();
            let named = p
                .extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "toml");
            if named && p.is_file() {
                seeds.push((suite.clone(), p));
            }
        }
    }
    seeds.sort();
    assert!(seeds.len() > 20, "{seeds:?}");
    // The unmutated suites are the baseline: they check clean.
    for suite in &suites {
        assert_eq!(check_under_limits(&suite.join("flows.toml")), Ok(0));
    }

    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (any::<Index>(), proptest::collection::vec(mutation(), 1..4));
    let result = runner.run(&strategy, |(seed, mutations)| {
        let (suite, file) = &seeds[seed.index(seeds.len())];
        let original = std::fs::read(file).expect("read seed");
        let mut text = original.clone();
        for m in &mutations {
            apply(&mut text, m);
        }
        std::fs::write(file, &text).expect("write mutated");
        let outcome = check_under_limits(&suite.join("flows.toml"));
        std::fs::write(file, &original).expect("restore seed");
        match outcome {
            Ok(0 | 2) => Ok(()),
            Ok(code) => Err(TestCaseError::fail(format!(
                "{}: exit {code}",
                file.display()
            ))),
            Err(why) => Err(TestCaseError::fail(format!("{}: {why}", file.display()))),
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
