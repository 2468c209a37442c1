//! The event hub: the one place where updates are numbered, kept and fanned out.
//!
//! Every transport reads from here and none of them knows about the others. An
//! update becomes an [`Event`] with the next `u64` id; the hub keeps the newest
//! events in a bounded replay ring (for catch-up after a disconnect) and hands
//! each one to live subscribers through a bounded broadcast channel.
//!
//! Ids of one run start after a *base*. With [`Hub::starting_after`] the base
//! is the start time in microseconds, so a restarted server never hands out
//! an id an earlier run used: a client resuming with an old id is told about
//! the restart instead of silently getting somebody else's event #42.
//!
//! A client that asks for events after an id the ring no longer holds gets an
//! explicit [`Reset`], never a silent skip. A subscriber that falls behind the
//! broadcast channel is caught up from the ring, or told it was reset.
//!
//! With several instances behind one Redis (see [`crate::backplane`]) the hub
//! does not number events itself: ids come from the Redis stream and arrive
//! through [`Hub::mirror`], in stream order. Everything downstream (the ring,
//! the broadcast, subscriptions) works the same either way.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use poem_openapi::Object;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

/// One update, as every transport delivers it.
#[derive(Debug, Clone, Serialize, Object)]
#[oai(example)]
pub struct Event {
    /// Position in the stream. Ids only grow, so `since=<id>` is a cursor.
    pub id: u64,
    /// Stream the event belongs to (`ticker`, `notifications`, or any custom topic).
    pub topic: String,
    /// What kind of event it is, e.g. `price` or `notification`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// Free-form JSON payload.
    pub data: serde_json::Value,
    /// When the hub accepted the event (RFC 3339, UTC, milliseconds).
    pub published_at: String,
    /// The same instant as milliseconds since the Unix epoch, for computing delays.
    pub published_at_ms: u64,
    /// Microseconds since the epoch, for measuring delivery delays precisely.
    #[oai(skip)]
    #[serde(skip)]
    pub published_at_us: u64,
    /// The event as each transport writes it, made on first use and shared by
    /// every connection: a fan-out to 10,000 clients serializes once.
    #[oai(skip)]
    #[serde(skip)]
    pub encoded: Encoded,
}

/// Wire forms of one event. Transports fill the slot they use.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    json: OnceLock<Bytes>,
    sse: OnceLock<Bytes>,
    websocket: OnceLock<Bytes>,
}

impl poem_openapi::types::Example for Event {
    fn example() -> Self {
        Event {
            id: 42,
            topic: "ticker".into(),
            kind: "price".into(),
            data: serde_json::json!({"symbol": "ACME", "price": 101.25, "change": 0.75}),
            published_at: "2026-11-26T09:30:00.000Z".into(),
            published_at_ms: 1_795_685_400_000,
            published_at_us: 1_795_685_400_000_000,
            encoded: Encoded::default(),
        }
    }
}

impl Event {
    /// An event with its id and publish instant (microseconds since the epoch).
    pub fn new(id: u64, new: NewEvent, published_at_us: u64) -> Self {
        let at = UNIX_EPOCH + std::time::Duration::from_micros(published_at_us);
        Event {
            id,
            topic: new.topic,
            kind: new.kind,
            data: new.data,
            published_at: humantime::format_rfc3339_millis(at).to_string(),
            published_at_ms: published_at_us / 1000,
            published_at_us,
            encoded: Encoded::default(),
        }
    }

    /// Milliseconds from publish until now.
    pub fn age_ms(&self) -> f64 {
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or_default();
        now_us.saturating_sub(self.published_at_us) as f64 / 1000.0
    }

    /// The event as compact JSON (no raw newlines, so it fits one SSE `data:` line).
    pub fn json(&self) -> &Bytes {
        self.encoded.json.get_or_init(|| {
            serde_json::to_vec(self)
                .map(Bytes::from)
                .unwrap_or_else(|_| Bytes::from_static(b"{}"))
        })
    }

