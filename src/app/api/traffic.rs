//! `/api/traffic…`: a learner's own log as JSON, as a live SSE stream, as
//! statistics and as HAR. These endpoints are not logged themselves, so
//! watching the log never adds to it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use poem::http::header;
use poem::web::RemoteAddr;
use poem::web::sse::Event as SseEvent;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use tokio::sync::broadcast;

use crate::connections::{Connections, Held, Permit, client_ip};
use crate::hub::{Reset, ResetReason};
use crate::problem::ApiError;
use crate::shutdown::Shutdown;
use crate::traffic::stats::{self, Stats};
use crate::traffic::{Entry, Learner, TrafficLog, Transport};
use crate::transports::sse::{
    EventStream, HEARTBEAT, Opening, StreamEnds, Wake, encode_reset, parse_last_event_id,
};

#[derive(Tags)]
enum TrafficTags {
    /// Your own requests, connections, frames and events, measured and narrated.
    #[oai(rename = "Traffic log")]
    Traffic,
}

const MAX_LIMIT: u32 = 10_000;
const MAX_WINDOW_S: u64 = 24 * 3600;

/// A page of the log.
#[derive(Debug, Object)]
pub struct TrafficPage {
    /// Whose log this is (the `learner` cookie or the `X-Learner` header).
    pub learner: String,
    /// Entries, oldest first.
    pub entries: Vec<Arc<Entry>>,
}

#[derive(Debug, Object)]
pub struct Cleared {
    /// How many entries were removed.
    pub removed: u64,
}

#[derive(ApiResponse)]
pub enum HarResponse {
    /// A HAR 1.2 document; open it in your browser's network panel (Import HAR).
    #[oai(status = 200, content_type = "application/json")]
    Har(HarBody, #[oai(header = "Content-Disposition")] String),
}

/// A HAR document streamed as it is written ([`crate::traffic::har::HarChunks`]):
/// documented as JSON, sent chunk by chunk.
pub struct HarBody(crate::traffic::har::HarChunks);

impl poem_openapi::payload::Payload for HarBody {
    const CONTENT_TYPE: &'static str = "application/json";

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        <serde_json::Value as poem_openapi::types::Type>::schema_ref()
    }
}

impl poem::IntoResponse for HarBody {
    fn into_response(self) -> poem::Response {
        let chunks = stream::iter(self.0.map(Ok::<_, std::io::Error>));
        poem::Response::builder()
            .content_type("application/json")
            .body(poem::Body::from_bytes_stream(chunks))
    }
}

pub struct TrafficApi {
    pub log: TrafficLog,
    pub shutdown: Shutdown,
    pub heartbeat: Duration,
    /// The `retry:` the stream opens with (`--sse-retry-ms`, as on `/api/sse`).
    pub retry_ms: u64,
    pub connections: Arc<Connections>,
    /// For `--stream-max-secs`.
    pub config: std::sync::Arc<crate::config::Config>,
}

fn parse_transport(raw: Option<&str>) -> Result<Option<Transport>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Transport::parse(s).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "transport must be one of poll, long_poll, sse, websocket, api — not {s:?}."
            ))
        }),
    }
}

#[OpenApi]
impl TrafficApi {
    /// My traffic
    ///
    /// Every request, connection, frame and event you caused, oldest first,
    /// each with its sizes on the wire and a sentence saying what happened.
    /// You are recognised by the `learner` cookie (set on your first request)
    /// or by an `X-Learner` header.
    #[oai(path = "/traffic", method = "get", tag = "TrafficTags::Traffic")]
    async fn traffic(
        &self,
        learner: Learner,
        /// Only this transport: `poll`, `long_poll`, `sse`, `websocket` or `api`.
        #[oai(validator(pattern = "^(poll|long_poll|sse|websocket|api)?$"))]
        transport: Query<Option<String>>,
        /// Only entries after this `seq`.
        since: Query<Option<u64>>,
        /// At most this many (the newest), 1–10000, default 500.
        #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
        limit: Query<Option<u32>>,
        /// Use this learner id instead of the cookie.
        #[oai(name = "X-Learner")]
        _x_learner: Header<Option<String>>,
    ) -> Result<Json<TrafficPage>, ApiError> {
        let transport = parse_transport(transport.as_deref())?;
        let limit = limit.unwrap_or(500).min(MAX_LIMIT) as usize;
        let entries = self
            .log
            .entries(&learner.id, transport, since.unwrap_or(0), limit)
            .iter()
            .map(|e| Arc::new(e.completed()))
            .collect();
        Ok(Json(TrafficPage {
            learner: learner.id.to_string(),
            entries,
        }))
    }

