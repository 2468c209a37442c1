//! Per-learner state that one client cannot fill for everyone.
//!
//! Learner ids are whatever a client sends (`X-Learner`), so a script can
//! make up thousands. Every per-learner store (lesson progress and answers,
//! challenge attempts and best scores) keeps its learners in a
//! [`LearnerTable`], which counts them by the client address that created
//! them, something a client cannot rename:
//!
//! - a learner nobody used for [`TableLimits::idle_expiry`] is forgotten;
//! - an address holds at most [`TableLimits::per_address`] learners: a new
//!   one pushes out that address's own least recently used learner;
//! - when the whole table is full, the least recently used learner of the
//!   address holding the most goes, so a flood from one machine never
//!   pushes out another machine's learner while it holds more;
//! - an address creates at most [`TableLimits::new_per_minute`] learners a
//!   minute; beyond that, [`LearnerTable::admit`] refuses and the store
//!   answers `429`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::problem::ApiError;

/// How many learners a table keeps, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLimits {
    /// Most learners in all.
    pub max_learners: usize,
    /// Most learners created from one client address.
    pub per_address: usize,
    /// Learners not used for this long are forgotten.
    pub idle_expiry: Duration,
    /// Most learners one address creates a minute (0: no limit).
    pub new_per_minute: u32,
}

impl TableLimits {
    /// The defaults every store starts from (the README's "Limits and security").
    pub const DEFAULT: TableLimits = TableLimits {
        max_learners: 10_000,
        per_address: 256,
        idle_expiry: Duration::from_secs(24 * 60 * 60),
        new_per_minute: 120,
    };
}

/// Why a new learner was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "Your address created {limit} learners in the last minute; use the learner you have (the `learner` cookie or one X-Learner value), or try again in {} s.",
    retry_after.as_secs().max(1)
)]
pub struct TooManyNewLearners {
    pub limit: u32,
    pub retry_after: Duration,
}

impl From<TooManyNewLearners> for ApiError {
    fn from(refused: TooManyNewLearners) -> Self {
        ApiError::too_many_requests(refused, refused.retry_after.as_secs().max(1))
    }
}

struct Slot<V> {
    value: V,
    address: Option<IpAddr>,
    used: Instant,
}

/// One address: how many learners it holds, and how many it created this minute.
#[derive(Default)]
struct AddressUse {
    learners: usize,
    minute: Option<Instant>,
    created: u32,
}

const MINUTE: Duration = Duration::from_secs(60);

/// A map from learner id to `V`, bounded as the module doc says.
pub struct LearnerTable<V> {
    slots: HashMap<Arc<str>, Slot<V>>,
    addresses: HashMap<Option<IpAddr>, AddressUse>,
    limits: TableLimits,
    last_sweep: Option<Instant>,
}

