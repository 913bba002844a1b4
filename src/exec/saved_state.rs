//! Saved sessions during a run: what `--no-deps` reuses instead of logging in again.
//!
//! - **Save.** After a flow passes, each user it used who has a browser session on the base
//!   URL's origin gets their cookies (WebDriver Get All Cookies) and localStorage saved to
//!   `<state dir>/state/<profile>/<user>.json`, and the flow's non-secret captures to
//!   `captures.json` beside it. With `[sessions] check_url`, a session that no longer answers
//!   2xx there (the flow logged the user out) is removed instead of saved.
//! - **Decide, before the run starts** ([`preflight`]). For each planned flow whose needs are
//!   not in the plan, the users it shares with those needs must have a saved session that is
//!   for this origin and account, has unexpired cookies and answers 2xx at `check_url` (an HTTP
//!   request with the saved cookies, no redirects followed); the needs' non-secret captures must
//!   be saved too. If so, the needs stay out and the sessions are restored; if not, the run says
//!   why and adds those needs back to the plan (what it would have run without `--no-deps`).
//! - **Restore** ([`restore_into`]), when the user's browser session is first opened: navigate
//!   to the origin, replace the cookies, restore localStorage.
//!
//! Cookie values are secrets: every value read or loaded is registered with the redactor, and
//! nothing here ever writes under the output directory.

use crate::net::Http;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::browser::{BrowserError, BrowserSession};
use super::vars::Vars;
use crate::config::Config;
use crate::flowfile::ast::SessionMode;
use crate::flowfile::check::{CheckedFlow, Suite};
use crate::flowfile::template::Resolved;
use crate::plan::Plan;
use crate::redact::Redactor;
use crate::state::{
    CaptureStore, FlowCaptures, SavedCaptures, SavedCookie, SavedSession, SessionStore,
};

/// What the run does about flows left out of the plan, decided before it starts.
pub struct Preflight {
    /// The plan to run: the given one, plus the needs whose saved state could not be reused.
    pub plan: Plan,
    /// Users whose browser session starts from their saved session.
    pub restore: HashMap<String, SavedSession>,
    /// Saved captures of the flows left out: (flow, variable, value).
    pub captures: Vec<(String, String, String)>,
    /// What to tell the person, per flow (`None`: the run as a whole).
    pub notices: Vec<(Option<String>, String)>,
}

/// Every user a flow acts as: its `user`, and any `as:` of its steps.
pub fn users_of(flow: &CheckedFlow) -> BTreeSet<String> {
    let mut users: BTreeSet<String> = flow.ast.user.iter().map(|u| u.value.clone()).collect();
    for planned in &flow.steps {
        if let Some(u) = planned.step.value.as_user() {
            users.insert(u.value.clone());
        }
    }
    users
}

/// `scheme://host:port` of a URL (`None` if it does not parse).
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A client for `check_url`: redirects are not followed (a signed-out user is usually
/// redirected to a login page that answers 200).
fn check_client(config: &Config, base_url: &str) -> Http {
    Http::with_builder(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("flows/", env!("CARGO_PKG_VERSION"))),
        &[Some(base_url), config.api_url.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
        config.basic_auth.as_ref(),
        config.accept_invalid_certs,
    )
}

fn resolve(base_url: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else if url.starts_with('/') {
        format!("{base_url}{url}")
    } else {
        format!("{base_url}/{url}")
    }
}

/// Does `check_url` answer 2xx with these cookies? `Err` says what it answered instead.
async fn check_signed_in(
    client: &Http,
    base_url: &str,
    check_url: &str,
    cookie_header: &str,
) -> Result<(), String> {
    let url = resolve(base_url, check_url);
    let resp = client
        .get(&url)
        .header("Accept", "application/json")
        .header("Cookie", cookie_header)
        .send()
        .await
        .map_err(|e| format!("GET {check_url} failed: {e}"))?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("GET {check_url} → {}", status.as_u16()))
    }
}

