/* SPDX-License-Identifier: MIT */
/*
 * The route table, path matching, query arguments, parameter parsing,
 * cursors and the JSON error shape (http_route.h). Pure functions: no lws,
 * no SQLite, so every rule here is the same for REST, WS and SSE.
 */
#include "http_route.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rest.h"

/* ------------------------------------------------------------------ */
/* parameter specs                                                     */

static const char *const order_values[] = { "desc", "asc", NULL };
static const char *const sort_values[] = { "id", "last_seen", NULL };
static const char *const status_values[] = { "online", "offline", "unknown", NULL };
static const char *const bucket_values[] = { "1m", "5m", "1h", "1d", NULL };

#define P_LIMIT { "limit", 0, BRIDGE_PARAM_INT, NULL, "page size, 1..1000 (default 100)" }
#define P_CURSOR { "cursor", 0, BRIDGE_PARAM_CURSOR, NULL, "next_cursor of the previous page" }
#define P_FROM { "from", 0, BRIDGE_PARAM_TIME, NULL, "received at or after (RFC 3339 or epoch ms)" }
#define P_TO { "to", 0, BRIDGE_PARAM_TIME, NULL, "received before (RFC 3339 or epoch ms)" }
#define P_ORDER { "order", 0, BRIDGE_PARAM_ENUM, order_values, "desc (newest first, default) or asc" }
#define P_END { NULL, 0, 0, NULL, NULL }

static const bridge_param_spec p_devices[] = {
    { "status", 0, BRIDGE_PARAM_ENUM, status_values, "only devices with this status" },
    { "channel", 0, BRIDGE_PARAM_STRING, NULL, "only devices that sent on this channel id" },
    { "sort", 0, BRIDGE_PARAM_ENUM, sort_values, "id (default, ascending) or last_seen (newest first)" },
    P_LIMIT, P_CURSOR, P_END,
};
static const bridge_param_spec p_device[] = {
    { "id", 1, BRIDGE_PARAM_STRING, NULL, "device id (URL-encoded)" },
    P_END,
};
static const bridge_param_spec p_device_events[] = {
    { "id", 1, BRIDGE_PARAM_STRING, NULL, "device id (URL-encoded)" },
    { "channel", 0, BRIDGE_PARAM_STRING, NULL, "only events of this channel id" },
    P_FROM, P_TO, P_ORDER, P_LIMIT, P_CURSOR, P_END,
};
static const bridge_param_spec p_series[] = {
    { "id", 1, BRIDGE_PARAM_STRING, NULL, "device id (URL-encoded)" },
    { "channel", 0, BRIDGE_PARAM_STRING, NULL, "channel id (required)" },
    { "field", 0, BRIDGE_PARAM_STRING, NULL, "numeric top-level payload field (required)" },
    { "bucket", 0, BRIDGE_PARAM_ENUM, bucket_values, "bucket width (default 1m)" },
    P_FROM, P_TO, P_END,
};
static const bridge_param_spec p_channels[] = { P_END };
static const bridge_param_spec p_channel_events[] = {
    { "channel", 1, BRIDGE_PARAM_STRING, NULL, "channel id (URL-encoded)" },
    { "device", 0, BRIDGE_PARAM_STRING, NULL, "only events of this device id" },
    P_FROM, P_TO, P_ORDER, P_LIMIT, P_CURSOR, P_END,
};
static const bridge_param_spec p_events[] = {
    { "after", 0, BRIDGE_PARAM_SEQ, NULL, "return events with seq > after (default 0)" },
    P_LIMIT, P_END,
};
static const bridge_param_spec p_dead_letters[] = {
    { "channel", 0, BRIDGE_PARAM_STRING, NULL, "only dead letters of this channel id" },
    { "kind", 0, BRIDGE_PARAM_STRING, NULL, "reason kind: schema, parse, size, no_channel, ..." },
    P_FROM, P_TO, P_LIMIT, P_CURSOR, P_END,
};
static const bridge_param_spec p_dead_letter[] = {
    { "id", 1, BRIDGE_PARAM_SEQ, NULL, "dead letter id" },
    P_END,
};
static const bridge_param_spec p_live[] = {
    { "channel", 0, BRIDGE_PARAM_STRING, NULL, "only events of this channel id" },
    { "device", 0, BRIDGE_PARAM_STRING, NULL, "only events of this device id" },
    { "since", 0, BRIDGE_PARAM_SEQ, NULL, "replay events with seq > since first" },
    P_END,
};
static const bridge_param_spec p_none[] = { P_END };

