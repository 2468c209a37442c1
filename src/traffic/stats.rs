//! Per-transport totals over a recent window of a learner's entries: the
//! numbers behind "polling wastes requests" and "SSE is efficient".
//!
//! Byte totals add up the entries themselves (exchanges, openings, events
//! and frames); `closed` entries repeat a connection's totals and are not
//! counted again. Delays are those of live events only: catch-up (old events
//! a client asked for, see [`super::catch_up`]) is counted apart.

use std::collections::HashMap;
use std::sync::Arc;

use poem_openapi::Object;

use super::narrate::{bytes, millis};
use super::{Entry, EntryKind, Transport};

/// Statistics of one transport.
#[derive(Debug, Clone, Default, Object)]
#[oai(example)]
pub struct TransportStats {
    pub transport: String,
    /// Plain request/response exchanges (polls, long-polls, API calls).
    pub requests: u64,
    /// Long-lived connections opened (SSE streams, WebSockets).
    pub connections: u64,
    /// Answers that carried no news (`204` to a poll or long-poll).
    pub empty: u64,
    /// `empty / requests`, 0 to 1.
    pub empty_share: f64,
    /// Events that reached the client.
    pub events_delivered: u64,
    /// Of those, catch-up: events published before the client was listening
    /// (a replay or a backlog). The delays below leave them out.
    pub caught_up: u64,
    /// Bytes client → server on the wire.
    pub bytes_up: u64,
    /// Bytes server → client on the wire.
    pub bytes_down: u64,
    /// `(bytes_up + bytes_down) / events_delivered`; absent when nothing was delivered.
    #[oai(nullable)]
    pub bytes_per_event: Option<f64>,
    /// Publish → delivered, median, in milliseconds (live events only).
    #[oai(nullable)]
    pub delay_p50_ms: Option<f64>,
    /// Publish → delivered, 95th percentile, in milliseconds.
    #[oai(nullable)]
    pub delay_p95_ms: Option<f64>,
    /// Publish → delivered, worst, in milliseconds.
    #[oai(nullable)]
    pub delay_max_ms: Option<f64>,
    /// Connections open right now.
    pub open_connections: u64,
    /// The same numbers in a sentence.
    pub summary: String,
}

impl poem_openapi::types::Example for TransportStats {
    fn example() -> Self {
        let mut s = TransportStats {
            transport: "poll".into(),
            requests: 30,
            empty: 29,
            empty_share: 29.0 / 30.0,
            events_delivered: 1,
            bytes_up: 5400,
            bytes_down: 3700,
            bytes_per_event: Some(9100.0),
            delay_p50_ms: Some(840.0),
            delay_p95_ms: Some(840.0),
            delay_max_ms: Some(840.0),
            ..Default::default()
        };
        s.summary = summary(Transport::Poll, &s, 60);
        s
    }
}

/// All transports over one window.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Stats {
    /// Window length in seconds.
    pub window_s: u64,
    pub transports: Vec<TransportStats>,
}

impl poem_openapi::types::Example for Stats {
    fn example() -> Self {
        Stats {
            window_s: 60,
            transports: vec![TransportStats::example()],
        }
    }
}

/// Nearest-rank percentile of sorted values: the load generator's, so both
/// measure the same way.
pub use loadgen::percentile;

