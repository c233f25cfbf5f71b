/* SPDX-License-Identifier: MIT */
/*
 * The read side of the store: queries behind the REST API and the live
 * replay. A store_reader is a read-only connection (SQLITE_OPEN_READONLY,
 * no mutex) with its own cached prepared statements; every value is bound,
 * never spliced into SQL. Pagination is keyset (seq < ?, (last_seen, id) <
 * (?, ?)), never OFFSET, so pages are stable under concurrent appends.
 * Design notes: docs/http.md ("Queries").
 *
 * Rows are handed to a callback; every pointer in a row is borrowed and
 * valid only during that callback. The callback returns 0 to continue or
 * non-zero to stop (the query then returns STORE_OK with the rows so far).
 *
 * Threads: a reader belongs to one thread (the lws service thread); open
 * one per thread. Readers never block the writer (WAL).
 */
#ifndef STORE_QUERY_H
#define STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct store_reader store_reader;

/*
 * Opens a read-only reader on an existing store file (never creates it).
 * Returns the reader or NULL with *err (if not NULL) = STORE_EINVAL (path
 * NULL/empty), EIO (missing, unreadable), ESCHEMA (not an asyncbridge store
 * of this version), ECORRUPT, ENOMEM; diag (if not NULL) gets the reason.
 */
store_reader *store_reader_open(const char *path, int *err, char *diag, size_t diag_size);

/* Finalizes statements and closes the connection. NULL does nothing. */
void store_reader_close(store_reader *r);

/* Text of the last failure ("" if none); valid until the next call on r. */
const char *store_reader_errmsg(const store_reader *r);

/*
 * Starts / ends a read snapshot (BEGIN / COMMIT): queries between them see
 * one consistent state of the file. end is safe without begin.
 * Returns 0, STORE_EBUSY, STORE_EIO.
 */
int store_reader_begin(store_reader *r);
int store_reader_end(store_reader *r);

/*
 * The log head and the projection checkpoint: *last_seq = highest event seq
 * (0 if none), *projected_seq = the projector's checkpoint (0 if never).
 * Either pointer may be NULL. Returns 0, EIO, EBUSY.
 */
int store_read_heads(store_reader *r, int64_t *last_seq, int64_t *projected_seq);

/* Counts: events and dead letters in the whole store. Returns 0, EIO, EBUSY. */
int store_read_totals(store_reader *r, int64_t *events, int64_t *dead_letters,
                      int64_t *devices);

/* ------------------------------------------------------------------ */

typedef struct store_event_row {
    int64_t seq;                /* > 0 */
    const char *channel;        /* channel id */
    const char *message;        /* message id, or NULL */
    const char *device_id;      /* or NULL */
    const char *topic;          /* concrete MQTT topic */
    const char *params;         /* JSON object text */
    const char *payload;        /* JSON text (valid JSON: CHECK json_valid) */
    size_t payload_len;         /* bytes of payload */
    const char *correlation_id; /* or NULL */
    int64_t received_at;        /* ms since the epoch */
} store_event_row;

typedef struct store_event_query {
    const char *device_id;  /* only this device, or NULL */
    const char *channel;    /* only this channel, or NULL */
    int has_from;           /* from_ms is set */
    int64_t from_ms;        /* received_at >= from_ms */
    int has_to;             /* to_ms is set */
    int64_t to_ms;          /* received_at < to_ms */
    int desc;               /* 1: newest first (seq descending) */
    int64_t after_seq;      /* ascending: seq > after_seq (0 = from the start) */
    int64_t before_seq;     /* descending: seq < before_seq (0 = from the end) */
    size_t limit;           /* rows at most, >= 1 */
} store_event_query;

typedef int (*store_event_cb)(void *ctx, const store_event_row *row);

/*
 * Events matching q in seq order (ascending or descending), at most limit.
 * Uses events(device_id, seq), events(channel, seq) or the rowid.
 * Returns the number of rows handed to cb (>= 0), or EINVAL, EIO, EBUSY.
 */
int store_read_events(store_reader *r, const store_event_query *q, store_event_cb cb,
                      void *ctx);

/*
 * Highest seq of the events of one device (device_id non-NULL) or else of
 * one channel (channel non-NULL); 0 when there are none. One index probe:
 * lets the HTTP side cache a list until the device or channel gets a new
 * event. Returns 0, EINVAL (both NULL), EIO, EBUSY.
 */
int store_read_max_seq(store_reader *r, const char *device_id, const char *channel,
                       int64_t *out);

/* ------------------------------------------------------------------ */

typedef struct store_device_row {
    const char *device_id;
    int64_t first_seen;     /* ms */
    int64_t last_seen;      /* ms */
    int64_t events;         /* events folded */
    int64_t last_seq;       /* seq of its latest event */
    const char *status;     /* "online", "offline", "unknown", ... or NULL */
} store_device_row;

