/* SPDX-License-Identifier: MIT */
/*
 * The write path: batches (BEGIN IMMEDIATE ... COMMIT), appending events and
 * dead letters with idempotency (correlation ids: event_corr plus the
 * writer's in-memory tail, store_corr.c; without one: the persisted
 * in-memory hash window mirrored by the dedupe table, store_dedupe.c). A
 * failed append leaves nothing behind without a per-append savepoint (see
 * unit_begin). Guarantees: store/store.h and docs/store.md "Dedupe".
 */
#include "store_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "devices/devices.h"

enum { DEDUPE_EVENT = 0, DEDUPE_DEAD_LETTER = 1 };

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

uint64_t store_hash(const void *const *parts, const size_t *lens, size_t n)
{
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = parts[i];
        for (size_t j = 0; j < lens[i]; j++) {
            h ^= p[j];
            h *= FNV_PRIME;
        }
        if (i + 1 < n)
            h *= FNV_PRIME; /* the 0 separator: h ^= 0 is a no-op */
    }
    return h;
}

static int tx_stmt(store *s, enum store__stmt_id id, const char *what)
{
    sqlite3_stmt *st = store__stmt(s, id);
    return st ? store__step_done(s, st, what) : STORE_EIO;
}

/* What memory mirrors of the open transaction must be reloaded after it is undone. */
static void mark_stale(store *s)
{
    s->window_stale = 1;
    s->corr_stale = 1;
    s->dev_indexed = -1; /* a device index flush may have been undone */
}

/* Rolls back the open transaction, if SQLite still has one, keeping errmsg. */
static void tx_abort(store *s)
{
    char keep[sizeof(s->errmsg)];

    if (sqlite3_get_autocommit(s->db) != 0)
        return;
    memcpy(keep, s->errmsg, sizeof(keep));
    tx_stmt(s, STORE__ROLLBACK, "rollback failed");
    memcpy(s->errmsg, keep, sizeof(keep));
}

int store_begin(store *s)
{
    int rc;

    if (!s)
        return STORE_EINVAL;
    if (s->flags & STORE_OPEN_READONLY)
        return store__error(s, STORE_EREADONLY, "store opened read-only");
    if (s->in_batch)
        return store__error(s, STORE_ESTATE, "batch already open");
    rc = tx_stmt(s, STORE__BEGIN, "cannot begin batch");
    if (rc != 0)
        return rc;
    s->in_batch = 1;
    s->batch_broken = 0;
    s->batch_synced = 0;
    return 0;
}

int store_rollback(store *s)
{
    if (!s)
        return STORE_EINVAL;
    if (!s->in_batch)
        return store__error(s, STORE_ESTATE, "no batch open");
    s->in_batch = 0;
    s->batch_broken = 0;
    tx_abort(s);
    mark_stale(s); /* the batch's hashes and correlation ids are gone: reload */
    return 0;
}

int store_commit(store *s)
{
    int rc;

    if (!s)
        return STORE_EINVAL;
    if (!s->in_batch)
        return store__error(s, STORE_ESTATE, "no batch open");
    s->in_batch = 0;
    if (s->batch_broken) {
        /* SQLite rolled the transaction back after an error inside the batch */
        s->batch_broken = 0;
        rc = store__error(s, STORE_EIO, "batch was rolled back after an earlier error");
        goto fail;
    }
    rc = s->window_stale ? 0 : store__dedupe_prune(s);
    if (rc == 0)
        rc = tx_stmt(s, STORE__COMMIT, "cannot commit batch");
    if (rc == 0)
        return 0;
fail:
    /* a failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY): drop it */
    tx_abort(s);
    mark_stale(s);
    return rc;
}

/*
 * Brings the in-memory window in step with the dedupe table, inside the
 * transaction (the write lock is held, so nobody else appends meanwhile):
 * loads it when stale, and reloads it when another handle appended hashes
 * since (max(ord) moved), so two appending handles on one file still see
 * each other's hashes. One O(log n) query per transaction.
 */
