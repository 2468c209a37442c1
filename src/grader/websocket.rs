//! Grading a WebSocket server: the handshake (101 and a correct
//! `Sec-WebSocket-Accept`, which tungstenite verifies), an answer to a
//! message, ping → pong, a clean close, and what happens to a message far
//! larger than any a chat or a feed needs.
//!
//! Two sockets: the first does the handshake, the message, the ping and the
//! close; the second sends the oversized message, because a server that
//! refuses it rightly ends that socket.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::budget::{ANSWER_PATIENCE, Budget};
use super::report::{Line, LineId, excerpt};
use super::sse_client::error_chain;
use super::target::Target;

/// The oversized message: 1 MiB and one byte.
pub const OVERSIZED_BYTES: usize = 1024 * 1024 + 1;
/// Largest message or frame the grader reads.
const MAX_READ: usize = 64 * 1024;

type Socket = WebSocketStream<TcpStream>;

/// What a wait for the next message brought.
enum Read {
    Message(Message),
    /// Nothing before the wait's end.
    Nothing,
    /// The connection ended after the close handshake, or without one.
    Ended,
    /// The connection broke (reset, broken pipe).
    Broken(String),
    /// A message larger than the grader reads.
    TooBig,
    Failed(String),
}

impl Read {
    /// A sentence for a wait that brought no message.
    fn sentence(&self) -> String {
        match self {
            Read::Message(_) => "A message came.".into(),
            Read::Nothing => format!("Nothing came within {} ms.", ANSWER_PATIENCE.as_millis()),
            Read::Ended => "The server ended the connection.".into(),
            Read::Broken(e) => format!("The connection broke: {e}."),
            Read::TooBig => format!(
                "The server sent a message larger than {} KiB.",
                MAX_READ / 1024
            ),
            Read::Failed(e) => format!("The socket failed: {e}."),
        }
    }
}

/// Grades the WebSocket server at `target` within `budget`.
pub async fn grade(target: Arc<Target>, budget: &Budget) -> Vec<Line> {
    let run = Run {
        target,
        budget: budget.clone(),
        reference: format!("grader-{}", fastrand::u32(..)),
    };
    let mut lines = Vec::new();
    let all = async {
        let Some(mut ws) = run.handshake(&mut lines).await else {
            return;
        };
        lines.push(run.answer(&mut ws).await);
        lines.push(run.ping(&mut ws).await);
        lines.push(run.close(ws).await);
        lines.push(run.oversized().await);
    };
    let _ = tokio::time::timeout_at(budget.deadline(), all).await;
    LineId::WEBSOCKET
        .iter()
        .map(|id| {
            lines
                .iter()
                .find(|l| l.id == *id)
                .cloned()
                .unwrap_or_else(|| {
                    Line::skipped(
                        *id,
                        "Not graded: the handshake failed or the run's time ran out.",
                    )
                })
        })
        .collect()
}

struct Run {
    target: Arc<Target>,
    budget: Budget,
    reference: String,
}

impl Run {
    fn sent_handshake(&self) -> String {
        format!(
            "GET {} HTTP/1.1\nconnection: Upgrade\nupgrade: websocket\nsec-websocket-version: 13\nsec-websocket-key: (random)",
            self.target.url.path()
        )
    }

    /// Opens a socket to the first checked address that answers.
    async fn connect(&self) -> Result<Result<(Socket, String), WsError>, String> {
        self.budget.connect().map_err(|s| s.sentence())?;
        let until = self.budget.within(ANSWER_PATIENCE);
        let mut last = String::from("no address to connect to");
        for addr in &self.target.addrs {
            match tokio::time::timeout_at(until, TcpStream::connect(addr)).await {
                Ok(Ok(tcp)) => {
                    let request = self
                        .target
                        .url
                        .as_str()
                        .into_client_request()
                        .map_err(|e| e.to_string())?;
                    let config = WebSocketConfig::default()
                        .max_message_size(Some(MAX_READ))
                        .max_frame_size(Some(MAX_READ));
                    let shake =
                        tokio_tungstenite::client_async_with_config(request, tcp, Some(config));
                    return match tokio::time::timeout_at(until, shake).await {
                        Ok(Ok((ws, response))) => {
                            let accept = response
                                .headers()
                                .get("sec-websocket-accept")
                                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                                .unwrap_or_default();
                            Ok(Ok((ws, accept)))
                        }
                        Ok(Err(e)) => Ok(Err(e)),
                        Err(_) => Err(format!(
                            "No handshake answer within {} ms.",
                            ANSWER_PATIENCE.as_millis()
                        )),
                    };
                }
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => {
                    last = format!(
                        "{addr}: no connection within {} ms",
                        ANSWER_PATIENCE.as_millis()
                    )
                }
            }
        }
        Err(format!("Could not connect ({last})."))
    }

