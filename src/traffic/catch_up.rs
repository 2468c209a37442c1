//! Catch-up is not delay.
//!
//! A transport's delay is how long an update waits between being published
//! and reaching a client that was already listening for it. A client that
//! asks for the past — the replay buffer, a resume point far back, a batch
//! it left waiting — also receives old events, and their age measures how far
//! back it asked, not how fast the transport is. Counted as delay, one
//! backlog of old events turns "about half the polling interval" into
//! "five minutes".
//!
//! So an event a client receives is **catch-up** when it was published before
//! the client started listening for it over that transport:
//!
//! - **SSE**: published before the stream opened (the replay after
//!   `Last-Event-ID` or `?last_event_id`).
//! - **WebSocket**: published before the subscription that delivered it
//!   began: the socket's opening, or a later `subscribe` with `since`, which
//!   replays from that id.
//! - **Polls and long-polls**: published before the same learner's previous
//!   request of that transport arrived: the client could have had it then.
//!   A request without a `since` cursor, or the first one the log knows of
//!   for that learner, listens from its own arrival, so everything it gets
//!   that is older than the request is catch-up.
//!
//! Catch-up events still count as delivered (events, bytes per event); the
//! entry's `catch_up` says how many there were, and their ages stay out of
//! `delays_ms` and therefore out of every delay statistic and sentence.

use std::time::{SystemTime, UNIX_EPOCH};

use super::Entry;
use crate::hub::Event;

/// Microseconds since the Unix epoch, now (the clock events are stamped with).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// The instant (µs since the epoch) a client started listening; older events
/// it receives are catch-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListeningSince(pub u64);

impl ListeningSince {
    pub fn now() -> Self {
        ListeningSince(now_us())
    }

    /// For a poll or long-poll that `arrived` (µs): from the learner's previous
    /// request of the same transport when this one carries a `since` cursor
    /// and there was one, else from this request's own arrival.
    pub fn for_poll(has_cursor: bool, previous_arrival: Option<u64>, arrived: u64) -> Self {
        match previous_arrival {
            Some(previous) if has_cursor => ListeningSince(previous.min(arrived)),
            _ => ListeningSince(arrived),
        }
    }

    pub fn is_catch_up(self, event: &Event) -> bool {
        event.published_at_us < self.0
    }
}

/// Whether a query string carries a non-empty `since` cursor.
pub fn has_since(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .any(|(k, v)| k == "since" && !v.is_empty())
    })
}

/// What one answer delivered, split into catch-up and live events.
#[derive(Debug, Default, PartialEq)]
pub struct Delivered {
    pub ids: Vec<u64>,
    /// Events published before the client was listening.
    pub catch_up: u64,
    /// Publish → now, in milliseconds, of the live events only (at most `max_delays`).
    pub delays_ms: Vec<f64>,
}

impl Delivered {
    pub fn add<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a Event>,
        since: ListeningSince,
        max_delays: usize,
    ) {
        for event in events {
            self.ids.push(event.id);
            if since.is_catch_up(event) {
                self.catch_up += 1;
            } else if self.delays_ms.len() < max_delays {
                self.delays_ms.push(event.age_ms());
            }
        }
    }

    /// One event written to a stream.
    pub fn one(event: &Event, since: ListeningSince) -> Self {
        let mut one = Delivered::default();
        one.add([event], since, 1);
        one
    }

    /// Fills an entry's `event_ids`, `delays_ms` and `catch_up` (each absent when empty).
    pub fn write_to(self, entry: &mut Entry) {
        if self.ids.is_empty() {
            return;
        }
        entry.event_ids = Some(self.ids);
        entry.delays_ms = (!self.delays_ms.is_empty()).then_some(self.delays_ms);
        entry.catch_up = (self.catch_up > 0).then_some(self.catch_up);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::hub::NewEvent;

    fn event(id: u64, published_at_us: u64) -> Arc<Event> {
        let new = NewEvent {
            topic: "t".into(),
            kind: "k".into(),
            data: serde_json::Value::Null,
        };
        Arc::new(Event::new(id, new, published_at_us))
    }

    #[test]
    fn a_poll_with_a_cursor_listens_from_its_previous_request() {
        let since = ListeningSince::for_poll(true, Some(1_000), 5_000);
        assert_eq!(since, ListeningSince(1_000));
        assert!(since.is_catch_up(&event(1, 999)), "older than the last ask");
        assert!(!since.is_catch_up(&event(2, 1_000)));
        assert!(
            !since.is_catch_up(&event(3, 4_000)),
            "waited for this ask: delay"
        );
    }

    #[test]
    fn without_a_cursor_or_a_previous_request_a_poll_listens_from_its_arrival() {
        assert_eq!(
            ListeningSince::for_poll(false, Some(1_000), 5_000),
            ListeningSince(5_000)
        );
        assert_eq!(
            ListeningSince::for_poll(true, None, 5_000),
            ListeningSince(5_000)
        );
        // A clock that went backwards never moves the boundary past the request.
        assert_eq!(
            ListeningSince::for_poll(true, Some(9_000), 5_000),
            ListeningSince(5_000)
        );
    }

    #[test]
    fn catch_up_is_counted_and_kept_out_of_the_delays() {
        let now = now_us();
        let old: Vec<_> = (1..=100).map(|id| event(id, now - 300_000_000)).collect();
        let fresh = event(101, now);
        let mut d = Delivered::default();
        d.add(
            old.iter().map(|e| &**e),
            ListeningSince(now - 1_000_000),
            100,
        );
        d.add([&*fresh], ListeningSince(now - 1_000_000), 100);
        assert_eq!(d.ids.len(), 101);
        assert_eq!(d.catch_up, 100);
        assert_eq!(d.delays_ms.len(), 1, "only the live event has a delay");
        assert!(d.delays_ms[0] < 1_000.0, "{:?}", d.delays_ms);
    }

    #[test]
    fn delays_stay_bounded() {
        let now = now_us();
        let live: Vec<_> = (1..=300).map(|id| event(id, now)).collect();
        let mut d = Delivered::default();
        d.add(live.iter().map(|e| &**e), ListeningSince(now - 1), 100);
        assert_eq!((d.ids.len(), d.delays_ms.len(), d.catch_up), (300, 100, 0));
    }

    #[test]
    fn since_must_be_present_and_non_empty() {
        assert!(has_since(Some("since=41&limit=5")));
        assert!(has_since(Some("topics=a&since=0")));
        assert!(!has_since(Some("since=")));
        assert!(!has_since(Some("limit=20")));
        assert!(!has_since(Some("last_since=3")));
        assert!(!has_since(None));
    }
}
