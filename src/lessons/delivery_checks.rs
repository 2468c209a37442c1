//! Counting what the "write the code yourself" exercises are graded on:
//! whether the learner's own client got every event exactly once, and how
//! it behaved after the server let it down (a half-open stream, a dropped
//! socket, a 503).
//!
//! Event ids are consecutive (the hub numbers every event, gaps are never
//! skipped silently), so a client that reads every topic must see every id
//! between the first and the last one it got: a missing id is an event
//! *lost*, an id seen twice a *duplicate*. These are per transport, over the
//! learner's entries in the step's window. Kept apart from
//! [`super::checks`] because they need the whole window, not one entry.

use std::collections::{BTreeMap, HashSet};

use crate::traffic::{Entry, EntryKind, Transport};

use super::checks::{Counters, route};

/// Every name this module counts, with what it means.
pub const NAMES: &[(&str, &str)] = &[
    ("poll_events", "distinct events your polls brought"),
    ("poll_duplicates", "events your polls downloaded again"),
    (
        "sse_lost",
        "events missing between the first and last your streams got",
    ),
    ("sse_duplicates", "events your streams got twice"),
    (
        "sse_events_after_half_open",
        "events your streams got after the stream went half-open",
    ),
    (
        "ws_lost",
        "events missing between the first and last your sockets got",
    ),
    ("ws_duplicates", "events your sockets got twice"),
    ("ws_drops", "times the server dropped your WebSockets"),
    (
        "ws_reconnects_after_drop",
        "WebSockets you opened again after a drop",
    ),
    (
        "ws_reconnect_spread_ms",
        "spread between your quickest and slowest reconnect after a drop, in ms",
    ),
    (
        "long_poll_errors",
        "long-polls answered with an error status (5xx)",
    ),
    (
        "long_poll_shortest_retry_ms",
        "shortest wait before asking again after an error, in ms",
    ),
    (
        "long_poll_retry_growth",
        "times longer your longest wait after an error was than your shortest",
    ),
    (
        "long_poll_recovered",
        "long-polls answered again (2xx) after an error",
    ),
    (
        "chat_shown",
        "chat messages your code showed (each reported by show())",
    ),
    (
        "chat_shown_twice",
        "chat messages your code showed more than once",
    ),
    (
        "chat_not_shown",
        "chat messages your chat stream delivered that your code never showed",
    ),
];

/// Where a client reports that it showed chat message `{id}` (`src/chat.rs`).
const SHOWN_PREFIX: &str = "/api/chat/shown/";

/// An SSE stream of the chat topic alone (`/api/sse?topics=chat`).
fn chat_stream(e: &Entry) -> bool {
    e.path
        .as_deref()
        .and_then(|p| p.split_once('?'))
        .is_some_and(|(_, q)| q.split('&').any(|kv| kv == "topics=chat"))
}

/// Ids one transport delivered: id → times.
#[derive(Default)]
struct Seen(BTreeMap<u64, u64>);

impl Seen {
    fn add(&mut self, e: &Entry) {
        for id in e.event_ids.iter().flatten() {
            *self.0.entry(*id).or_default() += 1;
        }
    }

    fn distinct(&self) -> u64 {
        self.0.len() as u64
    }

    fn duplicates(&self) -> u64 {
        self.0.values().map(|n| n - 1).sum()
    }

    /// Ids missing between the lowest and the highest seen.
    fn lost(&self) -> u64 {
        match (self.0.keys().next(), self.0.keys().next_back()) {
            (Some(lo), Some(hi)) => hi - lo + 1 - self.distinct(),
            _ => 0,
        }
    }
}

fn ok(e: &Entry) -> bool {
    e.status.is_some_and(|s| (200..300).contains(&s))
}

/// Adds this module's counts for `entries` (oldest first) to `c`.
pub fn count<'a>(c: &mut Counters, entries: impl IntoIterator<Item = &'a Entry>) {
    let mut tally = Tally::default();
    for e in entries {
        tally.see(e);
    }
    tally.add_to(c);
}

