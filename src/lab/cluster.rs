//! The cluster lab: two more instances of this server, sharing its Redis, for
//! the scaling lesson.
//!
//! With `--redis-url`, `POST /api/lab/cluster` starts this same binary twice
//! (instances `A` and `B`) on free ports of 127.0.0.1, with the same Redis,
//! paused feeds, and `--allowed-origins` set to the lesson page's origin so
//! the page's `EventSource`, `fetch` and `WebSocket` may reach them (see
//! [`crate::app::cors`]). The learner publishes on one, reads on the other, kills
//! one (`SIGKILL`: the instance "crashes", no goodbye to its clients) and
//! starts it again.
//!
//! Bounded and learner-safe: one cluster of two instances at most, nothing of
//! the command line comes from the request (the pages' origins come from
//! configuration: the Host allow-list and `--allowed-origins`), and the instances end with this server (they
//! watch their standard input, which this server holds open, and are killed
//! on shutdown) or after [`IDLE_LIMIT`] without a request to
//! `/api/lab/cluster`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::backplane::{Backplane, BackplaneStatus, redact_url};
use crate::config::Config;
use crate::lessons::judge::Elsewhere;
use crate::problem::ApiError;
use crate::shutdown::Shutdown;

/// Instances are stopped after this long without a request to `/api/lab/cluster`.
pub const IDLE_LIMIT: Duration = Duration::from_secs(600);
/// How long an instance may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Lines of an instance's log kept to explain a failed start.
const LOG_LINES: usize = 20;

/// What the 409 says, and what the lesson shows, when there is no Redis.
pub const NEEDS_REDIS: &str = "The cluster lab needs Redis: this server runs without \
     --redis-url, so its events live in its own memory and no other instance could share them. \
     Start Redis (redis-server --port 6379 --save ''), then start this server with \
     --redis-url redis://127.0.0.1:6379/ (or PLAYGROUND_REDIS_URL=redis://127.0.0.1:6379/), \
     and try again.";

/// One of the two instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum InstanceName {
    A,
    B,
}

