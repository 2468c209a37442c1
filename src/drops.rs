//! "Drop my connections": lets a learner (or a lesson's play mode) make the
//! server cut their open SSE streams or WebSockets, to watch what each
//! transport does about it. Each open connection watches a counter for its
//! learner and transport; bumping the counter ends them all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use tokio::sync::watch;

use crate::api::ApiTags;
use crate::problem::ApiError;
use crate::traffic::{Learner, Transport};

type Key = (Arc<str>, Transport);

#[derive(Default)]
pub struct Drops {
    senders: Mutex<HashMap<Key, watch::Sender<u64>>>,
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
}

impl poem_openapi::types::Example for DropRequest {
    fn example() -> Self {
        DropRequest {
            transport: DropTarget::Sse,
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
        let dropped = targets
            .iter()
            .map(|t| self.drops.drop_connections(&learner.id, *t) as u64)
            .sum();
        // Errors only come from parsing the body (400, 413, 415) and the origin check (403).
        Ok(Json(Dropped { dropped }))
    }
}
