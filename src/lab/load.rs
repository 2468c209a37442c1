//! The load lab: a small, bounded load test started from the browser.
//!
//! The seed calls WebSockets "harder to scale"; this puts numbers on what a
//! connection costs on the learner's own machine. A run starts this same
//! binary as `realtime-playground loadgen …` in a separate process (so the
//! server's memory and CPU, read from `/proc`, are its own and not the
//! clients'), points it at this server, and keeps its JSON report: memory per
//! connection, CPU, fan-out delay and requests per transport.
//!
//! One run at a time, at most [`MAX_CLIENTS`] clients of each kind and
//! [`MAX_DURATION_S`] seconds; the newest [`KEPT_RUNS`] results are kept.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tokio::io::AsyncReadExt;

use crate::problem::ApiError;
use crate::shutdown::Shutdown;

pub const MAX_CLIENTS: u64 = 2000;
pub const MAX_DURATION_S: u64 = 30;
pub const KEPT_RUNS: usize = 5;

pub use crate::traffic::learner::UNLOGGED_PREFIX as LEARNER_PREFIX;

/// What to run: how many clients of each kind, and for how long.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LoadRequest {
    /// SSE clients (0–2000).
    #[oai(default = "default_streams", validator(maximum(value = "2000")))]
    pub sse: u64,
    /// WebSocket clients (0–2000).
    #[oai(default = "default_streams", validator(maximum(value = "2000")))]
    pub websockets: u64,
    /// Long-pollers (0–2000).
    #[oai(default = "default_zero", validator(maximum(value = "2000")))]
    pub long_pollers: u64,
    /// Short pollers (0–2000), each asking every `poll_interval_ms`.
    #[oai(default = "default_pollers", validator(maximum(value = "2000")))]
    pub pollers: u64,
    /// Milliseconds between two polls of one poller (250–5000).
    #[oai(
        default = "default_interval",
        validator(minimum(value = "250"), maximum(value = "5000"))
    )]
    pub poll_interval_ms: u64,
    /// Events published per second during the run (1–40).
    #[oai(
        default = "default_rate",
        validator(minimum(value = "1"), maximum(value = "40"))
    )]
    pub rate: u32,
    /// Seconds measured after everybody connected (3–30).
    #[oai(
        default = "default_duration",
        validator(minimum(value = "3"), maximum(value = "30"))
    )]
    pub duration_s: u64,
}

fn default_streams() -> u64 {
    500
}
fn default_zero() -> u64 {
    0
}
fn default_pollers() -> u64 {
    100
}
fn default_interval() -> u64 {
    1000
}
fn default_rate() -> u32 {
    10
}
fn default_duration() -> u64 {
    10
}

