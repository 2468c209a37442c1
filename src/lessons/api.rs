//! `/api/lessons…`: the lesson list with my progress, one lesson (rendered
//! HTML, steps, checks, play scripts), my progress on it (computed from my
//! traffic since I started the lesson), resetting it, and exercise answers.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi, Tags};

use super::exercises::{Choice, Factor, KEY_POINTS, MODEL_ANSWER, SCENARIOS, Scenario};
use super::judge::{self, Elsewhere};
use super::progress::{Answer, Decision, Prediction, ProgressStore, StepState};
use super::{Lesson, Library, PlayAction, Step};
use crate::lab::cluster::ClusterLab;
use crate::problem::ApiError;
use crate::traffic::{Actor, Learner, TrafficLog};

#[derive(Tags)]
enum LessonTags {
    /// The lessons, and your progress through them.
    Lessons,
}

/// Longest interview answer accepted, in characters (so at most 8000 bytes
/// of UTF-8): "three to six sentences" fit many times over, and a learner's
/// kept answer stays small.
const MAX_ANSWER_CHARS: usize = 2000;

#[derive(Debug, Object)]
pub struct LessonSummary {
    pub slug: String,
    pub title: String,
    pub order: u32,
    /// `overview`, `poll`, `long_poll`, `sse`, `websocket` or `compare`.
    pub transport: String,
    pub summary: String,
    /// Estimated minutes.
    pub minutes: u32,
    /// Steps in the lesson.
    pub steps: u32,
    /// Steps with a check.
    pub checked_steps: u32,
    /// Checked steps you have done.
    pub done_steps: u32,
    /// Of those, done without a hint or "show me".
    pub done_alone: u32,
}

#[derive(Debug, Object)]
pub struct CheckInfo {
    /// The condition as written, e.g. `polls >= 5`.
    pub text: String,
    /// What is counted, in words.
    pub description: String,
    /// A budget (`requests <= 3`): it holds before you act, and only counts
    /// beside the step's goals.
    pub budget: bool,
}

#[derive(Debug, Object)]
pub struct PlayStep {
    /// `say`, `start`, `stop`, `publish`, `feed`, `drop`, `ws_send`, `wait`,
    /// `chat`, `decide`, `answer`, `press`, or one of the network-faults
    /// lesson's: `fault` (target `corporate_proxy` with value 1/0, or `gzip`
    /// with text `off`/`buffered`/`flushed`), `deploy` (value: seconds),
    /// `half_open`, `watchdog` (value 1/0), `storm` (target `sse`/`websocket`,
    /// text `fixed`/`backoff_jitter`, value: clients), `latency` (value:
    /// messages each way), `bad` (target `ws`/`post`).
    pub action: String,
    /// The client (`poll`, `long-poll`, `sse`, `ws`), feed, chat side or
    /// scenario the action is about.
    #[oai(nullable)]
    pub target: Option<String>,
    /// Sentence to narrate, text to publish or chat, JSON to send, the
    /// answer to write, the label to press, or the technique chosen.
    #[oai(nullable)]
    pub text: Option<String>,
    /// For `wait`: seconds; for `feed`: 1 on, 0 off.
    #[oai(nullable)]
    pub value: Option<u64>,
    /// For `decide`: the deciding factor chosen.
    #[oai(nullable)]
    pub factor: Option<String>,
}

impl From<&PlayAction> for PlayStep {
    fn from(a: &PlayAction) -> Self {
        let step =
            |action: &str, target: Option<&str>, text: Option<&str>, value: Option<u64>| PlayStep {
                action: action.into(),
                target: target.map(Into::into),
                text: text.map(Into::into),
                value,
                factor: None,
            };
        match a {
            PlayAction::Say(t) => step("say", None, Some(t), None),
            PlayAction::Start(c) => step("start", Some(c), None, None),
            PlayAction::Stop(c) => step("stop", Some(c), None, None),
            PlayAction::Publish(t) => step("publish", None, Some(t), None),
            PlayAction::Feed(name, on) => step("feed", Some(name), None, Some(u64::from(*on))),
            PlayAction::DropSse => step("drop", Some("sse"), None, None),
            PlayAction::WsSend(json) => step("ws_send", Some("ws"), Some(json), None),
            PlayAction::Wait(s) => step("wait", None, None, Some(*s)),
            PlayAction::Chat(side, t) => step("chat", Some(side.as_str()), Some(t), None),
            PlayAction::Decide {
                scenario,
                choice,
                factor,
            } => PlayStep {
                factor: Some(factor.as_str().into()),
                ..step("decide", Some(scenario), Some(choice.as_str()), None)
            },
            PlayAction::Answer(t) => step("answer", None, Some(t), None),
            PlayAction::Press(label) => step("press", None, Some(label), None),
            PlayAction::Fault(f) => {
                let (action, target, text, value) = f.wire();
                step(action, target, text, value)
            }
        }
    }
}

