/* SPDX-License-Identifier: MIT */
/*
 * The bodies of the four fuzz targets, shared by the libFuzzer entry points
 * (tests/fuzz/fuzz_*.c) and the regression replay in the unit tests
 * (tests/unit/asyncapi/test_fuzz_regress.c), so a crasher found once is
 * replayed through exactly the same calls and checks. Each body returns 0,
 * or 1 after printing to stderr when an invariant of the public contract
 * (the headers in asyncapi/include/asyncapi/) was broken; memory errors are left to
 * ASan/UBSan. How to run: docs/fuzzing.md.
 */
#ifndef FUZZ_BODIES_H
#define FUZZ_BODIES_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/parse.h"
#include "asyncapi/router.h"
#include "asyncapi/schema.h"

#define FUZZ_FAIL(...)                                                      \
    do {                                                                    \
        fprintf(stderr, "fuzz invariant broken at %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                \
        bad = 1;                                                            \
        goto out;                                                           \
    } while (0)

/* A copy of data[0..size) in a buffer of exactly size bytes (no NUL). */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);

    if (p && size)
        memcpy(p, data, size);
    return p;
}

/* The same, NUL-terminated. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1);

    if (p) {
        if (size)
            memcpy(p, data, size);
        p[size] = '\0';
    }
    return p;
}

/* Is a fixed-size diagnostic text NUL-terminated inside its buffer? */
static inline int fuzz_terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static inline int fuzz_diag_ok(const asyncapi_diag *d)
{
    return fuzz_terminated(d->file, sizeof(d->file)) &&
           fuzz_terminated(d->pointer, sizeof(d->pointer)) &&
           fuzz_terminated(d->message, sizeof(d->message));
}

/* Does the tree hold a number JSON cannot print (inf)? */
static inline int fuzz_has_nonfinite(const cJSON *n)
{
    if (cJSON_IsNumber(n) && !isfinite(n->valuedouble))
        return 1;
    for (const cJSON *c = n->child; c; c = c->next)
        if (fuzz_has_nonfinite(c))
            return 1;
    return 0;
}

/* Checks a validation result against schema.h's contract. */
static inline int fuzz_result_ok(int rc, const asyncapi_schema_result *res)
{
    if (rc != 1)
        return 1;
    if (res->n_errors < 1 || res->n_errors > ASYNCAPI_SCHEMA_MAX_ERRORS ||
        res->total < res->n_errors)
        return 0;
    for (unsigned i = 0; i < res->n_errors; i++) {
        const asyncapi_schema_error *e = &res->errors[i];
        if (!fuzz_terminated(e->pointer, sizeof(e->pointer)) ||
            !fuzz_terminated(e->schema_path, sizeof(e->schema_path)) ||
            !fuzz_terminated(e->keyword, sizeof(e->keyword)) ||
            !fuzz_terminated(e->message, sizeof(e->message)) || !e->keyword[0])
            return 0;
    }
    return 1;
}

/*
 * Validates a parsed instance three ways (no result, with a result) and
 * checks they agree with each other and with expect (-100 = unknown).
 * Returns the verdict (0/1/ELIMIT/ENOMEM), or -1000 on a broken invariant.
 */
static inline int fuzz_validate_tree(const asyncapi_schema *s, const cJSON *inst, int expect)
{
    asyncapi_schema_result res;
    int a, b;

    memset(&res, 0xA5, sizeof(res)); /* garbage in: the validator must fill it */
    a = asyncapi_schema_validate(s, inst, NULL);
    b = asyncapi_schema_validate(s, inst, &res);
    if (a != 0 && a != 1 && a != ASYNCAPI_ELIMIT && a != ASYNCAPI_ENOMEM) {
        fprintf(stderr, "fuzz: validate returned %d\n", a);
        return -1000;
    }
    if (a != b) {
        fprintf(stderr, "fuzz: validate verdict %d without result, %d with result\n", a, b);
        return -1000;
    }
    if (expect != -100 && a != expect) {
        fprintf(stderr, "fuzz: validate verdict %d, validate_json said %d\n", a, expect);
        return -1000;
    }
    if (!fuzz_result_ok(b, &res)) {
        fprintf(stderr, "fuzz: result of an invalid instance breaks the contract\n");
        return -1000;
    }
    return a;
}

/* ---- fuzz_parse: asyncapi_parse_buffer, then asyncapi_load ---- */

