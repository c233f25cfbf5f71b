#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Durable ingest throughput vs the broker ceiling, same run, same broker.

    bench/bench_ingest.py [BUILD_DIR] [N_LIVE] [N_BACKLOG]

BUILD_DIR defaults to build-ingest-rel (RelWithDebInfo). Uses
BUILD_DIR/bench/bench_ingest (C publisher and counting subscriber) and the
daemon at $ASYNCBRIDGE_BIN or BUILD_DIR/bridge/asyncbridge.

  ceiling  a Paho C QoS 1 subscriber (persistent session) that only counts
  bridge   `asyncbridge run` (journal and sync modes): a message counts
           when its event is committed (max(seq) polled read-only)

Live: subscriber/bridge connected, the C publisher sends N as fast as its
in-flight window allows. Backlog: N queued in the broker while the
consumer is down, then it starts. Rate = N / (first .. last message).
CPU us/msg = the bridge process's user+system CPU time (/proc/PID/stat,
its whole life incl. start-up) / N: stable on a loaded machine where the
wall-clock rates are not. Prints figures; asserts nothing.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
os.environ.setdefault("ASYNCBRIDGE_SRC", SRC)

import harness  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build-ingest-rel"))
N_LIVE = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
N_BACKLOG = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
TOOL = os.path.join(BUILD, "bench", "bench_ingest")
BIN = os.environ.get("ASYNCBRIDGE_BIN", os.path.join(BUILD, "bridge", "asyncbridge"))
harness.BIN = BIN
SPEC = os.path.join(SRC, "tests", "fixtures", "ingest", "spec.yaml")


def publish(port, n):
    out = subprocess.run([TOOL, "pub", str(port), str(n)], capture_output=True, text=True,
                         timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"publisher failed: {out.stderr}")
    return out.stdout.strip()


def ceiling(port, n, backlog):
    cid = f"ceiling-{'b' if backlog else 'l'}-{time.time_ns()}"
    subprocess.run([TOOL, "init", str(port), cid], check=True, timeout=60)
    if backlog:
        publish(port, n)
    sub = subprocess.Popen([TOOL, "sub", str(port), str(n), cid], stdout=subprocess.PIPE,
                           text=True)
    assert sub.stdout.readline().strip() == "ready"
    if not backlog:
        publish(port, n)
    out, _ = sub.communicate(timeout=900)
    rate = float(out.strip().split()[-2])
    return rate


def cpu_s(pid):
    """utime + stime of a live process, seconds (from /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def bridge_run(tmp, port, n, backlog, mode):
    name = f"{mode}-{'backlog' if backlog else 'live'}"
    db = tmp.join(f"{name}.db")
    br = harness.Bridge(tmp.path, SPEC, port, db=db, name=name,
                        extra_args=["--ingest-mode", mode])
    if backlog:
        # create the persistent session, leave, let the broker queue n
        br.start()
        br.stop()
        publish(port, n)
    t_start = time.monotonic()
    br.start(wait_subscribed=not backlog)
    if not backlog:
        import threading
        th = threading.Thread(target=publish, args=(port, n))
        th.start()
    # backlog: from the process start (includes loading the spec and opening
    # the store: conservative); live: from the first committed event
    first = (t_start, 0) if backlog else None
    last = None
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        seq = harness.db_scalar(db, "SELECT max(seq) FROM events") or 0
        now = time.monotonic()
        if seq > 0 and first is None:
            first = (now, seq)
        if seq >= n:
            last = now
            break
        time.sleep(0.01)
    cpu = cpu_s(br.proc.pid)  # whole process life: start-up + drain
    if not backlog:
        th.join()
    br.stop()
    if last is None:
        raise RuntimeError(f"bridge {name}: not all {n} committed:\n{br.log_tail()}")
    return (n - first[1]) / (last - first[0]), cpu * 1e6 / n


def main():
    tmp = harness.TempDir("abbench-")
    broker = harness.Mosquitto(tmp.path, max_queued=2 * max(N_LIVE, N_BACKLOG),
                               autosave=3600).start()
    try:
        rows = []
        for backlog, n in ((False, N_LIVE), (True, N_BACKLOG)):
            what = "backlog" if backlog else "live"
            c = ceiling(broker.port, n, backlog)
            for mode in ("journal", "sync"):
                b, us = bridge_run(tmp, broker.port, n, backlog, mode)
                rows.append((what, n, mode, c, b, us))
        print(f"{'stream':8} {'n':>7} {'mode':8} {'ceiling msg/s':>14} {'bridge msg/s':>13} "
              f"{'ratio':>6} {'bridge cpu us/msg':>17}")
        for what, n, mode, c, b, us in rows:
            print(f"{what:8} {n:7d} {mode:8} {c:14.0f} {b:13.0f} {b / c:6.1%} {us:17.1f}")
    finally:
        broker.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
