//! Every tunable in one place: command-line flags, each with an environment
//! variable twin, and defaults a learner never has to touch.

use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;

/// realtime-playground: learn polling, long-polling, Server-Sent Events and
/// WebSockets by using them.
///
/// Starts a local web server with lessons, live endpoints for each transport,
/// Swagger UI and a traffic log. Every flag can also be set through the
/// environment variable shown next to it.
#[derive(Debug, Clone, Parser)]
#[command(name = "realtime-playground", version, about, long_about)]
pub struct Config {
    /// Address to listen on. Use 0.0.0.0 to reach the playground from other machines.
    #[arg(long, env = "PLAYGROUND_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// TCP port; 0 picks a free port (the chosen one is printed).
    #[arg(long, short, env = "PLAYGROUND_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Serve HTTPS, offering HTTP/2 and HTTP/1.1 (browsers speak HTTP/2 only
    /// over TLS). Without --tls-cert/--tls-key the server uses a certificate it
    /// generates for localhost, kept in the data directory.
    #[arg(long, env = "PLAYGROUND_TLS")]
    pub tls: bool,

    /// PEM certificate chain to serve with --tls (e.g. from `mkcert localhost`); implies --tls.
    #[arg(
        long,
        env = "PLAYGROUND_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "PLAYGROUND_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,

    /// With --tls, also serve HTTPS on this port offering HTTP/1.1 only, to
    /// compare the two protocols side by side (0 picks a free port).
    #[arg(long, env = "PLAYGROUND_HTTP1_PORT", value_name = "PORT")]
    pub http1_port: Option<u16>,

    /// Open the home page in the default browser once the server is up.
    #[arg(long, env = "PLAYGROUND_OPEN")]
    pub open: bool,

    /// How many recent events the hub keeps for catch-up (Last-Event-ID, since=…).
    #[arg(long, env = "PLAYGROUND_REPLAY_BUFFER", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub replay_buffer: u64,

    /// Where event ids start. `clock`: after the start time in microseconds, so a
    /// restarted server never reuses an id and old Last-Event-IDs get a `restarted`
    /// reset. `from-one`: 1, 2, 3… (easier to read; a restart reuses ids).
    #[arg(long, env = "PLAYGROUND_EVENT_IDS", value_enum, default_value_t = EventIds::Clock)]
    pub event_ids: EventIds,

    /// Share events, chat and presence with other instances through this Redis
    /// (e.g. redis://127.0.0.1:6379/). Without it everything stays in this
    /// process's memory. Each instance runs its own built-in feeds.
    #[arg(long, env = "PLAYGROUND_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Milliseconds between events of each built-in feed at start.
    #[arg(long, env = "PLAYGROUND_FEED_INTERVAL_MS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(50..=3_600_000))]
    pub feed_interval_ms: u64,

    /// Start with the built-in feeds paused (they can be started from the API).
    #[arg(long, env = "PLAYGROUND_FEEDS_PAUSED")]
    pub feeds_paused: bool,

    /// Seconds a long-poll waits when the request gives no `timeout`.
    #[arg(long, env = "PLAYGROUND_LONG_POLL_TIMEOUT", default_value_t = 25,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub long_poll_timeout_secs: u64,

    /// Longest `timeout` a long-poll may ask for, in seconds.
    #[arg(long, env = "PLAYGROUND_LONG_POLL_MAX_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub long_poll_max_timeout_secs: u64,

    /// Seconds between SSE heartbeat comments (they let the server notice dead clients).
    #[arg(long, env = "PLAYGROUND_SSE_HEARTBEAT", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sse_heartbeat_secs: u64,

    /// Longest life of any Server-Sent Events stream (/api/sse, /api/traffic/stream),
    /// in seconds, whatever its `duration` asks; 0 means no cap. Streams without
    /// `limit` or `duration` otherwise never end.
    #[arg(long, env = "PLAYGROUND_STREAM_MAX_SECS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub stream_max_secs: u64,

