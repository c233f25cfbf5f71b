/* SPDX-License-Identifier: MIT */
/*
 * The fast write path: the in-memory dedupe window (loaded at open, kept
 * in step with the dedupe table across rollbacks, bulk pruning), the v1 ->
 * v2 migration, batches SQLite dropped behind our back, and the
 * checkpointer thread. Notes: docs/store.md "Write path".
 */
#include "test.h"

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "store_test_util.h"

static store_event wp_event(const char *payload)
{
    store_event ev = {
        .channel = "telemetry",
        .device_id = "dev-1",
        .topic = "site/a/dev/dev-1/telemetry",
        .payload = payload,
        .received_at = 1000,
    };
    return ev;
}

/* Appends {"v":i} single-shot; returns the store result. */
static int put(store *s, int i, int64_t *seq)
{
    char p[32];
    store_event ev = wp_event(p);

    snprintf(p, sizeof(p), "{\"v\":%d}", i);
    return store_append_event(s, &ev, seq);
}

TEST(write_path, window_survives_batch_rollback)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    int64_t seq = 0;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 1, &seq), 0);
    ASSERT_EQ(put(s, 2, &seq), 0);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(put(s, 3, &seq), 0);
    ASSERT_EQ(seq, 3);
    ASSERT_EQ(put(s, 1, &seq), STORE_DUP); /* committed before the batch */
    ASSERT_EQ(seq, 1);
    ASSERT_EQ(put(s, 3, &seq), STORE_DUP); /* earlier in the same batch */
    ASSERT_EQ(seq, 3);
    ASSERT_EQ(store_rollback(s), 0);
    /* 3 is gone with the batch, 1 and 2 still deduped */
    ASSERT_EQ(put(s, 2, &seq), STORE_DUP);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(put(s, 3, &seq), 0);
    ASSERT_EQ(seq, 3);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 3);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dedupe"), 3);
    /* ords stay contiguous after the rollback */
    ASSERT_EQ(q_int(s, "SELECT max(ord) FROM dedupe"), 3);
    store_close(s);
}

TEST(write_path, sqlite_keeps_no_memory_statistics)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 1, NULL), 0);
    /* SQLITE_CONFIG_MEMSTATUS off (store__sqlite_setup): no global mutex per allocation */
    ASSERT_EQ(sqlite3_memory_used(), 0);
    store_close(s);
}

TEST(write_path, failed_append_in_batch_keeps_window)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    store_event bad = wp_event("{\"v\":");
    int64_t seq = 0;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(put(s, 1, &seq), 0);
    ASSERT_EQ(store_append_event(s, &bad, NULL), STORE_EINVAL);
    /* the failed append took no window slot and no row */
    ASSERT_EQ(put(s, 1, &seq), STORE_DUP);
    ASSERT_EQ(put(s, 2, &seq), 0);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(store_commit(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 2);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dedupe"), 2);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events e JOIN dedupe d ON d.ref = e.seq"), 2);
    store_close(s);
}

TEST(write_path, bulk_prune_keeps_exact_window)
{
    store_options o = {.dedupe_window = 64};
    store *s = store_open(":memory:", &o, NULL, NULL, 0);
    store_stats st;
    int64_t seq = 0, rows;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_begin(s), 0);
    for (int i = 1; i <= 300; i++)
        ASSERT_EQ(put(s, i, NULL), 0);
    ASSERT_EQ(store_commit(s), 0);
    for (int i = 301; i <= 310; i++)
        ASSERT_EQ(put(s, i, NULL), 0);
    /* the table keeps at most window + window / 16 rows, the window exactly 64 */
    rows = q_int(s, "SELECT count(*) FROM dedupe");
    ASSERT_GE(rows, 64);
    ASSERT_LE(rows, 64 + 4);
    ASSERT_EQ(store_stats_get(s, &st), 0);
    ASSERT_EQ(st.dedupe_entries, 64);
    /* 310 - 64 = 246: 247 is the oldest in the window, 246 just left it */
    ASSERT_EQ(put(s, 247, &seq), STORE_DUP);
    ASSERT_EQ(seq, 247);
    ASSERT_EQ(put(s, 246, &seq), 0);
    ASSERT_EQ(seq, 311);
    /* now 248 is the oldest; 247 was pushed out */
    ASSERT_EQ(put(s, 248, &seq), STORE_DUP);
    ASSERT_EQ(put(s, 247, &seq), 0);
    store_close(s);
}

TEST(write_path, reopen_loads_window_of_new_size)
{
    tmpdb t;
    store_options o = {.dedupe_window = 10};
    store *s;
    int64_t seq = 0;

    ASSERT_EQ(tmpdb_init(&t), 0);
    s = store_open(t.path, &o, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    for (int i = 1; i <= 20; i++)
        ASSERT_EQ(put(s, i, NULL), 0);
    store_close(s);

    o.dedupe_window = 5;
    s = store_open(t.path, &o, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 16, &seq), STORE_DUP); /* the last 5: 16..20 */
    ASSERT_EQ(seq, 16);
    ASSERT_EQ(put(s, 15, &seq), 0);
    ASSERT_EQ(seq, 21);
    store_close(s);

    o.dedupe_window = 1000;
    s = store_open(t.path, &o, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    /* only what the table still has counts: pruning at window 5 dropped ords 1..16 */
    ASSERT_EQ(put(s, 20, &seq), STORE_DUP);
    ASSERT_EQ(put(s, 15, &seq), STORE_DUP); /* re-stored as seq 21 above */
    ASSERT_EQ(seq, 21);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, dead_letters_and_events_share_window)
{
    store_options o = {.dedupe_window = 2};
    store *s = store_open(":memory:", &o, NULL, NULL, 0);
    store_dead_letter dl = {.topic = "a/b", .payload = "xx", .payload_len = 2,
                            .reason_json = "{\"kind\":\"parse\"}"};
    int64_t id = 0;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id), 0);
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id), STORE_DUP);
    ASSERT_EQ(id, 1);
    ASSERT_EQ(put(s, 1, NULL), 0);
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id), STORE_DUP);
    ASSERT_EQ(put(s, 2, NULL), 0); /* pushes the dead letter out */
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id), 0);
    ASSERT_EQ(id, 2);
    /* same hash input as an event never matches a dead letter (kind) */
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dead_letters"), 2);
    store_close(s);
}

