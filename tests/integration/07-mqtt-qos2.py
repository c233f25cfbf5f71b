#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""QoS 2 ingest: a spec whose receive operations ask for bindings.mqtt.qos 2
(tests/fixtures/mqtt/qos2.yaml), publishers sending QoS 2. Every message is
stored exactly once, also while the bridge is kill -9ed and restarted in the
middle of a QoS 2 stream (with a correlationId and with the hash dedupe
window), in journal and sync mode.

Paho C 1.3.12 sends the PUBCOMP of an inbound QoS 2 message before it calls
messageArrived, so a QoS 2 subscription lost messages here whenever the
kill hit a commit (sync mode: 1-2 of 3000 per run). The bridge therefore
subscribes with QoS 1 (acknowledged after the commit) and the store's
dedupe makes redeliveries exactly once; the test checks both."""
import json
import os
import random
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import (FIXTURES, Bridge, Mosquitto, Publisher, TempDir, check,  # noqa: E402
                     check_eq, count_rows, db_query, main, test, wait_for)

SPEC = os.path.join(FIXTURES, "mqtt", "qos2.yaml")


def stored(db):
    """(telemetry seqs, log ns) as lists (duplicates kept)."""
    tel = [r[0] for r in db_query(db, "SELECT CAST(correlation_id AS INTEGER) FROM events "
                                      "WHERE channel = 'telemetry'")]
    logs = [r[0] for r in db_query(db, "SELECT json_extract(payload, '$.n') FROM events "
                                       "WHERE channel = 'logs'")]
    return tel, logs


def msg(i):
    if i % 2 == 0:
        return f"q2/d{i % 5}/telemetry", json.dumps({"seq": i, "temperature": 20 + i % 7})
    return f"q2/d{i % 5}/log", json.dumps({"n": i, "text": f"line {i}"})


@test
def subscribes_with_qos2_and_stores_once():
    tmp = TempDir("abtest-mqtt-qos2-")
    broker = Mosquitto(tmp.path, extra="log_type subscribe\n").start()
    bridge = Bridge(tmp.path, SPEC, broker.port)
    pub = None
    try:
        bridge.start()
        # Paho C 1.3.12 sends PUBCOMP before messageArrived (a crash in the
        # handler loses a QoS 2 message), so the bridge subscribes with QoS 1
        # (acknowledged after the commit) and says so; dedupe gives exactly once
        check("granted qos" not in bridge.log_since(0), "no downgrade by the broker")
        check_eq(bridge.log_since(0).count("asks for qos 2; subscribing with qos 1"), 2,
                 "the QoS 1 choice is logged per filter")
        with open(broker.log, errors="replace") as f:
            subs = re.findall(r"asyncbridge-[0-9a-f]+ (\d) (q2/\+/\w+)", f.read())
        check_eq(sorted(subs), [("1", "q2/+/log"), ("1", "q2/+/telemetry")],
                 "subscriptions at QoS 1 (broker log)")
        pub = Publisher(broker.port)
        n = pub.publish_many((msg(i) for i in range(1000)), qos=2)
        check_eq(n, 1000, "published")
        wait_for(lambda: count_rows(bridge.db, "events") >= 1000, 60, what="1000 events")
        time.sleep(1)
        tel, logs = stored(bridge.db)
        check_eq(sorted(tel), list(range(0, 1000, 2)), "telemetry exactly once")
        check_eq(sorted(logs), list(range(1, 1000, 2)), "logs exactly once")
        check_eq(count_rows(bridge.db, "dead_letters"), 0, "no dead letters")
        bridge.stop()
    finally:
        if pub:
            pub.close()
        bridge.kill9()
        broker.stop()
        tmp.cleanup()


def crash_case(mode_args, total, kills):
    tmp = TempDir("abtest-mqtt-qos2-crash-")
    broker = Mosquitto(tmp.path).start()
    bridge = Bridge(tmp.path, SPEC, broker.port, extra_args=mode_args)
    pub = None
    try:
        bridge.start()
        pub = Publisher(broker.port, client_id="qos2-crash-pub", inflight=100, clean=False)
        infos = []
        done = threading.Event()

        def publish():
            for i in range(total):
                t, p = msg(i)
                infos.append((i, pub.publish(t, p, qos=2, wait=False)))
                if i % 50 == 0:
                    time.sleep(0.02)
            done.set()

        th = threading.Thread(target=publish)
        th.start()
        rng = random.Random(7)
        for k in range(kills):
            target = (k + 1) * total // (kills + 2)
            wait_for(lambda: (count_rows(bridge.db, "events") or 0) >= target * 0.8, 120,
                     what=f"progress before kill {k + 1}")
            time.sleep(rng.random() * 0.3)
            bridge.kill9()
            time.sleep(rng.random() * 0.5)
            bridge.start()
        th.join(180)
        check(done.is_set(), "publisher finished queueing")
        end = time.monotonic() + 180
        for i, info in infos:
            while not pub.is_acked(info) and time.monotonic() < end:
                time.sleep(0.01)
        unacked = [i for i, info in infos if not pub.is_acked(info)]
        check_eq(unacked, [], "every QoS 2 publish completed (PUBCOMP)")
        want_tel = list(range(0, total, 2))
        want_logs = list(range(1, total, 2))
        try:
            wait_for(lambda: count_rows(bridge.db, "events") >= total, 60,
                     what=f"{total} events")
        except AssertionError:
            pass        # the comparison below says what is missing
        time.sleep(2)   # let redeliveries, if any, arrive
        tel, logs = stored(bridge.db)
        missing_t = sorted(set(want_tel) - set(tel))
        missing_l = sorted(set(want_logs) - set(logs))
        dup_t = len(tel) - len(set(tel))
        dup_l = len(logs) - len(set(logs))
        check_eq((missing_t[:10], missing_l[:10], dup_t, dup_l), ([], [], 0, 0),
                 f"(log: {bridge.log}) "
                 "(missing telemetry, missing logs, duplicate telemetry, duplicate logs)")
        check_eq(count_rows(bridge.db, "dead_letters"), 0, "no dead letters")
        bridge.stop()
    finally:
        if pub:
            pub.close()
        bridge.kill9()
        broker.stop()
        tmp.cleanup()


@test
def kill9_during_qos2_stream_journal():
    crash_case([], 6000, 3)


@test
def kill9_during_qos2_stream_sync():
    crash_case(["--ingest-mode", "sync"], 3000, 3)


main()
