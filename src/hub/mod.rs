//! The event hub: the one place where updates are numbered, kept and fanned out.
//!
//! Every transport reads from here and none of them knows about the others. An
//! update becomes an [`Event`] with the next `u64` id; the hub keeps the newest
//! events in a bounded replay ring (for catch-up after a disconnect) and hands
//! each one to live subscribers through a bounded broadcast channel.
//!
//! Ids of one run start after a *base*. With [`Hub::starting_after`] the base
//! is the start time in microseconds, so a restarted server never hands out
//! an id an earlier run used: a client resuming with an old id is told about
//! the restart instead of silently getting somebody else's event #42.
//!
//! With several instances behind one Redis (see [`crate::backplane`]) the hub
//! does not number events itself: ids come from the Redis stream and arrive
//! through [`Hub::mirror`], in stream order. Everything downstream (the ring,
//! the broadcast, subscriptions) works the same either way.
//!
//! - `event`: the [`Event`] and the wire forms its connections share.
//! - `topics`: the [`TopicFilter`] a subscription follows, and its bounds.
//! - `reset`: [`Cursor`]s, and the [`Reset`] a client gets instead of a gap.
//! - `ring`: the bounded replay buffer and its catch-up.
//! - `fan_out`: the [`Hub`] itself, numbering or mirroring into the ring.
//! - `subscription`: a [`Subscription`] joining replay and live events.

mod event;
mod fan_out;
mod reset;
mod ring;
mod subscription;
mod topics;

pub use event::{Encoded, Event, NewEvent};
pub use fan_out::{Hub, HubStats};
pub use reset::{CatchUp, Cursor, Reset, ResetReason};
pub use subscription::{Delivery, Subscription};
pub use topics::{MAX_TOPIC_LIST_BYTES, MAX_TOPICS, TopicFilter, TopicListError};

/// Helpers shared by the hub's unit tests.
#[cfg(test)]
mod testing {
    use std::sync::Arc;

    use super::{Event, NewEvent};

    pub fn new(topic: &str) -> NewEvent {
        NewEvent {
            topic: topic.into(),
            kind: "test".into(),
            data: serde_json::json!({}),
        }
    }

    pub fn ids(events: &[Arc<Event>]) -> Vec<u64> {
        events.iter().map(|e| e.id).collect()
    }

    /// An event numbered elsewhere, as the Redis reader mirrors it.
    pub fn numbered(id: u64) -> Event {
        Event::new(id, new("a"), 1_000_000)
    }
}
