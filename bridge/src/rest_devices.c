/* SPDX-License-Identifier: MIT */
/*
 * Devices: GET /api/v1/devices (keyset by id or by (last_seen, id)),
 * /api/v1/devices/{id} (registry row + latest payload per channel) and
 * /api/v1/devices/{id}/series (rollups merged into coarser buckets).
 * These read projections: as_of_seq is the projection checkpoint.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_int.h"
#include "rest.h"

typedef struct dev_page {
    bridge_buf *b;
    size_t limit, n;
    int more;
    int64_t last_seen;           /* of the last rendered row */
    char last_id[STORE_MAX_DEVICE + 1];
} dev_page;

static void device_fields(bridge_buf *b, const store_device_row *r)
{
    bridge_buf_puts(b, "\"id\":");
    bridge_buf_json_cstr(b, r->device_id);
    bridge_buf_puts(b, ",\"status\":");
    bridge_buf_json_cstr(b, r->status);
    bridge_buf_puts(b, ",\"first_seen\":");
    bridge_buf_json_time_ms(b, r->first_seen);
    bridge_buf_puts(b, ",\"last_seen\":");
    bridge_buf_json_time_ms(b, r->last_seen);
    bridge_buf_puts(b, ",\"events\":");
    bridge_buf_int(b, r->events);
    bridge_buf_puts(b, ",\"last_seq\":");
    bridge_buf_int(b, r->last_seq);
}

static int on_device(void *ctx, const store_device_row *r)
{
    dev_page *pg = ctx;

    if (pg->n == pg->limit) {
        pg->more = 1;
        return 1;
    }
    if (pg->n)
        bridge_buf_putc(pg->b, ',');
    bridge_buf_putc(pg->b, '{');
    device_fields(pg->b, r);
    bridge_buf_putc(pg->b, '}');
    pg->n++;
    pg->last_seen = r->last_seen;
    snprintf(pg->last_id, sizeof(pg->last_id), "%s", r->device_id);
    return 0;
}

int bridge_rest_devices(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    store_device_query q = { 0 };
    long long limit = 100;
    const char *sort, *cursor;
    char after[STORE_MAX_DEVICE + 2];
    int64_t cp = 0, a = 0;
    dev_page pg = { .b = &resp->body };
    int rc;

    q.status = bridge_req_arg(req, "status");
    if (q.status && strcmp(q.status, "online") && strcmp(q.status, "offline") &&
        strcmp(q.status, "unknown")) {
        bridge_resp_error(resp, 400, "bad_parameter", "status must be online, offline or unknown",
                          "status");
        return 0;
    }
    q.channel = bridge_req_arg(req, "channel");
    if (q.channel && !asyncapi_doc_channel(h->opts.doc, q.channel)) {
        bridge_resp_error(resp, 400, "unknown_channel", "no channel with this id in the spec",
                          "channel");
        return 0;
    }
    sort = bridge_req_arg(req, "sort");
    if (sort && strcmp(sort, "id") && strcmp(sort, "last_seen")) {
        bridge_resp_error(resp, 400, "bad_parameter", "sort must be id or last_seen", "sort");
        return 0;
    }
    q.by_last_seen = sort && strcmp(sort, "last_seen") == 0;
    if (bridge_arg_limit(req, resp, &limit) < 0)
        return 0;
    cursor = bridge_req_arg(req, "cursor");
    if (cursor) {
        if (bridge_cursor_decode(cursor, q.by_last_seen ? 'l' : 'i', &a, after,
                                 sizeof(after)) < 0) {
            bridge_resp_error(resp, 400, "bad_cursor",
                              "cursor is not a next_cursor of this list and sort", "cursor");
            return 0;
        }
        q.has_after = 1;
        q.after_id = after;
        q.after_last_seen = a;
    }
    if (bridge_req_check_args(req, resp) < 0)
        return 0;
    q.limit = (size_t)limit + 1;
    pg.limit = (size_t)limit;

    rc = store_reader_begin(h->reader);
    if (rc == 0)
        rc = store_read_heads(h->reader, NULL, &cp);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    resp->status = 200;
    resp->content_type = "application/json";
    bridge_buf_puts(&resp->body, "{\"items\":[");
    rc = store_read_devices(h->reader, &q, on_device, &pg);
    store_reader_end(h->reader);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    bridge_buf_puts(&resp->body, "],\"next_cursor\":");
    if (pg.more) {
        bridge_buf_putc(&resp->body, '"');
        if (bridge_cursor_encode(&resp->body, q.by_last_seen ? 'l' : 'i', pg.last_seen,
                                 pg.last_id) < 0)
            return -1;
        bridge_buf_putc(&resp->body, '"');
    } else {
        bridge_buf_puts(&resp->body, "null");
    }
    bridge_buf_puts(&resp->body, ",\"as_of_seq\":");
    bridge_buf_int(&resp->body, cp);
    bridge_buf_puts(&resp->body, "}\n");
    return resp->body.oom ? -1 : 0;
}

