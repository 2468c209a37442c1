//! The cluster lab: two more instances of this server, sharing its Redis, for
//! the scaling lesson.
//!
//! With `--redis-url`, `POST /api/lab/cluster` starts this same binary twice
//! (instances `A` and `B`) on free ports of 127.0.0.1, with the same Redis,
//! paused feeds, and `--allowed-origins` set to the lesson page's origin so
//! the page's `EventSource`, `fetch` and `WebSocket` may reach them (see
//! [`crate::cors`]). The learner publishes on one, reads on the other, kills
//! one (`SIGKILL`: the instance "crashes", no goodbye to its clients) and
//! starts it again.
//!
//! Bounded and learner-safe: one cluster of two instances at most, nothing of
//! the command line comes from the request (the pages' origins come from
//! configuration: the Host allow-list and `--allowed-origins`), and the instances end with this server (they
//! watch their standard input, which this server holds open, and are killed
//! on shutdown) or after [`IDLE_LIMIT`] without a request to
//! `/api/lab/cluster`.
//!
//! - [`status`] is what the API reports: the instances and whether the lab can run.
//! - [`supervisor`] starts, kills and restarts the processes and stops idle ones.
//! - [`log_ring`] keeps an instance's last log lines to explain a failed start.
//! - [`scrape`] asks the running instances over HTTP, as a learner.
//! - [`origins`] are the page origins the instances may be reached from.
//! - [`api`] is `/api/lab/cluster…`.

pub mod api;
pub mod log_ring;
pub mod origins;
pub mod scrape;
pub mod status;
pub mod supervisor;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use api::{ClusterLabApi, ClusterStarted};
pub use status::{ClusterStatus, Instance, InstanceName, InstanceState};

use crate::backplane::{Backplane, redact_url};
use crate::config::Config;
use crate::problem::ApiError;
use crate::shutdown::Shutdown;
use supervisor::Cluster;

/// Instances are stopped after this long without a request to `/api/lab/cluster`.
pub const IDLE_LIMIT: Duration = Duration::from_secs(600);

/// What the 409 says, and what the lesson shows, when there is no Redis.
pub const NEEDS_REDIS: &str = "The cluster lab needs Redis: this server runs without \
     --redis-url, so its events live in its own memory and no other instance could share them. \
     Start Redis (redis-server --port 6379 --save ''), then start this server with \
     --redis-url redis://127.0.0.1:6379/ (or PLAYGROUND_REDIS_URL=redis://127.0.0.1:6379/), \
     and try again.";

pub struct ClusterLab {
    program: PathBuf,
    redis_url: Option<String>,
    /// Origins the instances allow (CORS, WebSocket origin check): this
    /// server's pages by every name it answers to, from configuration only.
    page_origins: Vec<String>,
    /// The port in an instance's ready line.
    ready_port: fn(&str) -> Option<u16>,
    /// Flags every instance gets besides bind, port and origins.
    settings: Vec<String>,
    sse_retry_ms: u64,
    sse_heartbeat_s: u64,
    ws_ping_interval_s: u64,
    shutdown: Shutdown,
    cluster: tokio::sync::Mutex<Cluster>,
    last_used: Mutex<Instant>,
    /// Bumped whenever the cluster is torn down, so an old idle watcher stops.
    generation: AtomicU64,
    /// Asks the running instances on a learner's behalf (see [`scrape`]).
    http: reqwest::Client,
}

/// What the app layer tells the lab about this binary: the origins its
/// pages have, by every name it answers to, and how to read the port from
/// the line a started instance prints when it is ready.
pub struct OwnBinary {
    pub page_origins: Vec<String>,
    pub ready_port: fn(&str) -> Option<u16>,
}

impl ClusterLab {
    pub fn new(config: &Config, own: OwnBinary, shutdown: Shutdown) -> Arc<Self> {
        Arc::new(ClusterLab {
            program: std::env::current_exe().unwrap_or_else(|_| "realtime-playground".into()),
            redis_url: config.redis_url.clone(),
            page_origins: origins::configured_page_origins(own.page_origins, config),
            ready_port: own.ready_port,
            settings: instance_settings(config),
            sse_retry_ms: config.sse_retry_ms,
            sse_heartbeat_s: config.sse_heartbeat_secs,
            ws_ping_interval_s: config.ws_ping_interval_secs,
            shutdown,
            cluster: tokio::sync::Mutex::default(),
            last_used: Mutex::new(Instant::now()),
            generation: AtomicU64::new(0),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(1))
                .build()
                .unwrap_or_default(),
        })
    }

    fn touch(&self) {
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// The instances and whether the lab can run, as the API reports them.
    pub async fn status(&self, backplane: &Backplane) -> ClusterStatus {
        let mut cluster = self.cluster.lock().await;
        let instances = cluster.slots.iter_mut().map(|s| s.describe()).collect();
        ClusterStatus {
            available: self.redis_url.is_some(),
            hint: self.redis_url.is_none().then(|| NEEDS_REDIS.to_owned()),
            redis_url: self.redis_url.as_deref().map(redact_url),
            backplane: backplane.status(),
            instances,
            idle_limit_s: IDLE_LIMIT.as_secs(),
            sse_retry_ms: self.sse_retry_ms,
            sse_heartbeat_s: self.sse_heartbeat_s,
            ws_ping_interval_s: self.ws_ping_interval_s,
        }
    }

    fn redis(&self) -> Result<&str, ApiError> {
        self.redis_url
            .as_deref()
            .ok_or_else(|| ApiError::conflict(NEEDS_REDIS))
    }
}

/// This server's settings that every instance repeats, as flags.
fn instance_settings(config: &Config) -> Vec<String> {
    let event_ids = match config.event_ids {
        crate::config::EventIds::Clock => "clock",
        crate::config::EventIds::FromOne => "from-one",
    };
    [
        ("--event-ids", event_ids.to_owned()),
        ("--sse-retry-ms", config.sse_retry_ms.to_string()),
        (
            "--sse-heartbeat-secs",
            config.sse_heartbeat_secs.to_string(),
        ),
        (
            "--ws-ping-interval-secs",
            config.ws_ping_interval_secs.to_string(),
        ),
        (
            "--ws-ping-timeout-secs",
            config.ws_ping_timeout_secs.to_string(),
        ),
        (
            "--long-poll-timeout-secs",
            config.long_poll_timeout_secs.to_string(),
        ),
        ("--shutdown-grace-secs", "0.5".to_owned()),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_owned(), value])
    .collect()
}
