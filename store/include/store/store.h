/* SPDX-License-Identifier: MIT */
/*
 * The event store: an append-only SQLite log of validated MQTT messages
 * (events), dead letters for the rest, idempotency (correlation id or a
 * bounded hash window), and the projector that folds the log into read
 * models. The schema, the guarantees and the query patterns are in
 * docs/store.md; the schema table is also in store/src/store_int.h.
 *
 * Threads: a `store` handle is used by one thread at a time (the ingest
 * thread owns the writer; each HTTP thread opens its own read-only handle).
 * The projector runs its own thread with its own connection.
 * store_projector_notify is the only call that may come from any thread.
 *
 * Return convention: 0 (or a documented positive value) on success,
 * a negative STORE_E* code on failure; store_errmsg() then says why
 * (SQLite's message copied, lowercase first).
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "asyncapi/router.h"

enum store_errno {
    STORE_OK = 0,
    STORE_DUP = 1,        /* not an error: the message is a duplicate, nothing stored */
    STORE_ENOMEM = -1,    /* allocation failed */
    STORE_EINVAL = -2,    /* bad argument: NULL, too long, invalid JSON text, bad option */
    STORE_EIO = -3,       /* SQLite failed (I/O, cannot open, ...): see store_errmsg */
    STORE_EBUSY = -4,     /* the database stayed locked longer than busy_timeout */
    STORE_EFULL = -5,     /* disk or database full */
    STORE_ECORRUPT = -6,  /* the file is not a database or is corrupt */
    STORE_ESCHEMA = -7,   /* written by a newer asyncbridge (user_version too high) */
    STORE_ESTATE = -8,    /* call out of order: begin twice, commit without begin, ... */
    STORE_ENOTFOUND = -9, /* no such row */
    STORE_EREADONLY = -10,/* a write on a read-only handle */
};

/* Returns a static, human readable text for a STORE_* code. */
const char *store_strerror(int err);

/* Limits enforced on appended records (bytes, excluding the NUL). */
#define STORE_MAX_NAME 1024            /* channel, message id */
#define STORE_MAX_TOPIC 65535          /* MQTT's limit */
#define STORE_MAX_DEVICE 128           /* == DEVICES_ID_MAX */
#define STORE_MAX_CORRELATION 256      /* == DEVICES_CORR_MAX */
#define STORE_MAX_PAYLOAD (16u << 20)  /* event payload JSON / dead-letter bytes */
#define STORE_MAX_REASON (64u << 10)   /* dead-letter reason JSON */

#define STORE_DEDUPE_WINDOW_DEFAULT 10000
#define STORE_BUSY_TIMEOUT_DEFAULT 5000 /* ms */

typedef struct store store;

enum store_open_flags {
    STORE_OPEN_READONLY = 1 << 0,   /* read-only connection (HTTP readers); no migration */
    STORE_OPEN_SYNC_FULL = 1 << 1,  /* PRAGMA synchronous=FULL (default NORMAL) */
    STORE_OPEN_NO_CREATE = 1 << 2,  /* fail with EIO if the file does not exist */
};

/* Options; a NULL pointer or zero fields mean the defaults. */
typedef struct store_options {
    unsigned flags;         /* enum store_open_flags */
    int busy_timeout_ms;    /* 0 -> STORE_BUSY_TIMEOUT_DEFAULT; < 0 -> none */
    size_t dedupe_window;   /* hashes remembered, 0 -> STORE_DEDUPE_WINDOW_DEFAULT;
                               at most 2^28 (EINVAL); ~45 bytes of memory each */
} store_options;

/*
 * Opens (creating if needed) the store at path (":memory:" works for tests,
 * but then the projector cannot share it). Sets WAL mode, synchronous,
 * busy_timeout, foreign keys off, and migrates the schema to the current
 * version (PRAGMA user_version) in one transaction. A read-only handle does
 * not migrate and fails with ESCHEMA if the file is not at the current version.
 * Parameters: opt may be NULL; err and diag may be NULL (diag: the reason
 *   text, truncated to diag_size).
 * Returns a handle (store_close) or NULL with *err = EINVAL (path NULL or
 *   empty, dedupe_window too large), EIO (cannot open / not writable),
 *   ECORRUPT, ESCHEMA, EBUSY, ENOMEM.
 * A writer handle on a file that appends starts, at its first append, one
 *   checkpointer thread with its own connection (WAL checkpoints off the
 *   append path; docs/store.md "Write path"); store_close joins it.
 * Thread: any; the handle then belongs to the calling thread.
 */
store *store_open(const char *path, const store_options *opt, int *err, char *diag,
                  size_t diag_size);

