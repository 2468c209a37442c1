//! Challenges, golf-style: a goal judged from the learner's own traffic
//! since they pressed "start", with a score (lower is better), a hint and a
//! solution. The best score per learner is kept.
//!
//! Each challenge is a goal text plus a judge: a function from the entries
//! recorded since the start to a [`Verdict`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use crate::problem::ApiError;
use crate::traffic::{Direction, Entry, EntryKind, Learner, TrafficLog, Transport};

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
    judge: fn(&[Arc<Entry>]) -> Verdict,
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
];

fn asks(e: &Entry) -> bool {
    e.transport != Transport::Api && matches!(e.kind, EntryKind::Exchange | EntryKind::Opened)
}

fn judge_ten_for_three(entries: &[Arc<Entry>]) -> Verdict {
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

fn judge_drop_and_resume(entries: &[Arc<Entry>]) -> Verdict {
    let mut dropped_at: Option<u64> = None;
    for e in entries.iter().filter(|e| e.transport == Transport::Sse) {
        match e.kind {
            EntryKind::Closed
                if e.close_reason
                    .as_deref()
                    .is_some_and(|r| r.contains("dropped it on request")) =>
            {
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
    best: Option<u64>,
}

#[derive(Default)]
pub struct Challenges {
    attempts: Mutex<HashMap<(Arc<str>, &'static str), Attempt>>,
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
    pub score: Option<u64>,
    /// Your best score so far.
    pub best: Option<u64>,
}

pub struct ChallengesApi {
    pub challenges: Arc<Challenges>,
    pub traffic: TrafficLog,
}

impl ChallengesApi {
    fn find(id: &str) -> Result<&'static Challenge, ApiError> {
        CHALLENGES
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ApiError::not_found(format!("There is no challenge called {id:?}.")))
    }

    fn status(&self, learner: &Arc<str>, c: &'static Challenge) -> ChallengeStatus {
        let key = (learner.clone(), c.id);
        let attempt = self
            .challenges
            .attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .copied()
            .unwrap_or_default();
        let (state, message, score) = match attempt.start_seq {
            None => (State::Idle, "Press start, then go.".to_owned(), None),
            Some(start) => {
                let entries = self.traffic.entries(learner, None, start, usize::MAX);
                match (c.judge)(&entries) {
                    Verdict::Pending(m) => (State::Pending, m, None),
                    Verdict::Failed(m) => (State::Failed, m, None),
                    Verdict::Solved { score, message } => (State::Solved, message, Some(score)),
                }
            }
        };
        let mut best = attempt.best;
        if let Some(score) = score
            && best.is_none_or(|b| score < b)
        {
            best = Some(score);
            let mut attempts = self
                .challenges
                .attempts
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(a) = attempts.get_mut(&key) {
                a.best = best;
            }
        }
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
        let mut attempts = self
            .challenges
            .attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if attempts.len() >= MAX_ATTEMPTS && !attempts.contains_key(&(learner.clone(), c.id)) {
            // Forget idle attempts first; bounded whatever clients do.
            attempts.retain(|_, a| a.start_seq.is_some());
            if attempts.len() >= MAX_ATTEMPTS {
                attempts.clear();
            }
        }
        attempts
            .entry((learner.clone(), c.id))
            .or_default()
            .start_seq = start;
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
