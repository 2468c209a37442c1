//! Where entries live: one bounded ring for everyone, bounded per learner
//! too, so neither a busy learner nor a flood of new ones grows memory.
//!
//! Entries are kept per learner (reads are always "my entries"); a global
//! queue of `(seq, learner)` remembers the overall order so the oldest entry
//! of all can be dropped when the total bound is reached.
//!
//! Learner ids are the client's to choose, so the entries are also counted
//! by the client address that logged them first (something a client cannot
//! rename). While there is room, any address may use it (one learner on
//! their own machine gets the whole log); once the log is full, an address
//! over its share makes room from its own oldest entries, never another
//! machine's. A learner whose newest entry is older than the idle expiry
//! (and who has nothing open) is forgotten.
//!
//! Each learner's log also remembers when their last poll and long-poll
//! arrived: the next one's catch-up boundary ([`super::catch_up`]). Two
//! numbers per learner, gone with the learner's entries.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

use super::{Entry, EntryKind, Learner, Transport};

/// How often idle learners are looked for, at most.
const SWEEP_EVERY_MS: u64 = 60_000;

#[derive(Default)]
struct LearnerLog {
    entries: VecDeque<Arc<Entry>>,
    /// Connections opened and not yet closed, per transport.
    open: HashMap<Transport, u32>,
    arrivals: Arrivals,
    /// The address whose share these entries count against.
    address: Option<IpAddr>,
}

/// One client address's part of the log: its entries, oldest first (markers
/// of entries already gone are skipped, as in the global order).
#[derive(Default)]
struct AddressShare {
    live: usize,
    order: VecDeque<(u64, Arc<str>)>,
}

/// How much the log keeps.
#[derive(Debug, Clone, Copy)]
pub struct LogLimits {
    /// Entries for everyone together.
    pub capacity: usize,
    /// Entries of one learner.
    pub per_learner: usize,
    /// Entries of all the learners one client address logged, once the log is full.
    pub per_address: usize,
    /// A learner with no new entry for this long (and nothing open) is forgotten.
    pub idle_expiry: Duration,
}

impl LogLimits {
    /// `capacity` in all and `per_learner` each; one address may hold half the log.
    pub fn new(capacity: usize, per_learner: usize) -> Self {
        LogLimits {
            capacity,
            per_learner,
            per_address: capacity / 2,
            idle_expiry: Duration::from_secs(24 * 60 * 60),
        }
    }
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
    addresses: HashMap<Option<IpAddr>, AddressShare>,
    /// When idle learners were last looked for (ms since the epoch).
    last_sweep_ms: u64,
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
    per_address: usize,
    idle_ms: u64,
    enabled: bool,
}

impl TrafficLog {
    /// A log bounded by `limits`.
    pub fn new(limits: LogLimits, enabled: bool) -> Self {
        let capacity = limits.capacity.max(1);
        let per_address = limits.per_address.clamp(1, capacity);
        let (live, _) = broadcast::channel(1024);
        TrafficLog {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    learners: HashMap::new(),
                    order: VecDeque::new(),
                    live: 0,
                    next_seq: 1,
                    addresses: HashMap::new(),
                    last_sweep_ms: 0,
                }),
                live,
                next_connection: AtomicU64::new(1),
                capacity,
                per_learner: limits.per_learner.clamp(1, capacity),
                per_address,
                idle_ms: u64::try_from(limits.idle_expiry.as_millis()).unwrap_or(u64::MAX),
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
    pub fn record(&self, learner: &Learner, entry: Entry) -> Option<Arc<Entry>> {
        self.insert(learner, entry, None)
    }

