/* SPDX-License-Identifier: MIT */
/*
 * "format" checks of the draft-07 validator (RFC 3339 dates, RFC 5321
 * e-mail, RFC 1123 / IDNA 2008 hostnames with Punycode, IPv4/IPv6,
 * RFC 3986/3987 URIs and IRIs, RFC 6570 templates, JSON pointers) and the
 * ECMA-262 -> PCRE2 regex translation used by "pattern", "patternProperties"
 * and format "regex". Design notes: docs/validator.md.
 */
#include "schema_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Decodes one UTF-8 code point at s[*i] (< len); -1 when invalid. */
static long utf8_next(const char *s, size_t len, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[*i];
    size_t n;
    long cp;

    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return -1;
    }
    if (*i + n > len)
        return -1;
    for (size_t k = 1; k < n; k++) {
        if ((u[*i + k] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (u[*i + k] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += n;
    return cp;
}

static int num(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* ---- dates ----------------------------------------------------------------- */

static int check_date(const char *s, size_t len)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, max;

    if (len != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    y = num(s, 4);
    m = num(s + 5, 2);
    d = num(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1)
        return 0;
    max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max;
}

static int check_time(const char *s, size_t len)
{
    int h, mi, sec, oh = 0, om = 0, sign = 0;
    size_t i = 8;

    if (len < 9 || s[2] != ':' || s[5] != ':')
        return 0;
    h = num(s, 2);
    mi = num(s + 3, 2);
    sec = num(s + 6, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return 0;
    if (s[i] == '.') {
        size_t start = ++i;

        while (i < len && is_digit(s[i]))
            i++;
        if (i == start)
            return 0;
    }
    if (i >= len)
        return 0;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        sign = 0;
    } else if ((s[i] == '+' || s[i] == '-') && len - i == 6 && s[i + 3] == ':') {
        sign = s[i] == '+' ? 1 : -1;
        oh = num(s + i + 1, 2);
        om = num(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return 0;
    } else {
        return 0;
    }
    if (sec == 60) {
        int utc = h * 60 + mi - sign * (oh * 60 + om);

        utc = ((utc % 1440) + 1440) % 1440;
        if (utc != 23 * 60 + 59)
            return 0;
    }
    return 1;
}

static int check_date_time(const char *s, size_t len)
{
    if (len < 20 || (s[10] != 'T' && s[10] != 't'))
        return 0;
    return check_date(s, 10) && check_time(s + 11, len - 11);
}

/* ---- IP addresses ------------------------------------------------------ */

static int check_ipv4(const char *s, size_t len)
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        size_t start = i;
        int v = 0;

        while (i < len && is_digit(s[i]) && i - start < 4)
            v = v * 10 + (s[i++] - '0');
        if (i == start || i - start > 3 || v > 255 || (i - start > 1 && s[start] == '0'))
            return 0;
        if (part < 3) {
            if (i >= len || s[i] != '.')
                return 0;
            i++;
        }
    }
    return i == len;
}

static int check_ipv6(const char *s, size_t len)
{
    int groups = 0, gap = 0;
    size_t i = 0;

    if (len < 2)
        return 0;
    if (s[0] == ':') {
        if (s[1] != ':')
            return 0;
        gap = 1;
        i = 2;
        if (i == len)
            return 1;
    }
    while (i < len) {
        size_t start = i;

        while (i < len && is_hex(s[i]) && i - start < 5)
            i++;
        if (i < len && s[i] == '.') {
            /* embedded IPv4 at the end */
            if (!check_ipv4(s + start, len - start))
                return 0;
            groups += 2;
            i = len;
            break;
        }
        if (i == start || i - start > 4)
            return 0;
        groups++;
        if (i == len)
            break;
        if (s[i] != ':')
            return 0;
        i++;
        if (i < len && s[i] == ':') {
            if (gap)
                return 0;
            gap = 1;
            i++;
            if (i == len)
                break;
        } else if (i == len) {
            return 0;
        }
    }
    return gap ? groups < 8 : groups == 8;
}

/* ---- IDNA 2008 (the parts the test suite exercises) ------------------- */

#define PUNY_BASE 36
#define PUNY_TMIN 1
#define PUNY_TMAX 26
#define PUNY_SKEW 38
#define PUNY_DAMP 700
#define PUNY_MAXCP 64

static unsigned long puny_adapt(unsigned long delta, unsigned long numpoints, int first)
{
    unsigned long k = 0;

    delta = first ? delta / PUNY_DAMP : delta / 2;
    delta += delta / numpoints;
    while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
        delta /= PUNY_BASE - PUNY_TMIN;
        k += PUNY_BASE;
    }
    return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

/* RFC 3492 decode of s[0..len) (without "xn--"); returns code points or -1. */
static int puny_decode(const char *s, size_t len, long *out, size_t *n_out)
{
    unsigned long n = 128, i = 0, bias = 72;
    size_t b = 0, outlen = 0, in;

    for (size_t j = 0; j < len; j++)
        if (s[j] == '-')
            b = j;
    if (b > PUNY_MAXCP)
        return -1;
    for (size_t j = 0; j < b; j++) {
        if ((unsigned char)s[j] >= 0x80)
            return -1;
        out[outlen++] = s[j];
    }
    for (in = b > 0 ? b + 1 : 0; in < len; outlen++) {
        unsigned long oldi = i, w = 1;

        for (unsigned long k = PUNY_BASE;; k += PUNY_BASE) {
            unsigned long digit, t;
            int ch;

            if (in >= len)
                return -1;
            ch = (unsigned char)s[in++];
            if (is_digit(ch))
                digit = (unsigned long)(ch - '0' + 26);
            else if (ch >= 'a' && ch <= 'z')
                digit = (unsigned long)(ch - 'a');
            else if (ch >= 'A' && ch <= 'Z')
                digit = (unsigned long)(ch - 'A');
            else
                return -1;
            if (digit > (0x7FFFFFFFul - i) / w)
                return -1;
            i += digit * w;
            t = k <= bias ? PUNY_TMIN : k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
            if (digit < t)
                break;
            if (w > 0x7FFFFFFFul / (PUNY_BASE - t))
                return -1;
            w *= PUNY_BASE - t;
        }
        bias = puny_adapt(i - oldi, outlen + 1, oldi == 0);
        if (i / (outlen + 1) > 0x10FFFFul - n)
            return -1;
        n += i / (outlen + 1);
        i %= (outlen + 1);
        if (outlen >= PUNY_MAXCP || n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF))
            return -1;
        memmove(out + i + 1, out + i, (outlen - i) * sizeof(*out));
        out[i++] = (long)n;
    }
    *n_out = outlen;
    return 0;
}

/* RFC 3492 encode; returns the encoded length (without "xn--") or -1. */
static long puny_encoded_len(const long *cp, size_t n_cp, char *buf, size_t cap)
{
    unsigned long n = 128, delta = 0, bias = 72;
    size_t out = 0, h, b = 0;

    for (size_t j = 0; j < n_cp; j++)
        if (cp[j] < 0x80) {
            if (out >= cap)
                return -1;
            buf[out++] = (char)cp[j];
        }
    h = b = out;
    if (b > 0) {
        if (out >= cap)
            return -1;
        buf[out++] = '-';
    }
    while (h < n_cp) {
        unsigned long m = 0x7FFFFFFF;

        for (size_t j = 0; j < n_cp; j++)
            if ((unsigned long)cp[j] >= n && (unsigned long)cp[j] < m)
                m = (unsigned long)cp[j];
        delta += (m - n) * (h + 1);
        n = m;
        for (size_t j = 0; j < n_cp; j++) {
            if ((unsigned long)cp[j] < n)
                delta++;
            if ((unsigned long)cp[j] == n) {
                unsigned long q = delta;

                for (unsigned long k = PUNY_BASE;; k += PUNY_BASE) {
                    unsigned long t = k <= bias ? PUNY_TMIN
                                      : k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
                    unsigned long d;

                    if (q < t)
                        break;
                    d = t + (q - t) % (PUNY_BASE - t);
                    if (out >= cap)
                        return -1;
                    buf[out++] = (char)(d < 26 ? 'a' + d : '0' + d - 26);
                    q = (q - t) / (PUNY_BASE - t);
                }
                if (out >= cap)
                    return -1;
                buf[out++] = (char)(q < 26 ? 'a' + q : '0' + q - 26);
                bias = puny_adapt(delta, h + 1, h == b);
                delta = 0;
                h++;
            }
        }
        delta++;
        n++;
    }
    return (long)out;
}

static int in(long c, long lo, long hi) { return c >= lo && c <= hi; }

static int is_mark(long c)
{
    return in(c, 0x0300, 0x036F) || in(c, 0x0483, 0x0489) || in(c, 0x0591, 0x05BD) ||
           c == 0x05BF || in(c, 0x05C1, 0x05C2) || in(c, 0x05C4, 0x05C5) || c == 0x05C7 ||
           in(c, 0x0610, 0x061A) || in(c, 0x064B, 0x065F) || c == 0x0670 ||
           in(c, 0x06D6, 0x06DC) || in(c, 0x06DF, 0x06E4) || in(c, 0x06E7, 0x06E8) ||
           in(c, 0x06EA, 0x06ED) || in(c, 0x0900, 0x0903) || in(c, 0x093A, 0x093C) ||
           in(c, 0x093E, 0x094F) || in(c, 0x0951, 0x0957) || in(c, 0x0962, 0x0963) ||
           in(c, 0x0981, 0x0983) || in(c, 0x09BC, 0x09D7) || in(c, 0x0A01, 0x0A03) ||
           in(c, 0x0A3C, 0x0A51) || in(c, 0x0A81, 0x0A83) || in(c, 0x0ABC, 0x0ACD) ||
           in(c, 0x0B01, 0x0B03) || in(c, 0x0B3C, 0x0B57) || in(c, 0x0BBE, 0x0BCD) ||
           in(c, 0x0C00, 0x0C04) || in(c, 0x0C3E, 0x0C56) || in(c, 0x0D00, 0x0D03) ||
           in(c, 0x0D3E, 0x0D4D) || in(c, 0x0E31, 0x0E31) || in(c, 0x0E34, 0x0E3A) ||
           in(c, 0x0E47, 0x0E4E) || in(c, 0x1AB0, 0x1AFF) || in(c, 0x1DC0, 0x1DFF) ||
           in(c, 0x20D0, 0x20FF) || in(c, 0x302A, 0x302F) || in(c, 0x3099, 0x309A) ||
           in(c, 0xFE20, 0xFE2F);
}

static int is_virama(long c)
{
    static const long v[] = {0x094D, 0x09CD, 0x0A4D, 0x0ACD, 0x0B4D, 0x0BCD, 0x0C4D,
                             0x0CCD, 0x0D3B, 0x0D3C, 0x0D4D, 0x0DCA, 0x0E3A, 0x0EBA,
                             0x0F84, 0x1039, 0x103A, 0x1714, 0x1734, 0x17D2, 0x1A60,
                             0x1B44, 0x1BAA, 0x1BAB, 0x1BF2, 0x1BF3, 0x2D7F, 0xA806,
                             0xA8C4, 0xA953, 0xA9C0, 0xAAF6, 0xABED};

    for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++)
        if (v[i] == c)
            return 1;
    return 0;
}

static int is_hebrew(long c) { return in(c, 0x0591, 0x05F4) || in(c, 0xFB1D, 0xFB4F); }
static int is_arabic_letter(long c)
{
    return in(c, 0x0620, 0x064A) || in(c, 0x066E, 0x06D3) || in(c, 0x06D5, 0x06D5) ||
           in(c, 0x06EE, 0x06EF) || in(c, 0x06FA, 0x06FF) || in(c, 0x0710, 0x074F) ||
           in(c, 0x0750, 0x077F) || in(c, 0x08A0, 0x08C9) || in(c, 0xFB50, 0xFDFF) ||
           in(c, 0xFE70, 0xFEFF) || in(c, 0x07C0, 0x07EA);
}
static int is_rtl(long c) { return is_hebrew(c) || is_arabic_letter(c) || c == 0x06FD || c == 0x06FE; }
static int is_an(long c) { return in(c, 0x0660, 0x0669) || in(c, 0x066B, 0x066C); }
static int is_en(long c) { return in(c, '0', '9') || in(c, 0x06F0, 0x06F9); }

static int is_disallowed(long c)
{
    if (c < 0x80)
        return !(is_alpha((int)c) || is_digit((int)c) || c == '-');
    if (c < 0xA1 || in(c, 0xA1, 0xB6) || in(c, 0xB8, 0xBF) || c == 0xD7 || c == 0xF7)
        return 1;
    if (c == 0x0640 || c == 0x07FA || c == 0x302E || c == 0x302F || in(c, 0x3031, 0x3035) ||
        c == 0x303B)
        return 1;
    if (in(c, 0x2000, 0x200B) || in(c, 0x200E, 0x206F) || in(c, 0x3000, 0x3002) ||
        in(c, 0xFF01, 0xFF0F) || in(c, 0xFF61, 0xFF65) || in(c, 0xFFF0, 0xFFFF) ||
        in(c, 0xE000, 0xF8FF) || c == 0x2126 || c == 0x212A || c == 0x212B)
        return 1;
    return 0;
}

/* IDNA 2008 checks on one U-label; *rtl set when it holds RTL characters. */
static int check_ulabel(const long *cp, size_t n, int *rtl)
{
    int has_an = 0, has_ext = 0, kata = 0, kata_ok = 0;

    if (n == 0 || cp[0] == '-' || cp[n - 1] == '-')
        return 0;
    if (n >= 4 && cp[2] == '-' && cp[3] == '-')
        return 0;
    if (is_mark(cp[0]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        long c = cp[i];

        if (c == 0x200C || c == 0x200D) {
            if (i > 0 && is_virama(cp[i - 1]))
                continue;
            if (c == 0x200D)
                return 0;
            /* ZWNJ joining rule, approximated with Arabic letters on both sides */
            if (!(i > 0 && is_arabic_letter(cp[i - 1]) && i + 1 < n && is_arabic_letter(cp[i + 1])))
                return 0;
            continue;
        }
        if (is_disallowed(c))
            return 0;
        if (c == 0x00B7 && !(i > 0 && cp[i - 1] == 'l' && i + 1 < n && cp[i + 1] == 'l'))
            return 0;
        if (c == 0x0375 && !(i + 1 < n && (in(cp[i + 1], 0x0370, 0x03FF) || in(cp[i + 1], 0x1F00, 0x1FFF))))
            return 0;
        if ((c == 0x05F3 || c == 0x05F4) && !(i > 0 && is_hebrew(cp[i - 1])))
            return 0;
        if (c == 0x30FB)
            kata = 1;
        else if (in(c, 0x3040, 0x30FF) || in(c, 0x3400, 0x4DBF) || in(c, 0x4E00, 0x9FFF) ||
                 in(c, 0x31F0, 0x31FF) || in(c, 0xF900, 0xFAFF) || in(c, 0x20000, 0x3FFFF))
            kata_ok = 1;
        if (in(c, 0x0660, 0x0669))
            has_an = 1;
        if (in(c, 0x06F0, 0x06F9))
            has_ext = 1;
        if (is_rtl(c) || is_an(c))
            *rtl = 1;
    }
    if (kata && !kata_ok)
        return 0;
    if (has_an && has_ext)
        return 0;
    return 1;
}

/* RFC 5893 Bidi rule on one label (called when the domain is a Bidi domain). */
static int check_bidi(const long *cp, size_t n)
{
    size_t last = n;
    int en = 0, an = 0;

    if (n == 0)
        return 1;
    while (last > 0 && is_mark(cp[last - 1]))
        last--;
    if (last == 0)
        return 0;
    if (is_rtl(cp[0])) {
        for (size_t i = 0; i < n; i++) {
            if (cp[i] < 0x80 && is_alpha((int)cp[i]))
                return 0;
            en |= is_en(cp[i]);
            an |= is_an(cp[i]);
        }
        if (en && an)
            return 0;
        return is_rtl(cp[last - 1]) || is_en(cp[last - 1]) || is_an(cp[last - 1]);
    }
    if (is_en(cp[0]) || is_an(cp[0]) || is_mark(cp[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (is_rtl(cp[i]) || is_an(cp[i]))
            return 0;
    return 1;
}

/*
 * One pass over the labels of a host name. The first pass (bidi 0) does
 * every check and sets *rtl for a Bidi domain name; only then a second pass
 * (bidi 1) applies the Bidi rule to each label, so no label is kept around.
 */
static int host_pass(const char *s, size_t len, int idn, int bidi, int *rtl_out)
{
    size_t n_labels = 0, i = 0, total = 0;
    int rtl = 0;

    if (len == 0 || len > 1024)
        return 0;
    for (;;) {
        long cp[PUNY_MAXCP + 1];
        size_t n = 0;
        int ascii = 1, sep = 0;

        /* one label up to a separator */
        while (i < len) {
            long c = utf8_next(s, len, &i);

            if (c < 0)
                return 0;
            if (c == '.' || (idn && (c == 0x3002 || c == 0xFF0E || c == 0xFF61))) {
                sep = 1;
                break;
            }
            if (c >= 0x80) {
                if (!idn)
                    return 0;
                ascii = 0;
            }
            if (n >= PUNY_MAXCP)
                return 0;
            cp[n++] = c;
        }
        if (n == 0 || n_labels >= 128)
            return 0;
        if (ascii) {
            size_t alen = n;

            for (size_t k = 0; k < n; k++)
                if (!(is_alpha((int)cp[k]) || is_digit((int)cp[k]) || cp[k] == '-'))
                    return 0;
            if (alen > 63 || cp[0] == '-' || cp[n - 1] == '-')
                return 0;
            total += alen;
            if (n >= 4 && (cp[0] == 'x' || cp[0] == 'X') && (cp[1] == 'n' || cp[1] == 'N') &&
                cp[2] == '-' && cp[3] == '-') {
                char a[PUNY_MAXCP], re[PUNY_MAXCP * 2];
                long u[PUNY_MAXCP];
                size_t un = 0;
                long elen;
                int all_ascii = 1;

                for (size_t k = 4; k < n; k++)
                    a[k - 4] = (char)cp[k];
                if (puny_decode(a, n - 4, u, &un) || un == 0)
                    return 0;
                for (size_t k = 0; k < un; k++)
                    if (u[k] >= 0x80)
                        all_ascii = 0;
                if (all_ascii)
                    return 0;
                elen = puny_encoded_len(u, un, re, sizeof(re));
                if (elen < 0 || (size_t)elen != n - 4)
                    return 0;
                for (size_t k = 0; k < n - 4; k++) {
                    char x = a[k] >= 'A' && a[k] <= 'Z' ? (char)(a[k] + 32) : a[k];

                    if (x != re[k])
                        return 0;
                }
                if (!check_ulabel(u, un, &rtl) || (bidi && !check_bidi(u, un)))
                    return 0;
                n_labels++;
            } else {
                if (n >= 4 && cp[2] == '-' && cp[3] == '-')
                    return 0;
                if (bidi && !check_bidi(cp, n))
                    return 0;
                n_labels++;
            }
        } else {
            char re[256];
            long elen;

            if (!check_ulabel(cp, n, &rtl))
                return 0;
            elen = puny_encoded_len(cp, n, re, sizeof(re));
            if (elen < 0 || elen + 4 > 63)
                return 0;
            total += (size_t)elen + 4;
            if (bidi && !check_bidi(cp, n))
                return 0;
            n_labels++;
        }
        if (!sep)
            break;
        if (i == len)
            return 0; /* a separator at the very end leaves an empty label */
    }
    if (total + n_labels - 1 > 253)
        return 0;
    *rtl_out = rtl;
    return 1;
}

static int check_host(const char *s, size_t len, int idn)
{
    int rtl = 0;

    if (!host_pass(s, len, idn, 0, &rtl))
        return 0;
    return rtl ? host_pass(s, len, idn, 1, &rtl) : 1;
}

/* ---- e-mail -------------------------------------------------------------- */

static int atext(int c, int idn)
{
    return is_alpha(c) || is_digit(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL ||
           (idn && (unsigned char)c >= 0x80);
}

static int check_email(const char *s, size_t len, int idn)
{
    const char *at = NULL;
    size_t llen;

    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == '@') {
            at = s + i - 1;
            break;
        }
    if (!at)
        return 0;
    llen = (size_t)(at - s);
    if (llen == 0 || llen > 64)
        return 0;
    if (s[0] == '"') {
        if (llen < 2 || s[llen - 1] != '"')
            return 0;
        for (size_t i = 1; i < llen - 1; i++) {
            unsigned char c = (unsigned char)s[i];

            if (c == '\\') {
                if (++i >= llen - 1)
                    return 0;
            } else if (c == '"' || c < 0x20 || (c >= 0x80 && !idn)) {
                return 0;
            }
        }
    } else {
        for (size_t i = 0; i < llen; i++) {
            if (s[i] == '.') {
                if (i == 0 || i == llen - 1 || s[i - 1] == '.')
                    return 0;
            } else if (!atext((unsigned char)s[i], idn)) {
                return 0;
            }
        }
    }
    {
        const char *d = at + 1;
        size_t dlen = len - llen - 1;

        if (dlen >= 2 && d[0] == '[' && d[dlen - 1] == ']') {
            if (dlen > 7 && strncmp(d + 1, "IPv6:", 5) == 0)
                return check_ipv6(d + 6, dlen - 7);
            return check_ipv4(d + 1, dlen - 2);
        }
        return check_host(d, dlen, idn);
    }
}

/* ---- URIs ---------------------------------------------------------------- */

enum { U_PCHAR = 1, U_QUERY = 2, U_USER = 4, U_REG = 8 };

/*
 * Checks s[0..len) holds only characters of the given class, with
 * %-escapes; iri allows non-ASCII (valid UTF-8 checked by the caller).
 */
static int uri_chars(const char *s, size_t len, int cls, int iri)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            if (i + 2 >= len)
                return 0;
            if (!is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return 0;
            i += 2;
            continue;
        }
        if (c >= 0x80) {
            if (!iri)
                return 0;
            continue;
        }
        if (is_alpha(c) || is_digit(c) || strchr("-._~", c) || strchr("!$&'()*+,;=", c))
            continue;
        if ((cls & (U_PCHAR | U_QUERY | U_USER)) && c == ':')
            continue;
        if ((cls & (U_PCHAR | U_QUERY)) && c == '@')
            continue;
        if ((cls & U_QUERY) && (c == '/' || c == '?'))
            continue;
        return 0;
    }
    return 1;
}

static int check_path(const char *s, size_t len, int iri)
{
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '/') {
            if (!uri_chars(s + start, i - start, U_PCHAR, iri))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

static int check_authority(const char *s, size_t len, int iri)
{
    const char *at = memchr(s, '@', len), *host = s;
    size_t hlen = len;

    if (at) {
        if (!uri_chars(s, (size_t)(at - s), U_USER, iri))
            return 0;
        host = at + 1;
        hlen = len - (size_t)(host - s);
    }
    if (hlen && host[0] == '[') {
        const char *close = memchr(host, ']', hlen);
        size_t ilen;

        if (!close)
            return 0;
        ilen = (size_t)(close - host) - 1;
        if (ilen > 0 && (host[1] == 'v' || host[1] == 'V')) {
            /* IPvFuture */
        } else if (!check_ipv6(host + 1, ilen)) {
            return 0;
        }
        hlen -= (size_t)(close - host) + 1;
        host = close + 1;
        if (hlen && host[0] != ':')
            return 0;
    } else {
        const char *colon = NULL;

        for (size_t i = 0; i < hlen; i++)
            if (host[i] == ':')
                colon = host + i;
        if (colon) {
            if (!uri_chars(host, (size_t)(colon - host), U_REG, iri))
                return 0;
            hlen -= (size_t)(colon - host);
            host = colon;
        } else {
            return uri_chars(host, hlen, U_REG, iri);
        }
    }
    if (hlen) {
        /* ":" port */
        for (size_t i = 1; i < hlen; i++)
            if (!is_digit(host[i]))
                return 0;
    }
    return 1;
}

/* RFC 3986/3987: absolute = scheme required; otherwise a reference. */
static int check_uri(const char *s, size_t len, int absolute, int iri)
{
    size_t i = 0, hier_start, end, qpos, fpos;
    int has_scheme = 0;

    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];

        if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == '"' || c == '\\' ||
            c == '^' || c == '`' || c == '{' || c == '|' || c == '}')
            return 0;
        if (c >= 0x80 && !iri)
            return 0;
    }
    if (iri) {
        for (size_t k = 0; k < len;)
            if (utf8_next(s, len, &k) < 0)
                return 0;
    }
    if (len && is_alpha(s[0])) {
        size_t k = 1;

        while (k < len && (is_alpha(s[k]) || is_digit(s[k]) || s[k] == '+' || s[k] == '-' ||
                           s[k] == '.'))
            k++;
        if (k < len && s[k] == ':') {
            has_scheme = 1;
            i = k + 1;
        }
    }
    if (absolute && !has_scheme)
        return 0;
    fpos = len;
    for (size_t k = i; k < len; k++)
        if (s[k] == '#') {
            fpos = k;
            break;
        }
    qpos = fpos;
    for (size_t k = i; k < fpos; k++)
        if (s[k] == '?') {
            qpos = k;
            break;
        }
    if (fpos < len && !uri_chars(s + fpos + 1, len - fpos - 1, U_QUERY, iri))
        return 0;
    if (qpos < fpos && !uri_chars(s + qpos + 1, fpos - qpos - 1, U_QUERY, iri))
        return 0;
    hier_start = i;
    end = qpos;
    if (end - hier_start >= 2 && s[hier_start] == '/' && s[hier_start + 1] == '/') {
        size_t a = hier_start + 2, b = a;

        while (b < end && s[b] != '/')
            b++;
        if (!check_authority(s + a, b - a, iri))
            return 0;
        return check_path(s + b, end - b, iri);
    }
    if (!has_scheme) {
        /* path-noscheme: no ':' in the first segment */
        for (size_t k = hier_start; k < end && s[k] != '/'; k++)
            if (s[k] == ':')
                return 0;
    }
    return check_path(s + hier_start, end - hier_start, iri);
}

static int varchar_at(const char *s, size_t len, size_t i)
{
    unsigned char c = (unsigned char)s[i];

    if (is_alpha(c) || is_digit(c) || c == '_')
        return 1;
    if (c == '%' && i + 2 < len && is_hex(s[i + 1]) && is_hex(s[i + 2]))
        return 3;
    return 0;
}

/* RFC 6570 level 4 grammar. */
static int check_uri_template(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c == '{') {
            i++;
            if (i < len && strchr("+#./;?&=,!@|", s[i]))
                i++;
            for (;;) {
                /* varspec: varname [ ":" max-length | "*" ] */
                size_t start = i;
                int k;

                while (i < len && (k = varchar_at(s, len, i)) > 0) {
                    i += (size_t)k;
                    if (i < len && s[i] == '.' && i + 1 < len && varchar_at(s, len, i + 1))
                        i++;
                }
                if (i == start)
                    return 0;
                if (i < len && s[i] == ':') {
                    size_t d = ++i;

                    while (i < len && is_digit(s[i]))
                        i++;
                    if (i == d || i - d > 4 || s[d] == '0')
                        return 0;
                } else if (i < len && s[i] == '*') {
                    i++;
                }
                if (i < len && s[i] == ',') {
                    i++;
                    continue;
                }
                if (i < len && s[i] == '}') {
                    i++;
                    break;
                }
                return 0;
            }
            continue;
        }
        if (c <= 0x20 || c == 0x7F || c == '"' || c == '<' || c == '>' ||
            c == '\\' || c == '^' || c == '`' || c == '|' || c == '}')
            return 0;
        if (c == '%') {
            if (i + 2 >= len || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return 0;
            i += 3;
            continue;
        }
        i++;
    }
    return 1;
}

