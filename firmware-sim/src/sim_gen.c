/* SPDX-License-Identifier: MIT */
/*
 * Payload generator: walks a resolved JSON Schema and builds a value that
 * satisfies it. Combinators are flattened first (allOf merged, one branch of
 * anyOf/oneOf picked and merged with the siblings), then the type decides.
 * Numeric fields follow a per-device random walk with mean reversion inside
 * their bounds, counters count, date-times are the clock. Validation against
 * the compiled schema and retries happen in sim_gen_payload.
 * Design notes: docs/sim.md.
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_gen.h"

#define GEN_SOFT_DEPTH 6   /* below this, only required members and minItems */
#define GEN_HARD_DEPTH 40  /* below this, give up (null) */
#define GEN_MAX_TRIES 40   /* attempts per payload in sim_gen_payload */
#define GEN_MAX_STRING 512 /* longest generated string (unless minLength says more) */
#define GEN_OPTIONAL_P 0.7 /* probability an optional member is present */

/* ---- series state ----------------------------------------------------- */

typedef struct series_slot {
    char *path;   /* JSON pointer of the field */
    double value; /* last value (before rounding) */
} series_slot;

struct sim_series {
    series_slot *slots; /* in order of first use */
    size_t n, cap;
};

sim_series *sim_series_new(void)
{
    return calloc(1, sizeof(sim_series));
}

void sim_series_free(sim_series *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->slots[i].path);
    free(s->slots);
    free(s);
}

static series_slot *series_find(sim_series *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->slots[i].path, path) == 0)
            return &s->slots[i];
    return NULL;
}

static series_slot *series_add(sim_series *s, const char *path, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        series_slot *n = realloc(s->slots, cap * sizeof(*n));
        if (!n)
            return NULL;
        s->slots = n;
        s->cap = cap;
    }
    s->slots[s->n].path = strdup(path);
    if (!s->slots[s->n].path)
        return NULL;
    s->slots[s->n].value = v;
    return &s->slots[s->n++];
}

/* ---- small helpers ---------------------------------------------------- */

const char *sim_invalid_name(sim_invalid_kind kind)
{
    switch (kind) {
    case SIM_INVALID_WRONG_TYPE: return "wrong_type";
    case SIM_INVALID_MISSING_REQUIRED: return "missing_required";
    case SIM_INVALID_OUT_OF_RANGE: return "out_of_range";
    case SIM_INVALID_BAD_JSON: return "bad_json";
    default: return "none";
    }
}

