//! Where entries live: one bounded ring for everyone, bounded per learner
//! too, so neither a busy learner nor a flood of new ones grows memory.
//!
//! Entries are kept per learner (reads are always "my entries"); a global
//! queue of `(seq, learner)` remembers the overall order so the oldest entry
//! of all can be dropped when the total bound is reached.
//!
//! Each learner's log also remembers when their last poll and long-poll
//! arrived: the next one's catch-up boundary ([`super::catch_up`]). Two
//! numbers per learner, gone with the learner's entries.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

use super::{Entry, EntryKind, Transport};

#[derive(Default)]
struct LearnerLog {
    entries: VecDeque<Arc<Entry>>,
    /// Connections opened and not yet closed, per transport.
    open: HashMap<Transport, u32>,
    arrivals: Arrivals,
}

/// When a learner's last answered poll and long-poll arrived (µs since the epoch).
#[derive(Default)]
struct Arrivals {
    poll: Option<u64>,
    long_poll: Option<u64>,
}

impl Arrivals {
    fn last(&self, transport: Transport) -> Option<u64> {
        match transport {
            Transport::Poll => self.poll,
            Transport::LongPoll => self.long_poll,
            _ => None,
        }
    }

    fn of(&mut self, transport: Transport) -> Option<&mut Option<u64>> {
        match transport {
            Transport::Poll => Some(&mut self.poll),
            Transport::LongPoll => Some(&mut self.long_poll),
            _ => None,
        }
    }
}

struct Inner {
    learners: HashMap<Arc<str>, LearnerLog>,
    /// Global age order. May hold markers of entries already dropped by the
    /// per-learner bound or a clear; those are skipped and compacted away.
    order: VecDeque<(u64, Arc<str>)>,
    /// Entries actually kept.
    live: usize,
    next_seq: u64,
}

/// The traffic log. Cheap to clone.
#[derive(Clone)]
pub struct TrafficLog {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Mutex<Inner>,
    live: broadcast::Sender<(Arc<str>, Arc<Entry>)>,
    next_connection: AtomicU64,
    capacity: usize,
    per_learner: usize,
    enabled: bool,
}

impl TrafficLog {
    /// A log of at most `capacity` entries, `per_learner` of them per learner.
    pub fn new(capacity: usize, per_learner: usize, enabled: bool) -> Self {
        let capacity = capacity.max(1);
        let (live, _) = broadcast::channel(1024);
        TrafficLog {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    learners: HashMap::new(),
                    order: VecDeque::new(),
                    live: 0,
                    next_seq: 1,
                }),
                live,
                next_connection: AtomicU64::new(1),
                capacity,
                per_learner: per_learner.clamp(1, capacity),
                enabled,
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.shared.enabled
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves the maps consistent before it can panic.
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest `seq` handed out so far (0 before the first entry).
    pub fn last_seq(&self) -> u64 {
        self.inner().next_seq - 1
    }

