/* SPDX-License-Identifier: MIT */
/*
 * Store write path: open/migrate, append and commit, seq order, dead
 * letters, dedupe by correlation id and by hash window, reopen, bad input.
 */
#include "test.h"

#include "store_test_util.h"

static store_event ev_make(const char *payload, const char *corr)
{
    store_event ev = {
        .channel = "telemetry",
        .message = "reading",
        .device_id = "dev-1",
        .topic = "site/a/dev/dev-1/telemetry",
        .payload = payload,
        .correlation_id = corr,
        .received_at = 1000,
    };
    return ev;
}

TEST(store, open_memory_migrates)
{
    int err = 1;
    store *s = store_open(":memory:", NULL, &err, NULL, 0);

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(err, 0);
    ASSERT_EQ(q_int(s, "PRAGMA user_version"), STORE__SCHEMA_VERSION);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM sqlite_master WHERE name IN ('events',"
                       "'dead_letters','devices','device_state','rollups',"
                       "'projection_checkpoints','dedupe')"), 7);
    store_close(s);
}

TEST(store, open_file_wal_and_bad_path)
{
    tmpdb t;
    char diag[256];
    char buf[32];
    int err = 0;
    store *s;

    ASSERT_EQ(tmpdb_init(&t), 0);
    s = store_open(t.path, NULL, &err, diag, sizeof(diag));
    ASSERT_NOT_NULL(s);
    ASSERT_STR_EQ(q_text(s, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
    ASSERT_EQ(q_int(s, "PRAGMA synchronous"), 1); /* NORMAL */
    /* statement journals and sorts of the bulk index writes: no temp files */
    ASSERT_EQ(q_int(s, "PRAGMA temp_store"), 2); /* MEMORY */
    store_close(s);
    {
        store_options o = {.flags = STORE_OPEN_SYNC_FULL};
        s = store_open(t.path, &o, &err, NULL, 0);
        ASSERT_NOT_NULL(s);
        ASSERT_EQ(q_int(s, "PRAGMA synchronous"), 2); /* FULL */
        store_close(s);
    }
    tmpdb_release(&t);

    ASSERT_NULL(store_open("/nonexistent-dir/x/y.db", NULL, &err, diag, sizeof(diag)));
    ASSERT_EQ(err, STORE_EIO);
    ASSERT_STR_CONTAINS(diag, "cannot open");
    ASSERT_NULL(store_open(NULL, NULL, &err, NULL, 0));
    ASSERT_EQ(err, STORE_EINVAL);
    ASSERT_NULL(store_open("", NULL, &err, NULL, 0));
    ASSERT_EQ(err, STORE_EINVAL);
}

TEST(store, not_a_database)
{
    tmpdb t;
    FILE *f;
    int err = 0;

    ASSERT_EQ(tmpdb_init(&t), 0);
    f = fopen(t.path, "w");
    ASSERT_NOT_NULL(f);
    fputs("this is not a database, just text that is long enough to be a header ....\n"
          "more text more text more text more text more text more text more text\n", f);
    fclose(f);
    ASSERT_NULL(store_open(t.path, NULL, &err, NULL, 0));
    ASSERT_EQ(err, STORE_ECORRUPT);
    tmpdb_release(&t);
}

TEST(store, newer_schema_refused)
{
    tmpdb t;
    int err = 0;
    store *s;

    ASSERT_EQ(tmpdb_init(&t), 0);
    s = store_open(t.path, NULL, &err, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(sqlite3_exec(s->db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    store_close(s);
    ASSERT_NULL(store_open(t.path, NULL, &err, NULL, 0));
    ASSERT_EQ(err, STORE_ESCHEMA);
    tmpdb_release(&t);
}

TEST(store, append_single_and_batch_seq_monotonic)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    int64_t seq = 0, prev = 0;
    char buf[256];
    char payload[64];

    ASSERT_NOT_NULL(s);
    {
        store_event ev = ev_make("{\"t\":1}", NULL);
        ASSERT_EQ(store_append_event(s, &ev, &seq), 0);
        ASSERT_EQ(seq, 1);
    }
    prev = seq;
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(store_begin(s), STORE_ESTATE);
    for (int i = 0; i < 50; i++) {
        store_event ev = ev_make(payload, NULL);
        snprintf(payload, sizeof(payload), "{\"t\":%d}", i + 2);
        ASSERT_EQ(store_append_event(s, &ev, &seq), 0);
        ASSERT_GT(seq, prev);
        prev = seq;
    }
    ASSERT_EQ(store_commit(s), 0);
    ASSERT_EQ(store_commit(s), STORE_ESTATE);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 51);
    ASSERT_STR_EQ(q_text(s, "SELECT payload FROM events WHERE seq = 51", buf, sizeof(buf)),
                  "{\"t\":51}");
    ASSERT_STR_EQ(q_text(s, "SELECT device_id || '|' || channel || '|' || message || '|' ||"
                            " topic || '|' || params FROM events WHERE seq = 1", buf, sizeof(buf)),
                  "dev-1|telemetry|reading|site/a/dev/dev-1/telemetry|{}");
    ASSERT_EQ(q_int(s, "SELECT received_at FROM events WHERE seq = 1"), 1000);
    store_close(s);
}

TEST(store, rollback_discards_batch)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    store_event ev = ev_make("{\"x\":1}", NULL);
    int64_t seq;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_begin(s), 0);
    ASSERT_EQ(store_append_event(s, &ev, &seq), 0);
    ASSERT_EQ(store_rollback(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dedupe"), 0);
    /* after the rollback the same message is new again */
    ASSERT_EQ(store_append_event(s, &ev, &seq), 0);
    ASSERT_EQ(seq, 1);
    store_close(s);
}

TEST(store, params_from_router_slices)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    const char *topic = "site/s\"1/dev/d\\7/x";
    asyncapi_route_param p[2] = {
        {.name = "siteId", .value = topic + 5, .len = 3},
        {.name = "deviceId", .value = topic + 13, .len = 3},
    };
    store_event ev = ev_make("[1,2]", NULL);
    char buf[256];

    ASSERT_NOT_NULL(s);
    ev.topic = topic;
    ev.params = p;
    ev.n_params = 2;
    ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
    ASSERT_STR_EQ(q_text(s, "SELECT json_extract(params, '$.siteId') || '|' ||"
                            " json_extract(params, '$.deviceId') FROM events", buf, sizeof(buf)),
                  "s\"1|d\\7");
    store_close(s);
}

/* an oversize router parameter is bad input (EINVAL), not out of memory */
TEST(store, params_too_long_is_einval)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    char *big = malloc(STORE_MAX_TOPIC + 2);
    asyncapi_route_param p[1] = {{.name = "deviceId", .value = big, .len = STORE_MAX_TOPIC + 1}};
    store_event ev = ev_make("{}", NULL);

    ASSERT_NOT_NULL(s);
    ASSERT_NOT_NULL(big);
    memset(big, 'a', STORE_MAX_TOPIC + 1);
    big[STORE_MAX_TOPIC + 1] = '\0';
    ev.params = p;
    ev.n_params = 1;
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ASSERT_STR_CONTAINS(store_errmsg(s), "param");
    p[0].name = big;
    p[0].len = 1;
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    p[0].name = "deviceId";
    p[0].len = STORE_MAX_TOPIC;
    ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 1);
    free(big);
    store_close(s);
}