#[derive(Debug, Object)]
pub struct StepDetail {
    /// Anchor of the step.
    pub id: String,
    pub title: String,
    /// Sanitized HTML; `<div class="widget" data-widget="…">` marks where the live widget goes.
    pub html: String,
    #[oai(nullable)]
    pub widget: Option<String>,
    pub checks: Vec<CheckInfo>,
    /// What "show me" plays: the page performs the step, and it counts as watched, not done.
    pub play: Vec<PlayStep>,
    /// Hints the step has (revealed one at a time with `POST …/hints`).
    pub hints: u32,
    /// A number to predict before measuring it.
    #[oai(nullable)]
    pub predict: Option<PredictInfo>,
}

#[derive(Debug, Object)]
pub struct PredictInfo {
    pub question: String,
    /// What the number counts, e.g. `requests`.
    pub unit: String,
}

#[derive(Debug, Object)]
pub struct ScenarioInfo {
    pub id: String,
    pub title: String,
    /// `article` (the seed's own examples) or `harder` (ambiguous, realistic cases).
    pub group: String,
    /// The deciding factors offered; one of them decides.
    pub factors: Vec<FactorInfo>,
}

/// A factor that can decide between the techniques.
#[derive(Debug, Object)]
pub struct FactorInfo {
    /// e.g. `direction`.
    pub id: String,
    pub label: String,
}

#[derive(Debug, Object)]
pub struct LessonDetail {
    pub slug: String,
    pub title: String,
    pub order: u32,
    /// How many lessons there are (this is lesson `order` of `count`).
    pub count: u32,
    pub transport: String,
    pub summary: String,
    pub minutes: u32,
    pub intro_html: String,
    pub steps: Vec<StepDetail>,
    #[oai(nullable)]
    pub previous: Option<String>,
    #[oai(nullable)]
    pub next: Option<String>,
    /// Swagger UI section for this lesson's endpoints.
    #[oai(nullable)]
    pub swagger: Option<String>,
    /// Scenarios of the decision exercise (without the answers).
    pub scenarios: Vec<ScenarioInfo>,
}

#[derive(Debug, Object)]
pub struct CheckProgress {
    pub text: String,
    pub description: String,
    /// Your own count in this step's window (since you entered the step).
    pub value: u64,
    /// What play mode ("show me") counted in the same window.
    pub watched_value: u64,
    pub done: bool,
}

#[derive(Debug, Object)]
pub struct PredictionProgress {
    /// Your prediction.
    pub value: f64,
    /// The measurement, once the step is done (frozen then).
    #[oai(nullable)]
    pub measured: Option<u64>,
    pub unit: String,
    /// Prediction beside measurement, with why, once the step is done.
    #[oai(nullable)]
    pub sentence: Option<String>,
}

#[derive(Debug, Object)]
pub struct StepProgress {
    pub id: String,
    /// You entered the step, so its window is open.
    pub entered: bool,
    /// `true` once every check held on your own traffic (it stays done).
    pub done: bool,
    /// Every check held on play mode's traffic: you watched it done.
    pub watched: bool,
    /// Hints you revealed.
    pub hints_used: u32,
    /// Hints the step has.
    pub hints_total: u32,
    /// You asked the page to show you ("show me").
    pub shown: bool,
    /// Done after a hint or "show me".
    pub helped: bool,
    pub checks: Vec<CheckProgress>,
    #[oai(nullable)]
    pub prediction: Option<PredictionProgress>,
}

