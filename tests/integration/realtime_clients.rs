//! The demo helpdesk's realtime server held to the real protocol by real clients: `pusher-js`
//! (private channel authorised through `/broadcasting/auth`) and the `eventsource` package, in
//! the same test as the runner's own Pusher and SSE clients. If the runner and the server only
//! agreed with each other, pusher-js would not receive what the runner receives.

use std::time::{Duration, Instant};

use flows::realtime::{subscribe_sse, SseOptions};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::mail::{sign_in, start_helpdesk, HEAD, REQUESTER};
use crate::realtime::{
    create_ticket, pusher, realtime_config, reply, reply_from_head, ten_seconds,
};

#[tokio::test]
async fn pusher_js_and_eventsource_receive_what_the_runner_receives() {
    let dir = crate::npm_clients::installed("realtime-clients");
    let hd = start_helpdesk(helpdesk::Config::default()).await;
    let base = hd.url();
    let requester = sign_in(&base, REQUESTER).await;
    let head = sign_in(&base, HEAD).await;
    let ticket = create_ticket(&requester, "Realtime conformance").await;
    let cfg = realtime_config(&requester).await;
    let text = |k: &str| cfg[k].as_str().unwrap_or_default().to_owned();

    // The runner's own clients.
    let bell = pusher(&requester, None)
        .await
        .expect("runner subscribed over Pusher");
    let stream = subscribe_sse(
        SseOptions {
            name: "stream".into(),
            url: url::Url::parse(&format!("{base}{}", text("sse_path"))).expect("sse url"),
            cookie: Some(requester.cookie()),
            headers: vec![],
        },
        &flows::net::Http::default(),
        ten_seconds(),
    )
    .await
    .expect("runner subscribed over SSE");

    // The real clients, in Node.
    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("listen.mjs"))
        .env("BASE_URL", &base)
        .env("COOKIE", requester.cookie())
        .env("CSRF", text("csrf_token"))
        .env("CHANNEL", text("channel"))
        .env("KEY", text("key"))
        .env("SSE_PATH", text("sse_path"))
        .env("AUTH_PATH", text("auth_endpoint"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut ready = Vec::new();
    while ready.len() < 2 {
        let v = next_line(&mut lines).await;
        ready.push(v["ready"].as_str().expect("a ready line").to_owned());
    }
    ready.sort();
    assert_eq!(ready, ["eventsource", "pusher-js"]);

    let since = Instant::now();
    reply(&head, ticket, "Checked with real clients.").await;
    let ours = bell
        .wait_for(
            "notification.created",
            &reply_from_head(ticket),
            since,
            ten_seconds(),
        )
        .await
        .expect("the runner's Pusher client receives the event");
    let ours_sse = stream
        .wait_for(
            "notification.created",
            &reply_from_head(ticket),
            since,
            ten_seconds(),
        )
        .await
        .expect("the runner's SSE client receives the event");
    let mut theirs = Vec::new();
    while theirs.len() < 2 {
        theirs.push(next_line(&mut lines).await);
    }
    for v in &theirs {
        assert_eq!(v["event"], "notification.created");
        for key in ["id", "type", "ticket", "text"] {
            // Two nulls are equal too: each value must be there before agreement means anything.
            assert!(
                !ours.data[key].is_null(),
                "the runner's Pusher client has no data.{key}: {:?}",
                ours.data
            );
            assert_eq!(
                v["data"][key], ours.data[key],
                "{} disagrees on {key}: {v}",
                v["client"]
            );
            assert_eq!(
                ours_sse.data[key], ours.data[key],
                "SSE and Pusher disagree on {key}"
            );
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("node exits")
        .expect("wait");
    assert!(status.success(), "the real clients exit cleanly");
    bell.close().await;
    stream.close().await;
    hd.shutdown().await;
}

async fn next_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the real clients answer within 20 s")
        .expect("read")
        .expect("the real clients exited early (see stderr)");
    serde_json::from_str::<Value>(&line).expect("a JSON line")
}
