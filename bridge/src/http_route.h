/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side's route table and the request/response records handlers
 * see. One table (http_router.c) drives three things, so they cannot drift:
 * dispatch, the 404/405 answers, and the OpenAPI document (openapi.c).
 *
 * Request path -> route:
 *
 *   | pattern                                | handler             | kind |
 *   |----------------------------------------|---------------------|------|
 *   | /api/v1/devices                        | rest_devices.c      | JSON |
 *   | /api/v1/devices/{id}                   | rest_devices.c      | JSON |
 *   | /api/v1/devices/{id}/events            | rest_events.c       | JSON |
 *   | /api/v1/devices/{id}/series            | rest_series.c       | JSON |
 *   | /api/v1/channels                       | rest_channels.c     | JSON |
 *   | /api/v1/channels/{channel}/events      | rest_events.c       | JSON |
 *   | /api/v1/events                         | rest_events.c       | JSON |
 *   | /api/v1/dead-letters[/{id}]            | rest_dead_letters.c | JSON |
 *   | /api/v1/stats                          | rest_stats.c        | JSON |
 *   | /api/v1/live                           | live_ws.c           | WS   |
 *   | /api/v1/stream                         | live_sse.c          | SSE  |
 *   | /openapi.json /asyncapi.yaml|.json     | rest_ops.c          | doc  |
 *   | /asyncapi/live.yaml /docs              | rest_ops.c          | doc  |
 *   | /healthz /readyz /metrics              | rest_ops.c          | ops  |
 *
 * Paths arrive percent-decoded once and normalised by lws ("//", "/./" and
 * "/../" collapsed, so nothing escapes the tree; bad %-escapes get 403 from
 * lws). Query arguments arrive decoded, split on literal '&' only.
 */
#ifndef BRIDGE_HTTP_ROUTE_H
#define BRIDGE_HTTP_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "http_buf.h"

#define BRIDGE_HTTP_MAX_ARGS 16        /* query arguments per request */
#define BRIDGE_HTTP_MAX_PATH_PARAMS 4  /* {x} segments per pattern */

typedef struct bridge_http bridge_http;

/* Types of parameters: drive both validation helpers and the OpenAPI schema. */
typedef enum bridge_param_type {
    BRIDGE_PARAM_STRING = 0, /* any text */
    BRIDGE_PARAM_INT,        /* integer (limit: 1..1000) */
    BRIDGE_PARAM_SEQ,        /* event sequence number, >= 0 */
    BRIDGE_PARAM_TIME,       /* RFC 3339 or epoch milliseconds */
    BRIDGE_PARAM_CURSOR,     /* opaque cursor from next_cursor */
    BRIDGE_PARAM_ENUM,       /* one of enum_values */
} bridge_param_type;

typedef struct bridge_param_spec {
    const char *name;        /* query or path parameter name */
    int in_path;             /* 1: {name} in the pattern; 0: query */
    bridge_param_type type;
    const char *const *enum_values; /* NULL-terminated, for ENUM */
    const char *description; /* one line, for OpenAPI */
} bridge_param_spec;

/* One decoded query argument; both strings point into bridge_http_req.store. */
typedef struct bridge_http_arg {
    const char *name;
    const char *value;       /* "" when the argument had no '=' */
    int used;                /* set by bridge_req_arg(); unused ones are 400 */
} bridge_http_arg;

typedef struct bridge_http_req {
    const char *path;        /* decoded, normalised path (borrowed from lws) */
    const char *path_params[BRIDGE_HTTP_MAX_PATH_PARAMS]; /* decoded {x} values */
    size_t n_path_params;
    bridge_http_arg args[BRIDGE_HTTP_MAX_ARGS];
    size_t n_args;
    const char *last_event_id; /* Last-Event-ID header, or NULL */
    char store[4096];        /* backing bytes of the strings above */
    size_t store_len;        /* bytes of store in use */
} bridge_http_req;