/* What turns a version 3 file back into the version 2 schema. */
#define V4_TO_V3                                                                           \
    "DROP TABLE device_events; DELETE FROM store_meta WHERE name = 'device_indexed';"      \
    "CREATE INDEX events_device_seq ON events(device_id, seq);"
#define V3_TO_V2                                                                           \
    V4_TO_V3 "DROP TABLE event_corr; DROP TABLE store_meta;"                               \
    "CREATE UNIQUE INDEX events_correlation ON events(channel, coalesce(device_id, ''),"   \
    " correlation_id) WHERE correlation_id IS NOT NULL;"

TEST(write_path, migrates_v1_file)
{
    tmpdb t;
    store *s;
    int64_t seq = 0;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 1, NULL), 0);
    /* turn the file back into a version 1 file */
    ASSERT_EQ(sqlite3_exec(s->db, V3_TO_V2 "CREATE INDEX dedupe_hash ON dedupe(hash);"
                                  "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    store_close(s);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(q_int(s, "PRAGMA user_version"), 4);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM sqlite_master WHERE name = 'dedupe_hash'"), 0);
    ASSERT_EQ(put(s, 1, &seq), STORE_DUP);
    ASSERT_EQ(seq, 1);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, batch_dropped_by_sqlite_is_not_committed)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    int64_t seq = 0;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 1, NULL), 0);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(put(s, 2, NULL), 0);
    /* what SQLite does itself on some I/O, full and nomem errors */
    ASSERT_EQ(sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    /* a later append must not autocommit on its own */
    ASSERT_EQ(put(s, 3, NULL), STORE_EIO);
    ASSERT_STR_CONTAINS(store_errmsg(s), "rolled back");
    ASSERT_EQ(store_corr_flush(s, 0, 100), STORE_EIO); /* nor may a move */
    ASSERT_EQ(store_commit(s), STORE_EIO);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 1);
    /* the window forgot 2 (reloaded), remembers 1 */
    ASSERT_EQ(put(s, 1, &seq), STORE_DUP);
    ASSERT_EQ(put(s, 2, &seq), 0);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(store_commit(s), STORE_ESTATE);
    store_close(s);
}

TEST(write_path, correlation_dup_in_batch_and_across_commits)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    store_event ev = wp_event("{\"n\":1}");
    int64_t a = 0, b = 0;

    ASSERT_NOT_NULL(s);
    ev.correlation_id = "41";
    ASSERT_EQ(store_append_event(s, &ev, &a), 0);
    ASSERT_EQ(store_begin(s), 0);
    ev.payload = "{\"n\":2}";
    ASSERT_EQ(store_append_event(s, &ev, &b), STORE_DUP);
    ASSERT_EQ(b, a);
    ev.correlation_id = "42";
    ASSERT_EQ(store_append_event(s, &ev, &b), 0);
    ASSERT_EQ(b, a + 1);
    /* a correlation duplicate does not disturb the batch */
    ASSERT_EQ(store_append_event(s, &ev, &a), STORE_DUP);
    ASSERT_EQ(a, b);
    ASSERT_EQ(store_commit(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 2);
    store_close(s);
}

/* Opens two appending handles on one new file: 0 if both opened. */
static int open_pair(tmpdb *t, store **a, store **b)
{
    *a = tmpdb_store(t);
    *b = *a ? store_open(t->path, NULL, NULL, NULL, 0) : NULL;
    return *a && *b ? 0 : -1;
}

/* Appends the event with correlation id corr (payload {"c":"corr"}); the store result. */
static int put_corr(store *s, const char *device, const char *corr, int64_t *seq)
{
    char payload[96];
    store_event ev = wp_event(payload);

    snprintf(payload, sizeof(payload), "{\"c\":\"%s\"}", corr);
    ev.device_id = device;
    ev.correlation_id = corr;
    return store_append_event(s, &ev, seq);
}

