#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Live push over real sockets: WebSocket /api/v1/live (Debian's python3
websockets) and SSE /api/v1/stream (curl): filters, replay-then-live with no
gap and no duplicate under a concurrent stream, resume after disconnect,
a stalled client that must not hold up the others, and bad frames.

Events are appended to the store with python's sqlite3 while
`asyncbridge serve` follows the log (its tailer publishes to the live hub
exactly like the ingest does after commit).
"""
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import base64

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HOST, TempDir, check, check_eq, main, test, wait_for  # noqa: E402
from http_fixture import T0, Server, add_event, make_store  # noqa: E402

import websockets  # noqa: E402

tmp = TempDir("abtest-live-")
DB = tmp.join("live.db")
_con = make_store(DB)
_lock = threading.Lock()
_seq = [0]
DEVS = ["d1", "d2", "d3"]


def append(n, channel="telemetry", devices=DEVS, pad=0, delay=0.0):
    """Appends n events round robin over devices; returns [(seq, channel, device)]."""
    out = []
    try:
        con = sqlite3.connect(DB, timeout=10)
    except sqlite3.OperationalError:
        import resource
        print("DIAG connect failed:", os.path.exists(DB), os.listdir(os.path.dirname(DB)),
              len(os.listdir("/proc/self/fd")), resource.getrlimit(resource.RLIMIT_NOFILE))
        raise
    for i in range(n):
        with _lock:
            _seq[0] += 1
            s = _seq[0]
        d = devices[i % len(devices)]
        add_event(con, s, channel, d, {"seq": s, "ts": "x", "temperature": 20.0,
                                       "humidity": 50.0, "pad": "p" * pad}, T0 + s)
        con.commit()
        out.append((s, channel, d))
        if delay:
            time.sleep(delay)
    con.close()
    return out


append(30)
srv = Server(DB, tmp.path, extra=["--live-queue", "64", "--live-stall-ms", "1500",
                                  "--sse-heartbeat", "1", "--live-max-subs", "4"]).start()
URL = f"ws://{HOST}:{srv.port}/api/v1/live"


async def recv_json(ws, timeout=10):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def collect_events(ws, until_seq, sub=None, timeout=30):
    got = []
    end = time.monotonic() + timeout
    while True:
        m = await recv_json(ws, max(0.1, end - time.monotonic()))
        if m["type"] != "event":
            continue
        if sub is None or m["sub"] == sub:
            got.append(m)
        if m["seq"] >= until_seq:
            return got


def run(coro):
    return asyncio.run(coro)


@test
def test_subscribe_then_live_events_with_filters():
    async def body():
        async with websockets.connect(URL) as ws:
            await ws.send(json.dumps({"op": "subscribe", "id": "a", "device": "d2"}))
            m = await recv_json(ws)
            check_eq((m["type"], m["id"], m["device"]), ("subscribed", "a", "d2"), "subscribed")
            await ws.send(json.dumps({"op": "subscribe", "id": "b", "channel": "status"}))
            check_eq((await recv_json(ws))["id"], "b", "second subscription")
            new = await asyncio.to_thread(append, 9)
            new += await asyncio.to_thread(append, 2, "status", ["d1"])
            last = new[-1][0]
            got = await collect_events(ws, last)
            a = [m["seq"] for m in got if m["sub"] == "a"]
            b = [m["seq"] for m in got if m["sub"] == "b"]
            check_eq(a, [s for s, c, d in new if d == "d2"], "device filter, in order")
            check_eq(b, [s for s, c, d in new if c == "status"], "channel filter")
            e = [m for m in got if m["sub"] == "a"][0]
            check_eq(e["device"], "d2", "event device")
            check_eq(e["payload"]["seq"], e["seq"], "event payload")
            check(e["received_at"].endswith("Z"), "received_at")
            await ws.send(json.dumps({"op": "unsubscribe", "id": "a"}))
            check_eq(await recv_json(ws), {"type": "unsubscribed", "id": "a"}, "unsubscribed")
            await ws.send(json.dumps({"op": "ping"}))
            pong = await recv_json(ws)
            check_eq((pong["type"], pong["seq"]), ("pong", last), "pong with log head")
    run(body())


@test
def test_url_filters_and_since_replay():
    async def body():
        async with websockets.connect(URL + "?device=d1&since=0") as ws:
            m = await recv_json(ws)
            check_eq((m["type"], m["id"], m["since"]), ("subscribed", "default", 0), "url sub")
            head = _seq[0]
            got = await collect_events(ws, max(s for s in range(1, head + 1)
                                               if s in _d1_seqs()))
            check_eq([m["seq"] for m in got], sorted(_d1_seqs()), "replay of d1 from 0")
    run(body())


def _d1_seqs():
    con = sqlite3.connect(DB)
    rows = con.execute("SELECT seq FROM events WHERE device_id='d1' ORDER BY seq").fetchall()
    con.close()
    return [r[0] for r in rows]


@test
def test_since_under_concurrent_stream_no_gap_no_dup():
    start = _seq[0]
    stream = []
    th = threading.Thread(target=lambda: stream.extend(append(600, delay=0.002)))
    th.start()
    try:
        async def body():
            await asyncio.sleep(0.3)  # the stream is running
            async with websockets.connect(URL + f"?channel=telemetry&since={start + 5}") as ws:
                await recv_json(ws)
                await asyncio.to_thread(th.join)
                return await collect_events(ws, stream[-1][0])
        got = run(body())
    finally:
        th.join()
    seqs = [m["seq"] for m in got]
    want = [s for s, c, d in stream if s > start + 5]
    check_eq(len(seqs), len(set(seqs)), "no duplicate")
    check_eq(seqs, want, "replay + live = every event after since, in order")


@test
def test_resume_after_disconnect():
    seen = []
    stream = []
    th = threading.Thread(target=lambda: stream.extend(append(400, delay=0.003)))
    since = _seq[0]
    th.start()
    try:
        async def part(since_v, n):
            async with websockets.connect(URL + f"?device=d3&since={since_v}") as ws:
                await recv_json(ws)
                out = []
                while len(out) < n:
                    m = await recv_json(ws)
                    if m["type"] == "event":
                        out.append(m["seq"])
                return out
        for _ in range(3):
            part_seen = run(part(seen[-1] if seen else since, 25))
            seen += part_seen
        th.join()
        seen += run(part(seen[-1], len([s for s, c, d in stream if d == "d3" and s > seen[-1]])))
    finally:
        th.join()
    want = [s for s, c, d in stream if d == "d3"]
    check_eq(seen, want, "three disconnects, resumed with since: no gap, no duplicate")


@test
def test_sse_with_curl_resume_and_heartbeat():
    base = _seq[0]
    new = append(6)
    p = subprocess.Popen(["curl", "-sN", "--max-time", "4", "-H", f"Last-Event-ID: {base}",
                          f"http://{HOST}:{srv.port}/api/v1/stream?device=d2"],
                         stdout=subprocess.PIPE)
    out, _ = p.communicate(timeout=15)
    text = out.decode()
    events = [blk for blk in text.split("\n\n") if blk.startswith("id:")]
    ids = [int(b.split("\n")[0][4:]) for b in events]
    check_eq(ids, [s for s, c, d in new if d == "d2"], "SSE resume after Last-Event-ID")
    first = events[0].split("\n")
    check_eq(first[1], "event: telemetry", "event: channel")
    data = json.loads(first[2][len("data: "):])
    check_eq((data["seq"], data["device"]), (ids[0], "d2"), "data: event JSON")
    check(": heartbeat" in text, "heartbeat comment within the interval")
    # ?since= works too, and bad input is a 400 JSON before the stream starts
    out = subprocess.run(["curl", "-s", "--max-time", "2", "-w", "\n%{http_code}",
                          f"http://{HOST}:{srv.port}/api/v1/stream?since=abc"],
                         capture_output=True, text=True).stdout
    check(out.endswith("\n400") and '"bad_parameter"' in out, f"bad since: {out}")
    out = subprocess.run(["curl", "-s", "--max-time", "2", "-w", "\n%{http_code}",
                          f"http://{HOST}:{srv.port}/api/v1/stream?channel=nope"],
                         capture_output=True, text=True).stdout
    check(out.endswith("\n400") and "unknown_channel" in out, f"bad channel: {out}")


def raw_ws_stalled(path):
    """A WebSocket client that completes the handshake and then never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((HOST, srv.port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    return s


@test
def test_stalled_client_dropped_others_unaffected():
    stalled = raw_ws_stalled("/api/v1/live?channel=telemetry")
    time.sleep(0.3)

    async def body():
        # this client reads all the time (max_queue=None: the library never
        # stops reading), while the stalled one never reads at all
        async with websockets.connect(URL + "?channel=telemetry", max_queue=None) as ws:
            await recv_json(ws)
            t0 = time.monotonic()
            new = []
            th = threading.Thread(target=lambda: new.extend(
                append(2000, "telemetry", DEVS, 6000)))
            th.start()
            got = []
            while th.is_alive() or not got or got[-1]["seq"] < new[-1][0]:
                m = await recv_json(ws, 30)
                if m["type"] == "event":
                    got.append(m)
            th.join()
            return new, got, time.monotonic() - t0
    new, got, took = run(body())
    check_eq([m["seq"] for m in got], [s for s, c, d in new], "healthy client got every event")

    def dropped():
        _, _, b = srv.request("/metrics")
        for line in b.decode().splitlines():
            if line.startswith("asyncbridge_live_clients_dropped_total "):
                return int(line.split()[1]) >= 1
        return False
    wait_for(dropped, 20, what="stalled client dropped")
    # the stalled socket is closed by the server: reading drains then hits EOF/reset
    stalled.settimeout(10)
    closed = False
    try:
        while True:
            if not stalled.recv(1 << 20):
                closed = True
                break
    except (ConnectionResetError, socket.timeout):
        closed = True
    stalled.close()
    check(closed, "stalled connection closed")
    check(srv.alive(), "server alive")


@test
def test_bad_frames_and_limits():
    async def body():
        async with websockets.connect(URL, max_size=None) as ws:
            cases = [
                ("not json", "bad_json"), ("[1,2]", "bad_json"),
                (json.dumps({"op": "dance"}), "unknown_op"),
                (json.dumps({"id": "x"}), "bad_frame"),
                (json.dumps({"op": "subscribe", "id": "x", "channel": "nope"}), "unknown_channel"),
                (json.dumps({"op": "subscribe", "id": "x", "since": -1}), "bad_parameter"),
                (json.dumps({"op": "subscribe", "id": "x", "since": 1.5}), "bad_parameter"),
                (json.dumps({"op": "subscribe", "id": ""}), "bad_parameter"),
                (json.dumps({"op": "unsubscribe", "id": "ghost"}), "unknown_id"),
                ("x" * 10000, "frame_too_large"),
            ]
            for frame, code in cases:
                await ws.send(frame)
                m = await recv_json(ws)
                check_eq((m["type"], m["code"]), ("error", code), f"error for {frame[:40]!r}")
        async with websockets.connect(URL) as ws:
            for i in range(4):
                await ws.send(json.dumps({"op": "subscribe", "id": f"s{i}"}))
                check_eq((await recv_json(ws))["type"], "subscribed", "within the limit")
            await ws.send(json.dumps({"op": "subscribe", "id": "s9"}))
            check_eq((await recv_json(ws))["code"], "too_many_subscriptions", "limit")
            await ws.send(json.dumps({"op": "subscribe", "id": "s1"}))
            check_eq((await recv_json(ws))["code"], "duplicate_id", "duplicate id")
            await ws.send(b"\x00\x01binary")
            check_eq((await recv_json(ws))["code"], "bad_frame", "binary frame")
        # too many errors: closed with 1008
        async with websockets.connect(URL) as ws:
            code = None
            try:
                for _ in range(30):
                    await ws.send("garbage")
                    await recv_json(ws, 5)
            except websockets.ConnectionClosed as e:
                code = e.code
            check_eq(code, 1008, "closed after too many bad frames")
        # the WebSocket upgrade is refused on other paths
        try:
            async with websockets.connect(f"ws://{HOST}:{srv.port}/api/v1/devices"):
                refused = False
        except (websockets.InvalidStatusCode, websockets.InvalidHandshake, ConnectionError):
            refused = True
        check(refused, "upgrade refused outside /api/v1/live")
    run(body())
    check(srv.alive(), "server alive after bad frames")


@test
def test_max_connections():
    small = Server(DB, tmp.path, extra=["--max-connections", "3"]).start()
    url = f"ws://{HOST}:{small.port}/api/v1/live"

    async def body():
        a = await websockets.connect(url)
        b = await websockets.connect(url)
        e = await websockets.connect(url)
        st, hd, body = small.request("/api/v1/stream")
        check_eq(st, 503, "SSE refused when the live side is full")
        check_eq(json.loads(body)["error"]["code"], "too_many_connections", "SSE error code")
        check_eq(small.get_json("/healthz")["status"], "ok", "ops still answer")
        refused = False
        try:
            c = await websockets.connect(url, open_timeout=5)
            # accepted at TCP level but must not be served
            try:
                await c.send(json.dumps({"op": "ping"}))
                await asyncio.wait_for(c.recv(), 3)
            except (websockets.ConnectionClosed, asyncio.TimeoutError):
                refused = True
            await c.close()
        except (websockets.InvalidStatusCode, websockets.InvalidHandshake, OSError,
                asyncio.TimeoutError):
            refused = True
        check(refused, "fourth live client refused over --max-connections 3")
        await a.close()
        await asyncio.sleep(0.3)
        d = await websockets.connect(url)
        await d.send(json.dumps({"op": "ping"}))
        check_eq((await recv_json(d))["type"], "pong", "a slot is free again")
        await d.close()
        await b.close()
        await e.close()
    try:
        run(body())
        check(small.alive(), "server alive")
    finally:
        small.stop()


@test
def test_frame_sizes_in_one_burst():
    """Frames are built by the bridge and sent in bursts: payloads around
    the 7-bit, 16-bit and 64-bit length encodings, back to back, arrive
    intact and in order through an independent client."""
    async def body():
        async with websockets.connect(URL + "?device=d3", max_size=4 << 20) as ws:
            check_eq((await recv_json(ws))["type"], "subscribed", "subscribed")
            pads = [0, 40, 100, 65400, 70000, 300, 0, 200000, 10]
            new = []
            con = sqlite3.connect(DB, timeout=10)
            for pad in pads:  # one transaction: delivered as one burst
                with _lock:
                    _seq[0] += 1
                    s = _seq[0]
                add_event(con, s, "telemetry", "d3", {"seq": s, "ts": "x", "temperature": 20.0,
                                                      "humidity": 50.0, "pad": "p" * pad}, T0 + s)
                new.append(s)
            con.commit()
            con.close()
            got = await collect_events(ws, new[-1])
            check_eq([m["seq"] for m in got], new, "every size, in order")
            check_eq([len(m["payload"]["pad"]) for m in got], pads, "payloads intact")
    run(body())


@test
def test_live_doc_and_clean_stop():
    st, hd, body = srv.request("/asyncapi/live.yaml")
    check_eq(st, 200, "live.yaml")
    srv.stop()


if __name__ == "__main__":
    try:
        main()
    finally:
        if srv.proc:
            srv.proc.kill()
        tmp.cleanup()
