//! The reconnect-storm lab: what happens when hundreds of clients lose their
//! connection at the same moment and all come back.
//!
//! A storm starts N real clients of this server (SSE or WebSocket, from the
//! server's own process, over loopback), drops them all at once, and records
//! when each one is back. With a `fixed` wait (EventSource's `retry:`) they
//! return in one wave, the thundering herd that hits a server after a
//! deploy; with exponential back-off and full jitter they trickle back. The
//! timeline is a histogram of 100 ms buckets ([`timeline`]).
//!
//! - [`client`]: one client; [`strategy`]: how it waits; [`run`]: one storm.
//!
//! Bounded: 10–[`MAX_CLIENTS`] clients, one storm per learner at a time and
//! [`MAX_RUNNING`] on the whole server, each over within about 50 s; the
//! newest [`KEPT_RUNS`] results are kept. The clients' learner id starts
//! with the load lab's prefix, so none of their traffic lands in a
//! learner's log.

pub mod api;
pub mod client;
pub mod run;
pub mod strategy;
pub mod timeline;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use poem::http::HeaderValue;
use poem_openapi::{Enum, Object};

use crate::drops::Drops;
use crate::lab::load::LEARNER_PREFIX;
use crate::shutdown::Shutdown;
use client::{StormTransport, Target};
use strategy::Strategy;
use timeline::{BUCKET_MS, Timeline};

pub const MIN_CLIENTS: u32 = 10;
pub const MAX_CLIENTS: u32 = 500;
/// Storms at once on the whole server (each learner: one).
pub const MAX_RUNNING: usize = 2;
pub const KEPT_RUNS: usize = 20;

/// What storm to run.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct StormRequest {
    /// Clients to start and drop (10–500).
    #[oai(
        default = "default_clients",
        validator(minimum(value = "10"), maximum(value = "500"))
    )]
    pub clients: u32,
    /// How the clients wait before reconnecting: `fixed` (everyone the same
    /// `retry_ms`) or `backoff_jitter` (a random wait in a doubling window).
    #[oai(default)]
    pub strategy: Strategy,
    /// `sse` or `websocket`.
    #[oai(default)]
    pub transport: StormTransport,
    /// The fixed wait, or the back-off's base, in milliseconds (100–5000).
    #[oai(
        default = "default_retry",
        validator(minimum(value = "100"), maximum(value = "5000"))
    )]
    pub retry_ms: u64,
    /// Seed of the jitter's random numbers: the same seed draws the same
    /// waits. Chosen by the server when absent or `null`.
    #[oai(nullable)]
    pub seed: Option<u64>,
}

fn default_clients() -> u32 {
    200
}

fn default_retry() -> u64 {
    1000
}

