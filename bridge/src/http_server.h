/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of the daemon: one libwebsockets context, one service
 * thread, serving the REST read API, /openapi.json, ops endpoints, the
 * WebSocket /api/v1/live and the SSE /api/v1/stream. See docs/http.md.
 *
 * Wiring into `asyncbridge run` (the ingest thread never calls lws):
 *
 *   bridge_http_options o = { .listen = cfg.http, .db_path = cfg.db,
 *                             .doc = doc, .spec_path = cfg.spec,
 *                             .ingest_stats = bridge_ingest_get_stats(ing),
 *                             .ready = my_ready, .ready_ctx = ... };
 *   bridge_http *h = bridge_http_start(&o, err, sizeof(err));
 *   ... after each commit (see "Live events" below):
 *   bridge_live_publish(h, &ev) per event, then bridge_live_committed(h, last_seq);
 *   ... at shutdown: bridge_http_stop(h);
 *
 * Live events reach the hub one of two ways (bridge_http_options.live_direct):
 *  - direct (`asyncbridge run`): after each commit the ingest writer hands
 *    the events it just stored to bridge_live_publish (copied, queued, the
 *    service thread woken; never an lws call or a wait on clients), but
 *    only while bridge_http_live_wanted says somebody listens, and reports
 *    every commit's last seq to bridge_live_committed, which turns seqs
 *    that were committed but not published into a resync from the log;
 *  - follower (`asyncbridge serve`): a thread with its own read-only
 *    connection reads the events committed after the last one it handed to
 *    the hub, woken by bridge_http_notify (or every tail_poll_ms).
 * Publishing the same seq twice is harmless: clients get each seq once.
 */
#ifndef BRIDGE_HTTP_SERVER_H
#define BRIDGE_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "asyncapi/asyncapi.h"
#include "ingest.h"

typedef struct bridge_http bridge_http;

typedef struct bridge_http_options {
    const char *listen;         /* "127.0.0.1:8080", "[::1]:8080", ":8080" (all), port 0 = any */
    const char *db_path;        /* store file, opened read-only by the service thread */
    const asyncapi_doc *doc;    /* borrowed; must outlive the server */
    const char *spec_path;      /* the spec file, served back at /asyncapi.yaml; NULL = doc's path */
    const bridge_ingest_stats *ingest_stats; /* counters for /metrics, NULL in serve mode */
    /*
     * Readiness of the write side, or NULL (read replica: ready when the
     * store is readable). Returns 1 when ready; fills why (lowercase) when
     * not. Called on the service thread; must not block.
     */
    int (*ready)(void *ctx, int *broker_connected, char *why, size_t why_size);
    void *ready_ctx;
    int64_t ready_max_lag;      /* /readyz: projection lag bound in events, 0 -> 10000 */
    unsigned max_connections;   /* live (WS + SSE) clients, 0 -> 1024; beyond: WS upgrade
                                   refused, SSE 503; all sockets: this + 64 */
    size_t max_uri;             /* request-target bytes, 0 -> 2048 (414 beyond) */
    unsigned max_header_bytes;  /* request line + headers, 0 -> 8192 (connection dropped beyond) */
    /* live (WS/SSE) */
    unsigned live_max_subs;     /* subscriptions per WS connection, 0 -> 16 */
    size_t live_queue_max;      /* queued events per connection, 0 -> 4096 */
    unsigned live_stall_ms;     /* drop a client whose queue stayed full this long, 0 -> 5000 */
    unsigned live_max_errors;   /* bad frames before close, 0 -> 10 */
    size_t live_max_frame;      /* incoming WS message bytes, 0 -> 4096 */
    unsigned sse_heartbeat_s;   /* SSE comment interval, 0 -> 15 */
    unsigned tail_poll_ms;      /* log follower's idle poll interval, 0 -> 20 */
    /*
     * 0: a log follower thread reads committed events and feeds the hub
     *    (read replica: another process writes; bridge_http_notify wakes it).
     * 1: no follower; the writer of this process hands its events over with
     *    bridge_live_publish and reports every commit with
     *    bridge_live_committed (`asyncbridge run`).
     */
    int live_direct;
} bridge_http_options;

/*
 * Binds the listener, opens the read-only store connection and starts the
 * service thread.
 * Returns the server, or NULL with err filled ("bind 127.0.0.1:8080: ...",
 *   "open store 'x.db': ...") and nothing left running.
 * Ownership: opts and its strings are copied; doc and ingest_stats are
 *   borrowed until bridge_http_stop returns.
 * Thread: any (not the service thread).
 */
bridge_http *bridge_http_start(const bridge_http_options *opts, char *err, size_t errsize);

/* The port actually bound (useful with port 0). */
int bridge_http_port(const bridge_http *h);

/*
 * Closes every connection (WS clients get 1001), stops and joins the
 * service thread and frees everything. NULL does nothing.
 * Thread: the thread that called bridge_http_start.
 */
void bridge_http_stop(bridge_http *h);

/*
 * Wakes the log follower: new events were committed. Any thread; only
 * signals a condition variable. NULL does nothing.
 */
void bridge_http_notify(bridge_http *h);

/* One committed event for the live hub. All strings borrowed for the call. */
typedef struct bridge_live_event {
    int64_t seq;               /* strictly increasing across calls */
    const char *channel;       /* channel id */
    const char *message;       /* message id, or NULL */
    const char *device_id;     /* or NULL */
    const char *topic;         /* MQTT topic, or NULL */
    const char *params_json;   /* JSON object text, or NULL ("{}") */
    const char *payload_json;  /* payload JSON text (valid JSON) */
    size_t payload_len;        /* 0 -> strlen */
    const char *correlation_id; /* or NULL */
    int64_t received_at;       /* ms since the epoch */
} bridge_live_event;

/*
 * Hands a committed event to the live hub: copies it into a queue and wakes
 * the service thread (lws_cancel_service). Never blocks on clients: a slow
 * client only fills its own bounded queue. Call in seq order, after commit.
 * Returns 0, or -1 when out of memory or h is NULL (the event is then only
 * in the log; live clients can resume with `since`).
 * Thread: any (typically the ingest writer thread).
 */
int bridge_live_publish(bridge_http *h, const bridge_live_event *ev);

/*
 * 1 when at least one live (WS/SSE) client is connected, else 0 (also for
 * NULL). One atomic load. A writer that sees 0 after a commit may skip
 * publishing that commit's events: a client that connects later reads the
 * log from a point at or after it.
 * Thread: any.
 */
int bridge_http_live_wanted(const bridge_http *h);

/*
 * Direct mode: every commit that stored events, after the bridge_live_publish
 * calls for them (if any). When last_seq is beyond the last published seq
 * and a live client is connected, the hub resyncs every subscription from
 * the log (so events skipped because nobody listened when the batch began,
 * or lost to out of memory, leave no gap). Cheap; never blocks on clients.
 * NULL does nothing. Thread: the writer thread (the one that publishes).
 */
void bridge_live_committed(bridge_http *h, int64_t last_seq);

#endif