void sim_format_datetime(double t, char buf[32])
{
    time_t secs = (time_t)floor(t);
    int ms = (int)((t - floor(t)) * 1000.0);
    struct tm tm;
    if (ms > 999)
        ms = 999;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    if (tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0 ||
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
        snprintf(buf, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(buf + 19, 32 - 19, ".%03uZ", (unsigned)ms % 1000u);
}

static const cJSON *get(const cJSON *schema, const char *key)
{
    return cJSON_IsObject(schema) ? cJSON_GetObjectItemCaseSensitive(schema, key) : NULL;
}

static int get_num(const cJSON *schema, const char *key, double *out)
{
    const cJSON *v = get(schema, key);
    if (!cJSON_IsNumber(v))
        return 0;
    *out = v->valuedouble;
    return 1;
}

static int get_bool(const cJSON *schema, const char *key)
{
    return cJSON_IsTrue(get(schema, key));
}

/* Case-insensitive substring test on a field name. */
static int name_has(const char *name, const char *needle)
{
    size_t n = strlen(needle);
    if (!name)
        return 0;
    for (const char *p = name; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == needle[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int name_eq(const char *name, const char *other)
{
    if (!name || !other)
        return 0;
    while (*name && *other) {
        if (tolower((unsigned char)*name) != tolower((unsigned char)*other))
            return 0;
        name++;
        other++;
    }
    return *name == *other;
}

/* Last segment of a JSON pointer (the field name), or NULL at the root. */
static const char *path_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : NULL;
}

static int ctx_keep(sim_gen_ctx *ctx, cJSON *temp)
{
    if (ctx->n_temps == ctx->cap_temps) {
        size_t cap = ctx->cap_temps ? ctx->cap_temps * 2 : 16;
        cJSON **n = realloc(ctx->temps, cap * sizeof(*n));
        if (!n)
            return SIM_ENOMEM;
        ctx->temps = n;
        ctx->cap_temps = cap;
    }
    ctx->temps[ctx->n_temps++] = temp;
    return 0;
}

static void ctx_release(sim_gen_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_temps; i++)
        cJSON_Delete(ctx->temps[i]);
    free(ctx->temps);
    ctx->temps = NULL;
    ctx->n_temps = ctx->cap_temps = 0;
}

/* ---- schema flattening -------------------------------------------------- */

/* Resolves "$ref": "#/a/b" against ctx->root; NULL if it cannot. */
static const cJSON *resolve_ref(const cJSON *ref, sim_gen_ctx *ctx)
{
    const char *s = cJSON_GetStringValue(ref);
    const cJSON *node = ctx->root;
    char seg[256];
    if (!s || s[0] != '#' || !node)
        return NULL;
    s++;
    while (*s == '/') {
        size_t n = 0;
        s++;
        while (*s && *s != '/' && n + 1 < sizeof(seg)) {
            if (s[0] == '~' && s[1] == '1') {
                seg[n++] = '/';
                s += 2;
            } else if (s[0] == '~' && s[1] == '0') {
                seg[n++] = '~';
                s += 2;
            } else {
                seg[n++] = *s++;
            }
        }
        seg[n] = '\0';
        if (cJSON_IsArray(node)) {
            char *end;
            long i = strtol(seg, &end, 10);
            node = *end ? NULL : cJSON_GetArrayItem(node, (int)i);
        } else {
            node = cJSON_GetObjectItemCaseSensitive(node, seg);
        }
        if (!node)
            return NULL;
    }
    return *s ? NULL : node;
}

static int is_combinator(const char *k)
{
    return strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 || strcmp(k, "oneOf") == 0 ||
           strcmp(k, "$ref") == 0;
}

static int is_lower_bound(const char *k)
{
    return strcmp(k, "minimum") == 0 || strcmp(k, "exclusiveMinimum") == 0 ||
           strcmp(k, "minLength") == 0 || strcmp(k, "minItems") == 0 ||
           strcmp(k, "minProperties") == 0;
}

static int is_upper_bound(const char *k)
{
    return strcmp(k, "maximum") == 0 || strcmp(k, "exclusiveMaximum") == 0 ||
           strcmp(k, "maxLength") == 0 || strcmp(k, "maxItems") == 0 ||
           strcmp(k, "maxProperties") == 0;
}

/*
 * A node standing for schema s without copying it: an object reference
 * shares s's children (cJSON_Delete leaves them alone); booleans are copied.
 */
static cJSON *schema_ref(const cJSON *s)
{
    if (cJSON_IsObject(s))
        return cJSON_CreateObjectReference(s->child);
    return cJSON_Duplicate(s, 0);
}

/*
 * Merges one schema (already flattened) into dst, keyword by keyword:
 * properties unite (a shared name becomes allOf of both), required unites,
 * bounds take the tighter value, false beats additionalProperties schemas,
 * anything else keeps the first value seen.
 */
static cJSON *merge_into(cJSON *dst, const cJSON *src, sim_gen_ctx *ctx)
{
    const cJSON *kv;
    if (!cJSON_IsObject(src))
        return dst;
    cJSON_ArrayForEach(kv, src) {
        const char *k = kv->string;
        cJSON *have = cJSON_GetObjectItemCaseSensitive(dst, k);
        if (!k || is_combinator(k))
            continue;
        if (!have) {
            if (!cJSON_AddItemReferenceToObject(dst, k, (cJSON *)kv))
                return NULL;
            continue;
        }
        if (strcmp(k, "properties") == 0 && cJSON_IsObject(kv) && cJSON_IsObject(have)) {
            cJSON *props = cJSON_CreateObject();
            const cJSON *p;
            if (!props)
                return NULL;
            cJSON_ArrayForEach(p, have) {
                const cJSON *other = cJSON_GetObjectItemCaseSensitive(kv, p->string);
                if (other) {
                    cJSON *both = cJSON_CreateObject(), *arr = cJSON_CreateArray();
                    if (!both || !arr || !cJSON_AddItemToObject(both, "allOf", arr) ||
                        !cJSON_AddItemToArray(arr, schema_ref(p)) ||
                        !cJSON_AddItemToArray(arr, schema_ref(other))) {
                        cJSON_Delete(both);
                        cJSON_Delete(props);
                        return NULL;
                    }
                    cJSON_AddItemToObject(props, p->string, both);
                } else {
                    cJSON_AddItemReferenceToObject(props, p->string, (cJSON *)p);
                }
            }
            cJSON_ArrayForEach(p, kv) {
                if (!cJSON_GetObjectItemCaseSensitive(have, p->string))
                    cJSON_AddItemReferenceToObject(props, p->string, (cJSON *)p);
            }
            cJSON_ReplaceItemInObjectCaseSensitive(dst, k, props);
        } else if (strcmp(k, "required") == 0 && cJSON_IsArray(kv)) {
            cJSON *req = cJSON_CreateArray();
            const cJSON *r;
            if (!req)
                return NULL;
            cJSON_ArrayForEach(r, have)
                cJSON_AddItemToArray(req, cJSON_Duplicate(r, 0));
            cJSON_ArrayForEach(r, kv) {
                const cJSON *x;
                int dup = 0;
                cJSON_ArrayForEach(x, req)
                    if (cJSON_IsString(x) && cJSON_IsString(r) &&
                        strcmp(x->valuestring, r->valuestring) == 0)
                        dup = 1;
                if (!dup)
                    cJSON_AddItemToArray(req, cJSON_Duplicate(r, 0));
            }
            cJSON_ReplaceItemInObjectCaseSensitive(dst, k, req);
        } else if (cJSON_IsNumber(kv) && cJSON_IsNumber(have) &&
                   ((is_lower_bound(k) && kv->valuedouble > have->valuedouble) ||
                    (is_upper_bound(k) && kv->valuedouble < have->valuedouble))) {
            cJSON_ReplaceItemInObjectCaseSensitive(dst, k, cJSON_CreateNumber(kv->valuedouble));
        } else if (strcmp(k, "additionalProperties") == 0 && cJSON_IsFalse(kv)) {
            cJSON_ReplaceItemInObjectCaseSensitive(dst, k, cJSON_CreateFalse());
        }
    }
    (void)ctx;
    return dst;
}

static const cJSON *flatten(const cJSON *schema, sim_gen_ctx *ctx, unsigned hops);
static int break_others(cJSON *dst, const cJSON *branches, const cJSON *picked, sim_gen_ctx *ctx,
                        unsigned hops);

/* Flattens schema and merges the result into dst. */
static cJSON *merge_flat(cJSON *dst, const cJSON *schema, sim_gen_ctx *ctx, unsigned hops)
{
    const cJSON *flat = flatten(schema, ctx, hops + 1);
    if (!flat)
        return NULL;
    if (cJSON_IsFalse(flat))
        return dst; /* impossible branch: ignore, retries take care */
    return merge_into(dst, flat, ctx);
}

/* Picks a branch of anyOf/oneOf; deep down prefers branches without $ref. */
static const cJSON *pick_branch(const cJSON *arr, sim_gen_ctx *ctx)
{
    int n = cJSON_GetArraySize(arr);
    if (n <= 0)
        return NULL;
    if (ctx->depth >= GEN_SOFT_DEPTH) {
        const cJSON *b;
        cJSON_ArrayForEach(b, arr)
            if (!get(b, "$ref") && !get(b, "properties") && !get(b, "items"))
                return b;
    }
    return cJSON_GetArrayItem(arr, (int)sim_rng_below(ctx->rng, (uint64_t)n));
}

/*
 * oneOf wants exactly one branch to match, but branches often overlap
 * ({properties: {a}} and {properties: {b}} both accept {}). For each other
 * branch with a typed property the picked one does not declare, add that
 * property with another type to dst (as required), so the other branch
 * fails. Returns 0 or SIM_ENOMEM.
 */
static int break_others(cJSON *dst, const cJSON *branches, const cJSON *picked, sim_gen_ctx *ctx,
                        unsigned hops)
{
    const cJSON *o;
    const cJSON *dprops = cJSON_GetObjectItemCaseSensitive(dst, "properties");
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(dst, "additionalProperties")))
        return 0;
    cJSON_ArrayForEach(o, branches) {
        const cJSON *of, *op, *p;
        if (o == picked)
            continue;
        of = flatten(o, ctx, hops + 1);
        if (!of)
            return SIM_ENOMEM;
        op = cJSON_GetObjectItemCaseSensitive(of, "properties");
        cJSON_ArrayForEach(p, op) {
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "type"));
            if (!t || (dprops && cJSON_GetObjectItemCaseSensitive(dprops, p->string)))
                continue;
            /* fresh copies: dst's members may be references into the document */
            cJSON *props = cJSON_CreateObject(), *req = cJSON_CreateArray(), *alt;
            const cJSON *e;
            if (!props || !req) {
                cJSON_Delete(props);
                cJSON_Delete(req);
                return SIM_ENOMEM;
            }
            cJSON_ArrayForEach(e, dprops)
                cJSON_AddItemReferenceToObject(props, e->string, (cJSON *)e);
            alt = cJSON_AddObjectToObject(props, p->string);
            cJSON_AddStringToObject(alt, "type", strcmp(t, "string") == 0 ? "integer" : "string");
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(dst, "required"))
                cJSON_AddItemToArray(req, cJSON_Duplicate(e, 0));
            cJSON_AddItemToArray(req, cJSON_CreateString(p->string));
            if (dprops)
                cJSON_ReplaceItemInObjectCaseSensitive(dst, "properties", props);
            else
                cJSON_AddItemToObject(dst, "properties", props);
            if (cJSON_GetObjectItemCaseSensitive(dst, "required"))
                cJSON_ReplaceItemInObjectCaseSensitive(dst, "required", req);
            else
                cJSON_AddItemToObject(dst, "required", req);
            dprops = props;
            break; /* one broken property per other branch is enough */
        }
    }
    return 0;
}

