//! What a run measured, as a struct saved as JSON (`loadgen --json`, read
//! back by `loadgen summarize` and the load lab); `table` prints it.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

use serde::{Deserialize, Serialize};

use crate::histogram::Delays;
use crate::kind::Kind;
use crate::percentile;
use crate::procfs::CpuUse;
use crate::scenario::{Mode, Scenario};
use crate::shared::{Lane, Shared};

/// What connecting one kind of client cost the server, read around it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StageCost {
    pub rss_kb_before: Option<u64>,
    pub rss_kb_after: Option<u64>,
    pub listen_overflows: Option<u64>,
    pub cpu: CpuUse,
}

/// How one kind of client connected, and what it cost the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stage {
    pub kind: Kind,
    pub clients: usize,
    pub connected: u64,
    pub failed: u64,
    /// From the first attempt until every client of this kind was connected (or failed).
    pub total_secs: f64,
    /// Per connection: attempt → usable.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub rss_kb_before: Option<u64>,
    pub rss_kb_after: Option<u64>,
    /// (RSS after − RSS before) / connected, in KiB.
    pub kib_per_connection: Option<f64>,
    /// Connection attempts the kernel dropped meanwhile (accept queue full, whole machine).
    pub listen_overflows: Option<u64>,
    /// CPU while this kind connected: who was busy.
    pub cpu: CpuUse,
}

impl Stage {
    pub(crate) fn new(
        kind: Kind,
        clients: usize,
        lane: &Lane,
        total_secs: f64,
        cost: StageCost,
    ) -> Stage {
        let connected = lane.connected.load(Relaxed);
        let mut ms: Vec<f64> = lane
            .connect_us
            .lock()
            .unwrap()
            .iter()
            .map(|us| *us as f64 / 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        let round = |v: Option<f64>| v.map(|v| (v * 100.0).round() / 100.0);
        Stage {
            kind,
            clients,
            connected,
            failed: lane.failed.load(Relaxed),
            total_secs: (total_secs * 1000.0).round() / 1000.0,
            p50_ms: round(percentile(&ms, 0.50)),
            p99_ms: round(percentile(&ms, 0.99)),
            max_ms: round(ms.last().copied()),
            rss_kb_before: cost.rss_kb_before,
            rss_kb_after: cost.rss_kb_after,
            kib_per_connection: cost
                .rss_kb_before
                .zip(cost.rss_kb_after)
                .filter(|_| connected > 0)
                .map(|(b, a)| ((a as f64 - b as f64) / connected as f64 * 100.0).round() / 100.0),
            listen_overflows: cost.listen_overflows,
            cpu: cost.cpu,
        }
    }
}

/// What one kind of client received in the measured window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransportReport {
    pub kind: Kind,
    pub clients: u64,
    pub deliveries: u64,
    pub deliveries_per_sec: f64,
    /// Publish (publisher's clock) → received (client's clock).
    pub delay: Delays,
    /// Requests answered (pollers and long-pollers).
    pub requests: u64,
    pub requests_per_sec: f64,
    /// Answers without news (`204`).
    pub empty: u64,
    pub empty_share: Option<f64>,
}

impl TransportReport {
    /// What the clients of `stage` did, per second of a `window_secs` window.
    fn measure(stage: &Stage, lane: &Lane, window_secs: f64) -> TransportReport {
        let deliveries = lane.deliveries.load(Relaxed);
        let requests = lane.requests.load(Relaxed);
        let empty = lane.empty.load(Relaxed);
        TransportReport {
            kind: stage.kind,
            clients: stage.connected,
            deliveries,
            deliveries_per_sec: per_sec(deliveries, window_secs),
            delay: lane.delay.summary_ms(),
            requests,
            requests_per_sec: per_sec(requests, window_secs),
            empty,
            empty_share: (requests > 0)
                .then(|| (empty as f64 / requests as f64 * 1000.0).round() / 1000.0),
        }
    }
}

/// `n` per second of `secs`, to one decimal.
fn per_sec(n: u64, secs: f64) -> f64 {
    (n as f64 / secs.max(1e-9) * 10.0).round() / 10.0
}

