/* SPDX-License-Identifier: MIT */
/*
 * Store handle: open/close, pragmas, schema migrations, the statement
 * cache, error mapping, stats and the health check. Appends are in
 * store_append.c, projections in store_project.c. Notes: docs/store.md.
 */
#include "store_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Migrations: entry i brings user_version i to i + 1. Never edit a shipped one. */
static const char *const migrations[] = {
    /* 0 -> 1: the initial schema */
    "CREATE TABLE events("
    " seq INTEGER PRIMARY KEY,"
    " channel TEXT NOT NULL,"
    " message TEXT,"
    " device_id TEXT,"
    " topic TEXT NOT NULL,"
    " params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),"
    " payload TEXT NOT NULL CHECK (json_valid(payload)),"
    " correlation_id TEXT,"
    " received_at INTEGER NOT NULL);"
    "CREATE INDEX events_device_seq ON events(device_id, seq);"
    "CREATE INDEX events_channel_seq ON events(channel, seq);"
    "CREATE UNIQUE INDEX events_correlation ON events(channel, coalesce(device_id, ''),"
    " correlation_id) WHERE correlation_id IS NOT NULL;"
    "CREATE TABLE dead_letters("
    " id INTEGER PRIMARY KEY,"
    " topic TEXT NOT NULL,"
    " channel TEXT,"
    " kind TEXT NOT NULL,"
    " payload BLOB NOT NULL,"
    " reason TEXT NOT NULL CHECK (json_valid(reason)),"
    " received_at INTEGER NOT NULL);"
    "CREATE INDEX dead_letters_channel ON dead_letters(channel, id);"
    "CREATE INDEX dead_letters_kind ON dead_letters(kind, id);"
    "CREATE INDEX dead_letters_time ON dead_letters(received_at);"
    "CREATE TABLE dedupe("
    " ord INTEGER PRIMARY KEY,"
    " hash INTEGER NOT NULL,"
    " kind INTEGER NOT NULL,"
    " ref INTEGER NOT NULL);"
    "CREATE INDEX dedupe_hash ON dedupe(hash);"
    "CREATE TABLE devices("
    " device_id TEXT PRIMARY KEY,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " events INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'unknown') WITHOUT ROWID;"
    "CREATE INDEX devices_last_seen ON devices(last_seen);"
    "CREATE TABLE device_state("
    " device_id TEXT NOT NULL,"
    " channel TEXT NOT NULL,"
    " message TEXT,"
    " seq INTEGER NOT NULL,"
    " received_at INTEGER NOT NULL,"
    " payload TEXT NOT NULL,"
    " PRIMARY KEY (device_id, channel)) WITHOUT ROWID;"
    "CREATE TABLE rollups("
    " device_id TEXT NOT NULL,"
    " channel TEXT NOT NULL,"
    " field TEXT NOT NULL,"
    " bucket_start INTEGER NOT NULL,"
    " count INTEGER NOT NULL,"
    " min REAL NOT NULL,"
    " max REAL NOT NULL,"
    " sum REAL NOT NULL,"
    " PRIMARY KEY (device_id, channel, field, bucket_start)) WITHOUT ROWID;"
    "CREATE INDEX rollups_channel ON rollups(channel, field, bucket_start);"
    "CREATE TABLE projection_checkpoints("
    " name TEXT PRIMARY KEY,"
    " seq INTEGER NOT NULL) WITHOUT ROWID;",
    /*
     * 1 -> 2: the writer keeps the dedupe window in memory (loaded at open
     * by ord), so the hash index only cost a random b-tree insert and
     * delete per append ...
     */
    "DROP INDEX IF EXISTS dedupe_hash;"
    /*
     * ... and the append path checks JSON itself (store_json.c): rebuild
     * events without the CHECK (json_valid()) constraints, same columns
     * and indexes (SQLite's recipe for changing a table definition)
     */
    "CREATE TABLE events_v2("
    " seq INTEGER PRIMARY KEY,"
    " channel TEXT NOT NULL,"
    " message TEXT,"
    " device_id TEXT,"
    " topic TEXT NOT NULL,"
    " params TEXT NOT NULL DEFAULT '{}',"
    " payload TEXT NOT NULL,"
    " correlation_id TEXT,"
    " received_at INTEGER NOT NULL);"
    "INSERT INTO events_v2(seq, channel, message, device_id, topic, params, payload,"
    " correlation_id, received_at) SELECT seq, channel, message, device_id, topic, params,"
    " payload, correlation_id, received_at FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events_v2 RENAME TO events;"
    "CREATE INDEX events_device_seq ON events(device_id, seq);"
    "CREATE INDEX events_channel_seq ON events(channel, seq);"
    "CREATE UNIQUE INDEX events_correlation ON events(channel, coalesce(device_id, ''),"
    " correlation_id) WHERE correlation_id IS NOT NULL;",
    /*
     * 2 -> 3: correlation ids leave the events table's UNIQUE index for
     * event_corr, filled up to store_meta 'corr_indexed'; the writer keeps
     * the correlated events after it in memory (store_corr.c). The CASE is
     * STORE__CORR_AS_STORED as of version 3.
     */
    "CREATE TABLE event_corr("
    " channel TEXT NOT NULL,"
    " device TEXT NOT NULL,"
    " corr NOT NULL," /* no affinity: numbers as INTEGER, the rest as TEXT */
    " seq INTEGER NOT NULL,"
    " PRIMARY KEY (channel, device, corr)) WITHOUT ROWID;"
    "CREATE TABLE store_meta("
    " name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO event_corr(channel, device, corr, seq) SELECT channel,"
    " coalesce(device_id, ''), CASE WHEN correlation_id = '0' OR (correlation_id GLOB"
    " '[1-9]*' AND correlation_id NOT GLOB '*[^0-9]*' AND length(correlation_id) <= 18)"
    " THEN CAST(correlation_id AS INTEGER) ELSE correlation_id END, seq FROM events"
    " WHERE correlation_id IS NOT NULL ORDER BY 1, 2, 3;"
    "INSERT INTO store_meta(name, value) VALUES ('corr_indexed',"
    " (SELECT coalesce(max(seq), 0) FROM events));"
    "DROP INDEX events_correlation;",
    /*
     * 3 -> 4: a device's events are found in device_events up to store_meta
     * 'device_indexed' (written in sorted bulk, store_device_flush) and by
     * scanning the events after it; appends no longer write a page of
     * events(device_id, seq) per device per commit.
     */
    "CREATE TABLE device_events("
    " device_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " PRIMARY KEY (device_id, seq)) WITHOUT ROWID;"
    "INSERT INTO device_events(device_id, seq) SELECT device_id, seq FROM events"
    " WHERE device_id IS NOT NULL ORDER BY 1, 2;"
    "INSERT INTO store_meta(name, value) VALUES ('device_indexed',"
    " (SELECT coalesce(max(seq), 0) FROM events));"
    "DROP INDEX events_device_seq;",
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(*migrations))

