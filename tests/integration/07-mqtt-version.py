#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""MQTT 5 -> 3.1.1 fallback of asyncbridge run. mosquitto speaks both, so a
tiny proxy (tests/fixtures/mqtt/mqttedges.py) sits in front of it: a CONNECT
with protocol level 5 gets a refusing CONNACK (MQTT 5 reason 0x84
"unsupported protocol version", or the 3.1.1 return code 1) and the socket
is closed; a level-4 CONNECT is piped through. With mqtt_version auto the
bridge must end up connected with 3.1.1 and ingest; with 5 forced it keeps
failing, says why once, and never tries 3.1.1."""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "mqtt"))
from harness import (FIXTURES, HOST, Bridge, Mosquitto, Publisher, TempDir, check,  # noqa: E402
                     check_eq, count_rows, db_query, main, test, wait_for)
import mqttedges  # noqa: E402

SPEC = os.path.join(FIXTURES, "ingest", "spec.yaml")
tmp = TempDir("abtest-mqtt-version-")
broker = Mosquitto(tmp.path).start()
pub = Publisher(broker.port)


def proxied_bridge(name, proxy, *args):
    return Bridge(tmp.path, SPEC, broker.port, db=tmp.join(f"{name}.db"), name=name,
                  extra_args=["--broker", f"mqtt://{HOST}:{proxy.port}"] + list(args))


def publish_and_expect(bridge, dev, n):
    for i in range(n):
        pub.publish(f"fleet/{dev}/telemetry", json.dumps({"seq": i, "temperature": 20}))
    wait_for(lambda: count_rows(bridge.db, "events") >= n, 30, what=f"{n} events")
    time.sleep(0.3)
    check_eq(db_query(bridge.db, "SELECT device_id, count(*) FROM events GROUP BY 1"),
             [(dev, n)], "events")


def fallback_case(mode):
    proxy = mqttedges.V5RefusingProxy(broker.port, mode)
    bridge = proxied_bridge(f"auto-{mode}", proxy)
    try:
        bridge.start(timeout=30)
        log = bridge.log_since(0)
        check("falling back to 3.1.1" in log, f"fallback logged:\n{log}")
        check("(MQTT 3.1.1, session" in log, f"connected with 3.1.1:\n{log}")
        check("mqtt connect to" not in log, f"the refusal is not logged as a failure:\n{log}")
        levels = proxy.level_counts()
        check(levels.get(5, 0) >= 1, f"tried MQTT 5 first: {levels}")
        check(levels.get(4, 0) >= 1, f"then 3.1.1: {levels}")
        publish_and_expect(bridge, f"v-{mode}", 20)
        # a lost connection reconnects with 3.1.1 directly (no new MQTT 5 try)
        before5 = proxy.level_counts().get(5, 0)
        broker.restart()
        wait_for(lambda: bridge.log_since(0).count("subscribed to") >= 2, 30,
                 what="resubscribed after the broker restart")
        check_eq(proxy.level_counts().get(5, 0), before5, "no MQTT 5 retry after the fallback")
        # the publisher reconnects by itself (paho loop)
        for i in range(20, 30):
            pub.publish(f"fleet/v-{mode}/telemetry", json.dumps({"seq": i, "temperature": 20}))
        wait_for(lambda: count_rows(bridge.db, "events") >= 30, 30, what="30 events")
        bridge.stop()
        # a restart tries MQTT 5 again (the broker may have been upgraded) and falls back
        bridge.start(timeout=30)
        check("(MQTT 3.1.1, session resumed" in bridge.log_since(bridge._mark),
              f"3.1.1 session resumed on restart:\n{bridge.log_tail()}")
        bridge.stop()
    finally:
        bridge.kill9()
        proxy.close()


@test
def auto_falls_back_on_mqtt5_reason_0x84():
    fallback_case("v5")


@test
def auto_falls_back_on_311_return_code_1():
    fallback_case("v3")


def forced5_case(mode):
    proxy = mqttedges.V5RefusingProxy(broker.port, mode)
    bridge = proxied_bridge(f"forced5-{mode}", proxy, "--mqtt-version", "5",
                            "--reconnect-max", "2")
    try:
        bridge.start(wait_subscribed=False)
        wait_for(lambda: "mqtt connect to" in bridge.log_since(0) or not bridge.alive(), 20,
                 what="refusal logged")
        time.sleep(6)
        check(bridge.alive(), f"still running:\n{bridge.log_tail()}")
        log = bridge.log_since(0)
        fails = [ln for ln in log.splitlines() if "mqtt connect to" in ln]
        check_eq(len(fails), 1, f"refusal logged once:\n{log}")
        check("protocol version" in fails[0].lower(),
              f"says the protocol version was refused: {fails[0]}")
        check("falling back" not in log and "subscribed to" not in log, "no fallback")
        levels = proxy.level_counts()
        check_eq(levels.get(4, 0), 0, "never tried 3.1.1")
        check(levels.get(5, 0) >= 3, f"kept retrying MQTT 5: {levels}")
        bridge.stop()
    finally:
        bridge.kill9()
        proxy.close()


@test
def forced5_keeps_failing_clearly_reason_0x84():
    forced5_case("v5")


@test
def forced5_keeps_failing_clearly_311_code_1():
    forced5_case("v3")


@test
def forced311_connects_directly():
    proxy = mqttedges.V5RefusingProxy(broker.port, "v5")
    bridge = proxied_bridge("forced311", proxy, "--mqtt-version", "3.1.1")
    try:
        bridge.start(timeout=30)
        check_eq(proxy.level_counts(), {4: 1}, "one 3.1.1 CONNECT, no MQTT 5")
        publish_and_expect(bridge, "v311", 5)
        bridge.stop()
    finally:
        bridge.kill9()
        proxy.close()


try:
    main()
finally:
    pub.close()
    broker.stop()
    tmp.cleanup()
