/* SPDX-License-Identifier: MIT */
/*
 * Read queries (store/query.h) against a real store file: written through
 * the store API, folded by store_project, read through a read-only reader.
 */
#include "store/query.h"

#include "store_test_util.h"
#include "test.h"

#define T0 1795000000000LL

typedef struct fixture {
    tmpdb t;
    store_reader *r;
} fixture;

/* 3 devices x 10 telemetry events, 2 status events, 2 dead letters; projected. */
static int fixture_open(fixture *f)
{
    char dev[16], topic[64], payload[128], corr[16];
    int64_t seq;
    store *s;
    size_t folded;
    int err = 0;

    if (tmpdb_init(&f->t) < 0)
        return -1;
    s = store_open(f->t.path, NULL, &err, NULL, 0);
    if (!s)
        return -1;
    for (int i = 0; i < 30; i++) {
        snprintf(dev, sizeof(dev), "d%d", i % 3);
        snprintf(topic, sizeof(topic), "fleet/%s/telemetry", dev);
        snprintf(payload, sizeof(payload), "{\"seq\":%d,\"temperature\":%d.5}", i / 3, i);
        snprintf(corr, sizeof(corr), "%d", i / 3);
        if (store_append_event(s, &(store_event){ .channel = "telemetry", .message = "reading",
                                                  .device_id = dev, .topic = topic,
                                                  .payload = payload, .correlation_id = corr,
                                                  .received_at = T0 + i * 20000 },
                               &seq) != 0)
            goto fail;
    }
    for (int i = 0; i < 2; i++)
        if (store_append_event(s, &(store_event){ .channel = "status", .device_id = "d1",
                                                  .topic = "fleet/d1/status",
                                                  .payload = i ? "{\"status\":\"offline\"}"
                                                               : "{\"status\":\"online\"}",
                                                  .received_at = T0 + 1000000 + i },
                               &seq) != 0)
            goto fail;
    if (store_append_dead_letter(s, &(store_dead_letter){ .topic = "fleet/d0/telemetry",
                                                          .channel = "telemetry",
                                                          .payload = "\xff\x00x", .payload_len = 3,
                                                          .reason_json = "{\"kind\":\"parse\"}",
                                                          .received_at = T0 },
                                 &seq) != 0 ||
        store_append_dead_letter(s, &(store_dead_letter){ .topic = "x/y", .payload = "{}",
                                                          .payload_len = 2,
                                                          .reason_json = "{\"kind\":\"no_channel\"}",
                                                          .received_at = T0 + 1 },
                                 &seq) != 0)
        goto fail;
    do {
        if (store_project(s, NULL, &folded) != 0)
            goto fail;
    } while (folded);
    store_close(s);
    f->r = store_reader_open(f->t.path, &err, NULL, 0);
    return f->r ? 0 : -1;
fail:
    store_close(s);
    return -1;
}

static void fixture_close(fixture *f)
{
    store_reader_close(f->r);
    tmpdb_release(&f->t);
}

typedef struct seqs {
    int64_t v[64];
    size_t n;
    size_t stop_after; /* 0 = never stop */
} seqs;

static int take_seq(void *ctx, const store_event_row *row)
{
    seqs *s = ctx;

    if (s->n < 64)
        s->v[s->n++] = row->seq;
    return s->stop_after && s->n == s->stop_after;
}

TEST(query, open_errors)
{
    int err = 0;
    char diag[128] = "";
    tmpdb t;
    FILE *fp;

    ASSERT_NULL(store_reader_open("/nonexistent/x.db", &err, diag, sizeof(diag)));
    ASSERT_EQ(err, STORE_EIO);
    ASSERT_NULL(store_reader_open("", &err, NULL, 0));
    ASSERT_EQ(err, STORE_EINVAL);
    ASSERT_EQ(tmpdb_init(&t), 0);
    fp = fopen(t.path, "w");
    ASSERT_NOT_NULL(fp);
    fputs("this is not a database, just text that is long enough to look like one....", fp);
    fclose(fp);
    err = 0;
    ASSERT_NULL(store_reader_open(t.path, &err, diag, sizeof(diag)));
    ASSERT(err == STORE_ECORRUPT || err == STORE_EIO || err == STORE_ESCHEMA);
    tmpdb_release(&t);
}

