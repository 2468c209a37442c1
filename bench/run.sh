#!/usr/bin/env bash
# Benchmarks (issue 8) in one command: builds the release binaries, starts
# each server in turn on a free loopback port (this one, the same with the
# traffic log on, the same with its events through Redis when redis-server is
# installed, then the Node and FastAPI peers when bench/peers/start can run them), drives each with the same load-generator scenarios (crates/loadgen/,
# binary `loadgen`), stops it, then prints the targets and the ratio table
# and records them in bench/RESULTS.md with the machine description.
# Then the per-core comparison (issue 19): each server pinned to one core
# (this one with --worker-threads 1 and its traffic log on), the generator to
# another; and the most idle connections the file limit allows (50,000 asked).
#
#   bench/run.sh           full run (10,000 SSE + 9,000 WS, ...; a few minutes)
#   bench/run.sh --quick   smaller numbers, under 2 minutes
#
# PEERS="node" limits the peers run (default: node fastapi); PEERS_START
# points at another checkout's bench/peers/start (default: this one's).
#
# Every report is kept as JSON in target/bench/<date>/<server>-<scenario>.json.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

# Every client is a socket: allow as many as the system lets this shell have
# (the 50,000-connection run needs more than that on most machines; raising the
# hard limit needs root with CAP_SYS_RESOURCE).
ulimit -Hn 120000 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"

cargo build --release --locked --bin realtime-playground --bin loadgen
loadgen=target/release/loadgen
out="target/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
notes=()
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

# The scenarios, the same for every server.
if [[ -n $quick ]]; then
  connect=(--sse 1000 --websockets 900 --publishers 1 --rate 1 --warmup-secs 1 --duration-secs 2)
  fanout=(--sse 1000 --fanout-events 10 --fanout-gap-ms 200)
  sustained=(--sse 250 --websockets 250 --long-pollers 20 --pollers 20 --poll-interval-ms 1000
             --publishers 4 --rate 160 --warmup-secs 1 --duration-secs 4)
  poll=(--pollers 64 --poll-interval-ms 0 --publishers 0 --warmup-secs 1 --duration-secs 3)
  rounds=2
  idle=500
  core_fanout=(--sse 500 --fanout-events 5 --fanout-gap-ms 200)
  core_fanout1=(--sse 1000 --fanout-events 1)
  core_stream=(--sse 100 --websockets 100 --publishers 2 --rate 20 --warmup-secs 1 --duration-secs 3)
  hold=2000
else
  connect=(--sse 10000 --websockets 9000 --publishers 1 --rate 1 --warmup-secs 2 --duration-secs 5)
  fanout=(--sse 10000 --fanout-events 20 --fanout-gap-ms 200)
  sustained=(--sse 1000 --websockets 1000 --long-pollers 50 --pollers 50 --poll-interval-ms 1000
             --publishers 8 --rate 40 --warmup-secs 3 --duration-secs 15)
  poll=(--pollers 64 --poll-interval-ms 0 --publishers 0 --warmup-secs 2 --duration-secs 10)
  rounds=3
  idle=5000
  core_fanout=(--sse 5000 --fanout-events 10 --fanout-gap-ms 200)
  core_fanout1=(--sse 10000 --fanout-events 1)
  core_stream=(--sse 1000 --websockets 1000 --publishers 4 --rate 20 --warmup-secs 2 --duration-secs 10)
  hold=50000
fi

pid=
stop_server() {
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}
trap stop_server EXIT

# start_server NAME PATTERN COMMAND...: runs COMMAND in the background and
# waits (up to 60 s) for a stdout line "<PATTERN> <port>"; sets pid and port.
start_server() {
  local name=$1 pattern=$2
  shift 2
  "$@" >"$out/$name.out" 2>"$out/$name.err" &
  pid=$!
  port=
  for _ in $(seq 600); do
    port=$(sed -n "s/^${pattern} \([0-9][0-9]*\).*/\1/p" "$out/$name.out" | head -n1)
    if [[ -n $port ]]; then
      # The accept queue's size: connection bursts beyond it wait ~1 s for a SYN retry.
      local backlog
      backlog=$(ss -Hltn "sport = :$port" 2>/dev/null | awk '{print $3}' | head -n1)
      local note="$name listens with a backlog of ${backlog:-?} (\`ss -ltn\` Send-Q); the generator opens up to 256 connections at once."
      [[ " ${notes[*]} " == *"$note"* ]] || notes+=("$note")
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: $name did not start (see $out/$name.err)" >&2
  stop_server
  return 1
}

