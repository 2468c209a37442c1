//! The `text/event-stream` response both SSE feeds answer with, and how the
//! OpenAPI document describes it (one event, as OpenAPI before 3.2 must).

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use poem::http::header;
use poem::{Body, IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;

use super::CONTENT_TYPE;
use crate::hub::{Event, Reset};

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
