#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh [BUILD_DIR]: the benchmark harness (make bench). Starts a private
# mosquitto on a free loopback port and measures in one run:
#   (a) the ceiling live: bench_ceiling, a count-only Paho subscriber (QoS 1,
#       persistent session);
#   (b) asyncbridge's durable ingest live (`asyncbridge run` on
#       examples/fleet.yaml, temp db);
#   (b2) paced live streams at BENCH_LIVE_RATES (20000 40000 msg/s): bench_pub
#       publishes at that rate to the ceiling, then to the bridge;
#   (c) backlog drains in BENCH_ROUNDS rounds, each: the ceiling (stock Paho,
#       trace off, trace off with batched socket I/O), then the bridge; and
#       the medians of the ratios;
#   (d) the validator and router micro-benchmarks, if built.
# The load is asyncbridge-sim (QoS 1, as fast as the broker takes it).
# Prints a table; asserts nothing; exits 0. Environment: BENCH_MSGS (100000),
# BENCH_DEVICES (8), BENCH_ROUNDS (3), BENCH_LIVE_RATES. See bench/README.md.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
sim=$build/firmware-sim/asyncbridge-sim
ceiling=$build/bench/bench_ceiling
bridge=$build/bridge/asyncbridge
spec=$top/examples/fleet.yaml
msgs=${BENCH_MSGS:-100000}
devices=${BENCH_DEVICES:-8}
py=/usr/bin/python3
mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)

for bin in "$sim" "$ceiling"; do
    [ -x "$bin" ] || { echo "bench: '$bin' is not built (run 'make')"; exit 0; }
done
[ -x "$mosq" ] || { echo "bench: mosquitto is not installed (run 'make deps')"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/asyncbridge-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
url=mqtt://127.0.0.1:$port
turl=tcp://127.0.0.1:$port
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages $((msgs * 2))
max_queued_bytes 0
memory_limit 0
max_inflight_messages 0
log_dest none
CONF
start_broker() {  # (re)starts the private mosquitto (mpid); no persistence: no sessions survive
    "$mosq" -c "$work/mosquitto.conf" & mpid=$!
    pids+=($mpid)
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
}
start_broker

# json FIELD < line
jget() { $py -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d.get('$1',''))" 2>/dev/null; }
load() {  # publishes $msgs data messages (QoS 1) and prints the sim's summary line
    "$sim" --spec "$spec" --broker "$url" --devices "$devices" --rate 0 --count "$msgs" \
        --qos 1 --seed 1 --client-prefix "bench-load-$1" 2>>"$work/sim.log" | tail -n 1
}

rows=()
row() { rows+=("$(printf '%-34s %10s %8s %8s %10s  %s' "$@")"); }
ceiling_live=0
ceiling_backlog=0
ceiling_backlog_t=0
rounds=${BENCH_ROUNDS:-3}
live_rates=${BENCH_LIVE_RATES:-20000 40000}

echo "bench: $msgs messages from $devices simulated devices, QoS 1, mosquitto on port $port"

# ---- (a) the ceiling ----------------------------------------------------------
topics=(--topic "fleet/+/telemetry" --topic "fleet/+/alerts")
"$ceiling" --broker "$turl" --client-id ceil-live --mode live "${topics[@]}" --expect "$msgs" \
    --timeout 300 > "$work/ceil-live.out" 2>>"$work/ceil.log" & cpid=$!
for _ in $(seq 200); do grep -q ready "$work/ceil-live.out" 2>/dev/null && break; sleep 0.05; done
simout=$(load ceil-live)
wait $cpid
line=$(tail -n 1 "$work/ceil-live.out")
ceiling_live=$(jget rate <<<"$line")
row "ceiling live (count-only sub)" "${ceiling_live:-?}" "1.00" "$(jget cpu_s <<<"$line")" "$(jget maxrss_kb <<<"$line")" "load: $(jget rate <<<"$simout") msg/s published"

# ---- (b) asyncbridge durable ingest -----------------------------------------------
# Counts data messages (events + dead letters, not the status channel) in the
# store, read-only; cheap: max(seq) minus the status events (an index range).
stored() {
    { $py - "$1" 0 0 <<<"$poller" 2>/dev/null || echo 0; } | cut -d' ' -f1
}
# One python process polls every 10 ms until the store holds n data messages
# (so polling costs little CPU and has fine resolution); exits 0 when reached
# and prints the count and the wall time it saw it.
poller='
import sqlite3, sys, time
db_path, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
COUNT = ("select coalesce((select max(seq) from events), 0)"
         " - (select count(*) from events where channel = \x27status\x27)"
         " + (select count(*) from dead_letters where coalesce(channel, \x27\x27) != \x27status\x27)")
end = time.monotonic() + timeout
db = None
have = 0
while True:
    try:
        if db is None:
            db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=1)
        have = db.execute(COUNT).fetchone()[0]
    except sqlite3.Error:
        db = None
    if n == 0 or have >= n or time.monotonic() > end:
        break
    time.sleep(0.01)
