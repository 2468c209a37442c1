//! An event as the stream stores it: JSON in field `event` of entry `0-<id>`.

use serde::{Deserialize, Serialize};

use crate::hub::{Event, NewEvent};

/// An event as the stream stores it; the id is the entry's.
#[derive(Serialize, Deserialize)]
pub(super) struct Stored {
    topic: String,
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
    at_us: u64,
}

impl Stored {
    /// `new`, published at `at_us` microseconds since the epoch.
    pub(super) fn new(new: NewEvent, at_us: u64) -> Self {
        Stored {
            topic: new.topic,
            kind: new.kind,
            data: new.data,
            at_us,
        }
    }

    /// The hub's event for the entry with this id.
    pub(super) fn into_event(self, id: u64) -> Event {
        let new = NewEvent {
            topic: self.topic,
            kind: self.kind,
            data: self.data,
        };
        Event::new(id, new, self.at_us)
    }
}

/// `0-42` → 42. The stream holds nothing else.
pub(super) fn parse_entry_id(entry: &str) -> Option<u64> {
    entry.strip_prefix("0-")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_zero_dash_the_event_id() {
        assert_eq!(parse_entry_id("0-42"), Some(42));
        assert_eq!(parse_entry_id("1700000000000-0"), None);
        assert_eq!(parse_entry_id("0-x"), None);
    }
}
