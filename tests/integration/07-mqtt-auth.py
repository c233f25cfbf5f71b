#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asyncbridge run with MQTT username/password: mosquitto with a password
file (mosquitto_passwd -b) and allow_anonymous false. Right credentials
ingest (flags or config file); wrong ones give one clear error line (not one
per retry), the process keeps retrying with backoff and connects once the
broker accepts the credentials; the password never shows in logs or --help."""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import (BIN, FIXTURES, HOST, Bridge, Mosquitto, Publisher, TempDir,  # noqa: E402
                     check, check_eq, count_rows, db_query, main, run_cli, test, wait_for)

SPEC = os.path.join(FIXTURES, "ingest", "spec.yaml")
SECRET = "s3cr3t-Pa55word-7f2a"
WRONG = "wrong-Pa55word-91c4"
tmp = TempDir("abtest-mqtt-auth-")
PWFILE = tmp.join("passwd")


def set_password(user, password):
    subprocess.run(["mosquitto_passwd", "-b", PWFILE, user, password], check=True,
                   capture_output=True, timeout=30)


open(PWFILE, "w").close()
set_password("bridge", SECRET)
set_password("publisher", "pub-pass")
# the later allow_anonymous wins over the harness' default
broker = Mosquitto(tmp.path, extra=f"allow_anonymous false\npassword_file {PWFILE}\n").start()
pub = Publisher(broker.port, auth=("publisher", "pub-pass"))


def auth_bridge(name, *args):
    return Bridge(tmp.path, SPEC, broker.port, db=tmp.join(f"{name}.db"), name=name,
                  extra_args=list(args))


def publish_and_expect(bridge, dev, n):
    for i in range(n):
        pub.publish(f"fleet/{dev}/telemetry", json.dumps({"seq": i, "temperature": 20}))
    wait_for(lambda: count_rows(bridge.db, "events") >= n, 30, what=f"{n} events")
    time.sleep(0.3)
    check_eq(db_query(bridge.db, "SELECT device_id, count(*) FROM events GROUP BY 1"),
             [(dev, n)], "events")


def connection_attempts():
    with open(broker.log, errors="replace") as f:
        return len(re.findall(rf"New connection from {HOST}:\d+ on port {broker.port}\.",
                              f.read()))


@test
def anonymous_is_refused_by_this_broker():
    """Sanity check of the fixture: without credentials nothing connects."""
    bridge = auth_bridge("anon")
    try:
        bridge.start(wait_subscribed=False)
        wait_for(lambda: "mqtt connect to" in bridge.log_since(0), 20, what="refusal")
        check("subscribed to" not in bridge.log_since(0), "anonymous not subscribed")
        check("not authorized" in bridge.log_since(0).lower(),
              f"refusal names the reason:\n{bridge.log_tail()}")
        bridge.stop()
    finally:
        bridge.kill9()


@test
def right_credentials_ingest():
    bridge = auth_bridge("right", "--username", "bridge", "--password", SECRET)
    try:
        bridge.start()
        publish_and_expect(bridge, "auth1", 20)
        bridge.stop()
        check(SECRET not in bridge.log_since(0), "password not in the log")
    finally:
        bridge.kill9()


@test
def right_credentials_from_config_file():
    cfg = tmp.join("bridge.yaml")
    with open(cfg, "w") as f:
        f.write(f"username: bridge\npassword: {SECRET}\n")
    bridge = auth_bridge("cfgfile", "--config", cfg, "--log-level", "debug")
    try:
        bridge.start()
        publish_and_expect(bridge, "auth2", 5)
        bridge.stop()
        check(SECRET not in bridge.log_since(0), "password not in a debug log")
    finally:
        bridge.kill9()


@test
def password_from_environment():
    """ASYNCBRIDGE_MQTT_PASSWORD keeps the secret out of argv; a flag or
    the config file wins over it."""
    os.environ["ASYNCBRIDGE_MQTT_PASSWORD"] = SECRET
    try:
        bridge = auth_bridge("envpw", "--username", "bridge")
        try:
            bridge.start()
            check(SECRET not in " ".join(bridge.args()), "password not on the command line")
            publish_and_expect(bridge, "auth3", 5)
            bridge.stop()
            check(SECRET not in bridge.log_since(0), "password not in the log")
        finally:
            bridge.kill9()
        # a wrong value in the environment does not override the flag
        os.environ["ASYNCBRIDGE_MQTT_PASSWORD"] = WRONG
        bridge = auth_bridge("envflag", "--username", "bridge", "--password", SECRET)
        try:
            bridge.start()
            publish_and_expect(bridge, "auth4", 3)
            bridge.stop()
        finally:
            bridge.kill9()
        # and alone it is refused like any wrong password
        bridge = auth_bridge("envwrong", "--username", "bridge")
        try:
            bridge.start(wait_subscribed=False)
            wait_for(lambda: "not authorized" in bridge.log_since(0).lower(), 20,
                     what="refusal of the wrong environment password")
            check("subscribed to" not in bridge.log_since(0), "not subscribed")
            check(WRONG not in bridge.log_since(0), "wrong password not in the log")
            bridge.stop()
        finally:
            bridge.kill9()
    finally:
        del os.environ["ASYNCBRIDGE_MQTT_PASSWORD"]


def wrong_password_case(version, *reason_texts):
    name = f"wrong-{version}"
    bridge = auth_bridge(name, "--username", "bridge", "--password", WRONG,
                         "--mqtt-version", version, "--reconnect-min", "1",
                         "--reconnect-max", "2")
    try:
        before = connection_attempts()
        bridge.start(wait_subscribed=False)
        wait_for(lambda: "mqtt connect to" in bridge.log_since(0) or not bridge.alive(), 20,
                 what="refusal logged")
        time.sleep(7)
        check(bridge.alive(), f"still running:\n{bridge.log_tail()}")
        log = bridge.log_since(0)
        fails = [ln for ln in log.splitlines() if "mqtt connect to" in ln]
        check_eq(len(fails), 1, f"refusal logged once, not per retry:\n{log}")
        check(any(t in fails[0].lower() for t in reason_texts),
              f"says one of {reason_texts!r}: {fails[0]}")
        check(WRONG not in log and SECRET not in log, "no password in the log")
        attempts = connection_attempts() - before
        # backoff 1, 2, 2, 2 s: about 4-5 attempts in 7-8 s; a tight loop makes hundreds
        check(3 <= attempts <= 10, f"retries with backoff: {attempts} attempts in ~8 s")
        check("subscribed to" not in log, "not subscribed")
        # the broker now accepts that password: the retry loop connects by itself
        set_password("bridge", WRONG)
        broker.proc.send_signal(1)   # SIGHUP: mosquitto reloads the password file
        wait_for(lambda: "subscribed to" in bridge.log_since(0), 20,
                 what="connected after the broker accepted the password")
        publish_and_expect(bridge, f"auth-{version}", 5)
        bridge.stop()
    finally:
        set_password("bridge", SECRET)
        broker.proc.send_signal(1)
        bridge.kill9()


@test
def wrong_password_mqtt5_logged_once_and_retried():
    # mosquitto 2.0.11 answers a wrong password with "not authorized" (0x87)
    wrong_password_case("5", "bad user name or password", "not authorized (mqtt 5, code 135)")


@test
def wrong_password_mqtt311_logged_once_and_retried():
    wrong_password_case("3.1.1", "bad user name or password",
                        "not authorized (mqtt 3.1.1, code 5)")


@test
def wrong_password_auto_does_not_fall_back():
    """auto: a credentials refusal is not a protocol refusal; no 3.1.1 fallback."""
    bridge = auth_bridge("wrong-auto", "--username", "bridge", "--password", WRONG)
    try:
        bridge.start(wait_subscribed=False)
        wait_for(lambda: "mqtt connect to" in bridge.log_since(0), 20, what="refusal")
        time.sleep(1)
        log = bridge.log_since(0)
        check("falling back" not in log, f"no fallback for bad credentials:\n{log}")
        check("MQTT 5" in [ln for ln in log.splitlines() if "mqtt connect to" in ln][0],
              "the refusal was for MQTT 5")
        bridge.stop()
    finally:
        bridge.kill9()


@test
def password_not_in_help():
    rc, out, err = run_cli("run", "--help")
    check_eq(rc, 0, "--help exit code")
    check("--password" in out, "--help documents --password")
    rc, out, err = run_cli("run", "--password", SECRET, "--help")
    check_eq(rc, 0, "--help with a password exit code")
    check(SECRET not in out + err, "password not echoed by --help")


@test
def password_not_in_config_errors():
    """A bad setting next to the password: the error names the setting, not the secret."""
    rc, out, err = run_cli("run", "--spec", SPEC, "--db", tmp.join("x.db"), "--password",
                           SECRET, "--keepalive", "1")
    check_eq(rc, 2, "bad keepalive exit code")
    check("--keepalive" in err, f"error names the flag: {err!r}")
    check(SECRET not in out + err, "password not printed")


try:
    main()
finally:
    pub.close()
    broker.stop()
    tmp.cleanup()