static const char *const stmt_sql[STORE__STMT_COUNT] = {
    [STORE__BEGIN] = "BEGIN IMMEDIATE",
    [STORE__BEGIN_READ] = "BEGIN", /* deferred: a read snapshot, no write lock */
    [STORE__COMMIT] = "COMMIT",
    [STORE__ROLLBACK] = "ROLLBACK",
    [STORE__EV_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
    [STORE__CORR_INDEXED] =
        "SELECT coalesce((SELECT value FROM store_meta WHERE name = 'corr_indexed'), 0)",
    [STORE__CORR_TAIL] = "SELECT seq, channel, coalesce(device_id, ''), correlation_id"
                         " FROM events WHERE seq > ?1 AND correlation_id IS NOT NULL ORDER BY seq",
    [STORE__CORR_ROW] =
        "SELECT channel, coalesce(device_id, ''), correlation_id FROM events WHERE seq = ?1",
    [STORE__CORR_FIND] =
        "SELECT seq FROM event_corr WHERE channel = ?1 AND device = ?2 AND corr = ?3",
    /* the largest number (INTEGER sorts before TEXT) */
    [STORE__CORR_KEY_MAX] = "SELECT corr FROM event_corr WHERE channel = ?1 AND device = ?2"
                            " AND corr < '' ORDER BY corr DESC LIMIT 1",
    /* sorted: one pass over the leaves of each (channel, device) range */
    [STORE__CORR_MOVE] =
        "INSERT INTO event_corr(channel, device, corr, seq) SELECT channel,"
        " coalesce(device_id, ''), " STORE__CORR_AS_STORED ", seq FROM events WHERE seq >"
        " (SELECT coalesce((SELECT value FROM store_meta WHERE name = 'corr_indexed'), 0))"
        " AND seq <= ?1 AND correlation_id IS NOT NULL ORDER BY 1, 2, 3",
    /* never backwards: another handle may have moved further */
    [STORE__CORR_MARK] = "INSERT INTO store_meta(name, value) VALUES ('corr_indexed', ?1)"
                         " ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
    [STORE__DEV_INDEXED] =
        "SELECT coalesce((SELECT value FROM store_meta WHERE name = 'device_indexed'), 0)",
    /* sorted: one pass over each device's leaves */
    [STORE__DEV_MOVE] =
        "INSERT INTO device_events(device_id, seq) SELECT device_id, seq FROM events WHERE seq >"
        " (SELECT coalesce((SELECT value FROM store_meta WHERE name = 'device_indexed'), 0))"
        " AND seq <= ?1 AND device_id IS NOT NULL ORDER BY 1, 2",
    [STORE__DEV_MARK] = "INSERT INTO store_meta(name, value) VALUES ('device_indexed', ?1)"
                        " ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
    /*
     * A correlated event is not inserted when event_corr has its triple
     * (?9: the id as event_corr stores it): the lookup costs no statement
     * of its own. EV_INSERT_NEW when no lookup is needed (store_corr.c).
     */
    [STORE__EV_INSERT] =
        "INSERT INTO events(channel, message, device_id, topic, params, payload,"
        " correlation_id, received_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"
        " WHERE NOT EXISTS (SELECT 1 FROM event_corr WHERE channel = ?1"
        " AND device = coalesce(?3, '') AND corr = ?9)",
    [STORE__EV_INSERT_NEW] =
        "INSERT INTO events(channel, message, device_id, topic, params, payload,"
        " correlation_id, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [STORE__EV_DELETE] = "DELETE FROM events WHERE seq = ?1",
    [STORE__DL_INSERT] =
        "INSERT INTO dead_letters(topic, channel, kind, payload, reason, received_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STORE__DL_DELETE] = "DELETE FROM dead_letters WHERE id = ?1",
    [STORE__DEDUPE_INSERT] = "INSERT INTO dedupe(ord, hash, kind, ref) VALUES (?1, ?2, ?3, ?4)",
    [STORE__DEDUPE_PRUNE] = "DELETE FROM dedupe WHERE ord <= ?1",
    [STORE__DEDUPE_MAX] = "SELECT coalesce(max(ord), 0) FROM dedupe",
    [STORE__DEDUPE_LOAD] = "SELECT ord, hash, kind, ref FROM dedupe ORDER BY ord DESC LIMIT ?1",
    [STORE__CP_GET] = "SELECT seq FROM projection_checkpoints WHERE name = '" STORE__CHECKPOINT "'",
    [STORE__CP_SET] = "INSERT INTO projection_checkpoints(name, seq) VALUES ('" STORE__CHECKPOINT
                      "', ?1) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
    [STORE__PJ_SCAN] = "SELECT seq, channel, message, device_id, payload, received_at"
                       " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    /* the fold keeps a batch's per-key state in memory and writes absolute values */
    [STORE__PJ_DEVICE] =
        "INSERT INTO devices(device_id, first_seen, last_seen, events, last_seq, status)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(device_id) DO UPDATE SET first_seen = excluded.first_seen,"
        " last_seen = excluded.last_seen, events = excluded.events,"
        " last_seq = excluded.last_seq, status = excluded.status",
    [STORE__PJ_DEVICE_GET] = "SELECT first_seen, last_seen, events, last_seq, status"
                             " FROM devices WHERE device_id = ?1",
    [STORE__PJ_STATE] =
        "INSERT INTO device_state(device_id, channel, message, seq, received_at, payload)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(device_id, channel) DO UPDATE SET message = excluded.message,"
        " seq = excluded.seq, received_at = excluded.received_at, payload = excluded.payload",
    [STORE__PJ_ROLLUP] =
        "INSERT INTO rollups(device_id, channel, field, bucket_start, count, min, max, sum)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(device_id, channel, field, bucket_start) DO UPDATE SET"
        " count = excluded.count, min = excluded.min, max = excluded.max, sum = excluded.sum",
    [STORE__PJ_ROLLUP_GET] = "SELECT count, min, max, sum FROM rollups WHERE device_id = ?1"
                             " AND channel = ?2 AND field = ?3 AND bucket_start = ?4",
};

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_OK: return "success";
    case STORE_DUP: return "duplicate message, nothing stored";
    case STORE_ENOMEM: return "out of memory";
    case STORE_EINVAL: return "invalid argument";
    case STORE_EIO: return "database error";
    case STORE_EBUSY: return "database is locked";
    case STORE_EFULL: return "disk or database full";
    case STORE_ECORRUPT: return "database file is corrupt or not a database";
    case STORE_ESCHEMA: return "database schema is newer than this program";
    case STORE_ESTATE: return "call out of order";
    case STORE_ENOTFOUND: return "not found";
    case STORE_EREADONLY: return "database is read-only";
    default: return "unknown error";
    }
}

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW: return STORE_OK;
    case SQLITE_NOMEM: return STORE_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return STORE_EBUSY;
    case SQLITE_FULL: return STORE_EFULL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return STORE_ECORRUPT;
    case SQLITE_READONLY: return STORE_EREADONLY;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE: return STORE_EINVAL;
    default: return STORE_EIO;
    }
}

