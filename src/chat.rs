//! The chat room: messages typed by one client, delivered to all the others.
//!
//! Chat is not part of the event stream (it is not replayed, not numbered and
//! not sent to pollers); it exists to show what two-way traffic looks like.
//! The room is a bounded broadcast: a reader that falls behind loses the
//! oldest messages and is told how many.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::broadcast;

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 1000;

#[derive(Debug, Clone, Serialize)]
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
}

impl ChatRoom {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        ChatRoom {
            tx,
            next_member: Arc::new(AtomicU64::new(1)),
        }
    }

    /// A fresh, unique member name (`ws-1`, `ws-2`, …).
    pub fn new_member_name(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}",
            self.next_member.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub fn join(&self) -> broadcast::Receiver<Arc<ChatMessage>> {
        self.tx.subscribe()
    }

    /// Sends to everyone in the room (senders skip their own messages).
    pub fn say(&self, from: &str, text: &str) -> Arc<ChatMessage> {
        let msg = Arc::new(ChatMessage {
            from: from.to_owned(),
            text: text.to_owned(),
            sent_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        });
        let _ = self.tx.send(msg.clone());
        msg
    }
}
