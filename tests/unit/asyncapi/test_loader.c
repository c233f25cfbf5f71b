/* SPDX-License-Identifier: MIT */
/*
 * Tests of asyncapi_load: every shared AsyncAPI example loads, model
 * contents of known documents, $ref and trait rules, and bad fixtures fail
 * with the right code and a useful diagnostic (tests/fixtures/asyncapi/).
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "asyncapi/asyncapi.h"
#include "test.h"

static asyncapi_doc *load_rel(const char *base, const char *rel, int *err, asyncapi_diag *d)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", base, rel);
    return asyncapi_load(path, NULL, err, d);
}

static asyncapi_doc *example(const char *rel)
{
    char path[1024];
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc;

    snprintf(path, sizeof(path), "%s/asyncapi-examples/%s", test_data_dir(), rel);
    doc = asyncapi_load(path, NULL, &err, &d);
    if (!doc)
        fprintf(stderr, "  load %s: %s: %s:%d:%d %s: %s\n", rel, asyncapi_strerror(err), d.file,
                d.line, d.column, d.pointer, d.message);
    return doc;
}

static asyncapi_doc *fixture(const char *name, int *err, asyncapi_diag *d)
{
    char rel[256];

    snprintf(rel, sizeof(rel), "asyncapi/%s", name);
    return load_rel(test_fixtures_dir(), rel, err, d);
}

static const asyncapi_operation *op_by_id(const asyncapi_doc *doc, const char *id)
{
    size_t n;
    const asyncapi_operation *ops = asyncapi_doc_operations(doc, &n);

    for (size_t i = 0; i < n; i++)
        if (strcmp(ops[i].id, id) == 0)
            return &ops[i];
    return NULL;
}

static const asyncapi_message *msg_by_id(const asyncapi_doc *doc, const char *id)
{
    size_t n;
    const asyncapi_message *m = asyncapi_doc_messages(doc, &n);

    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].id, id) == 0)
            return &m[i];
    return NULL;
}

/* ---- walk every example ---- */

static int walk(const char *dir, int *loaded, int *failed)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        char path[1024];
        struct stat st;
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            /* social-media/common holds fragments, not documents */
            if (strcmp(e->d_name, "common") == 0 && strstr(dir, "social-media"))
                continue;
            walk(path, loaded, failed);
        } else if ((n > 4 && strcmp(e->d_name + n - 4, ".yml") == 0) ||
                   (n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0)) {
            asyncapi_diag diag;
            int err = 0;
            asyncapi_doc *doc = asyncapi_load(path, NULL, &err, &diag);
            if (doc) {
                size_t nch;
                asyncapi_doc_channels(doc, &nch);
                (*loaded)++;
                if (!asyncapi_doc_info(doc)->title || nch == 0) {
                    fprintf(stderr, "  %s: no title or no channels\n", path);
                    (*failed)++;
                }
            } else {
                fprintf(stderr, "  %s: %s: %s:%d:%d %s: %s\n", path, asyncapi_strerror(err),
                        diag.file, diag.line, diag.column, diag.pointer, diag.message);
                (*failed)++;
            }
            asyncapi_free(doc);
        }
    }
    closedir(d);
    return 0;
}

TEST(loader, every_shared_example_loads)
{
    char dir[1024];
    int loaded = 0, failed = 0;

    snprintf(dir, sizeof(dir), "%s/asyncapi-examples", test_data_dir());
    ASSERT_EQ(walk(dir, &loaded, &failed), 0);
    ASSERT_EQ(failed, 0);
    /* 10 (2.0.0) + 21 (2.6.0) + 24 (3.0.0), see the examples' NOTES.md */
    ASSERT_EQ(loaded, 55);
}

/* ---- model contents ---- */

#define STREETLIGHT_MEASURED "smartylighting/streetlights/1/0/event/{streetlightId}/lighting/measured"

