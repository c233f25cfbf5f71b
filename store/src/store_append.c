/* SPDX-License-Identifier: MIT */
/*
 * The write path: batches (BEGIN IMMEDIATE ... COMMIT), appending events and
 * dead letters with idempotency (correlation id lookup or the persisted
 * hash window). Each append runs inside a savepoint so a failed one leaves
 * nothing behind. Guarantees: store/store.h and docs/store.md "Dedupe".
 */
#include "store_int.h"

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

static int64_t hash_i64(uint64_t h)
{
    int64_t v;

    memcpy(&v, &h, sizeof(v));
    return v;
}

static int tx_stmt(store *s, enum store__stmt_id id, const char *what)
{
    sqlite3_stmt *st = store__stmt(s, id);
    return st ? store__step_done(s, st, what) : STORE_EIO;
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
    return 0;
}

int store_rollback(store *s)
{
    if (!s)
        return STORE_EINVAL;
    if (!s->in_batch)
        return store__error(s, STORE_ESTATE, "no batch open");
    s->in_batch = 0;
    if (sqlite3_get_autocommit(s->db) == 0)
        tx_stmt(s, STORE__ROLLBACK, "rollback failed");
    store__reload_ord(s);
    return 0;
}

int store_commit(store *s)
{
    int rc;

    if (!s)
        return STORE_EINVAL;
    if (!s->in_batch)
        return store__error(s, STORE_ESTATE, "no batch open");
    rc = tx_stmt(s, STORE__COMMIT, "cannot commit batch");
    if (rc == 0) {
        s->in_batch = 0;
        return 0;
    }
    /* a failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY): drop it */
    s->in_batch = 0;
    if (sqlite3_get_autocommit(s->db) == 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    store__reload_ord(s);
    return rc;
}

/* Opens the unit an append runs in: a savepoint in a batch, else a transaction. */
static int unit_begin(store *s)
{
    if (s->flags & STORE_OPEN_READONLY)
        return store__error(s, STORE_EREADONLY, "store opened read-only");
    return tx_stmt(s, s->in_batch ? STORE__SAVEPOINT : STORE__BEGIN, "cannot begin append");
}

static int unit_end(store *s, int rc)
{
    if (rc >= 0) {
        int rc2 = tx_stmt(s, s->in_batch ? STORE__RELEASE : STORE__COMMIT,
                          "cannot commit append");
        if (rc2 == 0)
            return rc;
        rc = rc2;
        if (!s->in_batch && sqlite3_get_autocommit(s->db) == 0)
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        store__reload_ord(s);
        return rc;
    }
    if (s->in_batch) {
        char keep[sizeof(s->errmsg)];
        memcpy(keep, s->errmsg, sizeof(keep));
        tx_stmt(s, STORE__ROLLBACK_TO, "rollback failed");
        tx_stmt(s, STORE__RELEASE, "release failed");
        memcpy(s->errmsg, keep, sizeof(keep));
    } else if (sqlite3_get_autocommit(s->db) == 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    store__reload_ord(s);
    return rc;
}

/* Looks up a hash in the window; 1 + *ref if found, 0 if not, < 0 error. */
static int dedupe_find(store *s, int64_t hash, int kind, int64_t *ref)
{
    sqlite3_stmt *st = store__stmt(s, STORE__DEDUPE_FIND);
    int rc;

    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, hash);
    sqlite3_bind_int(st, 2, kind);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *ref = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store__fail(s, rc, "dedupe lookup failed");
}

/* Records a hash in the window and drops what fell out of it. */
static int dedupe_add(store *s, int64_t hash, int kind, int64_t ref)
{
    sqlite3_stmt *st = store__stmt(s, STORE__DEDUPE_INSERT);
    int rc;

    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, s->next_ord);
    sqlite3_bind_int64(st, 2, hash);
    sqlite3_bind_int(st, 3, kind);
    sqlite3_bind_int64(st, 4, ref);
    rc = store__step_done(s, st, "cannot record dedupe hash");
    if (rc != 0)
        return rc;
    st = store__stmt(s, STORE__DEDUPE_PRUNE);
    if (!st)
        return STORE_EIO;
    sqlite3_bind_int64(st, 1, s->next_ord - s->window);
    rc = store__step_done(s, st, "cannot prune dedupe window");
    if (rc == 0)
        s->next_ord++;
    return rc;
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

/* Builds {"name":"value",...} from router slices; caller frees. */
static char *params_to_json(const asyncapi_route_param *p, size_t n)
{
    size_t cap = 3, pos = 0;
    char *buf;

    for (size_t i = 0; i < n; i++) {
        size_t nl = p[i].name ? strlen(p[i].name) : 0;
        if (nl > STORE_MAX_NAME || p[i].len > STORE_MAX_TOPIC)
            return NULL;
        cap += 6 * (nl + p[i].len) + 6;
    }
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
    int64_t hash = 0, found = 0, new_seq;
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
    params = ev->params_json;
    if (!params) {
        if (ev->n_params > ASYNCAPI_ROUTE_MAX_PARAMS)
            return store__error(s, STORE_EINVAL, "too many params");
        params_buf = params_to_json(ev->params, ev->n_params);
        if (!params_buf)
            return store__error(s, STORE_ENOMEM, "cannot build params json");
        params = params_buf;
    }

    rc = unit_begin(s);
    if (rc != 0)
        goto out;
    if (corr) {
        st = store__stmt(s, STORE__EV_FIND_CORR);
        if (!st) {
            rc = STORE_EIO;
            goto out_unit;
        }
        sqlite3_bind_text(st, 1, ev->channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, device ? device : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, corr, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            found = sqlite3_column_int64(st, 0);
            rc = STORE_DUP;
        } else {
            rc = rc == SQLITE_DONE ? 0 : store__fail(s, rc, "correlation lookup failed");
        }
        sqlite3_reset(st);
    } else {
        const void *parts[2] = {ev->topic, ev->payload};
        size_t lens[2] = {strlen(ev->topic), plen};
        hash = hash_i64(store_hash(parts, lens, 2));
        rc = dedupe_find(s, hash, DEDUPE_EVENT, &found);
        if (rc == 1)
            rc = STORE_DUP;
    }
    if (rc != 0)
        goto out_unit;

    st = store__stmt(s, STORE__EV_INSERT);
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
    sqlite3_bind_int64(st, 8, ev->received_at ? ev->received_at : store__now_ms());
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(s->db);
        if (ext == SQLITE_CONSTRAINT_CHECK)
            rc = store__error(s, STORE_EINVAL, "payload or params is not valid json");
        else
            rc = store__fail(s, ext, "cannot insert event");
        goto out_unit;
    }
    new_seq = sqlite3_last_insert_rowid(s->db);
    if (!corr) {
        rc = dedupe_add(s, hash, DEDUPE_EVENT, new_seq);
        if (rc != 0)
            goto out_unit;
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
    int64_t hash, found = 0;
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
        hash = hash_i64(store_hash(parts, lens, 3));
    }

    rc = unit_begin(s);
    if (rc != 0)
        goto out;
    rc = dedupe_find(s, hash, DEDUPE_DEAD_LETTER, &found);
    if (rc != 0) {
        if (rc == 1)
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
    rc = dedupe_add(s, hash, DEDUPE_DEAD_LETTER, found);

out_unit:
    rc = unit_end(s, rc);
    if (rc >= 0 && id)
        *id = found;
out:
    free(kind);
    return rc;
}
