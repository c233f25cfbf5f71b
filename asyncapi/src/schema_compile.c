/* SPDX-License-Identifier: MIT */
/*
 * JSON Schema draft-07 compiler: cJSON schema -> immutable sc_node program.
 * Indexes $id resources (RFC 3986 base URIs, location-independent "#name"
 * ids), resolves $ref through a worklist (local pointers, remote documents
 * via the resolver, the bundled meta-schema), rejects ref/applicator loops
 * that never consume input. Design notes: docs/validator.md.
 */
#include "schema_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi_int.h"
#include "json_text.h"

#define DEFAULT_BASE "urn:asyncbridge:root"
#define META_URI "http://json-schema.org/draft-07/schema"

/* A pointer -> value hash map (open addressing, power-of-two size). */
typedef struct ptrmap {
    const void **keys; /* NULL = empty slot */
    void **vals;       /* values */
    size_t cap;        /* slots, power of two or 0 */
    size_t n;          /* used slots */
} ptrmap;

typedef struct resource {
    char *uri;            /* absolute URI without fragment, or uri#name; owned */
    const cJSON *node;    /* the document or subschema */
} resource;

typedef struct pending {
    sc_node *node;        /* the $ref node to patch */
} pending;

typedef struct cc {
    asyncapi_schema *prog;          /* program being built */
    const asyncapi_schema_resolver *resolver; /* may be NULL */
    asyncapi_diag *diag;            /* may be NULL */
    int err;                        /* first error */
    ptrmap memo;                    /* cJSON node -> sc_node */
    ptrmap bases;                   /* cJSON node -> base URI (interned) */
    resource *res;                  /* $id resources and documents */
    size_t n_res, cap_res;
    char **strs;                    /* interned base URIs, owned */
    size_t n_strs, cap_strs;
    sc_node **pend;                 /* $ref nodes waiting for their target */
    size_t n_pend, cap_pend;
    cJSON *meta;                    /* parsed bundled meta-schema, owned */
    const char *root_doc;           /* URI of the document compiled (interned) */
} cc;

/* ---- small helpers ---------------------------------------------------- */

static int cc_fail(cc *c, int err, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int cc_fail(cc *c, int err, const char *pointer, const char *fmt, ...)
{
    va_list ap;

    if (c->err)
        return c->err;
    c->err = err;
    if (c->diag) {
        memset(c->diag, 0, sizeof(*c->diag));
        if (pointer)
            snprintf(c->diag->pointer, sizeof(c->diag->pointer), "%s", pointer);
        va_start(ap, fmt);
        vsnprintf(c->diag->message, sizeof(c->diag->message), fmt, ap);
        va_end(ap);
    }
    return err;
}

static int nomem(cc *c)
{
    return cc_fail(c, ASYNCAPI_ENOMEM, NULL, "out of memory");
}

static char *dupn(const char *s, size_t n)
{
    char *r = malloc(n + 1);

    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static size_t ptr_hash(const void *p)
{
    uintptr_t v = (uintptr_t)p;

    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull & UINTPTR_MAX;
    return (size_t)(v ^ (v >> 29));
}

static void *ptrmap_get(const ptrmap *m, const void *k)
{
    if (!m->cap)
        return NULL;
    for (size_t i = ptr_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k)
            return m->vals[i];
        if (!m->keys[i])
            return NULL;
    }
}

static int ptrmap_put(ptrmap *m, const void *k, void *v)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        const void **nk = calloc(ncap, sizeof(*nk));
        void **nv = calloc(ncap, sizeof(*nv));

        if (!nk || !nv) {
            free(nk);
            free(nv);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = ptr_hash(m->keys[i]) & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    for (size_t i = ptr_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k) {
            m->vals[i] = v;
            return 0;
        }
        if (!m->keys[i]) {
            m->keys[i] = k;
            m->vals[i] = v;
            m->n++;
            return 0;
        }
    }
}

