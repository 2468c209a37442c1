//! One storm, start to end: connect every client, drop them all at once
//! with the drop machinery (`POST /api/connections/drop` does the same),
//! and note when each one is back.
//!
//! Time zero is the drop. Each client notices its connection end, waits as
//! its strategy says (its own seeded random numbers, so a seed replays the
//! same waits), connects again, reports, and holds the new connection until
//! the storm is over, so the server carries them all the way real clients
//! would.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{Connection, StormTransport, Target, connect};
use super::strategy::Strategy;
use crate::drops::Drops;
use crate::traffic::Transport;

/// How long every client together may take to connect before the drop.
const CONNECT_PHASE: Duration = Duration::from_secs(15);
/// How long one connection attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// After the drop, clients not back within this are counted as lost.
pub const RECONNECT_DEADLINE: Duration = Duration::from_secs(30);
/// Distinct errors kept for the report.
const KEPT_ERRORS: usize = 10;

/// What a storm does.
pub struct Plan {
    pub target: Target,
    pub clients: usize,
    pub strategy: Strategy,
    pub retry: Duration,
    pub seed: u64,
}

/// What the storm saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Clients connected when the drop came.
    pub connected: u32,
    /// Connections the drop reached.
    pub dropped: u32,
    /// Milliseconds from the drop to each client's new connection.
    pub reconnect_ms: Vec<f64>,
    /// Reconnect attempts, failed ones included.
    pub attempts: u32,
    pub errors: Vec<String>,
}

impl Outcome {
    fn error(&mut self, err: String) {
        if self.errors.len() < KEPT_ERRORS && !self.errors.contains(&err) {
            self.errors.push(err);
        }
    }
}

/// One client's report after the drop.
struct Back {
    reconnect_ms: Option<f64>,
    attempts: u32,
    error: Option<String>,
}

/// Runs the storm; returns early (with what it has) if `stop` is cancelled.
pub async fn run(plan: Plan, drops: Arc<Drops>, stop: CancellationToken) -> Outcome {
    let plan = Arc::new(plan);
    let mut outcome = Outcome::default();
    let (ready_tx, mut ready) = mpsc::channel(plan.clients);
    let (back_tx, mut back) = mpsc::channel(plan.clients);
    let drop_at = Arc::new(OnceLock::new());
    let done = stop.child_token();
    let mut clients = JoinSet::new();
    for n in 0..plan.clients {
        let client = Client {
            plan: plan.clone(),
            n,
            drop_at: drop_at.clone(),
            done: done.clone(),
        };
        let (ready_tx, back_tx) = (ready_tx.clone(), back_tx.clone());
        clients.spawn(async move { client.run(ready_tx, back_tx).await });
    }
    drop((ready_tx, back_tx));

    let connect_by = Instant::now() + CONNECT_PHASE;
    for _ in 0..plan.clients {
        match tokio::time::timeout_at(connect_by, ready.recv()).await {
            Ok(Some(Ok(()))) => outcome.connected += 1,
            Ok(Some(Err(err))) => outcome.error(err),
            Ok(None) | Err(_) => break,
        }
    }
    if outcome.connected > 0 && !done.is_cancelled() {
        let transport = match plan.target.transport {
            StormTransport::Sse => Transport::Sse,
            StormTransport::Websocket => Transport::Websocket,
        };
        let learner: Arc<str> = Arc::from(plan.target.learner.to_str().unwrap_or_default());
        let _ = drop_at.set(Instant::now());
        outcome.dropped = drops.drop_connections(&learner, transport) as u32;
        let back_by = Instant::now() + RECONNECT_DEADLINE + ATTEMPT_TIMEOUT;
        for _ in 0..outcome.connected {
            let report = tokio::select! {
                r = tokio::time::timeout_at(back_by, back.recv()) => r,
                _ = done.cancelled() => break,
            };
            let Ok(Some(report)) = report else { break };
            outcome.attempts += report.attempts;
            if let Some(ms) = report.reconnect_ms {
                outcome.reconnect_ms.push(ms);
            }
            if let Some(err) = report.error {
                outcome.error(err);
            }
        }
    }
    done.cancel();
    clients.shutdown().await;
    outcome
}

struct Client {
    plan: Arc<Plan>,
    n: usize,
    drop_at: Arc<OnceLock<Instant>>,
    done: CancellationToken,
}

impl Client {
    async fn run(self, ready: mpsc::Sender<Result<(), String>>, back: mpsc::Sender<Back>) {
        let connected = tokio::time::timeout(CONNECT_PHASE, connect(&self.plan.target, self.n))
            .await
            .unwrap_or_else(|_| Err("connect: timed out".into()));
        let mut connection = match connected {
            Ok(c) => c,
            Err(err) => {
                let _ = ready.send(Err(err)).await;
                return;
            }
        };
        let _ = ready.send(Ok(())).await;
        tokio::select! {
            _ = connection.closed() => {}
            _ = self.done.cancelled() => return,
        }
        drop(connection);
        let report = match self.drop_at.get() {
            Some(dropped) => self.come_back(*dropped).await,
            None => (
                Back {
                    reconnect_ms: None,
                    attempts: 0,
                    error: Some("the connection ended before the drop".into()),
                },
                None,
            ),
        };
        let (report, held) = report;
        let _ = back.send(report).await;
        // Stay connected until the storm is over, as a real client would.
        self.done.cancelled().await;
        drop(held);
    }

    /// Waits and reconnects until it works or the deadline passes.
    async fn come_back(&self, dropped: Instant) -> (Back, Option<Connection>) {
        let plan = &self.plan;
        // Each client its own stream of random numbers, the same for the same seed.
        let mut rng = fastrand::Rng::with_seed(plan.seed.wrapping_add(self.n as u64));
        let deadline = dropped + RECONNECT_DEADLINE;
        let mut report = Back {
            reconnect_ms: None,
            attempts: 0,
            error: None,
        };
        for attempt in 1.. {
            let at = Instant::now() + plan.strategy.wait(attempt, plan.retry, &mut rng);
            if at >= deadline {
                report.error = Some("not back within 30 s".into());
                return (report, None);
            }
            tokio::time::sleep_until(at).await;
            report.attempts += 1;
            match tokio::time::timeout(ATTEMPT_TIMEOUT, connect(&plan.target, self.n)).await {
                Ok(Ok(connection)) => {
                    report.reconnect_ms = Some(dropped.elapsed().as_secs_f64() * 1000.0);
                    return (report, Some(connection));
                }
                Ok(Err(err)) => report.error = Some(err),
                Err(_) => report.error = Some("reconnect: timed out".into()),
            }
        }
        (report, None)
    }
}
