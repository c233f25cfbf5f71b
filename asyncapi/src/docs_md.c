/* SPDX-License-Identifier: MIT */
/*
 * The Markdown output (README-style, GitHub tables): the same content as
 * the HTML page. Spec descriptions are copied as Markdown with raw HTML
 * neutralised; short texts in tables and headings are escaped. Each
 * heading is preceded by an <a id> with the same stable anchor as the HTML
 * page. See docs/docs-generator.md.
 */
#include <stdlib.h>
#include <string.h>

#include "docs_int.h"

static void esc(asyncapi__dbuf *b, const char *s)
{
    asyncapi__md_esc(b, s);
}

/* Plain printable UTF-8 (code spans copy text as is)? */
static int valid_text(const char *s)
{
    asyncapi__dbuf t;
    int same;

    asyncapi__dbuf_init(&t);
    asyncapi__html_esc(&t, s);
    same = t.err == 0 && t.len == strlen(s) && (t.len == 0 || memcmp(t.data, s, t.len) == 0);
    asyncapi__dbuf_release(&t);
    return same;
}

/* Inline code: backticks chosen longer than any run inside. */
static void code(asyncapi__dbuf *b, const char *s)
{
    size_t run = 0, max = 0;
    const char *p;
    int pad;

    if (s == NULL || s[0] == '\0')
        return;
    for (p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > max)
            max = run;
    }
    if (strpbrk(s, "|\n\r<&") != NULL || !valid_text(s)) {
        /* pipes break tables, newlines break lines: plain escaped text instead */
        esc(b, s);
        return;
    }
    pad = s[0] == '`' || (s[0] && s[strlen(s) - 1] == '`');
    for (size_t i = 0; i <= max; i++)
        asyncapi__dbuf_putc(b, '`');
    if (pad)
        asyncapi__dbuf_puts(b, " ");
    asyncapi__dbuf_puts(b, s); /* code span: no Markdown or HTML inside */
    if (pad)
        asyncapi__dbuf_puts(b, " ");
    for (size_t i = 0; i <= max; i++)
        asyncapi__dbuf_putc(b, '`');
}

static void anchor(asyncapi__dbuf *b, const char *a)
{
    if (a)
        asyncapi__dbuf_printf(b, "<a id=\"%s\"></a>\n\n", a);
}

static void link_to(asyncapi__dbuf *b, const char *a, const char *text)
{
    if (a) {
        asyncapi__dbuf_puts(b, "[");
        esc(b, text);
        asyncapi__dbuf_printf(b, "](#%s)", a);
    } else {
        esc(b, text);
    }
}

static void description(asyncapi__dbuf *b, const char *md)
{
    if (md == NULL || md[0] == '\0')
        return;
    asyncapi__md_passthrough(b, md);
    asyncapi__dbuf_puts(b, "\n\n");
}

static void json_block(asyncapi__dbuf *b, const cJSON *v)
{
    char *s;
    const char *p;
    size_t run = 0, max = 2;

    if (v == NULL)
        return;
    s = cJSON_IsString(v) ? NULL : asyncapi__docs_json(v);
    if (!cJSON_IsString(v) && s == NULL) {
        b->err = b->err ? b->err : ASYNCAPI_ENOMEM;
        return;
    }
    p = s ? s : v->valuestring;
    for (const char *q = p; *q; q++) {
        run = *q == '`' ? run + 1 : 0;
        if (run > max)
            max = run;
    }
    for (size_t i = 0; i <= max; i++)
        asyncapi__dbuf_putc(b, '`');
    asyncapi__dbuf_puts(b, s ? "json\n" : "\n");
    asyncapi__dbuf_puts(b, p);
    asyncapi__dbuf_puts(b, "\n");
    for (size_t i = 0; i <= max; i++)
        asyncapi__dbuf_putc(b, '`');
    asyncapi__dbuf_puts(b, "\n\n");
    free(s);
}

static const char *msg_label(const asyncapi_message *m)
{
    if (m->title)
        return m->title;
    if (m->name)
        return m->name;
    return m->id ? m->id : "message";
}

