//! What one run may spend: time, bytes read and connections opened. Every
//! read and every connection goes through the run's [`Budget`], so a server
//! that never answers, never ends or floods bytes costs a bounded amount.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Longest a whole run takes; `POST /api/grader/runs` answers within it.
pub const RUN_DEADLINE: Duration = Duration::from_secs(20);
/// Longest wait for one answer (headers, an event, a frame).
pub const ANSWER_PATIENCE: Duration = Duration::from_secs(3);
/// Most bytes a run reads from the server, all connections together.
pub const MAX_BYTES: u64 = 1024 * 1024;
/// Most connections (HTTP requests and sockets) a run opens.
pub const MAX_CONNECTIONS: u32 = 16;

/// Why the budget said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    Bytes,
    Connections,
}

impl Spent {
    pub fn sentence(self) -> String {
        match self {
            Spent::Bytes => format!(
                "The server sent more than the run reads ({} KiB), so the grader stopped reading.",
                MAX_BYTES / 1024
            ),
            Spent::Connections => {
                format!("The run opened its {MAX_CONNECTIONS} connections and may open no more.")
            }
        }
    }
}

/// One run's allowance. Cheap to clone; clones share the counts.
#[derive(Clone)]
pub struct Budget {
    deadline: Instant,
    bytes: Arc<AtomicU64>,
    connections: Arc<AtomicU32>,
}

impl Budget {
    pub fn start() -> Self {
        Budget {
            deadline: Instant::now() + RUN_DEADLINE,
            bytes: Arc::default(),
            connections: Arc::default(),
        }
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// When a wait of `patience` from now must end: never after the deadline.
    pub fn within(&self, patience: Duration) -> Instant {
        (Instant::now() + patience).min(self.deadline)
    }

    /// Counts `n` bytes read; `Err` once the run has read too much.
    pub fn read(&self, n: usize) -> Result<(), Spent> {
        let total = self.bytes.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > MAX_BYTES {
            Err(Spent::Bytes)
        } else {
            Ok(())
        }
    }

    /// Takes one connection; `Err` once the run has opened its share.
    pub fn connect(&self) -> Result<(), Spent> {
        let n = self.connections.fetch_add(1, Ordering::Relaxed) + 1;
        if n > MAX_CONNECTIONS {
            Err(Spent::Connections)
        } else {
            Ok(())
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes
            .load(Ordering::Relaxed)
            .min(MAX_BYTES + 64 * 1024)
    }

    pub fn connections(&self) -> u32 {
        self.connections
            .load(Ordering::Relaxed)
            .min(MAX_CONNECTIONS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_and_connections_run_out() {
        let b = Budget::start();
        assert!(b.read(MAX_BYTES as usize).is_ok());
        assert_eq!(b.clone().read(1), Err(Spent::Bytes));
        for _ in 0..MAX_CONNECTIONS {
            assert!(b.connect().is_ok());
        }
        assert_eq!(b.connect(), Err(Spent::Connections));
        assert!(b.within(Duration::from_secs(3600)) <= b.deadline());
    }
}
