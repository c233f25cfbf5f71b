/* SPDX-License-Identifier: MIT */
/*
 * Generates strings that match a regular expression (the common subset of
 * JSON Schema "pattern"s): a recursive walk of the pattern that emits while
 * it parses. Anything it cannot honour exactly is SIM_EUNSUPPORTED, so the
 * caller falls back to retries checked with the compiled schema.
 * Design notes: docs/sim.md.
 */
#include <stdint.h>
#include <string.h>

#include "sim_gen.h"

#define REGEX_MAX_REPEAT 3 /* extra repetitions for *, + and {n,} */
#define REGEX_MAX_DEPTH 32 /* group nesting */
/*
 * Atoms visited per generated string. Repeats of nested groups multiply
 * ("((a{0})+)+..." visits about 2.5^depth atoms while emitting nothing, so
 * the output bound never stops it): past this budget the pattern is
 * SIM_ELIMIT and the caller falls back to retries.
 */
#define REGEX_MAX_STEPS 200000

typedef struct regex_out {
    char *buf;   /* output */
    size_t size; /* capacity incl. NUL */
    size_t len;  /* bytes written */
    sim_rng *rng;
    unsigned long steps; /* atoms visited so far, at most REGEX_MAX_STEPS */
    int err;     /* first error (SIM_E*), 0 if none */
} regex_out;

/* A set of printable ASCII characters 32..126 as a bitmap. */
typedef struct regex_set {
    uint64_t bits[2];
} regex_set;

static void set_add(regex_set *s, int c)
{
    if (c >= 0 && c < 128)
        s->bits[c >> 6] |= (uint64_t)1 << (c & 63);
}

static int set_has(const regex_set *s, int c)
{
    return c >= 0 && c < 128 && (s->bits[c >> 6] >> (c & 63)) & 1;
}

static void set_add_range(regex_set *s, int a, int b)
{
    for (int c = a; c <= b; c++)
        set_add(s, c);
}

/* Adds the class of escape letter e (d w s D W S); 0 if not a class. */
static int set_add_escape_class(regex_set *s, char e)
{
    regex_set t = {{0, 0}};
    switch (e) {
    case 'd': case 'D':
        set_add_range(&t, '0', '9');
        break;
    case 'w': case 'W':
        set_add_range(&t, '0', '9');
        set_add_range(&t, 'a', 'z');
        set_add_range(&t, 'A', 'Z');
        set_add(&t, '_');
        break;
    case 's': case 'S':
        set_add(&t, ' ');
        break;
    default:
        return 0;
    }
    if (e >= 'A' && e <= 'Z') {
        for (int c = 32; c < 127; c++)
            if (!set_has(&t, c) && !(e == 'S' && (c == ' ')))
                set_add(s, c);
    } else {
        s->bits[0] |= t.bits[0];
        s->bits[1] |= t.bits[1];
    }
    return 1;
}

static void out_char(regex_out *o, int c)
{
    if (o->err)
        return;
    if (o->len + 1 >= o->size) {
        o->err = SIM_ELIMIT;
        return;
    }
    o->buf[o->len++] = (char)c;
}

/* Picks a member of s, preferring letters and digits for readable output. */
static void out_from_set(regex_out *o, const regex_set *s)
{
    int nice[128], n_nice = 0, all[128], n_all = 0;
    for (int c = 32; c < 127; c++) {
        if (!set_has(s, c))
            continue;
        all[n_all++] = c;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            nice[n_nice++] = c;
    }
    if (n_all == 0) {
        o->err = SIM_EUNSUPPORTED;
        return;
    }
    if (n_nice > 0 && !sim_rng_chance(o->rng, 0.1))
        out_char(o, nice[sim_rng_below(o->rng, (uint64_t)n_nice)]);
    else
        out_char(o, all[sim_rng_below(o->rng, (uint64_t)n_all)]);
}

/* Value of an escaped literal (\n, \., ...); -1 if unsupported. */
static int escape_literal(char e)
{
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0': return -1; /* NUL: not in JSON strings we want */
    default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
            return -1; /* \b, \p, \1, \x.. and friends */
        return (unsigned char)e;
    }
}

