#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Live push benchmark (issue 5); prints figures, asserts nothing.

  bench/bench_live.py BUILD_DIR fanout  [--clients 1000] [--rate 10000] [--seconds 10]
  bench/bench_live.py BUILD_DIR latency [--rate 10000] [--seconds 10]
  bench/bench_live.py BUILD_DIR mqtt    [--rate 10000] [--seconds 10]
                                        [--publisher raw|paho|python] [--py-client]
                                        [--dump FILE]
  bench/bench_live.py BUILD_DIR ceiling [--rate 10000] [--seconds 10]
                                        [--publisher raw|paho]

Both run `asyncbridge serve` on a fresh store in /tmp and append events with
python's sqlite3 in batches (commit every 1 ms), the way another process
(`asyncbridge run`) commits them; the server's log follower
(--tail-poll-ms 1) hands them to the live hub.

fanout:  N WebSocket clients, each subscribed to one device of N; events go
         round robin over the N devices. Prints the server's delivered msg/s
         (from /metrics), what the clients received, drops and RSS.
latency: one WebSocket client subscribed to the channel; each payload holds
         its commit time; prints p50/p90/p99/max of commit -> receive.
mqtt:    the real path: a private mosquitto, `asyncbridge run --http`, a
         paced QoS 1 publisher (`bench_pub`, C, raw socket, own process;
         --publisher paho for `bench_ingest pubrate`, Paho's asynchronous
         client; --publisher python for the old in-process paho-mqtt one)
         and one WebSocket client (`bench_wslat`, C, own process, when
         built; --py-client for
         the in-process python websockets one, whose own CPU use and
         scheduling delay dominate at 10k msg/s); prints MQTT publish ->
         WebSocket receive percentiles and the bridge's and the client's
         CPU time. ASYNCBRIDGE_BIN overrides the daemon; BENCH_WSLAT_PREFIX
         is prepended to bench_wslat's command line (e.g. "valgrind -q").
ceiling: the same publisher and broker with `bench_ceiling --latency`, a
         Paho C subscriber that only counts, instead of the bridge: MQTT
         publish -> subscriber callback percentiles, the floor the mqtt
         mode's figures are to be read against.
"""
import argparse
import asyncio
import json
import os
import re
import select
import shlex
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from http_fixture import make_store  # noqa: E402

import websockets  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    m = re.search(rf"^{name} (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def cpu_s(pid):
    """utime + stime of a live process, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid):
    """'name cpu_s (r READS w WRITES)' of each thread of a live process, busiest
    first; reads and writes count system calls (/proc/PID/task/TID/io)."""
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                name, rest = f.read().split("(", 1)[1].rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        io = {}
        try:
            with open(f"/proc/{pid}/task/{t}/io") as f:
                io = dict(line.split(": ") for line in f.read().splitlines())
        except OSError:
            pass
        out.append(((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), name,
                    int(io.get("syscr", 0)), int(io.get("syscw", 0))))
    out.sort(reverse=True)
    return "  ".join(f"{n} {c:.2f} (r {r} w {w})" for c, n, r, w in out if c > 0)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def writer(db, rate, seconds, devices, stop, stats):
    con = sqlite3.connect(db, timeout=30)
    seq = con.execute("SELECT coalesce(max(seq),0) FROM events").fetchone()[0]
    t_end = time.monotonic() + seconds
    tick = 0.002  # commit a batch every 2 ms
    per_tick = max(1, int(rate * tick))
    topics = {d: (f"fleet/{d}/telemetry", '{"deviceId":"%s"}' % d) for d in devices}
    n = 0
    next_t = time.monotonic()
    while time.monotonic() < t_end and not stop.is_set():
        rows = []
        now = time.time()
        for _ in range(per_tick):
            seq += 1
            d = devices[seq % len(devices)]
            topic, params = topics[d]
            rows.append((seq, "telemetry", "reading", d, topic, params,
                         '{"seq":%d,"t":%.6f,"temperature":21.5,"humidity":40.0}' % (seq, now),
                         None, int(now * 1000)))
        con.executemany("INSERT INTO events(seq,channel,message,device_id,topic,params,payload,"
                        "correlation_id,received_at) VALUES (?,?,?,?,?,?,?,?,?)", rows)
        con.commit()
        n += len(rows)
        next_t += tick
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    stats["written"] = n
    stats["last_seq"] = seq
    con.close()


