/* SPDX-License-Identifier: MIT */
/*
 * `asyncbridge docs SPEC -o DIR [--format html|markdown|both] [--title T]`:
 * loads an AsyncAPI document and writes DIR/index.html (self-contained page)
 * and/or DIR/README.md, creating DIR (and parents) if missing. Files are
 * written to a temporary name and renamed, so a reader never sees half a
 * page. Exit codes like lint: 0 written, 1 invalid spec, 2 usage/IO error.
 * See docs/docs-generator.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/docs.h"
#include "cli.h"

enum { DOCS_OUT_HTML = 1 << 0, DOCS_OUT_MARKDOWN = 1 << 1 };

static void docs_usage(FILE *out)
{
    fprintf(out,
            "usage: asyncbridge docs SPEC -o DIR [--format html|markdown|both] [--title TEXT]\n"
            "\n"
            "Generates documentation from the AsyncAPI document SPEC (2.0-2.6 or 3.0,\n"
            "YAML or JSON, $refs into other files followed): servers, channels with\n"
            "their MQTT topic filters and parameters, operations seen from a device\n"
            "(\"devices publish here\" / \"devices receive this\"), messages with their\n"
            "payload schema as a nested table and examples.\n"
            "\n"
            "options:\n"
            "  -o, --output DIR  folder to write into (created if missing)\n"
            "  --format FMT      html: DIR/index.html (default), one self-contained page;\n"
            "                    markdown: DIR/README.md; both: the two files\n"
            "  --title TEXT      page title instead of info.title\n"
            "  -h, --help        show this help\n"
            "\n"
            "exit status: 0 written, 1 invalid document (syntax, structure, $ref,\n"
            "version), 2 usage error, unreadable spec or unwritable output.\n");
}

/* mkdir -p: creates dir and its parents. Returns 0 or an errno value. */
static int make_dirs(const char *dir)
{
    char *p, *s;
    int rc = 0;
    struct stat st;

    s = strdup(dir);
    if (s == NULL)
        return ENOMEM;
    for (p = s + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char save = *p;
            *p = '\0';
            if (mkdir(s, 0777) != 0 && errno != EEXIST) {
                rc = errno;
                goto done;
            }
            *p = save;
            if (save == '\0')
                break;
        }
    }
    if (stat(dir, &st) != 0)
        rc = errno;
    else if (!S_ISDIR(st.st_mode))
        rc = ENOTDIR;
done:
    free(s);
    return rc;
}

/* Writes data to dir/name through dir/.name.tmp + rename. Returns 0 or -1 (reported). */
static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4096], tmp[4096];
    FILE *f;
    int w1, w2;

    w1 = snprintf(path, sizeof(path), "%s/%s", dir, name);
    w2 = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    if (w1 < 0 || w2 < 0 || (size_t)w1 >= sizeof(path) || (size_t)w2 >= sizeof(tmp)) {
        bridge_errorf("docs: output path too long: '%s'", dir);
        return -1;
    }
    f = fopen(tmp, "wb");
    if (f == NULL) {
        bridge_errorf("docs: cannot create '%s': %s", tmp, strerror(errno));
        return -1;
    }
    if (fwrite(data, 1, len, f) != len) {
        bridge_errorf("docs: cannot write '%s': %s", tmp, strerror(errno));
        fclose(f);
        remove(tmp);
        return -1;
    }
    if (fclose(f) != 0) {
        bridge_errorf("docs: cannot write '%s': %s", tmp, strerror(errno));
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        bridge_errorf("docs: cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        remove(tmp);
        return -1;
    }
    printf("wrote %s (%zu bytes)\n", path, len);
    return 0;
}

static int render_to(const asyncapi_doc *doc, const char *dir, const char *title,
                     asyncapi_docs_format format, const char *name)
{
    asyncapi_docs_options opts = {
        .format = format,
        .title = title,
        .generator = "asyncbridge " ASYNCBRIDGE_VERSION,
    };
    char *out = NULL;
    size_t len = 0;
    int rc;

    rc = asyncapi_docs_render(doc, &opts, &out, &len);
    if (rc != 0) {
        bridge_errorf("docs: rendering '%s' failed: %s", name, asyncapi_strerror(rc));
        return 2;
    }
    rc = write_file(dir, name, out, len) == 0 ? 0 : 2;
    free(out);
    return rc;
}

