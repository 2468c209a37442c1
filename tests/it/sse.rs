//! Server-Sent Events against the real server (acceptance 3 and 5).

use crate::common::*;
use futures_util::StreamExt;
use realtime_playground::Config;
use serde_json::{Value, json};

#[tokio::test]
async fn stream_starts_with_retry_and_carries_id_event_and_json_data() {
    let server = TestServer::start().await;
    let res = server.get("/api/sse?limit=1").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(res.headers()["x-accel-buffering"], "no");
    let mut body = res.bytes_stream();
    let first = body.next().await.expect("chunk").expect("bytes");
    // The resume point: the newest id (none yet on a fresh server).
    assert_eq!(&first[..], b"retry: 2000\nid: 0\n\n");

    server.wait_for_subscribers(1).await;
    let id = server
        .publish("demo", json!({"text": "line one\nline two"}))
        .await;
    let mut text = String::new();
    while let Some(chunk) = body.next().await {
        text.push_str(std::str::from_utf8(&chunk.expect("bytes")).expect("utf-8"));
    }
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(format!("id: {id}").as_str()));
    assert_eq!(lines.next(), Some("event: test"));
    let data = lines
        .next()
        .and_then(|l| l.strip_prefix("data: "))
        .expect("data line");
    let event: Value = serde_json::from_str(data).expect("data is JSON on one line");
    assert_eq!(event["data"]["text"], "line one\nline two");
    assert_eq!(lines.next(), Some(""), "blank line ends the event");
    assert_eq!(lines.next(), None, "limit=1 ended the stream");
}

#[tokio::test]
async fn limit_ends_the_stream_after_that_many_events() {
    let server = TestServer::start().await;
    let stream = server.sse("/api/sse?limit=3", None).await;
    server.wait_for_subscribers(1).await;
    for n in 0..5 {
        server.publish("demo", json!({ "n": n })).await;
    }
    let events: Vec<_> = tokio::time::timeout(PATIENCE, stream.collect::<Vec<_>>())
        .await
        .expect("stream ended");
    let ids: Vec<&str> = events
        .iter()
        .filter(|e| !e.id.is_empty())
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(ids, vec!["1", "2", "3"]);
}

#[tokio::test]
async fn duration_ends_an_idle_stream() {
    let server = TestServer::start().await;
    let stream = server.sse("/api/sse?duration=1", None).await;
    let events: Vec<_> = tokio::time::timeout(PATIENCE, stream.collect::<Vec<_>>())
        .await
        .expect("stream ended");
    assert!(
        events.iter().all(|e| e.id.is_empty()),
        "no events were published"
    );
}

#[tokio::test]
async fn reconnect_with_last_event_id_gets_exactly_the_missed_events() {
    let server = TestServer::start().await;
    let mut stream = server.sse("/api/sse", None).await;
    server.wait_for_subscribers(1).await;
    let first = server.publish("demo", json!({"n": 1})).await;
    let seen = next_sse(&mut stream).await.expect("event");
    assert_eq!(seen.id, first.to_string());
    // The server only notices at its next write; publishing now is "while away".
    drop(stream);

    // Missed while disconnected.
    let mut missed = vec![];
    for n in 2..=4 {
        missed.push(server.publish("demo", json!({ "n": n })).await.to_string());
    }
    let mut resumed = server.sse("/api/sse", Some(&seen.id)).await;
    let mut got = vec![];
    for _ in 0..3 {
        got.push(next_sse(&mut resumed).await.expect("replayed").id);
    }
    assert_eq!(got, missed);

    // And then live, with no duplicate.
    let live = server.publish("demo", json!({"n": 5})).await;
    assert_eq!(
        next_sse(&mut resumed).await.expect("live").id,
        live.to_string()
    );

    // The query-string form works for clients that cannot set headers.
    let mut by_query = server
        .sse(&format!("/api/sse?last_event_id={first}&limit=4"), None)
        .await;
    let mut got = vec![];
    while let Some(e) = next_sse(&mut by_query).await {
        got.push(e.id);
    }
    assert_eq!(got.len(), 4);
    assert_eq!(got[0], missed[0]);
}

#[tokio::test]
async fn reconnect_after_the_buffer_moved_on_gets_the_reset_event() {
    let server = TestServer::with(Config {
        replay_buffer: 3,
        ..Config::for_tests()
    })
    .await;
    for n in 0..10 {
        server.publish("demo", json!({ "n": n })).await;
    }
    let mut stream = server.sse("/api/sse", Some("2")).await;
    let reset = next_sse(&mut stream).await.expect("reset");
    assert_eq!(reset.event, "reset");
    assert!(reset.id.is_empty(), "the reset does not move Last-Event-ID");
    let info: Value = serde_json::from_str(&reset.data).expect("json");
    assert_eq!(info["reason"], "gap");
    assert_eq!(info["oldest_available"], 8);
    let mut got = vec![];
    for _ in 0..3 {
        got.push(next_sse(&mut stream).await.expect("event").id);
    }
    assert_eq!(got, vec!["8", "9", "10"]);
}

#[tokio::test]
async fn heartbeat_comments_flow_while_idle() {
    let server = TestServer::with(Config {
        sse_heartbeat_secs: 1,
        ..Config::for_tests()
    })
    .await;
    let res = server.get("/api/sse").await;
    let mut body = res.bytes_stream();
    let mut text = String::new();
    tokio::time::timeout(PATIENCE, async {
        while !text.contains(": heartbeat\n\n") {
            let chunk = body.next().await.expect("open").expect("bytes");
            text.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    })
    .await
    .expect("a heartbeat arrived");
}

#[tokio::test]
async fn topics_filter_the_stream() {
    let server = TestServer::start().await;
    let mut stream = server.sse("/api/sse?topics=wanted", None).await;
    server.wait_for_subscribers(1).await;
    server.publish("other", json!({})).await;
    let wanted = server.publish("wanted", json!({})).await;
    assert_eq!(
        next_sse(&mut stream).await.expect("event").id,
        wanted.to_string()
    );
}

#[tokio::test]
async fn a_garbled_last_event_id_is_ignored_and_the_stream_goes_on() {
    // Any error status ends an EventSource for good, so an id this server
    // never gave is "no resume point", not a 400.
    let server = TestServer::start().await;
    let mut stream = server.sse("/api/sse", Some("banana")).await;
    server.wait_for_subscribers(1).await;
    let id = server.publish("t", json!({})).await;
    assert_eq!(
        next_sse(&mut stream).await.expect("event").id,
        id.to_string()
    );
}
