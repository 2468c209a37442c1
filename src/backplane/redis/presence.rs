//! Presence: every instance reports its WebSocket count into one hash each
//! second, so each can show how many instances and WebSockets there are.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use super::{CONNECT_TIMEOUT, PRESENCE_KEY, RedisBackplane};

/// How often an instance reports its WebSocket count, and when a report expires.
const PRESENCE_EVERY: Duration = Duration::from_secs(1);
const PRESENCE_TTL: Duration = Duration::from_secs(5);

/// `"<websockets> <valid until, ms since the epoch>"` → both numbers.
fn parse_report(report: &str) -> Option<(u64, u64)> {
    let (n, until) = report.split_once(' ')?;
    Some((n.parse().ok()?, until.parse().ok()?))
}

impl RedisBackplane {
    /// Every second: report this instance's WebSockets, count everyone's
    /// (ignoring and removing reports older than the TTL).
    pub(super) async fn report_presence(self: Arc<Self>, shutdown: CancellationToken) {
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

    /// Writes this instance's report and returns (instances, WebSockets)
    /// over every report still valid.
    async fn presence_round(&self) -> redis::RedisResult<(u64, u64)> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let mine = self.connections.snapshot().websocket;
        let expires = now_ms + PRESENCE_TTL.as_millis() as u64;
        let mut conn = self.commands.clone();
        let (all,): (HashMap<String, String>,) = redis::pipe()
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
            match parse_report(&report) {
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
}

#[cfg(test)]
mod tests {
    use super::parse_report;

    #[test]
    fn reports_are_a_count_and_an_expiry() {
        assert_eq!(
            parse_report("3 1700000000000"),
            Some((3, 1_700_000_000_000))
        );
        assert_eq!(parse_report("3"), None);
        assert_eq!(parse_report("x 1"), None);
    }
}
