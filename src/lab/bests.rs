//! Challenge best scores, per learner: the one part of a challenge worth
//! keeping beyond an attempt, and beyond this process.
//!
//! Attempts (where "start" was pressed) only mean something against this
//! run's traffic log, so they stay in [`super::challenges`]; a best score is
//! the learner's record and is saved through [`Persist`] on every
//! improvement, loaded on the learner's first use after a restart.
//!
//! Bounded: the learners first seen longest ago are forgotten first (from
//! memory only; the file has its own bound).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most learners whose best scores are held in memory.
const MAX_LEARNERS: usize = 10_000;

/// One learner's best scores: challenge id → score (lower is better).
pub type Bests = BTreeMap<String, u64>;

/// Where best scores are kept beyond this process (a database file), if anywhere.
pub trait Persist: Send + Sync {
    /// Saves one learner's best scores, all of them.
    fn save(&self, learner: &str, bests: &Bests);
    /// Loads one learner's best scores, if any were saved.
    fn load(&self, learner: &str) -> Option<Bests>;
}

#[derive(Default)]
struct Inner {
    learners: HashMap<Arc<str>, Bests>,
    recent: VecDeque<Arc<str>>,
}

#[derive(Default)]
pub struct BestScores {
    inner: Mutex<Inner>,
    persist: Option<Arc<dyn Persist>>,
}

impl BestScores {
    /// Best scores saved through `persist` on every improvement and loaded from it on first use.
    pub fn persistent(persist: Arc<dyn Persist>) -> Self {
        BestScores {
            inner: Mutex::default(),
            persist: Some(persist),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The learner's scores in memory, loaded if this process has not seen them yet.
    fn learner<'a>(&self, inner: &'a mut Inner, learner: &Arc<str>) -> &'a mut Bests {
        if !inner.learners.contains_key(learner) {
            while inner.learners.len() >= MAX_LEARNERS {
                let Some(old) = inner.recent.pop_front() else {
                    break;
                };
                inner.learners.remove(&old);
            }
            inner.recent.push_back(learner.clone());
            let saved = self
                .persist
                .as_ref()
                .and_then(|p| p.load(learner))
                .unwrap_or_default();
            inner.learners.insert(learner.clone(), saved);
        }
        inner.learners.entry(learner.clone()).or_default()
    }

    /// The learner's best score for a challenge once `score` (a solved
    /// attempt's, if any) is counted; saved when it beat the best.
    pub fn best_after(
        &self,
        learner: &Arc<str>,
        challenge: &str,
        score: Option<u64>,
    ) -> Option<u64> {
        let mut inner = self.inner();
        let bests = self.learner(&mut inner, learner);
        let best = bests.get(challenge).copied();
        match (best, score) {
            (Some(best), Some(score)) if best <= score => Some(best),
            (best, None) => best,
            (_, Some(score)) => {
                bests.insert(challenge.to_owned(), score);
                if let Some(persist) = &self.persist {
                    persist.save(learner, bests);
                }
                Some(score)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Memory(Mutex<HashMap<String, Bests>>);

    impl Persist for Memory {
        fn save(&self, learner: &str, bests: &Bests) {
            self.0
                .lock()
                .expect("lock")
                .insert(learner.into(), bests.clone());
        }
        fn load(&self, learner: &str) -> Option<Bests> {
            self.0.lock().expect("lock").get(learner).cloned()
        }
    }

    #[test]
    fn only_a_better_score_replaces_the_best() {
        let scores = BestScores::default();
        let me: Arc<str> = "me".into();
        assert_eq!(scores.best_after(&me, "golf", None), None);
        assert_eq!(scores.best_after(&me, "golf", Some(3)), Some(3));
        assert_eq!(
            scores.best_after(&me, "golf", Some(5)),
            Some(3),
            "lower is better"
        );
        assert_eq!(scores.best_after(&me, "golf", Some(1)), Some(1));
        assert_eq!(scores.best_after(&me, "golf", None), Some(1));
        assert_eq!(scores.best_after(&"you".into(), "golf", None), None);
    }

    #[test]
    fn improvements_are_saved_and_a_new_store_loads_them() {
        let disk = Arc::new(Memory::default());
        let me: Arc<str> = "me".into();
        let first = BestScores::persistent(disk.clone());
        first.best_after(&me, "golf", Some(4));
        first.best_after(&me, "drop", Some(250));
        let second = BestScores::persistent(disk);
        assert_eq!(second.best_after(&me, "golf", None), Some(4));
        assert_eq!(second.best_after(&me, "drop", None), Some(250));
    }
}
