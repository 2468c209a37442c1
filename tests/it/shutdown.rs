//! Acceptance 7: the real binary, stopped with SIGTERM, closes WebSockets
//! with 1001, ends SSE streams and exits within 2 s.

#![cfg(unix)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn sigterm_closes_websockets_with_1001_and_exits_within_2_s() {
    let (mut child, port) = crate::common::spawn_binary(&[]).await;
    let base = format!("127.0.0.1:{port}");

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{base}/api/ws"))
        .await
        .expect("websocket");
    match ws.next().await {
        Some(Ok(Message::Text(t))) => assert!(t.contains("welcome")),
        other => panic!("expected the welcome message, got {other:?}"),
    }
    let sse = reqwest::get(format!("http://{base}/api/sse"))
        .await
        .expect("sse");
    assert_eq!(sse.status(), 200);
    let mut sse_body = sse.bytes_stream();
    assert!(sse_body.next().await.is_some(), "retry preamble");

    let killed_at = Instant::now();
    crate::common::terminate(&child);

    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                other => panic!("connection ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("close frame in time");
    assert_eq!(close, Some(CloseCode::Away), "1001 Going Away");

    // The SSE response ends cleanly (no more chunks).
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunks = 0;
        while let Some(Ok(_)) = sse_body.next().await {
            chunks += 1;
        }
        chunks
    })
    .await
    .expect("SSE stream ended");
    assert_eq!(rest, 0, "nothing but the end of the stream after SIGTERM");

    let exit = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("process exited")
        .expect("wait");
    let took = killed_at.elapsed();
    assert!(exit.success(), "clean exit, got {exit:?}");
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
}
