//! After "drop my connections" (issue 6, acceptance 2): an SSE client that
//! honours `retry` and `Last-Event-ID` loses nothing; a WebSocket client
//! without reconnect code stays down, and with it catches up via `since`.

use std::time::Duration;

use crate::common::*;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn drop_mine(server: &TestServer, learner: &str, transport: &str) -> u64 {
    drop_with(server, learner, json!({ "transport": transport })).await
}

/// `POST /api/connections/drop` as `learner`; how many connections were cut.
async fn drop_with(server: &TestServer, learner: &str, body: serde_json::Value) -> u64 {
    let res: serde_json::Value = server
        .http
        .post(server.url("/api/connections/drop"))
        .header("X-Learner", learner)
        .json(&body)
        .send()
        .await
        .expect("drop")
        .json()
        .await
        .expect("json");
    res["dropped"].as_u64().expect("dropped")
}

/// An SSE client the way a browser's EventSource behaves: on end of stream
/// it waits `retry` ms and reconnects with the last id it saw.
async fn resilient_sse(
    server: &TestServer,
    learner: &str,
    want: usize,
    drops: tokio::sync::mpsc::Sender<()>,
) -> (Vec<u64>, usize) {
    let mut ids = Vec::new();
    let mut last: Option<String> = None;
    let mut retry = Duration::from_millis(3000);
    let mut connections = 0;
    while ids.len() < want {
        let mut req = server
            .http
            .get(server.url("/api/sse?topics=resume"))
            .header("X-Learner", learner);
        if let Some(id) = &last {
            req = req.header("Last-Event-ID", id.as_str());
        }
        let res = req.send().await.expect("sse");
        assert_eq!(res.status(), 200);
        connections += 1;
        let _ = drops.try_send(());
        // eventsource-stream drops a block that has only `retry:` (no data),
        // although WHATWG applies the field at once; read it off the raw bytes.
        let seen_retry = std::sync::Arc::new(std::sync::Mutex::new(None::<u64>));
        let note = seen_retry.clone();
        let raw = res.bytes_stream().inspect(move |chunk| {
            if let Ok(bytes) = chunk
                && let Some(ms) = std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|t| t.strip_prefix("retry: "))
                    .and_then(|t| t.trim().parse().ok())
            {
                *note.lock().expect("lock") = Some(ms);
            }
        });
        let mut events = raw.eventsource();
        while let Some(Ok(e)) = events.next().await {
            if let Some(ms) = *seen_retry.lock().expect("lock") {
                retry = Duration::from_millis(ms);
            }
            if !e.id.is_empty() {
                last = Some(e.id.clone());
                ids.push(e.id.parse().expect("numeric id"));
                if ids.len() == want {
                    break;
                }
            }
        }
        if let Some(ms) = *seen_retry.lock().expect("lock") {
            retry = Duration::from_millis(ms);
        }
        if ids.len() < want {
            tokio::time::sleep(retry).await;
        }
    }
    (ids, connections)
}

