//! Where a published event or chat message goes before it reaches the hub.
//!
//! One process ([`Backplane::Memory`], the default) needs no backplane: the
//! hub numbers events itself and the chat room is local. Several instances
//! behind a load balancer need one shared order of events, so with
//! `--redis-url` ([`Backplane::Redis`]) a Redis stream numbers every event,
//! and each instance mirrors that stream into its own hub (see [`redis`]).
//!
//! Either way transports subscribe to the local [`Hub`] and publish through
//! this type; none of them knows which kind is running.

pub mod redis;

use std::sync::Arc;

use poem_openapi::{Enum, Object};

use crate::chat::ChatRoom;
use crate::hub::{Hub, NewEvent};
use crate::problem::ApiError;

/// How publishing reaches the hubs. Cheap to clone.
#[derive(Clone)]
pub enum Backplane {
    /// This process alone: publish straight into its hub and chat room.
    Memory { hub: Hub, chat: ChatRoom },
    /// Instances sharing a Redis: publish into the shared stream and channel.
    Redis(Arc<redis::RedisBackplane>),
}

/// The backplane could not take the event or message (Redis is unreachable).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

impl From<Unavailable> for ApiError {
    fn from(err: Unavailable) -> Self {
        ApiError::unavailable(err.0)
    }
}

impl Backplane {
    pub fn memory(hub: Hub, chat: ChatRoom) -> Self {
        Backplane::Memory { hub, chat }
    }

    /// Publishes an event and returns its id once this instance's hub has it
    /// (so the publisher's own subscribers see it in stream order).
    pub async fn publish(&self, new: NewEvent) -> Result<u64, Unavailable> {
        match self {
            Backplane::Memory { hub, .. } => Ok(hub.publish(new).id),
            Backplane::Redis(redis) => redis.publish(new).await,
        }
    }

    /// Sends a chat message to every WebSocket member on every instance.
    pub async fn say(&self, from: &str, text: &str) -> Result<(), Unavailable> {
        match self {
            Backplane::Memory { chat, .. } => {
                chat.say(from, text);
                Ok(())
            }
            Backplane::Redis(redis) => redis.say(from, text).await,
        }
    }

    pub fn status(&self) -> BackplaneStatus {
        match self {
            Backplane::Memory { .. } => BackplaneStatus {
                kind: BackplaneKind::Memory,
                state: LinkState::Local,
                url: None,
                instance: None,
                instances: None,
                websockets: None,
                error: None,
            },
            Backplane::Redis(redis) => redis.status(),
        }
    }
}

/// Which backplane this instance uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum BackplaneKind {
    /// One process; events live in its memory.
    Memory,
    /// Instances share events and chat through Redis (`--redis-url`).
    Redis,
}

/// Whether the backplane works right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LinkState {
    /// In-memory: there is nothing to be connected to.
    Local,
    /// Redis answers; events from every instance flow.
    Connected,
    /// Redis cannot be reached: publishing answers `503`, open streams stay
    /// open and resume with every event Redis accepted once it is back.
    Reconnecting,
}

/// How events reach this instance, and from how many instances.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct BackplaneStatus {
    /// `memory` (this process alone) or `redis` (`--redis-url`).
    pub kind: BackplaneKind,
    /// `local` in memory; with Redis `connected` or `reconnecting`.
    pub state: LinkState,
    /// The Redis URL, without its password.
    #[oai(skip_serializing_if_is_none)]
    pub url: Option<String>,
    /// This instance's name (WebSocket client ids on it end in `@<instance>`).
    #[oai(skip_serializing_if_is_none)]
    pub instance: Option<String>,
    /// Instances that reported to Redis in the last few seconds, this one included.
    #[oai(skip_serializing_if_is_none)]
    pub instances: Option<u64>,
    /// WebSocket connections open on all those instances together (refreshed every second).
    #[oai(skip_serializing_if_is_none)]
    pub websockets: Option<u64>,
    /// Why Redis is unreachable (only while `reconnecting`).
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
}

impl poem_openapi::types::Example for BackplaneStatus {
    fn example() -> Self {
        BackplaneStatus {
            kind: BackplaneKind::Redis,
            state: LinkState::Connected,
            url: Some("redis://127.0.0.1:6379/".into()),
            instance: Some("a3f9c2".into()),
            instances: Some(2),
            websockets: Some(5),
            error: None,
        }
    }
}

/// A URL fit to show: the password (if any) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let hidden = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                // `redis://secret@host` puts the password alone before the `@`.
                "***".to_owned()
            };
            format!("{scheme}://{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("redis://:hunter2@10.0.0.1:6379/"),
            "redis://:***@10.0.0.1:6379/"
        );
        assert_eq!(
            redact_url("redis://alice:hunter2@host/1"),
            "redis://alice:***@host/1"
        );
        assert_eq!(redact_url("redis://hunter2@host"), "redis://***@host");
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
