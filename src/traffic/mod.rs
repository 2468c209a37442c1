//! The traffic log: every request, connection, frame and event a learner
//! causes, measured on the wire and told as a sentence.
//!
//! - [`learner`] decides whose traffic a request is (`X-Learner` or a cookie).
//! - [`capture`] is the middleware that measures HTTP exchanges; [`tap`] is
//!   the [`Tap`] that streaming transports report events and frames to. The
//!   transports only see the `Tap`; they never touch the store.
//! - [`close_reason`] says, as a type, why the server ended a stream or a socket.
//! - [`catch_up`] tells catch-up (old events a client asked for) from delay.
//! - [`wire`] computes sizes as HTTP/1.1 and RFC 6455 put them on the wire;
//!   [`h2_meter`] measures what HTTP/2 really put there, stream by stream.
//! - [`store`] keeps entries in a bounded ring, bounded per learner too.
//! - [`narrate`] turns an entry into a sentence in the seed's arrow style.
//! - [`stats`] aggregates a learner's entries per transport.
//! - [`har`] exports a learner's traffic as HAR 1.2.
//! - [`api`] is the `/api/traffic…` surface.

pub mod capture;
pub mod catch_up;
pub mod close_reason;
pub mod h2_meter;
pub mod har;
pub mod learner;
pub mod narrate;
pub mod stats;
pub mod store;
pub mod tap;
pub mod wire;

use std::sync::Arc;

use poem_openapi::{Enum, Object};
use serde::Serialize;

pub use capture::Capture;
pub use close_reason::CloseReason;
pub use learner::{Learner, LearnerIdentity};
pub use store::{LogLimits, TrafficLog};
pub use tap::Tap;

/// The HTTP version a request came on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Enum)]
pub enum Protocol {
    /// HTTP/1.1: one request at a time per connection, headers as text.
    #[default]
    #[serde(rename = "http/1.1")]
    #[oai(rename = "http/1.1")]
    Http1,
    /// HTTP/2 (over TLS): many streams on one connection, headers compressed (HPACK).
    #[serde(rename = "h2")]
    #[oai(rename = "h2")]
    Http2,
}

impl Protocol {
    /// How it is written in a sentence.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Http1 => "HTTP/1.1",
            Protocol::Http2 => "HTTP/2",
        }
    }
}

/// Which way of getting updates an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Transport {
    /// `GET /api/poll`.
    Poll,
    /// `GET /api/long-poll`.
    LongPoll,
    /// `GET /api/sse`.
    Sse,
    /// `GET /api/ws`.
    Websocket,
    /// Everything else under `/api` (publishing, feeds, status).
    Api,
}

