//! Slow consumers: a client that reads nothing while 100,000 events are
//! published must not make the server buffer them. Every connection reads
//! from the hub's bounded ring, so memory stays flat (the kernel's socket
//! buffers hold the rest), and a reader that lags gets an explicit `reset` for
//! what it missed. A stream whose writes stay stuck is closed by the write
//! timeout; that is tested in `tests/vanish.rs`.

use std::time::Duration;

use crate::common::*;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use realtime_playground::hub::NewEvent;
use serde_json::{Value, json};

/// The two tests measure memory of this process; they take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn publish_many(server: &TestServer, count: usize, payload: &str) -> u64 {
    let mut last = 0;
    for n in 0..count {
        last = server
            .state
            .hub
            .publish(NewEvent {
                topic: "flood".into(),
                kind: "tick".into(),
                data: json!({ "n": n, "pad": payload }),
            })
            .id;
    }
    last
}

#[tokio::test]
async fn a_client_that_reads_nothing_keeps_memory_bounded() {
    let _turn = SERIAL.lock().await;
    let server = TestServer::start().await;
    // An SSE stream whose body is never read (heartbeats so its end is noticed)...
    let sse = server
        .http
        .get(server.url("/api/sse?topics=flood&heartbeat=1"))
        .send()
        .await
        .expect("sse");
    assert_eq!(sse.status(), 200);
    // ...and a WebSocket that subscribes and then never reads.
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    send_json(&mut ws, json!({"type": "subscribe", "topics": ["flood"]})).await;
    next_of_type(&mut ws, "ack").await;
    server.wait_for_subscribers(2).await;

    let before = rss_kib();
    // 100,000 events of about 1 KB: ~100 MB if anything queued them per client.
    let last = publish_many(&server, 100_000, &"p".repeat(1000));
    assert_eq!(last, 100_000);
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 40, "memory grew by {grown_mib} MiB");

    let status = server.status().await;
    assert_eq!(status["buffered"], 1000, "the ring stays at its size");
    // Everybody else is served as usual.
    assert_eq!(server.get("/api/poll?since=99999").await.status(), 200);

    // What is left for the two readers fits in the socket buffers (a stream whose
    // writes stay stuck is closed by the write timeout: tests/vanish.rs); once
    // they go, everything is freed.
    drop((sse, ws));
    wait_for_connections(&server, 0).await;
    assert_eq!(server.status().await["subscribers"], 0);
    server.stop().await;
}

#[tokio::test]
async fn a_lagging_sse_reader_gets_a_reset_never_a_silent_skip() {
    let _turn = SERIAL.lock().await;
    let server = TestServer::start().await;
    let res = server
        .http
        .get(server.url("/api/sse?topics=flood"))
        .send()
        .await
        .expect("sse");
    server.wait_for_subscribers(1).await;
    // Far more than the socket buffers and the 1,000-event ring hold.
    let last = publish_many(&server, 20_000, &"p".repeat(1000));

    // Now read everything: every jump in ids must come right after a reset.
    let mut events = res.bytes_stream().eventsource();
    let mut previous: Option<u64> = None;
    let mut resets = 0;
    let mut reset_pending = false;
    let mut delivered = 0;
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(Ok(e)) = events.next().await {
            if e.event == "reset" {
                let reset: Value = serde_json::from_str(&e.data).expect("reset json");
                assert_eq!(reset["reason"], "gap");
                resets += 1;
                reset_pending = true;
                continue;
            }
            if e.id.is_empty() {
                continue;
            }
            let id: u64 = e.id.parse().expect("id");
            if let Some(p) = previous
                && id != p + 1
            {
                assert!(reset_pending, "#{p} → #{id} skipped without a reset");
            }
            reset_pending = false;
            previous = Some(id);
            delivered += 1;
            if id == last {
                break;
            }
        }
    })
    .await
    .expect("the reader caught up to the newest event");
    assert_eq!(previous, Some(last));
    assert!(resets >= 1, "the lag was reported");
    assert!(
        delivered < 20_000,
        "{delivered} delivered: nothing was dropped?"
    );
    server.stop().await;
}
