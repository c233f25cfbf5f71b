/* SPDX-License-Identifier: MIT */
/*
 * Docs renderer tests: anchors, escaping, the Markdown subset, the example
 * generator; then golden-structure checks on every shared AsyncAPI example
 * (every channel, operation, message and payload property shows up with its
 * anchor), determinism, options (extra section, live counts) and the
 * hostile fixture (nothing from the spec becomes markup).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/docs.h"
#include "docs_int.h"
#include "test.h"

/* ---- helpers ---- */

static char *html_of(const char *md)
{
    asyncapi__dbuf b;
    size_t len;

    asyncapi__dbuf_init(&b);
    asyncapi__md_to_html(&b, md, 0);
    return asyncapi__dbuf_detach(&b, &len);
}

static char *escaped(const char *s)
{
    asyncapi__dbuf b;

    asyncapi__dbuf_init(&b);
    asyncapi__html_esc(&b, s);
    return asyncapi__dbuf_detach(&b, NULL);
}

/* Case-insensitive strstr. */
static const char *find_ci(const char *h, const char *n)
{
    size_t nl = strlen(n);

    for (; *h; h++) {
        size_t i;
        for (i = 0; i < nl; i++) {
            char a = h[i], c = n[i];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a - 'A' + 'a');
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (a != c)
                break;
        }
        if (i == nl)
            return h;
    }
    return NULL;
}

static int strncasecmp_ascii(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return x - y;
        if (x == '\0')
            return 0;
    }
    return 0;
}

/* ---- anchors ---- */