    /// The SSE frame of this event, made by `encode` the first time.
    pub fn sse_frame(&self, encode: impl FnOnce(&Event) -> Bytes) -> Bytes {
        self.encoded.sse.get_or_init(|| encode(self)).clone()
    }

    /// The WebSocket message of this event, made by `encode` the first time.
    pub fn websocket_message(&self, encode: impl FnOnce(&Event) -> Bytes) -> Bytes {
        self.encoded.websocket.get_or_init(|| encode(self)).clone()
    }

    /// Whether a subscriber filtering on `topics` wants this event.
    pub fn matches(&self, topics: &TopicFilter) -> bool {
        topics.accepts(&self.topic)
    }
}

/// The topics a client asked for; empty means "all topics".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicFilter(Vec<String>);

/// Most topics one subscription may follow, whatever the transport: each
/// one is a string held, and compared with every event, for the stream's life.
pub const MAX_TOPICS: usize = 64;

/// Longest comma-separated topic list a query may carry: [`MAX_TOPICS`]
/// names of up to 64 bytes each, with their commas.
pub const MAX_TOPIC_LIST_BYTES: usize = MAX_TOPICS * 65;

/// Why a topic list was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicListError {
    TooLong { bytes: usize },
    TooMany { topics: usize },
}

impl std::fmt::Display for TopicListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TopicListError::TooLong { bytes } => write!(
                f,
                "The topic list has {bytes} bytes; at most {MAX_TOPIC_LIST_BYTES} are accepted."
            ),
            TopicListError::TooMany { topics } => write!(
                f,
                "The topic list names {topics} topics; one subscription may follow at most {MAX_TOPICS}."
            ),
        }
    }
}

impl TopicFilter {
    /// [`parse`](Self::parse), refusing lists over [`MAX_TOPIC_LIST_BYTES`]
    /// or [`MAX_TOPICS`] distinct topics.
    pub fn parse_bounded(list: Option<&str>) -> Result<Self, TopicListError> {
        let bytes = list.map_or(0, str::len);
        if bytes > MAX_TOPIC_LIST_BYTES {
            return Err(TopicListError::TooLong { bytes });
        }
        let filter = Self::parse(list);
        match filter.0.len() {
            topics if topics > MAX_TOPICS => Err(TopicListError::TooMany { topics }),
            _ => Ok(filter),
        }
    }

    /// Every topic.
    pub fn all() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list such as `ticker,notifications`.
    pub fn parse(list: Option<&str>) -> Self {
        Self::from_iter(list.unwrap_or_default().split(','))
    }

    pub fn accepts(&self, topic: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t == topic)
    }

    pub fn topics(&self) -> &[String] {
        &self.0
    }

    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: AsRef<str>> FromIterator<S> for TopicFilter {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut topics: Vec<String> = iter
            .into_iter()
            .map(|t| t.as_ref().trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        topics.sort();
        topics.dedup();
        Self(topics)
    }
}

/// The explicit "you missed something" signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Object)]
#[oai(example)]
pub struct Reset {
    /// `gap`: the requested id has left the replay buffer.
    /// `unknown_id`: the id is newer than anything published (e.g. the server restarted).
    /// `restarted`: the id belongs to an earlier run of the server.
    pub reason: ResetReason,
    /// The id the client asked to continue after.
    pub requested_since: u64,
    /// Oldest id still in the buffer, if any. Everything from here on is replayed.
    #[oai(nullable)]
    pub oldest_available: Option<u64>,
    /// Newest id published so far (the run's base when nothing was published yet).
    pub last_id: u64,
    /// Human-readable explanation.
    pub message: String,
}

