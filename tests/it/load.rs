//! The load generator (crates/loadgen/) against an in-process server: every kind
//! of client receives what the publishers sent, with no error, and the
//! fan-out mode accounts for every delivery.

use crate::common::*;
use loadgen::{self as load, Kind, Mode, Scenario};

fn scenario(server: &TestServer) -> Scenario {
    Scenario {
        url: server.base.clone(),
        pid: Some(std::process::id()),
        sse: 5,
        websockets: 5,
        long_pollers: 2,
        pollers: 2,
        poll_interval_ms: 200,
        publishers: 2,
        rate: 20,
        duration_secs: 2,
        warmup_secs: 1,
        ..Scenario::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_client_receives_the_published_events() {
    let server = TestServer::start().await;
    let report = load::run(scenario(&server)).await.expect("run");
    assert_eq!(report.errors_total, 0, "{:?}", report.error_samples);
    assert_eq!(report.connect_failed, 0);
    assert!(report.published >= 20, "published {}", report.published);
    for kind in [Kind::Sse, Kind::Websocket, Kind::LongPoll, Kind::Poll] {
        let t = report.transport(kind).expect("transport");
        assert!(t.deliveries > 0, "{kind:?} received nothing");
        assert!(t.delay.p99_ms.is_some());
    }
    let poll = report.transport(Kind::Poll).unwrap();
    assert!(poll.requests > 0 && poll.requests_per_sec > 0.0);
    let server_report = report.server.as_ref().expect("server numbers");
    assert!(server_report.rss_kb_start.is_some());
    assert!(report.table().contains("errors: 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_mode_counts_every_delivery() {
    let server = TestServer::start().await;
    let report = load::run(Scenario {
        long_pollers: 0,
        pollers: 0,
        fanout_events: 5,
        fanout_gap_ms: 100,
        ..scenario(&server)
    })
    .await
    .expect("run");
    assert_eq!(report.mode, Mode::Fanout);
    assert_eq!(report.published, 5);
    assert_eq!(report.expected_deliveries, Some(5 * 10));
    assert_eq!(report.missing_deliveries, Some(0));
    assert_eq!(report.errors_total, 0, "{:?}", report.error_samples);
}

#[tokio::test]
async fn other_machines_are_refused() {
    let err = load::run(Scenario {
        url: "http://192.0.2.1:8080".into(),
        sse: 1,
        ..Scenario::default()
    })
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}
