/* SPDX-License-Identifier: MIT */
/*
 * Private state of the HTTP side, shared by http_server.c, rest_*.c,
 * openapi.c and live_*.c. Everything here is touched only by the lws
 * service thread, except where a field says otherwise.
 */
#ifndef BRIDGE_HTTP_INT_H
#define BRIDGE_HTTP_INT_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http_buf.h"
#include "http_route.h"
#include "http_server.h"
#include "metrics.h"
#include "store/query.h"

struct lws_context;
struct lws_vhost;
typedef struct bridge_live_hub bridge_live_hub;

typedef struct bridge_live_conn bridge_live_conn;

/* Per-connection state; lws allocates it (per_session_data_size) and zeroes it. */
/* Response bodies kept for reuse (see bridge_http.body_pool). */
#define BRIDGE_BODY_POOL 128
/*
 * Headroom of a response body buffer: LWS_PRE plus room for the status
 * line and headers, which are staged right before the body so that the
 * whole response leaves in one send().
 */
#define BRIDGE_HEAD_ROOM 1024

typedef struct bridge_session {
    bridge_http_resp resp;         /* response being sent (HTTP) */
    size_t sent;                   /* body bytes written so far */
    size_t head_len;               /* header bytes staged just before the body, 0 = none */
    int responding;                /* 1 while a body is being written */
    int close_after;               /* 1: close the connection after this response */
    bridge_live_conn *live;        /* WS or SSE state, owned; freed on close */
    char *ws_query;                /* WS: URL filters seen at upgrade ("ch\0dev\0since\0" + flags), owned */
} bridge_session;

struct bridge_http {
    bridge_http_options opts;      /* copy; string fields point at the copies below */
    char *listen_copy;             /* owned */
    char *db_copy;                 /* owned */
    char *spec_copy;               /* owned */
    char iface[64];                /* listen address for lws ("" = all) */
    int port;                      /* bound port */
    struct lws_context *lws;       /* the context, owned */
    struct lws_vhost *vhost;       /* its one vhost, owned by lws */
    pthread_t thread;              /* service thread */
    int thread_started;            /* 1 once created */
    atomic_int stopping;           /* set by bridge_http_stop (any thread) */
    store_reader *reader;          /* read-only store connection, service thread */
    char *openapi;                 /* /openapi.json body, built once */
    size_t openapi_len;
    char *spec_text;               /* /asyncapi.yaml body (the file bytes) */
    size_t spec_len;
    char *spec_json;               /* /asyncapi.json body */
    size_t spec_json_len;
    bridge_http_metrics metrics;   /* HTTP-side counters */
    size_t n_routes;               /* entries in bridge_routes */
    bridge_live_hub *hub;          /* live push state */
    unsigned connections;          /* open HTTP/WS/SSE connections */
    /* cache of per-channel counts for /api/v1/channels, keyed by log head */
    int64_t ch_cache_seq;          /* log head the cache reflects, -1 = empty */
    void *ch_cache;                /* bridge_buf * of the rendered items, owned */
    struct bridge_resp_cache *rcache; /* event-list response cache (rest_events.c), owned */
    bridge_http_req req;           /* scratch for the request being handled (service thread) */
    /*
     * Response body buffers kept between transactions (service thread).
     * lws unbinds the protocol after every HTTP/1.1 transaction, which
     * frees the session's buffer; re-allocating ~40 KiB per request cost
     * page faults (glibc trims a thread arena's top with MADV_DONTNEED)
     * that were ~20 % of the server's CPU. At most BRIDGE_BODY_POOL kept.
     */
    bridge_buf body_pool[BRIDGE_BODY_POOL];
    size_t n_body_pool;            /* entries in body_pool */
    /* log follower (live_tail.c): its own thread and read-only connection */
    store_reader *tail_reader;     /* owned, used only by the follower thread */
    pthread_t tail_thread;
    int tail_started;              /* 1 once the thread runs */
    pthread_mutex_t tail_lock;     /* guards tail_wake */
    pthread_cond_t tail_cond;      /* signalled by bridge_http_notify and stop */
    int tail_wake;                 /* a notify arrived since the last read */
    int64_t tail_last;             /* last seq handed to the hub (follower thread) */
    /*
     * Live (WS + SSE) connections registered with the hub: written by the
     * lws thread when one registers (before it can read the log for a
     * replay or its start position), read by the follower, which skips
     * reading events nobody could receive while it is 0.
     */
    atomic_uint live_clients;
};

/* Starts / stops the log follower (live_tail.c). start returns 0 or -1 (err filled). */
int bridge_live_tail_start(bridge_http *h, char *err, size_t errsize);
void bridge_live_tail_stop(bridge_http *h);

/*
 * A cached event-list body, reference counted: the cache slot holds one
 * reference, every response being sent from it another, so a body evicted
 * while queued for a slow client stays valid until that response is
 * written. Service thread only (no atomics needed).
 *
 *   mem: [BRIDGE_RC_PRE headroom][len body bytes][BRIDGE_RC_TAIL tail room]
 *
 * The headers and the as_of_seq tail are written into the head and tail
 * room right before the one lws_write of a response, in WRITEABLE; since
 * lws_write sends or copies everything before returning, responses that
 * share a blob never see each other's headers or tails.
 */
#define BRIDGE_RC_PRE (LWS_PRE + BRIDGE_HEAD_ROOM)
#define BRIDGE_RC_TAIL 32
typedef struct bridge_rc_blob {
    unsigned refs;           /* holders: the cache slot and responses in flight */
    size_t len;              /* body bytes, up to and including "as_of_seq": */
    unsigned char mem[];     /* BRIDGE_RC_PRE + len + BRIDGE_RC_TAIL bytes */
} bridge_rc_blob;

/* Drops one reference; frees the blob at zero. NULL does nothing. */
void bridge_rc_blob_unref(bridge_rc_blob *b);

/* Frees the event-list response cache. NULL does nothing. */
void bridge_resp_cache_free(struct bridge_resp_cache *c);

/* Builds the OpenAPI 3.1 document for the route table (openapi.c). Returns malloc'd JSON or NULL. */
char *bridge_openapi_build(const asyncapi_doc *doc, size_t *len);

/* Route index of r in bridge_routes. */
size_t bridge_route_index(const bridge_route *r);

/* Live hub (live_hub.c). */
bridge_live_hub *bridge_live_hub_new(bridge_http *h);
void bridge_live_hub_free(bridge_live_hub *hub);
/* Service thread: moves published events to matching connections. */
void bridge_live_hub_drain(bridge_live_hub *hub);

#endif