/*
 * Closes the handle: rolls back an open batch (nothing of it is kept),
 * finalizes statements, closes the connection. NULL does nothing.
 */
void store_close(store *s);

/* Text of the last failure on s ("" if none); valid until the next call on s. */
const char *store_errmsg(const store *s);

/* ------------------------------------------------------------------------ */
/* Writing (the ingest thread)                                              */
/* ------------------------------------------------------------------------ */

/*
 * One accepted message. All pointers are borrowed for the call.
 * Idempotency (what is guaranteed, exactly; docs/store.md "Dedupe"):
 *  - correlation_id non-NULL and non-empty: (channel, device_id,
 *    correlation_id) is unique over the WHOLE log, forever: checked in the
 *    event_corr table and, for the correlated events appended since it was
 *    last filled (store_corr_flush), in the writer's memory, rebuilt from
 *    the events table after a reopen, a rollback or another handle's appends.
 *    A second append with the same triple returns STORE_DUP with the first
 *    event's seq and stores nothing. device_id NULL and "" are the same.
 *  - correlation_id NULL or "": a 64-bit FNV-1a hash of topic, a 0 byte and
 *    the payload text is looked up among the last dedupe_window hashes
 *    appended without correlation id (events and dead letters each take one
 *    slot); a hit returns
 *    STORE_DUP with the earlier event's seq. Consequences: a redelivery
 *    within the window is never stored twice; a redelivery after more than
 *    dedupe_window later appends IS stored again; a device that
 *    legitimately sends the identical payload on the identical topic twice
 *    within the window gets the second one dropped as a duplicate (add a
 *    sequence number or timestamp to the payload, or declare a
 *    correlationId, to avoid this). Two different messages with equal
 *    64-bit hashes would also be taken as duplicates (p ~ n^2 / 2^65).
 *  - The window is in SQLite: it survives close/crash with the data it
 *    guards (same transaction). The writer mirrors it in memory (loaded at
 *    the first append, re-synced per transaction), so lookups cost no SQL.
 */
typedef struct store_event {
    const char *channel;        /* channel id, required, 1..STORE_MAX_NAME bytes */
    const char *message;        /* message id, or NULL */
    const char *device_id;      /* device id, NULL or "" = no device; <= STORE_MAX_DEVICE */
    const char *topic;          /* the concrete MQTT topic, required */
    const char *params_json;    /* channel parameters as a JSON object text; if NULL
                                   built from params[0..n_params) ("{}" if none) */
    const asyncapi_route_param *params; /* router output, used when params_json is NULL */
    size_t n_params;
    const char *payload;        /* payload JSON text, required, must be valid JSON */
    size_t payload_len;         /* its length (then no NUL needed); 0 -> strlen(payload) */
    const char *correlation_id; /* idempotency key, or NULL; <= STORE_MAX_CORRELATION */
    int64_t received_at;        /* ms since the epoch; 0 -> now (CLOCK_REALTIME) */
} store_event;

/*
 * One message that could not be accepted. reason_json is a JSON object with
 * a string member "kind" ("schema", "parse", "size", "no_channel", "device",
 * ...). Dedupe: a hash of topic, 0, payload bytes, 0, kind in the same
 * window as events: a redelivered invalid message is one dead letter.
 */
typedef struct store_dead_letter {
    const char *topic;          /* required (may be "" for none) */
    const char *channel;        /* channel id if known, else NULL */
    const void *payload;        /* raw bytes as received (any bytes), may be NULL if len 0 */
    size_t payload_len;         /* <= STORE_MAX_PAYLOAD (the ingest truncates oversize) */
    const char *reason_json;    /* required: JSON object with "kind" string */
    int64_t received_at;        /* ms since the epoch; 0 -> now */
} store_dead_letter;

/*
 * Starts a batch (BEGIN IMMEDIATE). Appends until store_commit are one
 * transaction: all or nothing.
 * Returns 0, ESTATE (batch already open), EREADONLY, EBUSY, EIO.
 */
int store_begin(store *s);

/*
 * Commits the batch. Only after this returns 0 are the batch's messages
 * durable (synchronous=NORMAL in WAL: durable against process crash and
 * kill -9; against power loss only with STORE_OPEN_SYNC_FULL) and may be
 * acknowledged to the broker.
 * Returns 0; ESTATE (no batch); EBUSY/EFULL/EIO: the batch was rolled back,
 * nothing of it is stored, its seqs may be reused; do not acknowledge.
 */
int store_commit(store *s);

/* Abandons the batch (nothing of it is kept). Returns 0 or ESTATE. */
int store_rollback(store *s);

