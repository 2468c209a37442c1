//! `loadgen`: drives a running server (this one or a peer) with many real
//! clients and prints what it measured; see [`realtime_playground::load`].
//! `realtime-playground loadgen …` is the same command.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    realtime_playground::load::cli::main(std::env::args_os()).await
}
