//! What a session does with each message a client sends (`subscribe`,
//! `unsubscribe`, `publish`, `chat`, `echo`, `ping`): one typed answer per
//! message, errors included, so a client can match replies by `ref`.

use super::protocol::{ClientMessage, ServerMessage, ack, error, unavailable};
use super::session::Session;
use crate::chat::{MAX_CHAT_CHARS, chat_event};
use crate::hub::MAX_TOPICS;
use crate::hub::{Cursor, NewEvent, TopicFilter};
use crate::limits::RetryAfter;
use crate::traffic::catch_up::ListeningSince;

impl Session {
    pub(crate) async fn handle_text(&mut self, text: &str) -> ServerMessage<'static> {
        let msg: ClientMessage = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(err) => {
                let (code, message) = if serde_json::from_str::<serde_json::Value>(text).is_err() {
                    ("invalid_json", format!("That is not valid JSON: {err}."))
                } else {
                    (
                        "invalid_message",
                        format!(
                            "Unknown or malformed message: {err}. Known types: subscribe, \
                             unsubscribe, publish, chat, echo, ping."
                        ),
                    )
                };
                return error(code, message);
            }
        };
        match msg {
            ClientMessage::Subscribe {
                topics,
                since,
                reference,
            } => self.subscribe(topics, since, reference),
            ClientMessage::Unsubscribe { topics, reference } => self.unsubscribe(topics, reference),
            ClientMessage::Publish { reference, .. } | ClientMessage::Chat { reference, .. }
                if let Some(wait) = self.over_rate() =>
            {
                ServerMessage::Error {
                    code: "rate_limited",
                    message: format!(
                        "You are publishing too fast; wait {} ms before the next publish or chat.",
                        wait.millis()
                    ),
                    reference,
                    retry_after_ms: Some(wait.millis()),
                }
            }
            ClientMessage::Publish {
                topic,
                event,
                data,
                reference,
            } => self.publish(topic, event, data, reference).await,
            ClientMessage::Chat { text, reference } => {
                if text.trim().is_empty() || text.chars().count() > MAX_CHAT_CHARS {
                    ServerMessage::Error {
                        code: "invalid_chat",
                        message: format!("Chat text must have 1 to {MAX_CHAT_CHARS} characters."),
                        reference,
                        retry_after_ms: None,
                    }
                } else {
                    self.chat(&text, reference).await
                }
            }
            ClientMessage::Echo { data, reference } => ServerMessage::Echo { data, reference },
            ClientMessage::Ping { reference } => ServerMessage::Pong { reference },
        }
    }

    /// Says `text` to the other sockets in the room, and publishes it on the
    /// chat topic, where SSE readers and this socket (when subscribed) see it.
    async fn chat(
        &self,
        text: &str,
        reference: Option<serde_json::Value>,
    ) -> ServerMessage<'static> {
        let backplane = &self.state.backplane;
        if let Err(err) = backplane.say(&self.name, text).await {
            return unavailable(err, reference);
        }
        match backplane.publish(chat_event(&self.name, text)).await {
            Ok(id) => ServerMessage::Ack {
                answers: "chat",
                reference,
                topics: None,
                id: Some(id),
            },
            Err(err) => unavailable(err, reference),
        }
    }

    /// `Some(wait)` when this connection or its learner is over the publish rate.
    fn over_rate(&self) -> Option<RetryAfter> {
        self.publish_limit
            .check()
            .and_then(|()| self.state.limits.check(&self.publisher))
            .err()
    }

    fn subscribe(
        &mut self,
        topics: Option<Vec<String>>,
        since: Option<u64>,
        reference: Option<serde_json::Value>,
    ) -> ServerMessage<'static> {
        let requested = topics.unwrap_or_default();
        if let Some(bad) = requested
            .iter()
            .find(|t| crate::transports::publish_rules::validate_names(t, "message").is_err())
        {
            return ServerMessage::Error {
                code: "invalid_subscribe",
                message: format!("{bad:?} is not a valid topic name."),
                reference,
                retry_after_ms: None,
            };
        }
        let requested: TopicFilter = requested.into_iter().collect();
        let previous_cursor = self.subscription.as_ref().map(|(sub, _)| sub.cursor());
        let filter = match self.subscription.as_ref() {
            // Adding topics to "everything" is still everything.
            Some((_, current)) if current.is_all() || requested.is_all() => TopicFilter::all(),
            Some((_, current)) => current.topics().iter().chain(requested.topics()).collect(),
            None => requested,
        };
        if filter.topics().len() > MAX_TOPICS {
            return ServerMessage::Error {
                code: "too_many_topics",
                message: format!("A connection may follow at most {MAX_TOPICS} topics."),
                reference,
                retry_after_ms: None,
            };
        }
        // Without `since`, an existing subscription carries on where it was, so nothing is skipped.
        let from = match (since, previous_cursor) {
            (Some(since), _) => Cursor::After(since),
            (None, Some(cursor)) => Cursor::After(cursor),
            (None, None) => Cursor::Now,
        };
        if since.is_some() {
            // A replay: what it brings from before now is catch-up, not delay.
            self.tap.listening_from(ListeningSince::now());
        }
        let sub = self.state.ctx.hub.subscribe(from);
        let topics = filter.topics().to_vec();
        self.subscription = Some((sub, filter));
        ServerMessage::Ack {
            answers: "subscribe",
            reference,
            topics: Some(topics),
            id: None,
        }
    }

    fn unsubscribe(
        &mut self,
        topics: Option<Vec<String>>,
        reference: Option<serde_json::Value>,
    ) -> ServerMessage<'static> {
        let remove: TopicFilter = topics.unwrap_or_default().into_iter().collect();
        let Some((sub, current)) = self.subscription.take() else {
            return ack("unsubscribe", reference);
        };
        if remove.is_all() {
            return ack("unsubscribe", reference);
        }
        if current.is_all() {
            self.subscription = Some((sub, current));
            return ServerMessage::Error {
                code: "invalid_unsubscribe",
                message: "You are subscribed to all topics. Unsubscribe without `topics`, \
                          then subscribe to the ones you want."
                    .into(),
                reference,
                retry_after_ms: None,
            };
        }
        let left: TopicFilter = current
            .topics()
            .iter()
            .filter(|t| !remove.accepts(t))
            .collect();
        let topics = left.topics().to_vec();
        if !left.is_all() {
            self.subscription = Some((sub, left));
        }
        ServerMessage::Ack {
            answers: "unsubscribe",
            reference,
            topics: Some(topics),
            id: None,
        }
    }

    async fn publish(
        &self,
        topic: String,
        event: String,
        data: serde_json::Value,
        reference: Option<serde_json::Value>,
    ) -> ServerMessage<'static> {
        if let Err(refused) = crate::transports::publish_rules::validate_publish(&topic, &event) {
            return ServerMessage::Error {
                code: "invalid_publish",
                message: refused.to_string(),
                reference,
                retry_after_ms: None,
            };
        }
        let published = self
            .state
            .backplane
            .publish(NewEvent {
                topic,
                kind: event,
                data,
            })
            .await;
        match published {
            Ok(id) => ServerMessage::Ack {
                answers: "publish",
                reference,
                topics: None,
                id: Some(id),
            },
            Err(err) => unavailable(err, reference),
        }
    }
}