    /// Reconnection delay suggested to SSE clients through the `retry:` field, in milliseconds.
    #[arg(long, env = "PLAYGROUND_SSE_RETRY_MS", default_value_t = 2000)]
    pub sse_retry_ms: u64,

    /// Seconds between WebSocket ping frames sent by the server.
    #[arg(long, env = "PLAYGROUND_WS_PING_INTERVAL", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_ping_interval_secs: u64,

    /// Seconds a WebSocket peer has to answer a ping before it is disconnected.
    #[arg(long, env = "PLAYGROUND_WS_PING_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_ping_timeout_secs: u64,

    /// Largest WebSocket message accepted, in bytes; larger ones close the connection with 1009.
    #[arg(long, env = "PLAYGROUND_WS_MAX_MESSAGE", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(128..=16 * 1024 * 1024))]
    pub ws_max_message_bytes: u64,

    /// Largest request body accepted (e.g. POST /api/events), in bytes; larger ones get 413.
    #[arg(long, env = "PLAYGROUND_MAX_BODY", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(128..=16 * 1024 * 1024))]
    pub max_body_bytes: u64,

    /// Extra origins allowed to open WebSockets and send state-changing requests
    /// (POST, PUT, PATCH, DELETE), comma-separated (e.g. http://localhost:3000).
    /// The page's own origin and clients that send no Origin are always allowed.
    #[arg(long, env = "PLAYGROUND_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Extra host names the server answers to, comma-separated: `name` (any port) or
    /// `name:port` (e.g. my-laptop.local). Always allowed: localhost, 127.0.0.1,
    /// [::1] and the address a connection reached. Any other `Host` gets 421 (DNS
    /// rebinding protection).
    #[arg(long, env = "PLAYGROUND_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Let "Grade my server" (POST /api/grader/runs) connect to any address, and
    /// answer learners on other machines. Without it the grader only connects to
    /// loopback addresses (127.0.0.0/8, ::1) and only for requests that come from
    /// this machine, so a curious learner cannot aim it at the network.
    #[arg(long, env = "PLAYGROUND_GRADER_ALLOW_REMOTE")]
    pub grader_allow_remote: bool,

    /// Events and chat messages one learner may publish per second, over HTTP and
    /// WebSocket together (bursts of twice as many pass); more get 429 + Retry-After.
    #[arg(long, env = "PLAYGROUND_PUBLISH_RATE_PER_LEARNER", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub publish_rate_per_learner: u32,

    /// Events and chat messages one client address may publish per second, all its
    /// learners together (bursts of twice as many pass): a script cannot escape
    /// the per-learner rate by making up a new learner for each request.
    #[arg(long, env = "PLAYGROUND_PUBLISH_RATE_PER_ADDRESS", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub publish_rate_per_address: u32,

    /// Events and chat messages the whole server accepts per second from its
    /// clients (bursts of twice as many pass), so many sources together cannot
    /// roll every other learner's replay window away in a second.
    #[arg(long, env = "PLAYGROUND_PUBLISH_RATE_TOTAL", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub publish_rate_total: u32,

    /// Events and chat messages one WebSocket connection may publish per second
    /// (bursts of twice as many pass); more get an `error` message.
    #[arg(long, env = "PLAYGROUND_PUBLISH_RATE_PER_CONNECTION", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub publish_rate_per_connection: u32,

    /// Bad WebSocket messages (invalid, unknown or over the rate) a connection may send
    /// before it is closed with 1008; the budget refills by a tenth per second.
    #[arg(long, env = "PLAYGROUND_WS_ERROR_BUDGET", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub ws_error_budget: u32,