typedef struct bridge_http_resp {
    int status;              /* HTTP status */
    const char *content_type; /* static string */
    bridge_buf body;         /* body, with LWS_PRE headroom */
    /*
     * Or, instead of body: a cached event-list body shared with the
     * response cache (one reference held), sent in place followed by
     * shared_head and "}\n" (rest_events.c). NULL = use body.
     */
    struct bridge_rc_blob *shared;
    int64_t shared_head;     /* as_of_seq appended to a shared body */
    const char *allow;       /* Allow header for 405, or NULL */
    int no_store;            /* 1: Cache-Control: no-store */
} bridge_http_resp;

/* A route handler. Fills resp; returns 0 (resp filled, even for errors) or -1 (out of memory). */
typedef int (*bridge_route_fn)(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);

typedef enum bridge_route_kind {
    BRIDGE_ROUTE_JSON = 0,   /* application/json GET */
    BRIDGE_ROUTE_TEXT,       /* other content (YAML, HTML, Prometheus text) */
    BRIDGE_ROUTE_WS,         /* WebSocket upgrade */
    BRIDGE_ROUTE_SSE,        /* text/event-stream */
} bridge_route_kind;

typedef struct bridge_route {
    const char *pattern;     /* "/api/v1/devices/{id}/events" */
    const char *name;        /* metrics label and OpenAPI operationId */
    bridge_route_kind kind;
    bridge_route_fn get;     /* handler for GET (NULL for WS/SSE: handled by live_*.c) */
    const bridge_param_spec *params; /* terminated by name == NULL */
    const char *summary;     /* OpenAPI summary */
    const char *schema;      /* OpenAPI component name of the 200 body, or NULL */
    const char *content_type; /* 200 content type */
    int list;                /* 1: paginated list envelope */
} bridge_route;

/* The route table, terminated by pattern == NULL. */
extern const bridge_route bridge_routes[];

/*
 * Finds the route for a decoded path, filling req->path_params (copied into
 * req->store). Returns the route, or NULL when no pattern matches (404).
 * An empty path segment never matches a {param}.
 */
const bridge_route *bridge_router_match(const char *path, bridge_http_req *req);

/* Copies s into req->store; returns the copy or NULL when the store is full. */
const char *bridge_req_keep(bridge_http_req *req, const char *s, size_t n);

/*
 * Returns the value of query argument name and marks it used, or NULL when
 * absent. A name given twice is reported by bridge_req_check_args.
 */
const char *bridge_req_arg(bridge_http_req *req, const char *name);

/*
 * After a handler read its arguments: fills a 400 into resp and returns -1
 * when an argument was not used (unknown) or given twice; else returns 0.
 */
int bridge_req_check_args(bridge_http_req *req, bridge_http_resp *resp);

/* Fills resp with the JSON error {"error":{"code","message","parameter"}}. parameter may be NULL. */
void bridge_resp_error(bridge_http_resp *resp, int status, const char *code,
                       const char *message, const char *parameter);

/*
 * Parameter parsers. Each returns 0 with *out set, 1 when the argument is
 * absent (*out untouched), or -1 with a 400 error in resp.
 */
int bridge_arg_limit(bridge_http_req *req, bridge_http_resp *resp, long long *out);
int bridge_arg_seq(bridge_http_req *req, bridge_http_resp *resp, const char *name,
                   int64_t *out);
int bridge_arg_time(bridge_http_req *req, bridge_http_resp *resp, const char *name,
                    int64_t *out_ms);

/* Parses RFC 3339 ("2026-11-23T10:15:00Z", fraction and offset allowed) or epoch ms digits. Returns 0 or -1. */
int bridge_parse_time(const char *s, int64_t *out_ms);
/* Parses a decimal int64 with no sign, spaces or junk. Returns 0 or -1. */
int bridge_parse_u63(const char *s, int64_t *out);

/*
 * Cursors: opaque base64url text of "v1|<a>|<b>" with a checksum, where a is
 * a key (seq, time) and b a tie-breaker string (may be ""). decode returns
 * 0 or -1 for anything that was not made by encode.
 */
int bridge_cursor_encode(bridge_buf *out, char kind, int64_t a, const char *b);
int bridge_cursor_decode(const char *text, char kind, int64_t *a, char *b, size_t bsize);

#endif