TEST(loader, v26_streetlights_model)
{
    asyncapi_doc *doc = example("v2.6.0/streetlights-mqtt.yml");
    const asyncapi_channel *ch, *on;
    const asyncapi_operation *op;
    const asyncapi_server *sv;
    size_t n;

    ASSERT_NOT_NULL(doc);
    ASSERT_STR_EQ(asyncapi_doc_info(doc)->asyncapi, "2.6.0");
    ASSERT_EQ(asyncapi_doc_info(doc)->major, 2);
    ASSERT_STR_EQ(asyncapi_doc_info(doc)->title, "Streetlights MQTT API");
    ASSERT_STR_EQ(asyncapi_doc_info(doc)->default_content_type, "application/json");
    sv = asyncapi_doc_servers(doc, &n);
    ASSERT_EQ(n, 1);
    ASSERT_STR_EQ(sv[0].id, "production");
    ASSERT_STR_EQ(sv[0].protocol, "mqtt");
    ASSERT_STR_EQ(sv[0].host, "test.mosquitto.org:{port}");
    ASSERT_EQ(sv[0].is_mqtt, 1);
    asyncapi_doc_channels(doc, &n);
    ASSERT_EQ(n, 4);
    ch = asyncapi_doc_channel(doc, STREETLIGHT_MEASURED);
    ASSERT_NOT_NULL(ch);
    ASSERT_EQ(ch == asyncapi_doc_channel_by_address(doc, STREETLIGHT_MEASURED), 1);
    ASSERT_STR_EQ(ch->topic_filter, "smartylighting/streetlights/1/0/event/+/lighting/measured");
    ASSERT_EQ(ch->n_params, 1);
    ASSERT_STR_EQ(ch->params[0].name, "streetlightId");
    ASSERT_STR_EQ(ch->params[0].description, "The ID of the streetlight.");
    ASSERT_NOT_NULL(ch->params[0].schema);
    ASSERT_STR_EQ(cJSON_GetObjectItem(ch->params[0].schema, "type")->valuestring, "string");
    ASSERT_EQ(asyncapi_channel_receives(doc, ch), 1);
    ASSERT_EQ(asyncapi_channel_qos(doc, ch), 1);
    ASSERT_EQ(ch->n_messages, 1);
    ASSERT_STR_EQ(ch->messages[0]->id, "lightMeasured");
    ASSERT_NOT_NULL(ch->messages[0]->payload);
    ASSERT_NOT_NULL(ch->messages[0]->payload_schema);
    /* trait commonHeaders applied: headers present */
    ASSERT_NOT_NULL(ch->messages[0]->headers);
    ASSERT_NULL(cJSON_GetObjectItem(ch->messages[0]->node, "traits"));
    ASSERT_STR_EQ(ch->messages[0]->content_type, "application/json");

    op = op_by_id(doc, "receiveLightMeasurement");
    ASSERT_NOT_NULL(op);
    ASSERT_EQ(op->action, ASYNCAPI_RECEIVE);
    ASSERT_STR_EQ(op->action_word, "publish");
    ASSERT_EQ(op->channel == ch, 1);
    ASSERT_EQ(op->qos, 1); /* from operation trait mqtt */
    ASSERT_EQ(op->n_messages, 1);
    ASSERT_EQ(op->messages[0] == ch->messages[0], 1);

    op = op_by_id(doc, "turnOn");
    ASSERT_NOT_NULL(op);
    ASSERT_EQ(op->action, ASYNCAPI_SEND);
    ASSERT_STR_EQ(op->action_word, "subscribe");
    on = op->channel;
    ASSERT_EQ(asyncapi_channel_receives(doc, on), 0);
    /* turnOn and turnOff share the turnOnOff message record */
    ASSERT_EQ(op->messages[0] == op_by_id(doc, "turnOff")->messages[0], 1);
    ASSERT_STR_EQ(op->messages[0]->id, "turnOnOff");
    /* YAML 1.2: the unquoted enum on/off stays strings */
    {
        const cJSON *cmd = cJSON_GetObjectItem(
            cJSON_GetObjectItem(op->messages[0]->payload, "properties"), "command");
        const cJSON *e = cJSON_GetObjectItem(cmd, "enum");
        ASSERT_EQ(cJSON_GetArraySize(e), 2);
        ASSERT_STR_EQ(cJSON_GetArrayItem(e, 0)->valuestring, "on");
        ASSERT_STR_EQ(cJSON_GetArrayItem(e, 1)->valuestring, "off");
    }
    asyncapi_doc_messages(doc, &n);
    ASSERT_EQ(n, 3);
    asyncapi_free(doc);
}

