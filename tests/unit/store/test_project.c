/* SPDX-License-Identifier: MIT */
/*
 * Projections: folding into devices/device_state/rollups, checkpoint
 * atomicity (a crash between batches never double counts), rebuild equals
 * incremental folding in random batch sizes, the projector thread.
 */
#include "test.h"

#include <inttypes.h>

#include <time.h>

#include <cjson/cJSON.h>

#include "store_test_util.h"

/* Appends one event; returns its seq or a negative code. */
static int64_t put(store *s, const char *channel, const char *device, const char *payload,
                   int64_t at)
{
    store_event ev = {.channel = channel, .device_id = device, .topic = channel,
                      .payload = payload, .received_at = at};
    int64_t seq = 0;
    char topic[256];
    int rc;

    /* distinct topics per time so equal payloads are not deduped */
    snprintf(topic, sizeof(topic), "%s/%s/%" PRId64, channel, device ? device : "-", at);
    ev.topic = topic;
    rc = store_append_event(s, &ev, &seq);
    return rc == 0 ? seq : (rc > 0 ? -100 : rc);
}

/* Appends {"v":0} .. {"v":n-1} for device "d" on channel "c" at 1000 + i; 0 or -1. */
static int put_values(store *s, int n)
{
    for (int i = 0; i < n; i++) {
        char p[32];

        snprintf(p, sizeof(p), "{\"v\":%d}", i);
        if (put(s, "c", "d", p, 1000 + i) <= 0)
            return -1;
    }
    return 0;
}

/* Appends every row of a table, ordered by its key, with exact doubles. */
static char *dump(store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 1024, len = 0;
    char *out = malloc(cap);

    if (!out || sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        free(out);
        return NULL;
    }
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            char cell[600];
            size_t n;
            if (sqlite3_column_type(st, c) == SQLITE_FLOAT) {
                double d = sqlite3_column_double(st, c);
                uint64_t bits;
                memcpy(&bits, &d, sizeof(bits));
                snprintf(cell, sizeof(cell), "f%016" PRIx64 "|", bits);
            } else {
                const unsigned char *t = sqlite3_column_text(st, c);
                snprintf(cell, sizeof(cell), "%.500s|", t ? (const char *)t : "NULL");
            }
            n = strlen(cell);
            if (len + n + 2 > cap) {
                char *bigger = realloc(out, cap * 2 + n);
                if (!bigger) {
                    free(out);
                    sqlite3_finalize(st);
                    return NULL;
                }
                out = bigger;
                cap = cap * 2 + n;
            }
            memcpy(out + len, cell, n + 1);
            len += n;
        }
        out[len++] = '\n';
        out[len] = '\0';
    }
    sqlite3_finalize(st);
    return out;
}

static const char *const dump_sql[] = {
    "SELECT * FROM devices ORDER BY device_id",
    "SELECT * FROM device_state ORDER BY device_id, channel",
    "SELECT * FROM rollups ORDER BY device_id, channel, field, bucket_start",
    "SELECT * FROM projection_checkpoints ORDER BY name",
};

