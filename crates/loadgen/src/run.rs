//! One run, start to end: connect every client, open the measured window,
//! stop everybody, report.
//!
//! Clients connect one kind at a time (SSE, WebSocket, long-poll, poll),
//! with the server's RSS read before and after each kind; publishers run
//! through a warm-up and then the measured window (or, in fan-out mode,
//! publish a few events one at a time); then every client stops.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::kind::Kind;
use crate::procfs::{self, CpuSnapshot, Process};
use crate::report::{Report, ServerReport, Stage, StageCost, Window};
use crate::scenario::{MAX_CLIENTS, Scenario, ScenarioError, loopback_base};
use crate::shared::{Shared, Target};
use crate::{long_poll, poll, publisher, sse, websocket};

/// How long a kind of client may take to connect before the rest count as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause before reading the server's RSS after a connect stage, so it settles.
const SETTLE: Duration = Duration::from_millis(300);
/// How long clients may keep receiving after a fan-out's last publish: a
/// slow server's late deliveries must count (with their real delay), not
/// vanish from the percentiles.
const FANOUT_DRAIN: Duration = Duration::from_secs(30);
/// How long stopped clients get to wind down before they are aborted.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    HttpClient(reqwest::Error),
    #[error("{base} does not answer: {source}")]
    NoAnswer {
        base: String,
        source: reqwest::Error,
    },
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("{0}")]
    Connecting(#[from] AcquireError),
}

/// Runs a scenario to the end and reports what was measured.
pub async fn run(scenario: Scenario) -> Result<Report, RunError> {
    scenario.check()?;
    let (base, authority) = loopback_base(&scenario.url)?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(MAX_CLIENTS)
        // Only publishers use it: a server that stops answering must not hang the run.
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(RunError::HttpClient)?;
    // Fail early and clearly when nothing listens there.
    http.get(format!("{base}/api/poll?since=0&topics={}", scenario.topic))
        .send()
        .await
        .map_err(|source| RunError::NoAnswer {
            base: base.clone(),
            source,
        })?;
    let addr = tokio::net::lookup_host(&authority)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| RunError::Resolve(authority.clone()))?;
    let target = Target {
        base,
        authority,
        addr,
    };
    let shared = Arc::new(Shared::new(target, &scenario));
    let server = scenario.pid.map(Process::new);
    let rss_start = server.as_ref().and_then(Process::rss_kb);
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();

    let (mut clients, stages) = connect_all(&scenario, &shared, server.as_ref()).await?;
    let rss_connected = server.as_ref().and_then(Process::rss_kb);
    let window = measure(&scenario, &shared, &http, server.as_ref()).await;
    let rss_end = server.as_ref().and_then(Process::rss_kb);
    stop(&shared, &mut clients).await;

    let server_report = scenario.pid.map(|pid| ServerReport {
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
        window,
        server_report,
    ))
}

/// Phase 1: every client connects, one kind at a time.
async fn connect_all(
    scenario: &Scenario,
    shared: &Arc<Shared>,
    server: Option<&Process>,
) -> Result<(JoinSet<()>, Vec<Stage>), RunError> {
    let semaphore = Arc::new(Semaphore::new(scenario.connect_concurrency));
    let mut clients = JoinSet::new();
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
        let rss_kb_before = server.and_then(Process::rss_kb);
        let overflows_before = procfs::listen_overflows();
        let cpu_before = CpuSnapshot::take(server);
        let t0 = Instant::now();
        for i in 0..n {
            let permit = semaphore.clone().acquire_owned().await?;
            let interval = Duration::from_millis(scenario.poll_interval_ms);
            clients.spawn(client(kind, i, shared.clone(), permit, interval));
        }
        let secs = wait_until_settled(shared, kind, n as u64, t0).await;
        let cpu = cpu_before.until(&CpuSnapshot::take(server));
        tokio::time::sleep(SETTLE).await;
        let cost = StageCost {
            rss_kb_before,
            rss_kb_after: server.and_then(Process::rss_kb),
            listen_overflows: procfs::listen_overflows()
                .zip(overflows_before)
                .map(|(after, before)| after.saturating_sub(before)),
            cpu,
        };
        stages.push(Stage::new(kind, n, shared.lane(kind), secs, cost));
    }
    Ok((clients, stages))
}

/// Waits until the `n` clients of `kind` started at `t0` connected or
/// failed; those still trying after [`CONNECT_TIMEOUT`] count as failed.
/// Returns the seconds it took.
async fn wait_until_settled(shared: &Shared, kind: Kind, n: u64, t0: Instant) -> f64 {
    let lane = shared.lane(kind);
    while lane.settled() < n && t0.elapsed() < CONNECT_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let late = n.saturating_sub(lane.settled());
    if late > 0 {
        lane.failed.fetch_add(late, Relaxed);
        shared.error(
            kind,
            "connect timeout",
            format!("{late} not connected after {secs:.0} s"),
        );
    }
    secs
}

/// Phase 2: load, then the measured window.
async fn measure(
    scenario: &Scenario,
    shared: &Arc<Shared>,
    http: &reqwest::Client,
    server: Option<&Process>,
) -> Window {
    let cpu_start;
    let window_start;
    if scenario.fanout_events > 0 {
        cpu_start = CpuSnapshot::take(server);
        window_start = Instant::now();
        shared.set_measuring(true);
        let gap = Duration::from_millis(scenario.fanout_gap_ms);
        publisher::fanout(shared, http, scenario.fanout_events, gap).await;
        drain_fanout(shared).await;
    } else {
        let publishers = publisher::spawn_all(shared, http, scenario.publishers, scenario.rate);
        tokio::time::sleep(Duration::from_secs(scenario.warmup_secs)).await;
        cpu_start = CpuSnapshot::take(server);
        window_start = Instant::now();
        shared.set_measuring(true);
        tokio::time::sleep(Duration::from_secs(scenario.duration_secs)).await;
        shared.set_measuring(false);
        publishers.cancel();
    }
    shared.set_measuring(false);
    Window {
        secs: window_start.elapsed().as_secs_f64(),
        cpu: cpu_start.until(&CpuSnapshot::take(server)),
    }
}

/// Until every streaming client has every fan-out event (or the drain ends).
async fn drain_fanout(shared: &Shared) {
    let expected = shared.published_in_window.load(Relaxed) * shared.stream_clients();
    let drain_end = Instant::now() + FANOUT_DRAIN;
    while shared.stream_deliveries() < expected && Instant::now() < drain_end {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Phase 3: everybody stops; whoever does not within [`STOP_GRACE`] is aborted.
async fn stop(shared: &Shared, clients: &mut JoinSet<()>) {
    shared.stop.cancel();
    let stopped = tokio::time::timeout(STOP_GRACE, async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    if stopped.is_err() {
        clients.abort_all();
    }
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
