//! Catch-up is not delay: old events a client asks for (a poll without
//! `since`, an SSE resume far back, a WebSocket `subscribe` with `since`) are
//! counted as catch-up in the traffic log, never as the transport's delay;
//! a live event afterwards has its small, real delay. Real clients, real server.

use std::time::Duration;

use crate::common::*;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const LEARNER: &str = "catching-up";
const BACKLOG: u64 = 50;
/// How old the backlog is when it is fetched; every real delay here is far smaller.
const BACKLOG_AGE: Duration = Duration::from_millis(1500);

async fn get_as(server: &TestServer, path: &str) -> reqwest::Response {
    server.get_as(LEARNER, path).await
}

async fn entries_of(server: &TestServer, transport: &str) -> Vec<Value> {
    let page: Value = get_as(server, &format!("/api/traffic?transport={transport}"))
        .await
        .json()
        .await
        .expect("json");
    page["entries"].as_array().expect("entries").clone()
}

async fn stats_of(server: &TestServer, transport: &str) -> Value {
    let stats: Value = get_as(server, "/api/traffic/stats?window=600")
        .await
        .json()
        .await
        .expect("json");
    stats["transports"]
        .as_array()
        .expect("transports")
        .iter()
        .find(|t| t["transport"] == transport)
        .expect("transport stats")
        .clone()
}

/// An SSE stream as the learner, from `Last-Event-ID` if given.
async fn sse_as(
    server: &TestServer,
    path: &str,
    last_event_id: Option<u64>,
) -> impl futures_util::Stream<Item = eventsource_stream::Event> + Unpin + use<> {
    let mut req = server
        .http
        .get(server.url(path))
        .header("X-Learner", LEARNER);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let res = req.send().await.expect("sse");
    assert_eq!(res.status(), 200);
    res.bytes_stream()
        .eventsource()
        .map(|e| e.expect("valid SSE"))
        .boxed()
}