# drive NAME SCENARIO...: runs the named scenarios against the running server
# (`poll2` is the `poll` scenario again, saved under its own name;
# `fanout:core_fanout` runs the array core_fanout, saved as `fanout`).
# Polling goes first, on the fresh server, so the traffic-log comparison (and
# the peers') compares like with like; memory per connection is a difference
# of RSS around each connect stage, so it does not need a fresh server.
# `pin` (empty, or taskset and a core) goes before the generator.
pin=()
drive() {
  local name=$1
  shift
  for spec in "$@"; do
    local scenario=${spec%%:*} array=${spec#*:}
    [[ $spec == *:* ]] || array=${scenario%%[0-9]*}
    local -n args=$array
    echo "== $name: $scenario" >&2
    # Bounded: a run never asks for more than 600 s, plus connecting and stopping.
    if ! timeout 900 "${pin[@]}" "$loadgen" --url "http://127.0.0.1:$port" --pid "$pid" --label "$name $scenario" \
      "${args[@]}" --json "$out/$name-$scenario.json"; then
      notes+=("$name $scenario: the load generator failed (see the run's output).")
    fi
    sleep 1
  done
}

playground=(target/release/realtime-playground --port 0 --feeds-paused --ephemeral --event-ids from-one
            --publish-rate-per-learner 1000000 --publish-rate-per-address 1000000 --publish-rate-total 1000000 --max-connections-per-address 0)
export RUST_LOG=realtime_playground=warn,poem=warn

start_server playground "realtime-playground is running on port" "${playground[@]}" --no-traffic-log
drive playground poll connect fanout sustained
stop_server

start_server playground-traffic "realtime-playground is running on port" "${playground[@]}"
drive playground-traffic poll
stop_server

# Polling throughput moves by ±15 % from one run to the next on shared
# cores, more than the traffic log's cost: more rounds, traffic log off and
# on in turn, each on a fresh server; the summary takes the medians.
for round in $(seq 2 "$rounds"); do
  start_server playground "realtime-playground is running on port" "${playground[@]}" --no-traffic-log
  drive playground "poll$round"
  stop_server
  start_server playground-traffic "realtime-playground is running on port" "${playground[@]}"
  drive playground-traffic "poll$round"
  stop_server
done

# The same server with its hub behind Redis (issue 9): what sharing the
# event stream between instances costs one instance. Redis persists with
# an append-only file synced every second (its usual durable setting).
if command -v redis-server >/dev/null 2>&1; then
  redis_port=$("$loadgen" free-port)
  mkdir -p "$out/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes \
    --appendfsync everysec --dir "$out/redis" >"$out/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  if start_server playground-redis "realtime-playground is running on port" "${playground[@]}" \
      --no-traffic-log --redis-url "redis://127.0.0.1:$redis_port/"; then
    drive playground-redis poll connect fanout sustained
    stop_server
  else
    notes+=("playground-redis did not start (see $out/playground-redis.err).")
  fi
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  notes+=("playground-redis is this server with \`--redis-url\` (Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-), append-only file synced every second, on the same machine).")
else
  notes+=("In-memory vs Redis skipped: redis-server is not installed (apt-get install redis-server).")
fi

# TLS and HTTP/2 (issue 18): one idle connection's cost, plain, over TLS with
# HTTP/1.1 and over TLS with HTTP/2, each kind on a fresh server (its
# generated certificate kept in a data directory of the run, trusted by the
# generator alone).
mkdir -p "$out/tls"
for kind in sse-plain sse-h1 sse-h2 ws-plain ws-h1 ws-h2; do
  data="$out/tls-data-$kind"
  tls_flag=()
  [[ $kind == *-plain ]] || tls_flag=(--tls)
  if start_server "playground-$kind" "realtime-playground is running on port" \
      target/release/realtime-playground --port 0 --feeds-paused --data-dir "$data" "${tls_flag[@]}" \
      --no-traffic-log --max-connections-per-address 0; then
    echo "== playground: $idle idle $kind" >&2
    if ! timeout 300 "$loadgen" tls-idle --port "$port" --pid "$pid" --kind "$kind" --connections "$idle" \
        --ca "$data/tls/localhost-cert.pem" --json "$out/tls/$kind.json"; then
      notes+=("tls-idle $kind: the load generator failed (see the run's output).")
    fi
    stop_server
  fi
done

peers_start=${PEERS_START:-bench/peers/start}
for peer in ${PEERS-node fastapi}; do
  if [[ ! -x $peers_start ]]; then
    echo "bench: skipping $peer: $peers_start is missing" >&2
    notes+=("$peer peer skipped: $peers_start is missing in this checkout.")
    continue
  fi
  peer_port=$("$loadgen" free-port)
  if ! start_server "$peer" "peer $peer is running on port" "$peers_start" "$peer" "$peer_port"; then
    notes+=("$peer peer skipped: \`$peers_start $peer $peer_port\` did not print its port within 60 s (see $out/$peer.err).")
    continue
  fi
  drive "$peer" poll connect fanout sustained
  stop_server
done

# Per core (issue 19): each server alone on core 0 (ours with one worker
# thread and the traffic log on, as a learner runs it; Node and uvicorn run
# one thread anyway), the generator on core 1, so the numbers say what one
# core of each server does. Scenario names may not contain '-'.
pollanon=("${poll[@]}" --anonymous-pollers)
fanoutws=("${core_fanout[@]/--sse/--websockets}")
fanoutws1=("${core_fanout1[@]/--sse/--websockets}")
core_scenarios=(poll pollanon:pollanon fanout:core_fanout fanout1:core_fanout1 fanoutws:fanoutws
                fanoutws1:fanoutws1 stream:core_stream connect)
if command -v taskset >/dev/null 2>&1 && (( $(nproc) >= 2 )); then
  pin=(taskset -c 1)
  start_server core-playground "realtime-playground is running on port" taskset -c 0 "${playground[@]}" --worker-threads 1 \
    && { drive core-playground "${core_scenarios[@]}"; stop_server; }
  for peer in ${PEERS-node fastapi}; do
    [[ -x $peers_start ]] || continue
    peer_port=$("$loadgen" free-port)
    if start_server "core-$peer" "peer $peer is running on port" taskset -c 0 "$peers_start" "$peer" "$peer_port"; then
      drive "core-$peer" "${core_scenarios[@]}"
      stop_server
    fi
  done
  pin=()
  notes+=("Per core: each server pinned to core 0 (\`taskset -c 0\`; this server with \`--worker-threads 1\` and its traffic log on), the generator to core 1.")
else
  notes+=("Per-core comparison skipped: it needs taskset (util-linux) and 2 cores.")
fi

# 50,000 idle connections (issue 19), half SSE, half WebSocket, from source
# addresses spread over 127.0.0.0/8; then one event to all of them. The
# server and the generator each need a file descriptor per connection.
files=$(ulimit -n)
held=$hold
if (( files < hold + 1000 )); then
  held=$(( (files - 1000) / 1000 * 1000 ))
  notes+=("Many idle connections: $held, not $hold: the open-files limit here is $files (hard limit; raising it needs root with CAP_SYS_RESOURCE, which this machine refused), and the server and the generator each need one per connection.")
fi
hold_scenario=(--sse $((held / 2)) --websockets $((held - held / 2)) --fanout-events 1 --connect-concurrency 512)
if start_server playground50k "realtime-playground is running on port" "${playground[@]}" --no-traffic-log; then
  echo "== playground50k: hold $held" >&2
  if ! timeout 900 "$loadgen" --url "http://127.0.0.1:$port" --pid "$pid" --label "playground hold $held" \
      "${hold_scenario[@]}" --json "$out/playground50k-hold.json"; then
    notes+=("playground50k hold: the load generator failed (see the run's output).")
  fi
  stop_server
fi

notes+=("The generator and the server share the machine's cores; other processes were running too (load average at the start: $load_at_start).")
note_args=()
for n in "${notes[@]}"; do note_args+=(--note "$n"); done
"$loadgen" summarize --dir "$out" --out bench/RESULTS.md ${quick:+--quick} \
  --command "bench/run.sh${quick:+ --quick}" --commit "$(git rev-parse --short HEAD)" "${note_args[@]}"
echo "bench: reports in $out, record in bench/RESULTS.md" >&2