    /// Clear my traffic log
    #[oai(path = "/traffic", method = "delete", tag = "TrafficTags::Traffic")]
    async fn clear(
        &self,
        learner: Learner,
        /// Use this learner id instead of the cookie.
        #[oai(name = "X-Learner")]
        _x_learner: Header<Option<String>>,
    ) -> Json<Cleared> {
        Json(Cleared {
            removed: self.log.clear(&learner.id) as u64,
        })
    }

    /// My traffic, live
    ///
    /// A Server-Sent Events stream of your new log entries (`event: entry`,
    /// `id:` = the entry's `seq`, `data:` = the entry as JSON). It opens with
    /// `retry:` and `id:` = the newest `seq` (no data, so no event fires):
    /// cut off before your first entry, you still resume from there.
    /// Reconnecting with `Last-Event-ID` replays what you missed; an id newer
    /// than anything logged (the server restarted) gets `event: reset` first,
    /// then your whole log. This stream is not logged itself. Give `limit` or `duration` when trying it here.
    #[oai(path = "/traffic/stream", method = "get", tag = "TrafficTags::Traffic")]
    #[allow(clippy::too_many_arguments)] // one per documented query parameter or header
    async fn stream(
        &self,
        learner: Learner,
        remote: &RemoteAddr,
        /// Only this transport: `poll`, `long_poll`, `sse`, `websocket` or `api`.
        #[oai(validator(pattern = "^(poll|long_poll|sse|websocket|api)?$"))]
        transport: Query<Option<String>>,
        /// End after this many entries (1–100000).
        #[oai(
            example = "example_limit",
            validator(minimum(value = "1"), maximum(value = "100000"))
        )]
        limit: Query<Option<u64>>,
        /// End after this many seconds (1–86400).
        #[oai(
            example = "example_duration",
            validator(minimum(value = "1"), maximum(value = "86400"))
        )]
        duration: Query<Option<u64>>,
        /// Start after this `seq` (entries already in the log are replayed first).
        since: Query<Option<u64>>,
        /// Resume after this `seq` (sent by `EventSource` when it reconnects; wins over `since`).
        // Digits only, at most 19 (so it always fits a u64), checked by poem before the handler runs.
        #[oai(name = "Last-Event-ID", validator(pattern = "^[0-9]{1,19}$"))]
        last_event_id: Header<Option<String>>,
        /// Use this learner id instead of the cookie.
        #[oai(name = "X-Learner")]
        _x_learner: Header<Option<String>>,
    ) -> Result<EventStream, ApiError> {
        let transport = parse_transport(transport.as_deref())?;
        let permit = self
            .connections
            .open(client_ip(remote), Held::TrafficStream)?;
        let requested = parse_last_event_id(last_event_id.as_deref())?.or(*since);
        // Subscribed before reading the newest seq: whatever is logged after
        // that read reaches `live`, so starting after it misses nothing.
        let live = self.log.subscribe();
        let last_seq = self.log.last_seq();
        // An id newer than anything logged (e.g. from before a restart): start
        // over, and say so first — never a silent jump.
        let unknown = requested.filter(|&seq| seq > last_seq);
        let cursor = match requested {
            Some(_) if unknown.is_some() => 0,
            Some(seq) => seq,
            None => last_seq,
        };
        let backlog = match requested {
            Some(_) => self
                .log
                .entries(&learner.id, transport, cursor, MAX_LIMIT as usize),
            None => Vec::new(),
        };
        let reset = unknown.map(|seq| unknown_id_reset(seq, &backlog, last_seq));
        let ends = StreamEnds::new(
            self.shutdown.token().clone(),
            self.config.stream_deadline(*duration),
        )
        .heartbeat(Some(self.heartbeat));
        let state = LiveLog {
            log: self.log.clone(),
            learner: learner.id.clone(),
            transport,
            live,
            backlog: backlog.into(),
            cursor,
            remaining: *limit,
            ends,
            _permit: permit,
        };
        // The resume point is withheld while a reset is to be told.
        let opening = Opening {
            retry_ms: self.retry_ms,
            resume_point: unknown.is_none().then_some(cursor),
        };
        let entries = stream::unfold(state, |mut s| async move {
            let chunk = s.next_chunk().await?;
            Some((chunk, s))
        });
        Ok(EventStream::new(
            stream::iter(std::iter::once(opening.encode()).chain(reset))
                .chain(entries)
                .boxed(),
        ))
    }

    /// My statistics per transport
    ///
    /// Over the last `window` seconds (default 60): requests, connections,
    /// empty answers and their share, events delivered, bytes up and down,
    /// bytes per delivered event, delivery delay (median, 95th percentile,
    /// worst) and open connections — with a sentence per transport.
    #[oai(path = "/traffic/stats", method = "get", tag = "TrafficTags::Traffic")]
    async fn stats(
        &self,
        learner: Learner,
        /// Window in seconds (1–86400, default 60).
        #[oai(validator(minimum(value = "1"), maximum(value = "86400")))]
        window: Query<Option<u64>>,
        /// Use this learner id instead of the cookie.
        #[oai(name = "X-Learner")]
        _x_learner: Header<Option<String>>,
    ) -> Result<Json<Stats>, ApiError> {
        let window_s = window.unwrap_or(60).min(MAX_WINDOW_S);
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let from = now_ms.saturating_sub(window_s * 1000);
        let entries: Vec<_> = self
            .log
            .entries(&learner.id, None, 0, usize::MAX)
            .into_iter()
            .filter(|e| e.at_ms >= from)
            .collect();
        let open = self.log.open_connections(&learner.id);
        // Errors only come from parsing `window` (400).
        Ok(Json(stats::compute(&entries, &open, window_s)))
    }

    /// My traffic as HAR
    ///
    /// HAR 1.2, importable into Chrome DevTools (Network → Import HAR).
    /// WebSocket frames are listed under `_webSocketMessages` as Chrome
    /// writes them, SSE events under `_eventSourceMessages`. Streamed as it
    /// is written, so a full log costs the server little memory.
    #[oai(path = "/traffic.har", method = "get", tag = "TrafficTags::Traffic")]
    async fn har(
        &self,
        learner: Learner,
        req: &poem::Request,
        /// Use this learner id instead of the cookie.
        #[oai(name = "X-Learner")]
        _x_learner: Header<Option<String>>,
    ) -> HarResponse {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let entries = self.log.entries(&learner.id, None, 0, usize::MAX);
        // The pages' ports are all HTTPS with --tls (the lab's plain port is the server's own).
        let scheme = if self.config.serves_tls() {
            "https"
        } else {
            "http"
        };
        HarResponse::Har(
            HarBody(crate::traffic::har::HarChunks::new(
                entries,
                format!("{scheme}://{host}"),
            )),
            "attachment; filename=\"realtime-playground.har\"".into(),
        )
    }
}

