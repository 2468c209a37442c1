//! The load generator: many real clients of every transport against one
//! server, measured from the outside.
//!
//! Why a crate of its own: the numbers the README promises (how many
//! connections, how fast one event reaches all of them, how many polls a
//! second) must be measured the same way against this server and against
//! its peers written in other languages, by `bench/run.sh` through the
//! `loadgen` binary, and, bounded, from the browser in the load lab (which
//! runs `realtime-playground loadgen …`). So the core is one
//! `async fn run(Scenario) -> Report` that speaks only the HTTP contract
//! every peer implements (`POST /api/events`, `/api/poll`,
//! `/api/long-poll`, `/api/sse`, `/api/ws`) and knows nothing of the
//! server's internals: the server crate depends on this one, never the
//! other way.
//!
//! How delays are measured: every publisher puts its own clock in the event
//! (`"data": {"sent_us": <unix µs>}`) and every client subtracts it from its
//! own clock at reception; both run on this machine, so no server timestamp
//! is trusted. The server's memory and CPU come from `/proc/<pid>`.
//!
//! A run has three phases: clients connect, one kind at a time (SSE,
//! WebSocket, long-poll, poll), with the server's RSS read before and after
//! each kind; publishers run through a warm-up and then a measured window
//! (or, in fan-out mode, publish a few events one at a time); then every
//! client stops. Everything is bounded in time and count, and only loopback
//! servers are accepted.
//!
//! One file per client kind: [`poll`], [`long_poll`], [`sse`],
//! [`websocket`], [`publisher`]; the numbers are gathered and printed by
//! [`report`], `/proc` is read by [`procfs`]. The `loadgen` binary adds
//! `summarize`, which turns the reports of a whole bench run into targets,
//! ratios and `bench/RESULTS.md`.

pub mod cli;
pub mod long_poll;
mod percentile;
pub mod poll;
pub mod procfs;
pub mod publisher;
pub mod report;
pub mod sse;
pub mod websocket;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use percentile::percentile;
pub use poll::X_LEARNER;
pub use report::{Histogram, Report};

/// Longest run accepted (warm-up and measured window together).
pub const MAX_DURATION_SECS: u64 = 600;
/// Most clients of all kinds together.
pub const MAX_CLIENTS: usize = 20_000;
/// Most events per second the publishers may be asked for.
pub const MAX_RATE: u32 = 100_000;
/// How long a kind of client may take to connect before the rest count as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause before reading the server's RSS after a connect stage, so it settles.
const SETTLE: Duration = Duration::from_millis(300);
/// How long clients may keep receiving after a fan-out's last publish: a
/// slow server's late deliveries must count (with their real delay), not
/// vanish from the percentiles.
const FANOUT_DRAIN: Duration = Duration::from_secs(30);
/// Distinct error messages kept verbatim (all are counted by kind).
const KEPT_ERRORS: usize = 10;

/// What to run against which server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080` (loopback only).
    pub url: String,
    /// The server's process id, for RSS and CPU from `/proc` (its children are counted too).
    pub pid: Option<u32>,
    /// Short pollers.
    pub pollers: usize,
    /// Milliseconds between two polls of one poller; 0 asks again at once
    /// (the poll-throughput mode).
    pub poll_interval_ms: u64,
    pub long_pollers: usize,
    pub sse: usize,
    pub websockets: usize,
    /// Publishers; they share `rate`.
    pub publishers: usize,
    /// Events per second, all publishers together.
    pub rate: u32,
    /// Length of the measured window.
    pub duration_secs: u64,
    /// Load before the measured window starts (not counted).
    pub warmup_secs: u64,
    /// Connection attempts in flight at once.
    pub connect_concurrency: usize,
    /// Topic every event is published on and every client follows.
    pub topic: String,
    /// Fan-out mode when > 0: after connecting, publish this many events one
    /// at a time (instead of the rate-based publishers) and measure each
    /// one's delay to every client.
    pub fanout_events: u32,
    /// Milliseconds between two fan-out events.
    pub fanout_gap_ms: u64,
    /// A name for the report (e.g. the server and scenario).
    pub label: String,
    /// Every client's `X-Learner` starts with this (the load lab's are not logged).
    #[serde(default = "default_learner_prefix")]
    pub learner_prefix: String,
}

