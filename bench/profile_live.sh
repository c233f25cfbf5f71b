#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/profile_live.sh [BUILD_DIR] [keep]: where a paced live stream's CPU goes.
# Starts a private mosquitto and the bridge, publishes MSGS (100000) QoS 1
# messages with bench_pub at RATE (20000) msg/s from DEVICES (8) devices,
# waits until all are stored, and prints bench_pub's line, the CPU of each
# bridge thread (ab-writer, MQTTAsync_rcv, ab-projector, ...) and of
# mosquitto while the stream ran (from the first publish until a second
# after the last PUBACK, so the projector's last fold is counted), and the
# commit count. BRIDGE_ARGS adds flags to the bridge; 'keep' keeps the work
# folder. Prints figures, asserts nothing.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
msgs=${MSGS:-100000}
rate=${RATE:-20000}
devices=${DEVICES:-8}
spec=$top/examples/fleet.yaml
for bin in "$build/bridge/asyncbridge" "$build/bench/bench_pub"; do
    [ -x "$bin" ] || { echo "profile_live: '$bin' is not built (run 'make')"; exit 1; }
done
. "$top/bench/profile_lib.sh"
$build/bridge/asyncbridge run --spec $spec --broker $url --db $work/b.db \
    --http 127.0.0.1:0 ${BRIDGE_ARGS:-} >$work/b.log 2>&1 & bpid=$!
sleep 1
tick=$(getconf CLK_TCK)
cpu_of() { awk '{print $14+$15}' "$1/stat" 2>/dev/null || echo 0; }
declare -A c0
for t in /proc/$bpid/task/*; do c0[$t]=$(cpu_of $t); done
m0=$(cpu_of /proc/$mpid)
$build/bench/bench_pub $port $msgs $rate profile-live $devices
wait_stored $work/b.db $msgs
sleep 1
for t in /proc/$bpid/task/*; do
    echo "$(cat $t/comm 2>/dev/null) $(( $(cpu_of $t) - ${c0[$t]:-0} ))"
done | awk -v t=$tick '{a[$1]+=$2} END {for (k in a) if (a[k] > 0) printf "  %-16s %.2f\n", k, a[k]/t}' | sort -k2 -nr
echo "  mosquitto        $(awk -v t=$tick -v m0=$m0 '{printf "%.2f", ($14+$15-m0)/t}' /proc/$mpid/stat)"
hport=http://127.0.0.1:$(grep -o "(port [0-9]*" $work/b.log | tail -1 | grep -o "[0-9]*")
curl -s $hport/metrics | grep -E '^asyncbridge_commits_total '
kill -INT $bpid; wait $bpid 2>/dev/null; sleep 0.5
kill $mpid; wait $mpid 2>/dev/null
[ "${2:-}" = keep ] && echo "work folder: $work" || rm -rf $work
