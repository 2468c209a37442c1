//! The HAR export built the whole document as a JSON tree: a full log made
//! a 35.7 MB HAR and 8 concurrent exports took the server to 819 MB. It is
//! now streamed; against the real binary with a full log (5000 entries with
//! 4 KB of headers each), 8 concurrent exports grow its resident memory by
//! less than [`BOUND_MB`], less than one copy of the document, and every
//! export is still a complete, valid HAR.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::common::{PATIENCE, spawn_binary};
use futures_util::StreamExt;
use futures_util::future::join_all;
use loadgen::procfs;

const LEARNER: &str = "l-0123456789abcdef0123456789abcdef";
const ENTRIES: usize = 5000;
const EXPORTS: usize = 8;
const BOUND_MB: u64 = 40;

#[tokio::test]
async fn concurrent_exports_of_a_full_log_stay_in_constant_memory() {
    let (child, port) = spawn_binary(&["--traffic-per-learner", "5000"]).await;
    let pid = child.id().expect("pid");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // A full log: every entry keeps (up to 4 KiB of) its request headers.
    let padding = "p".repeat(3900);
    let fills = (0..ENTRIES).map(|_| {
        http.get(format!("{base}/api/status"))
            .header("X-Learner", LEARNER)
            .header("X-Padding", &padding)
            .send()
    });
    let answered = futures_util::stream::iter(fills)
        .buffer_unordered(16)
        .filter(|r| std::future::ready(r.as_ref().is_ok_and(|r| r.status() == 200)))
        .count()
        .await;
    assert_eq!(answered, ENTRIES);

    let before = procfs::rss_kb(pid).expect("rss");
    // Sampled every few ms while the exports run.
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(procfs::rss_kb(pid).unwrap_or(0), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let exports = (0..EXPORTS).map(|_| async {
        let res = http
            .get(format!("{base}/api/traffic.har"))
            .header("X-Learner", LEARNER)
            .send()
            .await
            .expect("export");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        res.bytes().await.expect("whole export")
    });
    let hars = tokio::time::timeout(PATIENCE, join_all(exports))
        .await
        .expect("exports in time");
    sampler.abort();
    let peak = peak
        .load(Ordering::Relaxed)
        .max(procfs::rss_kb(pid).expect("rss"));

    let size_mb = hars[0].len() as u64 / 1_000_000;
    let grown_mb = peak.saturating_sub(before) / 1024;
    eprintln!(
        "{EXPORTS} exports of a {size_mb} MB HAR: RSS {} → {} MB (+{grown_mb} MB)",
        before / 1024,
        peak / 1024
    );
    assert!(size_mb >= 20, "a full log makes a big HAR: {size_mb} MB");
    assert!(
        grown_mb < BOUND_MB,
        "{EXPORTS} concurrent exports grew RSS by {grown_mb} MB"
    );
    for har in &hars {
        let doc: serde_json::Value = serde_json::from_slice(har).expect("valid JSON");
        assert_eq!(doc["log"]["version"], "1.2");
        let entries = doc["log"]["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), ENTRIES);
        assert!(entries.iter().all(|e| {
            e["request"]["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/api/status"))
        }));
    }
}
