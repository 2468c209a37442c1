//! The network-faults lesson (issue 14) against the real server: each step's
//! checks count what the fault switches and actions did to the learner's own
//! real clients, and only theirs — a proxy step ticks only through the proxy,
//! a deploy step only once a WebSocket is back after the 502s, a storm step
//! only with both strategies, the debugging step only with an error frame
//! and a 4xx POST.

use crate::common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SLUG: &str = "network-faults";

async fn send(
    server: &TestServer,
    learner: &str,
    method: &str,
    path: &str,
    body: Value,
) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    server
        .http
        .request(method, server.url(path))
        .header("X-Learner", learner)
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn enter(server: &TestServer, learner: &str, step: &str) {
    let path = format!("/api/lessons/{SLUG}/steps/{step}/enter");
    let res = send(server, learner, "POST", &path, json!({})).await;
    assert!(res.status().is_success(), "{path}: {}", res.status());
}

/// The step's progress: `{done, checks: [{text, value, …}]}`.
async fn step(server: &TestServer, learner: &str, id: &str) -> Value {
    let p: Value = server
        .http
        .get(server.url(&format!("/api/lessons/{SLUG}/progress")))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("progress")
        .json()
        .await
        .expect("json");
    p["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
        .clone()
}

fn value(step: &Value, check: &str) -> u64 {
    step["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["text"].as_str().is_some_and(|t| t.starts_with(check)))
        .unwrap_or_else(|| panic!("no check {check} in {step}"))["value"]
        .as_u64()
        .expect("value")
}

async fn upgrade(
    server: &TestServer,
    learner: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = server
        .ws_url("/api/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("X-Learner", learner.parse().expect("learner"));
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// Polls, opens a short SSE stream and tries a WebSocket, as `learner`.
async fn three_clients(server: &TestServer, learner: &str) {
    server.publish("demo", json!({"text": "news"})).await;
    let poll = send(server, learner, "GET", "/api/poll?limit=20", json!({})).await;
    assert_eq!(poll.status(), 200);
    let sse = send(server, learner, "GET", "/api/sse?duration=1", json!({})).await;
    assert_eq!(sse.status(), 200);
    let _ = sse.bytes().await;
    let _ = upgrade(server, learner).await;
}

#[tokio::test]
async fn the_proxy_step_ticks_only_through_the_proxy() {
    let server = TestServer::start().await;
    let id = "through-a-corporate-proxy";
    enter(&server, "corp", id).await;
    enter(&server, "home", id).await;
    assert_eq!(
        step(&server, "corp", id).await["done"],
        false,
        "entering ticks nothing"
    );

    let on = send(
        &server,
        "corp",
        "PUT",
        "/api/faults",
        json!({"corporate_proxy": true}),
    )
    .await;
    assert_eq!(on.status(), 200);
    three_clients(&server, "corp").await;
    three_clients(&server, "home").await;

    let corp = step(&server, "corp", id).await;
    assert_eq!(
        (
            value(&corp, "polls_through_proxy"),
            value(&corp, "sse_through_proxy"),
            value(&corp, "ws_refused")
        ),
        (1, 1, 1),
        "{corp}"
    );
    assert_eq!(corp["done"], true);
    let home = step(&server, "home", id).await;
    assert_eq!(
        (
            value(&home, "polls_through_proxy"),
            value(&home, "ws_refused"),
            home["done"].clone()
        ),
        (0, 0, json!(false)),
        "without the proxy nothing is refused: {home}"
    );
}

#[tokio::test]
async fn a_deploy_refuses_the_stream_and_the_websocket_comes_back() {
    let server = TestServer::start().await;
    let id = "a-deploy-502-for-a-few-seconds";
    let me = "deployer";
    enter(&server, me, id).await;
    // A WebSocket opened before the deploy does not count as "back".
    let mut before = upgrade(&server, me).await.expect("open before the deploy");
    let res = send(
        &server,
        me,
        "POST",
        "/api/faults/deploy",
        json!({"seconds": 2}),
    )
    .await;
    assert_eq!(res.status(), 200);
    // The socket is cut (1001), the stream's reconnect is refused.
    while let Some(Ok(msg)) = before.next().await {
        if msg.is_close() {
            break;
        }
    }
    let sse = send(&server, me, "GET", "/api/sse", json!({})).await;
    assert_eq!(sse.status(), 502);
    assert!(
        upgrade(&server, me).await.is_err(),
        "refused during the deploy"
    );
    assert_eq!(
        value(&step(&server, me, id).await, "ws_back_after_deploy"),
        0
    );
    // Back-off: try until the deploy is over.
    let mut back = None;
    for attempt in 0..40 {
        match upgrade(&server, me).await {
            Ok(ws) => {
                back = Some(ws);
                break;
            }
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt.min(5))).await
            }
        }
    }
    assert!(back.is_some(), "the WebSocket came back after the deploy");
    let s = step(&server, me, id).await;
    assert_eq!(
        (
            value(&s, "deploys"),
            value(&s, "sse_refused_502"),
            value(&s, "ws_back_after_deploy")
        ),
        (1, 1, 1),
        "{s}"
    );
    assert_eq!(s["done"], true);
}

#[tokio::test]
async fn storms_count_by_strategy_and_mistakes_by_kind() {
    let server = TestServer::start().await;
    let storm_step = "a-reconnect-storm";
    let me = "stormy";
    enter(&server, me, storm_step).await;
    let fixed = send(
        &server,
        me,
        "POST",
        "/api/lab/storm",
        json!({"clients": 10, "strategy": "fixed", "transport": "sse", "retry_ms": 100}),
    )
    .await;
    assert_eq!(fixed.status(), 202);
    assert_eq!(fixed.headers()["x-storm-strategy"], "fixed");
    let run: Value = fixed.json().await.expect("run");
    let mut status = run["status"].clone();
    while status == "running" {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let r: Value = server
            .get(&format!("/api/lab/storm/{}", run["id"]))
            .await
            .json()
            .await
            .expect("run");
        status = r["status"].clone();
    }
    let s = step(&server, me, storm_step).await;
    assert_eq!(
        (
            value(&s, "storm_runs_fixed"),
            value(&s, "storm_runs_jitter")
        ),
        (1, 0),
        "{s}"
    );
    assert_eq!(s["done"], false, "one strategy is not a comparison");
    let jitter = send(
        &server,
        me,
        "POST",
        "/api/lab/storm",
        json!({"clients": 10, "strategy": "backoff_jitter", "transport": "sse", "retry_ms": 100}),
    )
    .await;
    assert_eq!(jitter.status(), 202);
    assert_eq!(step(&server, me, storm_step).await["done"], true);

    let debug_step = "debugging-one-failed-message";
    enter(&server, me, debug_step).await;
    let bad = send(&server, me, "POST", "/api/events", json!({"topic": 42})).await;
    assert!(bad.status().is_client_error());
    let mut ws = upgrade(&server, me).await.expect("ws");
    next_of_type(&mut ws, "welcome").await;
    send_json(&mut ws, json!({"type": "shout"})).await;
    next_of_type(&mut ws, "error").await;
    let s = step(&server, me, debug_step).await;
    assert_eq!(
        (value(&s, "ws_errors_received"), value(&s, "bad_posts")),
        (1, 1),
        "{s}"
    );
    assert_eq!(s["done"], true);
}