/// Loads and checks one user's saved session for this run.
async fn validate(
    config: &Config,
    store: &SessionStore,
    user: &str,
    origin: &str,
    base_url: &str,
    client: &Http,
    redactor: &Redactor,
) -> Result<SavedSession, String> {
    let path = store.path_of(user);
    let mut saved = match store.load(user) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(format!(
                "no saved session of {user} ({}; a passing run saves one)",
                path.display()
            ))
        }
        Err(e) => return Err(format!("the saved session of {user} is unreadable: {e}")),
    };
    for s in saved.secrets() {
        redactor.add(s);
    }
    if let Some(u) = config.user(user) {
        if u.email != saved.email {
            return Err(format!(
                "the saved session of {user} is {}'s, the config now says {}",
                saved.email, u.email
            ));
        }
    }
    if saved.origin != origin {
        return Err(format!(
            "the saved session of {user} is for {}, this run targets {origin}",
            saved.origin
        ));
    }
    let now = now_unix();
    saved.cookies.retain(|c| !c.expired(now));
    if saved.cookies.is_empty() {
        return Err(format!(
            "the saved session of {user} has expired (saved {} after {})",
            saved.saved_at, saved.flow
        ));
    }
    if let Some(check) = &config.sessions.check_url {
        check_signed_in(client, base_url, check, &saved.cookie_header(now))
            .await
            .map_err(|why| {
                format!(
                    "the saved session of {user} is no longer valid ({why}; saved {} after {})",
                    saved.saved_at, saved.flow
                )
            })?;
    }
    Ok(saved)
}