/*
 * Returns a schema without $ref/allOf/anyOf/oneOf at its top: schema itself
 * when it has none, else a merged temporary (owned by ctx). NULL = ENOMEM.
 */
static const cJSON *flatten(const cJSON *schema, sim_gen_ctx *ctx, unsigned hops)
{
    const cJSON *ref, *all, *any, *one;
    cJSON *dst;
    if (!cJSON_IsObject(schema))
        return schema;
    ref = get(schema, "$ref");
    all = get(schema, "allOf");
    any = get(schema, "anyOf");
    one = get(schema, "oneOf");
    if (!ref && !all && !any && !one)
        return schema;
    if (hops > 16) {
        static const cJSON empty_true = {.type = cJSON_True};
        return &empty_true; /* a ref loop: "anything" */
    }
    dst = cJSON_CreateObject();
    if (!dst || ctx_keep(ctx, dst) != 0) {
        cJSON_Delete(dst);
        return NULL;
    }
    if (!merge_into(dst, schema, ctx))
        return NULL;
    if (ref) {
        const cJSON *target = resolve_ref(ref, ctx);
        if (target && !merge_flat(dst, target, ctx, hops))
            return NULL;
    }
    if (cJSON_IsArray(all)) {
        const cJSON *b;
        cJSON_ArrayForEach(b, all)
            if (!merge_flat(dst, b, ctx, hops))
                return NULL;
    }
    if (cJSON_IsArray(one)) {
        const cJSON *b = pick_branch(one, ctx);
        if (b && !merge_flat(dst, b, ctx, hops))
            return NULL;
        if (b && break_others(dst, one, b, ctx, hops) != 0)
            return NULL;
    }
    if (cJSON_IsArray(any)) {
        const cJSON *b = pick_branch(any, ctx);
        if (b && !merge_flat(dst, b, ctx, hops))
            return NULL;
    }
    return dst;
}

/* ---- values by type ------------------------------------------------------ */

static cJSON *gen_at(const cJSON *schema, sim_gen_ctx *ctx, char *path, size_t path_len);

/* Plausible range for a numeric field from its name; 1 if the name gave a hint. */
static int name_range(const char *name, double *lo, double *hi)
{
    static const struct {
        const char *needle;
        double lo, hi;
    } hints[] = {
        {"temp", 15, 30},      {"humid", 30, 80},   {"moist", 0.2, 0.6},
        {"pressure", 980, 1040}, {"batt", 20, 100}, {"volt", 3.0, 4.2},
        {"lux", 100, 20000},   {"light", 100, 20000}, {"lat", 40, 60},
        {"lon", 0, 20},        {"lng", 0, 20},      {"percent", 0, 100},
        {"level", 0, 100},     {"speed", 0, 30},    {"rssi", -90, -40},
        {"co2", 400, 1200},    {"power", 0, 500},   {"current", 0, 10},
    };
    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
        if (name_has(name, hints[i].needle)) {
            *lo = hints[i].lo;
            *hi = hints[i].hi;
            return 1;
        }
    }
    *lo = 0;
    *hi = 100;
    return 0;
}

static int is_counter_name(const char *name)
{
    return name_eq(name, "seq") || name_has(name, "sequence") || name_has(name, "counter") ||
           name_eq(name, "count") || name_has(name, "_seq") || name_has(name, "seqno") ||
           name_eq(name, "n") || name_has(name, "uptime") || name_eq(name, "msgid");
}

/* Is v a multiple of m the way validators check it (v/m integral)? */
static int is_multiple(double v, double m)
{
    double q = v / m;
    return isfinite(q) && q == floor(q);
}

/* Rounds v to a readable number of decimals for the range's width. */
static double round_nice(double v, double width)
{
    double scale = width <= 1 ? 1e4 : width <= 100 ? 1e2 : 1e1;
    double r = round(v * scale) / scale;
    return isfinite(r) ? r : v;
}

