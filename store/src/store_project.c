/* SPDX-License-Identifier: MIT */
/*
 * Projections: fold the event log after the checkpoint into devices,
 * device_state and rollups, batch + checkpoint in one transaction; rebuild
 * from scratch; the projector thread. Folding is per event in seq order so
 * an incremental fold in any batch sizes equals a rebuild bit for bit
 * (same float additions in the same order). Notes: docs/store.md.
 */
#include "store_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "asyncapi/parse.h"
#include "devices/devices.h"

typedef struct fold_opts {
    size_t batch_max;
    int64_t bucket_ms;
    const char *const *status_channels;
    size_t n_status_channels;
} fold_opts;

static int fold_opts_get(const store_projector_options *opt, fold_opts *fo)
{
    fo->batch_max = (opt && opt->batch_max) ? opt->batch_max : STORE_PROJECTOR_BATCH_DEFAULT;
    fo->bucket_ms = (opt && opt->bucket_ms) ? opt->bucket_ms : STORE_ROLLUP_BUCKET_DEFAULT;
    fo->status_channels = opt ? opt->status_channels : NULL;
    fo->n_status_channels = opt ? opt->n_status_channels : 0;
    if (fo->bucket_ms < 0 || fo->batch_max > 1000000 ||
        (fo->n_status_channels && !fo->status_channels))
        return STORE_EINVAL;
    return 0;
}

static int is_status_channel(const fold_opts *fo, const char *channel)
{
    if (!fo->status_channels)
        return devices_channel_name_is_status(channel);
    for (size_t i = 0; i < fo->n_status_channels; i++)
        if (fo->status_channels[i] && strcmp(fo->status_channels[i], channel) == 0)
            return 1;
    return 0;
}

static int64_t bucket_of(int64_t t, int64_t width)
{
    int64_t b = t / width;

    if (t % width != 0 && t < 0)
        b--;
    return b * width;
}

/*
 * A batch's fold state, one entry per touched key: the stored row loaded
 * on first touch, then every event of the batch applied in seq order with
 * the same arithmetic the per-event upserts used (sum + v, min/max tie
 * rules of SQLite's min()/max()), and written once at the end. The rows
 * are therefore bit-identical to folding event by event, in any batch
 * sizes, while a batch of 1000 events costs one statement per distinct
 * key instead of ~9 per event: the projector holds the write lock (which
 * the ingest needs for every commit) several times shorter.
 *
 * The device and rollup entries outlive their batch (the handle's fold
 * cache, s->fold_cache): they equal the stored rows once the batch is
 * written, and only folds write projection rows, so the next batch needs
 * no SELECT for a key it finds there. A live stream from many devices
 * touches each device about once per fold (10,000 msg/s from 1,000
 * devices, folds every 100 ms), which made those loads half of the
 * projector's statements. The cache holds while the stored checkpoint is
 * the one it was written with; a failed or refolded batch, or a
 * checkpoint someone else moved, empties it. Device-state entries (never
 * loaded, a payload each) live for one batch.
 */
enum agg_kind { AGG_DEVICE, AGG_STATE, AGG_ROLLUP };

typedef struct agg {
    uint64_t hash;          /* of kind + key bytes + bucket */
    int kind;               /* enum agg_kind */
    char *key;              /* device \0 channel \0 field \0 (owned, one block) */
    size_t key_len;         /* bytes of key including the three NULs */
    int64_t bucket;         /* rollups: bucket start */
    int exists;             /* a row with values (stored or folded in this batch) */
    int dirty;              /* folded since the last write: to be written */
    /* AGG_DEVICE */
    int64_t first_seen, last_seen, events, last_seq;
    char status[16];        /* "online" / "offline" / "unknown" */
    /* AGG_STATE */
    char *message;          /* owned, NULL for none */
    char *payload;          /* owned */
    int plen;
    int64_t seq, at;
    /* AGG_ROLLUP */
    int64_t count;
    double min, max, sum;
} agg;

typedef struct agg_map {
    agg **slots;            /* open addressing, NULL = free */
    size_t cap;             /* power of two */
    size_t n;               /* entries */
} agg_map;

static void agg_free(agg *a)
{
    if (!a)
        return;
    free(a->key);
    free(a->message);
    free(a->payload);
    free(a);
}