fn default_learner_prefix() -> String {
    "load-".into()
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            url: "http://127.0.0.1:8080".into(),
            pid: None,
            pollers: 0,
            poll_interval_ms: 1000,
            long_pollers: 0,
            sse: 0,
            websockets: 0,
            publishers: 1,
            rate: 10,
            duration_secs: 10,
            warmup_secs: 2,
            connect_concurrency: 256,
            topic: "load".into(),
            fanout_events: 0,
            fanout_gap_ms: 200,
            label: String::new(),
            learner_prefix: default_learner_prefix(),
        }
    }
}

impl Scenario {
    pub fn clients(&self) -> usize {
        self.pollers + self.long_pollers + self.sse + self.websockets
    }

    /// What kind of run this is, for the report.
    pub fn mode(&self) -> &'static str {
        if self.fanout_events > 0 {
            "fanout"
        } else if self.pollers > 0 && self.poll_interval_ms == 0 {
            "poll-throughput"
        } else {
            "mixed"
        }
    }

    /// Refuses what is unbounded, too big or not on this machine.
    pub fn check(&self) -> Result<(), String> {
        loopback_base(&self.url)?;
        if self.clients() > MAX_CLIENTS {
            return Err(format!(
                "{} clients asked for; at most {MAX_CLIENTS}",
                self.clients()
            ));
        }
        let secs = if self.fanout_events > 0 {
            (u64::from(self.fanout_events) * self.fanout_gap_ms).div_ceil(1000)
        } else {
            self.duration_secs + self.warmup_secs
        };
        if secs > MAX_DURATION_SECS {
            return Err(format!(
                "a {secs} s run asked for; at most {MAX_DURATION_SECS} s"
            ));
        }
        if self.fanout_events == 0 && self.duration_secs == 0 {
            return Err("--duration-secs must be at least 1".into());
        }
        if self.rate > MAX_RATE {
            return Err(format!(
                "{} events/s asked for; at most {MAX_RATE}",
                self.rate
            ));
        }
        if self.publishers > 1000 {
            return Err("at most 1000 publishers".into());
        }
        if !(1..=5000).contains(&self.connect_concurrency) {
            return Err("--connect-concurrency must be 1 to 5000".into());
        }
        if self.topic.is_empty() || self.topic.len() > 64 {
            return Err("--topic must be 1 to 64 characters".into());
        }
        // Every client holds a socket; leave room for publishers and the runtime.
        let needed = (self.clients() + self.publishers + 64) as u64;
        if let Some(limit) = procfs::open_files_limit()
            && needed > limit
        {
            return Err(format!(
                "{} clients need about {needed} open files, the limit is {limit}: \
                 raise it with `ulimit -n` or ask for fewer clients",
                self.clients()
            ));
        }
        Ok(())
    }
}

/// `http://host:port` of a loopback URL, or why it is refused.
pub fn loopback_base(url: &str) -> Result<(String, String), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad --url {url}: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!("--url must be http://, not {}", parsed.scheme()));
    }
    let host = parsed.host_str().unwrap_or_default();
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!(
            "{url} is not on this machine: the load generator only drives loopback servers \
             (127.0.0.1, ::1, localhost)"
        ));
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    let authority = if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok((format!("http://{authority}"), authority))
}

/// The four kinds of client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Sse,
    Websocket,
    LongPoll,
    Poll,
}

impl Kind {
    /// In connect order: the long-lived connections first.
    pub const ALL: [Kind; 4] = [Kind::Sse, Kind::Websocket, Kind::LongPoll, Kind::Poll];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Sse => "sse",
            Kind::Websocket => "websocket",
            Kind::LongPoll => "long-poll",
            Kind::Poll => "poll",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What one kind of client has done so far.
#[derive(Default)]
pub(crate) struct Lane {
    connected: AtomicU64,
    failed: AtomicU64,
    /// Per connection, start of the attempt → usable (µs).
    connect_us: Mutex<Vec<u64>>,
    deliveries: AtomicU64,
    requests: AtomicU64,
    empty: AtomicU64,
    delay: Histogram,
}

/// Everything the client tasks share.
pub(crate) struct Shared {
    /// `http://host:port`
    pub base: String,
    /// `host:port`, for the `Host` header.
    pub authority: String,
    /// The server's address, resolved once.
    pub addr: SocketAddr,
    pub topic: String,
    pub learner_prefix: String,
    pub stop: CancellationToken,
    /// Only deliveries and requests inside the measured window count.
    measuring: AtomicBool,
    lanes: [Lane; 4],
    errors: Mutex<BTreeMap<String, u64>>,
    error_samples: Mutex<Vec<String>>,
    pub published: AtomicU64,
    pub published_in_window: AtomicU64,
    pub publish_latency: Histogram,
}

impl Shared {
    fn lane(&self, kind: Kind) -> &Lane {
        &self.lanes[kind.index()]
    }