/*
 * Parses data as YAML/JSON; a tree must print as JSON that parses back to
 * an equal tree. If it looks like an AsyncAPI document it is also written
 * to load_path (a scratch file; NULL skips this) and loaded, and the model
 * is walked: message examples are validated against their payload schemas.
 */
static inline int fuzz_parse_one(const uint8_t *data, size_t size, const char *load_path)
{
    /*
     * Default limits except max_nodes: a 750-byte alias bomb reaches the
     * default 4,000,000 nodes in about 1 s (release), longer than a useful
     * fuzz iteration; see docs/fuzzing.md, "Findings".
     */
    const asyncapi_parse_limits lim = {.max_nodes = 400000};
    asyncapi_diag diag;
    char *buf = fuzz_copy(data, size);
    char *printed = NULL;
    cJSON *root = NULL, *again = NULL;
    asyncapi_doc *doc = NULL;
    int err = 12345, bad = 0;

    if (!buf)
        return 0;
    root = asyncapi_parse_buffer(buf, size, "fuzz", &lim, &err, &diag);
    if (!root) {
        if (err != ASYNCAPI_ESYNTAX && err != ASYNCAPI_ELIMIT && err != ASYNCAPI_ENOMEM)
            FUZZ_FAIL("parse_buffer failed with code %d", err);
        if (!fuzz_diag_ok(&diag) || !diag.message[0])
            FUZZ_FAIL("parse_buffer failed (%d) without a message", err);
        goto out;
    }
    if (!fuzz_has_nonfinite(root)) {
        printed = cJSON_PrintUnformatted(root);
        if (!printed)
            goto out;
        again = asyncapi_parse_buffer(printed, strlen(printed), "again", &lim, &err, &diag);
        if (!again)
            FUZZ_FAIL("tree printed as JSON does not parse back (%d: %s): %s", err,
                      diag.message, printed);
        if (!cJSON_Compare(root, again, 1))
            FUZZ_FAIL("tree printed as JSON parses back different: %s", printed);
    }
    if (load_path && cJSON_IsObject(root) &&
        cJSON_GetObjectItemCaseSensitive(root, "asyncapi")) {
        FILE *f = fopen(load_path, "wb");
        size_t n;
        const asyncapi_channel *chs;
        const asyncapi_message *msgs;
        const asyncapi_operation *ops;
        const asyncapi_server *srv;

        if (!f)
            goto out;
        if (size && fwrite(data, 1, size, f) != size) {
            fclose(f);
            goto out;
        }
        fclose(f);
        err = 12345;
        doc = asyncapi_load(load_path, &lim, &err, &diag);
        if (!doc) {
            if (err != ASYNCAPI_EIO && err != ASYNCAPI_ESYNTAX && err != ASYNCAPI_ELIMIT &&
                err != ASYNCAPI_EINVAL && err != ASYNCAPI_EREF && err != ASYNCAPI_EVERSION &&
                err != ASYNCAPI_ENOMEM)
                FUZZ_FAIL("load failed with code %d", err);
            if (!fuzz_diag_ok(&diag) || !diag.message[0])
                FUZZ_FAIL("load failed (%d) without a message", err);
            goto out;
        }
        if (!asyncapi_doc_info(doc) || !asyncapi_doc_root(doc) || !asyncapi_doc_path(doc))
            FUZZ_FAIL("loaded document lacks info/root/path");
        srv = asyncapi_doc_servers(doc, &n);
        for (size_t i = 0; i < n; i++)
            if (!srv[i].id)
                FUZZ_FAIL("server %zu has no id", i);
        chs = asyncapi_doc_channels(doc, &n);
        for (size_t i = 0; i < n; i++) {
            const asyncapi_channel *ch = &chs[i];
            if (!ch->id || asyncapi_doc_channel(doc, ch->id) == NULL)
                FUZZ_FAIL("channel %zu cannot be found by its id", i);
            if (ch->address) {
                char filter[1024];
                (void)asyncapi_topic_filter(ch->address, filter, sizeof(filter));
                if (!asyncapi_doc_channel_by_address(doc, ch->address))
                    FUZZ_FAIL("channel '%s' cannot be found by its address", ch->address);
            }
            for (size_t k = 0; k < ch->n_params; k++)
                if (!ch->params[k].name)
                    FUZZ_FAIL("channel '%s' parameter %zu has no name", ch->id, k);
            for (size_t k = 0; k < ch->n_messages; k++)
                if (!ch->messages[k] || !ch->messages[k]->id)
                    FUZZ_FAIL("channel '%s' message %zu is empty", ch->id, k);
            (void)asyncapi_channel_receives(doc, ch);
            if (asyncapi_channel_qos(doc, ch) < 0 || asyncapi_channel_qos(doc, ch) > 2)
                FUZZ_FAIL("channel '%s' qos out of range", ch->id);
        }
        ops = asyncapi_doc_operations(doc, &n);
        for (size_t i = 0; i < n; i++) {
            if (!ops[i].id || !ops[i].channel)
                FUZZ_FAIL("operation %zu has no id or channel", i);
            if (ops[i].qos < -1 || ops[i].qos > 2)
                FUZZ_FAIL("operation '%s' qos %d", ops[i].id, ops[i].qos);
        }
        msgs = asyncapi_doc_messages(doc, &n);
        for (size_t i = 0; i < n; i++) {
            const asyncapi_message *m = &msgs[i];
            if (!m->id)
                FUZZ_FAIL("message %zu has no id", i);
            if (m->payload_schema && cJSON_IsArray(m->examples)) {
                const cJSON *ex;
                cJSON_ArrayForEach(ex, m->examples)
                {
                    const cJSON *p = cJSON_IsObject(ex)
                                         ? cJSON_GetObjectItemCaseSensitive(ex, "payload")
                                         : NULL;
                    if (p && fuzz_validate_tree(m->payload_schema, p, -100) == -1000)
                        FUZZ_FAIL("message '%s' example", m->id);
                }
            }
        }
        (void)asyncapi_doc_warnings(doc, &n);
    }
out:
    asyncapi_free(doc);
    cJSON_Delete(again);
    free(printed);
    cJSON_Delete(root);
    free(buf);
    return bad;
}