async def fanout(port, pid, db, args):
    devices = [f"dev-{i:04d}" for i in range(args.clients)]
    received = [0]
    conns = []
    for d in devices:
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live?device={d}",
                                      max_queue=None, ping_interval=None)
        await ws.recv()  # subscribed
        conns.append(ws)

    async def reader(ws):
        try:
            async for _ in ws:
                received[0] += 1
        except websockets.ConnectionClosed:
            pass
    tasks = [asyncio.create_task(reader(ws)) for ws in conns]
    rss0 = rss_kb(pid)
    d0, t0 = metric(port, "asyncbridge_live_events_delivered_total"), time.monotonic()
    stop, stats = threading.Event(), {}
    th = threading.Thread(target=writer, args=(db, args.rate, args.seconds, devices, stop, stats))
    th.start()
    while th.is_alive():
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    d1, t1 = metric(port, "asyncbridge_live_events_delivered_total"), time.monotonic()
    rss1 = rss_kb(pid)
    dropped = metric(port, "asyncbridge_live_clients_dropped_total")
    for ws in conns:
        await ws.close()
    for t in tasks:
        t.cancel()
    print(f"clients: {args.clients}, events written: {stats['written']} in {args.seconds} s "
          f"({stats['written'] / args.seconds:.0f}/s)")
    print(f"server delivered: {d1 - d0} ({(d1 - d0) / (t1 - t0):.0f} msg/s over {t1 - t0:.1f} s),"
          f" clients received: {received[0]}, dropped clients: {dropped}")
    print(f"server RSS: {rss0} kB with {args.clients} idle clients, {rss1} kB after the run")


async def latency(port, pid, db, args):
    lat = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live?channel=telemetry",
                                  max_queue=None, ping_interval=None) as ws:
        await ws.recv()
        stop, stats = threading.Event(), {}
        th = threading.Thread(target=writer, args=(db, args.rate, args.seconds,
                                                   [f"dev-{i:03d}" for i in range(100)], stop,
                                                   stats))
        th.start()
        while True:
            try:
                m = await asyncio.wait_for(ws.recv(), 5)
            except asyncio.TimeoutError:
                break
            now = time.time()
            e = json.loads(m)
            if e.get("type") == "event":
                lat.append((now - e["payload"]["t"]) * 1000)
                if not th.is_alive() and e["seq"] >= stats.get("last_seq", 1 << 62):
                    break
        th.join()
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))]
    print(f"events: {len(lat)} received of {stats['written']} written at {args.rate}/s")
    print(f"commit -> WebSocket receive: p50 {pct(50):.2f} ms, p90 {pct(90):.2f} ms, "
          f"p99 {pct(99):.2f} ms, max {lat[-1]:.2f} ms")
    print(f"server RSS: {rss_kb(pid)} kB")


def wait_ready(proc, seconds):
    """Waits for a client's "ready" line; False if it exited or stayed silent."""
    r, _, _ = select.select([proc.stdout], [], [], seconds)
    return bool(r) and proc.stdout.readline().strip() == "ready"


