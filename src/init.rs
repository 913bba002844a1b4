//! `flows init`: the files of a new suite — flows.toml with comments, one example flow, the
//! flow-file JSON Schema for editors, and `.gitignore` entries. Owns what is written and the
//! refusal to overwrite; does not ask questions (the CLI does, on a TTY) nor start anything.

use std::path::{Path, PathBuf};

/// What the scaffold is made from (flags, or the answers to the CLI's questions).
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Where the project is (`.gitignore` goes here); `dir` is relative to it.
    pub project: PathBuf,
    /// The suite's folder (`flows`).
    pub dir: PathBuf,
    /// The app's URL; `None` writes a placeholder to edit.
    pub base_url: Option<String>,
    /// `(key, email)` per user.
    pub users: Vec<(String, String)>,
    /// The title the example flow expects (read from the base URL's page by the CLI); `None`
    /// expects any title.
    pub page_title: Option<String>,
}

/// The base URL written when none was given.
pub const PLACEHOLDER_BASE_URL: &str = "http://localhost:3000";

/// What `init` left behind, for the CLI to list.
#[derive(Debug)]
pub struct Written {
    pub created: Vec<PathBuf>,
    /// `.gitignore` lines added (an existing file keeps its lines; only missing ones are added).
    pub ignored: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exists; flows init never overwrites a file", .0.display())]
    Exists(PathBuf),
    #[error(
        "a user must be given as KEY=EMAIL (e.g. `--user alice=alice@example.com`), not `{0}`"
    )]
    BadUser(String),
    #[error("`{0}` is not an http(s) URL")]
    BadUrl(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `name=email` from `--user`; the key must be one flows can name (letters, digits, `-`, `_`).
pub fn parse_user(text: &str) -> Result<(String, String), InitError> {
    let (key, email) = text
        .split_once('=')
        .ok_or_else(|| InitError::BadUser(text.to_owned()))?;
    let key = key.trim();
    let email = email.trim();
    let key_ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !key_ok || !email.contains('@') {
        return Err(InitError::BadUser(text.to_owned()));
    }
    Ok((key.to_owned(), email.to_owned()))
}

/// An http(s) URL without a trailing `/`.
pub fn check_base_url(text: &str) -> Result<String, InitError> {
    match url::Url::parse(text.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(text.trim().trim_end_matches('/').to_owned())
        }
        _ => Err(InitError::BadUrl(text.to_owned())),
    }
}

/// The files of the scaffold: `(path under the project, contents)`.
pub fn files(opts: &InitOptions) -> Vec<(PathBuf, String)> {
    vec![
        (opts.dir.join("flows.toml"), flows_toml(opts)),
        (opts.dir.join("home-page.yaml"), example_flow(opts)),
        (
            opts.dir.join(SCHEMA_FILE),
            crate::flowfile::schema::schema_json(),
        ),
    ]
}

/// The flow-file schema beside the flows, for the yaml-language-server line.
pub const SCHEMA_FILE: &str = "flow.schema.json";

/// The `.gitignore` lines a suite needs: local state, secrets, run output.
pub const GITIGNORE: [&str; 3] = [".flows/", ".env", "artifacts/"];

/// Writes the scaffold. Nothing is written when any file exists already.
pub fn write(opts: &InitOptions) -> Result<Written, InitError> {
    let files = files(opts);
    for (path, _) in &files {
        let full = opts.project.join(path);
        if full.exists() {
            return Err(InitError::Exists(full));
        }
    }
    let mut created = Vec::new();
    for (path, text) in &files {
        let full = opts.project.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|source| InitError::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        // `create_new`: a file that appeared since the check above is still not overwritten.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&full)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => InitError::Exists(full.clone()),
                _ => InitError::Write {
                    path: full.clone(),
                    source,
                },
            })?;
        created.push(path.clone());
    }
    let ignored = add_gitignore(&opts.project.join(".gitignore"))?;
    Ok(Written { created, ignored })
}

