/* SPDX-License-Identifier: MIT */
/*
 * Read queries for the HTTP side (store/query.h): a read-only connection,
 * lazily prepared and cached statements, keyset pagination, bound values
 * only. The schema is the store's (store_int.h); this file never writes.
 */
#include "store/query.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define EV_DEVICE 1
#define EV_CHANNEL 2
#define EV_FROM 4
#define EV_TO 8
#define EV_DESC 16
/* the seq up to which device_events holds every event with a device (schema v4) */
#define DEV_INDEXED "(SELECT coalesce((SELECT value FROM store_meta WHERE name = 'device_indexed'), 0))"
#define EV_COLS "seq, channel, message, device_id, topic, params, payload, correlation_id, received_at"
#define EV_TAIL 32 /* with EV_DEVICE: the part after device_events' checkpoint */
#define EV_VARIANTS 64

enum q_stmt {
    Q_BEGIN,
    Q_COMMIT,
    Q_HEAD,
    Q_CHECKPOINT,
    Q_TOTALS,
    Q_DEVICES_ID,
    Q_DEVICES_SEEN,
    Q_DEVICE,
    Q_STATE,
    Q_CH_COUNT,
    Q_CH_DL,
    Q_CH_LAST,
    Q_RECENT,
    Q_DL_LIST,
    Q_DL_ONE,
    Q_SERIES,
    Q_FIELD,
    Q_MAX_DEV,
    Q_MAX_CH,
    Q_COUNT
};

static const char *const q_sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_HEAD] = "SELECT coalesce(max(seq), 0) FROM events",
    [Q_CHECKPOINT] = "SELECT seq FROM projection_checkpoints WHERE name = '" STORE__CHECKPOINT "'",
    [Q_TOTALS] = "SELECT (SELECT coalesce(max(seq), 0) FROM events),"
                 " (SELECT count(*) FROM dead_letters), (SELECT count(*) FROM devices)",
    [Q_DEVICES_ID] =
        "SELECT device_id, first_seen, last_seen, events, last_seq, status FROM devices"
        " WHERE (:st IS NULL OR status = :st)"
        " AND (:ch IS NULL OR EXISTS (SELECT 1 FROM device_state s"
        "      WHERE s.device_id = devices.device_id AND s.channel = :ch))"
        " AND (:after IS NULL OR device_id > :after)"
        " ORDER BY device_id LIMIT :lim",
    [Q_DEVICES_SEEN] =
        "SELECT device_id, first_seen, last_seen, events, last_seq, status FROM devices"
        " WHERE (:st IS NULL OR status = :st)"
        " AND (:ch IS NULL OR EXISTS (SELECT 1 FROM device_state s"
        "      WHERE s.device_id = devices.device_id AND s.channel = :ch))"
        " AND (:after IS NULL OR last_seen < :ls OR (last_seen = :ls AND device_id > :after))"
        " ORDER BY last_seen DESC, device_id LIMIT :lim",
    [Q_DEVICE] = "SELECT device_id, first_seen, last_seen, events, last_seq, status FROM devices"
                 " WHERE device_id = :id",
    [Q_STATE] = "SELECT channel, message, seq, received_at, payload FROM device_state"
                " WHERE device_id = :id ORDER BY channel",
    [Q_CH_COUNT] = "SELECT count(*) FROM events WHERE channel = :ch",
    [Q_CH_DL] = "SELECT count(*) FROM dead_letters WHERE channel = :ch",
    [Q_CH_LAST] = "SELECT seq, received_at FROM events WHERE channel = :ch"
                  " ORDER BY seq DESC LIMIT 1",
    [Q_RECENT] = "SELECT channel, count(*) FROM events WHERE seq > :minseq"
                 " AND received_at >= :since GROUP BY channel ORDER BY channel",
    [Q_DL_LIST] = "SELECT id, topic, channel, kind, length(payload), reason, received_at"
                  " FROM dead_letters WHERE id < :before"
                  " AND (:ch IS NULL OR channel = :ch) AND (:kind IS NULL OR kind = :kind)"
                  " AND (:from IS NULL OR received_at >= :from)"
                  " AND (:to IS NULL OR received_at < :to)"
                  " ORDER BY id DESC LIMIT :lim",
    [Q_DL_ONE] = "SELECT id, topic, channel, kind, payload, reason, received_at"
                 " FROM dead_letters WHERE id = :id",
    [Q_SERIES] = "SELECT (bucket_start / :w) * :w AS b, sum(count), min(min), max(max), sum(sum)"
                 " FROM rollups WHERE device_id = :dev AND channel = :ch AND field = :f"
                 " AND bucket_start >= :from AND bucket_start < :to"
                 " GROUP BY b ORDER BY b LIMIT :lim",
    [Q_FIELD] = "SELECT 1 FROM rollups WHERE channel = :ch AND field = :f LIMIT 1",
    /* device_events up to its checkpoint, the log after it (newest first: stops early) */
    [Q_MAX_DEV] = "SELECT max(coalesce((SELECT max(seq) FROM device_events WHERE device_id = :k), 0),"
                  " coalesce((SELECT seq FROM events WHERE seq > " DEV_INDEXED
                  " AND device_id = :k ORDER BY seq DESC LIMIT 1), 0))",
    [Q_MAX_CH] = "SELECT coalesce(max(seq), 0) FROM events WHERE channel = :k",
};

