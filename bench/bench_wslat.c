/* SPDX-License-Identifier: MIT */
/*
 * bench_wslat: the WebSocket end of bench_live.py mqtt. One libwebsockets
 * client connection to ws://127.0.0.1:PORT/PATH, serviced in the main thread:
 *   bench_wslat --port P [--path /api/v1/live?channel=telemetry] --expect N
 *               [--timeout S] [--field humidity] [--dump FILE]
 * Prints "ready" once connected and the server's first ("subscribed") frame
 * arrived. Each {"type":"event",...} frame holds the publisher's wall clock
 * at publish in FIELD (seconds modulo 100, see run_pubrate in bench_ingest.c);
 * latency = (now mod 100 - FIELD) mod 100. Stops after N events or S seconds
 * (default 30) without one, closes, and prints one JSON line
 * {events, expected, p50_ms, p90_ms, p99_ms, max_ms, cpu_s}. Exit 0 when all
 * N arrived, 1 otherwise, 2 on bad arguments. Prints figures, asserts
 * nothing (never run by ctest). --dump FILE also writes each event's latency
 * in ms, one per line in arrival order, to see when the slow ones came.
 * See bench/README.md.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <libwebsockets.h>

#define RX_MAX (64 * 1024)       /* largest frame reassembled; bigger ones are skipped */
#define EXPECT_MAX 100000000L    /* 800 MB of latencies */
#define TICK_US (50 * 1000)      /* timeout check period */
#define CLOSE_WAIT_S 5.0         /* how long the close handshake may take */
#define USAGE "usage: bench_wslat --port 1..65535 [--path /PATH] --expect 1..100000000 " \
              "[--timeout 0<S<=86400] [--field NAME] [--dump FILE]"

typedef struct wslat {
    struct lws_context *ctx;
    struct lws *wsi;             /* NULL once closed or failed */
    lws_sorted_usec_list_t sul;  /* timeout tick */
    char key[72];                /* "\"FIELD\":" */
    double *lat;                 /* expect latencies, ms */
    double *sent;
    long expect, n, bad;         /* expected, stored, events without a usable FIELD */
    char *rx;                    /* frame being reassembled, RX_MAX + 1 */
    size_t rx_len;
    int rx_skip;                 /* current frame too large: drop its fragments */
    int ready, done, closing, ended; /* ended: connection gone (or never made) */
    double timeout, last;        /* seconds; monotonic time of the last progress */
} wslat;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Same construction as the publisher: wall seconds modulo 100, with microseconds. */
static double wall_mod100(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)(ts.tv_sec % 100) + (double)ts.tv_nsec / 1e9;
}

static void on_frame(wslat *w)
{
    const char *v;
    char *end;
    double sent, d;

    w->rx[w->rx_len] = '\0';
    if (!w->ready) { /* the server's first frame: our subscription's answer */
        if (!strstr(w->rx, "\"type\":\"subscribed\"")) {
            fprintf(stderr, "bench_wslat: first frame is not 'subscribed': %.200s\n", w->rx);
            w->done = 1;
            return;
        }
        w->ready = 1;
        w->last = mono_s();
        printf("ready\n");
        fflush(stdout);
        return;
    }
    if (!strstr(w->rx, "\"type\":\"event\"") || w->n >= w->expect)
        return;
    d = wall_mod100();
    v = strstr(w->rx, w->key);
    sent = v ? strtod(v + strlen(w->key), &end) : NAN;
    if (!v || end == v + strlen(w->key) || !(sent >= 0 && sent < 100)) {
        w->bad++;
        return;
    }
    d -= sent;
    if (d < 0)
        d += 100; /* the clock passed a multiple of 100 s in between */
    w->sent[w->n] = sent;
    w->lat[w->n++] = d * 1000.0;
    w->last = mono_s();
    if (w->n == w->expect)
        w->done = 1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    wslat *w = lws_context_user(lws_get_context(wsi));

    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "bench_wslat: connect failed: %s\n", in ? (const char *)in : "?");
        w->wsi = NULL;
        w->ended = 1;
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_frame_is_binary(wsi))
            return 0;
        if (w->rx_skip || w->rx_len + len > RX_MAX) {
            w->rx_skip = 1;
        } else {
            memcpy(w->rx + w->rx_len, in, len);
            w->rx_len += len;
        }
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        if (w->rx_skip)
            fprintf(stderr, "bench_wslat: skipped a frame larger than %d bytes\n", RX_MAX);
        else
            on_frame(w);
        w->rx_len = 0;
        w->rx_skip = 0;
        if (w->done && !w->closing) {
            w->closing = 1;
            lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (w->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
            return -1; /* lws sends the close frame and waits for the server's */
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        w->wsi = NULL;
        w->ended = 1;
        return 0;
    default:
        return 0;
    }
}

/* Timeout tick: ends the run after --timeout seconds without progress. */
static void tick(lws_sorted_usec_list_t *sul)
{
    wslat *w = lws_container_of(sul, wslat, sul);

    if (!w->done && mono_s() - w->last > w->timeout)
        w->done = 1;
    if (w->done && !w->closing && w->wsi) {
        w->closing = 1;
        lws_callback_on_writable(w->wsi);
    }
    lws_sul_schedule(w->ctx, 0, &w->sul, tick, TICK_US);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Strict integer in [lo, hi], or -1. */
static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    return (end == s || *end || errno || v < lo || v > hi) ? -1 : v;
}