static void ptrmap_release(ptrmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* Interns a string; returns the shared copy or NULL (ENOMEM set). */
static const char *intern(cc *c, const char *s)
{
    for (size_t i = 0; i < c->n_strs; i++)
        if (strcmp(c->strs[i], s) == 0)
            return c->strs[i];
    if (c->n_strs == c->cap_strs) {
        size_t ncap = c->cap_strs ? c->cap_strs * 2 : 16;
        char **n = realloc(c->strs, ncap * sizeof(*n));

        if (!n) {
            nomem(c);
            return NULL;
        }
        c->strs = n;
        c->cap_strs = ncap;
    }
    c->strs[c->n_strs] = strdup(s);
    if (!c->strs[c->n_strs]) {
        nomem(c);
        return NULL;
    }
    return c->strs[c->n_strs++];
}

/* ---- RFC 3986 references ---------------------------------------------- */

typedef struct uparts {
    const char *scheme; size_t scheme_len; int has_scheme;
    const char *auth; size_t auth_len; int has_auth;
    const char *path; size_t path_len;
    const char *query; size_t query_len; int has_query;
    const char *frag; size_t frag_len; int has_frag;
} uparts;

static void uri_parse(const char *s, uparts *u)
{
    const char *p = s;

    memset(u, 0, sizeof(*u));
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
        const char *q = p;

        while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
               (*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.')
            q++;
        if (*q == ':') {
            u->has_scheme = 1;
            u->scheme = p;
            u->scheme_len = (size_t)(q - p);
            p = q + 1;
        }
    }
    if (p[0] == '/' && p[1] == '/') {
        const char *q = p + 2;

        while (*q && *q != '/' && *q != '?' && *q != '#')
            q++;
        u->has_auth = 1;
        u->auth = p + 2;
        u->auth_len = (size_t)(q - p - 2);
        p = q;
    }
    u->path = p;
    while (*p && *p != '?' && *p != '#')
        p++;
    u->path_len = (size_t)(p - u->path);
    if (*p == '?') {
        const char *q = ++p;

        while (*p && *p != '#')
            p++;
        u->has_query = 1;
        u->query = q;
        u->query_len = (size_t)(p - q);
    }
    if (*p == '#') {
        u->has_frag = 1;
        u->frag = p + 1;
        u->frag_len = strlen(p + 1);
    }
}

typedef struct sbuf {
    char *s;     /* NUL-terminated text, owned */
    size_t n;    /* length */
    size_t cap;  /* allocated */
    int oom;     /* an append failed */
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t ncap = (b->n + n + 1) * 2;
        char *ns = realloc(b->s, ncap);

        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* RFC 3986 5.2.4 on path[0..n), appended to out. */
static void remove_dots(sbuf *out, const char *path, size_t n)
{
    char *in = dupn(path, n), *p;
    size_t base = out->n;

    if (!in) {
        out->oom = 1;
        return;
    }
    p = in;
    while (*p) {
        if (strncmp(p, "../", 3) == 0) {
            p += 3;
        } else if (strncmp(p, "./", 2) == 0) {
            p += 2;
        } else if (strncmp(p, "/./", 3) == 0) {
            p += 2;
        } else if (strcmp(p, "/.") == 0) {
            p[1] = '\0';
        } else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
            if (p[3] == '/')
                p += 3;
            else {
                p += 2;
                *p = '/';
            }
            while (out->n > base && out->s[out->n - 1] != '/')
                out->n--;
            if (out->n > base)
                out->n--;
            if (out->s)
                out->s[out->n] = '\0';
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            break;
        } else {
            char *q = p + (*p == '/');

            while (*q && *q != '/')
                q++;
            sb_add(out, p, (size_t)(q - p));
            p = q;
        }
    }
    free(in);
}

/* Resolves ref against base (RFC 3986 5.2.2); returns a new string or NULL. */
static char *uri_resolve(const char *base, const char *ref)
{
    uparts b, r;
    sbuf o = {0};

    uri_parse(base, &b);
    uri_parse(ref, &r);
    sb_add(&o, "", 0);
    if (r.has_scheme) {
        sb_add(&o, r.scheme, r.scheme_len);
        sb_add(&o, ":", 1);
        if (r.has_auth) {
            sb_add(&o, "//", 2);
            sb_add(&o, r.auth, r.auth_len);
        }
        remove_dots(&o, r.path, r.path_len);
        if (r.has_query) {
            sb_add(&o, "?", 1);
            sb_add(&o, r.query, r.query_len);
        }
    } else {
        if (b.has_scheme) {
            sb_add(&o, b.scheme, b.scheme_len);
            sb_add(&o, ":", 1);
        }
        if (r.has_auth) {
            sb_add(&o, "//", 2);
            sb_add(&o, r.auth, r.auth_len);
            remove_dots(&o, r.path, r.path_len);
            if (r.has_query) {
                sb_add(&o, "?", 1);
                sb_add(&o, r.query, r.query_len);
            }
        } else {
            if (b.has_auth) {
                sb_add(&o, "//", 2);
                sb_add(&o, b.auth, b.auth_len);
            }
            if (r.path_len == 0) {
                sb_add(&o, b.path, b.path_len);
                if (r.has_query) {
                    sb_add(&o, "?", 1);
                    sb_add(&o, r.query, r.query_len);
                } else if (b.has_query) {
                    sb_add(&o, "?", 1);
                    sb_add(&o, b.query, b.query_len);
                }
            } else {
                if (r.path[0] == '/') {
                    remove_dots(&o, r.path, r.path_len);
                } else {
                    sbuf m = {0};
                    size_t keep = 0;

                    if (b.has_auth && b.path_len == 0) {
                        sb_add(&m, "/", 1);
                    } else {
                        for (size_t i = 0; i < b.path_len; i++)
                            if (b.path[i] == '/')
                                keep = i + 1;
                        sb_add(&m, b.path, keep);
                    }
                    sb_add(&m, r.path, r.path_len);
                    if (m.oom || !m.s)
                        o.oom = 1;
                    else if (b.has_scheme && !b.has_auth && m.s[0] != '/')
                        sb_add(&o, m.s, m.n); /* urn-like: no dot removal */
                    else
                        remove_dots(&o, m.s, m.n);
                    free(m.s);
                }
                if (r.has_query) {
                    sb_add(&o, "?", 1);
                    sb_add(&o, r.query, r.query_len);
                }
            }
        }
    }
    if (r.has_frag && r.frag_len) {
        sb_add(&o, "#", 1);
        sb_add(&o, r.frag, r.frag_len);
    }
    if (o.oom) {
        free(o.s);
        return NULL;
    }
    return o.s;
}

/* Splits uri at '#': returns the document part (new string), *frag points into uri. */
static char *uri_doc(const char *uri, const char **frag)
{
    const char *h = strchr(uri, '#');

    *frag = h ? h + 1 : NULL;
    return dupn(uri, h ? (size_t)(h - uri) : strlen(uri));
}

/* ---- $id index -------------------------------------------------------- */

static const cJSON *res_find(const cc *c, const char *uri)
{
    for (size_t i = 0; i < c->n_res; i++)
        if (strcmp(c->res[i].uri, uri) == 0)
            return c->res[i].node;
    return NULL;
}

static int res_add(cc *c, const char *uri, const cJSON *node)
{
    if (res_find(c, uri))
        return 0; /* first one wins */
    if (c->n_res == c->cap_res) {
        size_t ncap = c->cap_res ? c->cap_res * 2 : 16;
        resource *n = realloc(c->res, ncap * sizeof(*n));

        if (!n)
            return nomem(c);
        c->res = n;
        c->cap_res = ncap;
    }
    c->res[c->n_res].uri = strdup(uri);
    if (!c->res[c->n_res].uri)
        return nomem(c);
    c->res[c->n_res].node = node;
    c->n_res++;
    return 0;
}

static int index_schema(cc *c, const cJSON *s, const char *base, unsigned depth);

static int index_map(cc *c, const cJSON *obj, const char *base, unsigned depth)
{
    const cJSON *m;

    if (!cJSON_IsObject(obj))
        return 0;
    cJSON_ArrayForEach(m, obj) {
        int rc = index_schema(c, m, base, depth);

        if (rc)
            return rc;
    }
    return 0;
}

static int index_list(cc *c, const cJSON *arr, const char *base, unsigned depth)
{
    const cJSON *m;

    if (!cJSON_IsArray(arr))
        return index_schema(c, arr, base, depth);
    cJSON_ArrayForEach(m, arr) {
        int rc = index_schema(c, m, base, depth);

        if (rc)
            return rc;
    }
    return 0;
}

/* Records the base URI of every subschema and the $id resources below s. */
static int index_schema(cc *c, const cJSON *s, const char *base, unsigned depth)
{
    static const char *const single[] = {
        "additionalItems", "additionalProperties", "contains", "propertyNames",
        "if", "then", "else", "not",
    };
    static const char *const maps[] = {
        "properties", "patternProperties", "definitions", "dependencies",
    };
    static const char *const lists[] = {"items", "allOf", "anyOf", "oneOf"};
    const cJSON *id, *m;
    int rc;

    if (!cJSON_IsObject(s) || depth > SC_MAX_SCHEMA_DEPTH || ptrmap_get(&c->bases, s))
        return 0;
    id = cJSON_GetObjectItemCaseSensitive(s, "$id");
    if (cJSON_IsString(id) && !cJSON_GetObjectItemCaseSensitive(s, "$ref")) {
        char *abs = uri_resolve(base, id->valuestring), *doc;
        const char *frag;

        if (!abs)
            return nomem(c);
        doc = uri_doc(abs, &frag);
        if (!doc) {
            free(abs);
            return nomem(c);
        }
        rc = res_add(c, frag && *frag ? abs : doc, s);
        if (!rc && (!frag || !*frag || id->valuestring[0] != '#'))
            rc = res_add(c, doc, s);
        if (!rc)
            base = intern(c, doc);
        free(abs);
        free(doc);
        if (rc || !base)
            return c->err ? c->err : nomem(c);
    }
    if (ptrmap_put(&c->bases, s, (void *)base))
        return nomem(c);
    for (size_t i = 0; i < sizeof(single) / sizeof(*single); i++) {
        m = cJSON_GetObjectItemCaseSensitive(s, single[i]);
        if (m && (rc = index_schema(c, m, base, depth + 1)))
            return rc;
    }
    for (size_t i = 0; i < sizeof(maps) / sizeof(*maps); i++) {
        m = cJSON_GetObjectItemCaseSensitive(s, maps[i]);
        if (m && (rc = index_map(c, m, base, depth + 1)))
            return rc;
    }
    for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
        m = cJSON_GetObjectItemCaseSensitive(s, lists[i]);
        if (m && (rc = index_list(c, m, base, depth + 1)))
            return rc;
    }
    return 0;
}