struct store_reader {
    sqlite3 *db;                          /* read-only connection, owned */
    sqlite3_stmt *stmt[Q_COUNT];          /* cached statements, NULL until used */
    sqlite3_stmt *ev[EV_VARIANTS];        /* event list variants by EV_* mask */
    int in_txn;                           /* begin called, end not yet */
    char errmsg[256];                     /* last failure */
};

static int fail(store_reader *r, int rc, const char *what)
{
    snprintf(r->errmsg, sizeof(r->errmsg), "%s: %s", what,
             r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
    switch (rc & 0xff) {
    case SQLITE_NOMEM: return STORE_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return STORE_EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return STORE_ECORRUPT;
    default: return STORE_EIO;
    }
}

store_reader *store_reader_open(const char *path, int *err, char *diag, size_t diag_size)
{
    store_reader *r;
    sqlite3_stmt *st = NULL;
    int rc, e = STORE_EIO, version = -1;

    if (!path || !*path) {
        e = STORE_EINVAL;
        goto fail_args;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        e = STORE_ENOMEM;
        goto fail_args;
    }
    store__sqlite_setup();
    rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        e = fail(r, rc, "open");
        goto fail_open;
    }
    sqlite3_busy_timeout(r->db, STORE_BUSY_TIMEOUT_DEFAULT);
    /*
     * A device's events are scattered over the table (devices interleave in
     * the log), so a page of 100 touches ~100 table pages: read them through
     * a memory map instead of one pread each, and keep more of them cached.
     */
    sqlite3_exec(r->db, "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;", NULL,
                 NULL, NULL);
    rc = sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    else
        e = fail(r, rc == SQLITE_OK ? sqlite3_errcode(r->db) : rc, "read schema version");
    sqlite3_finalize(st);
    if (version < 0)
        goto fail_open;
    if (version != STORE__SCHEMA_VERSION) {
        snprintf(r->errmsg, sizeof(r->errmsg),
                 "schema version %d, expected %d (not an asyncbridge store of this version)",
                 version, STORE__SCHEMA_VERSION);
        e = STORE_ESCHEMA;
        goto fail_open;
    }
    return r;

fail_open:
    if (diag && diag_size)
        snprintf(diag, diag_size, "%s", r->errmsg);
    sqlite3_close(r->db);
    free(r);
    if (err)
        *err = e;
    return NULL;
fail_args:
    if (diag && diag_size)
        snprintf(diag, diag_size, "%s", e == STORE_EINVAL ? "no path" : "out of memory");
    if (err)
        *err = e;
    return NULL;
}

void store_reader_close(store_reader *r)
{
    if (!r)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(r->stmt[i]);
    for (int i = 0; i < EV_VARIANTS; i++)
        sqlite3_finalize(r->ev[i]);
    sqlite3_close(r->db);
    free(r);
}

const char *store_reader_errmsg(const store_reader *r)
{
    return r ? r->errmsg : "";
}

