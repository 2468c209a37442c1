//! Soak test: the release server under minutes of mixed, realistic load.
//!
//! Unit and integration tests prove each transport right for a few events;
//! they cannot show a slow leak, a connection that is never released or an
//! event lost once in ten thousand reconnects. This tool starts the release
//! binary as a child process and, for `--minutes` (default 10), drives it
//! the way a classroom would: short pollers, long-pollers, SSE clients that
//! reconnect with `Last-Event-ID` (as `EventSource` does), WebSocket clients
//! that reconnect and resubscribe with `since` (as the lesson code does),
//! steady publishers, and random drops from both ends.
//!
//! Every client records every event id it receives; every id the publishers
//! got back in a `202` must reach every client (the replay buffer is sized so
//! reconnects never fall off it, so the right number of lost events is 0).
//! The server's RSS and CPU time are sampled from `/proc`. The verdict:
//! RSS growth after warm-up < 5 %, 0 errors, 0 lost, and 0 open connections
//! once the clients are gone. Results go to `target/soak/result.json` and
//! (unless `--no-record`) to `bench/SOAK.md` with a machine description.
//!
//! Run it with `bench/soak.sh`, or:
//! `cargo build --release && cargo run --release --example soak -- --minutes 10`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use eventsource_stream::Eventsource;
use futures_util::{SinkExt, StreamExt};
use loadgen::procfs;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Notify;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

/// Topic every soak event is published on and every client follows.
const TOPIC: &str = "soak";
/// Most error messages kept verbatim (all are counted).
const KEPT_ERRORS: usize = 30;

/// Mixed-load soak test of the release server.
#[derive(Debug, Clone, Parser)]
struct Args {
    /// Length of the run in minutes.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Length of the run in seconds (overrides --minutes; for quick checks).
    #[arg(long)]
    seconds: Option<u64>,
    /// Short pollers (one request a second each).
    #[arg(long, default_value_t = 20)]
    pollers: usize,
    /// Long-pollers.
    #[arg(long, default_value_t = 20)]
    long_pollers: usize,
    /// SSE clients.
    #[arg(long, default_value_t = 50)]
    sse: usize,
    /// WebSocket clients.
    #[arg(long, default_value_t = 50)]
    websockets: usize,
    /// Publishers (they share --rate).
    #[arg(long, default_value_t = 2)]
    publishers: usize,
    /// Events per second, all publishers together.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Milliseconds between two random drops.
    #[arg(long, default_value_t = 2000)]
    drop_every_ms: u64,
    /// Seconds between two RSS/CPU samples.
    #[arg(long, default_value_t = 5)]
    sample_secs: u64,
    /// Replay buffer of the server, in events (filled before the warm-up ends).
    #[arg(long, default_value_t = 5000)]
    replay_buffer: u64,
    /// The server binary.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/realtime-playground"))]
    server: PathBuf,
    /// Where the JSON result goes.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/target/soak/result.json"))]
    json: PathBuf,
    /// Markdown record of the run.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/SOAK.md"))]
    record: PathBuf,
    /// Do not write the markdown record (quick checks).
    #[arg(long)]
    no_record: bool,
}

impl Args {
    fn duration(&self) -> Duration {
        match self.seconds {
            Some(s) => Duration::from_secs(s),
            None => Duration::from_secs_f64(self.minutes * 60.0),
        }
    }

    /// First 60 s, or the first 10 % of a shorter run.
    fn warm_up(&self) -> Duration {
        (self.duration() / 10).min(Duration::from_secs(60))
    }
}

// ---------------------------------------------------------------- server

/// The release server, run as a child process.
struct Server {
    child: tokio::process::Child,
    pid: u32,
    base: String,
    log: PathBuf,
}

impl Server {
    async fn start(args: &Args, out_dir: &std::path::Path) -> Result<Server, String> {
        if !args.server.exists() {
            return Err(format!(
                "{} is missing: run `cargo build --release` first",
                args.server.display()
            ));
        }
        let log = out_dir.join("server.log");
        let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new(&args.server)
            .args([
                "--port",
                "0",
                "--feeds-paused",
                "--ephemeral",
                "--event-ids",
                "from-one",
            ])
            .args(["--replay-buffer", &args.replay_buffer.to_string()])
            .args(["--publish-rate-per-learner", "100000"])
            .args(["--publish-rate-per-address", "100000"])
            .args(["--publish-rate-total", "100000"])
            .args(["--sse-heartbeat-secs", "5", "--sse-retry-ms", "1000"])
            .args(["--ws-ping-interval-secs", "10"])
            .args(["--long-poll-max-timeout-secs", "60"])
            .env("RUST_LOG", "realtime_playground=warn,poem=warn")
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", args.server.display()))?;
        let pid = child.id().ok_or("the server exited at once")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(port) = line.strip_prefix("realtime-playground is running on port ") {
                    return port.trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or("the server did not print its port")?;
        // Keep reading so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            pid,
            base: format!("http://127.0.0.1:{port}"),
            log,
        })
    }

    /// SIGTERM, then the exit status (SIGKILL after 10 s).
    async fn stop(mut self) -> String {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            _ => {
                let _ = self.child.kill().await;
                "did not stop within 10 s of SIGTERM (killed)".into()
            }
        }
    }
}

