/* SPDX-License-Identifier: MIT */
/*
 * WebSocket /api/v1/live: JSON text frames.
 *   client -> {"op":"subscribe","id":"s1","channel":"..","device":"..","since":N}
 *             {"op":"unsubscribe","id":"s1"}   {"op":"ping"}
 *   server -> {"type":"event","sub":"s1","seq":N,...the REST event fields...}
 *             {"type":"subscribed",...} {"type":"unsubscribed","id":..}
 *             {"type":"pong","seq":N} {"type":"error","code":..,"message":..,"id":..}
 * URL query channel/device/since opens subscription "default". Malformed
 * frames get an error frame; more than live_max_errors of them close the
 * connection (1008). Described for clients in /asyncapi/live.yaml.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi/parse.h"
#include "live_int.h"

#define WS_BATCH 64 /* frames written per WRITEABLE while the pipe takes them ... */
#define WS_BATCH_BYTES (64u * 1024) /* ... and about this many bytes, in one send */

static void send_error(bridge_live_conn *c, const char *code, const char *msg, const char *id)
{
    bridge_buf b;

    bridge_buf_init(&b, 0);
    bridge_buf_puts(&b, "{\"type\":\"error\",\"code\":");
    bridge_buf_json_cstr(&b, code);
    bridge_buf_puts(&b, ",\"message\":");
    bridge_buf_json_cstr(&b, msg);
    bridge_buf_puts(&b, ",\"id\":");
    bridge_buf_json_cstr(&b, id);
    bridge_buf_putc(&b, '}');
    if (!b.oom)
        (void)live__queue_ctl(c, bridge_buf_str(&b), b.len);
    bridge_buf_release(&b);
}

static void bad_frame(bridge_live_conn *c, const char *code, const char *msg, const char *id)
{
    c->h->metrics.live_bad_frames++;
    send_error(c, code, msg, id);
    if (++c->errors > c->h->opts.live_max_errors) {
        c->close_after_flush = 1;
        c->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
    }
}

static void send_subscribed(bridge_live_conn *c, int slot, int64_t since)
{
    live_sub *s = &c->subs[slot];
    bridge_buf b;

    bridge_buf_init(&b, 0);
    bridge_buf_puts(&b, "{\"type\":\"subscribed\",\"id\":");
    bridge_buf_json_cstr(&b, s->id);
    bridge_buf_puts(&b, ",\"channel\":");
    bridge_buf_json_cstr(&b, s->channel);
    bridge_buf_puts(&b, ",\"device\":");
    bridge_buf_json_cstr(&b, s->device);
    bridge_buf_puts(&b, ",\"since\":");
    if (since >= 0)
        bridge_buf_int(&b, since);
    else
        bridge_buf_puts(&b, "null");
    bridge_buf_puts(&b, ",\"live_from\":");
    bridge_buf_int(&b, s->last_seq);
    bridge_buf_putc(&b, '}');
    if (!b.oom)
        (void)live__queue_ctl(c, bridge_buf_str(&b), b.len);
    bridge_buf_release(&b);
}

/* Validates and adds a subscription; errors go to the client. */
static void subscribe(bridge_live_conn *c, const char *id, const char *channel,
                      const char *device, int64_t since)
{
    int slot;

    if (!id || !*id || strlen(id) > LIVE_SUB_ID_MAX) {
        bad_frame(c, "bad_parameter", "id must be a string of 1..64 bytes", id);
        return;
    }
    if (channel && !asyncapi_doc_channel(c->h->opts.doc, channel)) {
        bad_frame(c, "unknown_channel", "no channel with this id in the spec", id);
        return;
    }
    if (device && (!*device || strlen(device) > STORE_MAX_DEVICE)) {
        bad_frame(c, "bad_parameter", "device must be a string of 1..128 bytes", id);
        return;
    }
    if (live__sub_find(c, id) >= 0) {
        bad_frame(c, "duplicate_id", "a subscription with this id exists", id);
        return;
    }
    slot = live__sub_add(c, id, channel, device, since);
    if (slot < 0) {
        bad_frame(c, "too_many_subscriptions", "subscription limit reached", id);
        return;
    }
    send_subscribed(c, slot, since);
}

