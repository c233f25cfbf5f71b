/* SPDX-License-Identifier: MIT */
/*
 * The OpenAPI 3.1 document served at /openapi.json, generated from the
 * route table (http_router.c) so paths, parameters and routes cannot drift
 * apart; response schemas are written out here. Built once at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

static cJSON *obj(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_CreateObject();

    if (o && parent && !cJSON_AddItemToObject(parent, key, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *ref(const char *name)
{
    char buf[128];
    cJSON *o = cJSON_CreateObject();

    snprintf(buf, sizeof(buf), "#/components/schemas/%s", name);
    cJSON_AddStringToObject(o, "$ref", buf);
    return o;
}

static void add_param(cJSON *arr, const bridge_param_spec *p)
{
    cJSON *o = cJSON_CreateObject(), *schema;

    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "in", p->in_path ? "path" : "query");
    cJSON_AddBoolToObject(o, "required", p->in_path);
    if (p->description)
        cJSON_AddStringToObject(o, "description", p->description);
    schema = obj(o, "schema");
    switch (p->type) {
    case BRIDGE_PARAM_INT:
        cJSON_AddStringToObject(schema, "type", "integer");
        cJSON_AddNumberToObject(schema, "minimum", 1);
        cJSON_AddNumberToObject(schema, "maximum", 1000);
        cJSON_AddNumberToObject(schema, "default", 100);
        break;
    case BRIDGE_PARAM_SEQ:
        cJSON_AddStringToObject(schema, "type", "integer");
        cJSON_AddNumberToObject(schema, "minimum", 0);
        break;
    case BRIDGE_PARAM_TIME:
        cJSON_AddStringToObject(schema, "type", "string");
        cJSON_AddStringToObject(schema, "description",
                                "RFC 3339 date-time or integer epoch milliseconds");
        break;
    case BRIDGE_PARAM_ENUM: {
        cJSON *e = cJSON_AddArrayToObject(schema, "enum");

        cJSON_AddStringToObject(schema, "type", "string");
        for (const char *const *v = p->enum_values; v && *v; v++)
            cJSON_AddItemToArray(e, cJSON_CreateString(*v));
        break;
    }
    default:
        cJSON_AddStringToObject(schema, "type", "string");
    }
    cJSON_AddItemToArray(arr, o);
}

static void add_error_response(cJSON *responses, const char *code, const char *desc)
{
    cJSON *r = obj(responses, code), *c = obj(r, "content"), *j = obj(c, "application/json");

    cJSON_AddStringToObject(r, "description", desc);
    cJSON_AddItemToObject(j, "schema", ref("Error"));
}

static cJSON *add_operation(cJSON *paths, const bridge_route *r)
{
    cJSON *path = cJSON_GetObjectItemCaseSensitive(paths, r->pattern), *get, *params,
          *responses, *ok;

    if (!path)
        path = obj(paths, r->pattern);
    get = obj(path, "get");
    cJSON_AddStringToObject(get, "operationId", r->name);
    cJSON_AddStringToObject(get, "summary", r->summary);
    params = cJSON_AddArrayToObject(get, "parameters");
    for (const bridge_param_spec *p = r->params; p && p->name; p++)
        add_param(params, p);
    if (r->kind == BRIDGE_ROUTE_WS) {
        cJSON *h = cJSON_CreateObject();

        cJSON_AddStringToObject(h, "name", "Upgrade");
        cJSON_AddStringToObject(h, "in", "header");
        cJSON_AddBoolToObject(h, "required", 1);
        cJSON_AddItemToObject(h, "schema", cJSON_Parse("{\"type\":\"string\",\"enum\":[\"websocket\"]}"));
        cJSON_AddItemToArray(params, h);
    }
    if (r->kind == BRIDGE_ROUTE_SSE) {
        cJSON *h = cJSON_CreateObject();

        cJSON_AddStringToObject(h, "name", "Last-Event-ID");
        cJSON_AddStringToObject(h, "in", "header");
        cJSON_AddBoolToObject(h, "required", 0);
        cJSON_AddStringToObject(h, "description", "resume after this event seq (as since)");
        cJSON_AddItemToObject(h, "schema", cJSON_Parse("{\"type\":\"string\"}"));
        cJSON_AddItemToArray(params, h);
    }
    responses = obj(get, "responses");
    if (r->kind == BRIDGE_ROUTE_WS) {
        ok = obj(responses, "101");
        cJSON_AddStringToObject(ok, "description",
                                "switching to WebSocket; messages in /asyncapi/live.yaml");
        add_error_response(responses, "426", "not a WebSocket upgrade request");
    } else {
        cJSON *content, *media;

        ok = obj(responses, "200");
        cJSON_AddStringToObject(ok, "description", r->summary);
        content = obj(ok, "content");
        media = obj(content, r->content_type ? r->content_type : "application/json");
        if (r->schema)
            cJSON_AddItemToObject(media, "schema", ref(r->schema));
        else if (r->kind == BRIDGE_ROUTE_JSON)
            cJSON_AddItemToObject(media, "schema", cJSON_Parse("{\"type\":\"object\"}"));
        else
            cJSON_AddItemToObject(media, "schema", cJSON_Parse("{\"type\":\"string\"}"));
    }
    if (r->params && r->params->name)
        add_error_response(responses, "400", "bad parameter");
    add_error_response(responses, "404", "no such resource");
    add_error_response(responses, "405", "method not allowed (only GET; see the Allow header)");
    if (strcmp(r->name, "getReady") == 0) {
        cJSON *nr = obj(responses, "503"), *c = obj(nr, "content"), *j = obj(c, "application/json");

        cJSON_AddStringToObject(nr, "description", "not ready");
        cJSON_AddItemToObject(j, "schema", ref("Health"));
    } else if (r->kind == BRIDGE_ROUTE_JSON && strncmp(r->pattern, "/api/", 5) == 0) {
        add_error_response(responses, "503", "store busy, retry");
    }
    return get;
}

/* Response schemas, as JSON text (compact and readable in one place). */
static const char *const schemas_json[] = {
    "{",
    "\"Error\":{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{",
    "\"type\":\"object\",\"required\":[\"code\",\"message\",\"parameter\"],\"properties\":{",
    "\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"},",
    "\"parameter\":{\"type\":[\"string\",\"null\"]}}}}},",
    "\"Event\":{\"type\":\"object\",\"required\":[\"seq\",\"channel\",\"payload\",\"received_at\"],",
    "\"properties\":{\"seq\":{\"type\":\"integer\"},\"channel\":{\"type\":\"string\"},",
    "\"message\":{\"type\":[\"string\",\"null\"]},\"device\":{\"type\":[\"string\",\"null\"]},",
    "\"topic\":{\"type\":\"string\"},\"params\":{\"type\":\"object\"},\"payload\":{},",
    "\"correlation_id\":{\"type\":[\"string\",\"null\"]},",
    "\"received_at\":{\"type\":\"string\",\"format\":\"date-time\"}}},",
    "\"EventList\":{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\",\"as_of_seq\"],",
    "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Event\"}},",
    "\"next_cursor\":{\"type\":[\"string\",\"null\"]},\"next_after\":{\"type\":\"integer\"},",
    "\"as_of_seq\":{\"type\":\"integer\"}}},",
    "\"Device\":{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{",
    "\"id\":{\"type\":\"string\"},\"status\":{\"type\":[\"string\",\"null\"]},",
    "\"first_seen\":{\"type\":\"string\",\"format\":\"date-time\"},",
    "\"last_seen\":{\"type\":\"string\",\"format\":\"date-time\"},",
    "\"events\":{\"type\":\"integer\"},\"last_seq\":{\"type\":\"integer\"}}},",
    "\"DeviceList\":{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\",\"as_of_seq\"],",
    "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Device\"}},",
    "\"next_cursor\":{\"type\":[\"string\",\"null\"]},\"as_of_seq\":{\"type\":\"integer\"}}},",
    "\"DeviceDetail\":{\"allOf\":[{\"$ref\":\"#/components/schemas/Device\"},{\"type\":\"object\",",
    "\"properties\":{\"state\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{",
    "\"channel\":{\"type\":\"string\"},\"message\":{\"type\":[\"string\",\"null\"]},",
    "\"seq\":{\"type\":\"integer\"},\"received_at\":{\"type\":\"string\",\"format\":\"date-time\"},",
    "\"payload\":{}}}},\"as_of_seq\":{\"type\":\"integer\"}}}]},",
    "\"Series\":{\"type\":\"object\",\"required\":[\"items\",\"as_of_seq\"],\"properties\":{",
    "\"device\":{\"type\":\"string\"},\"channel\":{\"type\":\"string\"},\"field\":{\"type\":\"string\"},",
    "\"bucket\":{\"type\":\"string\"},\"bucket_ms\":{\"type\":\"integer\"},",
    "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{",
    "\"start\":{\"type\":\"string\",\"format\":\"date-time\"},\"start_ms\":{\"type\":\"integer\"},",
    "\"count\":{\"type\":\"integer\"},\"min\":{\"type\":\"number\"},\"max\":{\"type\":\"number\"},",
    "\"avg\":{\"type\":\"number\"}}}},\"truncated\":{\"type\":\"boolean\"},",
    "\"as_of_seq\":{\"type\":\"integer\"}}},",
    "\"Channel\":{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{",
    "\"id\":{\"type\":\"string\"},\"address\":{\"type\":[\"string\",\"null\"]},",
    "\"topic_filter\":{\"type\":[\"string\",\"null\"]},\"description\":{\"type\":[\"string\",\"null\"]},",
    "\"receives\":{\"type\":\"boolean\"},\"parameters\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},",
    "\"messages\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},",
    "\"counts\":{\"type\":\"object\",\"properties\":{\"events\":{\"type\":\"integer\"},",
    "\"dead_letters\":{\"type\":\"integer\"},\"last_seq\":{\"type\":\"integer\"},",
    "\"last_event_at\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}}}}},",
    "\"ChannelList\":{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\",\"as_of_seq\"],",
    "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Channel\"}},",
    "\"next_cursor\":{\"type\":\"null\"},\"as_of_seq\":{\"type\":\"integer\"}}},",
    "\"DeadLetter\":{\"type\":\"object\",\"required\":[\"id\",\"topic\",\"reason\"],\"properties\":{",
    "\"id\":{\"type\":\"integer\"},\"topic\":{\"type\":\"string\"},",
    "\"channel\":{\"type\":[\"string\",\"null\"]},\"kind\":{\"type\":[\"string\",\"null\"]},",
    "\"payload_bytes\":{\"type\":\"integer\"},\"reason\":{\"type\":\"object\"},",
    "\"received_at\":{\"type\":\"string\",\"format\":\"date-time\"}}},",
    "\"DeadLetterList\":{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\",\"as_of_seq\"],",
    "\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/DeadLetter\"}},",
    "\"next_cursor\":{\"type\":[\"string\",\"null\"]},\"as_of_seq\":{\"type\":\"integer\"}}},",
    "\"DeadLetterDetail\":{\"allOf\":[{\"$ref\":\"#/components/schemas/DeadLetter\"},{\"type\":\"object\",",
    "\"properties\":{\"payload_encoding\":{\"type\":\"string\",\"enum\":[\"utf-8\",\"base64\"]},",
    "\"payload\":{\"type\":\"string\"},\"as_of_seq\":{\"type\":\"integer\"}}}]},",
    "\"Stats\":{\"type\":\"object\",\"properties\":{\"events\":{\"type\":\"integer\"},",
    "\"dead_letters\":{\"type\":\"integer\"},\"devices\":{\"type\":\"integer\"},",
    "\"last_seq\":{\"type\":\"integer\"},\"projected_seq\":{\"type\":\"integer\"},",
    "\"projection_lag\":{\"type\":\"integer\"},\"rate_window_s\":{\"type\":\"integer\"},",
    "\"channels\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{",
    "\"channel\":{\"type\":\"string\"},\"events_last_minute\":{\"type\":\"integer\"},",
    "\"per_second\":{\"type\":\"number\"}}}},\"as_of_seq\":{\"type\":\"integer\"}}},",
    "\"Health\":{\"type\":\"object\",\"required\":[\"status\"],\"properties\":{",
    "\"status\":{\"type\":\"string\"},\"checks\":{\"type\":\"object\"},",
    "\"reason\":{\"type\":[\"string\",\"null\"]}}}",
    "}",
    NULL,
};

