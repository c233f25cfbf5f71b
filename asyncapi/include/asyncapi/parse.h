/* SPDX-License-Identifier: MIT */
/*
 * Reading YAML (libyaml) or JSON text into a cJSON tree, bounded:
 * input size, nesting depth and YAML alias expansion are limited so hostile
 * input is an error, never a hang or a crash.
 *
 * YAML scalar rule (documented in docs/asyncapi.md): plain scalars follow the
 * YAML 1.2 core schema, so only true/false (True/TRUE/False/FALSE) are
 * booleans; YAML 1.1's on/off/yes/no/y/n stay strings. null, ~ and empty
 * are null; integers and floats as in 1.2 core (incl. 0x, 0o, .inf, .nan
 * -> .nan is rejected: JSON has no NaN). Quoted scalars are always strings.
 * Mapping keys are strings; duplicate keys are an error. A YAML stream with
 * more than one document is an error (ESYNTAX), never silently truncated.
 *
 * cJSON is the JSON value type of this project and so appears in the API.
 */
#ifndef ASYNCAPI_PARSE_H
#define ASYNCAPI_PARSE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "asyncapi/error.h"

/* Limits; zero fields take the defaults below. */
typedef struct asyncapi_parse_limits {
    size_t max_bytes;     /* input size, default 16 MiB */
    unsigned max_depth;   /* nesting of arrays/objects, default 256 */
    size_t max_nodes;     /* nodes produced incl. alias expansion, default 1,000,000 */
} asyncapi_parse_limits;

#define ASYNCAPI_PARSE_MAX_BYTES_DEFAULT (16u * 1024 * 1024)
#define ASYNCAPI_PARSE_MAX_DEPTH_DEFAULT 256u
#define ASYNCAPI_PARSE_MAX_NODES_DEFAULT 1000000u

/*
 * Parses buf[0..len) as YAML or JSON (JSON is YAML, but text starting with
 * '{' or '[' goes through the project's strict JSON reader for speed and
 * exact number handling; one trailing NUL byte counted in len is allowed).
 * name is used in diagnostics only. limits may be NULL. diag may be NULL.
 * Returns a new tree the caller frees with cJSON_Delete, or NULL with diag
 * filled (code in *err if err is not NULL: ESYNTAX, ELIMIT, ENOMEM).
 * Thread: any; reentrant (no global state, cJSON's error pointer included).
 */
cJSON *asyncapi_parse_buffer(const char *buf, size_t len, const char *name,
                             const asyncapi_parse_limits *limits, int *err,
                             asyncapi_diag *diag);

/*
 * As asyncapi_parse_buffer on the contents of the file at path (EIO too:
 * cannot open or read, or not a regular file).
 */
cJSON *asyncapi_parse_file(const char *path, const asyncapi_parse_limits *limits,
                           int *err, asyncapi_diag *diag);

/*
 * Parses buf[0..len) as exactly one strict JSON value (RFC 8259: valid
 * UTF-8, no lone surrogates, no "\u0000", no duplicate object keys, no
 * trailing text), arrays/objects nested at most max_depth deep (0 = the
 * default ASYNCAPI_PARSE_MAX_DEPTH_DEFAULT). Unlike cJSON_Parse it touches
 * no global state (cJSON's error pointer included).
 * Returns 0 with *out a new tree the caller frees with cJSON_Delete;
 *   ESYNTAX (not JSON), ELIMIT (nested too deep), ENOMEM, EINVAL (out NULL,
 *   or buf NULL with len > 0). *out is NULL on every failure.
 * Thread: any; reentrant.
 */
int asyncapi_json_parse(const char *buf, size_t len, unsigned max_depth, cJSON **out);

/*
 * A reusable home for parsed trees, for hot paths that parse one payload
 * after another: nodes and strings are carved from one block (16 KiB; a
 * bigger tree spills into heap chunks until the next parse) instead of a
 * malloc each, and nothing is freed node by node.
 * A tree parsed into b stays valid until the next parse into b or
 * asyncapi_json_buf_free(b); it is read-only and never passed to
 * cJSON_Delete. One thread at a time per buffer.
 * asyncapi_json_buf_new returns NULL when out of memory;
 * asyncapi_json_buf_free(NULL) does nothing.
 */
typedef struct asyncapi_json_buf asyncapi_json_buf;

asyncapi_json_buf *asyncapi_json_buf_new(void);
void asyncapi_json_buf_free(asyncapi_json_buf *b);

/*
 * As asyncapi_json_parse, into b (see above): same grammar, limits and
 * errors; *out is the tree, owned by b, or NULL on failure (EINVAL also for
 * b NULL). The previous tree of b is gone either way.
 */
int asyncapi_json_parse_in(asyncapi_json_buf *b, const char *buf, size_t len,
                           unsigned max_depth, const cJSON **out);

/*
 * Length of the valid UTF-8 sequence at s[0..n): 1 for ASCII, 2-4 for a
 * well-formed multi-byte character, 0 when invalid (n == 0, truncated,
 * overlong, a surrogate, above U+10FFFF). The one UTF-8 check of the
 * project: the JSON reader, the docs renderer and the HTTP side use it.
 * Thread: any.
 */
size_t asyncapi_utf8_seq(const char *s, size_t n);

#endif