/// Aggregates `entries` (all newer than the window start) per transport.
pub fn compute(entries: &[Arc<Entry>], open: &HashMap<Transport, u32>, window_s: u64) -> Stats {
    let transports = Transport::ALL
        .into_iter()
        .map(|t| {
            let mut s = TransportStats {
                transport: t.as_str().into(),
                open_connections: open.get(&t).copied().unwrap_or(0) as u64,
                ..Default::default()
            };
            let mut delays = Vec::new();
            for e in entries.iter().filter(|e| e.transport == t) {
                match e.kind {
                    EntryKind::Exchange => s.requests += 1,
                    EntryKind::Opened => s.connections += 1,
                    EntryKind::Closed => continue,
                    _ => {}
                }
                if e.empty == Some(true) {
                    s.empty += 1;
                }
                s.events_delivered += e.events_delivered() as u64;
                s.caught_up += e.catch_up.unwrap_or(0);
                s.bytes_up += e.bytes_up;
                s.bytes_down += e.bytes_down;
                delays.extend(e.delays_ms.iter().flatten().copied());
            }
            if s.requests > 0 {
                s.empty_share = s.empty as f64 / s.requests as f64;
            }
            if s.events_delivered > 0 {
                s.bytes_per_event =
                    Some((s.bytes_up + s.bytes_down) as f64 / s.events_delivered as f64);
            }
            delays.sort_by(f64::total_cmp);
            s.delay_p50_ms = percentile(&delays, 0.50);
            s.delay_p95_ms = percentile(&delays, 0.95);
            s.delay_max_ms = delays.last().copied();
            s.summary = summary(t, &s, window_s);
            s
        })
        .collect();
    Stats {
        window_s,
        transports,
    }
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "Last 60 s: 30 polls, 29 empty, 1 update — 9.1 KB spent for 1 update".
pub fn summary(t: Transport, s: &TransportStats, window_s: u64) -> String {
    let total = bytes(s.bytes_up + s.bytes_down);
    let updates = count(s.events_delivered, "update", "updates");
    let spent = if s.events_delivered > 0 {
        format!("{total} spent for {updates}")
    } else {
        format!("{total} spent, nothing delivered")
    };
    let delay = match (s.caught_up, s.delay_p50_ms) {
        (0, None) => String::new(),
        (0, Some(d)) => format!("; updates arrived {} after publish (median)", millis(d)),
        (n, None) => format!("; caught up on {}", count(n, "older event", "older events")),
        (n, Some(d)) => format!(
            "; caught up on {}, the new ones arrived {} after publish (median)",
            count(n, "older event", "older events"),
            millis(d)
        ),
    };
    let head = format!("Last {window_s} s: ");
    match t {
        Transport::Poll => format!(
            "{head}{}, {} empty, {updates} — {spent}{delay}",
            count(s.requests, "poll", "polls"),
            s.empty
        ),
        Transport::LongPoll => format!(
            "{head}{}, {} timed out empty, {updates} — {spent}{delay}",
            count(s.requests, "long-poll", "long-polls"),
            s.empty
        ),
        Transport::Sse => format!(
            "{head}{} opened ({} open now), {updates} pushed — {spent}{delay}",
            count(s.connections, "stream", "streams"),
            s.open_connections
        ),
        Transport::Websocket => format!(
            "{head}{} opened ({} open now), {updates} pushed — {spent}{delay}",
            count(s.connections, "WebSocket", "WebSockets"),
            s.open_connections
        ),
        Transport::Api => format!(
            "{head}{} to the rest of the API — {total}",
            count(s.requests, "request", "requests")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Direction;

    #[test]
    fn polls_empty_share_and_bytes_per_event() {
        let mut entries = Vec::new();
        for i in 0..21 {
            let mut e = Entry::new(Transport::Poll, EntryKind::Exchange, Direction::Both, i);
            e.bytes_up = 100;
            e.bytes_down = 60;
            if i == 20 {
                e.empty = Some(false);
                e.event_ids = Some(vec![1]);
                e.delays_ms = Some(vec![500.0]);
                e.bytes_down = 400;
            } else {
                e.empty = Some(true);
            }
            entries.push(Arc::new(e));
        }
        let stats = compute(&entries, &HashMap::new(), 60);
        let poll = &stats.transports[0];
        assert_eq!(
            (poll.requests, poll.empty, poll.events_delivered),
            (21, 20, 1)
        );
        assert!((poll.empty_share - 20.0 / 21.0).abs() < 1e-9);
        assert_eq!(
            poll.bytes_per_event,
            Some((21.0 * 100.0) + 20.0 * 60.0 + 400.0)
        );
        assert_eq!(poll.delay_p50_ms, Some(500.0));
        assert_eq!(
            poll.summary,
            "Last 60 s: 21 polls, 20 empty, 1 update — 3.7 KB spent for 1 update; updates arrived \
             500 ms after publish (median)"
        );
    }

    #[test]
    fn catch_up_is_counted_apart_from_the_delays() {
        let mut backlog = Entry::new(Transport::Poll, EntryKind::Exchange, Direction::Both, 1);
        backlog.event_ids = Some((1..=100).collect());
        backlog.catch_up = Some(100);
        let mut live = Entry::new(Transport::Poll, EntryKind::Exchange, Direction::Both, 2);
        live.event_ids = Some(vec![101]);
        live.delays_ms = Some(vec![400.0]);
        let stats = compute(&[Arc::new(backlog.clone())], &HashMap::new(), 60);
        let poll = &stats.transports[0];
        assert_eq!((poll.events_delivered, poll.caught_up), (100, 100));
        assert_eq!(poll.delay_p50_ms, None, "a backlog is not a delay");
        assert!(
            poll.summary
                .ends_with("100 updates; caught up on 100 older events")
        );

        let stats = compute(&[Arc::new(backlog), Arc::new(live)], &HashMap::new(), 60);
        let poll = &stats.transports[0];
        assert_eq!((poll.events_delivered, poll.caught_up), (101, 100));
        assert_eq!(poll.delay_max_ms, Some(400.0));
        assert!(
            poll.summary.ends_with(
                "caught up on 100 older events, the new ones arrived 400 ms after publish (median)"
            ),
            "{}",
            poll.summary
        );
    }
}
