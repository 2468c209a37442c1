//! Counting what each transport's own entries show: polls answered, streams
//! opened, events received, messages sent up a socket, chat and events
//! POSTed, and the bytes on the wire each delivered event cost. One entry at
//! a time, except the cost, which is over the whole window.

use crate::traffic::{Direction, Entry, EntryKind, Transport};

use super::checks::{Counters, route};

/// Every name this module counts, with what it means.
pub const NAMES: &[(&str, &str)] = &[
    ("polls", "short polls answered"),
    ("empty_polls", "short polls answered with 204 (no news)"),
    ("polls_with_news", "short polls that brought events"),
    ("long_polls", "long-polls answered"),
    ("long_poll_timeouts", "long-polls that timed out empty"),
    ("long_polls_with_news", "long-polls that brought events"),
    ("sse_connections", "SSE streams opened"),
    ("sse_events", "events received over SSE"),
    (
        "sse_event_bytes",
        "bytes on the wire of the events received over SSE",
    ),
    ("sse_heartbeats", "heartbeat comments received over SSE"),
    (
        "sse_reconnected_with_last_event_id",
        "SSE reconnections that sent Last-Event-ID",
    ),
    ("ws_connections", "WebSocket connections opened"),
    ("ws_sent", "WebSocket messages sent"),
    ("ws_received", "WebSocket messages received"),
    ("ws_events", "events received over a WebSocket"),
    ("ws_pings", "JSON pings sent over a WebSocket"),
    (
        "ws_ping_bytes",
        "bytes on the wire of your JSON pings and their pongs",
    ),
    ("ws_errors", "error messages received over a WebSocket"),
    (
        "ws_pongs",
        "server ping frames your browser answered with a pong",
    ),
    (
        "ws_closed_by_you",
        "WebSocket close frames sent by your side",
    ),
    (
        "ws_subscribed_with_since",
        "WebSocket subscriptions that asked for missed events (since)",
    ),
    ("events_published", "events published"),
    ("chat_sent", "chat messages sent"),
    ("chat_posted", "chat messages sent with POST /api/chat"),
    ("ws_chat_sent", "chat messages sent over a WebSocket"),
    (
        "poll_bytes_per_event",
        "bytes on the wire per event polling delivered",
    ),
    (
        "sse_bytes_per_event",
        "bytes on the wire per event SSE delivered",
    ),
    ("decisions", "scenarios decided"),
    ("decisions_correct", "scenarios decided correctly"),
    ("interview_answered", "interview answers written"),
];

/// Adds this module's counts for `entries` to `c`.
pub fn count<'a>(c: &mut Counters, entries: impl IntoIterator<Item = &'a Entry>) {
    let mut poll_cost = Cost::default();
    let mut sse_cost = Cost::default();
    for e in entries {
        match e.transport {
            Transport::Poll => poll_cost.add(e),
            Transport::Sse => sse_cost.add(e),
            _ => {}
        }
        count_entry(c, e);
    }
    c.add("poll_bytes_per_event", poll_cost.per_event());
    c.add("sse_bytes_per_event", sse_cost.per_event());
}

/// The names a short or a long poll's answers count under.
struct ExchangeNames {
    answered: &'static str,
    empty: &'static str,
    with_news: &'static str,
}

const POLL: ExchangeNames = ExchangeNames {
    answered: "polls",
    empty: "empty_polls",
    with_news: "polls_with_news",
};

const LONG_POLL: ExchangeNames = ExchangeNames {
    answered: "long_polls",
    empty: "long_poll_timeouts",
    with_news: "long_polls_with_news",
};

