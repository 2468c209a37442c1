//! Judging a lesson for one learner, step by step.
//!
//! A step's checks count only what happened in the step's window (after the
//! learner entered it) and only what the learner did: entries play mode
//! caused count toward *watched*, never *done*. Exercise answers count for a
//! step when given inside its window. Pure functions over a snapshot, so the
//! rules are tested without a server.

use std::collections::HashMap;
use std::sync::Arc;

use super::checks::{Check, Counters};
use super::progress::{LessonState, StepState};
use super::{Lesson, Step};
use crate::traffic::{Actor, Entry};

/// Counts per step: step id → check name → value.
pub type StepCounts = HashMap<String, HashMap<String, u64>>;

/// What other instances (the cluster lab's) counted for the learner.
#[derive(Debug, Default)]
pub struct Elsewhere {
    /// The learner's own actions there.
    pub mine: StepCounts,
    /// What "show me" did there: watched, never done.
    pub shown: StepCounts,
}

impl Elsewhere {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Whether a judgement may change what is kept: a GET only looks, a POST records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Shows what holds now and keeps nothing.
    Look,
    /// Keeps what became done or watched (steps stay done once their checks held).
    Record,
}

/// One check, judged.
#[derive(Debug, Clone)]
pub struct CheckVerdict<'a> {
    pub check: &'a Check,
    /// The learner's own count in the step's window.
    pub value: u64,
    /// What play mode's traffic counted in the same window.
    pub watched_value: u64,
    pub holds: bool,
}

/// One step with checks, judged.
#[derive(Debug, Clone)]
pub struct StepVerdict<'a> {
    pub step: &'a Step,
    pub entered: bool,
    pub done: bool,
    /// Done now, and not before this judgement.
    pub newly_done: bool,
    pub watched: bool,
    pub newly_watched: bool,
    pub checks: Vec<CheckVerdict<'a>>,
    /// The learner's count of the step's predicted measure, now.
    pub measured: Option<u64>,
}

/// The lowest window start among steps still to judge: the entries a
/// judgement needs start after it. `None` when no step needs entries.
pub fn earliest_window(lesson: &Lesson, state: &LessonState) -> Option<u64> {
    lesson
        .steps
        .iter()
        .filter(|s| !s.checks.is_empty())
        .filter_map(|s| state.steps.get(&s.id))
        .filter(|s| !(s.done && s.watched))
        .map(|s| s.entered_seq)
        .min()
}

/// Judges every checked step of `lesson`. `entries` are the learner's
/// entries after [`earliest_window`] (more is harmless).
pub fn judge<'a>(
    lesson: &'a Lesson,
    state: &LessonState,
    entries: &[Arc<Entry>],
    elsewhere: &Elsewhere,
) -> Vec<StepVerdict<'a>> {
    lesson
        .steps
        .iter()
        .filter(|s| !s.checks.is_empty())
        .map(|step| match state.steps.get(&step.id) {
            None => not_entered(step),
            Some(st) => judge_step(step, st, state, entries, elsewhere),
        })
        .collect()
}

fn not_entered(step: &Step) -> StepVerdict<'_> {
    StepVerdict {
        step,
        entered: false,
        done: false,
        newly_done: false,
        watched: false,
        newly_watched: false,
        checks: step
            .checks
            .iter()
            .map(|check| CheckVerdict {
                check,
                value: 0,
                watched_value: 0,
                holds: false,
            })
            .collect(),
        measured: None,
    }
}

fn judge_step<'a>(
    step: &'a Step,
    st: &StepState,
    lesson_state: &LessonState,
    entries: &[Arc<Entry>],
    elsewhere: &Elsewhere,
) -> StepVerdict<'a> {
    let window = entries.iter().filter(|e| e.seq > st.entered_seq);
    let mut mine = Counters::from_entries(window.clone().filter(|e| e.actor == Actor::Learner));
    let mut shown = Counters::from_entries(window.filter(|e| e.actor == Actor::Play));
    add_answers(&mut mine, lesson_state, st.entered_at, false);
    add_answers(&mut shown, lesson_state, st.entered_at, true);
    for (name, value) in elsewhere.mine.get(&step.id).into_iter().flatten() {
        mine.add_named(name, *value);
    }
    for (name, value) in elsewhere.shown.get(&step.id).into_iter().flatten() {
        shown.add_named(name, *value);
    }
    let checks: Vec<CheckVerdict> = step
        .checks
        .iter()
        .map(|check| {
            let value = mine.get(check.name);
            CheckVerdict {
                check,
                value,
                watched_value: shown.get(check.name),
                holds: check.holds(value),
            }
        })
        .collect();
    let all_hold = checks.iter().all(|c| c.holds);
    // Parsing guarantees a check that fails at zero, so this needs play to act.
    let all_watched = step.checks.iter().all(|c| c.holds(shown.get(c.name)));
    StepVerdict {
        step,
        entered: true,
        done: st.done || all_hold,
        newly_done: !st.done && all_hold,
        watched: st.watched || all_watched,
        newly_watched: !st.watched && all_watched,
        checks,
        measured: step.predict.as_ref().map(|p| mine.get(p.measure)),
    }
}