    /// Records the answer to a poll or long-poll whose request `arrived` (µs
    /// since the epoch), and remembers that arrival for the learner's next one.
    pub fn record_answer(
        &self,
        learner: &Learner,
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

    fn insert(&self, who: &Learner, mut entry: Entry, arrived: Option<u64>) -> Option<Arc<Entry>> {
        if !self.shared.enabled {
            return None;
        }
        let learner = &who.id;
        entry.at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let mut inner = self.inner();
        let mut gone = Vec::new();
        if entry.at_ms.saturating_sub(inner.last_sweep_ms) >= SWEEP_EVERY_MS {
            inner.last_sweep_ms = entry.at_ms;
            self.forget_idle(&mut inner, entry.at_ms, &mut gone);
        }
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        let entry = Arc::new(entry);
        let log = inner
            .learners
            .entry(learner.clone())
            .or_insert_with(|| LearnerLog {
                address: who.address,
                ..LearnerLog::default()
            });
        let address = log.address;
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
        let over_per_learner = log.entries.len() > self.shared.per_learner;
        let share = inner.addresses.entry(address).or_default();
        share.order.push_back((entry.seq, learner.clone()));
        share.live += 1;
        inner.live += 1;
        inner.order.push_back((entry.seq, learner.clone()));
        if over_per_learner {
            gone.extend(Self::pop_oldest_of(&mut inner, learner));
        }
        // Full: an address over its share makes room from its own entries;
        // any other takes the oldest of all (usually its own old ones).
        while inner.live > self.shared.capacity && !inner.order.is_empty() {
            let over_share = Self::share_of(&inner, address) > self.shared.per_address;
            let own = if over_share {
                self.evict_oldest_of_address(&mut inner, address)
            } else {
                None
            };
            match own {
                Some(old) => gone.push(old),
                None => gone.extend(self.evict_oldest(&mut inner)),
            }
        }
        if inner.order.len() > 2 * self.shared.capacity {
            Self::compact(&mut inner);
        }
        // Sent under the lock so live subscribers see entries in seq order.
        let _ = self.shared.live.send((learner.clone(), entry.clone()));
        drop(inner);
        drop(gone);
        Some(entry)
    }

    fn share_of(inner: &Inner, address: Option<IpAddr>) -> usize {
        inner.addresses.get(&address).map_or(0, |s| s.live)
    }

    /// Removes a learner's oldest entry, keeping the counts right.
    fn pop_oldest_of(inner: &mut Inner, learner: &str) -> Option<Arc<Entry>> {
        let log = inner.learners.get_mut(learner)?;
        let old = log.entries.pop_front()?;
        let address = log.address;
        inner.live -= 1;
        if let Some(share) = inner.addresses.get_mut(&address) {
            share.live = share.live.saturating_sub(1);
        }
        Some(old)
    }

    /// Removes a learner if it has no entries and nothing open.
    fn forget_if_empty(inner: &mut Inner, learner: &str) {
        let Some(log) = inner.learners.get(learner) else {
            return;
        };
        if log.entries.is_empty() && log.open.values().all(|n| *n == 0) {
            let address = log.address;
            inner.learners.remove(learner);
            if inner.addresses.get(&address).is_some_and(|s| s.live == 0) {
                inner.addresses.remove(&address);
            }
        }
    }

    /// Removes the oldest entry an address still has, and returns it.
    fn evict_oldest_of_address(
        &self,
        inner: &mut Inner,
        address: Option<IpAddr>,
    ) -> Option<Arc<Entry>> {
        loop {
            let share = inner.addresses.get_mut(&address)?;
            let (seq, learner) = share.order.pop_front()?;
            let is_front = inner
                .learners
                .get(&learner)
                .and_then(|log| log.entries.front())
                .is_some_and(|e| e.seq == seq);
            if is_front {
                let old = Self::pop_oldest_of(inner, &learner);
                Self::forget_if_empty(inner, &learner);
                return old;
            }
        }
    }

    /// Looks for idle learners as if it were `now_ms` (ms since the epoch).
    #[cfg(test)]
    fn sweep_at(&self, now_ms: u64) {
        let mut inner = self.inner();
        let mut gone = Vec::new();
        self.forget_idle(&mut inner, now_ms, &mut gone);
    }

    /// Forgets every learner whose newest entry is older than the idle
    /// expiry and who has nothing open; their entries go to `gone`.
    fn forget_idle(&self, inner: &mut Inner, now_ms: u64, gone: &mut Vec<Arc<Entry>>) {
        let idle: Vec<Arc<str>> = inner
            .learners
            .iter()
            .filter(|(_, log)| {
                log.open.values().all(|n| *n == 0)
                    && log
                        .entries
                        .back()
                        .is_none_or(|e| now_ms.saturating_sub(e.at_ms) >= self.shared.idle_ms)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for learner in idle {
            while let Some(old) = Self::pop_oldest_of(inner, &learner) {
                gone.push(old);
            }
            Self::forget_if_empty(inner, &learner);
        }
    }

    /// Drops markers of entries that are already gone.
    fn compact(inner: &mut Inner) {
        let Inner {
            order,
            learners,
            addresses,
            ..
        } = inner;
        let kept = |(seq, learner): &(u64, Arc<str>)| {
            learners
                .get(learner)
                .is_some_and(|log| log.entries.binary_search_by_key(seq, |e| e.seq).is_ok())
        };
        order.retain(kept);
        for share in addresses.values_mut() {
            share.order.retain(kept);
        }
    }

    /// Removes the oldest entry still kept, and returns it (to be freed
    /// outside the lock).
    fn evict_oldest(&self, inner: &mut Inner) -> Option<Arc<Entry>> {
        let (seq, learner) = inner.order.pop_front()?;
        let log = inner.learners.get(&learner)?;
        // Already gone if the per-learner bound or a clear dropped it first.
        let mut evicted = None;
        if log.entries.front().is_some_and(|e| e.seq == seq) {
            evicted = Self::pop_oldest_of(inner, &learner);
        }
        Self::forget_if_empty(inner, &learner);
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
        let address = log.address;
        log.entries.clear();
        inner.live -= n;
        if let Some(share) = inner.addresses.get_mut(&address) {
            share.live = share.live.saturating_sub(n);
        }
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
mod tests;
