//! The reader: mirrors the Redis stream into the local hub, in stream order.
//!
//! It reads on a connection of its own (`XREAD BLOCK` would stall commands),
//! resumes after the hub's newest id when Redis comes back, and checks the
//! run's base whenever ids jump or the stream is quiet: Redis may have lost
//! its data, and then every instance starts a new run together.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamReadReply};
use tokio_util::sync::CancellationToken;

use super::entry::{Stored, parse_entry_id};
use super::link::agree_on_base;
use super::{BASE_KEY, RETRY_MAX, RETRY_MIN, RedisBackplane, STREAM_KEY};

/// How long one `XREAD` waits for news before asking again.
pub(super) const BLOCK: Duration = Duration::from_millis(1000);
/// Entries one `XREAD` may return.
const READ_BATCH: usize = 500;

/// What failed, for the status page, and how.
type StepError = (&'static str, redis::RedisError);

impl RedisBackplane {
    /// The reader: mirrors the stream into the hub until shutdown, and
    /// reconnects (resuming after the hub's newest id) whenever Redis goes.
    pub(super) async fn follow_stream(
        self: Arc<Self>,
        first: MultiplexedConnection,
        shutdown: CancellationToken,
    ) {
        let mut conn = Some(first);
        let mut retry = RETRY_MIN;
        loop {
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = self.follow_step(&mut conn) => outcome,
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

    /// One blocking read, connecting first (and checking the base) when
    /// `conn` is gone. Returns how many entries came.
    async fn follow_step(
        &self,
        conn: &mut Option<MultiplexedConnection>,
    ) -> Result<usize, StepError> {
        let c = match conn {
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
    }

    /// Where a fresh instance starts reading: it needs only the newest
    /// `replay` events, like the ring (older ids count as gone).
    pub(super) async fn replay_window_start(
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

    /// One `XREAD` after the hub's newest id, mirrored into the hub. Returns
    /// how many entries came.
    /// Starts after `floor` if that is newer than the hub's newest id.
    pub(super) async fn read(
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
        let count = entries.len();
        for entry in entries {
            self.mirror_entry(entry);
        }
        Ok(count)
    }

    /// Hands one stream entry to the hub; foreign entries are logged and skipped.
    fn mirror_entry(&self, entry: StreamId) {
        let Some(id) = parse_entry_id(&entry.id) else {
            tracing::warn!(id = entry.id, "skipped a stream entry with a foreign id");
            return;
        };
        let stored = entry
            .map
            .get("event")
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
            .and_then(|json| serde_json::from_str::<Stored>(&json).ok());
        let Some(stored) = stored else {
            tracing::warn!(id, "skipped a stream entry that is not an event");
            return;
        };
        self.hub.mirror(stored.into_event(id));
    }
}