static sqlite3_stmt *prep(store_reader *r, sqlite3_stmt **slot, const char *sql, int *e)
{
    int rc;

    if (*slot) {
        sqlite3_reset(*slot);
        sqlite3_clear_bindings(*slot);
        return *slot;
    }
    rc = sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (rc != SQLITE_OK) {
        *e = fail(r, rc, "prepare");
        *slot = NULL;
        return NULL;
    }
    return *slot;
}

static sqlite3_stmt *stmt(store_reader *r, enum q_stmt id, int *e)
{
    return prep(r, &r->stmt[id], q_sql[id], e);
}

/* Binding by name; a name the statement does not use is skipped. */
static void bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);

    if (i > 0) {
        if (v)
            sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, i);
    }
}

static void bind_i64(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);

    if (i > 0)
        sqlite3_bind_int64(st, i, v);
}

/* :lim, clamped to what SQLite's LIMIT takes from us. */
static void bind_limit(sqlite3_stmt *st, size_t limit)
{
    bind_i64(st, ":lim", (int64_t)(limit > INT_MAX ? INT_MAX : limit));
}

/*
 * The filters list queries share: :ch (NULL = any channel), the received_at
 * window :from/:to (NULL when unset) and :lim. Names the statement lacks are
 * skipped, so a statement variant without a filter just ignores it.
 */
static void bind_window(sqlite3_stmt *st, const char *channel, int has_from, int64_t from_ms,
                        int has_to, int64_t to_ms, size_t limit)
{
    bind_text(st, ":ch", channel);
    if (has_from)
        bind_i64(st, ":from", from_ms);
    else
        bind_text(st, ":from", NULL);
    if (has_to)
        bind_i64(st, ":to", to_ms);
    else
        bind_text(st, ":to", NULL);
    bind_limit(st, limit);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Steps a statement that must finish without rows. */
static int run(store_reader *r, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(r, rc, what);
}

int store_reader_begin(store_reader *r)
{
    int e = 0, rc;
    sqlite3_stmt *st;

    if (r->in_txn)
        return 0;
    st = stmt(r, Q_BEGIN, &e);
    if (!st)
        return e;
    rc = run(r, st, "begin");
    if (rc == 0)
        r->in_txn = 1;
    return rc;
}

int store_reader_end(store_reader *r)
{
    int e = 0;
    sqlite3_stmt *st;

    if (!r->in_txn)
        return 0;
    r->in_txn = 0;
    st = stmt(r, Q_COMMIT, &e);
    if (!st)
        return e;
    return run(r, st, "commit");
}

/*
 * Row iteration. Every list query steps its statement the same way: decode
 * the row, hand it to the caller's callback, stop when the callback asks,
 * reset, map the SQLite code. step_rows() is that loop; a row_fn decodes one
 * row of one statement shape and calls the callback kept in a struct visit.
 */
enum row_verdict {
    ROW_NEXT,   /* row handed over, go on */
    ROW_STOP,   /* row handed over, the callback asked to stop */
    ROW_SKIP,   /* row not handed over (not counted), go on */
    ROW_NOMEM   /* a NOT NULL column came back NULL: SQLite ran out of memory */
};

struct visit {
    union {
        store_event_cb event;
        store_device_cb device;
        store_state_cb state;
        store_dead_letter_cb dead_letter;
        store_series_cb series;
        int (*recent)(void *ctx, const char *channel, int64_t n);
    } cb;
    void *ctx;
    int with_payload;   /* dead letters: column 4 is the payload, not its length */
};

typedef enum row_verdict (*row_fn)(sqlite3_stmt *st, const struct visit *v);

/*
 * Steps st to the end or until the callback stops; resets st either way.
 * Returns the rows handed to the callback, or a STORE_E* code for `what`.
 */
static int step_rows(store_reader *r, sqlite3_stmt *st, row_fn each, const struct visit *v,
                     const char *what)
{
    int rc, rows = 0;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        enum row_verdict verdict = each(st, v);

        if (verdict == ROW_SKIP)
            continue;
        if (verdict == ROW_NOMEM) {
            rc = SQLITE_NOMEM;
            break;
        }
        rows++;
        if (verdict == ROW_STOP) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return fail(r, rc, what);
    return rows;
}

/* For lookups by key: n rows (or an error) -> 0, STORE_ENOTFOUND or the error. */
static int found(int n)
{
    if (n < 0)
        return n;
    return n == 0 ? STORE_ENOTFOUND : 0;
}

static enum row_verdict next_or_stop(int cb_result)
{
    return cb_result ? ROW_STOP : ROW_NEXT;
}

/* Runs a one-row integer query; *out = column i (0 when no row). */
static int one_row(store_reader *r, sqlite3_stmt *st, int64_t *out, int ncols,
                   const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++)
            out[i] = sqlite3_column_int64(st, i);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        for (int i = 0; i < ncols; i++)
            out[i] = 0;
        return 0;
    }
    return fail(r, rc, what);
}

