//! WebSocket against the real server with tokio-tungstenite (acceptance 4).

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use realtime_playground::Config;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn subscribe_then_receive_events() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    let welcome = next_json(&mut ws).await;
    assert_eq!(welcome["type"], "welcome");
    assert!(
        welcome["client_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("ws-"))
    );

    send_json(
        &mut ws,
        json!({"type": "subscribe", "topics": ["demo"], "ref": 7}),
    )
    .await;
    let ack = next_json(&mut ws).await;
    assert_eq!(
        (
            ack["type"].as_str(),
            ack["for"].as_str(),
            ack["ref"].as_u64()
        ),
        (Some("ack"), Some("subscribe"), Some(7))
    );
    assert_eq!(ack["topics"], json!(["demo"]));

    server.publish("elsewhere", json!({})).await;
    let id = server.publish("demo", json!({"x": 1})).await;
    let msg = next_json(&mut ws).await;
    assert_eq!(msg["type"], "event");
    assert_eq!(msg["event"]["id"], id);
    assert_eq!(msg["event"]["data"]["x"], 1);
}

#[tokio::test]
async fn subscribe_with_since_replays_what_was_missed() {
    let server = TestServer::start().await;
    let first = server.publish("demo", json!({})).await;
    let second = server.publish("demo", json!({})).await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    send_json(&mut ws, json!({"type": "subscribe", "since": first - 1})).await;
    next_of_type(&mut ws, "ack").await;
    assert_eq!(next_of_type(&mut ws, "event").await["event"]["id"], first);
    assert_eq!(next_of_type(&mut ws, "event").await["event"]["id"], second);
}

#[tokio::test]
async fn publish_over_the_socket_is_acked_and_delivered() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    send_json(&mut ws, json!({"type": "subscribe"})).await;
    next_of_type(&mut ws, "ack").await;
    send_json(
        &mut ws,
        json!({"type": "publish", "topic": "demo", "event": "note", "data": {"t": "hi"}}),
    )
    .await;
    let ack = next_json(&mut ws).await;
    assert_eq!(
        (ack["type"].as_str(), ack["for"].as_str()),
        (Some("ack"), Some("publish"))
    );
    let id = ack["id"].as_u64().expect("id");
    let event = next_of_type(&mut ws, "event").await;
    assert_eq!(
        (
            event["event"]["id"].as_u64(),
            event["event"]["type"].as_str()
        ),
        (Some(id), Some("note"))
    );

    // Pollers see it too.
    let res = server.get(&format!("/api/poll?since={}", id - 1)).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn chat_reaches_the_other_client_not_the_sender() {
    let server = TestServer::start().await;
    let mut alice = server.ws().await;
    let alice_id = next_of_type(&mut alice, "welcome").await["client_id"].clone();
    let mut bob = server.ws().await;
    next_of_type(&mut bob, "welcome").await;

    send_json(&mut alice, json!({"type": "chat", "text": "hello bob"})).await;
    assert_eq!(next_json(&mut alice).await["for"], "chat");
    let heard = next_json(&mut bob).await;
    assert_eq!(heard["type"], "chat");
    assert_eq!(heard["text"], "hello bob");
    assert_eq!(heard["from"], alice_id);

    // Alice got only her ack: the next thing she hears is Bob's answer.
    send_json(&mut bob, json!({"type": "chat", "text": "hi alice"})).await;
    assert_eq!(next_json(&mut alice).await["text"], "hi alice");
}

#[tokio::test]
async fn invalid_json_gets_an_error_and_the_connection_stays_open() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    ws.send(Message::text("{not json")).await.expect("send");
    let err = next_json(&mut ws).await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("invalid_json"))
    );

    send_json(&mut ws, json!({"type": "dance"})).await;
    assert_eq!(next_json(&mut ws).await["code"], "invalid_message");

    send_json(&mut ws, json!({"type": "ping", "ref": "p1"})).await;
    let pong = next_json(&mut ws).await;
    assert_eq!(
        (pong["type"].as_str(), pong["ref"].as_str()),
        (Some("pong"), Some("p1"))
    );

    send_json(&mut ws, json!({"type": "echo", "data": {"deep": [1, 2]}})).await;
    assert_eq!(next_json(&mut ws).await["data"], json!({"deep": [1, 2]}));
}

