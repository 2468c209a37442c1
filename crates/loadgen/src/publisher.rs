//! Publishers: `POST /api/events` with the publisher's clock in the data
//! (`{"sent_us": <unix µs>}`), which every client subtracts from its own.
//!
//! Two ways: `spawn_all` keeps a total rate until cancelled (each
//! publisher waits for its `202` before the next, and catches up missed
//! ticks, so the report's published/s says what the server let through);
//! `fanout` sends a few events one at a time, far apart, so each one's
//! trip to every client is measured alone.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::clock::now_us;
use crate::shared::Shared;

/// Publishes one event; the error is a short kind and a message.
async fn publish(
    shared: &Shared,
    http: &reqwest::Client,
    learner: &str,
) -> Result<(), (String, String)> {
    let t0 = Instant::now();
    let body = serde_json::json!({
        "topic": shared.topic,
        "type": "load",
        "data": {"sent_us": now_us()},
    });
    let res = http
        .post(format!("{}/api/events", shared.base))
        .header("X-Learner", learner)
        .json(&body)
        .send()
        .await
        .map_err(|e| ("connect".to_string(), e.to_string()))?;
    let status = res.status().as_u16();
    // Read the body, so the connection goes back to the pool.
    let text = res.text().await.unwrap_or_default();
    if status != 202 {
        return Err((format!("status {status}"), text));
    }
    shared.published.fetch_add(1, Relaxed);
    if shared.measuring() {
        shared.published_in_window.fetch_add(1, Relaxed);
        shared
            .publish_latency
            .record(t0.elapsed().as_micros() as u64);
    }
    Ok(())
}

/// Starts `n` publishers sharing `rate` events/s; cancel the token to stop them.
pub(crate) fn spawn_all(
    shared: &Arc<Shared>,
    http: &reqwest::Client,
    n: usize,
    rate: u32,
) -> CancellationToken {
    let stop = shared.stop.child_token();
    if n == 0 || rate == 0 {
        return stop;
    }
    let every = Duration::from_secs_f64(n as f64 / f64::from(rate));
    for i in 0..n {
        let (shared, http, stop) = (shared.clone(), http.clone(), stop.clone());
        tokio::spawn(async move {
            let learner = format!("{}publisher-{i}", shared.learner_prefix);
            // Spread the publishers over one period.
            let first = Instant::now() + every.mul_f64(i as f64 / n as f64);
            let mut tick = tokio::time::interval_at(first, every);
            tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => return,
                }
                let sent = tokio::select! {
                    r = publish(&shared, &http, &learner) => r,
                    _ = stop.cancelled() => return,
                };
                if let Err((kind, detail)) = sent {
                    shared.publish_error(&kind, detail);
                    // Do not hammer a server that refuses.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
    }
    stop
}

/// Publishes `events` events, `gap` apart, one at a time.
pub(crate) async fn fanout(shared: &Shared, http: &reqwest::Client, events: u32, gap: Duration) {
    for i in 0..events {
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        let learner = format!("{}fanout", shared.learner_prefix);
        if let Err((kind, detail)) = publish(shared, http, &learner).await {
            shared.publish_error(&kind, detail);
        }
    }
}
