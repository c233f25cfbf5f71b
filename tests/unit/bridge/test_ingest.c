/* SPDX-License-Identifier: MIT */
/*
 * ingest (journal mode) on a real SQLite file: the writer thread must see
 * every message submitted while it is idle, whatever it is doing then,
 * including the moment it writes the index entries appends leave pending
 * (move_index_entries), which releases the queue's lock.
 */
#define _GNU_SOURCE
#include "test.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "asyncapi/asyncapi.h"
#include "ingest.h"
#include "store/store.h"

typedef struct rig {
    char dir[64];
    char db[96];
    char jdir[112];
    asyncapi_doc *doc;
    store *writer;
    bridge_ingest *ing;
} rig;

static void rm_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char p[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (unlink(p) != 0)
            rm_dir(p);
    }
    closedir(d);
    rmdir(path);
}

static int rig_open(rig *r)
{
    char spec[512], err[256];
    int rc = 0;
    bridge_ingest_options opt = { 0 };

    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/ingest-test-XXXXXX");
    if (mkdtemp(r->dir) == NULL)
        return -1;
    snprintf(r->db, sizeof r->db, "%s/store.db", r->dir);
    snprintf(r->jdir, sizeof r->jdir, "%s/store.db.journal", r->dir);
    snprintf(spec, sizeof spec, "%s/ingest/spec.yaml", test_fixtures_dir());
    r->doc = asyncapi_load(spec, NULL, &rc, NULL);
    if (r->doc == NULL)
        return -1;
    r->writer = store_open(r->db, NULL, NULL, NULL, 0);
    if (r->writer == NULL)
        return -1;
    opt.doc = r->doc;
    opt.writer = r->writer;
    opt.mode = BRIDGE_INGEST_JOURNAL;
    opt.journal_dir = r->jdir;
    opt.max_payload = 256 * 1024;
    r->ing = bridge_ingest_new(&opt, err, sizeof err);
    if (r->ing == NULL || bridge_ingest_start(r->ing, err, sizeof err) != 0) {
        fprintf(stderr, "ingest: %s\n", err);
        return -1;
    }
    return 0;
}

static void rig_close(rig *r)
{
    bridge_ingest_free(r->ing);
    store_close(r->writer);
    asyncapi_free(r->doc);
    rm_dir(r->dir);
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Waits (spinning, then sleeping) until `events` reaches want; 0, or -1 after 5 s. */
static int wait_events(const bridge_ingest_stats *st, uint64_t want)
{
    int64_t end = now_us() + 5000000;

    for (unsigned spins = 0; atomic_load(&st->events) < want; spins++) {
        if (now_us() > end)
            return -1;
        if (spins > 1000) {
            struct timespec ts = { 0, 20000 };

            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

/*
 * One message at a time, each submitted 0-60 us after the previous one was
 * committed: that sweeps the writer's whole way back to sleep (bookkeeping,
 * the idle index move, the wait). A submit it misses is never committed
 * (nothing else wakes it), which shows as a timeout.
 */
TEST(ingest, writer_sees_every_message_submitted_while_it_goes_idle)
{
    rig r;
    const bridge_ingest_stats *st;
    unsigned seed = 12345;

    ASSERT_EQ(rig_open(&r), 0);
    st = bridge_ingest_get_stats(r.ing);
    for (int i = 0; i < 3000; i++) {
        char topic[64], payload[96];
        int tn = snprintf(topic, sizeof topic, "fleet/d%d/telemetry", i % 7);
        int pn = snprintf(payload, sizeof payload, "{\"seq\":%d,\"temperature\":21.5}", i);
        int64_t until = now_us() + (int64_t)(rand_r(&seed) % 61);

        while (now_us() < until)
            ;
        if (bridge_ingest_submit(r.ing, topic, (size_t)tn, payload, (size_t)pn, 0) != 0) {
            test_fail(__FILE__, __LINE__, "submit %d failed", i);
            break;
        }
        if (wait_events(st, (uint64_t)i + 1) != 0) {
            test_fail(__FILE__, __LINE__, "message %d not committed within 5 s (%llu events, "
                      "%llu queued)", i, (unsigned long long)atomic_load(&st->events),
                      (unsigned long long)atomic_load(&st->queue_depth));
            break;
        }
    }
    ASSERT_EQ(bridge_ingest_stop(r.ing), 0);
    rig_close(&r);
}