/* Parses a class starting after '['; returns the position after ']'. */
static const char *parse_class(const char *p, regex_set *s, int *err)
{
    int negate = 0;
    regex_set t = {{0, 0}};
    if (*p == '^') {
        negate = 1;
        p++;
    }
    int first = 1;
    while (*p && (*p != ']' || first)) {
        int lo;
        first = 0;
        if (*p == '\\') {
            if (!p[1]) {
                *err = SIM_EUNSUPPORTED;
                return p;
            }
            if (set_add_escape_class(&t, p[1])) {
                p += 2;
                continue;
            }
            if (p[1] == 'b') {
                lo = '\b';
            } else {
                lo = escape_literal(p[1]);
            }
            if (lo < 0) {
                *err = SIM_EUNSUPPORTED;
                return p;
            }
            p += 2;
        } else if (*p == '[' && p[1] == ':') {
            *err = SIM_EUNSUPPORTED; /* POSIX classes */
            return p;
        } else {
            lo = (unsigned char)*p++;
        }
        if (*p == '-' && p[1] && p[1] != ']') {
            int hi;
            p++;
            if (*p == '\\') {
                hi = p[1] ? escape_literal(p[1]) : -1;
                if (hi < 0) {
                    *err = SIM_EUNSUPPORTED;
                    return p;
                }
                p += 2;
            } else {
                hi = (unsigned char)*p++;
            }
            if (hi < lo) {
                *err = SIM_EUNSUPPORTED;
                return p;
            }
            set_add_range(&t, lo, hi > 127 ? 127 : hi);
        } else {
            set_add(&t, lo);
        }
    }
    if (*p != ']') {
        *err = SIM_EUNSUPPORTED;
        return p;
    }
    if (negate) {
        for (int c = 32; c < 127; c++)
            if (!set_has(&t, c))
                set_add(s, c);
    } else {
        s->bits[0] |= t.bits[0];
        s->bits[1] |= t.bits[1];
    }
    return p + 1;
}

static const char *gen_alt(regex_out *o, const char *p, int depth, int emit);

/*
 * Emits one atom at p (if emit) and returns the position after it, or NULL
 * at the end of a sequence ('|', ')', NUL).
 */
static const char *gen_atom(regex_out *o, const char *p, int depth, int emit)
{
    regex_set s = {{0, 0}};

    if (++o->steps > REGEX_MAX_STEPS) {
        o->err = SIM_ELIMIT;
        return NULL;
    }
    switch (*p) {
    case '\0': case '|': case ')':
        return NULL;
    case '^': case '$':
        return p + 1; /* anchors: we emit exactly the match */
    case '(': {
        const char *q = p + 1;
        if (*q == '?') {
            if (q[1] == ':') {
                q += 2;
            } else if (q[1] == '<' && q[2] != '=' && q[2] != '!') {
                q = strchr(q, '>');
                if (!q) {
                    o->err = SIM_EUNSUPPORTED;
                    return NULL;
                }
                q++;
            } else {
                o->err = SIM_EUNSUPPORTED; /* lookaround, flags */
                return NULL;
            }
        }
        if (depth >= REGEX_MAX_DEPTH) {
            o->err = SIM_ELIMIT;
            return NULL;
        }
        q = gen_alt(o, q, depth + 1, emit);
        if (o->err)
            return NULL;
        if (*q != ')') {
            o->err = SIM_EUNSUPPORTED;
            return NULL;
        }
        return q + 1;
    }
    case '[': {
        int err = 0;
        const char *q = parse_class(p + 1, &s, &err);
        if (err) {
            o->err = err;
            return NULL;
        }
        if (emit)
            out_from_set(o, &s);
        return q;
    }
    case '.':
        if (emit) {
            set_add_range(&s, 'a', 'z');
            set_add_range(&s, '0', '9');
            out_from_set(o, &s);
        }
        return p + 1;
    case '\\': {
        int c;
        if (!p[1]) {
            o->err = SIM_EUNSUPPORTED;
            return NULL;
        }
        if (set_add_escape_class(&s, p[1])) {
            if (emit)
                out_from_set(o, &s);
            return p + 2;
        }
        c = escape_literal(p[1]);
        if (c < 0) {
            o->err = SIM_EUNSUPPORTED;
            return NULL;
        }
        if (emit)
            out_char(o, c);
        return p + 2;
    }
    case '*': case '+': case '?': case '{':
        if (*p == '{' && !(p[1] >= '0' && p[1] <= '9')) {
            if (emit)
                out_char(o, '{');
            return p + 1;
        }
        o->err = SIM_EUNSUPPORTED; /* quantifier without atom */
        return NULL;
    default:
        if (emit)
            out_char(o, (unsigned char)*p);
        return p + 1;
    }
}

