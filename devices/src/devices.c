/* SPDX-License-Identifier: MIT */
/*
 * Device identity rules, AsyncAPI runtime expressions (correlation ids),
 * JSON pointers and value rendering, status rules. Pure functions over
 * cJSON trees; contracts in devices/devices.h, notes in docs/store.md.
 */
#include "devices_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXT_DEVICE "x-asyncbridge-device"
#define EXT_STATUS "x-asyncbridge-status"
#define EXPR_PAYLOAD "$message.payload"
#define EXPR_HEADER "$message.header"

const char *devices_strerror(int err)
{
    switch (err) {
    case DEVICES_OK: return "success";
    case DEVICES_ENOMEM: return "out of memory";
    case DEVICES_EINVAL: return "invalid argument, extension or expression";
    case DEVICES_ENOTFOUND: return "value not found in the message";
    case DEVICES_ETOOLONG: return "value too long";
    case DEVICES_EBADID: return "value has a type or characters an id may not have";
    default: return "unknown error";
    }
}

static void diag_set(asyncapi_diag *diag, const char *pointer, const char *msg,
                     const char *subject)
{
    if (!diag)
        return;
    memset(diag, 0, sizeof(*diag));
    snprintf(diag->pointer, sizeof(diag->pointer), "%s", pointer ? pointer : "");
    /* truncation of a diagnostic text is acceptable and documented */
    if (snprintf(diag->message, sizeof(diag->message), "%s '%s'", msg,
                 subject ? subject : "") >= (int)sizeof(diag->message))
        diag->message[sizeof(diag->message) - 1] = '\0';
}

/* ------------------------------------------------------------------------ */
/* JSON pointers                                                            */
/* ------------------------------------------------------------------------ */

int devices__ptr_compile(const char *text, devices__ptr *out)
{
    size_t len, n = 0, j = 0;
    char *buf;

    out->n_tokens = 0;
    out->tokens = NULL;
    if (!text)
        return DEVICES_EINVAL;
    len = strlen(text);
    if (len == 0)
        return DEVICES_OK;
    if (text[0] != '/' || len > DEVICES_RULE_MAX)
        return DEVICES_EINVAL;
    buf = malloc(len + 1);
    if (!buf)
        return DEVICES_ENOMEM;
    for (size_t i = 1; i <= len; i++) {
        char c = text[i];
        if (c == '/' || c == '\0') {
            buf[j++] = '\0';
            n++;
        } else if (c == '~') {
            char e = text[i + 1];
            if (e == '0')
                buf[j++] = '~';
            else if (e == '1')
                buf[j++] = '/';
            else
                goto fail_syntax;
            i++;
        } else {
            buf[j++] = c;
        }
    }
    out->n_tokens = n;
    out->tokens = buf;
    return DEVICES_OK;

fail_syntax:
    free(buf);
    return DEVICES_EINVAL;
}

void devices__ptr_release(devices__ptr *p)
{
    if (!p)
        return;
    free(p->tokens);
    p->tokens = NULL;
    p->n_tokens = 0;
}

/* RFC 6901 array index: "0" or [1-9][0-9]*; returns -1 if not one. */
static long array_index(const char *tok)
{
    long v = 0;

    if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
        return -1;
    for (const char *p = tok; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000L)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

const cJSON *devices__ptr_get(const devices__ptr *p, const cJSON *root)
{
    const cJSON *cur = root;
    const char *tok = p->tokens;

    for (size_t i = 0; i < p->n_tokens && cur; i++) {
        if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        } else if (cJSON_IsArray(cur)) {
            long idx = array_index(tok);
            cur = (idx < 0 || idx >= cJSON_GetArraySize(cur))
                      ? NULL : cJSON_GetArrayItem(cur, (int)idx);
        } else {
            cur = NULL;
        }
        tok += strlen(tok) + 1;
    }
    return cur;
}

const cJSON *devices_json_pointer_get(const cJSON *root, const char *pointer)
{
    devices__ptr p;
    const cJSON *v;

    if (!root || devices__ptr_compile(pointer, &p) != 0)
        return NULL;
    v = devices__ptr_get(&p, root);
    devices__ptr_release(&p);
    return v;
}

/* ------------------------------------------------------------------------ */
/* Value rendering                                                          */
/* ------------------------------------------------------------------------ */

