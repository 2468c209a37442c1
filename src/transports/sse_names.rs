//! Which events an SSE stream names with an `event:` line.
//!
//! `EventSource` hands a named event only to a listener registered for that
//! exact name, and drops the others without a trace: a client cannot show a
//! type it did not foresee, such as a learner's own `"type": "my-thing"`.
//! Such a client lists the names it listens for (`?named=price,note`); every
//! other type goes out without an `event:` line, so `onmessage` receives it,
//! and its JSON still says its type. Without the list every event is named,
//! as the lessons' wire format shows.

use bytes::Bytes;
use poem::web::sse::Event as SseEvent;

use crate::hub::Event;

/// Most names one stream may list: each is compared with every event it
/// sends. (The query's 4160 bytes hold this many names of 64 bytes.)
pub const MAX_NAMES: usize = 64;

/// The stream's naming rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventNames {
    /// Every event gets its `event:` line (the default).
    All,
    /// Only these types do; the rest are sent unnamed.
    Only(Vec<String>),
}

/// `named` listed more types than a stream may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("`named` lists {0} event types; a stream may name at most {MAX_NAMES}.")]
pub struct TooManyNames(pub usize);

impl EventNames {
    /// Reads `?named=`: absent is [`EventNames::All`]; a comma-separated list
    /// (blank entries ignored, so `named=` names nothing) is at most
    /// [`MAX_NAMES`] names.
    pub fn parse(list: Option<&str>) -> Result<Self, TooManyNames> {
        let Some(list) = list else {
            return Ok(EventNames::All);
        };
        let mut names: Vec<String> = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        if names.len() > MAX_NAMES {
            return Err(TooManyNames(names.len()));
        }
        Ok(EventNames::Only(names))
    }

    /// Whether events of type `kind` are sent with an `event:` line.
    pub fn names(&self, kind: &str) -> bool {
        match self {
            EventNames::All => true,
            EventNames::Only(names) => names.iter().any(|n| n == kind),
        }
    }

    /// The `id:`, `event:` (when named) and `data:` lines of one event.
    pub fn encode(&self, event: &Event) -> Bytes {
        if self.names(&event.kind) {
            named(event)
        } else {
            unnamed(event)
        }
    }
}

/// Made once per event and shared by every stream (poem writes the fields).
fn named(event: &Event) -> Bytes {
    event.sse_frame(|e| {
        SseEvent::message(String::from_utf8_lossy(e.json()))
            .id(e.id.to_string())
            .event_type(e.kind.as_str())
            .to_string()
            .into()
    })
}

/// Only streams that asked get these, so they are not cached.
fn unnamed(event: &Event) -> Bytes {
    SseEvent::message(String::from_utf8_lossy(event.json()))
        .id(event.id.to_string())
        .to_string()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::NewEvent;

    fn event(kind: &str) -> Event {
        let new = NewEvent {
            topic: "demo".into(),
            kind: kind.into(),
            data: serde_json::json!({"text": "hi"}),
        };
        Event::new(1, new, 1_795_685_400_000_000)
    }

    #[test]
    fn without_a_list_every_event_is_named() {
        let frame = EventNames::parse(None).unwrap().encode(&event("my-thing"));
        let text = String::from_utf8_lossy(&frame);
        assert!(text.contains("\nevent: my-thing\n"), "{text}");
    }

    #[test]
    fn a_listed_type_is_named_and_any_other_is_not() {
        let names = EventNames::parse(Some("price, note,,note")).unwrap();
        assert_eq!(names, EventNames::Only(vec!["price".into(), "note".into()]));
        let note = String::from_utf8_lossy(&names.encode(&event("note"))).into_owned();
        assert!(note.contains("event: note\n"), "{note}");
        let mine = String::from_utf8_lossy(&names.encode(&event("my-thing"))).into_owned();
        assert!(!mine.contains("event:"), "{mine}");
        assert!(
            mine.starts_with("id: 1\n") && mine.contains("\"type\":\"my-thing\""),
            "{mine}"
        );
        assert!(mine.ends_with("\n\n"), "one whole event: {mine:?}");
    }

    #[test]
    fn an_empty_list_names_nothing() {
        let names = EventNames::parse(Some("")).unwrap();
        assert!(!names.names("price") && !names.names("message"));
    }

    #[test]
    fn too_many_names_are_refused() {
        let list = (0..=MAX_NAMES)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(EventNames::parse(Some(&list)).is_err());
        let list = (0..MAX_NAMES)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(EventNames::parse(Some(&list)).is_ok());
    }
}
