/* SPDX-License-Identifier: MIT */
/*
 * Topic router (router.h) and asyncapi_topic_filter (asyncapi.h): a trie by
 * topic level. Each node has an open-addressing hash map of literal
 * children, a short list of prefix/suffix parameter children ("dev-{id}")
 * and one whole-level parameter child ("{id}"). Matching walks the topic
 * once, backtracking through parent pointers, so it needs no allocation and
 * no stack that grows with the topic. Rules: docs/asyncapi.md "Topic routing".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/router.h"

/*
 * Node kinds. A node's kind says which kind of child it is of its parent,
 * which is what backtracking needs to know to try the next alternative.
 *
 *   kind          matches a topic level             priority when several match
 *   ----------    -------------------------------   ---------------------------
 *   NODE_LITERAL  equal bytes                       1 (tried first)
 *   NODE_AFFIX    prefix + non-empty middle + suffix 2 (longest prefix+suffix first)
 *   NODE_PARAM    any non-empty level               3 (tried last)
 */
enum node_kind {
    NODE_ROOT = 0,
    NODE_LITERAL,
    NODE_AFFIX,
    NODE_PARAM,
};

typedef struct rnode rnode;

/* A slot of a literal-children hash table; node NULL = empty. */
typedef struct lit_slot {
    uint64_t hash;        /* hash of node's label, compared before the label */
    rnode *node;          /* the child, or NULL */
} lit_slot;

/*
 * One trie node = one address level. Fields read by every match come first;
 * the label is inline so a literal compare costs no extra pointer chase.
 */
struct rnode {
    lit_slot *lit;        /* hash table of literal children, NULL if none */
    size_t lit_mask;      /* table size - 1 (size a power of two), 0 if no table */
    rnode **affix;        /* affix children, longest prefix+suffix first */
    size_t n_affix;       /* entries used in affix */
    rnode *param;         /* the "{name}" child, or NULL */
    rnode *parent;        /* NULL for the root */
    size_t label_len;     /* LITERAL: bytes of label */
    size_t prefix_len;    /* AFFIX: bytes of the prefix (label[0..prefix_len)) */
    size_t suffix_len;    /* AFFIX: bytes of the suffix (after the prefix) */
    size_t param_index;   /* AFFIX/PARAM: index of its value in the match */
    size_t slot;          /* NODE_AFFIX: index in parent->affix */
    enum node_kind kind;  /* which kind of child this is of parent */
    int has_value;        /* an address ends here */
    void *value;          /* borrowed value of that address */
    char **names;         /* its parameter names in address order, owned */
    size_t n_names;       /* entries in names */
    size_t lit_count;     /* literal children */
    rnode *all_next;      /* next node in the router's list of every node */
    char label[];         /* LITERAL: the level; AFFIX: prefix then suffix; NUL-terminated */
};

struct asyncapi_router {
    rnode *root;          /* level 0; kind NODE_ROOT, label empty */
    rnode *all;           /* every other node, for freeing without recursion */
    size_t count;         /* addresses added */
};

/* One parsed level of an address being added. */
typedef struct addr_level {
    const char *text;     /* start of the level in the address */
    size_t len;           /* bytes in the level */
    int is_param;         /* holds one {name} */
    size_t prefix_len;    /* bytes before '{' */
    size_t suffix_len;    /* bytes after '}' */
    const char *name;     /* the name between the braces */
    size_t name_len;      /* its length */
} addr_level;

/*
 * Level hash: a rotate-xor step per byte (a one-cycle dependency chain, so
 * hashing keeps up with scanning for '/') and a murmur3 finalizer to spread
 * the bits. Keys come from the spec, not from devices, so flooding is not a
 * concern; a collision only costs a memcmp.
 */
#define ROUTER_HASH_SEED 0x9e3779b97f4a7c15ull
#define ROUTER_HASH_STEP(h, c) ((((h) << 7) | ((h) >> 57)) ^ (unsigned char)(c))