/* ---- fuzz_validate: asyncapi_schema_validate_json on fixed schemas ---- */

/* Schemas the payloads are checked against; data[0] picks one. */
static const char *const fuzz_validate_schemas[] = {
    /* 0: a device telemetry message */
    "{\"type\":\"object\",\"required\":[\"deviceId\",\"temperature\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"deviceId\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9-]{1,32}$\"},"
    "\"temperature\":{\"type\":\"number\",\"minimum\":-40,\"maximum\":85.5},"
    "\"seq\":{\"type\":\"integer\",\"minimum\":0},"
    "\"status\":{\"enum\":[\"ok\",\"warn\",null,1.5,[1,2],{\"a\":\"b\"}]},"
    "\"kind\":{\"const\":{\"x\":[1,{\"y\":null}]}},"
    "\"ts\":{\"type\":\"string\",\"format\":\"date-time\"}}}",
    /* 1: arrays */
    "{\"type\":\"array\",\"items\":[{\"type\":\"integer\"},{\"type\":\"string\"}],"
    "\"additionalItems\":{\"type\":[\"number\",\"boolean\",\"object\",\"array\"]},"
    "\"uniqueItems\":true,\"minItems\":1,\"maxItems\":50,"
    "\"contains\":{\"type\":\"integer\",\"multipleOf\":3}}",
    /* 2: strings, lengths in code points, unicode patterns */
    "{\"type\":\"string\",\"minLength\":2,\"maxLength\":20,"
    "\"pattern\":\"^(\\\\p{L}|[0-9_ -])*$\"}",
    /* 3: combinators and conditionals */
    "{\"allOf\":[{\"type\":[\"object\",\"array\",\"string\"]}],"
    "\"anyOf\":[{\"type\":\"object\"},{\"type\":\"array\"},{\"maxLength\":4}],"
    "\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]},{\"type\":\"array\"},"
    "{\"type\":\"string\"}],\"not\":{\"required\":[\"c\",\"d\"]},"
    "\"if\":{\"properties\":{\"a\":{\"const\":1}}},\"then\":{\"required\":[\"e\"]},"
    "\"else\":{\"propertyNames\":{\"pattern\":\"^[a-f]+$\",\"maxLength\":3}},"
    "\"dependencies\":{\"a\":[\"f\"],\"b\":{\"minProperties\":2,\"maxProperties\":5}},"
    "\"patternProperties\":{\"^x-\":{\"type\":\"string\"},\"[0-9]{2}\":false},"
    "\"additionalProperties\":{\"type\":[\"integer\",\"string\",\"null\",\"object\"]}}",
    /* 4: a recursive tree */
    "{\"$id\":\"http://example.com/tree.json\",\"$ref\":\"#/definitions/node\","
    "\"definitions\":{\"node\":{\"type\":\"object\",\"properties\":{"
    "\"value\":{\"type\":\"number\"},\"children\":{\"type\":\"array\","
    "\"items\":{\"$ref\":\"#/definitions/node\"}}},\"required\":[\"value\"]}}}",
    /* 5: numbers */
    "{\"type\":[\"number\",\"array\"],\"items\":{\"multipleOf\":0.01,"
    "\"exclusiveMinimum\":-1e308,\"exclusiveMaximum\":1e308},"
    "\"multipleOf\":0.0001,\"minimum\":-9007199254740993,\"maximum\":1e300}",
    /* 6: every format asserted */
    "{\"type\":[\"string\",\"object\"],\"additionalProperties\":{\"anyOf\":["
    "{\"format\":\"date-time\"},{\"format\":\"date\"},{\"format\":\"time\"},"
    "{\"format\":\"email\"},{\"format\":\"idn-email\"},{\"format\":\"hostname\"},"
    "{\"format\":\"idn-hostname\"},{\"format\":\"ipv4\"},{\"format\":\"ipv6\"},"
    "{\"format\":\"uri\"},{\"format\":\"uri-reference\"},{\"format\":\"iri\"},"
    "{\"format\":\"iri-reference\"},{\"format\":\"uri-template\"},"
    "{\"format\":\"json-pointer\"},{\"format\":\"relative-json-pointer\"},"
    "{\"format\":\"regex\"}]},"
    "\"allOf\":[{\"format\":\"date-time\"},{\"format\":\"date\"},{\"format\":\"time\"},"
    "{\"format\":\"email\"},{\"format\":\"idn-email\"},{\"format\":\"hostname\"},"
    "{\"format\":\"idn-hostname\"},{\"format\":\"ipv4\"},{\"format\":\"ipv6\"},"
    "{\"format\":\"uri\"},{\"format\":\"uri-reference\"},{\"format\":\"iri\"},"
    "{\"format\":\"iri-reference\"},{\"format\":\"uri-template\"},"
    "{\"format\":\"json-pointer\"},{\"format\":\"relative-json-pointer\"},"
    "{\"format\":\"regex\"}]}",
    /* 7: the draft-07 meta-schema: any JSON checked as a schema */
    "{\"$ref\":\"http://json-schema.org/draft-07/schema#\"}",
    /* 8: anything */
    "true",
    /* 9: a known answer for the regex engine: strings of a, b, c only */
    "{\"type\":\"string\",\"pattern\":\"^([ab]|c)*$\"}",
};

