//! WebDriver BiDi: the browser says what happened instead of being asked.
//!
//! A session created with `webSocketUrl: true` has a websocket next to the classic endpoint.
//! Commands stay on classic WebDriver (one HTTP round trip each); the websocket carries events:
//! - a prompt opened or closed, a window created or loaded, a download ended: these wake the
//!   `dialog`, `window` and `download` steps that wait for them, so none of them polls;
//! - console messages and network responses, kept for the step's trace when tracing is on.
//!
//! One command goes over the socket: `--trace on` frames (`browsingContext.captureScreenshot`),
//! because a capture waits ~50 ms for the browser's next frame, and over BiDi that wait runs
//! beside the classic commands instead of holding the session.
//!
//! One reader task owns the socket. Steps see events through a watch channel per [`Topic`]
//! and a bounded buffer of [`PageEvent`]s; nothing here is on a step's path except a lock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::film::{self, Film};
use crate::events::{ConsoleEntry, NetworkEntry};

/// Events every session subscribes to: they drive waits.
const WAIT_EVENTS: &[&str] = &[
    "browsingContext.userPromptOpened",
    "browsingContext.userPromptClosed",
    "browsingContext.contextCreated",
    "browsingContext.contextDestroyed",
    "browsingContext.domContentLoaded",
    "browsingContext.load",
    "browsingContext.downloadEnd",
];

/// Events for the trace, subscribed to only when tracing is on.
const PAGE_EVENTS: &[&str] = &[
    "log.entryAdded",
    "network.responseCompleted",
    "network.fetchError",
];

/// Chrome's screencast frames, through chromedriver's CDP passthrough over BiDi.
const SCREENCAST_FRAME: &str = "goog:cdp.Page.screencastFrame";

/// Page events kept for the trace; older ones are dropped (a step reads its own soon after).
const KEEP_PAGE_EVENTS: usize = 1000;
/// Long URLs (`data:`) are cut in the trace.
const MAX_URL_CHARS: usize = 400;
const MAX_TEXT_CHARS: usize = 2000;
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// What a waiting step is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// An alert, confirm or prompt opened or closed.
    Dialog,
    /// A window or tab was created, closed, or loaded a page.
    Window,
    /// A download ended (complete or canceled).
    Download,
}

/// A console message or a finished request, as the browser reported it (not yet redacted).
#[derive(Debug, Clone)]
pub enum PageEvent {
    Console(ConsoleEntry),
    Network(NetworkEntry),
}

/// Per browsing context: its screencast's CDP session and film, or `None` (could not start).
type Films = HashMap<String, Option<(String, Arc<Film>)>>;

struct Shared {
    dialog: watch::Sender<u64>,
    window: watch::Sender<u64>,
    download: watch::Sender<u64>,
    /// False once the socket is gone: waiters go back to polling.
    alive: AtomicBool,
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>,
    next_id: AtomicU64,
    page_events: Mutex<PageEvents>,
    /// Screencasts for `--trace on` frames, per browsing context: its CDP session and film
    /// (`None`: the browser could not start one; not tried again).
    films: Mutex<Films>,
    /// Where `script.message` events and top-level `contextDestroyed` go, once asked for
    /// ([`Bidi::forward_script_messages`], the recorder); dropped when the socket closes.
    forward: Mutex<Option<mpsc::UnboundedSender<(String, Value)>>>,
}

