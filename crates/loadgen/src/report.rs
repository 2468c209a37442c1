//! What a run measured, as a struct (saved as JSON) and as a table.
//!
//! Delays go into a [`Histogram`] of atomic counters instead of a list:
//! 10,000 clients receiving tens of thousands of events a second must not
//! queue behind one lock, and the percentiles need only ~1.5 % precision.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

use super::procfs::CpuUse;
use super::{Kind, Scenario, Shared};
use crate::percentile;

/// Sub-buckets per power of two: values are kept to 1/64 (≈ 1.6 %).
const SUB: usize = 64;
/// Enough buckets for 2^45 µs (about a year).
const BUCKETS: usize = SUB * 41;

/// Log-linear histogram of microsecond values, safe to fill from many tasks.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    max: AtomicU64,
    n: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
            n: AtomicU64::new(0),
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < 2 * SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros() as usize; // ≥ 7
    let shift = msb - 6;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    ((shift + 1) * SUB + sub).min(BUCKETS - 1)
}

/// Middle of a bucket's range.
fn value_of(bucket: usize) -> u64 {
    if bucket < 2 * SUB {
        return bucket as u64;
    }
    let shift = bucket / SUB - 1;
    let sub = (bucket % SUB) as u64;
    ((SUB as u64 + sub) << shift) + ((1u64 << shift) >> 1)
}

