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
 * |                        |                                      | checked by store__json_valid before    |
 * |                        |                                      | the insert), correlation_id,           |
 * |                        |                                      | received_at. Append only.              |
 * | dead_letters           | id INTEGER PRIMARY KEY               | topic, channel, kind (reason.kind),    |
 * |                        |                                      | payload BLOB (raw), reason JSON, time  |
 * | dedupe                 | ord INTEGER PRIMARY KEY              | hash (FNV-1a 64 as signed), kind (0    |
 * |                        |                                      | event, 1 dead letter), ref (seq / id). |
 * |                        |                                      | Append-only log of the window; rows    |
 * |                        |                                      | older than the last `window` ords are  |
 * |                        |                                      | deleted in bulk at commit (v2: no hash |
 * |                        |                                      | index, lookups are in memory).         |
 * | devices                | device_id                            | first_seen, last_seen, events,         |
 * |                        |                                      | last_seq, status                       |
 * | device_state           | (device_id, channel)                 | message, seq, received_at, payload     |
 * | rollups                | (device_id, channel, field, bucket)  | count, min, max, sum ('' = no device)  |
 * | projection_checkpoints | name ("projections")                 | seq folded up to and including         |
 * | event_corr             | (channel, device, corr)              | seq; every correlated event up to      |
 * |                        |                                      | store_meta 'corr_indexed' ('' = no     |
 * |                        |                                      | device; corr INTEGER if numeric, see   |
 * |                        |                                      | store__corr_num, else TEXT)            |
 * | device_events          | (device_id, seq)                     | every event with a device up to        |
 * |                        |                                      | store_meta 'device_indexed'            |
 * | store_meta             | name                                 | value INTEGER ('corr_indexed',         |
 * |                        |                                      | 'device_indexed')                      |
 *
 * Indexes serve the read patterns: device_events (up to its checkpoint;
 * the events after it are scanned by seq) for a device's events with a
 * keyset cursor (seq < ? / seq > ?), events(channel, seq),
 * the rowid for the global log after a seq, event_corr's key (plus the
 * writer's in-memory tail, store_corr.c) for idempotency,
 * dead_letters(channel, id), (kind, id), (received_at),
 * devices(last_seen), rollups(channel, field, bucket_start).
 *
 * Version history: 1 the initial schema; 2 drops the index dedupe(hash)
 * (the writer keeps the window in memory, loaded at open) and rebuilds
 * events without its CHECK (json_valid(...)) constraints (the store checks
 * the JSON itself, ~8x cheaper); same columns, same indexes. 3 replaces the
 * UNIQUE index events_correlation with event_corr and store_meta. 4
 * replaces the index events(device_id, seq) with device_events, written in
 * sorted bulk (store_device_flush) instead of a page per device per commit.
 *
 * The dedupe window in memory (writer handles only): a ring of the last
 * `window` entries (slot = ord % window) and an open-addressing table
 * (linear probing, load <= 1/2) from (hash, kind) to the ring slot of its
 * newest entry. Invariant inside an appending transaction: the ring equals
 * the last `window` rows of the dedupe table as the connection sees them
 * (committed rows plus those of the open batch). The first append of each
 * transaction checks max(ord) and reloads if another handle appended;
 * entries are added only after their rows are inserted; any rollback
 * reloads the ring from the table (window_stale).
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncapi/parse.h"
#include "store/store.h"

#define STORE__SCHEMA_VERSION 4

/* Connection tuning (strings: they go into PRAGMA text); docs/store.md "Write path". */
#define STORE__WRITE_CACHE_KIB "32768"     /* writer page cache, KiB */
#define STORE__PROJECTOR_CACHE_KIB "4096"  /* the projector's page cache, KiB */
#define STORE__AUTOCHECKPOINT_PAGES "16000" /* WAL pages before a handle without the
                                               checkpointer thread (the projector, or
                                               a writer whose thread failed to start)
                                               checkpoints inline; == WAL_MAX_PAGES */
#ifndef STORE__WAL_BG_PAGES
#define STORE__WAL_BG_PAGES 4000           /* WAL pages that wake the checkpointer thread */
#endif
#ifndef STORE__WAL_MAX_PAGES
#define STORE__WAL_MAX_PAGES 16000         /* WAL pages at which the writer checkpoints
                                              itself so the WAL can restart (~64 MiB) */
