//! Acceptance 1: one published event reaches a poller, a long-poller, an SSE
//! client and a WebSocket client, each in id order with no duplicates.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn every_transport_sees_every_event_once_in_order() {
    let server = TestServer::start().await;

    // Connect the push clients first and wait until they are listening.
    let mut sse = server.sse("/api/sse", None).await;
    let mut ws = server.ws().await;
    assert_eq!(next_json(&mut ws).await["type"], "welcome");
    send_json(&mut ws, json!({"type": "subscribe"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "ack");
    server.wait_for_subscribers(2).await;

    // A long-poll held open while the first event is published.
    let long_poll = {
        let http = server.http.clone();
        let url = server.url("/api/long-poll?since=0&timeout=30");
        tokio::spawn(async move { http.get(url).send().await.expect("long-poll") })
    };
    server.wait_for_subscribers(3).await;

    let mut published = vec![];
    for n in 0..5 {
        published.push(server.publish("demo", json!({ "n": n })).await);
    }

    // Long-poll: answered with at least the first event.
    let res = long_poll.await.expect("join");
    assert_eq!(res.status(), 200);
    let batch: Value = res.json().await.expect("json");
    let mut lp_ids = ids(&batch["events"]);
    // Keep long-polling from where it left off until all five arrived.
    while lp_ids.len() < 5 {
        let since = lp_ids.last().copied().unwrap_or(0);
        let res = server
            .get(&format!("/api/long-poll?since={since}&timeout=5"))
            .await;
        assert_eq!(res.status(), 200);
        lp_ids.extend(ids(&res.json::<Value>().await.expect("json")["events"]));
    }
    assert_eq!(lp_ids, published, "long-poll");

    // Poll: one request returns them all.
    let res = server.get("/api/poll?since=0").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        ids(&res.json::<Value>().await.expect("json")["events"]),
        published,
        "poll"
    );

    // SSE and WebSocket: five events, in order, each once.
    let mut sse_ids = vec![];
    for _ in 0..5 {
        let e = next_sse(&mut sse).await.expect("sse event");
        assert_eq!(e.event, "test");
        sse_ids.push(e.id.parse::<u64>().expect("numeric id"));
    }
    assert_eq!(sse_ids, published, "sse");

    let mut ws_ids = vec![];
    for _ in 0..5 {
        let m = next_of_type(&mut ws, "event").await;
        ws_ids.push(m["event"]["id"].as_u64().expect("id"));
    }
    assert_eq!(ws_ids, published, "websocket");

    // Nothing extra is waiting on either stream.
    server.publish("demo", json!({"n": "sentinel"})).await;
    let e = next_sse(&mut sse).await.expect("sentinel");
    assert_eq!(e.id.parse::<u64>().ok(), Some(published[4] + 1));
    let m = next_of_type(&mut ws, "event").await;
    assert_eq!(m["event"]["id"].as_u64(), Some(published[4] + 1));
}

fn ids(events: &Value) -> Vec<u64> {
    events
        .as_array()
        .expect("events array")
        .iter()
        .map(|e| e["id"].as_u64().expect("id"))
        .collect()
}
