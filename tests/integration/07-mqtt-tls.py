#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asyncbridge run over TLS (mqtts://): a throwaway CA and server cert made
with openssl at run time, mosquitto with TLS listeners; the bridge trusts the
CA (--tls-ca) and ingests; with a wrong CA it refuses to connect, says why
once and keeps retrying; client certificate auth (require_certificate) with
--tls-cert/--tls-key, and without a cert or with an untrusted one."""
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "mqtt"))
from harness import (BIN, FIXTURES, HOST, Bridge, Mosquitto, Publisher, TempDir, check,  # noqa: E402
                     TestFailure, check_eq, count_rows, db_query, free_port, main, run_cli, test,
                     wait_for)
import mqttedges  # noqa: E402

SPEC = os.path.join(FIXTURES, "ingest", "spec.yaml")
tmp = TempDir("abtest-mqtt-tls-")
pki = mqttedges.make_pki(tmp.join("pki"))
TLS_PORT = free_port()
MTLS_PORT = free_port()
broker = Mosquitto(tmp.path, extra=f"""
listener {TLS_PORT} {HOST}
cafile {pki['ca.crt']}
certfile {pki['server.crt']}
keyfile {pki['server.key']}
listener {MTLS_PORT} {HOST}
cafile {pki['ca.crt']}
certfile {pki['server.crt']}
keyfile {pki['server.key']}
require_certificate true
""").start()
pub = Publisher(broker.port)   # the plain listener, for the test's publisher


def tls_bridge(name, port, *args):
    return Bridge(tmp.path, SPEC, broker.port, db=tmp.join(f"{name}.db"), name=name,
                  extra_args=["--broker", f"mqtts://{HOST}:{port}"] + list(args))


def publish_and_expect(bridge, dev, n):
    for i in range(n):
        pub.publish(f"fleet/{dev}/telemetry", json.dumps({"seq": i, "temperature": 21.5}))
    try:
        wait_for(lambda: count_rows(bridge.db, "events") >= n, 30, what=f"{n} events")
    except TestFailure as e:  # the stored count and the log tell a stuck writer from a lost message
        raise TestFailure(f"{e}; {count_rows(bridge.db, 'events')} stored; bridge log:\n"
                          f"{bridge.log_tail()}") from None
    time.sleep(0.3)
    rows = db_query(bridge.db, "SELECT device_id, count(*) FROM events GROUP BY device_id")
    check_eq(rows, [(dev, n)], "events by device")


def broker_connections(port):
    with open(broker.log, errors="replace") as f:
        return len(re.findall(rf"New connection from {HOST}:\d+ on port {port}\.", f.read()))


def refused_checks(bridge, port, needle):
    """The bridge stays up, logs the failure once (containing needle) and
    keeps reconnecting (several attempts seen by the broker)."""
    before = broker_connections(port)
    bridge.start(wait_subscribed=False)
    wait_for(lambda: "mqtt connect to" in bridge.log_since(0) or not bridge.alive(), 20,
             what="connect failure logged")
    # reconnect-max 2: within 7 s several more attempts
    time.sleep(7)
    check(bridge.alive(), f"bridge still running:\n{bridge.log_tail()}")
    log = bridge.log_since(0)
    check("subscribed to" not in log, "never subscribed")
    fails = [ln for ln in log.splitlines() if "mqtt connect to" in ln]
    check_eq(len(fails), 1, f"connect failure logged once (log:\n{log})")
    check(needle in fails[0], f"failure names the cause {needle!r}: {fails[0]}")
    attempts = broker_connections(port) - before
    check(attempts >= 3, f"kept retrying: {attempts} connection attempts at the broker")
    check_eq(count_rows(bridge.db, "events"), 0, "nothing ingested")
    bridge.stop()


@test
def tls_with_ca_ingests():
    bridge = tls_bridge("ca-ok", TLS_PORT, "--tls-ca", pki["ca.crt"])
    try:
        bridge.start()
        check(re.search(rf"mqtt connected to ssl://{HOST}:{TLS_PORT}", bridge.log_since(0)),
              "connected over ssl://")
        publish_and_expect(bridge, "tls1", 25)
        bridge.stop()
    finally:
        bridge.kill9()


@test
def tls_ca_from_config_file():
    """The same settings from a YAML config file (relative paths resolve to its folder)."""
    cfg = tmp.join("pki", "bridge.yaml")
    with open(cfg, "w") as f:
        f.write(f"broker: mqtts://{HOST}:{TLS_PORT}\ntls_ca: ca.crt\n")
    bridge = Bridge(tmp.path, SPEC, broker.port, db=tmp.join("cfgfile.db"), name="cfgfile")
    bridge.args = lambda: [BIN, "run", "--spec", SPEC, "--db", bridge.db,
                           "--config", cfg, "--reconnect-max", "2", "--http", f"{HOST}:0"]
    try:
        bridge.start()
        publish_and_expect(bridge, "tls2", 5)
        bridge.stop()
    finally:
        bridge.kill9()


@test
def tls_wrong_ca_refuses_clearly_and_retries():
    bridge = tls_bridge("ca-wrong", TLS_PORT, "--tls-ca", pki["other-ca.crt"])
    try:
        refused_checks(bridge, TLS_PORT, "certificate verify failed")
    finally:
        bridge.kill9()


@test
def tls_no_ca_refuses():
    """Without --tls-ca the system trust store does not know our CA."""
    bridge = tls_bridge("ca-none", TLS_PORT)
    try:
        refused_checks(bridge, TLS_PORT, "certificate verify failed")
    finally:
        bridge.kill9()


@test
def mtls_client_cert_ingests():
    bridge = tls_bridge("mtls-ok", MTLS_PORT, "--tls-ca", pki["ca.crt"],
                        "--tls-cert", pki["client.crt"], "--tls-key", pki["client.key"])
    try:
        bridge.start()
        publish_and_expect(bridge, "mtls1", 25)
        bridge.stop()
    finally:
        bridge.kill9()


@test
def mtls_without_cert_refused():
    bridge = tls_bridge("mtls-none", MTLS_PORT, "--tls-ca", pki["ca.crt"])
    try:
        refused_checks(bridge, MTLS_PORT, "client certificate")
    finally:
        bridge.kill9()


@test
def mtls_untrusted_cert_refused():
    bridge = tls_bridge("mtls-rogue", MTLS_PORT, "--tls-ca", pki["ca.crt"],
                        "--tls-cert", pki["rogue-client.crt"],
                        "--tls-key", pki["rogue-client.key"])
    try:
        refused_checks(bridge, MTLS_PORT, "tls")
    finally:
        bridge.kill9()


@test
def tls_unreadable_files_are_a_startup_error():
    """A TLS file that cannot be read is a one-line error at start (exit 2),
    not an opaque handshake failure in a retry loop."""
    base = ["run", "--spec", SPEC, "--db", tmp.join("nokey.db"), "--http", f"{HOST}:0",
            "--broker", f"mqtts://{HOST}:{MTLS_PORT}"]
    for flag, extra in (("--tls-key", ["--tls-ca", pki["ca.crt"], "--tls-cert",
                                       pki["client.crt"]]),
                        ("--tls-cert", ["--tls-ca", pki["ca.crt"]]),
                        ("--tls-ca", [])):
        missing = tmp.join(f"missing{flag}.pem")
        rc, out, err = run_cli(*(base + extra + [flag, missing]), timeout=30)
        check_eq(rc, 2, f"exit code with unreadable {flag} ({err})")
        check(f"{flag}: cannot read '{missing}'" in err, f"error names {flag}: {err!r}")
        check_eq(len(err.strip().splitlines()), 1, f"one line: {err!r}")


try:
    main()
finally:
    pub.close()
    broker.stop()
    tmp.cleanup()
