/* SPDX-License-Identifier: MIT */
/*
 * The payload/headers schema as a readable nested table: one row per
 * property (path, type, required, constraints, description), nested
 * objects, array items, combinators and conditionals indented below their
 * parent; recursive schemas and leftover $refs are cut with a link.
 * Bounded in depth and rows. See docs/docs-generator.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs_int.h"

#define SCHEMA_MAX_DEPTH 12
#define SCHEMA_MAX_ROWS 2000
#define SCHEMA_MAX_ENUM 24
#define SCHEMA_VALUE_MAX 96

enum row_kind {
    ROW_NODE,      /* a schema node */
    ROW_REF,       /* an unresolved $ref, not followed */
    ROW_RECURSIVE, /* already on the path: cut */
    ROW_DEEP,      /* nesting too deep: cut */
    ROW_TRUNCATED, /* row budget exhausted */
};

typedef struct srow {
    enum row_kind kind;
    const char *label;     /* what the property cell shows (last segment) */
    const char *parent;    /* path of the parent, "" at the top */
    int depth;             /* indentation level */
    int required;          /* listed in the parent's required */
    int branch;            /* a combinator/conditional branch: same path as the parent */
    const cJSON *node;     /* the schema node (NULL for TRUNCATED) */
    const char *ref;       /* ROW_REF: the $ref text */
    const char *recursive; /* ROW_RECURSIVE: path of the ancestor */
} srow;

typedef struct swalk {
    asyncapi__dbuf *b;
    const asyncapi__docs_ctx *ctx;
    const char *table_id;
    void (*emit)(struct swalk *w, const srow *r);
    const cJSON *stack[SCHEMA_MAX_DEPTH + 2];
    const char *stack_path[SCHEMA_MAX_DEPTH + 2];
    int top;
    int rows;
    int truncated;
} swalk;

/* Appends a JSON value as compact text, cut at SCHEMA_VALUE_MAX bytes. */
static void put_value(asyncapi__dbuf *b, const cJSON *v)
{
    char *s;
    size_t n;

    if (v == NULL)
        return;
    s = cJSON_PrintUnformatted(v);
    if (s == NULL) {
        b->err = b->err ? b->err : ASYNCAPI_ENOMEM;
        return;
    }
    n = strlen(s);
    if (n > SCHEMA_VALUE_MAX) {
        n = SCHEMA_VALUE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        asyncapi__dbuf_putn(b, s, n);
        asyncapi__dbuf_puts(b, "\xE2\x80\xA6");
    } else {
        asyncapi__dbuf_putn(b, s, n);
    }
    free(s);
}

static const char *type_of_value(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsNumber(v))
        return v->valuedouble == (double)(long long)v->valuedouble ? "integer" : "number";
    return "any";
}

void asyncapi__schema_type(asyncapi__dbuf *b, const cJSON *s)
{
    const cJSON *t, *e;
    int first = 1;

    if (cJSON_IsBool(s)) {
        asyncapi__dbuf_puts(b, cJSON_IsTrue(s) ? "any" : "never");
        return;
    }
    if (!cJSON_IsObject(s)) {
        asyncapi__dbuf_puts(b, "any");
        return;
    }
    t = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (cJSON_IsString(t)) {
        asyncapi__dbuf_puts(b, t->valuestring);
        return;
    }
    if (cJSON_IsArray(t)) {
        cJSON_ArrayForEach(e, t) {
            if (!cJSON_IsString(e))
                continue;
            if (!first)
                asyncapi__dbuf_puts(b, " | ");
            asyncapi__dbuf_puts(b, e->valuestring);
            first = 0;
        }
        if (!first)
            return;
    }
    if ((e = cJSON_GetObjectItemCaseSensitive(s, "const")) != NULL) {
        asyncapi__dbuf_puts(b, type_of_value(e));
        return;
    }
    if (cJSON_IsArray(e = cJSON_GetObjectItemCaseSensitive(s, "enum")) && e->child) {
        asyncapi__dbuf_puts(b, type_of_value(e->child));
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(s, "$ref")) {
        asyncapi__dbuf_puts(b, "$ref");
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(s, "properties") ||
        cJSON_GetObjectItemCaseSensitive(s, "additionalProperties") ||
        cJSON_GetObjectItemCaseSensitive(s, "patternProperties") ||
        cJSON_GetObjectItemCaseSensitive(s, "required")) {
        asyncapi__dbuf_puts(b, "object");
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(s, "items")) {
        asyncapi__dbuf_puts(b, "array");
        return;
    }
    static const char *const comb[] = { "oneOf", "anyOf", "allOf", "not" };
    for (size_t i = 0; i < sizeof(comb) / sizeof(comb[0]); i++)
        if (cJSON_GetObjectItemCaseSensitive(s, comb[i])) {
            asyncapi__dbuf_puts(b, comb[i]);
            return;
        }
    asyncapi__dbuf_puts(b, "any");
}

