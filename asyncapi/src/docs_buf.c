/* SPDX-License-Identifier: MIT */
/*
 * Docs renderer basics: the growable output buffer (sticky error), HTML and
 * Markdown escaping with UTF-8 repair, URL allow-list and unique anchors.
 * See docs/docs-generator.md.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi/parse.h"
#include "docs_int.h"

void asyncapi__dbuf_init(asyncapi__dbuf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}

void asyncapi__dbuf_release(asyncapi__dbuf *b)
{
    free(b->data);
    asyncapi__dbuf_init(b);
}

char *asyncapi__dbuf_detach(asyncapi__dbuf *b, size_t *len)
{
    char *d;

    if (b->err) {
        asyncapi__dbuf_release(b);
        return NULL;
    }
    if (b->data == NULL) {
        d = malloc(1);
        if (d == NULL)
            return NULL;
        d[0] = '\0';
    } else {
        d = b->data;
    }
    if (len)
        *len = b->len;
    asyncapi__dbuf_init(b);
    return d;
}

static int dbuf_grow(asyncapi__dbuf *b, size_t extra)
{
    size_t need, cap;
    char *d;

    if (b->err)
        return -1;
    if (extra > ASYNCAPI_DOCS_MAX_OUTPUT || b->len + extra > ASYNCAPI_DOCS_MAX_OUTPUT) {
        b->err = ASYNCAPI_ELIMIT;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    d = realloc(b->data, cap);
    if (d == NULL) {
        b->err = ASYNCAPI_ENOMEM;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void asyncapi__dbuf_putn(asyncapi__dbuf *b, const char *s, size_t n)
{
    if (n == 0 || dbuf_grow(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void asyncapi__dbuf_puts(asyncapi__dbuf *b, const char *s)
{
    if (s)
        asyncapi__dbuf_putn(b, s, strlen(s));
}

void asyncapi__dbuf_putc(asyncapi__dbuf *b, char c)
{
    asyncapi__dbuf_putn(b, &c, 1);
}

void asyncapi__dbuf_printf(asyncapi__dbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->err)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = ASYNCAPI_EINVAL;
        return;
    }
    if (dbuf_grow(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static const char replacement[] = "\xEF\xBF\xBD";

/*
 * Copies the character at p[0..n) (n >= 1) that needs no escaping: a
 * control byte or broken UTF-8 becomes U+FFFD, valid UTF-8 and ASCII are
 * copied. Returns the bytes consumed (>= 1).
 */
static size_t put_text_char(asyncapi__dbuf *b, const unsigned char *p, size_t n)
{
    size_t l;

    if (p[0] < 0x20 || p[0] == 0x7F) {
        asyncapi__dbuf_puts(b, replacement);
        return 1;
    }
    if (p[0] < 0x80) {
        asyncapi__dbuf_putc(b, (char)p[0]);
        return 1;
    }
    l = asyncapi_utf8_seq((const char *)p, n);
    if (l == 0) {
        asyncapi__dbuf_puts(b, replacement);
        return 1;
    }
    asyncapi__dbuf_putn(b, (const char *)p, l);
    return l;
}