static const char *dir_text(asyncapi_action a)
{
    return a == ASYNCAPI_RECEIVE ? "\xE2\x86\x91 devices publish here"
                                 : "\xE2\x86\x93 devices receive this";
}

static int same_channel(const asyncapi_channel *a, const asyncapi_channel *c)
{
    if (a == NULL || c == NULL)
        return 0;
    return a == c || (a->id && c->id && strcmp(a->id, c->id) == 0);
}

static void toc(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    size_t i;

    asyncapi__dbuf_puts(b, "## Contents\n\n- [Overview](#overview)\n");
    if (ctx->n_servers) {
        asyncapi__dbuf_puts(b, "- [Servers](#servers)\n");
        for (i = 0; i < ctx->n_servers; i++) {
            asyncapi__dbuf_puts(b, "  - ");
            link_to(b, ctx->a_server[i], ctx->servers[i].id);
            asyncapi__dbuf_puts(b, "\n");
        }
    }
    if (ctx->opts->extra_title) {
        asyncapi__dbuf_puts(b, "- [");
        esc(b, ctx->opts->extra_title);
        asyncapi__dbuf_puts(b, "](#bridge)\n");
    }
    if (ctx->n_channels) {
        asyncapi__dbuf_puts(b, "- [Channels](#channels)\n");
        for (i = 0; i < ctx->n_channels; i++) {
            asyncapi__dbuf_puts(b, "  - ");
            link_to(b, ctx->a_channel[i], ctx->channels[i].id);
            asyncapi__dbuf_puts(b, "\n");
        }
    }
    if (ctx->n_ops) {
        asyncapi__dbuf_puts(b, "- [Operations](#operations)\n");
        for (i = 0; i < ctx->n_ops; i++) {
            asyncapi__dbuf_puts(b, "  - ");
            link_to(b, ctx->a_op[i], ctx->ops[i].id);
            asyncapi__dbuf_printf(b, " (%s)\n", dir_text(ctx->ops[i].action));
        }
    }
    if (ctx->n_msgs) {
        asyncapi__dbuf_puts(b, "- [Messages](#messages)\n");
        for (i = 0; i < ctx->n_msgs; i++) {
            asyncapi__dbuf_puts(b, "  - ");
            link_to(b, ctx->a_msg[i], msg_label(&ctx->msgs[i]));
            asyncapi__dbuf_puts(b, "\n");
        }
    }
    if (ctx->n_schemas) {
        const cJSON *e;
        asyncapi__dbuf_puts(b, "- [Schemas](#schemas)\n");
        i = 0;
        cJSON_ArrayForEach(e, ctx->comp_schemas) {
            asyncapi__dbuf_puts(b, "  - ");
            link_to(b, ctx->a_schema[i++], e->string);
            asyncapi__dbuf_puts(b, "\n");
        }
    }
    asyncapi__dbuf_puts(b, "\n");
}

static void servers(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    if (ctx->n_servers == 0)
        return;
    asyncapi__dbuf_puts(b, "<a id=\"servers\"></a>\n\n## Servers\n\n");
    for (size_t i = 0; i < ctx->n_servers; i++) {
        const asyncapi_server *s = &ctx->servers[i];
        anchor(b, ctx->a_server[i]);
        asyncapi__dbuf_puts(b, "### ");
        esc(b, s->id);
        asyncapi__dbuf_puts(b, "\n\n");
        if (s->url) {
            asyncapi__dbuf_puts(b, "- URL: ");
            code(b, s->url);
            asyncapi__dbuf_puts(b, "\n");
        }
        asyncapi__dbuf_puts(b, "- Protocol: ");
        esc(b, s->protocol ? s->protocol : "unknown");
        if (s->protocol_version) {
            asyncapi__dbuf_puts(b, " ");
            esc(b, s->protocol_version);
        }
        asyncapi__dbuf_puts(b, s->is_mqtt ? " (MQTT)\n\n" : "\n\n");
        description(b, s->description);
        if (cJSON_IsObject(s->bindings) && s->bindings->child) {
            asyncapi__dbuf_puts(b, "Bindings:\n\n");
            json_block(b, s->bindings);
        }
    }
}

