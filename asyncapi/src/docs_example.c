/* SPDX-License-Identifier: MIT */
/*
 * A small deterministic example generator for the docs: builds one
 * instance from a JSON schema (spec-provided const/enum/default/examples
 * first, then by type, honouring formats, lengths and numeric bounds).
 * Bounded: depth, recursion and array sizes are capped, so any schema
 * (recursive, huge, hostile) gives a small answer. Not a validator: the
 * result is a plausible example, patterns are not solved.
 */
#include <math.h>
#include <string.h>

#include "docs_int.h"

#define EX_MAX_DEPTH 8
#define EX_MAX_ITEMS 3
#define EX_MAX_PROPS 64
#define EX_MAX_STRING 64
#define EX_MAX_NODES 1000 /* total budget: wide and deep schemas stay small */

typedef struct exgen {
    const cJSON *stack[EX_MAX_DEPTH + 1];
    int top;
    int nodes; /* instances generated so far */
} exgen;

static cJSON *gen(exgen *g, const cJSON *s);

static const char *first_type(const cJSON *s)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type"), *e;

    if (cJSON_IsString(t))
        return t->valuestring;
    if (cJSON_IsArray(t)) {
        /* prefer a non-null type: more useful to a reader */
        cJSON_ArrayForEach(e, t)
            if (cJSON_IsString(e) && strcmp(e->valuestring, "null") != 0)
                return e->valuestring;
        if (cJSON_IsString(t->child))
            return t->child->valuestring;
    }
    if (cJSON_GetObjectItemCaseSensitive(s, "properties") ||
        cJSON_GetObjectItemCaseSensitive(s, "additionalProperties") ||
        cJSON_GetObjectItemCaseSensitive(s, "required"))
        return "object";
    if (cJSON_GetObjectItemCaseSensitive(s, "items"))
        return "array";
    if (cJSON_GetObjectItemCaseSensitive(s, "minLength") ||
        cJSON_GetObjectItemCaseSensitive(s, "pattern") ||
        cJSON_GetObjectItemCaseSensitive(s, "format"))
        return "string";
    if (cJSON_GetObjectItemCaseSensitive(s, "minimum") ||
        cJSON_GetObjectItemCaseSensitive(s, "maximum"))
        return "number";
    return NULL;
}

static double num_kw(const cJSON *s, const char *kw, int *has)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, kw);

    *has = cJSON_IsNumber(v) && isfinite(v->valuedouble);
    return *has ? v->valuedouble : 0;
}

static cJSON *gen_number(const cJSON *s, int integer)
{
    int hmin, hmax, hxmin, hxmax, hmul;
    double min = num_kw(s, "minimum", &hmin), max = num_kw(s, "maximum", &hmax);
    double xmin = num_kw(s, "exclusiveMinimum", &hxmin);
    double xmax = num_kw(s, "exclusiveMaximum", &hxmax);
    double mul = num_kw(s, "multipleOf", &hmul);
    double v = 0, step = integer ? 1 : 0.5;

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "exclusiveMinimum")) && hmin) {
        hxmin = 1;
        xmin = min;
        hmin = 0;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "exclusiveMaximum")) && hmax) {
        hxmax = 1;
        xmax = max;
        hmax = 0;
    }
    if (hmin)
        v = min;
    else if (hxmin)
        v = xmin + step;
    else if (hmax && v > max)
        v = max;
    else if (hxmax && v >= xmax)
        v = xmax - step;
    if (hmax && v > max)
        v = max;
    if (integer)
        v = ceil(v);
    if (hmul && mul > 0) {
        double k = ceil(v / mul);
        if (fabs(k) < 1e15)
            v = k * mul;
    }
    if (integer && fabs(v) < 9e15)
        return cJSON_CreateNumber((double)(long long)v);
    return cJSON_CreateNumber(v);
}

static cJSON *gen_string(const cJSON *s)
{
    static const struct {
        const char *format;
        const char *value;
    } formats[] = {
        { "date-time", "2024-01-01T12:00:00Z" },
        { "date", "2024-01-01" },
        { "time", "12:00:00Z" },
        { "email", "device@example.com" },
        { "idn-email", "device@example.com" },
        { "hostname", "device.example.com" },
        { "idn-hostname", "device.example.com" },
        { "ipv4", "192.0.2.1" },
        { "ipv6", "2001:db8::1" },
        { "uri", "https://example.com/" },
        { "uri-reference", "/example" },
        { "iri", "https://example.com/" },
        { "iri-reference", "/example" },
        { "uri-template", "https://example.com/{id}" },
        { "uuid", "00000000-0000-4000-8000-000000000000" },
        { "json-pointer", "/example" },
        { "relative-json-pointer", "0/example" },
        { "regex", "^example$" },
        { "duration", "PT1M" },
        { "byte", "ZXhhbXBsZQ==" },
        { "binary", "example" },
        { "password", "secret" },
    };
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(s, "format");
    const char *base = "string";
    char buf[EX_MAX_STRING + 1];
    int hmin, hmax;
    double minl = num_kw(s, "minLength", &hmin), maxl = num_kw(s, "maxLength", &hmax);
    size_t len, i, bl;

    if (cJSON_IsString(f))
        for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
            if (strcmp(formats[i].format, f->valuestring) == 0) {
                base = formats[i].value;
                break;
            }
    bl = strlen(base);
    len = bl;
    if (hmin && minl > (double)len)
        len = minl > EX_MAX_STRING ? EX_MAX_STRING : (size_t)minl;
    if (hmax && maxl >= 0 && maxl < (double)len)
        len = (size_t)maxl;
    for (i = 0; i < len; i++)
        buf[i] = i < bl ? base[i] : 'x';
    buf[len] = '\0';
    return cJSON_CreateString(buf);
}

