/* SPDX-License-Identifier: MIT */
/*
 * YAML (libyaml event API) and JSON (cJSON) text into a cJSON tree, bounded
 * by asyncapi_parse_limits: size, nesting depth and nodes produced (alias
 * expansion included, checked before each copy, so alias bombs fail fast).
 * Scalar rule: YAML 1.2 core schema, see parse.h and docs/asyncapi.md.
 */
#include "asyncapi/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "asyncapi_int.h"
#include "json_text.h"

/* ---- small shared helpers ---- */

void asyncapi__diag_set(asyncapi_diag *diag, const char *file, int line, int column,
                        const char *pointer, const char *fmt, ...)
{
    va_list ap;

    if (!diag)
        return;
    memset(diag, 0, sizeof(*diag));
    if (file)
        snprintf(diag->file, sizeof(diag->file), "%s", file);
    diag->line = line;
    diag->column = column;
    if (pointer)
        snprintf(diag->pointer, sizeof(diag->pointer), "%s", pointer);
    va_start(ap, fmt);
    /* truncation of a diagnostic is acceptable (documented in error.h) */
    vsnprintf(diag->message, sizeof(diag->message), fmt, ap);
    va_end(ap);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int asyncapi__pct_decode(const char *s, size_t n, char **out)
{
    char *r = malloc(n + 1), *o = r;

    *out = NULL;
    if (!r)
        return ASYNCAPI_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int h, l;

        if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
            (l = hexval((unsigned char)s[i + 2])) >= 0) {
            if (h == 0 && l == 0) {
                free(r);
                return ASYNCAPI_EINVAL;
            }
            *o++ = (char)(h << 4 | l);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *out = r;
    return 0;
}

long asyncapi__pointer_token(const char **p, char *tok, size_t size)
{
    const char *q = *p;
    size_t n = 0;

    while (*q && *q != '/') {
        char ch = *q++;

        if (ch == '~') {
            if (*q != '0' && *q != '1')
                return -1;
            ch = *q++ == '0' ? '~' : '/';
        }
        if (n + 1 >= size)
            return -1;
        tok[n++] = ch;
    }
    tok[n] = '\0';
    *p = q;
    return (long)n;
}

const cJSON *asyncapi__pointer_child(const cJSON *node, const char *tok, size_t n)
{
    if (cJSON_IsObject(node))
        return cJSON_GetObjectItemCaseSensitive(node, tok);
    if (cJSON_IsArray(node) && n > 0 && n < 10 && strspn(tok, "0123456789") == n &&
        (n == 1 || tok[0] != '0'))
        return cJSON_GetArrayItem(node, atoi(tok));
    return NULL;
}

int asyncapi__pointer_append(char *buf, size_t size, const char *token)
{
    size_t len = strlen(buf);

    if (len + 1 >= size)
        return ASYNCAPI_ELIMIT;
    buf[len++] = '/';
    for (const char *p = token; *p; p++) {
        const char *esc = NULL;
        if (*p == '~')
            esc = "~0";
        else if (*p == '/')
            esc = "~1";
        if (esc) {
            if (len + 2 >= size)
                goto full;
            buf[len++] = esc[0];
            buf[len++] = esc[1];
        } else {
            if (len + 1 >= size)
                goto full;
            buf[len++] = *p;
        }
    }
    buf[len] = '\0';
    return 0;
full:
    buf[len] = '\0';
    return ASYNCAPI_ELIMIT;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int asyncapi__strset_add(asyncapi__strset *set, const char *s)
{
    size_t mask, i;

    if (set->n * 2 >= set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 16;
        const char **ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return ASYNCAPI_ENOMEM;
        for (size_t k = 0; k < set->cap; k++) {
            if (!set->slots[k])
                continue;
            i = str_hash(set->slots[k]) & (ncap - 1);
            while (ns[i])
                i = (i + 1) & (ncap - 1);
            ns[i] = set->slots[k];
        }
        free(set->slots);
        set->slots = ns;
        set->cap = ncap;
    }
    mask = set->cap - 1;
    i = str_hash(s) & mask;
    while (set->slots[i]) {
        if (strcmp(set->slots[i], s) == 0)
            return 1;
        i = (i + 1) & mask;
    }
    set->slots[i] = s;
    set->n++;
    return 0;
}

void asyncapi__strset_release(asyncapi__strset *set)
{
    free(set->slots);
    memset(set, 0, sizeof(*set));
}

/* ---- positions, UTF-8 ---- */

/* 1-based line and column (in code points) of byte offset off. */
static void offset_to_linecol(const char *buf, size_t len, size_t off, int *line, int *col)
{
    int l = 1, c = 1;

    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Returns the offset of the first invalid UTF-8 byte, or len if valid. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

static void limits_fill(asyncapi_parse_limits *out, const asyncapi_parse_limits *in)
{
    out->max_bytes = in && in->max_bytes ? in->max_bytes : ASYNCAPI_PARSE_MAX_BYTES_DEFAULT;
    out->max_depth = in && in->max_depth ? in->max_depth : ASYNCAPI_PARSE_MAX_DEPTH_DEFAULT;
    out->max_nodes = in && in->max_nodes ? in->max_nodes : ASYNCAPI_PARSE_MAX_NODES_DEFAULT;
}

/* ---- JSON ---- */

/* Walks a parsed JSON tree: counts nodes, checks depth and duplicate keys. */
static int json_check(const cJSON *node, unsigned depth, size_t *nodes,
                      const asyncapi_parse_limits *lim, const char *name, asyncapi_diag *diag)
{
    asyncapi__strset keys = {0};
    int rc = 0;

    if (++*nodes > lim->max_nodes) {
        asyncapi__diag_set(diag, name, 0, 0, NULL, "more than %zu nodes", lim->max_nodes);
        return ASYNCAPI_ELIMIT;
    }
    if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
        return 0;
    if (depth + 1 > lim->max_depth) {
        asyncapi__diag_set(diag, name, 0, 0, NULL, "nesting deeper than %u", lim->max_depth);
        return ASYNCAPI_ELIMIT;
    }
    for (const cJSON *c = node->child; c; c = c->next) {
        if (cJSON_IsObject(node)) {
            int r = asyncapi__strset_add(&keys, c->string);
            if (r < 0) {
                rc = r;
                goto out;
            }
            if (r == 1) {
                asyncapi__diag_set(diag, name, 0, 0, NULL, "duplicate key '%s'", c->string);
                rc = ASYNCAPI_ESYNTAX;
                goto out;
            }
        }
        rc = json_check(c, depth + 1, nodes, lim, name, diag);
        if (rc)
            goto out;
    }
out:
    asyncapi__strset_release(&keys);
    return rc;
}

/*
 * Nesting pre-scan so absurd depth is ELIMIT (with a position) rather than
 * cJSON's own nesting error or deep recursion in json_check.
 */
static int json_depth_scan(const char *buf, size_t len, unsigned max_depth, size_t *where)
{
    unsigned depth = 0;
    int in_str = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth) {
                *where = i;
                return ASYNCAPI_ELIMIT;
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

static cJSON *parse_json(const char *buf, size_t len, const char *name,
                         const asyncapi_parse_limits *lim, int *err, asyncapi_diag *diag)
{
    const char *msg = NULL;
    size_t where = 0, nodes = 0;
    int line, col, rc;
    cJSON *root;

    if (json_depth_scan(buf, len, lim->max_depth, &where)) {
        offset_to_linecol(buf, len, where, &line, &col);
        asyncapi__diag_set(diag, name, line, col, NULL, "nesting deeper than %u", lim->max_depth);
        *err = ASYNCAPI_ELIMIT;
        return NULL;
    }
    /*
     * json_text rather than cJSON_Parse*: those write cJSON's process-wide
     * error pointer, a data race when two threads parse. Duplicate keys are
     * left to json_check, which names the key.
     */
    if (len > 0 && buf[len - 1] == '\0')
        len--; /* a buffer that counts its terminating NUL */
    rc = asyncapi_json__parse_flags(buf, len, NULL, lim->max_depth, ASYNCAPI_JSON__DUP_KEYS_OK,
                                    &root, &where, &msg);
    if (rc) {
        offset_to_linecol(buf, len, where, &line, &col);
        if (rc == ASYNCAPI_ESYNTAX)
            asyncapi__diag_set(diag, name, line, col, NULL, "invalid JSON: %s", msg);
        else if (rc == ASYNCAPI_ELIMIT)
            asyncapi__diag_set(diag, name, line, col, NULL, "nesting deeper than %u", lim->max_depth);
        else
            asyncapi__diag_set(diag, name, 0, 0, NULL, "out of memory");
        *err = rc;
        return NULL;
    }
    rc = json_check(root, 0, &nodes, lim, name, diag);
    if (rc) {
        cJSON_Delete(root);
        *err = rc;
        return NULL;
    }
    return root;
}

int asyncapi_json_parse(const char *buf, size_t len, unsigned max_depth, cJSON **out)
{
    if (!out)
        return ASYNCAPI_EINVAL;
    *out = NULL;
    if (!buf && len)
        return ASYNCAPI_EINVAL;
    return asyncapi_json__parse(buf ? buf : "", len, NULL,
                                max_depth ? max_depth : ASYNCAPI_PARSE_MAX_DEPTH_DEFAULT, out,
                                NULL, NULL);
}

asyncapi_json_buf *asyncapi_json_buf_new(void)
{
    asyncapi_json_buf *b = malloc(sizeof(*b));

    if (b)
        asyncapi_json__arena_init(&b->arena, b->block.bytes, sizeof(b->block.bytes));
    return b;
}

void asyncapi_json_buf_free(asyncapi_json_buf *b)
{
    if (!b)
        return;
    asyncapi_json__arena_release(&b->arena);
    free(b);
}

asyncapi_json_arena *asyncapi_json__buf_reset(asyncapi_json_buf *b)
{
    asyncapi_json__arena_release(&b->arena); /* the previous tree's spill chunks */
    asyncapi_json__arena_init(&b->arena, b->block.bytes, sizeof(b->block.bytes));
    return &b->arena;
}

int asyncapi_json_parse_in(asyncapi_json_buf *b, const char *buf, size_t len,
                           unsigned max_depth, const cJSON **out)
{
    cJSON *root = NULL;
    int rc;

    if (!out)
        return ASYNCAPI_EINVAL;
    *out = NULL;
    if (!b || (!buf && len))
        return ASYNCAPI_EINVAL;
    rc = asyncapi_json__parse(buf ? buf : "", len, asyncapi_json__buf_reset(b),
                              max_depth ? max_depth : ASYNCAPI_PARSE_MAX_DEPTH_DEFAULT, &root,
                              NULL, NULL);
    if (rc == 0)
        *out = root;
    return rc;
}

/* ---- YAML ---- */

typedef struct yframe {
    cJSON *node;          /* the sequence or mapping being built */
    char *key;            /* mapping: key waiting for its value (owned), or NULL */
    int key_is_merge;     /* the pending key is the plain "<<" merge key */
    int key_line, key_col;
    char *anchor;         /* anchor of this collection (owned) or NULL */
    size_t nodes_at_start;
    unsigned subdepth;    /* depth of the deepest child subtree */
    asyncapi__strset keys;
    cJSON *merges;        /* array of mappings to merge at the end, or NULL */
} yframe;

typedef struct yanchor {
    char *name;           /* owned */
    const cJSON *node;    /* the anchored value, borrowed from the tree */
    size_t nodes;         /* nodes in it */
    unsigned depth;       /* its own depth (scalar 0) */
} yanchor;

typedef struct ybuild {
    asyncapi_parse_limits lim;
    const char *name;
    const char *buf;
    size_t len;
    asyncapi_diag *diag;
    size_t nodes;
    yframe *stack;
    size_t n_stack, cap_stack;
    yanchor *anchors;
    size_t n_anchors, cap_anchors;
    cJSON *graveyard;     /* merge sources and key anchors, freed at the end */
    cJSON *root;
    int n_docs;
} ybuild;

static int yerr(ybuild *b, int code, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int count_node(ybuild *b, size_t n, const yaml_mark_t *m);

static int yerr(ybuild *b, int code, const yaml_mark_t *m, const char *fmt, ...)
{
    va_list ap;
    char msg[400];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    asyncapi__diag_set(b->diag, b->name, m ? (int)m->line + 1 : 0, m ? (int)m->column + 1 : 0,
                       NULL, "%s", msg);
    return code;
}

static int count_nodes(const cJSON *n, unsigned *depth)
{
    int c = 1;
    unsigned d = 0;

    for (const cJSON *k = n->child; k; k = k->next) {
        unsigned kd = 0;
        c += count_nodes(k, &kd);
        if (kd + 1 > d)
            d = kd + 1;
    }
    *depth = d;
    return c;
}

static int is_plain_match(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

static int all_digits(const char *s, int (*ok)(int))
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!ok((unsigned char)*s))
            return 0;
    return 1;
}

static int is_dec(int c) { return c >= '0' && c <= '9'; }
static int is_oct(int c) { return c >= '0' && c <= '7'; }
static int is_hex(int c)
{
    return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* YAML 1.2 core float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_core_float(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (*s == '.') {
        s++;
        if (!is_dec(*s))
            return 0;
        while (is_dec(*s))
            s++;
    } else {
        if (!is_dec(*s))
            return 0;
        while (is_dec(*s))
            s++;
        if (*s == '.') {
            s++;
            while (is_dec(*s))
                s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!is_dec(*s))
            return 0;
        while (is_dec(*s))
            s++;
    }
    return *s == '\0';
}

static double radix_value(const char *s, int base)
{
    double v = 0;

    for (; *s; s++) {
        int d = is_dec(*s) ? *s - '0' : (*s | 0x20) - 'a' + 10;
        v = v * base + d;
    }
    return v;
}

/*
 * The value of a scalar: quoted or !!str-tagged -> string; plain -> the
 * YAML 1.2 core schema. Returns 0 with *out set, ESYNTAX for .nan, ENOMEM.
 */
static int yaml_scalar(ybuild *b, const yaml_event_t *ev, cJSON **out)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    const char *s = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    cJSON *v = NULL;

    if (strlen(s) != ev->data.scalar.length)
        return yerr(b, ASYNCAPI_ESYNTAX, &ev->start_mark, "NUL character in a scalar");
    if (tag && strcmp(tag, YAML_STR_TAG) == 0)
        plain = 0;
    if (tag && strcmp(tag, "!") == 0)
        plain = 0;
    if (!plain) {
        v = cJSON_CreateString(s);
    } else if (is_plain_match(s, nulls)) {
        v = cJSON_CreateNull();
    } else if (is_plain_match(s, trues)) {
        v = cJSON_CreateTrue();
    } else if (is_plain_match(s, falses)) {
        v = cJSON_CreateFalse();
    } else if (is_plain_match(s, nans)) {
        return yerr(b, ASYNCAPI_ESYNTAX, &ev->start_mark,
                    "'%s' is not a number JSON can hold", s);
    } else if (is_plain_match(s, infs)) {
        v = cJSON_CreateNumber(HUGE_VAL);
    } else if (is_plain_match(s, ninfs)) {
        v = cJSON_CreateNumber(-HUGE_VAL);
    } else if (s[0] == '0' && s[1] == 'o' && all_digits(s + 2, is_oct)) {
        v = cJSON_CreateNumber(radix_value(s + 2, 8));
    } else if (s[0] == '0' && s[1] == 'x' && all_digits(s + 2, is_hex)) {
        v = cJSON_CreateNumber(radix_value(s + 2, 16));
    } else if (is_core_float(s)) {
        v = cJSON_CreateNumber(strtod(s, NULL));
    } else {
        v = cJSON_CreateString(s);
    }
    if (!v)
        return ASYNCAPI_ENOMEM;
    *out = v;
    return 0;
}

/*
 * Remembers an anchor. node stays owned by the tree being built (or by the
 * graveyard), which only grows until the parse ends, so the pointer stays
 * valid; nodes/depth describe the subtree for the alias limits.
 */
static int anchor_add(ybuild *b, const char *name, const cJSON *node, size_t nodes,
                      unsigned depth)
{
    yanchor *a = NULL;

    for (size_t i = 0; i < b->n_anchors; i++)
        if (strcmp(b->anchors[i].name, name) == 0)
            a = &b->anchors[i]; /* redefined: later aliases see the new value */
    if (!a) {
        if (b->n_anchors == b->cap_anchors) {
            size_t ncap = b->cap_anchors ? b->cap_anchors * 2 : 16;
            yanchor *na = realloc(b->anchors, ncap * sizeof(*na));
            if (!na)
                return ASYNCAPI_ENOMEM;
            b->anchors = na;
            b->cap_anchors = ncap;
        }
        a = &b->anchors[b->n_anchors];
        if (!(a->name = strdup(name)))
            return ASYNCAPI_ENOMEM;
        b->n_anchors++;
    }
    a->node = node;
    a->nodes = nodes;
    a->depth = depth;
    return 0;
}

/* Keeps node alive (anchors may point into it) until the parse ends. */
static int graveyard_add(ybuild *b, cJSON *node)
{
    if (!b->graveyard && !(b->graveyard = cJSON_CreateArray())) {
        cJSON_Delete(node);
        return ASYNCAPI_ENOMEM;
    }
    cJSON_AddItemToArray(b->graveyard, node);
    return 0;
}

/*
 * Merges "<<" sources into the mapping of frame f: keys the mapping does not
 * have explicitly are copied in (counted as nodes). Sources are kept alive.
 */
static int merge_apply(ybuild *b, yframe *f, const yaml_mark_t *m)
{
    int rc = 0;

    for (cJSON *src = f->merges->child; src; src = src->next) {
        for (cJSON *it = src->child; it; it = it->next) {
            cJSON *d;
            unsigned depth;
            int r = asyncapi__strset_add(&f->keys, it->string);
            if (r < 0)
                return r;
            if (r == 1)
                continue; /* explicit keys, and earlier sources, win */
            if ((rc = count_node(b, (size_t)count_nodes(it, &depth), m)))
                return rc;
            if (!(d = cJSON_Duplicate(it, 1)))
                return ASYNCAPI_ENOMEM;
            cJSON_AddItemToArray(f->node, d); /* d keeps its copied key */
        }
    }
    return 0;
}

/* Adds a finished value (scalar, collection, alias copy) to the open parent. */
static int attach(ybuild *b, cJSON *v, const yaml_mark_t *m, unsigned vdepth)
{
    yframe *f;

    if (b->n_stack == 0) {
        if (b->root) {
            cJSON_Delete(v);
            return yerr(b, ASYNCAPI_ESYNTAX, m, "more than one root value");
        }
        b->root = v;
        return 0;
    }
    f = &b->stack[b->n_stack - 1];
    if (vdepth + 1 > f->subdepth)
        f->subdepth = vdepth + 1;
    if (cJSON_IsArray(f->node)) {
        cJSON_AddItemToArray(f->node, v);
        return 0;
    }
    /* mapping value */
    if (f->key_is_merge) {
        f->key_is_merge = 0;
        free(f->key);
        f->key = NULL;
        if (!f->merges && !(f->merges = cJSON_CreateArray())) {
            cJSON_Delete(v);
            return ASYNCAPI_ENOMEM;
        }
        if (cJSON_IsObject(v)) {
            cJSON_AddItemToArray(f->merges, v);
            return 0;
        }
        if (cJSON_IsArray(v)) {
            for (cJSON *c = v->child; c; c = c->next) {
                if (!cJSON_IsObject(c)) {
                    cJSON_Delete(v);
                    return yerr(b, ASYNCAPI_ESYNTAX, m, "merge key '<<' needs mappings");
                }
            }
            /*
             * The sequence may carry an anchor ("<<: &s [*a, *b]") and its
             * items may too: merge copies and keep v itself alive, since
             * freeing it would leave those anchors dangling (found by
             * fuzzing: tests/fuzz/regress/fuzz_parse/merge-seq-anchor-uaf.yaml).
             */
            for (cJSON *c = v->child; c; c = c->next) {
                cJSON *d = cJSON_Duplicate(c, 1);
                if (!d) {
                    cJSON_Delete(v);
                    return ASYNCAPI_ENOMEM;
                }
                cJSON_AddItemToArray(f->merges, d);
            }
            return graveyard_add(b, v);
        }
        cJSON_Delete(v);
        return yerr(b, ASYNCAPI_ESYNTAX, m, "merge key '<<' needs a mapping");
    }
    if (!f->key) {
        cJSON_Delete(v);
        return yerr(b, ASYNCAPI_ESYNTAX, m, "mapping keys must be scalars");
    }
    {
        int r;
        /* the item takes the key (malloc'd like cJSON's own keys) */
        v->string = f->key;
        f->key = NULL;
        cJSON_AddItemToArray(f->node, v);
        r = asyncapi__strset_add(&f->keys, v->string);
        if (r < 0)
            return r;
        if (r == 1) {
            yaml_mark_t km = {0, (size_t)f->key_line - 1, (size_t)f->key_col - 1};
            return yerr(b, ASYNCAPI_ESYNTAX, &km, "duplicate key '%s'", v->string);
        }
    }
    return 0;
}

/* The pending mapping frame wants a key: record it. */
static int want_key(ybuild *b)
{
    yframe *f;

    if (b->n_stack == 0)
        return 0;
    f = &b->stack[b->n_stack - 1];
    return cJSON_IsObject(f->node) && !f->key && !f->key_is_merge;
}

static int set_key(ybuild *b, const char *text, int plain, const yaml_mark_t *m)
{
    yframe *f = &b->stack[b->n_stack - 1];

    if (plain && strcmp(text, "<<") == 0) {
        f->key_is_merge = 1;
        return 0;
    }
    f->key = strdup(text);
    if (!f->key)
        return ASYNCAPI_ENOMEM;
    f->key_line = (int)m->line + 1;
    f->key_col = (int)m->column + 1;
    return 0;
}

static int count_node(ybuild *b, size_t n, const yaml_mark_t *m)
{
    if (n > b->lim.max_nodes || b->nodes > b->lim.max_nodes - n)
        return yerr(b, ASYNCAPI_ELIMIT, m, "more than %zu nodes (alias expansion included)",
                    b->lim.max_nodes);
    b->nodes += n;
    return 0;
}

static int on_event(ybuild *b, yaml_event_t *ev)
{
    int rc;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->n_docs > 1)
            return yerr(b, ASYNCAPI_ESYNTAX, &ev->start_mark,
                        "more than one YAML document in the stream");
        return 0;
    case YAML_SCALAR_EVENT: {
        cJSON *v = NULL;
        const char *text = (const char *)ev->data.scalar.value;
        const char *anchor = (const char *)ev->data.scalar.anchor;
        if (want_key(b)) {
            if (strlen(text) != ev->data.scalar.length)
                return yerr(b, ASYNCAPI_ESYNTAX, &ev->start_mark, "NUL character in a key");
            if (anchor) {
                cJSON *k = cJSON_CreateString(text);
                if (!k || (rc = graveyard_add(b, k)))
                    return ASYNCAPI_ENOMEM;
                if ((rc = anchor_add(b, anchor, k, 1, 0)))
                    return rc;
            }
            return set_key(b, text, ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE,
                           &ev->start_mark);
        }
        if ((rc = count_node(b, 1, &ev->start_mark)))
            return rc;
        if ((rc = yaml_scalar(b, ev, &v)))
            return rc;
        if (anchor && (rc = anchor_add(b, anchor, v, 1, 0))) {
            cJSON_Delete(v);
            return rc;
        }
        return attach(b, v, &ev->start_mark, 0);
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        yanchor *a = NULL;
        cJSON *v;
        for (size_t i = 0; i < b->n_anchors; i++)
            if (strcmp(b->anchors[i].name, name) == 0)
                a = &b->anchors[i];
        if (!a)
            return yerr(b, ASYNCAPI_ESYNTAX, &ev->start_mark, "unknown anchor '%s'", name);
        if (want_key(b)) {
            if (!cJSON_IsString(a->node))
                return yerr(b, ASYNCAPI_ESYNTAX, &ev->start_mark,
                            "mapping keys must be scalars");
            return set_key(b, a->node->valuestring, 0, &ev->start_mark);
        }
        if ((rc = count_node(b, a->nodes, &ev->start_mark)))
            return rc;
        if (b->n_stack + a->depth > b->lim.max_depth)
            return yerr(b, ASYNCAPI_ELIMIT, &ev->start_mark, "nesting deeper than %u",
                        b->lim.max_depth);
        v = cJSON_Duplicate(a->node, 1);
        if (!v)
            return ASYNCAPI_ENOMEM;
        /* the copy carries the anchored node's own key: drop it */
        free(v->string);
        v->string = NULL;
        return attach(b, v, &ev->start_mark, a->depth);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
                                           : ev->data.sequence_start.anchor;
        yframe *f;
        if (want_key(b))
            return yerr(b, ASYNCAPI_ESYNTAX, &ev->start_mark, "mapping keys must be scalars");
        if (b->n_stack + 1 > b->lim.max_depth)
            return yerr(b, ASYNCAPI_ELIMIT, &ev->start_mark, "nesting deeper than %u",
                        b->lim.max_depth);
        if ((rc = count_node(b, 1, &ev->start_mark)))
            return rc;
        if (b->n_stack == b->cap_stack) {
            size_t ncap = b->cap_stack ? b->cap_stack * 2 : 32;
            yframe *ns = realloc(b->stack, ncap * sizeof(*ns));
            if (!ns)
                return ASYNCAPI_ENOMEM;
            b->stack = ns;
            b->cap_stack = ncap;
        }
        f = &b->stack[b->n_stack];
        memset(f, 0, sizeof(*f));
        f->node = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
        if (!f->node)
            return ASYNCAPI_ENOMEM;
        if (anchor && !(f->anchor = strdup((const char *)anchor))) {
            cJSON_Delete(f->node);
            return ASYNCAPI_ENOMEM;
        }
        f->nodes_at_start = b->nodes;
        b->n_stack++;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        yframe f = b->stack[--b->n_stack];
        rc = 0;
        if (f.merges) {
            rc = merge_apply(b, &f, &ev->start_mark);
            if (graveyard_add(b, f.merges) && !rc)
                rc = ASYNCAPI_ENOMEM;
        }
        asyncapi__strset_release(&f.keys);
        free(f.key);
        if (!rc && f.anchor)
            rc = anchor_add(b, f.anchor, f.node, b->nodes - f.nodes_at_start, f.subdepth);
        free(f.anchor);
        if (rc) {
            cJSON_Delete(f.node);
            return rc;
        }
        return attach(b, f.node, &ev->start_mark, f.subdepth);
    }
    default:
        return 0;
    }
}

static void ybuild_release(ybuild *b)
{
    for (size_t i = 0; i < b->n_stack; i++) {
        cJSON_Delete(b->stack[i].node);
        cJSON_Delete(b->stack[i].merges);
        free(b->stack[i].key);
        free(b->stack[i].anchor);
        asyncapi__strset_release(&b->stack[i].keys);
    }
    free(b->stack);
    for (size_t i = 0; i < b->n_anchors; i++)
        free(b->anchors[i].name);
    free(b->anchors);
    cJSON_Delete(b->root);
    cJSON_Delete(b->graveyard);
}

static cJSON *parse_yaml(const char *buf, size_t len, const char *name,
                         const asyncapi_parse_limits *lim, int *err, asyncapi_diag *diag)
{
    yaml_parser_t parser;
    ybuild b;
    int rc = 0, done = 0;
    cJSON *root = NULL;

    memset(&b, 0, sizeof(b));
    b.lim = *lim;
    b.name = name;
    b.buf = buf;
    b.len = len;
    b.diag = diag;
    if (!yaml_parser_initialize(&parser)) {
        *err = ASYNCAPI_ENOMEM;
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = ASYNCAPI_ENOMEM;
            } else {
                int line = (int)parser.problem_mark.line + 1;
                int col = (int)parser.problem_mark.column + 1;
                if (parser.error == YAML_READER_ERROR)
                    offset_to_linecol(buf, len, parser.problem_offset, &line, &col);
                if (parser.context)
                    asyncapi__diag_set(diag, name, line, col, NULL, "%s %s started at %d:%d",
                                       parser.problem ? parser.problem : "invalid YAML",
                                       parser.context, (int)parser.context_mark.line + 1,
                                       (int)parser.context_mark.column + 1);
                else
                    asyncapi__diag_set(diag, name, line, col, NULL, "%s",
                                       parser.problem ? parser.problem : "invalid YAML");
                rc = ASYNCAPI_ESYNTAX;
            }
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc)
            break;
    }
    yaml_parser_delete(&parser);
    if (!rc && !b.root) {
        asyncapi__diag_set(diag, name, 1, 1, NULL, "empty document");
        rc = ASYNCAPI_ESYNTAX;
    }
    if (rc) {
        if (rc == ASYNCAPI_ENOMEM)
            asyncapi__diag_set(diag, name, 0, 0, NULL, "out of memory");
        *err = rc;
    } else {
        root = b.root;
        b.root = NULL;
    }
    ybuild_release(&b);
    return root;
}