static const char *str_field(const cJSON *o, const char *name, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

static void on_message(bridge_live_conn *c, const char *text, size_t len)
{
    cJSON *o = NULL;
    const char *op, *id, *channel, *device;
    const cJSON *since;
    int bad = 0;
    int64_t since_v = -1;

    /* strict, bounded, and no cJSON global state on the lws thread */
    if (asyncapi_json_parse(text, len, 16, &o) != 0 || !cJSON_IsObject(o)) {
        bad_frame(c, "bad_json", "frame is not a JSON object", NULL);
        goto done;
    }
    op = str_field(o, "op", &bad);
    id = str_field(o, "id", &bad);
    channel = str_field(o, "channel", &bad);
    device = str_field(o, "device", &bad);
    if (bad || !op) {
        bad_frame(c, "bad_frame", "op, id, channel and device must be strings; op is required",
                  NULL);
        goto done;
    }
    if (strcmp(op, "ping") == 0) {
        char pong[64];
        int64_t head = 0;
        int n;

        (void)store_read_heads(c->h->reader, &head, NULL);
        n = snprintf(pong, sizeof(pong), "{\"type\":\"pong\",\"seq\":%lld}", (long long)head);
        if (n > 0 && (size_t)n < sizeof(pong))
            (void)live__queue_ctl(c, pong, (size_t)n);
    } else if (strcmp(op, "subscribe") == 0) {
        since = cJSON_GetObjectItemCaseSensitive(o, "since");
        if (since && !cJSON_IsNull(since)) {
            if (!cJSON_IsNumber(since) || since->valuedouble < 0 ||
                since->valuedouble > 9007199254740991.0 ||
                since->valuedouble != (double)(int64_t)since->valuedouble) {
                bad_frame(c, "bad_parameter", "since must be a non-negative integer", id);
                goto done;
            }
            since_v = (int64_t)since->valuedouble;
        }
        subscribe(c, id, channel, device, since_v);
    } else if (strcmp(op, "unsubscribe") == 0) {
        int slot = id ? live__sub_find(c, id) : -1;

        if (slot < 0) {
            bad_frame(c, "unknown_id", "no subscription with this id", id);
        } else {
            char msg[LIVE_SUB_ID_MAX * 6 + 48];
            bridge_buf b;

            live__sub_remove(c, slot);
            bridge_buf_init(&b, 0);
            bridge_buf_puts(&b, "{\"type\":\"unsubscribed\",\"id\":");
            bridge_buf_json_cstr(&b, id);
            bridge_buf_putc(&b, '}');
            if (!b.oom && b.len < sizeof(msg))
                (void)live__queue_ctl(c, bridge_buf_str(&b), b.len);
            bridge_buf_release(&b);
        }
    } else {
        bad_frame(c, "unknown_op", "op must be subscribe, unsubscribe or ping", id);
    }
done:
    cJSON_Delete(o);
}

/*
 * URL filters are read while the upgrade request's headers still exist
 * (FILTER_PROTOCOL_CONNECTION) and kept in the session until ESTABLISHED.
 * Layout: 3 flag bytes ('1' present / '0'), then channel, device, since,
 * each NUL-terminated.
 */
static char *url_query_keep(struct lws *wsi)
{
    char channel[1024], device[STORE_MAX_DEVICE + 2], since[32], *out;
    const char *v[3];
    size_t len[3], total = 3;

    v[0] = lws_get_urlarg_by_name(wsi, "channel=", channel, sizeof(channel));
    v[1] = lws_get_urlarg_by_name(wsi, "device=", device, sizeof(device));
    v[2] = lws_get_urlarg_by_name(wsi, "since=", since, sizeof(since));
    if (!v[0] && !v[1] && !v[2])
        return NULL;
    for (int i = 0; i < 3; i++) {
        len[i] = v[i] ? strlen(v[i]) : 0;
        total += len[i] + 1;
    }
    out = malloc(total);
    if (!out)
        return NULL;
    total = 3;
    for (int i = 0; i < 3; i++) {
        out[i] = v[i] ? '1' : '0';
        memcpy(out + total, v[i] ? v[i] : "", len[i] + 1);
        total += len[i] + 1;
    }
    return out;
}

/* Opens subscription "default" from the kept URL filters. */
static void url_subscription(bridge_live_conn *c, const char *q)
{
    const char *ch = q + 3, *dv = ch + strlen(ch) + 1, *sn = dv + strlen(dv) + 1;
    int64_t since_v = -1;

    if (q[2] == '1' && live__parse_seq(sn, &since_v) < 0) {
        bad_frame(c, "bad_parameter", "since must be a non-negative integer", "default");
        return;
    }
    subscribe(c, "default", q[0] == '1' ? ch : NULL, q[1] == '1' ? dv : NULL, since_v);
}

/* Appends the header of an unmasked, final text frame of n payload bytes (RFC 6455 5.2). */
static void frame_header(bridge_buf *tx, size_t n)
{
    unsigned char h[10];
    size_t k = 0;

    h[k++] = 0x81; /* FIN, opcode 1 (text) */
    if (n < 126) {
        h[k++] = (unsigned char)n;
    } else if (n <= 0xffff) {
        h[k++] = 126;
        h[k++] = (unsigned char)(n >> 8);
        h[k++] = (unsigned char)n;
    } else {
        h[k++] = 127;
        for (int i = 7; i >= 0; i--)
            h[k++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    bridge_buf_append(tx, h, k);
}

/*
 * Writes queued frames: up to WS_BATCH of them (and about WS_BATCH_BYTES)
 * are framed here and handed to lws as one raw write, so a burst costs one
 * send(2) instead of one per event. The connection has no extensions
 * (no permessage-deflate), so the frames are plain RFC 6455 frames.
 * Returns 0 or -1 (close).
 */
static int ws_write(bridge_live_conn *c, struct lws *wsi)
{
    live_entry e;
    int frames = 0;
    bridge_buf *tx = &c->tx, idq;

    if (c->closing) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code, (unsigned char *)"slow", 4);
        return -1;
    }
    if (live__fill(c) < 0)
        return -1;
    bridge_buf_reset(tx);
    bridge_buf_init(&idq, 0);
    while (frames < WS_BATCH && tx->len < WS_BATCH_BYTES && !lws_send_pipe_choked(wsi) &&
           live__pop(c, &e)) {
        if (e.sub >= 0) {
            static const char prefix[] = "{\"type\":\"event\",\"sub\":";
            live_sub *s = &c->subs[e.sub];

            if (!s->used || s->gen != e.gen) { /* unsubscribed since it was queued */
                live__msg_unref(e.msg);
                continue;
            }
            bridge_buf_reset(&idq);
            bridge_buf_json_cstr(&idq, s->id);
            bridge_buf_putc(&idq, ',');
            frame_header(tx, sizeof(prefix) - 1 + idq.len + e.msg->json_len - 1);
            bridge_buf_append(tx, prefix, sizeof(prefix) - 1);
            bridge_buf_append(tx, bridge_buf_str(&idq), idq.len);
            bridge_buf_append(tx, e.msg->json + 1, e.msg->json_len - 1);
            c->h->metrics.live_delivered++;
        } else {
            frame_header(tx, e.msg->json_len);
            bridge_buf_append(tx, e.msg->json, e.msg->json_len);
        }
        live__msg_unref(e.msg);
        frames++;
    }
    {
        int oom = tx->oom || idq.oom;

        bridge_buf_release(&idq);
        if (oom)
            return -1;
    }
    if (tx->len > 0 &&
        lws_write(wsi, bridge_buf_data(tx), tx->len, LWS_WRITE_RAW) < (int)tx->len)
        return -1;
    if (c->full_since_ms && c->data_count < c->h->opts.live_queue_max)
        c->full_since_ms = 0;
    if (c->count || live__fill(c) < 0 || c->count) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    for (size_t i = 0; i < c->n_subs_max; i++)
        if (c->subs[i].used && c->subs[i].replay) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    if (c->close_after_flush) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code, (unsigned char *)"errors", 6);
        return -1;
    }
    return 0;
}