static cJSON *gen_object(exgen *g, const cJSON *s)
{
    cJSON *o = cJSON_CreateObject(), *v;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties"), *e;
    int n = 0;

    if (o == NULL)
        return NULL;
    if (cJSON_IsObject(props)) {
        cJSON_ArrayForEach(e, props) {
            if (n++ == EX_MAX_PROPS)
                break;
            if (cJSON_GetObjectItemCaseSensitive(o, e->string))
                continue;
            v = gen(g, e);
            if (v == NULL)
                goto fail;
            cJSON_AddItemToObject(o, e->string, v);
        }
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static cJSON *gen_array(exgen *g, const cJSON *s)
{
    cJSON *a = cJSON_CreateArray(), *v;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items"), *e;
    int hmin, hmax, n, i;
    double minl = num_kw(s, "minItems", &hmin), maxl = num_kw(s, "maxItems", &hmax);

    if (a == NULL)
        return NULL;
    if (cJSON_IsArray(items)) {
        i = 0;
        cJSON_ArrayForEach(e, items) {
            if (i++ == EX_MAX_ITEMS * 4)
                break;
            if ((v = gen(g, e)) == NULL)
                goto fail;
            cJSON_AddItemToArray(a, v);
        }
        return a;
    }
    if (!cJSON_IsObject(items) || cJSON_GetObjectItemCaseSensitive(items, "$ref"))
        return a; /* unknown or cut (recursive) items: an empty array is valid enough */
    n = 1;
    if (hmin && minl > n)
        n = minl > EX_MAX_ITEMS ? EX_MAX_ITEMS : (int)minl;
    if (hmax && maxl < n)
        n = maxl < 0 ? 0 : (int)maxl;
    for (i = 0; i < n; i++) {
        if ((v = gen(g, items)) == NULL)
            goto fail;
        cJSON_AddItemToArray(a, v);
    }
    return a;
fail:
    cJSON_Delete(a);
    return NULL;
}

/* allOf: merge the objects the branches generate (first one wins per key). */
static cJSON *gen_allof(exgen *g, const cJSON *s, const cJSON *all)
{
    cJSON *res = NULL, *v, *kid;
    const cJSON *e;

    if (first_type(s) || cJSON_GetObjectItemCaseSensitive(s, "properties"))
        res = gen_object(g, s);
    cJSON_ArrayForEach(e, all) {
        v = gen(g, e);
        if (v == NULL)
            goto fail;
        if (res == NULL) {
            res = v;
            continue;
        }
        if (cJSON_IsObject(res) && cJSON_IsObject(v)) {
            while ((kid = v->child) != NULL) {
                cJSON_DetachItemViaPointer(v, kid);
                if (cJSON_GetObjectItemCaseSensitive(res, kid->string))
                    cJSON_Delete(kid);
                else
                    cJSON_AddItemToObject(res, kid->string, kid);
            }
        }
        cJSON_Delete(v);
    }
    return res ? res : cJSON_CreateObject();
fail:
    cJSON_Delete(res);
    return NULL;
}

static cJSON *gen(exgen *g, const cJSON *s)
{
    const cJSON *v;
    const char *t;
    cJSON *res = NULL;
    int i;

    if (!cJSON_IsObject(s) || g->nodes++ >= EX_MAX_NODES)
        return cJSON_CreateNull();
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "const")) != NULL)
        return cJSON_Duplicate(v, 1);
    if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(s, "examples")) && v->child)
        return cJSON_Duplicate(v->child, 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "example")) != NULL)
        return cJSON_Duplicate(v, 1);
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "default")) != NULL)
        return cJSON_Duplicate(v, 1);
    if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(s, "enum")) && v->child)
        return cJSON_Duplicate(v->child, 1);
    if (g->top >= EX_MAX_DEPTH || cJSON_GetObjectItemCaseSensitive(s, "$ref"))
        return cJSON_CreateNull(); /* too deep, or a $ref the loader left (recursion) */
    for (i = 0; i < g->top; i++)
        if (g->stack[i] == s)
            return cJSON_CreateNull(); /* recursive: stop here */
    g->stack[g->top++] = s;
    if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(s, "allOf")) && v->child) {
        res = gen_allof(g, s, v);
    } else if ((cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(s, "oneOf")) ||
                cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(s, "anyOf"))) &&
               v->child && first_type(s) == NULL) {
        res = gen(g, v->child);
    } else {
        t = first_type(s);
        if (t == NULL)
            res = cJSON_CreateObject();
        else if (strcmp(t, "object") == 0)
            res = gen_object(g, s);
        else if (strcmp(t, "array") == 0)
            res = gen_array(g, s);
        else if (strcmp(t, "string") == 0)
            res = gen_string(s);
        else if (strcmp(t, "integer") == 0)
            res = gen_number(s, 1);
        else if (strcmp(t, "number") == 0)
            res = gen_number(s, 0);
        else if (strcmp(t, "boolean") == 0)
            res = cJSON_CreateTrue();
        else
            res = cJSON_CreateNull();
    }
    g->top--;
    return res;
}

cJSON *asyncapi__docs_example(const cJSON *schema)
{
    exgen g;

    if (schema == NULL)
        return NULL;
    memset(&g, 0, sizeof(g));
    return gen(&g, schema);
}
