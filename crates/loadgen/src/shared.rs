//! What the client tasks of one run share: per kind of client, counters and
//! a delay histogram filled from thousands of tasks at once; the errors seen;
//! and whether the measured window is open.
//!
//! Counters are atomics, not one locked struct: 10,000 clients receiving tens
//! of thousands of events a second must not queue behind one lock.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::sent_us_values;
use crate::histogram::Histogram;
use crate::kind::Kind;
use crate::scenario::Scenario;

/// Distinct error messages kept verbatim (all are counted by kind).
const KEPT_ERRORS: usize = 10;

/// What one kind of client has done so far.
#[derive(Default)]
pub(crate) struct Lane {
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    /// Per connection, start of the attempt → usable (µs).
    pub connect_us: Mutex<Vec<u64>>,
    pub deliveries: AtomicU64,
    pub requests: AtomicU64,
    pub empty: AtomicU64,
    pub delay: Histogram,
}

impl Lane {
    /// Clients that connected or failed so far.
    pub fn settled(&self) -> u64 {
        self.connected.load(Relaxed) + self.failed.load(Relaxed)
    }
}

/// Where the server is, as the clients dial and name it.
pub(crate) struct Target {
    /// `http://host:port`
    pub base: String,
    /// `host:port`, for the `Host` header.
    pub authority: String,
    /// The server's address, resolved once.
    pub addr: SocketAddr,
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
    pub anonymous_pollers: bool,
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
    pub fn new(target: Target, scenario: &Scenario) -> Shared {
        Shared {
            base: target.base,
            authority: target.authority,
            addr: target.addr,
            topic: scenario.topic.clone(),
            learner_prefix: scenario.learner_prefix.clone(),
            anonymous_pollers: scenario.anonymous_pollers,
            stop: CancellationToken::new(),
            measuring: AtomicBool::new(false),
            lanes: Default::default(),
            errors: Mutex::default(),
            error_samples: Mutex::default(),
            published: AtomicU64::new(0),
            published_in_window: AtomicU64::new(0),
            publish_latency: Histogram::default(),
        }
    }

    pub fn lane(&self, kind: Kind) -> &Lane {
        &self.lanes[kind.index()]
    }

    pub fn measuring(&self) -> bool {
        self.measuring.load(Relaxed)
    }

    /// Opens or closes the measured window.
    pub fn set_measuring(&self, on: bool) {
        self.measuring.store(on, Relaxed);
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
        self.count_error(format!("{} {what}", kind.name()), detail);
    }

    /// A publisher's error (not a client's).
    pub fn publish_error(&self, what: &str, detail: impl std::fmt::Display) {
        self.count_error(format!("publish {what}"), detail);
    }

    fn count_error(&self, key: String, detail: impl std::fmt::Display) {
        *self.errors.lock().unwrap().entry(key.clone()).or_default() += 1;
        let mut kept = self.error_samples.lock().unwrap();
        if kept.len() < KEPT_ERRORS {
            kept.push(format!("{key}: {detail}"));
        }
    }

    /// Every error counted so far, by `<kind> <what>`.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().unwrap().clone()
    }

    /// The first few error messages, verbatim.
    pub fn error_samples(&self) -> Vec<String> {
        self.error_samples.lock().unwrap().clone()
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

    /// Deliveries so far to the streaming clients (SSE, WebSocket).
    pub fn stream_deliveries(&self) -> u64 {
        Kind::STREAMS
            .iter()
            .map(|k| self.lane(*k).deliveries.load(Relaxed))
            .sum()
    }

    /// Streaming clients (SSE, WebSocket) that connected.
    pub fn stream_clients(&self) -> u64 {
        Kind::STREAMS
            .iter()
            .map(|k| self.lane(*k).connected.load(Relaxed))
            .sum()
    }
}