#[derive(Debug, Object)]
pub struct Progress {
    pub slug: String,
    pub steps: Vec<StepProgress>,
    /// Checked steps done.
    pub done: u32,
    /// Of those, done without hints or "show me".
    pub done_alone: u32,
    /// Checked steps in all.
    pub total: u32,
    pub complete: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PredictionRequest {
    /// Your guess, before you measure (0 to 1,000,000).
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000")))]
    pub value: f64,
}

impl poem_openapi::types::Example for PredictionRequest {
    fn example() -> Self {
        PredictionRequest { value: 12.0 }
    }
}

#[derive(Debug, Object)]
pub struct Hint {
    /// Which hint this is (1-based).
    pub number: u32,
    /// Hints the step has.
    pub total: u32,
    /// The hint, sanitized HTML.
    pub html: String,
}

#[derive(Debug, Object)]
pub struct Hints {
    /// Every hint revealed so far, in order.
    pub hints: Vec<Hint>,
    /// Hints the step has.
    pub total: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AnswerKind {
    /// A scenario of the decision exercise: `scenario`, `answer` (`polling`,
    /// `sse` or `websocket`) and `factor` (what decides it; one of the
    /// scenario's `factors`).
    Decision,
    /// The interview answer, as text (1 to 2000 characters).
    Interview,
}

impl AnswerKind {
    /// The widget of a lesson step that asks for this kind of answer.
    fn widget(self) -> &'static str {
        match self {
            AnswerKind::Decision => "decide",
            AnswerKind::Interview => "interview",
        }
    }

    /// Whether `lesson` asks for this kind of answer in one of its steps.
    fn asked_by(self, lesson: &super::Lesson) -> bool {
        let widget = self.widget();
        lesson
            .steps
            .iter()
            .any(|s| s.widget.as_deref() == Some(widget))
    }
}

#[derive(Debug, Object)]
pub struct AnswerRequest {
    pub kind: AnswerKind,
    #[oai(nullable)]
    pub scenario: Option<String>,
    #[oai(default)]
    pub answer: crate::text::Text,
    /// For decisions: the deciding factor's id.
    #[oai(nullable)]
    pub factor: Option<String>,
}

#[derive(Debug, Object)]
pub struct KeyPointResult {
    pub point: String,
    /// Whether your answer seems to mention it.
    pub covered: bool,
}

#[derive(Debug, Object)]
pub struct AnswerResult {
    /// For decisions: both the technique and the deciding factor are right.
    #[oai(nullable)]
    pub correct: Option<bool>,
    /// The recommended choice, for decisions.
    #[oai(nullable)]
    pub best: Option<String>,
    /// The deciding factor, for decisions.
    #[oai(nullable)]
    pub factor: Option<String>,
    pub feedback: String,
    pub key_points: Vec<KeyPointResult>,
    #[oai(nullable)]
    pub model_answer: Option<String>,
}

pub struct LessonsApi {
    pub library: Arc<Library>,
    pub progress: Arc<ProgressStore>,
    pub traffic: TrafficLog,
    /// The scaling lesson's instances, whose logs hold part of the learner's traffic.
    pub cluster: Arc<ClusterLab>,
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

    /// What the cluster lab's instances counted for this learner, for a
    /// lesson that uses them (nothing otherwise).
    async fn elsewhere(&self, learner: &str, lesson: &Lesson) -> Elsewhere {
        if uses_cluster(lesson) {
            self.cluster.check_values(learner, &lesson.meta.slug).await
        } else {
            Elsewhere::new()
        }
    }