impl poem_openapi::types::Example for LoadRequest {
    fn example() -> Self {
        LoadRequest {
            sse: 1000,
            websockets: 1000,
            long_pollers: 0,
            pollers: 100,
            poll_interval_ms: 1000,
            rate: 10,
            duration_s: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LoadStatus {
    Running,
    Done,
    Failed,
}

/// A load run and, once done, what the load generator measured.
#[derive(Debug, Clone, Object)]
pub struct LoadRun {
    pub id: u64,
    pub status: LoadStatus,
    pub request: LoadRequest,
    /// The generator's report (`loadgen --json`): `connect` (per kind: time,
    /// `kib_per_connection`), `transports` (per kind: deliveries, `delay`
    /// p50/p99/max in ms, requests, empty share), `cpu`, `errors`.
    #[oai(nullable)]
    pub report: Option<serde_json::Value>,
    /// Why the run failed.
    #[oai(nullable)]
    pub error: Option<String>,
}

#[derive(ApiResponse)]
pub enum LoadStarted {
    /// Started; poll `GET /api/lab/load/{id}` until `status` is not `running`.
    #[oai(status = 202)]
    Accepted(Json<LoadRun>),
}

pub struct LoadLab {
    /// Where this server listens (the generator connects there).
    addr: SocketAddr,
    /// The program to start as `<program> loadgen …` (this binary).
    program: PathBuf,
    shutdown: Shutdown,
    next_id: AtomicU64,
    running: AtomicBool,
    runs: Mutex<VecDeque<LoadRun>>,
}

impl LoadLab {
    pub fn new(addr: SocketAddr, program: PathBuf, shutdown: Shutdown) -> Arc<Self> {
        Arc::new(LoadLab {
            addr,
            program,
            shutdown,
            next_id: AtomicU64::new(1),
            running: AtomicBool::new(false),
            runs: Mutex::default(),
        })
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, VecDeque<LoadRun>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn store(&self, run: LoadRun) {
        let mut runs = self.runs();
        runs.retain(|r| r.id != run.id);
        runs.push_back(run);
        while runs.len() > KEPT_RUNS {
            runs.pop_front();
        }
    }

    /// Starts a run unless one is going on.
    pub fn start(self: &Arc<Self>, request: LoadRequest) -> Option<LoadRun> {
        if self.running.swap(true, Ordering::SeqCst) {
            return None;
        }
        let run = LoadRun {
            id: self.next_id.fetch_add(1, Ordering::SeqCst),
            status: LoadStatus::Running,
            request,
            report: None,
            error: None,
        };
        self.store(run.clone());
        let lab = self.clone();
        let mut finished = run.clone();
        tokio::spawn(async move {
            match lab.generate(&finished.request, finished.id).await {
                Ok(report) => {
                    finished.status = LoadStatus::Done;
                    // The generator's own type, checked on the way in; the
                    // API document shows it as the JSON object it is.
                    finished.report = serde_json::to_value(report).ok();
                }
                Err(error) => {
                    tracing::info!(%error, "load run failed");
                    finished.status = LoadStatus::Failed;
                    finished.error = Some(error.to_string());
                }
            }
            lab.store(finished);
            lab.running.store(false, Ordering::SeqCst);
            // The server side of the clients winds down once the generator is
            // gone; then what they used goes back to the OS.
            tokio::time::sleep(Duration::from_secs(2)).await;
            crate::memory::give_back_to_os();
        });
        Some(run)
    }

    /// Runs the generator as a child process and reads its JSON report.
    async fn generate(&self, req: &LoadRequest, id: u64) -> Result<loadgen::Report, RunFailed> {
        let out = std::env::temp_dir().join(format!(
            "realtime-playground-load-{}-{id}.json",
            std::process::id()
        ));
        let mut args: Vec<String> = vec!["loadgen".into()];
        for (flag, value) in [
            ("--url", format!("http://127.0.0.1:{}", self.addr.port())),
            ("--pid", std::process::id().to_string()),
            ("--sse", req.sse.to_string()),
            ("--websockets", req.websockets.to_string()),
            ("--long-pollers", req.long_pollers.to_string()),
            ("--pollers", req.pollers.to_string()),
            ("--poll-interval-ms", req.poll_interval_ms.to_string()),
            ("--publishers", "1".into()),
            ("--rate", req.rate.to_string()),
            ("--duration-secs", req.duration_s.to_string()),
            ("--warmup-secs", "1".into()),
            ("--topic", format!("load-lab-{id}")),
            ("--label", format!("load lab run #{id}")),
            ("--learner-prefix", format!("{LEARNER_PREFIX}{id}-")),
            ("--json", out.display().to_string()),
        ] {
            args.push(flag.into());
            args.push(value);
        }
        let mut child = tokio::process::Command::new(&self.program)
            .args(&args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(RunFailed::CannotStart)?;
        let mut stderr = child.stderr.take();
        // Connecting thousands of clients takes a while; the run is bounded anyway.
        let limit = Duration::from_secs(req.duration_s + 60);
        let status = tokio::select! {
            status = child.wait() => status.map_err(RunFailed::Lost)?,
            _ = tokio::time::sleep(limit) => return Err(RunFailed::TooLong),
            _ = self.shutdown.wait() => return Err(RunFailed::ShuttingDown),
        };
        if !status.success() {
            let mut why = String::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_string(&mut why).await;
            }
            return Err(RunFailed::Failed {
                status,
                why: why.trim().to_owned(),
            });
        }
        let json = tokio::fs::read(&out).await.map_err(RunFailed::NoReport)?;
        let _ = tokio::fs::remove_file(&out).await;
        serde_json::from_slice(&json).map_err(RunFailed::UnreadableReport)
    }
}

/// Why a load run produced no report (its `error`).
#[derive(Debug, thiserror::Error)]
pub enum RunFailed {
    #[error("cannot start the load generator: {0}")]
    CannotStart(std::io::Error),
    #[error("{0}")]
    Lost(std::io::Error),
    #[error("the load generator took too long")]
    TooLong,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the load generator failed ({status}): {why}")]
    Failed {
        status: std::process::ExitStatus,
        why: String,
    },
    #[error("no report: {0}")]
    NoReport(std::io::Error),
    #[error("unreadable report: {0}")]
    UnreadableReport(serde_json::Error),
}

pub struct LoadLabApi {
    pub lab: Arc<LoadLab>,
}

#[OpenApi]
impl LoadLabApi {
    /// Start a load test
    ///
    /// Starts the load generator (this binary, as a separate process) with
    /// that many SSE, WebSocket, long-poll and short-poll clients against this
    /// server, for `duration_s` seconds after they connected. One run at a
    /// time (`429` while one is going). Returns at once; fetch the result from
    /// `GET /api/lab/load/{id}`.
    #[oai(path = "/lab/load", method = "post", tag = "super::LabTags::Lab")]
    async fn start(&self, body: Json<LoadRequest>) -> Result<LoadStarted, ApiError> {
        let req = body.0;
        let clients = req.sse + req.websockets + req.long_pollers + req.pollers;
        if clients == 0 {
            return Err(ApiError::bad_request(
                "Ask for at least one client (sse, websockets, long_pollers or pollers).",
            ));
        }
        if [req.sse, req.websockets, req.long_pollers, req.pollers]
            .iter()
            .any(|&n| n > MAX_CLIENTS)
        {
            return Err(ApiError::bad_request(format!(
                "At most {MAX_CLIENTS} clients of each kind."
            )));
        }
        match self.lab.start(req) {
            Some(run) => Ok(LoadStarted::Accepted(Json(run))),
            None => Err(ApiError::too_many_requests(
                "A load test is already running; wait for it to finish.",
                5,
            )),
        }
    }

    /// A load test and its result
    #[oai(path = "/lab/load/:id", method = "get", tag = "super::LabTags::Lab")]
    async fn get(&self, id: Path<u64>) -> Result<Json<LoadRun>, ApiError> {
        self.lab
            .runs()
            .iter()
            .find(|r| r.id == id.0)
            .cloned()
            .map(Json)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "There is no load test #{} (only the newest {KEPT_RUNS} are kept).",
                    id.0
                ))
            })
    }
}