int devices__utf8_ok(const char *s, size_t len, int no_ctrl)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p, cp;
        size_t n;

        if (c < 0x80) {
            if (c == 0 || (no_ctrl && (c < 0x20 || c == 0x7f)))
                return 0;
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* overlong, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        if (no_ctrl && cp >= 0x80 && cp <= 0x9f)
            return 0;
        p += n + 1;
    }
    return 1;
}

/* Canonical number text; returns length or EBADID/ETOOLONG. */
static int number_text(double d, char *buf, size_t size)
{
    char tmp[64];
    int n = 0;

    if (!isfinite(d))
        return DEVICES_EBADID;
    if (d == 0) {
        n = snprintf(tmp, sizeof(tmp), "0");
    } else if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
        /* an integer (exact in a double): digits by hand, not printf's %.0f */
        long long v = (long long)d;
        unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
        char rev[24];
        int k = 0;

        do {
            rev[k++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v < 0)
            tmp[n++] = '-';
        while (k)
            tmp[n++] = rev[--k];
        tmp[n] = '\0';
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
    }
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return DEVICES_EBADID;
    if ((size_t)n >= size)
        return DEVICES_ETOOLONG;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

int devices_value_text(const cJSON *v, size_t max, char *buf, size_t size)
{
    size_t len;
    char *json;
    int rc;

    if (!v || !buf || size == 0)
        return DEVICES_EINVAL;
    buf[0] = '\0';
    if (cJSON_IsString(v)) {
        if (!v->valuestring)
            return DEVICES_EBADID;
        len = strlen(v->valuestring);
        if (len > max || len >= size)
            return DEVICES_ETOOLONG;
        if (!devices__utf8_ok(v->valuestring, len, 0))
            return DEVICES_EBADID;
        memcpy(buf, v->valuestring, len + 1);
        return (int)len;
    }
    if (cJSON_IsNumber(v)) {
        rc = number_text(v->valuedouble, buf, size);
        if (rc >= 0 && (size_t)rc > max) {
            buf[0] = '\0';
            return DEVICES_ETOOLONG;
        }
        return rc;
    }
    if (cJSON_IsInvalid(v))
        return DEVICES_EBADID;
    json = cJSON_PrintUnformatted(v);
    if (!json)
        return DEVICES_ENOMEM;
    len = strlen(json);
    if (len > max || len >= size) {
        rc = DEVICES_ETOOLONG;
    } else if (!devices__utf8_ok(json, len, 0)) {
        rc = DEVICES_EBADID;
    } else {
        memcpy(buf, json, len + 1);
        rc = (int)len;
    }
    cJSON_free(json);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Runtime expressions                                                      */
/* ------------------------------------------------------------------------ */

/* Parses "$message.payload#/x" / "$message.header#/x" into source + ptr. */
static int expr_parse(const char *expr, enum devices__source *src, devices__ptr *ptr)
{
    const char *rest;

    if (strncmp(expr, EXPR_PAYLOAD, strlen(EXPR_PAYLOAD)) == 0) {
        *src = DEVICES__SRC_PAYLOAD;
        rest = expr + strlen(EXPR_PAYLOAD);
    } else if (strncmp(expr, EXPR_HEADER, strlen(EXPR_HEADER)) == 0) {
        *src = DEVICES__SRC_HEADER;
        rest = expr + strlen(EXPR_HEADER);
    } else {
        return DEVICES_EINVAL;
    }
    if (*rest == '\0')
        return devices__ptr_compile("", ptr);
    if (*rest != '#')
        return DEVICES_EINVAL;
    return devices__ptr_compile(rest + 1, ptr);
}

int devices_expr_compile(const char *expr, devices_expr **out, asyncapi_diag *diag)
{
    devices_expr *e;
    int rc;

    if (out)
        *out = NULL;
    if (!expr || !out) {
        diag_set(diag, "", "missing runtime expression", "");
        return DEVICES_EINVAL;
    }
    if (strlen(expr) > DEVICES_RULE_MAX) {
        diag_set(diag, "", "runtime expression too long", "");
        return DEVICES_EINVAL;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return DEVICES_ENOMEM;
    rc = expr_parse(expr, &e->source, &e->ptr);
    if (rc != 0) {
        diag_set(diag, "", rc == DEVICES_ENOMEM ? "out of memory"
                                                : "unsupported runtime expression", expr);
        free(e);
        return rc;
    }
    *out = e;
    return DEVICES_OK;
}

void devices_expr_free(devices_expr *e)
{
    if (!e)
        return;
    devices__ptr_release(&e->ptr);
    free(e);
}

int devices_expr_eval(const devices_expr *e, const cJSON *payload, const cJSON *headers,
                      char *buf, size_t size)
{
    const cJSON *root, *v;
    int rc;

    if (!e || !buf || size == 0)
        return DEVICES_EINVAL;
    buf[0] = '\0';
    root = e->source == DEVICES__SRC_PAYLOAD ? payload : headers;
    if (!root)
        return DEVICES_ENOTFOUND;
    v = devices__ptr_get(&e->ptr, root);
    if (!v)
        return DEVICES_ENOTFOUND;
    rc = devices_value_text(v, DEVICES_CORR_MAX, buf, size);
    if (rc == 0)
        return DEVICES_ENOTFOUND; /* empty string: no key */
    if (rc < 0)
        buf[0] = '\0';
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Identity                                                                 */
/* ------------------------------------------------------------------------ */

static const char *const default_params[] = {"deviceId", "device_id", "device"};

static int has_param(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static int identity_param(devices_identity *id, const char *name, size_t len)
{
    id->kind = DEVICES_IDENTITY_PARAM;
    id->param = malloc(len + 1);
    if (!id->param)
        return DEVICES_ENOMEM;
    memcpy(id->param, name, len);
    id->param[len] = '\0';
    return DEVICES_OK;
}

int devices_identity_compile_spec(const char *spec, const char *const *param_names,
                                  size_t n_params, devices_identity **out,
                                  asyncapi_diag *diag)
{
    devices_identity *id;
    int rc = DEVICES_OK;

    if (out)
        *out = NULL;
    if (!out || (n_params && !param_names))
        return DEVICES_EINVAL;
    id = calloc(1, sizeof(*id));
    if (!id)
        return DEVICES_ENOMEM;

    if (!spec) {
        id->kind = DEVICES_IDENTITY_NONE;
        for (size_t k = 0; k < sizeof(default_params) / sizeof(*default_params); k++) {
            if (has_param(default_params[k], param_names, n_params)) {
                rc = identity_param(id, default_params[k], strlen(default_params[k]));
                break;
            }
        }
        if (rc != 0)
            goto fail;
        *out = id;
        return DEVICES_OK;
    }

    if (spec[0] == '\0' || strlen(spec) > DEVICES_RULE_MAX) {
        diag_set(diag, "/" EXT_DEVICE, "empty or too long device rule", spec);
        rc = DEVICES_EINVAL;
        goto fail;
    }
    if (spec[0] == '$') {
        enum devices__source src;
        rc = expr_parse(spec, &src, &id->ptr);
        if (rc == 0 && src != DEVICES__SRC_PAYLOAD) {
            devices__ptr_release(&id->ptr);
            rc = DEVICES_EINVAL;
        }
        if (rc != 0) {
            diag_set(diag, "/" EXT_DEVICE,
                     "device rule must be $message.payload#/pointer", spec);
            goto fail;
        }
        id->kind = DEVICES_IDENTITY_PAYLOAD;
    } else if (spec[0] == '/') {
        rc = devices__ptr_compile(spec, &id->ptr);
        if (rc != 0) {
            diag_set(diag, "/" EXT_DEVICE, "malformed json pointer in device rule", spec);
            goto fail;
        }
        id->kind = DEVICES_IDENTITY_PAYLOAD;
    } else {
        const char *name = spec;
        size_t len = strlen(spec);
        char tmp[DEVICES_RULE_MAX + 1];

        if (name[0] == '{') {
            if (len < 3 || name[len - 1] != '}') {
                diag_set(diag, "/" EXT_DEVICE, "malformed parameter in device rule", spec);
                rc = DEVICES_EINVAL;
                goto fail;
            }
            name++;
            len -= 2;
        }
        memcpy(tmp, name, len);
        tmp[len] = '\0';
        if (strchr(tmp, '{') || strchr(tmp, '}') || !has_param(tmp, param_names, n_params)) {
            diag_set(diag, "/" EXT_DEVICE, "device rule names no parameter of the channel",
                     spec);
            rc = DEVICES_EINVAL;
            goto fail;
        }
        rc = identity_param(id, tmp, len);
        if (rc != 0)
            goto fail;
    }
    *out = id;
    return DEVICES_OK;

fail:
    devices_identity_free(id);
    return rc;
}

#define MAX_CHANNEL_PARAMS 64

int devices_identity_compile(const asyncapi_channel *ch, const cJSON *doc_root,
                             devices_identity **out, asyncapi_diag *diag)
{
    const char *names[MAX_CHANNEL_PARAMS];
    const cJSON *ext = NULL;
    size_t n;
    int rc;

    if (out)
        *out = NULL;
    if (!ch || !out)
        return DEVICES_EINVAL;
    n = ch->n_params;
    if (n > MAX_CHANNEL_PARAMS) {
        diag_set(diag, "", "too many channel parameters", ch->id ? ch->id : "");
        return DEVICES_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        names[i] = ch->params[i].name;

    if (cJSON_IsObject(ch->node))
        ext = cJSON_GetObjectItemCaseSensitive(ch->node, EXT_DEVICE);
    if (ext) {
        if (!cJSON_IsString(ext) || !ext->valuestring) {
            diag_set(diag, "/" EXT_DEVICE, "device rule must be a string on channel",
                     ch->id ? ch->id : "");
            return DEVICES_EINVAL;
        }
        return devices_identity_compile_spec(ext->valuestring, names, n, out, diag);
    }
    if (cJSON_IsObject(doc_root))
        ext = cJSON_GetObjectItemCaseSensitive(doc_root, EXT_DEVICE);
    if (ext) {
        const char *spec;
        if (!cJSON_IsString(ext) || !ext->valuestring) {
            diag_set(diag, "/" EXT_DEVICE, "document device rule must be a string", "");
            return DEVICES_EINVAL;
        }
        spec = ext->valuestring;
        rc = devices_identity_compile_spec(spec, names, n, out, diag);
        /* a document-wide parameter rule skips channels without that parameter */
        if (rc == DEVICES_EINVAL && spec[0] != '/' && spec[0] != '$' && spec[0] != '\0' &&
            (spec[0] != '{' || spec[strlen(spec) - 1] == '}')) {
            if (diag)
                memset(diag, 0, sizeof(*diag));
            return devices_identity_compile_spec(NULL, names, n, out, diag);
        }
        return rc;
    }
    return devices_identity_compile_spec(NULL, names, n, out, diag);
}

void devices_identity_free(devices_identity *id)
{
    if (!id)
        return;
    free(id->param);
    devices__ptr_release(&id->ptr);
    free(id);
}

devices_identity_kind devices_identity_get_kind(const devices_identity *id)
{
    return id ? id->kind : DEVICES_IDENTITY_NONE;
}

int devices_id_check(const char *s, size_t len)
{
    if (!s || len == 0)
        return DEVICES_EBADID;
    if (len > DEVICES_ID_MAX)
        return DEVICES_ETOOLONG;
    return devices__utf8_ok(s, len, 1) ? DEVICES_OK : DEVICES_EBADID;
}

int devices_identity_eval(const devices_identity *id, const asyncapi_route_param *params,
                          size_t n_params, const cJSON *payload, char *buf, size_t size)
{
    int rc;

    if (!id || !buf || size == 0 || (n_params && !params))
        return DEVICES_EINVAL;
    buf[0] = '\0';
    switch (id->kind) {
    case DEVICES_IDENTITY_NONE:
        return 0;
    case DEVICES_IDENTITY_PARAM:
        for (size_t i = 0; i < n_params; i++) {
            if (!params[i].name || strcmp(params[i].name, id->param) != 0)
                continue;
            if (params[i].len == 0 || !params[i].value)
                return DEVICES_ENOTFOUND;
            rc = devices_id_check(params[i].value, params[i].len);
            if (rc != 0)
                return rc;
            if (params[i].len >= size)
                return DEVICES_ETOOLONG;
            memcpy(buf, params[i].value, params[i].len);
            buf[params[i].len] = '\0';
            return (int)params[i].len;
        }
        return DEVICES_ENOTFOUND;
    case DEVICES_IDENTITY_PAYLOAD: {
        const cJSON *v = payload ? devices__ptr_get(&id->ptr, payload) : NULL;
        if (!v)
            return DEVICES_ENOTFOUND;
        if (!cJSON_IsString(v) && !cJSON_IsNumber(v))
            return DEVICES_EBADID;
        rc = devices_value_text(v, DEVICES_ID_MAX, buf, size);
        if (rc == 0)
            return DEVICES_ENOTFOUND;
        if (rc > 0 && devices_id_check(buf, (size_t)rc) != 0)
            rc = DEVICES_EBADID;
        if (rc < 0)
            buf[0] = '\0';
        return rc;
    }
    }
    return DEVICES_EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Status                                                                   */
/* ------------------------------------------------------------------------ */

const char *devices_status_name(devices_status st)
{
    switch (st) {
    case DEVICES_STATUS_ONLINE: return "online";
    case DEVICES_STATUS_OFFLINE: return "offline";
    default: return "unknown";
    }
}

int devices_channel_name_is_status(const char *name)
{
    size_t len, k = strlen("status");

    if (!name)
        return 0;
    len = strlen(name);
    return len >= k && strcasecmp(name + len - k, "status") == 0;
}

static int names_channel(const cJSON *v, const asyncapi_channel *ch)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return 0;
    return (ch->id && strcmp(v->valuestring, ch->id) == 0) ||
           (ch->address && strcmp(v->valuestring, ch->address) == 0);
}

int devices_channel_is_status(const asyncapi_channel *ch, const cJSON *doc_root)
{
    const cJSON *ext = NULL, *item;

    if (!ch)
        return 0;
    if (cJSON_IsObject(ch->node))
        ext = cJSON_GetObjectItemCaseSensitive(ch->node, EXT_STATUS);
    if (cJSON_IsBool(ext))
        return cJSON_IsTrue(ext);
    if (ext && !cJSON_IsNull(ext))
        return 1; /* an object describing the status message */
    if (cJSON_IsObject(doc_root)) {
        ext = cJSON_GetObjectItemCaseSensitive(doc_root, EXT_STATUS);
        if (names_channel(ext, ch))
            return 1;
        if (cJSON_IsArray(ext)) {
            cJSON_ArrayForEach(item, ext) {
                if (names_channel(item, ch))
                    return 1;
            }
        }
    }
    return devices_channel_name_is_status(ch->id) ||
           devices_channel_name_is_status(ch->address);
}

static devices_status status_word(const char *s)
{
    static const char *const on[] = {"online", "connected", "up", "alive", "true", "1"};
    static const char *const off[] = {"offline", "disconnected", "down", "dead", "lost",
                                      "false", "0"};

    if (!s)
        return DEVICES_STATUS_UNKNOWN;
    for (size_t i = 0; i < sizeof(on) / sizeof(*on); i++)
        if (strcasecmp(s, on[i]) == 0)
            return DEVICES_STATUS_ONLINE;
    for (size_t i = 0; i < sizeof(off) / sizeof(*off); i++)
        if (strcasecmp(s, off[i]) == 0)
            return DEVICES_STATUS_OFFLINE;
    return DEVICES_STATUS_UNKNOWN;
}

devices_status devices_status_from_payload(const cJSON *payload)
{
    static const char *const str_fields[] = {"status", "state"};
    static const char *const bool_fields[] = {"online", "connected"};

    if (!payload)
        return DEVICES_STATUS_UNKNOWN;
    if (cJSON_IsBool(payload))
        return cJSON_IsTrue(payload) ? DEVICES_STATUS_ONLINE : DEVICES_STATUS_OFFLINE;
    if (cJSON_IsString(payload))
        return status_word(payload->valuestring);
    if (!cJSON_IsObject(payload))
        return DEVICES_STATUS_UNKNOWN;
    for (size_t i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, str_fields[i]);
        if (cJSON_IsString(v)) {
            devices_status st = status_word(v->valuestring);
            if (st != DEVICES_STATUS_UNKNOWN)
                return st;
        }
    }
    for (size_t i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, bool_fields[i]);
        if (cJSON_IsBool(v))
            return cJSON_IsTrue(v) ? DEVICES_STATUS_ONLINE : DEVICES_STATUS_OFFLINE;
    }
    return DEVICES_STATUS_UNKNOWN;
}

devices_status devices_status_fold(devices_status current, int is_status_event,
                                   const cJSON *payload)
{
    devices_status st;

    if (!is_status_event)
        return DEVICES_STATUS_ONLINE;
    st = devices_status_from_payload(payload);
    return st == DEVICES_STATUS_UNKNOWN ? current : st;
}

devices_status devices_status_effective(devices_status stored, int64_t last_seen_ms,
                                        int64_t now_ms, int64_t silence_ms)
{
    if (stored == DEVICES_STATUS_OFFLINE)
        return DEVICES_STATUS_OFFLINE;
    if (last_seen_ms <= 0 && stored == DEVICES_STATUS_UNKNOWN)
        return DEVICES_STATUS_UNKNOWN;
    if (silence_ms > 0 && now_ms - last_seen_ms > silence_ms)
        return DEVICES_STATUS_OFFLINE;
    return DEVICES_STATUS_ONLINE;
}
