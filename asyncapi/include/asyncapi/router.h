/* SPDX-License-Identifier: MIT */
/*
 * Topic router: maps a concrete MQTT topic to the channel whose address
 * matches it and extracts the {parameter} values. A trie by topic level
 * (hash map of literal children + one parameter child per node), so the cost
 * of a match depends on the topic's length, not on the number of channels.
 *
 * Rules (docs/asyncapi.md, "Topic routing"):
 *   - a level that is exactly "{name}" matches any non-empty level;
 *   - a level mixing text and one parameter ("dev-{id}", "{id}.json")
 *     matches levels with that prefix/suffix and a non-empty middle;
 *   - literal levels beat parameter levels when both match (most specific);
 *   - topics containing '+' or '#', topics starting with '$', and topics
 *     longer than ASYNCAPI_ROUTE_MAX_TOPIC never match (ETOPIC), so the
 *     caller can count them apart from unknown topics (ENOMATCH);
 *   - an empty level where a parameter is expected does not match.
 */
#ifndef ASYNCAPI_ROUTER_H
#define ASYNCAPI_ROUTER_H

#include <stddef.h>

#include "asyncapi/error.h"

#define ASYNCAPI_ROUTE_MAX_PARAMS 16
#define ASYNCAPI_ROUTE_MAX_TOPIC 65535 /* MQTT's own limit */

typedef struct asyncapi_router asyncapi_router;

/* One extracted parameter: a slice of the topic passed to match. */
typedef struct asyncapi_route_param {
    const char *name;  /* parameter name, owned by the router */
    const char *value; /* points into the topic; NOT NUL-terminated */
    size_t len;        /* length of value */
} asyncapi_route_param;

/* Result of a match, filled only on success. */
typedef struct asyncapi_route_match {
    void *value;       /* what was passed to asyncapi_router_add */
    size_t n_params;   /* parameters, in address order */
    asyncapi_route_param params[ASYNCAPI_ROUTE_MAX_PARAMS];
} asyncapi_route_match;

/* Returns an empty router, or NULL when out of memory. */
asyncapi_router *asyncapi_router_new(void);

/* Frees the router; the values passed to add are not touched. NULL is fine. */
void asyncapi_router_free(asyncapi_router *r);

/*
 * Adds a channel address ("site/{siteId}/dev/{deviceId}/telemetry").
 * value is returned by matches; borrowed, never freed by the router.
 * Returns 0, EEXIST if an equivalent address (same levels, parameters in
 * the same places) is already there, EINVAL for an address that is not
 * routable ('+' '#' in it, unbalanced braces, two parameters in one level,
 * more than ASYNCAPI_ROUTE_MAX_PARAMS, r or address NULL), ENOMEM.
 * Ownership: address is copied; value is borrowed (see above).
 * Thread: not safe against concurrent add or match; build first, then match.
 */
int asyncapi_router_add(asyncapi_router *r, const char *address, void *value);

/*
 * Matches topic[0..len) (need not be NUL-terminated).
 * Returns 0 with *m filled; ENOMATCH if no channel matches; ETOPIC if the
 * topic is not routable (wildcards, '$' first, empty, too long, NUL inside);
 * EINVAL if r, topic or m is NULL. *m is written only on success.
 * Ownership: m->params[].value point into topic (valid while topic is);
 *   m->params[].name and m->value are the router's (valid until it is freed).
 * Thread: any number of concurrent matches once adds are done; no allocation.
 */
int asyncapi_router_match(const asyncapi_router *r, const char *topic, size_t len,
                          asyncapi_route_match *m);

/* Number of addresses added (0 for NULL). Thread: as match. */
size_t asyncapi_router_count(const asyncapi_router *r);

#endif