fn ids(suite: &Suite, flows: &BTreeSet<usize>) -> String {
    flows
        .iter()
        .map(|&i| suite.flows[i].ast.id.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decides, before the run starts, what replaces the flows left out of the plan.
pub async fn preflight(
    config: &Config,
    suite: &Suite,
    plan: &Plan,
    base_url: &str,
    redactor: &Redactor,
) -> Preflight {
    let mut out = Preflight {
        plan: plan.clone(),
        restore: HashMap::new(),
        captures: Vec::new(),
        notices: Vec::new(),
    };
    let missing = plan.missing_needs(suite);
    if missing.is_empty() {
        return out;
    }
    let Some(origin) = origin_of(base_url) else {
        return out;
    };
    let store = SessionStore::new(&config.state_dir, &config.profile);
    let captures_store = CaptureStore::new(store.dir());
    let saved_captures = captures_store.load().unwrap_or_else(|e| {
        out.notices
            .push((None, format!("saved captures ignored: {e}")));
        SavedCaptures::default()
    });
    let client = check_client(config, base_url);
    let mut checked: HashMap<String, Result<SavedSession, String>> = HashMap::new();
    let mut fallback: Vec<usize> = Vec::new();
    let mut restore: HashMap<String, SavedSession> = HashMap::new();
    for (f, needs) in &missing {
        let flow = &suite.flows[*f];
        let left_out = plan.closure_outside(suite, needs);
        let mut shared: BTreeSet<String> = left_out
            .iter()
            .flat_map(|&n| users_of(&suite.flows[n]))
            .collect();
        shared.retain(|u| users_of(flow).contains(u));
        if flow.ast.session == SessionMode::Fresh {
            // Its own user starts logged out anyway.
            if let Some(u) = &flow.ast.user {
                shared.remove(&u.value);
            }
        }
        let mut problems = Vec::new();
        let mut sessions = Vec::new();
        for user in &shared {
            if !checked.contains_key(user) {
                let r = validate(config, &store, user, &origin, base_url, &client, redactor).await;
                checked.insert(user.clone(), r);
            }
            match &checked[user] {
                Ok(s) => sessions.push(s.clone()),
                Err(why) => problems.push(why.clone()),
            }
        }
        let values = saved_values(suite, &left_out, &saved_captures, &origin, &mut problems);
        if problems.is_empty() {
            let reuse = reuse_notice(config, &shared, &sessions);
            out.notices.push((
                Some(flow.id().to_owned()),
                format!("not running {} (--no-deps): {reuse}", ids(suite, &left_out)),
            ));
            for s in sessions {
                restore.insert(s.user.clone(), s);
            }
            out.captures.extend(values);
        } else {
            out.notices.push((
                Some(flow.id().to_owned()),
                format!(
                    "{}; running {} first",
                    problems.join("; "),
                    ids(suite, &left_out)
                ),
            ));
            fallback.extend(needs.iter().copied());
        }
    }
    if !fallback.is_empty() {
        let added = plan.closure_outside(suite, &fallback);
        out.plan = plan.with_added(suite, &fallback);
        // A user that a flow added back logs in (or acts) in this run: start it fresh.
        let acting: BTreeSet<String> = added
            .iter()
            .flat_map(|&n| users_of(&suite.flows[n]))
            .collect();
        restore.retain(|u, _| !acting.contains(u));
        let added_ids: BTreeSet<String> = added
            .iter()
            .map(|&n| suite.flows[n].id().to_owned())
            .collect();
        out.captures
            .retain(|(flow, _, _)| !added_ids.contains(flow));
    }
    out.restore = restore;
    out
}

/// The values the flows left out captured, from the captures saved by an earlier run against
/// the same origin (secrets are never saved); what is missing goes into `problems`.
fn saved_values(
    suite: &Suite,
    left_out: &BTreeSet<usize>,
    saved_captures: &SavedCaptures,
    origin: &str,
    problems: &mut Vec<String>,
) -> Vec<(String, String, String)> {
    let mut values = Vec::new();
    for &n in left_out {
        let need = &suite.flows[n];
        let wanted: Vec<&str> = need
            .captures
            .iter()
            .filter(|(_, info)| !info.secret)
            .map(|(name, _)| name.as_str())
            .collect();
        if wanted.is_empty() {
            continue;
        }
        match saved_captures.flows.get(need.id()) {
            Some(saved) if saved.origin == origin => {
                let lacking: Vec<&str> = wanted
                    .iter()
                    .copied()
                    .filter(|w| !saved.values.contains_key(*w))
                    .collect();
                if lacking.is_empty() {
                    for (k, v) in &saved.values {
                        values.push((need.id().to_owned(), k.clone(), v.clone()));
                    }
                } else {
                    problems.push(format!(
                        "no saved value of {} ({})",
                        need.id(),
                        lacking.join(", ")
                    ));
                }
            }
            _ => problems.push(format!(
                "no saved values of {} ({}) for {origin}",
                need.id(),
                wanted.join(", ")
            )),
        }
    }
    values
}

/// "reusing the saved session of alice (saved … after login)", and whether it was validated.
fn reuse_notice(config: &Config, shared: &BTreeSet<String>, sessions: &[SavedSession]) -> String {
    let users: Vec<&str> = shared.iter().map(String::as_str).collect();
    let reuse = if users.is_empty() {
        "nothing to restore".to_owned()
    } else {
        let what: Vec<String> = sessions
            .iter()
            .map(|s| format!("{} (saved {} after {})", s.user, s.saved_at, s.flow))
            .collect();
        format!("reusing the saved session of {}", what.join(", "))
    };
    let validated = if users.is_empty() || config.sessions.check_url.is_some() {
        String::new()
    } else {
        "; not validated: set [sessions] check_url".to_owned()
    };
    format!("{reuse}{validated}")
}

/// Starts a freshly opened browser session from a saved one: open the origin, replace the
/// cookies, restore localStorage, and check the browser kept the cookies.
pub async fn restore_into(
    session: &BrowserSession,
    saved: &SavedSession,
    base_url: &str,
) -> Result<(), BrowserError> {
    session.goto(&format!("{base_url}/")).await?;
    session.delete_all_cookies().await?;
    let now = now_unix();
    for c in saved.cookies.iter().filter(|c| !c.expired(now)) {
        session.add_cookie(c.to_webdriver()).await?;
    }
    if !saved.local_storage.is_empty() {
        let items: Vec<(String, String)> = saved
            .local_storage
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        session.set_local_storage(&items).await?;
    }
    let names: BTreeSet<String> = session
        .all_cookies()
        .await?
        .iter()
        .filter_map(|c| c.get("name")?.as_str().map(str::to_owned))
        .collect();
    let lost: Vec<&str> = saved
        .cookies
        .iter()
        .filter(|c| !c.expired(now) && !names.contains(&c.name))
        .map(|c| c.name.as_str())
        .collect();
    if !lost.is_empty() {
        return Err(BrowserError::Session(format!(
            "the browser did not keep the saved cookies {}",
            lost.join(", ")
        )));
    }
    Ok(())
}

/// The state `flow` left in `user`'s session (cookies, localStorage), for a flow that needs it
/// on another worker (`--workers`); `None` when the page is not on the base URL's origin or
/// cannot be read. Kept in memory only.
pub async fn left_by(
    config: &Config,
    session: &BrowserSession,
    user: &str,
    base_url: &str,
    flow: &str,
    redactor: &Redactor,
) -> Option<SavedSession> {
    let origin = origin_of(base_url)?;
    read_session(config, session, user, &origin, flow, "", redactor)
        .await
        .ok()
        .flatten()
}

/// A user's cookies and localStorage as the browser has them now; `None` when the page is not on
/// `origin` (cookies are read from the current page: another origin's would be the wrong ones).
/// Every value read is registered with the redactor.
async fn read_session(
    config: &Config,
    session: &BrowserSession,
    user: &str,
    origin: &str,
    flow: &str,
    run_id: &str,
    redactor: &Redactor,
) -> Result<Option<SavedSession>, String> {
    // Two round trips: the page's URL with its localStorage, then the cookies.
    let (here, storage) = session
        .url_and_local_storage()
        .await
        .map_err(|e| e.to_string())?;
    if origin_of(&here).as_deref() != Some(origin) {
        return Ok(None);
    }
    let cookies: Vec<SavedCookie> = session
        .all_cookies()
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(SavedCookie::from_webdriver)
        .collect();
    let local_storage = storage.into_iter().collect();
    let saved = SavedSession {
        version: 1,
        user: user.to_owned(),
        email: config
            .user(user)
            .map(|u| u.email.clone())
            .unwrap_or_default(),
        origin: origin.to_owned(),
        saved_at: now_rfc3339(),
        run_id: run_id.to_owned(),
        flow: flow.to_owned(),
        cookies,
        local_storage,
    };
    for s in saved.secrets() {
        redactor.add(s);
    }
    Ok(Some(saved))
}

/// With `--retries`: the flow's users' browser state before its first attempt, so that a retry
/// starts where the first attempt did (a login flow's retry must not find the user already
/// signed in by the failed attempt). Kept in memory only.
pub struct AttemptReset {
    /// The users the flow acts as.
    users: BTreeSet<String>,
    /// Sessions open on the base origin before the flow: their state then.
    before: HashMap<String, SavedSession>,
    /// Users with an open session before the flow (on any origin).
    had_session: BTreeSet<String>,
    /// Saved sessions the first attempt may consume (`--no-deps`), put back for a retry.
    restore: HashMap<String, SavedSession>,
}

impl AttemptReset {
    pub async fn capture(
        config: &Config,
        flow: &CheckedFlow,
        sessions: &HashMap<String, BrowserSession>,
        restore: &HashMap<String, SavedSession>,
        base_url: &str,
        redactor: &Redactor,
    ) -> AttemptReset {
        let mut reset = AttemptReset {
            users: users_of(flow),
            before: HashMap::new(),
            had_session: BTreeSet::new(),
            restore: HashMap::new(),
        };
        let origin = origin_of(base_url).unwrap_or_default();
        for user in users_of(flow) {
            if let Some(saved) = restore.get(&user) {
                reset.restore.insert(user.clone(), saved.clone());
            }
            let Some(session) = sessions.get(&user) else {
                continue;
            };
            reset.had_session.insert(user.clone());
            if let Ok(Some(state)) =
                read_session(config, session, &user, &origin, flow.id(), "", redactor).await
            {
                reset.before.insert(user, state);
            }
        }
        reset
    }

    /// Before a retry: sessions opened by the failed attempt are closed (they reopen as the first
    /// attempt found them), and the ones that existed get their state back.
    pub async fn apply(
        &self,
        sessions: &mut HashMap<String, BrowserSession>,
        restore: &mut HashMap<String, SavedSession>,
        base_url: &str,
    ) {
        for user in &self.users {
            if let Some(state) = self.before.get(user) {
                let back = match sessions.get(user) {
                    Some(session) => restore_into(session, state, base_url).await.is_ok(),
                    None => true,
                };
                if back {
                    continue;
                }
            } else if self.had_session.contains(user) {
                continue;
            }
            if let Some(session) = sessions.remove(user) {
                session.close().await;
            }
        }
        for (user, saved) in &self.restore {
            restore.insert(user.clone(), saved.clone());
        }
    }
}

/// Saves sessions and captures after flows pass.
pub struct SessionSaver {
    store: SessionStore,
    captures: CaptureStore,
    origin: String,
    base_url: String,
    client: Http,
    /// What was last saved (or restored) per user: an unchanged session is not written again.
    last: HashMap<String, SavedSession>,
}

impl SessionSaver {
    /// `None` when saving is off (`[sessions] save = false`) or the base URL is not a URL.
    pub fn new(config: &Config, base_url: &str) -> Option<SessionSaver> {
        if !config.sessions.save {
            return None;
        }
        let store = SessionStore::new(&config.state_dir, &config.profile);
        Some(SessionSaver {
            captures: CaptureStore::new(store.dir()),
            store,
            origin: origin_of(base_url)?,
            base_url: base_url.to_owned(),
            client: check_client(config, base_url),
            last: HashMap::new(),
        })
    }

    /// A session restored from disk counts as saved.
    pub fn seed(&mut self, saved: &SavedSession) {
        self.last.insert(saved.user.clone(), saved.clone());
    }

    /// After `flow` passed: saves its users' sessions and its non-secret captures. Returns
    /// what the person should know (a session removed, a write that failed).
    #[allow(clippy::too_many_arguments)]
    pub async fn after_flow(
        &mut self,
        config: &Config,
        flow: &CheckedFlow,
        sessions: &HashMap<String, BrowserSession>,
        vars: &Vars,
        redactor: &Redactor,
        run_id: &str,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        for user in users_of(flow) {
            let Some(session) = sessions.get(&user) else {
                continue;
            };
            match self
                .save_user(config, flow, &user, session, redactor, run_id)
                .await
            {
                Ok(Some(note)) => notes.push(note),
                Ok(None) => {}
                Err(e) => notes.push(format!("the session of {user} was not saved: {e}")),
            }
        }
        let values: std::collections::BTreeMap<String, String> = vars
            .captures_of(flow.id())
            .into_iter()
            .filter(|(name, v)| {
                !v.secret && flow.captures.get(name).is_some_and(|info| !info.secret)
            })
            .map(|(name, Resolved { value, .. })| (name, value))
            .collect();
        if !values.is_empty() {
            let saved = FlowCaptures {
                origin: self.origin.clone(),
                saved_at: now_rfc3339(),
                run_id: run_id.to_owned(),
                values,
            };
            if let Err(e) = self.captures.save_flow(flow.id(), saved) {
                notes.push(format!("the captures of {} were not saved: {e}", flow.id()));
            }
        }
        notes
    }

    async fn save_user(
        &mut self,
        config: &Config,
        flow: &CheckedFlow,
        user: &str,
        session: &BrowserSession,
        redactor: &Redactor,
        run_id: &str,
    ) -> Result<Option<String>, String> {
        let Some(saved) = read_session(
            config,
            session,
            user,
            &self.origin,
            flow.id(),
            run_id,
            redactor,
        )
        .await?
        else {
            return Ok(None);
        };
        if self.last.get(user).is_some_and(|l| l.same_state(&saved)) {
            return Ok(None);
        }
        if saved.cookies.is_empty() {
            self.last.insert(user.to_owned(), saved);
            return Ok(None);
        }
        if let Some(check) = &config.sessions.check_url {
            let header = saved.cookie_header(now_unix());
            if let Err(why) = check_signed_in(&self.client, &self.base_url, check, &header).await {
                // Signed out (a logout flow): a dead session is not worth keeping.
                self.last.insert(user.to_owned(), saved);
                let removed = self.store.remove(user).map_err(|e| e.to_string())?;
                return Ok(removed.then(|| {
                    format!(
                        "{user} is signed out now ({why}); removed the saved session {}",
                        self.store.path_of(user).display()
                    )
                }));
            }
        }
        self.store.save(&saved).map_err(|e| e.to_string())?;
        self.last.insert(user.to_owned(), saved);
        Ok(None)
    }
}
