/* SPDX-License-Identifier: MIT */
/*
 * Growable buffer with lws headroom and JSON helpers (http_buf.h).
 * The JSON string writer never emits invalid JSON: bad UTF-8 is replaced.
 */
#include "http_buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi/parse.h"

void bridge_buf_init(bridge_buf *b, size_t pre)
{
    memset(b, 0, sizeof(*b));
    b->pre = pre;
}

void bridge_buf_release(bridge_buf *b)
{
    size_t pre = b->pre;

    free(b->mem);
    bridge_buf_init(b, pre);
}

void bridge_buf_reset(bridge_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->mem)
        b->mem[b->pre] = '\0';
}

int bridge_buf_reserve(bridge_buf *b, size_t more)
{
    size_t need, cap;
    char *mem;

    if (b->oom)
        return -1;
    if (more > SIZE_MAX / 2 - b->len - b->pre)
        goto fail;
    need = b->len + more + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    mem = realloc(b->mem, b->pre + cap);
    if (!mem)
        goto fail;
    b->mem = mem;
    b->cap = cap;
    return 0;
fail:
    b->oom = 1;
    return -1;
}

const char *bridge_buf_str(const bridge_buf *b)
{
    return b->mem ? b->mem + b->pre : "";
}

unsigned char *bridge_buf_data(bridge_buf *b)
{
    return b->mem ? (unsigned char *)b->mem + b->pre : NULL;
}

void bridge_buf_append(bridge_buf *b, const void *data, size_t n)
{
    if (bridge_buf_reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->mem + b->pre + b->len, data, n);
    b->len += n;
    b->mem[b->pre + b->len] = '\0';
}

void bridge_buf_puts(bridge_buf *b, const char *s)
{
    bridge_buf_append(b, s, strlen(s));
}

void bridge_buf_putc(bridge_buf *b, char c)
{
    if (bridge_buf_reserve(b, 1) < 0)
        return;
    b->mem[b->pre + b->len++] = c;
    b->mem[b->pre + b->len] = '\0';
}

void bridge_buf_printf(bridge_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (bridge_buf_reserve(b, 64) < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->mem + b->pre + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (bridge_buf_reserve(b, (size_t)n) < 0)
            return;
        va_start(ap, fmt);
        n = vsnprintf(b->mem + b->pre + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= b->cap - b->len) {
            b->oom = 1;
            return;
        }
    }
    b->len += (size_t)n;
}

void bridge_buf_int(bridge_buf *b, long long v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    bridge_buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void bridge_buf_double(bridge_buf *b, double v)
{
    if (!isfinite(v)) {
        bridge_buf_puts(b, "null");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        bridge_buf_int(b, (long long)v);
        return;
    }
    {
        char tmp[40];
        int n = snprintf(tmp, sizeof(tmp), "%.15g", v);

        if (n > 0 && (size_t)n < sizeof(tmp) && strtod(tmp, NULL) != v)
            n = snprintf(tmp, sizeof(tmp), "%.17g", v);
        if (n <= 0 || (size_t)n >= sizeof(tmp)) {
            bridge_buf_puts(b, "null");
            return;
        }
        bridge_buf_append(b, tmp, (size_t)n);
    }
}

int bridge_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        k = asyncapi_utf8_seq((const char *)(p + i), n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

void bridge_buf_json_str(bridge_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run, k;

    if (!s) {
        bridge_buf_puts(b, "null");
        return;
    }
    if (bridge_buf_reserve(b, n + 2) < 0)
        return;
    bridge_buf_putc(b, '"');
    while (i < n) {
        run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
               p[run] != '\\')
            run++;
        if (run > i) {
            bridge_buf_append(b, p + i, run - i);
            i = run;
            continue;
        }
        if (p[i] >= 0x80) {
            k = asyncapi_utf8_seq((const char *)(p + i), n - i);
            if (k) {
                bridge_buf_append(b, p + i, k);
                i += k;
            } else {
                bridge_buf_puts(b, "\xEF\xBF\xBD");
                i++;
            }
            continue;
        }
        switch (p[i]) {
        case '"': bridge_buf_puts(b, "\\\""); break;
        case '\\': bridge_buf_puts(b, "\\\\"); break;
        case '\n': bridge_buf_puts(b, "\\n"); break;
        case '\r': bridge_buf_puts(b, "\\r"); break;
        case '\t': bridge_buf_puts(b, "\\t"); break;
        default: {
            char esc[6] = { '\\', 'u', '0', '0', hex[p[i] >> 4], hex[p[i] & 15] };
            bridge_buf_append(b, esc, sizeof(esc));
        }
        }
        i++;
    }
    bridge_buf_putc(b, '"');
}

void bridge_buf_json_cstr(bridge_buf *b, const char *s)
{
    bridge_buf_json_str(b, s, s ? strlen(s) : 0);
}

/* Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, yoe, doe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static char *digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

void bridge_buf_json_time_ms(bridge_buf *b, int64_t epoch_ms)
{
    /* hand-rolled: this runs once per row of every list, and snprintf +
     * gmtime_r (which takes the timezone lock) dominated the profile */
    int64_t ms = epoch_ms % 1000, secs, days, y;
    unsigned mo, d, sod;
    char tmp[32], *p = tmp;

    if (ms < 0)
        ms += 1000;
    secs = (epoch_ms - ms) / 1000;
    days = secs / 86400;
    if (secs % 86400 < 0)
        days--;
    sod = (unsigned)(secs - days * 86400);
    civil_from_days(days, &y, &mo, &d);
    if (y < 0 || y > 9999) {
        bridge_buf_puts(b, "null");
        return;
    }
    *p++ = '"';
    p = digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = digits(p, mo, 2);
    *p++ = '-';
    p = digits(p, d, 2);
    *p++ = 'T';
    p = digits(p, sod / 3600, 2);
    *p++ = ':';
    p = digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = digits(p, sod % 60, 2);
    *p++ = '.';
    p = digits(p, (unsigned)ms, 3);
    *p++ = 'Z';
    *p++ = '"';
    bridge_buf_append(b, tmp, (size_t)(p - tmp));
}
