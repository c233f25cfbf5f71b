/* SPDX-License-Identifier: MIT */
/*
 * Ops and document endpoints: /healthz, /readyz, /metrics, /openapi.json,
 * /asyncapi.yaml|.json, /asyncapi/live.yaml and /docs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi/docs.h"
#include "http_int.h"
#include "live_asyncapi.h"
#include "rest.h"

static int no_args(bridge_http_req *req, bridge_http_resp *resp)
{
    return bridge_req_check_args(req, resp);
}

static int static_body(bridge_http_req *req, bridge_http_resp *resp, const char *type,
                       const char *body, size_t len)
{
    if (no_args(req, resp) < 0)
        return 0;
    resp->status = 200;
    resp->content_type = type;
    bridge_buf_append(&resp->body, body, len);
    return resp->body.oom ? -1 : 0;
}

int bridge_rest_openapi(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    return static_body(req, resp, "application/json", h->openapi, h->openapi_len);
}

int bridge_rest_asyncapi_yaml(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    const char *p = h->opts.spec_path;
    size_t n = strlen(p);
    int json = n > 5 && strcmp(p + n - 5, ".json") == 0;

    return static_body(req, resp, json ? "application/json" : "application/yaml",
                       h->spec_text, h->spec_len);
}

int bridge_rest_asyncapi_json(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    return static_body(req, resp, "application/json", h->spec_json, h->spec_json_len);
}

int bridge_rest_live_yaml(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    (void)h;
    if (no_args(req, resp) < 0)
        return 0;
    resp->status = 200;
    resp->content_type = "application/yaml";
    for (const char *const *l = bridge_live_asyncapi_yaml; *l; l++)
        bridge_buf_puts(&resp->body, *l);
    return resp->body.oom ? -1 : 0;
}

int bridge_rest_docs(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    static const asyncapi_docs_link links[] = {
        { "/openapi.json", "REST API (OpenAPI 3.1)", "query devices, events, dead letters" },
        { "/asyncapi/live.yaml", "Live API (AsyncAPI 3.0)", "WebSocket /api/v1/live" },
        { "/asyncapi.yaml", "This AsyncAPI document", NULL },
        { "/metrics", "Metrics", "Prometheus text" },
    };
    asyncapi_docs_options o = {
        .format = ASYNCAPI_DOCS_HTML,
        .extra_title = "Bridge APIs",
        .links = links,
        .n_links = sizeof(links) / sizeof(links[0]),
    };
    size_t n_ch = 0;
    const asyncapi_channel *chs = asyncapi_doc_channels(h->opts.doc, &n_ch);
    asyncapi_docs_channel_stats *stats = NULL;
    char note[64];
    int64_t head = 0;
    char *out = NULL;
    size_t len = 0;
    int rc;

    if (no_args(req, resp) < 0)
        return 0;
    /* Each channel's live counts, from one read snapshot. */
    if (n_ch) {
        stats = calloc(n_ch, sizeof(*stats));
        if (!stats)
            return -1;
    }
    rc = store_reader_begin(h->reader);
    if (rc == 0)
        rc = store_read_heads(h->reader, &head, NULL);
    for (size_t i = 0; rc == 0 && i < n_ch; i++) {
        store_channel_counts cc = { 0 };

        rc = store_read_channel_counts(h->reader, chs[i].id, &cc);
        stats[i].channel_id = chs[i].id;
        stats[i].events = (unsigned long long)cc.events;
        stats[i].dead_letters = (unsigned long long)cc.dead_letters;
    }
    store_reader_end(h->reader);
    if (rc < 0) {
        free(stats);
        return bridge_rest_store_error(h, resp, rc);
    }
    snprintf(note, sizeof(note), "as of event %lld", (long long)head);
    o.stats = stats;
    o.n_stats = n_ch;
    o.stats_note = note;
    rc = asyncapi_docs_render(h->opts.doc, &o, &out, &len);
    free(stats);
    if (rc != 0) {
        bridge_resp_error(resp, 500, "internal", "cannot render the docs", NULL);
        return 0;
    }
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    bridge_buf_append(&resp->body, out, len);
    free(out);
    return resp->body.oom ? -1 : 0;
}

int bridge_rest_healthz(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    (void)h;
    if (no_args(req, resp) < 0)
        return 0;
    resp->status = 200;
    resp->content_type = "application/json";
    bridge_buf_puts(&resp->body, "{\"status\":\"ok\"}\n");
    return resp->body.oom ? -1 : 0;
}

int bridge_rest_readyz(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    int64_t head = 0, cp = 0, lag;
    int store_ok, ready = 1, broker = -1;
    char why[160] = "";
    bridge_buf *b = &resp->body;

    if (no_args(req, resp) < 0)
        return 0;
    store_ok = store_read_heads(h->reader, &head, &cp) == 0;
    lag = head - cp;
    if (!store_ok) {
        ready = 0;
        snprintf(why, sizeof(why), "store not readable: %s", store_reader_errmsg(h->reader));
    } else if (lag > h->opts.ready_max_lag) {
        ready = 0;
        snprintf(why, sizeof(why), "projector behind by %lld events (bound %lld)",
                 (long long)lag, (long long)h->opts.ready_max_lag);
    }
    if (h->opts.ready) {
        char w2[128] = "";
        int bc = 0;

        if (!h->opts.ready(h->opts.ready_ctx, &bc, w2, sizeof(w2))) {
            if (ready)
                snprintf(why, sizeof(why), "%s", w2[0] ? w2 : "write side not ready");
            ready = 0;
        }
        broker = bc;
    }
    resp->status = ready ? 200 : 503;
    resp->content_type = "application/json";
    bridge_buf_printf(b, "{\"status\":\"%s\",\"checks\":{\"store\":%s,", ready ? "ready" : "not_ready",
                      store_ok ? "true" : "false");
    bridge_buf_puts(b, "\"broker\":");
    bridge_buf_puts(b, broker < 0 ? "null" : broker ? "true" : "false");
    bridge_buf_printf(b, ",\"projection_lag\":%lld,\"max_lag\":%lld},\"last_seq\":%lld,"
                         "\"as_of_seq\":%lld,\"reason\":",
                      (long long)(store_ok ? lag : -1), (long long)h->opts.ready_max_lag,
                      (long long)head, (long long)cp);
    if (ready)
        bridge_buf_puts(b, "null");
    else
        bridge_buf_json_cstr(b, why);
    bridge_buf_puts(b, "}\n");
    return b->oom ? -1 : 0;
}

int bridge_rest_metrics(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    bridge_metrics_input in = {
        .http = &h->metrics,
        .ingest = h->opts.ingest_stats,
        .doc = h->opts.doc,
    };
    int64_t dl = 0;

    if (no_args(req, resp) < 0)
        return 0;
    if (store_read_heads(h->reader, &in.last_seq, &in.projected_seq) == 0 &&
        store_read_totals(h->reader, NULL, &dl, NULL) == 0) {
        in.store_known = 1;
        in.dead_letters = dl;
    }
    if (h->opts.ready) {
        char why[64];
        int bc = 0;

        (void)h->opts.ready(h->opts.ready_ctx, &bc, why, sizeof(why));
        in.broker_known = 1;
        in.broker_connected = bc;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    bridge_metrics_render(&resp->body, &in);
    return resp->body.oom ? -1 : 0;
}
