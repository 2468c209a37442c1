//! What the binary says about itself: it listens on loopback unless told
//! otherwise (and warns when told), and its log records connects,
//! disconnects and refusals, never what anybody sent.

#![cfg(unix)]

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SECRET: &str = "s3cret-payload-7f1e";

/// Stops the binary and returns everything it wrote to stderr.
async fn stop_and_read_log(mut child: tokio::process::Child) -> String {
    terminate(&child);
    let mut log = String::new();
    let mut stderr = child.stderr.take().expect("stderr");
    tokio::time::timeout(PATIENCE, stderr.read_to_string(&mut log))
        .await
        .expect("the binary exited")
        .expect("read stderr");
    log
}

#[tokio::test]
async fn the_log_has_connects_disconnects_and_refusals_but_no_contents() {
    let (child, port) = spawn_binary(&[]).await;
    let base = format!("127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // A WebSocket that chats and publishes something secret, then leaves.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{base}/api/ws"))
        .await
        .expect("websocket");
    ws.next().await;
    for msg in [
        json!({"type": "chat", "text": SECRET}),
        json!({"type": "publish", "topic": "t", "event": "e", "data": SECRET}),
        json!({"type": SECRET}),
    ] {
        ws.send(Message::text(msg.to_string())).await.expect("send");
        ws.next().await;
    }
    ws.close(None).await.expect("close");
    while ws.next().await.is_some() {}

    // An SSE stream that comes and goes, and a secret published over HTTP.
    let sse = http
        .get(format!("http://{base}/api/sse"))
        .send()
        .await
        .expect("sse");
    drop(sse);
    let res = http
        .post(format!("http://{base}/api/events"))
        .json(&json!({"topic": "t", "type": "e", "data": {"text": SECRET}}))
        .send()
        .await
        .expect("publish");
    assert_eq!(res.status(), 202);

    // A refusal: an upgrade from another origin.
    let mut req = format!("ws://{base}/api/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("Origin", "https://evil.example".parse().expect("origin"));
    assert!(tokio_tungstenite::connect_async(req).await.is_err());

    let log = stop_and_read_log(child).await;
    for expected in [
        "websocket connected",
        "websocket closed",
        "kind=Sse",
        "opened",
        "closed",
        "refused a WebSocket upgrade from a foreign origin",
        "shutting down",
    ] {
        assert!(
            log.contains(expected),
            "{expected:?} missing from the log:\n{log}"
        );
    }
    assert!(
        !log.contains(SECRET),
        "message contents leaked into the log:\n{log}"
    );
}

#[tokio::test]
async fn it_listens_on_loopback_by_default_and_warns_when_told_otherwise() {
    let (child, port) = spawn_binary(&[]).await;
    let reachable = reqwest::get(format!("http://127.0.0.1:{port}/api/status")).await;
    assert!(reachable.is_ok_and(|r| r.status() == 200));
    let log = stop_and_read_log(child).await;
    assert!(!log.contains("warning: listening on"), "{log}");

    let (mut child, _) = spawn_binary(&["--bind", "0.0.0.0"]).await;
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let warning = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.expect("read stderr") {
            if line.starts_with("warning: listening on") {
                return line;
            }
        }
        panic!("no warning before the log ended");
    })
    .await
    .expect("a warning in time");
    assert!(
        warning.contains("0.0.0.0") && warning.contains("meant for local use"),
        "{warning}"
    );
    terminate(&child);
}