static void extra(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    const asyncapi_docs_options *o = ctx->opts;

    if (o->extra_title == NULL)
        return;
    asyncapi__dbuf_puts(b, "<a id=\"bridge\"></a>\n\n## ");
    esc(b, o->extra_title);
    asyncapi__dbuf_puts(b, "\n\n");
    description(b, o->extra_markdown);
    for (size_t i = 0; i < o->n_links && o->links; i++) {
        const asyncapi_docs_link *l = &o->links[i];
        asyncapi__dbuf_puts(b, "- ");
        esc(b, l->label ? l->label : l->href);
        if (l->href) {
            asyncapi__dbuf_puts(b, ": ");
            code(b, l->href);
        }
        if (l->description) {
            asyncapi__dbuf_puts(b, " \xE2\x80\x93 ");
            esc(b, l->description);
        }
        asyncapi__dbuf_puts(b, "\n");
    }
    asyncapi__dbuf_puts(b, "\n");
    if (o->stats) {
        if (o->stats_note) {
            esc(b, o->stats_note);
            asyncapi__dbuf_puts(b, "\n\n");
        }
        asyncapi__dbuf_puts(b, "| Channel | Events | Dead letters |\n|---|---|---|\n");
        for (size_t i = 0; i < ctx->n_channels; i++) {
            const asyncapi_docs_channel_stats *st = asyncapi__docs_stats(ctx, ctx->channels[i].id);
            asyncapi__dbuf_puts(b, "| ");
            link_to(b, ctx->a_channel[i], ctx->channels[i].id);
            asyncapi__dbuf_printf(b, " | %llu | %llu |\n", st ? st->events : 0ULL,
                                  st ? st->dead_letters : 0ULL);
        }
        asyncapi__dbuf_puts(b, "\n");
    }
}

static void channels(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    size_t i, k;

    if (ctx->n_channels == 0)
        return;
    asyncapi__dbuf_puts(b, "<a id=\"channels\"></a>\n\n## Channels\n\n");
    for (i = 0; i < ctx->n_channels; i++) {
        const asyncapi_channel *c = &ctx->channels[i];
        anchor(b, ctx->a_channel[i]);
        asyncapi__dbuf_puts(b, "### ");
        esc(b, c->id);
        asyncapi__dbuf_puts(b, "\n\n- Address: ");
        if (c->address)
            code(b, c->address);
        else
            asyncapi__dbuf_puts(b, "dynamic (no address)");
        asyncapi__dbuf_puts(b, "\n- MQTT topic filter: ");
        if (c->topic_filter)
            code(b, c->topic_filter);
        else
            asyncapi__dbuf_puts(b, "none");
        asyncapi__dbuf_puts(b, "\n");
        if (ctx->opts->stats) {
            const asyncapi_docs_channel_stats *st = asyncapi__docs_stats(ctx, c->id);
            asyncapi__dbuf_printf(b, "- Live: %llu events, %llu dead letters\n", st ? st->events : 0ULL,
                                  st ? st->dead_letters : 0ULL);
        }
        for (k = 0; k < ctx->n_ops; k++) {
            const asyncapi_operation *op = &ctx->ops[k];
            if (!same_channel(op->channel, c))
                continue;
            asyncapi__dbuf_printf(b, "- %s: ", dir_text(op->action));
            link_to(b, ctx->a_op[k], op->id);
            if (op->qos >= 0)
                asyncapi__dbuf_printf(b, " (QoS %d)", op->qos);
            asyncapi__dbuf_puts(b, "\n");
        }
        for (k = 0; k < c->n_messages; k++) {
            if (c->messages[k] == NULL)
                continue;
            asyncapi__dbuf_puts(b, "- Message: ");
            link_to(b, asyncapi__docs_msg_anchor(ctx, c->messages[k]), msg_label(c->messages[k]));
            asyncapi__dbuf_puts(b, "\n");
        }
        asyncapi__dbuf_puts(b, "\n");
        description(b, c->description);
        if (c->n_params) {
            asyncapi__dbuf_puts(b, "Parameters:\n\n| Name | Description | Schema |\n|---|---|---|\n");
            for (k = 0; k < c->n_params; k++) {
                const asyncapi_param *p = &c->params[k];
                asyncapi__dbuf tmp;
                asyncapi__dbuf_puts(b, "| ");
                esc(b, p->name);
                asyncapi__dbuf_puts(b, " | ");
                esc(b, p->description);
                asyncapi__dbuf_puts(b, " | ");
                asyncapi__dbuf_init(&tmp);
                if (p->schema) {
                    asyncapi__schema_type(&tmp, p->schema);
                    asyncapi__dbuf_putc(&tmp, '\x1f');
                    asyncapi__schema_constraints(&tmp, p->schema);
                } else {
                    asyncapi__dbuf_puts(&tmp, "string");
                }
                for (size_t j = 0; j < tmp.len; j++)
                    if (tmp.data[j] == '\x1f')
                        tmp.data[j] = ';';
                if (tmp.len && tmp.data[tmp.len - 1] == ';')
                    tmp.data[--tmp.len] = '\0';
                if (tmp.err)
                    b->err = b->err ? b->err : tmp.err;
                else if (tmp.len)
                    esc(b, tmp.data);
                asyncapi__dbuf_release(&tmp);
                asyncapi__dbuf_puts(b, " |\n");
            }
            asyncapi__dbuf_puts(b, "\n");
        }
    }
}

