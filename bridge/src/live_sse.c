/* SPDX-License-Identifier: MIT */
/*
 * SSE /api/v1/stream: text/event-stream with "id: <seq>", "event: <channel>",
 * "data: <event JSON>" per event, ": heartbeat" comments every
 * sse_heartbeat_s, filters channel/device from the query, resume after the
 * Last-Event-ID header (or ?since=) with the same replay-then-live rule as
 * the WebSocket. A client whose queue stays full is dropped (end of stream).
 */
#include <stdio.h>
#include <string.h>

#include "live_int.h"

int bridge_live_sse_start(bridge_http *h, struct lws *wsi, bridge_session *s,
                          bridge_http_req *req)
{
    const char *channel = bridge_req_arg(req, "channel");
    const char *device = bridge_req_arg(req, "device");
    const char *since = bridge_req_arg(req, "since");
    unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof(buf) - 1;
    int64_t since_v = -1;
    bridge_live_conn *c;

    if (bridge_req_check_args(req, &s->resp) < 0)
        return 1;
    if (channel && !asyncapi_doc_channel(h->opts.doc, channel)) {
        bridge_resp_error(&s->resp, 400, "unknown_channel", "no channel with this id in the spec",
                          "channel");
        return 1;
    }
    if (device && (!*device || strlen(device) > STORE_MAX_DEVICE)) {
        bridge_resp_error(&s->resp, 400, "bad_parameter", "device must be 1..128 bytes",
                          "device");
        return 1;
    }
    if (req->last_event_id) {
        if (live__parse_seq(req->last_event_id, &since_v) < 0) {
            bridge_resp_error(&s->resp, 400, "bad_parameter",
                              "Last-Event-ID must be an event seq", "Last-Event-ID");
            return 1;
        }
    } else if (since && live__parse_seq(since, &since_v) < 0) {
        bridge_resp_error(&s->resp, 400, "bad_parameter", "since must be a non-negative integer",
                          "since");
        return 1;
    }
    c = live__conn_new(h, wsi, 1);
    if (!c) {
        bridge_resp_error(&s->resp, 503, "too_many_connections",
                          "live connection limit reached, retry later", NULL);
        return 1;
    }
    if (live__sub_add(c, "default", channel, device, since_v) < 0) {
        live__conn_free(c);
        return -1;
    }
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/event-stream",
                                    LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-accel-buffering:",
                                    (const unsigned char *)"no", 2, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        live__conn_free(c);
        return -1;
    }
    s->live = c;
    lws_http_mark_sse(wsi);
    lws_callback_on_writable(wsi);
    return 0;
}

static int sse_send(struct lws *wsi, bridge_live_conn *c, const char *text, size_t len)
{
    bridge_buf *tx = &c->tx;

    bridge_buf_reset(tx);
    bridge_buf_append(tx, text, len);
    if (tx->oom)
        return -1;
    if (lws_write(wsi, bridge_buf_data(tx), tx->len, LWS_WRITE_HTTP) < (int)tx->len)
        return -1;
    c->last_write_ms = live__now_ms();
    return 0;
}

int bridge_live_sse_writeable(bridge_http *h, struct lws *wsi, bridge_session *s)
{
    bridge_live_conn *c = s->live;
    live_entry e;
    int frames = 0;

    if (c->closing)
        return -1; /* stalled: end of stream; the client resumes with Last-Event-ID */
    if (!c->sse_started) {
        c->sse_started = 1;
        if (sse_send(wsi, c, ": asyncbridge live stream\nretry: 2000\n\n", 39) < 0)
            return -1;
    }
    if (c->heartbeat_due) {
        c->heartbeat_due = 0;
        if (sse_send(wsi, c, ": heartbeat\n\n", 13) < 0)
            return -1;
    }
    if (live__fill(c) < 0)
        return -1;
    while (frames < 64 && !lws_send_pipe_choked(wsi) && live__pop(c, &e)) {
        size_t len = 0;
        const char *text = live__msg_sse(e.msg, &len);
        int rc = text ? sse_send(wsi, c, text, len) : -1;

        live__msg_unref(e.msg);
        if (rc < 0)
            return -1;
        h->metrics.live_delivered++;
        frames++;
    }
    if (c->full_since_ms && c->data_count < h->opts.live_queue_max)
        c->full_since_ms = 0;
    if (c->count || c->subs[0].replay)
        lws_callback_on_writable(wsi);
    return 0;
}
