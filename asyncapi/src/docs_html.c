/* SPDX-License-Identifier: MIT */
/*
 * The HTML page: one self-contained document (inline CSS, no scripts, no
 * external fonts or images), a table of contents, then servers, the extra
 * (bridge) section, channels, operations, messages and component schemas.
 * Every text from the spec goes through asyncapi__html_esc or the safe
 * Markdown subset. See docs/docs-generator.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs_int.h"

/* The stylesheet, in pieces (C99 caps string literals at 4095 bytes). */
static const char *const page_css[] = {
    ":root{--fg:#1d2433;--muted:#5b6475;--bg:#fff;--panel:#f5f7fa;--line:#dce2eb;"
    "--accent:#0b5fc0;--pub:#0a7d45;--sub:#9a4d00;--code:#eff2f6}\n",
    "@media (prefers-color-scheme:dark){:root{--fg:#e4e8ee;--muted:#a3acbb;--bg:#12161d;"
    "--panel:#1a2029;--line:#2d3644;--accent:#73b5ff;--pub:#52d38e;--sub:#f2aa62;--code:#212935}}\n",
    "*{box-sizing:border-box}\n",
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n",
    "body{margin:0;font:16px/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif,\"Apple Color Emoji\",\"Segoe UI Emoji\",\"Noto Color Emoji\";"
    "color:var(--fg);background:var(--bg)}\n",
    "code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"Liberation Mono\",monospace;font-size:.88em}\n",
    "code{background:var(--code);padding:.08em .3em;border-radius:4px;overflow-wrap:anywhere}\n",
    "pre{background:var(--code);padding:.75em 1em;border-radius:6px;overflow:auto;tab-size:2;-moz-tab-size:2;line-height:1.4;margin:.4em 0}\n",
    "pre code{background:none;padding:0;overflow-wrap:normal}\n",
    "a{color:var(--accent)}\n",
    ".skip{position:absolute;left:-9999px}.skip:focus{left:1em;top:1em;background:var(--bg);padding:.5em;z-index:9}\n",
    "header.top{padding:1.4em 1.5em 1em;border-bottom:1px solid var(--line);background:var(--panel)}\n",
    "header.top h1{margin:0 0 .35em;font-size:1.9em;line-height:1.2;overflow-wrap:anywhere}\n",
    ".badge{display:inline-block;font-size:.8em;padding:.08em .6em;border:1px solid var(--line);border-radius:999px;"
    "background:var(--bg);color:var(--muted);margin:0 .3em .2em 0;white-space:nowrap}\n",
    ".layout{display:grid;grid-template-columns:18rem minmax(0,1fr);max-width:86rem;margin:0 auto}\n",
    "nav.toc{position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;padding:1em 1em 2em 1.5em;"
    "border-right:1px solid var(--line);font-size:.9em}\n",
    "nav.toc h2{font-size:.85em;margin:.3em 0 .6em;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}\n",
    "nav.toc ul{list-style:none;margin:0;padding:0}nav.toc ul ul{padding-left:.9em;margin:.15em 0 .6em}\n",
    "nav.toc li{margin:.12em 0;overflow-wrap:break-word}nav.toc a{text-decoration:none}nav.toc a:hover{text-decoration:underline}\n",
    "nav.toc .n{color:var(--muted);font-size:.85em}\n",
    "main{padding:.5em 2em 3em;min-width:0}\n",
    "section{margin-bottom:2.5em}section>h2{font-size:1.45em;border-bottom:2px solid var(--line);padding-bottom:.2em}\n",
    ".card{border:1px solid var(--line);border-radius:8px;padding:.2em 1.2em 1em;margin:1em 0}\n",
    ".card h3{font-size:1.2em;margin:.7em 0 .4em;overflow-wrap:anywhere}.card h4{margin:1.1em 0 .35em;font-size:1em}\n",
    "h3 a.self{color:inherit;text-decoration:none}h3 a.self:hover::after{content:\" #\";color:var(--muted)}\n",
    "dl.kv{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.25em 1em;margin:.5em 0}\n",
    "dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}\n",
    ".tbl{overflow-x:auto;margin:.4em 0}\n",
    "table{border-collapse:collapse;width:100%;font-size:.9em}\n",
    "th,td{border:1px solid var(--line);padding:.35em .6em;text-align:left;vertical-align:top}\n",
    "th{background:var(--panel);font-weight:600}\n",
    "td.prop{white-space:nowrap}.pp{color:var(--muted);font-size:.9em}\n",
    "td.d1{padding-left:1.6em}td.d2{padding-left:2.6em}td.d3{padding-left:3.6em}td.d4{padding-left:4.6em}"
    "td.d5{padding-left:5.6em}td.d6{padding-left:6.6em}td.d7{padding-left:7.6em}td.d8{padding-left:8.6em}td.d9{padding-left:9.6em}\n",
    "td.type{white-space:nowrap;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}\n",
    "td.cut{color:var(--muted);font-style:italic}\n",
    ".c{display:inline-block;background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:0 .35em;"
    "margin:0 .25em .15em 0;font-size:.86em;overflow-wrap:anywhere}\n",
    ".desc p,.desc ul,.desc ol{margin:.2em 0}\n",
    ".dir{display:inline-block;font-weight:600;border-radius:4px;padding:.02em .5em;font-size:.88em;white-space:nowrap}\n",
    ".dir.pub{color:var(--pub);border:1px solid var(--pub)}.dir.sub{color:var(--sub);border:1px solid var(--sub)}\n",
    ".gen{color:var(--muted);font-style:italic;font-size:.9em}\n",
    ".live{font-size:.85em;color:var(--muted)}\n",
    "ul.links{padding-left:1.2em}\n",
    "figure{margin:.6em 0}figcaption{font-size:.9em;color:var(--muted)}\n",
    "footer{border-top:1px solid var(--line);color:var(--muted);font-size:.85em;padding:1em 1.5em}\n",
    "@media (max-width:52rem){.layout{display:block}nav.toc{position:static;max-height:none;border-right:0;"
    "border-bottom:1px solid var(--line);padding:1em}main{padding:.5em 1em 2em}header.top{padding:1em}"
    "header.top h1{font-size:1.5em}.card{padding:.2em .8em .8em}td.prop{white-space:normal}"
    "dl.kv{grid-template-columns:minmax(0,1fr)}dl.kv dd{margin-bottom:.4em}}\n",
    "@media print{nav.toc,.skip{display:none}.layout{display:block}body{font-size:10.5pt;background:#fff;color:#000}"
    "main{padding:0}.card{border-color:#999}pre{white-space:pre-wrap;overflow:visible}.tbl{overflow:visible}"
    "a{color:#000}main a[href^=\"http\"]::after{content:\" (\" attr(href) \")\";font-size:.85em}"
    "header.top{background:none}h2,h3,h4{break-after:avoid}tr,pre,figure{break-inside:avoid}}\n",
    NULL,
};

