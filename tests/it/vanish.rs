//! Clients that vanish: closed or reset connections (noticed at once, the
//! server watches every socket's read side), and peers that stop reading and
//! answering (half-open; noticed through the server's own writes: pings,
//! events). Either way everything is freed: the open-connections gauge in
//! `/api/status` returns to 0.

use std::time::{Duration, Instant};

use crate::common::proxy::FaultProxy;
use crate::common::*;
use realtime_playground::Config;
use serde_json::json;

fn proxy_upstream(server: &TestServer) -> std::net::SocketAddr {
    server.host.parse().expect("server address")
}

/// Opens an SSE stream through the proxy and waits for its first bytes.
async fn sse_through(proxy: &FaultProxy, query: &str) -> reqwest::Response {
    let mut res = reqwest::get(format!("{}/api/sse?{query}", proxy.base()))
        .await
        .expect("sse through the proxy");
    assert_eq!(res.status(), 200);
    let first = tokio::time::timeout(PATIENCE, res.chunk())
        .await
        .expect("retry line in time")
        .expect("read");
    assert!(first.is_some_and(|b| b.starts_with(b"retry:")));
    res
}

async fn ws_through(proxy: &FaultProxy) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/ws", proxy.host()))
        .await
        .expect("ws through the proxy");
    next_of_type(&mut ws, "welcome").await;
    ws
}

#[tokio::test]
async fn a_reset_sse_client_is_freed_at_once() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(proxy_upstream(&server)).await;
    // No heartbeats: the reset itself must be noticed.
    let _res = sse_through(&proxy, "heartbeat=0").await;
    wait_for_connections(&server, 1).await;
    proxy.cut();
    wait_for_connections(&server, 0).await;
    assert_eq!(server.status().await["subscribers"], 0);
}

#[tokio::test]
async fn a_reset_websocket_is_freed_at_once() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(proxy_upstream(&server)).await;
    let _ws = ws_through(&proxy).await;
    wait_for_connections(&server, 1).await;
    proxy.cut();
    wait_for_connections(&server, 0).await;
}

/// The peer stops answering (and reading): the pings go unanswered, and the
/// server closes it with 1008 after ping interval + timeout.
#[tokio::test]
async fn a_half_open_websocket_is_dropped_after_the_ping_timeout() {
    let server = TestServer::with(Config {
        ws_ping_interval_secs: 1,
        ws_ping_timeout_secs: 1,
        ..Config::for_tests()
    })
    .await;
    let proxy = FaultProxy::start(proxy_upstream(&server)).await;
    let _ws = ws_through(&proxy).await;
    wait_for_connections(&server, 1).await;
    let stalled_at = Instant::now();
    proxy.stall();
    wait_for_connections(&server, 0).await;
    let took = stalled_at.elapsed();
    // Ping at 1 s, no pong by 2 s, then at most a second waiting for a close reply.
    assert!(took >= Duration::from_millis(900), "too early: {took:?}");
    assert!(took < Duration::from_secs(5), "too late: {took:?}");
}

/// The peer stops reading while events keep coming: once the socket buffers
/// are full, a write makes no progress, and after `--write-timeout-secs` the
/// connection is closed and its stream freed.
#[tokio::test]
async fn an_sse_reader_that_stopped_reading_is_dropped_after_the_write_timeout() {
    let server = TestServer::with(Config {
        write_timeout_secs: 1,
        ..Config::for_tests()
    })
    .await;
    let proxy = FaultProxy::start(proxy_upstream(&server)).await;
    let _res = sse_through(&proxy, "topics=big").await;
    wait_for_connections(&server, 1).await;
    proxy.stall();
    let blob = "x".repeat(16 * 1024);
    let freed = tokio::time::timeout(Duration::from_secs(30), async {
        for n in 0.. {
            server
                .state
                .hub
                .publish(realtime_playground::hub::NewEvent {
                    topic: "big".into(),
                    kind: "blob".into(),
                    data: json!({ "n": n, "blob": blob }),
                });
            if n % 64 == 0 {
                if server.status().await["connections"]["total"] == 0 {
                    return n;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        unreachable!()
    })
    .await
    .expect("the stalled stream was closed");
    assert!(
        freed > 64,
        "closed only after the buffers filled ({freed} events)"
    );
}

/// A client that closes its socket is noticed at once, even on a stream with
/// heartbeats off and nothing to send.
#[tokio::test]
async fn a_closed_idle_stream_is_freed_at_once() {
    let server = TestServer::start().await;
    let stream = server.sse("/api/sse?heartbeat=0", None).await;
    wait_for_connections(&server, 1).await;
    drop(stream);
    wait_for_connections(&server, 0).await;
}

/// A long-poll whose client gave up is not held until its timeout.
#[tokio::test]
async fn an_abandoned_long_poll_is_freed_at_once() {
    let server = TestServer::start().await;
    let client = TestServer::client_of(&server);
    let waiting = tokio::spawn(async move { client.get("/api/long-poll?timeout=60").await });
    wait_for_connections(&server, 1).await;
    waiting.abort();
    wait_for_connections(&server, 0).await;
    assert_eq!(server.status().await["subscribers"], 0);
}
