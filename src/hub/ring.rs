//! The bounded replay buffer, and what it can offer a resuming client.
//!
//! Ids in the ring are consecutive (a mirrored jump empties it first), so a
//! cursor's position in it is arithmetic, and anything older than its front
//! is known to be gone: a [`Reset`], never a silent skip.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{CatchUp, Cursor, Event, Reset, ResetReason};

pub(super) struct Ring {
    events: VecDeque<Arc<Event>>,
    capacity: usize,
    /// Ids of this run are greater than this.
    base: u64,
    last_id: u64,
}

impl Ring {
    /// An empty ring keeping the newest `capacity` (at least one) events of a
    /// run whose ids start after `base`.
    pub(super) fn new(base: u64, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Ring {
            events: VecDeque::with_capacity(capacity),
            capacity,
            base,
            last_id: base,
        }
    }

    pub(super) fn base(&self) -> u64 {
        self.base
    }

    pub(super) fn last_id(&self) -> u64 {
        self.last_id
    }

    pub(super) fn len(&self) -> usize {
        self.events.len()
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(super) fn oldest_id(&self) -> Option<u64> {
        self.events.front().map(|e| e.id)
    }

    /// Keeps `event` as the newest, dropping the oldest when full.
    pub(super) fn push(&mut self, event: Arc<Event>) {
        self.last_id = event.id;
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Drops every event; the ids they had count as gone.
    pub(super) fn forget(&mut self) {
        self.events.clear();
    }

    /// Starts a new, empty run of ids after `base`.
    pub(super) fn rebase(&mut self, base: u64) {
        self.events.clear();
        self.base = base;
        self.last_id = base;
    }

    pub(super) fn catch_up(&self, from: Cursor) -> CatchUp {
        let since = self.since(from);
        let reset = self.reset_for(since);
        let after = if reset.is_some() { self.base } else { since };
        // Ids in the ring are consecutive, so the start index is arithmetic.
        let skip = match self.oldest_id() {
            Some(oldest) if after >= oldest => (after - oldest + 1) as usize,
            _ => 0,
        };
        CatchUp {
            reset,
            events: self.events.iter().skip(skip).cloned().collect(),
            last_id: self.last_id,
        }
    }

    /// The id a cursor continues after.
    fn since(&self, from: Cursor) -> u64 {
        match from {
            Cursor::Now => self.last_id,
            Cursor::Oldest => self.oldest_id().map_or(self.last_id, |o| o - 1),
            // 0 is "from the beginning", whatever the base.
            Cursor::After(0) => self.base,
            Cursor::After(id) => id,
        }
    }

    /// Why a client that has everything up to `since` cannot simply continue.
    fn reset_for(&self, since: u64) -> Option<Reset> {
        let last_id = self.last_id;
        let reset = |reason, oldest_available, message| Reset {
            reason,
            requested_since: since,
            oldest_available,
            last_id,
            message,
        };
        if since < self.base {
            return Some(reset(
                ResetReason::Restarted,
                self.oldest_id(),
                format!(
                    "Event #{since} is from before the server restarted (this run's ids start \
                     after #{}). Events published since the restart follow.",
                    self.base
                ),
            ));
        }
        if since > last_id {
            return Some(reset(
                ResetReason::UnknownId,
                self.oldest_id(),
                format!(
                    "Event #{since} was never published here (the newest is #{last_id}); \
                     the server may have restarted. Everything still buffered follows."
                ),
            ));
        }
        match self.oldest_id() {
            Some(oldest) if since + 1 < oldest => Some(reset(
                ResetReason::Gap,
                Some(oldest),
                format!(
                    "Events #{} to #{} have left the replay buffer and can no longer be sent. \
                     Events from #{oldest} follow.",
                    since + 1,
                    oldest - 1
                ),
            )),
            // Nothing buffered but ids were used: everything up to last_id is gone.
            None if since < last_id => Some(reset(
                ResetReason::Gap,
                None,
                format!(
                    "Events #{} to #{last_id} have left the replay buffer.",
                    since + 1
                ),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::hub::testing::{ids, new};
    use crate::hub::{Cursor, Hub, ResetReason};

    #[test]
    fn ids_grow_and_ring_is_bounded() {
        let hub = Hub::new(3, 16);
        for _ in 0..5 {
            hub.publish(new("a"));
        }
        let stats = hub.stats();
        assert_eq!(
            (stats.last_id, stats.oldest_id, stats.buffered),
            (5, Some(3), 3)
        );
    }

    #[test]
    fn catch_up_returns_exactly_the_missed_events() {
        let hub = Hub::new(10, 16);
        for _ in 0..5 {
            hub.publish(new("a"));
        }
        let c = hub.catch_up(Cursor::After(2));
        assert!(c.reset.is_none());
        assert_eq!(ids(&c.events), vec![3, 4, 5]);
        assert!(hub.catch_up(Cursor::After(5)).events.is_empty());
    }

    #[test]
    fn catch_up_past_the_ring_is_a_reset_not_a_skip() {
        let hub = Hub::new(3, 16);
        for _ in 0..10 {
            hub.publish(new("a"));
        }
        let c = hub.catch_up(Cursor::After(2));
        let reset = c.reset.expect("reset");
        assert_eq!(reset.reason, ResetReason::Gap);
        assert_eq!(reset.oldest_available, Some(8));
        assert_eq!(ids(&c.events), vec![8, 9, 10]);
        // Right at the edge: #7 known, #8 is the oldest kept — no gap.
        assert!(hub.catch_up(Cursor::After(7)).reset.is_none());
    }

    #[test]
    fn an_id_from_the_future_is_reported() {
        let hub = Hub::new(3, 16);
        hub.publish(new("a"));
        let c = hub.catch_up(Cursor::After(99));
        assert_eq!(c.reset.map(|r| r.reason), Some(ResetReason::UnknownId));
        assert_eq!(ids(&c.events), vec![1]);
    }
}