    /// Long-polls, SSE streams and WebSockets one client address may hold open at
    /// once; more get 503. The same address may hold this many plus 32 TCP
    /// connections in all (idle keep-alives and requests being read included);
    /// more are answered 503 and closed. 0 means no limit.
    #[arg(
        long,
        env = "PLAYGROUND_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 512
    )]
    pub max_connections_per_address: u32,

    /// Most entries the traffic log keeps, for all learners together.
    #[arg(long, env = "PLAYGROUND_TRAFFIC_LOG_SIZE", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(10..=10_000_000))]
    pub traffic_log_size: u64,

    /// Most traffic-log entries kept per learner.
    #[arg(long, env = "PLAYGROUND_TRAFFIC_PER_LEARNER", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(10..=10_000_000))]
    pub traffic_per_learner: u64,

    /// Traffic-log entries the learners of one client address keep once the
    /// log is full (an address over it loses its own oldest entries, not others').
    #[arg(long, env = "PLAYGROUND_TRAFFIC_PER_ADDRESS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(10..=10_000_000))]
    pub traffic_per_address: u64,

    /// Most learners one client address keeps progress, challenge attempts,
    /// best scores and traffic logs for; a new one pushes out that address's
    /// least recently active learner (never another address's).
    #[arg(long, env = "PLAYGROUND_LEARNERS_PER_ADDRESS", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub learners_per_address: u64,

    /// Learners one client address may create per minute in those stores
    /// (0 = no limit); more get `429`. A browser is one learner.
    #[arg(
        long,
        env = "PLAYGROUND_NEW_LEARNERS_PER_MINUTE",
        default_value_t = 120
    )]
    pub new_learners_per_minute: u32,

    /// Hours a learner's progress, attempts and traffic are kept in memory
    /// after their last request (saved progress stays in the progress file).
    #[arg(long, env = "PLAYGROUND_LEARNER_IDLE_HOURS", default_value_t = 24,
          value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub learner_idle_hours: u64,

    /// Threads that run requests (default: one per core). `bench/run.sh`
    /// uses 1 to measure what one core does, as Node and uvicorn run.
    #[arg(long, env = "PLAYGROUND_WORKER_THREADS",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,

    /// Turn the traffic log off (nothing is measured or kept).
    #[arg(long, env = "PLAYGROUND_NO_TRAFFIC_LOG")]
    pub no_traffic_log: bool,

    /// Seconds a write to a client may make no progress before the connection is
    /// closed (frees streams whose reader stopped reading).
    #[arg(long, env = "PLAYGROUND_WRITE_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub write_timeout_secs: u64,

    /// Seconds a new connection has to send a complete request head; silent or
    /// slow ones ("slowloris") are closed after it.
    #[arg(long, env = "PLAYGROUND_HEADER_READ_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,

    /// Seconds a keep-alive connection may wait for its next request after an
    /// answer before it is closed (streams being answered are never idle).
    #[arg(long, env = "PLAYGROUND_IDLE_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout_secs: u64,

    /// Program the load lab starts as `<program> loadgen …` (default: this binary).
    #[arg(long, env = "PLAYGROUND_LOADGEN_PROGRAM", hide = true)]
    pub loadgen_program: Option<std::path::PathBuf>,

    /// Stop when standard input closes (the cluster lab starts its instances
    /// this way, so they end with the server that started them, even if it is
    /// killed).
    #[arg(long, env = "PLAYGROUND_UNTIL_STDIN_CLOSES", hide = true)]
    pub until_stdin_closes: bool,

    /// Directory of the file that keeps lesson progress and challenge best scores
    /// across restarts (progress.redb). Default: $XDG_DATA_HOME/realtime-playground,
    /// else ~/.local/share/realtime-playground (the platform's data directory elsewhere).
    #[arg(long, env = "PLAYGROUND_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,

    /// Keep no file at all: progress lives in memory and ends with the process
    /// (throwaway runs, tests). Wins over --data-dir.
    #[arg(long, env = "PLAYGROUND_EPHEMERAL")]
    pub ephemeral: bool,

    /// Seconds to wait for connections to finish on Ctrl-C / SIGTERM.
    #[arg(long, env = "PLAYGROUND_SHUTDOWN_GRACE", default_value_t = 1.5)]
    pub shutdown_grace_secs: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventIds {
    Clock,
    FromOne,
}