static cJSON *gen_number(const cJSON *schema, sim_gen_ctx *ctx, const char *path, int integer)
{
    double lo = -DBL_MAX, hi = DBL_MAX, m = 0, x, v;
    int lo_ex = 0, hi_ex = 0, has_lo = 0, has_hi = 0;
    const char *name = path_name(path);
    series_slot *slot = NULL;

    if (get_num(schema, "minimum", &x)) {
        lo = x;
        has_lo = 1;
    }
    if (get_num(schema, "exclusiveMinimum", &x) && (!has_lo || x >= lo)) {
        lo = x;
        has_lo = lo_ex = 1;
    } else if (get_bool(schema, "exclusiveMinimum") && has_lo) {
        lo_ex = 1; /* draft-04 form */
    }
    if (get_num(schema, "maximum", &x)) {
        hi = x;
        has_hi = 1;
    }
    if (get_num(schema, "exclusiveMaximum", &x) && (!has_hi || x <= hi)) {
        hi = x;
        has_hi = hi_ex = 1;
    } else if (get_bool(schema, "exclusiveMaximum") && has_hi) {
        hi_ex = 1;
    }
    if (!get_num(schema, "multipleOf", &m) || !(m > 0))
        m = 0;
    if (integer) {
        /* integer bounds, exclusive made inclusive */
        if (has_lo)
            lo = lo_ex ? floor(lo) + 1 : ceil(lo);
        if (has_hi)
            hi = hi_ex ? ceil(hi) - 1 : floor(hi);
        lo_ex = hi_ex = 0;
    }
    /* the range a value wanders in: bounds, or a plausible window */
    double wlo, whi;
    int hinted = name_range(name, &wlo, &whi);
    if (hinted && (!has_lo || wlo >= lo) && (!has_hi || whi <= hi) &&
        (!integer || floor(whi) >= ceil(wlo))) {
        /* a plausible window inside the bounds: temperature 15..30 within -40..85 */
    } else if (has_lo && has_hi) {
        wlo = lo;
        whi = hi;
    } else if (has_lo) {
        if (whi <= lo || wlo < lo) {
            wlo = lo;
            whi = lo + (fabs(lo) > 100 ? fabs(lo) : 100);
        }
    } else if (has_hi) {
        if (wlo >= hi || whi > hi) {
            whi = hi;
            wlo = hi - (fabs(hi) > 100 ? fabs(hi) : 100);
        }
    }
    if (whi < wlo)
        whi = wlo;

    if (ctx->series) {
        slot = series_find(ctx->series, path);
    }
    if (integer && is_counter_name(name)) {
        /* counters: previous + 1, wrapping back to the low end */
        v = slot ? slot->value + 1 : (has_lo ? lo : 0);
        if ((has_hi && v > hi) || v > 9007199254740992.0)
            v = has_lo ? lo : 0;
    } else if (slot) {
        double mu = (wlo + whi) / 2, sigma = (whi - wlo) * 0.03;
        v = slot->value + 0.1 * (mu - slot->value) + sigma * sim_rng_normal(ctx->rng);
        if (v < wlo)
            v = wlo + (wlo - v);
        if (v > whi)
            v = whi - (v - whi);
        if (v < wlo || v > whi)
            v = mu;
    } else {
        v = wlo + (whi - wlo) * (0.25 + 0.5 * sim_rng_double(ctx->rng));
    }
    if (ctx->series) {
        if (slot)
            slot->value = v;
        else if (!series_add(ctx->series, path, v))
            return NULL;
    }

    /* quantise, then make sure bounds (incl. exclusive ones) hold */
    double out;
    if (m > 0) {
        double klo = has_lo ? ceil(lo / m) : floor(wlo / m), khi = has_hi ? floor(hi / m) : ceil(whi / m);
        double k = round(v / m), dec = pow(10, ceil(-log10(m)) + 1);
        if (k < klo)
            k = klo;
        if (k > khi)
            k = khi;
        out = k * m;
        /* k*m may not divide back exactly in binary floating point: try neighbours */
        for (int i = 0; i < 16 && !is_multiple(out, m); i++) {
            double kk = k + (i % 2 ? -(i / 2 + 1) : (i / 2 + 1));
            if (kk < klo || kk > khi)
                kk = k;
            out = round(kk * m * dec) / dec;
            if (!is_multiple(out, m))
                out = kk * m;
        }
        if (integer)
            out = round(out);
    } else if (integer) {
        out = round(v);
    } else {
        out = round_nice(v, whi - wlo);
    }
    if (has_lo && (out < lo || (lo_ex && out <= lo)))
        out = integer ? lo : (lo_ex ? lo + (has_hi ? (hi - lo) / 2 : 1) : lo);
    if (has_hi && (out > hi || (hi_ex && out >= hi)))
        out = integer ? hi : (hi_ex ? hi - (has_lo ? (hi - lo) / 2 : 1) : hi);
    if (!isfinite(out))
        out = 0;
    return cJSON_CreateNumber(out);
}

static const char *const words[] = {
    "alpha", "bravo", "cedar", "delta", "ember", "fjord", "grove", "harbor",
    "iris", "juniper", "kestrel", "lumen", "maple", "nova", "orchid", "pine",
    "quartz", "river", "sage", "tundra", "umber", "violet", "willow", "zephyr",
};

/* A readable string of length within [minl, maxl]. */
static int gen_words(sim_gen_ctx *ctx, char *buf, size_t size, long minl, long maxl)
{
    size_t len = 0;
    long target;
    if (maxl > (long)size - 1)
        maxl = (long)size - 1;
    if (minl > maxl)
        return SIM_ELIMIT;
    /* readable lengths: 4..16 characters when the schema allows it */
    long lo = minl < 4 ? (maxl < 4 ? maxl : 4) : minl;
    long hi = maxl < lo + 12 ? maxl : lo + 12;
    target = lo + (long)sim_rng_below(ctx->rng, (uint64_t)(hi - lo + 1));
    while ((long)len < target) {
        const char *w = words[sim_rng_below(ctx->rng, sizeof(words) / sizeof(words[0]))];
        if (len > 0 && (long)len < target)
            buf[len++] = '-';
        for (; *w && (long)len < target; w++)
            buf[len++] = *w;
    }
    if (len > 0 && buf[len - 1] == '-')
        buf[len - 1] = 'x';
    buf[len] = '\0';
    return (int)len;
}

