#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""REST read API over real HTTP: every endpoint, pagination (also under
concurrent appends), the OpenAPI document against the served routes, ops
endpoints, and every bad-input case of the issue (404/405/400/414, encoded
ids, oversized request line and headers, path escapes).

The store is written with python's sqlite3 in the store's schema, the
projections are folded by `asyncbridge rebuild`, and `asyncbridge serve`
serves it read-only.
"""
import base64
import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TempDir, check, check_eq, main, run_cli, test, wait_for  # noqa: E402
from http_fixture import (SPEC, T0, Server, add_dead_letter, add_event,  # noqa: E402
                          check_error, make_store, rebuild)

import yaml  # noqa: E402

DEVICES = ["gh-0001", "gh-0002", "gh-0003", "gh-0004", "gh-0005", "dev é+&?#100%"]
N_TEL = 30
tmp = TempDir("abtest-rest-")
DB = tmp.join("rest.db")
seq = 0
expected = {}      # device -> [seqs of its events]
temps = {}         # device -> [(received_at, temperature)]
dl_ids = {}


def build():
    global seq
    con = make_store(DB)
    for i in range(N_TEL):
        for d in DEVICES:
            seq += 1
            t = T0 + i * 10000 + DEVICES.index(d)
            temp = 10.0 + (i * 3 + DEVICES.index(d)) % 25
            add_event(con, seq, "telemetry", d, {"seq": i, "ts": "2026-11-18T00:00:00Z",
                                                 "temperature": temp, "humidity": 50.5},
                      t, message="reading", corr=str(i))
            expected.setdefault(d, []).append(seq)
            temps.setdefault(d, []).append((t, temp))
    for d in DEVICES[:3]:
        seq += 1
        add_event(con, seq, "status", d, {"status": "online"}, T0 + 400000, message="status")
        expected[d].append(seq)
    seq += 1
    add_event(con, seq, "status", "gh-0004", {"status": "offline"}, T0 + 400001, message="status")
    expected["gh-0004"].append(seq)
    dl_ids["utf8"] = add_dead_letter(con, "fleet/gh-0001/telemetry", "telemetry", "schema",
                                     '{"temperature": 999}'.encode(),
                                     {"kind": "schema", "errors": [{"pointer": "/temperature",
                                                                    "keyword": "maximum"}]},
                                     T0 + 5000)
    dl_ids["binary"] = add_dead_letter(con, "fleet/gh-0002/telemetry", "telemetry", "parse",
                                       b"\xff\xfe\x00abc", {"kind": "parse"}, T0 + 6000)
    dl_ids["nochan"] = add_dead_letter(con, "other/topic", None, "no_channel", b"{}",
                                       {"kind": "no_channel"}, T0 + 7000)
    con.commit()
    con.close()
    rebuild(DB)


build()
srv = Server(DB, tmp.path).start()


def q(s):
    return urllib.parse.quote(s, safe="")


@test
def test_openapi_matches_routes():
    rc, out, err = run_cli("serve", "--print-routes")
    check_eq(rc, 0, "serve --print-routes")
    routes = {line.split()[1]: line.split()[2] for line in out.splitlines()}
    doc = srv.get_json("/openapi.json")
    check_eq(doc["openapi"], "3.1.0", "openapi version")
    check_eq(set(doc["paths"]), set(routes), "paths in /openapi.json vs routes served")
    for path, kind in routes.items():
        check("get" in doc["paths"][path], f"get operation for {path}")
        for method in ("post", "put", "delete", "patch"):
            check(method not in doc["paths"][path], f"{method} documented for {path}")
        # probe: every documented route is really served (not 404)
        url = (path.replace("{id}", "gh-0001").replace("{channel}", "telemetry"))
        if path == "/api/v1/dead-letters/{id}":
            url = f"/api/v1/dead-letters/{dl_ids['utf8']}"
        if path.endswith("/series"):
            url += "?channel=telemetry&field=temperature"
        if kind == "sse":
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("GET", url)
            r = c.getresponse()
            check_eq((r.status, r.getheader("content-type")), (200, "text/event-stream"), url)
            c.close()
            continue
        st, hd, body = srv.request(url)
        check_eq(st, 426 if kind == "ws" else 200, f"GET {url}")
        # parameters documented == parameters accepted (unknown ones are 400)
        for p in doc["paths"][path]["get"].get("parameters", []):
            check(p["in"] in ("query", "path", "header"), f"param location {p}")
    # and an undocumented path is not served
    check_error(srv, "/api/v1/undocumented", 404, "not_found")
    # error schema is the one every error uses
    err_schema = doc["components"]["schemas"]["Error"]
    check_eq(set(err_schema["properties"]["error"]["required"]),
             {"code", "message", "parameter"}, "Error schema")


@test
def test_devices_list_sort_filter_paginate():
    doc = srv.get_json("/api/v1/devices")
    ids = [d["id"] for d in doc["items"]]
    check_eq(ids, sorted(DEVICES), "devices sorted by id")
    check_eq(doc["next_cursor"], None, "no next page")
    check_eq(doc["as_of_seq"], seq, "as_of_seq = checkpoint after rebuild")
    d1 = [d for d in doc["items"] if d["id"] == "gh-0001"][0]
    check_eq(d1["events"], N_TEL + 1, "event count of gh-0001")
    check_eq(d1["last_seq"], expected["gh-0001"][-1], "last_seq")
    # pagination, limit 2: all devices once, in order
    got, cursor = [], None
    while True:
        url = "/api/v1/devices?limit=2" + (f"&cursor={q(cursor)}" if cursor else "")
        page = srv.get_json(url)
        got += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    check_eq(got, sorted(DEVICES), "paged devices")
    # sort by last_seen: newest first, paged with limit 4
    got, cursor = [], None
    while True:
        url = "/api/v1/devices?sort=last_seen&limit=4" + (f"&cursor={q(cursor)}" if cursor else "")
        page = srv.get_json(url)
        got += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    seen = [d["last_seen"] for d in got]
    check_eq(seen, sorted(seen, reverse=True), "last_seen order")
    check_eq(sorted(d["id"] for d in got), sorted(DEVICES), "all devices by last_seen")
    # filters
    off = srv.get_json("/api/v1/devices?status=offline")
    check_eq([d["id"] for d in off["items"]], ["gh-0004"], "status=offline")
    st = srv.get_json("/api/v1/devices?channel=status")
    check_eq(sorted(d["id"] for d in st["items"]), ["gh-0001", "gh-0002", "gh-0003", "gh-0004"],
             "channel=status")
    check_eq(srv.get_json("/api/v1/devices?channel=alerts")["items"], [], "no alerts")


@test
def test_device_detail_and_encoded_id():
    d = srv.get_json("/api/v1/devices/gh-0001")
    check_eq(d["id"], "gh-0001", "id")
    chans = {s["channel"]: s for s in d["state"]}
    check_eq(set(chans), {"telemetry", "status"}, "state channels")
    check_eq(chans["status"]["payload"], {"status": "online"}, "latest status payload")
    check_eq(chans["telemetry"]["payload"]["seq"], N_TEL - 1, "latest telemetry")
    odd = DEVICES[-1]
    d = srv.get_json("/api/v1/devices/" + q(odd))
    check_eq(d["id"], odd, "percent-decoded once: id with é + & ? # %")
    ev = srv.get_json("/api/v1/devices/" + q(odd) + "/events?limit=1000")
    check_eq(len(ev["items"]), N_TEL, "events of the odd id")
    # decoded once: "%2525" is the id "%25", which does not exist
    check_error(srv, "/api/v1/devices/100%2525", 404, "device_not_found")
    check_error(srv, "/api/v1/devices/nope", 404, "device_not_found")


@test
def test_device_events_order_filters_cursor():
    dev = "gh-0002"
    doc = srv.get_json(f"/api/v1/devices/{dev}/events")
    seqs = [e["seq"] for e in doc["items"]]
    check_eq(seqs, sorted(expected[dev], reverse=True), "newest first, all")
    e0 = doc["items"][0]
    check_eq(e0["channel"], "status", "channel of the newest")
    check_eq(e0["device"], dev, "device")
    check_eq(e0["params"], {"deviceId": dev}, "params")
    check(e0["received_at"].endswith("Z"), "RFC 3339 time")
    asc = srv.get_json(f"/api/v1/devices/{dev}/events?order=asc&limit=5")
    check_eq([e["seq"] for e in asc["items"]], sorted(expected[dev])[:5], "order=asc")
    # pages of 7, both orders
    for order in ("desc", "asc"):
        got, cursor = [], None
        while True:
            url = f"/api/v1/devices/{dev}/events?limit=7&order={order}"
            if cursor:
                url += "&cursor=" + q(cursor)
            page = srv.get_json(url)
            got += [e["seq"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        check_eq(got, sorted(expected[dev], reverse=order == "desc"), f"paged {order}")
    tel = srv.get_json(f"/api/v1/devices/{dev}/events?channel=telemetry&limit=1000")
    check_eq(len(tel["items"]), N_TEL, "channel filter")
    # time window: readings 5..9 of this device (RFC 3339 and epoch ms forms)
    idx = DEVICES.index(dev)
    frm, to = T0 + 5 * 10000 + idx, T0 + 10 * 10000 + idx
    w1 = srv.get_json(f"/api/v1/devices/{dev}/events?channel=telemetry&from={frm}&to={to}")
    check_eq(sorted(e["payload"]["seq"] for e in w1["items"]), [5, 6, 7, 8, 9], "from/to ms")
    import datetime
    iso = datetime.datetime.fromtimestamp(frm / 1000, datetime.timezone.utc).isoformat()
    w2 = srv.get_json(f"/api/v1/devices/{dev}/events?channel=telemetry&from={q(iso)}&to={to}")
    check_eq([e["seq"] for e in w2["items"]], [e["seq"] for e in w1["items"]], "from RFC 3339")
    # unknown device: an empty list, not an error
    check_eq(srv.get_json("/api/v1/devices/ghost/events")["items"], [], "unknown device")


@test
def test_pagination_stable_under_concurrent_appends():
    import sqlite3
    dev = "gh-0003"
    first = srv.get_json(f"/api/v1/devices/{dev}/events?limit=5")
    snapshot = sorted(expected[dev], reverse=True)
    stop = threading.Event()
    appended = []

    def writer():
        con = sqlite3.connect(DB, timeout=10)
        s = 1000000
        while not stop.is_set() and len(appended) < 300:
            s += 1
            add_event(con, s, "telemetry", dev, {"seq": s, "ts": "x", "temperature": 1.0,
                                                 "humidity": 1.0}, T0 + 10 ** 7 + s)
            con.commit()
            appended.append(s)
        con.close()

    th = threading.Thread(target=writer)
    th.start()
    try:
        # the pages must overlap the appends: a fast server could otherwise
        # finish all pages before the writer's first commit
        wait_for(lambda: len(appended) > 0, 30, what="first concurrent append")
        got = [e["seq"] for e in first["items"]]
        cursor = first["next_cursor"]
        while cursor:
            page = srv.get_json(f"/api/v1/devices/{dev}/events?limit=5&cursor={q(cursor)}")
            got += [e["seq"] for e in page["items"]]
            cursor = page["next_cursor"]
    finally:
        stop.set()
        th.join()
    check(len(appended) > 0, "writer appended concurrently")
    check_eq(got, snapshot, "desc pages: no repeats, no skips while appending")
    # the first page again: it now starts with the newest append (no stale cache)
    again = srv.get_json(f"/api/v1/devices/{dev}/events?limit=5")
    check_eq(again["items"][0]["seq"], appended[-1], "first page after appends")
    check_eq(again["as_of_seq"], appended[-1], "as_of_seq = log head")
    other = srv.get_json("/api/v1/devices/gh-0001/events?limit=5")
    check_eq(other["as_of_seq"], appended[-1], "as_of_seq of an unchanged device moves too")
    # ascending pages over the global log see old and new events exactly once
    after, seen = 0, []
    while True:
        page = srv.get_json(f"/api/v1/events?after={after}&limit=97")
        seen += [e["seq"] for e in page["items"]]
        after = page["next_after"]
        if page["next_cursor"] is None:
            break
    check_eq(seen, sorted(set(seen)), "global log ascending, unique")
    check(set(appended) <= set(seen) and set(range(1, seq + 1)) <= set(seen), "global log complete")
    con = sqlite3.connect(DB)
    con.execute("DELETE FROM events WHERE seq > 1000000")
    con.commit()
    con.close()


@test
def test_channels_and_channel_events():
    doc = srv.get_json("/api/v1/channels")
    ch = {c["id"]: c for c in doc["items"]}
    check_eq(set(ch), {"telemetry", "status", "alerts", "commands"}, "channel ids")
    t = ch["telemetry"]
    check_eq(t["topic_filter"], "fleet/+/telemetry", "topic filter")
    check_eq(t["parameters"], ["deviceId"], "parameters")
    check_eq(t["messages"], ["reading"], "messages")
    check_eq(t["counts"]["events"], N_TEL * len(DEVICES), "telemetry events")
    check_eq(t["counts"]["dead_letters"], 2, "telemetry dead letters")
    check_eq(ch["status"]["counts"]["events"], 4, "status events")
    check_eq(ch["commands"]["receives"], False, "commands: the bridge sends")
    ev = srv.get_json("/api/v1/channels/status/events?order=asc")
    check_eq(len(ev["items"]), 4, "status channel events")
    check(all(e["channel"] == "status" for e in ev["items"]), "only status")
    one = srv.get_json("/api/v1/channels/telemetry/events?device=gh-0005&limit=1000")
    check_eq(len(one["items"]), N_TEL, "device filter on channel events")
    check_error(srv, "/api/v1/channels/nope/events", 404, "unknown_channel")
    glob = srv.get_json("/api/v1/events?after=10&limit=3")
    check_eq([e["seq"] for e in glob["items"]], [11, 12, 13], "global log after 10")


@test
def test_series():
    dev = "gh-0001"
    doc = srv.get_json(f"/api/v1/devices/{dev}/series?channel=telemetry&field=temperature"
                       "&bucket=1m")
    pts = temps[dev]
    buckets = {}
    for t, v in pts:
        buckets.setdefault(t // 60000 * 60000, []).append(v)
    check_eq([b["start_ms"] for b in doc["items"]], sorted(buckets), "1m buckets")
    for b in doc["items"]:
        vals = buckets[b["start_ms"]]
        check_eq((b["count"], b["min"], b["max"]), (len(vals), min(vals), max(vals)), "bucket")
        check(abs(b["avg"] - sum(vals) / len(vals)) < 1e-9, "avg")
    coarse = srv.get_json(f"/api/v1/devices/{dev}/series?channel=telemetry&field=temperature"
                          "&bucket=1h")
    check_eq(sum(b["count"] for b in coarse["items"]), N_TEL, "1h bucket merges 1m rollups")
    check_eq(coarse["items"][0]["max"], max(v for _, v in pts), "1h max")


@test
def test_dead_letters():
    doc = srv.get_json("/api/v1/dead-letters")
    check_eq([d["id"] for d in doc["items"]],
             sorted(dl_ids.values(), reverse=True), "newest first")
    check_eq(srv.get_json("/api/v1/dead-letters?kind=parse")["items"][0]["id"], dl_ids["binary"],
             "kind filter")
    check_eq(len(srv.get_json("/api/v1/dead-letters?channel=telemetry")["items"]), 2, "channel")
    p1 = srv.get_json("/api/v1/dead-letters?limit=2")
    p2 = srv.get_json("/api/v1/dead-letters?limit=2&cursor=" + q(p1["next_cursor"]))
    check_eq(len(p1["items"]) + len(p2["items"]), 3, "paged")
    check_eq(p2["next_cursor"], None, "last page")
    u = srv.get_json(f"/api/v1/dead-letters/{dl_ids['utf8']}")
    check_eq(u["payload_encoding"], "utf-8", "utf-8 payload")
    check_eq(u["payload"], '{"temperature": 999}', "raw payload")
    check_eq(u["reason"]["errors"][0]["pointer"], "/temperature", "reason kept as JSON")
    b = srv.get_json(f"/api/v1/dead-letters/{dl_ids['binary']}")
    check_eq(b["payload_encoding"], "base64", "binary payload")
    check_eq(base64.b64decode(b["payload"]), b"\xff\xfe\x00abc", "base64 round trip")
    check_error(srv, "/api/v1/dead-letters/999999", 404, "dead_letter_not_found")
    check_error(srv, "/api/v1/dead-letters/abc", 400, "bad_parameter", "id")


@test
def test_stats_health_metrics_docs():
    s = srv.get_json("/api/v1/stats")
    check_eq(s["events"], seq, "events total")
    check_eq(s["dead_letters"], 3, "dead letters")
    check_eq(s["devices"], len(DEVICES), "devices")
    check_eq(s["projection_lag"], 0, "lag")
    check_eq(srv.get_json("/healthz")["status"], "ok", "healthz")
    r = srv.get_json("/readyz")
    check_eq(r["status"], "ready", "readyz")
    st, hd, body = srv.request("/metrics")
    check_eq(st, 200, "metrics")
    check(hd["content-type"].startswith("text/plain"), "prometheus content type")
    text = body.decode()
    check('asyncbridge_http_requests_total{route="/api/v1/stats",status="200"}' in text,
          "requests by route and status")
    check("asyncbridge_projection_lag_events 0" in text, "projection lag metric")
    check("process_resident_memory_bytes" in text, "rss")
    for line in text.splitlines():
        check(line.startswith("#") or len(line.split()) == 2, f"exposition line: {line!r}")
    st, hd, body = srv.request("/asyncapi.yaml")
    check_eq(st, 200, "asyncapi.yaml")
    with open(SPEC, "rb") as f:
        check_eq(body, f.read(), "spec served back byte for byte")
    aj = srv.get_json("/asyncapi.json")
    check_eq(aj["asyncapi"], "3.0.0", "asyncapi.json")
    st, hd, body = srv.request("/asyncapi/live.yaml")
    live = yaml.safe_load(body)
    check_eq(live["asyncapi"], "3.0.0", "live.yaml is AsyncAPI 3.0")
    check("event" in live["components"]["messages"], "event message documented")
    st, hd, body = srv.request("/docs")
    check_eq(st, 200, "docs")
    check(b"<html" in body.lower() and b"telemetry" in body, "docs html")


@test
def test_bad_parameters_are_400():
    base = "/api/v1/devices/gh-0001/events"
    for qs, code, param in [
        ("limit=abc", "bad_parameter", "limit"), ("limit=0", "bad_parameter", "limit"),
        ("limit=1001", "bad_parameter", "limit"), ("limit=-5", "bad_parameter", "limit"),
        ("limit=1e3", "bad_parameter", "limit"), ("from=yesterday", "bad_parameter", "from"),
        ("to=2026-13-01T00:00:00Z", "bad_parameter", "to"),
        ("from=2026-02-30T00:00:00Z", "bad_parameter", "from"),
        ("cursor=garbage", "bad_cursor", "cursor"), ("cursor=", "bad_cursor", "cursor"),
        ("channel=nope", "unknown_channel", "channel"), ("order=up", "bad_parameter", "order"),
        ("bogus=1", "unknown_parameter", "bogus"), ("limit=1&limit=2", "duplicate_parameter", "limit"),
    ]:
        check_error(srv, f"{base}?{qs}", 400, code, param)
    # a cursor of the other order, and a tampered one
    cur = srv.get_json(f"{base}?limit=1")["next_cursor"]
    check_error(srv, f"{base}?order=asc&cursor={q(cur)}", 400, "bad_cursor", "cursor")
    bad = cur[:-2] + ("A" if cur[-2] != "A" else "B") + cur[-1]
    check_error(srv, f"{base}?cursor={q(bad)}", 400, "bad_cursor", "cursor")
    dcur = srv.get_json("/api/v1/devices?limit=1")["next_cursor"]
    check_error(srv, f"/api/v1/devices?sort=last_seen&cursor={q(dcur)}", 400, "bad_cursor")
    check_error(srv, "/api/v1/events?after=-1", 400, "bad_parameter", "after")
    check_error(srv, "/api/v1/events?after=99999999999999999999", 400, "bad_parameter", "after")
    check_error(srv, "/api/v1/devices?status=sleepy", 400, "bad_parameter", "status")
    check_error(srv, "/api/v1/devices?sort=name", 400, "bad_parameter", "sort")
    check_error(srv, "/api/v1/devices?channel=nope", 400, "unknown_channel", "channel")
    sbase = "/api/v1/devices/gh-0001/series"
    check_error(srv, f"{sbase}?field=temperature", 400, "missing_parameter", "channel")
    check_error(srv, f"{sbase}?channel=telemetry", 400, "missing_parameter", "field")
    check_error(srv, f"{sbase}?channel=nope&field=temperature", 400, "unknown_channel")
    check_error(srv, f"{sbase}?channel=telemetry&field=colour", 400, "unknown_field", "field")
    check_error(srv, f"{sbase}?channel=telemetry&field=temperature&bucket=2m", 400,
                "bad_parameter", "bucket")
    check_error(srv, "/api/v1/dead-letters?kind=DROP%20TABLE", 400, "bad_parameter", "kind")
    check_error(srv, "/api/v1/stats?x=1", 400, "unknown_parameter", "x")
    # injection attempts are just values: no match, no error
    check_eq(srv.get_json("/api/v1/devices/x'%20OR%201=1--/events")["items"], [], "sql text")


@test
def test_404_405_and_raw_protocol_abuse():
    check_error(srv, "/", 404, "not_found")
    check_error(srv, "/api/v2/devices", 404, "not_found")
    check_error(srv, "/api/v1/devices/gh-0001/events/extra", 404, "not_found")
    for method in ("POST", "DELETE", "PUT", "PATCH"):
        hd, e = check_error(srv, "/api/v1/devices", 405, "method_not_allowed", method=method)
        check_eq(hd.get("allow"), "GET", f"Allow header on {method}")
    st, hd, body = srv.request("/api/v1/live")
    check_eq(st, 426, "plain GET on the WebSocket endpoint")
    # path escapes: normalised by the server, never outside the routes
    for path in ("/api/v1/../../etc/passwd", "/api/v1/%2e%2e/%2e%2e/etc/passwd",
                 "/..%2f..%2fetc/passwd", "/docs/../../../etc/shadow"):
        st, hd, body = srv.request(path)
        check(st in (403, 404), f"{path}: {st}")
        check(b"root:" not in body, "no file content")
    st, hd, body = srv.request("/api/v1/devices/../stats")
    check(st in (200, 404), "dot segments resolved inside the tree")
    # a bad percent escape
    out = srv.raw(b"GET /api/v1/devices/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
    check(out == b"" or out.split(b" ")[1] in (b"400", b"403"), f"bad escape: {out[:80]!r}")
    # oversized request line: 414, or the connection is refused; server lives
    long_path = b"/api/v1/devices/" + b"a" * 3000
    out = srv.raw(b"GET " + long_path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check(out == b"" or out.split(b" ")[1] in (b"414", b"400", b"431"), f"long uri: {out[:80]!r}")
    out = srv.raw(b"GET /api/v1/stats?" + b"limit=1&" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check(out == b"" or out.split(b" ")[1] in (b"414", b"400", b"431"), f"long query: {out[:80]!r}")
    # oversized headers
    big = b"X-Big: " + b"b" * 20000 + b"\r\n"
    out = srv.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    check(out == b"" or out.split(b" ")[1] in (b"400", b"431", b"413"), f"big headers: {out[:80]!r}")
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
    out = srv.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    check(out == b"" or not out.startswith(b"HTTP/1.1 200"), f"many headers: {out[:80]!r}")
    # garbage and an unknown method
    srv.raw(b"\x00\x01\x02garbage\r\n\r\n", read_timeout=2)
    out = srv.raw(b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", read_timeout=2)
    check(not out.startswith(b"HTTP/1.1 200"), "unknown method not served")
    # still alive and correct
    check(srv.alive(), "server survived")
    check_eq(srv.get_json("/healthz")["status"], "ok", "healthz after abuse")


@test
def test_keepalive_many_requests_one_connection():
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    for i in range(50):
        c.request("GET", f"/api/v1/devices/gh-0001/events?limit={1 + i % 5}")
        r = c.getresponse()
        body = json.loads(r.read())
        check_eq(r.status, 200, "keep-alive status")
        check_eq(len(body["items"]), 1 + i % 5, "keep-alive body")
    c.close()


def read_responses(sock, n):
    """Reads n HTTP/1.1 responses (content-length framed) from one socket."""
    import re
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            check(chunk != b"", f"connection closed after {len(out)} of {n} responses")
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        m = re.search(rb"content-length:\s*(\d+)", head, re.I)
        check(m is not None, f"response without content-length: {head[:200]!r}")
        size = int(m.group(1))
        while len(buf) < size:
            chunk = sock.recv(65536)
            check(chunk != b"", "connection closed inside a body")
            buf += chunk
        out.append((int(head.split(b" ")[1]), head, buf[:size]))
        buf = buf[size:]
    check_eq(buf, b"", "no bytes after the last response")
    return out


@test
def test_pipelined_responses_are_framed_exactly():
    """Headers and body leave in one write now: pipelined requests of every
    shape (big body, small body, error, no-content-length-mismatch) on one
    connection must come back complete, in order, byte-identical to the
    same requests on fresh connections."""
    import socket
    paths = ["/api/v1/devices/gh-0001/events?limit=1000",      # cached list, ~60 KB
             "/healthz",
             "/api/v1/nope",                                   # 404 JSON
             "/api/v1/devices/gh-0002/events?limit=2",
             "/api/v1/events?limit=1000",                      # global log, not cached
             "/api/v1/devices/gh-0001/events?limit=bad",       # 400
             "/api/v1/devices/gh-0001/events?limit=1000"]      # again: a cache hit
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p.encode() for p in paths))
        got = read_responses(s, len(paths))
    finally:
        s.close()
    want = [200, 200, 404, 200, 200, 400, 200]
    check_eq([g[0] for g in got], want, "pipelined statuses in order")
    for p, (status, head, body) in zip(paths, got):
        check(head.startswith(b"HTTP/1.1 "), f"{p}: status line {head[:40]!r}")
        fresh = srv.raw(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % p.encode())
        check_eq(body, fresh.partition(b"\r\n\r\n")[2], f"{p}: body equals a fresh request")
        json.loads(body)
    check_eq(len(json.loads(got[0][2])["items"]), len(expected["gh-0001"]), "all gh-0001 events")
    check_eq(got[0][2], got[6][2], "cache hit equals the first rendering")


@test
def test_response_cache_many_keys_and_invalidation():
    """Many distinct cached lists on one connection (more than collide in a
    pair of the cache), each asked twice: every answer equals the rendering
    of the same request on a fresh connection; an append to one device
    changes only that device's list."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    first = {}
    paths = [f"/api/v1/devices/{q(d)}/events?limit={n}" for d in DEVICES for n in range(1, 41)]
    try:
        for rnd in range(2):
            for p in paths:
                c.request("GET", p)
                r = c.getresponse()
                body = r.read()
                check_eq(r.status, 200, f"{p} status")
                if rnd == 0:
                    first[p] = body
                else:
                    check_eq(body, first[p], f"{p}: second answer equals the first")
        for p in paths[::37]:
            fresh = srv.get_json(p)
            check_eq(json.loads(first[p]), fresh, f"{p}: equals a fresh connection's answer")
        # append one event to gh-0003: its lists change, gh-0005's do not
        global seq
        import sqlite3
        con = sqlite3.connect(DB)
        seq += 1
        add_event(con, seq, "telemetry", "gh-0003", {"seq": 9999, "ts": "2026-11-18T00:00:00Z",
                                                     "temperature": 20.0, "humidity": 50.5},
                  T0 + 900000, message="reading", corr="9999")
        con.commit()
        con.close()
        expected["gh-0003"].append(seq)
        c.request("GET", "/api/v1/devices/gh-0003/events?limit=1")
        body = json.loads(c.getresponse().read())
        check_eq(body["items"][0]["seq"], seq, "appended event seen through the cache")
        check_eq(body["as_of_seq"], seq, "as_of_seq moved")
        c.request("GET", "/api/v1/devices/gh-0005/events?limit=1")
        body5 = json.loads(c.getresponse().read())
        check_eq(body5["items"], json.loads(first["/api/v1/devices/gh-0005/events?limit=1"])["items"],
                 "other device's list unchanged")
        check_eq(body5["as_of_seq"], seq, "as_of_seq of an unchanged list moved too")
    finally:
        c.close()


@test
def test_stop_is_clean():
    srv.stop()


if __name__ == "__main__":
    try:
        main()
    finally:
        if srv.proc:
            srv.proc.kill()
        tmp.cleanup()
