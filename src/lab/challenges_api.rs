//! `/api/lab/challenges…`: the challenges with my state and best scores,
//! judged now from my traffic since I pressed start ([`super::challenges`]).

use std::collections::HashMap;
use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use tokio::time::Instant;

use super::challenges::{Attempt, CHALLENGES, Challenge, Challenges, Evidence, Verdict, now_ms};
use super::faults::Faults;
use crate::learner_table::TooManyNewLearners;
use crate::problem::ApiError;
use crate::traffic::{Learner, TrafficLog};

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

    fn status(
        &self,
        who: &Learner,
        c: &'static Challenge,
    ) -> Result<ChallengeStatus, TooManyNewLearners> {
        let learner = &who.id;
        let attempt = self
            .challenges
            .attempts()
            .get_mut(learner, Instant::now())
            .and_then(|mine| mine.get(c.id).copied())
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
        let best = self.challenges.bests.best_after(who, c.id, score)?;
        Ok(ChallengeStatus {
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
        })
    }

    /// Starts `c` over for `who` from `start` (`None`: resets it).
    fn set_start(
        &self,
        who: &Learner,
        c: &'static Challenge,
        start: Option<u64>,
    ) -> Result<(), TooManyNewLearners> {
        let mut attempts = self.challenges.attempts();
        let now = Instant::now();
        let mine = match start {
            Some(_) => attempts.admit(&who.id, who.address, now, HashMap::new)?,
            None => match attempts.get_mut(&who.id, now) {
                Some(mine) => mine,
                None => return Ok(()),
            },
        };
        mine.insert(
            c.id,
            Attempt {
                start_seq: start,
                started_ms: now_ms(),
            },
        );
        Ok(())
    }
}

#[OpenApi]
impl ChallengesApi {
    /// The challenges, with my state and best scores
    #[oai(path = "/lab/challenges", method = "get", tag = "super::LabTags::Lab")]
    async fn list(&self, learner: Learner) -> Result<Json<Vec<ChallengeStatus>>, ApiError> {
        let all: Result<Vec<_>, _> = CHALLENGES
            .iter()
            .map(|c| self.status(&learner, c))
            .collect();
        Ok(Json(all?))
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
        Ok(Json(self.status(&learner, c)?))
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
        self.set_start(&learner, c, Some(self.traffic.last_seq()))?;
        Ok(Json(self.status(&learner, c)?))
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
        self.set_start(&learner, c, None)?;
        Ok(Json(self.status(&learner, c)?))
    }
}