/* Index of the known-answer schema: the verdict is checked against a loop. */
#define FUZZ_VALIDATE_ABC 9

#define FUZZ_VALIDATE_N (sizeof(fuzz_validate_schemas) / sizeof(fuzz_validate_schemas[0]))

/* Compiles fuzz_validate_schemas into out[]; 0 or -1 (printed). */
static inline int fuzz_validate_init(asyncapi_schema *out[FUZZ_VALIDATE_N])
{
    for (size_t i = 0; i < FUZZ_VALIDATE_N; i++) {
        asyncapi_diag diag;
        cJSON *j = cJSON_Parse(fuzz_validate_schemas[i]);

        out[i] = j ? asyncapi_schema_compile(j, NULL, NULL, 0, &diag) : NULL;
        cJSON_Delete(j);
        if (!out[i]) {
            fprintf(stderr, "fuzz: schema %zu does not compile: %s\n", i,
                    j ? diag.message : "bad JSON");
            return -1;
        }
    }
    return 0;
}

static inline void fuzz_validate_release(asyncapi_schema *s[FUZZ_VALIDATE_N])
{
    for (size_t i = 0; i < FUZZ_VALIDATE_N; i++) {
        asyncapi_schema_free(s[i]);
        s[i] = NULL;
    }
}

/*
 * data[0] picks a schema, data[1..] is the payload. validate_json with and
 * without result/out must agree, and agree with validating the tree it gave.
 */
