/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the AsyncAPI loader (parse.c, ref.c, loader.c,
 * model.c). The public contract is asyncapi/asyncapi.h; design notes are in
 * docs/asyncapi.md. Nothing here is visible outside the library.
 */
#ifndef ASYNCAPI_INT_H
#define ASYNCAPI_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "asyncapi/asyncapi.h"

/*
 * A set of strings (borrowed pointers) with open addressing; used for
 * duplicate key detection. Zero-initialise, then strset__release.
 */
typedef struct asyncapi__strset {
    const char **slots; /* cap entries, NULL = empty */
    size_t cap;         /* power of two, 0 before the first insert */
    size_t n;           /* entries in use */
} asyncapi__strset;

/* Inserts s: returns 0 if new, 1 if already there, ENOMEM. */
int asyncapi__strset_add(asyncapi__strset *set, const char *s);
void asyncapi__strset_release(asyncapi__strset *set);

/* Fills diag (if not NULL) with file, line, column, pointer and a message. */
void asyncapi__diag_set(asyncapi_diag *diag, const char *file, int line, int column,
                        const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * Percent-decodes s[0..n) ("%2F" -> '/'; a '%' not followed by two hex
 * digits stays as it is) into a new string in *out (caller frees).
 * Returns 0, EINVAL if it would decode to a NUL byte ("%00": a C string
 * would silently end there), ENOMEM. *out is NULL on failure.
 */
int asyncapi__pct_decode(const char *s, size_t n, char **out);

/*
 * Decodes the JSON pointer token starting at *p (up to the next '/' or the
 * end; "~0" -> '~', "~1" -> '/') into tok[0..size), NUL-terminated, and
 * advances *p to the '/' or NUL after it.
 * Returns the token length, or -1 for a '~' not followed by 0 or 1 or a
 * token that does not fit (tok and *p are then unspecified).
 */
long asyncapi__pointer_token(const char **p, char *tok, size_t size);

/*
 * The child of node named by a decoded pointer token: an object member, or
 * an array element when tok is a canonical index ("0", "12"; no sign, no
 * leading zero, fewer than 10 digits). NULL if there is none.
 */
const cJSON *asyncapi__pointer_child(const cJSON *node, const char *tok, size_t n);

/* Appends one escaped JSON pointer token to buf; returns 0 or ELIMIT. */
int asyncapi__pointer_append(char *buf, size_t size, const char *token);

/* One file read during a load, parsed once (keyed by its real path). */
typedef struct asyncapi__file {
    char *path;             /* realpath of the file, owned */
    char *uri;              /* "file://" + percent-encoded path, owned */
    cJSON *raw;             /* the parsed tree as written, owned */
    cJSON *resolved;        /* resolved copy (main file, or lazily for schema refs), owned */
    struct asyncapi__file *next;
} asyncapi__file;

/* A message record plus what the loader needs to build it. */
typedef struct asyncapi__message {
    asyncapi_message pub;   /* the public record */
    const cJSON *origin;    /* raw node identity (after following $refs) */
    size_t index;           /* position in asyncapi_doc.messages */
} asyncapi__message;

struct asyncapi_doc {
    asyncapi_parse_limits limits; /* effective limits (defaults filled in) */
    asyncapi__file *files;        /* every file read; files->... main is main */
    asyncapi__file *main;         /* the document's own file */
    cJSON *root;                  /* resolved main tree (== main->resolved) */
    size_t expanded_nodes;        /* nodes produced by $ref expansion so far */

    asyncapi_info info;
    asyncapi_server *servers;
    size_t n_servers;
    asyncapi_channel *channels;
    size_t n_channels;
    asyncapi_operation *operations;
    size_t n_operations;
    asyncapi__message **messages; /* records, each heap-allocated (stable addresses) */
    size_t n_messages;
    asyncapi_message *messages_flat; /* copies for asyncapi_doc_messages, built last */
    asyncapi_warning *warnings;
    size_t n_warnings;
    const cJSON **channel_origins; /* raw identity of each channel (build only) */
    cJSON *owned;                 /* nodes the model made (3.0 parameter schemas) */
    char **strings;               /* every string the model owns, freed at the end */
    size_t n_strings, cap_strings;
};

/* ref.c: resolves every $ref of the main file into doc->root. */
int asyncapi__resolve(asyncapi_doc *doc, asyncapi_diag *diag);
/* ref.c: parses (once) the file at path; returns it or NULL with *err set. */
asyncapi__file *asyncapi__file_get(asyncapi_doc *doc, const char *path, int *err,
                                   asyncapi_diag *diag);
/* ref.c: the resolved tree of a file (computed on first use), or NULL. */
const cJSON *asyncapi__file_resolved(asyncapi_doc *doc, asyncapi__file *f);
/*
 * ref.c: finds the raw node a pointer (e.g. "/channels/x/messages/y") of the
 * main file denotes, following $refs on the way and at the end. NULL if none.
 * canon (may be NULL) gets the node's pointer inside its own file.
 */
const cJSON *asyncapi__origin(asyncapi_doc *doc, const char *pointer, char *canon,
                              size_t canon_size);

/* loader.c: records a warning (copies both texts); returns 0 or ENOMEM. */
int asyncapi__warn(asyncapi_doc *doc, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* loader.c: a copy of s owned by doc (NULL for NULL, and on ENOMEM). */
const char *asyncapi__strdup(asyncapi_doc *doc, const char *s);

/* model.c: builds servers/channels/operations/messages from doc->root. */
int asyncapi__model_build(asyncapi_doc *doc, asyncapi_diag *diag);

#endif
