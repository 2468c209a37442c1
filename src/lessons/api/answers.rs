//! Exercise answers: a scenario of the decision exercise (the technique and
//! what decides it) or the interview answer, judged and explained, and what
//! of each the learner's lesson keeps (so a step entered before it counts it).

use poem_openapi::{Enum, Object};

use crate::lessons::Lesson;
use crate::lessons::exercises::{Choice, Factor, KEY_POINTS, MODEL_ANSWER, Scenario};
use crate::lessons::progress::{Answer, Decision, LessonState};

/// Longest interview answer accepted, in characters (so at most 8000 bytes
/// of UTF-8): "three to six sentences" fit many times over, and a learner's
/// kept answer stays small.
const MAX_ANSWER_CHARS: usize = 2000;

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
    /// The kind as the request spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Decision => "decision",
            AnswerKind::Interview => "interview",
        }
    }

    /// The widget of a lesson step that asks for this kind of answer.
    fn widget(self) -> &'static str {
        match self {
            AnswerKind::Decision => "decide",
            AnswerKind::Interview => "interview",
        }
    }

    /// Whether `lesson` asks for this kind of answer in one of its steps.
    fn asked_by(self, lesson: &Lesson) -> bool {
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

/// Why an answer was refused (a `400`).
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("The lesson {slug:?} asks for no {} answer.", kind.as_str())]
    NotAsked { slug: String, kind: AnswerKind },
    #[error("There is no scenario called {0:?}.")]
    NoScenario(String),
    #[error("answer must be polling, sse or websocket.")]
    NoChoice,
    #[error("factor must be one of {0:?}: what decides it?")]
    NoFactor(Vec<&'static str>),
    #[error("Write an answer of 1 to {MAX_ANSWER_CHARS} characters.")]
    Length,
}

/// What the lesson keeps of an answer.
#[derive(Debug, PartialEq)]
pub enum Kept {
    Decision {
        scenario: &'static str,
        choice: Choice,
        correct: bool,
    },
    Interview(String),
}

impl Kept {
    /// Keeps the answer in the learner's `state`, at the lesson clock's next
    /// tick; `played` when play mode ("show me") answered.
    pub fn keep(self, state: &mut LessonState, played: bool) {
        let at = state.tick();
        match self {
            Kept::Decision {
                scenario,
                choice,
                correct,
            } => {
                let decision = Decision {
                    answer: choice.as_str().into(),
                    correct,
                    at,
                    played,
                };
                state.decisions.insert(scenario.into(), decision);
            }
            Kept::Interview(text) => {
                state.interview = Some(Answer { text, at, played });
            }
        }
    }
}

/// Judges an answer to `lesson`: what to answer, and what to keep.
pub fn judge(lesson: &Lesson, req: &AnswerRequest) -> Result<(AnswerResult, Kept), AnswerError> {
    if !req.kind.asked_by(lesson) {
        return Err(AnswerError::NotAsked {
            slug: lesson.meta.slug.clone(),
            kind: req.kind,
        });
    }
    match req.kind {
        AnswerKind::Decision => judge_decision(req),
        AnswerKind::Interview => judge_interview(&req.answer),
    }
}

fn judge_decision(req: &AnswerRequest) -> Result<(AnswerResult, Kept), AnswerError> {
    let id = req.scenario.as_deref().unwrap_or_default();
    let scenario = Scenario::find(id).ok_or_else(|| AnswerError::NoScenario(id.to_owned()))?;
    let choice = Choice::parse(req.answer.trim()).ok_or(AnswerError::NoChoice)?;
    let factor = req
        .factor
        .as_deref()
        .and_then(Factor::parse)
        .filter(|f| scenario.options.contains(f))
        .ok_or_else(|| {
            AnswerError::NoFactor(scenario.options.iter().map(|f| f.as_str()).collect())
        })?;
    let verdict = scenario.judge(choice, factor);
    let kept = Kept::Decision {
        scenario: scenario.id,
        choice,
        correct: verdict.correct(),
    };
    let result = AnswerResult {
        correct: Some(verdict.correct()),
        best: Some(scenario.best.as_str().into()),
        factor: Some(scenario.factor.as_str().into()),
        feedback: verdict.feedback,
        key_points: Vec::new(),
        model_answer: None,
    };
    Ok((result, kept))
}

