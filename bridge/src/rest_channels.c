/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/channels: the spec's channels (id, address, MQTT topic
 * filter, parameters, messages, whether the bridge receives on it) with
 * counts from the store. Counting a channel's events walks its index, so
 * the rendered counts are cached until the log head moves.
 */
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "rest.h"

static int render_items(bridge_http *h, bridge_buf *b)
{
    size_t n = 0;
    const asyncapi_channel *chs = asyncapi_doc_channels(h->opts.doc, &n);

    for (size_t i = 0; i < n; i++) {
        const asyncapi_channel *c = &chs[i];
        store_channel_counts cc = { 0 };
        int rc = store_read_channel_counts(h->reader, c->id, &cc);

        if (rc < 0)
            return rc;
        if (i)
            bridge_buf_putc(b, ',');
        bridge_buf_puts(b, "{\"id\":");
        bridge_buf_json_cstr(b, c->id);
        bridge_buf_puts(b, ",\"address\":");
        bridge_buf_json_cstr(b, c->address);
        bridge_buf_puts(b, ",\"topic_filter\":");
        bridge_buf_json_cstr(b, c->topic_filter);
        bridge_buf_puts(b, ",\"description\":");
        bridge_buf_json_cstr(b, c->description);
        bridge_buf_puts(b, ",\"receives\":");
        bridge_buf_puts(b, asyncapi_channel_receives(h->opts.doc, c) ? "true" : "false");
        bridge_buf_puts(b, ",\"parameters\":[");
        for (size_t k = 0; k < c->n_params; k++) {
            if (k)
                bridge_buf_putc(b, ',');
            bridge_buf_json_cstr(b, c->params[k].name);
        }
        bridge_buf_puts(b, "],\"messages\":[");
        for (size_t k = 0; k < c->n_messages; k++) {
            if (k)
                bridge_buf_putc(b, ',');
            bridge_buf_json_cstr(b, c->messages[k]->id);
        }
        bridge_buf_puts(b, "],\"counts\":{\"events\":");
        bridge_buf_int(b, cc.events);
        bridge_buf_puts(b, ",\"dead_letters\":");
        bridge_buf_int(b, cc.dead_letters);
        bridge_buf_puts(b, ",\"last_seq\":");
        bridge_buf_int(b, cc.last_seq);
        bridge_buf_puts(b, ",\"last_event_at\":");
        if (cc.last_seq)
            bridge_buf_json_time_ms(b, cc.last_event_at);
        else
            bridge_buf_puts(b, "null");
        bridge_buf_puts(b, "}}");
    }
    return 0;
}

int bridge_rest_channels(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    bridge_buf *cache;
    int64_t head = 0, dl = 0;
    int rc;

    if (bridge_req_check_args(req, resp) < 0)
        return 0;
    if (!h->ch_cache) {
        h->ch_cache = calloc(1, sizeof(bridge_buf));
        if (!h->ch_cache)
            return -1;
        bridge_buf_init(h->ch_cache, 0);
    }
    cache = h->ch_cache;
    rc = store_reader_begin(h->reader);
    if (rc == 0)
        rc = store_read_heads(h->reader, &head, NULL);
    if (rc == 0)
        rc = store_read_totals(h->reader, NULL, &dl, NULL);
    /* dead letters do not move the log head: key the cache on both */
    if (rc == 0 && (h->ch_cache_seq != head * 1000003 + dl || cache->len == 0)) {
        bridge_buf_reset(cache);
        rc = render_items(h, cache);
        h->ch_cache_seq = rc == 0 && !cache->oom ? head * 1000003 + dl : -1;
    }
    store_reader_end(h->reader);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    if (cache->oom) {
        bridge_buf_reset(cache);
        return -1;
    }
    resp->status = 200;
    resp->content_type = "application/json";
    bridge_buf_puts(&resp->body, "{\"items\":[");
    bridge_buf_append(&resp->body, bridge_buf_str(cache), cache->len);
    bridge_buf_puts(&resp->body, "],\"next_cursor\":null,\"as_of_seq\":");
    bridge_buf_int(&resp->body, head);
    bridge_buf_puts(&resp->body, "}\n");
    return resp->body.oom ? -1 : 0;
}
