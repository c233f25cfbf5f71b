#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Client id, keepalive and shared subscriptions of asyncbridge run: the
configured client id and keepalive are what the broker sees (mosquitto's
connect log line and its PINGREQ log), the default client id is stable
across restarts, and two bridges in one share group (each with its own db)
split a stream with no message lost or stored twice across the two dbs."""
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import (FIXTURES, Bridge, Mosquitto, Publisher, TempDir, check,  # noqa: E402
                     check_eq, count_rows, db_query, main, test, wait_for)

SPEC = os.path.join(FIXTURES, "ingest", "spec.yaml")


def broker_text(broker):
    with open(broker.log, errors="replace") as f:
        return f.read()


@test
def client_id_and_keepalive_seen_by_broker():
    tmp = TempDir("abtest-mqtt-cid-")
    broker = Mosquitto(tmp.path, extra="log_type all\n").start()
    b5 = Bridge(tmp.path, SPEC, broker.port, db=tmp.join("a.db"), name="b5",
                extra_args=["--client-id", "edge-bridge-Z9", "--keepalive", "5"])
    b3 = Bridge(tmp.path, SPEC, broker.port, db=tmp.join("b.db"), name="b3",
                extra_args=["--client-id", "edge-bridge-311", "--keepalive", "3600",
                            "--mqtt-version", "3.1.1"])
    try:
        b5.start()
        b3.start()
        text = broker_text(broker)
        check(re.search(r"New client connected from 127\.0\.0\.1:\d+ as edge-bridge-Z9 "
                        r"\(p5, c0, k5\)", text), "MQTT 5 client id, clean start off, keepalive 5")
        check(re.search(r"New client connected from 127\.0\.0\.1:\d+ as edge-bridge-311 "
                        r"\(p2, c0, k3600\)", text),   # mosquitto's p2 = mosq_p_mqtt311
              "3.1.1 client id, clean session off, k3600")
        check("as 'edge-bridge-Z9'" in b5.log_since(0), "bridge logs its client id")
        # keepalive 5: Paho pings within the keepalive interval when idle
        wait_for(lambda: "Received PINGREQ from edge-bridge-Z9" in broker_text(broker), 12,
                 what="a PINGREQ from the keepalive-5 client")
        check("Received PINGREQ from edge-bridge-311" not in broker_text(broker),
              "no ping from the keepalive-3600 client yet")
        b5.stop()
        b3.stop()
    finally:
        b5.kill9()
        b3.kill9()
        broker.stop()
        tmp.cleanup()


@test
def default_client_id_stable_and_distinct():
    tmp = TempDir("abtest-mqtt-cid2-")
    broker = Mosquitto(tmp.path).start()
    a = Bridge(tmp.path, SPEC, broker.port, db=tmp.join("one.db"), name="one")
    b = Bridge(tmp.path, SPEC, broker.port, db=tmp.join("two.db"), name="two")
    try:
        ids = []
        for br in (a, a, b):
            br.start()
            m = re.findall(r"as '(asyncbridge-[0-9a-f]{8})'", br.log_since(br._mark))
            check_eq(len(m), 1, "one connect line")
            ids.append(m[0])
            br.stop()
        check_eq(ids[0], ids[1], "same db path, same client id across restarts")
        check(ids[0] != ids[2], f"another db path, another client id: {ids}")
    finally:
        a.kill9()
        b.kill9()
        broker.stop()
        tmp.cleanup()


def share_case(version_args, total):
    tmp = TempDir("abtest-mqtt-share-")
    broker = Mosquitto(tmp.path, extra="log_type subscribe\n").start()
    bridges = [Bridge(tmp.path, SPEC, broker.port, db=tmp.join(f"s{k}.db"), name=f"s{k}",
                      extra_args=["--share-group", "ingest"] + version_args) for k in (1, 2)]
    pub = None
    try:
        for br in bridges:
            br.start()
        check_eq(len(re.findall(r"\$share/ingest/fleet/\+/telemetry", broker_text(broker))) >= 2,
                 True, "both subscribed with $share/ingest/")
        pub = Publisher(broker.port)
        n = pub.publish_many((f"fleet/sh{i % 4}/telemetry",
                              json.dumps({"seq": i, "temperature": 10})) for i in range(total))
        check_eq(n, total, "published")
        wait_for(lambda: sum(count_rows(br.db, "events") for br in bridges) >= total, 60,
                 what=f"{total} events across both dbs")
        time.sleep(1)
        parts = []
        for br in bridges:
            parts.append([(r[0], int(r[1])) for r in db_query(
                br.db, "SELECT device_id, correlation_id FROM events")])
        for k, p in enumerate(parts):
            check(len(p) > 0, f"bridge {k + 1} got a share of the stream ({len(p)})")
            check_eq(len(p), len(set(p)), f"no duplicate within db {k + 1}")
        union = set(parts[0]) | set(parts[1])
        want = {(f"sh{i % 4}", i) for i in range(total)}
        check_eq(len(set(parts[0]) & set(parts[1])), 0, "no message in both dbs")
        check_eq(sorted(want - union)[:10], [], "no message lost")
        check_eq(len(union), total, "the union is exactly the published set")
        print(f"  split {len(parts[0])} / {len(parts[1])}")
        for br in bridges:
            br.stop()
    finally:
        if pub:
            pub.close()
        for br in bridges:
            br.kill9()
        broker.stop()
        tmp.cleanup()


@test
def share_group_splits_stream_mqtt5():
    share_case([], 2000)


@test
def share_group_splits_stream_mqtt311():
    share_case(["--mqtt-version", "3.1.1"], 1000)


main()