static int window_sync(store *s)
{
    sqlite3_stmt *st;
    int rc;

    if (!s->window_stale) {
        st = store__stmt(s, STORE__DEDUPE_MAX);
        if (!st)
            return STORE_EIO;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            rc = store__fail(s, sqlite3_extended_errcode(s->db), "cannot read dedupe window");
            sqlite3_reset(st);
            return rc;
        }
        if (sqlite3_column_int64(st, 0) != s->next_ord - 1)
            s->window_stale = 1;
        sqlite3_reset(st);
    }
    return s->window_stale ? store__reload_ord(s) : 0;
}

/*
 * The first append of a transaction: syncs the hash window and the
 * correlation tail, and moves a full tail into event_corr.
 */
static int tx_sync(store *s)
{
    int64_t moved;
    int rc = window_sync(s);

    if (rc == 0)
        rc = store__corr_sync(s);
    if (rc == 0 && store__corr_pending(s) >= s->corr_tail_max)
        rc = store__corr_move(s, store__corr_pending(s) - s->corr_tail_max +
                                     (s->corr_tail_max < STORE__CORR_FORCED_MOVE
                                          ? s->corr_tail_max : STORE__CORR_FORCED_MOVE));
    if (rc == 0)
        rc = store__dev_move(s, s->dev_tail_max, STORE__CORR_FORCED_MOVE, &moved);
    return rc;
}

/* The device index's checkpoint and the last seq: the events after the one wait. */
static int dev_pending(store *s, int64_t *indexed, int64_t *last)
{
    int rc = store__stmt_int(s, STORE__DEV_INDEXED, "cannot read the device checkpoint", indexed);

    if (rc == 0)
        s->dev_indexed = *indexed;
    return rc != 0 ? rc : store__stmt_int(s, STORE__EV_MAX_SEQ, "cannot read the last seq", last);
}

/*
 * Whether fewer than min events wait for the device index, by what this
 * handle knows without a statement: its last seq (corr_known_seq, kept by
 * its appends) and the checkpoint it last read or wrote. 0 when it does
 * not know (then the caller asks SQLite). The idle ingest asks after every
 * commit of a light stream, and two statements outside a transaction cost
 * two read transactions (10-15 us, 2026-12-06). Appends of another handle
 * since this one's last transaction are not seen until its next one
 * (corr_sync), so they are indexed one transaction later; the bridge has
 * one appending handle per file.
 */
static int dev_known_below(const store *s, int64_t min)
{
    return !s->corr_stale && s->dev_indexed >= 0 &&
           s->corr_known_seq - s->dev_indexed < (min > 1 ? min : 1);
}

int store__dev_move(store *s, int64_t min, int64_t max, int64_t *moved)
{
    int64_t indexed, last, upto;
    int rc;

    *moved = 0;
    if (dev_known_below(s, min))
        return 0;
    rc = dev_pending(s, &indexed, &last);
    if (rc != 0 || last - indexed < (min > 1 ? min : 1))
        return rc;
    /* any seq <= last is taken or can never be (a new rowid is max + 1) */
    upto = last - indexed > max ? indexed + max : last;
    rc = store__index_upto(s, STORE__DEV_MOVE, STORE__DEV_MARK, upto, "cannot index device events");
    if (rc == 0) {
        *moved = upto - indexed;
        s->dev_indexed = upto;
    }
    return rc;
}

/*
 * Opens the unit an append runs in: the open batch, else a transaction of
 * its own. No savepoint: every statement of an append either fails before
 * writing (constraint checks of a one-row INSERT run before the row is
 * written) or is undone by hand (undo_row) or marks the batch broken.
 * The first append of a transaction syncs the window and starts the
 * checkpointer (so projector handles, which only use store_begin /
 * store_commit for their folds, get neither).
 */
static int unit_begin(store *s)
{
    int rc;

    if (s->flags & STORE_OPEN_READONLY)
        return store__error(s, STORE_EREADONLY, "store opened read-only");
    if (s->in_batch) {
        if (s->batch_broken || sqlite3_get_autocommit(s->db) != 0) {
            /* never append outside the batch's transaction (it would autocommit) */
            s->batch_broken = 1;
            mark_stale(s);
            return store__error(s, STORE_EIO, "batch was rolled back after an earlier error");
        }
        if (s->batch_synced)
            return 0;
        store__ckpt_start(s);
        rc = tx_sync(s);
        if (rc == 0)
            s->batch_synced = 1;
        return rc;
    }
    store__ckpt_start(s);
    rc = tx_stmt(s, STORE__BEGIN, "cannot begin append");
    if (rc != 0)
        return rc;
    rc = tx_sync(s);
    if (rc != 0)
        tx_abort(s);
    return rc;
}

