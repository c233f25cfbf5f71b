#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asyncbridge run: the persistent session (messages published while the
bridge is down arrive when it returns), a broker restart mid-stream
(nothing the broker acknowledged to the publisher is lost), and a journal
or store that fails (the message waits unacknowledged, the earlier ones'
acknowledgements leave, the failure is logged once)."""
import json
import os
import re
import signal
import sqlite3
import threading
import time
import urllib.request

from harness import (Bridge, FIXTURES, Publisher, Rig, check, check_eq, count_rows,
                     db_query, db_scalar, main, test, wait_for)

SPEC = os.path.join(FIXTURES, "ingest", "spec.yaml")


def metrics(bridge):
    """The bridge's /metrics as {name: value} (unlabelled samples only)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{bridge.http_port()}/metrics",
                                timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#") and "{" not in parts[0]:
            out[parts[0]] = float(parts[1])
    return out


@test
def persistent_session_1000_while_down():
    with Rig(SPEC) as rig:
        broker, bridge = rig.broker, rig.bridge
        bridge.start()      # creates the session and its subscriptions
        bridge.stop()
        pub = rig.pub = Publisher(broker.port)
        n = pub.publish_many((f"fleet/dev{i % 7}/telemetry",
                              json.dumps({"seq": i, "temperature": 20 + i % 10}))
                             for i in range(1000))
        check_eq(n, 1000, "published")
        check_eq(count_rows(bridge.db, "events"), 0, "nothing stored while down")
        bridge.start()
        wait_for(lambda: count_rows(bridge.db, "events") >= 1000, 60, what="1000 events")
        check("session resumed" in bridge.log_since(0), "second connect resumed the session")
        time.sleep(0.5)
        rows = db_query(bridge.db, "SELECT count(*), count(DISTINCT device_id || '/' || "
                                   "correlation_id) FROM events")
        check_eq(rows[0], (1000, 1000), "every message stored exactly once")
        # Paho's socket I/O was batched (bridge/src/sockio.h): the backlog came
        # in a few reads (3 here), and Paho's reads (3 per message) and all
        # its acknowledgements went through the buffers
        m = metrics(bridge)
        check(0 < m["asyncbridge_mqtt_socket_reads_total"] < 500, f"socket reads: {m}")
        check(m["asyncbridge_mqtt_reads_buffered_total"] > 3000, f"buffered reads: {m}")
        check(m["asyncbridge_mqtt_writes_buffered_total"] >= 1000, f"buffered acks: {m}")
        check(m["asyncbridge_mqtt_socket_sends_total"] < 500, f"ack sends: {m}")
        bridge.stop()
        # ASYNCBRIDGE_PAHO_BATCH_IO=0 turns it off (the messages still arrive);
        # a value other than 0 or 1 is reported and leaves it on
        for value, base, batched in (("0", 1000, False), ("off", 1200, True)):
            os.environ["ASYNCBRIDGE_PAHO_BATCH_IO"] = value
            try:
                bridge.start()
            finally:
                del os.environ["ASYNCBRIDGE_PAHO_BATCH_IO"]
            pub.publish_many((f"fleet/dev{i % 7}/telemetry",
                              json.dumps({"seq": base + i, "temperature": 20}))
                             for i in range(200))
            wait_for(lambda: count_rows(bridge.db, "events") >= base + 200, 60,
                     what=f"{base + 200} events")
            m = metrics(bridge)
            check_eq(m["asyncbridge_mqtt_socket_reads_total"] > 0, batched, f"reads ({value}): {m}")
            check_eq(m["asyncbridge_mqtt_writes_buffered_total"] >= 200, batched,
                     f"buffered acks ({value}): {m}")
            warned = "ASYNCBRIDGE_PAHO_BATCH_IO='off' is neither 0 nor 1" in bridge.log_since(0)
            check_eq(warned, batched, "the bad value is reported")
            bridge.stop()


