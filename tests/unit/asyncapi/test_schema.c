/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the JSON Schema validator (asyncapi/schema.h): error
 * details, bad schemas, bad JSON text, deep nesting, Unicode lengths,
 * $ref/$id resolution and a two-thread smoke test. The full draft-07 suite
 * runs separately (tests/conformance).
 */
#include "test.h"

#include <pthread.h>

#include "asyncapi/schema.h"

static asyncapi_schema *compile_text(const char *text, unsigned flags, asyncapi_diag *diag)
{
    cJSON *j = cJSON_Parse(text);
    asyncapi_schema *s;

    if (!j)
        return NULL;
    s = asyncapi_schema_compile(j, NULL, NULL, flags, diag);
    cJSON_Delete(j);
    return s;
}

static int check(const asyncapi_schema *s, const char *json, asyncapi_schema_result *r)
{
    return asyncapi_schema_validate_json(s, json, strlen(json), r, NULL);
}

static const char *telemetry_schema =
    "{\"type\":\"object\",\"required\":[\"deviceId\",\"temperature\",\"ts\"],"
    "\"additionalProperties\":false,"
    "\"properties\":{"
    "\"deviceId\":{\"type\":\"string\",\"pattern\":\"^dev-[0-9]{4}$\"},"
    "\"temperature\":{\"type\":\"number\",\"minimum\":-40,\"maximum\":40},"
    "\"ts\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"uniqueItems\":true},"
    "\"a/b~c\":{\"type\":\"integer\"},"
    "\"mode\":{\"enum\":[\"auto\",\"manual\"]}}}";

TEST(schema, valid_payload)
{
    asyncapi_schema *s = compile_text(telemetry_schema, 0, NULL);
    asyncapi_schema_result r;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "{\"deviceId\":\"dev-0001\",\"temperature\":21.5,"
                       "\"ts\":\"2024-05-01T12:00:00Z\",\"tags\":[\"a\",\"b\"]}", &r), 0);
    ASSERT_EQ(r.n_errors, 0);
    ASSERT_EQ(r.total, 0);
    asyncapi_schema_free(s);
}

TEST(schema, error_maximum_details)
{
    asyncapi_schema *s = compile_text(telemetry_schema, 0, NULL);
    asyncapi_schema_result r;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "{\"deviceId\":\"dev-0001\",\"temperature\":40.5,"
                       "\"ts\":\"2024-05-01T12:00:00Z\"}", &r), 1);
    ASSERT_EQ(r.n_errors, 1);
    ASSERT_STR_EQ(r.errors[0].pointer, "/temperature");
    ASSERT_STR_EQ(r.errors[0].schema_path, "#/properties/temperature/maximum");
    ASSERT_STR_EQ(r.errors[0].keyword, "maximum");
    ASSERT_STR_EQ(r.errors[0].message, "40.5 is greater than the maximum 40");
    /* the fast path agrees */
    ASSERT_EQ(check(s, "{\"deviceId\":\"dev-0001\",\"temperature\":40.5,"
                       "\"ts\":\"2024-05-01T12:00:00Z\"}", NULL), 1);
    asyncapi_schema_free(s);
}

TEST(schema, error_several_keywords)
{
    asyncapi_schema *s = compile_text(telemetry_schema, 0, NULL);
    asyncapi_schema_result r;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "{\"deviceId\":\"sensor-1\",\"temperature\":\"hot\","
                       "\"extra\":1,\"a/b~c\":1.5,\"mode\":\"off\",\"tags\":[\"x\",\"x\"]}", &r), 1);
    ASSERT_EQ(r.total, 7);
    ASSERT_EQ(r.n_errors, 7);
    ASSERT_STR_EQ(r.errors[0].pointer, "/deviceId");
    ASSERT_STR_EQ(r.errors[0].keyword, "pattern");
    ASSERT_STR_CONTAINS(r.errors[0].message, "\"sensor-1\" does not match");
    ASSERT_STR_EQ(r.errors[1].pointer, "/temperature");
    ASSERT_STR_EQ(r.errors[1].keyword, "type");
    ASSERT_STR_EQ(r.errors[1].schema_path, "#/properties/temperature/type");
    ASSERT_STR_EQ(r.errors[1].message, "expected number, got string \"hot\"");
    ASSERT_STR_EQ(r.errors[2].pointer, "/extra");
    ASSERT_STR_EQ(r.errors[2].keyword, "additionalProperties");
    ASSERT_STR_EQ(r.errors[2].schema_path, "#/additionalProperties");
    ASSERT_STR_CONTAINS(r.errors[2].message, "\"extra\" is not allowed");
    /* ~ and / in keys are escaped in both pointers */
    ASSERT_STR_EQ(r.errors[3].pointer, "/a~1b~0c");
    ASSERT_STR_EQ(r.errors[3].schema_path, "#/properties/a~1b~0c/type");
    ASSERT_STR_EQ(r.errors[3].message, "expected integer, got number 1.5");
    ASSERT_STR_EQ(r.errors[4].keyword, "enum");
    ASSERT_STR_EQ(r.errors[4].pointer, "/mode");
    ASSERT_STR_EQ(r.errors[5].keyword, "uniqueItems");
    ASSERT_STR_EQ(r.errors[5].pointer, "/tags");
    ASSERT_STR_EQ(r.errors[5].message, "items 0 and 1 are equal, expected unique items");
    ASSERT_STR_EQ(r.errors[6].keyword, "required");
    ASSERT_STR_EQ(r.errors[6].pointer, "");
    ASSERT_STR_EQ(r.errors[6].message, "required property \"ts\" is missing");
    asyncapi_schema_free(s);
}

