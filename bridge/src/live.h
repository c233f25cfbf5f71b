/* SPDX-License-Identifier: MIT */
/*
 * Live push (live_hub.c, live_ws.c, live_sse.c): the hub takes committed
 * events from the ingest thread through a mutex-protected queue and
 * lws_cancel_service; on the service thread it fans them out to the
 * connections whose subscriptions match, each with a bounded queue.
 * Clients that resume with `since` are first replayed from the log, then
 * switched to live with no gap and no duplicate. See docs/http.md ("Live").
 * Thread: everything here runs on the lws service thread.
 */
#ifndef BRIDGE_LIVE_H
#define BRIDGE_LIVE_H

#include <stddef.h>

#include "http_int.h"

struct lws;

/*
 * Starts an SSE stream for GET /api/v1/stream: validates the query, sends
 * the event-stream headers and registers the connection.
 * Returns 0 (streaming), 1 (refused: a 400/503 error is in s->resp), -1 (close).
 */
int bridge_live_sse_start(bridge_http *h, struct lws *wsi, bridge_session *s,
                          bridge_http_req *req);

/* HTTP_WRITEABLE of an SSE connection. Returns 0 or -1 (close). */
int bridge_live_sse_writeable(bridge_http *h, struct lws *wsi, bridge_session *s);

/* Frees the live state of a closing WS or SSE connection. */
void bridge_live_close(bridge_http *h, bridge_session *s);

/* The WebSocket reasons (filter, established, receive, writeable, closed). */
int bridge_live_ws_callback(bridge_http *h, struct lws *wsi, int reason, bridge_session *s,
                            void *in, size_t len);

#endif