fn count_entry(c: &mut Counters, e: &Entry) {
    let ok = e.status.is_none_or(|s| (200..300).contains(&s));
    match (e.transport, e.kind) {
        (Transport::Poll, EntryKind::Exchange) if ok => exchange(c, e, &POLL),
        (Transport::LongPoll, EntryKind::Exchange) if ok => exchange(c, e, &LONG_POLL),
        (Transport::Sse, EntryKind::Opened) => {
            c.add("sse_connections", 1);
            if resumes(e) {
                c.add("sse_reconnected_with_last_event_id", 1);
            }
        }
        (Transport::Sse, EntryKind::Event) => {
            c.add("sse_events", 1);
            c.add("sse_event_bytes", e.bytes_down);
        }
        (Transport::Sse, EntryKind::Frame) if e.frame.as_deref() == Some("heartbeat") => {
            c.add("sse_heartbeats", 1)
        }
        (Transport::Websocket, EntryKind::Opened) => c.add("ws_connections", 1),
        (Transport::Websocket, EntryKind::Event) => {
            c.add("ws_events", 1);
            c.add("ws_received", 1);
        }
        (Transport::Websocket, EntryKind::Frame) if e.frame.as_deref() == Some("text") => {
            if e.direction == Direction::Up {
                ws_text_sent(c, e);
            } else {
                ws_text_received(c, e);
            }
        }
        (Transport::Websocket, EntryKind::Frame) if e.direction == Direction::Up => {
            match e.frame.as_deref() {
                Some("pong") => c.add("ws_pongs", 1),
                Some("close") => c.add("ws_closed_by_you", 1),
                _ => {}
            }
        }
        (Transport::Api, EntryKind::Exchange) if ok && e.method.as_deref() == Some("POST") => {
            match route(e) {
                Some("/api/events") => c.add("events_published", 1),
                Some("/api/chat") => {
                    c.add("chat_sent", 1);
                    c.add("chat_posted", 1);
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// A poll answered: empty, or with news.
fn exchange(c: &mut Counters, e: &Entry, names: &ExchangeNames) {
    c.add(names.answered, 1);
    if e.empty == Some(true) {
        c.add(names.empty, 1);
    }
    if e.events_delivered() > 0 {
        c.add(names.with_news, 1);
    }
}

/// Whether an SSE stream was opened with the last event id (in the query
/// or the header).
fn resumes(e: &Entry) -> bool {
    e.path
        .as_deref()
        .is_some_and(|p| p.contains("last_event_id="))
        || e.headers
            .as_ref()
            .is_some_and(|h| h.request_has("last-event-id"))
}

/// A JSON message the learner sent up a WebSocket.
fn ws_text_sent(c: &mut Counters, e: &Entry) {
    c.add("ws_sent", 1);
    match e.preview.as_deref().and_then(message_type).as_deref() {
        Some("publish") => c.add("events_published", 1),
        Some("chat") => {
            c.add("chat_sent", 1);
            c.add("ws_chat_sent", 1);
        }
        Some("ping") => {
            c.add("ws_pings", 1);
            c.add("ws_ping_bytes", e.bytes_up);
        }
        Some("subscribe") if e.preview.as_deref().is_some_and(asks_since) => {
            c.add("ws_subscribed_with_since", 1)
        }
        _ => {}
    }
}

/// A JSON message the server sent down a WebSocket.
fn ws_text_received(c: &mut Counters, e: &Entry) {
    c.add("ws_received", 1);
    match e.preview.as_deref().and_then(message_type).as_deref() {
        Some("pong") => c.add("ws_ping_bytes", e.bytes_down),
        Some("error") => c.add("ws_errors", 1),
        _ => {}
    }
}

/// Bytes on the wire and events delivered by one transport, as the
/// traffic statistics count them (a `closed` entry repeats its
/// connection's totals, so it is left out).
#[derive(Default)]
struct Cost {
    bytes: u64,
    events: u64,
}

impl Cost {
    fn add(&mut self, e: &Entry) {
        if e.kind != EntryKind::Closed {
            self.bytes += e.bytes_up + e.bytes_down;
            self.events += e.events_delivered() as u64;
        }
    }

    /// Rounded; 0 while nothing was delivered.
    fn per_event(&self) -> u64 {
        (self.bytes + self.events / 2)
            .checked_div(self.events)
            .unwrap_or(0)
    }
}

/// Whether a JSON message preview carries a numeric `since`.
fn asks_since(preview: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(preview)
        .is_ok_and(|v| v.get("since").is_some_and(serde_json::Value::is_u64))
}

/// The `type` of a JSON message preview. A long message's preview is cut
/// short and no longer parses; the server writes `type` first, so its
/// opening still names it.
fn message_type(preview: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(preview) {
        Ok(value) => value.get("type")?.as_str().map(str::to_owned),
        Err(_) => {
            let rest = preview.strip_prefix(r#"{"type":""#)?;
            rest.split_once('"').map(|(kind, _)| kind.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn counts_from_entries() {
        let mut poll = Entry::new(Transport::Poll, EntryKind::Exchange, Direction::Both, 1);
        poll.status = Some(204);
        poll.empty = Some(true);
        let mut sse = Entry::new(Transport::Sse, EntryKind::Opened, Direction::Both, 2);
        sse.path = Some("/api/sse?last_event_id=4".into());
        let mut ws = Entry::new(Transport::Websocket, EntryKind::Frame, Direction::Up, 3);
        ws.frame = Some("text".into());
        ws.preview = Some(r#"{"type":"chat","text":"hi"}"#.into());
        let c = Counters::from_entries(&[Arc::new(poll), Arc::new(sse), Arc::new(ws)]);
        assert_eq!(c.get("polls"), 1);
        assert_eq!(c.get("empty_polls"), 1);
        assert_eq!(c.get("sse_reconnected_with_last_event_id"), 1);
        assert_eq!((c.get("ws_sent"), c.get("chat_sent")), (1, 1));
        assert_eq!((c.get("ws_chat_sent"), c.get("chat_posted")), (1, 0));
    }

    #[test]
    fn bytes_per_event_divide_the_wire_by_the_deliveries() {
        let poll = |bytes: u64, ids: Vec<u64>| {
            let mut e = Entry::new(Transport::Poll, EntryKind::Exchange, Direction::Both, 1);
            e.bytes_up = bytes / 2;
            e.bytes_down = bytes - bytes / 2;
            e.event_ids = Some(ids);
            Arc::new(e)
        };
        let mut opened = Entry::new(Transport::Sse, EntryKind::Opened, Direction::Both, 2);
        opened.bytes_up = 300;
        let mut event = Entry::new(Transport::Sse, EntryKind::Event, Direction::Down, 2);
        event.bytes_down = 100;
        event.event_ids = Some(vec![9]);
        let mut closed = Entry::new(Transport::Sse, EntryKind::Closed, Direction::Both, 2);
        closed.bytes_down = 10_000;
        let c = Counters::from_entries(&[
            poll(500, vec![]),
            poll(500, vec![]),
            poll(701, vec![7, 8]),
            Arc::new(opened),
            Arc::new(event),
            Arc::new(closed),
        ]);
        assert_eq!(c.get("poll_bytes_per_event"), 851);
        assert_eq!(c.get("sse_bytes_per_event"), 400);
        assert_eq!(Counters::from_entries(&[]).get("poll_bytes_per_event"), 0);
    }

    #[test]
    fn a_subscribe_with_since_counts_as_a_resume() {
        let frame = |text: &str| {
            let mut ws = Entry::new(Transport::Websocket, EntryKind::Frame, Direction::Up, 1);
            ws.frame = Some("text".into());
            ws.preview = Some(text.into());
            Arc::new(ws)
        };
        let c = Counters::from_entries(&[
            frame(r#"{"type":"subscribe","topics":["a"]}"#),
            frame(r#"{"type":"subscribe","topics":["a"],"since":41}"#),
        ]);
        assert_eq!(c.get("ws_subscribed_with_since"), 1);
    }

    #[test]
    fn bytes_pings_errors_pongs_and_closes_are_counted() {
        let frame = |dir: Direction, kind: &str, text: Option<&str>, bytes: u64| {
            let mut ws = Entry::new(Transport::Websocket, EntryKind::Frame, dir, 1);
            ws.frame = Some(kind.into());
            ws.preview = text.map(str::to_owned);
            ws.bytes_up = if dir == Direction::Up { bytes } else { 0 };
            ws.bytes_down = if dir == Direction::Down { bytes } else { 0 };
            Arc::new(ws)
        };
        let mut event = Entry::new(Transport::Sse, EntryKind::Event, Direction::Down, 2);
        event.bytes_down = 207;
        let long_error = format!(
            r#"{{"type":"error","code":"x","message":"{}"#,
            "a".repeat(300)
        );
        let c = Counters::from_entries(&[
            Arc::new(event),
            frame(Direction::Up, "text", Some(r#"{"type":"ping"}"#), 21),
            frame(Direction::Down, "text", Some(r#"{"type":"pong"}"#), 17),
            frame(
                Direction::Up,
                "text",
                Some(r#"{"type":"echo","data":1}"#),
                30,
            ),
            frame(Direction::Down, "text", Some(&long_error[..200]), 320),
            frame(Direction::Up, "pong", None, 6),
            frame(Direction::Up, "close", None, 8),
            frame(Direction::Down, "ping", None, 2),
        ]);
        assert_eq!((c.get("sse_events"), c.get("sse_event_bytes")), (1, 207));
        assert_eq!((c.get("ws_pings"), c.get("ws_ping_bytes")), (1, 38));
        assert_eq!(
            c.get("ws_errors"),
            1,
            "a cut-short error still names its type"
        );
        assert_eq!((c.get("ws_pongs"), c.get("ws_closed_by_you")), (1, 1));
        assert_eq!((c.get("ws_sent"), c.get("ws_received")), (2, 2));
    }
}
