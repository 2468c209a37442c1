//! Faults: make each transport's weak spot visible, for one learner at a
//! time (their own streams, sockets and requests only).
//!
//! Switches stay on until turned off ([`switches`], `PUT /api/faults`):
//! - idle-timeout killer: close a stream that wrote nothing for N seconds,
//!   as a proxy with an idle timeout would (heartbeats keep it alive);
//! - buffering proxy: hold events and release them in bursts every N seconds;
//! - added latency: delay every delivery by N milliseconds;
//! - gzip on the stream, buffered or flushed after each event;
//! - corporate proxy: WebSocket upgrades refused, event streams buffered;
//! - long-poll unavailable: every long-poll answered `503` at once.
//!
//! Actions happen once ([`api`]):
//! - deploy: the learner's streams and sockets are cut, and for a few
//!   seconds their transport requests get `502` ([`deploys`]);
//! - half-open: the learner's open streams and sockets stop writing.
//!
//! How they reach the traffic: the [`gate`] middleware stands in front of
//! the transports (502s, refused upgrades, and the [`gzip`] and
//! [`proxy_buffer`] body wrappers); a [`Valve`] in every open SSE stream and
//! WebSocket carries the actions' cuts and freezes. The first three switches
//! are read by the SSE and WebSocket sessions when they open.
//!
//! Everything is per learner and bounded: at most [`MAX_LEARNERS`] with
//! switches on, deploy windows expire, valves go with their connections.

pub mod api;
pub mod deploys;
pub mod gate;
pub mod gzip;
pub mod proxy_buffer;
pub mod switches;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::transports::valve::{Order, Valve, Valves};
pub use api::FaultsApi;
use deploys::Deploys;
pub use switches::{FaultSwitches, Gzip};

/// Most learners with switches set at once.
pub const MAX_LEARNERS: usize = 10_000;

#[derive(Default)]
pub struct Faults {
    by_learner: Mutex<HashMap<Arc<str>, FaultSwitches>>,
    /// Learners with a switch on: lets the gate skip the lock when there are none.
    switched_on: AtomicUsize,
    deploys: Deploys,
    valves: Valves,
}

impl Faults {
    pub fn of(&self, learner: &str) -> FaultSwitches {
        self.by_learner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(learner)
            .copied()
            .unwrap_or_default()
    }

    fn set(&self, learner: &Arc<str>, switches: FaultSwitches) -> Result<(), String> {
        let mut map = self.by_learner.lock().unwrap_or_else(|p| p.into_inner());
        if switches == FaultSwitches::default() {
            map.remove(learner);
        } else if !map.contains_key(learner) && map.len() >= MAX_LEARNERS {
            return Err("Too many learners have fault switches on; try again later.".into());
        } else {
            map.insert(learner.clone(), switches);
        }
        self.switched_on.store(map.len(), Ordering::Relaxed);
        Ok(())
    }

    /// True when no learner has a switch on or a deploy running: the gate
    /// has nothing to do.
    pub fn quiet(&self) -> bool {
        self.switched_on.load(Ordering::Relaxed) == 0 && !self.deploys.any()
    }

    /// The valve a stream or socket `learner` opens now listens to.
    pub fn valve(&self, learner: &Arc<str>) -> Valve {
        self.valves.attach(learner)
    }

    /// How long `learner`'s deploy still runs, if one does.
    pub fn deploying(&self, learner: &str) -> Option<Duration> {
        self.deploys.remaining(learner)
    }

    /// Starts a deploy: `502` for `length`, then cuts every open stream and
    /// socket (in that order, so even an instant reconnect meets the 502).
    /// Returns how many connections were cut.
    pub fn deploy(&self, learner: &Arc<str>, length: Duration) -> Result<usize, String> {
        self.deploys.start(learner, length)?;
        Ok(self.valves.send(learner, Order::Cut))
    }

    /// Freezes every stream and socket `learner` has open; the server gives
    /// up on them after `close_after`. Returns how many were frozen.
    pub fn half_open(&self, learner: &str, close_after: Duration) -> usize {
        let until = Instant::now() + close_after;
        self.valves.send(learner, Order::Freeze { until })
    }

    /// Switches off, and any deploy over.
    fn reset(&self, learner: &Arc<str>) {
        let _ = self.set(learner, FaultSwitches::default());
        self.deploys.end(learner);
    }
}