TEST(project, fold_counts_and_state)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    size_t n = 99;
    char buf[256];

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_project(s, NULL, &n), 0);
    ASSERT_EQ(n, 0);
    /* bucket [60000, 120000): 3 readings for d1, one in the next bucket */
    ASSERT_GT(put(s, "telemetry", "d1", "{\"t\":20.5,\"h\":40,\"ok\":true,\"s\":\"x\"}", 60000), 0);
    ASSERT_GT(put(s, "telemetry", "d1", "{\"t\":22.5,\"h\":42}", 61000), 0);
    ASSERT_GT(put(s, "telemetry", "d1", "{\"t\":18}", 119999), 0);
    ASSERT_GT(put(s, "telemetry", "d1", "{\"t\":30}", 120000), 0);
    ASSERT_GT(put(s, "telemetry", "d2", "{\"t\":1}", 60001), 0);
    ASSERT_GT(put(s, "telemetry", NULL, "{\"t\":5}", 60002), 0);
    ASSERT_GT(put(s, "config", "d1", "{\"mode\":\"eco\"}", 65000), 0);
    ASSERT_GT(put(s, "telemetry", "d1", "[1,2,3]", 50000), 0); /* late: earlier time */

    ASSERT_EQ(store_project(s, NULL, &n), 0);
    ASSERT_EQ(n, 8);
    ASSERT_EQ(q_int(s, "SELECT count FROM rollups WHERE device_id = 'd1' AND field = 't'"
                       " AND bucket_start = 60000"), 3);
    ASSERT_STR_EQ(q_text(s, "SELECT min || ' ' || max || ' ' || sum FROM rollups WHERE"
                            " device_id = 'd1' AND field = 't' AND bucket_start = 60000",
                         buf, sizeof(buf)), "18.0 22.5 61.0");
    ASSERT_EQ(q_int(s, "SELECT count FROM rollups WHERE device_id = 'd1' AND field = 't'"
                       " AND bucket_start = 120000"), 1);
    ASSERT_EQ(q_int(s, "SELECT sum FROM rollups WHERE device_id = 'd1' AND field = 'h'"), 82);
    /* booleans and strings are not rolled up */
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM rollups WHERE field IN ('ok', 's', 'mode')"), 0);
    /* events without a device roll up under '' but make no device */
    ASSERT_EQ(q_int(s, "SELECT count FROM rollups WHERE device_id = ''"), 1);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM devices"), 2);
    ASSERT_EQ(q_int(s, "SELECT events FROM devices WHERE device_id = 'd1'"), 6);
    ASSERT_EQ(q_int(s, "SELECT first_seen FROM devices WHERE device_id = 'd1'"), 50000);
    ASSERT_EQ(q_int(s, "SELECT last_seen FROM devices WHERE device_id = 'd1'"), 120000);
    ASSERT_EQ(q_int(s, "SELECT last_seq FROM devices WHERE device_id = 'd1'"), 8);
    ASSERT_STR_EQ(q_text(s, "SELECT status FROM devices WHERE device_id = 'd1'", buf,
                         sizeof(buf)), "online");
    /* device_state: latest payload per device and channel (by seq) */
    ASSERT_STR_EQ(q_text(s, "SELECT payload FROM device_state WHERE device_id = 'd1' AND"
                            " channel = 'telemetry'", buf, sizeof(buf)), "[1,2,3]");
    ASSERT_STR_EQ(q_text(s, "SELECT payload FROM device_state WHERE device_id = 'd1' AND"
                            " channel = 'config'", buf, sizeof(buf)), "{\"mode\":\"eco\"}");
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM device_state"), 3);
    {
        store_stats st;
        ASSERT_EQ(store_stats_get(s, &st), 0);
        ASSERT_EQ(st.projected_seq, 8);
        ASSERT_EQ(st.lag, 0);
        ASSERT_EQ(st.devices, 2);
    }
    /* nothing more to do */
    ASSERT_EQ(store_project(s, NULL, &n), 0);
    ASSERT_EQ(n, 0);
    store_close(s);
}

/*
 * The fold parses payloads without cJSON_Parse* (which writes cJSON's
 * process-wide error pointer, racing with the ingest and HTTP threads):
 * the pointer a failed cJSON_Parse left stays put. A payload that is not
 * strict JSON (duplicate keys pass the store's append check) counts for the
 * device but rolls up no fields, rather than counting a field twice.
 */
TEST(project, fold_leaves_cjson_global_state_alone)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    const char *before;
    size_t n = 0;

    ASSERT_NOT_NULL(s);
    ASSERT_NULL(cJSON_Parse("{bad"));
    before = cJSON_GetErrorPtr();
    ASSERT_NOT_NULL(before);
    ASSERT_GT(put(s, "telemetry", "d1", "{\"t\":1.5}", 60000), 0);
    ASSERT_GT(put(s, "telemetry", "d1", "{\"t\":1,\"t\":2}", 60001), 0);
    ASSERT_EQ(store_project(s, NULL, &n), 0);
    ASSERT_EQ(n, 2);
    ASSERT(cJSON_GetErrorPtr() == before);
    ASSERT_EQ(q_int(s, "SELECT count FROM rollups WHERE device_id = 'd1' AND field = 't'"), 1);
    ASSERT_EQ(q_int(s, "SELECT events FROM devices WHERE device_id = 'd1'"), 2);
    store_close(s);
}

