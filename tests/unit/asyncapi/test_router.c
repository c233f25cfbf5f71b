/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the topic router (router.h) and asyncapi_topic_filter
 * (asyncapi.h): literal/parameter/affix levels, priority and backtracking,
 * unroutable topics and addresses, many channels.
 */
#include <stdio.h>
#include <string.h>

#include "asyncapi/asyncapi.h"
#include "asyncapi/router.h"
#include "test.h"

/* Matches a NUL-terminated topic. */
static int route(const asyncapi_router *r, const char *topic, asyncapi_route_match *m)
{
    return asyncapi_router_match(r, topic, strlen(topic), m);
}

/* Is parameter i of m named name with value value? */
static int param_is(const asyncapi_route_match *m, size_t i, const char *name,
                    const char *value)
{
    return i < m->n_params && strcmp(m->params[i].name, name) == 0 &&
           m->params[i].len == strlen(value) &&
           memcmp(m->params[i].value, value, m->params[i].len) == 0;
}

TEST(router, literal_and_params)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a, b;
    const char *topic = "site/s1/dev/d-42/telemetry";

    ASSERT_NOT_NULL(r);
    ASSERT_EQ(asyncapi_router_add(r, "site/{siteId}/dev/{deviceId}/telemetry", &a), 0);
    ASSERT_EQ(asyncapi_router_add(r, "fleet/status", &b), 0);
    ASSERT_EQ(asyncapi_router_count(r), 2);

    memset(&m, 0, sizeof(m));
    ASSERT_EQ(route(r, topic, &m), 0);
    ASSERT(m.value == &a);
    ASSERT_EQ(m.n_params, 2);
    ASSERT(param_is(&m, 0, "siteId", "s1"));
    ASSERT(param_is(&m, 1, "deviceId", "d-42"));
    /* Values are slices of the topic, not copies. */
    ASSERT(m.params[0].value == topic + 5);

    ASSERT_EQ(route(r, "fleet/status", &m), 0);
    ASSERT(m.value == &b);
    ASSERT_EQ(m.n_params, 0);

    ASSERT_EQ(route(r, "fleet/status/x", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "fleet", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "site/s1/dev/d1/telemetry/extra", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "site/s1/dev/d1", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "Fleet/status", &m), ASYNCAPI_ENOMATCH);
    asyncapi_router_free(r);
}

TEST(router, topic_not_nul_terminated)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a;
    const char buf[] = "dev/abc/up/IGNORED";

    ASSERT_EQ(asyncapi_router_add(r, "dev/{id}/up", &a), 0);
    ASSERT_EQ(asyncapi_router_match(r, buf, 10, &m), 0);
    ASSERT(m.value == &a);
    ASSERT(param_is(&m, 0, "id", "abc"));
    ASSERT_EQ(asyncapi_router_match(r, buf, 9, &m), ASYNCAPI_ENOMATCH);
    asyncapi_router_free(r);
}

TEST(router, literal_beats_parameter)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int lit, par, aff;

    /* Added in the "wrong" order on purpose: priority is not insertion order. */
    ASSERT_EQ(asyncapi_router_add(r, "dev/{id}/state", &par), 0);
    ASSERT_EQ(asyncapi_router_add(r, "dev/gw-{id}/state", &aff), 0);
    ASSERT_EQ(asyncapi_router_add(r, "dev/gw-main/state", &lit), 0);

    ASSERT_EQ(route(r, "dev/gw-main/state", &m), 0);
    ASSERT(m.value == &lit);
    ASSERT_EQ(m.n_params, 0);
    ASSERT_EQ(route(r, "dev/gw-7/state", &m), 0);
    ASSERT(m.value == &aff);
    ASSERT(param_is(&m, 0, "id", "7"));
    ASSERT_EQ(route(r, "dev/x/state", &m), 0);
    ASSERT(m.value == &par);
    ASSERT(param_is(&m, 0, "id", "x"));
    /* "gw-" alone has an empty middle: the affix does not match, {id} does. */
    ASSERT_EQ(route(r, "dev/gw-/state", &m), 0);
    ASSERT(m.value == &par);
    ASSERT(param_is(&m, 0, "id", "gw-"));
    asyncapi_router_free(r);
}

