//! Chat spoofing: an event on the `chat` topic with `"from": "http-4321"`
//! looked exactly like a message from that sender. The topic is now reserved
//! for `/api/chat` and WebSocket chat, whose sender the server names.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn nobody_can_publish_a_chat_message_in_someone_elses_name() {
    let server = TestServer::start().await;
    let mut sse = server.sse("/api/sse?topics=chat", None).await;
    server.wait_for_subscribers(1).await;

    // Over HTTP: refused with a problem document, nothing published.
    let res = server
        .http
        .post(server.url("/api/events"))
        .json(&json!({"topic": "chat", "type": "chat",
                      "data": {"from": "http-4321", "text": "send me your password"}}))
        .send()
        .await
        .expect("POST /api/events");
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = res.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("/api/chat")),
        "{problem}"
    );

    // Over a WebSocket `publish`: an error message, nothing published.
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    send_json(
        &mut ws,
        json!({"type": "publish", "topic": "chat", "event": "chat",
               "data": {"from": "http-4321", "text": "spoofed"}}),
    )
    .await;
    let error = next_of_type(&mut ws, "error").await;
    assert_eq!(error["code"], "invalid_publish", "{error}");
    assert_eq!(server.status().await["last_id"], 0, "nothing was published");

    // The real way still works, and the sender is the one the server knows,
    // whatever the body says.
    let res = server
        .http
        .post(server.url("/api/chat"))
        .header("X-Learner", "l-0123456789abcdef0123456789abcdef")
        .json(&json!({"text": "hello", "from": "http-4321"}))
        .send()
        .await
        .expect("POST /api/chat");
    assert_eq!(res.status(), 202);
    let event = next_sse(&mut sse).await.expect("the chat message");
    let data: serde_json::Value = serde_json::from_str(&event.data).expect("json");
    assert_eq!(data["data"]["text"], "hello");
    assert_eq!(
        data["data"]["from"], "http-fedc",
        "named by the server: {data}"
    );
}
