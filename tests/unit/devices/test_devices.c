/* SPDX-License-Identifier: MIT */
/*
 * devices: identity rules (parameters, x-asyncbridge-device on channel and
 * document, payload pointers), runtime expressions for correlation ids,
 * JSON pointer escapes, status rules, bad extensions and missing fields.
 */
#include "test.h"

#include "devices/devices.h"

static asyncapi_param params3[3] = {{.name = "siteId"}, {.name = "deviceId"}, {.name = "kind"}};

static asyncapi_channel chan(cJSON *node)
{
    asyncapi_channel ch = {.id = "telemetry", .address = "site/{siteId}/dev/{deviceId}/{kind}",
                           .params = params3, .n_params = 3, .node = node};
    return ch;
}

static const char topic[] = "site/s1/dev/d-42/temp";

static void route(asyncapi_route_param p[3])
{
    p[0] = (asyncapi_route_param){.name = "siteId", .value = topic + 5, .len = 2};
    p[1] = (asyncapi_route_param){.name = "deviceId", .value = topic + 12, .len = 4};
    p[2] = (asyncapi_route_param){.name = "kind", .value = topic + 17, .len = 4};
}

TEST(identity, default_parameter)
{
    asyncapi_channel ch = chan(NULL);
    devices_identity *id = NULL;
    asyncapi_route_param p[3];
    char buf[DEVICES_ID_MAX + 1];

    route(p);
    ASSERT_EQ(devices_identity_compile(&ch, NULL, &id, NULL), 0);
    ASSERT_EQ(devices_identity_get_kind(id), DEVICES_IDENTITY_PARAM);
    ASSERT_EQ(devices_identity_eval(id, p, 3, NULL, buf, sizeof(buf)), 4);
    ASSERT_STR_EQ(buf, "d-42");
    /* buffer too small */
    ASSERT_EQ(devices_identity_eval(id, p, 3, NULL, buf, 4), DEVICES_ETOOLONG);
    ASSERT_STR_EQ(buf, "");
    /* parameter missing from the match */
    ASSERT_EQ(devices_identity_eval(id, p, 1, NULL, buf, sizeof(buf)), DEVICES_ENOTFOUND);
    /* control characters in the topic level */
    {
        asyncapi_route_param bad = {.name = "deviceId", .value = "a\tb", .len = 3};
        ASSERT_EQ(devices_identity_eval(id, &bad, 1, NULL, buf, sizeof(buf)), DEVICES_EBADID);
        bad.value = "\xc3\x28";
        bad.len = 2;
        ASSERT_EQ(devices_identity_eval(id, &bad, 1, NULL, buf, sizeof(buf)), DEVICES_EBADID);
    }
    devices_identity_free(id);
}