/* Finds or loads the document (or $id resource) at uri (no fragment). */
static const cJSON *load_doc(cc *c, const char *uri)
{
    const cJSON *d = res_find(c, uri);
    const char *base;

    if (d)
        return d;
    if (strcmp(uri, META_URI) == 0 && !c->meta) {
        /*
         * json_text, not cJSON_Parse: cJSON_Parse writes cJSON's global
         * error pointer, a data race when threads compile at once (schema.h
         * promises compile on any thread)
         */
        if (asyncapi_json__parse(asyncapi_schema__draft07_meta,
                                 strlen(asyncapi_schema__draft07_meta), NULL,
                                 SC_MAX_SCHEMA_DEPTH, &c->meta, NULL, NULL) != 0) {
            nomem(c);
            return NULL;
        }
        d = c->meta;
    } else if (c->resolver && c->resolver->fetch) {
        d = c->resolver->fetch(c->resolver->ctx, uri);
    }
    if (!d)
        return NULL;
    base = intern(c, uri);
    if (!base || res_add(c, uri, d) || index_schema(c, d, base, 0))
        return NULL;
    return d;
}

/* Evaluates a JSON pointer (already percent-decoded) on doc; NULL if absent. */
static const cJSON *pointer_eval(const cJSON *doc, const char *ptr)
{
    const cJSON *cur = doc;
    const char *p = ptr;
    char tok[512];

    if (*p != '\0' && *p != '/')
        return NULL;
    while (*p == '/' && cur) {
        long n;

        p++;
        if ((n = asyncapi__pointer_token(&p, tok, sizeof(tok))) < 0)
            return NULL;
        cur = asyncapi__pointer_child(cur, tok, (size_t)n);
    }
    return cur;
}