TEST(write_path, migrates_v2_file_with_correlation_ids)
{
    tmpdb t;
    store *s;
    int64_t seq = 0;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put_corr(s, "dev-1", "a", NULL), 0);
    ASSERT_EQ(put_corr(s, NULL, "b", NULL), 0);
    ASSERT_EQ(put(s, 1, NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-2", "a", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-2", "12", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-2", "012", NULL), 0);
    ASSERT_EQ(sqlite3_exec(s->db, V3_TO_V2 "PRAGMA user_version = 2", NULL, NULL, NULL),
              SQLITE_OK);
    store_close(s);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(q_int(s, "PRAGMA user_version"), 4);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM sqlite_master WHERE name = 'events_correlation'"), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 5);
    ASSERT_EQ(q_int(s, "SELECT seq FROM event_corr WHERE device = '' AND corr = 'b'"), 2);
    /* numbers as the store keeps them (store__corr_num) */
    ASSERT_EQ(q_int(s, "SELECT seq FROM event_corr WHERE device = 'dev-2' AND corr = 12"), 5);
    ASSERT_EQ(q_int(s, "SELECT seq FROM event_corr WHERE device = 'dev-2' AND corr = '012'"), 6);
    ASSERT_EQ(q_int(s, "SELECT value FROM store_meta WHERE name = 'corr_indexed'"), 6);
    /* the migrated ids are found in event_corr, nothing is pending in memory */
    ASSERT_EQ(put_corr(s, "dev-2", "a", &seq), STORE_DUP);
    ASSERT_EQ(seq, 4);
    ASSERT_EQ(put_corr(s, "", "b", &seq), STORE_DUP);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(put_corr(s, "dev-2", "12", &seq), STORE_DUP);
    ASSERT_EQ(seq, 5);
    ASSERT_EQ(put_corr(s, "dev-2", "11", NULL), 0);
    ASSERT_EQ(store__corr_pending(s), 1u);
    ASSERT_EQ(put_corr(s, "dev-3", "a", &seq), 0);
    ASSERT_EQ(seq, 8);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, migrates_v3_file_device_index)
{
    tmpdb t;
    store *s;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put_corr(s, "dev-2", "a", NULL), 0);
    ASSERT_EQ(put_corr(s, NULL, "b", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "c", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-2", "d", NULL), 0);
    ASSERT_EQ(sqlite3_exec(s->db, V4_TO_V3 "PRAGMA user_version = 3", NULL, NULL, NULL),
              SQLITE_OK);
    store_close(s);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(q_int(s, "PRAGMA user_version"), 4);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM sqlite_master WHERE name = 'events_device_seq'"), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_events"), 3); /* not the one without */
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_events WHERE device_id = 'dev-2'"
                       " AND seq IN (1, 4)"), 2);
    ASSERT_EQ(q_int(s, "SELECT seq FROM device_events WHERE device_id = 'dev-1'"), 3);
    ASSERT_EQ(q_int(s, "SELECT value FROM store_meta WHERE name = 'device_indexed'"), 4);
    /* new events wait after the checkpoint until a flush */
    ASSERT_EQ(put_corr(s, "dev-1", "e", NULL), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_events"), 3);
    ASSERT_EQ(store_device_flush(s, 2, 100), 0); /* fewer than min pending */
    ASSERT_EQ(store_device_flush(s, 0, 100), 1);
    ASSERT_EQ(q_int(s, "SELECT seq FROM device_events WHERE device_id = 'dev-1' AND seq > 3"), 5);
    store_close(s);
    tmpdb_release(&t);
}

/* In a batch the move is part of it: a rollback takes it back; the store
 * moves by itself once dev_tail_max events wait; bad arguments. */
TEST(write_path, device_index_flush_in_batch_and_forced)
{
    tmpdb t;
    store *s, *ro;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(put(s, i + 1, NULL), 0);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(store_device_flush(s, 0, 4), 4);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_events"), 4);
    ASSERT_EQ(store_rollback(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_events"), 0);
    ASSERT_EQ(q_int(s, "SELECT value FROM store_meta WHERE name = 'device_indexed'"), 0);
    s->dev_tail_max = 8; /* once 8 wait, the next transaction moves them (up to 4,096) */
    ASSERT_EQ(put(s, 7, NULL), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_events"), 0);
    ASSERT_EQ(put(s, 8, NULL), 0);
    ASSERT_EQ(put(s, 9, NULL), 0);
    ASSERT_EQ(q_int(s, "SELECT value FROM store_meta WHERE name = 'device_indexed'"), 8);
    ASSERT_EQ(store_device_flush(NULL, 0, 1), STORE_EINVAL);
    ASSERT_EQ(store_device_flush(s, 0, 0), STORE_EINVAL);
    ro = store_open(t.path, &(store_options){ .flags = STORE_OPEN_READONLY }, NULL, NULL, 0);
    ASSERT_NOT_NULL(ro);
    ASSERT_EQ(store_device_flush(ro, 0, 1), STORE_EREADONLY);
    store_close(ro);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, device_index_pending_known_without_statements)
{
    tmpdb t;
    store *s, *b;
    int runs;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(put(s, i, NULL), 0);
    /* the idle ingest's question after each commit: answered from memory */
    runs = stmt_runs(s, STORE__DEV_INDEXED);
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(store_device_flush(s, 256, 1024), 0);
    ASSERT_EQ(stmt_runs(s, STORE__DEV_INDEXED), runs);
    for (int i = 10; i < 256; i++)
        ASSERT_EQ(put(s, i, NULL), 0);
    ASSERT_EQ(store_device_flush(s, 256, 1024), 256);
    ASSERT_EQ(store_device_flush(s, 1, 1024), 0);
    /* a flush undone with its batch is not believed */
    for (int i = 256; i < 556; i++)
        ASSERT_EQ(put(s, i, NULL), 0);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(store_device_flush(s, 0, 1000), 300);
    ASSERT_EQ(store_rollback(s), 0);
    ASSERT_EQ(put(s, 556, NULL), 0);
    ASSERT_EQ(store_device_flush(s, 256, 1024), 301);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_events"), 557);
    /* another handle's appends are seen from this one's next transaction */
    b = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(b);
    for (int i = 557; i < 857; i++)
        ASSERT_EQ(put(b, i, NULL), 0);
    store_close(b);
    ASSERT_EQ(store_device_flush(s, 256, 1024), 0);
    ASSERT_EQ(put(s, 857, NULL), 0);
    ASSERT_EQ(store_device_flush(s, 256, 1024), 301);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_events"), 858);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, correlation_ids_move_to_event_corr)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    char id[16];
    int64_t seq = 0;

    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "%d", i);
        ASSERT_EQ(put_corr(s, i % 2 ? "dev-1" : "dev-2", id, NULL), 0);
    }
    ASSERT_EQ(store__corr_pending(s), 50u);
    ASSERT_EQ(store_corr_flush(s, 51, 100), 0); /* fewer than asked for: stays */
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 0);
    /* the oldest first, up to max */
    ASSERT_EQ(store_corr_flush(s, 50, 20), 20);
    ASSERT_EQ(store__corr_pending(s), 30u);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 20);
    ASSERT_EQ(q_int(s, "SELECT max(seq) FROM event_corr"), 20);
    ASSERT_EQ(q_int(s, "SELECT value FROM store_meta WHERE name = 'corr_indexed'"), 20);
    ASSERT_EQ(put_corr(s, "dev-2", "4", &seq), STORE_DUP); /* moved */
    ASSERT_EQ(seq, 5);
    ASSERT_EQ(put_corr(s, "dev-1", "45", &seq), STORE_DUP); /* still in memory */
    ASSERT_EQ(seq, 46);
    /* inside a batch: in its transaction, undone with it */
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(store_corr_flush(s, 0, 10), 10);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 30);
    ASSERT_EQ(store_rollback(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 20);
    ASSERT_EQ(store_corr_flush(s, 0, 1000), 30); /* reloaded after the rollback */
    ASSERT_EQ(store__corr_pending(s), 0u);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 50);
    ASSERT_EQ(q_int(s, "SELECT seq FROM event_corr WHERE device = 'dev-1' AND corr = 7"), 8);
    ASSERT_EQ(q_int(s, "SELECT value FROM store_meta WHERE name = 'corr_indexed'"), 50);
    /* found in the table now, and in memory for new ones */
    ASSERT_EQ(put_corr(s, "dev-1", "7", &seq), STORE_DUP);
    ASSERT_EQ(seq, 8);
    ASSERT_EQ(put_corr(s, "dev-2", "7", &seq), 0);
    ASSERT_EQ(put_corr(s, "dev-2", "7", NULL), STORE_DUP);
    ASSERT_EQ(store_corr_flush(s, 0, 100), 1);
    ASSERT_EQ(store_corr_flush(s, 0, 100), 0);
    ASSERT_EQ(put_corr(s, "dev-2", "7", NULL), STORE_DUP);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 51);
    store_close(s);
}

