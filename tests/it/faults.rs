//! Fault switches against the real server: the idle-timeout killer, the
//! buffering proxy, and gzip on the stream (buffered vs flushed).

use std::time::{Duration, Instant};

use crate::common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};

async fn open_sse(
    server: &TestServer,
    learner: &str,
    query: &str,
) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin + use<> {
    Box::pin(server.sse_as(learner, query).await.bytes_stream())
}

#[tokio::test]
async fn the_idle_killer_closes_silent_streams_and_spares_heartbeating_ones() {
    let server = TestServer::start().await;
    server
        .set_faults("idle", json!({"idle_timeout_s": 2}))
        .await;
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

    let log = server.traffic_of("idle", "?transport=sse").await;
    let closed: Vec<&Value> = log.iter().filter(|e| e["kind"] == "closed").collect();
    assert!(closed.iter().any(|e| {
        e["close_reason"]
            .as_str()
            .is_some_and(|r| r.contains("idle-timeout"))
    }));
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
    server.set_faults("buffered", json!({"buffer_s": 2})).await;
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
    server.set_faults("v", json!({"latency_ms": 50})).await;
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
}

/// gzip as a decompressing client sees it: bytes in, text out as far as
/// the compressed data so far allows.
struct Gunzip(flate2::write::GzDecoder<Vec<u8>>);

impl Gunzip {
    fn new() -> Self {
        Gunzip(flate2::write::GzDecoder::new(Vec::new()))
    }

    fn feed(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.0.write_all(bytes).expect("valid gzip");
        self.0.flush().expect("inflate");
    }

    fn events(&self) -> usize {
        String::from_utf8_lossy(self.0.get_ref())
            .matches("\ndata: ") // one per event; the opening block has an id but no data
            .count()
    }
}

/// An SSE response, checked to be gzip-compressed.
async fn open_gzipped(
    server: &TestServer,
    learner: &str,
    query: &str,
) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin + use<> {
    let res = server.sse_as(learner, query).await;
    assert_eq!(res.headers()["content-encoding"], "gzip", "{learner}");
    Box::pin(res.bytes_stream())
}

#[tokio::test]
async fn gzip_buffered_holds_events_in_the_encoder_and_flushed_sends_each_at_once() {
    let server = TestServer::start().await;
    server
        .set_faults("buffered", json!({"gzip": "buffered"}))
        .await;
    server
        .set_faults("flushed", json!({"gzip": "flushed"}))
        .await;
    let mut buffered = open_gzipped(&server, "buffered", "?topics=zip&limit=6").await;
    let mut flushed = open_gzipped(&server, "flushed", "?topics=zip").await;
    server.wait_for_subscribers(2).await;

    // Flushed: each event can be decompressed before the next is published.
    let mut flushed_text = Gunzip::new();
    for i in 0..5 {
        server.publish("zip", json!({ "i": i })).await;
        tokio::time::timeout(PATIENCE, async {
            while flushed_text.events() < i + 1 {
                let chunk = flushed.next().await.expect("open").expect("bytes");
                flushed_text.feed(&chunk);
            }
        })
        .await
        .expect("a flushed event arrives at once, compressed");
    }

    // Buffered: the same five events are still in the server's encoder.
    let mut buffered_text = Gunzip::new();
    buffered_text.feed(&received_within(&mut buffered, Duration::from_millis(300)).await);
    assert_eq!(
        buffered_text.events(),
        0,
        "gzip held all five events while the flushed stream had them"
    );

    // The sixth ends the stream (limit=6): the encoder's finish lets all out in one lump.
    server.publish("zip", json!({ "i": 5 })).await;
    let rest = tokio::time::timeout(PATIENCE, async {
        let mut rest = Vec::new();
        while let Some(chunk) = buffered.next().await {
            rest.extend_from_slice(&chunk.expect("bytes"));
        }
        rest
    })
    .await
    .expect("the stream ended");
    buffered_text.feed(&rest);
    assert_eq!(buffered_text.events(), 6, "all six, at the end");
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