/// Whether `verdicts` found a step newly done or newly watched, so
/// [`keep`] has something to keep.
pub fn anything_new(verdicts: &[StepVerdict]) -> bool {
    verdicts.iter().any(|v| v.newly_done || v.newly_watched)
}

/// Keeps in `state` what `verdicts` found newly done or watched, and freezes
/// the measurement beside a prediction when its step became done.
pub fn keep(state: &mut LessonState, verdicts: &[StepVerdict]) {
    for v in verdicts.iter().filter(|v| v.newly_done || v.newly_watched) {
        let st = state.steps.entry(v.step.id.clone()).or_default();
        st.done |= v.done;
        st.watched |= v.watched;
        if v.newly_done
            && let Some(p) = st.prediction.as_mut()
        {
            p.measured = v.measured;
        }
    }
}

/// Exercise answers given after the step was entered (by the lesson's
/// clock), by the learner or by play mode (`played`).
fn add_answers(counters: &mut Counters, state: &LessonState, entered_at: u64, played: bool) {
    let decisions = state
        .decisions
        .values()
        .filter(|d| d.at > entered_at && d.played == played);
    let (all, correct) = decisions.fold((0, 0), |(n, ok), d| (n + 1, ok + u64::from(d.correct)));
    counters.add("decisions", all);
    counters.add("decisions_correct", correct);
    let answered = state
        .interview
        .as_ref()
        .is_some_and(|a| a.at > entered_at && a.played == played);
    counters.add("interview_answered", u64::from(answered));
}

/// One sentence that puts a prediction beside the measurement.
pub fn compare_prediction(predicted: f64, measured: u64, unit: &str) -> String {
    let m = measured as f64;
    let close = (m - predicted).abs() <= (0.15 * m.max(predicted)).max(1.0);
    let verdict = if close {
        "close to what you expected".to_owned()
    } else if predicted > 0.0 && m > predicted {
        format!("{:.1}× what you expected", m / predicted)
    } else if m > 0.0 && predicted > m {
        format!("{:.1}× fewer than you expected", predicted / m)
    } else {
        "not what you expected".to_owned()
    };
    format!(
        "You predicted {} {unit}; you measured {measured} {unit}: {verdict}.",
        trim_number(predicted)
    )
}

