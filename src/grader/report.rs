//! The report card: one line per rule, each with a stable id, a verdict,
//! what the grader sent, what came back, and why the rule matters.
//!
//! Ids are an enum so a lesson, a test or a script can name a line without
//! matching on its wording; the wording (title, why) lives beside the id.

use poem_openapi::{Enum, Object};

/// Longest excerpt of what was sent or what came back, in characters.
pub const EXCERPT_CHARS: usize = 300;

/// What the grader checks. The first group grades an SSE server, the second
/// a WebSocket server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LineId {
    #[oai(rename = "status_200")]
    Status200,
    ContentType,
    CacheControlNoCache,
    RetryField,
    FirstEventUnbuffered,
    EventIds,
    LastEventIdResume,
    UnknownLastEventId,
    MalformedLastEventId,
    HeartbeatWhenIdle,
    CompressionOffOrFlushed,
    Cors,
    #[oai(rename = "status_101")]
    Status101,
    AcceptKey,
    EchoAnswer,
    PingPong,
    CleanClose,
    OversizedMessage,
}

impl LineId {
    /// The SSE report's lines, in the order the card shows them.
    pub const SSE: [LineId; 12] = [
        LineId::Status200,
        LineId::ContentType,
        LineId::CacheControlNoCache,
        LineId::RetryField,
        LineId::FirstEventUnbuffered,
        LineId::EventIds,
        LineId::LastEventIdResume,
        LineId::UnknownLastEventId,
        LineId::MalformedLastEventId,
        LineId::HeartbeatWhenIdle,
        LineId::CompressionOffOrFlushed,
        LineId::Cors,
    ];

    /// The WebSocket report's lines, in order.
    pub const WEBSOCKET: [LineId; 6] = [
        LineId::Status101,
        LineId::AcceptKey,
        LineId::EchoAnswer,
        LineId::PingPong,
        LineId::CleanClose,
        LineId::OversizedMessage,
    ];

    /// A short name for the line.
    pub fn title(self) -> &'static str {
        match self {
            LineId::Status200 => "Answers 200",
            LineId::ContentType => "Content-Type: text/event-stream",
            LineId::CacheControlNoCache => "Cache-Control: no-cache",
            LineId::RetryField => "A retry: field",
            LineId::FirstEventUnbuffered => "The first event arrives at once",
            LineId::EventIds => "Every event has its own id:",
            LineId::LastEventIdResume => "Resume with Last-Event-ID",
            LineId::UnknownLastEventId => "An id from after a restart",
            LineId::MalformedLastEventId => "A garbled Last-Event-ID",
            LineId::HeartbeatWhenIdle => "Heartbeats on an idle stream",
            LineId::CompressionOffOrFlushed => "Compression off or flushed",
            LineId::Cors => "Readable from another origin (CORS)",
            LineId::Status101 => "Answers 101 Switching Protocols",
            LineId::AcceptKey => "A correct Sec-WebSocket-Accept",
            LineId::EchoAnswer => "Answers a message",
            LineId::PingPong => "Ping → pong",
            LineId::CleanClose => "A clean close",
            LineId::OversizedMessage => "Refuses an oversized message",
        }
    }

    /// Why the rule matters, in one sentence.
    pub fn why(self) -> &'static str {
        match self {
            LineId::Status200 => {
                "EventSource only streams a 200; any other status ends it, and most end it for good."
            }
            LineId::ContentType => {
                "Without text/event-stream the browser refuses the stream and fires error instead of open."
            }
            LineId::CacheControlNoCache => {
                "A cache or proxy that stores the answer would hand later visitors an old, finished stream."
            }
            LineId::RetryField => {
                "retry: tells every client how long to wait before reconnecting, so a restart does not bring them all back at once."
            }
            LineId::FirstEventUnbuffered => {
                "A server or framework that buffers output holds an event until more bytes come: real time becomes \"whenever the buffer fills\"."
            }
            LineId::EventIds => {
                "The id is what the browser sends back as Last-Event-ID after a drop; without one per event, a resume cannot say where it stopped."
            }
            LineId::LastEventIdResume => {
                "Connections drop all the time; a resume that replays exactly what was missed is what makes SSE reliable."
            }
            LineId::UnknownLastEventId => {
                "After your server restarts, browsers come back with ids it never handed out; a server that waits for its new ids to pass the old one goes silent."
            }
            LineId::MalformedLastEventId => {
                "An error status ends an EventSource for good, so a foreign or garbled id must mean \"no resume point\", not a 400 or a 500."
            }
            LineId::HeartbeatWhenIdle => {
                "Proxies close connections that stay quiet (often after 60 s), and only a write tells a server that its client is gone."
            }
            LineId::CompressionOffOrFlushed => {
                "gzip that waits to fill a block holds events back; compress an event stream only if each event is flushed."
            }
            LineId::Cors => {
                "A page from another origin can read the stream only if the answer carries Access-Control-Allow-Origin; a page your server serves itself needs nothing."
            }
            LineId::Status101 => {
                "A WebSocket starts as an HTTP request; only 101 Switching Protocols turns the connection into a socket."
            }
            LineId::AcceptKey => {
                "The client checks Sec-WebSocket-Accept against the key it sent, and drops a server that answers with anything else."
            }
            LineId::EchoAnswer => {
                "A socket that accepts messages and never answers looks alive while doing nothing."
            }
            LineId::PingPong => {
                "Ping and pong are how either side notices a connection that died without a close (half-open)."
            }
            LineId::CleanClose => {
                "A close frame with a code tells the other side why the connection ended; without one it sees 1006, \"abnormal\"."
            }
            LineId::OversizedMessage => {
                "A server that takes messages of any size can be made to run out of memory by one client; 1009 says \"too big\"."
            }
        }
    }
}