/* One constraint: "name: value" for a number/string keyword. */
static void c_sep(asyncapi__dbuf *b)
{
    if (b->len)
        asyncapi__dbuf_putc(b, '\x1f');
}

static void c_num(asyncapi__dbuf *b, const cJSON *s, const char *kw, const char *label)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, kw);

    if (!cJSON_IsNumber(v))
        return;
    c_sep(b);
    asyncapi__dbuf_puts(b, label);
    asyncapi__dbuf_putc(b, ' ');
    put_value(b, v);
}

void asyncapi__schema_constraints(asyncapi__dbuf *b, const cJSON *s)
{
    const cJSON *v, *e;
    int i;

    if (!cJSON_IsObject(s))
        return;
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "title")) && cJSON_IsString(v)) {
        c_sep(b);
        asyncapi__dbuf_printf(b, "title: %s", v->valuestring);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "const")) != NULL) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "const: ");
        put_value(b, v);
    }
    if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "one of: ");
        i = 0;
        cJSON_ArrayForEach(e, v) {
            if (i == SCHEMA_MAX_ENUM) {
                asyncapi__dbuf_printf(b, ", \xE2\x80\xA6 (%d in all)", cJSON_GetArraySize(v));
                break;
            }
            if (i++)
                asyncapi__dbuf_puts(b, ", ");
            put_value(b, e);
        }
    }
    /* draft-04 boolean exclusive flags turn minimum/maximum strict */
    v = cJSON_GetObjectItemCaseSensitive(s, "exclusiveMinimum");
    c_num(b, s, "minimum", cJSON_IsTrue(v) ? ">" : "\xE2\x89\xA5");
    c_num(b, s, "exclusiveMinimum", ">");
    v = cJSON_GetObjectItemCaseSensitive(s, "exclusiveMaximum");
    c_num(b, s, "maximum", cJSON_IsTrue(v) ? "<" : "\xE2\x89\xA4");
    c_num(b, s, "exclusiveMaximum", "<");
    c_num(b, s, "multipleOf", "multiple of");
    c_num(b, s, "minLength", "min length");
    c_num(b, s, "maxLength", "max length");
    c_num(b, s, "minItems", "min items");
    c_num(b, s, "maxItems", "max items");
    c_num(b, s, "minProperties", "min properties");
    c_num(b, s, "maxProperties", "max properties");
    c_num(b, s, "minContains", "min contains");
    c_num(b, s, "maxContains", "max contains");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "uniqueItems"))) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "unique items");
    }
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(s, "pattern"))) {
        c_sep(b);
        asyncapi__dbuf_printf(b, "pattern: /%s/", v->valuestring);
    }
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(s, "format"))) {
        c_sep(b);
        asyncapi__dbuf_printf(b, "format: %s", v->valuestring);
    }
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(s, "contentMediaType"))) {
        c_sep(b);
        asyncapi__dbuf_printf(b, "media type: %s", v->valuestring);
    }
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(s, "contentEncoding"))) {
        c_sep(b);
        asyncapi__dbuf_printf(b, "encoding: %s", v->valuestring);
    }
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(s, "additionalProperties"))) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "no other properties");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "default")) != NULL) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "default: ");
        put_value(b, v);
    }
    if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(s, "examples")) && v->child) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "example: ");
        put_value(b, v->child);
    } else if ((v = cJSON_GetObjectItemCaseSensitive(s, "example")) != NULL) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "example: ");
        put_value(b, v);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "readOnly"))) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "read only");
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "writeOnly"))) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "write only");
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "deprecated"))) {
        c_sep(b);
        asyncapi__dbuf_puts(b, "deprecated");
    }
}

static int is_required(const cJSON *parent, const char *key)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(parent, "required"), *e;

    if (!cJSON_IsArray(req))
        return 0;
    cJSON_ArrayForEach(e, req)
        if (cJSON_IsString(e) && strcmp(e->valuestring, key) == 0)
            return 1;
    return 0;
}

