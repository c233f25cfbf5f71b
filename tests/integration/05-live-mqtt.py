#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End to end: MQTT publish -> `asyncbridge run` -> WebSocket and SSE
clients, through a private mosquitto; and resume with `since` while
publishing continues.

`asyncbridge run --http` serves the HTTP side (bridge_http_start in
cli_run.c); the ingest writer hands every committed event straight to the
live hub (no log follower) while a live client is connected.
"""
import asyncio
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HOST, Bridge, Mosquitto, Publisher, TempDir, check, check_eq,  # noqa: E402
                     free_port, main, port_open, test, wait_for)

import websockets  # noqa: E402

SRC = os.environ.get("ASYNCBRIDGE_SRC", os.path.abspath(os.path.join(
    os.path.dirname(__file__), "..", "..")))
SPEC = os.path.join(SRC, "examples", "fleet.yaml")
tmp = TempDir("abtest-livemqtt-")
broker = Mosquitto(tmp.path).start()
http_port = free_port()
bridge = Bridge(tmp.path, SPEC, broker.port, extra_args=["--http", f"{HOST}:{http_port}"])
bridge.start()
wait_for(lambda: port_open(http_port), 30, what="run's http listener")
URL = f"ws://{HOST}:{http_port}/api/v1/live"


def reading(seq):
    return {"seq": seq, "ts": "2026-11-23T10:15:00Z", "temperature": 20.0 + seq % 10,
            "humidity": 50.0}


async def recv_json(ws, timeout=15):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@test
def test_mqtt_to_websocket_and_sse():
    pub = Publisher(broker.port)
    sse = subprocess.Popen(["curl", "-sN", "--max-time", "20",
                            f"http://{HOST}:{http_port}/api/v1/stream?device=n1"],
                           stdout=subprocess.PIPE)
    time.sleep(0.5)

    async def body():
        async with websockets.connect(URL + "?device=n1") as ws:
            check_eq((await recv_json(ws))["type"], "subscribed", "subscribed")
            for i in range(20):
                pub.publish("fleet/n1/telemetry", reading(i))
                pub.publish("fleet/n2/telemetry", reading(i))
            got = []
            while len(got) < 20:
                m = await recv_json(ws)
                if m["type"] == "event":
                    got.append(m)
            return got
    try:
        got = asyncio.run(body())
    finally:
        pub.close()
    check_eq([m["payload"]["seq"] for m in got], list(range(20)), "payloads in order")
    check(all(m["device"] == "n1" and m["channel"] == "telemetry" for m in got), "filter")
    seqs = [m["seq"] for m in got]
    check_eq(seqs, sorted(set(seqs)), "increasing seqs")
    sse.terminate()
    out = sse.communicate(timeout=10)[0].decode()
    ids = [int(line[4:]) for line in out.splitlines() if line.startswith("id: ")]
    check_eq(ids, seqs, "SSE got the same events")


@test
def test_resume_while_publishing():
    pub = Publisher(broker.port)
    total = 300
    # paced, not waiting for each PUBACK: a steady stream while clients
    # disconnect and resume (every PUBACK is awaited at the end)
    infos = []

    def stream():
        for i in range(total):
            infos.append(pub.publish("fleet/n3/telemetry", reading(i), wait=False))
            time.sleep(0.005)
    th = threading.Thread(target=stream)

    async def part(since, n):
        q = f"?device=n3" + (f"&since={since}" if since is not None else "&since=0")
        async with websockets.connect(URL + q) as ws:
            await recv_json(ws)
            out = []
            while len(out) < n:
                m = await recv_json(ws)
                if m["type"] == "event":
                    out.append(m)
            return out
    th.start()
    try:
        seen = []
        for _ in range(3):
            seen += asyncio.run(part(seen[-1]["seq"] if seen else None, 40))
        th.join()
        seen += asyncio.run(part(seen[-1]["seq"], total - len(seen)))
    finally:
        th.join()
        for info in infos:
            info.wait_for_publish(30)
        pub.close()
    check_eq([m["payload"]["seq"] for m in seen], list(range(total)),
             "no gap, no duplicate across reconnects")


@test
def test_burst_then_lone_message_each_delivered_once():
    """A burst (no waiting for PUBACKs) commits in adaptive batches and
    wakes the lws loop once per non-empty inbox, not per event; then a lone
    message after the burst has drained must still wake it. Two clients
    with different device filters get exactly their events, once, in
    order."""
    pub = Publisher(broker.port)
    n = 1500

    async def collect(ws, want):
        out = []
        while len(out) < want:
            m = await recv_json(ws, timeout=30)
            if m["type"] == "event":
                out.append(m)
        return out

    async def body():
        async with websockets.connect(URL + "?device=n6", max_queue=None) as a, \
                websockets.connect(URL + "?device=n7", max_queue=None) as b:
            check_eq((await recv_json(a))["type"], "subscribed", "a subscribed")
            check_eq((await recv_json(b))["type"], "subscribed", "b subscribed")
            infos = []
            for i in range(n):
                infos.append(pub.publish(f"fleet/n{6 + i % 2}/telemetry", reading(i), wait=False))
            got_a, got_b = await asyncio.gather(collect(a, n // 2), collect(b, n // 2))
            for info in infos:
                info.wait_for_publish(30)
            # the inbox is empty now: a single later event must still arrive
            await asyncio.sleep(0.3)
            pub.publish("fleet/n6/telemetry", reading(n))
            lone = await collect(a, 1)
            # nothing extra for b, nothing duplicated for a
            extra = []
            for ws in (a, b):
                try:
                    while True:
                        m = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                        if m["type"] == "event":
                            extra.append(m)
                except asyncio.TimeoutError:
                    pass
            return got_a, got_b, lone, extra
    try:
        got_a, got_b, lone, extra = asyncio.run(body())
    finally:
        pub.close()
    check_eq([m["payload"]["seq"] for m in got_a], list(range(0, n, 2)), "n6: all, in order")
    check_eq([m["payload"]["seq"] for m in got_b], list(range(1, n, 2)), "n7: all, in order")
    check(all(m["device"] == "n6" for m in got_a) and all(m["device"] == "n7" for m in got_b),
          "device filters")
    seqs = [m["seq"] for m in got_a]
    check_eq(seqs, sorted(set(seqs)), "increasing seqs, no duplicate")
    check_eq(lone[0]["payload"]["seq"], n, "lone message after the burst delivered")
    check(lone[0]["seq"] > seqs[-1], "lone message is newer")
    check_eq(extra, [], "no duplicate or stray events")


@test
def test_clients_arriving_while_nobody_listened():
    """With no live client the ingest writer publishes nothing (it checks
    the client count before each batch; the follower of `serve` likewise
    skips to the head without reading events). A client that then arrives while publishing goes on
    must still see everything: `since` replays the skipped events and
    switches to live with no gap and no duplicate; a "from now" client gets
    every event committed after it subscribed."""
    import urllib.request

    def live_connections():
        with urllib.request.urlopen(f"http://{HOST}:{http_port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("asyncbridge_live_connections "):
                    return int(line.split()[1])
        return -1
    wait_for(lambda: live_connections() == 0, 30, what="no live client left")
    pub = Publisher(broker.port)
    dev = "n9"
    first, total = 300, 900
    for i in range(first):  # nobody listens: the follower skips these
        pub.publish(f"fleet/{dev}/telemetry", reading(i))
    since = 0

    async def body():
        # the last seq before this test's first event: start replay there
        async with websockets.connect(URL + f"?device={dev}&since={since}",
                                      max_queue=None) as a:
            check_eq((await recv_json(a))["type"], "subscribed", "replaying client subscribed")
            infos = []
            b_ctx = None
            got_b = []
            for i in range(first, total):
                infos.append(pub.publish(f"fleet/{dev}/telemetry", reading(i), wait=False))
                if i == first + 200:
                    # a "from now" client joins in the middle of the stream
                    for info in infos:
                        info.wait_for_publish(30)
                    b_ctx = await websockets.connect(URL + f"?device={dev}", max_queue=None)
                    check_eq((await recv_json(b_ctx))["type"], "subscribed",
                             "live client subscribed")
                    joined_at = i
            for info in infos:
                info.wait_for_publish(30)
            got_a = []
            while len(got_a) < total:
                m = await recv_json(a, timeout=30)
                if m["type"] == "event":
                    got_a.append(m)
            while True:  # b: everything after it joined, then silence
                try:
                    m = json.loads(await asyncio.wait_for(b_ctx.recv(), 1.5))
                except asyncio.TimeoutError:
                    break
                if m["type"] == "event":
                    got_b.append(m)
            await b_ctx.close()
            return got_a, got_b, joined_at
    try:
        got_a, got_b, joined_at = asyncio.run(body())
    finally:
        pub.close()
    check_eq([m["payload"]["seq"] for m in got_a], list(range(total)),
             "since=0: every event once, in order, across the skipped stretch")
    b_seqs = [m["payload"]["seq"] for m in got_b]
    check(len(b_seqs) > 0 and b_seqs == list(range(b_seqs[0], total)),
          "from-now client: a contiguous run to the end (got %s..%s)" %
          (b_seqs[:1], b_seqs[-1:]))
    check(b_seqs and b_seqs[0] <= joined_at + 1,
          "from-now client: nothing after its subscription missed (first %s, joined at %d)" %
          (b_seqs[:1], joined_at))


@test
def test_burst_two_clients_and_since_resume_across_the_switch():
    """`asyncbridge run` publishes straight from the ingest writer after each
    commit (no log follower). Under a burst: a live client A and a client B
    that subscribes with `since` while the burst is going on (replay from
    the log, then the switch to live) each get every event once, in seq
    order; B disconnects mid-burst and resumes with `since` = its last seq,
    again across the switch. What arrives live equals what the log holds
    (REST /api/v1/events), field for field."""
    import urllib.request

    pub = Publisher(broker.port)
    dev, n = "n11", 2000
    start = json.loads(urllib.request.urlopen(
        f"http://{HOST}:{http_port}/api/v1/events?after=0&limit=1", timeout=5).read())
    check("items" in start, "events endpoint answers")

    async def collect(ws, want, out):
        while len(out) < want:
            m = await recv_json(ws, timeout=30)
            if m["type"] == "event":
                out.append(m)
        return out

    async def body():
        async with websockets.connect(URL + f"?device={dev}", max_queue=None) as a:
            check_eq((await recv_json(a))["type"], "subscribed", "a subscribed")
            # the log position before the burst: B replays from here
            with urllib.request.urlopen(f"http://{HOST}:{http_port}/api/v1/stats",
                                        timeout=5) as r:
                stats = json.loads(r.read())
            before = stats.get("last_seq", stats.get("log", {}).get("last_seq"))
            check(isinstance(before, int), f"stats has the log head ({stats})")
            infos = []
            got_a = []
            task_a = asyncio.ensure_future(collect(a, n, got_a))
            for i in range(n // 4):
                infos.append(pub.publish(f"fleet/{dev}/telemetry", reading(i), wait=False))
            got_b = []
            async with websockets.connect(URL + f"?device={dev}&since={before}",
                                          max_queue=None) as b:
                check_eq((await recv_json(b))["type"], "subscribed", "b subscribed")
                for i in range(n // 4, n // 2):
                    infos.append(pub.publish(f"fleet/{dev}/telemetry", reading(i), wait=False))
                    if i % 50 == 0:
                        await asyncio.sleep(0)
                await collect(b, n // 3, got_b)
            # B resumes from its last seq while the burst goes on
            async with websockets.connect(URL + f"?device={dev}&since={got_b[-1]['seq']}",
                                          max_queue=None) as b2:
                check_eq((await recv_json(b2))["type"], "subscribed", "b resubscribed")
                for i in range(n // 2, n):
                    infos.append(pub.publish(f"fleet/{dev}/telemetry", reading(i), wait=False))
                    if i % 50 == 0:
                        await asyncio.sleep(0)
                await collect(b2, n, got_b)
                extra = []
                try:
                    while True:
                        m = json.loads(await asyncio.wait_for(b2.recv(), 0.5))
                        if m["type"] == "event":
                            extra.append(m)
                except asyncio.TimeoutError:
                    pass
            await task_a
            for info in infos:
                info.wait_for_publish(30)
            return got_a, got_b, extra
    try:
        got_a, got_b, extra = asyncio.run(body())
    finally:
        pub.close()
    check_eq([m["payload"]["seq"] for m in got_a], list(range(n)), "a: every event once, in order")
    check_eq([m["payload"]["seq"] for m in got_b], list(range(n)),
             "b: replay + live + resume: every event once, in order")
    check_eq([m["seq"] for m in got_b], [m["seq"] for m in got_a], "a and b: same seqs")
    check_eq(extra, [], "b: nothing duplicated after the end")
    # live events equal the log's, field for field (sample across the burst)
    first = got_a[0]["seq"] - 1
    logged = {}
    after = first
    while len(logged) < n:
        with urllib.request.urlopen(f"http://{HOST}:{http_port}/api/v1/events"
                                    f"?after={after}&limit=500", timeout=5) as r:
            page = json.loads(r.read())
        if not page["items"]:
            break
        for it in page["items"]:
            if it.get("device") == dev:
                logged[it["seq"]] = it
        after = page["next_after"]
    for m in got_a[::97] + got_a[-1:]:
        ev = {k: v for k, v in m.items() if k not in ("type", "sub")}
        lg = logged.get(m["seq"])
        check(lg is not None, f"seq {m['seq']} is in the log")
        for k in ev:
            check_eq(ev[k], lg.get(k), f"seq {m['seq']} field {k}: live == log")


@test
def test_stop():
    bridge.stop()
    broker.stop()


if __name__ == "__main__":
    try:
        main()
    finally:
        bridge.kill9()
        broker.stop()
        tmp.cleanup()
