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
//!
//! - `link`: connecting and agreeing on the id base.
//! - `entry`: how an event is stored in the stream.
//! - `publish`: appending an event (the Lua script).
//! - `mirror`: the reader that mirrors the stream into the hub.
//! - `chat`: chat messages over `PUBLISH`/`SUBSCRIBE`.
//! - `presence`: the WebSocket count of every instance.
//! - `health`: whether Redis answers, as `/api/backplane` reports it.

mod chat;
mod entry;
mod health;
mod link;
mod mirror;
mod presence;
mod publish;

pub use link::{Link, LinkError, connect};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Client, Script};
use tokio_util::sync::CancellationToken;

use crate::chat::ChatRoom;
use crate::config::EventIds;
use crate::connections::Connections;
use crate::hub::Hub;
use health::Health;

const STREAM_KEY: &str = "realtime-playground:events";
const BASE_KEY: &str = "realtime-playground:base";
const CHAT_CHANNEL: &str = "realtime-playground:chat";
const PRESENCE_KEY: &str = "realtime-playground:presence";

/// Pause between reconnection attempts of the reader and the chat subscriber.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(1);
/// Fail a publish this fast when Redis is gone, instead of holding the client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

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
    ) -> Result<Arc<Self>, LinkError> {
        let this = Arc::new(RedisBackplane {
            hub,
            chat,
            connections,
            client: link.client,
            commands: link.commands,
            publish_script: Script::new(publish::PUBLISH_LUA),
            url: link.url,
            instance: link.instance,
            replay,
            event_ids,
            health: Mutex::new(Health::connected()),
            presence: Mutex::new(None),
        });
        let fail = |source| LinkError::Failed {
            url: this.url.clone(),
            source,
        };
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
}