TEST(schema, errors_capped_but_counted)
{
    asyncapi_schema *s = compile_text("{\"items\":{\"type\":\"string\"}}", 0, NULL);
    asyncapi_schema_result r;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "[1,2,3,4,5,6,7,8,9,10,11,12]", &r), 1);
    ASSERT_EQ(r.n_errors, ASYNCAPI_SCHEMA_MAX_ERRORS);
    ASSERT_EQ(r.total, 12);
    ASSERT_STR_EQ(r.errors[3].pointer, "/3");
    asyncapi_schema_free(s);
}

TEST(schema, combinator_and_format_messages)
{
    asyncapi_schema *s = compile_text(
        "{\"properties\":{\"x\":{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]},"
        "\"e\":{\"format\":\"email\"},\"n\":{\"not\":{\"type\":\"null\"}},"
        "\"c\":{\"const\":\"on\"}}}", 0, NULL);
    asyncapi_schema_result r;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "{\"x\":5,\"e\":\"not-an-email\",\"n\":null,\"c\":\"off\"}", &r), 1);
    ASSERT_EQ(r.n_errors, 4);
    ASSERT_STR_EQ(r.errors[0].keyword, "oneOf");
    ASSERT_STR_EQ(r.errors[0].schema_path, "#/properties/x/oneOf");
    ASSERT_STR_CONTAINS(r.errors[0].message, "matches schemas 0 and 1");
    ASSERT_STR_EQ(r.errors[1].keyword, "format");
    ASSERT_STR_EQ(r.errors[1].message, "\"not-an-email\" is not a valid email");
    ASSERT_STR_EQ(r.errors[2].keyword, "not");
    ASSERT_STR_EQ(r.errors[3].keyword, "const");
    ASSERT_STR_EQ(r.errors[3].message, "expected the constant \"on\", got \"off\"");
    asyncapi_schema_free(s);
}

TEST(schema, format_annotation_flag)
{
    asyncapi_schema *s = compile_text("{\"format\":\"ipv4\"}",
                                      ASYNCAPI_SCHEMA_FORMAT_ANNOTATION, NULL);
    asyncapi_schema *t = compile_text("{\"format\":\"ipv4\"}", 0, NULL);

    ASSERT_NOT_NULL(s);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(check(s, "\"999.1.1.1\"", NULL), 0);
    ASSERT_EQ(check(t, "\"999.1.1.1\"", NULL), 1);
    ASSERT_EQ(check(t, "\"10.0.0.1\"", NULL), 0);
    asyncapi_schema_free(s);
    asyncapi_schema_free(t);
}

TEST(schema, unicode_length_counts_code_points)
{
    asyncapi_schema *s = compile_text("{\"minLength\":2,\"maxLength\":3}", 0, NULL);
    asyncapi_schema_result r;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "\"\xE6\x97\xA5\xE6\x9C\xAC\"", NULL), 0);            /* 2 CJK, 6 bytes */
    ASSERT_EQ(check(s, "\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\"", NULL), 0); /* 3 CJK, 9 bytes */
    ASSERT_EQ(check(s, "\"\\ud83d\\udc32\"", &r), 1);                        /* 1 emoji via escapes */
    ASSERT_STR_EQ(r.errors[0].keyword, "minLength");
    ASSERT_STR_CONTAINS(r.errors[0].message, "string of 1 characters");
    ASSERT_EQ(check(s, "\"\xF0\x9F\x90\xB2\xF0\x9F\x90\xB2\"", NULL), 0);    /* 2 emoji, 8 bytes */
    ASSERT_EQ(check(s, "\"abcd\"", &r), 1);
    ASSERT_STR_EQ(r.errors[0].keyword, "maxLength");
    asyncapi_schema_free(s);
}

