//! `/api/lab/cluster…`: the cluster lab's status, starting and stopping both
//! instances, killing one and starting it again.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::{ClusterLab, ClusterStatus, InstanceName};
use crate::backplane::Backplane;
use crate::problem::ApiError;

#[derive(ApiResponse)]
pub enum ClusterStarted {
    /// Started: both instances answer on their ports.
    #[oai(status = 201)]
    Created(Json<ClusterStatus>),
    /// The cluster was already there; nothing changed.
    #[oai(status = 200)]
    AlreadyRunning(Json<ClusterStatus>),
}

pub struct ClusterLabApi {
    pub lab: Arc<ClusterLab>,
    pub backplane: Backplane,
}

#[OpenApi]
impl ClusterLabApi {
    /// The cluster lab: can it run here, and its instances
    ///
    /// Always `200`. Without `--redis-url`, `available` is `false` and `hint`
    /// says how to start Redis and this server so it can.
    #[oai(
        path = "/lab/cluster",
        method = "get",
        tag = "crate::lab::LabTags::Lab"
    )]
    async fn status(&self) -> Json<ClusterStatus> {
        self.lab.touch();
        Json(self.lab.status(&self.backplane).await)
    }

    /// Start two instances sharing this server's Redis
    ///
    /// Starts instances `A` and `B` of this same program on free ports of
    /// 127.0.0.1, with this server's `--redis-url`, paused feeds, and this
    /// page's origin allowed (CORS and WebSocket origin check), and answers
    /// once both print their port. At most one cluster: if it exists already
    /// the answer is `200` and nothing changes. `409` without `--redis-url`.
    /// The instances stop with this server, on `DELETE /api/lab/cluster`, or
    /// after 10 minutes without a request to `/api/lab/cluster`.
    #[oai(
        path = "/lab/cluster",
        method = "post",
        tag = "crate::lab::LabTags::Lab"
    )]
    async fn start(&self) -> Result<ClusterStarted, ApiError> {
        self.lab.touch();
        let started = self.lab.start(self.lab.page_origins.clone()).await?;
        let status = Json(self.lab.status(&self.backplane).await);
        Ok(if started {
            ClusterStarted::Created(status)
        } else {
            ClusterStarted::AlreadyRunning(status)
        })
    }

    /// Stop both instances
    ///
    /// Kills `A` and `B` and forgets them. Always `200`, even when there were none.
    #[oai(
        path = "/lab/cluster",
        method = "delete",
        tag = "crate::lab::LabTags::Lab"
    )]
    async fn stop_all(&self) -> Json<ClusterStatus> {
        self.lab.touch();
        self.lab.stop_all().await;
        Json(self.lab.status(&self.backplane).await)
    }

    /// Kill one instance (it "crashes")
    ///
    /// Sends `SIGKILL` to instance `A` or `B`: its SSE streams and WebSockets
    /// break without a close frame (browsers see `1006`). Events published
    /// meanwhile still reach Redis through the other instance. `200` also
    /// when it was already stopped; `409` before `POST /api/lab/cluster`.
    #[oai(
        path = "/lab/cluster/:name/stop",
        method = "post",
        tag = "crate::lab::LabTags::Lab"
    )]
    async fn stop(
        &self,
        /// `A` or `B`.
        name: Path<InstanceName>,
    ) -> Result<Json<ClusterStatus>, ApiError> {
        self.lab.touch();
        self.redis_required()?;
        self.lab.stop(name.0).await?;
        Ok(Json(self.lab.status(&self.backplane).await))
    }

    /// Start a stopped instance again
    ///
    /// On its old port if that is still free, otherwise on a new one (see
    /// `url`). `200` also when it was running already; `409` before
    /// `POST /api/lab/cluster`.
    #[oai(
        path = "/lab/cluster/:name/start",
        method = "post",
        tag = "crate::lab::LabTags::Lab"
    )]
    async fn restart(
        &self,
        /// `A` or `B`.
        name: Path<InstanceName>,
    ) -> Result<Json<ClusterStatus>, ApiError> {
        self.lab.touch();
        self.lab
            .restart(name.0, self.lab.page_origins.clone())
            .await?;
        Ok(Json(self.lab.status(&self.backplane).await))
    }
}

impl ClusterLabApi {
    fn redis_required(&self) -> Result<(), ApiError> {
        self.lab.redis().map(|_| ())
    }
}
