//! The comparison lab: the seed's "Key Differences" table, measured.
//!
//! - [`race`] runs one feed over all four transports at once with real
//!   clients and measures each lane.
//! - [`load`] runs a bounded load test (the `loadgen` command) against this
//!   server and reports what each connection costs.
//! - [`cluster`] starts two more instances of this server sharing its Redis,
//!   for the scaling lesson (kill one, watch clients move).
//! - [`storm`] drops hundreds of the server's own clients at once and
//!   charts how they come back (fixed retry vs back-off with jitter).
//! - [`faults`] are switches and actions that break a learner's own
//!   connections the way proxies, deploys and networks do.
//! - [`race_api`] is `/api/lab/runs`; [`report`] checks a browser race's report.
//!
//! Runs are bounded: at most [`MAX_RUNNING`] at a time (one per learner and
//! one per client address), at most [`MAX_DURATION_S`] seconds each, and only
//! the newest [`KEPT_RUNS`] results are kept. A race belongs to the learner
//! who started it: only they read it, and in browser mode only they report on
//! it, once, within [`REPORT_WINDOW`] of its end ([`report`] checks the
//! numbers). Its topic and its lanes' learner ids carry a random tag, so
//! nobody else can publish into it, set faults on a lane or read a lane's log.

pub mod bests;
pub mod challenges;
pub mod challenges_api;
pub mod cluster;
pub mod faults;
pub mod load;
pub mod race;
pub mod race_api;
pub mod report;
pub mod storm;

pub use race_api::LabApi;

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, Tags};

use crate::backplane::Backplane;
use crate::hub::Hub;
use crate::traffic::stats::percentile;
use crate::traffic::{Protocol, TrafficLog, Transport};
use race::{LaneOutcome, RaceConfig, lane_traffic};

pub const MAX_RUNNING: usize = 2;
pub const MAX_DURATION_S: u64 = 60;
pub const KEPT_RUNS: usize = 20;
/// How long after its end a browser-mode race takes its report.
pub const REPORT_WINDOW: Duration = Duration::from_secs(60);

#[derive(Tags)]
pub(crate) enum LabTags {
    /// Race one feed over all four transports at once and measure each.
    #[oai(rename = "Comparison lab")]
    Lab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Done,
}

/// How to run a race.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct RunRequest {
    /// Seconds the feed runs (1–60).
    #[oai(
        default = "default_duration",
        validator(minimum(value = "1"), maximum(value = "60"))
    )]
    pub duration_s: u64,
    /// Milliseconds between two events (100–10000).
    #[oai(
        default = "default_rate",
        validator(minimum(value = "100"), maximum(value = "10000"))
    )]
    pub rate_ms: u64,
    /// Milliseconds between two short polls (100–10000).
    #[oai(
        default = "default_poll",
        validator(minimum(value = "100"), maximum(value = "10000"))
    )]
    pub poll_interval_ms: u64,
    /// Lanes to race: `poll`, `long_poll`, `sse`, `websocket` (all when empty).
    #[oai(default, validator(pattern = "^(poll|long_poll|sse|websocket)$"))]
    pub transports: Vec<String>,
    /// Events published at each tick (1–20): bursts show how each lane copes.
    #[oai(
        default = "default_burst",
        validator(minimum(value = "1"), maximum(value = "20"))
    )]
    pub burst: u64,
    /// `server`: the server's own Rust clients race. `browser`: the server only
    /// publishes; your browser's clients race and report with
    /// `POST /api/lab/runs/{id}/report`.
    #[oai(default)]
    pub mode: RunMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RunMode {
    #[default]
    Server,
    Browser,
}

fn default_burst() -> u64 {
    1
}

fn default_duration() -> u64 {
    10
}
fn default_rate() -> u64 {
    2000
}
fn default_poll() -> u64 {
    1000
}

impl poem_openapi::types::Example for RunRequest {
    fn example() -> Self {
        RunRequest {
            duration_s: 10,
            rate_ms: 2000,
            poll_interval_ms: 1000,
            transports: vec![
                "poll".into(),
                "long_poll".into(),
                "sse".into(),
                "websocket".into(),
            ],
            burst: 1,
            mode: RunMode::Server,
        }
    }
}

