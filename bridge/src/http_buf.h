/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer for HTTP, WebSocket and SSE bodies, with LWS_PRE
 * bytes of headroom in front of the data so lws_write() can send it in
 * place, and JSON string/number helpers. Errors are sticky: after the first
 * failed allocation every append is a no-op and `oom` stays set, so callers
 * build a whole body and check once. See docs/http.md.
 */
#ifndef BRIDGE_HTTP_BUF_H
#define BRIDGE_HTTP_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct bridge_buf {
    char *mem;   /* allocation: pre bytes of headroom, then data; NULL when empty */
    size_t pre;  /* headroom before the data (LWS_PRE or 0), fixed at init */
    size_t len;  /* bytes of data, not counting the NUL kept after them */
    size_t cap;  /* data capacity (bytes after the headroom, NUL included) */
    int oom;     /* 1 after an allocation failed; appends are then ignored */
} bridge_buf;

/* Initialises an empty buffer with `pre` bytes of headroom. Never fails. */
void bridge_buf_init(bridge_buf *b, size_t pre);
/* Frees the memory; b may be re-initialised or reused (it is left empty). */
void bridge_buf_release(bridge_buf *b);
/* Empties the buffer but keeps its memory. */
void bridge_buf_reset(bridge_buf *b);
/*
 * Makes room for `more` bytes beyond len (plus the NUL).
 * Returns 0, or -1 when out of memory (oom set).
 */
int bridge_buf_reserve(bridge_buf *b, size_t more);
/* The data (NUL-terminated; "" when empty). Borrowed until the next append. */
const char *bridge_buf_str(const bridge_buf *b);
/* The data as a writable pointer (headroom available just before it), or NULL when empty. */
unsigned char *bridge_buf_data(bridge_buf *b);

void bridge_buf_append(bridge_buf *b, const void *data, size_t n);
void bridge_buf_puts(bridge_buf *b, const char *s);
void bridge_buf_putc(bridge_buf *b, char c);
void bridge_buf_printf(bridge_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends a decimal integer. */
void bridge_buf_int(bridge_buf *b, long long v);
/* Appends a JSON number (finite doubles only; NaN/inf become null). */
void bridge_buf_double(bridge_buf *b, double v);
/*
 * Appends s[0..n) as a JSON string literal with quotes. Control characters,
 * '"' and '\\' are escaped; bytes that are not valid UTF-8 become U+FFFD,
 * so the output is always valid JSON. s may be NULL: appends null.
 */
void bridge_buf_json_str(bridge_buf *b, const char *s, size_t n);
/* bridge_buf_json_str with strlen(s), or null when s is NULL. */
void bridge_buf_json_cstr(bridge_buf *b, const char *s);
/* Appends an RFC 3339 UTC timestamp with milliseconds, quoted: "2026-11-23T10:15:00.123Z". */
void bridge_buf_json_time_ms(bridge_buf *b, int64_t epoch_ms);

/* Is s[0..n) valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)? */
int bridge_utf8_valid(const char *s, size_t n);

#endif