TEST(write_path, correlation_tail_grows_wraps_and_moves_in_parts)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    char id[16];
    int64_t seq = 0;
    int moved = 0;

    ASSERT_NOT_NULL(s);
    /* the ring wraps (moves free its front) and grows past its first size */
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "%d", i);
        ASSERT_EQ(put_corr(s, i % 3 ? "dev-1" : "dev-2", id, NULL), 0);
        if (i % 400 == 399) {
            int n = store_corr_flush(s, 0, 300);
            ASSERT_EQ(n, 300);
            moved += n;
        }
    }
    ASSERT_EQ(store__corr_pending(s), (size_t)(3000 - moved));
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), moved);
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "%d", i);
        ASSERT_EQ(put_corr(s, i % 3 ? "dev-1" : "dev-2", id, &seq), STORE_DUP);
        ASSERT_EQ(seq, i + 1);
        ASSERT_EQ(put_corr(s, i % 3 ? "dev-2" : "dev-1", id, NULL), 0);
    }
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 6000);
    store_close(s);
}

TEST(write_path, correlation_numbers_stored_as_integers_by_one_rule)
{
    static const char *const ids[] = {"0", "00", "01", "1", "9", "10", "123456789012345678",
                                      "1234567890123456789", "-1", "+1", "1e3", "1.0", " 1",
                                      "1 ", "abc", "12a", "a12", "0x10", ""};
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    char sql[512];

    ASSERT_NOT_NULL(s);
    for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
        int64_t num = store__corr_num(ids[i]);
        snprintf(sql, sizeof(sql), "SELECT typeof(x) = 'integer' FROM (SELECT %s AS x FROM"
                 " (SELECT '%s' AS correlation_id))", STORE__CORR_AS_STORED, ids[i]);
        /* C and SQL agree on which ids are numbers, and on the number */
        ASSERT_EQ(q_int(s, sql), num >= 0 ? 1 : 0);
        if (num >= 0) {
            snprintf(sql, sizeof(sql), "SELECT %s FROM (SELECT '%s' AS correlation_id)",
                     STORE__CORR_AS_STORED, ids[i]);
            ASSERT_EQ(q_int(s, sql), num);
        }
    }
    ASSERT_EQ(store__corr_num("0"), 0);
    ASSERT_EQ(store__corr_num("42"), 42);
    ASSERT_EQ(store__corr_num("042"), -1);
    ASSERT_EQ(store__corr_num("1234567890123456789"), -1);
    store_close(s);
}

static int may_have(store *s, const char *channel, const char *device, const char *corr,
                    int64_t *num)
{
    return store__corr_table_may_have(s, store__corr_key(channel, device), channel, device, corr,
                                      num);
}

TEST(write_path, correlation_numbers_above_the_stored_maximum_need_no_lookup)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    char id[16];
    int64_t seq = 0, num = 0;

    ASSERT_NOT_NULL(s);
    for (int i = 1; i <= 20; i++) {
        snprintf(id, sizeof(id), "%d", i);
        ASSERT_EQ(put_corr(s, "dev-1", id, NULL), 0);
    }
    ASSERT_EQ(put_corr(s, "dev-1", "abc", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "007", NULL), 0);
    ASSERT_EQ(store_corr_flush(s, 0, 1000), 22);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr WHERE typeof(corr) = 'integer'"), 20);
    /* the moves raised the cached maximum of (telemetry, dev-1) to 20 */
    ASSERT_EQ(may_have(s, "telemetry", "dev-1", "21", &num), 0);
    ASSERT_EQ(num, 21);
    ASSERT_EQ(may_have(s, "telemetry", "dev-1", "20", &num), 1);
    ASSERT_EQ(may_have(s, "telemetry", "dev-1", "5", &num), 1);
    ASSERT_EQ(may_have(s, "telemetry", "dev-1", "xyz", &num), 1);
    ASSERT_EQ(num, -1);
    ASSERT_EQ(may_have(s, "telemetry", "dev-2", "5", &num), 0);
    ASSERT_EQ(may_have(s, "other", "dev-1", "5", &num), 0);
    /* the ones at or below it are looked up and found; "7" is not "007" */
    ASSERT_EQ(put_corr(s, "dev-1", "5", &seq), STORE_DUP);
    ASSERT_EQ(seq, 5);
    ASSERT_EQ(put_corr(s, "dev-1", "20", &seq), STORE_DUP);
    ASSERT_EQ(seq, 20);
    ASSERT_EQ(put_corr(s, "dev-1", "abc", &seq), STORE_DUP);
    ASSERT_EQ(seq, 21);
    ASSERT_EQ(put_corr(s, "dev-1", "007", &seq), STORE_DUP);
    ASSERT_EQ(seq, 22);
    ASSERT_EQ(put_corr(s, "dev-1", "7", &seq), STORE_DUP);
    ASSERT_EQ(seq, 7);
    ASSERT_EQ(put_corr(s, "dev-1", "21", &seq), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "21", NULL), STORE_DUP);
    store_close(s);
}

