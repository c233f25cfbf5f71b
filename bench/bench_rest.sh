#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# REST read benchmark (issue 4): GET /api/v1/devices/{id}/events?limit=100
# under wrk (2 threads, 64 connections) against `asyncbridge serve` on a
# store of N events over 1000 devices. Prints wrk's figures and the
# server's RSS; asserts nothing. Needs Debian's wrk (apt-get install wrk).
#
#   [ASYNCBRIDGE_BIN=daemon] bench/bench_rest.sh BUILD_DIR [EVENTS] [DURATION]
#   e.g. bench/bench_rest.sh build-http-rel 1000000 15s
# The store is cached as /tmp/asyncbridge-bench-<EVENTS>.db (built once with
# bench_rest_gen, a few minutes per million events).
set -euo pipefail
BUILD=${1:?usage: bench_rest.sh BUILD_DIR [EVENTS] [DURATION]}
EVENTS=${2:-1000000}
DUR=${3:-15s}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ASYNCBRIDGE_BIN:-$BUILD/bridge/asyncbridge}
GEN=$BUILD/bench/bench_rest_gen
DB=${BENCH_DB:-/tmp/asyncbridge-bench-$EVENTS.db}
PORT=${BENCH_PORT:-18099}
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)"; exit 2; }
if [ ! -s "$DB" ]; then
  echo "building $DB ($EVENTS events over 1000 devices)..."
  "$GEN" --db "$DB" --events "$EVENTS" --devices 1000
fi
"$BIN" serve --db "$DB" --spec "$SRC/examples/fleet.yaml" --http 127.0.0.1:$PORT 2>/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$LUA"' EXIT
LUA=$(mktemp /tmp/bench_rest.XXXX.lua)
cat > "$LUA" <<'LUAEOF'
-- one request per device id, round robin over 1000 devices
local i = 0
request = function()
  i = (i + 7) % 1000
  return wrk.format("GET", string.format("/api/v1/devices/gh-%04d/events?limit=100", i))
end
LUAEOF
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/api/v1/devices/gh-0001/events?limit=100" -o /dev/null -w "response bytes: %{size_download}\n"
# server CPU (user+system clock ticks) of the serve process
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$PID/stat"; }
# runs wrk, prints its figures and the server's CPU time per request (us):
# a figure that stays comparable on a loaded machine, unlike req/s
run_wrk() {
  local t0 t1 out reqs
  t0=$(cpu_ticks)
  out=$(wrk -t2 -c64 -d"$DUR" --latency "$@")
  t1=$(cpu_ticks)
  echo "$out" | grep -E "Requests/sec|Latency|99%|90%|50%|Socket|Non-2xx"
  reqs=$(echo "$out" | awk '/requests in/{print $1}')
  awk -v d=$((t1 - t0)) -v r="$reqs" -v hz="$(getconf CLK_TCK)" \
    'BEGIN{ if (r > 0) printf "  server cpu: %.1f us/request (%d requests, %.2f s cpu)\n", d * 1e6 / hz / r, r, d / hz }'
}
echo "== $EVENTS events: one device URL"
run_wrk "http://127.0.0.1:$PORT/api/v1/devices/gh-0001/events?limit=100"
echo "== $EVENTS events: round robin over 1000 devices"
run_wrk -s "$LUA" "http://127.0.0.1:$PORT"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server RSS: $(awk '/VmRSS/{print $2, $3}' /proc/$PID/status)  (peak $(awk '/VmHWM/{print $2, $3}' /proc/$PID/status))"