static void gen_uuid(sim_gen_ctx *ctx, char buf[40])
{
    uint64_t a = sim_rng_next(ctx->rng), b = sim_rng_next(ctx->rng);
    snprintf(buf, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0x0fff),
             (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

/* A value for a known "format"; 0 if written, -1 for an unknown format. */
static int gen_format(const char *fmt, sim_gen_ctx *ctx, char *buf, size_t size)
{
    unsigned r = (unsigned)sim_rng_below(ctx->rng, 1000);
    const char *w = words[sim_rng_below(ctx->rng, sizeof(words) / sizeof(words[0]))];
    char dt[32];
    int n;
    if (strcmp(fmt, "date-time") == 0) {
        sim_format_datetime(ctx->now, dt);
        n = snprintf(buf, size, "%s", dt);
    } else if (strcmp(fmt, "date") == 0) {
        sim_format_datetime(ctx->now, dt);
        n = snprintf(buf, size, "%.10s", dt);
    } else if (strcmp(fmt, "time") == 0) {
        sim_format_datetime(ctx->now, dt);
        n = snprintf(buf, size, "%.12sZ", dt + 11);
    } else if (strcmp(fmt, "uuid") == 0) {
        char u[40];
        gen_uuid(ctx, u);
        n = snprintf(buf, size, "%s", u);
    } else if (strcmp(fmt, "email") == 0 || strcmp(fmt, "idn-email") == 0) {
        n = snprintf(buf, size, "%s%u@example.com", w, r);
    } else if (strcmp(fmt, "hostname") == 0 || strcmp(fmt, "idn-hostname") == 0) {
        n = snprintf(buf, size, "%s-%u.example.com", w, r);
    } else if (strcmp(fmt, "ipv4") == 0) {
        n = snprintf(buf, size, "10.%u.%u.%u", r % 256, (r * 7) % 256, 1 + r % 254);
    } else if (strcmp(fmt, "ipv6") == 0) {
        n = snprintf(buf, size, "fd00::%x:%x", r, r * 7 % 65536);
    } else if (strcmp(fmt, "uri") == 0 || strcmp(fmt, "iri") == 0) {
        n = snprintf(buf, size, "https://example.com/%s/%u", w, r);
    } else if (strcmp(fmt, "uri-reference") == 0 || strcmp(fmt, "iri-reference") == 0) {
        n = snprintf(buf, size, "/%s/%u", w, r);
    } else if (strcmp(fmt, "uri-template") == 0) {
        n = snprintf(buf, size, "https://example.com/%s/{id}", w);
    } else if (strcmp(fmt, "json-pointer") == 0) {
        n = snprintf(buf, size, "/%s/%u", w, r % 10);
    } else if (strcmp(fmt, "relative-json-pointer") == 0) {
        n = snprintf(buf, size, "%u/%s", r % 3, w);
    } else if (strcmp(fmt, "regex") == 0) {
        n = snprintf(buf, size, "^%s[0-9]+$", w);
    } else {
        return -1;
    }
    return n >= 0 && (size_t)n < size ? 0 : -1;
}

static cJSON *gen_string(const cJSON *schema, sim_gen_ctx *ctx, const char *path)
{
    double x;
    long minl = 0, maxl = -1;
    const char *name = path_name(path);
    const char *fmt = cJSON_GetStringValue(get(schema, "format"));
    const char *pattern = cJSON_GetStringValue(get(schema, "pattern"));
    char small[GEN_MAX_STRING + 1];
    char *buf = small;
    size_t size = sizeof(small);
    cJSON *out = NULL;

    if (get_num(schema, "minLength", &x) && x > 0)
        minl = x > 100000 ? 100000 : (long)x;
    if (get_num(schema, "maxLength", &x) && x >= 0)
        maxl = x > 100000 ? 100000 : (long)x;
    if (minl > GEN_MAX_STRING) {
        size = (size_t)minl + 1;
        buf = malloc(size);
        if (!buf)
            return NULL;
    }
    /* Without maxLength a pattern decides the length (a UUID is 36 chars);
       made-up words stay short. */
    if (maxl < 0 && pattern)
        maxl = (long)size - 1;
    else if (maxl < 0)
        maxl = minl + 24 > (long)size - 1 ? (long)size - 1 : minl + 24;

    buf[0] = '\0';
    if (pattern) {
        int ok = 0;
        for (int i = 0; i < 8 && !ok; i++) {
            int n = sim_regex_gen(pattern, ctx->rng, buf, size);
            if (n < 0)
                break;
            ok = n >= minl && n <= maxl;
        }
        if (!ok)
            gen_words(ctx, buf, size, minl, maxl); /* the retries at the top decide */
    } else if (fmt && gen_format(fmt, ctx, buf, size) == 0) {
        /* written */
    } else if (ctx->device_id && name &&
               (name_eq(name, ctx->device_param) || name_eq(name, "deviceId") ||
                name_eq(name, "device_id") || name_eq(name, "device")) &&
               (long)strlen(ctx->device_id) >= minl && (long)strlen(ctx->device_id) <= maxl) {
        snprintf(buf, size, "%s", ctx->device_id);
    } else if (name && (name_has(name, "firmware") || name_eq(name, "version")) && minl <= 5 && maxl >= 5) {
        snprintf(buf, size, "%u.%u.%u", (unsigned)sim_rng_below(ctx->rng, 4),
                 (unsigned)sim_rng_below(ctx->rng, 10), (unsigned)sim_rng_below(ctx->rng, 10));
    } else {
        gen_words(ctx, buf, size, minl, maxl);
    }
    out = cJSON_CreateString(buf);
    if (buf != small)
        free(buf);
    return out;
}

/* Appends "/name" (escaped) to path; returns the new length or -1. */
static int path_push(char *path, size_t path_len, const char *name)
{
    size_t n = path_len;
    if (n + 1 >= 512)
        return -1;
    path[n++] = '/';
    for (const char *p = name; *p; p++) {
        if (n + 3 >= 512)
            return -1;
        if (*p == '~' || *p == '/') {
            path[n++] = '~';
            path[n++] = *p == '~' ? '0' : '1';
        } else {
            path[n++] = *p;
        }
    }
    path[n] = '\0';
    return (int)n;
}

static int in_required(const cJSON *req, const char *name)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, req)
        if (cJSON_IsString(r) && strcmp(r->valuestring, name) == 0)
            return 1;
    return 0;
}

