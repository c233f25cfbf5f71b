/* SPDX-License-Identifier: MIT */
/*
 * asyncapi_load and the document's lifecycle and accessors: read the main
 * file, check the version, resolve $refs (ref.c), apply traits, build the
 * model (model.c). Contract: asyncapi/asyncapi.h; notes: docs/asyncapi.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi_int.h"

/* ---- owned strings and warnings ---- */

static const char *own(asyncapi_doc *doc, char *s)
{
    if (!s)
        return NULL;
    if (doc->n_strings == doc->cap_strings) {
        size_t ncap = doc->cap_strings ? doc->cap_strings * 2 : 64;
        char **ns = realloc(doc->strings, ncap * sizeof(*ns));
        if (!ns) {
            free(s);
            return NULL;
        }
        doc->strings = ns;
        doc->cap_strings = ncap;
    }
    doc->strings[doc->n_strings++] = s;
    return s;
}

const char *asyncapi__strdup(asyncapi_doc *doc, const char *s)
{
    return s ? own(doc, strdup(s)) : NULL;
}

int asyncapi__warn(asyncapi_doc *doc, const char *pointer, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    asyncapi_warning *w;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap); /* a truncated warning is still useful */
    va_end(ap);
    w = realloc(doc->warnings, (doc->n_warnings + 1) * sizeof(*w));
    if (!w)
        return ASYNCAPI_ENOMEM;
    doc->warnings = w;
    w[doc->n_warnings].pointer = asyncapi__strdup(doc, pointer ? pointer : "");
    w[doc->n_warnings].message = asyncapi__strdup(doc, msg);
    if (!w[doc->n_warnings].pointer || !w[doc->n_warnings].message)
        return ASYNCAPI_ENOMEM;
    doc->n_warnings++;
    return 0;
}

/* ---- version ---- */

/* Accepts 2.0.x-2.6.x and 3.0.x; fills info.asyncapi and info.major. */
static int check_version(asyncapi_doc *doc, const cJSON *raw, asyncapi_diag *diag)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(raw, "asyncapi");
    unsigned major, minor, patch;
    char tail;

    if (!v) {
        asyncapi__diag_set(diag, doc->main->path, 0, 0, "",
                           "missing required field 'asyncapi'");
        return ASYNCAPI_EINVAL;
    }
    if (!cJSON_IsString(v)) {
        asyncapi__diag_set(diag, doc->main->path, 0, 0, "/asyncapi",
                           "'asyncapi' must be a version string such as '3.0.0'");
        return ASYNCAPI_EINVAL;
    }
    if (sscanf(v->valuestring, "%u.%u.%u%c", &major, &minor, &patch, &tail) < 3 ||
        !((major == 2 && minor <= 6) || (major == 3 && minor == 0))) {
        asyncapi__diag_set(diag, doc->main->path, 0, 0, "/asyncapi",
                           "unsupported asyncapi version '%s' (2.0.0-2.6.0 and 3.0.0 are)",
                           v->valuestring);
        return ASYNCAPI_EVERSION;
    }
    doc->info.asyncapi = v->valuestring;
    doc->info.major = (int)major;
    return 0;
}

/* ---- traits ---- */

/*
 * Applies obj.traits: trait fields are defaults (later traits override
 * earlier ones), the object's own fields win; shallow, top-level merge.
 * The traits field is removed once applied.
 */
