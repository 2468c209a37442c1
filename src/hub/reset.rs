//! Where a client resumes, and the explicit signal when it missed something.
//!
//! Gaps are reported, never skipped: whoever cannot get every event after its
//! cursor gets a [`Reset`] saying why and where the replay starts.

use std::sync::Arc;

use poem_openapi::Object;
use serde::Serialize;

use super::Event;

/// The explicit "you missed something" signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Object)]
#[oai(example)]
pub struct Reset {
    /// `gap`: the requested id has left the replay buffer.
    /// `unknown_id`: the id is newer than anything published (e.g. the server restarted).
    /// `restarted`: the id belongs to an earlier run of the server.
    pub reason: ResetReason,
    /// The id the client asked to continue after.
    pub requested_since: u64,
    /// Oldest id still in the buffer, if any. Everything from here on is replayed.
    #[oai(nullable)]
    pub oldest_available: Option<u64>,
    /// Newest id published so far (the run's base when nothing was published yet).
    pub last_id: u64,
    /// Human-readable explanation.
    pub message: String,
}

impl poem_openapi::types::Example for Reset {
    fn example() -> Self {
        Reset {
            reason: ResetReason::Gap,
            requested_since: 5,
            oldest_available: Some(1001),
            last_id: 2000,
            message: "Events #6 to #1000 have left the replay buffer and can no longer be sent. \
                      Events from #1001 follow."
                .into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum ResetReason {
    Gap,
    UnknownId,
    Restarted,
}

/// Where a client wants to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Only events published from now on.
    Now,
    /// Everything still in the replay buffer, without a reset.
    Oldest,
    /// Events after this id; a reset if some of them are gone.
    After(u64),
}

impl Cursor {
    pub fn after_or(since: Option<u64>, otherwise: Cursor) -> Cursor {
        since.map(Cursor::After).unwrap_or(otherwise)
    }
}

/// What the hub has for a client that wants everything after `since`.
#[derive(Debug, Clone)]
pub struct CatchUp {
    /// Set when events were lost to the client; `events` then holds all that is left.
    pub reset: Option<Reset>,
    /// Events after `since` (or after the reset point), oldest first.
    pub events: Vec<Arc<Event>>,
    /// Newest id the hub has published.
    pub last_id: u64,
}