/// Appends the missing [`GITIGNORE`] lines (a line already there, with or without a leading
/// `/` or trailing `/`, counts).
fn add_gitignore(path: &Path) -> Result<Vec<String>, InitError> {
    let existing = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(InitError::Write {
                path: path.to_owned(),
                source,
            })
        }
    };
    let norm = |l: &str| l.trim().trim_matches('/').to_owned();
    let have: Vec<String> = existing.lines().map(norm).collect();
    let missing: Vec<String> = GITIGNORE
        .iter()
        .filter(|l| !have.contains(&norm(l)))
        .map(|l| (*l).to_owned())
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# flows: local state (saved sessions, run history), secrets, run output\n");
    for l in &missing {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|source| InitError::Write {
        path: path.to_owned(),
        source,
    })?;
    Ok(missing)
}

/// `../` once per folder of `dir`: from flows.toml back to the project.
fn up_to_project(dir: &Path) -> String {
    let depth = dir
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .count();
    "../".repeat(depth.max(1))
}

/// A TOML string (basic, escaped).
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn flows_toml(opts: &InitOptions) -> String {
    let up = up_to_project(&opts.dir);
    let base_url = opts.base_url.as_deref().unwrap_or(PLACEHOLDER_BASE_URL);
    let base_note = if opts.base_url.is_none() {
        "# A placeholder: put your app's URL here.\n"
    } else {
        ""
    };
    let mut users = String::from(
        "# The people flows act as (`user: KEY` in a flow); one browser session each. A password,\n\
         # when a flow needs one, comes from the env only: password_env = \"ALICE_PASSWORD\".\n",
    );
    for (key, email) in users_or_default(opts) {
        users.push_str(&format!("[users.{key}]\nemail = {}\n\n", toml_str(&email)));
    }
    format!(
        r#"# The suite config, written by `flows init`. `flows check` checks it with every flow;
# `flows doctor` checks the machine and the app against it.
#
# Precedence, highest first: command-line flags, environment variables, {dir}/.env (git-ignored),
# the selected profile ([profiles.NAME], chosen by --profile), this file, built-in defaults.
# Paths are relative to this file.

[suite]
name = "{name}"

[target]
{base_note}# PLAYWRIGHT_BASE_URL or --base-url override it (a staging URL in CI).
base_url = {base_url}
# The staging E2E secret (apps with the staging contract: /staging/e2e/health and the mail
# report) is read from this env var or from {dir}/.env; never write it in this file.
secret_env = "STAGING_E2E_SECRET"
secret_header = "X-Staging-E2E-Secret"

{users}
[timeouts]
step = "10s"
flow = "2m"

# Web server: off. To have flows start the app before a run, on a free port it picks:
# [web_server]
# command = "npm run start -- --port {{port}}"
# ready_path = "/"
# startup_timeout = "60s"

[health]
# Asked before any browser starts; a run stops with exit 3 when it is not healthy. An app
# without an aggregate health endpoint sets any page that answers 200 (e.g. "/").
path = "/health"

[mail]
# Where `mail` steps read mail: staging_endpoint (the app's GET /staging/e2e/mail-report, with
# the secret), or a mail catcher: source = "maildev" / "mailpit" with url = "http://host:port".
source = "staging_endpoint"

[browser]
headless = true

[artifacts]
# Run output: reports, screenshots, traces (git-ignored).
dir = "{up}artifacts"

[state]
# Saved sessions and the run history (git-ignored).
dir = "{up}.flows"
"#,
        dir = opts.dir.display(),
        name = "My app",
        base_url = toml_str(base_url),
    )
}

/// The users given, or one `visitor` (a flow's browser steps run in a user's session).
fn users_or_default(opts: &InitOptions) -> Vec<(String, String)> {
    if opts.users.is_empty() {
        vec![(DEFAULT_USER.to_owned(), "visitor@example.com".to_owned())]
    } else {
        opts.users.clone()
    }
}