TEST(write_path, correlation_maxima_cache_starts_over_when_full)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    char dev[16];
    int64_t seq = 0;

    ASSERT_NOT_NULL(s);
    s->corr_keys_max = 4;
    for (int d = 0; d < 10; d++) {
        snprintf(dev, sizeof(dev), "dev-%d", d);
        ASSERT_EQ(put_corr(s, dev, "1", NULL), 0);
        ASSERT_EQ(put_corr(s, dev, "2", NULL), 0);
    }
    ASSERT_EQ(store_corr_flush(s, 0, 1000), 20);
    ASSERT_LE(s->corr_keys_n, 4u);
    /* every key's numbers are still found, cached or queried again */
    for (int d = 9; d >= 0; d--) {
        snprintf(dev, sizeof(dev), "dev-%d", d);
        ASSERT_EQ(put_corr(s, dev, "2", &seq), STORE_DUP);
        ASSERT_EQ(seq, 2 * d + 2);
        ASSERT_EQ(put_corr(s, dev, "1", &seq), STORE_DUP);
        ASSERT_EQ(seq, 2 * d + 1);
        ASSERT_EQ(put_corr(s, dev, "3", NULL), 0);
    }
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 30);
    store_close(s);
}

TEST(write_path, correlation_maximum_of_another_handle)
{
    tmpdb t;
    store *a, *b;
    int64_t seq = 0;

    ASSERT_EQ(open_pair(&t, &a, &b), 0);
    ASSERT_EQ(put_corr(a, "dev-1", "1", NULL), 0); /* a caches "no numbers stored" */
    ASSERT_EQ(put_corr(b, "dev-1", "2", NULL), 0);
    ASSERT_EQ(store_corr_flush(b, 0, 100), 2);      /* 1 and 2 now only in event_corr */
    ASSERT_EQ(put_corr(a, "dev-1", "2", &seq), STORE_DUP);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(put_corr(a, "dev-1", "1", &seq), STORE_DUP);
    ASSERT_EQ(seq, 1);
    ASSERT_EQ(put_corr(a, "dev-1", "3", &seq), 0);
    ASSERT_EQ(q_int(a, "SELECT count(*) FROM events"), 3);
    store_close(a);
    store_close(b);
    tmpdb_release(&t);
}

TEST(write_path, correlation_checkpoint_below_a_reused_seq)
{
    tmpdb t;
    store *s;
    store_event plain = wp_event("{\"plain\":1}");
    int64_t seq = 0;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    /* the dedupe row of the plain event fails: its event row is undone */
    ASSERT_EQ(sqlite3_exec(s->db, "CREATE TRIGGER no_dedupe BEFORE INSERT ON dedupe"
                                  " BEGIN SELECT RAISE(ABORT, 'test'); END;", NULL, NULL, NULL),
              SQLITE_OK);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "c1", &seq), 0);
    ASSERT_EQ(seq, 1);
    ASSERT_LT(store_append_event(s, &plain, NULL), 0);
    ASSERT_EQ(store_corr_flush(s, 0, 100), 1);
    ASSERT_EQ(put_corr(s, "dev-1", "c2", &seq), 0);
    ASSERT_EQ(seq, 2); /* the undone event's seq, taken again */
    ASSERT_EQ(store_commit(s), 0);
    ASSERT_EQ(q_int(s, "SELECT value FROM store_meta WHERE name = 'corr_indexed'"), 1);
    store_close(s);
    /* a new handle rebuilds the tail from above the checkpoint: c2 is in it */
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put_corr(s, "dev-1", "c2", &seq), STORE_DUP);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 2);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, correlation_tail_moves_itself_when_full)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    char id[16];

    ASSERT_NOT_NULL(s);
    s->corr_tail_max = 4;
    ASSERT_EQ(store_begin(s), 0);
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "b%d", i);
        ASSERT_EQ(put_corr(s, "dev-1", id, NULL), 0);
    }
    ASSERT_EQ(store_commit(s), 0);
    /* the next transaction's first append moves the 6 first */
    ASSERT_EQ(put_corr(s, "dev-1", "b6", NULL), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 6);
    ASSERT_EQ(store__corr_pending(s), 1u);
    /* a move inside a batch that rolls back is undone with it */
    ASSERT_EQ(put_corr(s, "dev-1", "b7", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "b8", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "b9", NULL), 0);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "r1", NULL), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 10);
    ASSERT_EQ(store_rollback(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 6);
    ASSERT_EQ(put_corr(s, "dev-1", "b9", NULL), STORE_DUP);
    ASSERT_EQ(put_corr(s, "dev-1", "r1", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "b2", NULL), STORE_DUP);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 11);
    store_close(s);
}