/* ---- public ---- */

cJSON *asyncapi_parse_buffer(const char *buf, size_t len, const char *name,
                             const asyncapi_parse_limits *limits, int *err,
                             asyncapi_diag *diag)
{
    asyncapi_parse_limits lim;
    int e = 0, line, col;
    size_t bad, i = 0;
    cJSON *root = NULL;

    limits_fill(&lim, limits);
    if (!name)
        name = "<buffer>";
    if (!buf && len) {
        asyncapi__diag_set(diag, name, 0, 0, NULL, "no input");
        e = ASYNCAPI_EINVAL;
        goto out;
    }
    if (len > lim.max_bytes) {
        asyncapi__diag_set(diag, name, 0, 0, NULL, "input of %zu bytes exceeds the limit of %zu",
                           len, lim.max_bytes);
        e = ASYNCAPI_ELIMIT;
        goto out;
    }
    bad = utf8_check((const unsigned char *)buf, len);
    if (bad < len) {
        offset_to_linecol(buf, len, bad, &line, &col);
        asyncapi__diag_set(diag, name, line, col, NULL, "invalid UTF-8");
        e = ASYNCAPI_ESYNTAX;
        goto out;
    }
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i == len) {
        asyncapi__diag_set(diag, name, 1, 1, NULL, "empty document");
        e = ASYNCAPI_ESYNTAX;
        goto out;
    }
    if (buf[i] == '{' || buf[i] == '[') {
        /* positions stay relative to the whole buffer: pass it all, skip the BOM */
        size_t skip = buf[0] == '\xEF' ? 3 : 0;
        root = parse_json(buf + skip, len - skip, name, &lim, &e, diag);
    } else {
        root = parse_yaml(buf, len, name, &lim, &e, diag);
    }