/* ---- small helpers ---- */

static void h(asyncapi__dbuf *b, const char *s)
{
    asyncapi__html_esc(b, s);
}

/* Markdown block (spec description) shifted so "#" lands below the card heading. */
static void md_block(asyncapi__dbuf *b, const char *md, int shift)
{
    if (md == NULL || md[0] == '\0')
        return;
    asyncapi__dbuf_puts(b, "<div class=\"md\">\n");
    asyncapi__md_to_html(b, md, shift);
    asyncapi__dbuf_puts(b, "</div>\n");
}

static void json_pre(asyncapi__dbuf *b, const cJSON *v)
{
    char *s;

    if (v == NULL)
        return;
    if (cJSON_IsString(v)) {
        /* a non-JSON payload example (text, XML...): show as written */
        asyncapi__dbuf_puts(b, "<pre><code>");
        h(b, v->valuestring);
        asyncapi__dbuf_puts(b, "</code></pre>\n");
        return;
    }
    s = asyncapi__docs_json(v);
    if (s == NULL) {
        b->err = b->err ? b->err : ASYNCAPI_ENOMEM;
        return;
    }
    asyncapi__dbuf_puts(b, "<pre><code>");
    h(b, s);
    asyncapi__dbuf_puts(b, "</code></pre>\n");
    free(s);
}

/* Escaped text with a <wbr> after each '/', so long topic-like ids wrap at levels. */
static void h_wbr(asyncapi__dbuf *b, const char *s)
{
    const char *p;

    if (s == NULL)
        return;
    while ((p = strchr(s, '/')) != NULL) {
        asyncapi__html_escn(b, s, (size_t)(p - s) + 1);
        asyncapi__dbuf_puts(b, "<wbr>");
        s = p + 1;
    }
    h(b, s);
}

static void link_wbr(asyncapi__dbuf *b, const char *anchor, const char *text)
{
    asyncapi__dbuf_printf(b, "<a href=\"#%s\">", anchor);
    h_wbr(b, text);
    asyncapi__dbuf_puts(b, "</a>");
}

static void link_to(asyncapi__dbuf *b, const char *anchor, const char *text)
{
    if (anchor) {
        asyncapi__dbuf_printf(b, "<a href=\"#%s\">", anchor);
        h(b, text);
        asyncapi__dbuf_puts(b, "</a>");
    } else {
        h(b, text);
    }
}

static const char *op_anchor(const asyncapi__docs_ctx *ctx, const asyncapi_operation *op)
{
    for (size_t i = 0; i < ctx->n_ops; i++)
        if (&ctx->ops[i] == op)
            return ctx->a_op ? ctx->a_op[i] : NULL;
    return NULL;
}

static int same_channel(const asyncapi_channel *a, const asyncapi_channel *c)
{
    if (a == NULL || c == NULL)
        return 0;
    return a == c || (a->id && c->id && strcmp(a->id, c->id) == 0);
}

static int same_message(const asyncapi_message *a, const asyncapi_message *m)
{
    if (a == NULL || m == NULL)
        return 0;
    return a == m || (a->node && a->node == m->node) ||
           (a->id && m->id && strcmp(a->id, m->id) == 0);
}

static const char *msg_label(const asyncapi_message *m)
{
    if (m->title)
        return m->title;
    if (m->name)
        return m->name;
    return m->id ? m->id : "message";
}

static void direction(asyncapi__dbuf *b, asyncapi_action a)
{
    if (a == ASYNCAPI_RECEIVE)
        asyncapi__dbuf_puts(b, "<span class=\"dir pub\" title=\"the application receives\">"
                               "\xE2\x86\x91 devices publish here</span>");
    else
        asyncapi__dbuf_puts(b, "<span class=\"dir sub\" title=\"the application sends\">"
                               "\xE2\x86\x93 devices receive this</span>");
}

static void live_counts(asyncapi__dbuf *b, const asyncapi_docs_channel_stats *st)
{
    asyncapi__dbuf_printf(b, "%llu events, %llu dead letters", st ? st->events : 0ULL,
                          st ? st->dead_letters : 0ULL);
}

static void bindings_block(asyncapi__dbuf *b, const cJSON *bindings)
{
    if (!cJSON_IsObject(bindings) || bindings->child == NULL)
        return;
    asyncapi__dbuf_puts(b, "<h4>Bindings</h4>\n");
    json_pre(b, bindings);
}

/* "type" + constraint chips of a schema, for parameter rows. */
static void schema_summary(asyncapi__dbuf *b, const cJSON *schema)
{
    asyncapi__dbuf t;
    size_t i, s;

    if (schema == NULL)
        return;
    asyncapi__dbuf_init(&t);
    asyncapi__schema_type(&t, schema);
    asyncapi__dbuf_puts(b, "<code>");
    asyncapi__html_escn(b, t.data ? t.data : "", t.len);
    asyncapi__dbuf_puts(b, "</code> ");
    asyncapi__dbuf_release(&t);
    asyncapi__schema_constraints(&t, schema);
    for (i = 0, s = 0; t.len && i <= t.len; i++) {
        if (i == t.len || t.data[i] == '\x1f') {
            asyncapi__dbuf_puts(b, "<span class=\"c\">");
            asyncapi__html_escn(b, t.data + s, i - s);
            asyncapi__dbuf_puts(b, "</span> ");
            s = i + 1;
        }
    }
    if (t.err)
        b->err = b->err ? b->err : t.err;
    asyncapi__dbuf_release(&t);
}