async fn ws_as(server: &TestServer) -> Ws {
    let mut req = server
        .ws_url("/api/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("X-Learner", LEARNER.parse().expect("header"));
    tokio_tungstenite::connect_async(req).await.expect("ws").0
}

fn ids(entry: &Value) -> Vec<u64> {
    entry["event_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Every event entry of a stream: the backlog ones are catch-up without a
/// delay, the live one has a real delay.
fn assert_stream_entries(entries: &[Value], backlog: &[u64], live: u64) {
    let events: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "event").collect();
    for id in backlog {
        let e = events
            .iter()
            .find(|e| ids(e) == [*id])
            .unwrap_or_else(|| panic!("an entry for #{id}"));
        assert_eq!(e["catch_up"], 1, "#{id} is catch-up: {e}");
        assert!(e.get("delays_ms").is_none(), "#{id} has no delay: {e}");
        assert!(
            e["narration"]
                .as_str()
                .is_some_and(|n| n.contains("catch-up")),
            "{e}"
        );
    }
    let live = events
        .iter()
        .find(|e| ids(e) == [live])
        .expect("live entry");
    assert!(live.get("catch_up").is_none(), "{live}");
    let delay = live["delays_ms"][0].as_f64().expect("a live delay");
    assert!(delay < BACKLOG_AGE.as_millis() as f64, "{delay} ms");
}

fn assert_stats(stats: &Value) {
    assert_eq!(stats["caught_up"], BACKLOG, "{stats}");
    let max = stats["delay_max_ms"]
        .as_f64()
        .expect("the live event's delay");
    assert!(
        max < BACKLOG_AGE.as_millis() as f64,
        "the backlog's age leaked into the delays: {stats}"
    );
    assert!(
        stats["summary"]
            .as_str()
            .is_some_and(|s| s.contains("caught up on 50 older events")),
        "{stats}"
    );
}

#[tokio::test]
async fn a_backlog_is_catch_up_and_a_live_event_has_its_real_delay() {
    let server = TestServer::start().await;
    // The socket opens before the backlog is published: only its `subscribe`
    // with `since` makes what it replays catch-up.
    let mut ws = ws_as(&server).await;
    next_of_type(&mut ws, "welcome").await;
    let mut backlog = Vec::new();
    for n in 0..BACKLOG {
        backlog.push(server.publish("demo", json!({ "n": n })).await);
    }
    let (first, last) = (backlog[0], backlog[backlog.len() - 1]);
    // Not a synchronization: the backlog must be old for its age to show.
    tokio::time::sleep(BACKLOG_AGE).await;

    // A poll without `since`: the replay buffer, all of it catch-up.
    let res = get_as(&server, "/api/poll?limit=1000").await;
    assert_eq!(res.status(), 200);
    let batch: Value = res.json().await.expect("batch");
    assert_eq!(batch["events"].as_array().map(Vec::len), Some(50));

    // SSE resuming far back: 50 replayed events, then the stream ends.
    let mut replay = sse_as(&server, "/api/sse?limit=50", Some(first - 1)).await;
    let mut replayed = 0;
    while let Some(e) = replay.next().await {
        replayed += u64::from(!e.data.is_empty());
    }
    assert_eq!(replayed, BACKLOG);

    // The WebSocket subscribes with `since`: the same 50, replayed.
    send_json(&mut ws, json!({"type": "subscribe", "since": first - 1})).await;
    for id in &backlog {
        let m = next_of_type(&mut ws, "event").await;
        assert_eq!(m["event"]["id"], *id);
    }

    // Then a live event reaches every client while it is listening.
    let mut live_sse = sse_as(&server, "/api/sse?limit=1", None).await;
    assert_eq!(
        get_as(&server, &format!("/api/poll?since={last}"))
            .await
            .status(),
        204
    );
    server.wait_for_subscribers(2).await;
    let live = server.publish("demo", json!({ "live": true })).await;
    let pushed = next_sse(&mut live_sse).await.expect("live SSE event");
    assert_eq!(pushed.id, live.to_string());
    assert_eq!(next_of_type(&mut ws, "event").await["event"]["id"], live);
    let res = get_as(&server, &format!("/api/poll?since={last}")).await;
    assert_eq!(res.status(), 200);

    // Polls: the first answer is all catch-up, the last one live.
    let polls = entries_of(&server, "poll").await;
    let first_poll = &polls[0];
    assert_eq!(ids(first_poll), backlog);
    assert_eq!(first_poll["catch_up"], BACKLOG, "{first_poll}");
    assert!(first_poll.get("delays_ms").is_none(), "{first_poll}");
    let said = first_poll["narration"].as_str().expect("narration");
    assert!(said.contains("caught up on 50 older events"), "{said}");
    assert!(!said.contains("waited"), "{said}");
    let last_poll = polls.last().expect("last poll");
    assert_eq!(ids(last_poll), [live]);
    assert!(last_poll.get("catch_up").is_none(), "{last_poll}");
    let delay = last_poll["delays_ms"][0].as_f64().expect("live delay");
    assert!(delay < BACKLOG_AGE.as_millis() as f64, "{delay} ms");
    let poll_stats = stats_of(&server, "poll").await;
    assert_stats(&poll_stats);
    assert_eq!(poll_stats["events_delivered"], BACKLOG + 1);

    assert_stream_entries(&entries_of(&server, "sse").await, &backlog, live);
    assert_stats(&stats_of(&server, "sse").await);
    assert_stream_entries(&entries_of(&server, "websocket").await, &backlog, live);
    assert_stats(&stats_of(&server, "websocket").await);
}

#[tokio::test]
async fn a_poll_that_keeps_asking_waits_no_longer_than_its_interval() {
    let server = TestServer::start().await;
    let old = server.publish("demo", json!({})).await;
    // The client starts from now: no backlog, the newest id in the header.
    let res = get_as(&server, "/api/poll?from=newest").await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["x-last-event-id"], old.to_string().as_str());
    let news = server.publish("demo", json!({})).await;
    let res = get_as(&server, &format!("/api/poll?since={old}")).await;
    assert_eq!(res.status(), 200);
    let polls = entries_of(&server, "poll").await;
    assert!(
        polls[0]["narration"]
            .as_str()
            .is_some_and(|n| n.contains("No backlog, please")),
        "{}",
        polls[0]
    );
    let answer = &polls[1];
    assert_eq!(ids(answer), [news]);
    assert!(
        answer.get("catch_up").is_none(),
        "published after the previous poll: {answer}"
    );
    assert!(answer["delays_ms"][0].as_f64().is_some());
}