TEST(project, status_channel)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    const char *status_channels[] = {"will"};
    store_projector_options o = {.status_channels = status_channels, .n_status_channels = 1};
    char buf[32];

    ASSERT_NOT_NULL(s);
    ASSERT_GT(put(s, "telemetry", "d1", "{\"t\":1}", 1000), 0);
    ASSERT_GT(put(s, "will", "d1", "\"offline\"", 2000), 0);
    ASSERT_EQ(store_project(s, &o, NULL), 0);
    ASSERT_STR_EQ(q_text(s, "SELECT status FROM devices", buf, sizeof(buf)), "offline");
    ASSERT_GT(put(s, "will", "d1", "{\"status\":\"weird\"}", 3000), 0);
    ASSERT_EQ(store_project(s, &o, NULL), 0);
    ASSERT_STR_EQ(q_text(s, "SELECT status FROM devices", buf, sizeof(buf)), "offline");
    ASSERT_GT(put(s, "telemetry", "d1", "{\"t\":2}", 4000), 0);
    ASSERT_EQ(store_project(s, &o, NULL), 0);
    ASSERT_STR_EQ(q_text(s, "SELECT status FROM devices", buf, sizeof(buf)), "online");
    /* default rule: a channel whose id ends in "status" */
    ASSERT_GT(put(s, "deviceStatus", "d2", "{\"online\":false}", 5000), 0);
    ASSERT_EQ(store_project(s, NULL, NULL), 0);
    ASSERT_STR_EQ(q_text(s, "SELECT status FROM devices WHERE device_id = 'd2'", buf,
                         sizeof(buf)), "offline");
    store_close(s);
}

TEST(project, checkpoint_atomic_no_double_count)
{
    tmpdb t;
    store *s;
    store_projector_options o = {.batch_max = 3};
    size_t n = 0;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(put_values(s, 10), 0);
    ASSERT_EQ(store_project(s, &o, &n), 0);
    ASSERT_EQ(n, 3);
    /* a "crash" in the middle of the next batch: its transaction never commits */
    ASSERT_EQ(sqlite3_exec(s->db, "BEGIN IMMEDIATE; UPDATE rollups SET count = count + 100;"
                                  " UPDATE projection_checkpoints SET seq = 6;", NULL, NULL, NULL),
              SQLITE_OK);
    store_close(s); /* rolls back like a killed process */

    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(q_int(s, "SELECT seq FROM projection_checkpoints"), 3);
    ASSERT_EQ(q_int(s, "SELECT count FROM rollups"), 3);
    do {
        ASSERT_EQ(store_project(s, &o, &n), 0);
    } while (n > 0);
    ASSERT_EQ(q_int(s, "SELECT count FROM rollups"), 10);
    ASSERT_EQ(q_int(s, "SELECT sum FROM rollups"), 45);
    ASSERT_EQ(q_int(s, "SELECT events FROM devices"), 10);
    ASSERT_EQ(q_int(s, "SELECT seq FROM projection_checkpoints"), 10);
    /* a batch open on the handle is refused */
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(store_project(s, &o, &n), STORE_ESTATE);
    ASSERT_EQ(store_rollback(s), 0);
    store_close(s);
    tmpdb_release(&t);
}

/* fold_gap_hook: what happens between a projector's read and write phases */
typedef struct gap_ctx {
    store *writer;    /* appends while the projector is between its phases */
    store *other;     /* a second projector that moves the checkpoint */
    int calls;
    int append_rc;    /* store_append_event on writer inside the gap */
    size_t other_folded;
    int other_rc;
} gap_ctx;

static void in_fold_gap(void *arg)
{
    gap_ctx *g = arg;

    if (g->calls++ > 0)
        return;
    /* no busy wait on this handle: a lock still held by the folding one fails at once */
    g->append_rc = put(g->writer, "c", "d", "{\"v\":100}", 5000) > 0 ? 0 : -1;
    g->other_rc = store_project(g->other, &(store_projector_options){.batch_max = 3},
                                &g->other_folded);
}

