/* SPDX-License-Identifier: MIT */
/*
 * Correlation ids of a writer handle: (channel, device, correlation id)
 * is unique over the whole log, without a UNIQUE index on events (schema
 * v3). That index cost every append a probe plus an index leaf written
 * into the WAL at each commit, a random leaf for UUID-like ids: dropping
 * it took the writer's CPU in a 100,000-message drain down by a third.
 * Instead:
 *
 *  - event_corr (channel, device, corr) -> seq, a WITHOUT ROWID table,
 *    holds every correlated event with seq <= store_meta 'corr_indexed'
 *    (corr an INTEGER for a plain decimal id, store__corr_num);
 *  - the correlated events after it (the tail) are in memory: a ring in
 *    seq order and an open-addressing table by a 64-bit hash of the
 *    triple. A hash hit is checked against the event row, so a collision
 *    is never taken for a duplicate;
 *  - the oldest part of the tail moves into event_corr in one sorted
 *    INSERT ... SELECT, with the checkpoint, in one transaction:
 *    store_corr_flush when the ingest is quiet, and by itself at the start
 *    of a transaction once STORE__CORR_TAIL_MAX are pending.
 *
 * An append checks the tail (no SQL unless the hash matches), then
 * event_corr inside its INSERT (WHERE NOT EXISTS), except for a numeric id
 * above the largest one event_corr holds for its (channel, device) (the
 * per-key maxima below): counters cost no lookup. The tail is rebuilt from
 * the events table (seq > corr_indexed) when it is stale: at the first
 * append, after any rollback, and when another handle appended (max(seq)
 * is not the one this handle last wrote). Notes: docs/store.md "Dedupe".
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define CORR_MIN_CAP 512

#define FNV_PRIME 1099511628211ull

static uint64_t fnv_more(uint64_t h, const char *p)
{
    for (; *p; p++) {
        h ^= (unsigned char)*p;
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t store__corr_key(const char *channel, const char *device)
{
    const void *parts[2] = {channel, device ? device : ""};
    size_t lens[2] = {strlen(channel), strlen(device ? device : "")};
    uint64_t key = store_hash(parts, lens, 2);

    return key ? key : 1; /* 0 marks a free slot of the maxima */
}

uint64_t store__corr_hash(uint64_t key, const char *corr)
{
    return fnv_more(key * FNV_PRIME, corr);
}

int64_t store__corr_num(const char *corr)
{
    int64_t v = 0;
    size_t n = 0;

    if (corr[0] == '0')
        return corr[1] == '\0' ? 0 : -1;
    for (; corr[n] >= '0' && corr[n] <= '9'; n++)
        v = v * 10 + (corr[n] - '0');
    return (n == 0 || n > 18 || corr[n] != '\0') ? -1 : v;
}

/*
 * The per-key maximum: for a (channel, device) key hash, the largest
 * numeric correlation id event_corr holds (-1: none), queried on first use
 * and raised by this handle's moves. It may only be too high (a move
 * rolled back, or two keys with one hash), which costs a lookup, never a
 * missed duplicate: ids another handle moved are in this handle's tail
 * until it moves them itself, and a reload of the tail starts the cache
 * afresh.
 */
static store__corr_max *key_slot(const store *s, uint64_t key)
{
    size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & s->corr_keys_mask;

    while (s->corr_keys[i].key != 0 && s->corr_keys[i].key != key)
        i = (i + 1) & s->corr_keys_mask;
    return &s->corr_keys[i];
}

static void keys_clear(store *s)
{
    if (s->corr_keys)
        memset(s->corr_keys, 0, (s->corr_keys_mask + 1) * sizeof(*s->corr_keys));
    s->corr_keys_n = 0;
}