const bridge_route bridge_routes[] = {
    { "/api/v1/devices", "listDevices", BRIDGE_ROUTE_JSON, bridge_rest_devices, p_devices,
      "List devices with last seen, status and event count", "DeviceList", "application/json", 1 },
    { "/api/v1/devices/{id}", "getDevice", BRIDGE_ROUTE_JSON, bridge_rest_device, p_device,
      "One device: registry fields and the latest payload per channel", "DeviceDetail",
      "application/json", 0 },
    { "/api/v1/devices/{id}/events", "listDeviceEvents", BRIDGE_ROUTE_JSON,
      bridge_rest_device_events, p_device_events, "Events of one device", "EventList",
      "application/json", 1 },
    { "/api/v1/devices/{id}/series", "getDeviceSeries", BRIDGE_ROUTE_JSON,
      bridge_rest_device_series, p_series,
      "Rollups of a numeric field: count/min/max/avg per time bucket", "Series",
      "application/json", 0 },
    { "/api/v1/channels", "listChannels", BRIDGE_ROUTE_JSON, bridge_rest_channels, p_channels,
      "The spec's channels with topic filter, parameters, messages and counts", "ChannelList",
      "application/json", 1 },
    { "/api/v1/channels/{channel}/events", "listChannelEvents", BRIDGE_ROUTE_JSON,
      bridge_rest_channel_events, p_channel_events, "Events of one channel", "EventList",
      "application/json", 1 },
    { "/api/v1/events", "listEvents", BRIDGE_ROUTE_JSON, bridge_rest_events, p_events,
      "The global log in sequence order, after a sequence number", "EventList",
      "application/json", 1 },
    { "/api/v1/dead-letters", "listDeadLetters", BRIDGE_ROUTE_JSON, bridge_rest_dead_letters,
      p_dead_letters, "Rejected messages, newest first", "DeadLetterList", "application/json", 1 },
    { "/api/v1/dead-letters/{id}", "getDeadLetter", BRIDGE_ROUTE_JSON, bridge_rest_dead_letter,
      p_dead_letter, "One dead letter with its raw payload and reason", "DeadLetterDetail",
      "application/json", 0 },
    { "/api/v1/stats", "getStats", BRIDGE_ROUTE_JSON, bridge_rest_stats, p_none,
      "Totals, per-channel rates and projection lag", "Stats", "application/json", 0 },
    { "/api/v1/live", "live", BRIDGE_ROUTE_WS, NULL, p_live,
      "WebSocket live events (see /asyncapi/live.yaml)", NULL, NULL, 0 },
    { "/api/v1/stream", "stream", BRIDGE_ROUTE_SSE, NULL, p_live,
      "Server-Sent Events live stream", NULL, "text/event-stream", 0 },
    { "/openapi.json", "getOpenApi", BRIDGE_ROUTE_JSON, bridge_rest_openapi, p_none,
      "This OpenAPI 3.1 document", NULL, "application/json", 0 },
    { "/asyncapi.yaml", "getAsyncApiYaml", BRIDGE_ROUTE_TEXT, bridge_rest_asyncapi_yaml, p_none,
      "The AsyncAPI document the bridge runs with, as loaded from disk", NULL,
      "application/yaml", 0 },
    { "/asyncapi.json", "getAsyncApiJson", BRIDGE_ROUTE_JSON, bridge_rest_asyncapi_json, p_none,
      "The AsyncAPI document the bridge runs with, $refs resolved, as JSON", NULL,
      "application/json", 0 },
    { "/asyncapi/live.yaml", "getLiveAsyncApi", BRIDGE_ROUTE_TEXT, bridge_rest_live_yaml, p_none,
      "AsyncAPI 3.0 document of the WebSocket live API", NULL, "application/yaml", 0 },
    { "/docs", "getDocs", BRIDGE_ROUTE_TEXT, bridge_rest_docs, p_none,
      "Human documentation generated from the AsyncAPI document", NULL, "text/html", 0 },
    { "/healthz", "getHealth", BRIDGE_ROUTE_JSON, bridge_rest_healthz, p_none,
      "Liveness: the process serves requests", "Health", "application/json", 0 },
    { "/readyz", "getReady", BRIDGE_ROUTE_JSON, bridge_rest_readyz, p_none,
      "Readiness: broker connected, store readable/writable, projector caught up", "Health",
      "application/json", 0 },
    { "/metrics", "getMetrics", BRIDGE_ROUTE_TEXT, bridge_rest_metrics, p_none,
      "Prometheus text exposition", NULL, "text/plain; version=0.0.4", 0 },
    { NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0 },
};