int store__error(store *s, int err, const char *fmt, ...)
{
    va_list ap;

    if (s) {
        va_start(ap, fmt);
        /* a truncated diagnostic is still useful; terminate explicitly */
        if (vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap) < 0)
            s->errmsg[0] = '\0';
        va_end(ap);
    }
    return err;
}

int store__fail(store *s, int sqlite_rc, const char *what)
{
    const char *msg = (s && s->db) ? sqlite3_errmsg(s->db) : sqlite3_errstr(sqlite_rc);
    return store__error(s, map_rc(sqlite_rc), "%s: %s", what, msg);
}

sqlite3_stmt *store__stmt(store *s, enum store__stmt_id id)
{
    sqlite3_stmt *st = s->stmt[id];
    int rc;

    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        store__fail(s, rc, "cannot prepare statement");
        return NULL;
    }
    s->stmt[id] = st;
    return st;
}

int store__index_upto(store *s, enum store__stmt_id move, enum store__stmt_id mark, int64_t upto,
                      const char *what)
{
    sqlite3_stmt *st = store__stmt(s, move);
    int rc;

    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, upto);
    rc = store__step_done(s, st, what);
    if (rc == 0 && (st = store__stmt(s, mark)) == NULL)
        rc = STORE_EIO;
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, upto);
        rc = store__step_done(s, st, what);
    }
    return rc;
}