/* Builds parent + sep + seg into a new string (caller frees), NULL on ENOMEM. */
static char *join_path(const char *parent, const char *seg)
{
    size_t pl = strlen(parent), sl = strlen(seg);
    char *p = malloc(pl + sl + 2);

    if (p == NULL)
        return NULL;
    memcpy(p, parent, pl);
    if (pl && seg[0] != '[')
        p[pl++] = '.';
    memcpy(p + pl, seg, sl + 1);
    return p;
}

static void walk(swalk *w, const cJSON *node, const char *label, const char *parent,
                 const char *path, int depth, int required, int branch);

static void walk_child(swalk *w, const cJSON *node, const char *seg, const char *label,
                       const char *path, int depth, int required)
{
    char *child = join_path(path, seg);

    if (child == NULL) {
        w->b->err = w->b->err ? w->b->err : ASYNCAPI_ENOMEM;
        return;
    }
    walk(w, node, label ? label : seg, path, child, depth, required, 0);
    free(child);
}

static void walk(swalk *w, const cJSON *node, const char *label, const char *parent,
                 const char *path, int depth, int required, int branch)
{
    srow r;
    const cJSON *v, *e, *ref;
    char seg[64];
    int i;

    if (w->b->err)
        return;
    memset(&r, 0, sizeof(r));
    r.label = label;
    r.parent = parent;
    r.depth = depth;
    r.required = required;
    r.branch = branch;
    r.node = node;
    if (w->rows >= SCHEMA_MAX_ROWS) {
        if (!w->truncated) {
            w->truncated = 1;
            r.kind = ROW_TRUNCATED;
            r.node = NULL;
            w->emit(w, &r);
        }
        return;
    }
    w->rows++;
    for (i = 0; i < w->top; i++) {
        if (w->stack[i] == node) {
            r.kind = ROW_RECURSIVE;
            r.recursive = w->stack_path[i];
            w->emit(w, &r);
            return;
        }
    }
    ref = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, "$ref") : NULL;
    if (cJSON_IsString(ref)) {
        r.kind = ROW_REF;
        r.ref = ref->valuestring;
        w->emit(w, &r);
        return;
    }
    if (depth > SCHEMA_MAX_DEPTH) {
        r.kind = ROW_DEEP;
        w->emit(w, &r);
        return;
    }
    r.kind = ROW_NODE;
    w->emit(w, &r);
    if (!cJSON_IsObject(node))
        return;

    w->stack[w->top] = node;
    w->stack_path[w->top] = path[0] ? path : "(root)";
    w->top++;
    if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(node, "properties")))
        cJSON_ArrayForEach(e, v)
            walk_child(w, e, e->string, NULL, path, depth + 1, is_required(node, e->string));
    if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(node, "patternProperties")))
        cJSON_ArrayForEach(e, v) {
            char *lab;
            size_t ln = strlen(e->string) + 8;
            lab = malloc(ln);
            if (lab == NULL) {
                w->b->err = ASYNCAPI_ENOMEM;
                break;
            }
            snprintf(lab, ln, "{/%s/}", e->string);
            walk_child(w, e, lab, NULL, path, depth + 1, 0);
            free(lab);
        }
    if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(node, "additionalProperties")))
        walk_child(w, v, "*", "* (other keys)", path, depth + 1, 0);
    v = cJSON_GetObjectItemCaseSensitive(node, "items");
    if (cJSON_IsObject(v) || cJSON_IsBool(v)) {
        walk_child(w, v, "[]", "[] (items)", path, depth + 1, 0);
    } else if (cJSON_IsArray(v)) {
        i = 0;
        cJSON_ArrayForEach(e, v) {
            snprintf(seg, sizeof(seg), "[%d]", i++);
            walk_child(w, e, seg, NULL, path, depth + 1, 0);
        }
        if (cJSON_IsObject(e = cJSON_GetObjectItemCaseSensitive(node, "additionalItems")))
            walk_child(w, e, "[]", "[...] (more items)", path, depth + 1, 0);
    }
    if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(node, "contains")))
        walk_child(w, v, "[]", "[] (contains)", path, depth + 1, 0);
    static const char *const combs[] = { "allOf", "anyOf", "oneOf" };
    for (size_t c = 0; c < sizeof(combs) / sizeof(combs[0]); c++) {
        if (!cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(node, combs[c])))
            continue;
        i = 0;
        cJSON_ArrayForEach(e, v) {
            snprintf(seg, sizeof(seg), "%s #%d", combs[c], ++i);
            /* branches keep the parent's path: their properties are its properties */
            walk(w, e, seg, path, path, depth + 1, 0, 1);
        }
    }
    static const char *const conds[] = { "not", "if", "then", "else" };
    for (size_t c = 0; c < sizeof(conds) / sizeof(conds[0]); c++)
        if ((v = cJSON_GetObjectItemCaseSensitive(node, conds[c])) != NULL &&
            (cJSON_IsObject(v) || cJSON_IsBool(v)))
            walk(w, v, conds[c], path, path, depth + 1, 0, 1);
    w->top--;
}

