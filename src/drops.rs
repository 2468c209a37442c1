//! "Drop my connections": lets a learner (or a lesson's play mode) make the
//! server cut their open SSE streams or WebSockets, to watch what each
//! transport does about it. Each open connection watches a counter for its
//! learner and transport; bumping the counter ends them all. With
//! `reconnect: false` the learner's next SSE reconnect also gets `204 No
//! Content`, which tells an `EventSource` to stop for good.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use tokio::sync::watch;

use crate::api::ApiTags;
use crate::problem::ApiError;
use crate::traffic::{Learner, Transport};

type Key = (Arc<str>, Transport);

/// Most learners whose next SSE reconnect is refused at once (oldest forgotten first).
const MAX_REFUSALS: usize = 1024;

#[derive(Default)]
pub struct Drops {
    senders: Mutex<HashMap<Key, watch::Sender<u64>>>,
    /// Learners whose next SSE reconnect gets `204 No Content` (one-shot).
    refusals: Mutex<VecDeque<Arc<str>>>,
}

impl Drops {
    /// A receiver that changes when this learner's connections of this kind are dropped.
    pub fn watch(&self, learner: &Arc<str>, transport: Transport) -> watch::Receiver<u64> {
        let mut senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        if senders.len() > 1024 {
            senders.retain(|_, s| s.receiver_count() > 0);
        }
        senders
            .entry((learner.clone(), transport))
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Drops them; returns how many connections were listening.
    pub fn drop_connections(&self, learner: &Arc<str>, transport: Transport) -> usize {
        let senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        match senders.get(&(learner.clone(), transport)) {
            Some(s) => {
                s.send_modify(|n| *n += 1);
                s.receiver_count()
            }
            None => 0,
        }
    }

    /// Remembers to answer this learner's next SSE reconnect with `204`.
    pub fn refuse_next_reconnect(&self, learner: &Arc<str>) {
        let mut refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        if !refusals.contains(learner) {
            if refusals.len() >= MAX_REFUSALS {
                refusals.pop_front();
            }
            refusals.push_back(learner.clone());
        }
    }

    /// True (once) if this learner's reconnect must be refused.
    pub fn take_refusal(&self, learner: &Arc<str>) -> bool {
        let mut refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        match refusals.iter().position(|l| l == learner) {
            Some(i) => refusals.remove(i).is_some(),
            None => false,
        }
    }
}

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