static int path_is_live(struct lws *wsi)
{
    char uri[64];
    int n = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);

    return n > 0 && (strcmp(uri, "/api/v1/live") == 0 || strcmp(uri, "/api/v1/live/") == 0);
}

int bridge_live_ws_callback(bridge_http *h, struct lws *wsi, int reason, bridge_session *s,
                            void *in, size_t len)
{
    bridge_live_conn *c = s ? s->live : NULL;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (!path_is_live(wsi))
            return 1; /* upgrade refused: not the live endpoint */
        if (h->hub->n_conns >= h->opts.max_connections) {
            h->metrics.live_rejected++;
            return 1;
        }
        if (s) {
            free(s->ws_query);
            s->ws_query = url_query_keep(wsi);
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        if (!s)
            return -1;
        s->live = live__conn_new(h, wsi, 0);
        if (!s->live)
            return -1;
        {
            size_t ri = 0;

            for (const bridge_route *r = bridge_routes; r->pattern; r++)
                if (r->kind == BRIDGE_ROUTE_WS)
                    ri = bridge_route_index(r);
            h->metrics.requests[ri][bridge_metrics_status_slot(101)]++;
        }
        if (s->ws_query) {
            url_subscription(s->live, s->ws_query);
            free(s->ws_query);
            s->ws_query = NULL;
        }
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c)
            return -1;
        if (lws_frame_is_binary(wsi)) {
            if (lws_is_final_fragment(wsi))
                bad_frame(c, "bad_frame", "binary frames are not accepted", NULL);
            return 0;
        }
        if (!c->rx_skip) {
            if (c->rx.len + len > h->opts.live_max_frame) {
                c->rx_skip = 1;
                bridge_buf_reset(&c->rx);
            } else {
                bridge_buf_append(&c->rx, in, len);
            }
        }
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        if (c->rx_skip) {
            c->rx_skip = 0;
            bad_frame(c, "frame_too_large", "message larger than the frame limit", NULL);
        } else if (c->rx.oom) {
            return -1;
        } else {
            on_message(c, bridge_buf_str(&c->rx), c->rx.len);
        }
        bridge_buf_reset(&c->rx);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c)
            return -1;
        return ws_write(c, wsi);
    case LWS_CALLBACK_CLOSED:
        if (c) {
            live__conn_free(c);
            s->live = NULL;
        }
        if (s) {
            free(s->ws_query);
            s->ws_query = NULL;
        }
        return 0;
    default:
        return 0;
    }
}
