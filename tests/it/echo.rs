//! `/api/ws/echo` with a real client: messages, fragments, pings, bad UTF-8
//! and close codes (part of issue 7's RFC 6455 list).

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

async fn echo(server: &TestServer) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(server.ws_url("/api/ws/echo"))
        .await
        .expect("connect");
    ws
}

async fn next(ws: &mut Ws) -> Message {
    tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("frame")
}

#[tokio::test]
async fn text_binary_and_fragments_come_back_whole() {
    let server = TestServer::start().await;
    let mut ws = echo(&server).await;
    ws.send(Message::text("héllo")).await.expect("send");
    assert_eq!(next(&mut ws).await, Message::text("héllo"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .expect("send");
    assert_eq!(next(&mut ws).await, Message::binary(vec![0u8, 1, 2, 255]));

    // One text message in three fragments, with a ping between them.
    ws.send(Message::Frame(Frame::message(
        &b"frag"[..],
        OpCode::Data(Data::Text),
        false,
    )))
    .await
    .expect("send");
    ws.send(Message::Ping(b"mid".to_vec().into()))
        .await
        .expect("ping");
    ws.send(Message::Frame(Frame::message(
        &b"men"[..],
        OpCode::Data(Data::Continue),
        false,
    )))
    .await
    .expect("send");
    ws.send(Message::Frame(Frame::message(
        &b"ted"[..],
        OpCode::Data(Data::Continue),
        true,
    )))
    .await
    .expect("send");
    assert_eq!(
        next(&mut ws).await,
        Message::Pong(b"mid".to_vec().into()),
        "control frame answered mid-message"
    );
    assert_eq!(next(&mut ws).await, Message::text("fragmented"));
}

#[tokio::test]
async fn invalid_utf8_split_across_fragments_closes_with_1007() {
    let server = TestServer::start().await;
    let mut ws = echo(&server).await;
    // "é" is C3 A9; the second fragment carries a byte that cannot follow.
    ws.send(Message::Frame(Frame::message(
        &[b'a', 0xC3][..],
        OpCode::Data(Data::Text),
        false,
    )))
    .await
    .expect("send");
    ws.send(Message::Frame(Frame::message(
        &[0x28u8][..],
        OpCode::Data(Data::Continue),
        true,
    )))
    .await
    .expect("send");
    match next(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Invalid),
        other => panic!("expected close 1007, got {other:?}"),
    }
}

#[tokio::test]
async fn a_close_code_and_reason_are_echoed() {
    let server = TestServer::start().await;
    let mut ws = echo(&server).await;
    ws.close(Some(CloseFrame {
        code: CloseCode::from(4000),
        reason: "bye".into(),
    }))
    .await
    .expect("close");
    match next(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(
                (u16::from(frame.code), frame.reason.as_str()),
                (4000, "bye")
            );
        }
        other => panic!("expected the close echoed, got {other:?}"),
    }
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let server = TestServer::start().await;
    let mut ws = echo(&server).await;
    let _ = ws.send(Message::binary(vec![7u8; 200 * 1024])).await;
    match next(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("expected close 1009, got {other:?}"),
    }
}