fn judge_interview(answer: &str) -> Result<(AnswerResult, Kept), AnswerError> {
    let text = answer.trim();
    if text.is_empty() || text.chars().count() > MAX_ANSWER_CHARS {
        return Err(AnswerError::Length);
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
    let result = AnswerResult {
        correct: None,
        best: None,
        factor: None,
        feedback: format!(
            "Your answer touches {covered} of the {} key points. Compare it with the model answer.",
            key_points.len()
        ),
        key_points,
        model_answer: Some(MODEL_ANSWER.into()),
    };
    Ok((result, Kept::Interview(text.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessons::parse::parse;

    const DECIDES: &str = "---\nslug: d\ntitle: D\norder: 1\ntransport: compare\nsummary: s\nminutes: 1\n---\n\n## Pick\n\n```try decide\n```\n";

    fn decision(scenario: &str, answer: &str, factor: &str) -> AnswerRequest {
        AnswerRequest {
            kind: AnswerKind::Decision,
            scenario: Some(scenario.into()),
            answer: answer.into(),
            factor: Some(factor.into()),
        }
    }

    fn interview(answer: &str) -> AnswerRequest {
        AnswerRequest {
            kind: AnswerKind::Interview,
            scenario: None,
            answer: answer.into(),
            factor: None,
        }
    }

    #[test]
    fn a_decision_is_judged_and_kept_with_the_lessons_clock() {
        let lesson = parse("01-d.md", DECIDES).expect("lesson");
        let (result, kept) =
            judge(&lesson, &decision("notifications", " sse ", "direction")).expect("judged");
        assert_eq!(result.correct, Some(true));
        assert_eq!(result.best.as_deref(), Some("sse"));
        let mut state = LessonState::default();
        kept.keep(&mut state, true);
        let kept = &state.decisions["notifications"];
        assert_eq!((kept.answer.as_str(), kept.correct), ("sse", true));
        assert_eq!((kept.at, kept.played), (1, true));
    }

    #[test]
    fn a_wrong_factor_or_choice_or_scenario_is_refused() {
        let lesson = parse("01-d.md", DECIDES).expect("lesson");
        let refused = |req| judge(&lesson, &req).err().map(|e| e.to_string());
        assert_eq!(
            refused(decision("nope", "sse", "direction")).as_deref(),
            Some("There is no scenario called \"nope\".")
        );
        assert_eq!(
            refused(decision("notifications", "carrier pigeon", "direction")).as_deref(),
            Some("answer must be polling, sse or websocket.")
        );
        let factor = refused(decision("notifications", "sse", "cost")).expect("refused");
        assert!(
            factor.starts_with("factor must be one of [\"direction\""),
            "{factor}"
        );
    }

    #[test]
    fn a_lesson_takes_only_the_kinds_it_asks_for() {
        let lesson = parse("01-d.md", DECIDES).expect("lesson");
        let err = judge(&lesson, &interview("SSE.")).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "The lesson \"d\" asks for no interview answer."
        );
    }

    #[test]
    fn an_interview_answer_is_bounded_and_compared_with_the_key_points() {
        assert!(matches!(judge_interview("   "), Err(AnswerError::Length)));
        let long = "a".repeat(MAX_ANSWER_CHARS + 1);
        assert!(matches!(judge_interview(&long), Err(AnswerError::Length)));
        let (result, kept) = judge_interview(" I pick SSE. ").expect("judged");
        assert_eq!(result.key_points.len(), KEY_POINTS.len());
        assert_eq!(result.model_answer.as_deref(), Some(MODEL_ANSWER));
        assert_eq!(kept, Kept::Interview("I pick SSE.".into()));
    }
}