@test
def broker_restart_mid_stream():
    total = 4000
    with Rig(SPEC) as rig:
        broker, bridge = rig.broker, rig.bridge
        bridge.start()
        # a persistent publisher session, so its in-flight messages are resent
        pub = rig.pub = Publisher(broker.port, client_id="restart-publisher", inflight=50, clean=False)
        acked = []
        done = threading.Event()

        def publish():
            infos = []
            for i in range(total):
                infos.append((i, pub.publish(f"fleet/r{i % 5}/telemetry",
                                             json.dumps({"seq": i, "temperature": 1}),
                                             wait=False)))
                time.sleep(0.0005)
            end = time.monotonic() + 120
            for i, info in infos:
                while not pub.is_acked(info) and time.monotonic() < end:
                    time.sleep(0.01)
                if pub.is_acked(info):
                    acked.append(i)
            done.set()

        t = threading.Thread(target=publish)
        t.start()
        wait_for(lambda: (count_rows(bridge.db, "events") or 0) > 300, 60,
                 what="stream flowing")
        broker.restart()    # clean stop: mosquitto saves its queues, then comes back
        t.join(180)
        check(done.is_set(), "publisher finished")
        check(len(acked) > total * 0.9, f"most messages acknowledged ({len(acked)})")
        # everything the broker acknowledged must end up stored exactly once
        want = {(f"r{i % 5}", str(i)) for i in acked}

        def stored():
            rows = db_query(bridge.db, "SELECT device_id, correlation_id FROM events")
            return want <= set(rows)

        wait_for(stored, 120, what="every acknowledged message stored")
        rows = db_query(bridge.db, "SELECT count(*), count(DISTINCT device_id || '/' || "
                                   "correlation_id) FROM events")
        check_eq(rows[0][0], rows[0][1], "no duplicates")
        log = bridge.log_since(0)
        check("connection to" in log and "lost" in log, "loss logged")
        check(log.count("lost") == 1, f"loss logged once:\n{bridge.log_tail()}")
        check_eq(db_scalar(bridge.db, "SELECT count(*) FROM dead_letters"), 0, "no dead letters")
        bridge.stop()


@test
def broker_down_at_start_backoff_and_spec_broker():
    """Bridge started before the broker: retries quietly with backoff, logs
    the failure once, connects when the broker appears. The broker comes
    from the spec's server (host with a {port} variable), not a flag."""
    with Rig(None, start_broker=False) as rig:  # the broker is configured, not started yet
        tmp, broker = rig.tmp, rig.broker
        spec = tmp.join("spec.yaml")
        with open(SPEC) as f:
            text = f.read()
        text = text.replace("    host: 127.0.0.1:1883\n",
                            "    host: 127.0.0.1:{port}\n    variables:\n      port:\n"
                            f"        default: '{broker.port}'\n")
        with open(spec, "w") as f:
            f.write(text)
        bridge = rig.bridge = Bridge(tmp.path, spec, broker.port)
        bridge.args = lambda: [harness_bin(), "run", "--spec", spec, "--db", bridge.db,
                               "--reconnect-min", "1", "--reconnect-max", "2",
                               "--http", "127.0.0.1:0"]
        bridge.start(wait_subscribed=False)
        time.sleep(4)
        check(bridge.alive(), "bridge keeps running without a broker")
        log = bridge.log_since(0)
        check_eq(log.count("connect to"), 1, f"failure logged once:\n{log}")
        broker.start()
        wait_for(lambda: "subscribed to" in bridge.log_since(0), 30, what="connected later")
        check(f"tcp://127.0.0.1:{broker.port}" in bridge.log_since(0), "broker from the spec")
        pub = rig.pub = Publisher(broker.port)
        pub.publish("fleet/late/telemetry", {"seq": 1, "temperature": 5})
        wait_for(lambda: count_rows(bridge.db, "events") == 1, 30, what="event stored")
        bridge.stop()


@test
def retained_status_not_replayed_on_restart():
    with Rig(SPEC) as rig:
        broker, bridge = rig.broker, rig.bridge
        bridge.start()
        pub = rig.pub = Publisher(broker.port)
        pub.client.publish("fleet/r1/status", json.dumps({"status": "online"}), qos=1,
                           retain=True).wait_for_publish(10)
        wait_for(lambda: count_rows(bridge.db, "events") == 1, 30, what="status stored")
        bridge.stop()
        mark = bridge.log_size()
        bridge.start()
        time.sleep(1.0)
        bridge.stop()
        log = bridge.log_since(mark)
        check("session resumed" in log, "session resumed")
        check("ingest: 0 received" in log, f"retained message not sent again:\n{log}")
        check_eq(count_rows(bridge.db, "events"), 1, "still one event")