TEST(router, backtracking)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a, b, c;

    /* The literal path "a/b" exists but fails deeper; the parameter path wins. */
    ASSERT_EQ(asyncapi_router_add(r, "a/b/c", &a), 0);
    ASSERT_EQ(asyncapi_router_add(r, "a/{x}/d", &b), 0);
    ASSERT_EQ(route(r, "a/b/d", &m), 0);
    ASSERT(m.value == &b);
    ASSERT(param_is(&m, 0, "x", "b"));
    ASSERT_EQ(route(r, "a/b/c", &m), 0);
    ASSERT(m.value == &a);

    /* Two levels of backtracking, through an affix, to a parameter. */
    ASSERT_EQ(asyncapi_router_add(r, "p/q-{y}/r/s", &a), 0);
    ASSERT_EQ(asyncapi_router_add(r, "p/q-1/r/t", &b), 0);
    ASSERT_EQ(asyncapi_router_add(r, "p/{z}/r/u", &c), 0);
    ASSERT_EQ(route(r, "p/q-1/r/u", &m), 0);
    ASSERT(m.value == &c);
    ASSERT_EQ(m.n_params, 1);
    ASSERT(param_is(&m, 0, "z", "q-1"));
    ASSERT_EQ(route(r, "p/q-1/r/s", &m), 0);
    ASSERT(m.value == &a);
    ASSERT(param_is(&m, 0, "y", "1"));
    ASSERT_EQ(route(r, "p/q-1/r/v", &m), ASYNCAPI_ENOMATCH);

    /* A value set at an intermediate node along a failed branch is ignored. */
    ASSERT_EQ(asyncapi_router_add(r, "k/{a}/{b}/x", &a), 0);
    ASSERT_EQ(asyncapi_router_add(r, "k/{a}/lit/y", &b), 0);
    ASSERT_EQ(route(r, "k/1/lit/x", &m), 0);
    ASSERT(m.value == &a);
    ASSERT(param_is(&m, 0, "a", "1"));
    ASSERT(param_is(&m, 1, "b", "lit"));
    asyncapi_router_free(r);
}

TEST(router, affix_levels)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int pre, suf, both;

    ASSERT_EQ(asyncapi_router_add(r, "f/dev-{id}", &pre), 0);
    ASSERT_EQ(asyncapi_router_add(r, "f/{name}.json", &suf), 0);
    ASSERT_EQ(asyncapi_router_add(r, "f/dev-{n}.json", &both), 0);

    ASSERT_EQ(route(r, "f/dev-9", &m), 0);
    ASSERT(m.value == &pre);
    ASSERT(param_is(&m, 0, "id", "9"));
    ASSERT_EQ(route(r, "f/cfg.json", &m), 0);
    ASSERT(m.value == &suf);
    ASSERT(param_is(&m, 0, "name", "cfg"));
    /* The most specific affix (prefix and suffix) wins. */
    ASSERT_EQ(route(r, "f/dev-9.json", &m), 0);
    ASSERT(m.value == &both);
    ASSERT(param_is(&m, 0, "n", "9"));
    ASSERT_EQ(route(r, "f/dev-", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "f/.json", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "f/other", &m), ASYNCAPI_ENOMATCH);
    /* "dev-.json": empty middle for dev-{n}.json, but dev-{id} and {name}.json fit. */
    ASSERT_EQ(route(r, "f/dev-.json", &m), 0);
    ASSERT(m.value == &pre || m.value == &suf);
    asyncapi_router_free(r);
}

TEST(router, empty_levels)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a, b, c;

    ASSERT_EQ(asyncapi_router_add(r, "dev/{id}/up", &a), 0);
    ASSERT_EQ(asyncapi_router_add(r, "/lead/{x}", &b), 0);
    ASSERT_EQ(asyncapi_router_add(r, "lit//gap", &c), 0);

    /* An empty level where a parameter is expected does not match. */
    ASSERT_EQ(route(r, "dev//up", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "/lead/", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "/lead/7", &m), 0);
    ASSERT(m.value == &b);
    ASSERT(param_is(&m, 0, "x", "7"));
    /* Empty literal levels are levels like any other. */
    ASSERT_EQ(route(r, "lit//gap", &m), 0);
    ASSERT(m.value == &c);
    ASSERT_EQ(route(r, "lit/gap", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "dev/1/up/", &m), ASYNCAPI_ENOMATCH);
    asyncapi_router_free(r);
}

