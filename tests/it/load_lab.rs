//! The load lab: a bounded load test started through the API runs the real
//! load generator (this binary as `loadgen`, a separate process) against the
//! server and keeps its report.

use std::time::Duration;

use crate::common::*;
use realtime_playground::Config;
use serde_json::{Value, json};

async fn wait_until_finished(server: &TestServer, id: u64) -> Value {
    tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            let run: Value = server
                .get(&format!("/api/lab/load/{id}"))
                .await
                .json()
                .await
                .expect("run json");
            if run["status"] != "running" {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the load test finished")
}

#[tokio::test]
async fn a_load_test_from_the_api_measures_every_kind_of_client() {
    let server = TestServer::with(Config {
        loadgen_program: Some(env!("CARGO_BIN_EXE_realtime-playground").into()),
        ..Config::for_tests()
    })
    .await;
    let body = json!({"sse": 30, "websockets": 30, "long_pollers": 5, "pollers": 5,
                      "poll_interval_ms": 250, "rate": 20, "duration_s": 3});
    let res = server
        .http
        .post(server.url("/api/lab/load"))
        .json(&body)
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), 202);
    let started: Value = res.json().await.expect("json");
    assert_eq!(started["status"], "running");
    let id = started["id"].as_u64().expect("id");

    // One at a time.
    let second = server
        .http
        .post(server.url("/api/lab/load"))
        .json(&body)
        .send()
        .await
        .expect("second");
    assert_eq!(second.status(), 429);
    assert!(second.headers().contains_key("retry-after"));

    let run = wait_until_finished(&server, id).await;
    assert_eq!(run["status"], "done", "{run}");
    let report = &run["report"];
    assert_eq!(report["errors_total"], 0, "{report}");
    let connected: Vec<(String, u64)> = report["connect"]
        .as_array()
        .expect("connect")
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap_or_default().to_owned(),
                s["connected"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    for (kind, n) in [
        ("sse", 30),
        ("websocket", 30),
        ("long-poll", 5),
        ("poll", 5),
    ] {
        assert!(
            connected.contains(&(kind.to_owned(), n)),
            "{kind}: {connected:?}"
        );
    }
    for t in report["transports"].as_array().expect("transports") {
        assert!(t["deliveries"].as_u64().unwrap_or(0) > 0, "{t}");
    }
    assert!(
        report["cpu"]["server_secs"].as_f64().is_some(),
        "CPU read from /proc"
    );
    // Everything the generator opened is gone again.
    wait_for_connections(&server, 0).await;
    // Its thousands of requests stay out of the traffic log (which would
    // otherwise push every learner's own entries out).
    let log: Value = server
        .http
        .get(server.url("/api/traffic"))
        .header("X-Learner", format!("load-lab-{id}-sse-0"))
        .send()
        .await
        .expect("traffic")
        .json()
        .await
        .expect("json");
    assert_eq!(log["entries"].as_array().map(Vec::len), Some(0), "{log}");
}

#[tokio::test]
async fn a_load_test_needs_clients_and_stays_bounded() {
    let server = TestServer::start().await;
    for body in [
        json!({"sse": 0, "websockets": 0, "pollers": 0}),
        json!({"sse": 2001}),
        json!({"sse": 10, "duration_s": 31}),
    ] {
        let res = server
            .http
            .post(server.url("/api/lab/load"))
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 400, "{body}");
    }
    assert_eq!(server.get("/api/lab/load/99").await.status(), 404);
}
