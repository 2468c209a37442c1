//! `POST /api/connections/drop`: a learner cuts their own SSE streams or
//! WebSockets ([`crate::drops`] keeps the counters the connections watch).

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::ApiTags;
use crate::drops::Drops;
use crate::problem::ApiError;
use crate::traffic::{Learner, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DropTarget {
    Sse,
    Websocket,
    All,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct DropRequest {
    /// Which of my connections to cut: `sse`, `websocket` or `all`.
    pub transport: DropTarget,
    /// `false`: also answer my next SSE reconnect (a request with
    /// `Last-Event-ID` or `?last_event_id`) with `204 No Content`, which
    /// makes `EventSource` stop for good. Default `true`.
    #[oai(default = "reconnect_by_default")]
    pub reconnect: bool,
}

fn reconnect_by_default() -> bool {
    true
}

impl poem_openapi::types::Example for DropRequest {
    fn example() -> Self {
        DropRequest {
            transport: DropTarget::Sse,
            reconnect: true,
        }
    }
}

#[derive(Debug, Object)]
pub struct Dropped {
    /// Connections that were cut.
    pub dropped: u64,
}

pub struct DropsApi {
    pub drops: Arc<Drops>,
}

#[OpenApi]
impl DropsApi {
    /// Drop my connections (server side)
    ///
    /// The server cuts your open SSE streams and/or WebSockets, as a flaky
    /// network or a restarting proxy would. Watch the difference: a browser's
    /// `EventSource` reconnects by itself and resumes with `Last-Event-ID`;
    /// a WebSocket (closed with 1001) stays closed unless your code reconnects.
    ///
    /// With `"reconnect": false` (and `transport` `sse` or `all`) the server
    /// also answers your next SSE reconnect (`GET /api/sse` with
    /// `Last-Event-ID` or `?last_event_id`) with `204 No Content`, once: the
    /// WHATWG spec's way to tell an `EventSource` to stop reconnecting
    /// (`readyState` becomes `CLOSED`). The reconnect after that gets `200` again.
    #[oai(path = "/connections/drop", method = "post", tag = "ApiTags::Events")]
    async fn drop_mine(
        &self,
        learner: Learner,
        body: Json<DropRequest>,
    ) -> Result<Json<Dropped>, ApiError> {
        let targets: &[Transport] = match body.transport {
            DropTarget::Sse => &[Transport::Sse],
            DropTarget::Websocket => &[Transport::Websocket],
            DropTarget::All => &[Transport::Sse, Transport::Websocket],
        };
        // Before the cut, so even an instant reconnect is refused.
        if !body.reconnect && body.transport != DropTarget::Websocket {
            self.drops.refuse_next_reconnect(&learner.id);
        }
        let dropped = targets
            .iter()
            .map(|t| self.drops.drop_connections(&learner.id, *t) as u64)
            .sum();
        // Errors only come from parsing the body (400, 413, 415) and the origin check (403).
        Ok(Json(Dropped { dropped }))
    }
}