/* Room for one more key; a full cache starts over. 0 or STORE_ENOMEM. */
static int keys_reserve(store *s)
{
    size_t n = s->corr_keys ? s->corr_keys_mask + 1 : 0, want;
    store__corr_max *tab;

    if (s->corr_keys_n >= s->corr_keys_max)
        keys_clear(s); /* full: start over, the keys are queried again as they come */
    if (n && (s->corr_keys_n + 1) * 2 <= n)
        return 0;
    want = n ? n * 2 : 256;
    tab = calloc(want, sizeof(*tab));
    if (!tab)
        return store__error(s, STORE_ENOMEM, "out of memory for correlation keys");
    for (size_t i = 0; i < n; i++) {
        if (s->corr_keys[i].key != 0) {
            size_t j = (size_t)((s->corr_keys[i].key * 0x9e3779b97f4a7c15ull) >> 32) & (want - 1);
            while (tab[j].key != 0)
                j = (j + 1) & (want - 1);
            tab[j] = s->corr_keys[i];
        }
    }
    free(s->corr_keys);
    s->corr_keys = tab;
    s->corr_keys_mask = want - 1;
    return 0;
}

int store__corr_table_may_have(store *s, uint64_t key, const char *channel, const char *device,
                               const char *corr, int64_t *num)
{
    store__corr_max *k;
    sqlite3_stmt *st;
    int rc;

    *num = store__corr_num(corr);
    if (*num < 0)
        return 1;
    if (s->corr_keys) {
        k = key_slot(s, key);
        if (k->key == key)
            return *num <= k->max;
    }
    rc = keys_reserve(s);
    if (rc != 0)
        return rc;
    st = store__stmt(s, STORE__CORR_KEY_MAX);
    if (!st)
        return STORE_EIO;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, device ? device : "", -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    k = key_slot(s, key);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        k->key = key;
        k->max = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        s->corr_keys_n++;
        rc = *num <= k->max;
    } else {
        rc = store__fail(s, sqlite3_extended_errcode(s->db), "cannot read a correlation key");
    }
    sqlite3_reset(st);
    return rc;
}

/* A move put ids of key up to num into event_corr: raise a cached maximum. */
static void key_raise(store *s, uint64_t key, int64_t num)
{
    store__corr_max *k;

    if (num < 0 || !s->corr_keys)
        return;
    k = key_slot(s, key);
    if (k->key != 0 && num > k->max)
        k->max = num;
}

/*
 * The tail: a ring of entries in append (seq) order, oldest at corr_head,
 * and an open-addressing table (linear probing, load <= 1/2) by hash. A
 * slot holds the hash's top 32 bits (its tag, which also picks its home)
 * and the ring position + 1 (0 = free), so a probe reads no ring entry
 * unless the tag matches: an append costs about one cache miss here.
 * Oldest first out (store__corr_move).
 */
#define SLOT(tag, pos) (((uint64_t)(tag) << 32) | (uint64_t)((pos) + 1))
#define SLOT_POS(v) ((size_t)(uint32_t)(v) - 1)
#define SLOT_TAG(v) ((uint32_t)((v) >> 32))

static size_t corr_home(const store *s, uint32_t tag)
{
    return (size_t)(((uint64_t)tag * 0x9e3779b97f4a7c15ull) >> 32) & s->corr_slot_mask;
}

static store__corr_entry *corr_at(const store *s, size_t k)
{
    return &s->corr_ring[(s->corr_head + k) & (s->corr_cap - 1)];
}

void store__corr_free(store *s)
{
    free(s->corr_keys);
    s->corr_keys = NULL;
    s->corr_keys_mask = s->corr_keys_n = 0;
    free(s->corr_ring);
    free(s->corr_slots);
    s->corr_ring = NULL;
    s->corr_slots = NULL;
    s->corr_cap = s->corr_head = s->corr_n = 0;
    s->corr_slot_mask = 0;
}

static void corr_clear(store *s)
{
    if (s->corr_slots)
        memset(s->corr_slots, 0, (s->corr_slot_mask + 1) * sizeof(*s->corr_slots));
    s->corr_head = s->corr_n = 0;
}

static void slot_put(store *s, size_t pos)
{
    uint32_t tag = (uint32_t)(s->corr_ring[pos].hash >> 32);
    size_t i = corr_home(s, tag);

    while (s->corr_slots[i] != 0)
        i = (i + 1) & s->corr_slot_mask;
    s->corr_slots[i] = SLOT(tag, pos);
}