/* one_row() of statement id, with `name` bound to key first when name is set. */
static int read_ints(store_reader *r, enum q_stmt id, const char *name, const char *key,
                     int64_t *out, int ncols, const char *what)
{
    int e = 0;
    sqlite3_stmt *st = stmt(r, id, &e);

    if (!st)
        return e;
    if (name)
        bind_text(st, name, key);
    return one_row(r, st, out, ncols, what);
}

int store_read_heads(store_reader *r, int64_t *last_seq, int64_t *projected_seq)
{
    int e;
    int64_t v = 0;

    if (last_seq) {
        if ((e = read_ints(r, Q_HEAD, NULL, NULL, &v, 1, "read log head")))
            return e;
        *last_seq = v;
    }
    if (projected_seq) {
        if ((e = read_ints(r, Q_CHECKPOINT, NULL, NULL, &v, 1, "read checkpoint")))
            return e;
        *projected_seq = v;
    }
    return 0;
}

int store_read_totals(store_reader *r, int64_t *events, int64_t *dead_letters,
                      int64_t *devices)
{
    int e;
    int64_t v[3] = { 0, 0, 0 };

    if ((e = read_ints(r, Q_TOTALS, NULL, NULL, v, 3, "read totals")))
        return e;
    if (events)
        *events = v[0];
    if (dead_letters)
        *dead_letters = v[1];
    if (devices)
        *devices = v[2];
    return 0;
}

/* ------------------------------------------------------------------ */

/*
 * One event list query per EV_* mask. A device's events come in two parts,
 * run one after the other in one snapshot (store_read_events):
 * device_events up to its checkpoint (its key in seq order, each joined to
 * its row), and with EV_TAIL the log after the checkpoint, scanned by seq.
 */
static sqlite3_stmt *event_stmt(store_reader *r, unsigned mask, int *e)
{
    char filters[160], sql[1536];
    const char *cmp = mask & EV_DESC ? "<" : ">", *dir = mask & EV_DESC ? "DESC" : "ASC";
    int n;

    if (r->ev[mask])
        return prep(r, &r->ev[mask], NULL, e);
    snprintf(filters, sizeof(filters), "%s%s%s", mask & EV_CHANNEL ? " AND channel = :ch" : "",
             mask & EV_FROM ? " AND received_at >= :from" : "",
             mask & EV_TO ? " AND received_at < :to" : "");
    if (mask & EV_TAIL)
        n = snprintf(sql, sizeof(sql),
                     "SELECT " EV_COLS " FROM events WHERE seq > " DEV_INDEXED
                     " AND seq %s :seq AND device_id = :dev%s ORDER BY seq %s LIMIT :lim",
                     cmp, filters, dir);
    else if (mask & EV_DEVICE)
        n = snprintf(sql, sizeof(sql),
                     "SELECT e.seq, channel, message, e.device_id, topic, params, payload,"
                     " correlation_id, received_at FROM device_events d CROSS JOIN events e"
                     " ON e.seq = d.seq WHERE d.device_id = :dev AND d.seq %s :seq%s"
                     " ORDER BY d.seq %s LIMIT :lim",
                     cmp, filters, dir);
    else
        n = snprintf(sql, sizeof(sql),
                     "SELECT " EV_COLS " FROM events WHERE seq %s :seq%s ORDER BY seq %s LIMIT :lim",
                     cmp, filters, dir);
    if (n < 0 || (size_t)n >= sizeof(sql)) {
        *e = STORE_EINVAL;
        return NULL;
    }
    return prep(r, &r->ev[mask], sql, e);
}

