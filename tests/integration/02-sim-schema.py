#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# asyncbridge-sim end to end: every generated payload validates with an
# independent validator (python3-jsonschema, Draft 7) for the demo fleet and
# every shared AsyncAPI example with payload schemas on device-sent channels;
# same seed -> same output; --invalid makes exactly the announced invalid
# messages; a live run against a private mosquitto delivers what it reports,
# retained online/offline status and the last will. Design notes: docs/sim.md.
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import jsonschema
import paho.mqtt.client as mqtt

BUILD = os.environ.get("ASYNCBRIDGE_BUILD", "build")
SRC = os.environ.get("ASYNCBRIDGE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
TESTDATA = os.environ.get("ASYNCBRIDGE_TESTDATA", os.path.join(SRC, "..", "shared", "testdata"))
SIM = os.path.join(BUILD, "firmware-sim", "asyncbridge-sim")
FLEET = os.path.join(SRC, "examples", "fleet.yaml")
EPOCH = "1700000000"

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def run(args, timeout=120, check=True):
    p = subprocess.run([SIM] + args, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("asyncbridge-sim %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr[-2000:]))
    return p


def schemas_of(spec):
    """{message id: (schema, status?)} as the sim resolved them, or None."""
    p = run(["--spec", spec, "--print-schemas"], check=False)
    if p.returncode != 0:
        return None, p.stderr.strip()
    out = {}
    for line in p.stdout.splitlines():
        rec = json.loads(line)
        out[rec["message"]] = rec
    return out, ""


def has_ref(node):
    if isinstance(node, dict):
        return "$ref" in node or any(has_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(has_ref(v) for v in node)
    return False


def validator(schema):
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.draft7_format_checker)


def dry_run(spec, *extra):
    p = run(["--spec", spec, "--dry-run", "--epoch", EPOCH] + list(extra))
    lines = p.stdout.splitlines()
    summary = json.loads(lines[-1])
    return [json.loads(x) for x in lines[:-1]], summary, p.stdout


# ---- 1. bad command lines get a clear error ---------------------------------
def test_usage():
    for args, code in ([[], 2], [["--spec", FLEET, "--qos", "3"], 2],
                       [["--spec", FLEET, "--devices", "0"], 2],
                       [["--spec", FLEET, "--devices", "ten"], 2],
                       [["--spec", FLEET, "--rate", "5", "--interval", "100"], 2],
                       [["--spec", FLEET, "--invalid", "1.5"], 2],
                       [["--spec", FLEET, "--broker", "http://x:1"], 2],
                       [["--spec", FLEET, "--bogus"], 2],
                       [["--spec", FLEET, "--count"], 2],
                       [["--spec", "/nonexistent/spec.yaml", "--dry-run"], 1]):
        p = run(args, check=False)
        if p.returncode != code or "asyncbridge-sim" not in p.stderr:
            fail("args %r: exit %d (want %d), stderr %r" % (args, p.returncode, code, p.stderr))
    p = run(["--help"])
    if "--dry-run" not in p.stdout or "Connection model" not in p.stdout:
        fail("--help does not describe the options")
    if not run(["--version"]).stdout.startswith("asyncbridge-sim "):
        fail("--version")


# ---- 2. every generated payload validates -------------------------------------
def check_spec(spec, count=2000):
    schemas, why = schemas_of(spec)
    if schemas is None:
        return "not loadable: " + why[:200]
    usable = {m: r for m, r in schemas.items() if r["schema"] is not None}
    if not usable:
        return "no payload schemas on device-sent channels"
    lines, summary, _ = dry_run(spec, "--count", str(count), "--seed", "11", "--devices", "7")
    data = [x for x in lines if x["kind"] == "data"]
    if len(data) != count or summary["data"] != count:
        fail("%s: %d data lines, summary %r" % (spec, len(data), summary))
    if summary["unverified"] != 0:
        fail("%s: the sim could not generate %d valid payloads" % (spec, summary["unverified"]))
    validators, bad, checked = {}, 0, 0
    for x in lines:
        rec = usable.get(x["message"])
        if rec is None or has_ref(rec["schema"]):
            continue
        v = validators.setdefault(x["message"], validator(rec["schema"]))
        if x["invalid"] is not None or "payload" not in x:
            fail("%s: unexpected invalid line %r" % (spec, x))
            continue
        errs = list(v.iter_errors(x["payload"]))
        checked += 1
        if errs:
            bad += 1
            if bad <= 3:
                fail("%s: %s payload %s invalid: %s" % (spec, x["message"], json.dumps(x["payload"]),
                                                        errs[0].message))
    if checked == 0:
        return "no checkable payloads"
    return "ok: %d payloads, %d messages" % (checked, len(validators))


def test_schemas():
    specs = [FLEET] + sorted(glob.glob(os.path.join(TESTDATA, "asyncapi-examples", "**", "*.yml"),
                                       recursive=True))
    specs = [s for s in specs if "/common/" not in s]
    ok = 0
    for spec in specs:
        res = check_spec(spec)
        print("%-80s %s" % (os.path.relpath(spec, TESTDATA if spec != FLEET else SRC), res), flush=True)
        if spec == FLEET and not res.startswith("ok"):
            fail("the demo fleet spec is not simulated: " + res)
        ok += res.startswith("ok")
    if ok < 10:
        fail("only %d specs simulated with checked payloads (want >= 10)" % ok)


# ---- 3. realistic series ------------------------------------------------------
def test_series():
    lines, _, _ = dry_run(FLEET, "--count", "600", "--seed", "5", "--devices", "3")
    per_dev = {}
    for x in lines:
        if x["channel"] == "telemetry":
            per_dev.setdefault(x["device"], []).append(x["payload"])
    if len(per_dev) != 3:
        fail("telemetry from %d devices, want 3" % len(per_dev))
    for dev, ps in per_dev.items():
        seqs = [p["seq"] for p in ps]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            fail("%s: seq does not count up: %r" % (dev, seqs[:10]))
        temps = [p["temperature"] for p in ps]
        jumps = max(abs(a - b) for a, b in zip(temps, temps[1:]))
        if jumps > 125 * 0.25:
            fail("%s: temperature jumps by %.1f between readings" % (dev, jumps))
        if not ps[0]["ts"].startswith("2023-11-14T22:13:20"):
            fail("%s: ts %r does not follow --epoch" % (dev, ps[0]["ts"]))
    topics = {x["topic"] for x in lines}
    if "fleet/dev-0001/telemetry" not in topics or any(not t.startswith("fleet/dev-000") for t in topics):
        fail("topics: %r" % sorted(topics)[:10])
    if any(x["channel"] == "commands" for x in lines):
        fail("the sim publishes on the commands channel the devices receive")


# ---- 4. same seed, same payloads --------------------------------------------
def strip_summary(out):
    return out.splitlines()[:-1]


def test_seed():
    for spec in (FLEET, os.path.join(TESTDATA, "asyncapi-examples", "v2.6.0", "streetlights-mqtt.yml")):
        a = dry_run(spec, "--count", "500", "--seed", "42", "--devices", "4")[2]
        b = dry_run(spec, "--count", "500", "--seed", "42", "--devices", "4")[2]
        c = dry_run(spec, "--count", "500", "--seed", "43", "--devices", "4")[2]
        if strip_summary(a) != strip_summary(b):
            fail("%s: same seed, different output" % spec)
        if strip_summary(a) == strip_summary(c):
            fail("%s: different seeds, same output" % spec)


# ---- 5. --invalid ------------------------------------------------------------
def test_invalid():
    schemas, _ = schemas_of(FLEET)
    lines, summary, _ = dry_run(FLEET, "--count", "2000", "--seed", "9", "--invalid", "0.25")
    counted = {}
    for x in lines:
        if x["invalid"] is None:
            continue
        counted[x["invalid"]] = counted.get(x["invalid"], 0) + 1
        if x["invalid"] == "bad_json":
            try:
                json.loads(x["payload_text"])
                fail("bad_json payload parses: %r" % x["payload_text"])
            except ValueError:
                pass
        else:
            v = validator(schemas[x["message"]]["schema"])
            if v.is_valid(x["payload"]):
                fail("%s payload is valid: %s" % (x["invalid"], json.dumps(x["payload"])))
    if counted != {k: v for k, v in summary["invalid"].items() if v}:
        fail("invalid lines %r vs summary %r" % (counted, summary["invalid"]))
    if sum(summary["invalid"].values()) != 500:
        fail("--invalid 0.25 of 2000 gave %r" % summary["invalid"])
    for k in ("wrong_type", "missing_required", "out_of_range", "bad_json"):
        if summary["invalid"].get(k, 0) < 100:
            fail("few %s: %r" % (k, summary["invalid"]))


# ---- 6. live against a private mosquitto -----------------------------------------
# ---- 4b. a pattern whose nested repeats multiply stays cheap -----------------
# "((...(a{0})+...)+)+x" nested 30 deep: the generator used to visit about
# 2.5^30 atoms per string (emitting nothing, so the output bound never
# stopped it) and hung. Now a work bound makes it fall back to retries:
# the run ends, and a payload that does not match is counted as unverified.
def test_nested_repeat_pattern():
    pattern = "^" + "(" * 30 + "a{0}" + ")+" * 30 + "x$"
    spec = {
        "asyncapi": "2.6.0",
        "info": {"title": "nested repeats", "version": "1"},
        "channels": {"dev/{id}/x": {
            "parameters": {"id": {"schema": {"type": "string"}}},
            "publish": {"message": {"payload": {
                "type": "object", "required": ["code"],
                "properties": {"code": {"type": "string", "pattern": pattern}}}}}}},
    }
    d = tempfile.mkdtemp(prefix="simre-")
    try:
        path = os.path.join(d, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        lines, summary, _ = dry_run(path, "--count", "3", "--seed", "2", "--devices", "1")
        if summary.get("data") != 3 or len(lines) != 3:
            fail("nested repeats: expected 3 data messages, got %r" % summary)
        matching = 0
        for ln in lines:
            code = ln.get("payload", {}).get("code")
            if not isinstance(code, str):
                fail("nested repeats: payload without a string code: %r" % ln)
            elif code == "x":  # the pattern's whole language (no regex engine: it backtracks)
                matching += 1
        if matching + summary.get("unverified", 0) != 3:
            fail("nested repeats: %d match, %r unverified, expected 3 together"
                 % (matching, summary.get("unverified")))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Broker:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sim-test-")
        self.port = free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n" % self.port)
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Collector:
    def __init__(self, port, topic="#"):
        self.msgs = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.c = mqtt.Client(client_id="collector-%d" % os.getpid(), clean_session=True)
        self.c.on_connect = lambda c, u, f, rc: c.subscribe(topic, qos=1)
        self.c.on_subscribe = lambda c, u, mid, q: self.ready.set()
        self.c.on_message = self.on_message
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        if not self.ready.wait(10):
            raise RuntimeError("collector did not subscribe")

    def on_message(self, c, u, m):
        with self.lock:
            self.msgs.append((m.topic, m.payload, m.retain))

    def wait_for(self, n, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if len(self.msgs) >= n:
                    return
            time.sleep(0.05)

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def test_live():
    broker = Broker()
    try:
        col = Collector(broker.port)
        url = "mqtt://127.0.0.1:%d" % broker.port
        p = run(["--spec", FLEET, "--broker", url, "--devices", "5", "--count", "300", "--rate", "0",
                 "--qos", "1", "--seed", "3", "--invalid", "0.1", "--client-prefix", "simtest"], timeout=60)
        summary = json.loads(p.stdout.splitlines()[-1])
        want = 300 + 10  # data + 5 online + 5 offline status messages
        if summary["sent"] != want or summary["acked"] != want or summary["errors"] != 0:
            fail("live summary %r" % summary)
        if summary["clients"] != 5:
            fail("with a status channel each device gets its client: %r" % summary)
        col.wait_for(want)
        col.stop()
        got = col.msgs
        if len(got) != want:
            fail("collector got %d messages, the sim reports %d" % (len(got), want))
        by_kind = {}
        for topic, payload, _ in got:
            parts = topic.split("/")
            if len(parts) != 3 or parts[0] != "fleet" or parts[1] not in ["dev-%04d" % i for i in range(1, 6)]:
                fail("unexpected topic %r" % topic)
            by_kind[parts[2]] = by_kind.get(parts[2], 0) + 1
        if by_kind.get("status") != 10 or by_kind.get("telemetry", 0) + by_kind.get("alerts", 0) != 300:
            fail("per channel counts %r" % by_kind)
        if by_kind.get("commands"):
            fail("published on commands")
        bad = sum(1 for t, pl, _ in got if not t.endswith("/status") and not is_json(pl))
        if bad != summary["invalid"]["bad_json"]:
            fail("%d non-JSON payloads received, summary says %r" % (bad, summary["invalid"]))

        # retained status after a clean stop: offline
        ret = Collector(broker.port, "fleet/+/status")
        ret.wait_for(5, 10)
        ret.stop()
        st = {t: json.loads(pl)["status"] for t, pl, r in ret.msgs if r}
        if len(st) != 5 or set(st.values()) != {"offline"}:
            fail("retained status after a clean stop: %r" % st)

        # last will: kill -9 the sim, the broker publishes "offline" for it
        proc = subprocess.Popen([SIM, "--spec", FLEET, "--broker", url, "--devices", "3", "--rate", "20",
                                 "--duration", "60", "--client-prefix", "simwill"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 15
        online = {}
        while time.time() < deadline and len(online) < 3:
            w = Collector(broker.port, "fleet/+/status")
            w.wait_for(3, 2)
            w.stop()
            online = {t: json.loads(pl)["status"] for t, pl, r in w.msgs if r and b"online" in pl}
            time.sleep(0.2)
        if len(online) != 3:
            fail("devices did not announce online: %r" % online)
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        time.sleep(1.0)
        w = Collector(broker.port, "fleet/+/status")
        w.wait_for(3, 5)
        w.stop()
        mine = ["fleet/dev-%04d/status" % i for i in (1, 2, 3)]
        st = {t: json.loads(pl)["status"] for t, pl, r in w.msgs if r and t in mine}
        if len(st) != 3 or set(st.values()) != {"offline"}:
            fail("last will after kill -9: %r" % st)
    finally:
        broker.stop()


def is_json(b):
    try:
        json.loads(b)
        return True
    except ValueError:
        return False


def main():
    if not os.access(SIM, os.X_OK):
        print("FAIL: %s is not built" % SIM)
        return 1
    for t in (test_usage, test_schemas, test_series, test_seed, test_invalid,
              test_nested_repeat_pattern, test_live):
        print("--", t.__name__, flush=True)
        try:
            t()
        except Exception as e:  # a crash in one part is a failure, the others still run
            fail("%s raised %r" % (t.__name__, e))
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