#endif
#ifndef STORE__WAL_STEP_MIN
#define STORE__WAL_STEP_MIN 64             /* closest wake-up spacing just before MAX */
#endif
#define STORE__CHECKPOINT "projections"
/* correlation_id as event_corr.corr holds it (store__corr_num is the same rule in C) */
#define STORE__CORR_AS_STORED                                                              \
    "CASE WHEN correlation_id = '0' OR (correlation_id GLOB '[1-9]*' AND correlation_id"   \
    " NOT GLOB '*[^0-9]*' AND length(correlation_id) <= 18)"                              \
    " THEN CAST(correlation_id AS INTEGER) ELSE correlation_id END"
/*
 * Correlated events appended but not yet in event_corr (the writer's
 * in-memory tail, store_corr.c) at which the next append's transaction
 * moves STORE__CORR_FORCED_MOVE of them there itself: the ring then never
 * needs more than 131,072 entries (6 MiB with its hash table) as long as a
 * transaction appends fewer than 8,192 events.
 */
#define STORE__CORR_TAIL_MAX 122880
#define STORE__CORR_FORCED_MOVE 4096
#define STORE__CORR_KEYS_MAX 262144   /* (channel, device) maxima cached (8 MiB), then start over */
/* Events after 'device_indexed' at which a transaction's first append moves
 * STORE__CORR_FORCED_MOVE of them into device_events itself: a device's
 * query then scans at most this many events by seq. */
#define STORE__DEV_TAIL_MAX 122880
/* Projection rows a handle's folds keep in memory between batches (about
 * 250 bytes each); past this, only the last batch's rows are kept. */
#define STORE__FOLD_CACHE_MAX 32768

/* Cached prepared statements, prepared on first use. */
enum store__stmt_id {
    STORE__BEGIN,
    STORE__BEGIN_READ,
    STORE__COMMIT,
    STORE__ROLLBACK,
    STORE__EV_MAX_SEQ,
    STORE__CORR_INDEXED,
    STORE__CORR_TAIL,
    STORE__CORR_ROW,
    STORE__CORR_FIND,
    STORE__CORR_KEY_MAX,
    STORE__EV_INSERT_NEW,
    STORE__CORR_MOVE,
    STORE__CORR_MARK,
    STORE__DEV_INDEXED,
    STORE__DEV_MOVE,
    STORE__DEV_MARK,
    STORE__EV_INSERT,
    STORE__EV_DELETE,
    STORE__DL_INSERT,
    STORE__DL_DELETE,
    STORE__DEDUPE_INSERT,
    STORE__DEDUPE_PRUNE,
    STORE__DEDUPE_LOAD,
    STORE__DEDUPE_MAX,
    STORE__CP_GET,
    STORE__CP_SET,
    STORE__PJ_SCAN,
    STORE__PJ_DEVICE,
    STORE__PJ_DEVICE_GET,
    STORE__PJ_STATE,
    STORE__PJ_ROLLUP,
    STORE__PJ_ROLLUP_GET,
    STORE__STMT_COUNT
};

/*
 * The VFS writing connections open their database with (store_vfs.c): the
 * default VFS, with a WAL transaction's frames written in one write instead
 * of two per page. Registers it on the first call; NULL if that failed
 * (then the default VFS is used).
 */
#define STORE__VFS_NAME "asyncbridge-walbuf"
const char *store__vfs(void);
/* Writes the shim handed to WAL files so far, all files (tests). */
unsigned long store__vfs_wal_writes(void);

/* The checkpointer thread of an appending handle (store_ckpt.c). */
typedef struct store__ckpt store__ckpt;

/* One remembered hash of the dedupe window. */
typedef struct store__dedupe_entry {
    uint64_t hash;                           /* FNV-1a 64 (store_hash) */
    int64_t ref;                             /* event seq / dead-letter id it guards */
    int64_t ord;                             /* its dedupe.ord; 0 = empty slot */
    int kind;                                /* 0 event, 1 dead letter */
} store__dedupe_entry;

/* One correlated event of the tail: hash of its triple (store__corr_hash), seq. */
typedef struct store__corr_entry {
    uint64_t hash;
    int64_t seq;
    uint64_t key;                            /* store__corr_key of (channel, device) */
    int64_t num;                             /* the id as a number (store__corr_num), or -1 */
} store__corr_entry;

/* A cached per-key maximum (store_corr.c): key 0 = free slot. */
typedef struct store__corr_max {
    uint64_t key;
    int64_t max;                             /* largest numeric id in event_corr, -1 none */
} store__corr_max;