TEST(identity, no_device)
{
    asyncapi_param only = {.name = "siteId"};
    asyncapi_channel ch = {.id = "alerts", .params = &only, .n_params = 1};
    devices_identity *id = NULL;
    char buf[16] = "x";

    ASSERT_EQ(devices_identity_compile(&ch, NULL, &id, NULL), 0);
    ASSERT_EQ(devices_identity_get_kind(id), DEVICES_IDENTITY_NONE);
    ASSERT_EQ(devices_identity_eval(id, NULL, 0, NULL, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "");
    devices_identity_free(id);
}

TEST(identity, channel_extension_param_forms)
{
    const char *forms[] = {"{kind}", "kind"};

    for (int i = 0; i < 2; i++) {
        cJSON *node = cJSON_CreateObject();
        asyncapi_channel ch;
        devices_identity *id = NULL;
        asyncapi_route_param p[3];
        char buf[64];

        cJSON_AddStringToObject(node, "x-asyncbridge-device", forms[i]);
        ch = chan(node);
        route(p);
        ASSERT_EQ(devices_identity_compile(&ch, NULL, &id, NULL), 0);
        ASSERT_EQ(devices_identity_eval(id, p, 3, NULL, buf, sizeof(buf)), 4);
        ASSERT_STR_EQ(buf, "temp");
        devices_identity_free(id);
        cJSON_Delete(node);
    }
}

TEST(identity, payload_pointer_and_escapes)
{
    const char *forms[] = {"/meta/a~1b~0c", "$message.payload#/meta/a~1b~0c"};
    cJSON *payload = cJSON_Parse("{\"meta\":{\"a/b~c\":\"dev-\xc3\xa9\",\"n\":17,"
                                 "\"arr\":[\"x\",\"y\"],\"o\":{},\"e\":\"\"}}");

    ASSERT_NOT_NULL(payload);
    for (int i = 0; i < 2; i++) {
        devices_identity *id = NULL;
        const char *names[] = {"deviceId"};
        char buf[64];

        ASSERT_EQ(devices_identity_compile_spec(forms[i], names, 1, &id, NULL), 0);
        ASSERT_EQ(devices_identity_get_kind(id), DEVICES_IDENTITY_PAYLOAD);
        ASSERT_EQ(devices_identity_eval(id, NULL, 0, payload, buf, sizeof(buf)), 6);
        ASSERT_STR_EQ(buf, "dev-\xc3\xa9");
        ASSERT_EQ(devices_identity_eval(id, NULL, 0, NULL, buf, sizeof(buf)),
                  DEVICES_ENOTFOUND);
        devices_identity_free(id);
    }
    {
        struct { const char *ptr; int rc; const char *want; } cases[] = {
            {"/meta/n", 2, "17"},
            {"/meta/arr/1", 1, "y"},
            {"/meta/arr/01", DEVICES_ENOTFOUND, ""},
            {"/meta/arr/2", DEVICES_ENOTFOUND, ""},
            {"/meta/arr/-", DEVICES_ENOTFOUND, ""},
            {"/meta/o", DEVICES_EBADID, ""},
            {"/meta/e", DEVICES_ENOTFOUND, ""},
            {"/meta/missing", DEVICES_ENOTFOUND, ""},
            {"/meta/n/deeper", DEVICES_ENOTFOUND, ""},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
            devices_identity *id = NULL;
            char buf[64];
            ASSERT_EQ(devices_identity_compile_spec(cases[i].ptr, NULL, 0, &id, NULL), 0);
            ASSERT_EQ(devices_identity_eval(id, NULL, 0, payload, buf, sizeof(buf)),
                      cases[i].rc);
            ASSERT_STR_EQ(buf, cases[i].want);
            devices_identity_free(id);
        }
    }
    cJSON_Delete(payload);
}

TEST(identity, too_long_payload_id)
{
    char big[300];
    cJSON *payload;
    devices_identity *id = NULL;
    char buf[512];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "id", big);
    ASSERT_EQ(devices_identity_compile_spec("/id", NULL, 0, &id, NULL), 0);
    ASSERT_EQ(devices_identity_eval(id, NULL, 0, payload, buf, sizeof(buf)), DEVICES_ETOOLONG);
    devices_identity_free(id);
    cJSON_Delete(payload);
}

TEST(identity, bad_extensions)
{
    const char *bad[] = {"", "{nope}", "nope", "{kind", "meta~2", "/a~2b", "/a~",
                         "$message.header#/id", "$message.payloadx", "$message.payload/x",
                         "$request.body#/id"};
    asyncapi_diag d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        cJSON *node = cJSON_CreateObject();
        asyncapi_channel ch;
        devices_identity *id = (devices_identity *)&d; /* must be reset to NULL */

        cJSON_AddStringToObject(node, "x-asyncbridge-device", bad[i]);
        ch = chan(node);
        ASSERT_EQ(devices_identity_compile(&ch, NULL, &id, &d), DEVICES_EINVAL);
        ASSERT_NULL(id);
        ASSERT(strlen(d.message) > 0);
        cJSON_Delete(node);
    }
    {
        cJSON *node = cJSON_CreateObject();
        asyncapi_channel ch;
        devices_identity *id = NULL;

        cJSON_AddNumberToObject(node, "x-asyncbridge-device", 3);
        ch = chan(node);
        ASSERT_EQ(devices_identity_compile(&ch, NULL, &id, &d), DEVICES_EINVAL);
        ASSERT_NULL(id);
        cJSON_Delete(node);
    }
    ASSERT_EQ(devices_identity_compile(NULL, NULL, NULL, NULL), DEVICES_EINVAL);
}

