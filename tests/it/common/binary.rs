//! The real binary in a process of its own, for tests that measure the
//! server's memory: this test process runs other tests in parallel
//! threads, so its own resident memory says nothing about one server.

use std::time::Duration;

use loadgen::procfs;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::{PATIENCE, spawn_binary};

pub struct Binary {
    /// Held to be killed when dropped (see [`spawn_binary`]).
    _process: tokio::process::Child,
    pub pid: u32,
    pub base: String,
    pub host: String,
    pub http: reqwest::Client,
}

impl Binary {
    /// Starts the binary as [`spawn_binary`] does, plus `args`; its log is
    /// read and dropped so a chatty run never blocks on a full pipe.
    pub async fn start(args: &[&str]) -> Binary {
        let (mut child, port) = spawn_binary(args).await;
        let mut log = child.stderr.take().expect("stderr");
        tokio::spawn(async move {
            let mut chunk = [0u8; 4096];
            while log.read(&mut chunk).await.is_ok_and(|n| n > 0) {}
        });
        Binary {
            pid: child.id().expect("pid"),
            _process: child,
            base: format!("http://127.0.0.1:{port}"),
            host: format!("127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.host)
    }

    /// The server's resident memory (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        procfs::rss_kb(self.pid).expect("the server's VmRSS")
    }

    pub async fn status(&self) -> Value {
        self.http
            .get(self.url("/api/status"))
            .send()
            .await
            .expect("GET /api/status")
            .json()
            .await
            .expect("status json")
    }

    /// Waits until `/api/status` satisfies `reached` (`what` names it in
    /// the failure).
    pub async fn wait_for_status(&self, what: &str, reached: impl Fn(&Value) -> bool) {
        let outcome = tokio::time::timeout(PATIENCE, async {
            while !reached(&self.status().await) {
                // Another process's state: nothing to await but the next reading.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(outcome.is_ok(), "never {what}: {}", self.status().await);
    }
}
