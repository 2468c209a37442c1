//! Abuse limits: publish rates per learner and per connection, the bad-message
//! budget of a WebSocket, and the cap on connections per client address.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use realtime_playground::Config;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn publish_body() -> Value {
    json!({"topic": "demo", "type": "note", "data": {}})
}

async fn publish_as(server: &TestServer, learner: &str) -> reqwest::Response {
    server
        .http
        .post(server.url("/api/events"))
        .header("X-Learner", learner)
        .json(&publish_body())
        .send()
        .await
        .expect("POST /api/events")
}

/// Reads until the close frame; its code (None if the TCP connection just ended).
async fn close_code(ws: &mut Ws) -> Option<u16> {
    tokio::time::timeout(PATIENCE, async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Close(Some(frame))) => return Some(u16::from(frame.code)),
                Ok(Message::Close(None)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
        None
    })
    .await
    .expect("the server closed in time")
}

#[tokio::test]
async fn a_learner_over_the_publish_rate_gets_429_with_retry_after() {
    let server = TestServer::with(Config {
        publish_rate_per_learner: 5,
        ..Config::for_tests()
    })
    .await;
    // A burst of twice the rate passes...
    for _ in 0..10 {
        assert_eq!(publish_as(&server, "busy").await.status(), 202);
    }
    // ...the next one does not.
    let res = publish_as(&server, "busy").await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.expect("problem");
    assert_eq!(problem["status"], 429);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("too fast")),
        "{problem}"
    );
    // The chat endpoint draws from the same bucket.
    let chat = server
        .http
        .post(server.url("/api/chat"))
        .header("X-Learner", "busy")
        .json(&json!({"text": "hello"}))
        .send()
        .await
        .expect("POST /api/chat");
    assert_eq!(chat.status(), 429);
    // Another learner is not affected; nothing was published for the refused ones.
    assert_eq!(publish_as(&server, "calm").await.status(), 202);
    assert_eq!(server.status().await["last_id"], 11);
}

#[tokio::test]
async fn a_websocket_over_the_rate_gets_errors_and_then_1008() {
    let server = TestServer::with(Config {
        publish_rate_per_connection: 2,
        ws_error_budget: 10,
        ..Config::for_tests()
    })
    .await;
    let mut ws = server.ws_as("spammer").await;
    next_of_type(&mut ws, "welcome").await;
    let publish = json!({"type": "publish", "topic": "demo", "event": "x", "data": 1});
    // Four pass (burst of twice the rate); then rate_limited errors with a wait.
    for _ in 0..4 {
        send_json(&mut ws, publish.clone()).await;
        assert_eq!(next_json(&mut ws).await["type"], "ack");
    }
    send_json(&mut ws, publish.clone()).await;
    let err = next_json(&mut ws).await;
    assert_eq!(err["code"], "rate_limited", "{err}");
    assert!(
        err["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0 && ms <= 500),
        "{err}"
    );
    // Another connection of the same learner has its own bucket.
    let mut other = server.ws_as("spammer").await;
    next_of_type(&mut other, "welcome").await;
    send_json(&mut other, publish.clone()).await;
    assert_eq!(next_json(&mut other).await["type"], "ack");
    // Keeping at it spends the error budget: errors, then close 1008.
    let mut errors = 1;
    loop {
        if ws.send(Message::text(publish.to_string())).await.is_err() {
            break;
        }
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("an answer")
        {
            Some(Ok(Message::Text(t))) => {
                let reply: Value = serde_json::from_str(t.as_str()).expect("json");
                assert_eq!(reply["code"], "rate_limited");
                errors += 1;
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1008);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        (9..=12).contains(&errors),
        "{errors} errors before the close"
    );
    // Only the accepted publishes reached the hub.
    assert_eq!(server.status().await["last_id"], 5);
}

#[tokio::test]
async fn invalid_messages_are_answered_until_the_budget_runs_out() {
    let server = TestServer::with(Config {
        ws_error_budget: 20,
        ..Config::for_tests()
    })
    .await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    // A few mistakes are fine: each gets an error and the socket stays up.
    for _ in 0..5 {
        ws.send(Message::text("{not json")).await.expect("send");
        assert_eq!(next_json(&mut ws).await["code"], "invalid_json");
    }
    send_json(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "pong");
    // Binary frames count too.
    for _ in 0..30 {
        if ws.send(Message::binary(vec![0u8; 8])).await.is_err() {
            break;
        }
    }
    assert_eq!(close_code(&mut ws).await, Some(1008));
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_connections() {
    let server = TestServer::with(Config {
        max_connections_per_address: 3,
        ..Config::for_tests()
    })
    .await;
    // Heartbeats every second: a closed stream is noticed at the next write.
    let sse = server.sse("/api/sse?heartbeat=1", None).await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    let client = TestServer::client_of(&server);
    let long_poll = tokio::spawn(async move { client.get("/api/long-poll?timeout=30").await });
    server.wait_for_subscribers(2).await;
    let status = server.status().await;
    assert_eq!(status["connections"]["total"], 3, "{status}");
    assert_eq!(status["connections"]["sse"], 1);
    assert_eq!(status["connections"]["websocket"], 1);
    assert_eq!(status["connections"]["long_poll"], 1);

    // The fourth, of any kind, is refused with a problem document.
    for path in [
        "/api/sse?limit=1",
        "/api/long-poll?timeout=1",
        "/api/traffic/stream?limit=1",
    ] {
        let res = server.get(path).await;
        assert_eq!(res.status(), 503, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.expect("problem");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("open connections")
        );
    }
    match server.ws_with_origin(None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 503),
        other => panic!("expected a 503, got {other:?}"),
    }
    // Short requests are not capped.
    assert_eq!(server.get("/api/poll").await.status(), 204);

    // Closing frees the slots: the gauge returns to 0.
    drop(sse);
    ws.close(None).await.expect("close");
    drop(ws);
    server.publish("demo", json!(1)).await;
    assert_eq!(long_poll.await.expect("join").status(), 200);
    wait_for_connections(&server, 0).await;
    assert_eq!(server.get("/api/sse?limit=1").await.status(), 200);
}

/// A client that sends `permessage-deflate` gets no extension back: frames
/// stay readable in the traffic log and no compression bombs are possible.
#[tokio::test]
async fn websocket_compression_is_never_negotiated() {
    let server = TestServer::start().await;
    let res = server
        .http
        .get(server.url("/api/ws"))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits",
        )
        .send()
        .await
        .expect("upgrade");
    assert_eq!(res.status(), 101);
    assert!(
        res.headers().get("sec-websocket-extensions").is_none(),
        "{:?}",
        res.headers()
    );
}