TEST(identity, document_extension)
{
    cJSON *root = cJSON_Parse("{\"x-asyncbridge-device\":\"{kind}\"}");
    cJSON *chnode = cJSON_Parse("{\"x-asyncbridge-device\":\"siteId\"}");
    asyncapi_param none = {.name = "deviceId"};
    asyncapi_channel other = {.id = "other", .params = &none, .n_params = 1};
    asyncapi_channel ch = chan(NULL);
    devices_identity *id = NULL;
    asyncapi_route_param p[3];
    char buf[64];

    route(p);
    /* the document rule applies where the parameter exists */
    ASSERT_EQ(devices_identity_compile(&ch, root, &id, NULL), 0);
    ASSERT_EQ(devices_identity_eval(id, p, 3, NULL, buf, sizeof(buf)), 4);
    ASSERT_STR_EQ(buf, "temp");
    devices_identity_free(id);
    /* and falls back to the default where it does not */
    ASSERT_EQ(devices_identity_compile(&other, root, &id, NULL), 0);
    ASSERT_EQ(devices_identity_eval(id, p, 3, NULL, buf, sizeof(buf)), 4);
    ASSERT_STR_EQ(buf, "d-42");
    devices_identity_free(id);
    /* the channel's rule wins over the document's */
    ch.node = chnode;
    ASSERT_EQ(devices_identity_compile(&ch, root, &id, NULL), 0);
    ASSERT_EQ(devices_identity_eval(id, p, 3, NULL, buf, sizeof(buf)), 2);
    ASSERT_STR_EQ(buf, "s1");
    devices_identity_free(id);
    /* a malformed document rule is an error */
    cJSON_ReplaceItemInObject(root, "x-asyncbridge-device", cJSON_CreateString("/a~9"));
    ch.node = NULL;
    ASSERT_EQ(devices_identity_compile(&ch, root, &id, NULL), DEVICES_EINVAL);
    cJSON_Delete(root);
    cJSON_Delete(chnode);
}

TEST(expr, payload_and_header)
{
    cJSON *payload = cJSON_Parse("{\"seq\":42,\"f\":1.5,\"big\":1e300,\"neg\":-0.0,"
                                 "\"s\":\"abc\",\"b\":true,\"o\":{\"k\":[1,\"x\"]},"
                                 "\"~/\":{\"\":\"empty key\"}}");
    cJSON *headers = cJSON_Parse("{\"messageId\":\"m-1\"}");
    struct { const char *expr; int rc; const char *want; } cases[] = {
        {"$message.payload#/seq", 2, "42"},
        {"$message.payload#/f", 3, "1.5"},
        {"$message.payload#/big", 6, "1e+300"},
        {"$message.payload#/neg", 1, "0"},
        {"$message.payload#/s", 3, "abc"},
        {"$message.payload#/b", 4, "true"},
        {"$message.payload#/o", 13, "{\"k\":[1,\"x\"]}"},
        {"$message.payload#/~0~1/", 9, "empty key"},
        {"$message.payload#/nope", DEVICES_ENOTFOUND, ""},
        {"$message.header#/messageId", 3, "m-1"},
        {"$message.header#/other", DEVICES_ENOTFOUND, ""},
    };

    ASSERT_NOT_NULL(payload);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        devices_expr *e = NULL;
        char buf[DEVICES_CORR_MAX + 1];

        ASSERT_EQ(devices_expr_compile(cases[i].expr, &e, NULL), 0);
        ASSERT_EQ(devices_expr_eval(e, payload, headers, buf, sizeof(buf)), cases[i].rc);
        ASSERT_STR_EQ(buf, cases[i].want);
        /* no headers at all */
        if (strstr(cases[i].expr, "header"))
            ASSERT_EQ(devices_expr_eval(e, payload, NULL, buf, sizeof(buf)), DEVICES_ENOTFOUND);
        devices_expr_free(e);
    }
    {
        /* the whole payload */
        devices_expr *e = NULL;
        char buf[8];
        cJSON *n = cJSON_CreateNumber(7);
        ASSERT_EQ(devices_expr_compile("$message.payload", &e, NULL), 0);
        ASSERT_EQ(devices_expr_eval(e, n, NULL, buf, sizeof(buf)), 1);
        ASSERT_STR_EQ(buf, "7");
        /* too small a buffer */
        ASSERT_EQ(devices_expr_eval(e, payload, NULL, buf, sizeof(buf)), DEVICES_ETOOLONG);
        devices_expr_free(e);
        cJSON_Delete(n);
    }
    cJSON_Delete(payload);
    cJSON_Delete(headers);
}