void asyncapi__html_escn(asyncapi__dbuf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, start = 0, l;
    const char *rep;

    if (s == NULL)
        return;
    while (i < n) {
        rep = NULL;
        l = 1;
        switch (p[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\t': case '\n': case '\r': break;
        default:
            if (p[i] < 0x20 || p[i] == 0x7F) {
                rep = replacement;
            } else if (p[i] >= 0x80) {
                l = asyncapi_utf8_seq((const char *)(p + i), n - i);
                if (l == 0) {
                    rep = replacement;
                    l = 1;
                }
            }
        }
        if (rep) {
            asyncapi__dbuf_putn(b, s + start, i - start);
            asyncapi__dbuf_puts(b, rep);
            i += l;
            start = i;
        } else {
            i += l;
        }
    }
    asyncapi__dbuf_putn(b, s + start, n - start);
}

void asyncapi__html_esc(asyncapi__dbuf *b, const char *s)
{
    if (s)
        asyncapi__html_escn(b, s, strlen(s));
}

void asyncapi__md_esc(asyncapi__dbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n, i, l;

    if (s == NULL)
        return;
    n = strlen(s);
    for (i = 0; i < n; i += l) {
        l = 1;
        switch (p[i]) {
        case '&': asyncapi__dbuf_puts(b, "&amp;"); break;
        case '<': asyncapi__dbuf_puts(b, "&lt;"); break;
        case '>': asyncapi__dbuf_puts(b, "&gt;"); break;
        case '\n': case '\r': case '\t': asyncapi__dbuf_putc(b, ' '); break;
        case '|': case '*': case '_': case '`': case '[': case ']': case '\\':
        case '#': case '~': case '!': case '(': case ')': case '{': case '}':
            asyncapi__dbuf_putc(b, '\\');
            asyncapi__dbuf_putc(b, (char)p[i]);
            break;
        default:
            l = put_text_char(b, p + i, n - i);
        }
    }
}

/* Backtick run at s[0..n) if it is a fence line: its length (>= 3), else 0. */
static size_t fence_len(const unsigned char *s, size_t n, int closing)
{
    size_t i = 0, k = 0;

    if (closing)
        while (i < n && i < 3 && s[i] == ' ')
            i++;
    while (i + k < n && s[i + k] == '`')
        k++;
    if (k < 3)
        return 0;
    for (i += k; i < n; i++) {
        if (closing && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0; /* a closing fence has nothing after it */
        if (!closing && s[i] == '`')
            return 0; /* an info string cannot hold a backtick */
    }
    return k;
}

/*
 * Copies spec Markdown into our Markdown output. Raw HTML must not get
 * through to a renderer, and we cannot parse Markdown exactly like every
 * renderer, so the rule is conservative: '<' and '&' become entities
 * everywhere except inside fenced code blocks that start at column 0 (a
 * position where every CommonMark renderer sees a top-level fence; code
 * spans are escaped too, which may show "&lt;" in them: safe, if plain).
 * An unclosed fence is closed, so it cannot swallow what follows.
 * Link targets with a scheme other than http/https/mailto are replaced.
 */
void asyncapi__md_passthrough(asyncapi__dbuf *b, const char *md)
{
    const unsigned char *p = (const unsigned char *)md;
    size_t n, i = 0, l, eol, fence = 0, f;

    if (md == NULL)
        return;
    n = strlen(md);
    while (i < n) {
        for (eol = i; eol < n && p[eol] != '\n'; eol++)
            ;
        if (fence == 0 && (f = fence_len(p + i, eol - i, 0)) != 0) {
            fence = f;
            asyncapi__html_escn(b, md + i, eol - i); /* info string: text */
            asyncapi__dbuf_putc(b, '\n');
            i = eol + 1;
            continue;
        }
        if (fence) {
            if ((f = fence_len(p + i, eol - i, 1)) >= fence)
                fence = 0;
            /* inside a fence: copied, only broken UTF-8/controls replaced */
            for (; i < eol; i += l) {
                l = 1;
                if (p[i] == '\t' || p[i] == '\r')
                    asyncapi__dbuf_putc(b, (char)p[i]);
                else
                    l = put_text_char(b, p + i, n - i);
            }
            asyncapi__dbuf_putc(b, '\n');
            i = eol + 1;
            continue;
        }
        for (; i < eol; i += l) {
            l = 1;
            if (p[i] == ']' && i + 1 < eol && p[i + 1] == '(') {
                /* link target: a scheme other than http/https/mailto is dropped */
                size_t e = i + 2, k2 = e;
                while (e < eol && p[e] != ')' && p[e] != ' ')
                    e++;
                while (k2 < e && ((p[k2] >= 'a' && p[k2] <= 'z') || (p[k2] >= 'A' && p[k2] <= 'Z') ||
                                  (p[k2] >= '0' && p[k2] <= '9') || p[k2] == '+' ||
                                  p[k2] == '-' || p[k2] == '.'))
                    k2++;
                if (k2 < e && p[k2] == ':' && !asyncapi__docs_safe_url(md + i + 2, e - i - 2)) {
                    asyncapi__dbuf_puts(b, "](#unsafe-link-removed");
                    l = e - i;
                    continue;
                }
            }
            if (p[i] == '<') {
                asyncapi__dbuf_puts(b, "&lt;");
            } else if (p[i] == '&') {
                asyncapi__dbuf_puts(b, "&amp;");
            } else if (p[i] == '\t' || p[i] == '\r') {
                asyncapi__dbuf_putc(b, (char)p[i]);
            } else {
                l = put_text_char(b, p + i, n - i);
            }
        }
        if (eol < n)
            asyncapi__dbuf_putc(b, '\n');
        i = eol + 1;
    }
    if (fence) {
        /* unclosed: close it here so it cannot swallow what follows */
        if (b->len && b->data[b->len - 1] != '\n')
            asyncapi__dbuf_putc(b, '\n');
        for (f = 0; f < fence; f++)
            asyncapi__dbuf_putc(b, '`');
        asyncapi__dbuf_putc(b, '\n');
    }
}

int asyncapi__docs_safe_url(const char *href, size_t n)
{
    static const char *const schemes[] = { "http://", "https://", "mailto:" };
    size_t i, sl;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)href[i];
        if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == '"' || c == '\'' ||
            c == '\\' || c == '`')
            return 0;
    }
    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        sl = strlen(schemes[i]);
        if (n > sl) {
            size_t k;
            for (k = 0; k < sl; k++) {
                char c = href[k];
                if (c >= 'A' && c <= 'Z')
                    c = (char)(c - 'A' + 'a');
                if (c != schemes[i][k])
                    break;
            }
            if (k == sl)
                return 1;
        }
    }
    return 0;
}