TEST(docs, anchor_plain_ids_kept)
{
    char buf[96];

    ASSERT_EQ(asyncapi_docs_anchor("channel", "lightTurnOn", buf, sizeof(buf)), 19);
    ASSERT_STR_EQ(buf, "channel-lightTurnOn");
    ASSERT_GT(asyncapi_docs_anchor("message", "a_b-c9", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "message-a_b-c9");
}

TEST(docs, anchor_lossy_ids_get_hash)
{
    char a[96], b[96], c[96];

    ASSERT_GT(asyncapi_docs_anchor("channel", "a/b", a, sizeof(a)), 0);
    ASSERT_GT(asyncapi_docs_anchor("channel", "a-b", b, sizeof(b)), 0);
    ASSERT_GT(asyncapi_docs_anchor("channel", "a b", c, sizeof(c)), 0);
    ASSERT_STR_EQ(b, "channel-a-b");
    ASSERT(strncmp(a, "channel-a-b-", 12) == 0);
    ASSERT(strcmp(a, b) != 0);
    ASSERT(strcmp(a, c) != 0);
    /* stable: same input, same output */
    ASSERT_GT(asyncapi_docs_anchor("channel", "a/b", b, sizeof(b)), 0);
    ASSERT_STR_EQ(a, b);
    /* only [A-Za-z0-9_-] after the kind */
    ASSERT_GT(asyncapi_docs_anchor("channel", "<script>\"x\"{y}/\xC3\xA9", a, sizeof(a)), 0);
    for (const char *p = a; *p; p++)
        ASSERT((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '-' || *p == '_');
    /* empty and very long ids */
    ASSERT_GT(asyncapi_docs_anchor("message", "", a, sizeof(a)), 0);
    ASSERT(strncmp(a, "message-", 8) == 0 && strlen(a) > 8);
    char longid[400];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ASSERT_GT(asyncapi_docs_anchor("message", longid, a, sizeof(a)), 0);
    ASSERT_LT(strlen(a), 96);
}

TEST(docs, anchor_errors)
{
    char small[8];

    ASSERT_EQ(asyncapi_docs_anchor("channel", "lightTurnOn", small, sizeof(small)), ASYNCAPI_ELIMIT);
    ASSERT_EQ(asyncapi_docs_anchor(NULL, "x", small, sizeof(small)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_docs_anchor("channel", NULL, small, sizeof(small)), ASYNCAPI_EINVAL);
}

TEST(docs, anchors_collision_safe)
{
    asyncapi__anchors a;
    const char *x, *y, *z;

    asyncapi__anchors_init(&a);
    x = asyncapi__anchors_add(&a, "message", "m");
    y = asyncapi__anchors_add(&a, "message", "m");
    z = asyncapi__anchors_add(&a, "channel", "m");
    ASSERT_NOT_NULL(x);
    ASSERT_NOT_NULL(y);
    ASSERT_NOT_NULL(z);
    ASSERT_STR_EQ(x, "message-m");
    ASSERT_STR_EQ(y, "message-m-2");
    ASSERT_STR_EQ(z, "channel-m");
    asyncapi__anchors_release(&a);
}

/* ---- escaping ---- */

TEST(docs, html_escape)
{
    char *s = escaped("<a href=\"x\">'&'</a>");

    ASSERT_STR_EQ(s, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    free(s);
    /* invalid UTF-8, control characters, overlong and surrogates become U+FFFD */
    s = escaped("ok\xC3\xA9 \xFF \x01 \xC0\xAF \xED\xA0\x80 \xF0\x9F\x98\x80");
    ASSERT_STR_EQ(s, "ok\xC3\xA9 \xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
                     "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xF0\x9F\x98\x80");
    free(s);
}

TEST(docs, markdown_escape_for_tables)
{
    asyncapi__dbuf b;
    char *s;

    asyncapi__dbuf_init(&b);
    asyncapi__md_esc(&b, "a|b <script> *x* [l](javascript:y)\nz");
    s = asyncapi__dbuf_detach(&b, NULL);
    ASSERT_NOT_NULL(s);
    ASSERT_STR_EQ(s, "a\\|b &lt;script&gt; \\*x\\* \\[l\\]\\(javascript:y\\) z");
    free(s);
}

TEST(docs, markdown_passthrough_neutralises_html)
{
    asyncapi__dbuf b;
    char *s;

    asyncapi__dbuf_init(&b);
    asyncapi__md_passthrough(&b, "x <script>y</script> `<b>` [a](javascript:alert(1)) [c](https://e.org)\n"
                                 "```\n<pre>\n```\n");
    s = asyncapi__dbuf_detach(&b, NULL);
    ASSERT_NOT_NULL(s);
    ASSERT(strstr(s, "<script") == NULL);
    ASSERT_STR_CONTAINS(s, "&lt;script>");
    ASSERT_STR_CONTAINS(s, "`&lt;b>`");       /* code spans escaped too (safe, if plain) */
    ASSERT_STR_CONTAINS(s, "\n<pre>\n");      /* top-level fenced code copied */
    ASSERT(strstr(s, "javascript:") == NULL);
    ASSERT_STR_CONTAINS(s, "[c](https://e.org)");
    free(s);
    /* fences a renderer might not see as fences are escaped: indented, info with a backtick,
       a closer with text after it; an unclosed fence gets closed */
    asyncapi__dbuf_init(&b);
    asyncapi__md_passthrough(&b, "- a\n  ```\n<i1>\n```a`b\n<i2>\n```\n<ok>\n```x\n<ok2>\n```\n"
                                 "- `<i3>\n````\n<ok3>\n```\n<ok4>");
    s = asyncapi__dbuf_detach(&b, NULL);
    ASSERT_NOT_NULL(s);
    ASSERT_STR_CONTAINS(s, "&lt;i1>");
    ASSERT_STR_CONTAINS(s, "&lt;i2>");
    ASSERT_STR_CONTAINS(s, "\n<ok>\n");
    ASSERT_STR_CONTAINS(s, "\n<ok2>\n");
    ASSERT_STR_CONTAINS(s, "&lt;i3>");
    ASSERT_STR_CONTAINS(s, "\n<ok3>\n```\n<ok4>\n````\n");
    free(s);
}

/* Is needle in md outside ``` fences (as our Markdown output writes them)? */
static int md_outside_fences(const char *md, const char *needle)
{
    int fence = 0;
    const char *line = md;

    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len >= 3 && strncmp(line, "```", 3) == 0) {
            fence = !fence;
        } else if (!fence) {
            for (size_t i = 0; i + strlen(needle) <= len; i++)
                if (strncasecmp_ascii(line + i, needle, strlen(needle)) == 0)
                    return 1;
        }
        if (!eol)
            break;
        line = eol + 1;
    }
    return 0;
}

/* ---- Markdown subset ---- */

TEST(docs, markdown_blocks)
{
    char *s = html_of("# Title\n\nPara *em* **strong** `co<de>` and _u_ snake_case_name.\n"
                      "second line\n\n- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n"
                      "```\nfenced <b>\n```\n---\n");

    ASSERT_NOT_NULL(s);
    ASSERT_STR_CONTAINS(s, "<h1>Title</h1>");
    ASSERT_STR_CONTAINS(s, "<p>Para <em>em</em> <strong>strong</strong> <code>co&lt;de&gt;</code> and "
                           "<em>u</em> snake_case_name.\nsecond line</p>");
    ASSERT_STR_CONTAINS(s, "<ul>\n<li>one</li>\n<li>two</li>\n</ul>");
    ASSERT_STR_CONTAINS(s, "<ol>\n<li>first</li>\n<li>second</li>\n</ol>");
    ASSERT_STR_CONTAINS(s, "<blockquote>\n<p>quoted</p>\n</blockquote>");
    ASSERT_STR_CONTAINS(s, "<pre><code>fenced &lt;b&gt;\n</code></pre>");
    ASSERT_STR_CONTAINS(s, "<hr>");
    free(s);
}

TEST(docs, markdown_heading_shift)
{
    asyncapi__dbuf b;
    char *s;

    asyncapi__dbuf_init(&b);
    asyncapi__md_to_html(&b, "# a\n###### b\n", 3);
    s = asyncapi__dbuf_detach(&b, NULL);
    ASSERT_STR_CONTAINS(s, "<h4>a</h4>");
    ASSERT_STR_CONTAINS(s, "<h6>b</h6>");
    free(s);
}

TEST(docs, markdown_links_allow_list)
{
    char *s = html_of("[ok](https://example.com/a?b=1&c=2) [mail](mailto:a@b.c) "
                      "[js](javascript:alert(1)) [JS](JaVaScRiPt:alert(1)) [data](data:text/html,x) "
                      "[rel](../x) <https://auto.example> <javascript:alert(2)> [q](https://e.org/\"x)");

    ASSERT_NOT_NULL(s);
    ASSERT_STR_CONTAINS(s, "<a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"nofollow noopener noreferrer\">ok</a>");
    ASSERT_STR_CONTAINS(s, "<a href=\"mailto:a@b.c\"");
    ASSERT_STR_CONTAINS(s, "<a href=\"https://auto.example\"");
    ASSERT(find_ci(s, "href=\"javascript") == NULL);
    ASSERT(find_ci(s, "href=\"data") == NULL);
    ASSERT(strstr(s, "href=\"../x") == NULL);
    ASSERT(strstr(s, "href=\"https://e.org/\"") == NULL);
    ASSERT_STR_CONTAINS(s, "js"); /* the text stays */
    ASSERT_STR_CONTAINS(s, "&lt;javascript:alert(2)&gt;");
    free(s);
}

TEST(docs, markdown_raw_html_escaped)
{
    char *s = html_of("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)> & \"q\" 'a'\n");

    ASSERT_NOT_NULL(s);
    ASSERT(strstr(s, "<script") == NULL);
    ASSERT(strstr(s, "<img") == NULL);
    ASSERT_STR_CONTAINS(s, "&lt;script&gt;alert(1)&lt;/script&gt;");
    ASSERT_STR_CONTAINS(s, "&amp; &quot;q&quot; &#39;a&#39;");
    free(s);
}

TEST(docs, markdown_pathological_input_is_bounded)
{
    /* many unclosed delimiters: must finish (linear-ish), escape everything */
    static const char *const pats[] = { "*", "_", "`", "[", "**a", "[a](", "[a](b ", "<", "> ",
                                        "- ", "\\", "`a`` ", "_a b" };
    size_t n = 200000;

    for (size_t k = 0; k < sizeof(pats) / sizeof(pats[0]); k++) {
        size_t pl = strlen(pats[k]);
        char *in = malloc(n + 1), *s;
        ASSERT_NOT_NULL(in);
        for (size_t i = 0; i < n; i++)
            in[i] = pats[k][i % pl];
        in[n] = '\0';
        s = html_of(in);
        free(in);
        ASSERT_NOT_NULL(s);
        ASSERT(strstr(s, "<script") == NULL);
        free(s);
    }
    /* deep nesting of emphasis is capped, not a stack overflow */
    {
        size_t depth = 50000, i;
        char *in = malloc(depth * 2 + 2), *s;
        ASSERT_NOT_NULL(in);
        for (i = 0; i < depth; i++)
            in[i] = i % 2 ? '_' : '*';
        in[depth] = 'x';
        for (i = 0; i < depth; i++)
            in[depth + 1 + i] = (depth - 1 - i) % 2 ? '_' : '*';
        in[depth * 2 + 1] = '\0';
        s = html_of(in);
        free(in);
        ASSERT_NOT_NULL(s);
        free(s);
    }
}

/* ---- example generator ---- */

TEST(docs, example_generator)
{
    const char *text =
        "{\"type\":\"object\",\"properties\":{"
        "\"lumens\":{\"type\":\"integer\",\"minimum\":5,\"maximum\":10},"
        "\"ratio\":{\"type\":\"number\",\"exclusiveMinimum\":0.5},"
        "\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
        "\"mode\":{\"type\":\"string\",\"enum\":[\"on\",\"off\"]},"
        "\"code\":{\"type\":\"string\",\"minLength\":10,\"maxLength\":12},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":3},\"minItems\":2},"
        "\"ok\":{\"type\":\"boolean\"},"
        "\"c\":{\"const\":42},"
        "\"any\":{\"oneOf\":[{\"type\":\"null\"},{\"type\":\"string\"}]},"
        "\"all\":{\"allOf\":[{\"properties\":{\"a\":{\"type\":\"integer\"}}},"
        "{\"properties\":{\"b\":{\"type\":\"string\",\"default\":\"dflt\"}}}]}}}";
    cJSON *schema = cJSON_Parse(text), *ex, *v;
    char *a, *b;

    ASSERT_NOT_NULL(schema);
    ex = asyncapi__docs_example(schema);
    ASSERT_NOT_NULL(ex);
    ASSERT_EQ(cJSON_GetObjectItem(ex, "lumens")->valueint, 5);
    ASSERT(cJSON_GetObjectItem(ex, "ratio")->valuedouble > 0.5);
    ASSERT_STR_EQ(cJSON_GetObjectItem(ex, "when")->valuestring, "2024-01-01T12:00:00Z");
    ASSERT_STR_EQ(cJSON_GetObjectItem(ex, "mode")->valuestring, "on");
    v = cJSON_GetObjectItem(ex, "code");
    ASSERT(strlen(v->valuestring) >= 10 && strlen(v->valuestring) <= 12);
    v = cJSON_GetObjectItem(ex, "tags");
    ASSERT_EQ(cJSON_GetArraySize(v), 2);
    ASSERT_LE(strlen(cJSON_GetArrayItem(v, 0)->valuestring), 3);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(ex, "ok")));
    ASSERT_EQ(cJSON_GetObjectItem(ex, "c")->valueint, 42);
    ASSERT(cJSON_IsNull(cJSON_GetObjectItem(ex, "any")));
    v = cJSON_GetObjectItem(ex, "all");
    ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(v, "a")));
    ASSERT_STR_EQ(cJSON_GetObjectItem(v, "b")->valuestring, "dflt");
    /* deterministic */
    a = cJSON_PrintUnformatted(ex);
    cJSON_Delete(ex);
    ex = asyncapi__docs_example(schema);
    b = cJSON_PrintUnformatted(ex);
    ASSERT_STR_EQ(a, b);
    free(a);
    free(b);
    cJSON_Delete(ex);
    cJSON_Delete(schema);
    ASSERT_NULL(asyncapi__docs_example(NULL));
}