static int traits_apply(asyncapi_doc *doc, cJSON *obj, const char *pointer, asyncapi_diag *diag)
{
    cJSON *traits, *merged;

    if (!cJSON_IsObject(obj))
        return 0;
    traits = cJSON_GetObjectItemCaseSensitive(obj, "traits");
    if (!traits)
        return 0;
    if (!cJSON_IsArray(traits)) {
        asyncapi__diag_set(diag, doc->main->path, 0, 0, pointer, "'traits' must be an array");
        return ASYNCAPI_EINVAL;
    }
    merged = cJSON_CreateObject();
    if (!merged)
        return ASYNCAPI_ENOMEM;
    for (cJSON *t = traits->child; t; t = t->next) {
        if (!cJSON_IsObject(t)) {
            cJSON_Delete(merged);
            asyncapi__diag_set(diag, doc->main->path, 0, 0, pointer,
                               "each trait must be an object");
            return ASYNCAPI_EINVAL;
        }
        for (cJSON *f = t->child; f; f = f->next) {
            cJSON *copy;
            if (strcmp(f->string, "$ref") == 0)
                continue; /* a recursive (kept) reference: nothing to merge */
            copy = cJSON_Duplicate(f, 1);
            if (!copy) {
                cJSON_Delete(merged);
                return ASYNCAPI_ENOMEM;
            }
            if (cJSON_GetObjectItemCaseSensitive(merged, f->string))
                cJSON_ReplaceItemInObjectCaseSensitive(merged, f->string, copy);
            else
                cJSON_AddItemToObject(merged, f->string, copy);
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "traits");
    while (merged->child) {
        cJSON *f = cJSON_DetachItemViaPointer(merged, merged->child);
        if (cJSON_GetObjectItemCaseSensitive(obj, f->string))
            cJSON_Delete(f);
        else
            cJSON_AddItemToArray(obj, f); /* keeps f->string as its key */
    }
    cJSON_Delete(merged);
    return 0;
}

static int traits_each(asyncapi_doc *doc, cJSON *map, const char *pointer, asyncapi_diag *diag)
{
    char p[512];
    int rc;

    if (!cJSON_IsObject(map))
        return 0;
    for (cJSON *m = map->child; m; m = m->next) {
        snprintf(p, sizeof(p), "%s", pointer);
        asyncapi__pointer_append(p, sizeof(p), m->string);
        if ((rc = traits_apply(doc, m, p, diag)))
            return rc;
    }
    return 0;
}

/* 2.x operation message: a message or {oneOf: [messages]}. */
static int traits_message2(asyncapi_doc *doc, cJSON *msg, const char *pointer,
                           asyncapi_diag *diag)
{
    cJSON *one = cJSON_GetObjectItemCaseSensitive(msg, "oneOf");
    char p[512];
    int i = 0, rc;

    if (!cJSON_IsArray(one))
        return traits_apply(doc, msg, pointer, diag);
    for (cJSON *m = one->child; m; m = m->next, i++) {
        char idx[16];
        snprintf(idx, sizeof(idx), "%d", i);
        snprintf(p, sizeof(p), "%s", pointer);
        asyncapi__pointer_append(p, sizeof(p), "oneOf");
        asyncapi__pointer_append(p, sizeof(p), idx);
        if ((rc = traits_apply(doc, m, p, diag)))
            return rc;
    }
    return 0;
}

static int traits_all(asyncapi_doc *doc, asyncapi_diag *diag)
{
    cJSON *root = doc->root;
    cJSON *comp = cJSON_GetObjectItemCaseSensitive(root, "components");
    cJSON *channels = cJSON_GetObjectItemCaseSensitive(root, "channels");
    char p[512];
    int rc;

    if (cJSON_IsObject(comp)) {
        if ((rc = traits_each(doc, cJSON_GetObjectItemCaseSensitive(comp, "messages"),
                              "/components/messages", diag)))
            return rc;
        if ((rc = traits_each(doc, cJSON_GetObjectItemCaseSensitive(comp, "operations"),
                              "/components/operations", diag)))
            return rc;
    }
    if (!cJSON_IsObject(channels))
        channels = NULL;
    for (cJSON *ch = channels ? channels->child : NULL; ch; ch = ch->next) {
        if (!cJSON_IsObject(ch))
            continue;
        if (doc->info.major == 2) {
            static const char *const ops[] = {"publish", "subscribe"};
            for (int k = 0; k < 2; k++) {
                cJSON *op = cJSON_GetObjectItemCaseSensitive(ch, ops[k]);
                cJSON *msg;
                if (!cJSON_IsObject(op))
                    continue;
                snprintf(p, sizeof(p), "/channels");
                asyncapi__pointer_append(p, sizeof(p), ch->string);
                asyncapi__pointer_append(p, sizeof(p), ops[k]);
                if ((rc = traits_apply(doc, op, p, diag)))
                    return rc;
                msg = cJSON_GetObjectItemCaseSensitive(op, "message");
                if (cJSON_IsObject(msg)) {
                    asyncapi__pointer_append(p, sizeof(p), "message");
                    if ((rc = traits_message2(doc, msg, p, diag)))
                        return rc;
                }
            }
        } else {
            snprintf(p, sizeof(p), "/channels");
            asyncapi__pointer_append(p, sizeof(p), ch->string);
            asyncapi__pointer_append(p, sizeof(p), "messages");
            if ((rc = traits_each(doc, cJSON_GetObjectItemCaseSensitive(ch, "messages"), p,
                                  diag)))
                return rc;
        }
    }
    if (doc->info.major == 3) {
        cJSON *ops = cJSON_GetObjectItemCaseSensitive(root, "operations");
        if (!cJSON_IsObject(ops))
            return 0;
        if ((rc = traits_each(doc, ops, "/operations", diag)))
            return rc;
        for (cJSON *op = ops->child; op; op = op->next) {
            snprintf(p, sizeof(p), "/operations");
            asyncapi__pointer_append(p, sizeof(p), op->string);
            asyncapi__pointer_append(p, sizeof(p), "messages");
            {
                cJSON *msgs = cJSON_GetObjectItemCaseSensitive(op, "messages");
                int i = 0;
                size_t len = strlen(p);
                for (cJSON *m = cJSON_IsArray(msgs) ? msgs->child : NULL; m; m = m->next, i++) {
                    snprintf(p + len, sizeof(p) - len, "/%d", i);
                    if ((rc = traits_apply(doc, m, p, diag)))
                        return rc;
                }
            }
        }
    }
    return 0;
}

/* ---- lifecycle ---- */

asyncapi_doc *asyncapi_load(const char *path, const asyncapi_parse_limits *limits,
                            int *err, asyncapi_diag *diag)
{
    asyncapi_doc *doc;
    int rc = 0;

    if (diag)
        memset(diag, 0, sizeof(*diag));
    if (!path) {
        asyncapi__diag_set(diag, "", 0, 0, NULL, "no file given");
        rc = ASYNCAPI_EIO;
        goto fail;
    }
    doc = calloc(1, sizeof(*doc));
    if (!doc) {
        rc = ASYNCAPI_ENOMEM;
        goto fail;
    }
    doc->limits.max_bytes = limits && limits->max_bytes ? limits->max_bytes
                                                        : ASYNCAPI_PARSE_MAX_BYTES_DEFAULT;
    doc->limits.max_depth = limits && limits->max_depth ? limits->max_depth
                                                        : ASYNCAPI_PARSE_MAX_DEPTH_DEFAULT;
    doc->limits.max_nodes = limits && limits->max_nodes ? limits->max_nodes
                                                        : ASYNCAPI_PARSE_MAX_NODES_DEFAULT;
    doc->main = asyncapi__file_get(doc, path, &rc, diag);
    if (!doc->main)
        goto fail_doc;
    if (!cJSON_IsObject(doc->main->raw)) {
        asyncapi__diag_set(diag, doc->main->path, 0, 0, "",
                           "the document must be a mapping (an object)");
        rc = ASYNCAPI_EINVAL;
        goto fail_doc;
    }
    if ((rc = check_version(doc, doc->main->raw, diag)))
        goto fail_doc;
    if ((rc = asyncapi__resolve(doc, diag)))
        goto fail_doc;
    if ((rc = traits_all(doc, diag)))
        goto fail_doc;
    /* version strings point into the resolved tree from now on */
    doc->info.asyncapi = cJSON_GetObjectItemCaseSensitive(doc->root, "asyncapi")->valuestring;
    if ((rc = asyncapi__model_build(doc, diag)))
        goto fail_doc;
    return doc;
fail_doc:
    if (rc == ASYNCAPI_ENOMEM && diag && !diag->message[0])
        asyncapi__diag_set(diag, path, 0, 0, NULL, "out of memory");
    asyncapi_free(doc);
fail:
    if (err)
        *err = rc;
    return NULL;
}

void asyncapi_free(asyncapi_doc *doc)
{
    asyncapi__file *f, *next;

    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_channels; i++) {
        free(doc->channels[i].params);
        free(doc->channels[i].messages);
    }
    free(doc->channels);
    free(doc->channel_origins);
    for (size_t i = 0; i < doc->n_operations; i++)
        free(doc->operations[i].messages);
    free(doc->operations);
    free(doc->servers);
    for (size_t i = 0; i < doc->n_messages; i++) {
        asyncapi_schema_free((asyncapi_schema *)doc->messages[i]->pub.payload_schema);
        asyncapi_schema_free((asyncapi_schema *)doc->messages[i]->pub.headers_schema);
        free(doc->messages[i]);
    }
    free(doc->messages);
    free(doc->messages_flat);
    free(doc->warnings);
    for (size_t i = 0; i < doc->n_strings; i++)
        free(doc->strings[i]);
    free(doc->strings);
    cJSON_Delete(doc->owned);
    for (f = doc->files; f; f = next) {
        next = f->next;
        free(f->path);
        free(f->uri);
        cJSON_Delete(f->raw);
        cJSON_Delete(f->resolved);
        free(f);
    }
    free(doc);
}