static uint64_t router_hash_final(uint64_t h, size_t len)
{
    h ^= (uint64_t)len;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static uint64_t router_hash(const char *s, size_t len)
{
    uint64_t h = ROUTER_HASH_SEED;

    for (size_t i = 0; i < len; i++)
        h = ROUTER_HASH_STEP(h, s[i]);
    return router_hash_final(h, len);
}

static char *router_strndup(const char *s, size_t len)
{
    char *p = malloc(len + 1);

    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void node_release(rnode *n)
{
    free(n->lit);
    free(n->affix);
    for (size_t i = 0; i < n->n_names; i++)
        free(n->names[i]);
    free(n->names);
}

asyncapi_router *asyncapi_router_new(void)
{
    asyncapi_router *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->root = calloc(1, sizeof(rnode) + 1);
    if (!r->root) {
        free(r);
        return NULL;
    }
    r->root->kind = NODE_ROOT;
    return r;
}

void asyncapi_router_free(asyncapi_router *r)
{
    rnode *n, *next;

    if (!r)
        return;
    for (n = r->all; n; n = next) {
        next = n->all_next;
        node_release(n);
        free(n);
    }
    if (r->root)
        node_release(r->root);
    free(r->root);
    free(r);
}

size_t asyncapi_router_count(const asyncapi_router *r)
{
    return r ? r->count : 0;
}

/*
 * Splits one level of an address. Returns 0 or EINVAL for '+' '#' NUL,
 * unbalanced or nested braces, an empty name, or two parameters.
 */
static int parse_level(const char *text, size_t len, addr_level *out)
{
    const char *open = NULL, *close = NULL;

    memset(out, 0, sizeof(*out));
    out->text = text;
    out->len = len;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (c == '+' || c == '#' || c == '\0')
            return ASYNCAPI_EINVAL;
        if (c == '{') {
            if (open)
                return ASYNCAPI_EINVAL; /* nested, or a second parameter */
            open = text + i;
        } else if (c == '}') {
            if (!open || close)
                return ASYNCAPI_EINVAL;
            close = text + i;
        }
    }
    if (open && !close)
        return ASYNCAPI_EINVAL;
    if (!open)
        return 0;
    if (close == open + 1)
        return ASYNCAPI_EINVAL; /* "{}" */
    out->is_param = 1;
    out->prefix_len = (size_t)(open - text);
    out->suffix_len = len - (size_t)(close - text) - 1;
    out->name = open + 1;
    out->name_len = (size_t)(close - open) - 1;
    return 0;
}

static rnode *lit_find(const rnode *n, const char *s, size_t len, uint64_t h)
{
    if (!n->lit)
        return NULL;
    for (size_t i = (size_t)h & n->lit_mask;; i = (i + 1) & n->lit_mask) {
        const lit_slot *e = &n->lit[i];

        if (!e->node)
            return NULL;
        if (e->hash == h && e->node->label_len == len &&
            memcmp(e->node->label, s, len) == 0)
            return e->node;
    }
}

static void lit_place(lit_slot *table, size_t mask, rnode *c, uint64_t h)
{
    size_t i = (size_t)h & mask;

    while (table[i].node)
        i = (i + 1) & mask;
    table[i].hash = h;
    table[i].node = c;
}

/* Inserts c (hash h) into n's literal table, growing it at half load. 0 or ENOMEM. */
static int lit_insert(rnode *n, rnode *c, uint64_t h)
{
    size_t size = n->lit ? n->lit_mask + 1 : 0;

    if ((n->lit_count + 1) * 2 > size) {
        size_t new_size = size ? size * 2 : 4;
        lit_slot *t = calloc(new_size, sizeof(*t));

        if (!t)
            return ASYNCAPI_ENOMEM;
        for (size_t i = 0; i < size; i++)
            if (n->lit[i].node)
                lit_place(t, new_size - 1, n->lit[i].node, n->lit[i].hash);
        free(n->lit);
        n->lit = t;
        n->lit_mask = new_size - 1;
    }
    lit_place(n->lit, n->lit_mask, c, h);
    n->lit_count++;
    return 0;
}

/* Returns a new node linked into r's list, or NULL. */
static rnode *node_new(asyncapi_router *r, rnode *parent, enum node_kind kind,
                       size_t param_index, size_t label_size)
{
    rnode *c = calloc(1, sizeof(*c) + label_size + 1);

    if (!c)
        return NULL;
    c->parent = parent;
    c->kind = kind;
    c->param_index = param_index;
    c->all_next = r->all;
    r->all = c;
    return c;
}

/*
 * Finds or creates the child of n for level lv. *n_params counts the
 * parameters on the path so far and is advanced for parameter levels.
 * Returns the child or NULL (out of memory).
 */
static rnode *child_get(asyncapi_router *r, rnode *n, const addr_level *lv,
                        size_t *n_params)
{
    rnode *c;

    if (!lv->is_param) {
        uint64_t h = router_hash(lv->text, lv->len);

        c = lit_find(n, lv->text, lv->len, h);
        if (c)
            return c;
        c = node_new(r, n, NODE_LITERAL, 0, lv->len);
        if (!c)
            return NULL;
        memcpy(c->label, lv->text, lv->len);
        c->label_len = lv->len;
        if (lit_insert(n, c, h) != 0)
            return NULL;
        return c;
    }

    if (lv->prefix_len == 0 && lv->suffix_len == 0) {
        if (!n->param) {
            n->param = node_new(r, n, NODE_PARAM, *n_params, 0);
            if (!n->param)
                return NULL;
        }
        (*n_params)++;
        return n->param;
    }

    /* Affix: same prefix and suffix is the same node. */
    const char *suffix = lv->text + lv->len - lv->suffix_len;
    size_t pos = n->n_affix;

    for (size_t i = 0; i < n->n_affix; i++) {
        rnode *a = n->affix[i];

        if (a->prefix_len == lv->prefix_len && a->suffix_len == lv->suffix_len &&
            memcmp(a->label, lv->text, lv->prefix_len) == 0 &&
            memcmp(a->label + a->prefix_len, suffix, lv->suffix_len) == 0) {
            (*n_params)++;
            return a;
        }
        if (pos == n->n_affix &&
            a->prefix_len + a->suffix_len < lv->prefix_len + lv->suffix_len)
            pos = i;
    }
    rnode **grown = realloc(n->affix, (n->n_affix + 1) * sizeof(*grown));

    if (!grown)
        return NULL;
    n->affix = grown;
    c = node_new(r, n, NODE_AFFIX, *n_params, lv->prefix_len + lv->suffix_len);
    if (!c)
        return NULL;
    memcpy(c->label, lv->text, lv->prefix_len);
    memcpy(c->label + lv->prefix_len, suffix, lv->suffix_len);
    c->label[lv->prefix_len + lv->suffix_len] = '\0';
    c->prefix_len = lv->prefix_len;
    c->suffix_len = lv->suffix_len;
    memmove(n->affix + pos + 1, n->affix + pos, (n->n_affix - pos) * sizeof(*grown));
    n->affix[pos] = c;
    n->n_affix++;
    for (size_t i = pos; i < n->n_affix; i++)
        n->affix[i]->slot = i;
    (*n_params)++;
    return c;
}

/* Checks the whole address before touching the trie. 0 or EINVAL. */
static int address_check(const char *address, size_t *n_params)
{
    size_t len, start = 0, params = 0;

    len = strlen(address);
    if (len == 0 || len > ASYNCAPI_ROUTE_MAX_TOPIC || address[0] == '$')
        return ASYNCAPI_EINVAL;
    for (;;) {
        const char *slash = memchr(address + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - address) : len;
        addr_level lv;

        if (parse_level(address + start, end - start, &lv) != 0)
            return ASYNCAPI_EINVAL;
        if (lv.is_param && ++params > ASYNCAPI_ROUTE_MAX_PARAMS)
            return ASYNCAPI_EINVAL;
        if (!slash)
            break;
        start = end + 1;
    }
    *n_params = params;
    return 0;
}

int asyncapi_router_add(asyncapi_router *r, const char *address, void *value)
{
    size_t len, start = 0, n_params = 0, total;
    rnode *n;
    char **names = NULL;
    int rc;

    if (!r || !address)
        return ASYNCAPI_EINVAL;
    rc = address_check(address, &total);
    if (rc != 0)
        return rc;
    len = strlen(address);
    names = calloc(total ? total : 1, sizeof(*names));
    if (!names)
        return ASYNCAPI_ENOMEM;

    /*
     * Nodes created before a failure stay in the trie: they carry no value,
     * so they never match, and the router frees them.
     */
    n = r->root;
    for (;;) {
        const char *slash = memchr(address + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - address) : len;
        addr_level lv;

        (void)parse_level(address + start, end - start, &lv); /* checked above */
        if (lv.is_param) {
            names[n_params] = router_strndup(lv.name, lv.name_len);
            if (!names[n_params]) {
                rc = ASYNCAPI_ENOMEM;
                goto fail;
            }
        }
        n = child_get(r, n, &lv, &n_params);
        if (!n) {
            rc = ASYNCAPI_ENOMEM;
            goto fail;
        }
        if (!slash)
            break;
        start = end + 1;
    }
    if (n->has_value) {
        rc = ASYNCAPI_EEXIST;
        goto fail;
    }
    n->has_value = 1;
    n->value = value;
    n->names = names;
    n->n_names = total;
    r->count++;
    return 0;

fail:
    for (size_t i = 0; i < total; i++)
        free(names[i]);
    free(names);
    return rc;
}

/*
 * Next child of n that matches the level s[0..len) (hash h), after prev
 * (NULL: the first). Order: literal, affixes (most specific first), parameter.
 */
static const rnode *next_child(const rnode *n, const char *s, size_t len,
                               uint64_t h, const rnode *prev)
{
    size_t i = 0;

    if (!prev) {
        const rnode *c = lit_find(n, s, len, h);

        if (c)
            return c;
    } else if (prev->kind == NODE_AFFIX) {
        i = prev->slot + 1;
    } else if (prev->kind == NODE_PARAM) {
        return NULL;
    }
    for (; i < n->n_affix; i++) {
        const rnode *a = n->affix[i];

        if (len > a->prefix_len + a->suffix_len &&
            memcmp(s, a->label, a->prefix_len) == 0 &&
            memcmp(s + len - a->suffix_len, a->label + a->prefix_len,
                   a->suffix_len) == 0)
            return a;
    }
    if (n->param && len > 0)
        return n->param;
    return NULL;
}

/* Is c a byte no routable topic holds ('+' '#' NUL)? */
#define ROUTER_BAD_BYTE(c) ((c) == '+' || (c) == '#' || (c) == '\0')

/* Does s[0..len) hold no '+' '#' NUL? */
static int rest_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (ROUTER_BAD_BYTE(s[i]))
            return 0;
    return 1;
}