#[derive(Default)]
struct PageEvents {
    /// Sequence number of the next event.
    next: u64,
    kept: VecDeque<(u64, PageEvent)>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            dialog: watch::channel(0).0,
            window: watch::channel(0).0,
            download: watch::channel(0).0,
            alive: AtomicBool::new(true),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            page_events: Mutex::new(PageEvents::default()),
            films: Mutex::new(HashMap::new()),
            forward: Mutex::new(None),
        }
    }

    /// Hands `script.message` and the closing of a top-level window to the forward channel.
    fn forward(&self, method: &str, params: &Value) {
        let top_closed = method == "browsingContext.contextDestroyed" && params["parent"].is_null();
        if method != "script.message" && !top_closed {
            return;
        }
        let forward = self.forward.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = forward.as_ref() {
            let _ = tx.send((method.to_owned(), params.clone()));
        }
    }

    fn topic(&self, topic: Topic) -> &watch::Sender<u64> {
        match topic {
            Topic::Dialog => &self.dialog,
            Topic::Window => &self.window,
            Topic::Download => &self.download,
        }
    }

    fn bump(&self, topic: Topic) {
        self.topic(topic).send_modify(|n| *n += 1);
    }

    fn keep(&self, event: PageEvent) {
        let mut page = self.page_events.lock().unwrap_or_else(|e| e.into_inner());
        let seq = page.next;
        page.next += 1;
        if page.kept.len() == KEEP_PAGE_EVENTS {
            page.kept.pop_front();
        }
        page.kept.push_back((seq, event));
    }

    fn dispatch(&self, method: &str, params: &Value) {
        self.forward(method, params);
        match method {
            "browsingContext.userPromptOpened" | "browsingContext.userPromptClosed" => {
                self.bump(Topic::Dialog)
            }
            "browsingContext.contextDestroyed" => {
                if let Some(context) = params["context"].as_str() {
                    self.forget_film(context);
                }
                self.bump(Topic::Window)
            }
            "browsingContext.contextCreated"
            | "browsingContext.domContentLoaded"
            | "browsingContext.load" => self.bump(Topic::Window),
            "browsingContext.downloadEnd" => self.bump(Topic::Download),
            "log.entryAdded" => self.keep(PageEvent::Console(console_entry(params))),
            "network.responseCompleted" | "network.fetchError" => {
                self.keep(PageEvent::Network(network_entry(params)))
            }
            _ => {}
        }
    }

    /// A screencast frame (`goog:cdp.Page.screencastFrame`): onto its film, and the
    /// acknowledgement Chrome waits for before it sends the next.
    fn screencast_frame(&self, params: &Value) -> Option<String> {
        let cdp_session = params["session"].as_str()?;
        let frame = &params["params"];
        let ack = json!({
            "id": self.next_id.fetch_add(1, Ordering::SeqCst),
            "method": "goog:cdp.sendCommand",
            "params": {
                "method": "Page.screencastFrameAck",
                "params": { "sessionId": frame["sessionId"] },
                "session": cdp_session,
            },
        })
        .to_string();
        let film = self
            .films
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .flatten()
            .find(|(s, _)| s == cdp_session)
            .map(|(_, f)| f.clone());
        if let (Some(film), Some(painted), Some(data)) = (
            film,
            frame["metadata"]["timestamp"].as_f64(),
            frame["data"].as_str(),
        ) {
            film::write(film.frame(painted, film::now(), Arc::from(data)));
        }
        Some(ack)
    }

    /// `context`'s page is closed: its film is dropped, and a mark still waiting gets the last
    /// frame the page painted (nothing later can come).
    fn forget_film(&self, context: &str) {
        let gone = self
            .films
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(context);
        if let Some(Some((_, film))) = gone {
            film.stamp_open(film::now());
            film::write(film.expire());
        }
    }

    /// The socket is gone: fail pending commands and wake every waiter (they poll from now).
    fn closed(&self) {
        self.alive.store(false, Ordering::SeqCst);
        // The forward channel's receiver sees its end: the browser is gone.
        self.forward
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let pending: Vec<_> = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for (_, tx) in pending {
            let _ = tx.send(Err("the BiDi connection closed".to_owned()));
        }
        for topic in [Topic::Dialog, Topic::Window, Topic::Download] {
            self.bump(topic);
        }
    }
}

/// A session's BiDi connection. Dropping it stops the reader.
pub struct Bidi {
    shared: Arc<Shared>,
    outgoing: mpsc::UnboundedSender<String>,
    reader: tokio::task::JoinHandle<()>,
    page_events: AtomicBool,
    /// The first page event not yet taken by a step.
    taken_to: AtomicU64,
    screencast_subscribed: AtomicBool,
    /// The user context whose events this connection hears (`None`: the whole session).
    scope: Option<String>,
}

