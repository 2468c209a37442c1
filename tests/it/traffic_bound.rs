//! Acceptance 6 of the traffic log: a flood of requests from ever-new
//! learners leaves the log at its bound and the server's memory flat.
//! The server is the real binary, so the memory reading is the server's
//! alone (other tests run in threads of this process meanwhile).

use crate::common::binary::Binary;

/// A small log: 1,000 entries, 100 per learner.
const BOUNDED_LOG: [&str; 4] = ["--traffic-log-size", "1000", "--traffic-per-learner", "100"];
/// Growth of the server's memory allowed once the log is full, in KiB
/// (0 to 4 measured here; a log that kept every entry grew it by 176,592).
const BOUND_KIB: u64 = 2 * 1024;

async fn flood(server: &Binary, from: usize, to: usize) {
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

/// How many entries `learner`'s traffic log holds.
async fn entries_of(server: &Binary, learner: &str) -> Option<usize> {
    let page: serde_json::Value = server
        .http
        .get(server.url("/api/traffic"))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("traffic")
        .json()
        .await
        .expect("json");
    page["entries"].as_array().map(Vec::len)
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_leave_the_log_at_its_bound() {
    let server = Binary::start(&BOUNDED_LOG).await;
    // 200,000 requests in all: fill the log well past its bound, then measure.
    flood(&server, 0, 20_000).await;
    let before = server.rss_kib();
    flood(&server, 20_000, 200_000).await;
    let after = server.rss_kib();
    let grown = after.saturating_sub(before);
    assert!(
        grown < BOUND_KIB,
        "the server's memory grew by {grown} KiB ({before} → {after} KiB) while the log was full"
    );

    // Only the newest thousand visitors still have entries. (The flood's
    // eight workers finish in no fixed order, so the newest is one more.)
    flood(&server, 200_000, 200_001).await;
    assert_eq!(entries_of(&server, "visitor-200000").await, Some(1));
    assert_eq!(entries_of(&server, "visitor-5").await, Some(0), "evicted");
}