static void operations(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    if (ctx->n_ops == 0)
        return;
    asyncapi__dbuf_puts(b, "<a id=\"operations\"></a>\n\n## Operations\n\n");
    for (size_t i = 0; i < ctx->n_ops; i++) {
        const asyncapi_operation *op = &ctx->ops[i];
        anchor(b, ctx->a_op[i]);
        asyncapi__dbuf_puts(b, "### ");
        esc(b, op->id);
        asyncapi__dbuf_printf(b, "\n\n**%s** (the application %s", dir_text(op->action),
                              op->action == ASYNCAPI_RECEIVE ? "receives" : "sends");
        if (op->action_word) {
            asyncapi__dbuf_puts(b, ", `");
            esc(b, op->action_word);
            asyncapi__dbuf_puts(b, "`");
        }
        asyncapi__dbuf_puts(b, ")\n\n");
        if (op->channel) {
            asyncapi__dbuf_puts(b, "- Channel: ");
            link_to(b, asyncapi__docs_channel_anchor(ctx, op->channel), op->channel->id);
            asyncapi__dbuf_puts(b, "\n");
        }
        if (op->qos >= 0)
            asyncapi__dbuf_printf(b, "- QoS: %d\n", op->qos);
        else
            asyncapi__dbuf_puts(b, "- QoS: not specified\n");
        for (size_t k = 0; k < op->n_messages; k++) {
            if (op->messages[k] == NULL)
                continue;
            asyncapi__dbuf_puts(b, "- Message: ");
            link_to(b, asyncapi__docs_msg_anchor(ctx, op->messages[k]), msg_label(op->messages[k]));
            asyncapi__dbuf_puts(b, "\n");
        }
        asyncapi__dbuf_puts(b, "\n");
        if (op->summary) {
            esc(b, op->summary);
            asyncapi__dbuf_puts(b, "\n\n");
        }
        description(b, op->description);
    }
}