async def mqtt_latency(args):
    from harness import Bridge, Mosquitto, Publisher
    tmp = tempfile.mkdtemp(prefix="bench-live-mqtt-")
    broker = Mosquitto(tmp).start()
    port = free_port()
    os.environ.setdefault("ASYNCBRIDGE_BIN", os.path.join(args.build, "bridge", "asyncbridge"))
    import harness
    harness.BIN = os.environ["ASYNCBRIDGE_BIN"]
    bridge = Bridge(tmp, os.path.join(SRC, "examples", "fleet.yaml"), broker.port,
                    extra_args=["--http", f"127.0.0.1:{port}"])
    bridge.start()
    lat = []
    total = args.rate * args.seconds
    use_c = args.publisher != "python"
    wslat = os.path.join(args.build, "bench", "bench_wslat")
    use_wslat = os.path.exists(wslat) and not args.py_client
    res = None  # bench_wslat's JSON line

    def publish():
        """Starts the publisher; returns a function that waits for its end."""
        if use_c:
            # the C publisher in its own process: a python publisher
            # sharing the GIL with this receiver cannot hold 10k msg/s
            proc = subprocess.Popen(publisher_cmd(args, broker.port, total),
                                    stdout=subprocess.PIPE, text=True)
            return lambda: print(proc.communicate(timeout=60)[0].strip())
        pub = Publisher(broker.port, inflight=1000)

        def stream():
            tick, per = 0.002, max(1, int(args.rate * 0.002))
            next_t, i = time.monotonic(), 0
            while i < total:
                for _ in range(per):
                    d = f"n{i % 100}"
                    pub.client.publish(f"fleet/{d}/telemetry",
                                       '{"seq":%d,"ts":"2026-11-23T10:15:00Z",'
                                       '"temperature":21.5,"humidity":%.6f}'
                                       % (i, time.time() % 100), qos=1)
                    i += 1
                next_t += tick
                d = next_t - time.monotonic()
                if d > 0:
                    time.sleep(d)
        th = threading.Thread(target=stream)
        th.start()

        def finish():
            th.join()
            pub.close()
        return finish

    async def receive(ws):
        got = 0
        while got < total:
            try:
                m = await asyncio.wait_for(ws.recv(), 10)
            except asyncio.TimeoutError:
                break
            now = time.time()
            e = json.loads(m)
            if e.get("type") == "event":
                got += 1
                sent = e["payload"]["humidity"]
                lat.append(((now % 100) - sent) % 100 * 1000)

    try:
        if use_wslat:
            # the C client in its own process: the python one below needs
            # most of a core at 10k msg/s and its scheduling delay dominates
            cli = subprocess.Popen(shlex.split(os.environ.get("BENCH_WSLAT_PREFIX", "")) +
                                   [wslat, "--port", str(port), "--expect", str(total),
                                    "--timeout", "10"] + (["--dump", args.dump] if args.dump else []),
                                   stdout=subprocess.PIPE, text=True)
            try:
                if not wait_ready(cli, 30):
                    raise RuntimeError("bench_wslat did not get ready")
                finish = publish()
                cli.wait(timeout=args.seconds + 120)
                finish()
                out = cli.stdout.read().strip().splitlines()
                res = json.loads(out[-1]) if out else None
            finally:
                if cli.poll() is None:
                    cli.kill()
                    cli.wait()
                cli.stdout.close()
        else:
            async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live?channel=telemetry",
                                          max_queue=None, ping_interval=None) as ws:
                await ws.recv()
                cpu0 = time.process_time()
                finish = publish()
                await receive(ws)
                finish()
                py_cpu = time.process_time() - cpu0
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        mm = dict(re.findall(r"^(asyncbridge_commit\w*) (\S+)$", text, re.M))
        commits = float(mm.get("asyncbridge_commits_total", 0))
        if commits:
            print(f"commits: {commits:.0f} ({total / commits:.1f} msg/commit), mean "
                  f"{float(mm['asyncbridge_commit_latency_seconds_sum']) / commits * 1e3:.2f} ms,"
                  f" max {float(mm['asyncbridge_commit_latency_max_seconds']) * 1e3:.1f} ms")
        print(f"bridge cpu: {cpu_s(bridge.proc.pid):.2f} s for {total} messages "
              f"({cpu_s(bridge.proc.pid) * 1e6 / total:.1f} us/msg incl. start-up)")
        print(f"bridge threads (cpu s): {thread_cpu(bridge.proc.pid)}")
        print(f"mosquitto cpu: {cpu_s(broker.proc.pid):.2f} s")
    finally:
        bridge.stop()
        broker.stop()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    if use_wslat:
        if not res or not res["events"]:
            print(f"events: {res['events'] if res else 0} received of {total} published "
                  f"at {args.rate}/s (bench_wslat: {res})")
            return
        print(f"events: {res['events']} received of {total} published at {args.rate}/s")
        print(f"MQTT publish -> WebSocket receive: p50 {res['p50_ms']:.2f} ms, "
              f"p90 {res['p90_ms']:.2f} ms, p99 {res['p99_ms']:.2f} ms, "
              f"max {res['max_ms']:.2f} ms")
        print(f"client cpu: {res['cpu_s']:.2f} s (bench_wslat, C)")
        return
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))]
    print(f"events: {len(lat)} received of {args.rate * args.seconds} published at {args.rate}/s")
    print(f"MQTT publish -> WebSocket receive: p50 {pct(50):.2f} ms, p90 {pct(90):.2f} ms, "
          f"p99 {pct(99):.2f} ms, max {lat[-1]:.2f} ms")
    print(f"client cpu: {py_cpu:.2f} s (python websockets, this process"
          f"{' incl. the publisher thread' if not use_c else ''})")


