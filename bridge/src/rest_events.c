/* SPDX-License-Identifier: MIT */
/*
 * Event lists: GET /api/v1/devices/{id}/events, /api/v1/channels/{c}/events
 * and the global log /api/v1/events?after=SEQ. Keyset pagination on seq;
 * the cursor remembers the direction, so a page never repeats or skips an
 * event while new events are appended. as_of_seq is the log head of the
 * read snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "rest.h"

void bridge_rest_raw_json(bridge_buf *b, const char *raw)
{
    bridge_buf_puts(b, raw && *raw ? raw : "null");
}

void bridge_rest_event_json(bridge_buf *b, const store_event_row *r)
{
    bridge_buf_puts(b, "{\"seq\":");
    bridge_buf_int(b, r->seq);
    bridge_buf_puts(b, ",\"channel\":");
    bridge_buf_json_cstr(b, r->channel);
    bridge_buf_puts(b, ",\"message\":");
    bridge_buf_json_cstr(b, r->message);
    bridge_buf_puts(b, ",\"device\":");
    bridge_buf_json_cstr(b, r->device_id);
    bridge_buf_puts(b, ",\"topic\":");
    bridge_buf_json_cstr(b, r->topic);
    bridge_buf_puts(b, ",\"params\":");
    bridge_buf_puts(b, r->params && *r->params ? r->params : "{}");
    bridge_buf_puts(b, ",\"payload\":");
    if (r->payload)
        bridge_buf_append(b, r->payload, r->payload_len);
    else
        bridge_buf_puts(b, "null");
    bridge_buf_puts(b, ",\"correlation_id\":");
    bridge_buf_json_cstr(b, r->correlation_id);
    bridge_buf_puts(b, ",\"received_at\":");
    bridge_buf_json_time_ms(b, r->received_at);
    bridge_buf_putc(b, '}');
}

int bridge_rest_store_error(bridge_http *h, bridge_http_resp *resp, int err)
{
    store_reader_end(h->reader);
    if (err == STORE_EBUSY)
        bridge_resp_error(resp, 503, "store_busy", "the store is busy, retry", NULL);
    else
        bridge_resp_error(resp, 500, "store_error", store_reader_errmsg(h->reader), NULL);
    return 0;
}

/*
 * Response cache for device and channel event lists. The log is append
 * only, so a list of one device (or channel) is fully determined by the
 * request and that device's (channel's) newest seq: one index probe tells
 * whether a cached body is still exact. Bodies are kept without their
 * trailing as_of_seq, which is filled in per response. Two-way set
 * associative (a key lives in slot i or i ^ 1 of its pair, the least
 * recently used of the two is replaced): a direct-mapped table let ~20 %
 * of 1000 round-robin device URLs evict each other on every request.
 * Bounded in bytes; service thread only.
 */
#define RC_SLOTS 8192
#define RC_BUDGET (64u << 20)

typedef struct rc_entry {
    uint64_t hash;     /* of key */
    char *key;         /* route + arguments (with NUL separators), owned */
    size_t key_len;    /* bytes of key without its final NUL */
    int64_t stamp;     /* newest seq of the device/channel when built */
    bridge_rc_blob *body; /* body up to and including "as_of_seq":, one reference owned */
    uint64_t used;     /* cache tick of the last hit or insert (LRU within the pair) */
} rc_entry;

struct bridge_resp_cache {
    rc_entry slot[RC_SLOTS];
    size_t bytes;      /* sum of key + body sizes */
    uint64_t tick;     /* incremented per lookup */
};

void bridge_rc_blob_unref(bridge_rc_blob *b)
{
    if (b && --b->refs == 0)
        free(b);
}

void bridge_resp_cache_free(struct bridge_resp_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < RC_SLOTS; i++) {
        free(c->slot[i].key);
        bridge_rc_blob_unref(c->slot[i].body);
    }
    free(c);
}