static cJSON *gen_object(const cJSON *schema, sim_gen_ctx *ctx, char *path, size_t path_len)
{
    const cJSON *props = get(schema, "properties"), *req = get(schema, "required");
    const cJSON *addl = get(schema, "additionalProperties");
    const cJSON *deps = get(schema, "dependencies");
    const cJSON *p;
    double x;
    long minp = 0, maxp = 1000;
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    if (get_num(schema, "minProperties", &x))
        minp = (long)x;
    if (get_num(schema, "maxProperties", &x))
        maxp = (long)x;

    /* declared members: required always, optional sometimes */
    cJSON_ArrayForEach(p, props) {
        int want = in_required(req, p->string);
        if (!want && ctx->depth < GEN_SOFT_DEPTH && cJSON_GetArraySize(obj) < maxp)
            want = sim_rng_chance(ctx->rng, GEN_OPTIONAL_P) || cJSON_GetArraySize(obj) < minp;
        if (!want)
            continue;
        int n = path_push(path, path_len, p->string);
        if (n < 0)
            continue;
        cJSON *v = gen_at(p, ctx, path, (size_t)n);
        path[path_len] = '\0';
        if (!v) {
            cJSON_Delete(obj);
            return NULL;
        }
        cJSON_AddItemToObject(obj, p->string, v);
    }
    /* required names without a declaration, and dependencies of present ones */
    cJSON_ArrayForEach(p, req) {
        const char *name = cJSON_GetStringValue(p);
        if (!name || cJSON_GetObjectItemCaseSensitive(obj, name))
            continue;
        int n = path_push(path, path_len, name);
        if (n < 0)
            continue;
        cJSON *v = gen_at(cJSON_IsObject(addl) ? addl : NULL, ctx, path, (size_t)n);
        path[path_len] = '\0';
        if (!v) {
            cJSON_Delete(obj);
            return NULL;
        }
        cJSON_AddItemToObject(obj, name, v);
    }
    if (cJSON_IsObject(deps)) {
        const cJSON *d;
        cJSON_ArrayForEach(d, deps) {
            const cJSON *name;
            if (!cJSON_IsArray(d) || !cJSON_GetObjectItemCaseSensitive(obj, d->string))
                continue;
            cJSON_ArrayForEach(name, d) {
                const char *s = cJSON_GetStringValue(name);
                if (!s || cJSON_GetObjectItemCaseSensitive(obj, s))
                    continue;
                int n = path_push(path, path_len, s);
                if (n < 0)
                    continue;
                cJSON *v = gen_at(get(props, s), ctx, path, (size_t)n);
                path[path_len] = '\0';
                if (v)
                    cJSON_AddItemToObject(obj, s, v);
            }
        }
    }
    /* extra members to reach minProperties */
    for (int i = 0; cJSON_GetArraySize(obj) < minp && !cJSON_IsFalse(addl) && i < 64; i++) {
        char key[32];
        snprintf(key, sizeof(key), "extra%d", i);
        if (cJSON_GetObjectItemCaseSensitive(obj, key))
            continue;
        cJSON *v = gen_at(cJSON_IsObject(addl) ? addl : NULL, ctx, path, path_len);
        if (!v) {
            cJSON_Delete(obj);
            return NULL;
        }
        cJSON_AddItemToObject(obj, key, v);
    }
    return obj;
}

static cJSON *gen_array(const cJSON *schema, sim_gen_ctx *ctx, char *path, size_t path_len)
{
    const cJSON *items = get(schema, "items"), *addl = get(schema, "additionalItems");
    const cJSON *contains = get(schema, "contains");
    int unique = get_bool(schema, "uniqueItems");
    double x;
    long minn = 0, maxn, n;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    if (get_num(schema, "minItems", &x) && x > 0)
        minn = x > 10000 ? 10000 : (long)x;
    maxn = minn + 3;
    if (get_num(schema, "maxItems", &x) && x < maxn)
        maxn = (long)x;
    if (cJSON_IsArray(items) && cJSON_IsFalse(addl) && cJSON_GetArraySize(items) < maxn)
        maxn = cJSON_GetArraySize(items);
    if (maxn < minn)
        maxn = minn;
    n = ctx->depth >= GEN_SOFT_DEPTH ? minn
                                     : minn + (long)sim_rng_below(ctx->rng, (uint64_t)(maxn - minn + 1));
    if (contains && n == 0)
        n = 1;
    for (long i = 0; i < n; i++) {
        char idx[24];
        const cJSON *is = items;
        int tries = unique ? 10 : 1;
        cJSON *v = NULL;
        if (cJSON_IsArray(items))
            is = i < cJSON_GetArraySize(items) ? cJSON_GetArrayItem(items, (int)i) : addl;
        if (i == 0 && contains)
            is = contains;
        snprintf(idx, sizeof(idx), "%ld", i);
        int pn = path_push(path, path_len, idx);
        if (pn < 0)
            break;
        while (tries-- > 0) {
            int dup = 0;
            const cJSON *e;
            ctx->series = NULL; /* array elements do not drift as one series */
            v = gen_at(is, ctx, path, (size_t)pn);
            if (!v)
                break;
            if (!unique)
                break;
            cJSON_ArrayForEach(e, arr)
                if (cJSON_Compare(e, v, 1))
                    dup = 1;
            if (!dup)
                break;
            cJSON_Delete(v);
            v = NULL;
        }
        path[path_len] = '\0';
        if (!v)
            break; /* out of unique values: the retries at the top decide */
        cJSON_AddItemToArray(arr, v);
    }
    return arr;
}