TEST(store, bad_input)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    char *big;
    store_event ev;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_append_event(NULL, NULL, NULL), STORE_EINVAL);
    ASSERT_EQ(store_append_event(s, NULL, NULL), STORE_EINVAL);
    ev = ev_make("{\"a\":", NULL);
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ASSERT_STR_CONTAINS(store_errmsg(s), "json");
    ev = ev_make("not json", NULL);
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make("{}", NULL);
    ev.params_json = "{broken";
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make(NULL, NULL);
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make("{}", NULL);
    ev.channel = NULL;
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make("{}", NULL);
    ev.channel = "";
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make("{}", NULL);
    ev.topic = NULL;
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make("{}", NULL);
    ev.device_id = "bad\x01id";
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);

    big = malloc(STORE_MAX_NAME + 2);
    ASSERT_NOT_NULL(big);
    memset(big, 'a', STORE_MAX_NAME + 1);
    big[STORE_MAX_NAME + 1] = '\0';
    ev = ev_make("{}", NULL);
    ev.channel = big;
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make("{}", NULL);
    ev.device_id = big;
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make("{}", big);
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    free(big);

    /* a failed append inside a batch keeps the batch and its earlier rows */
    ASSERT_EQ(store_begin(s), 0);
    ev = ev_make("{\"ok\":1}", NULL);
    ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
    ev = ev_make("{bad", NULL);
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev = ev_make("{\"ok\":2}", NULL);
    ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
    ASSERT_EQ(store_commit(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 2);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dedupe"), 2);
    store_close(s);
}

