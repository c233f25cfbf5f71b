/* SPDX-License-Identifier: MIT */
/*
 * JSON Schema draft-07 validator, run side: walks a compiled program
 * (schema_int.h) over a cJSON instance, collecting errors with instance
 * pointer, schema path, keyword and an expected-vs-got message, or stopping
 * at the first failure when no result is wanted. Also validate_json: strict
 * parse (json_text.c, arena, no malloc for small payloads) + validate.
 * Contract: asyncapi/schema.h. Design notes: docs/validator.md.
 */
#include "schema_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

#define PTR_MAX 1024

/*
 * Keeps message buffers and keyword groups out of the recursive eval()
 * frame: the validator recurses once per instance level (and per in-place
 * applicator), so a small frame is what makes SC_MAX_DEPTH safe on
 * ordinary thread stacks, sanitizers included.
 */
#define NOINLINE __attribute__((noinline))

typedef struct vctx {
    asyncapi_schema_result *res; /* NULL = verdict only, stop at first failure */
    pcre2_match_data *md;        /* lazily created, freed at the end of the run */
    unsigned depth;              /* instance nesting of the current value */
    unsigned calls;              /* nested evaluation calls */
    size_t plen;                 /* length of ptr */
    char ptr[PTR_MAX];           /* JSON pointer of the current value (collect mode) */
} vctx;

/* ---- messages ----------------------------------------------------------- */

static const char *type_name(const cJSON *x)
{
    switch (x->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return "boolean";
    case cJSON_NULL: return "null";
    case cJSON_Number:
        return (isfinite(x->valuedouble) && floor(x->valuedouble) == x->valuedouble)
                   ? "integer" : "number";
    case cJSON_String: return "string";
    case cJSON_Array: return "array";
    case cJSON_Object: return "object";
    }
    return "unknown";
}

static void fmt_num(char *buf, size_t n, double d)
{
    snprintf(buf, n, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, n, "%.17g", d);
}

/* Short rendering of a value for messages: numbers, quoted strings, type names. */
static void describe(char *buf, size_t n, const cJSON *x)
{
    if (cJSON_IsNumber(x)) {
        fmt_num(buf, n, x->valuedouble);
    } else if (cJSON_IsString(x)) {
        size_t len = strlen(x->valuestring);

        if (len > 40) {
            size_t cut = 37;

            while (cut > 0 && ((unsigned char)x->valuestring[cut] & 0xC0) == 0x80)
                cut--;
            snprintf(buf, n, "\"%.*s...\"", (int)cut, x->valuestring);
        } else {
            snprintf(buf, n, "\"%s\"", x->valuestring);
        }
    } else if (cJSON_IsBool(x)) {
        snprintf(buf, n, "%s", cJSON_IsTrue(x) ? "true" : "false");
    } else {
        snprintf(buf, n, "%s", type_name(x));
    }
}

static void types_text(char *buf, size_t n, unsigned types)
{
    static const char *const names[] = {"null", "boolean", "object", "array",
                                        "number", "string", "integer"};
    size_t used = 0;

    buf[0] = '\0';
    if ((types & SC_T_NUMBER))
        types &= ~(unsigned)SC_T_INTEGER;
    for (int i = 0; i < 7; i++) {
        int w;

        if (!(types & (1u << i)))
            continue;
        w = snprintf(buf + used, n - used, "%s%s", used ? " or " : "", names[i]);
        if (w < 0 || (size_t)w >= n - used)
            return;
        used += (size_t)w;
    }
}