int main(int argc, char **argv)
{
    static const struct lws_protocols protocols[] = {{"wslat", callback, 0, 0, 0, NULL, 0},
                                                     {NULL, NULL, 0, 0, 0, NULL, 0}};
    static const int pct[] = {50, 90, 99};
    struct lws_context_creation_info ci;
    struct lws_client_connect_info cc;
    const char *path = "/api/v1/live?channel=telemetry", *field = "humidity", *dump = NULL;
    wslat w;
    struct rusage ru;
    double t_close = 0;
    long port = -1;
    char *end;

    memset(&w, 0, sizeof(w));
    w.expect = -1;
    w.timeout = 30;
    for (int i = 1; i < argc; i += 2) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;

        if (ok && strcmp(o, "--port") == 0) {
            ok = (port = parse_long(v, 1, 65535)) > 0;
        } else if (ok && strcmp(o, "--expect") == 0) {
            ok = (w.expect = parse_long(v, 1, EXPECT_MAX)) > 0;
        } else if (ok && strcmp(o, "--path") == 0) {
            path = v;
            ok = v[0] == '/' && strlen(v) < 1024;
        } else if (ok && strcmp(o, "--field") == 0) {
            field = v;
            ok = *v && strlen(v) <= 64 && !strpbrk(v, "\"\\");
        } else if (ok && strcmp(o, "--dump") == 0) {
            dump = v;
        } else if (ok && strcmp(o, "--timeout") == 0) {
            errno = 0;
            w.timeout = strtod(v, &end);
            ok = end != v && !*end && !errno && w.timeout > 0 && w.timeout <= 86400;
        } else {
            ok = 0;
        }
        if (!ok) {
            fprintf(stderr, "bench_wslat: unknown option or bad value at '%s'; " USAGE "\n", o);
            return 2;
        }
    }
    if (port < 0 || w.expect < 0) {
        fprintf(stderr, "bench_wslat: --port and --expect are required; " USAGE "\n");
        return 2;
    }
    snprintf(w.key, sizeof(w.key), "\"%s\":", field);
    w.lat = malloc((size_t)w.expect * sizeof(double));
    w.sent = malloc((size_t)w.expect * sizeof(double));
    w.rx = malloc(RX_MAX + 1);
    if (!w.lat || !w.rx) {
        fprintf(stderr, "bench_wslat: out of memory\n");
        goto out;
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    memset(&ci, 0, sizeof(ci));
    ci.port = CONTEXT_PORT_NO_LISTEN;
    ci.protocols = protocols;
    ci.gid = (gid_t)-1;
    ci.uid = (uid_t)-1;
    ci.user = &w;
    w.ctx = lws_create_context(&ci);
    if (!w.ctx) {
        fprintf(stderr, "bench_wslat: cannot create the lws context\n");
        goto out;
    }
    memset(&cc, 0, sizeof(cc));
    cc.context = w.ctx;
    cc.address = "127.0.0.1";
    cc.port = (int)port;
    cc.path = path;
    cc.host = "127.0.0.1";
    cc.origin = "127.0.0.1";
    cc.ietf_version_or_minus_one = -1;
    w.last = mono_s();
    w.wsi = lws_client_connect_via_info(&cc);
    w.ended = w.wsi == NULL;
    lws_sul_schedule(w.ctx, 0, &w.sul, tick, TICK_US);
    /* until closed; a close handshake the server does not finish is cut short */
    while (!w.ended && (!t_close || mono_s() - t_close < CLOSE_WAIT_S)) {
        if (lws_service(w.ctx, 0) < 0)
            break;
        if (w.closing && !t_close)
            t_close = mono_s();
    }
    lws_sul_cancel(&w.sul);
    lws_context_destroy(w.ctx);

    if (w.bad)
        fprintf(stderr, "bench_wslat: %ld event frames without a number in %s\n", w.bad, w.key);
    getrusage(RUSAGE_SELF, &ru);
    if (dump) {
        FILE *f = fopen(dump, "w");

        for (long i = 0; f && i < w.n; i++)
            fprintf(f, "%.6f %.3f\n", w.sent[i], w.lat[i]);
        if (!f || fclose(f) != 0)
            fprintf(stderr, "bench_wslat: cannot write '%s': %s\n", dump, strerror(errno));
    }
    printf("{\"events\":%ld,\"expected\":%ld,", w.n, w.expect);
    if (w.n > 0) {
        qsort(w.lat, (size_t)w.n, sizeof(double), cmp_double);
        /* the same percentile pick as bench_live.py: lat[min(n - 1, p / 100 * n)] */
        for (int p = 0; p < 3; p++) {
            long k = (long)(pct[p] / 100.0 * (double)w.n);

            printf("\"p%d_ms\":%.3f,", pct[p], w.lat[k < w.n ? k : w.n - 1]);
        }
        printf("\"max_ms\":%.3f,", w.lat[w.n - 1]);
    } else {
        printf("\"p50_ms\":null,\"p90_ms\":null,\"p99_ms\":null,\"max_ms\":null,");
    }
    printf("\"cpu_s\":%.3f}\n", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                                    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
out:
    free(w.lat);
    free(w.rx);
    return w.n == w.expect ? 0 : 1;
}
