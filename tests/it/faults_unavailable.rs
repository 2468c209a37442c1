//! The `long_poll_unavailable` fault switch against the real server: the
//! learner who turns it on gets `503` + `Retry-After` on every long-poll (a
//! problem document, at once), nobody else does, their other transports do
//! not, and turning it off ends it. The exercise "Back off after an error"
//! (lesson 13) is built on it.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn my_long_polls_get_503_with_retry_after_until_i_turn_it_off() {
    let server = TestServer::start().await;
    let on = server
        .set_faults("shed", json!({"long_poll_unavailable": true}))
        .await;
    assert_eq!(on["long_poll_unavailable"], true);

    // Answered at once: no `since`, a 60 s timeout, and still no wait.
    let res = tokio::time::timeout(PATIENCE, server.get_as("shed", "/api/long-poll?timeout=60"))
        .await
        .expect("the 503 came at once");
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.expect("problem");
    assert_eq!(problem["status"], 503);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("long_poll_unavailable")),
        "{problem}"
    );

    // Only long-polls, and only mine.
    assert_ne!(server.get_as("shed", "/api/poll").await.status(), 503);
    let other = server
        .get_as("someone-else", "/api/long-poll?timeout=1")
        .await;
    assert_eq!(
        other.status(),
        204,
        "another learner's long-poll times out as usual"
    );

    server.set_faults("shed", json!({})).await;
    let back = server.get_as("shed", "/api/long-poll?timeout=1").await;
    assert_eq!(back.status(), 204, "the switch is off: a normal timeout");
}

#[tokio::test]
async fn the_document_shows_the_503_and_the_switch() {
    let server = TestServer::start().await;
    let doc: Value = server
        .get("/openapi.json")
        .await
        .json()
        .await
        .expect("document");
    let answer = &doc["paths"]["/api/long-poll"]["get"]["responses"]["503"];
    assert_eq!(
        answer["headers"]["Retry-After"]["required"], true,
        "{answer}"
    );
    assert_eq!(
        answer["content"]["application/problem+json"]["example"]["status"],
        503
    );
    let switch =
        &doc["components"]["schemas"]["FaultSwitches"]["properties"]["long_poll_unavailable"];
    assert_eq!(switch["type"], "boolean", "{switch}");
}