TEST(write_path, correlation_tail_rebuilt_after_reopen_and_rollback)
{
    tmpdb t;
    store *s;
    int64_t seq = 0;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put_corr(s, "dev-1", "x", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "y", NULL), 0);
    ASSERT_EQ(store_corr_flush(s, 0, 100), 2);
    ASSERT_EQ(put_corr(s, "dev-1", "z", NULL), 0);
    store_close(s); /* "z" only in the log, not in event_corr */
    {
        store_options ro = {.flags = STORE_OPEN_READONLY};
        store *r = store_open(t.path, &ro, NULL, NULL, 0);

        ASSERT_NOT_NULL(r);
        ASSERT_EQ(store_corr_flush(r, 0, 100), STORE_EREADONLY);
        store_close(r);
    }
    ASSERT_EQ(store_corr_flush(NULL, 0, 100), STORE_EINVAL);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM event_corr"), 2);
    ASSERT_EQ(put_corr(s, "dev-1", "z", &seq), STORE_DUP);
    ASSERT_EQ(seq, 3);
    ASSERT_EQ(put_corr(s, "dev-1", "x", &seq), STORE_DUP);
    ASSERT_EQ(seq, 1);
    /* a rolled back batch forgets its ids */
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "w", NULL), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "w", NULL), STORE_DUP);
    ASSERT_EQ(store_rollback(s), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "w", &seq), 0);
    ASSERT_EQ(seq, 4);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, correlation_ids_of_two_handles)
{
    tmpdb t;
    store *a, *b;
    int64_t seq = 0;

    ASSERT_EQ(open_pair(&t, &a, &b), 0);
    ASSERT_EQ(put_corr(a, "dev-1", "1", NULL), 0);
    ASSERT_EQ(put_corr(b, "dev-1", "2", NULL), 0);
    /* each sees what the other appended, before any move to event_corr */
    ASSERT_EQ(put_corr(b, "dev-1", "1", &seq), STORE_DUP);
    ASSERT_EQ(seq, 1);
    ASSERT_EQ(put_corr(a, "dev-1", "2", &seq), STORE_DUP);
    ASSERT_EQ(seq, 2);
    /* b moves both; a's memory still has "1": its later move must not collide */
    ASSERT_EQ(store_corr_flush(b, 0, 100), 2);
    ASSERT_EQ(put_corr(a, "dev-1", "3", NULL), 0);
    ASSERT_GE(store_corr_flush(a, 0, 100), 1);
    ASSERT_EQ(q_int(a, "SELECT count(*) FROM event_corr"), 3);
    ASSERT_EQ(put_corr(b, "dev-1", "3", &seq), STORE_DUP);
    ASSERT_EQ(seq, 3);
    store_close(a);
    store_close(b);
    tmpdb_release(&t);
}

TEST(write_path, correlation_hash_hit_is_checked_against_the_row)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    int64_t seq = 0;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put_corr(s, "dev-1", "p", &seq), 0);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "p", NULL), STORE_DUP);
    /* a colliding hash: "q" hashes to an entry whose row holds "p" */
    ASSERT_EQ(store__corr_add(s, store__corr_hash(store__corr_key("telemetry", "dev-1"), "q"), seq,
                              store__corr_key("telemetry", "dev-1"), -1), 0);
    ASSERT_EQ(put_corr(s, "dev-1", "q", &seq), 0);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(put_corr(s, "dev-1", "q", &seq), STORE_DUP);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(store_commit(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 2);
    store_close(s);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

TEST(write_path, checkpointer_thread_moves_wal)
{
    tmpdb t;
    store *s;
    char wal[160], payload[3100];
    long before;
    int moved = 0;

    ASSERT_EQ(tmpdb_init(&t), 0);
    snprintf(wal, sizeof(wal), "%s-wal", t.path);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 0, NULL), 0);
    ASSERT_NOT_NULL(s->ckpt);
    before = file_size(t.path);
    /*
     * ~9000 pages of WAL: above STORE__WAL_BG_PAGES (the thread's cue),
     * below STORE__WAL_MAX_PAGES (where the writer would checkpoint itself)
     */
    for (int b = 0; b < 12; b++) {
        ASSERT_EQ(store_begin(s), 0);
        for (int i = 0; i < 1000; i++) {
            store_event ev = wp_event(payload);
            snprintf(payload, sizeof(payload), "{\"b\":%d,\"i\":%d,\"pad\":\"%03000d\"}", b, i, 0);
            ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
        }
        ASSERT_EQ(store_commit(s), 0);
    }
    /* the thread, not the writer, copies the WAL into the database file */
    for (int tries = 0; tries < 500 && !moved; tries++) {
        struct timespec ts = {.tv_nsec = 10 * 1000000L};
        moved = file_size(t.path) > before + 1000000;
        if (!moved)
            nanosleep(&ts, NULL);
    }
    ASSERT(moved);
    /* and flushes the database file after its pass (the writer's own
     * checkpoint then has little left to fsync) */
    for (int tries = 0; tries < 500 && store__ckpt_db_syncs(s) == 0; tries++) {
        struct timespec ts = {.tv_nsec = 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ASSERT_GE(store__ckpt_db_syncs(s), 1u);
    ASSERT_GT(file_size(wal), 0);
    store_close(s);
    ASSERT_EQ(file_size(wal), -1); /* the last close checkpoints and removes it */
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 12001);
    store_close(s);
    tmpdb_release(&t);
}

/* A read-only connection holding a snapshot: the WAL cannot restart under it. */
static sqlite3 *pin_snapshot(const char *path)
{
    sqlite3 *reader = NULL;

    if (sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM events;", NULL, NULL, NULL) !=
            SQLITE_OK) {
        sqlite3_close(reader);
        return NULL;
    }
    return reader;
}