print(have, "%.6f" % time.time())  # when it saw them (the drain end, without this exit)
sys.exit(0 if n == 0 or have >= n else 1)
'
proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
proc_hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
ratio() { $py -c "import sys; a,b=sys.argv[1:]; print('%.2f' % (float(a)/float(b)) if a and b and float(b) > 0 else '?')" "$1" "$2" 2>/dev/null || echo '?'; }
start_bridge() {  # db log [wait_s]: starts the bridge in the background (bpid)
    "$bridge" run --spec "$spec" --broker "$url" --db "$1" --http 127.0.0.1:0 \
        >>"$2" 2>&1 & bpid=$!
    pids+=($bpid)
    sleep "${3:-1}"
    kill -0 $bpid 2>/dev/null
}
wait_stored() {  # db n timeout_s: prints when n data messages were stored (exit 0), or exits 1 at the timeout
    $py - "$1" "$2" "$3" <<<"$poller" | cut -d' ' -f2
}
tick=$(getconf CLK_TCK)

if [ -x "$bridge" ] && "$bridge" run --help >/dev/null 2>&1; then
    # live: the bridge is up, the load arrives
    if start_bridge "$work/live.db" "$work/bridge-live.log"; then
        c0=$(proc_cpu $bpid)
        t0=$(date +%s.%N)
        load bridge-live >/dev/null
        if t1=$(wait_stored "$work/live.db" "$msgs" 600); then
            rate=$($py -c "print('%.0f' % ($msgs / ($t1 - $t0)))")
            cpu=$($py -c "print('%.2f' % (($(proc_cpu $bpid) - $c0) / $tick))")
            row "asyncbridge run live" "$rate" "$(ratio "$rate" "$ceiling_live")" "$cpu" "$(proc_hwm $bpid)" "publish start to last commit"
        else
            row "asyncbridge run live" "-" "-" "-" "-" "stored $(stored "$work/live.db") of $msgs in 600 s"
        fi
        kill -TERM $bpid; wait $bpid 2>/dev/null
    else
        row "asyncbridge run live" "-" "-" "-" "-" "bridge did not start (see log)"
    fi
    bridge_ok=1
else
    bridge_ok=0
    row "asyncbridge run" "-" "-" "-" "-" "skipped: 'asyncbridge run' is not built yet"
fi

# ---- (b2) paced live streams ------------------------------------------------------
# The sim publishes as fast as the broker takes it, so the live rows above
# measure the publisher on 2 shared cores. Here bench_pub (a lean C
# publisher, one send per message) publishes at fixed rates: each rate runs
# the count-only subscriber, then the bridge, on the same load. Both are
# timed from their first message to their last (the bridge: received_at of
# the first event to the poll that saw the last one stored), and the lag is
# how long after the publisher's last PUBACK the bridge's last commit was seen.
pub=$build/bench/bench_pub
pubnote() {  # bench_pub's line, short: the rate it reached and its latest send
    sed -E 's/.* at ([0-9]+) msg\/s \(latest send ([0-9.]+) ms after.*/bench_pub sent at \1 msg\/s, latest send \2 ms late/' <<<"${1:-bench_pub failed}"
}
if [ "$bridge_ok" = 1 ] && [ -x "$pub" ]; then
    for lr in $live_rates; do
        # a fresh broker: no offline session (earlier rows) gets a copy of this load
        kill -TERM $mpid 2>/dev/null; wait $mpid 2>/dev/null
        start_broker
        "$ceiling" --broker "$turl" --client-id "ceil-paced-$lr" --mode live --topic "fleet/+/telemetry" \
            --expect "$msgs" --timeout 300 > "$work/ceil-paced.out" 2>>"$work/ceil.log" & cpid=$!
        for _ in $(seq 200); do grep -q ready "$work/ceil-paced.out" 2>/dev/null && break; sleep 0.05; done
        pubout=$("$pub" "$port" "$msgs" "$lr" "pub-ceil-$lr" "$devices" 2>>"$work/pub.log")
        wait $cpid
        line=$(tail -n 1 "$work/ceil-paced.out")
        crate=$(jget rate <<<"$line")
        row "ceiling live at $lr msg/s" "${crate:-?}" "1.00" "$(jget cpu_s <<<"$line")" "$(jget maxrss_kb <<<"$line")" "$(pubnote "$pubout")"
        db=$work/paced-$lr.db
        if start_bridge "$db" "$work/bridge-paced.log"; then
            $py - "$db" "$msgs" 600 <<<"$poller" >"$work/poll.out" 2>/dev/null & ppid=$!
            pids+=($ppid)
            c0=$(proc_cpu $bpid)
            pubout=$("$pub" "$port" "$msgs" "$lr" "pub-bridge-$lr" "$devices" 2>>"$work/pub.log")
            tp=$EPOCHREALTIME
            if wait $ppid; then
                t1=$(cut -d' ' -f2 "$work/poll.out")
                cpu=$($py -c "print('%.2f' % (($(proc_cpu $bpid) - $c0) / $tick))")
                first=$($py -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select min(received_at) from events where channel != 'status'\").fetchone()[0] / 1000.0)" "$db" 2>/dev/null)
                rate=$($py -c "print('%.0f' % ($msgs / ($t1 - ${first:-0})))" 2>/dev/null)
                lag=$($py -c "print('%.0f' % (max(0.0, $t1 - $tp) * 1000))" 2>/dev/null)
                row "asyncbridge run live at $lr msg/s" "${rate:-?}" "$(ratio "$rate" "$crate")" "$cpu" "$(proc_hwm $bpid)" "last commit seen ${lag:-?} ms after the last PUBACK (10 ms polls); $(pubnote "$pubout")"
            else
                row "asyncbridge run live at $lr msg/s" "-" "-" "-" "-" "stored $(stored "$db") of $msgs in 600 s"
            fi
            kill -TERM $bpid; wait $bpid 2>/dev/null
        else
            row "asyncbridge run live at $lr msg/s" "-" "-" "-" "-" "bridge did not start (see log)"
        fi
    done
