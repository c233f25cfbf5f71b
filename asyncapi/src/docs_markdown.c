/* SPDX-License-Identifier: MIT */
/*
 * A small, safe Markdown subset to HTML for spec descriptions: paragraphs,
 * ATX headings, flat lists, block quotes, fenced code, code spans,
 * emphasis, links (http/https/mailto only). No raw HTML: every character
 * of input text is escaped. Work is bounded (no quadratic rescans on
 * hostile input, nesting capped). See docs/docs-generator.md.
 */
#include <stdlib.h>
#include <string.h>

#include "docs_int.h"

#define MD_MAX_INLINE_DEPTH 8
#define MD_MAX_QUOTE_DEPTH 4
#define MD_MAX_URL 2048 /* bytes of a link destination */

/* Per-call memo of "no closer after position p" for each delimiter kind. */
enum { D_STAR1, D_STAR2, D_UND1, D_UND2, D_BRACKET, D_KINDS };

typedef struct md_inline {
    asyncapi__dbuf *b;
    size_t noclose[D_KINDS]; /* if set (non-zero), no closer at or after noclose-1 */
    size_t notick[9];        /* same for code spans of 1..8 backticks */
} md_inline;

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_punct(unsigned char c)
{
    return c > 0x20 && c < 0x7F && !is_alnum(c);
}

/* Finds the closing delimiter run (delim x len) for emphasis in s[from..n). */
static size_t find_emph_close(md_inline *mi, const char *s, size_t from, size_t n,
                              char delim, size_t len, int kind)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i;

    if (mi->noclose[kind] && from >= mi->noclose[kind] - 1)
        return 0;
    for (i = from; i + len <= n; i++) {
        if (p[i] == '\\') {
            i++;
            continue;
        }
        if (p[i] == '`') {
            /* skip a code span so delimiters inside it don't count */
            size_t k = 0, j;
            while (i + k < n && p[i + k] == '`')
                k++;
            for (j = i + k; j + k <= n; j++) {
                size_t m = 0;
                while (j + m < n && p[j + m] == '`')
                    m++;
                if (m == k)
                    break;
                if (m)
                    j += m - 1;
            }
            if (j + k <= n)
                i = j + k - 1;
            else
                i += k - 1;
            continue;
        }
        if ((char)p[i] != delim)
            continue;
        {
            size_t run = 0;
            while (i + run < n && (char)p[i + run] == delim)
                run++;
            if (run >= len && !is_space(p[i - 1]) &&
                (delim != '_' || i + run >= n || !is_alnum(p[i + run])))
                return i + (run - len) + 1; /* position+1 of the closer start */
            i += run - 1;
        }
    }
    mi->noclose[kind] = from + 1;
    return 0;
}

/*
 * Finds the first ']' after the '[' at open (no nesting, so the memo is
 * exact: no ']' after p means none after any later p'); 0 if none.
 */
static size_t find_bracket_close(md_inline *mi, const char *s, size_t open, size_t n)
{
    size_t i;

    if (mi->noclose[D_BRACKET] && open >= mi->noclose[D_BRACKET] - 1)
        return 0;
    for (i = open + 1; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == ']')
            return i + 1;
    }
    mi->noclose[D_BRACKET] = open + 1;
    return 0;
}

static void md_inline_run(md_inline *mi, const char *s, size_t n, int depth, int no_links);

static void emit_link(md_inline *mi, const char *text, size_t tn, const char *url,
                      size_t un, int depth)
{
    asyncapi__dbuf *b = mi->b;

    if (asyncapi__docs_safe_url(url, un)) {
        asyncapi__dbuf_puts(b, "<a href=\"");
        asyncapi__html_escn(b, url, un);
        asyncapi__dbuf_puts(b, "\" rel=\"nofollow noopener noreferrer\">");
        md_inline_run(mi, text, tn, depth + 1, 1);
        asyncapi__dbuf_puts(b, "</a>");
    } else {
        /* unsafe scheme (javascript:, data:, relative...): text only */
        md_inline_run(mi, text, tn, depth + 1, 1);
    }
}