static int report(vctx *c, const sc_node *s, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copies src into dst[0..size), truncating (pointers may be long by design). */
static void copy_trunc(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/*
 * Drops the bytes of incomplete UTF-8 sequences from s, in place. Texts are
 * cut by byte count (copy_trunc at the tail, "%.100s" in the middle of a
 * message), which can split a character; the errors end up in JSON
 * (dead-letter reasons, HTTP bodies) that must stay valid UTF-8.
 */
static void utf8_drop_broken(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;

    while (*r) {
        unsigned char c = *r;
        size_t need = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0, k = 1;

        if (need == 0) { /* a continuation byte without its lead */
            r++;
            continue;
        }
        while (k < need && (r[k] & 0xC0) == 0x80)
            k++;
        if (k == need) {
            if (w != r)
                memmove(w, r, k);
            w += k;
        }
        r += k;
    }
    *w = '\0';
}

/* Records one failure (collect mode); returns 1 ("invalid"). */
static int report(vctx *c, const sc_node *s, const char *kw, const char *fmt, ...)
{
    asyncapi_schema_error *e;
    va_list ap;

    if (!c->res)
        return 1;
    c->res->total++;
    if (c->res->n_errors >= ASYNCAPI_SCHEMA_MAX_ERRORS)
        return 1;
    e = &c->res->errors[c->res->n_errors++];
    copy_trunc(e->pointer, sizeof(e->pointer), c->ptr);
    if (kw[0])
        snprintf(e->schema_path, sizeof(e->schema_path), "%s/%s", s->path, kw);
    else
        snprintf(e->schema_path, sizeof(e->schema_path), "%s", s->path);
    snprintf(e->keyword, sizeof(e->keyword), "%s", kw[0] ? kw : "false");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    utf8_drop_broken(e->pointer);
    utf8_drop_broken(e->schema_path);
    utf8_drop_broken(e->message);
    return 1;
}

/* Appends "/" + escaped token to the pointer (collect mode only). */
static void ptr_push(vctx *c, const char *tok)
{
    size_t n = c->plen;

    if (n + 1 >= PTR_MAX)
        return; /* the pointer stays truncated (documented: texts may be cut) */
    c->ptr[n++] = '/';
    for (const char *t = tok; *t; t++) {
        const char *rep = *t == '~' ? "~0" : *t == '/' ? "~1" : NULL;
        size_t k = rep ? 2 : 1;

        if (n + k >= PTR_MAX)
            break;
        if (rep) {
            c->ptr[n++] = rep[0];
            c->ptr[n++] = rep[1];
        } else {
            c->ptr[n++] = *t;
        }
    }
    c->ptr[n] = '\0';
    c->plen = n;
}

static void ptr_push_index(vctx *c, size_t i)
{
    char num[24], *p = num + sizeof(num) - 1;

    *p = '\0';
    do {
        *--p = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    ptr_push(c, p);
}

static void ptr_pop(vctx *c, size_t len)
{
    c->plen = len;
    c->ptr[len] = '\0';
}

/* ---- deep equality and hashing ------------------------------------------ */

/* 1 equal, 0 different, ELIMIT too deep. Numbers compare by value (1 == 1.0). */
static int json_equal(const cJSON *a, const cJSON *b, unsigned depth)
{
    int ta = a->type & 0xFF, tb = b->type & 0xFF;

    if (depth > SC_MAX_DEPTH)
        return ASYNCAPI_ELIMIT;
    if (ta != tb)
        return 0;
    switch (ta) {
    case cJSON_Number:
        return a->valuedouble == b->valuedouble;
    case cJSON_String:
        return strcmp(a->valuestring, b->valuestring) == 0;
    case cJSON_Array: {
        const cJSON *x = a->child, *y = b->child;

        for (; x && y; x = x->next, y = y->next) {
            int r = json_equal(x, y, depth + 1);

            if (r != 1)
                return r;
        }
        return !x && !y;
    }
    case cJSON_Object: {
        size_t na = 0, nb = 0;
        const cJSON *x;

        for (x = a->child; x; x = x->next)
            na++;
        for (x = b->child; x; x = x->next)
            nb++;
        if (na != nb)
            return 0;
        for (x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            int r;

            if (!y)
                return 0;
            r = json_equal(x, y, depth + 1);
            if (r != 1)
                return r;
        }
        return 1;
    }
    default:
        return 1; /* null, true, false */
    }
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h;
}

/* Order-independent for objects; equal values hash equal. */
static uint64_t json_hash(const cJSON *a, unsigned depth)
{
    uint64_t h = (uint64_t)(a->type & 0xFF);

    if (depth > SC_MAX_DEPTH)
        return h;
    switch (a->type & 0xFF) {
    case cJSON_Number: {
        double d = a->valuedouble == 0 ? 0.0 : a->valuedouble;
        uint64_t bits;

        memcpy(&bits, &d, sizeof(bits));
        return mix(h, bits);
    }
    case cJSON_String:
        for (const char *s = a->valuestring; *s; s++)
            h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
    case cJSON_Array:
        for (const cJSON *x = a->child; x; x = x->next)
            h = mix(h, json_hash(x, depth + 1));
        return h;
    case cJSON_Object: {
        uint64_t sum = 0;

        for (const cJSON *x = a->child; x; x = x->next) {
            uint64_t k = 1469598103934665603ull;

            for (const char *s = x->string; *s; s++)
                k = (k ^ (unsigned char)*s) * 1099511628211ull;
            sum += mix(k, json_hash(x, depth + 1));
        }
        return mix(h, sum);
    }
    }
    return h;
}

typedef struct hidx {
    uint64_t h;         /* hash */
    const cJSON *v;     /* item */
    size_t i;           /* position */
} hidx;

static int hidx_cmp(const void *a, const void *b)
{
    const hidx *x = a, *y = b;

    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* 1 unique; 0 with *i, *j the equal positions; <0 error. */
static int unique_check(const cJSON *arr, size_t n, size_t *pi, size_t *pj)
{
    if (n <= 16) {
        size_t i = 0;

        for (const cJSON *a = arr->child; a; a = a->next, i++) {
            size_t j = i + 1;

            for (const cJSON *b = a->next; b; b = b->next, j++) {
                int r = json_equal(a, b, 0);

                if (r < 0)
                    return r;
                if (r) {
                    *pi = i;
                    *pj = j;
                    return 0;
                }
            }
        }
        return 1;
    }
    {
        hidx *v = malloc(n * sizeof(*v));
        size_t i = 0;
        int rc = 1;

        if (!v)
            return ASYNCAPI_ENOMEM;
        for (const cJSON *a = arr->child; a; a = a->next, i++) {
            v[i].h = json_hash(a, 0);
            v[i].v = a;
            v[i].i = i;
        }
        qsort(v, n, sizeof(*v), hidx_cmp);
        for (i = 0; i < n && rc == 1; i++) {
            for (size_t j = i + 1; j < n && v[j].h == v[i].h; j++) {
                int r = json_equal(v[i].v, v[j].v, 0);

                if (r < 0) {
                    rc = r;
                    break;
                }
                if (r) {
                    *pi = v[i].i < v[j].i ? v[i].i : v[j].i;
                    *pj = v[i].i < v[j].i ? v[j].i : v[i].i;
                    rc = 0;
                    break;
                }
            }
        }
        free(v);
        return rc;
    }
}

/* ---- evaluation ---------------------------------------------------------- */

static int eval(vctx *c, const sc_node *s, const cJSON *x);

/* Evaluates s on x in verdict-only mode (branches of anyOf, oneOf, not, if). */
static int eval_quiet(vctx *c, const sc_node *s, const cJSON *x)
{
    asyncapi_schema_result *saved = c->res;
    int r;

    c->res = NULL;
    r = eval(c, s, x);
    c->res = saved;
    return r;
}

/* Evaluates s on a child value of the current one (depth + pointer). */
static int eval_child(vctx *c, const sc_node *s, const cJSON *x, const char *key,
                      size_t index)
{
    size_t saved = c->plen;
    int r;

    if (c->depth + 1 > SC_MAX_DEPTH)
        return ASYNCAPI_ELIMIT;
    if (s->kind == 1)
        return 0;
    if (c->res) {
        if (key)
            ptr_push(c, key);
        else
            ptr_push_index(c, index);
    }
    c->depth++;
    r = eval(c, s, x);
    c->depth--;
    if (c->res)
        ptr_pop(c, saved);
    return r;
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int is_multiple(double x, double m)
{
    double q = x / m;

    if (!isfinite(q))
        return fmod(x, m) == 0;
    if (fabs(q) >= 9007199254740992.0)
        return 1;
    return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q)) ? 1 : 0;
}

#define CHECK(r)                                                            \
    do {                                                                    \
        int r_ = (r);                                                       \
        if (r_ < 0)                                                         \
            return r_;                                                      \
        if (r_) {                                                           \
            bad = 1;                                                        \
            if (!c->res)                                                    \
                return 1;                                                   \
        }                                                                   \
    } while (0)

NOINLINE static int eval_number(vctx *c, const sc_node *s, const cJSON *x)
{
    double v = x->valuedouble;
    char a[40], b[40];
    int bad = 0;

    if ((s->has & SC_H_MIN) && v < s->minimum) {
        fmt_num(a, sizeof(a), v);
        fmt_num(b, sizeof(b), s->minimum);
        CHECK(report(c, s, "minimum", "%s is less than the minimum %s", a, b));
    }
    if ((s->has & SC_H_MAX) && v > s->maximum) {
        fmt_num(a, sizeof(a), v);
        fmt_num(b, sizeof(b), s->maximum);
        CHECK(report(c, s, "maximum", "%s is greater than the maximum %s", a, b));
    }
    if ((s->has & SC_H_XMIN) && v <= s->xminimum) {
        fmt_num(a, sizeof(a), v);
        fmt_num(b, sizeof(b), s->xminimum);
        CHECK(report(c, s, "exclusiveMinimum", "%s is not greater than the exclusive minimum %s", a, b));
    }
    if ((s->has & SC_H_XMAX) && v >= s->xmaximum) {
        fmt_num(a, sizeof(a), v);
        fmt_num(b, sizeof(b), s->xmaximum);
        CHECK(report(c, s, "exclusiveMaximum", "%s is not less than the exclusive maximum %s", a, b));
    }
    if ((s->has & SC_H_MULT) && !is_multiple(v, s->multiple_of)) {
        fmt_num(a, sizeof(a), v);
        fmt_num(b, sizeof(b), s->multiple_of);
        CHECK(report(c, s, "multipleOf", "%s is not a multiple of %s", a, b));
    }
    return bad;
}

static int content_json_ok(const char *s, size_t len)
{
    char block[2048];
    asyncapi_json_arena a;
    cJSON *t;
    int rc;

    asyncapi_json__arena_init(&a, block, sizeof(block));
    rc = asyncapi_json__parse(s, len, &a, SC_MAX_DEPTH, &t, NULL, NULL);
    asyncapi_json__arena_release(&a);
    return rc == 0;
}

static int b64_val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

int asyncapi_schema__base64_check(const char *s, size_t len)
{
    size_t pad = 0;

    if (len % 4)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') {
            if (i < len - 2)
                return 0;
            pad++;
        } else if (pad || b64_val((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}

NOINLINE static int eval_string(vctx *c, const sc_node *s, const cJSON *x)
{
    const char *str = x->valuestring;
    size_t blen = strlen(str);
    int bad = 0;

    if (s->min_length || s->max_length != SIZE_MAX) {
        size_t n = blen;

        /*
         * bytes >= code points >= bytes / 4: count only when the byte
         * length alone cannot decide
         */
        if (blen > s->max_length || (s->min_length && blen / 4 < s->min_length))
            n = utf8_len(str);
        if (n < s->min_length)
            CHECK(report(c, s, "minLength", "string of %zu characters is shorter than the minimum length %zu",
                         n, s->min_length));
        if (n > s->max_length)
            CHECK(report(c, s, "maxLength", "string of %zu characters is longer than the maximum length %zu",
                         n, s->max_length));
    }
    if (s->pattern) {
        int r = asyncapi_schema__regex_match(s->pattern, str, blen, &c->md);

        if (r < 0)
            return r;
        if (!r) {
            char d[64];

            describe(d, sizeof(d), x);
            CHECK(report(c, s, "pattern", "%s does not match the pattern \"%.100s\"", d,
                         s->pattern_src));
        }
    }
    if (s->format && !asyncapi_schema__format_check(s->format, str, blen)) {
        char d[64];

        describe(d, sizeof(d), x);
        CHECK(report(c, s, "format", "%s is not a valid %s", d, s->format_name));
    }
    if (s->content_base64 && !asyncapi_schema__base64_check(str, blen))
        CHECK(report(c, s, "contentEncoding", "string is not valid base64"));
    if (s->content_json && !s->content_base64 && !content_json_ok(str, blen))
        CHECK(report(c, s, "contentMediaType", "string is not valid application/json"));
    if (s->content_json && s->content_base64 && asyncapi_schema__base64_check(str, blen)) {
        size_t cap = blen / 4 * 3 + 1, o = 0;
        unsigned char *dec = malloc(cap);
        unsigned acc = 0;
        int bits = 0, ok;

        if (!dec)
            return ASYNCAPI_ENOMEM;
        for (size_t i = 0; i < blen && str[i] != '='; i++) {
            acc = acc << 6 | (unsigned)b64_val((unsigned char)str[i]);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                dec[o++] = (unsigned char)(acc >> bits);
                acc &= (1u << bits) - 1;
            }
        }
        ok = content_json_ok((const char *)dec, o);
        free(dec);
        if (!ok)
            CHECK(report(c, s, "contentMediaType", "decoded content is not valid application/json"));
    }
    return bad;
}

NOINLINE static int eval_array(vctx *c, const sc_node *s, const cJSON *x)
{
    size_t n = 0, i;
    const cJSON *e;
    int bad = 0;

    for (e = x->child; e; e = e->next)
        n++;
    if (n < s->min_items)
        CHECK(report(c, s, "minItems", "array of %zu items has fewer than the minimum %zu", n,
                     s->min_items));
    if (n > s->max_items)
        CHECK(report(c, s, "maxItems", "array of %zu items has more than the maximum %zu", n,
                     s->max_items));
    if (s->items) {
        for (i = 0, e = x->child; e; e = e->next, i++)
            CHECK(eval_child(c, s->items, e, NULL, i));
    } else if (s->items_arr) {
        for (i = 0, e = x->child; e; e = e->next, i++) {
            if (i < s->n_items)
                CHECK(eval_child(c, s->items_arr[i], e, NULL, i));
            else if (s->additional_items)
                CHECK(eval_child(c, s->additional_items, e, NULL, i));
            else
                break;
        }
    }
    if (s->contains) {
        int found = 0;

        for (i = 0, e = x->child; e && !found; e = e->next, i++) {
            int r;

            if (c->depth + 1 > SC_MAX_DEPTH)
                return ASYNCAPI_ELIMIT;
            c->depth++;
            r = eval_quiet(c, s->contains, e);
            c->depth--;
            if (r < 0)
                return r;
            found = r == 0;
        }
        if (!found)
            CHECK(report(c, s, "contains", "no item of the array matches the \"contains\" schema"));
    }
    if (s->unique_items && n > 1) {
        size_t a = 0, b = 0;
        int r = unique_check(x, n, &a, &b);

        if (r < 0)
            return r;
        if (r == 0)
            CHECK(report(c, s, "uniqueItems", "items %zu and %zu are equal, expected unique items",
                         a, b));
    }
    return bad;
}

static const sc_prop *prop_find(const sc_node *s, const char *key, uint32_t h, size_t *idx)
{
    for (uint32_t j = h & s->prop_mask;; j = (j + 1) & s->prop_mask) {
        int32_t k = s->prop_table[j];

        if (k < 0)
            return NULL;
        if (s->props[k].hash == h && strcmp(s->props[k].name, key) == 0) {
            *idx = (size_t)k;
            return &s->props[k];
        }
    }
}

/* propertyNames: the key as a string instance (own frame for the cJSON on the stack). */
static NOINLINE int eval_property_name(vctx *c, const sc_node *s, char *key)
{
    cJSON name = {.type = cJSON_String, .valuestring = key};

    return eval_child(c, s, &name, key, 0);
}

static int obj_has(const cJSON *x, const char *key)
{
    for (const cJSON *m = x->child; m; m = m->next)
        if (strcmp(m->string, key) == 0)
            return 1;
    return 0;
}

NOINLINE static int eval_object(vctx *c, const sc_node *s, const cJSON *x)
{
    uint64_t seen = 0;
    size_t n = 0;
    int bad = 0;

    for (const cJSON *m = x->child; m; m = m->next) {
        int matched = 0;

        n++;
        if (s->n_props) {
            uint32_t h = 2166136261u;
            size_t idx;
            const sc_prop *p;

            for (const char *k = m->string; *k; k++)
                h = (h ^ (unsigned char)*k) * 16777619u;
            p = prop_find(s, m->string, h, &idx);
            if (p) {
                matched = 1;
                if (idx < 64)
                    seen |= 1ull << idx;
                CHECK(eval_child(c, p->schema, m, m->string, 0));
            }
        }
        for (size_t i = 0; i < s->n_pprops; i++) {
            int r = asyncapi_schema__regex_match(s->pprops[i].re, m->string,
                                                 strlen(m->string), &c->md);

            if (r < 0)
                return r;
            if (r) {
                matched = 1;
                CHECK(eval_child(c, s->pprops[i].schema, m, m->string, 0));
            }
        }
        if (!matched && s->additional_props) {
            if (s->additional_props->kind == 0) {
                size_t saved = c->plen;

                if (c->res)
                    ptr_push(c, m->string);
                CHECK(report(c, s, "additionalProperties", "property \"%.100s\" is not allowed",
                             m->string));
                if (c->res)
                    ptr_pop(c, saved);
            } else {
                CHECK(eval_child(c, s->additional_props, m, m->string, 0));
            }
        }
        if (s->property_names)
            CHECK(eval_property_name(c, s->property_names, m->string));
    }
    for (size_t i = 0; i < s->n_required; i++) {
        const sc_req *r = &s->required[i];
        int present = r->prop >= 0 ? (int)((seen >> r->prop) & 1) : obj_has(x, r->name);

        if (!present)
            CHECK(report(c, s, "required", "required property \"%.100s\" is missing", r->name));
    }
    if (n < s->min_props)
        CHECK(report(c, s, "minProperties", "object with %zu properties has fewer than the minimum %zu",
                     n, s->min_props));
    if (n > s->max_props)
        CHECK(report(c, s, "maxProperties", "object with %zu properties has more than the maximum %zu",
                     n, s->max_props));
    for (size_t i = 0; i < s->n_deps; i++) {
        const sc_dep *d = &s->deps[i];

        if (!obj_has(x, d->name))
            continue;
        for (size_t k = 0; k < d->n_req; k++)
            if (!obj_has(x, d->req[k]))
                CHECK(report(c, s, "dependencies",
                             "property \"%.60s\" requires property \"%.60s\", which is missing",
                             d->name, d->req[k]));
        if (d->schema)
            CHECK(eval(c, d->schema, x));
    }
    return bad;
}

NOINLINE static int eval_comb(vctx *c, const sc_node *s, const cJSON *x)
{
    int bad = 0, r;

    for (size_t i = 0; i < s->n_all_of; i++)
        CHECK(eval(c, s->all_of[i], x));
    if (s->n_any_of) {
        int ok = 0;

        for (size_t i = 0; i < s->n_any_of && !ok; i++) {
            r = eval_quiet(c, s->any_of[i], x);
            if (r < 0)
                return r;
            ok = r == 0;
        }
        if (!ok)
            CHECK(report(c, s, "anyOf", "value matches none of the %zu schemas in anyOf",
                         s->n_any_of));
    }
    if (s->n_one_of) {
        size_t hits = 0, first = 0, second = 0;

        for (size_t i = 0; i < s->n_one_of && hits < 2; i++) {
            r = eval_quiet(c, s->one_of[i], x);
            if (r < 0)
                return r;
            if (r == 0) {
                if (hits++ == 0)
                    first = i;
                else
                    second = i;
            }
        }
        if (hits == 0)
            CHECK(report(c, s, "oneOf", "value matches none of the %zu schemas in oneOf, expected exactly one",
                         s->n_one_of));
        else if (hits > 1)
            CHECK(report(c, s, "oneOf", "value matches schemas %zu and %zu in oneOf, expected exactly one",
                         first, second));
    }
    if (s->not_) {
        r = eval_quiet(c, s->not_, x);
        if (r < 0)
            return r;
        if (r == 0)
            CHECK(report(c, s, "not", "value matches the schema in \"not\""));
    }
    if (s->if_) {
        r = eval_quiet(c, s->if_, x);
        if (r < 0)
            return r;
        if (r == 0 && s->then_)
            CHECK(eval(c, s->then_, x));
        else if (r == 1 && s->else_)
            CHECK(eval(c, s->else_, x));
    }
    return bad;
}

static int type_matches(unsigned types, const cJSON *x)
{
    switch (x->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return (types & SC_T_BOOLEAN) != 0;
    case cJSON_NULL: return (types & SC_T_NULL) != 0;
    case cJSON_Number:
        if (types & SC_T_NUMBER)
            return 1;
        return (types & SC_T_INTEGER) && isfinite(x->valuedouble) &&
               floor(x->valuedouble) == x->valuedouble;
    case cJSON_String: return (types & SC_T_STRING) != 0;
    case cJSON_Array: return (types & SC_T_ARRAY) != 0;
    case cJSON_Object: return (types & SC_T_OBJECT) != 0;
    }
    return 0;
}

static NOINLINE int report_type(vctx *c, const sc_node *s, const cJSON *x)
{
    char want[96], got[64];
    int scalar = cJSON_IsNumber(x) || cJSON_IsString(x);

    types_text(want, sizeof(want), s->types);
    describe(got, sizeof(got), x);
    return report(c, s, "type", "expected %s, got %s%s%s", want, type_name(x),
                  scalar ? " " : "", scalar ? got : "");
}

static NOINLINE int report_value(vctx *c, const sc_node *s, const cJSON *x, const char *kw)
{
    char want[64], got[64];

    describe(got, sizeof(got), x);
    if (kw[0] == 'e')
        return report(c, s, "enum", "%s is not one of the %d allowed values", got,
                      cJSON_GetArraySize(s->enum_));
    describe(want, sizeof(want), s->const_);
    return report(c, s, "const", "expected the constant %s, got %s", want, got);
}

static int eval(vctx *c, const sc_node *s, const cJSON *x)
{
    int bad = 0, r;
    unsigned has;

    while (s->ref)
        s = s->ref;
    if (s->kind == 1)
        return 0;
    if (s->kind == 0)
        return report(c, s, "", "no value is allowed here (false schema)");
    if (++c->calls > SC_MAX_CALLS) {
        c->calls--;
        return ASYNCAPI_ELIMIT;
    }
    has = s->has;
    if ((has & SC_H_TYPE) && !type_matches(s->types, x)) {
        bad = report_type(c, s, x);
        if (!c->res)
            goto out;
    }
    if (has & SC_H_ENUM) {
        int found = 0;

        for (const cJSON *e = s->enum_->child; e && !found; e = e->next) {
            r = json_equal(e, x, 0);
            if (r < 0) {
                bad = r;
                goto out;
            }
            found = r;
        }
        if (!found) {
            bad = report_value(c, s, x, "enum");
            if (!c->res)
                goto out;
        }
    }
    if (has & SC_H_CONST) {
        r = json_equal(s->const_, x, 0);
        if (r < 0) {
            bad = r;
            goto out;
        }
        if (!r) {
            bad = report_value(c, s, x, "const");
            if (!c->res)
                goto out;
        }
    }
    r = 0;
    switch (x->type & 0xFF) {
    case cJSON_Number:
        if (has & SC_H_NUM)
            r = eval_number(c, s, x);
        break;
    case cJSON_String:
        if (has & SC_H_STR)
            r = eval_string(c, s, x);
        break;
    case cJSON_Array:
        if (has & SC_H_ARR)
            r = eval_array(c, s, x);
        break;
    case cJSON_Object:
        if (has & SC_H_OBJ)
            r = eval_object(c, s, x);
        break;
    }
    if (r < 0) {
        bad = r;
        goto out;
    }
    bad |= r;
    if (bad && !c->res)
        goto out;
    if (has & SC_H_COMB) {
        r = eval_comb(c, s, x);
        if (r < 0) {
            bad = r;
            goto out;
        }
        bad |= r;
    }
out:
    c->calls--;
    return bad;
}

/* ---- public ---------------------------------------------------------- */

static void add_plain_error(asyncapi_schema_result *res, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_plain_error(asyncapi_schema_result *res, const char *kw, const char *fmt, ...)
{
    asyncapi_schema_error *e;
    va_list ap;

    if (!res)
        return;
    res->total++;
    if (res->n_errors >= ASYNCAPI_SCHEMA_MAX_ERRORS)
        return;
    e = &res->errors[res->n_errors++];
    memset(e, 0, sizeof(*e));
    snprintf(e->keyword, sizeof(e->keyword), "%s", kw);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

int asyncapi_schema_validate(const asyncapi_schema *schema, const cJSON *instance,
                             asyncapi_schema_result *result)
{
    vctx c;
    int rc;

    if (result) {
        result->n_errors = 0;
        result->total = 0;
    }
    if (!schema || !instance)
        return ASYNCAPI_EINVAL;
    c.res = result;
    c.md = NULL;
    c.depth = 0;
    c.calls = 0;
    c.plen = 0;
    c.ptr[0] = '\0';
    rc = eval(&c, schema->root, instance);
    pcre2_match_data_free(c.md);
    if (rc == ASYNCAPI_ELIMIT)
        add_plain_error(result, "limit", "instance nests deeper than %d levels or the schema recurses too deeply",
                        SC_MAX_DEPTH);
    else if (rc == ASYNCAPI_ENOMEM)
        add_plain_error(result, "limit", "out of memory");
    return rc < 0 ? rc : (rc ? 1 : 0);
}

/*
 * The common part of the validate_json entry points: parses buf into arena
 * (NULL: heap nodes) and validates; parse errors go to result. *root is
 * the tree (NULL if the text did not parse). Returns as validate_json.
 */
static int validate_text(const asyncapi_schema *schema, const char *buf, size_t len,
                         asyncapi_json_arena *arena, asyncapi_schema_result *result,
                         cJSON **root)
{
    const char *msg = NULL;
    size_t off = 0;
    int rc;

    *root = NULL;
    if (result) {
        result->n_errors = 0;
        result->total = 0;
    }
    rc = asyncapi_json__parse(buf ? buf : "", len, arena, SC_MAX_DEPTH, root, &off, &msg);
    if (rc) {
        if (rc == ASYNCAPI_ENOMEM)
            add_plain_error(result, "parse", "out of memory");
        else
            add_plain_error(result, "parse", "byte %zu: %s", off, msg ? msg : "parse error");
        return rc;
    }
    return asyncapi_schema_validate(schema, *root, result);
}

int asyncapi_schema_validate_json_in(const asyncapi_schema *schema, asyncapi_json_buf *b,
                                     const char *buf, size_t len,
                                     asyncapi_schema_result *result, const cJSON **out)
{
    cJSON *root;
    int rc;

    if (out)
        *out = NULL;
    if (!schema || !b || (!buf && len)) {
        if (result)
            result->n_errors = result->total = 0;
        return ASYNCAPI_EINVAL;
    }
    rc = validate_text(schema, buf, len, asyncapi_json__buf_reset(b), result, &root);
    if (out && (rc == 0 || rc == 1))
        *out = root;
    return rc;
}

int asyncapi_schema_validate_json(const asyncapi_schema *schema, const char *buf,
                                  size_t len, asyncapi_schema_result *result,
                                  cJSON **out)
{
    union {
        max_align_t align;
        char bytes[8192];
    } block;
    asyncapi_json_arena arena;
    cJSON *root;
    int rc;

    if (out)
        *out = NULL;
    if (!schema || (!buf && len)) {
        if (result)
            result->n_errors = result->total = 0;
        return ASYNCAPI_EINVAL;
    }
    if (out) {
        rc = validate_text(schema, buf, len, NULL, result, &root);
        if (rc == 0 || rc == 1)
            *out = root;
        else
            cJSON_Delete(root); /* out-parameters are written only on 0 or 1 */
        return rc;
    }
    asyncapi_json__arena_init(&arena, block.bytes, sizeof(block.bytes));
    rc = validate_text(schema, buf, len, &arena, result, &root);
    asyncapi_json__arena_release(&arena);
    return rc;
}
