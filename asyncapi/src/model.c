/* SPDX-License-Identifier: MIT */
/*
 * Builds the version-independent model (asyncapi.h) from the resolved tree:
 * info, servers, channels with parameters in address order, messages (one
 * record per distinct raw message, shared by channels and operations),
 * operations with the application's direction, and compiled schemas.
 * Design notes: docs/asyncapi.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "asyncapi_int.h"

/*
 * snprintf that reports truncation: pointers and ids longer than the
 * buffers are ELIMIT rather than silently cut.
 */
static int pfmt(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pfmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= size ? ASYNCAPI_ELIMIT : 0;
}

typedef struct mctx {
    asyncapi_doc *doc;
    asyncapi_diag *diag;
    const char *file;
} mctx;

static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *item(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static void ptr2(char *buf, size_t size, const char *a, const char *b)
{
    buf[0] = '\0';
    asyncapi__pointer_append(buf, size, a);
    if (b)
        asyncapi__pointer_append(buf, size, b);
}

static int invalid(mctx *m, const char *pointer, const char *what)
{
    asyncapi__diag_set(m->diag, m->file, 0, 0, pointer, "%s", what);
    return ASYNCAPI_EINVAL;
}

/* ---- info ---- */

static int build_info(mctx *m)
{
    asyncapi_doc *doc = m->doc;
    const cJSON *info = item(doc->root, "info");

    if (!info)
        return invalid(m, "", "missing required field 'info'");
    if (!cJSON_IsObject(info))
        return invalid(m, "/info", "'info' must be an object");
    doc->info.node = info;
    doc->info.title = str_of(info, "title");
    doc->info.version = str_of(info, "version");
    doc->info.description = str_of(info, "description");
    doc->info.id = str_of(doc->root, "id");
    doc->info.default_content_type = str_of(doc->root, "defaultContentType");
    if (!doc->info.title)
        return invalid(m, "/info", "missing required field 'title' (a string)");
    if (!doc->info.version)
        return invalid(m, "/info", "missing required field 'version' (a string)");
    return 0;
}

/* ---- servers ---- */

static int build_servers(mctx *m)
{
    asyncapi_doc *doc = m->doc;
    const cJSON *servers = item(doc->root, "servers");
    char p[512];
    int rc;

    if (!servers)
        return 0;
    if (!cJSON_IsObject(servers))
        return invalid(m, "/servers", "'servers' must be an object");
    doc->servers = calloc((size_t)cJSON_GetArraySize(servers) + 1, sizeof(*doc->servers));
    if (!doc->servers)
        return ASYNCAPI_ENOMEM;
    for (const cJSON *s = servers->child; s; s = s->next) {
        asyncapi_server *sv = &doc->servers[doc->n_servers];
        ptr2(p, sizeof(p), "servers", s->string);
        if (!cJSON_IsObject(s))
            return invalid(m, p, "a server must be an object");
        sv->id = s->string;
        sv->node = s;
        sv->protocol = str_of(s, "protocol");
        sv->protocol_version = str_of(s, "protocolVersion");
        sv->description = str_of(s, "description");
        sv->bindings = item(s, "bindings");
        if (!sv->protocol)
            return invalid(m, p, "missing required field 'protocol'");
        if (doc->info.major == 2) {
            const char *url = str_of(s, "url"), *h, *slash;
            char *host;
            if (!url)
                return invalid(m, p, "missing required field 'url'");
            sv->url = url;
            h = strstr(url, "://");
            h = h ? h + 3 : url;
            slash = strchr(h, '/');
            host = slash ? strndup(h, (size_t)(slash - h)) : strdup(h);
            if (!host)
                return ASYNCAPI_ENOMEM;
            sv->host = asyncapi__strdup(doc, host);
            free(host);
            if (!sv->host)
                return ASYNCAPI_ENOMEM;
        } else {
            const char *host = str_of(s, "host"), *path = str_of(s, "pathname");
            char *url;
            size_t n;
            if (!host)
                return invalid(m, p, "missing required field 'host'");
            sv->host = host;
            sv->pathname = path;
            n = strlen(host) + (path ? strlen(path) : 0) + 1;
            url = malloc(n);
            if (!url)
                return ASYNCAPI_ENOMEM;
            snprintf(url, n, "%s%s", host, path ? path : "");
            sv->url = asyncapi__strdup(doc, url);
            free(url);
            if (!sv->url)
                return ASYNCAPI_ENOMEM;
        }
        sv->is_mqtt = strcasecmp(sv->protocol, "mqtt") == 0 ||
                      strcasecmp(sv->protocol, "mqtts") == 0 ||
                      strcasecmp(sv->protocol, "secure-mqtt") == 0;
        doc->n_servers++;
        if (!sv->is_mqtt &&
            (rc = asyncapi__warn(doc, p, "server '%s' uses protocol '%s', not MQTT", sv->id,
                                 sv->protocol)))
            return rc;
    }
    return 0;
}

/* ---- messages ---- */

/* Is schemaFormat one the JSON Schema compiler understands (NULL = default)? */
static int is_json_schema_format(const char *fmt)
{
    if (!fmt)
        return 1;
    return strncmp(fmt, "application/schema+json;version=draft-0", 39) == 0 ||
           strncmp(fmt, "application/schema+yaml;version=draft-0", 39) == 0 ||
           strncmp(fmt, "application/vnd.aai.asyncapi", 28) == 0;
}

static const cJSON *schema_fetch(void *ctx, const char *uri)
{
    asyncapi_doc *doc = ctx;
    asyncapi__file *f;
    char path[4096];
    size_t n = 0;
    int err = 0;

    if (strcmp(uri, doc->main->uri) == 0)
        return doc->root;
    for (f = doc->files; f; f = f->next)
        if (strcmp(uri, f->uri) == 0)
            return asyncapi__file_resolved(doc, f);
    if (strncmp(uri, "file://", 7) != 0)
        return NULL;
    /* percent-decode the path and read the file (cached by realpath) */
    for (const char *s = uri + 7; *s && n + 1 < sizeof(path); s++) {
        if (s[0] == '%' && s[1] && s[2]) {
            char hex[3] = {s[1], s[2], '\0'};
            char c = (char)strtol(hex, NULL, 16);
            if (c == '\0')
                return NULL;
            path[n++] = c;
            s += 2;
        } else {
            path[n++] = *s;
        }
    }
    path[n] = '\0';
    f = asyncapi__file_get(doc, path, &err, NULL);
    return f ? asyncapi__file_resolved(doc, f) : NULL;
}

/*
 * Compiles one schema of a message (payload or headers). A 3.0 Multi Format
 * Schema Object ({schemaFormat, schema}) is unwrapped first.
 */
static int compile_schema(mctx *m, asyncapi__message *rec, const char *field,
                          const char *msg_pointer, const cJSON **node_out,
                          const asyncapi_schema **out)
{
    const cJSON *msg = rec->pub.node;
    const cJSON *s = item(msg, field);
    const char *fmt = str_of(msg, "schemaFormat");
    asyncapi_schema_resolver res = {.fetch = schema_fetch, .ctx = m->doc};
    asyncapi_diag d;
    asyncapi_schema *sc;
    char p[512];
    int rc;

    *node_out = NULL;
    if (!s)
        return 0;
    if (cJSON_IsObject(s) && item(s, "schemaFormat") && item(s, "schema")) {
        fmt = str_of(s, "schemaFormat");
        s = item(s, "schema");
    }
    *node_out = s;
    if ((rc = pfmt(p, sizeof(p), "%s/%s", msg_pointer, field)))
        return rc;
    if (!is_json_schema_format(fmt)) {
        if (!rec->pub.schema_format)
            rec->pub.schema_format = fmt;
        return asyncapi__warn(m->doc, p, "schemaFormat '%s' is not JSON Schema: %s not validated",
                              fmt, field);
    }
    if (!cJSON_IsObject(s) && !cJSON_IsBool(s))
        return invalid(m, p, "a schema must be an object or a boolean");
    memset(&d, 0, sizeof(d));
    sc = asyncapi_schema_compile(s, m->doc->main->uri, &res, 0, &d);
    if (!sc) {
        rc = strstr(d.message, "$ref") || strstr(d.message, "ref ") ? ASYNCAPI_EREF
                                                                     : ASYNCAPI_EINVAL;
        if (!d.message[0])
            rc = ASYNCAPI_ENOMEM;
        asyncapi__diag_set(m->diag, m->file, 0, 0, p, "%s schema%s%s: %s", field,
                           d.pointer[0] ? " at " : "", d.pointer,
                           d.message[0] ? d.message : "cannot compile");
        return rc;
    }
    *out = sc;
    return 0;
}

static asyncapi__message *message_find(asyncapi_doc *doc, const cJSON *origin)
{
    for (size_t i = 0; i < doc->n_messages; i++)
        if (doc->messages[i]->origin == origin)
            return doc->messages[i];
    return NULL;
}

static int id_taken(const asyncapi_doc *doc, const char *id)
{
    for (size_t i = 0; i < doc->n_messages; i++)
        if (doc->messages[i]->pub.id && strcmp(doc->messages[i]->pub.id, id) == 0)
            return 1;
    return 0;
}

/*
 * The message record for the message at pointer (in the main file's raw
 * tree; node is its resolved copy): existing one if the same raw message
 * was seen, else a new one named after key/messageId/name/fallback.
 */
static int message_get(mctx *m, const char *pointer, const cJSON *node, const char *key,
                       const char *fallback, asyncapi__message **out)
{
    asyncapi_doc *doc = m->doc;
    char canon[512];
    const cJSON *origin = asyncapi__origin(doc, pointer, canon, sizeof(canon));
    asyncapi__message *rec, **nm;
    const char *base;
    const cJSON *corr;
    char id[600];
    int rc;

    if (!origin)
        origin = node;
    if ((rec = message_find(doc, origin))) {
        *out = rec;
        return 0;
    }
    if (!cJSON_IsObject(node))
        return invalid(m, pointer, "a message must be an object");
    rec = calloc(1, sizeof(*rec));
    nm = realloc(doc->messages, (doc->n_messages + 1) * sizeof(*nm));
    if (!rec || !nm) {
        free(rec);
        if (nm)
            doc->messages = nm;
        return ASYNCAPI_ENOMEM;
    }
    doc->messages = nm;
    rec->origin = origin;
    rec->index = doc->n_messages;
    doc->messages[doc->n_messages++] = rec;

    rec->pub.node = node;
    rec->pub.name = str_of(node, "name");
    rec->pub.title = str_of(node, "title");
    rec->pub.summary = str_of(node, "summary");
    rec->pub.description = str_of(node, "description");
    rec->pub.content_type = str_of(node, "contentType");
    if (!rec->pub.content_type)
        rec->pub.content_type = doc->info.default_content_type;
    corr = item(node, "correlationId");
    rec->pub.correlation_id = str_of(corr, "location");
    rec->pub.examples = cJSON_IsArray(item(node, "examples")) ? item(node, "examples") : NULL;

    /* reached through a $ref: the key it is defined under in its file */
    if (!key && origin && strcmp(canon, pointer) != 0) {
        const char *last = strrchr(canon, '/');
        if (last && last[1] && strspn(last + 1, "0123456789") != strlen(last + 1) &&
            !strchr(last + 1, '~'))
            key = last + 1;
    }
    base = key ? key : str_of(node, "messageId");
    if (!base)
        base = rec->pub.name;
    if (!base)
        base = fallback;
    if ((rc = pfmt(id, sizeof(id), "%s", base)))
        return rc;
    for (int n = 2; id_taken(doc, id); n++)
        if ((rc = pfmt(id, sizeof(id), "%s#%d", base, n)))
            return rc;
    if (!(rec->pub.id = asyncapi__strdup(doc, id)))
        return ASYNCAPI_ENOMEM;

    if ((rc = compile_schema(m, rec, "payload", pointer, &rec->pub.payload,
                             &rec->pub.payload_schema)))
        return rc;
    if ((rc = compile_schema(m, rec, "headers", pointer, &rec->pub.headers,
                             &rec->pub.headers_schema)))
        return rc;
    *out = rec;
    return 0;
}

/* Appends rec to a message pointer list unless it is there already. */
static int list_add(const asyncapi_message ***list, size_t *n, asyncapi__message *rec)
{
    const asyncapi_message **nl;

    for (size_t i = 0; i < *n; i++)
        if ((*list)[i] == &rec->pub)
            return 0;
    nl = realloc(*list, (*n + 1) * sizeof(*nl));
    if (!nl)
        return ASYNCAPI_ENOMEM;
    nl[(*n)++] = &rec->pub;
    *list = nl;
    return 0;
}

static int build_component_messages(mctx *m)
{
    const cJSON *msgs = item(item(m->doc->root, "components"), "messages");
    char p[512];
    int rc;

    if (!cJSON_IsObject(msgs))
        return 0;
    for (const cJSON *k = msgs->child; k; k = k->next) {
        asyncapi__message *rec;
        if ((rc = pfmt(p, sizeof(p), "/components/messages")))
            return rc;
        asyncapi__pointer_append(p, sizeof(p), k->string);
        if (cJSON_IsObject(k) && item(k, "$ref") && !item(k, "payload"))
            continue; /* a kept recursive reference, not a message */
        if ((rc = message_get(m, p, k, k->string, k->string, &rec)))
            return rc;
    }
    return 0;
}

/* ---- channels ---- */

/* Folds 3.0 parameter enum/default/examples into a string schema. */
static const cJSON *param_schema3(asyncapi_doc *doc, const cJSON *param)
{
    static const char *const keys[] = {"enum", "default", "examples", "description", NULL};
    cJSON *s;

    if (!doc->owned && !(doc->owned = cJSON_CreateArray()))
        return NULL;
    if (!(s = cJSON_CreateObject()))
        return NULL;
    cJSON_AddItemToArray(doc->owned, s);
    if (!cJSON_AddStringToObject(s, "type", "string"))
        return NULL;
    for (int i = 0; keys[i]; i++) {
        const cJSON *v = item(param, keys[i]);
        cJSON *copy;
        if (!v)
            continue;
        if (!(copy = cJSON_Duplicate(v, 1)))
            return NULL;
        cJSON_AddItemToObject(s, keys[i], copy);
    }
    return s;
}

static int build_params(mctx *m, asyncapi_channel *ch, const char *pointer)
{
    asyncapi_doc *doc = m->doc;
    const cJSON *params = item(ch->node, "parameters");
    const char *a = ch->address;
    size_t count = 0;
    char name[256];
    int rc;

    if (params && !cJSON_IsObject(params))
        return invalid(m, pointer, "'parameters' must be an object");
    for (const char *p = a; p && (p = strchr(p, '{')); p++)
        count++;
    if (count) {
        ch->params = calloc(count, sizeof(*ch->params));
        if (!ch->params)
            return ASYNCAPI_ENOMEM;
    }
    for (const char *p = a; p && (p = strchr(p, '{'));) {
        const char *end = strchr(p, '}');
        const cJSON *decl;
        asyncapi_param *pa;
        size_t n;
        int dup = 0;
        if (!end)
            break; /* unbalanced: the topic filter step reports it */
        n = (size_t)(end - p - 1);
        if (n == 0 || n >= sizeof(name)) {
            p = end + 1;
            continue;
        }
        memcpy(name, p + 1, n);
        name[n] = '\0';
        p = end + 1;
        for (size_t i = 0; i < ch->n_params; i++)
            if (strcmp(ch->params[i].name, name) == 0)
                dup = 1;
        if (dup)
            continue;
        pa = &ch->params[ch->n_params++];
        decl = item(params, name);
        if (!(pa->name = decl ? decl->string : asyncapi__strdup(doc, name)))
            return ASYNCAPI_ENOMEM;
        if (!decl) {
            if ((rc = asyncapi__warn(doc, pointer, "parameter '%s' is not declared", name)))
                return rc;
            continue;
        }
        pa->node = decl;
        pa->description = str_of(decl, "description");
        pa->location = str_of(decl, "location");
        if (doc->info.major == 2) {
            pa->schema = item(decl, "schema");
        } else if (!(pa->schema = param_schema3(doc, decl))) {
            return ASYNCAPI_ENOMEM;
        }
    }
    for (const cJSON *d = params ? params->child : NULL; d; d = d->next) {
        int used = 0;
        for (size_t i = 0; i < ch->n_params; i++)
            if (strcmp(ch->params[i].name, d->string) == 0)
                used = 1;
        if (!used && (rc = asyncapi__warn(doc, pointer,
                                          "parameter '%s' does not appear in the address",
                                          d->string)))
            return rc;
    }
    return 0;
}

static int build_topic_filter(mctx *m, asyncapi_channel *ch, const char *pointer)
{
    size_t size;
    char *buf;
    int n;

    if (!ch->address)
        return 0;
    size = strlen(ch->address) + 2;
    buf = malloc(size);
    if (!buf)
        return ASYNCAPI_ENOMEM;
    n = asyncapi_topic_filter(ch->address, buf, size);
    if (n >= 0) {
        ch->topic_filter = asyncapi__strdup(m->doc, buf);
        free(buf);
        return ch->topic_filter ? 0 : ASYNCAPI_ENOMEM;
    }
    free(buf);
    return asyncapi__warn(m->doc, pointer,
                          "channel address '%s' cannot be an MQTT topic filter (%s)",
                          ch->address, asyncapi_strerror(n));
}

/* 2.x: the messages of channels.<id>.<publish|subscribe>.message. */
static int op2_messages(mctx *m, const cJSON *op, const char *op_pointer, const char *chid,
                        const asyncapi_message ***list, size_t *n)
{
    const cJSON *msg = item(op, "message");
    const cJSON *one = item(msg, "oneOf");
    char p[600], fb[600];
    int i = 0, rc;

    if (!msg)
        return 0;
    if (cJSON_IsArray(one)) {
        for (const cJSON *x = one->child; x; x = x->next, i++) {
            asyncapi__message *rec;
            if ((rc = pfmt(p, sizeof(p), "%s/message/oneOf/%d", op_pointer, i)))
                return rc;
            if ((rc = pfmt(fb, sizeof(fb), "%s#%d", chid, i + 1)))
                return rc;
            if ((rc = message_get(m, p, x, NULL, fb, &rec)) || (rc = list_add(list, n, rec)))
                return rc;
        }
        return 0;
    }
    {
        asyncapi__message *rec;
        if ((rc = pfmt(p, sizeof(p), "%s/message", op_pointer)))
            return rc;
        if ((rc = pfmt(fb, sizeof(fb), "%s#1", chid)))
            return rc;
        if ((rc = message_get(m, p, msg, NULL, fb, &rec)) || (rc = list_add(list, n, rec)))
            return rc;
    }
    return 0;
}

static int op_qos(const cJSON *op)
{
    const cJSON *q = item(item(item(op, "bindings"), "mqtt"), "qos");

    if (cJSON_IsNumber(q) && q->valuedouble >= 0 && q->valuedouble <= 2)
        return (int)q->valuedouble;
    return -1;
}

static int add_operation(asyncapi_doc *doc, asyncapi_operation **op_out)
{
    asyncapi_operation *ops = realloc(doc->operations, (doc->n_operations + 1) * sizeof(*ops));

    if (!ops)
        return ASYNCAPI_ENOMEM;
    doc->operations = ops;
    *op_out = &ops[doc->n_operations++];
    memset(*op_out, 0, sizeof(**op_out));
    return 0;
}

static int build_channels(mctx *m)
{
    asyncapi_doc *doc = m->doc;
    const cJSON *channels = item(doc->root, "channels");
    size_t count;
    char p[512];
    int rc;

    if (!channels)
        return 0;
    if (!cJSON_IsObject(channels))
        return invalid(m, "/channels", "'channels' must be an object");
    count = (size_t)cJSON_GetArraySize(channels);
    doc->channels = calloc(count + 1, sizeof(*doc->channels));
    doc->channel_origins = calloc(count + 1, sizeof(*doc->channel_origins));
    if (!doc->channels || !doc->channel_origins)
        return ASYNCAPI_ENOMEM;
    for (const cJSON *c = channels->child; c; c = c->next) {
        asyncapi_channel *ch = &doc->channels[doc->n_channels];
        ptr2(p, sizeof(p), "channels", c->string);
        if (!cJSON_IsObject(c))
            return invalid(m, p, "a channel must be an object");
        doc->channel_origins[doc->n_channels] = asyncapi__origin(doc, p, NULL, 0);
        doc->n_channels++;
        ch->id = c->string;
        ch->node = c;
        ch->description = str_of(c, "description");
        ch->bindings = item(c, "bindings");
        if (doc->info.major == 2) {
            ch->address = c->string;
        } else {
            const cJSON *a = item(c, "address");
            if (a && !cJSON_IsString(a) && !cJSON_IsNull(a))
                return invalid(m, p, "'address' must be a string or null");
            ch->address = cJSON_IsString(a) ? a->valuestring : NULL;
        }
        if ((rc = build_params(m, ch, p)) || (rc = build_topic_filter(m, ch, p)))
            return rc;
        if (ch->address && strpbrk(ch->address, "+#") == NULL && ch->address[0] == '$' &&
            (rc = asyncapi__warn(doc, p, "channel address '%s' starts with '$'", ch->address)))
            return rc;
        if (doc->info.major == 2) {
            static const char *const words[] = {"publish", "subscribe"};
            for (int k = 0; k < 2; k++) {
                const cJSON *o = item(c, words[k]);
                asyncapi_operation *op;
                char op_p[600], fid[600];
                if (!o)
                    continue;
                if ((rc = pfmt(op_p, sizeof(op_p), "%s/%s", p, words[k])))
                    return rc;
                if (!cJSON_IsObject(o))
                    return invalid(m, op_p, "an operation must be an object");
                if ((rc = add_operation(doc, &op)))
                    return rc;
                op->action = k == 0 ? ASYNCAPI_RECEIVE : ASYNCAPI_SEND;
                op->action_word = words[k];
                op->node = o;
                op->summary = str_of(o, "summary");
                op->description = str_of(o, "description");
                op->bindings = item(o, "bindings");
                op->qos = op_qos(o);
                op->id = str_of(o, "operationId");
                if (!op->id) {
                    if ((rc = pfmt(fid, sizeof(fid), "%s/%s", ch->id, words[k])))
                        return rc;
                    if (!(op->id = asyncapi__strdup(doc, fid)))
                        return ASYNCAPI_ENOMEM;
                }
                op->channel = ch; /* the channel array never moves */
                if ((rc = op2_messages(m, o, op_p, ch->id, &op->messages, &op->n_messages)))
                    return rc;
                for (size_t i = 0; i < op->n_messages; i++)
                    if ((rc = list_add(&ch->messages, &ch->n_messages,
                                       (asyncapi__message *)(void *)op->messages[i])))
                        return rc;
            }
        } else {
            const cJSON *msgs = item(c, "messages");
            char mp[600];
            if (msgs && !cJSON_IsObject(msgs))
                return invalid(m, p, "'messages' must be an object");
            for (const cJSON *k = msgs ? msgs->child : NULL; k; k = k->next) {
                asyncapi__message *rec;
                if ((rc = pfmt(mp, sizeof(mp), "%s/messages", p)))
                    return rc;
                asyncapi__pointer_append(mp, sizeof(mp), k->string);
                if ((rc = message_get(m, mp, k, k->string, k->string, &rec)) ||
                    (rc = list_add(&ch->messages, &ch->n_messages, rec)))
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- 3.0 operations ---- */

static int build_operations3(mctx *m)
{
    asyncapi_doc *doc = m->doc;
    const cJSON *ops = item(doc->root, "operations");
    char p[512], q[600];
    int rc;

    if (!ops)
        return 0;
    if (!cJSON_IsObject(ops))
        return invalid(m, "/operations", "'operations' must be an object");
    for (const cJSON *o = ops->child; o; o = o->next) {
        const char *action;
        const cJSON *chorig, *msgs;
        asyncapi_operation *op;
        asyncapi_channel *ch = NULL;
        ptr2(p, sizeof(p), "operations", o->string);
        if (!cJSON_IsObject(o))
            return invalid(m, p, "an operation must be an object");
        action = str_of(o, "action");
        if (!action || (strcmp(action, "send") != 0 && strcmp(action, "receive") != 0))
            return invalid(m, p, "missing or bad 'action' (must be 'send' or 'receive')");
        if (!item(o, "channel"))
            return invalid(m, p, "missing required field 'channel'");
        if ((rc = pfmt(q, sizeof(q), "%s/channel", p)))
            return rc;
        chorig = asyncapi__origin(doc, q, NULL, 0);
        for (size_t i = 0; chorig && i < doc->n_channels; i++)
            if (doc->channel_origins[i] == chorig)
                ch = &doc->channels[i];
        if (!ch) {
            asyncapi__diag_set(m->diag, m->file, 0, 0, q,
                               "operation '%s' must reference a channel under /channels",
                               o->string);
            return ASYNCAPI_EREF;
        }
        if ((rc = add_operation(doc, &op)))
            return rc;
        op->id = o->string;
        op->action = strcmp(action, "receive") == 0 ? ASYNCAPI_RECEIVE : ASYNCAPI_SEND;
        op->action_word = action;
        op->channel = ch;
        op->node = o;
        op->summary = str_of(o, "summary");
        op->description = str_of(o, "description");
        op->bindings = item(o, "bindings");
        op->qos = op_qos(o);
        msgs = item(o, "messages");
        if (msgs && !cJSON_IsArray(msgs))
            return invalid(m, p, "'messages' must be an array");
        if (!msgs || !msgs->child) {
            /* none listed: all messages of the channel */
            for (size_t i = 0; i < ch->n_messages; i++)
                if ((rc = list_add(&op->messages, &op->n_messages,
                                   (asyncapi__message *)(void *)ch->messages[i])))
                    return rc;
            continue;
        }
        {
            int i = 0;
            for (const cJSON *x = msgs->child; x; x = x->next, i++) {
                asyncapi__message *rec;
                char fb[600];
                if ((rc = pfmt(q, sizeof(q), "%s/messages/%d", p, i)))
                    return rc;
                if ((rc = pfmt(fb, sizeof(fb), "%s#%d", o->string, i + 1)))
                    return rc;
                if ((rc = message_get(m, q, x, NULL, fb, &rec)) ||
                    (rc = list_add(&op->messages, &op->n_messages, rec)))
                    return rc;
            }
        }
    }
    return 0;
}

/* Makes channel/operation message lists point into the flat array. */
static int flatten_messages(asyncapi_doc *doc)
{
    doc->messages_flat = calloc(doc->n_messages + 1, sizeof(*doc->messages_flat));
    if (!doc->messages_flat)
        return ASYNCAPI_ENOMEM;
    for (size_t i = 0; i < doc->n_messages; i++)
        doc->messages_flat[i] = doc->messages[i]->pub;
    for (size_t i = 0; i < doc->n_channels; i++)
        for (size_t k = 0; k < doc->channels[i].n_messages; k++)
            doc->channels[i].messages[k] =
                &doc->messages_flat[((const asyncapi__message *)(const void *)
                                         doc->channels[i].messages[k])->index];
    for (size_t i = 0; i < doc->n_operations; i++)
        for (size_t k = 0; k < doc->operations[i].n_messages; k++)
            doc->operations[i].messages[k] =
                &doc->messages_flat[((const asyncapi__message *)(const void *)
                                         doc->operations[i].messages[k])->index];
    return 0;
}

int asyncapi__model_build(asyncapi_doc *doc, asyncapi_diag *diag)
{
    mctx m = {.doc = doc, .diag = diag, .file = doc->main->path};
    int rc;

    if ((rc = build_info(&m)) || (rc = build_servers(&m)) ||
        (rc = build_component_messages(&m)) || (rc = build_channels(&m)))
        return rc;
    if (doc->info.major == 3 && (rc = build_operations3(&m)))
        return rc;
    return flatten_messages(doc);
}