impl Transport {
    pub const ALL: [Transport; 5] = [
        Transport::Poll,
        Transport::LongPoll,
        Transport::Sse,
        Transport::Websocket,
        Transport::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Poll => "poll",
            Transport::LongPoll => "long_poll",
            Transport::Sse => "sse",
            Transport::Websocket => "websocket",
            Transport::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The transport a request path belongs to, or `None` for paths the log
    /// ignores (pages, Swagger UI, the OpenAPI document, the log itself,
    /// lesson progress, challenge verdicts, load-lab, cluster-lab and storm
    /// status). Starting a storm (`/api/lab/storm` itself) is logged: a lesson
    /// counts the learner's storms.
    pub fn of_path(path: &str) -> Option<Transport> {
        match path {
            "/api/poll" => Some(Transport::Poll),
            "/api/long-poll" => Some(Transport::LongPoll),
            "/api/sse" => Some(Transport::Sse),
            "/api/ws" | "/api/ws/echo" => Some(Transport::Websocket),
            // The learning UI's own bookkeeping is not the learner's traffic.
            p if p.starts_with("/api/traffic")
                || p.starts_with("/api/lessons")
                || p.starts_with("/api/lab/challenges")
                || p.starts_with("/api/lab/load")
                || p.starts_with("/api/lab/cluster")
                || p.starts_with("/api/lab/storm/") =>
            {
                None
            }
            p if p.starts_with("/api/") => Some(Transport::Api),
            _ => None,
        }
    }
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum EntryKind {
    /// One HTTP request and its complete answer.
    Exchange,
    /// A long-lived connection was opened (SSE stream, WebSocket handshake).
    Opened,
    /// An event delivered over an open connection.
    Event,
    /// Anything else on an open connection: a WebSocket frame, an SSE comment or field.
    Frame,
    /// A long-lived connection ended.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Direction {
    /// Client → server.
    Up,
    /// Server → client.
    Down,
    /// A request and its answer.
    Both,
}

/// Who caused an entry. Play mode's clients add `actor=play` to their URLs,
/// so a lesson can tell what the learner did from what the page showed them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Actor {
    /// The learner: their clicks, Swagger UI, curl, their own code.
    #[default]
    Learner,
    /// Play mode ("show me") acting on the learner's behalf.
    Play,
}

impl Actor {
    /// The actor a request names in its query string (`actor=play`).
    pub fn of_query(query: Option<&str>) -> Actor {
        let named_play = query.is_some_and(|q| q.split('&').any(|pair| pair == "actor=play"));
        if named_play {
            Actor::Play
        } else {
            Actor::Learner
        }
    }
}

/// The header the web UI puts on the reads it makes for itself (the feeds'
/// state, the fault switches): they are the page's bookkeeping, not the
/// learner's traffic, and stay out of the log. Only `GET`s: a page cannot
/// hide a publish or a connection this way.
pub const PAGE_HEADER: &str = "x-playground-page";

/// Whether a request is the web UI's own read (see [`PAGE_HEADER`]).
pub fn is_page_bookkeeping(req: &poem::Request) -> bool {
    req.method() == poem::http::Method::GET && req.headers().contains_key(PAGE_HEADER)
}

/// Where an HTTP/2 exchange or stream ran: many share one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Object)]
pub struct Http2Stream {
    /// The connection, numbered by the server in the order they came.
    pub connection: u64,
    /// The stream's id on it (1, 3, 5, … for the client's requests).
    pub stream: u32,
}

/// One line of the traffic log.
#[derive(Debug, Clone, Serialize, Object)]
#[oai(example)]
pub struct Entry {
    /// Position in the log; only grows. Use it as `since`.
    pub seq: u64,
    /// When it happened (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The same instant in milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub transport: Transport,
    pub kind: EntryKind,
    pub direction: Direction,
    /// Connection number, shared by all entries of one SSE stream or WebSocket.
    pub connection: u64,
    /// Who caused it: the learner, or play mode showing them.
    pub actor: Actor,
    /// The plain-language account of this entry.
    pub narration: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path and query.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The HTTP version the request came on.
    pub protocol: Protocol,
    /// Bytes client → server on the wire (request line, headers and body; or a frame).
    pub bytes_up: u64,
    /// Bytes server → client on the wire (status line, headers and body; or a frame).
    pub bytes_down: u64,
    /// Of the bytes both ways, those that carried headers: HTTP/1.1's text heads,
    /// or HTTP/2's HEADERS frames after HPACK compression (exchanges and streams).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_bytes: Option<u64>,
    /// HTTP/2 frames the exchange or stream took, both ways (HTTP/2 only).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// Which HTTP/2 connection carried it, and as which stream (HTTP/2 only).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http2: Option<Http2Stream>,
    /// Response body bytes (exchanges), or the payload bytes of a frame or event.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
    /// Request → complete answer (exchanges) or lifetime (closed connections), in milliseconds.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// For polls and long-polls: `true` when the answer carried no news.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty: Option<bool>,
    /// Ids of the events this entry delivered.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_ids: Option<Vec<u64>>,
    /// Publish → written, in milliseconds, for each delivered event that was
    /// not catch-up (at most 100 kept).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delays_ms: Option<Vec<f64>>,
    /// How many of the delivered events were catch-up: published before the
    /// client was listening (a replay after `Last-Event-ID` or `since`, the
    /// backlog of a poll without `since`, events older than the learner's
    /// previous poll). Their age is how far back the client asked, not the
    /// transport's delay, so they have no place in `delays_ms`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<u64>,
    /// Frame or field kind: `text`, `binary`, `ping`, `pong`, `close`, `heartbeat`, `retry`, `id` (a resume point), `reset`, `event`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<String>,
    /// Start of a WebSocket text message (at most 200 characters).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// WebSocket close code.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_code: Option<u16>,
    /// Why a connection ended.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<String>,
    /// The same, as a type (for checks; the log shows the sentence above).
    #[oai(skip)]
    #[serde(skip)]
    pub ended_by: Option<CloseReason>,
    /// Headers, for the HAR export only.
    #[oai(skip)]
    #[serde(skip)]
    pub headers: Option<Arc<har::Headers>>,
}

impl poem_openapi::types::Example for Entry {
    fn example() -> Self {
        let mut e = Entry::new(Transport::Poll, EntryKind::Exchange, Direction::Both, 7);
        e.seq = 12;
        e.at = "2026-11-26T09:30:00.000Z".into();
        e.at_ms = 1_795_685_400_000;
        e.method = Some("GET".into());
        e.path = Some("/api/poll?since=41".into());
        e.status = Some(204);
        e.bytes_up = 118;
        e.bytes_down = 91;
        e.body_bytes = Some(0);
        e.duration_ms = Some(0.4);
        e.empty = Some(true);
        e.narration = narrate::narrate(&e);
        e
    }
}

impl Entry {
    /// A blank entry; the store fills in `seq` and the time.
    pub fn new(
        transport: Transport,
        kind: EntryKind,
        direction: Direction,
        connection: u64,
    ) -> Self {
        Entry {
            seq: 0,
            at: String::new(),
            at_ms: 0,
            transport,
            kind,
            direction,
            connection,
            actor: Actor::Learner,
            narration: String::new(),
            method: None,
            path: None,
            status: None,
            protocol: Protocol::Http1,
            bytes_up: 0,
            bytes_down: 0,
            header_bytes: None,
            frames: None,
            http2: None,
            body_bytes: None,
            duration_ms: None,
            empty: None,
            event_ids: None,
            delays_ms: None,
            catch_up: None,
            frame: None,
            preview: None,
            close_code: None,
            close_reason: None,
            ended_by: None,
            headers: None,
        }
    }

    /// What HTTP/2's frames took replaces what HTTP/1.1 would have taken.
    pub fn measured_over_http2(&mut self, t: h2_meter::StreamTotals) {
        self.http2 = Some(Http2Stream {
            connection: t.connection,
            stream: t.stream,
        });
        self.bytes_up = t.bytes_up;
        self.bytes_down = t.bytes_down;
        self.header_bytes = Some(t.header_bytes_up + t.header_bytes_down);
        self.frames = Some(t.frames_up + t.frames_down);
    }

    /// A copy with the readable time and the narration filled in.
    pub fn completed(&self) -> Entry {
        let mut e = self.clone();
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(e.at_ms);
        e.at = humantime::format_rfc3339_millis(at).to_string();
        if e.narration.is_empty() {
            e.narration = narrate::narrate(&e);
        }
        e
    }

    /// Number of events this entry delivered.
    pub fn events_delivered(&self) -> usize {
        self.event_ids.as_ref().map_or(0, Vec::len)
    }
}