/* ---- sections ---- */

static void page_head(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx, const char *title)
{
    const asyncapi_info *info = ctx->info;

    asyncapi__dbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                           "<meta name=\"generator\" content=\"");
    h(b, ctx->opts->generator ? ctx->opts->generator : "asyncbridge");
    asyncapi__dbuf_puts(b, "\">\n<title>");
    h(b, title);
    if (info && info->version) {
        asyncapi__dbuf_puts(b, " ");
        h(b, info->version);
    }
    asyncapi__dbuf_puts(b, " \xE2\x80\x93 API documentation</title>\n<style>\n");
    for (size_t i = 0; page_css[i]; i++)
        asyncapi__dbuf_puts(b, page_css[i]);
    asyncapi__dbuf_puts(b, "</style>\n</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n"
                           "<header class=\"top\">\n<h1>");
    h(b, title);
    asyncapi__dbuf_puts(b, "</h1>\n<p class=\"meta\">");
    if (info && info->version) {
        asyncapi__dbuf_puts(b, "<span class=\"badge\">version ");
        h(b, info->version);
        asyncapi__dbuf_puts(b, "</span>");
    }
    if (info && info->asyncapi) {
        asyncapi__dbuf_puts(b, "<span class=\"badge\">AsyncAPI ");
        h(b, info->asyncapi);
        asyncapi__dbuf_puts(b, "</span>");
    }
    if (info && info->id) {
        asyncapi__dbuf_puts(b, "<span class=\"badge\">");
        h(b, info->id);
        asyncapi__dbuf_puts(b, "</span>");
    }
    asyncapi__dbuf_puts(b, "</p>\n</header>\n");
}

static void toc(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    size_t i;

    asyncapi__dbuf_puts(b, "<nav class=\"toc\" aria-label=\"Contents\">\n<h2>Contents</h2>\n<ul>\n"
                           "<li><a href=\"#overview\">Overview</a></li>\n");
    if (ctx->n_servers) {
        asyncapi__dbuf_puts(b, "<li><a href=\"#servers\">Servers</a>\n<ul>\n");
        for (i = 0; i < ctx->n_servers; i++) {
            asyncapi__dbuf_puts(b, "<li>");
            link_to(b, ctx->a_server[i], ctx->servers[i].id ? ctx->servers[i].id : "server");
            asyncapi__dbuf_puts(b, "</li>\n");
        }
        asyncapi__dbuf_puts(b, "</ul></li>\n");
    }
    if (ctx->opts->extra_title) {
        asyncapi__dbuf_puts(b, "<li><a href=\"#bridge\">");
        h(b, ctx->opts->extra_title);
        asyncapi__dbuf_puts(b, "</a></li>\n");
    }
    if (ctx->n_channels) {
        asyncapi__dbuf_puts(b, "<li><a href=\"#channels\">Channels</a>\n<ul>\n");
        for (i = 0; i < ctx->n_channels; i++) {
            asyncapi__dbuf_puts(b, "<li>");
            link_wbr(b, ctx->a_channel[i], ctx->channels[i].id ? ctx->channels[i].id : "channel");
            if (ctx->opts->stats) {
                const asyncapi_docs_channel_stats *st = asyncapi__docs_stats(ctx, ctx->channels[i].id);
                asyncapi__dbuf_printf(b, " <span class=\"n\">(%llu)</span>", st ? st->events : 0ULL);
            }
            asyncapi__dbuf_puts(b, "</li>\n");
        }
        asyncapi__dbuf_puts(b, "</ul></li>\n");
    }
    if (ctx->n_ops) {
        asyncapi__dbuf_puts(b, "<li><a href=\"#operations\">Operations</a>\n<ul>\n");
        for (i = 0; i < ctx->n_ops; i++) {
            asyncapi__dbuf_puts(b, ctx->ops[i].action == ASYNCAPI_RECEIVE
                                       ? "<li><span class=\"n\" title=\"devices publish here\">\xE2\x86\x91</span> "
                                       : "<li><span class=\"n\" title=\"devices receive this\">\xE2\x86\x93</span> ");
            link_wbr(b, ctx->a_op[i], ctx->ops[i].id ? ctx->ops[i].id : "operation");
            asyncapi__dbuf_puts(b, "</li>\n");
        }
        asyncapi__dbuf_puts(b, "</ul></li>\n");
    }
    if (ctx->n_msgs) {
        asyncapi__dbuf_puts(b, "<li><a href=\"#messages\">Messages</a>\n<ul>\n");
        for (i = 0; i < ctx->n_msgs; i++) {
            asyncapi__dbuf_puts(b, "<li>");
            link_to(b, ctx->a_msg[i], msg_label(&ctx->msgs[i]));
            asyncapi__dbuf_puts(b, "</li>\n");
        }
        asyncapi__dbuf_puts(b, "</ul></li>\n");
    }
    if (ctx->n_schemas) {
        const cJSON *e;
        asyncapi__dbuf_puts(b, "<li><a href=\"#schemas\">Schemas</a>\n<ul>\n");
        i = 0;
        cJSON_ArrayForEach(e, ctx->comp_schemas) {
            asyncapi__dbuf_puts(b, "<li>");
            link_to(b, ctx->a_schema[i++], e->string);
            asyncapi__dbuf_puts(b, "</li>\n");
        }
        asyncapi__dbuf_puts(b, "</ul></li>\n");
    }
    asyncapi__dbuf_puts(b, "</ul>\n</nav>\n");
}

/* A link from spec data (license.url etc.): only safe schemes become links. */
static void spec_link(asyncapi__dbuf *b, const char *url, const char *text)
{
    if (url && asyncapi__docs_safe_url(url, strlen(url))) {
        asyncapi__dbuf_puts(b, "<a href=\"");
        h(b, url);
        asyncapi__dbuf_puts(b, "\" rel=\"nofollow noopener noreferrer\">");
        h(b, text ? text : url);
        asyncapi__dbuf_puts(b, "</a>");
    } else {
        h(b, text ? text : url);
        if (url && text) {
            asyncapi__dbuf_puts(b, " (<code>");
            h(b, url);
            asyncapi__dbuf_puts(b, "</code>)");
        }
    }
}

