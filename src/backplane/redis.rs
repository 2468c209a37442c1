//! The Redis backplane: one sequence of events and one chat room for every
//! instance that starts with the same `--redis-url`.
//!
//! Redis, not an instance, numbers events, so ids stay consecutive `u64`s
//! (clients use them as cursors and the hub's ring relies on it) and mean the
//! same event on every instance:
//!
//! - `realtime-playground:events` is a stream whose entry ids are `0-<id>`.
//!   A small Lua script appends with `XADD … MAXLEN ~ <replay buffer> 0-*`
//!   (Redis 7.0 picks the next sequence number) after checking the run's
//!   base, atomically. The stream doubles as the shared replay buffer.
//! - `realtime-playground:base` holds where ids start, set once by the first
//!   instance (`SET NX`); the others adopt it. If it vanishes (noticed after
//!   a reconnect, a quiet second or a jump in ids), Redis lost its data: the
//!   instances agree on a new base and clients get a `restarted` reset.
//! - The key names are fixed: one playground per Redis database (pick
//!   another with the URL's path, `redis://host/1`).
//! - Each instance runs one reader (`XREAD BLOCK` on a connection of its own,
//!   so it never stalls commands) that mirrors the stream into the local hub
//!   in stream order. After an outage it resumes after the last id it has,
//!   so nothing Redis accepted is lost, and nothing is delivered twice.
//! - Chat goes over `PUBLISH`/`SUBSCRIBE` (chat is not replayed anyway), and
//!   each instance writes its WebSocket count into a hash every second, which
//!   gives every instance the total ("presence").
//!
//! Commands use the redis crate's `ConnectionManager`, which reconnects by
//! itself; the reader and the chat subscriber reconnect in their own loops.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::StreamReadReply;
use redis::{AsyncConnectionConfig, Client, Script};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{BackplaneKind, BackplaneStatus, LinkState, Unavailable, redact_url};
use crate::chat::{ChatMessage, ChatRoom};
use crate::config::EventIds;
use crate::connections::Connections;
use crate::hub::{Event, Hub, NewEvent};

const STREAM_KEY: &str = "realtime-playground:events";
const BASE_KEY: &str = "realtime-playground:base";
const CHAT_CHANNEL: &str = "realtime-playground:chat";
const PRESENCE_KEY: &str = "realtime-playground:presence";

/// How long one `XREAD` waits for news before asking again.
const BLOCK: Duration = Duration::from_millis(1000);
/// Entries one `XREAD` may return.
const READ_BATCH: usize = 500;
/// Pause between reconnection attempts of the reader and the chat subscriber.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(1);
/// Fail a publish this fast when Redis is gone, instead of holding the client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a publisher waits for its event to come back through the reader.
const MIRROR_PATIENCE: Duration = Duration::from_secs(5);
/// How often an instance reports its WebSocket count, and when a report expires.
const PRESENCE_EVERY: Duration = Duration::from_secs(1);
const PRESENCE_TTL: Duration = Duration::from_secs(5);

/// Appends one event. KEYS: stream, base. ARGV: the base this instance
/// numbers after, the first id if the stream is new, the replay size, the event.
const PUBLISH_LUA: &str = r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('BASECHANGED event ids were reset: Redis lost its data')
end
local id = '0-*'
if redis.call('EXISTS', KEYS[1]) == 0 then id = ARGV[2] end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], id, 'event', ARGV[4])
";

/// An event as the stream stores it; the id is the entry's.
#[derive(Serialize, Deserialize)]
struct Stored {
    topic: String,
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
    at_us: u64,
}

/// A first connection to Redis and the id base every instance agrees on.
pub struct Link {
    client: Client,
    commands: ConnectionManager,
    url: String,
    /// Ids of this run are greater than this.
    pub base: u64,
    /// This instance's name in the backplane.
    pub instance: String,
}