static int on_one_device(void *ctx, const store_device_row *r)
{
    device_fields(ctx, r);
    return 0;
}

typedef struct state_ctx {
    bridge_buf *b;
    size_t n;
} state_ctx;

static int on_state(void *ctx, const store_state_row *r)
{
    state_ctx *sc = ctx;

    if (sc->n++)
        bridge_buf_putc(sc->b, ',');
    bridge_buf_puts(sc->b, "{\"channel\":");
    bridge_buf_json_cstr(sc->b, r->channel);
    bridge_buf_puts(sc->b, ",\"message\":");
    bridge_buf_json_cstr(sc->b, r->message);
    bridge_buf_puts(sc->b, ",\"seq\":");
    bridge_buf_int(sc->b, r->seq);
    bridge_buf_puts(sc->b, ",\"received_at\":");
    bridge_buf_json_time_ms(sc->b, r->received_at);
    bridge_buf_puts(sc->b, ",\"payload\":");
    bridge_rest_raw_json(sc->b, r->payload);
    bridge_buf_putc(sc->b, '}');
    return 0;
}

int bridge_rest_device(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    const char *id = req->path_params[0];
    state_ctx sc = { .b = &resp->body };
    int64_t cp = 0;
    int rc;

    if (bridge_req_check_args(req, resp) < 0)
        return 0;
    rc = store_reader_begin(h->reader);
    if (rc == 0)
        rc = store_read_heads(h->reader, NULL, &cp);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    resp->status = 200;
    resp->content_type = "application/json";
    bridge_buf_putc(&resp->body, '{');
    rc = store_read_device(h->reader, id, on_one_device, &resp->body);
    if (rc == STORE_ENOTFOUND) {
        store_reader_end(h->reader);
        bridge_resp_error(resp, 404, "device_not_found", "no device with this id", "id");
        return 0;
    }
    if (rc == 0) {
        bridge_buf_puts(&resp->body, ",\"state\":[");
        rc = store_read_device_state(h->reader, id, on_state, &sc);
        bridge_buf_putc(&resp->body, ']');
    }
    store_reader_end(h->reader);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    bridge_buf_puts(&resp->body, ",\"as_of_seq\":");
    bridge_buf_int(&resp->body, cp);
    bridge_buf_puts(&resp->body, "}\n");
    return resp->body.oom ? -1 : 0;
}

/* Is field a numeric top-level property of one of the channel's message payloads? */
static int field_in_spec(const asyncapi_channel *ch, const char *field)
{
    for (size_t i = 0; i < ch->n_messages; i++) {
        const cJSON *pl = ch->messages[i]->payload;
        const cJSON *props = pl ? cJSON_GetObjectItemCaseSensitive(pl, "properties") : NULL;
        const cJSON *p = props ? cJSON_GetObjectItemCaseSensitive(props, field) : NULL;
        const cJSON *t = p ? cJSON_GetObjectItemCaseSensitive(p, "type") : NULL;

        if (cJSON_IsString(t) &&
            (strcmp(t->valuestring, "number") == 0 || strcmp(t->valuestring, "integer") == 0))
            return 1;
        if (cJSON_IsArray(t)) {
            const cJSON *e;

            cJSON_ArrayForEach(e, t)
                if (cJSON_IsString(e) && (strcmp(e->valuestring, "number") == 0 ||
                                          strcmp(e->valuestring, "integer") == 0))
                    return 1;
        }
    }
    return 0;
}

typedef struct series_ctx {
    bridge_buf *b;
    size_t n;
} series_ctx;