impl poem_openapi::types::Example for Reset {
    fn example() -> Self {
        Reset {
            reason: ResetReason::Gap,
            requested_since: 5,
            oldest_available: Some(1001),
            last_id: 2000,
            message: "Events #6 to #1000 have left the replay buffer and can no longer be sent. \
                      Events from #1001 follow."
                .into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum ResetReason {
    Gap,
    UnknownId,
    Restarted,
}

/// Where a client wants to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Only events published from now on.
    Now,
    /// Everything still in the replay buffer, without a reset.
    Oldest,
    /// Events after this id; a reset if some of them are gone.
    After(u64),
}

impl Cursor {
    pub fn after_or(since: Option<u64>, otherwise: Cursor) -> Cursor {
        since.map(Cursor::After).unwrap_or(otherwise)
    }
}

/// What the hub has for a client that wants everything after `since`.
#[derive(Debug, Clone)]
pub struct CatchUp {
    /// Set when events were lost to the client; `events` then holds all that is left.
    pub reset: Option<Reset>,
    /// Events after `since` (or after the reset point), oldest first.
    pub events: Vec<Arc<Event>>,
    /// Newest id the hub has published.
    pub last_id: u64,
}

/// A new event before the hub numbers it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub topic: String,
    pub kind: String,
    pub data: serde_json::Value,
}

/// Snapshot of the hub's counters.
#[derive(Debug, Clone, Copy)]
pub struct HubStats {
    pub last_id: u64,
    pub oldest_id: Option<u64>,
    pub buffered: usize,
    pub capacity: usize,
    /// Live subscriptions right now (held long-polls, SSE streams, subscribed WebSockets).
    pub subscribers: usize,
}

struct Ring {
    events: VecDeque<Arc<Event>>,
    capacity: usize,
    /// Ids of this run are greater than this.
    base: u64,
    last_id: u64,
}

impl Ring {
    fn oldest_id(&self) -> Option<u64> {
        self.events.front().map(|e| e.id)
    }

    fn catch_up(&self, from: Cursor) -> CatchUp {
        let since = match from {
            Cursor::Now => self.last_id,
            Cursor::Oldest => self.oldest_id().map_or(self.last_id, |o| o - 1),
            // 0 is "from the beginning", whatever the base.
            Cursor::After(0) => self.base,
            Cursor::After(id) => id,
        };
        let last_id = self.last_id;
        let reset = if since < self.base {
            Some(Reset {
                reason: ResetReason::Restarted,
                requested_since: since,
                oldest_available: self.oldest_id(),
                last_id,
                message: format!(
                    "Event #{since} is from before the server restarted (this run's ids start \
                     after #{}). Events published since the restart follow.",
                    self.base
                ),
            })
        } else if since > last_id {
            Some(Reset {
                reason: ResetReason::UnknownId,
                requested_since: since,
                oldest_available: self.oldest_id(),
                last_id,
                message: format!(
                    "Event #{since} was never published here (the newest is #{last_id}); \
                     the server may have restarted. Everything still buffered follows."
                ),
            })
        } else {
            match self.oldest_id() {
                Some(oldest) if since + 1 < oldest => Some(Reset {
                    reason: ResetReason::Gap,
                    requested_since: since,
                    oldest_available: Some(oldest),
                    last_id,
                    message: format!(
                        "Events #{} to #{} have left the replay buffer and can no longer be sent. \
                         Events from #{oldest} follow.",
                        since + 1,
                        oldest - 1
                    ),
                }),
                // Nothing buffered but ids were used: everything up to last_id is gone.
                None if since < last_id => Some(Reset {
                    reason: ResetReason::Gap,
                    requested_since: since,
                    oldest_available: None,
                    last_id,
                    message: format!(
                        "Events #{} to #{last_id} have left the replay buffer.",
                        since + 1
                    ),
                }),
                _ => None,
            }
        };
        let after = if reset.is_some() { self.base } else { since };
        // Ids in the ring are consecutive, so the start index is arithmetic.
        let skip = match self.oldest_id() {
            Some(oldest) if after >= oldest => (after - oldest + 1) as usize,
            _ => 0,
        };
        CatchUp {
            reset,
            events: self.events.iter().skip(skip).cloned().collect(),
            last_id,
        }
    }
}

/// The shared hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

struct Shared {
    ring: Mutex<Ring>,
    live: broadcast::Sender<Arc<Event>>,
    /// The newest id, for publishers waiting until their event is mirrored.
    newest: watch::Sender<u64>,
}

impl Hub {
    /// A hub that keeps the newest `replay_capacity` events and lets a live
    /// subscriber fall `live_capacity` events behind before it is caught up
    /// from the ring.
    pub fn new(replay_capacity: usize, live_capacity: usize) -> Self {
        Self::starting_after(0, replay_capacity, live_capacity)
    }

