//! Per-learner lesson progress, step by step.
//!
//! A step's checks judge only what the learner did *in that step*: entering
//! a step opens its window (the traffic log's `seq` at that moment), and only
//! traffic after it counts. A step stays done once its checks held. Play mode
//! ("show me") marks a step *watched*, never done. Hints taken, "show me" and
//! predictions are kept so the lesson list can tell solved-on-your-own from
//! solved-with-help.
//!
//! Bounded: learners live in a [`LearnerTable`] (per client address, idle
//! expiry, new learners a minute), and every per-learner map is keyed by
//! the lessons' own slugs and step ids.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::learner_table::{LearnerTable, TableLimits, TooManyNewLearners};
use crate::traffic::Learner;

/// A learner's whole progress: lesson slug → lesson state.
pub type LearnerProgress = BTreeMap<String, LessonState>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LessonState {
    /// Step id → what happened in that step.
    #[serde(default)]
    pub steps: BTreeMap<String, StepState>,
    /// Scenario id → the learner's decision.
    #[serde(default)]
    pub decisions: BTreeMap<String, Decision>,
    #[serde(default)]
    pub interview: Option<Answer>,
    /// Ticks at every step entered and every answer given, so an answer is
    /// strictly before or after a step's start even when no traffic came
    /// between them (lesson bookkeeping is not in the traffic log).
    #[serde(default)]
    pub clock: u64,
}

impl LessonState {
    /// The next tick of the lesson's clock.
    pub fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    /// Only traffic entries after this `seq` count for the step.
    pub entered_seq: u64,
    /// The lesson clock when entered: only answers given after it count.
    #[serde(default)]
    pub entered_at: u64,
    /// Every check held on the learner's own traffic at some point.
    pub done: bool,
    /// Every check held on play mode's traffic: the learner watched it done.
    pub watched: bool,
    /// Hints revealed, in order (0 = none).
    pub hints_used: u8,
    /// The learner asked the page to show them ("show me" / play).
    pub shown: bool,
    #[serde(default)]
    pub prediction: Option<Prediction>,
}

impl StepState {
    /// Done with hints or a demonstration, rather than alone.
    pub fn helped(&self) -> bool {
        self.hints_used > 0 || self.shown
    }
}

/// A number the learner predicted before measuring it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub value: f64,
    /// The measured value, frozen when the step was done.
    pub measured: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub answer: String,
    pub correct: bool,
    /// The lesson clock when answered: counts for steps entered before.
    #[serde(default)]
    pub at: u64,
    /// Play mode answered ("show me"): it counts as watched, not done.
    #[serde(default)]
    pub played: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    /// The lesson clock when answered.
    #[serde(default)]
    pub at: u64,
    /// Play mode answered ("show me"): it counts as watched, not done.
    #[serde(default)]
    pub played: bool,
}

/// Where changed progress is kept beyond this process (a database file), if anywhere.
pub trait Persist: Send + Sync {
    /// Saves one learner's whole progress.
    fn save(&self, learner: &str, progress: &LearnerProgress);
    /// Loads one learner's progress, if any was saved.
    fn load(&self, learner: &str) -> Option<LearnerProgress>;
}

/// The lesson progress of every learner this process has seen lately.
pub struct ProgressStore {
    table: Mutex<LearnerTable<LearnerProgress>>,
    persist: Option<Arc<dyn Persist>>,
}

impl Default for ProgressStore {
    fn default() -> Self {
        ProgressStore::new(TableLimits::DEFAULT, None)
    }
}

impl ProgressStore {
    /// A store bounded by `limits`; with `persist`, every change is saved
    /// and a learner not in memory is loaded from it.
    pub fn new(limits: TableLimits, persist: Option<Arc<dyn Persist>>) -> Self {
        ProgressStore {
            table: Mutex::new(LearnerTable::new(limits)),
            persist,
        }
    }

