/* SPDX-License-Identifier: MIT */
/*
 * `asyncbridge lint SPEC [--json]`: loads an AsyncAPI document and prints
 * what the bridge makes of it (servers, channels with their MQTT topic
 * filters, parameters, operations seen from the bridge, messages, warnings).
 * Exit codes: 0 usable (warnings allowed), 1 bad spec, 2 usage/unreadable.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/router.h"
#include "cli.h"

/* A warning found by lint itself (on top of the loader's), owned texts. */
typedef struct lint_warning {
    char pointer[256]; /* where, JSON pointer */
    char message[384]; /* what */
} lint_warning;

#define LINT_MAX_OWN_WARNINGS 256

typedef struct lint_ctx {
    const asyncapi_doc *doc;                      /* the loaded spec */
    lint_warning own[LINT_MAX_OWN_WARNINGS];      /* lint's own warnings */
    size_t n_own;                                 /* used entries of own */
    size_t n_own_dropped;                         /* more than fit */
} lint_ctx;

static void lint_usage(FILE *out)
{
    fprintf(out,
            "usage: asyncbridge lint [--json] SPEC\n"
            "\n"
            "Loads the AsyncAPI document SPEC (2.0-2.6 or 3.0, YAML or JSON, $refs\n"
            "into other files followed) and prints a summary: servers, each channel\n"
            "with its address, MQTT topic filter, parameters, operations (direction\n"
            "from the bridge's point of view) and messages, then warnings.\n"
            "\n"
            "options:\n"
            "  --json         print the summary (or the error) as one JSON object\n"
            "  -h, --help     show this help\n"
            "  -V, --version  print the version\n"
            "\n"
            "exit status: 0 usable document (warnings allowed), 1 invalid document\n"
            "(syntax, structure, $ref, version), 2 usage error or unreadable file.\n");
}

/* Escapes one JSON pointer token ("a/b" -> "a~1b") into buf; 0 or -1 if too long. */
static int pointer_token(char *buf, size_t size, const char *prefix, const char *token)
{
    size_t o;
    int n = snprintf(buf, size, "%s/", prefix);

    if (n < 0 || (size_t)n >= size)
        return -1;
    o = (size_t)n;
    for (const char *p = token; *p; p++) {
        const char *rep = *p == '~' ? "~0" : *p == '/' ? "~1" : NULL;
        size_t need = rep ? 2 : 1;

        if (o + need >= size)
            return -1;
        if (rep) {
            memcpy(buf + o, rep, 2);
        } else {
            buf[o] = *p;
        }
        o += need;
    }
    buf[o] = '\0';
    return 0;
}