TEST(schema, bad_json_text)
{
    static const struct {
        const char *text;
        size_t len;
        const char *offset;
    } bad[] = {
        {"\"\xFF\"", 3, "byte 1:"},                 /* invalid UTF-8 */
        {"\"\xC0\xAF\"", 4, "byte 1:"},             /* overlong */
        {"\"\xED\xA0\x80\"", 5, "byte 1:"},         /* encoded surrogate */
        {"{\"a\":1} x", 9, "byte 8:"},              /* trailing garbage */
        {"{\"a\":1,}", 8, "byte 7:"},               /* trailing comma */
        {"[1,2", 4, "byte 4:"},                     /* truncated */
        {"", 0, "byte 0:"},                         /* empty */
        {"{\"a\":1,\"a\":2}", 13, "byte"},          /* duplicate key */
        {"\"\\ud800\"", 8, "byte 1:"},              /* lone surrogate */
        {"01", 2, "byte 1:"},                       /* leading zero */
        {"[1e400]", 7, "byte"},                     /* out of range */
        {"\"a\0b\"", 5, "byte 2:"},                 /* raw NUL */
        {"nul", 3, "byte 0:"},
    };
    asyncapi_schema *s = compile_text("true", 0, NULL);

    ASSERT_NOT_NULL(s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        asyncapi_schema_result r;
        cJSON *out = (cJSON *)&r; /* must be reset to NULL */
        int rc = asyncapi_schema_validate_json(s, bad[i].text, bad[i].len, &r, &out);

        if (rc != ASYNCAPI_ESYNTAX)
            test_fail(__FILE__, __LINE__, "case %zu: rc %d", i, rc);
        ASSERT_EQ(rc, ASYNCAPI_ESYNTAX);
        ASSERT_NULL(out);
        ASSERT_EQ(r.n_errors, 1);
        ASSERT_STR_EQ(r.errors[0].keyword, "parse");
        ASSERT_STR_CONTAINS(r.errors[0].message, bad[i].offset);
        ASSERT_EQ(asyncapi_schema_validate_json(s, bad[i].text, bad[i].len, NULL, NULL),
                  ASYNCAPI_ESYNTAX);
    }
    asyncapi_schema_free(s);
}

TEST(schema, validate_json_returns_tree)
{
    asyncapi_schema *s = compile_text("{\"properties\":{\"a\":{\"type\":\"integer\"}}}", 0, NULL);
    cJSON *out = NULL;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(asyncapi_schema_validate_json(s, "{\"a\":\"x\\n\\u00e9\"}", 17, NULL, &out), 1);
    ASSERT_NOT_NULL(out);
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(out, "a")->valuestring, "x\n\xC3\xA9");
    cJSON_Delete(out);
    out = NULL;
    ASSERT_EQ(asyncapi_schema_validate_json(s, " {\"a\": -12 } ", 13, NULL, &out), 0);
    ASSERT_NOT_NULL(out);
    ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(out, "a")->valueint, -12);
    cJSON_Delete(out);
    asyncapi_schema_free(s);
}

static char *nested(unsigned depth, const char *open, const char *inner, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close), li = strlen(inner);
    char *t = malloc(depth * (lo + lc) + li + 1), *p = t;

    if (!t)
        return NULL;
    for (unsigned i = 0; i < depth; i++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, inner, li);
    p += li;
    for (unsigned i = 0; i < depth; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return t;
}

TEST(schema, deep_nesting_is_elimit)
{
    /* recursive schema: every level descends, so the bound is the instance depth */
    asyncapi_schema *s = compile_text(
        "{\"definitions\":{\"n\":{\"anyOf\":[{\"type\":\"integer\"},"
        "{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/n\"}},"
        "{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#/definitions/n\"}}]}},"
        "\"$ref\":\"#/definitions/n\"}", 0, NULL);
    asyncapi_schema_result r;
    char *ok = nested(500, "[", "1", "]");
    char *deep = nested(513, "[", "1", "]");
    char *huge = nested(100000, "{\"a\":", "1", "}");
    char *bad = nested(500, "[", "\"x\"", "]");
    cJSON *tree, *cur;

    ASSERT_NOT_NULL(s);
    ASSERT(ok && deep && huge && bad);
    ASSERT_EQ(check(s, ok, &r), 0);
    ASSERT_EQ(check(s, ok, NULL), 0);
    ASSERT_EQ(check(s, bad, &r), 1);
    ASSERT_EQ(check(s, deep, &r), ASYNCAPI_ELIMIT);
    ASSERT_STR_EQ(r.errors[0].keyword, "parse");
    ASSERT_EQ(check(s, deep, NULL), ASYNCAPI_ELIMIT);
    ASSERT_EQ(check(s, huge, NULL), ASYNCAPI_ELIMIT);
    /* a cJSON tree built by hand, deeper than the bound */
    tree = cur = cJSON_CreateArray();
    for (int i = 0; i < 2000 && cur; i++) {
        cJSON *next = cJSON_CreateArray();

        cJSON_AddItemToArray(cur, next);
        cur = next;
    }
    ASSERT_EQ(asyncapi_schema_validate(s, tree, &r), ASYNCAPI_ELIMIT);
    ASSERT_STR_EQ(r.errors[0].keyword, "limit");
    ASSERT_EQ(asyncapi_schema_validate(s, tree, NULL), ASYNCAPI_ELIMIT);
    cJSON_Delete(tree);
    free(ok);
    free(deep);
    free(huge);
    free(bad);
    asyncapi_schema_free(s);
}