impl Drop for Bidi {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Bidi {
    /// Connects to the session's `webSocketUrl` and subscribes to the events waits use.
    pub async fn connect(url: &str) -> Result<Bidi, String> {
        let bidi = Bidi::connect_quiet(url, None).await?;
        bidi.subscribe(WAIT_EVENTS).await?;
        Ok(bidi)
    }

    /// A connection of its own for one user context of a shared browser: it hears only that
    /// user's windows (events are subscribed with `userContexts`), so its waits and traces see
    /// nothing of the other users.
    pub async fn connect_for_user_context(url: &str, user_context: &str) -> Result<Bidi, String> {
        let bidi = Bidi::connect_quiet(url, Some(user_context.to_owned())).await?;
        bidi.subscribe(WAIT_EVENTS).await?;
        Ok(bidi)
    }

    /// A connection subscribed to nothing: for commands (a shared browser's user contexts).
    pub async fn connect_quiet(url: &str, scope: Option<String>) -> Result<Bidi, String> {
        let (ws, _) = tokio::time::timeout(COMMAND_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| format!("no answer from {url} within 10s"))?
            .map_err(|e| e.to_string())?;
        let shared = Arc::new(Shared::new());
        let (outgoing, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_events(ws, rx, shared.clone()));
        let bidi = Bidi {
            shared,
            outgoing,
            reader,
            page_events: AtomicBool::new(false),
            taken_to: AtomicU64::new(0),
            screencast_subscribed: AtomicBool::new(false),
            scope,
        };
        Ok(bidi)
    }

    /// Also keeps console messages and network responses (for traces).
    pub async fn capture_page_events(&self) -> Result<(), String> {
        self.subscribe(PAGE_EVENTS).await?;
        self.page_events.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn subscribe(&self, events: &[&str]) -> Result<(), String> {
        let mut params = json!({ "events": events });
        if let Some(scope) = &self.scope {
            params["userContexts"] = json!([scope]);
        }
        self.command("session.subscribe", params).await.map(|_| ())
    }

    /// Subscribes to `script.message` (what a preload script sends over a `channel` argument)
    /// and returns where those messages arrive, with `browsingContext.contextDestroyed` of
    /// top-level windows; the channel ends when the BiDi connection closes. For `flows record`.
    pub async fn forward_script_messages(
        &self,
    ) -> Result<mpsc::UnboundedReceiver<(String, Value)>, String> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self
            .shared
            .forward
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(tx);
        self.subscribe(&["script.message"]).await?;
        Ok(rx)
    }

    /// One BiDi command and its `result` (10 s at most).
    pub(crate) async fn command(&self, method: &str, params: Value) -> Result<Value, String> {
        send_command(&self.shared, &self.outgoing, method, params).await
    }

    /// `browsingContext.captureScreenshot` of `context`'s viewport in `mime` (decoded bytes),
    /// as a future that owns what it needs: it may run while classic commands go on.
    pub fn capture_screenshot_owned(
        &self,
        context: String,
        mime: &str,
        quality: f64,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, String>> + Send + 'static {
        let shared = self.shared.clone();
        let outgoing = self.outgoing.clone();
        let params = json!({ "context": context, "format": { "type": mime, "quality": quality } });
        async move {
            use base64::Engine;
            let v = send_command(
                &shared,
                &outgoing,
                "browsingContext.captureScreenshot",
                params,
            )
            .await?;
            let data = v
                .get("data")
                .and_then(Value::as_str)
                .ok_or("captureScreenshot: no data")?;
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| e.to_string())
        }
    }

    /// The film of `context`'s screencast (JPEG at `quality`), started on first use: two
    /// commands once per page. `None` when the browser cannot (not Chrome, or no CDP over BiDi).
    pub async fn film(&self, context: &str, quality: u8) -> Option<Arc<Film>> {
        if let Some(known) = self.films().get(context) {
            return known.as_ref().map(|(_, f)| f.clone());
        }
        let started = self.start_film(context, quality).await;
        if let Err(e) = &started {
            tracing::debug!("no screencast for trace frames ({e}): frames are captured");
        }
        let started = started.ok();
        self.films().insert(context.to_owned(), started.clone());
        started.map(|(_, f)| f)
    }

