/* SPDX-License-Identifier: MIT */
/*
 * store__json_valid, the append path's JSON check (schema v2 dropped the
 * CHECK (json_valid(...)) constraints): fixed cases, then a differential
 * test against SQLite's own json_valid over fixed and mutated inputs, so
 * the store accepts exactly what schema v1 accepted.
 */
#include "test.h"

#include "store_test_util.h"

static const char *const valid_cases[] = {
    "{}", "[]", "0", "-0", "1.5", "-1.5e+10", "1E-2", "2e3", "\"\"", "\"a\\u00e9\\n\\/\"",
    "true", "false", "null", " \t\r\n{ \"a\" : [1, 2, {\"b\": null}] } \n",
    "{\"deviceId\":\"dev-0042\",\"t\":21.5,\"ok\":true,\"tags\":[\"a\",\"b\"],\"n\":null}",
    "\"\xc3\xa9\"", "[[[[[[[[[[]]]]]]]]]]", "{\"a\":{\"b\":{\"c\":{}}}}", "123456789012345678901234",
};

static const char *const invalid_cases[] = {
    "", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":1,}",
    "{1:2}", "01", "-", "1.", ".5", "-.5", "1e", "1e+", "+1", "0x10", "tru", "truex", "nul",
    "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"tab\there\"", "\"nl\nhere\"", "[1 2]",
    "{} {}", "1 2", "[1]]", "{\"a\":1}}", "'a'", "NaN", "Infinity", "[-]", "{\"a\"}",
};

TEST(json, fixed_cases)
{
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(*valid_cases); i++) {
        if (!store__json_valid(valid_cases[i], strlen(valid_cases[i])))
            fprintf(stderr, "    rejected valid: %s\n", valid_cases[i]);
        ASSERT_EQ(store__json_valid(valid_cases[i], strlen(valid_cases[i])), 1);
    }
    for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(*invalid_cases); i++) {
        if (store__json_valid(invalid_cases[i], strlen(invalid_cases[i])))
            fprintf(stderr, "    accepted invalid: %s\n", invalid_cases[i]);
        ASSERT_EQ(store__json_valid(invalid_cases[i], strlen(invalid_cases[i])), 0);
    }
    /* the length bounds the text: a valid prefix of a longer buffer */
    ASSERT_EQ(store__json_valid("[1]xyz", 3), 1);
    ASSERT_EQ(store__json_valid("[1]", 2), 0);
    ASSERT_EQ(store__json_valid(NULL, 0), 0);
}

TEST(json, depth_limit)
{
    size_t n = STORE__JSON_MAX_DEPTH + 1;
    char *deep = malloc(2 * n + 1);

    ASSERT_NOT_NULL(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    ASSERT_EQ(store__json_valid(deep, 2 * n), 0);
    ASSERT_EQ(store__json_valid(deep + 1, 2 * n - 2), 1); /* exactly the limit */
    free(deep);
}

/* SQLite's verdict on text (bound as TEXT of len bytes). */
static int sqlite_valid(sqlite3_stmt *st, const char *text, size_t len)
{
    int v = -1;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    return v;
}

TEST(json, agrees_with_sqlite_json_valid)
{
    static const char *const seeds[] = {
        "{\"deviceId\":\"dev-7\",\"seq\":12,\"t\":-3.25e-2,\"ok\":false,\"v\":[1,{\"x\":null}]}",
        "[\"\\u0041\\\\\\\"\", 0, -0.0, 1e9, true, null, {}]",
        "{\"a\":{\"b\":[[],[{}],\"s p a c e\"]},\"c\":\"\\t\"}",
    };
    /* bytes that break or change JSON when they replace one of the seed's */
    static const char subst[] = "{}[]\":,.-+eE0123456789 \\tnulfasrx\t\n\x01\xc3";
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint64_t rng = 0x2545f4914f6cdd1dull;
    char buf[256];
    long checked = 0;

    ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT json_valid(?1)", -1, &st, NULL), SQLITE_OK);
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(*valid_cases); i++)
        ASSERT_EQ(sqlite_valid(st, valid_cases[i], strlen(valid_cases[i])), 1);
    for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(*invalid_cases); i++) {
        if (invalid_cases[i][0]) /* SQLite reads "" as NULL-ish: skip */
            ASSERT_EQ(sqlite_valid(st, invalid_cases[i], strlen(invalid_cases[i])), 0);
    }
    for (size_t s = 0; s < sizeof(seeds) / sizeof(*seeds); s++) {
        size_t len = strlen(seeds[s]);
        for (int round = 0; round < 4000; round++) {
            size_t n = len, edits;
            memcpy(buf, seeds[s], len);
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            edits = 1 + rng % 3;
            for (size_t e = 0; e < edits; e++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                switch (rng % 3) {
                case 0: buf[(rng >> 8) % n] = subst[(rng >> 24) % (sizeof(subst) - 1)]; break;
                case 1: n = 1 + (rng >> 8) % n; break; /* truncate */
                default: /* delete one byte */
                    if (n > 1) {
                        size_t at = (rng >> 8) % n;
                        memmove(buf + at, buf + at + 1, n - at - 1);
                        n--;
                    }
                }
            }
            if (store__json_valid(buf, n) != sqlite_valid(st, buf, n)) {
                fprintf(stderr, "    disagree on: %.*s\n", (int)n, buf);
                ASSERT_EQ(store__json_valid(buf, n), sqlite_valid(st, buf, n));
            }
            checked++;
        }
    }
    ASSERT_EQ(checked, 12000);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(json, append_rejects_bad_payload_and_params)
{
    store *s = store_open(":memory:", NULL, NULL, NULL, 0);
    store_event ev = {.channel = "c", .topic = "t", .payload = "{\"a\":1}"};

    ASSERT_NOT_NULL(s);
    ev.payload = "[1,]";
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ASSERT_STR_CONTAINS(store_errmsg(s), "payload is not valid json");
    ev.payload = "{\"a\":1} trailing";
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ev.payload = "{\"a\":1}";
    ev.params_json = "{\"x\":}";
    ASSERT_EQ(store_append_event(s, &ev, NULL), STORE_EINVAL);
    ASSERT_STR_CONTAINS(store_errmsg(s), "params is not valid json");
    ev.params_json = "{\"x\":\"1\"}";
    ASSERT_EQ(store_append_event(s, &ev, NULL), 0);
    ASSERT_EQ(q_int(s, "SELECT json_valid(payload) AND json_valid(params) FROM events"), 1);
    /* the events table has no CHECK left: the store is the only gate */
    ASSERT_EQ(q_int(s, "SELECT instr(sql, 'json_valid') FROM sqlite_master WHERE name = 'events'"),
              0);
    store_close(s);
}