struct store {
    sqlite3 *db;                             /* the connection, owned */
    unsigned flags;                          /* enum store_open_flags */
    int64_t window;                          /* dedupe window size, 1..STORE__WINDOW_MAX */
    int in_batch;                            /* store_begin called, not yet committed */
    int batch_broken;                        /* SQLite dropped the batch's transaction
                                                after an error: commit must fail */
    int window_stale;                        /* ring/table must be reloaded before use */
    int batch_synced;                        /* window_sync ran in the open batch */
    int64_t next_ord;                        /* next dedupe ord (max(ord) + 1) */
    int64_t pruned_ord;                      /* dedupe rows with ord <= this are deleted */
    store__dedupe_entry *ring;               /* window entries, slot ord % window; owned,
                                                NULL on read-only handles */
    uint32_t *slots;                         /* hash table: ring slot + 1, 0 = free; owned */
    size_t slot_mask;                        /* table size - 1 (a power of two) */
    store__corr_entry *corr_ring;            /* the correlation tail in seq order, owned */
    size_t corr_cap, corr_head, corr_n;      /* ring size (a power of two), oldest, count */
    uint64_t *corr_slots;                    /* by hash: tag << 32 | ring position + 1,
                                                0 = free (store_corr.c); owned */
    size_t corr_slot_mask;                   /* 2 * corr_cap - 1 */
    store__corr_max *corr_keys;              /* per-key maxima (open addressing), owned */
    size_t corr_keys_mask, corr_keys_n;
    size_t corr_keys_max;                    /* STORE__CORR_KEYS_MAX (tests lower it) */
    int64_t corr_known_seq;                  /* max(events.seq) the tail reflects */
    int corr_stale;                          /* tail must be rebuilt before use */
    size_t corr_tail_max;                    /* STORE__CORR_TAIL_MAX (tests lower it) */
    int64_t dev_tail_max;                    /* STORE__DEV_TAIL_MAX (tests lower it) */
    int64_t dev_indexed;                     /* store_meta.device_indexed as this handle last
                                                read or wrote it; -1 unknown (store_append.c) */
    int busy_timeout_ms;                     /* give up on a lock after this, 0 = at once */
    int64_t busy_since_us;                   /* CLOCK_MONOTONIC when the current wait began */
    int ckpt_tried;                          /* store__ckpt_start ran (once per handle) */
    store__ckpt *ckpt;                       /* checkpointer thread, owned, or NULL */
    sqlite3_stmt *stmt[STORE__STMT_COUNT];   /* cached statements, owned, NULL until used */
    void (*fold_gap_hook)(void *arg);        /* tests: runs between the projector's read
                                                and write phases (store_project) */
    void *fold_gap_arg;
    asyncapi_json_buf *fold_buf;             /* folded payloads' trees (store_project.c), lazily */
    void *fold_cache;                        /* projection rows as stored, kept between folds
                                                (store_project.c), owned, or NULL */
    int64_t fold_cache_cp;                   /* the projection checkpoint they are rows of */
    size_t fold_cache_max;                   /* STORE__FOLD_CACHE_MAX (tests lower it) */
    char errmsg[512];                        /* last failure text, "" if none */
};