/*
 * The text parses (500 levels are within the parser's bound) but the schema
 * nests 12 evaluations per level, so validation runs out of calls: ELIMIT,
 * and the parsed tree must not leak into *out (written only on 0 or 1).
 */
TEST(schema, validate_json_limit_after_parse_leaves_out_null)
{
    asyncapi_schema *s = compile_text(
        "{\"definitions\":{\"n\":{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"allOf\":"
        "[{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"type\":\"array\","
        "\"items\":{\"$ref\":\"#/definitions/n\"}}]}]}]}]}]}]}]}]}]}]}},"
        "\"$ref\":\"#/definitions/n\"}", 0, NULL);
    char *deep = nested(500, "[", "", "]");
    char *shallow = nested(3, "[", "", "]");
    asyncapi_schema_result r;
    cJSON *out = (cJSON *)&out; /* poisoned: must come back NULL */

    ASSERT_NOT_NULL(s);
    ASSERT(deep && shallow);
    ASSERT_EQ(asyncapi_schema_validate_json(s, shallow, strlen(shallow), NULL, &out), 0);
    ASSERT_NOT_NULL(out);
    cJSON_Delete(out);
    out = (cJSON *)&out;
    ASSERT_EQ(asyncapi_schema_validate_json(s, deep, strlen(deep), &r, &out), ASYNCAPI_ELIMIT);
    ASSERT_NULL(out);
    ASSERT_EQ(r.n_errors, 1);
    ASSERT_STR_EQ(r.errors[0].keyword, "limit");
    out = (cJSON *)&out;
    ASSERT_EQ(asyncapi_schema_validate_json(s, deep, strlen(deep), NULL, &out), ASYNCAPI_ELIMIT);
    ASSERT_NULL(out);
    free(deep);
    free(shallow);
    asyncapi_schema_free(s);
}

/* 1 if s is valid UTF-8 (complete sequences only; enough for truncation checks) */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        size_t need = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 0;

        if (need == 0)
            return 0;
        for (size_t k = 1; k < need; k++)
            if ((p[k] & 0xC0) != 0x80)
                return 0;
        p += need;
    }
    return 1;
}

/*
 * Long names with multi-byte characters are cut by byte count in the error
 * texts (pointer 256 bytes, property names 100 bytes): the cut must never
 * split a character, the texts go into JSON.
 */
TEST(schema, truncated_error_texts_stay_utf8)
{
    asyncapi_schema *s = compile_text("{\"additionalProperties\":false}", 0, NULL);
    char key[1 + 2 * 200 + 1], json[sizeof(key) + 16];
    asyncapi_schema_result r;

    ASSERT_NOT_NULL(s);
    key[0] = 'a'; /* odd offset: every even byte cut lands inside an e-acute */
    for (int i = 0; i < 200; i++) {
        key[1 + 2 * i] = (char)0xC3;
        key[2 + 2 * i] = (char)0xA9;
    }
    key[sizeof(key) - 1] = '\0';
    snprintf(json, sizeof(json), "{\"%s\":1}", key);
    ASSERT_EQ(check(s, json, &r), 1);
    ASSERT_EQ(r.n_errors, 1);
    ASSERT_STR_EQ(r.errors[0].keyword, "additionalProperties");
    ASSERT_STR_CONTAINS(r.errors[0].message, "\" is not allowed");
    ASSERT_STR_CONTAINS(r.errors[0].pointer, "/a\xC3\xA9");
    ASSERT(utf8_ok(r.errors[0].message));
    ASSERT(utf8_ok(r.errors[0].pointer));
    ASSERT(utf8_ok(r.errors[0].schema_path));
    asyncapi_schema_free(s);
}

