/* SPDX-License-Identifier: MIT */
/*
 * Tests of the bounded YAML/JSON reader (asyncapi_parse_buffer/_file):
 * the YAML 1.2 core scalar rule, duplicate keys, line:column of errors,
 * alias bombs, depth/size/node limits, empty input and invalid UTF-8.
 */
#include "asyncapi/parse.h"
#include "test.h"

static cJSON *parse(const char *text, int *err, asyncapi_diag *d)
{
    return asyncapi_parse_buffer(text, strlen(text), "t.yaml", NULL, err, d);
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

TEST(parse, yaml_core_schema_scalars)
{
    int err = 0;
    asyncapi_diag d;
    cJSON *r = parse("a: on\nb: off\nc: yes\nd: no\ne: y\nf: true\ng: False\nh: TRUE\n"
                     "i: ~\nj:\nk: null\nl: 42\nm: -7\nn: 0x1F\no: 0o17\np: 1.5e3\n"
                     "q: .inf\nr: -.Inf\ns: 'true'\nt: \"12\"\nu: 1.0.0\nv: 0123\n"
                     "w: !!str 12\nx: .5\ny: |\n  text\nz: Null\n",
                     &err, &d);

    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(get(r, "a")->valuestring, "on");
    ASSERT_STR_EQ(get(r, "b")->valuestring, "off");
    ASSERT_STR_EQ(get(r, "c")->valuestring, "yes");
    ASSERT_STR_EQ(get(r, "d")->valuestring, "no");
    ASSERT_STR_EQ(get(r, "e")->valuestring, "y");
    ASSERT(cJSON_IsTrue(get(r, "f")));
    ASSERT(cJSON_IsFalse(get(r, "g")));
    ASSERT(cJSON_IsTrue(get(r, "h")));
    ASSERT(cJSON_IsNull(get(r, "i")));
    ASSERT(cJSON_IsNull(get(r, "j")));
    ASSERT(cJSON_IsNull(get(r, "k")));
    ASSERT(cJSON_IsNull(get(r, "z")));
    ASSERT_EQ(get(r, "l")->valuedouble, 42);
    ASSERT_EQ(get(r, "m")->valuedouble, -7);
    ASSERT_EQ(get(r, "n")->valuedouble, 31);
    ASSERT_EQ(get(r, "o")->valuedouble, 15);
    ASSERT_EQ(get(r, "p")->valuedouble, 1500);
    ASSERT(cJSON_IsNumber(get(r, "q")) && get(r, "q")->valuedouble > 1e308);
    ASSERT(cJSON_IsNumber(get(r, "r")) && get(r, "r")->valuedouble < -1e308);
    ASSERT_STR_EQ(get(r, "s")->valuestring, "true");
    ASSERT_STR_EQ(get(r, "t")->valuestring, "12");
    ASSERT_STR_EQ(get(r, "u")->valuestring, "1.0.0");
    ASSERT_EQ(get(r, "v")->valuedouble, 123);
    ASSERT_STR_EQ(get(r, "w")->valuestring, "12");
    ASSERT(get(r, "x")->valuedouble == 0.5);
    ASSERT_STR_EQ(get(r, "y")->valuestring, "text\n");
    cJSON_Delete(r);
}

TEST(parse, enum_on_off_stays_strings)
{
    int err = 0;
    cJSON *r = parse("enum:\n  - on\n  - off\n  - yes\n", &err, NULL);
    const cJSON *e;

    ASSERT_NOT_NULL(r);
    e = get(r, "enum");
    ASSERT_EQ(cJSON_GetArraySize(e), 3);
    for (int i = 0; i < 3; i++)
        ASSERT(cJSON_IsString(cJSON_GetArrayItem(e, i)));
    cJSON_Delete(r);
}

TEST(parse, nan_is_rejected)
{
    int err = 0;
    asyncapi_diag d;
    cJSON *r = parse("a: 1\nb: .nan\n", &err, &d);

    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_EQ(d.line, 2);
    ASSERT_EQ(d.column, 4);
    ASSERT_STR_CONTAINS(d.message, ".nan");
}

TEST(parse, yaml_duplicate_key_with_position)
{
    int err = 0;
    asyncapi_diag d;
    cJSON *r = parse("info:\n  title: a\n  version: b\n  title: c\n", &err, &d);

    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_STR_CONTAINS(d.message, "duplicate key 'title'");
    ASSERT_STR_EQ(d.file, "t.yaml");
    ASSERT_EQ(d.line, 4);
    ASSERT_EQ(d.column, 3);
}

TEST(parse, json_duplicate_key)
{
    int err = 0;
    asyncapi_diag d;
    cJSON *r = parse("{\"a\": 1, \"b\": {\"x\": 1, \"x\": 2}}", &err, &d);

    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_STR_CONTAINS(d.message, "duplicate key 'x'");
}

TEST(parse, yaml_syntax_error_position)
{
    int err = 0;
    asyncapi_diag d;
    cJSON *r = parse("a: 1\nb: 'unterminated\n", &err, &d);

    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_GE(d.line, 2);
    ASSERT_GT(d.column, 0);
    ASSERT(d.message[0] != '\0');

    r = parse("a: 1\n  b: 2\n", &err, &d);
    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_EQ(d.line, 2);
    ASSERT_EQ(d.column, 4);
}

TEST(parse, json_syntax_error_position)
{
    int err = 0;
    asyncapi_diag d;
    cJSON *r = parse("{\n  \"a\": 1,\n  \"b\": tru\n}", &err, &d);

    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_EQ(d.line, 3);
    ASSERT_EQ(d.column, 8);
    ASSERT_STR_CONTAINS(d.message, "invalid JSON");

    r = parse("{\"a\": 1} x", &err, &d);
    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_EQ(d.line, 1);
    ASSERT_EQ(d.column, 10);
}

TEST(parse, json_fast_path_values)
{
    int err = 0;
    cJSON *r = parse("  {\"on\": \"off\", \"n\": 1.25, \"l\": [true, null]}\n", &err, NULL);

    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(get(r, "on")->valuestring, "off");
    ASSERT(get(r, "n")->valuedouble == 1.25);
    ASSERT_EQ(cJSON_GetArraySize(get(r, "l")), 2);
    cJSON_Delete(r);
}

TEST(parse, alias_bomb_fails_fast)
{
    char text[4096];
    size_t n = 0;
    int err = 0;
    asyncapi_diag d;
    cJSON *r;

    n += (size_t)snprintf(text + n, sizeof(text) - n, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 15; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s*a%d", k ? ", " : "", i - 1);
        n += (size_t)snprintf(text + n, sizeof(text) - n, "]\n");
    }
    ASSERT_LT(n, sizeof(text));
    r = parse(text, &err, &d);
    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ELIMIT);
    ASSERT_STR_CONTAINS(d.message, "nodes");
    ASSERT_GT(d.line, 1);
}