TEST(loader, v30_streetlights_model)
{
    asyncapi_doc *doc = example("v3.0.0/streetlights-mqtt-asyncapi.yml");
    const asyncapi_channel *ch;
    const asyncapi_operation *op;
    size_t n;

    ASSERT_NOT_NULL(doc);
    ASSERT_EQ(asyncapi_doc_info(doc)->major, 3);
    ch = asyncapi_doc_channel(doc, "lightingMeasured");
    ASSERT_NOT_NULL(ch);
    ASSERT_STR_EQ(ch->address, STREETLIGHT_MEASURED);
    ASSERT_EQ(ch == asyncapi_doc_channel_by_address(doc, STREETLIGHT_MEASURED), 1);
    ASSERT_STR_EQ(ch->topic_filter, "smartylighting/streetlights/1/0/event/+/lighting/measured");
    ASSERT_EQ(ch->n_params, 1);
    ASSERT_STR_EQ(ch->params[0].name, "streetlightId");
    ASSERT_NOT_NULL(ch->params[0].schema); /* folded: type string */
    ASSERT_STR_EQ(cJSON_GetObjectItem(ch->params[0].schema, "type")->valuestring, "string");
    ASSERT_EQ(asyncapi_channel_receives(doc, ch), 1);
    ASSERT_EQ(asyncapi_channel_qos(doc, ch), 1);
    ASSERT_EQ(ch->n_messages, 1);
    ASSERT_STR_EQ(ch->messages[0]->id, "lightMeasured");
    ASSERT_NOT_NULL(ch->messages[0]->headers); /* message trait */

    op = op_by_id(doc, "receiveLightMeasurement");
    ASSERT_NOT_NULL(op);
    ASSERT_EQ(op->action, ASYNCAPI_RECEIVE);
    ASSERT_STR_EQ(op->action_word, "receive");
    ASSERT_EQ(op->channel == ch, 1);
    ASSERT_EQ(op->qos, 1);
    ASSERT_EQ(op->n_messages, 1);
    ASSERT_EQ(op->messages[0] == ch->messages[0], 1);
    op = op_by_id(doc, "dimLight");
    ASSERT_NOT_NULL(op);
    ASSERT_EQ(op->action, ASYNCAPI_SEND);
    ASSERT_STR_EQ(op->channel->id, "lightsDim");
    ASSERT_EQ(asyncapi_channel_receives(doc, op->channel), 0);
    asyncapi_doc_operations(doc, &n);
    ASSERT_EQ(n, 4);
    asyncapi_free(doc);
}

TEST(loader, v30_server_host_pathname_and_non_mqtt_warning)
{
    asyncapi_doc *doc = example("v3.0.0/social-media/backend/asyncapi.yaml");
    const asyncapi_server *sv;
    const asyncapi_warning *w;
    size_t n, i, found = 0;

    ASSERT_NOT_NULL(doc);
    sv = asyncapi_doc_servers(doc, &n);
    ASSERT_EQ(n, 2);
    for (i = 0; i < n; i++) {
        if (strcmp(sv[i].id, "websiteWebSocketServer") == 0) {
            ASSERT_STR_EQ(sv[i].host, "mycompany.com"); /* from ../common/servers.yaml */
            ASSERT_STR_EQ(sv[i].pathname, "/ws");
            ASSERT_STR_EQ(sv[i].url, "mycompany.com/ws");
            ASSERT_EQ(sv[i].is_mqtt, 0);
            found++;
        } else {
            ASSERT_EQ(sv[i].is_mqtt, 1);
        }
    }
    ASSERT_EQ(found, 1);
    w = asyncapi_doc_warnings(doc, &n);
    found = 0;
    for (i = 0; i < n; i++)
        if (strstr(w[i].message, "websiteWebSocketServer") && strstr(w[i].message, "not MQTT"))
            found++;
    ASSERT_EQ(found, 1);
    asyncapi_free(doc);
}