TEST(router, unroutable_topics)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a;
    static char huge[ASYNCAPI_ROUTE_MAX_TOPIC + 2];
    const char nul_inside[] = "dev/a\0b/up";
    const char nul_late[] = "zzz/a/b\0";

    ASSERT_EQ(asyncapi_router_add(r, "dev/{id}/up", &a), 0);
    ASSERT_EQ(route(r, "dev/+/up", &m), ASYNCAPI_ETOPIC);
    ASSERT_EQ(route(r, "dev/#", &m), ASYNCAPI_ETOPIC);
    ASSERT_EQ(route(r, "dev/a+b/up", &m), ASYNCAPI_ETOPIC);
    /* Wildcards past the point where the trie walk gives up still count. */
    ASSERT_EQ(route(r, "unknown/x/y+", &m), ASYNCAPI_ETOPIC);
    ASSERT_EQ(route(r, "dev/x/up/more/#", &m), ASYNCAPI_ETOPIC);
    ASSERT_EQ(route(r, "dev/x/down/+", &m), ASYNCAPI_ETOPIC);
    ASSERT_EQ(route(r, "$SYS/broker/uptime", &m), ASYNCAPI_ETOPIC);
    ASSERT_EQ(route(r, "", &m), ASYNCAPI_ETOPIC);
    ASSERT_EQ(asyncapi_router_match(r, nul_inside, sizeof(nul_inside) - 1, &m),
              ASYNCAPI_ETOPIC);
    ASSERT_EQ(asyncapi_router_match(r, nul_late, sizeof(nul_late), &m), ASYNCAPI_ETOPIC);
    memset(huge, 'x', sizeof(huge) - 1);
    ASSERT_EQ(asyncapi_router_match(r, huge, ASYNCAPI_ROUTE_MAX_TOPIC + 1, &m),
              ASYNCAPI_ETOPIC);
    /* Exactly at the limit is routable (and simply unknown here). */
    ASSERT_EQ(asyncapi_router_match(r, huge, ASYNCAPI_ROUTE_MAX_TOPIC, &m),
              ASYNCAPI_ENOMATCH);
    /* '$' later in the topic is fine. */
    ASSERT_EQ(route(r, "dev/$x/up", &m), 0);
    ASSERT(param_is(&m, 0, "id", "$x"));
    asyncapi_router_free(r);
}

TEST(router, match_leaves_result_alone_on_failure)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a;

    ASSERT_EQ(asyncapi_router_add(r, "x/{p}/y", &a), 0);
    memset(&m, 0x5a, sizeof(m));
    ASSERT_EQ(route(r, "x/1/z", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(m.n_params, (size_t)0x5a5a5a5a5a5a5a5aull);
    asyncapi_router_free(r);
}

TEST(router, empty_router)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;

    ASSERT_EQ(asyncapi_router_count(r), 0);
    ASSERT_EQ(route(r, "a", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "/", &m), ASYNCAPI_ENOMATCH);
    asyncapi_router_free(r);
    asyncapi_router_free(NULL);
    ASSERT_EQ(asyncapi_router_count(NULL), 0);
}