int store__stmt_int(store *s, enum store__stmt_id id, const char *what, int64_t *out)
{
    sqlite3_stmt *st = store__stmt(s, id);
    int rc;

    if (!st)
        return STORE_EIO;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = store__fail(s, sqlite3_extended_errcode(s->db), what);
    }
    sqlite3_reset(st);
    return rc;
}

int store__step_done(store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;
    }
    rc = store__fail(s, sqlite3_extended_errcode(s->db), what);
    sqlite3_reset(st);
    return rc;
}

int64_t store__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Busy handler: like sqlite3_busy_timeout, but polls every 50 us at first
 * (then 200 us, then 1 ms) instead of sleeping 1, 2, 5, 10 ... ms: the
 * writer and the projector hand the write lock back and forth every batch,
 * and SQLite's back-off made the ingest sleep several ms for a lock held
 * a few hundred us. Runs on the thread that uses the handle.
 */
static int busy_wait(void *arg, int count)
{
    store *s = arg;
    int64_t now = mono_us();
    struct timespec ts = {0};

    if (count == 0)
        s->busy_since_us = now;
    if (now - s->busy_since_us >= (int64_t)s->busy_timeout_ms * 1000)
        return 0;
    ts.tv_nsec = count < 20 ? 50000L : count < 200 ? 200000L : 1000000L;
    nanosleep(&ts, NULL);
    return 1;
}

static int exec(store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store__fail(s, rc, what);
}

static int user_version(store *s, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = store__fail(s, rc, "cannot read schema version");
        sqlite3_finalize(st);
        return rc;
    }
    *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int migrate(store *s)
{
    char sql[64];
    int v = 0, rc;

    rc = user_version(s, &v);
    if (rc != 0)
        return rc;
    if (v == (int)N_MIGRATIONS)
        return 0;
    if (v > (int)N_MIGRATIONS || v < 0)
        return store__error(s, STORE_ESCHEMA, "schema version %d is newer than %d", v,
                            (int)N_MIGRATIONS);
    if (s->flags & STORE_OPEN_READONLY)
        return store__error(s, STORE_ESCHEMA, "schema version %d, expected %d (open the "
                            "writer first)", v, (int)N_MIGRATIONS);
    rc = exec(s, "BEGIN IMMEDIATE", "cannot start migration");
    if (rc != 0)
        return rc;
    /* another connection may have migrated while we waited for the lock */
    rc = user_version(s, &v);
    if (rc != 0)
        goto fail_rollback;
    for (; v < (int)N_MIGRATIONS; v++) {
        rc = exec(s, migrations[v], "migration failed");
        if (rc != 0)
            goto fail_rollback;
    }
    if (snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v) >= (int)sizeof(sql)) {
        rc = store__error(s, STORE_EIO, "pragma text too long");
        goto fail_rollback;
    }
    rc = exec(s, sql, "cannot set schema version");
    if (rc != 0)
        goto fail_rollback;
    return exec(s, "COMMIT", "cannot commit migration");

