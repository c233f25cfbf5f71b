#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Device online/offline from the status channel and the MQTT last will:
asyncbridge-sim plays a few devices of examples/fleet.yaml (each client
sets a retained last will "offline" on its device's status topic and
publishes "online"); after a kill -9 of the sim the broker publishes the
wills, and GET /api/v1/devices shows those devices offline within a few
seconds; a restarted sim brings them back online."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import (BUILD, HOST, SRC, Bridge, Mosquitto, TempDir, check, check_eq,  # noqa: E402
                     free_port, main, port_open, test, wait_for)

SPEC = os.path.join(SRC, "examples", "fleet.yaml")
SIM = os.path.join(BUILD, "firmware-sim", "asyncbridge-sim")
N_DEV = 3


def devices(port):
    with urllib.request.urlopen(f"http://{HOST}:{port}/api/v1/devices?limit=100",
                                timeout=5) as r:
        check_eq(r.status, 200, "GET /api/v1/devices")
        body = json.load(r)
    items = body.get("items", body.get("devices", body.get("data")))
    check(isinstance(items, list), f"a device list in {body!r}")
    return {d["id"]: d["status"] for d in items}


def statuses_are(port, ids, want):
    got = devices(port)
    return all(got.get(i) == want for i in ids) and got


class Sim:
    def __init__(self, tmp, broker_port):
        self.log = os.path.join(tmp.path, "sim.log")
        self.args = [SIM, "--spec", SPEC, "--broker", f"mqtt://{HOST}:{broker_port}",
                     "--devices", str(N_DEV), "--interval", "300", "--duration", "120",
                     "--client-prefix", "status-sim"]
        self.proc = None

    def start(self):
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(self.args, stdout=f, stderr=subprocess.STDOUT)
        return self

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None


@test
def lwt_marks_devices_offline_and_back_online():
    check(os.path.exists(SIM), f"simulator not built: {SIM}")
    tmp = TempDir("abtest-mqtt-status-")
    broker = Mosquitto(tmp.path).start()
    http_port = free_port()
    bridge = Bridge(tmp.path, SPEC, broker.port, extra_args=["--http", f"{HOST}:{http_port}"])
    sim = Sim(tmp, broker.port)
    try:
        bridge.start()
        wait_for(lambda: port_open(http_port), 30, what="http listener")
        sim.start()
        # the sim's device ids come from the spec's deviceId examples/pattern: learn them
        ids = wait_for(lambda: (lambda d: len(d) >= N_DEV and
                                all(s == "online" for s in d.values()) and d)(
                                    devices(http_port)), 30, what="devices online")
        ids = sorted(ids)
        check_eq(len(ids), N_DEV, f"{N_DEV} devices: {ids}")
        t0 = time.monotonic()
        sim.kill9()
        wait_for(lambda: statuses_are(http_port, ids, "offline"), 10,
                 what="devices offline after kill -9 (last will)")
        print(f"  offline {time.monotonic() - t0:.2f}s after the kill")
        t0 = time.monotonic()
        sim.start()
        wait_for(lambda: statuses_are(http_port, ids, "online"), 10,
                 what="devices online again after the restart")
        print(f"  online {time.monotonic() - t0:.2f}s after the restart")
        # a filter on the status works on the same data
        with urllib.request.urlopen(f"http://{HOST}:{http_port}/api/v1/devices?status=offline",
                                    timeout=5) as r:
            body = json.load(r)
        items = body.get("items", body.get("devices", body.get("data")))
        check_eq([d["id"] for d in items], [], "none offline now")
        sim.kill9()
        bridge.stop()
    finally:
        sim.kill9()
        bridge.kill9()
        broker.stop()
        tmp.cleanup()


main()
