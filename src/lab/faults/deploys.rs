//! Deploy windows: for a few seconds after a learner's "deploy", the proxy
//! in front of the server answers their transport requests with `502 Bad
//! Gateway`, as a load balancer does while the server behind it restarts.
//!
//! A window is a deadline per learner. Windows expire by themselves (at most
//! [`MAX_SECONDS`]), and at most 1,024 are open at once, so the
//! store stays small whatever clients send.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Longest deploy a learner may ask for.
pub const MAX_SECONDS: u64 = 30;
/// Most learners deploying at the same time.
const MAX_WINDOWS: usize = 1024;

#[derive(Default)]
pub struct Deploys {
    until: Mutex<HashMap<Arc<str>, Instant>>,
    /// Windows in the map (expired ones included until pruned): lets the
    /// gate skip the lock when nobody deploys.
    open: AtomicUsize,
}

impl Deploys {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Instant>> {
        self.until.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens (or moves) `learner`'s window to end `length` from now.
    pub fn start(&self, learner: &Arc<str>, length: Duration) -> Result<Instant, TooManyDeploys> {
        let now = Instant::now();
        let mut until = self.lock();
        until.retain(|_, end| *end > now);
        if !until.contains_key(learner) && until.len() >= MAX_WINDOWS {
            self.open.store(until.len(), Ordering::Relaxed);
            return Err(TooManyDeploys);
        }
        let end = now + length;
        until.insert(learner.clone(), end);
        self.open.store(until.len(), Ordering::Relaxed);
        Ok(end)
    }

    /// How long `learner`'s window stays open, if one is open now.
    pub fn remaining(&self, learner: &str) -> Option<Duration> {
        if !self.any() {
            return None;
        }
        let now = Instant::now();
        let mut until = self.lock();
        until.retain(|_, end| *end > now);
        self.open.store(until.len(), Ordering::Relaxed);
        until.get(learner).map(|end| *end - now)
    }

    /// Closes `learner`'s window early.
    pub fn end(&self, learner: &str) {
        let mut until = self.lock();
        until.remove(learner);
        self.open.store(until.len(), Ordering::Relaxed);
    }

    /// Whether any window may be open (cheap; no lock).
    pub fn any(&self) -> bool {
        self.open.load(Ordering::Relaxed) > 0
    }
}

/// Every deploy window is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Too many deploys are running; try again in a few seconds.")]
pub struct TooManyDeploys;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_belongs_to_its_learner_and_expires() {
        let deploys = Deploys::default();
        let a: Arc<str> = Arc::from("a");
        assert!(!deploys.any());
        deploys.start(&a, Duration::from_secs(5)).expect("start");
        let left = deploys.remaining("a").expect("open");
        assert!(left > Duration::from_secs(4) && left <= Duration::from_secs(5));
        assert_eq!(deploys.remaining("b"), None);
        deploys.start(&a, Duration::ZERO).expect("restart");
        assert_eq!(deploys.remaining("a"), None, "an expired window is closed");
        assert!(!deploys.any(), "and forgotten");
    }

    #[test]
    fn the_store_is_bounded() {
        let deploys = Deploys::default();
        for i in 0..MAX_WINDOWS {
            deploys
                .start(&Arc::from(format!("l{i}")), Duration::from_secs(30))
                .expect("room");
        }
        assert!(
            deploys
                .start(&Arc::from("one-more"), Duration::from_secs(30))
                .is_err()
        );
        // A learner already deploying may deploy again.
        assert!(
            deploys
                .start(&Arc::from("l0"), Duration::from_secs(1))
                .is_ok()
        );
    }
}
