/* SPDX-License-Identifier: MIT */
/*
 * $ref resolution for the loader: every file is parsed once (cached by
 * realpath); the main file is copied into a resolved tree where each $ref
 * object is replaced by a copy of its (resolved) target. A $ref back into a
 * node being expanded (a recursive schema) is kept as a $ref; a chain of
 * $refs that never reaches a value is EREF. Rules: docs/asyncapi.md.
 */
/* realpath() is XSI */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi_int.h"

#define REF_MAX_HOPS 64     /* $ref hops while resolving one reference */
#define REF_MAX_FILES 256   /* files one load may read */
#define REF_NOT_FOLLOWED 1  /* a non-file URI (http...), left as written */

typedef struct rctx {
    asyncapi_doc *doc;
    asyncapi__file *root;   /* the file whose resolved tree is built */
    const cJSON **stack;    /* raw nodes being expanded (ancestors) */
    size_t n_stack, cap_stack;
    asyncapi_diag *diag;
    char rawptr[512];       /* pointer of the current raw node in its file */
} rctx;

/* ---- strings, paths ---- */

/* "file://" + path, percent-encoding what a URI path may not hold. */
static char *path_to_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *uri = malloc(7 + n * 3 + 1), *o;

    if (!uri)
        return NULL;
    memcpy(uri, "file://", 7);
    o = uri + 7;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~!$&'()*+,;=:@", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return uri;
}

/* Has the reference a URI scheme ("http:", "urn:")? file: is not counted. */
static int has_scheme(const char *ref)
{
    const char *p = ref;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return 0;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    return *p == ':' && p - ref > 1; /* one letter: a Windows drive, not a scheme */
}

/* ---- files ---- */