TEST(expr, bad_expressions)
{
    const char *bad[] = {"", "seq", "$message.payload#seq", "$message.payload#/a~",
                         "$message.body#/x", "$message.payload/x"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        devices_expr *e = (devices_expr *)bad;
        asyncapi_diag d;
        ASSERT_EQ(devices_expr_compile(bad[i], &e, &d), DEVICES_EINVAL);
        ASSERT_NULL(e);
    }
    ASSERT_EQ(devices_expr_compile(NULL, NULL, NULL), DEVICES_EINVAL);
}

TEST(expr, numbers_canonical)
{
    double v[] = {0.1, 1e21, -3, 9007199254740992.0, 9007199254740994.0, 123456.789,
                  -9007199254740992.0, 10, 1, -1, 1234567890123.0, -0.0, 1e15};
    const char *want[] = {"0.1", "1e+21", "-3", "9007199254740992", "9007199254740994",
                          "123456.789", "-9007199254740992", "10", "1", "-1",
                          "1234567890123", "0", "1000000000000000"};

    for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
        cJSON *n = cJSON_CreateNumber(v[i]);
        char buf[64];
        ASSERT(devices_value_text(n, DEVICES_CORR_MAX, buf, sizeof(buf)) > 0);
        ASSERT_STR_EQ(buf, want[i]);
        cJSON_Delete(n);
    }
}

TEST(pointer, get)
{
    cJSON *doc = cJSON_Parse("{\"a\":{\"b/c\":[10,{\"m~n\":5}]}}");

    ASSERT(devices_json_pointer_get(doc, "") == doc);
    ASSERT_EQ(devices_json_pointer_get(doc, "/a/b~1c/0")->valueint, 10);
    ASSERT_EQ(devices_json_pointer_get(doc, "/a/b~1c/1/m~0n")->valueint, 5);
    ASSERT_NULL(devices_json_pointer_get(doc, "a"));
    ASSERT_NULL(devices_json_pointer_get(doc, "/a/b~2c"));
    ASSERT_NULL(devices_json_pointer_get(doc, "/a/b~1c/9"));
    ASSERT_NULL(devices_json_pointer_get(NULL, ""));
    cJSON_Delete(doc);
}

TEST(id, check)
{
    ASSERT_EQ(devices_id_check("abc", 3), 0);
    ASSERT_EQ(devices_id_check("\xe2\x82\xac", 3), 0);
    ASSERT_EQ(devices_id_check("", 0), DEVICES_EBADID);
    ASSERT_EQ(devices_id_check("a\nb", 3), DEVICES_EBADID);
    ASSERT_EQ(devices_id_check("a\x7f", 2), DEVICES_EBADID);
    ASSERT_EQ(devices_id_check("\xc2\x85", 2), DEVICES_EBADID);   /* C1 NEL */
    ASSERT_EQ(devices_id_check("\xc0\xaf", 2), DEVICES_EBADID);   /* overlong */
    ASSERT_EQ(devices_id_check("\xed\xa0\x80", 3), DEVICES_EBADID); /* surrogate */
    ASSERT_EQ(devices_id_check("\xe2\x82", 2), DEVICES_EBADID);   /* truncated */
    {
        char big[DEVICES_ID_MAX + 1];
        memset(big, 'a', sizeof(big));
        ASSERT_EQ(devices_id_check(big, DEVICES_ID_MAX), 0);
        ASSERT_EQ(devices_id_check(big, DEVICES_ID_MAX + 1), DEVICES_ETOOLONG);
    }
}