/// Connects to Redis and agrees on where ids start. Fails (with a sentence
/// for the user) when Redis cannot be reached.
pub async fn connect(url: &str, event_ids: EventIds) -> Result<Link, String> {
    let shown = redact_url(url);
    let client =
        Client::open(url).map_err(|e| format!("{shown} is not a usable Redis URL: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(2)
        .set_min_delay(RETRY_MIN)
        .set_max_delay(Duration::from_millis(500))
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    let mut commands = ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(|e| format!("cannot reach Redis at {shown}: {e} (is redis-server running?)"))?;
    let base = agree_on_base(&mut commands, event_ids.base())
        .await
        .map_err(|e| format!("Redis at {shown} answered with an error: {e}"))?;
    let instance = format!("{:06x}", fastrand::u32(..0x100_0000));
    tracing::info!(url = %shown, base, %instance, "connected to Redis");
    Ok(Link {
        client,
        commands,
        url: shown,
        base,
        instance,
    })
}

/// `SET NX` the proposed base, then read whichever base won.
async fn agree_on_base(
    conn: &mut impl redis::aio::ConnectionLike,
    proposed: u64,
) -> redis::RedisResult<u64> {
    redis::cmd("SET")
        .arg(BASE_KEY)
        .arg(proposed)
        .arg("NX")
        .exec_async(conn)
        .await?;
    redis::cmd("GET").arg(BASE_KEY).query_async(conn).await
}

/// What the reader last knew about Redis.
struct Health {
    state: LinkState,
    error: Option<String>,
}

pub struct RedisBackplane {
    hub: Hub,
    chat: ChatRoom,
    connections: Arc<Connections>,
    client: Client,
    commands: ConnectionManager,
    publish_script: Script,
    url: String,
    instance: String,
    replay: usize,
    event_ids: EventIds,
    health: Mutex<Health>,
    /// (instances, WebSockets on all of them), from the last presence round.
    presence: Mutex<Option<(u64, u64)>>,
}

impl RedisBackplane {
    /// Fills the hub with the newest `replay` events of the stream, joins the
    /// chat channel, then starts the reader, chat and presence tasks (they
    /// end with `shutdown`). On return the instance is in step with the others.
    pub async fn start(
        link: Link,
        hub: Hub,
        chat: ChatRoom,
        connections: Arc<Connections>,
        replay: usize,
        event_ids: EventIds,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, String> {
        let this = Arc::new(RedisBackplane {
            hub,
            chat,
            connections,
            client: link.client,
            commands: link.commands,
            publish_script: Script::new(PUBLISH_LUA),
            url: link.url,
            instance: link.instance,
            replay,
            event_ids,
            health: Mutex::new(Health {
                state: LinkState::Connected,
                error: None,
            }),
            presence: Mutex::new(None),
        });
        let fail = |e: redis::RedisError| format!("Redis at {} failed: {e}", this.url);
        let mut reader = this.reader_connection().await.map_err(fail)?;
        let floor = this.replay_window_start(&mut reader).await.map_err(fail)?;
        while this.read(&mut reader, None, floor).await.map_err(fail)? > 0 {}
        let mut pubsub = this.client.get_async_pubsub().await.map_err(fail)?;
        pubsub.subscribe(CHAT_CHANNEL).await.map_err(fail)?;

        tokio::spawn(this.clone().follow_stream(reader, shutdown.clone()));
        tokio::spawn(this.clone().follow_chat(pubsub, shutdown.clone()));
        tokio::spawn(this.clone().report_presence(shutdown));
        Ok(this)
    }

    pub async fn publish(&self, new: NewEvent) -> Result<u64, Unavailable> {
        let at_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or_default();
        let stored = Stored {
            topic: new.topic,
            kind: new.kind,
            data: new.data,
            at_us,
        };
        let payload = serde_json::to_string(&stored).unwrap_or_default();
        let base = self.hub.base();
        let mut conn = self.commands.clone();
        let answer: redis::RedisResult<String> = self
            .publish_script
            .key(STREAM_KEY)
            .key(BASE_KEY)
            .arg(base)
            .arg(format!("0-{}", base + 1))
            .arg(self.replay)
            .arg(payload)
            .invoke_async(&mut conn)
            .await;
        let entry = answer.map_err(|e| {
            tracing::debug!(%e, "publishing to Redis failed");
            if e.to_string().contains("BASECHANGED") {
                Unavailable(
                    "Redis lost its data and the event ids start over; this instance is \
                     catching up. Try again in a moment."
                        .into(),
                )
            } else {
                self.unreachable(&e)
            }
        })?;
        let id = parse_entry_id(&entry)
            .ok_or_else(|| Unavailable(format!("Redis gave the event a strange id {entry:?}.")))?;
        // Redis has the event; it reaches this instance through the reader.
        // Waiting keeps "answered" after "delivered to my own subscribers".
        if !self.hub.wait_for(id, MIRROR_PATIENCE).await {
            tracing::warn!(id, "an accepted event has not come back from Redis yet");
        }
        Ok(id)
    }

    pub async fn say(&self, from: &str, text: &str) -> Result<(), Unavailable> {
        let msg = serde_json::to_string(&ChatMessage::new(from, text)).unwrap_or_default();
        let mut conn = self.commands.clone();
        redis::cmd("PUBLISH")
            .arg(CHAT_CHANNEL)
            .arg(msg)
            .exec_async(&mut conn)
            .await
            .map_err(|e| self.unreachable(&e))
    }

    fn unreachable(&self, err: &redis::RedisError) -> Unavailable {
        Unavailable(format!(
            "The Redis backplane at {} cannot be reached ({err}); nothing was published. \
             Open streams stay open and resume when Redis is back; try again in a moment.",
            self.url
        ))
    }

    pub fn status(&self) -> BackplaneStatus {
        let (state, error) = {
            let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
            (health.state, health.error.clone())
        };
        let presence = *self.presence.lock().unwrap_or_else(|p| p.into_inner());
        BackplaneStatus {
            kind: BackplaneKind::Redis,
            state,
            url: Some(self.url.clone()),
            instance: Some(self.instance.clone()),
            instances: presence.map(|(instances, _)| instances),
            websockets: presence.map(|(_, websockets)| websockets),
            error,
        }
    }

    /// The reader's own connection: `XREAD BLOCK` would stall a shared one.
    async fn reader_connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(BLOCK + RESPONSE_TIMEOUT));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// Where a fresh instance starts reading: it needs only the newest
    /// `replay` events, like the ring (older ids count as gone).
    async fn replay_window_start(
        &self,
        conn: &mut MultiplexedConnection,
    ) -> redis::RedisResult<u64> {
        let newest: Vec<(String, redis::Value)> = redis::cmd("XREVRANGE")
            .arg(STREAM_KEY)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(conn)
            .await?;
        Ok(newest
            .first()
            .and_then(|(id, _)| parse_entry_id(id))
            .map_or(0, |newest| newest.saturating_sub(self.replay as u64)))
    }

    /// After (re)connecting: checks that Redis still has the run's base. If it
    /// lost its data the instances agree on a new base (after every id used
    /// so far, where they can tell) and the hub starts a new run.
    async fn resync_base(&self, conn: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        let current: Option<u64> = redis::cmd("GET").arg(BASE_KEY).query_async(conn).await?;
        let base = match current {
            Some(base) => base,
            None => {
                let proposed = self.event_ids.base().max(self.hub.last_id());
                let base = agree_on_base(conn, proposed).await?;
                tracing::warn!(
                    base,
                    "Redis lost its data (the id base is gone); event ids start over after {base}"
                );
                base
            }
        };
        if base != self.hub.base() {
            tracing::warn!(
                old = self.hub.base(),
                new = base,
                "the shared id base changed; clients resuming with older ids get a `restarted` reset"
            );
            self.hub.rebase(base);
        }
        Ok(())
    }

    fn went_away(&self, what: &str, err: &redis::RedisError) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if health.state == LinkState::Connected {
            tracing::warn!(url = %self.url, %err, "lost Redis ({what}); publishing answers 503 until it is back, open streams stay open");
        }
        health.state = LinkState::Reconnecting;
        health.error = Some(format!("{what}: {err}"));
    }

    fn came_back(&self) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if health.state == LinkState::Reconnecting {
            tracing::info!(url = %self.url, last_id = self.hub.last_id(), "Redis is back; catching up from the last event this instance has");
        }
        health.state = LinkState::Connected;
        health.error = None;
    }

    /// The reader: mirrors the stream into the hub until shutdown, and
    /// reconnects (resuming after the hub's newest id) whenever Redis goes.
    async fn follow_stream(
        self: Arc<Self>,
        first: MultiplexedConnection,
        shutdown: CancellationToken,
    ) {
        let mut conn = Some(first);
        let mut retry = RETRY_MIN;
        loop {
            let attempt = async {
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => {
                        let mut c = self
                            .reader_connection()
                            .await
                            .map_err(|e| ("connecting", e))?;
                        self.resync_base(&mut c)
                            .await
                            .map_err(|e| ("checking the id base", e))?;
                        self.came_back();
                        conn.insert(c)
                    }
                };
                let read = self
                    .read(c, Some(BLOCK), 0)
                    .await
                    .map_err(|e| ("reading the stream", e))?;
                // A quiet second may mean Redis lost its data under a live
                // connection (publishes then fail the base check): look.
                if read == 0 {
                    self.resync_base(c)
                        .await
                        .map_err(|e| ("checking the id base", e))?;
                }
                Ok(read)
            };
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = attempt => outcome,
            };
            match outcome {
                Ok(_) => retry = RETRY_MIN,
                Err((what, err)) => {
                    self.went_away(what, &err);
                    conn = None;
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// Delivers chat messages from every instance to this one's members.
    async fn follow_chat(self: Arc<Self>, first: redis::aio::PubSub, shutdown: CancellationToken) {
        let mut pubsub = Some(first);
        let mut retry = RETRY_MIN;
        loop {
            let session = async {
                let mut ps = match pubsub.take() {
                    Some(ps) => ps,
                    None => {
                        let mut ps = self.client.get_async_pubsub().await?;
                        ps.subscribe(CHAT_CHANNEL).await?;
                        tracing::info!(
                            "chat channel subscribed again; messages sent while Redis was away are lost"
                        );
                        ps
                    }
                };
                let mut messages = ps.on_message();
                while let Some(msg) = messages.next().await {
                    match msg
                        .get_payload::<String>()
                        .ok()
                        .and_then(|json| serde_json::from_str::<ChatMessage>(&json).ok())
                    {
                        Some(chat) => self.chat.deliver(Arc::new(chat)),
                        None => tracing::debug!("ignored a chat message that does not parse"),
                    }
                }
                redis::RedisResult::Ok(())
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                ended = session => match ended {
                    Ok(()) => tracing::debug!("the chat subscription ended"),
                    Err(err) => tracing::debug!(%err, "the chat subscription failed"),
                },
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(RETRY_MAX);
        }
    }

    /// Every second: report this instance's WebSockets, count everyone's
    /// (ignoring and removing reports older than the TTL).
    async fn report_presence(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(PRESENCE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            match self.presence_round().await {
                Ok(totals) => {
                    *self.presence.lock().unwrap_or_else(|p| p.into_inner()) = Some(totals);
                }
                Err(err) => tracing::debug!(%err, "presence report failed"),
            }
        }
        // Leave at once rather than after the TTL.
        let mut conn = self.commands.clone();
        let _ = tokio::time::timeout(
            CONNECT_TIMEOUT,
            redis::cmd("HDEL")
                .arg(PRESENCE_KEY)
                .arg(&self.instance)
                .exec_async(&mut conn),
        )
        .await;
    }

    async fn presence_round(&self) -> redis::RedisResult<(u64, u64)> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let mine = self.connections.snapshot().websocket;
        let expires = now_ms + PRESENCE_TTL.as_millis() as u64;
        let mut conn = self.commands.clone();
        let (all,): (std::collections::HashMap<String, String>,) = redis::pipe()
            .cmd("HSET")
            .arg(PRESENCE_KEY)
            .arg(&self.instance)
            .arg(format!("{mine} {expires}"))
            .ignore()
            .cmd("HGETALL")
            .arg(PRESENCE_KEY)
            .query_async(&mut conn)
            .await?;
        let (mut instances, mut websockets) = (0, 0);
        for (instance, report) in all {
            let parsed = report
                .split_once(' ')
                .and_then(|(n, until)| Some((n.parse::<u64>().ok()?, until.parse::<u64>().ok()?)));
            match parsed {
                Some((n, until)) if until >= now_ms => {
                    instances += 1;
                    websockets += n;
                }
                _ => {
                    let _: redis::RedisResult<()> = redis::cmd("HDEL")
                        .arg(PRESENCE_KEY)
                        .arg(&instance)
                        .exec_async(&mut conn)
                        .await;
                }
            }
        }
        Ok((instances, websockets))
    }

    /// One `XREAD` after the hub's newest id, mirrored into the hub. Returns
    /// how many entries came.
    /// Starts after `floor` if that is newer than the hub's newest id.
    async fn read(
        &self,
        conn: &mut MultiplexedConnection,
        block: Option<Duration>,
        floor: u64,
    ) -> redis::RedisResult<usize> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(READ_BATCH);
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(block.as_millis() as u64);
        }
        cmd.arg("STREAMS")
            .arg(STREAM_KEY)
            .arg(format!("0-{}", self.hub.last_id().max(floor)));
        let reply: Option<StreamReadReply> = cmd.query_async(conn).await?;
        let entries: Vec<_> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect();
        let first = entries.first().and_then(|e| parse_entry_id(&e.id));
        if first.is_some_and(|id| id > self.hub.last_id() + 1) {
            // Skipped ids: trimmed while we were away, or a new run after
            // Redis lost its data. The base tells which, before we mirror.
            self.resync_base(conn).await?;
        }
        let mut count = 0;
        for entry in entries {
            count += 1;
            let Some(id) = parse_entry_id(&entry.id) else {
                tracing::warn!(id = entry.id, "skipped a stream entry with a foreign id");
                continue;
            };
            let stored = entry
                .map
                .get("event")
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
                .and_then(|json| serde_json::from_str::<Stored>(&json).ok());
            let Some(stored) = stored else {
                tracing::warn!(id, "skipped a stream entry that is not an event");
                continue;
            };
            let new = NewEvent {
                topic: stored.topic,
                kind: stored.kind,
                data: stored.data,
            };
            self.hub.mirror(Event::new(id, new, stored.at_us));
        }
        Ok(count)
    }
}

/// `0-42` → 42. The stream holds nothing else.
fn parse_entry_id(entry: &str) -> Option<u64> {
    entry.strip_prefix("0-")?.parse().ok()
}