/* Process-wide SQLite settings, once, before the first connection opens. */
void store__sqlite_setup(void);
/* Returns the cached statement id, reset and unbound, or NULL (errmsg set). */
sqlite3_stmt *store__stmt(store *s, enum store__stmt_id id);
/* Maps a SQLite result code to STORE_E* and records the message in s. */
int store__fail(store *s, int sqlite_rc, const char *what);
/* Records a message for an error that did not come from SQLite; returns err. */
int store__error(store *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs a statement that returns no rows; 0 or STORE_E*. */
int store__step_done(store *s, sqlite3_stmt *st, const char *what);
/* Runs an index's bulk write (move, ?1 = upto) and its checkpoint (mark,
 * ?1 = upto) in the caller's transaction; 0 or STORE_E* (with what). */
int store__index_upto(store *s, enum store__stmt_id move, enum store__stmt_id mark, int64_t upto,
                      const char *what);
/* Steps a one-value query (id) into *out; 0 or STORE_E* (with what). */
int store__stmt_int(store *s, enum store__stmt_id id, const char *what, int64_t *out);
/*
 * Writes the events after 'device_indexed' into device_events, up to max
 * of them, and moves the checkpoint (in the caller's transaction), if at
 * least min (>= 1) are pending. *moved: how far the checkpoint moved.
 */
int store__dev_move(store *s, int64_t min, int64_t max, int64_t *moved);
/* Largest accepted dedupe_window (ring slots are 32-bit, table load <= 1/2). */
#define STORE__WINDOW_MAX ((int64_t)1 << 28)

/*
 * Reloads the in-memory window (ring, table, next_ord) from the dedupe
 * table: at open and after any rollback. 0 or STORE_E* (window_stale
 * stays set on failure, appends then retry the load).
 */
int store__reload_ord(store *s);
/* Allocates the ring and table for s->window; 0 or STORE_ENOMEM. */
int store__window_alloc(store *s);
/* Frees the ring and table. */
void store__window_free(store *s);
/* Looks up (hash, kind) in the window: 1 and *ref (seq / id) if present, else 0. */
int store__dedupe_find(store *s, uint64_t hash, int kind, int64_t *ref);
/* Inserts the dedupe row for the next ord (SQL only); 0 or STORE_E*. */
int store__dedupe_insert(store *s, uint64_t hash, int kind, int64_t ref);
/* Adds the entry whose row store__dedupe_insert wrote to memory; advances next_ord. */
void store__dedupe_remember(store *s, uint64_t hash, int kind, int64_t ref);
/*
 * Deletes dedupe rows older than the window once window / 16 (at least 1)
 * of them have accumulated; inside the transaction about to commit.
 * 0 or STORE_E*.
 */
int store__dedupe_prune(store *s);
/* Correlation ids (store_corr.c): event_corr plus the in-memory tail. */
/* FNV-1a 64 of channel, 0, device ("" = none), never 0: the per-key maxima's key. */
uint64_t store__corr_key(const char *channel, const char *device);
/* FNV-1a 64 of channel, 0, device, 0, corr, continued from its key. */
uint64_t store__corr_hash(uint64_t key, const char *corr);
/*
 * Inside the transaction: rebuilds the tail when stale or when another
 * handle appended since (max(seq) moved). 0 or STORE_E*.
 */
int store__corr_sync(store *s);
/* Starts loading the tail's table slot for hash (a hint, no effect on results). */
void store__corr_prefetch(const store *s, uint64_t hash);
/*
 * Whether the triple is in the tail (a hash hit is checked against the
 * event row): 1 and *seq, 0, or STORE_E*. device NULL = "".
 */
int store__corr_find_mem(store *s, uint64_t hash, const char *channel, const char *device,
                         const char *corr, int64_t *seq);
/* Whether the triple is in event_corr: 1 and *seq, 0, or STORE_E*. */
int store__corr_find_table(store *s, const char *channel, const char *device, const char *corr,
                           int64_t *seq);
/*
 * Remembers the event just inserted (num: store__corr_num of its id); 0 or
 * STORE_ENOMEM (the tail is unchanged).
 */
int store__corr_add(store *s, uint64_t hash, int64_t seq, uint64_t key, int64_t num);
/*
 * A correlation id as event_corr stores it: "0" or 1-18 digits without a
 * leading zero is that number (>= 0, stored as an INTEGER), anything else
 * -1 (stored as the text). The SQL of the same rule: STORE__CORR_AS_STORED.
 */
int64_t store__corr_num(const char *corr);
/* Binds corr to parameter i as event_corr stores it. */
void store__corr_bind(sqlite3_stmt *st, int i, const char *corr);
/*
 * Whether event_corr may hold the triple: 0 if corr is a number above the
 * largest one stored for (channel, device) (no lookup needed), else 1; or
 * STORE_E*. *num = store__corr_num(corr).
 */
int store__corr_table_may_have(store *s, uint64_t key, const char *channel, const char *device,
                               const char *corr, int64_t *num);
/* Inside the transaction: moves the max oldest of the tail into event_corr; 0 or STORE_E*. */
int store__corr_move(store *s, size_t max);
/* Entries in the tail. */
size_t store__corr_pending(const store *s);
/* Frees the tail. */
void store__corr_free(store *s);
/* Frees the rows store_project keeps between folds (store_close). */
void store__fold_cache_free(store *s);

/*
 * Starts the checkpointer thread for an appending handle on a file (once;
 * a failure leaves SQLite's inline autocheckpoint on). Called by the first
 * append, so projector and read handles never start one.
 */
void store__ckpt_start(store *s);
/* Stops and joins the checkpointer, closes its connection. No-op without one. */
void store__ckpt_stop(store *s);
/* How often the writer woke the checkpointer thread (writer's thread; tests). */
unsigned store__ckpt_wakes(const store *s);
/* Database file syncs the checkpointer thread made after its passes (tests). */
unsigned store__ckpt_db_syncs(const store *s);
/* Deepest container nesting store__json_valid accepts (SQLite's json_valid: 2000). */
#define STORE__JSON_MAX_DEPTH 2000
/*
 * Deepest nesting the projector parses a payload to (cJSON's own limit, which
 * it used before): deeper payloads fold without fields, as they always did.
 */
#define STORE__FOLD_JSON_DEPTH 1000
/*
 * 1 if text[0..len) is one valid JSON value (store_json.c for the exact
 * grammar), else 0. No allocation; any thread.
 */
int store__json_valid(const char *text, size_t len);
/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t store__now_ms(void);

#endif