/* One commit of n events of ~3 KB (about a page each); returns the store result. */
static int commit_padded(store *s, int n)
{
    char payload[3100];
    int rc = store_begin(s);

    for (int i = 0; i < n && rc == 0; i++) {
        store_event ev = wp_event(payload);
        snprintf(payload, sizeof(payload), "{\"i\":%d,\"pad\":\"%03000d\"}", i, 0);
        rc = store_append_event(s, &ev, NULL);
    }
    return rc == 0 ? store_commit(s) : rc;
}

/*
 * A reader pinning an old snapshot keeps the WAL from restarting, so it
 * stays above STORE__WAL_BG_PAGES commit after commit: the checkpointer is
 * woken once per STORE__WAL_BG_PAGES of new WAL, not after every commit.
 */
TEST(write_path, checkpointer_woken_per_wal_growth_not_per_commit)
{
    tmpdb t;
    store *s;
    sqlite3 *reader;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 0, NULL), 0);
    ASSERT_NOT_NULL(s->ckpt);
    reader = pin_snapshot(t.path);
    ASSERT_NOT_NULL(reader);
    /* ~5000 pages in one commit: past the mark once */
    ASSERT_EQ(commit_padded(s, 5000), 0);
    ASSERT_EQ(store__ckpt_wakes(s), 1u);
    /* 200 small commits, a few pages each: still far from another 4000 */
    for (int i = 1; i <= 200; i++)
        ASSERT_EQ(put(s, i, NULL), 0);
    ASSERT_EQ(store__ckpt_wakes(s), 1u);
    sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(reader);
    store_close(s);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 5201);
    store_close(s);
    tmpdb_release(&t);
}

/*
 * A store whose WAL cannot restart (a pinned reader), one commit of pad
 * page-sized events, then small commits until the WAL holds frames0 + add
 * frames or cap, whichever is less. Gives the WAL size after the big commit
 * (*frames0), at the end (*frames), and the checkpointer's wake-ups during
 * the small commits (*wakes). Frame counts are read from the file.
 */
static void wakes_while_wal_grows(int pad, long add, long cap, long *frames0, long *frames,
                                  unsigned *wakes)
{
    tmpdb t;
    store *s;
    sqlite3 *reader;
    char wal[160];
    unsigned wakes0;
    int i = 0;

    *frames0 = *frames = 0;
    *wakes = 0;
    ASSERT_EQ(tmpdb_init(&t), 0);
    snprintf(wal, sizeof(wal), "%s-wal", t.path);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 0, NULL), 0);
    ASSERT_NOT_NULL(s->ckpt);
    reader = pin_snapshot(t.path);
    ASSERT_NOT_NULL(reader);
    ASSERT_EQ(commit_padded(s, pad), 0);
    *frames0 = (file_size(wal) - 32) / (4096 + 24);
    wakes0 = store__ckpt_wakes(s);
    ASSERT_GE(wakes0, 1u);
    do {
        ASSERT_EQ(put(s, ++i, NULL), 0);
        *frames = (file_size(wal) - 32) / (4096 + 24);
    } while (*frames < *frames0 + add && *frames < cap && i < 100000);
    *wakes = store__ckpt_wakes(s) - wakes0;
    sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(reader);
    store_close(s);
    tmpdb_release(&t);
}

/*
 * In the last STORE__WAL_BG_PAGES before STORE__WAL_MAX_PAGES (where the
 * writer checkpoints itself, fsyncs included, on the ingest's thread) the
 * thread is woken at most STORE__WAL_BG_PAGES / 8 pages apart, so that the
 * writer is left a small remainder to copy: from ~12,200 pages, BG / 2
 * pages of small commits bring four wake-ups.
 */
TEST(write_path, checkpointer_woken_densely_before_the_writers_checkpoint)
{
    long frames0, frames;
    unsigned wakes;

    wakes_while_wal_grows(12000, STORE__WAL_BG_PAGES / 2, STORE__WAL_MAX_PAGES, &frames0,
                          &frames, &wakes);
    ASSERT_GE(frames0, STORE__WAL_MAX_PAGES - STORE__WAL_BG_PAGES);
    ASSERT_LT(frames0, STORE__WAL_MAX_PAGES - STORE__WAL_BG_PAGES / 2);
    ASSERT_LT(frames, STORE__WAL_MAX_PAGES);
    ASSERT_GE(wakes, 3u);
    ASSERT_LE(wakes, 4u);
}

/*
 * Closer to STORE__WAL_MAX_PAGES the wake-ups come closer together (a
 * quarter of the distance, at least STORE__WAL_STEP_MIN), so the thread's
 * last pass is short and the writer is left few pages: from ~15,400 to
 * ~15,940 pages six wake-ups instead of one every 500 pages.
 */
TEST(write_path, checkpointer_woken_ever_closer_before_the_writers_checkpoint)
{
    long frames0, frames;
    unsigned wakes;

    wakes_while_wal_grows(15150, STORE__WAL_MAX_PAGES, STORE__WAL_MAX_PAGES - 60, &frames0,
                          &frames, &wakes);
    ASSERT_GE(frames0, STORE__WAL_MAX_PAGES - 700);
    ASSERT_LT(frames0, STORE__WAL_MAX_PAGES - 500);
    ASSERT_LT(frames, STORE__WAL_MAX_PAGES);
    ASSERT_GE(wakes, 5u);
    ASSERT_LE(wakes, 9u);
}

/* count(*) of events seen by a separate plain connection (default VFS) */
static int64_t other_count(sqlite3 *db)
{
    sqlite3_stmt *st;
    int64_t n = -1;

    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, NULL) != SQLITE_OK)
        return -2;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/*
 * The WAL write-combining VFS (store_vfs.c): another connection sees every
 * commit the moment store_commit returns, for transactions of one page,
 * of more than one 124 KiB write, and of more than the 8 MiB buffer; the
 * frames of a commit reach the file in a few writes, not two per page.
 */
