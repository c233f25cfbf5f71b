#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Integration test of `asyncbridge lint` and `asyncbridge check`: runs the real
# binary ($ASYNCBRIDGE_BIN) on tests/fixtures/cli/ and on the shared AsyncAPI
# examples, asserting exit codes and key output. Prints "N passed, N failed".
import json
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("ASYNCBRIDGE_BIN")
SRC = os.environ.get("ASYNCBRIDGE_SRC",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TESTDATA = os.environ.get("ASYNCBRIDGE_TESTDATA", os.path.join(SRC, "..", "shared", "testdata"))
FIX = os.path.join(SRC, "tests", "fixtures", "cli")
EXAMPLES = os.path.join(TESTDATA, "asyncapi-examples")
SENSORS = os.path.join(FIX, "sensors.yaml")
FLEET = os.path.join(SRC, "examples", "fleet.yaml")
STREETLIGHTS_26 = os.path.join(EXAMPLES, "v2.6.0", "streetlights-mqtt.yml")
STREETLIGHTS_30 = os.path.join(EXAMPLES, "v3.0.0", "streetlights-mqtt-asyncapi.yml")

passed = 0
failed = 0


def run(*args, stdin=None):
    """Runs the binary; returns (exit code, stdout, stderr) as text."""
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def case(name, args, code, out=(), err=(), stdin=None, not_out=()):
    """One test: exit status code, every text of out in stdout, of err in stderr."""
    global passed, failed
    try:
        rc, so, se = run(*args, stdin=stdin)
    except subprocess.TimeoutExpired:
        rc, so, se = None, "", "timeout"
    problems = []
    if rc != code:
        problems.append("exit %r, expected %d" % (rc, code))
    for t in out:
        if t not in so:
            problems.append("stdout lacks %r" % t)
    for t in not_out:
        if t in so:
            problems.append("stdout has %r" % t)
    for t in err:
        if t not in se:
            problems.append("stderr lacks %r" % t)
    # Sanitizer reports are failures even with the right exit status.
    if "AddressSanitizer" in se or "runtime error:" in se or "LeakSanitizer" in se:
        problems.append("sanitizer report")
    if problems:
        failed += 1
        print("FAIL %s: %s" % (name, "; ".join(problems)))
        print("  command: %s" % " ".join(args))
        print("  stdout: %s" % so[-1500:].replace("\n", "\n          "))
        print("  stderr: %s" % se[-1500:].replace("\n", "\n          "))
    else:
        passed += 1
        print("ok   %s" % name)
    return rc, so, se


def check_json(name, args, code, test):
    """Runs with --json output; test(obj) returns a problem text or None."""
    global passed, failed
    rc, so, se = run(*args)
    problem = None
    if rc != code:
        problem = "exit %r, expected %d" % (rc, code)
    else:
        try:
            problem = test(json.loads(so))
        except (ValueError, KeyError, TypeError, IndexError) as e:
            problem = "bad json output: %r" % e
    if problem:
        failed += 1
        print("FAIL %s: %s\n  stdout: %s\n  stderr: %s" % (name, problem, so[-800:], se[-800:]))
    else:
        passed += 1
        print("ok   %s" % name)


def fx(name):
    return os.path.join(FIX, name)


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("ASYNCBRIDGE_BIN is not set to an executable")
        return 1

    # --- help and usage ---------------------------------------------------
    case("help top", ["--help"], 0, out=["lint", "check"])
    case("help lint", ["lint", "--help"], 0, out=["usage: asyncbridge lint", "exit status"])
    case("help check", ["check", "--help"], 0, out=["usage: asyncbridge check", "PAYLOAD_FILE"])
    case("help check -h anywhere", ["check", SENSORS, "-h"], 0, out=["usage: asyncbridge check"])
    case("version", ["--version"], 0, out=["asyncbridge "])
    case("lint --version", ["lint", "--version"], 0, out=["asyncbridge "])
    case("check --version", ["check", "-V"], 0, out=["asyncbridge "])
    case("lint no args", ["lint"], 2, err=["missing SPEC"])
    case("lint unknown option", ["lint", "--frobnicate", SENSORS], 2, err=["unknown option"])
    case("lint two specs", ["lint", SENSORS, SENSORS], 2, err=["too many arguments"])
    case("check too few args", ["check", SENSORS, "x"], 2, err=["missing PAYLOAD_FILE"])
    case("check unknown option", ["check", "--nope", SENSORS, "a", "b"], 2,
         err=["unknown option"])

    # --- lint: good documents -------------------------------------------------
    case("lint fixture", ["lint", SENSORS], 0,
         out=["Plant Sensors", "0.3.0", "2.6.0",
              "plant/{plantId}/line/{lineId}/temperature",
              "plant/+/line/+/temperature",
              "plantId, lineId",
              "receiveTemperature: bridge receives (devices publish), written 'publish', qos 1",
              "sendCommand: bridge sends (devices subscribe), written 'subscribe'",
              "tempReading, tempBatch",
              "local: mqtt",
              "ok: 4 channels"],
         not_out=["no mqtt server"])
    check_json("lint fixture --json", ["lint", "--json", SENSORS], 0, lambda d: (
        None if d["ok"] is True and d["title"] == "Plant Sensors"
        and len(d["channels"]) == 4
        and any(c["topicFilter"] == "plant/+/cmd" and c["operations"][0]["action"] == "send"
                for c in d["channels"])
        and any(c["address"] == "plant/{plantId}/line/{lineId}/temperature"
                and c["parameters"] == ["plantId", "lineId"]
                and c["messages"] == ["tempReading", "tempBatch"] for c in d["channels"])
        else "unexpected summary %r" % d))
    case("lint demo fleet (3.0)", ["lint", FLEET], 0,
         out=["Greenhouse Sensor Fleet", "fleet/{deviceId}/telemetry", "fleet/+/telemetry",
              "receiveTelemetry: bridge receives", "sendCommand: bridge sends",
              "written 'send'"])
    case("lint streetlights 2.6", ["lint", STREETLIGHTS_26], 0,
         out=["Streetlights MQTT API",
              "smartylighting/streetlights/1/0/event/+/lighting/measured",
              "receiveLightMeasurement: bridge receives (devices publish), written 'publish'",
              "turnOn: bridge sends (devices subscribe), written 'subscribe'"])
    case("lint streetlights 3.0", ["lint", STREETLIGHTS_30], 0,
         out=["Streetlights MQTT API", "smartylighting/streetlights/1/0/action/+/dim"])
    # Non-MQTT documents lint fine, with a warning.
    for f in ["v2.6.0/streetlights-kafka.yml", "v3.0.0/websocket-gemini-asyncapi.yml",
              "v2.0.0/slack-rtm.yml"]:
        case("lint non-mqtt %s" % f, ["lint", os.path.join(EXAMPLES, f)], 0,
             out=["no mqtt server", "ok:"])
    case("lint warnings", ["lint", fx("warnings.yaml")], 0,
         out=["no mqtt server",
              "address 'dev/{deviceId}/data' has the same shape as channel 'first'",
              "channel 'nowhere' has no address", "message 'anything' has no payload schema",
              "ok: 3 channels"])
    check_json("lint warnings --json", ["lint", "--json", fx("warnings.yaml")], 0, lambda d: (
        None if d["ok"] is True and len(d["warnings"]) >= 4
        and any(w["pointer"] == "/channels/nowhere" for w in d["warnings"])
        and any(c["id"] == "nowhere" and c["address"] is None and c["topicFilter"] is None
                for c in d["channels"])
        else "unexpected %r" % d))
    # Every shared example lints (the loader must load them all).
    for ver in ["v2.0.0", "v2.6.0", "v3.0.0"]:
        d = os.path.join(EXAMPLES, ver)
        for f in sorted(os.listdir(d)):
            if f.endswith(".yml"):
                case("lint example %s/%s" % (ver, f), ["lint", os.path.join(d, f)], 0,
                     out=["ok:"])

    # --- lint: bad documents --------------------------------------------------
    case("lint missing file", ["lint", fx("does-not-exist.yaml")], 2,
         err=["does-not-exist.yaml"])
    case("lint syntax error", ["lint", fx("bad-syntax.yaml")], 1,
         err=["bad-syntax.yaml:", "syntax error"])
    check_json("lint syntax error --json", ["lint", "--json", fx("bad-syntax.yaml")], 1,
               lambda d: None if d["ok"] is False and d["error"]["code"] == "ESYNTAX"
               and d["error"]["line"] > 0 else "unexpected %r" % d)
    case("lint bad ref", ["lint", fx("bad-ref.yaml")], 1, err=["bad-ref.yaml", "doesNotExist"])
    case("lint bad version", ["lint", fx("bad-version.yaml")], 1, err=["bad-version.yaml", "1.2.0"])
    case("lint bad structure", ["lint", fx("bad-structure.yaml")], 1,
         err=["bad-structure.yaml", "/channels"])
    case("lint payload is not a spec", ["lint", fx("temp-ok.json")], 1, err=["temp-ok.json"])

    # --- check: valid payloads, channel by id / address / topic ---------------
    temp_addr = "plant/{plantId}/line/{lineId}/temperature"
    # In 2.x a channel's id is its address.
    case("check valid by id (2.x)", ["check", SENSORS, temp_addr, fx("temp-ok.json")], 0,
         out=["valid: message 'tempReading'"])
    case("check valid by topic", ["check", SENSORS, "plant/p7/line/3/temperature",
                                  fx("temp-ok.json")], 0,
         out=["valid: message 'tempReading'", "plantId=p7", "lineId=3"])
    case("check oneOf second message wins", ["check", SENSORS, "plant/p7/line/3/temperature",
                                             fx("temp-batch.json")], 0,
         out=["valid: message 'tempBatch'"])
    case("check literal channel beats parameter", ["check", SENSORS, "plant/main/status",
                                                   fx("main-status.json")], 0,
         out=["channel: plant/main/status", "valid: message 'mainStatus'"])
    case("check parameter channel", ["check", SENSORS, "plant/p1/status", fx("status-on.json")],
         0, out=["channel: plant/{plantId}/status", "valid: message 'status'"])
    case("check send channel by topic", ["check", SENSORS, "plant/p2/cmd", fx("command.json")],
         0, out=["valid: message 'command'"])
    case("check stdin", ["check", SENSORS, temp_addr, "-"], 0,
         stdin=b'{"celsius": -3}', out=["valid: message 'tempReading'"])
    case("check quiet", ["check", "--quiet", SENSORS, temp_addr, fx("temp-ok.json")], 0,
         not_out=["valid"])
    # 3.0 document: by channel id, by address, by topic; "on" stays a string.
    case("check fleet by id", ["check", FLEET, "status", "-"], 0,
         stdin=b'{"status": "online", "firmware": "2.4.1"}',
         out=["channel: status (address fleet/{deviceId}/status)", "valid: message 'status'"])
    case("check fleet by address", ["check", FLEET, "fleet/{deviceId}/commands", "-"], 0,
         stdin=b'{"command": "water", "duration_s": 30}', out=["valid: message 'command'"])
    case("check streetlights on (yaml 1.1 trap)", ["check", STREETLIGHTS_30,
                                                   "smartylighting/streetlights/1/0/action/42/turn/on",
                                                   "-"], 0,
         stdin=b'{"command": "on"}', out=["valid"])

    case("check shadowed channel routes to the first", ["check", fx("warnings.yaml"),
                                                        "dev/7/data", "-"], 0,
         stdin=b"{}", out=["channel: first", "id=7", "valid"])
    case("check channel without address, no schema", ["check", fx("warnings.yaml"), "nowhere",
                                                      "-"], 0,
         stdin=b"[1, 2]", out=["valid: message 'anything' (no payload schema to check)"])
    case("check no schema still needs JSON", ["check", fx("warnings.yaml"), "nowhere", "-"], 1,
         stdin=b"online", out=["not acceptable JSON"])

    # --- check: invalid payloads ----------------------------------------------
    case("check wrong type", ["check", SENSORS, temp_addr, fx("temp-wrong-type.json")], 1,
         out=["invalid", "message 'tempReading'", "message 'tempBatch'", "/celsius", "type"])
    case("check too hot via topic", ["check", SENSORS, "plant/p7/line/3/temperature",
                                     fx("temp-too-hot.json")], 1,
         out=["invalid", "/celsius", "maximum", "additionalProperties"])
    case("check fleet out of range", ["check", FLEET, "fleet/gh-0001/telemetry", "-"], 1,
         stdin=b'{"seq": 1, "ts": "2026-11-23T10:15:00Z", "temperature": 99, "humidity": 50}',
         out=["invalid", "/temperature", "maximum"])
    case("check enum mismatch", ["check", SENSORS, "plant/p1/status", "-"], 1,
         stdin=b'{"state": true}', out=["invalid", "/state"])
    case("check bad JSON", ["check", SENSORS, temp_addr, fx("not-json.txt")], 1,
         out=["not acceptable JSON", "parse"])
    case("check empty payload", ["check", SENSORS, temp_addr, "-"], 1, stdin=b"",
         out=["not acceptable JSON"])
    case("check invalid utf-8", ["check", SENSORS, temp_addr, "-"], 1,
         stdin=b'{"celsius": 1, "seq": "\xff"}', out=["invalid"])
    case("check bad parameter value", ["check", SENSORS, "plant/x9/line/3/temperature",
                                       fx("temp-ok.json")], 1,
         out=["invalid parameter 'plantId' = 'x9'", "pattern", "payload valid: message 'tempReading'"])
    case("check bad parameter and bad payload", ["check", SENSORS, "plant/x9/line/3/temperature",
                                                 fx("temp-too-hot.json")], 1,
         out=["invalid parameter 'plantId'", "/celsius", "maximum"])
    with tempfile.NamedTemporaryFile(suffix=".json") as big:
        big.write(b'{"pad": "' + b"x" * (16 * 1024 * 1024) + b'"}')
        big.flush()
        case("check oversized payload", ["check", SENSORS, temp_addr, big.name], 1,
             out=["larger than"])

    # --- check: usage and spec errors -----------------------------------------
    case("check unknown channel", ["check", SENSORS, "nope/nothing", fx("temp-ok.json")], 2,
         err=["unknown channel 'nope/nothing'"])
    case("check unknown topic depth", ["check", SENSORS, "plant/p1/line/3", fx("temp-ok.json")],
         2, err=["unknown channel"])
    case("check wildcard topic", ["check", SENSORS, "plant/+/status", fx("status-on.json")], 2,
         err=["unknown channel", "not a routable topic"])
    case("check $ topic", ["check", SENSORS, "$SYS/broker", fx("status-on.json")], 2,
         err=["not a routable topic"])
    case("check missing payload file", ["check", SENSORS, temp_addr, fx("nope.json")], 2,
         err=["cannot read", "nope.json"])
    case("check missing spec", ["check", fx("nope.yaml"), temp_addr, fx("temp-ok.json")], 2,
         err=["nope.yaml"])
    case("check bad spec", ["check", fx("bad-syntax.yaml"), "a/b", fx("temp-ok.json")], 2,
         err=["bad-syntax.yaml", "syntax error"])

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