static void lint_warn(lint_ctx *c, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void lint_warn(lint_ctx *c, const char *pointer, const char *fmt, ...)
{
    lint_warning *w;
    va_list ap;

    if (c->n_own == LINT_MAX_OWN_WARNINGS) {
        c->n_own_dropped++;
        return;
    }
    w = &c->own[c->n_own++];
    snprintf(w->pointer, sizeof(w->pointer), "%s", pointer);
    va_start(ap, fmt);
    /* Truncation of a warning text is acceptable: it stays readable. */
    vsnprintf(w->message, sizeof(w->message), fmt, ap);
    va_end(ap);
}

/*
 * Lint's own checks: an MQTT server, channels the bridge cannot route
 * (no address, address MQTT cannot carry, two channels with one shape).
 * Returns 0 or -1 when out of memory.
 */
static int lint_checks(lint_ctx *c)
{
    size_t n_servers, n_channels, n_ops;
    const asyncapi_server *servers = asyncapi_doc_servers(c->doc, &n_servers);
    const asyncapi_channel *chans = asyncapi_doc_channels(c->doc, &n_channels);
    const asyncapi_operation *ops = asyncapi_doc_operations(c->doc, &n_ops);
    asyncapi_router *r;
    int have_mqtt = 0, receives = 0;
    char ptr[256];

    for (size_t i = 0; i < n_servers; i++)
        have_mqtt |= servers[i].is_mqtt;
    if (!have_mqtt)
        lint_warn(c, "/servers",
                  n_servers ? "no mqtt server: the bridge needs its broker from the command line"
                            : "no servers: the bridge needs its broker from the command line");
    for (size_t i = 0; i < n_ops; i++)
        receives |= ops[i].action == ASYNCAPI_RECEIVE;
    if (n_channels > 0 && !receives)
        lint_warn(c, "/operations",
                  "no receive operation: the bridge would subscribe to nothing");

    r = asyncapi_router_new();
    if (!r)
        return -1;
    for (size_t i = 0; i < n_channels; i++) {
        const asyncapi_channel *ch = &chans[i];
        int rc;

        if (pointer_token(ptr, sizeof(ptr), "/channels", ch->id) != 0)
            snprintf(ptr, sizeof(ptr), "/channels");
        if (!ch->address) {
            lint_warn(c, ptr, "channel '%s' has no address: not routable", ch->id);
            continue;
        }
        rc = asyncapi_router_add(r, ch->address, (void *)ch);
        if (rc == ASYNCAPI_EEXIST) {
            asyncapi_route_match m;
            size_t len = strlen(ch->address);

            /* Find the earlier twin: route the address itself as a topic. */
            if (asyncapi_router_match(r, ch->address, len, &m) == 0)
                lint_warn(c, ptr,
                          "address '%s' has the same shape as channel '%s': "
                          "topics go to '%s'",
                          ch->address, ((const asyncapi_channel *)m.value)->id,
                          ((const asyncapi_channel *)m.value)->id);
            else
                lint_warn(c, ptr, "address '%s' has the same shape as an earlier channel",
                          ch->address);
        } else if (rc == ASYNCAPI_EINVAL) {
            lint_warn(c, ptr,
                      "address '%s' cannot be routed over mqtt (wildcard, braces, "
                      "'$' first, or more than %d parameters)",
                      ch->address, ASYNCAPI_ROUTE_MAX_PARAMS);
        } else if (rc == ASYNCAPI_ENOMEM) {
            asyncapi_router_free(r);
            return -1;
        }
        if (ch->n_messages == 0)
            lint_warn(c, ptr, "channel '%s' has no messages: nothing to validate against",
                      ch->id);
    }
    asyncapi_router_free(r);

    {
        size_t n_msgs;
        const asyncapi_message *msgs = asyncapi_doc_messages(c->doc, &n_msgs);

        for (size_t i = 0; i < n_msgs; i++) {
            if (msgs[i].schema_format)
                lint_warn(c, "", "message '%s': schema format '%s' is not validated",
                          msgs[i].id, msgs[i].schema_format);
            else if (!msgs[i].payload)
                lint_warn(c, "", "message '%s' has no payload schema: any payload is accepted",
                          msgs[i].id);
        }
    }
    return 0;
}

/* "receives (devices publish)" / "sends (devices subscribe)". */
static const char *direction_text(asyncapi_action a)
{
    return a == ASYNCAPI_RECEIVE ? "receives (devices publish)"
                                 : "sends (devices subscribe)";
}

static const char *str_or(const char *s, const char *fallback)
{
    return s ? s : fallback;
}

static void print_text(const lint_ctx *c)
{
    const asyncapi_info *info = asyncapi_doc_info(c->doc);
    size_t n_servers, n_channels, n_ops, n_msgs, n_warn;
    const asyncapi_server *servers = asyncapi_doc_servers(c->doc, &n_servers);
    const asyncapi_channel *chans = asyncapi_doc_channels(c->doc, &n_channels);
    const asyncapi_operation *ops = asyncapi_doc_operations(c->doc, &n_ops);
    const asyncapi_warning *warns = asyncapi_doc_warnings(c->doc, &n_warn);

    (void)asyncapi_doc_messages(c->doc, &n_msgs);
    printf("%s\n", asyncapi_doc_path(c->doc));
    printf("  title:    %s\n", str_or(info->title, "(none)"));
    printf("  version:  %s\n", str_or(info->version, "(none)"));
    printf("  asyncapi: %s\n", str_or(info->asyncapi, "(none)"));
    if (info->id)
        printf("  id:       %s\n", info->id);

    printf("servers (%zu):\n", n_servers);
    for (size_t i = 0; i < n_servers; i++) {
        const asyncapi_server *s = &servers[i];

        printf("  %s: %s%s%s %s%s\n", s->id, str_or(s->protocol, "?"),
               s->protocol_version ? " " : "", str_or(s->protocol_version, ""),
               str_or(s->url, ""), s->is_mqtt ? "" : "  (not mqtt)");
    }

    printf("channels (%zu):\n", n_channels);
    for (size_t i = 0; i < n_channels; i++) {
        const asyncapi_channel *ch = &chans[i];

        printf("  %s\n", ch->id);
        printf("    address:    %s\n", str_or(ch->address, "(null)"));
        printf("    mqtt topic: %s\n", str_or(ch->topic_filter, "(none)"));
        if (ch->n_params) {
            printf("    parameters:");
            for (size_t k = 0; k < ch->n_params; k++)
                printf("%s %s", k ? "," : "", ch->params[k].name);
            printf("\n");
        }
        for (size_t k = 0; k < n_ops; k++) {
            const asyncapi_operation *op = &ops[k];

            if (op->channel != ch)
                continue;
            printf("    operation:  %s: bridge %s", op->id, direction_text(op->action));
            if (op->action_word)
                printf(", written '%s'", op->action_word);
            if (op->qos >= 0)
                printf(", qos %d", op->qos);
            printf("\n");
        }
        if (ch->n_messages) {
            printf("    messages:  ");
            for (size_t k = 0; k < ch->n_messages; k++)
                printf("%s %s", k ? "," : "", ch->messages[k]->id);
            printf("\n");
        }
    }

    if (n_warn + c->n_own) {
        printf("warnings (%zu):\n", n_warn + c->n_own + c->n_own_dropped);
        for (size_t i = 0; i < n_warn; i++)
            printf("  warning: %s%s%s\n", warns[i].pointer[0] ? warns[i].pointer : "",
                   warns[i].pointer[0] ? ": " : "", warns[i].message);
        for (size_t i = 0; i < c->n_own; i++)
            printf("  warning: %s%s%s\n", c->own[i].pointer,
                   c->own[i].pointer[0] ? ": " : "", c->own[i].message);
        if (c->n_own_dropped)
            printf("  ... and %zu more\n", c->n_own_dropped);
    }
    printf("ok: %zu channel%s, %zu operation%s, %zu message%s, %zu warning%s\n",
           n_channels, n_channels == 1 ? "" : "s", n_ops, n_ops == 1 ? "" : "s",
           n_msgs, n_msgs == 1 ? "" : "s", n_warn + c->n_own + c->n_own_dropped,
           n_warn + c->n_own + c->n_own_dropped == 1 ? "" : "s");
}

/* cJSON string or null. NULL on allocation failure is caught by the final print. */
static cJSON *str_json(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Builds the --json summary; NULL when out of memory. */
static cJSON *summary_json(const lint_ctx *c)
{
    const asyncapi_info *info = asyncapi_doc_info(c->doc);
    size_t n_servers, n_channels, n_ops, n_msgs, n_warn;
    const asyncapi_server *servers = asyncapi_doc_servers(c->doc, &n_servers);
    const asyncapi_channel *chans = asyncapi_doc_channels(c->doc, &n_channels);
    const asyncapi_operation *ops = asyncapi_doc_operations(c->doc, &n_ops);
    const asyncapi_message *msgs = asyncapi_doc_messages(c->doc, &n_msgs);
    const asyncapi_warning *warns = asyncapi_doc_warnings(c->doc, &n_warn);
    cJSON *root = cJSON_CreateObject(), *arr;

    if (!root)
        return NULL;
    cJSON_AddBoolToObject(root, "ok", 1);
    cJSON_AddItemToObject(root, "file", str_json(asyncapi_doc_path(c->doc)));
    cJSON_AddItemToObject(root, "asyncapi", str_json(info->asyncapi));
    cJSON_AddItemToObject(root, "id", str_json(info->id));
    cJSON_AddItemToObject(root, "title", str_json(info->title));
    cJSON_AddItemToObject(root, "version", str_json(info->version));

    arr = cJSON_AddArrayToObject(root, "servers");
    for (size_t i = 0; arr && i < n_servers; i++) {
        cJSON *o = cJSON_CreateObject();

        if (!o)
            break;
        cJSON_AddItemToArray(arr, o);
        cJSON_AddItemToObject(o, "id", str_json(servers[i].id));
        cJSON_AddItemToObject(o, "url", str_json(servers[i].url));
        cJSON_AddItemToObject(o, "protocol", str_json(servers[i].protocol));
        cJSON_AddItemToObject(o, "protocolVersion", str_json(servers[i].protocol_version));
        cJSON_AddBoolToObject(o, "mqtt", servers[i].is_mqtt);
    }

    arr = cJSON_AddArrayToObject(root, "channels");
    for (size_t i = 0; arr && i < n_channels; i++) {
        const asyncapi_channel *ch = &chans[i];
        cJSON *o = cJSON_CreateObject(), *sub;

        if (!o)
            break;
        cJSON_AddItemToArray(arr, o);
        cJSON_AddItemToObject(o, "id", str_json(ch->id));
        cJSON_AddItemToObject(o, "address", str_json(ch->address));
        cJSON_AddItemToObject(o, "topicFilter", str_json(ch->topic_filter));
        sub = cJSON_AddArrayToObject(o, "parameters");
        for (size_t k = 0; sub && k < ch->n_params; k++)
            cJSON_AddItemToArray(sub, str_json(ch->params[k].name));
        sub = cJSON_AddArrayToObject(o, "operations");
        for (size_t k = 0; sub && k < n_ops; k++) {
            cJSON *op;

            if (ops[k].channel != ch || !(op = cJSON_CreateObject()))
                continue;
            cJSON_AddItemToArray(sub, op);
            cJSON_AddItemToObject(op, "id", str_json(ops[k].id));
            cJSON_AddItemToObject(op, "action", str_json(ops[k].action == ASYNCAPI_RECEIVE
                                                             ? "receive" : "send"));
            cJSON_AddItemToObject(op, "written", str_json(ops[k].action_word));
            if (ops[k].qos >= 0)
                cJSON_AddNumberToObject(op, "qos", ops[k].qos);
            else
                cJSON_AddNullToObject(op, "qos");
        }
        sub = cJSON_AddArrayToObject(o, "messages");
        for (size_t k = 0; sub && k < ch->n_messages; k++)
            cJSON_AddItemToArray(sub, str_json(ch->messages[k]->id));
    }

    arr = cJSON_AddArrayToObject(root, "messages");
    for (size_t i = 0; arr && i < n_msgs; i++)
        cJSON_AddItemToArray(arr, str_json(msgs[i].id));

    arr = cJSON_AddArrayToObject(root, "warnings");
    for (size_t i = 0; arr && i < n_warn + c->n_own; i++) {
        cJSON *o = cJSON_CreateObject();

        if (!o)
            break;
        cJSON_AddItemToArray(arr, o);
        cJSON_AddItemToObject(o, "pointer", str_json(i < n_warn ? warns[i].pointer
                                                                 : c->own[i - n_warn].pointer));
        cJSON_AddItemToObject(o, "message", str_json(i < n_warn ? warns[i].message
                                                                 : c->own[i - n_warn].message));
    }
    return root;
}

static const char *err_name(int err)
{
    switch (err) {
    case ASYNCAPI_ENOMEM: return "ENOMEM";
    case ASYNCAPI_EIO: return "EIO";
    case ASYNCAPI_ESYNTAX: return "ESYNTAX";
    case ASYNCAPI_ELIMIT: return "ELIMIT";
    case ASYNCAPI_EINVAL: return "EINVAL";
    case ASYNCAPI_EREF: return "EREF";
    case ASYNCAPI_EVERSION: return "EVERSION";
    }
    return "EUNKNOWN";
}

/* Prints a load failure: "FILE:LINE:COL: what: message" or "FILE: at POINTER: ...". */
static void print_load_error(const char *path, int err, const asyncapi_diag *d, int json)
{
    const char *file = d->file[0] ? d->file : path;
    const char *msg = d->message[0] ? d->message : asyncapi_strerror(err);

    if (json) {
        cJSON *root = cJSON_CreateObject(), *e;
        char *text = NULL;

        if (root && (e = cJSON_AddObjectToObject(root, "error"))) {
            cJSON_AddBoolToObject(root, "ok", 0);
            cJSON_AddStringToObject(e, "code", err_name(err));
            cJSON_AddStringToObject(e, "file", file);
            cJSON_AddNumberToObject(e, "line", d->line);
            cJSON_AddNumberToObject(e, "column", d->column);
            cJSON_AddStringToObject(e, "pointer", d->pointer);
            cJSON_AddStringToObject(e, "message", msg);
            text = cJSON_Print(root);
        }
        if (text)
            printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(root);
    }
    if (d->line > 0)
        bridge_errorf("lint: %s:%d:%d: %s: %s", file, d->line, d->column,
                      asyncapi_strerror(err), msg);
    else if (d->pointer[0] || (err != ASYNCAPI_EIO && err != ASYNCAPI_ESYNTAX &&
                               err != ASYNCAPI_ENOMEM))
        bridge_errorf("lint: %s: at '%s': %s: %s", file, d->pointer[0] ? d->pointer : "#",
                      asyncapi_strerror(err), msg);
    else
        bridge_errorf("lint: %s: %s: %s", file, asyncapi_strerror(err), msg);
}

int bridge_cmd_lint(int argc, char **argv)
{
    const char *spec = NULL;
    int json = 0, only_args = 0, err = 0, rc = 2;
    asyncapi_diag diag;
    lint_ctx *c = NULL;
    asyncapi_doc *doc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!only_args && bridge_is_help(a)) {
            lint_usage(stdout);
            return 0;
        } else if (!only_args && (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)) {
            printf("asyncbridge %s\n", ASYNCBRIDGE_VERSION);
            return 0;
        } else if (!only_args && strcmp(a, "--json") == 0) {
            json = 1;
        } else if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1;
        } else if (!only_args && a[0] == '-' && a[1] != '\0') {
            bridge_errorf("lint: unknown option '%s'", a);
            lint_usage(stderr);
            return 2;
        } else if (!spec) {
            spec = a;
        } else {
            bridge_errorf("lint: too many arguments ('%s')", a);
            lint_usage(stderr);
            return 2;
        }
    }
    if (!spec) {
        bridge_errorf("lint: missing SPEC");
        lint_usage(stderr);
        return 2;
    }

    memset(&diag, 0, sizeof(diag));
    doc = asyncapi_load(spec, NULL, &err, &diag);
    if (!doc) {
        print_load_error(spec, err, &diag, json);
        return err == ASYNCAPI_EIO || err == ASYNCAPI_ENOMEM ? 2 : 1;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        bridge_errorf("lint: out of memory");
        goto done;
    }
    c->doc = doc;
    if (lint_checks(c) != 0) {
        bridge_errorf("lint: out of memory");
        goto done;
    }
    if (json) {
        cJSON *root = summary_json(c);
        char *text = root ? cJSON_Print(root) : NULL;

        cJSON_Delete(root);
        if (!text) {
            bridge_errorf("lint: out of memory");
            goto done;
        }
        printf("%s\n", text);
        cJSON_free(text);
    } else {
        print_text(c);
    }
    rc = 0;
done:
    free(c);
    asyncapi_free(doc);
    return rc;
}
