//! Server-Sent Events: one HTTP response that stays open while the server
//! writes events into it as they happen.
//!
//! The stream starts with a `retry:` field (how long the browser waits before
//! reconnecting) and an `id:` line with no data: the newest id, which
//! `EventSource` stores without firing an event, so a client cut off before
//! its first event still resumes from where it joined. Then it sends each
//! event with `id:`, `event:` and `data:` lines, and a comment line as a heartbeat so dead clients are noticed (the
//! server only learns a client is gone when a write fails). A reconnecting
//! client sends `Last-Event-ID` and gets exactly what it missed, or a `reset`
//! event if that is no longer possible.
//!
//! - `session`: one client's stream (events, faults, the traffic log).
//! - `stop`: what ends a stream, shared with `/api/traffic/stream`.
//! - `event_stream`: the response, and how OpenAPI documents it.

mod event_stream;
mod session;
mod stop;

pub use event_stream::EventStream;
pub use stop::{StreamEnds, Wake};

use std::time::Duration;

use bytes::Bytes;
use poem::web::RemoteAddr;
use poem::web::sse::Event as SseEvent;
use poem::{IntoResponse, Response};
use poem_openapi::param::{Header, Query};
use poem_openapi::registry::{MetaResponse, MetaResponses, Registry};
use poem_openapi::{ApiResponse, OpenApi};
use tokio::time::{Instant, MissedTickBehavior};

use super::TransportTags;
use super::context::TransportContext;
use crate::connections::{Held, client_ip};
use crate::hub::{Cursor, Reset, TopicFilter};
use crate::problem::ApiError;
use crate::traffic::{Learner, Tap, Transport};
use crate::transports::sse_names::EventNames;
use session::{ProxyBuffer, Session};

/// The SSE `event:` name of the reset signal. Published events may not use it.
pub const RESET_EVENT: &str = "reset";
pub const CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";
/// The comment line that keeps a quiet stream's connection checked.
pub const HEARTBEAT: &[u8] = b": heartbeat\n\n";
/// What the buffering-proxy switch holds per stream before it flushes early
/// (nginx's default `proxy_buffers` hold 32–64 KiB): the fault can delay a
/// stream, never make the server keep an unbounded backlog for it.
pub const MAX_HELD_BYTES: usize = 64 * 1024;

pub struct SseApi {
    pub ctx: TransportContext,
}

#[OpenApi]
impl SseApi {
    /// Server-Sent Events stream
    ///
    /// One long response (`text/event-stream`). It opens with `retry: <ms>`
    /// and `id: <newest id>` (a resume point: no `data:`, so no event fires),
    /// then every event as
    ///
    /// ```text
    /// id: 42
    /// event: price
    /// data: {"id":42,"topic":"ticker","type":"price","data":{…},"published_at":"…"}
    /// ```
    ///
    /// plus a `: heartbeat` comment every 15 s. Reconnect with the
    /// `Last-Event-ID` header (browsers' `EventSource` does this by itself) or
    /// `?last_event_id=` to receive exactly what you missed; if that has left
    /// the replay buffer you get `event: reset` first, then what is left.
    ///
    /// Without `limit` or `duration` the stream never ends, so in Swagger UI
    /// set one of them, e.g. `limit=3`.
    ///
    /// `EventSource` hands a named event only to a listener for that name. A
    /// client that cannot foresee every type lists the ones it listens for in
    /// `named`; any other type then comes without an `event:` line, so
    /// `onmessage` receives it.
    ///
    /// After `POST /api/connections/drop` with `"reconnect": false`, your next
    /// reconnect (a request with `Last-Event-ID` or `?last_event_id`) gets
    /// `204 No Content`, once: `EventSource` then stops for good.
    #[oai(path = "/sse", method = "get", tag = "TransportTags::Sse")]
    #[allow(clippy::too_many_arguments)] // one per documented query parameter or header
    async fn sse(
        &self,
        /// Comma-separated topics to receive; all when empty. At most 64 topics (4160 bytes).
        #[oai(validator(max_length = 4160))]
        topics: Query<Option<String>>,
        /// End the stream after this many events (1–100000).
        #[oai(
            example = "example_limit",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        limit: Query<Option<u64>>,
        /// End the stream after this many seconds (1–86400).
        #[oai(
            example = "example_duration",
            validator(minimum(value = "1"), maximum(value = "86400"))
        )]
        duration: Query<Option<u64>>,
        /// Resume after this id; for clients that cannot set the `Last-Event-ID` header.
        last_event_id: Query<Option<u64>>,
        /// Seconds between heartbeat comments; 0 turns them off (default: the server's, 15).
        #[oai(validator(maximum(value = "3600")))]
        heartbeat: Query<Option<u64>>,
        /// Resume after this id (sent by `EventSource` when it reconnects). A
        /// value that is not an id of this server (not a whole number) is
        /// ignored: the stream starts from now, because any error status would
        /// end an `EventSource` for good.
        #[oai(name = "Last-Event-ID", validator(max_length = 256))]
        last_event_id_header: Header<Option<String>>,
        /// Comma-separated event types to send with an `event:` line; every
        /// other type is sent without one (its JSON still says its `type`).
        /// Absent: every event is named. At most 64 types (4160 bytes).
        #[oai(example = "example_named", validator(max_length = 4160))]
        named: Query<Option<String>>,
        tap: Tap,
        learner: Learner,
        remote: &RemoteAddr,
    ) -> Result<SseAnswer, ApiError> {
        // A garbled header means "no resume point", never an error (see above).
        let header_id = parse_last_event_id(last_event_id_header.as_deref()).unwrap_or(None);
        let resume = header_id.or(*last_event_id);
        if resume.is_some() && self.ctx.drops.take_refusal(&learner.id) {
            return Ok(SseAnswer::NoReconnect);
        }
        let topics = TopicFilter::parse_bounded(topics.as_deref())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let names = EventNames::parse(named.as_deref()).map_err(ApiError::bad_request)?;
        let permit = self.ctx.connections.open(client_ip(remote), Held::Sse)?;
        let sub = self
            .ctx
            .hub
            .subscribe(Cursor::after_or(resume, Cursor::Now));
        let faults = self.ctx.faults.stream_faults(&learner.id);
        let heartbeat = match *heartbeat {
            Some(0) => None,
            Some(s) => Some(Duration::from_secs(s)),
            None => Some(self.ctx.config.sse_heartbeat()),
        };
        let ends = StreamEnds::new(
            self.ctx.shutdown.token().clone(),
            self.ctx.config.stream_deadline(*duration),
        )
        .hung_up(self.ctx.hung_up(remote))
        .dropped(self.ctx.drops.watch(&learner.id, Transport::Sse))
        .valve(self.ctx.faults.valve(&learner.id))
        .idle_timeout(faults.idle_timeout)
        .heartbeat(heartbeat);
        let session = Session {
            sub,
            topics,
            names,
            remaining: *limit,
            retry_ms: self.ctx.config.sse_retry_ms,
            faults,
            held: ProxyBuffer::default(),
            ends,
            tap,
            _permit: permit,
        };
        Ok(SseAnswer::Stream(EventStream::new(session.into_stream())))
    }
}