    /// Judges every checked step for a learner and remembers what became
    /// done or watched (and freezes the measurement beside a prediction).
    fn progress_of(&self, learner: &Arc<str>, lesson: &Lesson, elsewhere: &Elsewhere) -> Progress {
        let slug = &lesson.meta.slug;
        let state = self.progress.get(learner, slug);
        let entries = match judge::earliest_window(lesson, &state) {
            Some(since) => self.traffic.entries(learner, None, since, usize::MAX),
            None => Vec::new(),
        };
        let verdicts = judge::judge(lesson, &state, &entries, elsewhere);
        let changed: Vec<&judge::StepVerdict> = verdicts
            .iter()
            .filter(|v| v.newly_done || v.newly_watched)
            .collect();
        let state = if changed.is_empty() {
            state
        } else {
            self.progress.update(learner, slug, |s| {
                for v in &changed {
                    let st = s.steps.entry(v.step.id.clone()).or_default();
                    st.done |= v.done;
                    st.watched |= v.watched;
                    if v.newly_done
                        && let Some(p) = st.prediction.as_mut()
                    {
                        p.measured = v.measured;
                    }
                }
                s.clone()
            })
        };
        let steps: Vec<StepProgress> = verdicts
            .iter()
            .map(|v| step_progress(v, state.steps.get(&v.step.id)))
            .collect();
        let total = steps.len() as u32;
        let done = steps.iter().filter(|s| s.done).count() as u32;
        let done_alone = steps.iter().filter(|s| s.done && !s.helped).count() as u32;
        Progress {
            slug: slug.clone(),
            steps,
            done,
            done_alone,
            total,
            complete: done == total,
        }
    }

