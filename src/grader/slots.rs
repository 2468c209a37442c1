//! Who may start a run now: one run per learner, two per client address (a
//! learner can rename themselves, an address cannot be renamed) and a small
//! cap for the whole server, because every run holds connections and up to
//! [`super::budget::RUN_DEADLINE`] of time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Runs at once on the whole server.
pub const MAX_RUNS: usize = 4;
/// Runs at once from one client address.
pub const MAX_RUNS_PER_ADDRESS: usize = 2;

/// Why a run cannot start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// This learner's previous run is still going.
    Yours,
    /// Too many runs from this address.
    Address,
    /// [`MAX_RUNS`] runs are going.
    Server,
}

#[derive(Default)]
struct Taken {
    learners: HashMap<Arc<str>, ()>,
    addresses: HashMap<Option<IpAddr>, usize>,
    total: usize,
}

/// The running runs. Cheap to share.
#[derive(Default)]
pub struct Slots {
    taken: Arc<Mutex<Taken>>,
}

/// A started run's place; freed when dropped.
pub struct Slot {
    taken: Arc<Mutex<Taken>>,
    learner: Arc<str>,
    address: Option<IpAddr>,
}

fn lock(m: &Mutex<Taken>) -> MutexGuard<'_, Taken> {
    // Each critical section leaves the counts consistent before it could panic.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slots {
    pub fn take(&self, learner: &Arc<str>, address: Option<IpAddr>) -> Result<Slot, Busy> {
        let mut t = lock(&self.taken);
        if t.learners.contains_key(learner) {
            return Err(Busy::Yours);
        }
        if t.addresses.get(&address).copied().unwrap_or(0) >= MAX_RUNS_PER_ADDRESS {
            return Err(Busy::Address);
        }
        if t.total >= MAX_RUNS {
            return Err(Busy::Server);
        }
        t.learners.insert(learner.clone(), ());
        *t.addresses.entry(address).or_default() += 1;
        t.total += 1;
        Ok(Slot {
            taken: self.taken.clone(),
            learner: learner.clone(),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut t = lock(&self.taken);
        t.learners.remove(&self.learner);
        if let Some(n) = t.addresses.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                t.addresses.remove(&self.address);
            }
        }
        t.total -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_learner_two_per_address_four_in_all() {
        let slots = Slots::default();
        let ip = |n: u8| Some(IpAddr::from([10, 0, 0, n]));
        let a: Arc<str> = "a".into();
        let first = slots.take(&a, ip(1)).expect("first");
        assert_eq!(slots.take(&a, ip(2)).err(), Some(Busy::Yours));
        let _b = slots
            .take(&"b".into(), ip(1))
            .expect("second from the address");
        assert_eq!(slots.take(&"c".into(), ip(1)).err(), Some(Busy::Address));
        let _d = slots.take(&"d".into(), ip(2)).expect("third");
        let _e = slots.take(&"e".into(), ip(3)).expect("fourth");
        assert_eq!(slots.take(&"f".into(), ip(4)).err(), Some(Busy::Server));
        drop(first);
        assert!(slots.take(&a, ip(1)).is_ok(), "freed when the run ends");
    }
}