/* ---- HTML rows ---- */

static void emit_details_html(swalk *w, const cJSON *node)
{
    asyncapi__dbuf cons, *b = w->b;
    const cJSON *d;
    size_t i, s;

    asyncapi__dbuf_init(&cons);
    asyncapi__schema_constraints(&cons, node);
    if (cons.err) {
        b->err = b->err ? b->err : cons.err;
    } else if (cons.len) {
        for (i = 0, s = 0; i <= cons.len; i++) {
            if (i == cons.len || cons.data[i] == '\x1f') {
                asyncapi__dbuf_puts(b, "<span class=\"c\">");
                asyncapi__html_escn(b, cons.data + s, i - s);
                asyncapi__dbuf_puts(b, "</span> ");
                s = i + 1;
            }
        }
    }
    asyncapi__dbuf_release(&cons);
    if (cJSON_IsObject(node) && cJSON_IsString(d = cJSON_GetObjectItemCaseSensitive(node, "description"))) {
        asyncapi__dbuf_puts(b, "<div class=\"desc\">");
        asyncapi__md_to_html(b, d->valuestring, 4);
        asyncapi__dbuf_puts(b, "</div>");
    }
}

static void emit_html(swalk *w, const srow *r)
{
    asyncapi__dbuf *b = w->b;
    const char *anchor;
    int d = r->depth > 9 ? 9 : r->depth;

    if (r->kind == ROW_TRUNCATED) {
        asyncapi__dbuf_printf(b, "<tr><td colspan=\"4\" class=\"cut\">\xE2\x80\xA6 more than %d rows, the rest is not shown</td></tr>\n",
                              SCHEMA_MAX_ROWS);
        return;
    }
    asyncapi__dbuf_printf(b, "<tr><td class=\"prop d%d\">", d);
    if (r->parent && r->parent[0]) {
        asyncapi__dbuf_puts(b, "<span class=\"pp\">");
        asyncapi__html_esc(b, r->parent);
        asyncapi__dbuf_puts(b, r->branch ? " " : r->label[0] == '[' ? "" : ".");
        asyncapi__dbuf_puts(b, "</span>");
    }
    asyncapi__dbuf_puts(b, "<code>");
    asyncapi__html_esc(b, r->label);
    asyncapi__dbuf_puts(b, "</code></td><td class=\"type\">");
    if (r->kind == ROW_NODE || r->kind == ROW_RECURSIVE || r->kind == ROW_DEEP) {
        asyncapi__dbuf buf;
        asyncapi__dbuf_init(&buf);
        asyncapi__schema_type(&buf, r->node);
        asyncapi__html_escn(b, buf.data ? buf.data : "", buf.len);
        if (buf.err)
            b->err = b->err ? b->err : buf.err;
        asyncapi__dbuf_release(&buf);
    } else {
        asyncapi__dbuf_puts(b, "$ref");
    }
    asyncapi__dbuf_printf(b, "</td><td class=\"req\">%s</td><td class=\"det\">",
                          r->required ? "<strong>required</strong>" : "");
    switch (r->kind) {
    case ROW_REF:
        anchor = asyncapi__docs_schema_anchor_ref(w->ctx, r->ref);
        asyncapi__dbuf_puts(b, "see ");
        if (anchor) {
            asyncapi__dbuf_printf(b, "<a href=\"#%s\"><code>", anchor);
            asyncapi__html_esc(b, r->ref);
            asyncapi__dbuf_puts(b, "</code></a>");
        } else {
            asyncapi__dbuf_puts(b, "<code>");
            asyncapi__html_esc(b, r->ref);
            asyncapi__dbuf_puts(b, "</code>");
        }
        break;
    case ROW_RECURSIVE:
        asyncapi__dbuf_puts(b, "<span class=\"c\">recursive</span> same schema as ");
        asyncapi__dbuf_printf(b, "<a href=\"#%s\"><code>", w->table_id);
        asyncapi__html_esc(b, r->recursive);
        asyncapi__dbuf_puts(b, "</code></a> above");
        break;
    case ROW_DEEP:
        asyncapi__dbuf_printf(b, "<span class=\"c\">nested deeper than %d levels, not shown</span>",
                              SCHEMA_MAX_DEPTH);
        break;
    default:
        if (r->depth > 0 && (anchor = asyncapi__docs_schema_anchor_node(w->ctx, r->node)) != NULL)
            asyncapi__dbuf_printf(b, "<a class=\"c\" href=\"#%s\">schema</a> ", anchor);
        emit_details_html(w, r->node);
    }
    asyncapi__dbuf_puts(b, "</td></tr>\n");
}

