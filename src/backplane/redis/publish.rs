//! Publishing: Redis numbers the event, then the reader brings it back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::entry::{Stored, parse_entry_id};
use super::{BASE_KEY, RedisBackplane, STREAM_KEY};
use crate::backplane::Unavailable;
use crate::hub::NewEvent;

/// How long a publisher waits for its event to come back through the reader.
const MIRROR_PATIENCE: Duration = Duration::from_secs(5);

/// Appends one event. KEYS: stream, base. ARGV: the base this instance
/// numbers after, the first id if the stream is new, the replay size, the event.
pub(super) const PUBLISH_LUA: &str = r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('BASECHANGED event ids were reset: Redis lost its data')
end
local id = '0-*'
if redis.call('EXISTS', KEYS[1]) == 0 then id = ARGV[2] end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], id, 'event', ARGV[4])
";

impl RedisBackplane {
    pub async fn publish(&self, new: NewEvent) -> Result<u64, Unavailable> {
        let at_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or_default();
        let payload = serde_json::to_string(&Stored::new(new, at_us)).unwrap_or_default();
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
        let entry = answer.map_err(|e| self.refused(&e))?;
        let id = parse_entry_id(&entry)
            .ok_or_else(|| Unavailable(format!("Redis gave the event a strange id {entry:?}.")))?;
        // Redis has the event; it reaches this instance through the reader.
        // Waiting keeps "answered" after "delivered to my own subscribers".
        if !self.hub.wait_for(id, MIRROR_PATIENCE).await {
            tracing::warn!(id, "an accepted event has not come back from Redis yet");
        }
        Ok(id)
    }

    /// What the publisher is told when Redis did not take the event.
    fn refused(&self, err: &redis::RedisError) -> Unavailable {
        tracing::debug!(e = %err, "publishing to Redis failed");
        if err.to_string().contains("BASECHANGED") {
            Unavailable(
                "Redis lost its data and the event ids start over; this instance is \
                 catching up. Try again in a moment."
                    .into(),
            )
        } else {
            self.unreachable(err)
        }
    }
}
