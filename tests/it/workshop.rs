//! A workshop's curious learner (issue 17, findings 1, 2, 4, 5 and 11), with
//! real clients against the real server: renaming yourself does not escape
//! the publish limits, one address cannot fill the fault table, another
//! learner's race and storm can be neither read nor reported on, the
//! buffering fault cannot make the server hold an unbounded backlog, and the
//! load lab's thousands of clients do not leave their memory behind.

use std::time::Duration;

use futures_util::StreamExt;
use realtime_playground::Config;
use serde_json::{Value, json};

use crate::common::binary::Binary;
use crate::common::*;

async fn publish_as(
    http: &reqwest::Client,
    server: &TestServer,
    learner: &str,
) -> reqwest::Response {
    http.post(server.url("/api/events"))
        .header("X-Learner", learner)
        .json(&json!({"topic": "demo", "type": "note", "data": {"n": 1}}))
        .send()
        .await
        .expect("POST /api/events")
}

#[tokio::test]
async fn a_new_learner_name_per_request_does_not_escape_the_address_limit() {
    let server = TestServer::with(Config {
        publish_rate_per_address: 5,
        ..Config::for_tests()
    })
    .await;
    let http = client_from(1);
    let mut accepted = 0;
    let mut refused = None;
    let began = std::time::Instant::now();
    for i in 0..60 {
        let res = publish_as(&http, &server, &format!("rotating-{i}")).await;
        match res.status().as_u16() {
            202 => accepted += 1,
            429 => refused = Some(res),
            other => panic!("unexpected {other}"),
        }
    }
    // A burst of twice the rate, plus what refilled (5/s) while the loop ran:
    // rotating names got no more than one address's budget.
    let refilled = (5.0 * began.elapsed().as_secs_f64()).ceil() as usize;
    assert!(
        (10..=10 + refilled + 1).contains(&accepted),
        "{accepted} of 60 accepted, {refilled} refilled"
    );
    let refused = refused.expect("some were refused");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    // Another machine in the room still publishes.
    let elsewhere = publish_as(&client_from(2), &server, "rotating-0").await;
    assert_eq!(elsewhere.status(), 202);
}

#[tokio::test]
async fn one_address_cannot_fill_the_fault_table_for_the_room() {
    let server = TestServer::start().await;
    let put = |http: reqwest::Client, learner: String| {
        let url = server.url("/api/faults");
        async move {
            http.put(url)
                .header("X-Learner", learner)
                .json(&json!({"latency_ms": 100}))
                .send()
                .await
                .expect("PUT /api/faults")
                .status()
                .as_u16()
        }
    };
    let script = client_from(1);
    let mut statuses = Vec::new();
    for i in 0..70 {
        statuses.push(put(script.clone(), format!("script-{i}")).await);
    }
    assert!(statuses[..64].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[64..].iter().all(|s| *s == 429), "{statuses:?}");
    // A learner at another address sets theirs; the script's first are intact.
    assert_eq!(put(client_from(2), "learner".into()).await, 200);
    let first: Value = script
        .get(server.url("/api/faults"))
        .header("X-Learner", "script-0")
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(first["latency_ms"], 100);
}

fn as_learner(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    learner: &str,
) -> reqwest::RequestBuilder {
    http.request(method, url).header("X-Learner", learner)
}

async fn run_of(server: &TestServer, id: u64, learner: &str) -> reqwest::Response {
    as_learner(
        &server.http,
        reqwest::Method::GET,
        server.url(&format!("/api/lab/runs/{id}")),
        learner,
    )
    .send()
    .await
    .expect("GET run")
}

async fn report(server: &TestServer, id: u64, learner: &str, lanes: Value) -> reqwest::Response {
    as_learner(
        &server.http,
        reqwest::Method::POST,
        server.url(&format!("/api/lab/runs/{id}/report")),
        learner,
    )
    .json(&lanes)
    .send()
    .await
    .expect("POST report")
}