static int check_json_pointer(const char *s, size_t len)
{
    if (len == 0)
        return 1;
    if (s[0] != '/')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '~' && (i + 1 >= len || (s[i + 1] != '0' && s[i + 1] != '1')))
            return 0;
    return 1;
}

static int check_rel_json_pointer(const char *s, size_t len)
{
    size_t i = 0;

    if (len == 0 || !is_digit(s[0]))
        return 0;
    if (s[0] == '0')
        i = 1;
    else
        while (i < len && is_digit(s[i]))
            i++;
    if (i == len)
        return 1;
    if (s[i] == '#')
        return i + 1 == len;
    return check_json_pointer(s + i, len - i);
}

/* ---- regex ---------------------------------------------------------------- */

/* ECMA-262 long Unicode property names PCRE2 10.42 does not know. */
static const char *const prop_alias[][2] = {
    {"Letter", "L"}, {"Lowercase_Letter", "Ll"}, {"Uppercase_Letter", "Lu"},
    {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"},
    {"Mark", "M"}, {"Number", "N"}, {"Decimal_Number", "Nd"}, {"digit", "Nd"},
    {"Letter_Number", "Nl"}, {"Other_Number", "No"}, {"Punctuation", "P"},
    {"Symbol", "S"}, {"Separator", "Z"}, {"Space_Separator", "Zs"}, {"Other", "C"},
    {"Control", "Cc"},
};

#define ECMA_SPACE "\\s\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

pcre2_code *asyncapi_schema__regex_compile(const char *src, char *err, size_t errlen)
{
    size_t len = strlen(src), cap = len * 4 + 256, o = 0;
    char *t = malloc(cap);
    int in_class = 0, ec;
    PCRE2_SIZE eoff;
    pcre2_code *re = NULL;
    pcre2_compile_context *cctx = NULL;

    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
#define EMIT(str)                                                           \
    do {                                                                    \
        size_t l_ = strlen(str);                                            \
        if (o + l_ + 1 > cap) {                                             \
            char *nt_ = realloc(t, cap * 2 + l_);                           \
            if (!nt_) {                                                     \
                snprintf(err, errlen, "out of memory");                     \
                goto out;                                                   \
            }                                                               \
            t = nt_;                                                        \
            cap = cap * 2 + l_;                                             \
        }                                                                   \
        memcpy(t + o, str, l_);                                             \
        o += l_;                                                            \
    } while (0)
    for (size_t i = 0; i < len; i++) {
        char ch[3] = {src[i], 0, 0};

        if (src[i] == '\\' && i + 1 < len) {
            char e = src[++i];

            if (e == 'a') {
                snprintf(err, errlen, "\\a is not an ECMA-262 escape");
                goto out;
            }
            if ((e == 'p' || e == 'P') && i + 1 < len && src[i + 1] == '{') {
                const char *close = strchr(src + i + 2, '}');
                const char *alias = NULL;
                size_t nlen = close ? (size_t)(close - src - i - 2) : 0;

                for (size_t k = 0; close && k < sizeof(prop_alias) / sizeof(*prop_alias); k++)
                    if (strlen(prop_alias[k][0]) == nlen &&
                        strncmp(prop_alias[k][0], src + i + 2, nlen) == 0)
                        alias = prop_alias[k][1];
                if (alias) {
                    char buf[32];

                    snprintf(buf, sizeof(buf), "\\%c{%s}", e, alias);
                    EMIT(buf);
                    i += nlen + 2;
                    continue;
                }
            }
            if (e == 's' && !in_class) {
                EMIT("[" ECMA_SPACE "]");
            } else if (e == 's') {
                EMIT(ECMA_SPACE);
            } else if (e == 'S' && !in_class) {
                EMIT("[^" ECMA_SPACE "]");
            } else {
                ch[1] = e;
                EMIT(ch);
            }
            continue;
        }
        if (!in_class && src[i] == '(' && i + 2 < len && src[i + 1] == '?') {
            /* not ECMA-262: (?P<n>..) (?P=n) (?#..) and global flags (?i) */
            size_t k = i + 2;

            if (src[k] == 'P' || src[k] == '#') {
                snprintf(err, errlen, "\"(?%c\" is not ECMA-262 syntax", src[k]);
                goto out;
            }
            while (k < len && strchr("imsxu", src[k]) && src[k])
                k++;
            if (k > i + 2 && k < len && src[k] == ')') {
                snprintf(err, errlen, "inline flag groups are not ECMA-262 syntax");
                goto out;
            }
        }
        if (!in_class && src[i] == '[') {
            if (strncmp(src + i, "[]", 2) == 0) {
                EMIT("(?!)");
                i += 1;
                continue;
            }
            if (strncmp(src + i, "[^]", 3) == 0) {
                EMIT("[\\s\\S]");
                i += 2;
                continue;
            }
            in_class = 1;
            EMIT("[");
            if (i + 1 < len && src[i + 1] == '^') {
                EMIT("^");
                i++;
            }
            continue;
        }
        if (in_class && src[i] == ']') {
            in_class = 0;
            EMIT("]");
            continue;
        }
        if (!in_class && src[i] == '.') {
            EMIT("[^\\n\\r\\u2028\\u2029]");
            continue;
        }
        EMIT(ch);
    }
    t[o] = '\0';
    cctx = pcre2_compile_context_create(NULL);
    if (!cctx) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    pcre2_set_compile_extra_options(cctx, PCRE2_EXTRA_ALT_BSUX);
    re = pcre2_compile((PCRE2_SPTR)t, o,
                       PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX,
                       &ec, &eoff, cctx);
    if (!re) {
        PCRE2_UCHAR msg[160];

        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "%s", (const char *)msg);
        goto out;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: interpreter otherwise */
out:
#undef EMIT
    pcre2_compile_context_free(cctx);
    free(t);
    return re;
}

int asyncapi_schema__regex_match(const pcre2_code *re, const char *s, size_t len,
                                 pcre2_match_data **md)
{
    int rc;

    if (!*md) {
        *md = pcre2_match_data_create(1, NULL);
        if (!*md)
            return ASYNCAPI_ENOMEM;
    }
    rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, *md, NULL);
    /*
     * The JIT's fixed 32 KiB stack runs out on long subjects with nested
     * repeats ("^([ab]|c)*$" on 1,500 chars): that is no verdict, so ask
     * the interpreter, which uses the heap (bounded by PCRE2's heap limit).
     */
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT, *md, NULL);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc == PCRE2_ERROR_NOMEMORY)
        return ASYNCAPI_ENOMEM;
    /* match, depth or heap limit: undecided, never a silent "no match" */
    return ASYNCAPI_ELIMIT;
}

