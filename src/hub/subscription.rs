//! A live feed that joins replay and broadcast without gaps or duplicates.
//!
//! A subscriber that falls behind the broadcast channel, or sees the hub
//! jump, is caught up from the ring, or told it was reset.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::{CatchUp, Cursor, Event, Hub, Reset, TopicFilter};

/// What a subscription yields next.
#[derive(Debug, Clone)]
pub enum Delivery {
    Event(Arc<Event>),
    Reset(Reset),
}

/// A live feed of events in id order, starting where the client asked.
///
/// Never yields the same id twice; yields [`Delivery::Reset`] before any jump.
pub struct Subscription {
    hub: Hub,
    live: broadcast::Receiver<Arc<Event>>,
    pending: VecDeque<Arc<Event>>,
    reset: Option<Reset>,
    /// Highest id already yielded (or skipped as "before the start").
    cursor: u64,
}

impl Subscription {
    /// A subscription that first delivers `replay`, then `live`. Both must
    /// be taken under the hub's lock so they join exactly.
    pub(super) fn start(hub: Hub, live: broadcast::Receiver<Arc<Event>>, replay: CatchUp) -> Self {
        // Everything in `pending` is newer than the cursor.
        let cursor = replay.events.first().map_or(replay.last_id, |e| e.id - 1);
        Subscription {
            hub,
            live,
            pending: replay.events.into(),
            reset: replay.reset,
            cursor,
        }
    }

    /// Waits for the next delivery. Returns `None` only when the hub is gone.
    pub async fn next(&mut self) -> Option<Delivery> {
        loop {
            if let Some(d) = self.buffered() {
                return Some(d);
            }
            match self.live.recv().await {
                Ok(event) if self.skips(&event) => self.refill(),
                Ok(event) => {
                    if let Some(d) = self.accept(event) {
                        return Some(d);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.refill(),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next delivery if one is ready now, without waiting.
    pub fn try_next(&mut self) -> Option<Delivery> {
        loop {
            if let Some(d) = self.buffered() {
                return Some(d);
            }
            match self.live.try_recv() {
                Ok(event) if self.skips(&event) => self.refill(),
                Ok(event) => {
                    if let Some(d) = self.accept(event) {
                        return Some(d);
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.refill(),
                Err(_) => return None,
            }
        }
    }

    fn buffered(&mut self) -> Option<Delivery> {
        if let Some(reset) = self.reset.take() {
            return Some(Delivery::Reset(reset));
        }
        while let Some(event) = self.pending.pop_front() {
            if let Some(d) = self.accept(event) {
                return Some(d);
            }
        }
        None
    }

    fn accept(&mut self, event: Arc<Event>) -> Option<Delivery> {
        (event.id > self.cursor).then(|| {
            self.cursor = event.id;
            Delivery::Event(event)
        })
    }

    /// A live event that is not the next id: the hub jumped (a mirrored
    /// gap or a rebase). The ring knows what that means for this cursor.
    fn skips(&self, event: &Event) -> bool {
        event.id > self.cursor.saturating_add(1)
    }

    /// Fell behind the live channel: continue from the ring instead.
    fn refill(&mut self) {
        let c = self.hub.catch_up(Cursor::After(self.cursor));
        // After a reset the cursor moves to where the replay starts, so the
        // same jump is reported once.
        let start = match c.events.first() {
            Some(first) => first.id - 1,
            None if c.reset.is_some() => c.last_id,
            None => self.cursor,
        };
        self.cursor = self.cursor.max(start);
        self.reset = c.reset;
        self.pending = c.events.into();
    }

    /// Like [`next`](Self::next), skipping events whose topic is filtered out.
    pub async fn next_matching(&mut self, topics: &TopicFilter) -> Option<Delivery> {
        loop {
            match self.next().await? {
                Delivery::Event(e) if !e.matches(topics) => continue,
                other => return Some(other),
            }
        }
    }

    /// Highest id this subscription has passed.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Where a client cut off now should resume (`Cursor::After` it) to miss
    /// nothing and see nothing twice; `None` while a reset is still to be
    /// told, which resuming from here would hide.
    pub fn resume_point(&self) -> Option<u64> {
        self.reset.is_none().then_some(self.cursor)
    }
}

#[cfg(test)]
mod tests {
    use crate::hub::testing::new;
    use crate::hub::{Cursor, Delivery, Hub, TopicFilter};

    #[tokio::test]
    async fn subscription_joins_replay_and_live_without_duplicates() {
        let hub = Hub::new(10, 16);
        hub.publish(new("a"));
        hub.publish(new("b"));
        let mut sub = hub.subscribe(Cursor::After(0));
        hub.publish(new("a"));
        let mut seen = vec![];
        for _ in 0..3 {
            match sub.next().await {
                Some(Delivery::Event(e)) => seen.push(e.id),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(seen, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_refilled_from_the_ring() {
        let hub = Hub::new(100, 2);
        let mut sub = hub.subscribe(Cursor::Now);
        for _ in 0..10 {
            hub.publish(new("a"));
        }
        let mut seen = vec![];
        for _ in 0..10 {
            if let Some(Delivery::Event(e)) = sub.next().await {
                seen.push(e.id);
            }
        }
        assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_subscriber_lagging_past_the_ring_gets_a_reset() {
        let hub = Hub::new(3, 2);
        let mut sub = hub.subscribe(Cursor::Now);
        for _ in 0..10 {
            hub.publish(new("a"));
        }
        assert!(matches!(sub.next().await, Some(Delivery::Reset(_))));
        match sub.next().await {
            Some(Delivery::Event(e)) => assert_eq!(e.id, 8),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_resume_point_misses_nothing_and_hides_no_reset() {
        let hub = Hub::new(3, 16);
        for _ in 0..5 {
            hub.publish(new("a"));
        }
        // Joining now: resuming after the newest id gets what comes next.
        let now = hub.subscribe(Cursor::Now);
        assert_eq!(now.resume_point(), Some(5));
        hub.publish(new("a"));
        let mut resumed = hub.subscribe(Cursor::After(5));
        assert!(matches!(resumed.next().await, Some(Delivery::Event(e)) if e.id == 6));
        // Joining after an id still in the ring: that id.
        assert_eq!(hub.subscribe(Cursor::After(4)).resume_point(), Some(4));
        // A reset still to be told: no resume point, or a reconnect would skip it.
        let mut gone = hub.subscribe(Cursor::After(1));
        assert_eq!(gone.resume_point(), None);
        assert!(matches!(gone.next().await, Some(Delivery::Reset(_))));
        assert!(gone.resume_point().is_some());
    }

    #[tokio::test]
    async fn topic_filter_skips_other_topics() {
        let hub = Hub::new(10, 16);
        let mut sub = hub.subscribe(Cursor::Now);
        hub.publish(new("a"));
        hub.publish(new("b"));
        let filter = TopicFilter::parse(Some("b, c"));
        match sub.next_matching(&filter).await {
            Some(Delivery::Event(e)) => assert_eq!((e.id, e.topic.as_str()), (2, "b")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
