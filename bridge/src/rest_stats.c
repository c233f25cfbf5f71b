/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/stats: totals, per-channel rates over the last minute and the
 * projection lag (log head minus checkpoint).
 */
#include <time.h>

#include "http_int.h"
#include "rest.h"

#define RATE_WINDOW_MS 60000
#define RATE_MAX_EVENTS 200000 /* rates look at no more than the newest events */

typedef struct rate_ctx {
    bridge_buf *b;
    size_t n;
} rate_ctx;

static int on_rate(void *ctx, const char *channel, int64_t n)
{
    rate_ctx *rc = ctx;

    if (rc->n++)
        bridge_buf_putc(rc->b, ',');
    bridge_buf_puts(rc->b, "{\"channel\":");
    bridge_buf_json_cstr(rc->b, channel);
    bridge_buf_puts(rc->b, ",\"events_last_minute\":");
    bridge_buf_int(rc->b, n);
    bridge_buf_puts(rc->b, ",\"per_second\":");
    bridge_buf_double(rc->b, (double)n / (RATE_WINDOW_MS / 1000.0));
    bridge_buf_putc(rc->b, '}');
    return 0;
}

int bridge_rest_stats(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    int64_t head = 0, cp = 0, ev = 0, dl = 0, dev = 0, now;
    struct timespec ts;
    rate_ctx rc = { .b = &resp->body };
    int e;

    if (bridge_req_check_args(req, resp) < 0)
        return 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    e = store_reader_begin(h->reader);
    if (e == 0)
        e = store_read_heads(h->reader, &head, &cp);
    if (e == 0)
        e = store_read_totals(h->reader, &ev, &dl, &dev);
    if (e < 0)
        return bridge_rest_store_error(h, resp, e);
    resp->status = 200;
    resp->content_type = "application/json";
    bridge_buf_printf(&resp->body,
                      "{\"events\":%lld,\"dead_letters\":%lld,\"devices\":%lld,"
                      "\"last_seq\":%lld,\"projected_seq\":%lld,\"projection_lag\":%lld,"
                      "\"rate_window_s\":%d,\"channels\":[",
                      (long long)ev, (long long)dl, (long long)dev, (long long)head,
                      (long long)cp, (long long)(head > cp ? head - cp : 0),
                      RATE_WINDOW_MS / 1000);
    e = store_read_recent_counts(h->reader, now - RATE_WINDOW_MS, RATE_MAX_EVENTS, on_rate, &rc);
    store_reader_end(h->reader);
    if (e < 0)
        return bridge_rest_store_error(h, resp, e);
    bridge_buf_puts(&resp->body, "],\"as_of_seq\":");
    bridge_buf_int(&resp->body, head);
    bridge_buf_puts(&resp->body, "}\n");
    return resp->body.oom ? -1 : 0;
}
