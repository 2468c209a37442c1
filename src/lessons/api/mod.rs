//! `/api/lessons…`: the lesson list with my progress, one lesson (rendered
//! HTML, steps, checks, play scripts), my progress on it (computed from my
//! traffic since I entered each step, and from what other instances counted
//! of it), resetting it, and exercise answers. A `GET` only looks; what
//! becomes done is kept by the `POST`s.
//!
//! The handlers stay thin: [`detail`] and [`standing`] are what the answers
//! look like, [`answers`] judges exercise answers, and [`crate::lessons::judge`]
//! judges the checks.

pub mod answers;
pub mod detail;
pub mod standing;

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};

pub use answers::{AnswerKind, AnswerRequest, AnswerResult, KeyPointResult};
pub use detail::{
    CheckInfo, FactorInfo, LessonDetail, LessonSummary, PlayStep, PredictInfo, ScenarioInfo,
    StepDetail,
};
pub use standing::{
    CheckProgress, Hint, Hints, PredictionProgress, PredictionRequest, Progress, StepProgress,
};

use super::judge::{self, Effect, Elsewhere};
use super::other_instances::{self, OtherInstances};
use super::progress::{Prediction, ProgressStore};
use super::{Lesson, Library};
use crate::problem::ApiError;
use crate::traffic::{Actor, Learner, TrafficLog};

#[derive(Tags)]
enum LessonTags {
    /// The lessons, and your progress through them.
    Lessons,
}

pub struct LessonsApi {
    pub library: Arc<Library>,
    pub progress: Arc<ProgressStore>,
    pub traffic: TrafficLog,
    /// The scaling lesson's other instances, whose logs hold part of the learner's traffic.
    pub others: Arc<dyn OtherInstances>,
}

impl LessonsApi {
    fn lessons(&self) -> Result<Arc<Vec<Lesson>>, ApiError> {
        self.library
            .lessons()
            .map_err(|e| ApiError::unavailable(format!("The lessons could not be loaded: {e}")))
    }

    fn find(&self, slug: &str) -> Result<(Arc<Vec<Lesson>>, usize), ApiError> {
        let lessons = self.lessons()?;
        let i = lessons
            .iter()
            .position(|l| l.meta.slug == slug)
            .ok_or_else(|| ApiError::not_found(format!("There is no lesson called {slug:?}.")))?;
        Ok((lessons, i))
    }

    /// The lesson and the index of one of its steps.
    fn find_step(
        &self,
        slug: &str,
        step: &str,
    ) -> Result<(Arc<Vec<Lesson>>, usize, usize), ApiError> {
        let (lessons, i) = self.find(slug)?;
        let s = lessons[i]
            .steps
            .iter()
            .position(|s| s.id == step)
            .ok_or_else(|| {
                ApiError::not_found(format!("Lesson {slug:?} has no step called {step:?}."))
            })?;
        Ok((lessons, i, s))
    }

    /// What the other instances counted for this learner, for a lesson
    /// that uses them (nothing otherwise).
    async fn elsewhere(&self, learner: &str, lesson: &Lesson, effect: Effect) -> Elsewhere {
        if uses_cluster(lesson) {
            other_instances::counted(&*self.others, learner, &lesson.meta.slug, effect).await
        } else {
            Elsewhere::new()
        }
    }

    /// Judges every checked step for a learner now. With [`Effect::Record`]
    /// what became done or watched is kept; with [`Effect::Look`] it is
    /// shown as it would be kept, and nothing changes.
    async fn judged(
        &self,
        who: &Learner,
        lesson: &Lesson,
        effect: Effect,
    ) -> Result<Progress, ApiError> {
        let learner = &who.id;
        let elsewhere = self.elsewhere(learner, lesson, effect).await;
        let slug = &lesson.meta.slug;
        let mut state = self.progress.get(learner, slug);
        let entries = match judge::earliest_window(lesson, &state) {
            Some(since) => self.traffic.entries(learner, None, since, usize::MAX),
            None => Vec::new(),
        };
        let verdicts = judge::judge(lesson, &state, &entries, &elsewhere);
        if judge::anything_new(&verdicts) {
            state = match effect {
                Effect::Look => {
                    judge::keep(&mut state, &verdicts);
                    state
                }
                Effect::Record => self.progress.update(who, slug, |s| {
                    judge::keep(s, &verdicts);
                    s.clone()
                })?,
            };
        }
        Ok(standing::progress(slug, &verdicts, &state))
    }

    /// The progress of one step, judged and recorded now.
    async fn step_now(
        &self,
        who: &Learner,
        lesson: &Lesson,
        step: usize,
    ) -> Result<StepProgress, ApiError> {
        let progress = self.judged(who, lesson, Effect::Record).await?;
        Ok(standing::step_of(progress, &lesson.steps[step].id))
    }
}

/// Whether a lesson drives the cluster lab's instances (its traffic is partly theirs).
fn uses_cluster(lesson: &Lesson) -> bool {
    lesson
        .steps
        .iter()
        .any(|s| s.widget.as_deref() == Some("cluster"))
}

