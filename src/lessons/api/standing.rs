//! My progress on a lesson over the wire: each checked step as judged (my
//! counts, what "show me" counted, done, watched, helped), the prediction
//! beside its measurement, and the hints revealed.

use poem_openapi::Object;

use crate::lessons::Step;
use crate::lessons::judge::{self, StepVerdict};
use crate::lessons::progress::{LessonState, StepState};

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

/// The progress of lesson `slug`: `verdicts` as judged, beside what `state`
/// keeps (hints, "show me", predictions).
pub fn progress(slug: &str, verdicts: &[StepVerdict], state: &LessonState) -> Progress {
    let steps: Vec<StepProgress> = verdicts
        .iter()
        .map(|v| step_progress(v, state.steps.get(&v.step.id)))
        .collect();
    let total = steps.len() as u32;
    let done = steps.iter().filter(|s| s.done).count() as u32;
    let done_alone = steps.iter().filter(|s| s.done && !s.helped).count() as u32;
    Progress {
        slug: slug.to_owned(),
        steps,
        done,
        done_alone,
        total,
        complete: done == total,
    }
}

/// Step `id` of `progress`; a step without checks is not judged, so it is
/// only entered.
pub fn step_of(progress: Progress, id: &str) -> StepProgress {
    progress
        .steps
        .into_iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| StepProgress {
            id: id.to_owned(),
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

/// The first `used` hints of a step, numbered.
pub fn revealed(step: &Step, used: usize) -> Hints {
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

fn step_progress(v: &StepVerdict, st: Option<&StepState>) -> StepProgress {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessons::judge::{Elsewhere, judge};
    use crate::lessons::parse::parse;
    use crate::lessons::progress::Prediction;

    const LESSON: &str = "---\nslug: t\ntitle: T\norder: 1\ntransport: poll\nsummary: s\nminutes: 1\n---\n\n## One\n\n```check\ndecisions >= 1\n```\n\n```hint\nAnswer one.\n```\n\n```predict\nquestion: How many?\nmeasure: decisions\nunit: answers\nexplain: Because.\n```\n\n## Read\n\nNo checks here.\n\n## Two\n\n```check\ndecisions >= 1\n```\n";

    fn state(done: bool, hints_used: u8) -> LessonState {
        let mut state = LessonState::default();
        let one = StepState {
            done,
            hints_used,
            prediction: Some(Prediction {
                value: 1.0,
                measured: done.then_some(1),
            }),
            ..StepState::default()
        };
        state.steps.insert("one".into(), one);
        state
    }

    #[test]
    fn only_checked_steps_count_and_help_is_told_apart() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let alone = state(true, 0);
        let verdicts = judge(&lesson, &alone, &[], &Elsewhere::new());
        let p = progress("t", &verdicts, &alone);
        assert_eq!(
            (p.total, p.done, p.done_alone, p.complete),
            (2, 1, 1, false)
        );
        let helped = state(true, 1);
        let p = progress("t", &verdicts, &helped);
        assert_eq!((p.done, p.done_alone), (1, 0));
        assert!(p.steps[0].helped && p.steps[0].hints_total == 1);
    }

    #[test]
    fn a_done_steps_prediction_stands_beside_its_measurement() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let done = state(true, 0);
        let verdicts = judge(&lesson, &done, &[], &Elsewhere::new());
        let prediction = progress("t", &verdicts, &done).steps[0]
            .prediction
            .take()
            .expect("prediction");
        assert_eq!(prediction.measured, Some(1));
        assert!(
            prediction
                .sentence
                .is_some_and(|s| s.ends_with("close to what you expected. Because."))
        );
    }

    #[test]
    fn a_step_without_checks_is_only_entered() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let verdicts = judge(&lesson, &LessonState::default(), &[], &Elsewhere::new());
        let p = progress("t", &verdicts, &LessonState::default());
        let read = step_of(p, "read");
        assert!(read.entered && !read.done && read.checks.is_empty());
    }

    #[test]
    fn hints_are_revealed_in_order_and_never_beyond_the_last() {
        let lesson = parse("01-t.md", LESSON).expect("lesson");
        let hints = revealed(&lesson.steps[0], 5);
        assert_eq!((hints.total, hints.hints.len()), (1, 1));
        assert_eq!(hints.hints[0].number, 1);
        assert!(revealed(&lesson.steps[0], 0).hints.is_empty());
    }
}