/* ---- compiling nodes --------------------------------------------------- */

static sc_node *compile_node(cc *c, const cJSON *s, const char *base,
                             const char *path, unsigned depth);

static char *path_join(const char *path, const char *key)
{
    sbuf b = {0};

    sb_add(&b, path, strlen(path));
    sb_add(&b, "/", 1);
    for (const char *k = key; *k; k++) {
        if (*k == '~')
            sb_add(&b, "~0", 2);
        else if (*k == '/')
            sb_add(&b, "~1", 2);
        else
            sb_add(&b, k, 1);
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static char *path_index(const char *path, const char *key, size_t i)
{
    char num[32];
    char *p1 = path_join(path, key), *r;

    if (!p1)
        return NULL;
    snprintf(num, sizeof(num), "%zu", i);
    r = path_join(p1, num);
    free(p1);
    return r;
}

static sc_node *sub(cc *c, const cJSON *s, const char *base, const char *path,
                    const char *key, unsigned depth)
{
    char *p = path_join(path, key);
    sc_node *n;

    if (!p) {
        nomem(c);
        return NULL;
    }
    n = compile_node(c, s, base, p, depth + 1);
    free(p);
    return n;
}

static sc_node *sub2(cc *c, const cJSON *s, const char *base, const char *path,
                     const char *key, const char *key2, unsigned depth)
{
    char *p = path_join(path, key);
    sc_node *n = NULL;

    if (!p) {
        nomem(c);
        return NULL;
    }
    n = sub(c, s, base, p, key2, depth);
    free(p);
    return n;
}

static int is_schema(const cJSON *v)
{
    return cJSON_IsObject(v) || cJSON_IsBool(v);
}

static int get_count(cc *c, const cJSON *v, const char *path, const char *kw, size_t *out)
{
    double d;

    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || floor(v->valuedouble) != v->valuedouble)
        return cc_fail(c, ASYNCAPI_EINVAL, path, "\"%s\" must be a non-negative integer", kw);
    d = v->valuedouble;
    *out = d >= 1e18 ? SIZE_MAX : (size_t)d;
    return 0;
}

static int schema_list(cc *c, const cJSON *v, const char *base, const char *path,
                       const char *kw, unsigned depth, sc_node ***out, size_t *n_out)
{
    size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
    const cJSON *m;

    if (!cJSON_IsArray(v) || n == 0)
        return cc_fail(c, ASYNCAPI_EINVAL, path, "\"%s\" must be a non-empty array of schemas", kw);
    *out = calloc(n, sizeof(**out));
    if (!*out)
        return nomem(c);
    *n_out = n;
    cJSON_ArrayForEach(m, v) {
        char *p = path_index(path, kw, i);

        if (!p)
            return nomem(c);
        (*out)[i] = compile_node(c, m, base, p, depth + 1);
        free(p);
        if (!(*out)[i])
            return c->err;
        i++;
    }
    return 0;
}

static int type_bit(const char *t)
{
    static const struct { const char *name; int bit; } names[] = {
        {"null", SC_T_NULL}, {"boolean", SC_T_BOOLEAN}, {"object", SC_T_OBJECT},
        {"array", SC_T_ARRAY}, {"number", SC_T_NUMBER}, {"string", SC_T_STRING},
        {"integer", SC_T_INTEGER},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (strcmp(names[i].name, t) == 0)
            return names[i].bit;
    return 0;
}

static int build_prop_table(cc *c, sc_node *n)
{
    size_t size = 4;

    while (size < n->n_props * 2)
        size *= 2;
    n->prop_table = malloc(size * sizeof(*n->prop_table));
    if (!n->prop_table)
        return nomem(c);
    for (size_t i = 0; i < size; i++)
        n->prop_table[i] = -1;
    n->prop_mask = (uint32_t)(size - 1);
    for (size_t i = 0; i < n->n_props; i++) {
        uint32_t j = n->props[i].hash & n->prop_mask;

        while (n->prop_table[j] >= 0)
            j = (j + 1) & n->prop_mask;
        n->prop_table[j] = (int32_t)i;
    }
    return 0;
}

static int compile_object_kw(cc *c, sc_node *n, const cJSON *s, const char *base,
                             const char *path, unsigned depth)
{
    const cJSON *v, *m;
    size_t i;

    if ((v = cJSON_GetObjectItemCaseSensitive(s, "properties"))) {
        if (!cJSON_IsObject(v))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"properties\" must be an object");
        n->has |= SC_H_OBJ;
        n->n_props = (size_t)cJSON_GetArraySize(v);
        n->props = calloc(n->n_props ? n->n_props : 1, sizeof(*n->props));
        if (!n->props)
            return nomem(c);
        i = 0;
        cJSON_ArrayForEach(m, v) {
            n->props[i].name = strdup(m->string);
            if (!n->props[i].name)
                return nomem(c);
            n->props[i].hash = fnv(m->string);
            n->props[i].schema = sub2(c, m, base, path, "properties", m->string, depth);
            if (!n->props[i].schema)
                return c->err;
            i++;
        }
        if (build_prop_table(c, n))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "patternProperties"))) {
        if (!cJSON_IsObject(v))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"patternProperties\" must be an object");
        n->has |= SC_H_OBJ;
        n->n_pprops = (size_t)cJSON_GetArraySize(v);
        n->pprops = calloc(n->n_pprops ? n->n_pprops : 1, sizeof(*n->pprops));
        if (!n->pprops)
            return nomem(c);
        i = 0;
        cJSON_ArrayForEach(m, v) {
            char err[256];

            n->pprops[i].re = asyncapi_schema__regex_compile(m->string, err, sizeof(err));
            if (!n->pprops[i].re)
                return cc_fail(c, ASYNCAPI_EINVAL, path,
                               "bad regex \"%s\" in patternProperties: %s", m->string, err);
            n->pprops[i].schema = sub2(c, m, base, path, "patternProperties", m->string, depth);
            if (!n->pprops[i].schema)
                return c->err;
            i++;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties"))) {
        n->has |= SC_H_OBJ;
        if (!(n->additional_props = sub(c, v, base, path, "additionalProperties", depth)))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "propertyNames"))) {
        n->has |= SC_H_OBJ;
        if (!(n->property_names = sub(c, v, base, path, "propertyNames", depth)))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "required"))) {
        if (!cJSON_IsArray(v))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"required\" must be an array of strings");
        n->has |= SC_H_OBJ;
        n->n_required = (size_t)cJSON_GetArraySize(v);
        n->required = calloc(n->n_required ? n->n_required : 1, sizeof(*n->required));
        if (!n->required)
            return nomem(c);
        i = 0;
        cJSON_ArrayForEach(m, v) {
            if (!cJSON_IsString(m))
                return cc_fail(c, ASYNCAPI_EINVAL, path, "\"required\" must be an array of strings");
            n->required[i].name = strdup(m->valuestring);
            if (!n->required[i].name)
                return nomem(c);
            n->required[i].prop = -1;
            for (size_t j = 0; j < n->n_props && j < 64; j++)
                if (strcmp(n->props[j].name, m->valuestring) == 0)
                    n->required[i].prop = (int)j;
            i++;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "dependencies"))) {
        if (!cJSON_IsObject(v))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"dependencies\" must be an object");
        n->has |= SC_H_OBJ;
        n->n_deps = (size_t)cJSON_GetArraySize(v);
        n->deps = calloc(n->n_deps ? n->n_deps : 1, sizeof(*n->deps));
        if (!n->deps)
            return nomem(c);
        i = 0;
        cJSON_ArrayForEach(m, v) {
            sc_dep *d = &n->deps[i++];

            d->name = strdup(m->string);
            if (!d->name)
                return nomem(c);
            if (cJSON_IsArray(m)) {
                const cJSON *r;
                size_t k = 0;

                d->n_req = (size_t)cJSON_GetArraySize(m);
                d->req = calloc(d->n_req ? d->n_req : 1, sizeof(*d->req));
                if (!d->req)
                    return nomem(c);
                cJSON_ArrayForEach(r, m) {
                    if (!cJSON_IsString(r))
                        return cc_fail(c, ASYNCAPI_EINVAL, path,
                                       "\"dependencies\" arrays must hold strings");
                    if (!(d->req[k++] = strdup(r->valuestring)))
                        return nomem(c);
                }
            } else {
                if (!(d->schema = sub2(c, m, base, path, "dependencies", m->string, depth)))
                    return c->err;
            }
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "minProperties"))) {
        n->has |= SC_H_OBJ;
        if (get_count(c, v, path, "minProperties", &n->min_props))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "maxProperties"))) {
        n->has |= SC_H_OBJ;
        if (get_count(c, v, path, "maxProperties", &n->max_props))
            return c->err;
    }
    return 0;
}

