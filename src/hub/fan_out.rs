//! The hub itself: numbers (or mirrors) events into the ring and fans each
//! one out to live subscribers, under one lock so live order is id order.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, watch};

use super::event::now_us;
use super::ring::Ring;
use super::{CatchUp, Cursor, Event, NewEvent, Subscription};

/// Snapshot of the hub's counters.
#[derive(Debug, Clone, Copy)]
pub struct HubStats {
    pub last_id: u64,
    pub oldest_id: Option<u64>,
    pub buffered: usize,
    pub capacity: usize,
    /// Live subscriptions right now (held long-polls, SSE streams, subscribed WebSockets).
    pub subscribers: usize,
}

/// The shared hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

struct Shared {
    ring: Mutex<Ring>,
    live: broadcast::Sender<Arc<Event>>,
    /// The newest id, for publishers waiting until their event is mirrored.
    newest: watch::Sender<u64>,
}

impl Hub {
    /// A hub that keeps the newest `replay_capacity` events and lets a live
    /// subscriber fall `live_capacity` events behind before it is caught up
    /// from the ring.
    pub fn new(replay_capacity: usize, live_capacity: usize) -> Self {
        Self::starting_after(0, replay_capacity, live_capacity)
    }

    /// A hub whose first event gets id `base + 1`.
    pub fn starting_after(base: u64, replay_capacity: usize, live_capacity: usize) -> Self {
        let (live, _) = broadcast::channel(live_capacity.max(1));
        Hub {
            shared: Arc::new(Shared {
                ring: Mutex::new(Ring::new(base, replay_capacity)),
                live,
                newest: watch::Sender::new(base),
            }),
        }
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding the lock cannot leave the ring half-written
        // (every mutation is a single push/pop), so poisoning is safe to ignore.
        self.shared.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Numbers, stores and broadcasts an event; returns it. Only for a hub
    /// that numbers its own events (in-memory mode); a mirrored hub gets its
    /// events through [`mirror`](Self::mirror).
    pub fn publish(&self, new: NewEvent) -> Arc<Event> {
        let now_us = now_us();
        let mut ring = self.ring();
        let event = Arc::new(Event::new(ring.last_id() + 1, new, now_us));
        self.append(&mut ring, event.clone());
        event
    }

    /// Stores and broadcasts an event numbered elsewhere (the Redis stream).
    /// Events must come in id order: one at or below the newest id is a
    /// duplicate and is ignored (`None`). One that skips ids empties the ring
    /// first (the ring's catch-up relies on consecutive ids), so a client
    /// asking for the skipped ids gets a `gap` reset, never a silent skip.
    pub fn mirror(&self, event: Event) -> Option<Arc<Event>> {
        let mut ring = self.ring();
        if event.id <= ring.last_id() {
            return None;
        }
        if event.id != ring.last_id() + 1 {
            ring.forget();
        }
        let event = Arc::new(event);
        self.append(&mut ring, event.clone());
        Some(event)
    }

    /// Starts a new run of ids after `base` (the shared Redis lost its
    /// data): the ring empties, and a client resuming with an older id gets
    /// a `restarted` reset.
    pub fn rebase(&self, base: u64) {
        let mut ring = self.ring();
        ring.rebase(base);
        self.shared.newest.send_replace(base);
    }

    fn append(&self, ring: &mut Ring, event: Arc<Event>) {
        ring.push(event.clone());
        // Sent under the lock so live order equals id order. No receivers is fine.
        let _ = self.shared.live.send(event);
        self.shared.newest.send_replace(ring.last_id());
    }

    /// Waits until the newest id is at least `id`, for at most `patience`.
    /// Returns whether it got there.
    pub async fn wait_for(&self, id: u64, patience: std::time::Duration) -> bool {
        let mut newest = self.shared.newest.subscribe();
        tokio::time::timeout(patience, newest.wait_for(|&n| n >= id))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Ids of this run are greater than this.
    pub fn base(&self) -> u64 {
        self.ring().base()
    }

    /// Buffered events from `from` on (with a reset if some are gone).
    pub fn catch_up(&self, from: Cursor) -> CatchUp {
        self.ring().catch_up(from)
    }

    /// Subscribes to live events, replaying buffered ones first when `from`
    /// points into the past. Replay and live stream join without gaps or
    /// duplicates because both are taken under the same lock.
    pub fn subscribe(&self, from: Cursor) -> Subscription {
        let ring = self.ring();
        let live = self.shared.live.subscribe();
        Subscription::start(self.clone(), live, ring.catch_up(from))
    }

    pub fn last_id(&self) -> u64 {
        self.ring().last_id()
    }

    pub fn stats(&self) -> HubStats {
        let ring = self.ring();
        HubStats {
            last_id: ring.last_id(),
            oldest_id: ring.oldest_id(),
            buffered: ring.len(),
            capacity: ring.capacity(),
            subscribers: self.shared.live.receiver_count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::hub::testing::{ids, new, numbered};
    use crate::hub::{Cursor, Delivery, Hub, Reset, ResetReason};

    #[tokio::test]
    async fn mirrored_events_keep_their_ids_and_duplicates_are_dropped() {
        let hub = Hub::starting_after(100, 10, 16);
        let mut sub = hub.subscribe(Cursor::Now);
        assert!(hub.mirror(numbered(101)).is_some());
        assert!(hub.mirror(numbered(102)).is_some());
        assert!(hub.mirror(numbered(102)).is_none(), "a duplicate");
        assert!(hub.mirror(numbered(90)).is_none(), "an old id");
        assert!(hub.wait_for(102, std::time::Duration::ZERO).await);
        let mut seen = vec![];
        while let Some(Delivery::Event(e)) = sub.try_next() {
            seen.push(e.id);
        }
        assert_eq!(seen, vec![101, 102]);
        assert_eq!(
            ids(&hub.catch_up(Cursor::After(100)).events),
            vec![101, 102]
        );
    }

    #[tokio::test]
    async fn a_mirrored_gap_is_a_reset_for_every_reader() {
        let hub = Hub::new(10, 16);
        hub.mirror(numbered(1));
        let mut sub = hub.subscribe(Cursor::After(1));
        hub.mirror(numbered(5));
        hub.mirror(numbered(6));
        // The ring holds consecutive ids only, so it starts over at #5.
        let c = hub.catch_up(Cursor::After(1));
        assert_eq!(c.reset.map(|r| r.reason), Some(ResetReason::Gap));
        assert_eq!(ids(&c.events), vec![5, 6]);
        // A live subscriber is told too, instead of jumping silently.
        match sub.next().await {
            Some(Delivery::Reset(r)) => assert_eq!(r.oldest_available, Some(5)),
            other => panic!("expected a reset, got {other:?}"),
        }
        let mut seen = vec![];
        while let Some(Delivery::Event(e)) = sub.try_next() {
            seen.push(e.id);
        }
        assert_eq!(seen, vec![5, 6], "each once, no second reset");
    }

    #[tokio::test]
    async fn a_rebase_starts_a_new_run() {
        let hub = Hub::new(10, 16);
        hub.mirror(numbered(1));
        let mut sub = hub.subscribe(Cursor::Now);
        hub.rebase(1000);
        hub.mirror(numbered(1001));
        assert!(matches!(
            sub.next().await,
            Some(Delivery::Reset(Reset {
                reason: ResetReason::Restarted,
                ..
            }))
        ));
        assert!(matches!(sub.next().await, Some(Delivery::Event(e)) if e.id == 1001));
        let c = hub.catch_up(Cursor::After(1));
        assert_eq!(c.reset.map(|r| r.reason), Some(ResetReason::Restarted));
    }

    #[test]
    fn published_ids_follow_the_base() {
        let hub = Hub::starting_after(500, 3, 16);
        assert_eq!((hub.base(), hub.last_id()), (500, 500));
        assert_eq!(hub.publish(new("a")).id, 501);
    }
}
