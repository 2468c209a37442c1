#!/usr/bin/env bash
# Conformance smoke test: starts each server on a free port, runs smoke.py
# against it, stops it, and prints a closing `N passed, N failed` line.
#
#   bench/peers/smoke.sh                  # fastapi, node and rust
#   bench/peers/smoke.sh fastapi node     # only these
#   bench/peers/smoke.sh url http://127.0.0.1:8080   # a server already running
#
# `rust` runs target/release/realtime-playground (built with
# `cargo build --release` if missing) with the flags that make it speak the
# benchmark contract: ids from one, feeds paused, no publish rate limit, no
# per-address connection cap.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
logs="$(mktemp -d)"
servers_passed=0
servers_failed=0
pid=""

stop() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pid=""
}
trap stop EXIT

# Waits for "... running on port N" on the server's stdout; prints N.
wait_for_port() {
  local out=$1 deadline=$((SECONDS + 300))
  while ((SECONDS < deadline)); do
    if port=$(grep -soE 'running on port [0-9]+' "$out" | grep -oE '[0-9]+$'); then
      echo "$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

run_one() {
  local name=$1 out="$logs/$1.out" err="$logs/$1.err"
  echo "== $name"
  case "$name" in
    fastapi | node)
      "$here/start" "$name" 0 >"$out" 2>"$err" &
      ;;
    rust)
      local bin="$root/target/release/realtime-playground"
      [[ -x "$bin" ]] || (cd "$root" && cargo build --release)
      "$bin" --port 0 --feeds-paused --ephemeral --event-ids from-one \
        --publish-rate-per-learner 1000000 --publish-rate-per-address 1000000 --publish-rate-total 1000000 --max-connections-per-address 0 >"$out" 2>"$err" &
      ;;
  esac
  pid=$!
  local port
  if ! port=$(wait_for_port "$out"); then
    echo "FAIL $name did not start; its stderr:"
    sed 's/^/    /' "$err"
    servers_failed=$((servers_failed + 1))
    stop
    return
  fi
  echo "   $name is pid $pid on port $port"
  if python3 "$here/smoke.py" "http://127.0.0.1:$port"; then
    servers_passed=$((servers_passed + 1))
  else
    servers_failed=$((servers_failed + 1))
    echo "   $name's stderr:"
    sed 's/^/    /' "$err"
  fi
  stop
}

if [[ ${1:-} == url ]]; then
  python3 "$here/smoke.py" "${2:?usage: $0 url http://127.0.0.1:PORT}"
  exit
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fastapi node rust)
for t in "${targets[@]}"; do
  case "$t" in
    fastapi | node | rust) run_one "$t" ;;
    *)
      echo "unknown server $t (fastapi, node, rust)" >&2
      exit 2
      ;;
  esac
done
echo "servers: $servers_passed passed, $servers_failed failed"
[[ $servers_failed -eq 0 ]]