    pub fn next_connection(&self) -> u64 {
        self.shared.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// Stamps and stores an entry; returns it. The sentence and the
    /// readable time are added when the entry is read ([`Entry::completed`]),
    /// which keeps recording cheap on the request path.
    pub fn record(&self, learner: &Arc<str>, entry: Entry) -> Option<Arc<Entry>> {
        self.insert(learner, entry, None)
    }

    /// Records the answer to a poll or long-poll whose request `arrived` (µs
    /// since the epoch), and remembers that arrival for the learner's next one.
    pub fn record_answer(
        &self,
        learner: &Arc<str>,
        entry: Entry,
        arrived: u64,
    ) -> Option<Arc<Entry>> {
        self.insert(learner, entry, Some(arrived))
    }

    /// When this learner's last answered request of `transport` (a poll or a
    /// long-poll) arrived, in µs since the epoch.
    pub fn previous_arrival(&self, learner: &str, transport: Transport) -> Option<u64> {
        self.inner().learners.get(learner)?.arrivals.last(transport)
    }

    fn insert(
        &self,
        learner: &Arc<str>,
        mut entry: Entry,
        arrived: Option<u64>,
    ) -> Option<Arc<Entry>> {
        if !self.shared.enabled {
            return None;
        }
        entry.at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let mut inner = self.inner();
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        let entry = Arc::new(entry);
        let log = inner.learners.entry(learner.clone()).or_default();
        if let Some(at) = arrived
            && let Some(last) = log.arrivals.of(entry.transport)
        {
            // Answers may finish out of order; the latest arrival wins.
            *last = Some(last.map_or(at, |previous| previous.max(at)));
        }
        match entry.kind {
            EntryKind::Opened => *log.open.entry(entry.transport).or_default() += 1,
            EntryKind::Closed => {
                if let Some(n) = log.open.get_mut(&entry.transport) {
                    *n = n.saturating_sub(1);
                }
            }
            _ => {}
        }
        log.entries.push_back(entry.clone());
        // Entries pushed out are freed after the lock is released: freeing
        // an entry's strings is most of the cost of recording one once the
        // log is full, and other requests wait for this lock.
        let mut pushed_out = None;
        if log.entries.len() > self.shared.per_learner {
            pushed_out = log.entries.pop_front();
        } else {
            inner.live += 1;
        }
        inner.order.push_back((entry.seq, learner.clone()));
        let mut evicted = None;
        while inner.live > self.shared.capacity && !inner.order.is_empty() {
            if let Some(old) = self.evict_oldest(&mut inner) {
                evicted.get_or_insert(old);
            }
        }
        if inner.order.len() > 2 * self.shared.capacity {
            Self::compact(&mut inner);
        }
        // Sent under the lock so live subscribers see entries in seq order.
        let _ = self.shared.live.send((learner.clone(), entry.clone()));
        drop(inner);
        drop((pushed_out, evicted));
        Some(entry)
    }

    /// Drops markers of entries that are already gone.
    fn compact(inner: &mut Inner) {
        let Inner {
            order, learners, ..
        } = inner;
        order.retain(|(seq, learner)| {
            learners
                .get(learner)
                .is_some_and(|log| log.entries.binary_search_by_key(seq, |e| e.seq).is_ok())
        });
    }

    /// Removes the oldest entry still kept, and returns it (to be freed
    /// outside the lock).
    fn evict_oldest(&self, inner: &mut Inner) -> Option<Arc<Entry>> {
        let (seq, learner) = inner.order.pop_front()?;
        let log = inner.learners.get_mut(&learner)?;
        // Already gone if the per-learner bound or a clear dropped it first.
        let mut evicted = None;
        if log.entries.front().is_some_and(|e| e.seq == seq) {
            evicted = log.entries.pop_front();
            inner.live -= 1;
        }
        if log.entries.is_empty() && log.open.values().all(|n| *n == 0) {
            inner.learners.remove(&learner);
        }
        evicted
    }

    /// A learner's entries after `since`, newest last, at most `limit` (the newest ones).
    pub fn entries(
        &self,
        learner: &str,
        transport: Option<Transport>,
        since: u64,
        limit: usize,
    ) -> Vec<Arc<Entry>> {
        let inner = self.inner();
        let Some(log) = inner.learners.get(learner) else {
            return Vec::new();
        };
        let mut out: Vec<Arc<Entry>> = log
            .entries
            .iter()
            .rev()
            .take_while(|e| e.seq > since)
            .filter(|e| transport.is_none_or(|t| e.transport == t))
            .take(limit)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// Open connections of a learner, per transport.
    pub fn open_connections(&self, learner: &str) -> HashMap<Transport, u32> {
        self.inner()
            .learners
            .get(learner)
            .map(|l| l.open.clone())
            .unwrap_or_default()
    }

    /// Forgets a learner's entries (open connections stay counted).
    pub fn clear(&self, learner: &str) -> usize {
        let mut inner = self.inner();
        let Some(log) = inner.learners.get_mut(learner) else {
            return 0;
        };
        let n = log.entries.len();
        log.entries.clear();
        inner.live -= n;
        n
    }

    /// Live entries of every learner; filter by learner on the receiving side.
    pub fn subscribe(&self) -> broadcast::Receiver<(Arc<str>, Arc<Entry>)> {
        self.shared.live.subscribe()
    }

    /// Entries kept in total and learners known (for tests and status).
    pub fn size(&self) -> (usize, usize) {
        let inner = self.inner();
        let total = inner.learners.values().map(|l| l.entries.len()).sum();
        debug_assert_eq!(total, inner.live);
        (total, inner.learners.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Direction;

    fn entry(t: Transport) -> Entry {
        Entry::new(t, EntryKind::Exchange, Direction::Both, 1)
    }

    #[test]
    fn learners_see_only_their_own_entries() {
        let log = TrafficLog::new(100, 50, true);
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        log.record(&a, entry(Transport::Poll));
        log.record(&b, entry(Transport::Sse));
        log.record(&a, entry(Transport::Api));
        assert_eq!(log.entries("a", None, 0, 100).len(), 2);
        assert_eq!(log.entries("a", Some(Transport::Poll), 0, 100).len(), 1);
        assert_eq!(log.entries("b", None, 0, 100).len(), 1);
        assert!(log.entries("c", None, 0, 100).is_empty());
        let seqs: Vec<u64> = log
            .entries("a", None, 0, 100)
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, vec![1, 3], "newest last");
        assert_eq!(log.entries("a", None, 1, 100)[0].seq, 3, "since");
    }

    #[test]
    fn bounds_hold_per_learner_and_overall() {
        let log = TrafficLog::new(10, 4, true);
        let a: Arc<str> = "a".into();
        for _ in 0..20 {
            log.record(&a, entry(Transport::Poll));
        }
        assert_eq!(log.entries("a", None, 0, 100).len(), 4);
        for i in 0..200_000 {
            let who: Arc<str> = format!("learner-{i}").into();
            log.record(&who, entry(Transport::Poll));
        }
        let (total, learners) = log.size();
        assert!(
            total <= 10 && learners <= 10,
            "{total} entries, {learners} learners"
        );
    }

    #[test]
    fn the_last_poll_arrival_is_remembered_per_transport() {
        let log = TrafficLog::new(10, 4, true);
        let a: Arc<str> = "a".into();
        assert_eq!(log.previous_arrival("a", Transport::Poll), None);
        log.record_answer(&a, entry(Transport::Poll), 2_000);
        log.record_answer(&a, entry(Transport::Poll), 1_000);
        log.record_answer(&a, entry(Transport::LongPoll), 3_000);
        log.record(&a, entry(Transport::Poll));
        assert_eq!(log.previous_arrival("a", Transport::Poll), Some(2_000));
        assert_eq!(log.previous_arrival("a", Transport::LongPoll), Some(3_000));
        assert_eq!(log.previous_arrival("a", Transport::Sse), None);
        assert_eq!(log.previous_arrival("b", Transport::Poll), None);
    }

    #[test]
    fn disabled_log_records_nothing() {
        let log = TrafficLog::new(10, 4, false);
        assert!(log.record(&"a".into(), entry(Transport::Poll)).is_none());
        assert_eq!(log.size(), (0, 0));
    }
}
