//! Data-driven flows: `each:` rows (inline, or a CSV file with a header row) run the flow once
//! per row, each row a flow of its own (`id[name]`) with `{{ row.KEY }}`.
//!
//! An `each:` file is read only when it is a regular file (a FIFO would block `flows check`,
//! `/dev/zero` would never end), no larger than [`EachLimits::max_bytes`], and record by
//! record, stopping at [`EachLimits::max_rows`]: a hostile or mistaken file costs bounded time
//! and memory, and is a located error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::flowfile::ast::{EachSource, FlowFile};
use crate::flowfile::diagnostic::Diagnostic;
use crate::flowfile::span::Loc;

use super::env::{shown, value_len, EachLimits};

/// Why an `each:` file was not read, and what to do.
struct EachFileError {
    message: String,
    hint: String,
}

/// One row: its name (the `name` key, else its 1-based number) and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub values: BTreeMap<String, String>,
}

/// The rows of a flow's `each:`, checked: at least one, same keys, distinct names.
pub(super) fn rows_of(
    file: &Path,
    source: &str,
    flow: &FlowFile,
    limits: &EachLimits,
) -> Result<Option<Vec<Row>>, Vec<Diagnostic>> {
    let Some(each) = &flow.each else {
        return Ok(None);
    };
    let each_loc = find_key(source, "each");
    let rows = written_rows(file, source, each, each_loc, limits)?;
    if let Some(d) = count_problem(file, rows.len(), each_loc, limits) {
        return Err(vec![d]);
    }
    named_rows(file, &rows)
}

/// A row as written: where it is, its keys and values.
type WrittenRow = (Loc, BTreeMap<String, String>);

/// The rows of `each:`, inline or read from its CSV file.
fn written_rows(
    file: &Path,
    source: &str,
    each: &EachSource,
    each_loc: Loc,
    limits: &EachLimits,
) -> Result<Vec<WrittenRow>, Vec<Diagnostic>> {
    Ok(match each {
        EachSource::Rows(rows) => rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let loc = if r.loc.line == 0 {
                    nth_item(source, each_loc, i)
                } else {
                    r.loc
                };
                (
                    loc,
                    r.value
                        .iter()
                        .map(|(k, v)| (k.clone(), v.0.clone()))
                        .collect(),
                )
            })
            .collect(),
        EachSource::File(f) => {
            let path = file.parent().unwrap_or(Path::new("")).join(&f.value);
            let loc = if f.loc.line == 0 { each_loc } else { f.loc };
            match read_csv(&path, limits) {
                Ok(rows) => rows.into_iter().map(|r| (loc, r)).collect(),
                Err(EachFileError { message, hint }) => {
                    return Err(vec![Diagnostic::new(file, message)
                        .at(loc, value_len(source, loc, &f.value))
                        .hint(hint)]);
                }
            }
        }
    })
}

/// Too many rows, or none.
fn count_problem(
    file: &Path,
    count: usize,
    each_loc: Loc,
    limits: &EachLimits,
) -> Option<Diagnostic> {
    if count > limits.max_rows {
        return Some(
            Diagnostic::new(
                file,
                format!(
                    "`each` has {} rows, more than the {} allowed",
                    count,
                    limits.max_rows
                ),
            )
            .at(each_loc, 4)
            .hint("each row is a flow: split the data, or raise `[suite] each_max_rows` in flows.toml"),
        );
    }
    (count == 0).then(|| {
        Diagnostic::new(file, "`each` has no rows")
            .at(each_loc, 4)
            .hint("give at least one row, e.g. `each: [{ name: low, priority: Low }]`")
    })
}

/// The rows with their names: the same keys in each, names that fit in a flow id, each once.
fn named_rows(file: &Path, rows: &[WrittenRow]) -> Result<Option<Vec<Row>>, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let keys: BTreeSet<&String> = rows[0].1.keys().collect();
    let mut out = Vec::with_capacity(rows.len());
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (loc, values)) in rows.iter().enumerate() {
        let these: BTreeSet<&String> = values.keys().collect();
        if these != keys {
            let missing: Vec<&str> = keys.difference(&these).map(|k| k.as_str()).collect();
            let extra: Vec<&str> = these.difference(&keys).map(|k| k.as_str()).collect();
            let mut what = Vec::new();
            if !missing.is_empty() {
                what.push(format!("lacks {}", missing.join(", ")));
            }
            if !extra.is_empty() {
                what.push(format!("has {} that row 1 does not", extra.join(", ")));
            }
            diags.push(
                Diagnostic::new(
                    file,
                    format!("row {} of `each` {}", i + 1, what.join(" and ")),
                )
                .at(*loc, 1)
                .hint("every row needs the same keys"),
            );
        }
        let name = values
            .get("name")
            .cloned()
            .unwrap_or_else(|| (i + 1).to_string());
        let bad = name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if bad {
            diags.push(
                Diagnostic::new(
                    file,
                    format!("row name `{name}` cannot be part of a flow id"),
                )
                .at(*loc, 1)
                .hint(
                    "a row's `name` uses letters, digits, `-`, `_` and `.`: it becomes `id[name]`",
                ),
            );
        }
        if let Some(first) = names.insert(name.clone(), i) {
            diags.push(
                Diagnostic::new(
                    file,
                    format!("rows {} and {} are both named `{name}`", first + 1, i + 1),
                )
                .at(*loc, 1)
                .hint("each row needs its own `name`: it becomes the flow id `id[name]`"),
            );
        }
        out.push(Row {
            name,
            values: values.clone(),
        });
    }
    if diags.is_empty() {
        Ok(Some(out))
    } else {
        Err(diags)
    }
}