TEST(parse, aliases_within_limits_are_copied)
{
    int err = 0;
    cJSON *r = parse("base: &b {x: 1, y: [1, 2]}\nuse: *b\nmerged:\n  <<: *b\n  x: 5\n", &err,
                     NULL);

    ASSERT_NOT_NULL(r);
    ASSERT_EQ(get(get(r, "use"), "x")->valuedouble, 1);
    ASSERT_EQ(cJSON_GetArraySize(get(get(r, "use"), "y")), 2);
    /* merge key: explicit keys win, the rest comes from the alias */
    ASSERT_EQ(get(get(r, "merged"), "x")->valuedouble, 5);
    ASSERT_EQ(cJSON_GetArraySize(get(get(r, "merged"), "y")), 2);
    ASSERT_NULL(get(get(r, "merged"), "<<"));
    cJSON_Delete(r);
}

TEST(parse, node_limit_counts_aliases)
{
    asyncapi_parse_limits lim = {.max_nodes = 20};
    int err = 0;
    const char *t = "a: &a [1, 2, 3, 4, 5]\nb: [*a, *a, *a]\n";
    cJSON *r = asyncapi_parse_buffer(t, strlen(t), "t", &lim, &err, NULL);

    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ELIMIT);
    lim.max_nodes = 40;
    r = asyncapi_parse_buffer(t, strlen(t), "t", &lim, &err, NULL);
    ASSERT_NOT_NULL(r);
    cJSON_Delete(r);
}