    async fn handshake(&self, lines: &mut Vec<Line>) -> Option<Socket> {
        let sent = self.sent_handshake();
        let (status, accept) = match self.connect().await {
            Ok(Ok((ws, accept))) => {
                lines.push(
                    Line::pass(LineId::Status101, "101 Switching Protocols.")
                        .sent(&sent)
                        .received("HTTP/1.1 101 Switching Protocols"),
                );
                lines.push(
                    Line::pass(
                        LineId::AcceptKey,
                        "Sec-WebSocket-Accept matches the key sent.",
                    )
                    .sent(&sent)
                    .received(format!("sec-websocket-accept: {accept}")),
                );
                return Some(ws);
            }
            Ok(Err(WsError::Http(response))) => (
                Line::fail(
                    LineId::Status101,
                    format!("It answered {} instead of 101.", response.status().as_u16()),
                )
                .received(format!("HTTP/1.1 {}", response.status())),
                None,
            ),
            Ok(Err(WsError::Protocol(ProtocolError::SecWebSocketAcceptKeyMismatch))) => (
                Line::pass(LineId::Status101, "101 Switching Protocols."),
                Some(Line::fail(
                    LineId::AcceptKey,
                    "Sec-WebSocket-Accept does not match the key sent (it must be base64(SHA-1(key + the RFC's GUID))).",
                )),
            ),
            Ok(Err(e)) => (
                Line::fail(
                    LineId::Status101,
                    format!("The handshake failed: {}.", error_chain(&e)),
                ),
                None,
            ),
            Err(why) => (Line::fail(LineId::Status101, why), None),
        };
        lines.push(status.sent(&sent));
        if let Some(accept) = accept {
            lines.push(accept.sent(&sent));
        }
        None
    }

