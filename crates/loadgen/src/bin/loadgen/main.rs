//! `loadgen`: drives a running server (this one or a peer) with many real
//! clients and prints what it measured; see the [`loadgen`] library.
//! `realtime-playground loadgen …` runs the same scenarios; `summarize` (the
//! bench report writer) and `free-port` are for the bench scripts and live
//! only here, out of the server's binary.
//!
//! ```text
//! loadgen summarize --dir target/bench/<run> --out bench/RESULTS.md   # used by bench/run.sh
//! loadgen free-port
//! loadgen tls-idle --port P --pid PID --kind sse-h2 --ca cert.pem      # used by bench/run.sh
//! ```

mod summary;
mod tls_idle;

use clap::{Parser, Subcommand};
use loadgen::cli::{CliError, RunArgs, exit_code, run};

/// Load generator for realtime-playground and its peers (loopback only).
#[derive(Debug, Parser)]
#[command(name = "loadgen", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Turn the JSON reports of a bench run into the ratio table and bench/RESULTS.md.
    Summarize(summary::SummaryArgs),
    /// Print a free TCP port on 127.0.0.1 (for scripts).
    FreePort,
    /// Measure what one idle SSE stream or WebSocket costs the server, plain or over TLS (HTTP/1.1, HTTP/2).
    TlsIdle(tls_idle::TlsIdleArgs),
}

/// Why a command failed; each says so in its own words.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Run(#[from] CliError),
    #[error(transparent)]
    Summary(#[from] summary::SummaryError),
    #[error("{0}")]
    FreePort(#[from] std::io::Error),
    #[error(transparent)]
    TlsIdle(#[from] tls_idle::TlsIdleError),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    exit_code(match cli.command {
        Some(Command::Summarize(args)) => summary::summarize(&args).map_err(Error::from),
        Some(Command::FreePort) => free_port().map_err(Error::from),
        Some(Command::TlsIdle(args)) => tls_idle::tls_idle(&args).await.map_err(Error::from),
        None => run(cli.run).await.map_err(Error::from),
    })
}

/// Prints a port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> std::io::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    println!("{port}");
    Ok(())
}