TEST(parse, depth_limit_yaml_and_json)
{
    char text[2200];
    int err = 0;
    asyncapi_diag d;
    cJSON *r;

    memset(text, '[', 1000);
    memset(text + 1000, ']', 1000);
    text[2000] = '\0';
    r = parse(text, &err, &d); /* JSON path */
    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ELIMIT);
    ASSERT_STR_CONTAINS(d.message, "deeper");
    ASSERT_EQ(d.line, 1);
    ASSERT_EQ(d.column, 257);

    text[0] = 'a';
    text[1] = ':';
    text[2] = ' ';
    r = parse(text, &err, &d); /* YAML flow path (one '[' less is still 997 deep) */
    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ELIMIT);

    {
        asyncapi_parse_limits lim = {.max_depth = 3};
        const char *t = "a:\n  b:\n    c:\n      d: 1\n";
        r = asyncapi_parse_buffer(t, strlen(t), "t", &lim, &err, &d);
        ASSERT_NULL(r);
        ASSERT_EQ(err, ASYNCAPI_ELIMIT);
        ASSERT_EQ(d.line, 4);
    }
}

TEST(parse, size_limit)
{
    asyncapi_parse_limits lim = {.max_bytes = 8};
    int err = 0;
    asyncapi_diag d;
    cJSON *r = asyncapi_parse_buffer("a: 123456789", 12, "t", &lim, &err, &d);

    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ELIMIT);
    ASSERT_STR_CONTAINS(d.message, "exceeds");
}

TEST(parse, empty_input)
{
    int err = 0;
    asyncapi_diag d;

    ASSERT_NULL(asyncapi_parse_buffer("", 0, "t", NULL, &err, &d));
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_STR_CONTAINS(d.message, "empty");
    ASSERT_NULL(parse("  \n\n", &err, &d));
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_NULL(parse("# only a comment\n", &err, &d));
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
}

TEST(parse, invalid_utf8)
{
    int err = 0;
    asyncapi_diag d;

    ASSERT_NULL(parse("a: ok\nb: \xC3\x28\n", &err, &d));
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_STR_CONTAINS(d.message, "UTF-8");
    ASSERT_EQ(d.line, 2);
    ASSERT_EQ(d.column, 4);
    ASSERT_NULL(parse("{\"a\": \"\xED\xA0\x80\"}", &err, &d)); /* surrogate */
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_NULL(parse("{\"a\": \"\xC0\xAF\"}", &err, &d)); /* overlong */
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    {
        cJSON *r = parse("a: \"h\xC3\xA9\xF0\x9F\x8C\x83\"\n", &err, &d);
        ASSERT_NOT_NULL(r);
        ASSERT_STR_EQ(get(r, "a")->valuestring, "h\xC3\xA9\xF0\x9F\x8C\x83");
        cJSON_Delete(r);
    }
}

TEST(parse, keys_must_be_scalars)
{
    int err = 0;
    asyncapi_diag d;

    ASSERT_NULL(parse("? [a, b]\n: 1\n", &err, &d));
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_STR_CONTAINS(d.message, "keys must be scalars");
    ASSERT_NULL(parse("? {a: 1}\n: 1\n", &err, &d));
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
}

TEST(parse, multiple_documents_are_an_error)
{
    int err = 0;
    asyncapi_diag d;
    cJSON *r;

    ASSERT_NULL(parse("a: 1\n---\nb: 2\n", &err, &d));
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_STR_CONTAINS(d.message, "more than one");
    ASSERT_EQ(d.line, 2);
    r = parse("---\na: 1\n...\n", &err, &d);
    ASSERT_NOT_NULL(r);
    cJSON_Delete(r);
}

TEST(parse, unknown_anchor)
{
    int err = 0;
    asyncapi_diag d;

    ASSERT_NULL(parse("a: *nope\n", &err, &d));
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
}

TEST(parse, file_errors)
{
    int err = 0;
    asyncapi_diag d;
    char path[1024];
    cJSON *r;

    ASSERT_NULL(asyncapi_parse_file("/nonexistent/x.yaml", NULL, &err, &d));
    ASSERT_EQ(err, ASYNCAPI_EIO);
    ASSERT_STR_EQ(d.file, "/nonexistent/x.yaml");
    ASSERT_NULL(asyncapi_parse_file("/", NULL, &err, &d));
    ASSERT_EQ(err, ASYNCAPI_EIO);
    snprintf(path, sizeof(path), "%s/asyncapi/traits.yaml", test_fixtures_dir());
    r = asyncapi_parse_file(path, NULL, &err, &d);
    ASSERT_NOT_NULL(r);
    ASSERT_STR_EQ(get(r, "asyncapi")->valuestring, "2.6.0");
    cJSON_Delete(r);
    {
        asyncapi_parse_limits lim = {.max_bytes = 10};
        ASSERT_NULL(asyncapi_parse_file(path, &lim, &err, &d));
        ASSERT_EQ(err, ASYNCAPI_ELIMIT);
    }
}