/// How a line came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Verdict {
    /// The server follows the rule.
    Pass,
    /// The server breaks the rule.
    Fail,
    /// Not graded: something it depends on failed first.
    Skipped,
    /// Worth knowing, right or wrong depending on your setup (CORS).
    Info,
}

/// One line of the report card.
#[derive(Debug, Clone, Object)]
pub struct Line {
    pub id: LineId,
    pub title: String,
    pub verdict: Verdict,
    /// What the grader sent for this line (request line and the headers that matter), cut short.
    pub sent: String,
    /// What came back (status, headers, the first bytes), cut short.
    pub received: String,
    /// What the grader concluded, with the numbers it measured.
    pub detail: String,
    /// Why the rule matters, in one sentence.
    pub why: String,
}

impl Line {
    pub fn new(id: LineId, verdict: Verdict, detail: impl Into<String>) -> Self {
        Line {
            id,
            title: id.title().into(),
            verdict,
            sent: String::new(),
            received: String::new(),
            detail: detail.into(),
            why: id.why().into(),
        }
    }

    pub fn pass(id: LineId, detail: impl Into<String>) -> Self {
        Line::new(id, Verdict::Pass, detail)
    }

    pub fn fail(id: LineId, detail: impl Into<String>) -> Self {
        Line::new(id, Verdict::Fail, detail)
    }

    /// Passes or fails on `ok`.
    pub fn judged(id: LineId, ok: bool, detail: impl Into<String>) -> Self {
        Line::new(id, if ok { Verdict::Pass } else { Verdict::Fail }, detail)
    }

    pub fn skipped(id: LineId, detail: impl Into<String>) -> Self {
        Line::new(id, Verdict::Skipped, detail)
    }

    pub fn sent(mut self, text: impl AsRef<str>) -> Self {
        self.sent = excerpt(text.as_ref());
        self
    }

    pub fn received(mut self, text: impl AsRef<str>) -> Self {
        self.received = excerpt(text.as_ref());
        self
    }
}

/// At most [`EXCERPT_CHARS`] characters, with an ellipsis when cut.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Which kind of server was graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Kind {
    /// A Server-Sent Events endpoint (`http://…`).
    Sse,
    /// A WebSocket endpoint (`ws://…`).
    Websocket,
}

/// The whole report card.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Report {
    pub kind: Kind,
    /// The URL graded.
    pub url: String,
    /// The address the grader connected to (resolved once, then checked).
    pub address: String,
    /// `true` when no line failed or was skipped.
    pub all_pass: bool,
    /// Lines that passed.
    pub passed: u32,
    /// Lines that failed.
    pub failed: u32,
    /// Lines not graded because something they depend on failed.
    pub skipped: u32,
    /// Lines that are neither right nor wrong in general (CORS).
    pub info: u32,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
    /// Connections the run opened (requests and sockets).
    pub connections: u32,
    /// Bytes the run read from the server.
    pub bytes_read: u64,
    pub lines: Vec<Line>,
}

impl Report {
    pub fn new(kind: Kind, url: String, address: String, lines: Vec<Line>) -> Self {
        let count = |v| lines.iter().filter(|l| l.verdict == v).count() as u32;
        let (passed, failed, skipped, info) = (
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::Skipped),
            count(Verdict::Info),
        );
        Report {
            kind,
            url,
            address,
            all_pass: failed == 0 && skipped == 0,
            passed,
            failed,
            skipped,
            info,
            duration_ms: 0,
            connections: 0,
            bytes_read: 0,
            lines,
        }
    }

    /// The ids of the lines that failed, in card order.
    pub fn failing(&self) -> Vec<LineId> {
        self.lines
            .iter()
            .filter(|l| l.verdict == Verdict::Fail)
            .map(|l| l.id)
            .collect()
    }
}

impl poem_openapi::types::Example for Report {
    fn example() -> Self {
        let lines = vec![
            Line::pass(LineId::Status200, "200 OK.")
                .sent("GET /events HTTP/1.1\naccept: text/event-stream")
                .received("HTTP/1.1 200 OK\ncontent-type: text/event-stream"),
            Line::fail(
                LineId::UnknownLastEventId,
                "Nothing arrived within 3000 ms after an event was published: the stream went silent.",
            )
            .sent("GET /events\nlast-event-id: 1000000005")
            .received("retry: 2000"),
        ];
        let mut r = Report::new(
            Kind::Sse,
            "http://127.0.0.1:8000/events".into(),
            "127.0.0.1:8000".into(),
            lines,
        );
        r.duration_ms = 16_012;
        r.connections = 12;
        r.bytes_read = 4_210;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_cut_on_a_character_boundary() {
        let long = "é".repeat(EXCERPT_CHARS + 5);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("short"), "short");
    }

    #[test]
    fn a_skipped_line_is_not_all_pass() {
        let r = Report::new(
            Kind::Sse,
            String::new(),
            String::new(),
            vec![
                Line::pass(LineId::Status200, ""),
                Line::new(LineId::Cors, Verdict::Info, ""),
            ],
        );
        assert!(r.all_pass);
        let r = Report::new(
            Kind::Sse,
            String::new(),
            String::new(),
            vec![Line::skipped(LineId::EventIds, "")],
        );
        assert!(!r.all_pass && r.failing().is_empty());
    }
}
