#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/profile_drain.sh [BUILD_DIR] [keep]: where a backlog drain's CPU goes.
# Queues MSGS (100000) QoS 1 messages from asyncbridge-sim at a private
# mosquitto while the bridge's session exists, then starts the bridge and
# prints msg/s until all are stored, the bridge's and mosquitto's CPU during
# the drain, the CPU of each bridge thread (ab-writer, MQTTAsync_rcv, ...)
# and the commit count. DEVICES (8) sets the simulated fleet's size.
# PERF="perf record -g -o /tmp/perf.data --" runs the
# draining bridge under a profiler; BRIDGE_ARGS adds flags to the bridge;
# 'keep' keeps the work folder. Prints figures, asserts nothing.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
msgs=${MSGS:-100000}
spec=$top/examples/fleet.yaml
. "$top/bench/profile_lib.sh"
$build/bridge/asyncbridge run --spec $spec --broker $url --db $work/b.db --http 127.0.0.1:0 ${BRIDGE_ARGS:-} >$work/b.log 2>&1 & bpid=$!
sleep 1; kill -TERM $bpid; wait $bpid
$build/firmware-sim/asyncbridge-sim --spec $spec --broker $url --devices ${DEVICES:-8} --rate 0 --count $msgs --qos 1 --seed 1 --client-prefix q >/dev/null 2>$work/sim.log
t0=$(date +%s.%N)
m0=$(awk '{print $14+$15}' /proc/$mpid/stat)
${PERF:-} $build/bridge/asyncbridge run --spec $spec --broker $url --db $work/b.db --http 127.0.0.1:0 ${BRIDGE_ARGS:-} >>$work/b.log 2>&1 & bpid=$!
sleep 0.2
[ -n "${PERF:-}" ] && bpid=$(pgrep -n -f "asyncbridge run" )
wait_stored $work/b.db $msgs
t1=$(date +%s.%N)
tick=$(getconf CLK_TCK)
# CPU right at the end of the drain (before any work the bridge does after it)
bcpu=$(awk -v t=$tick '{printf "%.2f", ($14+$15)/t}' /proc/$bpid/stat)
threads=$(for t in /proc/$bpid/task/*; do awk -v t=$tick '{printf "  %-16s %.2f\n", $2, ($14+$15)/t}' $t/stat 2>/dev/null; done | sort -k2 -nr | head -8)
hport=http://127.0.0.1:$(grep -o "(port [0-9]*" $work/b.log | tail -1 | grep -o "[0-9]*")
curl -s $hport/metrics | grep -E '^asyncbridge_(commits_total|commit_latency_seconds_sum) ' | tr '\n' ' '; echo
echo "rate $($py -c "print('%.0f' % ($msgs/($t1-$t0)))") msg/s; bridge cpu $bcpu s; mosquitto drain cpu $(awk -v t=$tick -v m0=$m0 '{printf "%.2f", ($14+$15-m0)/t}' /proc/$mpid/stat)"
echo "$threads"
kill -INT $bpid; wait $bpid 2>/dev/null; sleep 0.5
kill $mpid; wait $mpid 2>/dev/null
[ "${2:-}" = keep ] && echo "work folder: $work" || rm -rf $work
