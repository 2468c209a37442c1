//! Issue 15, acceptance 2, the server's half: a learner's code that opens
//! 100 connections (the editor's sandbox caps them too, see
//! tests/browser/exercises.test.mjs) meets the per-address cap: past it,
//! every stream and socket is refused with a problem document (HTTP 503),
//! the ones already open keep working, and the server keeps answering
//! everyone else's requests promptly.

use std::time::{Duration, Instant};

use crate::common::{TestServer, wait_for_connections};
use futures_util::future::join_all;
use realtime_playground::Config;
use serde_json::Value;

const CAP: u32 = 20;

#[tokio::test]
async fn a_hundred_connections_from_one_learner_are_capped_and_others_are_served() {
    let server = TestServer::with(Config {
        max_connections_per_address: CAP,
        ..Config::for_tests()
    })
    .await;
    let runaway = "l-0123456789abcdef0123456789abcdef";
    let opens = (0..100).map(|_| {
        server
            .http
            .get(server.url("/api/sse?heartbeat=1"))
            .header("X-Learner", runaway)
            .send()
    });
    let answers: Vec<reqwest::Response> = join_all(opens)
        .await
        .into_iter()
        .map(|r| r.expect("an answer, not a dropped connection"))
        .collect();
    let (open, refused): (Vec<_>, Vec<_>) = answers.into_iter().partition(|r| r.status() == 200);
    assert_eq!(open.len(), CAP as usize, "exactly the cap got a stream");
    assert_eq!(refused.len(), 100 - CAP as usize);
    for res in refused {
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.expect("problem document");
        assert_eq!(problem["status"], 503);
    }
    let status = server.status().await;
    assert_eq!(status["connections"]["sse"], CAP, "{status}");

    // Someone else, meanwhile: short requests are answered at once.
    for _ in 0..10 {
        let started = Instant::now();
        let res = server
            .http
            .get(server.url("/api/poll?from=newest"))
            .header("X-Learner", "l-fedcba9876543210fedcba9876543210")
            .send()
            .await
            .expect("poll");
        assert_eq!(res.status(), 204);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "answered in {:?}",
            started.elapsed()
        );
    }

    // The open streams still deliver, and closing them frees every slot.
    let mut first = open.into_iter();
    let mut stream = first.next().expect("one open stream");
    server
        .publish("demo", serde_json::json!({"text": "still here"}))
        .await;
    let chunk = tokio::time::timeout(crate::common::PATIENCE, async {
        loop {
            let bytes = stream.chunk().await.expect("read").expect("a chunk");
            if String::from_utf8_lossy(&bytes).contains("still here") {
                return;
            }
        }
    })
    .await;
    assert!(chunk.is_ok(), "a capped-in stream kept delivering");
    drop(stream);
    drop(first);
    wait_for_connections(&server, 0).await;
}