/*
 * Appends an event. Inside a batch it joins the batch; outside one it is
 * committed on its own before returning (single-shot).
 * Parameters: seq may be NULL; receives the new seq (> 0, strictly
 *   increasing) or, for STORE_DUP, the earlier event's seq.
 * Returns 0 (stored), STORE_DUP (duplicate, nothing stored; acknowledge it),
 *   EINVAL (missing/oversize field or router parameter, payload or params
 *   not valid JSON, device id with control characters: the caller
 *   dead-letters it), ENOMEM, EREADONLY, EBUSY, EFULL, EIO. An error inside a batch leaves the batch
 *   open and its earlier appends intact (the failed append left nothing),
 *   unless SQLite itself rolled the transaction back (some I/O, full and
 *   nomem errors): then later appends of the batch and store_commit fail
 *   with EIO and nothing of the batch is stored (do not acknowledge it).
 */
int store_append_event(store *s, const store_event *ev, int64_t *seq);

/*
 * Appends a dead letter; as store_append_event. *id gets the dead letter's
 * id (or the earlier one for STORE_DUP). EINVAL if reason_json is not a JSON
 * object with a string "kind", or a field is missing or too long.
 */
int store_append_dead_letter(store *s, const store_dead_letter *dl, int64_t *id);

/*
 * Moves the correlation ids of up to max of the oldest correlated events
 * appended since the last move from the writer's memory into the
 * event_corr table, if at least min are pending (min 0: always, after
 * reloading them from the log if needed). Appends find a correlation id in
 * either place, so nothing depends on when this runs: it is the index
 * write an append no longer does, sorted and in bulk. Call it while the
 * ingest is quiet. Inside a batch it runs in the batch's transaction,
 * otherwise in one of its own. The store also moves them by itself, at the
 * first append of a transaction, once 122,880 are pending. Returns the
 * number moved (>= 0) or STORE_E*.
 */
int store_corr_flush(store *s, size_t min, size_t max);

/*
 * Writes the events appended since the last call (up to max of them, if
 * at least min are pending) into the device index, device_events, in one
 * sorted INSERT: appends do not touch it, so a commit does not rewrite an
 * index page per device. A device's events are read from the index up to
 * its checkpoint and from the log after it (store_read_events), so nothing
 * depends on when this runs; the store also moves 4,096 by itself at the
 * first append of a transaction once 122,880 are pending. Call it while
 * the ingest is quiet. Inside a batch it runs in the batch's transaction,
 * otherwise in one of its own. Returns the number moved (>= 0) or STORE_E*.
 */
int store_device_flush(store *s, size_t min, size_t max);

/*
 * The 64-bit FNV-1a hash used for dedupe over the concatenation of the
 * given parts, each followed by a 0 byte except the last (exposed for tests
 * and for anyone who wants to predict a dedupe decision).
 */
uint64_t store_hash(const void *const *parts, const size_t *lens, size_t n);

/* ------------------------------------------------------------------------ */
/* Stats and health                                                         */
/* ------------------------------------------------------------------------ */

typedef struct store_stats {
    int64_t events;          /* events in the log (== last_seq: never deleted) */
    int64_t dead_letters;    /* dead letters stored */
    int64_t last_seq;        /* highest event seq, 0 if none */
    int64_t projected_seq;   /* projector checkpoint, 0 if never run */
    int64_t lag;             /* last_seq - projected_seq (>= 0) */
    int64_t devices;         /* rows in the devices projection */
    int64_t dedupe_entries;  /* hashes in the dedupe window */
} store_stats;

/*
 * Reads the stats (O(log n): no full counts). Works on any handle; a writer
 * with an open batch sees its own uncommitted appends.
 * Returns 0, EINVAL, EBUSY, EIO.
 */
int store_stats_get(store *s, store_stats *out);

/*
 * Cheap health check: runs a trivial statement; for a writer handle also
 * checks the connection can write (BEGIN IMMEDIATE + ROLLBACK, skipped
 * while a batch is open).
 * Returns 0 (ready), EREADONLY (writer opened read-only or file read-only),
 * EBUSY, EIO.
 */
int store_ping(store *s);

/* ------------------------------------------------------------------------ */
/* Projections                                                              */
/* ------------------------------------------------------------------------ */

#define STORE_PROJECTOR_BATCH_DEFAULT 1000
#define STORE_PROJECTOR_INTERVAL_DEFAULT 200 /* ms */
#define STORE_PROJECTOR_DEFER_MAX_DEFAULT 2000 /* ms, see store_projector_defer */
#define STORE_ROLLUP_BUCKET_DEFAULT 60000    /* ms */

/*
 * How events fold into projections. The same options must be used for
 * incremental folding and for store_rebuild, or the results differ (the
 * bucket width and status channels are properties of the read model;
 * change them, then rebuild).
 */