TEST(project, fold_reads_without_the_write_lock_and_refolds_a_moved_checkpoint)
{
    tmpdb t;
    store *p, *w, *o2;
    gap_ctx g = {0};
    size_t n = 0;
    char *incremental[4] = {0}, diag[256];

    ASSERT_EQ(tmpdb_init(&t), 0);
    p = store_open(t.path, NULL, NULL, NULL, 0);
    w = store_open(t.path, &(store_options){.busy_timeout_ms = -1}, NULL, NULL, 0);
    o2 = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(p);
    ASSERT_NOT_NULL(w);
    ASSERT_NOT_NULL(o2);
    ASSERT_EQ(put_values(w, 10), 0);
    g.writer = w;
    g.other = o2;
    p->fold_gap_hook = in_fold_gap;
    p->fold_gap_arg = &g;
    /* read phase folds 1..5; in the gap seq 11 is appended and the other
     * projector folds 1..3; the write phase sees checkpoint 3, not 0, and
     * folds 4..8 again instead of storing 1..5 twice */
    ASSERT_EQ(store_project(p, &(store_projector_options){.batch_max = 5}, &n), 0);
    ASSERT_EQ(g.append_rc, 0);
    ASSERT_EQ(g.other_rc, 0);
    ASSERT_EQ(g.other_folded, 3);
    ASSERT_EQ(g.calls, 2);
    ASSERT_EQ(n, 5);
    ASSERT_EQ(q_int(p, "SELECT seq FROM projection_checkpoints"), 8);
    ASSERT_EQ(q_int(p, "SELECT events FROM devices"), 8);
    ASSERT_EQ(q_int(p, "SELECT count FROM rollups"), 8);
    ASSERT_EQ(q_int(p, "SELECT sum FROM rollups"), 28);
    do {
        ASSERT_EQ(store_project(p, NULL, &n), 0);
    } while (n > 0);
    ASSERT_EQ(q_int(p, "SELECT events FROM devices"), 11);
    ASSERT_EQ(q_int(p, "SELECT sum FROM rollups WHERE bucket_start = 0"), 145);
    for (int i = 0; i < 4; i++) {
        incremental[i] = dump(p, dump_sql[i]);
        ASSERT_NOT_NULL(incremental[i]);
    }
    store_close(p);
    store_close(w);
    store_close(o2);
    ASSERT_EQ(store_rebuild(t.path, NULL, diag, sizeof(diag)), 0);
    p = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(p);
    for (int i = 0; i < 4; i++) {
        char *rebuilt = dump(p, dump_sql[i]);
        ASSERT_NOT_NULL(rebuilt);
        if (strcmp(incremental[i], rebuilt) != 0)
            test_fail(__FILE__, __LINE__, "rebuild differs for %s", dump_sql[i]);
        free(rebuilt);
        free(incremental[i]);
    }
    store_close(p);
    tmpdb_release(&t);
}

TEST(project, rebuild_equals_incremental_random_batches)
{
    tmpdb t;
    store *s;
    char *before[4] = {0}, *after[4] = {0};
    unsigned seed = 12345;
    store_projector_options o = {.bucket_ms = 10000};
    char diag[256];

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_begin(s), 0);
    for (int i = 0; i < 2000; i++) {
        char p[128], dev[16];
        seed = seed * 1103515245u + 12345u;
        snprintf(dev, sizeof(dev), "d%u", (seed >> 16) % 7);
        snprintf(p, sizeof(p), "{\"t\":%.3f,\"n\":%u,\"s\":\"x\"}",
                 ((seed >> 8) % 100000) / 7.0, seed % 13);
        ASSERT_GT(put(s, (seed >> 20) % 3 ? "telemetry" : "deviceStatus",
                      (seed >> 12) % 11 ? dev : NULL,
                      (seed >> 24) % 17 ? p : "\"offline\"", 1000000 + i * 137), 0);
    }
    ASSERT_EQ(store_commit(s), 0);
    /* incremental, in random batch sizes */
    for (;;) {
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        o.batch_max = 1 + (seed >> 16) % 97;
        ASSERT_EQ(store_project(s, &o, &n), 0);
        if (n == 0)
            break;
    }
    for (int i = 0; i < 4; i++) {
        before[i] = dump(s, dump_sql[i]);
        ASSERT_NOT_NULL(before[i]);
    }
    ASSERT_GT(q_int(s, "SELECT count(*) FROM rollups"), 100);
    store_close(s);

    o.batch_max = 0;
    ASSERT_EQ(store_rebuild(t.path, &o, diag, sizeof(diag)), 0);
    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 4; i++) {
        after[i] = dump(s, dump_sql[i]);
        ASSERT_NOT_NULL(after[i]);
        if (strcmp(before[i], after[i]) != 0)
            test_fail(__FILE__, __LINE__, "rebuild differs for %s", dump_sql[i]);
    }
    store_close(s);
    for (int i = 0; i < 4; i++) {
        free(before[i]);
        free(after[i]);
    }
    /* rebuild of a missing folder fails cleanly */
    ASSERT_EQ(store_rebuild("/nonexistent-dir/x.db", NULL, diag, sizeof(diag)), STORE_EIO);
    ASSERT_STR_CONTAINS(diag, "cannot open");
    tmpdb_release(&t);
}

