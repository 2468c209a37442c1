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
//! switches on, at most [`MAX_LEARNERS_PER_ADDRESS`] of them from one client
//! address (so one script cannot fill the table for everyone), switches
//! nobody used for [`IDLE_EXPIRY`] are forgotten, deploy windows expire,
//! valves go with their connections.

pub mod api;
pub mod deploys;
pub mod gate;
pub mod gzip;
pub mod proxy_buffer;
pub mod switches;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::transports::context::{FaultSource, StreamFaults};
use crate::transports::valve::{Order, Valve, Valves};
pub use api::FaultsApi;
use deploys::Deploys;
pub use switches::{FaultSwitches, Gzip};

/// Most learners with switches set at once.
pub const MAX_LEARNERS: usize = 10_000;
/// Most of them from one client address.
pub const MAX_LEARNERS_PER_ADDRESS: usize = 64;
/// Switches set but not used (set, or read by a stream opening) for this long go.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(2 * 60 * 60);

/// One learner's switches, where they were set from and when last used.
#[derive(Debug, Clone, Copy)]
struct Setting {
    switches: FaultSwitches,
    address: Option<IpAddr>,
    used: Instant,
}

/// Why switches could not be set.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SetRefusal {
    #[error(
        "{MAX_LEARNERS_PER_ADDRESS} learners at your address have fault switches on; reset some (DELETE /api/faults) and try again."
    )]
    AddressFull,
    #[error("Too many learners have fault switches on; try again later.")]
    Full,
}

#[derive(Default)]
pub struct Faults {
    by_learner: Mutex<HashMap<Arc<str>, Setting>>,
    /// Learners with a switch on: lets the gate skip the lock when there are none.
    switched_on: AtomicUsize,
    deploys: Deploys,
    valves: Valves,
}

impl Faults {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Setting>> {
        self.by_learner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `learner`'s switches (all off when none are set); reading them counts as using them.
    pub fn of(&self, learner: &str) -> FaultSwitches {
        if self.switched_on.load(Ordering::Relaxed) == 0 {
            return FaultSwitches::default();
        }
        let mut map = self.table();
        match map.get_mut(learner) {
            Some(setting) => {
                setting.used = Instant::now();
                setting.switches
            }
            None => FaultSwitches::default(),
        }
    }

    /// Sets `learner`'s switches, asked from `address`.
    fn set(
        &self,
        learner: &Arc<str>,
        address: Option<IpAddr>,
        switches: FaultSwitches,
    ) -> Result<(), SetRefusal> {
        self.set_at(learner, address, switches, Instant::now())
    }

    fn set_at(
        &self,
        learner: &Arc<str>,
        address: Option<IpAddr>,
        switches: FaultSwitches,
        now: Instant,
    ) -> Result<(), SetRefusal> {
        let mut map = self.table();
        if switches == FaultSwitches::default() {
            map.remove(learner);
        } else if map.contains_key(learner) {
            map.insert(
                learner.clone(),
                Setting {
                    switches,
                    address,
                    used: now,
                },
            );
        } else {
            map.retain(|_, s| now.duration_since(s.used) < IDLE_EXPIRY);
            let same_address = map.values().filter(|s| s.address == address).count();
            if same_address >= MAX_LEARNERS_PER_ADDRESS {
                return Err(SetRefusal::AddressFull);
            }
            if map.len() >= MAX_LEARNERS {
                return Err(SetRefusal::Full);
            }
            map.insert(
                learner.clone(),
                Setting {
                    switches,
                    address,
                    used: now,
                },
            );
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
    pub fn deploy(
        &self,
        learner: &Arc<str>,
        length: Duration,
    ) -> Result<usize, deploys::TooManyDeploys> {
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
        let _ = self.set(learner, None, FaultSwitches::default());
        self.deploys.end(learner);
    }
}

/// The seam through which the switches reach the SSE and WebSocket sessions.
impl FaultSource for Faults {
    fn stream_faults(&self, learner: &str) -> StreamFaults {
        let switches = self.of(learner);
        StreamFaults {
            idle_timeout: switches.idle_timeout(),
            buffer: switches.buffer(),
            latency: switches.latency(),
        }
    }

    fn valve(&self, learner: &Arc<str>) -> Valve {
        Faults::valve(self, learner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> FaultSwitches {
        FaultSwitches {
            latency_ms: 100,
            ..FaultSwitches::default()
        }
    }

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn one_address_cannot_fill_the_table_for_everyone() {
        let faults = Faults::default();
        for i in 0..MAX_LEARNERS_PER_ADDRESS {
            let learner: Arc<str> = format!("script-{i}").into();
            assert_eq!(faults.set(&learner, address(1), on()), Ok(()));
        }
        let one_more: Arc<str> = "script-extra".into();
        assert_eq!(
            faults.set(&one_more, address(1), on()),
            Err(SetRefusal::AddressFull)
        );
        // A learner elsewhere still sets theirs, and the script's first are intact.
        let elsewhere: Arc<str> = "learner".into();
        assert_eq!(faults.set(&elsewhere, address(2), on()), Ok(()));
        assert_eq!(faults.of("script-0"), on());
        // Changing one's own switches never counts against the quota.
        assert_eq!(faults.set(&"script-0".into(), address(1), on()), Ok(()));
    }

    #[test]
    fn switches_nobody_uses_expire() {
        let faults = Faults::default();
        for i in 0..MAX_LEARNERS_PER_ADDRESS {
            let learner: Arc<str> = format!("old-{i}").into();
            assert_eq!(faults.set(&learner, address(1), on()), Ok(()));
        }
        let later = Instant::now() + IDLE_EXPIRY + Duration::from_secs(1);
        let fresh: Arc<str> = "fresh".into();
        assert_eq!(faults.set_at(&fresh, address(1), on(), later), Ok(()));
        assert_eq!(faults.of("old-0"), FaultSwitches::default());
    }
}
