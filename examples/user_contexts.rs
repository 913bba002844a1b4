//! Spike for issue 18 part 2: can one chromedriver session hold every user as a WebDriver BiDi
//! user context, with CLASSIC commands acting in a user context after Switch To Window?
//!
//! Checks, each printed as `ok` or `FAILED` with what was seen (nothing is asserted: this is a
//! probe of what the installed Chromium/chromedriver support, kept to rerun on a new version):
//! isolation of cookies and localStorage, navigation, Execute Script, screenshots, file upload,
//! downloads per user context, popups and their user context, viewport/locale/user agent per
//! context, and BiDi event subscriptions filtered by user context on separate connections.
//!
//! `cargo run --release --example user_contexts`

use std::collections::HashMap;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

type Pending = std::sync::Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A bare BiDi connection: commands by id, events into a channel.
struct Bidi {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: std::sync::atomic::AtomicU64,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
}

impl Bidi {
    async fn connect(url: &str) -> anyhow::Result<Bidi> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let pending: Pending = Default::default();
        tokio::spawn(async move {
            while let Some(t) = out_rx.recv().await {
                if sink.send(Message::text(t)).await.is_err() {
                    break;
                }
            }
        });
        let p = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(Message::Text(t))) = stream.next().await {
                let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
                    continue;
                };
                if let Some(id) = v.get("id").and_then(Value::as_u64) {
                    if let Some(tx) = p.lock().ok().and_then(|mut m| m.remove(&id)) {
                        let _ = tx.send(v);
                    }
                } else {
                    let _ = ev_tx.send(v);
                }
            }
        });
        Ok(Bidi {
            out,
            pending,
            next: 1.into(),
            events: tokio::sync::Mutex::new(ev_rx),
        })
    }

    /// The command's `result`, or its error as `Err`.
    async fn cmd(&self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|e| e.to_string())?
            .insert(id, tx);
        self.out
            .send(json!({"id": id, "method": method, "params": params}).to_string())
            .map_err(|e| e.to_string())?;
        let v = tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .map_err(|_| format!("{method}: no answer"))?
            .map_err(|e| e.to_string())?;
        if v["type"] == "error" {
            return Err(format!("{method}: {} {}", v["error"], v["message"]));
        }
        Ok(v["result"].clone())
    }

    /// Events received so far (waits 300 ms for stragglers).
    async fn drain(&self) -> Vec<Value> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut rx = self.events.lock().await;
        let mut all = Vec::new();
        while let Ok(v) = rx.try_recv() {
            all.push(v);
        }
        all
    }
}

/// WebDriver Add Cookie with the body as given.
#[derive(Debug)]
struct AddCookie(Value);

