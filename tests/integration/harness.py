# SPDX-License-Identifier: MIT
"""Shared helpers for the integration tests (tests/integration/NN-*.py).

A private mosquitto on a free loopback port (generated config, persistence
in a temp dir), the asyncbridge daemon started/stopped/killed, a python
paho publisher, wait-for helpers, read-only sqlite3 queries, and a tiny
runner that prints "N passed, N failed" and exits non-zero on failure.

Environment (set by ctest): ASYNCBRIDGE_BIN, ASYNCBRIDGE_TESTDATA,
ASYNCBRIDGE_SRC, ASYNCBRIDGE_BUILD. Only 127.0.0.1 is used.
"""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import paho.mqtt.client as mqtt

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("ASYNCBRIDGE_SRC", os.path.abspath(os.path.join(HERE, "..", "..")))
BUILD = os.environ.get("ASYNCBRIDGE_BUILD", os.path.join(SRC, "build"))
BIN = os.environ.get("ASYNCBRIDGE_BIN", os.path.join(BUILD, "bridge", "asyncbridge"))
TESTDATA = os.environ.get("ASYNCBRIDGE_TESTDATA",
                          os.path.abspath(os.path.join(SRC, "..", "shared", "testdata")))
FIXTURES = os.path.join(SRC, "tests", "fixtures")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HOST = "127.0.0.1"


class TestFailure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what="value"):
    if got != want:
        raise TestFailure(f"{what}: got {got!r}, want {want!r}")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=30.0, interval=0.05, what="condition"):
    """Polls pred() until it is truthy; returns its value or raises."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise TestFailure(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def port_open(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class TempDir:
    """A temp folder removed at exit unless ASYNCBRIDGE_KEEP is set."""

    def __init__(self, prefix="abtest-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        if not os.environ.get("ASYNCBRIDGE_KEEP"):
            shutil.rmtree(self.path, ignore_errors=True)


class Mosquitto:
    """A private broker: listener on 127.0.0.1:port, persistence in dir."""

    def __init__(self, workdir, port=None, max_queued=500000, extra="", autosave=1):
        self.dir = os.path.join(workdir, "mosquitto")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log = os.path.join(self.dir, "mosquitto.log")
        # as root, mosquitto 2 drops to user "mosquitto", which cannot write
        # the persistence file into our private folder
        user = "user root\n" if os.geteuid() == 0 else ""
        with open(self.conf, "w") as f:
            f.write(f"""{user}listener {self.port} {HOST}