typedef struct store_projector_options {
    size_t batch_max;       /* events per transaction, 0 -> default */
    int interval_ms;        /* timer wake-up when not notified, 0 -> default */
    int64_t bucket_ms;      /* rollup bucket width, 0 -> 60000 */
    const char *const *status_channels; /* channel ids carrying device status
                                           (devices_channel_is_status); NULL ->
                                           ids ending in "status" */
    size_t n_status_channels;
    unsigned open_flags;    /* STORE_OPEN_SYNC_FULL for the projector connection */
    int busy_timeout_ms;    /* 0 -> default */
    int defer_max_ms;       /* longest wait between folds under store_projector_defer,
                               0 -> STORE_PROJECTOR_DEFER_MAX_DEFAULT */
} store_projector_options;

/*
 * Folds up to batch_max events after the checkpoint into devices,
 * device_state and rollups, and advances the checkpoint, in ONE write
 * transaction (a crash never double-counts). The events are read and
 * folded first in a read snapshot, without the write lock, so appends on
 * other connections go on meanwhile; the write transaction then stores the
 * result only if the checkpoint has not moved since (another projector or
 * a rebuild), else the batch is folded again from the new checkpoint (EBUSY
 * after 8 tries). Works on a writer handle (tests, rebuild, the projector
 * thread's own handle).
 * Folding, per event in seq order:
 *  - devices (events with a device): first_seen = min received_at,
 *    last_seen = max received_at, events += 1, last_seq = seq, status per
 *    devices_status_fold;
 *  - device_state (events with a device): latest payload per (device,
 *    channel): seq, received_at, payload, message;
 *  - rollups (all events; device "" when none): for each top-level payload
 *    field whose value is a number (booleans are not), in the bucket
 *    floor(received_at / bucket_ms) * bucket_ms: count, min, max, sum.
 * Parameters: opt may be NULL; folded may be NULL (events folded).
 * Returns 0 (*folded = 0: nothing to do), ESTATE if a batch is open,
 *   EINVAL, EBUSY, EIO (nothing of the batch is kept).
 */
int store_project(store *s, const store_projector_options *opt, size_t *folded);

/*
 * Drops all projections and folds the whole log again, in one transaction
 * (readers see the old read models until it commits). The result equals an
 * incremental fold with the same options, row for row.
 * Parameters: path of the store, opt may be NULL, diag as store_open.
 * Returns 0 or an error as store_open / store_project.
 * Thread: any; opens and closes its own connection. Run it with the daemon
 *   stopped or expect EBUSY while the projector holds the write lock.
 */
int store_rebuild(const char *path, const store_projector_options *opt, char *diag,
                  size_t diag_size);

/* The projector thread; opaque. */
typedef struct store_projector store_projector;

/*
 * Starts the projector thread on its own connection to path: it folds
 * batches while there is work, then sleeps until store_projector_notify or
 * interval_ms. Errors while folding (EBUSY...) are retried on the next wake
 * and counted (store_projector_errors).
 * Returns the projector (stop it with store_projector_stop) or NULL with
 *   *err (EINVAL, ENOMEM, EIO, ...) and diag as store_open.
 * Thread: any. opt is copied (status channel names too).
 */
store_projector *store_projector_start(const char *path, const store_projector_options *opt,
                                       int *err, char *diag, size_t diag_size);

/* Wakes the projector (after a commit). Any thread, never blocks long. NULL ok. */
void store_projector_notify(store_projector *p);

/*
 * Ingest first: asks the projector not to start a fold for the next ms
 * milliseconds (the caller is draining a backlog and wants the CPU; it
 * calls again to extend). A round that is under way pauses between its
 * batches too. The projector still folds at least every defer_max_ms (2 s
 * by default) since its last fold round began, and a round that has run
 * that long catches up completely, so read models lag by at most about
 * that much plus a round. ms <= 0 ends the deferral and wakes
 * the projector. Notifications during a deferral are kept for its end.
 * Any thread, never blocks long. NULL ok.
 */
void store_projector_defer(store_projector *p, int ms);

/*
 * Blocks until the projector's checkpoint is >= seq or timeout_ms passes.
 * Returns 0, EBUSY on timeout, EINVAL. Any thread.
 */
int store_projector_wait(store_projector *p, int64_t seq, int timeout_ms);

/* Last checkpoint the projector committed (0 if none yet). Any thread. */
int64_t store_projector_checkpoint(store_projector *p);

/* Number of failed fold attempts so far. Any thread. */
uint64_t store_projector_errors(store_projector *p);

/*
 * Stops the thread (it finishes the batch in flight), joins it, closes its
 * connection and frees p. NULL does nothing. Not concurrently with the
 * other projector calls on p.
 */
void store_projector_stop(store_projector *p);

#endif
