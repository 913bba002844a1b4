//! The terminal side of `--debug` and `--pause-on-failure`: prompts on stdout, answers from
//! stdin (an [`Interaction`] for the executor).
//!
//! Stdin is read by a plain thread feeding a channel rather than `tokio::io::stdin`, whose
//! blocking read cannot be cancelled and would hold up the runtime's shutdown after a Ctrl-C
//! at a prompt.

use std::io::Write;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::events::{StepRecord, StepStatus};
use crate::exec::interaction::{DebugCommand, FailurePoint, Interaction, StepPoint};

const HELP: &str = "[Enter] run this step · c continue without stopping · s screenshot · \
                    l LOCATOR show what a locator matches, e.g. l { role: button, name: Save } · \
                    q quit";

pub struct Console {
    lines: Option<mpsc::UnboundedReceiver<String>>,
    /// The step whose header was printed last (flow, attempt, index).
    shown: Option<(String, u32, usize)>,
}

impl Console {
    pub fn new() -> Console {
        Console {
            lines: None,
            shown: None,
        }
    }

    fn print(text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// The next line typed (without its newline); `None` at end of input.
    async fn read_line(&mut self) -> Option<String> {
        let rx = self.lines.get_or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                let mut line = String::new();
                loop {
                    line.clear();
                    match stdin.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = line.trim_end_matches(['\r', '\n']).to_owned();
                            if tx.send(text).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
            rx
        });
        rx.recv().await
    }
}

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

/// Parses one answer at the `--debug` prompt; `Err` says why it is not one.
pub fn parse_command(line: &str) -> Result<DebugCommand, String> {
    let line = line.trim();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    match word {
        "" => Ok(DebugCommand::Step),
        "c" | "continue" => Ok(DebugCommand::Continue),
        "s" | "screenshot" => Ok(DebugCommand::Screenshot),
        "q" | "quit" => Ok(DebugCommand::Quit),
        "l" | "locator" if rest.is_empty() => {
            Err("l needs a locator, e.g. l { role: button, name: Save }".to_owned())
        }
        "l" | "locator" => Ok(DebugCommand::Locator(rest.to_owned())),
        "h" | "help" | "?" => Err(HELP.to_owned()),
        other => Err(format!("unknown command `{other}`; {HELP}")),
    }
}

impl Interaction for Console {
    fn before_step<'a>(&'a mut self, at: &'a StepPoint) -> BoxFuture<'a, DebugCommand> {
        Box::pin(async move {
            let key = (at.flow.clone(), at.attempt, at.index);
            if self.shown.as_ref() != Some(&key) {
                let attempt = if at.attempt > 1 {
                    format!(", attempt {}", at.attempt)
                } else {
                    String::new()
                };
                let user = at
                    .user
                    .as_deref()
                    .map_or_else(String::new, |u| format!(" as {u}"));
                Console::print(&format!(
                    "\n▶ {} step {}/{} ({}:{}{attempt}){user}\n    {}\n",
                    at.flow,
                    at.index + 1,
                    at.total,
                    at.file.display(),
                    at.line,
                    at.source
                ));
                self.shown = Some(key);
            }
            loop {
                Console::print("debug> [Enter] step · c · s · l LOCATOR · q · h: ");
                let Some(line) = self.read_line().await else {
                    // End of input (Ctrl-D): stop asking, let the run go on.
                    Console::print("\n(end of input: continuing without stopping)\n");
                    return DebugCommand::Continue;
                };
                match parse_command(&line) {
                    Ok(c) => return c,
                    Err(why) => Console::print(&format!("{why}\n")),
                }
            }
        })
    }

    fn tell(&mut self, text: &str) {
        Console::print(&format!("{text}\n"));
    }

    fn step_finished(&mut self, step: &StepRecord) {
        let ms = step.duration_ms;
        let line = match (step.status, &step.error) {
            (StepStatus::Failed, Some(error)) => format!(
                "  ✗ step {} {} ({ms} ms): {}",
                step.index + 1,
                step.summary,
                error.replace('\n', "\n    ")
            ),
            (StepStatus::Failed, None) => {
                format!("  ✗ step {} {} ({ms} ms)", step.index + 1, step.summary)
            }
            _ => format!("  ✓ step {} {} ({ms} ms)", step.index + 1, step.summary),
        };
        Console::print(&format!("{line}\n"));
    }

    fn paused<'a>(&'a mut self, at: &'a FailurePoint) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut text = format!("\n⏸ paused: {} failed\n", at.flow);
            match &at.step {
                Some((index, line, source)) => text.push_str(&format!(
                    "  step {} ({}:{line})\n    {source}\n",
                    index + 1,
                    at.file.display()
                )),
                None => text.push_str(&format!("  {}\n", at.file.display())),
            }
            text.push_str(&format!("  error: {}\n", at.error.replace('\n', "\n    ")));
            if let Some(url) = &at.page_url {
                let whose = at
                    .user
                    .as_deref()
                    .map_or_else(String::new, |u| format!(" ({u}'s browser)"));
                text.push_str(&format!("  page: {url}{whose}\n"));
            }
            for (label, path) in [
                ("screenshot", &at.screenshot),
                ("page html", &at.page_html),
                ("trace", &at.trace),
            ] {
                if let Some(p) = path {
                    text.push_str(&format!("  {label}: {}\n", p.display()));
                }
            }
            text.push_str(
                "The browser, the app and the driver stay up (with --headed the window is open).\n\
                 Press Enter to go on with the run, or Ctrl-C to stop it.\n",
            );
            Console::print(&text);
            let _ = self.read_line().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_prompt_answers() {
        assert_eq!(parse_command(""), Ok(DebugCommand::Step));
        assert_eq!(parse_command("  c "), Ok(DebugCommand::Continue));
        assert_eq!(parse_command("s"), Ok(DebugCommand::Screenshot));
        assert_eq!(parse_command("q"), Ok(DebugCommand::Quit));
        assert_eq!(
            parse_command("l { role: button, name: Save }"),
            Ok(DebugCommand::Locator("{ role: button, name: Save }".into()))
        );
        assert!(parse_command("l").is_err());
        assert!(parse_command("x")
            .expect_err("unknown")
            .contains("unknown command"));
    }
}