TEST(store, dedupe_correlation_id)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    store_event ev = ev_make("{\"seq\":7}", "7");
    int64_t seq1 = 0, seq2 = 0;

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_append_event(s, &ev, &seq1), 0);
    /* same correlation id, other payload: duplicate */
    ev.payload = "{\"seq\":7,\"again\":true}";
    ASSERT_EQ(store_append_event(s, &ev, &seq2), STORE_DUP);
    ASSERT_EQ(seq2, seq1);
    /* other device: not a duplicate */
    ev.device_id = "dev-2";
    ASSERT_EQ(store_append_event(s, &ev, &seq2), 0);
    ASSERT_NE(seq2, seq1);
    /* other channel: not a duplicate */
    ev.device_id = "dev-1";
    ev.channel = "other";
    ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
    /* no device: NULL and "" are the same */
    ev.channel = "telemetry";
    ev.device_id = NULL;
    ASSERT_EQ(store_append_event(s, &ev, &seq1), 0);
    ev.device_id = "";
    ASSERT_EQ(store_append_event(s, &ev, &seq2), STORE_DUP);
    ASSERT_EQ(seq1, seq2);
    /* inside one batch the second sees the first */
    ASSERT_EQ(store_begin(s), 0);
    ev.correlation_id = "8";
    ASSERT_EQ(store_append_event(s, &ev, &seq1), 0);
    ASSERT_EQ(store_append_event(s, &ev, &seq2), STORE_DUP);
    ASSERT_EQ(seq1, seq2);
    ASSERT_EQ(store_commit(s), 0);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM events"), 5);
    /* correlated events use no dedupe window slot */
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dedupe"), 0);
    store_close(s);
}

TEST(store, dedupe_hash_window_rolls)
{
    store_options o = {.dedupe_window = 3};
    store *s = store_open(":memory:", &o, NULL, NULL, 0);
    const char *p[5] = {"{\"v\":1}", "{\"v\":2}", "{\"v\":3}", "{\"v\":4}", "{\"v\":5}"};
    int64_t seq = 0;

    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 3; i++) {
        store_event ev = ev_make(p[i], NULL);
        ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
    }
    {
        store_event ev = ev_make(p[0], NULL);
        ASSERT_EQ(store_append_event(s, &ev, &seq), STORE_DUP);
        ASSERT_EQ(seq, 1);
        /* same payload, other topic: not a duplicate (and it pushes p[0] out) */
        ev.topic = "other/topic";
        ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
    }
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dedupe"), 3);
    {
        /* p[0] on the first topic fell out of the window: stored again */
        store_event ev = ev_make(p[0], NULL);
        ASSERT_EQ(store_append_event(s, &ev, &seq), 0);
        ASSERT_EQ(seq, 5);
        /* p[2] is still inside */
        ev = ev_make(p[2], NULL);
        ASSERT_EQ(store_append_event(s, &ev, &seq), STORE_DUP);
        ASSERT_EQ(seq, 3);
    }
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dedupe"), 3);
    store_close(s);
}

TEST(store, reopen_keeps_data_and_window)
{
    tmpdb t;
    store *s;
    store_event ev = ev_make("{\"v\":1}", NULL);
    store_dead_letter dl = {.topic = "x/y", .payload = "\xff\x00raw", .payload_len = 5,
                            .reason_json = "{\"kind\":\"parse\"}"};
    int64_t seq = 0, id = 0;
    store_stats st;

    s = tmpdb_store(&t);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_append_event(s, &ev, &seq), 0);
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id), 0);
    store_close(s);

    s = store_open(t.path, NULL, NULL, NULL, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_append_event(s, &ev, &seq), STORE_DUP);
    ASSERT_EQ(seq, 1);
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id), STORE_DUP);
    ASSERT_EQ(id, 1);
    ev.payload = "{\"v\":2}";
    ASSERT_EQ(store_append_event(s, &ev, &seq), 0);
    ASSERT_EQ(seq, 2);
    ASSERT_EQ(store_stats_get(s, &st), 0);
    ASSERT_EQ(st.events, 2);
    ASSERT_EQ(st.last_seq, 2);
    ASSERT_EQ(st.dead_letters, 1);
    ASSERT_EQ(st.projected_seq, 0);
    ASSERT_EQ(st.lag, 2);
    ASSERT_EQ(st.dedupe_entries, 3);
    ASSERT_EQ(store_ping(s), 0);
    store_close(s);

    /* a read-only handle reads but does not write */
    {
        store_options o = {.flags = STORE_OPEN_READONLY};
        int err = 0;
        s = store_open(t.path, &o, &err, NULL, 0);
        ASSERT_NOT_NULL(s);
        ASSERT_EQ(store_stats_get(s, &st), 0);
        ASSERT_EQ(st.events, 2);
        ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EREADONLY);
        ASSERT_EQ(store_begin(s), STORE_EREADONLY);
        ASSERT_EQ(store_ping(s), 0);
        store_close(s);
    }
    tmpdb_release(&t);
}

