#!/usr/bin/env bash
# Where an idle connection's memory goes: runs the release server under
# heaptrack three times — with no clients, with N idle SSE streams, with N
# idle WebSockets (opened by the load generator) — and prints heaptrack's
# peak consumers of each run minus the run without clients, divided by N:
# heap bytes per connection, by the function that allocated them.
#
#   bench/profile-memory.sh [N]        (default 3000; needs heaptrack:
#                                       apt-get install heaptrack)
# The findings are written up in bench/PROFILE-memory.md.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3000}
command -v heaptrack >/dev/null || { echo "needs heaptrack (apt-get install heaptrack)" >&2; exit 1; }
cargo build --release --locked --quiet --bin realtime-playground --bin loadgen
out=$(mktemp -d)
server=
# A failed step must not leave a traced server behind.
trap '[[ -n $server ]] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT

# traced NAME [LOADGEN ARGS...]: one server under heaptrack, driven by the generator.
traced() {
  local name=$1 port pid tracer
  shift
  port=$(target/release/loadgen free-port)
  heaptrack -o "$out/$name" target/release/realtime-playground --port "$port" --feeds-paused --ephemeral \
    --no-traffic-log --max-connections-per-address 0 >"$out/$name.log" 2>&1 &
  tracer=$!
  pid=
  for _ in $(seq 300); do
    pid=$(pgrep -f "^target/release/realtime-playground --port $port" || true)
    server=$pid
    [[ -n $pid ]] && curl -sf "http://127.0.0.1:$port/api/status" >/dev/null && break
    sleep 0.1
  done
  if [[ $# -gt 0 ]]; then
    target/release/loadgen --url "http://127.0.0.1:$port" --pid "$pid" "$@" \
      --publishers 1 --rate 1 --warmup-secs 1 --duration-secs 2 >"$out/$name.report"
    grep -E "^(connect|sse |websocket )" "$out/$name.report" | head -2
  fi
  kill -INT "$pid"
  wait "$tracer" || true
  server=
}

traced idle
for kind in sse websockets; do
  traced "$kind" "--$kind" "$n"
  echo "== $kind: heap bytes per connection at the peak, by allocating function (N=$n)"
  heaptrack_print -f "$out/$kind.zst" -d "$out/idle.zst" -p 1 -a 0 -T 0 -l 0 -n 40 -s 0 2>/dev/null |
    grep -A1 "peak memory consumed over" | grep -v "^--" | paste - - |
    awk -v n="$n" '{
      size=$1; unit=substr(size, length(size)); v=substr(size, 1, length(size)-1)
      if (unit=="K") v*=1024; else if (unit=="M") v*=1048576; else if (unit=="G") v*=1073741824
      if (v/n >= 16) { printf "%8.0f B  %s\n", v/n, $9; total += v/n }
    }
    END { printf "%8.0f B  in all (entries of 16 B or more)\n", total }'
done