static inline int fuzz_validate_one(asyncapi_schema *const schemas[FUZZ_VALIDATE_N],
                                    const uint8_t *data, size_t size)
{
    const asyncapi_schema *s;
    asyncapi_schema_result res;
    cJSON *out = NULL;
    char *buf = NULL;
    int rc, rc2, bad = 0;

    if (size < 1)
        return 0;
    s = schemas[data[0] % FUZZ_VALIDATE_N];
    buf = fuzz_copy(data + 1, size - 1);
    if (!buf)
        return 0;
    memset(&res, 0xA5, sizeof(res));
    rc = asyncapi_schema_validate_json(s, buf, size - 1, &res, &out);
    if (rc != 0 && rc != 1 && rc != ASYNCAPI_ESYNTAX && rc != ASYNCAPI_ELIMIT &&
        rc != ASYNCAPI_ENOMEM)
        FUZZ_FAIL("validate_json returned %d", rc);
    if (!fuzz_result_ok(rc, &res))
        FUZZ_FAIL("validate_json result breaks the contract (rc %d)", rc);
    if (rc == ASYNCAPI_ESYNTAX &&
        (res.n_errors != 1 || strcmp(res.errors[0].keyword, "parse") != 0))
        FUZZ_FAIL("syntax error not reported as one \"parse\" error");
    if ((rc == 0 || rc == 1) != (out != NULL))
        FUZZ_FAIL("validate_json rc %d but out is %p", rc, (void *)out);
    rc2 = asyncapi_schema_validate_json(s, buf, size - 1, NULL, NULL);
    if (rc2 != rc)
        FUZZ_FAIL("validate_json says %d with a result, %d without", rc, rc2);
    if (data[0] % FUZZ_VALIDATE_N == FUZZ_VALIDATE_ABC && cJSON_IsString(out)) {
        int only_abc = strspn(out->valuestring, "abc") == strlen(out->valuestring);
        if (rc != (only_abc ? 0 : 1))
            FUZZ_FAIL("pattern ^([ab]|c)*$ on a %zu-byte string: verdict %d, expected %d",
                      strlen(out->valuestring), rc, only_abc ? 0 : 1);
    }
    if (out) {
        char *printed;
        if (fuzz_validate_tree(s, out, rc) == -1000)
            FUZZ_FAIL("tree verdict differs from text verdict");
        /* the tree printed by cJSON is JSON the strict reader must accept */
        printed = fuzz_has_nonfinite(out) ? NULL : cJSON_PrintUnformatted(out);
        if (printed) {
            rc2 = asyncapi_schema_validate_json(s, printed, strlen(printed), NULL, NULL);
            if (rc2 != rc) {
                fprintf(stderr, "printed: %s\n", printed);
                free(printed);
                FUZZ_FAIL("validate_json says %d on the text, %d on cJSON's reprint", rc, rc2);
            }
            free(printed);
        }
    }
out:
    cJSON_Delete(out);
    free(buf);
    return bad;
}

/* ---- fuzz_schema_compile: asyncapi_schema_compile on hostile schemas ---- */

#define FUZZ_OTHER_URI "file:///fuzz/other.json"

static inline const cJSON *fuzz_fetch(void *ctx, const char *uri)
{
    const cJSON *other = ctx;

    if (strcmp(uri, FUZZ_OTHER_URI) == 0)
        return other;
    return NULL;
}

/*
 * data is a schema document (YAML or JSON, as a spec would hold it). It is
 * compiled as the root of file:///fuzz/spec.json (another document,
 * file:///fuzz/other.json, is known to the resolver), then used on a few
 * fixed instances and on itself.
 */