static void messages(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    const cJSON *e, *v;

    if (ctx->n_msgs == 0)
        return;
    asyncapi__dbuf_puts(b, "<a id=\"messages\"></a>\n\n## Messages\n\n");
    for (size_t i = 0; i < ctx->n_msgs; i++) {
        const asyncapi_message *m = &ctx->msgs[i];
        anchor(b, ctx->a_msg[i]);
        asyncapi__dbuf_puts(b, "### ");
        esc(b, msg_label(m));
        asyncapi__dbuf_puts(b, "\n\n- Id: ");
        code(b, m->id);
        if (m->name) {
            asyncapi__dbuf_puts(b, "\n- Name: ");
            code(b, m->name);
        }
        asyncapi__dbuf_puts(b, "\n- Content type: ");
        if (m->content_type)
            code(b, m->content_type);
        else
            asyncapi__dbuf_puts(b, "not specified");
        if (m->correlation_id) {
            asyncapi__dbuf_puts(b, "\n- Correlation id: ");
            code(b, m->correlation_id);
        }
        asyncapi__dbuf_puts(b, "\n\n");
        if (m->summary) {
            esc(b, m->summary);
            asyncapi__dbuf_puts(b, "\n\n");
        }
        description(b, m->description);
        if (m->headers) {
            asyncapi__dbuf_puts(b, "Headers:\n\n");
            asyncapi__schema_table_md(b, ctx, m->headers);
        }
        if (m->payload) {
            asyncapi__dbuf_puts(b, "Payload:\n\n");
            asyncapi__schema_table_md(b, ctx, m->payload);
        }
        if (cJSON_IsArray(m->examples) && m->examples->child) {
            cJSON_ArrayForEach(e, m->examples) {
                asyncapi__dbuf_puts(b, "Example");
                if (cJSON_IsObject(e) && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(e, "name"))) {
                    asyncapi__dbuf_puts(b, " ");
                    esc(b, v->valuestring);
                }
                asyncapi__dbuf_puts(b, ":\n\n");
                if (cJSON_IsObject(e) && (v = cJSON_GetObjectItemCaseSensitive(e, "payload")) != NULL)
                    json_block(b, v);
                else
                    json_block(b, e);
            }
        } else if (m->payload) {
            cJSON *gen = asyncapi__docs_example(m->payload);
            if (gen == NULL) {
                b->err = b->err ? b->err : ASYNCAPI_ENOMEM;
                return;
            }
            asyncapi__dbuf_puts(b, "Example (generated from the schema):\n\n");
            json_block(b, gen);
            cJSON_Delete(gen);
        }
    }
}

static void schemas(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    const cJSON *e;
    size_t i = 0;

    if (ctx->n_schemas == 0)
        return;
    asyncapi__dbuf_puts(b, "<a id=\"schemas\"></a>\n\n## Schemas\n\n");
    cJSON_ArrayForEach(e, ctx->comp_schemas) {
        anchor(b, ctx->a_schema[i++]);
        asyncapi__dbuf_puts(b, "### ");
        esc(b, e->string);
        asyncapi__dbuf_puts(b, "\n\n");
        asyncapi__schema_table_md(b, ctx, e);
    }
}

void asyncapi__docs_md(asyncapi__dbuf *b, asyncapi__docs_ctx *ctx)
{
    const asyncapi_info *info = ctx->info;
    const char *title = ctx->opts->title;

    if (title == NULL)
        title = info && info->title ? info->title : "AsyncAPI document";
    asyncapi__dbuf_puts(b, "# ");
    esc(b, title);
    asyncapi__dbuf_puts(b, "\n\n");
    if (info && info->version) {
        asyncapi__dbuf_puts(b, "Version ");
        esc(b, info->version);
    }
    if (info && info->asyncapi) {
        asyncapi__dbuf_puts(b, info->version ? ", AsyncAPI " : "AsyncAPI ");
        esc(b, info->asyncapi);
    }
    asyncapi__dbuf_puts(b, "\n\n");
    toc(b, ctx);
    asyncapi__dbuf_puts(b, "<a id=\"overview\"></a>\n\n## Overview\n\n");
    if (info)
        description(b, info->description);
    if (info && info->default_content_type) {
        asyncapi__dbuf_puts(b, "Default content type: ");
        code(b, info->default_content_type);
        asyncapi__dbuf_puts(b, "\n\n");
    }
    servers(b, ctx);
    extra(b, ctx);
    channels(b, ctx);
    operations(b, ctx);
    messages(b, ctx);
    schemas(b, ctx);
    asyncapi__dbuf_puts(b, "---\n\nGenerated by ");
    esc(b, ctx->opts->generator ? ctx->opts->generator : "asyncbridge");
    asyncapi__dbuf_puts(b, " from the AsyncAPI document.\n");
}