asyncapi__file *asyncapi__file_get(asyncapi_doc *doc, const char *path, int *err,
                                   asyncapi_diag *diag)
{
    char real[PATH_MAX];
    asyncapi__file *f;
    size_t count = 0;

    if (!realpath(path, real)) {
        asyncapi__diag_set(diag, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
        *err = ASYNCAPI_EIO;
        return NULL;
    }
    for (f = doc->files; f; f = f->next, count++)
        if (strcmp(f->path, real) == 0)
            return f;
    if (count >= REF_MAX_FILES) {
        asyncapi__diag_set(diag, real, 0, 0, NULL, "more than %d files referenced",
                           REF_MAX_FILES);
        *err = ASYNCAPI_ELIMIT;
        return NULL;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        goto nomem;
    f->path = strdup(real);
    f->uri = path_to_uri(real);
    if (!f->path || !f->uri)
        goto nomem;
    f->raw = asyncapi_parse_file(real, &doc->limits, err, diag);
    if (!f->raw)
        goto fail;
    f->next = doc->files;
    doc->files = f;
    return f;
nomem:
    asyncapi__diag_set(diag, path, 0, 0, NULL, "out of memory");
    *err = ASYNCAPI_ENOMEM;
fail:
    if (f) {
        free(f->path);
        free(f->uri);
        free(f);
    }
    return NULL;
}

/* ---- pointers and references ---- */

static int resolve_ref(rctx *c, asyncapi__file *f, const char *ref, asyncapi__file **of,
                       const cJSON **onode, char *canon, size_t canon_size, int *hops);

/* Follows node while it is a {"$ref": "..."} object. */
static int follow(rctx *c, asyncapi__file **f, const cJSON **node, char *canon,
                  size_t canon_size, int *hops)
{
    for (;;) {
        const cJSON *r = cJSON_IsObject(*node) ? cJSON_GetObjectItemCaseSensitive(*node, "$ref")
                                               : NULL;
        int rc;
        if (!cJSON_IsString(r))
            return 0;
        if (++*hops > REF_MAX_HOPS) {
            asyncapi__diag_set(c->diag, (*f)->path, 0, 0, canon,
                               "$ref '%s' only loops, or chains through more than %d "
                               "$refs (no value at the end of the chain)",
                               r->valuestring, REF_MAX_HOPS);
            return ASYNCAPI_EREF;
        }
        rc = resolve_ref(c, *f, r->valuestring, f, node, canon, canon_size, hops);
        if (rc)
            return rc == REF_NOT_FOLLOWED ? 0 : rc;
    }
}

/*
 * Walks pointer (already percent-decoded, "" or "/a/b") from the root of f,
 * following $refs on the way and at the end. canon gets the pointer of the
 * final node in *of.
 */
static int walk_pointer(rctx *c, const asyncapi__file *from, asyncapi__file *f,
                        const char *pointer, const char *ref,
                        asyncapi__file **of, const cJSON **onode, char *canon,
                        size_t canon_size, int *hops)
{
    const cJSON *node = f->raw;
    const char *p = pointer;
    char token[512];
    int rc;

    canon[0] = '\0';
    if (*p && *p != '/') {
        asyncapi__diag_set(c->diag, from->path, 0, 0, c->rawptr,
                           "$ref '%s': fragment is not a JSON pointer", ref);
        return ASYNCAPI_EREF;
    }
    while (*p) {
        const cJSON *child;
        long n;

        p++; /* the '/' */
        if ((n = asyncapi__pointer_token(&p, token, sizeof(token))) < 0)
            goto bad;
        if ((rc = follow(c, &f, &node, canon, canon_size, hops)))
            return rc;
        child = asyncapi__pointer_child(node, token, (size_t)n);
        if (!child) {
            asyncapi__diag_set(c->diag, from->path, 0, 0, c->rawptr, "$ref '%s' not found", ref);
            return ASYNCAPI_EREF;
        }
        node = child;
        asyncapi__pointer_append(canon, canon_size, token);
    }
    if ((rc = follow(c, &f, &node, canon, canon_size, hops)))
        return rc;
    *of = f;
    *onode = node;
    return 0;
bad:
    asyncapi__diag_set(c->diag, from->path, 0, 0, c->rawptr, "$ref '%s': bad JSON pointer", ref);
    return ASYNCAPI_EREF;
}

/*
 * Resolves ref, written in file f, to its final raw node (after any chain
 * of $refs). Returns 0, REF_NOT_FOLLOWED for non-file URIs, or an error.
 */
static int resolve_ref(rctx *c, asyncapi__file *f, const char *ref, asyncapi__file **of,
                       const cJSON **onode, char *canon, size_t canon_size, int *hops)
{
    const char *hash = strchr(ref, '#');
    size_t plen = hash ? (size_t)(hash - ref) : strlen(ref);
    asyncapi__file *tf = f;
    char *frag = NULL;
    int rc;

    if (has_scheme(ref) && strncmp(ref, "file:", 5) != 0)
        return REF_NOT_FOLLOWED;
    if (plen > 0) {
        char *rel, *full = NULL;
        const char *p;
        int err = asyncapi__pct_decode(ref, plen, &rel);
        if (err == ASYNCAPI_ENOMEM)
            return err;
        if (err) {
            asyncapi__diag_set(c->diag, f->path, 0, 0, c->rawptr, "$ref '%s': bad file part", ref);
            return ASYNCAPI_EREF;
        }
        p = rel;
        if (strncmp(p, "file://", 7) == 0)
            p += 7;
        else if (strncmp(p, "file:", 5) == 0)
            p += 5;
        if (p[0] != '/') {
            const char *slash = strrchr(f->path, '/');
            size_t dlen = slash ? (size_t)(slash - f->path) : 0;
            size_t need = dlen + 1 + strlen(p) + 1;
            full = malloc(need);
            if (!full) {
                free(rel);
                return ASYNCAPI_ENOMEM;
            }
            memcpy(full, f->path, dlen);
            full[dlen] = '/';
            memcpy(full + dlen + 1, p, strlen(p) + 1);
            p = full;
        }
        tf = asyncapi__file_get(c->doc, p, &err, NULL);
        if (!tf) {
            asyncapi__diag_set(c->diag, f->path, 0, 0, c->rawptr,
                               "$ref '%s': cannot load '%s' (%s)", ref, p,
                               asyncapi_strerror(err));
            free(rel);
            free(full);
            return err == ASYNCAPI_ENOMEM ? err : ASYNCAPI_EREF;
        }
        free(rel);
        free(full);
    }
    if (hash) {
        rc = asyncapi__pct_decode(hash + 1, strlen(hash + 1), &frag);
        if (rc == ASYNCAPI_ENOMEM)
            return rc;
        if (rc) {
            asyncapi__diag_set(c->diag, f->path, 0, 0, c->rawptr, "$ref '%s': bad fragment", ref);
            return ASYNCAPI_EREF;
        }
    }
    *of = NULL;
    rc = walk_pointer(c, f, tf, frag ? frag : "", ref, of, onode, canon, canon_size, hops);
    free(frag);
    return rc;
}

/* ---- expansion ---- */

static int push(rctx *c, const cJSON *node)
{
    if (c->n_stack == c->cap_stack) {
        size_t ncap = c->cap_stack ? c->cap_stack * 2 : 64;
        const cJSON **ns = realloc(c->stack, ncap * sizeof(*ns));
        if (!ns)
            return ASYNCAPI_ENOMEM;
        c->stack = ns;
        c->cap_stack = ncap;
    }
    c->stack[c->n_stack++] = node;
    return 0;
}

static int on_stack(const rctx *c, const cJSON *node)
{
    for (size_t i = 0; i < c->n_stack; i++)
        if (c->stack[i] == node)
            return 1;
    return 0;
}

static int count(rctx *c, size_t n)
{
    if (c->doc->expanded_nodes + n > c->doc->limits.max_nodes) {
        asyncapi__diag_set(c->diag, c->root->path, 0, 0, c->rawptr,
                           "resolving $refs produces more than %zu nodes",
                           c->doc->limits.max_nodes);
        return ASYNCAPI_ELIMIT;
    }
    c->doc->expanded_nodes += n;
    return 0;
}

static int expand(rctx *c, asyncapi__file *f, const cJSON *raw, cJSON **out);

/* Expands the target of a $ref object raw (in file f) into *out. */
static int expand_ref(rctx *c, asyncapi__file *f, const cJSON *raw, const char *ref,
                      cJSON **out)
{
    char canon[512], saved[sizeof(c->rawptr)];
    asyncapi__file *tf = NULL;
    const cJSON *tn = NULL;
    int hops = 0, rc;

    rc = resolve_ref(c, f, ref, &tf, &tn, canon, sizeof(canon), &hops);
    if (rc == REF_NOT_FOLLOWED) {
        if ((rc = asyncapi__warn(c->doc, c->rawptr, "$ref '%s' is not a file: not followed",
                                 ref)))
            return rc;
        *out = cJSON_Duplicate(raw, 1);
        return *out ? 0 : ASYNCAPI_ENOMEM;
    }
    if (rc)
        return rc;
    if (on_stack(c, tn)) {
        /* recursion: keep it as a $ref the schema compiler can follow */
        char buf[1200];
        int n;
        if (tf == c->root)
            n = snprintf(buf, sizeof(buf), "#%s", canon);
        else
            n = snprintf(buf, sizeof(buf), "%s#%s", tf->uri, canon);
        if (n < 0 || (size_t)n >= sizeof(buf)) {
            asyncapi__diag_set(c->diag, f->path, 0, 0, c->rawptr, "$ref '%s' too long", ref);
            return ASYNCAPI_ELIMIT;
        }
        if (!(*out = cJSON_CreateObject()) || !cJSON_AddStringToObject(*out, "$ref", buf)) {
            cJSON_Delete(*out);
            *out = NULL;
            return ASYNCAPI_ENOMEM;
        }
        return count(c, 2);
    }
    memcpy(saved, c->rawptr, sizeof(saved));
    snprintf(c->rawptr, sizeof(c->rawptr), "%s", canon);
    rc = expand(c, tf, tn, out);
    memcpy(c->rawptr, saved, sizeof(saved));
    return rc;
}

static int expand(rctx *c, asyncapi__file *f, const cJSON *raw, cJSON **out)
{
    cJSON *o = NULL;
    int rc;

    *out = NULL;
    if (cJSON_IsObject(raw)) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(raw, "$ref");
        if (cJSON_IsString(r))
            return expand_ref(c, f, raw, r->valuestring, out);
    }
    if ((rc = count(c, 1)))
        return rc;
    if (!cJSON_IsObject(raw) && !cJSON_IsArray(raw)) {
        *out = cJSON_Duplicate(raw, 0);
        return *out ? 0 : ASYNCAPI_ENOMEM;
    }
    if (c->n_stack >= c->doc->limits.max_depth) {
        asyncapi__diag_set(c->diag, f->path, 0, 0, c->rawptr,
                           "resolved document nests deeper than %u", c->doc->limits.max_depth);
        return ASYNCAPI_ELIMIT;
    }
    o = cJSON_IsObject(raw) ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!o || (rc = push(c, raw))) {
        cJSON_Delete(o);
        return ASYNCAPI_ENOMEM;
    }
    for (const cJSON *k = raw->child; k; k = k->next) {
        size_t len = strlen(c->rawptr);
        cJSON *v = NULL;
        char idx[24];
        if (cJSON_IsObject(raw)) {
            asyncapi__pointer_append(c->rawptr, sizeof(c->rawptr), k->string);
        } else {
            snprintf(idx, sizeof(idx), "%d", cJSON_GetArraySize(o));
            asyncapi__pointer_append(c->rawptr, sizeof(c->rawptr), idx);
        }
        if (k->string && (strcmp(k->string, "enum") == 0 || strcmp(k->string, "const") == 0)) {
            /* schema data, not references */
            v = cJSON_Duplicate(k, 1);
            rc = v ? 0 : ASYNCAPI_ENOMEM;
        } else {
            rc = expand(c, f, k, &v);
        }
        c->rawptr[len] = '\0';
        if (rc)
            goto fail;
        if (cJSON_IsObject(raw))
            cJSON_AddItemToObject(o, k->string, v);
        else
            cJSON_AddItemToArray(o, v);
    }
    c->n_stack--;
    *out = o;
    return 0;
fail:
    c->n_stack--;
    cJSON_Delete(o);
    return rc;
}