impl<V> LearnerTable<V> {
    pub fn new(limits: TableLimits) -> Self {
        LearnerTable {
            slots: HashMap::new(),
            addresses: HashMap::new(),
            limits: TableLimits {
                max_learners: limits.max_learners.max(1),
                per_address: limits.per_address.max(1),
                ..limits
            },
            last_sweep: None,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The learner's value, if kept; reading it is not using it.
    pub fn peek(&self, learner: &str) -> Option<&V> {
        self.slots.get(learner).map(|s| &s.value)
    }

    /// The learner's value, if kept, marked used at `now`.
    pub fn get_mut(&mut self, learner: &str, now: Instant) -> Option<&mut V> {
        let slot = self.slots.get_mut(learner)?;
        slot.used = now;
        Some(&mut slot.value)
    }

    /// The learner's value, made with `make` if the learner is new to the
    /// table (created from `address`, pushing out another learner as the
    /// module doc says). Marked used at `now`.
    pub fn admit(
        &mut self,
        learner: &Arc<str>,
        address: Option<IpAddr>,
        now: Instant,
        make: impl FnOnce() -> V,
    ) -> Result<&mut V, TooManyNewLearners> {
        if !self.slots.contains_key(learner) {
            self.sweep(now);
            self.count_creation(address, now)?;
            self.make_room(address);
            self.addresses.entry(address).or_default().learners += 1;
        }
        let slot = self.slots.entry(learner.clone()).or_insert_with(|| Slot {
            value: make(),
            address,
            used: now,
        });
        slot.used = now;
        Ok(&mut slot.value)
    }

    /// Forgets a learner.
    pub fn remove(&mut self, learner: &str) -> Option<V> {
        let slot = self.slots.remove(learner)?;
        self.forget_address_of(&slot);
        Some(slot.value)
    }

    fn forget_address_of(&mut self, slot: &Slot<V>) {
        if let Some(a) = self.addresses.get_mut(&slot.address) {
            a.learners = a.learners.saturating_sub(1);
            if a.learners == 0 && a.minute.is_none() {
                self.addresses.remove(&slot.address);
            }
        }
    }

    /// Counts one creation from `address` this minute, or refuses it.
    fn count_creation(
        &mut self,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), TooManyNewLearners> {
        let limit = self.limits.new_per_minute;
        if limit == 0 {
            return Ok(());
        }
        let used = self.addresses.entry(address).or_default();
        match used.minute {
            Some(start) if now.duration_since(start) < MINUTE => {
                if used.created >= limit {
                    return Err(TooManyNewLearners {
                        limit,
                        retry_after: MINUTE - now.duration_since(start),
                    });
                }
                used.created += 1;
            }
            _ => {
                used.minute = Some(now);
                used.created = 1;
            }
        }
        Ok(())
    }

    /// Pushes out one learner if the address or the table is full.
    fn make_room(&mut self, address: Option<IpAddr>) {
        let mine = self.addresses.get(&address).map_or(0, |a| a.learners);
        let victim_address = if mine >= self.limits.per_address {
            Some(address)
        } else if self.slots.len() >= self.limits.max_learners {
            self.addresses
                .iter()
                .max_by_key(|(_, a)| a.learners)
                .map(|(addr, _)| *addr)
        } else {
            None
        };
        let Some(victim_address) = victim_address else {
            return;
        };
        let victim = self
            .slots
            .iter()
            .filter(|(_, s)| s.address == victim_address)
            .min_by_key(|(_, s)| s.used)
            .map(|(id, _)| id.clone());
        if let Some(id) = victim {
            self.remove(&id);
        }
    }

    /// Forgets learners idle for longer than the expiry, and the minute
    /// counts of addresses that created nobody lately; at most once a minute.
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|at| now.duration_since(at) < MINUTE)
        {
            return;
        }
        self.last_sweep = Some(now);
        let expiry = self.limits.idle_expiry;
        let idle: Vec<Arc<str>> = self
            .slots
            .iter()
            .filter(|(_, s)| now.duration_since(s.used) >= expiry)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            self.remove(&id);
        }
        self.addresses.retain(|_, a| {
            if a.minute.is_some_and(|m| now.duration_since(m) >= MINUTE) {
                a.minute = None;
                a.created = 0;
            }
            a.learners > 0 || a.minute.is_some()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    fn limits(max_learners: usize, per_address: usize, new_per_minute: u32) -> TableLimits {
        TableLimits {
            max_learners,
            per_address,
            idle_expiry: Duration::from_secs(3600),
            new_per_minute,
        }
    }

    fn admit(t: &mut LearnerTable<u32>, id: &str, from: Option<IpAddr>, now: Instant) {
        t.admit(&id.into(), from, now, || 0).expect("admitted");
    }

    #[test]
    fn a_new_learner_at_its_address_quota_pushes_out_that_address_own_least_recent() {
        let mut t = LearnerTable::new(limits(100, 3, 0));
        let now = Instant::now();
        admit(&mut t, "other", ip(2), now);
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            admit(&mut t, id, ip(1), now + Duration::from_secs(i as u64));
        }
        t.get_mut("a", now + Duration::from_secs(10));
        admit(&mut t, "d", ip(1), now + Duration::from_secs(11));
        assert!(
            t.peek("b").is_none(),
            "b was the least recently used at 127.0.0.1"
        );
        for kept in ["a", "c", "d", "other"] {
            assert!(t.peek(kept).is_some(), "{kept} kept");
        }
    }

    #[test]
    fn a_full_table_takes_from_the_address_holding_the_most() {
        let mut t = LearnerTable::new(limits(4, 10, 0));
        let now = Instant::now();
        admit(&mut t, "quiet", ip(2), now);
        for (i, id) in ["x1", "x2", "x3"].into_iter().enumerate() {
            admit(&mut t, id, ip(1), now + Duration::from_secs(1 + i as u64));
        }
        admit(&mut t, "newcomer", ip(3), now + Duration::from_secs(9));
        assert!(
            t.peek("quiet").is_some(),
            "the oldest learner, but its address holds one"
        );
        assert!(t.peek("x1").is_none());
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn learners_idle_past_the_expiry_are_forgotten() {
        let mut t = LearnerTable::new(limits(100, 100, 0));
        let now = Instant::now();
        admit(&mut t, "old", ip(1), now);
        admit(&mut t, "busy", ip(1), now);
        t.get_mut("busy", now + Duration::from_secs(3000));
        admit(&mut t, "late", ip(2), now + Duration::from_secs(3700));
        assert!(t.peek("old").is_none());
        assert!(t.peek("busy").is_some());
    }

    #[test]
    fn an_address_creates_a_bounded_number_of_learners_a_minute() {
        let mut t = LearnerTable::new(limits(100, 100, 2));
        let now = Instant::now();
        admit(&mut t, "a", ip(1), now);
        admit(&mut t, "b", ip(1), now);
        let refused = t.admit(&"c".into(), ip(1), now + Duration::from_secs(15), || 0);
        assert_eq!(
            refused.err().map(|e| e.retry_after),
            Some(Duration::from_secs(45))
        );
        admit(&mut t, "a", ip(1), now + Duration::from_secs(16));
        admit(&mut t, "other", ip(2), now + Duration::from_secs(16));
        admit(&mut t, "c", ip(1), now + Duration::from_secs(61));
    }

    #[test]
    fn removing_forgets_the_address_count() {
        let mut t = LearnerTable::new(limits(100, 1, 0));
        let now = Instant::now();
        admit(&mut t, "a", ip(1), now);
        assert_eq!(t.remove("a"), Some(0));
        admit(&mut t, "b", ip(1), now);
        admit(&mut t, "c", ip(2), now);
        assert!(t.peek("b").is_some() && t.peek("c").is_some());
    }
}
