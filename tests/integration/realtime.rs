//! Realtime against the demo helpdesk (in-process): a Pusher private channel authorised through
//! `/broadcasting/auth` with a signed-in session's cookie, events after an action, the failures
//! a person must be able to read (a dropped event, the server hanging up, a refused channel)
//! and the SSE stream.
//!
//! Users sign in through the real OTP mail (`crate::mail::sign_in`). No sleeps: every wait is
//! `Subscription::wait_for`, which wakes on each received frame.

use std::time::{Duration, Instant};

use flows::realtime::{
    subscribe_pusher, subscribe_sse, PusherOptions, RealtimeError, SseOptions, Subscription,
};
use serde_json::{json, Value};

use crate::mail::{sign_in, stable_snapshots, start_helpdesk, Session, HEAD, REQUESTER, SECRET};

pub(crate) fn ten_seconds() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// The helpdesk's `/api/realtime-config` for a signed-in user.
pub(crate) async fn realtime_config(session: &Session) -> Value {
    session
        .client
        .get(format!("{}/api/realtime-config", session.base))
        .send()
        .await
        .expect("GET /api/realtime-config")
        .json()
        .await
        .expect("json")
}

/// Subscribes the session's user to `channel` (its own channel when `None`).
pub(crate) async fn pusher(
    session: &Session,
    channel: Option<&str>,
) -> Result<Subscription, RealtimeError> {
    let cfg = realtime_config(session).await;
    let text = |k: &str| cfg[k].as_str().unwrap_or_default().to_owned();
    subscribe_pusher(
        PusherOptions {
            name: "bell".into(),
            url: url::Url::parse(&format!("{}{}", session.base, text("ws_path"))).expect("ws url"),
            channel: channel.map_or_else(|| text("channel"), str::to_owned),
            auth_endpoint: Some(
                url::Url::parse(&format!("{}{}", session.base, text("auth_endpoint")))
                    .expect("auth url"),
            ),
            cookie: Some(session.cookie()),
            headers: vec![("X-CSRF-TOKEN".into(), text("csrf_token"))],
        },
        &flows::net::Http::default(),
        ten_seconds(),
    )
    .await
}

pub(crate) async fn create_ticket(session: &Session, subject: &str) -> i64 {
    let page = "/d/it-support/tickets/new";
    let (status, location) = session
        .post(
            page,
            page,
            &[
                ("subject", subject),
                ("description", "Created by the realtime tests"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    location
        .strip_prefix("/tickets/")
        .and_then(|n| n.parse().ok())
        .expect("redirect to the new ticket")
}

pub(crate) async fn reply(session: &Session, ticket: i64, body: &str) {
    let page = format!("/tickets/{ticket}");
    let (status, _) = session
        .post(&page, &format!("{page}/replies"), &[("body", body)])
        .await;
    assert_eq!(status, 303, "reply sent");
}

async fn fault(base: &str, switch: Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/staging/e2e/faults"))
        .header("X-Staging-E2E-Secret", SECRET)
        .json(&switch)
        .send()
        .await
        .expect("POST fault");
    assert!(
        resp.status().is_success(),
        "fault switch set: {}",
        resp.status()
    );
}

pub(crate) fn reply_from_head(ticket: i64) -> Vec<(String, Value)> {
    vec![
        ("/type".into(), json!("ticket.reply")),
        ("/ticket".into(), json!(ticket)),
        ("/text".into(), json!("/harper head replied/i")),
    ]
}

#[tokio::test]
async fn pusher_private_channel_receives_the_event_an_action_causes() {
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let base = hd.url();
    let requester = sign_in(&base, REQUESTER).await;
    let head = sign_in(&base, HEAD).await;
    let ticket = create_ticket(&requester, "Printer on fire").await;

    let bell = pusher(&requester, None).await.expect("subscribed");
    assert_eq!(bell.target(), "private-App.Models.User.1");
    assert!(bell.socket_id().is_some_and(|id| id.contains('.')));

    let since = Instant::now();
    reply(&head, ticket, "We are on it.").await;
    let ev = bell
        .wait_for(
            "notification.created",
            &reply_from_head(ticket),
            since,
            ten_seconds(),
        )
        .await
        .expect("the reply notification");
    assert_eq!(ev.channel.as_deref(), Some("private-App.Models.User.1"));
    assert_eq!(ev.data["url"], json!(format!("/tickets/{ticket}")));
    assert!(ev.size > 0);

    let events: Vec<String> = bell.frames().iter().map(|f| f.event.clone()).collect();
    assert_eq!(
        events,
        [
            "pusher:connection_established",
            "pusher_internal:subscription_succeeded",
            "notification.created"
        ]
    );
    match bell.evidence(&ev, since) {
        flows::events::Evidence::RealtimeFrame {
            subscription,
            channel,
            event,
            data,
            ..
        } => {
            assert_eq!(subscription, "bell");
            assert_eq!(channel.as_deref(), Some("private-App.Models.User.1"));
            assert_eq!(event, "notification.created");
            assert_eq!(data["type"], json!("ticket.reply"));
        }
        other => panic!("not a realtime frame: {other:?}"),
    }
    bell.close().await;
    hd.shutdown().await;
}

#[tokio::test]
async fn pusher_wait_fails_when_the_helpdesk_drops_the_event() {
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let base = hd.url();
    let requester = sign_in(&base, REQUESTER).await;
    let head = sign_in(&base, HEAD).await;
    let ticket = create_ticket(&requester, "Dropped event").await;
    let bell = pusher(&requester, None).await.expect("subscribed");

    fault(&base, json!({ "kind": "drop_event", "count": 1 })).await;
    let since = Instant::now();
    reply(&head, ticket, "This notification is dropped.").await;
    let err = bell
        .wait_for(
            "notification.created",
            &reply_from_head(ticket),
            since,
            Instant::now() + Duration::from_secs(1),
        )
        .await
        .expect_err("the event was dropped");
    assert!(matches!(err, RealtimeError::Timeout(_)), "{err:?}");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @r#"no notification.created with /type = "ticket.reply" and /ticket = 1001 and /text ~ /harper head replied/i on private-App.Models.User.1 within [duration]; received: nothing"#);
    });

    // The switch is used up: the next reply arrives, and it is the only one since `since`.
    reply(&head, ticket, "This one arrives.").await;
    bell.wait_for(
        "notification.created",
        &reply_from_head(ticket),
        since,
        ten_seconds(),
    )
    .await
    .expect("the next notification");
    let after: Vec<_> = bell
        .frames()
        .into_iter()
        .filter(|f| f.received_at >= since && f.event == "notification.created")
        .collect();
    assert_eq!(after.len(), 1, "the dropped event never arrived");
    hd.shutdown().await;
}

#[tokio::test]
async fn pusher_says_when_the_server_closes_the_connection() {
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let base = hd.url();
    let requester = sign_in(&base, REQUESTER).await;
    let bell = pusher(&requester, None).await.expect("subscribed");
    let since = Instant::now();
    fault(&base, json!({ "kind": "realtime_close" })).await;
    let err = bell
        .wait_for("notification.created", &[], since, ten_seconds())
        .await
        .expect_err("closed");
    assert!(bell.is_closed());
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @"the server closed the connection after [duration] (code 4200: Server closed the connection) while waiting for notification.created on private-App.Models.User.1; received: nothing");
    });
    hd.shutdown().await;
}