/* ---- accessors ---- */

const asyncapi_info *asyncapi_doc_info(const asyncapi_doc *doc)
{
    return &doc->info;
}

const asyncapi_server *asyncapi_doc_servers(const asyncapi_doc *doc, size_t *n)
{
    if (n)
        *n = doc->n_servers;
    return doc->servers;
}

const asyncapi_channel *asyncapi_doc_channels(const asyncapi_doc *doc, size_t *n)
{
    if (n)
        *n = doc->n_channels;
    return doc->channels;
}

const asyncapi_operation *asyncapi_doc_operations(const asyncapi_doc *doc, size_t *n)
{
    if (n)
        *n = doc->n_operations;
    return doc->operations;
}

const asyncapi_message *asyncapi_doc_messages(const asyncapi_doc *doc, size_t *n)
{
    if (n)
        *n = doc->n_messages;
    return doc->messages_flat;
}

const asyncapi_warning *asyncapi_doc_warnings(const asyncapi_doc *doc, size_t *n)
{
    if (n)
        *n = doc->n_warnings;
    return doc->warnings;
}

const cJSON *asyncapi_doc_root(const asyncapi_doc *doc)
{
    return doc->root;
}

const char *asyncapi_doc_path(const asyncapi_doc *doc)
{
    return doc->main->path;
}

