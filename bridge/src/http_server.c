/* SPDX-License-Identifier: MIT */
/*
 * The lws context and its service thread; the one protocol callback that
 * routes HTTP requests, sends responses and hands WS/SSE connections to the
 * live hub (live_*.c). Shape after the lws minimal http-server-dynamic
 * example: headers written in LWS_CALLBACK_HTTP, the body in
 * LWS_CALLBACK_HTTP_WRITEABLE, keep-alive via lws_http_transaction_completed.
 */
#include "http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <libwebsockets.h>

#include "live.h"
#include "log.h"

#define BODY_CHUNK (256u * 1024)

size_t bridge_route_index(const bridge_route *r)
{
    return (size_t)(r - bridge_routes);
}

/*
 * Body buffers larger than this are not kept between requests (one big
 * /api/v1/events page must not pin its memory).
 */
#define BODY_KEEP (256u * 1024)

static void body_recycle(bridge_buf *b)
{
    if (b->cap > BODY_KEEP)
        bridge_buf_release(b);
    else
        bridge_buf_reset(b);
}

/* A body buffer for a new session: from the pool, else an empty one. */
static bridge_buf body_take(bridge_http *h)
{
    bridge_buf b;

    if (h->n_body_pool)
        return h->body_pool[--h->n_body_pool];
    bridge_buf_init(&b, LWS_PRE + BRIDGE_HEAD_ROOM);
    return b;
}

/* Gives a session's body buffer back (pool or free); *b is left empty. */
static void body_give(bridge_http *h, bridge_buf *b)
{
    body_recycle(b);
    if (b->mem && !b->oom && h->n_body_pool < BRIDGE_BODY_POOL) {
        h->body_pool[h->n_body_pool++] = *b;
        bridge_buf_init(b, LWS_PRE + BRIDGE_HEAD_ROOM);
        return;
    }
    bridge_buf_release(b);
}

static void session_reset(bridge_session *s)
{
    bridge_buf body = s->resp.body;

    bridge_rc_blob_unref(s->resp.shared);
    body_recycle(&body);
    memset(&s->resp, 0, sizeof(s->resp));
    s->resp.body = body;
    s->sent = 0;
    s->responding = 0;
}

static void count(bridge_http *h, const bridge_route *r, int status)
{
    size_t ri = r ? bridge_route_index(r) : h->n_routes;

    if (ri < BRIDGE_METRICS_MAX_ROUTES)
        h->metrics.requests[ri][bridge_metrics_status_slot(status)]++;
}

/*
 * Renders the status line and headers for a body of body_len bytes into
 * start..end, finalized (blank line included). Returns the header length,
 * or -1 if they do not fit.
 */
static int render_head(struct lws *wsi, const bridge_session *s, size_t body_len,
                       unsigned char *start, unsigned char *end)
{
    unsigned char *p = start;
    const char *ct = s->resp.content_type ? s->resp.content_type : "application/json";

    if (lws_add_http_common_headers(wsi, (unsigned)s->resp.status, ct,
                                    (lws_filepos_t)body_len, &p, end))
        return -1;
    if (s->resp.allow &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                    (const unsigned char *)s->resp.allow,
                                    (int)strlen(s->resp.allow), &p, end))
        return -1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end))
        return -1;
    if (lws_finalize_http_header(wsi, &p, end))
        return -1;
    return (int)(p - start);
}