/* Ends the unit: commits a single-shot append; rc is the append's result. */
static int unit_end(store *s, int rc)
{
    if (s->in_batch) {
        /* I/O, full, nomem, busy errors can make SQLite roll the whole batch back */
        if (rc < 0 && sqlite3_get_autocommit(s->db) != 0) {
            s->batch_broken = 1;
            mark_stale(s);
        }
        return rc;
    }
    if (rc >= 0) {
        int rc2 = store__dedupe_prune(s);
        if (rc2 == 0)
            rc2 = tx_stmt(s, STORE__COMMIT, "cannot commit append");
        if (rc2 == 0)
            return rc;
        rc = rc2;
        mark_stale(s); /* the hash or correlation id just remembered was not committed */
    }
    tx_abort(s);
    return rc;
}

/*
 * Deletes the row an append just inserted when its dedupe row could not be
 * written, so no event is ever committed without its window entry. If that
 * fails too the batch cannot be committed.
 */
static void undo_row(store *s, enum store__stmt_id id, int64_t rowid)
{
    char keep[sizeof(s->errmsg)];
    sqlite3_stmt *st;

    if (!s->in_batch || sqlite3_get_autocommit(s->db) != 0)
        return; /* single-shot: unit_end rolls back; no transaction: nothing left */
    memcpy(keep, s->errmsg, sizeof(keep));
    st = store__stmt(s, id);
    if (!st) {
        s->batch_broken = 1;
    } else {
        sqlite3_bind_int64(st, 1, rowid);
        if (store__step_done(s, st, "cannot undo append") != 0 || sqlite3_changes(s->db) != 1)
            s->batch_broken = 1;
    }
    memcpy(s->errmsg, keep, sizeof(keep));
}

/* Appends one JSON-escaped byte range to buf at *pos (buf large enough). */
static void json_escape(char *buf, size_t *pos, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t j = *pos;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[j++] = '\\';
            buf[j++] = (char)c;
        } else if (c < 0x20) {
            buf[j++] = '\\';
            buf[j++] = 'u';
            buf[j++] = '0';
            buf[j++] = '0';
            buf[j++] = hex[c >> 4];
            buf[j++] = hex[c & 15];
        } else {
            buf[j++] = (char)c;
        }
    }
    *pos = j;
}

/*
 * Builds {"name":"value",...} from router slices; caller frees; NULL on
 * ENOMEM. The caller has bounded n, every name (STORE_MAX_NAME) and value
 * (STORE_MAX_TOPIC), so cap cannot overflow.
 */
static char *params_to_json(const asyncapi_route_param *p, size_t n)
{
    size_t cap = 3, pos = 0;
    char *buf;

    for (size_t i = 0; i < n; i++)
        cap += 6 * ((p[i].name ? strlen(p[i].name) : 0) + p[i].len) + 6;
    buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[pos++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf[pos++] = ',';
        buf[pos++] = '"';
        json_escape(buf, &pos, p[i].name ? p[i].name : "", p[i].name ? strlen(p[i].name) : 0);
        buf[pos++] = '"';
        buf[pos++] = ':';
        buf[pos++] = '"';
        json_escape(buf, &pos, p[i].value ? p[i].value : "", p[i].value ? p[i].len : 0);
        buf[pos++] = '"';
    }
    buf[pos++] = '}';
    buf[pos] = '\0';
    return buf;
}

static int check_str(store *s, const char *v, size_t max, int required, const char *what)
{
    if (!v) {
        if (required)
            return store__error(s, STORE_EINVAL, "%s is missing", what);
        return 0;
    }
    if (strnlen(v, max + 1) > max)
        return store__error(s, STORE_EINVAL, "%s is longer than %zu bytes", what, max);
    if (required && !*v && strcmp(what, "topic") != 0)
        return store__error(s, STORE_EINVAL, "%s is empty", what);
    return 0;
}

