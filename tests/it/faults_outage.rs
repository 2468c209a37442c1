//! The fault actions against the real server: a deploy (streams cut, then
//! `502` for a few seconds, then normal again) and half-open connections
//! (silent, still open, closed by the server after a while). Only the
//! learner who asked is affected.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use futures_util::StreamExt;
use realtime_playground::Config;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

async fn act(server: &TestServer, learner: &str, path: &str, body: Value) -> Value {
    let res = server
        .http
        .post(server.url(path))
        .header("X-Learner", learner)
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.expect("json")
}

async fn ws_upgrade(server: &TestServer, learner: &str) -> Result<Ws, tungstenite::Error> {
    let mut req = server.ws_url("/api/ws").into_client_request()?;
    req.headers_mut()
        .insert("X-Learner", learner.parse().expect("learner"));
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

#[tokio::test]
async fn a_deploy_cuts_my_streams_then_answers_502_until_it_is_over() {
    let server = TestServer::start().await;
    let mut sse = Box::pin(
        server
            .get_as("deployer", "/api/sse?topics=d")
            .await
            .bytes_stream(),
    );
    let mut ws = server.ws_as("deployer").await;
    next_of_type(&mut ws, "welcome").await;
    let mut calm = server.sse("/api/sse?topics=d", None).await;
    wait_for_connections(&server, 3).await;

    let deployed = act(
        &server,
        "deployer",
        "/api/faults/deploy",
        json!({"seconds": 2}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(deployed, json!({"cut": 2, "seconds": 2}));

    // Cut at once: the stream ends, the socket gets 1001 (going away).
    tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(_)) = sse.next().await {}
    })
    .await
    .expect("the SSE stream ended");
    let close = loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("close in time")
        {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close code"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.code, CloseCode::Away);

    // During the deploy: 502 from every transport, with Retry-After and a problem body.
    let resumed = "/api/sse?last_event_id=0";
    for path in [
        "/api/poll",
        "/api/long-poll?timeout=1",
        "/api/sse?limit=1",
        resumed,
    ] {
        let res = server.get_as("deployer", path).await;
        assert_eq!(res.status(), 502, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .expect("text")
            .parse()
            .expect("seconds");
        assert!((1..=2).contains(&retry), "{path}: Retry-After {retry}");
    }
    let Err(tungstenite::Error::Http(refused)) = ws_upgrade(&server, "deployer").await else {
        panic!("a WebSocket upgrade went through during the deploy");
    };
    assert_eq!(refused.status(), 502);

    // Nobody else notices.
    assert!(
        server
            .get_as("bystander", "/api/poll")
            .await
            .status()
            .is_success()
    );
    let id = server.publish("d", json!({"during": "deploy"})).await;
    assert_eq!(next_sse(&mut calm).await.expect("open").id, id.to_string());

    // A client with back-off gets back in once it is over, not before.
    let mut wait = Duration::from_millis(50);
    let mut back = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws_upgrade(&server, "deployer").await {
                Ok(ws) => return ws,
                Err(tungstenite::Error::Http(r)) if r.status() == 502 => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(400));
                }
                Err(err) => panic!("{err}"),
            }
        }
    })
    .await
    .expect("the WebSocket came back");
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "the 502s lasted the deploy's 2 s, not {:?}",
        started.elapsed()
    );
    next_of_type(&mut back, "welcome").await;
    assert_eq!(server.get_as("deployer", "/api/poll").await.status(), 200);
    let res = server
        .get_as("deployer", "/api/sse?limit=1&last_event_id=0")
        .await;
    assert_eq!(res.status(), 200, "SSE streams again");

    let log: Value = server
        .get_as("deployer", "/api/traffic?transport=poll")
        .await
        .json()
        .await
        .expect("json");
    assert!(
        log["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["status"] == 502),
        "the 502s are in the learner's own log"
    );
}

/// Everything a connection received after a moment, and whether it ended.
#[derive(Default)]
struct Seen {
    chunks: Vec<String>,
    close_frames: usize,
    ended: Option<Instant>,
}

fn watch_sse(
    body: impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static,
) -> Arc<Mutex<Seen>> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let into = seen.clone();
    tokio::spawn(async move {
        let mut body = Box::pin(body);
        while let Some(Ok(chunk)) = body.next().await {
            let text = String::from_utf8_lossy(&chunk).into_owned();
            into.lock().expect("lock").chunks.push(text);
        }
        into.lock().expect("lock").ended = Some(Instant::now());
    });
    seen
}

fn watch_ws(mut ws: Ws) -> (Arc<Mutex<Seen>>, tokio::sync::mpsc::Sender<Message>) {
    use futures_util::SinkExt;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let into = seen.clone();
    let (send, mut outbox) = tokio::sync::mpsc::channel::<Message>(8);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(msg) = outbox.recv() => { let _ = ws.send(msg).await; }
                msg = ws.next() => match msg {
                    Some(Ok(Message::Close(_))) => into.lock().expect("lock").close_frames += 1,
                    Some(Ok(msg)) => into.lock().expect("lock").chunks.push(msg.to_string()),
                    _ => break,
                },
            }
        }
        into.lock().expect("lock").ended = Some(Instant::now());
    });
    (seen, send)
}

