//! Why the server ended a stream or a socket, as a type. Lessons and
//! challenges match the variant; the traffic log shows its sentence, and a
//! WebSocket close frame carries it as the reason text.
//!
//! The sentence depends on the transport only in wording ("the client closed
//! it" for a stream, "the client closed the connection" for a socket).

use super::Transport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// SSE: the `limit` of events the client asked for was sent.
    LimitReached,
    /// SSE: the `duration` the client asked for has passed.
    DurationPassed,
    /// The server got the response body to its end (SSE).
    ServerEnded,
    ShuttingDown,
    /// `POST /api/connections/drop`.
    DroppedOnRequest,
    /// The deploy fault cut it.
    Deployed,
    /// The idle-timeout fault cut it after a silence.
    IdleTimeout,
    ClientClosed,
    /// The client's side went without a close (SSE: it stopped reading the body).
    ClientVanished,
    /// Half-open (the freeze fault): the server shut down meanwhile.
    ShutDownWhileHalfOpen,
    /// Half-open: the learner dropped it meanwhile.
    DroppedWhileHalfOpen,
    /// Half-open: the client left meanwhile.
    ClientLeftWhileHalfOpen,
    /// Half-open for the whole freeze: the server gave up on it.
    HalfOpenGaveUp,
    /// WebSocket: the error budget for bad or rate-limited messages ran out (1008).
    TooManyBadMessages,
    /// WebSocket: a ping went unanswered (1008).
    NoPong,
    /// WebSocket: a message over the size limit (1009).
    MessageTooBig,
    /// WebSocket: a frame over the size limit (1009).
    FrameTooBig,
    /// WebSocket: text that is not UTF-8 (1007).
    InvalidUtf8,
    /// WebSocket: a protocol violation (1002).
    ProtocolError,
    /// WebSocket: the connection closed after the handshake ended.
    ConnectionClosed,
    /// WebSocket: the client stopped reading what the server wrote.
    StoppedReading,
    /// WebSocket: an I/O error.
    ConnectionBroke,
    /// WebSocket: the `101` went out but the connection could not be taken over.
    UpgradeFailed,
}

impl CloseReason {
    /// The sentence the traffic log (and a close frame) shows.
    pub fn sentence(self, transport: Transport) -> &'static str {
        let socket = transport == Transport::Websocket;
        match self {
            CloseReason::LimitReached => "the requested limit of events was reached",
            CloseReason::DurationPassed => "the requested duration has passed",
            CloseReason::ServerEnded => "the server ended it",
            CloseReason::ShuttingDown if socket => "server shutting down",
            CloseReason::ShuttingDown => "the server is shutting down",
            CloseReason::DroppedOnRequest if socket => "dropped on request",
            CloseReason::DroppedOnRequest => "the server dropped it on request",
            CloseReason::Deployed if socket => "the server is restarting (a deploy)",
            CloseReason::Deployed => "the server restarted (a deploy)",
            CloseReason::IdleTimeout if socket => "the idle-timeout killer cut it",
            CloseReason::IdleTimeout => "the idle-timeout killer closed it after a silence",
            CloseReason::ClientClosed if socket => "the client closed the connection",
            CloseReason::ClientClosed => "the client closed it",
            CloseReason::ClientVanished if socket => "the client vanished",
            CloseReason::ClientVanished => "the client went away",
            CloseReason::ShutDownWhileHalfOpen => {
                "the server shut down while the socket was half-open"
            }
            CloseReason::DroppedWhileHalfOpen => "dropped on request while half-open",
            CloseReason::ClientLeftWhileHalfOpen if socket => {
                "the client left while the socket was half-open"
            }
            CloseReason::ClientLeftWhileHalfOpen => "the client closed it while it was half-open",
            CloseReason::HalfOpenGaveUp => {
                "half-open: the server wrote nothing for the whole time and gave up on it"
            }
            CloseReason::TooManyBadMessages => "too many bad or rate-limited messages",
            CloseReason::NoPong => "no pong received in time",
            CloseReason::MessageTooBig => "message too big",
            CloseReason::FrameTooBig => "frame too big",
            CloseReason::InvalidUtf8 => "text is not valid UTF-8",
            CloseReason::ProtocolError => "protocol error",
            CloseReason::ConnectionClosed => "the connection was closed",
            CloseReason::StoppedReading => "the client stopped reading",
            CloseReason::ConnectionBroke => "the connection broke",
            CloseReason::UpgradeFailed => "the upgrade failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_and_a_socket_word_the_same_reason_for_their_reader() {
        assert_eq!(
            CloseReason::IdleTimeout.sentence(Transport::Sse),
            "the idle-timeout killer closed it after a silence"
        );
        assert_eq!(
            CloseReason::IdleTimeout.sentence(Transport::Websocket),
            "the idle-timeout killer cut it"
        );
        assert_eq!(
            CloseReason::NoPong.sentence(Transport::Websocket),
            "no pong received in time"
        );
    }
}
