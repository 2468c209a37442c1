//! The corporate-proxy fault switch against the real server: WebSocket
//! upgrades refused, SSE held until 4 KiB (or the end) and then let through
//! in a burst, polling and long-polling untouched. Another learner's traffic
//! never goes through the proxy.

use std::sync::{Arc, Mutex};

use crate::common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const CORP: &str = "behind-proxy";
const DIRECT: &str = "direct";

async fn behind_the_proxy(server: &TestServer) {
    let res = server
        .http
        .put(server.url("/api/faults"))
        .header("X-Learner", CORP)
        .json(&json!({"corporate_proxy": true}))
        .send()
        .await
        .expect("PUT /api/faults");
    assert_eq!(res.status(), 200);
}

async fn upgrade(server: &TestServer, path: &str, learner: &str) -> Result<Ws, tungstenite::Error> {
    let mut req = server.ws_url(path).into_client_request().expect("request");
    req.headers_mut()
        .insert("X-Learner", learner.parse().expect("learner"));
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

#[tokio::test]
async fn websocket_upgrades_are_refused_and_polls_pass_unchanged() {
    let server = TestServer::start().await;
    behind_the_proxy(&server).await;
    for path in ["/api/ws", "/api/ws/echo"] {
        let Err(tungstenite::Error::Http(refused)) = upgrade(&server, path, CORP).await else {
            panic!("{path}: the upgrade went through the proxy");
        };
        assert_eq!(refused.status(), 403, "{path}");
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert!(
            refused.headers()["via"]
                .to_str()
                .is_ok_and(|v| v.contains("corporate-proxy"))
        );
        let problem: Value =
            serde_json::from_slice(refused.body().as_deref().expect("a body")).expect("json");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("WebSocket"))
        );
        // The same upgrade from another learner is not behind the proxy.
        upgrade(&server, path, DIRECT)
            .await
            .expect("direct upgrade");
    }

    let id = server.publish("corp", json!({"n": 1})).await;
    for path in [
        format!("/api/poll?since={}", id - 1),
        format!("/api/long-poll?since={}&timeout=1", id - 1),
        format!("/api/poll?since={id}"),
    ] {
        let mut answers = Vec::new();
        for learner in [CORP, DIRECT] {
            let res = server
                .http
                .get(server.url(&path))
                .header("X-Learner", learner)
                .send()
                .await
                .expect("poll");
            // The proxy passes the answer on unchanged and says so in `Via`
            // (the network-faults lesson counts polls through it by that).
            assert_eq!(
                res.headers().get("via").is_some(),
                learner == CORP,
                "{path}: Via only through the proxy"
            );
            answers.push((res.status(), res.bytes().await.expect("body")));
        }
        assert_eq!(
            answers[0], answers[1],
            "{path}: the same answer through the proxy"
        );
    }
}

/// What a client has read from a stream so far, piece by piece, and how
/// many events had been published when each piece arrived.
#[derive(Default)]
struct Received {
    pieces: Vec<(usize, Vec<u8>)>,
    ended: bool,
}

impl Received {
    fn bytes(&self) -> usize {
        self.pieces.iter().map(|(_, p)| p.len()).sum()
    }
}

fn read_into(
    body: impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static,
    published: Arc<Mutex<usize>>,
) -> Arc<Mutex<Received>> {
    let mut body = Box::pin(body);
    let received = Arc::new(Mutex::new(Received::default()));
    let into = received.clone();
    tokio::spawn(async move {
        while let Some(Ok(chunk)) = body.next().await {
            let at = *published.lock().expect("lock");
            into.lock().expect("lock").pieces.push((at, chunk.to_vec()));
        }
        into.lock().expect("lock").ended = true;
    });
    received
}

#[tokio::test]
async fn an_sse_stream_stalls_until_4_kib_then_arrives_in_a_burst() {
    let server = TestServer::start().await;
    behind_the_proxy(&server).await;
    let published = Arc::new(Mutex::new(0));
    let proxied = server.sse_as(CORP, "?topics=burst&heartbeat=0").await;
    assert!(
        proxied.headers()["via"]
            .to_str()
            .is_ok_and(|v| v.contains("corporate-proxy"))
    );
    let proxied = read_into(proxied.bytes_stream(), published.clone());
    let direct = server.sse_as(DIRECT, "?topics=burst&heartbeat=0").await;
    let mut direct = direct.bytes_stream();
    server.wait_for_subscribers(2).await;

    // Both streams carry the same bytes; the direct one shows when each is sent.
    let mut sent = 0;
    let mut n = 0;
    while sent < 4096 {
        assert_eq!(
            proxied.lock().expect("lock").bytes(),
            0,
            "the proxy let bytes through before its 4 KiB buffer filled ({sent} B sent)"
        );
        n += 1;
        // Counted before it is published: the proxy may pass it on before the 202 arrives.
        *published.lock().expect("lock") = n;
        let id = server
            .publish("burst", json!({ "n": n, "pad": "x".repeat(400) }))
            .await;
        tokio::time::timeout(PATIENCE, async {
            let mut text = String::new();
            while !text.contains(&format!("id: {id}\n")) {
                let chunk = direct.next().await.expect("open").expect("bytes");
                sent += chunk.len();
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("the direct stream gets each event at once");
    }
    assert!(
        n >= 8,
        "400-byte events need several to fill 4 KiB, took {n}"
    );

    // Only now does the proxy pass it on: all n events at once.
    tokio::time::timeout(PATIENCE, async {
        while proxied.lock().expect("lock").bytes() < sent {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the burst arrived");
    let pieces = proxied.lock().expect("lock").pieces.clone();
    let (first_at, _) = pieces[0];
    assert_eq!(
        first_at, n,
        "nothing arrived before event {n} filled the buffer"
    );
    let text: String = pieces
        .iter()
        .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert_eq!(
        text.matches("\ndata: ").count(),
        n,
        "every held event came in the burst"
    );
}

#[tokio::test]
async fn heartbeats_fill_the_buffer_too_and_the_end_of_the_stream_flushes_it() {
    let server = TestServer::start().await;
    behind_the_proxy(&server).await;
    let published = Arc::new(Mutex::new(0));
    let query = "?topics=quiet&heartbeat=1&duration=3";
    let proxied = read_into(
        server.sse_as(CORP, query).await.bytes_stream(),
        published.clone(),
    );
    let direct = read_into(server.sse_as(DIRECT, query).await.bytes_stream(), published);
    tokio::time::timeout(PATIENCE, async {
        while !(proxied.lock().expect("lock").ended && direct.lock().expect("lock").ended) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("both streams ended after 3 s");
    let direct = direct.lock().expect("lock").pieces.clone();
    let proxied = proxied.lock().expect("lock").pieces.clone();
    assert!(
        direct.len() >= 3,
        "directly: the retry line, then each heartbeat as it is written ({} pieces)",
        direct.len()
    );
    assert_eq!(
        proxied.len(),
        1,
        "through the proxy: nothing until the end, then everything in one piece"
    );
    let text = String::from_utf8_lossy(&proxied[0].1).into_owned();
    assert!(text.starts_with("retry: "), "{text}");
    assert!(text.matches(": heartbeat").count() >= 2, "{text}");
}