/// `GET /api/sse`: the stream, or `204` to a reconnect the learner asked to refuse.
pub enum SseAnswer {
    Stream(EventStream),
    NoReconnect,
}

impl IntoResponse for SseAnswer {
    fn into_response(self) -> Response {
        match self {
            SseAnswer::Stream(stream) => stream.into_response(),
            SseAnswer::NoReconnect => Response::builder()
                .status(poem::http::StatusCode::NO_CONTENT)
                .finish(),
        }
    }
}

impl ApiResponse for SseAnswer {
    fn meta() -> MetaResponses {
        let mut meta = EventStream::meta();
        meta.responses.push(MetaResponse {
            description: "No Content: this reconnect is refused because you dropped your \
                          streams with `\"reconnect\": false`; `EventSource` stops for good. \
                          Once only: the next request streams again.",
            status: Some(204),
            status_range: None,
            content: vec![],
            headers: vec![],
        });
        meta
    }

    fn register(registry: &mut Registry) {
        EventStream::register(registry);
    }
}

fn example_duration() -> Option<u64> {
    Some(10)
}

fn example_limit() -> Option<u64> {
    Some(3)
}

fn example_named() -> Option<String> {
    Some("price,notification,note".into())
}

/// Reads a `Last-Event-ID` header; absent or blank means "no resume point".
pub fn parse_last_event_id(raw: Option<&str>) -> Result<Option<u64>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => raw.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "Last-Event-ID must be an id (a whole number), not {raw:?}."
            ))
        }),
    }
}

/// The block a stream opens with: `retry:`, and the id to resume from if it
/// is cut before its first event (an `id:` with no `data:` sets the
/// client's last event id without dispatching anything).
pub struct Opening {
    pub retry_ms: u64,
    pub resume_point: Option<u64>,
}

impl Opening {
    /// The `retry:` line, and the `id:` line with the blank line that ends
    /// the block (or the blank line alone), apart so each can be logged.
    pub fn fields(&self) -> [Bytes; 2] {
        let retry = Bytes::from(format!("retry: {}\n", self.retry_ms));
        let rest = match self.resume_point {
            Some(id) => Bytes::from(format!("id: {id}\n\n")),
            None => Bytes::from_static(b"\n"),
        };
        [retry, rest]
    }

    /// The whole block, as written.
    pub fn encode(&self) -> Bytes {
        self.fields().concat().into()
    }
}

/// A timer for heartbeat comments: first tick one period from now, and no
/// catch-up bursts after a stall.
pub fn heartbeat_timer(every: Duration) -> tokio::time::Interval {
    let mut timer = tokio::time::interval_at(Instant::now() + every, every);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}

/// The reset signal; it has no `id:` so the client's last id stays put.
pub fn encode_reset(reset: &Reset) -> Bytes {
    let json = serde_json::to_string(reset).unwrap_or_default();
    SseEvent::message(json)
        .event_type(RESET_EVENT)
        .to_string()
        .into()
}