/// What the window showed so far.
#[derive(Default)]
struct Tally {
    poll: Seen,
    sse: Seen,
    ws: Seen,
    /// Whether the learner's streams went half-open, and the events they
    /// got after.
    half_open: bool,
    after_half_open: u64,
    drops: Drops,
    retries: Retries,
    chat: Chat,
}

impl Tally {
    fn see(&mut self, e: &Entry) {
        match (e.transport, e.kind) {
            (Transport::Poll, EntryKind::Exchange) => self.poll.add(e),
            (Transport::Sse, EntryKind::Opened) if chat_stream(e) => {
                self.chat.streams.insert(e.connection);
            }
            (Transport::Sse, EntryKind::Event) => {
                if self.chat.streams.contains(&e.connection) {
                    self.chat.delivered.add(e);
                }
                self.sse.add(e);
                if self.half_open {
                    self.after_half_open += e.events_delivered() as u64;
                }
            }
            (Transport::Websocket, EntryKind::Event) => self.ws.add(e),
            (Transport::Websocket, EntryKind::Opened) => self.drops.opened(e),
            (Transport::Websocket, EntryKind::Closed) => {
                self.drops.open.remove(&e.connection);
            }
            (Transport::LongPoll, EntryKind::Exchange) => self.retries.see(e),
            (Transport::Api, EntryKind::Exchange) if ok(e) => self.api(e),
            _ => {}
        }
    }

    /// An API call that went through: a fault, a drop, a message shown.
    fn api(&mut self, e: &Entry) {
        match route(e) {
            Some("/api/faults/half-open") => self.half_open = true,
            Some("/api/connections/drop") if !self.drops.open.is_empty() => {
                self.drops.count += 1;
                self.drops.at = Some(e.at_ms);
            }
            Some(path) => {
                if let Some(id) = path
                    .strip_prefix(SHOWN_PREFIX)
                    .and_then(|id| id.parse::<u64>().ok())
                {
                    *self.chat.shown.0.entry(id).or_default() += 1;
                }
            }
            None => {}
        }
    }

    fn add_to(&self, c: &mut Counters) {
        c.add("poll_events", self.poll.distinct());
        c.add("poll_duplicates", self.poll.duplicates());
        c.add("sse_lost", self.sse.lost());
        c.add("sse_duplicates", self.sse.duplicates());
        c.add("sse_events_after_half_open", self.after_half_open);
        c.add("ws_lost", self.ws.lost());
        c.add("ws_duplicates", self.ws.duplicates());
        c.add("ws_drops", self.drops.count);
        c.add(
            "ws_reconnects_after_drop",
            self.drops.reconnects.len() as u64,
        );
        c.add("ws_reconnect_spread_ms", self.drops.spread());
        c.add("long_poll_errors", self.retries.errors);
        c.add(
            "long_poll_shortest_retry_ms",
            self.retries.shortest.unwrap_or(0),
        );
        c.add("long_poll_retry_growth", self.retries.growth());
        c.add("long_poll_recovered", self.retries.recovered);
        c.add("chat_shown", self.chat.shown.distinct());
        c.add("chat_shown_twice", self.chat.shown_twice());
        c.add("chat_not_shown", self.chat.not_shown());
    }
}

/// The server dropping the learner's WebSockets, and the learner's
/// reconnects.
#[derive(Default)]
struct Drops {
    /// WebSocket connections open now.
    open: HashSet<u64>,
    /// When the last drop closed one, until a reconnect.
    at: Option<u64>,
    count: u64,
    /// How long each reconnect after a drop took, in ms.
    reconnects: Vec<u64>,
}

impl Drops {
    fn opened(&mut self, e: &Entry) {
        self.open.insert(e.connection);
        if let Some(at) = self.at.take() {
            self.reconnects.push(e.at_ms.saturating_sub(at));
        }
    }

    /// Between the quickest and the slowest reconnect; 0 under two.
    fn spread(&self) -> u64 {
        match (self.reconnects.iter().min(), self.reconnects.iter().max()) {
            (Some(lo), Some(hi)) if self.reconnects.len() >= 2 => hi - lo,
            _ => 0,
        }
    }
}

