//! Fault switches: make each transport's weak spot visible, for one learner
//! at a time (their own streams and sockets only).
//!
//! - idle-timeout killer: close a stream that wrote nothing for N seconds,
//!   as a proxy with an idle timeout would (heartbeats keep it alive);
//! - buffering proxy: hold events and release them in bursts every N seconds,
//!   as an unconfigured nginx in front of an SSE stream would;
//! - added latency: delay every delivery by N milliseconds;
//! - gzip on the stream: compress SSE, which holds events in the encoder.
//!
//! Streams read the switches when they open; "reset" turns them all off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::problem::ApiError;
use crate::traffic::Learner;

/// Most learners with switches set at once.
const MAX_LEARNERS: usize = 10_000;

/// The switches of one learner. All off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Object)]
#[oai(example)]
pub struct FaultSwitches {
    /// Close my SSE streams and WebSockets after this many seconds without a
    /// byte written (0 = off, 1–300).
    #[oai(default, validator(maximum(value = "300")))]
    pub idle_timeout_s: u64,
    /// Hold my SSE events and release them in bursts every this many seconds
    /// (0 = off, 1–60).
    #[oai(default, validator(maximum(value = "60")))]
    pub buffer_s: u64,
    /// Delay every event delivered to my streams and sockets by this many
    /// milliseconds (0 = off, up to 10000).
    #[oai(default, validator(maximum(value = "10000")))]
    pub latency_ms: u64,
    /// Compress my SSE streams with gzip (watch the events pile up).
    #[oai(default)]
    pub gzip: bool,
}

impl poem_openapi::types::Example for FaultSwitches {
    fn example() -> Self {
        FaultSwitches {
            idle_timeout_s: 30,
            buffer_s: 0,
            latency_ms: 0,
            gzip: false,
        }
    }
}

impl FaultSwitches {
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_s > 0).then(|| Duration::from_secs(self.idle_timeout_s))
    }

    pub fn buffer(&self) -> Option<Duration> {
        (self.buffer_s > 0).then(|| Duration::from_secs(self.buffer_s))
    }

    pub fn latency(&self) -> Option<Duration> {
        (self.latency_ms > 0).then(|| Duration::from_millis(self.latency_ms))
    }

    fn validate(&self) -> Result<(), String> {
        if self.idle_timeout_s > 300 {
            return Err("idle_timeout_s must be 0 (off) to 300.".into());
        }
        if self.buffer_s > 60 {
            return Err("buffer_s must be 0 (off) to 60.".into());
        }
        if self.latency_ms > 10_000 {
            return Err("latency_ms must be 0 (off) to 10000.".into());
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct Faults {
    by_learner: Mutex<HashMap<Arc<str>, FaultSwitches>>,
}

impl Faults {
    pub fn of(&self, learner: &str) -> FaultSwitches {
        self.by_learner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(learner)
            .copied()
            .unwrap_or_default()
    }

    fn set(&self, learner: &Arc<str>, switches: FaultSwitches) -> Result<(), String> {
        let mut map = self.by_learner.lock().unwrap_or_else(|p| p.into_inner());
        if switches == FaultSwitches::default() {
            map.remove(learner);
            return Ok(());
        }
        if !map.contains_key(learner) && map.len() >= MAX_LEARNERS {
            return Err("Too many learners have fault switches on; try again later.".into());
        }
        map.insert(learner.clone(), switches);
        Ok(())
    }
}

pub struct FaultsApi {
    pub faults: Arc<Faults>,
}

#[OpenApi]
impl FaultsApi {
    /// My fault switches
    #[oai(path = "/faults", method = "get", tag = "super::LabTags::Lab")]
    async fn get(&self, learner: Learner) -> Json<FaultSwitches> {
        Json(self.faults.of(&learner.id))
    }

    /// Set my fault switches
    ///
    /// They apply to SSE streams and WebSockets you open from now on. Send
    /// all zeros (or `DELETE`) to reset.
    #[oai(path = "/faults", method = "put", tag = "super::LabTags::Lab")]
    async fn put(
        &self,
        learner: Learner,
        body: Json<FaultSwitches>,
    ) -> Result<Json<FaultSwitches>, ApiError> {
        body.0.validate().map_err(ApiError::bad_request)?;
        self.faults
            .set(&learner.id, body.0)
            .map_err(|m| ApiError::too_many_requests(m, 60))?;
        Ok(Json(body.0))
    }

    /// Reset my fault switches
    #[oai(path = "/faults", method = "delete", tag = "super::LabTags::Lab")]
    async fn reset(&self, learner: Learner) -> Json<FaultSwitches> {
        let _ = self.faults.set(&learner.id, FaultSwitches::default());
        Json(FaultSwitches::default())
    }
}
