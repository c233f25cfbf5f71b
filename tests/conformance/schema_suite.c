/* SPDX-License-Identifier: MIT */
/*
 * Runs the JSON-Schema-Test-Suite draft-07 files (required, optional/,
 * optional/format/) against asyncapi_schema_*, mapping
 * http://localhost:1234/ to the suite's remotes/ folder. Prints per file and
 * per set "N passed, N failed"; the last line is the required set's total.
 * Exit 1 if a required case fails. -v prints each failing case.
 * Usage: schema_suite [-v] [filter]. Data: $ASYNCBRIDGE_TESTDATA or TEST_DATA_DIR.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncapi/schema.h"

#define REMOTE_PREFIX "http://localhost:1234/"

typedef struct remote {
    char *uri;        /* as asked */
    cJSON *doc;       /* parsed, owned */
} remote;

typedef struct suite {
    const char *root;    /* .../json-schema-test-suite */
    remote *remotes;     /* cache, owned */
    size_t n_remotes;
    int verbose;
    const char *filter;
} suite;

typedef struct tally {
    long passed;
    long failed;
} tally;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else if (buf) {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static const cJSON *fetch(void *ctx, const char *uri)
{
    suite *s = ctx;
    char path[4096];
    char *text;
    cJSON *doc;
    remote *r;
    int w;

    for (size_t i = 0; i < s->n_remotes; i++)
        if (strcmp(s->remotes[i].uri, uri) == 0)
            return s->remotes[i].doc;
    if (strncmp(uri, REMOTE_PREFIX, strlen(REMOTE_PREFIX)) != 0)
        return NULL;
    w = snprintf(path, sizeof(path), "%s/remotes/%s", s->root, uri + strlen(REMOTE_PREFIX));
    if (w < 0 || (size_t)w >= sizeof(path))
        return NULL;
    text = read_file(path);
    if (!text)
        return NULL;
    doc = cJSON_Parse(text);
    free(text);
    if (!doc)
        return NULL;
    r = realloc(s->remotes, (s->n_remotes + 1) * sizeof(*r));
    if (!r) {
        cJSON_Delete(doc);
        return NULL;
    }
    s->remotes = r;
    r[s->n_remotes].uri = strdup(uri);
    r[s->n_remotes].doc = doc;
    if (!r[s->n_remotes].uri) {
        cJSON_Delete(doc);
        return NULL;
    }
    return s->remotes[s->n_remotes++].doc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.json names in dir; returns count, names in *out (caller frees). */
static size_t list_json(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;

    *out = NULL;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        char **nn;

        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        nn = realloc(names, (n + 1) * sizeof(*nn));
        if (!nn)
            break;
        names = nn;
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    *out = names;
    return n;
}

typedef struct out {
    char *s;     /* text, owned */
    size_t n;    /* length */
    size_t cap;  /* allocated */
    int oom;     /* an append failed */
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->n + n + 1 > o->cap) {
        size_t ncap = (o->n + n + 1) * 2;
        char *ns = realloc(o->s, ncap);

        if (!ns) {
            o->oom = 1;
            return;
        }
        o->s = ns;
        o->cap = ncap;
    }
    memcpy(o->s + o->n, s, n);
    o->n += n;
    o->s[o->n] = '\0';
}

/*
 * Serializes v as JSON with numbers in full precision (cJSON 1.7.15's
 * printer rounds some doubles to 15 digits, which would change the value).
 */
static void print_json(out *o, const cJSON *v)
{
    char buf[64];

    if (cJSON_IsNumber(v)) {
        snprintf(buf, sizeof(buf), "%.17g", v->valuedouble);
        put(o, buf, strlen(buf));
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        int obj = cJSON_IsObject(v);
        const cJSON *m;

        put(o, obj ? "{" : "[", 1);
        cJSON_ArrayForEach(m, v) {
            if (m != v->child)
                put(o, ",", 1);
            if (obj) {
                cJSON key = {.type = cJSON_String, .valuestring = m->string};
                char *k = cJSON_PrintUnformatted(&key);

                if (!k) {
                    o->oom = 1;
                    return;
                }
                put(o, k, strlen(k));
                put(o, ":", 1);
                free(k);
            }
            print_json(o, m);
        }
        put(o, obj ? "}" : "]", 1);
    } else {
        cJSON copy = *v;
        char *t;

        copy.next = copy.prev = copy.child = NULL;
        copy.string = NULL;
        t = cJSON_PrintUnformatted(&copy);
        if (!t) {
            o->oom = 1;
            return;
        }
        put(o, t, strlen(t));
        free(t);
    }
}

/* One case through both entry points; 1 when the verdicts match expected. */
static int run_case(const asyncapi_schema *sc, const cJSON *data, int expect_valid,
                    char *why, size_t why_len)
{
    asyncapi_schema_result res;
    int fast = asyncapi_schema_validate(sc, data, NULL);
    int full = asyncapi_schema_validate(sc, data, &res);
    out text = {0};
    int json = -100;

    print_json(&text, data);
    if (!text.oom && text.s)
        json = asyncapi_schema_validate_json(sc, text.s, text.n, NULL, NULL);
    free(text.s);
    if (fast != full || fast != json) {
        snprintf(why, why_len, "entry points disagree: validate %d, with result %d, json %d",
                 fast, full, json);
        return 0;
    }
    if (fast < 0) {
        snprintf(why, why_len, "error %d", fast);
        return 0;
    }
    if ((fast == 0) != expect_valid) {
        snprintf(why, why_len, "expected %s, got %s%s%s", expect_valid ? "valid" : "invalid",
                 fast ? "invalid" : "valid", full && res.n_errors ? ": " : "",
                 full && res.n_errors ? res.errors[0].message : "");
        return 0;
    }
    if (full == 1 && res.n_errors == 0) {
        snprintf(why, why_len, "invalid without any error recorded");
        return 0;
    }
    return 1;
}

static void run_file(suite *s, const char *path, const char *label, tally *set)
{
    char *text = read_file(path);
    cJSON *groups = text ? cJSON_Parse(text) : NULL, *g;
    asyncapi_schema_resolver resolver = {.fetch = fetch, .ctx = s};
    tally t = {0, 0};

    free(text);
    if (!groups) {
        printf("%s: cannot read or parse\n", label);
        set->failed++;
        return;
    }
    cJSON_ArrayForEach(g, groups) {
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(g, "schema");
        const cJSON *tests = cJSON_GetObjectItemCaseSensitive(g, "tests"), *tc;
        const cJSON *gdesc = cJSON_GetObjectItemCaseSensitive(g, "description");
        asyncapi_diag diag;
        asyncapi_schema *sc = asyncapi_schema_compile(schema, NULL, &resolver, 0, &diag);

        cJSON_ArrayForEach(tc, tests) {
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(tc, "data");
            const cJSON *valid = cJSON_GetObjectItemCaseSensitive(tc, "valid");
            const cJSON *desc = cJSON_GetObjectItemCaseSensitive(tc, "description");
            char why[512];
            int ok;

            if (!sc) {
                snprintf(why, sizeof(why), "compile failed: %.300s (at %.150s)", diag.message,
                         diag.pointer);
                ok = 0;
            } else {
                ok = run_case(sc, data, cJSON_IsTrue(valid), why, sizeof(why));
            }
            if (ok) {
                t.passed++;
            } else {
                t.failed++;
                if (s->verbose)
                    printf("  FAIL %s | %s | %s: %s\n", label,
                           cJSON_IsString(gdesc) ? gdesc->valuestring : "?",
                           cJSON_IsString(desc) ? desc->valuestring : "?", why);
            }
        }
        asyncapi_schema_free(sc);
    }
    cJSON_Delete(groups);
    printf("%s: %ld passed, %ld failed\n", label, t.passed, t.failed);
    set->passed += t.passed;
    set->failed += t.failed;
}

static void run_dir(suite *s, const char *sub, const char *prefix, tally *set)
{
    char dir[4096], path[4096 + 256], label[512];
    char **names;
    size_t n;
    int w;

    w = snprintf(dir, sizeof(dir), "%s/tests/draft7%s", s->root, sub);
    if (w < 0 || (size_t)w >= sizeof(dir))
        return;
    n = list_json(dir, &names);
    for (size_t i = 0; i < n; i++) {
        snprintf(label, sizeof(label), "%s%s", prefix, names[i]);
        w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if ((!s->filter || strstr(label, s->filter)) && w > 0 && (size_t)w < sizeof(path))
            run_file(s, path, label, set);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    const char *data = getenv("ASYNCBRIDGE_TESTDATA");
    char root[4096];
    suite s = {0};
    tally req = {0, 0}, opt = {0, 0};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            s.verbose = 1;
        else
            s.filter = argv[i];
    }
    if (!data || !*data)
        data = TEST_DATA_DIR;
    snprintf(root, sizeof(root), "%s/json-schema-test-suite", data);
    s.root = root;
    run_dir(&s, "", "", &req);
    run_dir(&s, "/optional", "optional/", &opt);
    run_dir(&s, "/optional/format", "optional/format/", &opt);
    printf("optional: %ld passed, %ld failed (%.1f %% pass)\n", opt.passed, opt.failed,
           opt.passed + opt.failed ? 100.0 * (double)opt.passed / (double)(opt.passed + opt.failed) : 0.0);
    printf("required: %ld passed, %ld failed\n", req.passed, req.failed);
    printf("%ld passed, %ld failed\n", req.passed, req.failed);
    for (size_t i = 0; i < s.n_remotes; i++) {
        free(s.remotes[i].uri);
        cJSON_Delete(s.remotes[i].doc);
    }
    free(s.remotes);
    if (!s.filter && req.passed == 0)
        return 1;
    return req.failed ? 1 : 0;
}
