//! Benchmark: idle short-polling throughput with the traffic log on and off.
//!
//! Run with `cargo bench --bench capture`. Both servers run in this process
//! and are driven by the same keep-alive HTTP clients, one after the other,
//! in alternating rounds; the ratio of the medians is what matters (target:
//! capture on ≥ 0.9 × capture off).

use std::time::{Duration, Instant};

use realtime_playground::{Config, bind};

const CLIENTS: usize = 32;
const ROUND: Duration = Duration::from_secs(2);
const ROUNDS: usize = 7;

async fn start(capture: bool) -> (String, tokio::sync::oneshot::Sender<()>) {
    let config = Config {
        no_traffic_log: !capture,
        ..Config::for_tests()
    };
    let server = bind(config).await.expect("bind");
    let base = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (base, stop)
}

/// Requests per second over one round.
async fn round(base: &str) -> f64 {
    let url = format!("{base}/api/poll?since=0");
    let deadline = Instant::now() + ROUND;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let url = url.clone();
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            let mut done = 0u64;
            while Instant::now() < deadline {
                let res = http
                    .get(&url)
                    .header("X-Learner", format!("bench-{i}"))
                    .send()
                    .await
                    .expect("poll");
                assert_eq!(res.status(), 204);
                done += 1;
            }
            done
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.expect("client");
    }
    total as f64 / ROUND.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (off_url, _off) = start(false).await;
        let (on_url, _on) = start(true).await;
        // Warm both up (connection pools, allocator).
        round(&off_url).await;
        round(&on_url).await;
        let (mut off, mut on) = (Vec::new(), Vec::new());
        println!(
            "idle polling (204), {CLIENTS} keep-alive clients, {ROUNDS} rounds of {ROUND:?} each"
        );
        for r in 1..=ROUNDS {
            // Alternate which goes first, so drift in the machine's speed cancels out.
            let (a, b) = if r % 2 == 0 {
                let b = round(&on_url).await;
                (round(&off_url).await, b)
            } else {
                let a = round(&off_url).await;
                (a, round(&on_url).await)
            };
            println!(
                "  round {r}: capture off {a:>9.0} req/s   capture on {b:>9.0} req/s   ratio {:.3}",
                b / a
            );
            off.push(a);
            on.push(b);
        }
        let (off, on) = (median(off), median(on));
        let ratio = on / off;
        println!();
        println!("| traffic log | polls/s (median) |");
        println!("|---|---|");
        println!("| off | {off:.0} |");
        println!("| on  | {on:.0} |");
        println!();
        println!(
            "capture on / off = {ratio:.3} (target ≥ 0.900): {}",
            if ratio >= 0.9 { "met" } else { "NOT MET" }
        );
    });
}