/* Frees table position i, shifting its probe run back (linear probing). */
static void slot_delete(store *s, size_t i)
{
    size_t j = i, mask = s->corr_slot_mask;

    for (;;) {
        size_t home;
        j = (j + 1) & mask;
        if (s->corr_slots[j] == 0)
            break;
        home = corr_home(s, SLOT_TAG(s->corr_slots[j]));
        /* move j back to i unless its home lies cyclically in (i, j] */
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        s->corr_slots[i] = s->corr_slots[j];
        i = j;
    }
    s->corr_slots[i] = 0;
}

/* Room for one more entry: doubles ring and table, oldest first at 0. */
static int corr_reserve(store *s)
{
    size_t cap = s->corr_cap ? s->corr_cap * 2 : CORR_MIN_CAP;
    store__corr_entry *ring;
    uint64_t *slots;

    if (s->corr_n < s->corr_cap)
        return 0;
    if (cap > ((size_t)1 << 30))
        return store__error(s, STORE_ENOMEM, "correlation tail too large");
    ring = malloc(cap * sizeof(*ring));
    slots = calloc(cap * 2, sizeof(*slots));
    if (!ring || !slots) {
        free(ring);
        free(slots);
        return store__error(s, STORE_ENOMEM, "out of memory for the correlation tail");
    }
    for (size_t k = 0; k < s->corr_n; k++)
        ring[k] = *corr_at(s, k);
    free(s->corr_ring);
    free(s->corr_slots);
    s->corr_ring = ring;
    s->corr_slots = slots;
    s->corr_cap = cap;
    s->corr_head = 0;
    s->corr_slot_mask = cap * 2 - 1;
    for (size_t k = 0; k < s->corr_n; k++)
        slot_put(s, k);
    return 0;
}

int store__corr_add(store *s, uint64_t hash, int64_t seq, uint64_t key, int64_t num)
{
    int rc = corr_reserve(s);
    size_t pos;

    if (rc != 0)
        return rc;
    pos = (s->corr_head + s->corr_n) & (s->corr_cap - 1);
    s->corr_ring[pos].hash = hash;
    s->corr_ring[pos].seq = seq;
    s->corr_ring[pos].key = key;
    s->corr_ring[pos].num = num;
    slot_put(s, pos);
    s->corr_n++;
    return 0;
}

/* Forgets the k oldest entries. */
static void corr_drop_oldest(store *s, size_t k)
{
    for (; k > 0 && s->corr_n > 0; k--) {
        size_t pos = s->corr_head;
        uint32_t tag = (uint32_t)(s->corr_ring[pos].hash >> 32);
        size_t i = corr_home(s, tag);

        while (s->corr_slots[i] != SLOT(tag, pos))
            i = (i + 1) & s->corr_slot_mask;
        slot_delete(s, i);
        key_raise(s, s->corr_ring[pos].key, s->corr_ring[pos].num);
        s->corr_head = (pos + 1) & (s->corr_cap - 1);
        s->corr_n--;
    }
}

/* One int64 from a cached single-row statement (NULL -> 0); 0 or STORE_E*. */
/* Rebuilds the tail from events after the checkpoint (inside a transaction). */
static int corr_reload(store *s)
{
    sqlite3_stmt *st;
    int64_t indexed = 0;
    int rc;

    corr_clear(s);
    keys_clear(s);
    rc = store__stmt_int(s, STORE__CORR_INDEXED, "cannot read the correlation checkpoint", &indexed);
    if (rc == 0)
        rc = store__stmt_int(s, STORE__EV_MAX_SEQ, "cannot read the last seq", &s->corr_known_seq);
    if (rc != 0)
        return rc;
    st = store__stmt(s, STORE__CORR_TAIL);
    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, indexed);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ch = (const char *)sqlite3_column_text(st, 1);
        const char *dev = (const char *)sqlite3_column_text(st, 2);
        const char *corr = (const char *)sqlite3_column_text(st, 3);
        uint64_t key;

        if (!ch || !dev || !corr) {
            rc = store__error(s, STORE_ENOMEM, "out of memory reading the correlation tail");
            break;
        }
        key = store__corr_key(ch, dev);
        rc = store__corr_add(s, store__corr_hash(key, corr), sqlite3_column_int64(st, 0), key,
                             store__corr_num(corr));
        if (rc != 0)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = store__fail(s, sqlite3_extended_errcode(s->db), "cannot read the correlation tail");
    sqlite3_reset(st);
    if (rc == 0)
        s->corr_stale = 0;
    return rc;
}

