//! Short polling and long-polling against the real server (acceptance 2).

use std::time::{Duration, Instant};

use crate::common::*;
use realtime_playground::Config;
use serde_json::{Value, json};

#[tokio::test]
async fn idle_poll_says_no_with_204() {
    let server = TestServer::start().await;
    let res = server.get("/api/poll").await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["x-last-event-id"], "0");
    assert!(res.bytes().await.expect("body").is_empty());

    let id = server.publish("demo", json!({})).await;
    let res = server.get(&format!("/api/poll?since={id}")).await;
    assert_eq!(res.status(), 204, "nothing after the newest id");
    assert_eq!(res.headers()["x-last-event-id"], id.to_string().as_str());
}

#[tokio::test]
async fn poll_returns_news_and_a_cursor() {
    let server = TestServer::start().await;
    let first = server.publish("a", json!({"n": 1})).await;
    let second = server.publish("b", json!({"n": 2})).await;

    let res = server.get("/api/poll").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["last_id"], second);
    assert_eq!(body["more"], false);
    assert!(body.get("reset").is_none());
    let e = &body["events"][0];
    assert_eq!(
        (e["id"].as_u64(), e["topic"].as_str(), e["type"].as_str()),
        (Some(first), Some("a"), Some("test"))
    );
    assert!(e["published_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    // Topic filter: only b; the cursor still covers everything scanned.
    let body: Value = server
        .get("/api/poll?since=0&topics=b")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["events"][0]["topic"], "b");
    assert_eq!(body["events"].as_array().map(Vec::len), Some(1));

    // A filter that matches nothing: 204, but the cursor moves on.
    let res = server.get("/api/poll?since=0&topics=zzz").await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.headers()["x-last-event-id"],
        second.to_string().as_str()
    );

    // limit=1: one event, `more` set, cursor at that event.
    let body: Value = server
        .get("/api/poll?since=0&limit=1")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (body["more"].as_bool(), body["last_id"].as_u64()),
        (Some(true), Some(first))
    );
}

#[tokio::test]
async fn poll_after_an_evicted_id_gets_an_explicit_reset() {
    let server = TestServer::with(Config {
        replay_buffer: 3,
        ..Config::for_tests()
    })
    .await;
    for n in 0..10 {
        server.publish("demo", json!({ "n": n })).await;
    }
    let body: Value = server
        .get("/api/poll?since=2")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["reset"]["reason"], "gap");
    assert_eq!(body["reset"]["requested_since"], 2);
    assert_eq!(body["reset"]["oldest_available"], 8);
    let ids: Vec<u64> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![8, 9, 10]);

    // An id from the future (e.g. from before a restart) is a reset too.
    let body: Value = server
        .get("/api/poll?since=500")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["reset"]["reason"], "unknown_id");
}

#[tokio::test]
async fn idle_long_poll_times_out_with_204() {
    let server = TestServer::start().await;
    let started = Instant::now();
    let res = server.get("/api/long-poll?timeout=1").await;
    let waited = started.elapsed();
    assert_eq!(res.status(), 204);
    assert!(
        waited >= Duration::from_millis(950),
        "answered too early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(3),
        "held far too long: {waited:?}"
    );
}

#[tokio::test]
async fn waiting_long_poll_answers_within_100_ms_of_a_publish() {
    let server = TestServer::start().await;
    let pending = {
        let http = server.http.clone();
        let url = server.url("/api/long-poll?timeout=30");
        tokio::spawn(async move {
            let res = http.get(url).send().await.expect("long-poll");
            (Instant::now(), res)
        })
    };
    server.wait_for_subscribers(1).await;
    let published_at = Instant::now();
    let id = server.publish("demo", json!({"hello": "world"})).await;
    let (answered_at, res) = pending.await.expect("join");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["events"][0]["id"], id);
    let delay = answered_at - published_at;
    assert!(
        delay < Duration::from_millis(100),
        "long-poll answered {delay:?} after the publish"
    );
}

#[tokio::test]
async fn long_poll_with_news_waiting_answers_at_once() {
    let server = TestServer::start().await;
    let id = server.publish("demo", json!({})).await;
    let res = server.get("/api/long-poll?since=0&timeout=30").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["events"][0]["id"], id);
    assert_eq!(
        server.status().await["subscribers"],
        0,
        "the held request is released"
    );
}