void asyncapi__schema_table_html(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx,
                                 const cJSON *schema, const char *table_id)
{
    swalk w;

    memset(&w, 0, sizeof(w));
    w.b = b;
    w.ctx = ctx;
    w.table_id = table_id;
    w.emit = emit_html;
    asyncapi__dbuf_printf(b, "<div class=\"tbl\"><table class=\"schema\" id=\"%s\">\n"
                             "<thead><tr><th>Property</th><th>Type</th><th>Required</th>"
                             "<th>Constraints and description</th></tr></thead>\n<tbody>\n",
                          table_id);
    walk(&w, schema, "(root)", "", "", 0, 0, 0);
    asyncapi__dbuf_puts(b, "</tbody></table></div>\n");
}

/* ---- Markdown rows ---- */

static void emit_md(swalk *w, const srow *r)
{
    asyncapi__dbuf *b = w->b, cons;
    const cJSON *d;
    size_t i;

    if (r->kind == ROW_TRUNCATED) {
        asyncapi__dbuf_printf(b, "| \xE2\x80\xA6 | | | more than %d rows, the rest is not shown |\n",
                              SCHEMA_MAX_ROWS);
        return;
    }
    asyncapi__dbuf_puts(b, "| ");
    for (int k = 0; k < r->depth && k < 10; k++)
        asyncapi__dbuf_puts(b, "&nbsp;&nbsp;");
    if (r->parent && r->parent[0]) {
        asyncapi__md_esc(b, r->parent);
        asyncapi__dbuf_puts(b, r->branch ? " " : r->label[0] == '[' ? "" : ".");
    }
    asyncapi__dbuf_puts(b, "**");
    asyncapi__md_esc(b, r->label);
    asyncapi__dbuf_puts(b, "** | ");
    asyncapi__dbuf_init(&cons);
    if (r->kind == ROW_REF)
        asyncapi__dbuf_puts(&cons, "$ref");
    else
        asyncapi__schema_type(&cons, r->node);
    if (cons.len)
        asyncapi__md_esc(b, cons.data);
    asyncapi__dbuf_release(&cons);
    asyncapi__dbuf_printf(b, " | %s | ", r->required ? "required" : "");
    switch (r->kind) {
    case ROW_REF:
        asyncapi__dbuf_puts(b, "see ");
        asyncapi__md_esc(b, r->ref);
        break;
    case ROW_RECURSIVE:
        asyncapi__dbuf_puts(b, "recursive: same schema as ");
        asyncapi__md_esc(b, r->recursive);
        break;
    case ROW_DEEP:
        asyncapi__dbuf_printf(b, "nested deeper than %d levels, not shown", SCHEMA_MAX_DEPTH);
        break;
    default:
        asyncapi__dbuf_init(&cons);
        asyncapi__schema_constraints(&cons, r->node);
        for (i = 0; i < cons.len; i++)
            if (cons.data[i] == '\x1f')
                cons.data[i] = ';';
        if (cons.len)
            asyncapi__md_esc(b, cons.data);
        i = cons.len;
        if (cons.err)
            b->err = b->err ? b->err : cons.err;
        asyncapi__dbuf_release(&cons);
        if (cJSON_IsObject(r->node) &&
            cJSON_IsString(d = cJSON_GetObjectItemCaseSensitive(r->node, "description"))) {
            asyncapi__dbuf_puts(b, i ? "; " : " ");
            asyncapi__md_esc(b, d->valuestring);
        }
    }
    asyncapi__dbuf_puts(b, " |\n");
}

void asyncapi__schema_table_md(asyncapi__dbuf *b, const asyncapi__docs_ctx *ctx,
                               const cJSON *schema)
{
    swalk w;

    memset(&w, 0, sizeof(w));
    w.b = b;
    w.ctx = ctx;
    w.table_id = "";
    w.emit = emit_md;
    asyncapi__dbuf_puts(b, "| Property | Type | Required | Constraints and description |\n"
                           "|---|---|---|---|\n");
    walk(&w, schema, "(root)", "", "", 0, 0, 0);
    asyncapi__dbuf_puts(b, "\n");
}