TEST(query, heads_and_totals)
{
    fixture f;
    int64_t last = -1, proj = -1, ev = -1, dl = -1, dev = -1;

    ASSERT_EQ(fixture_open(&f), 0);
    ASSERT_EQ(store_read_heads(f.r, &last, &proj), 0);
    ASSERT_EQ(last, 32);
    ASSERT_EQ(proj, 32);
    ASSERT_EQ(store_read_totals(f.r, &ev, &dl, &dev), 0);
    ASSERT_EQ(ev, 32);
    ASSERT_EQ(dl, 2);
    ASSERT_EQ(dev, 3);
    ASSERT_EQ(store_read_max_seq(f.r, "d1", NULL, &last), 0);
    ASSERT_EQ(last, 32);
    ASSERT_EQ(store_read_max_seq(f.r, NULL, "telemetry", &last), 0);
    ASSERT_EQ(last, 30);
    ASSERT_EQ(store_read_max_seq(f.r, "ghost", NULL, &last), 0);
    ASSERT_EQ(last, 0);
    ASSERT_EQ(store_read_max_seq(f.r, NULL, NULL, &last), STORE_EINVAL);
    fixture_close(&f);
}

TEST(query, events_keyset_both_directions)
{
    fixture f;
    seqs s = { .n = 0 };

    ASSERT_EQ(fixture_open(&f), 0);
    /* device d1 newest first: 32, 31 (status), 29, 26, ... */
    ASSERT_EQ(store_read_events(f.r, &(store_event_query){ .device_id = "d1", .desc = 1,
                                                          .limit = 3 },
                                take_seq, &s),
              3);
    ASSERT_EQ(s.v[0], 32);
    ASSERT_EQ(s.v[1], 31);
    ASSERT_EQ(s.v[2], 29);
    /* next page after the cursor seq 29 */
    s.n = 0;
    ASSERT_EQ(store_read_events(f.r, &(store_event_query){ .device_id = "d1", .desc = 1,
                                                          .before_seq = 29, .limit = 2 },
                                take_seq, &s),
              2);
    ASSERT_EQ(s.v[0], 26);
    ASSERT_EQ(s.v[1], 23);
    /* ascending global log after 30 */
    s.n = 0;
    ASSERT_EQ(store_read_events(f.r, &(store_event_query){ .after_seq = 30, .limit = 10 },
                                take_seq, &s),
              2);
    ASSERT_EQ(s.v[0], 31);
    /* channel + device + time window [T0+20000*3, T0+20000*9) -> telemetry of d0: 4, 7 */
    s.n = 0;
    ASSERT_EQ(store_read_events(f.r, &(store_event_query){ .device_id = "d0",
                                                          .channel = "telemetry",
                                                          .has_from = 1,
                                                          .from_ms = T0 + 20000 * 3,
                                                          .has_to = 1, .to_ms = T0 + 20000 * 9,
                                                          .limit = 100 },
                                take_seq, &s),
              2);
    ASSERT_EQ(s.v[0], 4);
    ASSERT_EQ(s.v[1], 7);
    /* the callback can stop early */
    s.n = 0;
    s.stop_after = 2;
    ASSERT_EQ(store_read_events(f.r, &(store_event_query){ .limit = 100 }, take_seq, &s), 2);
    /* bad arguments */
    ASSERT_EQ(store_read_events(f.r, &(store_event_query){ .limit = 0 }, take_seq, &s),
              STORE_EINVAL);
    /* a value that looks like SQL is only a value */
    s.n = 0;
    s.stop_after = 0;
    ASSERT_EQ(store_read_events(f.r, &(store_event_query){ .device_id = "d1' OR '1'='1",
                                                          .limit = 10 },
                                take_seq, &s),
              0);
    fixture_close(&f);
}