int store_append_event(store *s, const store_event *ev, int64_t *seq)
{
    const char *device, *corr, *params;
    char *params_buf = NULL;
    size_t plen;
    uint64_t hash = 0, key = 0;
    int64_t found = 0, new_seq, num = -1;
    int may = 0; /* event_corr may hold the correlation id: the INSERT checks */
    sqlite3_stmt *st;
    int rc;

    if (!s || !ev)
        return STORE_EINVAL;
    if ((rc = check_str(s, ev->channel, STORE_MAX_NAME, 1, "channel")) ||
        (rc = check_str(s, ev->message, STORE_MAX_NAME, 0, "message")) ||
        (rc = check_str(s, ev->topic, STORE_MAX_TOPIC, 1, "topic")) ||
        (rc = check_str(s, ev->device_id, STORE_MAX_DEVICE, 0, "device id")) ||
        (rc = check_str(s, ev->correlation_id, STORE_MAX_CORRELATION, 0, "correlation id")))
        return rc;
    if (!ev->payload)
        return store__error(s, STORE_EINVAL, "payload is missing");
    plen = ev->payload_len ? ev->payload_len : strlen(ev->payload);
    if (plen == 0 || plen > STORE_MAX_PAYLOAD || memchr(ev->payload, '\0', plen))
        return store__error(s, STORE_EINVAL, "payload is empty, too long or has a NUL byte");
    device = (ev->device_id && *ev->device_id) ? ev->device_id : NULL;
    if (device && devices_id_check(device, strlen(device)) != 0)
        return store__error(s, STORE_EINVAL, "device id is not printable utf-8");
    corr = (ev->correlation_id && *ev->correlation_id) ? ev->correlation_id : NULL;
    if (ev->n_params && !ev->params && !ev->params_json)
        return store__error(s, STORE_EINVAL, "params missing");
    if (corr) {
        key = store__corr_key(ev->channel, device);
        hash = store__corr_hash(key, corr);
        store__corr_prefetch(s, hash); /* the table line loads during the checks below */
    }
    if (!store__json_valid(ev->payload, plen))
        return store__error(s, STORE_EINVAL, "payload is not valid json");
    params = ev->params_json;
    if (params && !store__json_valid(params, strlen(params)))
        return store__error(s, STORE_EINVAL, "params is not valid json");
    if (!params) {
        if (ev->n_params > ASYNCAPI_ROUTE_MAX_PARAMS)
            return store__error(s, STORE_EINVAL, "too many params");
        for (size_t i = 0; i < ev->n_params; i++)
            if ((ev->params[i].name && strnlen(ev->params[i].name, STORE_MAX_NAME + 1) > STORE_MAX_NAME) ||
                ev->params[i].len > STORE_MAX_TOPIC || (!ev->params[i].value && ev->params[i].len))
                return store__error(s, STORE_EINVAL, "param %zu is too long", i);
        params_buf = params_to_json(ev->params, ev->n_params);
        if (!params_buf)
            return store__error(s, STORE_ENOMEM, "cannot build params json");
        params = params_buf;
    }

    if (!corr) {
        const void *parts[2] = {ev->topic, ev->payload};
        size_t lens[2] = {strlen(ev->topic), plen};
        hash = store_hash(parts, lens, 2);
    }

    rc = unit_begin(s);
    if (rc != 0)
        goto out;
    if (corr) {
        rc = store__corr_find_mem(s, hash, ev->channel, device, corr, &found);
        if (rc != 0) {
            rc = rc > 0 ? STORE_DUP : rc;
            goto out_unit;
        }
    } else if (store__dedupe_find(s, hash, DEDUPE_EVENT, &found)) {
        rc = STORE_DUP;
        goto out_unit;
    }
    if (corr) {
        may = store__corr_table_may_have(s, key, ev->channel, device, corr, &num);
        if (may < 0) {
            rc = may;
            goto out_unit;
        }
    }
    st = store__stmt(s, may ? STORE__EV_INSERT : STORE__EV_INSERT_NEW);
    if (!st) {
        rc = STORE_EIO;
        goto out_unit;
    }
    sqlite3_bind_text(st, 1, ev->channel, -1, SQLITE_STATIC);
    if (ev->message)
        sqlite3_bind_text(st, 2, ev->message, -1, SQLITE_STATIC);
    if (device)
        sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ev->topic, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, params, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, ev->payload, (int)plen, SQLITE_STATIC);
    if (corr)
        sqlite3_bind_text(st, 7, corr, -1, SQLITE_STATIC);
    if (may)
        store__corr_bind(st, 9, corr);
    sqlite3_bind_int64(st, 8, ev->received_at ? ev->received_at : store__now_ms());
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        rc = store__fail(s, sqlite3_extended_errcode(s->db), "cannot insert event");
        goto out_unit;
    }
    if (may && sqlite3_changes(s->db) == 0) {
        /* the INSERT found the triple in event_corr: report its seq */
        rc = store__corr_find_table(s, ev->channel, device, corr, &found);
        if (rc == 1)
            rc = STORE_DUP;
        else if (rc == 0)
            rc = store__error(s, STORE_EIO, "event insert ignored without a stored duplicate");
        goto out_unit;
    }
    new_seq = sqlite3_last_insert_rowid(s->db);
    s->corr_known_seq = new_seq;
    if (corr) {
        rc = store__corr_add(s, hash, new_seq, key, num);
        if (rc != 0) {
            undo_row(s, STORE__EV_DELETE, new_seq);
            goto out_unit;
        }
    } else {
        rc = store__dedupe_insert(s, hash, DEDUPE_EVENT, new_seq);
        if (rc != 0) {
            undo_row(s, STORE__EV_DELETE, new_seq);
            goto out_unit;
        }
        store__dedupe_remember(s, hash, DEDUPE_EVENT, new_seq);
    }
    found = new_seq;
    rc = 0;

