//! Fault switches against the real server (issue 6, acceptance 3 in part):
//! the idle-timeout killer and the buffering proxy.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};

async fn set_faults(server: &TestServer, learner: &str, switches: Value) {
    let res = server
        .http
        .put(server.url("/api/faults"))
        .header("X-Learner", learner)
        .json(&switches)
        .send()
        .await
        .expect("PUT /api/faults");
    assert_eq!(res.status(), 200);
}

async fn open_sse(
    server: &TestServer,
    learner: &str,
    query: &str,
) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin + use<> {
    let res = server
        .http
        .get(server.url(&format!("/api/sse{query}")))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("sse");
    assert_eq!(res.status(), 200);
    Box::pin(res.bytes_stream())
}

#[tokio::test]
async fn the_idle_killer_closes_silent_streams_and_spares_heartbeating_ones() {
    let server = TestServer::start().await;
    set_faults(&server, "idle", json!({"idle_timeout_s": 2})).await;
    let mut silent = open_sse(&server, "idle", "?heartbeat=0").await;
    let mut chatty = open_sse(&server, "idle", "?heartbeat=1").await;

    // The silent one ends by itself (after its `retry:` preamble).
    tokio::time::timeout(PATIENCE, async {
        while let Some(chunk) = silent.next().await {
            chunk.expect("bytes");
        }
    })
    .await
    .expect("the silent stream was closed");

    // The heartbeating one outlives the timeout: three more heartbeats arrive.
    let mut beats = 0;
    tokio::time::timeout(PATIENCE, async {
        while beats < 3 {
            let chunk = chatty.next().await.expect("still open").expect("bytes");
            if chunk.starts_with(b": heartbeat") {
                beats += 1;
            }
        }
    })
    .await
    .expect("heartbeats kept it alive");

    let log: Value = server
        .http
        .get(server.url("/api/traffic?transport=sse"))
        .header("X-Learner", "idle")
        .send()
        .await
        .expect("traffic")
        .json()
        .await
        .expect("json");
    let closed: Vec<&Value> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "closed")
        .collect();
    assert!(closed.iter().any(|e| {
        e["close_reason"]
            .as_str()
            .is_some_and(|r| r.contains("idle-timeout"))
    }));
    server.stop().await;
}

/// Median publish → received delay, in milliseconds, of `n` events published
/// 250 ms apart, as seen by `learner`'s SSE stream (read as they arrive).
async fn median_delay(server: &TestServer, learner: &str, topic: &str, n: usize) -> f64 {
    let res = server
        .http
        .get(server.url(&format!("/api/sse?topics={topic}")))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("sse");
    let mut stream = eventsource_stream::Eventsource::eventsource(res.bytes_stream());
    let reader = tokio::spawn(async move {
        let mut delays = Vec::new();
        while delays.len() < n {
            let e = tokio::time::timeout(PATIENCE, stream.next())
                .await
                .expect("event in time")
                .expect("open")
                .expect("valid");
            if e.data.is_empty() {
                continue;
            }
            let event: Value = serde_json::from_str(&e.data).expect("json");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis() as u64;
            delays.push(now.saturating_sub(event["published_at_ms"].as_u64().expect("ms")) as f64);
        }
        delays.sort_by(f64::total_cmp);
        delays[delays.len() / 2]
    });
    server.wait_for_subscribers(1).await;
    for i in 0..n {
        server.publish(topic, json!({ "i": i })).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    reader.await.expect("reader")
}

#[tokio::test]
async fn the_buffering_proxy_delays_events_into_bursts() {
    let server = TestServer::start().await;
    let plain = median_delay(&server, "plain", "plain", 4).await;
    server.stop().await;

    let server = TestServer::start().await;
    set_faults(&server, "buffered", json!({"buffer_s": 2})).await;
    let started = Instant::now();
    let buffered = median_delay(&server, "buffered", "buffered", 4).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "held until the proxy's flush"
    );
    assert!(
        plain < 200.0,
        "without the switch events arrive at once: {plain} ms"
    );
    assert!(
        buffered > plain + 500.0,
        "the buffering proxy holds them back: {buffered} ms vs {plain} ms"
    );
    server.stop().await;
}

#[tokio::test]
async fn switches_are_validated_and_reset() {
    let server = TestServer::start().await;
    let res = server
        .http
        .put(server.url("/api/faults"))
        .header("X-Learner", "v")
        .json(&json!({"idle_timeout_s": 100000}))
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), 400);
    set_faults(&server, "v", json!({"latency_ms": 50})).await;
    let now: Value = server
        .http
        .get(server.url("/api/faults"))
        .header("X-Learner", "v")
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(now["latency_ms"], 50);
    let reset: Value = server
        .http
        .delete(server.url("/api/faults"))
        .header("X-Learner", "v")
        .send()
        .await
        .expect("delete")
        .json()
        .await
        .expect("json");
    assert_eq!(reset["latency_ms"], 0);
    server.stop().await;
}

#[tokio::test]
async fn gzip_on_the_stream_holds_events_back() {
    let server = TestServer::start().await;
    set_faults(&server, "zipped", json!({"gzip": true})).await;
    let mut plain = open_sse(&server, "plain", "?topics=zip").await;
    let mut zipped = open_sse(&server, "zipped", "?topics=zip").await;
    server.wait_for_subscribers(2).await;
    for i in 0..5 {
        server.publish("zip", json!({ "i": i })).await;
    }
    // What each client has received one second later.
    let plain_bytes = received_within(&mut plain, Duration::from_secs(1)).await;
    let zipped_bytes = received_within(&mut zipped, Duration::from_secs(1)).await;
    let plain_text = String::from_utf8_lossy(&plain_bytes);
    assert_eq!(
        plain_text.matches("\nid: ").count() + usize::from(plain_text.starts_with("id: ")),
        5,
        "all five arrived uncompressed"
    );
    assert!(
        zipped_bytes.len() < 100,
        "gzip held the events in its buffer: {} bytes arrived",
        zipped_bytes.len()
    );
    server.stop().await;
}

async fn received_within(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    window: Duration,
) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(window, async {
        while let Some(Ok(chunk)) = stream.next().await {
            got.extend_from_slice(&chunk);
        }
    })
    .await;
    got
}