/* Parses a quantifier at p into [*lo, *hi]; returns the position after it. */
static const char *parse_quant(const char *p, long *lo, long *hi)
{
    *lo = *hi = 1;
    switch (*p) {
    case '*':
        *lo = 0;
        *hi = REGEX_MAX_REPEAT;
        p++;
        break;
    case '+':
        *lo = 1;
        *hi = 1 + REGEX_MAX_REPEAT;
        p++;
        break;
    case '?':
        *lo = 0;
        *hi = 1;
        p++;
        break;
    case '{': {
        const char *q = p + 1;
        long a = 0, b;
        if (!(*q >= '0' && *q <= '9'))
            return p;
        while (*q >= '0' && *q <= '9' && a < 100000)
            a = a * 10 + (*q++ - '0');
        b = a;
        if (*q == ',') {
            q++;
            if (*q >= '0' && *q <= '9') {
                b = 0;
                while (*q >= '0' && *q <= '9' && b < 100000)
                    b = b * 10 + (*q++ - '0');
            } else {
                b = a + REGEX_MAX_REPEAT;
            }
        }
        if (*q != '}' || b < a)
            return p;
        *lo = a;
        *hi = b;
        p = q + 1;
        break;
    }
    default:
        return p;
    }
    if (*p == '?' || *p == '+') /* lazy / possessive: same language */
        p++;
    return p;
}

/* A sequence of quantified atoms up to '|', ')' or the end. */
static const char *gen_seq(regex_out *o, const char *p, int depth, int emit)
{
    for (;;) {
        const char *start = p, *end;
        long lo, hi, n;
        end = gen_atom(o, p, depth, 0);
        if (o->err)
            return p;
        if (!end)
            return p;
        p = parse_quant(end, &lo, &hi);
        if (*start == '^' || *start == '$')
            continue;
        if (hi - lo > REGEX_MAX_REPEAT)
            hi = lo + REGEX_MAX_REPEAT;
        n = emit ? lo + (long)sim_rng_below(o->rng, (uint64_t)(hi - lo + 1)) : 0;
        for (long i = 0; i < n && !o->err; i++)
            gen_atom(o, start, depth, 1);
        if (o->err)
            return p;
    }
}

/* Alternatives separated by '|': picks one, skips the others. */
static const char *gen_alt(regex_out *o, const char *p, int depth, int emit)
{
    const char *branches[64];
    size_t n = 0;
    const char *q = p;
    for (;;) {
        if (n < 64)
            branches[n++] = q;
        q = gen_seq(o, q, depth, 0);
        if (o->err)
            return q;
        if (*q != '|')
            break;
        q++;
    }
    if (emit) {
        size_t pick = (size_t)sim_rng_below(o->rng, n);
        gen_seq(o, branches[pick], depth, 1);
    }
    return q;
}

int sim_regex_gen(const char *pattern, sim_rng *rng, char *buf, size_t size)
{
    regex_out o = {.buf = buf, .size = size, .len = 0, .rng = rng, .err = 0};
    const char *end;
    if (!pattern || !buf || size == 0)
        return SIM_EINVAL;
    end = gen_alt(&o, pattern, 0, 1);
    if (!o.err && *end != '\0')
        o.err = SIM_EUNSUPPORTED; /* stray ')' */
    if (o.err) {
        buf[0] = '\0';
        return o.err;
    }
    buf[o.len] = '\0';
    return (int)o.len;
}