int asyncapi_router_match(const asyncapi_router *r, const char *topic, size_t len,
                          asyncapi_route_match *m)
{
    asyncapi_route_param vals[ASYNCAPI_ROUTE_MAX_PARAMS];
    const rnode *n, *prev = NULL;
    size_t start = 0; /* start of the level at n's depth; len + 1 = none left */
    size_t scanned = 0; /* topic[0..scanned) has been checked for '+' '#' NUL */

    if (!r || !topic || !m)
        return ASYNCAPI_EINVAL;
    /*
     * '+' '#' NUL are looked for while the levels are scanned; whatever the
     * walk did not reach is checked before answering ENOMATCH.
     */
    if (len == 0 || len > ASYNCAPI_ROUTE_MAX_TOPIC || topic[0] == '$')
        return ASYNCAPI_ETOPIC;

    n = r->root;
    for (;;) {
        if (start > len) {
            if (n->has_value)
                break;
        } else {
            const char *s = topic + start;
            uint64_t h = ROUTER_HASH_SEED;
            size_t end = start;
            const rnode *c;

            /* Find the level's end and hash it in one pass (as router_hash). */
            while (end < len && topic[end] != '/') {
                if (ROUTER_BAD_BYTE(topic[end]))
                    return ASYNCAPI_ETOPIC;
                h = ROUTER_HASH_STEP(h, topic[end]);
                end++;
            }
            if (end > scanned)
                scanned = end;
            c = next_child(n, s, end - start, router_hash_final(h, end - start), prev);

            if (c) {
                if (c->kind != NODE_LITERAL) {
                    vals[c->param_index].value = s + c->prefix_len;
                    vals[c->param_index].len =
                        end - start - c->prefix_len - c->suffix_len;
                }
                n = c;
                prev = NULL;
                start = end + 1;
                continue;
            }
        }
        /* Dead end: back to the parent, to try n's next sibling. */
        if (n == r->root)
            return rest_ok(topic + scanned, len - scanned) ? ASYNCAPI_ENOMATCH
                                                           : ASYNCAPI_ETOPIC;
        {
            size_t i = start - 1; /* end of the level n consumed */

            while (i > 0 && topic[i - 1] != '/')
                i--;
            start = i;
        }
        prev = n;
        n = n->parent;
    }

    m->value = n->value;
    m->n_params = n->n_names;
    for (size_t i = 0; i < n->n_names; i++) {
        m->params[i].name = n->names[i];
        m->params[i].value = vals[i].value;
        m->params[i].len = vals[i].len;
    }
    return 0;
}