/// The `reset` event for an id never logged (`seq`); the whole log follows it.
fn unknown_id_reset(seq: u64, backlog: &[Arc<Entry>], last_seq: u64) -> Bytes {
    encode_reset(&Reset {
        reason: ResetReason::UnknownId,
        requested_since: seq,
        oldest_available: backlog.first().map(|e| e.seq),
        last_id: last_seq,
        message: format!(
            "Entry #{seq} was never logged here (the newest is #{last_seq}); \
             the server may have restarted. Your whole log follows."
        ),
    })
}

fn example_limit() -> Option<u64> {
    Some(5)
}

fn example_duration() -> Option<u64> {
    Some(10)
}

/// One client of `/api/traffic/stream`.
struct LiveLog {
    log: TrafficLog,
    learner: Arc<str>,
    transport: Option<Transport>,
    live: broadcast::Receiver<(Arc<str>, Arc<Entry>)>,
    backlog: std::collections::VecDeque<Arc<Entry>>,
    cursor: u64,
    remaining: Option<u64>,
    /// Shutdown, `duration` and the heartbeat, as on `/api/sse`.
    ends: StreamEnds,
    _permit: Permit,
}

impl LiveLog {
    fn wanted(&self, e: &Entry) -> bool {
        e.seq > self.cursor && self.transport.is_none_or(|t| t == e.transport)
    }

    fn encode(&mut self, e: &Entry) -> Bytes {
        self.cursor = e.seq;
        if let Some(n) = self.remaining.as_mut() {
            *n -= 1;
        }
        let json = serde_json::to_string(&e.completed()).unwrap_or_default();
        SseEvent::message(json)
            .id(e.seq.to_string())
            .event_type("entry")
            .to_string()
            .into()
    }

    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            if let Some(e) = self.backlog.pop_front() {
                if self.wanted(&e) {
                    return Some(self.encode(&e));
                }
                continue;
            }
            // Not logged, so why it ends is told to no one.
            match self.ends.next(self.live.recv()).await {
                Wake::End(_) => return None,
                Wake::Ready(Ok((who, e))) if who == self.learner && self.wanted(&e) => {
                    return Some(self.encode(&e));
                }
                Wake::Ready(Ok(_)) => continue,
                Wake::Ready(Err(broadcast::error::RecvError::Lagged(_))) => {
                    // Fell behind: continue from the store instead.
                    self.backlog = self
                        .log
                        .entries(
                            &self.learner,
                            self.transport,
                            self.cursor,
                            MAX_LIMIT as usize,
                        )
                        .into();
                }
                Wake::Ready(Err(broadcast::error::RecvError::Closed)) => return None,
                Wake::Heartbeat => return Some(Bytes::from_static(HEARTBEAT)),
            }
        }
    }
}