TEST(docs, example_generator_bounded_on_wide_deep_schemas)
{
    /* 10 levels of 30 properties each: a naive generator would build 30^10 nodes */
    cJSON *root = cJSON_CreateObject(), *cur = root, *ex;
    char key[16];

    ASSERT_NOT_NULL(root);
    for (int d = 0; d < 10; d++) {
        cJSON *props = cJSON_AddObjectToObject(cur, "properties"), *next = NULL;
        cJSON_AddStringToObject(cur, "type", "object");
        for (int i = 0; i < 30; i++) {
            snprintf(key, sizeof(key), "k%d", i);
            cJSON *child = cJSON_AddObjectToObject(props, key);
            cJSON_AddStringToObject(child, "type", "object");
            if (i == 0)
                next = child;
        }
        cur = next;
    }
    /* make every level's siblings share the deep structure */
    ex = asyncapi__docs_example(root);
    ASSERT_NOT_NULL(ex);
    cJSON_Delete(ex);
    cJSON_Delete(root);
}

/* ---- whole documents ---- */

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static int strlist_push(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    if (l->v[l->n] == NULL)
        return -1;
    l->n++;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* AsyncAPI documents under dir (recursively; common/ holds fragments). */
static void find_specs(const char *dir, strlist *out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    struct stat st;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "common") == 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            find_specs(path, out);
        else if (ends_with(path, ".yml") || ends_with(path, "asyncapi.yaml"))
            strlist_push(out, path);
    }
    closedir(d);
}

