//! Entries told as sentences, in the seed's arrow style:
//! `Client → "Any update since #41?"  Server → "No." (204, 0 B body, 297 B on the wire, 3 ms)`.
//! Every sentence is built from the entry's own numbers; nothing is canned.

use super::{Direction, Entry, EntryKind, Protocol, Transport};

/// Sizes the way people say them: `297 B`, `4.1 KB`, `2.3 MB` (powers of 1000).
pub fn bytes(n: u64) -> String {
    match n {
        0..=999 => format!("{n} B"),
        1_000..=999_999 => format!("{:.1} KB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

/// Durations: `3 ms`, `0.4 ms`, `1.4 s`.
pub fn millis(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn ids(ids: &[u64]) -> String {
    match ids {
        [] => String::new(),
        [one] => format!("#{one}"),
        [first, .., last] => format!("#{first}–#{last}"),
    }
}

fn query_param<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let query = path.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn max_delay(e: &Entry) -> Option<f64> {
    e.delays_ms
        .as_ref()
        .and_then(|d| d.iter().copied().reduce(f64::max))
}

/// The sentence for one entry.
pub fn narrate(e: &Entry) -> String {
    match (e.kind, e.transport) {
        (EntryKind::Exchange, Transport::Poll) => poll(e),
        (EntryKind::Exchange, Transport::LongPoll) => long_poll(e),
        (EntryKind::Exchange, _) => exchange(e),
        (EntryKind::Opened, Transport::Websocket) if e.protocol == Protocol::Http2 => format!(
            "Client → \"Open a WebSocket on a new stream of this HTTP/2 connection, please\" \
             (CONNECT, RFC 8441, {})  Server → \"{} {}\" (handshake: {} up, {} down)",
            over_http2(e),
            e.status.unwrap_or(200),
            reason(e.status.unwrap_or(200)),
            bytes(e.bytes_up),
            bytes(e.bytes_down)
        ),
        (EntryKind::Opened, Transport::Websocket) => format!(
            "Client → \"Upgrade this connection to a WebSocket, please.\"  Server → \"{} {}\" \
             (handshake: {} up, {} down)",
            e.status.unwrap_or(101),
            reason(e.status.unwrap_or(101)),
            bytes(e.bytes_up),
            bytes(e.bytes_down)
        ),
        (EntryKind::Opened, _) => format!(
            "Client → opens a stream ({} {})  Server → \"{} — here is the stream, I'll keep it \
             open.\" ({} up, {} down for the headers{})",
            e.method.as_deref().unwrap_or("GET"),
            e.path.as_deref().unwrap_or("/api/sse"),
            e.status.unwrap_or(200),
            bytes(e.bytes_up),
            bytes(e.bytes_down),
            if e.protocol == Protocol::Http2 {
                format!(", {}", over_http2(e))
            } else {
                String::new()
            }
        ),
        (EntryKind::Event, t) => {
            let over = if t == Transport::Websocket {
                "WebSocket"
            } else {
                "open SSE stream"
            };
            let delay = match (e.catch_up, max_delay(e)) {
                (Some(_), _) => ", catch-up: published before you were listening".into(),
                (None, Some(d)) => format!(", {} after publish", millis(d)),
                (None, None) => String::new(),
            };
            format!(
                "Server → pushed event {} over the {over} ({}{delay})",
                ids(e.event_ids.as_deref().unwrap_or_default()),
                bytes(e.bytes_down)
            )
        }
        (EntryKind::Frame, Transport::Websocket) => ws_frame(e),
        (EntryKind::Frame, _) => sse_field(e),
        (EntryKind::Closed, t) => closed(e, t),
    }
}

fn reason(status: u16) -> &'static str {
    poem::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// "as stream 5 of HTTP/2 connection 2": which requests shared a connection.
fn over_http2(e: &Entry) -> String {
    match e.http2 {
        Some(h) => format!(
            "as stream {} of HTTP/2 connection {}",
            h.stream, h.connection
        ),
        None => "over HTTP/2".into(),
    }
}

fn wire_tail(e: &Entry) -> String {
    if e.protocol == Protocol::Http2 {
        return format!(
            "{}, {} body, {} on the wire {}, of which {} headers after HPACK, \
             {} frames, {}",
            e.status.unwrap_or(0),
            bytes(e.body_bytes.unwrap_or(0)),
            bytes(e.bytes_up + e.bytes_down),
            over_http2(e),
            bytes(e.header_bytes.unwrap_or(0)),
            e.frames.unwrap_or(0),
            millis(e.duration_ms.unwrap_or(0.0))
        );
    }
    format!(
        "{}, {} body, {} on the wire, {}",
        e.status.unwrap_or(0),
        bytes(e.body_bytes.unwrap_or(0)),
        bytes(e.bytes_up + e.bytes_down),
        millis(e.duration_ms.unwrap_or(0.0))
    )
}

fn answer(e: &Entry) -> String {
    let events = e.event_ids.as_deref().unwrap_or_default();
    match e.status.unwrap_or(0) {
        204 => "\"No.\"".into(),
        200 if !events.is_empty() => {
            let late = match (e.catch_up.unwrap_or(0), max_delay(e)) {
                (0, None) => String::new(),
                (0, Some(d)) => format!(", the oldest waited {} for this answer", millis(d)),
                (n, None) => format!(", caught up on {}", older(n)),
                (n, Some(d)) => format!(
                    ", caught up on {}; the oldest new one waited {} for this answer",
                    older(n),
                    millis(d)
                ),
            };
            format!(
                "\"Yes: {} ({}).\"{late}",
                plural(events.len(), "event", "events"),
                ids(events)
            )
        }
        200 => "\"Yes.\"".into(),
        s => format!("\"{s} {}.\"", reason(s)),
    }
}

fn older(n: u64) -> String {
    plural(n as usize, "older event", "older events")
}

fn poll(e: &Entry) -> String {
    let path = e.path.as_deref().unwrap_or_default();
    let (question, reply) = match (query_param(path, "since"), query_param(path, "from")) {
        (Some(since), _) => (format!("Any update since #{since}?"), answer(e)),
        (None, Some("newest")) if e.status == Some(204) => (
            "Where are things now? No backlog, please.".into(),
            "\"Here: the newest id is in X-Last-Event-Id.\"".into(),
        ),
        (None, _) => ("Any updates?".into(), answer(e)),
    };
    format!(
        "Client → \"{question}\"  Server → {reply} ({})",
        wire_tail(e)
    )
}

fn long_poll(e: &Entry) -> String {
    let path = e.path.as_deref().unwrap_or_default();
    let question = match query_param(path, "since") {
        Some(since) => format!("Tell me when there is news after #{since}."),
        None => "Tell me when there is news.".into(),
    };
    let held = millis(e.duration_ms.unwrap_or(0.0));
    let reply = match e.status.unwrap_or(0) {
        204 => "\"Nothing happened.\"".into(),
        _ => answer(e),
    };
    format!(
        "Client → \"{question}\"  Server (after holding it {held}) → {reply} ({})",
        wire_tail(e)
    )
}

fn exchange(e: &Entry) -> String {
    let status = e.status.unwrap_or(0);
    format!(
        "Client → {} {}  Server → {} {} ({})",
        e.method.as_deref().unwrap_or("GET"),
        e.path.as_deref().unwrap_or("/"),
        status,
        reason(status),
        wire_tail(e)
    )
}

fn ws_frame(e: &Entry) -> String {
    let kind = e.frame.as_deref().unwrap_or("text");
    let what = match (kind, e.preview.as_deref()) {
        ("text", Some(p)) => format!("text message {p}"),
        ("ping", _) if e.direction == Direction::Up => "ping frame (answered automatically)".into(),
        (k, _) => format!("{k} frame"),
    };
    match e.direction {
        Direction::Up => format!("Client → {what} ({} on the wire)", bytes(e.bytes_up)),
        _ => format!("Server → {what} ({} on the wire)", bytes(e.bytes_down)),
    }
}

fn sse_field(e: &Entry) -> String {
    let size = bytes(e.bytes_down);
    match e.frame.as_deref() {
        Some("heartbeat") => format!(
            "Server → heartbeat comment on the SSE stream ({size}), so proxies and the server \
             see the connection is alive"
        ),
        Some("retry") => format!(
            "Server → \"If we get cut off, wait {} before reconnecting.\" (retry field, {size})",
            e.preview.as_deref().unwrap_or("the default")
        ),
        Some("id") => format!(
            "Server → \"If we get cut off before the next event, resume after id {}.\" \
             (id field without data: no event fires, {size})",
            e.preview.as_deref().unwrap_or("?")
        ),
        Some("reset") => format!(
            "Server → \"Some events you asked for are gone; here is what is left.\" (reset event, {size})"
        ),
        other => format!(
            "Server → {} on the SSE stream ({size})",
            other.unwrap_or("data")
        ),
    }
}

fn closed(e: &Entry, t: Transport) -> String {
    let lifetime = millis(e.duration_ms.unwrap_or(0.0));
    let why = e
        .close_reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    match t {
        Transport::Websocket => format!(
            "WebSocket closed with code {}{why} after {lifetime}: {} up, {} down in total",
            e.close_code.unwrap_or(1005),
            bytes(e.bytes_up),
            bytes(e.bytes_down)
        ),
        _ if e.protocol == Protocol::Http2 => format!(
            "The SSE stream closed after {lifetime}{why}: {} down in {} HTTP/2 frames, {} \
             (a connection other requests share)",
            bytes(e.bytes_down),
            e.frames.unwrap_or(0),
            over_http2(e)
        ),
        _ => format!(
            "The SSE stream closed after {lifetime}{why}: {} in total",
            bytes(e.bytes_down)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(t: Transport, kind: EntryKind, dir: Direction) -> Entry {
        Entry::new(t, kind, dir, 1)
    }

    #[test]
    fn empty_poll() {
        let mut e = base(Transport::Poll, EntryKind::Exchange, Direction::Both);
        e.path = Some("/api/poll?since=41".into());
        e.status = Some(204);
        e.body_bytes = Some(0);
        e.bytes_up = 200;
        e.bytes_down = 97;
        e.duration_ms = Some(3.0);
        assert_eq!(
            narrate(&e),
            "Client → \"Any update since #41?\"  Server → \"No.\" (204, 0 B body, 297 B on the wire, 3 ms)"
        );
    }

    #[test]
    fn an_http2_poll_says_what_hpack_left_of_the_headers() {
        let mut e = base(Transport::Poll, EntryKind::Exchange, Direction::Both);
        e.protocol = Protocol::Http2;
        e.path = Some("/api/poll?since=41".into());
        e.status = Some(204);
        e.body_bytes = Some(0);
        e.bytes_up = 20;
        e.bytes_down = 25;
        e.header_bytes = Some(45);
        e.frames = Some(2);
        e.http2 = Some(crate::traffic::Http2Stream {
            connection: 2,
            stream: 7,
        });
        e.duration_ms = Some(3.0);
        assert_eq!(
            narrate(&e),
            "Client → \"Any update since #41?\"  Server → \"No.\" (204, 0 B body, 45 B on the wire \
             as stream 7 of HTTP/2 connection 2, of which 45 B headers after HPACK, 2 frames, 3 ms)"
        );
    }

    #[test]
    fn poll_with_news() {
        let mut e = base(Transport::Poll, EntryKind::Exchange, Direction::Both);
        e.path = Some("/api/poll".into());
        e.status = Some(200);
        e.body_bytes = Some(812);
        e.bytes_up = 150;
        e.bytes_down = 1000;
        e.duration_ms = Some(0.4);
        e.event_ids = Some(vec![42, 43]);
        e.delays_ms = Some(vec![1300.0, 200.0]);
        assert_eq!(
            narrate(&e),
            "Client → \"Any updates?\"  Server → \"Yes: 2 events (#42–#43).\", the oldest waited \
             1.3 s for this answer (200, 812 B body, 1.1 KB on the wire, 0.4 ms)"
        );
    }

    #[test]
    fn catch_up_is_told_as_catch_up_not_as_a_delay() {
        let mut e = base(Transport::Poll, EntryKind::Exchange, Direction::Both);
        e.path = Some("/api/poll?limit=100".into());
        e.status = Some(200);
        e.event_ids = Some((1..=100).collect());
        e.catch_up = Some(100);
        let said = narrate(&e);
        assert!(
            said.contains("\"Yes: 100 events (#1–#100).\", caught up on 100 older events ("),
            "{said}"
        );
        assert!(!said.contains("waited"), "{said}");

        let mut start = base(Transport::Poll, EntryKind::Exchange, Direction::Both);
        start.path = Some("/api/poll?from=newest".into());
        start.status = Some(204);
        assert!(narrate(&start).starts_with(
            "Client → \"Where are things now? No backlog, please.\"  Server → \"Here: the newest \
             id is in X-Last-Event-Id.\" (204,"
        ));

        e.event_ids = Some((1..=101).collect());
        e.delays_ms = Some(vec![300.0]);
        assert!(narrate(&e).contains(
            "caught up on 100 older events; the oldest new one waited 300 ms for this answer"
        ));

        let mut ev = base(Transport::Sse, EntryKind::Event, Direction::Down);
        ev.event_ids = Some(vec![7]);
        ev.bytes_down = 118;
        ev.catch_up = Some(1);
        assert_eq!(
            narrate(&ev),
            "Server → pushed event #7 over the open SSE stream (118 B, catch-up: published \
             before you were listening)"
        );
    }

    #[test]
    fn long_poll_timeout_and_news() {
        let mut e = base(Transport::LongPoll, EntryKind::Exchange, Direction::Both);
        e.path = Some("/api/long-poll?since=7&timeout=25".into());
        e.status = Some(204);
        e.duration_ms = Some(25_000.0);
        assert!(narrate(&e).starts_with(
            "Client → \"Tell me when there is news after #7.\"  Server (after holding it 25.0 s) → \"Nothing happened.\""
        ));
        e.status = Some(200);
        e.event_ids = Some(vec![8]);
        assert!(narrate(&e).contains("\"Yes: 1 event (#8).\""));
    }

    #[test]
    fn stream_entries() {
        let mut e = base(Transport::Sse, EntryKind::Event, Direction::Down);
        e.event_ids = Some(vec![42]);
        e.bytes_down = 118;
        e.delays_ms = Some(vec![4.0]);
        assert_eq!(
            narrate(&e),
            "Server → pushed event #42 over the open SSE stream (118 B, 4 ms after publish)"
        );
        e.transport = Transport::Websocket;
        assert!(narrate(&e).contains("over the WebSocket"));

        let mut o = base(Transport::Sse, EntryKind::Opened, Direction::Both);
        o.status = Some(200);
        o.path = Some("/api/sse".into());
        assert!(narrate(&o).contains("here is the stream"));
        o.transport = Transport::Websocket;
        o.status = Some(101);
        assert!(narrate(&o).contains("101 Switching Protocols"));

        let mut hb = base(Transport::Sse, EntryKind::Frame, Direction::Down);
        hb.frame = Some("heartbeat".into());
        hb.bytes_down = 13;
        assert!(narrate(&hb).starts_with("Server → heartbeat comment on the SSE stream (13 B)"));
        hb.frame = Some("retry".into());
        hb.preview = Some("2000 ms".into());
        assert!(narrate(&hb).contains("wait 2000 ms before reconnecting"));
        hb.frame = Some("reset".into());
        assert!(narrate(&hb).contains("reset event"));

        let mut c = base(Transport::Sse, EntryKind::Closed, Direction::Both);
        c.duration_ms = Some(12_300.0);
        c.bytes_down = 1200;
        c.close_reason = Some("limit of 5 events reached".into());
        assert_eq!(
            narrate(&c),
            "The SSE stream closed after 12.3 s (limit of 5 events reached): 1.2 KB in total"
        );
        c.transport = Transport::Websocket;
        c.close_code = Some(1000);
        c.close_reason = Some("normal closure".into());
        assert!(
            narrate(&c)
                .starts_with("WebSocket closed with code 1000 (normal closure) after 12.3 s")
        );
    }

    #[test]
    fn websocket_frames_and_other_exchanges() {
        let mut f = base(Transport::Websocket, EntryKind::Frame, Direction::Up);
        f.frame = Some("text".into());
        f.preview = Some("{\"type\":\"ping\"}".into());
        f.bytes_up = 21;
        assert_eq!(
            narrate(&f),
            "Client → text message {\"type\":\"ping\"} (21 B on the wire)"
        );
        f.direction = Direction::Down;
        f.frame = Some("ping".into());
        f.preview = None;
        f.bytes_down = 12;
        assert_eq!(narrate(&f), "Server → ping frame (12 B on the wire)");

        let mut x = base(Transport::Api, EntryKind::Exchange, Direction::Both);
        x.method = Some("POST".into());
        x.path = Some("/api/events".into());
        x.status = Some(202);
        x.body_bytes = Some(39);
        x.bytes_up = 211;
        x.bytes_down = 150;
        x.duration_ms = Some(1.0);
        assert_eq!(
            narrate(&x),
            "Client → POST /api/events  Server → 202 Accepted (202, 39 B body, 361 B on the wire, 1 ms)"
        );
    }

    #[test]
    fn units() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(4100), "4.1 KB");
        assert_eq!(bytes(2_300_000), "2.3 MB");
        assert_eq!(millis(0.3), "0.3 ms");
        assert_eq!(millis(1400.0), "1.4 s");
    }
}
