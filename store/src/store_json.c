/* SPDX-License-Identifier: MIT */
/*
 * A strict, allocation-free JSON text check for the append path. It
 * replaces the CHECK (json_valid(...)) constraints the events table had in
 * schema v1: SQLite's json_valid builds a node array per call (about
 * 0.8 us for a 200-byte payload here), this scans once (about 0.1 us).
 * It accepts what SQLite 3.40's json_valid accepts: RFC 8259 values with
 * space, tab, CR, LF as whitespace, no control characters in strings, the
 * RFC escapes only, RFC number syntax (no leading zeros, no "1.", no
 * ".5"), bytes >= 0x80 passed through unchecked, nesting up to
 * STORE__JSON_MAX_DEPTH. Notes: docs/store.md "Write path".
 */
#include "store_int.h"

#include <string.h>

typedef struct jscan {
    const unsigned char *p;   /* next byte */
    const unsigned char *end; /* one past the last byte */
} jscan;

static void skip_ws(jscan *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; j->p at the opening quote. 0 ok, -1 bad. */
static int scan_string(jscan *j)
{
    const unsigned char *p = j->p + 1, *end = j->end;

    while (p < end) {
        unsigned char c = *p;
        if (c == '"') {
            j->p = p + 1;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (++p >= end)
                return -1;
            c = *p;
            if (c == 'u') {
                if (end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) ||
                    !is_hex(p[4]))
                    return -1;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
                return -1;
            }
        }
        p++;
    }
    return -1;
}

static int digit(const jscan *j)
{
    return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

/* A number; j->p at '-' or a digit. 0 ok, -1 bad. */
static int scan_number(jscan *j)
{
    if (*j->p == '-')
        j->p++;
    if (!digit(j))
        return -1;
    if (*j->p == '0') {
        j->p++;
        if (digit(j))
            return -1; /* leading zero */
    } else {
        while (digit(j))
            j->p++;
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!digit(j))
            return -1;
        while (digit(j))
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!digit(j))
            return -1;
        while (digit(j))
            j->p++;
    }
    return 0;
}

static int scan_word(jscan *j, const char *w, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return -1;
    j->p += n;
    return 0;
}

/* A scalar value; j->p at its first byte. 0 ok, -1 bad. */
static int scan_scalar(jscan *j)
{
    switch (*j->p) {
    case '"': return scan_string(j);
    case 't': return scan_word(j, "true", 4);
    case 'f': return scan_word(j, "false", 5);
    case 'n': return scan_word(j, "null", 4);
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
            return scan_number(j);
        return -1;
    }
}

int store__json_valid(const char *text, size_t len)
{
    /* open containers: '{' or '[' per level, iterative so depth costs no stack frames */
    unsigned char stack[STORE__JSON_MAX_DEPTH];
    size_t depth = 0;
    jscan j = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len};

    if (!text)
        return 0;
    skip_ws(&j);
    for (;;) {
        /* expect a value */
        if (j.p >= j.end)
            return 0;
        if (*j.p == '{' || *j.p == '[') {
            unsigned char open = *j.p++;
            if (depth == sizeof(stack))
                return 0;
            stack[depth++] = open;
            skip_ws(&j);
            if (j.p < j.end && *j.p == (open == '{' ? '}' : ']')) {
                j.p++;
                depth--;
                goto after_value;
            }
            if (open == '{')
                goto member_key;
            continue;
        }
        if (scan_scalar(&j) != 0)
            return 0;
    after_value:
        skip_ws(&j);
        if (depth == 0)
            return j.p == j.end;
        if (j.p >= j.end)
            return 0;
        if (*j.p == ',') {
            j.p++;
            skip_ws(&j);
            if (stack[depth - 1] == '{')
                goto member_key;
            continue;
        }
        if (*j.p != (stack[depth - 1] == '{' ? '}' : ']'))
            return 0;
        j.p++;
        depth--;
        goto after_value;
    member_key:
        if (j.p >= j.end || *j.p != '"' || scan_string(&j) != 0)
            return 0;
        skip_ws(&j);
        if (j.p >= j.end || *j.p != ':')
            return 0;
        j.p++;
        skip_ws(&j);
    }
}