    async fn start_film(&self, context: &str, quality: u8) -> Result<(String, Arc<Film>), String> {
        if !self.screencast_subscribed.swap(true, Ordering::SeqCst) {
            self.subscribe(&[SCREENCAST_FRAME]).await?;
        }
        let session = self
            .command("goog:cdp.getSession", json!({ "context": context }))
            .await?
            .get("session")
            .and_then(Value::as_str)
            .ok_or("goog:cdp.getSession: no session")?
            .to_owned();
        let film = Film::new();
        // Known before the first frame can arrive.
        self.films()
            .insert(context.to_owned(), Some((session.clone(), film.clone())));
        let params = json!({
            "method": "Page.startScreencast",
            "params": screencast_params(quality),
            "session": session,
        });
        if let Err(e) = self.command("goog:cdp.sendCommand", params).await {
            self.films().remove(context);
            return Err(e);
        }
        Ok((session, film))
    }

    fn films(&self) -> std::sync::MutexGuard<'_, Films> {
        self.shared.films.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A command that can change the page is about to go: every film's open marks show the
    /// page as it is now.
    pub fn stamp_films(&self) {
        let films = self.films();
        if films.is_empty() {
            return;
        }
        let now = film::now();
        for (_, f) in films.values().flatten() {
            f.stamp_open(now);
        }
    }

    /// Whether a screencast mark still waits for its frame.
    pub fn films_waiting(&self) -> bool {
        self.films().values().flatten().any(|(_, f)| f.waiting())
    }

    /// A secret is about to be typed: every mark is settled now, with the frame before it or
    /// with `look` (the page of `context`, taken before the secret is typed); no screencast
    /// frame painted later is kept, and the screencasts stop (not waiting for the browser).
    pub fn stop_films(&self, now: f64, context: Option<&str>, look: Option<Arc<str>>) {
        for (ctx, known) in self.films().iter() {
            let Some((session, f)) = known else { continue };
            let look = look.clone().filter(|_| Some(ctx.as_str()) == context);
            film::write(f.stop(now, look));
            let text = json!({
                "id": self.shared.next_id.fetch_add(1, Ordering::SeqCst),
                "method": "goog:cdp.sendCommand",
                "params": { "method": "Page.stopScreencast", "params": {}, "session": session },
            })
            .to_string();
            let _ = self.outgoing.send(text);
        }
    }

    /// The page of `context` no longer shows a secret: its screencast (stopped by
    /// [`Self::stop_films`]) starts again, one command. `false` when it could not. A page
    /// with no screencast yet has nothing to resume: its film starts on first use.
    pub async fn resume_film(&self, context: &str, quality: u8) -> bool {
        let known = self.films().get(context).cloned().flatten();
        let Some((session, film)) = known else {
            return true;
        };
        if film.usable() {
            return true;
        }
        let now = film::now();
        let params = json!({
            "method": "Page.startScreencast",
            "params": screencast_params(quality),
            "session": session,
        });
        // Resumed before the command: its first frame may arrive before the answer.
        film.resume(now);
        match self.command("goog:cdp.sendCommand", params).await {
            Ok(_) => true,
            Err(e) => {
                tracing::debug!("screencast not resumed ({e}): frames stay captured");
                film::write(film.stop(film::now(), None));
                false
            }
        }
    }

    pub fn watch(&self, topic: Topic) -> EventWatch {
        EventWatch::events(self.shared.topic(topic).subscribe(), self.shared.clone())
    }

    /// Forgets the page events so far (a new flow starts).
    pub fn skip_page_events(&self) {
        let page = self
            .shared
            .page_events
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        self.taken_to.store(page.next, Ordering::SeqCst);
    }

