//! `realtime-playground`: parse flags, start the server, print where it is.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use realtime_playground::app::server::READY_LINE;
use realtime_playground::{BoundServer, Config, StartupError, bind, shutdown};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // `realtime-playground loadgen …`: a load-generator run, in the same binary
    // (the load lab spawns it); the bench report writer is only in `loadgen`.
    let loadgen = std::env::args_os().nth(1).is_some_and(|a| a == "loadgen");
    // Parsed before the runtime exists: it says how many threads to start.
    let config = (!loadgen).then(Config::parse);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = config.as_ref().and_then(|c| c.worker_threads) {
        runtime.worker_threads(n.into());
    }
    let runtime = match runtime.build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match config {
        None => runtime.block_on(loadgen::cli::main(std::env::args_os().skip(1))),
        Some(config) => runtime.block_on(serve(config)),
    }
}

async fn serve(config: Config) -> ExitCode {
    init_logging();
    let open = config.open;
    let server = match bind(config).await {
        Ok(server) => server,
        Err(err @ StartupError::Listen(_)) => {
            eprintln!("error: cannot listen: {err}");
            eprintln!("hint: another program may use the port; try --port 0 to pick a free one.");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            // Not the socket: the lessons, the progress file or Redis; the message says which.
            eprintln!("error: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let home = home_page(server.scheme(), server.local_addr());
    announce(&server, &home);
    if open && let Err(err) = open_browser(&home) {
        eprintln!("could not open a browser ({err}); open {home} yourself.");
    }
    let signal = stop_signal(server.state().config.until_stdin_closes);
    match server.run(signal).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: this crate at info).
fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("realtime_playground=info,poem=warn")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a terminal; a log file or a pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The home page's URL (an unspecified address is reached on loopback).
fn home_page(scheme: &str, addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    format!("{scheme}://{host}:{}/", addr.port())
}

/// The ready line (first, for whatever reads the port), where things are,
/// and a warning when other machines can reach the server.
fn announce(server: &BoundServer, home: &str) {
    let addr = server.local_addr();
    println!("{}{}", READY_LINE, addr.port());
    println!("  Home page:  {home}");
    println!("  Swagger UI: {home}docs");
    println!("  OpenAPI:    {home}openapi.json");
    println!("  Progress:   {}", server.state().keeping);
    if let Some(certificate) = server.certificate() {
        println!(
            "  TLS:        HTTP/2 and HTTP/1.1; certificate {}",
            certificate.source
        );
        if let Some(http1) = server.http1_addr() {
            println!("  HTTP/1.1:   {}", home_page("https", http1));
        }
        println!(
            "  The browser will warn about the certificate once: choose Advanced, then Proceed \
             (or serve one it trusts with --tls-cert/--tls-key, e.g. from mkcert)."
        );
    }
    println!("Press Ctrl-C to stop.");
    if !addr.ip().is_loopback() {
        warn_reachable(addr);
    }
}

fn warn_reachable(addr: SocketAddr) {
    eprintln!(
        "warning: listening on {}, which other machines can reach. The playground is meant \
         for local use: anyone who can reach this port can publish events and open \
         connections (each learner still sees only their own traffic log).",
        addr.ip()
    );
    eprintln!(
        "hint: learners reach it by this machine's IP address (http://<address>:{port}/). \
         To use a name instead (e.g. http://my-laptop.local:{port}/), start with \
         --allowed-hosts my-laptop.local (or PLAYGROUND_ALLOWED_HOSTS); other names get 421.",
        port = addr.port()
    );
}

/// Ctrl-C or SIGTERM; with `--until-stdin-closes`, also the end of stdin.
async fn stop_signal(until_stdin_closes: bool) {
    if until_stdin_closes {
        tokio::select! {
            _ = shutdown::os_signal() => {},
            _ = shutdown::stdin_closed() => {},
        }
    } else {
        shutdown::os_signal().await
    }
}

fn open_browser(url: &str) -> std::io::Result<()> {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(program)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
}