static enum row_verdict event_row(sqlite3_stmt *st, const struct visit *v)
{
    store_event_row row = {
        .seq = sqlite3_column_int64(st, 0),
        .channel = col_text(st, 1),
        .message = col_text(st, 2),
        .device_id = col_text(st, 3),
        .topic = col_text(st, 4),
        .params = col_text(st, 5),
        .payload = col_text(st, 6),
        .payload_len = (size_t)sqlite3_column_bytes(st, 6),
        .correlation_id = col_text(st, 7),
        .received_at = sqlite3_column_int64(st, 8),
    };

    if (!row.channel || !row.payload)
        return ROW_NOMEM;
    return next_or_stop(v->cb.event(v->ctx, &row));
}

/* Runs one event statement for q with limit lim; the rows handed over, or STORE_E*. */
static int events_part(store_reader *r, unsigned mask, const store_event_query *q, int64_t lim,
                       const struct visit *v)
{
    int e = 0;
    sqlite3_stmt *st = event_stmt(r, mask, &e);

    if (!st)
        return e;
    bind_i64(st, ":seq", q->desc ? (q->before_seq > 0 ? q->before_seq : INT64_MAX)
                                 : q->after_seq);
    bind_text(st, ":dev", q->device_id);
    bind_window(st, q->channel, q->has_from, q->from_ms, q->has_to, q->to_ms, (size_t)lim);
    return step_rows(r, st, event_row, v, "read events");
}

/* Relays rows to the caller's callback and remembers whether it asked to stop. */
struct event_relay {
    store_event_cb cb;
    void *ctx;
    int stopped;
};

static int relay_event(void *ctx, const store_event_row *row)
{
    struct event_relay *x = ctx;

    return x->stopped = x->cb(x->ctx, row) != 0;
}

int store_read_events(store_reader *r, const store_event_query *q, store_event_cb cb,
                      void *ctx)
{
    unsigned mask = 0;
    struct event_relay x = { cb, ctx, 0 };
    const struct visit v = { .cb.event = relay_event, .ctx = &x };
    int own, n, m;

    if (!q || !cb || q->limit == 0)
        return STORE_EINVAL;
    mask |= q->device_id ? EV_DEVICE : 0;
    mask |= q->channel ? EV_CHANNEL : 0;
    mask |= q->has_from ? EV_FROM : 0;
    mask |= q->has_to ? EV_TO : 0;
    mask |= q->desc ? EV_DESC : 0;
    if (!(mask & EV_DEVICE))
        return events_part(r, mask, q, (int64_t)q->limit, &v);
    /*
     * A device: the index part and the log after its checkpoint, in seq
     * order (oldest first: the index first), in one snapshot so that a
     * move between the two cannot skip or repeat an event.
     */
    own = !r->in_txn;
    if (own && (n = store_reader_begin(r)) != 0)
        return n;
    n = events_part(r, mask | (q->desc ? EV_TAIL : 0), q, (int64_t)q->limit, &v);
    if (n >= 0 && !x.stopped && (size_t)n < q->limit) {
        m = events_part(r, mask | (q->desc ? 0 : EV_TAIL), q, (int64_t)(q->limit - (size_t)n), &v);
        n = m < 0 ? m : n + m;
    }
    if (own)
        store_reader_end(r);
    return n;
}