TEST(schema, deep_equality_is_bounded)
{
    asyncapi_schema *s = compile_text("{\"uniqueItems\":true}", 0, NULL);
    cJSON *a = cJSON_CreateArray(), *x = cJSON_CreateArray(), *y = cJSON_CreateArray();
    cJSON *cx = x, *cy = y;

    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 1000; i++) {
        cJSON *nx = cJSON_CreateArray(), *ny = cJSON_CreateArray();

        cJSON_AddItemToArray(cx, nx);
        cJSON_AddItemToArray(cy, ny);
        cx = nx;
        cy = ny;
    }
    cJSON_AddItemToArray(a, x);
    cJSON_AddItemToArray(a, y);
    ASSERT_EQ(asyncapi_schema_validate(s, a, NULL), ASYNCAPI_ELIMIT);
    cJSON_Delete(a);
    asyncapi_schema_free(s);
}

TEST(schema, bad_schemas_fail_compile)
{
    static const struct {
        const char *schema;
        const char *msg;
    } bad[] = {
        {"{\"pattern\":\"[a-\"}", "bad regex"},
        {"{\"patternProperties\":{\"(\":{}}}", "bad regex"},
        {"{\"pattern\":\"\\\\a\"}", "bad regex"},
        {"{\"minLength\":\"3\"}", "minLength"},
        {"{\"maxItems\":-1}", "maxItems"},
        {"{\"type\":\"float\"}", "unknown type"},
        {"{\"type\":5}", "type"},
        {"{\"required\":[1]}", "required"},
        {"{\"properties\":[]}", "properties"},
        {"{\"items\":5}", "schema must be"},
        {"{\"allOf\":[]}", "allOf"},
        {"{\"multipleOf\":0}", "multipleOf"},
        {"{\"enum\":{}}", "enum"},
        {"{\"$ref\":5}", "$ref"},
        {"{\"$ref\":\"#\"}", "loops"},
        {"{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"$ref\":\"#/definitions/a\"}},"
         "\"$ref\":\"#/definitions/a\"}", "loops"},
        {"{\"allOf\":[{\"$ref\":\"#\"}]}", "loops"},
        {"{\"$ref\":\"#/definitions/missing\"}", "cannot resolve"},
        {"{\"$ref\":\"http://example.com/nowhere.json\"}", "cannot resolve"},
        {"5", "schema must be"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        asyncapi_diag diag;
        asyncapi_schema *s = compile_text(bad[i].schema, 0, &diag);

        if (s)
            test_fail(__FILE__, __LINE__, "case %zu compiled: %s", i, bad[i].schema);
        ASSERT_NULL(s);
        ASSERT_STR_CONTAINS(diag.message, bad[i].msg);
    }
}

/*
 * A "%00" in a $ref fragment used to decode into a NUL that cut the pointer
 * short, so "#/definitions/a%00zzz" silently resolved to "#/definitions/a".
 * Percent-decoding is now one helper shared with the loader: "%00" is EREF.
 */
TEST(schema, ref_with_percent_nul_is_unresolvable)
{
    asyncapi_diag diag;
    asyncapi_schema *s = compile_text(
        "{\"definitions\":{\"a\":{\"type\":\"integer\"}},\"$ref\":\"#/definitions/a%00zzz\"}", 0,
        &diag);

    ASSERT_NULL(s);
    ASSERT_STR_CONTAINS(diag.message, "cannot resolve");
    /* other escapes still decode: %61 is 'a' */
    s = compile_text("{\"definitions\":{\"a\":{\"type\":\"integer\"}},\"$ref\":\"#/definitions/%61\"}",
                     0, &diag);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(asyncapi_schema_validate_json(s, "\"x\"", 3, NULL, NULL), 1);
    ASSERT_EQ(asyncapi_schema_validate_json(s, "7", 1, NULL, NULL), 0);
    asyncapi_schema_free(s);
}

/*
 * An array index in a $ref pointer is a canonical decimal below 10 digits:
 * "4294967296" used to go through strtol and an (int) cast and wrap to 0,
 * resolving to the first element. The compiler and the loader now share
 * one pointer walker.
 */
TEST(schema, ref_array_index_does_not_wrap)
{
    static const char *const bad[] = {
        "{\"allOf\":[{\"type\":\"integer\"}],\"properties\":{\"x\":{\"$ref\":\"#/allOf/4294967296\"}}}",
        "{\"allOf\":[{\"type\":\"integer\"}],\"properties\":{\"x\":{\"$ref\":\"#/allOf/00\"}}}",
        "{\"allOf\":[{\"type\":\"integer\"}],\"properties\":{\"x\":{\"$ref\":\"#/allOf/-0\"}}}",
        "{\"definitions\":{\"a\":{}},\"properties\":{\"x\":{\"$ref\":\"#/definitions/a~2\"}}}",
    };
    asyncapi_diag diag;
    asyncapi_schema *s;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        s = compile_text(bad[i], 0, &diag);
        if (s)
            test_fail(__FILE__, __LINE__, "case %zu compiled: %s", i, bad[i]);
        ASSERT_NULL(s);
        ASSERT_STR_CONTAINS(diag.message, "cannot resolve");
    }
    s = compile_text("{\"items\":[{},{\"type\":\"integer\"}],"
                     "\"properties\":{\"x\":{\"$ref\":\"#/items/1\"},\"a/b\":{\"type\":\"string\"},"
                     "\"y\":{\"$ref\":\"#/properties/a~1b\"}}}", 0, &diag);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(asyncapi_schema_validate_json(s, "{\"x\":1,\"y\":\"s\"}", 15, NULL, NULL), 0);
    ASSERT_EQ(asyncapi_schema_validate_json(s, "{\"x\":\"1\"}", 9, NULL, NULL), 1);
    ASSERT_EQ(asyncapi_schema_validate_json(s, "{\"y\":2}", 7, NULL, NULL), 1);
    asyncapi_schema_free(s);
}