    fn table(&self) -> MutexGuard<'_, LearnerTable<LearnerProgress>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A learner's saved progress, as this run reads it.
    fn load(&self, learner: &str) -> LearnerProgress {
        let mut saved = self
            .persist
            .as_ref()
            .and_then(|p| p.load(learner))
            .unwrap_or_default();
        // Windows opened in an earlier run name that run's traffic log;
        // this run's log starts empty, so all of it came after them.
        // (Answers are ordered by the lesson's own clock, which is saved.)
        for step in saved.values_mut().flat_map(|l| l.steps.values_mut()) {
            step.entered_seq = 0;
        }
        saved
    }

    /// Runs `f` on a learner's state for a lesson (created empty on first
    /// use) and saves the result if `f` changed it. A learner new to this
    /// process is admitted as [`LearnerTable::admit`] says, or refused.
    pub fn update<R>(
        &self,
        who: &Learner,
        slug: &str,
        f: impl FnOnce(&mut LessonState) -> R,
    ) -> Result<R, TooManyNewLearners> {
        let mut table = self.table();
        let progress = table.admit(&who.id, who.address, Instant::now(), || self.load(&who.id))?;
        let before = progress.get(slug).cloned();
        let state = progress.entry(slug.to_owned()).or_default();
        let result = f(state);
        if before.as_ref() != Some(state)
            && let Some(persist) = &self.persist
        {
            persist.save(&who.id, progress);
        }
        Ok(result)
    }

    /// A copy of a learner's state for a lesson (empty if they never started
    /// it). Only looks: a learner not in memory is read, not admitted.
    pub fn get(&self, learner: &str, slug: &str) -> LessonState {
        let mut table = self.table();
        if let Some(progress) = table.get_mut(learner, Instant::now()) {
            return progress.get(slug).cloned().unwrap_or_default();
        }
        drop(table);
        self.load(learner).remove(slug).unwrap_or_default()
    }

    /// Starts a lesson over: every step, answer and prediction forgotten.
    pub fn reset(&self, who: &Learner, slug: &str) -> Result<(), TooManyNewLearners> {
        self.update(who, slug, |s| *s = LessonState::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Memory(Mutex<HashMap<String, LearnerProgress>>);

    impl Persist for Memory {
        fn save(&self, learner: &str, progress: &LearnerProgress) {
            self.0
                .lock()
                .expect("lock")
                .insert(learner.into(), progress.clone());
        }
        fn load(&self, learner: &str) -> Option<LearnerProgress> {
            self.0.lock().expect("lock").get(learner).cloned()
        }
    }

    #[test]
    fn steps_are_kept_per_learner_and_reset_forgets_them() {
        let store = ProgressStore::default();
        let me = Learner::new("me", None);
        store
            .update(&me, "polling", |s| {
                s.steps.entry("a".into()).or_default().done = true;
            })
            .expect("admitted");
        assert!(store.get("me", "polling").steps["a"].done);
        assert!(store.get("you", "polling").steps.is_empty());
        store.reset(&me, "polling").expect("admitted");
        assert!(store.get("me", "polling").steps.is_empty());
    }

    #[test]
    fn a_persistent_store_saves_changes_and_a_new_store_loads_them() {
        let disk = Arc::new(Memory::default());
        let me = Learner::new("me", None);
        let first = ProgressStore::new(TableLimits::DEFAULT, Some(disk.clone()));
        first
            .update(&me, "sse", |s| {
                let step = s.steps.entry("b".into()).or_default();
                step.hints_used = 2;
                step.prediction = Some(Prediction {
                    value: 12.0,
                    measured: None,
                });
            })
            .expect("admitted");
        let second = ProgressStore::new(TableLimits::DEFAULT, Some(disk));
        let step = &second.get("me", "sse").steps["b"];
        assert_eq!(step.hints_used, 2);
        assert!(step.helped());
        assert_eq!(step.prediction.as_ref().map(|p| p.value), Some(12.0));
    }
}