/// One lane's measurements.
#[derive(Debug, Clone, Object)]
pub struct Lane {
    pub transport: String,
    /// Request/response exchanges made.
    pub requests: u64,
    /// Long-lived connections opened.
    pub connections: u64,
    /// Answers without news.
    pub empty: u64,
    /// `empty / requests`.
    pub empty_share: f64,
    /// Events that reached the client (duplicates included).
    pub received: u64,
    /// Published events that never arrived.
    pub lost: u64,
    /// Events that arrived more than once.
    pub duplicated: u64,
    /// Bytes client → server on the wire.
    pub bytes_up: u64,
    /// Bytes server → client on the wire.
    pub bytes_down: u64,
    /// Bytes that were headers, status lines and frame headers.
    pub header_bytes: u64,
    /// Bytes that were bodies and frame payloads.
    pub payload_bytes: u64,
    /// Publish → received, median, milliseconds.
    #[oai(nullable)]
    pub delay_p50_ms: Option<f64>,
    #[oai(nullable)]
    pub delay_p95_ms: Option<f64>,
    #[oai(nullable)]
    pub delay_max_ms: Option<f64>,
    /// Anything that went wrong in the lane's client.
    pub errors: Vec<String>,
    /// The HTTP version the lane's requests came on, as the traffic log saw
    /// it: the server's own clients speak HTTP/1.1; a browser over `--tls`
    /// uses HTTP/2 where it can.
    #[oai(nullable)]
    pub protocol: Option<Protocol>,
}

#[derive(Debug, Clone, Object)]
pub struct Run {
    pub id: u64,
    pub status: RunStatus,
    /// RFC 3339.
    pub started_at: String,
    pub duration_s: u64,
    pub rate_ms: u64,
    pub poll_interval_ms: u64,
    pub burst: u64,
    pub mode: RunMode,
    /// The private topic the run publishes on.
    pub topic: String,
    /// Events published so far.
    pub published: u64,
    /// Filled in when the run is done.
    pub lanes: Vec<Lane>,
}

impl Run {
    /// A run as it starts: running, nothing published yet.
    fn starting(id: u64, req: &RunRequest, topic: String) -> Self {
        Run {
            id,
            status: RunStatus::Running,
            started_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            duration_s: req.duration_s,
            rate_ms: req.rate_ms,
            poll_interval_ms: req.poll_interval_ms,
            burst: req.burst,
            mode: req.mode,
            topic,
            published: 0,
            lanes: Vec::new(),
        }
    }
}

#[derive(ApiResponse)]
pub enum StartResponse {
    /// Started; poll `GET /api/lab/runs/{id}` for the result.
    #[oai(status = 202)]
    Accepted(Json<Run>),
}

/// A run with what only the server knows about it.
struct Entry {
    run: Run,
    /// Who started it: the only learner who reads it and reports on it.
    owner: Arc<str>,
    address: Option<IpAddr>,
    /// Browser mode: when the run stopped publishing, and whether it was reported.
    ended: Option<Instant>,
    reported: bool,
}

/// Why a race did not start.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This learner or this address already has one running.
    Yours,
    /// [`MAX_RUNNING`] are running on the server.
    Busy,
}

/// Why a report was not taken.
#[derive(Debug)]
pub enum ReportRefusal {
    NotFound,
    NotBrowserMode,
    StillPublishing,
    AlreadyReported,
    TooLate,
    Bad(report::BadReport),
}

type Runs = (BTreeMap<u64, Entry>, VecDeque<u64>);

/// The lab's runs.
pub struct Lab {
    addr: SocketAddr,
    hub: Hub,
    backplane: Backplane,
    traffic: TrafficLog,
    next_id: AtomicU64,
    runs: Mutex<Runs>,
}

/// 64 random bits from the OS as hex: what keeps a run's topic and its
/// clients' learner ids unguessable.
pub(crate) fn unguessable() -> String {
    crate::traffic::learner::random_hex::<8>()
}