TEST(schema, recursive_schema_is_legal)
{
    asyncapi_schema *s = compile_text(
        "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
        "\"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}},\"required\":[\"name\"]}",
        0, NULL);
    asyncapi_schema_result r;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "{\"name\":\"a\",\"children\":[{\"name\":\"b\",\"children\":[]}]}", NULL), 0);
    ASSERT_EQ(check(s, "{\"name\":\"a\",\"children\":[{\"children\":[]}]}", &r), 1);
    ASSERT_STR_EQ(r.errors[0].pointer, "/children/0");
    ASSERT_STR_EQ(r.errors[0].keyword, "required");
    ASSERT_STR_EQ(r.errors[0].schema_path, "#/required");
    asyncapi_schema_free(s);
}

static const cJSON *fetch_one(void *ctx, const char *uri)
{
    return strcmp(uri, "http://example.com/defs.json") == 0 ? ctx : NULL;
}

TEST(schema, remote_ref_and_id)
{
    cJSON *remote = cJSON_Parse("{\"definitions\":{\"pos\":{\"type\":\"integer\",\"minimum\":1}}}");
    cJSON *schema = cJSON_Parse(
        "{\"$id\":\"http://example.com/root.json\",\"properties\":{"
        "\"n\":{\"$ref\":\"defs.json#/definitions/pos\"},"
        "\"m\":{\"$ref\":\"#item\"}},"
        "\"definitions\":{\"x\":{\"$id\":\"#item\",\"type\":\"string\"}}}");
    asyncapi_schema_resolver res = {.fetch = fetch_one, .ctx = remote};
    asyncapi_schema_result r;
    asyncapi_schema *s;

    ASSERT(remote && schema);
    s = asyncapi_schema_compile(schema, NULL, &res, 0, NULL);
    /* the program no longer needs the documents */
    cJSON_Delete(remote);
    cJSON_Delete(schema);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "{\"n\":3,\"m\":\"x\"}", NULL), 0);
    ASSERT_EQ(check(s, "{\"n\":0,\"m\":1}", &r), 1);
    ASSERT_EQ(r.n_errors, 2);
    ASSERT_STR_EQ(r.errors[0].pointer, "/n");
    ASSERT_STR_EQ(r.errors[0].schema_path, "http://example.com/defs.json#/definitions/pos/minimum");
    ASSERT_STR_EQ(r.errors[1].pointer, "/m");
    ASSERT_STR_EQ(r.errors[1].keyword, "type");
    asyncapi_schema_free(s);
}

TEST(schema, meta_schema_bundled)
{
    asyncapi_schema *s = compile_text("{\"$ref\":\"http://json-schema.org/draft-07/schema#\"}",
                                      0, NULL);

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "{\"type\":\"string\",\"minLength\":1}", NULL), 0);
    ASSERT_EQ(check(s, "{\"minLength\":-1}", NULL), 1);
    ASSERT_EQ(check(s, "{\"type\":\"strin\"}", NULL), 1);
    asyncapi_schema_free(s);
}

static const cJSON *fetch_doc(void *ctx, const char *uri)
{
    return strcmp(uri, "file:///x/spec.json") == 0 ? ctx : NULL;
}

