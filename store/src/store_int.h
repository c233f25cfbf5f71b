/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the store: the handle, the cached statements and
 * the on-disk schema. docs/store.md has the same tables with the reasons.
 *
 * Schema (PRAGMA user_version = STORE__SCHEMA_VERSION), times in ms since
 * the epoch, JSON columns hold JSON text (SQLite's json_* functions work):
 *
 * | table                  | key                                  | holds                                  |
 * |------------------------|--------------------------------------|----------------------------------------|
 * | events                 | seq INTEGER PRIMARY KEY (rowid)      | channel, message, device_id (NULL =    |
 * |                        |                                      | none), topic, params, payload (JSON,   |
 * |                        |                                      | CHECK json_valid), correlation_id,     |
 * |                        |                                      | received_at. Append only.              |
 * | dead_letters           | id INTEGER PRIMARY KEY               | topic, channel, kind (reason.kind),    |
 * |                        |                                      | payload BLOB (raw), reason JSON, time  |
 * | dedupe                 | ord INTEGER PRIMARY KEY              | hash (FNV-1a 64 as signed), kind (0    |
 * |                        |                                      | event, 1 dead letter), ref (seq / id). |
 * |                        |                                      | Ring of the last `window` ords.        |
 * | devices                | device_id                            | first_seen, last_seen, events,         |
 * |                        |                                      | last_seq, status                       |
 * | device_state           | (device_id, channel)                 | message, seq, received_at, payload     |
 * | rollups                | (device_id, channel, field, bucket)  | count, min, max, sum ('' = no device)  |
 * | projection_checkpoints | name ("projections")                 | seq folded up to and including         |
 *
 * Indexes serve the read patterns: events(device_id, seq) for a device's
 * events newest first with a keyset cursor (seq < ?), events(channel, seq),
 * the rowid for the global log after a seq, a partial UNIQUE index on
 * (channel, coalesce(device_id, ''), correlation_id) for idempotency,
 * dead_letters(channel, id), (kind, id), (received_at), dedupe(hash),
 * devices(last_seen), rollups(channel, field, bucket_start).
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "store/store.h"

#define STORE__SCHEMA_VERSION 1
#define STORE__CHECKPOINT "projections"

/* Cached prepared statements, prepared on first use. */
enum store__stmt_id {
    STORE__BEGIN,
    STORE__COMMIT,
    STORE__ROLLBACK,
    STORE__SAVEPOINT,
    STORE__RELEASE,
    STORE__ROLLBACK_TO,
    STORE__EV_FIND_CORR,
    STORE__DEDUPE_FIND,
    STORE__EV_INSERT,
    STORE__DL_INSERT,
    STORE__DEDUPE_INSERT,
    STORE__DEDUPE_PRUNE,
    STORE__DEDUPE_MAX,
    STORE__CP_GET,
    STORE__CP_SET,
    STORE__PJ_SCAN,
    STORE__PJ_DEVICE,
    STORE__PJ_STATE,
    STORE__PJ_ROLLUP,
    STORE__STMT_COUNT
};

struct store {
    sqlite3 *db;                             /* the connection, owned */
    unsigned flags;                          /* enum store_open_flags */
    int64_t window;                          /* dedupe window size, >= 1 */
    int in_batch;                            /* store_begin called, not yet committed */
    int64_t next_ord;                        /* next dedupe ord (max(ord) + 1) */
    sqlite3_stmt *stmt[STORE__STMT_COUNT];   /* cached statements, owned, NULL until used */
    char errmsg[512];                        /* last failure text, "" if none */
};

/* Returns the cached statement id, reset and unbound, or NULL (errmsg set). */
sqlite3_stmt *store__stmt(store *s, enum store__stmt_id id);
/* Maps a SQLite result code to STORE_E* and records the message in s. */
int store__fail(store *s, int sqlite_rc, const char *what);
/* Records a message for an error that did not come from SQLite; returns err. */
int store__error(store *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs a statement that returns no rows; 0 or STORE_E*. */
int store__step_done(store *s, sqlite3_stmt *st, const char *what);
/* Reloads next_ord from the dedupe table (after a rollback). */
int store__reload_ord(store *s);
/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t store__now_ms(void);

#endif
