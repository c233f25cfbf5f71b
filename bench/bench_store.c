/* SPDX-License-Identifier: MIT */
/*
 * bench_store: appends/s of the store's write path (store_begin, N x
 * store_append_event, store_commit) on a real SQLite file, for batch sizes
 * 1, 10, 100, 1000, with and without correlation ids, synchronous NORMAL
 * and FULL. Payloads are ~200-byte telemetry objects that differ per
 * message; params come from router slices as in the ingest. Each cell runs
 * on a fresh file for --seconds (default 1.5) after a warm-up past the
 * dedupe window, so pruning is in the steady state. Prints a table.
 * Usage: bench_store [--seconds S | --count N] [--dir DIR] [--batches 1,10,...]
 *                    [--sync normal|full] [--corr 0|1] [--projector]
 * (--count: a fixed number of timed appends per cell, for `perf stat`.)
 * --projector also runs the projector thread during the cell (the
 * contention the daemon sees) and prints the events it had not folded yet
 * when the cell ended (lag). Each cell prints appends per wall second and,
 * in parentheses, the writer thread's CPU time per append (stable on a
 * shared machine; the wall rate includes fsync waits and other load).
 * Never run by ctest. Notes: docs/store.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define N_DEVICES 100
#define MAX_BATCHES 8

typedef struct cell {
    int full;        /* synchronous=FULL */
    int corr;        /* events carry a correlation id */
    int batch;       /* appends per commit */
} cell;

static double clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static void remove_db(const char *path)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[600];

    for (size_t i = 0; i < 4; i++) {
        if (snprintf(p, sizeof(p), "%s%s", path, sfx[i]) < (int)sizeof(p))
            unlink(p);
    }
}

/*
 * Message i: pool[i % POOL] (rendered once with snprintf, so the timing is
 * the store's, not printf's) with i written into its fixed-width "msg"
 * field, so no two payloads are equal.
 */
#define POOL 4096
#define MSG_DIGITS 12

typedef struct pool_msg {
    char payload[320];   /* JSON text, ~200 bytes */
    size_t len;          /* strlen(payload) */
    size_t msg_off;      /* offset of the MSG_DIGITS digits of "msg" */
} pool_msg;

static pool_msg *pool;

static int pool_init(void)
{
    pool = calloc(POOL, sizeof(*pool));
    if (!pool)
        return -1;
    for (long i = 0; i < POOL; i++) {
        int dev = (int)(i % N_DEVICES);
        int n = snprintf(pool[i].payload, sizeof(pool[i].payload),
                         "{\"deviceId\":\"dev-%04d\",\"msg\":\"%0*d\",\"ts\":%lld,"
                         "\"temperature\":%.2f,\"humidity\":%.1f,\"pressure\":%.2f,"
                         "\"battery\":%.2f,\"rssi\":%d,\"status\":\"ok\",\"fw\":\"1.4.2\","
                         "\"site\":\"plant-a\",\"line\":\"line-3\"}",
                         dev, MSG_DIGITS, 0, 1700000000000LL + i, 15.0 + (double)(i % 1000) / 50.0,
                         40.0 + (double)(i % 300) / 10.0, 1000.0 + (double)(i % 2500) / 100.0,
                         3.0 + (double)(i % 120) / 100.0, -40 - (int)(i % 50));
        if (n < 0 || (size_t)n >= sizeof(pool[i].payload))
            return -1;
        pool[i].len = (size_t)n;
        pool[i].msg_off = (size_t)(strstr(pool[i].payload, "\"msg\":\"") - pool[i].payload) + 7;
    }
    return 0;
}

