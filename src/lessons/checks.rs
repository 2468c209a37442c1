//! Checks: named conditions over a learner's own traffic, such as
//! `polls >= 5` or `sse_reconnected_with_last_event_id`. Lessons declare
//! them as data; this module parses and evaluates them.

use std::collections::HashMap;
use std::sync::Arc;

use super::fault_checks::FaultTally;
use crate::traffic::{Direction, Entry, EntryKind, Transport};

/// Every name a check may use: these, [`super::fault_checks::NAMES`],
/// [`super::delivery_checks::NAMES`] and [`super::grader_checks::NAMES`].
/// A lesson naming anything else is rejected.
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

/// A known check name, as the `'static` string counters are keyed by.
pub fn known(name: &str) -> Option<&'static str> {
    all_names().map(|(n, _)| n).find(|n| *n == name)
}

/// Every name and its description.
pub fn all_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    NAMES
        .iter()
        .chain(super::fault_checks::NAMES)
        .chain(super::delivery_checks::NAMES)
        .chain(super::grader_checks::NAMES)
        .map(|(n, d)| (*n, *d))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Gt,
    Eq,
    Le,
    Lt,
}

/// One parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub op: Op,
    pub target: u64,
    /// The condition as written.
    pub text: String,
}

impl Check {
    /// Parses `name`, or `name OP integer`.
    pub fn parse(line: &str) -> Result<Check, String> {
        let text = line.trim().to_owned();
        let mut parts = text.split_whitespace();
        let raw_name = parts.next().ok_or("empty check")?;
        let name = known(raw_name).ok_or_else(|| format!("unknown check {raw_name:?}"))?;
        let (op, target) = match (parts.next(), parts.next()) {
            (None, _) => (Op::Ge, 1),
            (Some(op), Some(n)) => {
                let op = match op {
                    ">=" => Op::Ge,
                    ">" => Op::Gt,
                    "==" => Op::Eq,
                    "<=" => Op::Le,
                    "<" => Op::Lt,
                    other => return Err(format!("unknown comparison {other:?} in {text:?}")),
                };
                let n = n
                    .parse::<u64>()
                    .map_err(|_| format!("{n:?} is not a whole number in {text:?}"))?;
                (op, n)
            }
            (Some(_), None) => return Err(format!("comparison without a number in {text:?}")),
        };
        if parts.next().is_some() {
            return Err(format!("unexpected text after {text:?}"));
        }
        Ok(Check {
            name,
            op,
            target,
            text,
        })
    }

    pub fn holds(&self, value: u64) -> bool {
        match self.op {
            Op::Ge => value >= self.target,
            Op::Gt => value > self.target,
            Op::Eq => value == self.target,
            Op::Le => value <= self.target,
            Op::Lt => value < self.target,
        }
    }

    /// Whether the condition holds before anything happened (a budget such
    /// as `polls <= 3`). A step needs at least one check that does not, or
    /// it would tick without the learner acting.
    pub fn holds_at_zero(&self) -> bool {
        self.holds(0)
    }

    pub fn describe(&self) -> &'static str {
        all_names()
            .find(|(n, _)| *n == self.name)
            .map_or("", |(_, d)| d)
    }
}

/// Counts of everything checks can ask about.
#[derive(Debug, Default, Clone)]
pub struct Counters(HashMap<&'static str, u64>);

impl Counters {
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    pub fn add(&mut self, name: &'static str, n: u64) {
        *self.0.entry(name).or_default() += n;
    }

    /// Adds to a counter named at run time (unknown names are ignored).
    pub fn add_named(&mut self, name: &str, n: u64) {
        if let Some(known) = known(name) {
            self.add(known, n);
        }
    }

    /// Counts what traffic entries show.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a Arc<Entry>>) -> Counters {
        let entries: Vec<&Arc<Entry>> = entries.into_iter().collect();
        let mut c = Counters::default();
        super::delivery_checks::count(&mut c, entries.iter().map(|e| e.as_ref()));
        let mut poll_cost = Cost::default();
        let mut sse_cost = Cost::default();
        let mut faults = FaultTally::default();
        for e in entries {
            faults.count(&mut c, e);
            super::grader_checks::count(&mut c, e);
            match e.transport {
                Transport::Poll => poll_cost.add(e),
                Transport::Sse => sse_cost.add(e),
                _ => {}
            }
            let ok = e.status.is_none_or(|s| (200..300).contains(&s));
            let news = e.events_delivered() > 0;
            match (e.transport, e.kind) {
                (Transport::Poll, EntryKind::Exchange) if ok => {
                    c.add("polls", 1);
                    if e.empty == Some(true) {
                        c.add("empty_polls", 1);
                    }
                    if news {
                        c.add("polls_with_news", 1);
                    }
                }
                (Transport::LongPoll, EntryKind::Exchange) if ok => {
                    c.add("long_polls", 1);
                    if e.empty == Some(true) {
                        c.add("long_poll_timeouts", 1);
                    }
                    if news {
                        c.add("long_polls_with_news", 1);
                    }
                }
                (Transport::Sse, EntryKind::Opened) => {
                    c.add("sse_connections", 1);
                    let resumed = e
                        .path
                        .as_deref()
                        .is_some_and(|p| p.contains("last_event_id="))
                        || e.headers
                            .as_ref()
                            .is_some_and(|h| h.request_has("last-event-id"));
                    if resumed {
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
                    let kind = e.preview.as_deref().and_then(message_type);
                    if e.direction == Direction::Up {
                        c.add("ws_sent", 1);
                        match kind.as_deref() {
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
                    } else {
                        c.add("ws_received", 1);
                        match kind.as_deref() {
                            Some("pong") => c.add("ws_ping_bytes", e.bytes_down),
                            Some("error") => c.add("ws_errors", 1),
                            _ => {}
                        }
                    }
                }
                (Transport::Websocket, EntryKind::Frame) if e.direction == Direction::Up => {
                    match e.frame.as_deref() {
                        Some("pong") => c.add("ws_pongs", 1),
                        Some("close") => c.add("ws_closed_by_you", 1),
                        _ => {}
                    }
                }
                (Transport::Api, EntryKind::Exchange)
                    if ok && e.method.as_deref() == Some("POST") =>
                {
                    match e.path.as_deref().map(|p| p.split('?').next().unwrap_or(p)) {
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
        c.add("poll_bytes_per_event", poll_cost.per_event());
        c.add("sse_bytes_per_event", sse_cost.per_event());
        c
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
    use super::*;

    #[test]
    fn parses_names_and_comparisons() {
        let c = Check::parse("polls >= 5").expect("parse");
        assert_eq!((c.name, c.op, c.target), ("polls", Op::Ge, 5));
        assert!(c.holds(5) && !c.holds(4));
        let c = Check::parse("sse_reconnected_with_last_event_id").expect("parse");
        assert!(c.holds(1) && !c.holds(0));
        assert!(Check::parse("pols >= 5").is_err());
        assert!(Check::parse("polls => 5").is_err());
        assert!(Check::parse("polls >= five").is_err());
        assert!(Check::parse("polls >=").is_err());
    }

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
        assert!(Check::parse("polls <= 3").expect("parse").holds_at_zero());
        assert!(!Check::parse("polls >= 1").expect("parse").holds_at_zero());
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
        let mut named = Counters::default();
        named.add_named("sse_events", 2);
        named.add_named("no_such_check", 5);
        assert_eq!(
            (named.get("sse_events"), named.get("no_such_check")),
            (2, 0)
        );
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
