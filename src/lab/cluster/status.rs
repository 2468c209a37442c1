//! What the cluster lab reports: whether it can run here, and each
//! instance as the page sees it (state, port, URL, what happened to it).

use poem_openapi::{Enum, Object};

use super::IDLE_LIMIT;
use crate::backplane::BackplaneStatus;

/// One of the two instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum InstanceName {
    A,
    B,
}

impl InstanceName {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceName::A => "A",
            InstanceName::B => "B",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum InstanceState {
    /// The process runs and answers on its port.
    Running,
    /// Killed (or exited); `POST /api/lab/cluster/{name}/start` starts it again.
    Stopped,
}

/// One instance as the page sees it.
#[derive(Debug, Clone, Object)]
pub struct Instance {
    /// `A` or `B`.
    pub name: InstanceName,
    pub state: InstanceState,
    /// TCP port on 127.0.0.1. Kept while stopped: a restart takes it again if it is free.
    pub port: u16,
    /// Where a page reaches it, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// Process id while running.
    #[oai(skip_serializing_if_is_none)]
    pub pid: Option<u32>,
    /// When it last started (RFC 3339).
    pub started_at: String,
    /// What happened to it, in a sentence (while stopped).
    #[oai(skip_serializing_if_is_none)]
    pub note: Option<String>,
}

/// The cluster lab: whether it can run here, and its instances.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ClusterStatus {
    /// Whether this server can start instances (it runs with `--redis-url`).
    pub available: bool,
    /// How to make it available (only when it is not).
    #[oai(skip_serializing_if_is_none)]
    pub hint: Option<String>,
    /// The Redis the instances share (password hidden).
    #[oai(skip_serializing_if_is_none)]
    pub redis_url: Option<String>,
    /// This server's own backplane; the instances use the same Redis.
    pub backplane: BackplaneStatus,
    /// `A` and `B` once started; empty before `POST /api/lab/cluster`.
    pub instances: Vec<Instance>,
    /// Seconds without a request to `/api/lab/cluster` after which the instances are stopped.
    pub idle_limit_s: u64,
    /// The `retry:` delay, in milliseconds, the instances send to SSE clients.
    pub sse_retry_ms: u64,
    /// Seconds between the instances' SSE heartbeat comments.
    pub sse_heartbeat_s: u64,
    /// Seconds between the instances' WebSocket pings.
    pub ws_ping_interval_s: u64,
}

impl poem_openapi::types::Example for ClusterStatus {
    fn example() -> Self {
        let instance = |name, port, pid| Instance {
            name,
            state: InstanceState::Running,
            port,
            url: format!("http://127.0.0.1:{port}"),
            pid: Some(pid),
            started_at: "2026-11-26T09:30:00.000Z".into(),
            note: None,
        };
        ClusterStatus {
            available: true,
            hint: None,
            redis_url: Some("redis://127.0.0.1:6379/".into()),
            backplane: <BackplaneStatus as poem_openapi::types::Example>::example(),
            instances: vec![
                instance(InstanceName::A, 40123, 5123),
                instance(InstanceName::B, 40124, 5124),
            ],
            idle_limit_s: IDLE_LIMIT.as_secs(),
            sse_retry_ms: 2000,
            sse_heartbeat_s: 15,
            ws_ping_interval_s: 20,
        }
    }
}