impl Lab {
    pub fn new(addr: SocketAddr, hub: Hub, backplane: Backplane, traffic: TrafficLog) -> Self {
        Lab {
            addr,
            hub,
            backplane,
            traffic,
            next_id: AtomicU64::new(1),
            runs: Mutex::new((BTreeMap::new(), VecDeque::new())),
        }
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, Runs> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a run in the background for `owner`, who asked from `address`.
    pub fn start(
        self: &Arc<Self>,
        req: &RunRequest,
        lanes: Vec<Transport>,
        owner: Arc<str>,
        address: Option<IpAddr>,
    ) -> Result<Run, Refusal> {
        let mut runs = self.runs();
        admit(&runs, &owner, address)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{id}-{}", unguessable());
        let run = Run::starting(id, req, format!("lab-{tag}"));
        let entry = Entry {
            run: run.clone(),
            owner,
            address,
            ended: None,
            reported: false,
        };
        keep(&mut runs, id, entry);
        drop(runs);
        tokio::spawn(self.clone().race(id, tag, race_config(req, lanes)));
        Ok(run)
    }

    /// Runs race `id` and files its result.
    async fn race(self: Arc<Self>, id: u64, tag: String, config: RaceConfig) {
        let (outcomes, published) = race::run(
            self.addr,
            self.hub.clone(),
            self.backplane.clone(),
            id,
            &tag,
            config,
        )
        .await;
        let lanes = outcomes
            .into_iter()
            .map(|(t, o)| self.lane(&tag, t, &o, published))
            .collect();
        if let Some(entry) = self.runs().0.get_mut(&id) {
            entry.ended = Some(Instant::now());
            let run = &mut entry.run;
            run.status = RunStatus::Done;
            run.published = published;
            if run.mode == RunMode::Server {
                run.lanes = lanes;
            }
        }
    }

    /// The run `id` if `learner` started it.
    pub fn get(&self, id: u64, learner: &str) -> Option<Run> {
        let runs = self.runs();
        let entry = runs.0.get(&id)?;
        (&*entry.owner == learner).then(|| entry.run.clone())
    }

    /// Takes the one report of `learner`'s browser-mode run `id`.
    pub fn take_report(
        &self,
        id: u64,
        learner: &str,
        lanes: Vec<Lane>,
    ) -> Result<Run, ReportRefusal> {
        let mut runs = self.runs();
        let entry = runs
            .0
            .get_mut(&id)
            .filter(|e| &*e.owner == learner)
            .ok_or(ReportRefusal::NotFound)?;
        if entry.run.mode != RunMode::Browser {
            return Err(ReportRefusal::NotBrowserMode);
        }
        let ended = entry.ended.ok_or(ReportRefusal::StillPublishing)?;
        if entry.reported {
            return Err(ReportRefusal::AlreadyReported);
        }
        if ended.elapsed() > REPORT_WINDOW {
            return Err(ReportRefusal::TooLate);
        }
        report::check(&lanes, entry.run.published, entry.run.duration_s)
            .map_err(ReportRefusal::Bad)?;
        entry.reported = true;
        entry.run.lanes = lanes;
        Ok(entry.run.clone())
    }

    fn lane(&self, tag: &str, t: Transport, o: &LaneOutcome, published: u64) -> Lane {
        let traffic = lane_traffic(&self.traffic, &format!("lab-{tag}-{}", t.as_str()));
        let mut unique = o.received.clone();
        unique.sort_unstable();
        unique.dedup();
        let mut delays = o.delays_ms.clone();
        delays.sort_by(f64::total_cmp);
        let pick = |p: f64| percentile(&delays, p);
        let total = traffic.bytes_up + traffic.bytes_down;
        Lane {
            transport: t.as_str().into(),
            requests: traffic.requests,
            connections: traffic.connections,
            empty: traffic.empty,
            empty_share: if traffic.requests > 0 {
                traffic.empty as f64 / traffic.requests as f64
            } else {
                0.0
            },
            received: o.received.len() as u64,
            lost: published.saturating_sub(unique.len() as u64),
            duplicated: (o.received.len() - unique.len()) as u64,
            bytes_up: traffic.bytes_up,
            bytes_down: traffic.bytes_down,
            header_bytes: total.saturating_sub(traffic.payload_bytes),
            payload_bytes: traffic.payload_bytes,
            delay_p50_ms: pick(0.5),
            delay_p95_ms: pick(0.95),
            delay_max_ms: delays.last().copied(),
            errors: o.errors.clone(),
            protocol: traffic.protocol,
        }
    }
}

/// Whether one more run may start now: one per learner and per address, at
/// most [`MAX_RUNNING`] in all.
fn admit(runs: &Runs, owner: &Arc<str>, address: Option<IpAddr>) -> Result<(), Refusal> {
    let running: Vec<&Entry> = runs
        .0
        .values()
        .filter(|e| e.run.status == RunStatus::Running)
        .collect();
    if running
        .iter()
        .any(|e| e.owner == *owner || (address.is_some() && e.address == address))
    {
        return Err(Refusal::Yours);
    }
    if running.len() >= MAX_RUNNING {
        return Err(Refusal::Busy);
    }
    Ok(())
}

/// Files a new run, forgetting the oldest beyond [`KEPT_RUNS`].
fn keep(runs: &mut Runs, id: u64, entry: Entry) {
    runs.0.insert(id, entry);
    runs.1.push_back(id);
    while runs.1.len() > KEPT_RUNS {
        if let Some(old) = runs.1.pop_front() {
            runs.0.remove(&old);
        }
    }
}

/// What the race's clients do; in browser mode the server only publishes.
fn race_config(req: &RunRequest, lanes: Vec<Transport>) -> RaceConfig {
    RaceConfig {
        duration: Duration::from_secs(req.duration_s),
        rate: Duration::from_millis(req.rate_ms),
        poll_interval: Duration::from_millis(req.poll_interval_ms),
        burst: req.burst,
        lanes: if req.mode == RunMode::Browser {
            Vec::new()
        } else {
            lanes
        },
    }
}
