//! One chat, built twice (lesson 8): a message sent with `POST /api/chat`
//! and a message sent as a WebSocket `chat` both reach an SSE reader of the
//! `chat` topic and a socket subscribed to it, exactly once each, the
//! sender's own messages included.

use crate::common::*;
use serde_json::{Value, json};

/// The `{from, text}` of the next chat event on an SSE stream.
async fn next_sse_chat(
    stream: &mut (impl futures_util::Stream<Item = eventsource_stream::Event> + Unpin),
) -> (String, Value) {
    let e = next_sse(stream).await.expect("the stream is open");
    assert_eq!(e.event, "chat", "{e:?}");
    let event: Value = serde_json::from_str(&e.data).expect("json");
    (e.id, event["data"].clone())
}

/// Everything a socket hears up to and including the chat event whose text
/// is `last`: the chat events' texts, and the room's `chat` messages.
async fn socket_hears_until(ws: &mut Ws, last: &str) -> (Vec<String>, Vec<Value>) {
    let (mut events, mut room) = (Vec::new(), Vec::new());
    loop {
        let m = next_json(ws).await;
        match m["type"].as_str() {
            Some("event") if m["event"]["topic"] == "chat" => {
                let text = m["event"]["data"]["text"]
                    .as_str()
                    .expect("text")
                    .to_owned();
                events.push(text.clone());
                if text == last {
                    return (events, room);
                }
            }
            Some("chat") => room.push(m),
            _ => {}
        }
    }
}

#[tokio::test]
async fn every_message_reaches_both_sides_exactly_once() {
    let server = TestServer::start().await;
    let mut sse = server.sse("/api/sse?topics=chat", None).await;
    let mut ws = server.ws().await;
    let me = next_of_type(&mut ws, "welcome").await["client_id"]
        .as_str()
        .expect("client id")
        .to_owned();
    send_json(&mut ws, json!({"type": "subscribe", "topics": ["chat"]})).await;
    assert_eq!(next_of_type(&mut ws, "ack").await["for"], "subscribe");
    server.wait_for_subscribers(2).await;

    // Sent up the socket: the SSE side reads it, with the id the ack names.
    send_json(&mut ws, json!({"type": "chat", "text": "from the socket"})).await;
    let (_, data) = next_sse_chat(&mut sse).await;
    assert_eq!(
        (data["from"].as_str(), data["text"].as_str()),
        (Some(me.as_str()), Some("from the socket"))
    );

    // Sent with a POST: the socket reads it as an event on the chat topic.
    let res = server
        .http
        .post(server.url("/api/chat"))
        .json(&json!({"text": "from a POST"}))
        .send()
        .await
        .expect("POST /api/chat");
    assert_eq!(res.status(), 202);
    let (_, data) = next_sse_chat(&mut sse).await;
    assert_eq!(data["text"], "from a POST");

    // A last message closes the conversation: nothing came twice before it.
    send_json(&mut ws, json!({"type": "chat", "text": "bye"})).await;
    let (_, data) = next_sse_chat(&mut sse).await;
    assert_eq!(data["text"], "bye", "the SSE side saw each message once");
    let (heard, room) = socket_hears_until(&mut ws, "bye").await;
    assert_eq!(heard, ["from the socket", "from a POST", "bye"]);
    assert!(
        room.is_empty(),
        "the room never echoes a sender's own message: {room:?}"
    );
}

#[tokio::test]
async fn the_ack_names_the_chat_event() {
    let server = TestServer::start().await;
    let mut sse = server.sse("/api/sse?topics=chat", None).await;
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    server.wait_for_subscribers(1).await;
    send_json(
        &mut ws,
        json!({"type": "chat", "text": "numbered", "ref": 7}),
    )
    .await;
    let ack = next_of_type(&mut ws, "ack").await;
    assert_eq!(
        (ack["for"].as_str(), ack["ref"].as_u64()),
        (Some("chat"), Some(7))
    );
    let (id, _) = next_sse_chat(&mut sse).await;
    assert_eq!(ack["id"].as_u64(), id.parse::<u64>().ok(), "{ack}");
}