/* Compares the projections of path with what store_rebuild makes of it. */
static void check_equals_rebuild(const char *path, const store_projector_options *o)
{
    char *before[4] = {0}, diag[256];
    store *s = store_open(path, NULL, NULL, NULL, 0);

    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 4; i++)
        before[i] = dump(s, dump_sql[i]);
    store_close(s);
    ASSERT_EQ(store_rebuild(path, o, diag, sizeof(diag)), 0);
    s = store_open(path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 4; i++) {
        char *after = dump(s, dump_sql[i]);

        if (!before[i] || !after || strcmp(before[i], after) != 0)
            test_fail(__FILE__, __LINE__, "rebuild differs for %s", dump_sql[i]);
        free(after);
        free(before[i]);
    }
    store_close(s);
}

TEST(project, fold_cache_loads_each_row_once)
{
    tmpdb t;
    store *s;
    store_projector_options o = {.batch_max = 1};
    size_t n = 0;
    int folds = 0;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 12; i++) {
        char p[32];
        snprintf(p, sizeof(p), "{\"v\":%d}", i);
        ASSERT_GT(put(s, "c", i % 3 ? "a" : "b", p, 1000 + i), 0);
    }
    do {
        ASSERT_EQ(store_project(s, &o, &n), 0);
        folds += n > 0;
    } while (n > 0);
    ASSERT_EQ(folds, 12);
    /* 12 one-event folds: each device row and each rollup row loaded once */
    ASSERT_EQ(stmt_runs(s, STORE__PJ_DEVICE_GET), 2);
    ASSERT_EQ(stmt_runs(s, STORE__PJ_ROLLUP_GET), 2);
    ASSERT_EQ(q_int(s, "SELECT events FROM devices WHERE device_id = 'a'"), 8);
    ASSERT_EQ(q_int(s, "SELECT sum FROM rollups WHERE device_id = 'a'"), 48);
    ASSERT_EQ(q_int(s, "SELECT count FROM rollups WHERE device_id = 'b'"), 4);
    store_close(s);
    check_equals_rebuild(t.path, &o);
    tmpdb_release(&t);
}

TEST(project, fold_cache_is_dropped_when_another_handle_folded)
{
    tmpdb t;
    store *p, *o2;
    store_projector_options o = {.batch_max = 3};
    size_t n = 0;

    ASSERT_EQ(tmpdb_init(&t), 0);
    p = store_open(t.path, NULL, NULL, NULL, 0);
    o2 = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(p);
    ASSERT_NOT_NULL(o2);
    ASSERT_EQ(put_values(p, 10), 0);
    ASSERT_EQ(store_project(p, &o, &n), 0);  /* 1..3, p caches the rows */
    ASSERT_EQ(store_project(o2, &o, &n), 0); /* 4..6 behind p's back */
    ASSERT_EQ(n, 3);
    do {
        ASSERT_EQ(store_project(p, &o, &n), 0); /* 7..10 from the stored rows */
    } while (n > 0);
    ASSERT_EQ(q_int(p, "SELECT events FROM devices"), 10);
    ASSERT_EQ(q_int(p, "SELECT count FROM rollups"), 10);
    ASSERT_EQ(q_int(p, "SELECT sum FROM rollups"), 45);
    ASSERT_EQ(stmt_runs(p, STORE__PJ_DEVICE_GET), 2); /* loaded again after o2 */
    store_close(p);
    store_close(o2);
    check_equals_rebuild(t.path, &o);
    tmpdb_release(&t);
}