static int compile_array_kw(cc *c, sc_node *n, const cJSON *s, const char *base,
                            const char *path, unsigned depth)
{
    const cJSON *v;

    if ((v = cJSON_GetObjectItemCaseSensitive(s, "items"))) {
        n->has |= SC_H_ARR;
        if (cJSON_IsArray(v)) {
            size_t cnt = (size_t)cJSON_GetArraySize(v), i = 0;
            const cJSON *m;

            n->items_arr = calloc(cnt ? cnt : 1, sizeof(*n->items_arr));
            if (!n->items_arr)
                return nomem(c);
            n->n_items = cnt;
            cJSON_ArrayForEach(m, v) {
                char *p = path_index(path, "items", i);

                if (!p)
                    return nomem(c);
                n->items_arr[i] = compile_node(c, m, base, p, depth + 1);
                free(p);
                if (!n->items_arr[i++])
                    return c->err;
            }
            if ((v = cJSON_GetObjectItemCaseSensitive(s, "additionalItems")) &&
                !(n->additional_items = sub(c, v, base, path, "additionalItems", depth)))
                return c->err;
        } else if (!(n->items = sub(c, v, base, path, "items", depth))) {
            return c->err;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "contains"))) {
        n->has |= SC_H_ARR;
        if (!(n->contains = sub(c, v, base, path, "contains", depth)))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "minItems"))) {
        n->has |= SC_H_ARR;
        if (get_count(c, v, path, "minItems", &n->min_items))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "maxItems"))) {
        n->has |= SC_H_ARR;
        if (get_count(c, v, path, "maxItems", &n->max_items))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "uniqueItems"))) {
        if (!cJSON_IsBool(v))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"uniqueItems\" must be a boolean");
        if (cJSON_IsTrue(v)) {
            n->has |= SC_H_ARR;
            n->unique_items = 1;
        }
    }
    return 0;
}

