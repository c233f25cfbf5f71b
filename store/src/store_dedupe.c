/* SPDX-License-Identifier: MIT */
/*
 * The hash dedupe window of a writer handle: the last `window` rows of the
 * dedupe table mirrored in memory (a ring by ord plus an open-addressing
 * table by hash), so a lookup costs no SQL and an append only adds one row
 * at the end of the dedupe table (no hash index). Old rows are deleted in
 * bulk at commit. Layout and invariants: store_int.h; guarantees:
 * docs/store.md "Dedupe".
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

/* Table bucket of (hash, kind): Fibonacci hashing of the mixed key. */
static size_t bucket(const store *s, uint64_t hash, int kind)
{
    uint64_t k = (hash ^ (uint64_t)kind) * 0x9e3779b97f4a7c15ull;
    return (size_t)(k >> 32) & s->slot_mask;
}

int store__window_alloc(store *s)
{
    size_t n = 4;

    if (s->ring)
        return 0;
    while (n < (size_t)s->window * 2)
        n <<= 1;
    s->ring = calloc((size_t)s->window, sizeof(*s->ring));
    s->slots = calloc(n, sizeof(*s->slots));
    if (!s->ring || !s->slots) {
        store__window_free(s);
        return store__error(s, STORE_ENOMEM, "out of memory for the dedupe window");
    }
    s->slot_mask = n - 1;
    return 0;
}

void store__window_free(store *s)
{
    free(s->ring);
    free(s->slots);
    s->ring = NULL;
    s->slots = NULL;
    s->slot_mask = 0;
}

/* Table position holding (hash, kind), or the free position where it would go. */
static size_t probe(const store *s, uint64_t hash, int kind, int *found)
{
    size_t i = bucket(s, hash, kind);

    for (;;) {
        uint32_t v = s->slots[i];
        const store__dedupe_entry *e;
        if (v == 0) {
            *found = 0;
            return i;
        }
        e = &s->ring[v - 1];
        if (e->hash == hash && e->kind == kind) {
            *found = 1;
            return i;
        }
        i = (i + 1) & s->slot_mask;
    }
}

/* Removes table position i, shifting the probe run back (linear probing). */
static void table_delete(store *s, size_t i)
{
    size_t j = i;

    for (;;) {
        size_t home;
        const store__dedupe_entry *e;
        j = (j + 1) & s->slot_mask;
        if (s->slots[j] == 0)
            break;
        e = &s->ring[s->slots[j] - 1];
        home = bucket(s, e->hash, e->kind);
        /* move j back to i unless its home lies cyclically in (i, j] */
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        s->slots[i] = s->slots[j];
        i = j;
    }
    s->slots[i] = 0;
}

/* Puts an entry with ord into the ring, evicting the one it replaces. */
static void remember(store *s, uint64_t hash, int kind, int64_t ref, int64_t ord)
{
    size_t slot = (size_t)(ord % s->window);
    store__dedupe_entry *e = &s->ring[slot];
    size_t i;
    int found;

    if (e->ord != 0) {
        i = probe(s, e->hash, e->kind, &found);
        /* the table may point to a newer entry with the same key: keep that */
        if (found && s->slots[i] == slot + 1)
            table_delete(s, i);
    }
    e->hash = hash;
    e->kind = kind;
    e->ref = ref;
    e->ord = ord;
    i = probe(s, hash, kind, &found);
    s->slots[i] = (uint32_t)(slot + 1);
}

int store__reload_ord(store *s)
{
    sqlite3_stmt *st;
    int64_t n = 0, max_ord = 0;
    int rc;

    rc = store__window_alloc(s);
    if (rc != 0)
        return rc;
    memset(s->ring, 0, (size_t)s->window * sizeof(*s->ring));
    memset(s->slots, 0, (s->slot_mask + 1) * sizeof(*s->slots));
    st = store__stmt(s, STORE__DEDUPE_LOAD);
    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, s->window);
    /* newest first: an older row with a key already present stays out of the table */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t ord = sqlite3_column_int64(st, 0);
        int64_t h = sqlite3_column_int64(st, 1);
        int kind = sqlite3_column_int(st, 2);
        size_t slot, i;
        int found;
        uint64_t hash;

        memcpy(&hash, &h, sizeof(hash));
        if (n++ == 0)
            max_ord = ord;
        if (ord <= 0 || ord <= max_ord - s->window)
            break; /* outside the window by ord (a gap), or not ours: ords are >= 1 */
        slot = (size_t)(ord % s->window);
        if (s->ring[slot].ord != 0)
            continue;
        s->ring[slot] = (store__dedupe_entry){
            .hash = hash, .kind = kind, .ref = sqlite3_column_int64(st, 3), .ord = ord};
        i = probe(s, hash, kind, &found);
        if (!found)
            s->slots[i] = (uint32_t)(slot + 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store__fail(s, sqlite3_extended_errcode(s->db), "cannot load dedupe window");
    s->next_ord = max_ord + 1;
    s->pruned_ord = 0; /* unknown: the first prune finds out */
    s->window_stale = 0;
    return 0;
}

int store__dedupe_find(store *s, uint64_t hash, int kind, int64_t *ref)
{
    int found;
    size_t i = probe(s, hash, kind, &found);

    if (!found)
        return 0;
    *ref = s->ring[s->slots[i] - 1].ref;
    return 1;
}

int store__dedupe_insert(store *s, uint64_t hash, int kind, int64_t ref)
{
    sqlite3_stmt *st = store__stmt(s, STORE__DEDUPE_INSERT);
    int64_t h;

    if (!st)
        return STORE_EIO;
    memcpy(&h, &hash, sizeof(h));
    sqlite3_bind_int64(st, 1, s->next_ord);
    sqlite3_bind_int64(st, 2, h);
    sqlite3_bind_int(st, 3, kind);
    sqlite3_bind_int64(st, 4, ref);
    return store__step_done(s, st, "cannot record dedupe hash");
}

void store__dedupe_remember(store *s, uint64_t hash, int kind, int64_t ref)
{
    remember(s, hash, kind, ref, s->next_ord);
    s->next_ord++;
}

int store__dedupe_prune(store *s)
{
    int64_t upto = s->next_ord - 1 - s->window;
    int64_t slack = s->window / 16;
    sqlite3_stmt *st;
    int rc;

    if (upto <= s->pruned_ord || upto - s->pruned_ord < (slack > 0 ? slack : 1))
        return 0;
    st = store__stmt(s, STORE__DEDUPE_PRUNE);
    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, upto);
    rc = store__step_done(s, st, "cannot prune dedupe window");
    if (rc == 0)
        s->pruned_ord = upto; /* kept only if the commit succeeds; a rollback reloads */
    return rc;
}