/* Writes v as exactly width decimal digits ending at end (exclusive). */
static void put_digits(char *end, int width, unsigned long v)
{
    while (width-- > 0) {
        *--end = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Appends message i (single-shot when outside a batch). */
static int append_one(store *s, long i, int with_corr)
{
    static const char prefix[] = "fleet/plant-a/devices/dev-";
    char topic[96], payload[320], corr[24], dev[16];
    const pool_msg *m = &pool[i % POOL];
    int d = (int)(i % N_DEVICES);
    asyncapi_route_param p[1] = {{.name = "deviceId"}};
    store_event ev;

    memcpy(payload, m->payload, m->len + 1);
    put_digits(payload + m->msg_off + MSG_DIGITS, MSG_DIGITS, (unsigned long)i);
    /* a per-device counter rendered as devices_expr_eval renders integers */
    if (snprintf(corr, sizeof(corr), "%ld", i / N_DEVICES) >= (int)sizeof(corr))
        return -1;
    memcpy(topic, prefix, sizeof(prefix) - 1);
    put_digits(topic + sizeof(prefix) - 1 + 4, 4, (unsigned long)d);
    memcpy(topic + sizeof(prefix) - 1 + 4, "/telemetry", sizeof("/telemetry"));
    memcpy(dev, topic + sizeof(prefix) - 5, 8);
    dev[8] = '\0';
    p[0].value = topic + sizeof(prefix) - 5;
    p[0].len = 8;
    ev = (store_event){
        .channel = "telemetry",
        .message = "reading",
        .device_id = dev,
        .topic = topic,
        .params = p,
        .n_params = 1,
        .payload = payload,
        .payload_len = m->len,
        .correlation_id = with_corr ? corr : NULL,
        .received_at = 1700000000000LL + i,
    };
    return store_append_event(s, &ev, NULL);
}

/* Appends [*next, *next + batch) in one commit (batch 1: single-shot). */
static int run_batch(store *s, long *next, int batch, int corr)
{
    int rc;

    if (batch == 1) {
        rc = append_one(s, (*next)++, corr);
        return rc;
    }
    rc = store_begin(s);
    if (rc != 0)
        return rc;
    for (int k = 0; k < batch; k++) {
        rc = append_one(s, (*next)++, corr);
        if (rc != 0) {
            store_rollback(s);
            return rc;
        }
    }
    return store_commit(s);
}

/*
 * rate: appends per wall second; cpu_us: CPU time of this thread per
 * append; lag: with the projector, events not yet folded when the cell ends
 */
static int run_cell(const char *dir, const cell *c, double seconds, long count,
                    int projector, double *rate, double *cpu_us, int64_t *lag)
{
    char path[512];
    store_options o = {.flags = c->full ? STORE_OPEN_SYNC_FULL : 0};
    store_projector *pj = NULL;
    store *s;
    long next = 0, start;
    double t0, t1, c0;
    char diag[256];
    int err = 0, rc = 0;
    long warm;

    if (snprintf(path, sizeof(path), "%s/bench_store.db", dir) >= (int)sizeof(path))
        return -1;
    remove_db(path);
    s = store_open(path, &o, &err, diag, sizeof(diag));
    if (!s) {
        fprintf(stderr, "bench_store: cannot open '%s': %s\n", path, diag);
        return -1;
    }
    if (projector) {
        store_projector_options po = {.open_flags = o.flags};
        pj = store_projector_start(path, &po, &err, diag, sizeof(diag));
        if (!pj) {
            fprintf(stderr, "bench_store: cannot start projector: %s\n", diag);
            store_close(s);
            return -1;
        }
    }
    /* warm-up: fill the dedupe window (default 10000) so pruning runs */
    warm = STORE_DEDUPE_WINDOW_DEFAULT + 2000;
    while (next < warm && rc == 0)
        rc = run_batch(s, &next, c->batch >= 100 ? c->batch : 1000, c->corr);
    start = next;
    t0 = now_s();
    c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    t1 = t0;
    while (rc == 0 && (count > 0 ? next - start < count : t1 - t0 < seconds)) {
        rc = run_batch(s, &next, c->batch, c->corr);
        if (pj)
            store_projector_notify(pj);
        t1 = now_s();
    }
    if (rc != 0)
        fprintf(stderr, "bench_store: append failed: %s (%s)\n", store_strerror(rc),
                store_errmsg(s));
    *rate = (double)(next - start) / (t1 - t0);
    *cpu_us = (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e6 / (double)(next - start);
    if (pj) {
        store_stats st;
        if (store_stats_get(s, &st) == 0)
            *lag = st.last_seq - store_projector_checkpoint(pj);
    }
    store_projector_stop(pj);
    store_close(s);
    remove_db(path);
    return rc == 0 ? 0 : -1;
}

static int parse_batches(const char *arg, int *out, int *n)
{
    char *end;

    *n = 0;
    while (*arg && *n < MAX_BATCHES) {
        long v = strtol(arg, &end, 10);
        if (end == arg || v < 1 || v > 100000)
            return -1;
        out[(*n)++] = (int)v;
        arg = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return *n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int batches[MAX_BATCHES] = {1, 10, 100, 1000};
    int n_batches = 4, projector = 0, only_sync = -1, only_corr = -1;
    long count = 0;
    double seconds = 1.5;
    const char *dir = "/tmp";

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc) {
            if (parse_batches(argv[++i], batches, &n_batches) != 0) {
                fprintf(stderr, "bench_store: bad --batches\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = atol(argv[++i]);
        } else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc) {
            i++;
            only_sync = strcmp(argv[i], "full") == 0 ? 1 : 0;
        } else if (strcmp(argv[i], "--corr") == 0 && i + 1 < argc) {
            only_corr = atoi(argv[++i]) ? 1 : 0;
        } else if (strcmp(argv[i], "--projector") == 0) {
            projector = 1;
        } else {
            fprintf(stderr, "usage: bench_store [--seconds S | --count N] [--dir DIR] "
                            "[--batches 1,10,100,1000] [--sync normal|full] [--corr 0|1]"
                            " [--projector]\n");
            return 2;
        }
    }
    if (seconds <= 0)
        seconds = 1.5;
    if (pool_init() != 0) {
        fprintf(stderr, "bench_store: cannot build the payload pool\n");
        free(pool);
        return 1;
    }

    printf("bench_store: appends/s (wall) and (CPU us of the writer thread per append),\n"
           "~200-byte payloads, %.1f s per cell, dir %s%s\n", seconds, dir,
           projector ? ", projector running" : "");
    printf("| batch | NORMAL, hash dedupe | NORMAL, correlation id | FULL, hash dedupe |"
           " FULL, correlation id |\n");
    printf("|------:|------:|------:|------:|------:|\n");
    for (int b = 0; b < n_batches; b++) {
        printf("| %5d |", batches[b]);
        fflush(stdout);
        for (int full = 0; full <= 1; full++) {
            for (int corr = 0; corr <= 1; corr++) {
                cell c = {.full = full, .corr = corr, .batch = batches[b]};
                double rate = 0, cpu_us = 0;
                int64_t lag = 0;
                if ((only_sync >= 0 && only_sync != full) || (only_corr >= 0 && only_corr != corr)) {
                    printf(" %19s |", "-");
                    continue;
                }
                if (run_cell(dir, &c, seconds, count, projector, &rate, &cpu_us, &lag) != 0) {
                    free(pool);
                    return 1;
                }
                if (projector)
                    printf(" %7.0f (%5.1f us) lag %6lld |", rate, cpu_us, (long long)lag);
                else
                    printf(" %7.0f (%5.1f us) |", rate, cpu_us);
                fflush(stdout);
            }
        }
        printf("\n");
    }
    free(pool);
    return 0;
}
