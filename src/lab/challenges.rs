//! Challenges, golf-style: a goal judged from the learner's own traffic
//! since they pressed "start", with a score (lower is better), a hint and a
//! solution. The best score per learner is kept ([`super::bests`]).
//!
//! Each challenge is a goal text plus a judge: a function from the entries
//! recorded since the start to a [`Verdict`]. The routes are in
//! [`super::challenges_api`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::bests::{self, BestScores};
use super::faults::FaultSwitches;
use crate::learner_table::{LearnerTable, TableLimits};
use crate::traffic::{CloseReason, Direction, Entry, EntryKind, Transport};

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Not there yet; says how far along.
    Pending(String),
    Solved {
        score: u64,
        message: String,
    },
    Failed(String),
}

pub struct Challenge {
    pub id: &'static str,
    pub title: &'static str,
    pub goal: &'static str,
    /// What the score counts (lower is better).
    pub score_unit: &'static str,
    pub hint: &'static str,
    pub solution: &'static str,
    pub(super) judge: fn(&Evidence) -> Verdict,
}

/// What a judge gets to look at.
pub struct Evidence<'a> {
    /// The learner's traffic since they pressed start, oldest first.
    pub entries: &'a [Arc<Entry>],
    /// Their fault switches now.
    pub faults: FaultSwitches,
    /// When the attempt started and now, in milliseconds since the epoch.
    pub started_ms: u64,
    pub now_ms: u64,
}

pub const CHALLENGES: &[Challenge] = &[
    Challenge {
        id: "ten-updates-three-requests",
        title: "Ten for three",
        goal: "Receive 10 updates while opening at most 3 requests or connections \
               (publishing does not count).",
        score_unit: "requests and connections",
        hint: "Every poll is a request, answered or not. What if one request could carry many updates?",
        solution: "Open one stream — new EventSource(\"/api/sse\") — and publish or start a feed: \
                   10 events arrive over 1 connection. Score 1.",
        judge: judge_ten_for_three,
    },
    Challenge {
        id: "drop-and-miss-nothing",
        title: "Drop, resume, miss nothing",
        goal: "Have the server drop your SSE stream (\"Drop my SSE streams\"), then reconnect so that \
               no event is lost.",
        score_unit: "milliseconds from the drop to the resumed stream",
        hint: "After a drop, a new stream only knows where you were if you tell it: the Last-Event-ID \
               header (EventSource sends it by itself), or ?last_event_id=.",
        solution: "Open new EventSource(\"/api/sse\"), wait for an event, press \"Drop my SSE streams\". \
                   The browser reconnects after the retry delay with Last-Event-ID and the server replays \
                   what you missed.",
        judge: judge_drop_and_resume,
    },
    Challenge {
        id: "survive-the-idle-killer",
        title: "Outlive the idle killer",
        goal: "Turn on the idle-timeout killer (any timeout), then keep one SSE stream or WebSocket \
               open for 10 seconds longer than the timeout.",
        score_unit: "bytes spent on keeping it alive",
        hint: "A proxy closes connections that stay silent. Something has to be written before the \
               timeout: SSE comment lines, WebSocket pings.",
        solution: "Set the idle killer to 5 s, then open new EventSource(\"/api/sse?heartbeat=2\"): a \
                   comment every 2 s keeps the stream alive. With ?heartbeat=0 the killer closes it.",
        judge: judge_survive_idle,
    },
    Challenge {
        id: "chat-cheaper-than-polling",
        title: "Chat on a budget",
        goal: "Send at least 2 chat messages and receive one from another tab, spending fewer bytes \
               than a client polling once a second would have spent in the same time.",
        score_unit: "bytes",
        hint: "Polling pays for every empty answer. A stream only pays when there is something to say.",
        solution: "Open the chat in two tabs (lesson 8) and use the SSE side or the WebSocket side; \
                   post a couple of messages from each. Idle streams cost almost nothing.",
        judge: judge_chat_budget,
    },
];

/// What one idle 204 poll costs on the wire, roughly, in bytes.
const POLL_COST: u64 = 300;

fn judge_survive_idle(ev: &Evidence) -> Verdict {
    let Some(idle) = ev.faults.idle_timeout() else {
        return Verdict::Pending("Turn on the idle-timeout killer first (Fault switches).".into());
    };
    let needed_ms = idle.as_millis() as u64 + 10_000;
    let mut opened: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    let mut kept_alive = 0u64;
    for e in ev
        .entries
        .iter()
        .filter(|e| matches!(e.transport, Transport::Sse | Transport::Websocket))
    {
        match e.kind {
            EntryKind::Opened => {
                opened.insert(e.connection, e.at_ms);
            }
            EntryKind::Frame
                if matches!(e.frame.as_deref(), Some("heartbeat" | "ping" | "pong")) =>
            {
                kept_alive += e.bytes_up + e.bytes_down;
            }
            EntryKind::Closed if e.ended_by == Some(CloseReason::IdleTimeout) => {
                return Verdict::Failed(
                    "The idle-timeout killer closed a connection: it was silent for too long."
                        .into(),
                );
            }
            EntryKind::Closed => {
                opened.remove(&e.connection);
            }
            _ => {}
        }
    }
    match opened.values().min() {
        Some(&since) if ev.now_ms.saturating_sub(since) >= needed_ms => Verdict::Solved {
            score: kept_alive,
            message: format!("Alive for over {} s with the killer on.", needed_ms / 1000),
        },
        Some(&since) => Verdict::Pending(format!(
            "Open for {} of {} s.",
            ev.now_ms.saturating_sub(since) / 1000,
            needed_ms / 1000
        )),
        None => Verdict::Pending("Open an SSE stream or a WebSocket and keep it open.".into()),
    }
}

