#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# `make demo` end to end: examples/demo.sh starts a private mosquitto, the
# bridge on examples/fleet.yaml and the simulated fleet, prints the URLs;
# every printed HTTP URL answers, the fleet's devices show up, dead letters
# carry a reason, and the script stops everything it started.
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

SRC = os.environ["ASYNCBRIDGE_SRC"]
BUILD = os.environ["ASYNCBRIDGE_BUILD"]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL", what, flush=True)


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read()


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


env = dict(os.environ, DEMO_SECONDS="20", DEMO_DEVICES="12", DEMO_RATE="60")
demo = subprocess.Popen([os.path.join(SRC, "examples", "demo.sh"), BUILD],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, env=env)
lines = []
deadline = time.time() + 30
while time.time() < deadline:
    line = demo.stdout.readline()
    if not line:
        break
    lines.append(line)
    if "Ctrl-C stops everything" in line:
        break
out = "".join(lines)
urls = re.findall(r"https?://127\.0\.0\.1:\d+/[^\s]*", out)
mqtt = re.search(r"mqtt://127\.0\.0\.1:(\d+)", out)
check(len(urls) >= 8, "demo printed the HTTP URLs: %r" % out)
check(mqtt is not None, "demo printed the MQTT URL")

devices = []
if urls:
    base = re.match(r"(http://127\.0\.0\.1:\d+)", urls[0]).group(1)
    end = time.time() + 15
    while time.time() < end:
        status, body = get(base + "/api/v1/devices?limit=100")
        devices = json.loads(body)["items"]
        if len(devices) == 12:
            break
        time.sleep(0.5)
    check(len(devices) == 12, "12 simulated devices registered, got %d" % len(devices))
    for url in urls:
        if url.endswith("/stream"):
            # SSE never ends: check the head, the first event, then hang up.
            with urllib.request.urlopen(url + "?since=0", timeout=5) as r:
                ctype = r.headers.get("content-type", "")
                first = r.readline()
            check(r.status == 200 and ctype.startswith("text/event-stream"),
                  "GET %s -> %d %s" % (url, r.status, ctype))
            check(first.startswith((b"id:", b"event:", b":", b"retry:")),
                  "SSE starts with a field: %r" % first)
            continue
        status, body = get(url)
        check(status == 200 and len(body) > 0, "GET %s -> %d" % (url, status))
    status, body = get(base + "/api/v1/dead-letters?limit=5")
    items = json.loads(body)["items"]
    check(all(i["reason"]["kind"] in ("schema", "parse") for i in items),
          "dead letters carry a reason kind: %r" % items[:1])
    status, body = get(base + "/docs")
    check(b"Greenhouse Sensor Fleet" in body, "/docs renders the fleet spec")
    # the running bridge adds each channel's live counts, matching the REST API
    status, chbody = get(base + "/api/v1/channels")
    shown = {int(n) for n in re.findall(rb"(\d+) events, \d+ dead letters", body)}
    tele = [c for c in json.loads(chbody)["items"] if c["id"] == "telemetry"]
    check(re.search(rb"as of event \d+", body) is not None, "/docs says which event it reflects")
    check(len(shown) >= 2 and max(shown) > 0, "/docs shows live counts: %r" % shown)
    check(tele and tele[0]["counts"]["events"] >= max(shown or {0}),
          "/docs counts are not ahead of /api/v1/channels")

try:
    demo.communicate(timeout=60)
except subprocess.TimeoutExpired:
    demo.kill()
    check(False, "demo.sh did not stop by itself after DEMO_SECONDS")
check(demo.returncode == 0, "demo.sh exit code %s" % demo.returncode)
if mqtt:
    check(not port_open(int(mqtt.group(1))), "mosquitto stopped with the demo")

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