impl InstanceName {
    fn as_str(self) -> &'static str {
        match self {
            InstanceName::A => "A",
            InstanceName::B => "B",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum InstanceState {
    /// The process runs and answers on its port.
    Running,
    /// Killed (or exited); `POST /api/lab/cluster/{name}/start` starts it again.
    Stopped,
}

/// One instance as the page sees it.
#[derive(Debug, Clone, Object)]
pub struct Instance {
    /// `A` or `B`.
    pub name: InstanceName,
    pub state: InstanceState,
    /// TCP port on 127.0.0.1. Kept while stopped: a restart takes it again if it is free.
    pub port: u16,
    /// Where a page reaches it, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// Process id while running.
    #[oai(skip_serializing_if_is_none)]
    pub pid: Option<u32>,
    /// When it last started (RFC 3339).
    pub started_at: String,
    /// What happened to it, in a sentence (while stopped).
    #[oai(skip_serializing_if_is_none)]
    pub note: Option<String>,
}

/// The cluster lab: whether it can run here, and its instances.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ClusterStatus {
    /// Whether this server can start instances (it runs with `--redis-url`).
    pub available: bool,
    /// How to make it available (only when it is not).
    #[oai(skip_serializing_if_is_none)]
    pub hint: Option<String>,
    /// The Redis the instances share (password hidden).
    #[oai(skip_serializing_if_is_none)]
    pub redis_url: Option<String>,
    /// This server's own backplane; the instances use the same Redis.
    pub backplane: BackplaneStatus,
    /// `A` and `B` once started; empty before `POST /api/lab/cluster`.
    pub instances: Vec<Instance>,
    /// Seconds without a request to `/api/lab/cluster` after which the instances are stopped.
    pub idle_limit_s: u64,
    /// The `retry:` delay, in milliseconds, the instances send to SSE clients.
    pub sse_retry_ms: u64,
    /// Seconds between the instances' SSE heartbeat comments.
    pub sse_heartbeat_s: u64,
    /// Seconds between the instances' WebSocket pings.
    pub ws_ping_interval_s: u64,
}

impl poem_openapi::types::Example for ClusterStatus {
    fn example() -> Self {
        let instance = |name, port, pid| Instance {
            name,
            state: InstanceState::Running,
            port,
            url: format!("http://127.0.0.1:{port}"),
            pid: Some(pid),
            started_at: "2026-11-26T09:30:00.000Z".into(),
            note: None,
        };
        ClusterStatus {
            available: true,
            hint: None,
            redis_url: Some("redis://127.0.0.1:6379/".into()),
            backplane: <BackplaneStatus as poem_openapi::types::Example>::example(),
            instances: vec![
                instance(InstanceName::A, 40123, 5123),
                instance(InstanceName::B, 40124, 5124),
            ],
            idle_limit_s: IDLE_LIMIT.as_secs(),
            sse_retry_ms: 2000,
            sse_heartbeat_s: 15,
            ws_ping_interval_s: 20,
        }
    }
}

#[derive(ApiResponse)]
pub enum ClusterStarted {
    /// Started: both instances answer on their ports.
    #[oai(status = 201)]
    Created(Json<ClusterStatus>),
    /// The cluster was already there; nothing changed.
    #[oai(status = 200)]
    AlreadyRunning(Json<ClusterStatus>),
}

/// A running (or stopped) instance's process and what we know of it.
struct Slot {
    name: InstanceName,
    port: u16,
    child: Option<Child>,
    /// Held open: the instance stops when it closes (see `--until-stdin-closes`).
    _stdin: Option<ChildStdin>,
    started_at: SystemTime,
    note: Option<String>,
}

#[derive(Default)]
struct Cluster {
    slots: Vec<Slot>,
    /// Origins the instances accept requests from (the lesson page's).
    origins: Vec<String>,
}

pub struct ClusterLab {
    program: PathBuf,
    redis_url: Option<String>,
    /// Origins the instances allow (CORS, WebSocket origin check): this
    /// server's pages by every name it answers to, from configuration only.
    page_origins: Vec<String>,
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
    /// Asks the instances about a learner's lesson progress.
    http: reqwest::Client,
}

impl ClusterLab {
    pub fn new(config: &Config, addr: SocketAddr, shutdown: Shutdown) -> Arc<Self> {
        let event_ids = match config.event_ids {
            crate::config::EventIds::Clock => "clock",
            crate::config::EventIds::FromOne => "from-one",
        };
        let settings = [
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
        .collect();
        Arc::new(ClusterLab {
            program: std::env::current_exe().unwrap_or_else(|_| "realtime-playground".into()),
            redis_url: config.redis_url.clone(),
            page_origins: configured_page_origins(config, addr.port()),
            settings,
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
        let instances = cluster.slots.iter_mut().map(Slot::describe).collect();
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

    /// Starts A and B unless they exist; `Ok(false)` when they already did.
    pub async fn start(self: &Arc<Self>, origins: Vec<String>) -> Result<bool, ApiError> {
        let redis = self.redis()?.to_owned();
        if self.shutdown.is_shutting_down() {
            return Err(ApiError::unavailable("The server is shutting down."));
        }
        let mut cluster = self.cluster.lock().await;
        if !cluster.slots.is_empty() {
            return Ok(false);
        }
        cluster.origins = origins;
        for name in [InstanceName::A, InstanceName::B] {
            match self.spawn(name, 0, &redis, &cluster.origins).await {
                Ok(slot) => cluster.slots.push(slot),
                Err(why) => {
                    // All or nothing: the one that did start goes too.
                    cluster.slots.clear();
                    return Err(ApiError::unavailable(format!(
                        "Instance {} did not start: {why}",
                        name.as_str()
                    )));
                }
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        tokio::spawn(self.clone().watch(generation));
        Ok(true)
    }

    /// `SIGKILL`s one instance, as if it crashed.
    pub async fn stop(&self, name: InstanceName) -> Result<(), ApiError> {
        let mut cluster = self.cluster.lock().await;
        let slot = cluster
            .slots
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(not_started)?;
        if let Some(mut child) = slot.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            slot._stdin = None;
            slot.note = Some(format!(
                "Killed with SIGKILL at {}: like a crash, it closed none of its connections \
                 politely; its clients saw them break.",
                humantime::format_rfc3339_millis(SystemTime::now())
            ));
            tracing::info!(instance = name.as_str(), "cluster lab: instance killed");
        }
        Ok(())
    }

    /// Starts a stopped instance again, on its old port if that is free.
    pub async fn restart(&self, name: InstanceName, origins: Vec<String>) -> Result<(), ApiError> {
        let redis = self.redis()?.to_owned();
        let mut cluster = self.cluster.lock().await;
        for origin in origins {
            if !cluster.origins.contains(&origin) {
                cluster.origins.push(origin);
            }
        }
        let origins = cluster.origins.clone();
        let index = cluster
            .slots
            .iter_mut()
            .position(|s| s.name == name)
            .ok_or_else(not_started)?;
        let slot = &mut cluster.slots[index];
        slot.describe();
        if slot.child.is_some() {
            return Ok(());
        }
        let old_port = slot.port;
        let fresh = match self.spawn(name, old_port, &redis, &origins).await {
            Ok(fresh) => fresh,
            // The old port is taken by now: any free one will do.
            Err(_) => self.spawn(name, 0, &redis, &origins).await.map_err(|why| {
                ApiError::unavailable(format!("Instance {} did not start: {why}", name.as_str()))
            })?,
        };
        cluster.slots[index] = fresh;
        Ok(())
    }

    /// Stops both instances and forgets them.
    pub async fn stop_all(&self) {
        let mut cluster = self.cluster.lock().await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        for slot in &mut cluster.slots {
            if let Some(mut child) = slot.child.take() {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            }
        }
        cluster.slots.clear();
    }

    /// Stops the instances when the server shuts down or nobody used them for [`IDLE_LIMIT`].
    async fn watch(self: Arc<Self>, generation: u64) {
        loop {
            tokio::select! {
                _ = self.shutdown.wait() => {
                    self.stop_all().await;
                    return;
                }
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if self.idle_for() >= IDLE_LIMIT {
                tracing::info!(
                    "cluster lab: idle for {} s, stopping the instances",
                    IDLE_LIMIT.as_secs()
                );
                self.stop_all().await;
                return;
            }
        }
    }

    async fn running_ports(&self) -> Vec<u16> {
        let mut cluster = self.cluster.lock().await;
        cluster
            .slots
            .iter_mut()
            .map(Slot::describe)
            .filter(|i| i.state == InstanceState::Running)
            .map(|i| i.port)
            .collect()
    }

    /// What the running instances counted for this learner in this lesson,
    /// per check name, summed over the instances (the learner's own and
    /// what "show me" did, apart). The page's requests to an
    /// instance carry the learner's cookie (same host, so same site), so each
    /// instance keeps the learner's traffic in its own log and judges the same
    /// lesson file's checks against it.
    pub async fn check_values(&self, learner: &str, slug: &str) -> Elsewhere {
        let mut values = Elsewhere::new();
        for port in self.running_ports().await {
            let url = format!("http://127.0.0.1:{port}/api/lessons/{slug}/progress");
            let Ok(res) = self.http.get(url).header("X-Learner", learner).send().await else {
                continue;
            };
            let Ok(progress) = res.json::<serde_json::Value>().await else {
                continue;
            };
            for step in progress["steps"].as_array().into_iter().flatten() {
                let Some(id) = step["id"].as_str() else {
                    continue;
                };
                if step["entered"] == false {
                    // Started after the learner entered the step here: all
                    // of this instance's traffic came after that moment.
                    let url = format!(
                        "http://127.0.0.1:{port}/api/lessons/{slug}/steps/{id}/enter?from_start=true"
                    );
                    let _ = self
                        .http
                        .post(url)
                        .header("X-Learner", learner)
                        .send()
                        .await;
                    continue;
                }
                let mine = values.mine.entry(id.to_owned()).or_default();
                let shown = values.shown.entry(id.to_owned()).or_default();
                for check in step["checks"].as_array().into_iter().flatten() {
                    // The condition as written, read by the same parser as the lesson file.
                    let Ok(parsed) = crate::lessons::checks::Check::parse(
                        check["text"].as_str().unwrap_or_default(),
                    ) else {
                        continue;
                    };
                    let value = |key: &str| check[key].as_u64().unwrap_or_default();
                    *mine.entry(parsed.name.to_owned()).or_default() += value("value");
                    *shown.entry(parsed.name.to_owned()).or_default() += value("watched_value");
                }
            }
        }
        values
    }

    /// Opens a step's window on every running instance too, so each
    /// instance counts the learner's traffic from the same moment.
    pub async fn enter_step(&self, learner: &str, slug: &str, step: &str) {
        self.post_to_instances(learner, &format!("/api/lessons/{slug}/steps/{step}/enter"))
            .await;
    }

    /// Starts the lesson over on every running instance too.
    pub async fn reset_lesson(&self, learner: &str, slug: &str) {
        self.post_to_instances(learner, &format!("/api/lessons/{slug}/reset"))
            .await;
    }

    /// POSTs `path` to every running instance as `learner`; an instance that
    /// does not answer is skipped (it is dying or starting).
    async fn post_to_instances(&self, learner: &str, path: &str) {
        for port in self.running_ports().await {
            let url = format!("http://127.0.0.1:{port}{path}");
            let _ = self
                .http
                .post(url)
                .header("X-Learner", learner)
                .send()
                .await;
        }
    }

    /// Starts one instance and waits for the port it prints.
    async fn spawn(
        &self,
        name: InstanceName,
        port: u16,
        redis: &str,
        origins: &[String],
    ) -> Result<Slot, String> {
        let mut command = Command::new(&self.program);
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            // The parent keeps the learner's progress; instances keep none (and
            // could not: the parent holds the file).
            .args(["--feeds-paused", "--until-stdin-closes", "--ephemeral"])
            .args(&self.settings);
        for origin in origins {
            command.args(["--allowed-origins", origin]);
        }
        // This server's own settings must not leak in (PLAYGROUND_PORT, PLAYGROUND_OPEN…).
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PLAYGROUND_") {
                command.env_remove(&key);
            }
        }
        // Through the environment, so a password in it never shows in `ps`.
        command
            .env("PLAYGROUND_REDIS_URL", redis)
            .env("RUST_LOG", "realtime_playground=warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        let stdin = child.stdin.take();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            let label = name.as_str();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::debug!(instance = label, "{line}");
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    log.push_back(line);
                    while log.len() > LOG_LINES {
                        log.pop_front();
                    }
                }
            });
        }
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let printed = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with(crate::app::server::READY_LINE) {
                    return crate::app::server::port_from_ready_line(&line);
                }
            }
            None
        })
        .await;
        let Ok(Some(port)) = printed else {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            // Let the log reader catch the last lines.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let said: Vec<String> = log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned()
                .collect();
            let said = said.join(" / ");
            return Err(if printed.is_err() {
                format!(
                    "it printed no port within {} s. {said}",
                    START_TIMEOUT.as_secs()
                )
            } else {
                format!("it exited. {said}")
            });
        };
        // Keep reading, so a late print never meets a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        tracing::info!(
            instance = name.as_str(),
            port,
            "cluster lab: instance started"
        );
        Ok(Slot {
            name,
            port,
            child: Some(child),
            _stdin: stdin,
            started_at: SystemTime::now(),
            note: None,
        })
    }
}

