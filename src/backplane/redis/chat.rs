//! Chat over `PUBLISH`/`SUBSCRIBE`: every instance's members hear every
//! message. Nothing is replayed, so messages sent during an outage are lost.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{CHAT_CHANNEL, RETRY_MAX, RETRY_MIN, RedisBackplane};
use crate::backplane::Unavailable;
use crate::chat::ChatMessage;

impl RedisBackplane {
    pub async fn say(&self, from: &str, text: &str) -> Result<(), Unavailable> {
        let msg = serde_json::to_string(&ChatMessage::new(from, text)).unwrap_or_default();
        let mut conn = self.commands.clone();
        redis::cmd("PUBLISH")
            .arg(CHAT_CHANNEL)
            .arg(msg)
            .exec_async(&mut conn)
            .await
            .map_err(|e| self.unreachable(&e))
    }

    /// Delivers chat messages from every instance to this one's members.
    pub(super) async fn follow_chat(
        self: Arc<Self>,
        first: redis::aio::PubSub,
        shutdown: CancellationToken,
    ) {
        let mut pubsub = Some(first);
        let mut retry = RETRY_MIN;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                ended = self.chat_session(pubsub.take()) => match ended {
                    Ok(()) => tracing::debug!("the chat subscription ended"),
                    Err(err) => tracing::debug!(%err, "the chat subscription failed"),
                },
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(RETRY_MAX);
        }
    }

    /// Relays messages until the subscription ends, subscribing afresh
    /// when there is no subscription yet.
    async fn chat_session(&self, pubsub: Option<redis::aio::PubSub>) -> redis::RedisResult<()> {
        let mut ps = match pubsub {
            Some(ps) => ps,
            None => {
                let mut ps = self.client.get_async_pubsub().await?;
                ps.subscribe(CHAT_CHANNEL).await?;
                tracing::info!(
                    "chat channel subscribed again; messages sent while Redis was away are lost"
                );
                ps
            }
        };
        let mut messages = ps.on_message();
        while let Some(msg) = messages.next().await {
            match msg
                .get_payload::<String>()
                .ok()
                .and_then(|json| serde_json::from_str::<ChatMessage>(&json).ok())
            {
                Some(chat) => self.chat.deliver(Arc::new(chat)),
                None => tracing::debug!("ignored a chat message that does not parse"),
            }
        }
        Ok(())
    }
}