typedef struct store_device_query {
    const char *status;     /* only this status, or NULL */
    const char *channel;    /* only devices with state on this channel, or NULL */
    int by_last_seen;       /* 0: id ascending; 1: last_seen descending, then id */
    int has_after;          /* keyset position is set */
    int64_t after_last_seen; /* by_last_seen: continue after (last_seen, id) */
    const char *after_id;   /* continue after this id */
    size_t limit;
} store_device_query;

typedef int (*store_device_cb)(void *ctx, const store_device_row *row);

/* Devices matching q. Returns rows handed to cb, or EINVAL, EIO, EBUSY. */
int store_read_devices(store_reader *r, const store_device_query *q, store_device_cb cb,
                       void *ctx);

/* One device. Returns 0 (cb called once), STORE_ENOTFOUND, EIO, EBUSY. */
int store_read_device(store_reader *r, const char *device_id, store_device_cb cb, void *ctx);

typedef struct store_state_row {
    const char *channel;
    const char *message;    /* or NULL */
    int64_t seq;
    int64_t received_at;    /* ms */
    const char *payload;    /* JSON text */
} store_state_row;

typedef int (*store_state_cb)(void *ctx, const store_state_row *row);

/* The latest payload per channel of one device, by channel id. Returns rows, or errors. */
int store_read_device_state(store_reader *r, const char *device_id, store_state_cb cb,
                            void *ctx);

/* ------------------------------------------------------------------ */

typedef struct store_channel_counts {
    int64_t events;         /* events of the channel */
    int64_t dead_letters;   /* dead letters naming the channel */
    int64_t last_seq;       /* its newest event seq, 0 if none */
    int64_t last_event_at;  /* received_at of that event (ms), 0 if none */
} store_channel_counts;

/* Counts of one channel (COUNT over the channel's index range). Returns 0, EIO, EBUSY. */
int store_read_channel_counts(store_reader *r, const char *channel, store_channel_counts *out);

/*
 * Events per channel received at or after since_ms, looking at no more
 * than the newest `window` events (rates for /stats). cb gets (channel, n).
 * Returns the number of channels, or errors.
 */
int store_read_recent_counts(store_reader *r, int64_t since_ms, int64_t window,
                             int (*cb)(void *ctx, const char *channel, int64_t n),
                             void *ctx);

/* ------------------------------------------------------------------ */

typedef struct store_dead_letter_row {
    int64_t id;
    const char *topic;
    const char *channel;    /* or NULL */
    const char *kind;       /* reason kind */
    const void *payload;    /* raw bytes (only filled by store_read_dead_letter) */
    size_t payload_len;     /* bytes (always filled) */
    const char *reason;     /* JSON object text */
    int64_t received_at;    /* ms */
} store_dead_letter_row;

typedef struct store_dead_letter_query {
    const char *channel;    /* or NULL */
    const char *kind;       /* or NULL */
    int has_from;
    int64_t from_ms;
    int has_to;
    int64_t to_ms;
    int64_t before_id;      /* id < before_id (0 = from the newest) */
    size_t limit;
} store_dead_letter_query;

typedef int (*store_dead_letter_cb)(void *ctx, const store_dead_letter_row *row);

/* Dead letters, newest first. Returns rows handed to cb, or errors. */
int store_read_dead_letters(store_reader *r, const store_dead_letter_query *q,
                            store_dead_letter_cb cb, void *ctx);

/* One dead letter with its payload. Returns 0, STORE_ENOTFOUND, EIO, EBUSY. */
int store_read_dead_letter(store_reader *r, int64_t id, store_dead_letter_cb cb, void *ctx);

/* ------------------------------------------------------------------ */

typedef struct store_series_row {
    int64_t bucket_start;   /* ms, multiple of the query's bucket_ms */
    int64_t count;
    double min;
    double max;
    double sum;
} store_series_row;

typedef struct store_series_query {
    const char *device_id;  /* required ("" = events without device) */
    const char *channel;    /* required */
    const char *field;      /* required */
    int64_t bucket_ms;      /* >= the stored rollup width; coarser buckets are merged */
    int has_from;
    int64_t from_ms;
    int has_to;
    int64_t to_ms;
    size_t limit;           /* buckets at most */
} store_series_query;

typedef int (*store_series_cb)(void *ctx, const store_series_row *row);

/* Rollup buckets in time order. Returns rows handed to cb, or errors. */
int store_read_series(store_reader *r, const store_series_query *q, store_series_cb cb,
                      void *ctx);

/* Does any rollup exist for (channel, field)? Returns 1, 0, or errors. */
int store_read_field_known(store_reader *r, const char *channel, const char *field);

#endif
