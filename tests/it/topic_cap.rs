//! SSE topic lists had no limit (the WebSocket's was 64): 500 streams with
//! 62 KB topic lists took hundreds of MB and both cores. Every transport now
//! refuses more than 64 topics, or a list over 4160 bytes, with a problem
//! document, before a stream opens.

use crate::common::*;
use realtime_playground::hub::{MAX_TOPIC_LIST_BYTES, MAX_TOPICS};

fn topics(n: usize) -> String {
    (0..n)
        .map(|i| format!("t{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn long_topic_lists_are_refused_on_every_transport() {
    let server = TestServer::start().await;
    let too_many = topics(MAX_TOPICS + 1);
    let too_long = format!("{},{}", topics(10), "x".repeat(MAX_TOPIC_LIST_BYTES));
    for path in ["/api/sse", "/api/poll", "/api/long-poll"] {
        for list in [&too_many, &too_long] {
            let res = server
                .get(&format!("{path}?topics={list}&limit=1&timeout=1"))
                .await;
            assert_eq!(res.status(), 400, "{path} with {} bytes", list.len());
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            let problem: serde_json::Value = res.json().await.expect("problem");
            assert_eq!(problem["status"], 400);
        }
    }
    assert_eq!(
        server.status().await["connections"]["total"],
        0,
        "nothing held"
    );
    // Exactly the cap is fine.
    let res = server
        .get(&format!(
            "/api/sse?topics={}&duration=1",
            topics(MAX_TOPICS)
        ))
        .await;
    assert_eq!(res.status(), 200);
    drop(res);
    let res = server
        .get(&format!("/api/poll?topics={}", topics(MAX_TOPICS)))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
}

#[tokio::test]
async fn the_document_states_the_byte_cap() {
    let server = TestServer::start().await;
    let doc: serde_json::Value = server
        .get("/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    for path in ["/api/sse", "/api/poll", "/api/long-poll"] {
        let params = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters");
        let topics = params
            .iter()
            .find(|p| p["name"] == "topics")
            .expect("topics");
        assert_eq!(
            topics["schema"]["maxLength"], MAX_TOPIC_LIST_BYTES,
            "{path}"
        );
    }
}