static inline int fuzz_schema_compile_one(const uint8_t *data, size_t size)
{
    static const char *const instances[] = {
        "null", "true", "0", "-1.5", "1e300", "\"\"", "\"abc\"", "\"2024-01-01T00:00:00Z\"",
        "[]", "[1,1]", "[1,\"a\",{},[null]]", "{}", "{\"a\":1,\"b\":[true],\"c\":{\"d\":\"e\"}}",
    };
    static const char other_text[] =
        "{\"definitions\":{\"n\":{\"type\":\"number\"},\"r\":{\"$ref\":\"#/definitions/n\"},"
        "\"back\":{\"$ref\":\"spec.json#/definitions/x\"}}}";
    asyncapi_parse_limits lim = {.max_bytes = 1u << 20, .max_depth = 64, .max_nodes = 100000};
    asyncapi_schema_resolver resolver = {.fetch = fuzz_fetch, .ctx = NULL};
    asyncapi_diag diag;
    asyncapi_schema *s = NULL;
    cJSON *other = NULL, *doc = NULL;
    char *buf = fuzz_copy(data, size);
    int err, bad = 0;

    if (!buf)
        return 0;
    doc = asyncapi_parse_buffer(buf, size, "schema", &lim, &err, &diag);
    other = cJSON_Parse(other_text);
    if (!doc || !other)
        goto out;
    resolver.ctx = other;
    memset(&diag, 0, sizeof(diag));
    s = asyncapi_schema_compile(doc, "file:///fuzz/spec.json", &resolver,
                                size % 2 ? ASYNCAPI_SCHEMA_FORMAT_ANNOTATION : 0, &diag);
    if (!s) {
        if (!fuzz_diag_ok(&diag) || !diag.message[0])
            FUZZ_FAIL("compile failed without a message");
        goto out;
    }
    for (size_t i = 0; i < sizeof(instances) / sizeof(instances[0]); i++) {
        cJSON *inst = cJSON_Parse(instances[i]);
        int v;
        if (!inst)
            continue;
        v = fuzz_validate_tree(s, inst, -100);
        if (v != -1000) {
            int t = asyncapi_schema_validate_json(s, instances[i], strlen(instances[i]),
                                                  NULL, NULL);
            if (t != v) {
                cJSON_Delete(inst);
                FUZZ_FAIL("instance %s: tree verdict %d, text verdict %d", instances[i], v, t);
            }
        }
        cJSON_Delete(inst);
        if (v == -1000)
            FUZZ_FAIL("instance %s", instances[i]);
    }
    if (fuzz_validate_tree(s, doc, -100) == -1000)
        FUZZ_FAIL("the schema validated against itself");
out:
    asyncapi_schema_free(s);
    cJSON_Delete(other);
    cJSON_Delete(doc);
    free(buf);
    return bad;
}

/* ---- fuzz_router: asyncapi_router_add / match against a naive matcher ---- */

#define FUZZ_ROUTER_MAX_ADDR 48

/* One level of an accepted address, for the naive matcher. */
typedef struct fuzz_level {
    const char *text; /* the level in the address */
    size_t len;
    int is_param;     /* holds "{name}" */
    size_t pre, suf;  /* bytes before '{' and after '}' */
} fuzz_level;

/* Splits an address accepted by the router into levels (at most 4096). */
static inline size_t fuzz_levels(const char *a, fuzz_level *lv, size_t max)
{
    size_t n = 0;
    const char *p = a;

    for (;;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *o = memchr(p, '{', len);
        if (n == max)
            return (size_t)-1;
        lv[n].text = p;
        lv[n].len = len;
        lv[n].is_param = o != NULL;
        if (o) {
            const char *c = memchr(o, '}', len - (size_t)(o - p));
            lv[n].pre = (size_t)(o - p);
            lv[n].suf = c ? len - (size_t)(c - p) - 1 : 0;
        } else {
            lv[n].pre = lv[n].suf = 0;
        }
        n++;
        if (!e)
            return n;
        p = e + 1;
    }
}

/* Rank of an address level at a topic level: 0 no match, 1 literal, 2 affix, 3 param. */
static inline int fuzz_level_rank(const fuzz_level *l, const char *t, size_t tlen)
{
    if (!l->is_param)
        return l->len == tlen && memcmp(l->text, t, tlen) == 0 ? 1 : 0;
    if (tlen < l->pre + l->suf + 1)
        return 0;
    if (memcmp(l->text, t, l->pre) != 0 ||
        memcmp(l->text + l->len - l->suf, t + tlen - l->suf, l->suf) != 0)
        return 0;
    return l->pre + l->suf ? 2 : 3;
}

/*
 * Data: lines; all but the last are addresses to add, the last is the topic
 * (NUL bytes and all, matched without a terminator). Checks: return codes;
 * topic_filter agrees with add; a match's parameters substituted into its
 * address give back the topic; a topic some address matches is never
 * ENOMATCH; the winner is the most specific by level (literal, then affix
 * with the longest fixed part, then parameter); each literal address matches
 * itself.
 */
