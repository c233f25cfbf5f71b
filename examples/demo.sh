#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: a private mosquitto on a free loopback port, `asyncbridge run` on
# examples/fleet.yaml and a simulated fleet; prints the URLs, stops everything
# on Ctrl-C. Usage: examples/demo.sh [BUILD_DIR]   (default: build)
# Environment: DEMO_DEVICES (default 24), DEMO_RATE msgs/s (default 40),
# DEMO_SECONDS (default: run until Ctrl-C; set it for a bounded run).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bridge=$build/bridge/asyncbridge
sim=$build/firmware-sim/asyncbridge-sim
spec=$top/examples/fleet.yaml
devices=${DEMO_DEVICES:-24}
rate=${DEMO_RATE:-40}

for bin in "$bridge" "$sim"; do
    [ -x "$bin" ] || { echo "demo: '$bin' is not built (run 'make')" >&2; exit 2; }
done
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] ||
    { echo "demo: mosquitto is not installed (run 'make deps')" >&2; exit 2; }
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)

# A free loopback TCP port: bind port 0 and read back what the kernel chose.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

work=$(mktemp -d "${TMPDIR:-/tmp}/asyncbridge-demo.XXXXXX")
mqtt_port=$(free_port)
http_port=$(free_port)
pids=()

cleanup() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    echo "demo: data kept in $work (demo.db, logs)"
}
trap cleanup INT TERM EXIT

cat > "$work/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
# run as whoever started the demo (as root, mosquitto would switch to the
# 'mosquitto' user, which cannot write into our private work folder)
user $(id -un)
persistence true
persistence_location $work/
max_queued_messages 100000
log_dest file $work/mosquitto.log
EOF
"$mosquitto_bin" -c "$work/mosquitto.conf" &
pids+=($!)

# Wait for the broker to listen.
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null && break
    sleep 0.1
done

"$bridge" run --spec "$spec" --broker "mqtt://127.0.0.1:$mqtt_port" \
    --db "$work/demo.db" --http "127.0.0.1:$http_port" 2>"$work/bridge.log" &
pids+=($!)
# Wait until the bridge serves HTTP (or has died).
for _ in $(seq 100); do
    kill -0 "${pids[-1]}" 2>/dev/null ||
        { echo "demo: the bridge did not start:" >&2; cat "$work/bridge.log" >&2; exit 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && break
    sleep 0.1
done

"$sim" --spec "$spec" --broker "mqtt://127.0.0.1:$mqtt_port" \
    --devices "$devices" --rate "$rate" --invalid 0.02 --seed 1 \
    >"$work/sim.json" 2>"$work/sim.log" &
pids+=($!)

base=http://127.0.0.1:$http_port
cat <<EOF

asyncbridge demo is running: $devices simulated devices, ~$rate msgs/s, 2 % invalid.

  REST     $base/api/v1/devices
           $base/api/v1/channels
           $base/api/v1/events?after=0&limit=10
           $base/api/v1/dead-letters
  live     ws://127.0.0.1:$http_port/api/v1/live     (WebSocket)
           $base/api/v1/stream                (Server-Sent Events)
  docs     $base/docs
  metrics  $base/metrics
  spec     $base/asyncapi.yaml
  MQTT     mqtt://127.0.0.1:$mqtt_port  (fleet/+/telemetry, fleet/+/status, fleet/+/alerts)
  data     $work/demo.db   logs: $work/*.log

Ctrl-C stops everything.
EOF

if [ -n "${DEMO_SECONDS:-}" ]; then
    sleep "$DEMO_SECONDS"
else
    wait "${pids[0]}"
fi