static char *render(const asyncapi_doc *doc, asyncapi_docs_format f)
{
    asyncapi_docs_options o = { .format = f };
    char *out = NULL;
    size_t len = 0;

    if (asyncapi_docs_render(doc, &o, &out, &len) != 0)
        return NULL;
    if (out && strlen(out) != len) {
        free(out);
        return NULL;
    }
    return out;
}

/*
 * Golden structure: every channel, operation, message (anchor + escaped
 * id) and every payload property name (escaped) is on the page.
 * Returns the number of misses (printed).
 */
static int check_props(const char *page, const cJSON *schema, int depth, const char *spec)
{
    const cJSON *props, *e;
    int miss = 0;

    if (!cJSON_IsObject(schema) || depth > 4)
        return 0;
    props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    if (cJSON_IsObject(props))
        cJSON_ArrayForEach(e, props) {
            char *esc = escaped(e->string);
            char needle[600];
            snprintf(needle, sizeof(needle), "<code>%s</code>", esc ? esc : "");
            if (esc == NULL || strstr(page, needle) == NULL) {
                fprintf(stderr, "  %s: property '%s' missing\n", spec, e->string);
                miss++;
            }
            free(esc);
            miss += check_props(page, e, depth + 1, spec);
        }
    static const char *const sub[] = { "items", "additionalProperties" };
    for (size_t i = 0; i < 2; i++)
        miss += check_props(page, cJSON_GetObjectItemCaseSensitive(schema, sub[i]), depth + 1, spec);
    static const char *const comb[] = { "allOf", "anyOf", "oneOf" };
    for (size_t i = 0; i < 3; i++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(schema, comb[i]);
        if (cJSON_IsArray(arr))
            cJSON_ArrayForEach(e, arr)
                miss += check_props(page, e, depth + 1, spec);
    }
    return miss;
}