/* ------------------------------------------------------------------ */
/* matching and arguments                                              */

const char *bridge_req_keep(bridge_http_req *req, const char *s, size_t n)
{
    char *dst;

    if (n + 1 > sizeof(req->store) - req->store_len)
        return NULL;
    dst = req->store + req->store_len;
    memcpy(dst, s, n);
    dst[n] = '\0';
    req->store_len += n + 1;
    return dst;
}

const bridge_route *bridge_router_match(const char *path, bridge_http_req *req)
{
    for (const bridge_route *r = bridge_routes; r->pattern; r++) {
        const char *p = r->pattern, *s = path;
        const char *vals[BRIDGE_HTTP_MAX_PATH_PARAMS];
        size_t lens[BRIDGE_HTTP_MAX_PATH_PARAMS], nv = 0;
        int ok = 1;

        while (*p && ok) {
            if (*p == '{') {
                const char *pe = strchr(p, '}');
                const char *se = strchr(s, '/');

                if (!se)
                    se = s + strlen(s);
                if (!pe || se == s || nv == BRIDGE_HTTP_MAX_PATH_PARAMS) {
                    ok = 0;
                    break;
                }
                vals[nv] = s;
                lens[nv++] = (size_t)(se - s);
                p = pe + 1;
                s = se;
            } else if (*p == *s) {
                p++;
                s++;
            } else {
                ok = 0;
            }
        }
        /* a single trailing slash is tolerated: "/api/v1/devices/" */
        if (ok && (*s == '\0' || (s[0] == '/' && s[1] == '\0'))) {
            size_t saved = req->store_len;

            req->n_path_params = 0;
            for (size_t i = 0; i < nv; i++) {
                const char *v = bridge_req_keep(req, vals[i], lens[i]);

                if (!v) {
                    req->store_len = saved;
                    return NULL;
                }
                req->path_params[req->n_path_params++] = v;
            }
            return r;
        }
    }
    return NULL;
}

const char *bridge_req_arg(bridge_http_req *req, const char *name)
{
    const char *found = NULL;

    for (size_t i = 0; i < req->n_args; i++) {
        if (strcmp(req->args[i].name, name) == 0) {
            req->args[i].used++;
            if (!found)
                found = req->args[i].value;
        }
    }
    return found;
}

