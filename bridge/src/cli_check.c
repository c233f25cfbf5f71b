/* SPDX-License-Identifier: MIT */
/*
 * `asyncbridge check SPEC CHANNEL PAYLOAD_FILE`: validates one JSON payload
 * the way ingest does. CHANNEL is a channel id, an address as written, or a
 * concrete MQTT topic routed with the topic router (router.h); the payload
 * is tried against the channel's messages in order, the first that validates
 * wins (oneOf semantics of DESIGN.md). Exit: 0 valid, 1 invalid, 2 usage/spec.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/router.h"
#include "asyncapi/schema.h"
#include "cli.h"

/* Largest payload check reads (MQTT allows 256 MiB; nobody sends that to a sensor API). */
#define CHECK_MAX_PAYLOAD (16u * 1024 * 1024)

static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: asyncbridge check [--quiet] SPEC CHANNEL PAYLOAD_FILE\n"
            "\n"
            "Validates the JSON payload in PAYLOAD_FILE ('-' reads stdin, at most\n"
            "16 MiB) against the messages of one channel of the AsyncAPI document\n"
            "SPEC. CHANNEL is the channel id, its address as written in the spec\n"
            "(\"fleet/{deviceId}/telemetry\"), or a concrete MQTT topic\n"
            "(\"fleet/gh-0001/telemetry\"), which is routed like ingest does and\n"
            "whose parameter values are checked against their schemas.\n"
            "Messages are tried in order; the first that validates wins.\n"
            "\n"
            "options:\n"
            "  -q, --quiet    print nothing, only set the exit status\n"
            "  -h, --help     show this help\n"
            "  -V, --version  print the version\n"
            "\n"
            "exit status: 0 valid, 1 invalid (or not JSON, or too large),\n"
            "2 usage error, unreadable file, bad spec or unknown channel.\n");
}

/*
 * Reads all of path ("-" = stdin) into a new buffer, at most max bytes.
 * Returns 0, -1 with errno (ENOMEM / read error), or -2 if larger than max.
 */