int bridge_cmd_docs(int argc, char **argv)
{
    const char *spec = NULL, *dir = NULL, *title = NULL;
    unsigned formats = DOCS_OUT_HTML;
    int only_args = 0, err = 0, rc;
    asyncapi_diag diag;
    asyncapi_doc *doc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;

        if (!only_args && bridge_is_help(a)) {
            docs_usage(stdout);
            return 0;
        }
        if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if (!only_args && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
                           strcmp(a, "--format") == 0 || strcmp(a, "--title") == 0)) {
            if (i + 1 >= argc) {
                bridge_errorf("docs: option '%s' needs a value", a);
                docs_usage(stderr);
                return 2;
            }
            val = argv[++i];
        } else if (!only_args && strncmp(a, "--output=", 9) == 0) {
            val = a + 9;
            a = "--output";
        } else if (!only_args && strncmp(a, "--format=", 9) == 0) {
            val = a + 9;
            a = "--format";
        } else if (!only_args && strncmp(a, "--title=", 8) == 0) {
            val = a + 8;
            a = "--title";
        } else if (!only_args && a[0] == '-' && a[1] != '\0') {
            bridge_errorf("docs: unknown option '%s'", a);
            docs_usage(stderr);
            return 2;
        } else if (spec == NULL) {
            spec = a;
            continue;
        } else {
            bridge_errorf("docs: too many arguments ('%s')", a);
            docs_usage(stderr);
            return 2;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            dir = val;
        } else if (strcmp(a, "--title") == 0) {
            title = val;
        } else if (strcmp(val, "html") == 0) {
            formats = DOCS_OUT_HTML;
        } else if (strcmp(val, "markdown") == 0 || strcmp(val, "md") == 0) {
            formats = DOCS_OUT_MARKDOWN;
        } else if (strcmp(val, "both") == 0) {
            formats = DOCS_OUT_HTML | DOCS_OUT_MARKDOWN;
        } else {
            bridge_errorf("docs: unknown format '%s' (html, markdown or both)", val);
            return 2;
        }
    }
    if (spec == NULL) {
        bridge_errorf("docs: missing SPEC");
        docs_usage(stderr);
        return 2;
    }
    if (dir == NULL || dir[0] == '\0') {
        bridge_errorf("docs: missing -o DIR");
        docs_usage(stderr);
        return 2;
    }

    memset(&diag, 0, sizeof(diag));
    doc = asyncapi_load(spec, NULL, &err, &diag);
    if (doc == NULL) {
        const char *file = diag.file[0] ? diag.file : spec;
        if (diag.line > 0)
            bridge_errorf("docs: %s:%d:%d: %s: %s", file, diag.line, diag.column,
                          asyncapi_strerror(err), diag.message);
        else if (diag.pointer[0])
            bridge_errorf("docs: %s: at '%s': %s: %s", file, diag.pointer, asyncapi_strerror(err),
                          diag.message);
        else
            bridge_errorf("docs: %s: %s%s%s", file, asyncapi_strerror(err),
                          diag.message[0] ? ": " : "", diag.message);
        return err == ASYNCAPI_EIO || err == ASYNCAPI_ENOMEM ? 2 : 1;
    }
    rc = make_dirs(dir);
    if (rc != 0) {
        bridge_errorf("docs: cannot create folder '%s': %s", dir, strerror(rc));
        asyncapi_free(doc);
        return 2;
    }
    rc = 0;
    if (formats & DOCS_OUT_HTML)
        rc = render_to(doc, dir, title, ASYNCAPI_DOCS_HTML, "index.html");
    if (rc == 0 && (formats & DOCS_OUT_MARKDOWN))
        rc = render_to(doc, dir, title, ASYNCAPI_DOCS_MARKDOWN, "README.md");
    asyncapi_free(doc);
    return rc;
}