    pub fn measuring(&self) -> bool {
        self.measuring.load(Relaxed)
    }

    /// A client of `kind` is connected (first answer, stream open, subscribed).
    pub fn connected(&self, kind: Kind, took: Duration) {
        let lane = self.lane(kind);
        lane.connect_us
            .lock()
            .unwrap()
            .push(took.as_micros() as u64);
        lane.connected.fetch_add(1, Relaxed);
    }

    /// A client of `kind` could not connect; `what` is a short error kind.
    pub fn failed(&self, kind: Kind, what: &str, detail: impl std::fmt::Display) {
        self.lane(kind).failed.fetch_add(1, Relaxed);
        self.error(kind, what, detail);
    }

    /// Counts an error under `<kind> <what>` and keeps a few messages verbatim.
    pub fn error(&self, kind: Kind, what: &str, detail: impl std::fmt::Display) {
        let key = format!("{} {what}", kind.name());
        *self.errors.lock().unwrap().entry(key.clone()).or_default() += 1;
        let mut kept = self.error_samples.lock().unwrap();
        if kept.len() < KEPT_ERRORS {
            kept.push(format!("{key}: {detail}"));
        }
    }

    /// A publisher's error (not a client's).
    pub fn publish_error(&self, what: &str, detail: impl std::fmt::Display) {
        let key = format!("publish {what}");
        *self.errors.lock().unwrap().entry(key.clone()).or_default() += 1;
        let mut kept = self.error_samples.lock().unwrap();
        if kept.len() < KEPT_ERRORS {
            kept.push(format!("{key}: {detail}"));
        }
    }

    /// One request of a poller or long-poller was answered (`empty`: 204).
    pub fn answered(&self, kind: Kind, empty: bool) {
        if self.measuring() {
            let lane = self.lane(kind);
            lane.requests.fetch_add(1, Relaxed);
            if empty {
                lane.empty.fetch_add(1, Relaxed);
            }
        }
    }