int bridge_req_check_args(bridge_http_req *req, bridge_http_resp *resp)
{
    char msg[160];

    for (size_t i = 0; i < req->n_args; i++) {
        const char *name = req->args[i].name;
        int n = 0;

        for (size_t j = 0; j < req->n_args; j++)
            n += strcmp(req->args[j].name, name) == 0;
        if (!req->args[i].used) {
            if (snprintf(msg, sizeof(msg), "unknown query parameter '%.64s'", name) < 0)
                msg[0] = '\0';
            bridge_resp_error(resp, 400, "unknown_parameter", msg, name);
            return -1;
        }
        if (n > 1) {
            if (snprintf(msg, sizeof(msg), "query parameter '%.64s' given more than once",
                         name) < 0)
                msg[0] = '\0';
            bridge_resp_error(resp, 400, "duplicate_parameter", msg, name);
            return -1;
        }
    }
    return 0;
}

void bridge_resp_error(bridge_http_resp *resp, int status, const char *code,
                       const char *message, const char *parameter)
{
    bridge_buf_reset(&resp->body);
    resp->status = status;
    resp->content_type = "application/json";
    bridge_buf_puts(&resp->body, "{\"error\":{\"code\":");
    bridge_buf_json_cstr(&resp->body, code);
    bridge_buf_puts(&resp->body, ",\"message\":");
    bridge_buf_json_cstr(&resp->body, message);
    bridge_buf_puts(&resp->body, ",\"parameter\":");
    bridge_buf_json_cstr(&resp->body, parameter);
    bridge_buf_puts(&resp->body, "}}\n");
}

/* ------------------------------------------------------------------ */
/* parameter parsing                                                   */

int bridge_parse_u63(const char *s, int64_t *out)
{
    int64_t v = 0;

    if (!s || !*s || strlen(s) > 19)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int bridge_parse_time(const char *s, int64_t *out_ms)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, mo, d, h, mi, sec, oh = 0, om = 0, ms = 0;
    int64_t v;
    const char *p;

    if (!s)
        return -1;
    if (bridge_parse_u63(s, &v) == 0) {
        if (v > 253402300799999LL) /* 9999-12-31 */
            return -1;
        *out_ms = v;
        return 0;
    }
    if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    p = s + 19;
    if (*p == '.') {
        int nd = 0;

        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
            nd++;
            p++;
        }
        while (nd < 3) {
            ms *= 10;
            nd++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;

        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
            om > 59)
            return -1;
        oh *= sign;
        om *= sign;
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    if (sec == 60)
        sec = 59; /* leap second: clamp */
    v = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (oh * 3600 + om * 60);
    *out_ms = v * 1000 + ms;
    return 0;
}

int bridge_arg_limit(bridge_http_req *req, bridge_http_resp *resp, long long *out)
{
    const char *v = bridge_req_arg(req, "limit");
    int64_t n;

    if (!v)
        return 1;
    if (bridge_parse_u63(v, &n) < 0 || n < 1 || n > 1000) {
        bridge_resp_error(resp, 400, "bad_parameter",
                          "limit must be an integer from 1 to 1000", "limit");
        return -1;
    }
    *out = n;
    return 0;
}

int bridge_arg_seq(bridge_http_req *req, bridge_http_resp *resp, const char *name,
                   int64_t *out)
{
    const char *v = bridge_req_arg(req, name);
    char msg[96];

    if (!v)
        return 1;
    if (bridge_parse_u63(v, out) < 0) {
        if (snprintf(msg, sizeof(msg), "%s must be a non-negative integer", name) < 0)
            msg[0] = '\0';
        bridge_resp_error(resp, 400, "bad_parameter", msg, name);
        return -1;
    }
    return 0;
}

