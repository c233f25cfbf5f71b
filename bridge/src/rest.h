/* SPDX-License-Identifier: MIT */
/*
 * REST and ops handlers (rest_*.c), referenced from the route table in
 * http_router.c. Each fills the response (status, type, body) and returns 0,
 * or -1 when out of memory (the server then answers 500).
 * Thread: the lws service thread only (they use its read-only connection).
 */
#ifndef BRIDGE_REST_H
#define BRIDGE_REST_H

#include "http_route.h"
#include "store/query.h"

int bridge_rest_devices(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_device(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_device_events(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_device_series(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_channels(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_channel_events(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_events(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_dead_letters(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_dead_letter(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_stats(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);

int bridge_rest_openapi(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_asyncapi_yaml(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_asyncapi_json(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_live_yaml(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_docs(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_healthz(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_readyz(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);
int bridge_rest_metrics(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp);

/*
 * Shared by REST and live: appends one event as a JSON object
 * {"seq","channel","message","device","topic","params","payload",
 *  "correlation_id","received_at"}. params/payload are the stored JSON text.
 */
void bridge_rest_event_json(bridge_buf *b, const store_event_row *row);

/* Appends "raw" if it is non-NULL JSON text from the store, else null. */
void bridge_rest_raw_json(bridge_buf *b, const char *raw);

/*
 * Store failure -> 503 {"error":{"code":"store_unavailable"}} (busy) or
 * 500. Always returns 0 (the response is filled).
 */
int bridge_rest_store_error(bridge_http *h, bridge_http_resp *resp, int err);

#endif