int asyncapi_topic_filter(const char *address, char *buf, size_t size)
{
    size_t len, start = 0, out = 0;

    if (!address || (!buf && size > 0))
        return ASYNCAPI_EINVAL;
    len = strlen(address);
    if (len == 0)
        return ASYNCAPI_EINVAL; /* MQTT has no empty topic filter */
    if (len > ASYNCAPI_ROUTE_MAX_TOPIC)
        return ASYNCAPI_ELIMIT;
    for (;;) {
        const char *slash = memchr(address + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - address) : len;
        const char *piece = address + start;
        size_t piece_len = end - start;
        int depth = 0, has_param = 0;

        for (size_t i = start; i < end; i++) {
            char c = address[i];

            if (c == '+' || c == '#')
                return ASYNCAPI_EINVAL;
            if (c == '{') {
                if (depth++ != 0 || address[i + 1] == '}')
                    return ASYNCAPI_EINVAL;
                has_param = 1;
            } else if (c == '}') {
                if (depth-- != 1)
                    return ASYNCAPI_EINVAL;
            }
        }
        if (depth != 0)
            return ASYNCAPI_EINVAL;
        if (has_param) {
            piece = "+";
            piece_len = 1;
        }
        if (out + piece_len + (slash ? 1 : 0) >= size)
            return ASYNCAPI_ELIMIT;
        memcpy(buf + out, piece, piece_len);
        out += piece_len;
        if (!slash)
            break;
        buf[out++] = '/';
        start = end + 1;
    }
    buf[out] = '\0';
    return (int)out;
}