TEST(schema, base_uri_and_document_root)
{
    /* the schema is a node inside a bigger document; #/ refs resolve against the root */
    cJSON *doc = cJSON_Parse("{\"components\":{\"schemas\":{"
                             "\"T\":{\"type\":\"number\"},"
                             "\"P\":{\"properties\":{\"t\":{\"$ref\":\"#/components/schemas/T\"}}}}}}");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "components"),
                                         "schemas"), "P");
    asyncapi_schema_resolver res = {.fetch = fetch_one, .ctx = NULL};
    asyncapi_schema *s;
    asyncapi_diag diag;

    ASSERT_NOT_NULL(p);
    /* the resolver does not know the document: #/components fails against the schema */
    s = asyncapi_schema_compile(p, "file:///x/spec.json", &res, 0, &diag);
    ASSERT_NULL(s);
    ASSERT_STR_CONTAINS(diag.message, "file:///x/spec.json#/components/schemas/T");
    /* with the document known, the same compile works */
    res.fetch = fetch_doc;
    res.ctx = doc;
    s = asyncapi_schema_compile(p, "file:///x/spec.json", &res, 0, &diag);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(check(s, "{\"t\":1.5}", NULL), 0);
    ASSERT_EQ(check(s, "{\"t\":\"x\"}", NULL), 1);
    asyncapi_schema_free(s);
    cJSON_Delete(doc);
}

typedef struct worker {
    const asyncapi_schema *s;   /* shared program */
    int bad;                    /* wrong verdicts seen */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    static const char *good = "{\"deviceId\":\"dev-1234\",\"temperature\":1,\"ts\":\"2024-01-01T00:00:00Z\"}";
    static const char *wrong = "{\"deviceId\":\"dev-12x4\",\"temperature\":1,\"ts\":\"2024-01-01T00:00:00Z\"}";

    for (int i = 0; i < 20000; i++) {
        asyncapi_schema_result r;

        if (check(w->s, good, NULL) != 0 || check(w->s, wrong, &r) != 1 ||
            strcmp(r.errors[0].keyword, "pattern") != 0)
            w->bad++;
    }
    return NULL;
}

TEST(schema, two_threads_share_a_program)
{
    asyncapi_schema *s = compile_text(telemetry_schema, 0, NULL);
    worker a = {.s = s}, b = {.s = s};
    pthread_t ta, tb;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(pthread_create(&ta, NULL, work, &a), 0);
    ASSERT_EQ(pthread_create(&tb, NULL, work, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ASSERT_EQ(a.bad, 0);
    ASSERT_EQ(b.bad, 0);
    asyncapi_schema_free(s);
}

TEST(schema, null_arguments)
{
    asyncapi_schema *s = compile_text("true", 0, NULL);
    asyncapi_diag diag;

    ASSERT_NULL(asyncapi_schema_compile(NULL, NULL, NULL, 0, &diag));
    ASSERT_EQ(asyncapi_schema_validate(NULL, NULL, NULL), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_schema_validate_json(s, NULL, 3, NULL, NULL), ASYNCAPI_EINVAL);
    asyncapi_schema_free(NULL);
    asyncapi_schema_free(s);
}

TEST(schema, numbers_parse_exactly)
{
    static const char *nums[] = {
        "0", "-0", "1", "-1", "0.1", "21.5", "13.405", "1e-7", "1E+22", "1e23",
        "123456789012345678", "9007199254740993", "0.30000000000000004",
        "1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308",
        "972783798187987123879878123.188781371", "-12.5e-3", "0.0000000000000000000001",
    };
    asyncapi_schema *s = compile_text("true", 0, NULL);

    ASSERT_NOT_NULL(s);
    for (size_t i = 0; i < sizeof(nums) / sizeof(*nums); i++) {
        cJSON *out = NULL;
        double want = strtod(nums[i], NULL);

        ASSERT_EQ(asyncapi_schema_validate_json(s, nums[i], strlen(nums[i]), NULL, &out), 0);
        ASSERT_NOT_NULL(out);
        if (out->valuedouble != want)
            test_fail(__FILE__, __LINE__, "%s parsed as %.17g, want %.17g", nums[i],
                      out->valuedouble, want);
        cJSON_Delete(out);
    }
    asyncapi_schema_free(s);
}

typedef struct deep_job {
    const asyncapi_schema *s;   /* shared program */
    const char *text;           /* JSON text */
    int rc;                     /* validate_json result */
} deep_job;

static void *deep_run(void *arg)
{
    deep_job *j = arg;
    asyncapi_schema_result r;

    j->rc = asyncapi_schema_validate_json(j->s, j->text, strlen(j->text), &r, NULL);
    return NULL;
}

/* Parsing and validating at the depth bound fits in 512 KiB of stack (ASan included). */
TEST(schema, deep_nesting_on_small_thread_stack)
{
    asyncapi_schema *s = compile_text(
        "{\"definitions\":{\"n\":{\"anyOf\":[{\"type\":\"integer\"},"
        "{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/n\"}},"
        "{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#/definitions/n\"}}]}},"
        "\"$ref\":\"#/definitions/n\"}", 0, NULL);
    char *texts[4] = {nested(512, "[", "1", "]"), nested(512, "{\"k\":", "1", "}"),
                      nested(513, "[", "1", "]"), nested(513, "{\"k\":", "1", "}")};
    int want[4] = {0, 0, ASYNCAPI_ELIMIT, ASYNCAPI_ELIMIT};
    pthread_attr_t attr;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 512 * 1024), 0);
    for (int i = 0; i < 4; i++) {
        deep_job j = {.s = s, .text = texts[i], .rc = 99};
        pthread_t t;

        ASSERT_NOT_NULL(texts[i]);
        ASSERT_EQ(pthread_create(&t, &attr, deep_run, &j), 0);
        pthread_join(t, NULL);
        ASSERT_EQ(j.rc, want[i]);
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < 4; i++)
        free(texts[i]);
    asyncapi_schema_free(s);
}