fn judge_chat_budget(ev: &Evidence) -> Verdict {
    let (mut sent, mut received, mut spent) = (0u64, 0u64, 0u64);
    let mut chat_streams = std::collections::HashSet::new();
    let is_type = |e: &Entry, t: &str| {
        e.preview
            .as_deref()
            .is_some_and(|p| p.contains(&format!("\"type\":\"{t}\"")))
    };
    for e in ev.entries {
        if e.kind != EntryKind::Closed {
            spent += e.bytes_up + e.bytes_down;
        }
        match (e.transport, e.kind) {
            (Transport::Api, EntryKind::Exchange)
                if e.method.as_deref() == Some("POST")
                    && e.path.as_deref() == Some("/api/chat") =>
            {
                sent += 1
            }
            (Transport::Websocket, EntryKind::Frame)
                if e.direction == Direction::Up && is_type(e, "chat") =>
            {
                sent += 1
            }
            (Transport::Websocket, EntryKind::Frame)
                if e.direction == Direction::Down && is_type(e, "chat") =>
            {
                received += 1
            }
            (Transport::Sse, EntryKind::Opened)
                if e.path.as_deref().is_some_and(|p| p.contains("topics=chat")) =>
            {
                chat_streams.insert(e.connection);
            }
            (Transport::Sse, EntryKind::Event) if chat_streams.contains(&e.connection) => {
                received += 1
            }
            _ => {}
        }
    }
    let elapsed_s = ev
        .now_ms
        .saturating_sub(ev.started_ms)
        .div_ceil(1000)
        .max(1);
    let polling_would = elapsed_s * POLL_COST;
    if sent >= 2 && received >= 1 {
        if spent < polling_would {
            Verdict::Solved {
                score: spent,
                message: format!(
                    "{spent} B for the chat; polling once a second for {elapsed_s} s would have cost about {polling_would} B."
                ),
            }
        } else {
            Verdict::Failed(format!(
                "{spent} B spent; polling once a second would have cost about {polling_would} B. Use a stream."
            ))
        }
    } else {
        Verdict::Pending(format!(
            "{sent} of 2 messages sent, {received} of 1 received; {spent} B so far."
        ))
    }
}

fn asks(e: &Entry) -> bool {
    e.transport != Transport::Api && matches!(e.kind, EntryKind::Exchange | EntryKind::Opened)
}

fn judge_ten_for_three(ev: &Evidence) -> Verdict {
    let entries = ev.entries;
    let (mut asked, mut updates) = (0u64, 0u64);
    for e in entries {
        if asks(e) {
            asked += 1;
            if asked > 3 {
                return Verdict::Failed(format!(
                    "That was request or connection number {asked}, and only {updates} updates had arrived. \
                     Reset and try with fewer, longer-lived requests."
                ));
            }
        }
        if e.transport != Transport::Api {
            updates += e.events_delivered() as u64;
        }
        if updates >= 10 {
            return Verdict::Solved {
                score: asked,
                message: format!("10 updates over {asked} request(s) or connection(s)."),
            };
        }
    }
    Verdict::Pending(format!(
        "{updates} of 10 updates, {asked} of 3 requests or connections used."
    ))
}

fn judge_drop_and_resume(ev: &Evidence) -> Verdict {
    let entries = ev.entries;
    let mut dropped_at: Option<u64> = None;
    for e in entries.iter().filter(|e| e.transport == Transport::Sse) {
        match e.kind {
            EntryKind::Closed if e.ended_by == Some(CloseReason::DroppedOnRequest) => {
                dropped_at.get_or_insert(e.at_ms);
            }
            EntryKind::Opened if dropped_at.is_some() => {
                let resumed = e
                    .path
                    .as_deref()
                    .is_some_and(|p| p.contains("last_event_id="))
                    || e.headers
                        .as_ref()
                        .is_some_and(|h| h.request_has("last-event-id"));
                if !resumed {
                    return Verdict::Failed(
                        "The new stream did not say where you left off (no Last-Event-ID), so events \
                         published in between were lost."
                            .into(),
                    );
                }
                let gap = e.at_ms.saturating_sub(dropped_at.unwrap_or(e.at_ms));
                return Verdict::Solved {
                    score: gap,
                    message: format!("Resumed with Last-Event-ID {gap} ms after the drop."),
                };
            }
            EntryKind::Frame
                if e.frame.as_deref() == Some("reset") && e.direction == Direction::Down =>
            {
                return Verdict::Failed(
                    "The server had to send a reset: the events you asked for were gone.".into(),
                );
            }
            _ => {}
        }
    }
    match dropped_at {
        None => Verdict::Pending("Open an SSE stream, then drop it from the server side.".into()),
        Some(_) => Verdict::Pending("Dropped. Now reconnect.".into()),
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Attempt {
    /// Only entries after this `seq` count.
    pub(super) start_seq: Option<u64>,
    pub(super) started_ms: u64,
}

pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Every learner's attempts (challenge id → where "start" was pressed) and best scores.
pub struct Challenges {
    attempts: Mutex<LearnerTable<HashMap<&'static str, Attempt>>>,
    pub(super) bests: BestScores,
}

impl Default for Challenges {
    fn default() -> Self {
        Challenges::new(TableLimits::DEFAULT, None)
    }
}

impl Challenges {
    /// Challenges bounded by `limits`, their best scores saved through `persist` if given.
    pub fn new(limits: TableLimits, persist: Option<Arc<dyn bests::Persist>>) -> Self {
        Challenges {
            attempts: Mutex::new(LearnerTable::new(limits)),
            bests: BestScores::new(limits, persist),
        }
    }

    pub(super) fn attempts(&self) -> MutexGuard<'_, LearnerTable<HashMap<&'static str, Attempt>>> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner())
    }
}