allow_anonymous true
persistence true
persistence_location {self.dir}/
autosave_interval {autosave}
max_queued_messages {max_queued}
max_queued_bytes 0
max_inflight_messages 0
persistent_client_expiration 1d
log_dest file {self.log}
log_type error
log_type warning
log_type notice
{extra}
""")
        self.proc = None

    def start(self, timeout=10):
        logf = open(self.log + ".stdout", "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=logf,
                                     stderr=subprocess.STDOUT)
        logf.close()
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None,
                 timeout, what=f"mosquitto on port {self.port}")
        check(self.proc.poll() is None, f"mosquitto exited: {self.tail()}")
        return self

    def stop(self):
        """Clean stop (SIGTERM): the broker saves its persistence file."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        wait_for(lambda: not port_open(self.port), 10, what="broker port closed")
        return self.start()

    def tail(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Bridge:
    """`asyncbridge run` as a child process; stderr goes to a log file."""

    def __init__(self, workdir, spec, broker_port, db=None, extra_args=(), name="bridge"):
        self.workdir = workdir
        self.spec = spec
        self.port = broker_port
        self.db = db or os.path.join(workdir, "events.db")
        self.extra = list(extra_args)
        self.log = os.path.join(workdir, f"{name}.log")
        self.proc = None
        self.starts = 0

    def args(self):
        return [BIN, "run", "--spec", self.spec, "--db", self.db,
                "--broker", f"mqtt://{HOST}:{self.port}", "--reconnect-max", "2",
                "--http", f"{HOST}:0"] + self.extra

    def http_port(self):
        """The HTTP port the bridge bound (from its start line), or None."""
        import re
        m = re.findall(r"http [^ ]+ \(port (\d+)\)", self.log_since(0))
        return int(m[-1]) if m else None

    def start(self, wait_subscribed=True, timeout=60):
        self.starts += 1
        self._mark = self.log_size()
        logf = open(self.log, "ab")
        logf.write(f"--- start {self.starts} ---\n".encode())
        logf.flush()
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.proc = subprocess.Popen(self.args(), stdout=logf, stderr=subprocess.STDOUT, env=env)
        logf.close()
        if wait_subscribed:
            wait_for(lambda: "subscribed to" in self.log_since(self._mark)
                     or self.proc.poll() is not None, timeout, what="bridge subscribed")
            check(self.proc.poll() is None, f"bridge exited early:\n{self.log_tail()}")
        return self

    def stop(self, timeout=60, sig=signal.SIGTERM):
        """SIGTERM (or sig); checks the exit code is 0 (also: no ASan/LSan report)."""
        if self.proc is None:
            return 0
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure(f"bridge did not stop within {timeout}s:\n{self.log_tail()}")
        self.proc = None
        check_eq(rc, 0, f"bridge exit code (log:\n{self.log_tail()})")
        return rc

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_size(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def log_since(self, offset):
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        text = self.log_since(0)
        return "\n".join(text.splitlines()[-n:])


class Rig:
    """One test's temp dir, private mosquitto (started unless told not to)
    and bridge (not started; none if spec is None: the test makes it).
    `with Rig(SPEC) as rig:` tears down whatever happened: closes rig.pub if
    set, kill -9s the bridge, stops the broker, removes the dir."""

    def __init__(self, spec, extra_args=(), start_broker=True, broker_extra=""):
        """broker_extra: more lines for mosquitto.conf."""
        self.tmp = TempDir()
        self.broker = Mosquitto(self.tmp.path, extra=broker_extra)
        self.bridge = None
        self.pub = None
        try:
            if start_broker:
                self.broker.start()
            if spec is not None:
                self.bridge = Bridge(self.tmp.path, spec, self.broker.port,
                                     extra_args=extra_args)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pub:
            self.pub.close()
        if self.bridge:
            self.bridge.kill9()
        self.broker.stop()
        self.tmp.cleanup()
        return False


def run_cli(*args, timeout=60):
    """Runs asyncbridge with args; returns (exit code, stdout, stderr)."""
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Publisher:
    """A python paho client publishing with QoS 1 and waiting for PUBACKs."""

    def __init__(self, port, client_id=None, inflight=200, clean=True, auth=None):
        """auth: optional (username, password) for a broker without anonymous access."""
        self.client = mqtt.Client(client_id=client_id or f"pub-{os.getpid()}-{time.time_ns()}",
                                  clean_session=clean, protocol=mqtt.MQTTv311)
        if auth is not None:
            self.client.username_pw_set(auth[0], auth[1])
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc: self.connected.set() if rc == 0 else None
        # acknowledged message ids (also for messages queued while disconnected,
        # whose MQTTMessageInfo keeps reporting the original error)
        self.acked = set()
        self._acked_lock = threading.Lock()

        def on_publish(c, u, mid):
            with self._acked_lock:
                self.acked.add(mid)
        self.client.on_publish = on_publish
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect(HOST, port, keepalive=30)
        self.client.loop_start()
        check(self.connected.wait(10), "publisher could not connect")

    def publish(self, topic, payload, qos=1, wait=True):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        info = self.client.publish(topic, payload, qos=qos)
        if wait:
            info.wait_for_publish(30)
            check(info.is_published(), f"publish to {topic} not acknowledged")
        return info

    def publish_many(self, msgs, qos=1, timeout=300):
        """msgs: iterable of (topic, payload). Waits for every PUBACK."""
        infos = [self.publish(t, p, qos=qos, wait=False) for t, p in msgs]
        end = time.monotonic() + timeout
        for info in infos:
            while not info.is_published():
                check(time.monotonic() < end, "publish_many: acks timed out")
                time.sleep(0.01)
        return len(infos)

    def is_acked(self, info):
        with self._acked_lock:
            return info.mid in self.acked

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def db_query(db, sql, params=()):
    """Runs a read-only query on the SQLite file; returns all rows."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def db_scalar(db, sql, params=()):
    try:
        rows = db_query(db, sql, params)
    except sqlite3.OperationalError:
        return None
    return rows[0][0] if rows else None


def count_rows(db, table):
    return db_scalar(db, f"SELECT count(*) FROM {table}") or 0


# -------------------------------------------------------------------------
# runner

_tests = []


def test(fn):
    """Registers a test function (runs in definition order)."""
    _tests.append(fn)
    return fn


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else None
    passed = failed = 0
    check(os.path.exists(BIN), f"asyncbridge binary not found: {BIN}")
    for fn in _tests:
        if only and only not in fn.__name__:
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Exception:  # noqa: BLE001 - a test runner reports everything
            failed += 1
            print(f"FAIL {fn.__name__} ({time.monotonic() - t0:.1f}s)")
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {fn.__name__} ({time.monotonic() - t0:.1f}s)")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)