static int check_anchor(const char *page, const char *kind, const char *id, const char *spec)
{
    char a[96], needle[128];
    char *esc;
    int miss = 0;

    if (asyncapi_docs_anchor(kind, id ? id : "", a, sizeof(a)) < 0)
        return 1;
    snprintf(needle, sizeof(needle), "id=\"%s", a); /* prefix: collisions add -2 */
    if (strstr(page, needle) == NULL) {
        fprintf(stderr, "  %s: anchor %s missing\n", spec, needle);
        miss++;
    }
    snprintf(needle, sizeof(needle), "href=\"#%s", a);
    if (strstr(page, needle) == NULL) {
        fprintf(stderr, "  %s: link %s missing\n", spec, needle);
        miss++;
    }
    esc = escaped(id ? id : "");
    if (esc == NULL || strstr(page, esc) == NULL) {
        fprintf(stderr, "  %s: %s id '%s' missing\n", spec, kind, id);
        miss++;
    }
    free(esc);
    return miss;
}

static int check_page(const asyncapi_doc *doc, const char *page, const char *spec)
{
    size_t n, i;
    int miss = 0;
    const asyncapi_channel *ch = asyncapi_doc_channels(doc, &n);

    for (i = 0; i < n; i++) {
        miss += check_anchor(page, "channel", ch[i].id, spec);
        if (ch[i].topic_filter) {
            char *esc = escaped(ch[i].topic_filter);
            if (strstr(page, esc) == NULL) {
                fprintf(stderr, "  %s: topic filter '%s' missing\n", spec, ch[i].topic_filter);
                miss++;
            }
            free(esc);
        }
    }
    const asyncapi_operation *ops = asyncapi_doc_operations(doc, &n);
    for (i = 0; i < n; i++) {
        miss += check_anchor(page, "operation", ops[i].id, spec);
        if (!strstr(page, ops[i].action == ASYNCAPI_RECEIVE ? "devices publish here"
                                                            : "devices receive this"))
            miss++;
    }
    const asyncapi_message *msgs = asyncapi_doc_messages(doc, &n);
    for (i = 0; i < n; i++) {
        char a[96], needle[128];
        asyncapi_docs_anchor("message", msgs[i].id ? msgs[i].id : "", a, sizeof(a));
        snprintf(needle, sizeof(needle), "id=\"%s", a);
        if (strstr(page, needle) == NULL) {
            fprintf(stderr, "  %s: message anchor %s missing\n", spec, a);
            miss++;
        }
        miss += check_props(page, msgs[i].payload, 0, spec);
        if (msgs[i].payload && !(cJSON_IsArray(msgs[i].examples) && msgs[i].examples->child) &&
            strstr(page, "generated from the schema") == NULL)
            miss++;
    }
    /* the page is self-contained and script-free */
    if (find_ci(page, "<script") || find_ci(page, "<link") || find_ci(page, "src=\"http") ||
        find_ci(page, "@import") || find_ci(page, "href=\"javascript")) {
        fprintf(stderr, "  %s: page has scripts or external resources\n", spec);
        miss++;
    }
    return miss;
}

