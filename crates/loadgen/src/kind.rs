//! The four kinds of client a run may start, in the order they connect.

use serde::{Deserialize, Serialize};

/// The four kinds of client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Sse,
    Websocket,
    LongPoll,
    Poll,
}

impl Kind {
    /// In connect order: the long-lived connections first.
    pub const ALL: [Kind; 4] = [Kind::Sse, Kind::Websocket, Kind::LongPoll, Kind::Poll];
    /// The kinds that hold a stream open and get every event pushed.
    pub const STREAMS: [Kind; 2] = [Kind::Sse, Kind::Websocket];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Sse => "sse",
            Kind::Websocket => "websocket",
            Kind::LongPoll => "long-poll",
            Kind::Poll => "poll",
        }
    }

    /// Whether clients of this kind hold a stream open (SSE, WebSocket).
    pub fn is_stream(self) -> bool {
        matches!(self, Kind::Sse | Kind::Websocket)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