static const char *str_item(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void overview(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    const asyncapi_info *info = ctx->info;
    const cJSON *node = info ? info->node : NULL, *o, *tags, *e;

    asyncapi__dbuf_puts(b, "<section id=\"overview\">\n<h2>Overview</h2>\n");
    if (info)
        md_block(b, info->description, 2);
    asyncapi__dbuf_puts(b, "<dl class=\"kv\">\n");
    if (info && info->default_content_type) {
        asyncapi__dbuf_puts(b, "<dt>Default content type</dt><dd><code>");
        h(b, info->default_content_type);
        asyncapi__dbuf_puts(b, "</code></dd>\n");
    }
    if (cJSON_IsObject(o = cJSON_GetObjectItemCaseSensitive(node, "license"))) {
        asyncapi__dbuf_puts(b, "<dt>License</dt><dd>");
        spec_link(b, str_item(o, "url"), str_item(o, "name") ? str_item(o, "name") : "license");
        asyncapi__dbuf_puts(b, "</dd>\n");
    }
    if (cJSON_IsObject(o = cJSON_GetObjectItemCaseSensitive(node, "contact"))) {
        asyncapi__dbuf_puts(b, "<dt>Contact</dt><dd>");
        if (str_item(o, "name"))
            h(b, str_item(o, "name"));
        if (str_item(o, "url")) {
            asyncapi__dbuf_puts(b, " ");
            spec_link(b, str_item(o, "url"), NULL);
        }
        if (str_item(o, "email")) {
            char mail[600];
            int w = snprintf(mail, sizeof(mail), "mailto:%s", str_item(o, "email"));
            asyncapi__dbuf_puts(b, " ");
            if (w > 0 && (size_t)w < sizeof(mail))
                spec_link(b, mail, str_item(o, "email"));
            else
                h(b, str_item(o, "email"));
        }
        asyncapi__dbuf_puts(b, "</dd>\n");
    }
    if (cJSON_IsString(e = cJSON_GetObjectItemCaseSensitive(node, "termsOfService"))) {
        asyncapi__dbuf_puts(b, "<dt>Terms of service</dt><dd>");
        spec_link(b, e->valuestring, NULL);
        asyncapi__dbuf_puts(b, "</dd>\n");
    }
    /* 3.0 puts tags/externalDocs in info, 2.x at the root */
    tags = cJSON_GetObjectItemCaseSensitive(node, "tags");
    if (!cJSON_IsArray(tags))
        tags = cJSON_GetObjectItemCaseSensitive(ctx->root, "tags");
    if (cJSON_IsArray(tags) && tags->child) {
        asyncapi__dbuf_puts(b, "<dt>Tags</dt><dd>");
        cJSON_ArrayForEach(e, tags) {
            if (str_item(e, "name")) {
                asyncapi__dbuf_puts(b, "<span class=\"badge\">");
                h(b, str_item(e, "name"));
                asyncapi__dbuf_puts(b, "</span>");
            }
        }
        asyncapi__dbuf_puts(b, "</dd>\n");
    }
    o = cJSON_GetObjectItemCaseSensitive(node, "externalDocs");
    if (!cJSON_IsObject(o))
        o = cJSON_GetObjectItemCaseSensitive(ctx->root, "externalDocs");
    if (cJSON_IsObject(o) && str_item(o, "url")) {
        asyncapi__dbuf_puts(b, "<dt>More documentation</dt><dd>");
        spec_link(b, str_item(o, "url"), str_item(o, "description"));
        asyncapi__dbuf_puts(b, "</dd>\n");
    }
    asyncapi__dbuf_printf(b, "<dt>Contents</dt><dd>%zu channels, %zu operations, %zu messages</dd>\n",
                          ctx->n_channels, ctx->n_ops, ctx->n_msgs);
    asyncapi__dbuf_puts(b, "</dl>\n</section>\n");
}

static void servers(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    size_t i;
    const cJSON *vars, *v, *sec, *e;

    if (ctx->n_servers == 0)
        return;
    asyncapi__dbuf_puts(b, "<section id=\"servers\">\n<h2>Servers</h2>\n");
    for (i = 0; i < ctx->n_servers; i++) {
        const asyncapi_server *s = &ctx->servers[i];
        asyncapi__dbuf_printf(b, "<article class=\"card\" id=\"%s\">\n<h3><a class=\"self\" href=\"#%s\">",
                              ctx->a_server[i], ctx->a_server[i]);
        h(b, s->id);
        asyncapi__dbuf_puts(b, "</a></h3>\n<dl class=\"kv\">\n");
        if (s->url) {
            asyncapi__dbuf_puts(b, "<dt>URL</dt><dd><code>");
            h(b, s->url);
            asyncapi__dbuf_puts(b, "</code></dd>\n");
        }
        if (s->host && (s->url == NULL || strcmp(s->url, s->host) != 0)) {
            asyncapi__dbuf_puts(b, "<dt>Host</dt><dd><code>");
            h(b, s->host);
            asyncapi__dbuf_puts(b, "</code></dd>\n");
        }
        if (s->pathname) {
            asyncapi__dbuf_puts(b, "<dt>Path</dt><dd><code>");
            h(b, s->pathname);
            asyncapi__dbuf_puts(b, "</code></dd>\n");
        }
        asyncapi__dbuf_puts(b, "<dt>Protocol</dt><dd>");
        h(b, s->protocol ? s->protocol : "unknown");
        if (s->protocol_version) {
            asyncapi__dbuf_puts(b, " ");
            h(b, s->protocol_version);
        }
        if (s->is_mqtt)
            asyncapi__dbuf_puts(b, " <span class=\"badge\">MQTT</span>");
        asyncapi__dbuf_puts(b, "</dd>\n");
        sec = cJSON_GetObjectItemCaseSensitive(s->node, "security");
        if (cJSON_IsArray(sec) && sec->child) {
            asyncapi__dbuf_puts(b, "<dt>Security</dt><dd>");
            cJSON_ArrayForEach(e, sec) {
                const char *t = str_item(e, "type");
                asyncapi__dbuf_puts(b, "<span class=\"c\">");
                if (t) {
                    h(b, t);
                } else if (cJSON_IsObject(e) && e->child) {
                    h(b, e->child->string);
                } else {
                    asyncapi__dbuf_puts(b, "scheme");
                }
                asyncapi__dbuf_puts(b, "</span> ");
            }
            asyncapi__dbuf_puts(b, "</dd>\n");
        }
        asyncapi__dbuf_puts(b, "</dl>\n");
        md_block(b, s->description, 3);
        vars = cJSON_GetObjectItemCaseSensitive(s->node, "variables");
        if (cJSON_IsObject(vars) && vars->child) {
            asyncapi__dbuf_puts(b, "<h4>Variables</h4>\n<div class=\"tbl\"><table><thead><tr><th>Name</th>"
                                   "<th>Default</th><th>Allowed</th><th>Description</th></tr></thead><tbody>\n");
            cJSON_ArrayForEach(v, vars) {
                const cJSON *en = cJSON_GetObjectItemCaseSensitive(v, "enum");
                asyncapi__dbuf_puts(b, "<tr><td><code>");
                h(b, v->string);
                asyncapi__dbuf_puts(b, "</code></td><td>");
                if (str_item(v, "default")) {
                    asyncapi__dbuf_puts(b, "<code>");
                    h(b, str_item(v, "default"));
                    asyncapi__dbuf_puts(b, "</code>");
                }
                asyncapi__dbuf_puts(b, "</td><td>");
                if (cJSON_IsArray(en))
                    cJSON_ArrayForEach(e, en) {
                        if (cJSON_IsString(e)) {
                            asyncapi__dbuf_puts(b, "<code>");
                            h(b, e->valuestring);
                            asyncapi__dbuf_puts(b, "</code> ");
                        }
                    }
                asyncapi__dbuf_puts(b, "</td><td>");
                if (str_item(v, "description"))
                    asyncapi__md_inline_html(b, str_item(v, "description"),
                                             strlen(str_item(v, "description")));
                asyncapi__dbuf_puts(b, "</td></tr>\n");
            }
            asyncapi__dbuf_puts(b, "</tbody></table></div>\n");
        }
        bindings_block(b, s->bindings);
        asyncapi__dbuf_puts(b, "</article>\n");
    }
    asyncapi__dbuf_puts(b, "</section>\n");
}

/* Links the bridge passes in may be relative ("/openapi.json"). */
static int extra_url_ok(const char *u)
{
    size_t n;

    if (u == NULL)
        return 0;
    n = strlen(u);
    if (asyncapi__docs_safe_url(u, n))
        return 1;
    if (u[0] != '/' || u[1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == '"' || u[i] == '<' || u[i] == '>' ||
            u[i] == '\'' || u[i] == '\\')
            return 0;
    return 1;
}

static void extra(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    const asyncapi_docs_options *o = ctx->opts;

    if (o->extra_title == NULL)
        return;
    asyncapi__dbuf_puts(b, "<section id=\"bridge\">\n<h2>");
    h(b, o->extra_title);
    asyncapi__dbuf_puts(b, "</h2>\n");
    md_block(b, o->extra_markdown, 2);
    if (o->n_links && o->links) {
        asyncapi__dbuf_puts(b, "<ul class=\"links\">\n");
        for (size_t i = 0; i < o->n_links; i++) {
            const asyncapi_docs_link *l = &o->links[i];
            asyncapi__dbuf_puts(b, "<li>");
            if (extra_url_ok(l->href)) {
                asyncapi__dbuf_puts(b, "<a href=\"");
                h(b, l->href);
                asyncapi__dbuf_puts(b, "\">");
                h(b, l->label ? l->label : l->href);
                asyncapi__dbuf_puts(b, "</a>");
            } else {
                h(b, l->label ? l->label : l->href);
            }
            if (l->description) {
                asyncapi__dbuf_puts(b, " \xE2\x80\x93 ");
                h(b, l->description);
            }
            asyncapi__dbuf_puts(b, "</li>\n");
        }
        asyncapi__dbuf_puts(b, "</ul>\n");
    }
    if (o->stats) {
        size_t i;
        if (o->stats_note) {
            asyncapi__dbuf_puts(b, "<p class=\"live\">");
            h(b, o->stats_note);
            asyncapi__dbuf_puts(b, "</p>\n");
        }
        asyncapi__dbuf_puts(b, "<div class=\"tbl\"><table><thead><tr><th>Channel</th><th>Events</th>"
                               "<th>Dead letters</th></tr></thead><tbody>\n");
        for (i = 0; i < ctx->n_channels; i++) {
            const asyncapi_docs_channel_stats *st = asyncapi__docs_stats(ctx, ctx->channels[i].id);
            asyncapi__dbuf_puts(b, "<tr><td>");
            link_to(b, ctx->a_channel[i], ctx->channels[i].id);
            asyncapi__dbuf_printf(b, "</td><td>%llu</td><td>%llu</td></tr>\n", st ? st->events : 0ULL,
                                  st ? st->dead_letters : 0ULL);
        }
        asyncapi__dbuf_puts(b, "</tbody></table></div>\n");
    }
    asyncapi__dbuf_puts(b, "</section>\n");
}

static void param_examples(asyncapi__dbuf *b, const asyncapi_param *p)
{
    const cJSON *ex = NULL, *e;

    if (p->node)
        ex = cJSON_GetObjectItemCaseSensitive(p->node, "examples");
    if (!cJSON_IsArray(ex) && p->schema)
        ex = cJSON_GetObjectItemCaseSensitive(p->schema, "examples");
    if (!cJSON_IsArray(ex))
        return;
    cJSON_ArrayForEach(e, ex) {
        char *s = cJSON_IsString(e) ? NULL : cJSON_PrintUnformatted(e);
        asyncapi__dbuf_puts(b, "<code>");
        h(b, s ? s : (cJSON_IsString(e) ? e->valuestring : ""));
        asyncapi__dbuf_puts(b, "</code> ");
        free(s);
    }
}

static void channels(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    size_t i, k;

    if (ctx->n_channels == 0)
        return;
    asyncapi__dbuf_puts(b, "<section id=\"channels\">\n<h2>Channels</h2>\n");
    for (i = 0; i < ctx->n_channels; i++) {
        const asyncapi_channel *c = &ctx->channels[i];
        const char *a = ctx->a_channel[i];
        int any = 0;

        asyncapi__dbuf_printf(b, "<article class=\"card\" id=\"%s\">\n<h3><a class=\"self\" href=\"#%s\">", a, a);
        h_wbr(b, c->id);
        asyncapi__dbuf_puts(b, "</a></h3>\n<dl class=\"kv\">\n<dt>Address</dt><dd>");
        if (c->address) {
            asyncapi__dbuf_puts(b, "<code>");
            h(b, c->address);
            asyncapi__dbuf_puts(b, "</code>");
        } else {
            asyncapi__dbuf_puts(b, "<em>dynamic (no address)</em>");
        }
        asyncapi__dbuf_puts(b, "</dd>\n<dt>MQTT topic filter</dt><dd>");
        if (c->topic_filter) {
            asyncapi__dbuf_puts(b, "<code>");
            h(b, c->topic_filter);
            asyncapi__dbuf_puts(b, "</code>");
        } else {
            asyncapi__dbuf_puts(b, "<em>none</em>");
        }
        asyncapi__dbuf_puts(b, "</dd>\n");
        if (ctx->opts->stats) {
            asyncapi__dbuf_puts(b, "<dt>Live</dt><dd class=\"live\">");
            live_counts(b, asyncapi__docs_stats(ctx, c->id));
            asyncapi__dbuf_puts(b, "</dd>\n");
        }
        asyncapi__dbuf_puts(b, "</dl>\n");
        md_block(b, c->description, 3);

        if (c->n_params) {
            asyncapi__dbuf_puts(b, "<h4>Parameters</h4>\n<div class=\"tbl\"><table><thead><tr><th>Name</th>"
                                   "<th>Description</th><th>Schema</th><th>Examples</th></tr></thead><tbody>\n");
            for (k = 0; k < c->n_params; k++) {
                const asyncapi_param *p = &c->params[k];
                asyncapi__dbuf_puts(b, "<tr><td><code>");
                h(b, p->name);
                asyncapi__dbuf_puts(b, "</code></td><td>");
                if (p->description)
                    asyncapi__md_inline_html(b, p->description, strlen(p->description));
                if (p->location) {
                    asyncapi__dbuf_puts(b, " <span class=\"c\">location: ");
                    h(b, p->location);
                    asyncapi__dbuf_puts(b, "</span>");
                }
                asyncapi__dbuf_puts(b, "</td><td>");
                if (p->schema)
                    schema_summary(b, p->schema);
                else
                    asyncapi__dbuf_puts(b, "<code>string</code>");
                asyncapi__dbuf_puts(b, "</td><td>");
                param_examples(b, p);
                asyncapi__dbuf_puts(b, "</td></tr>\n");
            }
            asyncapi__dbuf_puts(b, "</tbody></table></div>\n");
        }

        for (k = 0; k < ctx->n_ops; k++) {
            const asyncapi_operation *op = &ctx->ops[k];
            if (!same_channel(op->channel, c))
                continue;
            if (!any++)
                asyncapi__dbuf_puts(b, "<h4>Operations</h4>\n<ul>\n");
            asyncapi__dbuf_puts(b, "<li>");
            direction(b, op->action);
            asyncapi__dbuf_puts(b, " ");
            link_to(b, ctx->a_op[k], op->id);
            if (op->qos >= 0)
                asyncapi__dbuf_printf(b, " <span class=\"c\">QoS %d</span>", op->qos);
            if (op->summary) {
                asyncapi__dbuf_puts(b, " \xE2\x80\x93 ");
                h(b, op->summary);
            }
            asyncapi__dbuf_puts(b, "</li>\n");
        }
        if (any)
            asyncapi__dbuf_puts(b, "</ul>\n");
        if (c->n_messages) {
            asyncapi__dbuf_puts(b, "<h4>Messages</h4>\n<ul>\n");
            for (k = 0; k < c->n_messages; k++) {
                const asyncapi_message *m = c->messages[k];
                if (m == NULL)
                    continue;
                asyncapi__dbuf_puts(b, "<li>");
                link_to(b, asyncapi__docs_msg_anchor(ctx, m), msg_label(m));
                if (m->summary) {
                    asyncapi__dbuf_puts(b, " \xE2\x80\x93 ");
                    h(b, m->summary);
                }
                asyncapi__dbuf_puts(b, "</li>\n");
            }
            asyncapi__dbuf_puts(b, "</ul>\n");
        }
        bindings_block(b, c->bindings);
        asyncapi__dbuf_puts(b, "</article>\n");
    }
    asyncapi__dbuf_puts(b, "</section>\n");
}

/* 3.0 request/reply: where the answer goes (channel, messages, address). */
static void reply_row(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx, const cJSON *reply)
{
    const cJSON *ch, *msgs, *e, *addr;
    size_t i;
    int any = 0;

    if (!cJSON_IsObject(reply))
        return;
    asyncapi__dbuf_puts(b, "<dt>Reply</dt><dd>");
    ch = cJSON_GetObjectItemCaseSensitive(reply, "channel");
    if (cJSON_IsObject(ch)) {
        const char *address = str_item(ch, "address");
        for (i = 0; i < ctx->n_channels; i++)
            if (ctx->channels[i].node == ch || cJSON_Compare(ctx->channels[i].node, ch, 1))
                break;
        asyncapi__dbuf_puts(b, "on ");
        if (i < ctx->n_channels)
            link_to(b, ctx->a_channel[i], ctx->channels[i].id);
        else if (address)
            h(b, address);
        else
            asyncapi__dbuf_puts(b, "a channel");
        any = 1;
    }
    msgs = cJSON_GetObjectItemCaseSensitive(reply, "messages");
    if (cJSON_IsArray(msgs) && msgs->child) {
        asyncapi__dbuf_puts(b, any ? ", messages " : "messages ");
        cJSON_ArrayForEach(e, msgs) {
            const char *label = str_item(e, "title") ? str_item(e, "title") : str_item(e, "name");
            for (i = 0; i < ctx->n_msgs; i++)
                if (ctx->msgs[i].node == e || cJSON_Compare(ctx->msgs[i].node, e, 1))
                    break;
            if (i < ctx->n_msgs)
                link_to(b, ctx->a_msg[i], msg_label(&ctx->msgs[i]));
            else
                h(b, label ? label : "message");
            asyncapi__dbuf_puts(b, e->next ? ", " : "");
        }
        any = 1;
    }
    addr = cJSON_GetObjectItemCaseSensitive(reply, "address");
    if (cJSON_IsObject(addr) && str_item(addr, "location")) {
        asyncapi__dbuf_puts(b, any ? ", address from <code>" : "address from <code>");
        h(b, str_item(addr, "location"));
        asyncapi__dbuf_puts(b, "</code>");
    }
    asyncapi__dbuf_puts(b, "</dd>\n");
}

static void operations(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    size_t i, k;

    if (ctx->n_ops == 0)
        return;
    asyncapi__dbuf_puts(b, "<section id=\"operations\">\n<h2>Operations</h2>\n");
    for (i = 0; i < ctx->n_ops; i++) {
        const asyncapi_operation *op = &ctx->ops[i];
        const char *a = ctx->a_op[i];

        asyncapi__dbuf_printf(b, "<article class=\"card\" id=\"%s\">\n<h3><a class=\"self\" href=\"#%s\">", a, a);
        h_wbr(b, op->id);
        asyncapi__dbuf_puts(b, "</a></h3>\n<p>");
        direction(b, op->action);
        asyncapi__dbuf_puts(b, "</p>\n<dl class=\"kv\">\n<dt>Application</dt><dd>");
        asyncapi__dbuf_puts(b, op->action == ASYNCAPI_RECEIVE ? "receives" : "sends");
        if (op->action_word) {
            asyncapi__dbuf_puts(b, " <span class=\"c\">");
            h(b, op->action_word);
            asyncapi__dbuf_puts(b, "</span>");
        }
        asyncapi__dbuf_puts(b, "</dd>\n<dt>Channel</dt><dd>");
        if (op->channel) {
            link_to(b, asyncapi__docs_channel_anchor(ctx, op->channel), op->channel->id);
            if (op->channel->address &&
                (op->channel->id == NULL || strcmp(op->channel->id, op->channel->address) != 0)) {
                asyncapi__dbuf_puts(b, " <code>");
                h(b, op->channel->address);
                asyncapi__dbuf_puts(b, "</code>");
            }
        }
        asyncapi__dbuf_puts(b, "</dd>\n<dt>QoS</dt><dd>");
        if (op->qos >= 0)
            asyncapi__dbuf_printf(b, "%d", op->qos);
        else
            asyncapi__dbuf_puts(b, "not specified");
        asyncapi__dbuf_puts(b, "</dd>\n");
        reply_row(b, ctx, cJSON_GetObjectItemCaseSensitive(op->node, "reply"));
        if (op->summary) {
            asyncapi__dbuf_puts(b, "<dt>Summary</dt><dd>");
            h(b, op->summary);
            asyncapi__dbuf_puts(b, "</dd>\n");
        }
        asyncapi__dbuf_puts(b, "</dl>\n");
        md_block(b, op->description, 3);
        if (op->n_messages) {
            asyncapi__dbuf_puts(b, "<h4>Messages</h4>\n<ul>\n");
            for (k = 0; k < op->n_messages; k++) {
                const asyncapi_message *m = op->messages[k];
                if (m == NULL)
                    continue;
                asyncapi__dbuf_puts(b, "<li>");
                link_to(b, asyncapi__docs_msg_anchor(ctx, m), msg_label(m));
                asyncapi__dbuf_puts(b, "</li>\n");
            }
            asyncapi__dbuf_puts(b, "</ul>\n");
        }
        bindings_block(b, op->bindings);
        asyncapi__dbuf_puts(b, "</article>\n");
    }
    asyncapi__dbuf_puts(b, "</section>\n");
}

static void message_examples(asyncapi__dbuf *b, const asyncapi_message *m)
{
    const cJSON *e, *v;
    int n = 0;

    if (cJSON_IsArray(m->examples) && m->examples->child) {
        asyncapi__dbuf_puts(b, "<h4>Examples</h4>\n");
        cJSON_ArrayForEach(e, m->examples) {
            n++;
            asyncapi__dbuf_puts(b, "<figure>\n<figcaption>");
            if (str_item(e, "name") || str_item(e, "summary")) {
                if (str_item(e, "name")) {
                    asyncapi__dbuf_puts(b, "<strong>");
                    h(b, str_item(e, "name"));
                    asyncapi__dbuf_puts(b, "</strong> ");
                }
                h(b, str_item(e, "summary"));
            } else {
                asyncapi__dbuf_printf(b, "Example %d", n);
            }
            asyncapi__dbuf_puts(b, "</figcaption>\n");
            if (cJSON_IsObject(e) && ((v = cJSON_GetObjectItemCaseSensitive(e, "headers")) != NULL)) {
                asyncapi__dbuf_puts(b, "<div class=\"gen\">headers</div>\n");
                json_pre(b, v);
            }
            if (cJSON_IsObject(e) && ((v = cJSON_GetObjectItemCaseSensitive(e, "payload")) != NULL)) {
                if (cJSON_GetObjectItemCaseSensitive(e, "headers"))
                    asyncapi__dbuf_puts(b, "<div class=\"gen\">payload</div>\n");
                json_pre(b, v);
            } else if (!cJSON_IsObject(e) || !cJSON_GetObjectItemCaseSensitive(e, "headers")) {
                json_pre(b, e); /* 2.0-style bare example */
            }
            asyncapi__dbuf_puts(b, "</figure>\n");
        }
        return;
    }
    if (m->payload) {
        cJSON *gen = asyncapi__docs_example(m->payload);
        if (gen == NULL) {
            b->err = b->err ? b->err : ASYNCAPI_ENOMEM;
            return;
        }
        asyncapi__dbuf_puts(b, "<h4>Example <span class=\"gen\">(generated from the schema)</span></h4>\n"
                               "<figure class=\"generated\">\n");
        json_pre(b, gen);
        asyncapi__dbuf_puts(b, "</figure>\n");
        cJSON_Delete(gen);
    }
}

static void messages(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    size_t i, k, j;
    char tid[200];

    if (ctx->n_msgs == 0)
        return;
    asyncapi__dbuf_puts(b, "<section id=\"messages\">\n<h2>Messages</h2>\n");
    for (i = 0; i < ctx->n_msgs; i++) {
        const asyncapi_message *m = &ctx->msgs[i];
        const char *a = ctx->a_msg[i];
        int any = 0;

        asyncapi__dbuf_printf(b, "<article class=\"card\" id=\"%s\">\n<h3><a class=\"self\" href=\"#%s\">", a, a);
        h(b, msg_label(m));
        asyncapi__dbuf_puts(b, "</a></h3>\n");
        if (m->summary) {
            asyncapi__dbuf_puts(b, "<p>");
            h(b, m->summary);
            asyncapi__dbuf_puts(b, "</p>\n");
        }
        asyncapi__dbuf_puts(b, "<dl class=\"kv\">\n<dt>Id</dt><dd><code>");
        h(b, m->id);
        asyncapi__dbuf_puts(b, "</code></dd>\n");
        if (m->name) {
            asyncapi__dbuf_puts(b, "<dt>Name</dt><dd><code>");
            h(b, m->name);
            asyncapi__dbuf_puts(b, "</code></dd>\n");
        }
        asyncapi__dbuf_puts(b, "<dt>Content type</dt><dd>");
        if (m->content_type) {
            asyncapi__dbuf_puts(b, "<code>");
            h(b, m->content_type);
            asyncapi__dbuf_puts(b, "</code>");
        } else {
            asyncapi__dbuf_puts(b, "not specified");
        }
        asyncapi__dbuf_puts(b, "</dd>\n");
        if (m->schema_format) {
            asyncapi__dbuf_puts(b, "<dt>Schema format</dt><dd><code>");
            h(b, m->schema_format);
            asyncapi__dbuf_puts(b, "</code></dd>\n");
        }
        if (m->correlation_id) {
            asyncapi__dbuf_puts(b, "<dt>Correlation id</dt><dd><code>");
            h(b, m->correlation_id);
            asyncapi__dbuf_puts(b, "</code></dd>\n");
        }
        /* where it is used */
        for (k = 0; k < ctx->n_ops; k++) {
            const asyncapi_operation *op = &ctx->ops[k];
            for (j = 0; j < op->n_messages; j++)
                if (same_message(op->messages[j], m))
                    break;
            if (j == op->n_messages)
                continue;
            if (!any++)
                asyncapi__dbuf_puts(b, "<dt>Used by</dt><dd>");
            else
                asyncapi__dbuf_puts(b, "<br>");
            direction(b, op->action);
            asyncapi__dbuf_puts(b, " ");
            link_to(b, op_anchor(ctx, op), op->id);
        }
        if (any)
            asyncapi__dbuf_puts(b, "</dd>\n");
        asyncapi__dbuf_puts(b, "</dl>\n");
        md_block(b, m->description, 3);
        if (m->headers) {
            int w = snprintf(tid, sizeof(tid), "%s-headers", a);
            if (w > 0 && (size_t)w < sizeof(tid)) {
                asyncapi__dbuf_puts(b, "<h4>Headers</h4>\n");
                asyncapi__schema_table_html(b, ctx, m->headers, tid);
            }
        }
        if (m->payload) {
            int w = snprintf(tid, sizeof(tid), "%s-payload", a);
            if (w > 0 && (size_t)w < sizeof(tid)) {
                asyncapi__dbuf_puts(b, "<h4>Payload</h4>\n");
                asyncapi__schema_table_html(b, ctx, m->payload, tid);
            }
        }
        message_examples(b, m);
        bindings_block(b, cJSON_GetObjectItemCaseSensitive(m->node, "bindings"));
        asyncapi__dbuf_puts(b, "</article>\n");
    }
    asyncapi__dbuf_puts(b, "</section>\n");
}

static void schemas(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx)
{
    const cJSON *e, *d;
    size_t i = 0;
    char tid[200];

    if (ctx->n_schemas == 0)
        return;
    asyncapi__dbuf_puts(b, "<section id=\"schemas\">\n<h2>Schemas</h2>\n");
    cJSON_ArrayForEach(e, ctx->comp_schemas) {
        const char *a = ctx->a_schema[i++];
        int w = snprintf(tid, sizeof(tid), "%s-table", a);
        asyncapi__dbuf_printf(b, "<article class=\"card\" id=\"%s\">\n<h3><a class=\"self\" href=\"#%s\">", a, a);
        h(b, e->string);
        asyncapi__dbuf_puts(b, "</a></h3>\n");
        if (cJSON_IsString(d = cJSON_GetObjectItemCaseSensitive(e, "description")))
            md_block(b, d->valuestring, 3);
        if (w > 0 && (size_t)w < sizeof(tid))
            asyncapi__schema_table_html(b, ctx, e, tid);
        asyncapi__dbuf_puts(b, "</article>\n");
    }
    asyncapi__dbuf_puts(b, "</section>\n");
}

void asyncapi__docs_html(asyncapi__dbuf *b, asyncapi__docs_ctx *ctx)
{
    const char *title = ctx->opts->title;

    if (title == NULL)
        title = ctx->info && ctx->info->title ? ctx->info->title : "AsyncAPI document";
    page_head(b, ctx, title);
    asyncapi__dbuf_puts(b, "<div class=\"layout\">\n");
    toc(b, ctx);
    asyncapi__dbuf_puts(b, "<main id=\"main\">\n");
    overview(b, ctx);
    servers(b, ctx);
    extra(b, ctx);
    channels(b, ctx);
    operations(b, ctx);
    messages(b, ctx);
    schemas(b, ctx);
    asyncapi__dbuf_puts(b, "</main>\n</div>\n<footer>Generated by ");
    h(b, ctx->opts->generator ? ctx->opts->generator : "asyncbridge");
    asyncapi__dbuf_puts(b, " from the AsyncAPI document. Deep links (<code>#channel-&hellip;</code>, "
                           "<code>#message-&hellip;</code>) stay stable across regenerations.</footer>\n"
                           "</body>\n</html>\n");
}
