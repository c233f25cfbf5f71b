/* SPDX-License-Identifier: MIT */
/*
 * Builds a store for the REST benchmark (bench/bench_rest.sh): N events of
 * the demo fleet's telemetry channel spread over D devices (one reading
 * every 10 s per device), appended through the store API in large batches,
 * then folded into projections. Prints the time taken; asserts nothing.
 *   bench_rest_gen --db FILE --events N --devices D
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *db = NULL;
    long long n = 1000000, d = 1000, i;
    int64_t t0 = 1795000000000LL; /* 2026-11-18 */
    store *s;
    int err = 0, rc;
    char diag[256], dev[32], topic[64], corr[32], payload[256], params[64];
    double start;
    size_t folded, total = 0;

    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--db") == 0)
            db = argv[a + 1];
        else if (strcmp(argv[a], "--events") == 0)
            n = atoll(argv[a + 1]);
        else if (strcmp(argv[a], "--devices") == 0)
            d = atoll(argv[a + 1]);
    }
    if (!db || n < 0 || d < 1) {
        fprintf(stderr, "usage: bench_rest_gen --db FILE --events N --devices D\n");
        return 2;
    }
    s = store_open(db, &(store_options){ .dedupe_window = 1 }, &err, diag, sizeof(diag));
    if (!s) {
        fprintf(stderr, "bench_rest_gen: open '%s': %s\n", db, diag);
        return 1;
    }
    start = now_s();
    for (i = 0; i < n; i++) {
        long long k = i % d, round = i / d;
        int64_t seq;

        if (i % 20000 == 0 && (rc = store_begin(s)) != 0)
            goto fail;
        snprintf(dev, sizeof(dev), "gh-%04lld", k);
        snprintf(topic, sizeof(topic), "fleet/%s/telemetry", dev);
        snprintf(params, sizeof(params), "{\"deviceId\":\"%s\"}", dev);
        snprintf(corr, sizeof(corr), "%lld", round);
        snprintf(payload, sizeof(payload),
                 "{\"seq\":%lld,\"ts\":\"2026-11-18T00:00:00Z\",\"temperature\":%.1f,"
                 "\"humidity\":%.1f,\"soil_moisture\":0.%02lld,\"battery\":3.7,\"light\":%lld}",
                 round, 15.0 + (double)((i * 7) % 200) / 10.0, 40.0 + (double)(i % 300) / 10.0,
                 i % 100, (i * 13) % 50000);
        rc = store_append_event(s, &(store_event){
                                       .channel = "telemetry", .message = "reading",
                                       .device_id = dev, .topic = topic, .params_json = params,
                                       .payload = payload, .correlation_id = corr,
                                       .received_at = t0 + round * 10000 + k },
                                &seq);
        if (rc < 0)
            goto fail;
        if (i % 20000 == 19999 || i == n - 1) {
            if ((rc = store_commit(s)) != 0)
                goto fail;
        }
    }
    /* the index entries the bridge writes while idle (store_device_flush) */
    while ((rc = store_device_flush(s, 1, 1 << 20)) > 0)
        ;
    while (rc == 0 && (rc = store_corr_flush(s, 1, 1 << 20)) > 0)
        ;
    if (rc < 0)
        goto fail;
    printf("appended %lld events over %lld devices in %.1f s\n", n, d, now_s() - start);
    start = now_s();
    do {
        rc = store_project(s, &(store_projector_options){ .batch_max = 50000 }, &folded);
        if (rc != 0)
            goto fail;
        total += folded;
    } while (folded);
    printf("projected %zu events in %.1f s\n", total, now_s() - start);
    store_close(s);
    return 0;
fail:
    fprintf(stderr, "bench_rest_gen: %s: %s\n", store_strerror(rc), store_errmsg(s));
    store_close(s);
    return 1;
}