/* Pages through device d1's events (2 per page) in one direction; the seqs in s. */
static int page_d1(store_reader *r, int desc, const char *channel, seqs *s)
{
    int64_t cursor = 0;
    int rc;

    s->n = 0;
    do {
        size_t before = s->n;

        rc = store_read_events(r, &(store_event_query){ .device_id = "d1", .channel = channel,
                                                       .desc = desc, .after_seq = cursor,
                                                       .before_seq = cursor, .limit = 2 },
                               take_seq, s);
        if (rc < 0 || s->n == before)
            return rc;
        cursor = s->v[s->n - 1];
    } while (rc == 2);
    return 0;
}

/* A device's events are read from device_events up to its checkpoint and
 * from the log after it: the same rows, pages and order wherever it is. */
TEST(query, device_events_across_the_index_checkpoint)
{
    static const int64_t d1[] = { 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 31, 32 };
    static const int64_t upto[] = { 0, 1, 5, 13, 29, 31, 32 };
    fixture f;
    seqs s = { .n = 0 };
    store *w;
    int64_t max = 0, at = 0;

    ASSERT_EQ(fixture_open(&f), 0);
    w = store_open(f.t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(w);
    for (size_t k = 0; k < sizeof(upto) / sizeof(upto[0]); k++) {
        if (upto[k] > at)
            ASSERT_EQ(store_device_flush(w, 0, (size_t)(upto[k] - at)), upto[k] - at);
        at = upto[k];
        ASSERT_EQ(q_int(w, "SELECT value FROM store_meta WHERE name = 'device_indexed'"), at);
        ASSERT_EQ(page_d1(f.r, 0, NULL, &s), 0);
        ASSERT_EQ(s.n, 12);
        for (size_t i = 0; i < 12; i++)
            ASSERT_EQ(s.v[i], d1[i]);
        ASSERT_EQ(page_d1(f.r, 1, NULL, &s), 0);
        ASSERT_EQ(s.n, 12);
        for (size_t i = 0; i < 12; i++)
            ASSERT_EQ(s.v[i], d1[11 - i]);
        ASSERT_EQ(page_d1(f.r, 1, "telemetry", &s), 0);
        ASSERT_EQ(s.n, 10);
        ASSERT_EQ(s.v[0], 29);
        ASSERT_EQ(store_read_max_seq(f.r, "d1", NULL, &max), 0);
        ASSERT_EQ(max, 32);
        ASSERT_EQ(store_read_max_seq(f.r, "d0", NULL, &max), 0);
        ASSERT_EQ(max, 28);
        ASSERT_EQ(store_read_max_seq(f.r, "nobody", NULL, &max), 0);
        ASSERT_EQ(max, 0);
    }
    ASSERT_EQ(q_int(w, "SELECT count(*) FROM device_events"), 32);
    ASSERT_EQ(store_device_flush(w, 0, 100), 0); /* nothing pending */
    store_close(w);
    fixture_close(&f);
}

typedef struct names {
    char v[8][32];
    int64_t seen[8];
    size_t n;
} names;

static int take_device(void *ctx, const store_device_row *row)
{
    names *n = ctx;

    if (n->n < 8) {
        snprintf(n->v[n->n], sizeof(n->v[0]), "%s", row->device_id);
        n->seen[n->n++] = row->last_seen;
    }
    return 0;
}

TEST(query, devices_sort_filter_keyset)
{
    fixture f;
    names n = { .n = 0 };

    ASSERT_EQ(fixture_open(&f), 0);
    ASSERT_EQ(store_read_devices(f.r, &(store_device_query){ .limit = 2 }, take_device, &n), 2);
    ASSERT_STR_EQ(n.v[0], "d0");
    ASSERT_STR_EQ(n.v[1], "d1");
    n.n = 0;
    ASSERT_EQ(store_read_devices(f.r, &(store_device_query){ .has_after = 1, .after_id = "d1",
                                                            .limit = 10 },
                                 take_device, &n),
              1);
    ASSERT_STR_EQ(n.v[0], "d2");
    n.n = 0;
    ASSERT_EQ(store_read_devices(f.r, &(store_device_query){ .by_last_seen = 1, .limit = 10 },
                                 take_device, &n),
              3);
    ASSERT_STR_EQ(n.v[0], "d1"); /* its status events are the newest */
    ASSERT_GE(n.seen[0], n.seen[1]);
    ASSERT_GE(n.seen[1], n.seen[2]);
    {
        names m = { .n = 0 };

        ASSERT_EQ(store_read_devices(f.r, &(store_device_query){ .by_last_seen = 1,
                                                                .has_after = 1,
                                                                .after_last_seen = n.seen[0],
                                                                .after_id = n.v[0],
                                                                .limit = 10 },
                                     take_device, &m),
                  2);
        ASSERT_STR_EQ(m.v[0], n.v[1]);
    }
    n.n = 0;
    ASSERT_EQ(store_read_devices(f.r, &(store_device_query){ .channel = "status", .limit = 10 },
                                 take_device, &n),
              1);
    ASSERT_STR_EQ(n.v[0], "d1");
    n.n = 0;
    ASSERT_EQ(store_read_devices(f.r, &(store_device_query){ .status = "offline", .limit = 10 },
                                 take_device, &n),
              1);
    n.n = 0;
    ASSERT_EQ(store_read_device(f.r, "d2", take_device, &n), 0);
    ASSERT_EQ(store_read_device(f.r, "nope", take_device, &n), STORE_ENOTFOUND);
    fixture_close(&f);
}

static int count_state(void *ctx, const store_state_row *row)
{
    int *n = ctx;

    if (strcmp(row->channel, "status") == 0 && strstr(row->payload, "offline"))
        *n += 100;
    (*n)++;
    return 0;
}

TEST(query, device_state_and_channel_counts)
{
    fixture f;
    int n = 0;
    store_channel_counts cc;

    ASSERT_EQ(fixture_open(&f), 0);
    ASSERT_EQ(store_read_device_state(f.r, "d1", count_state, &n), 2);
    ASSERT_EQ(n, 102); /* two channels, status holds the latest (offline) */
    ASSERT_EQ(store_read_channel_counts(f.r, "telemetry", &cc), 0);
    ASSERT_EQ(cc.events, 30);
    ASSERT_EQ(cc.dead_letters, 1);
    ASSERT_EQ(cc.last_seq, 30);
    ASSERT_EQ(cc.last_event_at, T0 + 29 * 20000);
    ASSERT_EQ(store_read_channel_counts(f.r, "alerts", &cc), 0);
    ASSERT_EQ(cc.events, 0);
    ASSERT_EQ(cc.last_seq, 0);
    fixture_close(&f);
}

typedef struct dls {
    int64_t id[4];
    size_t len[4];
    int binary;
    size_t n;
} dls;

static int take_dl(void *ctx, const store_dead_letter_row *row)
{
    dls *d = ctx;

    if (d->n < 4) {
        d->id[d->n] = row->id;
        d->len[d->n++] = row->payload_len;
        if (row->payload && row->payload_len == 3 &&
            memcmp(row->payload, "\xff\x00x", 3) == 0)
            d->binary = 1;
    }
    return 0;
}

TEST(query, dead_letters)
{
    fixture f;
    dls d = { .n = 0 };

    ASSERT_EQ(fixture_open(&f), 0);
    ASSERT_EQ(store_read_dead_letters(f.r, &(store_dead_letter_query){ .limit = 10 }, take_dl,
                                      &d),
              2);
    ASSERT_GT(d.id[0], d.id[1]);
    ASSERT_EQ(d.len[1], 3);
    d.n = 0;
    ASSERT_EQ(store_read_dead_letters(f.r, &(store_dead_letter_query){ .kind = "parse",
                                                                      .limit = 10 },
                                      take_dl, &d),
              1);
    d.n = 0;
    ASSERT_EQ(store_read_dead_letters(f.r, &(store_dead_letter_query){ .before_id = 2,
                                                                      .limit = 10 },
                                      take_dl, &d),
              1);
    ASSERT_EQ(d.id[0], 1);
    d.n = 0;
    ASSERT_EQ(store_read_dead_letter(f.r, 1, take_dl, &d), 0);
    ASSERT_EQ(d.binary, 1);
    ASSERT_EQ(store_read_dead_letter(f.r, 99, take_dl, &d), STORE_ENOTFOUND);
    fixture_close(&f);
}

typedef struct buckets {
    store_series_row v[16];
    size_t n;
} buckets;

static int take_bucket(void *ctx, const store_series_row *row)
{
    buckets *b = ctx;

    if (b->n < 16)
        b->v[b->n++] = *row;
    return 0;
}

TEST(query, series_merges_rollups)
{
    fixture f;
    buckets b = { .n = 0 };
    int64_t count = 0;

    ASSERT_EQ(fixture_open(&f), 0);
    /* d0's temperatures: i = 0, 3, ..., 27 (+0.5) at T0 + i*20000 */
    ASSERT_EQ(store_read_series(f.r, &(store_series_query){ .device_id = "d0",
                                                           .channel = "telemetry",
                                                           .field = "temperature",
                                                           .bucket_ms = 3600000, .limit = 10 },
                                take_bucket, &b),
              (int)b.n);
    for (size_t i = 0; i < b.n; i++)
        count += b.v[i].count;
    ASSERT_EQ(count, 10);
    ASSERT_LE(b.v[0].min, 0.5);
    ASSERT_GE(b.v[b.n - 1].max, 27.5);
    for (size_t i = 0; i < b.n; i++)
        ASSERT_EQ(b.v[i].bucket_start % 3600000, 0);
    ASSERT_EQ(store_read_field_known(f.r, "telemetry", "temperature"), 1);
    ASSERT_EQ(store_read_field_known(f.r, "telemetry", "colour"), 0);
    ASSERT_EQ(store_read_series(f.r, &(store_series_query){ .device_id = "d0", .channel = "t",
                                                           .field = "x", .bucket_ms = 0,
                                                           .limit = 1 },
                                take_bucket, &b),
              STORE_EINVAL);
    fixture_close(&f);
}

TEST(query, snapshot_sees_one_state)
{
    fixture f;
    store *w;
    int64_t a = 0, b = 0, seq;
    int err = 0;

    ASSERT_EQ(fixture_open(&f), 0);
    ASSERT_EQ(store_reader_begin(f.r), 0);
    ASSERT_EQ(store_read_heads(f.r, &a, NULL), 0);
    w = store_open(f.t.path, NULL, &err, NULL, 0);
    ASSERT_NOT_NULL(w);
    ASSERT_EQ(store_append_event(w, &(store_event){ .channel = "telemetry", .device_id = "d9",
                                                    .topic = "fleet/d9/telemetry",
                                                    .payload = "{}", .received_at = T0 },
                                 &seq),
              0);
    ASSERT_EQ(store_read_heads(f.r, &b, NULL), 0);
    ASSERT_EQ(a, b); /* inside the snapshot, the new event is not visible */
    ASSERT_EQ(store_reader_end(f.r), 0);
    ASSERT_EQ(store_read_heads(f.r, &b, NULL), 0);
    ASSERT_EQ(b, a + 1);
    store_close(w);
    fixture_close(&f);
}

/* Counts rows and asks to stop once it has seen `stop_after` (0 = never). */
typedef struct counter {
    int n;
    int stop_after;
    char first[32];
    int64_t first_n;
} counter;

static int counter_hit(counter *c)
{
    c->n++;
    return c->stop_after && c->n == c->stop_after;
}

static int stop_device(void *ctx, const store_device_row *row)
{
    (void)row;
    return counter_hit(ctx);
}

static int stop_state(void *ctx, const store_state_row *row)
{
    (void)row;
    return counter_hit(ctx);
}

static int stop_dl(void *ctx, const store_dead_letter_row *row)
{
    counter *c = ctx;

    if (c->n == 0)
        c->first_n = row->id;
    return counter_hit(c);
}

static int stop_bucket(void *ctx, const store_series_row *row)
{
    (void)row;
    return counter_hit(ctx);
}

static int stop_recent(void *ctx, const char *channel, int64_t n)
{
    counter *c = ctx;

    if (c->n == 0) {
        snprintf(c->first, sizeof(c->first), "%s", channel);
        c->first_n = n;
    }
    return counter_hit(c);
}

/* Every list query: a callback that stops ends the read with the rows so far. */
TEST(query, callbacks_stop_early)
{
    fixture f;
    counter c = { .stop_after = 1 };

    ASSERT_EQ(fixture_open(&f), 0);
    ASSERT_EQ(store_read_devices(f.r, &(store_device_query){ .limit = 10 }, stop_device, &c), 1);
    ASSERT_EQ(c.n, 1);
    c = (counter){ .stop_after = 1 };
    ASSERT_EQ(store_read_device_state(f.r, "d1", stop_state, &c), 1);
    c = (counter){ .stop_after = 0 };
    ASSERT_EQ(store_read_device_state(f.r, "d1", stop_state, &c), 2);
    ASSERT_EQ(store_read_device_state(f.r, "ghost", stop_state, &c), 0);
    c = (counter){ .stop_after = 1 };
    ASSERT_EQ(store_read_dead_letters(f.r, &(store_dead_letter_query){ .limit = 10 }, stop_dl,
                                      &c),
              1);
    ASSERT_EQ(c.first_n, 2);
    c = (counter){ .stop_after = 1 };
    ASSERT_EQ(store_read_series(f.r, &(store_series_query){ .device_id = "d0",
                                                           .channel = "telemetry",
                                                           .field = "temperature",
                                                           .bucket_ms = 60000, .limit = 10 },
                                stop_bucket, &c),
              1);
    c = (counter){ .stop_after = 1 };
    ASSERT_EQ(store_read_recent_counts(f.r, T0, 1000, stop_recent, &c), 1);
    ASSERT_STR_EQ(c.first, "status");
    ASSERT_EQ(c.first_n, 2);
    fixture_close(&f);
}

/* The optional filters: set ones narrow the rows, unset ones do not. */
TEST(query, optional_filters)
{
    fixture f;
    counter c = { .n = 0 };
    store_series_query sq = { .device_id = "d0", .channel = "telemetry",
                              .field = "temperature", .bucket_ms = 60000, .limit = 100 };

    ASSERT_EQ(fixture_open(&f), 0);
    ASSERT_EQ(store_read_dead_letters(f.r, &(store_dead_letter_query){ .has_from = 1,
                                                                      .from_ms = T0 + 1,
                                                                      .limit = 10 },
                                      stop_dl, &c),
              1);
    ASSERT_EQ(c.first_n, 2);
    c = (counter){ .n = 0 };
    ASSERT_EQ(store_read_dead_letters(f.r, &(store_dead_letter_query){ .has_to = 1,
                                                                      .to_ms = T0 + 1,
                                                                      .limit = 10 },
                                      stop_dl, &c),
              1);
    ASSERT_EQ(c.first_n, 1);
    c = (counter){ .n = 0 };
    ASSERT_EQ(store_read_dead_letters(f.r, &(store_dead_letter_query){ .channel = "telemetry",
                                                                      .limit = 10 },
                                      stop_dl, &c),
              1);
    ASSERT_EQ(c.first_n, 1);
    /* from_ms = 0 with has_from unset is no filter; set, it is one */
    c = (counter){ .n = 0 };
    ASSERT_EQ(store_read_dead_letters(f.r, &(store_dead_letter_query){ .has_from = 1,
                                                                      .from_ms = T0 + 2,
                                                                      .limit = 10 },
                                      stop_dl, &c),
              0);
    c = (counter){ .n = 0 };
    ASSERT_GT(store_read_series(f.r, &sq, stop_bucket, &c), 1);
    sq.has_from = 1;
    sq.from_ms = T0 + 600000;
    ASSERT_EQ(store_read_series(f.r, &sq, stop_bucket, &c), 0);
    sq.has_from = 0;
    sq.has_to = 1;
    sq.to_ms = T0 - 3600000;
    ASSERT_EQ(store_read_series(f.r, &sq, stop_bucket, &c), 0);
    c = (counter){ .n = 0 };
    ASSERT_EQ(store_read_recent_counts(f.r, T0, 1000, stop_recent, &c), 2);
    ASSERT_EQ(store_read_recent_counts(f.r, T0 + 2000000, 1000, stop_recent, &c), 0);
    ASSERT_EQ(store_read_recent_counts(f.r, T0, 1000, NULL, &c), STORE_EINVAL);
    fixture_close(&f);
}
