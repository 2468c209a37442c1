//! The API that is not a transport: publish your own events, start, stop and
//! re-rate the built-in feeds, and see what the hub holds.

use std::time::Duration;

use poem::web::RemoteAddr;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::app::state::AppState;
use crate::backplane::BackplaneStatus;
use crate::connections::{OpenConnections, client_ip};
use crate::feed::{Feed, MAX_INTERVAL_MS, MIN_INTERVAL_MS};
use crate::hub::NewEvent;
use crate::limits::Publisher;
use crate::problem::ApiError;
use crate::text::Text;
use crate::traffic::Learner;
use crate::transports::publish_rules::validate_publish;

/// A custom event to publish.
#[derive(Debug, Object)]
#[oai(example)]
pub struct PublishRequest {
    /// Topic to publish on: letters, digits, `-`, `_` or `.`, at most 64 characters.
    #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.\-]+$"))]
    pub topic: Text,
    /// Event type (becomes the SSE `event:` field). Same rules as `topic`.
    #[oai(
        rename = "type",
        default = "default_event_type",
        validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.\-]+$")
    )]
    pub kind: Text,
    /// Any JSON value.
    #[oai(default)]
    pub data: serde_json::Value,
}

fn default_event_type() -> Text {
    "message".into()
}

impl poem_openapi::types::Example for PublishRequest {
    fn example() -> Self {
        PublishRequest {
            topic: "demo".into(),
            kind: "greeting".into(),
            data: serde_json::json!({"text": "Hello from Swagger UI"}),
        }
    }
}

/// Where the new event went.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Published {
    /// The id the hub gave the event.
    pub id: u64,
    /// Where to see it arrive, e.g. `/api/poll?since=41`.
    pub poll_url: String,
}

impl poem_openapi::types::Example for Published {
    fn example() -> Self {
        Published {
            id: 42,
            poll_url: "/api/poll?since=41".into(),
        }
    }
}

#[derive(ApiResponse)]
pub enum PublishResponse {
    /// Accepted: the event is numbered and already on its way to every subscriber.
    #[oai(status = 202)]
    Accepted(Json<Published>),
}

/// State of one built-in feed.
#[derive(Debug, Object)]
#[oai(example)]
pub struct FeedState {
    /// Feed name (also the topic of its events).
    pub name: String,
    pub description: String,
    /// Whether the feed is publishing.
    pub running: bool,
    /// Milliseconds between two events.
    pub interval_ms: u64,
    /// Events published since the server started.
    pub published: u64,
}

impl poem_openapi::types::Example for FeedState {
    fn example() -> Self {
        FeedState {
            name: "ticker".into(),
            description: "Stock-price-like updates.".into(),
            running: true,
            interval_ms: 2000,
            published: 17,
        }
    }
}

impl From<&Feed> for FeedState {
    fn from(feed: &Feed) -> Self {
        let settings = feed.settings();
        FeedState {
            name: feed.name.into(),
            description: feed.description.into(),
            running: settings.running,
            interval_ms: settings.interval.as_millis() as u64,
            published: feed.published(),
        }
    }
}

/// A change to a feed; leave a field out to keep it as it is.
#[derive(Debug, Object)]
#[oai(example)]
pub struct FeedUpdate {
    /// `true` starts the feed, `false` pauses it.
    #[oai(nullable)]
    pub running: Option<bool>,
    /// Milliseconds between events (50 to 3,600,000).
    #[oai(validator(minimum(value = "50"), maximum(value = "3600000")))]
    #[oai(nullable)]
    pub interval_ms: Option<u64>,
}

impl poem_openapi::types::Example for FeedUpdate {
    fn example() -> Self {
        FeedUpdate {
            running: Some(true),
            interval_ms: Some(500),
        }
    }
}

/// What the hub holds right now.
#[derive(Debug, Object)]
#[oai(example)]
pub struct Status {
    /// Newest event id (0 before the first event).
    pub last_id: u64,
    /// Oldest id still in the replay buffer.
    #[oai(nullable)]
    pub oldest_id: Option<u64>,
    /// Events in the replay buffer.
    pub buffered: u64,
    /// Size of the replay buffer, in events.
    pub buffer_capacity: u64,
    /// Live subscriptions: held long-polls, open SSE streams, subscribed WebSockets.
    pub subscribers: u64,
    /// Long-lived connections open right now, by kind (every learner together).
    pub connections: OpenConnections,
    pub feeds: Vec<FeedState>,
    /// How events reach this instance: `memory` (this process alone) or
    /// `redis` (shared with other instances), and whether that works now.
    pub backplane: BackplaneStatus,
    /// With `--tls`: the HTTPS ports, so a page can reach the protocol it is not on.
    #[oai(nullable)]
    pub tls: Option<TlsPorts>,
    /// Server version.
    pub version: String,
}

/// The HTTPS ports of a server started with `--tls`.
#[derive(Debug, Object)]
pub struct TlsPorts {
    /// The main port: HTTP/2 (and HTTP/1.1 for clients without HTTP/2).
    pub http2: u16,
    /// `--http1-port`: HTTP/1.1 only, to compare the two.
    #[oai(nullable)]
    pub http1: Option<u16>,
}