int store__corr_sync(store *s)
{
    int64_t last = 0;
    int rc;

    if (!s->corr_stale) {
        rc = store__stmt_int(s, STORE__EV_MAX_SEQ, "cannot read the last seq", &last);
        if (rc != 0)
            return rc;
        if (last != s->corr_known_seq)
            s->corr_stale = 1; /* another handle appended (or a row was undone) */
    }
    if (s->corr_stale)
        return corr_reload(s);
    return 0;
}

/* Whether the event at seq has exactly this triple: 1 yes, 0 no, < 0 error. */
static int corr_row_is(store *s, int64_t seq, const char *channel, const char *device,
                       const char *corr)
{
    sqlite3_stmt *st = store__stmt(s, STORE__CORR_ROW);
    int rc;

    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        const char *d = (const char *)sqlite3_column_text(st, 1);
        const char *k = (const char *)sqlite3_column_text(st, 2);
        rc = c && d && k && strcmp(c, channel) == 0 && strcmp(d, device) == 0 &&
             strcmp(k, corr) == 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = store__fail(s, sqlite3_extended_errcode(s->db), "cannot read an event");
    }
    sqlite3_reset(st);
    return rc;
}

void store__corr_prefetch(const store *s, uint64_t hash)
{
    if (s->corr_slots)
        __builtin_prefetch(&s->corr_slots[corr_home(s, (uint32_t)(hash >> 32))]);
}

int store__corr_find_mem(store *s, uint64_t hash, const char *channel, const char *device,
                         const char *corr, int64_t *seq)
{
    int rc;

    device = device ? device : "";
    if (s->corr_slots) {
        uint32_t tag = (uint32_t)(hash >> 32);

        for (size_t i = corr_home(s, tag); s->corr_slots[i] != 0; i = (i + 1) & s->corr_slot_mask) {
            const store__corr_entry *e;
            if (SLOT_TAG(s->corr_slots[i]) != tag)
                continue;
            e = &s->corr_ring[SLOT_POS(s->corr_slots[i])];
            if (e->hash != hash)
                continue;
            rc = corr_row_is(s, e->seq, channel, device, corr);
            if (rc < 0)
                return rc;
            if (rc) {
                *seq = e->seq;
                return 1;
            }
        }
    }
    return 0;
}

void store__corr_bind(sqlite3_stmt *st, int i, const char *corr)
{
    int64_t num = store__corr_num(corr);

    if (num >= 0)
        sqlite3_bind_int64(st, i, num);
    else
        sqlite3_bind_text(st, i, corr, -1, SQLITE_STATIC);
}

int store__corr_find_table(store *s, const char *channel, const char *device, const char *corr,
                           int64_t *seq)
{
    sqlite3_stmt *st;
    int rc;

    st = store__stmt(s, STORE__CORR_FIND);
    if (!st)
        return STORE_EIO;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, device ? device : "", -1, SQLITE_STATIC);
    store__corr_bind(st, 3, corr);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        rc = 1;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = store__fail(s, sqlite3_extended_errcode(s->db), "correlation lookup failed");
    }
    sqlite3_reset(st);
    return rc;
}

int store__corr_move(store *s, size_t max)
{
    size_t k = max < s->corr_n ? max : s->corr_n;
    int64_t upto;
    int rc;

    if (k == 0)
        return 0;
    /*
     * Up to the k-th id's own seq, not further: a seq above it may be
     * taken again by a later event (SQLite reuses max(rowid) + 1 after an
     * undone append), which must not land below the checkpoint.
     */
    upto = corr_at(s, k - 1)->seq;
    rc = store__index_upto(s, STORE__CORR_MOVE, STORE__CORR_MARK, upto,
                           "cannot index correlation ids");
    if (rc != 0) {
        s->corr_stale = 1; /* the statements may have half-run: reload after the rollback */
        return rc;
    }
    corr_drop_oldest(s, k);
    return 0;
}

size_t store__corr_pending(const store *s)
{
    return s->corr_n;
}