#[tokio::test]
async fn a_one_mebibyte_message_closes_with_1009() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    let big = "x".repeat(1024 * 1024);
    // The server may close before the whole frame is written; that is fine.
    let _ = ws.send(Message::text(big)).await;
    let code = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("closed in time");
    assert_eq!(code, Some(CloseCode::Size));
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_the_own_origin_accepted() {
    let server = TestServer::start().await;
    match server.ws_with_origin(Some("http://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 403);
        }
        other => panic!("expected a 403, got {:?}", other.map(|_| "connected")),
    }
    let own = format!("http://{}", server.host);
    let mut ws = server
        .ws_with_origin(Some(&own))
        .await
        .expect("same origin connects");
    assert_eq!(next_json(&mut ws).await["type"], "welcome");
}

#[tokio::test]
async fn a_plain_get_is_told_to_upgrade() {
    let server = TestServer::start().await;
    let res = server.get("/api/ws").await;
    assert_eq!(res.status(), 426);
    assert_eq!(res.headers()["upgrade"], "websocket");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn a_client_close_is_answered() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    ws.close(None).await.expect("close");
    let ended = tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the server finished the closing handshake");
}

/// A peer that never answers pings is closed with 1008 once the ping
/// timeout passes. tungstenite clients answer pings by themselves, so this
/// peer speaks raw TCP: it sends the handshake and then only reads frames.
#[tokio::test]
async fn a_peer_that_ignores_pings_is_disconnected() {
    use realtime_playground::Config;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = TestServer::with(Config {
        ws_ping_interval_secs: 1,
        ws_ping_timeout_secs: 1,
        ..Config::for_tests()
    })
    .await;
    let mut tcp = tokio::net::TcpStream::connect(&server.host)
        .await
        .expect("tcp");
    let handshake = format!(
        "GET /api/ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.host
    );
    tcp.write_all(handshake.as_bytes()).await.expect("write");

    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(PATIENCE, async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Skip the 101 response head.
        let head_end = loop {
            let n = tcp.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed during the handshake");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        assert!(buf.starts_with(b"HTTP/1.1 101"));
        buf.drain(..head_end);
        // Server frames are unmasked; ours are all shorter than 126 bytes.
        loop {
            while buf.len() >= 2 && buf.len() >= 2 + usize::from(buf[1] & 0x7f) {
                let opcode = buf[0] & 0x0f;
                let len = usize::from(buf[1] & 0x7f);
                let payload: Vec<u8> = buf.drain(..2 + len).skip(2).collect();
                seen.push(opcode);
                if opcode == 0x8 {
                    return Some(u16::from_be_bytes([payload[0], payload[1]]));
                }
            }
            let n = tcp.read(&mut chunk).await.expect("read");
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .expect("the server acted within the patience window");
    assert!(seen.contains(&0x9), "the server pinged first: {seen:?}");
    assert_eq!(outcome, Some(1008), "closed for not answering pings");
}

/// Garbage of every shape gets an answer and the connection stays up.
#[tokio::test]
async fn random_messages_never_break_the_connection() {
    // A budget larger than the 300 messages, so only the answers are under test.
    let server = TestServer::with(Config {
        ws_error_budget: 1000,
        ..Config::for_tests()
    })
    .await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    let mut rng = fastrand::Rng::with_seed(7);
    let pieces = [
        "{",
        "}",
        "\"type\"",
        ":",
        "\"subscribe\"",
        "\"publish\"",
        "\"chat\"",
        "\"topics\"",
        "[",
        "]",
        ",",
        "\"since\"",
        "-1",
        "18446744073709551616",
        "null",
        "true",
        "\"\\u0000\"",
        "\"ref\"",
        "1e309",
        "\"é\"",
    ];
    for _ in 0..300 {
        let text: String = (0..rng.usize(0..12))
            .map(|_| pieces[rng.usize(..pieces.len())])
            .collect();
        ws.send(Message::text(text.clone())).await.expect("send");
        let reply = next_json(&mut ws).await;
        let kind = reply["type"].as_str().unwrap_or_default().to_owned();
        assert!(
            ["error", "ack", "pong", "echo", "event", "chat", "reset"].contains(&kind.as_str()),
            "{text:?} got {reply}"
        );
    }
    send_json(&mut ws, serde_json::json!({"type": "ping"})).await;
    assert_eq!(next_of_type(&mut ws, "pong").await["type"], "pong");
}