#[tokio::test]
async fn pusher_refusals_are_clear() {
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let base = hd.url();
    let requester = sign_in(&base, REQUESTER).await;

    // Someone else's private channel: the auth endpoint refuses to sign it.
    let err = pusher(&requester, Some("private-App.Models.User.2"))
        .await
        .expect_err("refused");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @"the auth endpoint http://127.0.0.1:[port]/broadcasting/auth refused channel private-App.Models.User.2 (403); is the user logged in?");
    });

    // A wrong app key: the server's own pusher:error.
    let err = subscribe_pusher(
        PusherOptions {
            name: "bell".into(),
            url: url::Url::parse(&format!("{base}/app/wrong-key")).expect("url"),
            channel: "private-App.Models.User.1".into(),
            auth_endpoint: None,
            cookie: None,
            headers: vec![],
        },
        &flows::net::Http::default(),
        ten_seconds(),
    )
    .await
    .expect_err("unknown app");
    insta::assert_snapshot!(err.to_string(), @"the server refused the connection: pusher:error 4001 Application does not exist");
    hd.shutdown().await;
}

#[tokio::test]
async fn sse_stream_emits_ready_heartbeats_and_notifications() {
    let hd = start_helpdesk(helpdesk::Config {
        heartbeat: Duration::from_millis(100),
        ..helpdesk::Config::default()
    })
    .await;
    let base = hd.url();
    let requester = sign_in(&base, REQUESTER).await;
    let head = sign_in(&base, HEAD).await;
    let ticket = create_ticket(&requester, "Streamed").await;

    let stream = subscribe_sse(
        SseOptions {
            name: "stream".into(),
            url: url::Url::parse(&format!("{base}/api/notifications/stream")).expect("url"),
            cookie: Some(requester.cookie()),
            headers: vec![],
        },
        &flows::net::Http::default(),
        ten_seconds(),
    )
    .await
    .expect("stream open");
    let opened = stream.opened_at();
    let ready = stream
        .wait_for(
            "ready",
            &[("/channel".into(), json!("private-App.Models.User.1"))],
            opened,
            ten_seconds(),
        )
        .await
        .expect("ready event");
    assert!(ready.data["unread"].is_number());
    stream
        .wait_for("sse:heartbeat", &[], opened, ten_seconds())
        .await
        .expect("a heartbeat comment");

    let since = Instant::now();
    reply(&head, ticket, "Over SSE too.").await;
    let ev = stream
        .wait_for(
            "notification.created",
            &reply_from_head(ticket),
            since,
            ten_seconds(),
        )
        .await
        .expect("the reply notification");
    assert!(ev.id.is_some(), "notifications carry an SSE id");
    stream.close().await;
    hd.shutdown().await;
}

#[tokio::test]
async fn sse_errors_say_what_came_instead() {
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let base = hd.url();
    let open = |path: &str, cookie: Option<String>| {
        let url = url::Url::parse(&format!("{base}{path}")).expect("url");
        async move {
            subscribe_sse(
                SseOptions {
                    name: "stream".into(),
                    url,
                    cookie,
                    headers: vec![],
                },
                &flows::net::Http::default(),
                ten_seconds(),
            )
            .await
        }
    };
    let err = open("/api/notifications/stream", None)
        .await
        .expect_err("signed out");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @"the SSE endpoint http://127.0.0.1:[port]/api/notifications/stream answered 401, expected 200");
    });
    let requester = sign_in(&base, REQUESTER).await;
    let err = open("/dashboard", Some(requester.cookie()))
        .await
        .expect_err("not a stream");
    stable_snapshots().bind(|| {
        insta::assert_snapshot!(err.to_string(), @r#"the SSE endpoint http://127.0.0.1:[port]/dashboard answered content-type "text/html; charset=utf-8", expected text/event-stream"#);
    });
    hd.shutdown().await;
}
