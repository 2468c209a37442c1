//! Per-learner stores in a workshop (issue 17, finding 4): a script renaming
//! itself on every request (`X-Learner`) pushes out its own learners' lesson
//! progress, challenge attempts and traffic, never another machine's, and
//! creates only so many learners a minute.

use realtime_playground::Config;
use serde_json::{Value, json};

use crate::common::*;

/// A lesson step with hints: taking one is progress the server keeps.
async fn step_with_hints(server: &TestServer) -> (String, String) {
    let lesson: Value = server
        .get("/api/lessons/polling")
        .await
        .json()
        .await
        .expect("lesson");
    let step = lesson["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["hints"].as_u64().unwrap_or(0) > 0)
        .expect("a step with hints");
    ("polling".into(), step["id"].as_str().expect("id").into())
}

async fn send_as(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    learner: &str,
) -> reqwest::Response {
    http.request(method, url)
        .header("X-Learner", learner)
        .send()
        .await
        .expect("request")
}

/// Hints `learner` has revealed on the step.
async fn hints_taken(
    server: &TestServer,
    http: &reqwest::Client,
    learner: &str,
    step: &(String, String),
) -> usize {
    let url = server.url(&format!("/api/lessons/{}/steps/{}/hints", step.0, step.1));
    let res = send_as(http, reqwest::Method::GET, url, learner).await;
    assert_eq!(res.status(), 200);
    let hints: Value = res.json().await.expect("hints");
    hints["hints"].as_array().expect("hints").len()
}

async fn take_hint(
    server: &TestServer,
    http: &reqwest::Client,
    learner: &str,
    step: &(String, String),
) -> u16 {
    let url = server.url(&format!("/api/lessons/{}/steps/{}/hints", step.0, step.1));
    send_as(http, reqwest::Method::POST, url, learner)
        .await
        .status()
        .as_u16()
}

/// Solves "ten for three" as `learner` from `http`: best score 1.
async fn solve_ten_for_three(server: &TestServer, http: &reqwest::Client, learner: &str) -> Value {
    let challenge = server.url("/api/lab/challenges/ten-updates-three-requests");
    let started = send_as(
        http,
        reqwest::Method::POST,
        format!("{challenge}/start"),
        learner,
    )
    .await;
    assert_eq!(started.status(), 200);
    let stream = send_as(
        http,
        reqwest::Method::GET,
        server.url("/api/sse?topics=golf"),
        learner,
    )
    .await;
    let mut events = eventsource_stream::Eventsource::eventsource(stream.bytes_stream());
    server.wait_for_subscribers(1).await;
    for i in 0..10 {
        server.publish("golf", json!({ "i": i })).await;
    }
    for _ in 0..10 {
        next_numbered(&mut events).await;
    }
    send_as(http, reqwest::Method::GET, challenge, learner)
        .await
        .json()
        .await
        .expect("status")
}

#[tokio::test]
async fn renaming_yourself_pushes_out_your_own_learners_not_another_machines() {
    let server = TestServer::with(Config {
        learners_per_address: 16,
        traffic_log_size: 400,
        traffic_per_address: 200,
        ..Config::for_tests()
    })
    .await;
    let step = step_with_hints(&server).await;
    let (room, script) = (client_from(2), client_from(1));

    assert_eq!(take_hint(&server, &room, "ana", &step).await, 200);
    let solved = solve_ten_for_three(&server, &room, "ana").await;
    assert_eq!(
        (solved["state"].as_str(), solved["best"].as_u64()),
        (Some("solved"), Some(1)),
        "{solved}"
    );
    let logged = server.traffic_of("ana", "").await.len();
    assert!(logged >= 3, "ana's requests are in her log: {logged}");

    // 300 made-up learners, each taking a hint and starting a challenge.
    let start = server.url("/api/lab/challenges/drop-and-miss-nothing/start");
    for i in 0..300 {
        let name = format!("rotating-{i}");
        assert_eq!(take_hint(&server, &script, &name, &step).await, 200);
        let res = send_as(&script, reqwest::Method::POST, start.clone(), &name).await;
        assert_eq!(res.status(), 200);
    }

    assert_eq!(
        hints_taken(&server, &room, "ana", &step).await,
        1,
        "her progress is kept"
    );
    let ana: Value = send_as(
        &room,
        reqwest::Method::GET,
        server.url("/api/lab/challenges/ten-updates-three-requests"),
        "ana",
    )
    .await
    .json()
    .await
    .expect("status");
    assert_eq!(
        ana["best"].as_u64(),
        Some(1),
        "her best score is kept: {ana}"
    );
    assert!(
        server.traffic_of("ana", "").await.len() >= logged,
        "her log is kept"
    );

    // The script lost its own first learners, and holds no more than its share.
    assert_eq!(hints_taken(&server, &script, "rotating-0", &step).await, 0);
    assert_eq!(
        hints_taken(&server, &script, "rotating-299", &step).await,
        1
    );
    let first: Value = send_as(
        &script,
        reqwest::Method::GET,
        server.url("/api/lab/challenges/drop-and-miss-nothing"),
        "rotating-0",
    )
    .await
    .json()
    .await
    .expect("status");
    assert_eq!(
        first["state"], "idle",
        "its attempt was pushed out: {first}"
    );
    assert!(server.traffic_of("rotating-0", "").await.is_empty());
}

#[tokio::test]
async fn an_address_creates_a_bounded_number_of_learners_a_minute() {
    let server = TestServer::with(Config {
        new_learners_per_minute: 5,
        ..Config::for_tests()
    })
    .await;
    let step = step_with_hints(&server).await;
    let script = client_from(1);
    for i in 0..5 {
        assert_eq!(
            take_hint(&server, &script, &format!("new-{i}"), &step).await,
            200
        );
    }
    let url = server.url(&format!("/api/lessons/{}/steps/{}/hints", step.0, step.1));
    let refused = send_as(&script, reqwest::Method::POST, url, "new-5").await;
    assert_eq!(refused.status(), 429);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let problem: Value = refused.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("learners in the last minute")),
        "{problem}"
    );
    // A learner it already has goes on; another machine's new learner is welcome.
    assert_eq!(take_hint(&server, &script, "new-0", &step).await, 200);
    assert_eq!(
        take_hint(&server, &client_from(2), "new-5", &step).await,
        200
    );
    // Reading never creates a learner, so it is never refused.
    assert_eq!(hints_taken(&server, &script, "new-6", &step).await, 0);
}