/* Ends a response: keep-alive for the next request, or close. */
static int response_done(struct lws *wsi, bridge_session *s)
{
    s->responding = 0;
    if (s->close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/*
 * A response whose body is a shared cached blob: headers, body and the
 * as_of_seq tail leave in one write, composed in the blob's head and tail
 * room right now (WRITEABLE), so sessions sharing the blob never see each
 * other's bytes (lws_write sends or copies all of it before returning).
 */
static int send_shared(struct lws *wsi, bridge_session *s)
{
    bridge_rc_blob *b = s->resp.shared;
    unsigned char *body = b->mem + BRIDGE_RC_PRE, *start;
    unsigned char head[BRIDGE_HEAD_ROOM];
    char tail[BRIDGE_RC_TAIL];
    int hl, tl, rc;
    size_t total;

    tl = snprintf(tail, sizeof(tail), "%lld}\n", (long long)s->resp.shared_head);
    if (tl < 0 || (size_t)tl >= sizeof(tail))
        return -1;
    hl = render_head(wsi, s, b->len + (size_t)tl, head, head + sizeof(head) - 1);
    if (hl < 0)
        return -1;
    start = body - hl;
    memcpy(start, head, (size_t)hl);
    memcpy(body + b->len, tail, (size_t)tl);
    total = (size_t)hl + b->len + (size_t)tl;
    rc = lws_write(wsi, start, total, LWS_WRITE_HTTP_FINAL);
    s->resp.shared = NULL;
    bridge_rc_blob_unref(b); /* may free it (evicted meanwhile): b is dead below */
    if (rc < 0 || (size_t)rc != total)
        return -1;
    return response_done(wsi, s);
}

/*
 * Sends the response in s->resp. With a body, the headers are staged in
 * the body buffer's headroom right before it and everything leaves in one
 * write from WRITEABLE (one send() per response instead of two, one
 * segment train for the client to wake up for); a shared cached body is
 * composed in WRITEABLE (send_shared); without a body the headers are
 * written here.
 */
static int send_head(struct lws *wsi, bridge_session *s)
{
    unsigned char buf[LWS_PRE + BRIDGE_HEAD_ROOM], *start = buf + LWS_PRE;
    int hl;

    s->sent = 0;
    s->head_len = 0;
    if (s->resp.shared) {
        s->responding = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    hl = render_head(wsi, s, s->resp.body.len, start, buf + sizeof(buf) - 1);
    if (hl < 0)
        return -1;
    if (s->resp.body.len > 0 && s->resp.body.pre >= LWS_PRE + (size_t)hl) {
        memcpy(bridge_buf_data(&s->resp.body) - hl, start, (size_t)hl);
        s->head_len = (size_t)hl;
        s->responding = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (lws_write(wsi, start, (size_t)hl, LWS_WRITE_HTTP_HEADERS) != hl)
        return -1;
    s->responding = 1;
    if (s->resp.body.len == 0) {
        s->responding = 0;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

static int send_body(struct lws *wsi, bridge_session *s)
{
    size_t left, n, head;
    unsigned char *data;

    if (s->resp.shared)
        return send_shared(wsi, s);
    left = s->resp.body.len - s->sent;
    n = left > BODY_CHUNK ? BODY_CHUNK : left;
    data = bridge_buf_data(&s->resp.body) + s->sent;
    head = s->head_len; /* staged headers go out with the first piece */
    s->head_len = 0;
    if (lws_write(wsi, data - head, n + head, n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)(n + head))
        return -1;
    s->sent += n;
    if (s->sent < s->resp.body.len) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    body_recycle(&s->resp.body);
    return response_done(wsi, s);
}

/* Reads the query arguments into req (decoded by lws). Returns 0 or -1 (400 in resp). */
static int collect_args(struct lws *wsi, bridge_http_req *req, bridge_http_resp *resp)
{
    char frag[2048];

    for (int idx = 0;; idx++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, idx);
        char *eq;
        const char *name, *value;

        if (n < 0)
            break;
        if (n == 0)
            continue; /* "a=1&&b=2" */
        if (req->n_args == BRIDGE_HTTP_MAX_ARGS) {
            bridge_resp_error(resp, 400, "bad_request", "too many query parameters", NULL);
            return -1;
        }
        if (memchr(frag, '\0', (size_t)n)) {
            bridge_resp_error(resp, 400, "bad_request", "NUL byte in a query parameter", NULL);
            return -1;
        }
        eq = memchr(frag, '=', (size_t)n);
        if (eq) {
            name = bridge_req_keep(req, frag, (size_t)(eq - frag));
            value = bridge_req_keep(req, eq + 1, (size_t)(frag + n - eq - 1));
        } else {
            name = bridge_req_keep(req, frag, (size_t)n);
            value = name ? bridge_req_keep(req, "", 0) : NULL;
        }
        if (!name || !value) {
            bridge_resp_error(resp, 414, "uri_too_long", "query string too long", NULL);
            return -1;
        }
        req->args[req->n_args].name = name;
        req->args[req->n_args].value = value;
        req->args[req->n_args].used = 0;
        req->n_args++;
    }
    return 0;
}

static int on_http(bridge_http *h, struct lws *wsi, bridge_session *s, const char *path)
{
    bridge_http_req *req;
    const bridge_route *route = NULL;
    char *uri = NULL;
    int uri_len = 0, method, rc = 0;
    size_t total;

    session_reset(s);
    if (!s->resp.body.mem)
        s->resp.body = body_take(h);
    req = &h->req; /* one request at a time on this thread */
    req->n_path_params = 0;
    req->n_args = 0;
    req->last_event_id = NULL;
    req->store_len = 0;
    method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
    total = (size_t)(uri_len > 0 ? uri_len : 0) +
            (size_t)lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    req->path = path;
    if (total > h->opts.max_uri) {
        bridge_resp_error(&s->resp, 414, "uri_too_long", "request target too long", NULL);
        s->close_after = 1;
        goto respond;
    }
    route = bridge_router_match(path, req);
    if (!route) {
        bridge_resp_error(&s->resp, 404, "not_found", "no such resource", NULL);
        if (method != LWSHUMETH_GET)
            s->close_after = 1;
        goto respond;
    }
    if (method != LWSHUMETH_GET) {
        bridge_resp_error(&s->resp, 405, "method_not_allowed", "only GET is allowed here",
                          NULL);
        s->resp.allow = "GET";
        s->close_after = 1; /* a request body may follow: do not parse it as a request */
        goto respond;
    }
    if (collect_args(wsi, req, &s->resp) < 0)
        goto respond;
    {
        char lei[32];
        int n = lws_hdr_custom_copy(wsi, lei, sizeof(lei), "last-event-id:", 14);

        if (n > 0)
            req->last_event_id = bridge_req_keep(req, lei, (size_t)n);
    }
    switch (route->kind) {
    case BRIDGE_ROUTE_WS:
        bridge_resp_error(&s->resp, 426, "upgrade_required",
                          "this is a WebSocket endpoint: connect with Upgrade: websocket",
                          NULL);
        goto respond;
    case BRIDGE_ROUTE_SSE:
        rc = bridge_live_sse_start(h, wsi, s, req);
        if (rc == 0) {
            count(h, route, 200);
            return 0;
        }
        if (rc > 0) /* refused with an error response in s->resp */
            goto respond;
        return -1;
    default:
        if (route->get(h, req, &s->resp) < 0 || s->resp.body.oom) {
            bridge_resp_error(&s->resp, 500, "internal", "out of memory", NULL);
            if (s->resp.body.oom)
                return -1;
        }
    }
respond:
    count(h, route, s->resp.status);
    if (s->resp.body.oom)
        return -1;
    return send_head(wsi, s);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    bridge_http *h = ctx ? lws_context_user(ctx) : NULL;
    bridge_session *s = user;

    if (!h)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (h->hub)
            bridge_live_hub_drain(h->hub);
        return 0;
    case LWS_CALLBACK_WSI_CREATE:
        h->connections++;
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (h->connections)
            h->connections--;
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        /*
         * max_connections bounds live (WS/SSE) clients in the hub; sockets
         * in general get 64 more, so /healthz and /metrics still answer
         * when the live side is full
         */
        if (h->connections > h->opts.max_connections + 64) {
            h->metrics.live_rejected++;
            return 1;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
        if (s) {
            memset(s, 0, sizeof(*s));
            /* memory comes from the pool in on_http: a WS upgrade never needs it */
            bridge_buf_init(&s->resp.body, LWS_PRE + BRIDGE_HEAD_ROOM);
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        if (!s)
            return -1;
        return on_http(h, wsi, s, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return 0; /* bodies are never read: every route is GET */
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!s)
            return -1;
        if (s->live)
            return bridge_live_sse_writeable(h, wsi, s);
        if (!s->responding)
            return 0;
        return send_body(wsi, s);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s) {
            if (s->live)
                bridge_live_close(h, s);
            body_give(h, &s->resp.body);
            bridge_rc_blob_unref(s->resp.shared);
            s->resp.shared = NULL;
            s->responding = 0;
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (s) {
            /* a WS session may have answered HTTP first */
            body_give(h, &s->resp.body);
            bridge_rc_blob_unref(s->resp.shared);
            s->resp.shared = NULL;
        }
        return bridge_live_ws_callback(h, wsi, (int)reason, s, in, len);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return bridge_live_ws_callback(h, wsi, (int)reason, s, in, len);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    { .name = "asyncbridge", .callback = callback,
      .per_session_data_size = sizeof(bridge_session),
      /* rx: WS frames and request bodies arrive in pieces of this size;
       * tx: one send() may carry this much, so a response body or an event
       * frame leaves in one write instead of 4 KiB slices */
      .rx_buffer_size = 4096, .tx_packet_size = 256 * 1024 },
    { .name = NULL, .callback = NULL, .per_session_data_size = 0 },
};

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);

    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        bridge_log_debug("http: lws: %.*s", (int)n, line);
}

static void *service_main(void *arg)
{
    bridge_http *h = arg;

    prctl(PR_SET_NAME, "ab-http", 0, 0, 0); /* thread name for top/perf */

    while (!atomic_load(&h->stopping))
        if (lws_service(h->lws, 0) < 0)
            break;
    return NULL;
}

/* Splits "ADDR:PORT" / "[v6]:PORT" / ":PORT". Returns 0 or -1. */
static int parse_listen(const char *listen, char *iface, size_t isize, int *port)
{
    const char *colon, *host = listen, *hend;
    char *end;
    long p;

    if (!listen || !*listen)
        return -1;
    if (listen[0] == '[') {
        hend = strchr(listen, ']');
        if (!hend || hend[1] != ':')
            return -1;
        host = listen + 1;
        colon = hend + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return -1;
        hend = colon;
    }
    if ((size_t)(hend - host) >= isize)
        return -1;
    memcpy(iface, host, (size_t)(hend - host));
    iface[hend - host] = '\0';
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t cap = 0, n = 0, r;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            if (cap > (64u << 20) || !(nb = realloc(buf, cap)))
                goto fail;
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

static void http_free(bridge_http *h)
{
    bridge_live_tail_stop(h);
    if (h->lws)
        lws_context_destroy(h->lws);
    bridge_live_hub_free(h->hub);
    store_reader_close(h->reader);
    bridge_resp_cache_free(h->rcache);
    for (size_t i = 0; i < h->n_body_pool; i++)
        bridge_buf_release(&h->body_pool[i]);
    if (h->ch_cache) {
        bridge_buf_release(h->ch_cache);
        free(h->ch_cache);
    }
    free(h->openapi);
    free(h->spec_text);
    free(h->spec_json);
    free(h->listen_copy);
    free(h->db_copy);
    free(h->spec_copy);
    free(h);
}

bridge_http *bridge_http_start(const bridge_http_options *opts, char *err, size_t errsize)
{
    struct lws_context_creation_info info;
    bridge_http *h;
    char diag[256];
    int e = 0;

    if (!opts || !opts->listen || !opts->db_path || !opts->doc) {
        snprintf(err, errsize, "http: listen, db_path and doc are required");
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errsize, "http: out of memory");
        return NULL;
    }
    h->opts = *opts;
    h->listen_copy = strdup(opts->listen);
    h->db_copy = strdup(opts->db_path);
    h->spec_copy = strdup(opts->spec_path ? opts->spec_path : asyncapi_doc_path(opts->doc));
    if (!h->listen_copy || !h->db_copy || !h->spec_copy) {
        snprintf(err, errsize, "http: out of memory");
        goto fail;
    }
    h->opts.listen = h->listen_copy;
    h->opts.db_path = h->db_copy;
    h->opts.spec_path = h->spec_copy;
#define DEF(f, v) if (!h->opts.f) h->opts.f = (v)
    DEF(ready_max_lag, 10000);
    DEF(max_connections, 1024);
    DEF(max_uri, 2048);
    DEF(max_header_bytes, 8192);
    DEF(live_max_subs, 16);
    DEF(live_queue_max, 4096);
    DEF(live_stall_ms, 5000);
    DEF(live_max_errors, 10);
    DEF(live_max_frame, 4096);
    DEF(sse_heartbeat_s, 15);
    DEF(tail_poll_ms, 20);
#undef DEF
    h->ch_cache_seq = -1;
    for (const bridge_route *r = bridge_routes; r->pattern; r++)
        h->n_routes++;
    if (parse_listen(h->opts.listen, h->iface, sizeof(h->iface), &h->port) < 0) {
        snprintf(err, errsize, "http: bad listen address '%s' (want ADDR:PORT)",
                 h->opts.listen);
        goto fail;
    }
    h->reader = store_reader_open(h->opts.db_path, &e, diag, sizeof(diag));
    if (!h->reader) {
        snprintf(err, errsize, "http: open store '%s' read-only: %s", h->opts.db_path, diag);
        goto fail;
    }
    h->openapi = bridge_openapi_build(h->opts.doc, &h->openapi_len);
    h->spec_text = read_file(h->opts.spec_path, &h->spec_len);
    {
        const cJSON *root = asyncapi_doc_root(h->opts.doc);

        h->spec_json = root ? cJSON_PrintUnformatted(root) : NULL;
        h->spec_json_len = h->spec_json ? strlen(h->spec_json) : 0;
    }
    if (!h->openapi || !h->spec_text || !h->spec_json) {
        snprintf(err, errsize, "http: cannot prepare documents (spec '%s': %s)",
                 h->opts.spec_path, h->spec_text ? "ok" : strerror(errno));
        goto fail;
    }
    h->hub = bridge_live_hub_new(h);
    if (!h->hub) {
        snprintf(err, errsize, "http: out of memory");
        goto fail;
    }

    lws_set_log_level(LLL_ERR, lws_log_emit);
    memset(&info, 0, sizeof(info));
    info.port = h->port;
    info.iface = h->iface[0] ? h->iface : NULL;
    info.protocols = protocols;
    info.user = h;
    info.vhost_name = "asyncbridge";
    info.server_string = "asyncbridge";
    info.max_http_header_data2 = h->opts.max_header_bytes;
    info.max_http_header_pool2 = 256;
    info.timeout_secs = 10;
    info.keepalive_timeout = 30;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (h->iface[0] && !strchr(h->iface, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    h->lws = lws_create_context(&info);
    if (!h->lws) {
        snprintf(err, errsize, "http: cannot listen on %s (address in use or not local?)",
                 h->opts.listen);
        goto fail;
    }
    h->vhost = lws_get_vhost_by_name(h->lws, "asyncbridge");
    if (h->vhost)
        h->port = lws_get_vhost_listen_port(h->vhost);
    if (pthread_create(&h->thread, NULL, service_main, h) != 0) {
        snprintf(err, errsize, "http: cannot start the service thread");
        goto fail;
    }
    h->thread_started = 1;
    if (!h->opts.live_direct && bridge_live_tail_start(h, err, errsize) < 0)
        goto fail;
    return h;
fail:
    if (h->thread_started) {
        bridge_http_stop(h);
        return NULL;
    }
    http_free(h);
    return NULL;
}

int bridge_http_port(const bridge_http *h)
{
    return h ? h->port : -1;
}

void bridge_http_stop(bridge_http *h)
{
    if (!h)
        return;
    bridge_live_tail_stop(h); /* no publish after this */
    atomic_store(&h->stopping, 1);
    if (h->thread_started) {
        lws_cancel_service(h->lws);
        pthread_join(h->thread, NULL);
    }
    http_free(h);
}