TEST(loader, social_media_external_refs)
{
    const char *docs[] = {"v2.6.0/social-media/comments-service/asyncapi.yaml",
                          "v3.0.0/social-media/comments-service/asyncapi.yaml"};

    for (int k = 0; k < 2; k++) {
        asyncapi_doc *doc = example(docs[k]);
        const asyncapi_message *m;
        const cJSON *props, *cid;
        ASSERT_NOT_NULL(doc);
        /* ../common/messages.yaml#/commentLiked -> ./schemas.yaml#/commentLikedPayload
           -> #/commentId inside schemas.yaml */
        m = msg_by_id(doc, "commentLiked");
        ASSERT_NOT_NULL(m);
        ASSERT_STR_CONTAINS(m->description, "liked by someone");
        ASSERT_NOT_NULL(m->payload);
        ASSERT_STR_EQ(cJSON_GetObjectItem(m->payload, "title")->valuestring,
                      "commentLikedPayload");
        props = cJSON_GetObjectItem(m->payload, "properties");
        cid = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "commentId"),
                                                     "allOf"), 0);
        ASSERT_NOT_NULL(cid);
        ASSERT_STR_EQ(cJSON_GetObjectItem(cid, "type")->valuestring, "string");
        ASSERT_NULL(cJSON_GetObjectItem(cid, "$ref"));
        ASSERT_NOT_NULL(m->payload_schema);
        asyncapi_free(doc);
    }
}

TEST(loader, correlation_id_location)
{
    const char *docs[] = {"v2.6.0/correlation-id.yml", "v3.0.0/correlation-id-asyncapi.yml"};

    for (int k = 0; k < 2; k++) {
        asyncapi_doc *doc = example(docs[k]);
        const asyncapi_message *m;
        size_t n, with = 0;
        ASSERT_NOT_NULL(doc);
        m = asyncapi_doc_messages(doc, &n);
        for (size_t i = 0; i < n; i++) {
            if (m[i].correlation_id) {
                with++;
                ASSERT_STR_CONTAINS(m[i].correlation_id, "$message.");
            }
        }
        ASSERT_GE(with, 1);
        m = msg_by_id(doc, "dimLight");
        ASSERT_NOT_NULL(m);
        /* via $ref '#/components/correlationIds/sentAtCorrelator' */
        ASSERT_STR_EQ(m->correlation_id, "$message.payload#/sentAt");
        asyncapi_free(doc);
    }
}

TEST(loader, v2_oneof_messages)
{
    asyncapi_doc *doc = example("v2.6.0/oneof.yml");
    const asyncapi_channel *ch;
    size_t n;

    ASSERT_NOT_NULL(doc);
    ch = asyncapi_doc_channels(doc, &n);
    ASSERT_GE(n, 1);
    ASSERT_GE(ch[0].n_messages + (n > 1 ? ch[1].n_messages : 0), 2);
    asyncapi_free(doc);
}

TEST(loader, schema_format_not_compiled_is_a_warning)
{
    asyncapi_doc *doc = example("v3.0.0/adeo-kafka-request-reply-asyncapi.yml");
    const asyncapi_message *m;
    const asyncapi_warning *w;
    size_t n, found = 0;

    ASSERT_NOT_NULL(doc);
    m = msg_by_id(doc, "costingRequestV1");
    ASSERT_NOT_NULL(m);
    ASSERT_STR_CONTAINS(m->schema_format, "avro");
    ASSERT_NULL(m->payload_schema);
    ASSERT_NOT_NULL(m->payload);
    ASSERT_NOT_NULL(m->headers_schema);
    w = asyncapi_doc_warnings(doc, &n);
    for (size_t i = 0; i < n; i++)
        if (strstr(w[i].message, "schemaFormat"))
            found++;
    ASSERT_GE(found, 1);
    asyncapi_free(doc);
}

