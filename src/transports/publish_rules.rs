//! What a client may publish: topic and type names, checked the same way for
//! `POST /api/events` and a WebSocket `publish`, so both answer alike.

/// Longest topic or type name.
pub const MAX_NAME_LEN: usize = 64;

/// Why a topic or type name was refused; the message tells the client what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("topic {0:?} is not valid: use 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'.")]
    Topic(String),
    #[error("type {0:?} is not valid: use 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'.")]
    Type(String),
    #[error("type \"reset\" is reserved for the server's own reset signal.")]
    ReservedType,
    #[error(
        "topic {0:?} is reserved for chat messages: send them with POST /api/chat or a \
         WebSocket {{\"type\":\"chat\"}} message, and the server names the sender."
    )]
    ChatTopic(String),
}

/// Checks a topic and an event type name; shared by every way of publishing.
pub fn validate_names(topic: &str, kind: &str) -> Result<(), NameError> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= MAX_NAME_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    if !valid(topic) {
        return Err(NameError::Topic(topic.to_owned()));
    }
    if !valid(kind) {
        return Err(NameError::Type(kind.to_owned()));
    }
    if kind == super::sse::RESET_EVENT {
        return Err(NameError::ReservedType);
    }
    Ok(())
}

/// [`validate_names`] for an event a client publishes: the `chat` topic is
/// not theirs to publish on (chat messages carry a sender only the server may name).
pub fn validate_publish(topic: &str, kind: &str) -> Result<(), NameError> {
    validate_names(topic, kind)?;
    if topic == crate::chat::CHAT_TOPIC {
        return Err(NameError::ChatTopic(topic.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_alphabet_and_length() {
        assert_eq!(validate_names("demo.a-b_c", "price"), Ok(()));
        assert_eq!(
            validate_names("", "price"),
            Err(NameError::Topic(String::new()))
        );
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert_eq!(
            validate_names("demo", &long),
            Err(NameError::Type(long.clone()))
        );
        assert_eq!(
            validate_names("demo", "reset"),
            Err(NameError::ReservedType)
        );
    }

    #[test]
    fn only_the_server_publishes_on_the_chat_topic() {
        assert_eq!(validate_names("chat", "chat"), Ok(()));
        assert_eq!(
            validate_publish("chat", "chat"),
            Err(NameError::ChatTopic("chat".into()))
        );
    }
}
