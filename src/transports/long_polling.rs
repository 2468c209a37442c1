//! Long-polling: the client asks once and the server holds the request open
//! until there is news (answered at once) or the timeout passes (`204`). The
//! bridge between polling and push: fewer empty answers, but still one
//! request per delivery and a new request after every answer.

use std::time::Duration;

use poem::web::RemoteAddr;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::TransportTags;
use super::context::TransportContext;
use super::{DEFAULT_BATCH, MAX_BATCH, PollResponse};
use crate::connections::{Held, client_ip};
use crate::hub::{Cursor, Delivery, TopicFilter};
use crate::problem::ApiError;
use crate::traffic::Tap;

pub struct LongPollingApi {
    pub ctx: TransportContext,
}

#[OpenApi]
impl LongPollingApi {
    /// Long-poll: "tell me when there is an update"
    ///
    /// If events after `since` exist, answers at once like `/api/poll`.
    /// Otherwise the server holds the request until an event arrives (answered
    /// within milliseconds) or `timeout` seconds pass (`204 No Content`); then
    /// the client asks again. Without `since`, waits for the next new event.
    #[oai(
        path = "/long-poll",
        method = "get",
        tag = "TransportTags::LongPolling"
    )]
    async fn long_poll(
        &self,
        /// Last event id you have seen.
        #[oai(example = "super::polling::example_since")]
        since: Query<Option<u64>>,
        /// Seconds to wait for news before answering `204` (1–60 by default, see `--long-poll-max-timeout-secs`; default 25).
        #[oai(example = "example_timeout")]
        timeout: Query<Option<u64>>,
        /// Comma-separated topics to receive; all when empty. At most 64 topics (4160 bytes).
        #[oai(validator(max_length = 4160))]
        topics: Query<Option<String>>,
        /// Most events in one answer (1–1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        tap: Tap,
        remote: &RemoteAddr,
    ) -> Result<PollResponse, ApiError> {
        let config = &self.ctx.config;
        let timeout = match *timeout {
            None => config.long_poll_timeout(),
            Some(s) if (1..=config.long_poll_max_timeout_secs).contains(&s) => {
                Duration::from_secs(s)
            }
            Some(s) => {
                return Err(ApiError::bad_request(format!(
                    "timeout must be between 1 and {} seconds, not {s}.",
                    config.long_poll_max_timeout_secs
                )));
            }
        };
        let topics = TopicFilter::parse_bounded(topics.as_deref())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let limit = limit.unwrap_or(DEFAULT_BATCH).min(MAX_BATCH) as usize;
        let _held = self
            .ctx
            .connections
            .open(client_ip(remote), Held::LongPoll)?;
        let mut sub = self
            .ctx
            .hub
            .subscribe(Cursor::after_or(*since, Cursor::Now));

        let hung_up = self.ctx.hung_up(remote);
        let first = tokio::select! {
            d = sub.next_matching(&topics) => d,
            // Nobody is left to read the answer: end now, as a timeout would,
            // and free the subscription and the connection slot.
            _ = hung_up.cancelled() => None,
            _ = tokio::time::sleep(timeout) => None,
            _ = self.ctx.shutdown.wait() => {
                return Err(ApiError::unavailable("The server is shutting down; try again in a moment."));
            }
        };
        let mut events = Vec::new();
        let mut reset = None;
        let mut more = false;
        let mut next = first;
        while let Some(delivery) = next {
            match delivery {
                Delivery::Reset(r) => reset = Some(r),
                Delivery::Event(e) if e.matches(&topics) => {
                    if events.len() == limit {
                        more = true;
                        break;
                    }
                    events.push(e);
                }
                Delivery::Event(_) => {}
            }
            // Whatever else is already waiting goes into the same answer.
            next = sub.try_next();
        }
        let cursor = if more {
            events.last().map_or(sub.cursor(), |e| e.id)
        } else {
            sub.cursor()
        };
        tap.answered(&events);
        Ok(PollResponse::from_parts(events, reset, more, cursor))
    }
}

fn example_timeout() -> Option<u64> {
    Some(10)
}
