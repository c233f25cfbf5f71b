#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asyncbridge run: crash safety. While a publisher sends QoS 1 messages
with a known mix of valid and invalid payloads, the bridge is killed with
SIGKILL at random moments (at least 3 times) and restarted. At the end every
valid message is in `events` exactly once and every invalid one in
`dead_letters` exactly once. Runs for the journal mode (20,000 messages) and
the sync mode (5,000)."""
import json
import os
import random
import struct
import threading
import time

from harness import (FIXTURES, Publisher, Rig, check, check_eq, db_query, main, test,
                     wait_for)

SPEC = os.path.join(FIXTURES, "ingest", "spec.yaml")
DEVICES = 10


def message(i):
    """Message i: every 10th (i % 10 == 7) is invalid (temperature too high)."""
    dev = f"c{i % DEVICES}"
    temp = 200 if i % 10 == 7 else (i % 50) - 10
    return f"fleet/{dev}/telemetry", json.dumps({"seq": i, "temperature": temp})


def crash_run(total, mode, kills, seed, pace):
    rnd = random.Random(seed)
    with Rig(SPEC, extra_args=["--ingest-mode", mode]) as rig:
        broker, bridge = rig.broker, rig.bridge
        bridge.start()
        pub = rig.pub = Publisher(broker.port, inflight=500)
        infos = []
        finished = threading.Event()

        def publish():
            for i in range(total):
                t, p = message(i)
                infos.append(pub.publish(t, p, wait=False))
                if i % 100 == 99:
                    time.sleep(pace)  # keep the stream going across the kills
            finished.set()

        th = threading.Thread(target=publish)
        th.start()
        def stored():
            return (db_query(bridge.db, "SELECT count(*) FROM events")[0][0] +
                    db_query(bridge.db, "SELECT count(*) FROM dead_letters")[0][0])

        for k in range(kills):
            # kill while the bridge is busy: after a random number of new rows
            base = stored()
            step = rnd.randint(50, max(100, total // (2 * (kills + 1))))
            end = time.monotonic() + 30
            while stored() < min(base + step, total) and time.monotonic() < end:
                time.sleep(rnd.uniform(0.0, 0.02))
            bridge.kill9()
            time.sleep(rnd.uniform(0.0, 0.3))
            bridge.start()
        th.join(300)
        check(finished.is_set(), "publisher finished")
        wait_for(lambda: all(pub.is_acked(x) for x in infos), 120, what="all PUBACKs")
        n_valid = sum(1 for i in range(total) if i % 10 != 7)
        n_invalid = total - n_valid

        def counts():
            e = db_query(bridge.db, "SELECT count(*) FROM events")[0][0]
            d = db_query(bridge.db, "SELECT count(*) FROM dead_letters")[0][0]
            return (e, d)

        # wait while the counts make progress (a lost message would stall them)
        last, since = None, time.monotonic()
        while counts() != (n_valid, n_invalid):
            now = counts()
            if now != last:
                last, since = now, time.monotonic()
            check(time.monotonic() - since < 30,
                  f"stalled at {now}, want {(n_valid, n_invalid)}: messages lost")
            time.sleep(0.2)
        time.sleep(1.0)  # anything late would be a duplicate
        check_eq(counts(), (n_valid, n_invalid), "final counts")
        ev = db_query(bridge.db, "SELECT device_id, CAST(correlation_id AS INTEGER), "
                                 "json_extract(payload, '$.seq') FROM events")
        seqs = sorted(r[2] for r in ev)
        check_eq(seqs, [i for i in range(total) if i % 10 != 7], "valid seqs exactly once")
        check(all(r[0] == f"c{r[2] % DEVICES}" and r[1] == r[2] for r in ev),
              "device id and correlation id match the payload")
        dl = db_query(bridge.db, "SELECT json_extract(CAST(payload AS TEXT), '$.seq'), kind "
                                 "FROM dead_letters")
        check_eq(sorted(r[0] for r in dl), [i for i in range(total) if i % 10 == 7],
                 "invalid seqs exactly once")
        check(all(r[1] == "schema" for r in dl), "dead letters are schema failures")
        check(bridge.starts >= kills + 1, "restarted after every kill")
        log = bridge.log_since(0)
        # a kill cannot tear a record that has its magic (stored last), and
        # bytes left from a reused segment file are not a torn tail
        check("torn tail" not in log, f"no torn tail reported:\n{log[-3000:]}")
        bridge.stop()
        print(f"  {mode}: {bridge.starts} starts, "
              f"{log.count('replayed ')} journal replays")
        return log


@test
def kill9_journal_20000():
    crash_run(20000, "journal", kills=4, seed=int(os.environ.get("CRASH_SEED", "7")), pace=0.01)


@test
def kill9_sync_5000():
    crash_run(5000, "sync", kills=3, seed=int(os.environ.get("CRASH_SEED", "11")), pace=0.02)


def fnv32(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def journal_record(topic, payload, at_ms):
    """One journal record of the first format, "ABJ1" (earlier versions
    wrote it; a start still replays it): magic, FNV-1a 32, body."""
    t, p = topic.encode(), payload.encode()
    body = struct.pack("<qII", at_ms, len(t), len(p)) + t + p
    return b"ABJ1" + struct.pack("<I", fnv32(body)) + body


def journal_record_v2(topic, payload, at_ms, seg):
    """One journal record as bridge/src/ingest.c writes it: "ABJ2", FNV-1a
    32, then the segment number of the file it was written to."""
    t, p = topic.encode(), payload.encode()
    body = struct.pack("<QqII", seg, at_ms, len(t), len(p)) + t + p
    return b"ABJ2" + struct.pack("<I", fnv32(body)) + body


@test
def journal_replay_reused_segment():
    """A reused segment file holds records of its earlier use after the new
    ones: replay stops at the first record of another segment number,
    without calling it torn; leftover spare files are removed."""
    with Rig(SPEC) as rig:
        bridge = rig.bridge
        jdir = bridge.db + ".journal"
        os.makedirs(jdir)
        at = 1795000000000
        tel = "fleet/r1/telemetry"
        new = (journal_record_v2(tel, '{"seq": 1, "temperature": 1}', at, 5)
               + journal_record_v2(tel, '{"seq": 2, "temperature": 2}', at, 5))
        old = journal_record_v2(tel, '{"seq": 90, "temperature": 90}', at, 2)
        with open(os.path.join(jdir, "seg-0000000000000005.jnl"), "wb") as f:
            # a whole stale record, then the middle of another one
            f.write(new + b"\0" * 4 + old[4:] + old + old[10:] + b"\0" * 64)
        with open(os.path.join(jdir, "seg-0000000000000006.jnl"), "wb") as f:
            f.write(journal_record_v2(tel, '{"seq": 3, "temperature": 3}', at, 6)
                    + old + b"\0" * 64)
        with open(os.path.join(jdir, "spare-1.jnl"), "wb") as f:
            f.write(old)
        bridge.start()
        log = bridge.log_since(0)
        check("replayed 3 journaled messages from 2 segments" in log, f"replay logged:\n{log}")
        check("torn tail" not in log, f"old records are not a torn tail:\n{log}")
        ev = db_query(bridge.db, "SELECT correlation_id FROM events ORDER BY seq")
        check_eq(ev, [("1",), ("2",), ("3",)], "only the records of the segment's own number")
        check_eq(sorted(f for f in os.listdir(jdir) if f.startswith("spare-")), [],
                 "leftover spare removed")
        bridge.stop()


@test
def journal_segments_reused():
    """Committed segments are renamed to spares and reused (no new file per
    2048 messages); a clean stop leaves no journal file."""
    with Rig(SPEC) as rig:
        broker, bridge = rig.broker, rig.bridge
        bridge.start()
        jdir = bridge.db + ".journal"
        pub = rig.pub = Publisher(broker.port, inflight=500)
        seen = set()
        total = 5 * 2048 + 100  # six segments
        infos = []
        for i in range(total):
            t, p = message(i)
            infos.append(pub.publish(t, p, wait=False))
            if i % 500 == 499:
                wait_for(lambda: all(pub.is_acked(x) for x in infos), 60, what="PUBACKs")
                seen.update(os.listdir(jdir))
        wait_for(lambda: all(pub.is_acked(x) for x in infos), 60, what="all PUBACKs")
        n_valid = sum(1 for i in range(total) if i % 10 != 7)
        wait_for(lambda: db_query(bridge.db, "SELECT count(*) FROM events")[0][0] == n_valid,
                 60, what="all events")
        seen.update(os.listdir(jdir))
        segs = sorted(f for f in seen if f.startswith("seg-"))
        check_eq(len(segs), 6, f"one segment per 2048 messages: {segs}")
        check(any(f.startswith("spare-") for f in seen), f"spares seen: {sorted(seen)}")
        inodes = {os.stat(os.path.join(jdir, f)).st_ino for f in os.listdir(jdir)}
        check(len(inodes) <= 4 + 1, f"at most the pool and the current file: {os.listdir(jdir)}")
        check_eq(db_query(bridge.db, "SELECT count(*) FROM dead_letters")[0][0], total - n_valid,
                 "dead letters")
        bridge.stop()
        check_eq([f for f in os.listdir(jdir) if f.endswith(".jnl")], [], "clean stop: no files")


@test
def journal_replay_torn_tail():
    """Leftover segments are replayed at start, in order, before MQTT; a
    torn record ends its segment; a committed-then-replayed message is a
    duplicate, not a second event."""
    with Rig(SPEC) as rig:
        bridge = rig.bridge
        jdir = bridge.db + ".journal"
        os.makedirs(jdir)
        at = 1795000000000
        seg1 = (journal_record("fleet/j1/telemetry", '{"seq": 1, "temperature": 1}', at)
                + journal_record("fleet/j1/telemetry", '{"seq": 2, "temperature": 999}', at))
        good = journal_record("fleet/j1/telemetry", '{"seq": 3, "temperature": 3}', at)
        torn = journal_record("fleet/j1/telemetry", '{"seq": 4, "temperature": 4}', at)
        torn = torn[:-5] + b"XXXXX"     # checksum no longer matches
        with open(os.path.join(jdir, "seg-0000000000000001.jnl"), "wb") as f:
            f.write(seg1)
        with open(os.path.join(jdir, "seg-0000000000000002.jnl"), "wb") as f:
            f.write(good + torn + b"\0" * 100)
        # the same message again in a later segment: replayed twice, stored once
        with open(os.path.join(jdir, "seg-0000000000000003.jnl"), "wb") as f:
            f.write(good)
        bridge.start()
        log = bridge.log_since(0)
        check("replayed 4 journaled messages from 3 segments" in log, f"replay logged:\n{log}")
        check("torn tail" in log, "torn record reported")
        ev = db_query(bridge.db, "SELECT correlation_id, received_at FROM events ORDER BY seq")
        check_eq(ev, [("1", at), ("3", at)], "replayed events keep their arrival time")
        check_eq(db_query(bridge.db, "SELECT kind FROM dead_letters"), [("schema",)],
                 "invalid replayed message dead-lettered")
        check_eq([f for f in os.listdir(jdir) if f.endswith(".jnl") and f < "seg-0000000000000004"],
                 [], "replayed segments removed")
        bridge.stop()
        check("1 duplicates" in bridge.log_since(0), "second copy counted as duplicate")


if __name__ == "__main__":
    main()