/*
 * JSON text must not go through cJSON_Parse*, which writes cJSON's
 * process-wide error pointer (a data race between threads that parse):
 * the pointer a failed cJSON_Parse left stays as it was. Also: a trailing
 * NUL counted in len is tolerated, and the reason of a syntax error is named.
 */
TEST(parse, json_leaves_cjson_global_state_alone)
{
    static const char bad[] = "{bad";
    static const char good[] = "{\"a\": [1, 2, {\"b\": null}]}";
    const char *before;
    int err = 0;
    asyncapi_diag d;
    cJSON *r;

    ASSERT_NULL(cJSON_Parse(bad));
    before = cJSON_GetErrorPtr();
    ASSERT_NOT_NULL(before);
    r = asyncapi_parse_buffer(good, sizeof(good), "t.json", NULL, &err, &d); /* NUL counted */
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(cJSON_GetArraySize(get(r, "a")), 3);
    cJSON_Delete(r);
    ASSERT(cJSON_GetErrorPtr() == before);
    r = asyncapi_parse_buffer("[1,\n 2,, 3]", 11, "t.json", NULL, &err, &d);
    ASSERT_NULL(r);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_STR_CONTAINS(d.message, "invalid JSON: ");
    ASSERT_EQ(d.line, 2);
    ASSERT(cJSON_GetErrorPtr() == before);
}

TEST(parse, json_parse_strict_value)
{
    cJSON *out = (cJSON *)&out;

    ASSERT_EQ(asyncapi_json_parse("{\"a\":[1,2.5,\"x\"]}", 17, 0, &out), 0);
    ASSERT_NOT_NULL(out);
    ASSERT_EQ(cJSON_GetArraySize(get(out, "a")), 3);
    cJSON_Delete(out);
    ASSERT_EQ(asyncapi_json_parse("42", 2, 0, &out), 0);
    ASSERT(cJSON_IsNumber(out) && out->valuedouble == 42);
    cJSON_Delete(out);
    out = (cJSON *)&out;
    ASSERT_EQ(asyncapi_json_parse("{\"a\":1,\"a\":2}", 15, 0, &out), ASYNCAPI_ESYNTAX);
    ASSERT_NULL(out);
    out = (cJSON *)&out;
    ASSERT_EQ(asyncapi_json_parse("[1] x", 5, 0, &out), ASYNCAPI_ESYNTAX);
    ASSERT_NULL(out);
    ASSERT_EQ(asyncapi_json_parse("\"\xC3\x28\"", 4, 0, &out), ASYNCAPI_ESYNTAX);
    ASSERT_EQ(asyncapi_json_parse("[[[1]]]", 7, 2, &out), ASYNCAPI_ELIMIT);
    ASSERT_NULL(out);
    ASSERT_EQ(asyncapi_json_parse("[[[1]]]", 7, 3, &out), 0);
    cJSON_Delete(out);
    ASSERT_EQ(asyncapi_json_parse("", 0, 0, &out), ASYNCAPI_ESYNTAX);
    ASSERT_EQ(asyncapi_json_parse(NULL, 3, 0, &out), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_json_parse("1", 1, 0, NULL), ASYNCAPI_EINVAL);
}