static void md_inline_run(md_inline *mi, const char *s, size_t n, int depth, int no_links)
{
    asyncapi__dbuf *b = mi->b;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, start = 0;
    md_inline sub;

    /* nested runs have their own positions: a fresh memo */
    sub.b = b;
    memset(sub.noclose, 0, sizeof(sub.noclose));
    memset(sub.notick, 0, sizeof(sub.notick));
    if (depth > 0)
        mi = &sub;

#define FLUSH()                                                  \
    do {                                                         \
        asyncapi__html_escn(b, s + start, i - start);            \
    } while (0)

    while (i < n) {
        unsigned char c = p[i];

        if (c == '\\' && i + 1 < n && is_punct(p[i + 1])) {
            FLUSH();
            asyncapi__html_escn(b, s + i + 1, 1);
            i += 2;
            start = i;
            continue;
        }
        if (c == '`') {
            size_t k = 0, j, m;
            while (i + k < n && p[i + k] == '`')
                k++;
            j = n;
            if (k > 8 || mi->notick[k] == 0 || i + 1 < mi->notick[k])
                for (j = i + k; j < n; j += m ? m : 1) {
                m = 0;
                while (j + m < n && p[j + m] == '`')
                    m++;
                if (m == k)
                    break;
            }
            if (j >= n && k <= 8)
                mi->notick[k] = i + 1;
            if (j < n) {
                size_t cs = i + k, ce = j;
                FLUSH();
                if (ce > cs + 1 && p[cs] == ' ' && p[ce - 1] == ' ') {
                    cs++;
                    ce--;
                }
                asyncapi__dbuf_puts(b, "<code>");
                asyncapi__html_escn(b, s + cs, ce - cs);
                asyncapi__dbuf_puts(b, "</code>");
                i = j + k;
                start = i;
            } else {
                i += k;
            }
            continue;
        }
        if ((c == '*' || c == '_') && depth < MD_MAX_INLINE_DEPTH) {
            size_t run = 0, len, close;
            int kind;
            while (i + run < n && p[i + run] == c)
                run++;
            len = run >= 2 ? 2 : 1;
            kind = c == '*' ? (len == 2 ? D_STAR2 : D_STAR1) : (len == 2 ? D_UND2 : D_UND1);
            if (i + len < n && !is_space(p[i + len]) &&
                (c != '_' || i == 0 || !is_alnum(p[i - 1])) &&
                (close = find_emph_close(mi, s, i + len + 1, n, (char)c, len, kind)) != 0) {
                size_t ce = close - 1;
                const char *tag = len == 2 ? "strong" : "em";
                FLUSH();
                asyncapi__dbuf_printf(b, "<%s>", tag);
                md_inline_run(mi, s + i + len, ce - (i + len), depth + 1, no_links);
                asyncapi__dbuf_printf(b, "</%s>", tag);
                i = ce + len;
                start = i;
            } else {
                i += run;
            }
            continue;
        }
        if (c == '[' && !no_links && depth < MD_MAX_INLINE_DEPTH) {
            size_t close = find_bracket_close(mi, s, i, n);
            if (close && close < n && p[close] == '(') {
                size_t us = close + 1, ue = us, end, par = 0;
                /*
                 * Balanced parentheses may appear in a destination. Longer
                 * than MD_MAX_URL is not a link: keeps "[a](" x 100000 linear.
                 */
                while (ue < n && ue - us < MD_MAX_URL && !is_space(p[ue]) &&
                       (p[ue] != ')' || par > 0)) {
                    if (p[ue] == '(')
                        par++;
                    else if (p[ue] == ')')
                        par--;
                    ue++;
                }
                end = ue;
                if (end < n && p[end] == ' ') {
                    /* optional "title": skip to ')' on this line */
                    while (end < n && end - ue < MD_MAX_URL && p[end] != ')' && p[end] != '\n')
                        end++;
                }
                if (end < n && p[end] == ')') {
                    FLUSH();
                    emit_link(mi, s + i + 1, close - 1 - (i + 1), s + us, ue - us, depth);
                    i = end + 1;
                    start = i;
                    continue;
                }
            }
            i++;
            continue;
        }
        if (c == '<' && !no_links) {
            size_t j = i + 1;
            while (j < n && p[j] != '>' && !is_space(p[j]) && p[j] != '<')
                j++;
            if (j < n && p[j] == '>' && asyncapi__docs_safe_url(s + i + 1, j - i - 1)) {
                FLUSH();
                emit_link(mi, s + i + 1, j - i - 1, s + i + 1, j - i - 1, depth);
                i = j + 1;
                start = i;
                continue;
            }
        }
        i++;
    }
    FLUSH();
#undef FLUSH
}

void asyncapi__md_inline_html(asyncapi__dbuf *b, const char *md, size_t n)
{
    md_inline mi;

    if (md == NULL)
        return;
    mi.b = b;
    memset(mi.noclose, 0, sizeof(mi.noclose));
    memset(mi.notick, 0, sizeof(mi.notick));
    md_inline_run(&mi, md, n, 0, 0);
}

