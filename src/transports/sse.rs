//! Server-Sent Events: one HTTP response that stays open while the server
//! writes events into it as they happen.
//!
//! The stream starts with a `retry:` field (how long the browser waits before
//! reconnecting), then sends each event with `id:`, `event:` and `data:`
//! lines, and a comment line as a heartbeat so dead clients are noticed (the
//! server only learns a client is gone when a write fails). A reconnecting
//! client sends `Last-Event-ID` and gets exactly what it missed, or a `reset`
//! event if that is no longer possible.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use poem::http::header;
use poem::web::RemoteAddr;
use poem::web::sse::Event as SseEvent;
use poem::{Body, IntoResponse, Response};
use poem_openapi::param::{Header, Query};
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, OpenApi};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::TransportTags;
use super::context::{StreamFaults, TransportContext};
use super::until;
use crate::connections::{Held, Permit, client_ip};
use crate::hub::{Cursor, Delivery, Event, Reset, Subscription, TopicFilter};
use crate::problem::ApiError;
use crate::traffic::{CloseReason, Learner, Tap, Transport};
use crate::transports::sse_names::EventNames;
use crate::transports::valve::{Order, Valve};

/// The SSE `event:` name of the reset signal. Published events may not use it.
pub const RESET_EVENT: &str = "reset";
pub const CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";
const HEARTBEAT: &[u8] = b": heartbeat\n\n";
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
    /// One long response (`text/event-stream`). It opens with `retry: <ms>`,
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
        let session = Session {
            sub: self
                .ctx
                .hub
                .subscribe(Cursor::after_or(resume, Cursor::Now)),
            topics,
            names,
            remaining: *limit,
            deadline: self.ctx.config.stream_deadline(*duration),
            heartbeat: match *heartbeat {
                Some(0) => None,
                Some(s) => Some(Duration::from_secs(s)),
                None => Some(self.ctx.config.sse_heartbeat()),
            },
            retry_ms: self.ctx.config.sse_retry_ms,
            faults: self.ctx.faults.stream_faults(&learner.id),
            last_write: Instant::now(),
            held: Vec::new(),
            held_bytes: 0,
            release_at: None,
            shutdown: self.ctx.shutdown.token().clone(),
            hung_up: self.ctx.hung_up(remote),
            dropped: self.ctx.drops.watch(&learner.id, Transport::Sse),
            valve: self.ctx.faults.valve(&learner.id),
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

/// One client's stream: what to send and when to stop.
struct Session {
    sub: Subscription,
    topics: TopicFilter,
    names: EventNames,
    remaining: Option<u64>,
    deadline: Option<Instant>,
    /// `None`: no heartbeat comments at all.
    heartbeat: Option<Duration>,
    retry_ms: u64,
    faults: StreamFaults,
    /// When the stream last wrote anything (for the idle-timeout killer).
    last_write: Instant,
    /// Counts this stream as open until it is dropped.
    _permit: Permit,
    /// Events held by the buffering-proxy switch (encoded), their size, and
    /// when they go out.
    held: Vec<(std::sync::Arc<crate::hub::Event>, Bytes)>,
    held_bytes: usize,
    release_at: Option<Instant>,
    shutdown: CancellationToken,
    /// Cancelled when the client closes its connection.
    hung_up: CancellationToken,
    /// Changes when the learner asks the server to drop their streams.
    dropped: tokio::sync::watch::Receiver<u64>,
    /// The lab's fault actions: cut now (deploy) or go silent (half-open).
    valve: Valve,
    tap: Tap,
}

impl Session {
    fn into_stream(self) -> BoxStream<'static, Bytes> {
        let retry = Bytes::from(SseEvent::retry(self.retry_ms).to_string());
        let retry_tap = self.tap.clone();
        let retry_ms = self.retry_ms;
        let heartbeat = self.heartbeat.map(heartbeat_timer);
        let live = stream::unfold((self, heartbeat), |(mut s, mut heartbeat)| async move {
            let chunk = s.next_chunk(&mut heartbeat).await?;
            Some((chunk, (s, heartbeat)))
        });
        stream::once(async move {
            retry_tap.sse_field("retry", retry.len(), Some(format!("{retry_ms} ms")));
            retry
        })
        .chain(live)
        .boxed()
    }

    async fn next_chunk(&mut self, heartbeat: &mut Option<tokio::time::Interval>) -> Option<Bytes> {
        loop {
            if self.remaining == Some(0) && self.held.is_empty() {
                self.tap.closing(CloseReason::LimitReached);
                return None;
            }
            let idle_deadline = self.faults.idle_timeout.map(|t| self.last_write + t);
            let release_at = self.release_at;
            let heartbeat_tick = async {
                match heartbeat.as_mut() {
                    Some(h) => {
                        h.tick().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let chunk = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => {
                    self.tap.closing(CloseReason::ShuttingDown);
                    return None;
                }
                Ok(()) = self.dropped.changed() => {
                    self.tap.closing(CloseReason::DroppedOnRequest);
                    return None;
                }
                order = self.valve.order() => {
                    let why = match order {
                        Order::Cut => CloseReason::Deployed,
                        Order::Freeze { until } => self.frozen(until).await,
                    };
                    self.tap.closing(why);
                    return None;
                }
                _ = self.hung_up.cancelled() => {
                    self.tap.closing(CloseReason::ClientClosed);
                    return None;
                }
                _ = until(self.deadline) => {
                    self.tap.closing(CloseReason::DurationPassed);
                    return None;
                }
                _ = until(idle_deadline) => {
                    self.tap.closing(CloseReason::IdleTimeout);
                    return None;
                }
                _ = until(release_at), if !self.held.is_empty() => self.release(),
                delivery = self.sub.next_matching(&self.topics), if self.remaining != Some(0) => match delivery? {
                    Delivery::Event(event) => {
                        if let Some(n) = self.remaining.as_mut() {
                            *n -= 1;
                        }
                        if let Some(latency) = self.faults.latency {
                            tokio::time::sleep(latency).await;
                        }
                        if let Some(every) = self.faults.buffer {
                            // The "proxy" holds it until its next flush, or
                            // until its buffer is full, as nginx's is.
                            if self.held.is_empty() {
                                self.release_at = Some(Instant::now() + every);
                            }
                            let chunk = self.names.encode(&event);
                            self.held_bytes += chunk.len();
                            self.held.push((event, chunk));
                            if self.held_bytes < MAX_HELD_BYTES {
                                continue;
                            }
                            self.release()
                        } else {
                            let chunk = self.names.encode(&event);
                            self.tap.sse_event(&event, chunk.len());
                            chunk
                        }
                    }
                    Delivery::Reset(reset) => {
                        let chunk = encode_reset(&reset);
                        self.tap.sse_field("reset", chunk.len(), Some(reset.message));
                        chunk
                    }
                },
                _ = heartbeat_tick => {
                    self.tap.sse_field("heartbeat", HEARTBEAT.len(), None);
                    Bytes::from_static(HEARTBEAT)
                }
            };
            self.last_write = Instant::now();
            return Some(chunk);
        }
    }

    /// Half-open: writes nothing more (no events, no heartbeats) until
    /// something ends the stream; says what did.
    async fn frozen(&mut self, give_up: Instant) -> CloseReason {
        let idle_deadline = self.faults.idle_timeout.map(|t| self.last_write + t);
        tokio::select! {
            _ = self.shutdown.cancelled() => CloseReason::ShuttingDown,
            Ok(()) = self.dropped.changed() => CloseReason::DroppedOnRequest,
            _ = self.hung_up.cancelled() => CloseReason::ClientLeftWhileHalfOpen,
            _ = until(self.deadline) => CloseReason::DurationPassed,
            _ = until(idle_deadline) => CloseReason::IdleTimeout,
            _ = tokio::time::sleep_until(give_up) => {
                CloseReason::HalfOpenGaveUp
            }
        }
    }

    /// Lets the held events through at once, as a buffering proxy's flush does.
    fn release(&mut self) -> Bytes {
        self.release_at = None;
        self.held_bytes = 0;
        let mut burst = Vec::new();
        for (event, chunk) in std::mem::take(&mut self.held) {
            self.tap.sse_event(&event, chunk.len());
            burst.extend_from_slice(&chunk);
        }
        Bytes::from(burst)
    }
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

/// A `text/event-stream` response, documented as a stream of [`Event`]s.
/// Never compressed (an encoder would hold events back); the lab's gzip
/// fault switch wraps it from outside (`lab::faults::gate`).
pub struct EventStream {
    chunks: BoxStream<'static, Bytes>,
}

impl EventStream {
    /// A response that writes each chunk as it comes (chunks are whole SSE fields).
    pub fn new(chunks: BoxStream<'static, Bytes>) -> Self {
        EventStream { chunks }
    }
}

impl IntoResponse for EventStream {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(CONTENT_TYPE)
            .header(header::CACHE_CONTROL, "no-cache")
            // Tells nginx-like proxies not to buffer the stream.
            .header("X-Accel-Buffering", "no")
            .body(Body::from_bytes_stream(
                self.chunks.map(Ok::<_, std::io::Error>),
            ))
    }
}

/// One Server-Sent Event as a client parses it: its fields, `data` as text.
fn sse_event_schema() -> MetaSchema {
    let field = |ty, description| {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(description),
            ..MetaSchema::new(ty)
        }))
    };
    MetaSchema {
        description: Some(
            "One event of the stream (`retry:` and `: heartbeat` lines carry no event).",
        ),
        required: vec!["data"],
        properties: vec![
            ("id", field("string", "The event's id; absent on `reset`.")),
            ("event", field("string", "The event's type, or `reset`.")),
            (
                "data",
                field(
                    "string",
                    "JSON: an Event (a Reset on `event: reset`) on /api/sse, a traffic-log \
                     entry on /api/traffic/stream.",
                ),
            ),
            (
                "retry",
                field("integer", "Reconnection delay in milliseconds."),
            ),
        ],
        ..MetaSchema::new("object")
    }
}

impl ApiResponse for EventStream {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "An endless (unless `limit` or `duration` is set) stream of events. \
                              Each `data:` line is one Event as JSON; `event: reset` carries a Reset.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "text/event-stream",
                    // Before OpenAPI 3.2, the schema of an event stream describes one event.
                    schema: MetaSchemaRef::Inline(Box::new(sse_event_schema())),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        Event::register(registry);
        Reset::register(registry);
    }
}