static void lock_in_gap(void *arg)
{
    /* another handle holds the write lock: the write phase fails at once */
    (void)sqlite3_exec(((store *)arg)->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
}

TEST(project, fold_cache_is_dropped_when_a_write_fails)
{
    tmpdb t;
    store *p, *o2;
    store_projector_options o = {.batch_max = 3};
    size_t n = 0;

    ASSERT_EQ(tmpdb_init(&t), 0);
    p = store_open(t.path, &(store_options){.busy_timeout_ms = -1}, NULL, NULL, 0);
    o2 = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(p);
    ASSERT_NOT_NULL(o2);
    ASSERT_EQ(put_values(p, 6), 0);
    ASSERT_EQ(store_project(p, &o, &n), 0); /* 1..3, p caches the rows */
    p->fold_gap_hook = lock_in_gap;
    p->fold_gap_arg = o2;
    ASSERT_NE(store_project(p, &o, &n), 0); /* 4..6 folded in memory, not written */
    p->fold_gap_hook = NULL;
    ASSERT_EQ(sqlite3_exec(o2->db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(q_int(p, "SELECT seq FROM projection_checkpoints"), 3);
    do {
        ASSERT_EQ(store_project(p, &o, &n), 0);
    } while (n > 0);
    ASSERT_EQ(q_int(p, "SELECT events FROM devices"), 6);
    ASSERT_EQ(q_int(p, "SELECT count FROM rollups"), 6);
    ASSERT_EQ(q_int(p, "SELECT sum FROM rollups"), 15);
    store_close(p);
    store_close(o2);
    check_equals_rebuild(t.path, &o);
    tmpdb_release(&t);
}

TEST(project, fold_cache_keeps_its_bound)
{
    tmpdb t;
    store *s;
    store_projector_options o = {.batch_max = 1, .bucket_ms = 10000};
    size_t n = 0;
    unsigned seed = 777;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    s->fold_cache_max = 4;
    for (int i = 0; i < 300; i++) {
        char p[64], dev[8];
        seed = seed * 1103515245u + 12345u;
        snprintf(dev, sizeof(dev), "d%u", (seed >> 16) % 5);
        snprintf(p, sizeof(p), "{\"t\":%.3f,\"n\":%u}", ((seed >> 8) % 1000) / 7.0, seed % 13);
        ASSERT_GT(put(s, "telemetry", dev, p, 1000 + i * 997), 0);
    }
    /* one event per fold, a device and two rollups each: only the last
     * fold's 3 rows fit, so a row is loaded again unless the previous
     * event had the same device and bucket */
    do {
        ASSERT_EQ(store_project(s, &o, &n), 0);
    } while (n > 0);
    ASSERT_GT(stmt_runs(s, STORE__PJ_DEVICE_GET), 200);
    store_close(s);
    check_equals_rebuild(t.path, &o);
    tmpdb_release(&t);
}

TEST(project, projector_thread)
{
    tmpdb t;
    store *s;
    store_projector *p;
    int err = 0;
    int64_t last = 0;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    p = store_projector_start(t.path, &(store_projector_options){.batch_max = 50,
                                                                 .interval_ms = 50},
                              &err, NULL, 0);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(err, 0);
    for (int b = 0; b < 10; b++) {
        ASSERT_EQ(store_begin(s), 0);
        for (int i = 0; i < 30; i++) {
            char pl[32];
            snprintf(pl, sizeof(pl), "{\"v\":%d}", b * 30 + i);
            last = put(s, "c", "dev", pl, 1000 + b * 30 + i);
            ASSERT_GT(last, 0);
        }
        ASSERT_EQ(store_commit(s), 0);
        store_projector_notify(p);
    }
    ASSERT_EQ(store_projector_wait(p, last, 20000), 0);
    ASSERT_GE(store_projector_checkpoint(p), last);
    ASSERT_EQ(store_projector_errors(p), 0);
    store_projector_stop(p);
    ASSERT_EQ(q_int(s, "SELECT events FROM devices WHERE device_id = 'dev'"), 300);
    ASSERT_EQ(q_int(s, "SELECT count FROM rollups WHERE bucket_start = 0"), 300);
    store_close(s);

    /* bad options / path */
    ASSERT_NULL(store_projector_start(t.path, &(store_projector_options){.bucket_ms = -1},
                                      &err, NULL, 0));
    ASSERT_EQ(err, STORE_EINVAL);
    ASSERT_NULL(store_projector_start("/nonexistent-dir/x.db", NULL, &err, NULL, 0));
    ASSERT_EQ(err, STORE_EIO);
    store_projector_stop(NULL);
    store_projector_notify(NULL);
    tmpdb_release(&t);
}

static void settle_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Appends n events in one transaction and notifies p; returns the last seq. */
static int64_t put_batch(store *s, store_projector *p, int n, int64_t at)
{
    int64_t last = 0;

    if (store_begin(s) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char pl[32];

        snprintf(pl, sizeof(pl), "{\"v\":%d}", i);
        last = put(s, "c", "dev", pl, at + i);
        if (last <= 0) {
            (void)store_rollback(s);
            return -1;
        }
    }
    if (store_commit(s) != 0)
        return -1;
    store_projector_notify(p);
    return last;
}

/* store_projector_defer: no fold while deferred (however often notified), all of it after */
TEST(project, projector_defer_holds_folds_until_released)
{
    tmpdb t;
    store *s;
    store_projector *p;
    int64_t first, last;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    p = store_projector_start(t.path, &(store_projector_options){.batch_max = 50,
                                                                 .interval_ms = 60000,
                                                                 .defer_max_ms = 60000},
                              NULL, NULL, 0);
    ASSERT_NOT_NULL(p);
    first = put_batch(s, p, 1, 1000);
    ASSERT_GT(first, 0);
    ASSERT_EQ(store_projector_wait(p, first, 20000), 0);
    settle_ms(200); /* the thread is asleep again (interval 60 s) */
    store_projector_defer(p, 60000);
    last = put_batch(s, p, 120, 2000);
    ASSERT_GT(last, first);
    store_projector_notify(p);
    ASSERT_EQ(store_projector_wait(p, last, 300), STORE_EBUSY);
    ASSERT_EQ(store_projector_checkpoint(p), first);
    store_projector_defer(p, 0); /* released: all 120 in one round of 3 batches */
    ASSERT_EQ(store_projector_wait(p, last, 20000), 0);
    ASSERT_EQ(store_projector_errors(p), 0);
    store_projector_stop(p);
    ASSERT_EQ(q_int(s, "SELECT events FROM devices WHERE device_id = 'dev'"), 121);
    store_projector_defer(NULL, 10);
    store_close(s);
    tmpdb_release(&t);
}

/* A round under way (catching up batch after batch) pauses when a deferral
 * arrives, after the batch it is folding, and goes on when it ends */
TEST(project, projector_defer_pauses_a_round_under_way)
{
    tmpdb t;
    store *s;
    store_projector *p;
    int64_t last, c1, c2, c3;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    p = store_projector_start(t.path, &(store_projector_options){.batch_max = 10,
                                                                 .interval_ms = 60000,
                                                                 .defer_max_ms = 60000},
                              NULL, NULL, 0);
    ASSERT_NOT_NULL(p);
    last = put_batch(s, p, 5000, 1000); /* 500 batches in one round */
    ASSERT_GT(last, 0);
    for (int i = 0; i < 10000 && store_projector_checkpoint(p) == 0; i++)
        settle_ms(1);
    store_projector_defer(p, 60000);
    c1 = store_projector_checkpoint(p);
    ASSERT_GT(c1, 0);
    settle_ms(300);
    c2 = store_projector_checkpoint(p);
    settle_ms(100);
    c3 = store_projector_checkpoint(p);
    ASSERT_LE(c2 - c1, 10); /* at most the batch that was being folded */
    ASSERT_EQ(c3, c2);
    ASSERT_LT(c2, last);
    store_projector_defer(p, 0);
    ASSERT_EQ(store_projector_wait(p, last, 20000), 0);
    ASSERT_EQ(store_projector_errors(p), 0);
    store_projector_stop(p);
    ASSERT_EQ(q_int(s, "SELECT events FROM devices WHERE device_id = 'dev'"), 5000);
    store_close(s);
    tmpdb_release(&t);
}

/* A deferral renewed forever still lets a round through every defer_max_ms, and it catches up */
TEST(project, projector_defer_is_capped)
{
    tmpdb t;
    store *s;
    store_projector *p;
    int64_t last;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    p = store_projector_start(t.path, &(store_projector_options){.batch_max = 50,
                                                                 .interval_ms = 60000,
                                                                 .defer_max_ms = 1500},
                              NULL, NULL, 0);
    ASSERT_NOT_NULL(p);
    store_projector_defer(p, 600000);
    last = put_batch(s, p, 400, 1000); /* 8 batches: one round, not one batch per cap */
    ASSERT_GT(last, 0);
    ASSERT_EQ(store_projector_wait(p, last, 6000), 0);
    ASSERT_EQ(store_projector_errors(p), 0);
    store_projector_stop(p); /* stops although deferred */
    ASSERT_EQ(q_int(s, "SELECT events FROM devices WHERE device_id = 'dev'"), 400);
    store_close(s);
    tmpdb_release(&t);
}

/*
 * Reference fold: the per-event upserts of schema v1's projector, run in
 * SQL over the same events in seq order. The batch fold (one write per key
 * per batch, state kept in memory) must give bit-identical rows.
 */
static int reference_fold(store *s, int64_t bucket_ms)
{
    static const char *const sql =
        "INSERT INTO devices(device_id, first_seen, last_seen, events, last_seq, status)"
        " SELECT device_id, received_at, received_at, 1, seq, CASE WHEN channel = 'deviceStatus'"
        "  THEN (CASE WHEN payload = '\"offline\"' THEN 'offline' ELSE 'online' END)"
        "  ELSE 'online' END FROM events WHERE seq = ?1 AND device_id IS NOT NULL AND true"
        " ON CONFLICT(device_id) DO UPDATE SET"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen),"
        " events = events + 1, last_seq = excluded.last_seq, status = excluded.status;"
        "INSERT INTO device_state(device_id, channel, message, seq, received_at, payload)"
        " SELECT device_id, channel, message, seq, received_at, payload FROM events"
        " WHERE seq = ?1 AND device_id IS NOT NULL AND true"
        " ON CONFLICT(device_id, channel) DO UPDATE SET message = excluded.message,"
        " seq = excluded.seq, received_at = excluded.received_at, payload = excluded.payload;"
        "INSERT INTO rollups(device_id, channel, field, bucket_start, count, min, max, sum)"
        " SELECT coalesce(e.device_id, ''), e.channel, j.key,"
        "  (e.received_at / ?2) * ?2, 1, j.value, j.value, j.value"
        " FROM events e, json_each(e.payload) j WHERE e.seq = ?1"
        "  AND json_type(e.payload) = 'object' AND j.type IN ('integer', 'real') AND true"
        " ORDER BY j.id"
        " ON CONFLICT(device_id, channel, field, bucket_start) DO UPDATE SET"
        " count = count + 1, min = min(min, excluded.min), max = max(max, excluded.max),"
        " sum = sum + excluded.sum;";
    int64_t last = q_int(s, "SELECT max(seq) FROM events");

    for (int64_t seq = 1; seq <= last; seq++) {
        const char *tail = sql;
        while (*tail) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v2(s->db, tail, -1, &st, &tail) != SQLITE_OK)
                return -1;
            if (!st)
                break;
            sqlite3_bind_int64(st, 1, seq);
            if (sqlite3_bind_parameter_count(st) >= 2)
                sqlite3_bind_int64(st, 2, bucket_ms);
            if (sqlite3_step(st) != SQLITE_DONE) {
                sqlite3_finalize(st);
                return -1;
            }
            sqlite3_finalize(st);
        }
    }
    return 0;
}