/// Property test: whatever text a client sends, the session answers with one
/// well-formed JSON message and never panics.
#[cfg(test)]
mod fuzz {
    use std::sync::Arc;

    use proptest::prelude::*;
    use tokio_tungstenite::tungstenite::Message;

    use super::*;
    use crate::config::Config;
    use crate::limits::Publisher;
    use crate::traffic::Tap;
    use crate::transports::context::{StreamFaults, TransportContext};
    use crate::transports::valve::Valve;
    use crate::transports::websocket::WebSocketApi;

    fn session(rt: &tokio::runtime::Runtime) -> Session {
        let _guard = rt.enter();
        let ctx = TransportContext::for_tests(Config::for_tests());
        let chat = crate::chat::ChatRoom::new(16);
        let state = WebSocketApi {
            backplane: crate::backplane::Backplane::memory(ctx.hub.clone(), chat.clone()),
            limits: Arc::new(crate::limits::PublishLimits::new(&ctx.config)),
            chat,
            ctx,
        };
        let (_tx, dropped) = tokio::sync::watch::channel(0);
        Session::new(
            state,
            "ws-fuzz".into(),
            Publisher::new(Arc::from("fuzzer"), None),
            Tap::default(),
            dropped,
            StreamFaults::default(),
            Valve::never(),
        )
    }

    fn answer(
        rt: &tokio::runtime::Runtime,
        session: &mut Session,
        text: &str,
    ) -> serde_json::Value {
        let frame = rt.block_on(session.handle_text(text)).to_frame();
        let Message::Text(json) = frame else {
            panic!("not a text frame")
        };
        serde_json::from_str(json.as_str()).expect("the answer is JSON")
    }

    fn config() -> ProptestConfig {
        ProptestConfig::with_cases(3000)
    }

    #[test]
    fn any_text_gets_one_typed_answer() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let session = std::cell::RefCell::new(session(&rt));
        proptest!(config(), |(text in ".{0,200}")| {
            let reply = answer(&rt, &mut session.borrow_mut(), &text);
            prop_assert!(reply["type"].is_string(), "{reply}");
        });
    }

    #[test]
    fn message_shaped_json_gets_one_typed_answer() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let session = std::cell::RefCell::new(session(&rt));
        proptest!(config(), |(
            kind in "(subscribe|unsubscribe|publish|chat|echo|ping|pong|)",
            field in "(topics|since|topic|event|data|text|ref|x)",
            value in r#"(null|true|-1|0|18446744073709551616|1e309|""|"a"|\[\]|\["t"\]|\{\})"#,
        )| {
            let text = format!(r#"{{"type":"{kind}","{field}":{value}}}"#);
            let reply = answer(&rt, &mut session.borrow_mut(), &text);
            prop_assert!(reply["type"].is_string(), "{text} → {reply}");
        });
    }
}