    /// Console messages and finished requests since the last take: a step takes what its
    /// page did, including what the browser reported only after the step's answer came back.
    /// `None` when they are not captured (tracing off, or the connection is gone), never an
    /// invented empty list.
    pub fn take_page_events(&self) -> Option<Vec<PageEvent>> {
        if !self.page_events.load(Ordering::SeqCst) || !self.shared.alive.load(Ordering::SeqCst) {
            return None;
        }
        let page = self
            .shared
            .page_events
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let from = self.taken_to.swap(page.next, Ordering::SeqCst);
        Some(
            page.kept
                .iter()
                .filter(|(seq, _)| *seq >= from)
                .map(|(_, e)| e.clone())
                .collect(),
        )
    }
}

/// Wakes a waiting step when its topic has news, or backs off when there is no BiDi.
pub struct EventWatch {
    events: Option<(watch::Receiver<u64>, Arc<Shared>)>,
    pause: Duration,
}

impl EventWatch {
    fn events(rx: watch::Receiver<u64>, shared: Arc<Shared>) -> EventWatch {
        EventWatch {
            events: Some((rx, shared)),
            pause: Duration::from_millis(10),
        }
    }

    /// No event source (a driver without BiDi): [`EventWatch::next`] pauses 10 ms, growing to
    /// 100 ms.
    pub fn polling() -> EventWatch {
        EventWatch {
            events: None,
            pause: Duration::from_millis(10),
        }
    }

    /// Whether the browser wakes this watch (false: it polls).
    pub fn is_event_driven(&self) -> bool {
        self.events
            .as_ref()
            .is_some_and(|(_, s)| s.alive.load(Ordering::SeqCst))
    }