static inline int fuzz_router_one(const uint8_t *data, size_t size)
{
    static fuzz_level la[4096], lb[4096];
    char *addr[FUZZ_ROUTER_MAX_ADDR];
    int added[FUZZ_ROUTER_MAX_ADDR];
    size_t n_addr = 0, n_ok = 0, start = 0, tlen;
    const char *topic_src;
    char *topic = NULL, *text = NULL;
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int rc, bad = 0;

    if (!r)
        return 0;
    for (size_t i = 0; i < size && n_addr < FUZZ_ROUTER_MAX_ADDR; i++) {
        if (data[i] != '\n')
            continue;
        addr[n_addr] = fuzz_strndup(data + start, i - start);
        if (!addr[n_addr])
            goto out;
        n_addr++;
        start = i + 1;
    }
    topic_src = (const char *)data + start;
    tlen = size - start;
    topic = fuzz_copy((const uint8_t *)topic_src, tlen);
    if (!topic)
        goto out;
    for (size_t i = 0; i < n_addr; i++) {
        char filter[512];
        int f;
        rc = asyncapi_router_add(r, addr[i], (void *)(uintptr_t)(i + 1));
        added[i] = rc == 0;
        if (rc != 0 && rc != ASYNCAPI_EEXIST && rc != ASYNCAPI_EINVAL && rc != ASYNCAPI_ENOMEM)
            FUZZ_FAIL("router_add('%s') returned %d", addr[i], rc);
        if (rc == 0)
            n_ok++;
        f = asyncapi_topic_filter(addr[i], filter, sizeof(filter));
        if (f != ASYNCAPI_EINVAL && f != ASYNCAPI_ELIMIT && (f < 0 || (size_t)f >= sizeof(filter)))
            FUZZ_FAIL("topic_filter('%s') returned %d", addr[i], f);
        if (f >= 0) {
            if (strlen(filter) != (size_t)f || strchr(filter, '#') || strchr(filter, '{'))
                FUZZ_FAIL("topic_filter('%s') gave '%s' (%d)", addr[i], filter, f);
            for (const char *p = filter; *p; p++)
                if (*p == '+' && ((p > filter && p[-1] != '/') || (p[1] && p[1] != '/')))
                    FUZZ_FAIL("topic_filter('%s') gave '%s': '+' not a whole level",
                              addr[i], filter);
        }
        if (rc == 0 && f == ASYNCAPI_EINVAL)
            FUZZ_FAIL("router accepts '%s' but topic_filter says EINVAL", addr[i]);
    }
    if (asyncapi_router_count(r) != n_ok)
        FUZZ_FAIL("router_count %zu, %zu added", asyncapi_router_count(r), n_ok);

    memset(&m, 0, sizeof(m));
    rc = asyncapi_router_match(r, topic, tlen, &m);
    if (rc != 0 && rc != ASYNCAPI_ENOMATCH && rc != ASYNCAPI_ETOPIC)
        FUZZ_FAIL("match returned %d", rc);
    {
        int routable = tlen > 0 && tlen <= ASYNCAPI_ROUTE_MAX_TOPIC && topic[0] != '$' &&
                       !memchr(topic, '+', tlen) && !memchr(topic, '#', tlen) &&
                       !memchr(topic, '\0', tlen);
        if (!routable && rc != ASYNCAPI_ETOPIC)
            FUZZ_FAIL("unroutable topic gave %d, not ETOPIC", rc);
        if (routable && rc == ASYNCAPI_ETOPIC)
            FUZZ_FAIL("routable topic gave ETOPIC");
    }
    /* the naive matcher: which added addresses match, and the best one */
    {
        size_t tl[4096][2], ntl = 0, best = (size_t)-1, pos = 0;
        int have_tie = 0;
        if (rc == ASYNCAPI_ETOPIC)
            goto check_self;
        for (;;) {
            const char *e = memchr(topic + pos, '/', tlen - pos);
            size_t end = e ? (size_t)(e - topic) : tlen;
            if (ntl == 4096)
                goto check_self;
            tl[ntl][0] = pos;
            tl[ntl][1] = end - pos;
            ntl++;
            if (!e)
                break;
            pos = end + 1;
        }
        for (size_t i = 0; i < n_addr; i++) {
            size_t na;
            int ok = 1;
            if (!added[i])
                continue;
            na = fuzz_levels(addr[i], la, 4096);
            if (na != ntl)
                continue;
            for (size_t k = 0; k < na && ok; k++)
                ok = fuzz_level_rank(&la[k], topic + tl[k][0], tl[k][1]) != 0;
            if (!ok)
                continue;
            if (best == (size_t)-1) {
                best = i;
                continue;
            }
            fuzz_levels(addr[best], lb, 4096);
            for (size_t k = 0; k < na; k++) {
                int ra = fuzz_level_rank(&la[k], topic + tl[k][0], tl[k][1]);
                int rb = fuzz_level_rank(&lb[k], topic + tl[k][0], tl[k][1]);
                size_t fa = la[k].pre + la[k].suf, fb = lb[k].pre + lb[k].suf;
                if (ra != rb) {
                    if (ra < rb) {
                        best = i;
                        have_tie = 0;
                    }
                    break;
                }
                if (ra == 2 && fa != fb) {
                    if (fa > fb) {
                        best = i;
                        have_tie = 0;
                    }
                    break;
                }
                if (ra == 2 && (la[k].pre != lb[k].pre ||
                                memcmp(la[k].text, lb[k].text, la[k].pre) != 0 ||
                                memcmp(la[k].text + la[k].len - la[k].suf,
                                       lb[k].text + lb[k].len - lb[k].suf, la[k].suf) != 0)) {
                    have_tie = 1; /* same fixed length, different affixes: order unspecified */
                    break;
                }
            }
        }
        if (best != (size_t)-1 && rc == ASYNCAPI_ENOMATCH)
            FUZZ_FAIL("topic matches address '%s' but router says ENOMATCH", addr[best]);
        if (best == (size_t)-1 && rc == 0)
            FUZZ_FAIL("router matched value %zu, naive matcher finds nothing",
                      (size_t)(uintptr_t)m.value);
        if (rc == 0) {
            size_t vi = (size_t)(uintptr_t)m.value;
            if (vi < 1 || vi > n_addr || !added[vi - 1])
                FUZZ_FAIL("match returned value %zu which was never added", vi);
            if (!have_tie && vi - 1 != best)
                FUZZ_FAIL("router picked '%s', most specific is '%s'", addr[vi - 1], addr[best]);
            /* substitute the parameters back into the matched address */
            if (m.n_params > ASYNCAPI_ROUTE_MAX_PARAMS)
                FUZZ_FAIL("n_params %zu", m.n_params);
            {
                const char *a = addr[vi - 1];
                size_t ti = 0, k = 0;
                while (*a) {
                    if (*a == '{') {
                        const char *c = strchr(a, '}');
                        const asyncapi_route_param *p = &m.params[k];
                        if (!c || k >= m.n_params)
                            FUZZ_FAIL("'%s': fewer parameters than braces", addr[vi - 1]);
                        if (!p->name || strlen(p->name) != (size_t)(c - a - 1) ||
                            memcmp(p->name, a + 1, (size_t)(c - a - 1)) != 0)
                            FUZZ_FAIL("'%s': parameter %zu named '%s'", addr[vi - 1], k,
                                      p->name ? p->name : "(null)");
                        if (p->len == 0 || p->value != topic + ti || ti + p->len > tlen ||
                            memchr(p->value, '/', p->len))
                            FUZZ_FAIL("'%s': parameter %zu value out of place", addr[vi - 1], k);
                        ti += p->len;
                        k++;
                        a = c + 1;
                    } else {
                        if (ti >= tlen || topic[ti] != *a)
                            FUZZ_FAIL("'%s' with its parameters is not the topic", addr[vi - 1]);
                        ti++;
                        a++;
                    }
                }
                if (ti != tlen || k != m.n_params)
                    FUZZ_FAIL("'%s' with its parameters is not the topic (%zu/%zu, %zu/%zu)",
                              addr[vi - 1], ti, tlen, k, m.n_params);
            }
        }
    }
check_self:
    /* a literal address is matched by its own text, and wins */
    for (size_t i = 0; i < n_addr; i++) {
        size_t len = strlen(addr[i]);
        if (!added[i] || strchr(addr[i], '{'))
            continue;
        free(text);
        text = fuzz_copy((const uint8_t *)addr[i], len);
        if (!text)
            goto out;
        rc = asyncapi_router_match(r, text, len, &m);
        if (rc != 0 || m.value != (void *)(uintptr_t)(i + 1) || m.n_params != 0)
            FUZZ_FAIL("literal address '%s' does not match itself (%d)", addr[i], rc);
    }
out:
    free(text);
    free(topic);
    for (size_t i = 0; i < n_addr; i++)
        free(addr[i]);
    asyncapi_router_free(r);
    return bad;
}

#endif