int bridge_arg_time(bridge_http_req *req, bridge_http_resp *resp, const char *name,
                    int64_t *out_ms)
{
    const char *v = bridge_req_arg(req, name);
    char msg[128];

    if (!v)
        return 1;
    if (bridge_parse_time(v, out_ms) < 0) {
        if (snprintf(msg, sizeof(msg),
                     "%s must be an RFC 3339 time (2026-11-23T10:15:00Z) or epoch milliseconds",
                     name) < 0)
            msg[0] = '\0';
        bridge_resp_error(resp, 400, "bad_parameter", msg, name);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* cursors                                                             */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

int bridge_cursor_encode(bridge_buf *out, char kind, int64_t a, const char *b)
{
    char raw[512], *enc;
    int n;
    size_t len, i, o = 0;

    n = snprintf(raw, sizeof(raw), "%c|%lld|%s|", kind, (long long)a, b ? b : "");
    if (n < 0 || (size_t)n + 9 >= sizeof(raw))
        return -1;
    len = (size_t)n;
    n = snprintf(raw + len, sizeof(raw) - len, "%08x", (unsigned)fnv1a(raw, len));
    if (n != 8)
        return -1;
    len += 8;
    if (bridge_buf_reserve(out, len * 4 / 3 + 4) < 0)
        return -1;
    enc = (char *)bridge_buf_data(out) + out->len;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)raw[i] << 16 |
                     (uint32_t)(unsigned char)raw[i + 1] << 8 | (unsigned char)raw[i + 2];
        enc[o++] = b64url[v >> 18 & 63];
        enc[o++] = b64url[v >> 12 & 63];
        enc[o++] = b64url[v >> 6 & 63];
        enc[o++] = b64url[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)(unsigned char)raw[i] << 16;

        if (i + 1 < len)
            v |= (uint32_t)(unsigned char)raw[i + 1] << 8;
        enc[o++] = b64url[v >> 18 & 63];
        enc[o++] = b64url[v >> 12 & 63];
        if (i + 1 < len)
            enc[o++] = b64url[v >> 6 & 63];
    }
    out->len += o;
    enc[o] = '\0';
    return 0;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;

    return p ? (int)(p - b64url) : -1;
}

int bridge_cursor_decode(const char *text, char kind, int64_t *a, char *b, size_t bsize)
{
    char raw[512], *p1, *p2;
    size_t n = text ? strlen(text) : 0, o = 0, i;
    unsigned long long av;
    char hash[9], *end;

    if (n == 0 || n > 640 || n % 4 == 1)
        return -1;
    for (i = 0; i < n; i += 4) {
        int v0 = b64val(text[i]), v1 = i + 1 < n ? b64val(text[i + 1]) : -1;
        int v2 = i + 2 < n ? b64val(text[i + 2]) : 0, v3 = i + 3 < n ? b64val(text[i + 3]) : 0;

        if (v0 < 0 || v1 < 0 || v2 < 0 || v3 < 0 || o + 3 >= sizeof(raw))
            return -1;
        raw[o++] = (char)(v0 << 2 | v1 >> 4);
        if (i + 2 < n)
            raw[o++] = (char)((v1 & 15) << 4 | v2 >> 2);
        if (i + 3 < n)
            raw[o++] = (char)((v2 & 3) << 6 | v3);
    }
    raw[o] = '\0';
    if (o < 13 || memchr(raw, '\0', o))
        return -1;
    if (snprintf(hash, sizeof(hash), "%08x", (unsigned)fnv1a(raw, o - 8)) != 8 ||
        memcmp(hash, raw + o - 8, 8) != 0)
        return -1;
    raw[o - 8] = '\0';
    if (raw[0] != kind || raw[1] != '|')
        return -1;
    p1 = raw + 2;
    p2 = strchr(p1, '|');
    if (!p2)
        return -1;
    *p2++ = '\0';
    errno = 0;
    if (*p1 == '\0')
        return -1;
    {
        int neg = *p1 == '-';
        av = strtoull(p1 + neg, &end, 10);
        if (errno || *end || av > (unsigned long long)INT64_MAX)
            return -1;
        *a = neg ? -(int64_t)av : (int64_t)av;
    }
    end = p2 + strlen(p2);
    if (end == p2 || end[-1] != '|')
        return -1;
    end[-1] = '\0';
    if (strlen(p2) >= bsize)
        return -1;
    memcpy(b, p2, strlen(p2) + 1);
    return 0;
}
