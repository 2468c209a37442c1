//! One file per way of getting updates. Each reads from the [`Hub`](crate::hub::Hub)
//! and knows nothing about the others; adding a transport means adding a file
//! here and listing its API in [`crate::app::server`]. A transport sees only
//! its [`context::TransportContext`], never the whole application.
//!
//! - [`polling`]: `GET /api/poll`, answered at once: news or `204 No Content`.
//! - [`long_polling`]: `GET /api/long-poll`, held until news or a timeout.
//! - [`sse`]: `GET /api/sse`, one response that never ends (unless asked to);
//!   [`sse_names`] decides which of its events carry an `event:` name.
//! - [`websocket`]: `GET /api/ws`, an upgraded two-way connection.
//! - [`echo`]: `GET /api/ws/echo`, a bare WebSocket that returns every message.
//!
//! [`valve`] is how the lab's fault actions reach open SSE streams and
//! WebSockets (cut them, or freeze them half-open) from outside their loops;
//! [`context::FaultSource`] is how its switches reach them when they open.
//! [`publish_rules`] names what a client may publish, over HTTP or a socket.

pub mod context;
pub mod echo;
pub mod long_polling;
pub mod polling;
pub mod publish_rules;
pub mod sse;
pub mod sse_names;
pub mod valve;
pub mod websocket;

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, Tags};

use crate::hub::{Event, Reset};

/// Swagger UI's groups, one per transport.
#[derive(Tags)]
pub enum TransportTags {
    /// Short polling: ask "any update?" again and again. Simple, works everywhere, wastes requests.
    Polling,
    /// Long-polling: ask once and let the server hold the answer until there is news.
    #[oai(rename = "Long-polling")]
    LongPolling,
    /// Server-Sent Events: one long HTTP response the server keeps writing events into.
    #[oai(rename = "Server-Sent Events")]
    Sse,
    /// WebSocket: an upgraded, two-way connection.
    #[oai(rename = "WebSocket")]
    WebSocket,
}

/// Sleeps until `deadline`; without one, forever (for optional timeouts in `select!`).
/// The timer is boxed: most deadlines are absent, and an inline one would
/// make every idle stream's future carry its full size anyway.
pub async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => Box::pin(tokio::time::sleep_until(at)).await,
        None => std::future::pending().await,
    }
}

/// Largest `limit` a poll may ask for.
pub const MAX_BATCH: u32 = 1000;
/// Events per answer when the request gives no `limit`.
pub const DEFAULT_BATCH: u32 = 100;

/// The answer to "any update?" when there is news.
#[derive(Debug, Object)]
#[oai(example)]
pub struct EventBatch {
    /// New events, oldest first.
    pub events: Vec<Arc<Event>>,
    /// Pass this as `since` next time.
    pub last_id: u64,
    /// `true` when more events are waiting than `limit` allowed: ask again at once.
    pub more: bool,
    /// Present when some events you asked for are gone from the replay
    /// buffer: you missed them, and `events` holds what is left.
    #[oai(skip_serializing_if_is_none)]
    pub reset: Option<Reset>,
}

impl poem_openapi::types::Example for EventBatch {
    fn example() -> Self {
        EventBatch {
            events: vec![Arc::new(<Event as poem_openapi::types::Example>::example())],
            last_id: 42,
            more: false,
            reset: None,
        }
    }
}

/// Answers of the polling transports.
#[derive(ApiResponse)]
pub enum PollResponse {
    /// News: the events after `since`.
    #[oai(status = 200)]
    News(
        Json<EventBatch>,
        /// Same as `last_id` in the body.
        #[oai(header = "X-Last-Event-Id")]
        u64,
    ),
    /// No news ("Any update?" — "No."). The header tells the newest id, so a
    /// client that filters topics can still move its cursor forward.
    #[oai(status = 204)]
    NoNews(#[oai(header = "X-Last-Event-Id")] u64),
}

impl PollResponse {
    /// Builds the answer from what was collected; `cursor` is where the
    /// client should continue from if nothing matched.
    pub fn from_parts(
        events: Vec<Arc<Event>>,
        reset: Option<Reset>,
        more: bool,
        cursor: u64,
    ) -> Self {
        if events.is_empty() && reset.is_none() {
            return PollResponse::NoNews(cursor);
        }
        let last_id = if more {
            events.last().map_or(cursor, |e| e.id)
        } else {
            cursor
        };
        PollResponse::News(
            Json(EventBatch {
                events,
                last_id,
                more,
                reset,
            }),
            last_id,
        )
    }
}