/* FNV-1a, 32 bit: stable across platforms and runs. */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

#define SLUG_MAX 64

int asyncapi_docs_anchor(const char *kind, const char *id, char *buf, size_t size)
{
    char slug[SLUG_MAX + 1];
    size_t i, n = 0;
    int lossy = 0, dash = 0, w;

    if (kind == NULL || id == NULL || buf == NULL)
        return ASYNCAPI_EINVAL;
    for (i = 0; id[i]; i++) {
        char c = id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
        if (n >= SLUG_MAX) {
            lossy = 1;
            break;
        }
        if (ok) {
            slug[n++] = c;
            dash = 0;
        } else {
            lossy = 1;
            if (!dash && n > 0)
                slug[n++] = '-';
            dash = 1;
        }
    }
    while (n > 0 && slug[n - 1] == '-' && lossy)
        n--;
    slug[n] = '\0';
    if (n == 0)
        lossy = 1;
    if (lossy)
        w = snprintf(buf, size, "%s-%s%s%08lx", kind, slug, n ? "-" : "",
                     (unsigned long)fnv1a(id));
    else
        w = snprintf(buf, size, "%s-%s", kind, slug);
    if (w < 0)
        return ASYNCAPI_EINVAL;
    if ((size_t)w >= size)
        return ASYNCAPI_ELIMIT;
    return w;
}

void asyncapi__anchors_init(asyncapi__anchors *a)
{
    a->ids = NULL;
    a->n = 0;
    a->cap = 0;
}

void asyncapi__anchors_release(asyncapi__anchors *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->ids[i]);
    free(a->ids);
    asyncapi__anchors_init(a);
}

static int anchors_has(const asyncapi__anchors *a, const char *s)
{
    /* Linear: pages have hundreds of anchors, not millions. */
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->ids[i], s) == 0)
            return 1;
    return 0;
}

const char *asyncapi__anchors_add(asyncapi__anchors *a, const char *kind, const char *id)
{
    char base[128], cand[160];
    unsigned k;
    int w;
    char *dup;

    if (asyncapi_docs_anchor(kind, id ? id : "", base, sizeof(base)) < 0)
        return NULL;
    w = snprintf(cand, sizeof(cand), "%s", base);
    for (k = 2; anchors_has(a, cand); k++) {
        w = snprintf(cand, sizeof(cand), "%s-%u", base, k);
        if (w < 0 || (size_t)w >= sizeof(cand))
            return NULL;
    }
    if (w < 0)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **ids = realloc(a->ids, cap * sizeof(*ids));
        if (ids == NULL)
            return NULL;
        a->ids = ids;
        a->cap = cap;
    }
    dup = malloc((size_t)w + 1);
    if (dup == NULL)
        return NULL;
    memcpy(dup, cand, (size_t)w + 1);
    a->ids[a->n++] = dup;
    return dup;
}

char *asyncapi__docs_json(const cJSON *v)
{
    char *raw = cJSON_Print(v), *out;
    size_t tabs = 0, i, o = 0;

    if (raw == NULL)
        return NULL;
    /* raw tabs are formatting only: cJSON escapes tabs inside strings */
    for (i = 0; raw[i]; i++)
        tabs += raw[i] == '\t';
    out = malloc(i + tabs + 1);
    if (out == NULL) {
        cJSON_free(raw);
        return NULL;
    }
    for (i = 0; raw[i]; i++) {
        if (raw[i] != '\t') {
            out[o++] = raw[i];
        } else if (i > 0 && raw[i - 1] == ':') {
            out[o++] = ' ';
        } else {
            out[o++] = ' ';
            out[o++] = ' ';
        }
    }
    out[o] = '\0';
    cJSON_free(raw);
    return out;
}