fn trim_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessons::parse::parse;
    use crate::lessons::progress::{Decision, StepState};
    use crate::traffic::{Direction, EntryKind, Transport};

    const LESSON: &str = "---\nslug: t\ntitle: T\norder: 1\ntransport: poll\nsummary: s\nminutes: 1\n---\n\n## One\n\n```check\npolls >= 2\npolls <= 3\n```\n\n```predict\nquestion: How many?\nmeasure: polls\nunit: requests\nexplain: Because.\n```\n\n## Two\n\n```check\ndecisions >= 1\n```\n";

    fn poll(seq: u64, actor: Actor) -> Arc<Entry> {
        let mut e = Entry::new(Transport::Poll, EntryKind::Exchange, Direction::Both, seq);
        e.seq = seq;
        e.status = Some(204);
        e.empty = Some(true);
        e.actor = actor;
        Arc::new(e)
    }

    fn entered(seq: u64) -> StepState {
        StepState {
            entered_seq: seq,
            entered_at: seq,
            ..StepState::default()
        }
    }

    #[test]
    fn a_step_not_entered_counts_nothing() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let entries = vec![poll(1, Actor::Learner), poll(2, Actor::Learner)];
        let verdicts = judge(
            &lesson,
            &LessonState::default(),
            &entries,
            &Elsewhere::new(),
        );
        assert!(verdicts.iter().all(|v| !v.entered && !v.done));
    }

    #[test]
    fn only_the_learners_own_traffic_inside_the_window_counts() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let mut state = LessonState::default();
        state.steps.insert("one".into(), entered(10));
        // Before the window, and play mode's: neither counts as done.
        let entries = vec![
            poll(5, Actor::Learner),
            poll(6, Actor::Learner),
            poll(11, Actor::Play),
            poll(12, Actor::Play),
            poll(13, Actor::Learner),
        ];
        let v = &judge(&lesson, &state, &entries, &Elsewhere::new())[0];
        assert_eq!((v.checks[0].value, v.checks[0].watched_value), (1, 2));
        assert!(!v.done && v.watched && v.newly_watched);
        let mut more = entries.clone();
        more.push(poll(14, Actor::Learner));
        let v = &judge(&lesson, &state, &more, &Elsewhere::new())[0];
        assert!(v.done && v.newly_done);
        assert_eq!(v.measured, Some(2));
    }

    #[test]
    fn a_budget_overrun_keeps_the_step_open() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let mut state = LessonState::default();
        state.steps.insert("one".into(), entered(0));
        let entries: Vec<_> = (1..=4).map(|s| poll(s, Actor::Learner)).collect();
        let v = &judge(&lesson, &state, &entries, &Elsewhere::new())[0];
        assert!(!v.done, "4 polls is over the budget of 3");
    }

    #[test]
    fn answers_count_only_inside_the_window() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let mut state = LessonState::default();
        state.steps.insert("two".into(), entered(50));
        let decision = |at| Decision {
            answer: "sse".into(),
            correct: true,
            at,
            played: false,
        };
        state.decisions.insert("a".into(), decision(40));
        // Given at the tick before the step was entered: no traffic in
        // between tells them apart, the lesson clock does.
        state.decisions.insert("b".into(), decision(49));
        assert!(!judge(&lesson, &state, &[], &Elsewhere::new())[1].done);
        state.decisions.insert("c".into(), decision(51));
        assert!(judge(&lesson, &state, &[], &Elsewhere::new())[1].done);
    }

    #[test]
    fn play_modes_answers_are_watched_not_done() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let mut state = LessonState::default();
        state.steps.insert("two".into(), entered(50));
        state.decisions.insert(
            "a".into(),
            Decision {
                answer: "sse".into(),
                correct: true,
                at: 60,
                played: true,
            },
        );
        let v = &judge(&lesson, &state, &[], &Elsewhere::new())[1];
        assert!(!v.done && v.watched, "played, so watched");
        assert_eq!((v.checks[0].value, v.checks[0].watched_value), (0, 1));
    }

    #[test]
    fn keeping_a_verdict_marks_the_step_and_freezes_the_measurement() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let mut state = LessonState::default();
        let mut one = entered(0);
        one.prediction = Some(crate::lessons::progress::Prediction {
            value: 3.0,
            measured: None,
        });
        state.steps.insert("one".into(), one);
        let entries: Vec<_> = (1..=2).map(|s| poll(s, Actor::Learner)).collect();
        let verdicts = judge(&lesson, &state, &entries, &Elsewhere::new());
        assert!(anything_new(&verdicts));
        keep(&mut state, &verdicts);
        let kept = &state.steps["one"];
        assert!(kept.done && !kept.watched);
        assert_eq!(kept.prediction.as_ref().and_then(|p| p.measured), Some(2));
        // Done stays done, and nothing is new once kept.
        let more: Vec<_> = (1..=5).map(|s| poll(s, Actor::Learner)).collect();
        let again = judge(&lesson, &state, &more, &Elsewhere::new());
        assert!(again[0].done && !anything_new(&again));
        keep(&mut state, &again);
        assert_eq!(
            state.steps["one"]
                .prediction
                .as_ref()
                .and_then(|p| p.measured),
            Some(2),
            "frozen when the step was done"
        );
    }

    #[test]
    fn a_prediction_is_put_beside_the_measurement() {
        assert_eq!(
            compare_prediction(10.0, 21, "requests"),
            "You predicted 10 requests; you measured 21 requests: 2.1× what you expected."
        );
        assert!(compare_prediction(20.0, 21, "requests").contains("close to"));
        assert!(compare_prediction(40.0, 10, "requests").contains("4.0× fewer"));
    }
}
