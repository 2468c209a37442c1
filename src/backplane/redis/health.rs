//! Whether Redis answers, as the reader last saw it, and what a failed
//! publish tells the client meanwhile.

use super::RedisBackplane;
use crate::backplane::{BackplaneKind, BackplaneStatus, LinkState, Unavailable};

/// What the reader last knew about Redis.
pub(super) struct Health {
    state: LinkState,
    error: Option<String>,
}

impl Health {
    pub(super) fn connected() -> Self {
        Health {
            state: LinkState::Connected,
            error: None,
        }
    }
}

impl RedisBackplane {
    pub fn status(&self) -> BackplaneStatus {
        let (state, error) = {
            let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
            (health.state, health.error.clone())
        };
        let presence = *self.presence.lock().unwrap_or_else(|p| p.into_inner());
        BackplaneStatus {
            kind: BackplaneKind::Redis,
            state,
            url: Some(self.url.clone()),
            instance: Some(self.instance.clone()),
            instances: presence.map(|(instances, _)| instances),
            websockets: presence.map(|(_, websockets)| websockets),
            error,
        }
    }

    pub(super) fn unreachable(&self, err: &redis::RedisError) -> Unavailable {
        Unavailable(format!(
            "The Redis backplane at {} cannot be reached ({err}); nothing was published. \
             Open streams stay open and resume when Redis is back; try again in a moment.",
            self.url
        ))
    }

    pub(super) fn went_away(&self, what: &str, err: &redis::RedisError) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if health.state == LinkState::Connected {
            tracing::warn!(url = %self.url, %err, "lost Redis ({what}); publishing answers 503 until it is back, open streams stay open");
        }
        health.state = LinkState::Reconnecting;
        health.error = Some(format!("{what}: {err}"));
    }

    pub(super) fn came_back(&self) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if health.state == LinkState::Reconnecting {
            tracing::info!(url = %self.url, last_id = self.hub.last_id(), "Redis is back; catching up from the last event this instance has");
        }
        health.state = LinkState::Connected;
        health.error = None;
    }
}