/// The rows of a CSV `each:` file, read record by record within `limits`.
fn read_csv(
    path: &Path,
    limits: &EachLimits,
) -> Result<Vec<BTreeMap<String, String>>, EachFileError> {
    let looked_for = || {
        format!(
            "a CSV file with a header row, relative to the flow file; looked for `{}`",
            shown(path)
        )
    };
    let io_error = |e: std::io::Error| EachFileError {
        message: match e.kind() {
            std::io::ErrorKind::NotFound => "cannot read `each` file: not found".to_owned(),
            _ => format!("cannot read `each` file: {e}"),
        },
        hint: looked_for(),
    };
    // Asked before opening (it follows symlinks): opening a FIFO would block until a writer
    // comes, and a device such as /dev/zero never ends.
    let meta = std::fs::metadata(path).map_err(io_error)?;
    if !meta.is_file() {
        return Err(EachFileError {
            message: format!(
                "`each` file `{}` is {}, not a regular file",
                shown(path),
                file_type_words(&meta.file_type())
            ),
            hint: "`each:` names a CSV file in the suite; point it at one".to_owned(),
        });
    }
    let too_big = |bytes: u64| EachFileError {
        message: format!(
            "`each` file `{}` is {bytes} bytes, more than the {} allowed",
            shown(path),
            limits.max_bytes
        ),
        hint: "split the data, or raise `[suite] each_max_bytes` in flows.toml".to_owned(),
    };
    if meta.len() > limits.max_bytes {
        return Err(too_big(meta.len()));
    }
    // A file that grows after the size was read is still read no further than the limit.
    let file = std::fs::File::open(path).map_err(io_error)?;
    let bounded = std::io::Read::take(file, limits.max_bytes.saturating_add(1));
    let mut reader = csv::Reader::from_reader(bounded);
    let headers = reader
        .headers()
        .map_err(|e| EachFileError {
            message: format!(
                "cannot read the header row of `each` file: {}",
                csv_words(&e)
            ),
            hint: looked_for(),
        })?
        .clone();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(EachFileError {
                    message: format!("`each` file: {}", csv_words(&e)),
                    hint: looked_for(),
                })
            }
        }
        if rows.len() == limits.max_rows {
            return Err(EachFileError {
                message: format!(
                    "`each` file `{}` has more than {} rows",
                    shown(path),
                    limits.max_rows
                ),
                hint: "each row is a flow: split the data, or raise `[suite] each_max_rows` in flows.toml"
                    .to_owned(),
            });
        }
        rows.push(
            headers
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .collect(),
        );
    }
    if reader.position().byte() > limits.max_bytes {
        return Err(too_big(reader.position().byte()));
    }
    Ok(rows)
}

/// "a FIFO", "a directory", … for a file type that is not a regular file.
fn file_type_words(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

fn csv_words(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => "not found".into(),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {} has {len} fields, the header has {expected_len}",
            pos.as_ref().map_or(0, csv::Position::line)
        ),
        _ => e.to_string(),
    }
}

/// Where the `i`-th `- ` item under the key at `key` starts (the key itself if not found).
fn nth_item(source: &str, key: Loc, i: usize) -> Loc {
    let mut items = source
        .lines()
        .enumerate()
        .skip(key.line as usize)
        .take_while(|(_, l)| l.is_empty() || l.starts_with(' ') || l.starts_with('-'))
        .filter_map(|(n, l)| {
            let indent = l.len() - l.trim_start().len();
            l.trim_start().starts_with("- ").then_some((n, indent))
        });
    let Some(first) = items.next() else {
        return key;
    };
    std::iter::once(first)
        .chain(items.filter(|(_, ind)| *ind == first.1))
        .nth(i)
        .map_or(key, |(n, indent)| Loc {
            line: u32::try_from(n + 1).unwrap_or(u32::MAX),
            col: u32::try_from(indent + 1).unwrap_or(u32::MAX),
        })
}

/// Where `key:` starts at the top level of a file (column 1).
fn find_key(source: &str, key: &str) -> Loc {
    source
        .lines()
        .enumerate()
        .find(|(_, l)| {
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map_or(Loc { line: 1, col: 1 }, |(i, _)| Loc {
            line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            col: 1,
        })
}