fi

# ---- (c) backlog drains, in rounds ----------------------------------------------
# Each round drains the same backlog with the count-only subscriber (stock
# Paho, trace off, trace off with batched I/O) and then with the bridge, so a slow or fast phase of
# the machine hits both sides of a ratio; the summary gives the medians.
ceiling_drain() {  # client-id [t|b]: queues the load for a new session, prints the drain's JSON line
    local extra=()
    [ "${2:-}" = t ] && extra=(--paho-trace error)
    [ "${2:-}" = b ] && extra=(--paho-trace error --paho-io batched)
    "$ceiling" --broker "$turl" --client-id "$1" --mode subscribe "${extra[@]}" "${topics[@]}" >/dev/null 2>>"$work/ceil.log"
    load "$1" >/dev/null
    "$ceiling" --broker "$turl" --client-id "$1" --mode drain "${extra[@]}" "${topics[@]}" --expect "$msgs" --timeout 300 2>>"$work/ceil.log" | tail -n 1
}
med() { $py -c "import sys, statistics; v=[float(x) for x in sys.argv[1:] if x not in ('', '?', '-')]; print(('%.2f' % statistics.median(v)) if v else '?')" "$@" 2>/dev/null || echo '?'; }
r_stock=(); r_trace=(); r_batch=(); r_first=(); r_rate=()
for r in $(seq "$rounds"); do
    # a fresh broker per round: the offline sessions of earlier drains would
    # otherwise get a copy of every message queued later
    kill -TERM $mpid 2>/dev/null; wait $mpid 2>/dev/null
    start_broker
    line=$(ceiling_drain "ceil-backlog-$r")
    ceiling_backlog=$(jget rate <<<"$line")
    ceiling_backlog_first=$(jget rate_first <<<"$line")
    row "ceiling backlog drain #$r" "${ceiling_backlog:-?}" "1.00" "$(jget cpu_s <<<"$line")" "$(jget maxrss_kb <<<"$line")" "$(jget msgs <<<"$line") msgs queued by the broker"
    # the same with Paho's per-packet trace formatting off, as asyncbridge runs it
    line=$(ceiling_drain "ceil-backlog-t-$r" t)
    ceiling_backlog_t=$(jget rate <<<"$line")
    ceiling_backlog_t_first=$(jget rate_first <<<"$line")
    row "ceiling backlog drain, trace off #$r" "${ceiling_backlog_t:-?}" "1.00" "$(jget cpu_s <<<"$line")" "$(jget maxrss_kb <<<"$line")" "the same subscriber with Paho's trace level 'error'"
    # and with Paho's socket reads and acknowledgements batched, as asyncbridge does them
    line=$(ceiling_drain "ceil-backlog-b-$r" b)
    ceiling_backlog_b=$(jget rate <<<"$line")
    row "ceiling backlog drain, batched #$r" "${ceiling_backlog_b:-?}" "1.00" "$(jget cpu_s <<<"$line")" "$(jget maxrss_kb <<<"$line")" "trace off and --paho-io batched (bridge/src/sockio.h)"
    [ "$bridge_ok" = 1 ] || continue
    # the bridge: session exists, bridge away while the load is queued, then
    # drain. The poller starts first (python's start-up is not timed) and
    # stamps the moment it sees the last message; t0 is taken in the shell
    # (no fork) right before the bridge is started.
    db=$work/backlog-$r.db
    if start_bridge "$db" "$work/bridge-backlog.log"; then
        kill -TERM $bpid; wait $bpid 2>/dev/null
        load "bridge-backlog-$r" >/dev/null
        $py - "$db" "$msgs" 600 <<<"$poller" >"$work/poll.out" 2>/dev/null & ppid=$!
        pids+=($ppid)
        sleep 0.5
        t0=$EPOCHREALTIME
        if start_bridge "$db" "$work/bridge-backlog.log" 0 && wait $ppid; then
            t1=$(cut -d' ' -f2 "$work/poll.out")
            rate=$($py -c "print('%.0f' % ($msgs / ($t1 - $t0)))")
            cpu=$($py -c "print('%.2f' % ($(proc_cpu $bpid) / $tick))")
            rs=$(ratio "$rate" "$ceiling_backlog"); rt=$(ratio "$rate" "${ceiling_backlog_t:-0}")
            rb=$(ratio "$rate" "${ceiling_backlog_b:-0}")
            r_rate+=("$rate"); r_stock+=("$rs"); r_trace+=("$rt"); r_batch+=("$rb")
            row "asyncbridge run backlog drain #$r" "$rate" "$rs" "$cpu" "$(proc_hwm $bpid)" "from process start (spec, store, connect); $rt of the trace-off ceiling, $rb of the batched one"
            # first message received (events.received_at) to the last commit
            # seen, against the ceiling's first to last message
            first=$($py -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select min(received_at) from events where channel != 'status'\").fetchone()[0] / 1000.0)" "$db" 2>/dev/null)
            rate=$($py -c "print('%.0f' % ($msgs / ($t1 - ${first:-0})))" 2>/dev/null)
            rf=$(ratio "$rate" "${ceiling_backlog_first:-0}")
            r_first+=("$rf")
            row "  first message to last commit #$r" "${rate:-?}" "$rf" "-" "-" "ceilings' first to last message: ${ceiling_backlog_first:-?} (stock), ${ceiling_backlog_t_first:-?} (trace off: $(ratio "$rate" "${ceiling_backlog_t_first:-0}"))"
        else
            kill $ppid 2>/dev/null
            row "asyncbridge run backlog drain #$r" "-" "-" "-" "-" "stored $(stored "$db") of $msgs"
        fi
        kill -TERM $bpid 2>/dev/null; wait $bpid 2>/dev/null
    else
        row "asyncbridge run backlog drain #$r" "-" "-" "-" "-" "bridge did not start"
    fi