static int compile_scalar_kw(cc *c, sc_node *n, const cJSON *s, const char *path)
{
    static const struct { const char *kw; unsigned bit; size_t off; } nums[] = {
        {"minimum", SC_H_MIN, offsetof(sc_node, minimum)},
        {"maximum", SC_H_MAX, offsetof(sc_node, maximum)},
        {"exclusiveMinimum", SC_H_XMIN, offsetof(sc_node, xminimum)},
        {"exclusiveMaximum", SC_H_XMAX, offsetof(sc_node, xmaximum)},
        {"multipleOf", SC_H_MULT, offsetof(sc_node, multiple_of)},
    };
    const cJSON *v;

    for (size_t i = 0; i < sizeof(nums) / sizeof(*nums); i++) {
        if (!(v = cJSON_GetObjectItemCaseSensitive(s, nums[i].kw)))
            continue;
        if (!cJSON_IsNumber(v))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"%s\" must be a number", nums[i].kw);
        if (nums[i].bit == SC_H_MULT && !(v->valuedouble > 0))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"multipleOf\" must be greater than 0");
        *(double *)(void *)((char *)n + nums[i].off) = v->valuedouble;
        n->has |= SC_H_NUM | nums[i].bit;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "minLength"))) {
        n->has |= SC_H_STR;
        if (get_count(c, v, path, "minLength", &n->min_length))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "maxLength"))) {
        n->has |= SC_H_STR;
        if (get_count(c, v, path, "maxLength", &n->max_length))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "pattern"))) {
        char err[256];

        if (!cJSON_IsString(v))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"pattern\" must be a string");
        n->has |= SC_H_STR;
        n->pattern = asyncapi_schema__regex_compile(v->valuestring, err, sizeof(err));
        if (!n->pattern)
            return cc_fail(c, ASYNCAPI_EINVAL, path, "bad regex \"%s\" in pattern: %s",
                           v->valuestring, err);
        if (!(n->pattern_src = strdup(v->valuestring)))
            return nomem(c);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "format"))) {
        if (!cJSON_IsString(v))
            return cc_fail(c, ASYNCAPI_EINVAL, path, "\"format\" must be a string");
        if (!(c->prog->flags & ASYNCAPI_SCHEMA_FORMAT_ANNOTATION)) {
            n->format = asyncapi_schema__format_id(v->valuestring, &n->format_name);
            if (n->format)
                n->has |= SC_H_STR;
        }
    }
    if (!(c->prog->flags & ASYNCAPI_SCHEMA_FORMAT_ANNOTATION)) {
        v = cJSON_GetObjectItemCaseSensitive(s, "contentMediaType");
        if (cJSON_IsString(v) && strcmp(v->valuestring, "application/json") == 0) {
            n->content_json = 1;
            n->has |= SC_H_STR;
        }
        v = cJSON_GetObjectItemCaseSensitive(s, "contentEncoding");
        if (cJSON_IsString(v) && strcmp(v->valuestring, "base64") == 0) {
            n->content_base64 = 1;
            n->has |= SC_H_STR;
        }
    }
    return 0;
}

static int compile_comb_kw(cc *c, sc_node *n, const cJSON *s, const char *base,
                           const char *path, unsigned depth)
{
    const cJSON *v;

    if ((v = cJSON_GetObjectItemCaseSensitive(s, "allOf"))) {
        n->has |= SC_H_COMB;
        if (schema_list(c, v, base, path, "allOf", depth, &n->all_of, &n->n_all_of))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "anyOf"))) {
        n->has |= SC_H_COMB;
        if (schema_list(c, v, base, path, "anyOf", depth, &n->any_of, &n->n_any_of))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "oneOf"))) {
        n->has |= SC_H_COMB;
        if (schema_list(c, v, base, path, "oneOf", depth, &n->one_of, &n->n_one_of))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "not"))) {
        n->has |= SC_H_COMB;
        if (!(n->not_ = sub(c, v, base, path, "not", depth)))
            return c->err;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "if"))) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "then");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "else");

        if (t || e) {
            n->has |= SC_H_COMB;
            if (!(n->if_ = sub(c, v, base, path, "if", depth)))
                return c->err;
            if (t && !(n->then_ = sub(c, t, base, path, "then", depth)))
                return c->err;
            if (e && !(n->else_ = sub(c, e, base, path, "else", depth)))
                return c->err;
        }
    }
    return 0;
}

