//! Per-learner lesson progress: where each lesson started (so only traffic
//! since then counts), which steps are done (kept even if the traffic log
//! later forgets the entries), and exercise answers. Bounded: the least
//! recently active learners are forgotten first.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most learners remembered.
const MAX_LEARNERS: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct LessonState {
    /// Only traffic entries after this `seq` count for the lesson.
    pub baseline_seq: u64,
    pub done: BTreeSet<String>,
    /// Scenario id → (answer, correct).
    pub decisions: BTreeMap<String, (String, bool)>,
    pub interview: Option<String>,
    pub compare_views: u64,
}

#[derive(Default)]
struct Inner {
    learners: HashMap<Arc<str>, HashMap<String, LessonState>>,
    recent: VecDeque<Arc<str>>,
}

#[derive(Default)]
pub struct ProgressStore {
    inner: Mutex<Inner>,
}

impl ProgressStore {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a learner's state for a lesson, creating it (starting at
    /// `baseline_seq`) if this is the learner's first visit.
    pub fn with<R>(
        &self,
        learner: &Arc<str>,
        slug: &str,
        baseline_seq: u64,
        f: impl FnOnce(&mut LessonState) -> R,
    ) -> R {
        let mut inner = self.inner();
        if !inner.learners.contains_key(learner) {
            inner.recent.push_back(learner.clone());
            while inner.learners.len() >= MAX_LEARNERS {
                let Some(old) = inner.recent.pop_front() else {
                    break;
                };
                inner.learners.remove(&old);
            }
        }
        let lessons = inner.learners.entry(learner.clone()).or_default();
        let state = lessons
            .entry(slug.to_owned())
            .or_insert_with(|| LessonState {
                baseline_seq,
                ..LessonState::default()
            });
        f(state)
    }

    /// A copy of a learner's state for a lesson, if they started it.
    pub fn get(&self, learner: &str, slug: &str) -> Option<LessonState> {
        self.inner().learners.get(learner)?.get(slug).cloned()
    }

    /// Starts a lesson over.
    pub fn reset(&self, learner: &Arc<str>, slug: &str, baseline_seq: u64) {
        self.with(learner, slug, baseline_seq, |s| {
            *s = LessonState {
                baseline_seq,
                ..LessonState::default()
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_visit_sets_the_baseline_and_reset_moves_it() {
        let store = ProgressStore::default();
        let me: Arc<str> = "me".into();
        store.with(&me, "polling", 10, |s| {
            s.done.insert("a".into());
        });
        store.with(&me, "polling", 99, |s| assert_eq!(s.baseline_seq, 10));
        store.reset(&me, "polling", 50);
        let s = store.get("me", "polling").expect("state");
        assert_eq!((s.baseline_seq, s.done.len()), (50, 0));
        assert!(store.get("you", "polling").is_none());
    }
}
