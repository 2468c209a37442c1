//! Chat the SSE way: a message sent with `POST /api/chat` becomes a `chat`
//! event (see [`crate::chat`] for the room and the topic), and
//! `POST /api/chat/shown/{id}` lets a page report what it put on screen.

use std::sync::Arc;

use poem::web::RemoteAddr;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::backplane::Backplane;
use crate::chat::{MAX_CHAT_CHARS, chat_event};
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
    pub text: crate::text::Text,
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