TEST(status, channel_rules)
{
    cJSON *yes = cJSON_Parse("{\"x-asyncbridge-status\":true}");
    cJSON *no = cJSON_Parse("{\"x-asyncbridge-status\":false}");
    cJSON *root = cJSON_Parse("{\"x-asyncbridge-status\":[\"lwt\",\"dev/{id}/will\"]}");
    asyncapi_channel a = {.id = "telemetry", .address = "dev/{id}/telemetry"};
    asyncapi_channel b = {.id = "deviceStatus", .address = "dev/{id}/x"};
    asyncapi_channel c = {.id = "will", .address = "dev/{id}/will"};

    ASSERT_EQ(devices_channel_is_status(&a, NULL), 0);
    ASSERT_EQ(devices_channel_is_status(&b, NULL), 1);
    ASSERT_EQ(devices_channel_is_status(&c, NULL), 0);
    ASSERT_EQ(devices_channel_is_status(&c, root), 1);
    a.node = yes;
    ASSERT_EQ(devices_channel_is_status(&a, NULL), 1);
    b.node = no;
    ASSERT_EQ(devices_channel_is_status(&b, NULL), 0);
    ASSERT_EQ(devices_channel_name_is_status("dev/1/STATUS"), 1);
    ASSERT_EQ(devices_channel_name_is_status("stat"), 0);
    ASSERT_EQ(devices_channel_name_is_status(NULL), 0);
    cJSON_Delete(yes);
    cJSON_Delete(no);
    cJSON_Delete(root);
}

TEST(status, payloads_and_fold)
{
    struct { const char *json; devices_status want; } cases[] = {
        {"\"online\"", DEVICES_STATUS_ONLINE},
        {"\"OFFLINE\"", DEVICES_STATUS_OFFLINE},
        {"true", DEVICES_STATUS_ONLINE},
        {"{\"status\":\"disconnected\"}", DEVICES_STATUS_OFFLINE},
        {"{\"state\":\"up\"}", DEVICES_STATUS_ONLINE},
        {"{\"online\":false}", DEVICES_STATUS_OFFLINE},
        {"{\"connected\":true}", DEVICES_STATUS_ONLINE},
        {"{\"status\":\"rebooting\"}", DEVICES_STATUS_UNKNOWN},
        {"42", DEVICES_STATUS_UNKNOWN},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        cJSON *p = cJSON_Parse(cases[i].json);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(devices_status_from_payload(p), cases[i].want);
        cJSON_Delete(p);
    }
    ASSERT_EQ(devices_status_from_payload(NULL), DEVICES_STATUS_UNKNOWN);
    {
        cJSON *off = cJSON_CreateString("offline");
        cJSON *junk = cJSON_CreateString("junk");
        devices_status st = DEVICES_STATUS_UNKNOWN;
        st = devices_status_fold(st, 1, off);
        ASSERT_EQ(st, DEVICES_STATUS_OFFLINE);
        st = devices_status_fold(st, 1, junk);
        ASSERT_EQ(st, DEVICES_STATUS_OFFLINE);
        st = devices_status_fold(st, 0, junk);
        ASSERT_EQ(st, DEVICES_STATUS_ONLINE);
        cJSON_Delete(off);
        cJSON_Delete(junk);
    }
    ASSERT_EQ(devices_status_effective(DEVICES_STATUS_OFFLINE, 100, 100, 0), DEVICES_STATUS_OFFLINE);
    ASSERT_EQ(devices_status_effective(DEVICES_STATUS_ONLINE, 100, 200, 50), DEVICES_STATUS_OFFLINE);
    ASSERT_EQ(devices_status_effective(DEVICES_STATUS_ONLINE, 100, 140, 50), DEVICES_STATUS_ONLINE);
    ASSERT_EQ(devices_status_effective(DEVICES_STATUS_ONLINE, 100, 99999, 0), DEVICES_STATUS_ONLINE);
    ASSERT_EQ(devices_status_effective(DEVICES_STATUS_UNKNOWN, 0, 100, 50), DEVICES_STATUS_UNKNOWN);
    ASSERT_STR_EQ(devices_status_name(DEVICES_STATUS_ONLINE), "online");
    ASSERT_STR_EQ(devices_strerror(DEVICES_EBADID),
                  "value has a type or characters an id may not have");
}
