//! Each challenge solved through real clients, and failed through real
//! clients (issue 6, acceptance 4).

mod common;

use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};

async fn call(server: &TestServer, learner: &str, method: &str, path: &str) -> Value {
    let req = match method {
        "POST" => server.http.post(server.url(path)),
        _ => server.http.get(server.url(path)),
    };
    let res = req
        .header("X-Learner", learner)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "{method} {path}");
    res.json().await.expect("json")
}

async fn state(server: &TestServer, learner: &str, id: &str) -> Value {
    call(server, learner, "GET", &format!("/api/lab/challenges/{id}")).await
}

async fn sse_as(
    server: &TestServer,
    learner: &str,
    last_event_id: Option<u64>,
) -> reqwest::Response {
    let mut req = server
        .http
        .get(server.url("/api/sse?topics=golf"))
        .header("X-Learner", learner);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let res = req.send().await.expect("sse");
    assert_eq!(res.status(), 200);
    res
}

#[tokio::test]
async fn ten_for_three_solved_with_one_stream() {
    let server = TestServer::start().await;
    let s = call(
        &server,
        "golfer",
        "POST",
        "/api/lab/challenges/ten-updates-three-requests/start",
    )
    .await;
    assert_eq!(s["state"], "pending");
    let res = sse_as(&server, "golfer", None).await;
    let mut events = eventsource_stream::Eventsource::eventsource(res.bytes_stream());
    server.wait_for_subscribers(1).await;
    for i in 0..10 {
        server.publish("golf", json!({ "i": i })).await;
    }
    let mut got = 0;
    while got < 10 {
        let e = events.next().await.expect("open").expect("valid");
        if !e.id.is_empty() {
            got += 1;
        }
    }
    let s = state(&server, "golfer", "ten-updates-three-requests").await;
    assert_eq!(
        (s["state"].as_str(), s["score"].as_u64(), s["best"].as_u64()),
        (Some("solved"), Some(1), Some(1)),
        "{s}"
    );
    server.stop().await;
}

#[tokio::test]
async fn ten_for_three_failed_by_polling() {
    let server = TestServer::start().await;
    call(
        &server,
        "poller",
        "POST",
        "/api/lab/challenges/ten-updates-three-requests/start",
    )
    .await;
    for _ in 0..4 {
        let res = server
            .http
            .get(server.url("/api/poll?since=0"))
            .header("X-Learner", "poller")
            .send()
            .await
            .expect("poll");
        assert_eq!(res.status(), 204);
    }
    let s = state(&server, "poller", "ten-updates-three-requests").await;
    assert_eq!(s["state"], "failed", "{s}");
    assert!(s["best"].is_null());
    // Reset clears the attempt.
    let s = call(
        &server,
        "poller",
        "POST",
        "/api/lab/challenges/ten-updates-three-requests/reset",
    )
    .await;
    assert_eq!(s["state"], "idle");
    server.stop().await;
}

async fn drop_sse(server: &TestServer, learner: &str) {
    let res = server
        .http
        .post(server.url("/api/connections/drop"))
        .header("X-Learner", learner)
        .json(&json!({"transport": "sse"}))
        .send()
        .await
        .expect("drop");
    assert_eq!(res.status(), 200);
}

/// Opens a stream, receives one event, has it dropped, and waits for the end.
async fn receive_then_get_dropped(server: &TestServer, learner: &str) -> u64 {
    let res = sse_as(server, learner, None).await;
    let mut events = eventsource_stream::Eventsource::eventsource(res.bytes_stream());
    server.wait_for_subscribers(1).await;
    let id = server.publish("golf", json!({})).await;
    loop {
        let e = events.next().await.expect("open").expect("valid");
        if !e.id.is_empty() {
            break;
        }
    }
    drop_sse(server, learner).await;
    while let Some(Ok(_)) = events.next().await {}
    id
}

#[tokio::test]
async fn drop_and_resume_solved_with_last_event_id() {
    let server = TestServer::start().await;
    call(
        &server,
        "resumer",
        "POST",
        "/api/lab/challenges/drop-and-miss-nothing/start",
    )
    .await;
    let last = receive_then_get_dropped(&server, "resumer").await;
    let missed = server.publish("golf", json!({})).await;
    let res = sse_as(&server, "resumer", Some(last)).await;
    let mut events = eventsource_stream::Eventsource::eventsource(res.bytes_stream());
    loop {
        let e = events.next().await.expect("open").expect("valid");
        if !e.id.is_empty() {
            assert_eq!(e.id, missed.to_string(), "the missed event is replayed");
            break;
        }
    }
    let s = state(&server, "resumer", "drop-and-miss-nothing").await;
    assert_eq!(s["state"], "solved", "{s}");
    assert!(s["score"].as_u64().is_some());
    server.stop().await;
}

#[tokio::test]
async fn drop_and_resume_failed_without_last_event_id() {
    let server = TestServer::start().await;
    call(
        &server,
        "forgetful",
        "POST",
        "/api/lab/challenges/drop-and-miss-nothing/start",
    )
    .await;
    receive_then_get_dropped(&server, "forgetful").await;
    let _fresh = sse_as(&server, "forgetful", None).await;
    let s = state(&server, "forgetful", "drop-and-miss-nothing").await;
    assert_eq!(s["state"], "failed", "{s}");
    server.stop().await;
}

#[tokio::test]
async fn challenges_are_listed_and_unknown_ones_are_404() {
    let server = TestServer::start().await;
    let list = call(&server, "x", "GET", "/api/lab/challenges").await;
    assert!(
        list.as_array()
            .is_some_and(|l| l.len() >= 2 && l.iter().all(|c| c["state"] == "idle"))
    );
    assert_eq!(server.get("/api/lab/challenges/nope").await.status(), 404);
    server.stop().await;
}