/// Long-polls answered with an error, and the waits before the next.
#[derive(Default)]
struct Retries {
    /// When the last error answer ended, until the next long-poll.
    failed_at: Option<u64>,
    errors: u64,
    shortest: Option<u64>,
    longest: u64,
    recovered: u64,
}

impl Retries {
    fn see(&mut self, e: &Entry) {
        // An exchange is logged when its answer ends; the next one
        // starts `duration_ms` before it is logged.
        let started = e
            .at_ms
            .saturating_sub(e.duration_ms.unwrap_or(0.0).round() as u64);
        if let Some(at) = self.failed_at.take() {
            let wait = started.saturating_sub(at);
            self.shortest = Some(self.shortest.map_or(wait, |s| s.min(wait)));
            self.longest = self.longest.max(wait);
            if ok(e) {
                self.recovered += 1;
            }
        }
        if e.status.is_some_and(|s| s >= 500) {
            self.errors += 1;
            self.failed_at = Some(e.at_ms);
        }
    }

    /// A fixed wait grows 1×; back-off doubling three times, 4× or more.
    fn growth(&self) -> u64 {
        match self.shortest {
            Some(shortest) if self.errors >= 2 => self.longest / shortest.max(1),
            _ => 0,
        }
    }
}

/// The streams of the chat topic, what they delivered, what was shown.
#[derive(Default)]
struct Chat {
    streams: HashSet<u64>,
    delivered: Seen,
    shown: Seen,
}

impl Chat {
    fn shown_twice(&self) -> u64 {
        self.shown.0.values().filter(|n| **n > 1).count() as u64
    }