out_unit:
    rc = unit_end(s, rc);
    if (rc >= 0 && seq)
        *seq = found;
out:
    free(params_buf);
    return rc;
}

/* Whether an index flush may run on s now (a writer, no broken batch). */
static int flush_check(store *s)
{
    if (s->flags & STORE_OPEN_READONLY)
        return store__error(s, STORE_EREADONLY, "store opened read-only");
    if (s->in_batch && (s->batch_broken || sqlite3_get_autocommit(s->db) != 0))
        return store__error(s, STORE_EIO, "batch was rolled back after an earlier error");
    return 0;
}

/* Ends an index flush: commits its own transaction; after an error undoes
 * it (or marks the batch broken if SQLite dropped it). */
static int flush_end(store *s, int own, int rc, const char *commit_what)
{
    if (rc == 0 && own)
        rc = tx_stmt(s, STORE__COMMIT, commit_what);
    if (rc == 0)
        return 0;
    if (own)
        tx_abort(s);
    else if (sqlite3_get_autocommit(s->db) != 0)
        s->batch_broken = 1;
    mark_stale(s);
    return rc;
}

int store_corr_flush(store *s, size_t min, size_t max)
{
    size_t n = 0;
    int own, rc;

    if (!s)
        return STORE_EINVAL;
    if ((rc = flush_check(s)) != 0)
        return rc;
    /* stale: only min 0 reloads the tail to see what is pending */
    if (s->corr_stale ? min > 0 : store__corr_pending(s) == 0 || store__corr_pending(s) < min)
        return 0;
    own = !s->in_batch;
    if (own && (rc = tx_stmt(s, STORE__BEGIN, "cannot begin indexing correlation ids")) != 0)
        return rc;
    rc = store__corr_sync(s);
    if (rc == 0) {
        n = store__corr_pending(s) < max ? store__corr_pending(s) : max;
        rc = store__corr_move(s, n);
    }
    rc = flush_end(s, own, rc, "cannot commit indexed correlation ids");
    return rc != 0 ? rc : n > INT_MAX ? INT_MAX : (int)n;
}

