/* SPDX-License-Identifier: MIT */
/*
 * Dead letters: GET /api/v1/dead-letters (newest first, keyset on id) and
 * /api/v1/dead-letters/{id} with the raw payload: as a string when it is
 * valid UTF-8, else base64 (payload_encoding says which).
 */
#include <string.h>

#include "http_int.h"
#include "rest.h"

typedef struct dl_page {
    bridge_buf *b;
    size_t limit, n;
    int more;
    int64_t last_id;
} dl_page;

static void dl_fields(bridge_buf *b, const store_dead_letter_row *r)
{
    bridge_buf_puts(b, "\"id\":");
    bridge_buf_int(b, r->id);
    bridge_buf_puts(b, ",\"topic\":");
    bridge_buf_json_cstr(b, r->topic);
    bridge_buf_puts(b, ",\"channel\":");
    bridge_buf_json_cstr(b, r->channel);
    bridge_buf_puts(b, ",\"kind\":");
    bridge_buf_json_cstr(b, r->kind);
    bridge_buf_puts(b, ",\"payload_bytes\":");
    bridge_buf_int(b, (long long)r->payload_len);
    bridge_buf_puts(b, ",\"reason\":");
    bridge_rest_raw_json(b, r->reason);
    bridge_buf_puts(b, ",\"received_at\":");
    bridge_buf_json_time_ms(b, r->received_at);
}

static int on_dl(void *ctx, const store_dead_letter_row *r)
{
    dl_page *pg = ctx;

    if (pg->n == pg->limit) {
        pg->more = 1;
        return 1;
    }
    if (pg->n)
        bridge_buf_putc(pg->b, ',');
    bridge_buf_putc(pg->b, '{');
    dl_fields(pg->b, r);
    bridge_buf_putc(pg->b, '}');
    pg->n++;
    pg->last_id = r->id;
    return 0;
}

/* A reason kind is a short lowercase word ("schema", "no_channel"). */
static int kind_ok(const char *k)
{
    size_t n = strlen(k);

    if (n == 0 || n > 32)
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || *k == '_' || (*k >= '0' && *k <= '9')))
            return 0;
    return 1;
}

int bridge_rest_dead_letters(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    store_dead_letter_query q = { 0 };
    long long limit = 100;
    const char *cursor;
    char tail[8];
    int64_t head = 0;
    dl_page pg = { .b = &resp->body };
    int rc;

    q.channel = bridge_req_arg(req, "channel");
    if (q.channel && !asyncapi_doc_channel(h->opts.doc, q.channel)) {
        bridge_resp_error(resp, 400, "unknown_channel", "no channel with this id in the spec",
                          "channel");
        return 0;
    }
    q.kind = bridge_req_arg(req, "kind");
    if (q.kind && !kind_ok(q.kind)) {
        bridge_resp_error(resp, 400, "bad_parameter",
                          "kind must be a reason kind such as schema, parse, size, no_channel",
                          "kind");
        return 0;
    }
    if ((rc = bridge_arg_time(req, resp, "from", &q.from_ms)) < 0)
        return 0;
    q.has_from = rc == 0;
    if ((rc = bridge_arg_time(req, resp, "to", &q.to_ms)) < 0)
        return 0;
    q.has_to = rc == 0;
    if (bridge_arg_limit(req, resp, &limit) < 0)
        return 0;
    cursor = bridge_req_arg(req, "cursor");
    if (cursor && (bridge_cursor_decode(cursor, 'x', &q.before_id, tail, sizeof(tail)) < 0 ||
                   q.before_id <= 0)) {
        bridge_resp_error(resp, 400, "bad_cursor", "cursor is not a next_cursor of this list",
                          "cursor");
        return 0;
    }
    if (bridge_req_check_args(req, resp) < 0)
        return 0;
    q.limit = (size_t)limit + 1;
    pg.limit = (size_t)limit;
    rc = store_reader_begin(h->reader);
    if (rc == 0)
        rc = store_read_heads(h->reader, &head, NULL);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    resp->status = 200;
    resp->content_type = "application/json";
    bridge_buf_puts(&resp->body, "{\"items\":[");
    rc = store_read_dead_letters(h->reader, &q, on_dl, &pg);
    store_reader_end(h->reader);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    bridge_buf_puts(&resp->body, "],\"next_cursor\":");
    if (pg.more) {
        bridge_buf_putc(&resp->body, '"');
        if (bridge_cursor_encode(&resp->body, 'x', pg.last_id, "") < 0)
            return -1;
        bridge_buf_putc(&resp->body, '"');
    } else {
        bridge_buf_puts(&resp->body, "null");
    }
    bridge_buf_puts(&resp->body, ",\"as_of_seq\":");
    bridge_buf_int(&resp->body, head);
    bridge_buf_puts(&resp->body, "}\n");
    return resp->body.oom ? -1 : 0;
}

static void base64(bridge_buf *b, const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    bridge_buf_putc(b, '"');
    for (i = 0; i + 2 < n; i += 3) {
        char o[4] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4 | p[i + 1] >> 4],
                      tab[(p[i + 1] & 15) << 2 | p[i + 2] >> 6], tab[p[i + 2] & 63] };
        bridge_buf_append(b, o, 4);
    }
    if (i < n) {
        char o[4] = { tab[p[i] >> 2], 0, '=', '=' };

        if (i + 1 < n) {
            o[1] = tab[(p[i] & 3) << 4 | p[i + 1] >> 4];
            o[2] = tab[(p[i + 1] & 15) << 2];
        } else {
            o[1] = tab[(p[i] & 3) << 4];
        }
        bridge_buf_append(b, o, 4);
    }
    bridge_buf_putc(b, '"');
}

static int on_one_dl(void *ctx, const store_dead_letter_row *r)
{
    bridge_buf *b = ctx;
    const char *p = r->payload ? r->payload : "";

    bridge_buf_putc(b, '{');
    dl_fields(b, r);
    if (bridge_utf8_valid(p, r->payload_len) && !memchr(p, '\0', r->payload_len)) {
        bridge_buf_puts(b, ",\"payload_encoding\":\"utf-8\",\"payload\":");
        bridge_buf_json_str(b, p, r->payload_len);
    } else {
        bridge_buf_puts(b, ",\"payload_encoding\":\"base64\",\"payload\":");
        base64(b, (const unsigned char *)p, r->payload_len);
    }
    return 0;
}

int bridge_rest_dead_letter(bridge_http *h, bridge_http_req *req, bridge_http_resp *resp)
{
    int64_t id, head = 0;
    int rc;

    if (bridge_parse_u63(req->path_params[0], &id) < 0) {
        bridge_resp_error(resp, 400, "bad_parameter", "id must be a positive integer", "id");
        return 0;
    }
    if (bridge_req_check_args(req, resp) < 0)
        return 0;
    rc = store_reader_begin(h->reader);
    if (rc == 0)
        rc = store_read_heads(h->reader, &head, NULL);
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    resp->status = 200;
    resp->content_type = "application/json";
    rc = store_read_dead_letter(h->reader, id, on_one_dl, &resp->body);
    store_reader_end(h->reader);
    if (rc == STORE_ENOTFOUND) {
        bridge_resp_error(resp, 404, "dead_letter_not_found", "no dead letter with this id",
                          "id");
        return 0;
    }
    if (rc < 0)
        return bridge_rest_store_error(h, resp, rc);
    bridge_buf_puts(&resp->body, ",\"as_of_seq\":");
    bridge_buf_int(&resp->body, head);
    bridge_buf_puts(&resp->body, "}\n");
    return resp->body.oom ? -1 : 0;
}