fn count(seen: &Arc<Mutex<Seen>>, needle: &str) -> usize {
    seen.lock()
        .expect("lock")
        .chunks
        .iter()
        .filter(|c| c.contains(needle))
        .count()
}

async fn until_seen(seen: &Arc<Mutex<Seen>>, needle: &str, n: usize) {
    tokio::time::timeout(PATIENCE, async {
        while count(seen, needle) < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never saw {needle:?} {n} times"));
}

#[tokio::test]
async fn half_open_connections_go_silent_stay_open_and_are_closed_later() {
    let server = TestServer::with(Config {
        ws_ping_interval_secs: 1,
        ..Config::for_tests()
    })
    .await;
    let sse_query = "/api/sse?topics=h&heartbeat=1";
    let mut subscribed = Vec::new();
    for learner in ["frozen", "control"] {
        let sse = watch_sse(server.get_as(learner, sse_query).await.bytes_stream());
        let mut ws = server.ws_as(learner).await;
        send_json(&mut ws, json!({"type": "subscribe", "topics": ["h"]})).await;
        next_of_type(&mut ws, "ack").await;
        subscribed.push((sse, watch_ws(ws)));
    }
    server.wait_for_subscribers(4).await;
    let [
        (frozen_sse, (frozen_ws, frozen_out)),
        (control_sse, (control_ws, control_out)),
    ] = <[_; 2]>::try_from(subscribed).ok().expect("two learners");

    let answer = act(
        &server,
        "frozen",
        "/api/faults/half-open",
        json!({"close_after_s": 3}),
    )
    .await;
    let frozen_at = Instant::now();
    assert_eq!(answer, json!({"frozen": 2, "close_after_s": 3}));
    let sse_before = frozen_sse.lock().expect("lock").chunks.len();
    let ws_before = frozen_ws.lock().expect("lock").chunks.len();

    let id = server.publish("h", json!({"after": "freeze"})).await;
    for out in [&frozen_out, &control_out] {
        out.send(Message::text(r#"{"type":"ping"}"#))
            .await
            .expect("queued");
    }
    // The control connections get everything: the event, heartbeats, the pong, pings.
    until_seen(&control_sse, &format!("id: {id}\n"), 1).await;
    let beats = count(&control_sse, ": heartbeat");
    until_seen(&control_sse, ": heartbeat", beats + 2).await;
    until_seen(&control_ws, "\"pong\"", 1).await;
    until_seen(&control_ws, &format!("\"id\":{id}"), 1).await;

    // The frozen ones: nothing (at most one heartbeat or ping already on its way), yet still open.
    let sse_after: Vec<String> = frozen_sse.lock().expect("lock").chunks[sse_before..].to_vec();
    assert!(
        sse_after.len() <= 1 && sse_after.iter().all(|c| c.starts_with(": heartbeat")),
        "the frozen stream wrote {sse_after:?}"
    );
    let ws_after: Vec<String> = frozen_ws.lock().expect("lock").chunks[ws_before..].to_vec();
    assert!(
        ws_after.iter().all(|m| m.is_empty() || m == "playground") && ws_after.len() <= 1,
        "the frozen socket wrote {ws_after:?}"
    );
    assert_eq!(
        server.status().await["connections"]["total"],
        4,
        "still open"
    );
    assert!(frozen_sse.lock().expect("lock").ended.is_none());

    // A connection opened after the action works normally.
    let fresh = watch_sse(server.get_as("frozen", sse_query).await.bytes_stream());
    // Frozen connections still hold their subscriptions: 2 frozen, 2 control, 1 fresh.
    server.wait_for_subscribers(5).await;
    let id = server.publish("h", json!({"after": "reconnect"})).await;
    until_seen(&fresh, &format!("id: {id}\n"), 1).await;

    // After close_after_s the server gives up: the stream ends, the socket
    // goes without a close frame (a browser sees 1006).
    tokio::time::timeout(PATIENCE, async {
        while frozen_sse.lock().expect("lock").ended.is_none()
            || frozen_ws.lock().expect("lock").ended.is_none()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the frozen connections were closed");
    for seen in [&frozen_sse, &frozen_ws] {
        let ended = seen.lock().expect("lock").ended.expect("ended");
        assert!(
            ended - frozen_at >= Duration::from_millis(2900),
            "held {:?}",
            ended - frozen_at
        );
    }
    assert_eq!(
        frozen_ws.lock().expect("lock").close_frames,
        0,
        "no close frame"
    );
    assert!(
        control_sse.lock().expect("lock").ended.is_none(),
        "the control stream lives on"
    );
}

#[tokio::test]
async fn a_half_open_socket_still_reads_so_a_client_that_leaves_is_freed() {
    let server = TestServer::start().await;
    let mut ws = server.ws_as("leaver").await;
    next_of_type(&mut ws, "welcome").await;
    wait_for_connections(&server, 1).await;
    let answer = act(
        &server,
        "leaver",
        "/api/faults/half-open",
        json!({"close_after_s": 300}),
    )
    .await;
    assert_eq!(answer["frozen"], 1);
    send_json(&mut ws, json!({"type": "ping"})).await;
    drop(ws);
    // Noticed by reading, long before the 300 s are up.
    wait_for_connections(&server, 0).await;
}