static int read_payload(const char *path, size_t max, char **out, size_t *out_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = 4096, len = 0;
    char *buf = NULL;
    int rc = -1;

    if (!f)
        return -1;
    buf = malloc(cap);
    if (!buf)
        goto done;
    for (;;) {
        size_t got;

        if (len == cap) {
            size_t ncap = cap * 2;
            char *nb;

            if (cap > max) {
                rc = -2;
                goto done;
            }
            nb = realloc(buf, ncap);
            if (!nb)
                goto done;
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > max) {
            rc = -2;
            goto done;
        }
        if (got == 0) {
            if (ferror(f)) {
                if (errno == 0)
                    errno = EIO;
                goto done;
            }
            break;
        }
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Prints a spec load failure like lint does. */
static void print_load_error(const char *path, int err, const asyncapi_diag *d)
{
    const char *file = d->file[0] ? d->file : path;
    const char *msg = d->message[0] ? d->message : asyncapi_strerror(err);

    if (d->line > 0)
        bridge_errorf("check: %s:%d:%d: %s: %s", file, d->line, d->column,
                      asyncapi_strerror(err), msg);
    else if (d->pointer[0])
        bridge_errorf("check: %s: at '%s': %s: %s", file, d->pointer,
                      asyncapi_strerror(err), msg);
    else
        bridge_errorf("check: %s: %s: %s", file, asyncapi_strerror(err), msg);
    bridge_errorf("check: run 'asyncbridge lint %s' for details", path);
}

/* Prints the stored errors of one result, indented. */
static void print_errors(const asyncapi_schema_result *res)
{
    for (unsigned i = 0; i < res->n_errors; i++) {
        const asyncapi_schema_error *e = &res->errors[i];

        printf("    at %s: %s: %s\n", e->pointer[0] ? e->pointer : "(root)",
               e->keyword, e->message);
    }
    if (res->total > res->n_errors)
        printf("    ... and %u more\n", res->total - res->n_errors);
}

/*
 * Validates the parameter values extracted from a concrete topic against
 * the channel's parameter schemas. Returns 0 all valid, 1 some invalid
 * (printed unless quiet), 2 on a schema that does not compile or ENOMEM.
 */
static int check_params(const asyncapi_channel *ch, const asyncapi_route_match *m, int quiet)
{
    int verdict = 0;

    for (size_t i = 0; i < m->n_params; i++) {
        const asyncapi_param *p = NULL;
        asyncapi_schema_result res;
        asyncapi_schema *s;
        asyncapi_diag diag;
        cJSON *value;
        char *text;
        int rc;

        for (size_t k = 0; k < ch->n_params; k++)
            if (strcmp(ch->params[k].name, m->params[i].name) == 0)
                p = &ch->params[k];
        if (!p || !p->schema)
            continue;
        memset(&diag, 0, sizeof(diag));
        s = asyncapi_schema_compile(p->schema, NULL, NULL, 0, &diag);
        if (!s) {
            bridge_errorf("check: parameter '%s': schema does not compile: %s", p->name,
                          diag.message[0] ? diag.message : "unknown error");
            return 2;
        }
        text = malloc(m->params[i].len + 1);
        value = NULL;
        if (text) {
            memcpy(text, m->params[i].value, m->params[i].len);
            text[m->params[i].len] = '\0';
            value = cJSON_CreateString(text);
        }
        free(text);
        if (!value) {
            asyncapi_schema_free(s);
            bridge_errorf("check: out of memory");
            return 2;
        }
        memset(&res, 0, sizeof(res));
        rc = asyncapi_schema_validate(s, value, &res);
        cJSON_Delete(value);
        asyncapi_schema_free(s);
        if (rc < 0) {
            bridge_errorf("check: parameter '%s': %s", p->name, asyncapi_strerror(rc));
            return 2;
        }
        if (rc == 1) {
            verdict = 1;
            if (!quiet) {
                printf("invalid parameter '%s' = '%.*s':\n", p->name,
                       (int)m->params[i].len, m->params[i].value);
                for (unsigned k = 0; k < res.n_errors; k++)
                    printf("    %s: %s\n", res.errors[k].keyword, res.errors[k].message);
            }
        }
    }
    return verdict;
}

/*
 * Finds the channel named by arg: id, then address, then a concrete topic.
 * Returns it or NULL with an error printed. For a routed topic *routed is 1
 * and m holds the parameters, whose names belong to *router_out (the caller
 * frees it after the last use of m).
 */
static const asyncapi_channel *find_channel(const asyncapi_doc *doc, const char *arg,
                                            asyncapi_route_match *m, int *routed,
                                            asyncapi_router **router_out)
{
    const asyncapi_channel *ch, *chans;
    asyncapi_router *r;
    size_t n;
    int rc;

    *routed = 0;
    *router_out = NULL;
    m->n_params = 0;
    ch = asyncapi_doc_channel(doc, arg);
    if (ch)
        return ch;
    ch = asyncapi_doc_channel_by_address(doc, arg);
    if (ch)
        return ch;

    r = asyncapi_router_new();
    if (!r) {
        bridge_errorf("check: out of memory");
        return NULL;
    }
    chans = asyncapi_doc_channels(doc, &n);
    for (size_t i = 0; i < n; i++) {
        if (!chans[i].address)
            continue;
        rc = asyncapi_router_add(r, chans[i].address, (void *)&chans[i]);
        if (rc == ASYNCAPI_ENOMEM) {
            asyncapi_router_free(r);
            bridge_errorf("check: out of memory");
            return NULL;
        }
        /* EEXIST / EINVAL: the first channel of a shape wins, as in ingest; lint warns. */
    }
    rc = asyncapi_router_match(r, arg, strlen(arg), m);
    if (rc == 0) {
        *routed = 1;
        *router_out = r;
        return m->value;
    }
    asyncapi_router_free(r);
    if (rc == ASYNCAPI_ETOPIC)
        bridge_errorf("check: unknown channel '%s': no channel has this id or address, "
                      "and it is not a routable topic (wildcard, '$' first, or empty)",
                      arg);
    else
        bridge_errorf("check: unknown channel '%s': no channel has this id or address, "
                      "and no channel address matches it as a topic", arg);
    return NULL;
}

int bridge_cmd_check(int argc, char **argv)
{
    const char *args[3] = { NULL, NULL, NULL };
    int n_args = 0, quiet = 0, only_args = 0, err = 0, rc = 2, routed = 0;
    asyncapi_route_match m;
    asyncapi_router *router = NULL;
    asyncapi_doc *doc = NULL;
    const asyncapi_channel *ch;
    asyncapi_schema *any = NULL;
    asyncapi_diag diag;
    char *payload = NULL;
    size_t len = 0;
    int tried = 0, param_rc = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!only_args && bridge_is_help(a)) {
            check_usage(stdout);
            return 0;
        } else if (!only_args && (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)) {
            printf("asyncbridge %s\n", ASYNCBRIDGE_VERSION);
            return 0;
        } else if (!only_args && (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)) {
            quiet = 1;
        } else if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1;
        } else if (!only_args && a[0] == '-' && a[1] != '\0') {
            bridge_errorf("check: unknown option '%s'", a);
            check_usage(stderr);
            return 2;
        } else if (n_args < 3) {
            args[n_args++] = a;
        } else {
            bridge_errorf("check: too many arguments ('%s')", a);
            check_usage(stderr);
            return 2;
        }
    }
    if (n_args < 3) {
        bridge_errorf("check: missing %s", n_args == 0 ? "SPEC" : n_args == 1 ? "CHANNEL"
                                                                               : "PAYLOAD_FILE");
        check_usage(stderr);
        return 2;
    }

    memset(&diag, 0, sizeof(diag));
    doc = asyncapi_load(args[0], NULL, &err, &diag);
    if (!doc) {
        print_load_error(args[0], err, &diag);
        return 2;
    }
    ch = find_channel(doc, args[1], &m, &routed, &router);
    if (!ch)
        goto done;
    if (ch->n_messages == 0) {
        bridge_errorf("check: channel '%s' has no messages to validate against", ch->id);
        goto done;
    }

    switch (read_payload(args[2], CHECK_MAX_PAYLOAD, &payload, &len)) {
    case 0:
        break;
    case -2:
        if (!quiet)
            printf("invalid: payload '%s' is larger than %u bytes\n", args[2],
                   CHECK_MAX_PAYLOAD);
        rc = 1;
        goto done;
    default:
        bridge_errorf("check: cannot read '%s': %s", args[2], strerror(errno));
        goto done;
    }

    if (!quiet) {
        printf("channel: %s", ch->id);
        if (!ch->address || strcmp(ch->address, ch->id) != 0)
            printf(" (address %s)", ch->address ? ch->address : "null");
        if (routed) {
            printf(", topic %s", args[1]);
            for (size_t i = 0; i < m.n_params; i++)
                printf("%s%s=%.*s", i ? ", " : " with ", m.params[i].name,
                       (int)m.params[i].len, m.params[i].value);
        }
        printf("\n");
    }
    if (routed) {
        /* A bad parameter value makes the message invalid; the payload is still checked. */
        param_rc = check_params(ch, &m, quiet);
        if (param_rc == 2)
            goto done;
    }

    /* First pass: the first message whose payload schema accepts the payload wins. */
    {
        asyncapi_schema_result *results = calloc(ch->n_messages, sizeof(*results));
        size_t winner = ch->n_messages;

        if (!results) {
            bridge_errorf("check: out of memory");
            goto done;
        }
        for (size_t i = 0; i < ch->n_messages && winner == ch->n_messages; i++) {
            const asyncapi_message *msg = ch->messages[i];
            const asyncapi_schema *s = msg->payload_schema;
            int vrc;

            if (!s) {
                /* No (JSON) schema: any JSON payload fits; still insist on JSON. */
                if (!any) {
                    cJSON *t = cJSON_CreateTrue();

                    any = t ? asyncapi_schema_compile(t, NULL, NULL, 0, NULL) : NULL;
                    cJSON_Delete(t);
                    if (!any) {
                        bridge_errorf("check: out of memory");
                        break;
                    }
                }
                s = any;
            }
            tried++;
            vrc = asyncapi_schema_validate_json(s, payload, len, &results[i], NULL);
            if (vrc == 0) {
                winner = i;
            } else if (vrc == ASYNCAPI_ESYNTAX || vrc == ASYNCAPI_ELIMIT) {
                /* Not JSON (or too deep): the same for every message. */
                if (!quiet) {
                    printf("invalid: payload is not acceptable JSON (%s)\n",
                           asyncapi_strerror(vrc));
                    print_errors(&results[i]);
                }
                rc = 1;
                goto free_results;
            } else if (vrc < 0) {
                bridge_errorf("check: validating against '%s': %s", msg->id,
                              asyncapi_strerror(vrc));
                goto free_results;
            }
        }
        if (winner < ch->n_messages) {
            if (!quiet) {
                printf("%s: message '%s'", param_rc ? "payload valid" : "valid",
                       ch->messages[winner]->id);
                if (!ch->messages[winner]->payload_schema)
                    printf(" (no payload schema to check)");
                printf("\n");
                if (param_rc)
                    printf("invalid: a topic parameter does not match its schema\n");
            }
            rc = param_rc ? 1 : 0;
        } else if ((size_t)tried == ch->n_messages) {
            if (!quiet) {
                printf("invalid: payload matches none of the %zu message%s of channel '%s'\n",
                       ch->n_messages, ch->n_messages == 1 ? "" : "s", ch->id);
                for (size_t i = 0; i < ch->n_messages; i++) {
                    printf("  message '%s': %u error%s\n", ch->messages[i]->id,
                           results[i].total, results[i].total == 1 ? "" : "s");
                    print_errors(&results[i]);
                }
            }
            rc = 1;
        }
free_results:
        free(results);
    }
done:
    asyncapi_router_free(router);
    asyncapi_schema_free(any);
    free(payload);
    asyncapi_free(doc);
    return rc;
}