    /// The progress of one step, judged now.
    async fn step_now(&self, learner: &Arc<str>, lesson: &Lesson, step: usize) -> StepProgress {
        let elsewhere = self.elsewhere(learner, lesson).await;
        let id = &lesson.steps[step].id;
        self.progress_of(learner, lesson, &elsewhere)
            .steps
            .into_iter()
            .find(|s| s.id == *id)
            .unwrap_or_else(|| StepProgress {
                id: id.clone(),
                entered: true,
                done: false,
                watched: false,
                hints_used: 0,
                hints_total: 0,
                shown: false,
                helped: false,
                checks: Vec::new(),
                prediction: None,
            })
    }
}

/// The first `used` hints of a step, numbered.
fn revealed(step: &Step, used: usize) -> Hints {
    let total = step.hints.len() as u32;
    Hints {
        hints: step.hints[..used.min(step.hints.len())]
            .iter()
            .enumerate()
            .map(|(n, html)| Hint {
                number: n as u32 + 1,
                total,
                html: html.clone(),
            })
            .collect(),
        total,
    }
}

fn step_progress(v: &judge::StepVerdict, st: Option<&StepState>) -> StepProgress {
    let st = st.cloned().unwrap_or_default();
    let prediction = st
        .prediction
        .as_ref()
        .zip(v.step.predict.as_ref())
        .map(|(p, q)| PredictionProgress {
            value: p.value,
            measured: p.measured,
            unit: q.unit.clone(),
            sentence: p.measured.map(|m| {
                format!(
                    "{} {}",
                    judge::compare_prediction(p.value, m, &q.unit),
                    q.explain
                )
            }),
        });
    StepProgress {
        id: v.step.id.clone(),
        entered: v.entered,
        done: v.done,
        watched: v.watched,
        hints_used: u32::from(st.hints_used),
        hints_total: v.step.hints.len() as u32,
        shown: st.shown,
        helped: v.done && st.helped(),
        checks: v
            .checks
            .iter()
            .map(|c| CheckProgress {
                text: c.check.text.clone(),
                description: c.check.describe().into(),
                value: c.value,
                watched_value: c.watched_value,
                done: v.done || c.holds,
            })
            .collect(),
        prediction,
    }
}

/// Whether a lesson drives the cluster lab's instances (its traffic is partly theirs).
fn uses_cluster(lesson: &Lesson) -> bool {
    lesson
        .steps
        .iter()
        .any(|s| s.widget.as_deref() == Some("cluster"))
}

fn swagger_section(transport: &str) -> Option<String> {
    let tag = match transport {
        "poll" => "Polling",
        "long_poll" => "Long-polling",
        "sse" => "Server-Sent%20Events",
        "websocket" => "WebSocket",
        _ => return None,
    };
    Some(format!("/docs#/{tag}"))
}

fn step_detail(s: &Step) -> StepDetail {
    StepDetail {
        id: s.id.clone(),
        title: s.title.clone(),
        html: s.html.clone(),
        widget: s.widget.clone(),
        checks: s
            .checks
            .iter()
            .map(|c| CheckInfo {
                text: c.text.clone(),
                description: c.describe().into(),
                budget: c.holds_at_zero(),
            })
            .collect(),
        play: s.play.iter().map(PlayStep::from).collect(),
        hints: s.hints.len() as u32,
        predict: s.predict.as_ref().map(|p| PredictInfo {
            question: p.question.clone(),
            unit: p.unit.clone(),
        }),
    }
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
                .map(|l| {
                    let state = self.progress.get(&learner.id, &l.meta.slug);
                    let checked =
                        |id: &str| l.steps.iter().any(|s| s.id == id && !s.checks.is_empty());
                    let done: Vec<&StepState> = state
                        .steps
                        .iter()
                        .filter(|(id, st)| st.done && checked(id))
                        .map(|(_, st)| st)
                        .collect();
                    LessonSummary {
                        slug: l.meta.slug.clone(),
                        title: l.meta.title.clone(),
                        order: l.meta.order,
                        transport: l.meta.transport.clone(),
                        summary: l.meta.summary.clone(),
                        minutes: l.meta.minutes,
                        steps: l.steps.len() as u32,
                        checked_steps: l.steps.iter().filter(|s| !s.checks.is_empty()).count()
                            as u32,
                        done_steps: done.len() as u32,
                        done_alone: done.iter().filter(|s| !s.helped()).count() as u32,
                    }
                })
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
        let l = &lessons[i];
        let has_decide = l
            .steps
            .iter()
            .any(|s| s.widget.as_deref() == Some("decide"));
        Ok(Json(LessonDetail {
            slug: l.meta.slug.clone(),
            title: l.meta.title.clone(),
            order: l.meta.order,
            transport: l.meta.transport.clone(),
            summary: l.meta.summary.clone(),
            minutes: l.meta.minutes,
            intro_html: l.intro_html.clone(),
            steps: l.steps.iter().map(step_detail).collect(),
            count: lessons.len() as u32,
            previous: i.checked_sub(1).map(|p| lessons[p].meta.slug.clone()),
            next: lessons.get(i + 1).map(|n| n.meta.slug.clone()),
            swagger: swagger_section(&l.meta.transport),
            scenarios: if has_decide {
                SCENARIOS
                    .iter()
                    .map(|s| ScenarioInfo {
                        id: s.id.into(),
                        title: s.title.into(),
                        group: s.group.as_str().into(),
                        factors: s
                            .options
                            .iter()
                            .map(|f| FactorInfo {
                                id: f.as_str().into(),
                                label: f.label().into(),
                            })
                            .collect(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }))
    }

    /// My progress on a lesson
    ///
    /// Each step's checks, counted from my own traffic since I entered that
    /// step (play mode's traffic counts as watched, not done). Steps stay
    /// done once their checks held.
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
        let elsewhere = self.elsewhere(&learner.id, &lessons[i]).await;
        Ok(Json(self.progress_of(&learner.id, &lessons[i], &elsewhere)))
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
        self.progress.update(&learner.id, &lesson.meta.slug, |st| {
            let at = st.tick();
            let step = st.steps.entry(id.clone()).or_default();
            step.entered_seq = now;
            step.entered_at = at;
        });
        if uses_cluster(lesson) {
            self.cluster
                .enter_step(&learner.id, &lesson.meta.slug, id)
                .await;
        }
        Ok(Json(self.step_now(&learner.id, lesson, s).await))
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
        let used = self.progress.update(&learner.id, &lesson.meta.slug, |st| {
            let step_state = st.steps.entry(the_step.id.clone()).or_default();
            if !step_state.done {
                step_state.hints_used = (step_state.hints_used + 1).min(total as u8);
            }
            usize::from(step_state.hints_used.max(1)).min(total)
        });
        Ok(Json(revealed(the_step, used)))
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
        Ok(Json(revealed(the_step, used)))
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
        self.progress.update(&learner.id, &lesson.meta.slug, |st| {
            let step_state = st.steps.entry(id.clone()).or_default();
            if !step_state.done {
                step_state.shown = true;
            }
        });
        Ok(Json(self.step_now(&learner.id, lesson, s).await))
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
        let accepted = self.progress.update(&learner.id, &lesson.meta.slug, |st| {
            let step_state = st.steps.entry(id.clone()).or_default();
            if step_state.done {
                return false;
            }
            step_state.prediction = Some(Prediction {
                value,
                measured: None,
            });
            true
        });
        if !accepted {
            return Err(ApiError::conflict(
                "This step is done: its prediction is kept as it was. Start the lesson over to predict again.",
            ));
        }
        Ok(Json(self.step_now(&learner.id, lesson, s).await))
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
        self.progress.reset(&learner.id, &lessons[i].meta.slug);
        if uses_cluster(&lessons[i]) {
            self.cluster
                .reset_lesson(&learner.id, &lessons[i].meta.slug)
                .await;
        }
        let elsewhere = self.elsewhere(&learner.id, &lessons[i]).await;
        Ok(Json(self.progress_of(&learner.id, &lessons[i], &elsewhere)))
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
        let slug = lessons[i].meta.slug.clone();
        let played = actor.0 == Some(Actor::Play);
        let Json(req) = body;
        if !req.kind.asked_by(&lessons[i]) {
            return Err(ApiError::bad_request(format!(
                "The lesson {slug:?} asks for no {} answer.",
                match req.kind {
                    AnswerKind::Decision => "decision",
                    AnswerKind::Interview => "interview",
                }
            )));
        }
        let result = match req.kind {
            AnswerKind::Decision => {
                let id = req.scenario.as_deref().unwrap_or_default();
                let scenario = Scenario::find(id).ok_or_else(|| {
                    ApiError::bad_request(format!("There is no scenario called {id:?}."))
                })?;
                let choice = Choice::parse(req.answer.trim()).ok_or_else(|| {
                    ApiError::bad_request("answer must be polling, sse or websocket.")
                })?;
                let factor = req
                    .factor
                    .as_deref()
                    .and_then(Factor::parse)
                    .filter(|f| scenario.options.contains(f))
                    .ok_or_else(|| {
                        let offered: Vec<&str> =
                            scenario.options.iter().map(|f| f.as_str()).collect();
                        ApiError::bad_request(format!(
                            "factor must be one of {offered:?}: what decides it?"
                        ))
                    })?;
                let verdict = scenario.judge(choice, factor);
                self.progress.update(&learner.id, &slug, |s| {
                    let at = s.tick();
                    s.decisions.insert(
                        scenario.id.into(),
                        Decision {
                            answer: choice.as_str().into(),
                            correct: verdict.correct(),
                            at,
                            played,
                        },
                    );
                });
                AnswerResult {
                    correct: Some(verdict.correct()),
                    best: Some(scenario.best.as_str().into()),
                    factor: Some(scenario.factor.as_str().into()),
                    feedback: verdict.feedback,
                    key_points: Vec::new(),
                    model_answer: None,
                }
            }
            AnswerKind::Interview => {
                let text = req.answer.trim();
                if text.is_empty() || text.chars().count() > MAX_ANSWER_CHARS {
                    return Err(ApiError::bad_request(format!(
                        "Write an answer of 1 to {MAX_ANSWER_CHARS} characters."
                    )));
                }
                let lower = text.to_lowercase();
                let key_points: Vec<KeyPointResult> = KEY_POINTS
                    .iter()
                    .map(|k| KeyPointResult {
                        point: k.point.into(),
                        covered: k.any_of.iter().any(|w| lower.contains(w)),
                    })
                    .collect();
                let covered = key_points.iter().filter(|k| k.covered).count();
                self.progress.update(&learner.id, &slug, |s| {
                    let at = s.tick();
                    s.interview = Some(Answer {
                        text: text.to_owned(),
                        at,
                        played,
                    });
                });
                AnswerResult {
                    correct: None,
                    best: None,
                    factor: None,
                    feedback: format!(
                        "Your answer touches {covered} of the {} key points. Compare it with the model answer.",
                        key_points.len()
                    ),
                    key_points,
                    model_answer: Some(MODEL_ANSWER.into()),
                }
            }
        };
        Ok(Json(result))
    }
}

fn example_slug() -> String {
    "polling".into()
}

fn example_step() -> String {
    "any-update-no".into()
}
