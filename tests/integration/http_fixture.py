# SPDX-License-Identifier: MIT
"""Helpers for the HTTP tests (04-rest-*.py, 05-live-*.py).

A store file built with python's sqlite3 in the store's own schema (the DDL
is read from store/src/store.c, so it cannot drift), projections folded by
the real `asyncbridge rebuild`, and `asyncbridge serve` on a free loopback
port. Plain http.client / raw sockets as clients.
"""
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time

from harness import BIN, HOST, SRC, check, check_eq, free_port, port_open, run_cli, wait_for

SPEC = os.path.join(SRC, "examples", "fleet.yaml")
T0 = 1795000000000  # 2026-11-18T...Z, ms


def store_ddl():
    """(DDL text, schema version) from the store's sources."""
    with open(os.path.join(SRC, "store", "src", "store.c")) as f:
        src = f.read()
    block = src[src.index("migrations[] = {"):]
    block = block[:block.index("};")]
    pieces = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
    with open(os.path.join(SRC, "store", "src", "store_int.h")) as f:
        version = int(re.search(r"STORE__SCHEMA_VERSION\s+(\d+)", f.read()).group(1))
    return "".join(p.encode().decode("unicode_escape") for p in pieces), version


def make_store(path):
    ddl, version = store_ddl()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(ddl)
    con.execute(f"PRAGMA user_version={version}")
    con.commit()
    return con


def add_event(con, seq, channel, device, payload, received_at, message=None, corr=None):
    topic = f"fleet/{device}/{channel}" if device is not None else f"fleet/x/{channel}"
    params = json.dumps({"deviceId": device} if device is not None else {})
    con.execute("INSERT INTO events(seq, channel, message, device_id, topic, params, payload,"
                " correlation_id, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (seq, channel, message, device, topic, params, json.dumps(payload), corr,
                 received_at))


def add_dead_letter(con, topic, channel, kind, payload_bytes, reason, received_at):
    cur = con.execute("INSERT INTO dead_letters(topic, channel, kind, payload, reason,"
                      " received_at) VALUES (?,?,?,?,?,?)",
                      (topic, channel, kind, payload_bytes, json.dumps(reason), received_at))
    return cur.lastrowid


def rebuild(db):
    rc, out, err = run_cli("rebuild", "--db", db, "--spec", SPEC)
    check_eq(rc, 0, f"rebuild exit code ({err})")


class Server:
    """`asyncbridge serve` on a free port."""

    def __init__(self, db, workdir, spec=SPEC, extra=()):
        self.db, self.spec = db, spec
        self.port = free_port()
        self.log = os.path.join(workdir, f"serve-{self.port}.log")
        self.extra = list(extra)
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([BIN, "serve", "--db", self.db, "--spec", self.spec,
                                      "--http", f"{HOST}:{self.port}"] + self.extra,
                                     stdout=logf, stderr=subprocess.STDOUT, env=env)
        logf.close()
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, 20,
                 what="serve listening")
        check(self.proc.poll() is None, f"serve exited: {self.tail()}")
        return self

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("serve did not stop")
        self.proc = None
        check_eq(rc, 0, f"serve exit code (log: {self.tail()})")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def request(self, path, method="GET", headers=None, body=None):
        """(status, headers dict lower-case, body bytes)."""
        c = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get_json(self, path, want=200):
        st, hd, body = self.request(path)
        check_eq(st, want, f"status of GET {path} ({body[:300]!r})")
        check(hd.get("content-type", "").startswith("application/json"),
              f"content-type of {path}: {hd.get('content-type')}")
        return json.loads(body)

    def raw(self, data, read_timeout=5):
        """Sends raw bytes; returns what the server answered before closing/timeout."""
        s = socket.create_connection((HOST, self.port), timeout=read_timeout)
        out = b""
        try:
            s.sendall(data)
            while True:
                try:
                    chunk = s.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and b"content-length" in out.lower():
                    head, _, rest = out.partition(b"\r\n\r\n")
                    m = re.search(rb"content-length:\s*(\d+)", head, re.I)
                    if m and len(rest) >= int(m.group(1)):
                        break
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            s.close()
        return out


def check_error(srv, path, status, code=None, parameter=None, method="GET"):
    st, hd, body = srv.request(path, method=method)
    check_eq(st, status, f"status of {method} {path} ({body[:300]!r})")
    doc = json.loads(body)
    check("error" in doc, f"error body of {path}: {doc}")
    e = doc["error"]
    check(set(e) == {"code", "message", "parameter"}, f"error shape: {e}")
    if code:
        check_eq(e["code"], code, f"error code of {path}")
    if parameter is not None:
        check_eq(e["parameter"], parameter, f"error parameter of {path}")
    return hd, e
