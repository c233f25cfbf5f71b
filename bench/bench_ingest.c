/* SPDX-License-Identifier: MIT */
/*
 * Ingest benchmark helpers (driven by bench/bench_ingest.sh):
 *   bench_ingest pub  PORT N          publish N QoS 1 telemetry messages as fast
 *                                     as the in-flight window allows, wait for
 *                                     every PUBACK, print the rate
 *   bench_ingest sub  PORT N CLIENTID the broker ceiling: a persistent-session
 *                                     QoS 1 subscriber that only counts; prints
 *                                     the rate from first to N-th message
 *   bench_ingest init PORT CLIENTID   create that subscriber's session and leave
 *   bench_ingest pubrate PORT N RATE  paced publisher for bench_live.py mqtt
 *                                     (examples/fleet.yaml telemetry, publish
 *                                     time in "humidity")
 * Messages are valid for tests/fixtures/ingest/spec.yaml (fleet/+/telemetry).
 * Prints figures, asserts nothing (never run by ctest).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <MQTTAsync.h>

static atomic_long n_acked;
static atomic_long n_received;
static atomic_int connected_flag;
static atomic_int failed_flag;
static double t_first, t_last;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void on_connect(void *ctx, MQTTAsync_successData *r)
{
    (void)ctx;
    (void)r;
    atomic_store(&connected_flag, 1);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *r)
{
    (void)ctx;
    fprintf(stderr, "bench_ingest: connect failed: %s\n", r && r->message ? r->message : "?");
    atomic_store(&failed_flag, 1);
}

static void on_sent(void *ctx, MQTTAsync_successData *r)
{
    (void)ctx;
    (void)r;
    atomic_fetch_add(&n_acked, 1);
}

static int on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    long n = atomic_fetch_add(&n_received, 1) + 1;

    (void)ctx;
    (void)tlen;
    if (n == 1)
        t_first = now_s();
    t_last = now_s();
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static int connect_client(MQTTAsync *c, int port, const char *id, int clean, int with_cb)
{
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    char uri[64];

    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
    if (MQTTAsync_create(c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) != MQTTASYNC_SUCCESS)
        return -1;
    if (with_cb)
        MQTTAsync_setCallbacks(*c, NULL, NULL, on_message, NULL);
    o.keepAliveInterval = 60;
    o.cleansession = clean;
    o.maxInflight = 1000;
    o.onSuccess = on_connect;
    o.onFailure = on_connect_fail;
    if (MQTTAsync_connect(*c, &o) != MQTTASYNC_SUCCESS)
        return -1;
    while (!atomic_load(&connected_flag) && !atomic_load(&failed_flag))
        sleep_ms(5);
    return atomic_load(&failed_flag) ? -1 : 0;
}

static int subscribe(MQTTAsync c)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

    if (MQTTAsync_subscribe(c, "fleet/+/telemetry", 1, &ro) != MQTTASYNC_SUCCESS)
        return -1;
    sleep_ms(200);
    return 0;
}

static void disconnect(MQTTAsync *c)
{
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

    d.timeout = 2000;
    MQTTAsync_disconnect(*c, &d);
    sleep_ms(200);
    MQTTAsync_destroy(c);
}

static int run_pub(int port, long n)
{
    MQTTAsync c;
    char id[64], topic[64], payload[128];
    double t0, dt;

    snprintf(id, sizeof(id), "bench-pub-%ld", (long)time(NULL));
    if (connect_client(&c, port, id, 1, 0) != 0)
        return 1;
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        int len, rc;

        ro.onSuccess = on_sent;
        snprintf(topic, sizeof(topic), "fleet/b%ld/telemetry", i % 100);
        len = snprintf(payload, sizeof(payload),
                       "{\"seq\":%ld,\"temperature\":%.1f,\"humidity\":%.1f}", i,
                       (double)(i % 60) - 5.0, (double)(i % 100));
        while ((rc = MQTTAsync_send(c, topic, len, payload, 1, 0, &ro)) ==
               MQTTASYNC_MAX_MESSAGES_INFLIGHT)
            sleep_ms(1);
        if (rc != MQTTASYNC_SUCCESS) {
            fprintf(stderr, "bench_ingest: send failed: %s\n", MQTTAsync_strerror(rc));
            return 1;
        }
    }
    while (atomic_load(&n_acked) < n)
        sleep_ms(2);
    dt = now_s() - t0;
    printf("published %ld in %.3f s: %.0f msg/s\n", n, dt, (double)n / dt);
    disconnect(&c);
    return 0;
}

/*
 * Paced publisher for the live latency bench (bench_live.py mqtt): n QoS 1
 * messages at `rate` msg/s in 1 ms ticks, on fleet/n<i % 100>/telemetry in
 * the examples/fleet.yaml telemetry shape; "humidity" carries the wall
 * clock at publish (seconds modulo 100, microseconds) so the receiver can
 * compute publish -> receive latency. A C publisher in its own process
 * keeps the load generator from being the bottleneck.
 */