impl fantoccini::wd::WebDriverCompatibleCommand for AddCookie {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/cookie", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

fn report(what: &str, ok: bool, seen: impl std::fmt::Display) {
    println!("{} {what}: {seen}", if ok { "ok     " } else { "FAILED " });
}

async fn switch(c: &Client, handle: &str) -> anyhow::Result<()> {
    c.switch_to_window(fantoccini::wd::WindowHandle::try_from(handle.to_owned())?)
        .await?;
    Ok(())
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| json!(format!("error: {e}")))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let app = helpdesk::serve(helpdesk::Config {
        staging: true,
        ..helpdesk::Config::default()
    })
    .await?;
    let base = app.url().to_string();
    let base = base.trim_end_matches('/');
    let logs = tempfile::tempdir()?;
    let cfg = flows::config::BrowserConfig::default();
    let mut driver =
        flows::exec::browser::Driver::start(&cfg, &logs.path().join("chromedriver.log")).await?;
    let profile = tempfile::tempdir()?;
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("webSocketUrl".into(), json!(true));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.path().display())]}),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await?;
    let ws = c
        .capabilities()
        .and_then(|c| c.get("webSocketUrl"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no webSocketUrl"))?;
    let b = Bidi::connect(&ws).await?;
    let default_window = c.window().await?;
    let uc1 = b
        .cmd("browser.createUserContext", json!({}))
        .await
        .map_err(anyhow::Error::msg)?;
    let uc2 = b
        .cmd("browser.createUserContext", json!({}))
        .await
        .map_err(anyhow::Error::msg)?;
    let (uc1, uc2) = (uc1["userContext"].clone(), uc2["userContext"].clone());
    let t1 = b
        .cmd(
            "browsingContext.create",
            json!({"type": "tab", "userContext": uc1}),
        )
        .await
        .map_err(anyhow::Error::msg)?["context"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let t2 = b
        .cmd(
            "browsingContext.create",
            json!({"type": "tab", "userContext": uc2}),
        )
        .await
        .map_err(anyhow::Error::msg)?["context"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let handles: Vec<String> = c.windows().await?.into_iter().map(String::from).collect();
    report(
        "context ids are window handles",
        handles.contains(&t1) && handles.contains(&t2),
        format!("handles {handles:?}, contexts {t1} {t2}, default {default_window:?}"),
    );

    // Navigation, cookies, localStorage per context.
    switch(&c, &t1).await?;
    c.goto(&format!("{base}/login")).await?;
    js(&c, "document.cookie = 'who=one; path=/'; return 1").await;
    // The runner's own Add Cookie body (saved sessions): raw JSON, no domain for a host cookie.
    let add = c
        .issue_cmd(AddCookie(
            json!({"cookie": {"name": "added", "value": "one", "path": "/"}}),
        ))
        .await;
    report(
        "classic Add Cookie in a user context",
        add.is_ok(),
        format!("{add:?}"),
    );
    js(&c, "localStorage.setItem('who','one'); return 1").await;
    switch(&c, &t2).await?;
    c.goto(&format!("{base}/login")).await?;
    let cookies2: Vec<String> = c
        .get_all_cookies()
        .await?
        .iter()
        .map(|k| k.name().to_owned())
        .collect();
    let storage2 = js(&c, "return localStorage.getItem('who')").await;
    report(
        "cookies isolated (context 2 does not see context 1's)",
        !cookies2.iter().any(|n| n == "who" || n == "added"),
        format!("context 2 cookies {cookies2:?}"),
    );
    report(
        "localStorage isolated",
        storage2.is_null(),
        format!("context 2 sees {storage2}"),
    );
    switch(&c, &t1).await?;
    let cookies1: Vec<String> = c
        .get_all_cookies()
        .await?
        .iter()
        .map(|k| k.name().to_owned())
        .collect();
    report(
        "classic Get All Cookies in context 1 sees its cookies",
        cookies1.contains(&"who".to_owned()) && cookies1.contains(&"added".to_owned()),
        format!("{cookies1:?}"),
    );
    let url1 = c.current_url().await?;
    report("current URL after switch", url1.path() == "/login", url1);
    let shot = c.screenshot().await.map(|p| p.len());
    report(
        "classic screenshot",
        shot.as_ref().is_ok_and(|n| *n > 1000),
        format!("{shot:?}"),
    );
    let bidi_shot = b
        .cmd(
            "browsingContext.captureScreenshot",
            json!({"context": t2, "format": {"type": "image/jpeg", "quality": 0.7}}),
        )
        .await;
    report(
        "BiDi screenshot of the other (background) context",
        bidi_shot.is_ok(),
        bidi_shot.map_or_else(
            |e| e,
            |v| format!("{} base64 chars", v["data"].as_str().map_or(0, str::len)),
        ),
    );

    // File upload: Element Send Keys on a file input.
    let upload = tempfile::NamedTempFile::new()?;
    std::fs::write(upload.path(), b"hello")?;
    js(&c, "const i=document.createElement('input');i.type='file';i.id='f';document.body.append(i);return 1").await;
    let input = c.find(Locator::Css("#f")).await?;
    let sent = input.send_keys(&upload.path().display().to_string()).await;
    let files = js(&c, "return document.getElementById('f').files.length").await;
    report(
        "file upload (send keys)",
        sent.is_ok() && files == json!(1),
        format!("{sent:?}, files {files}"),
    );

    // Downloads per user context.
    let dl1 = tempfile::tempdir()?;
    let set_dl = b
        .cmd(
            "browser.setDownloadBehavior",
            json!({"downloadBehavior": {"type": "allowed", "destinationFolder": dl1.path().display().to_string()}, "userContexts": [uc1]}),
        )
        .await;
    report(
        "browser.setDownloadBehavior per user context",
        set_dl.is_ok(),
        format!("{set_dl:?}"),
    );
    b.cmd(
        "session.subscribe",
        json!({"events": ["browsingContext.downloadEnd", "browsingContext.downloadWillBegin"]}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    c.goto(&format!("{base}/lab/download")).await?;
    js(&c, "const a=document.createElement('a');a.href=URL.createObjectURL(new Blob(['x,y'],{type:'text/csv'}));a.download='t.csv';document.body.append(a);a.click();return 1").await;
    let mut found = Vec::new();
    for _ in 0..50 {
        found = std::fs::read_dir(dl1.path())?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if found.iter().any(|f| f == "t.csv") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let evs = b.drain().await;
    let ends: Vec<_> = evs
        .iter()
        .filter(|e| e["method"] == "browsingContext.downloadEnd")
        .map(|e| e["params"].clone())
        .collect();
    report(
        "download lands in context 1's folder",
        found.iter().any(|f| f == "t.csv"),
        format!("{found:?}; downloadEnd {ends:?}"),
    );

    // Popups: their handle, their user context.
    js(&c, "window.open('/login','_blank'); return 1").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tree = b
        .cmd("browsingContext.getTree", json!({"maxDepth": 0}))
        .await
        .map_err(anyhow::Error::msg)?;
    let tops: Vec<(String, String)> = tree["contexts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["context"].as_str().unwrap_or("").to_owned(),
                        c["userContext"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let popup = tops
        .iter()
        .find(|(id, uc)| id != &t1 && uc == uc1.as_str().unwrap_or(""));
    report(
        "a popup opened in context 1 is in user context 1",
        popup.is_some(),
        format!("{tops:?}"),
    );
    if let Some((p, _)) = popup {
        switch(&c, p).await?;
        let ck: Vec<String> = c
            .get_all_cookies()
            .await?
            .iter()
            .map(|k| k.name().to_owned())
            .collect();
        report(
            "the popup shares context 1's cookies",
            ck.contains(&"who".to_owned()),
            format!("{ck:?}"),
        );
        c.close_window().await?;
        switch(&c, &t1).await?;
    }

    // Viewport, locale, user agent, timezone per context.
    let vp = b
        .cmd(
            "browsingContext.setViewport",
            json!({"context": t1, "viewport": {"width": 390, "height": 600}}),
        )
        .await;
    let size1 = js(&c, "return innerWidth+'x'+innerHeight").await;
    switch(&c, &t2).await?;
    let size2 = js(&c, "return innerWidth+'x'+innerHeight").await;
    report(
        "setViewport per context",
        vp.is_ok() && size1 == json!("390x600") && size2 != json!("390x600"),
        format!("{vp:?} ctx1 {size1} ctx2 {size2}"),
    );
    for (m, p) in [
        (
            "emulation.setLocaleOverride",
            json!({"locale": "de-DE", "userContexts": [uc2]}),
        ),
        (
            "emulation.setUserAgentOverride",
            json!({"userAgent": "flows-spike/1.0", "userContexts": [uc2]}),
        ),
        (
            "emulation.setTimezoneOverride",
            json!({"timezone": "Asia/Tokyo", "userContexts": [uc2]}),
        ),
        (
            "browsingContext.setViewport",
            json!({"viewport": {"width": 500, "height": 500}, "userContexts": [uc2]}),
        ),
    ] {
        let r = b.cmd(m, p).await;
        report(m, r.is_ok(), format!("{r:?}"));
    }
    let extra = b
        .cmd("network.setExtraHeaders", json!({"headers": [{"name": "Accept-Language", "value": {"type": "string", "value": "de-DE,de;q=0.9"}}], "userContexts": [uc2]}))
        .await;
    report(
        "network.setExtraHeaders per user context",
        extra.is_ok(),
        format!("{extra:?}"),
    );
    c.goto(&format!("{base}/lab/whoami")).await?;
    println!(
        "whoami page: {}",
        js(&c, "return document.title + ' ' + location.href").await
    );
    let seen = js(&c, "return [navigator.language, navigator.userAgent, Intl.DateTimeFormat().resolvedOptions().timeZone, innerWidth+'x'+innerHeight, document.querySelector('[data-testid=server-accept-language]').textContent, document.querySelector('[data-testid=server-user-agent]').textContent]").await;
    report(
        "context 2 after emulation (lang, UA, tz, viewport, server AL, server UA)",
        seen[0] == "de-DE" && seen[1] == "flows-spike/1.0",
        &seen,
    );
    let tab3 = b
        .cmd(
            "browsingContext.create",
            json!({"type": "tab", "userContext": uc2}),
        )
        .await
        .map_err(anyhow::Error::msg)?;
    switch(&c, tab3["context"].as_str().unwrap_or_default()).await?;
    c.goto(&format!("{base}/lab/whoami")).await?;
    let seen3 = js(&c, "return [navigator.language, navigator.userAgent, innerWidth+'x'+innerHeight, document.querySelector('[data-testid=server-accept-language]').textContent]").await;
    report(
        "a new tab of user context 2 inherits the emulation",
        seen3[0] == "de-DE",
        &seen3,
    );
    switch(&c, &t1).await?;
    c.goto(&format!("{base}/lab/whoami")).await?;
    let seen1 = js(&c, "return [navigator.language, navigator.userAgent, Intl.DateTimeFormat().resolvedOptions().timeZone, document.querySelector('[data-testid=server-accept-language]').textContent]").await;
    report(
        "context 1 untouched by context 2's emulation",
        seen1[0] != "de-DE",
        &seen1,
    );

    // Event subscriptions filtered by user context, on separate connections.
    let b1 = Bidi::connect(&ws).await;
    match b1 {
        Err(e) => report("a second BiDi connection to the session", false, e),
        Ok(b1) => {
            let sub = b1
                .cmd(
                    "session.subscribe",
                    json!({"events": ["log.entryAdded"], "userContexts": [uc1]}),
                )
                .await;
            report(
                "session.subscribe with userContexts",
                sub.is_ok(),
                format!("{sub:?}"),
            );
            js(&c, "console.log('from-one'); return 1").await;
            switch(&c, &t2).await?;
            js(&c, "console.log('from-two'); return 1").await;
            let texts: Vec<String> = b1
                .drain()
                .await
                .iter()
                .filter_map(|e| e["params"]["text"].as_str().map(str::to_owned))
                .collect();
            report(
                "connection 1 sees only user context 1's console",
                texts == ["from-one"],
                format!("{texts:?}"),
            );
        }
    }
    let removed = b
        .cmd("browser.removeUserContext", json!({"userContext": uc2}))
        .await;
    let after: Vec<String> = c.windows().await?.into_iter().map(String::from).collect();
    report(
        "removeUserContext closes its tabs",
        removed.is_ok() && !after.contains(&t2),
        format!("{removed:?} handles now {after:?}"),
    );
    let _ = c.close().await;
    driver.stop(false).await;
    Ok(())
}
