//! What HTTP/2 changes, counted per protocol: SSE streams that got events
//! (over HTTP/1.1 a browser holds at most six connections to an origin; over
//! HTTP/2 every stream shares one), the bytes and header bytes of each poll
//! (HPACK shrinks repeated headers), and WebSockets opened over each.

use std::collections::HashSet;

use crate::traffic::{Entry, EntryKind, Protocol, Transport};

use super::checks::Counters;

/// Every name this module counts, with what it means.
pub const NAMES: &[(&str, &str)] = &[
    (
        "h2_sse_streams_with_events",
        "SSE streams over HTTP/2 that received an event",
    ),
    (
        "h1_sse_streams_with_events",
        "SSE streams over HTTP/1.1 that received an event",
    ),
    ("h2_polls", "short polls answered over HTTP/2"),
    ("h1_polls", "short polls answered over HTTP/1.1"),
    (
        "h2_bytes_per_poll",
        "bytes on the wire per short poll over HTTP/2",
    ),
    (
        "h1_bytes_per_poll",
        "bytes on the wire per short poll over HTTP/1.1",
    ),
    (
        "h2_header_bytes_per_poll",
        "header bytes per short poll over HTTP/2 (after HPACK)",
    ),
    (
        "h1_header_bytes_per_poll",
        "header bytes per short poll over HTTP/1.1",
    ),
    ("h2_ws_connections", "WebSockets opened over HTTP/2"),
];

/// One protocol's polls: how many, and their bytes.
#[derive(Default)]
struct Polls {
    count: u64,
    bytes: u64,
    header_bytes: u64,
}

impl Polls {
    fn add(&mut self, e: &Entry) {
        self.count += 1;
        self.bytes += e.bytes_up + e.bytes_down;
        self.header_bytes += e.header_bytes.unwrap_or(0);
    }

    fn write(&self, c: &mut Counters, names: [&'static str; 3]) {
        c.add(names[0], self.count);
        if self.count > 0 {
            c.add(names[1], self.bytes.div_ceil(self.count));
            c.add(names[2], self.header_bytes.div_ceil(self.count));
        }
    }
}

/// Adds this module's counts for `entries` to `c`.
pub fn count<'a>(c: &mut Counters, entries: impl IntoIterator<Item = &'a Entry>) {
    let mut streams_with_events: HashSet<(Protocol, u64)> = HashSet::new();
    let (mut h1, mut h2) = (Polls::default(), Polls::default());
    for e in entries {
        let ok = e.status.is_none_or(|s| (200..300).contains(&s));
        match (e.transport, e.kind, e.protocol) {
            (Transport::Sse, EntryKind::Event, p) => {
                streams_with_events.insert((p, e.connection));
            }
            (Transport::Poll, EntryKind::Exchange, Protocol::Http1) if ok => h1.add(e),
            (Transport::Poll, EntryKind::Exchange, Protocol::Http2) if ok => h2.add(e),
            (Transport::Websocket, EntryKind::Opened, Protocol::Http2) => {
                c.add("h2_ws_connections", 1)
            }
            _ => {}
        }
    }
    for (protocol, _) in streams_with_events {
        c.add(
            match protocol {
                Protocol::Http1 => "h1_sse_streams_with_events",
                Protocol::Http2 => "h2_sse_streams_with_events",
            },
            1,
        );
    }
    h1.write(
        c,
        ["h1_polls", "h1_bytes_per_poll", "h1_header_bytes_per_poll"],
    );
    h2.write(
        c,
        ["h2_polls", "h2_bytes_per_poll", "h2_header_bytes_per_poll"],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Direction;

    fn entry(t: Transport, kind: EntryKind, p: Protocol, connection: u64) -> Entry {
        let mut e = Entry::new(t, kind, Direction::Both, connection);
        e.protocol = p;
        e
    }

    #[test]
    fn streams_count_once_each_by_protocol() {
        let mut entries = Vec::new();
        for conn in 1..=3 {
            for _ in 0..2 {
                entries.push(entry(
                    Transport::Sse,
                    EntryKind::Event,
                    Protocol::Http2,
                    conn,
                ));
            }
        }
        entries.push(entry(Transport::Sse, EntryKind::Event, Protocol::Http1, 9));
        entries.push(entry(
            Transport::Sse,
            EntryKind::Opened,
            Protocol::Http1,
            10,
        ));
        let mut c = Counters::default();
        count(&mut c, &entries);
        assert_eq!(c.get("h2_sse_streams_with_events"), 3);
        assert_eq!(
            c.get("h1_sse_streams_with_events"),
            1,
            "opened without events: not counted"
        );
    }

    #[test]
    fn polls_average_their_bytes_per_protocol() {
        let mut entries = Vec::new();
        for (p, bytes, headers) in [
            (Protocol::Http1, 400, 380),
            (Protocol::Http1, 402, 380),
            (Protocol::Http2, 200, 150),
            (Protocol::Http2, 60, 20),
        ] {
            let mut e = entry(Transport::Poll, EntryKind::Exchange, p, 1);
            e.status = Some(204);
            e.bytes_up = bytes / 2;
            e.bytes_down = bytes - bytes / 2;
            e.header_bytes = Some(headers);
            entries.push(e);
        }
        let mut c = Counters::default();
        count(&mut c, &entries);
        assert_eq!((c.get("h1_polls"), c.get("h2_polls")), (2, 2));
        assert_eq!(c.get("h1_bytes_per_poll"), 401);
        assert_eq!(c.get("h2_bytes_per_poll"), 130);
        assert_eq!(c.get("h2_header_bytes_per_poll"), 85);
    }
}