static int run_pubrate(int port, long n, long rate)
{
    MQTTAsync c;
    char id[64], topic[64], payload[192];
    double t0, next, per_tick;
    long i = 0, late = 0;

    if (rate <= 0)
        return 2;
    snprintf(id, sizeof(id), "bench-pubrate-%ld", (long)time(NULL));
    if (connect_client(&c, port, id, 1, 0) != 0)
        return 1;
    per_tick = (double)rate / 1000.0;
    t0 = next = now_s();
    while (i < n) {
        long due = (long)((now_s() - t0) * 1000.0 * per_tick) + 1;

        if (due > n)
            due = n;
        while (i < due) {
            MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
            struct timespec wall;
            int len, rc;

            ro.onSuccess = on_sent;
            clock_gettime(CLOCK_REALTIME, &wall);
            snprintf(topic, sizeof(topic), "fleet/n%ld/telemetry", i % 100);
            len = snprintf(payload, sizeof(payload),
                           "{\"seq\":%ld,\"ts\":\"2026-11-23T10:15:00Z\",\"temperature\":21.5,"
                           "\"humidity\":%.6f}",
                           i, (double)(wall.tv_sec % 100) + (double)wall.tv_nsec / 1e9);
            while ((rc = MQTTAsync_send(c, topic, len, payload, 1, 0, &ro)) ==
                   MQTTASYNC_MAX_MESSAGES_INFLIGHT) {
                late++;
                sleep_ms(1);
            }
            if (rc != MQTTASYNC_SUCCESS) {
                fprintf(stderr, "bench_ingest: send failed: %s\n", MQTTAsync_strerror(rc));
                return 1;
            }
            i++;
        }
        next += 0.001;
        {
            double d = next - now_s();

            if (d > 0) {
                struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(d * 1e9) };

                nanosleep(&ts, NULL);
            }
        }
    }
    while (atomic_load(&n_acked) < n)
        sleep_ms(2);
    printf("published %ld in %.3f s at %ld msg/s (in-flight window full %ld times)\n", n,
           now_s() - t0, rate, late);
    disconnect(&c);
    return 0;
}

static int run_sub(int port, long n, const char *id, int init_only)
{
    MQTTAsync c;
    double deadline;

    if (connect_client(&c, port, id, 0, 1) != 0 || subscribe(c) != 0)
        return 1;
    if (init_only) {
        disconnect(&c);
        return 0;
    }
    printf("ready\n");
    fflush(stdout);
    deadline = now_s() + 600;
    while (atomic_load(&n_received) < n && now_s() < deadline)
        sleep_ms(2);
    if (atomic_load(&n_received) < n) {
        fprintf(stderr, "bench_ingest: only %ld of %ld received\n",
                atomic_load(&n_received), n);
        return 1;
    }
    printf("received %ld in %.3f s: %.0f msg/s\n", n, t_last - t_first,
           (double)(n - 1) / (t_last - t_first));
    disconnect(&c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "pub") == 0)
        return run_pub(atoi(argv[2]), atol(argv[3]));
    if (argc == 5 && strcmp(argv[1], "pubrate") == 0)
        return run_pubrate(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "sub") == 0)
        return run_sub(atoi(argv[2]), atol(argv[3]), argv[4], 0);
    if (argc == 4 && strcmp(argv[1], "init") == 0)
        return run_sub(atoi(argv[2]), 0, argv[3], 1);
    fprintf(stderr, "usage: bench_ingest pub PORT N | pubrate PORT N RATE | sub PORT N CLIENTID | "
                    "init PORT CLIENTID\n");
    return 2;
}