static void agg_map_release(agg_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        agg_free(m->slots[i]);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/*
 * After a batch was written (checkpoint cp): its entries are the stored
 * rows now. Past s->fold_cache_max entries only this batch's are kept (all
 * are dropped if they alone are more), so a fleet larger than the cache, or
 * a day of rollup buckets, costs loads again but never unbounded memory.
 */
static void fold_cache_settle(store *s, agg_map *m, int64_t cp)
{
    size_t dirty = 0;

    s->fold_cache_cp = cp;
    for (size_t i = 0; i < m->cap; i++)
        dirty += m->slots[i] && m->slots[i]->dirty;
    if (m->n > s->fold_cache_max) {
        agg_map keep = {0};
        size_t cap = 256;

        while (cap < 2 * dirty + 2)
            cap *= 2;
        if (dirty > s->fold_cache_max || !(keep.slots = calloc(cap, sizeof(*keep.slots)))) {
            agg_map_release(m);
            return;
        }
        keep.cap = cap;
        for (size_t i = 0; i < m->cap; i++) {
            agg *a = m->slots[i];
            size_t j;

            if (!a || !a->dirty) {
                agg_free(a);
                continue;
            }
            for (j = (size_t)(a->hash >> 7) & (cap - 1); keep.slots[j]; j = (j + 1) & (cap - 1)) {
            }
            keep.slots[j] = a;
            keep.n++;
        }
        free(m->slots);
        *m = keep;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i])
            m->slots[i]->dirty = 0;
}

void store__fold_cache_free(store *s)
{
    if (s->fold_cache) {
        agg_map_release(s->fold_cache);
        free(s->fold_cache);
        s->fold_cache = NULL;
    }
}

static uint64_t agg_hash(int kind, const char *key, size_t len, int64_t bucket)
{
    uint64_t h = 14695981039346656037ull ^ (uint64_t)kind;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    h ^= (uint64_t)bucket;
    h *= 0x9e3779b97f4a7c15ull;
    return h;
}