fn not_started() -> ApiError {
    ApiError::conflict("There are no instances yet: start them with POST /api/lab/cluster.")
}

impl Slot {
    /// Notices an instance that exited by itself, then describes it.
    fn describe(&mut self) -> Instance {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            self.child = None;
            self._stdin = None;
            self.note = Some(format!("It exited by itself ({status})."));
        }
        let pid = self.child.as_ref().and_then(Child::id);
        Instance {
            name: self.name,
            state: if self.child.is_some() {
                InstanceState::Running
            } else {
                InstanceState::Stopped
            },
            port: self.port,
            url: format!("http://127.0.0.1:{}", self.port),
            pid,
            started_at: humantime::format_rfc3339_millis(self.started_at).to_string(),
            note: if self.child.is_some() {
                None
            } else {
                self.note.clone()
            },
        }
    }
}

/// Whether `origin` is a plain `http(s)://host[:port]` (nothing that could
/// become another flag or a second value).
fn plain_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && authority.len() <= 200
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// The origins the lesson page may have: this server by each name its Host
/// allow-list accepts, and `--allowed-origins`. Never a request's `Host` or
/// `Origin`: a rebound name must not become an allowed origin.
fn configured_page_origins(config: &Config, own_port: u16) -> Vec<String> {
    let mut origins =
        crate::app::hosts::HostAllowList::new(&config.allowed_hosts).page_origins(own_port);
    for origin in &config.allowed_origins {
        let origin = origin.trim_end_matches('/').to_owned();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    origins.retain(|o| plain_origin(o));
    origins
}

pub struct ClusterLabApi {
    pub lab: Arc<ClusterLab>,
    pub backplane: Backplane,
}

#[OpenApi]
impl ClusterLabApi {
    /// The cluster lab: can it run here, and its instances
    ///
    /// Always `200`. Without `--redis-url`, `available` is `false` and `hint`
    /// says how to start Redis and this server so it can.
    #[oai(path = "/lab/cluster", method = "get", tag = "super::LabTags::Lab")]
    async fn status(&self) -> Json<ClusterStatus> {
        self.lab.touch();
        Json(self.lab.status(&self.backplane).await)
    }

    /// Start two instances sharing this server's Redis
    ///
    /// Starts instances `A` and `B` of this same program on free ports of
    /// 127.0.0.1, with this server's `--redis-url`, paused feeds, and this
    /// page's origin allowed (CORS and WebSocket origin check), and answers
    /// once both print their port. At most one cluster: if it exists already
    /// the answer is `200` and nothing changes. `409` without `--redis-url`.
    /// The instances stop with this server, on `DELETE /api/lab/cluster`, or
    /// after 10 minutes without a request to `/api/lab/cluster`.
    #[oai(path = "/lab/cluster", method = "post", tag = "super::LabTags::Lab")]
    async fn start(&self) -> Result<ClusterStarted, ApiError> {
        self.lab.touch();
        let started = self.lab.start(self.lab.page_origins.clone()).await?;
        let status = Json(self.lab.status(&self.backplane).await);
        Ok(if started {
            ClusterStarted::Created(status)
        } else {
            ClusterStarted::AlreadyRunning(status)
        })
    }

    /// Stop both instances
    ///
    /// Kills `A` and `B` and forgets them. Always `200`, even when there were none.
    #[oai(path = "/lab/cluster", method = "delete", tag = "super::LabTags::Lab")]
    async fn stop_all(&self) -> Json<ClusterStatus> {
        self.lab.touch();
        self.lab.stop_all().await;
        Json(self.lab.status(&self.backplane).await)
    }

    /// Kill one instance (it "crashes")
    ///
    /// Sends `SIGKILL` to instance `A` or `B`: its SSE streams and WebSockets
    /// break without a close frame (browsers see `1006`). Events published
    /// meanwhile still reach Redis through the other instance. `200` also
    /// when it was already stopped; `409` before `POST /api/lab/cluster`.
    #[oai(
        path = "/lab/cluster/:name/stop",
        method = "post",
        tag = "super::LabTags::Lab"
    )]
    async fn stop(
        &self,
        /// `A` or `B`.
        name: Path<InstanceName>,
    ) -> Result<Json<ClusterStatus>, ApiError> {
        self.lab.touch();
        self.redis_required()?;
        self.lab.stop(name.0).await?;
        Ok(Json(self.lab.status(&self.backplane).await))
    }

    /// Start a stopped instance again
    ///
    /// On its old port if that is still free, otherwise on a new one (see
    /// `url`). `200` also when it was running already; `409` before
    /// `POST /api/lab/cluster`.
    #[oai(
        path = "/lab/cluster/:name/start",
        method = "post",
        tag = "super::LabTags::Lab"
    )]
    async fn restart(
        &self,
        /// `A` or `B`.
        name: Path<InstanceName>,
    ) -> Result<Json<ClusterStatus>, ApiError> {
        self.lab.touch();
        self.lab
            .restart(name.0, self.lab.page_origins.clone())
            .await?;
        Ok(Json(self.lab.status(&self.backplane).await))
    }
}

impl ClusterLabApi {
    fn redis_required(&self) -> Result<(), ApiError> {
        self.lab.redis().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_origins_reach_the_command_line() {
        assert!(plain_origin("http://127.0.0.1:8080"));
        assert!(plain_origin("http://[::1]:8080"));
        assert!(plain_origin("https://play.example"));
        assert!(!plain_origin("http://a,b"));
        assert!(!plain_origin("http://x --redis-url"));
        assert!(!plain_origin("file://"));
        assert!(!plain_origin("javascript:alert(1)"));
    }
}
