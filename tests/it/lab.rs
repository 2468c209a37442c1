//! The comparison lab's server-side race against the real server (issue 6,
//! acceptance 1): the seed's table, measured.

use crate::common::*;
use serde_json::{Value, json};

/// Race `id`'s result, read as the learner who started it (only they may).
async fn finished(server: &TestServer, id: u64) -> Value {
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let run: Value = server
                .http
                .get(server.url(&format!("/api/lab/runs/{id}")))
                .header("X-Learner", "racer")
                .send()
                .await
                .expect("GET race")
                .json()
                .await
                .expect("json");
            if run["status"] == "done" {
                return run;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the race finished")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_race_measures_each_lane() {
    let server = TestServer::start().await;
    let res = server
        .http
        .post(server.url("/api/lab/runs"))
        .header("X-Learner", "racer")
        .json(&json!({"duration_s": 10, "rate_ms": 2000, "poll_interval_ms": 1000}))
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), 202);
    let started: Value = res.json().await.expect("json");
    assert_eq!(started["status"], "running");
    let run = finished(&server, started["id"].as_u64().expect("id")).await;
    assert_eq!(run["published"], 5, "one event every 2 s for 10 s");
    let lane = |name: &str| -> Value {
        run["lanes"]
            .as_array()
            .expect("lanes")
            .iter()
            .find(|l| l["transport"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} lane in {run}"))
    };
    for name in ["poll", "long_poll", "sse", "websocket"] {
        let l = lane(name);
        assert_eq!(
            (l["lost"].as_u64(), l["duplicated"].as_u64()),
            (Some(0), Some(0)),
            "{name}: {l}"
        );
        assert_eq!(l["received"], 5, "{name}");
        assert!(
            l["errors"].as_array().is_some_and(Vec::is_empty),
            "{name}: {l}"
        );
        assert!(
            l["header_bytes"].as_u64() > Some(0) && l["payload_bytes"].as_u64() > Some(0),
            "{name}"
        );
    }
    let poll = lane("poll");
    let requests = poll["requests"].as_u64().expect("requests");
    assert!((9..=12).contains(&requests), "about ten polls: {requests}");
    let share = poll["empty_share"].as_f64().expect("share");
    assert!((0.3..=0.7).contains(&share), "about half empty: {share}");
    // Polling waits up to an interval; pushes arrive in milliseconds.
    let poll_median = poll["delay_p50_ms"].as_f64().expect("delay");
    assert!(
        (50.0..=1100.0).contains(&poll_median),
        "polling delay is of the order of the interval: {poll_median}"
    );
    for name in ["sse", "websocket"] {
        let l = lane(name);
        assert_eq!(l["connections"], 1, "{name}: one connection");
        let median = l["delay_p50_ms"].as_f64().expect("delay");
        assert!(median < 50.0, "{name} delivers in milliseconds: {median}");
        assert!(
            median * 5.0 < poll_median,
            "{name} is much faster than polling"
        );
    }
    let long_poll = lane("long_poll");
    assert!(
        long_poll["requests"].as_u64() >= Some(5),
        "one request per delivery at least"
    );
}

#[tokio::test]
async fn races_are_bounded_and_validated() {
    let server = TestServer::start().await;
    // `from`: the last byte of the client's loopback address.
    let post = |from: u8, body: Value| {
        client_from(from)
            .post(server.url("/api/lab/runs"))
            .json(&body)
            .send()
    };
    let status = |res: reqwest::Result<reqwest::Response>| res.expect("post").status().as_u16();
    assert_eq!(status(post(1, json!({"duration_s": 600})).await), 400);
    assert_eq!(
        status(post(1, json!({"transports": ["carrier-pigeon"]})).await),
        400
    );
    let short = json!({"duration_s": 2, "transports": ["sse"]});
    assert_eq!(status(post(1, short.clone()).await), 202);
    let same_address = post(1, short.clone()).await.expect("post");
    assert_eq!(same_address.status(), 429, "one race per address");
    assert!(same_address.headers().contains_key("retry-after"));
    assert_eq!(status(post(2, short.clone()).await), 202);
    let third = post(3, short).await.expect("post");
    assert_eq!(third.status(), 429, "two races on the server");
    assert!(third.headers().contains_key("retry-after"));
    assert_eq!(server.get("/api/lab/runs/999").await.status(), 404);
}