TEST(project, batch_fold_equals_per_event_reference)
{
    tmpdb t;
    store *s;
    char *fast[3] = {0}, *ref[3] = {0};
    unsigned seed = 777;
    store_projector_options o = {.bucket_ms = 10000};

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_begin(s), 0);
    for (int i = 0; i < 1500; i++) {
        char p[160], dev[16];
        seed = seed * 1103515245u + 12345u;
        snprintf(dev, sizeof(dev), "d%u", (seed >> 16) % 5);
        /* sums of thirds and sevenths are order-sensitive in binary floating point */
        snprintf(p, sizeof(p), "{\"t\":%.17g,\"n\":%u,\"z\":-0.0,\"s\":\"x\",\"b\":true}",
                 ((seed >> 8) % 100000) / 3.0 - 5000.0 / 7.0, seed % 13);
        ASSERT_GT(put(s, (seed >> 20) % 4 ? "telemetry" : "deviceStatus",
                      (seed >> 12) % 9 ? dev : NULL,
                      (seed >> 24) % 5 ? p : ((seed >> 3) & 1 ? "\"offline\"" : "\"online\""),
                      1000000 + ((int64_t)i * 7919) % 50000), 0);
    }
    ASSERT_EQ(store_commit(s), 0);
    for (;;) {
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        o.batch_max = 1 + (seed >> 16) % 400;
        ASSERT_EQ(store_project(s, &o, &n), 0);
        if (n == 0)
            break;
    }
    for (int i = 0; i < 3; i++) {
        fast[i] = dump(s, dump_sql[i]);
        ASSERT_NOT_NULL(fast[i]);
    }
    ASSERT_EQ(sqlite3_exec(s->db, "DELETE FROM devices; DELETE FROM device_state;"
                                  " DELETE FROM rollups", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(reference_fold(s, o.bucket_ms), 0);
    for (int i = 0; i < 3; i++) {
        ref[i] = dump(s, dump_sql[i]);
        ASSERT_NOT_NULL(ref[i]);
        if (strcmp(fast[i], ref[i]) != 0)
            test_fail(__FILE__, __LINE__, "batch fold differs from reference for %s",
                      dump_sql[i]);
    }
    ASSERT_GT(q_int(s, "SELECT count(*) FROM rollups WHERE count > 1"), 50);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM devices WHERE status = 'offline'") +
                  q_int(s, "SELECT count(*) FROM devices WHERE status = 'online'"),
              q_int(s, "SELECT count(*) FROM devices"));
    store_close(s);
    for (int i = 0; i < 3; i++) {
        free(fast[i]);
        free(ref[i]);
    }
    tmpdb_release(&t);
}
