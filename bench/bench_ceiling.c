/* SPDX-License-Identifier: MIT */
/*
 * bench_ceiling: the broker ceiling for bench/run.sh. A Paho C MQTTAsync
 * subscriber that does nothing but count (QoS 1, persistent session), so
 * asyncbridge's durable ingest can be compared with what the broker and the
 * client library deliver at most. Modes:
 *   live      subscribe, print "ready", count until --expect messages
 *   subscribe create the persistent session + subscriptions, disconnect
 *   drain     reconnect to that session and time the backlog drain
 * Prints one JSON line: {mode, msgs, elapsed_s, rate, rate_first, cpu_s,
 * maxrss_kb, complete}; rate_first counts from the first message to the
 * last (no connect, no session set-up).
 * See bench/README.md.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <MQTTAsync.h>

#include "sockio.h"

#define MAX_TOPICS 8

typedef struct bench {
    atomic_ullong count;     /* messages arrived */
    atomic_int connected;    /* 1 after connect + subscribe succeeded */
    atomic_int failed;       /* 1 when connect/subscribe failed */
    atomic_int subscribed;   /* 1 after the subscribe ack */
    double first, last;      /* monotonic times of first/last message (callback thread) */
    MQTTAsync h;
    char *topics[MAX_TOPICS];
    int n_topics;
    int qos;
    const char *lat_field;   /* --latency FIELD: payload number = publish wall clock % 100 s */
    double *lat;             /* latencies in ms (callback thread), lat_cap of them */
    size_t n_lat, lat_cap;
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int on_message(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
    bench *b = ctx;
    double t = now_s();
    (void)len;
    if (atomic_fetch_add(&b->count, 1) == 0)
        b->first = t;
    b->last = t;
    if (b->lat_field && b->n_lat < b->lat_cap && m->payloadlen > 0) {
        /* the payload is not NUL-terminated: copy a bounded prefix */
        char text[512], key[80], *at;
        size_t n = (size_t)m->payloadlen < sizeof(text) - 1 ? (size_t)m->payloadlen : sizeof(text) - 1;
        struct timespec wall;

        memcpy(text, m->payload, n);
        text[n] = '\0';
        snprintf(key, sizeof(key), "\"%s\":", b->lat_field);
        if ((at = strstr(text, key)) != NULL) {
            double sent = strtod(at + strlen(key), NULL), now, d;

            clock_gettime(CLOCK_REALTIME, &wall);
            now = (double)(wall.tv_sec % 100) + (double)wall.tv_nsec / 1e9;
            d = now - sent;
            if (d < -50)
                d += 100;
            b->lat[b->n_lat++] = d * 1000;
        }
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1; /* the ack goes out after this returns */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void on_lost(void *ctx, char *cause)
{
    (void)ctx;
    (void)cause;
}

static void on_sub_ok(void *ctx, MQTTAsync_successData *r)
{
    bench *b = ctx;
    (void)r;
    atomic_store(&b->subscribed, 1);
}

static void on_fail(void *ctx, MQTTAsync_failureData *r)
{
    bench *b = ctx;
    fprintf(stderr, "bench_ceiling: %s\n", r && r->message ? r->message : "connect/subscribe failed");
    atomic_store(&b->failed, 1);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *r)
{
    bench *b = ctx;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int qoss[MAX_TOPICS];
    (void)r;
    for (int i = 0; i < b->n_topics; i++)
        qoss[i] = b->qos;
    ro.onSuccess = on_sub_ok;
    ro.onFailure = on_fail;
    ro.context = b;
    atomic_store(&b->connected, 1);
    if (MQTTAsync_subscribeMany(b->h, b->n_topics, b->topics, qoss, &ro) != MQTTASYNC_SUCCESS)
        atomic_store(&b->failed, 1);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_ceiling --broker tcp://HOST:PORT --client-id ID [--mode live|subscribe|drain]\n"
            "                     [--topic FILTER]... [--qos 0|1|2] [--expect N] [--timeout S]\n"
            "                     [--paho-trace default|error] [--paho-io stock|batched]\n"
            "                     [--latency FIELD]\n");
}

int main(int argc, char **argv)
{
    bench b;
    const char *broker = NULL, *client_id = "bench-ceiling", *mode = "live";
    unsigned long long expect = 0;
    double timeout = 120, t0, t_connect;
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    struct rusage ru;
    int rc, code = 1;

    memset(&b, 0, sizeof(b));
    b.qos = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        }
        if (!v) {
            fprintf(stderr, "bench_ceiling: '%s' needs a value\n", argv[i]);
            return 2;
        }
        i++;
        errno = 0;
        if (strcmp(argv[i - 1], "--broker") == 0) {
            broker = v;
        } else if (strcmp(argv[i - 1], "--client-id") == 0) {
            client_id = v;
        } else if (strcmp(argv[i - 1], "--mode") == 0) {
            mode = v;
        } else if (strcmp(argv[i - 1], "--topic") == 0 && b.n_topics < MAX_TOPICS) {
            b.topics[b.n_topics++] = (char *)v;
        } else if (strcmp(argv[i - 1], "--latency") == 0) {
            /* FIELD holds the publisher's wall clock % 100 s (bench_ingest pubrate) */
            b.lat_field = v;
        } else if (strcmp(argv[i - 1], "--paho-trace") == 0) {
            /* "error": Paho's trace level as asyncbridge sets it (no
             * per-packet trace formatting); "default": stock Paho */
            if (strcmp(v, "error") == 0) {
                MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
            } else if (strcmp(v, "default") != 0) {
                fprintf(stderr, "bench_ceiling: --paho-trace wants default or error\n");
                return 2;
            }
        } else if (strcmp(argv[i - 1], "--paho-io") == 0) {
            /* "batched": Paho's socket reads and acknowledgements batched
             * as asyncbridge runs them (bridge/src/sockio.h) */
            if (strcmp(v, "batched") == 0) {
                bridge_sockio_enable();
            } else if (strcmp(v, "stock") != 0) {
                fprintf(stderr, "bench_ceiling: --paho-io wants stock or batched\n");
                return 2;
            }
        } else if (strcmp(argv[i - 1], "--qos") == 0) {
            b.qos = (int)strtol(v, &end, 10);
            if (*end || b.qos < 0 || b.qos > 2) {
                fprintf(stderr, "bench_ceiling: --qos wants 0, 1 or 2\n");
                return 2;
            }
        } else if (strcmp(argv[i - 1], "--expect") == 0) {
            expect = strtoull(v, &end, 10);
            if (*end || errno) {
                fprintf(stderr, "bench_ceiling: --expect wants a count\n");
                return 2;
            }
        } else if (strcmp(argv[i - 1], "--timeout") == 0) {
            timeout = strtod(v, &end);
            if (*end || !(timeout > 0)) {
                fprintf(stderr, "bench_ceiling: --timeout wants seconds\n");
                return 2;
            }
        } else {
            fprintf(stderr, "bench_ceiling: unknown option '%s'\n", argv[i - 1]);
            usage();
            return 2;
        }
    }
    if (!broker || (strcmp(mode, "live") && strcmp(mode, "subscribe") && strcmp(mode, "drain"))) {
        usage();
        return 2;
    }
    if (b.n_topics == 0)
        b.topics[b.n_topics++] = "#";
    if (b.lat_field) {
        if (expect == 0 || expect > 100000000ull) {
            fprintf(stderr, "bench_ceiling: --latency needs --expect 1..100000000\n");
            return 2;
        }
        b.lat_cap = (size_t)expect;
        b.lat = malloc(b.lat_cap * sizeof(*b.lat));
        if (b.lat == NULL) {
            fprintf(stderr, "bench_ceiling: out of memory\n");
            return 1;
        }
    }

    rc = MQTTAsync_create(&b.h, broker, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench_ceiling: cannot create a client: %s\n", MQTTAsync_strerror(rc));
        return 1;
    }
    MQTTAsync_setCallbacks(b.h, &b, on_lost, on_message, NULL);
    co.keepAliveInterval = 30;
    co.cleansession = 0; /* persistent session: the broker queues while we are away */
    co.maxInflight = 65535;
    co.onSuccess = on_connect_ok;
    co.onFailure = on_fail;
    co.context = &b;
    t0 = now_s();
    rc = MQTTAsync_connect(b.h, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "bench_ceiling: connect: %s\n", MQTTAsync_strerror(rc));
        goto out;
    }
    while (!atomic_load(&b.subscribed) && !atomic_load(&b.failed) && now_s() - t0 < 15)
        sleep_ms(2);
    if (!atomic_load(&b.subscribed)) {
        fprintf(stderr, "bench_ceiling: not subscribed to '%s'\n", broker);
        goto out;
    }
    t_connect = now_s();
    if (strcmp(mode, "subscribe") == 0) {
        printf("{\"mode\":\"subscribe\",\"msgs\":%llu}\n", (unsigned long long)atomic_load(&b.count));
        code = 0;
        goto out;
    }
    if (strcmp(mode, "live") == 0) {
        printf("ready\n");
        fflush(stdout);
    }
    while (now_s() - t_connect < timeout &&
           (expect == 0 || atomic_load(&b.count) < expect))
        sleep_ms(1);
    {
        unsigned long long n = atomic_load(&b.count);
        /* live: first to last message; drain: from the reconnect to the last message */
        double start = strcmp(mode, "drain") == 0 ? t0 : b.first;
        double el = n ? b.last - start : 0;
        getrusage(RUSAGE_SELF, &ru);
        double el_first = n ? b.last - b.first : 0;

        printf("{\"mode\":\"%s\",\"msgs\":%llu,\"elapsed_s\":%.3f,\"rate\":%.0f,"
               "\"rate_first\":%.0f,\"cpu_s\":%.2f,\"maxrss_kb\":%ld,\"complete\":%s}\n",
               mode, n, el, el > 0 ? (double)n / el : 0.0,
               el_first > 0 ? (double)n / el_first : 0.0,
               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
               ru.ru_maxrss, expect && n >= expect ? "true" : "false");
        if (b.lat_field && b.n_lat > 0) {
            qsort(b.lat, b.n_lat, sizeof(*b.lat), cmp_double);
#define PCT(p) b.lat[(size_t)((p) / 100.0 * (double)(b.n_lat - 1))]
            printf("{\"latency_ms\":{\"n\":%zu,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"max\":%.2f}}\n",
                   b.n_lat, PCT(50), PCT(90), PCT(99), b.lat[b.n_lat - 1]);
#undef PCT
        }
        code = expect && n < expect ? 1 : 0;
    }
out: {
    MQTTAsync_disconnectOptions dop = MQTTAsync_disconnectOptions_initializer;
    dop.timeout = 2000;
    if (atomic_load(&b.connected) && MQTTAsync_disconnect(b.h, &dop) == MQTTASYNC_SUCCESS)
        sleep_ms(100);
    MQTTAsync_destroy(&b.h);
}
    free(b.lat);
    return code;
}
