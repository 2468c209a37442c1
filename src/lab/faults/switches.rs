//! The fault switches one learner can set (`PUT /api/faults`): what stays on
//! until they turn it off, as opposed to the one-off actions (deploy,
//! half-open). All off by default.

use std::time::Duration;

use poem_openapi::{Enum, Object};

/// How the "gzip on the stream" switch compresses SSE.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Gzip {
    /// No compression: what an event stream should have.
    #[default]
    Off,
    /// Compressed as a naive compression layer does: events wait in the
    /// encoder until its buffer fills (tens of kilobytes) or the stream ends.
    Buffered,
    /// Compressed with a sync flush after every write: each event leaves at
    /// once, still compressed.
    Flushed,
}

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
    /// Compress my SSE streams with gzip: `off`, `buffered` (events pile up
    /// in the encoder) or `flushed` (a sync flush after each event).
    #[oai(default)]
    pub gzip: Gzip,
    /// Put a corporate proxy between me and the server: it refuses WebSocket
    /// upgrades (`403`) and buffers responses until 4 KiB have arrived or the
    /// response ends, so SSE stalls and then arrives in bursts; polling and
    /// long-polling answers pass unchanged.
    #[oai(default)]
    pub corporate_proxy: bool,
    /// Make my long-polls fail: every `GET /api/long-poll` of mine is
    /// answered at once with `503 Service Unavailable` (a problem document,
    /// `Retry-After: 1`) until I turn this off. The server cannot know when
    /// an overload ends, so `Retry-After` is a floor, not a schedule.
    #[oai(default)]
    pub long_poll_unavailable: bool,
}

impl poem_openapi::types::Example for FaultSwitches {
    fn example() -> Self {
        FaultSwitches {
            idle_timeout_s: 30,
            buffer_s: 0,
            latency_ms: 0,
            gzip: Gzip::Off,
            corporate_proxy: false,
            long_poll_unavailable: false,
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

    pub(super) fn validate(&self) -> Result<(), OutOfRange> {
        if self.idle_timeout_s > 300 {
            return Err(OutOfRange::IdleTimeout);
        }
        if self.buffer_s > 60 {
            return Err(OutOfRange::Buffer);
        }
        if self.latency_ms > 10_000 {
            return Err(OutOfRange::Latency);
        }
        Ok(())
    }
}

/// A switch set beyond its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutOfRange {
    #[error("idle_timeout_s must be 0 (off) to 300.")]
    IdleTimeout,
    #[error("buffer_s must be 0 (off) to 60.")]
    Buffer,
    #[error("latency_ms must be 0 (off) to 10000.")]
    Latency,
}