    /// Reads the next message (pings are answered by tungstenite), counting bytes.
    async fn next(&self, ws: &mut Socket, until: Instant) -> Read {
        match tokio::time::timeout_at(until, ws.next()).await {
            Err(_) => Read::Nothing,
            Ok(None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed))) => Read::Ended,
            Ok(Some(Err(WsError::Capacity(_)))) => Read::TooBig,
            Ok(Some(Err(WsError::Io(e)))) => Read::Broken(e.to_string()),
            Ok(Some(Err(e))) => Read::Failed(error_chain(&e)),
            Ok(Some(Ok(m))) => match self.budget.read(m.len()) {
                Ok(()) => Read::Message(m),
                Err(spent) => Read::Failed(spent.sentence()),
            },
        }
    }

    async fn answer(&self, ws: &mut Socket) -> Line {
        let id = LineId::EchoAnswer;
        let text = format!(r#"{{"type":"ping","ref":"{}"}}"#, self.reference);
        if let Err(e) = ws.send(Message::text(text.clone())).await {
            return Line::fail(id, format!("Sending failed: {e}.")).sent(&text);
        }
        let until = self.budget.within(ANSWER_PATIENCE);
        let mut others = Vec::new();
        loop {
            match self.next(ws, until).await {
                Read::Message(Message::Text(t)) if t.contains(&self.reference) => {
                    return Line::pass(id, "An answer came back naming the message (an echo, or a reply with its ref).")
                        .sent(&text)
                        .received(t.as_str());
                }
                Read::Message(Message::Binary(b)) if b.as_ref() == text.as_bytes() => {
                    return Line::pass(id, "The message came back (as binary).").sent(&text);
                }
                Read::Message(Message::Close(frame)) => {
                    return Line::fail(
                        id,
                        format!(
                            "The server closed the socket instead: {}.",
                            describe_close(frame.as_ref())
                        ),
                    )
                    .sent(&text);
                }
                Read::Message(other) => others.push(excerpt(&other.to_string())),
                end => {
                    return Line::fail(
                        id,
                        format!(
                            "{} No answer named the message ({} other message(s) came).",
                            end.sentence(),
                            others.len()
                        ),
                    )
                    .sent(&text)
                    .received(others.join("\n"));
                }
            }
        }
    }

    async fn ping(&self, ws: &mut Socket) -> Line {
        let id = LineId::PingPong;
        let payload = self.reference.clone().into_bytes();
        let sent = format!("ping frame, payload {:?}", self.reference);
        let started = Instant::now();
        if let Err(e) = ws.send(Message::Ping(payload.clone().into())).await {
            return Line::fail(id, format!("Sending the ping failed: {e}.")).sent(sent);
        }
        let until = self.budget.within(ANSWER_PATIENCE);
        loop {
            match self.next(ws, until).await {
                Read::Message(Message::Pong(p)) if p.as_ref() == payload.as_slice() => {
                    return Line::pass(
                        id,
                        format!(
                            "The pong, with the same payload, came {} ms later.",
                            started.elapsed().as_millis()
                        ),
                    )
                    .sent(sent)
                    .received(format!("pong frame, payload {:?}", self.reference));
                }
                Read::Message(Message::Close(frame)) => {
                    return Line::fail(
                        id,
                        format!(
                            "The server closed the socket instead: {}.",
                            describe_close(frame.as_ref())
                        ),
                    )
                    .sent(sent);
                }
                Read::Message(_) => {}
                end => {
                    return Line::fail(
                        id,
                        format!("{} No pong with the ping's payload.", end.sentence()),
                    )
                    .sent(sent);
                }
            }
        }
    }

    async fn close(&self, mut ws: Socket) -> Line {
        let id = LineId::CleanClose;
        let sent = "close frame 1000 \"grader done\"";
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "grader done".into(),
        };
        if let Err(e) = ws.close(Some(frame)).await {
            return Line::fail(id, format!("Sending the close frame failed: {e}.")).sent(sent);
        }
        let until = self.budget.within(ANSWER_PATIENCE);
        loop {
            match self.next(&mut ws, until).await {
                Read::Message(Message::Close(Some(frame))) => {
                    let code = u16::from(frame.code);
                    let proper = !matches!(code, 1005 | 1006 | 1015) && code >= 1000;
                    return Line::judged(
                        id,
                        proper,
                        format!(
                            "The server answered the close with {}.",
                            describe_close(Some(&frame))
                        ),
                    )
                    .sent(sent)
                    .received(format!("close frame {code} {:?}", frame.reason.as_str()));
                }
                Read::Message(Message::Close(None)) => {
                    return Line::pass(id, "The server answered the close with a close frame (no code, which answers ours as RFC 6455 allows).")
                        .sent(sent)
                        .received("close frame (empty)");
                }
                Read::Message(_) => {}
                end => {
                    return Line::fail(
                        id,
                        format!(
                            "{} No close frame came back (the other side sees 1006).",
                            end.sentence()
                        ),
                    )
                    .sent(sent);
                }
            }
        }
    }

    async fn oversized(&self) -> Line {
        let id = LineId::OversizedMessage;
        let sent = format!("a text message of {OVERSIZED_BYTES} bytes (1 MiB + 1 B)");
        let mut ws = match self.connect().await {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => {
                return Line::fail(
                    id,
                    format!("The second socket's handshake failed: {}.", error_chain(&e)),
                );
            }
            Err(why) => return Line::fail(id, why),
        };
        let until = self.budget.within(ANSWER_PATIENCE);
        let big = Message::text("x".repeat(OVERSIZED_BYTES));
        // A server that stops reading makes this send wait forever: bounded too.
        match tokio::time::timeout_at(until, ws.send(big)).await {
            Err(_) => {
                return Line::fail(id, format!("The server stopped reading: the message was still not sent after {} ms, and no close came.", ANSWER_PATIENCE.as_millis())).sent(sent);
            }
            Ok(Err(_)) => {
                return Line::pass(
                    id,
                    "The server closed the connection while the message was on its way.",
                )
                .sent(sent);
            }
            Ok(Ok(())) => {}
        }
        loop {
            match self.next(&mut ws, until).await {
                Read::Message(Message::Close(frame)) => {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    return Line::pass(
                        id,
                        if code == Some(1009) {
                            "Closed with 1009 (message too big).".to_owned()
                        } else {
                            format!(
                                "Closed with {} (1009 says why best).",
                                describe_close(frame.as_ref())
                            )
                        },
                    )
                    .sent(sent)
                    .received(format!(
                        "close frame {}",
                        code.map_or("(empty)".into(), |c| c.to_string())
                    ));
                }
                Read::Message(_) => {}
                Read::Ended | Read::Broken(_) => {
                    return Line::pass(
                        id,
                        "The server dropped the connection (no close frame; 1009 would say why).",
                    )
                    .sent(sent);
                }
                Read::TooBig => {
                    return Line::fail(id, "The server took the message and answered with one as large: it has no size limit.").sent(sent);
                }
                end => {
                    return Line::fail(id, format!("{} The server took the message without closing: it has no size limit, or ignores what is too big.", end.sentence())).sent(sent);
                }
            }
        }
    }
}

fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(f) if f.reason.is_empty() => format!("close code {}", u16::from(f.code)),
        Some(f) => format!("close code {} ({})", u16::from(f.code), f.reason),
        None => "a close frame without a code".into(),
    }
}
