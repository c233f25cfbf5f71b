/* SPDX-License-Identifier: MIT */
/*
 * /metrics: the Prometheus text exposition (format 0.0.4). The HTTP side
 * keeps its own counters here (requests by route and status, live clients);
 * the ingest counters are the ingest's (ingest.h), read with atomic loads.
 * See docs/http.md for the metric names.
 */
#ifndef BRIDGE_METRICS_H
#define BRIDGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "asyncapi/asyncapi.h"
#include "http_buf.h"
#include "ingest.h"

#define BRIDGE_METRICS_MAX_ROUTES 32  /* >= routes in the table + 1 ("unmatched") */
#define BRIDGE_METRICS_STATUS_SLOTS 12 /* see bridge_metrics_status_slot */

/*
 * Counters of the HTTP side. Written and read only on the service thread,
 * so plain integers.
 */
typedef struct bridge_http_metrics {
    uint64_t requests[BRIDGE_METRICS_MAX_ROUTES][BRIDGE_METRICS_STATUS_SLOTS];
                                      /* [route index or n_routes for none][slot] */
    uint64_t live_connections;        /* WS + SSE clients connected now */
    uint64_t live_connections_total;  /* accepted since start */
    uint64_t live_delivered;          /* events written to clients */
    uint64_t live_replayed;           /* of those, replayed from the log */
    uint64_t live_dropped_clients;    /* clients dropped as stalled */
    uint64_t live_rejected;           /* refused: over max connections */
    uint64_t live_bad_frames;         /* malformed/unknown client frames */
    uint64_t live_published;          /* events taken from the ingest */
} bridge_http_metrics;

/* Maps an HTTP status to a slot (200,400,403,404,405,414,426,431,500,503,other). */
size_t bridge_metrics_status_slot(int status);
/* The status code of a slot, 0 for "other". */
int bridge_metrics_slot_status(size_t slot);

/* What the renderer reads; any pointer may be NULL (its metrics are left out). */
typedef struct bridge_metrics_input {
    const bridge_http_metrics *http;
    const bridge_ingest_stats *ingest;
    const asyncapi_doc *doc;          /* channel names for the per-channel counters */
    int broker_known;                 /* 1: broker_connected is meaningful */
    int broker_connected;             /* 1 connected, 0 not */
    int store_known;                  /* 1: the three store values are set */
    int64_t last_seq;                 /* log head */
    int64_t projected_seq;            /* projector checkpoint */
    int64_t dead_letters;             /* rows */
} bridge_metrics_input;

/* Appends the whole exposition to out (check out->oom). */
void bridge_metrics_render(bridge_buf *out, const bridge_metrics_input *in);

/* Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown. */
uint64_t bridge_metrics_rss_bytes(void);

#endif