/* ---- fixtures ---- */

TEST(loader, fixture_traits_merge)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("traits.yaml", &err, &d);
    const asyncapi_message *m;
    const asyncapi_operation *op;

    ASSERT_NOT_NULL(doc);
    m = msg_by_id(doc, "reading");
    ASSERT_NOT_NULL(m);
    /* object wins over trait; later trait wins over earlier trait */
    ASSERT_STR_EQ(m->content_type, "application/json");
    ASSERT_STR_EQ(m->summary, "from the second trait");
    ASSERT_STR_EQ(m->title, "own title");
    ASSERT_NOT_NULL(m->headers);
    op = op_by_id(doc, "readings");
    ASSERT_NOT_NULL(op);
    ASSERT_EQ(op->qos, 2);
    ASSERT_STR_EQ(op->summary, "own summary");
    ASSERT_EQ(asyncapi_channel_qos(doc, op->channel), 2);
    asyncapi_free(doc);
}

TEST(loader, fixture_recursive_schema_is_legal)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("recursive-schema.yaml", &err, &d);
    const asyncapi_message *m;
    const cJSON *kids;

    ASSERT_NOT_NULL(doc);
    m = msg_by_id(doc, "tree");
    ASSERT_NOT_NULL(m);
    kids = cJSON_GetObjectItem(cJSON_GetObjectItem(m->payload, "properties"), "children");
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(kids, "items"), "$ref")->valuestring,
                  "#/components/schemas/node");
    ASSERT_NOT_NULL(m->payload_schema);
    {
        const char *good = "{\"value\": 1, \"children\": [{\"value\": 2, \"children\": []}]}";
        const char *bad = "{\"value\": 1, \"children\": [{\"value\": \"two\"}]}";
        ASSERT_EQ(asyncapi_schema_validate_json(m->payload_schema, good, strlen(good), NULL,
                                                NULL), 0);
        ASSERT_EQ(asyncapi_schema_validate_json(m->payload_schema, bad, strlen(bad), NULL,
                                                NULL), 1);
    }
    asyncapi_free(doc);
}

TEST(loader, fixture_pointer_escapes)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("pointer-escapes.yaml", &err, &d);
    const asyncapi_message *m;

    if (!doc)
        fprintf(stderr, "  %s %s %s\n", d.file, d.pointer, d.message);
    ASSERT_NOT_NULL(doc);
    m = msg_by_id(doc, "escaped");
    ASSERT_NOT_NULL(m);
    ASSERT_STR_EQ(cJSON_GetObjectItem(m->payload, "title")->valuestring, "a/b~c d");
    asyncapi_free(doc);
}

TEST(loader, fixture_external_json_schema)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("external/main.yaml", &err, &d);
    const asyncapi_channel *ch;

    if (!doc)
        fprintf(stderr, "  %s %s %s\n", d.file, d.pointer, d.message);
    ASSERT_NOT_NULL(doc);
    ch = asyncapi_doc_channel(doc, "telemetry");
    ASSERT_NOT_NULL(ch);
    ASSERT_STR_EQ(ch->topic_filter, "site/+/dev/+/telemetry");
    ASSERT_EQ(ch->n_params, 2);
    ASSERT_STR_EQ(ch->params[0].name, "siteId");
    ASSERT_STR_EQ(ch->params[1].name, "deviceId");
    /* 3.0 parameter enum/default folded into a schema */
    ASSERT_STR_EQ(cJSON_GetObjectItem(ch->params[0].schema, "default")->valuestring, "north");
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(ch->params[0].schema, "enum")), 2);
    ASSERT_EQ(ch->n_messages, 1);
    /* ./schema.json with a ref inside the ref */
    ASSERT_NOT_NULL(cJSON_GetObjectItem(cJSON_GetObjectItem(ch->messages[0]->payload,
                                                            "properties"), "temp"));
    ASSERT_STR_EQ(ch->messages[0]->correlation_id, "$message.payload#/seq");
    asyncapi_free(doc);
}

