//! `/api/lab/storm`: start a reconnect storm, read its timeline.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::{KEPT_RUNS, MAX_RUNNING, Refusal, StormLab, StormRequest, StormRun};
use crate::lab::LabTags;
use crate::problem::ApiError;
use crate::traffic::Learner;

#[derive(ApiResponse)]
pub enum StormStarted {
    /// Started; poll `GET /api/lab/storm/{id}` until `status` is not `running`
    /// (a few seconds: connect, drop, everyone back).
    /// `X-Storm-Strategy` names the strategy, so the traffic log (and a
    /// lesson's check) can tell a fixed-retry storm from a back-off one.
    #[oai(status = 202)]
    Accepted(Json<StormRun>, #[oai(header = "X-Storm-Strategy")] String),
}

pub struct StormApi {
    pub lab: Arc<StormLab>,
}

#[OpenApi]
impl StormApi {
    /// Start a reconnect storm
    ///
    /// The server starts `clients` real SSE or WebSocket clients of its own
    /// against itself, waits until all are connected, drops them all at once
    /// (as `POST /api/connections/drop` does) and records when each one is
    /// back. With `fixed`, everyone waits the same `retry_ms` (like
    /// `EventSource`'s `retry:`) and they return in one wave; with
    /// `backoff_jitter`, attempt n waits a random time between 0 and
    /// min(10 s, `retry_ms` × 2ⁿ) and they trickle back. Run both and compare
    /// the timelines.
    ///
    /// One storm per learner at a time and two on the server (`429` with
    /// `Retry-After` otherwise); the clients' traffic stays out of your log.
    #[oai(path = "/lab/storm", method = "post", tag = "LabTags::Lab")]
    async fn start(
        &self,
        learner: Learner,
        body: Json<StormRequest>,
    ) -> Result<StormStarted, ApiError> {
        let req = body.0;
        if !(super::MIN_CLIENTS..=super::MAX_CLIENTS).contains(&req.clients) {
            return Err(ApiError::bad_request(format!(
                "clients must be {} to {}.",
                super::MIN_CLIENTS,
                super::MAX_CLIENTS
            )));
        }
        if !(100..=5000).contains(&req.retry_ms) {
            return Err(ApiError::bad_request("retry_ms must be 100 to 5000."));
        }
        match self.lab.start(&learner.id, &req) {
            Ok(run) => {
                let strategy = run.strategy.as_str().to_owned();
                Ok(StormStarted::Accepted(Json(run), strategy))
            }
            Err(Refusal::Yours(id)) => Err(ApiError::too_many_requests(
                format!("Your storm #{id} is still running; wait for it to finish."),
                5,
            )),
            Err(Refusal::Busy) => Err(ApiError::too_many_requests(
                format!(
                    "{MAX_RUNNING} storms are running on this server; try again in a few seconds."
                ),
                10,
            )),
        }
    }

    /// A reconnect storm and its timeline
    ///
    /// `status` is `running` until every client is back (or 30 s after the
    /// drop); then `buckets` holds the reconnects per 100 ms after the drop,
    /// with the fullest bucket (`peak`, `peak_at_ms`) and the p50, p99 and
    /// max time to reconnect. Only the learner who started it reads it.
    #[oai(path = "/lab/storm/:id", method = "get", tag = "LabTags::Lab")]
    async fn get(&self, learner: Learner, id: Path<u64>) -> Result<Json<StormRun>, ApiError> {
        self.lab.get(id.0, &learner.id).map(Json).ok_or_else(|| {
            ApiError::not_found(format!(
                "You have no storm #{} (only the newest {KEPT_RUNS} are kept).",
                id.0
            ))
        })
    }
}