TEST(docs, every_shared_example_renders_completely)
{
    char dir[1024];
    strlist specs = { 0 };
    size_t loaded = 0, failed_load = 0;
    int misses = 0;

    snprintf(dir, sizeof(dir), "%s/asyncapi-examples", test_data_dir());
    find_specs(dir, &specs);
    qsort(specs.v, specs.n, sizeof(*specs.v), cmp_str);
    ASSERT_GE(specs.n, 50);
    for (size_t i = 0; i < specs.n; i++) {
        int err = 0;
        asyncapi_diag diag;
        asyncapi_doc *doc = asyncapi_load(specs.v[i], NULL, &err, &diag);
        char *html, *html2, *md;

        if (doc == NULL) {
            fprintf(stderr, "  load %s: %s: %s\n", specs.v[i], asyncapi_strerror(err), diag.message);
            failed_load++;
            continue;
        }
        loaded++;
        html = render(doc, ASYNCAPI_DOCS_HTML);
        html2 = render(doc, ASYNCAPI_DOCS_HTML);
        md = render(doc, ASYNCAPI_DOCS_MARKDOWN);
        if (html == NULL || html2 == NULL || md == NULL) {
            fprintf(stderr, "  render %s failed\n", specs.v[i]);
            misses++;
        } else {
            if (strcmp(html, html2) != 0) {
                fprintf(stderr, "  %s: output not deterministic\n", specs.v[i]);
                misses++;
            }
            misses += check_page(doc, html, specs.v[i]);
            if (strstr(html, "<!DOCTYPE html>") != html || !strstr(html, "</html>\n"))
                misses++;
            if (md_outside_fences(md, "<script"))
                misses++;
        }
        free(html);
        free(html2);
        free(md);
        asyncapi_free(doc);
    }
    strlist_free(&specs);
    ASSERT_EQ(failed_load, 0);
    ASSERT_EQ(misses, 0);
    ASSERT_GE(loaded, 50);
}

TEST(docs, deterministic_across_loads)
{
    char path[1024];
    asyncapi_doc *a, *b;
    char *x, *y;

    snprintf(path, sizeof(path), "%s/asyncapi-examples/v3.0.0/streetlights-mqtt-asyncapi.yml",
             test_data_dir());
    a = asyncapi_load(path, NULL, NULL, NULL);
    b = asyncapi_load(path, NULL, NULL, NULL);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    x = render(a, ASYNCAPI_DOCS_HTML);
    y = render(b, ASYNCAPI_DOCS_HTML);
    ASSERT_NOT_NULL(x);
    ASSERT_NOT_NULL(y);
    ASSERT_STR_EQ(x, y);
    /* stable deep links from the ids, QoS and device-facing directions */
    ASSERT_STR_CONTAINS(x, "id=\"channel-lightingMeasured\"");
    ASSERT_STR_CONTAINS(x, "id=\"operation-receiveLightMeasurement\"");
    ASSERT_STR_CONTAINS(x, "id=\"message-lightMeasured\"");
    ASSERT_STR_CONTAINS(x, "id=\"schema-lightMeasuredPayload\"");
    ASSERT_STR_CONTAINS(x, "smartylighting/streetlights/1/0/event/+/lighting/measured");
    ASSERT_STR_CONTAINS(x, "QoS 1");
    ASSERT_STR_CONTAINS(x, "devices publish here");
    ASSERT_STR_CONTAINS(x, "devices receive this");
    ASSERT_STR_CONTAINS(x, "format: date-time");
    ASSERT_STR_CONTAINS(x, "one of: &quot;on&quot;, &quot;off&quot;");
    ASSERT_STR_CONTAINS(x, "\xE2\x89\xA4 100");
    ASSERT_STR_CONTAINS(x, "generated from the schema");
    ASSERT_STR_CONTAINS(x, "<h5>Check out its awesome features:</h5>"); /* Markdown, shifted */
    ASSERT_STR_CONTAINS(x, "<a href=\"https://www.apache.org/licenses/LICENSE-2.0\"");
    free(x);
    free(y);
    asyncapi_free(a);
    asyncapi_free(b);
}