static void expect_fail(const char *name, int code, const char *needle, const char *ptr)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture(name, &err, &d);

    if (doc) {
        asyncapi_free(doc);
        test_fail(__FILE__, __LINE__, "%s loaded but should fail", name);
        return;
    }
    if (err != code)
        test_fail(__FILE__, __LINE__, "%s: err %d (%s) vs %d; diag %s", name, err,
                  asyncapi_strerror(err), code, d.message);
    if (needle && !strstr(d.message, needle))
        test_fail(__FILE__, __LINE__, "%s: diag '%s' lacks '%s'", name, d.message, needle);
    if (ptr && strcmp(d.pointer, ptr) != 0)
        test_fail(__FILE__, __LINE__, "%s: pointer '%s' vs '%s'", name, d.pointer, ptr);
    if (!strstr(d.file, name) && !strstr(d.file, "fixtures"))
        test_fail(__FILE__, __LINE__, "%s: diag file '%s'", name, d.file);
}

TEST(loader, fixture_bad_documents)
{
    expect_fail("missing-info.yaml", ASYNCAPI_EINVAL, "missing required field 'info'", "");
    expect_fail("bad-version.yaml", ASYNCAPI_EVERSION, "unsupported asyncapi version '1.2.0'",
                "/asyncapi");
    expect_fail("no-version.yaml", ASYNCAPI_EINVAL, "'asyncapi'", "");
    expect_fail("ref-missing.yaml", ASYNCAPI_EREF, "$ref '#/components/schemas/x' not found",
                NULL);
    expect_fail("ref-self.yaml", ASYNCAPI_EREF, "loops", NULL);
    expect_fail("ref-loop.yaml", ASYNCAPI_EREF, "loops", NULL);
    expect_fail("ref-missing-file.yaml", ASYNCAPI_EREF, "nope.yaml", NULL);
    expect_fail("bad-yaml.yaml", ASYNCAPI_ESYNTAX, NULL, NULL);
    expect_fail("alias-bomb.yaml", ASYNCAPI_ELIMIT, "nodes", NULL);
    expect_fail("deep.yaml", ASYNCAPI_ELIMIT, "deeper", NULL);
    expect_fail("duplicate-key.yaml", ASYNCAPI_ESYNTAX, "duplicate key 'title'", NULL);
    expect_fail("bad-action.yaml", ASYNCAPI_EINVAL, "action", "/operations/op");
    expect_fail("not-a-mapping.yaml", ASYNCAPI_EINVAL, "mapping", NULL);
    expect_fail("does-not-exist.yaml", ASYNCAPI_EIO, "cannot open", NULL);
}

TEST(loader, syntax_error_position)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("bad-yaml.yaml", &err, &d);

    ASSERT_NULL(doc);
    ASSERT_EQ(err, ASYNCAPI_ESYNTAX);
    ASSERT_STR_CONTAINS(d.file, "bad-yaml.yaml");
    /* libyaml notices the unclosed '[' of line 4 on line 5 */
    ASSERT_EQ(d.line, 5);
    ASSERT_GT(d.column, 0);
    ASSERT_STR_CONTAINS(d.message, "flow sequence started at 4:");
}

TEST(loader, ref_error_names_file_and_pointer)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("ref-missing.yaml", &err, &d);

    ASSERT_NULL(doc);
    ASSERT_STR_CONTAINS(d.file, "ref-missing.yaml");
    ASSERT_STR_EQ(d.pointer, "/channels/a/messages/m/payload");
}

TEST(loader, address_mqtt_cannot_carry_is_a_warning)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("odd-address.yaml", &err, &d);
    const asyncapi_channel *ch;
    const asyncapi_warning *w;
    size_t n, found = 0;

    ASSERT_NOT_NULL(doc);
    ch = asyncapi_doc_channel(doc, "wild");
    ASSERT_NOT_NULL(ch);
    ASSERT_NULL(ch->topic_filter);
    ch = asyncapi_doc_channel(doc, "nulladdr");
    ASSERT_NOT_NULL(ch);
    ASSERT_NULL(ch->address);
    ASSERT_NULL(ch->topic_filter);
    w = asyncapi_doc_warnings(doc, &n);
    for (size_t i = 0; i < n; i++)
        if (strstr(w[i].message, "cannot be an MQTT topic filter"))
            found++;
    ASSERT_EQ(found, 1);
    asyncapi_free(doc);
}