out:
    if (!root && err)
        *err = e ? e : ASYNCAPI_ESYNTAX;
    return root;
}

cJSON *asyncapi_parse_file(const char *path, const asyncapi_parse_limits *limits,
                           int *err, asyncapi_diag *diag)
{
    asyncapi_parse_limits lim;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, e = 0;
    cJSON *root = NULL;

    limits_fill(&lim, limits);
    /*
     * O_NONBLOCK: opening a FIFO (a $ref can name any path) must not wait
     * for a writer; regular files read the same with it (found while
     * fuzzing the loader; test fuzz_regress__fifo_is_not_waited_for).
     */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        asyncapi__diag_set(diag, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
        e = ASYNCAPI_EIO;
        goto fail;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        asyncapi__diag_set(diag, path, 0, 0, NULL, "not a regular file");
        e = ASYNCAPI_EIO;
        goto fail_fd;
    }
    if ((unsigned long long)st.st_size > lim.max_bytes) {
        asyncapi__diag_set(diag, path, 0, 0, NULL, "file of %lld bytes exceeds the limit of %zu",
                           (long long)st.st_size, lim.max_bytes);
        e = ASYNCAPI_ELIMIT;
        goto fail_fd;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        e = ASYNCAPI_ENOMEM;
        goto fail_fd;
    }
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            asyncapi__diag_set(diag, path, 0, 0, NULL, "cannot read: %s", strerror(errno));
            e = ASYNCAPI_EIO;
            goto fail_buf;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    root = asyncapi_parse_buffer(buf, len, path, &lim, &e, diag);
fail_buf:
    free(buf);
fail_fd:
    close(fd);
fail:
    if (!root && err)
        *err = e;
    return root;
}
