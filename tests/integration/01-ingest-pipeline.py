#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asyncbridge run: the pipeline end to end against a real mosquitto and a
real SQLite file: valid -> events (channel, device, params, payload,
message, correlation id), invalid -> dead letters (pointer, keyword),
unknown topic, oversize, non-JSON, invalid UTF-8, duplicate correlation id,
hash dedupe, first-that-validates, the drop policy, and CLI/config errors."""
import json
import os
import signal

from harness import (Bridge, FIXTURES, Publisher, Rig, TempDir, check, check_eq, count_rows,
                     db_query, main, run_cli, test, wait_for)

SPEC = os.path.join(FIXTURES, "ingest", "spec.yaml")


def dead_letters(db):
    rows = db_query(db, "SELECT topic, channel, kind, CAST(payload AS BLOB), reason "
                        "FROM dead_letters ORDER BY id")
    return [(t, c, k, bytes(p), json.loads(r)) for t, c, k, p, r in rows]


def events(db):
    rows = db_query(db, "SELECT channel, message, device_id, topic, params, payload, "
                        "correlation_id FROM events ORDER BY seq")
    return [(c, m, d, t, json.loads(pa), json.loads(p), corr)
            for c, m, d, t, pa, p, corr in rows]


@test
def cli_errors():
    rc, out, _ = run_cli("run", "--help")
    check_eq(rc, 0, "run --help exit code")
    check("--spec" in out and "--max-payload" in out, "run --help lists the flags")
    rc, _, err = run_cli("run")
    check_eq(rc, 2, "run without --spec")
    check("--spec is required" in err, f"missing --spec message: {err!r}")
    for args, needle in [
        (["--keepalive", "0"], "--keepalive: 0 is out of range 5..3600"),
        (["--keepalive", "12x"], "not a whole number"),
        (["--max-payload", "100M"], "out of range"),
        (["--mqtt-version", "6"], "is not one of auto, 5, 3.1.1"),
        (["--unknown-topic", "ignore"], "dead-letter, drop"),
        (["--bogus", "1"], "unknown option '--bogus'"),
        (["--broker"], "--broker: missing value"),
        (["--broker", "ftp://x:1"], "scheme must be mqtt:// or mqtts://"),
        (["--broker", "mqtt://127.0.0.1:70000"], "port must be 1..65535"),
        (["extra"], "unexpected argument 'extra'"),
    ]:
        rc, _, err = run_cli("run", "--spec", SPEC, *args)
        check_eq(rc, 2, f"exit code for {args}")
        check(needle in err, f"{args}: {needle!r} not in {err!r}")
    rc, _, err = run_cli("run", "--spec", "/nonexistent/spec.yaml")
    check_eq(rc, 2, "missing spec exit code")
    check("/nonexistent/spec.yaml" in err, f"missing spec error names the file: {err!r}")
    tmp = TempDir()
    try:
        bad = tmp.join("bad.yaml")
        with open(bad, "w") as f:
            f.write("keepalive: 30\nmax_payload: 1k\ncolour: blue\n")
        rc, _, err = run_cli("run", "--spec", SPEC, "--config", bad)
        check_eq(rc, 2, "unknown config key exit code")
        check("colour: unknown setting" in err, f"config error: {err!r}")
        bad2 = tmp.join("bad.json")
        with open(bad2, "w") as f:
            f.write('{"keepalive": "soon"}')
        rc, _, err = run_cli("run", "--spec", SPEC, "--config", bad2)
        check_eq(rc, 2, "bad config value exit code")
        check("keepalive" in err and "not a whole number" in err, f"config error: {err!r}")
        bad3 = tmp.join("broken.yaml")
        with open(bad3, "w") as f:
            f.write("keepalive: [1,\n")
        rc, _, err = run_cli("run", "--spec", SPEC, "--config", bad3)
        check_eq(rc, 2, "malformed config exit code")
        check("broken.yaml" in err, f"malformed config error names the file: {err!r}")
    finally:
        tmp.cleanup()


@test
def pipeline():
    with Rig(None) as rig:
        tmp, broker = rig.tmp, rig.broker
        # the config file sets max_payload and the broker; the flag must win for the broker
        conf = tmp.join("bridge.yaml")
        with open(conf, "w") as f:
            f.write("max_payload: 1k\nbroker: mqtt://127.0.0.1:1\nlog_level: debug\n")
        bridge = rig.bridge = Bridge(tmp.path, SPEC, broker.port, extra_args=["--config", conf])
        bridge.start()
        pub = rig.pub = Publisher(broker.port)
        P = pub.publish
        P("fleet/d1/telemetry", {"seq": 1, "temperature": 21.5, "humidity": 40})
        P("fleet/d1/telemetry", {"seq": 2, "temperature": 22.0})
        P("fleet/d2/telemetry", {"seq": 1, "temperature": -3})
        # duplicate correlation id (same channel + device + seq): no second event
        P("fleet/d1/telemetry", {"seq": 1, "temperature": 30.0})
        # schema failures
        P("fleet/d1/telemetry", {"seq": 3, "temperature": 99.5})
        P("fleet/d1/telemetry", {"temperature": 20})
        # status: no correlation id -> hash dedupe of identical topic+payload
        P("fleet/d1/status", {"status": "online"})
        P("fleet/d1/status", {"status": "online"})
        P("fleet/d1/status", {"status": "sleeping"})
        # several messages: first that validates wins; device id from the payload
        P("site/s1/meter", {"meter_id": "m7", "litres": 3.5})
        P("site/s1/meter", {"meter_id": "m8", "kwh": 2})
        P("site/s2/meter", {"meter_id": "m9"})
        # unknown topic (matches the subscription fleet/+/telemetry, but an
        # empty level is no device id, so no channel), not subscribed topic,
        # oversize, non-JSON, bad UTF-8
        P("fleet//telemetry", {"x": 1})
        P("fleet/d1/unknown", {"x": 1})
        P("fleet/d1/commands", {"command": "water"})
        P("fleet/d3/telemetry", json.dumps({"seq": 9, "temperature": 1, "pad": "x" * 2000}))
        P("fleet/d3/telemetry", "hello, not json")
        P("fleet/d3/telemetry", b'{"seq": 10, "temperature": "\xff\xfe"}')
        P("fleet/d3/telemetry", b"")
        db = bridge.db
        want_events, want_dead = 6, 9
        wait_for(lambda: count_rows(db, "events") >= want_events
                 and count_rows(db, "dead_letters") >= want_dead, 30,
                 what="events and dead letters stored")
        # a marker after everything: when it is stored, all before it were handled
        P("fleet/zz/telemetry", {"seq": 1, "temperature": 0})
        wait_for(lambda: count_rows(db, "events") == want_events + 1, 30, what="marker event")
        evs = events(db)
        check_eq(len(evs), want_events + 1, "event count")
        # the ingest counters reach /metrics of the HTTP side run starts
        port = bridge.http_port()
        check(port, f"http port logged:\n{bridge.log_tail()}")
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        check("asyncbridge_messages_received_total" in metrics, f"metrics:\n{metrics[:2000]}")
        by_key = {(e[0], e[2], e[6]): e for e in evs}
        e = by_key[("telemetry", "d1", "1")]
        check_eq(e[1], "reading", "message id")
        check_eq(e[3], "fleet/d1/telemetry", "topic")
        check_eq(e[4], {"deviceId": "d1"}, "params")
        check_eq(e[5], {"seq": 1, "temperature": 21.5, "humidity": 40}, "payload (first wins)")
        check(("telemetry", "d1", "2") in by_key and ("telemetry", "d2", "1") in by_key,
              "per-device correlation ids")
        status = [x for x in evs if x[0] == "status"]
        check_eq(len(status), 1, "status events (hash dedupe dropped the identical one)")
        check_eq(status[0][2], "d1", "status device")
        check_eq(status[0][6], None, "status has no correlation id")
        meters = [x for x in evs if x[0] == "meters"]
        check_eq([(m[1], m[2], m[4]) for m in meters],
                 [("water", "m7", {"siteId": "s1"}), ("energy", "m8", {"siteId": "s1"})],
                 "meters: message chosen and payload device id")
        dls = dead_letters(db)
        check_eq(len(dls), want_dead, f"dead letter count: {dls}")
        kinds = [d[2] for d in dls]
        check_eq(sorted(kinds), sorted(["schema", "schema", "schema", "schema", "no_channel",
                                        "size", "parse", "parse", "parse"]), "kinds")
        for d in dls:
            check_eq(d[4]["kind"], d[2], "reason kind == kind column")
            check(isinstance(d[4]["errors"], list) and d[4]["errors"], "reason has errors")
        tel = [d for d in dls if d[0] == "fleet/d1/telemetry"]
        errs = {(x["pointer"], x["keyword"]) for d in tel for x in d[4]["errors"]}
        check(("/temperature", "maximum") in errs, f"maximum error at /temperature: {errs}")
        check(("", "required") in errs, f"required error at the root: {errs}")
        mx = [x for d in tel for x in d[4]["errors"] if x["keyword"] == "maximum"][0]
        check(mx["schema_path"].endswith("/temperature/maximum"), f"schema path {mx}")
        check(mx["message"], "error message text")
        check_eq(tel[0][1], "telemetry", "dead letter channel")
        st = [d for d in dls if d[0] == "fleet/d1/status"]
        check_eq(len(st), 1, "status schema dead letter")
        check_eq(st[0][4]["errors"][0]["keyword"], "enum", "status enum keyword")
        check_eq(st[0][4]["errors"][0]["pointer"], "/status", "status pointer")
        meter = [d for d in dls if d[0] == "site/s2/meter"][0]
        check("message" in meter[4], "schema reason names the message tried")
        unk = [d for d in dls if d[2] == "no_channel"][0]
        check_eq((unk[0], unk[1], unk[3]), ("fleet//telemetry", None, b'{"x": 1}'),
                 "unknown topic dead letter keeps topic and payload")
        size = [d for d in dls if d[2] == "size"][0]
        check("exceeds" in size[4]["errors"][0]["message"], f"size message {size[4]}")
        parse_payloads = sorted(d[3] for d in dls if d[2] == "parse")
        check_eq(parse_payloads, sorted([b"hello, not json",
                                         b'{"seq": 10, "temperature": "\xff\xfe"}', b""]),
                 "parse dead letters keep the raw bytes")
        check(not any(x[3] == "fleet/d1/commands" for x in evs), "send-only channel ignored")
        bridge.stop()
        # journal segments are removed on a clean stop
        jdir = bridge.db + ".journal"
        check_eq([f for f in os.listdir(jdir) if f.endswith(".jnl")], [], "journal emptied")


@test
def unknown_topic_drop_sync_mode_shared_sub_sigint():
    with Rig(SPEC, extra_args=["--unknown-topic", "drop", "--ingest-mode", "sync",
                               "--mqtt-version", "3.1.1", "--share-group", "grp"]) as rig:
        broker, bridge = rig.broker, rig.bridge
        bridge.start()
        check("MQTT 3.1.1" in bridge.log_since(0), "connected with 3.1.1 when asked")
        pub = rig.pub = Publisher(broker.port)
        pub.publish("fleet//status", {"x": 1})
        pub.publish("fleet/d1/telemetry", {"seq": 5, "temperature": 1})
        pub.publish("fleet/d1/telemetry", {"seq": 6, "temperature": 1000})
        wait_for(lambda: count_rows(bridge.db, "events") == 1
                 and count_rows(bridge.db, "dead_letters") == 1, 30, what="sync mode stored")
        kinds = db_query(bridge.db, "SELECT kind FROM dead_letters")
        check_eq(kinds, [("schema",)], "unknown topic dropped, not dead-lettered")
        bridge.stop(sig=signal.SIGINT)
        log = bridge.log_since(0)
        check("SIGINT received" in log, "SIGINT stops the bridge cleanly")
        check("1 dropped" in log, f"dropped counted:\n{bridge.log_tail()}")


@test
def correlation_ids_move_to_event_corr():
    """The writer moves correlation ids from memory to event_corr while idle,
    and writes the device index; duplicates are caught in either place, also
    after a restart."""
    with Rig(SPEC) as rig:
        broker, bridge = rig.broker, rig.bridge
        bridge.start()
        db = bridge.db
        pub = rig.pub = Publisher(broker.port)
        n = 700

        def tel(i, dev="d1"):
            return (f"fleet/{dev}/telemetry", {"seq": i, "temperature": 20})
        pub.publish_many(tel(i) for i in range(1, n + 1))
        wait_for(lambda: count_rows(db, "events") == n, 60, what="events stored")
        # on a light stream ids move 256 or more at a time: fewer than 256 stay in memory
        wait_for(lambda: count_rows(db, "event_corr") > n - 256, 30,
                 what=f"correlation ids moved:\n{bridge.log_tail()}")
        moved = count_rows(db, "event_corr")
        check_eq(db_query(db, "SELECT count(*) FROM event_corr c JOIN events e ON e.seq = c.seq"
                              " WHERE e.channel = c.channel AND e.device_id = c.device"
                              " AND e.correlation_id = CAST(c.corr AS TEXT)"
                              " AND typeof(c.corr) = 'integer'"),
                 [(moved,)], "event_corr rows point at their events")
        indexed = db_query(db, "SELECT value FROM store_meta WHERE name = 'corr_indexed'")[0][0]
        check(indexed >= moved, f"checkpoint {indexed} covers the {moved} moved")
        # the device index is written the same way (store_device_flush)
        wait_for(lambda: count_rows(db, "device_events") > n - 256, 30,
                 what=f"device index written:\n{bridge.log_tail()}")
        rows = count_rows(db, "device_events")
        check_eq(db_query(db, "SELECT count(*) FROM device_events d JOIN events e"
                              " ON e.seq = d.seq WHERE e.device_id = d.device_id"),
                 [(rows,)], "device_events rows point at their events")
        check_eq(db_query(db, "SELECT value FROM store_meta WHERE name = 'device_indexed'"),
                 [(rows,)], "device checkpoint at the last row written")

        def no_new_events(marker_seq):
            pub.publish(*tel(marker_seq, dev="marker"))
            wait_for(lambda: db_query(db, "SELECT count(*) FROM events WHERE device_id ="
                                          " 'marker'")[0][0] >= 1, 30, what="marker stored")
            check_eq(count_rows(db, "events"), n + 1, "redeliveries stored nothing")
        # redeliveries of moved ids (event_corr) and of the last ones (memory)
        pub.publish_many(tel(i) for i in [1, 2, n // 2, n - 1, n])
        no_new_events(1)
        # a clean stop writes every pending index entry
        pub.publish_many(tel(i) for i in range(n + 10, n + 20))
        wait_for(lambda: count_rows(db, "events") == n + 11, 30, what="10 more events")
        bridge.stop()
        check_eq(db_query(db, "SELECT (SELECT count(*) FROM device_events),"
                              " (SELECT value FROM store_meta WHERE name = 'device_indexed'),"
                              " (SELECT count(*) FROM event_corr),"
                              " (SELECT value FROM store_meta WHERE name = 'corr_indexed')"),
                 [(n + 11, n + 11, n + 11, n + 11)], "indexes complete after a clean stop")
        # after a restart the ids still in memory come back from the log
        bridge.start()
        pub.publish_many(tel(i) for i in [3, n - 2, n, n + 10])
        pub.publish(*tel(n + 1))
        wait_for(lambda: count_rows(db, "events") == n + 12, 30, what="new event after restart")
        check_eq(db_query(db, "SELECT count(*) FROM events WHERE device_id = 'd1'"),
                 [(n + 11,)], "one event per correlation id")


if __name__ == "__main__":
    main()