impl poem_openapi::types::Example for Status {
    fn example() -> Self {
        Status {
            last_id: 1200,
            oldest_id: Some(201),
            buffered: 1000,
            buffer_capacity: 1000,
            subscribers: 3,
            connections: OpenConnections {
                sse: 2,
                websocket: 1,
                total: 3,
                ..Default::default()
            },
            feeds: vec![FeedState::example()],
            backplane: BackplaneStatus::example(),
            tls: None,
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

pub struct EventsApi {
    pub state: AppState,
}

#[OpenApi]
impl EventsApi {
    /// Publish a custom event
    ///
    /// The hub numbers the event and delivers it to every poller, long-poller,
    /// SSE stream and WebSocket subscriber that wants its topic. Answers
    /// `202 Accepted` with the new id at once; delivery happens in the background.
    /// Each learner may publish `--publish-rate-per-learner` events per second,
    /// each client address `--publish-rate-per-address` (whatever learner ids
    /// it sends) and the whole server `--publish-rate-total` (bursts of twice
    /// each pass); beyond them the answer is `429` with `Retry-After`.
    /// With `--redis-url`, Redis numbers the event so every instance delivers
    /// it in the same order; while Redis cannot be reached the answer is `503`
    /// (nothing was published: try again). The `chat` topic is reserved for
    /// `POST /api/chat` and WebSocket chat, whose sender the server names:
    /// publishing to it here is a `400`.
    #[oai(path = "/events", method = "post", tag = "ApiTags::Events")]
    async fn publish(
        &self,
        learner: Learner,
        remote: &RemoteAddr,
        body: Json<PublishRequest>,
    ) -> Result<PublishResponse, ApiError> {
        self.state
            .limits
            .check(&Publisher::new(learner.id, client_ip(remote)))
            .map_err(|wait| wait.into_problem("publishing"))?;
        let Json(req) = body;
        validate_publish(&req.topic, &req.kind)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let id = self
            .state
            .backplane
            .publish(NewEvent {
                topic: req.topic.into(),
                kind: req.kind.into(),
                data: req.data,
            })
            .await?;
        Ok(PublishResponse::Accepted(Json(Published {
            id,
            poll_url: format!("/api/poll?since={}", id - 1),
        })))
    }

    /// Hub status
    ///
    /// The newest event id, how much of the stream the replay buffer still
    /// holds, how many live subscriptions and connections are open, each
    /// feed's state, and the backplane: with `--redis-url`, whether Redis is
    /// `connected` or `reconnecting`, and how many instances and WebSockets share it.
    #[oai(path = "/status", method = "get", tag = "ApiTags::Events")]
    async fn status(&self) -> Json<Status> {
        let stats = self.state.hub.stats();
        Json(Status {
            last_id: stats.last_id,
            oldest_id: stats.oldest_id,
            buffered: stats.buffered as u64,
            buffer_capacity: stats.capacity as u64,
            subscribers: stats.subscribers as u64,
            connections: self.state.connections.snapshot(),
            feeds: self.state.feeds.iter().map(FeedState::from).collect(),
            backplane: self.state.backplane.status(),
            tls: self.state.config.serves_tls().then(|| TlsPorts {
                http2: self.state.config.port,
                http1: self.state.config.http1_port,
            }),
            version: env!("CARGO_PKG_VERSION").into(),
        })
    }

    /// List the built-in feeds
    ///
    /// The publishers that keep the stream alive: `ticker` (stock-price-like
    /// updates) and `notifications`. Each shows whether it runs and at what rate.
    #[oai(path = "/feeds", method = "get", tag = "ApiTags::Feeds")]
    async fn feeds(&self) -> Json<Vec<FeedState>> {
        Json(self.state.feeds.iter().map(FeedState::from).collect())
    }

    /// Start, stop or re-rate a feed
    ///
    /// For example `{"running": true, "interval_ms": 500}` makes the feed
    /// publish twice a second; `{"running": false}` pauses it. A new rate
    /// applies immediately.
    #[oai(path = "/feeds/:name", method = "patch", tag = "ApiTags::Feeds")]
    async fn update_feed(
        &self,
        /// `ticker` or `notifications`.
        #[oai(example = "example_feed_name")]
        name: Path<String>,
        body: Json<FeedUpdate>,
    ) -> Result<Json<FeedState>, ApiError> {
        let Some(feed) = self.state.feeds.get(&name) else {
            let known: Vec<&str> = self.state.feeds.iter().map(|f| f.name).collect();
            return Err(ApiError::not_found(format!(
                "There is no feed called {:?}. Known feeds: {}.",
                name.0,
                known.join(", ")
            )));
        };
        let interval = match body.interval_ms {
            Some(ms) if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&ms) => {
                return Err(ApiError::bad_request(format!(
                    "interval_ms must be between {MIN_INTERVAL_MS} and {MAX_INTERVAL_MS}, not {ms}."
                )));
            }
            other => other.map(Duration::from_millis),
        };
        feed.update(body.running, interval);
        Ok(Json(FeedState::from(feed)))
    }
}

fn example_feed_name() -> String {
    "ticker".into()
}