int store_read_max_seq(store_reader *r, const char *device_id, const char *channel,
                       int64_t *out)
{
    int e;
    int64_t v = 0;

    if ((!device_id && !channel) || !out)
        return STORE_EINVAL;
    if ((e = read_ints(r, device_id ? Q_MAX_DEV : Q_MAX_CH, ":k",
                       device_id ? device_id : channel, &v, 1, "read max seq")))
        return e;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ */

static enum row_verdict device_row(sqlite3_stmt *st, const struct visit *v)
{
    store_device_row row = {
        .device_id = col_text(st, 0),
        .first_seen = sqlite3_column_int64(st, 1),
        .last_seen = sqlite3_column_int64(st, 2),
        .events = sqlite3_column_int64(st, 3),
        .last_seq = sqlite3_column_int64(st, 4),
        .status = col_text(st, 5),
    };

    if (!row.device_id)
        return ROW_NOMEM;
    return next_or_stop(v->cb.device(v->ctx, &row));
}

int store_read_devices(store_reader *r, const store_device_query *q, store_device_cb cb,
                       void *ctx)
{
    int e = 0;
    sqlite3_stmt *st;

    if (!q || !cb || q->limit == 0)
        return STORE_EINVAL;
    st = stmt(r, q->by_last_seen ? Q_DEVICES_SEEN : Q_DEVICES_ID, &e);
    if (!st)
        return e;
    bind_text(st, ":st", q->status);
    bind_text(st, ":ch", q->channel);
    bind_text(st, ":after", q->has_after ? (q->after_id ? q->after_id : "") : NULL);
    bind_i64(st, ":ls", q->after_last_seen);
    bind_limit(st, q->limit);
    return step_rows(r, st, device_row, &(struct visit){ .cb.device = cb, .ctx = ctx },
                     "read devices");
}

int store_read_device(store_reader *r, const char *device_id, store_device_cb cb, void *ctx)
{
    int e = 0;
    sqlite3_stmt *st;

    if (!device_id || !cb)
        return STORE_EINVAL;
    st = stmt(r, Q_DEVICE, &e);
    if (!st)
        return e;
    bind_text(st, ":id", device_id);
    return found(step_rows(r, st, device_row, &(struct visit){ .cb.device = cb, .ctx = ctx },
                           "read devices"));
}

static enum row_verdict state_row(sqlite3_stmt *st, const struct visit *v)
{
    store_state_row row = {
        .channel = col_text(st, 0),
        .message = col_text(st, 1),
        .seq = sqlite3_column_int64(st, 2),
        .received_at = sqlite3_column_int64(st, 3),
        .payload = col_text(st, 4),
    };

    if (!row.channel || !row.payload)
        return ROW_NOMEM;
    return next_or_stop(v->cb.state(v->ctx, &row));
}

int store_read_device_state(store_reader *r, const char *device_id, store_state_cb cb,
                            void *ctx)
{
    int e = 0;
    sqlite3_stmt *st;

    if (!device_id || !cb)
        return STORE_EINVAL;
    st = stmt(r, Q_STATE, &e);
    if (!st)
        return e;
    bind_text(st, ":id", device_id);
    return step_rows(r, st, state_row, &(struct visit){ .cb.state = cb, .ctx = ctx },
                     "read device state");
}

/* ------------------------------------------------------------------ */

int store_read_channel_counts(store_reader *r, const char *channel, store_channel_counts *out)
{
    int e;
    int64_t v[2] = { 0, 0 };

    if (!channel || !out)
        return STORE_EINVAL;
    if ((e = read_ints(r, Q_CH_COUNT, ":ch", channel, v, 1, "count channel events")))
        return e;
    out->events = v[0];
    if ((e = read_ints(r, Q_CH_DL, ":ch", channel, v, 1, "count channel dead letters")))
        return e;
    out->dead_letters = v[0];
    if ((e = read_ints(r, Q_CH_LAST, ":ch", channel, v, 2, "read channel head")))
        return e;
    out->last_seq = v[0];
    out->last_event_at = v[1];
    return 0;
}

static enum row_verdict recent_row(sqlite3_stmt *st, const struct visit *v)
{
    const char *ch = col_text(st, 0);

    if (!ch)
        return ROW_SKIP;
    return next_or_stop(v->cb.recent(v->ctx, ch, sqlite3_column_int64(st, 1)));
}

int store_read_recent_counts(store_reader *r, int64_t since_ms, int64_t window,
                             int (*cb)(void *ctx, const char *channel, int64_t n),
                             void *ctx)
{
    int e = 0;
    int64_t head = 0;
    sqlite3_stmt *st;

    if (!cb)
        return STORE_EINVAL;
    if ((e = store_read_heads(r, &head, NULL)))
        return e;
    if (!(st = stmt(r, Q_RECENT, &e)))
        return e;
    bind_i64(st, ":minseq", head > window ? head - window : 0);
    bind_i64(st, ":since", since_ms);
    return step_rows(r, st, recent_row, &(struct visit){ .cb.recent = cb, .ctx = ctx },
                     "read recent counts");
}

/* ------------------------------------------------------------------ */

static enum row_verdict dead_letter_row(sqlite3_stmt *st, const struct visit *v)
{
    store_dead_letter_row row = {
        .id = sqlite3_column_int64(st, 0),
        .topic = col_text(st, 1),
        .channel = col_text(st, 2),
        .kind = col_text(st, 3),
        .reason = col_text(st, 5),
        .received_at = sqlite3_column_int64(st, 6),
    };

    if (v->with_payload) {
        row.payload = sqlite3_column_blob(st, 4);
        row.payload_len = (size_t)sqlite3_column_bytes(st, 4);
    } else {
        row.payload_len = (size_t)sqlite3_column_int64(st, 4);
    }
    return next_or_stop(v->cb.dead_letter(v->ctx, &row));
}

int store_read_dead_letters(store_reader *r, const store_dead_letter_query *q,
                            store_dead_letter_cb cb, void *ctx)
{
    int e = 0;
    sqlite3_stmt *st;

    if (!q || !cb || q->limit == 0)
        return STORE_EINVAL;
    if (!(st = stmt(r, Q_DL_LIST, &e)))
        return e;
    bind_i64(st, ":before", q->before_id > 0 ? q->before_id : INT64_MAX);
    bind_text(st, ":kind", q->kind);
    bind_window(st, q->channel, q->has_from, q->from_ms, q->has_to, q->to_ms, q->limit);
    return step_rows(r, st, dead_letter_row,
                     &(struct visit){ .cb.dead_letter = cb, .ctx = ctx }, "read dead letters");
}

int store_read_dead_letter(store_reader *r, int64_t id, store_dead_letter_cb cb, void *ctx)
{
    int e = 0;
    sqlite3_stmt *st;

    if (!cb)
        return STORE_EINVAL;
    if (!(st = stmt(r, Q_DL_ONE, &e)))
        return e;
    bind_i64(st, ":id", id);
    return found(step_rows(r, st, dead_letter_row,
                           &(struct visit){ .cb.dead_letter = cb, .ctx = ctx,
                                            .with_payload = 1 },
                           "read dead letters"));
}

/* ------------------------------------------------------------------ */

static enum row_verdict series_row(sqlite3_stmt *st, const struct visit *v)
{
    store_series_row row = {
        .bucket_start = sqlite3_column_int64(st, 0),
        .count = sqlite3_column_int64(st, 1),
        .min = sqlite3_column_double(st, 2),
        .max = sqlite3_column_double(st, 3),
        .sum = sqlite3_column_double(st, 4),
    };

    return next_or_stop(v->cb.series(v->ctx, &row));
}

int store_read_series(store_reader *r, const store_series_query *q, store_series_cb cb,
                      void *ctx)
{
    int e = 0;
    sqlite3_stmt *st;

    if (!q || !cb || !q->device_id || !q->channel || !q->field || q->bucket_ms <= 0 ||
        q->limit == 0)
        return STORE_EINVAL;
    if (!(st = stmt(r, Q_SERIES, &e)))
        return e;
    bind_i64(st, ":w", q->bucket_ms);
    bind_text(st, ":dev", q->device_id);
    bind_text(st, ":f", q->field);
    /* the series SQL has no NULL test: an open end is the widest bound */
    bind_window(st, q->channel, 1, q->has_from ? q->from_ms : INT64_MIN, 1,
                q->has_to ? q->to_ms : INT64_MAX, q->limit);
    return step_rows(r, st, series_row, &(struct visit){ .cb.series = cb, .ctx = ctx },
                     "read series");
}

static enum row_verdict any_row(sqlite3_stmt *st, const struct visit *v)
{
    (void)st;
    (void)v;
    return ROW_STOP;
}

int store_read_field_known(store_reader *r, const char *channel, const char *field)
{
    int e = 0;
    sqlite3_stmt *st;

    if (!channel || !field)
        return STORE_EINVAL;
    if (!(st = stmt(r, Q_FIELD, &e)))
        return e;
    bind_text(st, ":ch", channel);
    bind_text(st, ":f", field);
    return step_rows(r, st, any_row, &(struct visit){ .ctx = NULL }, "read field");
}