done
if [ "${#r_rate[@]}" -gt 0 ]; then
    row "asyncbridge backlog drain, median" "$(med "${r_rate[@]}" | cut -d. -f1)" "$(med "${r_stock[@]}")" "-" "-" "median of ${#r_rate[@]} rounds' ratios: stock $(printf '%s ' "${r_stock[@]}")| trace off $(med "${r_trace[@]}") | batched I/O $(med "${r_batch[@]}") | from the first message $(med "${r_first[@]}")"
fi
# ---- (d) micro-benchmarks ---------------------------------------------------------
micro=""
for b in bench_validator bench_router; do
    if [ -x "$build/bench/$b" ]; then
        out=$( { /usr/bin/time -f "__time %U %S %M" "$build/bench/$b"; } 2>&1 )
        tl=$(grep '^__time' <<<"$out" | tail -n 1)
        cpu=$(awk '{printf "%.2f", $2 + $3}' <<<"$tl")
        rss=$(awk '{print $4}' <<<"$tl")
        row "$b" "see below" "-" "$cpu" "$rss" ""
        micro+="--- $b"$'\n'"$(grep -v '^__time' <<<"$out")"$'\n'
    else
        row "$b" "-" "-" "-" "-" "not built"
    fi
done

echo
printf '%-34s %10s %8s %8s %10s  %s\n' "what" "msgs/s" "ratio" "cpu_s" "peak_rss_kb" "note"
printf '%s\n' "${rows[@]}"
if [ -n "$micro" ]; then
    echo
    printf '%s' "$micro"
fi
exit 0
