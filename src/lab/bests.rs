//! Challenge best scores, per learner: the one part of a challenge worth
//! keeping beyond an attempt, and beyond this process.
//!
//! Attempts (where "start" was pressed) only mean something against this
//! run's traffic log, so they stay in [`super::challenges`]; a best score is
//! the learner's record and is saved through [`Persist`] on every
//! improvement, loaded on the learner's first use after a restart.
//!
//! Bounded in memory by a [`LearnerTable`] (per client address, idle
//! expiry); the file has its own bound.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::time::Instant;

use crate::learner_table::{LearnerTable, TableLimits, TooManyNewLearners};
use crate::traffic::Learner;

/// One learner's best scores: challenge id → score (lower is better).
pub type Bests = BTreeMap<String, u64>;

/// Where best scores are kept beyond this process (a database file), if anywhere.
pub trait Persist: Send + Sync {
    /// Saves one learner's best scores, all of them.
    fn save(&self, learner: &str, bests: &Bests);
    /// Loads one learner's best scores, if any were saved.
    fn load(&self, learner: &str) -> Option<Bests>;
}

pub struct BestScores {
    table: Mutex<LearnerTable<Bests>>,
    persist: Option<Arc<dyn Persist>>,
}

impl Default for BestScores {
    fn default() -> Self {
        BestScores::new(TableLimits::DEFAULT, None)
    }
}

impl BestScores {
    /// Best scores bounded by `limits`; with `persist`, saved on every
    /// improvement and loaded from it on a learner's first use.
    pub fn new(limits: TableLimits, persist: Option<Arc<dyn Persist>>) -> Self {
        BestScores {
            table: Mutex::new(LearnerTable::new(limits)),
            persist,
        }
    }

    fn table(&self) -> MutexGuard<'_, LearnerTable<Bests>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn load(&self, learner: &str) -> Bests {
        self.persist
            .as_ref()
            .and_then(|p| p.load(learner))
            .unwrap_or_default()
    }

    /// The learner's best score for a challenge once `score` (a solved
    /// attempt's, if any) is counted; saved when it beat the best. Without
    /// a score it only looks (a learner not in memory is not admitted).
    pub fn best_after(
        &self,
        who: &Learner,
        challenge: &str,
        score: Option<u64>,
    ) -> Result<Option<u64>, TooManyNewLearners> {
        let mut table = self.table();
        let Some(score) = score else {
            let kept = table
                .get_mut(&who.id, Instant::now())
                .map(|b| b.get(challenge).copied());
            drop(table);
            return Ok(kept.unwrap_or_else(|| self.load(&who.id).get(challenge).copied()));
        };
        let bests = table.admit(&who.id, who.address, Instant::now(), || self.load(&who.id))?;
        match bests.get(challenge).copied() {
            Some(best) if best <= score => Ok(Some(best)),
            _ => {
                bests.insert(challenge.to_owned(), score);
                if let Some(persist) = &self.persist {
                    persist.save(&who.id, bests);
                }
                Ok(Some(score))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
        let me = Learner::new("me", None);
        assert_eq!(scores.best_after(&me, "golf", None), Ok(None));
        assert_eq!(scores.best_after(&me, "golf", Some(3)), Ok(Some(3)));
        assert_eq!(
            scores.best_after(&me, "golf", Some(5)),
            Ok(Some(3)),
            "lower is better"
        );
        assert_eq!(scores.best_after(&me, "golf", Some(1)), Ok(Some(1)));
        assert_eq!(scores.best_after(&me, "golf", None), Ok(Some(1)));
        let you = Learner::new("you", None);
        assert_eq!(scores.best_after(&you, "golf", None), Ok(None));
    }

    #[test]
    fn improvements_are_saved_and_a_new_store_loads_them() {
        let disk = Arc::new(Memory::default());
        let me = Learner::new("me", None);
        let first = BestScores::new(TableLimits::DEFAULT, Some(disk.clone()));
        first.best_after(&me, "golf", Some(4)).expect("admitted");
        first.best_after(&me, "drop", Some(250)).expect("admitted");
        let second = BestScores::new(TableLimits::DEFAULT, Some(disk));
        assert_eq!(second.best_after(&me, "golf", None), Ok(Some(4)));
        assert_eq!(second.best_after(&me, "drop", None), Ok(Some(250)));
    }
}
