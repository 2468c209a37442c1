//! `/api/lessons…`: the lesson list with my progress, one lesson (rendered
//! HTML, steps, checks, play scripts), my progress on it (computed from my
//! traffic since I started the lesson), resetting it, and exercise answers.

use std::collections::HashMap;
use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi, Tags};

use super::checks::Counters;
use super::exercises::{KEY_POINTS, MODEL_ANSWER, SCENARIOS};
use super::progress::{LessonState, ProgressStore};
use super::{Lesson, Library, PlayAction};
use crate::lab::cluster::ClusterLab;
use crate::problem::ApiError;
use crate::traffic::{Learner, TrafficLog};

#[derive(Tags)]
enum LessonTags {
    /// The lessons, and your progress through them.
    Lessons,
}

/// Longest interview answer accepted, in characters.
const MAX_ANSWER_CHARS: usize = 5000;

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
}

#[derive(Debug, Object)]
pub struct CheckInfo {
    /// The condition as written, e.g. `polls >= 5`.
    pub text: String,
    /// What is counted, in words.
    pub description: String,
}

#[derive(Debug, Object)]
pub struct PlayStep {
    /// `say`, `start`, `stop`, `publish`, `feed`, `drop`, `ws_send` or `wait`.
    pub action: String,
    /// The client (`poll`, `long-poll`, `sse`, `ws`) or feed the action is about.
    #[oai(nullable)]
    pub target: Option<String>,
    /// Sentence to narrate, text to publish or JSON to send.
    #[oai(nullable)]
    pub text: Option<String>,
    /// For `wait`: seconds; for `feed`: 1 on, 0 off.
    #[oai(nullable)]
    pub value: Option<u64>,
}

