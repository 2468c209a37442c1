//! A server restart must not pass for "nothing happened": ids of the new run
//! never repeat the old run's, and a client resuming with an old id gets an
//! explicit `restarted` reset, then everything the new run has.

use crate::common::*;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use realtime_playground::Config;
use realtime_playground::config::EventIds;
use serde_json::{Value, json};

fn clock_ids(port: u16) -> Config {
    Config {
        port,
        event_ids: EventIds::Clock,
        ..Config::for_tests()
    }
}

#[tokio::test]
async fn an_sse_client_resumes_across_a_restart_and_is_told_about_it() {
    // First run.
    let first = TestServer::with(clock_ids(0)).await;
    let port: u16 = first
        .host
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut stream = first.sse("/api/sse?topics=r", None).await;
    first.wait_for_subscribers(1).await;
    let mut old_ids = Vec::new();
    for n in 0..3 {
        old_ids.push(first.publish("r", json!(n)).await);
    }
    let mut last_seen = String::new();
    for want in &old_ids {
        let e = next_sse(&mut stream).await.expect("event");
        assert_eq!(e.id, want.to_string());
        last_seen = e.id;
    }
    assert!(old_ids.windows(2).all(|w| w[1] == w[0] + 1));
    first.stop().await;
    assert!(
        tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("the stream ends")
            .is_none(),
        "the stream ended with the server"
    );

    // Second run on the same port; two events happen before the client is back.
    let second = TestServer::with(clock_ids(port)).await;
    let new_a = second.publish("r", json!("a")).await;
    let new_b = second.publish("r", json!("b")).await;
    let old_last = *old_ids.last().expect("ids");
    assert!(
        new_a > old_last,
        "ids never go backwards: {new_a} after {old_last}"
    );

    // The client reconnects as EventSource does, with its Last-Event-ID.
    let res = second
        .http
        .get(second.url("/api/sse?topics=r&limit=2"))
        .header("Last-Event-ID", &last_seen)
        .send()
        .await
        .expect("reconnect");
    assert_eq!(res.status(), 200);
    let mut events = res.bytes_stream().eventsource();
    let mut seen = Vec::new();
    while let Some(Ok(e)) = tokio::time::timeout(PATIENCE, events.next())
        .await
        .expect("events")
    {
        if !e.data.is_empty() {
            seen.push(e);
        }
    }
    assert_eq!(seen[0].event, "reset", "{seen:?}");
    let reset: Value = serde_json::from_str(&seen[0].data).expect("reset json");
    assert_eq!(reset["reason"], "restarted");
    assert_eq!(reset["requested_since"], old_last);
    let ids: Vec<u64> = seen[1..]
        .iter()
        .map(|e| e.id.parse().expect("id"))
        .collect();
    assert_eq!(ids, vec![new_a, new_b], "everything of the new run, once");

    // Polling with the old cursor says the same.
    let poll: Value = second
        .get(&format!("/api/poll?since={old_last}"))
        .await
        .json()
        .await
        .expect("poll json");
    assert_eq!(poll["reset"]["reason"], "restarted");
    assert_eq!(poll["events"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn ids_from_one_are_available_for_readability() {
    let server = TestServer::start().await;
    assert_eq!(server.publish("t", json!(1)).await, 1);
    assert_eq!(server.publish("t", json!(2)).await, 2);
}
