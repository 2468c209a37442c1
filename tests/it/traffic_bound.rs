//! Acceptance 6 of the traffic log: a flood of requests from ever-new
//! learners leaves the log at its bound and the process's memory flat.
//! (Its own test binary, so the memory reading is this test's alone.)

use crate::common::*;
use realtime_playground::Config;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn flood(server: &TestServer, from: usize, to: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let http = server.http.clone();
        let url = server.url("/api/poll");
        tasks.spawn(async move {
            for i in (from + worker..to).step_by(8) {
                let res = http
                    .get(&url)
                    .header("X-Learner", format!("visitor-{i}"))
                    .send()
                    .await
                    .expect("poll");
                assert_eq!(res.status(), 204);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_leave_the_log_at_its_bound() {
    let server = TestServer::with(Config {
        traffic_log_size: 1000,
        traffic_per_learner: 100,
        ..Config::for_tests()
    })
    .await;
    // 200,000 requests in all: fill the log well past its bound, then measure.
    flood(&server, 0, 20_000).await;
    let before = rss_kib();
    flood(&server, 20_000, 200_000).await;
    let after = rss_kib();
    let grown = after.saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "memory grew by {grown} KiB while the log was full"
    );

    // Only the newest thousand visitors still have entries.
    let res = server
        .http
        .get(server.url("/api/traffic"))
        .header("X-Learner", "visitor-199999")
        .send()
        .await
        .expect("traffic");
    let page: serde_json::Value = res.json().await.expect("json");
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1));
    let res = server
        .http
        .get(server.url("/api/traffic"))
        .header("X-Learner", "visitor-5")
        .send()
        .await
        .expect("traffic");
    let page: serde_json::Value = res.json().await.expect("json");
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(0), "evicted");
    server.stop().await;
}