static uint64_t hash64(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Request identity: path and every argument (all were validated). */
static void cache_key(const bridge_http_req *req, bridge_buf *k)
{
    bridge_buf_puts(k, req->path);
    for (size_t i = 0; i < req->n_args; i++) {
        bridge_buf_putc(k, i ? '&' : '?');
        bridge_buf_puts(k, req->args[i].name);
        bridge_buf_putc(k, '=');
        bridge_buf_append(k, req->args[i].value, strlen(req->args[i].value) + 1);
    }
}

static int key_is(const rc_entry *e, const bridge_buf *k, uint64_t hash)
{
    return e->key && e->hash == hash && e->key_len == k->len &&
           memcmp(e->key, bridge_buf_str(k), k->len) == 0;
}

static rc_entry *cache_find(bridge_http *h, const bridge_buf *k, uint64_t hash, int64_t stamp)
{
    size_t i;

    if (!h->rcache)
        return NULL;
    i = (size_t)(hash % RC_SLOTS);
    h->rcache->tick++;
    for (int w = 0; w < 2; w++) {
        rc_entry *e = &h->rcache->slot[i ^ (size_t)w];

        if (key_is(e, k, hash) && e->stamp == stamp) {
            e->used = h->rcache->tick;
            return e;
        }
    }
    return NULL;
}

static void cache_put(bridge_http *h, const bridge_buf *k, uint64_t hash, int64_t stamp,
                      const char *body, size_t len)
{
    rc_entry *e, *a, *b;
    char *key;
    bridge_rc_blob *copy;
    size_t i;

    if (!h->rcache && !(h->rcache = calloc(1, sizeof(*h->rcache))))
        return;
    i = (size_t)(hash % RC_SLOTS);
    a = &h->rcache->slot[i];
    b = &h->rcache->slot[i ^ 1];
    /* the same key (a stale body), else a free way, else the older one */
    if (key_is(a, k, hash))
        e = a;
    else if (key_is(b, k, hash))
        e = b;
    else if (!a->key)
        e = a;
    else if (!b->key)
        e = b;
    else
        e = a->used <= b->used ? a : b;
    if (e->key) {
        /* key_len, not strlen: keys hold NUL separators (the budget drifted) */
        h->rcache->bytes -= e->body->len + e->key_len;
        free(e->key);
        bridge_rc_blob_unref(e->body); /* responses in flight keep theirs */
        memset(e, 0, sizeof(*e));
    }
    if (h->rcache->bytes + len + k->len > RC_BUDGET)
        return;
    key = malloc(k->len + 1);
    copy = malloc(sizeof(*copy) + BRIDGE_RC_PRE + len + BRIDGE_RC_TAIL);
    if (!key || !copy) {
        free(key);
        free(copy);
        return;
    }
    memcpy(key, bridge_buf_str(k), k->len + 1);
    copy->refs = 1;
    copy->len = len;
    memcpy(copy->mem + BRIDGE_RC_PRE, body, len);
    *e = (rc_entry){ .hash = hash, .key = key, .key_len = k->len, .stamp = stamp,
                     .body = copy, .used = h->rcache->tick };
    h->rcache->bytes += len + k->len;
}

typedef struct page {
    bridge_buf *b;       /* response body */
    size_t limit;        /* items to render */
    size_t n;            /* rendered */
    int more;            /* a row beyond limit exists */
    int64_t last_seq;    /* seq of the last rendered row */
} page;

static int on_event(void *ctx, const store_event_row *row)
{
    page *pg = ctx;

    if (pg->n == pg->limit) {
        pg->more = 1;
        return 1;
    }
    if (pg->n)
        bridge_buf_putc(pg->b, ',');
    bridge_rest_event_json(pg->b, row);
    pg->n++;
    pg->last_seq = row->seq;
    return 0;
}

/*
 * Common part of the three lists. q has device/channel set by the caller;
 * this reads from/to/order/limit/cursor (or after for the global log).
 */
static int list_events(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp,
                       store_event_query *q, int global)
{
    long long limit = 100;
    const char *order, *cursor;
    int64_t head = 0, pos, stamp = 0;
    uint64_t hash = 0;
    bridge_buf key;
    char kind, tail[8];
    page pg = { .b = &resp->body };
    int rc;

    if (bridge_arg_limit(req, resp, &limit) < 0)
        return 0;
    if (global) {
        q->desc = 0;
        q->after_seq = 0;
        if (bridge_arg_seq(req, resp, "after", &q->after_seq) < 0)
            return 0;
    } else {
        if ((rc = bridge_arg_time(req, resp, "from", &q->from_ms)) < 0)
            return 0;
        q->has_from = rc == 0;
        if ((rc = bridge_arg_time(req, resp, "to", &q->to_ms)) < 0)
            return 0;
        q->has_to = rc == 0;
        order = bridge_req_arg(req, "order");
        if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
            bridge_resp_error(resp, 400, "bad_parameter", "order must be asc or desc", "order");
            return 0;
        }
        q->desc = !order || strcmp(order, "desc") == 0;
        kind = q->desc ? 'd' : 'a';
        cursor = bridge_req_arg(req, "cursor");
        if (cursor) {
            if (bridge_cursor_decode(cursor, kind, &pos, tail, sizeof(tail)) < 0 || pos < 0) {
                bridge_resp_error(resp, 400, "bad_cursor",
                                  "cursor is not a next_cursor of this list and order",
                                  "cursor");
                return 0;
            }
            if (q->desc)
                q->before_seq = pos;
            else
                q->after_seq = pos;
        }
    }
    if (bridge_req_check_args(req, resp) < 0)
        return 0;
    q->limit = (size_t)limit + 1;
    pg.limit = (size_t)limit;

    rc = store_reader_begin(h->reader);
    if (rc == 0)
        rc = store_read_heads(h->reader, &head, NULL);
    if (rc == 0 && !global)
        rc = store_read_max_seq(h->reader, q->device_id, q->channel, &stamp);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    if (!global) {
        const rc_entry *hit;

        bridge_buf_init(&key, 0);
        cache_key(req, &key);
        if (key.oom) {
            bridge_buf_release(&key);
            store_reader_end(h->reader);
            return -1;
        }
        hash = hash64(bridge_buf_str(&key), key.len);
        hit = cache_find(h, &key, hash, stamp);
        if (hit) {
            store_reader_end(h->reader);
            bridge_buf_release(&key);
            resp->status = 200;
            resp->content_type = "application/json";
            /* sent in place from the cache (no copy): see bridge_rc_blob */
            hit->body->refs++;
            resp->shared = hit->body;
            resp->shared_head = head;
            return 0;
        }
    }
    resp->status = 200;
    resp->content_type = "application/json";
    bridge_buf_reserve(&resp->body, (size_t)limit * 256 + 128);
    bridge_buf_puts(&resp->body, "{\"items\":[");
    rc = store_read_events(h->reader, q, on_event, &pg);
    store_reader_end(h->reader);
    if (rc < 0) {
        if (!global)
            bridge_buf_release(&key);
        return bridge_rest_store_error(h, resp, rc);
    }
    bridge_buf_puts(&resp->body, "],\"next_cursor\":");
    if (global) {
        /* the global log's position is public: after=<last seq> */
        if (pg.more) {
            bridge_buf_putc(&resp->body, '"');
            bridge_buf_int(&resp->body, pg.last_seq);
            bridge_buf_putc(&resp->body, '"');
        } else {
            bridge_buf_puts(&resp->body, "null");
        }
        bridge_buf_puts(&resp->body, ",\"next_after\":");
        bridge_buf_int(&resp->body, pg.n ? pg.last_seq : q->after_seq);
    } else if (pg.more) {
        bridge_buf_putc(&resp->body, '"');
        if (bridge_cursor_encode(&resp->body, q->desc ? 'd' : 'a', pg.last_seq, "") < 0) {
            bridge_buf_release(&key);
            return -1;
        }
        bridge_buf_putc(&resp->body, '"');
    } else {
        bridge_buf_puts(&resp->body, "null");
    }
    bridge_buf_puts(&resp->body, ",\"as_of_seq\":");
    if (!global) {
        if (!resp->body.oom)
            cache_put(h, &key, hash, stamp, bridge_buf_str(&resp->body), resp->body.len);
        bridge_buf_release(&key);
    }
    bridge_buf_int(&resp->body, head);
    bridge_buf_puts(&resp->body, "}\n");
    return resp->body.oom ? -1 : 0;
}

/* Checks an optional ?channel= against the spec. Returns 0, or -1 with a 400. */
static int channel_arg(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp,
                       const char **out)
{
    const char *c = bridge_req_arg(req, "channel");

    if (c && !asyncapi_doc_channel(h->opts.doc, c)) {
        bridge_resp_error(resp, 400, "unknown_channel", "no channel with this id in the spec",
                          "channel");
        return -1;
    }
    *out = c;
    return 0;
}

int bridge_rest_device_events(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    store_event_query q = { .device_id = req->path_params[0] };

    if (channel_arg(h, req, resp, &q.channel) < 0)
        return 0;
    return list_events(h, req, resp, &q, 0);
}

int bridge_rest_channel_events(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    store_event_query q = { .channel = req->path_params[0] };

    if (!asyncapi_doc_channel(h->opts.doc, q.channel)) {
        bridge_resp_error(resp, 404, "unknown_channel", "no channel with this id in the spec",
                          "channel");
        return 0;
    }
    q.device_id = bridge_req_arg(req, "device");
    return list_events(h, req, resp, &q, 0);
}

int bridge_rest_events(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    store_event_query q = { 0 };

    return list_events(h, req, resp, &q, 1);
}