fail_rollback:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void copy_diag(char *diag, size_t diag_size, const char *msg)
{
    if (!diag || diag_size == 0)
        return;
    if (snprintf(diag, diag_size, "%s", msg) >= (int)diag_size)
        diag[diag_size - 1] = '\0';
}

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

/*
 * No memory statistics: with them on, every sqlite3_malloc and
 * sqlite3_free takes a global mutex (a lock and an unlock per allocation,
 * ~8 % of the writer's CPU samples in a backlog drain). Nothing here reads
 * sqlite3_memory_used. sqlite3_config must run before SQLite initialises;
 * if another part of the process initialised it first, the call fails and
 * the default stays, which is only slower.
 */
static void sqlite_setup(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

void store__sqlite_setup(void)
{
    pthread_once(&sqlite_once, sqlite_setup);
}

store *store_open(const char *path, const store_options *opt, int *err, char *diag,
                  size_t diag_size)
{
    store_options o = {0};
    store *s;
    int rc, oflags;

    if (opt)
        o = *opt;
    copy_diag(diag, diag_size, "");
    if (!path || !*path) {
        copy_diag(diag, diag_size, "store path is empty");
        if (err)
            *err = STORE_EINVAL;
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        copy_diag(diag, diag_size, "out of memory");
        if (err)
            *err = STORE_ENOMEM;
        return NULL;
    }
    s->flags = o.flags;
    s->window = o.dedupe_window ? (int64_t)o.dedupe_window : STORE_DEDUPE_WINDOW_DEFAULT;
    /* loaded lazily by the first append: projector and rebuild handles never need it */
    s->window_stale = 1;
    s->corr_stale = 1;
    s->corr_tail_max = STORE__CORR_TAIL_MAX;
    s->dev_tail_max = STORE__DEV_TAIL_MAX;
    s->dev_indexed = -1;
    s->fold_cache_max = STORE__FOLD_CACHE_MAX;
    s->corr_keys_max = STORE__CORR_KEYS_MAX;
    if (o.dedupe_window > (size_t)STORE__WINDOW_MAX) {
        copy_diag(diag, diag_size, "dedupe window too large");
        if (err)
            *err = STORE_EINVAL;
        free(s);
        return NULL;
    }

    oflags = SQLITE_OPEN_NOMUTEX;
    if (o.flags & STORE_OPEN_READONLY)
        oflags |= SQLITE_OPEN_READONLY;
    else if (o.flags & STORE_OPEN_NO_CREATE)
        oflags |= SQLITE_OPEN_READWRITE;
    else
        oflags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    store__sqlite_setup();
    rc = sqlite3_open_v2(path, &s->db, oflags, store__vfs());
    if (rc != SQLITE_OK) {
        rc = store__error(s, rc == SQLITE_NOMEM ? STORE_ENOMEM : map_rc(rc) == STORE_ECORRUPT
                                                                   ? STORE_ECORRUPT : STORE_EIO,
                          "cannot open '%s': %s", path,
                          s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    s->busy_timeout_ms = o.busy_timeout_ms == 0 ? STORE_BUSY_TIMEOUT_DEFAULT
                         : o.busy_timeout_ms < 0 ? 0 : o.busy_timeout_ms;
    rc = sqlite3_busy_handler(s->db, s->busy_timeout_ms > 0 ? busy_wait : NULL, s);
    if (rc != SQLITE_OK) {
        rc = store__fail(s, rc, "cannot set busy timeout");
        goto fail;
    }
    /* also detects "file is not a database" early */
    if (!(o.flags & STORE_OPEN_READONLY)) {
        rc = exec(s, "PRAGMA journal_mode=WAL", "cannot enable WAL");
        if (rc != 0)
            goto fail;
    }
    rc = exec(s, (o.flags & STORE_OPEN_SYNC_FULL) ? "PRAGMA synchronous=FULL"
                                                  : "PRAGMA synchronous=NORMAL",
              "cannot set synchronous");
    if (rc != 0)
        goto fail;
    /*
     * A larger page cache keeps the leaves the appends touch (the events
     * and events_channel_seq tails; the bulk index writes of
     * store_corr_flush and store_device_flush) in memory instead
     * of re-reading them from the WAL; the WAL checkpoints less often, so
     * hot pages are copied to the database file once per checkpoint
     * instead of once per commit group and the fsyncs of a checkpoint
     * (the only ones with synchronous=NORMAL) are amortized over more
     * commits. Statement journals and sorts stay in memory (temp_store):
     * the bulk index writes spilled them to a new file in /var/tmp (open,
     * unlink, write, close) about every 500 messages of a live stream.
     * See docs/store.md "Write path".
     */
    if (!(o.flags & STORE_OPEN_READONLY)) {
        rc = exec(s, "PRAGMA cache_size=-" STORE__WRITE_CACHE_KIB, "cannot set cache size");
        if (rc == 0)
            rc = exec(s, "PRAGMA temp_store=MEMORY", "cannot set temp_store");
        if (rc == 0)
            rc = exec(s, "PRAGMA wal_autocheckpoint=" STORE__AUTOCHECKPOINT_PAGES,
                      "cannot set wal_autocheckpoint");
        if (rc != 0)
            goto fail;
    }
    rc = migrate(s);
    if (rc != 0)
        goto fail;
    s->errmsg[0] = '\0';
    if (err)
        *err = 0;
    return s;

fail:
    copy_diag(diag, diag_size, s->errmsg);
    if (err)
        *err = rc;
    store_close(s);
    return NULL;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->in_batch && s->db)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    store__ckpt_stop(s);
    for (int i = 0; i < STORE__STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    store__window_free(s);
    store__corr_free(s);
    asyncapi_json_buf_free(s->fold_buf);
    store__fold_cache_free(s);
    free(s);
}

const char *store_errmsg(const store *s)
{
    return s ? s->errmsg : "no store";
}

/* One int64 from a single-row query; 0 when the result is NULL. */
static int query_int(store *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = store__fail(s, rc, "cannot read stats");
        sqlite3_finalize(st);
        return rc;
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/*
 * Hashes in the window: the dedupe table keeps up to window + window / 16
 * rows between bulk prunes; only the newest `window` are in the window.
 */
static int dedupe_count(store *s, int64_t *out)
{
    char sql[128];

    if (snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT 1 FROM dedupe ORDER BY ord"
                 " DESC LIMIT %lld)", (long long)s->window) >= (int)sizeof(sql))
        return store__error(s, STORE_EIO, "stats query too long");
    return query_int(s, sql, out);
}

int store_stats_get(store *s, store_stats *out)
{
    store_stats st = {0};
    int rc;

    if (!s || !out)
        return STORE_EINVAL;
    /* seq/id are rowids never deleted: max == count, O(log n) */
    rc = query_int(s, "SELECT coalesce(max(seq), 0) FROM events", &st.last_seq);
    if (rc == 0)
        rc = query_int(s, "SELECT coalesce(max(id), 0) FROM dead_letters", &st.dead_letters);
    if (rc == 0)
        rc = query_int(s, "SELECT coalesce((SELECT seq FROM projection_checkpoints WHERE name"
                          " = '" STORE__CHECKPOINT "'), 0)", &st.projected_seq);
    if (rc == 0)
        rc = query_int(s, "SELECT count(*) FROM devices", &st.devices);
    if (rc == 0)
        rc = dedupe_count(s, &st.dedupe_entries);
    if (rc != 0)
        return rc;
    st.events = st.last_seq;
    st.lag = st.last_seq > st.projected_seq ? st.last_seq - st.projected_seq : 0;
    *out = st;
    return 0;
}

int store_ping(store *s)
{
    int64_t one = 0;
    int rc;

    if (!s)
        return STORE_EINVAL;
    rc = query_int(s, "SELECT 1", &one);
    if (rc != 0 || (s->flags & STORE_OPEN_READONLY) || s->in_batch)
        return rc;
    if (sqlite3_db_readonly(s->db, "main") == 1)
        return store__error(s, STORE_EREADONLY, "database is read-only");
    rc = exec(s, "BEGIN IMMEDIATE", "store not writable");
    if (rc != 0)
        return rc;
    return exec(s, "ROLLBACK", "store not writable");
}