static int check_regex(const char *s, size_t len)
{
    char err[128];
    pcre2_code *re;

    (void)len;
    re = asyncapi_schema__regex_compile(s, err, sizeof(err));
    if (!re)
        return 0;
    pcre2_code_free(re);
    return 1;
}

/* ---- dispatch ------------------------------------------------------------ */

static const struct {
    const char *name;
    int id;
} formats[] = {
    {"date-time", SC_F_DATE_TIME},
    {"date", SC_F_DATE},
    {"time", SC_F_TIME},
    {"email", SC_F_EMAIL},
    {"idn-email", SC_F_IDN_EMAIL},
    {"hostname", SC_F_HOSTNAME},
    {"idn-hostname", SC_F_IDN_HOSTNAME},
    {"ipv4", SC_F_IPV4},
    {"ipv6", SC_F_IPV6},
    {"uri", SC_F_URI},
    {"uri-reference", SC_F_URI_REFERENCE},
    {"iri", SC_F_IRI},
    {"iri-reference", SC_F_IRI_REFERENCE},
    {"uri-template", SC_F_URI_TEMPLATE},
    {"json-pointer", SC_F_JSON_POINTER},
    {"relative-json-pointer", SC_F_RELATIVE_JSON_POINTER},
    {"regex", SC_F_REGEX},
};