static sc_node *compile_node(cc *c, const cJSON *s, const char *base,
                             const char *path, unsigned depth)
{
    sc_node *n = ptrmap_get(&c->memo, s);
    const cJSON *v;

    if (n)
        return n;
    if (c->err)
        return NULL;
    if (depth > SC_MAX_SCHEMA_DEPTH) {
        cc_fail(c, ASYNCAPI_EINVAL, path, "schema nests deeper than %d levels",
                SC_MAX_SCHEMA_DEPTH);
        return NULL;
    }
    if (!is_schema(s)) {
        cc_fail(c, ASYNCAPI_EINVAL, path, "a schema must be an object or a boolean");
        return NULL;
    }
    n = calloc(1, sizeof(*n));
    if (!n) {
        nomem(c);
        return NULL;
    }
    n->next_alloc = c->prog->nodes;
    c->prog->nodes = n;
    n->max_length = n->max_items = n->max_props = SIZE_MAX;
    if (!(n->path = strdup(path)) || ptrmap_put(&c->memo, s, n)) {
        nomem(c);
        return NULL;
    }
    if (cJSON_IsBool(s)) {
        n->kind = cJSON_IsTrue(s) ? 1 : 0;
        return n;
    }
    n->kind = 2;
    {
        const char *known = ptrmap_get(&c->bases, s);

        if (known) {
            base = known;
        } else if (!cJSON_GetObjectItemCaseSensitive(s, "$ref") &&
                   cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(s, "$id"))) {
            char *abs = uri_resolve(base, v->valuestring), *doc;
            const char *frag;

            if (!abs) {
                nomem(c);
                return NULL;
            }
            doc = uri_doc(abs, &frag);
            free(abs);
            if (!doc || !(base = intern(c, doc))) {
                free(doc);
                nomem(c);
                return NULL;
            }
            free(doc);
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "$ref"))) {
        if (!cJSON_IsString(v)) {
            cc_fail(c, ASYNCAPI_EINVAL, path, "\"$ref\" must be a string");
            return NULL;
        }
        n->ref_uri = uri_resolve(base, v->valuestring);
        if (!n->ref_uri) {
            nomem(c);
            return NULL;
        }
        if (c->n_pend == c->cap_pend) {
            size_t ncap = c->cap_pend ? c->cap_pend * 2 : 16;
            sc_node **np = realloc(c->pend, ncap * sizeof(*np));

            if (!np) {
                nomem(c);
                return NULL;
            }
            c->pend = np;
            c->cap_pend = ncap;
        }
        c->pend[c->n_pend++] = n;
        return n; /* draft-07: siblings of $ref are ignored */
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "type"))) {
        n->has |= SC_H_TYPE;
        if (cJSON_IsString(v)) {
            n->types = (unsigned)type_bit(v->valuestring);
            if (!n->types) {
                cc_fail(c, ASYNCAPI_EINVAL, path, "unknown type \"%s\"", v->valuestring);
                return NULL;
            }
        } else if (cJSON_IsArray(v)) {
            const cJSON *m;

            cJSON_ArrayForEach(m, v) {
                int b = cJSON_IsString(m) ? type_bit(m->valuestring) : 0;

                if (!b) {
                    cc_fail(c, ASYNCAPI_EINVAL, path, "\"type\" must hold type names");
                    return NULL;
                }
                n->types |= (unsigned)b;
            }
        } else {
            cc_fail(c, ASYNCAPI_EINVAL, path, "\"type\" must be a string or an array");
            return NULL;
        }
        if (n->types & SC_T_NUMBER)
            n->types |= SC_T_INTEGER;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        if (!cJSON_IsArray(v)) {
            cc_fail(c, ASYNCAPI_EINVAL, path, "\"enum\" must be an array");
            return NULL;
        }
        n->has |= SC_H_ENUM;
        if (!(n->enum_ = cJSON_Duplicate(v, 1))) {
            nomem(c);
            return NULL;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "const"))) {
        n->has |= SC_H_CONST;
        if (!(n->const_ = cJSON_Duplicate(v, 1))) {
            nomem(c);
            return NULL;
        }
    }
    if (compile_scalar_kw(c, n, s, path) ||
        compile_array_kw(c, n, s, base, path, depth) ||
        compile_object_kw(c, n, s, base, path, depth) ||
        compile_comb_kw(c, n, s, base, path, depth))
        return NULL;
    return n;
}

/* ---- $ref targets ------------------------------------------------------ */

static int resolve_pending(cc *c, sc_node *n)
{
    const char *frag, *tbase;
    char *doc = uri_doc(n->ref_uri, &frag), *dec = NULL, *path = NULL;
    const cJSON *d, *t = NULL;
    int rc = 0;

    if (!doc)
        return nomem(c);
    if (frag && *frag && *frag != '/') {
        /* location-independent identifier: uri#name */
        t = res_find(c, n->ref_uri);
        if (!t && load_doc(c, doc))
            t = res_find(c, n->ref_uri);
    } else {
        d = load_doc(c, doc);
        if (d) {
            rc = asyncapi__pct_decode(frag ? frag : "", frag ? strlen(frag) : 0, &dec);
            if (rc == ASYNCAPI_ENOMEM) {
                rc = nomem(c);
                goto out;
            }
            t = rc ? NULL : pointer_eval(d, dec); /* "%00": resolves to nothing */
            rc = 0;
        }
    }
    if (c->err) {
        rc = c->err;
        goto out;
    }
    if (!t) {
        rc = cc_fail(c, ASYNCAPI_EREF, n->path, "cannot resolve $ref \"%s\"", n->ref_uri);
        goto out;
    }
    tbase = ptrmap_get(&c->bases, t);
    if (!tbase && !(tbase = intern(c, doc))) {
        rc = c->err;
        goto out;
    }
    if (strcmp(doc, c->root_doc) == 0) {
        sbuf b = {0};

        sb_add(&b, "#", 1);
        sb_add(&b, dec ? dec : (frag ? frag : ""), strlen(dec ? dec : (frag ? frag : "")));
        if (b.oom) {
            free(b.s);
            rc = nomem(c);
            goto out;
        }
        path = b.s;
    } else if (!(path = strdup(n->ref_uri))) {
        rc = nomem(c);
        goto out;
    }
    n->ref = compile_node(c, t, tbase, path, 0);
    if (!n->ref)
        rc = c->err;
out:
    free(path);
    free(dec);
    free(doc);
    return rc;
}

/* ---- loop check: an in-place cycle (no instance descent) never ends ----- */