impl EventIds {
    /// The id after which this run's ids start.
    pub fn base(self) -> u64 {
        match self {
            EventIds::FromOne => 0,
            EventIds::Clock => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or_default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        // The defaults are the ones `--help` documents.
        Config::parse_from(["realtime-playground"])
    }
}

impl Config {
    /// Settings suited to tests: a free port, feeds paused, ids from 1, in memory.
    pub fn for_tests() -> Self {
        Config {
            port: 0,
            feeds_paused: true,
            event_ids: EventIds::FromOne,
            // In memory whatever PLAYGROUND_REDIS_URL says; Redis tests opt in.
            redis_url: None,
            // Never the learner's own progress file, whatever PLAYGROUND_DATA_DIR says.
            data_dir: None,
            ephemeral: true,
            // Every test client shares 127.0.0.1: the address and server-wide
            // budgets are tested where a test sets them.
            publish_rate_per_address: 1_000_000,
            publish_rate_total: 1_000_000,
            new_learners_per_minute: 0,
            ..Config::default()
        }
    }

    /// Whether the server speaks HTTPS (`--tls`, or a certificate given).
    pub fn serves_tls(&self) -> bool {
        self.tls || self.tls_cert.is_some()
    }

    pub fn long_poll_timeout(&self) -> Duration {
        Duration::from_secs(self.long_poll_timeout_secs)
    }

    pub fn sse_heartbeat(&self) -> Duration {
        Duration::from_secs(self.sse_heartbeat_secs)
    }

    /// When a stream opened now must end: the earlier of the requested
    /// `duration` (seconds) and `--stream-max-secs`.
    pub fn stream_deadline(&self, duration_secs: Option<u64>) -> Option<tokio::time::Instant> {
        let cap = (self.stream_max_secs > 0).then_some(self.stream_max_secs);
        let secs = match (duration_secs, cap) {
            (Some(d), Some(c)) => Some(d.min(c)),
            (d, c) => d.or(c),
        }?;
        Some(tokio::time::Instant::now() + Duration::from_secs(secs))
    }

    pub fn ws_ping_interval(&self) -> Duration {
        Duration::from_secs(self.ws_ping_interval_secs)
    }

    pub fn ws_ping_timeout(&self) -> Duration {
        Duration::from_secs(self.ws_ping_timeout_secs)
    }

    pub fn loadgen_program(&self) -> std::path::PathBuf {
        self.loadgen_program
            .clone()
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| "realtime-playground".into())
    }

    pub fn write_timeout(&self) -> Duration {
        Duration::from_secs(self.write_timeout_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs_f64(self.shutdown_grace_secs.clamp(0.0, 60.0))
    }

    pub fn feed_interval(&self) -> Duration {
        Duration::from_millis(self.feed_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_documentation() {
        let c = Config::default();
        assert_eq!(c.port, 8080);
        assert_eq!(c.replay_buffer, 1000);
        assert_eq!(c.feed_interval_ms, 2000);
        assert_eq!(c.long_poll_timeout_secs, 25);
        assert_eq!(c.ws_max_message_bytes, 65536);
    }

    #[tokio::test]
    async fn stream_max_secs_caps_the_requested_duration() {
        let secs = |c: &Config, d| {
            c.stream_deadline(d)
                .map(|at| (at - tokio::time::Instant::now()).as_secs_f64().round() as u64)
        };
        let uncapped = Config::default();
        assert_eq!(secs(&uncapped, None), None);
        assert_eq!(secs(&uncapped, Some(30)), Some(30));
        let capped = Config::try_parse_from(["x", "--stream-max-secs", "5"]).expect("flags");
        assert_eq!(secs(&capped, None), Some(5));
        assert_eq!(secs(&capped, Some(30)), Some(5));
        assert_eq!(secs(&capped, Some(2)), Some(2));
    }

    #[test]
    fn tests_never_keep_progress() {
        assert!(Config::for_tests().ephemeral);
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        assert!(Config::try_parse_from(["x", "--replay-buffer", "0"]).is_err());
        assert!(Config::try_parse_from(["x", "--feed-interval-ms", "1"]).is_err());
    }
}