/// One `/proc` reading of the server.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at_secs: f64,
    rss_kb: u64,
    cpu_ticks: u64,
    open_connections: u64,
}

// ---------------------------------------------------------------- shared state

/// Counters and the kept error messages of the whole run.
#[derive(Default)]
struct Tally {
    errors: AtomicU64,
    error_messages: Mutex<Vec<String>>,
    server_drops: AtomicU64,
    server_dropped_connections: AtomicU64,
    client_cuts: AtomicU64,
    requests: AtomicU64,
}

impl Tally {
    fn error(&self, who: &str, what: impl std::fmt::Display) {
        self.errors.fetch_add(1, Relaxed);
        let mut kept = self.error_messages.lock().unwrap();
        if kept.len() < KEPT_ERRORS {
            kept.push(format!("{who}: {what}"));
        }
    }
}

/// Everything the tasks share.
struct Ctx {
    base: String,
    tally: Tally,
    /// Ids the publishers got back in their `202`s.
    published: Mutex<Vec<u64>>,
    /// Stops the publishers and the dropper.
    stop_load: CancellationToken,
    /// Stops the clients.
    stop_clients: CancellationToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Poll,
    LongPoll,
    Sse,
    WebSocket,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Poll => "poll",
            Kind::LongPoll => "long-poll",
            Kind::Sse => "sse",
            Kind::WebSocket => "websocket",
        }
    }
}

/// One client: who it is, what it received, and the knobs the dropper turns.
struct Client {
    kind: Kind,
    learner: String,
    /// The client wants every event after this id.
    start: u64,
    received: Mutex<Vec<u64>>,
    max_seen: AtomicU64,
    /// Connections (or requests, for pollers) made.
    connections: AtomicU64,
    /// Bumped before each server-side drop of this learner's streams.
    server_drops: AtomicU64,
    /// Tells the client to cut its own connection.
    cut: Notify,
}

