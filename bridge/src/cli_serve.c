/* SPDX-License-Identifier: MIT */
/*
 * `asyncbridge serve --db FILE --spec SPEC [--http ADDR:PORT]`: serves an
 * existing store read-only (REST, docs, metrics, live replay) without MQTT:
 * a read replica, and the entry point of the HTTP integration tests.
 * `--print-routes` prints the route table (one "GET <pattern> <kind>" per line).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asyncapi/asyncapi.h"
#include "cli.h"
#include "http_route.h"
#include "http_server.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: asyncbridge serve --db FILE --spec SPEC [--http ADDR:PORT]\n"
            "       asyncbridge serve --print-routes\n"
            "\n"
            "Serves an existing event store read-only over HTTP: the REST API,\n"
            "/openapi.json, /docs, /metrics, WebSocket /api/v1/live and SSE\n"
            "/api/v1/stream (live: new rows of the log, as another process\n"
            "such as 'asyncbridge run' commits them; no MQTT in this mode).\n"
            "\n"
            "  --db FILE          store written by 'asyncbridge run'\n"
            "  --spec SPEC        the AsyncAPI document it was written with\n"
            "  --http ADDR:PORT   listen address (default 127.0.0.1:8080)\n"
            "  --print-routes     print the served routes and exit\n"
            "  --max-connections N   connections at most (default 1024)\n"
            "  --live-queue N        queued events per live client (default 4096)\n"
            "  --live-stall-ms MS    drop a live client whose queue stayed full (default 5000)\n"
            "  --live-max-subs N     subscriptions per WebSocket (default 16)\n"
            "  --sse-heartbeat S     SSE comment interval in seconds (default 15)\n"
            "  --tail-poll-ms MS     how often the log is checked for new events (default 20)\n");
}

static const char *kind_name(bridge_route_kind k)
{
    switch (k) {
    case BRIDGE_ROUTE_WS: return "ws";
    case BRIDGE_ROUTE_SSE: return "sse";
    case BRIDGE_ROUTE_TEXT: return "text";
    default: return "json";
    }
}

int bridge_cmd_serve(int argc, char **argv)
{
    const char *db = NULL, *spec = NULL, *listen = "127.0.0.1:8080";
    asyncapi_diag diag;
    asyncapi_doc *doc;
    bridge_http *h;
    struct sigaction sa;
    char err[512];
    int e = 0;
    bridge_http_options o = { 0 };

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (bridge_is_help(a)) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--print-routes") == 0) {
            for (const bridge_route *r = bridge_routes; r->pattern; r++)
                printf("GET %s %s\n", r->pattern, kind_name(r->kind));
            return 0;
        }
        if (i + 1 >= argc) {
            bridge_errorf("serve: '%s' needs a value or is unknown (see --help)", a);
            return 2;
        }
        if (strcmp(a, "--max-connections") == 0 || strcmp(a, "--live-queue") == 0 ||
            strcmp(a, "--live-stall-ms") == 0 || strcmp(a, "--live-max-subs") == 0 ||
            strcmp(a, "--sse-heartbeat") == 0 || strcmp(a, "--tail-poll-ms") == 0) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);

            if (*end || v < 1 || v > 1000000) {
                bridge_errorf("serve: %s: '%s' is not a number 1..1000000", a, argv[i]);
                return 2;
            }
            if (strcmp(a, "--max-connections") == 0)
                o.max_connections = (unsigned)v;
            else if (strcmp(a, "--live-queue") == 0)
                o.live_queue_max = v;
            else if (strcmp(a, "--live-stall-ms") == 0)
                o.live_stall_ms = (unsigned)v;
            else if (strcmp(a, "--live-max-subs") == 0)
                o.live_max_subs = (unsigned)v;
            else if (strcmp(a, "--tail-poll-ms") == 0)
                o.tail_poll_ms = (unsigned)v;
            else
                o.sse_heartbeat_s = (unsigned)v;
            continue;
        }
        if (strcmp(a, "--db") == 0)
            db = argv[++i];
        else if (strcmp(a, "--spec") == 0)
            spec = argv[++i];
        else if (strcmp(a, "--http") == 0)
            listen = argv[++i];
        else {
            bridge_errorf("serve: unknown option '%s' (see --help)", a);
            return 2;
        }
    }
    if (!db || !spec) {
        usage(stderr);
        return 2;
    }
    memset(&diag, 0, sizeof(diag));
    doc = asyncapi_load(spec, NULL, &e, &diag);
    if (!doc) {
        bridge_errorf("serve: cannot load '%s': %s%s%s", spec,
                      diag.message[0] ? diag.message : asyncapi_strerror(e),
                      diag.pointer[0] ? " at " : "", diag.pointer);
        return 2;
    }
    o.listen = listen;
    o.db_path = db;
    o.doc = doc;
    o.spec_path = spec;
    h = bridge_http_start(&o, err, sizeof(err));
    if (!h) {
        bridge_errorf("serve: %s", err);
        asyncapi_free(doc);
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    fprintf(stderr, "asyncbridge: serving '%s' read-only on http://%s (port %d)\n", db, listen,
            bridge_http_port(h));
    while (!stop_flag)
        nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 }, NULL);
    bridge_http_stop(h);
    asyncapi_free(doc);
    return 0;
}