/* Which JSON type to make for schema (flattened). */
static const char *pick_type(const cJSON *schema, sim_gen_ctx *ctx)
{
    const cJSON *t = get(schema, "type");
    if (cJSON_IsString(t))
        return t->valuestring;
    if (cJSON_IsArray(t) && cJSON_GetArraySize(t) > 0) {
        const cJSON *e;
        cJSON_ArrayForEach(e, t)
            if (cJSON_IsString(e) && strcmp(e->valuestring, "null") != 0)
                return e->valuestring;
        return "null";
    }
    if (get(schema, "properties") || get(schema, "required") || get(schema, "additionalProperties") ||
        get(schema, "minProperties"))
        return "object";
    if (get(schema, "items") || get(schema, "minItems") || get(schema, "maxItems") || get(schema, "contains"))
        return "array";
    if (get(schema, "minimum") || get(schema, "maximum") || get(schema, "multipleOf") ||
        get(schema, "exclusiveMinimum") || get(schema, "exclusiveMaximum"))
        return "number";
    if (get(schema, "pattern") || get(schema, "format") || get(schema, "minLength") ||
        get(schema, "maxLength"))
        return "string";
    (void)ctx;
    return "string";
}

static cJSON *gen_at(const cJSON *schema, sim_gen_ctx *ctx, char *path, size_t path_len)
{
    const cJSON *flat, *e;
    const char *type;
    sim_series *saved = ctx->series;
    cJSON *out = NULL;
    if (ctx->depth >= GEN_HARD_DEPTH)
        return cJSON_CreateNull();
    if (schema == NULL || cJSON_IsTrue(schema))
        schema = NULL;
    flat = schema ? flatten(schema, ctx, 0) : NULL;
    if (schema && !flat)
        return NULL;
    if (cJSON_IsTrue(flat) || cJSON_IsFalse(flat))
        flat = NULL;
    if ((e = get(flat, "const")) != NULL)
        return cJSON_Duplicate(e, 1);
    if (cJSON_IsArray(e = get(flat, "enum")) && cJSON_GetArraySize(e) > 0) {
        int n = cJSON_GetArraySize(e);
        return cJSON_Duplicate(cJSON_GetArrayItem(e, (int)sim_rng_below(ctx->rng, (uint64_t)n)), 1);
    }
    type = pick_type(flat, ctx);
    ctx->depth++;
    if (strcmp(type, "object") == 0)
        out = gen_object(flat, ctx, path, path_len);
    else if (strcmp(type, "array") == 0)
        out = gen_array(flat, ctx, path, path_len);
    else if (strcmp(type, "integer") == 0)
        out = gen_number(flat, ctx, path, 1);
    else if (strcmp(type, "number") == 0)
        out = gen_number(flat, ctx, path, 0);
    else if (strcmp(type, "boolean") == 0)
        out = cJSON_CreateBool(sim_rng_chance(ctx->rng, 0.5));
    else if (strcmp(type, "null") == 0)
        out = cJSON_CreateNull();
    else
        out = gen_string(flat, ctx, path);
    ctx->depth--;
    ctx->series = saved;
    return out;
}

cJSON *sim_gen_value(const cJSON *schema, sim_gen_ctx *ctx)
{
    char path[512] = "";
    cJSON *v;
    ctx->depth = 0;
    v = gen_at(schema, ctx, path, 0);
    ctx_release(ctx);
    return v;
}

int sim_gen_payload(const asyncapi_message *msg, sim_gen_ctx *ctx, cJSON **out)
{
    *out = NULL;
    for (int i = 0; i < GEN_MAX_TRIES; i++) {
        cJSON *v = sim_gen_value(msg->payload, ctx);
        int rc;
        if (!v)
            return SIM_ENOMEM;
        if (!msg->payload_schema) {
            *out = v;
            return 0;
        }
        rc = asyncapi_schema_validate(msg->payload_schema, v, NULL);
        if (rc == 0 || i == GEN_MAX_TRIES - 1) {
            *out = v;
            return rc == 0 ? 0 : 1;
        }
        cJSON_Delete(v);
    }
    return 1;
}

/* ---- invalid payloads ------------------------------------------------------ */

/* Does the validator reject v with one of the keywords in kws (NULL-ended)? */
static int fails_with(const asyncapi_schema *schema, const cJSON *v, const char *const *kws)
{
    asyncapi_schema_result res;
    if (asyncapi_schema_validate(schema, v, &res) != 1)
        return 0;
    for (unsigned i = 0; i < res.n_errors; i++) {
        int ok = 0;
        for (const char *const *k = kws; *k; k++)
            if (strcmp(res.errors[i].keyword, *k) == 0)
                ok = 1;
        if (!ok)
            return 0; /* something else fails too: not a clean case */
    }
    return res.n_errors > 0;
}

static cJSON *wrong_type_of(const cJSON *v)
{
    if (cJSON_IsString(v))
        return cJSON_CreateNumber(12345);
    if (cJSON_IsNumber(v) || cJSON_IsBool(v) || cJSON_IsNull(v))
        return cJSON_CreateString("not-a-number");
    if (cJSON_IsArray(v))
        return cJSON_CreateString("not-an-array");
    return cJSON_CreateString("not-an-object");
}

/* Replaces old (a member of obj) by nv, keeping the member's key. */
static int replace_member(cJSON *obj, cJSON *old, cJSON *nv)
{
    if (old->string && !nv->string) {
        nv->string = strdup(old->string); /* cJSON frees keys with free() (default hooks) */
        if (!nv->string)
            return -1;
        nv->type &= ~cJSON_StringIsConst;
    }
    return cJSON_ReplaceItemViaPointer(obj, old, nv) ? 0 : -1;
}