impl Client {
    /// Whether the server was asked to drop this client's streams since
    /// `before`; waits a moment for a drop request still being answered.
    async fn was_dropped_since(&self, before: u64) -> bool {
        for _ in 0..10 {
            if self.server_drops.load(Relaxed) != before {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    fn got(&self, id: u64) {
        self.received.lock().unwrap().push(id);
        self.max_seen.fetch_max(id, Relaxed);
    }
}

// ---------------------------------------------------------------- clients

/// What one poll or long-poll answered.
struct Answer {
    ids: Vec<u64>,
    next: u64,
    more: bool,
}

async fn ask(http: &reqwest::Client, c: &Client, url: &str, since: u64) -> Result<Answer, String> {
    let res = http
        .get(url)
        .header("X-Learner", &c.learner)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match res.status().as_u16() {
        200 => {
            let body: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
            if body.get("reset").is_some() {
                return Err(format!("reset: {}", body["reset"]));
            }
            let ids = body["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["id"].as_u64())
                .collect();
            Ok(Answer {
                ids,
                next: body["last_id"].as_u64().ok_or("no last_id")?,
                more: body["more"].as_bool().unwrap_or(false),
            })
        }
        204 => {
            let next = res
                .headers()
                .get("x-last-event-id")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(since);
            Ok(Answer {
                ids: Vec::new(),
                next,
                more: false,
            })
        }
        status => Err(format!(
            "status {status}: {}",
            res.text().await.unwrap_or_default()
        )),
    }
}

/// A short poller (every second) or a long-poller (asks again at once).
async fn run_poller(c: Arc<Client>, ctx: Arc<Ctx>) {
    let http = reqwest::Client::new();
    let long = c.kind == Kind::LongPoll;
    let mut since = c.start;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut wait = !long;
    let stop = ctx.stop_clients.clone();
    loop {
        if wait {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
        }
        let url = if long {
            format!(
                "{}/api/long-poll?since={since}&topics={TOPIC}&timeout=10&limit=1000",
                ctx.base
            )
        } else {
            format!(
                "{}/api/poll?since={since}&topics={TOPIC}&limit=1000",
                ctx.base
            )
        };
        c.connections.fetch_add(1, Relaxed);
        ctx.tally.requests.fetch_add(1, Relaxed);
        let answer = tokio::select! {
            a = ask(&http, &c, &url, since) => a,
            // A long-poll the client gives up on, as a closed tab does.
            _ = c.cut.notified(), if long => continue,
            _ = stop.cancelled() => return,
        };
        match answer {
            Ok(a) => {
                a.ids.iter().for_each(|id| c.got(*id));
                since = a.next;
                wait = !long && !a.more;
            }
            Err(e) => {
                ctx.tally.error(&c.learner, e);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    }
}

/// How a stream ended.
enum End {
    /// The client cut it on purpose.
    Cut,
    /// The server closed it (fine only right after a drop request).
    Closed(String),
}

/// An SSE client that behaves like `EventSource`: honours `retry:` and
/// resumes with `Last-Event-ID`.
async fn run_sse(c: Arc<Client>, ctx: Arc<Ctx>) {
    let http = reqwest::Client::new();
    let stop = ctx.stop_clients.clone();
    let mut last = c.start;
    let mut retry = Duration::from_secs(3);
    loop {
        let drops_before = c.server_drops.load(Relaxed);
        let sent = http
            .get(format!("{}/api/sse?topics={TOPIC}", ctx.base))
            .header("X-Learner", &c.learner)
            .header("Last-Event-ID", last.to_string())
            .send();
        let res = tokio::select! {
            r = sent => r,
            _ = stop.cancelled() => return,
        };
        c.connections.fetch_add(1, Relaxed);
        let end = match res {
            Err(e) => End::Closed(format!("connect: {e}")),
            Ok(res) if res.status() != 200 => End::Closed(format!("status {}", res.status())),
            Ok(res) => {
                // eventsource-stream drops a block holding only `retry:`; read it off the bytes.
                let seen_retry = Arc::new(Mutex::new(None::<u64>));
                let note = seen_retry.clone();
                let raw = res.bytes_stream().inspect(move |chunk| {
                    if let Ok(bytes) = chunk
                        && let Some(ms) = std::str::from_utf8(bytes)
                            .ok()
                            .and_then(|t| t.strip_prefix("retry: "))
                            .and_then(|t| t.lines().next()?.trim().parse().ok())
                    {
                        *note.lock().unwrap() = Some(ms);
                    }
                });
                let mut events = raw.eventsource();
                let end = loop {
                    tokio::select! {
                        biased;
                        _ = stop.cancelled() => return,
                        _ = c.cut.notified() => break End::Cut,
                        item = events.next() => match item {
                            None => break End::Closed("stream ended".into()),
                            Some(Err(e)) => break End::Closed(format!("stream error: {e}")),
                            Some(Ok(e)) if e.event == "reset" => {
                                ctx.tally.error(&c.learner, format!("reset: {}", e.data));
                            }
                            Some(Ok(e)) => match e.id.parse::<u64>() {
                                Ok(id) => {
                                    c.got(id);
                                    last = id;
                                }
                                Err(_) => ctx.tally.error(&c.learner, format!("event without id: {e:?}")),
                            },
                        }
                    }
                };
                if let Some(ms) = *seen_retry.lock().unwrap() {
                    retry = Duration::from_millis(ms);
                }
                end
            }
        };
        if let End::Closed(why) = end
            && !c.was_dropped_since(drops_before).await
        {
            ctx.tally.error(&c.learner, why);
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// A WebSocket client like the lesson code: on close it reconnects after a
/// short random backoff and resubscribes with `since` = the last id it saw.
async fn run_websocket(c: Arc<Client>, ctx: Arc<Ctx>) {
    let stop = ctx.stop_clients.clone();
    let url = format!("{}/api/ws", ctx.base.replacen("http", "ws", 1));
    let mut last = c.start;
    loop {
        let drops_before = c.server_drops.load(Relaxed);
        let mut req = url.as_str().into_client_request().expect("ws url");
        req.headers_mut()
            .insert("X-Learner", c.learner.parse().expect("learner header"));
        let connected = tokio::select! {
            r = tokio_tungstenite::connect_async(req) => r,
            _ = stop.cancelled() => return,
        };
        c.connections.fetch_add(1, Relaxed);
        let end = match connected {
            Err(e) => End::Closed(format!("connect: {e}")),
            Ok((mut ws, _)) => {
                let subscribe = json!({"type": "subscribe", "topics": [TOPIC], "since": last});
                if let Err(e) = ws.send(Message::text(subscribe.to_string())).await {
                    ctx.tally.error(&c.learner, format!("subscribe: {e}"));
                }
                loop {
                    tokio::select! {
                        biased;
                        _ = stop.cancelled() => {
                            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                            return;
                        }
                        // Dropping the socket without a close frame: a vanished client.
                        _ = c.cut.notified() => break End::Cut,
                        msg = ws.next() => match msg {
                            None => break End::Closed("closed without a close frame".into()),
                            Some(Err(e)) => break End::Closed(format!("socket error: {e}")),
                            Some(Ok(Message::Close(frame))) => {
                                // Let tungstenite send its close reply.
                                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                                    while let Some(Ok(_)) = ws.next().await {}
                                }).await;
                                let code = frame.map(|f| format!("{} {}", u16::from(f.code), f.reason));
                                break End::Closed(format!("closed: {}", code.unwrap_or_default()));
                            }
                            Some(Ok(Message::Text(text))) => {
                                let msg: serde_json::Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                                match msg["type"].as_str() {
                                    Some("event") => match msg["event"]["id"].as_u64() {
                                        Some(id) => {
                                            c.got(id);
                                            last = id;
                                        }
                                        None => ctx.tally.error(&c.learner, format!("event without id: {text}")),
                                    },
                                    Some("welcome" | "ack" | "pong" | "chat") => {}
                                    _ => ctx.tally.error(&c.learner, format!("unexpected message: {text}")),
                                }
                            }
                            Some(Ok(_)) => {}
                        }
                    }
                }
            }
        };
        if let End::Closed(why) = end
            && !c.was_dropped_since(drops_before).await
        {
            ctx.tally.error(&c.learner, why);
        }
        let backoff = Duration::from_millis(250 + fastrand::u64(..500));
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.cancelled() => return,
        }
    }
}

// ---------------------------------------------------------------- load

/// Publishes one event; returns its id.
async fn publish(
    http: &reqwest::Client,
    ctx: &Ctx,
    learner: &str,
    data: serde_json::Value,
) -> Result<u64, String> {
    let res = http
        .post(format!("{}/api/events", ctx.base))
        .header("X-Learner", learner)
        .json(&json!({"topic": TOPIC, "type": "tick", "data": data}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
    match (status, body["id"].as_u64()) {
        (202, Some(id)) => Ok(id),
        _ => Err(format!("publish answered {status}: {body}")),
    }
}

async fn run_publisher(n: usize, every: Duration, ctx: Arc<Ctx>) {
    let http = reqwest::Client::new();
    let learner = format!("soak-publisher-{n}");
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for seq in 0u64.. {
        tokio::select! {
            _ = tick.tick() => {}
            _ = ctx.stop_load.cancelled() => return,
        }
        ctx.tally.requests.fetch_add(1, Relaxed);
        match publish(&http, &ctx, &learner, json!({"publisher": n, "seq": seq})).await {
            Ok(id) => ctx.published.lock().unwrap().push(id),
            Err(e) => ctx.tally.error(&learner, e),
        }
    }
}

/// Every few seconds: the server drops a random SSE/WebSocket client's
/// streams, or a random client cuts its own connection.
async fn run_dropper(clients: Vec<Arc<Client>>, every: Duration, ctx: Arc<Ctx>) {
    let http = reqwest::Client::new();
    let streams: Vec<_> = clients
        .iter()
        .filter(|c| matches!(c.kind, Kind::Sse | Kind::WebSocket))
        .cloned()
        .collect();
    let cuttable: Vec<_> = clients
        .iter()
        .filter(|c| c.kind != Kind::Poll)
        .cloned()
        .collect();
    if streams.is_empty() || cuttable.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval_at(Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = ctx.stop_load.cancelled() => return,
        }
        if fastrand::bool() {
            let c = &streams[fastrand::usize(..streams.len())];
            let transport = if c.kind == Kind::Sse {
                "sse"
            } else {
                "websocket"
            };
            // Bumped before and after, so a stream opened while the request
            // is on its way also knows its end was deliberate.
            c.server_drops.fetch_add(1, Relaxed);
            ctx.tally.server_drops.fetch_add(1, Relaxed);
            let res = http
                .post(format!("{}/api/connections/drop", ctx.base))
                .header("X-Learner", &c.learner)
                .json(&json!({ "transport": transport }))
                .send()
                .await;
            c.server_drops.fetch_add(1, Relaxed);
            match res {
                Ok(res) if res.status() == 200 => {
                    let body: serde_json::Value = res.json().await.unwrap_or_default();
                    let n = body["dropped"].as_u64().unwrap_or(0);
                    ctx.tally.server_dropped_connections.fetch_add(n, Relaxed);
                }
                Ok(res) => ctx
                    .tally
                    .error("dropper", format!("drop answered {}", res.status())),
                Err(e) => ctx.tally.error("dropper", e),
            }
        } else {
            cuttable[fastrand::usize(..cuttable.len())].cut.notify_one();
            ctx.tally.client_cuts.fetch_add(1, Relaxed);
        }
    }
}

async fn status(http: &reqwest::Client, base: &str) -> Option<serde_json::Value> {
    http.get(format!("{base}/api/status"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

// ---------------------------------------------------------------- verdict

/// What the clients saw, against what was published.
#[derive(Debug, Default)]
struct Delivery {
    deliveries: u64,
    lost: u64,
    duplicated: u64,
    unexpected: u64,
    /// Lost events per transport, for the report.
    lost_by_kind: Vec<(&'static str, u64)>,
}

fn check_deliveries(clients: &[Arc<Client>], published: &[u64]) -> Delivery {
    let mut d = Delivery::default();
    for kind in [Kind::Poll, Kind::LongPoll, Kind::Sse, Kind::WebSocket] {
        let mut lost = 0;
        for c in clients.iter().filter(|c| c.kind == kind) {
            let mut got = c.received.lock().unwrap().clone();
            d.deliveries += got.len() as u64;
            got.sort_unstable();
            let before = got.len();
            got.dedup();
            d.duplicated += (before - got.len()) as u64;
            lost += published
                .iter()
                .filter(|id| **id > c.start && got.binary_search(id).is_err())
                .count() as u64;
            d.unexpected += got
                .iter()
                .filter(|id| published.binary_search(id).is_err())
                .count() as u64;
        }
        d.lost += lost;
        d.lost_by_kind.push((kind.name(), lost));
    }
    d
}

/// The library's machine description, plus the commit and the load at the start.
fn machine() -> serde_json::Value {
    let mut m = procfs::machine();
    let commit = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    m["git_commit"] = json!(commit);
    m["load_average_at_start"] = m["load_average"].clone();
    m
}

// ---------------------------------------------------------------- main

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<bool, String> {
    let machine = machine();
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let out_dir = args.json.parent().map(PathBuf::from).unwrap_or_default();
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let server = Server::start(&args, &out_dir).await?;
    let pid = server.pid;
    let ticks = procfs::clock_ticks_per_sec();
    eprintln!(
        "soak: server pid {pid} at {}; {} s of load, warm-up {} s",
        server.base,
        args.duration().as_secs(),
        args.warm_up().as_secs()
    );

    let ctx = Arc::new(Ctx {
        base: server.base.clone(),
        tally: Tally::default(),
        published: Mutex::new(Vec::new()),
        stop_load: CancellationToken::new(),
        stop_clients: CancellationToken::new(),
    });
    let http = reqwest::Client::new();

    // Fill the replay ring first, so its growth is not mistaken for a leak.
    let prefill = args.replay_buffer;
    let mut fill = futures_util::stream::iter(0..prefill)
        .map(|i| {
            let (http, ctx) = (http.clone(), ctx.clone());
            async move { publish(&http, &ctx, "soak-prefill", json!({"prefill": i})).await }
        })
        .buffer_unordered(8);
    while let Some(r) = fill.next().await {
        r.map_err(|e| format!("prefill: {e}"))?;
    }
    drop(fill);
    let start_id = status(&http, &ctx.base)
        .await
        .and_then(|s| s["last_id"].as_u64())
        .ok_or("no status")?;

    // Clients, each its own learner.
    let mut clients = Vec::new();
    let counts = [
        (Kind::Poll, args.pollers),
        (Kind::LongPoll, args.long_pollers),
        (Kind::Sse, args.sse),
        (Kind::WebSocket, args.websockets),
    ];
    for (kind, n) in counts {
        for i in 0..n {
            clients.push(Arc::new(Client {
                kind,
                learner: format!("soak-{}-{i}", kind.name()),
                start: start_id,
                received: Mutex::new(Vec::new()),
                max_seen: AtomicU64::new(0),
                connections: AtomicU64::new(0),
                server_drops: AtomicU64::new(0),
                cut: Notify::new(),
            }));
        }
    }
    let mut client_tasks = Vec::new();
    for c in &clients {
        let (c, ctx) = (c.clone(), ctx.clone());
        client_tasks.push(tokio::spawn(async move {
            match c.kind {
                Kind::Poll | Kind::LongPoll => run_poller(c, ctx).await,
                Kind::Sse => run_sse(c, ctx).await,
                Kind::WebSocket => run_websocket(c, ctx).await,
            }
        }));
        // Do not open 140 connections in the same millisecond.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Publishers and the dropper.
    let every = Duration::from_secs_f64(args.publishers as f64 / args.rate.max(1) as f64);
    let mut load_tasks = Vec::new();
    for n in 0..args.publishers {
        load_tasks.push(tokio::spawn(run_publisher(n, every, ctx.clone())));
    }
    load_tasks.push(tokio::spawn(run_dropper(
        clients.clone(),
        Duration::from_millis(args.drop_every_ms.max(1)),
        ctx.clone(),
    )));

    // Sample while the load runs.
    let t0 = Instant::now();
    let cpu_at_start = procfs::cpu_ticks(pid).unwrap_or(0);
    let mut samples: Vec<Sample> = Vec::new();
    let take_sample = |http: reqwest::Client, base: String| async move {
        let open = status(&http, &base)
            .await
            .and_then(|s| s["connections"]["total"].as_u64())
            .unwrap_or(u64::MAX);
        Sample {
            at_secs: t0.elapsed().as_secs_f64(),
            rss_kb: procfs::rss_kb(pid).unwrap_or(0),
            cpu_ticks: procfs::cpu_ticks(pid).unwrap_or(0),
            open_connections: open,
        }
    };
    let end = t0 + args.duration();
    let mut tick = tokio::time::interval(Duration::from_secs(args.sample_secs.max(1)));
    let mut next_report = t0;
    while Instant::now() < end {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::time::sleep_until(end) => {}
        }
        let s = take_sample(http.clone(), ctx.base.clone()).await;
        samples.push(s);
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(30);
            eprintln!(
                "soak: {:>5.0} s  rss {:>7} kB  open {:>4}  published {:>6}  errors {}",
                s.at_secs,
                s.rss_kb,
                s.open_connections,
                ctx.published.lock().unwrap().len(),
                ctx.tally.errors.load(Relaxed)
            );
        }
    }
    let warm_up_end = args.warm_up().as_secs_f64();
    let rss_warm = samples
        .iter()
        .find(|s| s.at_secs >= warm_up_end)
        .or(samples.first())
        .map_or(0, |s| s.rss_kb);
    let rss_final = samples.last().map_or(0, |s| s.rss_kb);
    let rss_max = samples.iter().map(|s| s.rss_kb).max().unwrap_or(0);

    // Stop publishing, let every client catch up, then stop the clients.
    ctx.stop_load.cancel();
    for t in load_tasks {
        let _ = t.await;
    }
    let mut published = ctx.published.lock().unwrap().clone();
    published.sort_unstable();
    let newest = published.last().copied().unwrap_or(start_id);
    let drain_start = Instant::now();
    while drain_start.elapsed() < Duration::from_secs(20)
        && clients.iter().any(|c| c.max_seen.load(Relaxed) < newest)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let behind = clients
        .iter()
        .filter(|c| c.max_seen.load(Relaxed) < newest)
        .count();
    ctx.stop_clients.cancel();
    for t in client_tasks {
        let _ = t.await;
    }

    // Every long-lived connection must be released.
    let close_start = Instant::now();
    let mut open_after = u64::MAX;
    // What was still open right after the clients stopped, by kind.
    let mut open_at_stop = serde_json::Value::Null;
    while close_start.elapsed() < Duration::from_secs(30) {
        let open = status(&http, &ctx.base)
            .await
            .map(|s| s["connections"].clone());
        if open_at_stop.is_null() {
            open_at_stop = open.clone().unwrap_or_default();
        }
        open_after = open.and_then(|o| o["total"].as_u64()).unwrap_or(u64::MAX);
        if open_after == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let closed_in = close_start.elapsed().as_secs_f64();
    let rss_after_stop = procfs::rss_kb(pid).unwrap_or(0);
    let cpu_secs = (procfs::cpu_ticks(pid)
        .unwrap_or(0)
        .saturating_sub(cpu_at_start)) as f64
        / ticks;
    let log = server.log.clone();
    let exit = server.stop().await;
    let panics = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("panicked"))
        .count() as u64;
    if panics > 0 {
        ctx.tally
            .error("server", format!("{panics} panics in {}", log.display()));
    }

    // The verdict.
    let d = check_deliveries(&clients, &published);
    if d.unexpected > 0 {
        ctx.tally.error(
            "clients",
            format!("{} ids received that nobody published", d.unexpected),
        );
    }
    let errors = ctx.tally.errors.load(Relaxed);
    let growth = if rss_warm == 0 {
        f64::INFINITY
    } else {
        (rss_final as f64 - rss_warm as f64) / rss_warm as f64 * 100.0
    };
    let checks = [
        ("RSS growth after warm-up < 5 %", growth < 5.0),
        ("errors = 0", errors == 0),
        ("lost events = 0", d.lost == 0),
        ("open connections after stop = 0", open_after == 0),
    ];
    let pass = checks.iter().all(|(_, ok)| *ok);
    let connections_by_kind: Vec<_> = [Kind::Poll, Kind::LongPoll, Kind::Sse, Kind::WebSocket]
        .iter()
        .map(|k| {
            let n: u64 = clients
                .iter()
                .filter(|c| c.kind == *k)
                .map(|c| c.connections.load(Relaxed))
                .sum();
            (k.name(), n)
        })
        .collect();
    let command = std::env::var("SOAK_COMMAND").unwrap_or_else(|_| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        format!("cargo run --release --example soak -- {}", args.join(" "))
            .trim()
            .to_string()
    });
    let result = json!({
        "date": started_at,
        "command": command,
        "machine": machine,
        "pass": pass,
        "checks": checks.iter().map(|(name, ok)| json!({"check": name, "pass": ok})).collect::<Vec<_>>(),
        "duration_secs": args.duration().as_secs_f64(),
        "warm_up_secs": warm_up_end,
        "clients": {"pollers": args.pollers, "long_pollers": args.long_pollers, "sse": args.sse,
                    "websockets": args.websockets, "publishers": args.publishers, "rate_per_sec": args.rate},
        "server_flags": {"replay_buffer": args.replay_buffer, "prefilled_events": prefill,
                         "event_ids": "from-one", "sse_heartbeat_secs": 5, "sse_retry_ms": 1000,
                         "ws_ping_interval_secs": 10},
        "events_published": published.len(),
        "deliveries": d.deliveries,
        "lost": d.lost,
        "lost_by_transport": d.lost_by_kind.iter().map(|(k, n)| (k.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "duplicated": d.duplicated,
        "errors": errors,
        "error_messages": *ctx.tally.error_messages.lock().unwrap(),
        "clients_behind_after_drain": behind,
        "server_drops": ctx.tally.server_drops.load(Relaxed),
        "server_dropped_connections": ctx.tally.server_dropped_connections.load(Relaxed),
        "client_cuts": ctx.tally.client_cuts.load(Relaxed),
        "connections_or_requests_by_transport": connections_by_kind.iter().map(|(k, n)| (k.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "http_requests_by_publishers_and_pollers": ctx.tally.requests.load(Relaxed),
        "rss_kb": {"warm_up_end": rss_warm, "final": rss_final, "max": rss_max, "after_clients_stopped": rss_after_stop},
        "rss_growth_percent": (growth * 100.0).round() / 100.0,
        "server_cpu_secs": (cpu_secs * 100.0).round() / 100.0,
        "open_connections_after_stop": open_after,
        "connections_closed_within_secs": (closed_in * 10.0).round() / 10.0,
        "open_right_after_clients_stopped": open_at_stop,
        "server_exit": exit,
        "samples": samples.iter().map(|s| json!({"t": s.at_secs.round(), "rss_kb": s.rss_kb,
            "cpu_secs": ((s.cpu_ticks.saturating_sub(cpu_at_start)) as f64 / ticks * 10.0).round() / 10.0,
            "open": s.open_connections})).collect::<Vec<_>>(),
    });
    std::fs::write(
        &args.json,
        serde_json::to_string_pretty(&result).unwrap_or_default(),
    )
    .map_err(|e| format!("{}: {e}", args.json.display()))?;

    let md = markdown(&result);
    println!("{md}");
    eprintln!("soak: JSON written to {}", args.json.display());
    if !args.no_record {
        if let Some(dir) = args.record.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(&args.record, &md).map_err(|e| format!("{}: {e}", args.record.display()))?;
        eprintln!("soak: recorded in {}", args.record.display());
    }
    Ok(pass)
}

/// The human-readable record (also printed as the run's table).
fn markdown(r: &serde_json::Value) -> String {
    let m = &r["machine"];
    let kb = |v: &serde_json::Value| format!("{:.1} MiB", v.as_u64().unwrap_or(0) as f64 / 1024.0);
    let mut s = String::new();
    let _ = writeln!(s, "# Soak test: last recorded run\n");
    let _ = writeln!(
        s,
        "Written by `examples/soak.rs` (run it with `bench/soak.sh`). The release server runs as a \
         child process under mixed load: short pollers, long-pollers, SSE clients resuming with \
         `Last-Event-ID`, WebSocket clients resubscribing with `since`, steady publishers, and a \
         random drop every few seconds (the server cuts a client's streams through \
         `POST /api/connections/drop`, or a client cuts its own connection). It passes when RSS \
         grows less than 5 % after the warm-up, no client sees an error, no event is lost, and \
         every connection is released once the clients stop.\n"
    );
    let verdict = if r["pass"].as_bool() == Some(true) {
        "PASS"
    } else {
        "FAIL"
    };
    let _ = writeln!(s, "**Result: {verdict}**\n");
    let _ = writeln!(s, "| Check | |\n|---|---|");
    for c in r["checks"].as_array().into_iter().flatten() {
        let ok = if c["pass"].as_bool() == Some(true) {
            "pass"
        } else {
            "**FAIL**"
        };
        let _ = writeln!(s, "| {} | {ok} |", c["check"].as_str().unwrap_or(""));
    }
    let _ = writeln!(s, "\n## Run\n\n| | |\n|---|---|");
    let rows = [
        ("Date (UTC)", r["date"].as_str().unwrap_or("").to_string()),
        (
            "Command",
            format!("`{}`", r["command"].as_str().unwrap_or("")),
        ),
        (
            "Commit",
            format!("`{}`", m["git_commit"].as_str().unwrap_or("")),
        ),
        (
            "Duration",
            format!("{} s (warm-up {} s)", r["duration_secs"], r["warm_up_secs"]),
        ),
        (
            "Clients",
            format!(
                "{} pollers (1 s), {} long-pollers, {} SSE, {} WebSocket, {} publishers at {} events/s in total",
                r["clients"]["pollers"],
                r["clients"]["long_pollers"],
                r["clients"]["sse"],
                r["clients"]["websockets"],
                r["clients"]["publishers"],
                r["clients"]["rate_per_sec"]
            ),
        ),
        (
            "Server flags",
            format!(
                "`--replay-buffer {}` (pre-filled), `--event-ids from-one`, `--sse-heartbeat-secs 5`, `--sse-retry-ms 1000`, `--ws-ping-interval-secs 10`",
                r["server_flags"]["replay_buffer"]
            ),
        ),
        ("Events published", r["events_published"].to_string()),
        ("Deliveries", r["deliveries"].to_string()),
        (
            "Lost",
            format!("{} (by transport: {})", r["lost"], r["lost_by_transport"]),
        ),
        ("Duplicated", r["duplicated"].to_string()),
        ("Errors", r["errors"].to_string()),
        (
            "Drops",
            format!(
                "{} server-side drop requests ({} connections cut), {} client-side cuts",
                r["server_drops"], r["server_dropped_connections"], r["client_cuts"]
            ),
        ),
        (
            "Connections / requests",
            r["connections_or_requests_by_transport"].to_string(),
        ),
        ("RSS at warm-up end", kb(&r["rss_kb"]["warm_up_end"])),
        ("RSS final (under load)", kb(&r["rss_kb"]["final"])),
        ("RSS max", kb(&r["rss_kb"]["max"])),
        (
            "RSS after the clients stopped",
            kb(&r["rss_kb"]["after_clients_stopped"]),
        ),
        (
            "RSS growth after warm-up",
            format!("{} %", r["rss_growth_percent"]),
        ),
        ("Server CPU time", format!("{} s", r["server_cpu_secs"])),
        (
            "Open connections after stop",
            format!(
                "{} after {} s (right after the clients stopped: {})",
                r["open_connections_after_stop"],
                r["connections_closed_within_secs"],
                r["open_right_after_clients_stopped"]
            ),
        ),
        (
            "Server exit on SIGTERM",
            r["server_exit"].as_str().unwrap_or("").to_string(),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(s, "\n## Machine\n\n| | |\n|---|---|");
    for (k, key) in [
        ("CPU", "cpu"),
        ("Cores", "cores"),
        ("RAM (GiB)", "ram_gib"),
        ("Kernel", "kernel"),
        ("OS", "os"),
        ("Rust", "rustc"),
        ("Load average at start", "load_average_at_start"),
    ] {
        let v = match &m[key] {
            serde_json::Value::String(v) => v.clone(),
            v => v.to_string(),
        };
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let errors = r["error_messages"].as_array().cloned().unwrap_or_default();
    if !errors.is_empty() {
        let _ = writeln!(s, "\n## First errors\n");
        for e in errors {
            let _ = writeln!(s, "- `{}`", e.as_str().unwrap_or(""));
        }
    }
    let _ = writeln!(
        s,
        "\n## RSS over time\n\n| t (s) | RSS (MiB) | server CPU (s) | open connections |\n|---:|---:|---:|---:|"
    );
    let samples = r["samples"].as_array().cloned().unwrap_or_default();
    let step = (samples.len() / 20).max(1);
    for (i, x) in samples.iter().enumerate() {
        if i % step == 0 || i + 1 == samples.len() {
            let _ = writeln!(
                s,
                "| {} | {:.1} | {} | {} |",
                x["t"],
                x["rss_kb"].as_u64().unwrap_or(0) as f64 / 1024.0,
                x["cpu_secs"],
                x["open"]
            );
        }
    }
    s
}