char *bridge_openapi_build(const asyncapi_doc *doc, size_t *len)
{
    const asyncapi_info *ai = asyncapi_doc_info(doc);
    cJSON *root = cJSON_CreateObject(), *info, *paths, *comp, *schemas;
    char *out = NULL, title[256];

    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "openapi", "3.1.0");
    info = obj(root, "info");
    snprintf(title, sizeof(title), "%s - asyncbridge read API",
             ai && ai->title ? ai->title : "asyncbridge");
    cJSON_AddStringToObject(info, "title", title);
    cJSON_AddStringToObject(info, "version", ai && ai->version ? ai->version : "0");
    cJSON_AddStringToObject(info, "description",
                            "Read side of the bridge: devices, events, channels, dead letters, "
                            "rollups and stats from the event store, plus live push. Every list "
                            "returns {items, next_cursor, as_of_seq}; errors are "
                            "{\"error\":{\"code\",\"message\",\"parameter\"}}.");
    paths = obj(root, "paths");
    for (const bridge_route *r = bridge_routes; r->pattern; r++)
        add_operation(paths, r);
    comp = obj(root, "components");
    {
        size_t n = 1;
        char *text, *p;

        for (const char *const *s = schemas_json; *s; s++)
            n += strlen(*s);
        text = malloc(n);
        if (text) {
            p = text;
            for (const char *const *s = schemas_json; *s; s++) {
                size_t k = strlen(*s);

                memcpy(p, *s, k);
                p += k;
            }
            *p = '\0';
        }
        schemas = text ? cJSON_Parse(text) : NULL;
        free(text);
    }
    if (comp && schemas)
        cJSON_AddItemToObject(comp, "schemas", schemas);
    else
        cJSON_Delete(schemas);
    if (comp && schemas)
        out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (out && len)
        *len = strlen(out);
    return out;
}