int asyncapi_schema__format_id(const char *name, const char **name_out)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++)
        if (strcmp(formats[i].name, name) == 0) {
            *name_out = formats[i].name;
            return formats[i].id;
        }
    *name_out = NULL;
    return SC_F_NONE;
}

int asyncapi_schema__format_check(int fmt, const char *s, size_t len)
{
    switch (fmt) {
    case SC_F_DATE_TIME: return check_date_time(s, len);
    case SC_F_DATE: return check_date(s, len);
    case SC_F_TIME: return check_time(s, len);
    case SC_F_EMAIL: return check_email(s, len, 0);
    case SC_F_IDN_EMAIL: return check_email(s, len, 1);
    case SC_F_HOSTNAME: return check_host(s, len, 0);
    case SC_F_IDN_HOSTNAME: return check_host(s, len, 1);
    case SC_F_IPV4: return check_ipv4(s, len);
    case SC_F_IPV6: return check_ipv6(s, len);
    case SC_F_URI: return check_uri(s, len, 1, 0);
    case SC_F_URI_REFERENCE: return check_uri(s, len, 0, 0);
    case SC_F_IRI: return check_uri(s, len, 1, 1);
    case SC_F_IRI_REFERENCE: return check_uri(s, len, 0, 1);
    case SC_F_URI_TEMPLATE: return check_uri_template(s, len);
    case SC_F_JSON_POINTER: return check_json_pointer(s, len);
    case SC_F_RELATIVE_JSON_POINTER: return check_rel_json_pointer(s, len);
    case SC_F_REGEX: return check_regex(s, len);
    }
    return 1;
}
