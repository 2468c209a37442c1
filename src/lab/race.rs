//! The race: one feed, four lanes. For a bounded time the server publishes
//! events on a private topic at a fixed rate while real Rust clients — a
//! short-poller, a long-poller, an SSE reader and a WebSocket — receive them
//! from this same server over loopback, exactly as outside clients would.
//!
//! Each lane is its own learner (`X-Learner: lab-<run>-<random tag>-<lane>`), so the
//! traffic log measures its bytes on the wire; the lane itself records what
//! it received and when, which gives delays, losses and duplicates.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventsource_stream::Eventsource;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::backplane::Backplane;
use crate::hub::{Hub, NewEvent};
use crate::traffic::{EntryKind, Protocol, TrafficLog, Transport};

/// What a run does.
#[derive(Debug, Clone)]
pub struct RaceConfig {
    pub duration: Duration,
    /// Time between two published events.
    pub rate: Duration,
    pub poll_interval: Duration,
    /// Events per tick.
    pub burst: u64,
    pub lanes: Vec<Transport>,
}

/// What one lane saw.
#[derive(Debug, Clone, Default)]
pub struct LaneOutcome {
    /// Sequence number of each event received (in arrival order).
    pub received: Vec<u64>,
    /// Publish → received, in milliseconds, per event received.
    pub delays_ms: Vec<f64>,
    pub errors: Vec<String>,
}

/// Sequence numbers and publish times of the run's events.
pub type Published = Arc<Mutex<BTreeMap<u64, u64>>>;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// Pulls the run's sequence number and publish time out of an event's JSON.
fn seq_of(event: &serde_json::Value) -> Option<(u64, u64)> {
    let seq = event.get("data")?.get("seq")?.as_u64()?;
    let published_us = event.get("published_at_ms")?.as_u64()? * 1000;
    Some((seq, published_us))
}

impl LaneOutcome {
    fn record(&mut self, event: &serde_json::Value, published: &BTreeMap<u64, u64>) {
        let Some((seq, coarse_us)) = seq_of(event) else {
            return;
        };
        // Precise publish time when the publisher noted it, else the event's own (ms) stamp.
        let sent_us = published.get(&seq).copied().unwrap_or(coarse_us);
        self.received.push(seq);
        self.delays_ms
            .push(now_us().saturating_sub(sent_us) as f64 / 1000.0);
    }
}

/// Runs every lane and the publisher; returns each lane's outcome and the
/// number of events published.
pub async fn run(
    addr: SocketAddr,
    hub: Hub,
    backplane: Backplane,
    run_id: u64,
    tag: &str,
    config: RaceConfig,
) -> (BTreeMap<Transport, LaneOutcome>, u64) {
    let topic = format!("lab-{tag}");
    let start_id = hub.last_id();
    let published: Published = Arc::default();
    let end = Instant::now() + config.duration;
    // Lanes keep listening a little after the last publish to collect it.
    let grace = config.poll_interval + Duration::from_millis(500);
    let mut tasks = tokio::task::JoinSet::new();
    for lane in config.lanes.iter().copied() {
        let ctx = LaneContext {
            base: format!("http://{addr}"),
            ws: format!("ws://{addr}/api/ws"),
            topic: topic.clone(),
            learner: format!("lab-{tag}-{}", lane.as_str()),
            start_id,
            until: end + grace,
            poll_interval: config.poll_interval,
            published: published.clone(),
        };
        tasks.spawn(async move { (lane, ctx.run(lane).await) });
    }
    // Give the streaming lanes a moment to connect; `since` covers the rest.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut seq = 0;
    let mut next = Instant::now();
    while next < end {
        tokio::time::sleep_until(next).await;
        for _ in 0..config.burst.max(1) {
            seq += 1;
            published.lock().await.insert(seq, now_us());
            let published = backplane
                .publish(NewEvent {
                    topic: topic.clone(),
                    kind: "race".into(),
                    data: serde_json::json!({ "run": run_id, "seq": seq }),
                })
                .await;
            // A lost race event shows in the table as lost, which it was.
            if let Err(err) = published {
                tracing::debug!(%err, "a race event was not published");
            }
        }
        next += config.rate;
    }
    let mut outcomes = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok((lane, outcome)) = done {
            outcomes.insert(lane, outcome);
        }
    }
    (outcomes, seq)
}

/// Why a lane's client stopped early (shown in the race's table).
#[derive(Debug, thiserror::Error)]
enum LaneError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Stream(#[from] eventsource_stream::EventStreamError<reqwest::Error>),
    /// Boxed: tungstenite's error is large, and every lane result carries the type.
    #[error(transparent)]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("no last_id")]
    NoLastId,
    #[error("bad learner id")]
    BadLearner,
}

impl From<tokio_tungstenite::tungstenite::Error> for LaneError {
    fn from(err: tokio_tungstenite::tungstenite::Error) -> Self {
        LaneError::WebSocket(Box::new(err))
    }
}

struct LaneContext {
    base: String,
    ws: String,
    topic: String,
    learner: String,
    start_id: u64,
    until: Instant,
    poll_interval: Duration,
    published: Published,
}

