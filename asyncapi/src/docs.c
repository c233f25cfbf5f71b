/* SPDX-License-Identifier: MIT */
/*
 * asyncapi_docs_render: collects the model of a loaded document into a
 * rendering context, gives every server, channel, operation, message and
 * component schema a stable unique anchor, and runs the HTML or Markdown
 * renderer. See docs/docs-generator.md.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi_int.h"
#include "docs_int.h"

static int fill_anchors(asyncapi__docs_ctx *ctx, const char ***out, size_t n, const char *kind,
                        const void *base, size_t stride, size_t id_offset)
{
    const char **a;

    *out = NULL;
    if (n == 0)
        return 0;
    a = calloc(n, sizeof(*a));
    if (a == NULL)
        return ASYNCAPI_ENOMEM;
    *out = a;
    for (size_t i = 0; i < n; i++) {
        const char *rec = (const char *)base + i * stride;
        const char *id = *(const char *const *)(const void *)(rec + id_offset);
        a[i] = asyncapi__anchors_add(&ctx->anchors, kind, id ? id : "");
        if (a[i] == NULL)
            return ASYNCAPI_ENOMEM;
    }
    return 0;
}

int asyncapi__docs_ctx_anchors(asyncapi__docs_ctx *ctx)
{
    const cJSON *e;
    size_t i;
    int rc;

    asyncapi__anchors_init(&ctx->anchors);
    rc = fill_anchors(ctx, &ctx->a_server, ctx->n_servers, "server", ctx->servers,
                      sizeof(*ctx->servers), offsetof(asyncapi_server, id));
    if (rc == 0)
        rc = fill_anchors(ctx, &ctx->a_channel, ctx->n_channels, "channel", ctx->channels,
                          sizeof(*ctx->channels), offsetof(asyncapi_channel, id));
    if (rc == 0)
        rc = fill_anchors(ctx, &ctx->a_op, ctx->n_ops, "operation", ctx->ops,
                          sizeof(*ctx->ops), offsetof(asyncapi_operation, id));
    if (rc == 0)
        rc = fill_anchors(ctx, &ctx->a_msg, ctx->n_msgs, "message", ctx->msgs,
                          sizeof(*ctx->msgs), offsetof(asyncapi_message, id));
    if (rc != 0)
        return rc;
    ctx->n_schemas = 0;
    ctx->a_schema = NULL;
    if (!cJSON_IsObject(ctx->comp_schemas))
        return 0;
    cJSON_ArrayForEach(e, ctx->comp_schemas)
        ctx->n_schemas++;
    if (ctx->n_schemas == 0)
        return 0;
    ctx->a_schema = calloc(ctx->n_schemas, sizeof(*ctx->a_schema));
    if (ctx->a_schema == NULL)
        return ASYNCAPI_ENOMEM;
    i = 0;
    cJSON_ArrayForEach(e, ctx->comp_schemas) {
        ctx->a_schema[i] = asyncapi__anchors_add(&ctx->anchors, "schema", e->string);
        if (ctx->a_schema[i] == NULL)
            return ASYNCAPI_ENOMEM;
        i++;
    }
    return 0;
}

void asyncapi__docs_ctx_release(asyncapi__docs_ctx *ctx)
{
    free((void *)ctx->a_server);
    free((void *)ctx->a_channel);
    free((void *)ctx->a_op);
    free((void *)ctx->a_msg);
    free((void *)ctx->a_schema);
    ctx->a_server = ctx->a_channel = ctx->a_op = ctx->a_msg = ctx->a_schema = NULL;
    asyncapi__anchors_release(&ctx->anchors);
}

const char *asyncapi__docs_msg_anchor(const asyncapi__docs_ctx *ctx, const asyncapi_message *m)
{
    size_t i;

    if (m == NULL || ctx->a_msg == NULL)
        return NULL;
    for (i = 0; i < ctx->n_msgs; i++)
        if (&ctx->msgs[i] == m)
            return ctx->a_msg[i];
    /* not one of the document's records: match by id, then by node */
    for (i = 0; i < ctx->n_msgs; i++)
        if (m->node && ctx->msgs[i].node == m->node)
            return ctx->a_msg[i];
    for (i = 0; i < ctx->n_msgs; i++)
        if (m->id && ctx->msgs[i].id && strcmp(ctx->msgs[i].id, m->id) == 0)
            return ctx->a_msg[i];
    return NULL;
}

