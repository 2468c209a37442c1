//! One numbered update, and the wire forms every connection shares.
//!
//! An event is serialized once per transport however many clients receive
//! it: the encodings live in the event itself, made on first use.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use poem_openapi::Object;
use serde::Serialize;

use super::TopicFilter;

/// One update, as every transport delivers it.
#[derive(Debug, Clone, Serialize, Object)]
#[oai(example)]
pub struct Event {
    /// Position in the stream. Ids only grow, so `since=<id>` is a cursor.
    pub id: u64,
    /// Stream the event belongs to (`ticker`, `notifications`, or any custom topic).
    pub topic: String,
    /// What kind of event it is, e.g. `price` or `notification`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// Free-form JSON payload.
    pub data: serde_json::Value,
    /// When the hub accepted the event (RFC 3339, UTC, milliseconds).
    pub published_at: String,
    /// The same instant as milliseconds since the Unix epoch, for computing delays.
    pub published_at_ms: u64,
    /// Microseconds since the epoch, for measuring delivery delays precisely.
    #[oai(skip)]
    #[serde(skip)]
    pub published_at_us: u64,
    /// The event as each transport writes it, made on first use and shared by
    /// every connection: a fan-out to 10,000 clients serializes once.
    #[oai(skip)]
    #[serde(skip)]
    pub encoded: Encoded,
}

/// Wire forms of one event. Transports fill the slot they use.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    json: OnceLock<Bytes>,
    sse: OnceLock<Bytes>,
    websocket: OnceLock<Bytes>,
}

/// A new event before the hub numbers it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub topic: String,
    pub kind: String,
    pub data: serde_json::Value,
}

impl poem_openapi::types::Example for Event {
    fn example() -> Self {
        Event {
            id: 42,
            topic: "ticker".into(),
            kind: "price".into(),
            data: serde_json::json!({"symbol": "ACME", "price": 101.25, "change": 0.75}),
            published_at: "2026-11-26T09:30:00.000Z".into(),
            published_at_ms: 1_795_685_400_000,
            published_at_us: 1_795_685_400_000_000,
            encoded: Encoded::default(),
        }
    }
}

/// Microseconds since the Unix epoch (0 if the clock is before it).
pub(super) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

impl Event {
    /// An event with its id and publish instant (microseconds since the epoch).
    pub fn new(id: u64, new: NewEvent, published_at_us: u64) -> Self {
        let at = UNIX_EPOCH + std::time::Duration::from_micros(published_at_us);
        Event {
            id,
            topic: new.topic,
            kind: new.kind,
            data: new.data,
            published_at: humantime::format_rfc3339_millis(at).to_string(),
            published_at_ms: published_at_us / 1000,
            published_at_us,
            encoded: Encoded::default(),
        }
    }

    /// Milliseconds from publish until now.
    pub fn age_ms(&self) -> f64 {
        now_us().saturating_sub(self.published_at_us) as f64 / 1000.0
    }

    /// The event as compact JSON (no raw newlines, so it fits one SSE `data:` line).
    pub fn json(&self) -> &Bytes {
        self.encoded.json.get_or_init(|| {
            serde_json::to_vec(self)
                .map(Bytes::from)
                .unwrap_or_else(|_| Bytes::from_static(b"{}"))
        })
    }

    /// The SSE frame of this event, made by `encode` the first time.
    pub fn sse_frame(&self, encode: impl FnOnce(&Event) -> Bytes) -> Bytes {
        self.encoded.sse.get_or_init(|| encode(self)).clone()
    }

    /// The WebSocket message of this event, made by `encode` the first time.
    pub fn websocket_message(&self, encode: impl FnOnce(&Event) -> Bytes) -> Bytes {
        self.encoded.websocket.get_or_init(|| encode(self)).clone()
    }

    /// Whether a subscriber filtering on `topics` wants this event.
    pub fn matches(&self, topics: &TopicFilter) -> bool {
        topics.accepts(&self.topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Hub;
    use crate::hub::testing::new;

    #[test]
    fn an_event_is_encoded_once_for_every_connection() {
        let hub = Hub::new(3, 16);
        let event = hub.publish(new("a"));
        let first = event.json().clone();
        assert_eq!(first.as_ptr(), event.json().as_ptr(), "the same bytes");
        let frame = event.sse_frame(|_| Bytes::from_static(b"frame"));
        let again = event.sse_frame(|_| panic!("encoded twice"));
        assert_eq!(frame, again);
        let json: serde_json::Value = serde_json::from_slice(&first).expect("json");
        assert_eq!(json["id"], event.id);
        assert!(json.get("encoded").is_none());
    }
}