/* The reusable tree buffer: the same trees and errors as asyncapi_json_parse. */
TEST(parse, json_parse_in_matches_json_parse)
{
    static const char *texts[] = {
        "{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null,\"d\":true},\"e\":\"\\u00e9\"}",
        "42", "[]", "\"s\"", "{\"deviceId\":\"dev-0001\",\"temperature\":-3.25e1}",
    };
    asyncapi_json_buf *b = asyncapi_json_buf_new();
    const cJSON *in = (const cJSON *)&in;
    cJSON *ref = NULL;
    char *big;
    size_t n = 0;

    ASSERT_NOT_NULL(b);
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        ASSERT_EQ(asyncapi_json_parse_in(b, texts[i], strlen(texts[i]), 0, &in), 0);
        ASSERT_EQ(asyncapi_json_parse(texts[i], strlen(texts[i]), 0, &ref), 0);
        ASSERT(cJSON_Compare(in, ref, 1));
        cJSON_Delete(ref);
    }
    /* a tree far bigger than the buffer's block spills into chunks, then a small one reuses it */
    big = malloc(200000);
    ASSERT_NOT_NULL(big);
    n += (size_t)sprintf(big + n, "[");
    for (int i = 0; i < 10000; i++)
        n += (size_t)sprintf(big + n, "%s{\"k%d\":%d}", i ? "," : "", i, i);
    n += (size_t)sprintf(big + n, "]");
    ASSERT_EQ(asyncapi_json_parse_in(b, big, n, 0, &in), 0);
    ASSERT_EQ(cJSON_GetArraySize(in), 10000);
    ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(in, 9999), "k9999")->valueint,
              9999);
    free(big);
    ASSERT_EQ(asyncapi_json_parse_in(b, "[7]", 3, 0, &in), 0);
    ASSERT_EQ(cJSON_GetArrayItem(in, 0)->valueint, 7);
    /* errors: *out NULL, the buffer stays usable */
    ASSERT_EQ(asyncapi_json_parse_in(b, "{\"a\":1,\"a\":2}", 15, 0, &in), ASYNCAPI_ESYNTAX);
    ASSERT_NULL(in);
    ASSERT_EQ(asyncapi_json_parse_in(b, "[[[1]]]", 7, 2, &in), ASYNCAPI_ELIMIT);
    ASSERT_NULL(in);
    ASSERT_EQ(asyncapi_json_parse_in(b, "\"\xC3\x28\"", 4, 0, &in), ASYNCAPI_ESYNTAX);
    ASSERT_EQ(asyncapi_json_parse_in(b, NULL, 3, 0, &in), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_json_parse_in(NULL, "1", 1, 0, &in), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_json_parse_in(b, "1", 1, 0, NULL), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_json_parse_in(b, "true", 4, 0, &in), 0);
    ASSERT(cJSON_IsTrue(in));
    asyncapi_json_buf_free(b);
    asyncapi_json_buf_free(NULL);
}

/* The one UTF-8 check shared by the JSON reader, the docs and the HTTP side. */
TEST(parse, utf8_seq_accepts_exactly_well_formed_utf8)
{
    ASSERT_EQ(asyncapi_utf8_seq("a", 1), 1);
    ASSERT_EQ(asyncapi_utf8_seq("\xC3\xA9", 2), 2);         /* é */
    ASSERT_EQ(asyncapi_utf8_seq("\xE2\x82\xAC", 3), 3);     /* € */
    ASSERT_EQ(asyncapi_utf8_seq("\xF0\x9F\x98\x80", 4), 4); /* U+1F600 */
    ASSERT_EQ(asyncapi_utf8_seq("\xF4\x8F\xBF\xBF", 4), 4); /* U+10FFFF */
    ASSERT_EQ(asyncapi_utf8_seq("", 0), 0);                 /* nothing left */
    ASSERT_EQ(asyncapi_utf8_seq("\xC3", 1), 0);             /* truncated */
    ASSERT_EQ(asyncapi_utf8_seq("\xE2\x82", 2), 0);         /* truncated */
    ASSERT_EQ(asyncapi_utf8_seq("\xC0\xAF", 2), 0);         /* overlong '/' */
    ASSERT_EQ(asyncapi_utf8_seq("\xE0\x80\xAF", 3), 0);     /* overlong */
    ASSERT_EQ(asyncapi_utf8_seq("\xF0\x80\x80\xAF", 4), 0); /* overlong */
    ASSERT_EQ(asyncapi_utf8_seq("\xED\xA0\x80", 3), 0);     /* surrogate D800 */
    ASSERT_EQ(asyncapi_utf8_seq("\xF4\x90\x80\x80", 4), 0); /* above U+10FFFF */
    ASSERT_EQ(asyncapi_utf8_seq("\x80", 1), 0);             /* lone continuation */
    ASSERT_EQ(asyncapi_utf8_seq("\xC3\x28", 2), 0);         /* bad continuation */
    ASSERT_EQ(asyncapi_utf8_seq("\xFF", 1), 0);
}