    /// A hub whose first event gets id `base + 1`.
    pub fn starting_after(base: u64, replay_capacity: usize, live_capacity: usize) -> Self {
        let replay_capacity = replay_capacity.max(1);
        let (live, _) = broadcast::channel(live_capacity.max(1));
        Hub {
            shared: Arc::new(Shared {
                ring: Mutex::new(Ring {
                    events: VecDeque::with_capacity(replay_capacity),
                    capacity: replay_capacity,
                    base,
                    last_id: base,
                }),
                live,
                newest: watch::Sender::new(base),
            }),
        }
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding the lock cannot leave the ring half-written
        // (every mutation is a single push/pop), so poisoning is safe to ignore.
        self.shared.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Numbers, stores and broadcasts an event; returns it. Only for a hub
    /// that numbers its own events (in-memory mode); a mirrored hub gets its
    /// events through [`mirror`](Self::mirror).
    pub fn publish(&self, new: NewEvent) -> Arc<Event> {
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or_default();
        let mut ring = self.ring();
        let event = Arc::new(Event::new(ring.last_id + 1, new, now_us));
        self.append(&mut ring, event.clone());
        event
    }

    /// Stores and broadcasts an event numbered elsewhere (the Redis stream).
    /// Events must come in id order: one at or below the newest id is a
    /// duplicate and is ignored (`None`). One that skips ids empties the ring
    /// first (the ring's catch-up relies on consecutive ids), so a client
    /// asking for the skipped ids gets a `gap` reset, never a silent skip.
    pub fn mirror(&self, event: Event) -> Option<Arc<Event>> {
        let mut ring = self.ring();
        if event.id <= ring.last_id {
            return None;
        }
        if event.id != ring.last_id + 1 {
            ring.events.clear();
        }
        let event = Arc::new(event);
        self.append(&mut ring, event.clone());
        Some(event)
    }

    /// Starts a new run of ids after `base` (the shared Redis lost its
    /// data): the ring empties, and a client resuming with an older id gets
    /// a `restarted` reset.
    pub fn rebase(&self, base: u64) {
        let mut ring = self.ring();
        ring.events.clear();
        ring.base = base;
        ring.last_id = base;
        self.shared.newest.send_replace(base);
    }

    fn append(&self, ring: &mut Ring, event: Arc<Event>) {
        ring.last_id = event.id;
        if ring.events.len() == ring.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        // Sent under the lock so live order equals id order. No receivers is fine.
        let _ = self.shared.live.send(event);
        self.shared.newest.send_replace(ring.last_id);
    }

    /// Waits until the newest id is at least `id`, for at most `patience`.
    /// Returns whether it got there.
    pub async fn wait_for(&self, id: u64, patience: std::time::Duration) -> bool {
        let mut newest = self.shared.newest.subscribe();
        tokio::time::timeout(patience, newest.wait_for(|&n| n >= id))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Ids of this run are greater than this.
    pub fn base(&self) -> u64 {
        self.ring().base
    }

    /// Buffered events from `from` on (with a reset if some are gone).
    pub fn catch_up(&self, from: Cursor) -> CatchUp {
        self.ring().catch_up(from)
    }

    /// Subscribes to live events, replaying buffered ones first when `from`
    /// points into the past. Replay and live stream join without gaps or
    /// duplicates because both are taken under the same lock.
    pub fn subscribe(&self, from: Cursor) -> Subscription {
        let ring = self.ring();
        let live = self.shared.live.subscribe();
        let c = ring.catch_up(from);
        // Everything in `pending` is newer than the cursor.
        let cursor = c.events.first().map_or(c.last_id, |e| e.id - 1);
        let (pending, reset) = (c.events.into(), c.reset);
        Subscription {
            hub: self.clone(),
            live,
            pending,
            reset,
            cursor,
        }
    }

    pub fn last_id(&self) -> u64 {
        self.ring().last_id
    }

    pub fn stats(&self) -> HubStats {
        let ring = self.ring();
        HubStats {
            last_id: ring.last_id,
            oldest_id: ring.oldest_id(),
            buffered: ring.events.len(),
            capacity: ring.capacity,
            subscribers: self.shared.live.receiver_count(),
        }
    }
}

/// What a subscription yields next.
#[derive(Debug, Clone)]
pub enum Delivery {
    Event(Arc<Event>),
    Reset(Reset),
}

/// A live feed of events in id order, starting where the client asked.
///
/// Never yields the same id twice; yields [`Delivery::Reset`] before any jump.
pub struct Subscription {
    hub: Hub,
    live: broadcast::Receiver<Arc<Event>>,
    pending: VecDeque<Arc<Event>>,
    reset: Option<Reset>,
    /// Highest id already yielded (or skipped as "before the start").
    cursor: u64,
}

impl Subscription {
    /// Waits for the next delivery. Returns `None` only when the hub is gone.
    pub async fn next(&mut self) -> Option<Delivery> {
        loop {
            if let Some(d) = self.buffered() {
                return Some(d);
            }
            match self.live.recv().await {
                Ok(event) if self.skips(&event) => self.refill(),
                Ok(event) => {
                    if let Some(d) = self.accept(event) {
                        return Some(d);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.refill(),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next delivery if one is ready now, without waiting.
    pub fn try_next(&mut self) -> Option<Delivery> {
        loop {
            if let Some(d) = self.buffered() {
                return Some(d);
            }
            match self.live.try_recv() {
                Ok(event) if self.skips(&event) => self.refill(),
                Ok(event) => {
                    if let Some(d) = self.accept(event) {
                        return Some(d);
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.refill(),
                Err(_) => return None,
            }
        }
    }

    fn buffered(&mut self) -> Option<Delivery> {
        if let Some(reset) = self.reset.take() {
            return Some(Delivery::Reset(reset));
        }
        while let Some(event) = self.pending.pop_front() {
            if let Some(d) = self.accept(event) {
                return Some(d);
            }
        }
        None
    }

    fn accept(&mut self, event: Arc<Event>) -> Option<Delivery> {
        (event.id > self.cursor).then(|| {
            self.cursor = event.id;
            Delivery::Event(event)
        })
    }

    /// A live event that is not the next id: the hub jumped (a mirrored
    /// gap or a rebase). The ring knows what that means for this cursor.
    fn skips(&self, event: &Event) -> bool {
        event.id > self.cursor.saturating_add(1)
    }

    /// Fell behind the live channel: continue from the ring instead.
    fn refill(&mut self) {
        let c = self.hub.catch_up(Cursor::After(self.cursor));
        // After a reset the cursor moves to where the replay starts, so the
        // same jump is reported once.
        let start = match c.events.first() {
            Some(first) => first.id - 1,
            None if c.reset.is_some() => c.last_id,
            None => self.cursor,
        };
        self.cursor = self.cursor.max(start);
        self.reset = c.reset;
        self.pending = c.events.into();
    }

    /// Like [`next`](Self::next), skipping events whose topic is filtered out.
    pub async fn next_matching(&mut self, topics: &TopicFilter) -> Option<Delivery> {
        loop {
            match self.next().await? {
                Delivery::Event(e) if !e.matches(topics) => continue,
                other => return Some(other),
            }
        }
    }

    /// Highest id this subscription has passed.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(topic: &str) -> NewEvent {
        NewEvent {
            topic: topic.into(),
            kind: "test".into(),
            data: serde_json::json!({}),
        }
    }

    fn ids(events: &[Arc<Event>]) -> Vec<u64> {
        events.iter().map(|e| e.id).collect()
    }

    #[test]
    fn an_event_is_encoded_once_for_every_connection() {
        let hub = Hub::new(3, 16);
        let event = hub.publish(new("a"));
        let first = event.json().clone();
        assert_eq!(first.as_ptr(), event.json().as_ptr(), "the same bytes");
        let frame = event.sse_frame(|_| Bytes::from_static(b"frame"));
        let again = event.sse_frame(|_| panic!("encoded twice"));
        assert_eq!(frame, again);
        let json: serde_json::Value = serde_json::from_slice(&first).expect("json");
        assert_eq!(json["id"], event.id);
        assert!(json.get("encoded").is_none());
    }

    #[test]
    fn ids_grow_and_ring_is_bounded() {
        let hub = Hub::new(3, 16);
        for _ in 0..5 {
            hub.publish(new("a"));
        }
        let stats = hub.stats();
        assert_eq!(
            (stats.last_id, stats.oldest_id, stats.buffered),
            (5, Some(3), 3)
        );
    }

    #[test]
    fn catch_up_returns_exactly_the_missed_events() {
        let hub = Hub::new(10, 16);
        for _ in 0..5 {
            hub.publish(new("a"));
        }
        let c = hub.catch_up(Cursor::After(2));
        assert!(c.reset.is_none());
        assert_eq!(ids(&c.events), vec![3, 4, 5]);
        assert!(hub.catch_up(Cursor::After(5)).events.is_empty());
    }

    #[test]
    fn catch_up_past_the_ring_is_a_reset_not_a_skip() {
        let hub = Hub::new(3, 16);
        for _ in 0..10 {
            hub.publish(new("a"));
        }
        let c = hub.catch_up(Cursor::After(2));
        let reset = c.reset.expect("reset");
        assert_eq!(reset.reason, ResetReason::Gap);
        assert_eq!(reset.oldest_available, Some(8));
        assert_eq!(ids(&c.events), vec![8, 9, 10]);
        // Right at the edge: #7 known, #8 is the oldest kept — no gap.
        assert!(hub.catch_up(Cursor::After(7)).reset.is_none());
    }

    #[test]
    fn an_id_from_the_future_is_reported() {
        let hub = Hub::new(3, 16);
        hub.publish(new("a"));
        let c = hub.catch_up(Cursor::After(99));
        assert_eq!(c.reset.map(|r| r.reason), Some(ResetReason::UnknownId));
        assert_eq!(ids(&c.events), vec![1]);
    }

    #[tokio::test]
    async fn subscription_joins_replay_and_live_without_duplicates() {
        let hub = Hub::new(10, 16);
        hub.publish(new("a"));
        hub.publish(new("b"));
        let mut sub = hub.subscribe(Cursor::After(0));
        hub.publish(new("a"));
        let mut seen = vec![];
        for _ in 0..3 {
            match sub.next().await {
                Some(Delivery::Event(e)) => seen.push(e.id),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(seen, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_refilled_from_the_ring() {
        let hub = Hub::new(100, 2);
        let mut sub = hub.subscribe(Cursor::Now);
        for _ in 0..10 {
            hub.publish(new("a"));
        }
        let mut seen = vec![];
        for _ in 0..10 {
            if let Some(Delivery::Event(e)) = sub.next().await {
                seen.push(e.id);
            }
        }
        assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_subscriber_lagging_past_the_ring_gets_a_reset() {
        let hub = Hub::new(3, 2);
        let mut sub = hub.subscribe(Cursor::Now);
        for _ in 0..10 {
            hub.publish(new("a"));
        }
        assert!(matches!(sub.next().await, Some(Delivery::Reset(_))));
        match sub.next().await {
            Some(Delivery::Event(e)) => assert_eq!(e.id, 8),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn numbered(id: u64) -> Event {
        Event::new(id, new("a"), 1_000_000)
    }

    #[tokio::test]
    async fn mirrored_events_keep_their_ids_and_duplicates_are_dropped() {
        let hub = Hub::starting_after(100, 10, 16);
        let mut sub = hub.subscribe(Cursor::Now);
        assert!(hub.mirror(numbered(101)).is_some());
        assert!(hub.mirror(numbered(102)).is_some());
        assert!(hub.mirror(numbered(102)).is_none(), "a duplicate");
        assert!(hub.mirror(numbered(90)).is_none(), "an old id");
        assert!(hub.wait_for(102, std::time::Duration::ZERO).await);
        let mut seen = vec![];
        while let Some(Delivery::Event(e)) = sub.try_next() {
            seen.push(e.id);
        }
        assert_eq!(seen, vec![101, 102]);
        assert_eq!(
            ids(&hub.catch_up(Cursor::After(100)).events),
            vec![101, 102]
        );
    }

    #[tokio::test]
    async fn a_mirrored_gap_is_a_reset_for_every_reader() {
        let hub = Hub::new(10, 16);
        hub.mirror(numbered(1));
        let mut sub = hub.subscribe(Cursor::After(1));
        hub.mirror(numbered(5));
        hub.mirror(numbered(6));
        // The ring holds consecutive ids only, so it starts over at #5.
        let c = hub.catch_up(Cursor::After(1));
        assert_eq!(c.reset.map(|r| r.reason), Some(ResetReason::Gap));
        assert_eq!(ids(&c.events), vec![5, 6]);
        // A live subscriber is told too, instead of jumping silently.
        match sub.next().await {
            Some(Delivery::Reset(r)) => assert_eq!(r.oldest_available, Some(5)),
            other => panic!("expected a reset, got {other:?}"),
        }
        let mut seen = vec![];
        while let Some(Delivery::Event(e)) = sub.try_next() {
            seen.push(e.id);
        }
        assert_eq!(seen, vec![5, 6], "each once, no second reset");
    }

    #[tokio::test]
    async fn a_rebase_starts_a_new_run() {
        let hub = Hub::new(10, 16);
        hub.mirror(numbered(1));
        let mut sub = hub.subscribe(Cursor::Now);
        hub.rebase(1000);
        hub.mirror(numbered(1001));
        assert!(matches!(
            sub.next().await,
            Some(Delivery::Reset(Reset {
                reason: ResetReason::Restarted,
                ..
            }))
        ));
        assert!(matches!(sub.next().await, Some(Delivery::Event(e)) if e.id == 1001));
        let c = hub.catch_up(Cursor::After(1));
        assert_eq!(c.reset.map(|r| r.reason), Some(ResetReason::Restarted));
    }

    #[tokio::test]
    async fn topic_filter_skips_other_topics() {
        let hub = Hub::new(10, 16);
        let mut sub = hub.subscribe(Cursor::Now);
        hub.publish(new("a"));
        hub.publish(new("b"));
        let filter = TopicFilter::parse(Some("b, c"));
        let many = (0..=MAX_TOPICS)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>();
        assert_eq!(
            TopicFilter::parse_bounded(Some(&many.join(","))),
            Err(TopicListError::TooMany {
                topics: MAX_TOPICS + 1
            })
        );
        assert!(TopicFilter::parse_bounded(Some(&many[1..].join(","))).is_ok());
        let long = "x".repeat(MAX_TOPIC_LIST_BYTES + 1);
        assert!(matches!(
            TopicFilter::parse_bounded(Some(&long)),
            Err(TopicListError::TooLong { .. })
        ));
        match sub.next_matching(&filter).await {
            Some(Delivery::Event(e)) => assert_eq!((e.id, e.topic.as_str()), (2, "b")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