    fn not_shown(&self) -> u64 {
        let shown = &self.shown.0;
        self.delivered
            .0
            .keys()
            .filter(|id| !shown.contains_key(id))
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::traffic::Direction;

    fn delivered(transport: Transport, kind: EntryKind, ids: &[u64]) -> Arc<Entry> {
        let mut e = Entry::new(transport, kind, Direction::Down, 1);
        e.status = Some(200);
        e.event_ids = Some(ids.to_vec());
        Arc::new(e)
    }

    fn post(path: &str, at_ms: u64) -> Arc<Entry> {
        let mut e = Entry::new(Transport::Api, EntryKind::Exchange, Direction::Both, 0);
        e.method = Some("POST".into());
        e.path = Some(path.into());
        e.status = Some(200);
        e.at_ms = at_ms;
        Arc::new(e)
    }

    fn ws(kind: EntryKind, connection: u64, at_ms: u64) -> Arc<Entry> {
        let mut e = Entry::new(Transport::Websocket, kind, Direction::Both, connection);
        e.at_ms = at_ms;
        Arc::new(e)
    }

    #[test]
    fn polls_that_download_again_count_duplicates() {
        let poll = |ids: &[u64]| delivered(Transport::Poll, EntryKind::Exchange, ids);
        let c = Counters::from_entries(&[poll(&[1, 2]), poll(&[1, 2, 3]), poll(&[])]);
        assert_eq!((c.get("poll_events"), c.get("poll_duplicates")), (3, 2));
    }

    #[test]
    fn a_gap_is_lost_and_only_events_after_the_half_open_count_after_it() {
        let sse = |ids: &[u64]| delivered(Transport::Sse, EntryKind::Event, ids);
        let c = Counters::from_entries(&[
            sse(&[10]),
            post("/api/faults/half-open", 1),
            sse(&[11]),
            sse(&[13]),
            sse(&[13]),
        ]);
        assert_eq!(c.get("sse_lost"), 1, "12 never arrived");
        assert_eq!(c.get("sse_duplicates"), 1);
        assert_eq!(c.get("sse_events_after_half_open"), 3);
    }

    #[test]
    fn reconnect_delays_after_drops_are_spread() {
        let c = Counters::from_entries(&[
            ws(EntryKind::Opened, 1, 0),
            post("/api/connections/drop", 1000),
            ws(EntryKind::Closed, 1, 1001),
            ws(EntryKind::Opened, 2, 1300),
            post("/api/connections/drop", 2000),
            ws(EntryKind::Closed, 2, 2001),
            ws(EntryKind::Opened, 3, 2900),
            post("/api/connections/drop", 5000),
        ]);
        assert_eq!(c.get("ws_drops"), 3);
        assert_eq!(c.get("ws_reconnects_after_drop"), 2);
        assert_eq!(c.get("ws_reconnect_spread_ms"), 600);
        let idle = Counters::from_entries(&[post("/api/connections/drop", 10)]);
        assert_eq!(idle.get("ws_drops"), 0, "nothing open, nothing dropped");
    }

    #[test]
    fn retries_after_errors_are_timed_from_the_failed_answer() {
        let lp = |status: u16, at_ms: u64, duration: f64| {
            let mut e = Entry::new(Transport::LongPoll, EntryKind::Exchange, Direction::Both, 0);
            e.status = Some(status);
            e.at_ms = at_ms;
            e.duration_ms = Some(duration);
            Arc::new(e)
        };
        let c = Counters::from_entries(&[
            lp(503, 1000, 1.0),
            lp(503, 1010, 2.0),
            lp(503, 1600, 1.0),
            lp(204, 4000, 1000.0),
        ]);
        assert_eq!(c.get("long_poll_errors"), 3);
        assert_eq!(c.get("long_poll_shortest_retry_ms"), 8);
        assert_eq!(c.get("long_poll_recovered"), 1, "the 204 after the errors");
    }

    #[test]
    fn chat_counts_what_was_shown_against_what_the_chat_stream_delivered() {
        let mut opened = Entry::new(Transport::Sse, EntryKind::Opened, Direction::Both, 7);
        opened.path = Some("/api/sse?topics=chat".into());
        let chat = |ids: &[u64]| {
            let mut e = Entry::new(Transport::Sse, EntryKind::Event, Direction::Down, 7);
            e.event_ids = Some(ids.to_vec());
            Arc::new(e)
        };
        let mut other = Entry::new(Transport::Sse, EntryKind::Event, Direction::Down, 8);
        other.event_ids = Some(vec![99]);
        let shown = |id: u64| post(&format!("/api/chat/shown/{id}"), 0);
        let c = Counters::from_entries(&[
            Arc::new(opened),
            chat(&[1]),
            chat(&[2]),
            chat(&[3]),
            Arc::new(other),
            shown(1),
            shown(2),
            shown(2),
            shown(2),
        ]);
        assert_eq!(c.get("chat_shown"), 2);
        assert_eq!(c.get("chat_shown_twice"), 1, "2 was shown three times");
        assert_eq!(c.get("chat_not_shown"), 1, "3; 99 came on another stream");
    }

    #[test]
    fn back_off_grows_the_waits_and_a_fixed_wait_does_not() {
        let lp = |status: u16, at_ms: u64| {
            let mut e = Entry::new(Transport::LongPoll, EntryKind::Exchange, Direction::Both, 0);
            e.status = Some(status);
            e.at_ms = at_ms;
            e.duration_ms = Some(0.0);
            Arc::new(e)
        };
        let backing_off =
            Counters::from_entries(&[lp(503, 0), lp(503, 1000), lp(503, 3000), lp(200, 7000)]);
        assert_eq!(backing_off.get("long_poll_shortest_retry_ms"), 1000);
        assert_eq!(backing_off.get("long_poll_retry_growth"), 4);
        assert_eq!(backing_off.get("long_poll_recovered"), 1);
        let fixed =
            Counters::from_entries(&[lp(503, 0), lp(503, 1000), lp(503, 2000), lp(200, 3000)]);
        assert_eq!(fixed.get("long_poll_retry_growth"), 1);
        let once = Counters::from_entries(&[lp(503, 0), lp(200, 5000)]);
        assert_eq!(
            once.get("long_poll_retry_growth"),
            0,
            "one error shows no growth"
        );
    }
}