impl LaneContext {
    async fn run(&self, lane: Transport) -> LaneOutcome {
        let mut out = LaneOutcome::default();
        let result = tokio::time::timeout_at(self.until, async {
            match lane {
                Transport::Poll => self.poll(&mut out).await,
                Transport::LongPoll => self.long_poll(&mut out).await,
                Transport::Sse => self.sse(&mut out).await,
                Transport::Websocket => self.websocket(&mut out).await,
                Transport::Api => Ok(()),
            }
        })
        .await;
        if let Ok(Err(err)) = result {
            out.errors.push(err.to_string());
        }
        out
    }

    fn http(&self) -> Result<reqwest::Client, LaneError> {
        reqwest::Client::builder().build().map_err(LaneError::from)
    }

    async fn record_batch(
        &self,
        out: &mut LaneOutcome,
        res: reqwest::Response,
    ) -> Result<u64, LaneError> {
        let batch: serde_json::Value = res.json().await?;
        let published = self.published.lock().await;
        for event in batch["events"].as_array().into_iter().flatten() {
            out.record(event, &published);
        }
        batch["last_id"].as_u64().ok_or(LaneError::NoLastId)
    }

    /// One poll or long-poll: records the events and returns the next cursor.
    async fn ask(
        &self,
        http: &reqwest::Client,
        out: &mut LaneOutcome,
        url: String,
        since: u64,
    ) -> Result<u64, LaneError> {
        let res = http
            .get(url)
            .header("X-Learner", &self.learner)
            .send()
            .await?;
        match res.status().as_u16() {
            200 => self.record_batch(out, res).await,
            _ => Ok(cursor_header(&res).unwrap_or(since)),
        }
    }

    async fn poll(&self, out: &mut LaneOutcome) -> Result<(), LaneError> {
        let http = self.http()?;
        let mut since = self.start_id;
        let mut tick = tokio::time::interval(self.poll_interval);
        loop {
            tick.tick().await;
            let url = format!("{}/api/poll?since={since}&topics={}", self.base, self.topic);
            since = self.ask(&http, out, url, since).await?;
        }
    }

    async fn long_poll(&self, out: &mut LaneOutcome) -> Result<(), LaneError> {
        let http = self.http()?;
        let mut since = self.start_id;
        loop {
            let left = self
                .until
                .saturating_duration_since(Instant::now())
                .as_secs()
                .clamp(1, 25);
            let url = format!(
                "{}/api/long-poll?since={since}&topics={}&timeout={left}",
                self.base, self.topic
            );
            since = self.ask(&http, out, url, since).await?;
        }
    }

    async fn sse(&self, out: &mut LaneOutcome) -> Result<(), LaneError> {
        let res = self
            .http()?
            .get(format!("{}/api/sse?topics={}", self.base, self.topic))
            .header("X-Learner", &self.learner)
            .header("Last-Event-ID", self.start_id.to_string())
            .send()
            .await?;
        let mut events = res.bytes_stream().eventsource();
        while let Some(event) = events.next().await {
            let event = event?;
            if event.event == "race" {
                let json: serde_json::Value = serde_json::from_str(&event.data)?;
                let published = self.published.lock().await;
                out.record(&json, &published);
            }
        }
        Ok(())
    }

    async fn websocket(&self, out: &mut LaneOutcome) -> Result<(), LaneError> {
        let mut req = self.ws.as_str().into_client_request()?;
        let learner = self.learner.parse().map_err(|_| LaneError::BadLearner)?;
        req.headers_mut().insert("X-Learner", learner);
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
        let subscribe = serde_json::json!({
            "type": "subscribe", "topics": [self.topic], "since": self.start_id,
        });
        ws.send(Message::text(subscribe.to_string())).await?;
        while let Some(msg) = ws.next().await {
            let Message::Text(text) = msg? else {
                continue;
            };
            let json: serde_json::Value = serde_json::from_str(text.as_str())?;
            if json["type"] == "event" {
                let published = self.published.lock().await;
                out.record(&json["event"], &published);
            }
        }
        Ok(())
    }
}

fn cursor_header(res: &reqwest::Response) -> Option<u64> {
    res.headers()
        .get("x-last-event-id")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Bytes, requests and connections of a lane, from the traffic log.
#[derive(Debug, Clone, Default)]
pub struct LaneTraffic {
    pub requests: u64,
    pub connections: u64,
    pub empty: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub payload_bytes: u64,
    /// The HTTP version of the lane's first request.
    pub protocol: Option<Protocol>,
}

pub fn lane_traffic(log: &TrafficLog, learner: &str) -> LaneTraffic {
    let mut t = LaneTraffic::default();
    for e in log.entries(learner, None, 0, usize::MAX) {
        match e.kind {
            EntryKind::Closed => continue,
            EntryKind::Exchange => t.requests += 1,
            EntryKind::Opened => t.connections += 1,
            _ => {}
        }
        t.protocol.get_or_insert(e.protocol);
        if e.empty == Some(true) {
            t.empty += 1;
        }
        t.bytes_up += e.bytes_up;
        t.bytes_down += e.bytes_down;
        t.payload_bytes += e.body_bytes.unwrap_or(0);
    }
    t
}