/// The server's process, from `/proc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerReport {
    pub pid: u32,
    pub rss_kb_start: Option<u64>,
    /// After every client connected.
    pub rss_kb_connected: Option<u64>,
    pub rss_kb_end: Option<u64>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub label: String,
    pub mode: Mode,
    pub started_at: String,
    pub scenario: Scenario,
    /// One per kind of client, in connect order.
    pub connect: Vec<Stage>,
    /// Sum of the stages' times.
    pub connect_total_secs: f64,
    pub connect_failed: u64,
    pub window_secs: f64,
    pub published: u64,
    pub published_per_sec: f64,
    /// POST /api/events → 202, in the window.
    pub publish_latency: Delays,
    pub transports: Vec<TransportReport>,
    pub deliveries: u64,
    pub deliveries_per_sec: f64,
    /// Fan-out mode: events × streaming clients that should have arrived, and how many did not.
    pub expected_deliveries: Option<u64>,
    pub missing_deliveries: Option<u64>,
    /// CPU in the measured window: the server's, the generator's (100 % is
    /// one core) and the whole machine's (% of all cores). A machine near
    /// 100 % means the numbers are bounded by the cores, not by one side.
    pub cpu: CpuUse,
    pub errors: BTreeMap<String, u64>,
    pub errors_total: u64,
    pub error_samples: Vec<String>,
    pub server: Option<ServerReport>,
}

/// The measured window, as the run saw it.
pub(crate) struct Window {
    pub secs: f64,
    pub cpu: CpuUse,
}

impl Report {
    pub(crate) fn build(
        scenario: &Scenario,
        started_at: String,
        shared: &Shared,
        connect: Vec<Stage>,
        window: Window,
        server: Option<ServerReport>,
    ) -> Report {
        let transports: Vec<TransportReport> = connect
            .iter()
            .map(|stage| TransportReport::measure(stage, shared.lane(stage.kind), window.secs))
            .collect();
        let deliveries = transports.iter().map(|t| t.deliveries).sum();
        let published = shared.published_in_window.load(Relaxed);
        let (expected, missing) = if scenario.fanout_events > 0 {
            let (expected, missing) = fanout_accounting(&transports, published);
            (Some(expected), Some(missing))
        } else {
            (None, None)
        };
        let errors = shared.errors();
        Report {
            label: scenario.label.clone(),
            mode: scenario.mode(),
            started_at,
            scenario: scenario.clone(),
            connect_total_secs: (connect.iter().map(|s| s.total_secs).sum::<f64>() * 1000.0)
                .round()
                / 1000.0,
            connect_failed: connect.iter().map(|s| s.failed).sum(),
            connect,
            window_secs: (window.secs * 1000.0).round() / 1000.0,
            published,
            published_per_sec: per_sec(published, window.secs),
            publish_latency: shared.publish_latency.summary_ms(),
            transports,
            deliveries,
            deliveries_per_sec: per_sec(deliveries, window.secs),
            expected_deliveries: expected,
            missing_deliveries: missing,
            cpu: window.cpu,
            errors_total: errors.values().sum(),
            errors,
            error_samples: shared.error_samples(),
            server,
        }
    }

    /// Poll requests per second over all short pollers.
    pub fn poll_requests_per_sec(&self) -> Option<f64> {
        self.transport(Kind::Poll).map(|t| t.requests_per_sec)
    }

    pub fn transport(&self, kind: Kind) -> Option<&TransportReport> {
        self.transports.iter().find(|t| t.kind == kind)
    }

    pub fn stage(&self, kind: Kind) -> Option<&Stage> {
        self.connect.iter().find(|s| s.kind == kind)
    }

    /// The worst p99 delay over the streaming transports.
    pub fn stream_p99_ms(&self) -> Option<f64> {
        self.transports
            .iter()
            .filter(|t| t.kind.is_stream())
            .filter_map(|t| t.delay.p99_ms)
            .reduce(f64::max)
    }
}

/// Fan-out: (deliveries expected, deliveries missing) over the streaming
/// clients, when every one should have had each of `published` events.
fn fanout_accounting(transports: &[TransportReport], published: u64) -> (u64, u64) {
    let streams = transports.iter().filter(|t| t.kind.is_stream());
    let clients: u64 = streams.clone().map(|t| t.clients).sum();
    let got: u64 = streams.map(|t| t.deliveries).sum();
    let expected = published * clients;
    (expected, expected.saturating_sub(got))
}
