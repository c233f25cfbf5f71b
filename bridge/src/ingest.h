/* SPDX-License-Identifier: MIT */
/*
 * The ingest pipeline: MQTT message -> router -> channel + parameters ->
 * message (first that validates) -> event, or dead letter with a reason ->
 * commit -> projector notified. Two durability modes (docs/ingest.md):
 *
 *   sync     bridge_ingest_submit validates and commits the message before
 *            it returns (one SQLite transaction per message).
 *   journal  bridge_ingest_submit appends the raw message to an append-only
 *            journal segment (a memcpy into a MAP_SHARED file mapping, no
 *            fsync) and queues it; a writer
 *            thread validates and group-commits batches, then deletes the
 *            journal segments whose messages are all committed. On start,
 *            leftover segments are replayed (the store's dedupe drops what
 *            was already committed).
 *
 * Either way, when submit returns 0 the message survives a kill -9 of the
 * process, so the caller may acknowledge it to the broker.
 */
#ifndef BRIDGE_INGEST_H
#define BRIDGE_INGEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncapi/asyncapi.h"
#include "store/store.h"

typedef struct bridge_ingest bridge_ingest;

enum bridge_ingest_mode {
    BRIDGE_INGEST_JOURNAL = 0, /* journal + writer thread with group commit (default) */
    BRIDGE_INGEST_SYNC = 1,    /* validate + commit inside submit */
};

/* Dead-letter kinds, also the index of the per-kind counters. */
enum bridge_dl_kind {
    BRIDGE_DL_SCHEMA = 0,     /* payload does not match any message schema */
    BRIDGE_DL_PARSE = 1,      /* not JSON, invalid UTF-8, nested too deep */
    BRIDGE_DL_SIZE = 2,       /* larger than max_payload */
    BRIDGE_DL_NO_CHANNEL = 3, /* topic matches no receiving channel */
    BRIDGE_DL_DEVICE = 4,     /* device id missing or unusable */
    BRIDGE_DL_STORE = 5,      /* the store refused the event (EINVAL) */
    BRIDGE_DL_KINDS = 6,
};

/* The reason "kind" text of a dead-letter kind. */
const char *bridge_dl_kind_name(enum bridge_dl_kind kind);

/* Per receiving channel counters (index = position in asyncapi_doc_channels). */
typedef struct bridge_channel_stats {
    atomic_uint_fast64_t received;     /* messages routed to this channel */
    atomic_uint_fast64_t valid;        /* stored as events (new) */
    atomic_uint_fast64_t duplicates;   /* valid but already stored (STORE_DUP) */
    atomic_uint_fast64_t invalid;      /* dead-lettered */
} bridge_channel_stats;

/*
 * Counters for /metrics. Written by the ingest (writer thread), read by any
 * thread with atomic_load; they only grow. Valid until bridge_ingest_free.
 */
typedef struct bridge_ingest_stats {
    atomic_uint_fast64_t received;       /* messages submitted (incl. replayed) */
    atomic_uint_fast64_t replayed;       /* messages replayed from the journal at start */
    atomic_uint_fast64_t events;         /* new events stored */
    atomic_uint_fast64_t duplicates;     /* duplicates acknowledged without a row */
    atomic_uint_fast64_t dead_letters;   /* dead letters stored (new) */
    atomic_uint_fast64_t dropped;        /* unknown topics dropped (policy drop) */
    atomic_uint_fast64_t dead_by_kind[BRIDGE_DL_KINDS]; /* per enum bridge_dl_kind */
    atomic_uint_fast64_t commits;        /* transactions committed */
    atomic_uint_fast64_t commit_errors;  /* failed commits (retried) */
    atomic_uint_fast64_t commit_us_total;/* sum of commit latencies, microseconds */
    atomic_uint_fast64_t commit_us_max;  /* slowest commit, microseconds */
    atomic_uint_fast64_t queue_depth;    /* messages journaled but not committed yet */
    atomic_int_fast64_t last_seq;        /* last event seq stored by this process */
    size_t n_channels;                   /* entries in channels */
    bridge_channel_stats *channels;      /* per channel of the document */
} bridge_ingest_stats;

/*
 * One committed event as the ingest stored it, for live push without
 * re-reading the log (bridge_ingest_options.on_events). Every pointer is
 * borrowed for the duration of the on_events call only.
 */