impl Histogram {
    pub fn record(&self, us: u64) {
        self.counts[bucket_of(us)].fetch_add(1, Relaxed);
        self.max.fetch_max(us, Relaxed);
        self.n.fetch_add(1, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.n.load(Relaxed)
    }

    /// Nearest-rank quantile (`p` from 0 to 1), in µs.
    pub fn quantile(&self, p: f64) -> Option<u64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((p * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (bucket, c) in self.counts.iter().enumerate() {
            seen += c.load(Relaxed);
            if seen >= rank {
                // Never above the true maximum.
                return Some(value_of(bucket).min(self.max.load(Relaxed)));
            }
        }
        Some(self.max.load(Relaxed))
    }

    pub fn max(&self) -> Option<u64> {
        (self.count() > 0).then(|| self.max.load(Relaxed))
    }

    /// p50, p99 and max in milliseconds.
    pub fn summary_ms(&self) -> Delays {
        let ms = |v: Option<u64>| v.map(|us| (us as f64 / 10.0).round() / 100.0);
        Delays {
            p50_ms: ms(self.quantile(0.50)),
            p99_ms: ms(self.quantile(0.99)),
            max_ms: ms(self.max()),
        }
    }
}

/// Delay percentiles, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Delays {
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
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
    #[allow(clippy::too_many_arguments)] // one per measured number
    pub(crate) fn new(
        kind: Kind,
        clients: usize,
        connected: u64,
        failed: u64,
        total_secs: f64,
        connect_us: &[u64],
        rss_kb_before: Option<u64>,
        rss_kb_after: Option<u64>,
        listen_overflows: Option<u64>,
        cpu: CpuUse,
    ) -> Stage {
        let mut ms: Vec<f64> = connect_us.iter().map(|us| *us as f64 / 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let round = |v: Option<f64>| v.map(|v| (v * 100.0).round() / 100.0);
        Stage {
            kind,
            clients,
            connected,
            failed,
            total_secs: (total_secs * 1000.0).round() / 1000.0,
            p50_ms: round(percentile(&ms, 0.50)),
            p99_ms: round(percentile(&ms, 0.99)),
            max_ms: round(ms.last().copied()),
            rss_kb_before,
            rss_kb_after,
            kib_per_connection: rss_kb_before
                .zip(rss_kb_after)
                .filter(|_| connected > 0)
                .map(|(b, a)| ((a as f64 - b as f64) / connected as f64 * 100.0).round() / 100.0),
            listen_overflows,
            cpu,
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
    pub mode: String,
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

impl Report {
    pub(crate) fn build(
        scenario: &Scenario,
        started_at: String,
        shared: &Shared,
        connect: Vec<Stage>,
        window_secs: f64,
        cpu: CpuUse,
        server: Option<ServerReport>,
    ) -> Report {
        let per_sec = |n: u64| (n as f64 / window_secs.max(1e-9) * 10.0).round() / 10.0;
        let transports: Vec<TransportReport> = connect
            .iter()
            .map(|stage| {
                let lane = shared.lane(stage.kind);
                let deliveries = lane.deliveries.load(Relaxed);
                let requests = lane.requests.load(Relaxed);
                let empty = lane.empty.load(Relaxed);
                TransportReport {
                    kind: stage.kind,
                    clients: stage.connected,
                    deliveries,
                    deliveries_per_sec: per_sec(deliveries),
                    delay: lane.delay.summary_ms(),
                    requests,
                    requests_per_sec: per_sec(requests),
                    empty,
                    empty_share: (requests > 0)
                        .then(|| (empty as f64 / requests as f64 * 1000.0).round() / 1000.0),
                }
            })
            .collect();
        let deliveries = transports.iter().map(|t| t.deliveries).sum();
        let published = shared.published_in_window.load(Relaxed);
        let (expected, missing) = if scenario.fanout_events > 0 {
            let streams: u64 = transports
                .iter()
                .filter(|t| matches!(t.kind, Kind::Sse | Kind::Websocket))
                .map(|t| t.clients)
                .sum();
            let expected = published * streams;
            let got: u64 = transports
                .iter()
                .filter(|t| matches!(t.kind, Kind::Sse | Kind::Websocket))
                .map(|t| t.deliveries)
                .sum();
            (Some(expected), Some(expected.saturating_sub(got)))
        } else {
            (None, None)
        };
        let errors = shared.errors.lock().unwrap().clone();
        Report {
            label: scenario.label.clone(),
            mode: scenario.mode().into(),
            started_at,
            scenario: scenario.clone(),
            connect_total_secs: (connect.iter().map(|s| s.total_secs).sum::<f64>() * 1000.0)
                .round()
                / 1000.0,
            connect_failed: connect.iter().map(|s| s.failed).sum(),
            connect,
            window_secs: (window_secs * 1000.0).round() / 1000.0,
            published,
            published_per_sec: per_sec(published),
            publish_latency: shared.publish_latency.summary_ms(),
            transports,
            deliveries,
            deliveries_per_sec: per_sec(deliveries),
            expected_deliveries: expected,
            missing_deliveries: missing,
            cpu,
            errors_total: errors.values().sum(),
            errors,
            error_samples: shared.error_samples.lock().unwrap().clone(),
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
            .filter(|t| matches!(t.kind, Kind::Sse | Kind::Websocket))
            .filter_map(|t| t.delay.p99_ms)
            .reduce(f64::max)
    }

    /// The report as a plain-text table.
    pub fn table(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        let mut s = String::new();
        let _ = writeln!(
            s,
            "== {} ({}) against {} ==",
            if self.label.is_empty() {
                "load"
            } else {
                &self.label
            },
            self.mode,
            self.scenario.url
        );
        if !self.connect.is_empty() {
            let _ = writeln!(
                s,
                "\n{:<10} {:>7} {:>9} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10}",
                "connect",
                "clients",
                "connected",
                "failed",
                "total s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "KiB/conn"
            );
            for c in &self.connect {
                let _ = writeln!(
                    s,
                    "{:<10} {:>7} {:>9} {:>6} {:>9.3} {:>9} {:>9} {:>9} {:>10} {:>16}",
                    c.kind.name(),
                    c.clients,
                    c.connected,
                    c.failed,
                    c.total_secs,
                    opt(c.p50_ms),
                    opt(c.p99_ms),
                    opt(c.max_ms),
                    opt(c.kib_per_connection),
                    cpu_shares(&c.cpu)
                );
            }
            let _ = writeln!(
                s,
                "all connected in {:.3} s, {} failed",
                self.connect_total_secs, self.connect_failed
            );
            let dropped: u64 = self.connect.iter().filter_map(|c| c.listen_overflows).sum();
            if dropped > 0 {
                let _ = writeln!(
                    s,
                    "the kernel dropped {dropped} connection attempts meanwhile (accept queue full; \
                     each retried after ~1 s)"
                );
            }
        }
        let _ = writeln!(
            s,
            "\nwindow {:.1} s: published {} ({:.1}/s, POST p50 {} ms, p99 {} ms)",
            self.window_secs,
            self.published,
            self.published_per_sec,
            opt(self.publish_latency.p50_ms),
            opt(self.publish_latency.p99_ms)
        );
        let _ = writeln!(
            s,
            "\n{:<10} {:>7} {:>10} {:>11} {:>9} {:>9} {:>9} {:>10} {:>7}",
            "transport",
            "clients",
            "received",
            "recv/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "req/s",
            "empty"
        );
        for t in &self.transports {
            let _ = writeln!(
                s,
                "{:<10} {:>7} {:>10} {:>11.1} {:>9} {:>9} {:>9} {:>10} {:>7}",
                t.kind.name(),
                t.clients,
                t.deliveries,
                t.deliveries_per_sec,
                opt(t.delay.p50_ms),
                opt(t.delay.p99_ms),
                opt(t.delay.max_ms),
                if t.requests > 0 {
                    format!("{:.1}", t.requests_per_sec)
                } else {
                    "-".into()
                },
                t.empty_share
                    .map_or("-".into(), |e| format!("{:.1}%", e * 100.0))
            );
        }
        let _ = writeln!(
            s,
            "all: {} received, {:.1}/s",
            self.deliveries, self.deliveries_per_sec
        );
        if let (Some(expected), Some(missing)) = (self.expected_deliveries, self.missing_deliveries)
        {
            let _ = writeln!(s, "fan-out: {expected} expected, {missing} missing");
        }
        if let Some(srv) = &self.server {
            let mib =
                |kb: Option<u64>| kb.map_or("-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0));
            let _ = writeln!(
                s,
                "\nserver pid {}: RSS {} MiB at start, {} connected, {} at end",
                srv.pid,
                mib(srv.rss_kb_start),
                mib(srv.rss_kb_connected),
                mib(srv.rss_kb_end),
            );
        }
        let _ = writeln!(
            s,
            "CPU in the window: server {} s = {} %, generator {} %, machine {} % busy (of all cores)",
            opt(self.cpu.server_secs),
            pct(self.cpu.server_percent),
            pct(self.cpu.generator_percent),
            pct(self.cpu.machine_busy_percent)
        );
        if self.errors.is_empty() {
            let _ = writeln!(s, "\nerrors: 0");
        } else {
            let _ = writeln!(s, "\nerrors: {}", self.errors_total);
            for (kind, n) in &self.errors {
                let _ = writeln!(s, "  {n:>7}  {kind}");
            }
            for e in &self.error_samples {
                let _ = writeln!(s, "  e.g. {e}");
            }
        }
        s
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |p| format!("{p:.0}"))
}

/// `server/generator/machine` CPU, in %.
fn cpu_shares(c: &CpuUse) -> String {
    format!(
        "{}/{}/{}%",
        pct(c.server_percent),
        pct(c.generator_percent),
        pct(c.machine_busy_percent)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_close() {
        for v in [
            0,
            1,
            63,
            64,
            127,
            128,
            129,
            1000,
            12_345,
            999_999,
            3_600_000_000,
        ] {
            let mid = value_of(bucket_of(v));
            let err = (mid as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 0.016, "{v} → {mid}");
        }
        for b in 0..BUCKETS - 1 {
            assert!(value_of(b) < value_of(b + 1));
        }
    }

    #[test]
    fn quantiles_follow_the_values() {
        let h = Histogram::default();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5).unwrap() as f64;
        let p99 = h.quantile(0.99).unwrap() as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.02, "{p50}");
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.02, "{p99}");
        assert_eq!(h.max(), Some(1_000_000));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