#[tokio::test]
async fn an_sse_client_that_honours_retry_and_last_event_id_loses_nothing() {
    let server = TestServer::with(realtime_playground::Config {
        sse_retry_ms: 200,
        ..realtime_playground::Config::for_tests()
    })
    .await;
    let (connected_tx, mut connected) = tokio::sync::mpsc::channel(16);
    let reader = {
        let s = TestServer::client_of(&server);
        tokio::spawn(async move { resilient_sse(&s, "resume", 30, connected_tx).await })
    };
    connected.recv().await.expect("first connection");
    server.wait_for_subscribers(1).await;
    let mut published = Vec::new();
    for i in 0..30 {
        published.push(server.publish("resume", json!({ "i": i })).await);
        if i % 10 == 5 {
            assert_eq!(
                drop_mine(&server, "resume", "sse").await,
                1,
                "one stream cut"
            );
            connected.recv().await.expect("reconnected");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (ids, connections) = tokio::time::timeout(PATIENCE, reader)
        .await
        .expect("done")
        .expect("reader");
    assert_eq!(connections, 4, "three drops, three reconnections");
    assert_eq!(ids, published, "0 lost, 0 duplicated, in order");
}

#[tokio::test]
async fn a_websocket_stays_down_unless_the_client_reconnects_and_catches_up() {
    let server = TestServer::start().await;
    let mut ws = server.ws_as("sock").await;
    next_of_type(&mut ws, "welcome").await;
    send_json(&mut ws, json!({"type": "subscribe", "topics": ["resume"]})).await;
    next_of_type(&mut ws, "ack").await;
    let first = server.publish("resume", json!({})).await;
    assert_eq!(next_of_type(&mut ws, "event").await["event"]["id"], first);

    assert_eq!(drop_mine(&server, "sock", "websocket").await, 1);
    let code = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return f.map(|f| f.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("closed");
    assert_eq!(code, Some(CloseCode::Away));
    // Without reconnect code: nothing more ever arrives.
    let missed = server.publish("resume", json!({})).await;
    assert!(
        matches!(ws.next().await, None | Some(Err(_))),
        "the old socket is gone for good"
    );

    // With it: reconnect, subscribe with `since`, and the missed event comes.
    let mut again = server.ws_as("sock").await;
    next_of_type(&mut again, "welcome").await;
    send_json(
        &mut again,
        json!({"type": "subscribe", "topics": ["resume"], "since": first}),
    )
    .await;
    next_of_type(&mut again, "ack").await;
    assert_eq!(
        next_of_type(&mut again, "event").await["event"]["id"],
        missed
    );
    let live = server.publish("resume", json!({})).await;
    assert_eq!(
        next_of_type(&mut again, "event").await["event"]["id"],
        live,
        "no duplicate of #{missed}"
    );
}

/// `"reconnect": false`: the learner's streams are cut and their next SSE
/// reconnect gets `204 No Content` (EventSource stops for good), once; other
/// learners and fresh (non-resuming) requests are not affected.
#[tokio::test]
async fn drop_without_reconnect_answers_the_next_reconnect_with_204_once() {
    let server = TestServer::start().await;
    let open = |learner: &'static str, last: Option<String>| {
        let mut req = server
            .http
            .get(server.url("/api/sse?duration=5"))
            .header("X-Learner", learner);
        if let Some(id) = last {
            req = req.header("Last-Event-ID", id);
        }
        req.send()
    };
    let first = server.publish("resume", json!({})).await.to_string();
    // An open stream, cut by a default drop: the reconnect is welcome.
    let live = open("stopper", None).await.expect("sse");
    assert_eq!(live.status(), 200);
    let mut live = live.bytes_stream();
    // The `retry:` preamble: the stream is open and watching for drops.
    live.next().await.expect("retry").expect("bytes");
    assert_eq!(drop_mine(&server, "stopper", "sse").await, 1);
    read_to_end(&mut live).await;
    let res = open("stopper", Some(first.clone())).await.expect("sse");
    assert_eq!(res.status(), 200);

    // That one, cut with `reconnect: false`.
    let mut live = res.bytes_stream();
    live.next().await.expect("retry").expect("bytes");
    assert_eq!(drop_without_reconnect(&server, "stopper", "sse").await, 1);
    read_to_end(&mut live).await;

    // Someone else's reconnect, and stopper's fresh request: they stream as usual.
    assert_eq!(
        open("other", Some(first.clone()))
            .await
            .expect("sse")
            .status(),
        200
    );
    assert_eq!(open("stopper", None).await.expect("sse").status(), 200);
    // stopper's reconnect: 204, empty body.
    let refused = open("stopper", Some(first.clone())).await.expect("sse");
    assert_eq!(refused.status(), 204);
    assert!(refused.bytes().await.expect("body").is_empty());
    // One-shot: the reconnect after that streams again.
    assert_eq!(
        open("stopper", Some(first.clone()))
            .await
            .expect("sse")
            .status(),
        200
    );

    // `?last_event_id=` counts as a reconnect too; `transport: websocket` refuses nothing.
    drop_without_reconnect(&server, "stopper", "websocket").await;
    let query = |learner: &'static str| {
        server
            .http
            .get(server.url(&format!("/api/sse?duration=5&last_event_id={first}")))
            .header("X-Learner", learner)
            .send()
    };
    assert_eq!(query("stopper").await.expect("sse").status(), 200);
    drop_without_reconnect(&server, "stopper", "all").await;
    assert_eq!(query("stopper").await.expect("sse").status(), 204);
    assert_eq!(query("stopper").await.expect("sse").status(), 200);
}

async fn drop_without_reconnect(server: &TestServer, learner: &str, transport: &str) -> u64 {
    drop_with(
        server,
        learner,
        json!({ "transport": transport, "reconnect": false }),
    )
    .await
}

async fn read_to_end(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
) {
    tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await
    .expect("the server ended the stream");
}