impl poem_openapi::types::Example for StormRequest {
    fn example() -> Self {
        StormRequest {
            clients: 200,
            strategy: Strategy::BackoffJitter,
            transport: StormTransport::Sse,
            retry_ms: 1000,
            seed: Some(42),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StormStatus {
    Running,
    Done,
    /// No client could connect (see `errors`).
    Failed,
}

/// A storm and, once done, its timeline.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct StormRun {
    pub id: u64,
    pub status: StormStatus,
    /// RFC 3339.
    pub started_at: String,
    pub clients: u32,
    pub strategy: Strategy,
    pub transport: StormTransport,
    pub retry_ms: u64,
    pub seed: u64,
    /// Clients connected when the drop came.
    pub connected: u32,
    /// Connections the drop cut.
    pub dropped: u32,
    /// Clients back within 30 s of the drop.
    pub reconnected: u32,
    /// Reconnect attempts, failed ones included.
    pub attempts: u32,
    /// Width of one bucket, in milliseconds (100).
    pub bucket_ms: u64,
    /// Reconnects per bucket: `buckets[i]` counts the clients back between
    /// `i × bucket_ms` and `(i + 1) × bucket_ms` milliseconds after the drop.
    pub buckets: Vec<u32>,
    /// Reconnects in the fullest bucket.
    pub peak: u32,
    /// Milliseconds after the drop where the fullest bucket starts (`null`
    /// until someone is back).
    #[oai(nullable)]
    pub peak_at_ms: Option<u64>,
    /// Median time from the drop to being back, in milliseconds.
    #[oai(nullable)]
    pub p50_ms: Option<f64>,
    /// 99th percentile, in milliseconds.
    #[oai(nullable)]
    pub p99_ms: Option<f64>,
    /// The last client back, in milliseconds.
    #[oai(nullable)]
    pub max_ms: Option<f64>,
    /// What went wrong on the way (distinct messages, at most 10).
    pub errors: Vec<String>,
}

impl poem_openapi::types::Example for StormRun {
    fn example() -> Self {
        let mut run = StormRun::new(1, &StormRequest::example(), 42);
        // Fixed, so the document is the same every time it is written.
        run.started_at = "2026-11-26T09:30:00.000Z".into();
        run.status = StormStatus::Done;
        run.connected = 200;
        run.dropped = 200;
        run.attempts = 200;
        let times: Vec<f64> = (0..200).map(|i| 40.0 + i as f64 * 9.5).collect();
        run.apply(&Timeline::of(&times));
        run
    }
}

impl StormRun {
    fn new(id: u64, req: &StormRequest, seed: u64) -> Self {
        StormRun {
            id,
            status: StormStatus::Running,
            started_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            clients: req.clients,
            strategy: req.strategy,
            transport: req.transport,
            retry_ms: req.retry_ms,
            seed,
            connected: 0,
            dropped: 0,
            reconnected: 0,
            attempts: 0,
            bucket_ms: BUCKET_MS,
            buckets: Vec::new(),
            peak: 0,
            peak_at_ms: None,
            p50_ms: None,
            p99_ms: None,
            max_ms: None,
            errors: Vec::new(),
        }
    }

    fn apply(&mut self, t: &Timeline) {
        self.reconnected = t.reconnected;
        self.buckets = t.buckets.clone();
        self.peak = t.peak;
        self.peak_at_ms = t.peak_at_ms;
        self.p50_ms = t.p50_ms;
        self.p99_ms = t.p99_ms;
        self.max_ms = t.max_ms;
    }
}

/// Why a storm could not start.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This learner's previous storm is still running.
    Yours(u64),
    /// [`MAX_RUNNING`] storms are running on the server.
    Busy,
}

#[derive(Default)]
struct Runs {
    /// The newest storms, each with the learner who started it (the only one who reads it).
    kept: VecDeque<(Arc<str>, StormRun)>,
    /// Learners with a storm running, and its id.
    running: Vec<(Arc<str>, u64)>,
}

pub struct StormLab {
    /// Where this server listens (the clients connect there).
    addr: SocketAddr,
    drops: Arc<Drops>,
    shutdown: Shutdown,
    next_id: AtomicU64,
    runs: Mutex<Runs>,
}

impl StormLab {
    pub fn new(mut addr: SocketAddr, drops: Arc<Drops>, shutdown: Shutdown) -> Arc<Self> {
        // Listening on every address (`--bind 0.0.0.0`): the clients use loopback.
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        Arc::new(StormLab {
            addr,
            drops,
            shutdown,
            next_id: AtomicU64::new(1),
            runs: Mutex::default(),
        })
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, Runs> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Storm `id` if `learner` started it.
    pub fn get(&self, id: u64, learner: &str) -> Option<StormRun> {
        self.runs()
            .kept
            .iter()
            .find(|(owner, r)| r.id == id && &**owner == learner)
            .map(|(_, r)| r.clone())
    }

    fn store(&self, owner: &Arc<str>, run: StormRun) {
        let mut runs = self.runs();
        runs.kept.retain(|(_, r)| r.id != run.id);
        runs.kept.push_back((owner.clone(), run));
        while runs.kept.len() > KEPT_RUNS {
            runs.kept.pop_front();
        }
    }

    /// Starts a storm for `learner` in the background.
    pub fn start(
        self: &Arc<Self>,
        learner: &Arc<str>,
        req: &StormRequest,
    ) -> Result<StormRun, Refusal> {
        let id = {
            let mut runs = self.runs();
            if let Some((_, id)) = runs.running.iter().find(|(l, _)| l == learner) {
                return Err(Refusal::Yours(*id));
            }
            if runs.running.len() >= MAX_RUNNING {
                return Err(Refusal::Busy);
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            runs.running.push((learner.clone(), id));
            id
        };
        let seed = req.seed.unwrap_or_else(|| fastrand::u64(..));
        let run = StormRun::new(id, req, seed);
        self.store(learner, run.clone());
        // Unguessable, so nobody else can drop, publish to or read the storm's clients.
        let tag = format!("{id}-{}", crate::lab::unguessable());
        let name = format!("{LEARNER_PREFIX}storm-{tag}");
        let plan = run::Plan {
            target: Target {
                addr: self.addr,
                transport: req.transport,
                learner: HeaderValue::from_str(&name)
                    .unwrap_or(HeaderValue::from_static("load-lab-storm")),
                topic: format!("storm-{tag}"),
            },
            clients: req.clients.clamp(MIN_CLIENTS, MAX_CLIENTS) as usize,
            strategy: req.strategy,
            retry: Duration::from_millis(req.retry_ms),
            seed,
        };
        let lab = self.clone();
        let owner = learner.clone();
        let mut finished = run.clone();
        tokio::spawn(async move {
            let _running = Running {
                lab: lab.clone(),
                id,
            };
            let outcome = run::run(plan, lab.drops.clone(), lab.shutdown.token().clone()).await;
            finished.status = if outcome.connected == 0 {
                StormStatus::Failed
            } else {
                StormStatus::Done
            };
            finished.connected = outcome.connected;
            finished.dropped = outcome.dropped;
            finished.attempts = outcome.attempts;
            finished.errors = outcome.errors;
            finished.apply(&Timeline::of(&outcome.reconnect_ms));
            lab.store(&owner, finished);
        });
        Ok(run)
    }
}

/// Marks a storm as running until dropped, however its task ends.
struct Running {
    lab: Arc<StormLab>,
    id: u64,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.lab.runs().running.retain(|(_, id)| *id != self.id);
    }
}