int store_device_flush(store *s, size_t min, size_t max)
{
    int64_t moved = 0, indexed, last;
    int own, rc;

    if (!s || max == 0)
        return STORE_EINVAL;
    if ((rc = flush_check(s)) != 0)
        return rc;
    if (min > INT32_MAX)
        min = INT32_MAX;
    if (max > INT32_MAX)
        max = INT32_MAX;
    own = !s->in_batch;
    /* nothing to do is found without a write transaction, mostly without a statement */
    if (own && dev_known_below(s, (int64_t)min))
        return 0;
    if (own && ((rc = dev_pending(s, &indexed, &last)) != 0 ||
                last - indexed < (int64_t)(min > 1 ? min : 1)))
        return rc;
    if (own && (rc = tx_stmt(s, STORE__BEGIN, "cannot begin indexing device events")) != 0)
        return rc;
    rc = store__dev_move(s, (int64_t)min, (int64_t)max, &moved);
    rc = flush_end(s, own, rc, "cannot commit indexed device events");
    return rc != 0 ? rc : (int)moved;
}

/* Extracts reason.kind into a new string; EINVAL if reason is not right. */
static int reason_kind(store *s, const char *reason, char **kind)
{
    cJSON *root, *k;
    int rc = 0;

    *kind = NULL;
    root = cJSON_ParseWithLength(reason, strlen(reason));
    if (!cJSON_IsObject(root)) {
        rc = store__error(s, STORE_EINVAL, "reason is not a json object");
        goto out;
    }
    k = cJSON_GetObjectItemCaseSensitive(root, "kind");
    if (!cJSON_IsString(k) || !k->valuestring || !*k->valuestring ||
        strlen(k->valuestring) > STORE_MAX_NAME) {
        rc = store__error(s, STORE_EINVAL, "reason has no string \"kind\"");
        goto out;
    }
    *kind = strdup(k->valuestring);
    if (!*kind)
        rc = store__error(s, STORE_ENOMEM, "out of memory");
out:
    cJSON_Delete(root);
    return rc;
}

int store_append_dead_letter(store *s, const store_dead_letter *dl, int64_t *id)
{
    char *kind = NULL;
    uint64_t hash;
    int64_t found = 0;
    sqlite3_stmt *st;
    int rc;

    if (!s || !dl)
        return STORE_EINVAL;
    if ((rc = check_str(s, dl->topic, STORE_MAX_TOPIC, 1, "topic")) ||
        (rc = check_str(s, dl->channel, STORE_MAX_NAME, 0, "channel")) ||
        (rc = check_str(s, dl->reason_json, STORE_MAX_REASON, 1, "reason")))
        return rc;
    if (dl->payload_len > STORE_MAX_PAYLOAD || (dl->payload_len && !dl->payload))
        return store__error(s, STORE_EINVAL, "payload too long or missing");
    rc = reason_kind(s, dl->reason_json, &kind);
    if (rc != 0)
        return rc;
    {
        const void *parts[3] = {dl->topic, dl->payload ? dl->payload : "", kind};
        size_t lens[3] = {strlen(dl->topic), dl->payload_len, strlen(kind)};
        hash = store_hash(parts, lens, 3);
    }

    rc = unit_begin(s);
    if (rc != 0)
        goto out;
    if (store__dedupe_find(s, hash, DEDUPE_DEAD_LETTER, &found)) {
        rc = STORE_DUP;
        goto out_unit;
    }
    st = store__stmt(s, STORE__DL_INSERT);
    if (!st) {
        rc = STORE_EIO;
        goto out_unit;
    }
    sqlite3_bind_text(st, 1, dl->topic, -1, SQLITE_STATIC);
    if (dl->channel)
        sqlite3_bind_text(st, 2, dl->channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, dl->payload ? dl->payload : "", (int)dl->payload_len,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 5, dl->reason_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, dl->received_at ? dl->received_at : store__now_ms());
    rc = store__step_done(s, st, "cannot insert dead letter");
    if (rc != 0)
        goto out_unit;
    found = sqlite3_last_insert_rowid(s->db);
    rc = store__dedupe_insert(s, hash, DEDUPE_DEAD_LETTER, found);
    if (rc != 0) {
        undo_row(s, STORE__DL_DELETE, found);
        goto out_unit;
    }
    store__dedupe_remember(s, hash, DEDUPE_DEAD_LETTER, found);

out_unit:
    rc = unit_end(s, rc);
    if (rc >= 0 && id)
        *id = found;
out:
    free(kind);
    return rc;
}