/* Lines of a text: [start, end) without the '\n'. */
typedef struct md_line {
    const char *s;
    size_t n;
} md_line;

static size_t lead_spaces(md_line l)
{
    size_t i = 0;
    while (i < l.n && l.s[i] == ' ')
        i++;
    return i;
}

static int is_blank(md_line l)
{
    for (size_t i = 0; i < l.n; i++)
        if (!is_space((unsigned char)l.s[i]))
            return 0;
    return 1;
}

static int is_fence(md_line l)
{
    size_t i = lead_spaces(l);
    return i <= 3 && i + 3 <= l.n && strncmp(l.s + i, "```", 3) == 0;
}

/* Heading level 1..6 and text start, or 0. */
static int heading_level(md_line l, size_t *text)
{
    size_t i = lead_spaces(l), h = 0;

    if (i > 3)
        return 0;
    while (i + h < l.n && l.s[i + h] == '#')
        h++;
    if (h == 0 || h > 6)
        return 0;
    if (i + h < l.n && l.s[i + h] != ' ' && l.s[i + h] != '\t')
        return 0;
    *text = i + h;
    return (int)h;
}

/* List item: 1 bullet, 2 ordered; *text = start of the item text. */
static int list_item(md_line l, size_t *text)
{
    size_t i = lead_spaces(l), d = 0;

    if (i + 1 < l.n && (l.s[i] == '-' || l.s[i] == '*' || l.s[i] == '+') &&
        (l.s[i + 1] == ' ' || l.s[i + 1] == '\t')) {
        *text = i + 2;
        return 1;
    }
    while (i + d < l.n && d < 9 && l.s[i + d] >= '0' && l.s[i + d] <= '9')
        d++;
    if (d > 0 && i + d + 1 < l.n && (l.s[i + d] == '.' || l.s[i + d] == ')') &&
        (l.s[i + d + 1] == ' ' || l.s[i + d + 1] == '\t')) {
        *text = i + d + 2;
        return 2;
    }
    return 0;
}

static int is_hr(md_line l)
{
    size_t i = lead_spaces(l), cnt = 0;
    char c;

    if (i > 3 || i >= l.n)
        return 0;
    c = l.s[i];
    if (c != '-' && c != '*' && c != '_')
        return 0;
    for (; i < l.n; i++) {
        if (l.s[i] == c)
            cnt++;
        else if (l.s[i] != ' ' && l.s[i] != '\t' && l.s[i] != '\r')
            return 0;
    }
    return cnt >= 3;
}

static int is_quote(md_line l)
{
    size_t i = lead_spaces(l);
    return i <= 3 && i < l.n && l.s[i] == '>';
}

static size_t split_lines(const char *md, md_line *lines, size_t max)
{
    size_t n = 0;
    const char *p = md, *e;

    while (*p && n < max) {
        e = strchr(p, '\n');
        if (e == NULL)
            e = p + strlen(p);
        lines[n].s = p;
        lines[n].n = (size_t)(e - p);
        if (lines[n].n && lines[n].s[lines[n].n - 1] == '\r')
            lines[n].n--;
        n++;
        p = *e ? e + 1 : e;
    }
    return n;
}

/* Renders lines[0..n) as blocks. */
static void md_blocks(asyncapi__dbuf *b, md_line *lines, size_t n, int shift, int qdepth);

/* Inline text of lines[a..e) from offset first_off in the first line, joined by '\n'. */
static void md_inline_lines(asyncapi__dbuf *b, md_line *lines, size_t a, size_t e,
                            size_t first_off)
{
    asyncapi__dbuf tmp;
    size_t i, off;

    asyncapi__dbuf_init(&tmp);
    for (i = a; i < e; i++) {
        off = i == a ? first_off : lead_spaces(lines[i]);
        if (off > lines[i].n)
            off = lines[i].n;
        if (i > a)
            asyncapi__dbuf_putc(&tmp, '\n');
        asyncapi__dbuf_putn(&tmp, lines[i].s + off, lines[i].n - off);
    }
    if (tmp.err)
        b->err = b->err ? b->err : tmp.err;
    else if (tmp.len)
        asyncapi__md_inline_html(b, tmp.data, tmp.len);
    asyncapi__dbuf_release(&tmp);
}