TEST(docs, options_title_extra_section_and_stats)
{
    char path[1024];
    asyncapi_doc *doc;
    asyncapi_docs_link links[] = {
        { .href = "/openapi.json", .label = "OpenAPI", .description = "REST API description" },
        { .href = "/asyncapi/live.yaml", .label = "Live AsyncAPI" },
        { .href = "javascript:alert(1)", .label = "bad" },
    };
    asyncapi_docs_channel_stats st[] = {
        { .channel_id = "lightingMeasured", .events = 12345, .dead_letters = 7 },
    };
    asyncapi_docs_options o = {
        .title = "My <fleet>",
        .extra_title = "This bridge",
        .extra_markdown = "Served by **asyncbridge**.",
        .links = links,
        .n_links = 3,
        .stats = st,
        .n_stats = 1,
        .stats_note = "as of seq 99",
    };
    char *out = NULL;
    size_t len;

    snprintf(path, sizeof(path), "%s/asyncapi-examples/v3.0.0/streetlights-mqtt-asyncapi.yml",
             test_data_dir());
    doc = asyncapi_load(path, NULL, NULL, NULL);
    ASSERT_NOT_NULL(doc);
    ASSERT_EQ(asyncapi_docs_render(doc, &o, &out, &len), 0);
    ASSERT_STR_CONTAINS(out, "<title>My &lt;fleet&gt;");
    ASSERT_STR_CONTAINS(out, "<section id=\"bridge\">\n<h2>This bridge</h2>");
    ASSERT_STR_CONTAINS(out, "<strong>asyncbridge</strong>");
    ASSERT_STR_CONTAINS(out, "<a href=\"/openapi.json\">OpenAPI</a>");
    ASSERT_STR_CONTAINS(out, "<a href=\"/asyncapi/live.yaml\">Live AsyncAPI</a>");
    ASSERT(find_ci(out, "href=\"javascript") == NULL);
    ASSERT_STR_CONTAINS(out, "12345 events, 7 dead letters");
    ASSERT_STR_CONTAINS(out, "0 events, 0 dead letters"); /* channels without counts */
    ASSERT_STR_CONTAINS(out, "as of seq 99");
    free(out);

    o.format = ASYNCAPI_DOCS_MARKDOWN;
    ASSERT_EQ(asyncapi_docs_render(doc, &o, &out, &len), 0);
    ASSERT_STR_CONTAINS(out, "# My &lt;fleet&gt;");
    ASSERT_STR_CONTAINS(out, "## This bridge");
    ASSERT_STR_CONTAINS(out, "`/openapi.json`");
    ASSERT_STR_CONTAINS(out, "<a id=\"channel-lightingMeasured\"></a>");
    ASSERT_STR_CONTAINS(out, "12345");
    free(out);

    o.format = (asyncapi_docs_format)7;
    out = (char *)"x";
    ASSERT_EQ(asyncapi_docs_render(doc, &o, &out, &len), ASYNCAPI_EINVAL);
    ASSERT_NULL(out);
    ASSERT_EQ(asyncapi_docs_render(NULL, NULL, &out, &len), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_docs_render(doc, NULL, NULL, &len), ASYNCAPI_EINVAL);
    asyncapi_free(doc);
}

