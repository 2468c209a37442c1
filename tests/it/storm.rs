//! The reconnect-storm lab against the real server: hundreds of the
//! server's own clients dropped at once come back in one wave with a fixed
//! retry, and spread out with back-off and jitter. Limits, validation, and
//! a learner's log that stays free of the storm's traffic.

use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};

async fn start(server: &TestServer, learner: &str, body: Value) -> reqwest::Response {
    server
        .http
        .post(server.url("/api/lab/storm"))
        .header("X-Learner", learner)
        .json(&body)
        .send()
        .await
        .expect("POST /api/lab/storm")
}

/// Starts a storm and waits for its timeline.
async fn storm(server: &TestServer, learner: &str, body: Value) -> Value {
    let res = start(server, learner, body).await;
    assert_eq!(res.status(), 202);
    let run: Value = res.json().await.expect("json");
    assert_eq!(run["status"], "running");
    finished(server, learner, run["id"].as_u64().expect("id")).await
}

/// Storm `id`'s result, read by the learner who started it (only they may).
async fn finished(server: &TestServer, learner: &str, id: u64) -> Value {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let run: Value = server
                .http
                .get(server.url(&format!("/api/lab/storm/{id}")))
                .header("X-Learner", learner)
                .send()
                .await
                .expect("GET storm")
                .json()
                .await
                .expect("json");
            if run["status"] != "running" {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the storm finished")
}

fn buckets(run: &Value) -> Vec<u64> {
    run["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b.as_u64().expect("count"))
        .collect()
}

/// The most reconnects any two neighbouring buckets hold together.
fn fullest_pair(buckets: &[u64]) -> u64 {
    buckets
        .windows(2)
        .map(|w| w[0] + w[1])
        .chain(buckets.iter().copied())
        .max()
        .unwrap_or(0)
}

fn all_back(run: &Value, clients: u64) {
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(run["connected"], clients, "{run}");
    assert_eq!(run["dropped"], clients, "the drop reached them all: {run}");
    assert_eq!(run["reconnected"], clients, "{run}");
    assert_eq!(buckets(run).iter().sum::<u64>(), clients);
}

#[tokio::test]
async fn a_fixed_retry_comes_back_in_one_wave_and_jitter_spreads_it_out() {
    let server = TestServer::start().await;
    let clients = 200;
    let fixed = storm(
        &server,
        "stormy",
        json!({"clients": clients, "strategy": "fixed", "transport": "sse", "retry_ms": 1000, "seed": 7}),
    )
    .await;
    all_back(&fixed, clients);
    let jitter = storm(
        &server,
        "stormy",
        json!({"clients": clients, "strategy": "backoff_jitter", "transport": "sse", "retry_ms": 1000, "seed": 7}),
    )
    .await;
    all_back(&jitter, clients);
    let (f, j) = (buckets(&fixed), buckets(&jitter));
    eprintln!(
        "fixed:  {f:?} p50 {} p99 {}",
        fixed["p50_ms"], fixed["p99_ms"]
    );
    eprintln!(
        "jitter: {j:?} p50 {} p99 {}",
        jitter["p50_ms"], jitter["p99_ms"]
    );

    // Fixed: nobody before the retry, most in one or two buckets (on a
    // busy machine the server's own pace spreads the wave a little).
    assert!(fixed["p50_ms"].as_f64().expect("p50") >= 1000.0);
    assert!(
        fullest_pair(&f) >= clients / 2,
        "fixed retry: a wave in one or two 100 ms buckets, got {f:?}"
    );
    // Jitter: the same clients over about two seconds, no bucket much above the average.
    let used = j.iter().filter(|b| **b > 0).count();
    assert!(used >= 12, "jitter: spread over many buckets, got {j:?}");
    assert!(
        jitter["peak"].as_u64().expect("peak") <= clients / 5,
        "jitter: no wave, got {j:?}"
    );
    assert!(
        fullest_pair(&j) * 2 < fullest_pair(&f),
        "the fixed wave is far taller than jitter's fullest moment"
    );
    let spread =
        |run: &Value| run["p99_ms"].as_f64().expect("p99") - run["p50_ms"].as_f64().expect("p50");
    assert!(spread(&jitter) > 500.0 && spread(&fixed) < 500.0);

    // The learner's log holds their own POSTs starting the storms (lesson 12
    // counts them), never the storm clients' traffic.
    let mine = server.traffic_of("stormy", "").await;
    let paths: Vec<&str> = mine
        .iter()
        .map(|e| e["path"].as_str().unwrap_or_default())
        .collect();
    assert!(
        paths.len() == 2 && paths.iter().all(|p| p.starts_with("/api/lab/storm")),
        "only the two starts: {mine:?}"
    );
    // Nobody's log holds them: every entry the server kept is the learner's.
    let (kept, learners) = server.state.traffic.size();
    assert_eq!(
        (kept, learners),
        (mine.len(), 1),
        "the storm clients' traffic was logged"
    );
}

#[tokio::test]
async fn websockets_come_back_too() {
    let server = TestServer::start().await;
    let run = storm(
        &server,
        "ws-storm",
        json!({"clients": 50, "strategy": "fixed", "transport": "websocket", "retry_ms": 300}),
    )
    .await;
    all_back(&run, 50);
    assert!(run["p50_ms"].as_f64().expect("p50") >= 300.0);
    assert!(run["seed"].is_u64(), "a seed was chosen: {run}");
    // Nothing is left open once the storm is over.
    wait_for_connections(&server, 0).await;
}

#[tokio::test]
async fn storms_are_bounded_per_learner_and_per_server() {
    let server = TestServer::start().await;
    for bad in [
        json!({"clients": 5}),
        json!({"clients": 501}),
        json!({"clients": 10, "transport": "carrier_pigeon"}),
        json!({"clients": 10, "strategy": "panic"}),
        json!({"clients": 10, "retry_ms": 50}),
    ] {
        let res = start(&server, "bounded", bad.clone()).await;
        assert_eq!(res.status(), 400, "{bad}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    let slow = json!({"clients": 10, "strategy": "fixed", "retry_ms": 5000});
    let first = start(&server, "a", slow.clone()).await;
    assert_eq!(first.status(), 202);
    let again = start(&server, "a", slow.clone()).await;
    assert_eq!(again.status(), 429, "one storm per learner");
    assert!(again.headers().contains_key("retry-after"));
    assert_eq!(start(&server, "b", slow.clone()).await.status(), 202);
    let third = start(&server, "c", slow).await;
    assert_eq!(third.status(), 429, "two storms per server");
    assert_eq!(server.get("/api/lab/storm/999").await.status(), 404);
}
