//! The JSON messages a socket carries, both ways, and how each becomes a frame.

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::backplane::Unavailable;
use crate::chat::ChatMessage;
use crate::hub::{Event, Reset};

/// Messages a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ClientMessage {
    Subscribe {
        topics: Option<Vec<String>>,
        since: Option<u64>,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Unsubscribe {
        topics: Option<Vec<String>>,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Publish {
        topic: String,
        #[serde(default = "default_event")]
        event: String,
        #[serde(default)]
        data: serde_json::Value,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Chat {
        text: String,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Echo {
        #[serde(default)]
        data: serde_json::Value,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Ping {
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
}

fn default_event() -> String {
    "message".into()
}

/// Messages the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ServerMessage<'a> {
    Welcome {
        client_id: &'a str,
        last_id: u64,
        max_message_bytes: u64,
    },
    Event {
        event: &'a Event,
    },
    Reset(&'a Reset),
    Chat(&'a ChatMessage),
    Ack {
        #[serde(rename = "for")]
        answers: &'static str,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        topics: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    Echo {
        data: serde_json::Value,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
    },
    Pong {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
    },
    Error {
        code: &'static str,
        message: String,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
        /// Only on `rate_limited`: when the next publish may pass.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl ServerMessage<'_> {
    pub(crate) fn to_frame(&self) -> Message {
        Message::text(serde_json::to_string(self).unwrap_or_default())
    }
}

/// `{"type":"event","event":…}`, serialized once per event for all sockets.
pub(crate) fn event_frame(event: &Event) -> Message {
    let bytes = event.websocket_message(|e| {
        serde_json::to_vec(&ServerMessage::Event { event: e })
            .unwrap_or_default()
            .into()
    });
    // serde_json writes UTF-8; the check cannot fail.
    Utf8Bytes::try_from(bytes)
        .map(Message::Text)
        .unwrap_or_else(|_| Message::text("{}"))
}

pub(crate) fn error(code: &'static str, message: impl Into<String>) -> ServerMessage<'static> {
    ServerMessage::Error {
        code,
        message: message.into(),
        reference: None,
        retry_after_ms: None,
    }
}

/// The backplane (Redis) is down: nothing was published; the socket stays open.
pub(crate) fn unavailable(
    err: Unavailable,
    reference: Option<serde_json::Value>,
) -> ServerMessage<'static> {
    ServerMessage::Error {
        code: "unavailable",
        message: err.0,
        reference,
        retry_after_ms: None,
    }
}

pub(crate) fn ack(
    answers: &'static str,
    reference: Option<serde_json::Value>,
) -> ServerMessage<'static> {
    ServerMessage::Ack {
        answers,
        reference,
        topics: None,
        id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","topics":["ticker"],"since":3,"ref":1}"#)
                .expect("parse");
        assert!(matches!(m, ClientMessage::Subscribe { since: Some(3), .. }));
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"dance"}"#).is_err());
    }
}
