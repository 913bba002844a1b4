//! The recorder's hold on the browser: the in-page script (recorder.js around the runner's
//! page.js) added as a BiDi preload script, so every new document gets it, and run once in the
//! page already open; its messages arrive on a `script.message` channel.

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::exec::browser::recording::page_script_function;
use crate::exec::browser::BrowserSession;

/// The channel the page's messages arrive on.
const CHANNEL: &str = "flows-record";
const RECORDER_JS: &str = include_str!("recorder.js");

/// The script as a BiDi function declaration: `(send, alreadyOpen) => { … }`.
pub fn function_declaration() -> String {
    format!(
        "(send, alreadyOpen) => {{\nconst flowsPage = {};\n{}\n}}",
        page_script_function(),
        RECORDER_JS
    )
}

/// What the browser forwards: the page's messages (JSON text), or that the window closed.
pub enum PageNews {
    Message(String),
    WindowClosed,
}

/// Installs the recorder in `session`: in every document from now on, and in the one open.
pub async fn attach(
    session: &BrowserSession,
) -> Result<UnboundedReceiver<(String, Value)>, String> {
    let bidi = session.bidi().ok_or(
        "the browser gave no WebDriver BiDi connection, which `flows record` needs (Chromium \
         through chromedriver 115 or later)",
    )?;
    let rx = bidi.forward_script_messages().await?;
    let channel = json!({ "type": "channel", "value": { "channel": CHANNEL } });
    let declaration = function_declaration();
    bidi.command(
        "script.addPreloadScript",
        json!({ "functionDeclaration": declaration, "arguments": [channel] }),
    )
    .await?;
    let tree = bidi
        .command("browsingContext.getTree", json!({ "maxDepth": 0 }))
        .await?;
    if let Some(context) = tree["contexts"][0]["context"].as_str() {
        bidi.command(
            "script.callFunction",
            json!({
                "functionDeclaration": declaration,
                "arguments": [channel, { "type": "boolean", "value": true }],
                "target": { "context": context },
                "awaitPromise": false,
            }),
        )
        .await?;
    }
    Ok(rx)
}

/// What one forwarded event means for the recording (`None`: not the recorder's).
pub fn news(method: &str, params: &Value) -> Option<PageNews> {
    match method {
        "script.message" if params["channel"] == CHANNEL => params["data"]["value"]
            .as_str()
            .map(|s| PageNews::Message(s.to_owned())),
        "browsingContext.contextDestroyed" => Some(PageNews::WindowClosed),
        _ => None,
    }
}