typedef struct bridge_ingest_event {
    int64_t seq;               /* event seq, strictly increasing within and across calls */
    const char *channel;       /* channel id */
    const char *message;       /* message id, or NULL */
    const char *device_id;     /* or NULL */
    const char *topic;         /* MQTT topic */
    const char *params_json;   /* channel parameters, the exact JSON text stored */
    const char *payload_json;  /* payload JSON text as stored */
    size_t payload_len;        /* its bytes */
    const char *correlation_id; /* or NULL */
    int64_t received_at;       /* ms since the epoch */
} bridge_ingest_event;

typedef struct bridge_ingest_options {
    const asyncapi_doc *doc;       /* borrowed; outlives the ingest */
    store *writer;                 /* borrowed writer handle; used only by the ingest
                                      from bridge_ingest_start until bridge_ingest_stop */
    store_projector *projector;    /* notified after commits, may be NULL */
    enum bridge_ingest_mode mode;  /* durability mode */
    const char *journal_dir;       /* folder for journal segments (journal mode) */
    size_t max_payload;            /* larger payloads -> dead letter "size" */
    int drop_unknown;              /* 1: unknown topics are counted and dropped */
    size_t batch_max;              /* messages per transaction (journal), 0 -> 512 */
    size_t queue_max;              /* journaled-not-committed bound, 0 -> 20000 */
    /*
     * Called after every commit that stored at least one new event, on the
     * committing thread (writer thread, or the submitting thread in sync
     * mode); must be cheap and must not block (e.g. bridge_http_notify).
     * NULL = none.
     */
    void (*on_commit)(void *ctx, int64_t last_seq);
    void *on_commit_ctx;
    /*
     * Direct live push (both NULL = off). capture is asked once before each
     * transaction (on the committing thread; must be cheap, e.g. one atomic
     * load) whether anybody wants the events; when it returns nonzero the
     * ingest keeps a copy of the batch's new events and, after the commit
     * and before on_commit, passes them to on_events in seq order (n >= 1).
     * A batch that was not captured (capture said 0, or keeping the copy ran
     * out of memory) gets no on_events call, only on_commit: the receiver
     * compares last_seq with what it was given to notice the gap. Both get
     * on_commit_ctx; on_events must not block (copy and queue).
     */
    int (*capture)(void *ctx);
    void (*on_events)(void *ctx, const bridge_ingest_event *ev, size_t n);
} bridge_ingest_options;

/*
 * Builds the router over every channel the application receives on, the
 * device identity rules and correlation id expressions.
 * Returns the ingest (bridge_ingest_free) or NULL with err filled.
 * Thread: any; nothing started yet.
 */
bridge_ingest *bridge_ingest_new(const bridge_ingest_options *opt, char *err,
                                 size_t errsize);

/*
 * Journal mode: replays leftover journal segments (a previous run was
 * killed) through the pipeline and commits them, then starts the writer
 * thread. Sync mode: nothing to do.
 * Returns 0 or -1 with err filled (journal folder unusable, store failing).
 */
int bridge_ingest_start(bridge_ingest *ing, char *err, size_t errsize);

/*
 * Takes one MQTT message. topic[0..topic_len) and payload[0..len) are
 * borrowed for the call. received_ms: arrival time, ms since the epoch.
 * Returns 0 when the message is durable (acknowledge it); -1 when it was not
 * taken (journal write failed, store failing in sync mode, stopping): the
 * caller must not acknowledge it (Paho: return 0 from messageArrived).
 * Journal mode blocks while queue_max messages wait for the writer
 * (back-pressure to the broker).
 * Thread: one thread at a time (Paho's receive thread).
 */
int bridge_ingest_submit(bridge_ingest *ing, const char *topic, size_t topic_len,
                         const void *payload, size_t len, int64_t received_ms);

/*
 * Stops taking messages, lets the writer commit everything queued, joins
 * it and removes the journal segments. Safe to call twice.
 * Returns 0, or -1 if some queued messages could not be committed (they
 * stay in the journal and are replayed on the next start).
 */
int bridge_ingest_stop(bridge_ingest *ing);

/* Frees the ingest (stops it first if needed). NULL does nothing. */
void bridge_ingest_free(bridge_ingest *ing);

/* Counters; valid until bridge_ingest_free. */
const bridge_ingest_stats *bridge_ingest_get_stats(const bridge_ingest *ing);

/*
 * The ids of the spec's status channels (devices_channel_is_status), as the
 * projector options want them. *out is a new array of borrowed strings
 * (valid while doc lives); free the array with free(). Returns 0 or -1.
 */
int bridge_status_channels(const asyncapi_doc *doc, const char ***out, size_t *n);

#endif