def publisher_cmd(args, port, total):
    """The paced C publisher's command line: bench_pub (raw socket, one
    send per message) or, with --publisher paho, bench_ingest pubrate (Paho's
    asynchronous client, 1 ms ticks; it needs more than a core at 10k msg/s
    here, which starves the broker and the receiver)."""
    if args.publisher == "paho":
        return [os.path.join(args.build, "bench", "bench_ingest"), "pubrate",
                str(port), str(total), str(args.rate)]
    return [os.path.join(args.build, "bench", "bench_pub"), str(port), str(total),
            str(args.rate)]


def ceiling_latency(args):
    """The same paced publisher against bench_ceiling, a Paho C subscriber
    that only counts (no bridge): the latency the broker, Paho and this
    machine give before any work is done with the message."""
    from harness import Mosquitto
    tmp = tempfile.mkdtemp(prefix="bench-live-ceiling-")
    broker = Mosquitto(tmp).start()
    total = args.rate * args.seconds
    try:
        sub = subprocess.Popen([os.path.join(args.build, "bench", "bench_ceiling"),
                                "--broker", f"tcp://127.0.0.1:{broker.port}",
                                "--client-id", "bench-live-ceiling", "--mode", "live",
                                "--topic", "fleet/+/telemetry", "--expect", str(total),
                                "--latency", "humidity", "--timeout", "60"],
                               stdout=subprocess.PIPE, text=True)
        if sub.stdout.readline().strip() != "ready":
            raise RuntimeError("bench_ceiling did not get ready")
        pub = subprocess.run(publisher_cmd(args, broker.port, total),
                             stdout=subprocess.PIPE, text=True, timeout=120)
        print(pub.stdout.strip())
        out = sub.communicate(timeout=90)[0].strip().splitlines()
    finally:
        broker.stop()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    run = json.loads(out[-2]) if len(out) >= 2 else {}
    lat = json.loads(out[-1]).get("latency_ms", {}) if out else {}
    print(f"events: {run.get('msgs', 0)} received of {total} published at {args.rate}/s "
          f"(count-only subscriber, no bridge)")
    if lat:
        print(f"MQTT publish -> subscriber callback: p50 {lat['p50']:.2f} ms, p90 {lat['p90']:.2f} ms, "
              f"p99 {lat['p99']:.2f} ms, max {lat['max']:.2f} ms")
    print(f"subscriber cpu: {run.get('cpu_s', 0):.2f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("mode", choices=["fanout", "latency", "mqtt", "ceiling"])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--publisher", choices=["raw", "paho", "python"], default="raw",
                    help="raw: bench_pub (default); paho: bench_ingest pubrate; "
                         "python: in-process paho-mqtt (mqtt mode only)")
    ap.add_argument("--dump", metavar="FILE",
                    help="mqtt mode, C client: write each latency (ms, arrival order) to FILE")
    ap.add_argument("--py-client", action="store_true",
                    help="mqtt: receive with the python websockets client instead of bench_wslat")
    args = ap.parse_args()
    if args.mode == "mqtt":
        asyncio.run(mqtt_latency(args))
        return
    if args.mode == "ceiling":
        ceiling_latency(args)
        return
    tmp = tempfile.mkdtemp(prefix="bench-live-")
    db = os.path.join(tmp, "live.db")
    make_store(db).close()
    port = free_port()
    proc = subprocess.Popen([os.path.join(args.build, "bridge", "asyncbridge"), "serve", "--db", db,
                             "--spec", os.path.join(SRC, "examples", "fleet.yaml"),
                             "--http", f"127.0.0.1:{port}", "--tail-poll-ms", "1",
                             "--max-connections", str(args.clients + 64)],
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        asyncio.run((fanout if args.mode == "fanout" else latency)(port, proc.pid, db, args))
    finally:
        proc.terminate()
        proc.wait()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
