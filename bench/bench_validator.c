/* SPDX-License-Identifier: MIT */
/*
 * Validator benchmark: parse + validate a ~200-byte telemetry payload
 * against a realistic schema (required fields, types, ranges, a pattern,
 * an enum, a date-time, additionalProperties false) on one core, through
 * each entry point. Prints payloads/s; never run by ctest.
 * Usage: bench_validator [seconds-per-case [case-number]]   (default 1 s, all cases)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asyncapi/schema.h"

static const char *schema_text =
    "{\"type\":\"object\","
    "\"required\":[\"deviceId\",\"ts\",\"temperature\",\"humidity\",\"battery\",\"status\",\"seq\"],"
    "\"additionalProperties\":false,"
    "\"properties\":{"
    "\"deviceId\":{\"type\":\"string\",\"pattern\":\"^dev-[0-9]{4}$\"},"
    "\"ts\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"temperature\":{\"type\":\"number\",\"minimum\":-40,\"maximum\":85},"
    "\"humidity\":{\"type\":\"number\",\"minimum\":0,\"maximum\":100},"
    "\"battery\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100},"
    "\"status\":{\"type\":\"string\",\"enum\":[\"ok\",\"degraded\",\"fault\"]},"
    "\"seq\":{\"type\":\"integer\",\"minimum\":0},"
    "\"firmware\":{\"type\":\"string\",\"maxLength\":16},"
    "\"location\":{\"type\":\"object\",\"required\":[\"lat\",\"lon\"],\"additionalProperties\":false,"
    "\"properties\":{\"lat\":{\"type\":\"number\",\"minimum\":-90,\"maximum\":90},"
    "\"lon\":{\"type\":\"number\",\"minimum\":-180,\"maximum\":180}}}}}";

static const char *payload =
    "{\"deviceId\":\"dev-0042\",\"ts\":\"2024-05-01T12:34:56.789Z\",\"temperature\":21.5,"
    "\"humidity\":48.2,\"battery\":87,\"status\":\"ok\",\"seq\":123456,\"firmware\":\"1.4.2\","
    "\"location\":{\"lat\":52.52,\"lon\":13.405}}";

static double clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum mode { JSON_FAST, JSON_RESULT, JSON_TREE, TREE_ONLY, CJSON_PARSE, JSON_TREE_BUF };

static asyncapi_json_buf *tree_buf; /* JSON_TREE_BUF: the writer's way (bridge/src/ingest.c) */

static int run_once(const asyncapi_schema *s, enum mode m, size_t len, const cJSON *tree)
{
    asyncapi_schema_result r;
    cJSON *out = NULL;
    int rc = -100;

    switch (m) {
    case JSON_FAST:
        rc = asyncapi_schema_validate_json(s, payload, len, NULL, NULL);
        break;
    case JSON_RESULT:
        rc = asyncapi_schema_validate_json(s, payload, len, &r, NULL);
        break;
    case JSON_TREE:
        rc = asyncapi_schema_validate_json(s, payload, len, &r, &out);
        cJSON_Delete(out);
        break;
    case TREE_ONLY:
        rc = asyncapi_schema_validate(s, tree, NULL);
        break;
    case JSON_TREE_BUF: {
        const cJSON *in = NULL;

        rc = asyncapi_schema_validate_json_in(s, tree_buf, payload, len, NULL, &in);
        break;
    }
    case CJSON_PARSE:
        out = cJSON_ParseWithLength(payload, len);
        rc = out ? asyncapi_schema_validate(s, out, NULL) : -1;
        cJSON_Delete(out);
        break;
    }
    return rc;
}

static void bench(const asyncapi_schema *s, enum mode m, const char *name, double secs,
                  const cJSON *tree)
{
    size_t len = strlen(payload);
    long n = 0, bad = 0;
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w, c;

    do {
        for (int i = 0; i < 10000; i++)
            bad += run_once(s, m, len, tree) != 0;
        n += 10000;
        c = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    } while (c < secs);
    w = clock_s(CLOCK_MONOTONIC) - w0;
    /* CPU time of this thread: the rate of one core even on a busy machine */
    printf("%-48s %10.0f payloads/s per core (%.0f ns CPU each; wall %.0f/s; %ld invalid)\n",
           name, (double)n / c, c / (double)n * 1e9, (double)n / w, bad);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    int only = argc > 2 ? atoi(argv[2]) : -1;
    cJSON *sj = cJSON_Parse(schema_text);
    cJSON *tree = cJSON_Parse(payload);
    asyncapi_diag diag;
    asyncapi_schema *s;

    if (!sj || !tree) {
        fprintf(stderr, "bench_validator: cannot parse the built-in texts\n");
        return 1;
    }
    s = asyncapi_schema_compile(sj, NULL, NULL, 0, &diag);
    if (!s) {
        fprintf(stderr, "bench_validator: compile failed: %s\n", diag.message);
        return 1;
    }
    if (secs <= 0)
        secs = 1.0;
    printf("payload %zu bytes, %.1f s CPU per case, one thread\n", strlen(payload), secs);
    if (only < 0 || only == 0)
        bench(s, JSON_FAST, "validate_json, result NULL", secs, tree);
    if (only < 0 || only == 1)
        bench(s, JSON_RESULT, "validate_json, result non-NULL", secs, tree);
    if (only < 0 || only == 2)
        bench(s, JSON_TREE, "validate_json, result + tree out (cJSON heap)", secs, tree);
    if (only < 0 || only == 3)
        bench(s, TREE_ONLY, "validate on a parsed cJSON tree (no parse)", secs, tree);
    if (only < 0 || only == 4)
        bench(s, CJSON_PARSE, "cJSON_Parse + validate (for comparison)", secs, tree);
    if (only < 0 || only == 5) {
        tree_buf = asyncapi_json_buf_new();
        if (tree_buf)
            bench(s, JSON_TREE_BUF, "validate_json_in, tree out (reused buffer)", secs, tree);
        asyncapi_json_buf_free(tree_buf);
    }
    asyncapi_schema_free(s);
    cJSON_Delete(sj);
    cJSON_Delete(tree);
    return 0;
}
