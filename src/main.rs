//! `realtime-playground`: parse flags, start the server, print where it is.

use std::io::IsTerminal;

use clap::Parser;
use realtime_playground::{Config, bind, shutdown};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `realtime-playground loadgen …`: a load-generator run, in the same binary
    // (the load lab spawns it); the bench report writer is only in `loadgen`.
    if std::env::args_os().nth(1).is_some_and(|a| a == "loadgen") {
        return loadgen::cli::main(std::env::args_os().skip(1)).await;
    }
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("realtime_playground=info,poem=warn")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a terminal; a log file or a pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let open = config.open;
    let server = match bind(config).await {
        Ok(server) => server,
        Err(err) if err.kind() == std::io::ErrorKind::Other => {
            // Not the socket: the lessons or Redis (--redis-url); the message says which.
            eprintln!("error: cannot start: {err}");
            return std::process::ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("error: cannot listen: {err}");
            eprintln!("hint: another program may use the port; try --port 0 to pick a free one.");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = server.local_addr();
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let home = format!("http://{host}:{}/", addr.port());
    println!(
        "{}{}",
        realtime_playground::app::server::READY_LINE,
        addr.port()
    );
    println!("  Home page:  {home}");
    println!("  Swagger UI: {home}docs");
    println!("  OpenAPI:    {home}openapi.json");
    println!("  Progress:   {}", server.state().keeping);
    println!("Press Ctrl-C to stop.");
    if !addr.ip().is_loopback() {
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
    if open && let Err(err) = open_browser(&home) {
        eprintln!("could not open a browser ({err}); open {home} yourself.");
    }
    let until_stdin_closes = server.state().config.until_stdin_closes;
    let signal = async move {
        if until_stdin_closes {
            tokio::select! {
                _ = shutdown::os_signal() => {},
                _ = shutdown::stdin_closed() => {},
            }
        } else {
            shutdown::os_signal().await
        }
    };
    match server.run(signal).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
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