static int on_bucket(void *ctx, const store_series_row *r)
{
    series_ctx *sc = ctx;

    if (sc->n++)
        bridge_buf_putc(sc->b, ',');
    bridge_buf_puts(sc->b, "{\"start\":");
    bridge_buf_json_time_ms(sc->b, r->bucket_start);
    bridge_buf_puts(sc->b, ",\"start_ms\":");
    bridge_buf_int(sc->b, r->bucket_start);
    bridge_buf_puts(sc->b, ",\"count\":");
    bridge_buf_int(sc->b, r->count);
    bridge_buf_puts(sc->b, ",\"min\":");
    bridge_buf_double(sc->b, r->min);
    bridge_buf_puts(sc->b, ",\"max\":");
    bridge_buf_double(sc->b, r->max);
    bridge_buf_puts(sc->b, ",\"avg\":");
    bridge_buf_double(sc->b, r->count ? r->sum / (double)r->count : 0.0);
    bridge_buf_putc(sc->b, '}');
    return 0;
}

int bridge_rest_device_series(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    static const struct { const char *name; int64_t ms; } buckets[] = {
        { "1m", 60000 }, { "5m", 300000 }, { "1h", 3600000 }, { "1d", 86400000 },
    };
    store_series_query q = { .device_id = req->path_params[0], .limit = 1000 };
    const asyncapi_channel *ch;
    const char *bucket;
    series_ctx sc = { .b = &resp->body };
    int64_t cp = 0;
    int rc;

    q.channel = bridge_req_arg(req, "channel");
    q.field = bridge_req_arg(req, "field");
    bucket = bridge_req_arg(req, "bucket");
    if (!q.channel) {
        bridge_resp_error(resp, 400, "missing_parameter", "channel is required", "channel");
        return 0;
    }
    ch = asyncapi_doc_channel(h->opts.doc, q.channel);
    if (!ch) {
        bridge_resp_error(resp, 400, "unknown_channel", "no channel with this id in the spec",
                          "channel");
        return 0;
    }
    if (!q.field) {
        bridge_resp_error(resp, 400, "missing_parameter", "field is required", "field");
        return 0;
    }
    q.bucket_ms = 0;
    for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++)
        if (strcmp(bucket ? bucket : "1m", buckets[i].name) == 0)
            q.bucket_ms = buckets[i].ms;
    if (!q.bucket_ms) {
        bridge_resp_error(resp, 400, "bad_parameter", "bucket must be 1m, 5m, 1h or 1d",
                          "bucket");
        return 0;
    }
    if ((rc = bridge_arg_time(req, resp, "from", &q.from_ms)) < 0)
        return 0;
    q.has_from = rc == 0;
    if ((rc = bridge_arg_time(req, resp, "to", &q.to_ms)) < 0)
        return 0;
    q.has_to = rc == 0;
    if (bridge_req_check_args(req, resp) < 0)
        return 0;
    rc = store_reader_begin(h->reader);
    if (rc == 0 && !field_in_spec(ch, q.field)) {
        rc = store_read_field_known(h->reader, q.channel, q.field);
        if (rc == 0) {
            store_reader_end(h->reader);
            bridge_resp_error(resp, 400, "unknown_field",
                              "field is not a numeric payload field of this channel", "field");
            return 0;
        }
        if (rc > 0)
            rc = 0;
    }
    if (rc == 0)
        rc = store_read_heads(h->reader, NULL, &cp);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    resp->status = 200;
    resp->content_type = "application/json";
    bridge_buf_puts(&resp->body, "{\"device\":");
    bridge_buf_json_cstr(&resp->body, q.device_id);
    bridge_buf_puts(&resp->body, ",\"channel\":");
    bridge_buf_json_cstr(&resp->body, q.channel);
    bridge_buf_puts(&resp->body, ",\"field\":");
    bridge_buf_json_cstr(&resp->body, q.field);
    bridge_buf_printf(&resp->body, ",\"bucket\":\"%s\",\"bucket_ms\":%lld,\"items\":[",
                      bucket ? bucket : "1m", (long long)q.bucket_ms);
    rc = store_read_series(h->reader, &q, on_bucket, &sc);
    store_reader_end(h->reader);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    bridge_buf_puts(&resp->body, "],\"truncated\":");
    bridge_buf_puts(&resp->body, sc.n >= q.limit ? "true" : "false");
    bridge_buf_puts(&resp->body, ",\"as_of_seq\":");
    bridge_buf_int(&resp->body, cp);
    bridge_buf_puts(&resp->body, "}\n");
    return resp->body.oom ? -1 : 0;
}
