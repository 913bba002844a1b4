//! `flows init`: flags (or, on a terminal, questions) → `init::InitOptions` → the scaffold.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::exit_code;
use crate::init::{self, InitOptions};

#[derive(Debug, Args, Clone)]
pub struct InitArgs {
    /// The app's URL (asked on a terminal when not given; else a placeholder to edit).
    #[arg(long)]
    pub base_url: Option<String>,
    /// The suite's folder, relative to the current directory.
    #[arg(long, default_value = "flows")]
    pub dir: PathBuf,
    /// A user flows act as, KEY=EMAIL (repeat for more; asked on a terminal when none given).
    #[arg(long = "user", value_name = "KEY=EMAIL")]
    pub users: Vec<String>,
    /// Ask nothing, even on a terminal (CI never gets questions: no TTY, or CI set).
    #[arg(long)]
    pub no_input: bool,
}

pub(super) fn init(args: &InitArgs) -> u8 {
    match run(args) {
        Ok(()) => exit_code::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            exit_code::USAGE
        }
    }
}

fn run(args: &InitArgs) -> Result<(), String> {
    let interactive = !args.no_input
        && std::env::var_os("CI").is_none()
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    let project = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    // Refused before any question: answering questions to then be refused wastes a person's time.
    let config = project.join(&args.dir).join("flows.toml");
    if config.exists() {
        return Err(format!(
            "{} already exists; flows init never overwrites a file\n  = hint: `flows check` and `flows doctor` work with it as it is; pass --dir DIR to scaffold a suite elsewhere",
            config.display()
        ));
    }
    let mut base_url = args
        .base_url
        .as_deref()
        .map(init::check_base_url)
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut users = args
        .users
        .iter()
        .map(|u| init::parse_user(u))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if interactive {
        if base_url.is_none() {
            base_url = ask_base_url()?;
        }
        if users.is_empty() {
            users = ask_users()?;
        }
    }
    let page_title = base_url.as_deref().and_then(read_title);
    let opts = InitOptions {
        project,
        dir: args.dir.clone(),
        base_url: base_url.clone(),
        users,
        page_title,
    };
    let written = init::write(&opts).map_err(|e| match e {
        init::InitError::Exists(_) => format!("{e}\n  = hint: remove it, or pass --dir DIR"),
        other => other.to_string(),
    })?;
    let mut out = std::io::stdout().lock();
    for f in &written.created {
        let _ = writeln!(out, "created {}", f.display());
    }
    if !written.ignored.is_empty() {
        let _ = writeln!(out, "added to .gitignore: {}", written.ignored.join(" "));
    }
    if base_url.is_none() {
        let _ = writeln!(
            out,
            "note: the base URL is a placeholder ({}): set target.base_url in {} or pass --base-url",
            init::PLACEHOLDER_BASE_URL,
            args.dir.join("flows.toml").display()
        );
    }
    let config_flag = if args.dir == std::path::Path::new("flows") {
        String::new()
    } else {
        format!(" --config {}", args.dir.join("flows.toml").display())
    };
    let _ = writeln!(
        out,
        "next: flows check{config_flag}  →  flows doctor{config_flag}  →  flows run --all{config_flag}"
    );
    Ok(())
}

fn ask_base_url() -> Result<Option<String>, String> {
    let answer: String = dialoguer::Input::new()
        .with_prompt("Your app's URL (empty: a placeholder to edit later)")
        .allow_empty(true)
        .validate_with(|text: &String| -> Result<(), String> {
            if text.trim().is_empty() {
                return Ok(());
            }
            init::check_base_url(text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .interact_text()
        .map_err(|e| format!("cannot ask: {e}"))?;
    if answer.trim().is_empty() {
        return Ok(None);
    }
    init::check_base_url(&answer)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn ask_users() -> Result<Vec<(String, String)>, String> {
    let mut users = Vec::new();
    loop {
        let answer: String = dialoguer::Input::new()
            .with_prompt("A user flows act as, KEY=EMAIL (empty: done)")
            .allow_empty(true)
            .validate_with(|text: &String| -> Result<(), String> {
                if text.trim().is_empty() {
                    return Ok(());
                }
                init::parse_user(text)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .interact_text()
            .map_err(|e| format!("cannot ask: {e}"))?;
        if answer.trim().is_empty() {
            return Ok(users);
        }
        users.push(init::parse_user(&answer).map_err(|e| e.to_string())?);
    }
}

/// The page title at `url`, for the example flow to expect; `None` (any title) when the app
/// does not answer now.
fn read_title(url: &str) -> Option<String> {
    let fetched = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
        .and_then(|runtime| {
            runtime.block_on(async {
                let resp = reqwest::Client::new()
                    .get(url)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .ok()?;
                if !resp.status().is_success() {
                    return None;
                }
                resp.text().await.ok()
            })
        });
    match fetched.as_deref().and_then(init::html_title) {
        Some(t) => Some(t),
        None => {
            eprintln!(
                "note: could not read a page title at {url} now; the example flow expects any title (edit it)"
            );
            None
        }
    }
}