TEST(write_path, wal_writes_combined_and_visible_at_commit)
{
    static const int sizes[] = {1, 3, 60, 4000, 1, 5};
    tmpdb t;
    store *s;
    sqlite3 *other;
    char payload[3100];
    int64_t total = 0;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    {
        sqlite3_vfs *vfs = NULL;
        ASSERT_EQ(sqlite3_file_control(s->db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs), SQLITE_OK);
        ASSERT_NOT_NULL(vfs);
        ASSERT_STR_EQ(vfs->zName, STORE__VFS_NAME);
    }
    ASSERT_EQ(put(s, 0, NULL), 0);
    total = 1;
    ASSERT_EQ(sqlite3_open_v2(t.path, &other, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ASSERT_EQ(other_count(other), total);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
        unsigned long w0 = store__vfs_wal_writes();

        ASSERT_EQ(store_begin(s), 0);
        for (int i = 0; i < sizes[k]; i++) {
            store_event ev = wp_event(payload);
            snprintf(payload, sizeof(payload), "{\"k\":%zu,\"i\":%d,\"pad\":\"%03000d\"}", k,
                     i, 0);
            ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
        }
        ASSERT_EQ(store_commit(s), 0);
        total += sizes[k];
        ASSERT_EQ(other_count(other), total);
        if (sizes[k] == 60) {
            /* ~60 pages of rows + index pages: stock SQLite makes >120 writes */
            unsigned long w = store__vfs_wal_writes() - w0;
            ASSERT_GT(w, 0ul);
            ASSERT(w <= 8);
        }
    }
    sqlite3_close(other);
    store_close(s);
    /* reopened (WAL recovered or checkpointed): all rows, intact */
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), total);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"),
              1);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, no_checkpointer_for_memory_and_readers)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    store_options ro = {.flags = STORE_OPEN_READONLY};
    size_t folded = 0;
    tmpdb t;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 1, NULL), 0);
    ASSERT_NULL(s->ckpt);
    store_close(s);

    /* a projector-style handle (folds, never appends) and a reader: none either */
    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 1, NULL), 0);
    ASSERT_NOT_NULL(s->ckpt);
    store_close(s);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_project(s, NULL, &folded), 0);
    ASSERT_EQ(folded, 1);
    ASSERT_NULL(s->ckpt);
    ASSERT_NULL(s->ring);
    store_close(s);
    s = store_open(t.path, &ro, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put(s, 2, NULL), STORE_EREADONLY);
    ASSERT_NULL(s->ckpt);
    store_close(s);
    tmpdb_release(&t);
}

TEST(write_path, window_too_large_refused)
{
    store_options o = {.dedupe_window = (size_t)1 << 40};
    int err = 0;

    ASSERT_NULL(store_open(":memory:", &o, &err, NULL, 0));
    ASSERT_EQ(err, STORE_EINVAL);
}

static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct release_later {
    store *s;       /* holds the write lock (open batch) */
    int delay_ms;   /* commit after this */
    int rc;         /* store_commit result */
} release_later;

static void *release_main(void *arg)
{
    release_later *r = arg;
    struct timespec ts = {.tv_sec = r->delay_ms / 1000, .tv_nsec = (r->delay_ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
    r->rc = store_commit(r->s);
    return NULL;
}

TEST(write_path, busy_handler_waits_then_gives_up_or_gets_lock)
{
    tmpdb t;
    store_options ob = {.busy_timeout_ms = 200};
    store *a, *b;
    double t0, waited;
    release_later r = {.delay_ms = 50, .rc = -1};
    pthread_t th;

    a = tmpdb_store(&t);
    ASSERT_NOT_NULL(a);
    b = store_open(t.path, &ob, NULL, NULL, 0);
    ASSERT_NOT_NULL(b);
    /* a holds the write lock for longer than b waits: EBUSY after the timeout */
    ASSERT_EQ(store_begin(a), 0);
    ASSERT_EQ(put(a, 1, NULL), 0);
    t0 = mono_ms();
    ASSERT_EQ(store_begin(b), STORE_EBUSY);
    waited = mono_ms() - t0;
    ASSERT(waited >= 199.0); /* the contract: it waits the whole timeout */
    /* a lets go while b waits: b gets the lock and sees a's commit */
    r.s = a;
    ASSERT_EQ(pthread_create(&th, NULL, release_main, &r), 0);
    ASSERT_EQ(store_begin(b), 0);
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(put(b, 1, NULL), STORE_DUP);
    ASSERT_EQ(put(b, 2, NULL), 0);
    ASSERT_EQ(store_commit(b), 0);
    store_close(b);
    store_close(a);
    tmpdb_release(&t);
}

TEST(write_path, two_appending_handles_see_each_others_hashes)
{
    tmpdb t;
    store *a, *b;
    int64_t seq = 0;

    ASSERT_EQ(open_pair(&t, &a, &b), 0);
    ASSERT_EQ(put(a, 1, &seq), 0);
    ASSERT_EQ(put(b, 2, &seq), 0); /* b loads its window */
    ASSERT_EQ(put(a, 3, &seq), 0); /* a's window is now behind b's row 2 */
    ASSERT_EQ(put(a, 2, &seq), STORE_DUP);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(store_begin(b), 0);
    ASSERT_EQ(put(b, 3, &seq), STORE_DUP);
    ASSERT_EQ(seq, 3);
    ASSERT_EQ(put(b, 4, &seq), 0);
    ASSERT_EQ(store_commit(b), 0);
    ASSERT_EQ(put(a, 4, &seq), STORE_DUP);
    ASSERT_EQ(q_int(a, "SELECT count(*) FROM events"), 4);
    ASSERT_EQ(q_int(a, "SELECT count(DISTINCT ord) FROM dedupe"), 4);
    store_close(b);
    store_close(a);
    tmpdb_release(&t);
}
