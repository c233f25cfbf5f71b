/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the topic router (router.h): 10,000 channels of realistic
 * shapes, routing pre-generated random concrete topics; prints matches/s.
 * Usage: bench_router [iterations]  (default 10,000,000 per round, 3 rounds)
 * Target (issue 2): >= 5,000,000 matches/s on one core, RelWithDebInfo.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asyncapi/router.h"

#define N_TOPICS (1u << 16)
#define TOPIC_MAX 96

/*
 * Channel shapes (a and b are the two literal numbers of a channel):
 *   0: site/{site}/area/<a 0..49>/dev/{deviceId}/metric-<b 0..99>    5,000
 *   1: fleet/<a 0..49>/{deviceId}/telemetry/t<b 0..49>                2,500
 *   2: building/b<a 0..24>/floor/{floor}/room/{room}/sensor-<b 0..99> 2,500
 */
static const struct shape {
    int a, b; /* ranges of the two numbers */
} shapes[] = { { 50, 100 }, { 50, 50 }, { 25, 100 } };

static int shape_address(char *buf, size_t size, int s, int a, int b)
{
    switch (s) {
    case 0: return snprintf(buf, size, "site/{site}/area/%d/dev/{deviceId}/metric-%d", a, b);
    case 1: return snprintf(buf, size, "fleet/%d/{deviceId}/telemetry/t%d", a, b);
    default: return snprintf(buf, size, "building/b%d/floor/{floor}/room/{room}/sensor-%d", a, b);
    }
}

static int shape_topic(char *buf, size_t size, int s, int a, int b, unsigned x, unsigned y)
{
    switch (s) {
    case 0: return snprintf(buf, size, "site/s%u/area/%d/dev/dev-%u/metric-%d", x % 100, a, y % 100000, b);
    case 1: return snprintf(buf, size, "fleet/%d/node%u/telemetry/t%d", a, y % 100000, b);
    default: return snprintf(buf, size, "building/b%d/floor/%u/room/r%u/sensor-%d", a, x % 40, y % 1000, b);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
    /* xorshift64*: deterministic runs, no libc rand state. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static double clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Wall time and this thread's CPU time: on a shared machine the CPU-time
 * figure is the better estimate of one core's throughput.
 */
static void stamp(double *wall, double *cpu)
{
    *wall = clock_s(CLOCK_MONOTONIC);
    *cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
}

int main(int argc, char **argv)
{
    static char topics[N_TOPICS][TOPIC_MAX];
    static size_t lens[N_TOPICS];
    asyncapi_router *r;
    asyncapi_route_match m;
    char buf[TOPIC_MAX];
    long iterations = argc > 1 ? atol(argv[1]) : 10000000L;
    size_t params_seen = 0;
    int rc = 1;

    if (iterations <= 0) {
        fprintf(stderr, "usage: bench_router [iterations]\n");
        return 2;
    }
    r = asyncapi_router_new();
    if (!r)
        return 1;
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
        for (int a = 0; a < shapes[s].a; a++)
            for (int b = 0; b < shapes[s].b; b++) {
                int n = shape_address(buf, sizeof(buf), (int)s, a, b);

                if (n < 0 || (size_t)n >= sizeof(buf))
                    goto done;
                if (asyncapi_router_add(r, buf, NULL) != 0) {
                    fprintf(stderr, "bench_router: cannot add '%s'\n", buf);
                    goto done;
                }
            }

    for (size_t i = 0; i < N_TOPICS; i++) {
        int sh = (int)(rng() % 3);
        int a = (int)(rng() % (unsigned)shapes[sh].a), b = (int)(rng() % (unsigned)shapes[sh].b);
        int n = shape_topic(topics[i], TOPIC_MAX, sh, a, b, rng(), rng());

        if (n < 0 || n >= TOPIC_MAX)
            goto done;
        lens[i] = (size_t)n;
        if (asyncapi_router_match(r, topics[i], lens[i], &m) != 0) {
            fprintf(stderr, "bench_router: '%s' does not route\n", topics[i]);
            goto done;
        }
    }

    printf("bench_router: %zu channels, %u distinct topics, %ld matches per round\n",
           asyncapi_router_count(r), N_TOPICS, iterations);
    for (int round = 0; round < 3; round++) {
        double w0, c0, w1, c1;

        stamp(&w0, &c0);
        for (long i = 0; i < iterations; i++) {
            size_t k = (size_t)i & (N_TOPICS - 1);

            if (asyncapi_router_match(r, topics[k], lens[k], &m) != 0)
                goto done;
            params_seen += m.n_params;
        }
        stamp(&w1, &c1);
        printf("round %d: %.3f s wall, %.0f matches/s wall, %.0f matches/s cpu, "
               "%.1f ns/match cpu\n", round + 1, w1 - w0, (double)iterations / (w1 - w0),
               (double)iterations / (c1 - c0), (c1 - c0) * 1e9 / (double)iterations);
    }

    /*
     * Unknown topics: the last character becomes 'x', so every topic walks
     * the trie to its last level, misses, and backtracks through {param}s.
     */
    for (size_t k = 0; k < N_TOPICS; k++)
        topics[k][lens[k] - 1] = 'x';
    {
        double w0, c0, w1, c1;

        stamp(&w0, &c0);
        for (long i = 0; i < iterations; i++) {
            size_t k = (size_t)i & (N_TOPICS - 1);

            if (asyncapi_router_match(r, topics[k], lens[k], &m) != ASYNCAPI_ENOMATCH)
                goto done;
        }
        stamp(&w1, &c1);
        printf("unknown topics: %.3f s wall, %.0f misses/s wall, %.0f misses/s cpu, "
               "%.1f ns/miss cpu\n", w1 - w0, (double)iterations / (w1 - w0),
               (double)iterations / (c1 - c0), (c1 - c0) * 1e9 / (double)iterations);
    }
    printf("(%zu parameters extracted)\n", params_seen);
    rc = 0;
done:
    asyncapi_router_free(r);
    return rc;
}
