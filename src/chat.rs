//! Chat, two ways at once: the WebSocket room and the `chat` topic.
//!
//! The room is a bounded broadcast between WebSocket members: a message
//! typed on one socket reaches every *other* socket as a `chat` message, and
//! a reader that falls behind loses the oldest messages and is told how
//! many. With a Redis backplane the room is this instance's end of a shared
//! room: messages are said through the [`crate::backplane::Backplane`] and
//! delivered here by it.
//!
//! Every message is also an event on the [`CHAT_TOPIC`] ([`chat_event`]),
//! whichever way it was sent (`POST /api/chat` or a socket's `chat`
//! message), so one conversation reads the same on an SSE stream, a poll
//! and a socket subscribed to the topic, the sender's own messages
//! included. That is what lets lesson 8 build one chat twice.
//!
//! `POST /api/chat/shown/{id}` stores nothing: a client reports that it put
//! message `id` on screen, the traffic log keeps the report, and lesson 13's
//! "every message exactly once" exercise counts the reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::hub::NewEvent;

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 1000;

/// The topic every chat message is published on, as a `chat` event.
pub const CHAT_TOPIC: &str = "chat";

/// A chat message as an event on [`CHAT_TOPIC`]: `{"from": …, "text": …}`.
pub fn chat_event(from: &str, text: &str) -> NewEvent {
    NewEvent {
        topic: CHAT_TOPIC.into(),
        kind: "chat".into(),
        data: serde_json::json!({ "from": from, "text": text }),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who sent it (a connection name such as `ws-3`).
    pub from: String,
    pub text: String,
    /// RFC 3339, UTC, milliseconds.
    pub sent_at: String,
}

#[derive(Clone)]
pub struct ChatRoom {
    tx: broadcast::Sender<Arc<ChatMessage>>,
    next_member: Arc<AtomicU64>,
    /// Added to member names when several instances share the room, so
    /// names stay unique (senders recognise their own messages by name).
    instance: Option<Arc<str>>,
}

impl ChatRoom {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        ChatRoom {
            tx,
            next_member: Arc::new(AtomicU64::new(1)),
            instance: None,
        }
    }

    /// A room shared with other instances; member names end in `@instance`.
    pub fn shared(capacity: usize, instance: &str) -> Self {
        ChatRoom {
            instance: Some(instance.into()),
            ..ChatRoom::new(capacity)
        }
    }

    /// A fresh, unique member name (`ws-1`, `ws-2`, …; `ws-1@a3f9c2` when shared).
    pub fn new_member_name(&self, prefix: &str) -> String {
        let n = self.next_member.fetch_add(1, Ordering::Relaxed);
        match &self.instance {
            Some(instance) => format!("{prefix}-{n}@{instance}"),
            None => format!("{prefix}-{n}"),
        }
    }

    pub fn join(&self) -> broadcast::Receiver<Arc<ChatMessage>> {
        self.tx.subscribe()
    }

    /// Sends to everyone in this instance's room (senders skip their own messages).
    pub fn say(&self, from: &str, text: &str) -> Arc<ChatMessage> {
        let msg = Arc::new(ChatMessage::new(from, text));
        self.deliver(msg.clone());
        msg
    }

    /// Hands a message (possibly from another instance) to this instance's members.
    pub fn deliver(&self, msg: Arc<ChatMessage>) {
        let _ = self.tx.send(msg);
    }
}

impl ChatMessage {
    /// A message sent now.
    pub fn new(from: &str, text: &str) -> Self {
        ChatMessage {
            from: from.to_owned(),
            text: text.to_owned(),
            sent_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        }
    }
}
