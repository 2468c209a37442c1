//! The `loadgen` command line's run: flags → [`Scenario`] → the report as a
//! table (and JSON). The same in the `loadgen` binary and in
//! `realtime-playground loadgen …` (which the load lab spawns, so the
//! server's own memory and CPU are measured without the clients'); the
//! binary alone adds `summarize` and `free-port` for the bench scripts.
//!
//! ```text
//! loadgen --url http://127.0.0.1:8080 --pid 1234 --sse 1000 --websockets 1000 \
//!         --publishers 4 --rate 100 --duration-secs 10 --json out.json
//! loadgen --url … --pollers 64 --poll-interval-ms 0 --publishers 0     # poll throughput
//! loadgen --url … --sse 10000 --fanout-events 20 --fanout-gap-ms 200  # fan-out
//! ```

use std::ffi::OsString;
use std::path::PathBuf;

use crate::{RunError, Scenario};
use clap::{Args, Parser};

/// Load generator for realtime-playground and its peers (loopback only).
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

/// One run's flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Base URL of the server (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Server process id: RSS and CPU are read from /proc/<pid> (and its children).
    #[arg(long)]
    pid: Option<u32>,
    /// Short pollers.
    #[arg(long, default_value_t = 0)]
    pollers: usize,
    /// Milliseconds between two polls of one poller; 0 = as fast as possible.
    #[arg(long, default_value_t = 1000)]
    poll_interval_ms: u64,
    /// Long-pollers.
    #[arg(long, default_value_t = 0)]
    long_pollers: usize,
    /// SSE clients.
    #[arg(long, default_value_t = 0)]
    sse: usize,
    /// WebSocket clients.
    #[arg(long, default_value_t = 0)]
    websockets: usize,
    /// Publishers (they share --rate).
    #[arg(long, default_value_t = 1)]
    publishers: usize,
    /// Events per second, all publishers together.
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// Measured window, in seconds.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Load before the measured window, in seconds (not counted).
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Connection attempts in flight at once.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// Topic to publish on and follow.
    #[arg(long, default_value = "load")]
    topic: String,
    /// Fan-out mode: publish this many events one at a time (instead of --rate).
    #[arg(long, default_value_t = 0)]
    fanout_events: u32,
    /// Milliseconds between two fan-out events.
    #[arg(long, default_value_t = 200)]
    fanout_gap_ms: u64,
    /// Name of the run in the report.
    #[arg(long, default_value = "")]
    label: String,
    /// Start of every client's `X-Learner` id.
    #[arg(long, default_value = "load-")]
    learner_prefix: String,
    /// Pollers send no `X-Learner` and no cookie (as curl does).
    #[arg(long)]
    anonymous_pollers: bool,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl RunArgs {
    fn scenario(&self) -> Scenario {
        Scenario {
            url: self.url.clone(),
            pid: self.pid,
            pollers: self.pollers,
            poll_interval_ms: self.poll_interval_ms,
            long_pollers: self.long_pollers,
            sse: self.sse,
            websockets: self.websockets,
            publishers: self.publishers,
            rate: self.rate,
            duration_secs: self.duration_secs,
            warmup_secs: self.warmup_secs,
            connect_concurrency: self.connect_concurrency,
            topic: self.topic.clone(),
            fanout_events: self.fanout_events,
            fanout_gap_ms: self.fanout_gap_ms,
            label: self.label.clone(),
            learner_prefix: self.learner_prefix.clone(),
            anonymous_pollers: self.anonymous_pollers,
        }
    }
}

/// Parses `args` (the first is the program name) and runs; the exit code
/// says whether it worked.
pub async fn main(args: impl IntoIterator<Item = OsString>) -> std::process::ExitCode {
    exit_code(run(Cli::parse_from(args).run).await)
}

/// Why a run from the command line failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

/// Success, or the error on stderr and failure.
pub fn exit_code<E: std::fmt::Display>(result: Result<(), E>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the scenario the flags describe, prints the table, writes the JSON.
pub async fn run(args: RunArgs) -> Result<(), CliError> {
    let report = crate::run(args.scenario()).await?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let write = |path: &std::path::Path, e| CliError::Write {
            path: path.into(),
            source: e,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| write(dir, e))?;
        }
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).map_err(|e| write(path, e))?;
    }
    Ok(())
}