    /// Returns when the topic had news since the watch was made or last woke (true), or at
    /// `deadline`, or after a pause when polling (false). The caller checks the state again
    /// either way. Made before the action that causes the event, a watch cannot miss it.
    pub async fn next(&mut self, deadline: Instant) -> bool {
        if self.is_event_driven() {
            if let Some((rx, _)) = self.events.as_mut() {
                return matches!(
                    tokio::time::timeout_at(deadline, rx.changed()).await,
                    Ok(Ok(()))
                );
            }
        }
        tokio::time::sleep_until(deadline.min(Instant::now() + self.pause)).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(100));
        false
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn read_events(
    mut ws: Socket,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    shared: Arc<Shared>,
) {
    loop {
        tokio::select! {
            out = outgoing.recv() => match out {
                Some(text) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = handle_message(&shared, text.as_str()) {
                        if ws.send(Message::text(reply)).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    shared.closed();
}

/// Sends one command on the socket and waits for its answer (10 s at most).
async fn send_command(
    shared: &Shared,
    outgoing: &mpsc::UnboundedSender<String>,
    method: &str,
    params: Value,
) -> Result<Value, String> {
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let (tx, rx) = oneshot::channel();
    shared
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, tx);
    let text = json!({ "id": id, "method": method, "params": params }).to_string();
    if outgoing.send(text).is_err() {
        return Err("the BiDi connection is closed".to_owned());
    }
    match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
        Ok(Ok(answer)) => answer.map_err(|e| format!("{method}: {e}")),
        Ok(Err(_)) => Err("the BiDi connection closed".to_owned()),
        Err(_) => Err(format!("{method}: no answer within 10s")),
    }
}

/// Routes one message from the browser; returns what must be sent back at once (a screencast
/// frame's acknowledgement).
fn handle_message(shared: &Shared, text: &str) -> Option<String> {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let tx = shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        if let Some(tx) = tx {
            let answer = if message.get("type").and_then(Value::as_str) == Some("error") {
                Err(format!(
                    "{}: {}",
                    message["error"].as_str().unwrap_or("error"),
                    message["message"].as_str().unwrap_or_default()
                ))
            } else {
                Ok(message.get("result").cloned().unwrap_or(Value::Null))
            };
            let _ = tx.send(answer);
        }
        return None;
    }
    let method = message.get("method").and_then(Value::as_str)?;
    let params = message.get("params").unwrap_or(&Value::Null);
    if method == SCREENCAST_FRAME {
        return shared.screencast_frame(params);
    }
    shared.dispatch(method, params);
    None
}

fn console_entry(params: &Value) -> ConsoleEntry {
    let level = params["level"].as_str().unwrap_or("info").to_owned();
    let mut text = params["text"].as_str().unwrap_or_default().to_owned();
    if params["type"].as_str() == Some("javascript") {
        text = format!("uncaught: {text}");
    }
    ConsoleEntry {
        level,
        text: cut(&text, MAX_TEXT_CHARS),
    }
}

fn network_entry(params: &Value) -> NetworkEntry {
    let request = &params["request"];
    let timings = &request["timings"];
    let ms = |k: &str| timings[k].as_f64().filter(|v| *v > 0.0);
    // Timings are relative to the request's time origin; the earliest one set is its start.
    let start = ms("fetchStart").or(ms("requestStart"));
    let duration_ms = match (ms("responseEnd"), start) {
        (Some(end), Some(start)) if end >= start => Some((end - start).round() as u64),
        (Some(end), None) => Some(end.round() as u64),
        _ => None,
    };
    NetworkEntry {
        method: request["method"].as_str().unwrap_or("GET").to_owned(),
        url: cut(request["url"].as_str().unwrap_or_default(), MAX_URL_CHARS),
        status: params["response"]["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok()),
        duration_ms,
        error: params["errorText"].as_str().map(str::to_owned),
    }
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Screencast frames fit in this many pixels each way, as Playwright's trace frames do: the
/// trace viewer shows two side by side at about that size, and Chrome's scaling and encoding
/// of each frame costs less (docs/performance.md). Failure screenshots stay full size.
const SCREENCAST_MAX_SIZE: u32 = 800;

fn screencast_params(quality: u8) -> Value {
    json!({
        "format": "jpeg",
        "quality": quality,
        "maxWidth": SCREENCAST_MAX_SIZE,
        "maxHeight": SCREENCAST_MAX_SIZE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_entries_read_status_duration_and_errors() {
        let done = network_entry(&json!({
            "request": { "method": "POST", "url": "http://a/x",
                "timings": { "fetchStart": 0, "requestStart": 0.5, "responseEnd": 18.2 } },
            "response": { "status": 201 }
        }));
        assert_eq!(
            (
                done.method.as_str(),
                done.status,
                done.duration_ms,
                done.error
            ),
            ("POST", Some(201), Some(18), None)
        );
        let failed = network_entry(&json!({
            "request": { "method": "GET", "url": "http://a/y", "timings": {} },
            "errorText": "net::ERR_CONNECTION_REFUSED"
        }));
        assert_eq!(failed.status, None);
        assert_eq!(failed.duration_ms, None);
        assert_eq!(failed.error.as_deref(), Some("net::ERR_CONNECTION_REFUSED"));
        let long = network_entry(&json!({ "request": { "url": "data:".repeat(200) } }));
        assert_eq!(long.url.chars().count(), MAX_URL_CHARS + 1);
    }

    #[test]
    fn console_entries_mark_uncaught_errors() {
        let e = console_entry(&json!({ "level": "error", "type": "javascript", "text": "boom" }));
        assert_eq!(
            (e.level.as_str(), e.text.as_str()),
            ("error", "uncaught: boom")
        );
        let log = console_entry(&json!({ "level": "info", "type": "console", "text": "hi" }));
        assert_eq!(log.text, "hi");
    }

    /// A connection whose page `ctx` is filmed over the CDP session `cdp-1`.
    fn filmed() -> (Shared, Arc<Film>) {
        let shared = Shared::new();
        let film = Film::new();
        shared
            .films
            .lock()
            .expect("films")
            .insert("ctx".into(), Some(("cdp-1".into(), film.clone())));
        (shared, film)
    }

    #[tokio::test]
    async fn a_screencast_frame_is_acknowledged_and_settles_its_films_marks() {
        let (shared, film) = filmed();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("01-after.jpg");
        let written = film.open(path.clone(), film::now() - 0.2);
        film.stamp_open(film::now() - 0.1);
        let frame = |ts: f64, data: &str| {
            json!({ "method": SCREENCAST_FRAME, "params": { "session": "cdp-1", "params": {
                "data": data, "sessionId": 7, "metadata": { "timestamp": ts } } } })
            .to_string()
        };
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let ack = handle_message(&shared, &frame(film::now() - 0.15, &b64("before")))
            .expect("an acknowledgement");
        let ack: Value = serde_json::from_str(&ack).expect("json");
        assert_eq!(ack["method"], "goog:cdp.sendCommand");
        assert_eq!(ack["params"]["method"], "Page.screencastFrameAck");
        assert_eq!(ack["params"]["params"]["sessionId"], 7);
        assert_eq!(ack["params"]["session"], "cdp-1");
        assert!(film.waiting(), "painted before the stamp: the mark waits");
        handle_message(&shared, &frame(film::now(), &b64("after")));
        written.await.expect("the mark's frame is written");
        assert_eq!(std::fs::read(&path).expect("frame file"), b"before");
    }

    #[tokio::test]
    async fn a_closed_page_drops_its_film_and_settles_its_marks_with_its_last_frame() {
        let (shared, film) = filmed();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("01-after.jpg");
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode("last look");
        let frame = json!({ "method": SCREENCAST_FRAME, "params": { "session": "cdp-1", "params": {
            "data": data, "sessionId": 1, "metadata": { "timestamp": film::now() } } } });
        handle_message(&shared, &frame.to_string());
        let written = film.open(path.clone(), film::now());
        let closed = json!({ "method": "browsingContext.contextDestroyed",
            "params": { "context": "ctx" } });
        handle_message(&shared, &closed.to_string());
        assert!(
            shared.films.lock().expect("films").is_empty(),
            "the closed page's film is dropped"
        );
        written.await.expect("the mark is settled");
        assert_eq!(std::fs::read(&path).expect("frame file"), b"last look");
        let other = json!({ "method": "browsingContext.contextDestroyed",
            "params": { "context": "never-filmed" } });
        handle_message(&shared, &other.to_string());
    }

    #[tokio::test]
    async fn the_buffer_keeps_the_newest_events_and_reads_from_a_mark() {
        let (outgoing, _rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::new());
        let bidi = Bidi {
            shared: shared.clone(),
            outgoing,
            reader: tokio::spawn(async {}),
            page_events: AtomicBool::new(true),
            taken_to: AtomicU64::new(0),
            screencast_subscribed: AtomicBool::new(false),
            scope: None,
        };
        for i in 0..KEEP_PAGE_EVENTS + 5 {
            handle_message(
                &shared,
                &json!({ "method": "log.entryAdded", "params": { "level": "info", "text": format!("m{i}") } })
                    .to_string(),
            );
        }
        let all = bidi.take_page_events().expect("captured");
        assert_eq!(all.len(), KEEP_PAGE_EVENTS);
        assert!(matches!(&all[0], PageEvent::Console(c) if c.text == "m5"));
        assert!(bidi.take_page_events().expect("captured").is_empty());
        let log = |text: &str| {
            json!({ "method": "log.entryAdded", "params": { "level": "info", "text": text } })
                .to_string()
        };
        handle_message(&shared, &log("before the flow"));
        bidi.skip_page_events();
        handle_message(&shared, &log("late"));
        let taken = bidi.take_page_events().expect("captured");
        assert!(
            matches!(taken.as_slice(), [PageEvent::Console(c)] if c.text == "late"),
            "{taken:?}"
        );
        shared.closed();
        assert!(
            bidi.take_page_events().is_none(),
            "a closed connection captures nothing"
        );
    }

    #[tokio::test]
    async fn a_watch_made_before_the_event_wakes_for_it() {
        let shared = Arc::new(Shared::new());
        let mut w = EventWatch::events(shared.dialog.subscribe(), shared.clone());
        shared.dispatch("browsingContext.userPromptOpened", &Value::Null);
        // The event came before `next`: it returns at once instead of at the (far) deadline.
        let far = Instant::now() + Duration::from_secs(3600);
        let woken = tokio::time::timeout(Duration::from_secs(60), w.next(far))
            .await
            .expect("woken by the event");
        assert!(woken);
        assert!(w.is_event_driven());
        shared.closed();
        assert!(
            !w.is_event_driven(),
            "a closed connection falls back to polling"
        );
    }
}
