//! "Drop my connections": lets a learner (or a lesson's play mode) make the
//! server cut their open SSE streams or WebSockets, to watch what each
//! transport does about it. Each open connection watches a counter for its
//! learner and transport; bumping the counter ends them all. With
//! `reconnect: false` the learner's next SSE reconnect also gets `204 No
//! Content`, which tells an `EventSource` to stop for good.
//!
//! Its endpoint is `app::api::drops`; the transports watch the counters here.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::traffic::Transport;

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