const asyncapi_channel *asyncapi_doc_channel(const asyncapi_doc *doc, const char *id)
{
    for (size_t i = 0; id && i < doc->n_channels; i++)
        if (strcmp(doc->channels[i].id, id) == 0)
            return &doc->channels[i];
    return NULL;
}

const asyncapi_channel *asyncapi_doc_channel_by_address(const asyncapi_doc *doc,
                                                        const char *address)
{
    for (size_t i = 0; address && i < doc->n_channels; i++)
        if (doc->channels[i].address && strcmp(doc->channels[i].address, address) == 0)
            return &doc->channels[i];
    return NULL;
}

int asyncapi_channel_receives(const asyncapi_doc *doc, const asyncapi_channel *ch)
{
    for (size_t i = 0; i < doc->n_operations; i++)
        if (doc->operations[i].channel == ch && doc->operations[i].action == ASYNCAPI_RECEIVE)
            return 1;
    return 0;
}

int asyncapi_channel_qos(const asyncapi_doc *doc, const asyncapi_channel *ch)
{
    int qos = -1;

    for (size_t i = 0; i < doc->n_operations; i++) {
        const asyncapi_operation *op = &doc->operations[i];
        if (op->channel == ch && op->action == ASYNCAPI_RECEIVE && op->qos > qos)
            qos = op->qos;
    }
    return qos < 0 ? 1 : qos;
}
