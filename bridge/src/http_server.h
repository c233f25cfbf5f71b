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
 *   ... after each commit (any thread, cheap, never blocks):
 *   bridge_http_notify(h);
 *   ... at shutdown: bridge_http_stop(h);
 *
 * Live events come from a log follower thread with its own read-only
 * connection: it reads the events committed after the last one it handed
 * to the hub, woken by bridge_http_notify (or every tail_poll_ms without
 * it). So the ingest passes no event data and cannot be slowed by clients;
 * bridge_live_publish remains for callers that have the event at hand
 * (publishing the same seq twice is harmless: clients get each seq once).
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

#endif