impl From<&PlayAction> for PlayStep {
    fn from(a: &PlayAction) -> Self {
        let step =
            |action: &str, target: Option<&str>, text: Option<&str>, value: Option<u64>| PlayStep {
                action: action.into(),
                target: target.map(Into::into),
                text: text.map(Into::into),
                value,
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
    pub play: Vec<PlayStep>,
}

#[derive(Debug, Object)]
pub struct ScenarioInfo {
    pub id: String,
    pub title: String,
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
    /// The counted value now.
    pub value: u64,
    pub done: bool,
}

#[derive(Debug, Object)]
pub struct StepProgress {
    pub id: String,
    /// `true` once every check held at some point (it stays done).
    pub done: bool,
    pub checks: Vec<CheckProgress>,
}

#[derive(Debug, Object)]
pub struct Progress {
    pub slug: String,
    pub steps: Vec<StepProgress>,
    /// Checked steps done.
    pub done: u32,
    /// Checked steps in all.
    pub total: u32,
    pub complete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AnswerKind {
    /// A scenario of the decision exercise: `scenario` + `answer` (`polling`, `sse` or `websocket`).
    Decision,
    /// The interview answer, as text.
    Interview,
    /// The learner looked at the measured comparison.
    CompareViewed,
}

#[derive(Debug, Object)]
pub struct AnswerRequest {
    pub kind: AnswerKind,
    #[oai(nullable)]
    pub scenario: Option<String>,
    #[oai(default)]
    pub answer: crate::openapi::Text,
}

#[derive(Debug, Object)]
pub struct KeyPointResult {
    pub point: String,
    /// Whether your answer seems to mention it.
    pub covered: bool,
}

#[derive(Debug, Object)]
pub struct AnswerResult {
    #[oai(nullable)]
    pub correct: Option<bool>,
    /// The recommended choice, for decisions.
    #[oai(nullable)]
    pub best: Option<String>,
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

    /// What the cluster lab's instances counted for this learner, for a
    /// lesson that uses them (nothing otherwise).
    async fn elsewhere(&self, learner: &str, lesson: &Lesson) -> HashMap<String, u64> {
        if uses_cluster(lesson) {
            self.cluster.check_values(learner, &lesson.meta.slug).await
        } else {
            HashMap::new()
        }
    }

    /// Evaluates every check of a lesson for a learner, and remembers steps that are done.
    /// `elsewhere`: what other instances counted (check name → value), added in.
    fn progress_of(
        &self,
        learner: &Arc<str>,
        lesson: &Lesson,
        elsewhere: &HashMap<String, u64>,
    ) -> Progress {
        let start = self.traffic.last_seq();
        let state = self
            .progress
            .with(learner, &lesson.meta.slug, start, |s| s.clone());
        let entries = self
            .traffic
            .entries(learner, None, state.baseline_seq, usize::MAX);
        let mut counters = Counters::from_entries(&entries);
        add_exercise_counts(&mut counters, &state);
        for (name, value) in elsewhere {
            counters.add_named(name, *value);
        }
        let mut newly_done = Vec::new();
        let steps: Vec<StepProgress> = lesson
            .steps
            .iter()
            .filter(|s| !s.checks.is_empty())
            .map(|step| {
                let checks: Vec<CheckProgress> = step
                    .checks
                    .iter()
                    .map(|c| {
                        let value = counters.get(c.name);
                        CheckProgress {
                            text: c.text.clone(),
                            description: c.describe().into(),
                            value,
                            done: c.holds(value),
                        }
                    })
                    .collect();
                let done = state.done.contains(&step.id) || checks.iter().all(|c| c.done);
                if done && !state.done.contains(&step.id) {
                    newly_done.push(step.id.clone());
                }
                StepProgress {
                    id: step.id.clone(),
                    done,
                    checks,
                }
            })
            .collect();
        if !newly_done.is_empty() {
            self.progress.with(learner, &lesson.meta.slug, start, |s| {
                s.done.extend(newly_done);
            });
        }
        let total = steps.len() as u32;
        let done = steps.iter().filter(|s| s.done).count() as u32;
        Progress {
            slug: lesson.meta.slug.clone(),
            steps,
            done,
            total,
            complete: done == total,
        }
    }
}

/// Whether a lesson drives the cluster lab's instances (its traffic is partly theirs).
fn uses_cluster(lesson: &Lesson) -> bool {
    lesson
        .steps
        .iter()
        .any(|s| s.widget.as_deref() == Some("cluster"))
}

fn add_exercise_counts(counters: &mut Counters, state: &LessonState) {
    counters.add("decisions", state.decisions.len() as u64);
    counters.add(
        "decisions_correct",
        state.decisions.values().filter(|(_, ok)| *ok).count() as u64,
    );
    counters.add("interview_answered", u64::from(state.interview.is_some()));
    counters.add("compare_viewed", state.compare_views);
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
                    let done = self
                        .progress
                        .get(&learner.id, &l.meta.slug)
                        .map_or(0, |s| s.done.len() as u32);
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
                        done_steps: done,
                    }
                })
                .collect(),
        ))
    }

    /// One lesson
    ///
    /// Rendered HTML per step, with the live widget each step embeds, its
    /// checks and its play-mode script.
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
            steps: l
                .steps
                .iter()
                .map(|s| StepDetail {
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
                        })
                        .collect(),
                    play: s.play.iter().map(PlayStep::from).collect(),
                })
                .collect(),
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
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }))
    }

    /// My progress on a lesson
    ///
    /// Each check's current value, counted from my traffic since I started
    /// (or reset) the lesson. Steps stay done once their checks held.
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

    /// Start a lesson over
    ///
    /// Forgets what is done; only traffic from now on counts.
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
        self.progress
            .reset(&learner.id, &lessons[i].meta.slug, self.traffic.last_seq());
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
    /// A scenario of the decision exercise (`kind: decision`), the interview
    /// answer (`kind: interview`), or "I looked at the comparison"
    /// (`kind: compare_viewed`). Answers are judged and explained.
    #[oai(
        path = "/lessons/:slug/answers",
        method = "post",
        tag = "LessonTags::Lessons"
    )]
    async fn answer(
        &self,
        learner: Learner,
        #[oai(example = "example_slug")] slug: Path<String>,
        body: Json<AnswerRequest>,
    ) -> Result<Json<AnswerResult>, ApiError> {
        let (lessons, i) = self.find(&slug)?;
        let slug = lessons[i].meta.slug.clone();
        let start = self.traffic.last_seq();
        let Json(req) = body;
        let result = match req.kind {
            AnswerKind::Decision => {
                let id = req.scenario.as_deref().unwrap_or_default();
                let scenario = SCENARIOS.iter().find(|s| s.id == id).ok_or_else(|| {
                    ApiError::bad_request(format!("There is no scenario called {id:?}."))
                })?;
                let answer = req.answer.trim().to_ascii_lowercase();
                if !["polling", "sse", "websocket"].contains(&answer.as_str()) {
                    return Err(ApiError::bad_request(
                        "answer must be polling, sse or websocket.",
                    ));
                }
                let correct = answer == scenario.best;
                self.progress.with(&learner.id, &slug, start, |s| {
                    s.decisions
                        .insert(scenario.id.into(), (answer.clone(), correct));
                });
                AnswerResult {
                    correct: Some(correct),
                    best: Some(scenario.best.into()),
                    feedback: format!(
                        "{} {}",
                        if correct { "Yes." } else { "Not the best fit." },
                        scenario.why
                    ),
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
                self.progress.with(&learner.id, &slug, start, |s| {
                    s.interview = Some(text.to_owned());
                });
                AnswerResult {
                    correct: None,
                    best: None,
                    feedback: format!(
                        "Your answer touches {covered} of the {} key points. Compare it with the model answer.",
                        key_points.len()
                    ),
                    key_points,
                    model_answer: Some(MODEL_ANSWER.into()),
                }
            }
            AnswerKind::CompareViewed => {
                self.progress.with(&learner.id, &slug, start, |s| {
                    s.compare_views += 1;
                });
                AnswerResult {
                    correct: None,
                    best: None,
                    feedback: "Noted.".into(),
                    key_points: Vec::new(),
                    model_answer: None,
                }
            }
        };
        Ok(Json(result))
    }
}

fn example_slug() -> String {
    "polling".into()
}