/* Tries replacing members of obj (and the root) by make(); 1 when it worked. */
static int try_replace(cJSON *root, cJSON *obj, sim_rng *rng, const asyncapi_schema *schema,
                       const char *const *kws, cJSON *(*make)(const cJSON *, int), int depth)
{
    int n = cJSON_GetArraySize(obj);
    int start = n > 0 ? (int)sim_rng_below(rng, (uint64_t)n) : 0;
    for (int i = 0; i < n; i++) {
        int idx = (start + i) % n;
        cJSON *old = cJSON_GetArrayItem(obj, idx);
        for (int variant = 0; variant < 4; variant++) {
            cJSON *nv = make(old, variant);
            cJSON *keep;
            if (!nv)
                continue;
            keep = cJSON_Duplicate(old, 1);
            if (!keep) {
                cJSON_Delete(nv);
                return -1;
            }
            if (replace_member(obj, old, nv) != 0) {
                cJSON_Delete(nv);
                cJSON_Delete(keep);
                return -1;
            }
            if (fails_with(schema, root, kws)) {
                cJSON_Delete(keep);
                return 1;
            }
            if (replace_member(obj, nv, keep) != 0) {
                cJSON_Delete(keep);
                return -1;
            }
            old = keep;
        }
        if (depth < 2 && (cJSON_IsObject(old) || cJSON_IsArray(old))) {
            int r = try_replace(root, old, rng, schema, kws, make, depth + 1);
            if (r != 0)
                return r;
        }
    }
    return 0;
}

static cJSON *make_wrong_type(const cJSON *old, int variant)
{
    return variant == 0 ? wrong_type_of(old) : NULL;
}

static cJSON *make_out_of_range(const cJSON *old, int variant)
{
    if (cJSON_IsNumber(old)) {
        static const double big[] = {1e9, -1e9, 0.5, 1e-9};
        return cJSON_CreateNumber(big[variant]);
    }
    if (cJSON_IsString(old)) {
        char longer[320];
        switch (variant) {
        case 0:
            return cJSON_CreateString("zz-not-in-range");
        case 1:
            memset(longer, 'z', sizeof(longer) - 1);
            longer[sizeof(longer) - 1] = '\0';
            return cJSON_CreateString(longer);
        case 2:
            return cJSON_CreateString("");
        default:
            return NULL;
        }
    }
    return NULL;
}

static int make_missing(cJSON *root, cJSON *obj, sim_rng *rng, const asyncapi_schema *schema,
                        int depth)
{
    static const char *const kws[] = {"required", "dependencies", NULL};
    int n = cJSON_GetArraySize(obj);
    int start = n > 0 ? (int)sim_rng_below(rng, (uint64_t)n) : 0;
    if (!cJSON_IsObject(obj))
        return 0;
    for (int i = 0; i < n; i++) {
        int idx = (start + i) % n;
        cJSON *item = cJSON_DetachItemFromArray(obj, idx);
        if (fails_with(schema, root, kws)) {
            cJSON_Delete(item);
            return 1;
        }
        /* put it back where it was */
        cJSON_InsertItemInArray(obj, idx, item);
        if (cJSON_GetArraySize(obj) < n)
            cJSON_AddItemToArray(obj, item);
    }
    if (depth < 2) {
        cJSON *c;
        cJSON_ArrayForEach(c, obj)
            if (cJSON_IsObject(c) && make_missing(root, c, rng, schema, depth + 1))
                return 1;
    }
    return 0;
}

static char *bad_json_text(const cJSON *payload)
{
    char *text = cJSON_PrintUnformatted(payload);
    size_t n;
    char *out;
    if (!text)
        return NULL;
    n = strlen(text);
    out = malloc(n + 2);
    if (!out) {
        free(text);
        return NULL;
    }
    if (n > 1 && (text[0] == '{' || text[0] == '[')) {
        memcpy(out, text, n - 1); /* truncated: the closing bracket is missing */
        out[n - 1] = '\0';
    } else {
        out[0] = '{'; /* an unclosed object around a scalar */
        memcpy(out + 1, text, n + 1);
    }
    free(text);
    return out;
}

int sim_gen_invalidate(const asyncapi_message *msg, const cJSON *payload,
                       sim_invalid_kind kind, sim_rng *rng, char **text)
{
    static const char *const type_kws[] = {"type", NULL};
    static const char *const range_kws[] = {"minimum", "maximum", "exclusiveMinimum",
                                            "exclusiveMaximum", "enum", "const", "minLength",
                                            "maxLength", "multipleOf", NULL};
    const asyncapi_schema *schema = msg->payload_schema;
    *text = NULL;
    for (int k = kind; k < SIM_INVALID_KINDS; k++) {
        cJSON *v;
        int done = 0;
        if (k == SIM_INVALID_BAD_JSON || !schema)
            break;
        v = cJSON_Duplicate(payload, 1);
        if (!v)
            return SIM_ENOMEM;
        if (k == SIM_INVALID_WRONG_TYPE) {
            if (cJSON_IsObject(v) || cJSON_IsArray(v))
                done = try_replace(v, v, rng, schema, type_kws, make_wrong_type, 0);
            if (done == 0) {
                cJSON *w = wrong_type_of(v);
                if (w && fails_with(schema, w, type_kws)) {
                    cJSON_Delete(v);
                    v = w;
                    done = 1;
                } else {
                    cJSON_Delete(w);
                }
            }
        } else if (k == SIM_INVALID_MISSING_REQUIRED) {
            done = make_missing(v, v, rng, schema, 0);
        } else if (k == SIM_INVALID_OUT_OF_RANGE) {
            if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
                done = try_replace(v, v, rng, schema, range_kws, make_out_of_range, 0);
            } else {
                for (int variant = 0; variant < 4 && !done; variant++) {
                    cJSON *w = make_out_of_range(v, variant);
                    if (w && fails_with(schema, w, range_kws)) {
                        cJSON_Delete(v);
                        v = w;
                        done = 1;
                    } else {
                        cJSON_Delete(w);
                    }
                }
            }
        }
        if (done < 0) {
            cJSON_Delete(v);
            return SIM_ENOMEM;
        }
        if (done) {
            *text = cJSON_PrintUnformatted(v);
            cJSON_Delete(v);
            return *text ? k : SIM_ENOMEM;
        }
        cJSON_Delete(v);
    }
    *text = bad_json_text(payload);
    return *text ? SIM_INVALID_BAD_JSON : SIM_ENOMEM;
}