fn lane(transport: &str, received: u64) -> Value {
    json!({
        "transport": transport, "requests": 3, "connections": 1, "empty": 1,
        "empty_share": 0.33, "received": received, "lost": 0, "duplicated": 0,
        "bytes_up": 100, "bytes_down": 900, "header_bytes": 300, "payload_bytes": 700,
        "delay_p50_ms": 2.0, "delay_p95_ms": 4.0, "delay_max_ms": 5.0, "errors": []
    })
}

#[tokio::test]
async fn a_race_is_its_starters_alone() {
    let server = TestServer::start().await;
    let started = as_learner(
        &server.http,
        reqwest::Method::POST,
        server.url("/api/lab/runs"),
        "alice",
    )
    .json(&json!({"duration_s": 1, "rate_ms": 200, "mode": "browser"}))
    .send()
    .await
    .expect("start");
    assert_eq!(started.status(), 202);
    let run: Value = started.json().await.expect("json");
    let id = run["id"].as_u64().expect("id");
    let topic = run["topic"].as_str().expect("topic");
    assert!(
        topic.len() > format!("lab-{id}-").len() + 8,
        "the topic carries a random tag: {topic}"
    );

    // Somebody else at the same address: cannot start a second race, read or report this one.
    let second = as_learner(
        &server.http,
        reqwest::Method::POST,
        server.url("/api/lab/runs"),
        "mallory",
    )
    .json(&json!({"duration_s": 1}))
    .send()
    .await
    .expect("start");
    assert_eq!(second.status(), 429, "one race per address at a time");
    assert_eq!(run_of(&server, id, "mallory").await.status(), 404);
    assert_eq!(
        report(&server, id, "mallory", json!([lane("sse", 1)]))
            .await
            .status(),
        404
    );

    // Before the end, the starter's report is too early.
    assert_eq!(
        report(&server, id, "alice", json!([lane("sse", 1)]))
            .await
            .status(),
        409
    );
    let done = tokio::time::timeout(PATIENCE, async {
        loop {
            let now: Value = run_of(&server, id, "alice")
                .await
                .json()
                .await
                .expect("json");
            if now["status"] == "done" {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the race ended");
    let published = done["published"].as_u64().expect("published");
    assert!(published >= 1, "{done}");

    let inflated = report(&server, id, "alice", json!([lane("sse", 999_999)])).await;
    assert_eq!(inflated.status(), 400);
    let why: Value = inflated.json().await.expect("problem");
    assert!(
        why["detail"].as_str().is_some_and(|d| d.contains("999999")),
        "{why}"
    );

    let honest = report(
        &server,
        id,
        "alice",
        json!([lane("sse", published), lane("websocket", published)]),
    )
    .await;
    assert_eq!(honest.status(), 200);
    let again = report(&server, id, "alice", json!([lane("sse", published)])).await;
    assert_eq!(again.status(), 409, "one report per race");
    let kept: Value = run_of(&server, id, "alice")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(kept["lanes"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_storm_is_its_starters_alone() {
    let server = TestServer::start().await;
    let started = as_learner(
        &server.http,
        reqwest::Method::POST,
        server.url("/api/lab/storm"),
        "alice",
    )
    .json(&json!({"transport": "sse", "clients": 10, "strategy": "fixed", "retry_ms": 100}))
    .send()
    .await
    .expect("start");
    assert_eq!(started.status(), 202);
    let id = started.json::<Value>().await.expect("json")["id"]
        .as_u64()
        .expect("id");
    let read = |learner: &'static str| {
        as_learner(
            &server.http,
            reqwest::Method::GET,
            server.url(&format!("/api/lab/storm/{id}")),
            learner,
        )
        .send()
    };
    assert_eq!(read("alice").await.expect("GET").status(), 200);
    assert_eq!(read("mallory").await.expect("GET").status(), 404);
}

#[tokio::test]
async fn the_buffering_fault_holds_a_bounded_backlog() {
    // A small replay buffer, so what the hub keeps is small too: any growth
    // beyond it would be the fault's backlog.
    let server = Binary::start(&[
        "--replay-buffer",
        "50",
        "--publish-rate-per-learner",
        "100000",
        "--publish-rate-per-address",
        "100000",
        "--publish-rate-total",
        "100000",
    ])
    .await;
    let faults = server
        .http
        .put(server.url("/api/faults"))
        .header("X-Learner", "buffered")
        .json(&json!({"buffer_s": 60}))
        .send()
        .await
        .expect("PUT /api/faults");
    assert_eq!(faults.status(), 200);
    let stream = server
        .http
        .get(server.url("/api/sse?topics=bulk"))
        .header("X-Learner", "buffered")
        .send()
        .await
        .expect("GET /api/sse");
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    server
        .wait_for_status("the stream is subscribed", |s| {
            s["subscribers"].as_u64() >= Some(1)
        })
        .await;
    let before = server.rss_kib();

    // 1,500 events of 60 KB: 90 MB through a stream whose proxy flushes every 60 s.
    let blob = "x".repeat(60_000);
    let publisher = tokio::spawn({
        let http = server.http.clone();
        let url = server.url("/api/events");
        async move {
            for i in 0..1500 {
                let res = http
                    .post(&url)
                    .json(&json!({"topic": "bulk", "type": "blob", "data": {"i": i, "blob": blob}}))
                    .send()
                    .await
                    .expect("POST");
                assert_eq!(res.status(), 202);
            }
        }
    });
    // The stream gets its events in early flushes, before the 60 s flush
    // (50 s: room for a slow machine to move 90 MB, still short of 60).
    let mut received = 0usize;
    let early = Duration::from_secs(50);
    let read = tokio::time::timeout(early, async {
        while received < 1500 * 60_000 {
            match body.next().await {
                Some(Ok(chunk)) => received += chunk.len(),
                _ => break,
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "only {received} bytes arrived within {early:?}: the buffer never flushed early"
    );
    publisher.await.expect("publisher");
    let grown_mib = server.rss_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 40,
        "RSS grew by {grown_mib} MiB while 90 MB went through a buffering stream"
    );
}

/// Starts a load-lab run of `body` as `learner` and waits for its end.
async fn load_run(server: &Binary, learner: &str, body: Value) -> Value {
    let started: Value = server
        .http
        .post(server.url("/api/lab/load"))
        .header("X-Learner", learner)
        .json(&body)
        .send()
        .await
        .expect("POST /api/lab/load")
        .json()
        .await
        .expect("json");
    let id = started["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("not started: {started}"));
    tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let run: Value = server
                .http
                .get(server.url(&format!("/api/lab/load/{id}")))
                .header("X-Learner", learner)
                .send()
                .await
                .expect("GET run")
                .json()
                .await
                .expect("json");
            if run["status"] != "running" {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await
    .expect("the load run ended")
}

#[tokio::test]
async fn the_load_lab_gives_its_memory_back() {
    let server = Binary::start(&["--max-connections-per-address", "0"]).await;
    let eight_thousand = json!({"sse": 2000, "websockets": 2000, "long_pollers": 2000, "pollers": 2000, "duration_s": 3});
    // The first run warms what stays (thread stacks, buffers sized once).
    let first = load_run(&server, "loader", eight_thousand.clone()).await;
    assert_eq!(first["status"], "done", "{first}");
    server
        .wait_for_status("the clients are gone", |s| s["connections"]["total"] == 0)
        .await;
    let before = server.rss_kib();
    for _ in 0..2 {
        let run = load_run(&server, "loader", eight_thousand.clone()).await;
        assert_eq!(run["status"], "done", "{run}");
    }
    server
        .wait_for_status("the clients are gone", |s| s["connections"]["total"] == 0)
        .await;
    // The lab hands freed pages back 2 s after a run.
    let settled = tokio::time::timeout(PATIENCE, async {
        loop {
            let grown = server.rss_kib().saturating_sub(before) / 1024;
            if grown < 20 {
                return grown;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    assert!(
        settled.is_ok(),
        "two more runs of 8,000 clients kept {} MiB",
        server.rss_kib().saturating_sub(before) / 1024
    );
}
