/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON text reader (json_text.h): RFC 8259 grammar, strict UTF-8,
 * bounded nesting, no duplicate keys, builds cJSON nodes either on the cJSON
 * heap or in a bump arena (the validator's no-malloc fast path).
 * Design notes: docs/validator.md.
 */
#include "json_text.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi/error.h"
#include "asyncapi/parse.h"

#define ARENA_CHUNK 16384

typedef struct parser {
    const unsigned char *p;    /* next byte */
    const unsigned char *start;/* first byte, for offsets */
    const unsigned char *end;  /* one past the last byte */
    asyncapi_json_arena *arena;/* NULL = cJSON heap */
    unsigned max_depth;        /* nesting bound */
    unsigned depth;            /* current nesting */
    unsigned flags;            /* enum asyncapi_json__flags */
    const char *msg;           /* failure reason (static) */
    int err;                   /* failure code */
} parser;

void asyncapi_json__arena_init(asyncapi_json_arena *a, void *block, size_t cap)
{
    a->buf = block;
    a->cap = block ? cap : 0;
    a->used = 0;
    a->chunks = NULL;
}

void asyncapi_json__arena_release(asyncapi_json_arena *a)
{
    void *c = a->chunks;

    while (c) {
        void *next = *(void **)c;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->buf = NULL;
    a->cap = a->used = 0;
}

static void *arena_alloc(asyncapi_json_arena *a, size_t n)
{
    void *r;
    size_t header = sizeof(max_align_t);

    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (a->buf == NULL || a->cap - a->used < n) {
        size_t size = n + header > ARENA_CHUNK ? n + header : ARENA_CHUNK;
        char *c = malloc(size);

        if (!c)
            return NULL;
        *(void **)c = a->chunks;
        a->chunks = c;
        a->buf = c + header;
        a->cap = size - header;
        a->used = 0;
    }
    r = a->buf + a->used;
    a->used += n;
    return r;
}

static int fail(parser *ps, int err, const char *msg)
{
    if (!ps->err) {
        ps->err = err;
        ps->msg = msg;
    }
    return err;
}

static cJSON *new_node(parser *ps)
{
    cJSON *n = ps->arena ? arena_alloc(ps->arena, sizeof(cJSON))
                         : cJSON_malloc(sizeof(cJSON));

    if (!n) {
        fail(ps, ASYNCAPI_ENOMEM, "out of memory");
        return NULL;
    }
    memset(n, 0, sizeof(*n));
    return n;
}

static char *new_str(parser *ps, size_t n)
{
    char *s = ps->arena ? arena_alloc(ps->arena, n + 1) : cJSON_malloc(n + 1);

    if (!s)
        fail(ps, ASYNCAPI_ENOMEM, "out of memory");
    return s;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

size_t asyncapi_utf8_seq(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c;

    if (n == 0)
        return 0;
    c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
            (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && s[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

static int hex4(const unsigned char *s, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned c = s[i], d;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at ps->p (on the opening quote); *out gets a new copy. */
static int parse_string(parser *ps, char **out, uint32_t *hash)
{
    const unsigned char *s = ps->p + 1, *q = s;
    int escapes = 0;
    uint32_t h = 2166136261u;
    char *o, *r;

    /* pass 1: find the end, validate UTF-8 (plain ASCII runs first, hashed on the way) */
    for (;;) {
        while (q < ps->end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\') {
            h = (h ^ *q) * 16777619u;
            q++;
        }
        if (q >= ps->end) {
            ps->p = q;
            return fail(ps, ASYNCAPI_ESYNTAX, "unterminated string");
        }
        if (*q == '"')
            break;
        if (*q == '\\') {
            escapes = 1;
            if (ps->end - q < 2) {
                ps->p = q;
                return fail(ps, ASYNCAPI_ESYNTAX, "unterminated string");
            }
            q += 2;
            continue;
        }
        if (*q < 0x20) {
            ps->p = q;
            return fail(ps, ASYNCAPI_ESYNTAX, "control character in string");
        }
        {
            size_t n = asyncapi_utf8_seq((const char *)q, (size_t)(ps->end - q));

            if (!n) {
                ps->p = q;
                return fail(ps, ASYNCAPI_ESYNTAX, "invalid utf-8 in string");
            }
            for (size_t k = 0; k < n; k++)
                h = (h ^ q[k]) * 16777619u;
            q += n;
        }
    }
    r = new_str(ps, (size_t)(q - s));
    if (!r)
        return ps->err;
    if (!escapes) {
        size_t n = (size_t)(q - s);

        memcpy(r, s, n);
        r[n] = '\0';
        *out = r;
        if (hash)
            *hash = h;
        ps->p = q + 1;
        return 0;
    }
    /* pass 2: decode escapes */
    o = r;
    *out = r; /* owned by the node from now on, even on failure */
    for (const unsigned char *c = s; c < q;) {
        if (*c != '\\') {
            *o++ = (char)*c++;
            continue;
        }
        ps->p = c;
        c++;
        switch (*c) {
        case '"': *o++ = '"'; c++; break;
        case '\\': *o++ = '\\'; c++; break;
        case '/': *o++ = '/'; c++; break;
        case 'b': *o++ = '\b'; c++; break;
        case 'f': *o++ = '\f'; c++; break;
        case 'n': *o++ = '\n'; c++; break;
        case 'r': *o++ = '\r'; c++; break;
        case 't': *o++ = '\t'; c++; break;
        case 'u': {
            unsigned cp, lo;

            if (q - c < 5 || hex4(c + 1, &cp))
                return fail(ps, ASYNCAPI_ESYNTAX, "bad \\u escape");
            c += 5;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail(ps, ASYNCAPI_ESYNTAX, "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (q - c < 6 || c[0] != '\\' || c[1] != 'u' || hex4(c + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return fail(ps, ASYNCAPI_ESYNTAX, "lone high surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                c += 6;
            }
            if (cp == 0)
                return fail(ps, ASYNCAPI_ESYNTAX, "\\u0000 is not supported");
            o += put_utf8(o, cp);
            break;
        }
        default:
            return fail(ps, ASYNCAPI_ESYNTAX, "bad escape in string");
        }
    }
    *o = '\0';
    if (hash) {
        h = 2166136261u;
        for (const char *c = r; c < o; c++)
            h = (h ^ (unsigned char)*c) * 16777619u;
        *hash = h;
    }
    ps->p = q + 1;
    return 0;
}

/* Exact powers of ten for the fast path (10^22 is the last exact double). */
static const double pow10_exact[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int parse_number(parser *ps, cJSON *n)
{
    const unsigned char *s = ps->p, *c = s;
    uint64_t mant = 0;
    int sig = 0, frac = 0, exp10 = 0, neg = 0, fast = 1;
    double v;

    if (c < ps->end && *c == '-') {
        neg = 1;
        c++;
    }
    if (c >= ps->end || !(*c >= '0' && *c <= '9'))
        return fail(ps, ASYNCAPI_ESYNTAX, "bad number");
    if (*c == '0') {
        c++;
    } else {
        while (c < ps->end && *c >= '0' && *c <= '9') {
            if (sig < 19)
                mant = mant * 10 + (uint64_t)(*c - '0');
            else
                fast = 0;
            sig++;
            c++;
        }
    }
    if (c < ps->end && *c == '.') {
        c++;
        if (c >= ps->end || !(*c >= '0' && *c <= '9')) {
            ps->p = c;
            return fail(ps, ASYNCAPI_ESYNTAX, "bad number: digit expected after '.'");
        }
        while (c < ps->end && *c >= '0' && *c <= '9') {
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(*c - '0');
                frac++;
                if (mant)
                    sig++;
            } else {
                fast = 0;
            }
            c++;
        }
    }
    if (c < ps->end && (*c == 'e' || *c == 'E')) {
        int eneg = 0, e = 0;

        c++;
        if (c < ps->end && (*c == '+' || *c == '-'))
            eneg = *c++ == '-';
        if (c >= ps->end || !(*c >= '0' && *c <= '9')) {
            ps->p = c;
            return fail(ps, ASYNCAPI_ESYNTAX, "bad number: digit expected in exponent");
        }
        while (c < ps->end && *c >= '0' && *c <= '9') {
            if (e < 100000)
                e = e * 10 + (*c - '0');
            c++;
        }
        exp10 = eneg ? -e : e;
    }
    exp10 -= frac;
    /*
     * Clinger's fast path: a mantissa below 2^53 and |exponent| <= 22 are
     * both exact doubles, so one IEEE multiply/divide rounds correctly.
     */
    if (fast && mant < (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        v = (double)mant;
        v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
        if (neg)
            v = -v;
    } else {
        char small[128], *tmp = small;
        size_t nlen = (size_t)(c - s);

        if (nlen >= sizeof(small)) {
            tmp = malloc(nlen + 1);
            if (!tmp)
                return fail(ps, ASYNCAPI_ENOMEM, "out of memory");
        }
        memcpy(tmp, s, nlen);
        tmp[nlen] = '\0';
        v = strtod(tmp, NULL);
        if (tmp != small)
            free(tmp);
        if (!isfinite(v))
            return fail(ps, ASYNCAPI_ESYNTAX, "number out of range");
    }
    n->type = cJSON_Number;
    n->valuedouble = v;
    if (v >= (double)INT_MAX)
        n->valueint = INT_MAX;
    else if (v <= (double)INT_MIN)
        n->valueint = INT_MIN;
    else
        n->valueint = (int)v;
    ps->p = c;
    return 0;
}

static int parse_value(parser *ps, cJSON *n);

typedef struct key_ent {
    uint32_t hash;     /* FNV-1a of the key */
    const char *key;   /* the node's key */
} key_ent;

static int key_cmp(const void *a, const void *b)
{
    const key_ent *x = a, *y = b;

    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return strcmp(x->key, y->key);
}

#define SMALL_KEYS 16

static int check_dups(parser *ps, key_ent *k, size_t n)
{
    if (n <= SMALL_KEYS) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (k[i].hash == k[j].hash && strcmp(k[i].key, k[j].key) == 0)
                    return fail(ps, ASYNCAPI_ESYNTAX, "duplicate object key");
        return 0;
    }
    qsort(k, n, sizeof(*k), key_cmp);
    for (size_t i = 1; i < n; i++)
        if (k[i].hash == k[i - 1].hash && strcmp(k[i].key, k[i - 1].key) == 0)
            return fail(ps, ASYNCAPI_ESYNTAX, "duplicate object key");
    return 0;
}

static int parse_object(parser *ps, cJSON *obj)
{
    key_ent small[SMALL_KEYS], *keys = small;
    size_t n_keys = 0, cap = SMALL_KEYS;
    cJSON *last = NULL;
    int rc = 0;

    obj->type = cJSON_Object;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        cJSON *m;
        uint32_t h = 0;

        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            rc = fail(ps, ASYNCAPI_ESYNTAX, "object key expected");
            goto out;
        }
        m = new_node(ps);
        if (!m) {
            rc = ps->err;
            goto out;
        }
        if (last) {
            last->next = m;
            m->prev = last;
        } else {
            obj->child = m;
        }
        obj->child->prev = m;
        last = m;
        rc = parse_string(ps, &m->string, &h);
        if (rc)
            goto out;
        if (n_keys == cap) {
            key_ent *nk = malloc(cap * 2 * sizeof(*nk));

            if (!nk) {
                rc = fail(ps, ASYNCAPI_ENOMEM, "out of memory");
                goto out;
            }
            memcpy(nk, keys, n_keys * sizeof(*nk));
            if (keys != small)
                free(keys);
            keys = nk;
            cap *= 2;
        }
        keys[n_keys].hash = h;
        keys[n_keys].key = m->string;
        n_keys++;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            rc = fail(ps, ASYNCAPI_ESYNTAX, "':' expected after object key");
            goto out;
        }
        ps->p++;
        rc = parse_value(ps, m);
        if (rc)
            goto out;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        rc = fail(ps, ASYNCAPI_ESYNTAX, "',' or '}' expected in object");
        goto out;
    }
    if (!(ps->flags & ASYNCAPI_JSON__DUP_KEYS_OK))
        rc = check_dups(ps, keys, n_keys);
out:
    if (keys != small)
        free(keys);
    return rc;
}

static int parse_array(parser *ps, cJSON *arr)
{
    cJSON *last = NULL;

    arr->type = cJSON_Array;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        cJSON *m = new_node(ps);
        int rc;

        if (!m)
            return ps->err;
        if (last) {
            last->next = m;
            m->prev = last;
        } else {
            arr->child = m;
        }
        arr->child->prev = m;
        last = m;
        rc = parse_value(ps, m);
        if (rc)
            return rc;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        return fail(ps, ASYNCAPI_ESYNTAX, "',' or ']' expected in array");
    }
}

static int literal(parser *ps, const char *word, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, ASYNCAPI_ESYNTAX, "unexpected character");
    ps->p += n;
    return 0;
}

static int parse_value(parser *ps, cJSON *n)
{
    int rc;

    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, ASYNCAPI_ESYNTAX, "unexpected end of input");
    switch (*ps->p) {
    case '{':
    case '[':
        if (++ps->depth > ps->max_depth)
            return fail(ps, ASYNCAPI_ELIMIT, "nesting too deep");
        rc = *ps->p == '{' ? parse_object(ps, n) : parse_array(ps, n);
        ps->depth--;
        return rc;
    case '"': {
        uint32_t h;

        n->type = cJSON_String;
        return parse_string(ps, &n->valuestring, &h);
    }
    case 't':
        n->type = cJSON_True;
        n->valueint = 1;
        return literal(ps, "true", 4);
    case 'f':
        n->type = cJSON_False;
        return literal(ps, "false", 5);
    case 'n':
        n->type = cJSON_NULL;
        return literal(ps, "null", 4);
    default:
        return parse_number(ps, n);
    }
}

int asyncapi_json__parse(const char *buf, size_t len, asyncapi_json_arena *arena,
                         unsigned max_depth, cJSON **out, size_t *err_off,
                         const char **err_msg)
{
    return asyncapi_json__parse_flags(buf, len, arena, max_depth, 0, out, err_off, err_msg);
}

int asyncapi_json__parse_flags(const char *buf, size_t len, asyncapi_json_arena *arena,
                               unsigned max_depth, unsigned flags, cJSON **out,
                               size_t *err_off, const char **err_msg)
{
    parser ps = {
        .p = (const unsigned char *)buf,
        .start = (const unsigned char *)buf,
        .end = (const unsigned char *)buf + len,
        .arena = arena,
        .max_depth = max_depth,
        .flags = flags,
    };
    cJSON *root;
    int rc;

    *out = NULL;
    if (len >= 3 && ps.p[0] == 0xEF && ps.p[1] == 0xBB && ps.p[2] == 0xBF) {
        ps.p += 3; /* tolerate a UTF-8 byte order mark */
    }
    root = new_node(&ps);
    if (!root) {
        rc = ps.err;
        goto fail;
    }
    rc = parse_value(&ps, root);
    if (!rc) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            rc = fail(&ps, ASYNCAPI_ESYNTAX, "trailing characters after the json value");
    }
    if (rc) {
        if (!arena)
            cJSON_Delete(root);
        goto fail;
    }
    *out = root;
    return 0;
fail:
    if (err_off)
        *err_off = (size_t)(ps.p - ps.start);
    if (err_msg)
        *err_msg = ps.msg ? ps.msg : "parse error";
    return rc;
}
