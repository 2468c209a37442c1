//! `/api/faults`: the switches (get, set, reset) and the one-off actions
//! (deploy, half-open), all for the learner who asks.

use std::sync::Arc;
use std::time::Duration;

use poem::web::RemoteAddr;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::deploys::MAX_SECONDS;
use super::{FaultSwitches, Faults};
use crate::connections::client_ip;
use crate::lab::LabTags;
use crate::problem::ApiError;
use crate::traffic::Learner;

/// How long a frozen connection is kept by default before the server gives up.
const DEFAULT_CLOSE_AFTER_S: u64 = 120;

/// A deploy: how long the server behind the proxy is away.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct DeployRequest {
    /// Seconds during which my transport requests get `502 Bad Gateway` (1–30).
    #[oai(
        default = "default_deploy",
        validator(minimum(value = "1"), maximum(value = "30"))
    )]
    pub seconds: u64,
}

fn default_deploy() -> u64 {
    5
}

impl poem_openapi::types::Example for DeployRequest {
    fn example() -> Self {
        DeployRequest { seconds: 5 }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Deployed {
    /// My SSE streams and WebSockets that were cut.
    pub cut: u64,
    /// Seconds from now during which my transport requests get `502`.
    pub seconds: u64,
}

impl poem_openapi::types::Example for Deployed {
    fn example() -> Self {
        Deployed { cut: 2, seconds: 5 }
    }
}

/// A half-open action: how long the server keeps a frozen connection.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct HalfOpenRequest {
    /// Seconds after which the server gives up on a frozen connection and
    /// closes it (1–300, default 120), so nothing leaks.
    #[oai(
        default = "default_close_after",
        validator(minimum(value = "1"), maximum(value = "300"))
    )]
    pub close_after_s: u64,
}

fn default_close_after() -> u64 {
    DEFAULT_CLOSE_AFTER_S
}

impl poem_openapi::types::Example for HalfOpenRequest {
    fn example() -> Self {
        HalfOpenRequest {
            close_after_s: DEFAULT_CLOSE_AFTER_S,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct HalfOpened {
    /// My SSE streams and WebSockets that went silent.
    pub frozen: u64,
    /// Seconds after which the server closes them.
    pub close_after_s: u64,
}

impl poem_openapi::types::Example for HalfOpened {
    fn example() -> Self {
        HalfOpened {
            frozen: 2,
            close_after_s: DEFAULT_CLOSE_AFTER_S,
        }
    }
}

pub struct FaultsApi {
    pub faults: Arc<Faults>,
}

#[OpenApi]
impl FaultsApi {
    /// My fault switches
    #[oai(path = "/faults", method = "get", tag = "LabTags::Lab")]
    async fn get(&self, learner: Learner) -> Json<FaultSwitches> {
        Json(self.faults.of(&learner.id))
    }

    /// Set my fault switches
    ///
    /// They apply to SSE streams and WebSockets you open from now on (the
    /// corporate proxy also to your next WebSocket upgrade), and
    /// `long_poll_unavailable` to your next long-poll. Send all zeros
    /// (or `DELETE`) to reset.
    #[oai(path = "/faults", method = "put", tag = "LabTags::Lab")]
    async fn put(
        &self,
        learner: Learner,
        remote: &RemoteAddr,
        body: Json<FaultSwitches>,
    ) -> Result<Json<FaultSwitches>, ApiError> {
        body.0
            .validate()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        self.faults
            .set(&learner.id, client_ip(remote), body.0)
            .map_err(|why| ApiError::too_many_requests(why.to_string(), 60))?;
        Ok(Json(body.0))
    }

    /// Reset my fault switches
    ///
    /// Every switch off; a deploy you started ends now.
    #[oai(path = "/faults", method = "delete", tag = "LabTags::Lab")]
    async fn reset(&self, learner: Learner) -> Json<FaultSwitches> {
        self.faults.reset(&learner.id);
        Json(FaultSwitches::default())
    }

    /// Deploy: 502 for a few seconds
    ///
    /// As if the server were restarted behind its load balancer: your open
    /// SSE streams end and your WebSockets close (1001) at once, and for
    /// `seconds` every request of yours to `/api/poll`, `/api/long-poll`,
    /// `/api/sse` and `/api/ws` gets `502 Bad Gateway` (a problem document,
    /// with `Retry-After`). Then everything works again.
    ///
    /// Watch the clients: a browser's `EventSource` reconnects, gets the
    /// 502, and stops for good (`readyState` CLOSED); a WebSocket client with
    /// back-off gets back in once the deploy is over; a poller just misses a
    /// few answers. Other learners notice nothing.
    #[oai(path = "/faults/deploy", method = "post", tag = "LabTags::Lab")]
    async fn deploy(
        &self,
        learner: Learner,
        body: Json<DeployRequest>,
    ) -> Result<Json<Deployed>, ApiError> {
        let seconds = body.seconds;
        if !(1..=MAX_SECONDS).contains(&seconds) {
            return Err(ApiError::bad_request(format!(
                "seconds must be 1 to {MAX_SECONDS}."
            )));
        }
        let cut = self
            .faults
            .deploy(&learner.id, Duration::from_secs(seconds))
            .map_err(|m| ApiError::too_many_requests(m, 5))?;
        Ok(Json(Deployed {
            cut: cut as u64,
            seconds,
        }))
    }

    /// Half-open: my connections go silent
    ///
    /// Every SSE stream and WebSocket you have open now stops writing: no
    /// events, no heartbeats, no pings, no close frame, while the socket stays
    /// open and what you send is still read. Nothing tells the client; only a
    /// watchdog of its own (no heartbeat for 2 intervals, no answer to a
    /// ping) notices. After `close_after_s` the server gives up on them and
    /// closes the socket. Connections you open afterwards work normally.
    #[oai(path = "/faults/half-open", method = "post", tag = "LabTags::Lab")]
    async fn half_open(
        &self,
        learner: Learner,
        body: Json<HalfOpenRequest>,
    ) -> Result<Json<HalfOpened>, ApiError> {
        let close_after_s = body.close_after_s;
        if !(1..=300).contains(&close_after_s) {
            return Err(ApiError::bad_request("close_after_s must be 1 to 300."));
        }
        let frozen = self
            .faults
            .half_open(&learner.id, Duration::from_secs(close_after_s));
        Ok(Json(HalfOpened {
            frozen: frozen as u64,
            close_after_s,
        }))
    }
}