static int agg_map_grow(agg_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    agg **slots = calloc(cap, sizeof(*slots));

    if (!slots)
        return STORE_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        agg *a = m->slots[i];
        size_t j;
        if (!a)
            continue;
        for (j = (size_t)(a->hash >> 7) & (cap - 1); slots[j]; j = (j + 1) & (cap - 1)) {
        }
        slots[j] = a;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/*
 * The entry for (kind, device, channel, field, bucket), created if new
 * (*created = 1, exists = 0, to be loaded by the caller). NULL on ENOMEM.
 */
static agg *agg_get(agg_map *m, int kind, const char *device, const char *channel,
                    const char *field, int64_t bucket, int *created)
{
    size_t dl = strlen(device), cl = strlen(channel), fl = field ? strlen(field) : 0;
    size_t len = dl + cl + fl + 3, i;
    char stack_key[512];
    char *key = len <= sizeof(stack_key) ? stack_key : malloc(len);
    uint64_t h;
    agg *a = NULL;

    *created = 0;
    if (!key)
        return NULL;
    memcpy(key, device, dl + 1);
    memcpy(key + dl + 1, channel, cl + 1);
    if (fl)
        memcpy(key + dl + cl + 2, field, fl);
    key[len - 1] = '\0';
    h = agg_hash(kind, key, len, bucket);
    if ((m->n + 1) * 2 > m->cap && agg_map_grow(m) != 0)
        goto out;
    for (i = (size_t)(h >> 7) & (m->cap - 1); m->slots[i]; i = (i + 1) & (m->cap - 1)) {
        agg *e = m->slots[i];
        if (e->hash == h && e->kind == kind && e->bucket == bucket && e->key_len == len &&
            memcmp(e->key, key, len) == 0) {
            a = e;
            goto out;
        }
    }
    a = calloc(1, sizeof(*a));
    if (!a)
        goto out;
    a->key = malloc(len);
    if (!a->key) {
        free(a);
        a = NULL;
        goto out;
    }
    memcpy(a->key, key, len);
    a->key_len = len;
    a->hash = h;
    a->kind = kind;
    a->bucket = bucket;
    m->slots[i] = a;
    m->n++;
    *created = 1;
out:
    if (key != stack_key)
        free(key);
    return a;
}

/* Key parts of an entry (pointers into a->key). */
static const char *agg_device(const agg *a) { return a->key; }
static const char *agg_channel(const agg *a) { return a->key + strlen(a->key) + 1; }
static const char *agg_field(const agg *a)
{
    const char *c = agg_channel(a);
    return c + strlen(c) + 1;
}

/* Loads the stored row of a new device / rollup entry (exists = 1 if there is one). */
static int agg_load(store *s, agg *a)
{
    sqlite3_stmt *st = store__stmt(s, a->kind == AGG_DEVICE ? STORE__PJ_DEVICE_GET
                                                            : STORE__PJ_ROLLUP_GET);
    int rc;

    if (!st)
        return STORE_EIO;
    sqlite3_bind_text(st, 1, agg_device(a), -1, SQLITE_STATIC);
    if (a->kind == AGG_ROLLUP) {
        sqlite3_bind_text(st, 2, agg_channel(a), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, agg_field(a), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, a->bucket);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        a->exists = 1;
        if (a->kind == AGG_DEVICE) {
            const unsigned char *status = sqlite3_column_text(st, 4);
            a->first_seen = sqlite3_column_int64(st, 0);
            a->last_seen = sqlite3_column_int64(st, 1);
            a->events = sqlite3_column_int64(st, 2);
            a->last_seq = sqlite3_column_int64(st, 3);
            if (snprintf(a->status, sizeof(a->status), "%s",
                         status ? (const char *)status : "unknown") >= (int)sizeof(a->status))
                rc = store__error(s, STORE_ECORRUPT, "device status too long");
        } else {
            a->count = sqlite3_column_int64(st, 0);
            a->min = sqlite3_column_double(st, 1);
            a->max = sqlite3_column_double(st, 2);
            a->sum = sqlite3_column_double(st, 3);
        }
        if (rc == SQLITE_ROW)
            rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = store__fail(s, sqlite3_extended_errcode(s->db), "cannot read projection");
    }
    sqlite3_reset(st);
    return rc;
}

/* Looks up (creating and loading) an entry; NULL with *rc set on failure. */
static agg *agg_touch(store *s, agg_map *m, int kind, const char *device, const char *channel,
                      const char *field, int64_t bucket, int *rc)
{
    int created;
    agg *a = agg_get(m, kind, device, channel, field, bucket, &created);

    if (!a) {
        *rc = store__error(s, STORE_ENOMEM, "out of memory folding a batch");
        return NULL;
    }
    if (created && kind != AGG_STATE && (*rc = agg_load(s, a)) != 0)
        return NULL;
    a->dirty = 1;
    return a;
}

static int fold_rollups(store *s, agg_map *m, const char *device, const char *channel,
                        const cJSON *root, int64_t bucket)
{
    const cJSON *f;
    int rc = 0;

    if (!cJSON_IsObject(root))
        return 0;
    cJSON_ArrayForEach(f, root) {
        agg *a;
        double v;
        if (!cJSON_IsNumber(f) || !f->string || !isfinite(f->valuedouble))
            continue;
        a = agg_touch(s, m, AGG_ROLLUP, device, channel, f->string, bucket, &rc);
        if (!a)
            return rc;
        v = f->valuedouble;
        if (!a->exists) {
            a->exists = 1;
            a->count = 1;
            a->min = a->max = a->sum = v;
        } else {
            /* as SQL's count + 1, min(min, v) (ties take v), max(max, v) (ties keep), sum + v */
            a->count++;
            a->min = v <= a->min ? v : a->min;
            a->max = v > a->max ? v : a->max;
            a->sum = a->sum + v;
        }
    }
    return rc;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* Folds one event row of the scan statement into the batch state. */
static int fold_event(store *s, agg_map *m, agg_map *st_map, const fold_opts *fo,
                      sqlite3_stmt *scan)
{
    int64_t seq = sqlite3_column_int64(scan, 0);
    const char *channel = (const char *)sqlite3_column_text(scan, 1);
    const char *message = (const char *)sqlite3_column_text(scan, 2);
    const char *device = (const char *)sqlite3_column_text(scan, 3);
    const char *payload = (const char *)sqlite3_column_text(scan, 4);
    int plen = sqlite3_column_bytes(scan, 4);
    int64_t at = sqlite3_column_int64(scan, 5);
    const cJSON *root = NULL; /* in s->fold_buf: valid until the next event */
    agg *a;
    int rc = 0;

    if (!channel || !payload)
        return store__error(s, STORE_ECORRUPT, "event %lld has no channel or payload",
                            (long long)seq);
    /*
     * asyncapi_json_parse_in, not cJSON_Parse*: those write cJSON's global
     * error pointer, racing with other threads that parse; and the tree
     * lives in the handle's reusable buffer (no malloc/free per node). A
     * payload that does not parse (or nests deeper than cJSON's old 1000
     * levels) folds without fields, as before; out of memory is an error
     * (the batch is retried), never silently fewer rollups.
     */
    if (!s->fold_buf && !(s->fold_buf = asyncapi_json_buf_new()))
        return store__error(s, STORE_ENOMEM, "out of memory parsing event %lld", (long long)seq);
    rc = asyncapi_json_parse_in(s->fold_buf, payload, (size_t)plen, STORE__FOLD_JSON_DEPTH, &root);
    if (rc == ASYNCAPI_ENOMEM)
        return store__error(s, STORE_ENOMEM, "out of memory parsing event %lld", (long long)seq);
    rc = 0;
    if (device && *device) {
        devices_status st_new = DEVICES_STATUS_ONLINE;
        if (is_status_channel(fo, channel))
            st_new = devices_status_from_payload(root);

        a = agg_touch(s, m, AGG_DEVICE, device, "", NULL, 0, &rc);
        if (!a)
            goto out;
        if (!a->exists) {
            a->exists = 1;
            a->first_seen = a->last_seen = at;
            a->events = 1;
            snprintf(a->status, sizeof(a->status), "unknown");
        } else {
            a->first_seen = at < a->first_seen ? at : a->first_seen;
            a->last_seen = at > a->last_seen ? at : a->last_seen;
            a->events++;
        }
        a->last_seq = seq;
        /* UNKNOWN keeps the stored status: a status message we cannot read */
        if (st_new != DEVICES_STATUS_UNKNOWN &&
            snprintf(a->status, sizeof(a->status), "%s", devices_status_name(st_new)) >=
                (int)sizeof(a->status)) {
            rc = store__error(s, STORE_EIO, "device status name too long");
            goto out;
        }

        a = agg_touch(s, st_map, AGG_STATE, device, channel, NULL, 0, &rc);
        if (!a)
            goto out;
        free(a->message);
        free(a->payload);
        a->message = message ? dup_bytes(message, strlen(message)) : NULL;
        a->payload = dup_bytes(payload, (size_t)plen);
        if ((message && !a->message) || !a->payload) {
            rc = store__error(s, STORE_ENOMEM, "out of memory folding a batch");
            goto out;
        }
        a->plen = plen;
        a->seq = seq;
        a->at = at;
        a->exists = 1;
    }
    rc = fold_rollups(s, m, (device && *device) ? device : "", channel, root,
                      bucket_of(at, fo->bucket_ms));
out:
    return rc;
}

/* Writes every entry of the batch state (absolute values). */
static int agg_flush(store *s, agg_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        agg *a = m->slots[i];
        sqlite3_stmt *st;
        int rc;

        if (!a || !a->exists || !a->dirty)
            continue;
        st = store__stmt(s, a->kind == AGG_DEVICE ? STORE__PJ_DEVICE
                            : a->kind == AGG_STATE ? STORE__PJ_STATE : STORE__PJ_ROLLUP);
        if (!st)
            return STORE_EIO;
        sqlite3_bind_text(st, 1, agg_device(a), -1, SQLITE_STATIC);
        if (a->kind == AGG_DEVICE) {
            sqlite3_bind_int64(st, 2, a->first_seen);
            sqlite3_bind_int64(st, 3, a->last_seen);
            sqlite3_bind_int64(st, 4, a->events);
            sqlite3_bind_int64(st, 5, a->last_seq);
            sqlite3_bind_text(st, 6, a->status, -1, SQLITE_STATIC);
        } else if (a->kind == AGG_STATE) {
            sqlite3_bind_text(st, 2, agg_channel(a), -1, SQLITE_STATIC);
            if (a->message)
                sqlite3_bind_text(st, 3, a->message, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, a->seq);
            sqlite3_bind_int64(st, 5, a->at);
            sqlite3_bind_text(st, 6, a->payload, a->plen, SQLITE_STATIC);
        } else {
            sqlite3_bind_text(st, 2, agg_channel(a), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, agg_field(a), -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, a->bucket);
            sqlite3_bind_int64(st, 5, a->count);
            sqlite3_bind_double(st, 6, a->min);
            sqlite3_bind_double(st, 7, a->max);
            sqlite3_bind_double(st, 8, a->sum);
        }
        rc = store__step_done(s, st, "cannot write projection");
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int checkpoint_get(store *s, int64_t *cp)
{
    sqlite3_stmt *st = store__stmt(s, STORE__CP_GET);
    int rc;

    if (!st)
        return STORE_EIO;
    rc = sqlite3_step(st);
    *cp = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : store__fail(s, rc, "cannot read checkpoint");
}

/*
 * Read phase: folds up to batch_max events after the checkpoint into m
 * (devices, rollups: loading the stored rows they touch unless m has them)
 * and st_map (device state). *cp_at = the checkpoint it started from,
 * *last = the last seq folded, *folded = how many. cached: m is the
 * handle's fold cache, emptied here unless it holds the rows of *cp_at.
 */
static int fold_read(store *s, const fold_opts *fo, agg_map *m, agg_map *st_map, int cached,
                     int64_t *cp_at, int64_t *last, size_t *folded)
{
    sqlite3_stmt *scan;
    size_t n = 0;
    int rc;

    rc = checkpoint_get(s, cp_at);
    if (rc != 0)
        return rc;
    if (cached && s->fold_cache_cp != *cp_at) {
        agg_map_release(m);
        s->fold_cache_cp = *cp_at;
    }
    *last = *cp_at;
    scan = store__stmt(s, STORE__PJ_SCAN);
    if (!scan)
        return STORE_EIO;
    sqlite3_bind_int64(scan, 1, *cp_at);
    sqlite3_bind_int64(scan, 2, (sqlite3_int64)fo->batch_max);
    while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
        rc = fold_event(s, m, st_map, fo, scan);
        if (rc != 0) {
            sqlite3_reset(scan);
            return rc;
        }
        *last = sqlite3_column_int64(scan, 0);
        n++;
    }
    sqlite3_reset(scan);
    if (rc != SQLITE_DONE)
        return store__fail(s, rc, "cannot scan events");
    *folded = n;
    return 0;
}

/* Write phase: the folded state and the new checkpoint (caller's transaction). */
static int fold_write(store *s, agg_map *m, agg_map *st_map, size_t n, int64_t last)
{
    sqlite3_stmt *st;
    int rc = agg_flush(s, m);

    if (rc == 0)
        rc = agg_flush(s, st_map);
    if (rc != 0 || n == 0)
        return rc;
    st = store__stmt(s, STORE__CP_SET);
    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, last);
    return store__step_done(s, st, "cannot write checkpoint");
}

/* Folds one batch inside the caller's write transaction (rebuild). */
static int fold_batch(store *s, const fold_opts *fo, size_t *folded, int64_t *cp_out)
{
    agg_map m = {0}, st_map = {0};
    int64_t cp, last;
    size_t n = 0;
    int rc = fold_read(s, fo, &m, &st_map, 0, &cp, &last, &n);

    if (rc == 0)
        rc = fold_write(s, &m, &st_map, n, last);
    if (rc == 0) {
        *folded = n;
        *cp_out = last;
    }
    agg_map_release(&m);
    agg_map_release(&st_map);
    return rc;
}

/* Times the write phase may find the checkpoint moved before giving up. */
#define FOLD_RETRIES 8

/* The read phase in a read transaction of its own: no lock a writer waits for. */
static int fold_in_snapshot(store *s, const fold_opts *fo, agg_map *m, agg_map *st_map,
                            int64_t *cp_at, int64_t *last, size_t *n)
{
    sqlite3_stmt *st = store__stmt(s, STORE__BEGIN_READ);
    int rc = st ? store__step_done(s, st, "cannot begin a read") : STORE_EIO, end_rc;

    if (rc != 0)
        return rc;
    rc = fold_read(s, fo, m, st_map, 1, cp_at, last, n);
    st = store__stmt(s, STORE__COMMIT); /* ends the read */
    end_rc = st ? store__step_done(s, st, "cannot end a read") : STORE_EIO;
    if (sqlite3_get_autocommit(s->db) == 0)
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc != 0 ? rc : end_rc;
}

/*
 * The write phase: stores m and the checkpoint last in one write
 * transaction, unless the checkpoint is no longer cp_at (*moved = 1,
 * nothing written).
 */
static int fold_store(store *s, agg_map *m, agg_map *st_map, size_t n, int64_t cp_at,
                      int64_t last, int *moved)
{
    int64_t cp_now = 0;
    int rc = store_begin(s);

    *moved = 0;
    if (rc != 0)
        return rc;
    rc = checkpoint_get(s, &cp_now);
    if (rc == 0 && cp_now != cp_at)
        *moved = 1;
    if (rc == 0 && !*moved && (rc = fold_write(s, m, st_map, n, last)) == 0)
        return store_commit(s);
    (void)store_rollback(s);
    return rc;
}

/*
 * One batch in two transactions, so that the ingest's writer is never kept
 * waiting while events are scanned and parsed: the read phase folds in a
 * read snapshot, the write phase takes the write lock only to store the
 * result. The result equals folding under the write lock because only a
 * projector writes projections: the write phase checks that the checkpoint
 * is still the one the read phase started from (another projector or a
 * rebuild would have moved it) and otherwise the batch is folded again
 * from the new one.
 */
static int project(store *s, const fold_opts *fo, size_t *folded, int64_t *cp)
{
    if (!s->fold_cache && !(s->fold_cache = calloc(1, sizeof(agg_map))))
        return store__error(s, STORE_ENOMEM, "out of memory folding a batch");
    for (int attempt = 0; attempt < FOLD_RETRIES; attempt++) {
        agg_map *m = s->fold_cache, st_map = {0};
        int64_t cp_at = 0, last = 0;
        size_t n = 0;
        int moved = 0;
        int rc = fold_in_snapshot(s, fo, m, &st_map, &cp_at, &last, &n);

        if (rc == 0 && n > 0) {
            if (s->fold_gap_hook)
                s->fold_gap_hook(s->fold_gap_arg);
            rc = fold_store(s, m, &st_map, n, cp_at, last, &moved);
        }
        agg_map_release(&st_map);
        if (rc != 0 || moved)
            agg_map_release(m); /* folded past what the file holds */
        else if (n > 0)
            fold_cache_settle(s, m, last);
        if (rc != 0)
            return rc;
        if (!moved) {
            if (folded)
                *folded = n;
            *cp = last;
            return 0;
        }
    }
    return store__error(s, STORE_EBUSY, "projection checkpoint kept moving under the projector");
}

int store_project(store *s, const store_projector_options *opt, size_t *folded)
{
    fold_opts fo;
    int64_t cp;

    if (!s)
        return STORE_EINVAL;
    if (fold_opts_get(opt, &fo) != 0)
        return store__error(s, STORE_EINVAL, "bad projector options");
    if (s->in_batch)
        return store__error(s, STORE_ESTATE, "batch open");
    return project(s, &fo, folded, &cp);
}

static void copy_diag(char *diag, size_t size, const char *msg)
{
    if (!diag || size == 0)
        return;
    if (snprintf(diag, size, "%s", msg) >= (int)size)
        diag[size - 1] = '\0';
}

int store_rebuild(const char *path, const store_projector_options *opt, char *diag,
                  size_t diag_size)
{
    store_options so = {0};
    fold_opts fo;
    store *s;
    size_t n;
    int64_t cp;
    int rc;

    copy_diag(diag, diag_size, "");
    if (fold_opts_get(opt, &fo) != 0) {
        copy_diag(diag, diag_size, "bad projector options");
        return STORE_EINVAL;
    }
    so.flags = (opt ? opt->open_flags : 0) & ~(unsigned)STORE_OPEN_READONLY;
    so.busy_timeout_ms = opt ? opt->busy_timeout_ms : 0;
    s = store_open(path, &so, &rc, diag, diag_size);
    if (!s)
        return rc;
    rc = store_begin(s);
    if (rc != 0)
        goto out;
    rc = sqlite3_exec(s->db, "DELETE FROM devices; DELETE FROM device_state;"
                             " DELETE FROM rollups; DELETE FROM projection_checkpoints;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = store__fail(s, rc, "cannot clear projections");
        goto fail_rollback;
    }
    do {
        rc = fold_batch(s, &fo, &n, &cp);
        if (rc != 0)
            goto fail_rollback;
    } while (n > 0);
    rc = store_commit(s);
    goto out;

fail_rollback:
    store_rollback(s);
out:
    if (rc != 0)
        copy_diag(diag, diag_size, store_errmsg(s));
    store_close(s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The projector thread                                                     */
/* ------------------------------------------------------------------------ */

struct store_projector {
    store *s;                 /* the projector's own connection, owned */
    fold_opts fo;             /* folding options; status names point into names */
    char **names;             /* copies of the status channel ids, owned */
    int interval_ms;          /* timer wake-up */
    int defer_max_ms;         /* store_projector_defer: longest gap between fold rounds */
    pthread_t thread;         /* the folding thread */
    pthread_mutex_t mu;       /* guards everything below */
    pthread_cond_t wake;      /* signalled by notify and stop */
    pthread_cond_t progress;  /* broadcast after each committed batch */
    int notified;             /* notify called since the last fold round */
    int stopping;             /* stop requested */
    struct timespec defer_until; /* CLOCK_MONOTONIC: no fold round starts before */
    struct timespec round_began; /* CLOCK_MONOTONIC: the last fold round began */
    int64_t checkpoint;       /* last committed checkpoint */
    uint64_t errors;          /* failed fold attempts */
};

static void ts_add_ms(struct timespec *ts, int ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts_add_ms(ts, ms);
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * store_projector_defer: waits (mu held) while a deferral is on, but not
 * past defer_max_ms after the last (or current) round began; stop ends it too. A
 * round that is catching up waits too: a drain's first commits often
 * start a round before the ingest sees the burst and defers, and that
 * round would otherwise fold alongside the whole drain (seen with 1,000
 * devices: the projector used 1.2 s of CPU during a 100k drain, which ran
 * at half its speed).
 */
static void wait_deferral(store_projector *p)
{
    for (;;) {
        struct timespec now, cap = p->round_began;
        const struct timespec *until;

        ts_add_ms(&cap, p->defer_max_ms);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (p->stopping || !ts_before(&now, &p->defer_until) || !ts_before(&now, &cap))
            return;
        until = ts_before(&p->defer_until, &cap) ? &p->defer_until : &cap;
        (void)pthread_cond_timedwait(&p->wake, &p->mu, until);
    }
}

static void *projector_main(void *arg)
{
    store_projector *p = arg;
    int catching_up = 0; /* the last batch was full: the round goes on, deferral or not */

    prctl(PR_SET_NAME, "ab-projector", 0, 0, 0); /* thread name for top/perf */

    for (;;) {
        size_t n = 0;
        int64_t cp = 0;
        int rc;
        struct timespec ts;

        pthread_mutex_lock(&p->mu);
        wait_deferral(p); /* also between the batches of a round (see above) */
        if (!catching_up)
            clock_gettime(CLOCK_MONOTONIC, &p->round_began);
        p->notified = 0;
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        pthread_mutex_unlock(&p->mu);

        rc = project(p->s, &p->fo, &n, &cp);

        pthread_mutex_lock(&p->mu);
        if (rc == 0 && n > 0) {
            p->checkpoint = cp;
            pthread_cond_broadcast(&p->progress);
        } else if (rc != 0) {
            p->errors++;
        }
        catching_up = rc == 0 && n == p->fo.batch_max;
        if (catching_up) {
            /* more may be waiting: go again at once */
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        deadline_after(&ts, p->interval_ms);
        while (!p->notified && !p->stopping) {
            if (pthread_cond_timedwait(&p->wake, &p->mu, &ts) == ETIMEDOUT)
                break;
        }
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

static void projector_free(store_projector *p)
{
    if (!p)
        return;
    store_close(p->s);
    for (size_t i = 0; p->names && i < p->fo.n_status_channels; i++)
        free(p->names[i]);
    free(p->names);
    free(p);
}

store_projector *store_projector_start(const char *path, const store_projector_options *opt,
                                       int *err, char *diag, size_t diag_size)
{
    store_options so = {0};
    pthread_condattr_t ca;
    store_projector *p;
    int rc = STORE_ENOMEM;

    copy_diag(diag, diag_size, "");
    p = calloc(1, sizeof(*p));
    if (!p)
        goto fail;
    if (fold_opts_get(opt, &p->fo) != 0) {
        rc = STORE_EINVAL;
        copy_diag(diag, diag_size, "bad projector options");
        goto fail_free;
    }
    if (p->fo.status_channels) {
        p->names = calloc(p->fo.n_status_channels + 1, sizeof(*p->names));
        if (!p->names)
            goto fail_free;
        for (size_t i = 0; i < p->fo.n_status_channels; i++) {
            p->names[i] = strdup(p->fo.status_channels[i] ? p->fo.status_channels[i] : "");
            if (!p->names[i])
                goto fail_free;
        }
        p->fo.status_channels = (const char *const *)p->names;
    }
    p->interval_ms = (opt && opt->interval_ms > 0) ? opt->interval_ms
                                                   : STORE_PROJECTOR_INTERVAL_DEFAULT;
    p->defer_max_ms = (opt && opt->defer_max_ms > 0) ? opt->defer_max_ms
                                                     : STORE_PROJECTOR_DEFER_MAX_DEFAULT;
    so.flags = (opt ? opt->open_flags : 0) & ~(unsigned)STORE_OPEN_READONLY;
    so.busy_timeout_ms = opt ? opt->busy_timeout_ms : 0;
    p->s = store_open(path, &so, &rc, diag, diag_size);
    if (!p->s)
        goto fail_free;
    /*
     * The projector reads the log once, in order, and writes a few hundred
     * projection rows: a writer-sized page cache (STORE__WRITE_CACHE_KIB)
     * would only fill with event pages it never reads again (24 MB more
     * RSS after catching up a 100,000-event drain in one round).
     */
    if (sqlite3_exec(p->s->db, "PRAGMA cache_size=-" STORE__PROJECTOR_CACHE_KIB, NULL, NULL,
                     NULL) != SQLITE_OK) {
        rc = STORE_EIO;
        copy_diag(diag, diag_size, "cannot set the projector's cache size");
        goto fail_free;
    }
    rc = checkpoint_get(p->s, &p->checkpoint);
    if (rc != 0)
        goto fail_free;
    rc = STORE_ENOMEM;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail_free;
    if (pthread_condattr_init(&ca) != 0)
        goto fail_mutex;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&p->wake, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        goto fail_mutex;
    }
    if (pthread_cond_init(&p->progress, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        goto fail_wake;
    }
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, projector_main, p) != 0) {
        copy_diag(diag, diag_size, "cannot start projector thread");
        goto fail_progress;
    }
    if (err)
        *err = 0;
    return p;

fail_progress:
    pthread_cond_destroy(&p->progress);
fail_wake:
    pthread_cond_destroy(&p->wake);
fail_mutex:
    pthread_mutex_destroy(&p->mu);
fail_free:
    projector_free(p);
fail:
    if (rc == STORE_ENOMEM && diag && diag_size && !diag[0])
        copy_diag(diag, diag_size, "out of memory");
    if (err)
        *err = rc;
    return NULL;
}

void store_projector_notify(store_projector *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->notified = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

void store_projector_defer(store_projector *p, int ms)
{
    struct timespec t = {0, 0};

    if (!p)
        return;
    if (ms > 0)
        deadline_after(&t, ms);
    pthread_mutex_lock(&p->mu);
    p->defer_until = t;
    if (ms <= 0)
        pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

int store_projector_wait(store_projector *p, int64_t seq, int timeout_ms)
{
    struct timespec ts;
    int rc = 0;

    if (!p || timeout_ms < 0)
        return STORE_EINVAL;
    deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&p->mu);
    while (p->checkpoint < seq) {
        p->notified = 1;
        pthread_cond_signal(&p->wake);
        if (pthread_cond_timedwait(&p->progress, &p->mu, &ts) == ETIMEDOUT) {
            rc = p->checkpoint >= seq ? 0 : STORE_EBUSY;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int64_t store_projector_checkpoint(store_projector *p)
{
    int64_t cp;

    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    cp = p->checkpoint;
    pthread_mutex_unlock(&p->mu);
    return cp;
}

uint64_t store_projector_errors(store_projector *p)
{
    uint64_t n;

    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    n = p->errors;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void store_projector_stop(store_projector *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->progress);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    projector_free(p);
}
