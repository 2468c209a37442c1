//! Slow consumers: a client that reads nothing while 100,000 events are
//! published must not make the server buffer them. Every connection reads
//! from the hub's bounded ring, so memory stays flat (the kernel's socket
//! buffers hold the rest), and a reader that lags gets an explicit `reset` for
//! what it missed. A stream whose writes stay stuck is closed by the write
//! timeout; that is tested in `tests/it/vanish.rs`.
//!
//! The memory test runs the real binary: the reading is the server's alone,
//! whatever other tests do in threads of this process meanwhile.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::{SinkExt, StreamExt};
use realtime_playground::hub::NewEvent;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::binary::Binary;
use crate::common::*;

/// 100,000 events of about 1 KB: ~100 MB if anything queued them per client.
const EVENTS: u64 = 100_000;
/// Growth of the server's memory allowed while they are published, in MiB
/// (about 10 measured here, the full ring included; a ring that held all of
/// them grew it by 222).
const BOUND_MIB: u64 = 20;

/// Ids from 1; no traffic log (its own bound is tested in traffic_bound.rs:
/// filling it here would be growth that is not the readers'); a publish rate
/// that lets one socket publish everything at once; and write timeouts (for
/// streams, and for WebSockets the ping timeout) longer than the flood, so
/// the two readers that read nothing stay connected throughout.
const FLOOD_SERVER: [&str; 15] = [
    "--event-ids",
    "from-one",
    "--no-traffic-log",
    "--publish-rate-per-learner",
    "1000000",
    "--publish-rate-per-address",
    "1000000",
    "--publish-rate-total",
    "1000000",
    "--publish-rate-per-connection",
    "1000000",
    "--write-timeout-secs",
    "600",
    "--ws-ping-timeout-secs",
    "600",
];

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

/// Publishes `count` events on `flood` over one WebSocket, as fast as the
/// server acknowledges them; returns the last id.
async fn publish_over_websocket(server: &Binary, count: u64, payload: &str) -> u64 {
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url("/api/ws"))
        .await
        .expect("publisher socket");
    let (mut sink, mut stream) = ws.split();
    let send = async move {
        for n in 0..count {
            let publish = json!({"type": "publish", "topic": "flood", "event": "tick",
                                 "data": {"n": n, "pad": payload}});
            sink.feed(Message::text(publish.to_string()))
                .await
                .expect("publish");
        }
        sink.flush().await.expect("publish");
        sink
    };
    let acks = async move {
        let (mut acked, mut last) = (0, 0);
        while acked < count {
            let text = match stream.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("after {acked} acks, the publisher's socket got {other:?}"),
            };
            let answer: Value = serde_json::from_str(text.as_str()).expect("json");
            match answer["type"].as_str() {
                Some("ack") => {
                    acked += 1;
                    last = answer["id"].as_u64().expect("the new id");
                }
                Some("error") => panic!("publish refused: {answer}"),
                _ => {}
            }
        }
        last
    };
    let (mut sink, last) =
        tokio::time::timeout(Duration::from_secs(240), async { tokio::join!(send, acks) })
            .await
            .expect("every publish acknowledged");
    let _ = sink.close().await;
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_keeps_memory_bounded() {
    let server = Binary::start(&FLOOD_SERVER).await;
    // An SSE stream whose body is never read (heartbeats so its end is noticed)...
    let sse = server
        .http
        .get(server.url("/api/sse?topics=flood&heartbeat=1"))
        .send()
        .await
        .expect("sse");
    assert_eq!(sse.status(), 200);
    // ...and a WebSocket that subscribes and then never reads.
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/api/ws"))
        .await
        .expect("websocket");
    next_of_type(&mut ws, "welcome").await;
    send_json(&mut ws, json!({"type": "subscribe", "topics": ["flood"]})).await;
    next_of_type(&mut ws, "ack").await;
    server
        .wait_for_status("two subscribers", |s| s["subscribers"] == 2)
        .await;

    let before = server.rss_kib();
    let last = publish_over_websocket(&server, EVENTS, &"p".repeat(1000)).await;
    assert_eq!(last, EVENTS);
    let after = server.rss_kib();
    let grown_mib = after.saturating_sub(before) / 1024;
    assert!(
        grown_mib < BOUND_MIB,
        "the server's memory grew by {grown_mib} MiB ({before} → {after} KiB)"
    );

    let status = server.status().await;
    assert_eq!(status["buffered"], 1000, "the ring stays at its size");
    assert_eq!(
        status["subscribers"], 2,
        "both readers were there throughout"
    );
    // Everybody else is served as usual.
    let poll = server
        .http
        .get(server.url(&format!("/api/poll?since={}", EVENTS - 1)))
        .send()
        .await
        .expect("poll");
    assert_eq!(poll.status(), 200);

    // What is left for the two readers fits in the socket buffers (a stream whose
    // writes stay stuck is closed by the write timeout: tests/it/vanish.rs); once
    // they go, everything is freed.
    drop((sse, ws));
    server
        .wait_for_status("every connection closed", |s| {
            s["connections"]["total"] == 0 && s["subscribers"] == 0
        })
        .await;
}

#[tokio::test]
async fn a_lagging_sse_reader_gets_a_reset_never_a_silent_skip() {
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
}