TEST(docs, hostile_spec_comes_out_escaped)
{
    char path[1024];
    asyncapi_doc *doc;
    int err = 0;
    asyncapi_diag diag;
    char *html, *md;

    snprintf(path, sizeof(path), "%s/docs/hostile.yaml", test_fixtures_dir());
    doc = asyncapi_load(path, NULL, &err, &diag);
    if (doc == NULL)
        fprintf(stderr, "  load: %s %s %s\n", asyncapi_strerror(err), diag.pointer, diag.message);
    ASSERT_NOT_NULL(doc);
    html = render(doc, ASYNCAPI_DOCS_HTML);
    md = render(doc, ASYNCAPI_DOCS_MARKDOWN);
    ASSERT_NOT_NULL(html);
    ASSERT_NOT_NULL(md);

    /* nothing from the spec became markup */
    ASSERT(find_ci(html, "<script") == NULL);
    ASSERT(find_ci(html, "<img") == NULL);
    ASSERT(find_ci(html, "<iframe") == NULL);
    ASSERT(find_ci(html, "<svg") == NULL);
    ASSERT(find_ci(html, "<b>") == NULL);
    ASSERT(find_ci(html, "href=\"javascript") == NULL);
    ASSERT(find_ci(html, "href=\"data") == NULL);
    ASSERT(strstr(html, "onmouseover=\"") == NULL);
    /* ...it is all there as text */
    ASSERT_STR_CONTAINS(html, "Evil &lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &amp; &quot;quotes&quot; "
                              "\xC3\xA9\xE6\xBC\xA2\xF0\x9F\x98\x80");
    ASSERT_STR_CONTAINS(html, "&lt;img src=x onerror=alert(8)&gt;");
    ASSERT_STR_CONTAINS(html, "&lt;/td&gt;&lt;script&gt;alert(11)&lt;/script&gt;");
    ASSERT_STR_CONTAINS(html, "&lt;/pre&gt;&lt;script&gt;alert(12)&lt;/script&gt;");
    ASSERT_STR_CONTAINS(html, "name&quot;quoted&#39;");
    ASSERT_STR_CONTAINS(html, "<a href=\"https://example.com/?a=1&amp;b=2\"");
    ASSERT_STR_CONTAINS(html, "&lt;script&gt;alert(&quot;fenced&quot;)&lt;/script&gt;");
    ASSERT_STR_CONTAINS(html, "application/json&quot;&gt;&lt;script&gt;");
    ASSERT_STR_CONTAINS(html, "<strong>required</strong>");
    /* anchors for hostile ids are plain */
    ASSERT(strstr(html, "id=\"channel-evil-channel-script-") != NULL);
    ASSERT(strstr(html, "id=\"operation-op-script-") != NULL);

    ASSERT(!md_outside_fences(md, "<script"));
    ASSERT(!md_outside_fences(md, "<img"));
    ASSERT(!md_outside_fences(md, "<iframe"));
    ASSERT(find_ci(md, "](javascript") == NULL);
    ASSERT(find_ci(md, "](data:") == NULL);
    free(html);
    free(md);
    asyncapi_free(doc);
}

TEST(docs, recursive_schema_is_cut_with_a_link)
{
    char path[1024];
    asyncapi_doc *doc;
    char *html, *md;

    snprintf(path, sizeof(path), "%s/docs/recursive.yaml", test_fixtures_dir());
    doc = asyncapi_load(path, NULL, NULL, NULL);
    ASSERT_NOT_NULL(doc);
    html = render(doc, ASYNCAPI_DOCS_HTML);
    md = render(doc, ASYNCAPI_DOCS_MARKDOWN);
    asyncapi_free(doc);
    ASSERT_NOT_NULL(html);
    ASSERT_NOT_NULL(md);
    /* the payload table stops at the recursion and links to the schema */
    ASSERT(strstr(html, "href=\"#schema-node\"") != NULL);
    ASSERT(strstr(html, "id=\"schema-node\"") != NULL);
    ASSERT_STR_CONTAINS(html, "children</code>");
    ASSERT_STR_CONTAINS(html, "min length 1");
    ASSERT_STR_CONTAINS(html, "<strong>required</strong>");
    /* parameter schema, examples and QoS from bindings */
    ASSERT_STR_CONTAINS(html, "pattern: /^[a-z]+$/");
    ASSERT_STR_CONTAINS(html, "<code>north</code>");
    ASSERT_STR_CONTAINS(html, "QoS 2");
    ASSERT_STR_CONTAINS(html, "tree/+");
    /* the generated example terminates */
    ASSERT_STR_CONTAINS(html, "&quot;children&quot;: []");
    ASSERT_STR_CONTAINS(md, "see \\#/components/schemas/node");
    free(html);
    free(md);
}
