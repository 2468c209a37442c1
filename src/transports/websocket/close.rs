//! How a session ends: the close code RFC 6455 prescribes for each cause,
//! the close handshake, and a clean TCP shutdown after it. Shared with the
//! echo endpoint.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::traffic::tap::FrameKind;
use crate::traffic::{CloseReason, Tap, Transport};

/// What ended a session: the close code the client saw, and why.
pub(crate) type Outcome = (CloseCode, CloseReason);

/// Why the loop stopped reading.
pub(crate) enum Stop {
    /// Send this close frame (then wait briefly for the reply).
    Close(CloseCode, CloseReason),
    /// The peer closed or vanished; nothing more to send.
    Gone(CloseCode, CloseReason),
}

/// Maps a socket error to the close code RFC 6455 prescribes for it.
pub(crate) fn stop_for(err: WsError) -> Stop {
    match err {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            Stop::Close(CloseCode::Size, CloseReason::MessageTooBig)
        }
        WsError::Capacity(_) => Stop::Close(CloseCode::Size, CloseReason::FrameTooBig),
        WsError::Utf8(_) => Stop::Close(CloseCode::Invalid, CloseReason::InvalidUtf8),
        WsError::Protocol(_) => Stop::Close(CloseCode::Protocol, CloseReason::ProtocolError),
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            Stop::Gone(CloseCode::Normal, CloseReason::ConnectionClosed)
        }
        WsError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            Stop::Gone(CloseCode::Policy, CloseReason::StoppedReading)
        }
        _ => Stop::Gone(CloseCode::Abnormal, CloseReason::ConnectionBroke),
    }
}

/// Ends a session: for [`Stop::Close`] sends the close frame and waits (a
/// second at most; the peer may be gone) for the reply, logging both.
pub(crate) async fn finish<S>(ws: &mut WebSocketStream<S>, stop: Stop, tap: &Tap) -> Outcome
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match stop {
        Stop::Close(code, reason) => {
            let frame = Message::Close(Some(CloseFrame {
                code,
                reason: reason.sentence(Transport::Websocket).into(),
            }));
            let (kind, len, _) = describe(&frame);
            tap.ws_sent(kind, len, None, None);
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                if ws.send(frame).await.is_ok() {
                    // Read until the peer's close reply ends the stream.
                    let mut replied = false;
                    while let Some(Ok(msg)) = ws.next().await {
                        replied |= matches!(msg, Message::Close(_));
                        let (kind, len, text) = describe(&msg);
                        tap.ws_received(kind, len, text);
                    }
                    if !replied {
                        linger(ws.get_mut()).await;
                    }
                }
            })
            .await;
            (code, reason)
        }
        Stop::Gone(code, reason) => (code, reason),
    }
}

/// After a read error tokio-tungstenite yields nothing more, so the peer's
/// close reply (or the rest of a refused message) would sit unread, and
/// closing a socket with unread data makes the kernel send RST, which can
/// destroy the close frame in flight. Instead: FIN, then read until the peer
/// closes too (bounded by the caller's timeout).
pub(crate) async fn linger<S>(raw: &mut S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = raw.shutdown().await;
    // On the heap: an array here would make every session's future 4 KiB larger.
    let mut sink = vec![0u8; 4096];
    while matches!(raw.read(&mut sink).await, Ok(n) if n > 0) {}
}

/// A frame's kind, payload size and text, for the traffic log.
pub(crate) fn describe(msg: &Message) -> (FrameKind, usize, Option<&str>) {
    match msg {
        Message::Text(t) => (FrameKind::Text, t.len(), Some(t.as_str())),
        Message::Binary(b) => (FrameKind::Binary, b.len(), None),
        Message::Ping(b) => (FrameKind::Ping, b.len(), None),
        Message::Pong(b) => (FrameKind::Pong, b.len(), None),
        Message::Close(frame) => (
            FrameKind::Close,
            frame.as_ref().map_or(0, |f| 2 + f.reason.len()),
            None,
        ),
        Message::Frame(f) => (FrameKind::Binary, f.payload().len(), None),
    }
}