#[OpenApi]
impl LessonsApi {
    /// The lessons, with my progress
    #[oai(path = "/lessons", method = "get", tag = "LessonTags::Lessons")]
    async fn list(&self, learner: Learner) -> Result<Json<Vec<LessonSummary>>, ApiError> {
        let lessons = self.lessons()?;
        Ok(Json(
            lessons
                .iter()
                .map(|l| detail::summary(l, &self.progress.get(&learner.id, &l.meta.slug)))
                .collect(),
        ))
    }

    /// One lesson
    ///
    /// Rendered HTML per step, with the live widget each step embeds, its
    /// checks, how many hints it has, its prediction question and its
    /// "show me" script.
    #[oai(path = "/lessons/:slug", method = "get", tag = "LessonTags::Lessons")]
    async fn lesson(
        &self,
        /// e.g. `polling`.
        #[oai(example = "example_slug")]
        slug: Path<String>,
    ) -> Result<Json<LessonDetail>, ApiError> {
        let (lessons, i) = self.find(&slug)?;
        Ok(Json(detail::detail(&lessons, i)))
    }

    /// My progress on a lesson
    ///
    /// Each step's checks, counted from my own traffic since I entered that
    /// step (play mode's traffic counts as watched, not done). Steps stay
    /// done once their checks held. This only looks: `POST` on the same path
    /// keeps what became done (the lesson page sends it as you go).
    #[oai(
        path = "/lessons/:slug/progress",
        method = "get",
        tag = "LessonTags::Lessons"
    )]
    async fn progress(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
    ) -> Result<Json<Progress>, ApiError> {
        let (lessons, i) = self.find(&slug)?;
        Ok(Json(
            self.judged(&learner, &lessons[i], Effect::Look).await?,
        ))
    }

    /// Record my progress on a lesson
    ///
    /// Judges each step as `GET` does, and keeps what became done or
    /// watched (the measurement beside a prediction is frozen then). The
    /// lesson page sends it as the learner goes.
    #[oai(
        path = "/lessons/:slug/progress",
        method = "post",
        tag = "LessonTags::Lessons"
    )]
    async fn record(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
    ) -> Result<Json<Progress>, ApiError> {
        let (lessons, i) = self.find(&slug)?;
        Ok(Json(
            self.judged(&learner, &lessons[i], Effect::Record).await?,
        ))
    }

    /// Enter a step (start it over)
    ///
    /// Opens the step's window: from now on, only traffic after this moment
    /// counts for the step's checks. Entering again starts the step over; a
    /// step already done stays done. `from_start=true` opens the window at
    /// the start of this server's log instead (the cluster lab uses it for
    /// instances started after the learner entered the step).
    #[oai(
        path = "/lessons/:slug/steps/:step/enter",
        method = "post",
        tag = "LessonTags::Lessons"
    )]
    async fn enter(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
        #[oai(example = "example_step")] step: Path<String>,
        /// Count this server's whole log for the step, not only what follows.
        #[oai(default)]
        from_start: Query<bool>,
    ) -> Result<Json<StepProgress>, ApiError> {
        let (lessons, i, s) = self.find_step(&slug, &step)?;
        let (lesson, id) = (&lessons[i], &lessons[i].steps[s].id);
        let now = if *from_start {
            0
        } else {
            self.traffic.last_seq()
        };
        self.progress.update(&learner, &lesson.meta.slug, |st| {
            let at = st.tick();
            let step = st.steps.entry(id.clone()).or_default();
            step.entered_seq = now;
            step.entered_at = at;
        })?;
        if uses_cluster(lesson) {
            other_instances::enter_step(&*self.others, &learner.id, &lesson.meta.slug, id).await;
        }
        Ok(Json(self.step_now(&learner, lesson, s).await?))
    }

    /// Reveal the next hint of a step
    ///
    /// Hints come one at a time, each more direct than the last. Taking one
    /// is recorded: a step done after a hint counts as done with help.
    /// Answers every hint revealed so far.
    #[oai(
        path = "/lessons/:slug/steps/:step/hints",
        method = "post",
        tag = "LessonTags::Lessons"
    )]
    async fn hint(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
        #[oai(example = "example_step")] step: Path<String>,
    ) -> Result<Json<Hints>, ApiError> {
        let (lessons, i, s) = self.find_step(&slug, &step)?;
        let (lesson, the_step) = (&lessons[i], &lessons[i].steps[s]);
        let total = the_step.hints.len();
        if total == 0 {
            return Err(ApiError::not_found("This step has no hints."));
        }
        let used = self.progress.update(&learner, &lesson.meta.slug, |st| {
            let step_state = st.steps.entry(the_step.id.clone()).or_default();
            if !step_state.done {
                step_state.hints_used = (step_state.hints_used + 1).min(total as u8);
            }
            usize::from(step_state.hints_used.max(1)).min(total)
        })?;
        Ok(Json(standing::revealed(the_step, used)))
    }

    /// Hints of a step I already revealed
    #[oai(
        path = "/lessons/:slug/steps/:step/hints",
        method = "get",
        tag = "LessonTags::Lessons"
    )]
    async fn hints_taken(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
        #[oai(example = "example_step")] step: Path<String>,
    ) -> Result<Json<Hints>, ApiError> {
        let (lessons, i, s) = self.find_step(&slug, &step)?;
        let the_step = &lessons[i].steps[s];
        let state = self.progress.get(&learner.id, &lessons[i].meta.slug);
        let used = state
            .steps
            .get(&the_step.id)
            .map_or(0, |st| usize::from(st.hints_used))
            .min(the_step.hints.len());
        Ok(Json(standing::revealed(the_step, used)))
    }

    /// Record that I asked to be shown a step
    ///
    /// The page then plays the step ("show me"). Recorded like a hint: a
    /// step done after it counts as done with help. What play mode does
    /// marks the step watched, never done.
    #[oai(
        path = "/lessons/:slug/steps/:step/shown",
        method = "post",
        tag = "LessonTags::Lessons"
    )]
    async fn shown(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
        #[oai(example = "example_step")] step: Path<String>,
    ) -> Result<Json<StepProgress>, ApiError> {
        let (lessons, i, s) = self.find_step(&slug, &step)?;
        let (lesson, id) = (&lessons[i], &lessons[i].steps[s].id);
        if lesson.steps[s].play.is_empty() {
            return Err(ApiError::not_found("This step has nothing to show."));
        }
        self.progress.update(&learner, &lesson.meta.slug, |st| {
            let step_state = st.steps.entry(id.clone()).or_default();
            if !step_state.done {
                step_state.shown = true;
            }
        })?;
        Ok(Json(self.step_now(&learner, lesson, s).await?))
    }

    /// Predict a step's number
    ///
    /// Before measuring, say what you expect. Once the step is done, its
    /// progress puts your prediction beside the measurement. A prediction
    /// can be changed until the step is done.
    #[oai(
        path = "/lessons/:slug/steps/:step/prediction",
        method = "put",
        tag = "LessonTags::Lessons"
    )]
    async fn predict(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
        #[oai(example = "example_step")] step: Path<String>,
        body: Json<PredictionRequest>,
    ) -> Result<Json<StepProgress>, ApiError> {
        let (lessons, i, s) = self.find_step(&slug, &step)?;
        let (lesson, id) = (&lessons[i], &lessons[i].steps[s].id);
        if lesson.steps[s].predict.is_none() {
            return Err(ApiError::not_found("This step asks for no prediction."));
        }
        let value = body.0.value;
        if !value.is_finite() || !(0.0..=1_000_000.0).contains(&value) {
            return Err(ApiError::bad_request(
                "A prediction is a number from 0 to 1000000.",
            ));
        }
        let accepted = self.progress.update(&learner, &lesson.meta.slug, |st| {
            let step_state = st.steps.entry(id.clone()).or_default();
            if step_state.done {
                return false;
            }
            step_state.prediction = Some(Prediction {
                value,
                measured: None,
            });
            true
        })?;
        if !accepted {
            return Err(ApiError::conflict(
                "This step is done: its prediction is kept as it was. Start the lesson over to predict again.",
            ));
        }
        Ok(Json(self.step_now(&learner, lesson, s).await?))
    }

    /// Start a lesson over
    ///
    /// Forgets every step, hint, prediction and answer of the lesson.
    #[oai(
        path = "/lessons/:slug/reset",
        method = "post",
        tag = "LessonTags::Lessons"
    )]
    async fn reset(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
    ) -> Result<Json<Progress>, ApiError> {
        let (lessons, i) = self.find(&slug)?;
        let lesson = &lessons[i];
        self.progress.reset(&learner, &lesson.meta.slug)?;
        if uses_cluster(lesson) {
            other_instances::reset_lesson(&*self.others, &learner.id, &lesson.meta.slug).await;
        }
        Ok(Json(self.judged(&learner, lesson, Effect::Record).await?))
    }

    /// Answer an exercise
    ///
    /// A scenario of the decision exercise (`kind: decision`) or the
    /// interview answer (`kind: interview`, 1 to 2000 characters). Answers
    /// are judged and explained, and count for the step you are in (play
    /// mode's, sent with `actor=play`, count as watched). A lesson accepts
    /// only the kinds it asks for (`when-to-use`: decisions, `interview`: the
    /// interview answer); any other is a `400`.
    #[oai(
        path = "/lessons/:slug/answers",
        method = "post",
        tag = "LessonTags::Lessons"
    )]
    async fn answer(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
        /// `play` when play mode ("show me") answers for the learner.
        actor: Query<Option<Actor>>,
        body: Json<AnswerRequest>,
    ) -> Result<Json<AnswerResult>, ApiError> {
        let (lessons, i) = self.find(&slug)?;
        let played = actor.0 == Some(Actor::Play);
        let (result, kept) = answers::judge(&lessons[i], &body.0)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        self.progress
            .update(&learner, &lessons[i].meta.slug, |s| kept.keep(s, played))?;
        Ok(Json(result))
    }
}

fn example_slug() -> String {
    "polling".into()
}

fn example_step() -> String {
    "any-update-no".into()
}
