/* SPDX-License-Identifier: MIT */
/*
 * Human documentation generated from a loaded AsyncAPI document: one
 * self-contained HTML page (inline CSS, no scripts, no external resources,
 * responsive, print friendly) or a README-style Markdown file. Used by
 * `asyncbridge docs` and served by the running bridge at /docs.
 * Design notes: docs/docs-generator.md.
 */
#ifndef ASYNCAPI_DOCS_H
#define ASYNCAPI_DOCS_H

#include <stddef.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/error.h"

typedef enum asyncapi_docs_format {
    ASYNCAPI_DOCS_HTML = 0,     /* one self-contained HTML page */
    ASYNCAPI_DOCS_MARKDOWN = 1, /* Markdown (GitHub flavoured tables) */
} asyncapi_docs_format;

/* A link for the extra section (e.g. the bridge's own APIs). */
typedef struct asyncapi_docs_link {
    const char *href;        /* "/openapi.json", "https://..."; other schemes are shown as text */
    const char *label;       /* link text, plain text (escaped) */
    const char *description; /* plain text after the link, or NULL */
} asyncapi_docs_link;

/* Live counts of one channel (the running bridge fills these). */
typedef struct asyncapi_docs_channel_stats {
    const char *channel_id;        /* asyncapi_channel.id */
    unsigned long long events;       /* events stored for this channel */
    unsigned long long dead_letters; /* dead letters for this channel */
} asyncapi_docs_channel_stats;

/*
 * Rendering options. Zero-initialise ({0}) for the defaults; every pointer
 * is borrowed for the duration of the call only.
 */
typedef struct asyncapi_docs_options {
    asyncapi_docs_format format; /* HTML (default) or MARKDOWN */
    const char *title;           /* page title, NULL = info.title */
    /*
     * Extra section, shown after the servers when extra_title is not NULL:
     * extra_markdown (Markdown subset, rendered as safely as spec text, may
     * be NULL) followed by the links as a list.
     */
    const char *extra_title;
    const char *extra_markdown;
    const asyncapi_docs_link *links;
    size_t n_links;
    /*
     * Per-channel live counts, shown next to each channel and in the table
     * of contents when stats is not NULL. Channels without an entry show 0.
     * stats_note is a plain-text line above them (e.g. "as of seq 1234"),
     * may be NULL.
     */
    const asyncapi_docs_channel_stats *stats;
    size_t n_stats;
    const char *stats_note;
    const char *generator; /* footer text, NULL = "asyncbridge"; never a timestamp unless the caller puts one */
} asyncapi_docs_options;

/*
 * Renders doc as documentation.
 * Parameters: doc is a loaded document (borrowed); opts may be NULL (HTML,
 *   defaults); out receives the text; out_len (may be NULL) its length
 *   without the terminating NUL.
 * Returns 0 with *out set to a NUL-terminated malloc'd buffer the caller
 *   frees with free(); ENOMEM when out of memory; ELIMIT when the output
 *   would exceed 256 MiB; EINVAL when doc or out is NULL or the format is
 *   unknown. On failure *out is set to NULL (when out is not NULL).
 * Output is deterministic: the same document and options give the same
 *   bytes. Deep-link ids ("channel-<slug>", "operation-<slug>",
 *   "message-<slug>", "schema-<slug>", "server-<slug>") are derived from the
 *   ids in the spec and stay the same across regenerations.
 * Thread: any thread; the document may be shared (read only).
 */
int asyncapi_docs_render(const asyncapi_doc *doc, const asyncapi_docs_options *opts,
                         char **out, size_t *out_len);

/*
 * Writes the deep-link id used for a spec id into buf: kind is "channel",
 * "operation", "message", "schema" or "server". Characters other than
 * [A-Za-z0-9_-] become '-', long ids are cut; when that changed the text a
 * short hash of the original id is appended so different ids stay
 * different. (Collisions that remain within one page get "-2", "-3" in
 * document order.)
 * Returns the length written, ELIMIT if buf is too small (size >= 96 is
 * always enough), EINVAL for NULL arguments.
 */
int asyncapi_docs_anchor(const char *kind, const char *id, char *buf, size_t size);

#endif
