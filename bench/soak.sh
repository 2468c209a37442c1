#!/usr/bin/env bash
# Soak test: builds the release server and the soak tool, runs 10 minutes of
# mixed load (pollers, long-pollers, SSE, WebSocket, publishers, random drops)
# and records the result in bench/SOAK.md (JSON in target/soak/result.json).
# Extra arguments go to the tool, e.g. `bench/soak.sh --seconds 60 --no-record`.
# Exits non-zero when the run fails (RSS growth >= 5 %, errors, lost events,
# connections left open).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin realtime-playground --example soak
SOAK_COMMAND="bench/soak.sh${*:+ $*}" exec target/release/examples/soak "$@"