const char *asyncapi__docs_channel_anchor(const asyncapi__docs_ctx *ctx, const asyncapi_channel *c)
{
    size_t i;

    if (c == NULL || ctx->a_channel == NULL)
        return NULL;
    for (i = 0; i < ctx->n_channels; i++)
        if (&ctx->channels[i] == c)
            return ctx->a_channel[i];
    for (i = 0; i < ctx->n_channels; i++)
        if (c->id && ctx->channels[i].id && strcmp(ctx->channels[i].id, c->id) == 0)
            return ctx->a_channel[i];
    return NULL;
}

const char *asyncapi__docs_schema_anchor_ref(const asyncapi__docs_ctx *ctx, const char *ref)
{
    static const char prefix[] = "#/components/schemas/";
    char name[512];
    const cJSON *e;
    size_t i = 0;

    if (ref == NULL || ctx->a_schema == NULL || strncmp(ref, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    ref += sizeof(prefix) - 1;
    if (asyncapi__pointer_token(&ref, name, sizeof(name)) < 0 || *ref != '\0')
        return NULL;
    cJSON_ArrayForEach(e, ctx->comp_schemas) {
        if (strcmp(e->string, name) == 0)
            return ctx->a_schema[i];
        i++;
    }
    return NULL;
}

const char *asyncapi__docs_schema_anchor_node(const asyncapi__docs_ctx *ctx, const cJSON *node)
{
    const cJSON *e;
    size_t i = 0;

    if (node == NULL || ctx->a_schema == NULL)
        return NULL;
    cJSON_ArrayForEach(e, ctx->comp_schemas) {
        if (e == node)
            return ctx->a_schema[i];
        i++;
    }
    return NULL;
}

const asyncapi_docs_channel_stats *asyncapi__docs_stats(const asyncapi__docs_ctx *ctx,
                                                        const char *channel_id)
{
    const asyncapi_docs_options *o = ctx->opts;

    if (o->stats == NULL || channel_id == NULL)
        return NULL;
    for (size_t i = 0; i < o->n_stats; i++)
        if (o->stats[i].channel_id && strcmp(o->stats[i].channel_id, channel_id) == 0)
            return &o->stats[i];
    return NULL;
}

int asyncapi_docs_render(const asyncapi_doc *doc, const asyncapi_docs_options *opts,
                         char **out, size_t *out_len)
{
    static const asyncapi_docs_options defaults = { .format = ASYNCAPI_DOCS_HTML };
    asyncapi__docs_ctx ctx;
    asyncapi__dbuf b;
    const cJSON *comp;
    int rc;

    if (out)
        *out = NULL;
    if (doc == NULL || out == NULL)
        return ASYNCAPI_EINVAL;
    if (opts == NULL)
        opts = &defaults;
    if (opts->format != ASYNCAPI_DOCS_HTML && opts->format != ASYNCAPI_DOCS_MARKDOWN)
        return ASYNCAPI_EINVAL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.opts = opts;
    ctx.info = asyncapi_doc_info(doc);
    ctx.servers = asyncapi_doc_servers(doc, &ctx.n_servers);
    ctx.channels = asyncapi_doc_channels(doc, &ctx.n_channels);
    ctx.ops = asyncapi_doc_operations(doc, &ctx.n_ops);
    ctx.msgs = asyncapi_doc_messages(doc, &ctx.n_msgs);
    ctx.root = asyncapi_doc_root(doc);
    comp = cJSON_GetObjectItemCaseSensitive(ctx.root, "components");
    ctx.comp_schemas = cJSON_GetObjectItemCaseSensitive(comp, "schemas");
    if (!cJSON_IsObject(ctx.comp_schemas))
        ctx.comp_schemas = NULL;

    rc = asyncapi__docs_ctx_anchors(&ctx);
    if (rc != 0)
        goto fail_ctx;
    asyncapi__dbuf_init(&b);
    if (opts->format == ASYNCAPI_DOCS_HTML)
        asyncapi__docs_html(&b, &ctx);
    else
        asyncapi__docs_md(&b, &ctx);
    rc = b.err;
    if (rc != 0)
        goto fail_buf;
    *out = asyncapi__dbuf_detach(&b, out_len);
    if (*out == NULL) {
        rc = ASYNCAPI_ENOMEM;
        goto fail_buf;
    }
    asyncapi__docs_ctx_release(&ctx);
    return 0;

fail_buf:
    asyncapi__dbuf_release(&b);
fail_ctx:
    asyncapi__docs_ctx_release(&ctx);
    return rc;
}
