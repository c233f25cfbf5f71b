/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON text reader producing cJSON trees (private to asyncapi).
 * Unlike cJSON_Parse it validates UTF-8, rejects lone surrogates, "\u0000",
 * duplicate object keys and trailing garbage, and bounds nesting. Nodes come
 * either from cJSON_malloc (tree freed with cJSON_Delete) or from a
 * caller-owned arena (tree freed by releasing the arena, never cJSON_Delete).
 * Design notes: docs/validator.md.
 */
#ifndef ASYNCAPI_JSON_TEXT_H
#define ASYNCAPI_JSON_TEXT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* A bump allocator: a first block supplied by the caller, then heap chunks. */
typedef struct asyncapi_json_arena {
    char *buf;           /* current block */
    size_t cap;          /* bytes in the current block */
    size_t used;         /* bytes handed out from the current block */
    void *chunks;        /* heap chunks, linked through their first word; freed by release */
} asyncapi_json_arena;

/* The public reusable tree buffer (asyncapi/parse.h): an arena on its own block. */
struct asyncapi_json_buf {
    asyncapi_json_arena arena;
    union {
        max_align_t align;
        char bytes[16384];
    } block;
};

/* Drops b's previous tree and returns its arena, empty, for the next parse. */
asyncapi_json_arena *asyncapi_json__buf_reset(struct asyncapi_json_buf *b);

/* Starts an arena on the caller's block (may be NULL with cap 0). */
void asyncapi_json__arena_init(asyncapi_json_arena *a, void *block, size_t cap);
/* Frees the heap chunks of the arena (the caller's block stays). */
void asyncapi_json__arena_release(asyncapi_json_arena *a);

/*
 * Parses buf[0..len) into *out.
 * arena: NULL = allocate nodes with cJSON_malloc (free with cJSON_Delete);
 *   else nodes live in the arena.
 * max_depth: arrays/objects nested deeper are ELIMIT.
 * Returns 0 (tree in *out), ASYNCAPI_ESYNTAX (byte offset in *err_off, a
 * lowercase reason in *err_msg, static), ASYNCAPI_ELIMIT (offset too),
 * ASYNCAPI_ENOMEM. *out is NULL on failure.
 * Thread: reentrant.
 */
int asyncapi_json__parse(const char *buf, size_t len, asyncapi_json_arena *arena,
                         unsigned max_depth, cJSON **out, size_t *err_off,
                         const char **err_msg);

enum asyncapi_json__flags {
    ASYNCAPI_JSON__DUP_KEYS_OK = 1 << 0, /* keep duplicate keys (the caller reports them) */
};

/* As asyncapi_json__parse, with flags (enum asyncapi_json__flags). */
int asyncapi_json__parse_flags(const char *buf, size_t len, asyncapi_json_arena *arena,
                               unsigned max_depth, unsigned flags, cJSON **out,
                               size_t *err_off, const char **err_msg);

#endif