static int resolve_file(asyncapi_doc *doc, asyncapi__file *f, asyncapi_diag *diag)
{
    rctx c;
    cJSON *out = NULL;
    int rc;

    memset(&c, 0, sizeof(c));
    c.doc = doc;
    c.root = f;
    c.diag = diag;
    rc = expand(&c, f, f->raw, &out);
    free(c.stack);
    if (rc)
        return rc;
    f->resolved = out;
    return 0;
}

int asyncapi__resolve(asyncapi_doc *doc, asyncapi_diag *diag)
{
    int rc = resolve_file(doc, doc->main, diag);

    if (!rc)
        doc->root = doc->main->resolved;
    return rc;
}

const cJSON *asyncapi__file_resolved(asyncapi_doc *doc, asyncapi__file *f)
{
    if (!f->resolved && resolve_file(doc, f, NULL) != 0)
        return NULL;
    return f->resolved;
}

const cJSON *asyncapi__origin(asyncapi_doc *doc, const char *pointer, char *canon,
                              size_t canon_size)
{
    rctx c;
    asyncapi__file *of = NULL;
    const cJSON *node = NULL;
    char buf[512];
    int hops = 0, rc;

    memset(&c, 0, sizeof(c));
    c.doc = doc;
    c.root = doc->main;
    if (!canon) {
        canon = buf;
        canon_size = sizeof(buf);
    }
    rc = walk_pointer(&c, doc->main, doc->main, pointer, pointer, &of, &node, canon,
                      canon_size, &hops);
    return rc ? NULL : node;
}
