//! How a lesson looks over the wire: the list with my progress in each, and
//! one lesson in full (rendered steps, checks, hints, "show me" scripts, the
//! decision exercise's scenarios without their answers).

use poem_openapi::Object;

use crate::lessons::exercises::SCENARIOS;
use crate::lessons::progress::{LessonState, StepState};
use crate::lessons::{Lesson, PlayAction, Step};

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

/// A lesson in the list, with what `state` (the learner's) has done of it.
pub fn summary(l: &Lesson, state: &LessonState) -> LessonSummary {
    let checked = |id: &str| l.steps.iter().any(|s| s.id == id && !s.checks.is_empty());
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
        checked_steps: l.steps.iter().filter(|s| !s.checks.is_empty()).count() as u32,
        done_steps: done.len() as u32,
        done_alone: done.iter().filter(|s| !s.helped()).count() as u32,
    }
}

/// Lesson `i` of `lessons`, in full.
pub fn detail(lessons: &[Lesson], i: usize) -> LessonDetail {
    let l = &lessons[i];
    let has_decide = l
        .steps
        .iter()
        .any(|s| s.widget.as_deref() == Some("decide"));
    LessonDetail {
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
        scenarios: if has_decide { scenarios() } else { Vec::new() },
    }
}

/// The decision exercise's scenarios, without their answers.
fn scenarios() -> Vec<ScenarioInfo> {
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