TEST(loader, null_and_free_null)
{
    int err = 0;

    asyncapi_free(NULL);
    ASSERT_NULL(asyncapi_load(NULL, NULL, &err, NULL));
    ASSERT_EQ(err, ASYNCAPI_EIO);
}

TEST(loader, json_document_loads)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("simple.json", &err, &d);

    if (!doc)
        fprintf(stderr, "  %s %d:%d %s\n", d.file, d.line, d.column, d.message);
    ASSERT_NOT_NULL(doc);
    ASSERT_STR_EQ(asyncapi_doc_info(doc)->title, "JSON doc");
    ASSERT_NOT_NULL(asyncapi_doc_channel(doc, "a/{x}"));
    asyncapi_free(doc);
}

TEST(loader, bad_schema_fails_the_load)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("bad-schema.yaml", &err, &d);

    ASSERT_NULL(doc);
    ASSERT_EQ(err, ASYNCAPI_EINVAL);
    ASSERT_STR_CONTAINS(d.pointer, "/channels/a/messages/m/payload");
    ASSERT_STR_CONTAINS(d.message, "payload schema");
}

TEST(loader, ref_bomb_is_a_limit)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("ref-bomb.yaml", &err, &d);

    ASSERT_NULL(doc);
    ASSERT_EQ(err, ASYNCAPI_ELIMIT);
    ASSERT_STR_CONTAINS(d.message, "more than");
}

TEST(loader, compiled_payload_validates_through_external_refs)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("external/main.yaml", &err, &d);
    const asyncapi_schema *s;
    const char *good = "{\"seq\": 1, \"temp\": 21.5}";
    const char *bad = "{\"seq\": 1, \"temp\": 99}";

    ASSERT_NOT_NULL(doc);
    s = asyncapi_doc_channel(doc, "telemetry")->messages[0]->payload_schema;
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(asyncapi_schema_validate_json(s, good, strlen(good), NULL, NULL), 0);
    ASSERT_EQ(asyncapi_schema_validate_json(s, bad, strlen(bad), NULL, NULL), 1);
    asyncapi_free(doc);
}

TEST(loader, recursive_schema_in_other_file)
{
    asyncapi_diag d;
    int err = 0;
    asyncapi_doc *doc = fixture("external/recursive-main.yaml", &err, &d);
    const asyncapi_channel *ch;
    const cJSON *next;
    const char *good = "{\"value\": 1, \"next\": {\"value\": 2, \"next\": {\"value\": 3}}}";
    const char *bad = "{\"value\": 1, \"next\": {\"value\": 2, \"next\": {\"value\": \"x\"}}}";

    if (!doc)
        fprintf(stderr, "  %s %s %s\n", d.file, d.pointer, d.message);
    ASSERT_NOT_NULL(doc);
    ch = asyncapi_doc_channel(doc, "lists/{listId}");
    ASSERT_NOT_NULL(ch);
    ASSERT_EQ(ch->n_messages, 1);
    next = cJSON_GetObjectItem(cJSON_GetObjectItem(ch->messages[0]->payload, "properties"),
                               "next");
    ASSERT_STR_CONTAINS(cJSON_GetObjectItem(next, "$ref")->valuestring, "file://");
    ASSERT_STR_CONTAINS(cJSON_GetObjectItem(next, "$ref")->valuestring, "list.yaml#/node");
    ASSERT_NOT_NULL(ch->messages[0]->payload_schema);
    ASSERT_EQ(asyncapi_schema_validate_json(ch->messages[0]->payload_schema, good, strlen(good),
                                            NULL, NULL), 0);
    ASSERT_EQ(asyncapi_schema_validate_json(ch->messages[0]->payload_schema, bad, strlen(bad),
                                            NULL, NULL), 1);
    asyncapi_free(doc);
}
