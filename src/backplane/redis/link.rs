//! Connecting to Redis, and the id base every instance agrees on.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client};

use super::mirror::BLOCK;
use super::{BASE_KEY, CONNECT_TIMEOUT, RESPONSE_TIMEOUT, RETRY_MIN, RedisBackplane};
use crate::backplane::redact_url;
use crate::config::EventIds;

/// Why the backplane could not start; each names Redis by its URL without
/// the password.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{url} is not a usable Redis URL: {source}")]
    BadUrl {
        url: String,
        source: redis::RedisError,
    },
    #[error("cannot reach Redis at {url}: {source} (is redis-server running?)")]
    Unreachable {
        url: String,
        source: redis::RedisError,
    },
    #[error("Redis at {url} answered with an error: {source}")]
    Refused {
        url: String,
        source: redis::RedisError,
    },
    /// Reading the stream or joining the chat channel failed while starting.
    #[error("Redis at {url} failed: {source}")]
    Failed {
        url: String,
        source: redis::RedisError,
    },
}

/// A first connection to Redis and the id base every instance agrees on.
pub struct Link {
    pub(super) client: Client,
    pub(super) commands: ConnectionManager,
    pub(super) url: String,
    /// Ids of this run are greater than this.
    pub base: u64,
    /// This instance's name in the backplane.
    pub instance: String,
}

/// Connects to Redis and agrees on where ids start. Fails (with a sentence
/// for the user) when Redis cannot be reached.
pub async fn connect(url: &str, event_ids: EventIds) -> Result<Link, LinkError> {
    let shown = redact_url(url);
    let client = Client::open(url).map_err(|source| LinkError::BadUrl {
        url: shown.clone(),
        source,
    })?;
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(2)
        .set_min_delay(RETRY_MIN)
        .set_max_delay(Duration::from_millis(500))
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    let mut commands = ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(|source| LinkError::Unreachable {
            url: shown.clone(),
            source,
        })?;
    let base = agree_on_base(&mut commands, event_ids.base())
        .await
        .map_err(|source| LinkError::Refused {
            url: shown.clone(),
            source,
        })?;
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
pub(super) async fn agree_on_base(
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

impl RedisBackplane {
    /// The reader's own connection: `XREAD BLOCK` would stall a shared one.
    pub(super) async fn reader_connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(BLOCK + RESPONSE_TIMEOUT));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }
}