/* A long subject that overflows PCRE2's JIT stack still gets a verdict. */
TEST(schema, pattern_beyond_jit_stack)
{
    cJSON *sch = cJSON_Parse("{\"type\":\"string\",\"pattern\":\"^([ab]|c)*$\"}");
    asyncapi_schema *s = asyncapi_schema_compile(sch, NULL, NULL, 0, NULL);
    size_t n = 20000;
    char *buf = malloc(n + 3);
    asyncapi_schema_result res;

    ASSERT_NOT_NULL(s);
    ASSERT_NOT_NULL(buf);
    buf[0] = '"';
    for (size_t i = 0; i < n; i++)
        buf[1 + i] = "abc"[i % 3];
    buf[n + 1] = '"';
    buf[n + 2] = '\0';
    ASSERT_EQ(asyncapi_schema_validate_json(s, buf, n + 2, NULL, NULL), 0);
    buf[n] = 'x'; /* the last character breaks the pattern */
    ASSERT_EQ(asyncapi_schema_validate_json(s, buf, n + 2, &res, NULL), 1);
    ASSERT_STR_EQ(res.errors[0].keyword, "pattern");
    free(buf);
    asyncapi_schema_free(s);
    cJSON_Delete(sch);
}

/* validate_json_in: the verdicts and errors of validate_json, the tree in the buffer */
TEST(schema, validate_json_in_matches_validate_json)
{
    static const char *texts[] = {
        "{\"deviceId\":\"dev-0001\",\"temperature\":21.5,\"ts\":\"2026-12-06T00:00:00Z\"}",
        "{\"deviceId\":\"dev-1\",\"temperature\":99,\"ts\":\"x\"}",
        "{\"deviceId\":\"dev-0001\"}",
        "[1,2]",
        "{\"deviceId\":",
    };
    asyncapi_diag d;
    asyncapi_schema *s = compile_text(telemetry_schema, 0, &d);
    asyncapi_json_buf *b = asyncapi_json_buf_new();

    ASSERT_NOT_NULL(s);
    ASSERT_NOT_NULL(b);
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        asyncapi_schema_result r1, r2;
        const cJSON *in = (const cJSON *)&in;
        cJSON *ref = NULL;
        int rc1 = asyncapi_schema_validate_json(s, texts[i], strlen(texts[i]), &r1, &ref);
        int rc2 = asyncapi_schema_validate_json_in(s, b, texts[i], strlen(texts[i]), &r2, &in);

        ASSERT_EQ(rc1, rc2);
        ASSERT_EQ(r1.total, r2.total);
        ASSERT_EQ(r1.n_errors, r2.n_errors);
        for (size_t k = 0; k < r1.n_errors; k++) {
            ASSERT_STR_EQ(r1.errors[k].keyword, r2.errors[k].keyword);
            ASSERT_STR_EQ(r1.errors[k].pointer, r2.errors[k].pointer);
        }
        if (rc1 == 0 || rc1 == 1)
            ASSERT(cJSON_Compare(in, ref, 1));
        else
            ASSERT_NULL(in);
        cJSON_Delete(ref);
        /* verdict only, no result and no tree wanted */
        ASSERT_EQ(asyncapi_schema_validate_json_in(s, b, texts[i], strlen(texts[i]), NULL, NULL),
                  rc1);
    }
    ASSERT_EQ(asyncapi_schema_validate_json_in(s, NULL, "1", 1, NULL, NULL), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_schema_validate_json_in(NULL, b, "1", 1, NULL, NULL), ASYNCAPI_EINVAL);
    asyncapi_json_buf_free(b);
    asyncapi_schema_free(s);
}
