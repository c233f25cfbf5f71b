/* SPDX-License-Identifier: MIT */
/*
 * Private parts of the docs renderer (docs*.c): a growable string buffer
 * with a sticky error, HTML escaping, the safe Markdown subset, anchors,
 * the schema table and the example generator. See docs/docs-generator.md.
 */
#ifndef ASYNCAPI_DOCS_INT_H
#define ASYNCAPI_DOCS_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/docs.h"

#define ASYNCAPI_DOCS_MAX_OUTPUT (256u * 1024 * 1024)

/*
 * Growable buffer. Appends after a failure do nothing; err keeps the first
 * failure (ENOMEM or ELIMIT) so callers check once at the end.
 */
typedef struct asyncapi__dbuf {
    char *data; /* NUL-terminated when len > 0, owned */
    size_t len; /* bytes used, without the NUL */
    size_t cap; /* bytes allocated */
    int err;    /* 0 or the first ASYNCAPI_E* failure */
} asyncapi__dbuf;

void asyncapi__dbuf_init(asyncapi__dbuf *b);
void asyncapi__dbuf_release(asyncapi__dbuf *b);
/* Hands the data over (caller frees); "" if empty; NULL if b->err. */
char *asyncapi__dbuf_detach(asyncapi__dbuf *b, size_t *len);
void asyncapi__dbuf_putn(asyncapi__dbuf *b, const char *s, size_t n);
void asyncapi__dbuf_puts(asyncapi__dbuf *b, const char *s);
void asyncapi__dbuf_putc(asyncapi__dbuf *b, char c);
void asyncapi__dbuf_printf(asyncapi__dbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Appends s[0..n) HTML-escaped (& < > " ' ), invalid UTF-8 and control
 * characters other than \t \n \r replaced by U+FFFD. Safe in text and in
 * double-quoted attributes.
 */
void asyncapi__html_escn(asyncapi__dbuf *b, const char *s, size_t n);
void asyncapi__html_esc(asyncapi__dbuf *b, const char *s);

/*
 * Appends plain text for a Markdown table cell or line: HTML specials
 * escaped as entities, Markdown specials (| * _ ` [ ] \ # etc) backslash
 * escaped, newlines turned into spaces.
 */
void asyncapi__md_esc(asyncapi__dbuf *b, const char *s);

/*
 * Appends Markdown text copied for a Markdown document, with raw HTML
 * neutralised ('<' and '&' outside code spans and fences become entities)
 * and invalid UTF-8 replaced.
 */
void asyncapi__md_passthrough(asyncapi__dbuf *b, const char *md);

/* Is href an allowed link target in spec text (http, https, mailto)? */
int asyncapi__docs_safe_url(const char *href, size_t n);

/*
 * Renders the Markdown subset to HTML: paragraphs, ATX headings (shifted
 * by heading_shift, capped at h6), - * + and 1. lists, > quotes, ``` fences,
 * `code`, *em* _em_ **strong** __strong__, [text](url) with http/https/mailto
 * only (others become plain text), backslash escapes. Everything else is
 * text and escaped. Bounded: nesting of inline spans is capped, work is
 * linear-ish in the input.
 */
void asyncapi__md_to_html(asyncapi__dbuf *b, const char *md, int heading_shift);

/* Same as asyncapi__md_to_html for one line of inline text (no <p>). */
void asyncapi__md_inline_html(asyncapi__dbuf *b, const char *md, size_t n);

/*
 * A set of anchors already used on one page; asyncapi__anchors_add makes
 * a unique id for (kind, id) and returns it (owned by the set).
 */
typedef struct asyncapi__anchors {
    char **ids; /* the anchors handed out, owned strings */
    size_t n;   /* entries used */
    size_t cap; /* entries allocated */
} asyncapi__anchors;

void asyncapi__anchors_init(asyncapi__anchors *a);
void asyncapi__anchors_release(asyncapi__anchors *a);
/* Returns the unique anchor (owned by a), or NULL when out of memory. */
const char *asyncapi__anchors_add(asyncapi__anchors *a, const char *kind, const char *id);

/*
 * Generates a deterministic example instance from a JSON schema: const,
 * enum, default, examples first; then by type (objects with all
 * properties, one array item or minItems, strings honouring format and
 * lengths, numbers inside the bounds). Recursion and depth are bounded.
 * Returns a new tree (cJSON_Delete) or NULL when out of memory or schema
 * is NULL.
 */
cJSON *asyncapi__docs_example(const cJSON *schema);

/*
 * Pretty-prints v as JSON indented with two spaces (cJSON_Print uses tabs,
 * which render too wide). Returns a malloc'd string (free) or NULL on ENOMEM.
 */
char *asyncapi__docs_json(const cJSON *v);

/* Rendering context shared by docs_html.c and docs_md.c. */
typedef struct asyncapi__docs_ctx {
    const asyncapi_info *info;       /* document info, borrowed from the doc */
    const asyncapi_server *servers;  /* servers, n_servers of them */
    size_t n_servers;
    const asyncapi_channel *channels; /* channels in document order */
    size_t n_channels;
    const asyncapi_operation *ops;   /* operations in document order */
    size_t n_ops;
    const asyncapi_message *msgs;    /* every message of the document */
    size_t n_msgs;
    const cJSON *root;               /* resolved root document, may be NULL */
    const cJSON *comp_schemas;       /* root components.schemas object, or NULL */
    const asyncapi_docs_options *opts; /* caller's options (defaults filled), never NULL */
    /* anchors, parallel to the arrays above; strings owned by anchors */
    const char **a_server;
    const char **a_channel;
    const char **a_op;
    const char **a_msg;
    const char **a_schema;           /* one per child of comp_schemas, in order */
    size_t n_schemas;                /* children of comp_schemas */
    asyncapi__anchors anchors;       /* every anchor on the page, for uniqueness */
} asyncapi__docs_ctx;

/* Fills the anchors of ctx (arrays above). Returns 0 or ENOMEM. */
int asyncapi__docs_ctx_anchors(asyncapi__docs_ctx *ctx);
void asyncapi__docs_ctx_release(asyncapi__docs_ctx *ctx);

/* Anchor of a message/channel/op by pointer (then by id), or NULL. */
const char *asyncapi__docs_msg_anchor(const asyncapi__docs_ctx *ctx, const asyncapi_message *m);
const char *asyncapi__docs_channel_anchor(const asyncapi__docs_ctx *ctx, const asyncapi_channel *c);
/* Anchor of a components.schemas entry given a "#/components/schemas/X" ref or a node. */
const char *asyncapi__docs_schema_anchor_ref(const asyncapi__docs_ctx *ctx, const char *ref);
const char *asyncapi__docs_schema_anchor_node(const asyncapi__docs_ctx *ctx, const cJSON *node);
/* Live counts for a channel, or NULL. */
const asyncapi_docs_channel_stats *asyncapi__docs_stats(const asyncapi__docs_ctx *ctx,
                                                        const char *channel_id);

/* "type" text of a schema node ("string", "integer|null", "object", "oneOf"...). */
void asyncapi__schema_type(asyncapi__dbuf *b, const cJSON *s);
/*
 * Constraint texts of a schema node (one per entry), plain text; the
 * caller escapes. Appends to b separated by "\x1f".
 */
void asyncapi__schema_constraints(asyncapi__dbuf *b, const cJSON *s);

/*
 * Appends the nested schema table for schema (HTML or Markdown). table_id
 * is the anchor of the table (links for recursion point at it).
 */
void asyncapi__schema_table_html(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx,
                                 const cJSON *schema, const char *table_id);
void asyncapi__schema_table_md(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx,
                               const cJSON *schema);

/* The two page renderers. */
void asyncapi__docs_html(asyncapi__dbuf *b, asyncapi__docs_ctx *ctx);
void asyncapi__docs_md(asyncapi__dbuf *b, asyncapi__docs_ctx *ctx);

#endif
