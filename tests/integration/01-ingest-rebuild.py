#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asyncbridge rebuild: the projections replayed from the log equal the
ones the projector built incrementally while `run` ingested; plus the
command's errors."""
import json
import os

from harness import (FIXTURES, Publisher, Rig, TempDir, check, check_eq, count_rows,
                     db_query, db_scalar, main, run_cli, test, wait_for)

SPEC = os.path.join(FIXTURES, "ingest", "spec.yaml")
TABLES = {
    "devices": "SELECT * FROM devices ORDER BY device_id",
    "device_state": "SELECT * FROM device_state ORDER BY device_id, channel",
    "rollups": "SELECT * FROM rollups ORDER BY device_id, channel, field, bucket_start",
    "projection_checkpoints": "SELECT * FROM projection_checkpoints ORDER BY name",
}


def snapshot(db):
    return {name: db_query(db, sql) for name, sql in TABLES.items()}


@test
def rebuild_equals_incremental():
    with Rig(SPEC) as rig:
        broker, bridge = rig.broker, rig.bridge
        bridge.start()
        pub = rig.pub = Publisher(broker.port)
        msgs = []
        for i in range(600):
            dev = f"r{i % 6}"
            msgs.append((f"fleet/{dev}/telemetry",
                         json.dumps({"seq": i, "temperature": (i * 7) % 60 - 10,
                                     "humidity": (i * 3) % 100})))
            if i % 50 == 0:
                msgs.append((f"fleet/{dev}/status",
                             json.dumps({"status": "offline" if i % 100 else "online", "n": i})))
            if i % 40 == 0:
                msgs.append((f"site/s{i % 3}/meter",
                             json.dumps({"meter_id": f"m{i % 7}", "kwh": i / 10})))
        pub.publish_many(msgs)
        n_events = len(msgs)
        wait_for(lambda: count_rows(bridge.db, "events") == n_events, 60, what="all events")
        last = db_scalar(bridge.db, "SELECT max(seq) FROM events")
        wait_for(lambda: db_scalar(bridge.db, "SELECT max(seq) FROM projection_checkpoints")
                 == last, 60, what="projector caught up")
        bridge.stop()
        before = snapshot(bridge.db)
        check(len(before["devices"]) == 6 + 7, f"devices projected: {before['devices']}")
        check(before["rollups"], "rollups projected")
        rc, out, err = run_cli("rebuild", "--db", bridge.db, "--spec", SPEC)
        check_eq(rc, 0, f"rebuild exit code ({err})")
        check("rebuilt" in out, f"rebuild output: {out!r}")
        after = snapshot(bridge.db)
        for name in TABLES:
            check_eq(after[name], before[name], f"table {name} after rebuild")
        # the log itself is untouched
        check_eq(count_rows(bridge.db, "events"), n_events, "events after rebuild")


@test
def rebuild_errors():
    tmp = TempDir()
    try:
        rc, _, err = run_cli("rebuild", "--db", tmp.join("none.db"))
        check_eq(rc, 2, "rebuild without --spec")
        check("--spec is required" in err, err)
        rc, _, err = run_cli("rebuild", "--db", tmp.join("none.db"), "--spec", SPEC)
        check(rc != 0, "rebuild of a missing db fails")
        check("none.db" in err, f"error names the db: {err!r}")
        check(not os.path.exists(tmp.join("none.db")), "rebuild does not create a db")
        rc, _, err = run_cli("rebuild", "--db", tmp.join("x.db"), "--spec", SPEC,
                             "--broker", "mqtt://127.0.0.1:1")
        check_eq(rc, 2, "rebuild refuses MQTT flags")
        check("unknown option '--broker'" in err, err)
        rc, out, _ = run_cli("rebuild", "--help")
        check_eq(rc, 0, "rebuild --help")
        check("--db" in out, "rebuild --help text")
    finally:
        tmp.cleanup()


if __name__ == "__main__":
    main()
