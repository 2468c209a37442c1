//! Challenges, golf-style: a goal judged from the learner's own traffic
//! since they pressed "start", with a score (lower is better), a hint and a
//! solution. The best score per learner is kept ([`super::bests`]).
//!
//! Each challenge is a goal text plus a judge: a function from the entries
//! recorded since the start to a [`Verdict`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::bests::{self, BestScores};
use super::faults::{FaultSwitches, Faults};
use crate::problem::ApiError;
use crate::traffic::{CloseReason, Direction, Entry, EntryKind, Learner, TrafficLog, Transport};

/// Most (learner, challenge) attempts remembered.
const MAX_ATTEMPTS: usize = 20_000;

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
    judge: fn(&Evidence) -> Verdict,
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
struct Attempt {
    /// Only entries after this `seq` count.
    start_seq: Option<u64>,
    started_ms: u64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[derive(Default)]
pub struct Challenges {
    attempts: Mutex<HashMap<(Arc<str>, &'static str), Attempt>>,
    bests: BestScores,
}

impl Challenges {
    /// Challenges whose best scores are saved through `persist`.
    pub fn persistent(persist: Arc<dyn bests::Persist>) -> Self {
        Challenges {
            attempts: Mutex::default(),
            bests: BestScores::persistent(persist),
        }
    }

    fn attempts(&self) -> MutexGuard<'_, HashMap<(Arc<str>, &'static str), Attempt>> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum State {
    /// Not started (or reset).
    Idle,
    Pending,
    Solved,
    Failed,
}

#[derive(Debug, Object)]
pub struct ChallengeStatus {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub score_unit: String,
    pub hint: String,
    pub solution: String,
    pub state: State,
    /// What the judge says about the current attempt.
    pub message: String,
    /// This attempt's score, when solved (lower is better).
    #[oai(nullable)]
    pub score: Option<u64>,
    /// Your best score so far.
    #[oai(nullable)]
    pub best: Option<u64>,
}

pub struct ChallengesApi {
    pub challenges: Arc<Challenges>,
    pub traffic: TrafficLog,
    pub faults: Arc<Faults>,
}

impl ChallengesApi {
    fn find(id: &str) -> Result<&'static Challenge, ApiError> {
        CHALLENGES
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ApiError::not_found(format!("There is no challenge called {id:?}.")))
    }

    fn status(&self, learner: &Arc<str>, c: &'static Challenge) -> ChallengeStatus {
        let attempt = self
            .challenges
            .attempts()
            .get(&(learner.clone(), c.id))
            .copied()
            .unwrap_or_default();
        let (state, message, score) = match attempt.start_seq {
            None => (State::Idle, "Press start, then go.".to_owned(), None),
            Some(start) => {
                let entries = self.traffic.entries(learner, None, start, usize::MAX);
                let evidence = Evidence {
                    entries: &entries,
                    faults: self.faults.of(learner),
                    started_ms: attempt.started_ms,
                    now_ms: now_ms(),
                };
                match (c.judge)(&evidence) {
                    Verdict::Pending(m) => (State::Pending, m, None),
                    Verdict::Failed(m) => (State::Failed, m, None),
                    Verdict::Solved { score, message } => (State::Solved, message, Some(score)),
                }
            }
        };
        let best = self.challenges.bests.best_after(learner, c.id, score);
        ChallengeStatus {
            id: c.id.into(),
            title: c.title.into(),
            goal: c.goal.into(),
            score_unit: c.score_unit.into(),
            hint: c.hint.into(),
            solution: c.solution.into(),
            state,
            message,
            score,
            best,
        }
    }

    fn set_start(&self, learner: &Arc<str>, c: &'static Challenge, start: Option<u64>) {
        let mut attempts = self.challenges.attempts();
        if attempts.len() >= MAX_ATTEMPTS && !attempts.contains_key(&(learner.clone(), c.id)) {
            // Forget idle attempts first; bounded whatever clients do.
            attempts.retain(|_, a| a.start_seq.is_some());
            if attempts.len() >= MAX_ATTEMPTS {
                attempts.clear();
            }
        }
        let attempt = attempts.entry((learner.clone(), c.id)).or_default();
        attempt.start_seq = start;
        attempt.started_ms = now_ms();
    }
}

#[OpenApi]
impl ChallengesApi {
    /// The challenges, with my state and best scores
    #[oai(path = "/lab/challenges", method = "get", tag = "super::LabTags::Lab")]
    async fn list(&self, learner: Learner) -> Json<Vec<ChallengeStatus>> {
        Json(
            CHALLENGES
                .iter()
                .map(|c| self.status(&learner.id, c))
                .collect(),
        )
    }

    /// One challenge, judged now from my traffic since I started it
    #[oai(
        path = "/lab/challenges/:id",
        method = "get",
        tag = "super::LabTags::Lab"
    )]
    async fn get(
        &self,
        learner: Learner,
        id: Path<String>,
    ) -> Result<Json<ChallengeStatus>, ApiError> {
        let c = Self::find(&id)?;
        Ok(Json(self.status(&learner.id, c)))
    }

    /// Start (or restart) a challenge: only traffic from now on counts
    #[oai(
        path = "/lab/challenges/:id/start",
        method = "post",
        tag = "super::LabTags::Lab"
    )]
    async fn start(
        &self,
        learner: Learner,
        id: Path<String>,
    ) -> Result<Json<ChallengeStatus>, ApiError> {
        let c = Self::find(&id)?;
        self.set_start(&learner.id, c, Some(self.traffic.last_seq()));
        Ok(Json(self.status(&learner.id, c)))
    }

    /// Reset a challenge (the best score stays)
    #[oai(
        path = "/lab/challenges/:id/reset",
        method = "post",
        tag = "super::LabTags::Lab"
    )]
    async fn reset(
        &self,
        learner: Learner,
        id: Path<String>,
    ) -> Result<Json<ChallengeStatus>, ApiError> {
        let c = Self::find(&id)?;
        self.set_start(&learner.id, c, None);
        Ok(Json(self.status(&learner.id, c)))
    }
}