TEST(router, eexist)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a, b;

    ASSERT_EQ(asyncapi_router_add(r, "s/{site}/d/{dev}", &a), 0);
    ASSERT_EQ(asyncapi_router_add(r, "s/{site}/d/{dev}", &b), ASYNCAPI_EEXIST);
    /* Same levels, parameters in the same places, other names: equivalent. */
    ASSERT_EQ(asyncapi_router_add(r, "s/{x}/d/{y}", &b), ASYNCAPI_EEXIST);
    ASSERT_EQ(asyncapi_router_add(r, "s/pre-{x}/d/{y}", &b), 0);
    ASSERT_EQ(asyncapi_router_add(r, "s/pre-{z}/d/{w}", &b), ASYNCAPI_EEXIST);
    ASSERT_EQ(asyncapi_router_add(r, "lit/only", &a), 0);
    ASSERT_EQ(asyncapi_router_add(r, "lit/only", &b), ASYNCAPI_EEXIST);
    ASSERT_EQ(asyncapi_router_count(r), 3);
    /* The first registration is kept, with its names. */
    ASSERT_EQ(route(r, "s/1/d/2", &m), 0);
    ASSERT(m.value == &a);
    ASSERT(param_is(&m, 0, "site", "1"));
    ASSERT(param_is(&m, 1, "dev", "2"));
    ASSERT_EQ(route(r, "lit/only", &m), 0);
    ASSERT(m.value == &a);
    /* A prefix of an existing address is a different address. */
    ASSERT_EQ(asyncapi_router_add(r, "s/{site}", &b), 0);
    ASSERT_EQ(route(r, "s/1", &m), 0);
    ASSERT(m.value == &b);
    asyncapi_router_free(r);
}

TEST(router, einval_addresses)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a;
    char many[512];
    size_t off = 0;
    static const char *const bad[] = {
        "",              /* MQTT has no empty topic */
        "a/+/b",         /* wildcards */
        "a/#",
        "a/x+y",
        "a/{id",         /* unbalanced */
        "a/id}",
        "a/{i{d}}",      /* nested */
        "a/{a}-{b}",     /* two parameters in one level */
        "a/{}",          /* empty name */
        "{x/y}",         /* braces across a level */
        "$SYS/x",        /* never routable */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = asyncapi_router_add(r, bad[i], &a);

        if (rc != ASYNCAPI_EINVAL)
            test_fail(__FILE__, __LINE__, "add \"%s\": %d", bad[i], rc);
    }
    ASSERT(!test_failed());

    /* ASYNCAPI_ROUTE_MAX_PARAMS parameters are fine, one more is not. */
    for (int i = 0; i < ASYNCAPI_ROUTE_MAX_PARAMS; i++) {
        int n = snprintf(many + off, sizeof(many) - off, "%s{p%d}", i ? "/" : "", i);

        ASSERT(n > 0 && (size_t)n < sizeof(many) - off);
        off += (size_t)n;
    }
    ASSERT_EQ(asyncapi_router_add(r, many, &a), 0);
    ASSERT(off + 8 < sizeof(many));
    memcpy(many + off, "/{more}", 8);
    ASSERT_EQ(asyncapi_router_add(r, many, &a), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_router_add(NULL, "a", &a), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_router_add(r, NULL, &a), ASYNCAPI_EINVAL);
    /* Only the valid 16-parameter address went in. */
    ASSERT_EQ(asyncapi_router_count(r), 1);
    ASSERT_EQ(route(r, "a/+/b", &m), ASYNCAPI_ETOPIC);
    ASSERT_EQ(route(r, "1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", &m), 0);
    ASSERT_EQ(m.n_params, ASYNCAPI_ROUTE_MAX_PARAMS);
    ASSERT(param_is(&m, 15, "p15", "16"));
    asyncapi_router_free(r);
}

TEST(router, many_channels)
{
    enum { AREAS = 50, METRICS = 40 };
    static int values[AREAS][METRICS];
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    char buf[128], want[32];
    int n;

    for (int a = 0; a < AREAS; a++)
        for (int k = 0; k < METRICS; k++) {
            n = snprintf(buf, sizeof(buf), "site/{site}/area/%d/dev/{deviceId}/metric-%d", a, k);
            ASSERT(n > 0 && (size_t)n < sizeof(buf));
            ASSERT_EQ(asyncapi_router_add(r, buf, &values[a][k]), 0);
        }
    ASSERT_EQ(asyncapi_router_count(r), AREAS * METRICS);
    for (int a = 0; a < AREAS; a++)
        for (int k = 0; k < METRICS; k++) {
            n = snprintf(buf, sizeof(buf), "site/s%d/area/%d/dev/d%d/metric-%d", k, a, a * k, k);
            ASSERT(n > 0 && (size_t)n < sizeof(buf));
            ASSERT_EQ(route(r, buf, &m), 0);
            ASSERT(m.value == &values[a][k]);
            ASSERT_EQ(m.n_params, 2);
            n = snprintf(want, sizeof(want), "s%d", k);
            ASSERT(n > 0 && (size_t)n < sizeof(want));
            ASSERT(param_is(&m, 0, "site", want));
            n = snprintf(want, sizeof(want), "d%d", a * k);
            ASSERT(n > 0 && (size_t)n < sizeof(want));
            ASSERT(param_is(&m, 1, "deviceId", want));
        }
    ASSERT_EQ(route(r, "site/s/area/50/dev/d/metric-0", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "site/s/area/0/dev/d/metric-40", &m), ASYNCAPI_ENOMATCH);
    ASSERT_EQ(route(r, "site/s/area/0/dev/d", &m), ASYNCAPI_ENOMATCH);
    asyncapi_router_free(r);
}