enum { MARK_NONE = 0, MARK_ACTIVE = 1, MARK_DONE = 2 };

static int loop_visit(cc *c, ptrmap *marks, sc_node *n, unsigned depth)
{
    uintptr_t m = (uintptr_t)ptrmap_get(marks, n);
    int rc = 0;

    if (m == MARK_DONE)
        return 0;
    if (m == MARK_ACTIVE)
        return cc_fail(c, ASYNCAPI_EREF, n->path,
                       "$ref loops without reaching a schema (at \"%s\")", n->path);
    if (depth > 20000)
        return cc_fail(c, ASYNCAPI_EINVAL, n->path, "schema too complex");
    if (ptrmap_put(marks, n, (void *)(uintptr_t)MARK_ACTIVE))
        return nomem(c);
#define VISIT(x) do { if ((x) && (rc = loop_visit(c, marks, (x), depth + 1))) return rc; } while (0)
    VISIT(n->ref);
    for (size_t i = 0; i < n->n_all_of; i++)
        VISIT(n->all_of[i]);
    for (size_t i = 0; i < n->n_any_of; i++)
        VISIT(n->any_of[i]);
    for (size_t i = 0; i < n->n_one_of; i++)
        VISIT(n->one_of[i]);
    VISIT(n->not_);
    VISIT(n->if_);
    VISIT(n->then_);
    VISIT(n->else_);
    for (size_t i = 0; i < n->n_deps; i++)
        VISIT(n->deps[i].schema);
#undef VISIT
    if (ptrmap_put(marks, n, (void *)(uintptr_t)MARK_DONE))
        return nomem(c);
    return 0;
}

/* ---- public ------------------------------------------------------------ */

void asyncapi_schema__node_free(sc_node *n)
{
    free(n->path);
    free(n->ref_uri);
    cJSON_Delete(n->enum_);
    cJSON_Delete(n->const_);
    pcre2_code_free(n->pattern);
    free(n->pattern_src);
    free(n->items_arr);
    for (size_t i = 0; i < n->n_props; i++)
        free(n->props[i].name);
    free(n->props);
    free(n->prop_table);
    for (size_t i = 0; i < n->n_pprops; i++)
        pcre2_code_free(n->pprops[i].re);
    free(n->pprops);
    for (size_t i = 0; i < n->n_required; i++)
        free(n->required[i].name);
    free(n->required);
    for (size_t i = 0; i < n->n_deps; i++) {
        free(n->deps[i].name);
        for (size_t k = 0; k < n->deps[i].n_req; k++)
            free(n->deps[i].req[k]);
        free(n->deps[i].req);
    }
    free(n->deps);
    free(n->all_of);
    free(n->any_of);
    free(n->one_of);
    free(n);
}

void asyncapi_schema_free(asyncapi_schema *schema)
{
    sc_node *n, *next;

    if (!schema)
        return;
    for (n = schema->nodes; n; n = next) {
        next = n->next_alloc;
        asyncapi_schema__node_free(n);
    }
    free(schema);
}

asyncapi_schema *asyncapi_schema_compile(const cJSON *schema, const char *base_uri,
                                         const asyncapi_schema_resolver *resolver,
                                         unsigned flags, asyncapi_diag *diag)
{
    cc c = {.resolver = resolver, .diag = diag};
    ptrmap marks = {0};
    const cJSON *doc_root = NULL;
    const char *base, *frag;
    char *doc = NULL;
    asyncapi_schema *prog;

    if (diag)
        memset(diag, 0, sizeof(*diag));
    if (!schema) {
        cc_fail(&c, ASYNCAPI_EINVAL, "", "no schema given");
        return NULL;
    }
    prog = calloc(1, sizeof(*prog));
    if (!prog) {
        nomem(&c);
        return NULL;
    }
    c.prog = prog;
    prog->flags = flags;
    doc = uri_doc(base_uri && *base_uri ? base_uri : DEFAULT_BASE, &frag);
    if (!doc || !(base = intern(&c, doc))) {
        nomem(&c);
        goto fail;
    }
    c.root_doc = base;
    if (resolver && resolver->fetch)
        doc_root = resolver->fetch(resolver->ctx, base);
    if (!doc_root)
        doc_root = schema;
    if (res_add(&c, base, doc_root) || index_schema(&c, doc_root, base, 0))
        goto fail;
    if (schema != doc_root && index_schema(&c, schema, base, 0))
        goto fail;
    prog->root = compile_node(&c, schema, base, "#", 0);
    if (!prog->root)
        goto fail;
    for (size_t i = 0; i < c.n_pend; i++)
        if (resolve_pending(&c, c.pend[i]))
            goto fail;
    if (loop_visit(&c, &marks, prog->root, 0))
        goto fail;
    for (sc_node *n = prog->nodes; n; n = n->next_alloc)
        if (loop_visit(&c, &marks, n, 0))
            goto fail;
    goto out;
fail:
    if (!c.err)
        nomem(&c);
    asyncapi_schema_free(prog);
    prog = NULL;
out:
    ptrmap_release(&marks);
    ptrmap_release(&c.memo);
    ptrmap_release(&c.bases);
    for (size_t i = 0; i < c.n_res; i++)
        free(c.res[i].uri);
    free(c.res);
    for (size_t i = 0; i < c.n_strs; i++)
        free(c.strs[i]);
    free(c.strs);
    free(c.pend);
    cJSON_Delete(c.meta);
    free(doc);
    return prog;
}