    /// Every `"sent_us"` in `bytes` is one event received at `now_us`.
    pub fn delivered(&self, kind: Kind, bytes: &[u8], now_us: u64) {
        if !self.measuring() {
            return;
        }
        let lane = self.lane(kind);
        for sent in sent_us_values(bytes) {
            lane.deliveries.fetch_add(1, Relaxed);
            lane.delay.record(now_us.saturating_sub(sent));
        }
    }
}

/// Opens client `n`'s TCP connection to the server.
///
/// Over IPv4 each client connects from one of 249 loopback addresses
/// (127.0.0.2–250, all routed to `lo` on Linux): with ~20,000 sockets to
/// one server port, the kernel's search for a free ephemeral port of a
/// single source address costs more CPU than the rest of the generator
/// (measured: 60 % of its time while 9,000 WebSockets connected after
/// 10,000 SSE streams). A spread-out source makes that search instant.
pub(crate) async fn dial(shared: &Shared, n: usize) -> std::io::Result<tokio::net::TcpStream> {
    dial_loopback(shared.addr, n).await
}

/// Client `n`'s TCP connection to `addr`: over IPv4 loopback from one of
/// 249 loopback addresses (127.0.0.2–250), so thousands of sockets to one
/// server port do not exhaust one source address's ephemeral ports. The load
/// generator's clients and the reconnect-storm lab's connect this way.
pub async fn dial_loopback(addr: SocketAddr, n: usize) -> std::io::Result<tokio::net::TcpStream> {
    let stream = match addr {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => {
            let socket = tokio::net::TcpSocket::new_v4()?;
            let source = Ipv4Addr::new(127, 0, 0, 2 + (n % 249) as u8);
            // Linux answers on all of 127/8; where only 127.0.0.1 exists
            // (macOS), connect from there.
            match socket.bind(SocketAddr::from((source, 0))) {
                Ok(()) => socket.connect(addr).await?,
                Err(_) => tokio::net::TcpStream::connect(addr).await?,
            }
        }
        addr => tokio::net::TcpStream::connect(addr).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Microseconds since the Unix epoch: the clock publishers and clients share.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// Every number that follows `"sent_us":` in `bytes` (spaces allowed after
/// the colon, as some JSON encoders write them). No full JSON parse: this
/// runs once per delivery, thousands of times a second.
pub fn sent_us_values(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    const KEY: &[u8] = b"\"sent_us\":";
    let mut at = 0;
    std::iter::from_fn(move || {
        while at + KEY.len() <= bytes.len() {
            let found = bytes[at..].windows(KEY.len()).position(|w| w == KEY)?;
            at += found + KEY.len();
            while bytes.get(at) == Some(&b' ') {
                at += 1;
            }
            let digits = bytes[at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let value = std::str::from_utf8(&bytes[at..at + digits])
                .ok()
                .and_then(|s| s.parse().ok());
            at += digits;
            if value.is_some() {
                return value;
            }
        }
        None
    })
}

/// Runs a scenario to the end and reports what was measured.
pub async fn run(scenario: Scenario) -> Result<Report, String> {
    scenario.check()?;
    let (base, authority) = loopback_base(&scenario.url)?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(MAX_CLIENTS)
        // Only publishers use it: a server that stops answering must not hang the run.
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    // Fail early and clearly when nothing listens there.
    http.get(format!("{base}/api/poll?since=0&topics={}", scenario.topic))
        .send()
        .await
        .map_err(|e| format!("{base} does not answer: {e}"))?;

    let addr = tokio::net::lookup_host(&authority)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("cannot resolve {authority}"))?;
    let shared = Arc::new(Shared {
        base,
        authority,
        addr,
        topic: scenario.topic.clone(),
        learner_prefix: scenario.learner_prefix.clone(),
        stop: CancellationToken::new(),
        measuring: AtomicBool::new(false),
        lanes: Default::default(),
        errors: Mutex::default(),
        error_samples: Mutex::default(),
        published: AtomicU64::new(0),
        published_in_window: AtomicU64::new(0),
        publish_latency: Histogram::default(),
    });
    let server = scenario.pid.map(procfs::Process::new);
    let rss_start = server.as_ref().and_then(procfs::Process::rss_kb);
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();

    // Phase 1: connect, one kind at a time.
    let semaphore = Arc::new(Semaphore::new(scenario.connect_concurrency));
    let mut clients = tokio::task::JoinSet::new();
    let mut stages = Vec::new();
    for kind in Kind::ALL {
        let n = match kind {
            Kind::Sse => scenario.sse,
            Kind::Websocket => scenario.websockets,
            Kind::LongPoll => scenario.long_pollers,
            Kind::Poll => scenario.pollers,
        };
        if n == 0 {
            continue;
        }
        let rss_before = server.as_ref().and_then(procfs::Process::rss_kb);
        let overflows_before = procfs::listen_overflows();
        let cpu_before = procfs::CpuSnapshot::take(server.as_ref());
        let t0 = Instant::now();
        for i in 0..n {
            let permit = semaphore
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| e.to_string())?;
            let shared = shared.clone();
            let interval = Duration::from_millis(scenario.poll_interval_ms);
            clients.spawn(client(kind, i, shared, permit, interval));
        }
        let lane = shared.lane(kind);
        let done = || lane.connected.load(Relaxed) + lane.failed.load(Relaxed);
        while done() < n as u64 && t0.elapsed() < CONNECT_TIMEOUT {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let secs = t0.elapsed().as_secs_f64();
        let cpu = cpu_before.until(&procfs::CpuSnapshot::take(server.as_ref()));
        let late = (n as u64).saturating_sub(done());
        if late > 0 {
            lane.failed.fetch_add(late, Relaxed);
            shared.error(
                kind,
                "connect timeout",
                format!("{late} not connected after {secs:.0} s"),
            );
        }
        tokio::time::sleep(SETTLE).await;
        let rss_after = server.as_ref().and_then(procfs::Process::rss_kb);
        stages.push(report::Stage::new(
            kind,
            n,
            lane.connected.load(Relaxed),
            lane.failed.load(Relaxed),
            secs,
            &lane.connect_us.lock().unwrap(),
            rss_before,
            rss_after,
            procfs::listen_overflows()
                .zip(overflows_before)
                .map(|(after, before)| after.saturating_sub(before)),
            cpu,
        ));
    }
    let rss_connected = server.as_ref().and_then(procfs::Process::rss_kb);

    // Phase 2: load, then the measured window.
    let cpu_start;
    let window_start;
    if scenario.fanout_events > 0 {
        cpu_start = procfs::CpuSnapshot::take(server.as_ref());
        window_start = Instant::now();
        shared.measuring.store(true, Relaxed);
        publisher::fanout(
            &shared,
            &http,
            scenario.fanout_events,
            Duration::from_millis(scenario.fanout_gap_ms),
        )
        .await;
        // Until every streaming client has every event (or the drain ends).
        let streams = [Kind::Sse, Kind::Websocket];
        let clients: u64 = streams
            .iter()
            .map(|k| shared.lane(*k).connected.load(Relaxed))
            .sum();
        let expected = shared.published_in_window.load(Relaxed) * clients;
        let got = || -> u64 {
            streams
                .iter()
                .map(|k| shared.lane(*k).deliveries.load(Relaxed))
                .sum()
        };
        let drain_end = Instant::now() + FANOUT_DRAIN;
        while got() < expected && Instant::now() < drain_end {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    } else {
        let publishers = publisher::spawn_all(&shared, &http, scenario.publishers, scenario.rate);
        tokio::time::sleep(Duration::from_secs(scenario.warmup_secs)).await;
        cpu_start = procfs::CpuSnapshot::take(server.as_ref());
        window_start = Instant::now();
        shared.measuring.store(true, Relaxed);
        tokio::time::sleep(Duration::from_secs(scenario.duration_secs)).await;
        shared.measuring.store(false, Relaxed);
        publishers.cancel();
    }
    shared.measuring.store(false, Relaxed);
    let window_secs = window_start.elapsed().as_secs_f64();
    let cpu = cpu_start.until(&procfs::CpuSnapshot::take(server.as_ref()));
    let rss_end = server.as_ref().and_then(procfs::Process::rss_kb);

    // Phase 3: everybody stops.
    shared.stop.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(5), async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    if stopped.is_err() {
        clients.abort_all();
    }

    let server_report = scenario.pid.map(|pid| report::ServerReport {
        pid,
        rss_kb_start: rss_start,
        rss_kb_connected: rss_connected,
        rss_kb_end: rss_end,
    });
    Ok(Report::build(
        &scenario,
        started_at,
        &shared,
        stages,
        window_secs,
        cpu,
        server_report,
    ))
}

/// One client of `kind`: connects (holding `permit` until then), then runs
/// until the run stops.
async fn client(
    kind: Kind,
    n: usize,
    shared: Arc<Shared>,
    permit: OwnedSemaphorePermit,
    poll_interval: Duration,
) {
    let learner = format!("{}{}-{n}", shared.learner_prefix, kind.name());
    match kind {
        Kind::Sse => sse::run(shared, n, learner, permit).await,
        Kind::Websocket => websocket::run(shared, n, learner, permit).await,
        Kind::LongPoll => long_poll::run(shared, n, learner, permit).await,
        Kind::Poll => poll::run(shared, n, learner, permit, poll_interval).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_us_is_found_with_or_without_spaces() {
        let body =
            br#"{"events":[{"id":1,"data":{"sent_us":17}},{"id":2,"data":{"sent_us": 42}}]}"#;
        assert_eq!(sent_us_values(body).collect::<Vec<_>>(), vec![17, 42]);
        assert_eq!(sent_us_values(b"data: {\"x\":1}").count(), 0);
        assert_eq!(sent_us_values(b"\"sent_us\":").count(), 0);
    }

    #[test]
    fn only_loopback_servers_are_driven() {
        assert!(loopback_base("http://127.0.0.1:8080").is_ok());
        assert!(loopback_base("http://localhost:3000/").is_ok());
        assert_eq!(loopback_base("http://[::1]:9000").unwrap().1, "[::1]:9000");
        assert!(loopback_base("http://10.0.0.1:8080").is_err());
        assert!(loopback_base("http://example.com").is_err());
        assert!(loopback_base("https://127.0.0.1").is_err());
    }

    #[test]
    fn runs_are_bounded() {
        let ok = Scenario {
            sse: 10,
            ..Scenario::default()
        };
        assert!(ok.check().is_ok());
        let too_many = Scenario {
            sse: 15_000,
            websockets: 9_000,
            ..Scenario::default()
        };
        assert!(too_many.check().is_err());
        let too_long = Scenario {
            duration_secs: 600,
            warmup_secs: 5,
            ..Scenario::default()
        };
        assert!(too_long.check().is_err());
    }
}