TEST(topic_filter, params_become_plus)
{
    char buf[64];

    ASSERT_EQ(asyncapi_topic_filter("site/{siteId}/dev/{deviceId}/telemetry", buf, sizeof(buf)),
              (int)strlen("site/+/dev/+/telemetry"));
    ASSERT_STR_EQ(buf, "site/+/dev/+/telemetry");
    ASSERT_EQ(asyncapi_topic_filter("fleet/status", buf, sizeof(buf)), 12);
    ASSERT_STR_EQ(buf, "fleet/status");
    ASSERT_EQ(asyncapi_topic_filter("dev/gw-{id}.json/x", buf, sizeof(buf)), 7);
    ASSERT_STR_EQ(buf, "dev/+/x");
    ASSERT_EQ(asyncapi_topic_filter("{a}", buf, sizeof(buf)), 1);
    ASSERT_STR_EQ(buf, "+");
    ASSERT_EQ(asyncapi_topic_filter("/a//{b}/", buf, sizeof(buf)), 6);
    ASSERT_STR_EQ(buf, "/a//+/");
}

TEST(topic_filter, bad_addresses_and_small_buffers)
{
    char buf[8];

    ASSERT_EQ(asyncapi_topic_filter("a/+/b", buf, sizeof(buf)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_topic_filter("a/#", buf, sizeof(buf)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_topic_filter("a/{b", buf, sizeof(buf)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_topic_filter("a/b}", buf, sizeof(buf)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_topic_filter("a/{b/c}", buf, sizeof(buf)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_topic_filter("a/{{b}}", buf, sizeof(buf)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_topic_filter("a/{}", buf, sizeof(buf)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_topic_filter("", buf, sizeof(buf)), ASYNCAPI_EINVAL);
    ASSERT_EQ(asyncapi_topic_filter(NULL, buf, sizeof(buf)), ASYNCAPI_EINVAL);
    /* 7 characters + NUL fit in 8 bytes; 8 do not. */
    ASSERT_EQ(asyncapi_topic_filter("abc/def", buf, sizeof(buf)), 7);
    ASSERT_STR_EQ(buf, "abc/def");
    ASSERT_EQ(asyncapi_topic_filter("abcd/efg", buf, sizeof(buf)), ASYNCAPI_ELIMIT);
    ASSERT_EQ(asyncapi_topic_filter("{longname}/{x}", buf, sizeof(buf)), 3);
    ASSERT_STR_EQ(buf, "+/+");
    ASSERT_EQ(asyncapi_topic_filter("a", buf, 0), ASYNCAPI_ELIMIT);
}

TEST(router, backtracking_across_affixes)
{
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    int a, b, c, d;

    /* Most specific affix first whatever the order of adds. */
    ASSERT_EQ(asyncapi_router_add(r, "n/x-{p}/one", &a), 0);
    ASSERT_EQ(asyncapi_router_add(r, "n/x-y-{p}-z/two", &b), 0);
    ASSERT_EQ(asyncapi_router_add(r, "n/x-y-{p}/three", &c), 0);
    ASSERT_EQ(asyncapi_router_add(r, "n/{p}/four", &d), 0);
    ASSERT_EQ(route(r, "n/x-y-1-z/two", &m), 0);
    ASSERT(m.value == &b);
    ASSERT(param_is(&m, 0, "p", "1"));
    /* x-y-{p}-z matches the level but fails deeper: x-y-{p}, then x-{p}, then {p}. */
    ASSERT_EQ(route(r, "n/x-y-1-z/three", &m), 0);
    ASSERT(m.value == &c);
    ASSERT(param_is(&m, 0, "p", "1-z"));
    ASSERT_EQ(route(r, "n/x-y-1-z/one", &m), 0);
    ASSERT(m.value == &a);
    ASSERT(param_is(&m, 0, "p", "y-1-z"));
    ASSERT_EQ(route(r, "n/x-y-1-z/four", &m), 0);
    ASSERT(m.value == &d);
    ASSERT(param_is(&m, 0, "p", "x-y-1-z"));
    ASSERT_EQ(route(r, "n/x-y-1-z/five", &m), ASYNCAPI_ENOMATCH);
    asyncapi_router_free(r);
}

TEST(router, deep_address_and_topic)
{
    enum { LEVELS = 20000 };
    static char addr[LEVELS * 2 + 16], topic[LEVELS * 2 + 16];
    asyncapi_router *r = asyncapi_router_new();
    asyncapi_route_match m;
    size_t o = 0;
    int a;

    /* 20,000 levels: matching and freeing must not recurse per level. */
    for (int i = 0; i < LEVELS; i++) {
        addr[o] = topic[o] = 'a';
        addr[o + 1] = topic[o + 1] = '/';
        o += 2;
    }
    memcpy(addr + o, "{last}", 7);
    memcpy(topic + o, "z", 2);
    ASSERT_EQ(asyncapi_router_add(r, addr, &a), 0);
    ASSERT_EQ(route(r, topic, &m), 0);
    ASSERT(m.value == &a);
    ASSERT(param_is(&m, 0, "last", "z"));
    topic[o] = '\0';
    ASSERT_EQ(route(r, topic, &m), ASYNCAPI_ENOMATCH); /* empty last level */
    asyncapi_router_free(r);
}

/*
 * Randomised cross-check against a brute-force reference: every address is
 * tried on the topic, and the winner is the one that is most specific at the
 * first level where two matching addresses differ (literal, then the longer
 * affix, then a whole-level parameter). Affix lengths are all distinct here,
 * so there are no ties to break.
 */
#define REF_MAX_LEVELS 5

static const char *const ref_addr_levels[] = { "a", "b", "xa", "{p}", "x{p}", "{p}yy", "x{p}yy" };
static const char *const ref_topic_levels[] = { "a", "b", "xa", "xayy", "ayy", "xbyy", "", "c", "xyy" };

typedef struct ref_addr {
    int levels[REF_MAX_LEVELS]; /* indexes into ref_addr_levels */
    int n;                      /* levels used */
    char text[64];              /* the address */
} ref_addr;

static unsigned ref_rng(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* Rank of an address level (lower = more specific): 0 literal, 1..3 affix, 4 param. */
static int ref_rank(int lv)
{
    static const int rank[] = { 0, 0, 0, 4, 3, 2, 1 };
    return rank[lv];
}

/* Does address level lv match topic level t? Writes the value slice on success. */
static int ref_level_match(int lv, const char *t, size_t tl, size_t *vo, size_t *vl)
{
    const char *pat = ref_addr_levels[lv];
    const char *open = strchr(pat, '{');
    size_t pre, suf;

    if (!open)
        return strlen(pat) == tl && memcmp(pat, t, tl) == 0;
    pre = (size_t)(open - pat);
    suf = strlen(strchr(pat, '}') + 1);
    if (tl <= pre + suf || memcmp(t, pat, pre) != 0 ||
        memcmp(t + tl - suf, strchr(pat, '}') + 1, suf) != 0)
        return 0;
    *vo = pre;
    *vl = tl - pre - suf;
    return 1;
}

TEST(router, random_cross_check)
{
    enum { N_ADDR = 300, N_TOPICS = 3000 };
    static ref_addr addrs[N_ADDR];
    static int added[N_ADDR];
    unsigned seed = 12345;
    asyncapi_router *r = asyncapi_router_new();
    size_t n_added = 0, n_matched = 0, n_missed = 0, n_param_won = 0;

    ASSERT_NOT_NULL(r);
    for (int i = 0; i < N_ADDR; i++) {
        ref_addr *a = &addrs[i];
        size_t o = 0;
        int rc, dup = 0;

        a->n = 1 + (int)(ref_rng(&seed) % REF_MAX_LEVELS);
        for (int k = 0; k < a->n; k++) {
            const char *t;

            a->levels[k] = (int)(ref_rng(&seed) % 7);
            t = ref_addr_levels[a->levels[k]];
            if (k)
                a->text[o++] = '/';
            memcpy(a->text + o, t, strlen(t));
            o += strlen(t);
        }
        a->text[o] = '\0';
        /* Equivalent = same level patterns (names are all "p"). */
        for (int j = 0; j < i && !dup; j++)
            dup = added[j] && strcmp(addrs[j].text, a->text) == 0;
        rc = asyncapi_router_add(r, a->text, a);
        if (rc != (dup ? ASYNCAPI_EEXIST : 0))
            test_fail(__FILE__, __LINE__, "add \"%s\": %d (duplicate: %d)", a->text, rc, dup);
        added[i] = rc == 0;
        n_added += rc == 0;
    }
    ASSERT(!test_failed());
    ASSERT_EQ(asyncapi_router_count(r), n_added);

    for (int i = 0; i < N_TOPICS; i++) {
        char topic[64];
        const char *lv_start[REF_MAX_LEVELS + 1];
        size_t lv_len[REF_MAX_LEVELS + 1];
        int n = 1 + (int)(ref_rng(&seed) % (REF_MAX_LEVELS + 1));
        size_t o = 0;
        const ref_addr *best = NULL;
        asyncapi_route_match m;
        int rc;

        for (int k = 0; k < n; k++) {
            const char *t = ref_topic_levels[ref_rng(&seed) % 9];

            if (k)
                topic[o++] = '/';
            lv_start[k] = topic + o;
            lv_len[k] = strlen(t);
            memcpy(topic + o, t, lv_len[k]);
            o += lv_len[k];
        }
        topic[o] = '\0';
        if (o == 0)
            continue; /* the empty topic is ETOPIC, tested elsewhere */

        for (int j = 0; j < N_ADDR; j++) {
            const ref_addr *a = &addrs[j];
            int ok = added[j] && a->n == n;
            size_t vo = 0, vl = 0;

            for (int k = 0; ok && k < n; k++)
                ok = ref_level_match(a->levels[k], lv_start[k], lv_len[k], &vo, &vl);
            if (!ok)
                continue;
            if (!best) {
                best = a;
                continue;
            }
            for (int k = 0; k < n; k++) {
                int ra = ref_rank(a->levels[k]), rb = ref_rank(best->levels[k]);

                if (ra != rb) {
                    if (ra < rb)
                        best = a;
                    break;
                }
            }
        }

        rc = asyncapi_router_match(r, topic, o, &m);
        if (!best) {
            if (rc != ASYNCAPI_ENOMATCH)
                test_fail(__FILE__, __LINE__, "\"%s\": %d, expected no match", topic, rc);
            n_missed++;
            continue;
        }
        if (rc != 0 || m.value != best) {
            test_fail(__FILE__, __LINE__, "\"%s\": %d -> \"%s\", expected \"%s\"", topic, rc,
                      rc == 0 ? ((const ref_addr *)m.value)->text : "-", best->text);
            continue;
        }
        n_matched++;
        n_param_won += m.n_params > 0;
        /* Parameter values, in address order. */
        for (int k = 0, p = 0; k < n; k++) {
            size_t vo = 0, vl = 0;

            if (!strchr(ref_addr_levels[best->levels[k]], '{'))
                continue;
            ref_level_match(best->levels[k], lv_start[k], lv_len[k], &vo, &vl);
            if (m.params[p].value != lv_start[k] + vo || m.params[p].len != vl)
                test_fail(__FILE__, __LINE__, "\"%s\" via \"%s\": parameter %d wrong", topic,
                          best->text, p);
            p++;
        }
    }
    asyncapi_router_free(r);
    /* The sample exercises both outcomes, not just one. */
    ASSERT_GT(n_matched, 300);
    ASSERT_GT(n_missed, 300);
    ASSERT_GT(n_param_won, 100);
}