@test
def acks_leave_while_a_message_waits_for_the_journal():
    """A message that cannot be journaled (the next segment's name is taken
    by a folder) is held by the receive thread, which retries with back-off;
    the acknowledgements Paho wrote for the messages before it (buffered by
    bridge/src/sockio.c) reach the broker before the first back-off sleep,
    not when the journal works again."""
    with Rig(SPEC, broker_extra="log_type debug") as rig:  # the broker logs PUBACKs it receives
        bridge = rig.bridge

        def bridge_acks():
            with open(rig.broker.log, errors="replace") as f:
                return sum("Received PUBACK from asyncbridge-" in ln for ln in f)

        def msg(i):
            return f"fleet/dev{i % 5}/telemetry", json.dumps({"seq": i, "temperature": 20})

        bridge.start()
        pub = rig.pub = Publisher(rig.broker.port)
        # a fresh journal writes segment 2 first: 2048 records (JOURNAL_SEG_RECORDS),
        # so the 2049th message needs segment 3
        blocker = os.path.join(bridge.db + ".journal", "seg-0000000000000003.jnl")
        os.mkdir(blocker)
        pub.publish_many(msg(i) for i in range(2047))
        wait_for(lambda: count_rows(bridge.db, "events") >= 2047, 60, what="2047 events")
        wait_for(lambda: bridge_acks() >= 2047, 10, what="2047 acknowledgements")
        # the last two arrive together: one socket read gives the receive thread both
        bridge.proc.send_signal(signal.SIGSTOP)
        try:
            infos = [pub.publish(*msg(i), wait=False) for i in (2047, 2048)]
            for info in infos:
                info.wait_for_publish(10)
            time.sleep(0.3)  # the broker has written both to the bridge's socket
        finally:
            bridge.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: "cannot open journal segment" in bridge.log_since(0), 20,
                 what="journal failure logged")
        wait_for(lambda: bridge_acks() >= 2048, 10, what="2048 acknowledgements")
        wait_for(lambda: count_rows(bridge.db, "events") >= 2048, 20, what="2048 events")
        time.sleep(0.5)
        check_eq(count_rows(bridge.db, "events"), 2048, "the 2049th waits")
        check_eq(bridge_acks(), 2048, "and is not acknowledged")
        os.rmdir(blocker)
        wait_for(lambda: count_rows(bridge.db, "events") >= 2049, 20, what="2049 events")
        wait_for(lambda: bridge_acks() >= 2049, 10, what="2049 acknowledgements")
        log = bridge.log_since(0)
        check_eq(log.count("cannot open journal segment"), 1, f"failure logged once:\n{log}")
        check("the journal works again after" in log, f"recovery logged:\n{log}")
        bridge.stop()
        rows = db_query(bridge.db, "SELECT count(*), count(DISTINCT correlation_id) FROM events")
        check_eq(rows[0], (2049, 2049), "every message stored once")


@test
def sync_mode_waits_for_a_locked_store_and_says_so_once():
    """--ingest-mode sync: while another process holds the database's write
    lock, the commit fails after the busy timeout (5 s) and the message is
    retried with back-off; the failure is logged once, the
    recovery once, and the message is stored once the lock goes."""
    with Rig(SPEC, extra_args=["--ingest-mode", "sync"]) as rig:
        bridge = rig.bridge
        bridge.start()
        pub = rig.pub = Publisher(rig.broker.port)
        pub.publish("fleet/dev1/telemetry", json.dumps({"seq": 1, "temperature": 20}))
        wait_for(lambda: count_rows(bridge.db, "events") >= 1, 20, what="first event")
        con = sqlite3.connect(bridge.db, isolation_level=None, timeout=10)
        try:
            con.execute("BEGIN IMMEDIATE")
            pub.publish("fleet/dev1/telemetry", json.dumps({"seq": 2, "temperature": 21}))
            time.sleep(10.5)  # two busy timeouts: two failed attempts, usually
            check("store commits work again" not in bridge.log_since(0), "still failing")
        finally:
            con.rollback()
            con.close()
        wait_for(lambda: count_rows(bridge.db, "events") >= 2, 20, what="second event")
        log = bridge.log_since(0)
        check_eq(log.count("committing a message failed"), 1, f"failure logged once:\n{log}")
        m = re.search(r"store commits work again after (\d+) failed attempts", log)
        check(m is not None and int(m.group(1)) >= 1, f"recovery logged:\n{log}")
        bridge.stop()
        check_eq(db_query(bridge.db, "SELECT correlation_id FROM events ORDER BY seq"),
                 [("1",), ("2",)], "both stored once")


def harness_bin():
    import harness
    return harness.BIN


if __name__ == "__main__":
    main()