static void md_blocks(asyncapi__dbuf *b, md_line *lines, size_t n, int shift, int qdepth)
{
    size_t i = 0, j, t;
    int lvl, kind;

    while (i < n && !b->err) {
        if (is_blank(lines[i])) {
            i++;
            continue;
        }
        if (is_fence(lines[i])) {
            asyncapi__dbuf_puts(b, "<pre><code>");
            for (j = i + 1; j < n && !is_fence(lines[j]); j++) {
                asyncapi__html_escn(b, lines[j].s, lines[j].n);
                asyncapi__dbuf_putc(b, '\n');
            }
            asyncapi__dbuf_puts(b, "</code></pre>\n");
            i = j < n ? j + 1 : n;
            continue;
        }
        if ((lvl = heading_level(lines[i], &t)) != 0) {
            size_t e = lines[i].n;
            lvl += shift;
            if (lvl > 6)
                lvl = 6;
            while (t < e && (lines[i].s[t] == ' ' || lines[i].s[t] == '\t'))
                t++;
            while (e > t && (lines[i].s[e - 1] == '#' || lines[i].s[e - 1] == ' '))
                e--;
            asyncapi__dbuf_printf(b, "<h%d>", lvl);
            asyncapi__md_inline_html(b, lines[i].s + t, e - t);
            asyncapi__dbuf_printf(b, "</h%d>\n", lvl);
            i++;
            continue;
        }
        if (is_hr(lines[i])) {
            asyncapi__dbuf_puts(b, "<hr>\n");
            i++;
            continue;
        }
        if (is_quote(lines[i])) {
            md_line q[1024];
            size_t nq = 0;
            for (j = i; j < n && !is_blank(lines[j]) && nq < 1024; j++) {
                md_line l = lines[j];
                size_t k = lead_spaces(l);
                if (k < l.n && l.s[k] == '>') {
                    k++;
                    if (k < l.n && l.s[k] == ' ')
                        k++;
                } else {
                    k = 0;
                }
                q[nq].s = l.s + k;
                q[nq].n = l.n - k;
                nq++;
            }
            asyncapi__dbuf_puts(b, "<blockquote>\n");
            if (qdepth < MD_MAX_QUOTE_DEPTH)
                md_blocks(b, q, nq, shift, qdepth + 1);
            else
                md_inline_lines(b, q, 0, nq, 0);
            asyncapi__dbuf_puts(b, "</blockquote>\n");
            i = j;
            continue;
        }
        if ((kind = list_item(lines[i], &t)) != 0) {
            asyncapi__dbuf_puts(b, kind == 1 ? "<ul>\n" : "<ol>\n");
            while (i < n) {
                size_t tt;
                int k2 = list_item(lines[i], &tt);
                if (k2 != kind)
                    break;
                for (j = i + 1; j < n && !is_blank(lines[j]) && !list_item(lines[j], &t) &&
                                !is_fence(lines[j]) && !heading_level(lines[j], &t);
                     j++)
                    ;
                asyncapi__dbuf_puts(b, "<li>");
                md_inline_lines(b, lines, i, j, tt);
                asyncapi__dbuf_puts(b, "</li>\n");
                i = j;
                /* a blank line between items keeps the list going */
                j = i;
                while (j < n && is_blank(lines[j]))
                    j++;
                if (j < n && list_item(lines[j], &t) == kind)
                    i = j;
                else
                    break;
            }
            asyncapi__dbuf_puts(b, kind == 1 ? "</ul>\n" : "</ol>\n");
            continue;
        }
        /* paragraph */
        for (j = i + 1; j < n && !is_blank(lines[j]) && !is_fence(lines[j]) &&
                        !heading_level(lines[j], &t) && !list_item(lines[j], &t) &&
                        !is_quote(lines[j]);
             j++)
            ;
        asyncapi__dbuf_puts(b, "<p>");
        md_inline_lines(b, lines, i, j, lead_spaces(lines[i]));
        asyncapi__dbuf_puts(b, "</p>\n");
        i = j;
    }
}

void asyncapi__md_to_html(asyncapi__dbuf *b, const char *md, int heading_shift)
{
    md_line *lines;
    size_t count = 1, n;
    const char *p;

    if (md == NULL || b->err)
        return;
    for (p = md; *p; p++)
        if (*p == '\n')
            count++;
    lines = malloc(count * sizeof(*lines));
    if (lines == NULL) {
        b->err = ASYNCAPI_ENOMEM;
        return;
    }
    n = split_lines(md, lines, count);
    md_blocks(b, lines, n, heading_shift, 0);
    free(lines);
}