/// The user written when none was given.
pub const DEFAULT_USER: &str = "visitor";

fn example_flow(opts: &InitOptions) -> String {
    let user = users_or_default(opts)
        .first()
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| DEFAULT_USER.to_owned());
    let (title, note) = match &opts.page_title {
        Some(t) => (
            serde_json::Value::String(t.clone()).to_string(),
            "# The title is the one the page had when `flows init` read it.\n",
        ),
        None => (
            "/\\S/".to_owned(),
            "# Expects any non-empty title: put your page's title here (a substring, or /regex/i).\n",
        ),
    };
    format!(
        r#"# yaml-language-server: $schema=./{SCHEMA_FILE}
# An example flow, written by `flows init`: it opens the app and checks the page's title.
# `flows run --all` runs every flow; `flows check` checks them without starting anything.
# Every step kind: docs/flow-format.md of flows; `flows schema` prints the schema this file uses.
id: home-page
title: The home page opens
user: {user}
tags: [smoke]
steps:
  - goto: /
{note}  - expect: {{ title: {title} }}
"#
    )
}

/// The `<title>` of an HTML page, entities decoded; `None` when it has none.
pub fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let raw = html[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let decoded = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&middot;", "·")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    // An entity left undecoded would make the expectation fail on a page that is fine.
    if decoded.is_empty() || decoded.contains("&#") {
        return None;
    }
    Some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(project: &Path) -> InitOptions {
        InitOptions {
            project: project.to_owned(),
            dir: PathBuf::from("flows"),
            base_url: Some("http://127.0.0.1:8080".into()),
            users: vec![("alice".into(), "alice@example.com".into())],
            page_title: Some("Sign in · \"Demo\"".into()),
        }
    }

    #[test]
    fn users_are_key_equals_email() {
        assert_eq!(
            parse_user("alice=alice@example.com").ok(),
            Some(("alice".into(), "alice@example.com".into()))
        );
        assert!(parse_user("alice").is_err());
        assert!(parse_user("al ice=a@b").is_err());
        assert!(parse_user("alice=nobody").is_err());
    }

    #[test]
    fn titles_are_read_from_the_page() {
        assert_eq!(
            html_title("<html><head><TITLE>\n Sign in &middot; Demo &amp; Co </title>").as_deref(),
            Some("Sign in · Demo & Co")
        );
        assert_eq!(html_title("<p>no title</p>"), None);
        assert_eq!(html_title("<title>&#8212;</title>"), None);
    }

    #[test]
    fn init_refuses_to_overwrite_and_writes_nothing_then() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("flows")).expect("mkdir");
        std::fs::write(dir.path().join("flows/home-page.yaml"), "mine").expect("write");
        let err = write(&opts(dir.path())).expect_err("refused");
        assert!(matches!(err, InitError::Exists(_)), "{err}");
        assert!(!dir.path().join("flows/flows.toml").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("flows/home-page.yaml")).expect("read"),
            "mine"
        );
    }

    #[test]
    fn gitignore_gets_only_the_missing_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".gitignore"), "target\n/.flows\n").expect("write");
        let written = write(&opts(dir.path())).expect("written");
        assert_eq!(written.ignored, vec![".env", "artifacts/"]);
        let text = std::fs::read_to_string(dir.path().join(".gitignore")).expect("read");
        assert!(text.starts_with("target\n/.flows\n"), "{text}");
        assert_eq!(text.matches(".flows").count(), 1, "{text}");
        let flow = std::fs::read_to_string(dir.path().join("flows/home-page.yaml")).expect("read");
        assert!(flow.starts_with("# yaml-language-server: $schema=./flow.schema.json\n"));
        assert!(flow.contains(r#"title: "Sign in · \"Demo\"""#), "{flow}");
    }
}
