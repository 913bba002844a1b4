//! The suite's `.env` file (beside flows.toml): environment values for the runner's own lookups.
//!
//! Parsed with `dotenvy` into a map; nothing is put into the process environment (no
//! `std::env::set_var`). Real environment variables win over the file's (see
//! [`EnvFile::lookup`]). Values whose names the config treats as secrets (the E2E secret, the
//! basic-auth password, a fixed OTP) become secrets exactly as if they came from the
//! environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// The name of the file, looked for in the suite directory (where flows.toml is).
pub const ENV_FILE_NAME: &str = ".env";

/// The values of a `.env` file.
#[derive(Clone, Default)]
pub struct EnvFile {
    pub path: PathBuf,
    pub values: BTreeMap<String, String>,
}

impl std::fmt::Debug for EnvFile {
    // Values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvFile")
            .field("path", &self.path)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl EnvFile {
    /// Reads `<dir>/.env`; `Ok(None)` when there is none.
    pub fn load_beside(config_path: &Path) -> Result<Option<EnvFile>, ConfigError> {
        let dir = config_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        let path = dir.join(ENV_FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::parse(&path, &text).map(Some)
    }

    /// Parses the text of a `.env` file (`path` is for messages).
    pub fn parse(path: &Path, text: &str) -> Result<EnvFile, ConfigError> {
        let mut values = BTreeMap::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok((name, value)) => {
                    values.insert(name, value);
                }
                Err(dotenvy::Error::LineParse(..)) => return Err(line_error(path, text)),
                Err(e) => {
                    return Err(ConfigError::Invalid {
                        what: path.display().to_string(),
                        message: format!("cannot read it: {e}"),
                    })
                }
            }
        }
        Ok(EnvFile {
            path: path.to_owned(),
            values,
        })
    }

    /// The real environment first, then this file.
    pub fn lookup(&self, env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
        env(name).or_else(|| self.values.get(name).cloned())
    }
}

/// A malformed line: `path:line: …`, naming the variable but never showing the value (it may be
/// a secret, and this message goes to CI logs). dotenvy says neither the line nor the name (its
/// error holds part of the value), so the line is found by parsing growing prefixes of the file:
/// the bad statement starts on the first line, after the good statements, that is neither blank
/// nor a comment.
fn line_error(path: &Path, text: &str) -> ConfigError {
    let lines: Vec<&str> = text.lines().collect();
    let good = |t: &str| {
        dotenvy::from_read_iter(t.as_bytes())
            .take_while(Result::is_ok)
            .count()
    };
    let parsed = good(text);
    let after = if parsed == 0 {
        0
    } else {
        (1..=lines.len())
            .find(|&k| good(&lines[..k].join("\n")) >= parsed)
            .unwrap_or(0)
    };
    let line = lines
        .iter()
        .enumerate()
        .skip(after)
        .find(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .map(|(i, l)| (i + 1, *l));
    let name = line
        .and_then(|(_, l)| l.trim_start().trim_start_matches("export ").split_once('='))
        .map(|(name, _)| name.trim())
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        });
    let what = match name {
        Some(n) => format!("the line of `{n}`"),
        None => "this line".to_owned(),
    };
    let location = match line {
        Some((n, _)) => format!("{}:{n}", path.display()),
        None => path.display().to_string(),
    };
    ConfigError::EnvFile {
        location,
        message: format!(
            "cannot parse {what} (value not shown: it may be a secret); write NAME=value, one per \
             line, and quote a value with spaces or `#` (NAME=\"a value\")"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_comments_quotes_and_export() {
        let text = "# staging\nSTAGING_E2E_SECRET=s3cr3t-value\n\nexport PLAYWRIGHT_BASE_URL=https://staging.example.com\nNAME=\"a value # not a comment\"\nEMPTY=\n";
        let f = EnvFile::parse(Path::new("flows/.env"), text).expect("parses");
        assert_eq!(f.values["STAGING_E2E_SECRET"], "s3cr3t-value");
        assert_eq!(
            f.values["PLAYWRIGHT_BASE_URL"],
            "https://staging.example.com"
        );
        assert_eq!(f.values["NAME"], "a value # not a comment");
        assert_eq!(f.values["EMPTY"], "");
        let real = |n: &str| (n == "STAGING_E2E_SECRET").then(|| "from-env".to_owned());
        assert_eq!(
            f.lookup(&real, "STAGING_E2E_SECRET").as_deref(),
            Some("from-env")
        );
        assert_eq!(f.lookup(&real, "EMPTY").as_deref(), Some(""));
        assert_eq!(f.lookup(&real, "UNSET"), None);
        assert!(!format!("{f:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_malformed_line_names_file_and_line_but_not_the_value() {
        let text = "A=1\n# comment\nSTAGING_BASIC_AUTH_PASSWORD=hunter 2 secret\nB=2\n";
        let err = EnvFile::parse(Path::new("flows/.env"), text).expect_err("malformed");
        let msg = err.to_string();
        assert!(
            msg.starts_with("flows/.env:3: cannot parse the line of `STAGING_BASIC_AUTH_PASSWORD`"),
            "{msg}"
        );
        assert!(!msg.contains("hunter"), "{msg}");
        let err = EnvFile::parse(Path::new(".env"), "OK=1\nnot a line\n").expect_err("malformed");
        assert!(
            err.to_string()
                .starts_with(".env:2: cannot parse this line"),
            "{err}"
        );
        let text = "A=\"two\nlines\"\n\nB=ok\nTOKEN=${UNCLOSED\n";
        let err = EnvFile::parse(Path::new(".env"), text).expect_err("malformed");
        let msg = err.to_string();
        assert!(
            msg.starts_with(".env:5: cannot parse the line of `TOKEN`"),
            "{msg}"
        );
        assert!(!msg.contains("UNCLOSED"), "{msg}");
    }
}
