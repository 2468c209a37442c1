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

use poem::web::RemoteAddr;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::api::ApiTags;
use crate::backplane::Backplane;
use crate::connections::client_ip;
use crate::limits::{PublishLimits, Publisher};
use crate::problem::ApiError;
use crate::traffic::Learner;

/// A chat message sent over plain HTTP.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ChatPost {
    /// 1 to 1000 characters.
    #[oai(validator(min_length = 1, max_length = 1000))]
    pub text: crate::openapi::Text,
}

impl poem_openapi::types::Example for ChatPost {
    fn example() -> Self {
        ChatPost {
            text: "hello from a POST".into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct ChatPosted {
    /// Id of the `chat` event that carries the message to SSE clients.
    pub id: u64,
}

#[derive(ApiResponse)]
pub enum ChatResponse {
    /// Accepted: the message is on its way.
    #[oai(status = 202)]
    Accepted(Json<ChatPosted>),
}

/// Chat the SSE way: send with a POST, receive on `/api/sse?topics=chat`.
pub struct ChatApi {
    pub backplane: Backplane,
    pub limits: Arc<PublishLimits>,
}

#[OpenApi]
impl ChatApi {
    /// Send a chat message (SSE + POST style)
    ///
    /// SSE only carries server → client, so an SSE chat sends each message as
    /// an ordinary POST. The message becomes a `chat` event on the `chat`
    /// topic, which every `/api/sse?topics=chat` stream receives, as does a
    /// WebSocket subscribed to `chat` (whose own `chat` messages land on the
    /// same topic: one conversation, whichever way each message went). Counts
    /// against your publish rate (`429` with `Retry-After` when over it).
    /// With a Redis backplane that cannot be reached the answer is `503`.
    #[oai(path = "/chat", method = "post", tag = "ApiTags::Events")]
    async fn post(
        &self,
        learner: Learner,
        remote: &RemoteAddr,
        body: Json<ChatPost>,
    ) -> Result<ChatResponse, ApiError> {
        self.limits
            .check(&Publisher::new(learner.id.clone(), client_ip(remote)))
            .map_err(|wait| wait.into_problem("chatting"))?;
        let text = body.0.text.trim().to_owned();
        if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
            return Err(ApiError::bad_request(format!(
                "Chat text must have 1 to {MAX_CHAT_CHARS} characters."
            )));
        }
        // Never the full learner id: other learners see this name.
        let from: String = format!(
            "http-{}",
            learner.id.chars().rev().take(4).collect::<String>()
        );
        let id = self.backplane.publish(chat_event(&from, &text)).await?;
        Ok(ChatResponse::Accepted(Json(ChatPosted { id })))
    }

    /// Report that my client showed chat message `id`
    ///
    /// Nothing is stored but the request itself, in your traffic log: it is
    /// how the page reports what your own chat code put on screen (the
    /// sandbox's `show(id, text)`), so the exercise "every message exactly
    /// once" can compare what your stream delivered with what you showed.
    /// Answers `204 No Content`.
    #[oai(path = "/chat/shown/:id", method = "post", tag = "ApiTags::Events")]
    async fn shown(
        &self,
        /// The event id the message arrived under (`POST /api/chat` answers it too).
        #[oai(example = "example_shown_id")]
        id: poem_openapi::param::Path<u64>,
    ) -> Result<ShownResponse, ApiError> {
        let _ = id; // the traffic log has it, in the path
        // A `Result` so the document lists the 400 a malformed id gets.
        Ok(ShownResponse::Noted)
    }
}

#[derive(ApiResponse)]
pub enum ShownResponse {
    /// Noted: the report is in your traffic log.
    #[oai(status = 204)]
    Noted,
}

fn example_shown_id() -> u64 {
    42
}