TEST(store, dead_letters)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    const char raw[] = {'{', 0, (char)0xc3, 'x'};
    store_dead_letter dl = {
        .topic = "dev/1/telemetry",
        .channel = "telemetry",
        .payload = raw,
        .payload_len = sizeof(raw),
        .reason_json = "{\"kind\":\"schema\",\"errors\":[{\"pointer\":\"/t\"}]}",
        .received_at = 5,
    };
    int64_t id1 = 0, id2 = 0;
    char buf[128];

    ASSERT_NOT_NULL(s);
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id1), 0);
    ASSERT_EQ(id1, 1);
    ASSERT_EQ(q_int(s, "SELECT length(payload) FROM dead_letters"), 4);
    ASSERT_EQ(q_int(s, "SELECT typeof(payload) = 'blob' FROM dead_letters"), 1);
    ASSERT_STR_EQ(q_text(s, "SELECT kind FROM dead_letters", buf, sizeof(buf)), "schema");
    ASSERT_STR_EQ(q_text(s, "SELECT json_extract(reason, '$.errors[0].pointer')"
                            " FROM dead_letters", buf, sizeof(buf)), "/t");
    /* redelivered: one dead letter */
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id2), STORE_DUP);
    ASSERT_EQ(id2, id1);
    /* same bytes, other reason kind: a separate dead letter */
    dl.reason_json = "{\"kind\":\"size\"}";
    ASSERT_EQ(store_append_dead_letter(s, &dl, &id2), 0);
    ASSERT_EQ(id2, 2);
    /* empty payload and no channel are fine */
    dl.payload = NULL;
    dl.payload_len = 0;
    dl.channel = NULL;
    ASSERT_EQ(store_append_dead_letter(s, &dl, NULL), 0);
    /* bad reasons */
    dl.reason_json = "{\"errors\":[]}";
    ASSERT_EQ(store_append_dead_letter(s, &dl, NULL), STORE_EINVAL);
    dl.reason_json = "[1]";
    ASSERT_EQ(store_append_dead_letter(s, &dl, NULL), STORE_EINVAL);
    dl.reason_json = "{\"kind\":";
    ASSERT_EQ(store_append_dead_letter(s, &dl, NULL), STORE_EINVAL);
    dl.reason_json = NULL;
    ASSERT_EQ(store_append_dead_letter(s, &dl, NULL), STORE_EINVAL);
    dl.reason_json = "{\"kind\":\"x\"}";
    dl.topic = NULL;
    ASSERT_EQ(store_append_dead_letter(s, &dl, NULL), STORE_EINVAL);
    ASSERT_EQ(q_int(s, "SELECT count(*) FROM dead_letters"), 3);
    store_close(s);
}

TEST(store, hash_is_fnv1a_with_separator)
{
    const void *p1[2] = {"ab", "c"};
    size_t l1[2] = {2, 1};
    const void *p2[2] = {"a", "bc"};
    size_t l2[2] = {1, 2};
    const void *p3[1] = {""};
    size_t l3[1] = {0};
    const void *p4[1] = {"a"};
    size_t l4[1] = {1};

    ASSERT(store_hash(p1, l1, 2) != store_hash(p2, l2, 2));
    ASSERT(store_hash(p3, l3, 1) == 14695981039346656037ull);
    ASSERT(store_hash(p4, l4, 1) == 0xaf63dc4c8601ec8cull); /* FNV-1a 64 of "a" */
}

TEST(store, errors_have_text)
{
    ASSERT_STR_EQ(store_strerror(STORE_DUP), "duplicate message, nothing stored");
    ASSERT_STR_EQ(store_strerror(-12345), "unknown error");
    for (int e = STORE_EREADONLY; e <= STORE_DUP; e++)
        ASSERT(strlen(store_strerror(e)) > 0 && strcmp(store_strerror(e), "unknown error"));
}
